import AutogradOps
import AutogradTensor
import Foundation

/// How a layer's weights start. The "fan" of a weight of shape
/// [out, in, …] is fanIn = in · receptive field and fanOut = out · receptive field.
///
/// ```swift
/// let layer = Linear(784, 256, weightInit: .heNormal)
/// ```
public enum Initializer: Sendable {
    /// Glorot/Xavier uniform: U(−a, a) with a = √(6 / (fanIn + fanOut)).
    case glorotUniform
    /// Glorot/Xavier normal: N(0, 2 / (fanIn + fanOut)).
    case glorotNormal
    /// He/Kaiming uniform for ReLU: U(−a, a) with a = √(6 / fanIn).
    case heUniform
    /// He/Kaiming normal for ReLU: N(0, 2 / fanIn).
    case heNormal
    /// PyTorch's default for `Linear`: U(−1/√fanIn, 1/√fanIn).
    case lecunUniform
    /// U(low, high).
    case uniform(low: Double, high: Double)
    /// N(mean, std²).
    case normal(mean: Double, std: Double)
    /// Every element `value`.
    case constant(Double)

    /// A tensor of `shape` drawn from `generator`.
    public func make(_ shape: [Int], dtype: DType = .float32, using generator: inout RandomGenerator) -> Tensor {
        let receptive = shape.count > 2 ? ShapeRules.count(Array(shape[2...])) : 1
        let fanOut = Double((shape.first ?? 1) * receptive)
        let fanIn = Double((shape.count > 1 ? shape[1] : shape.first ?? 1) * receptive)
        switch self {
        case .glorotUniform:
            let a = (6 / (fanIn + fanOut)).squareRoot()
            return Tensor.uniform(shape, low: -a, high: a, dtype: dtype, using: &generator)
        case .glorotNormal:
            return Tensor.normal(shape, std: (2 / (fanIn + fanOut)).squareRoot(), dtype: dtype, using: &generator)
        case .heUniform:
            let a = (6 / fanIn).squareRoot()
            return Tensor.uniform(shape, low: -a, high: a, dtype: dtype, using: &generator)
        case .heNormal:
            return Tensor.normal(shape, std: (2 / fanIn).squareRoot(), dtype: dtype, using: &generator)
        case .lecunUniform:
            let a = 1 / fanIn.squareRoot()
            return Tensor.uniform(shape, low: -a, high: a, dtype: dtype, using: &generator)
        case .uniform(let low, let high):
            return Tensor.uniform(shape, low: low, high: high, dtype: dtype, using: &generator)
        case .normal(let mean, let std):
            return Tensor.normal(shape, mean: mean, std: std, dtype: dtype, using: &generator)
        case .constant(let value):
            return Tensor.full(shape, value, dtype: dtype)
        }
    }

    /// A tensor of `shape` drawn from the default generator (see ``manualSeed(_:)``).
    public func make(_ shape: [Int], dtype: DType = .float32) -> Tensor {
        withDefaultGenerator { make(shape, dtype: dtype, using: &$0) }
    }
}
