/*
 * Counts heap allocations of the process it is linked into, for the
 * benchmark runner's allocations-per-step figure. Linked into the `autograd`
 * executable only (never the library). In a normal build it defines malloc
 * and friends, which in an executable take precedence over libc's for every
 * library loaded, and forwards them to glibc's own entry points; under
 * AddressSanitizer or ThreadSanitizer, which interpose malloc themselves, it
 * counts through the sanitizer's allocation hooks instead.
 */
#ifndef AG_ALLOCATION_COUNTER_H
#define AG_ALLOCATION_COUNTER_H

#include <stdint.h>

/** Starts (1) or stops (0) counting. */
void ag_allocation_counting(int on);

/** Allocation calls (malloc, calloc, realloc, aligned variants) counted so far. */
uint64_t ag_allocation_count(void);

/** 1 when the counter is active in this process (glibc), 0 when counts are unavailable. */
int ag_allocation_counter_available(void);

#endif
