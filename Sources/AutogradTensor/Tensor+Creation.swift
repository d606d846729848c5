import CKernels

/// A nested array literal of numbers, the element type of ``Tensor``'s array literals.
///
/// ```swift
/// let m: Tensor = [[1, 2, 3], [4, 5, 6]]   // shape [2, 3], float32
/// ```
public indirect enum TensorLiteral: Sendable, ExpressibleByArrayLiteral,
    ExpressibleByFloatLiteral, ExpressibleByIntegerLiteral
{
    case scalar(Double)
    case array([TensorLiteral])

    public init(arrayLiteral elements: TensorLiteral...) { self = .array(elements) }
    public init(floatLiteral value: Double) { self = .scalar(value) }
    public init(integerLiteral value: Int) { self = .scalar(Double(value)) }

    /// Shape and row-major values; stops if the nesting is ragged.
    func flattened() -> (shape: [Int], values: [Double]) {
        switch self {
        case .scalar(let v):
            return ([], [v])
        case .array(let items):
            guard let first = items.first else { return ([0], []) }
            let head = first.flattened()
            var values = head.values
            for (i, item) in items.enumerated().dropFirst() {
                let part = item.flattened()
                guard part.shape == head.shape else {
                    fatalError(
                        "Tensor literal: element \(i) has shape \(ShapeRules.describe(part.shape)) but element 0 has \(ShapeRules.describe(head.shape))")
                }
                values += part.values
            }
            return ([items.count] + head.shape, values)
        }
    }
}

extension Tensor: ExpressibleByArrayLiteral {
    /// A float32 tensor from a nested array literal.
    public convenience init(arrayLiteral elements: TensorLiteral...) {
        self.init(TensorLiteral.array(elements))
    }

    /// A tensor from nested arrays of numbers.
    ///
    /// ```swift
    /// let x = Tensor([[1, 2], [3, 4]], dtype: .float64)
    /// ```
    public convenience init(_ literal: TensorLiteral, dtype: DType = .float32) {
        let (shape, values) = literal.flattened()
        self.init(shape: shape, scalars: values, dtype: dtype)
    }

    /// A tensor of `shape` filled from `scalars` in row-major order.
    ///
    /// Stops with a message when `scalars.count` is not the product of `shape`.
    public convenience init(shape: [Int], scalars: [Double], dtype: DType = .float32) {
        let needed = ShapeRules.count(shape)
        guard scalars.count == needed else {
            fatalError(
                "Tensor(shape:scalars:): shape \(ShapeRules.describe(shape)) needs \(needed) scalars, got \(scalars.count)")
        }
        self.init(uninitializedShape: shape, dtype: dtype)
        scalars.withUnsafeBufferPointer { buf in
            ag_cast(AG_F64, dtype.c, needed, buf.baseAddress, pointer)
        }
    }

    /// A float32 tensor of `shape` filled from `scalars` in row-major order.
    public convenience init(shape: [Int], scalars: [Float]) {
        let needed = ShapeRules.count(shape)
        guard scalars.count == needed else {
            fatalError(
                "Tensor(shape:scalars:): shape \(ShapeRules.describe(shape)) needs \(needed) scalars, got \(scalars.count)")
        }
        self.init(uninitializedShape: shape, dtype: .float32)
        scalars.withUnsafeBufferPointer { buf in
            ag_cast(AG_F32, AG_F32, needed, buf.baseAddress, pointer)
        }
    }

    /// A one-dimensional tensor.
    public convenience init(_ scalars: [Double], dtype: DType = .float32) {
        self.init(shape: [scalars.count], scalars: scalars, dtype: dtype)
    }

    /// A one-dimensional float32 tensor.
    public convenience init(_ scalars: [Float]) {
        self.init(shape: [scalars.count], scalars: scalars)
    }

    /// A scalar (rank-0) tensor.
    public convenience init(_ value: Double, dtype: DType = .float32) {
        self.init(shape: [], scalars: [value], dtype: dtype)
    }

    /// A tensor of `shape` with every element equal to `value`.
    public static func full(_ shape: [Int], _ value: Double, dtype: DType = .float32) -> Tensor {
        let t = Tensor(uninitializedShape: shape, dtype: dtype)
        ag_fill(dtype.c, t.scalarCount, value, t.pointer)
        return t
    }

    /// A tensor of zeros.
    public static func zeros(_ shape: [Int], dtype: DType = .float32) -> Tensor {
        full(shape, 0, dtype: dtype)
    }

    /// A tensor of ones.
    public static func ones(_ shape: [Int], dtype: DType = .float32) -> Tensor {
        full(shape, 1, dtype: dtype)
    }

    /// Zeros with the shape and dtype of `other`.
    public static func zeros(like other: Tensor) -> Tensor {
        zeros(other.shape, dtype: other.dtype)
    }

    /// Ones with the shape and dtype of `other`.
    public static func ones(like other: Tensor) -> Tensor {
        ones(other.shape, dtype: other.dtype)
    }

    /// `start, start + step, …` up to but excluding `end`, as a 1-D tensor.
    ///
    /// ```swift
    /// Tensor.arange(0, 5)        // [0, 1, 2, 3, 4]
    /// Tensor.arange(1, 2, 0.25)  // [1, 1.25, 1.5, 1.75]
    /// ```
    public static func arange(_ start: Double, _ end: Double, _ step: Double = 1,
                              dtype: DType = .float32) -> Tensor {
        guard step != 0, step.isFinite, start.isFinite, end.isFinite else {
            fatalError("arange: step must be finite and nonzero, bounds finite (got \(start), \(end), \(step))")
        }
        let n = Swift.max(0, Int(((end - start) / step).rounded(.up)))
        return Tensor(shape: [n], scalars: (0..<n).map { start + Double($0) * step }, dtype: dtype)
    }

    /// The n×n identity matrix.
    public static func eye(_ n: Int, dtype: DType = .float32) -> Tensor {
        var values = [Double](repeating: 0, count: n * n)
        for i in 0..<n { values[i * n + i] = 1 }
        return Tensor(shape: [n, n], scalars: values, dtype: dtype)
    }
}
