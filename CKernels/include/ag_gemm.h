/* Matrix multiply through OpenBLAS. Row-major. */
#ifndef AG_GEMM_H
#define AG_GEMM_H

#include "ag_runtime.h"
#include "ag_elementwise.h"

/**
 * C = alpha * op(A) * op(B) + beta * C, op(X) = X or X^T as `trans_a`/`trans_b`
 * say; op(A) is m x k, op(B) is k x n, C is m x n; leading dimensions in elements.
 */
void ag_gemm(ag_dtype dt, int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
             double alpha, const void *a, int64_t lda, const void *b, int64_t ldb,
             double beta, void *c, int64_t ldc);

/** `batch` independent products; matrix i starts at base + i * stride (stride may be 0). */
void ag_gemm_batched(ag_dtype dt, int64_t batch, int trans_a, int trans_b,
                     int64_t m, int64_t n, int64_t k, double alpha,
                     const void *a, int64_t lda, int64_t stride_a,
                     const void *b, int64_t ldb, int64_t stride_b,
                     double beta, void *c, int64_t ldc, int64_t stride_c);

/**
 * The GEMM epilogue of a fully connected layer, in place on y [rows, cols]:
 * y[i, j] = act(y[i, j] + bias[j]), with `act` any unary op and its
 * parameters p0, p1 (AG_AFFINE with p0 = 1, p1 = 0 for none). `bias` may be NULL.
 */
void ag_bias_activation(ag_dtype dt, size_t rows, size_t cols, void *y, const void *bias,
                        ag_unary_op act, double p0, double p1);

#endif
