/* The strided walk shared by the broadcasting, select and copy kernels. */
#include "ag_internal.h"

void ag_nditer_init(ag_nditer *it, int ndim, const int64_t *shape, int nops,
                    char *const *base, const int64_t *const *elem_strides, size_t elem_size) {
    it->nops = nops;
    for (int j = 0; j < nops; j++) it->base[j] = base[j];
    /* Keep axes of size != 1, in order. */
    int d = 0;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] == 1) continue;
        it->shape[d] = shape[i];
        for (int j = 0; j < nops; j++) it->strides[j][d] = elem_strides[j][i] * (int64_t)elem_size;
        d++;
    }
    if (d == 0) { /* a scalar: one element */
        it->shape[0] = 1;
        for (int j = 0; j < nops; j++) it->strides[j][0] = 0;
        d = 1;
    }
    /* Merge axis i into axis i+1 where every operand is contiguous across them. */
    int out = 0;
    for (int i = 1; i < d; i++) {
        int mergeable = 1;
        for (int j = 0; j < nops; j++)
            if (it->strides[j][out] != it->strides[j][i] * it->shape[i]) { mergeable = 0; break; }
        if (mergeable) {
            it->shape[out] *= it->shape[i];
            for (int j = 0; j < nops; j++) it->strides[j][out] = it->strides[j][i];
        } else {
            out++;
            it->shape[out] = it->shape[i];
            for (int j = 0; j < nops; j++) it->strides[j][out] = it->strides[j][i];
        }
    }
    it->ndim = out + 1;
}

size_t ag_nditer_size(const ag_nditer *it) {
    size_t n = 1;
    for (int i = 0; i < it->ndim; i++) n *= (size_t)it->shape[i];
    return n;
}

void ag_nditer_run(const ag_nditer *it, size_t begin, size_t end, ag_inner_fn fn, void *ctx) {
    const int nd = it->ndim, last = nd - 1;
    int64_t idx[AG_MAX_DIMS];
    char *p[4];
    int64_t s[4];
    /* Multi-index of `begin`. */
    size_t rem = begin;
    for (int i = last; i >= 0; i--) {
        idx[i] = (int64_t)(rem % (size_t)it->shape[i]);
        rem /= (size_t)it->shape[i];
    }
    for (int j = 0; j < it->nops; j++) {
        p[j] = it->base[j];
        for (int i = 0; i < nd; i++) p[j] += idx[i] * it->strides[j][i];
        s[j] = it->strides[j][last];
    }
    size_t pos = begin;
    while (pos < end) {
        size_t run = (size_t)(it->shape[last] - idx[last]);
        if (run > end - pos) run = end - pos;
        fn(ctx, run, p, s);
        pos += run;
        if (pos >= end) break;
        /* Advance: the innermost axis by `run`, then carry. */
        idx[last] += (int64_t)run;
        for (int j = 0; j < it->nops; j++) p[j] += (int64_t)run * s[j];
        for (int i = last; i > 0 && idx[i] == it->shape[i]; i--) {
            idx[i] = 0;
            idx[i - 1]++;
            for (int j = 0; j < it->nops; j++)
                p[j] += it->strides[j][i - 1] - it->shape[i] * it->strides[j][i];
        }
    }
}

typedef struct {
    const ag_nditer *it;
    ag_inner_fn fn;
    void *ctx;
} run_job;

static void run_range(void *data, size_t begin, size_t end) {
    const run_job *job = data;
    ag_nditer_run(job->it, begin, end, job->fn, job->ctx);
}

void ag_nditer_run_parallel(const ag_nditer *it, size_t grain, ag_inner_fn fn, void *ctx) {
    run_job job = {it, fn, ctx};
    ag_parallel_for(ag_nditer_size(it), grain, run_range, &job);
}
