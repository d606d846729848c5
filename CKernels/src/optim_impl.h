/* Optimizer update bodies, instantiated by optim.c for T = float, double. */
#define AG_CAT2(a, b) a##_##b
#define AG_CAT(a, b) AG_CAT2(a, b)
#define FN(name) AG_CAT(name, SFX)

static void FN(sgd)(size_t n, T *restrict p, const T *restrict grad, T *restrict buf, T lr,
                    T momentum, T dampening, T wd, int nesterov, int first) {
    for (size_t i = 0; i < n; i++) {
        T g = grad[i] + wd * p[i];
        if (buf) {
            buf[i] = first ? g : momentum * buf[i] + ((T)1 - dampening) * g;
            g = nesterov ? g + momentum * buf[i] : buf[i];
        }
        p[i] -= lr * g;
    }
}

static void FN(adam)(size_t n, T *restrict p, const T *restrict grad, T *restrict m, T *restrict v,
                     T lr, T b1, T b2, T eps, T wd, int decoupled, T bc1, T bc2) {
    const T step = lr / bc1;
    const T inv_sqrt_bc2 = (T)1 / sqrt(bc2);
    for (size_t i = 0; i < n; i++) {
        T g = grad[i];
        if (decoupled) p[i] *= (T)1 - lr * wd;
        else g += wd * p[i];
        m[i] = b1 * m[i] + ((T)1 - b1) * g;
        v[i] = b2 * v[i] + ((T)1 - b2) * g * g;
        p[i] -= step * m[i] / (sqrt(v[i]) * inv_sqrt_bc2 + eps);
    }
}

static void FN(rmsprop)(size_t n, T *restrict p, const T *restrict grad, T *restrict sq,
                        T *restrict buf, T lr, T alpha, T eps, T wd, T momentum) {
    for (size_t i = 0; i < n; i++) {
        T g = grad[i] + wd * p[i];
        sq[i] = alpha * sq[i] + ((T)1 - alpha) * g * g;
        T u = g / (sqrt(sq[i]) + eps);
        if (buf) {
            buf[i] = momentum * buf[i] + u;
            u = buf[i];
        }
        p[i] -= lr * u;
    }
}

static void FN(adagrad)(size_t n, T *restrict p, const T *restrict grad, T *restrict sum, T lr,
                        T eps, T wd) {
    for (size_t i = 0; i < n; i++) {
        T g = grad[i] + wd * p[i];
        sum[i] += g * g;
        p[i] -= lr * g / (sqrt(sum[i]) + eps);
    }
}

static double FN(sum_of_squares)(size_t n, const T *x) {
    double acc = 0;
    for (size_t i = 0; i < n; i++) acc += (double)x[i] * (double)x[i];
    return acc;
}

static void FN(scale)(size_t n, T *x, T s) {
    for (size_t i = 0; i < n; i++) x[i] *= s;
}

#undef FN
#undef AG_CAT
#undef AG_CAT2
