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

/* K runs in blocks of this many, so that the 32 columns of B one block of
 * tiles reads stay in L1/L2 (a transposed B is gathered one block at a time
 * into a stack panel of this many rows). C takes each block's sum in turn. */
#define AG_SMALL_GEMM_AVX512_KB 256

/* One tile of up to 8 rows × 16·vecs columns, lanes beyond the columns
 * masked off: C[r, c] = Σ_k A(r, k) · P[k, c], or C[r, c] += … if `accumulate`. */
AG_AVX512 static inline __attribute__((always_inline)) void
ag_sgemm_tile_avx512(int rows, int vecs, int accumulate, __mmask16 m0, __mmask16 m1, int64_t k, const float *a, int64_t a_row,
                     int64_t a_col, const float *panel, int64_t ldp, float *c, int64_t ldc) {
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
        if (accumulate) {
            acc[r][0] = _mm512_add_ps(acc[r][0], _mm512_maskz_loadu_ps(m0, c + r * ldc));
            if (vecs == 2) acc[r][1] = _mm512_add_ps(acc[r][1], _mm512_maskz_loadu_ps(m1, c + r * ldc + 16));
        }
        _mm512_mask_storeu_ps(c + r * ldc, m0, acc[r][0]);
        if (vecs == 2) _mm512_mask_storeu_ps(c + r * ldc + 16, m1, acc[r][1]);
    }
}

/* The four shapes of tile, each its own copy of the loop with the row and
 * vector counts fixed, so the tests on them fold away. */
AG_AVX512 static void ag_sgemm_tile8x32_avx512(int add, __mmask16 m0, __mmask16 m1, int64_t k, const float *a, int64_t a_row,
                                               int64_t a_col, const float *panel, int64_t ldp, float *c, int64_t ldc) {
    ag_sgemm_tile_avx512(8, 2, add, m0, m1, k, a, a_row, a_col, panel, ldp, c, ldc);
}

AG_AVX512 static void ag_sgemm_tile8x16_avx512(int add, __mmask16 m0, int64_t k, const float *a, int64_t a_row,
                                               int64_t a_col, const float *panel, int64_t ldp, float *c, int64_t ldc) {
    ag_sgemm_tile_avx512(8, 1, add, m0, 0, k, a, a_row, a_col, panel, ldp, c, ldc);
}

AG_AVX512 static void ag_sgemm_tile_rows_x32_avx512(int add, int rows, __mmask16 m0, __mmask16 m1, int64_t k, const float *a,
                                                    int64_t a_row, int64_t a_col, const float *panel, int64_t ldp,
                                                    float *c, int64_t ldc) {
    ag_sgemm_tile_avx512(rows, 2, add, m0, m1, k, a, a_row, a_col, panel, ldp, c, ldc);
}

AG_AVX512 static void ag_sgemm_tile_rows_x16_avx512(int add, int rows, __mmask16 m0, int64_t k, const float *a,
                                                    int64_t a_row, int64_t a_col, const float *panel, int64_t ldp,
                                                    float *c, int64_t ldc) {
    ag_sgemm_tile_avx512(rows, 1, add, m0, 0, k, a, a_row, a_col, panel, ldp, c, ldc);
}

/* The mask of the first `lanes` of 16 (all of them from 16 up). */
static inline __mmask16 ag_lanes16(int64_t lanes) {
    return lanes >= 16 ? (__mmask16)0xFFFF : lanes <= 0 ? (__mmask16)0 : (__mmask16)((1u << lanes) - 1);
}

/* C[m, n] = op(A)[m, k] · op(B)[k, n]; row-major, leading dimensions in
 * elements. */
AG_AVX512 static void ag_sgemm_small_avx512(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                                            const float *a, int64_t lda, const float *b, int64_t ldb,
                                            float *c, int64_t ldc) {
    float panel[AG_SMALL_GEMM_AVX512_KB * 32] __attribute__((aligned(64)));
    /* op(A)(r, p) = a[r * a_row + p * a_col]; op(B)(p, j) likewise. */
    int64_t a_row = trans_a ? 1 : lda, a_col = trans_a ? lda : 1;
    for (int64_t j0 = 0; j0 < n; j0 += 32) {
        int64_t cols = n - j0 < 32 ? n - j0 : 32;
        __mmask16 m0 = ag_lanes16(cols), m1 = ag_lanes16(cols - 16);
        for (int64_t p0 = 0; p0 < k; p0 += AG_SMALL_GEMM_AVX512_KB) {
            int64_t kb = k - p0 < AG_SMALL_GEMM_AVX512_KB ? k - p0 : AG_SMALL_GEMM_AVX512_KB;
            int add = p0 > 0;
            const float *ap = a + p0 * a_col, *bp = b + p0 * ldb + j0;
            int64_t ldp = ldb;
            if (trans_b) {
                for (int64_t p = 0; p < kb; p++)
                    for (int64_t j = 0; j < cols; j++) panel[p * 32 + j] = b[(j0 + j) * ldb + p0 + p];
                bp = panel;
                ldp = 32;
            }
            int64_t i = 0;
            if (cols > 16) {
                for (; i + 8 <= m; i += 8)
                    ag_sgemm_tile8x32_avx512(add, m0, m1, kb, ap + i * a_row, a_row, a_col, bp, ldp,
                                             c + i * ldc + j0, ldc);
                if (i < m)
                    ag_sgemm_tile_rows_x32_avx512(add, (int)(m - i), m0, m1, kb, ap + i * a_row, a_row, a_col, bp,
                                                  ldp, c + i * ldc + j0, ldc);
            } else {
                for (; i + 8 <= m; i += 8)
                    ag_sgemm_tile8x16_avx512(add, m0, kb, ap + i * a_row, a_row, a_col, bp, ldp, c + i * ldc + j0,
                                             ldc);
                if (i < m)
                    ag_sgemm_tile_rows_x16_avx512(add, (int)(m - i), m0, kb, ap + i * a_row, a_row, a_col, bp, ldp,
                                                  c + i * ldc + j0, ldc);
            }
        }
    }
}
#endif
#endif
