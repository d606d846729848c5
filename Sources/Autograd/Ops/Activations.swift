import CKernels

// Activation functions. Each entry holds the forward kernel and its
// derivative; the derivative calls a fused backward kernel that is itself an
// op, with its own derivative beside it, so second derivatives work.

extension UnaryOp {
    static let tanh = UnaryOp(name: "tanh", kernel: AG_TANH) { _, y, v, _ in
        UnaryBackwardOp.tanhBackward(y, v)
    }
    static let sigmoid = UnaryOp(name: "sigmoid", kernel: AG_SIGMOID) { _, y, v, _ in
        UnaryBackwardOp.sigmoidBackward(y, v)
    }
    static let relu = UnaryOp(name: "relu", kernel: AG_RELU) { x, _, v, _ in
        UnaryBackwardOp.reluBackward(x, v)
    }
    static func leakyRelu(_ slope: Double) -> UnaryOp {
        UnaryOp(name: "leakyRelu", kernel: AG_LEAKY_RELU, p0: slope) { x, _, v, op in
            UnaryBackwardOp.leakyReluBackward(op.p0)(x, v)
        }
    }
    /// softplus′(x) = σ(x).
    static let softplus = UnaryOp(name: "softplus", kernel: AG_SOFTPLUS) { x, _, v, _ in
        v * Autograd.sigmoid(x)
    }
    static let gelu = UnaryOp(name: "gelu", kernel: AG_GELU) { x, _, v, _ in
        UnaryBackwardOp.geluBackward(x, v)
    }
}

extension UnaryBackwardOp {
    /// g · (1 − y²), from the output y of tanh.
    static let tanhBackward = UnaryBackwardOp(name: "tanhBackward", kernel: AG_TANH_BACKWARD) { y, g, v, _ in
        v * g * y * -2
    }
    /// g · y(1 − y), from the output y of sigmoid.
    static let sigmoidBackward = UnaryBackwardOp(name: "sigmoidBackward", kernel: AG_SIGMOID_BACKWARD) { y, g, v, _ in
        v * g * (1 - y * 2)
    }
    /// g · [x > 0]; piecewise constant in x.
    static let reluBackward = UnaryBackwardOp(name: "reluBackward", kernel: AG_RELU_BACKWARD) { _, _, _, _ in
        nil
    }
    /// g · (x > 0 ? 1 : slope); piecewise constant in x.
    static func leakyReluBackward(_ slope: Double) -> UnaryBackwardOp {
        UnaryBackwardOp(name: "leakyReluBackward", kernel: AG_LEAKY_RELU_BACKWARD, p0: slope) { _, _, _, _ in nil }
    }
    /// g · (Φ(x) + x φ(x)), from the input x of gelu; its x-derivative is g · φ(x)(2 − x²).
    static let geluBackward = UnaryBackwardOp(name: "geluBackward", kernel: AG_GELU_BACKWARD) { x, g, v, _ in
        let pdf = Autograd.exp(x.squared() * -0.5) * 0.398_942_280_401_432_7
        return v * g * pdf * (2 - x.squared())
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

/// Elementwise max(x, 0); its gradient at 0 is 0.
public func relu(_ x: Tensor) -> Tensor { UnaryOp.relu(x) }

/// Elementwise x for x > 0, `negativeSlope · x` otherwise.
public func leakyRelu(_ x: Tensor, negativeSlope: Double = 0.01) -> Tensor {
    UnaryOp.leakyRelu(negativeSlope)(x)
}

/// Elementwise log(1 + eˣ), computed stably.
public func softplus(_ x: Tensor) -> Tensor { UnaryOp.softplus(x) }

/// Elementwise GELU, x · Φ(x) with the exact normal CDF (PyTorch's default form).
public func gelu(_ x: Tensor) -> Tensor { UnaryOp.gelu(x) }
