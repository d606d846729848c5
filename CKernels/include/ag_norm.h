/* Batch normalization in training mode, fused: per-channel statistics, the
 * normalisation, and the backward pass in one reduction sweep. */
#ifndef AG_NORM_H
#define AG_NORM_H

#include "ag_runtime.h"

/**
 * Per-channel mean and biased variance of x [n, c, inner] (inner = H·W, or
 * 1 for [N, C]) over n and inner, accumulated in float64 (two passes:
 * the mean, then the squared deviations), channels split over the threads.
 */
void ag_batchnorm_stats(ag_dtype dt, size_t n, size_t c, size_t inner, const void *x, double *mean, double *var);

/** y = (x − mean[ch]) · invstd[ch] · w[ch] + b[ch]; w and b may be NULL (1 and 0). y may be x. */
void ag_batchnorm_apply(ag_dtype dt, size_t n, size_t c, size_t inner, const void *x, const double *mean,
                        const double *invstd, const void *w, const void *b, void *y);

/**
 * The backward pass of training-mode batch normalization for the output
 * gradient g: with x̂ = (x − mean)·invstd and M = n·inner values per channel,
 * sum_g[ch] = Σ g and sum_gx[ch] = Σ g·x̂, and (when dx is not NULL)
 * dx = w·invstd·(g − sum_g/M − x̂·sum_gx/M). sum_g and sum_gx are written in
 * float64; w may be NULL (1).
 */
void ag_batchnorm_backward(ag_dtype dt, size_t n, size_t c, size_t inner, const void *x, const void *g,
                           const double *mean, const double *invstd, const void *w, void *dx,
                           double *sum_g, double *sum_gx);

#endif
