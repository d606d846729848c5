/* Softmax, log-softmax and fused softmax cross-entropy; bodies in softmax_impl.h. */
#include <tgmath.h>
#include "../include/ag_softmax.h"
#include "ag_internal.h"

#define T float
#define SFX f32
#include "softmax_impl.h"
#undef T
#undef SFX

#define T double
#define SFX f64
#include "softmax_impl.h"
#undef T
#undef SFX

void ag_softmax(ag_dtype dt, size_t rows, size_t n, const void *x, void *y, int log) {
    if (n == 0) return;
    if (dt == AG_F32) softmax_f32(rows, n, x, y, log);
    else softmax_f64(rows, n, x, y, log);
}

void ag_softmax_xent(ag_dtype dt, size_t rows, size_t n, const void *logits,
                     const int64_t *labels, double *loss, void *grad, double scale) {
    if (dt == AG_F32) softmax_xent_f32(rows, n, logits, labels, loss, grad, scale);
    else softmax_xent_f64(rows, n, logits, labels, loss, grad, scale);
}
