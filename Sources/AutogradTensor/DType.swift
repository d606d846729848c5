import CKernels

/// The element type of a ``Tensor``.
///
/// `float32` is the default everywhere; `float64` is for gradient checks and
/// for users who need the precision.
///
/// ```swift
/// let x = Tensor.zeros([2, 3], dtype: .float64)
/// print(x.dtype)  // float64
/// ```
public enum DType: Sendable, Hashable, CustomStringConvertible {
    /// 32-bit IEEE 754 floating point.
    case float32
    /// 64-bit IEEE 754 floating point.
    case float64

    /// Bytes per element.
    @inlinable public var byteSize: Int {
        switch self {
        case .float32: 4
        case .float64: 8
        }
    }

    public var description: String {
        switch self {
        case .float32: "float32"
        case .float64: "float64"
        }
    }

    /// The kernels' name for this dtype.
    @inlinable package var c: ag_dtype {
        switch self {
        case .float32: AG_F32
        case .float64: AG_F64
        }
    }
}
