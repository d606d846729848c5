/* SIMD dispatch flag, thread count and the parallel-for over the OpenMP runtime. */
#define _POSIX_C_SOURCE 199309L
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cblas.h>
#include "ag_internal.h"

/* The OpenMP runtime's entry points, declared by hand: the library builds
 * without -fopenmp (no unsafeFlags), so `#pragma omp` is not available. */
extern void GOMP_parallel(void (*fn)(void *), void *data, unsigned num_threads, unsigned flags);
extern int omp_get_thread_num(void);
extern int omp_get_num_threads(void);
extern int omp_get_num_procs(void);
/* LLVM libomp: how long idle workers spin before sleeping. Spinning makes
 * the next parallel region start at once instead of after a futex wake-up;
 * with no second pool (OpenBLAS stays on one thread) a spinning worker only
 * holds a core the caller's thread is not using. */
extern void kmp_set_blocktime(int milliseconds);
#ifndef AG_BLOCKTIME_MS
#define AG_BLOCKTIME_MS 20
#endif

static _Atomic int g_isa = -1;     /* -1: not probed yet */
static _Atomic int g_threads = 0;  /* 0: not set yet */

/* This thread's scoped settings (ag_scope_isa, ag_scope_num_threads); -1
 * and 0 follow the process-wide ones. The pool's threads take the caller's
 * level for the work they run for it (parallel_trampoline). */
static _Thread_local int t_isa = -1;
static _Thread_local int t_threads = 0;

#if AG_X86
/* XCR0: which register states the OS saves on a context switch. */
static uint64_t xgetbv0(void) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}
#endif

int ag_isa_supported(void) {
#if AG_X86
    static _Atomic int supported = -1;
    int level = atomic_load_explicit(&supported, memory_order_relaxed);
    if (level >= 0) return level;
    __builtin_cpu_init();
    level = AG_ISA_PORTABLE;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        level = AG_ISA_AVX2;
        /* XMM, YMM, opmask and both halves of the ZMM registers saved (bits 1, 2, 5, 6, 7). */
        if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
            __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
            (xgetbv0() & 0xE6) == 0xE6)
            level = AG_ISA_AVX512;
    }
    atomic_store(&supported, level);
    return level;
#else
    return AG_ISA_PORTABLE;
#endif
}

#if AG_X86
#include <cpuid.h>

/* AMD's family 0x19 (Zen 3 and Zen 4; only Zen 4 has AVX-512) runs each
 * 512-bit operation as two halves on 256-bit pipes. Which other CPUs do so
 * (Intel parts with one 512-bit FMA port) CPUID does not say: they count as
 * full width. */
static int splits_512bit_ops(void) {
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid(0, &eax, &ebx, &ecx, &edx)) return 0;
    /* "AuthenticAMD" in EBX, EDX, ECX. */
    if (ebx != 0x68747541u || edx != 0x69746e65u || ecx != 0x444d4163u) return 0;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
    unsigned family = (eax >> 8) & 0xF;
    if (family == 0xF) family += (eax >> 20) & 0xFF;
    return family == 0x19;
}
#endif

int ag_fma_datapath_bits(void) {
#if AG_X86
    static _Atomic int bits = 0;
    int b = atomic_load_explicit(&bits, memory_order_relaxed);
    if (b) return b;
    int top = ag_isa_supported();
    b = top >= AG_ISA_AVX512 ? (splits_512bit_ops() ? 256 : 512) : top >= AG_ISA_AVX2 ? 256 : 128;
    atomic_store(&bits, b);
    return b;
#else
    return 128;
#endif
}

int ag_f32_flops_per_cycle(void) {
    int level = ag_isa();
    int width = level >= AG_ISA_AVX512 ? 512 : level >= AG_ISA_AVX2 ? 256 : 128;
    int bits = ag_fma_datapath_bits();
    if (bits < width) width = bits;
    /* Two pipes, each an FMA (two FLOP) per float32 lane. */
    return 2 * 2 * width / 32;
}

static int clamp_isa(int level) {
    int top = ag_isa_supported();
    if (level < AG_ISA_PORTABLE) level = AG_ISA_PORTABLE;
    return level > top ? top : level;
}

/* The process's starting level: the CPU's, lowered by AUTOGRAD_ISA or AUTOGRAD_PORTABLE=1. */
static int default_isa(void) {
    int level = ag_isa_supported();
    const char *portable = getenv("AUTOGRAD_PORTABLE");
    if (portable && portable[0] == '1') return AG_ISA_PORTABLE;
    const char *isa = getenv("AUTOGRAD_ISA");
    if (isa) {
        if (strcmp(isa, "portable") == 0) return AG_ISA_PORTABLE;
        if (strcmp(isa, "avx2") == 0) return clamp_isa(AG_ISA_AVX2);
        if (strcmp(isa, "avx512") == 0) return clamp_isa(AG_ISA_AVX512);
    }
    return level;
}

int ag_isa(void) {
    if (t_isa >= 0) return t_isa;
    int level = atomic_load_explicit(&g_isa, memory_order_relaxed);
    if (level < 0) {
        level = default_isa();
        atomic_store(&g_isa, level);
    }
    return level;
}

void ag_set_isa(int level) { atomic_store(&g_isa, clamp_isa(level)); }

int ag_scope_isa(int level) {
    int previous = t_isa;
    t_isa = level < 0 ? -1 : clamp_isa(level);
    return previous;
}

int ag_simd_enabled(void) { return ag_isa() >= AG_ISA_AVX2; }

/* The level "SIMD on" means: the environment's default, or AVX2 if that is portable. */
static int simd_on_level(void) {
    int level = default_isa();
    return clamp_isa(level >= AG_ISA_AVX2 ? level : AG_ISA_AVX2);
}

void ag_set_simd_enabled(int enabled) { ag_set_isa(enabled ? simd_on_level() : AG_ISA_PORTABLE); }

int ag_scope_simd(int enabled) {
    int previous = t_isa;
    t_isa = enabled < 0 ? -1 : (enabled ? simd_on_level() : AG_ISA_PORTABLE);
    return previous;
}

/*
 * One thread story: every parallel kernel, GEMM included, runs on the OpenMP
 * runtime's pool, and OpenBLAS itself stays on one thread. GEMMs are split
 * into slabs that each thread hands to single-threaded OpenBLAS (gemm.c). A
 * pthreads OpenBLAS pool next to another pool spins on the cores the other
 * needs; with one pool whose workers sleep when idle, nothing competes.
 */
int ag_num_threads(void) {
    if (t_threads > 0) return t_threads;
    int n = atomic_load_explicit(&g_threads, memory_order_relaxed);
    if (n <= 0) {
        n = omp_get_num_procs();
        if (n < 1) n = 1;
        openblas_set_num_threads(1);
        atomic_store(&g_threads, n);
    }
    return n;
}

void ag_set_num_threads(int n) {
    if (n < 1) n = 1;
    openblas_set_num_threads(1);
    atomic_store(&g_threads, n);
}

int ag_scope_num_threads(int n) {
    int previous = t_threads;
    if (n > 0) openblas_set_num_threads(1);
    t_threads = n > 0 ? n : 0;
    return previous;
}

typedef struct {
    ag_range_fn fn;
    void *ctx;
    size_t n;
    int isa;  /* the caller's level, for the pool's threads */
} parallel_job;

static void parallel_trampoline(void *data) {
    const parallel_job *job = data;
    size_t t = (size_t)omp_get_thread_num();
    size_t nt = (size_t)omp_get_num_threads();
    size_t chunk = (job->n + nt - 1) / nt;
    size_t begin = t * chunk;
    size_t end = begin + chunk < job->n ? begin + chunk : job->n;
    int saved = t_isa;
    t_isa = job->isa;
    if (begin < end) job->fn(job->ctx, begin, end);
    t_isa = saved;
}

void ag_parallel_for(size_t n, size_t grain, ag_range_fn fn, void *ctx) {
    if (n == 0) return;
    size_t threads = (size_t)ag_num_threads();
    if (grain == 0) grain = 1;
    size_t useful = n / grain;
    if (useful < threads) threads = useful;
    if (threads < 2) {
        fn(ctx, 0, n);
        return;
    }
    static _Thread_local int blocktime_set = 0;
    if (!blocktime_set) {
        kmp_set_blocktime(AG_BLOCKTIME_MS);
        blocktime_set = 1;
    }
    parallel_job job = {fn, ctx, n, ag_isa()};
    GOMP_parallel(parallel_trampoline, &job, (unsigned)threads, 0);
}

double ag_now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double ag_estimate_clock_hz(double seconds) {
    /* Each `x += 1` depends on the previous one: one add per cycle at best.
     * The empty asm keeps the compiler from folding the chain. */
    uint64_t x = 0, adds = 0;
    double start = ag_now_seconds(), elapsed = 0;
    while (elapsed < seconds) {
        for (int i = 0; i < 100000; i++) {
            x += 1; __asm__ volatile("" : "+r"(x));
            x += 1; __asm__ volatile("" : "+r"(x));
            x += 1; __asm__ volatile("" : "+r"(x));
            x += 1; __asm__ volatile("" : "+r"(x));
            x += 1; __asm__ volatile("" : "+r"(x));
            x += 1; __asm__ volatile("" : "+r"(x));
            x += 1; __asm__ volatile("" : "+r"(x));
            x += 1; __asm__ volatile("" : "+r"(x));
        }
        adds += 800000;
        elapsed = ag_now_seconds() - start;
    }
    return (double)adds / elapsed;
}
