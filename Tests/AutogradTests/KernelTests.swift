import Autograd
import Foundation
import CKernels
import Testing

/// The C kernels' SIMD and portable paths, and their threaded paths, agree.
@Suite("Kernels", .serialized)
struct KernelTests {
    /// Runs `body` on the portable path and on the SIMD path (where the CPU has one).
    private func bothPaths(_ body: () -> [Double]) -> (portable: [Double], simd: [Double]) {
        (KernelSettings.with(simd: false, body), KernelSettings.with(simd: true, body))
    }

    @Test("portable and SIMD paths agree", arguments: OpCases.elementwise + OpCases.broadcasting + OpCases.reductions)
    func portableMatchesSIMD(_ op: OpCase) {
        for dtype in [DType.float32, .float64] {
            let xs = op.inputs(seed: 9, dtype: dtype)
            let (portable, simd) = bothPaths { op.f(xs).scalars }
            expectClose(simd, portable, tolerance: dtype == .float32 ? 1e-6 : 1e-14, "\(op.name) \(dtype)")
        }
    }

    @Test func threadedKernelsMatchOneThread() {
        var rng = RandomGenerator(seed: 11)
        let n = 1 << 18
        let a = Tensor.randn([n], using: &rng), b = Tensor.randn([n], using: &rng)
        let m = Tensor.randn([512, 512], using: &rng)
        func run() -> [[Double]] {
            [(a + b).scalars, tanh(a).scalars, UnaryProbe.reluBackward(a, b), m.sum(alongAxes: [0]).scalars,
             m.transposed().contiguous().scalars]
        }
        let (one, two) = KernelSettings.with { (KernelSettings.with(threads: 1, run), KernelSettings.with(threads: 2, run)) }
        for (i, (x, y)) in zip(one, two).enumerated() { #expect(x == y, "result \(i) differs between 1 and 2 threads") }
        #expect(one[0][12345] == Double(Float(a.scalars[12345]) + Float(b.scalars[12345])))
    }

    /// Pairwise sums give the same bits at every ISA level (their lanes are
    /// explicit; a wider vector only reads them faster), over rows and columns.
    @Test func sumsAreTheSameAtEveryLevel() {
        var rng = RandomGenerator(seed: 12)
        let m = Tensor.randn([300, 1001], using: &rng)
        let levels = Kernels.ISA.allCases.filter { $0 <= Kernels.supportedISA }
        let results = levels.map { isa in
            Kernels.withISA(isa) { [m.sum().scalars, m.sum(alongAxes: [0]).scalars, m.sum(alongAxes: [1]).scalars] }
        }
        for (isa, result) in zip(levels, results) {
            #expect(result == results[0], "\(isa) differs from \(levels[0])")
        }
    }

    /// The FLOP per cycle the benchmark's peak uses follow the active level,
    /// capped by the CPU's FMA datapath (256 bits on Zen 4 even at AVX-512).
    @Test func flopsPerCycleFollowTheLevelAndTheDatapath() {
        let bits = Int(ag_fma_datapath_bits())
        #expect([128, 256, 512].contains(bits))
        #expect(Kernels.withISA(.portable) { ag_f32_flops_per_cycle() } == 16)
        if Kernels.supportedISA >= .avx2 {
            #expect(bits >= 256)
            #expect(Kernels.withISA(.avx2) { ag_f32_flops_per_cycle() } == 32)
        }
        if Kernels.supportedISA == .avx512 {
            #expect(Kernels.withISA(.avx512) { Int(ag_f32_flops_per_cycle()) } == bits / 8)
        }
    }

    /// The SIMD choice of withSIMD holds for this thread and the kernel
    /// threads working for it, and no other thread.
    @Test func simdChoiceIsScopedToTheThread() {
        let x = Tensor.randn([1 << 18])  // large enough to split across threads
        let portableOneThread = Kernels.withSIMD(false) { Kernels.withThreadCount(1) { tanh(x).scalars } }
        let processWide = Kernels.usesSIMD
        Kernels.withSIMD(false) {
            #expect(!Kernels.usesSIMD)
            #expect(Kernels.withThreadCount(2) { tanh(x).scalars } == portableOneThread,
                    "the pool's threads take the caller's choice")
            final class Seen: @unchecked Sendable { var simd = false }  // written before done.signal(), read after wait()
            let seen = Seen(), done = DispatchSemaphore(value: 0)
            Thread {
                seen.simd = Kernels.usesSIMD
                done.signal()
            }.start()
            done.wait()
            #expect(seen.simd == processWide, "another thread keeps the process-wide choice")
        }
        if Kernels.withSIMD(true, { Kernels.usesSIMD }) {
            #expect(Kernels.withSIMD(true) { tanh(x).scalars } != portableOneThread, "the paths differ, so the test can fail")
        }
    }

    @Test func parallelForCoversEveryIndexOnce() {
        let n = 100_003
        var hits = [Int32](repeating: 0, count: n)
        KernelSettings.with(threads: 2) {
            hits.withUnsafeMutableBufferPointer { buffer in
                ag_parallel_for(n, 1000, { ctx, begin, end in
                    let p = ctx!.assumingMemoryBound(to: Int32.self)
                    for i in begin..<end { p[i] += 1 }
                }, buffer.baseAddress)
            }
        }
        #expect(hits.allSatisfy { $0 == 1 })
    }
}

/// Exercises a derivative kernel through the public API: relu's VJP calls it.
enum UnaryProbe {
    static func reluBackward(_ x: Tensor, _ g: Tensor) -> [Double] {
        let leaf = x.detach().requiringGrad()
        return grad(of: relu(leaf), withRespectTo: [leaf], seed: g)[0].scalars
    }
}

@Suite("Small-matrix GEMM")
struct SmallGemmTests {
    /// The small-matrix kernel (used for float32 products up to 80³ with SIMD
    /// on) against OpenBLAS, over odd shapes, every transpose combination and
    /// padded leading dimensions.
    @Test(arguments: [(1, 1, 1), (5, 7, 3), (6, 16, 8), (13, 33, 17), (64, 64, 64), (7, 80, 90), (64, 10, 128)])
    func matchesOpenBLAS(_ shape: (Int, Int, Int)) {
        let (m, n, k) = shape
        var rng = RandomGenerator(seed: UInt64(m * 10_000 + n * 100 + k))
        for transA in [false, true] {
            for transB in [false, true] {
                let lda = (transA ? m : k) + 3, ldb = (transB ? k : n) + 2, ldc = n + 1
                let a = Tensor.randn([(transA ? k : m) * lda], using: &rng).scalars(as: Float.self)
                let b = Tensor.randn([(transB ? n : k) * ldb], using: &rng).scalars(as: Float.self)
                var ours = [Float](repeating: .nan, count: m * ldc), reference = ours
                KernelSettings.with(simd: true) {
                    ag_gemm(AG_F32, transA ? 1 : 0, transB ? 1 : 0, Int64(m), Int64(n), Int64(k), 1, a, Int64(lda),
                            b, Int64(ldb), 0, &ours, Int64(ldc))
                }
                cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                            Int32(m), Int32(n), Int32(k), 1, a, Int32(lda), b, Int32(ldb), 0, &reference, Int32(ldc))
                for i in 0..<m {
                    for j in 0..<n {
                        let x = ours[i * ldc + j], y = reference[i * ldc + j]
                        #expect(Swift.abs(x - y) <= 1e-5 * (1 + Swift.abs(y)), "\(shape) tA \(transA) tB \(transB) at (\(i), \(j))")
                    }
                    #expect(ours[i * ldc + n].isNaN, "the padding column is not written")
                }
            }
        }
    }
}
