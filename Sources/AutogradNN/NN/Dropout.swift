import AutogradOps
import AutogradTensor

/// Zeroes each element with probability `p` in training mode and scales the
/// rest by 1 / (1 − p); the identity in evaluation mode. Masks come from the
/// default generator (see ``manualSeed(_:)``).
///
/// ```swift
/// let drop = Dropout(0.5)
/// drop.eval()   // now drop(x) == x
/// ```
public final class Dropout: Module {
    public let p: Double

    public init(_ p: Double = 0.5) {
        guard p >= 0 && p < 1 else { fatalError("Dropout: probability \(p) is outside [0, 1)") }
        self.p = p
        super.init()
    }

    public override func forward(_ x: Tensor) -> Tensor {
        guard isTraining && p > 0 else { return x }
        let keep = (Tensor.uniform(x.shape, dtype: x.dtype) .>= p) * (1 / (1 - p))
        return x * keep
    }
}
