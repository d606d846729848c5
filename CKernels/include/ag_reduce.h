/*
 * Reductions. A reduction sees its input as a contiguous [outer, r, inner]
 * block and reduces the middle axis, giving [outer, inner]: the last axis is
 * inner = 1, the first is outer = 1, and any run of adjacent axes folds into r.
 */
#ifndef AG_REDUCE_H
#define AG_REDUCE_H

#include "ag_runtime.h"

/**
 * y[o, i] = scale * sum_k x[o, k, i], summed pairwise: contiguous runs
 * (inner == 1) in leaves of 512 floats / 256 doubles, each in 128 bytes of
 * independent lanes, combined pairwise; strided sums (inner > 1) in blocks of
 * 16 rows per column (up to 256 when the partial sums of wide, tall inputs
 * would not fit the stack otherwise), combined pairwise. The error grows
 * with log(r), not r, and the result is the same on the portable and AVX2
 * paths and on any number of threads. The scale is applied in double.
 */
void ag_reduce_sum(ag_dtype dt, size_t outer, size_t r, size_t inner,
                   double scale, const void *x, void *y);

/** y[o, i] = max_k x[o, k, i], NaN when any of them is NaN (r >= 1). */
void ag_reduce_max(ag_dtype dt, size_t outer, size_t r, size_t inner,
                   const void *x, void *y);

/**
 * The gradient weights of a max: w[o, k, i] = 1/c where x[o, k, i] == y[o, i]
 * and 0 elsewhere, c being the number of such k (ties share evenly, as in
 * PyTorch's amax). When y[o, i] is NaN the NaN elements of the slice share.
 */
void ag_reduce_max_ties(ag_dtype dt, size_t outer, size_t r, size_t inner,
                        const void *x, const void *y, void *w);

/**
 * idx[o, i] = the k that maximises x[o, k, i]: the first one on ties, and the
 * first NaN if there is one (NaN wins, as in PyTorch).
 */
void ag_reduce_argmax(ag_dtype dt, size_t outer, size_t r, size_t inner,
                      const void *x, int64_t *idx);

/**
 * The index of the first NaN or infinity in x[0..n), or -1 when all are
 * finite (anomaly detection). Scans blocks without branching on each value.
 */
ptrdiff_t ag_first_nonfinite(ag_dtype dt, size_t n, const void *x);

#endif
