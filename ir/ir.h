/*
 * ir.h: the public interface of ir/, the data structures every other
 * library shares (included as "ir/ir.h"; ir/ depends on no other library):
 *
 *   - arenas, diagnostics, files, element types, the JSON and SVG writers;
 *   - the graph IR: tensors and nodes, the op table, its text form and parser;
 *   - the accelerator nouns: Problem, Arch, Mapping, MapConstraints, CostResult;
 *   - the loop-nest IR: Module, Nest, NestMapping, its text form and verifier.
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
void *xmalloc(size_t n); /* NULL on failure (or injected failure) */
void *xcalloc(size_t n, size_t sz);
void *xrealloc(void *p, size_t n);
void xfree(void *p);
void xalloc_fail_after(long n); /* test hook: fail the n-th call from now; -1 off */
void xalloc_limit(size_t max);  /* test hook (fuzzing): fail every request over max bytes; 0 off */

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
char *arena_printf(Arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Makes a own p, a block of n bytes from malloc (xmalloc, or protobuf-c's
 * system allocator): arena_free frees it.  False, and p still the caller's,
 * when p is NULL or not 16-byte aligned (arena memory is) or out of memory. */
bool arena_adopt(Arena *a, void *p, size_t n);

/* ---- checked arithmetic ---------------------------------------------- */

/* Every product or sum of counts read from a file (a record count times a
 * record size, a tensor's dims, a loop nest's bounds, a section's offset
 * plus its length) is formed through these before anything is sized or
 * indexed with it.  Each stores the exact result in *r and returns true,
 * or returns false (leaving *r unspecified) when it does not fit the type:
 * callers report that as bad input, never wrap. */
static inline bool ck_mul_i64(int64_t a, int64_t b, int64_t *r) {
  return !__builtin_mul_overflow(a, b, r);
}
static inline bool ck_add_i64(int64_t a, int64_t b, int64_t *r) {
  return !__builtin_add_overflow(a, b, r);
}
static inline bool ck_mul_size(size_t a, size_t b, size_t *r) {
  return !__builtin_mul_overflow(a, b, r);
}
static inline bool ck_add_size(size_t a, size_t b, size_t *r) {
  return !__builtin_add_overflow(a, b, r);
}

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

/* Reads a whole file (at most `max` bytes) into a heap buffer the caller
 * frees, followed by a NUL that *len does not count. */
Rc file_read_all(const char *path, size_t max, uint8_t **buf, size_t *len, Diag *d);
/* Maps a whole regular file read-only (at most `max` bytes); an empty file
 * gives *buf = NULL, *len = 0.  Undo with file_unmap. */
Rc file_map(const char *path, size_t max, const uint8_t **buf, size_t *len, Diag *d);
void file_unmap(const uint8_t *buf, size_t len);
/* Writes a file atomically: a temporary beside it, fsync, rename over path. */
Rc file_write_atomic(const char *path, const void *buf, size_t len, Diag *d);

/* ---- JSON writer (ir/json.c) ---------------------------------------- */

/* The one writer of JSON files and lines: it writes separators, escapes
 * strings (every control character too) and formats numbers (a non-finite
 * number is null); the layout is the caller's.  Items of a container are
 * separated by ", " unless the container was opened with an indent ("\n  ":
 * every item starts with it, after the comma) or json_break gives the next
 * item one.  json_end writes `before` (NULL: nothing) and the closing
 * bracket.  Containers nest at most JSON_MAX_DEPTH deep. */
#define JSON_MAX_DEPTH 16
typedef struct {
  FILE *f;
  int depth;                          /* open containers */
  bool any[JSON_MAX_DEPTH];           /* the container has an item already */
  const char *indent[JSON_MAX_DEPTH]; /* its items' prefix, or NULL */
  char close[JSON_MAX_DEPTH];         /* '}' or ']' */
  const char *brk;                    /* the next item's prefix (json_break), or NULL */
  bool after_key;                     /* a key was written: its value comes next */
} JsonWriter;

void json_init(JsonWriter *j, FILE *f);
void json_object(JsonWriter *j, const char *indent);
void json_array(JsonWriter *j, const char *indent);
void json_end(JsonWriter *j, const char *before);
void json_break(JsonWriter *j, const char *prefix);
void json_key(JsonWriter *j, const char *key);
void json_str(JsonWriter *j, const char *s);
void json_num(JsonWriter *j, const char *fmt, double v); /* fmt: one double, e.g. "%.17g" */
void json_int(JsonWriter *j, int64_t v);
void json_uint(JsonWriter *j, uint64_t v);
void json_bool(JsonWriter *j, bool v);

/* ---- SVG writer (ir/svg.c) ------------------------------------------ */

/* The one SVG plotting helper: every chart naasc writes goes through it.
 * A plot is a canvas (width x height) with margins around its plot area;
 * x0..x1 and y0..y1 are the data at the area's edges, and on a log axis
 * (xlog, ylog) they are log10 of the data, while svg_x and svg_y still take
 * the data themselves.  Marks are drawn at canvas coordinates (y down);
 * every number is written with one decimal (".0" dropped) and every text is
 * escaped, so any name gives a valid file and a plot is a pure function of
 * its data. */
typedef struct {
  FILE *f;
  double width, height, left, right, top, bottom; /* the canvas and its margins */
  double x0, x1, y0, y1;                          /* the plot area's data ranges */
  bool xlog, ylog;                                /* log10 axes */
} SvgPlot;

double svg_x(const SvgPlot *p, double v); /* data x to canvas x */
double svg_y(const SvgPlot *p, double v); /* data y to canvas y (up on the page) */
/* The <svg> element, a white background, and the title at (left, title_y). */
void svg_begin(const SvgPlot *p, int font_size, double title_y, const char *title);
void svg_end(const SvgPlot *p);
/* The x axis (bottom) and the y axis (left) as lines, and their labels
 * (NULL: none), the y label turned up the page. */
void svg_axes(const SvgPlot *p, const char *xlabel, const char *ylabel);
/* A second y axis on the right (a line and its label, turned down). */
void svg_axis_right(const SvgPlot *p, const char *label);
/* n + 1 evenly spaced tick labels on axis 'x', 'y' (left) or 'r' (right),
 * each the data value (10^v on a log axis) formatted by fmt (one double). */
void svg_ticks(const SvgPlot *p, char axis, int n, const char *fmt);
/* Text at (x, y): anchor "middle"/"end" (NULL: start), rotated by `rotate`
 * degrees about (x, y) (0: not), style extra attributes (NULL: none). */
void svg_text(const SvgPlot *p, double x, double y, const char *anchor, double rotate,
              const char *style, const char *fmt, ...) __attribute__((format(printf, 7, 8)));
void svg_line(const SvgPlot *p, double x1, double y1, double x2, double y2, const char *stroke,
              const char *dash); /* dash: a stroke-dasharray, or NULL */
/* A rectangle (x or y NAN: attribute left out); fill NULL: "none"; stroke
 * may be NULL; tip (may be NULL) is the tooltip. */
void svg_rect(const SvgPlot *p, double x, double y, double w, double h, const char *fill,
              const char *stroke, const char *tip);
/* A point: a circle filled with fill (NULL: "none"), ringed by stroke (may be NULL). */
void svg_circle(const SvgPlot *p, double x, double y, double r, const char *fill,
                const char *stroke);
/* A series: a polyline through the points given between begin and end. */
void svg_series_begin(const SvgPlot *p, const char *stroke, double width);
void svg_series_point(const SvgPlot *p, double x, double y);
void svg_series_end(const SvgPlot *p);
/* Text with & < > " escaped (control characters other than tab and newline as '?'). */
void svg_escape(FILE *f, const char *s);

/* ---- element types --------------------------------------------------- */

/* Values are ONNX TensorProto.DataType's, so they round-trip unchanged. */
#define NAASC_DTYPES(X)        \
  X(DT_UNDEF, 0, "undef", 0)   \
  X(DT_F32, 1, "f32", 4)       \
  X(DT_U8, 2, "u8", 1)         \
  X(DT_I8, 3, "i8", 1)         \
  X(DT_U16, 4, "u16", 2)       \
  X(DT_I16, 5, "i16", 2)       \
  X(DT_I32, 6, "i32", 4)       \
  X(DT_I64, 7, "i64", 8)       \
  X(DT_STRING, 8, "string", 0) \
  X(DT_BOOL, 9, "bool", 1)     \
  X(DT_F16, 10, "f16", 2)      \
  X(DT_F64, 11, "f64", 8)      \
  X(DT_U32, 12, "u32", 4)      \
  X(DT_U64, 13, "u64", 8)      \
  X(DT_BF16, 16, "bf16", 2)

typedef enum {
#define X(e, v, s, sz) e = v,
  NAASC_DTYPES(X)
#undef X
} DType;

const char *dtype_name(DType t); /* "f32"; "?" for an unknown value */
size_t dtype_size(DType t);      /* bytes per element; 0 if not a fixed-size numeric type */
bool dtype_valid(int v);         /* v is one of NAASC_DTYPES */

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
#define NAASC_OPS(X)                                                                             \
  X(OP_CONV, "Conv", 'L', 1)                       /* N-d convolution, groups, dilation */       \
  X(OP_CONVTRANSPOSE, "ConvTranspose", 'L', 1)     /* transposed convolution */                  \
  X(OP_GEMM, "Gemm", 'L', 7)                       /* alpha*A'*B' + beta*C */                    \
  X(OP_MATMUL, "MatMul", 'L', 1)                   /* numpy matmul, batched */                   \
  X(OP_BATCHNORM, "BatchNormalization", 'V', 7)    /* inference-mode BN */                       \
  X(OP_RELU, "Relu", 'V', 6)                       /* max(x, 0) */                               \
  X(OP_CLIP, "Clip", 'V', 6)                       /* min(max(x, lo), hi) */                     \
  X(OP_LEAKYRELU, "LeakyRelu", 'V', 6)             /* x<0 ? alpha*x : x */                       \
  X(OP_HARDSIGMOID, "HardSigmoid", 'V', 6)         /* clamp(alpha*x+beta, 0, 1) */               \
  X(OP_HARDSWISH, "HardSwish", 'V', 14)            /* x*clamp(x/6+1/2, 0, 1) */                  \
  X(OP_SIGMOID, "Sigmoid", 'V', 6)                 /* 1/(1+exp(-x)) */                           \
  X(OP_ADD, "Add", 'V', 7)                         /* broadcast a+b */                           \
  X(OP_SUB, "Sub", 'V', 7)                         /* broadcast a-b */                           \
  X(OP_MUL, "Mul", 'V', 7)                         /* broadcast a*b */                           \
  X(OP_DIV, "Div", 'V', 7)                         /* broadcast a/b (integers truncate) */       \
  X(OP_MAX, "Max", 'V', 6)                         /* variadic broadcast max */                  \
  X(OP_POW, "Pow", 'V', 7)                         /* broadcast a^b */                           \
  X(OP_SQRT, "Sqrt", 'V', 6)                       /* sqrt(x) */                                 \
  X(OP_MAXPOOL, "MaxPool", 'V', 1)                 /* window max */                              \
  X(OP_AVGPOOL, "AveragePool", 'V', 1)             /* window mean */                             \
  X(OP_GLOBALAVGPOOL, "GlobalAveragePool", 'V', 1) /* mean over spatial dims */                  \
  X(OP_SOFTMAX, "Softmax", 'V', 1)                 /* softmax along an axis */                   \
  X(OP_REDUCEMEAN, "ReduceMean", 'V', 1)           /* mean over axes */                          \
  X(OP_RESIZE, "Resize", 'V', 10)                  /* nearest/linear resampling */               \
  X(OP_CONCAT, "Concat", 'S', 4)                   /* join along an axis */                      \
  X(OP_RESHAPE, "Reshape", 'S', 5)                 /* new shape, same data */                    \
  X(OP_FLATTEN, "Flatten", 'S', 1)                 /* 2-D view around an axis */                 \
  X(OP_TRANSPOSE, "Transpose", 'S', 1)             /* permute axes */                            \
  X(OP_SQUEEZE, "Squeeze", 'S', 1)                 /* drop size-1 axes */                        \
  X(OP_UNSQUEEZE, "Unsqueeze", 'S', 1)             /* insert size-1 axes */                      \
  X(OP_SLICE, "Slice", 'S', 1)                     /* strided sub-range */                       \
  X(OP_SHAPE, "Shape", 'S', 1)                     /* shape as an i64 tensor */                  \
  X(OP_GATHER, "Gather", 'S', 1)                   /* take along an axis */                      \
  X(OP_CAST, "Cast", 'S', 6)                       /* element type conversion */                 \
  X(OP_IDENTITY, "Identity", 'S', 1)               /* copy */                                    \
  X(OP_DROPOUT, "Dropout", 'S', 7)                 /* inference: identity */                     \
  X(OP_CONSTANT, "Constant", 'S', 1)               /* a literal (folded on import) */            \
  X(OP_HOST, "<host>", 'H', 1) /* unknown op run on the host (--allow-unsupported) */            \
  /* integer mac layers: 8-bit operands, 32-bit accumulation on the array */                     \
  X(OP_QLINEARCONV, "QLinearConv", 'L', 10)     /* requantized 8-bit convolution */              \
  X(OP_CONVINTEGER, "ConvInteger", 'L', 10)     /* 8-bit convolution, i32 result */              \
  X(OP_QLINEARMATMUL, "QLinearMatMul", 'L', 10) /* requantized 8-bit matmul */                   \
  X(OP_MATMULINTEGER, "MatMulInteger", 'L', 10) /* 8-bit matmul, i32 result */                   \
  /* elementwise math on the vector unit */                                                      \
  X(OP_ABS, "Abs", 'V', 6)                /* |x| */                                              \
  X(OP_NEG, "Neg", 'V', 6)                /* -x */                                               \
  X(OP_EXP, "Exp", 'V', 6)                /* e^x */                                              \
  X(OP_LOG, "Log", 'V', 6)                /* ln x */                                             \
  X(OP_TANH, "Tanh", 'V', 6)              /* tanh x */                                           \
  X(OP_ERF, "Erf", 'V', 9)                /* error function */                                   \
  X(OP_SIN, "Sin", 'V', 7)                /* sin x */                                            \
  X(OP_COS, "Cos", 'V', 7)                /* cos x */                                            \
  X(OP_TAN, "Tan", 'V', 7)                /* tan x */                                            \
  X(OP_ASIN, "Asin", 'V', 7)              /* asin x */                                           \
  X(OP_ACOS, "Acos", 'V', 7)              /* acos x */                                           \
  X(OP_ATAN, "Atan", 'V', 7)              /* atan x */                                           \
  X(OP_SINH, "Sinh", 'V', 9)              /* sinh x */                                           \
  X(OP_COSH, "Cosh", 'V', 9)              /* cosh x */                                           \
  X(OP_ASINH, "Asinh", 'V', 9)            /* asinh x */                                          \
  X(OP_ACOSH, "Acosh", 'V', 9)            /* acosh x */                                          \
  X(OP_ATANH, "Atanh", 'V', 9)            /* atanh x */                                          \
  X(OP_FLOOR, "Floor", 'V', 6)            /* floor x */                                          \
  X(OP_CEIL, "Ceil", 'V', 6)              /* ceil x */                                           \
  X(OP_ROUND, "Round", 'V', 11)           /* round half to even */                               \
  X(OP_SIGN, "Sign", 'V', 9)              /* -1, 0 or 1 */                                       \
  X(OP_RECIPROCAL, "Reciprocal", 'V', 6)  /* 1/x */                                              \
  X(OP_MIN, "Min", 'V', 6)                /* variadic broadcast min */                           \
  X(OP_MEAN, "Mean", 'V', 6)              /* variadic broadcast mean */                          \
  X(OP_SUM, "Sum", 'V', 6)                /* variadic broadcast sum */                           \
  X(OP_MOD, "Mod", 'V', 10)               /* remainder, fmod or floor sign */                    \
  X(OP_BITSHIFT, "BitShift", 'V', 11)     /* unsigned shift left or right */                     \
  X(OP_BITWISEAND, "BitwiseAnd", 'V', 18) /* a & b */                                            \
  X(OP_BITWISEOR, "BitwiseOr", 'V', 18)   /* a | b */                                            \
  X(OP_BITWISEXOR, "BitwiseXor", 'V', 18) /* a ^ b */                                            \
  X(OP_BITWISENOT, "BitwiseNot", 'V', 18) /* ~a */                                               \
  /* comparison and logic (bool results) */                                                      \
  X(OP_EQUAL, "Equal", 'V', 7)                    /* a == b */                                   \
  X(OP_LESS, "Less", 'V', 7)                      /* a < b */                                    \
  X(OP_GREATER, "Greater", 'V', 7)                /* a > b */                                    \
  X(OP_LESSOREQUAL, "LessOrEqual", 'V', 12)       /* a <= b */                                   \
  X(OP_GREATEROREQUAL, "GreaterOrEqual", 'V', 12) /* a >= b */                                   \
  X(OP_NOT, "Not", 'V', 1)                        /* !a */                                       \
  X(OP_AND, "And", 'V', 7)                        /* a && b */                                   \
  X(OP_OR, "Or", 'V', 7)                          /* a || b */                                   \
  X(OP_XOR, "Xor", 'V', 7)                        /* a != b on bools */                          \
  X(OP_WHERE, "Where", 'V', 9)                    /* c ? a : b, broadcast */                     \
  X(OP_ISNAN, "IsNaN", 'V', 9)                    /* x != x */                                   \
  X(OP_ISINF, "IsInf", 'V', 10)                   /* +-inf test */                               \
  /* activations */                                                                              \
  X(OP_PRELU, "PRelu", 'V', 7)                      /* x<0 ? slope*x : x */                      \
  X(OP_ELU, "Elu", 'V', 6)                          /* x<0 ? alpha*(e^x-1) : x */                \
  X(OP_SELU, "Selu", 'V', 6)                        /* gamma*(x<=0 ? alpha*(e^x-1) : x) */       \
  X(OP_CELU, "Celu", 'V', 12)                       /* max(0,x)+min(0,alpha*(e^(x/alpha)-1)) */  \
  X(OP_SOFTPLUS, "Softplus", 'V', 1)                /* ln(1+e^x) */                              \
  X(OP_SOFTSIGN, "Softsign", 'V', 1)                /* x/(1+|x|) */                              \
  X(OP_GELU, "Gelu", 'V', 20)                       /* x*Phi(x), exact or tanh */                \
  X(OP_MISH, "Mish", 'V', 18)                       /* x*tanh(softplus(x)) */                    \
  X(OP_THRESHOLDEDRELU, "ThresholdedRelu", 'V', 10) /* x>alpha ? x : 0 */                        \
  X(OP_SHRINK, "Shrink", 'V', 9)                    /* soft/hard shrinkage */                    \
  X(OP_LOGSOFTMAX, "LogSoftmax", 'V', 1)            /* log of softmax along an axis */           \
  X(OP_HARDMAX, "Hardmax", 'V', 1)                  /* one-hot of the first max */               \
  /* reductions */                                                                               \
  X(OP_REDUCEMAX, "ReduceMax", 'V', 1)             /* max over axes */                           \
  X(OP_REDUCEMIN, "ReduceMin", 'V', 1)             /* min over axes */                           \
  X(OP_REDUCESUM, "ReduceSum", 'V', 1)             /* sum over axes */                           \
  X(OP_REDUCEPROD, "ReduceProd", 'V', 1)           /* product over axes */                       \
  X(OP_REDUCEL1, "ReduceL1", 'V', 1)               /* sum |x| */                                 \
  X(OP_REDUCEL2, "ReduceL2", 'V', 1)               /* sqrt(sum x^2) */                           \
  X(OP_REDUCELOGSUM, "ReduceLogSum", 'V', 1)       /* ln(sum x) */                               \
  X(OP_REDUCELOGSUMEXP, "ReduceLogSumExp", 'V', 1) /* ln(sum e^x) */                             \
  X(OP_REDUCESUMSQUARE, "ReduceSumSquare", 'V', 1) /* sum x^2 */                                 \
  X(OP_ARGMAX, "ArgMax", 'V', 1)                   /* index of the max along an axis */          \
  X(OP_ARGMIN, "ArgMin", 'V', 1)                   /* index of the min along an axis */          \
  X(OP_CUMSUM, "CumSum", 'V', 11)                  /* prefix sums along an axis */               \
  X(OP_GLOBALMAXPOOL, "GlobalMaxPool", 'V', 1)     /* max over spatial dims */                   \
  /* normalization */                                                                            \
  X(OP_LAYERNORM, "LayerNormalization", 'V', 17)      /* normalize the trailing axes */          \
  X(OP_INSTANCENORM, "InstanceNormalization", 'V', 6) /* normalize per (n, c) */                 \
  X(OP_GROUPNORM, "GroupNormalization", 'V', 18)      /* normalize per channel group */          \
  X(OP_LRN, "LRN", 'V', 1)                            /* local response normalization */         \
  X(OP_MVN, "MeanVarianceNormalization", 'V', 9)      /* (x-mean)/std over axes */               \
  /* quantization (per tensor or per axis; round half to even, saturate) */                      \
  X(OP_QUANTIZELINEAR, "QuantizeLinear", 'V', 10)           /* sat(round(x/scale)+zp) */         \
  X(OP_DEQUANTIZELINEAR, "DequantizeLinear", 'V', 10)       /* (x-zp)*scale */                   \
  X(OP_DYNQUANTIZELINEAR, "DynamicQuantizeLinear", 'V', 11) /* u8 with computed scale, zp */     \
  X(OP_UPSAMPLE, "Upsample", 'V', 7)                        /* Resize of opsets 7-9 */           \
  /* shape and data movement */                                                                  \
  X(OP_CASTLIKE, "CastLike", 'S', 15)               /* Cast to the type of input 1 */            \
  X(OP_PAD, "Pad", 'S', 2)                          /* constant/reflect/edge/wrap padding */     \
  X(OP_SPLIT, "Split", 'S', 2)                      /* cut along an axis */                      \
  X(OP_EXPAND, "Expand", 'S', 8)                    /* broadcast to a shape */                   \
  X(OP_TILE, "Tile", 'S', 6)                        /* repeat along each axis */                 \
  X(OP_CONSTANTOFSHAPE, "ConstantOfShape", 'S', 9)  /* a filled tensor of a given shape */       \
  X(OP_RANGE, "Range", 'S', 11)                     /* start, start+delta, ... < limit */        \
  X(OP_SIZE, "Size", 'S', 1)                        /* element count as an i64 scalar */         \
  X(OP_ONEHOT, "OneHot", 'S', 9)                    /* one-hot encoding along an axis */         \
  X(OP_EYELIKE, "EyeLike", 'S', 9)                  /* ones on a diagonal */                     \
  X(OP_TRILU, "Trilu", 'S', 14)                     /* upper or lower triangle */                \
  X(OP_DEPTHTOSPACE, "DepthToSpace", 'S', 1)        /* channels to spatial blocks */             \
  X(OP_SPACETODEPTH, "SpaceToDepth", 'S', 1)        /* spatial blocks to channels */             \
  X(OP_GATHERELEMENTS, "GatherElements", 'S', 11)   /* take per element along an axis */         \
  X(OP_GATHERND, "GatherND", 'S', 11)               /* take slices by index tuples */            \
  X(OP_SCATTER, "Scatter", 'S', 9)                  /* ScatterElements of opsets 9-10 */         \
  X(OP_SCATTERELEMENTS, "ScatterElements", 'S', 11) /* put per element along an axis */          \
  X(OP_SCATTERND, "ScatterND", 'S', 11)             /* put slices by index tuples */             \
  X(OP_REVERSESEQUENCE, "ReverseSequence", 'S', 10) /* reverse each sequence's prefix */         \
  /* run on the host */                                                                          \
  X(OP_NONZERO, "NonZero", 'H', 9)                    /* indices of nonzeros (size from data) */ \
  X(OP_UNIQUE, "Unique", 'H', 11)                     /* distinct values (size from data) */     \
  X(OP_COMPRESS, "Compress", 'H', 9)                  /* select by a mask (size from data) */    \
  X(OP_TOPK, "TopK", 'H', 1)                          /* k largest or smallest, with indices */  \
  X(OP_NMS, "NonMaxSuppression", 'H', 10)             /* box selection (size from data) */       \
  X(OP_LSTM, "LSTM", 'H', 7)                          /* long short-term memory, step by step */ \
  X(OP_GRU, "GRU", 'H', 7)                            /* gated recurrent unit */                 \
  X(OP_RNN, "RNN", 'H', 7)                            /* simple recurrent layer */               \
  X(OP_IF, "If", 'H', 7)                              /* one of two subgraphs */                 \
  X(OP_LOOP, "Loop", 'H', 7)                          /* a subgraph repeated */                  \
  X(OP_SCAN, "Scan", 'H', 9)                          /* a subgraph over slices */               \
  X(OP_EINSUM, "Einsum", 'H', 12)                     /* Einstein summation */                   \
  X(OP_GRIDSAMPLE, "GridSample", 'H', 16)             /* sample at grid coordinates */           \
  X(OP_ROIALIGN, "RoiAlign", 'H', 10)                 /* pooled regions of interest */           \
  X(OP_MAXUNPOOL, "MaxUnpool", 'H', 9)                /* scatter pooled maxima back */           \
  X(OP_DET, "Det", 'H', 11)                           /* determinant of square matrices */       \
  X(OP_DFT, "DFT", 'H', 17)                           /* discrete Fourier transform */           \
  X(OP_STFT, "STFT", 'H', 17)                         /* short-time Fourier transform */         \
  X(OP_HANNWINDOW, "HannWindow", 'H', 17)             /* Hann window of a given length */        \
  X(OP_HAMMINGWINDOW, "HammingWindow", 'H', 17)       /* Hamming window */                       \
  X(OP_BLACKMANWINDOW, "BlackmanWindow", 'H', 17)     /* Blackman window */                      \
  X(OP_MELWEIGHTMATRIX, "MelWeightMatrix", 'H', 17)   /* mel filter bank */                      \
  X(OP_TFIDF, "TfIdfVectorizer", 'H', 9)              /* n-gram counts of integer sequences */   \
  X(OP_NLLLOSS, "NegativeLogLikelihoodLoss", 'H', 12) /* loss over log-probabilities */          \
  X(OP_SCELOSS, "SoftmaxCrossEntropyLoss", 'H', 12)   /* softmax + NLL loss */

typedef enum {
  OP_NONE = 0,
#define X(e, s, c, v) e,
  NAASC_OPS(X)
#undef X
      OP_COUNT
} Op;

const char *op_name(Op op);        /* ONNX op_type */
char op_class(Op op);              /* 'L', 'V', 'S', 'H' */
int op_since(Op op);               /* oldest opset whose definition naasc implements */
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
  TK_INPUT,     /* graph input fed at run time (a subgraph's formal input) */
  TK_CONST,     /* initializer or folded constant; data may be NULL (--no-weights) */
  TK_OUTER      /* in a subgraph: a value of an enclosing scope, bound to input
                   `outer` of the node that owns the subgraph */
} TensorKind;

typedef struct {
  const char *name;
  DType dtype;
  int rank;                              /* -1 while unknown */
  int64_t dims[NAASC_MAX_RANK];          /* -1 for an unknown dim */
  const char *dim_param[NAASC_MAX_RANK]; /* symbolic dim names of graph inputs, or NULL */
  TensorKind kind;
  void *data;       /* TK_CONST payload, dense row-major; NULL if absent */
  NodeId producer;  /* 0 for inputs and constants */
  bool is_output;   /* a graph output */
  bool is_param;    /* a weight or bias of a layer (for the summary) */
  uint32_t outer;   /* TK_OUTER: index into the owner node's inputs */
  bool data_elided; /* TK_CONST read from a graph dump, which printed no values: data is NULL
                       though the model had them (graph_parse) */
} Tensor;

/* Typed attributes; each op reads the fields it defines (docs/user-guide.md
 * lists them).  Spatial lists have `nsp` entries; pads have 2*nsp (begins,
 * then ends, as in ONNX). */
typedef enum { PAD_NOTSET = 0, PAD_SAME_UPPER, PAD_SAME_LOWER, PAD_VALID } AutoPad;
typedef enum { RZ_NEAREST = 0, RZ_LINEAR, RZ_CUBIC } ResizeMode;
typedef enum {
  RZC_HALF_PIXEL = 0,
  RZC_ASYMMETRIC,
  RZC_ALIGN_CORNERS,
  RZC_PYTORCH_HALF_PIXEL,
  RZC_TF_HALF_PIXEL_FOR_NN,
  RZC_TF_CROP_AND_RESIZE
} ResizeCoord;
typedef enum {
  RZN_ROUND_PREFER_FLOOR = 0,
  RZN_ROUND_PREFER_CEIL,
  RZN_FLOOR,
  RZN_CEIL
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
  RACT_RELU = 0,
  RACT_TANH,
  RACT_SIGMOID,
  RACT_AFFINE,
  RACT_LEAKYRELU,
  RACT_THRESHOLDEDRELU,
  RACT_SCALEDTANH,
  RACT_HARDSIGMOID,
  RACT_ELU,
  RACT_SOFTSIGN,
  RACT_SOFTPLUS
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
  int nsp; /* number of spatial dims */
  int64_t kernel[NAASC_MAX_RANK];
  int64_t strides[NAASC_MAX_RANK];
  int64_t dilations[NAASC_MAX_RANK];
  int64_t pads[2 * NAASC_MAX_RANK];
  int64_t out_pad[NAASC_MAX_RANK]; /* ConvTranspose output_padding */
  AutoPad auto_pad;
  int64_t group;
  bool ceil_mode;
  bool count_include_pad;
  int64_t axis; /* Concat, Flatten, Gather, Softmax */
  int naxes;    /* Transpose perm, Squeeze/Unsqueeze/ReduceMean axes */
  int64_t axes[NAASC_MAX_RANK];
  bool keepdims;
  bool trans_a, trans_b;    /* Gemm */
  float alpha, beta;        /* Gemm, LeakyRelu, HardSigmoid */
  float epsilon;            /* BatchNormalization */
  float clip_min, clip_max; /* Clip (after its bounds are folded) */
  DType to;                 /* Cast */
  ResizeMode rz_mode;
  ResizeCoord rz_coord;
  ResizeNearest rz_nearest;
  float rz_cubic_a;                 /* Resize cubic: the A of the kernel, */
  bool rz_exclude_outside;          /* ... taps outside the input dropped */
  float rz_extrapolation;           /* Resize tf_crop_and_resize: value outside the roi */
  float rz_roi[2 * NAASC_MAX_RANK]; /* ... roi starts then ends, normalized (from input) */
  int64_t shape_start, shape_end;   /* Shape (opset 15); end = INT64_MAX for none */
  int64_t starts[NAASC_MAX_RANK];   /* Slice, for axes[0..naxes) */
  int64_t ends[NAASC_MAX_RANK];
  int64_t steps[NAASC_MAX_RANK];
  int64_t out_shape[NAASC_MAX_RANK]; /* ConvTranspose output_shape (spatial), if has_out_shape */
  bool has_out_shape;
  float rz_scales[NAASC_MAX_RANK]; /* Resize scale per axis (output/input if sizes given) */
  bool rz_from_sizes;              /* Resize: the model gave sizes (written back as sizes) */
  bool allowzero;                  /* Reshape (opset 14) */
  /* The ops beyond the first 37 read these; ir/attrs.c maps each ONNX
   * attribute (or constant input) to its field, op by op. */
  float gamma;                 /* Selu */
  float bias, lambd;           /* LRN bias; Shrink bias and lambd */
  int64_t size;                /* LRN size; window length (from input) */
  bool fmod;                   /* Mod */
  ShiftDirection shift;        /* BitShift */
  bool detect_pos, detect_neg; /* IsInf */
  GeluApprox gelu;             /* Gelu */
  bool noop_empty;             /* Reduce*: noop_with_empty_axes */
  bool select_last;            /* ArgMax, ArgMin: select_last_index */
  bool coerce2d;               /* Softmax/LogSoftmax/Hardmax before opset 13 */
  PadMode pad_mode;            /* Pad */
  float pad_value;             /* Pad before opset 11 (attribute value) */
  int npads;                   /* Pad: entries of pads (2 per axis of `axes`) */
  int64_t num_outputs;         /* Split (opset 18) */
  int nsplit;                  /* Split: sizes given (0: equal parts) */
  int64_t split[NAASC_MAX_OUTPUTS];
  int nshape; /* Expand, ConstantOfShape, MaxUnpool: target shape */
  int64_t shape[NAASC_MAX_RANK];
  int nreps; /* Tile repeats (from input) */
  int64_t reps[NAASC_MAX_RANK];
  DType value_dtype; /* ConstantOfShape value's type (f32 if absent) */
  double value_f;    /* ... and value, as double and as integer */
  int64_t value_i;
  int64_t blocksize; /* DepthToSpace, SpaceToDepth */
  DepthToSpaceMode d2s_mode;
  int64_t batch_dims;            /* GatherND */
  ScatterReduction reduction;    /* ScatterElements, ScatterND */
  bool upper;                    /* Trilu */
  int64_t k;                     /* Trilu, EyeLike diagonal; TopK count (from input) */
  bool exclusive, reverse;       /* CumSum */
  bool largest, sorted;          /* TopK; Unique sorted */
  bool has_axis;                 /* Compress, Unique: axis given */
  int64_t depth;                 /* OneHot (from input) */
  int64_t batch_axis, time_axis; /* ReverseSequence */
  int64_t num_groups;            /* GroupNormalization */
  bool per_channel;              /* GroupNormalization scale/bias per channel (opset 21) */
  bool saturate;                 /* QuantizeLinear, CastLike (float8 only; recorded) */
  int64_t block_size;            /* QuantizeLinear, DequantizeLinear (opset 21; 0 only) */
  int64_t stash_type;            /* LayerNormalization, GroupNormalization (recorded) */
  RnnDirection direction;        /* LSTM, GRU, RNN */
  int64_t hidden_size;
  int nacts; /* activations given (0: the op's defaults) */
  RnnAct acts[NAASC_MAX_RNN_ACTS];
  int nact_alpha, nact_beta;
  float act_alpha[NAASC_MAX_RNN_ACTS], act_beta[NAASC_MAX_RNN_ACTS];
  float rnn_clip;           /* 0: no clip */
  bool input_forget;        /* LSTM */
  bool linear_before_reset; /* GRU */
  int64_t layout;           /* LSTM/GRU/RNN: 0 = [seq, batch, ...], 1 = batch first */
  int64_t num_scan_inputs;  /* Scan */
  int nscan_in_axes, nscan_in_dirs, nscan_out_axes, nscan_out_dirs;
  int64_t scan_in_axes[NAASC_MAX_OUTPUTS], scan_in_dirs[NAASC_MAX_OUTPUTS];
  int64_t scan_out_axes[NAASC_MAX_OUTPUTS], scan_out_dirs[NAASC_MAX_OUTPUTS];
  bool center_point_box;                /* NonMaxSuppression */
  int64_t max_boxes;                    /* ... max_output_boxes_per_class (from input) */
  float iou_threshold, score_threshold; /* ... (from inputs) */
  GridSampleMode gs_mode;               /* GridSample */
  GridSamplePad gs_pad;
  bool align_corners;
  RoiMode roi_mode; /* RoiAlign */
  RoiCoord roi_coord;
  int64_t out_h, out_w, sampling_ratio;
  float spatial_scale;
  bool inverse, onesided;           /* DFT, STFT */
  int64_t dft_length;               /* DFT (from input; 0: the axis length) */
  int64_t frame_step, frame_length; /* STFT (from inputs; frame_length 0: window's) */
  bool periodic;                    /* window functions */
  TfIdfMode tfidf_mode;             /* TfIdfVectorizer */
  int64_t min_gram, max_gram, max_skip;
  int nngram_counts, nngram_indexes, npool, ntfidf_weights;
  const int64_t *ngram_counts; /* arena arrays */
  const int64_t *ngram_indexes;
  const int64_t *pool;
  const float *tfidf_weights;
  LossReduction loss_reduction; /* NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss */
  bool has_ignore;
  int64_t ignore_index;
  const char *equation;              /* Einsum, as written (arena) */
  int ein_nops;                      /* ... parsed: operands */
  int8_t ein_rank[NAASC_MAX_EINSUM]; /* labels per operand, ellipsis expanded by infer */
  int8_t ein_in[NAASC_MAX_EINSUM][NAASC_MAX_RANK]; /* label ids 0..51 (a-z, A-Z), 52+ ellipsis */
  int8_t ein_ell[NAASC_MAX_EINSUM];                /* position of '...' in the operand, -1 none */
  int8_t ein_nout;                                 /* output labels */
  int8_t ein_out[NAASC_MAX_RANK];
  int8_t ein_out_ell; /* position of '...' in the output, -1 none */
  bool ein_explicit;  /* the equation has '->' */
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
  const char *name; /* ONNX attribute name */
  AttrKind kind;
  uint16_t off;             /* offsetof(Attrs, field) */
  uint16_t count_off;       /* lists: offsetof the int count */
  int16_t max;              /* lists: capacity */
  const char *const *names; /* AK_ENUM(S): the ONNX spellings */
  int nnames;
  double def; /* default when absent (not lists) */
  bool required;
  uint16_t has_off; /* offsetof a bool set when the attribute is given, + 1; 0 none */
  int8_t input;     /* >= 0: the input slot carrying it from input_since on */
  int8_t input_since;
  int8_t until; /* > 0: an attribute only before this opset */
} AttrSpec;

/* The rows of op's attributes (possibly none). */
const AttrSpec *op_attr_specs(Op op, int *n);
/* Sets op's attribute defaults (rows' `def`) in a. */
void attrs_spec_defaults(Op op, Attrs *a);

typedef struct {
  Op op;
  const char *name;    /* ONNX node name, or a made-up one ("Conv_12") */
  const char *onnx_op; /* the ONNX op_type as written (OP_HOST keeps it here) */
  int nin, nout;
  TensorId *in; /* arena; 0 = absent optional input */
  TensorId *out;
  Attrs a;
  Op act;          /* fused activation (OP_RELU, OP_CLIP, ...), or OP_NONE */
  Attrs act_a;     /* its attributes */
  bool bn_folded;  /* a BatchNormalization was folded into this conv */
  bool host_only;  /* --allow-unsupported: runs on the host */
  bool dead;       /* removed by a rewrite; skipped by every walk */
  uint32_t sub[2]; /* subgraphs (ids into the holding graph's subs): If then/else,
                             Loop/Scan body in sub[0]; 0 = none */
  int ncap;        /* the last ncap inputs are the outer values the subgraphs
                             capture (not ONNX inputs) */
} Node;

/* A Model is a graph: the main one, or a subgraph held in its owner's
 * graph (subs[id], by value; ids start at 1).  A subgraph's formal inputs
 * are its `inputs` (TK_INPUT), its results its `outputs`; the values it
 * reads from enclosing scopes are TK_OUTER tensors, each bound to an input
 * of the owning node, so every value a node needs is one of its inputs. */
typedef struct Model {
  Arena arena;
  const char *name;   /* graph name */
  const char *source; /* file it came from, for diagnostics */
  int64_t ir_version;
  int64_t opset;
  const char *producer;
  Tensor *tensors; /* [0] unused */
  uint32_t ntensors, captensors;
  Node *nodes; /* [0] unused */
  uint32_t nnodes, capnodes;
  TensorId *inputs; /* graph inputs, in order */
  uint32_t ninputs, capinputs;
  TensorId *outputs; /* graph outputs, in order */
  uint32_t noutputs, capoutputs;
  struct Model *subs; /* subgraphs of this graph's nodes; [0] unused */
  uint32_t nsubs, capsubs;
  const char *scope; /* a subgraph: where it sits, for diagnostics
                             ("then_branch of node 'if_1'"); NULL for the main graph */
} Model;

Model *model_create(const char *name); /* heap; NULL on failure */
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
void attrs_default(Attrs *a); /* ONNX defaults: strides/dilations 1, alpha 1, ... */

int64_t tensor_numel(const Tensor *t); /* -1 if the shape is unknown or too large */
bool tensor_shape_known(const Tensor *t);
/* Element i of dense row-major data of type dt, converted (the one reader of
 * element types: tensor_get_*, host/'s host_get_*); a float read as an
 * integer is truncated, saturating, NaN 0. */
double elem_get_f(DType dt, const void *data, int64_t i);
int64_t elem_get_i(DType dt, const void *data, int64_t i);
/* The one writer: element i of dense data of type dt set from a double or
 * an int64 (a float to an integer type truncates, saturating, NaN 0; an
 * integer wraps to the type's width; f16/bf16 round to nearest even). */
void elem_put_f(DType dt, void *data, int64_t i, double v);
void elem_put_i(DType dt, void *data, int64_t i, int64_t v);
/* IEEE binary16 and bfloat16 of a float, rounding to nearest even. */
uint16_t elem_f32_to_f16(float f);
uint16_t elem_f32_to_bf16(float f);
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
/* Reads graph_print's text back (docs/ir.md, "The graph text form"):
 * parse -> print gives the text again, byte for byte.  Errors are located
 * (line:col through d); *out is NULL then.  Only the syntax, names, arities
 * and attribute keys are checked here: graph_import_text (frontend/) also
 * runs the importer's checks. */
Rc graph_parse(const char *text, size_t len, Model **out, Diag *d);

/* ==== the accelerator nouns ============================================ */

/*
 * The accelerator-side nouns.  A Problem is one layer as a
 * perfectly nested loop over G N K C P Q R S; an Arch is a storage hierarchy
 * from DRAM inwards over a PE array of up to three spatial axes; a Mapping
 * tiles, orders, unrolls and bypasses the Problem on the Arch, within the
 * Arch's MapConstraints; a CostResult is what backend/cost.c derives from the
 * three (docs/cost-model.md).
 *
 * Invariants:
 *   - every struct here is plain data with fixed-size arrays and no pointers,
 *     so the search copies candidates with memcpy and never frees them;
 *   - storage levels are listed outermost (DRAM) first, at most
 *     ACCEL_MAX_LEVELS of them; Arch.nlevels == Mapping.nlevels;
 *   - dimension and tensor indices are the DIM_* and TENSOR_* enumerators,
 *     and masks over them use bit (1u << index);
 *   - counts are in words, energies in pJ, bandwidths in words per cycle.
 */

/* ---- dimensions and tensors ------------------------------------------- */

/* Loop dimensions of a convolution (Timeloop calls K "M").  Depthwise is
 * G = channels, K = C = 1; a matmul or FC layer is P = Q = R = S = 1.
 *
 * One order of the dims everywhere: every array or mask indexed by a dim
 * (Problem.dim, LevelMapping.factor and order, connectivity, the tile
 * plan's extents, the command stream's loop records) uses these DIM_*
 * indices, G N K C P Q R S.  A mac nest's list of loops is not an index
 * but an order: as lowered and printed it is N G K C P Q R S
 * (nest_mac_order, the default loop order of an unmapped nest), and each of
 * its NestDims carries its DIM_* (NestDim.dim), so code finds a dim's
 * position in a nest with nest_dim_pos and never assumes it. */
typedef enum {
  DIM_G = 0, /* groups */
  DIM_N,     /* batch */
  DIM_K,     /* output channels per group */
  DIM_C,     /* input channels per group */
  DIM_P,     /* output rows (pairs with R, stride[0], dilation[0]) */
  DIM_Q,     /* output columns (pairs with S, stride[1], dilation[1]) */
  DIM_R,     /* filter rows */
  DIM_S,     /* filter columns */
  NDIMS
} Dim;

/* W[g,k,c,r,s], I[n,g,c,p*stride0+r*dil0,q*stride1+s*dil1], O[n,g,k,p,q]. */
typedef enum { TENSOR_W = 0, TENSOR_I, TENSOR_O, NTENSORS } AccelTensor;

#define ACCEL_ALL_DIMS ((uint8_t)0xFF)
#define ACCEL_ALL_TENSORS ((uint8_t)0x07)

#define ACCEL_MAX_LEVELS 8 /* storage levels, DRAM included */
#define ACCEL_MAX_AXES 3   /* PE-array axes: x, y, z */
#define ACCEL_NAME_MAX 48  /* names, NUL included */

enum { AXIS_X = 0, AXIS_Y, AXIS_Z };

/* Dimension letters in DIM_* order and tensor letters in TENSOR_* order. */
static inline char accel_dim_letter(int d) { return "GNKCPQRS"[d & 7]; }
/* The same as a string ("G", "N", ...): the dim names of a mac nest. */
static inline const char *accel_dim_name(int d) {
  static const char *const names[NDIMS] = {"G", "N", "K", "C", "P", "Q", "R", "S"};
  return names[d & 7];
}
static inline char accel_tensor_letter(int t) { return "WIO"[t % 3]; }

/* DIM_* for a letter (K or M for output channels), or -1. */
static inline int accel_dim_from_letter(char c) {
  switch (c) {
  case 'G': return DIM_G;
  case 'N': return DIM_N;
  case 'K':
  case 'M': return DIM_K;
  case 'C': return DIM_C;
  case 'P': return DIM_P;
  case 'Q': return DIM_Q;
  case 'R': return DIM_R;
  case 'S': return DIM_S;
  default: return -1;
  }
}

/* TENSOR_* for a letter, or -1. */
static inline int accel_tensor_from_letter(char c) {
  return c == 'W' ? TENSOR_W : c == 'I' ? TENSOR_I : c == 'O' ? TENSOR_O : -1;
}

/* Mask of the dims that index tensor t (the others leave its tile in place). */
static inline uint8_t accel_tensor_dims(int t) {
  switch (t) {
  case TENSOR_W:
    return (uint8_t)(1u << DIM_G | 1u << DIM_K | 1u << DIM_C | 1u << DIM_R | 1u << DIM_S);
  case TENSOR_I:
    return (uint8_t)(1u << DIM_G | 1u << DIM_N | 1u << DIM_C | 1u << DIM_P | 1u << DIM_Q |
                     1u << DIM_R | 1u << DIM_S);
  default: return (uint8_t)(1u << DIM_G | 1u << DIM_N | 1u << DIM_K | 1u << DIM_P | 1u << DIM_Q);
  }
}

/* ---- Problem ----------------------------------------------------------- */

typedef struct {
  char name[ACCEL_NAME_MAX];
  int64_t dim[NDIMS];  /* bounds, each >= 1 */
  int64_t stride[2];   /* [0] pairs with P/R, [1] with Q/S */
  int64_t dilation[2]; /* likewise */
} Problem;

static inline int64_t problem_macs(const Problem *p) {
  int64_t m = 1;
  for (int d = 0; d < NDIMS; d++) m *= p->dim[d];
  return m;
}

/* Padded input extent along axis a (0: rows, from P and R; 1: columns). */
static inline int64_t problem_input_extent(const Problem *p, int a) {
  int64_t out = p->dim[a ? DIM_Q : DIM_P], win = p->dim[a ? DIM_S : DIM_R];
  return (out - 1) * p->stride[a] + (win - 1) * p->dilation[a] + 1;
}

/* ---- Mapping ----------------------------------------------------------- */

/* One storage level's loops.  Nesting, outermost first: level 0 temporal,
 * level 0 spatial z, y, x, level 1 temporal, ... down to the innermost
 * level's temporal loops around one MAC.  A temporal factor f with
 * remainder r (0 < r < f) runs r iterations instead of f when every
 * enclosing loop of the same dim is in its last iteration (Timeloop's
 * "Q=5,2"); remainder 0 or == factor means a perfect factor. */
typedef struct {
  int64_t factor[NDIMS];                        /* temporal factor f >= 1 */
  int64_t remainder[NDIMS];                     /* 0 or r in 1..f */
  uint8_t order[NDIMS];                         /* temporal permutation, outermost first */
  int64_t spatial[ACCEL_MAX_AXES][NDIMS];       /* unrolling per axis, >= 1 */
  uint8_t spatial_order[ACCEL_MAX_AXES][NDIMS]; /* permutation per axis, outermost first */
  uint8_t keep;                                 /* tensors stored here (bit per TENSOR_*) */
} LevelMapping;

typedef struct {
  int nlevels;
  LevelMapping level[ACCEL_MAX_LEVELS];
} Mapping;

/* Loop iterations of a factor: r if 0 < r < f, else f. */
static inline int64_t mapping_residual(const LevelMapping *m, int d) {
  int64_t f = m->factor[d], r = m->remainder[d];
  return (r > 0 && r < f) ? r : f;
}

/* Sets every factor to 1, orders to G N K C P Q R S, keep to `keep`. */
static inline void level_mapping_init(LevelMapping *m, uint8_t keep) {
  for (int d = 0; d < NDIMS; d++) {
    m->factor[d] = 1;
    m->remainder[d] = 0;
    m->order[d] = (uint8_t)d;
    for (int a = 0; a < ACCEL_MAX_AXES; a++) {
      m->spatial[a][d] = 1;
      m->spatial_order[a][d] = (uint8_t)d;
    }
  }
  m->keep = keep;
}

/* ---- MapConstraints -------------------------------------------------------
 * What a mapping of an Arch may be, beyond what its levels allow: Timeloop's
 * mapspace constraints (docs/cost-model.md, "Mapping constraints";
 * docs/timeloop.md).  The whole constraint set of an Arch is
 *   - its levels' keeps_allowed (a `bypass` constraint), keeps_required (a
 *     `keep`), connectivity (a spatial factor D=1, a spatial `split`) and
 *     no_multicast / no_reduction (`no_multicast_no_reduction`), and
 *   - its MapConstraints (Arch.cons): per level and per dim, bounds on the
 *     factor of the level's temporal loop and of its fan-out (the product of
 *     the spatial factors over the axes, as Timeloop's spatial `factors`),
 *     whether a dim may unroll on more than one axis of the fan-out,
 *     the order of the level's temporal loops and of its spatial loops on
 *     each axis, and the least fraction of the MACs a mapping must use.
 * All zero is no constraint.  A factor bound is 0 (none), n >= 1, or
 * MAPCONS_WHOLE, the dim's bound in the layer (Timeloop's `D=0`), so that one
 * constraint set serves every layer; an exact factor has lo == hi.  An order
 * constraint names dims `outer` that come first (outermost first) and dims
 * `inner` that come last (outermost first, so inner[ninner - 1] is the
 * innermost), among the loops of factor > 1 only: a loop of factor 1 is no
 * loop (Timeloop's partial permutations; a complete one lists every dim).
 * The mapper (search/mapper.c) searches only mappings within these
 * constraints; mapcons_satisfied tells whether a mapping is. */

#define MAPCONS_WHOLE INT64_C(-1) /* a factor bound: the layer's whole dim */
enum { MAPCONS_TEMPORAL = 0, MAPCONS_SPATIAL = 1 };

typedef struct {
  int64_t lo[2][NDIMS], hi[2][NDIMS];       /* [MAPCONS_TEMPORAL or _SPATIAL][dim]: 0 = none */
  uint8_t outer[2][NDIMS], inner[2][NDIMS]; /* order constraints, outermost first */
  uint8_t nouter[2], ninner[2];
  bool
      one_axis; /* each dim unrolls on one axis of the fan-out at most (Timeloop's spatial levels) */
} LevelConstraints;

typedef struct {
  LevelConstraints level[ACCEL_MAX_LEVELS]; /* as Arch.level */
  double min_parallelism; /* 0..1: MACs the mapping uses / MACs of the arch, at least */
} MapConstraints;

/* The bounds [*lo, *hi] (1 <= lo, hi <= dim) a constraint puts on the factor
 * of a loop (kind MAPCONS_TEMPORAL or _SPATIAL) over a dim of bound dim.  A
 * lower bound above the dim is the dim, as Timeloop clamps a factor that
 * exceeds its dimension (constraints.cpp, ParseFactors), so that one
 * constraint set serves layers of every size. */
static inline void mapcons_bounds(const LevelConstraints *c, int kind, int d, int64_t dim,
                                  int64_t *lo, int64_t *hi) {
  int64_t l = c->lo[kind][d], h = c->hi[kind][d];
  *lo = (l == MAPCONS_WHOLE || l > dim) ? dim : l > 0 ? l : 1;
  *hi = h == MAPCONS_WHOLE ? dim : (h > 0 && h < dim) ? h : dim;
}

/* Whether the constraint set says anything at all. */
bool mapcons_any(const MapConstraints *c);

/* ---- Arch -------------------------------------------------------------- */

/* One storage level.  Capacities are per instance; bandwidths per instance
 * in words/cycle, <= 0 meaning unlimited.  Energies are per access of one
 * block of block_words words (Timeloop's vector access, README 4.5). */
typedef struct {
  char name[ACCEL_NAME_MAX];
  bool is_dram;      /* unbounded, no in-place reduction */
  int64_t instances; /* physical instances (= mesh_x * mesh_y) */
  int64_t mesh_x, mesh_y;
  int64_t fanout[ACCEL_MAX_AXES]; /* to the next inner level (or the MACs), per axis; >= 1 */
  uint8_t
      connectivity[ACCEL_MAX_AXES]; /* dims allowed to unroll on each axis (NAAS parallel dims) */
  int word_bits;
  int64_t block_words;                     /* words per access, >= 1 */
  int64_t capacity_words;                  /* 0 = unbounded */
  int64_t tensor_capacity_words[NTENSORS]; /* optional per-tensor limit, 0 = none */
  double multiple_buffering;               /* effective capacity = capacity / this (1 = single) */
  uint8_t keeps_allowed;                   /* tensors this level may hold (bit per TENSOR_*) */
  uint8_t keeps_required;                  /* of those, tensors it must hold (YAML must_keep;
                                        Timeloop's `keep` constraint); 0 = none */
  double read_bw, write_bw, shared_bw;     /* words/cycle per instance; "write" = fills + updates */
  double e_read_pj, e_fill_pj, e_update_pj; /* pJ per block access */
  double leak_pj_per_cycle; /* static energy per instance and cycle (Timeloop's `leak`
                                        action), charged for the utilized instances over the
                                        whole run; 0 = none */
  /* The network from this level to its fan-out (YAML `noc`): energy to move
   * one word one hop, and whether one parent access may serve every child
   * needing the same word (multicast; spatial reduction for outputs).  The
   * zero defaults are Timeloop's: free wires, multicast and reduction on. */
  double noc_pj_per_hop;
  bool no_multicast, no_reduction;
  /* Area (um^2): per word of capacity plus per instance; docs/cost-model.md
   * "Area".  0 leaves the term out. */
  double area_um2_per_word;
  double area_um2_fixed;
  /* Technology (docs/technology.md, "In architecture files"): with
   * Arch.tech_nm > 0 the figures named by `derived` (LEVEL_TECH_* bits) were
   * not given in the file and come from the technology model
   * (arch_apply_tech), which recomputes them whenever the level is resized. */
  uint8_t derived;   /* LEVEL_TECH_* */
  uint8_t memory;    /* LEVEL_MEM_*: the kind of array the model costs */
  uint8_t dram_type; /* TechDram (backend/backend.h) of a DRAM level */
  int banks, ports;  /* of the array; 0 = not given, one */
} Level;

#define LEVEL_TECH_ENERGY 1u /* e_read_pj, e_fill_pj, e_update_pj */
#define LEVEL_TECH_LEAK 2u   /* leak_pj_per_cycle */
#define LEVEL_TECH_AREA 4u   /* area_um2_per_word, area_um2_fixed */
#define LEVEL_TECH_NOC 8u    /* noc_pj_per_hop */
#define LEVEL_TECH_ALL 15u

typedef enum {
  LEVEL_MEM_AUTO = 0, /* a register file up to 1 KB per instance, SRAM above */
  LEVEL_MEM_SRAM,
  LEVEL_MEM_REGFILE
} LevelMemory;

/* Which energy scheme an Arch's figures follow (--assume). */
typedef enum {
  ARCH_PHYSICAL = 0, /* pJ from the file or the technology model, DRAM included */
  ARCH_ASSUME_NAAS   /* NAAS's (MAESTRO's) assumptions: on-chip energy only, in
                        the relative scheme of Chen et al. ISCA 2016 Table IV,
                        DRAM bandwidth unlimited (arch_assume) */
} ArchAssume;

/* The vector unit beside the array (pooling, element-wise ops, softmax,
 * normalisations): costed per vector nest by backend/vector.c, apart from
 * the mac layers' cost model. */
typedef struct {
  int64_t lanes;           /* 0 = none (vector nests are not costed) */
  double energy_pj_per_op; /* one add or multiply, when the arch has no technology node */
  double area_um2;         /* placeholder */
} VectorUnit;

typedef struct {
  char name[ACCEL_NAME_MAX];
  int nlevels;                   /* 1..ACCEL_MAX_LEVELS */
  Level level[ACCEL_MAX_LEVELS]; /* [0] is DRAM */
  int64_t mac_instances, mac_mesh_x, mac_mesh_y;
  double mac_energy_pj; /* one MAC */
  double mac_area_um2;  /* as Level.area_* */
  VectorUnit vector;
  double clock_mhz;          /* for seconds; 0 = unknown */
  double tech_nm;            /* technology node; 0 = none (every figure given) */
  int tensor_bits[NTENSORS]; /* word width of W, I, O (MAC operands, stored outputs); 0 = not
                                given, 16 */
  int psum_bits;             /* the MAC's accumulator (partial sums); 0 = not given: O's width
                                when it differs from the operands', else twice theirs */
  uint8_t number;            /* the operands' number format, a TechNumber (backend/backend.h):
                                0 integer (1 bit: binary XNOR-popcount), else fp16/bf16/fp32 */
  uint8_t mac_derived;       /* LEVEL_TECH_ENERGY, _AREA: the MAC's from the model */
  uint8_t assume;            /* ArchAssume */
  MapConstraints cons;  /* the mappings' constraints beyond the levels' keeps and connectivity */
  bool classifier_cons; /* cons_classifier holds for classifier layers (arch_layer_cons) */
  MapConstraints cons_classifier; /* as_built.classifier: a chip's dataflow for layers of one
                                     output position (P = Q = R = S = 1), where it differs */
} Arch;

/* Whether p is a classifier layer in the sense of Arch.cons_classifier:
 * one output position and a 1 x 1 window (a fully connected layer, a
 * matmul, a 1 x 1 convolution of a pooled map). */
static inline bool problem_is_classifier(const Problem *p) {
  return p->dim[DIM_P] == 1 && p->dim[DIM_Q] == 1 && p->dim[DIM_R] == 1 && p->dim[DIM_S] == 1;
}

/* The constraints a mapping of p on a keeps: a->cons, or for a classifier
 * layer a->cons_classifier when a has one. */
static inline const MapConstraints *arch_layer_cons(const Arch *a, const Problem *p) {
  return a->classifier_cons && problem_is_classifier(p) ? &a->cons_classifier : &a->cons;
}

/* The word width of tensor t (16 bits when the arch does not say). */
static inline int arch_tensor_bits(const Arch *a, int t) {
  return a->tensor_bits[t] > 0 ? a->tensor_bits[t] : 16;
}

/* Whether m (of p on a) keeps every constraint of a: its levels' keeps and
 * connectivity and a->cons.  If not and why is given, why gets the first
 * broken constraint in words ("level 'GLB': temporal factor of K is 4, the
 * constraint says <= 2").  No allocation: the mapper calls it per candidate. */
bool mapcons_satisfied(const Arch *a, const Problem *p, const Mapping *m, char *why, size_t whylen);

/* Whether a's constraints contradict themselves or the arch whatever the
 * layer: a lower bound above an upper one, a dim in both an outer and an
 * inner order, a spatial factor > 1 required where no axis of the fan-out
 * may unroll the dim, required spatial factors whose product exceeds the
 * fan-out.  If not valid: *level (and *dim, or -1) name the first broken
 * one and why says it in words. */
bool mapcons_valid(const Arch *a, int *level, int *dim, char *why, size_t whylen);

/* Whether some mapping of p on a could keep a's factor constraints: per
 * dim, an exact factor that exceeds or does not divide the dim, a lower
 * bound above it, or no choice of factors within the bounds (and the
 * fan-outs) whose product is the dim.  If not: *level (or -1 when no single
 * level is at fault), *kind, *dim and why name the first such constraint.
 * Capacities are not considered (the mapper's mapper_check does that). */
bool mapcons_feasible(const Arch *a, const Problem *p, int *level, int *kind, int *dim, char *why,
                      size_t whylen);

/* ---- CostResult --------------------------------------------------------- */

typedef struct {
  int64_t reads, fills, updates;
} AccessCounts;

/* ceil(n / b) for blocks of b >= 1 words, n >= 0 (a shift when b is a
 * power of two: the cost model's hottest division). */
static inline int64_t blocks_of(int64_t n, int64_t b) {
  if (b == 1) return n;
  if (n >= 0 && (b & (b - 1)) == 0) return (n + b - 1) >> __builtin_ctzll((unsigned long long)b);
  return (n + b - 1) / b;
}

/* The energy of per-instance accesses pi at level lv on inst instances:
 * reads, fills and updates each round up to whole blocks (README 4.5;
 * cost.c and schedule.c both count with it). */
static inline double level_access_energy(const Level *lv, const AccessCounts *pi, int64_t inst) {
  int64_t b = lv->block_words;
  return (double)inst * ((double)blocks_of(pi->reads, b) * lv->e_read_pj +
                         (double)blocks_of(pi->fills, b) * lv->e_fill_pj +
                         (double)blocks_of(pi->updates, b) * lv->e_update_pj);
}

typedef struct {
  AccessCounts total[NTENSORS];        /* summed over utilized instances (Timeloop's totals) */
  AccessCounts per_instance[NTENSORS]; /* one instance */
  int64_t utilized_instances;          /* product of the spatial factors above this level */
  int64_t tile_words[NTENSORS];        /* utilized capacity; 0 if not kept */
  int64_t partition_words[NTENSORS];   /* distinct words one instance holds over the run */
  int64_t cycles;                      /* this level's bandwidth-limited cycles */
  double slowdown;                     /* <= 1; 1 = keeps up with compute */
  double energy_pj;                    /* all tensors, all utilized instances (NoC included) */
  double noc_energy_pj;                /* of which the network below this level */
  double leak_energy_pj;               /* of which leakage (Level.leak_pj_per_cycle) */
  double tensor_energy_pj[NTENSORS];
} LevelCost;

typedef struct {
  int nlevels;
  LevelCost level[ACCEL_MAX_LEVELS];
  int64_t macs;                   /* real MACs (the problem's) */
  int64_t mac_utilized_instances; /* PEs the mapping uses */
  int64_t compute_cycles;         /* product of all temporal factors (remainders padded) */
  int64_t cycles;                 /* max of compute_cycles and every level's cycles */
  int bottleneck;                 /* -1: compute; else the level setting cycles */
  double mac_energy_pj;
  double tensor_energy_pj[NTENSORS]; /* summed over levels */
  double energy_pj;                  /* MACs + all levels (network energy is 0) */
  double edp;                        /* energy_pj * cycles (pJ x cycles) */
  double seconds;                    /* cycles / clock; 0 if the clock is unknown */
  double utilization;                /* macs / (mac_instances * cycles) */
  double area_um2;                   /* placeholder model, docs/cost-model.md */
} CostResult;

/* ---- Schedule ------------------------------------------------------------ */

/* A whole-network schedule above the per-layer mappings (docs/cost-model.md,
 * "Whole-network schedules").  The nests of a lowered module run in module
 * order (a topological order); a group is a range [first, last] of two or
 * more consecutive nests that runs as one unit, its activations kept in the
 * on-chip level `home`.  Nests in no group run alone: a schedule with no
 * groups is the layer-by-layer schedule of cost_eval.
 *
 *   SCHED_LAYER  the group's layers run one after another, whole, and the
 *                tensors produced and consumed inside the group stay in home.
 *   SCHED_DEPTH  depth-first (DeFiNES, Mei et al., HPCA 2023): the last
 *                nest's output is cut into tiles of tile[0] rows x tile[1]
 *                columns, visited row-major; per tile every nest computes the
 *                part of its output that the tile needs; every activation the
 *                group's layers read or write lives in home.  `overlap` says
 *                what happens to the parts two neighbouring tiles share.
 *
 * Invariants: groups are listed in module order and do not overlap; first <
 * last; home >= 1 names an on-chip storage level.  Plain data, as every
 * noun here: a Schedule is copied with memcpy. */
typedef enum {
  SCHED_LAYER = 0, /* layer by layer, intermediates resident in home */
  SCHED_DEPTH      /* depth-first over tiles of the last nest's output */
} SchedMode;

/* DeFiNES's three ways to treat the overlap of neighbouring tiles. */
typedef enum {
  OVERLAP_RECOMPUTE = 0, /* fully recompute: every tile computes all it needs */
  OVERLAP_CACHE_H,  /* cache horizontally (the left neighbour's columns), recompute vertically */
  OVERLAP_CACHE_ALL /* fully cache: every element of every tensor is computed once */
} SchedOverlap;

#define SCHED_MAX_GROUPS 2048

typedef struct {
  uint32_t first, last; /* nest indices in module order, first < last */
  uint8_t mode;         /* SchedMode */
  uint8_t overlap;      /* SchedOverlap; SCHED_DEPTH only (else 0) */
  uint8_t home;         /* storage level holding the group's activations (>= 1) */
  uint8_t weights_home; /* SCHED_DEPTH: the group's weights are fetched once and kept in home */
  int64_t tile[2];      /* SCHED_DEPTH: rows, columns of the last nest's output per tile (else 0) */
} SchedGroup;

typedef struct {
  uint32_t ngroups;
  SchedGroup group[SCHED_MAX_GROUPS];
} Schedule;

/* ==== the loop-nest IR ================================================= */

/*
 * The loop-nest IR.  One Nest per layer of the graph IR: a perfect
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
 *            resize, batch norm.  `vop` is the op (NAASC_VOPS).
 *   NK_MOVE  data movement: copy with affine source and destination
 *            (concat pieces, slice, transpose, gather of constants).
 *   NK_VIEW  a new shape for the same row-major data (reshape, flatten,
 *            squeeze, unsqueeze, identity, dropout): no loops, no traffic.
 *
 * Invariants (module_verify checks them):
 *   - every access has one index expression per tensor dim, affine in the
 *     nest's dims; an index may leave the tensor's bounds only by the
 *     access's declared padding.  A read of padding gives the op's identity
 *     (0 for mac and sums, -inf for maxpool; avgpool leaves it out of the
 *     count unless its count_include_pad is 1); writes outside the bounds
 *     of a scatter (conv-transpose) are dropped;
 *   - dims have bound >= 1; names are unique within a nest;
 *   - a nest's op is one of its kind (vop_kind(vop) == kind).
 */
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

/* The roles of a nest's operands, by the short names the text form gives
 * them ("I = read %x[...]"); what each operand is depends on the op
 * (NAASC_VOPS lists the roles each op reads). */
#define NAASC_ROLES(X)                                                             \
  X(ROLE_I, "I")     /* mac: the input (a conv's windowed operand) */              \
  X(ROLE_W, "W")     /* mac: the weights */                                        \
  X(ROLE_B, "B")     /* mac: the bias; a host op's seventh input */                \
  X(ROLE_O, "O")     /* the result */                                              \
  X(ROLE_X, "X")     /* vec, move, view: the first operand */                      \
  X(ROLE_Y, "Y")     /* the second (batchnorm: the scale) */                       \
  X(ROLE_Z, "Z")     /* the third (batchnorm: the bias) */                         \
  X(ROLE_U, "U")     /* the fourth (batchnorm: the mean) */                        \
  X(ROLE_V, "V")     /* the fifth (batchnorm: the variance) */                     \
  X(ROLE_A, "A")     /* the sixth */                                               \
  X(ROLE_C, "C")     /* the eighth input of a host op (never lowered: 7 fit) */    \
  X(ROLE_IDX, "Idx") /* gather: the indices */                                     \
  X(ROLE_O1, "O1")   /* a second result (Dropout's mask, host ops) */              \
  X(ROLE_O2, "O2")   /* further results of host ops */                             \
  X(ROLE_O3, "O3")                                                                 \
  X(ROLE_O4, "O4")                                                                 \
  X(ROLE_O5, "O5")                                                                 \
  X(ROLE_O6, "O6")                                                                 \
  X(ROLE_O7, "O7")                                                                 \
  X(ROLE_XZP, "Xzp") /* integer mac: I's zero point, of run time or per row */     \
  X(ROLE_WZP, "Wzp") /* integer mac: W's zero point, of run time or per channel */ \
  X(ROLE_YZP, "Yzp") /* integer mac: O's zero point, of run time */                \
  X(ROLE_WS, "Ws")   /* integer mac: W's scale, per channel or of run time */      \
  X(ROLE_XS, "Xs")   /* integer mac: I's scale, of run time (one element) */       \
  X(ROLE_YS, "Ys")   /* integer mac: O's scale, of run time (one element) */

typedef enum {
  ROLE_NONE = 0,
#define X(e, s) e,
  NAASC_ROLES(X)
#undef X
      ROLE_COUNT
} Role;

const char *role_name(Role r);    /* "I", "Idx"; "" for ROLE_NONE */
Role role_find(const char *name); /* ROLE_NONE if unknown */

typedef struct {
  uint32_t tensor; /* id in Module.tensors (0 = none) */
  AccessKind kind;
  IndexKind ix;
  Role role; /* which operand of the op it is */
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
  bool reduce; /* a reduction dim (C, R, S of a conv; window dims of a pool) */
  int8_t dim;  /* a mac nest's loop: its DIM_*; -1 in other nests (nest_set_dim_ids) */
} NestDim;

/* The default loop order of a mac nest, outermost first: N G K C P Q R S,
 * the order the lowering makes its dims in and the text form prints them. */
extern const uint8_t nest_mac_order[NDIMS];

/* A mac nest's mapping onto an accelerator (a Mapping), with the names the
 * text form needs: the target architecture and its storage levels. */
typedef struct {
  char target[ACCEL_NAME_MAX];
  char level[ACCEL_MAX_LEVELS][ACCEL_NAME_MAX]; /* outermost (DRAM) first */
  Mapping m;
} NestMapping;

/* How a vec or move op walks its operands (NAASC_VOPS's fourth column):
 * the one place that says which ops run element by element, so the tiled
 * stream, the loader's checks and the interpreter agree. */
typedef enum {
  VC_NONE = 0,
  VC_MAC,    /* the mac nest */
  VC_POINT,  /* element by element: affine reads (broadcast), one plain write per point */
  VC_WINDOW, /* a reduction over a window of reduce dims (pooling), tiled like a mac */
  VC_REDUCE, /* a reduction over whole dims (global pool, softmax, reduce mean) */
  VC_SAMPLE, /* reads at data-dependent or resampled positions (resize, gather) */
  VC_MOVE,   /* an affine copy (concat piece, slice, transpose) */
  VC_HOST,   /* an ONNX node run on the host */
  VC_VIEW    /* the view nest: no data moves */
} VopClass;

/* The op of every nest: one line per vec and move op, and the one unnamed
 * op of every mac nest and of every view nest.  Columns: enum, its name in
 * the text form ("vec(relu)"; "" prints none), the kind of nest it belongs
 * to, its class (VopClass), the fewest and most operands it reads and their roles in order, and
 * its parameters: the names of its float parameters in the slots of the
 * text form's f(...), of its integer ones in i(...) (NestParams names them
 * in code).  Slots an op does not name are 0.  The comment says what it
 * computes, per point of the nest (docs/ir.md, "Semantics").  The printer,
 * the parser, the verifier, the command stream's writer and loader and the
 * interpreter all expand from or look up this table. */
#define NAASC_VOPS(X)                                                                               \
  X(VOP_MAC, "", NK_MAC, VC_MAC, 2, 7, "I W B Xzp Wzp Yzp Ws Xs Ys", "alpha beta scale yscale",     \
    "xzp wzp yzp") /* O += I*W over the reduce dims, then the epilogue; Gemm (alpha != 0):        \
                      alpha*O + beta*B; 8-bit I, W (integer mac): (I-xzp)*(W-wzp) summed in i32,   \
                      + B, into an i32 O or requantized: sat(rne(sum*m) + yzp); operands Xzp,      \
                      Wzp, Yzp replace xzp, wzp, yzp; m is scale, or with any of Ws, Xs, Ys      \
                      (scale*Xs*Ws)/(Ys or yscale), each absent factor left out (NestParams) */ \
  X(VOP_RELU, "relu", NK_VEC, VC_POINT, 1, 1, "X", "", "")        /* max(x, 0) */                   \
  X(VOP_CLIP, "clip", NK_VEC, VC_POINT, 1, 1, "X", "min max", "") /* min(max(x, min), max) */       \
  X(VOP_LEAKYRELU, "leakyrelu", NK_VEC, VC_POINT, 1, 1, "X", "alpha",                               \
    "") /* x < 0 ? alpha*x : x */                                                                   \
  X(VOP_HARDSIGMOID, "hardsigmoid", NK_VEC, VC_POINT, 1, 1, "X", "alpha beta",                      \
    "") /* clamp(alpha*x + beta, 0, 1) */                                                           \
  X(VOP_HARDSWISH, "hardswish", NK_VEC, VC_POINT, 1, 1, "X", "",                                    \
    "")                                                          /* x * clamp(x/6 + 1/2, 0, 1) */   \
  X(VOP_SIGMOID, "sigmoid", NK_VEC, VC_POINT, 1, 1, "X", "", "") /* 1 / (1 + exp(-x)) */            \
  X(VOP_SQRT, "sqrt", NK_VEC, VC_POINT, 1, 1, "X", "", "")       /* sqrt(x) */                      \
  X(VOP_ADD, "add", NK_VEC, VC_POINT, 2, 2, "X Y", "",                                              \
    "") /* x + y (operands broadcast by their indices) */                                           \
  X(VOP_SUB, "sub", NK_VEC, VC_POINT, 2, 2, "X Y", "", "") /* x - y */                              \
  X(VOP_MUL, "mul", NK_VEC, VC_POINT, 2, 2, "X Y", "", "") /* x * y */                              \
  X(VOP_DIV, "div", NK_VEC, VC_POINT, 2, 2, "X Y", "",                                              \
    "") /* x / y; integers: truncated, 0 when y is 0 */                                             \
  X(VOP_MAX, "max", NK_VEC, VC_POINT, 1, 6, "X Y Z U V A", "",                                      \
    "")                                                    /* the largest operand; NaN wins */      \
  X(VOP_POW, "pow", NK_VEC, VC_POINT, 2, 2, "X Y", "", "") /* x ^ y */                              \
  X(VOP_CAST, "cast", NK_VEC, VC_POINT, 1, 1, "X", "",                                              \
    "to") /* x converted to the element type `to` (a DType) */                                      \
  X(VOP_BATCHNORM, "batchnorm", NK_VEC, VC_POINT, 5, 5, "X Y Z U V", "epsilon",                     \
    "") /* (x - u) / sqrt(v + epsilon) * y + z */                                                   \
  X(VOP_MAXPOOL, "maxpool", NK_VEC, VC_WINDOW, 1, 1, "X", "",                                       \
    "count_include_pad") /* max over the window (the reduce dims); padding never wins */            \
  X(VOP_AVGPOOL, "avgpool", NK_VEC, VC_WINDOW, 1, 1, "X", "",                                       \
    "count_include_pad") /* mean over the window; padding counts when count_include_pad is 1 */     \
  X(VOP_GLOBALAVGPOOL, "globalavgpool", NK_VEC, VC_REDUCE, 1, 1, "X", "",                           \
    "count_include_pad") /* mean over the spatial dims */                                           \
  X(VOP_SOFTMAX, "softmax", NK_VEC, VC_REDUCE, 1, 1, "X", "",                                       \
    "axis") /* exp(x - max) / sum over the reduce dims; axis: ONNX's, normalised */                 \
  X(VOP_REDUCEMEAN, "reducemean", NK_VEC, VC_REDUCE, 1, 1, "X", "",                                 \
    "") /* mean over the reduce dims */                                                             \
  X(VOP_RESIZE, "resize", NK_VEC, VC_SAMPLE, 1, 1, "X", "scale0 scale1 scale2 scale3",              \
    "mode coord nearest") /* ONNX Resize: X sampled at each point (docs/ir.md lists the modes) */   \
  X(VOP_HOST, "host", NK_VEC, VC_HOST, 0, 7, "X Y Z U V A B", "",                                   \
    "") /* an op run on the host, "host:OPTYPE" (Nest.host_op); whole operands */                   \
  X(VOP_COPY, "copy", NK_MOVE, VC_MOVE, 1, 1, "X", "", "") /* O[o] = X[x]: a piece of a Concat */   \
  X(VOP_SLICE, "slice", NK_MOVE, VC_MOVE, 1, 1, "X", "",                                            \
    "") /* O[o] = X[x]: a strided sub-range */                                                      \
  X(VOP_TRANSPOSE, "transpose", NK_MOVE, VC_MOVE, 1, 1, "X", "",                                    \
    "") /* O[o] = X[x]: X's dims permuted */                                                        \
  X(VOP_GATHER, "gather", NK_MOVE, VC_SAMPLE, 2, 2, "X Idx", "",                                    \
    "axis") /* X indexed along axis by the values of Idx */                                         \
  X(VOP_VIEW, "", NK_VIEW, VC_VIEW, 1, 1, "X", "",                                                  \
    "") /* O is X with O's shape; Dropout's mask O1 is all ones */

typedef enum {
  VOP_NONE = 0,
#define X(e, s, k, c, rmin, rmax, roles, fp, ip) e,
  NAASC_VOPS(X)
#undef X
      VOP_COUNT
} VecOp;

const char *vop_name(VecOp op); /* "relu"; "" for VOP_MAC, VOP_VIEW and VOP_NONE */
NestKind vop_kind(VecOp op);
VopClass vop_class(VecOp op); /* VC_NONE for VOP_NONE */
/* The op of a nest of kind k named name (a "host:OPTYPE" name is VOP_HOST);
 * VOP_NONE if k has no such op. */
VecOp vop_find(NestKind k, const char *name);
/* The fewest and most operands op reads, and their roles in order (up to
 * VOP_MAX_ROLES: a mac nest may read any 7 of its 9); returns how many
 * roles it lists. */
#define VOP_MAX_ROLES 10
int vop_reads(VecOp op, int *min, int *max, Role roles[VOP_MAX_ROLES]);
/* How many float (type 'f') or integer ('i') parameters op has, and their
 * names, space-separated (the table's column). */
int vop_nparams(VecOp op, char type);
const char *vop_param_names(VecOp op, char type);

/* The parameters of a nest's op, in the four float and four integer slots
 * of the text form (f(...) and i(...)), which the command stream stores as
 * they are; the views give the slots the names of NAASC_VOPS. */
typedef struct {
  union {
    float v[4]; /* f(...), slot by slot */
    struct {
      float alpha, beta;
      /* Integer mac with an 8-bit O: the requantization multiplier m, ONNX
       * Runtime's (x_scale * w_scale) / y_scale in f32.  Without a Ws, Xs or
       * Ys operand, scale is m itself and yscale 0.  With any of them, m is
       * computed per run as (scale * Xs * Ws[c]) / y, y the operand Ys or
       * else yscale, each absent operand left out of the product: scale is
       * the product of the constant factors among x_scale and w_scale (one
       * of them; both, multiplied in f32; or 1 when both are operands) and
       * yscale is y_scale when it is a constant, else 0 (lower_qmac). */
      float scale;
      float yscale;
    } mac; /* VOP_MAC (Gemm); alpha 0 for other mac nests */
    struct {
      float min, max;
    } clip; /* VOP_CLIP; -inf/inf for no bound */
    struct {
      float alpha;
    } leakyrelu; /* VOP_LEAKYRELU */
    struct {
      float alpha, beta;
    } hardsigmoid; /* VOP_HARDSIGMOID */
    struct {
      float epsilon;
    } batchnorm; /* VOP_BATCHNORM */
    struct {
      float scale[4];
    } resize; /* VOP_RESIZE: output/input per dim 0..3; 0: from the shapes */
  } f;
  union {
    int64_t v[4]; /* i(...), slot by slot */
    struct {
      int64_t to;
    } cast; /* VOP_CAST: the target DType */
    struct {
      int64_t xzp, wzp, yzp; /* zero points of I, W and an 8-bit O (0 with an Xzp, Wzp, Yzp) */
    } mac; /* VOP_MAC with 8-bit integer I and W (ConvInteger, QLinearConv, ...) */
    struct {
      int64_t count_include_pad;
    } pool; /* VOP_MAXPOOL, VOP_AVGPOOL, VOP_GLOBALAVGPOOL: 0 or 1 */
    struct {
      int64_t axis;
    } softmax; /* VOP_SOFTMAX, in 0..rank-1 */
    struct {
      int64_t axis;
    } gather; /* VOP_GATHER, in 0..rank-1 */
    struct {
      int64_t mode, coord, nearest;
    } resize; /* VOP_RESIZE: ResizeMode, ResizeCoord, ResizeNearest */
  } i;
} NestParams;

typedef struct {
  NestKind kind;
  const char *name;    /* the graph node's name */
  const char *loc;     /* "file.onnx:node 'conv1'" */
  VecOp vop;           /* the nest's op: one of its kind (NAASC_VOPS) */
  const char *host_op; /* VOP_HOST: the ONNX op type it runs; else NULL */
  /* VOP_HOST: the node as a self-contained ONNX model (onnx_encode_node,
   * module arena), what the stream carries for the runtime to run; NULL
   * if the node could not be encoded (an unknown op). */
  const uint8_t *host_blob;
  size_t host_blob_len;
  int ndims;
  NestDim dims[NEST_MAX_DIMS];
  int nacc;
  Access acc[NEST_MAX_ACCESS];
  /* Epilogue of a MAC nest, applied to each finished output. */
  bool has_bias;             /* the B access adds a per-output-channel bias */
  Op act;                    /* fused activation or OP_NONE */
  float act_alpha, act_beta; /* its parameters (Clip min/max, LeakyRelu alpha, HardSigmoid) */
  NestParams param;          /* the op's parameters */
  const char *note;          /* free text left by a pass (e.g. a plugin's analysis), or NULL */
  NestMapping *map;          /* mac nests: the mapping once mapped (module arena), or NULL */
} Nest;

/* A fused group of the loop-nest IR (docs/ir.md, "Fused groups"): the
 * schedule group `g` (SchedGroup: nests [g.first, g.last], mode, home,
 * depth-first tile and overlap policy) with the names the text form needs
 * and the residency of its activations.  A depth-first group is a loop over
 * tiles of its last nest's output (ntiles[0] rows x ntiles[1] columns of
 * tiles) around its nests; a layer group runs them once each.  `res` lists
 * every activation that lives in the home level while the group runs, as
 * the cost model counts it (backend/schedule.c, sched_group_residents):
 * kept there only, copied in from DRAM, or copied out to DRAM as well.
 * The verifier with a target (passes/builtin.c, verify) checks the list
 * and that the group fits its home level. */
typedef enum {
  RES_KEEP = 0, /* produced and consumed inside the group: never in DRAM */
  RES_COPY_IN,  /* a group input: copied from DRAM into home */
  RES_COPY_OUT  /* read after the group too: copied out of home to DRAM */
} NestResidency;

typedef struct {
  uint32_t tensor;
  uint8_t how; /* NestResidency */
} NestResident;

/* The words of the text form: "layer" "depth-first"; "recompute" "cache-h"
 * "cache-all"; "resident" "copy-in" "copy-out". */
extern const char *const nest_group_mode_names[2];
extern const char *const nest_overlap_names[3];
extern const char *const nest_residency_names[3];

typedef struct {
  SchedGroup g;
  char target[ACCEL_NAME_MAX];
  char home[ACCEL_NAME_MAX]; /* the name of level g.home */
  int64_t ntiles[2];         /* SCHED_DEPTH: tiles along rows and columns (else 0) */
  int nres;
  NestResident *res; /* module arena */
  int line, col;     /* where the text form opens it; 0 if built */
} NestGroup;

typedef struct {
  Arena arena;
  const char *name;
  const char *weights; /* the weights file the text names (`weights "PATH"`), or NULL */
  NestGroup *groups;   /* fused groups, in module order, disjoint (module_add_group) */
  uint32_t ngroups, capgroups;
  NTensor *tensors; /* [0] unused */
  uint32_t ntensors, captensors;
  Nest *nests;
  uint32_t nnests, capnests;
} Module;

Module *module_create(const char *name);
void module_destroy(Module *m);
uint32_t module_add_tensor(Module *m, const char *name, DType dt, int rank, const int64_t *dims,
                           TensorRole role);                    /* its id, 0 on failure */
uint32_t module_find_tensor(const Module *m, const char *name); /* 0 if none */
/* Appends a fused group (copied; g->res is copied into the module's arena).
 * NULL on failure. */
NestGroup *module_add_group(Module *m, const NestGroup *g);
/* "LINE:COL: fused group 'FIRST'..'LAST'" (without LINE:COL when built):
 * where a diagnostic about group g points (module arena). */
const char *nest_group_where(const Module *m, const NestGroup *g);
/* The group holding nest i, or NULL. */
const NestGroup *module_group_of(const Module *m, uint32_t i);
/* A new nest of kind `kind`: a mac or view nest gets its kind's one op,
 * a vec or move nest VOP_NONE until its builder sets one.  NULL on failure. */
Nest *module_add_nest(Module *m, NestKind kind, const char *name);
/* The first access of n with role r, or NULL. */
const Access *nest_access(const Nest *n, Role r);
/* Product of dim bounds for NK_MAC (INT64_MAX when it overflows), else 0. */
int64_t nest_macs(const Nest *n);

/* Text form (docs/ir.md). */
void module_print(FILE *f, const Module *m);
/* The same with only the nests named in names[0..n), each entry a comma-separated
 * list of names (all nests if n == 0). */
void module_print_filtered(FILE *f, const Module *m, const char *const *names, int n);
/* Parses the text form; errors carry line:col through d (d->file names the file). */
Rc module_parse(const char *text, size_t len, Module **out, Diag *d);
/* Checks the invariants; each broken rule is reported naming the nest. */
Rc module_verify(const Module *m, Diag *d);

/* The weights file of a module (ir/weights.c, docs/ir.md "Weights"): the
 * values of m's weight tensors, found in g by name, and g's outputs that
 * are constants no nest writes, in one binary file with a checksum, written
 * atomically to path.  A weight with no data in g is an error naming it. */
Rc weights_write(const char *path, const Module *m, const Model *g, Diag *d);
/* Reads the weights file at path for m: a Model holding each tensor's
 * values by name (and the constant outputs as outputs), the graph cmd_emit
 * takes.  Every size is checked against the file before it is trusted, the
 * checksum before anything; a weight of m the file lacks, or whose type or
 * shape differs from m's, is an error naming it.  *out is model_destroy'ed
 * by the caller. */
Rc weights_read(const char *path, const Module *m, Model **out, Diag *d);
/* Whether g holds values for every weight of m and there is something to
 * write (a weight, or a constant graph output): then a weights file is. */
bool weights_available(const Module *m, const Model *g);
/* The file a module read from nir_path ("-": standard input) names with
 * `weights "ref"`: ref relative to the .nir's folder, or as is when
 * absolute; false if it does not fit out[n]. */
bool weights_resolve(const char *nir_path, const char *ref, char *out, size_t n);
/* The reference to write into to_nir for a module read from from_nir: ref
 * itself when both are in one folder (or ref is absolute), else the
 * absolute path of the file (in a's memory). */
const char *weights_rebase(Arena *a, const char *from_nir, const char *ref, const char *to_nir);

/* Sets every NestDim.dim of n: in a mac nest, a dim named by one of the
 * letters G N K C P Q R S gets that DIM_*, any other -1; in other nests -1.
 * The parser and the stream's loader call it; the lowering sets them. */
void nest_set_dim_ids(Nest *n);
/* The position in n->dims of the loop over DIM_* d, or -1. */
int nest_dim_pos(const Nest *n, int d);
/* The accelerator problem of a mac nest (its eight dims carry the eight
 * DIM_*, in any order; stride and dilation read off the windowed access);
 * false if n is not such a nest. */
bool nest_problem(const Nest *n, Problem *p);
/* Checks that a mapping covers every dim of p exactly (Timeloop's rule for
 * imperfect factors); reports "map-coverage" errors through d. */
bool mapping_covers(const Mapping *m, const Problem *p, const char *where, Diag *d);
/* The mapping of a tile of rows x cols of a layer: full's loops over P and
 * Q cut down (innermost first, each factor to the largest divisor of what
 * is left; DRAM takes the rest).  Equal bounds give full unchanged.  The
 * schedule's cost (backend/schedule.c) and the stream's depth-first tiles
 * (stream/dfplan.c) both use it, so they cannot drift apart. */
void mapping_shrink_tile(const Mapping *full, int64_t rows, int64_t cols, Mapping *out);
/* The same over any two problem dims: rd cut to rows, cd to cols (an
 * attention matmul's tile cuts its query rows N and its columns K). */
void mapping_shrink_dims(const Mapping *full, Dim rd, int64_t rows, Dim cd, int64_t cols,
                         Mapping *out);
/* The single dim of a nest of ndims dims that expression e indexes, with
 * coefficient 1 and no constant (a tensor axis walked by one loop, as a
 * depth-first tile's rows and columns must be), or -1.  The schedule's
 * cost (backend/schedule.c) and the stream's tile plan (stream/dfplan.c)
 * both use it. */
int affine_plain_dim(const Affine *e, int ndims);
/* Whether mac nest n of m is an integer mac layer: u8 or i8 I and W, an
 * i32 O (the sums) or a u8/i8 O (requantized, NestParams mac.scale and
 * mac.yzp), an i32 bias if any, affine accesses (what the command stream
 * carries as one, stream/emit.c). */
bool nest_mac_int_types(const Module *m, const Nest *n);
/* Whether the command stream's runtime can run nest n of m tile by tile in
 * a depth-first group: a mapped floating-point mac nest (its W a weight or
 * an activation, attention's K^T or V, read whole by every tile), or a
 * vector nest whose interpreter writes only its nest's points and computes
 * each from them (element-wise ops, moves, pooling, reductions over whole
 * dims such as a softmax, whose reduce dims a tile spans whole).  One rule
 * for both sides: the schedule search forms only such depth-first groups
 * for a stream (search/scheduler.c), and cmd_emit refuses a group holding
 * any other nest (a host op such as a layer norm, a view, an integer mac
 * layer), naming it. */
bool nest_runs_tiled(const Module *m, const Nest *n);

#endif
