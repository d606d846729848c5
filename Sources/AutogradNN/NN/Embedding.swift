import AutogradOps
import AutogradTensor

/// A lookup table of `count` vectors of size `dimension`, initialised N(0, 1).
///
/// ```swift
/// let embed = Embedding(1000, 32)
/// let vectors = embed([5, 17, 5])   // shape [3, 32]
/// ```
public final class Embedding: Module {
    public let weight: Tensor

    public init(_ count: Int, _ dimension: Int, dtype: DType = .float32) {
        weight = Initializer.normal(mean: 0, std: 1).make([count, dimension], dtype: dtype).requiringGrad()
        super.init()
    }

    /// The rows at `indices`.
    public func callAsFunction(_ indices: [Int]) -> Tensor {
        weight.rows(indices)
    }

    /// The rows at the (integer-valued) indices held in a tensor of any shape;
    /// the result has that shape plus the embedding axis.
    public override func forward(_ indices: Tensor) -> Tensor {
        let values = indices.scalars
        guard values.allSatisfy({ $0 == $0.rounded() }) else {
            opError("Embedding", "indices must be whole numbers")
        }
        return weight.rows(values.map { Int($0) }).reshaped(indices.shape + [weight.shape[1]])
    }
}
