/*
 * runtime.h: the public interface of runtime/ (included as
 * "runtime/runtime.h"): it loads a command stream
 * (docs/cmd-format.md), validates it completely before anything runs,
 * executes it on buffers sized from the stream's architecture, counts the
 * reads, fills and updates of every storage level and tensor the way the
 * cost model does (docs/runtime.md), and hands back the output tensors.
 *
 * Layering: runtime -> stream, ir; and frontend, host for the layers run on
 * the host (runtime/host.c: their nodes imported and evaluated).  Compute tiles run through a kernel
 * provider the caller injects (RuntimeOptions.compile, e.g. the LLVM JIT of
 * codegen/codegen.h), called through libffi; without one, or with no_jit,
 * kernel_ref (stream/stream.h) runs them.  Only runtime/ffi.c includes
 * <ffi.h>.
 *
 * Invariants:
 *   - rt_load never trusts the stream: every read is bounds-checked, every
 *     index a layer can form is checked against its tensor (and padding),
 *     every loop, tile and kernel against what the runtime derives itself
 *     from the layer and the architecture.  A stream that loads runs without
 *     reading or writing outside any buffer;
 *   - rt_load sizes everything before it allocates anything big: a stream
 *     that needs more memory than its cap is refused before its tensors
 *     are allocated;
 *   - an RtProgram owns a copy of everything it needs (the caller may free
 *     the bytes after rt_load).
 */
#ifndef NAASC_RUNTIME_H
#define NAASC_RUNTIME_H

#include <stdio.h>

#include "ir/ir.h"
#include "stream/stream.h"

typedef struct RtProgram RtProgram;

/* Calls a compiled kernel fn(o, i, w) through libffi (one call interface,
 * prepared once); the same contract as kernel_ref.  Reentrant. */
void kernel_call_ffi(KernelFn fn, float *o, const float *i, const float *w);

/* Loads and validates a stream.  expect (may be NULL) is the architecture
 * the caller means to run on: a stream for another one is refused. */
Rc rt_load(const uint8_t *buf, size_t len, const Arch *expect, RtProgram **out, Diag *d);
/* rt_load with a cap on the memory the program may take (rt_load's is
 * RT_DEFAULT_MAX_MEMORY, naasc-run --max-memory): its tensors, packed
 * weights and the interpreter's scratch, counted before anything is
 * allocated, and when it runs the tile buffers of each mac layer.  A stream
 * that needs more is refused (RC_BADINPUT, the need reported); so is a run. */
#define RT_DEFAULT_MAX_MEMORY (INT64_C(4) << 30)
Rc rt_load_capped(const uint8_t *buf, size_t len, const Arch *expect, int64_t max_memory,
                  RtProgram **out, Diag *d);
/* The bytes the loaded program holds (tensors, packed weights, scratch,
 * host layers' nodes), with the intermediate values sharing storage
 * (runtime/memplan.c); rt_memory_unshared: the same with every value in a
 * buffer of its own. */
int64_t rt_memory(const RtProgram *p);
int64_t rt_memory_unshared(const RtProgram *p);
void rt_destroy(RtProgram *p);

/* The text disassembly of a loaded stream (naasc --emit=cmd-text). */
void rt_disasm(FILE *f, const RtProgram *p);

/* A tensor as the runtime holds it: dense row-major elements of dtype. */
typedef struct {
  const char *name;
  DType dtype;
  int rank;
  int64_t dims[NAASC_MAX_RANK];
  int64_t numel;
  TensorRole role;
  void *data; /* numel * dtype_size(dtype) bytes, owned by the program; an
                 intermediate value (TR_VALUE) shares storage with values of
                 disjoint lifetimes: its data is its own only from its first
                 layer to its last one (runtime/memplan.c) */
} RtTensor;

int rt_ntensors(const RtProgram *p); /* ids 1..n */
const RtTensor *rt_tensor(const RtProgram *p, int id);
int rt_find_tensor(const RtProgram *p, const char *name); /* 0 if none */
const char *rt_arch_name(const RtProgram *p);

/* Binds a graph input: shape and element type must equal the stream's. */
Rc rt_set_input(RtProgram *p, const char *name, DType dt, int rank, const int64_t *dims,
                const void *data, Diag *d);

typedef struct {
  /* Compiles a kernel into *fn; NULL (or no_jit) uses the C reference. */
  Rc (*compile)(void *ctx, const TileKernel *k, KernelFn *fn, Diag *d);
  void *compile_ctx;
  bool no_jit;
  bool count;        /* count accesses per level (the mapped mac layers) */
  bool count_exact;  /* follow every iteration, not Timeloop's evaluation points */
  bool reference;    /* every layer through the reference interpreter, no tiling */
  bool skip_compute; /* mac layers: walk the tiles and count, run no kernels (count tests) */
  bool inner;        /* compute at the innermost level: every level's slots held (slow) */
} RuntimeOptions;

void rt_options_default(RuntimeOptions *o);

/* RuntimeOptions.compile is also asked for the tile kernels of integer mac
 * layers (runtime/qmac.c: o += i*w on int32_t words, wrapping modulo 2^32,
 * kernel_ref_i32): the TileKernel it gets then has RT_KERNEL_I32 added to
 * its nloops (the loops, bounds and strides are the kernel's), and the
 * function it returns is called with int32_t operands through the KernelFn
 * signature.  A provider that does not compile them refuses the kernel as it
 * would any with too many loops, and the run stops with its message. */
#define RT_KERNEL_I32 0x100

/* Runs every layer in order.  RC_BADINPUT if an input is unbound or a
 * gather index is out of range (reported naming the layer). */
Rc rt_run(RtProgram *p, const RuntimeOptions *o, Diag *d);

/* Per mapped mac layer: the accesses counted while it ran. */
typedef struct {
  const char *name;
  bool counted; /* a mapped mac layer that ran with counting on */
  bool exact;   /* counted over every iteration (count_exact) */
  int nlevels;
  AccessCounts total[ACCEL_MAX_LEVELS][NTENSORS]; /* summed over utilized instances */
  int64_t macs;                                   /* MACs the compute tiles performed */
  int64_t tiles;                                  /* compute tiles run */
  /* What the executor itself moved: words filled into each level's slot of
   * each tensor (unchanged input and weight tiles are not refilled), and
   * output words written back from each level. */
  int64_t moved[ACCEL_MAX_LEVELS][NTENSORS];
  int64_t drained[ACCEL_MAX_LEVELS];
  int held; /* the deepest level the executor held as buffers (its compute
                            level); moved and drained are 0 below it; -1: no tiles (a
                            whole-tensor MatMul).  A layer of a depth-first group sums
                            its tile layers' counts and moved words; held is the
                            deepest level every one of them held */
  /* A layer run on the host (its op not on the accelerator): what it
   * evaluated.  Not part of the accelerator's counts above. */
  bool host;
  const char *host_op;   /* its ONNX op type */
  int64_t host_nodes;    /* nodes evaluated (If/Loop bodies count as their owner) */
  int64_t host_elements; /* elements of its outputs */
  double host_seconds;   /* wall time of its evaluation */
} RtLayerCounts;

/* The program's layers, one per nest of the module the stream was written
 * from (a depth-first group's tile layers are not among them: their counts
 * are their layer's). */
int rt_nlayers(const RtProgram *p);
const RtLayerCounts *rt_layer_counts(const RtProgram *p, int layer);
/* The layer's nest as the stream describes it (names point into p). */
const Nest *rt_layer_nest(const RtProgram *p, int layer);
/* The layer's mapping rebuilt from its loop commands (NULL if unmapped). */
const Mapping *rt_layer_mapping(const RtProgram *p, int layer);

/* The reference interpreter of one unmapped nest over dense tensors
 * (tensors[acc.tensor]); every NestKind.  Also what rt_run uses for
 * vector, move and view layers.  The tensors must match the nest. */
Rc rt_interpret_nest(const Nest *n, RtTensor *tensors, int ntensors, Diag *d);

#endif
