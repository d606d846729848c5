/* Row gathers and scatter-adds. */
#include <string.h>
#include "../include/ag_index.h"
#include "ag_internal.h"

void ag_index_select_rows(ag_dtype dt, size_t n, size_t dim, const void *src,
                          const int64_t *idx, void *dst) {
    size_t row = dim * ag_dtype_size(dt);
    for (size_t j = 0; j < n; j++)
        memcpy((char *)dst + j * row, (const char *)src + (size_t)idx[j] * row, row);
}

void ag_index_add_rows(ag_dtype dt, size_t n, size_t dim, const void *src,
                       const int64_t *idx, void *dst) {
    if (dt == AG_F32) {
        const float *s = src;
        float *d = dst;
        for (size_t j = 0; j < n; j++)
            for (size_t k = 0; k < dim; k++) d[(size_t)idx[j] * dim + k] += s[j * dim + k];
    } else {
        const double *s = src;
        double *d = dst;
        for (size_t j = 0; j < n; j++)
            for (size_t k = 0; k < dim; k++) d[(size_t)idx[j] * dim + k] += s[j * dim + k];
    }
}
