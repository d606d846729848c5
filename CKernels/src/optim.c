/* Fused optimizer updates; bodies in optim_impl.h. */
#include <tgmath.h>
#include "../include/ag_optim.h"
#include "ag_internal.h"

typedef enum { AG_UPDATE_SGD, AG_UPDATE_ADAM, AG_UPDATE_RMSPROP, AG_UPDATE_ADAGRAD } ag_update_kind;

/* One update's arguments; a..e and flag mean what each kind says in optim_impl.h. */
typedef struct {
    ag_update_kind kind;
    void *param;
    const void *grad;
    void *state1, *state2, *state3;
    double lr, weight_decay, a, b, c, d, e;
    int flag, first_step;
} ag_update;

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

/* Runs an update over the whole parameter, split across the pool when large. */
static void run_update(ag_dtype dt, size_t n, const ag_update *u) {
    ag_parallel_for(n, AG_GRAIN_CHEAP, dt == AG_F32 ? update_range_f32 : update_range_f64, (void *)u);
}

void ag_sgd_step(ag_dtype dt, size_t n, void *param, const void *grad, void *buf,
                 double lr, double momentum, double dampening, double weight_decay,
                 int nesterov, int first_step) {
    ag_update u = {AG_UPDATE_SGD, param, grad, momentum != 0 ? buf : NULL, NULL, NULL, lr, weight_decay,
                   momentum, dampening, 0, 0, 0, nesterov, first_step};
    run_update(dt, n, &u);
}

void ag_adam_step(ag_dtype dt, size_t n, void *param, const void *grad, void *m, void *v,
                  void *max_v, double lr, double beta1, double beta2, double eps,
                  double weight_decay, int decoupled, double bias_correction1,
                  double bias_correction2) {
    ag_update u = {AG_UPDATE_ADAM, param, grad, m, v, max_v, lr, weight_decay,
                   beta1, beta2, eps, bias_correction1, bias_correction2, decoupled, 0};
    run_update(dt, n, &u);
}

void ag_rmsprop_step(ag_dtype dt, size_t n, void *param, const void *grad, void *square_avg,
                     void *buf, void *grad_avg, double lr, double alpha, double eps,
                     double weight_decay, double momentum) {
    ag_update u = {AG_UPDATE_RMSPROP, param, grad, square_avg, momentum != 0 ? buf : NULL, grad_avg,
                   lr, weight_decay, alpha, momentum, eps, 0, 0, 0, 0};
    run_update(dt, n, &u);
}

void ag_adagrad_step(ag_dtype dt, size_t n, void *param, const void *grad, void *sum,
                     double clr, double eps, double weight_decay) {
    ag_update u = {AG_UPDATE_ADAGRAD, param, grad, sum, NULL, NULL, clr, weight_decay,
                   0, 0, eps, 0, 0, 0, 0};
    run_update(dt, n, &u);
}

double ag_sum_of_squares(ag_dtype dt, size_t n, const void *x) {
    return dt == AG_F32 ? sum_of_squares_f32(n, x) : sum_of_squares_f64(n, x);
}

void ag_scale(ag_dtype dt, size_t n, void *x, double s) {
    if (dt == AG_F32) scale_f32(n, x, (float)s);
    else scale_f64(n, x, s);
}
