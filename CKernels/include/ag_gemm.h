/* Matrix multiply: our packed micro-kernels (gemm_packed.c) or OpenBLAS, chosen per product. Row-major. */
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

/** Which implementation runs a product. */
typedef enum { AG_GEMM_AUTO = 0, AG_GEMM_OWN = 1, AG_GEMM_BLAS = 2 } ag_gemm_impl;

/**
 * ag_gemm with the implementation forced: ours (packed, the micro-kernel of
 * the active ISA level, portable included), OpenBLAS, or AG_GEMM_AUTO, which
 * is what ag_gemm does (see ag_gemm_choice). Threaded the same way.
 */
void ag_gemm_with(ag_gemm_impl impl, ag_dtype dt, int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                  double alpha, const void *a, int64_t lda, const void *b, int64_t ldb,
                  double beta, void *c, int64_t ldc);

/** The implementation ag_gemm picks for an m×n×k product at the active level. */
ag_gemm_impl ag_gemm_choice(ag_dtype dt, int64_t m, int64_t n, int64_t k);

/**
 * What ag_gemm runs for a plain m×n×k product (no transposes, alpha 1,
 * beta 0) at the active level: "OpenBLAS", "ours, small-matrix AVX2 6x16",
 * "ours, small-matrix AVX-512 8x32" or our packed micro-kernel, e.g.
 * "ours, AVX-512 8x32".
 */
const char *ag_gemm_describe(ag_dtype dt, int64_t m, int64_t n, int64_t k);

/** What a fused GEMM does to C after the product: add a bias row and a residual, then an activation. */
typedef struct {
    const void *bias;      /* n values added to every row of C, or NULL */
    ag_unary_op act;       /* applied last: any unary op, AG_AFFINE with p0 = 1, p1 = 0 for none */
    double p0, p1;
    const void *residual;  /* an m×n matrix added before the activation (ResNet's skip), or NULL */
    int64_t ldr;           /* its leading dimension */
} ag_gemm_epilogue;

/**
 * C = act(op(A) · op(B) + bias + residual): a fully connected layer's forward in one
 * call. The small AVX-512 kernel applies it to each tile in registers before
 * the tile's last store (for the activations it has in vector form: affine,
 * ReLU, leaky ReLU, exp, tanh, sigmoid, GELU, SiLU); our packed kernel on
 * each strip of C (MR rows of an NC-column block) as soon as its last K
 * block is done, while it is still in cache; with OpenBLAS, on each
 * thread's slab after its product.
 */
void ag_gemm_fused(ag_dtype dt, int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                   const void *a, int64_t lda, const void *b, int64_t ldb, void *c, int64_t ldc,
                   const ag_gemm_epilogue *epilogue);

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
