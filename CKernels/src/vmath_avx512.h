/*
 * Vectorized float32 exp, tanh, sigmoid, GELU and SiLU for AVX-512, sixteen lanes at a
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

/* e^x for any x: e^r = 1 + r p(r) with ag_v_exp_poly's coefficients
 * (ag_w_exp_reduced), scaled by 2^n with scalef. Clamping x to
 * [−104, 89] keeps n finite; NaN passes through (min/max return their second
 * operand on NaN, and scalef propagates it). */
/* e^r for x = n ln2 + r (ln2 in two parts), with n: the reduction and
 * polynomial every exp-based function here shares; 2^n is the caller's. */
AG_V5 __m512 ag_w_exp_reduced(__m512 x, __m512 *n_out) {
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, ag_w_set(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, ag_w_set(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, ag_w_set(-2.12194440e-4f), r);
    __m512 p = AG_HORNER512(r, 0.9999997019767761f, 0.4999915063381195f, 0.1666763573884964f,
                            0.04189793020486832f, 0.008290314115583897f);
    *n_out = n;
    return _mm512_fmadd_ps(p, r, ag_w_set(1.0f));
}

AG_V5 __m512 ag_w_exp(__m512 x) {
    __m512 xc = _mm512_min_ps(ag_w_set(89.0f), _mm512_max_ps(ag_w_set(-104.0f), x));
    __m512 n;
    __m512 er = ag_w_exp_reduced(xc, &n);
    return _mm512_scalef_ps(er, n);
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

/* σ(x) = 1 / (1 + e^{−x}) down to x = −87, where e^{−x} is finite (a
 * negative x's error in e^{−x} is damped by the sum); below, σ(x) is e^x to
 * float precision, which scalef takes into the denormals with one rounding.
 * NaN stays NaN, σ(−inf) = 0, σ(inf) = 1. */
AG_V5 __m512 ag_w_sigmoid(__m512 x) {
    __mmask16 tail = _mm512_cmp_ps_mask(x, ag_w_set(-87.0f), _CMP_LT_OQ);
    __m512 e = ag_w_exp(_mm512_mask_blend_ps(tail, _mm512_xor_ps(x, ag_w_set(-0.0f)), x));
    __m512 r = _mm512_div_ps(ag_w_set(1.0f), _mm512_add_ps(ag_w_set(1.0f), e));
    return _mm512_mask_blend_ps(tail, r, e);
}

/* σ for |x| ≤ 87 only (no clamp, no tail): e^{−x} is then a normal float. */
AG_V5 __m512 ag_w_sigmoid_core(__m512 x) {
    __m512 n;
    __m512 er = ag_w_exp_reduced(_mm512_xor_ps(x, ag_w_set(-0.0f)), &n);
    return _mm512_div_ps(ag_w_set(1.0f), _mm512_add_ps(ag_w_set(1.0f), _mm512_scalef_ps(er, n)));
}

/* The lanes the core can't take: |x| > 87, or NaN. */
AG_V5 __mmask16 ag_w_sigmoid_outside(__m512 x) {
    return _mm512_cmp_ps_mask(_mm512_abs_ps(x), ag_w_set(87.0f), _CMP_NLE_UQ);
}

/* σ over the first n − n % 64 floats, four vectors a step: the core on all
 * four while their ranges are checked, one branch for the four (redone by
 * ag_w_sigmoid when a lane is outside), as the AVX2 kernel does. Returns how
 * many it did. */
AG_AVX512 static inline size_t ag_w_sigmoid_blocks(size_t n, const float *x, float *y) {
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        __m512 a = _mm512_loadu_ps(x + i), b = _mm512_loadu_ps(x + i + 16);
        __m512 c = _mm512_loadu_ps(x + i + 32), d = _mm512_loadu_ps(x + i + 48);
        __m512 ra = ag_w_sigmoid_core(a), rb = ag_w_sigmoid_core(b);
        __m512 rc = ag_w_sigmoid_core(c), rd = ag_w_sigmoid_core(d);
        __mmask16 out = ag_w_sigmoid_outside(a) | ag_w_sigmoid_outside(b) | ag_w_sigmoid_outside(c) |
                        ag_w_sigmoid_outside(d);
        if (__builtin_expect(out != 0, 0)) {
            ra = ag_w_sigmoid(a);
            rb = ag_w_sigmoid(b);
            rc = ag_w_sigmoid(c);
            rd = ag_w_sigmoid(d);
        }
        _mm512_storeu_ps(y + i, ra);
        _mm512_storeu_ps(y + i + 16, rb);
        _mm512_storeu_ps(y + i + 32, rc);
        _mm512_storeu_ps(y + i + 48, rd);
    }
    return i;
}

/* GELU x Φ(x), as ag_v_gelu: erfc(|x|/√2) = t e^{−x²/2 + P(t)} with
 * t = 1/(1 + |x|/(2√2)), x² split exactly so large |x| keeps its digits. */
AG_V5 __m512 ag_w_gelu(__m512 input) {
    __m512 x = _mm512_min_ps(_mm512_max_ps(input, ag_w_set(-20.0f)), ag_w_set(10.0f));
    __m512 z = _mm512_mul_ps(_mm512_abs_ps(x), ag_w_set(0.70710678118654752f));
    __m512 t = _mm512_div_ps(ag_w_set(1.0f), _mm512_fmadd_ps(z, ag_w_set(0.5f), ag_w_set(1.0f)));
    __m512 poly = AG_HORNER512(t, -1.26551223f, 1.00002368f, 0.37409196f, 0.09678418f, -0.18628806f,
                               0.27886807f, -1.13520398f, 1.48851587f, -0.82215223f, 0.17087277f);
    __m512 hi = _mm512_mul_ps(x, x);
    __m512 lo = _mm512_fmsub_ps(x, x, hi);
    __m512 e1 = ag_w_exp(_mm512_mul_ps(hi, ag_w_set(-0.5f)));
    __m512 e2 = ag_w_exp(_mm512_fnmadd_ps(lo, ag_w_set(0.5f), poly));
    __m512 half = _mm512_mul_ps(_mm512_mul_ps(_mm512_mul_ps(t, e1), e2), ag_w_set(0.5f));
    __mmask16 negative = _mm512_cmp_ps_mask(x, ag_w_set(0.0f), _CMP_LT_OQ);
    __m512 y = _mm512_mul_ps(x, _mm512_mask_blend_ps(negative, _mm512_sub_ps(ag_w_set(1.0f), half), half));
    y = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(input, ag_w_set(10.0f), _CMP_GT_OQ), y, input);
    y = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(input, ag_w_set(-20.0f), _CMP_LT_OQ), y, ag_w_set(-0.0f));
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(input, input, _CMP_UNORD_Q), y, input);
}

/* SiLU x σ(x). Below −80 it equals x eˣ to float precision and may be
 * denormal, so there x multiplies eʳ before scalef applies 2ⁿ: one rounding
 * (as ag_v_neg_tail). −inf → −0. */
AG_V5 __m512 ag_w_silu(__m512 x) {
    __m512 y = _mm512_mul_ps(x, ag_w_sigmoid(x));
    __mmask16 tail = _mm512_cmp_ps_mask(x, ag_w_set(-80.0f), _CMP_LT_OQ);
    if (__builtin_expect(tail != 0, 0)) {
        __m512 xc = _mm512_max_ps(x, ag_w_set(-150.0f));
        __m512 n;
        __m512 er = ag_w_exp_reduced(xc, &n);
        y = _mm512_mask_blend_ps(tail, y, _mm512_scalef_ps(_mm512_mul_ps(xc, er), n));
    }
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, ag_w_set(-__builtin_inff()), _CMP_EQ_OQ), y,
                                ag_w_set(-0.0f));
}

/* Applies exp, tanh, sigmoid, GELU or SiLU to n floats, two vectors a step and a masked
 * tail; returns 0 for other ops (the AVX2 kernels take them). */
AG_AVX512 static inline int ag_vmath512_f32(ag_unary_op op, size_t n, const float *x, float *y) {
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
    if (op == AG_SIGMOID) {
        size_t done = ag_w_sigmoid_blocks(n, x, y);
        x += done;
        y += done;
        n -= done;
    }
    switch (op) {
    case AG_EXP: AG_VMATH512_LOOP(ag_w_exp)
    case AG_TANH: AG_VMATH512_LOOP(ag_w_tanh)
    case AG_SIGMOID: AG_VMATH512_LOOP(ag_w_sigmoid)
    case AG_GELU: AG_VMATH512_LOOP(ag_w_gelu)
    case AG_SILU: AG_VMATH512_LOOP(ag_w_silu)
    default: return 0;
    }
#undef AG_VMATH512_LOOP
}

#endif /* AG_X86 */
#endif
