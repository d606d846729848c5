import AutogradOps
import AutogradTensor

/// The checks a convolution layer makes before its op, naming the layer.
private func checkConvInput(_ layer: String, _ x: Tensor, rank: Int, channels: Int, layout: String) {
    guard x.rank == rank else {
        opError(layer, "expects \(layout), got input \(ShapeRules.describe(x.shape))")
    }
    guard x.shape[1] == channels else {
        opError(layer, "input \(ShapeRules.describe(x.shape)) has \(x.shape[1]) channel\(x.shape[1] == 1 ? "" : "s"), expected \(channels)")
    }
}

/// A convolution's weight [out, in/groups, kernel…] and bias [out], PyTorch's
/// default initialisation: U(−1/√fanIn, 1/√fanIn) for both, fanIn = in/groups · kernel area.
private func convParameters(_ inChannels: Int, _ outChannels: Int, kernel: [Int], groups: Int, bias: Bool,
                            weightInit: Initializer, dtype: DType, layer: String) -> (Tensor, Tensor?) {
    guard inChannels >= 1, outChannels >= 1, groups >= 1,
          inChannels % groups == 0, outChannels % groups == 0 else {
        opError(layer, "groups \(groups) must divide both channel counts \(inChannels) and \(outChannels)")
    }
    guard kernel.allSatisfy({ $0 >= 1 }) else { opError(layer, "kernel size must be at least 1, got \(kernel)") }
    let weight = weightInit.make([outChannels, inChannels / groups] + kernel, dtype: dtype).requiringGrad()
    let fanIn = Double(inChannels / groups * kernel.reduce(1, *))
    let bound = 1 / fanIn.squareRoot()
    let b = bias ? Initializer.uniform(low: -bound, high: bound).make([outChannels], dtype: dtype).requiringGrad() : nil
    return (weight, b)
}

/// A 2-D convolution layer (PyTorch's `nn.Conv2d`): ``conv2d(_:weight:bias:stride:padding:dilation:groups:)``
/// with a learned ``weight`` [out, in/groups, kh, kw] and ``bias`` [out].
///
/// ```swift
/// let conv = Conv2d(3, 64, kernelSize: 11, stride: 4, padding: 2)
/// let y = conv(Tensor.randn([16, 3, 224, 224]))   // [16, 64, 55, 55]
/// ```
public final class Conv2d: Module {
    public let weight: Tensor
    public let bias: Tensor?
    public let stride: IntOrPair, padding: ConvPadding, dilation: IntOrPair
    public let groups: Int

    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: IntOrPair, stride: IntOrPair = 1,
                padding: ConvPadding = 0, dilation: IntOrPair = 1, groups: Int = 1, bias: Bool = true,
                weightInit: Initializer = .lecunUniform, dtype: DType = .float32) {
        (weight, self.bias) = convParameters(inChannels, outChannels, kernel: [kernelSize.first, kernelSize.second],
                                             groups: groups, bias: bias, weightInit: weightInit, dtype: dtype,
                                             layer: "Conv2d")
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.groups = groups
        super.init()
    }

    /// How the layer names itself in messages: `Conv2d(3→64, 11×11, stride 4)`.
    public var summary: String {
        let s = weight.shape
        var parts = ["\(s[1] * groups)→\(s[0])", "\(s[2])×\(s[3])"]
        if stride != 1 { parts.append("stride \(stride)") }
        if padding != 0 { parts.append("padding \(padding)") }
        if dilation != 1 { parts.append("dilation \(dilation)") }
        if groups != 1 { parts.append("groups \(groups)") }
        return "Conv2d(\(parts.joined(separator: ", ")))"
    }

    public override func forward(_ x: Tensor) -> Tensor {
        forward(x, activation: nil)
    }

    /// The layer followed by `activation`, applied with the bias in one pass
    /// over the output where it can be (``Sequential`` does this for a
    /// `Conv2d` followed by an activation layer).
    public func forward(_ x: Tensor, activation: Activation?) -> Tensor {
        forward(x, activation: activation, weight: weight, bias: bias)
    }

    /// The layer followed by `batchNorm` in evaluation mode and then
    /// `activation`, as one convolution: the normalisation is folded into
    /// the weights and bias (w·γ/√(σ²+ε) and (b − μ)·γ/√(σ²+ε) + β per
    /// output channel), so its pass over the output disappears
    /// (``Sequential`` does this for `Conv2d`, `BatchNorm2d`, activation
    /// in evaluation mode). The fold is made of differentiable ops:
    /// gradients reach both layers' parameters as without it.
    public func forward(_ x: Tensor, foldingBatchNorm batchNorm: BatchNormLayer, activation: Activation?) -> Tensor {
        let channels = weight.shape[0]
        guard batchNorm.weight.shape == [channels] else {
            opError(summary, "cannot fold a batch norm of \(batchNorm.weight.shape[0]) channels into \(channels) output channels")
        }
        let scale = batchNorm.weight / sqrt(batchNorm.runningVar + batchNorm.eps)
        let shift = (bias.map { $0 - batchNorm.runningMean } ?? -batchNorm.runningMean) * scale + batchNorm.bias
        return forward(x, activation: activation, weight: weight * scale.reshaped([channels, 1, 1, 1]), bias: shift)
    }

    private func forward(_ x: Tensor, activation: Activation?, weight: Tensor, bias: Tensor?) -> Tensor {
        checkConvInput(summary, x, rank: 4, channels: weight.shape[1] * groups, layout: "[N, C, H, W]")
        let (h, w) = (x.shape[2], x.shape[3])
        let (kh, kw) = (weight.shape[2], weight.shape[3])
        if case .explicit(let p) = padding {
            let eh = dilation.first * (kh - 1) + 1, ew = dilation.second * (kw - 1) + 1
            guard h + 2 * p.first >= eh, w + 2 * p.second >= ew else {
                opError(summary, "input \(ShapeRules.describe(x.shape)) is smaller than the kernel's reach \(eh)×\(ew) (with padding \(padding)); the output would be empty")
            }
        }
        return conv2d(x, weight: weight, bias: bias, stride: stride, padding: padding, dilation: dilation,
                      groups: groups, activation: activation)
    }
}

/// A 1-D convolution layer (PyTorch's `nn.Conv1d`) over [N, C, L].
///
/// ```swift
/// let conv = Conv1d(2, 8, kernelSize: 5, padding: 2)
/// let y = conv(Tensor.randn([4, 2, 100]))   // [4, 8, 100]
/// ```
public final class Conv1d: Module {
    public let weight: Tensor
    public let bias: Tensor?
    public let stride: Int, padding: ConvPadding, dilation: Int, groups: Int

    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: ConvPadding = 0,
                dilation: Int = 1, groups: Int = 1, bias: Bool = true, weightInit: Initializer = .lecunUniform,
                dtype: DType = .float32) {
        (weight, self.bias) = convParameters(inChannels, outChannels, kernel: [kernelSize], groups: groups,
                                             bias: bias, weightInit: weightInit, dtype: dtype, layer: "Conv1d")
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.groups = groups
        super.init()
    }

    public override func forward(_ x: Tensor) -> Tensor {
        let s = weight.shape
        checkConvInput("Conv1d(\(s[1] * groups)→\(s[0]), \(s[2]))", x, rank: 3, channels: s[1] * groups,
                       layout: "[N, C, L]")
        return conv1d(x, weight: weight, bias: bias, stride: stride, padding: padding, dilation: dilation,
                      groups: groups)
    }
}

/// A 2-D transposed convolution layer (PyTorch's `nn.ConvTranspose2d`), with
/// weight [in, out/groups, kh, kw]: the upsampling layer of decoders and GANs.
///
/// ```swift
/// let up = ConvTranspose2d(16, 8, kernelSize: 4, stride: 2, padding: 1)
/// let y = up(Tensor.randn([1, 16, 8, 8]))   // [1, 8, 16, 16]
/// ```
public final class ConvTranspose2d: Module {
    public let weight: Tensor
    public let bias: Tensor?
    public let stride: IntOrPair, padding: IntOrPair, outputPadding: IntOrPair, dilation: IntOrPair
    public let groups: Int

    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: IntOrPair, stride: IntOrPair = 1,
                padding: IntOrPair = 0, outputPadding: IntOrPair = 0, groups: Int = 1, bias: Bool = true,
                dilation: IntOrPair = 1, dtype: DType = .float32) {
        guard inChannels >= 1, outChannels >= 1, groups >= 1, inChannels % groups == 0, outChannels % groups == 0 else {
            opError("ConvTranspose2d", "groups \(groups) must divide both channel counts \(inChannels) and \(outChannels)")
        }
        // PyTorch computes the fan from weight.shape[1] · kernel area, i.e. out/groups · kh · kw.
        let fanIn = Double(outChannels / groups * kernelSize.first * kernelSize.second)
        let bound = 1 / fanIn.squareRoot()
        weight = Initializer.uniform(low: -bound, high: bound)
            .make([inChannels, outChannels / groups, kernelSize.first, kernelSize.second], dtype: dtype).requiringGrad()
        self.bias = bias ? Initializer.uniform(low: -bound, high: bound).make([outChannels], dtype: dtype).requiringGrad() : nil
        self.stride = stride
        self.padding = padding
        self.outputPadding = outputPadding
        self.dilation = dilation
        self.groups = groups
        super.init()
    }

    public override func forward(_ x: Tensor) -> Tensor {
        let s = weight.shape
        checkConvInput("ConvTranspose2d(\(s[0])→\(s[1] * groups), \(s[2])×\(s[3]))", x, rank: 4, channels: s[0],
                       layout: "[N, C, H, W]")
        return convTranspose2d(x, weight: weight, bias: bias, stride: stride, padding: padding,
                               outputPadding: outputPadding, groups: groups, dilation: dilation)
    }
}

/// Max pooling as a layer (PyTorch's `nn.MaxPool2d`).
///
/// ```swift
/// let pool = MaxPool2d(kernelSize: 3, stride: 2)
/// ```
public final class MaxPool2d: Module {
    public let kernelSize: IntOrPair, stride: IntOrPair?, padding: IntOrPair, dilation: IntOrPair
    public let ceilMode: Bool

    public init(kernelSize: IntOrPair, stride: IntOrPair? = nil, padding: IntOrPair = 0, dilation: IntOrPair = 1,
                ceilMode: Bool = false) {
        self.kernelSize = kernelSize
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.ceilMode = ceilMode
        super.init()
    }

    public override func forward(_ x: Tensor) -> Tensor {
        maxPool2d(x, kernelSize: kernelSize, stride: stride, padding: padding, dilation: dilation, ceilMode: ceilMode)
    }
}

/// Average pooling as a layer (PyTorch's `nn.AvgPool2d`).
///
/// ```swift
/// let pool = AvgPool2d(kernelSize: 2)
/// ```
public final class AvgPool2d: Module {
    public let kernelSize: IntOrPair, stride: IntOrPair?, padding: IntOrPair
    public let ceilMode: Bool, countIncludePad: Bool

    public init(kernelSize: IntOrPair, stride: IntOrPair? = nil, padding: IntOrPair = 0, ceilMode: Bool = false,
                countIncludePad: Bool = true) {
        self.kernelSize = kernelSize
        self.stride = stride
        self.padding = padding
        self.ceilMode = ceilMode
        self.countIncludePad = countIncludePad
        super.init()
    }

    public override func forward(_ x: Tensor) -> Tensor {
        avgPool2d(x, kernelSize: kernelSize, stride: stride, padding: padding, ceilMode: ceilMode,
                  countIncludePad: countIncludePad)
    }
}

/// Adaptive average pooling as a layer (PyTorch's `nn.AdaptiveAvgPool2d`).
///
/// ```swift
/// let head = Sequential(AdaptiveAvgPool2d(outputSize: 1), Flatten(), Linear(512, 10))
/// ```
public final class AdaptiveAvgPool2d: Module {
    public let outputSize: IntOrPair

    public init(outputSize: IntOrPair) {
        self.outputSize = outputSize
        super.init()
    }

    public override func forward(_ x: Tensor) -> Tensor { adaptiveAvgPool2d(x, outputSize: outputSize) }
}

/// Adaptive max pooling as a layer (PyTorch's `nn.AdaptiveMaxPool2d`).
public final class AdaptiveMaxPool2d: Module {
    public let outputSize: IntOrPair

    public init(outputSize: IntOrPair) {
        self.outputSize = outputSize
        super.init()
    }

    public override func forward(_ x: Tensor) -> Tensor { adaptiveMaxPool2d(x, outputSize: outputSize) }
}
