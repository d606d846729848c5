import CKernels

/// Softmax (or log-softmax) along one axis, computed row by row with the
/// maximum subtracted first, so large logits don't overflow.
struct Softmax: Primitive {
    let axis: Int
    let log: Bool
    var name: String { log ? "logSoftmax" : "softmax" }

    func outputShape(_ inputs: [[Int]]) -> [Int] { inputs[0] }

    func forward(_ inputs: [Tensor], shape: [Int]) -> Tensor {
        let x = inputs[0]
        // Rows along `axis`: move it last, run the kernel, move it back (a view).
        let order = (0..<x.rank).filter { $0 != axis } + [axis]
        let moved = Permute(order: order)
        let rows = moved.forward([x], shape: order.map { x.shape[$0] }).contiguousValues()
        let out = Tensor(uninitializedShape: rows.shape, dtype: x.dtype)
        let n = x.shape[axis]
        ag_softmax(x.dtype.c, n == 0 ? 0 : x.scalarCount / n, n, rows.pointer, out.pointer, log ? 1 : 0)
        return Permute(order: moved.inverse).forward([out], shape: shape)
    }

    /// softmax: J·v = y ⊙ (v − Σ v⊙y); log-softmax: J·v = v − softmax · Σ v.
    /// Jᵀ and J are applied the same way (y ⊙ (g − Σ g⊙y) for softmax, and
    /// g − softmax · Σ g for log-softmax), so the VJP and JVP share one formula each.
    private func apply(_ y: Tensor, _ v: Tensor, transposed: Bool) -> Tensor {
        if !log {
            return y * (v - (v * y).sum(alongAxes: [axis], keepDims: true))
        }
        let p = Autograd.exp(y)
        return transposed
            ? v - p * v.sum(alongAxes: [axis], keepDims: true)
            : v - (p * v).sum(alongAxes: [axis], keepDims: true)
    }

    func vjp(_ inputs: [Tensor], _ output: Tensor, _ grad: Tensor, _ needs: [Bool]) -> [Tensor?] {
        [apply(output, grad, transposed: true)]
    }

    func jvp(_ inputs: [Tensor], _ output: Tensor, _ tangents: [Tensor?]) -> Tensor {
        apply(output, tangents[0]!, transposed: false)
    }
}

/// The fused softmax cross-entropy: logits [N, C] and integer labels give the
/// mean of −log softmax(logits)[label] over rows, in one kernel pass.
struct SoftmaxCrossEntropy: Primitive {
    let labels: [Int]
    var name: String { "crossEntropy" }

    func outputShape(_ inputs: [[Int]]) -> [Int] {
        let s = inputs[0]
        guard s.count == 2 else {
            opError(name, "logits must be [batch, classes], got shape \(ShapeRules.describe(s))")
        }
        guard labels.count == s[0] else {
            opError(name, "logits shape \(ShapeRules.describe(s)) has \(s[0]) rows but \(labels.count) labels were given")
        }
        if let bad = labels.firstIndex(where: { $0 < 0 || $0 >= s[1] }) {
            opError(name, "label \(labels[bad]) at row \(bad) is out of range 0..<\(s[1])")
        }
        return []
    }

    func forward(_ inputs: [Tensor], shape: [Int]) -> Tensor {
        let x = inputs[0].contiguousValues()
        var loss = 0.0
        withInt64Pointer(labels) { l in
            ag_softmax_xent(x.dtype.c, x.shape[0], x.shape[1], x.pointer, l, &loss, nil, 1)
        }
        return Tensor(loss, dtype: x.dtype)
    }

    func vjp(_ inputs: [Tensor], _ output: Tensor, _ grad: Tensor, _ needs: [Bool]) -> [Tensor?] {
        let rows = Double(Swift.max(labels.count, 1))
        if !GradMode.isEnabled {
            // Not recording: one kernel pass writes (softmax − onehot) · g / rows.
            return [SoftmaxCrossEntropyBackward.gradient(inputs[0], labels: labels, scale: grad.item() / rows)]
        }
        return [SoftmaxCrossEntropyBackward(labels: labels)(inputs[0]) * (grad / rows)]
    }

    func jvp(_ inputs: [Tensor], _ output: Tensor, _ tangents: [Tensor?]) -> Tensor {
        let rows = Double(Swift.max(labels.count, 1))
        return (SoftmaxCrossEntropyBackward(labels: labels)(inputs[0]) * tangents[0]!).sum() / rows
    }
}

/// softmax(logits) − onehot(labels), from the same fused kernel. Its own
/// derivative is the softmax Jacobian (symmetric), for second derivatives.
struct SoftmaxCrossEntropyBackward: Primitive {
    let labels: [Int]
    var name: String { "crossEntropyBackward" }

    func outputShape(_ inputs: [[Int]]) -> [Int] { inputs[0] }

    func forward(_ inputs: [Tensor], shape: [Int]) -> Tensor {
        SoftmaxCrossEntropyBackward.gradient(inputs[0], labels: labels, scale: 1)
    }

    /// scale · (softmax(logits) − onehot(labels)) from the fused kernel, unrecorded.
    static func gradient(_ logits: Tensor, labels: [Int], scale: Double) -> Tensor {
        let x = logits.contiguousValues()
        let out = Tensor(uninitializedShape: x.shape, dtype: x.dtype)
        var loss = 0.0
        withInt64Pointer(labels) { l in
            ag_softmax_xent(x.dtype.c, x.shape[0], x.shape[1], x.pointer, l, &loss, out.pointer, scale)
        }
        return out
    }

    private func softmaxJacobian(_ logits: Tensor, _ v: Tensor) -> Tensor {
        let p = softmax(logits, axis: 1)
        return p * (v - (v * p).sum(alongAxes: [1], keepDims: true))
    }

    func vjp(_ inputs: [Tensor], _ output: Tensor, _ grad: Tensor, _ needs: [Bool]) -> [Tensor?] {
        [softmaxJacobian(inputs[0], grad)]
    }

    func jvp(_ inputs: [Tensor], _ output: Tensor, _ tangents: [Tensor?]) -> Tensor {
        softmaxJacobian(inputs[0], tangents[0]!)
    }
}

/// Softmax along `axis`: exponentials normalised to sum to 1.
///
/// ```swift
/// softmax(Tensor([[1, 2, 3]]), axis: 1)  // [[0.0900, 0.2447, 0.6652]]
/// ```
public func softmax(_ x: Tensor, axis: Int = -1) -> Tensor {
    Softmax(axis: ShapeRules.axis(axis, rank: x.rank, op: "softmax"), log: false)(x)
}

/// Log-softmax along `axis`, computed directly (not as log of softmax) for accuracy.
public func logSoftmax(_ x: Tensor, axis: Int = -1) -> Tensor {
    Softmax(axis: ShapeRules.axis(axis, rank: x.rank, op: "logSoftmax"), log: true)(x)
}
