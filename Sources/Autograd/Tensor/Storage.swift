/// A reference-counted, 64-byte aligned buffer that one or more tensors view.
///
/// Views (reshape, transpose, expand, slice) share one `Storage`. Every
/// in-place write bumps `version`, which the reverse pass checks so that a
/// tensor saved for backward cannot silently change under it.
final class Storage {
    /// Alignment of every buffer, in bytes: one cache line, enough for AVX-512 loads.
    static let alignment = 64

    let base: UnsafeMutableRawPointer
    let count: Int
    let dtype: DType
    var version = 0

    /// Allocates `count` elements of `dtype`, uninitialised.
    init(count: Int, dtype: DType) {
        self.count = count
        self.dtype = dtype
        base = UnsafeMutableRawPointer.allocate(
            byteCount: max(count, 1) * dtype.byteSize, alignment: Storage.alignment)
    }

    deinit { base.deallocate() }
}
