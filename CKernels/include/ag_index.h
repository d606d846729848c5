/* Row gathers and scatter-adds: embeddings, mini-batches, and their gradients. */
#ifndef AG_INDEX_H
#define AG_INDEX_H

#include "ag_runtime.h"

/** dst[j, :] = src[idx[j], :] for j < n; rows of `dim` elements. */
void ag_index_select_rows(ag_dtype dt, size_t n, size_t dim, const void *src,
                          const int64_t *idx, void *dst);

/** dst[idx[j], :] += src[j, :] for j < n (repeated indices add up). */
void ag_index_add_rows(ag_dtype dt, size_t n, size_t dim, const void *src,
                       const int64_t *idx, void *dst);

#endif
