/// Mean squared error between `prediction` and `target` (same shape).
///
/// ```swift
/// let loss = mse(model(x), y)
/// ```
public func mse(_ prediction: Tensor, _ target: Tensor) -> Tensor {
    guard prediction.shape == target.shape else {
        opError("mse", "prediction shape \(ShapeRules.describe(prediction.shape)) and target shape \(ShapeRules.describe(target.shape)) differ")
    }
    return (prediction - target).squared().mean()
}
