/* Reductions over the middle axis of [outer, r, inner]; bodies in reduce_impl.h. */
#include <math.h>
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


/* x * 0 is 0 for a finite x and NaN otherwise: a block's sum of them is NaN
 * exactly when the block holds a NaN or an infinity, found without a branch
 * per value (so the loop vectorizes); only that block is then searched. */
#define AG_FIRST_NONFINITE(T, name)                                          \
    static ptrdiff_t name(size_t n, const T *x) {                            \
        enum { block = 256 };                                                \
        for (size_t start = 0; start < n; start += block) {                  \
            size_t end = start + block < n ? start + block : n;              \
            T probe = 0;                                                     \
            for (size_t i = start; i < end; i++) probe += x[i] * (T)0;       \
            if (probe == probe) continue;                                    \
            for (size_t i = start; i < end; i++)                             \
                if (!isfinite(x[i])) return (ptrdiff_t)i;                    \
        }                                                                    \
        return -1;                                                           \
    }
AG_FIRST_NONFINITE(float, first_nonfinite_f32)
AG_FIRST_NONFINITE(double, first_nonfinite_f64)

ptrdiff_t ag_first_nonfinite(ag_dtype dt, size_t n, const void *x) {
    return dt == AG_F32 ? first_nonfinite_f32(n, x) : first_nonfinite_f64(n, x);
}
