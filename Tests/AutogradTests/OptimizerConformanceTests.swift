import Autograd
import Foundation
import Testing

/// Each optimizer option against the pseudo-code of the torch.optim
/// documentation (Adam, AdamW, RMSprop, Adagrad, SGD), written out below in
/// float64 scalar code that keeps its own state and step count per
/// parameter, compared element by element after every step.
@Suite("Optimizer conformance")
struct OptimizerConformanceTests {
    /// One parameter's update rule from the documentation, with its state.
    /// `step` is called only for steps in which the parameter has a gradient.
    protocol Rule {
        mutating func step(_ p: inout [Double], _ g: [Double])
    }

    /// torch.optim.Adam and AdamW (with `decoupled`), amsgrad included.
    struct AdamRule: Rule {
        var lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weightDecay = 0.0
        var amsgrad = false, decoupled = false
        var t = 0
        var m: [Double] = [], v: [Double] = [], vMax: [Double] = []
        /// Whether the running maximum ever differed from the current estimate.
        var maxMattered = false

        mutating func step(_ p: inout [Double], _ grad: [Double]) {
            if t == 0 { (m, v, vMax) = (grad.map { _ in 0 }, grad.map { _ in 0 }, grad.map { _ in 0 }) }
            t += 1
            for i in p.indices {
                var g = grad[i]
                if decoupled { p[i] -= lr * weightDecay * p[i] } else if weightDecay != 0 { g += weightDecay * p[i] }
                m[i] = beta1 * m[i] + (1 - beta1) * g
                v[i] = beta2 * v[i] + (1 - beta2) * g * g
                let mHat = m[i] / (1 - pow(beta1, Double(t)))
                let vHat: Double
                if amsgrad {
                    vMax[i] = Swift.max(vMax[i], v[i])
                    if vMax[i] != v[i] { maxMattered = true }
                    vHat = vMax[i] / (1 - pow(beta2, Double(t)))
                } else {
                    vHat = v[i] / (1 - pow(beta2, Double(t)))
                }
                p[i] -= lr * mHat / (vHat.squareRoot() + eps)
            }
        }
    }

    /// torch.optim.RMSprop.
    struct RMSPropRule: Rule {
        var lr = 1e-2, alpha = 0.99, eps = 1e-8, weightDecay = 0.0, momentum = 0.0, centered = false
        var v: [Double] = [], gAve: [Double] = [], b: [Double] = []

        mutating func step(_ p: inout [Double], _ grad: [Double]) {
            if v.isEmpty { (v, gAve, b) = (grad.map { _ in 0 }, grad.map { _ in 0 }, grad.map { _ in 0 }) }
            for i in p.indices {
                var g = grad[i]
                if weightDecay != 0 { g += weightDecay * p[i] }
                v[i] = alpha * v[i] + (1 - alpha) * g * g
                var vTilde = v[i]
                if centered {
                    gAve[i] = alpha * gAve[i] + (1 - alpha) * g
                    vTilde -= gAve[i] * gAve[i]
                }
                if momentum > 0 {
                    b[i] = momentum * b[i] + g / (vTilde.squareRoot() + eps)
                    p[i] -= lr * b[i]
                } else {
                    p[i] -= lr * g / (vTilde.squareRoot() + eps)
                }
            }
        }
    }

    /// torch.optim.Adagrad.
    struct AdaGradRule: Rule {
        var lr = 1e-2, lrDecay = 0.0, weightDecay = 0.0, initialAccumulatorValue = 0.0, eps = 1e-10
        var t = 0
        var sum: [Double] = []

        mutating func step(_ p: inout [Double], _ grad: [Double]) {
            if t == 0 { sum = grad.map { _ in initialAccumulatorValue } }
            t += 1
            let clr = lr / (1 + Double(t - 1) * lrDecay)
            for i in p.indices {
                var g = grad[i]
                if weightDecay != 0 { g += weightDecay * p[i] }
                sum[i] += g * g
                p[i] -= clr * g / (sum[i].squareRoot() + eps)
            }
        }
    }

    /// torch.optim.SGD.
    struct SGDRule: Rule {
        var lr = 0.1, momentum = 0.0, dampening = 0.0, weightDecay = 0.0, nesterov = false
        var b: [Double]? = nil

        mutating func step(_ p: inout [Double], _ grad: [Double]) {
            var g = grad
            for i in p.indices where weightDecay != 0 { g[i] += weightDecay * p[i] }
            if momentum != 0 {
                if var buf = b {
                    for i in p.indices { buf[i] = momentum * buf[i] + (1 - dampening) * g[i] }
                    b = buf
                } else {
                    b = g
                }
                for i in p.indices { g[i] = nesterov ? g[i] + momentum * b![i] : b![i] }
            }
            for i in p.indices { p[i] -= lr * g[i] }
        }
    }

    static let shapes = [[2, 3], [4]]
    static let steps = 9

    /// The starting value of element `i` of parameter `j`.
    static func start(_ j: Int, _ i: Int) -> Double { sin(0.7 * Double(i) + 2.1 * Double(j) + 0.3) }

    /// The gradient of element `i` of parameter `j` at step `s` (from 0): of
    /// both signs, large for three steps and then small, so that the second
    /// moment estimates fall and AMSGrad's maximum takes over.
    static func gradient(_ s: Int, _ j: Int, _ i: Int) -> Double {
        let scale = s < 3 ? 2.0 : 0.15
        return scale * sin(1.3 * Double(s) + 0.9 * Double(i) - 1.7 * Double(j) + 0.5) + 0.05 * Double(j)
    }

    /// Runs `make`'s optimizer over two parameters of `dtype` for `steps`
    /// steps (parameter `j` has a gradient at step `s` when `has(s, j)`),
    /// the rules from `rule` beside it, and compares after every step.
    /// Returns the rules, for checks on their state.
    @discardableResult
    static func check<R: Rule>(_ what: String, dtype: DType = .float64, tolerance: Double = 1e-12,
                               has: (Int, Int) -> Bool = { _, _ in true },
                               _ make: ([Tensor]) -> Optimizer, _ rule: () -> R) -> (Optimizer, [R]) {
        let count = shapes.map { $0.reduce(1, *) }
        var values = shapes.indices.map { j in (0..<count[j]).map { start(j, $0) } }
        if dtype == .float32 { values = values.map { $0.map { Double(Float($0)) } } }
        let parameters = shapes.indices.map { j in Tensor(shape: shapes[j], scalars: values[j], dtype: dtype).requiringGrad() }
        let optimizer = make(parameters)
        var rules = shapes.map { _ in rule() }
        for s in 0..<steps {
            for j in shapes.indices {
                var g = (0..<count[j]).map { gradient(s, j, $0) }
                if dtype == .float32 { g = g.map { Double(Float($0)) } }
                if has(s, j) {
                    parameters[j].grad = Tensor(shape: shapes[j], scalars: g, dtype: dtype)
                    rules[j].step(&values[j], g)
                } else {
                    parameters[j].grad = nil
                }
            }
            optimizer.step()
            for j in shapes.indices {
                expectClose(parameters[j].scalars, values[j], tolerance: tolerance, "\(what): parameter \(j) after step \(s + 1)")
            }
        }
        #expect(optimizer.stepCount == steps)
        #expect(optimizer.parameterStepCounts == shapes.indices.map { j in (0..<steps).filter { has($0, j) }.count }, "\(what)")
        return (optimizer, rules)
    }

    /// Parameter 1 misses steps 2, 4 and 5 (from 1): a frozen layer, unused rows.
    static let sometimes: @Sendable (Int, Int) -> Bool = { s, j in j == 0 || ![1, 3, 4].contains(s) }

    @Test func adamOptions() {
        for amsgrad in [false, true] {
            for weightDecay in [0.0, 0.1] {
                let (_, rules) = Self.check("adam amsgrad \(amsgrad) wd \(weightDecay)", { ps in
                    Adam(ps, learningRate: 0.05, beta1: 0.85, beta2: 0.97, eps: 1e-3, weightDecay: weightDecay, amsgrad: amsgrad)
                }) { AdamRule(lr: 0.05, beta1: 0.85, beta2: 0.97, eps: 1e-3, weightDecay: weightDecay, amsgrad: amsgrad) }
                if amsgrad { #expect(rules.allSatisfy { $0.maxMattered }, "the gradients make the maximum matter") }
            }
        }
    }

    @Test func adamWOptions() {
        for amsgrad in [false, true] {
            for weightDecay in [0.0, 0.05, 0.3] {
                Self.check("adamw amsgrad \(amsgrad) wd \(weightDecay)", { ps in
                    AdamW(ps, learningRate: 0.05, beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: weightDecay, amsgrad: amsgrad)
                }) { AdamRule(lr: 0.05, beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: weightDecay, amsgrad: amsgrad, decoupled: true) }
            }
        }
    }

    /// A parameter without a gradient in some steps keeps its own step
    /// count: its bias corrections are those of its own t-th update.
    @Test func adamCountsStepsPerParameter() {
        for decoupled in [false, true] {
            for amsgrad in [false, true] {
                let what = "\(decoupled ? "adamw" : "adam") amsgrad \(amsgrad), parameter 1 sometimes without gradient"
                let (optimizer, _) = Self.check(what, has: Self.sometimes, { ps in
                    decoupled ? AdamW(ps, learningRate: 0.02, weightDecay: 0.1, amsgrad: amsgrad)
                        : Adam(ps, learningRate: 0.02, weightDecay: 0.1, amsgrad: amsgrad)
                }) { AdamRule(lr: 0.02, weightDecay: 0.1, amsgrad: amsgrad, decoupled: decoupled) }
                #expect(optimizer.parameterStepCounts == [9, 6])
            }
        }
        // The comparison can tell: bias corrections from the optimizer's step count move parameter 1 elsewhere.
        let p = Tensor([0.5], dtype: .float64).requiringGrad(), q = Tensor([0.5], dtype: .float64).requiringGrad()
        let optimizer = Adam([p, q], learningRate: 0.1)
        for s in 0..<3 {
            p.grad = Tensor([1.0], dtype: .float64)
            q.grad = s == 2 ? Tensor([1.0], dtype: .float64) : nil
            optimizer.step()
        }
        // q's first update has t = 1: m̂ = g and v̂ = g², a step of lr / (1 + eps). With the
        // optimizer's count, t = 3, m̂ = 0.1 / (1 − 0.9³) and v̂ = 0.001 / (1 − 0.999³): a step of ≈ 0.064.
        #expect(Swift.abs(q.item() - (0.5 - 0.1 / (1 + 1e-8))) < 1e-12)
        let mHat: Double = 0.1 / (1 - pow(0.9, 3.0))
        let vHat: Double = 0.001 / (1 - pow(0.999, 3.0))
        let globalStep = 0.1 * mHat / (vHat.squareRoot() + 1e-8)
        #expect(Swift.abs(globalStep - 0.1) > 0.03)
    }

    @Test func rmspropOptions() {
        for centered in [false, true] {
            for momentum in [0.0, 0.9] {
                for weightDecay in [0.0, 0.1] {
                    Self.check("rmsprop centered \(centered) momentum \(momentum) wd \(weightDecay)", has: Self.sometimes, { ps in
                        RMSProp(ps, learningRate: 0.01, alpha: 0.9, eps: 1e-4, weightDecay: weightDecay, momentum: momentum,
                                centered: centered)
                    }) { RMSPropRule(lr: 0.01, alpha: 0.9, eps: 1e-4, weightDecay: weightDecay, momentum: momentum, centered: centered) }
                }
            }
        }
    }

    @Test func adagradOptions() {
        for lrDecay in [0.0, 0.3] {
            for initial in [0.0, 0.5] {
                for weightDecay in [0.0, 0.2] {
                    Self.check("adagrad lrDecay \(lrDecay) initial \(initial) wd \(weightDecay)", has: Self.sometimes, { ps in
                        AdaGrad(ps, learningRate: 0.1, lrDecay: lrDecay, eps: 1e-6, weightDecay: weightDecay,
                                initialAccumulatorValue: initial)
                    }) { AdaGradRule(lr: 0.1, lrDecay: lrDecay, weightDecay: weightDecay, initialAccumulatorValue: initial, eps: 1e-6) }
                }
            }
        }
        // The first update by hand: sum = 0.5 + 0.5² = 0.75, p = 1 − 0.1 · 0.5 / (√0.75 + 1e-10).
        let p = Tensor([1.0], dtype: .float64).requiringGrad()
        let optimizer = AdaGrad([p], learningRate: 0.1, lrDecay: 10, initialAccumulatorValue: 0.5)
        p.grad = Tensor([0.5], dtype: .float64)
        optimizer.step()
        #expect(Swift.abs(p.item() - (1 - 0.05 / (0.75.squareRoot() + 1e-10))) < 1e-15)
        // The second: lr / (1 + 1 · 10); sum = 0.75 + 0.25.
        optimizer.step()
        #expect(Swift.abs(p.item() - (1 - 0.05 / (0.75.squareRoot() + 1e-10) - 0.1 / 11 * 0.5 / (1 + 1e-10))) < 1e-15)
    }

    @Test func sgdOptions() {
        for (momentum, dampening, nesterov) in [(0.0, 0.0, false), (0.9, 0.0, false), (0.9, 0.3, false), (0.8, 0.0, true)] {
            for weightDecay in [0.0, 0.1] {
                Self.check("sgd momentum \(momentum) dampening \(dampening) nesterov \(nesterov) wd \(weightDecay)",
                           has: Self.sometimes, { ps in
                    SGD(ps, learningRate: 0.1, momentum: momentum, dampening: dampening, weightDecay: weightDecay,
                        nesterov: nesterov)
                }) { SGDRule(lr: 0.1, momentum: momentum, dampening: dampening, weightDecay: weightDecay, nesterov: nesterov) }
            }
        }
    }

    /// The float32 kernels against the same float64 rules.
    @Test func float32Kernels() {
        let tolerance = 2e-5
        Self.check("adam f32", dtype: .float32, tolerance: tolerance, has: Self.sometimes, { ps in
            Adam(ps, learningRate: 0.05, eps: 1e-3, weightDecay: 0.1, amsgrad: true)
        }) { AdamRule(lr: 0.05, eps: 1e-3, weightDecay: 0.1, amsgrad: true) }
        Self.check("adamw f32", dtype: .float32, tolerance: tolerance, { ps in
            AdamW(ps, learningRate: 0.05, eps: 1e-3, weightDecay: 0.1, amsgrad: true)
        }) { AdamRule(lr: 0.05, eps: 1e-3, weightDecay: 0.1, amsgrad: true, decoupled: true) }
        Self.check("rmsprop f32", dtype: .float32, tolerance: tolerance, { ps in
            RMSProp(ps, learningRate: 0.01, alpha: 0.9, eps: 1e-3, weightDecay: 0.1, momentum: 0.9, centered: true)
        }) { RMSPropRule(lr: 0.01, alpha: 0.9, eps: 1e-3, weightDecay: 0.1, momentum: 0.9, centered: true) }
        Self.check("adagrad f32", dtype: .float32, tolerance: tolerance, { ps in
            AdaGrad(ps, learningRate: 0.1, lrDecay: 0.3, eps: 1e-6, weightDecay: 0.2, initialAccumulatorValue: 0.5)
        }) { AdaGradRule(lr: 0.1, lrDecay: 0.3, weightDecay: 0.2, initialAccumulatorValue: 0.5, eps: 1e-6) }
    }

    /// A parameter large enough for the update to be split across threads
    /// (and for the vector loops' main bodies to run) follows the rule too.
    @Test func largeParametersFollowTheRule() {
        let n = 100_003
        let start = (0..<n).map { sin(Double($0) * 0.37) }
        let gradients: [[Double]] = (0..<3).map { s in
            let scale: Double = s == 0 ? 2 : 0.1
            return (0..<n).map { i -> Double in cos(Double(i) * 0.11 + Double(s)) * scale }
        }
        func run(_ make: ([Tensor]) -> Optimizer, _ rule: some Rule) {
            var rule = rule
            let p = Tensor(start, dtype: .float64).requiringGrad()
            let optimizer = make([p])
            var want = start
            for g in gradients {
                p.grad = Tensor(g, dtype: .float64)
                optimizer.step()
                rule.step(&want, g)
            }
            expectClose(p.scalars, want, tolerance: 1e-12, "\(optimizer.kind) on \(n) elements")
        }
        run({ Adam($0, learningRate: 0.01, weightDecay: 0.1, amsgrad: true) }, AdamRule(lr: 0.01, weightDecay: 0.1, amsgrad: true))
        run({ RMSProp($0, momentum: 0.5, centered: true) }, RMSPropRule(momentum: 0.5, centered: true))
        run({ AdaGrad($0, lrDecay: 0.1, initialAccumulatorValue: 0.1) }, AdaGradRule(lrDecay: 0.1, initialAccumulatorValue: 0.1))
    }

    /// A compiled step that leaves a parameter without a gradient, then an
    /// eager step that gives it one: the same values and counts as all-eager.
    @Test func compiledStepsCountPerParameterLikeEager() {
        func setUp() -> (used: Tensor, unused: Tensor, optimizer: Adam) {
            let used = Tensor([0.3, -0.8, 1.5], dtype: .float64).requiringGrad()
            let unused = Tensor([0.2, 0.4], dtype: .float64).requiringGrad()
            return (used, unused, Adam([used, unused], learningRate: 0.05, amsgrad: true))
        }
        func usedOnly(_ p: Tensor, _ x: Tensor) -> Tensor { tanh(p * x).sum() }
        func both(_ p: Tensor, _ q: Tensor, _ x: Tensor) -> Tensor { tanh(p * x).sum() + (q * q).sum() }
        let compiled = setUp(), eager = setUp()
        let step = compile { (x: Tensor) -> Tensor in
            compiled.optimizer.zeroGrad()
            let loss = usedOnly(compiled.used, x)
            loss.backward()
            compiled.optimizer.step()
            return loss
        }
        for s in 0..<4 {
            let x = Tensor([1.0, Double(s) - 1, 0.5 * Double(s)], dtype: .float64)
            _ = step(x)
            eager.optimizer.zeroGrad()
            usedOnly(eager.used, x).backward()
            eager.optimizer.step()
        }
        #expect(step.traceCount == 1)
        for run in [compiled, eager] {
            run.optimizer.zeroGrad()
            both(run.used, run.unused, Tensor([2.0, 1, -1], dtype: .float64)).backward()
            run.optimizer.step()
        }
        for run in [compiled, eager] {
            #expect(run.optimizer.stepCount == 5)
            #expect(run.optimizer.parameterStepCounts == [5, 1])
        }
        expectClose(compiled.used.scalars, eager.used.scalars, tolerance: 1e-12, "compiled vs eager")
        expectClose(compiled.unused.scalars, eager.unused.scalars, tolerance: 1e-12, "compiled vs eager, late parameter")
        // The late parameter's first update (t = 1, m̂ = g, v̂ = g²) moves it by lr · g / (|g| + eps), g = 2q.
        expectClose(eager.unused.scalars, [0.2 - 0.05 * 0.4 / (0.4 + 1e-8), 0.4 - 0.05 * 0.8 / (0.8 + 1e-8)],
                    tolerance: 1e-12, "first update of the late parameter")
    }

    /// CosineAnnealingLR's closed form, not clamped at T_max.
    @Test func cosineAnnealingFollowsTheClosedFormPastItsPeriod() {
        let schedule = CosineAnnealing(periods: 7, minimum: 0.02)
        for step in 0...30 {
            let want = 0.02 + (0.5 - 0.02) * (1 + cos(Double.pi * Double(step) / 7)) / 2
            #expect(Swift.abs(schedule.learningRate(at: step, base: 0.5) - want) < 1e-15, "step \(step)")
        }
        #expect(Swift.abs(schedule.learningRate(at: 7, base: 0.5) - 0.02) < 1e-15)
        #expect(Swift.abs(schedule.learningRate(at: 14, base: 0.5) - 0.5) < 1e-15, "back at the base rate after 2·T_max")
        #expect(schedule.learningRate(at: 10, base: 0.5) > schedule.learningRate(at: 8, base: 0.5), "rising after T_max")
    }

    /// CosineAnnealingWarmRestarts against PyTorch's stepwise bookkeeping:
    /// T_cur += 1, and when T_cur reaches T_i, T_cur −= T_i and T_i *= T_mult.
    @Test func warmRestartsFollowPyTorchsCycles() {
        for (t0, tMult, etaMin) in [(5, 1, 0.0), (3, 2, 0.01), (4, 3, 0.1), (1, 2, 0.0)] {
            let schedule = CosineAnnealingWarmRestarts(t0: t0, tMult: tMult, etaMin: etaMin)
            var tCur = 0, tI = t0
            var restarts: [Int] = []
            for step in 0..<120 {
                if step > 0 {
                    tCur += 1
                    if tCur >= tI {
                        tCur -= tI
                        tI *= tMult
                        restarts.append(step)
                    }
                }
                let want = etaMin + (0.1 - etaMin) * (1 + cos(Double.pi * Double(tCur) / Double(tI))) / 2
                #expect(Swift.abs(schedule.learningRate(at: step, base: 0.1) - want) < 1e-15, "t0 \(t0) tMult \(tMult) step \(step)")
            }
            // Restarts at t0, t0(1 + m), t0(1 + m + m²), …
            var expected: [Int] = [], length = t0, at = t0
            while at < 120 {
                expected.append(at)
                length *= tMult
                at += length
            }
            #expect(restarts == expected, "t0 \(t0) tMult \(tMult)")
            for r in expected { #expect(Swift.abs(schedule.learningRate(at: r, base: 0.1) - 0.1) < 1e-15, "restart at \(r)") }
        }
    }
}
