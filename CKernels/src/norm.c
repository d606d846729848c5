/* Fused training-mode batch normalization, channels split over the threads;
 * each channel's sums run in one fixed order, so results do not depend on
 * the thread count. */
#include <math.h>
#include "../include/ag_norm.h"
#include "ag_internal.h"

typedef struct {
    ag_dtype dt;
    size_t n, c, inner;
    const void *x, *g, *w, *b;
    const double *mean, *invstd;
    double *out_mean, *out_var, *sum_g, *sum_gx;
    void *y;
} norm_job;

#define CAT_(a, b) a##_##b
#define CAT(a, b) CAT_(a, b)

#define T float
#define SFX f32
#include "norm_impl.h"
#undef T
#undef SFX

#define T double
#define SFX f64
#include "norm_impl.h"
#undef T
#undef SFX

static size_t grain(size_t n, size_t inner) {
    size_t per = n * inner + 1;
    return AG_GRAIN_CHEAP / per + 1;
}

void ag_batchnorm_stats(ag_dtype dt, size_t n, size_t c, size_t inner, const void *x, double *mean, double *var) {
    norm_job job = {dt, n, c, inner, x, NULL, NULL, NULL, NULL, NULL, mean, var, NULL, NULL, NULL};
    ag_parallel_for(c, grain(n, inner), dt == AG_F32 ? stats_f32 : stats_f64, &job);
}

void ag_batchnorm_apply(ag_dtype dt, size_t n, size_t c, size_t inner, const void *x, const double *mean,
                        const double *invstd, const void *w, const void *b, void *y) {
    norm_job job = {dt, n, c, inner, x, NULL, w, b, mean, invstd, NULL, NULL, NULL, NULL, y};
    ag_parallel_for(c, grain(n, inner), dt == AG_F32 ? apply_f32 : apply_f64, &job);
}

void ag_batchnorm_backward(ag_dtype dt, size_t n, size_t c, size_t inner, const void *x, const void *g,
                           const double *mean, const double *invstd, const void *w, void *dx,
                           double *sum_g, double *sum_gx) {
    norm_job job = {dt, n, c, inner, x, g, w, NULL, mean, invstd, NULL, NULL, sum_g, sum_gx, dx};
    ag_parallel_for(c, grain(n, inner), dt == AG_F32 ? backward_f32 : backward_f64, &job);
}
