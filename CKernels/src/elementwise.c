/* Elementwise kernels: the bodies live in elementwise_impl.h, instantiated here. */
#include <tgmath.h>
#include "../include/ag_elementwise.h"
#include "ag_internal.h"

#include "vmath_avx2.h"

#if AG_X86
/* Applies `op` to n floats; returns 0 for ops without a vector form here. */
AG_AVX2 static int ag_vmath_f32(ag_unary_op op, size_t n, const float *x, float *y) {
    if (op != AG_EXP && op != AG_LOG && op != AG_TANH && op != AG_SIGMOID && op != AG_GELU) return 0;
    size_t i = 0;
#define AG_VMATH_LOOP(F)                                                     \
    for (; i + 16 <= n; i += 16) {                                           \
        __m256 a_ = F(_mm256_loadu_ps(x + i)), b_ = F(_mm256_loadu_ps(x + i + 8)); \
        _mm256_storeu_ps(y + i, a_);                                         \
        _mm256_storeu_ps(y + i + 8, b_);                                     \
    }                                                                        \
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, F(_mm256_loadu_ps(x + i)));   \
    if (i < n) {                                                             \
        float in[8] = {0}, out[8];                                           \
        for (size_t k = 0; i + k < n; k++) in[k] = x[i + k];                 \
        _mm256_storeu_ps(out, F(_mm256_loadu_ps(in)));                       \
        for (size_t k = 0; i + k < n; k++) y[i + k] = out[k];                \
    }
    /* A direct call per op lets each loop inline its function. */
    switch (op) {
    case AG_EXP: AG_VMATH_LOOP(ag_v_exp) break;
    case AG_LOG: AG_VMATH_LOOP(ag_v_log) break;
    case AG_TANH: AG_VMATH_LOOP(ag_v_tanh) break;
    case AG_SIGMOID:
        i = ag_v_sigmoid_blocks(n, x, y);  /* the rest, below 32, one vector at a time */
        AG_VMATH_LOOP(ag_v_sigmoid)
        break;
    default: AG_VMATH_LOOP(ag_v_gelu) break;
    }
#undef AG_VMATH_LOOP
    return 1;
}
#endif

#define T float
#define SFX f32
#if AG_X86
#define AG_VECTOR_MATH ag_vmath_f32
#endif
#include "elementwise_impl.h"
#undef AG_VECTOR_MATH
#undef T
#undef SFX

#define T double
#define SFX f64
#include "elementwise_impl.h"
#undef T
#undef SFX

void ag_unary(ag_unary_op op, ag_dtype dt, size_t n, const void *x, void *y, double p0, double p1) {
    if (dt == AG_F32) unary_f32(op, n, x, y, p0, p1);
    else unary_f64(op, n, x, y, p0, p1);
}

void ag_unary_backward(ag_unary_backward_op op, ag_dtype dt, size_t n, const void *a,
                       const void *g, void *out, double p0) {
    if (dt == AG_F32) unary_backward_f32(op, n, a, g, out, p0);
    else unary_backward_f64(op, n, a, g, out, p0);
}

static void contiguous_strides(int ndim, const int64_t *shape, int64_t *strides) {
    int64_t s = 1;
    for (int i = ndim - 1; i >= 0; i--) {
        strides[i] = s;
        s *= shape[i];
    }
}

void ag_binary(ag_binary_op op, ag_dtype dt, int ndim, const int64_t *shape,
               const void *a, const int64_t *a_strides,
               const void *b, const int64_t *b_strides, void *out) {
    int64_t out_strides[AG_MAX_DIMS];
    contiguous_strides(ndim, shape, out_strides);
    char *base[3] = {out, (char *)a, (char *)b};
    const int64_t *strides[3] = {out_strides, a_strides, b_strides};
    ag_nditer it;
    ag_nditer_init(&it, ndim, shape, 3, base, strides, ag_dtype_size(dt));
    size_t grain = op == AG_POW ? AG_GRAIN_COSTLY : AG_GRAIN_CHEAP;
    ag_nditer_run_parallel(&it, grain, dt == AG_F32 ? binary_inner_f32 : binary_inner_f64, &op);
}

void ag_where(ag_dtype dt, int ndim, const int64_t *shape,
              const void *cond, const int64_t *cond_strides,
              const void *a, const int64_t *a_strides,
              const void *b, const int64_t *b_strides, void *out) {
    int64_t out_strides[AG_MAX_DIMS];
    contiguous_strides(ndim, shape, out_strides);
    char *base[4] = {out, (char *)cond, (char *)a, (char *)b};
    const int64_t *strides[4] = {out_strides, cond_strides, a_strides, b_strides};
    ag_nditer it;
    ag_nditer_init(&it, ndim, shape, 4, base, strides, ag_dtype_size(dt));
    ag_nditer_run_parallel(&it, AG_GRAIN_CHEAP, dt == AG_F32 ? where_inner_f32 : where_inner_f64, NULL);
}
