/* The packed GEMM of gemm_packed.c, for gemm.c. */
#ifndef AG_GEMM_PACKED_H
#define AG_GEMM_PACKED_H

#include "ag_internal.h"
#include "../include/ag_gemm.h"

/**
 * C = alpha · op(A) · op(B) + beta · C on the calling thread, with the
 * micro-kernel of the active ISA level. Returns 0 (and does nothing) only
 * when its packing buffer cannot be allocated.
 */
int ag_gemm_packed(ag_dtype dt, int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                   double alpha, const void *a, int64_t lda, const void *b, int64_t ldb,
                   double beta, void *c, int64_t ldc, const ag_gemm_epilogue *epilogue);

/** Applies `epilogue` to the m×n block of C at row `row` and column `col` of the bias and residual. */
void ag_gemm_apply_epilogue(ag_dtype dt, size_t m, size_t n, void *c, size_t ldc,
                            const ag_gemm_epilogue *epilogue, size_t row, size_t col);

/** The L2 cache size the blocking is chosen for, in bytes (as the system reports it). */
size_t ag_gemm_l2_bytes(void);

/** The micro-kernel used at the active level, e.g. "ours, AVX-512 8x32". */
const char *ag_gemm_packed_kernel_name(ag_dtype dt);

#endif
