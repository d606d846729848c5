/* Max and average pooling, plain and adaptive, split over planes; bodies in pool_impl.h. */
#include <math.h>
#include "../include/ag_pool.h"
#include "ag_internal.h"

/* The taps of one output's window along one axis: start + u·step for u < taps. */
typedef struct {
    int64_t start, taps, step;
} pool_window;

static inline int64_t floor_div(int64_t a, int64_t b) { return a / b; }
static inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

static inline pool_window pool_window_at(int adaptive, int64_t i, int64_t size, int64_t out, int64_t k,
                                         int64_t stride, int64_t pad, int64_t dil) {
    pool_window win;
    if (adaptive) {
        win.start = floor_div(i * size, out);
        win.taps = ceil_div((i + 1) * size, out) - win.start;
        win.step = 1;
    } else {
        win.start = i * stride - pad;
        win.taps = k;
        win.step = dil;
    }
    return win;
}

/* An average's window along one axis: what it reads, [begin, end), and its
 * length with padding (up to size + pad), for count_include_pad. */
typedef struct {
    int64_t begin, end, padded;
} avg_span;

static inline avg_span avg_span_at(int adaptive, int64_t i, int64_t size, int64_t out, int64_t k, int64_t stride,
                                   int64_t pad) {
    avg_span s;
    if (adaptive) {
        s.begin = floor_div(i * size, out);
        s.end = ceil_div((i + 1) * size, out);
        s.padded = s.end - s.begin;
        return s;
    }
    int64_t begin = i * stride - pad, end = begin + k;
    if (end > size + pad) end = size + pad;
    s.padded = end - begin;
    s.begin = begin < 0 ? 0 : begin;
    s.end = end > size ? size : end;
    if (s.end < s.begin) s.end = s.begin;
    return s;
}

#define T float
#define SFX f32
#include "pool_impl.h"
#undef T
#undef SFX

#define T double
#define SFX f64
#include "pool_impl.h"
#undef T
#undef SFX

typedef enum { MAX, GATHER, SCATTER, AVG, AVG_BACKWARD } pool_pass;

typedef struct {
    ag_dtype dt;
    const ag_pool2d_desc *d;
    pool_pass pass;
    const void *in;
    void *out;
    int64_t *idx;          /* written by MAX */
    const int64_t *found;  /* read by GATHER and SCATTER */
} pool_job;

static void pool_range(void *ctx, size_t begin, size_t end) {
    const pool_job *j = ctx;
    int64_t p0 = (int64_t)begin, p1 = (int64_t)end;
    int f32 = j->dt == AG_F32;
    switch (j->pass) {
    case MAX:
        if (f32) maxpool_planes_f32(j->d, j->in, j->out, j->idx, p0, p1);
        else maxpool_planes_f64(j->d, j->in, j->out, j->idx, p0, p1);
        break;
    case GATHER:
        if (f32) gather_planes_f32(j->d, j->found, j->in, j->out, p0, p1);
        else gather_planes_f64(j->d, j->found, j->in, j->out, p0, p1);
        break;
    case SCATTER:
        if (f32) scatter_planes_f32(j->d, j->found, j->in, j->out, p0, p1);
        else scatter_planes_f64(j->d, j->found, j->in, j->out, p0, p1);
        break;
    case AVG:
    case AVG_BACKWARD:
        if (f32) avgpool_planes_f32(j->d, j->in, j->out, j->pass == AVG_BACKWARD, p0, p1);
        else avgpool_planes_f64(j->d, j->in, j->out, j->pass == AVG_BACKWARD, p0, p1);
        break;
    }
}

static void run(ag_dtype dt, const ag_pool2d_desc *d, pool_pass pass, const void *in, void *out, int64_t *idx,
                const int64_t *found) {
    pool_job job = {dt, d, pass, in, out, idx, found};
    size_t per_plane = (size_t)(d->h * d->w + d->oh * d->ow) + 1;
    ag_parallel_for((size_t)d->planes, AG_GRAIN_CHEAP / per_plane + 1, pool_range, &job);
}

void ag_maxpool2d(ag_dtype dt, const ag_pool2d_desc *d, const void *x, void *y, int64_t *idx) {
    run(dt, d, MAX, x, y, idx, NULL);
}

void ag_pool2d_gather(ag_dtype dt, const ag_pool2d_desc *d, const int64_t *idx, const void *v, void *out) {
    run(dt, d, GATHER, v, out, NULL, idx);
}

void ag_pool2d_scatter(ag_dtype dt, const ag_pool2d_desc *d, const int64_t *idx, const void *g, void *dx) {
    run(dt, d, SCATTER, g, dx, NULL, idx);
}

void ag_avgpool2d(ag_dtype dt, const ag_pool2d_desc *d, const void *x, void *y) { run(dt, d, AVG, x, y, NULL, NULL); }

void ag_avgpool2d_backward(ag_dtype dt, const ag_pool2d_desc *d, const void *g, void *dx) {
    run(dt, d, AVG_BACKWARD, g, dx, NULL, NULL);
}
