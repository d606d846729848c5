import AutogradTensor
import CKernels

/// Converts between float32 and float64; gradients convert back.
struct Cast: Primitive {
    let dtype: DType
    var name: String { "to(\(dtype))" }

    func outputShape(_ inputs: [[Int]]) -> [Int] { inputs[0] }

    func forward(_ inputs: [Tensor], shape: [Int]) -> Tensor {
        forwardAllocating(inputs, shape: shape, dtype: dtype)
    }

    func forward(_ inputs: [Tensor], into output: Tensor) -> Bool {
        let x = inputs[0]
        guard x.isContiguous, output.isContiguous else { return false }
        ag_cast(x.dtype.c, dtype.c, x.scalarCount, x.pointer, output.pointer)
        return true
    }

    func vjp(_ inputs: [Tensor], _ output: Tensor, _ grad: Tensor, _ needs: [Bool]) -> [Tensor?] {
        [grad.to(inputs[0].dtype)]
    }

    func jvp(_ inputs: [Tensor], _ output: Tensor, _ tangents: [Tensor?]) -> Tensor {
        tangents[0]!.to(dtype)
    }
}

extension Tensor {
    /// This tensor in another dtype (itself when it already has it).
    ///
    /// ```swift
    /// let x64 = x.to(.float64)
    /// ```
    public func to(_ dtype: DType) -> Tensor {
        dtype == self.dtype ? self : Cast(dtype: dtype)(self)
    }
}
