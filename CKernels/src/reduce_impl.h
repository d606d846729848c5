/* Reduction bodies over [outer, r, inner] blocks, instantiated by reduce.c for T = float, double. */
#define AG_CAT2(a, b) a##_##b
#define AG_CAT(a, b) AG_CAT2(a, b)
#define FN(name) AG_CAT(name, SFX)

#include "reduce_pairwise.h"

typedef struct {
    size_t outer, r, inner, chunks, width, leaf;
    double scale;
    const T *x;
    T *y;
    int simd;
} FN(sum_job);

static inline T FN(scaled)(T s, double scale) { return scale == 1 ? s : (T)((double)s * scale); }

/* inner == 1: each output is a contiguous run of r values. */
static void FN(sum_rows_range)(void *ctx, size_t o0, size_t o1) {
    const FN(sum_job) *j = ctx;
    for (size_t o = o0; o < o1; o++) j->y[o] = FN(scaled)(FN(pw_sum)(j->x + o * j->r, j->r, j->simd), j->scale);
}

/* inner > 1: items are (o, chunk of `width` columns). */
static void FN(sum_cols_range)(void *ctx, size_t b, size_t e) {
    const FN(sum_job) *j = ctx;
    T scratch[AG_PW_SCRATCH(T)];
    for (size_t it = b; it < e; it++) {
        size_t o = it / j->chunks, i0 = it % j->chunks * j->width;
        size_t w = j->inner - i0 < j->width ? j->inner - i0 : j->width;
        T *acc = j->y + o * j->inner + i0;
        FN(pw_cols)(j->x + o * j->r * j->inner + i0, j->r, j->leaf, j->inner, w, acc, scratch, j->simd);
        if (j->scale != 1)
            for (size_t i = 0; i < w; i++) acc[i] = FN(scaled)(acc[i], j->scale);
    }
}

/* One long row on several threads: the 2^AG_PW_PARALLEL_DEPTH subtrees of
 * pw_sum's recursion in parallel, then the top of the tree, so the result is
 * pw_sum's own. */
typedef struct {
    const T *x;
    size_t bounds[(1 << AG_PW_PARALLEL_DEPTH) + 1];
    T part[1 << AG_PW_PARALLEL_DEPTH];
    int simd;
} FN(split_job);

static void FN(split_range)(void *ctx, size_t b, size_t e) {
    FN(split_job) *j = ctx;
    for (size_t p = b; p < e; p++)
        j->part[p] = FN(pw_sum)(j->x + j->bounds[p], j->bounds[p + 1] - j->bounds[p], j->simd);
}

static T FN(pw_sum_parallel)(const T *x, size_t n, int simd) {
    enum { P = 1 << AG_PW_PARALLEL_DEPTH };
    FN(split_job) job;
    job.x = x;
    job.simd = simd;
    job.bounds[0] = 0;
    job.bounds[P] = n;
    /* Each level halves every piece where pw_sum would (n ≥ AG_PW_PARALLEL_MIN
     * keeps every piece above a leaf). */
    for (size_t step = P; step > 1; step /= 2)
        for (size_t p = 0; p < P; p += step)
            job.bounds[p + step / 2] = job.bounds[p] + FN(pw_split)(job.bounds[p + step] - job.bounds[p], AG_PW_LEAF(T));
    ag_parallel_for(P, 1, FN(split_range), &job);
    for (size_t step = 1; step < P; step *= 2)
        for (size_t p = 0; p < P; p += 2 * step) job.part[p] = job.part[p] + job.part[p + step];
    return job.part[0];
}

static void FN(reduce_sum)(size_t outer, size_t r, size_t inner, double scale, const T *x, T *y) {
    if (r == 0) {
        for (size_t i = 0; i < outer * inner; i++) y[i] = 0;
        return;
    }
    int simd = ag_simd_enabled();
    if (inner == 1) {
        if (outer == 1 && r >= AG_PW_PARALLEL_MIN && ag_num_threads() > 1) {
            y[0] = FN(scaled)(FN(pw_sum_parallel)(x, r, simd), scale);
            return;
        }
        FN(sum_job) job = {outer, r, 1, 1, 1, 1, scale, x, y, simd};
        ag_parallel_for(outer, AG_GRAIN_CHEAP / r + 1, FN(sum_rows_range), &job);
        return;
    }
    /* Whole rows when the levels of partial sums fit, with larger blocks if
     * need be; else as many columns per chunk as fit. */
    size_t leaf = AG_PW_ROWS, depth = FN(pw_cols_depth)(r, leaf);
    while (depth * inner > AG_PW_SCRATCH(T) && leaf < AG_PW_ROWS_MAX) depth = FN(pw_cols_depth)(r, leaf *= 2);
    size_t width = inner;
    if (depth * inner > AG_PW_SCRATCH(T)) width = AG_PW_SCRATCH(T) / depth / AG_PW_LANES(T) * AG_PW_LANES(T);
    size_t chunks = (inner + width - 1) / width;
    FN(sum_job) job = {outer, r, inner, chunks, width, leaf, scale, x, y, simd};
    ag_parallel_for(outer * chunks, AG_GRAIN_CHEAP / (r * width) + 1, FN(sum_cols_range), &job);
}

static void FN(reduce_argmax)(size_t outer, size_t r, size_t inner, const T *x, int64_t *idx) {
    for (size_t o = 0; o < outer; o++) {
        const T *xo = x + o * r * inner;
        int64_t *io = idx + o * inner;
        for (size_t i = 0; i < inner; i++) {
            T best = xo[i];
            int64_t arg = 0;
            for (size_t k = 1; k < r && best == best; k++) {
                T v = xo[k * inner + i];
                if (v > best || v != v) {
                    best = v;
                    arg = (int64_t)k;
                }
            }
            io[i] = arg;
        }
    }
}

static void FN(gather_axis)(size_t outer, size_t r, size_t inner, const T *x, const int64_t *idx, T *y) {
    for (size_t o = 0; o < outer; o++)
        for (size_t i = 0; i < inner; i++)
            y[o * inner + i] = x[(o * r + (size_t)idx[o * inner + i]) * inner + i];
}

static void FN(scatter_axis)(size_t outer, size_t r, size_t inner, const T *y, const int64_t *idx, T *x) {
    for (size_t e = 0; e < outer * r * inner; e++) x[e] = 0;
    for (size_t o = 0; o < outer; o++)
        for (size_t i = 0; i < inner; i++)
            x[(o * r + (size_t)idx[o * inner + i]) * inner + i] = y[o * inner + i];
}

#undef FN
#undef AG_CAT
#undef AG_CAT2
