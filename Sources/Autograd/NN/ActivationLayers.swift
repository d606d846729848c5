/// The activation functions as layers, and by name.

/// Elementwise max(x, 0).
public final class ReLU: Module {
    public override init() { super.init() }
    public override func forward(_ x: Tensor) -> Tensor { relu(x) }
}

/// Elementwise x for x > 0, slope · x otherwise.
public final class LeakyReLU: Module {
    /// The slope used when none is given, as in PyTorch.
    public static let defaultSlope = 0.01
    public let negativeSlope: Double
    public init(negativeSlope: Double = LeakyReLU.defaultSlope) {
        self.negativeSlope = negativeSlope
        super.init()
    }
    public override func forward(_ x: Tensor) -> Tensor { leakyRelu(x, negativeSlope: negativeSlope) }
}

/// Elementwise logistic sigmoid.
public final class Sigmoid: Module {
    public override init() { super.init() }
    public override func forward(_ x: Tensor) -> Tensor { sigmoid(x) }
}

/// Elementwise hyperbolic tangent.
public final class Tanh: Module {
    public override init() { super.init() }
    public override func forward(_ x: Tensor) -> Tensor { tanh(x) }
}

/// Elementwise GELU (exact form).
public final class GELU: Module {
    public override init() { super.init() }
    public override func forward(_ x: Tensor) -> Tensor { gelu(x) }
}

/// Elementwise log(1 + eˣ).
public final class Softplus: Module {
    public override init() { super.init() }
    public override func forward(_ x: Tensor) -> Tensor { softplus(x) }
}

/// An activation chosen by name, as on the command line.
public enum Activation: String, CaseIterable, Sendable {
    case relu, leakyRelu = "leaky-relu", sigmoid, tanh, gelu, softplus

    /// A fresh layer computing this activation.
    public func layer() -> Module {
        switch self {
        case .relu: ReLU()
        case .leakyRelu: LeakyReLU()
        case .sigmoid: Sigmoid()
        case .tanh: Tanh()
        case .gelu: GELU()
        case .softplus: Softplus()
        }
    }

    var isReLULike: Bool { self == .relu || self == .leakyRelu || self == .gelu }
}
