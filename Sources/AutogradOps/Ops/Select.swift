import AutogradTensor
import CKernels

/// Elementwise choice: `a` where the condition is nonzero, `b` elsewhere, all
/// three broadcast together. Inputs: condition, a, b; the condition gets no gradient.
struct Where: Primitive {
    var name: String { "where" }

    func outputShape(_ inputs: [[Int]]) -> [Int] {
        guard let ab = ShapeRules.broadcast(inputs[1], inputs[2]),
              let shape = ShapeRules.broadcast(inputs[0], ab)
        else {
            opError(name, "condition \(ShapeRules.describe(inputs[0])) and values \(ShapeRules.describe(inputs[1])), \(ShapeRules.describe(inputs[2])) are not broadcastable")
        }
        return shape
    }

    func forward(_ inputs: [Tensor], shape: [Int]) -> Tensor {
        let (condition, a, b) = (inputs[0], inputs[1], inputs[2])
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

    private func select(_ condition: Tensor, _ a: Tensor?, _ b: Tensor?, like: Tensor) -> Tensor {
        let zero = like.scalarLike(0)
        return self(condition, a ?? zero, b ?? zero)
    }

    func vjp(_ inputs: [Tensor], _ output: Tensor, _ grad: Tensor, _ needs: [Bool]) -> [Tensor?] {
        [nil, needs[1] ? select(inputs[0], grad, nil, like: grad) : nil,
         needs[2] ? select(inputs[0], nil, grad, like: grad) : nil]
    }

    func jvp(_ inputs: [Tensor], _ output: Tensor, _ tangents: [Tensor?]) -> Tensor {
        select(inputs[0], tangents[1], tangents[2], like: output)
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
        Where()(condition.detach(), a, b)
    }
}
