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

#if AG_X86
#include "vmath_avx2.h"

/* Float32 rows with AVX2: the row's maximum, then e_k = exp(x_k − max) stored
 * in the output while summing, then one scaling pass, so each element is
 * exponentiated once. */
AG_AVX2 static float row_max_avx2(size_t n, const float *x) {
    __m256 m = _mm256_set1_ps(-__builtin_inff());
    size_t k = 0;
    for (; k + 8 <= n; k += 8) m = _mm256_max_ps(m, _mm256_loadu_ps(x + k));
    float lanes[8], best = -__builtin_inff();
    _mm256_storeu_ps(lanes, m);
    for (int i = 0; i < 8; i++) best = lanes[i] > best ? lanes[i] : best;
    for (; k < n; k++) best = x[k] > best ? x[k] : best;
    return best;
}

AG_AVX2 static inline float hsum_avx2(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_shuffle_ps(s, s, 1)));
}

/* Returns Σ exp(x[k] − m), summed in blocks of 128 combined pairwise; stores
 * out[k] = exp(x[k] − m) when out is not NULL. */
AG_AVX2 static float row_exp_sum_avx2(size_t n, const float *x, float m, float *out) {
    pw_acc_f32 acc;
    acc.blocks = 0;
    __m256 vm = _mm256_set1_ps(m);
    size_t k = 0;
    while (k + 8 <= n) {
        size_t end = n - k < 128 ? n : k + 128;
        __m256 sum = _mm256_setzero_ps();
        for (; k + 8 <= end; k += 8) {
            __m256 e = ag_v_exp(_mm256_sub_ps(_mm256_loadu_ps(x + k), vm));
            if (out) _mm256_storeu_ps(out + k, e);
            sum = _mm256_add_ps(sum, e);
        }
        pw_push_f32(&acc, hsum_avx2(sum));
    }
    if (k < n) {
        float in[8], e[8], sum = 0;
        for (size_t i = 0; i < 8; i++) in[i] = k + i < n ? x[k + i] - m : -__builtin_inff();
        _mm256_storeu_ps(e, ag_v_exp(_mm256_loadu_ps(in)));
        for (size_t i = 0; k + i < n; i++) {
            if (out) out[k + i] = e[i];
            sum += e[i];
        }
        pw_push_f32(&acc, sum);
    }
    return pw_total_f32(&acc);
}

#include "vmath_avx512.h"

/* row_exp_sum_avx2 on sixteen lanes: the same blocks of 128, combined pairwise. */
AG_AVX512 static float row_exp_sum_avx512(size_t n, const float *x, float m, float *out) {
    pw_acc_f32 acc;
    acc.blocks = 0;
    __m512 vm = _mm512_set1_ps(m);
    size_t k = 0;
    while (k < n) {
        size_t end = n - k < 128 ? n : k + 128;
        __m512 sum = _mm512_setzero_ps();
        for (; k < end; k += 16) {
            __mmask16 lanes = end - k >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (end - k)) - 1);
            __m512 e = ag_w_exp(_mm512_sub_ps(_mm512_maskz_loadu_ps(lanes, x + k), vm));
            e = _mm512_maskz_mov_ps(lanes, e);
            if (out) _mm512_mask_storeu_ps(out + k, lanes, e);
            sum = _mm512_add_ps(sum, e);
        }
        k = end;
        pw_push_f32(&acc, _mm512_reduce_add_ps(sum));
    }
    return pw_total_f32(&acc);
}

/* Σ exp(x[k] − m) (and the terms into out) at the active level. */
static float row_exp_sum(size_t n, const float *x, float m, float *out) {
    return ag_isa() >= AG_ISA_AVX512 ? row_exp_sum_avx512(n, x, m, out) : row_exp_sum_avx2(n, x, m, out);
}

AG_AVX2 static void row_scale_avx2(size_t n, float *y, float s) {
    __m256 vs = _mm256_set1_ps(s);
    size_t k = 0;
    for (; k + 8 <= n; k += 8) _mm256_storeu_ps(y + k, _mm256_mul_ps(_mm256_loadu_ps(y + k), vs));
    for (; k < n; k++) y[k] *= s;
}

typedef struct { size_t n; const float *x; float *y; int log; } softmax_job;

static void softmax_rows_avx2(void *ctx, size_t begin, size_t end) {
    const softmax_job *j = ctx;
    for (size_t r = begin; r < end; r++) {
        const float *xr = j->x + r * j->n;
        float *yr = j->y + r * j->n;
        float m = row_max_avx2(j->n, xr);
        float s = row_exp_sum(j->n, xr, m, yr);
        if (j->log) {
            float shift = m + logf(s);
            for (size_t k = 0; k < j->n; k++) yr[k] = xr[k] - shift;
        } else {
            row_scale_avx2(j->n, yr, 1.0f / s);
        }
    }
}

static void softmax_xent_avx2(size_t rows, size_t n, const float *x, const float *labels,
                              double *loss, float *grad, double scale) {
    double total = 0;
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * n;
        size_t label = (size_t)labels[r];
        float m = row_max_avx2(n, xr);
        float s;
        if (grad) {
            float *gr = grad + r * n;
            s = row_exp_sum(n, xr, m, gr);
            row_scale_avx2(n, gr, (float)scale / s);
            gr[label] -= (float)scale;
        } else {
            s = row_exp_sum(n, xr, m, NULL);
        }
        total += (double)m + log((double)s) - (double)xr[label];
    }
    *loss = rows ? total / (double)rows : 0.0;
}
#endif

void ag_softmax(ag_dtype dt, size_t rows, size_t n, const void *x, void *y, int log) {
    if (n == 0) return;
#if AG_X86
    if (dt == AG_F32 && ag_simd_enabled()) {
        softmax_job job = {n, x, y, log};
        ag_parallel_for(rows, AG_GRAIN_COSTLY / n + 1, softmax_rows_avx2, &job);
        return;
    }
#endif
    if (dt == AG_F32) softmax_f32(rows, n, x, y, log);
    else softmax_f64(rows, n, x, y, log);
}

int64_t ag_check_labels(ag_dtype dt, size_t rows, size_t n, const void *labels) {
    for (size_t r = 0; r < rows; r++) {
        double v = dt == AG_F32 ? (double)((const float *)labels)[r] : ((const double *)labels)[r];
        if (!(v >= 0 && v < (double)n && v == floor(v))) return (int64_t)r;
    }
    return -1;
}

void ag_softmax_xent(ag_dtype dt, size_t rows, size_t n, const void *logits,
                     const void *labels, double *loss, void *grad, double scale) {
#if AG_X86
    if (dt == AG_F32 && ag_simd_enabled()) {
        softmax_xent_avx2(rows, n, logits, labels, loss, grad, scale);
        return;
    }
#endif
    if (dt == AG_F32) softmax_xent_f32(rows, n, logits, labels, loss, grad, scale);
    else softmax_xent_f64(rows, n, logits, labels, loss, grad, scale);
}
