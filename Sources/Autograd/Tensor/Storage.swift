import Synchronization

/// A reference-counted, 64-byte aligned buffer that one or more tensors view.
///
/// Views (reshape, transpose, expand, slice) share one `Storage`. Every
/// in-place write bumps `version`, which the reverse pass checks so that a
/// tensor saved for backward cannot silently change under it. Buffers come
/// from and return to ``BufferPool``, so steady-state training reuses memory
/// instead of asking the system for it on every op.
final class Storage {
    /// Alignment of every buffer, in bytes: one cache line, enough for AVX-512 loads.
    static let alignment = 64

    /// The first byte. Fixed for storage that owns its memory; a compiled
    /// plan points borrowed storage at each call's inputs.
    private(set) var base: UnsafeMutableRawPointer
    let count: Int
    let dtype: DType
    /// Bytes actually reserved (the pool's size class); 0 for borrowed memory.
    let capacity: Int
    var version = 0

    /// Allocates `count` elements of `dtype`, uninitialised.
    init(count: Int, dtype: DType) {
        self.count = count
        self.dtype = dtype
        (base, capacity) = BufferPool.shared.take(bytes: count * dtype.byteSize)
    }

    /// Storage over memory someone else owns (and frees): a compiled plan's
    /// view of the caller's input tensors. Starts pointing at `pointer`.
    init(borrowing pointer: UnsafeMutableRawPointer, count: Int, dtype: DType) {
        self.count = count
        self.dtype = dtype
        base = pointer
        capacity = 0
    }

    /// Points borrowed storage at other memory of the same size.
    func rebind(_ pointer: UnsafeMutableRawPointer) {
        precondition(capacity == 0, "Storage.rebind: this storage owns its memory")
        base = pointer
    }

    deinit {
        if capacity > 0 { BufferPool.shared.give(base, capacity: capacity) }
    }
}

/// Recycles buffers by size class, 64-byte aligned: a buffer freed by one op
/// is handed to the next op that needs one of its class, so a training loop
/// in its steady state allocates no memory for tensor data, and large
/// buffers don't pay page faults again.
///
/// Size classes are 64-byte multiples up to 1 KiB, then four classes per
/// power of two (at most 25% slack). At most ``BufferPool/maxCachedBytes``
/// are kept; beyond that, buffers go back to the system.
final class BufferPool: Sendable {
    static let shared = BufferPool()

    /// Cached bytes kept at most.
    static let maxCachedBytes = 1 << 30

    /// A cached buffer; only the pool touches it until it is handed out again.
    private struct Buffer: @unchecked Sendable {
        let pointer: UnsafeMutableRawPointer
    }

    private struct State {
        /// Free buffers by size-class index (see ``BufferPool/classIndex(_:)``).
        var free: [[Buffer]] = Array(repeating: [], count: 16 + 4 * 64)
        var cachedBytes = 0
    }

    private let state = Mutex(State())

    /// The size class holding `bytes`.
    static func sizeClass(_ bytes: Int) -> Int {
        if bytes <= 1024 { return Swift.max(64, (bytes + 63) & ~63) }
        let top = Int.bitWidth - (bytes - 1).leadingZeroBitCount  // 2^top ≥ bytes
        let quarter = 1 << (top - 3)  // classes at 2^(top-1) + k · 2^(top-3), k = 1…4
        return (bytes + quarter - 1) / quarter * quarter
    }

    /// A dense index for a size class: 0…15 for 64…1024 bytes, then four per power of two.
    static func classIndex(_ size: Int) -> Int {
        if size <= 1024 { return size / 64 - 1 }
        let top = Int.bitWidth - (size - 1).leadingZeroBitCount
        let quarter = 1 << (top - 3)
        return 16 + (top - 11) * 4 + (size - (1 << (top - 1))) / quarter - 1
    }

    func take(bytes: Int) -> (UnsafeMutableRawPointer, Int) {
        let size = BufferPool.sizeClass(bytes)
        let index = BufferPool.classIndex(size)
        let reused: Buffer? = state.withLock { s in
            guard let b = s.free[index].popLast() else { return nil }
            s.cachedBytes -= size
            return b
        }
        if let reused { return (reused.pointer, size) }
        return (UnsafeMutableRawPointer.allocate(byteCount: size, alignment: Storage.alignment), size)
    }

    func give(_ pointer: UnsafeMutableRawPointer, capacity: Int) {
        let buffer = Buffer(pointer: pointer)
        let index = BufferPool.classIndex(capacity)
        let kept = state.withLock { s -> Bool in
            guard s.cachedBytes + capacity <= BufferPool.maxCachedBytes else { return false }
            s.free[index].append(buffer)
            s.cachedBytes += capacity
            return true
        }
        if !kept { pointer.deallocate() }
    }
}
