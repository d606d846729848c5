/*
 * Reductions. A reduction sees its input as a contiguous [outer, r, inner]
 * block and reduces the middle axis, giving [outer, inner]: the last axis is
 * inner = 1, the first is outer = 1, and any run of adjacent axes folds into r.
 */
#ifndef AG_REDUCE_H
#define AG_REDUCE_H

#include "ag_runtime.h"

/** y[o, i] = scale * sum_k x[o, k, i]. */
void ag_reduce_sum(ag_dtype dt, size_t outer, size_t r, size_t inner,
                   double scale, const void *x, void *y);

/**
 * idx[o, i] = the k that maximises x[o, k, i]: the first one on ties, and the
 * first NaN if there is one (NaN wins, as in PyTorch).
 */
void ag_reduce_argmax(ag_dtype dt, size_t outer, size_t r, size_t inner,
                      const void *x, int64_t *idx);

/** y[o, i] = x[o, idx[o, i], i]: reads the elements an argmax picked. */
void ag_gather_axis(ag_dtype dt, size_t outer, size_t r, size_t inner,
                    const void *x, const int64_t *idx, void *y);

/** x = 0, then x[o, idx[o, i], i] = y[o, i]: routes values back to the picked slots. */
void ag_scatter_axis(ag_dtype dt, size_t outer, size_t r, size_t inner,
                     const void *y, const int64_t *idx, void *x);

#endif
