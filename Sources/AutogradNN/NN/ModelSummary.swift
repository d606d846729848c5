import AutogradOps
import AutogradTensor

/// A model's layers as one forward pass sees them, as torchinfo prints them:
/// each module called, its output shape, its parameters and its FLOPs, and
/// the totals.
///
/// ``Module/summary(inputShape:)`` runs the model once, in evaluation mode
/// without recording, on a batch of one zero sample, and listens to every
/// module call (``Module/callAsFunction(_:)``) on the way. Output shapes are
/// what the layers produced, batch axis included (so they start with 1).
/// ``Sequential`` and ``MLP`` run their layers one by one while listened to,
/// without fusing a ``Linear`` with the activation after it, so each gets its
/// row; the shapes are the same either way. A module that calls a child's
/// `forward` directly instead of calling the child hides that child: its
/// parameters still count in ``parameterCount``, but no row shows them.
///
/// FLOPs are for one sample, a multiply-add counting 2:
/// - convolution: 2·K·(C/groups)·R·S·P·Q (K output channels of P×Q, C input
///   channels, an R×S kernel), without the bias; `Conv1d` alike with one
///   spatial axis; a transposed convolution 2·C·(K/groups)·R·S·H·W over its
///   H×W input;
/// - `Linear`: 2·in·out per output row, without the bias;
/// - activations: 1 per output element; batch norm: 2 per element (its scale
///   and shift in evaluation mode);
/// - pooling: 1 per input element a window reads (kernel area per output
///   element; the whole input for adaptive pooling);
/// - anything else (flatten, dropout, which is the identity in evaluation
///   mode, containers): 0.
///
/// Shapes the layers refuse stop the program with the layer's message, as
/// the forward pass would.
///
/// ```swift
/// let summary = LeNet5().summary(inputShape: [1, 28, 28])
/// print(summary.layers.count)      // 14: the model, 2 Sequentials, 11 layers
/// print(summary.parameterCount)    // 61706
/// print(summary.layers[2].outputShape)   // [1, 6, 28, 28]
/// ```
public struct ModelSummary: Sendable {
    /// One module call of the forward pass, in the order the calls began.
    public struct Layer: Sendable {
        /// The module's path from the model, as in ``Module/namedParameters()``
        /// (`features.0`); empty for the model itself.
        public let name: String
        /// Nesting: 0 for the model, 1 for its children, and so on.
        public let depth: Int
        /// The module as its messages name it, such as `Conv2d(1→6, 5×5, padding 2)`,
        /// or its type's name.
        public let description: String
        /// True for a module without children (a layer, not a container).
        public let isLeaf: Bool
        /// The input's and the output's shape, for a batch of one.
        public let inputShape: [Int]
        public let outputShape: [Int]
        /// Scalars of the parameters the module itself holds (not its children's).
        public let parameterCount: Int
        /// FLOPs of one sample through this module itself (0 for containers).
        public let flops: Int
    }

    /// The shape of one sample, without the batch axis.
    public let inputShape: [Int]
    /// The element type of the model's parameters (float32 when it has none).
    public let dtype: DType
    /// Every module call, the model's own first.
    public let layers: [Layer]
    /// Scalars of all trainable parameters. Every parameter of a ``Module``
    /// is trainable (a tensor that does not require grad is a buffer), so
    /// this is also the total.
    public let parameterCount: Int
    /// Scalars of the buffers (state saved but not trained, such as batch
    /// norm's running statistics).
    public let bufferCount: Int

    /// FLOPs of one sample through the whole model: the sum over the rows.
    public var flops: Int { layers.reduce(0) { $0 + $1.flops } }

    /// Bytes of the parameters and buffers.
    public var parameterBytes: Int { (parameterCount + bufferCount) * dtype.byteSize }

    /// Bytes of one sample's activations: the input and every leaf layer's
    /// output, as a forward pass that keeps them for the backward pass holds
    /// them (gradients of the same size come on top while training).
    public var activationBytesPerSample: Int {
        let values = layers.filter(\.isLeaf).reduce(inputShape.reduce(1, *)) { $0 + $1.outputShape.dropFirst().reduce(1, *) }
        return values * dtype.byteSize
    }
}

extension Module {
    /// Runs the model once on a zero sample of `inputShape` (without the
    /// batch axis: `[1, 28, 28]` for an image, `[64]` for 64 features) and
    /// describes every module call. See ``ModelSummary``.
    ///
    /// ```swift
    /// let summary = MLP(inputs: 64, hidden: [32], outputs: 10).summary(inputShape: [64])
    /// print(summary.flops)   // 2·64·32 + 32 + 2·32·10 = 4768
    /// ```
    public func summary(inputShape: [Int]) -> ModelSummary {
        let dtype = parameters.first?.dtype ?? .float32
        var names: [ObjectIdentifier: String] = [:]
        func name(_ module: Module, _ path: String) {
            names[ObjectIdentifier(module)] = path
            for (child, m) in module.namedChildren { name(m, path.isEmpty ? child : path + "." + child) }
        }
        name(self, "")
        let recorder = ModuleCallRecorder()
        let input = Tensor.zeros([1] + inputShape, dtype: dtype)
        _ = evaluating { ModuleCallRecorder.$current.withValue(recorder) { self(input) } }
        let layers = recorder.calls.map { call in
            let module = call.module
            let inner = Set(module.namedChildren.flatMap { $0.module.parameters }.map(ObjectIdentifier.init))
            let own = module.parameters.filter { !inner.contains(ObjectIdentifier($0)) }
            return ModelSummary.Layer(
                name: names[ObjectIdentifier(module)] ?? "", depth: call.depth, description: ModelSummary.describe(module),
                isLeaf: module.namedChildren.isEmpty, inputShape: call.input, outputShape: call.output,
                parameterCount: own.reduce(0) { $0 + $1.scalarCount },
                flops: ModelSummary.flops(module, input: call.input, output: call.output))
        }
        return ModelSummary(inputShape: inputShape, dtype: dtype, layers: layers, parameterCount: parameterCount,
                            bufferCount: namedBuffers().reduce(0) { $0 + $1.tensor.scalarCount })
    }
}

extension ModelSummary {
    /// How a row names its module: the layer's own message name where it has
    /// one, its hyperparameters for the common layers, its type otherwise.
    static func describe(_ module: Module) -> String {
        switch module {
        case let conv as Conv2d:
            return conv.summary
        case let linear as Linear:
            let s = linear.weight.shape
            return "Linear(\(s[1])→\(s[0])\(linear.bias == nil ? ", no bias" : ""))"
        case let pool as MaxPool2d:
            return "MaxPool2d(\(window(pool.kernelSize, pool.stride, pool.padding)))"
        case let pool as AvgPool2d:
            return "AvgPool2d(\(window(pool.kernelSize, pool.stride, pool.padding)))"
        case let pool as AdaptiveAvgPool2d:
            return "AdaptiveAvgPool2d(\(pool.outputSize.first)×\(pool.outputSize.second))"
        case let pool as AdaptiveMaxPool2d:
            return "AdaptiveMaxPool2d(\(pool.outputSize.first)×\(pool.outputSize.second))"
        case let norm as BatchNormLayer:
            return "\(type(of: norm))(\(norm.weight.shape[0]))"
        case let drop as Dropout:
            return "Dropout(\(drop.p))"
        case let drop as Dropout2d:
            return "Dropout2d(\(drop.p))"
        case let conv as Conv1d:
            let s = conv.weight.shape
            return "Conv1d(\(s[1] * conv.groups)→\(s[0]), \(s[2]))"
        case let conv as ConvTranspose2d:
            let s = conv.weight.shape
            return "ConvTranspose2d(\(s[0])→\(s[1] * conv.groups), \(s[2])×\(s[3]))"
        case let activation as ActivationLayer where type(of: activation) == ActivationLayer.self:
            return "ActivationLayer(\(activation.activation.rawValue))"
        default:
            return String(describing: type(of: module))
        }
    }

    private static func window(_ kernel: IntOrPair, _ stride: IntOrPair?, _ padding: IntOrPair) -> String {
        var parts = ["\(kernel.first)×\(kernel.second)"]
        if let stride, stride != kernel { parts.append("stride \(stride)") }
        if padding != 0 { parts.append("padding \(padding)") }
        return parts.joined(separator: ", ")
    }

    /// One sample's FLOPs through `module` itself, by the conventions of ``ModelSummary``.
    static func flops(_ module: Module, input: [Int], output: [Int]) -> Int {
        let outputs = output.dropFirst().reduce(1, *)
        switch module {
        case let conv as Conv2d:
            // 2·(C/groups)·R·S per output value: the weight's scalars per output channel, times 2.
            return 2 * conv.weight.scalarCount / conv.weight.shape[0] * outputs
        case let conv as Conv1d:
            return 2 * conv.weight.scalarCount / conv.weight.shape[0] * outputs
        case let conv as ConvTranspose2d:
            // Every input pixel meets the whole weight slice of its group.
            let s = conv.weight.shape
            return 2 * s[1] * s[2] * s[3] * input.dropFirst().reduce(1, *)
        case let linear as Linear:
            return 2 * linear.weight.shape[1] * outputs
        case is ActivationLayer:
            return outputs
        case is BatchNormLayer:
            return 2 * outputs
        case let pool as MaxPool2d:
            return pool.kernelSize.first * pool.kernelSize.second * outputs
        case let pool as AvgPool2d:
            return pool.kernelSize.first * pool.kernelSize.second * outputs
        case is AdaptiveAvgPool2d, is AdaptiveMaxPool2d:
            return input.dropFirst().reduce(1, *)
        default:
            return 0
        }
    }
}

/// Hears every module call made while it is installed (by
/// ``Module/summary(inputShape:)``): which module, how deep, and the shapes in
/// and out. Only the thread that installed it calls it, through the task-local
/// ``current``.
final class ModuleCallRecorder: @unchecked Sendable {
    @TaskLocal static var current: ModuleCallRecorder?

    struct Call {
        let module: Module
        let depth: Int
        let input: [Int]
        var output: [Int] = []
    }

    private(set) var calls: [Call] = []
    private var depth = 0

    /// Runs `module` on `input`, recording the call before its children's.
    func run(_ module: Module, _ input: Tensor) -> Tensor {
        let index = calls.count
        calls.append(Call(module: module, depth: depth, input: input.shape))
        depth += 1
        let output = module.forward(input)
        depth -= 1
        calls[index].output = output.shape
        return output
    }
}
