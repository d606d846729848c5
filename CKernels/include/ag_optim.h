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
 * Adam / AdamW, for step t of this parameter. With `decoupled` (AdamW)
 * p *= 1 - lr * weight_decay first; otherwise g = grad + weight_decay * p
 * (L2). m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g². With AMSGrad (`max_v`
 * not NULL) max_v = max(max_v, v) and max_v takes v's place below.
 * p -= (lr / bc1) m / (sqrt(v) / sqrt(bc2) + eps), where bc1 = 1 - b1^t and
 * bc2 = 1 - b2^t are the bias corrections.
 */
void ag_adam_step(ag_dtype dt, size_t n, void *param, const void *grad, void *m, void *v,
                  void *max_v, double lr, double beta1, double beta2, double eps,
                  double weight_decay, int decoupled, double bias_correction1,
                  double bias_correction2);

/**
 * RMSProp. g = grad + weight_decay * p; sq = alpha sq + (1 - alpha) g².
 * Centered (`grad_avg` not NULL): grad_avg = alpha grad_avg + (1 - alpha) g
 * and d = sqrt(sq - grad_avg²) + eps; otherwise d = sqrt(sq) + eps.
 * With momentum, buf = momentum buf + g / d and p -= lr buf, else
 * p -= lr g / d. `buf` may be NULL when momentum is 0.
 */
void ag_rmsprop_step(ag_dtype dt, size_t n, void *param, const void *grad, void *square_avg,
                     void *buf, void *grad_avg, double lr, double alpha, double eps,
                     double weight_decay, double momentum);

/**
 * AdaGrad. g = grad + weight_decay * p; sum += g²; p -= clr g / (sqrt(sum) + eps),
 * where the caller gives this step's rate clr = lr / (1 + (t - 1) lr_decay).
 */
void ag_adagrad_step(ag_dtype dt, size_t n, void *param, const void *grad, void *sum,
                     double clr, double eps, double weight_decay);

/** Σ x[i]² (accumulated in double), for gradient norms. */
double ag_sum_of_squares(ag_dtype dt, size_t n, const void *x);

/** x[i] *= s, in place. */
void ag_scale(ag_dtype dt, size_t n, void *x, double s);

#endif
