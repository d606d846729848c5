/*
 * A small-matrix SGEMM for AVX2+FMA: C = A·B (op(A), op(B) with optional
 * transposes), for products small enough that OpenBLAS's per-call setup
 * dominates. Included by gemm.c only; used where `autograd bench` shows it
 * beats the library (see AG_SMALL_GEMM_MAX in gemm.c).
 *
 * The inner loop reads 16 columns of one row of B as two vectors and
 * broadcasts six elements of A per step into twelve accumulators (a 6×16
 * tile of C). A is read in place, and so is B when it is not transposed and
 * the 16 columns are all there; otherwise those columns are first packed,
 * k-major, into a stack buffer.
 */
#ifndef AG_GEMM_SMALL_AVX2_H
#define AG_GEMM_SMALL_AVX2_H

#if AG_X86
#include <immintrin.h>

/* Largest K the stack panel holds: 16 columns × K floats. */
#define AG_SMALL_GEMM_MAX_K 512

/* One tile of up to 6 rows × 16 columns: C[r, c] = Σ_k A(r, k) · P[k, c]. */
AG_AVX2 static inline __attribute__((always_inline)) void
ag_sgemm_tile(int rows, int cols, int64_t k, const float *a, int64_t a_row, int64_t a_col,
              const float *panel, int64_t ldp, float *c, int64_t ldc) {
    __m256 acc[6][2];
    for (int r = 0; r < 6; r++) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    for (int64_t p = 0; p < k; p++) {
        __m256 b0 = _mm256_loadu_ps(panel + p * ldp), b1 = _mm256_loadu_ps(panel + p * ldp + 8);
        for (int r = 0; r < 6; r++) {
            if (r < rows) {
                __m256 av = _mm256_broadcast_ss(a + r * a_row + p * a_col);
                acc[r][0] = _mm256_fmadd_ps(av, b0, acc[r][0]);
                acc[r][1] = _mm256_fmadd_ps(av, b1, acc[r][1]);
            }
        }
    }
    for (int r = 0; r < rows; r++) {
        if (cols == 16) {
            _mm256_storeu_ps(c + r * ldc, acc[r][0]);
            _mm256_storeu_ps(c + r * ldc + 8, acc[r][1]);
        } else {
            float tmp[16];
            _mm256_storeu_ps(tmp, acc[r][0]);
            _mm256_storeu_ps(tmp + 8, acc[r][1]);
            for (int j = 0; j < cols; j++) c[r * ldc + j] = tmp[j];
        }
    }
}

/* Full 6-row tiles get their own copy of the loop with `rows` fixed, so the
 * row test folds away. */
AG_AVX2 static void ag_sgemm_tile6(int cols, int64_t k, const float *a, int64_t a_row, int64_t a_col,
                                   const float *panel, int64_t ldp, float *c, int64_t ldc) {
    ag_sgemm_tile(6, cols, k, a, a_row, a_col, panel, ldp, c, ldc);
}

AG_AVX2 static void ag_sgemm_tile_rows(int rows, int cols, int64_t k, const float *a, int64_t a_row,
                                       int64_t a_col, const float *panel, int64_t ldp, float *c, int64_t ldc) {
    ag_sgemm_tile(rows, cols, k, a, a_row, a_col, panel, ldp, c, ldc);
}

/* C[m, n] = op(A)[m, k] · op(B)[k, n]; row-major, leading dimensions in elements.
 * Requires k ≤ AG_SMALL_GEMM_MAX_K. */
AG_AVX2 static void ag_sgemm_small(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                                   const float *a, int64_t lda, const float *b, int64_t ldb,
                                   float *c, int64_t ldc) {
    float panel[AG_SMALL_GEMM_MAX_K * 16] __attribute__((aligned(32)));
    /* op(A)(r, p) = a[r * a_row + p * a_col]. */
    int64_t a_row = trans_a ? 1 : lda, a_col = trans_a ? lda : 1;
    for (int64_t j0 = 0; j0 < n; j0 += 16) {
        int cols = n - j0 < 16 ? (int)(n - j0) : 16;
        const float *src = b + j0;
        int64_t ldp = ldb;
        if (trans_b || cols < 16) {
            for (int64_t p = 0; p < k; p++) {
                float *dst = panel + p * 16;
                if (trans_b)
                    for (int j = 0; j < 16; j++) dst[j] = j < cols ? b[(j0 + j) * ldb + p] : 0.0f;
                else
                    for (int j = 0; j < 16; j++) dst[j] = j < cols ? b[p * ldb + j0 + j] : 0.0f;
            }
            src = panel;
            ldp = 16;
        }
        int64_t i = 0;
        for (; i + 6 <= m; i += 6)
            ag_sgemm_tile6(cols, k, a + i * a_row, a_row, a_col, src, ldp, c + i * ldc + j0, ldc);
        if (i < m)
            ag_sgemm_tile_rows((int)(m - i), cols, k, a + i * a_row, a_row, a_col, src, ldp, c + i * ldc + j0, ldc);
    }
}
#endif
#endif
