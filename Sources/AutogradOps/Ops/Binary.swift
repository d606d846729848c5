import AutogradTensor
import CKernels

/// An elementwise op of two inputs with NumPy broadcasting: one row of the
/// binary op table. The C row (`AG_BINARY_OPS`) holds the formula and cost;
/// this row, the two partial derivatives, each written once as a linear map
/// (`da(a, b, y, v)` is v · ∂y/∂a). The VJP applies them to the output
/// gradient, the JVP to the input tangents; the engine sums gradients of
/// broadcast inputs back to their shapes. A class, like ``UnaryOp``.
final class BinaryOp: Primitive, ElementwisePrimitive, Sendable {
    typealias Partial = @Sendable (_ a: Tensor, _ b: Tensor, _ y: Tensor, _ v: Tensor) -> Tensor?
    let name: String
    let kernel: ag_binary_op
    let da: Partial
    let db: Partial

    init(_ kernel: ag_binary_op, da: @escaping Partial, db: @escaping Partial) {
        self.name = String(cString: ag_binary_name(kernel))
        self.kernel = kernel
        self.da = da
        self.db = db
    }

    var identity: OpIdentity? { OpIdentity(self, [kernel.rawValue]) }
    var elementwiseKernel: ElementwiseKernel { .binary(kernel) }

    func outputShape(_ inputs: [[Int]]) -> [Int] {
        guard let shape = ShapeRules.broadcast(inputs[0], inputs[1]) else {
            opError(name, "shapes \(ShapeRules.describe(inputs[0])) and \(ShapeRules.describe(inputs[1])) are not broadcastable")
        }
        return shape
    }

    func outputShape(of inputs: [Tensor]) -> [Int] {
        inputs[0].shape == inputs[1].shape ? inputs[0].shape : outputShape(inputs.map { $0.shape })
    }

    func forward(_ inputs: [Tensor], shape: [Int]) -> Tensor {
        BinaryOp.run(kernel, inputs[0], inputs[1], shape: shape)
    }

    func forward(_ inputs: [Tensor], into output: Tensor) -> Bool {
        BinaryOp.run(kernel, inputs[0], inputs[1], into: output)
    }

    func allowsInPlace(_ index: Int) -> Bool { true }

    /// Runs a broadcasting binary kernel into a contiguous `out`, allocating
    /// nothing: broadcast strides are laid out on the stack. False (nothing
    /// written) when `out` is not contiguous.
    @discardableResult
    static func run(_ kernel: ag_binary_op, _ a: Tensor, _ b: Tensor, into out: Tensor) -> Bool {
        guard out.isContiguous else { return false }
        let shape = out.shape, rank = shape.count
        withUnsafeTemporaryAllocation(of: Int64.self, capacity: 2 * rank + 1) { temp in
            let sa = temp.baseAddress!, sb = sa + rank
            a.writeBroadcastStrides(to: shape, into: sa)
            b.writeBroadcastStrides(to: shape, into: sb)
            withInt64Pointer(shape) { s in
                ag_binary(kernel, a.dtype.c, Int32(rank), s, a.pointer, sa, b.pointer, sb, out.pointer)
            }
        }
        return true
    }

    /// Runs a broadcasting binary kernel on two tensors of any strides.
    static func run(_ kernel: ag_binary_op, _ a: Tensor, _ b: Tensor, shape: [Int]) -> Tensor {
        let out = Tensor(uninitializedShape: shape, dtype: a.dtype)
        run(kernel, a, b, into: out)
        return out
    }

    func vjp(_ inputs: [Tensor], _ output: Tensor, _ grad: Tensor, _ needs: [Bool]) -> [Tensor?] {
        let (a, b) = (inputs[0], inputs[1])
        return [needs[0] ? da(a, b, output, grad) : nil, needs[1] ? db(a, b, output, grad) : nil]
    }

    func jvp(_ inputs: [Tensor], _ output: Tensor, _ tangents: [Tensor?]) -> Tensor {
        let (a, b) = (inputs[0], inputs[1])
        return sumOfTerms([tangents[0].flatMap { da(a, b, output, $0) },
                           tangents[1].flatMap { db(a, b, output, $0) }], like: output)
    }
}

extension Tensor {
    /// Element strides that read this tensor as if broadcast to `shape`
    /// (0 along every broadcast dimension).
    /// ``broadcastStrides(to:)`` written into `out` (room for `target.count`), allocating nothing.
    func writeBroadcastStrides(to target: [Int], into out: UnsafeMutablePointer<Int64>) {
        let lead = target.count - rank
        for i in 0..<target.count { out[i] = 0 }
        for i in 0..<rank where !(shape[i] == 1 && target[lead + i] != 1) {
            out[lead + i] = Int64(strides[i])
        }
    }

    func broadcastStrides(to target: [Int]) -> [Int] {
        let lead = target.count - rank
        var out = [Int](repeating: 0, count: target.count)
        for i in 0..<rank where !(shape[i] == 1 && target[lead + i] != 1) {
            out[lead + i] = strides[i]
        }
        return out
    }
}

// MARK: - The table of binary ops

extension BinaryOp {
    static let add = BinaryOp(AG_ADD, da: { _, _, _, v in v }, db: { _, _, _, v in v })
    static let sub = BinaryOp(AG_SUB, da: { _, _, _, v in v }, db: { _, _, _, v in -v })
    static let mul = BinaryOp(AG_MUL, da: { _, b, _, v in v * b }, db: { a, _, _, v in v * a })
    static let div = BinaryOp(AG_DIV, da: { _, b, _, v in v / b }, db: { _, b, y, v in -(v * y / b) })
    /// As PyTorch: ∂/∂a = b · aᵇ⁻¹, taken as 0 where b = 0 (even at a = 0);
    /// ∂/∂b = y · log(a), taken as 0 where a = 0 and b ≥ 0 (the limit of
    /// 0ᵇ log 0), −∞ where a = 0 and b < 0, NaN for a < 0 (real-valued math).
    static let pow = BinaryOp(AG_POW,
                              da: { a, b, _, v in
                                  Tensor.where(b .== 0, a.scalarLike(0), v * b * AutogradOps.pow(a, b - 1))
                              },
                              db: { a, b, y, v in
                                  Tensor.where((a .== 0) * (b .>= 0), a.scalarLike(0), v * y * AutogradOps.log(a))
                              })
    /// Ties split the gradient evenly between the inputs, as in PyTorch.
    static let maximum = BinaryOp(AG_MAXIMUM,
                                  da: { a, b, _, v in v * BinaryOp.winnerMask(a, b, AG_GT) },
                                  db: { a, b, _, v in v * BinaryOp.winnerMask(b, a, AG_GT) })
    static let minimum = BinaryOp(AG_MINIMUM,
                                  da: { a, b, _, v in v * BinaryOp.winnerMask(a, b, AG_LT) },
                                  db: { a, b, _, v in v * BinaryOp.winnerMask(b, a, AG_LT) })

    /// The differentiable rows of the binary table; the comparison rows are
    /// ``Comparison`` ops (a test checks every C row is one or the other).
    static let all: [BinaryOp] = [add, sub, mul, div, pow, maximum, minimum]

    /// 1 where `a` wins the comparison against `b`, ½ on ties, 0 where it loses.
    static func winnerMask(_ a: Tensor, _ b: Tensor, _ wins: ag_binary_op) -> Tensor {
        compare(wins, a, b, op: "mask") + compare(AG_EQ, a, b, op: "mask") * 0.5
    }
}

/// An elementwise comparison as a 0/1 mask in the inputs' dtype, with
/// broadcasting. Not differentiable (its gradient is zero); an op all the
/// same, so that a compiled graph computes the mask on every call.
struct Comparison: ElementwisePrimitive {
    let kernel: ag_binary_op
    let name: String

    var identity: OpIdentity? { OpIdentity(self, [kernel.rawValue]) }
    var elementwiseKernel: ElementwiseKernel { .binary(kernel) }

    /// The comparison rows of the binary table.
    static let kernels: [ag_binary_op] = [AG_EQ, AG_NE, AG_LT, AG_LE, AG_GT, AG_GE]

    func outputShape(_ inputs: [[Int]]) -> [Int] {
        guard let shape = ShapeRules.broadcast(inputs[0], inputs[1]) else {
            opError(name, "shapes \(ShapeRules.describe(inputs[0])) and \(ShapeRules.describe(inputs[1])) are not broadcastable")
        }
        return shape
    }

    func forward(_ inputs: [Tensor], shape: [Int]) -> Tensor { BinaryOp.run(kernel, inputs[0], inputs[1], shape: shape) }

    func forward(_ inputs: [Tensor], into output: Tensor) -> Bool {
        BinaryOp.run(kernel, inputs[0], inputs[1], into: output)
    }

    func allowsInPlace(_ index: Int) -> Bool { true }

    func vjp(_ inputs: [Tensor], _ output: Tensor, _ grad: Tensor, _ needs: [Bool]) -> [Tensor?] { [nil, nil] }

    func jvp(_ inputs: [Tensor], _ output: Tensor, _ tangents: [Tensor?]) -> Tensor { Tensor.zeros(like: output) }
}

/// A comparison as a 0/1 mask in the inputs' dtype; not recorded for gradients.
func compare(_ kernel: ag_binary_op, _ a: Tensor, _ b: Tensor, op: String) -> Tensor {
    noGrad { Comparison(kernel: kernel, name: op)(a.detach(), b.detach()) }
}

// MARK: - Operators and functions

extension Tensor {
    /// A rank-0 tensor of this tensor's dtype, for mixing scalars into ops.
    func scalarLike(_ value: Double) -> Tensor { Tensor(value, dtype: dtype) }

    /// Elementwise sum with broadcasting.
    ///
    /// ```swift
    /// let y = Tensor([[1, 2], [3, 4]]) + Tensor([10, 20])  // [[11, 22], [13, 24]]
    /// ```
    public static func + (a: Tensor, b: Tensor) -> Tensor { BinaryOp.add(a, b) }
    public static func + (a: Tensor, b: Double) -> Tensor { UnaryOp.affine(scale: 1, shift: b)(a) }
    public static func + (a: Double, b: Tensor) -> Tensor { UnaryOp.affine(scale: 1, shift: a)(b) }

    /// Elementwise difference with broadcasting.
    public static func - (a: Tensor, b: Tensor) -> Tensor { BinaryOp.sub(a, b) }
    public static func - (a: Tensor, b: Double) -> Tensor { UnaryOp.affine(scale: 1, shift: -b)(a) }
    public static func - (a: Double, b: Tensor) -> Tensor { UnaryOp.affine(scale: -1, shift: a)(b) }

    /// Elementwise product with broadcasting.
    public static func * (a: Tensor, b: Tensor) -> Tensor { BinaryOp.mul(a, b) }
    public static func * (a: Tensor, b: Double) -> Tensor { UnaryOp.affine(scale: b, shift: 0)(a) }
    public static func * (a: Double, b: Tensor) -> Tensor { UnaryOp.affine(scale: a, shift: 0)(b) }

    /// Elementwise quotient with broadcasting.
    public static func / (a: Tensor, b: Tensor) -> Tensor { BinaryOp.div(a, b) }
    public static func / (a: Tensor, b: Double) -> Tensor { BinaryOp.div(a, a.scalarLike(b)) }  // exact division
    public static func / (a: Double, b: Tensor) -> Tensor { BinaryOp.div(b.scalarLike(a), b) }

    /// Elementwise comparisons: 1 where true, 0 where false, in the inputs'
    /// dtype. Not differentiable.
    public static func .== (a: Tensor, b: Tensor) -> Tensor { compare(AG_EQ, a, b, op: ".==") }
    public static func .!= (a: Tensor, b: Tensor) -> Tensor { compare(AG_NE, a, b, op: ".!=") }
    public static func .< (a: Tensor, b: Tensor) -> Tensor { compare(AG_LT, a, b, op: ".<") }
    public static func .<= (a: Tensor, b: Tensor) -> Tensor { compare(AG_LE, a, b, op: ".<=") }
    public static func .> (a: Tensor, b: Tensor) -> Tensor { compare(AG_GT, a, b, op: ".>") }
    public static func .>= (a: Tensor, b: Tensor) -> Tensor { compare(AG_GE, a, b, op: ".>=") }
    public static func .== (a: Tensor, b: Double) -> Tensor { a .== a.scalarLike(b) }
    public static func .!= (a: Tensor, b: Double) -> Tensor { a .!= a.scalarLike(b) }
    public static func .< (a: Tensor, b: Double) -> Tensor { a .< a.scalarLike(b) }
    public static func .<= (a: Tensor, b: Double) -> Tensor { a .<= a.scalarLike(b) }
    public static func .> (a: Tensor, b: Double) -> Tensor { a .> a.scalarLike(b) }
    public static func .>= (a: Tensor, b: Double) -> Tensor { a .>= a.scalarLike(b) }
}

/// Elementwise aᵇ with broadcasting.
///
/// ```swift
/// pow(Tensor([1, 2, 3]), 2)  // [1, 4, 9]
/// ```
public func pow(_ a: Tensor, _ b: Tensor) -> Tensor { BinaryOp.pow(a, b) }
/// Elementwise aᵇ for a scalar exponent.
public func pow(_ a: Tensor, _ b: Double) -> Tensor { BinaryOp.pow(a, a.scalarLike(b)) }
/// Elementwise aᵇ for a scalar base.
public func pow(_ a: Double, _ b: Tensor) -> Tensor { BinaryOp.pow(b.scalarLike(a), b) }

/// Elementwise larger of `a` and `b` (NaN wins); ties split the gradient evenly.
public func maximum(_ a: Tensor, _ b: Tensor) -> Tensor { BinaryOp.maximum(a, b) }
/// Elementwise smaller of `a` and `b` (NaN wins); ties split the gradient evenly.
public func minimum(_ a: Tensor, _ b: Tensor) -> Tensor { BinaryOp.minimum(a, b) }
