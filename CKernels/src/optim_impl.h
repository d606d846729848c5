/*
 * Optimizer update bodies, instantiated by optim.c for T = float, double.
 * Each runs over elements [b, e) of one parameter; optim.c compiles them for
 * AVX2+FMA and portably, and splits large parameters across the thread pool.
 */
#define AG_CAT2(a, b) a##_##b
#define AG_CAT(a, b) AG_CAT2(a, b)
#define FN(name) AG_CAT(name, SFX)

AG_INLINE void FN(update_body)(const ag_update *u, size_t b, size_t e) {
    T *restrict p = (T *)u->param + b;
    const T *restrict grad = (const T *)u->grad + b;
    T *restrict s1 = u->state1 ? (T *)u->state1 + b : NULL;
    T *restrict s2 = u->state2 ? (T *)u->state2 + b : NULL;
    const size_t n = e - b;
    const T lr = (T)u->lr, wd = (T)u->weight_decay;
    switch (u->kind) {
    case AG_UPDATE_SGD: {
        /* s1: momentum buffer (NULL without momentum). */
        const T mu = (T)u->a, damp = (T)u->b;
        if (!s1) {
            for (size_t i = 0; i < n; i++) p[i] -= lr * (grad[i] + wd * p[i]);
        } else if (u->first_step) {
            for (size_t i = 0; i < n; i++) {
                T g = grad[i] + wd * p[i];
                s1[i] = g;
                p[i] -= lr * (u->flag ? g + mu * g : g);
            }
        } else {
            for (size_t i = 0; i < n; i++) {
                T g = grad[i] + wd * p[i];
                T buf = mu * s1[i] + ((T)1 - damp) * g;
                s1[i] = buf;
                p[i] -= lr * (u->flag ? g + mu * buf : buf);
            }
        }
        break;
    }
    case AG_UPDATE_ADAM: {
        /* s1: first moment, s2: second moment; flag: decoupled decay (AdamW). */
        const T b1 = (T)u->a, b2 = (T)u->b, eps = (T)u->c;
        const T step = lr / (T)u->d, inv_sqrt_bc2 = (T)(1 / sqrt(u->e));
        const T decay = (T)1 - lr * wd;
        for (size_t i = 0; i < n; i++) {
            T g = grad[i];
            if (u->flag) p[i] *= decay;
            else g += wd * p[i];
            T m = b1 * s1[i] + ((T)1 - b1) * g;
            T v = b2 * s2[i] + ((T)1 - b2) * g * g;
            s1[i] = m;
            s2[i] = v;
            p[i] -= step * m / (sqrt(v) * inv_sqrt_bc2 + eps);
        }
        break;
    }
    case AG_UPDATE_RMSPROP: {
        /* s1: mean square, s2: momentum buffer (NULL without momentum). */
        const T alpha = (T)u->a, eps = (T)u->c, mu = (T)u->b;
        for (size_t i = 0; i < n; i++) {
            T g = grad[i] + wd * p[i];
            T sq = alpha * s1[i] + ((T)1 - alpha) * g * g;
            s1[i] = sq;
            T step = g / (sqrt(sq) + eps);
            if (s2) {
                s2[i] = mu * s2[i] + step;
                step = s2[i];
            }
            p[i] -= lr * step;
        }
        break;
    }
    case AG_UPDATE_ADAGRAD: {
        /* s1: sum of squares. */
        const T eps = (T)u->c;
        for (size_t i = 0; i < n; i++) {
            T g = grad[i] + wd * p[i];
            s1[i] += g * g;
            p[i] -= lr * g / (sqrt(s1[i]) + eps);
        }
        break;
    }
    }
}

AG_AVX2 static void FN(update_avx2)(const ag_update *u, size_t b, size_t e) { FN(update_body)(u, b, e); }
static void FN(update_portable)(const ag_update *u, size_t b, size_t e) { FN(update_body)(u, b, e); }

static void FN(update_range)(void *ctx, size_t b, size_t e) {
    if (ag_simd_enabled()) FN(update_avx2)(ctx, b, e);
    else FN(update_portable)(ctx, b, e);
}

#include "reduce_pairwise.h"

static double FN(sum_of_squares)(size_t n, const T *x) { return FN(pw_sum_squares)(x, n); }

static void FN(scale)(size_t n, T *x, T s) {
    for (size_t i = 0; i < n; i++) x[i] *= s;
}

#undef FN
#undef AG_CAT
#undef AG_CAT2
