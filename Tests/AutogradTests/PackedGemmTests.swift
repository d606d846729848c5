import Autograd
import CKernels
import Foundation
import Testing

/// Our packed GEMM (gemm_packed.c) at every ISA level the CPU has, and what
/// ag_gemm picks itself (the small-matrix kernels where they apply), against
/// a float64 triple loop: odd sizes, every transpose, padded leading
/// dimensions, alpha and beta (beta = 0 must not read C, which holds NaN).
@Suite("Packed GEMM")
struct PackedGemmTests {
    static let levels = Kernels.ISA.allCases.filter { $0 <= Kernels.supportedISA }

    /// (m, n, k): edges of every tile shape (column remainders of 1–16 and
    /// 17–31 lanes), a K beyond one KC block (and beyond the small AVX-512
    /// kernel's K blocks of 256), and N beyond one NC block.
    static let shapes = [(1, 1, 1), (7, 63, 65), (65, 7, 257), (13, 257, 63), (63, 1000, 7), (6, 64, 1100),
                         (257, 65, 33), (9, 20, 300)]

    @Test(arguments: levels, [DType.float32, .float64])
    func matchesTheTripleLoop(_ isa: Kernels.ISA, _ dtype: DType) {
        for (m, n, k) in Self.shapes {
            var rng = RandomGenerator(seed: UInt64(m * 1_000_003 + n * 1009 + k))
            for (transA, transB) in [(false, false), (true, false), (false, true), (true, true)] {
                for (alpha, beta) in [(1.0, 0.0), (-0.5, 2.0)] { for impl in [AG_GEMM_OWN, AG_GEMM_AUTO] {
                    let lda = (transA ? m : k) + 3, ldb = (transB ? k : n) + 2, ldc = n + 5
                    let a = Tensor.randn([(transA ? k : m) * lda], using: &rng).scalars
                    let b = Tensor.randn([(transB ? n : k) * ldb], using: &rng).scalars
                    let c0 = Tensor.randn([m * ldc], using: &rng).scalars
                    var expected = c0
                    for i in 0..<m {
                        for j in 0..<n {
                            var s = 0.0
                            for p in 0..<k {
                                s += a[transA ? p * lda + i : i * lda + p] * b[transB ? j * ldb + p : p * ldb + j]
                            }
                            expected[i * ldc + j] = alpha * s + (beta == 0 ? 0 : beta * c0[i * ldc + j])
                        }
                    }
                    let got = run(impl, isa, dtype, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta,
                                  beta == 0 ? c0.indices.map { $0 % ldc < n ? .nan : c0[$0] } : c0, ldc)
                    let tolerance = dtype == .float32 ? 2e-5 * Double(k).squareRoot() : 1e-12 * Double(k)
                    var worst = 0.0
                    for i in 0..<m {
                        for j in 0..<n {
                            let e = expected[i * ldc + j]
                            worst = Swift.max(worst, Swift.abs(got[i * ldc + j] - e) / (1 + Swift.abs(e)))
                        }
                        for j in n..<ldc where got[i * ldc + j] != c0[i * ldc + j] {
                            Issue.record("\(isa) \(dtype) (\(m), \(n), \(k)): padding column \(j) of row \(i) was written")
                        }
                    }
                    #expect(worst <= tolerance, "\(impl) \(isa) \(dtype) (\(m), \(n), \(k)) tA \(transA) tB \(transB) α \(alpha) β \(beta): error \(worst)")
                } }
            }
        }
    }

    /// The same products split over two threads agree with one thread exactly.
    @Test func threadsDoNotChangeTheResult() {
        var rng = RandomGenerator(seed: 3)
        let (m, n, k) = (300, 290, 280)
        let a = Tensor.randn([m * k], using: &rng).scalars(as: Float.self)
        let b = Tensor.randn([k * n], using: &rng).scalars(as: Float.self)
        func product(_ threads: Int) -> [Float] {
            var c = [Float](repeating: 0, count: m * n)
            Kernels.withThreadCount(threads) {
                ag_gemm_with(AG_GEMM_OWN, AG_F32, 0, 0, Int64(m), Int64(n), Int64(k), 1, a, Int64(k), b, Int64(n), 0, &c, Int64(n))
            }
            return c
        }
        #expect(product(1) == product(2))
    }

    /// The activations a fused epilogue is checked with: those the AVX-512
    /// kernels apply in registers and one (softplus) applied after the product.
    /// (op, p0, p1, reference).
    static let epilogueActivations: [(ag_unary_op, Double, Double, @Sendable (Double) -> Double)] = [
        (AG_TANH, 0, 0, { Foundation.tanh($0) }), (AG_RELU, 0, 0, { Swift.max($0, 0) }),
        (AG_LEAKY_RELU, 0.1, 0, { $0 > 0 ? $0 : 0.1 * $0 }), (AG_SIGMOID, 0, 0, { 1 / (1 + Foundation.exp(-$0)) }),
        (AG_GELU, 0, 0, { 0.5 * $0 * (1 + erf($0 / 2.0.squareRoot())) }),
        (AG_SILU, 0, 0, { $0 / (1 + Foundation.exp(-$0)) }), (AG_AFFINE, 1, 0, { $0 }),
        (AG_AFFINE, 0.5, 0.25, { 0.5 * $0 + 0.25 }), (AG_SOFTPLUS, 1, 20, { Foundation.log1p(Foundation.exp($0)) }),
    ]

    /// ag_gemm_fused (a Linear layer's forward, with a residual): act(x·wᵀ +
    /// bias + residual) at every level, on one and two threads (row and
    /// column slabs shift the bias and the residual), for each activation.
    @Test(arguments: levels)
    func fusedEpilogueMatchesProductThenBiasAndActivation(_ isa: Kernels.ISA) {
        for (m, n, k) in [(5, 300, 70), (300, 130, 90), (97, 1000, 33), (9, 20, 600)] {
            var rng = RandomGenerator(seed: UInt64(m + n + k))
            let x = Tensor.randn([m, k], using: &rng), w = Tensor.randn([n, k], using: &rng)
            let bias = Tensor.randn([n], using: &rng)
            let ldr = n + 3
            let residual = Tensor.randn([m * ldr], using: &rng).scalars
            let rf = residual.map(Float.init)
            let (xs, ws, bs) = (x.scalars, w.scalars, bias.scalars)
            var sums = [Double](repeating: 0, count: m * n)
            for i in 0..<m {
                for j in 0..<n {
                    var s = bs[j] + residual[i * ldr + j]
                    for p in 0..<k { s += xs[i * k + p] * ws[j * k + p] }
                    sums[i * n + j] = s
                }
            }
            for (act, p0, p1, f) in Self.epilogueActivations {
                for threads in [1, 2] {
                    var y = [Float](repeating: .nan, count: m * n)
                    let xf = xs.map(Float.init), wf = ws.map(Float.init), bf = bs.map(Float.init)
                    bf.withUnsafeBytes { pb in rf.withUnsafeBytes { pr in
                        var epilogue = ag_gemm_epilogue(bias: pb.baseAddress, act: act, p0: p0, p1: p1,
                                                        residual: pr.baseAddress, ldr: Int64(ldr))
                        Kernels.withISA(isa) {
                            Kernels.withThreadCount(threads) {
                                ag_gemm_fused(AG_F32, 0, 1, Int64(m), Int64(n), Int64(k), xf, Int64(k), wf, Int64(k),
                                              &y, Int64(n), &epilogue)
                            }
                        }
                    } }
                    var worst = 0.0
                    for (i, s) in sums.enumerated() {
                        worst = Swift.max(worst, Swift.abs(Double(y[i]) - f(s)) / (1 + Swift.abs(f(s))))
                    }
                    #expect(worst < 2e-5 * Double(k).squareRoot(),
                            "\(act) \(isa) (\(m), \(n), \(k)) on \(threads) threads: error \(worst)")
                }
            }
        }
    }

    /// A batch of small products spread over two threads gives each product
    /// exactly what one thread gives, and each equals its own single GEMM.
    @Test func batchesSpreadOverThreads() {
        var rng = RandomGenerator(seed: 5)
        let a = Tensor.randn([40, 7, 33], using: &rng), b = Tensor.randn([40, 33, 9], using: &rng)
        let one = Kernels.withThreadCount(1) { matmul(a, b).scalars }
        let two = Kernels.withThreadCount(2) { matmul(a, b).scalars }
        #expect(one == two)
        let i = 17
        let single = matmul(a.reshaped([40 * 7, 33]).sliced(axis: 0, (i * 7)..<(i * 7 + 7)),
                            b.reshaped([40 * 33, 9]).sliced(axis: 0, (i * 33)..<(i * 33 + 33)))
        #expect(Array(two[(i * 63)..<(i * 63 + 63)]) == single.scalars)
    }

    /// Runs ag_gemm_with(impl) at one level, in the type, and reads C back as Double.
    private func run(_ impl: ag_gemm_impl, _ isa: Kernels.ISA, _ dtype: DType, _ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int,
                     _ alpha: Double, _ a: [Double], _ lda: Int, _ b: [Double], _ ldb: Int, _ beta: Double,
                     _ c: [Double], _ ldc: Int) -> [Double] {
        func call<T: BinaryFloatingPoint>(_ type: T.Type, _ dt: ag_dtype) -> [Double] {
            let a = a.map { T($0) }, b = b.map { T($0) }
            var c = c.map { T($0) }
            a.withUnsafeBytes { pa in
                b.withUnsafeBytes { pb in
                    c.withUnsafeMutableBytes { pc in
                        Kernels.withISA(isa) {
                            ag_gemm_with(impl, dt, transA ? 1 : 0, transB ? 1 : 0, Int64(m), Int64(n), Int64(k),
                                         alpha, pa.baseAddress, Int64(lda), pb.baseAddress, Int64(ldb), beta,
                                         pc.baseAddress, Int64(ldc))
                        }
                    }
                }
            }
            return c.map { Double($0) }
        }
        return dtype == .float32 ? call(Float.self, AG_F32) : call(Double.self, AG_F64)
    }
}
