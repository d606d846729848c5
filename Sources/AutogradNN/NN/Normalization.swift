import AutogradOps
import AutogradTensor

/// Batch normalization over axis 1, the channels (PyTorch's
/// `torch.nn.functional.batch_norm`): each channel of `x` ([N, C], [N, C, L],
/// or any [N, C, ...]) is normalised with a mean and variance per channel,
/// then scaled by `weight` and shifted by `bias` (both [C], optional).
///
/// - `training: true`: the statistics are the batch's, over N and every axis
///   after C (N·L values per channel for [N, C, L]), with the biased variance
///   (divided by that count). When `runningMean` and `runningVar` are given,
///   they are updated in place, outside the graph:
///   `running = (1 - momentum)·running + momentum·batch`, the variance there
///   being the unbiased one (divided by count − 1), as PyTorch does.
/// - `training: false`: the statistics are `runningMean` and `runningVar`,
///   which must then be given.
///
/// `y = (x − mean) / sqrt(var + eps) · weight + bias`. Differentiable in `x`,
/// `weight` and `bias`, through the batch statistics in training mode.
/// Stops with a message naming `batchNorm` and the shapes when `x` has rank
/// below 2, a per-channel tensor is not [C], or a channel holds a single
/// value in training mode. Unlike PyTorch, `momentum` cannot be `nil` (no
/// cumulative average).
///
/// ```swift
/// let y = batchNorm(x, runningMean: mean, runningVar: variance, weight: gamma, bias: beta,
///                   training: true)   // x: [8, 4, 16]; the four others: [4]
/// ```
public func batchNorm(_ x: Tensor, runningMean: Tensor?, runningVar: Tensor?, weight: Tensor?, bias: Tensor?,
                      training: Bool, momentum: Double = 0.1, eps: Double = 1e-5) -> Tensor {
    guard x.rank >= 2 else {
        opError("batchNorm", "expects [N, C, ...], got \(ShapeRules.describe(x.shape))")
    }
    let channels = x.shape[1]
    func check(_ t: Tensor?, _ name: String) {
        if let t, t.rank != 1 || t.shape[0] != channels {
            opError("batchNorm", "\(name) has shape \(ShapeRules.describe(t.shape)), expected [\(channels)] for input \(ShapeRules.describe(x.shape))")
        }
    }
    check(runningMean, "runningMean")
    check(runningVar, "runningVar")
    check(weight, "weight")
    check(bias, "bias")
    // Statistics over every axis but the channels', shaped [C] for [N, C]
    // and [C, 1, ...] to broadcast against [N, C, ...].
    let perChannel = [channels] + [Int](repeating: 1, count: x.rank - 2)
    func broadcastable(_ t: Tensor) -> Tensor { x.rank == 2 ? t : t.reshaped(perChannel) }
    let mean: Tensor, variance: Tensor
    if training {
        let count = x.scalarCount / Swift.max(channels, 1)
        guard count > 1 else {
            opError("batchNorm", "needs more than one value per channel in training mode, got input \(ShapeRules.describe(x.shape))")
        }
        // The fused kernels: statistics in one sweep, normalisation in one more,
        // and a backward pass of two (BatchNormTrain).
        let stats = noGrad { BatchNormStats()(x) }
        if let runningMean, let runningVar {
            noGrad {
                let batchMean = stats.sliced(axis: 0, 0..<1).reshaped([channels])
                let unbiased = stats.sliced(axis: 0, 1..<2).reshaped([channels]) * (Double(count) / Double(count - 1))
                runningMean.assign(runningMean * (1 - momentum) + batchMean * momentum)
                runningVar.assign(runningVar * (1 - momentum) + unbiased * momentum)
            }
        }
        return BatchNormTrain(eps: eps)(x, stats, weight ?? Tensor.ones([channels], dtype: x.dtype),
                                        bias ?? Tensor.zeros([channels], dtype: x.dtype))
    } else {
        guard let runningMean, let runningVar else {
            opError("batchNorm", "evaluation mode (training: false) needs runningMean and runningVar")
        }
        mean = broadcastable(runningMean)
        variance = broadcastable(runningVar)
    }
    var y = (x - mean) / sqrt(variance + eps)
    if let weight { y = y * broadcastable(weight) }
    if let bias { y = y + broadcastable(bias) }
    return y
}

/// What ``BatchNorm1d`` and ``BatchNorm2d`` share (PyTorch's `_BatchNorm`):
/// per-channel scale and shift, running estimates, and the checks that
/// name the layer. In training mode it normalises with the batch's mean and
/// biased variance per channel C and updates the running estimates (with
/// the unbiased variance) by `momentum`; in evaluation mode it uses them.
/// See ``batchNorm(_:runningMean:runningVar:weight:bias:training:momentum:eps:)``.
///
/// Unlike PyTorch, the layers are always affine and always track running
/// statistics (no `affine:` or `trackRunningStats:` options), and
/// `momentum` cannot be `nil`.
public class BatchNormLayer: Module {
    /// The learned scale (γ) and shift (β), one per channel.
    public let weight: Tensor
    public let bias: Tensor
    /// Running estimates used in evaluation mode (buffers: saved, not trained).
    public let runningMean: Tensor
    public let runningVar: Tensor
    /// Training batches seen, a float64 scalar (PyTorch's int64
    /// `num_batches_tracked`, kept so state dicts match in both directions).
    public let numBatchesTracked: Tensor
    /// Added to the variance before the square root.
    public let eps: Double
    /// Weight of each new batch in the running estimates.
    public let momentum: Double
    /// The input ranks the layer takes, and how its messages name it and them.
    private let ranks: Set<Int>
    private let kind: String, layouts: String

    init(_ channels: Int, eps: Double, momentum: Double, dtype: DType, ranks: Set<Int>, kind: String,
         layouts: String) {
        weight = Tensor.ones([channels], dtype: dtype).requiringGrad()
        bias = Tensor.zeros([channels], dtype: dtype).requiringGrad()
        runningMean = Tensor.zeros([channels], dtype: dtype)
        runningVar = Tensor.ones([channels], dtype: dtype)
        numBatchesTracked = Tensor.zeros([], dtype: .float64)
        self.eps = eps
        self.momentum = momentum
        (self.ranks, self.kind, self.layouts) = (ranks, kind, layouts)
        super.init()
    }

    public override func forward(_ x: Tensor) -> Tensor {
        let channels = weight.shape[0]
        let layer = "\(kind)(\(channels))"
        guard ranks.contains(x.rank) else {
            opError(layer, "expects \(layouts.replacing("C", with: String(channels))), got \(ShapeRules.describe(x.shape))")
        }
        guard x.shape[1] == channels else {
            opError(layer, "input \(ShapeRules.describe(x.shape)) has \(x.shape[1]) channels, expected \(channels)")
        }
        if isTraining && x.scalarCount / Swift.max(channels, 1) <= 1 {
            opError(layer, "needs more than one value per channel in training mode, got input \(ShapeRules.describe(x.shape))")
        }
        if isTraining { noGrad { numBatchesTracked.assign(numBatchesTracked + 1) } }
        return batchNorm(x, runningMean: runningMean, runningVar: runningVar, weight: weight, bias: bias,
                         training: isTraining, momentum: momentum, eps: eps)
    }
}

/// Batch normalization of [N, C] or [N, C, L] inputs (PyTorch's
/// `BatchNorm1d`): statistics per channel over N (and L). See ``BatchNormLayer``.
///
/// ```swift
/// let bn = BatchNorm1d(64)
/// let y = bn(x)      // x: [batch, 64] or [batch, 64, length]
/// ```
public final class BatchNorm1d: BatchNormLayer {
    /// Normalization of `features` channels.
    public init(_ features: Int, eps: Double = 1e-5, momentum: Double = 0.1, dtype: DType = .float32) {
        super.init(features, eps: eps, momentum: momentum, dtype: dtype, ranks: [2, 3], kind: "BatchNorm1d",
                   layouts: "[N, C] or [N, C, L]")
    }
}

/// Batch normalization of [N, C, H, W] inputs (PyTorch's `BatchNorm2d`):
/// statistics per channel over N, H and W. See ``BatchNormLayer``.
///
/// ```swift
/// let bn = BatchNorm2d(64)
/// let y = bn(x)      // x: [batch, 64, height, width]
/// ```
public final class BatchNorm2d: BatchNormLayer {
    /// Normalization of `channels` channels.
    public init(_ channels: Int, eps: Double = 1e-5, momentum: Double = 0.1, dtype: DType = .float32) {
        super.init(channels, eps: eps, momentum: momentum, dtype: dtype, ranks: [4], kind: "BatchNorm2d",
                   layouts: "[N, C, H, W]")
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
