/* Pooling loops for one type: included by pool.c with T and SFX defined. */

#define CAT_(a, b) a##_##b
#define CAT(a, b) CAT_(a, b)

static void CAT(maxpool_planes, SFX)(const ag_pool2d_desc *d, const T *x, T *y, int64_t *idx,
                                     int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; p++) {
        const T *plane = x + p * d->h * d->w;
        for (int64_t i = 0; i < d->oh; i++) {
            pool_window rows = pool_window_at(d->adaptive, i, d->h, d->oh, d->kh, d->stride_h, d->pad_h, d->dil_h);
            for (int64_t j = 0; j < d->ow; j++) {
                pool_window cols = pool_window_at(d->adaptive, j, d->w, d->ow, d->kw, d->stride_w, d->pad_w, d->dil_w);
                T best = -(T)INFINITY;
                int64_t at = -1;
                for (int64_t u = 0; u < rows.taps; u++) {
                    int64_t r = rows.start + u * rows.step;
                    if (r < 0 || r >= d->h) continue;
                    for (int64_t v = 0; v < cols.taps; v++) {
                        int64_t c = cols.start + v * cols.step;
                        if (c < 0 || c >= d->w) continue;
                        T value = plane[r * d->w + c];
                        /* As PyTorch: a NaN replaces the maximum, and nothing replaces a NaN but another. */
                        if (at < 0 || value > best || isnan(value)) {
                            best = value;
                            at = r * d->w + c;
                        }
                    }
                }
                size_t o = (size_t)((p * d->oh + i) * d->ow + j);
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
