/*
 * GEMM micro-kernels, BLIS style: C[0:MR, 0:NR] = alpha · Σ_p A[:, p] B[p, :]
 * + beta · C over packed panels, A k-major in MR-row slivers and B k-major
 * in NR-column slivers (both zero-padded to full tiles). Each step loads NR
 * values of B as NV vectors and broadcasts the MR values of A into MR × NV
 * accumulators, which stay in registers. Included by gemm_packed.c only.
 *
 *   AVX-512  f32 8×32 (16 ZMM accumulators)   f64 8×16
 *            (8×32 beat 6×64, 8×48 and 12×32 in `autograd bench --filter gemm`)
 *   AVX2     f32 6×16 (12 YMM accumulators)   f64 6×8
 *   portable f32/f64 4×8 in scalars (the compiler vectorizes what it can)
 *
 * A partial tile (mr < MR or nr < NR, at the matrix's edge) is computed in
 * full and merged into C through a small buffer. beta == 0 never reads C.
 */
#ifndef AG_GEMM_UKERNELS_H
#define AG_GEMM_UKERNELS_H

#include "ag_internal.h"
#if AG_X86
#include <immintrin.h>
#endif

/* Writes an accumulated tile held in `tile` (MR×NR, row-major) into C's
 * mr×nr corner: c = alpha·tile + beta·c. */
#define AG_MERGE_TILE(T, tile, NR, c, ldc, mr, nr, alpha, beta)             \
    for (size_t r_ = 0; r_ < (mr); r_++)                                    \
        for (size_t j_ = 0; j_ < (nr); j_++) {                              \
            T v_ = (alpha) * (tile)[r_ * (NR) + j_];                        \
            T *d_ = (c) + r_ * (ldc) + j_;                                  \
            *d_ = (beta) == 0 ? v_ : v_ + (beta) * *d_;                     \
        }

/*
 * One SIMD micro-kernel. VT is the vector type, W its lanes, NV vectors per
 * row of the tile (NR = NV·W). The loops have constant bounds so that the
 * compiler unrolls them and keeps acc in registers.
 */
#define AG_SIMD_UKERNEL(NAME, ATTR, T, VT, MR_, W, NV, LOAD, STORE, SET1, FMA, MUL, ZERO)     \
    ATTR static void NAME(size_t k, const T *restrict a, const T *restrict b,            \
                          T *restrict c, size_t ldc, size_t mr, size_t nr,               \
                          T alpha, T beta) {                                             \
        enum { MR = (MR_), NR = (NV) * (W) };                                           \
        VT acc[MR][NV];                                                                  \
        for (int r = 0; r < MR; r++)                                                     \
            for (int v = 0; v < (NV); v++) acc[r][v] = ZERO();                           \
        for (size_t p = 0; p < k; p++) {                                                 \
            VT bv[NV];                                                                   \
            for (int v = 0; v < (NV); v++) bv[v] = LOAD(b + p * NR + v * (W));           \
            for (int r = 0; r < MR; r++) {                                               \
                VT ar = SET1(a[p * MR + r]);                                             \
                for (int v = 0; v < (NV); v++) acc[r][v] = FMA(ar, bv[v], acc[r][v]);    \
            }                                                                            \
        }                                                                                \
        VT va = SET1(alpha), vb = SET1(beta);                                            \
        if (mr == MR && nr == NR) {                                                      \
            for (int r = 0; r < MR; r++)                                                 \
                for (int v = 0; v < (NV); v++) {                                         \
                    T *d = c + r * ldc + v * (W);                                        \
                    VT x = MUL(va, acc[r][v]);                                           \
                    STORE(d, beta == 0 ? x : FMA(vb, LOAD(d), x));                       \
                }                                                                        \
            return;                                                                      \
        }                                                                                \
        T tile[MR * NR] __attribute__((aligned(64)));                                    \
        for (int r = 0; r < MR; r++)                                                     \
            for (int v = 0; v < (NV); v++) STORE(tile + r * NR + v * (W), acc[r][v]);    \
        AG_MERGE_TILE(T, tile, NR, c, ldc, mr, nr, alpha, beta)                          \
    }

#if AG_X86
AG_SIMD_UKERNEL(ukernel_f32_avx512, AG_AVX512, float, __m512, 8, 16, 2,
                _mm512_loadu_ps, _mm512_storeu_ps, _mm512_set1_ps, _mm512_fmadd_ps,
                _mm512_mul_ps, _mm512_setzero_ps)
AG_SIMD_UKERNEL(ukernel_f64_avx512, AG_AVX512, double, __m512d, 8, 8, 2,
                _mm512_loadu_pd, _mm512_storeu_pd, _mm512_set1_pd, _mm512_fmadd_pd,
                _mm512_mul_pd, _mm512_setzero_pd)
AG_SIMD_UKERNEL(ukernel_f32_avx2, AG_AVX2, float, __m256, 6, 8, 2,
                _mm256_loadu_ps, _mm256_storeu_ps, _mm256_set1_ps, _mm256_fmadd_ps,
                _mm256_mul_ps, _mm256_setzero_ps)
AG_SIMD_UKERNEL(ukernel_f64_avx2, AG_AVX2, double, __m256d, 6, 4, 2,
                _mm256_loadu_pd, _mm256_storeu_pd, _mm256_set1_pd, _mm256_fmadd_pd,
                _mm256_mul_pd, _mm256_setzero_pd)
#endif

/* The portable micro-kernel, 4×8, for either type. */
#define AG_PORTABLE_UKERNEL(NAME, T)                                                     \
    static void NAME(size_t k, const T *restrict a, const T *restrict b,                 \
                     T *restrict c, size_t ldc, size_t mr, size_t nr, T alpha, T beta) { \
        enum { MR = 4, NR = 8 };                                                         \
        T acc[MR * NR] = {0};                                                            \
        for (size_t p = 0; p < k; p++)                                                   \
            for (int r = 0; r < MR; r++)                                                 \
                for (int j = 0; j < NR; j++) acc[r * NR + j] += a[p * MR + r] * b[p * NR + j]; \
        AG_MERGE_TILE(T, acc, NR, c, ldc, mr, nr, alpha, beta)                           \
    }
AG_PORTABLE_UKERNEL(ukernel_f32_portable, float)
AG_PORTABLE_UKERNEL(ukernel_f64_portable, double)

#endif
