import AutogradTensor
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
        if axis == x.rank - 1 && x.isContiguous { return forwardAllocating(inputs, shape: shape, dtype: x.dtype) }
        // Rows along `axis`: move it last, run the kernel, move it back (a view).
        let order = (0..<x.rank).filter { $0 != axis } + [axis]
        let moved = Permute(order: order)
        let rows = moved.forward([x], shape: order.map { x.shape[$0] }).contiguousValues()
        let out = Tensor(uninitializedShape: rows.shape, dtype: x.dtype)
        _ = Softmax(axis: x.rank - 1, log: log).forward([rows], into: out)
        return Permute(order: moved.inverse).forward([out], shape: shape)
    }

    /// Along the last axis of a contiguous input only: rows are then the memory's own.
    func forward(_ inputs: [Tensor], into output: Tensor) -> Bool {
        let x = inputs[0]
        guard axis == x.rank - 1, x.isContiguous, output.isContiguous else { return false }
        let n = x.shape[axis]
        ag_softmax(x.dtype.c, n == 0 ? 0 : x.scalarCount / n, n, x.pointer, output.pointer, log ? 1 : 0)
        return true
    }

    /// softmax: J·v = y ⊙ (v − Σ v⊙y); log-softmax: J·v = v − softmax · Σ v.
    /// Jᵀ and J are applied the same way (y ⊙ (g − Σ g⊙y) for softmax, and
    /// g − softmax · Σ g for log-softmax), so the VJP and JVP share one formula each.
    private func apply(_ y: Tensor, _ v: Tensor, transposed: Bool) -> Tensor {
        if !log {
            return y * (v - (v * y).sum(alongAxes: [axis], keepDims: true))
        }
        let p = AutogradOps.exp(y)
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

/// The fused softmax cross-entropy: logits [N, C] and labels [N] (class
/// indices stored as values of the logits' dtype) give the mean of
/// −log softmax(logits)[label] over rows, in one kernel pass. The labels are
/// an input, not an attribute, so a compiled training step takes new labels
/// on every call; they get no gradient.
package struct SoftmaxCrossEntropy: Primitive {
    package var name: String { "crossEntropy" }

    package init() {}

    package func outputShape(_ inputs: [[Int]]) -> [Int] {
        let (s, l) = (inputs[0], inputs[1])
        guard s.count == 2 else {
            opError(name, "logits must be [batch, classes], got shape \(ShapeRules.describe(s))")
        }
        guard l == [s[0]] else {
            opError(name, "logits shape \(ShapeRules.describe(s)) has \(s[0]) rows but labels have shape \(ShapeRules.describe(l))")
        }
        return []
    }

    /// Stops naming the first label that is not a class index of `logits`.
    static func checkLabels(_ logits: Tensor, _ labels: Tensor, op: String) {
        let bad = ag_check_labels(labels.dtype.c, labels.scalarCount, logits.shape[1], labels.pointer)
        if bad >= 0 {
            let value = labels.loadScalar(at: Int(bad))
            let shown = value == value.rounded() && Swift.abs(value) < 1e15 ? String(Int(value)) : String(value)
            opError(op, "label \(shown) at row \(bad) is out of range 0..<\(logits.shape[1])")
        }
    }

    package func forward(_ inputs: [Tensor], shape: [Int]) -> Tensor {
        let out = Tensor(uninitializedShape: [], dtype: inputs[0].dtype)
        _ = forward(inputs, into: out)
        return out
    }

    package func forward(_ inputs: [Tensor], into output: Tensor) -> Bool {
        let x = inputs[0].contiguousValues(), labels = inputs[1].contiguousValues()
        SoftmaxCrossEntropy.checkLabels(x, labels, op: name)
        var loss = 0.0
        ag_softmax_xent(x.dtype.c, x.shape[0], x.shape[1], x.pointer, labels.pointer, &loss, nil, 1)
        output.storeScalar(loss)
        return true
    }

    package func vjp(_ inputs: [Tensor], _ output: Tensor, _ grad: Tensor, _ needs: [Bool]) -> [Tensor?] {
        [SoftmaxCrossEntropyBackward()(inputs[0], inputs[1], grad), nil]
    }

    package func jvp(_ inputs: [Tensor], _ output: Tensor, _ tangents: [Tensor?]) -> Tensor {
        let one = Tensor(1.0, dtype: inputs[0].dtype)
        return (SoftmaxCrossEntropyBackward()(inputs[0], inputs[1], one) * tangents[0]!).sum()
    }
}

/// The gradient of ``SoftmaxCrossEntropy``: (softmax(logits) − onehot(labels)) · g / rows
/// for the scalar output gradient g, from the same fused kernel (g is read
/// when the kernel runs, so a compiled graph can hold it as a value). Its
/// own derivative in the logits is the softmax Jacobian (symmetric), for
/// second derivatives.
struct SoftmaxCrossEntropyBackward: Primitive {
    var name: String { "crossEntropyBackward" }

    func outputShape(_ inputs: [[Int]]) -> [Int] {
        guard inputs[2].isEmpty || inputs[2] == [1] else {
            opError(name, "the output gradient must be a scalar, got shape \(ShapeRules.describe(inputs[2]))")
        }
        return inputs[0]
    }

    func forward(_ inputs: [Tensor], shape: [Int]) -> Tensor {
        let out = Tensor(uninitializedShape: shape, dtype: inputs[0].dtype)
        _ = forward(inputs, into: out)
        return out
    }

    func forward(_ inputs: [Tensor], into output: Tensor) -> Bool {
        let x = inputs[0].contiguousValues(), labels = inputs[1].contiguousValues()
        guard output.isContiguous else { return false }
        SoftmaxCrossEntropy.checkLabels(x, labels, op: name)
        let rows = Double(Swift.max(x.shape[0], 1))
        var loss = 0.0
        ag_softmax_xent(x.dtype.c, x.shape[0], x.shape[1], x.pointer, labels.pointer, &loss, output.pointer,
                        inputs[2].loadScalar() / rows)
        return true
    }

    private func softmaxJacobian(_ logits: Tensor, _ v: Tensor) -> Tensor {
        let p = softmax(logits, axis: 1)
        return p * (v - (v * p).sum(alongAxes: [1], keepDims: true))
    }

    func vjp(_ inputs: [Tensor], _ output: Tensor, _ grad: Tensor, _ needs: [Bool]) -> [Tensor?] {
        let (logits, labels, g) = (inputs[0], inputs[1], inputs[2])
        let rows = Double(Swift.max(logits.shape[0], 1))
        let one = Tensor(1.0, dtype: logits.dtype)
        return [needs[0] ? softmaxJacobian(logits, grad) * (g / rows) : nil, nil,
                needs[2] ? (grad * self(logits, labels, one)).sum().reshaped(g.shape) : nil]
    }

    func jvp(_ inputs: [Tensor], _ output: Tensor, _ tangents: [Tensor?]) -> Tensor {
        let (logits, labels, g) = (inputs[0], inputs[1], inputs[2])
        let rows = Double(Swift.max(logits.shape[0], 1))
        let one = Tensor(1.0, dtype: logits.dtype)
        let terms = [tangents[0].map { softmaxJacobian(logits, $0) * (g / rows) },
                     tangents[2].map { self(logits, labels, one) * $0 }]
        return sumOfTerms(terms, like: output)
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
