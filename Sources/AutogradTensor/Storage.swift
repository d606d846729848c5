/// A reference-counted, 64-byte aligned buffer that one or more tensors view.
///
/// Views (reshape, transpose, expand, slice) share one `Storage`. Every
/// in-place write bumps `version`, which the reverse pass checks so that a
/// tensor saved for backward cannot silently change under it. Buffers come
/// from and return to ``BufferPool``, so steady-state training reuses memory
/// instead of asking the system for it on every op.
@usableFromInline package final class Storage {
    /// Alignment of every buffer, in bytes: one cache line, enough for AVX-512 loads.
    static let alignment = 64

    /// The first byte. Fixed for storage that owns its memory; a compiled
    /// plan points borrowed storage at each call's inputs.
    @inlinable package var base: UnsafeMutableRawPointer { baseStorage }
    package let count: Int
    @usableFromInline package let dtype: DType
    /// Bytes actually reserved (the pool's size class); 0 for borrowed memory.
    let capacity: Int
    /// Bumped by every in-place write; recorded nodes compare it.
    @inlinable package var version: Int {
        get { versionStorage }
        set { versionStorage = newValue }
    }
    // Stored fields behind inlinable accessors: see `Tensor`.
    @usableFromInline @exclusivity(unchecked) var baseStorage: UnsafeMutableRawPointer
    @usableFromInline @exclusivity(unchecked) var versionStorage = 0

    /// Allocates `count` elements of `dtype`, uninitialised.
    package init(count: Int, dtype: DType) {
        self.count = count
        self.dtype = dtype
        (baseStorage, capacity) = BufferPool.shared.take(bytes: count * dtype.byteSize)
    }

    /// Storage over memory someone else owns (and frees): a compiled plan's
    /// view of the caller's input tensors. Starts pointing at `pointer`.
    package init(borrowing pointer: UnsafeMutableRawPointer, count: Int, dtype: DType) {
        self.count = count
        self.dtype = dtype
        baseStorage = pointer
        capacity = 0
    }

    /// Points borrowed storage at other memory of the same size.
    package func rebind(_ pointer: UnsafeMutableRawPointer) {
        precondition(capacity == 0, "Storage.rebind: this storage owns its memory")
        baseStorage = pointer
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

    /// Number of size classes: 16 up to 1 KiB, then four per power of two.
    private static let classCount = 16 + 4 * 64

    /// Free buffers of one size class, as an intrusive stack: each free
    /// buffer's first bytes hold the next one's address, so taking and giving
    /// back are two pointer moves, with no array to grow or check.
    private struct FreeList {
        var head: UnsafeMutableRawPointer?

        mutating func push(_ buffer: UnsafeMutableRawPointer) {
            buffer.storeBytes(of: head, as: UnsafeMutableRawPointer?.self)
            head = buffer
        }

        mutating func pop() -> UnsafeMutableRawPointer? {
            guard let buffer = head else { return nil }
            head = buffer.load(as: UnsafeMutableRawPointer?.self)
            return buffer
        }
    }

    private struct State: @unchecked Sendable {
        /// The free lists by size-class index (see ``BufferPool/classIndex(_:)``),
        /// allocated once and never freed (the pool lives as long as the process).
        let free: UnsafeMutablePointer<FreeList>
        var cachedBytes = 0
    }

    private let state: Locked<State>

    private init() {
        let free = UnsafeMutablePointer<FreeList>.allocate(capacity: BufferPool.classCount)
        free.initialize(repeating: FreeList(head: nil), count: BufferPool.classCount)
        state = Locked(State(free: free))
    }

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
        let reused = state.withLock { s -> UnsafeMutableRawPointer? in
            guard let buffer = s.free[index].pop() else { return nil }
            s.cachedBytes -= size
            return buffer
        }
        if let reused { return (reused, size) }
        return (UnsafeMutableRawPointer.allocate(byteCount: size, alignment: Storage.alignment), size)
    }

    func give(_ pointer: UnsafeMutableRawPointer, capacity: Int) {
        let index = BufferPool.classIndex(capacity)
        let kept = state.withLock { s -> Bool in
            guard s.cachedBytes + capacity <= BufferPool.maxCachedBytes else { return false }
            s.free[index].push(pointer)
            s.cachedBytes += capacity
            return true
        }
        if !kept { pointer.deallocate() }
    }
}
