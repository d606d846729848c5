/*
 * Pairwise summation, instantiated for T by the *_impl.h bodies that include
 * it (with FN defined). Shared by sums, softmax and the gradient norm.
 *
 * One running accumulator over n values drifts by up to n roundings of the
 * partial sum (about √n for random signs); pairwise summation drifts by
 * O(log n). As in NumPy: a leaf of up to AG_PW_LEAF(T) contiguous values is
 * summed in AG_PW_LANES(T) independent lanes (128 bytes of T: four AVX2
 * vectors, 16 values per lane) combined as a tree; leaves are combined
 * pairwise by halving a run at a whole number of leaves. The split depends
 * on n only, so the result is the same on every path and thread count (the
 * lanes are explicit, no reassociation is needed to vectorise them).
 *
 * Columns (a strided axis) use blocked summation: each column accumulates
 * AG_PW_ROWS rows at a time, reading whole rows contiguously, and those
 * blocks combine pairwise. The partial sums of each level live in
 * AG_PW_SCRATCH(T) values on the stack; when all levels at full width don't
 * fit, the blocks grow (up to AG_PW_ROWS_MAX rows), and only then do the
 * columns go in chunks: reading rows in pieces of a few KB runs at about half
 * the memory bandwidth of reading them whole.
 */
#ifndef AG_PW_CONSTANTS
#define AG_PW_CONSTANTS
#include <stdint.h>
#define AG_PW_LANES(T) (128 / sizeof(T))
#define AG_PW_LEAF(T) (16 * AG_PW_LANES(T))
#define AG_PW_ROWS 16
#define AG_PW_ROWS_MAX 256
/* Stack room for the partial sums of a column sum: 128 KB, in the frame of
 * the kernel's range function (the calling threads' and the OpenMP
 * workers' stacks are megabytes). Full-width levels of a [4096, 4096]
 * column sum need 8 × 16 KB. */
#define AG_PW_SCRATCH(T) (131072 / sizeof(T))
/* Below this many values a row is summed on one thread. */
#define AG_PW_PARALLEL_MIN ((size_t)1 << 17)
/* A row summed on several threads splits into 2^depth subtrees of its recursion. */
#define AG_PW_PARALLEL_DEPTH 3
/* Each including file uses some of these. */
#define AG_PW_STATIC static __attribute__((unused))
#endif

/* Σ x[0..n) for n ≤ AG_PW_LEAF(T): independent lanes, then a tree over them. */
AG_INLINE T FN(pw_leaf)(const T *restrict x, size_t n) {
    enum { L = AG_PW_LANES(T) };
    T acc[L];
    for (int l = 0; l < L; l++) acc[l] = 0;
    size_t k = 0;
    for (; k + L <= n; k += L)
        for (int l = 0; l < L; l++) acc[l] += x[k + l];
    for (int w = L / 2; w > 0; w /= 2)
        for (int l = 0; l < w; l++) acc[l] += acc[l + w];
    T s = acc[0];
    for (; k < n; k++) s += x[k];
    return s;
}

/* Where a run of n > leaf values splits: after half of its leaves. */
static inline size_t FN(pw_split)(size_t n, size_t leaf) {
    size_t leaves = (n + leaf - 1) / leaf;
    return leaves / 2 * leaf;
}

/* pw_sum of n ≤ 2 leaves, and of n ≤ 4 leaves: the bottom two levels of the
 * recursion written out, so that one call covers up to four leaves. */
AG_INLINE T FN(pw_two)(const T *x, size_t n) {
    enum { LEAF = AG_PW_LEAF(T) };
    return n <= LEAF ? FN(pw_leaf)(x, n) : FN(pw_leaf)(x, LEAF) + FN(pw_leaf)(x + LEAF, n - LEAF);
}

AG_INLINE T FN(pw_four)(const T *x, size_t n) {
    if (n <= 2 * AG_PW_LEAF(T)) return FN(pw_two)(x, n);
    size_t h = FN(pw_split)(n, AG_PW_LEAF(T));
    return FN(pw_two)(x, h) + FN(pw_two)(x + h, n - h);
}

/* The same arithmetic at each ISA level (the lanes are explicit, so a wider
 * vector changes the speed, not the result). */
AG_AVX512 AG_PW_STATIC T FN(pw_four_avx512)(const T *x, size_t n) { return FN(pw_four)(x, n); }
AG_AVX2 AG_PW_STATIC T FN(pw_four_avx2)(const T *x, size_t n) { return FN(pw_four)(x, n); }
AG_PW_STATIC T FN(pw_four_portable)(const T *x, size_t n) { return FN(pw_four)(x, n); }

/* Pairwise Σ x[0..n); recursion depth log2(n / leaf) − 2. `isa` is the level (ag_isa). */
AG_PW_STATIC T FN(pw_sum)(const T *x, size_t n, int isa) {
    if (n <= 4 * AG_PW_LEAF(T))
        return isa >= AG_ISA_AVX512 ? FN(pw_four_avx512)(x, n)
             : isa >= AG_ISA_AVX2   ? FN(pw_four_avx2)(x, n)
                                    : FN(pw_four_portable)(x, n);
    size_t h = FN(pw_split)(n, AG_PW_LEAF(T));
    T a = FN(pw_sum)(x, h, isa);
    return a + FN(pw_sum)(x + h, n - h, isa);
}

/* acc[0..w) = Σ over rows k < rows ≤ AG_PW_ROWS of x[k·ld + i], row by row
 * (each row read contiguously, each column one accumulator). */
AG_INLINE void FN(col_leaf)(const T *restrict x, size_t rows, size_t ld, size_t w, T *restrict acc) {
    for (size_t i = 0; i < w; i++) acc[i] = x[i];
    for (size_t k = 1; k < rows; k++) {
        const T *restrict row = x + k * ld;
        for (size_t i = 0; i < w; i++) acc[i] += row[i];
    }
}

AG_AVX512 AG_PW_STATIC void FN(col_leaf_avx512)(const T *x, size_t rows, size_t ld, size_t w, T *acc) {
    FN(col_leaf)(x, rows, ld, w, acc);
}
AG_AVX2 AG_PW_STATIC void FN(col_leaf_avx2)(const T *x, size_t rows, size_t ld, size_t w, T *acc) {
    FN(col_leaf)(x, rows, ld, w, acc);
}
AG_PW_STATIC void FN(col_leaf_portable)(const T *x, size_t rows, size_t ld, size_t w, T *acc) {
    FN(col_leaf)(x, rows, ld, w, acc);
}

/* How many levels of partial sums pw_cols keeps for `rows` rows in leaves of `leaf` rows. */
static inline size_t FN(pw_cols_depth)(size_t rows, size_t leaf) {
    size_t leaves = (rows + leaf - 1) / leaf, depth = 0;
    while (((size_t)1 << depth) < leaves) depth++;
    return depth;
}

/* acc[0..w) = Σ over rows k < rows (≥ 1) of x[k·ld + i]: blocks of `leaf`
 * rows combined pairwise, the partial sums of each level in scratch (room
 * for pw_cols_depth(rows, leaf) · w values). */
AG_PW_STATIC void FN(pw_cols)(const T *x, size_t rows, size_t leaf, size_t ld, size_t w, T *acc, T *scratch,
                              int simd) {
    if (rows <= leaf) {
        if (simd >= AG_ISA_AVX512) FN(col_leaf_avx512)(x, rows, ld, w, acc);
        else if (simd) FN(col_leaf_avx2)(x, rows, ld, w, acc);
        else FN(col_leaf_portable)(x, rows, ld, w, acc);
        return;
    }
    size_t h = FN(pw_split)(rows, leaf);
    FN(pw_cols)(x, h, leaf, ld, w, acc, scratch, simd);
    FN(pw_cols)(x + h * ld, rows - h, leaf, ld, w, scratch, scratch + w, simd);
    for (size_t i = 0; i < w; i++) acc[i] += scratch[i];
}

/* A streaming pairwise sum of blocks: push each block's sum; level l holds
 * the sum of 2^l blocks, and two equal levels merge as a binary counter
 * carries. For 2^k blocks this is exactly the pairwise tree. */
typedef struct {
    T part[64];
    uint64_t blocks;
} FN(pw_acc);

AG_INLINE void FN(pw_push)(FN(pw_acc) *a, T s) {
    uint64_t c = a->blocks++;
    int level = 0;
    for (; c & 1; c >>= 1, level++) s = a->part[level] + s;
    a->part[level] = s;
}

AG_INLINE T FN(pw_total)(const FN(pw_acc) *a) {
    T s = 0;
    int level = 0;
    for (uint64_t c = a->blocks; c; c >>= 1, level++)
        if (c & 1) s = a->part[level] + s;
    return s;
}

/* Σ x[k]² in double, pairwise (leaves of 16 lanes × 16). */
AG_PW_STATIC double FN(pw_sum_squares)(const T *x, size_t n) {
    enum { L = 16, LEAF = 16 * L };
    if (n > LEAF) {
        size_t h = FN(pw_split)(n, LEAF);
        double a = FN(pw_sum_squares)(x, h);
        return a + FN(pw_sum_squares)(x + h, n - h);
    }
    double acc[L];
    for (int l = 0; l < L; l++) acc[l] = 0;
    size_t k = 0;
    for (; k + L <= n; k += L)
        for (int l = 0; l < L; l++) acc[l] += (double)x[k + l] * (double)x[k + l];
    for (int w = L / 2; w > 0; w /= 2)
        for (int l = 0; l < w; l++) acc[l] += acc[l + w];
    double s = acc[0];
    for (; k < n; k++) s += (double)x[k] * (double)x[k];
    return s;
}
