/* Elementwise kernels: unary, their derivatives, binary with broadcasting, select. */
#ifndef AG_ELEMENTWISE_H
#define AG_ELEMENTWISE_H

#include "ag_runtime.h"

#include "ag_elementwise_ops.h"

#define AG_ENUM_ROW_(ID, ...) ID,

/** Unary operations, one per row of AG_UNARY_OPS (ag_elementwise_ops.h). */
typedef enum { AG_UNARY_OPS(AG_ENUM_ROW_) AG_UNARY_OP_COUNT } ag_unary_op;

/** Binary operations, one per row of AG_BINARY_OPS. */
typedef enum { AG_BINARY_OPS(AG_ENUM_ROW_) AG_BINARY_OP_COUNT } ag_binary_op;

/** What a unary op's derivative kernel reads besides the gradient. */
typedef enum { AG_READS_NONE = 0, AG_READS_INPUT, AG_READS_OUTPUT } ag_reads;

/** The op's name in its table row (a static string). NULL for an unknown op. */
const char *ag_unary_name(ag_unary_op op);

/** What the derivative of `op` reads: its input x, its output y, or neither. */
ag_reads ag_unary_reads(ag_unary_op op);

/** 1 when `op` has a hand-vectorised float32 kernel for the running CPU's SIMD level. */
int ag_unary_has_vector_kernel(ag_unary_op op);

/** The op's name in its table row (a static string). NULL for an unknown op. */
const char *ag_binary_name(ag_binary_op op);

/**
 * y[i] = op(x[i]) for i < n, with the op's parameters p0, p1 (see its row).
 * Contiguous buffers; `y` may equal `x`. An op code outside the table stops
 * the process with a message.
 */
void ag_unary(ag_unary_op op, ag_dtype dt, size_t n, const void *x, void *y,
              double p0, double p1);

/**
 * The derivative kernel of a unary op: out[i] = g[i] * f'(...) from the saved
 * tensor `a` (the input x or the output y of the forward op, as
 * `ag_unary_reads(op)` says; for AG_READS_NONE any buffer of n elements, e.g. `g`) and the incoming
 * gradient `g`. Contiguous buffers; `out` may equal `a` or `g`.
 */
void ag_unary_backward(ag_unary_op op, ag_dtype dt, size_t n, const void *a, const void *g,
                       void *out, double p0, double p1);

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
