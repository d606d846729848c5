import Autograd
import Foundation
import Testing

/// Each optimizer against its update rule written out by hand in scalar code
/// (torch.optim's documented algorithms), over two steps with different gradients.
@Suite("Optimizers")
struct OptimizerTests {
    let start: [Double] = [1.0, -2.0]
    let gradients: [[Double]] = [[0.5, 0.25], [-0.2, 1.5]]

    /// Runs `optimizer` for the two steps and returns the parameter values.
    func run(_ make: ([Tensor]) -> Optimizer) -> [Double] {
        let p = Tensor(start, dtype: .float64).requiringGrad()
        let optimizer = make([p])
        for g in gradients {
            p.grad = Tensor(g, dtype: .float64)
            optimizer.step()
        }
        #expect(optimizer.stepCount == 2)
        return p.scalars
    }

    /// The same parameters stepped by `update(p, g, t)` per element.
    func reference(_ update: (inout Double, Double, Int, Int) -> Void) -> [Double] {
        var p = start
        for (t, g) in gradients.enumerated() {
            for i in p.indices { update(&p[i], g[i], i, t + 1) }
        }
        return p
    }

    @Test func sgdWithMomentumAndWeightDecay() {
        let got = run { SGD($0, learningRate: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 0.01) }
        var buf = [0.0, 0.0]
        let want = reference { p, g, i, t in
            let d = g + 0.01 * p
            buf[i] = t == 1 ? d : 0.9 * buf[i] + (1 - 0.1) * d
            p -= 0.1 * buf[i]
        }
        expectClose(got, want, tolerance: 1e-15, "sgd")
        // The first step by hand: p = 1 − 0.1 · (0.5 + 0.01 · 1) = 0.949.
        let one = Tensor([1.0], dtype: .float64).requiringGrad()
        let opt = SGD([one], learningRate: 0.1, momentum: 0.9, weightDecay: 0.01)
        one.grad = Tensor([0.5], dtype: .float64)
        opt.step()
        #expect(Swift.abs(one.item() - 0.949) < 1e-15)
    }

    @Test func sgdPlainAndNesterov() {
        expectClose(run { SGD($0, learningRate: 0.5) }, reference { p, g, _, _ in p -= 0.5 * g }, tolerance: 1e-15, "plain sgd")
        var buf = [0.0, 0.0]
        let want = reference { p, g, i, t in
            buf[i] = t == 1 ? g : 0.9 * buf[i] + g
            p -= 0.1 * (g + 0.9 * buf[i])
        }
        expectClose(run { SGD($0, learningRate: 0.1, momentum: 0.9, nesterov: true) }, want, tolerance: 1e-15, "nesterov")
    }

    @Test func adamAndAdamW() {
        func adam(decoupled: Bool, wd: Double) -> [Double] {
            var m = [0.0, 0.0], v = [0.0, 0.0]
            return reference { p, g, i, t in
                var d = g
                if decoupled { p *= 1 - 0.01 * wd } else { d += wd * p }
                m[i] = 0.9 * m[i] + 0.1 * d
                v[i] = 0.999 * v[i] + 0.001 * d * d
                let mHat = m[i] / (1 - pow(0.9, Double(t))), vHat = v[i] / (1 - pow(0.999, Double(t)))
                p -= 0.01 * mHat / (vHat.squareRoot() + 1e-8)
            }
        }
        expectClose(run { Adam($0, learningRate: 0.01, weightDecay: 0.1) }, adam(decoupled: false, wd: 0.1),
                    tolerance: 1e-14, "adam")
        expectClose(run { AdamW($0, learningRate: 0.01, weightDecay: 0.1) }, adam(decoupled: true, wd: 0.1),
                    tolerance: 1e-14, "adamw")
        // Adam's first step moves every coordinate by the learning rate, against the gradient's sign.
        let first = Tensor([1.0, -2.0], dtype: .float64).requiringGrad()
        let opt = Adam([first], learningRate: 0.01)
        first.grad = Tensor([0.5, -3], dtype: .float64)
        opt.step()
        expectClose(first.scalars, [0.99, -1.99], tolerance: 1e-9, "adam first step")
    }

    @Test func rmspropWithAndWithoutMomentum() {
        for momentum in [0.0, 0.8] {
            var sq = [0.0, 0.0], buf = [0.0, 0.0]
            let want = reference { p, g, i, _ in
                let d = g + 0.05 * p
                sq[i] = 0.99 * sq[i] + 0.01 * d * d
                var u = d / (sq[i].squareRoot() + 1e-8)
                if momentum > 0 {
                    buf[i] = momentum * buf[i] + u
                    u = buf[i]
                }
                p -= 0.01 * u
            }
            let got = run { RMSProp($0, learningRate: 0.01, weightDecay: 0.05, momentum: momentum) }
            expectClose(got, want, tolerance: 1e-14, "rmsprop momentum \(momentum)")
        }
    }

    @Test func adagrad() {
        var sum = [0.0, 0.0]
        let want = reference { p, g, i, _ in
            let d = g + 0.1 * p
            sum[i] += d * d
            p -= 0.5 * d / (sum[i].squareRoot() + 1e-10)
        }
        expectClose(run { AdaGrad($0, learningRate: 0.5, weightDecay: 0.1) }, want, tolerance: 1e-14, "adagrad")
    }

    @Test func float32UpdatesMatchFloat64() {
        let p32 = Tensor([1.0, -2.0]).requiringGrad(), p64 = Tensor([1.0, -2.0], dtype: .float64).requiringGrad()
        let a = Adam([p32], learningRate: 0.01), b = Adam([p64], learningRate: 0.01)
        for g in gradients {
            p32.grad = Tensor(g)
            p64.grad = Tensor(g, dtype: .float64)
            a.step()
            b.step()
        }
        expectClose(p32.scalars, p64.scalars, tolerance: 1e-6, "float32 adam")
    }

    @Test func parametersWithoutGradientsAreLeftAlone() {
        let used = Tensor([1.0]).requiringGrad(), unused = Tensor([5.0]).requiringGrad()
        let opt = SGD([used, unused], learningRate: 1)
        used.grad = Tensor([0.5])
        opt.step()
        #expect(used.scalars == [0.5] && unused.scalars == [5])
        opt.zeroGrad()
        #expect(used.grad == nil)
    }

    @Test func updatesAreInvisibleToOldGraphsOnlyThroughVersionChecks() {
        let w = Tensor([2.0]).requiringGrad()
        let opt = SGD([w], learningRate: 0.1)
        (w * w).sum().backward()
        opt.step()
        #expect(Swift.abs(w.item() - 1.6) < 1e-6)
        // A fresh forward after the step sees the new value.
        opt.zeroGrad()
        (w * w).sum().backward()
        #expect(Swift.abs(w.grad!.item() - 3.2) < 1e-6)
    }

    @Test func clipGradientNormScalesToTheLimit() {
        let a = Tensor([3.0, 0], dtype: .float64).requiringGrad(), b = Tensor([4.0], dtype: .float64).requiringGrad()
        a.grad = Tensor([3.0, 0], dtype: .float64)
        b.grad = Tensor([4.0], dtype: .float64)
        let norm = clipGradientNorm([a, b], maxNorm: 1)
        #expect(norm == 5)
        expectClose(a.grad!.scalars + b.grad!.scalars, [0.6, 0, 0.8], tolerance: 1e-6, "clipped")
        #expect(clipGradientNorm([a, b], maxNorm: 10) < 1.000_001)
        expectClose(a.grad!.scalars, [0.6, 0], tolerance: 1e-6, "below the limit: unchanged")
    }

    @Test func learningRateSchedules() {
        #expect(StepDecay(stepSize: 2, gamma: 0.5).learningRate(at: 5, base: 1) == 0.25)
        #expect(Swift.abs(ExponentialDecay(gamma: 0.9).learningRate(at: 2, base: 1) - 0.81) < 1e-15)
        let cosine = CosineAnnealing(periods: 10, minimum: 0.1)
        #expect(cosine.learningRate(at: 0, base: 1) == 1)
        #expect(Swift.abs(cosine.learningRate(at: 5, base: 1) - 0.55) < 1e-15)
        #expect(Swift.abs(cosine.learningRate(at: 10, base: 1) - 0.1) < 1e-15)
        // Past T_max the closed form rises again, as PyTorch's CosineAnnealingLR does.
        #expect(Swift.abs(cosine.learningRate(at: 15, base: 1) - 0.55) < 1e-15)
        #expect(Swift.abs(cosine.learningRate(at: 20, base: 1) - 1) < 1e-15)
        let warm = LinearWarmup(steps: 4, then: StepDecay(stepSize: 1, gamma: 0.5))
        #expect((0..<6).map { warm.learningRate(at: $0, base: 1) } == [0.25, 0.5, 0.75, 1, 1, 0.5])
    }
}
