/*
 * Fused optimizer updates: one pass over a parameter and its gradient and
 * state, in place. The formulas follow torch.optim's defaults exactly, so an
 * update can be checked against a hand-computed one.
 */
#ifndef AG_OPTIM_H
#define AG_OPTIM_H

#include "ag_runtime.h"

/**
 * SGD. g = grad + weight_decay * p; with momentum, buf = g on the first step
 * and momentum * buf + (1 - dampening) * g after, then g = buf (or
 * g + momentum * buf for Nesterov); p -= lr * g. `buf` may be NULL when
 * momentum is 0.
 */
void ag_sgd_step(ag_dtype dt, size_t n, void *param, const void *grad, void *buf,
                 double lr, double momentum, double dampening, double weight_decay,
                 int nesterov, int first_step);

/**
 * Adam / AdamW. With `decoupled` (AdamW) p *= 1 - lr * weight_decay first;
 * otherwise g = grad + weight_decay * p (L2). m = b1 m + (1 - b1) g,
 * v = b2 v + (1 - b2) g², p -= lr (m / bc1) / (sqrt(v / bc2) + eps), where
 * bc1 = 1 - b1^t and bc2 = 1 - b2^t are the bias corrections for step t.
 */
void ag_adam_step(ag_dtype dt, size_t n, void *param, const void *grad, void *m, void *v,
                  double lr, double beta1, double beta2, double eps, double weight_decay,
                  int decoupled, double bias_correction1, double bias_correction2);

/**
 * RMSProp. g = grad + weight_decay * p; sq = alpha sq + (1 - alpha) g²;
 * u = g / (sqrt(sq) + eps); with momentum, buf = momentum buf + u and
 * p -= lr buf, else p -= lr u. `buf` may be NULL when momentum is 0.
 */
void ag_rmsprop_step(ag_dtype dt, size_t n, void *param, const void *grad, void *square_avg,
                     void *buf, double lr, double alpha, double eps, double weight_decay,
                     double momentum);

/** AdaGrad. g = grad + weight_decay * p; sum += g²; p -= lr g / (sqrt(sum) + eps). */
void ag_adagrad_step(ag_dtype dt, size_t n, void *param, const void *grad, void *sum,
                     double lr, double eps, double weight_decay);

/** Σ x[i]² (accumulated in double), for gradient norms. */
double ag_sum_of_squares(ag_dtype dt, size_t n, const void *x);

/** x[i] *= s, in place. */
void ag_scale(ag_dtype dt, size_t n, void *x, double s);

#endif
