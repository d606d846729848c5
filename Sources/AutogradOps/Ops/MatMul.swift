import AutogradTensor
import CKernels

/// Matrix product through BLAS with `torch.matmul`'s shape rules: the last two
/// axes of each operand are matrices, the axes before them are batch axes that
/// broadcast; a 1-D first operand is a row vector and a 1-D second operand a
/// column vector, whose axis the output drops.
///
/// Transposed views go to BLAS as transposes, and broadcast batch axes as
/// batch strides of 0, without a copy. The batch axes run as one strided
/// batched GEMM when their strides line up (always for one batch axis), else
/// as a loop of them over the outer batch axes.
package struct MatMul: Primitive {
    package var name: String { "matmul" }

    package init() {}

    package func outputShape(_ inputs: [[Int]]) -> [Int] {
        let (a, b) = (inputs[0], inputs[1])
        let ra = a.count, rb = b.count
        guard ra >= 1, rb >= 1 else {
            opError(name, "shapes \(ShapeRules.describe(a)) and \(ShapeRules.describe(b)) don't multiply (both operands need at least one axis)")
        }
        let k = a[ra - 1], kb = rb == 1 ? b[0] : b[rb - 2]
        guard k == kb else {
            opError(name, "shapes \(ShapeRules.describe(a)) and \(ShapeRules.describe(b)) don't multiply (inner sizes \(k) and \(kb) differ; need [..., m, k] × [..., k, n], a 1-D operand being a vector)")
        }
        let ba = Swift.max(ra - 2, 0), bb = Swift.max(rb - 2, 0), nb = Swift.max(ba, bb)
        var shape: [Int] = []
        shape.reserveCapacity(nb + 2)
        for i in 0..<nb {
            let da = i < nb - ba ? 1 : a[i - (nb - ba)]
            let db = i < nb - bb ? 1 : b[i - (nb - bb)]
            guard da == db || da == 1 || db == 1 else {
                opError(name, "batch axes of \(ShapeRules.describe(a)) and \(ShapeRules.describe(b)) don't broadcast (\(ShapeRules.describe(Array(a.prefix(ba)))) and \(ShapeRules.describe(Array(b.prefix(bb)))))")
            }
            shape.append(da == 1 ? db : da)
        }
        if ra >= 2 { shape.append(a[ra - 2]) }
        if rb >= 2 { shape.append(b[rb - 1]) }
        return shape
    }

    /// An operand as BLAS reads it: its matrices' size (a 1-D operand being
    /// one row when it comes first, one column when second), the transpose
    /// flag and leading dimension, and the tensor whose storage BLAS reads
    /// (the input, or a contiguous copy of it).
    private struct Operand {
        let tensor: Tensor
        let rows: Int
        let cols: Int
        let trans: Bool
        let ld: Int

        /// BLAS reads `x` as it is, maybe transposed, or nil when it needs a copy.
        init?(viewing x: Tensor, first: Bool) {
            let r = x.rank, rows: Int, cols: Int, rs: Int, cs: Int
            if r == 1 {
                // Strides of the one-row or one-column matrix; the other axis has size 1.
                let k = x.shape[0], s = x.strides[0]
                (rows, cols, rs, cs) = first ? (1, k, 0, s) : (k, 1, s, 0)
            } else {
                (rows, cols, rs, cs) = (x.shape[r - 2], x.shape[r - 1], x.strides[r - 2], x.strides[r - 1])
            }
            tensor = x; self.rows = rows; self.cols = cols
            if (cs == 1 || cols == 1) && (rs >= Swift.max(cols, 1) || rows == 1) {
                trans = false; ld = rows == 1 ? Swift.max(cols, 1) : rs
            } else if (rs == 1 || rows == 1) && (cs >= Swift.max(rows, 1) || cols == 1) {
                trans = true; ld = cols == 1 ? Swift.max(rows, 1) : cs
            } else {
                return nil
            }
        }

        /// `x` as it is when BLAS can read it, else a contiguous copy.
        init(_ x: Tensor, first: Bool) {
            if let view = Operand(viewing: x, first: first) {
                self = view
                return
            }
            tensor = x.contiguousValues(); trans = false
            rows = x.rank == 1 ? (first ? 1 : x.shape[0]) : x.shape[x.rank - 2]
            cols = x.rank == 1 ? (first ? x.shape[0] : 1) : x.shape[x.rank - 1]
            ld = Swift.max(cols, 1)
        }

        /// Element stride between matrices along axis `axis` of an output with
        /// `batchRank` batch axes: 0 where this operand broadcasts.
        func batchStride(_ axis: Int, batchRank: Int) -> Int {
            let j = axis - (batchRank - Swift.max(tensor.rank - 2, 0))
            return j < 0 || tensor.shape[j] == 1 ? 0 : tensor.strides[j]
        }
    }

    package func forward(_ inputs: [Tensor], shape: [Int]) -> Tensor {
        let out = Tensor(uninitializedShape: shape, dtype: inputs[0].dtype)
        if forward(inputs, into: out) { return out }
        multiply(Operand(inputs[0], first: true), Operand(inputs[1], first: false), into: out)
        return out
    }

    package func forward(_ inputs: [Tensor], into output: Tensor) -> Bool {
        guard output.isContiguous, let a = Operand(viewing: inputs[0], first: true),
              let b = Operand(viewing: inputs[1], first: false) else { return false }
        multiply(a, b, into: output)
        return true
    }

    /// Writes the product into `out` (contiguous, of the output's shape).
    /// Allocates nothing: the batch loop's bookkeeping lives on the stack.
    private func multiply(_ a: Operand, _ b: Operand, into out: Tensor) {
        let m = a.rows, k = a.cols, n = b.cols
        if out.scalarCount == 0 { return }
        if k == 0 {
            ag_fill(out.dtype.c, out.scalarCount, 0, out.pointer)
            return
        }
        let dtype = out.dtype
        func gemm(_ batch: Int, _ offsetA: Int, _ strideA: Int, _ offsetB: Int, _ strideB: Int, _ offsetC: Int) {
            let es = dtype.byteSize
            ag_gemm_batched(dtype.c, Int64(batch), a.trans ? 1 : 0, b.trans ? 1 : 0,
                            Int64(m), Int64(n), Int64(k), 1,
                            a.tensor.pointer + offsetA * es, Int64(a.ld), Int64(strideA),
                            b.tensor.pointer + offsetB * es, Int64(b.ld), Int64(strideB),
                            0, out.pointer + offsetC * es, Int64(n), Int64(m * n))
        }
        let batchRank = Swift.max(a.tensor.rank, b.tensor.rank, 2) - 2
        if batchRank <= 1 {
            gemm(batchRank == 0 ? 1 : out.shape[0],
                 0, a.batchStride(0, batchRank: batchRank), 0, b.batchStride(0, batchRank: batchRank), 0)
            return
        }

        // The batch axes (the output's first `batchRank`) innermost first,
        // without those of size 1, each merged into the one inside it when
        // all three strides line up; then one batched GEMM over the innermost
        // for each index of the outer ones.
        typealias Axis = (size: Int, a: Int, b: Int, c: Int, index: Int)
        withUnsafeTemporaryAllocation(of: Axis.self, capacity: batchRank) { axes in
            var count = 0
            var strideC = m * n
            for i in stride(from: batchRank - 1, through: 0, by: -1) {
                let size = out.shape[i]
                defer { strideC *= size }
                if size == 1 { continue }
                let sa = a.batchStride(i, batchRank: batchRank), sb = b.batchStride(i, batchRank: batchRank)
                if count > 0, case let inner = axes[count - 1], sa == inner.a * inner.size,
                   sb == inner.b * inner.size, strideC == inner.c * inner.size {
                    axes[count - 1].size *= size
                } else {
                    axes.initializeElement(at: count, to: (size, sa, sb, strideC, 0))
                    count += 1
                }
            }
            guard count > 0 else {
                gemm(1, 0, 0, 0, 0, 0)
                return
            }
            let inner = axes[0]
            var offsetA = 0, offsetB = 0, offsetC = 0
            while true {
                gemm(inner.size, offsetA, inner.a, offsetB, inner.b, offsetC)
                var d = 1
                while d < count {
                    axes[d].index += 1
                    offsetA += axes[d].a; offsetB += axes[d].b; offsetC += axes[d].c
                    if axes[d].index < axes[d].size { break }
                    offsetA -= axes[d].a * axes[d].size
                    offsetB -= axes[d].b * axes[d].size
                    offsetC -= axes[d].c * axes[d].size
                    axes[d].index = 0
                    d += 1
                }
                if d == count { return }
            }
        }
    }

    package func vjp(_ inputs: [Tensor], _ output: Tensor, _ grad: Tensor, _ needs: [Bool]) -> [Tensor?] {
        let (a, b) = (inputs[0], inputs[1])
        if a.rank >= 2 && b.rank >= 2 {
            // Gradients keep the output's batch axes; the engine sums them to each input's.
            return [needs[0] ? matmul(grad, b.transposed()) : nil,
                    needs[1] ? gradientOfMatrix(b, a, grad) : nil]
        }
        // A 1-D operand as a one-row (first) or one-column (second) matrix,
        // and the gradient with the axis the output dropped put back.
        let k = a.shape[a.rank - 1]
        let a2 = a.rank == 1 ? a.reshaped([1, k]) : a
        let b2 = b.rank == 1 ? b.reshaped([k, 1]) : b
        let batchRank = grad.rank - (a.rank >= 2 ? 1 : 0) - (b.rank >= 2 ? 1 : 0)
        let g2 = grad.reshaped(Array(grad.shape.prefix(batchRank))
                               + [a.rank >= 2 ? a.shape[a.rank - 2] : 1, b.rank >= 2 ? b.shape[b.rank - 1] : 1])
        func dropping(_ axis: Int, _ t: Tensor) -> Tensor {
            var shape = t.shape
            shape.remove(at: t.rank + axis)
            return t.reshaped(shape)
        }
        var ga: Tensor?, gb: Tensor?
        if needs[0] {
            let g = matmul(g2, b2.transposed())
            ga = a.rank == 1 ? dropping(-2, g) : g
        }
        if needs[1] {
            let g = gradientOfMatrix(b2, a2, g2)
            gb = b.rank == 1 ? dropping(-1, g) : g
        }
        return [ga, gb]
    }

    /// The gradient of the second operand `b`: aᵀ·grad. When `b` is one
    /// matrix shared by a contiguous batch of `a`, the batch folds into the
    /// inner dimension of one GEMM instead of a batch of products summed.
    private func gradientOfMatrix(_ b: Tensor, _ a: Tensor, _ grad: Tensor) -> Tensor {
        if b.rank == 2 && a.rank > 2 && a.isContiguous && grad.isContiguous {
            let k = a.shape[a.rank - 1], n = grad.shape[grad.rank - 1]
            return matmul(a.reshaped([-1, k]).transposed(), grad.reshaped([-1, n]))
        }
        return matmul(a.transposed(), grad)
    }

    package func jvp(_ inputs: [Tensor], _ output: Tensor, _ tangents: [Tensor?]) -> Tensor {
        bilinearJVP(inputs, output, tangents)
    }
}

/// Matrix product with `torch.matmul`'s rules.
///
/// - Both 2-D: [m, k] × [k, n] → [m, n].
/// - Both 1-D: the dot product, a scalar (shape `[]`).
/// - 1-D first, [k]: taken as [1, k], and the 1 removed from the result;
///   1-D second, [k]: taken as [k, 1], and the 1 removed.
/// - Otherwise the last two axes are matrices and the axes before them are
///   batch axes that broadcast (NumPy rules; a 2-D or 1-D operand is shared by
///   every batch): [2, 1, 3, 4] × [5, 4, 6] → [2, 5, 3, 6], [7, 4] × [2, 4, 5] → [2, 7, 5].
///
/// An operand of rank 0, inner sizes that differ, or batch axes that don't
/// broadcast stop with a message naming `matmul` and both shapes. Broadcast
/// batch axes and transposed matrices are read in place, without copies.
///
/// ```swift
/// let scores = matmul(x, w) + b           // x: [batch, in], w: [in, out]
/// let attn = matmul(q, k.transposed())    // [b, h, t, d] × [b, h, d, t] → [b, h, t, t]
/// let dot = matmul(u, v)                  // [k] × [k] → []
/// ```
public func matmul(_ a: Tensor, _ b: Tensor) -> Tensor { MatMul()(a, b) }
