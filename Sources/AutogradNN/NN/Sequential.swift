import AutogradOps
import AutogradTensor

/// Builds the layer list of a ``Sequential`` from a block, one layer per line.
@resultBuilder
public enum ModuleBuilder {
    public static func buildExpression(_ module: Module) -> [Module] { [module] }
    public static func buildExpression(_ modules: [Module]) -> [Module] { modules }
    public static func buildBlock(_ parts: [Module]...) -> [Module] { parts.flatMap { $0 } }
    public static func buildOptional(_ part: [Module]?) -> [Module] { part ?? [] }
    public static func buildEither(first part: [Module]) -> [Module] { part }
    public static func buildEither(second part: [Module]) -> [Module] { part }
    public static func buildArray(_ parts: [[Module]]) -> [Module] { parts.flatMap { $0 } }
}

/// Layers applied one after another. Parameters are named by the layer's
/// index, `0.weight`, `2.bias`, …, as in PyTorch's `nn.Sequential`.
///
/// ```swift
/// let model = Sequential {
///     Linear(2, 16)
///     Tanh()
///     for _ in 0..<2 { Linear(16, 16); Tanh() }
///     Linear(16, 2)
/// }
/// ```
public final class Sequential: Module {
    /// The layers, in the order they run.
    public let layers: [Module]

    /// Layers listed in a block, one per line (`if` and `for` work too).
    public init(@ModuleBuilder _ build: () -> [Module]) {
        layers = build()
        super.init()
    }

    /// Layers from an array.
    public init(_ layers: [Module]) {
        self.layers = layers
        super.init()
    }

    override var indexedLists: Set<String> { ["layers"] }

    public override func forward(_ x: Tensor) -> Tensor {
        runLayers(layers, x)
    }
}

/// Runs layers in order, fusing each `Linear` or `Conv2d` with the
/// activation layer after it into one op (the GEMM or convolution plus a
/// bias-and-activation epilogue) where the activation allows it (see ``linear(_:weight:bias:activation:)``),
/// and in evaluation mode folding a `BatchNorm2d` after a `Conv2d` into
/// its weights (see ``Conv2d/forward(_:foldingBatchNorm:activation:)``); one
/// by one while a ``ModelSummary`` listens, so each layer gets its row.
func runLayers(_ layers: [Module], _ x: Tensor) -> Tensor {
    var h = x
    if ModuleCallRecorder.current != nil {
        for layer in layers { h = layer(h) }
        return h
    }
    var i = 0
    while i < layers.count {
        if let dense = layers[i] as? Linear, i + 1 < layers.count, let act = layers[i + 1] as? ActivationLayer {
            h = dense.forward(h, activation: act.activation)
            i += 2
        } else if let conv = layers[i] as? Conv2d, i + 1 < layers.count, let bn = layers[i + 1] as? BatchNorm2d,
                  !bn.isTraining, bn.weight.shape[0] == conv.weight.shape[0] {
            let act = i + 2 < layers.count ? layers[i + 2] as? ActivationLayer : nil
            h = conv.forward(h, foldingBatchNorm: bn, activation: act?.activation)
            i += act == nil ? 2 : 3
        } else if let conv = layers[i] as? Conv2d, i + 1 < layers.count, let act = layers[i + 1] as? ActivationLayer {
            h = conv.forward(h, activation: act.activation)
            i += 2
        } else {
            h = layers[i](h)
            i += 1
        }
    }
    return h
}

/// A multilayer perceptron: Linear layers with an activation between them
/// (none after the last), He-initialised for ReLU-like activations and
/// Glorot-initialised otherwise. Parameters are named `0.weight`, `0.bias`,
/// `2.weight`, … (the linear layers' indices), as for a PyTorch
/// `nn.Sequential` of the same layers.
///
/// ```swift
/// let model = MLP(inputs: 64, hidden: [128, 64], outputs: 10, activation: .relu)
/// ```
public final class MLP: Module {
    /// Linear and activation layers, alternating.
    public let layers: [Module]

    /// An MLP with `inputs` features in, one hidden layer per entry of
    /// `hidden` (its width), and `outputs` features out.
    public init(inputs: Int, hidden: [Int], outputs: Int, activation: Activation = .relu) {
        let widths = [inputs] + hidden + [outputs]
        let initializer: Initializer = activation.prefersHeInit ? .heUniform : .glorotUniform
        var layers: [Module] = []
        for i in 0..<(widths.count - 1) {
            layers.append(Linear(widths[i], widths[i + 1], weightInit: initializer))
            if i < widths.count - 2 { layers.append(activation.layer()) }
        }
        self.layers = layers
        super.init()
    }

    override var indexedLists: Set<String> { ["layers"] }

    public override func forward(_ x: Tensor) -> Tensor {
        runLayers(layers, x)
    }
}
