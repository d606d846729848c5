import AutogradOps
import AutogradTensor

/// A convolutional network as `autograd train --model` spells it, for
/// images [C, H, W]:
///
/// - `lenet5`: ``LeNet5`` (two 5×5 convolutions of 6 and 16 channels with
///   ReLU and 2×2 max pooling, then 120, 84 and the classes).
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
    case cnn([Int])

    /// Parses `lenet5` or `cnn:C1,C2,…` (at least one channel count, all positive).
    public init?(_ text: String) {
        if text == "lenet5" {
            self = .lenet5
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
        case .cnn(let channels): "cnn:" + channels.map(String.init).joined(separator: ",")
        }
    }

    /// One layer of the plan.
    enum Layer {
        case conv(inputs: Int, outputs: Int, kernel: Int, padding: Int, bias: Bool)
        case batchNorm(Int)
        case relu
        case maxPool2
        case linear(inputs: Int, outputs: Int)
        case dropout(Double)
    }

    /// The layers of `features` (on [C, H, W]) and of `classifier` (on the
    /// flattened features), or nil when the image is too small for them.
    func plan(input: [Int], classes: Int) -> (features: [Layer], classifier: [Layer])? {
        guard input.count == 3, input.allSatisfy({ $0 > 0 }), classes >= 1 else { return nil }
        var (c, h, w) = (input[0], input[1], input[2])
        var features: [Layer] = []
        switch self {
        case .lenet5:
            features = [.conv(inputs: c, outputs: 6, kernel: 5, padding: 2, bias: true), .relu, .maxPool2,
                        .conv(inputs: 6, outputs: 16, kernel: 5, padding: 0, bias: true), .relu, .maxPool2]
            // Pool, 5×5 without padding, pool: 28 → 14 → 10 → 5.
            let (h1, w1) = (h / 2 - 4, w / 2 - 4)
            guard h1 >= 2, w1 >= 2 else { return nil }
            (c, h, w) = (16, h1 / 2, w1 / 2)
            let flat = c * h * w
            return (features, [.linear(inputs: flat, outputs: 120), .relu, .linear(inputs: 120, outputs: 84), .relu,
                               .linear(inputs: 84, outputs: classes)])
        case .cnn(let channels):
            for (i, out) in channels.enumerated() {
                features += [.conv(inputs: c, outputs: out, kernel: 3, padding: 1, bias: false), .batchNorm(out), .relu]
                c = out
                if i % 2 == 1 || i == channels.count - 1, h >= 2, w >= 2 {
                    features.append(.maxPool2)
                    (h, w) = (h / 2, w / 2)
                }
            }
            // The product of three sizes from a spec the user (or a file) gave: checked.
            let (hw, o1) = h.multipliedReportingOverflow(by: w)
            let (flat, o2) = c.multipliedReportingOverflow(by: hw)
            guard !o1, !o2 else { return nil }
            return (features, [.linear(inputs: flat, outputs: 128), .relu, .dropout(0.3),
                               .linear(inputs: 128, outputs: classes)])
        }
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
                case let .conv(inputs, outputs, kernel, _, bias):
                    shapes.append((prefix + ".weight", [outputs, inputs, kernel, kernel]))
                    if bias { shapes.append((prefix + ".bias", [outputs])) }
                case .batchNorm(let channels):
                    shapes.append((prefix + ".weight", [channels]))
                    shapes.append((prefix + ".bias", [channels]))
                case let .linear(inputs, outputs):
                    shapes.append((prefix + ".weight", [outputs, inputs]))
                    shapes.append((prefix + ".bias", [outputs]))
                case .relu, .maxPool2, .dropout:
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
        var (c, h, w) = (Double(input[0]), Double(input[1]), Double(input[2]))
        var total = c * h * w
        for layer in features {
            switch layer {
            case let .conv(_, outputs, kernel, padding, _):
                (c, h, w) = (Double(outputs), h + Double(2 * padding - kernel + 1), w + Double(2 * padding - kernel + 1))
            case .maxPool2: (h, w) = ((h / 2).rounded(.down), (w / 2).rounded(.down))
            default: break
            }
            total += c * h * w
        }
        for case let .linear(_, outputs) in classifier { total += 2 * Double(outputs) }
        return total
    }

    /// The network for images `input` ([C, H, W]) and `classes`, with fresh
    /// parameters, or nil when the image is too small for it.
    public func build(input: [Int], classes: Int, dtype: DType = .float32) -> ConvNet? {
        guard let (features, classifier) = plan(input: input, classes: classes) else { return nil }
        func module(_ layer: Layer) -> Module {
            switch layer {
            case let .conv(inputs, outputs, kernel, padding, bias):
                Conv2d(inputs, outputs, kernelSize: IntOrPair(kernel), padding: .explicit(IntOrPair(padding)), bias: bias,
                       dtype: dtype)
            case .batchNorm(let channels): BatchNorm2d(channels, dtype: dtype)
            case .relu: ReLU()
            case .maxPool2: MaxPool2d(kernelSize: 2)
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
