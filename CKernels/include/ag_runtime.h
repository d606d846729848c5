/* Data types, SIMD dispatch and the thread pool shared by all kernels. */
#ifndef AG_RUNTIME_H
#define AG_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

/** Element type of a buffer. */
typedef enum { AG_F32 = 0, AG_F64 = 1 } ag_dtype;

/** Largest rank the strided kernels accept. */
#define AG_MAX_DIMS 16

/**
 * 1 when the AVX2+FMA code paths are in use, 0 for the portable paths. They
 * are used when the CPU has AVX2 and FMA, unless the environment variable
 * AUTOGRAD_PORTABLE is 1 at first use.
 */
int ag_simd_enabled(void);

/**
 * Turns the AVX2+FMA paths on or off. Turning them on has no effect on a CPU
 * without AVX2 and FMA (or on a non-x86 build). Tests use this to compare the
 * SIMD paths with the portable ones.
 */
void ag_set_simd_enabled(int enabled);

/**
 * Number of threads the kernels use (default: the number of processors).
 * All of them, GEMM included, share the OpenMP runtime's pool; OpenBLAS is
 * kept on one thread and GEMMs are split across the pool (see gemm.c).
 */
int ag_num_threads(void);

/** Sets the number of threads the kernels use (at least 1). */
void ag_set_num_threads(int n);

/**
 * Scoped settings for the calling thread only (and for the pool's threads
 * while they run its work), over the process-wide ones above: SIMD on (1),
 * off (0), or back to the process-wide setting (-1); a thread count, or 0
 * for the process-wide one. Each returns the previous scoped value, to
 * restore. Code running on other threads is not affected, so tests that
 * compare the paths can run in parallel.
 */
int ag_scope_simd(int enabled);
int ag_scope_num_threads(int n);

/** Work function for `ag_parallel_for`: processes indices [begin, end). */
typedef void (*ag_range_fn)(void *ctx, size_t begin, size_t end);

/**
 * Runs `fn` over [0, n) split into contiguous chunks, one per thread, using the
 * OpenMP runtime's pool. Ranges shorter than two `grain`s run on the caller's
 * thread, so small tensors never pay for waking threads.
 */
void ag_parallel_for(size_t n, size_t grain, ag_range_fn fn, void *ctx);

/**
 * Estimates the core clock in Hz by timing a chain of dependent integer adds
 * (one per cycle) for about `seconds`. For the benchmark runner's peak figure.
 */
double ag_estimate_clock_hz(double seconds);

/** Monotonic time in seconds, for timing. */
double ag_now_seconds(void);

#endif
