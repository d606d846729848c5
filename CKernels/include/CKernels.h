/*
 * CKernels: stateless numeric kernels for Autograd.
 *
 * Every kernel takes raw pointers and sizes, works on float32 or float64
 * (chosen by an `ag_dtype` argument), and allocates nothing: scratch memory,
 * when a kernel needs any, comes from the caller. Strides and sizes are in
 * elements, not bytes. Output buffers never alias inputs unless a kernel says so.
 */
#ifndef AG_CKERNELS_H
#define AG_CKERNELS_H

#include "ag_runtime.h"
#include "ag_elementwise.h"
#include "ag_reduce.h"
#include "ag_softmax.h"
#include "ag_gemm.h"
#include "ag_copy.h"
#include "ag_optim.h"
#include "ag_index.h"
#include "ag_blas.h"
#include "ag_conv.h"
#include "ag_pool.h"
#include "ag_norm.h"

#endif
