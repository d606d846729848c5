/* Allocation counting; see AllocationCounter.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include "AllocationCounter.h"

#if defined(__has_feature)
#  if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#    define AG_SANITIZER_ALLOCATOR 1
#  endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#  define AG_SANITIZER_ALLOCATOR 1
#endif

static _Atomic int counting = 0;
static _Atomic uint64_t count = 0;

static inline void note(void) {
    if (atomic_load_explicit(&counting, memory_order_relaxed))
        atomic_fetch_add_explicit(&count, 1, memory_order_relaxed);
}

uint64_t ag_allocation_count(void) { return atomic_load(&count); }

#if defined(AG_SANITIZER_ALLOCATOR)
/* A sanitizer owns malloc and must be the only one to interpose it (a second
 * interposer frees its pointers through glibc and aborts). It calls these
 * hooks on every allocation and free instead. */
#include <sanitizer/allocator_interface.h>

static void malloc_hook(const volatile void *p, size_t size) { (void)p; (void)size; note(); }
static void free_hook(const volatile void *p) { (void)p; }

void ag_allocation_counting(int on) {
    static _Atomic int installed = 0;
    if (on && !atomic_exchange(&installed, 1))
        __sanitizer_install_malloc_and_free_hooks(malloc_hook, free_hook);
    atomic_store(&counting, on);
}
int ag_allocation_counter_available(void) { return 1; }

#elif defined(__GLIBC__)
/* Defined in the executable, these take precedence over libc's malloc for
 * every library loaded, and forward to glibc's own entry points. */
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

void *malloc(size_t size) { note(); return __libc_malloc(size); }
void *calloc(size_t n, size_t size) { note(); return __libc_calloc(n, size); }
void *realloc(void *p, size_t size) { note(); return __libc_realloc(p, size); }
void free(void *p) { __libc_free(p); }
void *memalign(size_t alignment, size_t size) { note(); return __libc_memalign(alignment, size); }
void *aligned_alloc(size_t alignment, size_t size) { note(); return __libc_memalign(alignment, size); }

int posix_memalign(void **out, size_t alignment, size_t size) {
    if (alignment < sizeof(void *) || (alignment & (alignment - 1)) != 0) return EINVAL;
    note();
    void *p = __libc_memalign(alignment, size);
    if (!p && size) return ENOMEM;
    *out = p;
    return 0;
}

void ag_allocation_counting(int on) { atomic_store(&counting, on); }
int ag_allocation_counter_available(void) { return 1; }

#else
void ag_allocation_counting(int on) { (void)on; }
int ag_allocation_counter_available(void) { return 0; }
#endif
