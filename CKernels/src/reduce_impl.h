/* Reduction bodies over [outer, r, inner] blocks, instantiated by reduce.c for T = float, double. */
#define AG_CAT2(a, b) a##_##b
#define AG_CAT(a, b) AG_CAT2(a, b)
#define FN(name) AG_CAT(name, SFX)

AG_INLINE void FN(sum_body)(size_t o0, size_t o1, size_t r, size_t inner, T scale,
                            const T *restrict x, T *restrict y) {
#pragma clang fp reassociate(on)
    for (size_t o = o0; o < o1; o++) {
        const T *xo = x + o * r * inner;
        T *yo = y + o * inner;
        if (inner == 1) {
            T acc = 0;
            for (size_t k = 0; k < r; k++) acc += xo[k];
            yo[0] = acc * scale;
        } else {
            for (size_t i = 0; i < inner; i++) yo[i] = 0;
            for (size_t k = 0; k < r; k++) {
                const T *row = xo + k * inner;
                for (size_t i = 0; i < inner; i++) yo[i] += row[i];
            }
            for (size_t i = 0; i < inner; i++) yo[i] *= scale;
        }
    }
}

AG_AVX2 static void FN(sum_avx2)(size_t o0, size_t o1, size_t r, size_t inner, T scale,
                                 const T *x, T *y) {
    FN(sum_body)(o0, o1, r, inner, scale, x, y);
}
static void FN(sum_portable)(size_t o0, size_t o1, size_t r, size_t inner, T scale,
                             const T *x, T *y) {
    FN(sum_body)(o0, o1, r, inner, scale, x, y);
}

typedef struct { size_t r, inner; T scale; const T *x; T *y; } FN(sum_job);

static void FN(sum_range)(void *ctx, size_t o0, size_t o1) {
    const FN(sum_job) *j = ctx;
    if (ag_simd_enabled()) FN(sum_avx2)(o0, o1, j->r, j->inner, j->scale, j->x, j->y);
    else FN(sum_portable)(o0, o1, j->r, j->inner, j->scale, j->x, j->y);
}

static void FN(reduce_sum)(size_t outer, size_t r, size_t inner, double scale, const T *x, T *y) {
    FN(sum_job) job = {r, inner, (T)scale, x, y};
    size_t per_outer = r * inner ? r * inner : 1;
    size_t grain = AG_GRAIN_CHEAP / per_outer + 1;
    ag_parallel_for(outer, grain, FN(sum_range), &job);
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
