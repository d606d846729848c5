/*
 * The elementwise op tables: one row per op. Everything C knows about an
 * elementwise op is in its row; the enums, the scalar loops, the dispatch
 * switches, the derivative kernels and the metadata queries are generated
 * from these lists (elementwise_impl.h, elementwise.c). Vectorised variants
 * are registered beside the vector math (elementwise.c, AG_UNARY_VEC_F32).
 *
 * Adding an op: one row here, one row in the Swift table
 * (Sources/Autograd/Ops/Unary.swift or Activations.swift). See ARCHITECTURE.md.
 *
 * Expressions are C, expanded inside kernels for the element type T (float or
 * double); the scalar helpers they call (ag_s_*) are in elementwise_impl.h.
 */
#ifndef AG_ELEMENTWISE_OPS_H
#define AG_ELEMENTWISE_OPS_H

/*
 * Unary ops: X(ID, NAME, COST, READS, FORWARD, DERIVATIVE)
 *   FORWARD     y = f(x), in terms of x and the parameters p0, p1.
 *   DERIVATIVE  out = g · f'(x), in terms of a (the input x or the output y,
 *               as READS says), g and p0, p1.
 *   READS       INPUT, OUTPUT or NONE: what the derivative needs saved.
 *   COST        CHEAP (a few instructions) or COSTLY (transcendental):
 *               decides how many elements a thread gets.
 * Limits at ±inf are the mathematical ones (gelu(-inf) = 0, silu(-inf) = 0).
 */
#define AG_UNARY_OPS(X)                                                                       \
    X(AG_NEG,        "neg",        CHEAP,  NONE,   -x,                       -g)                 \
    X(AG_EXP,        "exp",        COSTLY, OUTPUT, exp(x),                   g * a)              \
    X(AG_LOG,        "log",        COSTLY, INPUT,  log(x),                   g / a)              \
    X(AG_SQRT,       "sqrt",       COSTLY, OUTPUT, sqrt(x),                  g / (a * 2))        \
    X(AG_ABS,        "abs",        CHEAP,  INPUT,  fabs(x),                  g * ag_s_sign(a))   \
    X(AG_SIN,        "sin",        COSTLY, INPUT,  sin(x),                   g * cos(a))         \
    X(AG_COS,        "cos",        COSTLY, INPUT,  cos(x),                   -(g * sin(a)))      \
    X(AG_SQUARE,     "square",     CHEAP,  INPUT,  x * x,                    g * a * 2)          \
    X(AG_RECIPROCAL, "reciprocal", CHEAP,  OUTPUT, 1 / x,                    -(g * a * a))       \
    X(AG_SIGN,       "sign",       CHEAP,  NONE,   ag_s_sign(x),             g * 0)              \
    /* x · p0 + p1: tensor-scalar arithmetic */                                               \
    X(AG_AFFINE,     "affine",     CHEAP,  NONE,   x * p0 + p1,              g * p0)             \
    /* p0: lower bound, p1: upper bound; gradient 0 on the bounds, as PyTorch 2.15 */         \
    X(AG_CLAMP,      "clamp",      CHEAP,  INPUT,  ag_s_clamp(x, p0, p1),    (a > p0 && a < p1) ? g : 0) \
    X(AG_TANH,       "tanh",       COSTLY, OUTPUT, tanh(x),                  g * (1 - a * a))    \
    X(AG_SIGMOID,    "sigmoid",    COSTLY, OUTPUT, ag_s_sigmoid(x),          g * a * (1 - a))    \
    X(AG_RELU,       "relu",       CHEAP,  INPUT,  ag_s_relu(x),             a > 0 ? g : 0)      \
    /* p0: negative slope */                                                                  \
    X(AG_LEAKY_RELU, "leakyRelu",  CHEAP,  INPUT,  x > 0 ? x : x * p0,       a > 0 ? g : g * p0) \
    /* p0: beta, p1: threshold (x where beta·x > threshold), as PyTorch */                     \
    X(AG_SOFTPLUS,   "softplus",   COSTLY, INPUT,  ag_s_softplus(x, p0, p1), ag_s_softplus_d(a, p0, p1) * g) \
    X(AG_GELU,       "gelu",       COSTLY, INPUT,  ag_s_gelu(x),             g * ag_s_gelu_d(a)) \
    X(AG_SILU,       "silu",       COSTLY, INPUT,  ag_s_silu(x),             g * ag_s_silu_d(a)) \
    X(AG_MISH,       "mish",       COSTLY, INPUT,  ag_s_mish(x),             g * ag_s_mish_d(a))

/*
 * Binary ops with broadcasting: X(ID, NAME, COST, EXPR) with EXPR in terms of
 * a and b. Comparisons give 1 or 0 in the inputs' type.
 */
#define AG_BINARY_OPS(X)                                                   \
    X(AG_ADD,     "add",     CHEAP,  a + b)                                 \
    X(AG_SUB,     "sub",     CHEAP,  a - b)                                 \
    X(AG_MUL,     "mul",     CHEAP,  a * b)                                 \
    X(AG_DIV,     "div",     CHEAP,  a / b)                                 \
    X(AG_POW,     "pow",     COSTLY, pow(a, b))                             \
    /* NaN propagates */                                                   \
    X(AG_MAXIMUM, "maximum", CHEAP,  (a != a || a > b) ? a : b)             \
    X(AG_MINIMUM, "minimum", CHEAP,  (a != a || a < b) ? a : b)             \
    X(AG_EQ,      "eq",      CHEAP,  a == b ? 1 : 0)                        \
    X(AG_NE,      "ne",      CHEAP,  a != b ? 1 : 0)                        \
    X(AG_LT,      "lt",      CHEAP,  a < b ? 1 : 0)                         \
    X(AG_LE,      "le",      CHEAP,  a <= b ? 1 : 0)                        \
    X(AG_GT,      "gt",      CHEAP,  a > b ? 1 : 0)                         \
    X(AG_GE,      "ge",      CHEAP,  a >= b ? 1 : 0)

#endif
