/* 2-D convolution by image and group as GEMMs on column matrices (im2col),
 * or on the input itself for a 1×1 kernel of stride 1 without padding.
 * A column matrix is built a tile of output rows at a time, small enough
 * (AG_CONV_TILE_ELEMS) to be multiplied while it is still in L2, which
 * also bounds the scratch whatever the image size.
 *
 * Two ways to use the threads. With at least as many images as threads
 * (and an even split, or four images a thread), each thread takes whole
 * images with its own column buffer and runs its GEMMs on one thread: no
 * synchronisation inside a batch. Otherwise the images run one after the
 * other, each GEMM split over the pool and im2col/col2im split by rows. */
#include <string.h>
#include "../include/ag_conv.h"
#include "../include/ag_gemm.h"
#include "ag_internal.h"
#include "conv_direct.h"

#define T float
#define SFX f32
#include "conv_impl.h"
#undef T
#undef SFX

#define T double
#define SFX f64
#include "conv_impl.h"
#undef T
#undef SFX

static int is_pointwise(const ag_conv2d_desc *d) {
    return d->r == 1 && d->s == 1 && d->stride_h == 1 && d->stride_w == 1 && d->pad_h == 0 && d->pad_w == 0 &&
           d->oh == d->h && d->ow == d->w;
}

/* Output rows per tile: as many as keep a tile's column matrix within
 * `elems`, and at least one. A tile's GEMM has rows·ow columns. */
static int64_t rows_within(const ag_conv2d_desc *d, int64_t elems) {
    /* Empty convolutions (no channels, no kernel taps, no columns) have nothing to tile. */
    int64_t per_row = (d->c / d->groups) * d->r * d->s * d->ow;
    int64_t rows = per_row > 0 ? elems / per_row : d->oh;
    if (rows < 1) rows = 1;
    return rows > d->oh ? d->oh : rows;
}

/* Forward and backward-data tiles stay within AG_CONV_TILE_ELEMS, so a
 * tile's column matrix is written and read again while in L2.
 * Backward-weight sums each tile's product into the weight gradient, and
 * that product's depth is the tile's columns: deeper tiles
 * (AG_CONV_WEIGHT_TILE_ELEMS) pay more than L2 residency there (measured
 * on the VGG layer of `autograd bench`). */
#ifndef AG_CONV_TILE_ELEMS
#define AG_CONV_TILE_ELEMS ((int64_t)1 << 16)
#endif
#ifndef AG_CONV_WEIGHT_TILE_ELEMS
#define AG_CONV_WEIGHT_TILE_ELEMS ((int64_t)1 << 18)
#endif

typedef enum { FORWARD, BACKWARD_DATA, BACKWARD_WEIGHT } conv_pass;

static int64_t tile_rows(const ag_conv2d_desc *d, conv_pass pass) {
    return rows_within(d, pass == BACKWARD_WEIGHT ? AG_CONV_WEIGHT_TILE_ELEMS : AG_CONV_TILE_ELEMS);
}

/* A column buffer holds the largest tile of any pass. */
static size_t column_elems(const ag_conv2d_desc *d) {
    if (is_pointwise(d)) return 0;
    int64_t rows = tile_rows(d, BACKWARD_WEIGHT), other = tile_rows(d, FORWARD);
    return (size_t)((d->c / d->groups) * d->r * d->s) * (size_t)((rows > other ? rows : other) * d->ow);
}

static size_t weight_elems(const ag_conv2d_desc *d) { return (size_t)(d->k * (d->c / d->groups) * d->r * d->s); }

/* Scratch of one thread slot when threads take whole images: a column
 * buffer and a partial weight gradient. */
static size_t slot_elems(const ag_conv2d_desc *d) { return column_elems(d) + weight_elems(d); }

static int images_per_thread_pays(const ag_conv2d_desc *d, int threads) {
    return threads >= 2 && d->n >= threads && (d->n % threads == 0 || d->n >= 4 * (int64_t)threads);
}

size_t ag_conv2d_workspace(const ag_conv2d_desc *d, int threads) {
    size_t serial = column_elems(d);
    if (!images_per_thread_pays(d, threads)) return serial;
    size_t slots = (size_t)(threads < d->n ? threads : d->n);
    size_t per = slot_elems(d), fit = per ? AG_CONV_WORKSPACE_ELEMS / per : slots;  /* empty convolutions need none */
    if (fit < 2) return serial;  /* one slot's worth: the image-by-image way */
    return (slots < fit ? slots : fit) * per;
}

/* How many slots a call runs: 1 for the image-by-image way. */
static int slot_count(const ag_conv2d_desc *d, size_t ws_elems) {
    int threads = ag_num_threads();
    if (!images_per_thread_pays(d, threads)) return 1;
    size_t per = slot_elems(d);
    size_t fit = per ? ws_elems / per : (size_t)threads;
    int slots = (int)(fit < (size_t)threads ? fit : (size_t)threads);
    if (slots > d->n) slots = (int)d->n;
    return slots >= 2 ? slots : 1;
}

typedef struct {
    ag_dtype dt;
    const ag_conv2d_desc *d;
    conv_pass pass;
    const char *in;   /* x (forward, backward-weight) or dy (backward-data) */
    const char *w;    /* w, or dy for backward-weight */
    char *out;        /* y, dx or dw */
    char *ws;
    int slots;
    int serial;       /* image by image: split the rows, not the images */
} conv_job;

/* One tile's im2col or col2im, split over rows or channels by ag_parallel_for. */
typedef struct {
    ag_dtype dt;
    const ag_conv2d_desc *d;
    const char *src;
    char *dst;
    int64_t i0, i1;
} tile_job;

static void im2col_rows(void *ctx, size_t begin, size_t end) {
    const tile_job *t = ctx;
    if (t->dt == AG_F32)
        im2col_f32(t->d, (const float *)t->src, (float *)t->dst, (int64_t)begin, (int64_t)end, t->i0, t->i1);
    else
        im2col_f64(t->d, (const double *)t->src, (double *)t->dst, (int64_t)begin, (int64_t)end, t->i0, t->i1);
}

static void col2im_channels(void *ctx, size_t begin, size_t end) {
    const tile_job *t = ctx;
    if (t->dt == AG_F32)
        col2im_f32(t->d, (const float *)t->src, (float *)t->dst, (int64_t)begin, (int64_t)end, t->i0, t->i1);
    else
        col2im_f64(t->d, (const double *)t->src, (double *)t->dst, (int64_t)begin, (int64_t)end, t->i0, t->i1);
}

/* One image's pass over every group, tile by tile of output rows. `col` is
 * this slot's column buffer, `dw` the weight gradient it accumulates into
 * (backward-weight; `first` overwrites it). */
static void run_image(const conv_job *job, int64_t b, char *col, char *dw, int first) {
    const ag_conv2d_desc *d = job->d;
    size_t es = ag_dtype_size(job->dt);
    int64_t cg = d->c / d->groups, kg = d->k / d->groups, crs = cg * d->r * d->s;
    int64_t hw = d->h * d->w, P = d->oh * d->ow;
    int pointwise = is_pointwise(d);
    int64_t step = pointwise ? d->oh : tile_rows(d, job->pass);
    for (int64_t g = 0; g < d->groups; g++) {
        const char *w_g = job->w + (size_t)(g * kg * crs) * es;
        /* x of this image and group (read by im2col: forward and backward-weight only). */
        const char *x_bg = job->in + (size_t)((b * d->c + g * cg) * hw) * es;
        /* y (forward), dy (backward-data: job->in; backward-weight: job->w). */
        const char *dy_base = job->pass == BACKWARD_WEIGHT ? job->w : job->in;
        size_t rows_at = (size_t)((b * d->k + g * kg) * P);
        char *dx_bg = job->out + (size_t)((b * d->c + g * cg) * hw) * es;
        if (job->pass == BACKWARD_DATA && !pointwise) memset(dx_bg, 0, (size_t)(cg * hw) * es);
        for (int64_t i0 = 0; i0 < d->oh; i0 += step) {
            int64_t i1 = i0 + step < d->oh ? i0 + step : d->oh, n = (i1 - i0) * d->ow;
            size_t at = rows_at + (size_t)(i0 * d->ow);
            tile_job tile = {job->dt, d, x_bg, col, i0, i1};
            const char *bmat = pointwise ? x_bg : col;
            if (!pointwise && job->pass != BACKWARD_DATA) {
                if (job->serial) ag_parallel_for((size_t)crs, AG_GRAIN_CHEAP / (size_t)n + 1, im2col_rows, &tile);
                else im2col_rows(&tile, 0, (size_t)crs);
            }
            switch (job->pass) {
            case FORWARD:
                ag_gemm(job->dt, 0, 0, kg, n, crs, 1, w_g, crs, bmat, n, 0, job->out + at * es, P);
                break;
            case BACKWARD_DATA:
                if (pointwise) {
                    ag_gemm(job->dt, 1, 0, cg, P, kg, 1, w_g, crs, dy_base + at * es, P, 0, dx_bg, P);
                    break;
                }
                ag_gemm(job->dt, 1, 0, crs, n, kg, 1, w_g, crs, dy_base + at * es, P, 0, col, n);
                tile.src = col;
                tile.dst = dx_bg;
                if (job->serial)
                    ag_parallel_for((size_t)cg, AG_GRAIN_CHEAP / (size_t)(d->r * d->s * n) + 1, col2im_channels, &tile);
                else col2im_channels(&tile, 0, (size_t)cg);
                break;
            case BACKWARD_WEIGHT:
                ag_gemm(job->dt, 0, 1, kg, crs, n, 1, dy_base + at * es, P, bmat, n, first && i0 == 0 ? 0 : 1,
                        dw + (size_t)(g * kg * crs) * es, crs);
                break;
            }
        }
    }
}

/* Thread slots [begin, end): each does its share of the images on one thread. */
static void run_slots(void *ctx, size_t begin, size_t end) {
    const conv_job *job = ctx;
    const ag_conv2d_desc *d = job->d;
    size_t es = ag_dtype_size(job->dt);
    int previous = ag_scope_num_threads(1);
    for (size_t t = begin; t < end; t++) {
        char *slot = job->ws + t * slot_elems(d) * es;
        char *partial = slot + column_elems(d) * es;
        int64_t lo = (int64_t)t * d->n / job->slots, hi = (int64_t)(t + 1) * d->n / job->slots;
        for (int64_t b = lo; b < hi; b++) run_image(job, b, slot, partial, b == lo);
    }
    ag_scope_num_threads(previous);
}

typedef struct {
    ag_dtype dt;
    char *dw;
    const char *partials;
    size_t stride;
    int count;
} partial_job;

static void sum_range(void *ctx, size_t begin, size_t end) {
    const partial_job *p = ctx;
    if (p->dt == AG_F32)
        sum_partials_f32((float *)p->dw, (const float *)p->partials, p->stride, p->count, begin, end);
    else
        sum_partials_f64((double *)p->dw, (const double *)p->partials, p->stride, p->count, begin, end);
}

static void run(ag_dtype dt, const ag_conv2d_desc *d, conv_pass pass, const void *in, const void *w, void *out,
                void *ws, size_t ws_elems) {
    size_t es = ag_dtype_size(dt);
    if (d->n == 0 || d->k == 0 || d->c == 0 || d->r * d->s == 0 || d->oh * d->ow == 0) {
        /* Empty sums: every output element is 0. */
        size_t count = pass == FORWARD ? (size_t)(d->n * d->k * d->oh * d->ow)
                     : pass == BACKWARD_DATA ? (size_t)(d->n * d->c * d->h * d->w) : weight_elems(d);
        memset(out, 0, count * es);
        return;
    }
    int slots = slot_count(d, ws_elems);
    conv_job job = {dt, d, pass, in, w, out, ws, slots, slots == 1};
    if (slots == 1) {
        for (int64_t b = 0; b < d->n; b++) run_image(&job, b, ws, out, b == 0);
        return;
    }
    ag_parallel_for((size_t)slots, 1, run_slots, &job);
    if (pass == BACKWARD_WEIGHT) {
        partial_job p = {dt, out, (const char *)ws + column_elems(d) * es, slot_elems(d), slots};
        ag_parallel_for(weight_elems(d), AG_GRAIN_CHEAP, sum_range, &p);
    }
}

size_t ag_conv2d_forward_workspace(ag_dtype dt, const ag_conv2d_desc *d, int threads) {
    return ag_conv2d_direct_applies(dt, d) ? ag_conv2d_direct_workspace(dt, d) : ag_conv2d_workspace(d, threads);
}

void ag_conv2d_forward(ag_dtype dt, const ag_conv2d_desc *d, const void *x, const void *w, void *y,
                       void *ws, size_t ws_elems) {
    if (ag_conv2d_direct_applies(dt, d) && ws_elems >= ag_conv2d_direct_workspace(dt, d)) {
        ag_conv2d_direct_forward(d, x, w, y, ws);
        return;
    }
    run(dt, d, FORWARD, x, w, y, ws, ws_elems);
}

/* Backward-data of a stride-1 convolution is the convolution of dy with the
 * kernel turned over and its channel axes swapped (w'[ci, o, u, v] =
 * w[o, ci, r−1−u, s−1−v] within a group), padded by what the forward
 * padding leaves of the kernel's extent. Where the padded kernel runs that
 * convolution, backward-data runs it, turning the kernel over as it lays
 * out its weights. Where the plane kernel does, backward-data runs it on
 * the turned-over kernel in the workspace. When dy is smaller than dx (a forward pass that is not
 * "same"-size), the same sums come from dy set in the top-left corner of
 * zero planes of dx's size ("embedded"): the padding then only moves to
 * the bottom and right, and that convolution is "same"-size. */
typedef struct {
    ag_conv2d_desc t;   /* the convolution run, on `n` images at a time when embedded */
    int padded, embedded;
} transposed;


static int transposed_direct(ag_dtype dt, const ag_conv2d_desc *d, transposed *tr) {
    if (d->stride_h != 1 || d->stride_w != 1) return 0;
    tr->t = (ag_conv2d_desc){.n = d->n, .c = d->k, .h = d->oh, .w = d->ow, .k = d->c, .r = d->r, .s = d->s,
                             .oh = d->h, .ow = d->w, .stride_h = 1, .stride_w = 1,
                             .pad_h = d->dil_h * (d->r - 1) - d->pad_h, .pad_w = d->dil_w * (d->s - 1) - d->pad_w,
                             .dil_h = d->dil_h, .dil_w = d->dil_w, .groups = d->groups};
    tr->padded = tr->embedded = 0;
    if (ag_conv2d_direct_padded_applies(dt, &tr->t)) {
        tr->padded = 1;
        return 1;
    }
    if (ag_conv2d_direct_plane_applies(dt, &tr->t)) return 1;
    if (d->oh > d->h || d->ow > d->w || tr->t.pad_h < 0 || tr->t.pad_w < 0) return 0;
    tr->t.h = d->h;
    tr->t.w = d->w;
    tr->t.n = ag_conv2d_images_per_run(d->k * d->h * d->w, d->n);  /* planes of dx's size */
    tr->embedded = 1;
    return ag_conv2d_direct_plane_applies(dt, &tr->t);
}

static size_t transposed_elems(const ag_conv2d_desc *d, const transposed *tr) {
    if (tr->padded) return ag_conv2d_direct_workspace(AG_F32, &tr->t);
    return weight_elems(d) + (tr->embedded ? (size_t)(tr->t.n * d->k * d->h * d->w) : 0);
}

static void turn_over(const ag_conv2d_desc *d, const float *w, float *wt) {
    int64_t cg = d->c / d->groups, kg = d->k / d->groups, rs = d->r * d->s;
    for (int64_t g = 0; g < d->groups; g++)
        for (int64_t o = 0; o < kg; o++)
            for (int64_t ci = 0; ci < cg; ci++) {
                const float *src = w + ((g * kg + o) * cg + ci) * rs;
                float *dst = wt + ((g * cg + ci) * kg + o) * rs;
                for (int64_t t = 0; t < rs; t++) dst[t] = src[rs - 1 - t];
            }
}

size_t ag_conv2d_backward_data_workspace(ag_dtype dt, const ag_conv2d_desc *d, int threads) {
    transposed tr;
    return transposed_direct(dt, d, &tr) ? transposed_elems(d, &tr) : ag_conv2d_workspace(d, threads);
}

void ag_conv2d_backward_data(ag_dtype dt, const ag_conv2d_desc *d, const void *dy, const void *w, void *dx,
                             void *ws, size_t ws_elems) {
    transposed tr;
    if (transposed_direct(dt, d, &tr) && ws_elems >= transposed_elems(d, &tr)) {
        if (tr.padded) {
            ag_conv2d_direct_transposed(&tr.t, dy, w, dx, ws);
            return;
        }
        turn_over(d, w, ws);
        if (!tr.embedded) {
            ag_conv2d_direct_forward(&tr.t, dy, ws, dx, NULL);
            return;
        }
        float *e = (float *)ws + weight_elems(d);
        for (int64_t b0 = 0; b0 < d->n; b0 += tr.t.n) {
            ag_conv2d_desc t = tr.t;
            t.n = d->n - b0 < tr.t.n ? d->n - b0 : tr.t.n;
            /* dy's planes in the top-left corner of zero planes of dx's size. */
            const float *src = (const float *)dy + b0 * d->k * d->oh * d->ow;
            ag_conv2d_stage_job job = {src, e, d->oh, d->ow, 0, 0, d->h, d->w};
            ag_parallel_for((size_t)(t.n * d->k), AG_GRAIN_CHEAP / (size_t)(d->h * d->w) + 1, ag_conv2d_stage_planes,
                            &job);
            ag_conv2d_direct_forward(&t, e, ws, (float *)dx + b0 * d->c * d->h * d->w, NULL);
        }
        return;
    }
    run(dt, d, BACKWARD_DATA, dy, w, dx, ws, ws_elems);
}

size_t ag_conv2d_backward_weight_workspace(ag_dtype dt, const ag_conv2d_desc *d, int threads) {
    size_t direct = ag_conv2d_direct_weight_workspace(dt, d, threads);
    return direct ? direct : ag_conv2d_workspace(d, threads);
}

void ag_conv2d_backward_weight(ag_dtype dt, const ag_conv2d_desc *d, const void *x, const void *dy, void *dw,
                               void *ws, size_t ws_elems) {
    size_t one = ag_conv2d_direct_weight_workspace(dt, d, 1);
    if (one && ws_elems >= one) {
        ag_conv2d_direct_backward_weight(d, x, dy, dw, ws, ws_elems);
        return;
    }
    run(dt, d, BACKWARD_WEIGHT, x, dy, dw, ws, ws_elems);
}

/* ---- The epilogue: per-channel bias and activation ---- */

typedef struct {
    ag_dtype dt;
    size_t channels, plane;
    char *y;
    const char *bias;
    ag_unary_op act;
    double p0, p1;
    int identity;
} channel_epilogue_job;

static void channel_epilogue_planes(void *ctx, size_t begin, size_t end) {
    const channel_epilogue_job *j = ctx;
    size_t es = ag_dtype_size(j->dt);
    for (size_t p = begin; p < end; p++) {
        char *row = j->y + p * j->plane * es;
        if (j->bias) {
            size_t c = p % j->channels;
            if (j->dt == AG_F32) {
                float *yf = (float *)row, b = ((const float *)j->bias)[c];
                for (size_t i = 0; i < j->plane; i++) yf[i] += b;
            } else {
                double *yd = (double *)row, b = ((const double *)j->bias)[c];
                for (size_t i = 0; i < j->plane; i++) yd[i] += b;
            }
        }
        /* Inside a parallel region ag_unary runs on this thread; with too few planes to split, it splits a large plane. */
        if (!j->identity) ag_unary(j->act, j->dt, j->plane, row, row, j->p0, j->p1);
    }
}

void ag_conv2d_bias_activation(ag_dtype dt, size_t planes, size_t channels, size_t plane, void *y,
                               const void *bias, ag_unary_op act, double p0, double p1) {
    if (planes == 0 || plane == 0 || channels == 0) return;
    int identity = act == AG_AFFINE && p0 == 1 && p1 == 0;
    if (identity && !bias) return;
    channel_epilogue_job job = {dt, channels, plane, y, bias, act, p0, p1, identity};
    ag_parallel_for(planes, AG_GRAIN_COSTLY / plane + 1, channel_epilogue_planes, &job);
}
