import CKernels
import Synchronization

/// An elementwise op of one input, y = f(x), as one entry of a table: its
/// kernel and its derivative. The derivative is written once, as the linear
/// map `v ↦ v · f′(x)`: the VJP applies it to the output gradient and the JVP
/// to the input tangent.
///
/// A class, so that a recorded node holds a reference to the table's entry
/// rather than a boxed copy.
final class UnaryOp: Primitive, Sendable {
    typealias Derivative = @Sendable (_ x: Tensor, _ y: Tensor, _ v: Tensor, _ op: UnaryOp) -> Tensor?
    let name: String
    let kernel: ag_unary_op
    let p0: Double
    let p1: Double
    /// `v · f′(x)`, given x, y = f(x) and v (shaped like x), in tensor ops.
    let derivative: Derivative

    init(name: String, kernel: ag_unary_op, p0: Double = 0, p1: Double = 0, derivative: @escaping Derivative) {
        self.name = name
        self.kernel = kernel
        self.p0 = p0
        self.p1 = p1
        self.derivative = derivative
    }

    func outputShape(_ inputs: [[Int]]) -> [Int] { inputs[0] }
    func outputShape(of inputs: [Tensor]) -> [Int] { inputs[0].shape }

    func forward(_ inputs: [Tensor], shape: [Int]) -> Tensor {
        let x = inputs[0].contiguousValues()
        let y = Tensor(uninitializedShape: shape, dtype: x.dtype)
        ag_unary(kernel, x.dtype.c, x.scalarCount, x.pointer, y.pointer, p0, p1)
        return y
    }

    func forward(_ inputs: [Tensor], into output: Tensor) -> Bool {
        let x = inputs[0]
        guard x.isContiguous, output.isContiguous else { return false }
        ag_unary(kernel, x.dtype.c, x.scalarCount, x.pointer, output.pointer, p0, p1)
        return true
    }

    func allowsInPlace(_ index: Int) -> Bool { true }

    func vjp(_ inputs: [Tensor], _ output: Tensor, _ grad: Tensor, _ needs: [Bool]) -> [Tensor?] {
        [vjpOfOnlyInput(inputs, output, grad)]
    }

    func vjpOfOnlyInput(_ inputs: [Tensor], _ output: Tensor, _ grad: Tensor) -> Tensor? {
        derivative(inputs[0], output, grad, self)
    }

    func jvp(_ inputs: [Tensor], _ output: Tensor, _ tangents: [Tensor?]) -> Tensor {
        derivative(inputs[0], output, tangents[0]!, self) ?? Tensor.zeros(like: output)
    }
}

/// The derivative of a fused backward kernel out = g · f′(a), written once
/// per input as linear maps: `da(a, g, v)` is v · ∂out/∂a, `dg(a, v)` is
/// v · ∂out/∂g (the same kernel again). These are what make second
/// derivatives of the activations work.
final class UnaryBackwardOp: Primitive, Sendable {
    typealias Partial = @Sendable (_ a: Tensor, _ g: Tensor, _ v: Tensor, _ op: UnaryBackwardOp) -> Tensor?
    let name: String
    let kernel: ag_unary_backward_op
    let p0: Double
    let da: Partial

    init(name: String, kernel: ag_unary_backward_op, p0: Double = 0, da: @escaping Partial) {
        self.name = name
        self.kernel = kernel
        self.p0 = p0
        self.da = da
    }

    func outputShape(_ inputs: [[Int]]) -> [Int] {
        guard inputs[0] == inputs[1] else {
            opError(name, "shapes \(ShapeRules.describe(inputs[0])) and \(ShapeRules.describe(inputs[1])) differ")
        }
        return inputs[0]
    }

    func outputShape(of inputs: [Tensor]) -> [Int] {
        inputs[0].shape == inputs[1].shape ? inputs[0].shape : outputShape(inputs.map(\.shape))
    }

    func forward(_ inputs: [Tensor], shape: [Int]) -> Tensor {
        let a = inputs[0].contiguousValues(), g = inputs[1].contiguousValues()
        let out = Tensor(uninitializedShape: shape, dtype: a.dtype)
        ag_unary_backward(kernel, a.dtype.c, a.scalarCount, a.pointer, g.pointer, out.pointer, p0)
        return out
    }

    func forward(_ inputs: [Tensor], into output: Tensor) -> Bool {
        let a = inputs[0], g = inputs[1]
        guard a.isContiguous, g.isContiguous, output.isContiguous else { return false }
        ag_unary_backward(kernel, a.dtype.c, a.scalarCount, a.pointer, g.pointer, output.pointer, p0)
        return true
    }

    func allowsInPlace(_ index: Int) -> Bool { true }

    /// v · ∂out/∂g: the kernel itself with v in g's place.
    func dg(_ a: Tensor, _ v: Tensor) -> Tensor { self(a, v) }

    func vjp(_ inputs: [Tensor], _ output: Tensor, _ grad: Tensor, _ needs: [Bool]) -> [Tensor?] {
        [needs[0] ? da(inputs[0], inputs[1], grad, self) : nil,
         needs[1] ? dg(inputs[0], grad) : nil]
    }

    func jvp(_ inputs: [Tensor], _ output: Tensor, _ tangents: [Tensor?]) -> Tensor {
        let terms = [tangents[0].flatMap { da(inputs[0], inputs[1], $0, self) },
                     tangents[1].map { dg(inputs[0], $0) }]
        return sumOfTerms(terms, like: output)
    }
}

/// The sum of the non-nil terms, or zeros shaped like `like`.
func sumOfTerms(_ terms: [Tensor?], like: Tensor) -> Tensor {
    var total: Tensor?
    for case let t? in terms { total = total.map { $0 + t } ?? t }
    return total ?? Tensor.zeros(like: like)
}

// MARK: - The table of unary math ops

extension UnaryOp {
    static let neg = UnaryOp(name: "neg", kernel: AG_NEG) { _, _, v, _ in -v }
    static let exp = UnaryOp(name: "exp", kernel: AG_EXP) { _, y, v, _ in v * y }
    static let log = UnaryOp(name: "log", kernel: AG_LOG) { x, _, v, _ in v / x }
    static let sqrt = UnaryOp(name: "sqrt", kernel: AG_SQRT) { _, y, v, _ in v / (y * 2) }
    static let abs = UnaryOp(name: "abs", kernel: AG_ABS) { x, _, v, _ in v * x.sign() }
    static let sin = UnaryOp(name: "sin", kernel: AG_SIN) { x, _, v, _ in v * Autograd.cos(x) }
    static let cos = UnaryOp(name: "cos", kernel: AG_COS) { x, _, v, _ in -(v * Autograd.sin(x)) }
    static let square = UnaryOp(name: "square", kernel: AG_SQUARE) { x, _, v, _ in v * x * 2 }
    static let reciprocal = UnaryOp(name: "reciprocal", kernel: AG_RECIPROCAL) { _, y, v, _ in -(v * y * y) }
    /// Piecewise constant: its derivative is zero wherever it exists.
    static let sign = UnaryOp(name: "sign", kernel: AG_SIGN) { _, _, _, _ in nil }

    /// x · scale + shift: arithmetic with a scalar, without making a tensor
    /// of it. The ops of recently used constants are kept, so that `x * 1.01`
    /// in a loop makes no new op each time.
    static func affine(scale: Double, shift: Double) -> UnaryOp {
        let key = AffineKey(scale: scale.bitPattern, shift: shift.bitPattern)
        if let op = affineCache.withLock({ $0[key] }) { return op }
        let op = UnaryOp(name: "affine", kernel: AG_AFFINE, p0: scale, p1: shift) { _, _, v, op in
            // v · scale: this op itself when it has no shift.
            op.p0 == 1 ? v : (op.p1 == 0 ? op : UnaryOp.affine(scale: op.p0, shift: 0))(v)
        }
        affineCache.withLock { cache in
            if cache.count >= 256 { cache.removeAll(keepingCapacity: true) }
            cache[key] = op
        }
        return op
    }

    private struct AffineKey: Hashable { let scale: UInt64, shift: UInt64 }
    private static let affineCache = Mutex<[AffineKey: UnaryOp]>([:])

    /// Gradient 1 inside [lo, hi] (bounds included, as in PyTorch), 0 outside.
    static func clamp(_ lo: Double, _ hi: Double) -> UnaryOp {
        UnaryOp(name: "clamp", kernel: AG_CLAMP, p0: lo, p1: hi) { x, _, v, op in
            v * ((x .>= op.p0) * (x .<= op.p1))
        }
    }
}

// MARK: - Public functions

/// Elementwise eˣ.
///
/// ```swift
/// exp(Tensor([0, 1]))  // [1, 2.7183]
/// ```
public func exp(_ x: Tensor) -> Tensor { UnaryOp.exp(x) }
/// Elementwise natural logarithm.
public func log(_ x: Tensor) -> Tensor { UnaryOp.log(x) }
/// Elementwise square root.
public func sqrt(_ x: Tensor) -> Tensor { UnaryOp.sqrt(x) }
/// Elementwise absolute value; its gradient at 0 is 0.
public func abs(_ x: Tensor) -> Tensor { UnaryOp.abs(x) }
/// Elementwise sine.
public func sin(_ x: Tensor) -> Tensor { UnaryOp.sin(x) }
/// Elementwise cosine.
public func cos(_ x: Tensor) -> Tensor { UnaryOp.cos(x) }

extension Tensor {
    /// Elementwise −1, 0 or 1 (not differentiable: its gradient is zero).
    public func sign() -> Tensor { UnaryOp.sign(self) }
    /// Elementwise x².
    public func squared() -> Tensor { UnaryOp.square(self) }
    /// Elementwise 1 / x.
    public func reciprocal() -> Tensor { UnaryOp.reciprocal(self) }

    /// Limits every element to `[min, max]`.
    ///
    /// ```swift
    /// Tensor([-2, 0.5, 3]).clamped(min: 0, max: 1)  // [0, 0.5, 1]
    /// ```
    public func clamped(min lo: Double = -.infinity, max hi: Double = .infinity) -> Tensor {
        guard lo <= hi else { opError("clamp", "min \(lo) is greater than max \(hi)") }
        return UnaryOp.clamp(lo, hi)(self)
    }

    /// Elementwise negation.
    public static prefix func - (x: Tensor) -> Tensor { UnaryOp.neg(x) }
}
