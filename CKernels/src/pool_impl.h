/* Pooling loops for one type: included by pool.c with T and SFX defined. */

#define CAT_(a, b) a##_##b
#define CAT(a, b) CAT_(a, b)

/* The interior outputs [j0, j1) of one output row (every tap inside the
 * plane): for each tap, each output's value replaces its maximum so far
 * when larger or NaN (PyTorch's rule), its position with it. Float32 rows
 * have AVX2 and AVX-512 versions in pool.c, sixteen or eight outputs a step. */
static void CAT(maxpool_row, SFX)(const T *plane, const ag_pool2d_desc *d, int64_t rs, int64_t dr,
                                  int64_t u0, int64_t u1, int64_t j0, int64_t j1, T *y, int64_t *idx) {
    const int64_t sw = d->stride_w, w = d->w;
    for (int64_t j = j0; j < j1; j++) {
        int64_t base = j * sw - d->pad_w;
        T best = -(T)INFINITY;
        int64_t pos = (rs + u0 * dr) * w + base;
        for (int64_t u = u0; u < u1; u++) {
            const T *row = plane + (rs + u * dr) * w;
            for (int64_t v = 0; v < d->kw; v++) {
                T value = row[base + v * d->dil_w];
                if (value > best || value != value) {
                    best = value;
                    pos = (rs + u * dr) * w + base + v * d->dil_w;
                }
            }
        }
        y[j] = best;
        if (idx) idx[j] = pos;
    }
}

static void CAT(maxpool_planes, SFX)(const ag_pool2d_desc *d, const T *x, T *y, int64_t *idx,
                                     int64_t p0, int64_t p1) {
    /* Output columns [inner_lo, inner_hi) of a plain pool have every tap
     * inside the plane: j·stride ≥ pad and j·stride − pad + (kw − 1)·dil < w.
     * The row kernel runs them (all columns where it takes the borders too). */
    int64_t inner_lo = 0, inner_hi = 0;
    if (!d->adaptive && CAT(maxpool_row_takes_borders, SFX)(d)) {
        inner_hi = d->ow;
    } else if (!d->adaptive) {
        int64_t reach = (d->kw - 1) * d->dil_w;
        inner_lo = (d->pad_w + d->stride_w - 1) / d->stride_w;
        inner_hi = d->w - 1 - reach + d->pad_w < 0 ? 0 : (d->w - 1 - reach + d->pad_w) / d->stride_w + 1;
        if (inner_hi > d->ow) inner_hi = d->ow;
    }
    void (*row)(const T *, const ag_pool2d_desc *, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, T *,
                int64_t *) = CAT(maxpool_row_for_isa, SFX)();
    for (int64_t p = p0; p < p1; p++) {
        const T *plane = x + p * d->h * d->w;
        for (int64_t i = 0; i < d->oh; i++) {
            pool_window rows = pool_window_at(d->adaptive, i, d->h, d->oh, d->kh, d->stride_h, d->pad_h, d->dil_h);
            int64_t u0, u1;
            ag_range_inside(rows.start, rows.taps, rows.step, d->h, &u0, &u1);
            size_t o_row = (size_t)((p * d->oh + i) * d->ow);
            int inner = inner_lo < inner_hi && u0 < u1;
            if (inner)
                row(plane, d, rows.start, rows.step, u0, u1, inner_lo, inner_hi, y + o_row, idx ? idx + o_row : NULL);
            for (int64_t j = 0; j < d->ow; j++) {
                size_t o = o_row + (size_t)j;
                if (inner && j == inner_lo) {  /* done by `row`: on to the right border */
                    j = inner_hi - 1;
                    continue;
                }
                pool_window cols = pool_window_at(d->adaptive, j, d->w, d->ow, d->kw, d->stride_w, d->pad_w, d->dil_w);
                int64_t v0, v1;
                ag_range_inside(cols.start, cols.taps, cols.step, d->w, &v0, &v1);
                /* The border: only the taps inside the plane (none: −inf and −1). */
                T best = -(T)INFINITY;
                int64_t at = -1;
                for (int64_t u = u0; u < u1; u++)
                    for (int64_t v = v0; v < v1; v++) {
                        int64_t e = (rows.start + u * rows.step) * d->w + cols.start + v * cols.step;
                        if (at < 0 || plane[e] > best || plane[e] != plane[e]) {
                            best = plane[e];
                            at = e;
                        }
                    }
                y[o] = best;
                if (idx) idx[o] = at;
            }
        }
    }
}

static void CAT(gather_planes, SFX)(const ag_pool2d_desc *d, const int64_t *idx, const T *v, T *out,
                                    int64_t p0, int64_t p1) {
    int64_t per = d->oh * d->ow;
    for (int64_t p = p0; p < p1; p++) {
        const T *plane = v + p * d->h * d->w;
        for (int64_t o = p * per; o < (p + 1) * per; o++) out[o] = idx[o] >= 0 ? plane[idx[o]] : 0;
    }
}

static void CAT(scatter_planes, SFX)(const ag_pool2d_desc *d, const int64_t *idx, const T *g, T *dx,
                                     int64_t p0, int64_t p1) {
    int64_t per = d->oh * d->ow, hw = d->h * d->w;
    for (int64_t p = p0; p < p1; p++) {
        T *plane = dx + p * hw;
        for (int64_t e = 0; e < hw; e++) plane[e] = 0;
        for (int64_t o = p * per; o < (p + 1) * per; o++)
            if (idx[o] >= 0) plane[idx[o]] += g[o];
    }
}

/* Forward (backward = 0: y from x) or adjoint (backward = 1: dx from g) of the average. */
static void CAT(avgpool_planes, SFX)(const ag_pool2d_desc *d, const T *in, T *out, int backward,
                                     int64_t p0, int64_t p1) {
    int64_t hw = d->h * d->w;
    for (int64_t p = p0; p < p1; p++) {
        const T *src = in + p * (backward ? d->oh * d->ow : hw);
        T *dst = out + p * (backward ? hw : d->oh * d->ow);
        if (backward)
            for (int64_t e = 0; e < hw; e++) dst[e] = 0;
        for (int64_t i = 0; i < d->oh; i++) {
            avg_span rows = avg_span_at(d->adaptive, i, d->h, d->oh, d->kh, d->stride_h, d->pad_h);
            for (int64_t j = 0; j < d->ow; j++) {
                avg_span cols = avg_span_at(d->adaptive, j, d->w, d->ow, d->kw, d->stride_w, d->pad_w);
                int64_t count = d->count_include_pad && !d->adaptive
                    ? rows.padded * cols.padded : (rows.end - rows.begin) * (cols.end - cols.begin);
                if (count <= 0) {
                    if (!backward) dst[i * d->ow + j] = 0;
                    continue;
                }
                if (backward) {
                    T share = src[i * d->ow + j] / (T)count;
                    for (int64_t r = rows.begin; r < rows.end; r++)
                        for (int64_t c = cols.begin; c < cols.end; c++) dst[r * d->w + c] += share;
                } else {
                    T sum = 0;
                    for (int64_t r = rows.begin; r < rows.end; r++)
                        for (int64_t c = cols.begin; c < cols.end; c++) sum += src[r * d->w + c];
                    dst[i * d->ow + j] = sum / (T)count;
                }
            }
        }
    }
}

#undef CAT
#undef CAT_
