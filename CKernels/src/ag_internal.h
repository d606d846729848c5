/* Shared by the kernel files only: SIMD attribute, strided iteration. */
#ifndef AG_INTERNAL_H
#define AG_INTERNAL_H

#include "../include/ag_runtime.h"

#if defined(__x86_64__) || defined(__i386__)
#define AG_X86 1
/* Functions compiled for AVX2+FMA; called only when ag_simd_enabled(). */
#define AG_AVX2 __attribute__((target("avx2,fma")))
/* Functions compiled for AVX-512 (F, VL, BW, DQ); called only when ag_isa() is AG_ISA_AVX512. */
#define AG_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")))
#else
#define AG_X86 0
#define AG_AVX2
#define AG_AVX512
#endif

#define AG_INLINE static inline __attribute__((always_inline))

/* Work below two grains stays on the calling thread. Cheap ops (add, copy)
 * need more elements per thread than transcendental ones. Chosen by timing
 * one thread against two on this 2-core machine, with threading forced at
 * every size (compile with -DAG_GRAIN_CHEAP=1 -DAG_GRAIN_COSTLY=1): a
 * parallel region costs 1.5–3 µs, two threads first win for add at 64K
 * elements (8 µs against 11–12) and for exp between 16K and 64K. */
#ifndef AG_GRAIN_CHEAP
#define AG_GRAIN_CHEAP ((size_t)1 << 15)
#endif
#ifndef AG_GRAIN_COSTLY
#define AG_GRAIN_COSTLY ((size_t)1 << 13)
#endif

/*
 * A strided walk over up to four operands sharing one shape. Operand strides
 * are in bytes. `ag_nditer_init` drops size-1 axes and merges axes that are
 * contiguous for every operand, so most walks become a single flat loop.
 */
typedef struct {
    int ndim;
    int nops;
    int64_t shape[AG_MAX_DIMS];
    int64_t strides[4][AG_MAX_DIMS];
    char *base[4];
} ag_nditer;

/* Called for each innermost run of n elements: p[j] points at operand j's
 * first element, s[j] is its byte stride along the run. */
typedef void (*ag_inner_fn)(void *ctx, size_t n, char *const *p, const int64_t *s);

void ag_nditer_init(ag_nditer *it, int ndim, const int64_t *shape, int nops,
                    char *const *base, const int64_t *const *elem_strides, size_t elem_size);
size_t ag_nditer_size(const ag_nditer *it);
void ag_nditer_run(const ag_nditer *it, size_t begin, size_t end, ag_inner_fn fn, void *ctx);

/* Runs the walk over all elements, in parallel when it is large. */
void ag_nditer_run_parallel(const ag_nditer *it, size_t grain, ag_inner_fn fn, void *ctx);

static inline size_t ag_dtype_size(ag_dtype dt) { return dt == AG_F32 ? 4 : 8; }

/* The k in [0, count) for which start + k·step (step > 0) lies in [0, size),
 * as [*lo, *hi) (empty: lo == hi): which taps of a window, which outputs of
 * a row or which lanes of a vector read inside an input of `size`. */
static inline void ag_range_inside(int64_t start, int64_t count, int64_t step, int64_t size,
                                   int64_t *lo, int64_t *hi) {
    int64_t last = size - 1 - start;  /* k·step ≤ last */
    int64_t l = start >= 0 ? 0 : (-start + step - 1) / step;
    int64_t h = last < 0 ? 0 : last / step + 1;
    if (h > count) h = count;
    if (l > h) l = h;
    *lo = l;
    *hi = h;
}

#endif
