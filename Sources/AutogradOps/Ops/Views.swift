import AutogradTensor

/// Ops that change how a tensor's storage is read, sharing it where they can:
/// reshape, permute (transpose), expand, slice, and the copies that undo them.

/// Reads the same elements in a new shape: a view when the layout allows, a copy otherwise.
struct Reshape: Primitive {
    let target: [Int]
    var name: String { "reshape" }

    func outputShape(_ inputs: [[Int]]) -> [Int] {
        let count = ShapeRules.count(inputs[0])
        let unknown = target.indices.filter { target[$0] == -1 }
        guard unknown.count <= 1, target.allSatisfy({ $0 >= -1 }) else {
            opError(name, "target shape \(ShapeRules.describe(target)) may hold one -1 and no other negative size")
        }
        var shape = target
        if let u = unknown.first {
            let known = ShapeRules.count(target.enumerated().filter { $0.offset != u }.map(\.element))
            guard known > 0, count % known == 0 else {
                opError(name, "cannot reshape \(ShapeRules.describe(inputs[0])) into \(ShapeRules.describe(target))")
            }
            shape[u] = count / known
        }
        guard ShapeRules.count(shape) == count else {
            opError(name, "cannot reshape \(ShapeRules.describe(inputs[0])) (\(count) elements) into \(ShapeRules.describe(target)) (\(ShapeRules.count(shape)) elements)")
        }
        return shape
    }

    func forward(_ inputs: [Tensor], shape: [Int]) -> Tensor {
        let x = inputs[0].contiguousValues()
        return Tensor(storage: x.storage, shape: shape, strides: ShapeRules.contiguousStrides(shape), offset: x.offset)
    }

    func vjp(_ inputs: [Tensor], _ output: Tensor, _ grad: Tensor, _ needs: [Bool]) -> [Tensor?] {
        [grad.reshaped(inputs[0].shape)]
    }

    func jvp(_ inputs: [Tensor], _ output: Tensor, _ tangents: [Tensor?]) -> Tensor {
        tangents[0]!.reshaped(output.shape)
    }
}

/// Reorders the axes: output axis i is input axis `order[i]`. Always a view.
struct Permute: Primitive {
    let order: [Int]
    var name: String { "permute" }

    func outputShape(_ inputs: [[Int]]) -> [Int] {
        guard order.count == inputs[0].count, ShapeRules.isPermutation(order) else {
            opError(name, "\(order) is not a permutation of the axes of a tensor of shape \(ShapeRules.describe(inputs[0]))")
        }
        return order.map { inputs[0][$0] }
    }

    func forward(_ inputs: [Tensor], shape: [Int]) -> Tensor {
        let x = inputs[0]
        return Tensor(storage: x.storage, shape: shape, strides: order.map { x.strides[$0] }, offset: x.offset)
    }

    var inverse: [Int] {
        var inv = [Int](repeating: 0, count: order.count)
        for (i, o) in order.enumerated() { inv[o] = i }
        return inv
    }

    func vjp(_ inputs: [Tensor], _ output: Tensor, _ grad: Tensor, _ needs: [Bool]) -> [Tensor?] {
        [grad.permuted(inverse)]
    }

    func jvp(_ inputs: [Tensor], _ output: Tensor, _ tangents: [Tensor?]) -> Tensor {
        tangents[0]!.permuted(order)
    }
}

/// Repeats size-1 axes (and adds leading axes) without copying: stride 0.
struct Expand: Primitive {
    let target: [Int]
    var name: String { "expand" }

    func outputShape(_ inputs: [[Int]]) -> [Int] {
        guard ShapeRules.broadcast(inputs[0], target) == target else {
            opError(name, "cannot expand shape \(ShapeRules.describe(inputs[0])) to \(ShapeRules.describe(target))")
        }
        return target
    }

    func forward(_ inputs: [Tensor], shape: [Int]) -> Tensor {
        let x = inputs[0]
        return Tensor(storage: x.storage, shape: shape, strides: x.broadcastStrides(to: shape), offset: x.offset)
    }

    func vjp(_ inputs: [Tensor], _ output: Tensor, _ grad: Tensor, _ needs: [Bool]) -> [Tensor?] {
        [grad.sum(toShape: inputs[0].shape)]
    }

    func jvp(_ inputs: [Tensor], _ output: Tensor, _ tangents: [Tensor?]) -> Tensor {
        tangents[0]!.expanded(to: target)
    }
}

/// Elements `range` along one axis (with a step). A view.
struct Slice: Primitive {
    let axis: Int
    let start: Int
    let count: Int
    let step: Int
    var name: String { "slice" }

    func outputShape(_ inputs: [[Int]]) -> [Int] {
        var shape = inputs[0]
        shape[axis] = count
        return shape
    }

    func forward(_ inputs: [Tensor], shape: [Int]) -> Tensor {
        let x = inputs[0]
        var strides = x.strides
        strides[axis] *= step
        return Tensor(storage: x.storage, shape: shape, strides: strides, offset: x.offset + start * x.strides[axis])
    }

    func vjp(_ inputs: [Tensor], _ output: Tensor, _ grad: Tensor, _ needs: [Bool]) -> [Tensor?] {
        [SliceScatter(slice: self, fullShape: inputs[0].shape)(grad)]
    }

    func jvp(_ inputs: [Tensor], _ output: Tensor, _ tangents: [Tensor?]) -> Tensor {
        self(tangents[0]!)
    }
}

/// The transpose of ``Slice``: zeros of the full shape with the input written
/// where the slice was taken.
struct SliceScatter: Primitive {
    let slice: Slice
    let fullShape: [Int]
    var name: String { "sliceScatter" }

    func outputShape(_ inputs: [[Int]]) -> [Int] { fullShape }

    func forward(_ inputs: [Tensor], shape: [Int]) -> Tensor {
        let out = Tensor.zeros(shape, dtype: inputs[0].dtype)
        inputs[0].copyValues(into: slice.forward([out], shape: inputs[0].shape))
        return out
    }

    func vjp(_ inputs: [Tensor], _ output: Tensor, _ grad: Tensor, _ needs: [Bool]) -> [Tensor?] {
        [slice(grad)]
    }

    func jvp(_ inputs: [Tensor], _ output: Tensor, _ tangents: [Tensor?]) -> Tensor {
        self(tangents[0]!)
    }
}

/// A contiguous copy; the identity for gradients.
struct Contiguous: Primitive {
    var name: String { "contiguous" }
    func outputShape(_ inputs: [[Int]]) -> [Int] { inputs[0] }
    func forward(_ inputs: [Tensor], shape: [Int]) -> Tensor { inputs[0].contiguousCopyDetached() }
    func forward(_ inputs: [Tensor], into output: Tensor) -> Bool {
        inputs[0].copyValues(into: output)
        return true
    }
    func vjp(_ inputs: [Tensor], _ output: Tensor, _ grad: Tensor, _ needs: [Bool]) -> [Tensor?] { [grad] }
    func jvp(_ inputs: [Tensor], _ output: Tensor, _ tangents: [Tensor?]) -> Tensor { tangents[0]! }
}

extension Tensor {
    /// The same elements in a new shape; one size may be -1 (inferred).
    /// A view when the layout allows, a copy otherwise.
    ///
    /// ```swift
    /// Tensor.arange(0, 6).reshaped([2, -1])  // shape [2, 3]
    /// ```
    public func reshaped(_ shape: [Int]) -> Tensor {
        if shape == self.shape || (shape.count == rank && sameShapeInferring(shape)) { return self }
        return Reshape(target: shape)(self)
    }

    /// True when `target`, with its one -1 inferred, is this tensor's shape.
    private func sameShapeInferring(_ target: [Int]) -> Bool {
        var unknown = -1
        for (i, d) in target.enumerated() {
            if d == -1 {
                guard unknown < 0 else { return false }
                unknown = i
            } else if d != shape[i] {
                return false
            }
        }
        return unknown >= 0
    }

    /// The axes in a new order: axis i of the result is axis `order[i]` of this tensor. A view.
    public func permuted(_ order: [Int]) -> Tensor {
        Permute(order: order.map { ShapeRules.axis($0, rank: rank, op: "permute") })(self)
    }

    /// Swaps two axes (the last two by default). A view.
    ///
    /// ```swift
    /// let t = Tensor([[1, 2, 3], [4, 5, 6]]).transposed()  // shape [3, 2]
    /// ```
    public func transposed(_ axis0: Int = -2, _ axis1: Int = -1) -> Tensor {
        guard rank >= 2 else { opError("transpose", "needs rank 2 or more, got shape \(ShapeRules.describe(shape))") }
        let a = ShapeRules.axis(axis0, rank: rank, op: "transpose")
        let b = ShapeRules.axis(axis1, rank: rank, op: "transpose")
        var order = Array(0..<rank)
        order.swapAt(a, b)
        return Permute(order: order)(self)
    }

    /// Broadcasts to `shape` without copying (size-1 axes repeat, new axes lead).
    public func expanded(to shape: [Int]) -> Tensor {
        if shape == self.shape { return self }
        return Expand(target: shape)(self)
    }

    /// Elements `range` (stepping by `step`) along `axis`. A view.
    ///
    /// ```swift
    /// let firstTwoRows = x.sliced(axis: 0, 0..<2)
    /// ```
    public func sliced(axis: Int, _ range: Range<Int>, step: Int = 1) -> Tensor {
        let a = ShapeRules.axis(axis, rank: rank, op: "slice")
        guard range.lowerBound >= 0, range.upperBound <= shape[a], step >= 1 else {
            opError("slice", "range \(range) (step \(step)) is out of bounds for axis \(a) of shape \(ShapeRules.describe(shape))")
        }
        let count = (range.count + step - 1) / step
        return Slice(axis: a, start: range.lowerBound, count: count, step: step)(self)
    }

    /// A contiguous copy, or this tensor when it is already contiguous.
    public func contiguous() -> Tensor {
        isContiguous ? self : Contiguous()(self)
    }

    /// Sums a tensor that was broadcast from `shape` back to `shape`.
    func sum(toShape target: [Int]) -> Tensor {
        if shape == target { return self }
        let lead = rank - target.count
        var axes = Array(0..<lead)
        for i in 0..<target.count where target[i] == 1 && shape[lead + i] != 1 {
            axes.append(lead + i)
        }
        return sum(alongAxes: axes, keepDims: true).reshaped(target)
    }
}
