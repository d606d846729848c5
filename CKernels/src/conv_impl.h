/* im2col and col2im for one type: included by conv.c with T (float or
 * double) and SFX (f32 or f64) defined. */

#define CAT_(a, b) a##_##b
#define CAT(a, b) CAT_(a, b)

/* Rows [row_begin, row_end) of the column matrix of one image's group, for
 * output rows [i_begin, i_end): row (ci, u, v) holds, for every output
 * position (i, j) there, the input value the kernel's tap (u, v) reads
 * (0 in the padding). x is [cg, h, w]; col has cg·r·s rows of
 * (i_end − i_begin)·ow values. */
static void CAT(im2col, SFX)(const ag_conv2d_desc *d, const T *x, T *col, int64_t row_begin, int64_t row_end,
                             int64_t i_begin, int64_t i_end) {
    const int64_t ld = (i_end - i_begin) * d->ow;
    for (int64_t row = row_begin; row < row_end; row++) {
        int64_t v = row % d->s, u = (row / d->s) % d->r, ci = row / (d->s * d->r);
        const T *plane = x + ci * d->h * d->w;
        T *dst = col + row * ld;
        int64_t lo, hi;
        /* Output columns whose input column j·stride − pad + v·dil lies in the row. */
        ag_range_inside(v * d->dil_w - d->pad_w, d->ow, d->stride_w, d->w, &lo, &hi);
        for (int64_t i = i_begin; i < i_end; i++, dst += d->ow) {
            int64_t ih = i * d->stride_h - d->pad_h + u * d->dil_h;
            if (ih < 0 || ih >= d->h) {
                for (int64_t j = 0; j < d->ow; j++) dst[j] = 0;
                continue;
            }
            /* Input column of output column j: j·stride + off, in [0, w) for j in [lo, hi). */
            const T *src = plane + ih * d->w;
            int64_t off = v * d->dil_w - d->pad_w;
            for (int64_t j = 0; j < lo; j++) dst[j] = 0;
            if (d->stride_w == 1)
                for (int64_t j = lo; j < hi; j++) dst[j] = src[j + off];
            else
                for (int64_t j = lo; j < hi; j++) dst[j] = src[j * d->stride_w + off];
            for (int64_t j = hi; j < d->ow; j++) dst[j] = 0;
        }
    }
}

/* The adjoint of im2col for channels [c_begin, c_end) of one image's
 * group and output rows [i_begin, i_end): adds to x[ci] the column
 * entries that read each input position (a column matrix as im2col's). */
static void CAT(col2im, SFX)(const ag_conv2d_desc *d, const T *col, T *x, int64_t c_begin, int64_t c_end,
                             int64_t i_begin, int64_t i_end) {
    const int64_t rs = d->r * d->s, ld = (i_end - i_begin) * d->ow;
    for (int64_t ci = c_begin; ci < c_end; ci++) {
        T *plane = x + ci * d->h * d->w;
        for (int64_t tap = 0; tap < rs; tap++) {
            int64_t u = tap / d->s, v = tap % d->s;
            const T *src = col + (ci * rs + tap) * ld;
            int64_t lo, hi;
            ag_range_inside(v * d->dil_w - d->pad_w, d->ow, d->stride_w, d->w, &lo, &hi);
            for (int64_t i = i_begin; i < i_end; i++, src += d->ow) {
                int64_t ih = i * d->stride_h - d->pad_h + u * d->dil_h;
                if (ih < 0 || ih >= d->h) continue;
                T *dst = plane + ih * d->w;
                int64_t off = v * d->dil_w - d->pad_w;
                if (d->stride_w == 1)
                    for (int64_t j = lo; j < hi; j++) dst[j + off] += src[j];
                else
                    for (int64_t j = lo; j < hi; j++) dst[j * d->stride_w + off] += src[j];
            }
        }
    }
}

/* dst[0..n) = Σ over `count` buffers src + t·stride, in order t = 0, 1, …. */
static void CAT(sum_partials, SFX)(T *dst, const T *src, size_t stride, int count, size_t begin, size_t end) {
    for (size_t e = begin; e < end; e++) {
        T acc = src[e];
        for (int t = 1; t < count; t++) acc += src[(size_t)t * stride + e];
        dst[e] = acc;
    }
}

#undef CAT
#undef CAT_
