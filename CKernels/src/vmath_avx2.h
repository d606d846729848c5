/*
 * Vectorized float32 exp, log, tanh, sigmoid and GELU for AVX2+FMA, eight
 * lanes at a time. Included by elementwise.c only.
 *
 * Accuracy against libm in float64, measured over a sweep that includes the
 * extremes, denormals, ±inf and NaN, is stated in the README and checked by
 * the test suite (KernelTests, "vectorized math accuracy"). Special values
 * follow libm: NaN in, NaN out; exp overflows to inf and underflows through
 * the denormals to 0; log of 0 is -inf and of a negative number NaN.
 */
#ifndef AG_VMATH_AVX2_H
#define AG_VMATH_AVX2_H

#if AG_X86
#include <immintrin.h>
#include "../include/ag_elementwise.h"

#define AG_V AG_AVX2 static inline __attribute__((always_inline))

AG_V __m256 ag_v_set(float v) { return _mm256_set1_ps(v); }

/* p(x) = c[0] + x (c[1] + x (c[2] + …)), Horner with FMA. */
#define AG_HORNER(x, ...)                                                  \
    ({                                                                     \
        static const float coeffs_[] = {__VA_ARGS__};                      \
        const int n_ = (int)(sizeof(coeffs_) / sizeof(coeffs_[0]));        \
        __m256 acc_ = _mm256_set1_ps(coeffs_[n_ - 1]);                     \
        for (int i_ = n_ - 2; i_ >= 0; i_--)                               \
            acc_ = _mm256_fmadd_ps(acc_, x, _mm256_set1_ps(coeffs_[i_]));  \
        acc_;                                                              \
    })

/* x = n ln2 + r with |r| ≤ ln2/2 (ln2 in two parts, so r is nearly exact);
 * returns r and sets *n. n = round(x log2 e) by the 1.5·2^23 trick: the sum's
 * low bits are n. */
AG_V __m256 ag_v_exp_reduce(__m256 x, __m256i *n_out) {
    const __m256 magic = ag_v_set(12582912.0f);
    __m256 t = _mm256_fmadd_ps(x, ag_v_set(1.44269504088896341f), magic);
    __m256 n = _mm256_sub_ps(t, magic);
    *n_out = _mm256_sub_epi32(_mm256_castps_si256(t), _mm256_castps_si256(magic));
    __m256 r = _mm256_fnmadd_ps(n, ag_v_set(0.693359375f), x);
    return _mm256_fnmadd_ps(n, ag_v_set(-2.12194440e-4f), r);
}

/* 2^n for integer n ∈ [−126, 127], built in the exponent bits. */
AG_V __m256 ag_v_pow2i(__m256i n) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n, _mm256_set1_epi32(127)), 23));
}

/* e^r for |r| ≤ ln2/2: 1 + r p(r) with p of degree 4, fitted here for least
 * relative error on [−ln2/2, ln2/2] (1.7e-7). */
AG_V __m256 ag_v_exp_poly(__m256 r) {
    __m256 p = AG_HORNER(r, 0.9999997019767761f, 0.4999915063381195f, 0.1666763573884964f,
                         0.04189793020486832f, 0.008290314115583897f);
    return _mm256_fmadd_ps(p, r, ag_v_set(1.0f));
}

/* e^x: x = n ln2 + r with |r| ≤ ln2/2, e^r by a degree-5 polynomial, times
 * 2^n built in the exponent bits. Vectors with a lane whose result is in the
 * denormal range (x < −87) or near overflow take a second path that applies
 * 2^n in two halves, so results round once and overflow to inf exactly where
 * they should. Operand order keeps NaN flowing through: max/min return their
 * second operand when either is NaN. */
/* The shared body: e^xc for xc already clamped to [−104, 89] (NaN kept);
 * `may_overflow` is false when the caller knows xc ≤ 0. */
AG_V __m256 ag_v_exp_clamped(__m256 xc, int may_overflow) {
    __m256i ni;
    __m256 y = ag_v_exp_poly(ag_v_exp_reduce(xc, &ni));
    __m256 tiny = _mm256_cmp_ps(xc, ag_v_set(-87.0f), _CMP_LT_OQ);
    int fast = _mm256_movemask_ps(tiny) == 0;
    if (may_overflow) fast = fast && _mm256_movemask_ps(_mm256_cmp_ps(xc, ag_v_set(88.0f), _CMP_GT_OQ)) == 0;
    if (__builtin_expect(fast, 1)) {
        /* n ∈ [−126, 127]: one scale is exact. */
        return _mm256_mul_ps(y, ag_v_pow2i(ni));
    }
    __m256i n1 = _mm256_srai_epi32(ni, 1);
    __m256i n2 = _mm256_sub_epi32(ni, n1);
    return _mm256_mul_ps(_mm256_mul_ps(y, ag_v_pow2i(n1)), ag_v_pow2i(n2));
}

AG_V __m256 ag_v_exp(__m256 x) {
    return ag_v_exp_clamped(_mm256_min_ps(ag_v_set(89.0f), _mm256_max_ps(ag_v_set(-104.0f), x)), 1);
}

/* ln x: x = m 2^e with m in [√½, √2), ln m by a polynomial in m − 1. */
AG_V __m256 ag_v_log(__m256 x) {
    /* Denormals: scale up by 2^23 first. */
    __m256 tiny = _mm256_cmp_ps(x, ag_v_set(1.17549435e-38f), _CMP_LT_OQ);
    __m256 xs = _mm256_blendv_ps(x, _mm256_mul_ps(x, ag_v_set(8388608.0f)), tiny);
    __m256 eadj = _mm256_blendv_ps(ag_v_set(0.0f), ag_v_set(-23.0f), tiny);
    __m256i bits = _mm256_castps_si256(xs);
    __m256 e = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_srli_epi32(bits, 23), _mm256_set1_epi32(126)));
    e = _mm256_add_ps(e, eadj);
    __m256 m = _mm256_castsi256_ps(_mm256_or_si256(_mm256_and_si256(bits, _mm256_set1_epi32(0x007fffff)),
                                                   _mm256_set1_epi32(0x3f000000)));  /* [0.5, 1) */
    __m256 small = _mm256_cmp_ps(m, ag_v_set(0.707106781186547524f), _CMP_LT_OQ);
    e = _mm256_sub_ps(e, _mm256_and_ps(small, ag_v_set(1.0f)));
    __m256 f = _mm256_sub_ps(_mm256_add_ps(m, _mm256_and_ps(small, m)), ag_v_set(1.0f));
    __m256 z = _mm256_mul_ps(f, f);
    __m256 p = AG_HORNER(f, 3.3333331174e-1f, -2.4999993993e-1f, 2.0000714765e-1f, -1.6668057665e-1f,
                         1.4249322787e-1f, -1.2420140846e-1f, 1.1676998740e-1f, -1.1514610310e-1f,
                         7.0376836292e-2f);
    __m256 y = _mm256_mul_ps(_mm256_mul_ps(p, f), z);
    y = _mm256_fmadd_ps(e, ag_v_set(-2.12194440e-4f), y);
    y = _mm256_fnmadd_ps(z, ag_v_set(0.5f), y);
    __m256 r = _mm256_fmadd_ps(e, ag_v_set(0.693359375f), _mm256_add_ps(f, y));
    /* Specials: 0 → -inf, negative → NaN, +inf → +inf, NaN → NaN. */
    r = _mm256_blendv_ps(r, ag_v_set(-__builtin_inff()), _mm256_cmp_ps(x, ag_v_set(0.0f), _CMP_EQ_OQ));
    r = _mm256_blendv_ps(r, ag_v_set(__builtin_nanf("")), _mm256_cmp_ps(x, ag_v_set(0.0f), _CMP_LT_OQ));
    r = _mm256_blendv_ps(r, x, _mm256_cmp_ps(x, ag_v_set(__builtin_inff()), _CMP_EQ_OQ));
    return _mm256_blendv_ps(r, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}

/* tanh: an odd polynomial below |x| = 0.625, 1 − 2/(e^{2|x|} + 1) above, sign restored. */
AG_V __m256 ag_v_tanh(__m256 x) {
    const __m256 sign_mask = ag_v_set(-0.0f);
    __m256 ax = _mm256_andnot_ps(sign_mask, x);
    __m256 z = _mm256_mul_ps(x, x);
    __m256 p = AG_HORNER(z, -3.33332819422e-1f, 1.33314422036e-1f, -5.37397155531e-2f, 2.06390887954e-2f,
                         -5.70498872745e-3f);
    __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(p, z), x, x);
    __m256 e = ag_v_exp(_mm256_add_ps(ax, ax));
    __m256 large = _mm256_sub_ps(ag_v_set(1.0f), _mm256_div_ps(ag_v_set(2.0f), _mm256_add_ps(e, ag_v_set(1.0f))));
    large = _mm256_or_ps(large, _mm256_and_ps(x, sign_mask));
    return _mm256_blendv_ps(large, small, _mm256_cmp_ps(ax, ag_v_set(0.625f), _CMP_LT_OQ));
}

/* σ(x) for any x, NaN and ±inf included, from e = e^{−|x|}, which never
 * overflows: 1 / (1 + e) for x ≥ 0 and e / (1 + e) below, so the negative
 * tail keeps its relative accuracy down through the denormals. The path of
 * vectors with a lane beyond ±87 (see ag_v_sigmoid). */
AG_V __m256 ag_v_sigmoid_tails(__m256 x) {
    const __m256 sign_mask = ag_v_set(-0.0f);
    /* e^{−|x|}: the argument is never positive, so no overflow check. */
    __m256 e = ag_v_exp_clamped(_mm256_max_ps(ag_v_set(-104.0f), _mm256_or_ps(x, sign_mask)), 0);
    __m256 r = _mm256_div_ps(ag_v_set(1.0f), _mm256_add_ps(ag_v_set(1.0f), e));
    return _mm256_blendv_ps(r, _mm256_mul_ps(e, r), _mm256_cmp_ps(x, ag_v_set(0.0f), _CMP_LT_OQ));
}

/* σ(x) = 1 / (1 + e^{−x}) for |x| ≤ 87 (no check): e^{−x} is then a normal
 * float and one scale of the exp's fast path is exact. A true division: the
 * reciprocal estimate with a Newton step is no faster here and misses
 * 1/1 = 1 by an ulp. */
AG_V __m256 ag_v_sigmoid_core(__m256 x) {
    __m256i ni;
    __m256 y = ag_v_exp_poly(ag_v_exp_reduce(_mm256_xor_ps(x, ag_v_set(-0.0f)), &ni));
    __m256 e = _mm256_mul_ps(y, ag_v_pow2i(ni));
    return _mm256_div_ps(ag_v_set(1.0f), _mm256_add_ps(ag_v_set(1.0f), e));
}

/* All-ones in the lanes the core can't take: |x| > 87, or NaN (not
 * less-or-equal is true for NaN too). */
AG_V __m256 ag_v_sigmoid_outside(__m256 x) {
    return _mm256_cmp_ps(_mm256_andnot_ps(ag_v_set(-0.0f), x), ag_v_set(87.0f), _CMP_NLE_UQ);
}

AG_V __m256 ag_v_sigmoid(__m256 x) {
    if (__builtin_expect(_mm256_movemask_ps(ag_v_sigmoid_outside(x)) != 0, 0)) return ag_v_sigmoid_tails(x);
    return ag_v_sigmoid_core(x);
}

/* σ over the first n − n % 32 floats, four vectors at a time: computed by
 * the core while their ranges are checked, one branch for all four (redone
 * by the tails path when any lane is outside). A check and branch per vector
 * cost a tenth of the time. y may be x. Returns how many it did. */
AG_AVX2 static inline size_t ag_v_sigmoid_blocks(size_t n, const float *x, float *y) {
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256 a = _mm256_loadu_ps(x + i), b = _mm256_loadu_ps(x + i + 8);
        __m256 c = _mm256_loadu_ps(x + i + 16), d = _mm256_loadu_ps(x + i + 24);
        __m256 ra = ag_v_sigmoid_core(a), rb = ag_v_sigmoid_core(b);
        __m256 rc = ag_v_sigmoid_core(c), rd = ag_v_sigmoid_core(d);
        __m256 outside = _mm256_or_ps(_mm256_or_ps(ag_v_sigmoid_outside(a), ag_v_sigmoid_outside(b)),
                                      _mm256_or_ps(ag_v_sigmoid_outside(c), ag_v_sigmoid_outside(d)));
        if (__builtin_expect(_mm256_movemask_ps(outside) != 0, 0)) {
            ra = ag_v_sigmoid_tails(a);
            rb = ag_v_sigmoid_tails(b);
            rc = ag_v_sigmoid_tails(c);
            rd = ag_v_sigmoid_tails(d);
        }
        _mm256_storeu_ps(y + i, ra);
        _mm256_storeu_ps(y + i + 8, rb);
        _mm256_storeu_ps(y + i + 16, rc);
        _mm256_storeu_ps(y + i + 24, rd);
    }
    return i;
}

/* GELU: x Φ(x) = x erfc(−x/√2) / 2, with erfc(z) = t e^{−z² + P(t)}, t = 1/(1 + z/2)
 * for z ≥ 0 (a Chebyshev-fitted form with relative error about 1e-7) and
 * erfc(−z) = 2 − erfc(z). z² = x²/2 is split exactly (FMA) so large |x| keeps
 * its relative accuracy. */
AG_V __m256 ag_v_gelu(__m256 input) {
    const __m256 sign_mask = ag_v_set(-0.0f);
    /* Beyond [−20, 10], GELU is 0 or x to float precision; clamping keeps x² finite. */
    __m256 x = _mm256_min_ps(_mm256_max_ps(input, ag_v_set(-20.0f)), ag_v_set(10.0f));
    __m256 ax = _mm256_andnot_ps(sign_mask, x);
    __m256 z = _mm256_mul_ps(ax, ag_v_set(0.70710678118654752f));
    __m256 t = _mm256_div_ps(ag_v_set(1.0f), _mm256_fmadd_ps(z, ag_v_set(0.5f), ag_v_set(1.0f)));
    __m256 poly = AG_HORNER(t, -1.26551223f, 1.00002368f, 0.37409196f, 0.09678418f, -0.18628806f,
                            0.27886807f, -1.13520398f, 1.48851587f, -0.82215223f, 0.17087277f);
    __m256 hi = _mm256_mul_ps(x, x);
    __m256 lo = _mm256_fmsub_ps(x, x, hi);  /* x² = hi + lo exactly */
    __m256 e1 = ag_v_exp(_mm256_mul_ps(hi, ag_v_set(-0.5f)));
    __m256 e2 = ag_v_exp(_mm256_fnmadd_ps(lo, ag_v_set(0.5f), poly));
    __m256 erfc_ax = _mm256_mul_ps(_mm256_mul_ps(t, e1), e2);  /* erfc(|x|/√2) */
    /* Φ(x) = erfc(−x/√2)/2: for x ≥ 0 that is 1 − erfc(|x|/√2)/2, else erfc(|x|/√2)/2. */
    __m256 half = _mm256_mul_ps(erfc_ax, ag_v_set(0.5f));
    __m256 cdf = _mm256_blendv_ps(_mm256_sub_ps(ag_v_set(1.0f), half), half,
                                  _mm256_cmp_ps(x, ag_v_set(0.0f), _CMP_LT_OQ));
    __m256 y = _mm256_mul_ps(x, cdf);
    y = _mm256_blendv_ps(y, input, _mm256_cmp_ps(input, ag_v_set(10.0f), _CMP_GT_OQ));
    y = _mm256_blendv_ps(y, ag_v_set(-0.0f), _mm256_cmp_ps(input, ag_v_set(-20.0f), _CMP_LT_OQ));
    return _mm256_blendv_ps(y, input, _mm256_cmp_ps(input, input, _CMP_UNORD_Q));
}

/* x eˣ for x < −80, where both silu and mish equal it to float precision and
 * the result may be denormal: computing σ(x) or eˣ first would underflow
 * (and lose digits) before the product does. So x is multiplied into eʳ
 * (x = n ln2 + r) and 2ⁿ applied last, in two exact halves: one rounding. */
AG_V __m256 ag_v_neg_tail(__m256 x, __m256 y) {
    __m256 tail = _mm256_cmp_ps(x, ag_v_set(-80.0f), _CMP_LT_OQ);
    if (__builtin_expect(_mm256_movemask_ps(tail) == 0, 1)) return y;
    __m256 xc = _mm256_max_ps(x, ag_v_set(-150.0f));  /* below, x eˣ is 0 in float32 */
    __m256i ni;
    __m256 m = _mm256_mul_ps(xc, ag_v_exp_poly(ag_v_exp_reduce(xc, &ni)));
    __m256i n1 = _mm256_srai_epi32(ni, 1);
    __m256 t = _mm256_mul_ps(_mm256_mul_ps(m, ag_v_pow2i(n1)), ag_v_pow2i(_mm256_sub_epi32(ni, n1)));
    return _mm256_blendv_ps(y, t, tail);
}

/* x σ(x); −inf → −0 (x · σ(x) would be −inf · 0). */
AG_V __m256 ag_v_silu(__m256 x) {
    __m256 y = ag_v_neg_tail(x, _mm256_mul_ps(x, ag_v_sigmoid(x)));
    return _mm256_blendv_ps(y, ag_v_set(-0.0f), _mm256_cmp_ps(x, ag_v_set(-__builtin_inff()), _CMP_EQ_OQ));
}

/* log1p(e) for e in [0, 1] as 2 atanh(s) with s = e / (2 + e) ≤ 1/3: the
 * series s (1 + s²/3 + s⁴/5 + … + s¹²/13) leaves out less than 1.4e-8 of it,
 * and e is never rounded into 1 + e, so small e keep their digits. */
AG_V __m256 ag_v_log1p_unit(__m256 e) {
    __m256 s = _mm256_div_ps(e, _mm256_add_ps(ag_v_set(2.0f), e));
    __m256 z = _mm256_mul_ps(s, s);
    __m256 p = AG_HORNER(z, 1.0f, 1.0f / 3, 1.0f / 5, 1.0f / 7, 1.0f / 9, 1.0f / 11, 1.0f / 13);
    return _mm256_mul_ps(_mm256_add_ps(s, s), p);
}

/* log(1 + e^(βx)) / β as max(βx, 0) + log1p(e^(−|βx|)), and x itself where
 * βx > threshold (PyTorch's softplus). NaN stays NaN. */
AG_V __m256 ag_v_softplus(__m256 x, __m256 beta, __m256 threshold) {
    const __m256 sign_mask = ag_v_set(-0.0f);
    __m256 z = _mm256_mul_ps(beta, x);
    __m256 e = ag_v_exp(_mm256_or_ps(z, sign_mask));  /* e^(−|z|) */
    __m256 r = _mm256_div_ps(_mm256_add_ps(_mm256_max_ps(z, ag_v_set(0.0f)), ag_v_log1p_unit(e)), beta);
    return _mm256_blendv_ps(r, x, _mm256_cmp_ps(z, threshold, _CMP_GT_OQ));
}

/* x tanh(softplus(x)) = x n / (n + 2) with n = eˣ(eˣ + 2), since
 * tanh(log(1 + eˣ)) = ((1 + eˣ)² − 1) / ((1 + eˣ)² + 1); x itself above 20,
 * where the ratio is 1 in float32 (and n would overflow); −inf → −0. */
AG_V __m256 ag_v_mish(__m256 x) {
    __m256 e = ag_v_exp(_mm256_min_ps(x, ag_v_set(20.0f)));
    __m256 n = _mm256_mul_ps(e, _mm256_add_ps(e, ag_v_set(2.0f)));
    __m256 y = _mm256_mul_ps(x, _mm256_div_ps(n, _mm256_add_ps(n, ag_v_set(2.0f))));
    y = _mm256_blendv_ps(y, x, _mm256_cmp_ps(x, ag_v_set(20.0f), _CMP_GT_OQ));
    y = ag_v_neg_tail(x, y);
    return _mm256_blendv_ps(y, ag_v_set(-0.0f), _mm256_cmp_ps(x, ag_v_set(-__builtin_inff()), _CMP_EQ_OQ));
}

#endif /* AG_X86 */
#endif
