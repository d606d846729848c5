/* Direct 2-D convolution, float32: no column matrix. Four kernels.
 *
 * The row kernel, for few input channels per group: each step holds KB
 * output channels × one vector of output columns in registers and, for
 * every input channel and kernel tap, loads the input row segment once
 * and multiplies it into all KB accumulators with each channel's weight
 * broadcast (oneDNN's direct convolution, on NCHW). Taps that reach into
 * the padding load under a lane mask. AVX2 and AVX-512.
 *
 * The padded kernel, for stride 1 with many input and 32·m output
 * channels per group (AVX-512): vectors over output channels, on images
 * copied into zero-padded planes (see below). Backward-data of such a
 * convolution is one too (conv.c).
 *
 * The plane kernel, for other "same"-size outputs (AVX-512): the same register
 * blocking with vectors over the flattened plane (see below). Backward-data
 * of such a convolution is one too (conv.c).
 *
 * The channel kernel, for any stride with few input channels and 16·m
 * output channels per group (AVX-512): vectors over output channels, in
 * the forward pass and backward-weight (the latter for the plane kernel's
 * convolutions with 16·m output channels too). Other cases take im2col. */
#include <string.h>
#include "conv_direct.h"

#if AG_X86
#include <immintrin.h>

/* Lanes [lo, hi) of a vector of `width` set. */
#define LANES(lo, hi) ((hi) > (lo) ? ((1u << (hi)) - 1) & ~((1u << (lo)) - 1) : 0u)

/* Output row i of output channels [k0, k0 + KB) (one group's) of image
 * b, JV vectors of sixteen output columns at a time: KB·JV accumulators,
 * so that enough independent FMAs are in flight even for one channel
 * (depthwise). `mask[v · vectors + q]` is the lane mask of kernel column
 * v's load for the q-th vector of output columns (lanes reading inside the
 * row), the same for every row, channel and image. */
#define DIRECT_ROW_AVX512(KB, JV)                                                                               \
    AG_AVX512 static void direct_row_avx512_##KB##_##JV(const ag_conv2d_desc *d, const float *x,               \
                                                        const float *w, float *y, int64_t b, int64_t k0,       \
                                                        int64_t i, const __mmask16 *mask, int64_t vectors) {   \
        const int64_t cg = d->c / d->groups, kg = d->k / d->groups, g = k0 / kg;                             \
        const int64_t rs = d->r * d->s, crs = cg * rs;                                                       \
        for (int64_t q0 = 0; q0 < vectors; q0 += JV) {                                                        \
            const int64_t jb = 16 * q0;                                                                       \
            __m512 acc[KB][JV];                                                                               \
            for (int kk = 0; kk < KB; kk++)                                                                   \
                for (int jv = 0; jv < JV; jv++) acc[kk][jv] = _mm512_setzero_ps();                           \
            for (int64_t ci = 0; ci < cg; ci++) {                                                            \
                const float *plane = x + ((b * d->c + g * cg + ci) * d->h) * d->w;                            \
                for (int64_t u = 0; u < d->r; u++) {                                                          \
                    int64_t ih = i - d->pad_h + u * d->dil_h;                                                 \
                    if (ih < 0 || ih >= d->h) continue;                                                      \
                    uintptr_t row = (uintptr_t)(plane + ih * d->w);                                           \
                    const float *wt = w + (k0 * crs) + ci * rs + u * d->s;                                    \
                    for (int64_t v = 0; v < d->s; v++) {                                                      \
                        /* Masked-off lanes are not read: the address may lie outside the row. */             \
                        uintptr_t at = row + (uintptr_t)((jb - d->pad_w + v * d->dil_w) * 4);                 \
                        __m512 xv[JV];                                                                        \
                        for (int jv = 0; jv < JV; jv++)                                                       \
                            xv[jv] = q0 + jv < vectors                                                        \
                                ? _mm512_maskz_loadu_ps(mask[v * vectors + q0 + jv], (const float *)(at + 64 * jv)) \
                                : _mm512_setzero_ps();                                                        \
                        for (int kk = 0; kk < KB; kk++) {                                                     \
                            __m512 wv = _mm512_set1_ps(wt[kk * crs + v]);                                     \
                            for (int jv = 0; jv < JV; jv++) acc[kk][jv] = _mm512_fmadd_ps(xv[jv], wv, acc[kk][jv]); \
                        }                                                                                     \
                    }                                                                                         \
                }                                                                                             \
            }                                                                                                 \
            for (int jv = 0; jv < JV && q0 + jv < vectors; jv++) {                                            \
                int64_t j = jb + 16 * jv, live = d->ow - j < 16 ? d->ow - j : 16;                             \
                for (int kk = 0; kk < KB; kk++)                                                               \
                    _mm512_mask_storeu_ps(y + ((b * d->k + k0 + kk) * d->oh + i) * d->ow + j,                 \
                                          (__mmask16)LANES(0, live), acc[kk][jv]);                            \
            }                                                                                                 \
        }                                                                                                     \
    }

DIRECT_ROW_AVX512(1, 1)
DIRECT_ROW_AVX512(1, 2)
DIRECT_ROW_AVX512(1, 4)
DIRECT_ROW_AVX512(2, 1)
DIRECT_ROW_AVX512(2, 2)
DIRECT_ROW_AVX512(2, 4)
DIRECT_ROW_AVX512(4, 1)
DIRECT_ROW_AVX512(4, 2)
DIRECT_ROW_AVX512(4, 4)
DIRECT_ROW_AVX512(8, 1)
DIRECT_ROW_AVX512(8, 2)

typedef void (*direct_row_avx512_fn)(const ag_conv2d_desc *, const float *, const float *, float *, int64_t, int64_t,
                                     int64_t, const __mmask16 *, int64_t);

/* The variant for KB channels and a row of `vectors` vectors: as many
 * vectors at once as the row has, up to what the registers hold. */
static direct_row_avx512_fn direct_row_avx512(int kb, int64_t vectors) {
    int jv = vectors >= 4 ? 4 : vectors >= 2 ? 2 : 1;
    switch (kb) {
    case 8: return jv >= 2 ? direct_row_avx512_8_2 : direct_row_avx512_8_1;
    case 4: return jv == 4 ? direct_row_avx512_4_4 : jv == 2 ? direct_row_avx512_4_2 : direct_row_avx512_4_1;
    case 2: return jv == 4 ? direct_row_avx512_2_4 : jv == 2 ? direct_row_avx512_2_2 : direct_row_avx512_2_1;
    default: return jv == 4 ? direct_row_avx512_1_4 : jv == 2 ? direct_row_avx512_1_2 : direct_row_avx512_1_1;
    }
}

/* The widest block of at most 8 channels that fits in what is left of a group. */
static int block_width(int64_t left) { return left >= 8 ? 8 : left >= 4 ? 4 : left >= 2 ? 2 : 1; }

/* ---- The plane kernel: "same"-size convolutions, vectors across rows ----
 *
 * When stride is 1 and the output has the input's size, output pixel p of
 * a plane reads, for tap (u, v), input pixel p + (u·dil_h − pad_h)·w +
 * (v·dil_w − pad_w) of the same flattened plane: sixteen consecutive
 * output pixels read sixteen consecutive inputs, even across a row's end.
 * So the vectors run over the flattened plane, every lane busy whatever
 * the row width (a 56-wide row wastes an eighth of a row kernel's lanes),
 * and the lanes whose tap falls in the padding (off the row's ends, above
 * the first or below the last row) load under a mask. The masks depend
 * only on the pixel and tap, so a work item (one image's block of
 * PLANE_BLOCK vectors) computes them once for every group and
 * output channel. */

#define PLANE_BLOCK 24   /* vectors per work item: a multiple of every JV below */
#define PLANEW_MAX_TAPS 12  /* the weight gradient's widest tap block */

/* KB output channels × JV vectors of the plane from vector q on, of
 * image b and group g, output channels k0.. of the group. `mask[t ·
 * PLANE_BLOCK + jv]` is tap t's load mask for vector q + jv, `off[t]` its
 * offset in the flattened plane; `live` vectors (≤ JV) are stored. */
#define PLANE_AVX512(KB, JV)                                                                                   \
    AG_AVX512 static void plane_avx512_##KB##_##JV(const ag_conv2d_desc *d, const float *x, const float *w,   \
                                                   float *y, int64_t b, int64_t g, int64_t k0, int64_t q,     \
                                                   const __mmask16 *mask, const int64_t *off, int64_t live) { \
        const int64_t cg = d->c / d->groups, kg = d->k / d->groups, rs = d->r * d->s, crs = cg * rs;         \
        const int64_t hw = d->h * d->w;                                                                      \
        __m512 acc[KB][JV];                                                                                   \
        for (int kk = 0; kk < KB; kk++)                                                                       \
            for (int jv = 0; jv < JV; jv++) acc[kk][jv] = _mm512_setzero_ps();                               \
        const float *wk = w + (g * kg + k0) * crs;                                                            \
        /* Addresses as integers: a tap's offset may point before the plane (its lanes are masked). */        \
        uintptr_t plane = (uintptr_t)(x + (b * d->c + g * cg) * hw) + (uintptr_t)(16 * q * 4);                \
        /* One loop over (input channel, tap), so that the accumulators stay in registers. */                 \
        for (int64_t i = 0, t = 0; i < crs; i++) {                                                            \
            uintptr_t at = plane + (uintptr_t)(off[t] * 4);                                                   \
            __m512 xv[JV];                                                                                    \
            for (int jv = 0; jv < JV; jv++)                                                                   \
                xv[jv] = _mm512_maskz_loadu_ps(mask[t * PLANE_BLOCK + jv], (const float *)(at + 64 * jv));     \
            for (int kk = 0; kk < KB; kk++) {                                                                 \
                __m512 wv = _mm512_set1_ps(wk[kk * crs + i]);                                                 \
                for (int jv = 0; jv < JV; jv++) acc[kk][jv] = _mm512_fmadd_ps(xv[jv], wv, acc[kk][jv]);       \
            }                                                                                                 \
            if (++t == rs) {                                                                                  \
                t = 0;                                                                                        \
                plane += (uintptr_t)(hw * 4);                                                                 \
            }                                                                                                 \
        }                                                                                                     \
        const int64_t pixels = d->oh * d->ow;                                                                 \
        for (int jv = 0; jv < JV && jv < live; jv++) {                                                        \
            int64_t p = 16 * (q + jv), n = pixels - p < 16 ? pixels - p : 16;                                 \
            for (int kk = 0; kk < KB; kk++)                                                                   \
                _mm512_mask_storeu_ps(y + (b * d->k + g * kg + k0 + kk) * pixels + p, (__mmask16)LANES(0, n), \
                                      acc[kk][jv]);                                                           \
        }                                                                                                     \
    }

/* Eight channels by three vectors when the group has them, six by four
 * for six or seven left (one pass over the input, not two); narrower
 * blocks take more vectors so that at least eight FMAs are independent. */
PLANE_AVX512(8, 3)
PLANE_AVX512(6, 4)
PLANE_AVX512(4, 6)
PLANE_AVX512(2, 8)
PLANE_AVX512(1, 8)

typedef struct {
    const ag_conv2d_desc *d;
    const float *x, *w;
    float *y;
    int64_t vectors, blocks;  /* of the flattened plane; work items per image */
    int64_t off[AG_CONV_PLANE_MAX_TAPS + PLANEW_MAX_TAPS];  /* 0 past the kernel's taps */
} plane_job;

static plane_job plane_job_for(const ag_conv2d_desc *d, const float *x, const float *w, float *y) {
    plane_job j = {.d = d, .x = x, .w = w, .y = y};
    j.vectors = (d->oh * d->ow + 15) / 16;
    j.blocks = (j.vectors + PLANE_BLOCK - 1) / PLANE_BLOCK;
    for (int64_t u = 0; u < d->r; u++)
        for (int64_t v = 0; v < d->s; v++) j.off[u * d->s + v] = (u * d->dil_h - d->pad_h) * d->w + (v * d->dil_w - d->pad_w);
    return j;
}

/* The end of the work item's block of vectors from q0. */
static int64_t plane_block_end(const plane_job *j, int64_t q0) {
    return q0 + PLANE_BLOCK < j->vectors ? q0 + PLANE_BLOCK : j->vectors;
}

/* Tap t's mask for each of `count` vectors from q0, at mask[t · stride +
 * jv]: lanes whose output pixel exists and whose tap lands inside the input. */
static void plane_masks(const plane_job *j, int64_t q0, int64_t count, int64_t stride, __mmask16 *mask) {
    const ag_conv2d_desc *d = j->d;
    int64_t rs = d->r * d->s, pixels = d->oh * d->ow;
    for (int64_t t = 0; t < rs; t++) memset(mask + t * stride, 0, sizeof(__mmask16) * (size_t)count);
    for (int64_t jv = 0; jv < count; jv++)
        for (int l = 0; l < 16; l++) {
            int64_t p = 16 * (q0 + jv) + l;
            if (p >= pixels) return;
            int64_t i = p / d->ow, jcol = p % d->ow;
            for (int64_t u = 0; u < d->r; u++) {
                int64_t ih = i - d->pad_h + u * d->dil_h;
                if (ih < 0 || ih >= d->h) continue;
                for (int64_t v = 0; v < d->s; v++) {
                    int64_t iw = jcol - d->pad_w + v * d->dil_w;
                    if (iw >= 0 && iw < d->w) mask[(u * d->s + v) * stride + jv] |= (__mmask16)(1u << l);
                }
            }
        }
}

static void plane_items(void *ctx, size_t begin, size_t end) {
    const plane_job *j = ctx;
    const ag_conv2d_desc *d = j->d;
    int64_t kg = d->k / d->groups;
    __mmask16 mask[AG_CONV_PLANE_MAX_TAPS * PLANE_BLOCK];
    int64_t masked = -1;  /* the block whose masks `mask` holds */
    for (size_t item = begin; item < end; item++) {
        int64_t b = (int64_t)item / j->blocks, q0 = ((int64_t)item % j->blocks) * PLANE_BLOCK;
        int64_t q1 = plane_block_end(j, q0);
        /* The same for every image: a plane of one block computes them once. */
        if (q0 != masked) plane_masks(j, q0, PLANE_BLOCK, PLANE_BLOCK, mask);
        masked = q0;
        for (int64_t g = 0; g < d->groups; g++)
            for (int64_t k = 0; k < kg;) {
                int kb = kg - k == 6 || kg - k == 7 ? 6 : block_width(kg - k);
                int jv = kb == 8 ? 3 : kb == 6 ? 4 : kb == 4 ? 6 : 8;
                for (int64_t q = q0; q < q1; q += jv) {
                    const __mmask16 *m = mask + (q - q0);
                    switch (kb) {
                    case 8: plane_avx512_8_3(d, j->x, j->w, j->y, b, g, k, q, m, j->off, q1 - q); break;
                    case 6: plane_avx512_6_4(d, j->x, j->w, j->y, b, g, k, q, m, j->off, q1 - q); break;
                    case 4: plane_avx512_4_6(d, j->x, j->w, j->y, b, g, k, q, m, j->off, q1 - q); break;
                    case 2: plane_avx512_2_8(d, j->x, j->w, j->y, b, g, k, q, m, j->off, q1 - q); break;
                    default: plane_avx512_1_8(d, j->x, j->w, j->y, b, g, k, q, m, j->off, q1 - q); break;
                    }
                }
                k += kb;
            }
    }
}

/* ---- The plane kernel's weight gradient, for few output channels ----
 *
 * dw[o, ci, t] = Σ_images Σ_p dy[o, p] · x[ci, p + off(t)] (masked as in
 * the forward pass) for "same"-size convolutions with few output channels
 * per group, where im2col's product is thin (depthwise, a network's first
 * layer): each step runs a block of the plane's vectors for KB output
 * channels × TB taps of one input channel, loading each dy vector once
 * for TB taps and each input vector once for KB channels. The vector
 * accumulators stay vectors in the slot's partial ([o][ci][t][16]) across
 * images; the lanes and slots are summed once at the end, in a fixed
 * order. The masks are computed once per call, for the whole plane. */

typedef struct {
    plane_job plane;
    const float *dy;
    float *ws;
    size_t slot_elems;
    int slots;
    const __mmask16 *mask;  /* tap t's mask of vector q at [t · vectors + q]; none past the last tap */
    float *dw;
} planew_job;

/* part[(kk · cg · rs + t) · 16 + lane] += Σ_q dy(o + kk, q) · x(q, t0 + t) for
 * kk < KB, t < TB and t0 + t < rs (part at channel o, tap t0). */
#define PLANEW_AVX512(KB, TB)                                                                                  \
    AG_AVX512 static void planew_avx512_##KB##_##TB(const planew_job *j, int64_t b, int64_t g, int64_t ci,     \
                                                    int64_t o, int64_t q0, int64_t q1, int64_t t0,             \
                                                    float *part) {                                             \
        const ag_conv2d_desc *d = j->plane.d;                                                                   \
        const int64_t cg = d->c / d->groups, kg = d->k / d->groups, rs = d->r * d->s, pixels = d->oh * d->ow; \
        const int64_t stride = cg * rs * 16;  /* from one output channel's partial to the next */              \
        __m512 acc[KB][TB];                                                                                     \
        _Pragma("unroll") for (int kk = 0; kk < KB; kk++)                                                      \
            _Pragma("unroll") for (int t = 0; t < TB; t++)                                                     \
                acc[kk][t] = t0 + t < rs ? _mm512_loadu_ps(part + kk * stride + 16 * t) : _mm512_setzero_ps(); \
        uintptr_t xp = (uintptr_t)(j->plane.x + (b * d->c + g * cg + ci) * d->h * d->w);                      \
        const float *dyp = j->dy + (b * d->k + g * kg + o) * pixels;                                           \
        for (int64_t q = q0; q < q1; q++) {                                                                     \
            int64_t left = pixels - 16 * q;                                                                     \
            __mmask16 live = (__mmask16)(left >= 16 ? 0xFFFF : (1u << left) - 1);                              \
            __m512 dv[KB];                                                                                      \
            _Pragma("unroll") for (int kk = 0; kk < KB; kk++)                                                  \
                dv[kk] = _mm512_maskz_loadu_ps(live, dyp + kk * pixels + 16 * q);                               \
            /* Taps past the kernel's have offset 0 and empty masks: they add zeros, without a branch. */    \
            _Pragma("unroll") for (int t = 0; t < TB; t++) {                                                   \
                /* Addresses as integers: a tap's offset may point before the plane (its lanes are masked). */ \
                uintptr_t at = xp + (uintptr_t)((16 * q + j->plane.off[t0 + t]) * 4);                          \
                __m512 xv = _mm512_maskz_loadu_ps(j->mask[(t0 + t) * j->plane.vectors + q], (const float *)at); \
                _Pragma("unroll") for (int kk = 0; kk < KB; kk++) acc[kk][t] = _mm512_fmadd_ps(dv[kk], xv, acc[kk][t]); \
            }                                                                                                   \
        }                                                                                                       \
        _Pragma("unroll") for (int kk = 0; kk < KB; kk++)                                                      \
            _Pragma("unroll") for (int t = 0; t < TB; t++)                                                     \
                if (t0 + t < rs) _mm512_storeu_ps(part + kk * stride + 16 * t, acc[kk][t]);                    \
    }

/* At most 24 accumulators: 6 channels × 4 taps, 4 × 6, 2 × 12, 1 × 9. */
PLANEW_AVX512(6, 4)
PLANEW_AVX512(4, 6)
PLANEW_AVX512(2, 12)
PLANEW_AVX512(1, 9)

typedef void (*planew_fn)(const planew_job *, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                          float *);

/* The step for what is left of a group's output channels: its width and taps. */
static planew_fn planew_step(int64_t left, int *kb, int *tb) {
    if (left >= 6) return *kb = 6, *tb = 4, planew_avx512_6_4;
    if (left >= 4) return *kb = 4, *tb = 6, planew_avx512_4_6;
    if (left >= 2) return *kb = 2, *tb = 12, planew_avx512_2_12;
    return *kb = 1, *tb = 9, planew_avx512_1_9;
}

static void planew_slots(void *ctx, size_t begin, size_t end) {
    const planew_job *j = ctx;
    const ag_conv2d_desc *d = j->plane.d;
    const int64_t cg = d->c / d->groups, kg = d->k / d->groups, rs = d->r * d->s;
    for (size_t slot = begin; slot < end; slot++) {
        float *part = j->ws + slot * j->slot_elems;
        memset(part, 0, sizeof(float) * j->slot_elems);
        int64_t lo = (int64_t)slot * d->n / j->slots, hi = (int64_t)(slot + 1) * d->n / j->slots;
        /* Image by image: a block's next visit finds it still in L2. */
        for (int64_t b = lo; b < hi; b++)
            for (int64_t blk = 0; blk < j->plane.blocks; blk++) {
                int64_t q0 = blk * PLANE_BLOCK, q1 = plane_block_end(&j->plane, q0);
                for (int64_t g = 0; g < d->groups; g++)
                    for (int64_t o = 0; o < kg;) {
                        int kb, tb;
                        planew_fn step = planew_step(kg - o, &kb, &tb);
                        for (int64_t ci = 0; ci < cg; ci++)
                            for (int64_t t0 = 0; t0 < rs; t0 += tb)
                                step(j, b, g, ci, o, q0, q1, t0, part + (((g * kg + o) * cg + ci) * rs + t0) * 16);
                        o += kb;
                    }
            }
    }
}

/* dw[e] = Σ_slots Σ_lanes partial[e, lane], in order. */
static void planew_sum(void *ctx, size_t begin, size_t end) {
    const planew_job *j = ctx;
    for (size_t e = begin; e < end; e++) {
        float acc = 0;
        for (int s = 0; s < j->slots; s++) {
            const float *v = j->ws + (size_t)s * j->slot_elems + e * 16;
            for (int lane = 0; lane < 16; lane++) acc += v[lane];
        }
        j->dw[e] = acc;
    }
}

/* r[i] ← column i of the 16×16 block whose rows are r[0..15]. */
AG_AVX512 static inline __attribute__((always_inline)) void transpose16_avx512(__m512 *r) {
    __m512 t[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        __m512d a = _mm512_castps_pd(t[i]), b = _mm512_castps_pd(t[i + 1]);
        __m512d c = _mm512_castps_pd(t[i + 2]), e = _mm512_castps_pd(t[i + 3]);
        r[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
        r[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
        r[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, e));
        r[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, e));
    }
    for (int i = 0; i < 4; i++) {
        t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88);
        t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xdd);
        t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88);
        t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xdd);
    }
    for (int i = 0; i < 4; i++) {
        r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
        r[i + 4] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0x88);
        r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xdd);
        r[i + 12] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0xdd);
    }
}

/* The accumulators of a block of pixels, v[p] the 16 channels of pixel p
 * < pb, into the NCHW output: channel l's first np pixels at out + l ·
 * pixels, 16 pixels at a time turned in registers. */
AG_AVX512 static inline __attribute__((always_inline)) void store_pixels_avx512(const __m512 *v, int pb, int64_t np,
                                                                               float *out, int64_t pixels) {
    for (int p0 = 0; p0 < pb && p0 < np; p0 += 16) {
        __m512 r[16];
        for (int i = 0; i < 16; i++) r[i] = p0 + i < pb ? v[p0 + i] : _mm512_setzero_ps();
        transpose16_avx512(r);
        int64_t n = np - p0 < 16 ? np - p0 : 16;
        for (int l = 0; l < 16; l++) _mm512_mask_storeu_ps(out + l * pixels + p0, (__mmask16)LANES(0, n), r[l]);
    }
}

/* ---- Staging for the channel and padded kernels ----
 *
 * Both read weights as [group][ci][tap][channel]; the padded kernel reads
 * images copied into zero-padded planes (ag_conv2d_stage_planes), so that
 * no read needs a lane mask. */

typedef struct {
    const ag_conv2d_desc *d;
    const float *w;
    float *wt;
    int turned_over;
} turn_job;

/* Rows [begin, end) of (group, input channel) of the weights as
 * [group][ci][tap][channel]: from w [K][C/groups][R][S], or for a
 * backward-data pass from the forward layer's weights, whose channel axes
 * are swapped and whose taps run backwards. */
static void turn_rows(void *ctx, size_t begin, size_t end) {
    const turn_job *j = ctx;
    const ag_conv2d_desc *d = j->d;
    int64_t cg = d->c / d->groups, kg = d->k / d->groups, rs = d->r * d->s;
    for (size_t row = begin; row < end; row++) {
        int64_t g = (int64_t)row / cg, ci = (int64_t)row % cg;
        float *dst = j->wt + (int64_t)row * rs * kg;
        for (int64_t t = 0; t < rs; t++)
            for (int64_t o = 0; o < kg; o++)
                dst[t * kg + o] = j->turned_over ? j->w[((g * cg + ci) * kg + o) * rs + rs - 1 - t]
                                                 : j->w[((g * kg + o) * cg + ci) * rs + t];
    }
}

/* The padded plane's size: every row and column a tap of an output pixel reads. */
static void padded_size(const ag_conv2d_desc *d, int64_t *hp, int64_t *wp) {
    *hp = (d->oh - 1) * d->stride_h + (d->r - 1) * d->dil_h + 1;
    *wp = (d->ow - 1) * d->stride_w + (d->s - 1) * d->dil_w + 1;
}

/* Images per run: their padded planes fit the conv scratch. */
static int64_t padded_images(const ag_conv2d_desc *d) {
    int64_t hp, wp;
    padded_size(d, &hp, &wp);
    return ag_conv2d_images_per_run(d->c * hp * wp, d->n);
}

/* Scratch for a run of padded images. */
static size_t padded_image_elems(const ag_conv2d_desc *d) {
    int64_t hp, wp;
    padded_size(d, &hp, &wp);
    return (size_t)(padded_images(d) * d->c * hp * wp);
}

/* The weights as [group][ci][tap][channel] in `wt`, turned over for a backward-data pass. */
static void turn_weights(const ag_conv2d_desc *d, const float *w, float *wt, int turned_over) {
    int64_t rows = d->c, per_row = d->r * d->s * (d->k / d->groups);
    turn_job turn = {d, w, wt, turned_over};
    ag_parallel_for((size_t)rows, AG_GRAIN_CHEAP / (size_t)per_row + 1, turn_rows, &turn);
}

/* ---- The channel kernel: vectors over output channels ----
 *
 * For any stride and few input channels per group (a network's first
 * layers, where im2col's product is thin): sixteen output channels of one
 * pixel fill a vector, and each input value a pixel reads is broadcast
 * into the FMAs of all its channel vectors (oneDNN's blocked direct
 * convolution, with the blocked layout only in registers). The weights are
 * turned to [group][ci][tap][channel] in the workspace, so a tap's channel
 * vectors load whole. A block is PB pixels of the flattened output plane
 * (rows may change inside it); `px->base[p]` is pixel p's input offset for
 * tap (0, 0) and `taps.at[t]` tap t's offset from it. Blocks whose taps all
 * land inside the input read without checks; the others (touching the
 * padding) test each read. Pixels past `np` repeat the first and are not stored.
 * The accumulators hold [pixel][channel]; they are turned into the NCHW
 * output in registers (store_pixels_avx512). */

#define CHAN_PIXELS 24     /* the largest PB below */
#define CHANW_PIXELS 1024  /* the most pixels per block of turned dy (backward-weight) */

/* A block of output pixels: each one's input row, column and offset for
 * tap (0, 0), and whether all its taps land inside the input. */
typedef struct {
    int64_t base[CHANW_PIXELS];
    int32_t ih[CHANW_PIXELS], iw[CHANW_PIXELS];
    uint8_t inside[CHANW_PIXELS];
} chan_pixels;

/* Pixels [p0, p0 + np) of the output plane, entries up to `fill` repeating
 * the first; whether every tap of every one lands inside the input. */
static int chan_pixels_at(const ag_conv2d_desc *d, int64_t p0, int64_t np, int64_t fill, chan_pixels *px) {
    int all = 1;
    int64_t i = p0 / d->ow, jc = p0 % d->ow;  /* pixel p's row and column, carried */
    for (int64_t p = 0; p < np; p++) {
        int64_t ih = i * d->stride_h - d->pad_h, iw = jc * d->stride_w - d->pad_w;
        px->base[p] = ih * d->w + iw;
        px->ih[p] = (int32_t)ih;
        px->iw[p] = (int32_t)iw;
        px->inside[p] = ih >= 0 && ih + (d->r - 1) * d->dil_h < d->h && iw >= 0 && iw + (d->s - 1) * d->dil_w < d->w;
        all &= px->inside[p];
        if (++jc == d->ow) {
            jc = 0;
            i++;
        }
    }
    for (int64_t p = np; p < fill; p++) {
        px->base[p] = px->base[0];
        px->ih[p] = px->ih[0];
        px->iw[p] = px->iw[0];
        px->inside[p] = px->inside[0];
    }
    return all;
}

/* Each tap's offset from tap (0, 0) in the input plane, and in rows and columns. */
typedef struct {
    int64_t at[AG_CONV_CHAN_MAX_TAPS], h[AG_CONV_CHAN_MAX_TAPS], w[AG_CONV_CHAN_MAX_TAPS];
} chan_taps;

static void chan_taps_init(const ag_conv2d_desc *d, chan_taps *taps) {
    for (int64_t t = 0; t < d->r * d->s; t++) {
        taps->h[t] = (t / d->s) * d->dil_h;
        taps->w[t] = (t % d->s) * d->dil_w;
        taps->at[t] = taps->h[t] * d->w + taps->w[t];
    }
}

typedef struct {
    const ag_conv2d_desc *d;
    const float *x, *wt;
    float *y;
    chan_taps taps;
    int kv;                 /* channel vectors per step: 4, 2 or 1 */
    int narrow;             /* whether blocks are five sixths as wide */
    int64_t pb, blocks;     /* pixels per block and blocks per plane */
} chan_job;

#define CHAN_AVX512(KV, PB, CHECKED)                                                                            \
    AG_AVX512 static void chan_avx512_##KV##_##PB##_##CHECKED(const chan_job *j, int64_t b, int64_t g,         \
                                                              int64_t k0, int64_t p0, int64_t np,              \
                                                              const chan_pixels *px) {                         \
        const ag_conv2d_desc *d = j->d;                                                                         \
        const int64_t cg = d->c / d->groups, kg = d->k / d->groups, rs = d->r * d->s, hw = d->h * d->w;        \
        __m512 acc[KV][PB];                                                                                     \
        for (int kv = 0; kv < KV; kv++)                                                                         \
            for (int p = 0; p < PB; p++) acc[kv][p] = _mm512_setzero_ps();                                     \
        const float *plane = j->x + (b * d->c + g * cg) * hw;                                                   \
        const float *wc = j->wt + g * cg * rs * kg + k0;                                                        \
        /* One loop over (input channel, tap), so that the accumulators stay in registers. */                   \
        for (int64_t i = 0, t = 0; i < cg * rs; i++) {                                                          \
            __m512 wv[KV];                                                                                      \
            for (int kv = 0; kv < KV; kv++) wv[kv] = _mm512_loadu_ps(wc + i * kg + 16 * kv);                   \
            const int64_t off = j->taps.at[t];                                                                  \
            _Pragma("unroll") for (int p = 0; p < PB; p++) {                                                   \
                __m512 xv;                                                                                      \
                if (CHECKED) {                                                                                  \
                    int64_t ih = px->ih[p] + j->taps.h[t], iw = px->iw[p] + j->taps.w[t];                       \
                    xv = ih >= 0 && ih < d->h && iw >= 0 && iw < d->w ? _mm512_set1_ps(plane[ih * d->w + iw])  \
                                                                      : _mm512_setzero_ps();                    \
                } else {                                                                                        \
                    xv = _mm512_set1_ps(plane[px->base[p] + off]);                                              \
                }                                                                                               \
                _Pragma("unroll") for (int kv = 0; kv < KV; kv++) acc[kv][p] = _mm512_fmadd_ps(wv[kv], xv, acc[kv][p]); \
            }                                                                                                   \
            if (++t == rs) {                                                                                    \
                t = 0;                                                                                          \
                plane += hw;                                                                                    \
            }                                                                                                   \
        }                                                                                                       \
        const int64_t pixels = d->oh * d->ow;                                                                   \
        for (int kv = 0; kv < KV; kv++)                                                                         \
            store_pixels_avx512(acc[kv], PB, np, j->y + (b * d->k + g * kg + k0 + 16 * kv) * pixels + p0, pixels); \
    }


/* Four vectors of channels by six pixels, two by twelve, one by 24: 24
 * accumulators; or five sixths of those pixels, where blocks of them
 * waste fewer on the plane's end (LeNet's 10×10 plane: 5 × 20 pixels). */
CHAN_AVX512(4, 6, 0)
CHAN_AVX512(4, 6, 1)
CHAN_AVX512(4, 5, 0)
CHAN_AVX512(4, 5, 1)
CHAN_AVX512(2, 12, 0)
CHAN_AVX512(2, 12, 1)
CHAN_AVX512(2, 10, 0)
CHAN_AVX512(2, 10, 1)
CHAN_AVX512(1, 24, 0)
CHAN_AVX512(1, 24, 1)
CHAN_AVX512(1, 20, 0)
CHAN_AVX512(1, 20, 1)

typedef void (*chan_fn)(const chan_job *, int64_t, int64_t, int64_t, int64_t, int64_t, const chan_pixels *);

/* Channel vectors per step for kg output channels per group (a multiple of 16). */
static int chan_vectors(int64_t kg) { return kg % 64 == 0 ? 4 : kg % 32 == 0 ? 2 : 1; }

/* [channel vectors 4, 2, 1][the wider or narrower block][taps all inside, or checked] */
static const chan_fn chan_kernels[3][2][2] = {
    {{chan_avx512_4_6_0, chan_avx512_4_6_1}, {chan_avx512_4_5_0, chan_avx512_4_5_1}},
    {{chan_avx512_2_12_0, chan_avx512_2_12_1}, {chan_avx512_2_10_0, chan_avx512_2_10_1}},
    {{chan_avx512_1_24_0, chan_avx512_1_24_1}, {chan_avx512_1_20_0, chan_avx512_1_20_1}},
};

/* The block of pixels for kv channel vectors on a plane of `pixels`: the
 * wider unless the narrower computes fewer pixels past the plane's end. */
static void chan_block(int kv, int64_t pixels, int64_t *pb, int *narrow) {
    int64_t wide = 24 / kv, slim = 20 / kv;
    int64_t wide_all = (pixels + wide - 1) / wide * wide, slim_all = (pixels + slim - 1) / slim * slim;
    *narrow = slim_all * 20 < wide_all * 19;  /* saves at least a twentieth */
    *pb = *narrow ? slim : wide;
}

/* Work items [begin, end): (image, group, channel block, pixel block), pixel blocks innermost. */
static void chan_items(void *ctx, size_t begin, size_t end) {
    const chan_job *j = ctx;
    const ag_conv2d_desc *d = j->d;
    int64_t kg = d->k / d->groups, kblocks = kg / (16 * j->kv), pixels = d->oh * d->ow;
    const chan_fn *fns = chan_kernels[j->kv == 4 ? 0 : j->kv == 2 ? 1 : 2][j->narrow];
    for (size_t item = begin; item < end; item++) {
        int64_t pb = (int64_t)item % j->blocks, rest = (int64_t)item / j->blocks;
        int64_t kb = rest % kblocks, bg = rest / kblocks, g = bg % d->groups, b = bg / d->groups;
        int64_t p0 = pb * j->pb, np = pixels - p0 < j->pb ? pixels - p0 : j->pb;
        chan_pixels px;
        int inside = chan_pixels_at(d, p0, np, j->pb, &px);
        fns[!inside](j, b, g, kb * 16 * j->kv, p0, np, &px);
    }
}

/* y = conv(x, w) on the channel kernel, `wt` the turned weights. (Staging
 * padded images first, as the weight gradient does, costs the forward pass
 * more than its checked blocks: alex1 2-5% slower.) */
static void chan_forward(const ag_conv2d_desc *d, const float *x, const float *wt, float *y) {
    int64_t cg = d->c / d->groups, kg = d->k / d->groups, rs = d->r * d->s;
    chan_job job = {.d = d, .x = x, .wt = wt, .y = y};
    job.kv = chan_vectors(kg);
    chan_block(job.kv, d->oh * d->ow, &job.pb, &job.narrow);
    job.blocks = (d->oh * d->ow + job.pb - 1) / job.pb;
    chan_taps_init(d, &job.taps);
    size_t items = (size_t)(d->n * d->groups * (kg / (16 * job.kv)) * job.blocks);
    size_t per_item = (size_t)(16 * job.kv * job.pb * cg * rs) + 1;
    ag_parallel_for(items, AG_GRAIN_COSTLY * 16 / per_item + 1, chan_items, &job);
}

/* ---- The channel kernel's backward-weight ----
 *
 * dw[o, ci, t] = Σ_images Σ_pixels dy[o, p] · x[ci, base(p) + tap(t)], with
 * sixteen output channels to a vector as in the forward kernel: a block
 * of dy is turned to [pixel][channel], and each step keeps KV channel
 * vectors × TB taps of one input channel in registers while it runs over
 * the block's pixels, broadcasting the input values. Each thread sums its
 * images into its own partial gradient ([group][ci][tap][channel]); the
 * partials are added in slot order, so a thread count gives the same bits
 * on every run. */

typedef struct {
    const ag_conv2d_desc *d;
    const float *x, *dy;
    float *ws;
    size_t slot_elems;     /* a slot's partial, its turned dy block, then its staged image */
    int64_t pixels;        /* per block of dy (chanw_pixels) */
    int slots, kv;
    chan_taps taps;
    float *dw;
    const ag_conv2d_desc *given;  /* with padding, the convolution given; `d` then reads staged images */
} chanw_job;

/* part[t · kg + 16 kv + lane] += Σ_p dyt[p · kg + 16 kv + lane] · x(p, t0 + t) for t < TB. */
#define CHANW_AVX512(KV, TB)                                                                                   \
    AG_AVX512 static void chanw_avx512_##KV##_##TB(const chanw_job *j, const float *plane, const float *dyt,   \
                                                   int64_t kg, const chan_pixels *px, int64_t np, int64_t t0,  \
                                                   float *part) {                                               \
        const ag_conv2d_desc *d = j->d;                                                                         \
        __m512 acc[KV][TB];                                                                                     \
        _Pragma("unroll") for (int t = 0; t < TB; t++)                                                         \
            _Pragma("unroll") for (int kv = 0; kv < KV; kv++) acc[kv][t] = _mm512_loadu_ps(part + t * kg + 16 * kv); \
        for (int64_t p = 0; p < np; p++) {                                                                      \
            __m512 dv[KV];                                                                                      \
            _Pragma("unroll") for (int kv = 0; kv < KV; kv++) dv[kv] = _mm512_loadu_ps(dyt + p * kg + 16 * kv); \
            if (px->inside[p]) {                                                                                \
                const float *at = plane + px->base[p];                                                          \
                _Pragma("unroll") for (int t = 0; t < TB; t++) {                                               \
                    __m512 xv = _mm512_set1_ps(at[j->taps.at[t0 + t]]);                                         \
                    _Pragma("unroll") for (int kv = 0; kv < KV; kv++) acc[kv][t] = _mm512_fmadd_ps(dv[kv], xv, acc[kv][t]); \
                }                                                                                               \
            } else {                                                                                            \
                /* Unrolled too: indexing the accumulators at run time would keep them in memory. */           \
                _Pragma("unroll") for (int t = 0; t < TB; t++) {                                               \
                    int64_t ih = px->ih[p] + j->taps.h[t0 + t], iw = px->iw[p] + j->taps.w[t0 + t];             \
                    __m512 xv = ih >= 0 && ih < d->h && iw >= 0 && iw < d->w ? _mm512_set1_ps(plane[ih * d->w + iw]) \
                                                                             : _mm512_setzero_ps();             \
                    _Pragma("unroll") for (int kv = 0; kv < KV; kv++) acc[kv][t] = _mm512_fmadd_ps(dv[kv], xv, acc[kv][t]); \
                }                                                                                               \
            }                                                                                                   \
        }                                                                                                       \
        _Pragma("unroll") for (int t = 0; t < TB; t++)                                                         \
            _Pragma("unroll") for (int kv = 0; kv < KV; kv++) _mm512_storeu_ps(part + t * kg + 16 * kv, acc[kv][t]); \
    }

/* Up to 24 accumulators; narrower tap blocks for what is left of the
 * taps (3×3 kernels take 6 + 3 or one block of 9). */
CHANW_AVX512(4, 6)
CHANW_AVX512(4, 3)
CHANW_AVX512(4, 1)
CHANW_AVX512(2, 12)
CHANW_AVX512(2, 9)
CHANW_AVX512(2, 3)
CHANW_AVX512(2, 1)
CHANW_AVX512(1, 12)
CHANW_AVX512(1, 9)
CHANW_AVX512(1, 3)
CHANW_AVX512(1, 1)

typedef void (*chanw_fn)(const chanw_job *, const float *, const float *, int64_t, const chan_pixels *, int64_t,
                         int64_t, float *);

/* Each channel-vector count's tap blocks, widest first, down to one tap. */
typedef struct {
    int taps;
    chanw_fn fn;
} chanw_block;

static const chanw_block chanw_blocks[3][4] = {
    {{6, chanw_avx512_4_6}, {3, chanw_avx512_4_3}, {1, chanw_avx512_4_1}},
    {{12, chanw_avx512_2_12}, {9, chanw_avx512_2_9}, {3, chanw_avx512_2_3}, {1, chanw_avx512_2_1}},
    {{12, chanw_avx512_1_12}, {9, chanw_avx512_1_9}, {3, chanw_avx512_1_3}, {1, chanw_avx512_1_1}},
};

/* dst[p · kg + o] = src[o · stride + p] for p < np, o < kg (a multiple of
 * 16): dy's block turned to [pixel][channel], 16 × 16 at a time. */
AG_AVX512 static void chanw_turn_avx512(const float *src, int64_t stride, int64_t kg, int64_t np, float *dst) {
    for (int64_t p = 0; p < np; p += 16) {
        int64_t n = np - p < 16 ? np - p : 16;
        __mmask16 live = (__mmask16)((1u << n) - 1);
        for (int64_t o = 0; o < kg; o += 16) {
            __m512 r[16];
            for (int i = 0; i < 16; i++) r[i] = _mm512_maskz_loadu_ps(live, src + (o + i) * stride + p);
            transpose16_avx512(r);
            for (int64_t i = 0; i < n; i++) _mm512_storeu_ps(dst + (p + i) * kg + o, r[i]);
        }
    }
}

/* Slots [begin, end): each sums its share of the images into its partial. */
static void chanw_slots(void *ctx, size_t begin, size_t end) {
    const chanw_job *j = ctx;
    const ag_conv2d_desc *d = j->d;
    const int64_t cg = d->c / d->groups, kg = d->k / d->groups, rs = d->r * d->s, hw = d->h * d->w;
    const int64_t pixels = d->oh * d->ow;
    const chanw_block *blocks = chanw_blocks[j->kv == 4 ? 0 : j->kv == 2 ? 1 : 2];
    chan_pixels px;
    for (size_t slot = begin; slot < end; slot++) {
        float *part = j->ws + slot * j->slot_elems, *dyt = part + d->k * cg * rs;
        memset(part, 0, sizeof(float) * (size_t)(d->k * cg * rs));
        int64_t lo = (int64_t)slot * d->n / j->slots, hi = (int64_t)(slot + 1) * d->n / j->slots;
        for (int64_t b = lo; b < hi; b++) {
            const float *xb = j->x + b * d->c * j->given->h * j->given->w;
            if (j->given != d) {
                /* The image in zero-padded planes, so that every pixel reads without checks. */
                float *staged = dyt + j->pixels * kg;
                const ag_conv2d_desc *e = j->given;
                ag_conv2d_stage_job stage = {xb, staged, e->h, e->w, e->pad_h, e->pad_w, d->h, d->w};
                ag_conv2d_stage_planes(&stage, 0, (size_t)d->c);
                xb = staged;
            }
            for (int64_t g = 0; g < d->groups; g++)
                for (int64_t p0 = 0; p0 < pixels; p0 += j->pixels) {
                    int64_t np = pixels - p0 < j->pixels ? pixels - p0 : j->pixels;
                    /* dy's block, turned to [pixel][channel]. */
                    chanw_turn_avx512(j->dy + (b * d->k + g * kg) * pixels + p0, pixels, kg, np, dyt);
                    chan_pixels_at(d, p0, np, np, &px);
                    for (int64_t ci = 0; ci < cg; ci++) {
                        const float *plane = xb + (g * cg + ci) * hw;
                        float *pc = part + ((g * cg + ci) * rs) * kg;
                        for (int64_t o = 0; o < kg; o += 16 * j->kv)
                            for (int64_t t = 0, tb = 0; t < rs; t += blocks[tb].taps) {
                                while (t + blocks[tb].taps > rs) tb++;
                                blocks[tb].fn(j, plane, dyt + o, kg, &px, np, t, pc + t * kg + o);
                            }
                    }
                }
        }
    }
}

/* dw[g·kg + o, ci, t] = Σ_slots partial[g, ci, t, o], slots in order. */
static void chanw_sum(void *ctx, size_t begin, size_t end) {
    const chanw_job *j = ctx;
    const ag_conv2d_desc *d = j->d;
    int64_t cg = d->c / d->groups, kg = d->k / d->groups, rs = d->r * d->s;
    for (size_t e = begin; e < end; e++) {
        int64_t t = (int64_t)e % rs, ci = (int64_t)e / rs % cg, oo = (int64_t)e / (rs * cg);
        int64_t g = oo / kg, o = oo % kg;
        size_t at = (size_t)(((g * cg + ci) * rs + t) * kg + o);
        float acc = j->ws[at];
        for (int s = 1; s < j->slots; s++) acc += j->ws[(size_t)s * j->slot_elems + at];
        j->dw[e] = acc;
    }
}

/* The same on eight lanes, with masks as vectors (16 registers: KB·JV ≤ 8). */
#define DIRECT_ROW_AVX2(KB, JV)                                                                                 \
    AG_AVX2 static void direct_row_avx2_##KB(const ag_conv2d_desc *d, const float *x, const float *w, float *y, \
                                             int64_t b, int64_t k0, int64_t i) {                               \
        const int64_t cg = d->c / d->groups, kg = d->k / d->groups, g = k0 / kg;                             \
        const int64_t rs = d->r * d->s, crs = cg * rs;                                                       \
        const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);                                       \
        for (int64_t jb = 0; jb < d->ow; jb += 8 * JV) {                                                      \
            __m256i mask[AG_CONV_DIRECT_MAX_TAPS][JV];                                                        \
            for (int64_t v = 0; v < d->s; v++)                                                                \
                for (int jv = 0; jv < JV; jv++) {                                                             \
                    int64_t j = jb + 8 * jv, live = d->ow - j < 8 ? d->ow - j : 8;                            \
                    int64_t iw = j - d->pad_w + v * d->dil_w;                                                 \
                    int64_t lo, hi;                                                                           \
                    ag_range_inside(iw, live, 1, d->w, &lo, &hi);                                             \
                    mask[v][jv] = _mm256_and_si256(_mm256_cmpgt_epi32(_mm256_set1_epi32((int)hi), lane),     \
                                                   _mm256_cmpgt_epi32(lane, _mm256_set1_epi32((int)lo - 1))); \
                }                                                                                             \
            __m256 acc[KB][JV];                                                                               \
            for (int kk = 0; kk < KB; kk++)                                                                   \
                for (int jv = 0; jv < JV; jv++) acc[kk][jv] = _mm256_setzero_ps();                           \
            for (int64_t ci = 0; ci < cg; ci++) {                                                            \
                const float *plane = x + ((b * d->c + g * cg + ci) * d->h) * d->w;                            \
                for (int64_t u = 0; u < d->r; u++) {                                                          \
                    int64_t ih = i - d->pad_h + u * d->dil_h;                                                 \
                    if (ih < 0 || ih >= d->h) continue;                                                      \
                    uintptr_t row = (uintptr_t)(plane + ih * d->w);                                           \
                    const float *wt = w + (k0 * crs) + ci * rs + u * d->s;                                    \
                    for (int64_t v = 0; v < d->s; v++) {                                                      \
                        uintptr_t at = row + (uintptr_t)((jb - d->pad_w + v * d->dil_w) * 4);                 \
                        __m256 xv[JV];                                                                        \
                        for (int jv = 0; jv < JV; jv++)                                                       \
                            xv[jv] = _mm256_maskload_ps((const float *)(at + 32 * jv), mask[v][jv]);         \
                        for (int kk = 0; kk < KB; kk++) {                                                     \
                            __m256 wv = _mm256_set1_ps(wt[kk * crs + v]);                                     \
                            for (int jv = 0; jv < JV; jv++) acc[kk][jv] = _mm256_fmadd_ps(xv[jv], wv, acc[kk][jv]); \
                        }                                                                                     \
                    }                                                                                         \
                }                                                                                             \
            }                                                                                                 \
            for (int jv = 0; jv < JV; jv++) {                                                                 \
                int64_t j = jb + 8 * jv, live = d->ow - j < 8 ? d->ow - j : 8;                                \
                if (live <= 0) break;                                                                         \
                __m256i out = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)live), lane);                        \
                for (int kk = 0; kk < KB; kk++)                                                               \
                    _mm256_maskstore_ps(y + ((b * d->k + k0 + kk) * d->oh + i) * d->ow + j, out, acc[kk][jv]); \
            }                                                                                                 \
        }                                                                                                     \
    }

DIRECT_ROW_AVX2(1, 4)
DIRECT_ROW_AVX2(2, 4)
DIRECT_ROW_AVX2(4, 2)
DIRECT_ROW_AVX2(8, 1)

typedef void (*direct_row_fn)(const ag_conv2d_desc *, const float *, const float *, float *, int64_t, int64_t,
                              int64_t);

typedef struct {
    const ag_conv2d_desc *d;
    const float *x, *w;
    float *y;
    int64_t blocks;   /* channel blocks per group */
    int avx512;
} direct_job;

/* Work items [begin, end): (image, group, channel block, output row), rows innermost. */
static void direct_items(void *ctx, size_t begin, size_t end) {
    const direct_job *j = ctx;
    const ag_conv2d_desc *d = j->d;
    int64_t kg = d->k / d->groups;
    /* The AVX-512 rows' lane masks, once for the whole range. */
    int64_t vectors = (d->ow + 15) / 16;
    __mmask16 mask[AG_CONV_DIRECT_MAX_TAPS * AG_CONV_DIRECT_MAX_VECTORS];
    if (j->avx512)
        for (int64_t v = 0; v < d->s; v++)
            for (int64_t q = 0; q < vectors; q++) {
                int64_t jcol = 16 * q, live = d->ow - jcol < 16 ? d->ow - jcol : 16;
                int64_t iw = jcol - d->pad_w + v * d->dil_w;
                int64_t lo, hi;  /* the lanes reading inside the row */
                ag_range_inside(iw, live, 1, d->w, &lo, &hi);
                mask[v * vectors + q] = (__mmask16)LANES(lo, hi);
            }
    /* The first item's coordinates, then each next one by carrying. */
    int64_t i = (int64_t)begin % d->oh, rest = (int64_t)begin / d->oh;
    int64_t blk = rest % j->blocks, bg = rest / j->blocks;
    for (size_t item = begin; item < end; item++) {
        int64_t g = bg % d->groups, b = bg / d->groups;
        /* Blocks of 8 first, then the rest of the group in narrower ones. */
        int64_t k = blk * 8, stop = k + 8 < kg ? k + 8 : kg;
        while (k < stop) {
            int kb = block_width(stop - k);
            if (j->avx512) {
                direct_row_avx512(kb, vectors)(d, j->x, j->w, j->y, b, g * kg + k, i, mask, vectors);
            } else {
                direct_row_fn fn = kb == 8 ? direct_row_avx2_8 : kb == 4 ? direct_row_avx2_4
                                 : kb == 2 ? direct_row_avx2_2 : direct_row_avx2_1;
                fn(d, j->x, j->w, j->y, b, g * kg + k, i);
            }
            k += kb;
        }
        if (++i == d->oh) {
            i = 0;
            if (++blk == j->blocks) {
                blk = 0;
                bg++;
            }
        }
    }
}

/* ---- The padded kernel: output channels in vectors, over zero-padded rows ----
 *
 * For stride-1 convolutions with many input and 32·m output channels per
 * group (the middle of a network, and the backward-data of such layers):
 * two vectors of sixteen output channels × up to PADDED_PIXELS pixels of
 * one output row in registers, each input value broadcast into both
 * channel vectors (oneDNN's blocked direct convolution). The images are
 * first copied into zero-padded planes in the workspace, so a tap's
 * pixels are consecutive floats at one offset from the row's start, with
 * no per-lane masks (whose mask-register loads cost a tenth of the plane
 * kernel's time on AMD Zen 4) and no lanes past a row's end. A row is
 * split into segments of near-equal width (27 = 14 + 13), each a kernel
 * of its exact width, so no pixel is computed twice. */

#define PADDED_PIXELS 14  /* the widest segment: 28 accumulators, 2 weight vectors, 1 broadcast */

typedef struct {
    const ag_conv2d_desc *d;
    const float *xp, *wt;   /* padded planes of the run's images; weights [group][ci][tap][channel] */
    float *y;               /* the run's first output image */
    int64_t hp, wp;         /* padded plane's rows and columns */
    int64_t segs, seg;      /* segments per row and the widest one's width */
    int64_t at[AG_CONV_CHAN_MAX_TAPS];  /* tap t's offset in the padded plane */
} padded_job;

/* 32 output channels × PB pixels of a row: `xs` is the padded plane of
 * input channel 0 at the segment's first tap-(0, 0) pixel, `wk` the
 * channels' weights of input channel 0, tap 0, `ys` their output. */
#define PADDED_AVX512(PB)                                                                                       \
    AG_AVX512 static void padded_avx512_##PB(const padded_job *j, const float *xs, const float *wk, float *ys) {  \
        const ag_conv2d_desc *d = j->d;                                                                         \
        const int64_t kg = d->k / d->groups, rs = d->r * d->s, crs = (d->c / d->groups) * rs;                   \
        const int64_t plane = j->hp * j->wp, pixels = d->oh * d->ow;                                            \
        __m512 lo[PB], hi[PB];                                                                                  \
        for (int p = 0; p < PB; p++) lo[p] = hi[p] = _mm512_setzero_ps();                                       \
        /* One loop over (input channel, tap), so that the accumulators stay in registers. */                   \
        for (int64_t i = 0, t = 0; i < crs; i++) {                                                              \
            __m512 w0 = _mm512_loadu_ps(wk + i * kg), w1 = _mm512_loadu_ps(wk + i * kg + 16);                   \
            const float *px = xs + j->at[t];                                                                    \
            _Pragma("unroll") for (int p = 0; p < PB; p++) {                                                    \
                __m512 xv = _mm512_set1_ps(px[p]);                                                              \
                lo[p] = _mm512_fmadd_ps(w0, xv, lo[p]);                                                         \
                hi[p] = _mm512_fmadd_ps(w1, xv, hi[p]);                                                         \
            }                                                                                                   \
            if (++t == rs) {                                                                                    \
                t = 0;                                                                                          \
                xs += plane;                                                                                    \
            }                                                                                                   \
        }                                                                                                       \
        store_pixels_avx512(lo, PB, PB, ys, pixels);                                                            \
        store_pixels_avx512(hi, PB, PB, ys + 16 * pixels, pixels);                                              \
    }

PADDED_AVX512(1)
PADDED_AVX512(2)
PADDED_AVX512(3)
PADDED_AVX512(4)
PADDED_AVX512(5)
PADDED_AVX512(6)
PADDED_AVX512(7)
PADDED_AVX512(8)
PADDED_AVX512(9)
PADDED_AVX512(10)
PADDED_AVX512(11)
PADDED_AVX512(12)
PADDED_AVX512(13)
PADDED_AVX512(14)

typedef void (*padded_fn)(const padded_job *, const float *, const float *, float *);

/* By segment width − 1. */
static const padded_fn padded_kernels[PADDED_PIXELS] = {
    padded_avx512_1,  padded_avx512_2,  padded_avx512_3,  padded_avx512_4,  padded_avx512_5,
    padded_avx512_6,  padded_avx512_7,  padded_avx512_8,  padded_avx512_9,  padded_avx512_10,
    padded_avx512_11, padded_avx512_12, padded_avx512_13, padded_avx512_14,
};

/* Work items [begin, end): (image, group, block of 32 channels, row, segment), segments innermost. */
static void padded_items(void *ctx, size_t begin, size_t end) {
    const padded_job *j = ctx;
    const ag_conv2d_desc *d = j->d;
    int64_t cg = d->c / d->groups, kg = d->k / d->groups, kblocks = kg / 32, rs = d->r * d->s;
    /* The first `wide` segments are `seg` pixels wide, the others one fewer. */
    int64_t wide = d->ow - (j->seg - 1) * j->segs;
    for (size_t item = begin; item < end; item++) {
        int64_t s = (int64_t)item % j->segs, rest = (int64_t)item / j->segs;
        int64_t i = rest % d->oh, kb = (rest / d->oh) % kblocks, bg = rest / d->oh / kblocks;
        int64_t g = bg % d->groups, b = bg / d->groups;
        int64_t j0 = s < wide ? s * j->seg : wide * j->seg + (s - wide) * (j->seg - 1);
        int64_t width = s < wide ? j->seg : j->seg - 1;
        const float *xs = j->xp + ((b * d->c + g * cg) * j->hp + i) * j->wp + j0;
        const float *wk = j->wt + g * cg * rs * kg + kb * 32;
        float *ys = j->y + ((b * d->k + g * kg + kb * 32) * d->oh + i) * d->ow + j0;
        padded_kernels[width - 1](j, xs, wk, ys);
    }
}

static void padded_forward(const ag_conv2d_desc *d, const float *x, const float *w, float *y, float *ws,
                           int turned_over) {
    int64_t cg = d->c / d->groups, kg = d->k / d->groups, rs = d->r * d->s;
    turn_weights(d, w, ws, turned_over);
    padded_job job = {.d = d, .wt = ws, .xp = ws + d->k * cg * rs};
    padded_size(d, &job.hp, &job.wp);
    job.segs = (d->ow + PADDED_PIXELS - 1) / PADDED_PIXELS;
    job.seg = (d->ow + job.segs - 1) / job.segs;
    for (int64_t t = 0; t < rs; t++) job.at[t] = (t / d->s) * d->dil_h * job.wp + (t % d->s) * d->dil_w;
    int64_t run = padded_images(d);
    size_t per_item = (size_t)(32 * job.seg * cg * rs) + 1;
    for (int64_t b0 = 0; b0 < d->n; b0 += run) {
        int64_t n = d->n - b0 < run ? d->n - b0 : run;
        ag_conv2d_stage_job pad = {x + b0 * d->c * d->h * d->w, (float *)job.xp, d->h, d->w, d->pad_h, d->pad_w,
                                   job.hp, job.wp};
        ag_parallel_for((size_t)(n * d->c), AG_GRAIN_CHEAP / (size_t)(job.hp * job.wp) + 1, ag_conv2d_stage_planes,
                        &pad);
        job.y = y + b0 * d->k * d->oh * d->ow;
        ag_parallel_for((size_t)(n * d->groups * (kg / 32) * d->oh * job.segs), AG_GRAIN_COSTLY * 16 / per_item + 1,
                        padded_items, &job);
    }
}
#endif

int64_t ag_conv2d_images_per_run(int64_t per_image, int64_t n) {
    int64_t fit = per_image > 0 ? (int64_t)AG_CONV_WORKSPACE_ELEMS / per_image : n;
    return fit < 1 ? 1 : fit < n ? fit : n;
}

void ag_conv2d_stage_planes(void *ctx, size_t begin, size_t end) {
    const ag_conv2d_stage_job *j = ctx;
    int64_t cols = j->cols < j->wp - j->left ? j->cols : j->wp - j->left;
    for (size_t p = begin; p < end; p++) {
        const float *src = j->src + p * (size_t)(j->rows * j->cols);
        float *dst = j->dst + p * (size_t)(j->hp * j->wp);
        for (int64_t r = 0; r < j->hp; r++) {
            float *row = dst + r * j->wp;
            int64_t i = r - j->top;
            if (i < 0 || i >= j->rows || cols <= 0) {
                memset(row, 0, sizeof(float) * (size_t)j->wp);
                continue;
            }
            memset(row, 0, sizeof(float) * (size_t)j->left);
            memcpy(row + j->left, src + i * j->cols, sizeof(float) * (size_t)cols);
            memset(row + j->left + cols, 0, sizeof(float) * (size_t)(j->wp - j->left - cols));
        }
    }
}

/* Which direct kernel runs a convolution at the active level, if any. */
typedef enum { DIRECT_NONE, DIRECT_ROWS, DIRECT_PLANE, DIRECT_CHANNELS, DIRECT_PADDED } direct_kind;

#if AG_X86
/* Whether a convolution has the plane kernel's shape at the active level:
 * float32 at AVX-512, not empty, stride 1, an output the input's size, and
 * more than one tap, up to what its masks hold. */
static int plane_shape(ag_dtype dt, const ag_conv2d_desc *d) {
    int64_t rs = d->r * d->s;
    return dt == AG_F32 && ag_isa() >= AG_ISA_AVX512 && d->n > 0 && d->c > 0 && d->k > 0 && d->oh > 0 &&
           d->ow > 0 && d->stride_h == 1 && d->stride_w == 1 && d->oh == d->h && d->ow == d->w && rs > 1 &&
           rs <= AG_CONV_PLANE_MAX_TAPS;
}
#endif

static direct_kind direct_choice(ag_dtype dt, const ag_conv2d_desc *d) {
#if AG_X86
    if (dt != AG_F32 || ag_isa() < AG_ISA_AVX2 || d->n <= 0 || d->c <= 0 || d->k <= 0 || d->oh <= 0 || d->ow <= 0)
        return DIRECT_NONE;
    int64_t cg = d->c / d->groups, kg = d->k / d->groups;
    int same = d->stride_h == 1 && d->stride_w == 1 && d->oh == d->h && d->ow == d->w;
    if (ag_isa() >= AG_ISA_AVX512 && !same && kg % 16 == 0 && cg <= AG_CONV_CHAN_MAX_CHANNELS &&
        d->r * d->s <= AG_CONV_CHAN_MAX_TAPS)
        return DIRECT_CHANNELS;
    if (d->stride_h != 1 || d->stride_w != 1) return DIRECT_NONE;
    if (ag_isa() >= AG_ISA_AVX512 && kg % 32 == 0 && cg >= AG_CONV_PADDED_MIN_CHANNELS && d->r * d->s > 1 &&
        d->r * d->s <= AG_CONV_CHAN_MAX_TAPS && d->pad_h >= 0 && d->pad_w >= 0)
        return DIRECT_PADDED;
    if (plane_shape(dt, d) && d->c >= AG_CONV_PLANE_MIN_CHANNELS) return DIRECT_PLANE;
    if (cg <= AG_CONV_DIRECT_MAX_CHANNELS && d->s <= AG_CONV_DIRECT_MAX_TAPS && d->ow <= 16 * AG_CONV_DIRECT_MAX_VECTORS)
        return DIRECT_ROWS;
#else
    (void)dt; (void)d;
#endif
    return DIRECT_NONE;
}

int ag_conv2d_direct_applies(ag_dtype dt, const ag_conv2d_desc *d) { return direct_choice(dt, d) != DIRECT_NONE; }

#if AG_X86
/* Whether backward-weight runs on the plane kernel's layout: convolutions
 * of its shape with few output channels per group (depthwise, a first
 * layer), where the channel kernel's layout does not apply. */
static int planew_applies(ag_dtype dt, const ag_conv2d_desc *d) {
    return plane_shape(dt, d) && d->k / d->groups <= AG_CONV_PLANEW_MAX_OUTPUTS;
}

/* Whether backward-weight runs on the channel kernel's layout: where the
 * forward pass does, and for "same"-size convolutions (the plane or the
 * padded kernel's) with 16·m output channels per group and at most
 * AG_CONV_CHANW_MAX_WEIGHTS weights. */
static int chanw_applies(ag_dtype dt, const ag_conv2d_desc *d) {
    direct_kind kind = direct_choice(dt, d);
    if (kind == DIRECT_CHANNELS) return 1;
    int same = kind == DIRECT_PLANE || (kind == DIRECT_PADDED && plane_shape(dt, d));
    return same && (d->k / d->groups) % 16 == 0 && d->r * d->s <= AG_CONV_CHAN_MAX_TAPS &&
           d->k * (d->c / d->groups) * d->r * d->s <= AG_CONV_CHANW_MAX_WEIGHTS;
}

static size_t planew_slot_elems(const ag_conv2d_desc *d) { return (size_t)(d->k * (d->c / d->groups) * d->r * d->s * 16); }

/* Floats of scratch the plane's masks take, tap blocks running past the last tap included. */
static size_t planew_mask_elems(const ag_conv2d_desc *d) {
    size_t masks = (size_t)((d->r * d->s + PLANEW_MAX_TAPS) * ((d->oh * d->ow + 15) / 16));
    return (masks * sizeof(uint16_t) + sizeof(float) - 1) / sizeof(float);
}

/* Thread slots a direct weight gradient runs: one per thread, at most one
 * per image, and as many as `ws_elems` of scratch hold. */
static int direct_slots(const ag_conv2d_desc *d, size_t ws_elems, size_t slot_elems) {
    size_t fit = ws_elems / slot_elems, threads = (size_t)ag_num_threads();
    size_t slots = threads < fit ? threads : fit;
    return (int)(slots < (size_t)d->n ? slots : (size_t)d->n);
}

/* Pixels per block of turned dy: each block sweeps a thread's whole
 * partial, so a whole plane where the block stays within 1 MiB (AlexNet's
 * 13×13 and 27×27 layers), and at least 128. */
static int64_t chanw_pixels(const ag_conv2d_desc *d) {
    int64_t fit = ((int64_t)1 << 18) / (d->k / d->groups), pixels = d->oh * d->ow;
    int64_t block = fit < 128 ? 128 : fit > CHANW_PIXELS ? CHANW_PIXELS : fit;
    return pixels < block ? pixels : block;
}

/* A backward-weight slot's scratch: its partial, a turned dy block and,
 * with padding, one image in zero-padded planes. */
static size_t chanw_slot_elems(const ag_conv2d_desc *d) {
    int64_t hp, wp;
    padded_size(d, &hp, &wp);
    return (size_t)(d->k * (d->c / d->groups) * d->r * d->s + chanw_pixels(d) * (d->k / d->groups) +
                    (d->pad_h || d->pad_w ? d->c * hp * wp : 0));
}
#endif

size_t ag_conv2d_direct_weight_workspace(ag_dtype dt, const ag_conv2d_desc *d, int threads) {
#if AG_X86
    int slots = threads < 1 ? 1 : (int64_t)threads < d->n ? threads : (int)d->n;
    if (chanw_applies(dt, d)) return (size_t)slots * chanw_slot_elems(d);
    if (planew_applies(dt, d)) return planew_mask_elems(d) + (size_t)slots * planew_slot_elems(d);
    return 0;
#else
    (void)dt; (void)d; (void)threads;
    return 0;
#endif
}

void ag_conv2d_direct_backward_weight(const ag_conv2d_desc *d, const float *x, const float *dy, float *dw, float *ws,
                                      size_t ws_elems) {
#if AG_X86
    if (!chanw_applies(AG_F32, d)) {
        /* The masks first, then the slots' partials. */
        size_t mask_elems = planew_mask_elems(d);
        planew_job job = {.plane = plane_job_for(d, x, NULL, NULL), .dy = dy, .ws = ws + mask_elems,
                          .slot_elems = planew_slot_elems(d), .mask = (const __mmask16 *)ws, .dw = dw};
        __mmask16 *mask = (__mmask16 *)ws;
        int64_t vectors = job.plane.vectors, rs = d->r * d->s;
        plane_masks(&job.plane, 0, vectors, vectors, mask);
        /* The taps a last block runs past the kernel's add nothing. */
        memset(mask + rs * vectors, 0, sizeof(__mmask16) * (size_t)(PLANEW_MAX_TAPS * vectors));
        job.slots = direct_slots(d, ws_elems - mask_elems, job.slot_elems);
        ag_parallel_for((size_t)job.slots, 1, planew_slots, &job);
        ag_parallel_for((size_t)(d->k * (d->c / d->groups) * d->r * d->s), AG_GRAIN_CHEAP / 32, planew_sum, &job);
        return;
    }
    chanw_job job = {.d = d, .x = x, .dy = dy, .ws = ws, .slot_elems = chanw_slot_elems(d), .dw = dw, .given = d,
                     .pixels = chanw_pixels(d)};
    ag_conv2d_desc staged = *d;
    if (d->pad_h || d->pad_w) {
        padded_size(d, &staged.h, &staged.w);
        staged.pad_h = staged.pad_w = 0;
        job.d = &staged;
    }
    int64_t kg = d->k / d->groups;
    job.kv = chan_vectors(kg);
    job.slots = direct_slots(d, ws_elems, job.slot_elems);
    chan_taps_init(job.d, &job.taps);
    ag_parallel_for((size_t)job.slots, 1, chanw_slots, &job);
    ag_parallel_for((size_t)(d->k * (d->c / d->groups) * d->r * d->s), AG_GRAIN_CHEAP, chanw_sum, &job);
#else
    (void)d; (void)x; (void)dy; (void)dw; (void)ws; (void)ws_elems;
#endif
}

size_t ag_conv2d_direct_workspace(ag_dtype dt, const ag_conv2d_desc *d) {
#if AG_X86
    size_t weights = (size_t)(d->k * (d->c / d->groups) * d->r * d->s);
    switch (direct_choice(dt, d)) {
    case DIRECT_CHANNELS: return weights;
    case DIRECT_PADDED: return weights + padded_image_elems(d);
    default: return 0;
    }
#else
    (void)dt; (void)d;
    return 0;
#endif
}

int ag_conv2d_direct_padded_applies(ag_dtype dt, const ag_conv2d_desc *d) {
    return direct_choice(dt, d) == DIRECT_PADDED;
}

void ag_conv2d_direct_transposed(const ag_conv2d_desc *t, const float *dy, const float *w, float *dx, float *ws) {
#if AG_X86
    padded_forward(t, dy, w, dx, ws, 1);
#else
    (void)t; (void)dy; (void)w; (void)dx; (void)ws;
#endif
}

int ag_conv2d_direct_plane_applies(ag_dtype dt, const ag_conv2d_desc *d) { return direct_choice(dt, d) == DIRECT_PLANE; }

void ag_conv2d_direct_forward(const ag_conv2d_desc *d, const float *x, const float *w, float *y, float *ws) {
#if AG_X86
    int64_t kg = d->k / d->groups, cg = d->c / d->groups, rs = d->r * d->s, flops_per_pixel = d->k * cg * rs;
    direct_kind kind = direct_choice(AG_F32, d);
    if (kind == DIRECT_PADDED) {
        padded_forward(d, x, w, y, ws, 0);
        return;
    }
    if (kind == DIRECT_CHANNELS) {
        turn_weights(d, w, ws, 0);
        chan_forward(d, x, ws, y);
        return;
    }
    if (kind == DIRECT_PLANE) {
        plane_job job = plane_job_for(d, x, w, y);
        size_t per_item = (size_t)(flops_per_pixel * 16 * PLANE_BLOCK) + 1;
        ag_parallel_for((size_t)(d->n * job.blocks), AG_GRAIN_COSTLY * 16 / per_item + 1, plane_items, &job);
        return;
    }
    direct_job job = {d, x, w, y, (kg + 7) / 8, ag_isa() >= AG_ISA_AVX512};
    size_t items = (size_t)(d->n * d->groups * job.blocks * d->oh);
    /* An item is one output row of up to 8 channels. */
    size_t per_item = (size_t)((kg < 8 ? kg : 8) * d->ow * (d->c / d->groups) * d->r * d->s) + 1;
    ag_parallel_for(items, AG_GRAIN_COSTLY * 16 / per_item + 1, direct_items, &job);
#else
    (void)d; (void)x; (void)w; (void)y; (void)ws;
#endif
}
