import AutogradTensor
import CKernels

/// Rows of a 2-D tensor picked by index: out[j] = x[rows[j]]. Embeddings
/// and mini-batches use it; its VJP adds each gradient row back into the
/// row it came from.
struct IndexSelect: Primitive {
    let rows: [Int]
    var name: String { "indexSelect" }

    func outputShape(_ inputs: [[Int]]) -> [Int] {
        let s = inputs[0]
        guard s.count == 2 else { opError(name, "needs a 2-D tensor, got shape \(ShapeRules.describe(s))") }
        if let bad = rows.firstIndex(where: { $0 < 0 || $0 >= s[0] }) {
            opError(name, "index \(rows[bad]) at position \(bad) is out of range 0..<\(s[0])")
        }
        return [rows.count, s[1]]
    }

    func forward(_ inputs: [Tensor], shape: [Int]) -> Tensor {
        let x = inputs[0].contiguousValues()
        let out = Tensor(uninitializedShape: shape, dtype: x.dtype)
        withInt64Pointer(rows) { idx in
            ag_index_select_rows(x.dtype.c, rows.count, shape[1], x.pointer, idx, out.pointer)
        }
        return out
    }

    func vjp(_ inputs: [Tensor], _ output: Tensor, _ grad: Tensor, _ needs: [Bool]) -> [Tensor?] {
        [IndexAdd(rows: rows, count: inputs[0].shape[0])(grad)]
    }

    func jvp(_ inputs: [Tensor], _ output: Tensor, _ tangents: [Tensor?]) -> Tensor {
        self(tangents[0]!)
    }
}

/// The transpose of ``IndexSelect``: zeros of [count, dim] with row j of the
/// input added into row rows[j].
struct IndexAdd: Primitive {
    let rows: [Int]
    let count: Int
    var name: String { "indexAdd" }

    func outputShape(_ inputs: [[Int]]) -> [Int] {
        let s = inputs[0]
        guard s.count == 2, s[0] == rows.count else {
            opError(name, "needs [\(rows.count), dim], got shape \(ShapeRules.describe(s))")
        }
        return [count, s[1]]
    }

    func forward(_ inputs: [Tensor], shape: [Int]) -> Tensor {
        let g = inputs[0].contiguousValues()
        let out = Tensor.zeros(shape, dtype: g.dtype)
        withInt64Pointer(rows) { idx in
            ag_index_add_rows(g.dtype.c, rows.count, shape[1], g.pointer, idx, out.pointer)
        }
        return out
    }

    func vjp(_ inputs: [Tensor], _ output: Tensor, _ grad: Tensor, _ needs: [Bool]) -> [Tensor?] {
        [IndexSelect(rows: rows)(grad)]
    }

    func jvp(_ inputs: [Tensor], _ output: Tensor, _ tangents: [Tensor?]) -> Tensor {
        self(tangents[0]!)
    }
}

extension Tensor {
    /// Rows of this 2-D tensor at `indices` (repeats allowed), as a new
    /// [indices.count, columns] tensor. Differentiable.
    ///
    /// ```swift
    /// let batch = features.rows([4, 0, 7])
    /// ```
    public func rows(_ indices: [Int]) -> Tensor {
        IndexSelect(rows: indices)(self)
    }

    /// A [labels.count, classes] tensor with a 1 at each row's label.
    ///
    /// ```swift
    /// Tensor.oneHot([2, 0], classes: 3)  // [[0, 0, 1], [1, 0, 0]]
    /// ```
    public static func oneHot(_ labels: [Int], classes: Int, dtype: DType = .float32) -> Tensor {
        var values = [Double](repeating: 0, count: labels.count * classes)
        for (i, label) in labels.enumerated() {
            guard label >= 0 && label < classes else {
                opError("oneHot", "label \(label) at row \(i) is out of range 0..<\(classes)")
            }
            values[i * classes + label] = 1
        }
        return Tensor(shape: [labels.count, classes], scalars: values, dtype: dtype)
    }
}
