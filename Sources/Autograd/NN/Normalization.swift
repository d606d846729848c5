/// Batch normalization over the batch axis of [N, C] inputs (PyTorch's
/// `BatchNorm1d`): in training mode it normalises with the batch's mean and
/// biased variance and updates running estimates (unbiased variance) with
/// `momentum`; in evaluation mode it uses the running estimates.
///
/// ```swift
/// let bn = BatchNorm1d(64)
/// let y = bn(x)      // x: [batch, 64]
/// ```
public final class BatchNorm1d: Module {
    /// The learned scale (γ) and shift (β), one per feature.
    public let weight: Tensor
    public let bias: Tensor
    /// Running estimates used in evaluation mode (buffers: saved, not trained).
    public let runningMean: Tensor
    public let runningVar: Tensor
    /// Added to the variance before the square root.
    public let eps: Double
    /// Weight of each new batch in the running estimates.
    public let momentum: Double

    /// Normalization of `features` channels.
    public init(_ features: Int, eps: Double = 1e-5, momentum: Double = 0.1, dtype: DType = .float32) {
        weight = Tensor.ones([features], dtype: dtype).requiringGrad()
        bias = Tensor.zeros([features], dtype: dtype).requiringGrad()
        runningMean = Tensor.zeros([features], dtype: dtype)
        runningVar = Tensor.ones([features], dtype: dtype)
        self.eps = eps
        self.momentum = momentum
        super.init()
    }

    public override func forward(_ x: Tensor) -> Tensor {
        guard x.rank == 2, x.shape[1] == weight.shape[0] else {
            opError("BatchNorm1d", "expects [batch, \(weight.shape[0])], got \(ShapeRules.describe(x.shape))")
        }
        let mean: Tensor, variance: Tensor
        if isTraining {
            let n = x.shape[0]
            guard n > 1 else { opError("BatchNorm1d", "needs more than one sample per batch in training mode") }
            mean = x.mean(alongAxes: [0])
            variance = (x - mean).squared().mean(alongAxes: [0])
            noGrad {
                let unbiased = variance * (Double(n) / Double(n - 1))
                runningMean.assign(runningMean * (1 - momentum) + mean * momentum)
                runningVar.assign(runningVar * (1 - momentum) + unbiased * momentum)
            }
        } else {
            mean = runningMean
            variance = runningVar
        }
        return (x - mean) / sqrt(variance + eps) * weight + bias
    }
}

/// Layer normalization over the last axis: each sample is normalised to zero
/// mean and unit variance across its features, then scaled and shifted.
public final class LayerNorm: Module {
    /// The learned scale (γ) and shift (β), one per feature.
    public let weight: Tensor
    public let bias: Tensor
    /// Added to the variance before the square root.
    public let eps: Double

    /// Normalization over the last axis, of size `features`.
    public init(_ features: Int, eps: Double = 1e-5, dtype: DType = .float32) {
        weight = Tensor.ones([features], dtype: dtype).requiringGrad()
        bias = Tensor.zeros([features], dtype: dtype).requiringGrad()
        self.eps = eps
        super.init()
    }

    public override func forward(_ x: Tensor) -> Tensor {
        guard x.shape.last == weight.shape[0] else {
            opError("LayerNorm", "input shape \(ShapeRules.describe(x.shape)) does not end in \(weight.shape[0]) features")
        }
        let axis = x.rank - 1
        let mean = x.mean(alongAxes: [axis], keepDims: true)
        let variance = (x - mean).squared().mean(alongAxes: [axis], keepDims: true)
        return (x - mean) / sqrt(variance + eps) * weight + bias
    }
}
