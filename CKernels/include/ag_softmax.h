/* Softmax, log-softmax and the fused softmax cross-entropy, over rows. */
#ifndef AG_SOFTMAX_H
#define AG_SOFTMAX_H

#include "ag_runtime.h"

/** y = softmax(x) (or log-softmax when `log` is nonzero) of each row of x [rows, n]. */
void ag_softmax(ag_dtype dt, size_t rows, size_t n, const void *x, void *y, int log);

/**
 * The first row whose label (a class index stored as a `dt` value) is not an
 * integer in [0, n), or -1 when all `rows` labels are.
 */
int64_t ag_check_labels(ag_dtype dt, size_t rows, size_t n, const void *labels);

/**
 * Fused softmax cross-entropy over logits [rows, n] with class-index labels
 * [rows] of the same dtype (each an integer in [0, n); the caller checks with
 * ag_check_labels). Writes the mean loss over rows to `*loss`, and, when
 * `grad` is not NULL, grad = scale * (softmax(x) - onehot) in the same pass.
 */
void ag_softmax_xent(ag_dtype dt, size_t rows, size_t n, const void *logits,
                     const void *labels, double *loss, void *grad, double scale);

#endif
