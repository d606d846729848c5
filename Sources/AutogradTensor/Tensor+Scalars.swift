import CKernels

/// A floating-point type a tensor's values can be read back as.
public protocol TensorScalar: BinaryFloatingPoint, Sendable {
    static var dtype: DType { get }
}

extension Float: TensorScalar {
    public static var dtype: DType { .float32 }
}

extension Double: TensorScalar {
    public static var dtype: DType { .float64 }
}

extension Tensor {
    /// All values in row-major order, converted to `T`.
    ///
    /// ```swift
    /// let v: [Float] = x.scalars(as: Float.self)
    /// ```
    public func scalars<T: TensorScalar>(as type: T.Type = Double.self) -> [T] {
        ThreadFlags.current.pointee.observer?.willRead(self, "scalars")
        let source = contiguousValues()
        let n = scalarCount
        return [T](unsafeUninitializedCapacity: n) { buffer, initialized in
            ag_cast(dtype.c, T.dtype.c, n, source.pointer, buffer.baseAddress)
            initialized = n
        }
    }

    /// All values in row-major order, as `Double`.
    public var scalars: [Double] { scalars(as: Double.self) }

    /// The value of a one-element tensor.
    ///
    /// Stops with a message when the tensor has more than one element.
    public func item() -> Double {
        guard scalarCount == 1 else {
            fatalError("item(): tensor of shape \(ShapeRules.describe(shape)) has \(scalarCount) elements, not 1")
        }
        ThreadFlags.current.pointee.observer?.willRead(self, "item()")
        return loadScalar()
    }

    /// The element at storage position `offset + index` (for one-element and
    /// contiguous tensors), read without checks or copies: for kernels.
    package func loadScalar(at index: Int = 0) -> Double {
        switch dtype {
        case .float32: Double(pointer.load(fromByteOffset: index * 4, as: Float.self))
        case .float64: pointer.load(fromByteOffset: index * 8, as: Double.self)
        }
    }

    /// Writes `value` at element `index` of `dtype` values starting here: for kernels.
    package func storeScalar(_ value: Double, at index: Int = 0) {
        pointer.storeScalar(value, at: index, dtype: dtype)
    }


    /// The value at a multi-index (negative indices count from the end).
    public subscript(scalarAt index: Int...) -> Double {
        guard index.count == rank else {
            fatalError("subscript: \(index.count) indices for a tensor of rank \(rank)")
        }
        ThreadFlags.current.pointee.observer?.willRead(self, "subscript(scalarAt:)")
        var position = offset
        for (axis, i) in index.enumerated() {
            let j = i < 0 ? i + shape[axis] : i
            guard j >= 0, j < shape[axis] else {
                fatalError("subscript: index \(i) is out of range for axis \(axis) of size \(shape[axis])")
            }
            position += j * strides[axis]
        }
        switch dtype {
        case .float32: return Double(storage.base.load(fromByteOffset: position * 4, as: Float.self))
        case .float64: return storage.base.load(fromByteOffset: position * 8, as: Double.self)
        }
    }
}

extension Tensor {
    /// The row-major index and value of the first NaN or infinity, or nil
    /// when every value is finite (one vectorized scan, no copy when
    /// contiguous).
    package func firstNonFinite() -> (index: Int, value: Double)? {
        let values = contiguousValues()
        let index = ag_first_nonfinite(values.dtype.c, values.scalarCount, values.pointer)
        guard index >= 0 else { return nil }
        return (index, values.pointer.loadScalar(at: index, dtype: values.dtype))
    }
}

extension UnsafeMutableRawPointer {
    /// Element `index` of an array of `dtype` values here, as a Double.
    package func loadScalar(at index: Int, dtype: DType) -> Double {
        switch dtype {
        case .float32: Double(load(fromByteOffset: index * 4, as: Float.self))
        case .float64: load(fromByteOffset: index * 8, as: Double.self)
        }
    }

    /// Stores `value` as element `index` of an array of `dtype` values here.
    package func storeScalar(_ value: Double, at index: Int, dtype: DType) {
        switch dtype {
        case .float32: storeBytes(of: Float(value), toByteOffset: index * 4, as: Float.self)
        case .float64: storeBytes(of: value, toByteOffset: index * 8, as: Double.self)
        }
    }
}
