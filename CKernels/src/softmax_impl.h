/* Softmax bodies over rows, instantiated by softmax.c for T = float, double. */
#define AG_CAT2(a, b) a##_##b
#define AG_CAT(a, b) AG_CAT2(a, b)
#define FN(name) AG_CAT(name, SFX)

/* Returns max and log(sum(exp(x - max))) of one row. */
AG_INLINE void FN(row_stats)(size_t n, const T *x, T *max_out, T *logsum_out) {
    T m = x[0];
    for (size_t k = 1; k < n; k++) m = x[k] > m ? x[k] : m;
    T s = 0;
    for (size_t k = 0; k < n; k++) s += exp(x[k] - m);
    *max_out = m;
    *logsum_out = log(s);
}

static void FN(softmax)(size_t rows, size_t n, const T *x, T *y, int log_out) {
    for (size_t r = 0; r < rows; r++) {
        const T *xr = x + r * n;
        T *yr = y + r * n;
        T m, ls;
        FN(row_stats)(n, xr, &m, &ls);
        if (log_out)
            for (size_t k = 0; k < n; k++) yr[k] = xr[k] - m - ls;
        else
            for (size_t k = 0; k < n; k++) yr[k] = exp(xr[k] - m - ls);
    }
}

static void FN(softmax_xent)(size_t rows, size_t n, const T *x, const T *labels,
                             double *loss, T *grad, double scale) {
    double total = 0;
    const T sc = (T)scale;
    for (size_t r = 0; r < rows; r++) {
        const T *xr = x + r * n;
        T m, ls;
        FN(row_stats)(n, xr, &m, &ls);
        size_t label = (size_t)labels[r];
        total += (double)(m + ls - xr[label]);
        if (grad) {
            T *gr = grad + r * n;
            for (size_t k = 0; k < n; k++) gr[k] = sc * exp(xr[k] - m - ls);
            gr[label] -= sc;
        }
    }
    *loss = rows ? total / (double)rows : 0.0;
}

#undef FN
#undef AG_CAT
#undef AG_CAT2
