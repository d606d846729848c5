/* OpenBLAS's CBLAS interface, for callers (the benchmark runner) that time it raw. */
#ifndef AG_BLAS_H
#define AG_BLAS_H
#include <cblas.h>
#endif
