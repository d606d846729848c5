/* Elementwise kernels: the bodies live in elementwise_impl.h, instantiated here. */
#include <tgmath.h>
#include "../include/ag_elementwise.h"
#include "ag_internal.h"

#include "vmath_avx2.h"
#include "vmath_avx512.h"

#include <stdio.h>
#include <stdlib.h>

/* Threading grain of an op from its row's cost class. */
#define AG_COST_CHEAP AG_GRAIN_CHEAP
#define AG_COST_COSTLY AG_GRAIN_COSTLY
#define AG_GRAIN_ROW_(ID, NAME, COST, ...) case ID: return AG_COST_##COST;

static size_t ag_unary_grain(ag_unary_op op) {
    switch (op) {
    AG_UNARY_OPS(AG_GRAIN_ROW_)
    case AG_UNARY_OP_COUNT: break;
    }
    return AG_GRAIN_COSTLY;
}

static size_t ag_binary_grain(ag_binary_op op) {
    switch (op) {
    AG_BINARY_OPS(AG_GRAIN_ROW_)
    case AG_BINARY_OP_COUNT: break;
    }
    return AG_GRAIN_COSTLY;
}

#define AG_NAME_ROW_(ID, NAME, ...) case ID: return NAME;
#define AG_READS_ROW_(ID, NAME, COST, READS, ...) case ID: return AG_READS_##READS;

const char *ag_unary_name(ag_unary_op op) {
    switch (op) {
    AG_UNARY_OPS(AG_NAME_ROW_)
    case AG_UNARY_OP_COUNT: break;
    }
    return NULL;
}

const char *ag_binary_name(ag_binary_op op) {
    switch (op) {
    AG_BINARY_OPS(AG_NAME_ROW_)
    case AG_BINARY_OP_COUNT: break;
    }
    return NULL;
}

ag_reads ag_unary_reads(ag_unary_op op) {
    switch (op) {
    AG_UNARY_OPS(AG_READS_ROW_)
    case AG_UNARY_OP_COUNT: break;
    }
    return AG_READS_NONE;
}

/* Op codes come from Swift's tables; one outside the table is a bug, never a silent fallback. */
static void ag_check_op(const char *kernel, unsigned op, unsigned count) {
    if (op < count) return;
    fprintf(stderr, "%s: unknown op code %u (the table has %u ops)\n", kernel, op, count);
    abort();
}

/*
 * Hand-vectorised float32 kernels, registered per op: X(ID, VECTOR_FN,
 * BLOCKS_FN). VECTOR_FN(x, p0, p1) maps one vector, with the op's parameters
 * broadcast; BLOCKS_FN handles a prefix several vectors at a time and returns
 * how far it got (ag_v_no_blocks: none); the loop does the rest.
 */
#if AG_X86
#define AG_UNARY_VEC_F32(X)                              \
    X(AG_EXP, ag_vp_exp, ag_v_no_blocks)                 \
    X(AG_LOG, ag_vp_log, ag_v_no_blocks)                 \
    X(AG_TANH, ag_vp_tanh, ag_v_no_blocks)               \
    X(AG_SIGMOID, ag_vp_sigmoid, ag_v_sigmoid_blocks)    \
    X(AG_GELU, ag_vp_gelu, ag_v_no_blocks)               \
    X(AG_SILU, ag_vp_silu, ag_v_no_blocks)               \
    X(AG_SOFTPLUS, ag_v_softplus, ag_v_no_blocks)        \
    X(AG_MISH, ag_vp_mish, ag_v_no_blocks)

/* The vector functions without parameters, in the registry's signature. */
#define AG_VP_(F)                                                                    \
    AG_AVX2 static inline __attribute__((always_inline)) __m256 ag_vp_##F(__m256 x, __m256 p0, __m256 p1) { \
        (void)p0, (void)p1;                                                          \
        return ag_v_##F(x);                                                          \
    }
AG_VP_(exp)
AG_VP_(log)
AG_VP_(tanh)
AG_VP_(sigmoid)
AG_VP_(gelu)
AG_VP_(silu)
AG_VP_(mish)
#undef AG_VP_

AG_AVX2 static inline size_t ag_v_no_blocks(size_t n, const float *x, float *y) {
    (void)n, (void)x, (void)y;
    return 0;
}

/* Applies `op` to n floats; returns 0 for ops without a vector form here. */
AG_AVX2 static int ag_vmath_f32(ag_unary_op op, size_t n, const float *x, float *y, float p0, float p1) {
    if (ag_isa() >= AG_ISA_AVX512 && ag_vmath512_f32(op, n, x, y)) return 1;
    size_t i = 0;
    const __m256 p0v = _mm256_set1_ps(p0), p1v = _mm256_set1_ps(p1);
#define AG_VMATH_LOOP(F)                                                     \
    for (; i + 16 <= n; i += 16) {                                           \
        __m256 a_ = F(_mm256_loadu_ps(x + i), p0v, p1v), b_ = F(_mm256_loadu_ps(x + i + 8), p0v, p1v); \
        _mm256_storeu_ps(y + i, a_);                                         \
        _mm256_storeu_ps(y + i + 8, b_);                                     \
    }                                                                        \
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, F(_mm256_loadu_ps(x + i), p0v, p1v)); \
    if (i < n) {                                                             \
        float in[8] = {0}, out[8];                                           \
        for (size_t k = 0; i + k < n; k++) in[k] = x[i + k];                 \
        _mm256_storeu_ps(out, F(_mm256_loadu_ps(in), p0v, p1v));             \
        for (size_t k = 0; i + k < n; k++) y[i + k] = out[k];                \
    }
    /* A direct call per op lets each loop inline its function. */
#define AG_VEC_CASE_(ID, F, BLOCKS) case ID: i = BLOCKS(n, x, y); AG_VMATH_LOOP(F) return 1;
    switch (op) {
    AG_UNARY_VEC_F32(AG_VEC_CASE_)
    default: return 0;  /* no vector form: the scalar loop runs */
    }
#undef AG_VEC_CASE_
#undef AG_VMATH_LOOP
}

#define AG_HAS_VEC_CASE_(ID, ...) case ID: return ag_simd_enabled();
int ag_unary_has_vector_kernel(ag_unary_op op) {
    switch (op) {
    AG_UNARY_VEC_F32(AG_HAS_VEC_CASE_)
    default: return 0;
    }
}
#undef AG_HAS_VEC_CASE_
#else
int ag_unary_has_vector_kernel(ag_unary_op op) {
    (void)op;
    return 0;
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
    ag_check_op("ag_unary", op, AG_UNARY_OP_COUNT);
    if (dt == AG_F32) unary_f32(op, n, x, y, p0, p1);
    else unary_f64(op, n, x, y, p0, p1);
}

void ag_unary_backward(ag_unary_op op, ag_dtype dt, size_t n, const void *a, const void *g,
                       void *out, double p0, double p1) {
    ag_check_op("ag_unary_backward", op, AG_UNARY_OP_COUNT);
    if (dt == AG_F32) unary_backward_f32(op, n, a, g, out, p0, p1);
    else unary_backward_f64(op, n, a, g, out, p0, p1);
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
    ag_check_op("ag_binary", op, AG_BINARY_OP_COUNT);
    int64_t out_strides[AG_MAX_DIMS];
    contiguous_strides(ndim, shape, out_strides);
    char *base[3] = {out, (char *)a, (char *)b};
    const int64_t *strides[3] = {out_strides, a_strides, b_strides};
    ag_nditer it;
    ag_nditer_init(&it, ndim, shape, 3, base, strides, ag_dtype_size(dt));
    ag_nditer_run_parallel(&it, ag_binary_grain(op), dt == AG_F32 ? binary_inner_f32 : binary_inner_f64, &op);
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
