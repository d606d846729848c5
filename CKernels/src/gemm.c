/* Matrix multiply: a thin, checked layer over cblas_sgemm / cblas_dgemm. */
#include <cblas.h>
#include "../include/ag_gemm.h"
#include "ag_internal.h"

void ag_gemm(ag_dtype dt, int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
             double alpha, const void *a, int64_t lda, const void *b, int64_t ldb,
             double beta, void *c, int64_t ldc) {
    if (m == 0 || n == 0) return;
    enum CBLAS_TRANSPOSE ta = trans_a ? CblasTrans : CblasNoTrans;
    enum CBLAS_TRANSPOSE tb = trans_b ? CblasTrans : CblasNoTrans;
    if (dt == AG_F32)
        cblas_sgemm(CblasRowMajor, ta, tb, (blasint)m, (blasint)n, (blasint)k, (float)alpha,
                    a, (blasint)lda, b, (blasint)ldb, (float)beta, c, (blasint)ldc);
    else
        cblas_dgemm(CblasRowMajor, ta, tb, (blasint)m, (blasint)n, (blasint)k, alpha,
                    a, (blasint)lda, b, (blasint)ldb, beta, c, (blasint)ldc);
}

void ag_gemm_batched(ag_dtype dt, int64_t batch, int trans_a, int trans_b,
                     int64_t m, int64_t n, int64_t k, double alpha,
                     const void *a, int64_t lda, int64_t stride_a,
                     const void *b, int64_t ldb, int64_t stride_b,
                     double beta, void *c, int64_t ldc, int64_t stride_c) {
    size_t es = ag_dtype_size(dt);
    for (int64_t i = 0; i < batch; i++)
        ag_gemm(dt, trans_a, trans_b, m, n, k, alpha,
                (const char *)a + (size_t)(i * stride_a) * es, lda,
                (const char *)b + (size_t)(i * stride_b) * es, ldb, beta,
                (char *)c + (size_t)(i * stride_c) * es, ldc);
}
