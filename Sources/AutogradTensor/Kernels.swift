import CKernels

/// Settings of the C kernels that run every op.
///
/// ```swift
/// Kernels.threadCount = 1      // every kernel, GEMM included, on one thread
/// print(Kernels.usesSIMD)      // true on a CPU with AVX2 and FMA
/// ```
public enum Kernels {
    /// Threads used by GEMM, large elementwise ops and reductions (at least 1).
    /// Defaults to the number of processors. All kernels share one pool (the
    /// OpenMP runtime's); OpenBLAS itself is kept on one thread and each GEMM
    /// is split across the pool. Setting it changes the process-wide count;
    /// ``withThreadCount(_:_:)`` changes it for one piece of code.
    public static var threadCount: Int {
        get { Int(ag_num_threads()) }
        set { ag_set_num_threads(Int32(clamping: newValue)) }
    }

    /// Whether the AVX2+FMA paths run (here, inside any ``withSIMD(_:_:)``).
    /// Setting it to true has no effect on a CPU without them; the environment
    /// variable `AUTOGRAD_PORTABLE=1` turns them off from the start. Setting it
    /// changes the process-wide choice; ``withSIMD(_:_:)`` changes it for one
    /// piece of code.
    public static var usesSIMD: Bool {
        get { ag_simd_enabled() != 0 }
        set { ag_set_simd_enabled(newValue ? 1 : 0) }
    }

    /// Runs `body` with the SIMD paths on or off for the current thread only
    /// (and the kernel threads that work for it), restoring the previous
    /// choice afterwards; other threads keep theirs. Turning them on has no
    /// effect on a CPU without them.
    ///
    /// ```swift
    /// let portable = Kernels.withSIMD(false) { tanh(x) }
    /// ```
    public static func withSIMD<R>(_ enabled: Bool, _ body: () throws -> R) rethrows -> R {
        let previous = ag_scope_simd(enabled ? 1 : 0)
        defer { _ = ag_scope_simd(previous) }
        return try body()
    }

    /// Runs `body` with `count` kernel threads for the current thread's work
    /// only, restoring the previous count afterwards; other threads keep theirs.
    public static func withThreadCount<R>(_ count: Int, _ body: () throws -> R) rethrows -> R {
        let previous = ag_scope_num_threads(Int32(clamping: Swift.max(count, 1)))
        defer { _ = ag_scope_num_threads(previous) }
        return try body()
    }
}
