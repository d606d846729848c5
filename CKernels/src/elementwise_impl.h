/*
 * Elementwise kernel bodies, written once and instantiated for float and
 * double by elementwise.c (which defines T and SFX before including this).
 * Each body is compiled twice: once for AVX2+FMA and once portable.
 */
#define AG_CAT2(a, b) a##_##b
#define AG_CAT(a, b) AG_CAT2(a, b)
#define FN(name) AG_CAT(name, SFX)

/* ---- scalar helpers the op table's expressions call ------------------- */

#define ag_s_sign FN(ag_s_sign)
#define ag_s_clamp FN(ag_s_clamp)
#define ag_s_relu FN(ag_s_relu)
#define ag_s_sigmoid FN(ag_s_sigmoid)
#define ag_s_softplus FN(ag_s_softplus)
#define ag_s_softplus_d FN(ag_s_softplus_d)
#define ag_s_gelu FN(ag_s_gelu)
#define ag_s_gelu_d FN(ag_s_gelu_d)
#define ag_s_silu FN(ag_s_silu)
#define ag_s_silu_d FN(ag_s_silu_d)
#define ag_s_mish FN(ag_s_mish)
#define ag_s_mish_d FN(ag_s_mish_d)

/* -1, 0 or 1; ±0 and NaN stay as they are. */
AG_INLINE T ag_s_sign(T x) { return x > 0 ? (T)1 : (x < 0 ? (T)-1 : x * 0); }

AG_INLINE T ag_s_clamp(T x, T lo, T hi) { return x < lo ? lo : (x > hi ? hi : x); }

/* max(x, 0); NaN stays NaN. */
AG_INLINE T ag_s_relu(T x) { return x > 0 ? x : (x != x ? x : (T)0); }

/* 1 / (1 + e^-x) without overflow. */
AG_INLINE T ag_s_sigmoid(T x) {
    if (x >= 0) return (T)1 / ((T)1 + exp(-x));
    T e = exp(x);
    return e / ((T)1 + e);
}

/* log(1 + e^(beta x)) / beta, computed stably; x itself where beta x > threshold. */
AG_INLINE T ag_s_softplus(T x, T beta, T threshold) {
    T z = beta * x;
    if (z > threshold) return x;
    return ((z > 0 ? z : (T)0) + log1p(exp(-fabs(z)))) / beta;
}

/* softplus'(x) = sigmoid(beta x), 1 where beta x > threshold. */
AG_INLINE T ag_s_softplus_d(T x, T beta, T threshold) {
    T z = beta * x;
    return z > threshold ? (T)1 : ag_s_sigmoid(z);
}

/* Phi(x), the standard normal CDF, accurate in both tails. */
AG_INLINE T FN(ag_s_normal_cdf)(T x) {
    const T sqrt1_2 = (T)0.70710678118654752440;
    return x < 0 ? (T)0.5 * erfc(-x * sqrt1_2) : (T)0.5 * ((T)1 + erf(x * sqrt1_2));
}

/* x Phi(x): +inf at +inf, 0 at -inf (x Phi(x) -> 0), NaN for NaN. */
AG_INLINE T ag_s_gelu(T x) {
    if (isinf(x)) return x > 0 ? x : (T)-0.0;
    return x * FN(ag_s_normal_cdf)(x);
}

/* Phi(x) + x phi(x); its limits are 1 and 0. */
AG_INLINE T ag_s_gelu_d(T x) {
    const T inv_sqrt_2pi = (T)0.39894228040143267794;
    if (isinf(x)) return x > 0 ? (T)1 : (T)0;
    return FN(ag_s_normal_cdf)(x) + x * inv_sqrt_2pi * exp((T)-0.5 * x * x);
}

/* x sigmoid(x): +inf at +inf, 0 at -inf. */
AG_INLINE T ag_s_silu(T x) {
    if (isinf(x)) return x > 0 ? x : (T)-0.0;
    return x * ag_s_sigmoid(x);
}

/* sigmoid(x) (1 + x (1 - sigmoid(x))); its limits are 1 and 0. */
AG_INLINE T ag_s_silu_d(T x) {
    if (isinf(x)) return x > 0 ? (T)1 : (T)0;
    T s = ag_s_sigmoid(x);
    return s * ((T)1 + x * ((T)1 - s));
}

/* x tanh(softplus(x)): +inf at +inf, 0 at -inf. */
AG_INLINE T ag_s_mish(T x) {
    if (isinf(x)) return x > 0 ? x : (T)-0.0;
    return x * tanh(ag_s_softplus(x, 1, INFINITY));
}

/* tanh(sp) + x sigmoid(x) (1 - tanh(sp)^2) with sp = softplus(x); limits 1 and 0. */
AG_INLINE T ag_s_mish_d(T x) {
    if (isinf(x)) return x > 0 ? (T)1 : (T)0;
    T t = tanh(ag_s_softplus(x, 1, INFINITY));
    return t + x * ag_s_sigmoid(x) * ((T)1 - t * t);
}

/* ---- unary: forward and derivative loops, generated from AG_UNARY_OPS ---- */

#define AG_UNARY_CASE_(ID, NAME, COST, READS, FORWARD, DERIVATIVE) \
    case ID: for (size_t i = 0; i < n; i++) { T x = xs[i]; y[i] = (FORWARD); } break;
#define AG_UNARY_BACKWARD_CASE_(ID, NAME, COST, READS, FORWARD, DERIVATIVE) \
    case ID: for (size_t i = 0; i < n; i++) { T a = as[i], g = gs[i]; (void)a; out[i] = (DERIVATIVE); } break;

AG_INLINE void FN(unary_body)(ag_unary_op op, size_t n, const T *xs, T *y, T p0, T p1) {
    (void)p0, (void)p1;
    switch (op) {
    AG_UNARY_OPS(AG_UNARY_CASE_)
    case AG_UNARY_OP_COUNT: break;
    }
}

AG_INLINE void FN(unary_backward_body)(ag_unary_op op, size_t n, const T *as, const T *gs, T *out,
                                       T p0, T p1) {
    (void)p0, (void)p1;
    switch (op) {
    AG_UNARY_OPS(AG_UNARY_BACKWARD_CASE_)
    case AG_UNARY_OP_COUNT: break;
    }
}

#undef AG_UNARY_CASE_
#undef AG_UNARY_BACKWARD_CASE_

AG_AVX2 static void FN(unary_avx2)(ag_unary_op op, size_t n, const T *x, T *y, T p0, T p1) {
    FN(unary_body)(op, n, x, y, p0, p1);
}
static void FN(unary_portable)(ag_unary_op op, size_t n, const T *x, T *y, T p0, T p1) {
    FN(unary_body)(op, n, x, y, p0, p1);
}

typedef struct { ag_unary_op op; const T *x; T *y; T p0, p1; } FN(unary_job);

static void FN(unary_range)(void *ctx, size_t begin, size_t end) {
    const FN(unary_job) *j = ctx;
#ifdef AG_VECTOR_MATH
    /* Ops registered in AG_UNARY_VEC_F32 have hand-vectorized forms (vmath_avx2.h). */
    if (ag_simd_enabled() && AG_VECTOR_MATH(j->op, end - begin, j->x + begin, j->y + begin, j->p0, j->p1)) return;
#endif
    if (ag_simd_enabled())
        FN(unary_avx2)(j->op, end - begin, j->x + begin, j->y + begin, j->p0, j->p1);
    else
        FN(unary_portable)(j->op, end - begin, j->x + begin, j->y + begin, j->p0, j->p1);
}

static void FN(unary)(ag_unary_op op, size_t n, const T *x, T *y, double p0, double p1) {
    FN(unary_job) job = {op, x, y, (T)p0, (T)p1};
    ag_parallel_for(n, ag_unary_grain(op), FN(unary_range), &job);
}

AG_AVX2 static void FN(unary_backward_avx2)(ag_unary_op op, size_t n, const T *a, const T *g, T *out,
                                            T p0, T p1) {
    FN(unary_backward_body)(op, n, a, g, out, p0, p1);
}
static void FN(unary_backward_portable)(ag_unary_op op, size_t n, const T *a, const T *g, T *out,
                                        T p0, T p1) {
    FN(unary_backward_body)(op, n, a, g, out, p0, p1);
}

typedef struct { ag_unary_op op; const T *a, *g; T *out; T p0, p1; } FN(unary_backward_job);

static void FN(unary_backward_range)(void *ctx, size_t begin, size_t end) {
    const FN(unary_backward_job) *j = ctx;
    if (ag_simd_enabled())
        FN(unary_backward_avx2)(j->op, end - begin, j->a + begin, j->g + begin, j->out + begin, j->p0, j->p1);
    else
        FN(unary_backward_portable)(j->op, end - begin, j->a + begin, j->g + begin, j->out + begin, j->p0,
                                    j->p1);
}

static void FN(unary_backward)(ag_unary_op op, size_t n, const T *a, const T *g, T *out, double p0,
                               double p1) {
    FN(unary_backward_job) job = {op, a, g, out, (T)p0, (T)p1};
    ag_parallel_for(n, ag_unary_grain(op), FN(unary_backward_range), &job);
}

#undef ag_s_sign
#undef ag_s_clamp
#undef ag_s_relu
#undef ag_s_sigmoid
#undef ag_s_softplus
#undef ag_s_softplus_d
#undef ag_s_gelu
#undef ag_s_gelu_d
#undef ag_s_silu
#undef ag_s_silu_d
#undef ag_s_mish
#undef ag_s_mish_d

/* ---- binary with broadcasting ------------------------------------------- */

/* One loop per stride pattern: both contiguous, one side broadcast, general.
 * Operand order in p/s: 0 = out (contiguous), 1 = a, 2 = b. */
#define AG_BINARY_LOOPS(EXPR)                                                        \
    do {                                                                             \
        T *restrict o = (T *)p[0];                                                   \
        const T *restrict A = (const T *)p[1];                                       \
        const T *restrict B = (const T *)p[2];                                       \
        if (sa == 1 && sb == 1) {                                                    \
            for (size_t i = 0; i < n; i++) { T a = A[i], b = B[i]; o[i] = (T)(EXPR); }  \
        } else if (sa == 1 && sb == 0) {                                             \
            const T b = B[0];                                                        \
            for (size_t i = 0; i < n; i++) { T a = A[i]; o[i] = (T)(EXPR); }            \
        } else if (sa == 0 && sb == 1) {                                             \
            const T a = A[0];                                                        \
            for (size_t i = 0; i < n; i++) { T b = B[i]; o[i] = (T)(EXPR); }            \
        } else {                                                                     \
            for (size_t i = 0; i < n; i++) {                                         \
                T a = A[(int64_t)i * sa], b = B[(int64_t)i * sb];                    \
                o[i] = (T)(EXPR);                                                    \
            }                                                                        \
        }                                                                            \
    } while (0)

#define AG_BINARY_CASE_(ID, NAME, COST, EXPR) case ID: AG_BINARY_LOOPS(EXPR); break;

AG_INLINE void FN(binary_body)(ag_binary_op op, size_t n, char *const *p, int64_t sa, int64_t sb) {
    switch (op) {
    AG_BINARY_OPS(AG_BINARY_CASE_)
    case AG_BINARY_OP_COUNT: break;
    }
}

#undef AG_BINARY_CASE_

AG_AVX2 static void FN(binary_avx2)(ag_binary_op op, size_t n, char *const *p, int64_t sa, int64_t sb) {
    FN(binary_body)(op, n, p, sa, sb);
}
static void FN(binary_portable)(ag_binary_op op, size_t n, char *const *p, int64_t sa, int64_t sb) {
    FN(binary_body)(op, n, p, sa, sb);
}

static void FN(binary_inner)(void *ctx, size_t n, char *const *p, const int64_t *s) {
    ag_binary_op op = *(const ag_binary_op *)ctx;
    int64_t sa = s[1] / (int64_t)sizeof(T), sb = s[2] / (int64_t)sizeof(T);
    if (ag_simd_enabled())
        FN(binary_avx2)(op, n, p, sa, sb);
    else
        FN(binary_portable)(op, n, p, sa, sb);
}

/* ---- select ------------------------------------------------------------- */

static void FN(where_inner)(void *ctx, size_t n, char *const *p, const int64_t *s) {
    (void)ctx;
    T *o = (T *)p[0];
    const char *c = p[1], *a = p[2], *b = p[3];
    for (size_t i = 0; i < n; i++) {
        o[i] = *(const T *)c != 0 ? *(const T *)a : *(const T *)b;
        c += s[1];
        a += s[2];
        b += s[3];
    }
}

#undef AG_BINARY_LOOPS
#undef FN
#undef AG_CAT
#undef AG_CAT2
