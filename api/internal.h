/*
 * internal.h: what a NaascKernelProvider (api/naasc.h's opaque handle) is,
 * shared by libnaasc.so (api/naasc.c, which runs a stream with one) and
 * the libraries that make one (api/jit.c, the LLVM JIT of codegen/).  Not
 * installed: the public header names the type only.
 *
 * Invariants:
 *   - a provider is a table of functions over its own state (self); the
 *     library that made it fills it, and destroy frees it whole, so
 *     libnaasc.so calls into the provider's library only through it (it
 *     links neither codegen/ nor LLVM);
 *   - open is called before the first compile of each run, with the run's
 *     Diag: a provider that cannot work on this host (the JIT: LLVM cannot
 *     target it) reports there, located as the run's other messages;
 *   - compile has runtime/'s RuntimeOptions.compile contract.
 */
#ifndef NAASC_API_INTERNAL_H
#define NAASC_API_INTERNAL_H

#include "ir/ir.h"
#include "stream/stream.h"

struct NaascKernelProvider {
  void *self;
  Rc (*open)(void *self, Diag *d);
  Rc (*compile)(void *self, const TileKernel *k, KernelFn *fn, Diag *d);
  /* kernels compiled so far and the seconds it took (may be NULL: none) */
  void (*stats)(const void *self, int64_t *kernels, double *seconds);
  void (*destroy)(struct NaascKernelProvider *p); /* frees self and p */
};

#endif
