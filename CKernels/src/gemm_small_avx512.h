/*
 * A small-matrix SGEMM for AVX-512: C = op(A)·op(B), for products small
 * enough that packing (ours or OpenBLAS's) costs more than the arithmetic.
 * Included by gemm.c only, which decides when it runs (takes_small_kernel).
 *
 * Each step broadcasts eight elements of A and multiplies them with 32
 * columns of one row of B (two ZMM vectors) into sixteen accumulators, an
 * 8×32 tile of C. A is read in place, and so is B when it is not
 * transposed: a column remainder is read and written under a lane mask, so
 * no copy is needed. A transposed B is first gathered, k-major, into a
 * stack panel 32 columns wide. gemm.c says when it beats the packed kernel.
 */
#ifndef AG_GEMM_SMALL_AVX512_H
#define AG_GEMM_SMALL_AVX512_H

#if AG_X86
#include <immintrin.h>
#include "vmath_avx512.h"

/* K runs in blocks of this many, so that the 32 columns of B one block of
 * tiles reads stay in L1/L2 (a transposed B is gathered one block at a time
 * into a stack panel of this many rows). C takes each block's sum in turn. */
#define AG_SMALL_GEMM_AVX512_KB 256

/* What the tiles of the last K block add to C before they store it: the
 * bias (offset to the tile's first column), the residual (offset to its
 * first element) and an activation applied in registers. */
typedef struct {
    const float *bias, *residual;
    int64_t ldr;
    ag_unary_op act;
    float p0, p1;
} ag_sgemm_store_epilogue;

/* Whether the store can apply `act` in registers (the rest go through ag_unary afterwards). */
static inline int ag_sgemm_store_has(ag_unary_op act) {
    switch (act) {
    case AG_AFFINE: case AG_RELU: case AG_LEAKY_RELU: case AG_EXP: case AG_TANH: case AG_SIGMOID: case AG_GELU:
    case AG_SILU: return 1;
    default: return 0;
    }
}

/* `act` on one vector, as ag_unary computes it (NaN propagates through ReLU). */
AG_AVX512 static inline __m512 ag_sgemm_store_act(const ag_sgemm_store_epilogue *ep, __m512 x) {
    switch (ep->act) {
    case AG_RELU: {
        __mmask16 keep = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_NLE_UQ);
        return _mm512_maskz_mov_ps(keep, x);
    }
    case AG_LEAKY_RELU:
        return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GT_OQ),
                                    _mm512_mul_ps(x, _mm512_set1_ps(ep->p0)), x);
    case AG_EXP: return ag_w_exp(x);
    case AG_TANH: return ag_w_tanh(x);
    case AG_SIGMOID: return ag_w_sigmoid(x);
    case AG_GELU: return ag_w_gelu(x);
    case AG_SILU: return ag_w_silu(x);
    default:
        if (ep->p0 == 1 && ep->p1 == 0) return x;
        return _mm512_add_ps(_mm512_mul_ps(x, _mm512_set1_ps(ep->p0)), _mm512_set1_ps(ep->p1));
    }
}

/* One tile of up to 8 rows × 16·vecs columns, lanes beyond the columns
 * masked off: C[r, c] = Σ_k A(r, k) · P[k, c], or C[r, c] += … if
 * `accumulate`; then, with `ep`, the epilogue on the result in registers. */
AG_AVX512 static inline __attribute__((always_inline)) void
ag_sgemm_tile_avx512(int rows, int vecs, int accumulate, const ag_sgemm_store_epilogue *ep, __mmask16 m0,
                     __mmask16 m1, int64_t k, const float *a, int64_t a_row, int64_t a_col, const float *panel,
                     int64_t ldp, float *c, int64_t ldc) {
    __m512 acc[8][2];
    for (int r = 0; r < 8; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    for (int64_t p = 0; p < k; p++) {
        __m512 b0 = _mm512_maskz_loadu_ps(m0, panel + p * ldp);
        __m512 b1 = vecs == 2 ? _mm512_maskz_loadu_ps(m1, panel + p * ldp + 16) : _mm512_setzero_ps();
        for (int r = 0; r < 8; r++) {
            if (r < rows) {
                __m512 av = _mm512_set1_ps(a[r * a_row + p * a_col]);
                acc[r][0] = _mm512_fmadd_ps(av, b0, acc[r][0]);
                if (vecs == 2) acc[r][1] = _mm512_fmadd_ps(av, b1, acc[r][1]);
            }
        }
    }
    for (int r = 0; r < rows; r++) {
        for (int v = 0; v < vecs; v++) {
            __mmask16 lanes = v ? m1 : m0;
            __m512 x = acc[r][v];
            if (accumulate) x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(lanes, c + r * ldc + 16 * v));
            if (ep) {
                if (ep->bias) x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(lanes, ep->bias + 16 * v));
                if (ep->residual)
                    x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(lanes, ep->residual + r * ep->ldr + 16 * v));
                x = ag_sgemm_store_act(ep, x);
            }
            _mm512_mask_storeu_ps(c + r * ldc + 16 * v, lanes, x);
        }
    }
}

/* The four shapes of tile, each its own copy of the loop with the row and
 * vector counts fixed, so the tests on them fold away. */
#define AG_SGEMM_TILE_AVX512(NAME, ROWS, VECS)                                                              \
    AG_AVX512 static void NAME(int rows, int add, const ag_sgemm_store_epilogue *ep, __mmask16 m0,          \
                               __mmask16 m1, int64_t k, const float *a, int64_t a_row, int64_t a_col,      \
                               const float *panel, int64_t ldp, float *c, int64_t ldc) {                   \
        (void)rows;                                                                                          \
        ag_sgemm_tile_avx512(ROWS, VECS, add, ep, m0, m1, k, a, a_row, a_col, panel, ldp, c, ldc);         \
    }
AG_SGEMM_TILE_AVX512(ag_sgemm_tile8x32_avx512, 8, 2)
AG_SGEMM_TILE_AVX512(ag_sgemm_tile8x16_avx512, 8, 1)
AG_SGEMM_TILE_AVX512(ag_sgemm_tile_rows_x32_avx512, rows, 2)
AG_SGEMM_TILE_AVX512(ag_sgemm_tile_rows_x16_avx512, rows, 1)
#undef AG_SGEMM_TILE_AVX512

/* The mask of the first `lanes` of 16 (all of them from 16 up). */
static inline __mmask16 ag_lanes16(int64_t lanes) {
    return lanes >= 16 ? (__mmask16)0xFFFF : lanes <= 0 ? (__mmask16)0 : (__mmask16)((1u << lanes) - 1);
}

/* C[m, n] = op(A)[m, k] · op(B)[k, n]; row-major, leading dimensions in
 * elements. With `ep`, whose activation ag_sgemm_store_has, the epilogue
 * goes into the last K block's stores too (bias and residual indexed from
 * C's first row and column). */
AG_AVX512 static void ag_sgemm_small_avx512(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                                            const float *a, int64_t lda, const float *b, int64_t ldb,
                                            float *c, int64_t ldc, const ag_gemm_epilogue *ep) {
    float panel[AG_SMALL_GEMM_AVX512_KB * 32] __attribute__((aligned(64)));
    /* op(A)(r, p) = a[r * a_row + p * a_col]. */
    int64_t a_row = trans_a ? 1 : lda, a_col = trans_a ? lda : 1;
    for (int64_t j0 = 0; j0 < n; j0 += 32) {
        int64_t cols = n - j0 < 32 ? n - j0 : 32;
        __mmask16 m0 = ag_lanes16(cols), m1 = ag_lanes16(cols - 16);
        for (int64_t p0 = 0; p0 < k; p0 += AG_SMALL_GEMM_AVX512_KB) {
            int64_t kb = k - p0 < AG_SMALL_GEMM_AVX512_KB ? k - p0 : AG_SMALL_GEMM_AVX512_KB;
            int add = p0 > 0, last = p0 + kb == k;
            const float *ap = a + p0 * a_col, *bp = b + p0 * ldb + j0;
            int64_t ldp = ldb;
            if (trans_b) {
                for (int64_t p = 0; p < kb; p++)
                    for (int64_t j = 0; j < cols; j++) panel[p * 32 + j] = b[(j0 + j) * ldb + p0 + p];
                bp = panel;
                ldp = 32;
            }
            for (int64_t i = 0; i < m; i += 8) {
                int rows = m - i < 8 ? (int)(m - i) : 8;
                ag_sgemm_store_epilogue store;
                if (ep && last) {
                    store = (ag_sgemm_store_epilogue){
                        .bias = ep->bias ? (const float *)ep->bias + j0 : NULL,
                        .residual = ep->residual ? (const float *)ep->residual + i * ep->ldr + j0 : NULL,
                        .ldr = ep->ldr, .act = ep->act, .p0 = (float)ep->p0, .p1 = (float)ep->p1};
                }
                const ag_sgemm_store_epilogue *sp = ep && last ? &store : NULL;
                float *ct = c + i * ldc + j0;
                const float *at = ap + i * a_row;
                if (cols > 16) {
                    if (rows == 8) ag_sgemm_tile8x32_avx512(8, add, sp, m0, m1, kb, at, a_row, a_col, bp, ldp, ct, ldc);
                    else ag_sgemm_tile_rows_x32_avx512(rows, add, sp, m0, m1, kb, at, a_row, a_col, bp, ldp, ct, ldc);
                } else {
                    if (rows == 8) ag_sgemm_tile8x16_avx512(8, add, sp, m0, m1, kb, at, a_row, a_col, bp, ldp, ct, ldc);
                    else ag_sgemm_tile_rows_x16_avx512(rows, add, sp, m0, m1, kb, at, a_row, a_col, bp, ldp, ct, ldc);
                }
            }
        }
    }
}
#endif
#endif
