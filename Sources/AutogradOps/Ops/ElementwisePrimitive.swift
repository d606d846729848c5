import AutogradTensor
import CKernels

/// The kernel an elementwise op runs, as the compiler's fusion passes see
/// it: a row of the unary or binary op table, or a unary row's derivative.
package enum ElementwiseKernel {
    case unary(UnaryOp)
    case binary(ag_binary_op)
    case unaryBackward(UnaryOp)
}

/// An op that applies one table kernel elementwise, so that the compiler
/// may run it inside a fused chain or a GEMM epilogue. Fusion asks this,
/// never the op's concrete type.
package protocol ElementwisePrimitive: Primitive {
    var elementwiseKernel: ElementwiseKernel { get }
}
