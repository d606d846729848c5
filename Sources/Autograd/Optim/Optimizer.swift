import Foundation
import CKernels

/// Updates parameters from their gradients, in place, with one fused C
/// kernel per parameter. Subclasses give the update rule; this class keeps
/// the parameters, the learning rate, the step count and the per-parameter
/// state (momentum buffers, moment estimates) that checkpoints save.
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
    /// The step size; schedules change it between steps.
    public var learningRate: Double
    /// Steps taken so far.
    public internal(set) var stepCount = 0
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
    }

    /// A short name for checkpoints ("sgd", "adam", …).
    open var kind: String { "optimizer" }

    /// Applies one update to every parameter that has a gradient.
    public func step() {
        Tracer.current?.recordStep(self)
        stepCount += 1
        for (i, p) in parameters.enumerated() {
            guard let g = p.grad else { continue }
            guard g.shape == p.shape, g.dtype == p.dtype else {
                fatalError("\(kind): gradient of parameter \(i) has shape \(ShapeRules.describe(g.shape)) (\(g.dtype)), the parameter \(ShapeRules.describe(p.shape)) (\(p.dtype))")
            }
            update(i, p, g.contiguousValues())
            p.bumpVersion()
        }
    }

    /// The update of one parameter, in place: the subclass's fused kernel call.
    open func update(_ index: Int, _ parameter: Tensor, _ gradient: Tensor) {
        fatalError("\(type(of: self)) must override update(_:_:_:)")
    }

    /// Clears every parameter's gradient.
    public func zeroGrad() {
        for p in parameters { p.zeroGrad() }
    }

    /// The named state tensor of parameter `index`, created as zeros on first
    /// use; `created` says whether it was just made.
    func stateTensor(_ index: Int, _ key: String) -> (tensor: Tensor, created: Bool) {
        if let t = state[index][key] { return (t, false) }
        let t = Tensor.zeros(like: parameters[index])
        state[index][key] = t
        return (t, true)
    }

    /// State tensors named `"<parameter index>.<key>"`, for checkpoints.
    public func stateTensors() -> [(name: String, tensor: Tensor)] {
        state.enumerated().flatMap { i, entries in
            entries.keys.sorted().map { (name: "\(i).\($0)", tensor: entries[$0]!) }
        }
    }

    /// Replaces the state with `tensors` (named as by ``stateTensors()``) and
    /// the step count. Checks everything before changing anything.
    public func loadState(_ tensors: [String: Tensor], stepCount: Int) throws(CheckpointError) {
        var next = Array(repeating: [String: Tensor](), count: parameters.count)
        for (name, t) in tensors {
            let parts = name.split(separator: ".", maxSplits: 1)
            guard parts.count == 2, let i = Int(parts[0]), parameters.indices.contains(i) else {
                throw .unexpected(name: "optimizer." + name)
            }
            let p = parameters[i]
            guard t.shape == p.shape else {
                throw .shapeMismatch(name: "optimizer." + name, expected: p.shape, found: t.shape)
            }
            next[i][String(parts[1])] = t.to(p.dtype).contiguousCopyDetached()
        }
        state = next
        self.stepCount = stepCount
    }
}

/// Stochastic gradient descent with optional momentum, Nesterov momentum,
/// dampening and L2 weight decay (torch.optim.SGD's update).
public final class SGD: Optimizer {
    public var momentum: Double
    public var dampening: Double
    public var weightDecay: Double
    public var nesterov: Bool

    /// - Parameters:
    ///   - momentum: the factor of the running velocity (0 for plain SGD).
    ///   - dampening: how much of each gradient the velocity leaves out.
    ///   - weightDecay: L2 penalty added to the gradient as `weightDecay · p`.
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
/// (torch.optim.Adam's update).
public class Adam: Optimizer {
    public var beta1: Double
    public var beta2: Double
    public var eps: Double
    public var weightDecay: Double
    var decoupled: Bool { false }

    /// - Parameters:
    ///   - beta1, beta2: decay rates of the first and second moment estimates.
    ///   - eps: added to the denominator for numerical stability.
    ///   - weightDecay: L2 penalty added to the gradient (``AdamW`` decays the weights instead).
    public init(_ parameters: [Tensor], learningRate: Double = 1e-3, beta1: Double = 0.9, beta2: Double = 0.999,
                eps: Double = 1e-8, weightDecay: Double = 0) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.weightDecay = weightDecay
        super.init(parameters, learningRate: learningRate)
    }

    public override var kind: String { "adam" }

    public override func update(_ index: Int, _ p: Tensor, _ g: Tensor) {
        let m = stateTensor(index, "exp_avg").tensor
        let v = stateTensor(index, "exp_avg_sq").tensor
        let t = Double(stepCount)
        ag_adam_step(p.dtype.c, p.scalarCount, p.pointer, g.pointer, m.pointer, v.pointer, learningRate, beta1,
                     beta2, eps, weightDecay, decoupled ? 1 : 0,
                     1 - pow(beta1, t), 1 - pow(beta2, t))
    }
}

/// AdamW (Loshchilov & Hutter): Adam with weight decay applied to the
/// parameter directly, not through the gradient (torch.optim.AdamW's update).
public final class AdamW: Adam {
    /// As ``Adam``, with `weightDecay` (default 0.01) applied as `p *= 1 − lr · weightDecay` each step.
    public override init(_ parameters: [Tensor], learningRate: Double = 1e-3, beta1: Double = 0.9,
                         beta2: Double = 0.999, eps: Double = 1e-8, weightDecay: Double = 1e-2) {
        super.init(parameters, learningRate: learningRate, beta1: beta1, beta2: beta2, eps: eps,
                   weightDecay: weightDecay)
    }

    override var decoupled: Bool { true }
    public override var kind: String { "adamw" }
}

/// RMSProp with optional momentum and L2 weight decay (torch.optim.RMSprop's update, uncentered).
public final class RMSProp: Optimizer {
    public var alpha: Double
    public var eps: Double
    public var weightDecay: Double
    public var momentum: Double

    /// - Parameters:
    ///   - alpha: decay rate of the running mean of squared gradients.
    ///   - eps: added to the root mean square for numerical stability.
    ///   - weightDecay: L2 penalty added to the gradient.
    ///   - momentum: factor of a running velocity of the scaled steps (0 for none).
    public init(_ parameters: [Tensor], learningRate: Double = 1e-2, alpha: Double = 0.99, eps: Double = 1e-8,
                weightDecay: Double = 0, momentum: Double = 0) {
        self.alpha = alpha
        self.eps = eps
        self.weightDecay = weightDecay
        self.momentum = momentum
        super.init(parameters, learningRate: learningRate)
    }

    public override var kind: String { "rmsprop" }

    public override func update(_ index: Int, _ p: Tensor, _ g: Tensor) {
        let square = stateTensor(index, "square_avg").tensor
        let buffer = momentum > 0 ? stateTensor(index, "momentum_buffer").tensor.pointer : nil
        ag_rmsprop_step(p.dtype.c, p.scalarCount, p.pointer, g.pointer, square.pointer, buffer, learningRate,
                        alpha, eps, weightDecay, momentum)
    }
}

/// AdaGrad with L2 weight decay (torch.optim.Adagrad's update, no learning-rate decay).
public final class AdaGrad: Optimizer {
    public var eps: Double
    public var weightDecay: Double

    /// - Parameters:
    ///   - eps: added to the root of the summed squares for numerical stability.
    ///   - weightDecay: L2 penalty added to the gradient.
    public init(_ parameters: [Tensor], learningRate: Double = 1e-2, eps: Double = 1e-10, weightDecay: Double = 0) {
        self.eps = eps
        self.weightDecay = weightDecay
        super.init(parameters, learningRate: learningRate)
    }

    public override var kind: String { "adagrad" }

    public override func update(_ index: Int, _ p: Tensor, _ g: Tensor) {
        let sum = stateTensor(index, "sum").tensor
        ag_adagrad_step(p.dtype.c, p.scalarCount, p.pointer, g.pointer, sum.pointer, learningRate, eps, weightDecay)
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
    if Tracer.current != nil {
        fatalError("compile: clipGradientNorm decides from the gradients' values whether to scale them, which a compiled function cannot repeat; clip outside compile, or scale the gradients with tensor ops")
    }
    let grads = parameters.compactMap(\.grad).map { $0.contiguousValues() }
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
