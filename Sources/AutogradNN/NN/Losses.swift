import AutogradOps
import AutogradTensor

/// Loss functions. Each returns a scalar: the mean over the batch.

/// Mean cross-entropy of `logits` [batch, classes] against integer class
/// `labels`, through one fused kernel (its gradient is (softmax − onehot) / batch).
///
/// With `labelSmoothing` ε > 0 the target is (1 − ε) · onehot + ε / classes,
/// as in PyTorch.
///
/// ```swift
/// let loss = crossEntropy(logits: scores, labels: [2, 0, 1])
/// loss.backward()
/// ```
public func crossEntropy(logits: Tensor, labels: [Int], labelSmoothing: Double = 0) -> Tensor {
    crossEntropy(logits: logits, labels: Tensor(shape: [labels.count], scalars: labels.map(Double.init), dtype: logits.dtype),
                 labelSmoothing: labelSmoothing)
}

/// Mean cross-entropy of `logits` [batch, classes] against `labels` [batch]
/// holding class indices as values (0, 1, 2, …), like PyTorch's integer
/// targets. This is the form a compiled training step takes, its labels
/// being one of its inputs:
///
/// ```swift
/// let step = compile { (x: Tensor, y: Tensor) -> Tensor in
///     optimizer.zeroGrad()
///     let loss = crossEntropy(logits: model(x), labels: y)
///     loss.backward()
///     optimizer.step()
///     return loss
/// }
/// ```
public func crossEntropy(logits: Tensor, labels: Tensor, labelSmoothing: Double = 0) -> Tensor {
    guard labelSmoothing >= 0 && labelSmoothing <= 1 else {
        opError("crossEntropy", "labelSmoothing \(labelSmoothing) is outside [0, 1]")
    }
    let hard = SoftmaxCrossEntropy()(logits, labels.dtype == logits.dtype ? labels : labels.to(logits.dtype))
    guard labelSmoothing > 0 else { return hard }
    // −Σ_c (ε/C) log p_c, averaged over rows: ε times the mean of −log p over classes.
    let uniform = -logSoftmax(logits, axis: 1).mean()
    return hard * (1 - labelSmoothing) + uniform * labelSmoothing
}

/// Negative log-likelihood of integer `labels` under `logProbabilities`
/// [batch, classes] (the output of ``logSoftmax(_:axis:)``).
public func nllLoss(logProbabilities: Tensor, labels: [Int]) -> Tensor {
    guard logProbabilities.rank == 2, logProbabilities.shape[0] == labels.count else {
        opError("nllLoss", "log-probabilities of shape \(ShapeRules.describe(logProbabilities.shape)) need one label per row; got \(labels.count) labels")
    }
    let picked = Tensor.oneHot(labels, classes: logProbabilities.shape[1], dtype: logProbabilities.dtype)
    return -(logProbabilities * picked).sum() / Double(Swift.max(labels.count, 1))
}

/// Mean squared error between `prediction` and `target` (same shape).
///
/// ```swift
/// let loss = mse(model(x), y)
/// ```
public func mse(_ prediction: Tensor, _ target: Tensor) -> Tensor {
    checkSameShape("mse", prediction, target)
    return (prediction - target).squared().mean()
}

/// Mean absolute error between `prediction` and `target` (same shape).
public func l1Loss(_ prediction: Tensor, _ target: Tensor) -> Tensor {
    checkSameShape("l1Loss", prediction, target)
    return abs(prediction - target).mean()
}

/// Binary cross-entropy of `targets` in [0, 1] against `logits` (same
/// shape), computed stably as softplus(x) − x·y.
public func binaryCrossEntropy(logits: Tensor, targets: Tensor) -> Tensor {
    checkSameShape("binaryCrossEntropy", logits, targets)
    return (softplus(logits) - logits * targets).mean()
}

/// The multiclass SVM (hinge) loss: for each row, Σ over wrong classes j of
/// max(0, s_j − s_label + margin), averaged over rows.
///
/// This is the CS231n form, a sum over classes: it equals PyTorch's
/// `MultiMarginLoss(margin:)` times the number of classes (PyTorch divides
/// each row's sum by the class count).
///
/// ```swift
/// let loss = hingeLoss(scores: scores, labels: [0, 2], margin: 1)
/// ```
public func hingeLoss(scores: Tensor, labels: [Int], margin: Double = 1) -> Tensor {
    guard scores.rank == 2, scores.shape[0] == labels.count else {
        opError("hingeLoss", "scores of shape \(ShapeRules.describe(scores.shape)) need one label per row; got \(labels.count) labels")
    }
    let correctMask = Tensor.oneHot(labels, classes: scores.shape[1], dtype: scores.dtype)
    let correct = (scores * correctMask).sum(alongAxes: [1], keepDims: true)
    let margins = relu(scores - correct + margin) * (1 - correctMask)
    return margins.sum() / Double(Swift.max(labels.count, 1))
}

private func checkSameShape(_ op: String, _ a: Tensor, _ b: Tensor) {
    guard a.shape == b.shape else {
        opError(op, "prediction shape \(ShapeRules.describe(a.shape)) and target shape \(ShapeRules.describe(b.shape)) differ")
    }
}
