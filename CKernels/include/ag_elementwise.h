/* Elementwise kernels: unary, their derivatives, binary with broadcasting, select. */
#ifndef AG_ELEMENTWISE_H
#define AG_ELEMENTWISE_H

#include "ag_runtime.h"

/** Unary operations; `p0`/`p1` are their parameters where they have any. */
typedef enum {
    AG_NEG = 0,
    AG_EXP,
    AG_LOG,
    AG_SQRT,
    AG_ABS,
    AG_SIN,
    AG_COS,
    AG_TANH,
    AG_SIGMOID,
    AG_RELU,
    AG_LEAKY_RELU, /* p0: negative slope */
    AG_SOFTPLUS,   /* log(1 + exp(x)), computed stably */
    AG_GELU,       /* x * Phi(x), the exact (erf) form */
    AG_SIGN,       /* -1, 0 or 1 (NaN stays NaN) */
    AG_CLAMP,      /* p0: lower bound, p1: upper bound */
    AG_SQUARE,
    AG_RECIPROCAL,
    AG_AFFINE,     /* x * p0 + p1: tensor-scalar arithmetic */
} ag_unary_op;

/** y[i] = op(x[i]) for i < n. Contiguous buffers; `y` may equal `x`. */
void ag_unary(ag_unary_op op, ag_dtype dt, size_t n, const void *x, void *y,
              double p0, double p1);

/**
 * Derivative kernels used by backward passes. Each computes
 * out[i] = g[i] * f'(...) from a saved tensor `a` (the input x or the output y
 * of the forward op, as named) and the incoming gradient `g`.
 */
typedef enum {
    AG_TANH_BACKWARD = 0,    /* a = y: g * (1 - y^2) */
    AG_SIGMOID_BACKWARD,     /* a = y: g * y * (1 - y) */
    AG_RELU_BACKWARD,        /* a = x: g * (x > 0) */
    AG_LEAKY_RELU_BACKWARD,  /* a = x: g * (x > 0 ? 1 : p0) */
    AG_GELU_BACKWARD,        /* a = x: g * (Phi(x) + x phi(x)) */
} ag_unary_backward_op;

/** out[i] = g[i] * f'(a[i]) for the derivative named by `op`. Contiguous buffers. */
void ag_unary_backward(ag_unary_backward_op op, ag_dtype dt, size_t n,
                       const void *a, const void *g, void *out, double p0);

/** Binary operations. Comparisons write 1 or 0 in the input's dtype. */
typedef enum {
    AG_ADD = 0,
    AG_SUB,
    AG_MUL,
    AG_DIV,
    AG_POW,
    AG_MAXIMUM, /* NaN propagates */
    AG_MINIMUM, /* NaN propagates */
    AG_EQ,
    AG_NE,
    AG_LT,
    AG_LE,
    AG_GT,
    AG_GE,
} ag_binary_op;

/**
 * out = op(a, b) with broadcasting. `shape` is the output shape (rank `ndim`),
 * `out` is contiguous, and `a`, `b` are read through element strides (0 for a
 * broadcast dimension, any value for views).
 */
void ag_binary(ag_binary_op op, ag_dtype dt, int ndim, const int64_t *shape,
               const void *a, const int64_t *a_strides,
               const void *b, const int64_t *b_strides, void *out);

/** out = cond != 0 ? a : b, broadcasting all three like `ag_binary`. */
void ag_where(ag_dtype dt, int ndim, const int64_t *shape,
              const void *cond, const int64_t *cond_strides,
              const void *a, const int64_t *a_strides,
              const void *b, const int64_t *b_strides, void *out);

#endif
