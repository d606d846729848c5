/* 2-D max and average pooling over planes (N·C of them), plain and adaptive. */
#ifndef AG_POOL_H
#define AG_POOL_H

#include "ag_runtime.h"

/**
 * Windows over `planes` planes of h×w giving oh×ow outputs. Plain windows:
 * output (i, j) reads rows i·stride_h − pad_h + u·dil_h for u < kh (and
 * the same for columns), skipping those outside the plane. Adaptive
 * windows (`adaptive` = 1, PyTorch's adaptive pools): rows
 * [⌊i·h/oh⌋, ⌈(i+1)·h/oh⌉), the kernel, stride, padding and dilation unused.
 * `count_include_pad` (average only): divide by the window's size with its
 * padding (up to h + pad_h) rather than by the values it reads.
 */
typedef struct {
    int64_t planes, h, w, oh, ow;
    int64_t kh, kw, stride_h, stride_w, pad_h, pad_w, dil_h, dil_w;
    int adaptive;
    int count_include_pad;
} ag_pool2d_desc;

/**
 * y = the largest value of each window; idx (may be NULL) its position in
 * its plane (row · w + column), as PyTorch's indices. A NaN in a window
 * wins (the last one read); a window with nothing to read gives −inf and −1.
 */
void ag_maxpool2d(ag_dtype dt, const ag_pool2d_desc *d, const void *x, void *y, int64_t *idx);

/** out (oh×ow per plane) = v (h×w per plane) at each window's index; 0 where it is −1. */
void ag_pool2d_gather(ag_dtype dt, const ag_pool2d_desc *d, const int64_t *idx, const void *v, void *out);

/** dx (h×w per plane) = 0, then dx at each window's index += g (oh×ow per plane). */
void ag_pool2d_scatter(ag_dtype dt, const ag_pool2d_desc *d, const int64_t *idx, const void *g, void *dx);

/** y = the mean of each window (dilation must be 1 for plain windows). */
void ag_avgpool2d(ag_dtype dt, const ag_pool2d_desc *d, const void *x, void *y);

/** dx = the adjoint of ag_avgpool2d applied to g: each window spreads g / divisor over what it read. */
void ag_avgpool2d_backward(ag_dtype dt, const ag_pool2d_desc *d, const void *g, void *dx);

#endif
