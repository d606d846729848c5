import Autograd
import Foundation
import Testing

/// PyTorch's BatchNorm formulas for an [N, C, L] input computed directly in
/// float64, channel by channel over its N·L values.
private struct ReferenceBatchNorm {
    let n: Int, c: Int, l: Int
    let eps: Double

    func index(_ i: Int, _ ch: Int, _ j: Int) -> Int { (i * c + ch) * l + j }

    /// Mean and biased variance of each channel.
    func statistics(_ x: [Double]) -> (mean: [Double], variance: [Double]) {
        let count = Double(n * l)
        var mean = [Double](repeating: 0, count: c), variance = [Double](repeating: 0, count: c)
        for ch in 0..<c {
            for i in 0..<n { for j in 0..<l { mean[ch] += x[index(i, ch, j)] } }
            mean[ch] /= count
            for i in 0..<n { for j in 0..<l { variance[ch] += pow(x[index(i, ch, j)] - mean[ch], 2) } }
            variance[ch] /= count
        }
        return (mean, variance)
    }

    /// y = (x − mean) / sqrt(var + eps) · γ + β.
    func normalise(_ x: [Double], mean: [Double], variance: [Double], gamma: [Double], beta: [Double]) -> [Double] {
        var y = x
        for i in 0..<n {
            for ch in 0..<c {
                for j in 0..<l {
                    let k = index(i, ch, j)
                    y[k] = (x[k] - mean[ch]) / (variance[ch] + eps).squareRoot() * gamma[ch] + beta[ch]
                }
            }
        }
        return y
    }

    /// Training-mode gradients for the output gradient g: with x̂ the
    /// normalised input and σ = sqrt(var + eps),
    /// dβ = Σ g, dγ = Σ g·x̂, dx = γ/σ · (g − mean(g) − x̂·mean(g·x̂)).
    func trainingGradients(_ x: [Double], _ g: [Double], gamma: [Double])
        -> (dx: [Double], dgamma: [Double], dbeta: [Double])
    {
        let (mean, variance) = statistics(x)
        let count = Double(n * l)
        var dx = x, dgamma = [Double](repeating: 0, count: c), dbeta = [Double](repeating: 0, count: c)
        for ch in 0..<c {
            let sigma = (variance[ch] + eps).squareRoot()
            func xhat(_ k: Int) -> Double { (x[k] - mean[ch]) / sigma }
            for i in 0..<n {
                for j in 0..<l {
                    let k = index(i, ch, j)
                    dbeta[ch] += g[k]
                    dgamma[ch] += g[k] * xhat(k)
                }
            }
            for i in 0..<n {
                for j in 0..<l {
                    let k = index(i, ch, j)
                    dx[k] = gamma[ch] / sigma * (g[k] - dbeta[ch] / count - xhat(k) * dgamma[ch] / count)
                }
            }
        }
        return (dx, dgamma, dbeta)
    }
}

@Suite("BatchNorm")
struct BatchNormTests {
    private func stderr(_ result: ExitTest.Result?) -> String {
        String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
    }

    private static func layer(_ c: Int, momentum: Double = 0.1) -> BatchNorm1d {
        let bn = BatchNorm1d(c, momentum: momentum, dtype: .float64)
        bn.weight.assign(Tensor((0..<c).map { 0.5 + Double($0) * 0.75 }, dtype: .float64))
        bn.bias.assign(Tensor((0..<c).map { -0.25 + Double($0) * 0.5 }, dtype: .float64))
        return bn
    }

    @Test func threeDimensionalTrainingOutputsAndRunningStatistics() {
        let (n, c, l) = (4, 3, 5)
        let momentum = 0.3
        let bn = Self.layer(c, momentum: momentum)
        let ref = ReferenceBatchNorm(n: n, c: c, l: l, eps: bn.eps)
        var runningMean = [Double](repeating: 0, count: c), runningVar = [Double](repeating: 1, count: c)
        var rng = RandomGenerator(seed: 21)
        for step in 0..<3 {
            // Channels with different offsets and scales, so a mix-up of axes shows.
            let x = Tensor.randn([n, c, l], dtype: .float64, using: &rng)
                * Tensor([1, 3, 0.5], dtype: .float64).reshaped([c, 1])
                + Tensor([2, -1, 10], dtype: .float64).reshaped([c, 1])
            let y = bn(x)
            let xs = x.scalars
            let (mean, variance) = ref.statistics(xs)
            #expect(y.shape == [n, c, l])
            expectClose(y.scalars, ref.normalise(xs, mean: mean, variance: variance,
                                                 gamma: bn.weight.scalars, beta: bn.bias.scalars),
                        tolerance: 1e-12, "output, step \(step)")
            let count = Double(n * l)
            for ch in 0..<c {
                runningMean[ch] = (1 - momentum) * runningMean[ch] + momentum * mean[ch]
                runningVar[ch] = (1 - momentum) * runningVar[ch] + momentum * variance[ch] * count / (count - 1)
            }
            expectClose(bn.runningMean.scalars, runningMean, tolerance: 1e-12, "running mean, step \(step)")
            expectClose(bn.runningVar.scalars, runningVar, tolerance: 1e-12, "running variance, step \(step)")
        }
        bn.eval()
        let x = Tensor.randn([2, c, l], dtype: .float64, using: &rng)
        let before = (bn.runningMean.scalars, bn.runningVar.scalars)
        let evalRef = ReferenceBatchNorm(n: 2, c: c, l: l, eps: bn.eps)
        expectClose(bn(x).scalars, evalRef.normalise(x.scalars, mean: runningMean, variance: runningVar,
                                                     gamma: bn.weight.scalars, beta: bn.bias.scalars),
                    tolerance: 1e-12, "eval uses running statistics")
        #expect(bn.runningMean.scalars == before.0 && bn.runningVar.scalars == before.1, "eval leaves them alone")
    }

    @Test func threeDimensionalTrainingGradients() {
        let (n, c, l) = (3, 2, 4)
        let bn = Self.layer(c)
        var rng = RandomGenerator(seed: 22)
        let x = (Tensor.randn([n, c, l], dtype: .float64, using: &rng) * 2 + 1).detach().requiringGrad()
        let g = Tensor.randn([n, c, l], dtype: .float64, using: &rng)
        bn(x).backward(g)
        let ref = ReferenceBatchNorm(n: n, c: c, l: l, eps: bn.eps)
        let expected = ref.trainingGradients(x.scalars, g.scalars, gamma: bn.weight.scalars)
        expectClose(x.grad!.scalars, expected.dx, tolerance: 1e-10, "dx")
        expectClose(bn.weight.grad!.scalars, expected.dgamma, tolerance: 1e-10, "dγ")
        expectClose(bn.bias.grad!.scalars, expected.dbeta, tolerance: 1e-10, "dβ")
    }

    @Test func evaluationGradientsScaleByTheRunningDeviation() {
        let (n, c, l) = (2, 3, 2)
        let bn = Self.layer(c)
        bn.runningMean.assign(Tensor([0.5, -1, 2], dtype: .float64))
        bn.runningVar.assign(Tensor([0.25, 4, 1.5], dtype: .float64))
        bn.eval()
        var rng = RandomGenerator(seed: 23)
        let x = Tensor.randn([n, c, l], dtype: .float64, using: &rng).requiringGrad()
        let g = Tensor.randn([n, c, l], dtype: .float64, using: &rng)
        bn(x).backward(g)
        let gamma = bn.weight.scalars, rv = bn.runningVar.scalars, gs = g.scalars
        let ref = ReferenceBatchNorm(n: n, c: c, l: l, eps: bn.eps)
        var dx = gs
        for i in 0..<n { for ch in 0..<c { for j in 0..<l {
            let k = ref.index(i, ch, j)
            dx[k] = gs[k] * gamma[ch] / (rv[ch] + bn.eps).squareRoot()
        } } }
        expectClose(x.grad!.scalars, dx, tolerance: 1e-12, "dx")
    }

    /// [N, C] still normalises over N only, and an [N, C, 1] input gives the same.
    @Test func twoDimensionalInputAgreesWithLengthOne() {
        var rng = RandomGenerator(seed: 24)
        let x = Tensor.randn([5, 3], dtype: .float64, using: &rng)
        let a = Self.layer(3), b = Self.layer(3)
        let y2 = a(x), y3 = b(x.reshaped([5, 3, 1]))
        let ref = ReferenceBatchNorm(n: 5, c: 3, l: 1, eps: a.eps)
        let (mean, variance) = ref.statistics(x.scalars)
        expectClose(y2.scalars, ref.normalise(x.scalars, mean: mean, variance: variance,
                                              gamma: a.weight.scalars, beta: a.bias.scalars),
                    tolerance: 1e-12, "[N, C]")
        #expect(y3.shape == [5, 3, 1])
        expectClose(y3.scalars, y2.scalars, tolerance: 1e-12, "[N, C, 1]")
        expectClose(b.runningVar.scalars, a.runningVar.scalars, tolerance: 1e-12, "running variance")
    }

    @Test func float32LayerOnThreeDimensionalInput() {
        var rng = RandomGenerator(seed: 25)
        let x = Tensor.randn([4, 2, 6], dtype: .float64, using: &rng)
        let bn = BatchNorm1d(2)
        let y = bn(x.to(.float32))
        #expect(y.dtype == .float32)
        let ref = ReferenceBatchNorm(n: 4, c: 2, l: 6, eps: bn.eps)
        let (mean, variance) = ref.statistics(x.scalars)
        expectClose(y.scalars, ref.normalise(x.scalars, mean: mean, variance: variance, gamma: [1, 1], beta: [0, 0]),
                    tolerance: 1e-5, "float32")
    }

    @Test func channelMismatchNamesTheLayerAndShapes() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = BatchNorm1d(4)(Tensor.zeros([8, 3, 5]))
        }
        #expect(stderr(result).contains("BatchNorm1d(4): input [8, 3, 5] has 3 channels, expected 4"))
    }

    @Test func otherRanksAreRejected() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = BatchNorm1d(4)(Tensor.zeros([2, 4, 3, 3]))
        }
        #expect(stderr(result).contains("BatchNorm1d(4): expects [N, 4] or [N, 4, L], got [2, 4, 3, 3]"))
    }

    @Test func oneValuePerChannelIsRejectedInTraining() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = BatchNorm1d(4)(Tensor.zeros([1, 4, 1]))
        }
        #expect(stderr(result).contains("BatchNorm1d(4): needs more than one value per channel in training mode, got input [1, 4, 1]"))
    }

    @Test func perChannelTensorsMustHaveTheChannelCount() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = batchNorm(Tensor.zeros([2, 3, 4]), runningMean: nil, runningVar: nil,
                          weight: Tensor.ones([4]), bias: nil, training: true)
        }
        #expect(stderr(result).contains("batchNorm: weight has shape [4], expected [3] for input [2, 3, 4]"))
    }
}
