import AutogradOps
import AutogradTensor

/// The activation functions as layers: ``ActivationLayer`` makes a layer of
/// any ``Activation`` (a row of the op table), and the classes below name
/// the common ones as PyTorch does.

extension Activation {
    /// A fresh layer computing this activation.
    public func layer() -> Module { ActivationLayer(self) }
}

/// A layer applying an ``Activation`` elementwise. ``Sequential`` and ``MLP``
/// fuse it into the ``Linear`` layer before it where the activation's
/// derivative can be read off its output.
public class ActivationLayer: Module {
    /// The function this layer applies.
    public let activation: Activation

    public init(_ activation: Activation) {
        self.activation = activation
        super.init()
    }

    public override func forward(_ x: Tensor) -> Tensor { activation(x) }
}

/// Elementwise max(x, 0).
public final class ReLU: ActivationLayer {
    public init() { super.init(.relu) }
}

/// Elementwise x for x > 0, slope · x otherwise.
public final class LeakyReLU: ActivationLayer {
    /// The slope used when none is given, as in PyTorch.
    public static let defaultSlope = 0.01
    public var negativeSlope: Double { activation.op.p0 }
    public init(negativeSlope: Double = LeakyReLU.defaultSlope) {
        super.init(.leakyRelu(negativeSlope: negativeSlope))
    }
}

/// Elementwise logistic sigmoid.
public final class Sigmoid: ActivationLayer {
    public init() { super.init(.sigmoid) }
}

/// Elementwise hyperbolic tangent.
public final class Tanh: ActivationLayer {
    public init() { super.init(.tanh) }
}

/// Elementwise GELU (exact form).
public final class GELU: ActivationLayer {
    public init() { super.init(.gelu) }
}

/// Elementwise log(1 + e^(βx)) / β, linear beyond the threshold (PyTorch's `nn.Softplus`).
public final class Softplus: ActivationLayer {
    public init(beta: Double = 1, threshold: Double = 20) {
        super.init(.softplus(beta: beta, threshold: threshold))
    }
}

/// Elementwise x · σ(x) (PyTorch's `nn.SiLU`).
public final class SiLU: ActivationLayer {
    public init() { super.init(.silu) }
}
