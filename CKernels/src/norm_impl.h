/* Batch-norm loops for one type: included by norm.c with T and SFX defined.
 * Channel ch's values are the n runs x[i·c·inner + ch·inner …+inner). */

static void CAT(stats, SFX)(void *ctx, size_t begin, size_t end) {
    const norm_job *j = ctx;
    const T *x = j->x;
    double count = (double)(j->n * j->inner);
    for (size_t ch = begin; ch < end; ch++) {
        double sum = 0;
        for (size_t i = 0; i < j->n; i++) {
            const T *run = x + (i * j->c + ch) * j->inner;
            for (size_t e = 0; e < j->inner; e++) sum += (double)run[e];
        }
        double mean = sum / count, sq = 0;
        for (size_t i = 0; i < j->n; i++) {
            const T *run = x + (i * j->c + ch) * j->inner;
            for (size_t e = 0; e < j->inner; e++) {
                double dev = (double)run[e] - mean;
                sq += dev * dev;
            }
        }
        j->out_mean[ch] = mean;
        j->out_var[ch] = sq / count;
    }
}

static void CAT(apply, SFX)(void *ctx, size_t begin, size_t end) {
    const norm_job *j = ctx;
    const T *x = j->x, *w = j->w, *b = j->b;
    T *y = j->y;
    for (size_t ch = begin; ch < end; ch++) {
        T scale = (T)(j->invstd[ch] * (w ? (double)w[ch] : 1.0));
        T shift = (T)((b ? (double)b[ch] : 0.0) - j->mean[ch] * j->invstd[ch] * (w ? (double)w[ch] : 1.0));
        for (size_t i = 0; i < j->n; i++) {
            size_t at = (i * j->c + ch) * j->inner;
            for (size_t e = 0; e < j->inner; e++) y[at + e] = x[at + e] * scale + shift;
        }
    }
}

static void CAT(backward, SFX)(void *ctx, size_t begin, size_t end) {
    const norm_job *j = ctx;
    const T *x = j->x, *g = j->g, *w = j->w;
    T *dx = j->y;
    double count = (double)(j->n * j->inner);
    for (size_t ch = begin; ch < end; ch++) {
        double mean = j->mean[ch], invstd = j->invstd[ch];
        double sg = 0, sgx = 0;
        for (size_t i = 0; i < j->n; i++) {
            size_t at = (i * j->c + ch) * j->inner;
            for (size_t e = 0; e < j->inner; e++) {
                double gv = (double)g[at + e];
                sg += gv;
                sgx += gv * ((double)x[at + e] - mean);
            }
        }
        sgx *= invstd;
        if (j->sum_g) j->sum_g[ch] = sg;
        if (j->sum_gx) j->sum_gx[ch] = sgx;
        if (!dx) continue;
        /* dx = k·(g − sg/M − x̂·sgx/M) with k = w·invstd, as a·g + b·x + c. */
        double k = (w ? (double)w[ch] : 1.0) * invstd;
        T a = (T)k;
        T bx = (T)(-k * invstd * sgx / count);
        T c0 = (T)(-k * sg / count + k * invstd * sgx / count * mean);
        for (size_t i = 0; i < j->n; i++) {
            size_t at = (i * j->c + ch) * j->inner;
            for (size_t e = 0; e < j->inner; e++) dx[at + e] = a * g[at + e] + bx * x[at + e] + c0;
        }
    }
}
