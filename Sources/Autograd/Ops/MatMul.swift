import CKernels

/// Matrix product through BLAS: [m, k] × [k, n], batched as [b, m, k] × [b, k, n]
/// (a 2-D operand, or a batch of 1, broadcasts over the batch). Transposed
/// views go to BLAS as transposes, without a copy.
struct MatMul: Primitive {
    var name: String { "matmul" }

    func outputShape(_ inputs: [[Int]]) -> [Int] {
        let (a, b) = (inputs[0], inputs[1])
        guard (2...3).contains(a.count), (2...3).contains(b.count), a[a.count - 1] == b[b.count - 2] else {
            opError(name, "shapes \(ShapeRules.describe(a)) and \(ShapeRules.describe(b)) don't multiply (need [m, k] × [k, n], optionally with a leading batch axis)")
        }
        let m = a[a.count - 2], n = b[b.count - 1]
        if a.count == 2 && b.count == 2 { return [m, n] }
        let ba = a.count == 3 ? a[0] : 1, bb = b.count == 3 ? b[0] : 1
        guard ba == bb || ba == 1 || bb == 1 else {
            opError(name, "batch sizes of \(ShapeRules.describe(a)) and \(ShapeRules.describe(b)) differ")
        }
        return [Swift.max(ba, bb), m, n]
    }

    /// How BLAS reads one operand: transpose flag, leading dimension, batch stride.
    private struct Operand {
        let tensor: Tensor
        let trans: Bool
        let ld: Int
        let batchStride: Int

        /// BLAS reads `x` as it is (maybe transposed), or nil when it needs a copy.
        init?(viewing x: Tensor) {
            let r = x.rank, rows = x.shape[r - 2], cols = x.shape[r - 1]
            let rs = x.strides[r - 2], cs = x.strides[r - 1]
            let batchStride = r == 3 && x.shape[0] > 1 ? x.strides[0] : 0
            if (cs == 1 || cols == 1) && (rs >= Swift.max(cols, 1) || rows == 1) {
                tensor = x; trans = false; ld = rows == 1 ? Swift.max(cols, 1) : rs
                self.batchStride = batchStride
            } else if (rs == 1 || rows == 1) && (cs >= Swift.max(rows, 1) || cols == 1) {
                tensor = x; trans = true; ld = cols == 1 ? Swift.max(rows, 1) : cs
                self.batchStride = batchStride
            } else {
                return nil
            }
        }

        init(_ x: Tensor) {
            if let view = Operand(viewing: x) {
                self = view
                return
            }
            let r = x.rank, rows = x.shape[r - 2], cols = x.shape[r - 1]
            tensor = x.contiguousValues(); trans = false; ld = Swift.max(cols, 1)
            batchStride = r == 3 && x.shape[0] > 1 ? rows * cols : 0
        }
    }

    func forward(_ inputs: [Tensor], shape: [Int]) -> Tensor {
        let out = Tensor(uninitializedShape: shape, dtype: inputs[0].dtype)
        multiply(Operand(inputs[0]), Operand(inputs[1]), inputs, into: out)
        return out
    }

    func forward(_ inputs: [Tensor], into output: Tensor) -> Bool {
        guard output.isContiguous, let a = Operand(viewing: inputs[0]), let b = Operand(viewing: inputs[1]) else {
            return false
        }
        multiply(a, b, inputs, into: output)
        return true
    }

    private func multiply(_ a: Operand, _ b: Operand, _ inputs: [Tensor], into out: Tensor) {
        let shape = out.shape
        let ash = inputs[0].shape, bsh = inputs[1].shape
        let m = ash[ash.count - 2], k = ash[ash.count - 1], n = bsh[bsh.count - 1]
        if k == 0 {
            ag_fill(out.dtype.c, out.scalarCount, 0, out.pointer)
            return
        }
        let batch = shape.count == 3 ? shape[0] : 1
        ag_gemm_batched(out.dtype.c, Int64(batch), a.trans ? 1 : 0, b.trans ? 1 : 0,
                        Int64(m), Int64(n), Int64(k), 1,
                        a.tensor.pointer, Int64(a.ld), Int64(a.batchStride),
                        b.tensor.pointer, Int64(b.ld), Int64(b.batchStride),
                        0, out.pointer, Int64(n), Int64(m * n))
    }

    func vjp(_ inputs: [Tensor], _ output: Tensor, _ grad: Tensor, _ needs: [Bool]) -> [Tensor?] {
        let (a, b) = (inputs[0], inputs[1])
        return [needs[0] ? matmul(grad, b.transposed()) : nil,
                needs[1] ? matmul(a.transposed(), grad) : nil]
    }

    func jvp(_ inputs: [Tensor], _ output: Tensor, _ tangents: [Tensor?]) -> Tensor {
        let (a, b) = (inputs[0], inputs[1])
        return sumOfTerms([tangents[0].map { matmul($0, b) }, tangents[1].map { matmul(a, $0) }], like: output)
    }
}

/// Matrix product: [m, k] × [k, n] → [m, n], or batched [b, m, k] × [b, k, n] → [b, m, n]
/// (a 2-D operand is shared across the batch).
///
/// ```swift
/// let scores = matmul(x, w) + b   // x: [batch, in], w: [in, out]
/// ```
public func matmul(_ a: Tensor, _ b: Tensor) -> Tensor { MatMul()(a, b) }
