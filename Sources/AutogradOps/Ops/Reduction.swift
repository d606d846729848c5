import AutogradTensor
import CKernels

/// The layout a reduction kernel sees: the input as a contiguous
/// [outer, r, inner] block whose middle axis is reduced. When the reduced axes
/// are adjacent and the input contiguous, that is the input itself; otherwise
/// the reduced axes are moved last into a contiguous copy.
struct ReductionLayout {
    let values: Tensor
    let outer: Int, r: Int, inner: Int
    /// The permutation (kept axes, then reduced axes) that made `values`, or
    /// nil when `values` is the input itself.
    let order: [Int]?

    init(_ x: Tensor, axes: [Int]) {
        if let (outer, r, inner) = ReductionLayout.adjacent(x, axes: axes) {
            values = x
            (self.outer, self.r, self.inner) = (outer, r, inner)
            order = nil
        } else {
            let kept = (0..<x.rank).filter { !axes.contains($0) }
            let permuted = Permute(order: kept + axes).forward([x], shape: (kept + axes).map { x.shape[$0] })
            values = permuted.contiguousValues()
            outer = ShapeRules.count(kept.map { x.shape[$0] })
            r = ShapeRules.count(axes.map { x.shape[$0] })
            inner = 1
            order = kept + axes
        }
    }

    /// [outer, r, inner] of `x` itself when it is contiguous and `axes`
    /// (sorted) are adjacent; nil otherwise.
    static func adjacent(_ x: Tensor, axes: [Int]) -> (outer: Int, r: Int, inner: Int)? {
        guard x.isContiguous else { return nil }
        guard let first = axes.first, let last = axes.last else { return (x.scalarCount, 1, 1) }
        guard last - first + 1 == axes.count else { return nil }
        return (ShapeRules.count(x.shape[..<first]), ShapeRules.count(x.shape[first...last]),
                ShapeRules.count(x.shape[(last + 1)...]))
    }
}

/// Output shape of reducing `axes` of `shape`.
func reducedShape(_ shape: [Int], axes: [Int], keepDims: Bool) -> [Int] {
    keepDims
        ? shape.enumerated().map { axes.contains($0.offset) ? 1 : $0.element }
        : shape.enumerated().filter { !axes.contains($0.offset) }.map(\.element)
}

/// Sum over a set of axes, times `scale` (1/n makes it a mean).
/// A reduction over a set of axes by one C kernel on [outer, r, inner]
/// values: the shape rule and both forward paths, written once for every
/// such op, which gives only its kernel call.
protocol AxisReduction: Primitive {
    var axes: [Int] { get }
    var keepDims: Bool { get }
    /// The kernel call, on contiguous values read as [outer, r, inner].
    func run(_ x: Tensor, _ layout: (outer: Int, r: Int, inner: Int), into out: Tensor)
}

extension AxisReduction {
    func outputShape(_ inputs: [[Int]]) -> [Int] {
        reducedShape(inputs[0], axes: axes, keepDims: keepDims)
    }

    /// Any input: the reduced axes moved into a contiguous copy when they must be.
    func forward(_ inputs: [Tensor], shape: [Int]) -> Tensor {
        let layout = ReductionLayout(inputs[0], axes: axes)
        let out = Tensor(uninitializedShape: shape, dtype: inputs[0].dtype)
        run(layout.values, (layout.outer, layout.r, layout.inner), into: out)
        return out
    }

    /// Adjacent axes of a contiguous input only: then [outer, r, inner] needs no copy.
    func forward(_ inputs: [Tensor], into output: Tensor) -> Bool {
        guard output.isContiguous, let layout = ReductionLayout.adjacent(inputs[0], axes: axes) else { return false }
        run(inputs[0], layout, into: output)
        return true
    }
}

struct Sum: AxisReduction {
    let axes: [Int]
    let keepDims: Bool
    var scale = 1.0
    var name: String { scale == 1 ? "sum" : "mean" }

    func run(_ x: Tensor, _ layout: (outer: Int, r: Int, inner: Int), into out: Tensor) {
        ag_reduce_sum(x.dtype.c, layout.outer, layout.r, layout.inner, scale, x.pointer, out.pointer)
    }

    func vjp(_ inputs: [Tensor], _ output: Tensor, _ grad: Tensor, _ needs: [Bool]) -> [Tensor?] {
        let x = inputs[0]
        let g = grad.reshaped(reducedShape(x.shape, axes: axes, keepDims: true)).expanded(to: x.shape)
        return [scale == 1 ? g : g * scale]
    }

    func jvp(_ inputs: [Tensor], _ output: Tensor, _ tangents: [Tensor?]) -> Tensor {
        self(tangents[0]!)
    }
}

/// Maximum over a set of axes: NaN where a slice holds a NaN. The gradient
/// is shared evenly among the elements equal to the maximum (see ``MaxTies``),
/// as PyTorch's `amax`.
struct MaxReduce: AxisReduction {
    let axes: [Int]
    let keepDims: Bool
    var name: String { "max" }

    func run(_ x: Tensor, _ layout: (outer: Int, r: Int, inner: Int), into out: Tensor) {
        ag_reduce_max(x.dtype.c, layout.outer, layout.r, layout.inner, x.pointer, out.pointer)
    }

    /// 1/c at each of the c maximal elements of each slice, 0 elsewhere; a
    /// constant of the backward graph, so second derivatives flow through the
    /// product with the gradient only.
    private func weights(_ x: Tensor, _ y: Tensor) -> Tensor {
        noGrad { MaxTies(axes: axes)(x.detach(), y.detach().reshaped(reducedShape(x.shape, axes: axes, keepDims: true))) }
    }

    func vjp(_ inputs: [Tensor], _ output: Tensor, _ grad: Tensor, _ needs: [Bool]) -> [Tensor?] {
        let x = inputs[0]
        let g = grad.reshaped(reducedShape(x.shape, axes: axes, keepDims: true)).expanded(to: x.shape)
        return [weights(x, output) * g]
    }

    /// The mean of the tangents of the maximal elements.
    func jvp(_ inputs: [Tensor], _ output: Tensor, _ tangents: [Tensor?]) -> Tensor {
        (weights(inputs[0], output) * tangents[0]!).sum(alongAxes: axes, keepDims: keepDims)
    }
}

/// How a max over `axes` shares its gradient: inputs x and its maximum m
/// (with the reduced axes kept as size 1) give, in x's shape, 1/c where an
/// element equals the maximum of its slice and 0 elsewhere, c being the
/// number of such elements. Where m is NaN, the NaN elements of the slice
/// share instead. Not differentiable (piecewise constant); an op, so a
/// compiled graph recomputes it on every call.
struct MaxTies: Primitive {
    let axes: [Int]
    var name: String { "maxTies" }

    func outputShape(_ inputs: [[Int]]) -> [Int] {
        guard inputs[1] == reducedShape(inputs[0], axes: axes, keepDims: true) else {
            opError(name, "expects a maximum of shape \(ShapeRules.describe(reducedShape(inputs[0], axes: axes, keepDims: true))) for input \(ShapeRules.describe(inputs[0])), got \(ShapeRules.describe(inputs[1]))")
        }
        return inputs[0]
    }

    func forward(_ inputs: [Tensor], shape: [Int]) -> Tensor {
        let x = inputs[0], m = inputs[1].contiguousValues()
        let layout = ReductionLayout(x, axes: axes)
        let w = Tensor(uninitializedShape: layout.values.shape, dtype: x.dtype)
        ag_reduce_max_ties(x.dtype.c, layout.outer, layout.r, layout.inner, layout.values.pointer, m.pointer, w.pointer)
        guard let order = layout.order else { return w }
        return Permute(order: Permute(order: order).inverse).forward([w], shape: shape)
    }

    func vjp(_ inputs: [Tensor], _ output: Tensor, _ grad: Tensor, _ needs: [Bool]) -> [Tensor?] { [nil, nil] }

    func jvp(_ inputs: [Tensor], _ output: Tensor, _ tangents: [Tensor?]) -> Tensor { Tensor.zeros(like: output) }
}

/// Runs `body` with `index` (class positions stored as values of the
/// tensor's dtype) converted to the Int64s the gather/scatter kernels read.

extension Tensor {
    /// Sum over `axes` (every axis when nil), keeping them as size 1 when `keepDims`.
    ///
    /// ```swift
    /// let x = Tensor([[1, 2, 3], [4, 5, 6]])
    /// x.sum()                                    // 21
    /// x.sum(alongAxes: [0])                      // [5, 7, 9]
    /// x.sum(alongAxes: [1], keepDims: true)      // [[6], [15]]
    /// ```
    public func sum(alongAxes axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        summed(ShapeRules.axes(axes, rank: rank, op: "sum"), keepDims: keepDims, scale: 1)
    }

    /// `scale` times the sum over `axes` (sorted). A contiguous tensor whose
    /// axes form several runs (a bias gradient's [0, 2, 3] of [N, C, H, W])
    /// is reduced one run at a time, last run first, each on [outer, r,
    /// inner] values in place, instead of through a permuted copy; compiled
    /// graphs then plan each step into their arena.
    private func summed(_ axes: [Int], keepDims: Bool, scale: Double) -> Tensor {
        let oneRun = axes.indices.dropFirst().allSatisfy { axes[$0] == axes[$0 - 1] + 1 }
        if oneRun || !isContiguous { return Sum(axes: axes, keepDims: keepDims, scale: scale)(self) }
        var runs: [[Int]] = []
        for axis in axes {
            if let last = runs.last?.last, last + 1 == axis { runs[runs.count - 1].append(axis) } else { runs.append([axis]) }
        }
        var y = self
        for (i, run) in runs.reversed().enumerated() {
            y = Sum(axes: run, keepDims: true, scale: i == runs.count - 1 ? scale : 1)(y)
        }
        return keepDims ? y : y.reshaped(reducedShape(shape, axes: axes, keepDims: false))
    }

    /// Mean over `axes` (every axis when nil).
    public func mean(alongAxes axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let a = ShapeRules.axes(axes, rank: rank, op: "mean")
        let n = ShapeRules.count(a.map { shape[$0] })
        guard n > 0 else { opError("mean", "reducing an empty axis of shape \(ShapeRules.describe(shape))") }
        return summed(a, keepDims: keepDims, scale: 1 / Double(n))
    }

    /// Maximum over `axes` (every axis when nil), keeping them as size 1 when
    /// `keepDims`. A slice that holds a NaN has maximum NaN.
    ///
    /// The gradient is shared evenly among tied maxima: each element equal to
    /// its slice's maximum gets g/c, c being how many there are (PyTorch's
    /// `amax` and `max()`; only PyTorch's `max(dim)`, which also returns
    /// indices, sends it all to one). Forward mode gives the mean of the tied
    /// elements' tangents. In a slice whose maximum is NaN, the NaN elements
    /// share the gradient the same way (as PyTorch's `max()`; its `amax` gives
    /// NaN gradients to that slice instead).
    ///
    /// ```swift
    /// Tensor([[1, 5], [7, 2]]).max(alongAxes: [1])  // [5, 7]
    /// let x = Tensor([[3, 1, 3], [2, 2, 0]]).requiringGrad()
    /// x.max(alongAxes: [1]).sum().backward()        // x.grad: [[0.5, 0, 0.5], [0.5, 0.5, 0]]
    /// ```
    public func max(alongAxes axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let a = ShapeRules.axes(axes, rank: rank, op: "max")
        guard a.allSatisfy({ shape[$0] > 0 }) else {
            opError("max", "reducing an empty axis of shape \(ShapeRules.describe(shape))")
        }
        return MaxReduce(axes: a, keepDims: keepDims)(self)
    }

    /// Minimum over `axes` (every axis when nil); NaN and gradients as for
    /// ``max(alongAxes:keepDims:)`` (ties share the gradient evenly).
    ///
    /// ```swift
    /// Tensor([[1, 5], [7, 2]]).min(alongAxes: [0])  // [1, 2]
    /// ```
    public func min(alongAxes axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        -(-self).max(alongAxes: axes, keepDims: keepDims)
    }

    /// For each position of the other axes, in row-major order, the index
    /// along `axis` of the largest element (the first one on ties).
    ///
    /// ```swift
    /// Tensor([[1, 5, 2], [7, 0, 3]]).argmax(alongAxis: 1)  // [1, 0]
    /// ```
    public func argmax(alongAxis axis: Int) -> [Int] {
        let a = ShapeRules.axis(axis, rank: rank, op: "argmax")
        guard shape[a] > 0 else { opError("argmax", "axis \(a) of shape \(ShapeRules.describe(shape)) is empty") }
        let kept = (0..<rank).filter { $0 != a }
        ThreadFlags.current.pointee.observer?.willRead(self, "argmax(alongAxis:)")
        let blocks = detach().permuted(kept + [a]).reshaped([ShapeRules.count(kept.map { shape[$0] }), shape[a], 1])
        return Tensor.argmaxIndices(blocks)
    }

    /// Argmax along the middle axis of an [outer, r, inner] tensor.
    static func argmaxIndices(_ x: Tensor) -> [Int] {
        let values = x.contiguousValues()
        let (outer, r, inner) = (x.shape[0], x.shape[1], x.shape[2])
        return [Int](unsafeUninitializedCapacity: outer * inner) { buffer, initialized in
            buffer.withMemoryRebound(to: Int64.self) { idx in
                ag_reduce_argmax(values.dtype.c, outer, r, inner, values.pointer, idx.baseAddress)
            }
            initialized = outer * inner
        }
    }
}
