/*
 * kernel.h: a compute tile, the unit of work the PE array executes between
 * two loads of its innermost buffers.  The command stream (backend/) names a
 * TileKernel per distinct tile shape; the runtime executes it either through
 * the plain C reference (runtime/) or as host code compiled with the LLVM C
 * API (backend/codegen.c) and called through libffi (runtime/).
 *
 * A kernel is a perfect nest of up to KERNEL_MAX_LOOPS loops, outermost
 * first, with constant bounds, around one multiply-accumulate
 *
 *     o[oi] += i[ii] * w[wi]      (float32)
 *
 * where each index is the sum over loops of (loop index x the operand's
 * element stride for that loop).  A convolution window is affine in the
 * loop indices (input row = p*stride + r*dilation), so one stride per loop
 * and operand covers it; padding was already written into the input tile
 * as zeros by the load that filled it.
 *
 * Invariants:
 *   - 1 <= nloops <= KERNEL_MAX_LOOPS; every bound >= 1;
 *   - strides are >= 0 (0: the loop does not index that operand); the
 *     caller guarantees every index stays inside the buffers it passes;
 *   - two kernels with equal fields (compare with kernel_equal) compute the
 *     same function, so compiled code is cached by value.
 */
#ifndef NAASC_KERNEL_H
#define NAASC_KERNEL_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define KERNEL_MAX_LOOPS 8

enum { KOP_O = 0, KOP_I, KOP_W, KOP_N }; /* operand order in strides and calls */

typedef struct {
  int nloops;
  int64_t bound[KERNEL_MAX_LOOPS];           /* outermost first */
  int64_t stride[KOP_N][KERNEL_MAX_LOOPS];   /* element stride per loop, per operand */
} TileKernel;

static inline bool kernel_equal(const TileKernel *a, const TileKernel *b) {
  if (a->nloops != b->nloops) return false;
  for (int l = 0; l < a->nloops; l++) {
    if (a->bound[l] != b->bound[l]) return false;
    for (int k = 0; k < KOP_N; k++)
      if (a->stride[k][l] != b->stride[k][l]) return false;
  }
  return true;
}

/* MACs one call performs: the product of the bounds. */
static inline int64_t kernel_macs(const TileKernel *k) {
  int64_t m = 1;
  for (int l = 0; l < k->nloops; l++) m *= k->bound[l];
  return m;
}

/* The signature of every compiled kernel (and of the C reference). */
typedef void (*KernelFn)(float *o, const float *i, const float *w);

#endif
