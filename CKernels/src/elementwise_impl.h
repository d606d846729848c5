/*
 * Elementwise kernel bodies, written once and instantiated for float and
 * double by elementwise.c (which defines T and SFX before including this).
 * Each body is compiled twice: once for AVX2+FMA and once portable.
 */
#define AG_CAT2(a, b) a##_##b
#define AG_CAT(a, b) AG_CAT2(a, b)
#define FN(name) AG_CAT(name, SFX)

/* ---- unary -------------------------------------------------------------- */

AG_INLINE T FN(sigmoid1)(T x) {
    if (x >= 0) return (T)1 / ((T)1 + exp(-x));
    T e = exp(x);
    return e / ((T)1 + e);
}

AG_INLINE void FN(unary_body)(ag_unary_op op, size_t n, const T *restrict x, T *y, T p0, T p1) {
    const T sqrt1_2 = (T)0.70710678118654752440;
    switch (op) {
    case AG_NEG: for (size_t i = 0; i < n; i++) y[i] = -x[i]; break;
    case AG_EXP: for (size_t i = 0; i < n; i++) y[i] = exp(x[i]); break;
    case AG_LOG: for (size_t i = 0; i < n; i++) y[i] = log(x[i]); break;
    case AG_SQRT: for (size_t i = 0; i < n; i++) y[i] = sqrt(x[i]); break;
    case AG_ABS: for (size_t i = 0; i < n; i++) y[i] = fabs(x[i]); break;
    case AG_SIN: for (size_t i = 0; i < n; i++) y[i] = sin(x[i]); break;
    case AG_COS: for (size_t i = 0; i < n; i++) y[i] = cos(x[i]); break;
    case AG_TANH: for (size_t i = 0; i < n; i++) y[i] = tanh(x[i]); break;
    case AG_SIGMOID: for (size_t i = 0; i < n; i++) y[i] = FN(sigmoid1)(x[i]); break;
    case AG_RELU: for (size_t i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : (x[i] != x[i] ? x[i] : (T)0); break;
    case AG_LEAKY_RELU: for (size_t i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : x[i] * p0; break;
    case AG_SOFTPLUS:
        for (size_t i = 0; i < n; i++) y[i] = (x[i] > 0 ? x[i] : (T)0) + log1p(exp(-fabs(x[i])));
        break;
    case AG_GELU:
        for (size_t i = 0; i < n; i++) y[i] = (T)0.5 * x[i] * ((T)1 + erf(x[i] * sqrt1_2));
        break;
    case AG_SIGN:
        for (size_t i = 0; i < n; i++) y[i] = x[i] > 0 ? (T)1 : (x[i] < 0 ? (T)-1 : x[i] * 0);
        break;
    case AG_CLAMP:
        for (size_t i = 0; i < n; i++) y[i] = x[i] < p0 ? p0 : (x[i] > p1 ? p1 : x[i]);
        break;
    case AG_SQUARE: for (size_t i = 0; i < n; i++) y[i] = x[i] * x[i]; break;
    case AG_RECIPROCAL: for (size_t i = 0; i < n; i++) y[i] = (T)1 / x[i]; break;
    case AG_AFFINE: for (size_t i = 0; i < n; i++) y[i] = x[i] * p0 + p1; break;
    }
}

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
    /* Transcendental float32 ops have hand-vectorized forms (vmath_avx2.h). */
    if (ag_simd_enabled() && AG_VECTOR_MATH(j->op, end - begin, j->x + begin, j->y + begin)) return;
#endif
    if (ag_simd_enabled())
        FN(unary_avx2)(j->op, end - begin, j->x + begin, j->y + begin, j->p0, j->p1);
    else
        FN(unary_portable)(j->op, end - begin, j->x + begin, j->y + begin, j->p0, j->p1);
}

static void FN(unary)(ag_unary_op op, size_t n, const T *x, T *y, double p0, double p1) {
    FN(unary_job) job = {op, x, y, (T)p0, (T)p1};
    int cheap = op == AG_NEG || op == AG_ABS || op == AG_RELU || op == AG_LEAKY_RELU ||
                op == AG_SIGN || op == AG_CLAMP || op == AG_SQUARE || op == AG_AFFINE;
    ag_parallel_for(n, cheap ? AG_GRAIN_CHEAP : AG_GRAIN_COSTLY, FN(unary_range), &job);
}

/* ---- derivatives of unary ops ------------------------------------------- */

AG_INLINE void FN(unary_backward_body)(ag_unary_backward_op op, size_t n, const T *restrict a,
                                       const T *restrict g, T *restrict out, T p0) {
    const T sqrt1_2 = (T)0.70710678118654752440;
    const T inv_sqrt_2pi = (T)0.39894228040143267794;
    switch (op) {
    case AG_TANH_BACKWARD:
        for (size_t i = 0; i < n; i++) out[i] = g[i] * ((T)1 - a[i] * a[i]);
        break;
    case AG_SIGMOID_BACKWARD:
        for (size_t i = 0; i < n; i++) out[i] = g[i] * a[i] * ((T)1 - a[i]);
        break;
    case AG_RELU_BACKWARD:
        for (size_t i = 0; i < n; i++) out[i] = a[i] > 0 ? g[i] : (T)0;
        break;
    case AG_LEAKY_RELU_BACKWARD:
        for (size_t i = 0; i < n; i++) out[i] = a[i] > 0 ? g[i] : g[i] * p0;
        break;
    case AG_GELU_BACKWARD:
        for (size_t i = 0; i < n; i++) {
            T x = a[i];
            T cdf = (T)0.5 * ((T)1 + erf(x * sqrt1_2));
            T pdf = inv_sqrt_2pi * exp((T)-0.5 * x * x);
            out[i] = g[i] * (cdf + x * pdf);
        }
        break;
    }
}

AG_AVX2 static void FN(unary_backward_avx2)(ag_unary_backward_op op, size_t n, const T *a,
                                            const T *g, T *out, T p0) {
    FN(unary_backward_body)(op, n, a, g, out, p0);
}
static void FN(unary_backward_portable)(ag_unary_backward_op op, size_t n, const T *a,
                                        const T *g, T *out, T p0) {
    FN(unary_backward_body)(op, n, a, g, out, p0);
}

typedef struct { ag_unary_backward_op op; const T *a, *g; T *out; T p0; } FN(unary_backward_job);

static void FN(unary_backward_range)(void *ctx, size_t begin, size_t end) {
    const FN(unary_backward_job) *j = ctx;
    if (ag_simd_enabled())
        FN(unary_backward_avx2)(j->op, end - begin, j->a + begin, j->g + begin, j->out + begin, j->p0);
    else
        FN(unary_backward_portable)(j->op, end - begin, j->a + begin, j->g + begin, j->out + begin, j->p0);
}

static void FN(unary_backward)(ag_unary_backward_op op, size_t n, const T *a, const T *g, T *out,
                               double p0) {
    FN(unary_backward_job) job = {op, a, g, out, (T)p0};
    size_t grain = op == AG_GELU_BACKWARD ? AG_GRAIN_COSTLY : AG_GRAIN_CHEAP;
    ag_parallel_for(n, grain, FN(unary_backward_range), &job);
}

/* ---- binary with broadcasting ------------------------------------------- */

/* One loop per stride pattern: both contiguous, one side broadcast, general.
 * Operand order in p/s: 0 = out (contiguous), 1 = a, 2 = b. */
#define AG_BINARY_LOOPS(EXPR)                                                        \
    do {                                                                             \
        T *restrict o = (T *)p[0];                                                   \
        const T *restrict A = (const T *)p[1];                                       \
        const T *restrict B = (const T *)p[2];                                       \
        if (sa == 1 && sb == 1) {                                                    \
            for (size_t i = 0; i < n; i++) { T a = A[i], b = B[i]; o[i] = (EXPR); }  \
        } else if (sa == 1 && sb == 0) {                                             \
            const T b = B[0];                                                        \
            for (size_t i = 0; i < n; i++) { T a = A[i]; o[i] = (EXPR); }            \
        } else if (sa == 0 && sb == 1) {                                             \
            const T a = A[0];                                                        \
            for (size_t i = 0; i < n; i++) { T b = B[i]; o[i] = (EXPR); }            \
        } else {                                                                     \
            for (size_t i = 0; i < n; i++) {                                         \
                T a = A[(int64_t)i * sa], b = B[(int64_t)i * sb];                    \
                o[i] = (EXPR);                                                       \
            }                                                                        \
        }                                                                            \
    } while (0)

AG_INLINE void FN(binary_body)(ag_binary_op op, size_t n, char *const *p, int64_t sa, int64_t sb) {
    switch (op) {
    case AG_ADD: AG_BINARY_LOOPS(a + b); break;
    case AG_SUB: AG_BINARY_LOOPS(a - b); break;
    case AG_MUL: AG_BINARY_LOOPS(a * b); break;
    case AG_DIV: AG_BINARY_LOOPS(a / b); break;
    case AG_POW: AG_BINARY_LOOPS(pow(a, b)); break;
    case AG_MAXIMUM: AG_BINARY_LOOPS((a != a || a > b) ? a : b); break;
    case AG_MINIMUM: AG_BINARY_LOOPS((a != a || a < b) ? a : b); break;
    case AG_EQ: AG_BINARY_LOOPS(a == b ? (T)1 : (T)0); break;
    case AG_NE: AG_BINARY_LOOPS(a != b ? (T)1 : (T)0); break;
    case AG_LT: AG_BINARY_LOOPS(a < b ? (T)1 : (T)0); break;
    case AG_LE: AG_BINARY_LOOPS(a <= b ? (T)1 : (T)0); break;
    case AG_GT: AG_BINARY_LOOPS(a > b ? (T)1 : (T)0); break;
    case AG_GE: AG_BINARY_LOOPS(a >= b ? (T)1 : (T)0); break;
    }
}

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
