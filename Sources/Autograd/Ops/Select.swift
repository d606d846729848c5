import CKernels

/// Elementwise choice: `a` where the condition is nonzero, `b` elsewhere, all
/// three broadcast together. The condition is a constant of the op, not an input.
struct Where: Primitive {
    let condition: Tensor
    var name: String { "where" }

    func outputShape(_ inputs: [[Int]]) -> [Int] {
        guard let ab = ShapeRules.broadcast(inputs[0], inputs[1]),
              let shape = ShapeRules.broadcast(condition.shape, ab)
        else {
            opError(name, "condition \(ShapeRules.describe(condition.shape)) and values \(ShapeRules.describe(inputs[0])), \(ShapeRules.describe(inputs[1])) are not broadcastable")
        }
        return shape
    }

    func forward(_ inputs: [Tensor], shape: [Int]) -> Tensor {
        let (a, b) = (inputs[0], inputs[1])
        guard condition.dtype == a.dtype else {
            opError(name, "condition dtype \(condition.dtype) differs from values' \(a.dtype)")
        }
        let out = Tensor(uninitializedShape: shape, dtype: a.dtype)
        withInt64Pointer(shape) { s in
            withInt64Pointer(condition.broadcastStrides(to: shape)) { sc in
                withInt64Pointer(a.broadcastStrides(to: shape)) { sa in
                    withInt64Pointer(b.broadcastStrides(to: shape)) { sb in
                        ag_where(a.dtype.c, Int32(shape.count), s, condition.pointer, sc, a.pointer, sa,
                                 b.pointer, sb, out.pointer)
                    }
                }
            }
        }
        return out
    }

    private func select(_ a: Tensor?, _ b: Tensor?, like: Tensor) -> Tensor {
        let zero = like.scalarLike(0)
        return self(a ?? zero, b ?? zero)
    }

    func vjp(_ inputs: [Tensor], _ output: Tensor, _ grad: Tensor, _ needs: [Bool]) -> [Tensor?] {
        [needs[0] ? select(grad, nil, like: grad) : nil, needs[1] ? select(nil, grad, like: grad) : nil]
    }

    func jvp(_ inputs: [Tensor], _ output: Tensor, _ tangents: [Tensor?]) -> Tensor {
        select(tangents[0], tangents[1], like: output)
    }
}

extension Tensor {
    /// `a` where `condition` is nonzero, `b` elsewhere (broadcasting all three).
    /// Differentiable in `a` and `b`.
    ///
    /// ```swift
    /// let y = Tensor.where(x .> 0, x, x * 0.1)
    /// ```
    public static func `where`(_ condition: Tensor, _ a: Tensor, _ b: Tensor) -> Tensor {
        Where(condition: condition.detach())(a, b)
    }
}
