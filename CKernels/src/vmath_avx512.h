/*
 * Vectorized float32 exp, tanh and sigmoid for AVX-512, sixteen lanes at a
 * time, with the same reductions and polynomials as vmath_avx2.h (whose
 * helpers with AVX2 vectors this mirrors). AVX-512's scalef applies 2^n with
 * one rounding for any n, denormal results and overflow included, so these
 * need none of the AVX2 versions' second paths. Included by elementwise.c.
 */
#ifndef AG_VMATH_AVX512_H
#define AG_VMATH_AVX512_H

#if AG_X86
#include <immintrin.h>

#define AG_V5 AG_AVX512 static inline __attribute__((always_inline))

AG_V5 __m512 ag_w_set(float v) { return _mm512_set1_ps(v); }

/* Horner with FMA, as AG_HORNER. */
#define AG_HORNER512(x, ...)                                                \
    ({                                                                      \
        static const float coeffs_[] = {__VA_ARGS__};                       \
        const int n_ = (int)(sizeof(coeffs_) / sizeof(coeffs_[0]));         \
        __m512 acc_ = _mm512_set1_ps(coeffs_[n_ - 1]);                      \
        for (int i_ = n_ - 2; i_ >= 0; i_--)                                \
            acc_ = _mm512_fmadd_ps(acc_, x, _mm512_set1_ps(coeffs_[i_]));   \
        acc_;                                                               \
    })

/* e^x for any x: x = n ln2 + r (ln2 in two parts), e^r = 1 + r p(r) with
 * ag_v_exp_poly's coefficients, scaled by 2^n with scalef. Clamping x to
 * [−104, 89] keeps n finite; NaN passes through (min/max return their second
 * operand on NaN, and scalef propagates it). */
AG_V5 __m512 ag_w_exp(__m512 x) {
    __m512 xc = _mm512_min_ps(ag_w_set(89.0f), _mm512_max_ps(ag_w_set(-104.0f), x));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(xc, ag_w_set(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, ag_w_set(0.693359375f), xc);
    r = _mm512_fnmadd_ps(n, ag_w_set(-2.12194440e-4f), r);
    __m512 p = AG_HORNER512(r, 0.9999997019767761f, 0.4999915063381195f, 0.1666763573884964f,
                            0.04189793020486832f, 0.008290314115583897f);
    return _mm512_scalef_ps(_mm512_fmadd_ps(p, r, ag_w_set(1.0f)), n);
}

/* tanh: the odd polynomial of ag_v_tanh below |x| = 0.625, 1 − 2/(e^{2|x|} + 1)
 * above, sign restored. */
AG_V5 __m512 ag_w_tanh(__m512 x) {
    __m512 ax = _mm512_abs_ps(x);
    __m512 z = _mm512_mul_ps(x, x);
    __m512 p = AG_HORNER512(z, -3.33332819422e-1f, 1.33314422036e-1f, -5.37397155531e-2f, 2.06390887954e-2f,
                            -5.70498872745e-3f);
    __m512 small = _mm512_fmadd_ps(_mm512_mul_ps(p, z), x, x);
    __m512 e = ag_w_exp(_mm512_add_ps(ax, ax));
    __m512 large = _mm512_sub_ps(ag_w_set(1.0f), _mm512_div_ps(ag_w_set(2.0f), _mm512_add_ps(e, ag_w_set(1.0f))));
    large = _mm512_or_ps(large, _mm512_and_ps(x, ag_w_set(-0.0f)));
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(ax, ag_w_set(0.625f), _CMP_LT_OQ), large, small);
}

/* σ(x) from e = e^{−|x|}, which never overflows: 1 / (1 + e) for x ≥ 0 and
 * e / (1 + e) below, so the negative tail keeps its relative accuracy into
 * the denormals (scalef makes this path as fast as the plain formula). */
AG_V5 __m512 ag_w_sigmoid(__m512 x) {
    __m512 e = ag_w_exp(_mm512_or_ps(x, ag_w_set(-0.0f)));
    __m512 r = _mm512_div_ps(ag_w_set(1.0f), _mm512_add_ps(ag_w_set(1.0f), e));
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, ag_w_set(0.0f), _CMP_LT_OQ), r, _mm512_mul_ps(e, r));
}

/* Applies exp, tanh or sigmoid to n floats, two vectors a step and a masked
 * tail; returns 0 for other ops (the AVX2 kernels take them). */
AG_AVX512 static int ag_vmath512_f32(ag_unary_op op, size_t n, const float *x, float *y) {
#define AG_VMATH512_LOOP(F)                                                              \
    {                                                                                    \
        size_t i = 0;                                                                    \
        for (; i + 32 <= n; i += 32) {                                                   \
            __m512 a_ = F(_mm512_loadu_ps(x + i)), b_ = F(_mm512_loadu_ps(x + i + 16));  \
            _mm512_storeu_ps(y + i, a_);                                                 \
            _mm512_storeu_ps(y + i + 16, b_);                                            \
        }                                                                                \
        for (; i < n; i += 16) {                                                         \
            __mmask16 m_ = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1); \
            _mm512_mask_storeu_ps(y + i, m_, F(_mm512_maskz_loadu_ps(m_, x + i)));       \
        }                                                                                \
        return 1;                                                                        \
    }
    switch (op) {
    case AG_EXP: AG_VMATH512_LOOP(ag_w_exp)
    case AG_TANH: AG_VMATH512_LOOP(ag_w_tanh)
    case AG_SIGMOID: AG_VMATH512_LOOP(ag_w_sigmoid)
    default: return 0;
    }
#undef AG_VMATH512_LOOP
}

#endif /* AG_X86 */
#endif
