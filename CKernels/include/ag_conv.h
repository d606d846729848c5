/* 2-D convolution (cross-correlation, as PyTorch's), NCHW, in groups:
 * forward, backward-data and backward-weight. */
#ifndef AG_CONV_H
#define AG_CONV_H

#include "ag_runtime.h"
#include "ag_elementwise.h"

/**
 * The geometry of one convolution. Input [n, c, h, w], weight
 * [k, c / groups, r, s], output [n, k, oh, ow] with
 *
 *   y[b, o, i, j] = Σ_{ci, u, v} x[b, g·c/groups + ci, i·stride_h − pad_h + u·dil_h, j·stride_w − pad_w + v·dil_w]
 *                                · w[o, ci, u, v],  g = o / (k / groups),
 *
 * reading zeros outside the input. pad_h and pad_w are the top and left
 * padding; the bottom and right follow from oh and ow, so asymmetric
 * padding ("same" with an even kernel) needs nothing more.
 */
typedef struct {
    int64_t n, c, h, w;
    int64_t k, r, s;
    int64_t oh, ow;
    int64_t stride_h, stride_w, pad_h, pad_w, dil_h, dil_w;
    int64_t groups;
} ag_conv2d_desc;

/**
 * Elements of scratch the three calls below need to run on `threads`
 * threads, in the convolution's dtype: per thread, one image-group's column
 * matrix ((c/groups)·r·s × oh·ow; none for a 1×1 kernel of stride 1 without
 * padding) and, for backward-weight, a partial weight gradient; at most
 * 16 MiB of float64 in all (beyond, fewer threads take whole images, or
 * the images run one after the other on one column matrix, each product
 * split over the threads). Given less, a call runs on as many threads as
 * it holds scratch for (at least one's worth is needed).
 */
size_t ag_conv2d_workspace(const ag_conv2d_desc *d, int threads);

/**
 * The scratch ag_conv2d_forward needs for a convolution of this dtype:
 * where it runs a direct kernel (float32 of stride 1 with few input
 * channels per group at AVX2 and above; at AVX-512 also stride 1 with
 * 32·m output channels per group, "same"-size outputs, and any stride
 * with few input and 16·m output channels per group), none or the turned
 * weights (and padded images), else ag_conv2d_workspace's.
 */
size_t ag_conv2d_forward_workspace(ag_dtype dt, const ag_conv2d_desc *d, int threads);

/**
 * The scratch ag_conv2d_backward_data needs: the turned-over kernel (and
 * padded or embedded images) where it runs as a direct convolution
 * (float32 convolutions of stride 1 at AVX-512 whose transposed
 * convolution the padded or plane kernel runs), else ag_conv2d_workspace's.
 */
size_t ag_conv2d_backward_data_workspace(ag_dtype dt, const ag_conv2d_desc *d, int threads);

/** y = conv(x, w). `ws` holds `ws_elems` elements of scratch (see ag_conv2d_workspace). */
void ag_conv2d_forward(ag_dtype dt, const ag_conv2d_desc *d, const void *x, const void *w, void *y,
                       void *ws, size_t ws_elems);

/**
 * dx = the adjoint of the convolution in x applied to dy (a transposed
 * convolution): dx[b, ci, p, q] = Σ y-positions reading (p, q) of dy · w. Overwrites dx.
 */
void ag_conv2d_backward_data(ag_dtype dt, const ag_conv2d_desc *d, const void *dy, const void *w, void *dx,
                             void *ws, size_t ws_elems);

/**
 * The scratch ag_conv2d_backward_weight needs on `threads` threads: a
 * partial gradient per thread (and a turned block of dy, and a staged
 * image) where it runs a direct kernel's adjoint (where the forward pass
 * runs the channel kernel; "same"-size convolutions at AVX-512 with 16·m
 * output channels, or few, per group), else ag_conv2d_workspace's.
 */
size_t ag_conv2d_backward_weight_workspace(ag_dtype dt, const ag_conv2d_desc *d, int threads);

/**
 * dw = the adjoint in w: dw[o, ci, u, v] = Σ_{b, i, j} dy[b, o, i, j] · x[b, ci', i·sh − ph + u·dh, …].
 * Overwrites dw. Threads sum their images' partials in a fixed order, so a
 * given thread count gives the same bits on every run.
 */
void ag_conv2d_backward_weight(ag_dtype dt, const ag_conv2d_desc *d, const void *x, const void *dy, void *dw,
                               void *ws, size_t ws_elems);

/**
 * A convolution's epilogue, in place on y [planes / channels, channels,
 * plane]: y = act(y + bias[c]) on every plane of channel c, with `act` any
 * unary op and its parameters (AG_AFFINE with p0 = 1, p1 = 0 for none).
 * `bias` may be NULL. Planes are split over the threads.
 */
void ag_conv2d_bias_activation(ag_dtype dt, size_t planes, size_t channels, size_t plane, void *y,
                               const void *bias, ag_unary_op act, double p0, double p1);

#endif
