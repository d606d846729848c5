import AutogradOps
import AutogradTensor

/// A convolutional network as `autograd train --model` spells it, for
/// images [C, H, W]:
///
/// - `lenet5`: ``LeNet5`` (two 5×5 convolutions of 6 and 16 channels with
///   ReLU and 2×2 max pooling, then 120, 84 and the classes).
/// - `alexnet`: ``AlexNet`` in torchvision's layout (five convolutions,
///   three 3×3 max pools of stride 2, an adaptive average pool to 6×6,
///   then 4096, 4096 and the classes with dropout 0.5); needs images of at
///   least 63×63.
/// - `cnn:C1,C2,…`: a VGG-style stack: each Cᵢ is a 3×3 convolution
///   (padding 1, no bias) with batch norm and ReLU, a 2×2 max pool after
///   every second one; then a 128-wide hidden layer with ReLU and dropout
///   0.3, and the classes. `cnn:32,32,64,64` is the 4-convolution
///   network of the Fashion-MNIST recipe.
///
/// The layer plan gives the parameters' names and shapes before anything
/// is allocated, so a checkpoint's claims can be checked against its tensors.
///
/// ```swift
/// let spec = ConvNetSpec("cnn:32,32,64,64")!
/// let model = spec.build(input: [1, 28, 28], classes: 10)!
/// ```
public enum ConvNetSpec: Sendable, Hashable, CustomStringConvertible {
    case lenet5
    case alexnet
    case cnn([Int])

    /// Parses `lenet5`, `alexnet` or `cnn:C1,C2,…` (at least one channel count, all positive).
    public init?(_ text: String) {
        if text == "lenet5" || text == "alexnet" {
            self = text == "lenet5" ? .lenet5 : .alexnet
            return
        }
        guard text.hasPrefix("cnn:") else { return nil }
        var channels: [Int] = []
        for field in text.dropFirst(4).split(separator: ",", omittingEmptySubsequences: false) {
            guard let c = Int(field), c > 0, c <= 1 << 16 else { return nil }
            channels.append(c)
        }
        guard !channels.isEmpty else { return nil }
        self = .cnn(channels)
    }

    public var description: String {
        switch self {
        case .lenet5: "lenet5"
        case .alexnet: "alexnet"
        case .cnn(let channels): "cnn:" + channels.map(String.init).joined(separator: ",")
        }
    }

    /// One layer of the plan.
    enum Layer {
        case conv(inputs: Int, outputs: Int, kernel: Int, stride: Int, padding: Int, bias: Bool)
        case batchNorm(Int)
        case relu
        case maxPool(kernel: Int, stride: Int)
        case adaptiveAvgPool(Int)
        case linear(inputs: Int, outputs: Int)
        case dropout(Double)

        static func conv(_ inputs: Int, _ outputs: Int, kernel: Int, stride: Int = 1, padding: Int = 0,
                         bias: Bool = true) -> Layer {
            .conv(inputs: inputs, outputs: outputs, kernel: kernel, stride: stride, padding: padding, bias: bias)
        }

        /// The image [C, H, W] after this layer, or nil when it is too small for it.
        func output(_ chw: (c: Int, h: Int, w: Int)) -> (c: Int, h: Int, w: Int)? {
            func length(_ n: Int, _ kernel: Int, _ stride: Int, _ padding: Int) -> Int? {
                let span = n + 2 * padding - kernel
                return span < 0 ? nil : span / stride + 1
            }
            switch self {
            case let .conv(_, outputs, kernel, stride, padding, _):
                guard let h = length(chw.h, kernel, stride, padding), let w = length(chw.w, kernel, stride, padding)
                else { return nil }
                return (outputs, h, w)
            case let .maxPool(kernel, stride):
                guard let h = length(chw.h, kernel, stride, 0), let w = length(chw.w, kernel, stride, 0) else { return nil }
                return (chw.c, h, w)
            case .adaptiveAvgPool(let size): return (chw.c, size, size)
            default: return chw
            }
        }
    }

    /// The layers of `features` (on [C, H, W]) and of `classifier` (on the
    /// flattened features), or nil when the image is too small for them.
    func plan(input: [Int], classes: Int, dropout: Double = 0.5) -> (features: [Layer], classifier: [Layer])? {
        guard input.count == 3, input.allSatisfy({ $0 > 0 }), classes >= 1 else { return nil }
        let c = input[0]
        var features: [Layer] = []
        let head: (Int) -> [Layer]
        switch self {
        case .lenet5:
            features = [.conv(c, 6, kernel: 5, padding: 2), .relu, .maxPool(kernel: 2, stride: 2),
                        .conv(6, 16, kernel: 5), .relu, .maxPool(kernel: 2, stride: 2)]
            head = { [.linear(inputs: $0, outputs: 120), .relu, .linear(inputs: 120, outputs: 84), .relu,
                      .linear(inputs: 84, outputs: classes)] }
        case .alexnet:
            let pool = Layer.maxPool(kernel: 3, stride: 2)
            features = [.conv(c, 64, kernel: 11, stride: 4, padding: 2), .relu, pool,
                        .conv(64, 192, kernel: 5, padding: 2), .relu, pool,
                        .conv(192, 384, kernel: 3, padding: 1), .relu,
                        .conv(384, 256, kernel: 3, padding: 1), .relu,
                        .conv(256, 256, kernel: 3, padding: 1), .relu, pool, .adaptiveAvgPool(6)]
            head = { [.dropout(dropout), .linear(inputs: $0, outputs: 4096), .relu,
                      .dropout(dropout), .linear(inputs: 4096, outputs: 4096), .relu,
                      .linear(inputs: 4096, outputs: classes)] }
        case .cnn(let channels):
            var (h, w) = (input[1], input[2])
            var inputs = c
            for (i, out) in channels.enumerated() {
                features += [.conv(inputs, out, kernel: 3, padding: 1, bias: false), .batchNorm(out), .relu]
                inputs = out
                if i % 2 == 1 || i == channels.count - 1, h >= 2, w >= 2 {
                    features.append(.maxPool(kernel: 2, stride: 2))
                    (h, w) = (h / 2, w / 2)
                }
            }
            head = { [.linear(inputs: $0, outputs: 128), .relu, .dropout(0.3), .linear(inputs: 128, outputs: classes)] }
        }
        var chw = (c: c, h: input[1], w: input[2])
        for layer in features {
            guard let next = layer.output(chw), next.h >= 1, next.w >= 1 else { return nil }
            chw = next
        }
        // The product of three sizes from a spec the user (or a file) gave: checked.
        let (hw, o1) = chw.h.multipliedReportingOverflow(by: chw.w)
        let (flat, o2) = chw.c.multipliedReportingOverflow(by: hw)
        guard !o1, !o2 else { return nil }
        return (features, head(flat))
    }

    /// The names and shapes of the parameters of the network this spec
    /// builds for images `input` ([C, H, W]) and `classes`, or nil when the
    /// image is too small. Nothing is allocated.
    public func parameterShapes(input: [Int], classes: Int) -> [(name: String, shape: [Int])]? {
        guard let (features, classifier) = plan(input: input, classes: classes) else { return nil }
        var shapes: [(name: String, shape: [Int])] = []
        for (part, layers) in [("features", features), ("classifier", classifier)] {
            for (i, layer) in layers.enumerated() {
                let prefix = "\(part).\(i)"
                switch layer {
                case let .conv(inputs, outputs, kernel, _, _, bias):
                    shapes.append((prefix + ".weight", [outputs, inputs, kernel, kernel]))
                    if bias { shapes.append((prefix + ".bias", [outputs])) }
                case .batchNorm(let channels):
                    shapes.append((prefix + ".weight", [channels]))
                    shapes.append((prefix + ".bias", [channels]))
                case let .linear(inputs, outputs):
                    shapes.append((prefix + ".weight", [outputs, inputs]))
                    shapes.append((prefix + ".bias", [outputs]))
                case .relu, .maxPool, .adaptiveAvgPool, .dropout:
                    break
                }
            }
        }
        return shapes
    }

    /// The values every layer outputs for one image (what training keeps
    /// for the backward pass, roughly), or nil when the image is too small.
    public func activationCount(input: [Int], classes: Int) -> Double? {
        guard let (features, classifier) = plan(input: input, classes: classes) else { return nil }
        var chw = (c: input[0], h: input[1], w: input[2])
        var total = Double(chw.c) * Double(chw.h) * Double(chw.w)
        for layer in features {
            chw = layer.output(chw)!   // the plan checked every size
            total += Double(chw.c) * Double(chw.h) * Double(chw.w)
        }
        for case let .linear(_, outputs) in classifier { total += 2 * Double(outputs) }
        return total
    }

    /// The network for images `input` ([C, H, W]) and `classes`, with fresh
    /// parameters, or nil when the image is too small for it.
    public func build(input: [Int], classes: Int, dtype: DType = .float32) -> ConvNet? {
        build(input: input, classes: classes, dropout: 0.5, dtype: dtype)
    }

    /// The same with AlexNet's dropout probability given.
    func build(input: [Int], classes: Int, dropout: Double, dtype: DType) -> ConvNet? {
        guard let (features, classifier) = plan(input: input, classes: classes, dropout: dropout) else { return nil }
        func module(_ layer: Layer) -> Module {
            switch layer {
            case let .conv(inputs, outputs, kernel, stride, padding, bias):
                Conv2d(inputs, outputs, kernelSize: IntOrPair(kernel), stride: IntOrPair(stride),
                       padding: .explicit(IntOrPair(padding)), bias: bias, dtype: dtype)
            case .batchNorm(let channels): BatchNorm2d(channels, dtype: dtype)
            case .relu: ReLU()
            case let .maxPool(kernel, stride): MaxPool2d(kernelSize: IntOrPair(kernel), stride: IntOrPair(stride))
            case .adaptiveAvgPool(let size): AdaptiveAvgPool2d(outputSize: IntOrPair(size))
            case let .linear(inputs, outputs): Linear(inputs, outputs, dtype: dtype)
            case .dropout(let p): Dropout(p)
            }
        }
        return ConvNet(features: Sequential(features.map(module)), classifier: Sequential(classifier.map(module)))
    }
}

/// A convolutional network of two parts: `features` on images, then
/// `classifier` on their flattened output (what ``ConvNetSpec`` builds).
///
/// ```swift
/// let model = ConvNetSpec.lenet5.build(input: [1, 28, 28], classes: 10)!
/// let logits = model(Tensor.randn([8, 1, 28, 28]))   // [8, 10]
/// ```
public class ConvNet: Module {
    public let features: Sequential
    public let classifier: Sequential

    public init(features: Sequential, classifier: Sequential) {
        self.features = features
        self.classifier = classifier
        super.init()
    }

    public override func forward(_ x: Tensor) -> Tensor {
        let f = features(x)
        return classifier(f.reshaped([f.shape[0], -1]))
    }
}
