import AutogradTensor
import CKernels

/// A size given once for both spatial axes or per axis, as MLX-Swift's
/// `IntOrPair`: `stride: 2` or `stride: [2, 1]` (height, then width).
public struct IntOrPair: Hashable, Sendable, ExpressibleByIntegerLiteral, ExpressibleByArrayLiteral,
    CustomStringConvertible {
    /// The height's value, then the width's.
    public let first: Int, second: Int

    public init(_ value: Int) { (first, second) = (value, value) }
    public init(_ first: Int, _ second: Int) { (self.first, self.second) = (first, second) }
    public init(integerLiteral value: Int) { self.init(value) }
    public init(arrayLiteral elements: Int...) {
        guard elements.count == 2 else {
            opError("IntOrPair", "expects one value or two (height, width), got \(elements)")
        }
        self.init(elements[0], elements[1])
    }

    public var description: String { first == second ? "\(first)" : "(\(first), \(second))" }
}

/// The padding of a convolution, as PyTorch's `padding` argument: a number
/// of zeros on each side (`padding: 1`, or `[1, 2]` for height and width),
/// `.same` (an output as large as the input; stride 1 only; an odd total
/// puts the extra zero at the bottom and right, as PyTorch does), or
/// `.valid` (none).
public enum ConvPadding: Hashable, Sendable, ExpressibleByIntegerLiteral, ExpressibleByArrayLiteral,
    CustomStringConvertible {
    case explicit(IntOrPair)
    case same
    case valid

    public init(integerLiteral value: Int) { self = .explicit(IntOrPair(value)) }
    public init(arrayLiteral elements: Int...) {
        guard elements.count == 2 else {
            opError("ConvPadding", "expects one value or two (height, width), got \(elements)")
        }
        self = .explicit(IntOrPair(elements[0], elements[1]))
    }

    public var description: String {
        switch self {
        case .explicit(let p): "\(p)"
        case .same: "same"
        case .valid: "valid"
        }
    }
}

/// Where a 2-D convolution's kernel goes: strides, dilations, zero padding
/// on each side and groups. Shared by the convolution and its two adjoints,
/// so each one's derivative is built from the other two.
package struct ConvGeometry: Hashable, Sendable {
    package var strideH = 1, strideW = 1
    package var dilationH = 1, dilationW = 1
    package var padTop = 0, padBottom = 0, padLeft = 0, padRight = 0
    package var groups = 1

    /// The output length along one axis, or nil for none.
    static func outputLength(_ input: Int, kernel: Int, stride: Int, dilation: Int, padding: Int) -> Int {
        let span = input + padding - dilation * (kernel - 1) - 1
        return span < 0 ? 0 : span / stride + 1
    }

    func outputSize(height h: Int, width w: Int, kernelHeight r: Int, kernelWidth s: Int) -> (Int, Int) {
        (Self.outputLength(h, kernel: r, stride: strideH, dilation: dilationH, padding: padTop + padBottom),
         Self.outputLength(w, kernel: s, stride: strideW, dilation: dilationW, padding: padLeft + padRight))
    }

    /// The C description of input [n, c, h, w], weight [k, c/groups, r, s], output [n, k, oh, ow].
    func desc(n: Int, c: Int, h: Int, w: Int, k: Int, r: Int, s: Int, oh: Int, ow: Int) -> ag_conv2d_desc {
        ag_conv2d_desc(n: Int64(n), c: Int64(c), h: Int64(h), w: Int64(w), k: Int64(k), r: Int64(r), s: Int64(s),
                       oh: Int64(oh), ow: Int64(ow), stride_h: Int64(strideH), stride_w: Int64(strideW),
                       pad_h: Int64(padTop), pad_w: Int64(padLeft), dil_h: Int64(dilationH),
                       dil_w: Int64(dilationW), groups: Int64(groups))
    }

    var summary: String {
        "stride \(IntOrPair(strideH, strideW)), padding \(padTop == padBottom && padLeft == padRight ? "\(IntOrPair(padTop, padLeft))" : "[\(padTop), \(padBottom), \(padLeft), \(padRight)]"), dilation \(IntOrPair(dilationH, dilationW)), groups \(groups)"
    }

    /// The three kernels: from (x, w) to y, (dy, w) to dx, (x, dy) to dw.
    enum Pass { case forward, backwardData, backwardWeight }

    /// Runs one pass's kernel on contiguous operands into `output`, with a
    /// workspace from the thread's scratch (as the C calls ask: none or a
    /// turned copy of the weights where a direct kernel runs), so repeated
    /// calls allocate nothing.
    static func run(_ pass: Pass, _ d: ag_conv2d_desc, _ a: Tensor, _ b: Tensor, into output: Tensor) {
        var desc = d
        let dt = a.dtype.c
        let elems = switch pass {
        case .forward: ag_conv2d_forward_workspace(dt, &desc, ag_num_threads())
        case .backwardData: ag_conv2d_backward_data_workspace(dt, &desc, ag_num_threads())
        case .backwardWeight: ag_conv2d_backward_weight_workspace(dt, &desc, ag_num_threads())
        }
        ThreadScratch.withBuffer(bytes: Swift.max(elems, 1) * a.dtype.byteSize) { scratch in
            let ws = elems == 0 ? nil : scratch
            switch pass {
            case .forward: ag_conv2d_forward(dt, &desc, a.pointer, b.pointer, output.pointer, ws, elems)
            case .backwardData: ag_conv2d_backward_data(dt, &desc, a.pointer, b.pointer, output.pointer, ws, elems)
            case .backwardWeight: ag_conv2d_backward_weight(dt, &desc, a.pointer, b.pointer, output.pointer, ws, elems)
            }
        }
    }
}

/// Checks a convolution's operands: input [N, C, H, W] and weight [K, C/groups, R, S].
private func checkConvOperands(_ op: String, _ x: [Int], _ w: [Int], _ g: ConvGeometry) {
    guard x.count == 4 else {
        opError(op, "input must be [N, C, H, W], got \(ShapeRules.describe(x))")
    }
    guard w.count == 4 else {
        opError(op, "weight must be [outChannels, inChannels / groups, kernelHeight, kernelWidth], got \(ShapeRules.describe(w))")
    }
    guard g.groups >= 1, x[1] % g.groups == 0, w[0] % g.groups == 0 else {
        opError(op, "groups \(g.groups) must divide the input's \(x[1]) channels and the weight's \(w[0]) output channels")
    }
    guard x[1] == w[1] * g.groups else {
        opError(op, "input \(ShapeRules.describe(x)) has \(x[1]) channel\(x[1] == 1 ? "" : "s"), expected \(w[1] * g.groups) for weight \(ShapeRules.describe(w)) with groups \(g.groups)")
    }
}

/// The 2-D convolution y = conv(x, w): input [N, C, H, W], weight [K, C/groups, R, S].
package struct Conv2dOp: Primitive {
    package let geometry: ConvGeometry
    package var name: String { "conv2d" }

    package func outputShape(_ inputs: [[Int]]) -> [Int] {
        let (x, w) = (inputs[0], inputs[1])
        checkConvOperands(name, x, w, geometry)
        let (oh, ow) = geometry.outputSize(height: x[2], width: x[3], kernelHeight: w[2], kernelWidth: w[3])
        guard oh >= 1, ow >= 1 else {
            opError(name, "input \(ShapeRules.describe(x)) is too small for kernel \(w[2])×\(w[3]) with \(geometry.summary): the output would be \(oh)×\(ow)")
        }
        return [x[0], w[0], oh, ow]
    }

    package func forward(_ inputs: [Tensor], shape: [Int]) -> Tensor {
        forwardAllocating(inputs, shape: shape, dtype: inputs[0].dtype)
    }

    package func forward(_ inputs: [Tensor], into output: Tensor) -> Bool {
        forward(inputs[0], inputs[1], into: output)
    }

    /// The writing path on the two operands (no array of them to build).
    func forward(_ x: Tensor, _ w: Tensor, into output: Tensor) -> Bool {
        guard x.isContiguous, w.isContiguous, output.isContiguous else { return false }
        let s = x.shape, k = w.shape
        let d = geometry.desc(n: s[0], c: s[1], h: s[2], w: s[3], k: k[0], r: k[2], s: k[3],
                              oh: output.shape[2], ow: output.shape[3])
        ConvGeometry.run(.forward, d, x, w, into: output)
        return true
    }

    package func vjp(_ inputs: [Tensor], _ output: Tensor, _ grad: Tensor, _ needs: [Bool]) -> [Tensor?] {
        let (x, w) = (inputs[0], inputs[1])
        return [needs[0] ? Conv2dBackwardData(geometry: geometry, height: x.shape[2], width: x.shape[3])(grad, w) : nil,
                needs[1] ? Conv2dBackwardWeight(geometry: geometry, kernelHeight: w.shape[2], kernelWidth: w.shape[3])(x, grad) : nil]
    }

    package func jvp(_ inputs: [Tensor], _ output: Tensor, _ tangents: [Tensor?]) -> Tensor {
        bilinearJVP(inputs, output, tangents)
    }
}

/// The adjoint of ``Conv2dOp`` in its input, a transposed convolution: from
/// dy [N, K, OH, OW] and the weight [K, C/groups, R, S] to [N, C, H, W],
/// with H and W given (several sizes convolve to the same OH and OW).
package struct Conv2dBackwardData: Primitive {
    package let geometry: ConvGeometry
    package let height: Int, width: Int
    package var name: String { "convTranspose2d" }

    package func outputShape(_ inputs: [[Int]]) -> [Int] {
        let (dy, w) = (inputs[0], inputs[1])
        guard dy.count == 4, w.count == 4, dy[1] == w[0] else {
            opError(name, "input \(ShapeRules.describe(dy)) and weight \(ShapeRules.describe(w)) don't fit: need [N, K, H, W] and [K, C / groups, R, S]")
        }
        let (oh, ow) = geometry.outputSize(height: height, width: width, kernelHeight: w[2], kernelWidth: w[3])
        guard oh == dy[2], ow == dy[3] else {
            opError(name, "an output of \(height)×\(width) convolves to \(oh)×\(ow), not to the input's \(dy[2])×\(dy[3]) (kernel \(w[2])×\(w[3]), \(geometry.summary))")
        }
        return [dy[0], w[1] * geometry.groups, height, width]
    }

    package func forward(_ inputs: [Tensor], shape: [Int]) -> Tensor {
        forwardAllocating(inputs, shape: shape, dtype: inputs[0].dtype)
    }

    package func forward(_ inputs: [Tensor], into output: Tensor) -> Bool {
        let (dy, w) = (inputs[0], inputs[1])
        guard dy.isContiguous, w.isContiguous, output.isContiguous else { return false }
        let s = output.shape, k = w.shape
        let d = geometry.desc(n: s[0], c: s[1], h: s[2], w: s[3], k: k[0], r: k[2], s: k[3],
                              oh: dy.shape[2], ow: dy.shape[3])
        ConvGeometry.run(.backwardData, d, dy, w, into: output)
        return true
    }

    package func vjp(_ inputs: [Tensor], _ output: Tensor, _ grad: Tensor, _ needs: [Bool]) -> [Tensor?] {
        let (dy, w) = (inputs[0], inputs[1])
        return [needs[0] ? Conv2dOp(geometry: geometry)(grad, w) : nil,
                needs[1] ? Conv2dBackwardWeight(geometry: geometry, kernelHeight: w.shape[2], kernelWidth: w.shape[3])(grad, dy) : nil]
    }

    package func jvp(_ inputs: [Tensor], _ output: Tensor, _ tangents: [Tensor?]) -> Tensor {
        bilinearJVP(inputs, output, tangents)
    }
}

/// The adjoint of ``Conv2dOp`` in its weight: from x [N, C, H, W] and
/// dy [N, K, OH, OW] to [K, C/groups, R, S].
package struct Conv2dBackwardWeight: Primitive {
    package let geometry: ConvGeometry
    package let kernelHeight: Int, kernelWidth: Int
    package var name: String { "conv2dWeightGradient" }

    package func outputShape(_ inputs: [[Int]]) -> [Int] {
        let (x, dy) = (inputs[0], inputs[1])
        guard x.count == 4, dy.count == 4, x[0] == dy[0], x[1] % geometry.groups == 0, dy[1] % geometry.groups == 0 else {
            opError(name, "input \(ShapeRules.describe(x)) and output gradient \(ShapeRules.describe(dy)) don't fit (groups \(geometry.groups))")
        }
        let (oh, ow) = geometry.outputSize(height: x[2], width: x[3], kernelHeight: kernelHeight, kernelWidth: kernelWidth)
        guard oh == dy[2], ow == dy[3] else {
            opError(name, "input \(ShapeRules.describe(x)) convolves to \(oh)×\(ow), not to \(dy[2])×\(dy[3]) (kernel \(kernelHeight)×\(kernelWidth), \(geometry.summary))")
        }
        return [dy[1], x[1] / geometry.groups, kernelHeight, kernelWidth]
    }

    package func forward(_ inputs: [Tensor], shape: [Int]) -> Tensor {
        forwardAllocating(inputs, shape: shape, dtype: inputs[0].dtype)
    }

    package func forward(_ inputs: [Tensor], into output: Tensor) -> Bool {
        let (x, dy) = (inputs[0], inputs[1])
        guard x.isContiguous, dy.isContiguous, output.isContiguous else { return false }
        let s = x.shape
        let d = geometry.desc(n: s[0], c: s[1], h: s[2], w: s[3], k: dy.shape[1], r: kernelHeight, s: kernelWidth,
                              oh: dy.shape[2], ow: dy.shape[3])
        ConvGeometry.run(.backwardWeight, d, x, dy, into: output)
        return true
    }

    package func vjp(_ inputs: [Tensor], _ output: Tensor, _ grad: Tensor, _ needs: [Bool]) -> [Tensor?] {
        let (x, dy) = (inputs[0], inputs[1])
        return [needs[0] ? Conv2dBackwardData(geometry: geometry, height: x.shape[2], width: x.shape[3])(dy, grad) : nil,
                needs[1] ? Conv2dOp(geometry: geometry)(x, grad) : nil]
    }

    package func jvp(_ inputs: [Tensor], _ output: Tensor, _ tangents: [Tensor?]) -> Tensor {
        bilinearJVP(inputs, output, tangents)
    }
}

// MARK: - Public functions

/// The geometry of a forward convolution from the public arguments.
private func convGeometry(_ op: String, kernel: (Int, Int), stride: IntOrPair, padding: ConvPadding,
                          dilation: IntOrPair, groups: Int) -> ConvGeometry {
    guard stride.first >= 1, stride.second >= 1 else { opError(op, "stride must be at least 1, got \(stride)") }
    guard dilation.first >= 1, dilation.second >= 1 else { opError(op, "dilation must be at least 1, got \(dilation)") }
    guard groups >= 1 else { opError(op, "groups must be at least 1, got \(groups)") }
    var g = ConvGeometry(strideH: stride.first, strideW: stride.second, dilationH: dilation.first,
                         dilationW: dilation.second, groups: groups)
    switch padding {
    case .valid: break
    case .explicit(let p):
        guard p.first >= 0, p.second >= 0 else { opError(op, "padding must not be negative, got \(p)") }
        (g.padTop, g.padBottom, g.padLeft, g.padRight) = (p.first, p.first, p.second, p.second)
    case .same:
        guard stride == 1 else { opError(op, "padding .same needs stride 1, got stride \(stride)") }
        let th = dilation.first * (kernel.0 - 1), tw = dilation.second * (kernel.1 - 1)
        (g.padTop, g.padBottom, g.padLeft, g.padRight) = (th / 2, th - th / 2, tw / 2, tw - tw / 2)
    }
    return g
}

/// Adds a per-channel bias [C] to [N, C, ...].
private func addingBias(_ y: Tensor, _ bias: Tensor?, _ op: String) -> Tensor {
    guard let bias else { return y }
    guard bias.shape == [y.shape[1]] else {
        opError(op, "bias has shape \(ShapeRules.describe(bias.shape)), expected [\(y.shape[1])] for output \(ShapeRules.describe(y.shape))")
    }
    return y + bias.reshaped([y.shape[1]] + [Int](repeating: 1, count: y.rank - 2))
}

/// 2-D convolution (cross-correlation, as `torch.nn.functional.conv2d`) of
/// `input` [N, C, H, W] with `weight` [K, C/groups, R, S], plus `bias` [K]:
///
///     y[b, o, i, j] = bias[o] + Σ_{c, u, v} input[b, c, i·stride + u·dilation − padding, …] · weight[o, c, u, v]
///
/// over the channels c of output channel o's group, reading zeros in the
/// padding. The output is [N, K, (H + 2·padding − dilation·(R − 1) − 1) / stride + 1, …].
/// `groups` splits the channels into independent convolutions (`groups: C`
/// with K = C is a depthwise convolution). Differentiable in all three
/// operands, to any order: the input's gradient is a transposed convolution
/// and the weight's a convolution of the input with the output's gradient.
///
/// Channels that don't match, groups that don't divide them, or an input
/// too small for the kernel stop with a message naming `conv2d` and the shapes.
///
/// With `activation`, the result is `activation(conv2d(…) + bias)`; the
/// bias and an activation whose derivative can be read off its output
/// (ReLU, leaky ReLU, tanh, sigmoid) are applied in one pass over the
/// convolution's output, other activations (GELU, SiLU, …) as an op after it.
///
/// ```swift
/// let x = Tensor.randn([8, 3, 32, 32])
/// let w = Tensor.randn([16, 3, 3, 3]) * 0.1
/// let y = conv2d(x, weight: w, bias: Tensor.zeros([16]), stride: 1, padding: 1)   // [8, 16, 32, 32]
/// let z = conv2d(y, weight: Tensor.randn([16, 1, 3, 3]), padding: .same, groups: 16)  // depthwise
/// let h = conv2d(x, weight: w, bias: Tensor.zeros([16]), padding: 1, activation: .relu)
/// ```
public func conv2d(_ input: Tensor, weight: Tensor, bias: Tensor? = nil, stride: IntOrPair = 1,
                   padding: ConvPadding = 0, dilation: IntOrPair = 1, groups: Int = 1,
                   activation: Activation? = nil) -> Tensor {
    if let activation, !activation.op.derivativeFromOutput {
        return activation(conv2d(input, weight: weight, bias: bias, stride: stride, padding: padding,
                                 dilation: dilation, groups: groups))
    }
    let kernel = weight.rank == 4 ? (weight.shape[2], weight.shape[3]) : (1, 1)
    let g = convGeometry("conv2d", kernel: kernel, stride: stride, padding: padding, dilation: dilation, groups: groups)
    guard bias != nil || activation != nil else { return Conv2dOp(geometry: g)(input, weight) }
    let op = Conv2dBiasActivation(geometry: g, activation: activation?.op, hasBias: bias != nil)
    return bias.map { op(input, weight, $0) } ?? op(input, weight)
}

/// 1-D convolution (`torch.nn.functional.conv1d`) of `input` [N, C, L] with
/// `weight` [K, C/groups, S], plus `bias` [K]: ``conv2d(_:weight:bias:stride:padding:dilation:groups:)``
/// over a height of 1. `padding` is a number, `.same` or `.valid`.
///
/// ```swift
/// let y = conv1d(Tensor.randn([4, 2, 50]), weight: Tensor.randn([6, 2, 5]), padding: 2)  // [4, 6, 50]
/// ```
public func conv1d(_ input: Tensor, weight: Tensor, bias: Tensor? = nil, stride: Int = 1,
                   padding: ConvPadding = 0, dilation: Int = 1, groups: Int = 1) -> Tensor {
    guard input.rank == 3, weight.rank == 3 else {
        opError("conv1d", "expects input [N, C, L] and weight [outChannels, inChannels / groups, kernel], got \(ShapeRules.describe(input.shape)) and \(ShapeRules.describe(weight.shape))")
    }
    let padding2d: ConvPadding
    switch padding {
    case .explicit(let p):
        guard p.first == p.second else { opError("conv1d", "padding is one number, got \(p)") }
        padding2d = .explicit(IntOrPair(0, p.second))
    case .same, .valid: padding2d = padding
    }
    let x = input.reshaped([input.shape[0], input.shape[1], 1, input.shape[2]])
    let w = weight.reshaped([weight.shape[0], weight.shape[1], 1, weight.shape[2]])
    let y = conv2d(x, weight: w, bias: bias, stride: IntOrPair(1, stride), padding: padding2d,
                   dilation: IntOrPair(1, dilation), groups: groups)
    return y.reshaped([y.shape[0], y.shape[1], y.shape[3]])
}

/// 2-D transposed convolution (`torch.nn.functional.conv_transpose2d`,
/// the gradient of ``conv2d(_:weight:bias:stride:padding:dilation:groups:)``
/// with respect to its input) of `input` [N, C, H, W] with `weight`
/// [C, K/groups, R, S], plus `bias` [K]. The output is [N, K, H', W'] with
/// H' = (H − 1)·stride − 2·padding + dilation·(R − 1) + outputPadding + 1,
/// `outputPadding` (smaller than the stride or the dilation) choosing among
/// the sizes that a strided convolution maps to H.
///
/// ```swift
/// let up = convTranspose2d(Tensor.randn([1, 16, 8, 8]), weight: Tensor.randn([16, 8, 4, 4]),
///                          stride: 2, padding: 1)   // [1, 8, 16, 16]
/// ```
public func convTranspose2d(_ input: Tensor, weight: Tensor, bias: Tensor? = nil, stride: IntOrPair = 1,
                            padding: IntOrPair = 0, outputPadding: IntOrPair = 0, groups: Int = 1,
                            dilation: IntOrPair = 1) -> Tensor {
    let op = "convTranspose2d"
    guard input.rank == 4, weight.rank == 4 else {
        opError(op, "expects input [N, C, H, W] and weight [C, outChannels / groups, R, S], got \(ShapeRules.describe(input.shape)) and \(ShapeRules.describe(weight.shape))")
    }
    guard groups >= 1, input.shape[1] == weight.shape[0], weight.shape[0] % groups == 0 else {
        opError(op, "input \(ShapeRules.describe(input.shape)) has \(input.shape[1]) channels; weight \(ShapeRules.describe(weight.shape)) expects \(weight.shape[0]), divisible by groups \(groups)")
    }
    var g = convGeometry(op, kernel: (weight.shape[2], weight.shape[3]), stride: stride,
                         padding: .explicit(padding), dilation: dilation, groups: groups)
    let outPad = outputPadding
    // The extra rows and columns of outputPadding lie beyond the convolution's
    // reach: as padding, they are taken off the bottom and right.
    g.padBottom -= outPad.first
    g.padRight -= outPad.second
    guard outPad.first >= 0, outPad.second >= 0,
          outPad.first < Swift.max(stride.first, dilation.first), outPad.second < Swift.max(stride.second, dilation.second) else {
        opError(op, "outputPadding \(outPad) must be smaller than the stride \(stride) or the dilation \(dilation)")
    }
    let h = (input.shape[2] - 1) * stride.first - 2 * padding.first + dilation.first * (weight.shape[2] - 1) + outPad.first + 1
    let w = (input.shape[3] - 1) * stride.second - 2 * padding.second + dilation.second * (weight.shape[3] - 1) + outPad.second + 1
    guard h >= 1, w >= 1 else {
        opError(op, "input \(ShapeRules.describe(input.shape)) with kernel \(weight.shape[2])×\(weight.shape[3]), \(g.summary) gives an output of \(h)×\(w)")
    }
    return addingBias(Conv2dBackwardData(geometry: g, height: h, width: w)(input, weight), bias, op)
}

/// The gradient of ``conv2d(_:weight:bias:stride:padding:dilation:groups:)``
/// with respect to its input, for an input of `inputShape` [N, C, H, W]
/// (PyTorch's `torch.nn.grad.conv2d_input`): `outputGradient` [N, K, OH, OW]
/// through the transposed convolution with `weight`. Differentiable.
///
/// ```swift
/// let dx = conv2dInputGradient(inputShape: [8, 3, 32, 32], weight: w, outputGradient: g, padding: 1)
/// ```
public func conv2dInputGradient(inputShape: [Int], weight: Tensor, outputGradient: Tensor, stride: IntOrPair = 1,
                                padding: ConvPadding = 0, dilation: IntOrPair = 1, groups: Int = 1) -> Tensor {
    guard inputShape.count == 4, weight.rank == 4 else {
        opError("conv2dInputGradient", "expects an input shape [N, C, H, W] and weight [K, C / groups, R, S], got \(ShapeRules.describe(inputShape)) and \(ShapeRules.describe(weight.shape))")
    }
    let g = convGeometry("conv2dInputGradient", kernel: (weight.shape[2], weight.shape[3]), stride: stride,
                         padding: padding, dilation: dilation, groups: groups)
    return Conv2dBackwardData(geometry: g, height: inputShape[2], width: inputShape[3])(outputGradient, weight)
}

/// The gradient of ``conv2d(_:weight:bias:stride:padding:dilation:groups:)``
/// with respect to a weight of `weightShape` [K, C/groups, R, S] (PyTorch's
/// `torch.nn.grad.conv2d_weight`): `input` correlated with `outputGradient`.
/// Differentiable.
///
/// ```swift
/// let dw = conv2dWeightGradient(x, weightShape: [16, 3, 3, 3], outputGradient: g, padding: 1)
/// ```
public func conv2dWeightGradient(_ input: Tensor, weightShape: [Int], outputGradient: Tensor, stride: IntOrPair = 1,
                                 padding: ConvPadding = 0, dilation: IntOrPair = 1, groups: Int = 1) -> Tensor {
    guard weightShape.count == 4 else {
        opError("conv2dWeightGradient", "expects a weight shape [K, C / groups, R, S], got \(ShapeRules.describe(weightShape))")
    }
    let g = convGeometry("conv2dWeightGradient", kernel: (weightShape[2], weightShape[3]), stride: stride,
                         padding: padding, dilation: dilation, groups: groups)
    let dw = Conv2dBackwardWeight(geometry: g, kernelHeight: weightShape[2], kernelWidth: weightShape[3])(input, outputGradient)
    guard dw.shape == weightShape else {
        opError("conv2dWeightGradient", "input \(ShapeRules.describe(input.shape)) and output gradient \(ShapeRules.describe(outputGradient.shape)) give a weight of \(ShapeRules.describe(dw.shape)), not \(ShapeRules.describe(weightShape))")
    }
    return dw
}
