/*
 * Optimizer update bodies, instantiated by optim.c for T = float, double.
 * Each runs over elements [b, e) of one parameter; optim.c compiles them for
 * AVX2+FMA and portably, and splits large parameters across the thread pool.
 */
#define AG_CAT2(a, b) a##_##b
#define AG_CAT(a, b) AG_CAT2(a, b)
#define FN(name) AG_CAT(name, SFX)

/* sqrt without errno (correctly rounded like sqrt), so the loops vectorize. */
#ifndef AG_OPTIM_SQRT
#if defined(__has_builtin) && __has_builtin(__builtin_elementwise_sqrt)
#define AG_OPTIM_SQRT(x) __builtin_elementwise_sqrt(x)
#else
#define AG_OPTIM_SQRT(x) sqrt(x)
#endif
#endif

AG_INLINE void FN(update_body)(const ag_update *u, size_t b, size_t e) {
    T *restrict p = (T *)u->param + b;
    const T *restrict grad = (const T *)u->grad + b;
    T *restrict s1 = u->state1 ? (T *)u->state1 + b : NULL;
    T *restrict s2 = u->state2 ? (T *)u->state2 + b : NULL;
    T *restrict s3 = u->state3 ? (T *)u->state3 + b : NULL;
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
        /* s1: first moment, s2: second moment, s3: running maximum of the
         * second moment (AMSGrad; NULL without); flag: decoupled decay (AdamW). */
        const T b1 = (T)u->a, b2 = (T)u->b, eps = (T)u->c;
        const T step = (T)(u->lr / u->d), inv_sqrt_bc2 = (T)(1 / sqrt(u->e));
        const T decay = (T)(1 - u->lr * u->weight_decay);
        const int decoupled = u->flag;
        for (size_t i = 0; i < n; i++) {
            T g = grad[i];
            if (decoupled) p[i] *= decay;
            else g += wd * p[i];
            T m = b1 * s1[i] + ((T)1 - b1) * g;
            T v = b2 * s2[i] + ((T)1 - b2) * g * g;
            s1[i] = m;
            s2[i] = v;
            if (s3) {
                /* torch.maximum: a NaN in v propagates. */
                v = s3[i] > v ? s3[i] : v;
                s3[i] = v;
            }
            p[i] -= step * (m / (AG_OPTIM_SQRT(v) * inv_sqrt_bc2 + eps));
        }
        break;
    }
    case AG_UPDATE_RMSPROP: {
        /* s1: mean square, s2: momentum buffer (NULL without momentum),
         * s3: mean gradient (centered; NULL otherwise). */
        const T alpha = (T)u->a, eps = (T)u->c, mu = (T)u->b;
        for (size_t i = 0; i < n; i++) {
            T g = grad[i] + wd * p[i];
            T sq = alpha * s1[i] + ((T)1 - alpha) * g * g;
            s1[i] = sq;
            T avg;
            if (s3) {
                T mean = alpha * s3[i] + ((T)1 - alpha) * g;
                s3[i] = mean;
                avg = AG_OPTIM_SQRT(sq - mean * mean) + eps;
            } else {
                avg = AG_OPTIM_SQRT(sq) + eps;
            }
            if (s2) {
                T buf = mu * s2[i] + g / avg;
                s2[i] = buf;
                p[i] -= lr * buf;
            } else {
                p[i] -= lr * (g / avg);
            }
        }
        break;
    }
    case AG_UPDATE_ADAGRAD: {
        /* s1: sum of squares; lr is the decayed rate of this step. */
        const T eps = (T)u->c;
        for (size_t i = 0; i < n; i++) {
            T g = grad[i] + wd * p[i];
            T sum = s1[i] + g * g;
            s1[i] = sum;
            p[i] -= lr * (g / (AG_OPTIM_SQRT(sum) + eps));
        }
        break;
    }
    }
}

AG_AVX512 static void FN(update_avx512)(const ag_update *u, size_t b, size_t e) { FN(update_body)(u, b, e); }
AG_AVX2 static void FN(update_avx2)(const ag_update *u, size_t b, size_t e) { FN(update_body)(u, b, e); }
static void FN(update_portable)(const ag_update *u, size_t b, size_t e) { FN(update_body)(u, b, e); }

static void FN(update_range)(void *ctx, size_t b, size_t e) {
    int isa = ag_isa();
    if (isa >= AG_ISA_AVX512) FN(update_avx512)(ctx, b, e);
    else if (isa >= AG_ISA_AVX2) FN(update_avx2)(ctx, b, e);
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
