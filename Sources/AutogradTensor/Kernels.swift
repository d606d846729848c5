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
        defer { _ = ag_scope_isa(previous) }
        return try body()
    }

    /// An instruction-set level of the kernels, each a superset of the one before.
    public enum ISA: Int, Sendable, Comparable, CaseIterable, CustomStringConvertible {
        case portable = 0, avx2 = 1, avx512 = 2

        public static func < (a: ISA, b: ISA) -> Bool { a.rawValue < b.rawValue }
        public var description: String {
            switch self {
            case .portable: "portable"
            case .avx2: "AVX2+FMA"
            case .avx512: "AVX-512"
            }
        }
    }

    /// The highest level this CPU (and its OS) supports.
    public static var supportedISA: ISA { ISA(rawValue: Int(ag_isa_supported())) ?? .portable }

    /// The level the kernels use (here, inside any ``withISA(_:_:)``): by
    /// default ``supportedISA``, lowered by `AUTOGRAD_ISA=portable|avx2|avx512`.
    /// Setting it changes the process-wide level, clamped to ``supportedISA``.
    public static var isa: ISA {
        get { ISA(rawValue: Int(ag_isa())) ?? .portable }
        set { ag_set_isa(Int32(newValue.rawValue)) }
    }

    /// Runs `body` with the kernels at `level` (clamped to ``supportedISA``)
    /// for the current thread only, restoring the previous level afterwards.
    ///
    /// ```swift
    /// let avx2 = Kernels.withISA(.avx2) { matmul(a, b) }
    /// ```
    public static func withISA<R>(_ level: ISA, _ body: () throws -> R) rethrows -> R {
        let previous = ag_scope_isa(Int32(level.rawValue))
        defer { _ = ag_scope_isa(previous) }
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
