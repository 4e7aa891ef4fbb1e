/*
 * codegen.h: the public interface of codegen/ (included as
 * "codegen/codegen.h"): compute-tile kernels (stream/stream.h's TileKernel)
 * compiled to host code with the LLVM C API.  codegen/ depends on stream/
 * and ir/; codegen.c is the only file of naasc that includes <llvm-c/...>.
 * The runtime never links it: a tool injects codegen_kernel as the
 * runtime's kernel provider (RuntimeOptions.compile).
 *
 * A Codegen owns an ORC LLJIT; each distinct TileKernel (kernel_equal) is
 * compiled once per element type (float, int32), with LLVM's O2 pipeline
 * for the host CPU, into a function whose results are bit-identical to
 * kernel_ref (kernel_ref_i32 for int32).  All calls on one Codegen
 * are serialized by its mutex: any number of threads may share it.
 * Compiled functions stay valid until codegen_destroy.
 */
#ifndef NAASC_CODEGEN_H
#define NAASC_CODEGEN_H

#include "ir/ir.h"
#include "stream/stream.h"

typedef struct Codegen Codegen;

/* A JIT for the host; NULL (reported) if LLVM cannot target it. */
Codegen *codegen_create(Diag *d);
void codegen_destroy(Codegen *cg);

/* The compiled function of k in *fn, from the cache or compiled now.
 * RC_BADINPUT (reported, *fn NULL) if k breaks the TileKernel invariants
 * (nloops outside 1..KERNEL_MAX_LOOPS, a bound < 1, a stride < 0) or an
 * index or its MAC count overflows int64; RC_INTERNAL (reported) if LLVM
 * fails.  The function requires o to overlap neither i nor w. */
Rc codegen_kernel(Codegen *cg, const TileKernel *k, KernelFn *fn, Diag *d);

/* codegen_kernel for an integer mac layer's tile (runtime/qmac.c): the
 * same loops around o[oi] += i[ii] * w[wi] on int32_t words, wrapping
 * modulo 2^32, bit-identical to kernel_ref_i32.  *fn has the KernelFn
 * signature; call it with int32_t operands.  Cached apart from the float
 * kernel of the same k. */
Rc codegen_kernel_i32(Codegen *cg, const TileKernel *k, KernelFn *fn, Diag *d);

/* Kernels compiled so far (cache hits not counted) and the wall-clock
 * seconds spent compiling them (IR, O2, machine code, symbol lookup). */
void codegen_stats(const Codegen *cg, int64_t *kernels, double *compile_seconds);

#endif
