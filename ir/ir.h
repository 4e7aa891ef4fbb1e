/*
 * ir.h: the one interface of ir/: arenas, diagnostics and the graph IR.
 *
 * The graph IR is what the frontend makes of an ONNX model (or what the zoo
 * builds): tensors and nodes in per-kind arrays indexed by small ids, id 0 =
 * none.  A Model owns one Arena; every name, dim list and tensor payload of
 * the model lives in it, so freeing the model is freeing the arena.
 *
 * Invariants kept by the builders and checked by graph_check():
 *   - tensors[0] and nodes[0] are unused (id 0 = none);
 *   - every node input id is 0 (absent optional input) or a valid tensor;
 *   - every tensor has at most one producer, and a TK_INPUT or TK_CONST
 *     tensor has none;
 *   - nodes are in topological order once the frontend has sorted them.
 */
#ifndef NAASC_IR_H
#define NAASC_IR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Return codes; they are also the tools' exit codes (docs/user-guide.md). */
typedef enum {
  RC_OK = 0,
  RC_BADINPUT = 1, /* the input (model, file, flag value) is wrong */
  RC_USAGE = 2,    /* the command line is wrong */
  RC_INTERNAL = 3  /* a bug or an exhausted resource */
} Rc;

/* ---- memory ---------------------------------------------------------- */

/* All heap allocation goes through these, so tests can inject failure. */
void *xmalloc(size_t n);          /* NULL on failure (or injected failure) */
void *xcalloc(size_t n, size_t sz);
void *xrealloc(void *p, size_t n);
void xfree(void *p);
void xalloc_fail_after(long n);   /* test hook: fail the n-th call from now; -1 off */
void xalloc_limit(size_t max);    /* test hook (fuzzing): fail every request over max bytes; 0 off */

typedef struct ArenaChunk ArenaChunk;
typedef struct {
  ArenaChunk *head;
  size_t used_total; /* bytes handed out, for --stats */
} Arena;

void arena_init(Arena *a);
void arena_free(Arena *a);
void *arena_alloc(Arena *a, size_t n);       /* zeroed, 16-byte aligned; NULL on failure */
char *arena_strdup(Arena *a, const char *s); /* NULL s gives NULL */
char *arena_strndup(Arena *a, const char *s, size_t n);
char *arena_printf(Arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- checked arithmetic ---------------------------------------------- */

/* Every product or sum of counts read from a file (a record count times a
 * record size, a tensor's dims, a loop nest's bounds, a section's offset
 * plus its length) is formed through these before anything is sized or
 * indexed with it.  Each stores the exact result in *r and returns true,
 * or returns false (leaving *r unspecified) when it does not fit the type:
 * callers report that as bad input, never wrap. */
static inline bool ck_mul_i64(int64_t a, int64_t b, int64_t *r) { return !__builtin_mul_overflow(a, b, r); }
static inline bool ck_add_i64(int64_t a, int64_t b, int64_t *r) { return !__builtin_add_overflow(a, b, r); }
static inline bool ck_mul_size(size_t a, size_t b, size_t *r) { return !__builtin_mul_overflow(a, b, r); }
static inline bool ck_add_size(size_t a, size_t b, size_t *r) { return !__builtin_add_overflow(a, b, r); }

/* ---- diagnostics ----------------------------------------------------- */

/* A Diag prints "FILE: WHERE: error: MESSAGE" lines to `out` and counts them.
 * `file` names the input being read; `where` in each call names the place
 * inside it ("node 'conv_3'", "12:5", "input 'x'"), or is NULL. */
typedef struct {
  FILE *out;
  const char *file;
  int nerrors;
  int nwarnings;
  int max_errors; /* stop printing after this many (0 = no limit) */
} Diag;

void diag_init(Diag *d, FILE *out, const char *file);
void diag_error(Diag *d, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void diag_warn(Diag *d, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void diag_note(Diag *d, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void diag_verror(Diag *d, const char *kind, const char *where, const char *fmt, va_list ap);

/* Grows a heap array *p of *cap elements of elem bytes to hold need; new
 * elements are zeroed.  false on overflow or allocation failure. */
bool ir_grow(void **p, uint32_t *cap, uint32_t need, size_t elem);
/* Whether name is one of the comma-separated names of any of lists[0..n). */
bool name_in_lists(const char *name, const char *const *lists, int n);

/* ---- files ----------------------------------------------------------- */

/* Reads a whole file (at most `max` bytes) into a heap buffer the caller frees. */
Rc file_read_all(const char *path, size_t max, uint8_t **buf, size_t *len, Diag *d);
/* Maps a whole regular file read-only (at most `max` bytes); an empty file
 * gives *buf = NULL, *len = 0.  Undo with file_unmap. */
Rc file_map(const char *path, size_t max, const uint8_t **buf, size_t *len, Diag *d);
void file_unmap(const uint8_t *buf, size_t len);
/* Writes a file atomically: a temporary beside it, fsync, rename over path. */
Rc file_write_atomic(const char *path, const void *buf, size_t len, Diag *d);

/* ---- element types --------------------------------------------------- */

/* Values are ONNX TensorProto.DataType's, so they round-trip unchanged. */
#define NAASC_DTYPES(X)                                                     \
  X(DT_UNDEF, 0, "undef", 0)                                                \
  X(DT_F32, 1, "f32", 4)                                                    \
  X(DT_U8, 2, "u8", 1)                                                      \
  X(DT_I8, 3, "i8", 1)                                                      \
  X(DT_U16, 4, "u16", 2)                                                    \
  X(DT_I16, 5, "i16", 2)                                                    \
  X(DT_I32, 6, "i32", 4)                                                    \
  X(DT_I64, 7, "i64", 8)                                                    \
  X(DT_STRING, 8, "string", 0)                                              \
  X(DT_BOOL, 9, "bool", 1)                                                  \
  X(DT_F16, 10, "f16", 2)                                                   \
  X(DT_F64, 11, "f64", 8)                                                   \
  X(DT_U32, 12, "u32", 4)                                                   \
  X(DT_U64, 13, "u64", 8)                                                   \
  X(DT_BF16, 16, "bf16", 2)

typedef enum {
#define X(e, v, s, sz) e = v,
  NAASC_DTYPES(X)
#undef X
} DType;

const char *dtype_name(DType t);   /* "f32"; "?" for an unknown value */
size_t dtype_size(DType t);        /* bytes per element; 0 if not a fixed-size numeric type */
bool dtype_valid(int v);           /* v is one of NAASC_DTYPES */

/* ---- operators ------------------------------------------------------- */

/* The op table: enum, ONNX name, what it computes.  Layer kinds of the
 * summary and the later lowering expand from the `cls` column:
 *   L = compute layer (MACs on the PE array), V = vector unit op,
 *   S = shape/data movement, folded when its inputs are constant. */
#define NAASC_OPS(X)                                                             \
  X(OP_CONV, "Conv", 'L')                     /* N-d convolution, groups, dilation */ \
  X(OP_CONVTRANSPOSE, "ConvTranspose", 'L')   /* transposed convolution */       \
  X(OP_GEMM, "Gemm", 'L')                     /* alpha*A'*B' + beta*C */          \
  X(OP_MATMUL, "MatMul", 'L')                 /* numpy matmul, batched */         \
  X(OP_BATCHNORM, "BatchNormalization", 'V')  /* inference-mode BN */             \
  X(OP_RELU, "Relu", 'V')                     /* max(x, 0) */                     \
  X(OP_CLIP, "Clip", 'V')                     /* min(max(x, lo), hi) */           \
  X(OP_LEAKYRELU, "LeakyRelu", 'V')           /* x<0 ? alpha*x : x */            \
  X(OP_HARDSIGMOID, "HardSigmoid", 'V')       /* clamp(alpha*x+beta, 0, 1) */     \
  X(OP_HARDSWISH, "HardSwish", 'V')           /* x*clamp(x/6+1/2, 0, 1) */        \
  X(OP_SIGMOID, "Sigmoid", 'V')               /* 1/(1+exp(-x)) */                 \
  X(OP_ADD, "Add", 'V')                       /* broadcast a+b */                 \
  X(OP_SUB, "Sub", 'V')                       /* broadcast a-b */                 \
  X(OP_MUL, "Mul", 'V')                       /* broadcast a*b */                 \
  X(OP_DIV, "Div", 'V')                       /* broadcast a/b */                 \
  X(OP_MAX, "Max", 'V')                       /* variadic broadcast max */        \
  X(OP_POW, "Pow", 'V')                       /* broadcast a^b */                 \
  X(OP_SQRT, "Sqrt", 'V')                     /* sqrt(x) */                       \
  X(OP_MAXPOOL, "MaxPool", 'V')               /* window max */                    \
  X(OP_AVGPOOL, "AveragePool", 'V')           /* window mean */                   \
  X(OP_GLOBALAVGPOOL, "GlobalAveragePool", 'V') /* mean over spatial dims */      \
  X(OP_SOFTMAX, "Softmax", 'V')               /* softmax along an axis */         \
  X(OP_REDUCEMEAN, "ReduceMean", 'V')         /* mean over axes */                \
  X(OP_RESIZE, "Resize", 'V')                 /* nearest/linear resampling */     \
  X(OP_CONCAT, "Concat", 'S')                 /* join along an axis */            \
  X(OP_RESHAPE, "Reshape", 'S')               /* new shape, same data */          \
  X(OP_FLATTEN, "Flatten", 'S')               /* 2-D view around an axis */       \
  X(OP_TRANSPOSE, "Transpose", 'S')           /* permute axes */                  \
  X(OP_SQUEEZE, "Squeeze", 'S')               /* drop size-1 axes */              \
  X(OP_UNSQUEEZE, "Unsqueeze", 'S')           /* insert size-1 axes */            \
  X(OP_SLICE, "Slice", 'S')                   /* strided sub-range */             \
  X(OP_SHAPE, "Shape", 'S')                   /* shape as an i64 tensor */        \
  X(OP_GATHER, "Gather", 'S')                 /* take along an axis */            \
  X(OP_CAST, "Cast", 'S')                     /* element type conversion */       \
  X(OP_IDENTITY, "Identity", 'S')             /* copy */                          \
  X(OP_DROPOUT, "Dropout", 'S')               /* inference: identity */           \
  X(OP_CONSTANT, "Constant", 'S')             /* a literal (folded on import) */  \
  X(OP_HOST, "<host>", 'H')                   /* unsupported op run on the host */

typedef enum {
  OP_NONE = 0,
#define X(e, s, c) e,
  NAASC_OPS(X)
#undef X
  OP_COUNT
} Op;

const char *op_name(Op op);      /* ONNX op_type */
char op_class(Op op);            /* 'L', 'V', 'S', 'H' */
Op op_find(const char *onnx_name); /* OP_NONE if not supported */

/* ---- tensors and nodes ----------------------------------------------- */

#define NAASC_MAX_RANK 8
/* Largest tensor accepted anywhere: 2^31 elements (8 GiB of f32). */
#define NAASC_MAX_ELEMS (INT64_C(1) << 31)
/* Largest model accepted: nodes (each takes about 5 KB while imported, and
 * every pass is linear in them) and named tensors (docs/user-guide.md, "Limits"). */
#define NAASC_MAX_NODES (UINT32_C(1) << 18)
#define NAASC_MAX_VALUES (UINT32_C(1) << 20)

typedef uint32_t TensorId;
typedef uint32_t NodeId;

typedef enum {
  TK_VALUE = 0, /* produced by a node */
  TK_INPUT,     /* graph input fed at run time */
  TK_CONST      /* initializer or folded constant; data may be NULL (--no-weights) */
} TensorKind;

typedef struct {
  const char *name;
  DType dtype;
  int rank;                           /* -1 while unknown */
  int64_t dims[NAASC_MAX_RANK];       /* -1 for an unknown dim */
  const char *dim_param[NAASC_MAX_RANK]; /* symbolic dim names of graph inputs, or NULL */
  TensorKind kind;
  void *data;                         /* TK_CONST payload, dense row-major; NULL if absent */
  NodeId producer;                    /* 0 for inputs and constants */
  bool is_output;                     /* a graph output */
  bool is_param;                      /* a weight or bias of a layer (for the summary) */
} Tensor;

/* Typed attributes; each op reads the fields it defines (docs/user-guide.md
 * lists them).  Spatial lists have `nsp` entries; pads have 2*nsp (begins,
 * then ends, as in ONNX). */
typedef enum { PAD_NOTSET = 0, PAD_SAME_UPPER, PAD_SAME_LOWER, PAD_VALID } AutoPad;
typedef enum { RZ_NEAREST = 0, RZ_LINEAR } ResizeMode;
typedef enum {
  RZC_HALF_PIXEL = 0, RZC_ASYMMETRIC, RZC_ALIGN_CORNERS, RZC_PYTORCH_HALF_PIXEL,
  RZC_TF_HALF_PIXEL_FOR_NN
} ResizeCoord;
typedef enum {
  RZN_ROUND_PREFER_FLOOR = 0, RZN_ROUND_PREFER_CEIL, RZN_FLOOR, RZN_CEIL
} ResizeNearest;

typedef struct {
  int nsp;                              /* number of spatial dims */
  int64_t kernel[NAASC_MAX_RANK];
  int64_t strides[NAASC_MAX_RANK];
  int64_t dilations[NAASC_MAX_RANK];
  int64_t pads[2 * NAASC_MAX_RANK];
  int64_t out_pad[NAASC_MAX_RANK];      /* ConvTranspose output_padding */
  AutoPad auto_pad;
  int64_t group;
  bool ceil_mode;
  bool count_include_pad;
  int64_t axis;                         /* Concat, Flatten, Gather, Softmax */
  int naxes;                            /* Transpose perm, Squeeze/Unsqueeze/ReduceMean axes */
  int64_t axes[NAASC_MAX_RANK];
  bool keepdims;
  bool trans_a, trans_b;                /* Gemm */
  float alpha, beta;                    /* Gemm, LeakyRelu, HardSigmoid */
  float epsilon;                        /* BatchNormalization */
  float clip_min, clip_max;             /* Clip (after its bounds are folded) */
  DType to;                             /* Cast */
  ResizeMode rz_mode;
  ResizeCoord rz_coord;
  ResizeNearest rz_nearest;
  float rz_cubic_a;
  int64_t shape_start, shape_end;       /* Shape (opset 15); end = INT64_MAX for none */
  int64_t starts[NAASC_MAX_RANK];       /* Slice, for axes[0..naxes) */
  int64_t ends[NAASC_MAX_RANK];
  int64_t steps[NAASC_MAX_RANK];
  int64_t out_shape[NAASC_MAX_RANK];    /* ConvTranspose output_shape (spatial), if has_out_shape */
  bool has_out_shape;
  float rz_scales[NAASC_MAX_RANK];      /* Resize scale per axis (output/input if sizes given) */
  bool allowzero;                       /* Reshape (opset 14) */
} Attrs;

typedef struct {
  Op op;
  const char *name;       /* ONNX node name, or a made-up one ("Conv_12") */
  const char *onnx_op;    /* the ONNX op_type as written (OP_HOST keeps it here) */
  int nin, nout;
  TensorId *in;           /* arena; 0 = absent optional input */
  TensorId *out;
  Attrs a;
  Op act;                 /* fused activation (OP_RELU, OP_CLIP, ...), or OP_NONE */
  Attrs act_a;            /* its attributes */
  bool bn_folded;         /* a BatchNormalization was folded into this conv */
  bool host_only;         /* --allow-unsupported: runs on the host */
  bool dead;              /* removed by a rewrite; skipped by every walk */
} Node;

typedef struct {
  Arena arena;
  const char *name;       /* graph name */
  const char *source;     /* file it came from, for diagnostics */
  int64_t ir_version;
  int64_t opset;
  const char *producer;
  Tensor *tensors;        /* [0] unused */
  uint32_t ntensors, captensors;
  Node *nodes;            /* [0] unused */
  uint32_t nnodes, capnodes;
  TensorId *inputs;       /* graph inputs, in order */
  uint32_t ninputs, capinputs;
  TensorId *outputs;      /* graph outputs, in order */
  uint32_t noutputs, capoutputs;
} Model;

Model *model_create(const char *name);   /* heap; NULL on failure */
void model_destroy(Model *m);

/* Builders return 0 on allocation failure. */
TensorId model_add_tensor(Model *m, const char *name, DType dt, int rank, const int64_t *dims,
                          TensorKind kind);
NodeId model_add_node(Model *m, Op op, const char *name, int nin, const TensorId *in, int nout,
                      const TensorId *out);
bool model_add_input(Model *m, TensorId t);
bool model_add_output(Model *m, TensorId t);
TensorId model_find_tensor(const Model *m, const char *name); /* 0 if none */
void attrs_default(Attrs *a);           /* ONNX defaults: strides/dilations 1, alpha 1, ... */

int64_t tensor_numel(const Tensor *t);  /* -1 if the shape is unknown or too large */
bool tensor_shape_known(const Tensor *t);
/* Element i of a numeric constant, converted; the tensor must have data. */
double tensor_get_f(const Tensor *t, int64_t i);
int64_t tensor_get_i(const Tensor *t, int64_t i);

/* Checks the invariants above; reports each broken one through d. */
Rc graph_check(const Model *m, Diag *d);
/* Sorts live nodes topologically; a cycle is reported (naming a node on it). */
Rc graph_toposort(Model *m, Diag *d);
/* Number of live consumers of tensor t (graph outputs count as one). */
int graph_uses(const Model *m, TensorId t);
/* graph_uses of every tensor at once, in O(nodes + edges): a heap array of
 * ntensors counts (xfree), or NULL if out of memory. */
int *graph_use_counts(const Model *m);
/* Drops nodes whose outputs nothing reads (dead code). */
void graph_prune(Model *m);

/* ---- printing -------------------------------------------------------- */

/* "f32[1,3,224,224]"; unknown dims print as their dim_param or '?'. */
void type_print(FILE *f, const Tensor *t);
/* The graph IR text form, one op a line (docs/user-guide.md). */
void graph_print(FILE *f, const Model *m);

#endif
