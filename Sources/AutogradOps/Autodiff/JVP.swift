import AutogradTensor

/// Forward-mode differentiation: the value of `f` at `x` and the directional
/// derivative J·v, computed alongside in one evaluation by carrying a tangent
/// through each op's JVP rule.
///
/// ```swift
/// let (y, dy) = jvp(of: { sin($0) * $0 }, at: Tensor([1.0]), tangent: Tensor([1.0]))
/// // dy = cos(1)·1 + sin(1)
/// ```
public func jvp(of f: (Tensor) -> Tensor, at x: Tensor, tangent: Tensor) -> (value: Tensor, tangent: Tensor) {
    jvp(of: { f($0[0]) }, at: [x], tangents: [tangent])
}

/// Forward-mode differentiation of a function of several tensors: J·(v₁, …, vₙ).
public func jvp(of f: ([Tensor]) -> Tensor, at xs: [Tensor], tangents: [Tensor]) -> (value: Tensor, tangent: Tensor) {
    guard xs.count == tangents.count else {
        fatalError("jvp(of:at:tangents:): \(xs.count) inputs but \(tangents.count) tangents")
    }
    let duals = zip(xs, tangents).enumerated().map { i, pair in
        let (x, t) = pair
        guard x.shape == t.shape, x.dtype == t.dtype else {
            fatalError("jvp(of:at:tangents:): tangent \(i) has shape \(ShapeRules.describe(t.shape)) (\(t.dtype)), its input \(ShapeRules.describe(x.shape)) (\(x.dtype))")
        }
        let dual = x.detach()
        dual.gradFn = x.gradFn
        dual.leafRequiresGrad = x.leafRequiresGrad
        dual.tangent = t
        return dual
    }
    let y = ForwardMode.with(suspended: false) { f(duals) }
    let t = y.tangent ?? Tensor.zeros(like: y)
    let value = y.detach()
    value.gradFn = y.gradFn
    return (value, t)
}
