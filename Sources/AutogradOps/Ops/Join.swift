import AutogradTensor

/// Joining tensors: concatenation along an axis, and stacking along a new one.

/// Concatenates its inputs along `axis`; all other sizes must match.
struct Concat: Primitive {
    let axis: Int
    var name: String { "concat" }

    func outputShape(_ inputs: [[Int]]) -> [Int] {
        guard let first = inputs.first else { opError(name, "needs at least one tensor") }
        var shape = first
        shape[axis] = 0
        for s in inputs {
            var other = s
            guard other.count == first.count else {
                opError(name, "shapes \(ShapeRules.describe(first)) and \(ShapeRules.describe(s)) have different ranks")
            }
            other[axis] = 0
            guard other == first.enumerated().map({ $0.offset == axis ? 0 : $0.element }) else {
                opError(name, "shapes \(ShapeRules.describe(first)) and \(ShapeRules.describe(s)) differ outside axis \(axis)")
            }
            shape[axis] += s[axis]
        }
        return shape
    }

    /// Where each input starts along `axis`.
    private func offsets(_ shapes: [[Int]]) -> [Int] {
        var starts: [Int] = []
        var position = 0
        for s in shapes {
            starts.append(position)
            position += s[axis]
        }
        return starts
    }

    private func part(_ i: Int, _ shapes: [[Int]]) -> Slice {
        Slice(axis: axis, start: offsets(shapes)[i], count: shapes[i][axis], step: 1)
    }

    func forward(_ inputs: [Tensor], shape: [Int]) -> Tensor {
        let out = Tensor(uninitializedShape: shape, dtype: inputs[0].dtype)
        let shapes = inputs.map { $0.shape }
        for (i, x) in inputs.enumerated() {
            x.copyValues(into: part(i, shapes).forward([out], shape: x.shape))
        }
        return out
    }

    func vjp(_ inputs: [Tensor], _ output: Tensor, _ grad: Tensor, _ needs: [Bool]) -> [Tensor?] {
        let shapes = inputs.map { $0.shape }
        return inputs.indices.map { needs[$0] ? part($0, shapes)(grad) : nil }
    }

    func jvp(_ inputs: [Tensor], _ output: Tensor, _ tangents: [Tensor?]) -> Tensor {
        apply(zip(inputs, tangents).map { x, t in t ?? Tensor.zeros(like: x) })
    }
}

extension Tensor {
    /// Joins tensors along an existing axis.
    ///
    /// ```swift
    /// Tensor.concat([Tensor([1, 2]), Tensor([3])], axis: 0)  // [1, 2, 3]
    /// ```
    public static func concat(_ tensors: [Tensor], axis: Int = 0) -> Tensor {
        guard let first = tensors.first else { opError("concat", "needs at least one tensor") }
        return Concat(axis: ShapeRules.axis(axis, rank: first.rank, op: "concat")).apply(tensors)
    }

    /// Joins same-shaped tensors along a new axis.
    ///
    /// ```swift
    /// Tensor.stack([Tensor([1, 2]), Tensor([3, 4])])  // [[1, 2], [3, 4]]
    /// ```
    public static func stack(_ tensors: [Tensor], axis: Int = 0) -> Tensor {
        guard let first = tensors.first else { opError("stack", "needs at least one tensor") }
        for t in tensors where t.shape != first.shape {
            opError("stack", "shapes \(ShapeRules.describe(first.shape)) and \(ShapeRules.describe(t.shape)) differ")
        }
        let a = ShapeRules.axis(axis, rank: first.rank + 1, op: "stack")
        var shape = first.shape
        shape.insert(1, at: a)
        return concat(tensors.map { $0.reshaped(shape) }, axis: a)
    }
}
