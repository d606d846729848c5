/* Copies, fills and casts. */
#ifndef AG_COPY_H
#define AG_COPY_H

#include "ag_runtime.h"

/** dst[...] = src[...] over `shape`, both read/written through element strides. */
void ag_copy_strided(ag_dtype dt, int ndim, const int64_t *shape,
                     const void *src, const int64_t *src_strides,
                     void *dst, const int64_t *dst_strides);

/** dst[i] = value for i < n. */
void ag_fill(ag_dtype dt, size_t n, double value, void *dst);

/** Converts n elements between dtypes (a plain copy when they match). */
void ag_cast(ag_dtype from, ag_dtype to, size_t n, const void *src, void *dst);

#endif
