/*
 * codegen.c: compute tiles (stream/stream.h) compiled to host code with the
 * LLVM C API: one LLVM IR function per distinct TileKernel and element
 * type (float, or int32 for integer mac layers), optimized with
 * LLVM's O2 pipeline for the host CPU, added to an ORC LLJIT and looked up
 * as a KernelFn.  The only file of naasc that includes <llvm-c/...>.
 *
 * The function for a kernel with loops l = 0..n-1 (outermost first) is
 *
 *     void k(float *noalias o, const float *noalias i, const float *noalias w)
 *       for x0 in [0, bound0) ... for x(n-1) in [0, bound(n-1)):
 *         oi = sum x_l * stride[O][l]   (likewise ii, wi)
 *         o[oi] = o[oi] + (i[ii] * w[wi])
 *
 * with every bound and stride a constant.  An integer mac layer's kernel
 * (codegen_kernel_i32) is the same nest on int32_t words, o[oi] = o[oi] +
 * i[ii] * w[wi] with LLVM's plain mul and add (no nsw/nuw flags: both wrap
 * modulo 2^32, as kernel_ref_i32 in runtime/qmac.c computes in uint32_t),
 * so any order LLVM picks (vectorized, reassociated) gives the same bits.
 * Invariants that make the float kernel bit-identical to kernel_ref
 * (stream/kernel.c):
 *   - one fmul and one fadd per iteration, in the reference's operand
 *     order, with no fast-math flags: LLVM may not reassociate, contract
 *     into FMA (TargetOptions keep AllowFPOpFusion at Standard, which fuses
 *     only llvm.fmuladd, never emitted here) or reorder the updates of one
 *     output element (each is a memory dependence);
 *   - loops are in the kernel's order, so each output element sees its
 *     updates in the reference's order; vectorization across distinct
 *     output elements does not change any element's sequence, and a
 *     float reduction is never reassociated (LLVM vectorizes one only with
 *     the reassoc flag, or as an in-order reduction, which keeps the order);
 *   - noalias on the operands encodes the contract of kernel_ref
 *     (o overlaps neither i nor w), which is what lets LLVM vectorize.
 *
 * Compiled code is cached by value (kernel_equal and the element type) in
 * an open-addressing table, so each distinct kernel is compiled once per
 * Codegen.  A mutex
 * serializes codegen_kernel and codegen_stats, so any number of threads
 * may share one Codegen; the code it returns stays valid until
 * codegen_destroy.  LLVM errors come back through the Diag; none aborts.
 */
#include <llvm-c/Analysis.h>
#include <llvm-c/Core.h>
#include <llvm-c/Error.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "codegen/codegen.h"

typedef struct {
  TileKernel k;
  bool i32;    /* the int32 kernel of k (codegen_kernel_i32) */
  KernelFn fn; /* NULL: the slot is empty */
} CacheSlot;

struct Codegen {
  pthread_mutex_t lock;
  LLVMOrcLLJITRef jit;
  LLVMTargetMachineRef tm; /* the host machine, for the O2 pipeline's cost models */
  LLVMPassBuilderOptionsRef pbo;
  CacheSlot *slot; /* cap slots, cap a power of two, at most half full */
  uint32_t cap, used;
  int64_t nkernels; /* compiled (cache misses that succeeded) */
  int64_t nnames;   /* symbols used, failed compiles included */
  double seconds;   /* spent compiling them: IR, O2, machine code, lookup */
};

static pthread_once_t llvm_once = PTHREAD_ONCE_INIT;
static int llvm_init_failed;

static void llvm_init(void) {
  llvm_init_failed = LLVMInitializeNativeTarget() || LLVMInitializeNativeAsmPrinter();
}

static double now_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Reports an LLVM error (and consumes it). */
static Rc llvm_error(Diag *d, const char *what, LLVMErrorRef e) {
  char *msg = LLVMGetErrorMessage(e);
  diag_error(d, "codegen", "%s: %s", what, msg);
  LLVMDisposeErrorMessage(msg);
  return RC_INTERNAL;
}

/* The invariants of a TileKernel (stream.h), and no index or MAC count beyond int64. */
static Rc kernel_check(const TileKernel *k, Diag *d) {
  if (k->nloops < 1 || k->nloops > KERNEL_MAX_LOOPS) {
    diag_error(d, "codegen", "kernel has %d loops, expected 1 to %d", k->nloops, KERNEL_MAX_LOOPS);
    return RC_BADINPUT;
  }
  int64_t macs = 1, top[KOP_N] = {0};
  for (int l = 0; l < k->nloops; l++) {
    if (k->bound[l] < 1) {
      diag_error(d, "codegen", "kernel loop %d has bound %lld, expected >= 1", l,
                 (long long)k->bound[l]);
      return RC_BADINPUT;
    }
    if (__builtin_mul_overflow(macs, k->bound[l], &macs)) {
      diag_error(d, "codegen", "kernel MAC count overflows 64 bits");
      return RC_BADINPUT;
    }
    for (int op = 0; op < KOP_N; op++) {
      int64_t s = k->stride[op][l], step;
      if (s < 0) {
        diag_error(d, "codegen", "kernel loop %d has %c stride %lld, expected >= 0", l, "oiw"[op],
                   (long long)s);
        return RC_BADINPUT;
      }
      if (__builtin_mul_overflow(k->bound[l] - 1, s, &step) ||
          __builtin_add_overflow(top[op], step, &top[op])) {
        diag_error(d, "codegen", "kernel index of operand %c overflows 64 bits", "oiw"[op]);
        return RC_BADINPUT;
      }
    }
  }
  return RC_OK;
}

/* FNV-1a over the fields kernel_equal compares, and the element type. */
static uint64_t kernel_hash(const TileKernel *k, bool i32) {
  uint64_t h = 14695981039346656037u;
  int64_t v[2 + KERNEL_MAX_LOOPS * (1 + KOP_N)];
  int n = 0;
  v[n++] = i32;
  v[n++] = k->nloops;
  for (int l = 0; l < k->nloops; l++) {
    v[n++] = k->bound[l];
    for (int op = 0; op < KOP_N; op++) v[n++] = k->stride[op][l];
  }
  const unsigned char *p = (const unsigned char *)v;
  for (size_t b = 0; b < (size_t)n * sizeof v[0]; b++) h = (h ^ p[b]) * 1099511628211u;
  return h;
}

/* The slot holding k of element type i32, or the empty slot where it belongs. */
static CacheSlot *cache_find(CacheSlot *slot, uint32_t cap, const TileKernel *k, bool i32) {
  uint32_t s = (uint32_t)kernel_hash(k, i32) & (cap - 1);
  while (slot[s].fn && !(slot[s].i32 == i32 && kernel_equal(&slot[s].k, k)))
    s = (s + 1) & (cap - 1);
  return &slot[s];
}

static bool cache_grow(Codegen *cg) {
  uint32_t cap = cg->cap ? cg->cap * 2 : 64;
  CacheSlot *slot = xcalloc(cap, sizeof *slot);
  if (!slot) return false;
  for (uint32_t s = 0; s < cg->cap; s++)
    if (cg->slot[s].fn) *cache_find(slot, cap, &cg->slot[s].k, cg->slot[s].i32) = cg->slot[s];
  xfree(cg->slot);
  cg->slot = slot;
  cg->cap = cap;
  return true;
}

Codegen *codegen_create(Diag *d) {
  pthread_once(&llvm_once, llvm_init);
  if (llvm_init_failed) {
    diag_error(d, "codegen", "LLVM has no native target for this host");
    return NULL;
  }
  Codegen *cg = xcalloc(1, sizeof *cg);
  if (!cg) {
    diag_error(d, "codegen", "out of memory");
    return NULL;
  }
  pthread_mutex_init(&cg->lock, NULL);
  char *triple = LLVMGetDefaultTargetTriple();
  char *cpu = LLVMGetHostCPUName();
  char *features = LLVMGetHostCPUFeatures();
  char *msg = NULL;
  LLVMTargetRef target;
  if (LLVMGetTargetFromTriple(triple, &target, &msg)) {
    diag_error(d, "codegen", "no LLVM target for '%s': %s", triple, msg);
    LLVMDisposeMessage(msg);
    goto fail;
  }
  /* Two machines for the host: one the JIT takes over (and destroys), one
   * for the pass pipeline, so both see the same CPU and features. */
  LLVMTargetMachineRef jtm =
      LLVMCreateTargetMachine(target, triple, cpu, features, LLVMCodeGenLevelDefault,
                              LLVMRelocDefault, LLVMCodeModelJITDefault);
  cg->tm = LLVMCreateTargetMachine(target, triple, cpu, features, LLVMCodeGenLevelDefault,
                                   LLVMRelocDefault, LLVMCodeModelJITDefault);
  if (!jtm || !cg->tm) {
    diag_error(d, "codegen", "cannot create an LLVM target machine for '%s' (%s)", triple, cpu);
    if (jtm) LLVMDisposeTargetMachine(jtm);
    goto fail;
  }
  LLVMOrcLLJITBuilderRef builder = LLVMOrcCreateLLJITBuilder();
  LLVMOrcLLJITBuilderSetJITTargetMachineBuilder(
      builder, LLVMOrcJITTargetMachineBuilderCreateFromTargetMachine(jtm));
  LLVMErrorRef e = LLVMOrcCreateLLJIT(&cg->jit, builder); /* consumes builder */
  if (e) {
    cg->jit = NULL;
    llvm_error(d, "cannot create the LLJIT", e);
    goto fail;
  }
  /* O2 code may call libm or memset-like helpers: resolve them in the process. */
  LLVMOrcDefinitionGeneratorRef gen;
  e = LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(
      &gen, LLVMOrcLLJITGetGlobalPrefix(cg->jit), NULL, NULL);
  if (e) {
    llvm_error(d, "cannot search the process for symbols", e);
    goto fail;
  }
  LLVMOrcJITDylibAddGenerator(LLVMOrcLLJITGetMainJITDylib(cg->jit), gen);
  cg->pbo = LLVMCreatePassBuilderOptions();
  LLVMDisposeMessage(triple);
  LLVMDisposeMessage(cpu);
  LLVMDisposeMessage(features);
  return cg;
fail:
  LLVMDisposeMessage(triple);
  LLVMDisposeMessage(cpu);
  LLVMDisposeMessage(features);
  codegen_destroy(cg);
  return NULL;
}

void codegen_destroy(Codegen *cg) {
  if (!cg) return;
  if (cg->jit) {
    LLVMErrorRef e = LLVMOrcDisposeLLJIT(cg->jit);
    if (e) LLVMConsumeError(e); /* nothing left to report it to */
  }
  if (cg->tm) LLVMDisposeTargetMachine(cg->tm);
  if (cg->pbo) LLVMDisposePassBuilderOptions(cg->pbo);
  pthread_mutex_destroy(&cg->lock);
  xfree(cg->slot);
  xfree(cg);
}

static void add_attr(LLVMContextRef c, LLVMValueRef fn, unsigned idx, const char *name) {
  unsigned kind = LLVMGetEnumAttributeKindForName(name, strlen(name));
  LLVMAddAttributeAtIndex(fn, idx, LLVMCreateEnumAttribute(c, kind, 0));
}

/* off + x * stride (nothing for stride 0); no wrap: kernel_check bounded it. */
static LLVMValueRef add_term(LLVMBuilderRef b, LLVMTypeRef i64, LLVMValueRef off, LLVMValueRef x,
                             int64_t stride) {
  if (stride == 0) return off;
  LLVMValueRef t = x;
  if (stride != 1) t = LLVMBuildNUWMul(b, x, LLVMConstInt(i64, (unsigned long long)stride, 0), "");
  return LLVMBuildNUWAdd(b, off, t, "");
}

static LLVMValueRef load_at(LLVMBuilderRef b, LLVMTypeRef et, LLVMValueRef base, LLVMValueRef off) {
  LLVMValueRef p = LLVMBuildInBoundsGEP2(b, et, base, &off, 1, "");
  LLVMValueRef v = LLVMBuildLoad2(b, et, p, "");
  LLVMSetAlignment(v, 4);
  return v;
}

/* Builds the function `name` for k (on int32 words if i32, else float)
 * into a new module of ctx. */
static LLVMModuleRef build_module(Codegen *cg, LLVMContextRef c, const TileKernel *k, bool i32,
                                  const char *name) {
  LLVMModuleRef m = LLVMModuleCreateWithNameInContext(name, c);
  LLVMSetTarget(m, LLVMOrcLLJITGetTripleString(cg->jit));
  LLVMSetDataLayout(m, LLVMOrcLLJITGetDataLayoutStr(cg->jit));
  LLVMTypeRef et = i32 ? LLVMInt32TypeInContext(c) : LLVMFloatTypeInContext(c);
  LLVMTypeRef i64 = LLVMInt64TypeInContext(c);
  LLVMTypeRef pf = LLVMPointerType(et, 0);
  LLVMTypeRef params[3] = {pf, pf, pf};
  LLVMValueRef fn =
      LLVMAddFunction(m, name, LLVMFunctionType(LLVMVoidTypeInContext(c), params, 3, 0));
  add_attr(c, fn, LLVMAttributeFunctionIndex, "nounwind");
  for (unsigned a = 1; a <= 3; a++) {
    add_attr(c, fn, a, "noalias");
    add_attr(c, fn, a, "nocapture");
    if (a > 1) add_attr(c, fn, a, "readonly");
  }
  LLVMValueRef base[KOP_N];
  for (int op = 0; op < KOP_N; op++) base[op] = LLVMGetParam(fn, (unsigned)op);

  LLVMBuilderRef b = LLVMCreateBuilderInContext(c);
  LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(c, fn, "entry"));
  LLVMValueRef zero = LLVMConstInt(i64, 0, 0), one = LLVMConstInt(i64, 1, 0);
  LLVMValueRef off[KOP_N] = {zero, zero, zero};
  LLVMValueRef x[KERNEL_MAX_LOOPS];
  LLVMBasicBlockRef head[KERNEL_MAX_LOOPS];
  /* Open the loops outermost first: bounds are >= 1, so each is a do-while. */
  for (int l = 0; l < k->nloops; l++) {
    LLVMBasicBlockRef pre = LLVMGetInsertBlock(b);
    head[l] = LLVMAppendBasicBlockInContext(c, fn, "loop");
    LLVMBuildBr(b, head[l]);
    LLVMPositionBuilderAtEnd(b, head[l]);
    x[l] = LLVMBuildPhi(b, i64, "x");
    LLVMAddIncoming(x[l], &zero, &pre, 1);
    for (int op = 0; op < KOP_N; op++) off[op] = add_term(b, i64, off[op], x[l], k->stride[op][l]);
  }
  /* The body: o[oi] = o[oi] + i[ii] * w[wi], as kernel_ref writes it
   * (kernel_ref_i32: mul and add wrapping modulo 2^32). */
  LLVMValueRef vi = load_at(b, et, base[KOP_I], off[KOP_I]);
  LLVMValueRef vw = load_at(b, et, base[KOP_W], off[KOP_W]);
  LLVMValueRef vo = load_at(b, et, base[KOP_O], off[KOP_O]);
  LLVMValueRef sum = i32 ? LLVMBuildAdd(b, vo, LLVMBuildMul(b, vi, vw, ""), "")
                         : LLVMBuildFAdd(b, vo, LLVMBuildFMul(b, vi, vw, ""), "");
  LLVMValueRef st =
      LLVMBuildStore(b, sum, LLVMBuildInBoundsGEP2(b, et, base[KOP_O], &off[KOP_O], 1, ""));
  LLVMSetAlignment(st, 4);
  /* Close them innermost first. */
  for (int l = k->nloops - 1; l >= 0; l--) {
    LLVMValueRef next = LLVMBuildNUWAdd(b, x[l], one, "");
    LLVMValueRef more = LLVMBuildICmp(b, LLVMIntULT, next,
                                      LLVMConstInt(i64, (unsigned long long)k->bound[l], 0), "");
    LLVMBasicBlockRef latch = LLVMGetInsertBlock(b);
    LLVMBasicBlockRef exit = LLVMAppendBasicBlockInContext(c, fn, "exit");
    LLVMBuildCondBr(b, more, head[l], exit);
    LLVMAddIncoming(x[l], &next, &latch, 1);
    LLVMPositionBuilderAtEnd(b, exit);
  }
  LLVMBuildRetVoid(b);
  LLVMDisposeBuilder(b);
  return m;
}

/* Builds, optimizes and JIT-compiles k as `name`; the caller holds the lock. */
static Rc compile(Codegen *cg, const TileKernel *k, bool i32, const char *name, KernelFn *fn,
                  Diag *d) {
  LLVMOrcThreadSafeContextRef tsc = LLVMOrcCreateNewThreadSafeContext();
  LLVMModuleRef m = build_module(cg, LLVMOrcThreadSafeContextGetContext(tsc), k, i32, name);
  char *msg = NULL;
  if (LLVMVerifyModule(m, LLVMReturnStatusAction, &msg)) {
    diag_error(d, "codegen", "invalid LLVM IR for %s (a codegen bug): %s", name, msg);
    LLVMDisposeMessage(msg);
    LLVMDisposeModule(m);
    LLVMOrcDisposeThreadSafeContext(tsc);
    return RC_INTERNAL;
  }
  LLVMDisposeMessage(msg);
  LLVMErrorRef e = LLVMRunPasses(m, "default<O2>", cg->tm, cg->pbo);
  if (e) {
    LLVMDisposeModule(m);
    LLVMOrcDisposeThreadSafeContext(tsc);
    return llvm_error(d, "the O2 pipeline failed", e);
  }
  /* The module keeps the context alive from here on. */
  LLVMOrcThreadSafeModuleRef tsm = LLVMOrcCreateNewThreadSafeModule(m, tsc);
  LLVMOrcDisposeThreadSafeContext(tsc);
  e = LLVMOrcLLJITAddLLVMIRModule(cg->jit, LLVMOrcLLJITGetMainJITDylib(cg->jit), tsm);
  if (e) return llvm_error(d, "cannot add the kernel module to the JIT", e);
  LLVMOrcExecutorAddress addr = 0;
  e = LLVMOrcLLJITLookup(cg->jit, &addr, name); /* compiles to machine code */
  if (e) return llvm_error(d, "cannot compile the kernel", e);
  if (!addr) {
    diag_error(d, "codegen", "the JIT returned no address for %s", name);
    return RC_INTERNAL;
  }
  /* Object to function pointer: POSIX guarantees the conversion. */
  *fn = (KernelFn)(uintptr_t)addr;
  return RC_OK;
}

/* codegen_kernel or codegen_kernel_i32 (i32). */
static Rc kernel_of(Codegen *cg, const TileKernel *k, bool i32, KernelFn *fn, Diag *d) {
  *fn = NULL;
  Rc rc = kernel_check(k, d);
  if (rc) return rc;
  pthread_mutex_lock(&cg->lock);
  if (cg->used + 1 > cg->cap / 2 && !cache_grow(cg)) {
    diag_error(d, "codegen", "out of memory");
    rc = RC_INTERNAL;
    goto done;
  }
  CacheSlot *s = cache_find(cg->slot, cg->cap, k, i32);
  if (s->fn) {
    *fn = s->fn;
    goto done;
  }
  double t0 = now_seconds();
  char name[32];
  snprintf(name, sizeof name, "naasc_kernel_%lld", (long long)cg->nnames++);
  rc = compile(cg, k, i32, name, fn, d);
  if (rc) goto done;
  s->k = *k;
  s->i32 = i32;
  s->fn = *fn;
  cg->used++;
  cg->nkernels++;
  cg->seconds += now_seconds() - t0;
done:
  pthread_mutex_unlock(&cg->lock);
  return rc;
}

Rc codegen_kernel(Codegen *cg, const TileKernel *k, KernelFn *fn, Diag *d) {
  return kernel_of(cg, k, false, fn, d);
}

Rc codegen_kernel_i32(Codegen *cg, const TileKernel *k, KernelFn *fn, Diag *d) {
  return kernel_of(cg, k, true, fn, d);
}

void codegen_stats(const Codegen *cg, int64_t *kernels, double *compile_seconds) {
  Codegen *m = (Codegen *)cg; /* the lock only */
  pthread_mutex_lock(&m->lock);
  if (kernels) *kernels = cg->nkernels;
  if (compile_seconds) *compile_seconds = cg->seconds;
  pthread_mutex_unlock(&m->lock);
}
