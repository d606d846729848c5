/* Reductions over the middle axis of [outer, r, inner]; bodies in reduce_impl.h. */
#include "../include/ag_reduce.h"
#include "ag_internal.h"

#define T float
#define SFX f32
#include "reduce_impl.h"
#undef T
#undef SFX

#define T double
#define SFX f64
#include "reduce_impl.h"
#undef T
#undef SFX

void ag_reduce_sum(ag_dtype dt, size_t outer, size_t r, size_t inner, double scale,
                   const void *x, void *y) {
    if (dt == AG_F32) reduce_sum_f32(outer, r, inner, scale, x, y);
    else reduce_sum_f64(outer, r, inner, scale, x, y);
}

void ag_reduce_max(ag_dtype dt, size_t outer, size_t r, size_t inner, const void *x, void *y) {
    if (dt == AG_F32) reduce_max_f32(outer, r, inner, x, y);
    else reduce_max_f64(outer, r, inner, x, y);
}

void ag_reduce_max_ties(ag_dtype dt, size_t outer, size_t r, size_t inner, const void *x,
                        const void *y, void *w) {
    if (dt == AG_F32) max_ties_f32(outer, r, inner, x, y, w);
    else max_ties_f64(outer, r, inner, x, y, w);
}

void ag_reduce_argmax(ag_dtype dt, size_t outer, size_t r, size_t inner, const void *x, int64_t *idx) {
    if (dt == AG_F32) reduce_argmax_f32(outer, r, inner, x, idx);
    else reduce_argmax_f64(outer, r, inner, x, idx);
}

