/* The direct convolution of conv_direct.c, for conv.c. */
#ifndef AG_CONV_DIRECT_H
#define AG_CONV_DIRECT_H

#include "ag_internal.h"
#include "../include/ag_conv.h"

/* Scratch elements a call may take for thread slots or staged images:
 * 16 MiB of float64 (a single slot, one image's column tile and partial,
 * may exceed it). */
#ifndef AG_CONV_WORKSPACE_ELEMS
#define AG_CONV_WORKSPACE_ELEMS ((size_t)2 << 20)
#endif

/* Input channels per group up to which the direct kernel runs instead of
 * im2col and a GEMM. */
#ifndef AG_CONV_DIRECT_MAX_CHANNELS
#define AG_CONV_DIRECT_MAX_CHANNELS 8
#endif

/* Kernel columns up to which it runs (its lane masks live on the stack). */
#define AG_CONV_DIRECT_MAX_TAPS 16
/* Output rows up to this many sixteen-column vectors wide (the same reason). */
#define AG_CONV_DIRECT_MAX_VECTORS 64

/* The plane kernel (AVX-512, "same"-size outputs of stride 1) runs for
 * kernels of up to this many taps (its masks live on the stack)… */
#define AG_CONV_PLANE_MAX_TAPS 64
/* …and at least this many input channels, over which a work item's lane
 * masks are shared (with fewer, the row kernel or a GEMM runs). */
#ifndef AG_CONV_PLANE_MIN_CHANNELS
#define AG_CONV_PLANE_MIN_CHANNELS 16
#endif

/* The plane kernel's weight gradient runs for "same"-size convolutions
 * with at most this many output channels per group (where im2col's
 * product is thin), unless the channel kernel's applies. */
#ifndef AG_CONV_PLANEW_MAX_OUTPUTS
#define AG_CONV_PLANEW_MAX_OUTPUTS 16
#endif

/* The padded kernel (AVX-512, stride 1, output channels per group a
 * multiple of 32) runs for at least this many input channels per group. */
#ifndef AG_CONV_PADDED_MIN_CHANNELS
#define AG_CONV_PADDED_MIN_CHANNELS 16
#endif

/* The channel kernel (AVX-512, output channels per group a multiple of 16)
 * runs for up to this many input channels per group, where im2col's
 * product is thin, and kernels of up to this many taps. */
#ifndef AG_CONV_CHAN_MAX_CHANNELS
#define AG_CONV_CHAN_MAX_CHANNELS 16
#endif
#define AG_CONV_CHAN_MAX_TAPS 256
/* Its weight gradient runs for "same"-size convolutions of the plane and
 * padded kernels too, with up to this many weights (a thread's partial,
 * 8 MiB, which each block of dy sweeps once). */
#ifndef AG_CONV_CHANW_MAX_WEIGHTS
#define AG_CONV_CHANW_MAX_WEIGHTS (1 << 21)
#endif

/** Whether it runs this convolution with the padded kernel. */
int ag_conv2d_direct_padded_applies(ag_dtype dt, const ag_conv2d_desc *d);

/**
 * dx = the backward-data pass of a stride-1 convolution, run as `t`, the
 * convolution of dy with the turned-over kernel (conv.c), on the padded
 * kernel: `w` is the forward layer's weights, `ws` holds
 * ag_conv2d_direct_workspace(t)'s elements.
 */
void ag_conv2d_direct_transposed(const ag_conv2d_desc *t, const float *dy, const float *w, float *dx, float *ws);

/** Images of `per_image` elements each that a run stages within AG_CONV_WORKSPACE_ELEMS: at least 1, at most n. */
int64_t ag_conv2d_images_per_run(int64_t per_image, int64_t n);

/** Planes staged into zero planes of another size, for ag_conv2d_stage_planes. */
typedef struct {
    const float *src;
    float *dst;
    int64_t rows, cols;  /* a source plane's */
    int64_t top, left;   /* where its first pixel lands in the destination plane */
    int64_t hp, wp;      /* a destination plane's rows and columns */
} ag_conv2d_stage_job;

/**
 * Planes [begin, end) (an ag_parallel_for body over an ag_conv2d_stage_job):
 * each source plane at (top, left) of a zero destination plane, rows and
 * columns past the destination's end left out.
 */
void ag_conv2d_stage_planes(void *ctx, size_t begin, size_t end);

/** Whether ag_conv2d_direct_forward handles this convolution at the active level. */
int ag_conv2d_direct_applies(ag_dtype dt, const ag_conv2d_desc *d);

/** Whether it runs this convolution with the plane kernel. */
int ag_conv2d_direct_plane_applies(ag_dtype dt, const ag_conv2d_desc *d);

/**
 * Elements of scratch ag_conv2d_direct_forward needs: the turned weights of
 * the channel kernel; those and a run of padded images for the padded
 * kernel; else none.
 */
size_t ag_conv2d_direct_workspace(ag_dtype dt, const ag_conv2d_desc *d);

/**
 * Elements of scratch ag_conv2d_direct_backward_weight needs on `threads`
 * threads (one partial per thread), or 0 where it does not run: it runs
 * where the forward pass takes the channel kernel, and for "same"-size
 * convolutions of the plane or padded kernel with 16·m output channels per
 * group and at most AG_CONV_CHANW_MAX_WEIGHTS weights (the channel
 * kernel's layout); else
 * for "same"-size convolutions with at most AG_CONV_PLANEW_MAX_OUTPUTS
 * output channels per group (the plane's).
 */
size_t ag_conv2d_direct_weight_workspace(ag_dtype dt, const ag_conv2d_desc *d, int threads);

/** dw = the adjoint in w, in the layout of the channel or the plane kernel; `ws` holds at least one thread's scratch. */
void ag_conv2d_direct_backward_weight(const ag_conv2d_desc *d, const float *x, const float *dy, float *dw, float *ws,
                                      size_t ws_elems);

/** y = conv(x, w) by a direct kernel (float32); `ws` holds ag_conv2d_direct_workspace's elements. */
void ag_conv2d_direct_forward(const ag_conv2d_desc *d, const float *x, const float *w, float *y, float *ws);

#endif
