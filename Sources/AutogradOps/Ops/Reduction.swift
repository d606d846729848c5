import AutogradTensor
import CKernels

/// The layout a reduction kernel sees: the input as a contiguous
/// [outer, r, inner] block whose middle axis is reduced. When the reduced axes
/// are adjacent and the input contiguous, that is the input itself; otherwise
/// the reduced axes are moved last into a contiguous copy.
struct ReductionLayout {
    let values: Tensor
    let outer: Int, r: Int, inner: Int

    init(_ x: Tensor, axes: [Int]) {
        let rank = x.rank
        let adjacent = axes.isEmpty || axes.last! - axes.first! + 1 == axes.count
        if adjacent && x.isContiguous {
            let first = axes.first ?? rank
            let last = axes.last ?? rank - 1
            values = x
            outer = ShapeRules.count(x.shape[..<first])
            r = axes.isEmpty ? 1 : ShapeRules.count(x.shape[first...last])
            inner = ShapeRules.count(x.shape[(last + 1)...])
        } else {
            let kept = (0..<rank).filter { !axes.contains($0) }
            let permuted = Permute(order: kept + axes).forward([x], shape: (kept + axes).map { x.shape[$0] })
            values = permuted.contiguousValues()
            outer = ShapeRules.count(kept.map { x.shape[$0] })
            r = ShapeRules.count(axes.map { x.shape[$0] })
            inner = 1
        }
    }
}

/// Output shape of reducing `axes` of `shape`.
func reducedShape(_ shape: [Int], axes: [Int], keepDims: Bool) -> [Int] {
    keepDims
        ? shape.enumerated().map { axes.contains($0.offset) ? 1 : $0.element }
        : shape.enumerated().filter { !axes.contains($0.offset) }.map(\.element)
}

/// Sum over a set of axes, times `scale` (1/n makes it a mean).
struct Sum: Primitive {
    let axes: [Int]
    let keepDims: Bool
    var scale = 1.0
    var name: String { scale == 1 ? "sum" : "mean" }

    func outputShape(_ inputs: [[Int]]) -> [Int] {
        reducedShape(inputs[0], axes: axes, keepDims: keepDims)
    }

    func forward(_ inputs: [Tensor], shape: [Int]) -> Tensor {
        let layout = ReductionLayout(inputs[0], axes: axes)
        let out = Tensor(uninitializedShape: shape, dtype: inputs[0].dtype)
        ag_reduce_sum(out.dtype.c, layout.outer, layout.r, layout.inner, scale, layout.values.pointer, out.pointer)
        return out
    }

    /// Adjacent axes of a contiguous input only: then [outer, r, inner] needs no copy.
    func forward(_ inputs: [Tensor], into output: Tensor) -> Bool {
        let x = inputs[0]
        guard x.isContiguous, output.isContiguous else { return false }
        var outer = 1, r = 1, inner = 1
        if let first = axes.first, let last = axes.last {
            guard last - first + 1 == axes.count else { return false }
            for i in 0..<x.rank {
                if i < first { outer *= x.shape[i] } else if i > last { inner *= x.shape[i] } else { r *= x.shape[i] }
            }
        } else {
            outer = x.scalarCount
        }
        ag_reduce_sum(x.dtype.c, outer, r, inner, scale, x.pointer, output.pointer)
        return true
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

/// Runs `body` with `index` (class positions stored as values of the
/// tensor's dtype) converted to the Int64s the gather/scatter kernels read.
private func withInt64Indices<R>(_ index: Tensor, _ body: (UnsafePointer<Int64>) -> R) -> R {
    let values = index.contiguousValues()
    let n = values.scalarCount
    return withUnsafeTemporaryAllocation(of: Int64.self, capacity: Swift.max(n, 1)) { buffer in
        for i in 0..<n { buffer[i] = Int64(values.loadScalar(at: i)) }
        return body(buffer.baseAddress!)
    }
}

/// The argmax along the middle axis of an [outer, r, inner] tensor, as
/// [outer, inner] positions stored in the input's dtype (the first one on
/// ties). Not differentiable; an op, so a compiled graph recomputes it.
struct ArgmaxAxis: Primitive {
    var name: String { "argmax" }

    func outputShape(_ inputs: [[Int]]) -> [Int] {
        let s = inputs[0]
        guard s.count == 3 else { opError(name, "expects [outer, r, inner], got \(ShapeRules.describe(s))") }
        return [s[0], s[2]]
    }

    func forward(_ inputs: [Tensor], shape: [Int]) -> Tensor {
        let x = inputs[0].contiguousValues()
        let out = Tensor(uninitializedShape: shape, dtype: x.dtype)
        let n = out.scalarCount
        withUnsafeTemporaryAllocation(of: Int64.self, capacity: Swift.max(n, 1)) { idx in
            ag_reduce_argmax(x.dtype.c, x.shape[0], x.shape[1], x.shape[2], x.pointer, idx.baseAddress)
            for i in 0..<n { out.pointer.storeScalar(Double(idx[i]), at: i, dtype: x.dtype) }
        }
        return out
    }

    func vjp(_ inputs: [Tensor], _ output: Tensor, _ grad: Tensor, _ needs: [Bool]) -> [Tensor?] { [nil] }

    func jvp(_ inputs: [Tensor], _ output: Tensor, _ tangents: [Tensor?]) -> Tensor { Tensor.zeros(like: output) }
}

/// Picks one element along the middle axis of an [outer, r, inner] tensor at
/// the positions of an [outer, inner] index tensor: y[o, i] = x[o, index[o, i], i].
/// With an argmax's positions, this is max, and its VJP routes each gradient
/// to the element that won.
struct GatherAxis: Primitive {
    var name: String { "gather" }

    func outputShape(_ inputs: [[Int]]) -> [Int] {
        let s = inputs[0]
        guard s.count == 3, inputs[1] == [s[0], s[2]] else {
            opError(name, "expects [outer, r, inner] and [outer, inner] indices, got \(ShapeRules.describe(s)) and \(ShapeRules.describe(inputs[1]))")
        }
        return [s[0], s[2]]
    }

    func forward(_ inputs: [Tensor], shape: [Int]) -> Tensor {
        let x = inputs[0].contiguousValues()
        let out = Tensor(uninitializedShape: shape, dtype: x.dtype)
        withInt64Indices(inputs[1]) { idx in
            ag_gather_axis(x.dtype.c, x.shape[0], x.shape[1], x.shape[2], x.pointer, idx, out.pointer)
        }
        return out
    }

    func vjp(_ inputs: [Tensor], _ output: Tensor, _ grad: Tensor, _ needs: [Bool]) -> [Tensor?] {
        [ScatterAxis(r: inputs[0].shape[1])(grad, inputs[1]), nil]
    }

    func jvp(_ inputs: [Tensor], _ output: Tensor, _ tangents: [Tensor?]) -> Tensor {
        self(tangents[0]!, inputs[1])
    }
}

/// The transpose of ``GatherAxis``: zeros of [outer, r, inner] with
/// x[o, index[o, i], i] = y[o, i].
struct ScatterAxis: Primitive {
    let r: Int
    var name: String { "scatter" }

    func outputShape(_ inputs: [[Int]]) -> [Int] {
        let s = inputs[0]
        guard s.count == 2, inputs[1] == s else {
            opError(name, "expects [outer, inner] values and indices, got \(ShapeRules.describe(s)) and \(ShapeRules.describe(inputs[1]))")
        }
        return [s[0], r, s[1]]
    }

    func forward(_ inputs: [Tensor], shape: [Int]) -> Tensor {
        let y = inputs[0].contiguousValues()
        let out = Tensor(uninitializedShape: shape, dtype: y.dtype)
        withInt64Indices(inputs[1]) { idx in
            ag_scatter_axis(y.dtype.c, shape[0], r, shape[2], y.pointer, idx, out.pointer)
        }
        return out
    }

    func vjp(_ inputs: [Tensor], _ output: Tensor, _ grad: Tensor, _ needs: [Bool]) -> [Tensor?] {
        [GatherAxis()(grad, inputs[1]), nil]
    }

    func jvp(_ inputs: [Tensor], _ output: Tensor, _ tangents: [Tensor?]) -> Tensor {
        self(tangents[0]!, inputs[1])
    }
}

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
        Sum(axes: ShapeRules.axes(axes, rank: rank, op: "sum"), keepDims: keepDims)(self)
    }

    /// Mean over `axes` (every axis when nil).
    public func mean(alongAxes axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let a = ShapeRules.axes(axes, rank: rank, op: "mean")
        let n = ShapeRules.count(a.map { shape[$0] })
        guard n > 0 else { opError("mean", "reducing an empty axis of shape \(ShapeRules.describe(shape))") }
        return Sum(axes: a, keepDims: keepDims, scale: 1 / Double(n))(self)
    }

    /// Maximum over `axes` (every axis when nil). The gradient goes to the
    /// element that won (the first one on ties, as the argmax picks it).
    ///
    /// ```swift
    /// Tensor([[1, 5], [7, 2]]).max(alongAxes: [1])  // [5, 7]
    /// ```
    public func max(alongAxes axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let a = ShapeRules.axes(axes, rank: rank, op: "max")
        let outShape = reducedShape(shape, axes: a, keepDims: keepDims)
        guard a.allSatisfy({ shape[$0] > 0 }) else {
            opError("max", "reducing an empty axis of shape \(ShapeRules.describe(shape))")
        }
        let kept = (0..<rank).filter { !a.contains($0) }
        let outer = ShapeRules.count(kept.map { shape[$0] })
        let r = ShapeRules.count(a.map { shape[$0] })
        let blocks = permuted(kept + a).reshaped([outer, r, 1])
        let index = noGrad { ArgmaxAxis()(blocks.detach()) }
        return GatherAxis()(blocks, index).reshaped(outShape)
    }

    /// Minimum over `axes` (every axis when nil); gradients as for ``max(alongAxes:keepDims:)``.
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
