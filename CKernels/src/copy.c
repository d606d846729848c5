/* Strided copies, fills and dtype casts. */
#include <string.h>
#include "../include/ag_copy.h"
#include "ag_internal.h"

static void copy_inner(void *ctx, size_t n, char *const *p, const int64_t *s) {
    size_t es = *(const size_t *)ctx;
    char *dst = p[0];
    const char *src = p[1];
    if (s[0] == (int64_t)es && s[1] == (int64_t)es) {
        memcpy(dst, src, n * es);
        return;
    }
    if (es == 4)
        for (size_t i = 0; i < n; i++) *(float *)(dst + (int64_t)i * s[0]) = *(const float *)(src + (int64_t)i * s[1]);
    else
        for (size_t i = 0; i < n; i++) *(double *)(dst + (int64_t)i * s[0]) = *(const double *)(src + (int64_t)i * s[1]);
}

void ag_copy_strided(ag_dtype dt, int ndim, const int64_t *shape,
                     const void *src, const int64_t *src_strides,
                     void *dst, const int64_t *dst_strides) {
    size_t es = ag_dtype_size(dt);
    char *base[2] = {dst, (char *)src};
    const int64_t *strides[2] = {dst_strides, src_strides};
    ag_nditer it;
    ag_nditer_init(&it, ndim, shape, 2, base, strides, es);
    ag_nditer_run_parallel(&it, AG_GRAIN_CHEAP, copy_inner, &es);
}

void ag_fill(ag_dtype dt, size_t n, double value, void *dst) {
    if (dt == AG_F32) {
        float v = (float)value, *d = dst;
        for (size_t i = 0; i < n; i++) d[i] = v;
    } else {
        double *d = dst;
        for (size_t i = 0; i < n; i++) d[i] = value;
    }
}

void ag_cast(ag_dtype from, ag_dtype to, size_t n, const void *src, void *dst) {
    if (from == to) {
        memcpy(dst, src, n * ag_dtype_size(from));
    } else if (from == AG_F32) {
        const float *s = src;
        double *d = dst;
        for (size_t i = 0; i < n; i++) d[i] = (double)s[i];
    } else {
        const double *s = src;
        float *d = dst;
        for (size_t i = 0; i < n; i++) d[i] = (float)s[i];
    }
}
