import CKernels

/// An n-dimensional array of `float32` or `float64` values that records the
/// operations applied to it, so gradients can flow back through them.
///
/// A tensor is a view: a shape, element strides and an offset into a shared,
/// 64-byte aligned ``Storage``. Reshape, transpose, expand and slice make new
/// views of the same storage without copying. Values are immutable from the
/// user's side; the few in-place updates go through explicit APIs that bump a
/// version counter checked by the reverse pass.
///
/// ```swift
/// let x = Tensor([[1, 2], [3, 4]]).requiringGrad()
/// let y = (x * x).sum()
/// y.backward()
/// print(x.grad!)  // tensor([[2, 4], [6, 8]])
/// ```
public final class Tensor {
    @usableFromInline package let storage: Storage
    /// The size of each dimension; `[]` for a scalar.
    public let shape: [Int]
    /// Element strides of each dimension (0 for an expanded dimension).
    public let strides: [Int]
    /// Element offset of the first element in the storage.
    @usableFromInline package let offset: Int

    // The ops layer reads and writes these fields on every op. Accessed
    // directly from another module, a stored `var` costs a run-time
    // exclusivity check (a thread-local access-set insert) per access, and a
    // non-inlinable accessor a call and a retain. So the fields are
    // `@usableFromInline` with run-time checks off, behind `@inlinable`
    // accessors compiled here; nothing hands out overlapping `inout` access
    // to them.
    @usableFromInline @exclusivity(unchecked) var gradFnStorage: AnyObject?
    @usableFromInline @exclusivity(unchecked) var leafRequiresGradStorage = false
    @usableFromInline @exclusivity(unchecked) var tangentStorage: Tensor?
    @usableFromInline @exclusivity(unchecked) var gradStorage: Tensor?

    /// The node that produced this tensor in the recorded graph; `nil` for a
    /// leaf. Untyped here, as the tensor layer knows no nodes: the ops layer
    /// reads and writes it as `gradFn: Node?`.
    @inlinable package var gradFnObject: AnyObject? {
        get { gradFnStorage }
        set { gradFnStorage = newValue }
    }

    /// Whether this leaf's gradient is wanted (see ``requiresGrad``).
    @inlinable package var leafRequiresGrad: Bool {
        get { leafRequiresGradStorage }
        set { leafRequiresGradStorage = newValue }
    }

    /// The forward-mode tangent carried through ``jvp(of:at:tangent:)``.
    @inlinable package var tangent: Tensor? {
        get { tangentStorage }
        set { tangentStorage = newValue }
    }

    /// The gradient accumulated by ``backward(_:retainGraph:createGraph:)`` into this leaf.
    @inlinable public var grad: Tensor? {
        get { gradStorage }
        set { gradStorage = newValue }
    }

    package init(storage: Storage, shape: [Int], strides: [Int], offset: Int) {
        self.storage = storage
        self.shape = shape
        self.strides = strides
        self.offset = offset
    }

    /// A fresh contiguous tensor whose values are not yet written.
    @usableFromInline package convenience init(uninitializedShape shape: [Int], dtype: DType) {
        for d in shape where d < 0 {
            fatalError("Tensor: negative dimension in shape \(ShapeRules.describe(shape))")
        }
        self.init(
            storage: Storage(count: ShapeRules.count(shape), dtype: dtype),
            shape: shape, strides: ShapeRules.contiguousStrides(shape), offset: 0)
    }

    /// The element type.
    public var dtype: DType { storage.dtype }

    /// Number of dimensions.
    public var rank: Int { shape.count }

    /// Number of elements.
    @inlinable public var scalarCount: Int { ShapeRules.count(shape) }

    /// True when the elements are laid out densely in row-major order.
    @inlinable public var isContiguous: Bool {
        var expected = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) where shape[i] != 1 {
            if strides[i] != expected { return false }
            expected *= shape[i]
        }
        return true
    }

    /// True when this tensor is part of a recorded computation, or is a leaf
    /// whose gradient is wanted. Only leaves (tensors no recorded op produced)
    /// may have it set.
    public var requiresGrad: Bool {
        get { gradFnObject != nil || leafRequiresGrad }
        set {
            if let producer = gradFnObject {
                let name = (producer as? any GradientFunction)?.opName ?? "an op"
                fatalError(
                    "requiresGrad can only be set on a leaf tensor; this one was produced by \(name). Use detach() first.")
            }
            leafRequiresGrad = newValue
        }
    }

    /// True when no recorded op produced this tensor.
    public var isLeaf: Bool { gradFnObject == nil }

    /// Marks this leaf as requiring grad and returns it, for chaining.
    ///
    /// ```swift
    /// let w = Tensor.randn([3, 2]).requiringGrad()
    /// ```
    @discardableResult
    public func requiringGrad(_ flag: Bool = true) -> Tensor {
        requiresGrad = flag
        return self
    }

    /// A view of the same values that is cut off from the graph: no gradient
    /// flows through it.
    public func detach() -> Tensor {
        Tensor(storage: storage, shape: shape, strides: strides, offset: offset)
    }

    /// Drops the accumulated gradient.
    public func zeroGrad() {
        grad = nil
    }

    /// Address of the first element.
    @inlinable package var pointer: UnsafeMutableRawPointer {
        storage.base + offset * storage.dtype.byteSize
    }

    /// This tensor's values in a contiguous buffer: itself when already
    /// contiguous, a fresh copy otherwise. Records nothing in the graph; for
    /// kernels' inputs inside an op's forward.
    @inlinable package func contiguousValues() -> Tensor {
        if isContiguous { return self }
        let out = Tensor(uninitializedShape: shape, dtype: dtype)
        copyValues(into: out)
        return out
    }

    /// Copies this tensor's values into `destination` (same shape; any strides).
    @usableFromInline package func copyValues(into destination: Tensor) {
        precondition(destination.shape == shape)
        withInt64Pointer(shape) { shapePtr in
            withInt64Pointer(strides) { src in
                withInt64Pointer(destination.strides) { dst in
                    ag_copy_strided(
                        dtype.c, Int32(rank), shapePtr, pointer, src, destination.pointer, dst)
                }
            }
        }
    }

    /// Marks the storage as written in place.
    package func bumpVersion() {
        storage.version &+= 1
    }

    /// Replaces this tensor's values with `source`'s (same shape and dtype),
    /// in place. Meant for optimizer steps and parameter loading: it records
    /// nothing and invalidates saved copies of this tensor in any graph.
    ///
    /// ```swift
    /// w.assign(noGrad { w - 0.1 * w.grad! })
    /// ```
    public func assign(_ source: Tensor) {
        guard source.shape == shape else {
            opError("assign", "shapes \(ShapeRules.describe(shape)) and \(ShapeRules.describe(source.shape)) differ")
        }
        guard source.dtype == dtype else {
            opError("assign", "dtypes \(dtype) and \(source.dtype) differ")
        }
        ThreadFlags.current.pointee.observer?.willAssign(self, from: source)
        source.copyValues(into: self)
        bumpVersion()
    }
}
