/* Matrix multiply: chooses our packed GEMM (gemm_packed.c) or OpenBLAS per
 * product and splits it across the thread pool. */
#include <cblas.h>
#include "../include/ag_gemm.h"
#include "ag_internal.h"
#include "gemm_packed.h"

#include "gemm_small_avx2.h"
#include "gemm_small_avx512.h"

/* Float32 products up to this many multiply-adds (and K within the stack
 * panel), with B not transposed, use the small-matrix kernel, which beats
 * OpenBLAS there: OpenBLAS's per-call setup outweighs the arithmetic. With B
 * transposed the kernel must gather B element by element and loses, so those
 * stay with OpenBLAS (measured with `autograd bench --filter gemm` and a C
 * loop timing both on 32³, 64³ and 128³). */
#define AG_SMALL_GEMM_MAX ((int64_t)80 * 80 * 80)

/* Whether AVX-512 runs at twice AVX2's FLOP per cycle here (not on Zen 4,
 * which splits each 512-bit operation in two). */
static int avx512_full_rate(void) {
    return ag_isa() >= AG_ISA_AVX512 && ag_fma_datapath_bits() >= 512;
}

/* Ours where it wins in `autograd bench` on the machines here: at
 * full-rate AVX-512 (Zen 5: 1.3–1.8× OpenBLAS's AVX2 kernels from 64³ up,
 * f32 and f64). Where AVX-512 runs at AVX2's rate (Zen 4), OpenBLAS's
 * Haswell kernels are ahead of our packed 8×32 one on large products
 * (1024³: 184 against 162 GFLOP/s on two threads, 94 against 82 on one;
 * f64 99 against 86), so only the small kernel stays ours there. At AVX2
 * OpenBLAS's kernels are a few percent ahead of our 6×16 one, and at the
 * portable level much further, so it takes those. */
ag_gemm_impl ag_gemm_choice(ag_dtype dt, int64_t m, int64_t n, int64_t k) {
    (void)dt; (void)m; (void)n; (void)k;
    return avx512_full_rate() ? AG_GEMM_OWN : AG_GEMM_BLAS;
}

/* Whether a product takes a small-matrix kernel: float32, alpha 1, beta 0.
 * At AVX2: B not transposed, K within the kernel's stack panel and at most
 * AG_SMALL_GEMM_MAX multiply-adds. At AVX-512 the kernel reads A in place and
 * B as 32-column strips that every row of A reuses, so it wins (90–97% of
 * the peak where the packed kernel reaches 80–85%) while B fits in L2 and,
 * unless it is gathered from a transposed B, the rows of B one K block
 * spans lie within half of L2; spread wider, the strip's rows miss the
 * TLB and the prefetcher and the packed kernel wins. Measured with a C loop
 * on both kernels, medians of 7 alternating runs (GFLOP/s, small vs packed):
 * 512³ 434 vs 410, 64×784·(784×256)ᵀ 323 vs 267, 256×784×64 with Aᵀ 460 vs
 * 370; 1024×1024×256 378 vs 432 (256 rows of B 4 KB apart), 256×1024×1024
 * 347 vs 410 (B of 4 MB). Where AVX-512 runs at half rate (Zen 4) the
 * kernel still beats OpenBLAS's AVX2 one while B fills at most a quarter of
 * L2 (`autograd bench --filter gemm`, AVX-512 against AUTOGRAD_ISA=avx2,
 * medians of 3: 256³ 198 vs 181 GFLOP/s, 128³ 171 vs 121, 64³ 117 vs 72)
 * and loses beyond (512³, B of half of L2: 165 vs 195). */
static int takes_small_kernel(ag_dtype dt, int trans_b, int64_t m, int64_t n, int64_t k, int64_t ldb,
                              double alpha, double beta) {
#if AG_X86
    if (dt != AG_F32 || alpha != 1 || beta != 0 || k <= 0) return 0;
    int isa = ag_isa();
    if (isa >= AG_ISA_AVX512) {
        size_t l2 = ag_gemm_l2_bytes();
        int64_t block_rows = k < AG_SMALL_GEMM_AVX512_KB ? k : AG_SMALL_GEMM_AVX512_KB;
        size_t b_limit = ag_fma_datapath_bits() >= 512 ? l2 : l2 / 4;
        return (size_t)(k * n) * sizeof(float) <= b_limit &&
               (trans_b || (size_t)(block_rows * ldb) * sizeof(float) <= l2 / 2);
    }
    return isa >= AG_ISA_AVX2 && !trans_b && k <= AG_SMALL_GEMM_MAX_K && m * n * k <= AG_SMALL_GEMM_MAX;
#else
    (void)dt; (void)trans_b; (void)m; (void)n; (void)k; (void)ldb; (void)alpha; (void)beta;
    return 0;
#endif
}

const char *ag_gemm_describe(ag_dtype dt, int64_t m, int64_t n, int64_t k) {
    if (takes_small_kernel(dt, 0, m, n, k, n, 1, 0))
        return ag_isa() >= AG_ISA_AVX512 ? "ours, small-matrix AVX-512 8x32" : "ours, small-matrix AVX2 6x16";
    if (ag_gemm_choice(dt, m, n, k) == AG_GEMM_OWN) return ag_gemm_packed_kernel_name(dt);
    return "OpenBLAS";
}

/* y[0..n) += x[0..n) in the type. */
static void add_row(ag_dtype dt, size_t n, void *y, const void *x) {
    if (dt == AG_F32) {
        float *yf = y;
        const float *xf = x;
        for (size_t j = 0; j < n; j++) yf[j] += xf[j];
    } else {
        double *yd = y;
        const double *xd = x;
        for (size_t j = 0; j < n; j++) yd[j] += xd[j];
    }
}

void ag_gemm_apply_epilogue(ag_dtype dt, size_t m, size_t n, void *c, size_t ldc,
                            const ag_gemm_epilogue *ep, size_t row0, size_t col) {
    int identity = ep->act == AG_AFFINE && ep->p0 == 1 && ep->p1 == 0;
    size_t es = ag_dtype_size(dt);
    for (size_t r = 0; r < m; r++) {
        char *row = (char *)c + r * ldc * es;
        if (ep->bias) add_row(dt, n, row, (const char *)ep->bias + col * es);
        if (ep->residual)
            add_row(dt, n, row, (const char *)ep->residual + ((row0 + r) * (size_t)ep->ldr + col) * es);
        /* One row is below every threading grain: ag_unary stays on this thread. */
        if (!identity) ag_unary(ep->act, dt, n, row, row, ep->p0, ep->p1);
    }
}

/* One single-threaded call: the small kernel, ours or OpenBLAS; then the
 * epilogue, if any (ours applies it strip by strip inside). */
static void gemm_serial(ag_gemm_impl impl, ag_dtype dt, int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                        double alpha, const void *a, int64_t lda, const void *b, int64_t ldb,
                        double beta, void *c, int64_t ldc, const ag_gemm_epilogue *ep) {
    if (m == 0 || n == 0) return;
#if AG_X86
    if (impl == AG_GEMM_AUTO && takes_small_kernel(dt, trans_b, m, n, k, ldb, alpha, beta)) {
        if (ag_isa() >= AG_ISA_AVX512) {
            /* The epilogue goes into the kernel's stores when it can apply the activation there. */
            int in_store = ep && ag_sgemm_store_has(ep->act);
            ag_sgemm_small_avx512(trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc, in_store ? ep : NULL);
            if (in_store) return;
        } else {
            ag_sgemm_small(trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc);
        }
        if (ep) ag_gemm_apply_epilogue(dt, (size_t)m, (size_t)n, c, (size_t)ldc, ep, 0, 0);
        return;
    }
#endif
    if (impl == AG_GEMM_AUTO) impl = ag_gemm_choice(dt, m, n, k);
    if (impl == AG_GEMM_OWN &&
        ag_gemm_packed(dt, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, ep))
        return;
    enum CBLAS_TRANSPOSE ta = trans_a ? CblasTrans : CblasNoTrans;
    enum CBLAS_TRANSPOSE tb = trans_b ? CblasTrans : CblasNoTrans;
    if (dt == AG_F32)
        cblas_sgemm(CblasRowMajor, ta, tb, (blasint)m, (blasint)n, (blasint)k, (float)alpha,
                    a, (blasint)lda, b, (blasint)ldb, (float)beta, c, (blasint)ldc);
    else
        cblas_dgemm(CblasRowMajor, ta, tb, (blasint)m, (blasint)n, (blasint)k, alpha,
                    a, (blasint)lda, b, (blasint)ldb, beta, c, (blasint)ldc);
    if (ep) ag_gemm_apply_epilogue(dt, (size_t)m, (size_t)n, c, (size_t)ldc, ep, 0, 0);
}

/* Products smaller than this many multiply-adds run on one thread: below it,
 * waking a second thread costs more than it saves (measured with
 * `autograd bench --filter gemm`: 96³ with OpenBLAS's slabs at AVX2; our
 * packed kernel at AVX-512 gains from 64³, 1.16× → 1.45–1.7× cblas there). */
#define AG_GEMM_PARALLEL_MIN ((int64_t)96 * 96 * 96)
#define AG_GEMM_PARALLEL_MIN_OWN ((int64_t)64 * 64 * 64)
static int64_t parallel_min(ag_dtype dt, int64_t m, int64_t n, int64_t k) {
    int ours = ag_gemm_choice(dt, m, n, k) == AG_GEMM_OWN ||
               (ag_isa() >= AG_ISA_AVX512 && takes_small_kernel(dt, 0, m, n, k, n, 1, 0));
    return ours ? AG_GEMM_PARALLEL_MIN_OWN : AG_GEMM_PARALLEL_MIN;
}

typedef struct {
    ag_gemm_impl impl;
    ag_dtype dt;
    int trans_a, trans_b, split_rows;
    int64_t m, n, k, lda, ldb, ldc;
    double alpha, beta;
    const char *a, *b;
    char *c;
    size_t slabs;
    const ag_gemm_epilogue *ep;
} gemm_job;

/* Slabs [begin, end) of C: row slabs (of op(A)) or column slabs (of op(B)). */
static void gemm_slabs(void *ctx, size_t begin, size_t end) {
    const gemm_job *j = ctx;
    size_t es = ag_dtype_size(j->dt);
    int64_t total = j->split_rows ? j->m : j->n;
    int64_t lo = (int64_t)begin * total / (int64_t)j->slabs, hi = (int64_t)end * total / (int64_t)j->slabs;
    if (lo >= hi) return;
    if (j->split_rows) {
        /* Rows lo..hi of op(A): row r starts at r*lda, or at column r when transposed. */
        const char *a = j->a + (size_t)(j->trans_a ? lo : lo * j->lda) * es;
        /* This slab's rows start at row lo of the residual. */
        ag_gemm_epilogue shifted;
        if (j->ep) {
            shifted = *j->ep;
            if (shifted.residual) shifted.residual = (const char *)shifted.residual + (size_t)(lo * shifted.ldr) * es;
        }
        gemm_serial(j->impl, j->dt, j->trans_a, j->trans_b, hi - lo, j->n, j->k, j->alpha, a, j->lda, j->b, j->ldb,
                    j->beta, j->c + (size_t)(lo * j->ldc) * es, j->ldc, j->ep ? &shifted : NULL);
    } else {
        const char *b = j->b + (size_t)(j->trans_b ? lo * j->ldb : lo) * es;
        /* This slab's columns start at column lo of the bias and residual. */
        ag_gemm_epilogue shifted;
        if (j->ep) {
            shifted = *j->ep;
            if (shifted.bias) shifted.bias = (const char *)shifted.bias + (size_t)lo * es;
            if (shifted.residual) shifted.residual = (const char *)shifted.residual + (size_t)lo * es;
        }
        gemm_serial(j->impl, j->dt, j->trans_a, j->trans_b, j->m, hi - lo, j->k, j->alpha, j->a, j->lda, b, j->ldb,
                    j->beta, j->c + (size_t)lo * es, j->ldc, j->ep ? &shifted : NULL);
    }
}

/* The threaded driver every entry point shares. */
static void gemm_threaded(ag_gemm_impl impl, ag_dtype dt, int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                          double alpha, const void *a, int64_t lda, const void *b, int64_t ldb,
                          double beta, void *c, int64_t ldc, const ag_gemm_epilogue *ep) {
    size_t threads = (size_t)ag_num_threads();
    if (threads < 2 || m * n * k < parallel_min(dt, m, n, k) || (m < 16 && n < 16)) {
        gemm_serial(impl, dt, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, ep);
        return;
    }
    gemm_job job = {impl, dt, trans_a, trans_b, m >= n, m, n, k, lda, ldb, ldc, alpha, beta, a, b, c, threads, ep};
    ag_parallel_for(threads, 1, gemm_slabs, &job);
}

void ag_gemm_with(ag_gemm_impl impl, ag_dtype dt, int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                  double alpha, const void *a, int64_t lda, const void *b, int64_t ldb,
                  double beta, void *c, int64_t ldc) {
    gemm_threaded(impl, dt, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, NULL);
}

void ag_gemm_fused(ag_dtype dt, int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                   const void *a, int64_t lda, const void *b, int64_t ldb, void *c, int64_t ldc,
                   const ag_gemm_epilogue *epilogue) {
    gemm_threaded(AG_GEMM_AUTO, dt, trans_a, trans_b, m, n, k, 1, a, lda, b, ldb, 0, c, ldc, epilogue);
}

void ag_gemm(ag_dtype dt, int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
             double alpha, const void *a, int64_t lda, const void *b, int64_t ldb,
             double beta, void *c, int64_t ldc) {
    ag_gemm_with(AG_GEMM_AUTO, dt, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

typedef struct {
    ag_dtype dt;
    int trans_a, trans_b;
    int64_t m, n, k, lda, ldb, ldc, stride_a, stride_b, stride_c;
    double alpha, beta;
    const char *a, *b;
    char *c;
} batch_job;

/* Products [begin, end) of a batch, each on this thread. */
static void batch_range(void *ctx, size_t begin, size_t end) {
    const batch_job *j = ctx;
    size_t es = ag_dtype_size(j->dt);
    for (size_t i = begin; i < end; i++)
        gemm_serial(AG_GEMM_AUTO, j->dt, j->trans_a, j->trans_b, j->m, j->n, j->k, j->alpha,
                    j->a + (size_t)((int64_t)i * j->stride_a) * es, j->lda,
                    j->b + (size_t)((int64_t)i * j->stride_b) * es, j->ldb, j->beta,
                    j->c + (size_t)((int64_t)i * j->stride_c) * es, j->ldc, NULL);
}

/* Products too small to split each over the pool are spread over it whole,
 * at least AG_GEMM_PARALLEL_MIN multiply-adds per thread; larger ones are
 * split one after the other. Distinct outputs only (stride_c ≠ 0). */
void ag_gemm_batched(ag_dtype dt, int64_t batch, int trans_a, int trans_b,
                     int64_t m, int64_t n, int64_t k, double alpha,
                     const void *a, int64_t lda, int64_t stride_a,
                     const void *b, int64_t ldb, int64_t stride_b,
                     double beta, void *c, int64_t ldc, int64_t stride_c) {
    int64_t work = m * n * (k > 0 ? k : 1);
    int64_t split = parallel_min(dt, m, n, k);
    if (batch > 1 && stride_c != 0 && work > 0 && work < split && ag_num_threads() > 1) {
        batch_job job = {dt, trans_a, trans_b, m, n, k, lda, ldb, ldc, stride_a, stride_b, stride_c,
                         alpha, beta, a, b, c};
        ag_parallel_for((size_t)batch, (size_t)(split / work + 1), batch_range, &job);
        return;
    }
    size_t es = ag_dtype_size(dt);
    for (int64_t i = 0; i < batch; i++)
        ag_gemm(dt, trans_a, trans_b, m, n, k, alpha,
                (const char *)a + (size_t)(i * stride_a) * es, lda,
                (const char *)b + (size_t)(i * stride_b) * es, ldb, beta,
                (char *)c + (size_t)(i * stride_c) * es, ldc);
}

typedef struct {
    ag_dtype dt;
    size_t cols;
    char *y;
    ag_gemm_epilogue ep;
} epilogue_job;

/* Rows [begin, end): the bias row, then the activation, one row at a time
 * so the row is still in cache for the second pass. */
static void epilogue_rows(void *ctx, size_t begin, size_t end) {
    const epilogue_job *j = ctx;
    ag_gemm_apply_epilogue(j->dt, end - begin, j->cols, j->y + begin * j->cols * ag_dtype_size(j->dt), j->cols,
                           &j->ep, begin, 0);
}

void ag_bias_activation(ag_dtype dt, size_t rows, size_t cols, void *y, const void *bias,
                        ag_unary_op act, double p0, double p1) {
    epilogue_job job = {dt, cols, y, {bias, act, p0, p1, NULL, 0}};
    size_t grain = cols ? AG_GRAIN_COSTLY / cols + 1 : rows;
    ag_parallel_for(rows, grain, epilogue_rows, &job);
}
