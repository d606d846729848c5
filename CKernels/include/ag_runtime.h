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
 * Instruction-set levels of the kernels, each a superset of the one below:
 * portable C, AVX2 with FMA, and AVX-512 (F, VL, BW, DQ). A kernel without a
 * path for the active level takes the highest path it has below it.
 */
typedef enum { AG_ISA_PORTABLE = 0, AG_ISA_AVX2 = 1, AG_ISA_AVX512 = 2 } ag_isa_level;

/** The highest level this CPU and its OS support (ZMM state enabled for AVX-512). */
int ag_isa_supported(void);

/**
 * The level in use on this thread. By default the supported level, lowered
 * by the environment variable AUTOGRAD_ISA=portable|avx2|avx512 (or
 * AUTOGRAD_PORTABLE=1) read at first use, so every path can be tested.
 */
int ag_isa(void);

/**
 * The vector width, in bits, at which this CPU's floating-point pipes
 * complete an FMA per cycle: 512 on CPUs that run AVX-512 at full rate
 * (AMD Zen 5, Intel Xeon since Skylake-SP), 256 on AMD Zen 4, which splits
 * each 512-bit operation in two, and on AVX2-only CPUs; 128 otherwise.
 */
int ag_fma_datapath_bits(void);

/**
 * Float32 FLOP per cycle per core at the active level: two FMA pipes of
 * the narrower of the level's vector width and ag_fma_datapath_bits() (64
 * at AVX-512 on Zen 5, 32 on Zen 4 and at AVX2, 16 portable).
 */
int ag_f32_flops_per_cycle(void);

/** Sets the process-wide level, clamped to what the CPU supports. */
void ag_set_isa(int level);

/**
 * 1 when a SIMD level (AVX2 or above) is in use, 0 for the portable paths:
 * `ag_isa() >= AG_ISA_AVX2`.
 */
int ag_simd_enabled(void);

/**
 * Turns the SIMD paths on (the environment's default level, or AVX2 when
 * that was portable) or off. Has no effect on a CPU without AVX2 and FMA.
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
 * while they run its work), over the process-wide ones above: SIMD on (1,
 * the process's level or AVX2 if that is portable), off (0), or back to the
 * process-wide setting (-1); a thread count, or 0
 * for the process-wide one. Each returns the previous scoped value, to
 * restore (ag_scope_simd's and ag_scope_isa's with ag_scope_isa). Code running on other threads is not affected, so tests that
 * compare the paths can run in parallel.
 */
int ag_scope_simd(int enabled);
int ag_scope_num_threads(int n);

/** The same for a level: `level` clamped to the CPU's, or -1 to follow the process. */
int ag_scope_isa(int level);

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
