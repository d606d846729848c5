/* Softmax bodies over rows, instantiated by softmax.c for T = float, double. */
#define AG_CAT2(a, b) a##_##b
#define AG_CAT(a, b) AG_CAT2(a, b)
#define FN(name) AG_CAT(name, SFX)

#include "reduce_pairwise.h"

AG_INLINE T FN(row_max)(size_t n, const T *x) {
    T m = x[0];
    for (size_t k = 1; k < n; k++) m = x[k] > m ? x[k] : m;
    return m;
}

/* Returns Σ exp(x[k] − m), summed in blocks of AG_PW_LANES(T) combined
 * pairwise; stores out[k] = exp(x[k] − m) when out is not NULL. */
AG_INLINE T FN(row_exp_sum)(size_t n, const T *x, T m, T *out) {
    FN(pw_acc) acc;
    acc.blocks = 0;
    for (size_t k0 = 0; k0 < n; k0 += AG_PW_LANES(T)) {
        size_t end = n - k0 < AG_PW_LANES(T) ? n : k0 + AG_PW_LANES(T);
        T s = 0;
        for (size_t k = k0; k < end; k++) {
            T e = exp(x[k] - m);
            if (out) out[k] = e;
            s += e;
        }
        FN(pw_push)(&acc, s);
    }
    return FN(pw_total)(&acc);
}

static void FN(softmax)(size_t rows, size_t n, const T *x, T *y, int log_out) {
    for (size_t r = 0; r < rows; r++) {
        const T *xr = x + r * n;
        T *yr = y + r * n;
        T m = FN(row_max)(n, xr);
        if (log_out) {
            T shift = m + log(FN(row_exp_sum)(n, xr, m, NULL));
            for (size_t k = 0; k < n; k++) yr[k] = xr[k] - shift;
        } else {
            T inv = (T)1 / FN(row_exp_sum)(n, xr, m, yr);
            for (size_t k = 0; k < n; k++) yr[k] *= inv;
        }
    }
}

static void FN(softmax_xent)(size_t rows, size_t n, const T *x, const T *labels,
                             double *loss, T *grad, double scale) {
    double total = 0;
    for (size_t r = 0; r < rows; r++) {
        const T *xr = x + r * n;
        T m = FN(row_max)(n, xr);
        size_t label = (size_t)labels[r];
        T s;
        if (grad) {
            T *gr = grad + r * n;
            s = FN(row_exp_sum)(n, xr, m, gr);
            T factor = (T)scale / s;
            for (size_t k = 0; k < n; k++) gr[k] *= factor;
            gr[label] -= (T)scale;
        } else {
            s = FN(row_exp_sum)(n, xr, m, NULL);
        }
        total += (double)m + log((double)s) - (double)xr[label];
    }
    *loss = rows ? total / (double)rows : 0.0;
}

#undef FN
#undef AG_CAT
#undef AG_CAT2
