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
    int simd = ag_isa();  /* the level: the pairwise sums have a path per level */
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

/* The larger of b and v, NaN when either is. */
#define AG_MAX_NAN(b, v) ((v) > (b) || (v) != (v) ? (v) : (b))

/* y[o, i] = max over k of x[o, k, i]; NaN when the slice holds one. Rows
 * (inner == 1) run in independent lanes. */
AG_INLINE void FN(max_body)(size_t o0, size_t o1, size_t r, size_t inner, const T *restrict x, T *restrict y) {
    enum { L = AG_PW_LANES(T) };
    for (size_t o = o0; o < o1; o++) {
        const T *xo = x + o * r * inner;
        T *yo = y + o * inner;
        if (inner == 1) {
            T best = xo[0];
            size_t k = 1;
            if (r >= 1 + L) {
                T lane[L];
                for (int l = 0; l < L; l++) lane[l] = xo[1 + l];
                for (k = 1 + L; k + L <= r; k += L)
                    for (int l = 0; l < L; l++) lane[l] = AG_MAX_NAN(lane[l], xo[k + l]);
                for (int l = 0; l < L; l++) best = AG_MAX_NAN(best, lane[l]);
            }
            for (; k < r; k++) best = AG_MAX_NAN(best, xo[k]);
            yo[0] = best;
            continue;
        }
        for (size_t i = 0; i < inner; i++) yo[i] = xo[i];
        for (size_t k = 1; k < r; k++) {
            const T *row = xo + k * inner;
            for (size_t i = 0; i < inner; i++) yo[i] = AG_MAX_NAN(yo[i], row[i]);
        }
    }
}

AG_AVX2 static void FN(max_avx2)(size_t o0, size_t o1, size_t r, size_t inner, const T *x, T *y) {
    FN(max_body)(o0, o1, r, inner, x, y);
}
static void FN(max_portable)(size_t o0, size_t o1, size_t r, size_t inner, const T *x, T *y) {
    FN(max_body)(o0, o1, r, inner, x, y);
}

typedef struct { size_t r, inner; const T *x; T *y; } FN(max_job);

static void FN(max_range)(void *ctx, size_t o0, size_t o1) {
    const FN(max_job) *j = ctx;
    if (ag_simd_enabled()) FN(max_avx2)(o0, o1, j->r, j->inner, j->x, j->y);
    else FN(max_portable)(o0, o1, j->r, j->inner, j->x, j->y);
}

static void FN(reduce_max)(size_t outer, size_t r, size_t inner, const T *x, T *y) {
    FN(max_job) job = {r, inner, x, y};
    size_t per_outer = r * inner ? r * inner : 1;
    ag_parallel_for(outer, AG_GRAIN_CHEAP / per_outer + 1, FN(max_range), &job);
}

/* w[o, k, i] = 1 / (number of ties) where x[o, k, i] equals y[o, i] (or
 * both are NaN), else 0; columns go in chunks whose counts fit on the stack. */
static void FN(max_ties)(size_t outer, size_t r, size_t inner, const T *x, const T *y, T *w) {
    enum { C = 64 };
    for (size_t o = 0; o < outer; o++) {
        const T *xo = x + o * r * inner;
        const T *yo = y + o * inner;
        T *wo = w + o * r * inner;
        for (size_t i0 = 0; i0 < inner; i0 += C) {
            size_t c = inner - i0 < C ? inner - i0 : C;
            size_t count[C];
            T share[C];
            for (size_t i = 0; i < c; i++) count[i] = 0;
            for (size_t k = 0; k < r; k++) {
                const T *row = xo + k * inner + i0;
                for (size_t i = 0; i < c; i++) {
                    T m = yo[i0 + i], v = row[i];
                    count[i] += m != m ? v != v : v == m;
                }
            }
            for (size_t i = 0; i < c; i++) share[i] = count[i] ? (T)1 / (T)count[i] : 0;
            for (size_t k = 0; k < r; k++) {
                const T *row = xo + k * inner + i0;
                T *out = wo + k * inner + i0;
                for (size_t i = 0; i < c; i++) {
                    T m = yo[i0 + i], v = row[i];
                    out[i] = (m != m ? v != v : v == m) ? share[i] : 0;
                }
            }
        }
    }
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

#undef FN
#undef AG_CAT
#undef AG_CAT2
