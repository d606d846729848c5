import AutogradOps
import AutogradTensor
import CKernels
import Foundation

/// Updates parameters from their gradients, in place, with one fused C
/// kernel per parameter. Subclasses give the update rule; this class keeps
/// the parameters, the learning rate, the step counts and the per-parameter
/// state (momentum buffers, moment estimates) that checkpoints save.
///
/// The built-in optimizers follow torch.optim's single-tensor algorithms:
/// each update is the formula of the PyTorch documentation, state is
/// created on a parameter's first gradient and named as in PyTorch's
/// `state_dict`, and step counts are kept per parameter. Options take
/// PyTorch's names in Swift style (`weight_decay` is `weightDecay`, `lr` is
/// `learningRate`).
///
/// Differences from PyTorch: one learning rate and one set of options for
/// all parameters (no parameter groups); no `maximize`, `foreach`, `fused`,
/// `capturable` or `differentiable` options (the update is always one fused
/// kernel per parameter, outside the tape).
///
/// ```swift
/// let optimizer = SGD(model.parameters, learningRate: 0.1, momentum: 0.9)
/// for batch in loader {
///     optimizer.zeroGrad()
///     let loss = crossEntropy(logits: model(batch.inputs), labels: batch.labels)
///     loss.backward()
///     optimizer.step()
/// }
/// ```
open class Optimizer {
    /// The tensors this optimizer updates.
    public let parameters: [Tensor]
    /// The step size (PyTorch's `lr`); schedules change it between steps.
    public var learningRate: Double
    /// Calls of ``step()`` so far, whether or not any parameter had a gradient.
    public package(set) var stepCount = 0
    /// Per parameter, the updates it has received: the steps in which it had
    /// a gradient (PyTorch's per-parameter `state['step']`).
    ///
    /// Adam's bias correction and AdaGrad's rate decay use this count, not
    /// ``stepCount``, so a parameter left without a gradient in some steps
    /// (a frozen layer, an unused branch) is updated as PyTorch updates it.
    /// ``apply(_:_:_:)`` counts each update before calling
    /// ``update(_:_:_:)``, which reads the count it is on (1 on the first).
    public internal(set) var parameterStepCounts: [Int]
    /// Per-parameter state by name, created on first use.
    var state: [[String: Tensor]]

    /// Optimizes `parameters` (contiguous leaves that require grad, such as
    /// ``Module/parameters``) with the given step size.
    public init(_ parameters: [Tensor], learningRate: Double) {
        for (i, p) in parameters.enumerated() where !(p.isLeaf && p.requiresGrad && p.isContiguous) {
            fatalError("\(type(of: self)): parameter \(i) (shape \(ShapeRules.describe(p.shape))) must be a contiguous leaf that requires grad")
        }
        self.parameters = parameters
        self.learningRate = learningRate
        state = Array(repeating: [:], count: parameters.count)
        parameterStepCounts = Array(repeating: 0, count: parameters.count)
    }

    /// A short name for checkpoints ("sgd", "adam", …).
    open var kind: String { "optimizer" }

    /// Applies one update to every parameter that has a gradient.
    public func step() {
        ThreadFlags.optimizerObserver?.willStep(self)
        stepCount += 1
        for (i, p) in parameters.enumerated() {
            guard let g = p.grad else { continue }
            guard g.shape == p.shape, g.dtype == p.dtype else {
                fatalError("\(kind): gradient of parameter \(i) has shape \(ShapeRules.describe(g.shape)) (\(g.dtype)), the parameter \(ShapeRules.describe(p.shape)) (\(p.dtype))")
            }
            apply(i, p, g.contiguousValues())
            p.bumpVersion()
        }
    }

    /// One update of parameter `index`: counts it in ``parameterStepCounts``,
    /// then runs ``update(_:_:_:)``. Called once per step for each parameter
    /// that has a gradient, by ``step()`` and by compiled functions that
    /// traced it.
    public final func apply(_ index: Int, _ parameter: Tensor, _ gradient: Tensor) {
        parameterStepCounts[index] += 1
        update(index, parameter, gradient)
    }

    /// The update of one parameter, in place: the subclass's fused kernel
    /// call. `parameterStepCounts[index]` is already this update's count
    /// (the `t` of PyTorch's formulas).
    open func update(_ index: Int, _ parameter: Tensor, _ gradient: Tensor) {
        fatalError("\(type(of: self)) must override update(_:_:_:)")
    }

    /// Clears every parameter's gradient.
    public func zeroGrad() {
        for p in parameters { p.zeroGrad() }
    }

    /// The named state tensor of parameter `index`, created on first use
    /// filled with `initialValue`; `created` says whether it was just made.
    func stateTensor(_ index: Int, _ key: String, initialValue: Double = 0) -> (tensor: Tensor, created: Bool) {
        if let t = state[index][key] { return (t, false) }
        let p = parameters[index]
        let t = Tensor.full(p.shape, initialValue, dtype: p.dtype)
        state[index][key] = t
        return (t, true)
    }

    /// State tensors named `"<parameter index>.<key>"`, for checkpoints,
    /// with PyTorch's keys (`exp_avg`, `momentum_buffer`, …). A parameter
    /// that has been updated also has `"<index>.step"`, its entry of
    /// ``parameterStepCounts`` as a float64 scalar (PyTorch's `state['step']`).
    public func stateTensors() -> [(name: String, tensor: Tensor)] {
        state.enumerated().flatMap { i, entries in
            var named = entries.keys.sorted().map { (name: "\(i).\($0)", tensor: entries[$0]!) }
            if parameterStepCounts[i] > 0 {
                named.append((name: "\(i).step", tensor: Tensor(Double(parameterStepCounts[i]), dtype: .float64)))
            }
            return named
        }
    }

    /// Replaces the state with `tensors` (named as by ``stateTensors()``),
    /// the step count and the per-parameter step counts. Checks everything
    /// before changing anything.
    ///
    /// State saved before per-parameter counts existed has no `"<index>.step"`
    /// entries; then each parameter that has state gets `stepCount` and the
    /// others 0, which continues such a run exactly as it was being trained.
    public func loadState(_ tensors: [String: Tensor], stepCount: Int) throws(CheckpointError) {
        var next = Array(repeating: [String: Tensor](), count: parameters.count)
        var steps: [Int?] = Array(repeating: nil, count: parameters.count)
        for (name, t) in tensors {
            let parts = name.split(separator: ".", maxSplits: 1)
            guard parts.count == 2, let i = Int(parts[0]), parameters.indices.contains(i) else {
                throw .unexpected(name: "optimizer." + name)
            }
            let key = String(parts[1])
            if key == "step" {
                let value = t.scalarCount == 1 ? t.item() : -1
                guard value >= 0, value == value.rounded(), value < 0x1p62 else {
                    throw .incompatible("optimizer.\(name) must be one whole non-negative number (shape \(ShapeRules.describe(t.shape)))")
                }
                steps[i] = Int(value)
                continue
            }
            let p = parameters[i]
            guard t.shape == p.shape else {
                throw .shapeMismatch(name: "optimizer." + name, expected: p.shape, found: t.shape)
            }
            next[i][key] = t.to(p.dtype).contiguousCopyDetached()
        }
        let legacy = steps.allSatisfy { $0 == nil }
        parameterStepCounts = parameters.indices.map { i in
            legacy ? (next[i].isEmpty ? 0 : stepCount) : steps[i] ?? 0
        }
        state = next
        self.stepCount = stepCount
    }
}

/// Stochastic gradient descent with optional momentum, Nesterov momentum,
/// dampening and L2 weight decay (torch.optim.SGD's update).
///
/// With g = ∇ + weightDecay·p: without momentum p −= lr·g; with momentum
/// b = g on a parameter's first update and b = momentum·b + (1 − dampening)·g
/// after, then p −= lr·(g + momentum·b) (Nesterov) or p −= lr·b.
///
/// ```swift
/// let optimizer = SGD(model.parameters, learningRate: 0.1, momentum: 0.9, nesterov: true)
/// ```
public final class SGD: Optimizer {
    /// The factor of the running velocity (0 for plain SGD).
    public var momentum: Double
    /// How much of each gradient the velocity leaves out.
    public var dampening: Double
    /// L2 penalty added to the gradient as `weightDecay · p` (PyTorch's `weight_decay`).
    public var weightDecay: Double
    /// Look-ahead momentum (Sutskever et al.).
    public var nesterov: Bool

    /// - Parameters:
    ///   - learningRate: the step size (PyTorch's `lr`).
    ///   - momentum: the factor of the running velocity (0 for plain SGD).
    ///   - dampening: how much of each gradient the velocity leaves out.
    ///   - weightDecay: L2 penalty added to the gradient as `weightDecay · p` (`weight_decay`).
    ///   - nesterov: look-ahead momentum (Sutskever et al.).
    public init(_ parameters: [Tensor], learningRate: Double, momentum: Double = 0, dampening: Double = 0,
                weightDecay: Double = 0, nesterov: Bool = false) {
        self.momentum = momentum
        self.dampening = dampening
        self.weightDecay = weightDecay
        self.nesterov = nesterov
        super.init(parameters, learningRate: learningRate)
    }

    public override var kind: String { "sgd" }

    public override func update(_ index: Int, _ p: Tensor, _ g: Tensor) {
        var buffer: UnsafeMutableRawPointer?
        var first = false
        if momentum != 0 {
            let (t, created) = stateTensor(index, "momentum_buffer")
            buffer = t.pointer
            first = created
        }
        ag_sgd_step(p.dtype.c, p.scalarCount, p.pointer, g.pointer, buffer, learningRate, momentum, dampening,
                    weightDecay, nesterov ? 1 : 0, first ? 1 : 0)
    }
}

/// Adam (Kingma & Ba), with L2 weight decay added to the gradient
/// (torch.optim.Adam's update), optionally AMSGrad.
///
/// For the t-th update of a parameter (its own count in
/// ``Optimizer/parameterStepCounts``), with g = ∇ + weightDecay·p:
/// m = β₁m + (1 − β₁)g, v = β₂v + (1 − β₂)g²; with `amsgrad`,
/// vmax = max(vmax, v) replaces v below;
/// p −= lr·(m / (1 − β₁ᵗ)) / (√v / √(1 − β₂ᵗ) + eps).
///
/// ```swift
/// let optimizer = Adam(model.parameters, learningRate: 3e-4, amsgrad: true)
/// ```
public class Adam: Optimizer {
    /// Decay rate of the first moment estimate (PyTorch's `betas[0]`).
    public var beta1: Double
    /// Decay rate of the second moment estimate (PyTorch's `betas[1]`).
    public var beta2: Double
    /// Added to the denominator for numerical stability.
    public var eps: Double
    /// For ``Adam``, the L2 penalty added to the gradient as `weightDecay · p`;
    /// for ``AdamW``, the decoupled decay `p *= 1 − lr · weightDecay`
    /// (PyTorch's `weight_decay`).
    public var weightDecay: Double
    /// The AMSGrad variant (Reddi et al.): the denominator uses the running
    /// maximum of the second moment estimates (state `max_exp_avg_sq`, the
    /// maximum of the uncorrected estimates, as PyTorch keeps it).
    public var amsgrad: Bool
    var decoupled: Bool { false }

    /// - Parameters:
    ///   - learningRate: the step size (PyTorch's `lr`).
    ///   - beta1: decay rate of the first moment estimate (PyTorch's `betas[0]`).
    ///   - beta2: decay rate of the second moment estimate (PyTorch's `betas[1]`).
    ///   - eps: added to the denominator for numerical stability.
    ///   - weightDecay: L2 penalty added to the gradient (``AdamW`` decays the weights instead) (`weight_decay`).
    ///   - amsgrad: keep the running maximum of the second moment estimates and divide by it.
    public init(_ parameters: [Tensor], learningRate: Double = 1e-3, beta1: Double = 0.9, beta2: Double = 0.999,
                eps: Double = 1e-8, weightDecay: Double = 0, amsgrad: Bool = false) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.weightDecay = weightDecay
        self.amsgrad = amsgrad
        super.init(parameters, learningRate: learningRate)
    }

    public override var kind: String { "adam" }

    public override func update(_ index: Int, _ p: Tensor, _ g: Tensor) {
        let t = Double(parameterStepCounts[index])
        let m = stateTensor(index, "exp_avg").tensor
        let v = stateTensor(index, "exp_avg_sq").tensor
        let maxV = amsgrad ? stateTensor(index, "max_exp_avg_sq").tensor.pointer : nil
        ag_adam_step(p.dtype.c, p.scalarCount, p.pointer, g.pointer, m.pointer, v.pointer, maxV, learningRate,
                     beta1, beta2, eps, weightDecay, decoupled ? 1 : 0, 1 - pow(beta1, t), 1 - pow(beta2, t))
    }
}

/// AdamW (Loshchilov & Hutter): Adam with weight decay applied to the
/// parameter directly, not through the gradient (torch.optim.AdamW's update).
///
/// As ``Adam`` with g = ∇ and, before the moments, p *= 1 − lr·weightDecay.
///
/// ```swift
/// let optimizer = AdamW(model.parameters, learningRate: 1e-3, weightDecay: 0.05)
/// ```
public final class AdamW: Adam {
    /// As ``Adam``, with `weightDecay` (default 0.01, PyTorch's `weight_decay`)
    /// applied as `p *= 1 − lr · weightDecay` each step.
    public override init(_ parameters: [Tensor], learningRate: Double = 1e-3, beta1: Double = 0.9,
                         beta2: Double = 0.999, eps: Double = 1e-8, weightDecay: Double = 1e-2,
                         amsgrad: Bool = false) {
        super.init(parameters, learningRate: learningRate, beta1: beta1, beta2: beta2, eps: eps,
                   weightDecay: weightDecay, amsgrad: amsgrad)
    }

    override var decoupled: Bool { true }
    public override var kind: String { "adamw" }
}

/// RMSProp (Hinton), optionally centered, with momentum and L2 weight decay
/// (torch.optim.RMSprop's update).
///
/// With g = ∇ + weightDecay·p: v = αv + (1 − α)g²; centered,
/// ḡ = αḡ + (1 − α)g and d = √(v − ḡ²) + eps, else d = √v + eps; with
/// momentum μ, b = μb + g/d and p −= lr·b, else p −= lr·g/d.
///
/// ```swift
/// let optimizer = RMSProp(model.parameters, learningRate: 1e-3, momentum: 0.9, centered: true)
/// ```
public final class RMSProp: Optimizer {
    /// Decay rate of the running mean of squared gradients (state `square_avg`).
    public var alpha: Double
    /// Added to the root mean square for numerical stability.
    public var eps: Double
    /// L2 penalty added to the gradient as `weightDecay · p` (PyTorch's `weight_decay`).
    public var weightDecay: Double
    /// Factor of a running velocity of the scaled steps (state `momentum_buffer`; 0 for none).
    public var momentum: Double
    /// Divide by an estimate of the gradient's variance, √(v − ḡ²), instead of
    /// its mean square, with ḡ the running mean of gradients (state `grad_avg`).
    public var centered: Bool

    /// - Parameters:
    ///   - learningRate: the step size (PyTorch's `lr`).
    ///   - alpha: decay rate of the running means of squared gradients and (centered) of gradients.
    ///   - eps: added to the root mean square for numerical stability.
    ///   - weightDecay: L2 penalty added to the gradient (`weight_decay`).
    ///   - momentum: factor of a running velocity of the scaled steps (0 for none).
    ///   - centered: normalize by the running variance of the gradient instead of its mean square.
    public init(_ parameters: [Tensor], learningRate: Double = 1e-2, alpha: Double = 0.99, eps: Double = 1e-8,
                weightDecay: Double = 0, momentum: Double = 0, centered: Bool = false) {
        self.alpha = alpha
        self.eps = eps
        self.weightDecay = weightDecay
        self.momentum = momentum
        self.centered = centered
        super.init(parameters, learningRate: learningRate)
    }

    public override var kind: String { "rmsprop" }

    public override func update(_ index: Int, _ p: Tensor, _ g: Tensor) {
        let square = stateTensor(index, "square_avg").tensor
        let buffer = momentum != 0 ? stateTensor(index, "momentum_buffer").tensor.pointer : nil
        let mean = centered ? stateTensor(index, "grad_avg").tensor.pointer : nil
        ag_rmsprop_step(p.dtype.c, p.scalarCount, p.pointer, g.pointer, square.pointer, buffer, mean, learningRate,
                        alpha, eps, weightDecay, momentum)
    }
}

/// AdaGrad (Duchi et al.) with learning-rate decay and L2 weight decay
/// (torch.optim.Adagrad's update).
///
/// For the t-th update of a parameter (its own count in
/// ``Optimizer/parameterStepCounts``), with g = ∇ + weightDecay·p:
/// clr = lr / (1 + (t − 1)·lrDecay), s += g², p −= clr·g / (√s + eps),
/// where s starts at `initialAccumulatorValue`.
///
/// Differences from PyTorch: the sum `s` is created on a parameter's first
/// update, not in the initializer, so a checkpoint has no `sum` for a
/// parameter that never had a gradient (the values are the same).
///
/// ```swift
/// let optimizer = AdaGrad(model.parameters, learningRate: 0.05, lrDecay: 1e-3, initialAccumulatorValue: 0.1)
/// ```
public final class AdaGrad: Optimizer {
    /// The step size divides by 1 + (t − 1)·lrDecay at a parameter's t-th update (PyTorch's `lr_decay`).
    public var lrDecay: Double
    /// Added to the root of the summed squares for numerical stability.
    public var eps: Double
    /// L2 penalty added to the gradient as `weightDecay · p` (PyTorch's `weight_decay`).
    public var weightDecay: Double
    /// The value every element of the sum of squares (state `sum`) starts at
    /// (PyTorch's `initial_accumulator_value`); read when a parameter's sum is created.
    public var initialAccumulatorValue: Double

    /// - Parameters:
    ///   - learningRate: the step size before decay (PyTorch's `lr`).
    ///   - lrDecay: the rate of the step size's decay: lr / (1 + (t − 1)·lrDecay) (`lr_decay`).
    ///   - eps: added to the root of the summed squares for numerical stability.
    ///   - weightDecay: L2 penalty added to the gradient (`weight_decay`).
    ///   - initialAccumulatorValue: the starting value of the sum of squares (`initial_accumulator_value`).
    public init(_ parameters: [Tensor], learningRate: Double = 1e-2, lrDecay: Double = 0, eps: Double = 1e-10,
                weightDecay: Double = 0, initialAccumulatorValue: Double = 0) {
        self.lrDecay = lrDecay
        self.eps = eps
        self.weightDecay = weightDecay
        self.initialAccumulatorValue = initialAccumulatorValue
        super.init(parameters, learningRate: learningRate)
    }

    public override var kind: String { "adagrad" }

    public override func update(_ index: Int, _ p: Tensor, _ g: Tensor) {
        let t = Double(parameterStepCounts[index])
        let sum = stateTensor(index, "sum", initialValue: initialAccumulatorValue).tensor
        let clr = learningRate / (1 + (t - 1) * lrDecay)
        ag_adagrad_step(p.dtype.c, p.scalarCount, p.pointer, g.pointer, sum.pointer, clr, eps, weightDecay)
    }
}

/// Scales the gradients of `parameters` in place so that their global L2
/// norm is at most `maxNorm`; returns the norm before clipping.
///
/// ```swift
/// loss.backward()
/// clipGradientNorm(model.parameters, maxNorm: 1.0)
/// optimizer.step()
/// ```
@discardableResult
public func clipGradientNorm(_ parameters: [Tensor], maxNorm: Double) -> Double {
    if ThreadFlags.current.pointee.observer != nil {
        fatalError("compile: clipGradientNorm decides from the gradients' values whether to scale them, which a compiled function cannot repeat; clip outside compile, or scale the gradients with tensor ops")
    }
    let grads = parameters.compactMap { $0.grad }.map { $0.contiguousValues() }
    let total = grads.reduce(0.0) { $0 + ag_sum_of_squares($1.dtype.c, $1.scalarCount, $1.pointer) }.squareRoot()
    if total > maxNorm {
        let scale = maxNorm / (total + 1e-6)
        for p in parameters {
            guard let g = p.grad else { continue }
            let own = g.contiguousValues()
            ag_scale(own.dtype.c, own.scalarCount, own.pointer, scale)
            own.bumpVersion()
            p.grad = own
        }
    }
    return total
}

/// An ``ExecutionObserver`` that also sees optimizer steps (the graph
/// compiler's tracer records them as update nodes).
package protocol OptimizerObserver: ExecutionObserver {
    /// `optimizer.step()` is about to update its parameters.
    func willStep(_ optimizer: Optimizer)
}

extension ThreadFlags {
    /// This thread's observer, when it observes optimizer steps.
    package static var optimizerObserver: (any OptimizerObserver)? {
        guard let observer = current.pointee.observer else { return nil }
        return observer as? any OptimizerObserver
    }
}
