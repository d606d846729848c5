import Autograd
import Foundation
import Testing

/// `torch.matmul`'s rules computed directly in float64: a 1-D first operand
/// becomes [1, k] and a 1-D second one [k, 1] (their axis removed from the
/// result), batch axes broadcast, and each product is a triple loop.
private func referenceMatmul(_ a: [Double], _ aShape: [Int], _ b: [Double], _ bShape: [Int])
    -> (shape: [Int], values: [Double])
{
    let am = aShape.count == 1 ? [1, aShape[0]] : aShape
    let bm = bShape.count == 1 ? [bShape[0], 1] : bShape
    let m = am[am.count - 2], k = am[am.count - 1], n = bm[bm.count - 1]
    precondition(bm[bm.count - 2] == k)
    let batchRank = max(am.count, bm.count) - 2
    let padA = [Int](repeating: 1, count: batchRank - (am.count - 2)) + am.dropLast(2)
    let padB = [Int](repeating: 1, count: batchRank - (bm.count - 2)) + bm.dropLast(2)
    let batch = zip(padA, padB).map { x, y in
        precondition(x == y || x == 1 || y == 1)
        return max(x, y)
    }
    let batchCount = batch.reduce(1, *)
    var out = [Double](repeating: 0, count: batchCount * m * n)
    for t in 0..<batchCount {
        // The batch index of t, and the matrix of a and of b it reads.
        var rest = t, matA = 0, matB = 0, strideA = 1, strideB = 1
        for i in stride(from: batchRank - 1, through: 0, by: -1) {
            let idx = rest % batch[i]
            rest /= batch[i]
            matA += (padA[i] == 1 ? 0 : idx) * strideA
            matB += (padB[i] == 1 ? 0 : idx) * strideB
            strideA *= padA[i]
            strideB *= padB[i]
        }
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for p in 0..<k { s += a[matA * m * k + i * k + p] * b[matB * k * n + p * n + j] }
                out[t * m * n + i * n + j] = s
            }
        }
    }
    let shape = batch + (aShape.count == 1 ? [] : [m]) + (bShape.count == 1 ? [] : [n])
    return (shape, out)
}

private func expectMatchesReference(_ a: Tensor, _ b: Tensor, tolerance: Double = 1e-12,
                                    sourceLocation: SourceLocation = #_sourceLocation) {
    let y = matmul(a, b)
    let ref = referenceMatmul(a.scalars, a.shape, b.scalars, b.shape)
    let what = "\(a.shape) × \(b.shape)"
    #expect(y.shape == ref.shape, "\(what)", sourceLocation: sourceLocation)
    expectClose(y.scalars, ref.values, tolerance: tolerance, what, sourceLocation: sourceLocation)
}

@Suite("MatMul broadcasting")
struct MatMulBroadcastTests {
    private func stderr(_ result: ExitTest.Result?) -> String {
        String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
    }

    static let shapePairs: [([Int], [Int])] = [
        ([3], [3]),
        ([3], [3, 4]),
        ([2, 3], [3]),
        ([3], [2, 3, 4]),
        ([2, 4, 3], [3]),
        ([4], [2, 1, 4, 3]),
        ([2, 3], [3, 4]),
        ([5, 2, 3], [5, 3, 4]),
        ([5, 2, 3], [3, 4]),
        ([2, 3], [5, 3, 4]),
        ([1, 2, 3], [5, 3, 4]),
        ([2, 1, 3, 4], [5, 4, 6]),
        ([2, 1, 3, 4], [1, 5, 4, 2]),
        ([3, 1, 2, 2, 3], [4, 1, 3, 2]),
        ([1, 1, 2, 3], [1, 3, 4]),
        ([6, 130, 70], [70, 90]),  // large enough for the threaded GEMM
    ]

    @Test("forward values equal the triple loop", arguments: shapePairs)
    func forwardMatchesReference(_ shapes: ([Int], [Int])) {
        var rng = RandomGenerator(seed: 7)
        let a = Tensor.randn(shapes.0, dtype: .float64, using: &rng)
        let b = Tensor.randn(shapes.1, dtype: .float64, using: &rng)
        expectMatchesReference(a, b)
        expectMatchesReference(a.to(.float32), b.to(.float32), tolerance: 1e-5)
    }

    @Test func nonContiguousOperandsAreReadInPlaceOrCopied() {
        var rng = RandomGenerator(seed: 11)
        // Batch axes whose strides don't merge (a loop of batched GEMMs), transposed matrices.
        let a = Tensor.randn([3, 2, 4, 5], dtype: .float64, using: &rng).permuted([1, 0, 2, 3])
        let b = Tensor.randn([3, 1, 6, 5], dtype: .float64, using: &rng).permuted([1, 0, 3, 2])
        expectMatchesReference(a, b)
        // An expanded batch (stride 0) against a broadcast one.
        let e = Tensor.randn([1, 2, 3], dtype: .float64, using: &rng).expanded(to: [4, 2, 3])
        expectMatchesReference(e, Tensor.randn([2, 1, 3, 2], dtype: .float64, using: &rng))
        // Matrices BLAS can't read (a stepped slice along both axes): copied.
        let s = Tensor.randn([2, 4, 6], dtype: .float64, using: &rng)
            .sliced(axis: 1, 0..<4, step: 2).sliced(axis: 2, 0..<6, step: 2)
        expectMatchesReference(s, Tensor.randn([3, 3, 2, 3, 2], dtype: .float64, using: &rng))
        // Strided vectors on either side, and an expanded one.
        let v = Tensor.randn([12], dtype: .float64, using: &rng).sliced(axis: 0, 0..<12, step: 3)
        let w = Tensor.randn([2, 4, 3], dtype: .float64, using: &rng)
        expectMatchesReference(v, w)
        expectMatchesReference(w.transposed(), v)
        expectMatchesReference(v, v)
        expectMatchesReference(Tensor.randn([1], dtype: .float64, using: &rng).expanded(to: [4]), w)
    }

    @Test func emptyProducts() {
        let zeroK = matmul(Tensor.ones([2, 3, 0]), Tensor.ones([0, 4]))
        #expect(zeroK.shape == [2, 3, 4])
        #expect(zeroK.scalars == [Double](repeating: 0, count: 24))
        #expect(matmul(Tensor.ones([0]), Tensor.ones([0])).scalars == [0])
        #expect(matmul(Tensor.ones([5, 1, 3, 4]), Tensor.ones([0, 4, 2])).shape == [5, 0, 3, 2])
        #expect(matmul(Tensor.ones([3, 0]), Tensor.ones([1, 0, 2])).shape == [1, 3, 2])
    }

    /// The gradient of an operand broadcast over batches is the sum over
    /// them: for a [2, 1, 3, 4] × [5, 4, 6] product seeded with ones,
    /// dA[i, 0] = Σ_j 1·B[j]ᵀ and dB[j] = Σ_i A[i, 0]ᵀ·1.
    @Test func gradientsSumOverBroadcastBatches() {
        var rng = RandomGenerator(seed: 5)
        let a = Tensor.randn([2, 1, 3, 4], dtype: .float64, using: &rng).requiringGrad()
        let b = Tensor.randn([5, 4, 6], dtype: .float64, using: &rng).requiringGrad()
        matmul(a, b).sum().backward()
        let av = a.scalars, bv = b.scalars
        var ga = [Double](repeating: 0, count: 24), gb = [Double](repeating: 0, count: 120)
        for i in 0..<2 {
            for j in 0..<5 {
                for r in 0..<3 {
                    for p in 0..<4 {
                        for c in 0..<6 {
                            ga[i * 12 + r * 4 + p] += bv[j * 24 + p * 6 + c]
                            gb[j * 24 + p * 6 + c] += av[i * 12 + r * 4 + p]
                        }
                    }
                }
            }
        }
        #expect(a.grad!.shape == [2, 1, 3, 4])
        #expect(b.grad!.shape == [5, 4, 6])
        expectClose(a.grad!.scalars, ga, tolerance: 1e-12, "dA")
        expectClose(b.grad!.scalars, gb, tolerance: 1e-12, "dB")
    }

    @Test func vectorGradientsHaveTheVectorsShape() {
        var rng = RandomGenerator(seed: 9)
        let v = Tensor.randn([3], dtype: .float64, using: &rng).requiringGrad()
        let w = Tensor.randn([2, 3, 4], dtype: .float64, using: &rng).requiringGrad()
        matmul(v, w).sum().backward()
        #expect(v.grad!.shape == [3])
        // d/dv Σ_{b,j} Σ_p v_p w[b,p,j] = Σ_{b,j} w[b,p,j]
        let wv = w.scalars
        var dv = [Double](repeating: 0, count: 3)
        for b in 0..<2 {
            for p in 0..<3 {
                for j in 0..<4 { dv[p] += wv[b * 12 + p * 4 + j] }
            }
        }
        expectClose(v.grad!.scalars, dv, tolerance: 1e-12, "dv")
        let u = Tensor.randn([3], dtype: .float64, using: &rng).requiringGrad()
        let d = matmul(v, u)
        #expect(d.shape == [])
        d.backward()
        expectClose(u.grad!.scalars, v.scalars, tolerance: 0, "d(v·u)/du")
    }

    /// Compiled graphs write the product into planned memory: the same values.
    @Test func compiledBroadcastProductEqualsEager() {
        var rng = RandomGenerator(seed: 13)
        let w = Tensor.randn([5, 4, 6], dtype: .float64, using: &rng)
        let f = compile { (x: Tensor) in tanh(matmul(x, w)) }
        let x1 = Tensor.randn([2, 1, 3, 4], dtype: .float64, using: &rng)
        let x2 = Tensor.randn([2, 1, 3, 4], dtype: .float64, using: &rng)
        _ = f(x1)
        expectClose(f(x2).scalars, tanh(matmul(x2, w)).scalars, tolerance: 1e-12, "compiled")
        let ref = referenceMatmul(x2.scalars, x2.shape, w.scalars, w.shape)
        expectClose(f(x2).scalars, ref.values.map { Foundation.tanh($0) }, tolerance: 1e-12, "reference")
    }

    @Test func batchAxesThatDontBroadcastNameMatmulAndBothShapes() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = matmul(Tensor.zeros([7, 1, 4]), Tensor.zeros([1, 3, 4, 2]))
        }
        #expect(stderr(result).contains("matmul: batch axes of [7, 1, 4] and [1, 3, 4, 2] don't broadcast"))
    }

    @Test func innerSizesThatDifferNameMatmulAndBothShapes() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = matmul(Tensor.zeros([2, 3]), Tensor.zeros([4]))
        }
        #expect(stderr(result).contains("matmul: shapes [2, 3] and [4] don't multiply"))
    }

    @Test func scalarOperandsAreRejected() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = matmul(Tensor(shape: [], scalars: [2.0]), Tensor.zeros([3]))
        }
        #expect(stderr(result).contains("matmul: shapes [] and [3] don't multiply"))
    }
}
