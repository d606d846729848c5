import AutogradTensor
import CKernels

// The activation rows of the unary op table. Each row is the C row's kernel
// and derivative kernel plus the Swift facts: the derivative of the
// derivative (a = x or y, as the C row reads) and how layers use it. The
// public function beside each row is its API; `UnaryOp.activations` is what
// the fused paths, ``Activation``, the layers, the benchmarks and the tests
// enumerate, so a new row is picked up by all of them.

extension UnaryOp {
    static let tanh = UnaryOp(AG_TANH, role: .activation) { y, g, v, _ in v * g * y * -2 }
    static let sigmoid = UnaryOp(AG_SIGMOID, role: .activation) { y, g, v, _ in v * g * (1 - y * 2) }
    static let relu = UnaryOp(AG_RELU, role: .activation, outputKeepsSign: { _, _ in true },
                              prefersHeInit: true, secondDerivative: nil)
    /// p0: the negative slope.
    static let leakyRelu = UnaryOp(AG_LEAKY_RELU, p0: 0.01, role: .activation,
                                   outputKeepsSign: { slope, _ in slope >= 0 }, prefersHeInit: true,
                                   secondDerivative: nil)
    /// p0: beta, p1: threshold. softplus′ = σ(βx) (1 beyond the threshold), so
    /// softplus″ = β σ(βx)(1 − σ(βx)) inside it.
    static let softplus = UnaryOp(AG_SOFTPLUS, p0: 1, p1: 20, role: .activation) { x, g, v, op in
        let s = AutogradOps.sigmoid(x * op.p0)
        return v * g * (s * (1 - s)) * op.p0 * ((x * op.p0) .<= op.p1)
    }
    /// gelu″(x) = φ(x)(2 − x²).
    static let gelu = UnaryOp(AG_GELU, role: .activation, prefersHeInit: true) { x, g, v, _ in
        let pdf = AutogradOps.exp(x.squared() * -0.5) * 0.398_942_280_401_432_7
        return v * g * pdf * (2 - x.squared())
    }
    /// silu″(x) = σ(1 − σ)(2 + x(1 − 2σ)).
    static let silu = UnaryOp(AG_SILU, role: .activation, prefersHeInit: true) { x, g, v, _ in
        let s = AutogradOps.sigmoid(x)
        return v * g * s * (1 - s) * (2 + x * (1 - s * 2))
    }
    /// With t = tanh(softplus(x)) and s = σ(x): mish″ = (1 − t²) s (2 + x(1 − s) − 2xst).
    static let mish = UnaryOp(AG_MISH, role: .activation, prefersHeInit: true) { x, g, v, _ in
        let s = AutogradOps.sigmoid(x), t = AutogradOps.tanh(AutogradOps.softplus(x))
        return v * g * (1 - t.squared()) * s * (2 + x * (1 - s) - x * s * t * 2)
    }

    /// The activation rows, in the order `Activation.allCases` lists them.
    static let activations: [UnaryOp] = [relu, leakyRelu, sigmoid, tanh, gelu, softplus, silu, mish]
}

/// An activation function with its parameters: a row of the op table's
/// activations. Pass one to ``MLP``, ``linear(_:weight:bias:activation:)`` or
/// ``Linear/forward(_:activation:)``, make a layer of it with ``layer()``, or
/// call it on a tensor.
///
/// ```swift
/// let act = Activation.leakyRelu(negativeSlope: 0.2)
/// let y = act(x)
/// let model = MLP(inputs: 4, hidden: [16], outputs: 2, activation: .gelu)
/// ```
///
/// On the command line an activation goes by its name in kebab case
/// (`relu`, `leaky-relu`, `gelu`, …; ``allCases`` lists them).
public struct Activation: Hashable, Sendable, CaseIterable, RawRepresentable, CustomStringConvertible {
    package let op: UnaryOp

    init(_ op: UnaryOp) { self.op = op }

    /// Every activation of the op table, with default parameters.
    public static var allCases: [Activation] { UnaryOp.activations.map(Activation.init) }

    /// The activation named `rawValue` (kebab case, e.g. `leaky-relu`), with default parameters.
    public init?(rawValue: String) {
        guard let op = UnaryOp.activations.first(where: { Activation.kebab($0.name) == rawValue }) else { return nil }
        self.op = op
    }

    /// The name in kebab case, as the command line takes it.
    public var rawValue: String { Activation.kebab(op.name) }

    /// The op table's name (`leakyRelu`).
    public var name: String { op.name }

    public var description: String { rawValue }

    /// Applies the activation elementwise.
    public func callAsFunction(_ x: Tensor) -> Tensor { op(x) }

    /// True for ReLU-like activations, whose layers are initialised with He's
    /// scheme rather than Glorot's.
    public var prefersHeInit: Bool { op.prefersHeInit }

    public static func == (a: Activation, b: Activation) -> Bool { a.op.identity == b.op.identity }
    public func hash(into hasher: inout Hasher) { hasher.combine(op.identity) }

    private static func kebab(_ name: String) -> String {
        name.reduce(into: "") { out, c in
            if c.isUppercase { out += "-" + c.lowercased() } else { out.append(c) }
        }
    }
}

extension Activation {
    public static let relu = Activation(.relu)
    /// Leaky ReLU with PyTorch's default slope, 0.01.
    public static let leakyRelu = Activation(.leakyRelu)
    public static let sigmoid = Activation(.sigmoid)
    public static let tanh = Activation(.tanh)
    public static let gelu = Activation(.gelu)
    /// Softplus with β = 1 and threshold 20, as PyTorch.
    public static let softplus = Activation(.softplus)
    public static let silu = Activation(.silu)
    public static let mish = Activation(.mish)

    /// Leaky ReLU with another slope.
    public static func leakyRelu(negativeSlope: Double) -> Activation {
        Activation(UnaryOp.leakyRelu.with(p0: negativeSlope))
    }

    /// Softplus with other β and threshold.
    public static func softplus(beta: Double, threshold: Double = 20) -> Activation {
        Activation(UnaryOp.softplus.with(p0: beta, p1: threshold))
    }

}

/// Elementwise hyperbolic tangent.
///
/// ```swift
/// let y = tanh(x)   // dy/dx = 1 − y²
/// ```
public func tanh(_ x: Tensor) -> Tensor { UnaryOp.tanh(x) }

/// Elementwise logistic sigmoid 1 / (1 + e⁻ˣ), computed without overflow.
public func sigmoid(_ x: Tensor) -> Tensor { UnaryOp.sigmoid(x) }

/// Elementwise max(x, 0); its gradient at 0 is 0. NaN stays NaN.
public func relu(_ x: Tensor) -> Tensor { UnaryOp.relu(x) }

/// Elementwise x for x > 0, `negativeSlope · x` otherwise; its gradient at 0 is the slope.
public func leakyRelu(_ x: Tensor, negativeSlope: Double = 0.01) -> Tensor {
    (negativeSlope == UnaryOp.leakyRelu.p0 ? UnaryOp.leakyRelu : UnaryOp.leakyRelu.with(p0: negativeSlope))(x)
}

/// Elementwise log(1 + e^(βx)) / β, computed stably, and x itself where
/// βx > `threshold` (PyTorch's `softplus(x, beta, threshold)`).
///
/// ```swift
/// softplus(Tensor([-1, 0, 30]))  // [0.3133, 0.6931, 30]
/// ```
public func softplus(_ x: Tensor, beta: Double = 1, threshold: Double = 20) -> Tensor {
    let op = UnaryOp.softplus
    return (beta == op.p0 && threshold == op.p1 ? op : op.with(p0: beta, p1: threshold))(x)
}

/// Elementwise GELU, x · Φ(x) with the exact normal CDF (PyTorch's default
/// form). gelu(+∞) = +∞ and gelu(−∞) = 0, where PyTorch 2.15 gives NaN.
public func gelu(_ x: Tensor) -> Tensor { UnaryOp.gelu(x) }

/// Elementwise SiLU (swish), x · σ(x); silu(−∞) = 0 (PyTorch: NaN).
public func silu(_ x: Tensor) -> Tensor { UnaryOp.silu(x) }

/// Elementwise Mish, x · tanh(softplus(x)); mish(−∞) = 0 (PyTorch: NaN).
public func mish(_ x: Tensor) -> Tensor { UnaryOp.mish(x) }
