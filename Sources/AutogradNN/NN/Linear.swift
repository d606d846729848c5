import AutogradOps
import AutogradTensor

/// A fully connected layer: y = x · Wᵀ + b, with W of shape [out, in] (PyTorch's layout).
///
/// ```swift
/// let layer = Linear(4, 3)
/// let y = layer(Tensor.randn([8, 4]))   // shape [8, 3]
/// ```
public final class Linear: Module {
    /// The weight matrix, [outputs, inputs].
    public let weight: Tensor
    /// The bias, [outputs], when the layer has one.
    public let bias: Tensor?

    /// - Parameters:
    ///   - inputs: features in; `outputs`: features out.
    ///   - bias: whether to add a learned bias.
    ///   - weightInit: how W starts; PyTorch's default U(−1/√in, 1/√in) unless given.
    public init(_ inputs: Int, _ outputs: Int, bias: Bool = true,
                weightInit: Initializer = .lecunUniform, dtype: DType = .float32) {
        weight = weightInit.make([outputs, inputs], dtype: dtype).requiringGrad()
        let bound = 1 / Double(Swift.max(inputs, 1)).squareRoot()
        self.bias = bias
            ? Initializer.uniform(low: -bound, high: bound).make([outputs], dtype: dtype).requiringGrad()
            : nil
        super.init()
    }

    public override func forward(_ x: Tensor) -> Tensor {
        forward(x, activation: nil)
    }

    /// The layer followed by `activation`, fused into the GEMM's epilogue where it can be.
    /// A mismatched input stops with the fused op's message, naming both shapes.
    public func forward(_ x: Tensor, activation: Activation?) -> Tensor {
        linear(x, weight: weight, bias: bias, activation: activation)
    }
}

/// Flattens every axis after the first: [N, a, b, …] → [N, a·b·…].
public final class Flatten: Module {
    public override init() { super.init() }
    public override func forward(_ x: Tensor) -> Tensor {
        x.reshaped([x.shape.first ?? 1, -1])
    }
}
