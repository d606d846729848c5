import Autograd
import Foundation
import Testing

/// Float32 sums of 256K to 16M elements against a float64 reference computed
/// here, on the portable path and on the SIMD path. One running float32
/// accumulator per output drifts by about √n rounding errors of the partial
/// sum's size (or, for values near 1, by a biased n of them); pairwise and
/// blocked summation keep the error near a few roundings of the result.
///
/// The error is measured relative to max(|reference|, ‖x‖₂): for
/// standard-normal data the sum itself may cancel to almost nothing, while
/// ‖x‖₂ (√n here) is its typical size.
@Suite("Summation accuracy", .serialized)
struct SummationAccuracyTests {
    /// The bounds the sums below must meet. Standard-normal data: the
    /// single-accumulator kernels were off by 5.5e-6 to 2.8e-5 on every shape
    /// here; pairwise summation stays below 4.5e-7. Values near 1: the old
    /// errors ran from 2.5e-8 (the 16M whole-tensor sum, where each addition
    /// rounds off only the zero-mean noise) to 3.4e-6; the bound, about four
    /// roundings of the result, fails five of those nine shapes.
    static let normalBound = 1e-6
    static let nearOneBound = 2.5e-7

    /// 16M standard-normal float32 values and 1 + 1e-4 · the same noise.
    static let data: (normal: [Float], nearOne: [Float]) = {
        var rng = RandomGenerator(seed: 2024)
        let normal = Tensor.randn([1 << 24], using: &rng)
        let nearOne = 1 + normal * 1e-4
        return (normal.scalars(as: Float.self), nearOne.scalars(as: Float.self))
    }()

    /// Runs `body` on the portable path, then on the SIMD path (where the CPU
    /// has one), restoring the setting afterwards.
    private func onBothPaths(_ body: (String) -> Void) {
        KernelSettings.with(simd: false) { body("portable") }
        KernelSettings.with(simd: true) { if Kernels.usesSIMD { body("SIMD") } }
    }

    /// The reference sums over the middle axis of `values` seen as
    /// [outer, r, inner], in float64 with Neumaier's compensation, and the
    /// 2-norm of each reduced slice.
    private func reference(_ values: [Float], outer: Int, r: Int, inner: Int) -> (sums: [Double], norms: [Double]) {
        var sums = [Double](repeating: 0, count: outer * inner)
        var norms = sums
        values.withUnsafeBufferPointer { x in
            for o in 0..<outer {
                for i in 0..<inner {
                    var s = 0.0, c = 0.0, sq = 0.0
                    for k in 0..<r {
                        let v = Double(x[(o * r + k) * inner + i])
                        let t = s + v
                        c += Swift.abs(s) >= Swift.abs(v) ? (s - t) + v : (v - t) + s
                        s = t
                        sq += v * v
                    }
                    sums[o * inner + i] = s + c
                    norms[o * inner + i] = sq.squareRoot()
                }
            }
        }
        return (sums, norms)
    }

    /// The largest relative error of `got` against the reference.
    private func maxRelativeError(_ got: [Double], _ ref: (sums: [Double], norms: [Double]), scale: Double = 1) -> Double {
        var worst = 0.0
        for j in got.indices {
            let want = ref.sums[j] * scale
            let size = Swift.max(Swift.abs(want), ref.norms[j] * scale)
            worst = Swift.max(worst, Swift.abs(got[j] - want) / size)
        }
        return worst
    }

    /// Checks sum (and mean) over `axes` of `values` reshaped to `shape`,
    /// where the reduced axes fold into the middle of [outer, r, inner].
    private func check(_ label: String, _ values: [Float], shape: [Int], axes: [Int]?,
                       outer: Int, r: Int, inner: Int, mean: Bool = false) {
        let bound = label == "normal" ? Self.normalBound : Self.nearOneBound
        let x = Tensor(shape: shape, scalars: Array(values[0..<shape.reduce(1, *)]))
        let ref = reference(Array(values[0..<shape.reduce(1, *)]), outer: outer, r: r, inner: inner)
        onBothPaths { path in
            let got = mean ? x.mean(alongAxes: axes) : x.sum(alongAxes: axes)
            #expect(got.dtype == .float32)
            let error = maxRelativeError(got.scalars, ref, scale: mean ? 1 / Double(r) : 1)
            print("summation accuracy: \(label) \(mean ? "mean" : "sum") \(shape) axes \(axes.map(\.description) ?? "all"), \(path): max relative error \(error)")
            #expect(error < bound, "\(label) \(shape) axes \(String(describing: axes)) on the \(path) path: \(error)")
        }
    }

    @Test func rowSums() {
        for (label, values) in [("normal", Self.data.normal), ("1+1e-4·noise", Self.data.nearOne)] {
            check(label, values, shape: [4, 1 << 18], axes: [1], outer: 4, r: 1 << 18, inner: 1)
            check(label, values, shape: [16, 1 << 20], axes: [1], outer: 16, r: 1 << 20, inner: 1)
        }
    }

    @Test func columnSums() {
        for (label, values) in [("normal", Self.data.normal), ("1+1e-4·noise", Self.data.nearOne)] {
            check(label, values, shape: [1 << 18, 4], axes: [0], outer: 1, r: 1 << 18, inner: 4)
            check(label, values, shape: [1 << 18, 64], axes: [0], outer: 1, r: 1 << 18, inner: 64)
            check(label, values, shape: [4, 1 << 16, 33], axes: [1], outer: 4, r: 1 << 16, inner: 33)
        }
    }

    @Test func wholeTensorSums() {
        for (label, values) in [("normal", Self.data.normal), ("1+1e-4·noise", Self.data.nearOne)] {
            check(label, values, shape: [512, 512], axes: nil, outer: 1, r: 1 << 18, inner: 1)
            check(label, values, shape: [1 << 24], axes: nil, outer: 1, r: 1 << 24, inner: 1)
        }
    }

    @Test func means() {
        for (label, values) in [("normal", Self.data.normal), ("1+1e-4·noise", Self.data.nearOne)] {
            check(label, values, shape: [1 << 24], axes: nil, outer: 1, r: 1 << 24, inner: 1, mean: true)
            check(label, values, shape: [1 << 12, 1 << 12], axes: [0], outer: 1, r: 1 << 12, inner: 1 << 12, mean: true)
            check(label, values, shape: [16, 1 << 20], axes: [1], outer: 16, r: 1 << 20, inner: 1, mean: true)
        }
    }

    /// Softmax over rows of 1M: the probabilities of a row sum to 1 up to the
    /// rounding of its exponentials' sum; the fused cross-entropy, with each
    /// row's label on its maximum (a loss near 2, so that float32 can show
    /// the error), is log Σ exp(x − max) as float64 computes it. Before
    /// pairwise summation: |Σp − 1| was 5e-4 (portable) and 9e-5 (SIMD), the
    /// loss off by 2.4e-4 (portable) and 1.3e-7 (SIMD) of itself.
    @Test func softmaxAndCrossEntropyOverLongRows() {
        let n = 1 << 20
        let rows = Array(Self.data.normal[0..<(2 * n)]).map { $0 * 5 }
        let x = Tensor(shape: [2, n], scalars: rows)
        var labels = [0, 0], wantLoss = 0.0
        for row in 0..<2 {
            let slice = rows[(row * n)..<((row + 1) * n)].map(Double.init)
            let m = slice.max()!
            labels[row] = slice.firstIndex(of: m)!
            wantLoss += Foundation.log(slice.reduce(0) { $0 + Foundation.exp($1 - m) }) / 2
        }
        onBothPaths { path in
            let p = softmax(x, axis: 1).scalars
            for row in 0..<2 {
                let total = p[(row * n)..<((row + 1) * n)].reduce(0, +)
                print("summation accuracy: softmax row of \(n), \(path): |Σp − 1| = \(Swift.abs(total - 1))")
                #expect(Swift.abs(total - 1) < 2e-7, "softmax row \(row) on the \(path) path sums to \(total)")
            }
            let loss = crossEntropy(logits: x, labels: labels).item()
            print("summation accuracy: crossEntropy loss \(wantLoss) over rows of \(n), \(path): relative error \(Swift.abs(loss - wantLoss) / wantLoss)")
            #expect(Swift.abs(loss - wantLoss) < 1e-7 * wantLoss, "crossEntropy on the \(path) path: \(loss) vs \(wantLoss)")
        }
    }
}
