import AutogradTensor
import CKernels

/// An elementwise op of one input, y = f(x): one row of the unary op table.
///
/// The C row (`AG_UNARY_OPS` in `CKernels/include/ag_elementwise_ops.h`)
/// holds the forward formula, the derivative kernel g · f′(a), what that
/// kernel reads (x or y) and the cost class; this Swift row adds what only
/// Swift needs: the derivative of the derivative kernel (for second
/// derivatives), and facts that the fused paths, layers, benchmarks and tests
/// read off the table (``UnaryOp/all``) instead of keeping lists of their own.
///
/// The first derivative is the fused kernel ``UnaryBackwardOp`` applied to
/// the saved x or y: the VJP applies it to the output gradient, the JVP to
/// the input tangent. A class, so that a recorded node holds a reference to
/// the table's entry rather than a boxed copy.
package final class UnaryOp: Primitive, ElementwisePrimitive, Sendable {
    /// v · ∂(g · f′(a))/∂a, given a (x or y, as the C row reads), g and v;
    /// nil where that is zero (f′ piecewise constant in a).
    typealias SecondDerivative = @Sendable (_ a: Tensor, _ g: Tensor, _ v: Tensor, _ op: UnaryOp) -> Tensor?

    /// What the row is, for the consumers of the table.
    package enum Role: Sendable {
        /// Arithmetic and math functions (exp, log, sin, scalar arithmetic, …).
        case math
        /// An activation function: it gets an ``Activation`` value, a layer,
        /// a fused Linear+activation path where its derivative can be read off
        /// its output, and benchmark workloads.
        case activation
    }

    package let name: String
    package let kernel: ag_unary_op
    package let p0: Double
    package let p1: Double
    package let role: Role
    /// True when the derivative is zero everywhere it exists (sign).
    let isPiecewiseConstant: Bool
    /// True when the derivative kernel reads x only through its sign and y
    /// has the sign of x, for these parameters (relu; leaky relu with a
    /// non-negative slope): the kernel then gives the same from y.
    let outputKeepsSign: @Sendable (_ p0: Double, _ p1: Double) -> Bool
    /// For a row whose derivative reads neither x nor y (g times a
    /// constant): the one-input op that applies it to v, cheaper than the
    /// two-input derivative kernel; a nil result means v itself.
    let linearDerivative: (@Sendable (_ op: UnaryOp) -> UnaryOp?)?
    /// He initialisation suits layers before it (ReLU-like), rather than Glorot.
    let prefersHeInit: Bool
    let secondDerivative: SecondDerivative?

    /// A row. `name` defaults to the C row's.
    init(_ kernel: ag_unary_op, p0: Double = 0, p1: Double = 0, role: Role = .math,
         isPiecewiseConstant: Bool = false,
         outputKeepsSign: @escaping @Sendable (_ p0: Double, _ p1: Double) -> Bool = { _, _ in false },
         linearDerivative: (@Sendable (_ op: UnaryOp) -> UnaryOp?)? = nil,
         prefersHeInit: Bool = false, secondDerivative: SecondDerivative?) {
        self.name = String(cString: ag_unary_name(kernel))
        self.kernel = kernel
        self.p0 = p0
        self.p1 = p1
        self.role = role
        self.isPiecewiseConstant = isPiecewiseConstant
        self.outputKeepsSign = outputKeepsSign
        self.linearDerivative = linearDerivative
        self.prefersHeInit = prefersHeInit
        self.secondDerivative = secondDerivative
    }

    /// What the C derivative kernel reads.
    var reads: ag_reads { ag_unary_reads(kernel) }

    /// True when g · f′(x) can be computed from y alone (the C kernel reads y,
    /// or reads x only through a sign y shares). Such an op can be fused into
    /// an op that keeps only its output (``LinearActivation``).
    var derivativeFromOutput: Bool {
        !isPiecewiseConstant && (reads == AG_READS_OUTPUT || reads == AG_READS_NONE || outputKeepsSign(p0, p1))
    }

    /// True when a compiled plan may apply this op as the epilogue of the
    /// GEMM before it (once per output row, while the row is in cache): the
    /// activation rows.
    package var fusesAsEpilogue: Bool { role == .activation }

    /// True when the running CPU has a hand-vectorised float32 kernel for this op.
    var hasVectorKernel: Bool { ag_unary_has_vector_kernel(kernel) != 0 }

    package var identity: OpIdentity? { OpIdentity(self, [kernel.rawValue, p0.bitPattern, p1.bitPattern]) }

    package var elementwiseKernel: ElementwiseKernel { .unary(self) }

    package func outputShape(_ inputs: [[Int]]) -> [Int] { inputs[0] }
    package func outputShape(of inputs: [Tensor]) -> [Int] { inputs[0].shape }

    package func forward(_ inputs: [Tensor], shape: [Int]) -> Tensor {
        let y = Tensor(uninitializedShape: shape, dtype: inputs[0].dtype)
        run(inputs[0].contiguousValues(), into: y)
        return y
    }

    package func forward(_ inputs: [Tensor], into output: Tensor) -> Bool {
        guard inputs[0].isContiguous, output.isContiguous else { return false }
        run(inputs[0], into: output)
        return true
    }

    /// The kernel call both forward paths make (contiguous buffers; it
    /// allocates nothing, not even an input array, as every op calls it).
    private func run(_ x: Tensor, into y: Tensor) {
        ag_unary(kernel, x.dtype.c, x.scalarCount, x.pointer, y.pointer, p0, p1)
    }

    package func allowsInPlace(_ index: Int) -> Bool { true }

    /// The derivative kernel of this row as an op.
    var backward: UnaryBackwardOp { UnaryBackwardOp(self) }

    /// v · f′(x), from x and y = f(x), as one fused kernel; nil for a zero
    /// derivative. `x` may be nil when ``derivativeFromOutput`` is true.
    func derivative(x: Tensor?, y: Tensor, _ v: Tensor) -> Tensor? {
        if isPiecewiseConstant { return nil }
        switch reads {
        case AG_READS_NONE:
            if let linearDerivative { return linearDerivative(self).map { $0(v) } ?? v }
            return backward(v, v)
        case AG_READS_OUTPUT: return backward(y, v)
        default: return backward(x ?? y, v)
        }
    }

    package func vjp(_ inputs: [Tensor], _ output: Tensor, _ grad: Tensor, _ needs: [Bool]) -> [Tensor?] {
        [vjpOfOnlyInput(inputs, output, grad)]
    }

    package func vjpOfOnlyInput(_ inputs: [Tensor], _ output: Tensor, _ grad: Tensor) -> Tensor? {
        derivative(x: inputs[0], y: output, grad)
    }

    package func jvp(_ inputs: [Tensor], _ output: Tensor, _ tangents: [Tensor?]) -> Tensor {
        derivative(x: inputs[0], y: output, tangents[0]!) ?? Tensor.zeros(like: output)
    }

    /// The same row with other parameters (a clamp's bounds, a slope).
    func with(p0: Double, p1: Double = 0) -> UnaryOp {
        UnaryOp(kernel, p0: p0, p1: p1, role: role, isPiecewiseConstant: isPiecewiseConstant,
                outputKeepsSign: outputKeepsSign, linearDerivative: linearDerivative, prefersHeInit: prefersHeInit,
                secondDerivative: secondDerivative)
    }
}

/// The derivative kernel of a unary row, out = g · f′(a), as an op of (a, g):
/// linear in g, so its g-derivative is the kernel itself with v in g's
/// place; its a-derivative is the row's ``UnaryOp/secondDerivative``. These
/// are what make second derivatives of every unary op work.
///
/// A struct holding only the row: making one allocates nothing, and a node
/// stores it inline (every VJP of a unary op makes one).
struct UnaryBackwardOp: Primitive, ElementwisePrimitive, Sendable {
    let forwardOp: UnaryOp

    init(_ forwardOp: UnaryOp) { self.forwardOp = forwardOp }

    var name: String { forwardOp.name + "Backward" }
    var kernel: ag_unary_op { forwardOp.kernel }
    var identity: OpIdentity? {
        OpIdentity(self, [kernel.rawValue, forwardOp.p0.bitPattern, forwardOp.p1.bitPattern])
    }
    var elementwiseKernel: ElementwiseKernel { .unaryBackward(forwardOp) }

    func outputShape(_ inputs: [[Int]]) -> [Int] {
        guard inputs[0] == inputs[1] else {
            opError(name, "shapes \(ShapeRules.describe(inputs[0])) and \(ShapeRules.describe(inputs[1])) differ")
        }
        return inputs[0]
    }

    func outputShape(of inputs: [Tensor]) -> [Int] {
        inputs[0].shape == inputs[1].shape ? inputs[0].shape : outputShape(inputs.map { $0.shape })
    }

    func forward(_ inputs: [Tensor], shape: [Int]) -> Tensor {
        let out = Tensor(uninitializedShape: shape, dtype: inputs[0].dtype)
        run(inputs[0].contiguousValues(), inputs[1].contiguousValues(), into: out)
        return out
    }

    func forward(_ inputs: [Tensor], into output: Tensor) -> Bool {
        let a = inputs[0], g = inputs[1]
        guard a.isContiguous, g.isContiguous, output.isContiguous else { return false }
        run(a, g, into: output)
        return true
    }

    /// The kernel call both forward paths make, as ``UnaryOp``'s.
    private func run(_ a: Tensor, _ g: Tensor, into out: Tensor) {
        ag_unary_backward(kernel, a.dtype.c, a.scalarCount, a.pointer, g.pointer, out.pointer,
                          forwardOp.p0, forwardOp.p1)
    }

    func allowsInPlace(_ index: Int) -> Bool { true }

    /// v · ∂out/∂a.
    func da(_ a: Tensor, _ g: Tensor, _ v: Tensor) -> Tensor? {
        forwardOp.reads == AG_READS_NONE ? nil : forwardOp.secondDerivative?(a, g, v, forwardOp)
    }

    /// v · ∂out/∂g: the kernel itself with v in g's place.
    func dg(_ a: Tensor, _ v: Tensor) -> Tensor { self(a, v) }

    func vjp(_ inputs: [Tensor], _ output: Tensor, _ grad: Tensor, _ needs: [Bool]) -> [Tensor?] {
        [needs[0] ? da(inputs[0], inputs[1], grad) : nil,
         needs[1] ? dg(inputs[0], grad) : nil]
    }

    func jvp(_ inputs: [Tensor], _ output: Tensor, _ tangents: [Tensor?]) -> Tensor {
        let terms = [tangents[0].flatMap { da(inputs[0], inputs[1], $0) },
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

extension Primitive {
    /// The JVP of an op linear in each of its two inputs (matmul, the
    /// convolutions): f(ta, b) + f(a, tb).
    func bilinearJVP(_ inputs: [Tensor], _ output: Tensor, _ tangents: [Tensor?]) -> Tensor {
        let (a, b) = (inputs[0], inputs[1])
        return sumOfTerms([tangents[0].map { self($0, b) }, tangents[1].map { self(a, $0) }], like: output)
    }
}

// MARK: - The table of unary math ops

extension UnaryOp {
    /// Its derivative is itself: −v.
    static let neg = UnaryOp(AG_NEG, linearDerivative: { op in op }, secondDerivative: nil)
    static let exp = UnaryOp(AG_EXP) { _, g, v, _ in v * g }                          // a = y
    static let log = UnaryOp(AG_LOG) { x, g, v, _ in -(v * g / x.squared()) }
    static let sqrt = UnaryOp(AG_SQRT) { y, g, v, _ in -(v * g / (y.squared() * 2)) }
    static let abs = UnaryOp(AG_ABS, secondDerivative: nil)
    static let sin = UnaryOp(AG_SIN) { x, g, v, _ in -(v * g * AutogradOps.sin(x)) }
    static let cos = UnaryOp(AG_COS) { x, g, v, _ in -(v * g * AutogradOps.cos(x)) }
    static let square = UnaryOp(AG_SQUARE) { _, g, v, _ in v * g * 2 }
    static let reciprocal = UnaryOp(AG_RECIPROCAL) { y, g, v, _ in v * g * y * -2 }  // a = y
    /// Piecewise constant: its derivative is zero wherever it exists.
    static let sign = UnaryOp(AG_SIGN, isPiecewiseConstant: true, secondDerivative: nil)
    /// Its derivative is x · scale: x + c passes the gradient through as it is.
    package static let affineRow = UnaryOp(AG_AFFINE, p0: 1, linearDerivative: { op in
        op.p0 == 1 ? nil : (op.p1 == 0 ? op : UnaryOp.affine(scale: op.p0, shift: 0))
    }, secondDerivative: nil)
    /// Gradient 1 strictly inside (lo, hi), 0 on the bounds and outside (as PyTorch 2.15's clamp).
    static let clampRow = UnaryOp(AG_CLAMP, secondDerivative: nil)

    /// The math rows; the activation rows are ``activations``. Every row of
    /// the C table is in exactly one of the two (a test checks).
    static let math: [UnaryOp] = [neg, exp, log, sqrt, abs, sin, cos, square, reciprocal, sign, affineRow, clampRow]

    /// Every row of the table.
    static var all: [UnaryOp] { math + activations }

    /// x · scale + shift: arithmetic with a scalar, without making a tensor
    /// of it. The ops of recently used constants are kept, so that `x * 1.01`
    /// in a loop makes no new op each time.
    static func affine(scale: Double, shift: Double) -> UnaryOp {
        let key = AffineKey(scale: scale.bitPattern, shift: shift.bitPattern)
        if let op = affineCache.withLock({ $0[key] }) { return op }
        let op = affineRow.with(p0: scale, p1: shift)
        affineCache.withLock { cache in
            if cache.count >= 256 { cache.removeAll(keepingCapacity: true) }
            cache[key] = op
        }
        return op
    }

    private struct AffineKey: Hashable { let scale: UInt64, shift: UInt64 }
    private static let affineCache = Locked<[AffineKey: UnaryOp]>([:])

    static func clamp(_ lo: Double, _ hi: Double) -> UnaryOp { clampRow.with(p0: lo, p1: hi) }
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

    /// Limits every element to `[min, max]`. Its gradient is 1 strictly
    /// inside the bounds and 0 on and outside them, as PyTorch 2.15's.
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
