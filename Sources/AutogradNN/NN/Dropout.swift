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
        return dropped(x, p: p, maskShape: x.shape)
    }
}

/// Channel dropout (PyTorch's `nn.Dropout2d`): in training mode each whole
/// channel of [N, C, H, W] (or [C, H, W]) is zeroed with probability `p`
/// and the others scaled by 1 / (1 − p), as neighbouring pixels of a
/// feature map are too alike for element dropout to regularise; the
/// identity in evaluation mode.
///
/// ```swift
/// let drop = Dropout2d(0.2)
/// let y = drop(Tensor.randn([8, 16, 12, 12]))   // some of the 8·16 channels are 0
/// ```
public final class Dropout2d: Module {
    public let p: Double

    public init(_ p: Double = 0.5) {
        guard p >= 0 && p < 1 else { fatalError("Dropout2d: probability \(p) is outside [0, 1)") }
        self.p = p
        super.init()
    }

    public override func forward(_ x: Tensor) -> Tensor {
        guard x.rank == 3 || x.rank == 4 else {
            opError("Dropout2d(\(p))", "expects [N, C, H, W] or [C, H, W], got \(ShapeRules.describe(x.shape))")
        }
        guard isTraining && p > 0 else { return x }
        // One draw per channel, broadcast over its plane.
        return dropped(x, p: p, maskShape: Array(x.shape.dropLast(2)) + [1, 1])
    }
}

/// `x` times a mask of `maskShape` (broadcast over x) from the default
/// generator: 0 with probability `p`, 1 / (1 − p) otherwise.
private func dropped(_ x: Tensor, p: Double, maskShape: [Int]) -> Tensor {
    x * ((Tensor.uniform(maskShape, dtype: x.dtype) .>= p) * (1 / (1 - p)))
}
