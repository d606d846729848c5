/*
 * GEMM of our own, in the BLIS/GotoBLAS structure, for one thread (gemm.c
 * splits a product across the pool and chooses between this and OpenBLAS):
 *
 *   for pc over K in blocks of KC:          beta applies to the first block only
 *     for jc over N in blocks of NC:        pack B[pc, jc] (KC×NC, in L2) as NR-column slivers
 *       for ir over M in steps of MR:       pack A[ir, pc] (MR×KC, in L1) as one sliver
 *         for jr over NC in steps of NR:    micro-kernel on an MR×NR tile of C
 *
 * KC keeps an A sliver in a quarter of L1 and NC a B block in half of L2,
 * from the cache sizes the system reports (sysconf), with fallbacks. The
 * packing buffer is per thread, allocated on its first product and grown
 * when a larger one needs it (never per call).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "gemm_packed.h"
#include "gemm_ukernels.h"

typedef void (*ukernel_f32_fn)(size_t, const float *, const float *, float *, size_t, size_t, size_t, float, float);
typedef void (*ukernel_f64_fn)(size_t, const double *, const double *, double *, size_t, size_t, size_t, double, double);

typedef struct {
    size_t mr, nr, kc, nc;
    ukernel_f32_fn f32;
    ukernel_f64_fn f64;
    const char *name;
} ukernel;

static size_t cache_bytes(int name, size_t fallback) {
    long v = sysconf(name);
    return v > 0 ? (size_t)v : fallback;
}

/* L1 and L2 data cache sizes, read once with the table below. */
static size_t l1, l2;

/* KC and NC for a micro-kernel, from the L1 and L2 sizes. */
static void set_blocking(ukernel *u, size_t es) {
    size_t kc = l1 / (4 * u->mr * es) / 8 * 8;
    if (kc < 64) kc = 64;
    if (kc > 1024) kc = 1024;
    size_t nc = l2 / (2 * kc * es) / u->nr * u->nr;
    if (nc < u->nr) nc = u->nr;
    if (nc > 4096) nc = 4096;
    u->kc = kc;
    u->nc = nc;
}

/* The micro-kernels by type and level, with their blocking, filled once. */
static ukernel table[2][3];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void fill_table(void) {
    l1 = cache_bytes(_SC_LEVEL1_DCACHE_SIZE, 32 << 10);
    l2 = cache_bytes(_SC_LEVEL2_CACHE_SIZE, 512 << 10);
    table[0][0] = (ukernel){4, 8, 0, 0, ukernel_f32_portable, NULL, "ours, portable 4x8"};
    table[1][0] = (ukernel){4, 8, 0, 0, NULL, ukernel_f64_portable, "ours, portable 4x8"};
#if AG_X86
    table[0][1] = (ukernel){6, 16, 0, 0, ukernel_f32_avx2, NULL, "ours, AVX2 6x16"};
    table[0][2] = (ukernel){8, 32, 0, 0, ukernel_f32_avx512, NULL, "ours, AVX-512 8x32"};
    table[1][1] = (ukernel){6, 8, 0, 0, NULL, ukernel_f64_avx2, "ours, AVX2 6x8"};
    table[1][2] = (ukernel){8, 16, 0, 0, NULL, ukernel_f64_avx512, "ours, AVX-512 8x16"};
#else
    table[0][1] = table[0][2] = table[0][0];
    table[1][1] = table[1][2] = table[1][0];
#endif
    for (int d = 0; d < 2; d++)
        for (int i = 0; i < 3; i++) set_blocking(&table[d][i], d == 0 ? 4 : 8);
}

/* The micro-kernel for a type at a level. */
static const ukernel *pick(ag_dtype dt, int isa) {
    pthread_once(&table_once, fill_table);
    return &table[dt == AG_F64][isa < 0 ? 0 : (isa > 2 ? 2 : isa)];
}

const char *ag_gemm_packed_kernel_name(ag_dtype dt) { return pick(dt, ag_isa())->name; }

size_t ag_gemm_l2_bytes(void) {
    pthread_once(&table_once, fill_table);
    return l2;
}

/* The packing buffers are per thread and freed when their thread exits:
 * a pthread key's destructor gets the thread's buffer. */
static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
static void make_scratch_key(void) { pthread_key_create(&scratch_key, free); }

/* This thread's packing buffer, at least `bytes` long, or NULL. */
static void *scratch(size_t bytes) {
    static _Thread_local void *buffer = NULL;
    static _Thread_local size_t capacity = 0;
    if (bytes > capacity) {
        pthread_once(&scratch_once, make_scratch_key);
        free(buffer);
        size_t rounded = (bytes + 63) & ~(size_t)63;
        buffer = aligned_alloc(64, rounded);
        capacity = buffer ? rounded : 0;
        pthread_setspecific(scratch_key, buffer);
    }
    return buffer;
}

/* Packing and the loop nest, for one element type. A(i, p) and B(p, j) are
 * the elements of op(A) and op(B). */
#define AG_PACKED_GEMM(T, SUFFIX, FIELD)                                                        \
    static void pack_a_##SUFFIX(T *restrict dst, const T *a, size_t lda, int ta, size_t i0,     \
                                size_t mr, size_t p0, size_t kc, size_t MR) {                   \
        /* Each loop reads memory in order: rows of A, or of Aᵀ when transposed. */           \
        if (ta) {                                                                               \
            for (size_t p = 0; p < kc; p++) {                                                   \
                const T *src = a + (p0 + p) * lda + i0;                                         \
                for (size_t r = 0; r < mr; r++) dst[p * MR + r] = src[r];                       \
                for (size_t r = mr; r < MR; r++) dst[p * MR + r] = 0;                           \
            }                                                                                   \
            return;                                                                             \
        }                                                                                       \
        for (size_t r = 0; r < mr; r++) {                                                       \
            const T *row = a + (i0 + r) * lda + p0;                                             \
            for (size_t p = 0; p < kc; p++) dst[p * MR + r] = row[p];                           \
        }                                                                                       \
        for (size_t r = mr; r < MR; r++)                                                        \
            for (size_t p = 0; p < kc; p++) dst[p * MR + r] = 0;                                \
    }                                                                                           \
    static void pack_b_##SUFFIX(T *restrict dst, const T *b, size_t ldb, int tb, size_t p0,     \
                                size_t kc, size_t j0, size_t nc, size_t NR) {                   \
        for (size_t s = 0; s < nc; s += NR) {                                                   \
            size_t w = nc - s < NR ? nc - s : NR;                                               \
            T *sliver = dst + (s / NR) * kc * NR;                                               \
            if (tb) {                                                                           \
                /* Column j of op(B) is row j of B: read each in order. */                      \
                for (size_t j = 0; j < w; j++) {                                                \
                    const T *src = b + (j0 + s + j) * ldb + p0;                                 \
                    for (size_t p = 0; p < kc; p++) sliver[p * NR + j] = src[p];                \
                }                                                                               \
                for (size_t j = w; j < NR; j++)                                                 \
                    for (size_t p = 0; p < kc; p++) sliver[p * NR + j] = 0;                     \
                continue;                                                                       \
            }                                                                                   \
            for (size_t p = 0; p < kc; p++) {                                                   \
                T *d = sliver + p * NR;                                                         \
                memcpy(d, b + (p0 + p) * ldb + j0 + s, w * sizeof(T));                          \
                for (size_t j = w; j < NR; j++) d[j] = 0;                                       \
            }                                                                                   \
        }                                                                                       \
    }                                                                                           \
    static int gemm_##SUFFIX(const ukernel *u, int ta, int tb, size_t m, size_t n, size_t k,    \
                             T alpha, const T *a, size_t lda, const T *b, size_t ldb, T beta,   \
                             T *c, size_t ldc, const ag_gemm_epilogue *ep) {                    \
        size_t MR = u->mr, NR = u->nr;                                                          \
        size_t ncap = (u->nc < n ? u->nc : (n + NR - 1) / NR * NR);                             \
        size_t kcap = u->kc < k ? u->kc : k;                                                    \
        T *bpack = scratch((kcap * ncap + MR * kcap) * sizeof(T));                              \
        if (!bpack) return 0;                                                                   \
        T *apack = bpack + kcap * ncap;                                                         \
        for (size_t pc = 0; pc < k; pc += u->kc) {                                              \
            size_t kc = k - pc < u->kc ? k - pc : u->kc;                                        \
            T beta_p = pc == 0 ? beta : (T)1;                                                   \
            for (size_t jc = 0; jc < n; jc += u->nc) {                                          \
                size_t nc = n - jc < u->nc ? n - jc : u->nc;                                    \
                pack_b_##SUFFIX(bpack, b, ldb, tb, pc, kc, jc, nc, NR);                         \
                for (size_t ir = 0; ir < m; ir += MR) {                                         \
                    size_t mr = m - ir < MR ? m - ir : MR;                                      \
                    pack_a_##SUFFIX(apack, a, lda, ta, ir, mr, pc, kc, MR);                     \
                    for (size_t jr = 0; jr < nc; jr += NR) {                                    \
                        size_t nr = nc - jr < NR ? nc - jr : NR;                                \
                        u->FIELD(kc, apack, bpack + (jr / NR) * kc * NR,                        \
                                 c + ir * ldc + jc + jr, ldc, mr, nr, alpha, beta_p);           \
                    }                                                                           \
                    /* The strip is final after the last K block: its epilogue, while hot. */  \
                    if (ep && pc + kc == k)                                                     \
                        ag_gemm_apply_epilogue(AG_DT, mr, nc, c + ir * ldc + jc, ldc, ep, ir, jc); \
                }                                                                               \
            }                                                                                   \
        }                                                                                       \
        return 1;                                                                               \
    }

#define AG_DT AG_F32
AG_PACKED_GEMM(float, f32, f32)
#undef AG_DT
#define AG_DT AG_F64
AG_PACKED_GEMM(double, f64, f64)
#undef AG_DT

/* C = beta · C, for an empty inner dimension (beta == 0 writes zeros). */
static void scale_c(ag_dtype dt, size_t m, size_t n, double beta, void *c, size_t ldc) {
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            if (dt == AG_F32) {
                float *x = (float *)c + i * ldc + j;
                *x = beta == 0 ? 0 : (float)beta * *x;
            } else {
                double *x = (double *)c + i * ldc + j;
                *x = beta == 0 ? 0 : beta * *x;
            }
        }
}

int ag_gemm_packed(ag_dtype dt, int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                   double alpha, const void *a, int64_t lda, const void *b, int64_t ldb,
                   double beta, void *c, int64_t ldc, const ag_gemm_epilogue *ep) {
    if (m <= 0 || n <= 0) return 1;
    if (k <= 0) {
        scale_c(dt, (size_t)m, (size_t)n, beta, c, (size_t)ldc);
        if (ep) ag_gemm_apply_epilogue(dt, (size_t)m, (size_t)n, c, (size_t)ldc, ep, 0, 0);
        return 1;
    }
    const ukernel *u = pick(dt, ag_isa());
    if (dt == AG_F32)
        return gemm_f32(u, trans_a, trans_b, (size_t)m, (size_t)n, (size_t)k, (float)alpha, a, (size_t)lda,
                        b, (size_t)ldb, (float)beta, c, (size_t)ldc, ep);
    return gemm_f64(u, trans_a, trans_b, (size_t)m, (size_t)n, (size_t)k, alpha, a, (size_t)lda,
                    b, (size_t)ldb, beta, c, (size_t)ldc, ep);
}
