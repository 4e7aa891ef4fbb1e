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

/* The op table: enum, ONNX name, class, since, what it computes.
 *
 * `cls` says where the op runs; the summary, the lowering and --list-ops
 * expand from it:
 *   L = mac layer on the PE array: convolutions and matrix products, the
 *       integer ones as 8-bit operands with 32-bit accumulation;
 *   V = vector unit: elementwise math, comparisons, pooling, reductions,
 *       normalizations and softmax-like ops: one pass (or a few) over a
 *       tensor with no reuse to exploit on the array;
 *   S = shape and data movement: copies, views, gathers and scatters with
 *       no arithmetic, folded when their inputs are constant;
 *   H = host: ops with data-dependent control or output sizes (NonZero,
 *       Unique, Compress, TopK, NonMaxSuppression), recurrences evaluated
 *       step by step (LSTM, GRU, RNN), subgraphs (If, Loop, Scan), and
 *       rare irregular ops (Einsum, GridSample, RoiAlign, DFT, losses, ...)
 *       that no accelerator here runs.
 * Every op is evaluated by host/ (host_eval), which folds constants and
 * later runs what the accelerator does not.
 *
 * `since` is the oldest default-domain opset whose definition of the op
 * naasc implements; a model importing an older opset may use the op only
 * if since <= its opset (so opsets below 7 are read op by op). */
#define NAASC_OPS(X)                                                                      \
  X(OP_CONV, "Conv", 'L', 1)                     /* N-d convolution, groups, dilation */    \
  X(OP_CONVTRANSPOSE, "ConvTranspose", 'L', 1)   /* transposed convolution */             \
  X(OP_GEMM, "Gemm", 'L', 7)                     /* alpha*A'*B' + beta*C */                \
  X(OP_MATMUL, "MatMul", 'L', 1)                 /* numpy matmul, batched */               \
  X(OP_BATCHNORM, "BatchNormalization", 'V', 7)  /* inference-mode BN */                   \
  X(OP_RELU, "Relu", 'V', 6)                     /* max(x, 0) */                           \
  X(OP_CLIP, "Clip", 'V', 6)                     /* min(max(x, lo), hi) */                 \
  X(OP_LEAKYRELU, "LeakyRelu", 'V', 6)           /* x<0 ? alpha*x : x */                  \
  X(OP_HARDSIGMOID, "HardSigmoid", 'V', 6)       /* clamp(alpha*x+beta, 0, 1) */           \
  X(OP_HARDSWISH, "HardSwish", 'V', 14)          /* x*clamp(x/6+1/2, 0, 1) */              \
  X(OP_SIGMOID, "Sigmoid", 'V', 6)               /* 1/(1+exp(-x)) */                       \
  X(OP_ADD, "Add", 'V', 7)                       /* broadcast a+b */                       \
  X(OP_SUB, "Sub", 'V', 7)                       /* broadcast a-b */                       \
  X(OP_MUL, "Mul", 'V', 7)                       /* broadcast a*b */                       \
  X(OP_DIV, "Div", 'V', 7)                       /* broadcast a/b (integers truncate) */   \
  X(OP_MAX, "Max", 'V', 6)                       /* variadic broadcast max */              \
  X(OP_POW, "Pow", 'V', 7)                       /* broadcast a^b */                       \
  X(OP_SQRT, "Sqrt", 'V', 6)                     /* sqrt(x) */                             \
  X(OP_MAXPOOL, "MaxPool", 'V', 1)               /* window max */                          \
  X(OP_AVGPOOL, "AveragePool", 'V', 1)           /* window mean */                         \
  X(OP_GLOBALAVGPOOL, "GlobalAveragePool", 'V', 1) /* mean over spatial dims */            \
  X(OP_SOFTMAX, "Softmax", 'V', 1)               /* softmax along an axis */               \
  X(OP_REDUCEMEAN, "ReduceMean", 'V', 1)         /* mean over axes */                      \
  X(OP_RESIZE, "Resize", 'V', 10)                /* nearest/linear resampling */           \
  X(OP_CONCAT, "Concat", 'S', 4)                 /* join along an axis */                  \
  X(OP_RESHAPE, "Reshape", 'S', 5)               /* new shape, same data */                \
  X(OP_FLATTEN, "Flatten", 'S', 1)               /* 2-D view around an axis */             \
  X(OP_TRANSPOSE, "Transpose", 'S', 1)           /* permute axes */                        \
  X(OP_SQUEEZE, "Squeeze", 'S', 1)               /* drop size-1 axes */                    \
  X(OP_UNSQUEEZE, "Unsqueeze", 'S', 1)           /* insert size-1 axes */                  \
  X(OP_SLICE, "Slice", 'S', 1)                   /* strided sub-range */                   \
  X(OP_SHAPE, "Shape", 'S', 1)                   /* shape as an i64 tensor */              \
  X(OP_GATHER, "Gather", 'S', 1)                 /* take along an axis */                  \
  X(OP_CAST, "Cast", 'S', 6)                     /* element type conversion */             \
  X(OP_IDENTITY, "Identity", 'S', 1)             /* copy */                                \
  X(OP_DROPOUT, "Dropout", 'S', 7)               /* inference: identity */                 \
  X(OP_CONSTANT, "Constant", 'S', 1)             /* a literal (folded on import) */        \
  X(OP_HOST, "<host>", 'H', 1)                   /* unknown op run on the host (--allow-unsupported) */ \
  /* integer mac layers: 8-bit operands, 32-bit accumulation on the array */              \
  X(OP_QLINEARCONV, "QLinearConv", 'L', 10)      /* requantized 8-bit convolution */       \
  X(OP_CONVINTEGER, "ConvInteger", 'L', 10)      /* 8-bit convolution, i32 result */       \
  X(OP_QLINEARMATMUL, "QLinearMatMul", 'L', 10)  /* requantized 8-bit matmul */            \
  X(OP_MATMULINTEGER, "MatMulInteger", 'L', 10)  /* 8-bit matmul, i32 result */            \
  /* elementwise math on the vector unit */                                               \
  X(OP_ABS, "Abs", 'V', 6)                       /* |x| */                                 \
  X(OP_NEG, "Neg", 'V', 6)                       /* -x */                                  \
  X(OP_EXP, "Exp", 'V', 6)                       /* e^x */                                 \
  X(OP_LOG, "Log", 'V', 6)                       /* ln x */                                \
  X(OP_TANH, "Tanh", 'V', 6)                     /* tanh x */                              \
  X(OP_ERF, "Erf", 'V', 9)                       /* error function */                      \
  X(OP_SIN, "Sin", 'V', 7)                       /* sin x */                               \
  X(OP_COS, "Cos", 'V', 7)                       /* cos x */                               \
  X(OP_TAN, "Tan", 'V', 7)                       /* tan x */                               \
  X(OP_ASIN, "Asin", 'V', 7)                     /* asin x */                              \
  X(OP_ACOS, "Acos", 'V', 7)                     /* acos x */                              \
  X(OP_ATAN, "Atan", 'V', 7)                     /* atan x */                              \
  X(OP_SINH, "Sinh", 'V', 9)                     /* sinh x */                              \
  X(OP_COSH, "Cosh", 'V', 9)                     /* cosh x */                              \
  X(OP_ASINH, "Asinh", 'V', 9)                   /* asinh x */                             \
  X(OP_ACOSH, "Acosh", 'V', 9)                   /* acosh x */                             \
  X(OP_ATANH, "Atanh", 'V', 9)                   /* atanh x */                             \
  X(OP_FLOOR, "Floor", 'V', 6)                   /* floor x */                             \
  X(OP_CEIL, "Ceil", 'V', 6)                     /* ceil x */                              \
  X(OP_ROUND, "Round", 'V', 11)                  /* round half to even */                  \
  X(OP_SIGN, "Sign", 'V', 9)                     /* -1, 0 or 1 */                          \
  X(OP_RECIPROCAL, "Reciprocal", 'V', 6)         /* 1/x */                                 \
  X(OP_MIN, "Min", 'V', 6)                       /* variadic broadcast min */              \
  X(OP_MEAN, "Mean", 'V', 6)                     /* variadic broadcast mean */             \
  X(OP_SUM, "Sum", 'V', 6)                       /* variadic broadcast sum */              \
  X(OP_MOD, "Mod", 'V', 10)                      /* remainder, fmod or floor sign */       \
  X(OP_BITSHIFT, "BitShift", 'V', 11)            /* unsigned shift left or right */        \
  X(OP_BITWISEAND, "BitwiseAnd", 'V', 18)        /* a & b */                               \
  X(OP_BITWISEOR, "BitwiseOr", 'V', 18)          /* a | b */                               \
  X(OP_BITWISEXOR, "BitwiseXor", 'V', 18)        /* a ^ b */                               \
  X(OP_BITWISENOT, "BitwiseNot", 'V', 18)        /* ~a */                                  \
  /* comparison and logic (bool results) */                                              \
  X(OP_EQUAL, "Equal", 'V', 7)                   /* a == b */                              \
  X(OP_LESS, "Less", 'V', 7)                     /* a < b */                               \
  X(OP_GREATER, "Greater", 'V', 7)               /* a > b */                               \
  X(OP_LESSOREQUAL, "LessOrEqual", 'V', 12)      /* a <= b */                              \
  X(OP_GREATEROREQUAL, "GreaterOrEqual", 'V', 12) /* a >= b */                             \
  X(OP_NOT, "Not", 'V', 1)                       /* !a */                                  \
  X(OP_AND, "And", 'V', 7)                       /* a && b */                              \
  X(OP_OR, "Or", 'V', 7)                         /* a || b */                              \
  X(OP_XOR, "Xor", 'V', 7)                       /* a != b on bools */                     \
  X(OP_WHERE, "Where", 'V', 9)                   /* c ? a : b, broadcast */                \
  X(OP_ISNAN, "IsNaN", 'V', 9)                   /* x != x */                              \
  X(OP_ISINF, "IsInf", 'V', 10)                  /* +-inf test */                          \
  /* activations */                                                                       \
  X(OP_PRELU, "PRelu", 'V', 7)                   /* x<0 ? slope*x : x */                   \
  X(OP_ELU, "Elu", 'V', 6)                       /* x<0 ? alpha*(e^x-1) : x */             \
  X(OP_SELU, "Selu", 'V', 6)                     /* gamma*(x<=0 ? alpha*(e^x-1) : x) */    \
  X(OP_CELU, "Celu", 'V', 12)                    /* max(0,x)+min(0,alpha*(e^(x/alpha)-1)) */ \
  X(OP_SOFTPLUS, "Softplus", 'V', 1)             /* ln(1+e^x) */                           \
  X(OP_SOFTSIGN, "Softsign", 'V', 1)             /* x/(1+|x|) */                           \
  X(OP_GELU, "Gelu", 'V', 20)                    /* x*Phi(x), exact or tanh */             \
  X(OP_MISH, "Mish", 'V', 18)                    /* x*tanh(softplus(x)) */                 \
  X(OP_THRESHOLDEDRELU, "ThresholdedRelu", 'V', 10) /* x>alpha ? x : 0 */                  \
  X(OP_SHRINK, "Shrink", 'V', 9)                 /* soft/hard shrinkage */                 \
  X(OP_LOGSOFTMAX, "LogSoftmax", 'V', 1)         /* log of softmax along an axis */        \
  X(OP_HARDMAX, "Hardmax", 'V', 1)               /* one-hot of the first max */            \
  /* reductions */                                                                        \
  X(OP_REDUCEMAX, "ReduceMax", 'V', 1)           /* max over axes */                       \
  X(OP_REDUCEMIN, "ReduceMin", 'V', 1)           /* min over axes */                       \
  X(OP_REDUCESUM, "ReduceSum", 'V', 1)           /* sum over axes */                       \
  X(OP_REDUCEPROD, "ReduceProd", 'V', 1)         /* product over axes */                   \
  X(OP_REDUCEL1, "ReduceL1", 'V', 1)             /* sum |x| */                             \
  X(OP_REDUCEL2, "ReduceL2", 'V', 1)             /* sqrt(sum x^2) */                       \
  X(OP_REDUCELOGSUM, "ReduceLogSum", 'V', 1)     /* ln(sum x) */                           \
  X(OP_REDUCELOGSUMEXP, "ReduceLogSumExp", 'V', 1) /* ln(sum e^x) */                       \
  X(OP_REDUCESUMSQUARE, "ReduceSumSquare", 'V', 1) /* sum x^2 */                           \
  X(OP_ARGMAX, "ArgMax", 'V', 1)                 /* index of the max along an axis */      \
  X(OP_ARGMIN, "ArgMin", 'V', 1)                 /* index of the min along an axis */      \
  X(OP_CUMSUM, "CumSum", 'V', 11)                /* prefix sums along an axis */           \
  X(OP_GLOBALMAXPOOL, "GlobalMaxPool", 'V', 1)   /* max over spatial dims */               \
  /* normalization */                                                                     \
  X(OP_LAYERNORM, "LayerNormalization", 'V', 17) /* normalize the trailing axes */         \
  X(OP_INSTANCENORM, "InstanceNormalization", 'V', 6) /* normalize per (n, c) */           \
  X(OP_GROUPNORM, "GroupNormalization", 'V', 18) /* normalize per channel group */         \
  X(OP_LRN, "LRN", 'V', 1)                       /* local response normalization */        \
  X(OP_MVN, "MeanVarianceNormalization", 'V', 9) /* (x-mean)/std over axes */             \
  /* quantization (per tensor or per axis; round half to even, saturate) */               \
  X(OP_QUANTIZELINEAR, "QuantizeLinear", 'V', 10) /* sat(round(x/scale)+zp) */             \
  X(OP_DEQUANTIZELINEAR, "DequantizeLinear", 'V', 10) /* (x-zp)*scale */                   \
  X(OP_DYNQUANTIZELINEAR, "DynamicQuantizeLinear", 'V', 11) /* u8 with computed scale, zp */ \
  X(OP_UPSAMPLE, "Upsample", 'V', 7)             /* Resize of opsets 7-9 */                \
  /* shape and data movement */                                                           \
  X(OP_CASTLIKE, "CastLike", 'S', 15)            /* Cast to the type of input 1 */         \
  X(OP_PAD, "Pad", 'S', 2)                       /* constant/reflect/edge/wrap padding */  \
  X(OP_SPLIT, "Split", 'S', 2)                   /* cut along an axis */                   \
  X(OP_EXPAND, "Expand", 'S', 8)                 /* broadcast to a shape */                \
  X(OP_TILE, "Tile", 'S', 6)                     /* repeat along each axis */              \
  X(OP_CONSTANTOFSHAPE, "ConstantOfShape", 'S', 9) /* a filled tensor of a given shape */  \
  X(OP_RANGE, "Range", 'S', 11)                  /* start, start+delta, ... < limit */     \
  X(OP_SIZE, "Size", 'S', 1)                     /* element count as an i64 scalar */      \
  X(OP_ONEHOT, "OneHot", 'S', 9)                 /* one-hot encoding along an axis */      \
  X(OP_EYELIKE, "EyeLike", 'S', 9)               /* ones on a diagonal */                  \
  X(OP_TRILU, "Trilu", 'S', 14)                  /* upper or lower triangle */             \
  X(OP_DEPTHTOSPACE, "DepthToSpace", 'S', 1)     /* channels to spatial blocks */          \
  X(OP_SPACETODEPTH, "SpaceToDepth", 'S', 1)     /* spatial blocks to channels */          \
  X(OP_GATHERELEMENTS, "GatherElements", 'S', 11) /* take per element along an axis */     \
  X(OP_GATHERND, "GatherND", 'S', 11)            /* take slices by index tuples */         \
  X(OP_SCATTER, "Scatter", 'S', 9)               /* ScatterElements of opsets 9-10 */      \
  X(OP_SCATTERELEMENTS, "ScatterElements", 'S', 11) /* put per element along an axis */    \
  X(OP_SCATTERND, "ScatterND", 'S', 11)          /* put slices by index tuples */          \
  X(OP_REVERSESEQUENCE, "ReverseSequence", 'S', 10) /* reverse each sequence's prefix */   \
  /* run on the host */                                                                   \
  X(OP_NONZERO, "NonZero", 'H', 9)               /* indices of nonzeros (size from data) */ \
  X(OP_UNIQUE, "Unique", 'H', 11)                /* distinct values (size from data) */    \
  X(OP_COMPRESS, "Compress", 'H', 9)             /* select by a mask (size from data) */   \
  X(OP_TOPK, "TopK", 'H', 1)                     /* k largest or smallest, with indices */ \
  X(OP_NMS, "NonMaxSuppression", 'H', 10)        /* box selection (size from data) */      \
  X(OP_LSTM, "LSTM", 'H', 7)                     /* long short-term memory, step by step */ \
  X(OP_GRU, "GRU", 'H', 7)                       /* gated recurrent unit */                \
  X(OP_RNN, "RNN", 'H', 7)                       /* simple recurrent layer */              \
  X(OP_IF, "If", 'H', 7)                         /* one of two subgraphs */                \
  X(OP_LOOP, "Loop", 'H', 7)                     /* a subgraph repeated */                 \
  X(OP_SCAN, "Scan", 'H', 9)                     /* a subgraph over slices */              \
  X(OP_EINSUM, "Einsum", 'H', 12)                /* Einstein summation */                  \
  X(OP_GRIDSAMPLE, "GridSample", 'H', 16)        /* sample at grid coordinates */          \
  X(OP_ROIALIGN, "RoiAlign", 'H', 10)            /* pooled regions of interest */          \
  X(OP_MAXUNPOOL, "MaxUnpool", 'H', 9)           /* scatter pooled maxima back */          \
  X(OP_DET, "Det", 'H', 11)                      /* determinant of square matrices */      \
  X(OP_DFT, "DFT", 'H', 17)                      /* discrete Fourier transform */          \
  X(OP_STFT, "STFT", 'H', 17)                    /* short-time Fourier transform */        \
  X(OP_HANNWINDOW, "HannWindow", 'H', 17)        /* Hann window of a given length */       \
  X(OP_HAMMINGWINDOW, "HammingWindow", 'H', 17)  /* Hamming window */                      \
  X(OP_BLACKMANWINDOW, "BlackmanWindow", 'H', 17) /* Blackman window */                    \
  X(OP_MELWEIGHTMATRIX, "MelWeightMatrix", 'H', 17) /* mel filter bank */                  \
  X(OP_TFIDF, "TfIdfVectorizer", 'H', 9)         /* n-gram counts of integer sequences */  \
  X(OP_NLLLOSS, "NegativeLogLikelihoodLoss", 'H', 12) /* loss over log-probabilities */    \
  X(OP_SCELOSS, "SoftmaxCrossEntropyLoss", 'H', 12)   /* softmax + NLL loss */

typedef enum {
  OP_NONE = 0,
#define X(e, s, c, v) e,
  NAASC_OPS(X)
#undef X
  OP_COUNT
} Op;

const char *op_name(Op op);      /* ONNX op_type */
char op_class(Op op);            /* 'L', 'V', 'S', 'H' */
int op_since(Op op);             /* oldest opset whose definition naasc implements */
Op op_find(const char *onnx_name); /* OP_NONE if not supported */

/* ---- tensors and nodes ----------------------------------------------- */

#define NAASC_MAX_RANK 8
/* Largest tensor accepted anywhere: 2^31 elements (8 GiB of f32). */
#define NAASC_MAX_ELEMS (INT64_C(1) << 31)

typedef uint32_t TensorId;
typedef uint32_t NodeId;

typedef enum {
  TK_VALUE = 0, /* produced by a node */
  TK_INPUT,     /* graph input fed at run time (a subgraph's formal input) */
  TK_CONST,     /* initializer or folded constant; data may be NULL (--no-weights) */
  TK_OUTER      /* in a subgraph: a value of an enclosing scope, bound to input
                   `outer` of the node that owns the subgraph */
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
  uint32_t outer;                     /* TK_OUTER: index into the owner node's inputs */
} Tensor;

/* Typed attributes; each op reads the fields it defines (docs/user-guide.md
 * lists them).  Spatial lists have `nsp` entries; pads have 2*nsp (begins,
 * then ends, as in ONNX). */
typedef enum { PAD_NOTSET = 0, PAD_SAME_UPPER, PAD_SAME_LOWER, PAD_VALID } AutoPad;
typedef enum { RZ_NEAREST = 0, RZ_LINEAR, RZ_CUBIC } ResizeMode;
typedef enum {
  RZC_HALF_PIXEL = 0, RZC_ASYMMETRIC, RZC_ALIGN_CORNERS, RZC_PYTORCH_HALF_PIXEL,
  RZC_TF_HALF_PIXEL_FOR_NN, RZC_TF_CROP_AND_RESIZE
} ResizeCoord;
typedef enum {
  RZN_ROUND_PREFER_FLOOR = 0, RZN_ROUND_PREFER_CEIL, RZN_FLOOR, RZN_CEIL
} ResizeNearest;

typedef enum { PADM_CONSTANT = 0, PADM_REFLECT, PADM_EDGE, PADM_WRAP } PadMode;
typedef enum { SRED_NONE = 0, SRED_ADD, SRED_MUL, SRED_MAX, SRED_MIN } ScatterReduction;
typedef enum { LRED_NONE = 0, LRED_SUM, LRED_MEAN } LossReduction;
typedef enum { SHIFT_RIGHT = 0, SHIFT_LEFT } ShiftDirection;
typedef enum { GELU_NONE = 0, GELU_TANH } GeluApprox;
typedef enum { D2S_DCR = 0, D2S_CRD } DepthToSpaceMode;
typedef enum { RNN_FORWARD = 0, RNN_REVERSE, RNN_BIDIRECTIONAL } RnnDirection;
/* Activations of LSTM/GRU/RNN gates (ONNX names, same order). */
typedef enum {
  RACT_RELU = 0, RACT_TANH, RACT_SIGMOID, RACT_AFFINE, RACT_LEAKYRELU, RACT_THRESHOLDEDRELU,
  RACT_SCALEDTANH, RACT_HARDSIGMOID, RACT_ELU, RACT_SOFTSIGN, RACT_SOFTPLUS
} RnnAct;
typedef enum { GS_BILINEAR = 0, GS_NEAREST, GS_BICUBIC } GridSampleMode;
typedef enum { GSP_ZEROS = 0, GSP_BORDER, GSP_REFLECTION } GridSamplePad;
typedef enum { ROI_AVG = 0, ROI_MAX } RoiMode;
typedef enum { ROIC_HALF_PIXEL = 0, ROIC_OUTPUT_HALF_PIXEL } RoiCoord;
typedef enum { TFIDF_TF = 0, TFIDF_IDF, TFIDF_TFIDF } TfIdfMode;

#define NAASC_MAX_OUTPUTS 16 /* outputs of one node; Split pieces, Scan lists */
#define NAASC_MAX_EINSUM 4   /* Einsum operands */
#define NAASC_MAX_RNN_ACTS 6 /* 3 activations per direction */

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
  float rz_cubic_a;                     /* Resize cubic: the A of the kernel, */
  bool rz_exclude_outside;              /* ... taps outside the input dropped */
  float rz_extrapolation;               /* Resize tf_crop_and_resize: value outside the roi */
  float rz_roi[2 * NAASC_MAX_RANK];     /* ... roi starts then ends, normalized (from input) */
  int64_t shape_start, shape_end;       /* Shape (opset 15); end = INT64_MAX for none */
  int64_t starts[NAASC_MAX_RANK];       /* Slice, for axes[0..naxes) */
  int64_t ends[NAASC_MAX_RANK];
  int64_t steps[NAASC_MAX_RANK];
  int64_t out_shape[NAASC_MAX_RANK];    /* ConvTranspose output_shape (spatial), if has_out_shape */
  bool has_out_shape;
  float rz_scales[NAASC_MAX_RANK];      /* Resize scale per axis (output/input if sizes given) */
  bool rz_from_sizes;                   /* Resize: the model gave sizes (written back as sizes) */
  bool allowzero;                       /* Reshape (opset 14) */
  /* The ops beyond the first 37 read these; ir/attrs.c maps each ONNX
   * attribute (or constant input) to its field, op by op. */
  float gamma;                          /* Selu */
  float bias, lambd;                    /* LRN bias; Shrink bias and lambd */
  int64_t size;                         /* LRN size; window length (from input) */
  bool fmod;                            /* Mod */
  ShiftDirection shift;                 /* BitShift */
  bool detect_pos, detect_neg;          /* IsInf */
  GeluApprox gelu;                      /* Gelu */
  bool noop_empty;                      /* Reduce*: noop_with_empty_axes */
  bool select_last;                     /* ArgMax, ArgMin: select_last_index */
  bool coerce2d;                        /* Softmax/LogSoftmax/Hardmax before opset 13 */
  PadMode pad_mode;                     /* Pad */
  float pad_value;                      /* Pad before opset 11 (attribute value) */
  int npads;                            /* Pad: entries of pads (2 per axis of `axes`) */
  int64_t num_outputs;                  /* Split (opset 18) */
  int nsplit;                           /* Split: sizes given (0: equal parts) */
  int64_t split[NAASC_MAX_OUTPUTS];
  int nshape;                           /* Expand, ConstantOfShape, MaxUnpool: target shape */
  int64_t shape[NAASC_MAX_RANK];
  int nreps;                            /* Tile repeats (from input) */
  int64_t reps[NAASC_MAX_RANK];
  DType value_dtype;                    /* ConstantOfShape value's type (f32 if absent) */
  double value_f;                       /* ... and value, as double and as integer */
  int64_t value_i;
  int64_t blocksize;                    /* DepthToSpace, SpaceToDepth */
  DepthToSpaceMode d2s_mode;
  int64_t batch_dims;                   /* GatherND */
  ScatterReduction reduction;           /* ScatterElements, ScatterND */
  bool upper;                           /* Trilu */
  int64_t k;                            /* Trilu, EyeLike diagonal; TopK count (from input) */
  bool exclusive, reverse;              /* CumSum */
  bool largest, sorted;                 /* TopK; Unique sorted */
  bool has_axis;                        /* Compress, Unique: axis given */
  int64_t depth;                        /* OneHot (from input) */
  int64_t batch_axis, time_axis;        /* ReverseSequence */
  int64_t num_groups;                   /* GroupNormalization */
  bool per_channel;                     /* GroupNormalization scale/bias per channel (opset 21) */
  bool saturate;                        /* QuantizeLinear, CastLike (float8 only; recorded) */
  int64_t block_size;                   /* QuantizeLinear, DequantizeLinear (opset 21; 0 only) */
  int64_t stash_type;                   /* LayerNormalization, GroupNormalization (recorded) */
  RnnDirection direction;               /* LSTM, GRU, RNN */
  int64_t hidden_size;
  int nacts;                            /* activations given (0: the op's defaults) */
  RnnAct acts[NAASC_MAX_RNN_ACTS];
  int nact_alpha, nact_beta;
  float act_alpha[NAASC_MAX_RNN_ACTS], act_beta[NAASC_MAX_RNN_ACTS];
  float rnn_clip;                       /* 0: no clip */
  bool input_forget;                    /* LSTM */
  bool linear_before_reset;             /* GRU */
  int64_t layout;                       /* LSTM/GRU/RNN: 0 = [seq, batch, ...], 1 = batch first */
  int64_t num_scan_inputs;              /* Scan */
  int nscan_in_axes, nscan_in_dirs, nscan_out_axes, nscan_out_dirs;
  int64_t scan_in_axes[NAASC_MAX_OUTPUTS], scan_in_dirs[NAASC_MAX_OUTPUTS];
  int64_t scan_out_axes[NAASC_MAX_OUTPUTS], scan_out_dirs[NAASC_MAX_OUTPUTS];
  bool center_point_box;                /* NonMaxSuppression */
  int64_t max_boxes;                    /* ... max_output_boxes_per_class (from input) */
  float iou_threshold, score_threshold; /* ... (from inputs) */
  GridSampleMode gs_mode;               /* GridSample */
  GridSamplePad gs_pad;
  bool align_corners;
  RoiMode roi_mode;                     /* RoiAlign */
  RoiCoord roi_coord;
  int64_t out_h, out_w, sampling_ratio;
  float spatial_scale;
  bool inverse, onesided;               /* DFT, STFT */
  int64_t dft_length;                   /* DFT (from input; 0: the axis length) */
  int64_t frame_step, frame_length;     /* STFT (from inputs; frame_length 0: window's) */
  bool periodic;                        /* window functions */
  TfIdfMode tfidf_mode;                 /* TfIdfVectorizer */
  int64_t min_gram, max_gram, max_skip;
  int nngram_counts, nngram_indexes, npool, ntfidf_weights;
  const int64_t *ngram_counts;          /* arena arrays */
  const int64_t *ngram_indexes;
  const int64_t *pool;
  const float *tfidf_weights;
  LossReduction loss_reduction;         /* NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss */
  bool has_ignore;
  int64_t ignore_index;
  const char *equation;                 /* Einsum, as written (arena) */
  int ein_nops;                         /* ... parsed: operands */
  int8_t ein_rank[NAASC_MAX_EINSUM];    /* labels per operand, ellipsis expanded by infer */
  int8_t ein_in[NAASC_MAX_EINSUM][NAASC_MAX_RANK]; /* label ids 0..51 (a-z, A-Z), 52+ ellipsis */
  int8_t ein_ell[NAASC_MAX_EINSUM];     /* position of '...' in the operand, -1 none */
  int8_t ein_nout;                      /* output labels */
  int8_t ein_out[NAASC_MAX_RANK];
  int8_t ein_out_ell;                   /* position of '...' in the output, -1 none */
  bool ein_explicit;                    /* the equation has '->' */
} Attrs;

/* How each ONNX attribute of an op maps to an Attrs field: one row per
 * (op, attribute), for the ops beyond the first 37 (whose attributes
 * frontend/onnx.c and graph_print.c spell out by hand).  The importer
 * parses, graph_print prints and the ONNX writer writes from these rows.
 * A row whose `input` is >= 0 is, from opset `input_since` on, a constant
 * input (slot `input`) that shape inference moves into the field. */
typedef enum {
  AK_INT,    /* int64_t */
  AK_BOOL,   /* bool, ONNX int 0/1 */
  AK_FLOAT,  /* float */
  AK_ENUM,   /* an enum field; ONNX string, one of `names` (index = value) */
  AK_DTYPE,  /* DType, ONNX int */
  AK_INTS,   /* int64_t[max] with an int count at count_off */
  AK_FLOATS, /* float[max] with an int count */
  AK_ENUMS,  /* enum[max] (strings) with an int count */
  AK_LIST_I, /* const int64_t * (arena) with an int count */
  AK_LIST_F, /* const float * (arena) with an int count */
  AK_STRING, /* const char * (arena) */
  AK_TENSOR  /* a one-element tensor: value_dtype, value_f, value_i */
} AttrKind;

typedef struct {
  Op op;
  const char *name;          /* ONNX attribute name */
  AttrKind kind;
  uint16_t off;              /* offsetof(Attrs, field) */
  uint16_t count_off;        /* lists: offsetof the int count */
  int16_t max;               /* lists: capacity */
  const char *const *names;  /* AK_ENUM(S): the ONNX spellings */
  int nnames;
  double def;                /* default when absent (not lists) */
  bool required;
  uint16_t has_off;          /* offsetof a bool set when the attribute is given, + 1; 0 none */
  int8_t input;              /* >= 0: the input slot carrying it from input_since on */
  int8_t input_since;
  int8_t until;              /* > 0: an attribute only before this opset */
} AttrSpec;

/* The rows of op's attributes (possibly none). */
const AttrSpec *op_attr_specs(Op op, int *n);
/* Sets op's attribute defaults (rows' `def`) in a. */
void attrs_spec_defaults(Op op, Attrs *a);

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
  uint32_t sub[2];        /* subgraphs (ids into the holding graph's subs): If then/else,
                             Loop/Scan body in sub[0]; 0 = none */
  int ncap;               /* the last ncap inputs are the outer values the subgraphs
                             capture (not ONNX inputs) */
} Node;

/* A Model is a graph: the main one, or a subgraph held in its owner's
 * graph (subs[id], by value; ids start at 1).  A subgraph's formal inputs
 * are its `inputs` (TK_INPUT), its results its `outputs`; the values it
 * reads from enclosing scopes are TK_OUTER tensors, each bound to an input
 * of the owning node, so every value a node needs is one of its inputs. */
typedef struct Model {
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
  struct Model *subs;     /* subgraphs of this graph's nodes; [0] unused */
  uint32_t nsubs, capsubs;
  const char *scope;      /* a subgraph: where it sits, for diagnostics
                             ("then_branch of node 'if_1'"); NULL for the main graph */
} Model;

Model *model_create(const char *name);   /* heap; NULL on failure */
void model_destroy(Model *m);
/* Moves *sub (from model_create) into m->subs and frees its shell; the id,
 * or 0 on allocation failure (then *sub is destroyed). */
uint32_t model_add_sub(Model *m, Model *sub);

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
/* Drops nodes whose outputs nothing reads (dead code). */
void graph_prune(Model *m);

/* ---- printing -------------------------------------------------------- */

/* "f32[1,3,224,224]"; unknown dims print as their dim_param or '?'. */
void type_print(FILE *f, const Tensor *t);
/* The graph IR text form, one op a line (docs/user-guide.md). */
void graph_print(FILE *f, const Model *m);

#endif
