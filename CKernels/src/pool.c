/* Max and average pooling, plain and adaptive, split over planes; bodies in pool_impl.h. */
#include <math.h>
#include "../include/ag_pool.h"
#include "ag_internal.h"

/* The taps of one output's window along one axis: start + u·step for u < taps. */
typedef struct {
    int64_t start, taps, step;
} pool_window;

static inline int64_t floor_div(int64_t a, int64_t b) { return a / b; }
static inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

static inline pool_window pool_window_at(int adaptive, int64_t i, int64_t size, int64_t out, int64_t k,
                                         int64_t stride, int64_t pad, int64_t dil) {
    pool_window win;
    if (adaptive) {
        win.start = floor_div(i * size, out);
        win.taps = ceil_div((i + 1) * size, out) - win.start;
        win.step = 1;
    } else {
        win.start = i * stride - pad;
        win.taps = k;
        win.step = dil;
    }
    return win;
}

/* An average's window along one axis: what it reads, [begin, end), and its
 * length with padding (up to size + pad), for count_include_pad. */
typedef struct {
    int64_t begin, end, padded;
} avg_span;

static inline avg_span avg_span_at(int adaptive, int64_t i, int64_t size, int64_t out, int64_t k, int64_t stride,
                                   int64_t pad) {
    avg_span s;
    if (adaptive) {
        s.begin = floor_div(i * size, out);
        s.end = ceil_div((i + 1) * size, out);
        s.padded = s.end - s.begin;
        return s;
    }
    int64_t begin = i * stride - pad, end = begin + k;
    if (end > size + pad) end = size + pad;
    s.padded = end - begin;
    s.begin = begin < 0 ? 0 : begin;
    s.end = end > size ? size : end;
    if (s.end < s.begin) s.end = s.begin;
    return s;
}

typedef void (*maxpool_row_f32_fn)(const float *, const ag_pool2d_desc *, int64_t, int64_t, int64_t, int64_t,
                                   int64_t, int64_t, float *, int64_t *);
typedef void (*maxpool_row_f64_fn)(const double *, const ag_pool2d_desc *, int64_t, int64_t, int64_t, int64_t,
                                   int64_t, int64_t, double *, int64_t *);
static maxpool_row_f32_fn maxpool_row_for_isa_f32(void);
static maxpool_row_f64_fn maxpool_row_for_isa_f64(void);
/* Kernel columns up to which the AVX-512 row kernel runs (its lane masks live on the stack). */
#define AG_POOL_ROW_MAX_TAPS 32
/* Whether that row kernel also takes the border columns (windows reaching into the padding). */
static int maxpool_row_takes_borders_f32(const ag_pool2d_desc *d) {
#if AG_X86
    return ag_isa() >= AG_ISA_AVX512 && d->kw <= AG_POOL_ROW_MAX_TAPS;
#else
    (void)d;
    return 0;
#endif
}
static int maxpool_row_takes_borders_f64(const ag_pool2d_desc *d) { (void)d; return 0; }

#define T float
#define SFX f32
#include "pool_impl.h"
#undef T
#undef SFX

#define T double
#define SFX f64
#include "pool_impl.h"
#undef T
#undef SFX

static maxpool_row_f64_fn maxpool_row_for_isa_f64(void) { return maxpool_row_f64; }

#if AG_X86
#include <immintrin.h>

/* One tap of one vector of sixteen windows: its value loaded under the lane
 * masks, taken where larger, NaN, or the lane's first tap inside the plane. */
AG_AVX512 static inline __attribute__((always_inline)) void
maxpool_tap_avx512(const float *plane, int64_t off, int64_t sw, __mmask16 inside, __mmask16 span_lo,
                   __mmask16 span_hi, __m512i lanes, __m512i evens, __m512 *best, __m512i *pos) {
    __m512i at = _mm512_add_epi32(lanes, _mm512_set1_epi32((int)off));
    __m512 value;
    /* Addresses as integers: masked-off lanes may point outside the plane and are not read. */
    uintptr_t from = (uintptr_t)plane + (uintptr_t)(off * 4);
    if (sw == 1) {
        value = _mm512_maskz_loadu_ps(inside, (const float *)from);
    } else if (sw == 2) {
        /* The even lanes of 32 floats from off: two loads and a permute, not a gather. */
        __m512 lo_half = _mm512_maskz_loadu_ps(span_lo, (const float *)from);
        __m512 hi_half = _mm512_maskz_loadu_ps(span_hi, (const float *)(from + 64));
        value = _mm512_permutex2var_ps(lo_half, evens, hi_half);
    } else {
        value = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), inside, at, plane, 4);
    }
    __mmask16 take = (_mm512_cmp_ps_mask(value, *best, _CMP_GT_OQ) | _mm512_cmp_ps_mask(value, value, _CMP_UNORD_Q) |
                      _mm512_cmplt_epi32_mask(*pos, _mm512_setzero_si512())) & inside;
    *best = _mm512_mask_mov_ps(*best, take, value);
    *pos = _mm512_mask_mov_epi32(*pos, take, at);
}

/* The larger of a window's next value and its maximum so far, NaN if
 * either is (max_ps returns its second operand when one is NaN, and on
 * ties, so the first of equal values stays). */
AG_AVX512 static inline __attribute__((always_inline)) __m512 maxpool_nanmax_avx512(__m512 value, __m512 best) {
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(value, value, _CMP_UNORD_Q), _mm512_max_ps(value, best), value);
}

/* Columns of a row's reduced window rows that the separable path holds (on the stack). */
#define AG_POOL_SEPARABLE_MAX_COLUMNS 2048

/* Outputs [j0, j1) of one output row without positions, separably: the
 * window's rows reduced column by column into `cols` (−∞ outside the
 * plane), then each output the maximum of its window's columns of that.
 * Returns 0, doing nothing, where the columns do not fit. */
AG_AVX512 static int maxpool_row_values_avx512(const float *plane, const ag_pool2d_desc *d, int64_t rs, int64_t dr,
                                               int64_t u0, int64_t u1, int64_t j0, int64_t j1, float *y) {
    const int64_t sw = d->stride_w, w = d->w, c0 = j0 * sw - d->pad_w;
    /* The columns the windows read, and a vector more for the stride-2 loads' second half. */
    const int64_t span = (j1 - 1 - j0) * sw + (d->kw - 1) * d->dil_w + 1 + 32;
    if (span + 16 > AG_POOL_SEPARABLE_MAX_COLUMNS || sw > 2) return 0;  /* whole vectors of columns */
    float cols[AG_POOL_SEPARABLE_MAX_COLUMNS];
    const __m512 neg_inf = _mm512_set1_ps(-INFINITY);
    const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    for (int64_t e = 0; e < span; e += 16) {
        /* Lanes whose column lies inside the plane; the others stay −∞. */
        __m512i c = _mm512_add_epi32(iota, _mm512_set1_epi32((int)(c0 + e)));
        __mmask16 in = _mm512_cmpge_epi32_mask(c, _mm512_setzero_si512()) &
                       _mm512_cmplt_epi32_mask(c, _mm512_set1_epi32((int)w));
        /* Addresses as integers: masked-off lanes may point outside the plane and are not read. */
        uintptr_t at = (uintptr_t)plane + (uintptr_t)(((rs + u0 * dr) * w + c0 + e) * 4);
        __m512 best = _mm512_mask_loadu_ps(neg_inf, in, (const float *)at);
        for (int64_t u = u0 + 1; u < u1; u++) {
            at += (uintptr_t)(dr * w * 4);
            best = maxpool_nanmax_avx512(_mm512_mask_loadu_ps(neg_inf, in, (const float *)at), best);
        }
        _mm512_storeu_ps(cols + e, best);
    }
    const __m512i evens = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    for (int64_t j = j0; j < j1; j += 16) {
        const float *from = cols + (j - j0) * sw;
        __m512 best = neg_inf;
        for (int64_t v = 0; v < d->kw; v++) {
            const float *tap = from + v * d->dil_w;
            __m512 value = sw == 1 ? _mm512_loadu_ps(tap)
                                   : _mm512_permutex2var_ps(_mm512_loadu_ps(tap), evens, _mm512_loadu_ps(tap + 16));
            best = maxpool_nanmax_avx512(value, best);
        }
        int64_t n = j1 - j < 16 ? j1 - j : 16;
        _mm512_mask_storeu_ps(y + j, (__mmask16)((1u << n) - 1), best);
    }
    return 1;
}

/* maxpool_row_f32 on 32 outputs a step, as two vectors of sixteen whose
 * chains of compares and blends interleave (one alone waits on each
 * tap's compare): the taps of sixteen windows loaded (gathered when the
 * stride is above 2), compared with their maxima and blended in under a
 * mask, positions alike. Taps left or right of the plane are masked off
 * per lane, so the border columns run here too: a lane takes its first
 * tap inside the plane whatever its value, as the portable loop does.
 * Positions fit 32 bits: planes are below 2³¹. */
AG_AVX512 static void maxpool_row_avx512(const float *plane, const ag_pool2d_desc *d, int64_t rs, int64_t dr,
                                         int64_t u0, int64_t u1, int64_t j0, int64_t j1, float *y, int64_t *idx) {
    if (!idx && maxpool_row_values_avx512(plane, d, rs, dr, u0, u1, j0, j1, y)) return;
    if (d->kw > AG_POOL_ROW_MAX_TAPS) {  /* more columns than the masks below hold */
        maxpool_row_f32(plane, d, rs, dr, u0, u1, j0, j1, y, idx);
        return;
    }
    const int64_t sw = d->stride_w, w = d->w;
    const __m512i evens = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i lanes = _mm512_mullo_epi32(iota, _mm512_set1_epi32((int)sw));
    for (int64_t j = j0; j < j1; j += 32) {
        int64_t n[2], base[2];
        /* Per vector and kernel column: the lanes whose tap lies inside
         * the row, of the n live ones, and with stride 2 the floats of the
         * 32 from the tap's column that lie inside the row, up to the last
         * live lane's. */
        __mmask16 inside[2][AG_POOL_ROW_MAX_TAPS], span_lo[2][AG_POOL_ROW_MAX_TAPS], span_hi[2][AG_POOL_ROW_MAX_TAPS];
        __m512 best[2];
        __m512i pos[2];
        for (int c = 0; c < 2; c++) {
            int64_t jc = j + 16 * c;
            n[c] = j1 - jc >= 16 ? 16 : j1 - jc > 0 ? j1 - jc : 0;
            base[c] = jc * sw - d->pad_w;
            /* By compares, not divisions: this runs for every row. */
            __mmask16 live = (__mmask16)((1u << n[c]) - 1);
            __m512i width = _mm512_set1_epi32((int)w), zero = _mm512_setzero_si512();
            /* With stride 2 the n live lanes read 2n − 1 floats (none when n is 0). */
            int64_t reach = n[c] > 0 ? 2 * n[c] - 1 : 0;
            __mmask16 reach_lo = (__mmask16)(reach >= 16 ? 0xFFFF : (1u << reach) - 1);
            __mmask16 reach_hi = (__mmask16)(reach <= 16 ? 0 : (1u << (reach - 16)) - 1);
            for (int64_t v = 0; v < d->kw; v++) {
                __m512i col = _mm512_set1_epi32((int)(base[c] + v * d->dil_w));
                __m512i taps = _mm512_add_epi32(lanes, col);
                inside[c][v] = _mm512_mask_cmpge_epi32_mask(live, taps, zero) & _mm512_cmplt_epi32_mask(taps, width);
                /* Stride 2: the floats from the tap's column inside the row, up to the last live lane's. */
                __m512i e_lo = _mm512_add_epi32(iota, col), e_hi = _mm512_add_epi32(e_lo, _mm512_set1_epi32(16));
                span_lo[c][v] = _mm512_mask_cmpge_epi32_mask(reach_lo, e_lo, zero) & _mm512_cmplt_epi32_mask(e_lo, width);
                span_hi[c][v] = _mm512_mask_cmpge_epi32_mask(reach_hi, e_hi, zero) & _mm512_cmplt_epi32_mask(e_hi, width);
            }
            best[c] = _mm512_set1_ps(-INFINITY);
            pos[c] = _mm512_set1_epi32(-1);
        }
        /* Row-major over the window, as the portable loop: ties keep the first.
         * A second vector with no live lanes (rows of at most 16 outputs) is skipped. */
#define MAXPOOL_TAP(c)                                                                                          \
    maxpool_tap_avx512(plane, (rs + u * dr) * w + base[c] + v * d->dil_w, sw, inside[c][v], span_lo[c][v],     \
                       span_hi[c][v], lanes, evens, &best[c], &pos[c])
        if (n[1] > 0) {
            for (int64_t u = u0; u < u1; u++)
                for (int64_t v = 0; v < d->kw; v++) {
                    MAXPOOL_TAP(0);
                    MAXPOOL_TAP(1);
                }
        } else {
            for (int64_t u = u0; u < u1; u++)
                for (int64_t v = 0; v < d->kw; v++) MAXPOOL_TAP(0);
        }
#undef MAXPOOL_TAP
        for (int c = 0; c < 2; c++) {
            __mmask16 live = (__mmask16)((1u << n[c]) - 1);
            int64_t jc = j + 16 * c;
            if (!live) break;
            _mm512_mask_storeu_ps(y + jc, live, best[c]);
            if (idx) {
                _mm512_mask_storeu_epi64(idx + jc, (__mmask8)live, _mm512_cvtepi32_epi64(_mm512_castsi512_si256(pos[c])));
                _mm512_mask_storeu_epi64(idx + jc + 8, (__mmask8)(live >> 8),
                                         _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(pos[c], 1)));
            }
        }
    }
}

/* The same on eight outputs a step. */
AG_AVX2 static void maxpool_row_avx2(const float *plane, const ag_pool2d_desc *d, int64_t rs, int64_t dr,
                                     int64_t u0, int64_t u1, int64_t j0, int64_t j1, float *y, int64_t *idx) {
    const int64_t sw = d->stride_w, w = d->w;
    const __m256i lanes = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32((int)sw));
    int64_t j = j0;
    for (; j + 8 <= j1; j += 8) {
        int64_t base = j * sw - d->pad_w;
        __m256 best = _mm256_set1_ps(-INFINITY);
        __m256i pos = _mm256_add_epi32(lanes, _mm256_set1_epi32((int)((rs + u0 * dr) * w + base)));
        for (int64_t u = u0; u < u1; u++) {
            int64_t row = (rs + u * dr) * w;
            for (int64_t v = 0; v < d->kw; v++) {
                int64_t off = row + base + v * d->dil_w;
                __m256i at = _mm256_add_epi32(lanes, _mm256_set1_epi32((int)off));
                __m256 value = sw == 1 ? _mm256_loadu_ps(plane + off) : _mm256_i32gather_ps(plane, at, 4);
                __m256 take = _mm256_or_ps(_mm256_cmp_ps(value, best, _CMP_GT_OQ),
                                           _mm256_cmp_ps(value, value, _CMP_UNORD_Q));
                best = _mm256_blendv_ps(best, value, take);
                pos = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(pos), _mm256_castsi256_ps(at), take));
            }
        }
        _mm256_storeu_ps(y + j, best);
        if (idx) {
            _mm256_storeu_si256((__m256i *)(idx + j), _mm256_cvtepi32_epi64(_mm256_castsi256_si128(pos)));
            _mm256_storeu_si256((__m256i *)(idx + j + 4), _mm256_cvtepi32_epi64(_mm256_extracti128_si256(pos, 1)));
        }
    }
    if (j < j1) maxpool_row_f32(plane, d, rs, dr, u0, u1, j, j1, y, idx);
}
#endif

static maxpool_row_f32_fn maxpool_row_for_isa_f32(void) {
#if AG_X86
    int isa = ag_isa();
    if (isa >= AG_ISA_AVX512) return maxpool_row_avx512;
    if (isa >= AG_ISA_AVX2) return maxpool_row_avx2;
#endif
    return maxpool_row_f32;
}

typedef enum { MAX, GATHER, SCATTER, AVG, AVG_BACKWARD } pool_pass;

typedef struct {
    ag_dtype dt;
    const ag_pool2d_desc *d;
    pool_pass pass;
    const void *in;
    void *out;
    int64_t *idx;          /* written by MAX */
    const int64_t *found;  /* read by GATHER and SCATTER */
} pool_job;

static void pool_range(void *ctx, size_t begin, size_t end) {
    const pool_job *j = ctx;
    int64_t p0 = (int64_t)begin, p1 = (int64_t)end;
    int f32 = j->dt == AG_F32;
    switch (j->pass) {
    case MAX:
        if (f32) maxpool_planes_f32(j->d, j->in, j->out, j->idx, p0, p1);
        else maxpool_planes_f64(j->d, j->in, j->out, j->idx, p0, p1);
        break;
    case GATHER:
        if (f32) gather_planes_f32(j->d, j->found, j->in, j->out, p0, p1);
        else gather_planes_f64(j->d, j->found, j->in, j->out, p0, p1);
        break;
    case SCATTER:
        if (f32) scatter_planes_f32(j->d, j->found, j->in, j->out, p0, p1);
        else scatter_planes_f64(j->d, j->found, j->in, j->out, p0, p1);
        break;
    case AVG:
    case AVG_BACKWARD:
        if (f32) avgpool_planes_f32(j->d, j->in, j->out, j->pass == AVG_BACKWARD, p0, p1);
        else avgpool_planes_f64(j->d, j->in, j->out, j->pass == AVG_BACKWARD, p0, p1);
        break;
    }
}

static void run(ag_dtype dt, const ag_pool2d_desc *d, pool_pass pass, const void *in, void *out, int64_t *idx,
                const int64_t *found) {
    pool_job job = {dt, d, pass, in, out, idx, found};
    size_t per_plane = (size_t)(d->h * d->w + d->oh * d->ow) + 1;
    ag_parallel_for((size_t)d->planes, AG_GRAIN_CHEAP / per_plane + 1, pool_range, &job);
}

void ag_maxpool2d(ag_dtype dt, const ag_pool2d_desc *d, const void *x, void *y, int64_t *idx) {
    run(dt, d, MAX, x, y, idx, NULL);
}

void ag_pool2d_gather(ag_dtype dt, const ag_pool2d_desc *d, const int64_t *idx, const void *v, void *out) {
    run(dt, d, GATHER, v, out, NULL, idx);
}

void ag_pool2d_scatter(ag_dtype dt, const ag_pool2d_desc *d, const int64_t *idx, const void *g, void *dx) {
    run(dt, d, SCATTER, g, dx, NULL, idx);
}

void ag_avgpool2d(ag_dtype dt, const ag_pool2d_desc *d, const void *x, void *y) { run(dt, d, AVG, x, y, NULL, NULL); }

void ag_avgpool2d_backward(ag_dtype dt, const ag_pool2d_desc *d, const void *g, void *dx) {
    run(dt, d, AVG_BACKWARD, g, dx, NULL, NULL);
}
