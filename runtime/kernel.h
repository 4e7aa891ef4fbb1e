/*
 * kernel.h: running one compute tile (ir/kernel.h) on the host: the plain C
 * reference, and the call of a compiled kernel through libffi.
 *
 * kernel_ref is the definition of what a TileKernel computes: the loops in
 * order, outermost first, and in the innermost body the float32 product
 * i*w rounded, then added to o and rounded (no contraction into an FMA:
 * this file is built with -ffp-contract=off).  Compiled kernels
 * (backend/codegen.c) perform the same operations in the same order per
 * output element, so their results are bit-identical to kernel_ref's.
 *
 * Both functions require a kernel that passes the checks of codegen_kernel
 * (1 <= nloops <= KERNEL_MAX_LOOPS, bounds >= 1, strides >= 0, no index
 * overflows int64), buffers that hold every index the kernel touches, and o
 * overlapping neither i nor w.  Both are reentrant: any number of threads
 * may call them at once.
 */
#ifndef NAASC_RUNTIME_KERNEL_H
#define NAASC_RUNTIME_KERNEL_H

/* ir/kernel.h by path: this file has the same name, and a quoted include
 * looks in the including file's folder first. */
#include "../ir/kernel.h"

/* o[oi] += i[ii] * w[wi] over the kernel's loop nest (an iterative odometer). */
void kernel_ref(const TileKernel *k, float *o, const float *i, const float *w);

/* Calls fn(o, i, w) through libffi (one call interface, prepared once). */
void kernel_call_ffi(KernelFn fn, float *o, const float *i, const float *w);

#endif
