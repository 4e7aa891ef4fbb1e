/*
 * jit.c: naasc_jit_provider_create (declared in api/naasc.h): the LLVM JIT
 * of codegen/ wrapped as a NaascKernelProvider (api/internal.h).  Built
 * into its own libraries (the static naasc_jit, libnaasc_jit.so), never
 * into libnaasc.so, which stays free of LLVM.
 *
 * Invariants:
 *   - the Codegen is created at the first open, and kept until destroy:
 *     kernels compiled for one run are cached for the next;
 *   - codegen_kernel serializes its callers (codegen.h), so streams on
 *     different threads may share the provider;
 *   - a kernel whose nloops carries RT_KERNEL_I32 (runtime/runtime.h) is an
 *     integer mac layer's, compiled by codegen_kernel_i32.
 */
#include <stdlib.h>

#include "api/internal.h"
#include "api/naasc.h"
#include "codegen/codegen.h"
#include "runtime/runtime.h"

static Rc jit_open(void *self, Diag *d) {
  Codegen **cg = self;
  if (!*cg) *cg = codegen_create(d);
  return *cg ? RC_OK : RC_INTERNAL;
}

/* An integer layer's kernel comes tagged with RT_KERNEL_I32 (runtime.h). */
static Rc jit_compile(void *self, const TileKernel *k, KernelFn *fn, Diag *d) {
  if (k->nloops & RT_KERNEL_I32) {
    TileKernel ki = *k;
    ki.nloops &= ~RT_KERNEL_I32;
    return codegen_kernel_i32(*(Codegen **)self, &ki, fn, d);
  }
  return codegen_kernel(*(Codegen **)self, k, fn, d);
}

static void jit_stats(const void *self, int64_t *kernels, double *seconds) {
  Codegen *const *cg = self;
  *kernels = 0, *seconds = 0;
  if (*cg) codegen_stats(*cg, kernels, seconds);
}

static void jit_destroy(NaascKernelProvider *p) {
  codegen_destroy(*(Codegen **)p->self);
  free(p->self);
  free(p);
}

NaascKernelProvider *naasc_jit_provider_create(void) {
  NaascKernelProvider *p = calloc(1, sizeof *p);
  Codegen **cg = calloc(1, sizeof *cg);
  if (!p || !cg) {
    free(p), free(cg);
    return NULL;
  }
  *p = (NaascKernelProvider){.self = cg,
                             .open = jit_open,
                             .compile = jit_compile,
                             .stats = jit_stats,
                             .destroy = jit_destroy};
  return p;
}
