/*
 * nest.h: the loop-nest IR.  One Nest per layer of the graph IR: a perfect
 * loop nest over named dims whose body reads and writes tensors through
 * affine index expressions.  A Module is the nests of one model plus the
 * tensors they touch; its text form (.nir, docs/ir.md) prints and parses
 * exactly: print -> parse -> print is byte-identical.
 *
 * Kinds of nest (NestKind):
 *   NK_MAC   multiply-accumulate on the PE array: O += I * W.  Convolution
 *            uses dims N G K C P Q R S; Gemm/MatMul the same with
 *            P=Q=R=S=1; ConvTranspose iterates over input positions and
 *            scatters into O (output index = p*stride + r*dilation - pad).
 *   NK_VEC   vector-unit op: element-wise, pooling, softmax, reductions,
 *            resize, batch norm.  `vop` names the op.
 *   NK_MOVE  data movement: copy with affine source and destination
 *            (concat pieces, slice, transpose, gather of constants).
 *   NK_VIEW  a new shape for the same row-major data (reshape, flatten,
 *            squeeze, unsqueeze, identity, dropout): no loops, no traffic.
 *
 * Invariants (nest_verify checks them):
 *   - every access has one index expression per tensor dim, affine in the
 *     nest's dims; an index may leave the tensor's bounds only by the
 *     access's declared padding.  A read of padding gives the op's identity
 *     (0 for mac and sums, -inf for maxpool; avgpool leaves it out of the
 *     count unless iparam[0] = count_include_pad); writes outside the bounds
 *     of a scatter (conv-transpose) are dropped;
 *   - dims have bound >= 1; names are unique within a nest.
 */
#ifndef NAASC_NEST_H
#define NAASC_NEST_H

#include "accel.h"
#include "ir.h"

#define NEST_MAX_DIMS 8
#define NEST_MAX_ACCESS 8

typedef enum { NK_MAC = 0, NK_VEC, NK_MOVE, NK_VIEW } NestKind;

typedef enum {
  ACC_READ = 0, /* operand read */
  ACC_WRITE,    /* result written once per point */
  ACC_UPDATE    /* result accumulated (+=) over the reduction dims */
} AccessKind;

typedef enum {
  TR_INPUT = 0, /* graph input */
  TR_WEIGHT,    /* constant operand (weights, bias, folded constants) */
  TR_VALUE,     /* intermediate produced by a nest */
  TR_OUTPUT     /* graph output (produced by a nest) */
} TensorRole;

typedef struct {
  int64_t coef[NEST_MAX_DIMS]; /* coefficient of each nest dim */
  int64_t cst;
} Affine;

typedef enum {
  IX_AFFINE = 0, /* one affine expression per tensor dim */
  IX_GATHER,     /* the op computes the index (resize, gather): the whole tensor may be read */
  IX_WHOLE       /* the whole tensor, as is (views, host ops) */
} IndexKind;

typedef struct {
  uint32_t tensor;             /* id in Module.tensors (0 = none) */
  AccessKind kind;
  IndexKind ix;
  const char *role;            /* "I", "W", "O", "B", "X", "Y", ... short name of the operand */
  int rank;
  Affine idx[NAASC_MAX_RANK];
  int64_t pad_lo[NAASC_MAX_RANK]; /* how far below 0 an index may go (zeros) */
  int64_t pad_hi[NAASC_MAX_RANK]; /* how far past dim-1 an index may go */
} Access;

typedef struct {
  const char *name;
  DType dtype;
  int rank;
  int64_t dims[NAASC_MAX_RANK];
  TensorRole role;
} NTensor;

typedef struct {
  const char *name; /* "N", "K", "d0", ... */
  int64_t bound;
  bool reduce;      /* a reduction dim (C, R, S of a conv; window dims of a pool) */
} NestDim;

/* A mac nest's mapping onto an accelerator (accel.h), with the names the
 * text form needs: the target architecture and its storage levels. */
typedef struct {
  char target[ACCEL_NAME_MAX];
  char level[ACCEL_MAX_LEVELS][ACCEL_NAME_MAX]; /* outermost (DRAM) first */
  Mapping m;
} NestMapping;

typedef struct {
  NestKind kind;
  const char *name;     /* the graph node's name */
  const char *loc;      /* "file.onnx:node 'conv1'" */
  const char *vop;      /* vector/move op: "relu", "maxpool", "add", "copy", ... */
  int ndims;
  NestDim dims[NEST_MAX_DIMS];
  int nacc;
  Access acc[NEST_MAX_ACCESS];
  /* Epilogue of a MAC nest, applied to each finished output. */
  bool has_bias;        /* the B access adds a per-output-channel bias */
  Op act;               /* fused activation or OP_NONE */
  float act_alpha, act_beta; /* its parameters (Clip min/max, LeakyRelu alpha, HardSigmoid) */
  float fparam[4];      /* vector-op parameters (epsilon, alpha, ...) by vop */
  int64_t iparam[4];
  const char *note;     /* free text left by a pass (e.g. a plugin's analysis), or NULL */
  NestMapping *map;     /* mac nests: the mapping once mapped (module arena), or NULL */
} Nest;

typedef struct {
  Arena arena;
  const char *name;
  NTensor *tensors;           /* [0] unused */
  uint32_t ntensors, captensors;
  Nest *nests;
  uint32_t nnests, capnests;
} Module;

Module *module_create(const char *name);
void module_destroy(Module *m);
uint32_t module_add_tensor(Module *m, const char *name, DType dt, int rank, const int64_t *dims,
                           TensorRole role); /* its id, 0 on failure */
uint32_t module_find_tensor(const Module *m, const char *name); /* 0 if none */
Nest *module_add_nest(Module *m, NestKind kind, const char *name); /* NULL on failure */
int64_t nest_macs(const Nest *n); /* product of dim bounds for NK_MAC, else 0 */

/* Text form (docs/ir.md). */
void module_print(FILE *f, const Module *m);
/* The same with only the nests named in names[0..n), each entry a comma-separated
 * list of names (all nests if n == 0). */
void module_print_filtered(FILE *f, const Module *m, const char *const *names, int n);
/* Parses the text form; errors carry line:col through d (d->file names the file). */
Rc module_parse(const char *text, size_t len, Module **out, Diag *d);
/* Checks the invariants; each broken rule is reported naming the nest. */
Rc module_verify(const Module *m, Diag *d);

/* The accelerator problem of a mac nest (dims N G K C P Q R S, stride and
 * dilation read off the windowed access); false if n is not such a nest. */
bool nest_problem(const Nest *n, Problem *p);
/* Checks that a mapping covers every dim of p exactly (Timeloop's rule for
 * imperfect factors); reports "map-coverage" errors through d. */
bool mapping_covers(const Mapping *m, const Problem *p, const char *where, Diag *d);

#endif
