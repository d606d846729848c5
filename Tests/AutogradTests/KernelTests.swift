import Autograd
import CKernels
import Testing

/// The C kernels' SIMD and portable paths, and their threaded paths, agree.
@Suite("Kernels", .serialized)
struct KernelTests {
    /// Runs `body` on the portable path and on the SIMD path (where the CPU has one).
    private func bothPaths(_ body: () -> [Double]) -> (portable: [Double], simd: [Double]) {
        let before = ag_simd_enabled()
        ag_set_simd_enabled(0)
        let portable = body()
        ag_set_simd_enabled(1)
        let simd = body()
        ag_set_simd_enabled(before)
        return (portable, simd)
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
        let before = ag_num_threads()
        ag_set_num_threads(1)
        let one = run()
        ag_set_num_threads(2)
        let two = run()
        ag_set_num_threads(before)
        for (x, y) in zip(one, two) { #expect(x == y) }
        #expect(one[0][12345] == Double(Float(a.scalars[12345]) + Float(b.scalars[12345])))
    }

    @Test func parallelForCoversEveryIndexOnce() {
        let n = 100_003
        var hits = [Int32](repeating: 0, count: n)
        let before = ag_num_threads()
        ag_set_num_threads(2)
        hits.withUnsafeMutableBufferPointer { buffer in
            ag_parallel_for(n, 1000, { ctx, begin, end in
                let p = ctx!.assumingMemoryBound(to: Int32.self)
                for i in begin..<end { p[i] += 1 }
            }, buffer.baseAddress)
        }
        ag_set_num_threads(before)
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
