/* Fused optimizer updates; bodies in optim_impl.h. */
#include <tgmath.h>
#include "../include/ag_optim.h"
#include "ag_internal.h"

#define T float
#define SFX f32
#include "optim_impl.h"
#undef T
#undef SFX

#define T double
#define SFX f64
#include "optim_impl.h"
#undef T
#undef SFX

void ag_sgd_step(ag_dtype dt, size_t n, void *param, const void *grad, void *buf,
                 double lr, double momentum, double dampening, double weight_decay,
                 int nesterov, int first_step) {
    if (dt == AG_F32)
        sgd_f32(n, param, grad, buf, (float)lr, (float)momentum, (float)dampening,
                (float)weight_decay, nesterov, first_step);
    else
        sgd_f64(n, param, grad, buf, lr, momentum, dampening, weight_decay, nesterov, first_step);
}

void ag_adam_step(ag_dtype dt, size_t n, void *param, const void *grad, void *m, void *v,
                  double lr, double beta1, double beta2, double eps, double weight_decay,
                  int decoupled, double bias_correction1, double bias_correction2) {
    if (dt == AG_F32)
        adam_f32(n, param, grad, m, v, (float)lr, (float)beta1, (float)beta2, (float)eps,
                 (float)weight_decay, decoupled, (float)bias_correction1, (float)bias_correction2);
    else
        adam_f64(n, param, grad, m, v, lr, beta1, beta2, eps, weight_decay, decoupled,
                 bias_correction1, bias_correction2);
}

void ag_rmsprop_step(ag_dtype dt, size_t n, void *param, const void *grad, void *square_avg,
                     void *buf, double lr, double alpha, double eps, double weight_decay,
                     double momentum) {
    if (dt == AG_F32)
        rmsprop_f32(n, param, grad, square_avg, buf, (float)lr, (float)alpha, (float)eps,
                    (float)weight_decay, (float)momentum);
    else
        rmsprop_f64(n, param, grad, square_avg, buf, lr, alpha, eps, weight_decay, momentum);
}

void ag_adagrad_step(ag_dtype dt, size_t n, void *param, const void *grad, void *sum,
                     double lr, double eps, double weight_decay) {
    if (dt == AG_F32)
        adagrad_f32(n, param, grad, sum, (float)lr, (float)eps, (float)weight_decay);
    else
        adagrad_f64(n, param, grad, sum, lr, eps, weight_decay);
}

double ag_sum_of_squares(ag_dtype dt, size_t n, const void *x) {
    return dt == AG_F32 ? sum_of_squares_f32(n, x) : sum_of_squares_f64(n, x);
}

void ag_scale(ag_dtype dt, size_t n, void *x, double s) {
    if (dt == AG_F32) scale_f32(n, x, (float)s);
    else scale_f64(n, x, s);
}
