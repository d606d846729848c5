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
    /// is split across the pool.
    public static var threadCount: Int {
        get { Int(ag_num_threads()) }
        set { ag_set_num_threads(Int32(clamping: newValue)) }
    }

    /// Whether the AVX2+FMA paths run. Setting it to true has no effect on a
    /// CPU without them; the environment variable `AUTOGRAD_PORTABLE=1` turns
    /// them off from the start.
    public static var usesSIMD: Bool {
        get { ag_simd_enabled() != 0 }
        set { ag_set_simd_enabled(newValue ? 1 : 0) }
    }
}
