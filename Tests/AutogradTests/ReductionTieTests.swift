import Autograd
import Testing

/// max/min over axes share the gradient evenly among tied elements, as
/// PyTorch's `amax`/`amin` and full `max()`/`min()` do
/// (FunctionsManual.cpp: `scale_grad_by_count`, `evenly_distribute_backward`):
/// g / count at each element equal to its slice's extremum.
@Suite("Reduction ties")
struct ReductionTieTests {
    /// The PyTorch gradient of a max over `axes` of a float64 [outer, r, inner]
    /// tensor (reduced axis in the middle), written out here: the seed of each
    /// slice divided by the number of elements equal to the slice's maximum.
    private func expectedMaxGradient(_ x: [Double], outer: Int, r: Int, inner: Int, seed: [Double],
                                     sign: Double = 1) -> [Double] {
        var out = [Double](repeating: 0, count: x.count)
        for o in 0..<outer {
            for i in 0..<inner {
                let slice = (0..<r).map { sign * x[(o * r + $0) * inner + i] }
                let best = slice.max()!
                let count = Double(slice.filter { $0 == best }.count)
                for k in 0..<r where slice[k] == best {
                    out[(o * r + k) * inner + i] = seed[o * inner + i] / count
                }
            }
        }
        return out
    }

    @Test func maxAlongAnAxisSplitsTies() {
        let x = Tensor([[3, 1, 3], [2, 2, 0]], dtype: .float64).requiringGrad()
        let y = x.max(alongAxes: [1])
        #expect(y.scalars == [3, 2] as [Double])
        y.sum().backward()
        #expect(x.grad!.scalars == [0.5, 0, 0.5, 0.5, 0.5, 0] as [Double])
    }

    @Test func fullMaxAndMinSplitTies() {
        let x = Tensor([5, 5, 5], dtype: .float64).requiringGrad()
        x.max().backward()
        let third: Double = 1 / 3
        #expect(x.grad!.scalars == [third, third, third])

        let z = Tensor([[1, 4], [1, 0.5]], dtype: .float64).requiringGrad()
        (z.min() * 6).backward()
        // min 0.5 is unique: the whole gradient 6 goes to it.
        #expect(z.grad!.scalars == [0, 0, 0, 6] as [Double])

        let w = Tensor([[1, 4], [1, 2]], dtype: .float64).requiringGrad()
        (w.min() * 6).backward()
        #expect(w.grad!.scalars == [3, 0, 3, 0] as [Double])
    }

    @Test func minAlongAxisZeroKeepDimsSplitsTies() {
        let x = Tensor([[0, 2, 5], [0, 2, 1], [4, 2, 1]], dtype: .float64).requiringGrad()
        let y = x.min(alongAxes: [0], keepDims: true)
        #expect(y.shape == [1, 3])
        #expect(y.scalars == [0, 2, 1] as [Double])
        (y * Tensor([[1, 3, 2]], dtype: .float64)).sum().backward()
        let want = expectedMaxGradient(x.detach().scalars, outer: 1, r: 3, inner: 3, seed: [1, 3, 2], sign: -1)
        #expect(x.grad!.scalars == want)
        #expect(want == [0.5, 1, 0, 0.5, 1, 1, 0, 1, 1] as [Double])
    }

    /// Several axes, non-adjacent ones (the permuted path) and float32, on
    /// small integers so that ties are frequent.
    @Test(arguments: [[0, 2], [1], [0, 1, 2], [2]] as [[Int]])
    func manyTiesOverSeveralAxes(_ axes: [Int]) {
        var rng = RandomGenerator(seed: 8)
        let shape = [3, 4, 5]
        let values = (0..<60).map { _ in Double(rng.next() % 3) }
        for dtype in [DType.float64, .float32] {
            let x = Tensor(shape: shape, scalars: values, dtype: dtype).requiringGrad()
            let y = x.max(alongAxes: axes)
            let seed = Tensor.randn(y.shape, dtype: .float64, using: &rng)
            (y * seed.to(dtype)).sum().backward()
            // Move the reduced axes to the middle of [outer, r, inner] by hand.
            let kept = (0..<3).filter { !axes.contains($0) }
            let order = kept + axes
            let moved = Tensor(shape: shape, scalars: values, dtype: .float64).permuted(order).contiguous()
            let r = axes.map { shape[$0] }.reduce(1, *)
            let want = expectedMaxGradient(moved.scalars, outer: 60 / r, r: r, inner: 1, seed: seed.scalars)
            let got = x.grad!.to(.float64).permuted(order).contiguous().scalars
            expectClose(got, want, tolerance: dtype == .float32 ? 1e-6 : 1e-15, "max axes \(axes) \(dtype)")
            #expect(y.scalars == (0..<(60 / r)).map { o in (0..<r).map { moved.scalars[o * r + $0] }.max()! })
        }
    }

    @Test func forwardModeAveragesTiedTangents() {
        let x = Tensor([[3, 1, 3], [2, 2, 0]], dtype: .float64)
        let u = Tensor([[1, 10, 5], [4, -2, 7]], dtype: .float64)
        let (y, t) = jvp(of: { $0.max(alongAxes: [1]) }, at: x, tangent: u)
        #expect(y.scalars == [3, 2] as [Double])
        #expect(t.scalars == [3, 1] as [Double])  // (1 + 5) / 2, (4 − 2) / 2
        let (_, tAll) = jvp(of: { $0.max() }, at: Tensor([5, 5, 1], dtype: .float64), tangent: Tensor([1, 2, 9], dtype: .float64))
        #expect(tAll.scalars == [1.5] as [Double])
    }

    @Test func nanIsTheMaximumAndItsElementsShareTheGradient() {
        let nan = Double.nan
        let x = Tensor(shape: [2, 4], scalars: [1, nan, 3, nan, 2, 2, 0, 1], dtype: .float64).requiringGrad()
        let y = x.max(alongAxes: [1])
        #expect(y.scalars[0].isNaN)
        #expect(y.scalars[1] == 2)
        y.sum().backward()
        #expect(x.grad!.scalars == [0, 0.5, 0, 0.5, 0.5, 0.5, 0, 0] as [Double])
        let m = Tensor([nan, 1, 2], dtype: .float32).min()
        #expect(m.item().isNaN)
    }

    /// The backward formula is written with differentiable ops: second
    /// derivatives through a max (here of a smooth function) check against
    /// finite differences, and so do the max/min rows of the op table.
    @Test func secondDerivativesFlowThroughMax() throws {
        var rng = RandomGenerator(seed: 3)
        let x = Tensor.randn([3, 4], dtype: .float64, using: &rng)
        try gradgradcheck("max of squares", [x]) { ($0[0] * $0[0]).max(alongAxes: [1]) * $0[0].sum() }
        try gradgradcheck("min all of cube", [x]) { ($0[0] * $0[0] * $0[0]).min() }
        for op in OpCases.reductions where op.name.hasPrefix("max") || op.name.hasPrefix("min") {
            try gradgradcheck(op.name, op.inputs(seed: 2), eps: op.eps, atol: op.atol, op.f)
        }
    }

    /// A compiled step recomputes which elements tie on every call.
    @Test func compiledMaxMatchesEager() {
        let f = CompiledFunction { xs in
            let leaf = xs[0].detach().requiringGrad()
            let y = leaf.max(alongAxes: [1])
            return [y, grad(of: (y * y).sum(), withRespectTo: [leaf])[0]]
        }
        for values in [[[3.0, 1, 3], [2, 2, 0]], [[0, 4, 1], [7, 7, 7]]] as [[[Double]]] {
            let x = Tensor(shape: [2, 3], scalars: values.flatMap { $0 }, dtype: .float64)
            let compiled = f([x]).map(\.scalars)
            let leaf = x.detach().requiringGrad()
            let y = leaf.max(alongAxes: [1])
            (y * y).sum().backward()
            #expect(compiled[0] == y.scalars)
            #expect(compiled[1] == leaf.grad!.scalars)
        }
        #expect(f.traceCount == 1)
    }
}
