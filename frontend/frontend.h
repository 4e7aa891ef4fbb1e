/*
 * frontend.h: the public interface of frontend/ (included as
 * "frontend/frontend.h"; frontend/ depends on ir/ only): ONNX in (and out),
 * shape inference with constant folding, the per-layer summary, the model
 * zoo and the NAS-Bench-201 networks and table.  The graph rewrites (BN
 * folding, activation fusion) are passes (passes/passes.h).
 *
 * Only onnx.c includes the protobuf-c generated header.
 */
#ifndef NAASC_FRONTEND_H
#define NAASC_FRONTEND_H

#include "ir/ir.h"

#define NAASC_IR_VERSION_MIN 3
#define NAASC_IR_VERSION_MAX 10
/* Default-domain opsets: every op from NAASC_OPSET_MIN on; below it (down
 * to NAASC_OPSET_OLDEST) op by op, each op's definition being unchanged
 * since its op_since(). */
#define NAASC_OPSET_MIN 7
#define NAASC_OPSET_MAX 21
#define NAASC_OPSET_OLDEST 1
#define NAASC_MAX_BINDINGS 32

#define NAASC_MAX_NAME 256

typedef struct {
  char name[NAASC_MAX_NAME];
  int rank;
  int64_t dims[NAASC_MAX_RANK];
} InputShape;

typedef struct {
  char name[NAASC_MAX_NAME];
  const char *path; /* a serialized TensorProto (.pb) */
} InputData;

typedef struct {
  InputShape shapes[NAASC_MAX_BINDINGS]; /* --input-shape NAME=1x3x224x224 */
  int nshapes;
  InputData data[NAASC_MAX_BINDINGS]; /* --input-data NAME=FILE.pb: a constant input */
  int ndata;
  bool allow_unsupported; /* mark unsupported nodes host-only */
} ImportOptions;

void import_options_default(ImportOptions *o);
/* Parses "NAME=1x3x640x640"; false (with a message in d) if malformed. */
bool parse_input_shape(const char *arg, InputShape *s, Diag *d);
/* Parses "NAME=FILE.pb"; false (with a message in d) if malformed. */
bool parse_input_data(const char *arg, InputData *b, Diag *d);

/* Reads an ONNX model and runs shape inference and constant folding: the
 * result is fully static or the call fails.  *out is NULL on failure.
 * BatchNormalization folding and fusion are passes (passes.h). */
Rc onnx_import(const char *path, const ImportOptions *o, Model **out, Diag *d);
/* The same from memory; `dir` is where external data files are looked up
 * (NULL: external data is refused).  This is the fuzzing entry point. */
Rc onnx_import_buffer(const uint8_t *buf, size_t len, const char *dir, const ImportOptions *o,
                      Model **out, Diag *d);
/* Reads a serialized TensorProto into a new constant tensor of m. */
Rc onnx_read_tensor_file(const char *path, Model *m, const char *name, TensorId *out, Diag *d);
/* Writes m as an ONNX model, atomically (a temporary file renamed over
 * path): IR version 8 and opset 13, or the oldest opset (up to 21, then IR
 * version 10) that has every op of m; subgraphs as graph attributes. */
Rc onnx_write(const Model *m, const char *path, Diag *d);
/* Node n of graph g as a self-contained ONNX model (heap buffer *out of
 * *len bytes; xfree): n alone, with its subgraphs, its constant inputs as
 * initializers and every other input a typed graph input named as in g,
 * its outputs the graph outputs.  What the command stream carries for an
 * op run on the host; onnx_import_buffer reads it back (runtime/host.c). */
Rc onnx_encode_node(const Model *g, const Node *n, uint8_t **out, size_t *len, Diag *d);

/* Shape inference and constant folding over the sorted graph (and the
 * subgraphs of its If, Loop and Scan nodes).  Nodes whose inputs are all
 * constant are evaluated by host/ and become constants (within a size and
 * work limit); an If whose condition is constant is replaced by its branch. */
Rc graph_infer(Model *m, Diag *d);

/* A graph dump (graph_print's text, docs/ir.md) read back as a model:
 * graph_parse, then the checks of an imported model (graph_check,
 * graph_infer, which re-derives the attributes that come from constant
 * inputs and checks every declared type).  The dump carries a constant's
 * values only up to 8 elements: larger ones are data_elided, enough to
 * lower, map and cost, not to emit a command stream. */
Rc graph_import_text(const char *text, size_t len, Model **out, Diag *d);

/* MACs and parameters of one node (0 for ops that do no MACs). */
int64_t node_macs(const Model *m, const Node *n);
int64_t node_params(const Model *m, const Node *n);
/* The --summary table: one row per live node, then totals. */
void summary_print(FILE *f, const Model *m);

/* The zoo: published networks built in the graph IR. */
typedef struct {
  const char *name;
  const char *desc;
} ZooEntry;
const ZooEntry *zoo_list(int *n);
/* Builds the named network ("resnet50"; "nb201:|op~0|+|...|" or "nb201:INDEX"
 * for a NAS-Bench-201 CIFAR-10 network, "nb201-cifar100:", "nb201-imagenet16:"
 * for the other two datasets).  With weights, they are random from `seed`;
 * without, the weights become graph inputs (shapes only). */
Rc zoo_build(const char *name, bool weights, uint64_t seed, Model **out, Diag *d);

/* ---- NAS-Bench-201 (nb201.c; the parser is zoo.c's) ----------------------
 * A cell is 6 edge ops in the arch string's order (0->1, 0->2, 1->2, 0->3,
 * 1->3, 2->3); its code is the ops as a base-5 number, edge 0 lowest. */
enum { NB201_NONE = 0, NB201_SKIP, NB201_CONV1, NB201_CONV3, NB201_POOL, NB201_NOPS };
#define NB201_EDGES 6
#define NB201_CELLS 15625  /* 5^6 */
#define NB201_ARCH_MAX 128 /* longest arch string, NUL included */

typedef enum { NB201_CIFAR10 = 0, NB201_CIFAR100, NB201_IMAGENET16, NB201_NDATASETS } Nb201Dataset;

typedef struct {
  int n;                          /* rows: 15625 */
  int32_t *index;                 /* the benchmark's index of each row (heap) */
  uint8_t (*ops)[NB201_EDGES];    /* each row's cell (heap) */
  double (*acc)[NB201_NDATASETS]; /* test accuracy in percent per dataset (heap) */
  int32_t by_code[NB201_CELLS];   /* row of each cell code */
} Nb201Table;

const char *nb201_op_name(int op);
int nb201_code(const uint8_t ops[NB201_EDGES]);
void nb201_decode(int code, uint8_t ops[NB201_EDGES]);
/* The benchmark's arch string of a cell (n >= NB201_ARCH_MAX always fits). */
void nb201_format(const uint8_t ops[NB201_EDGES], char *buf, size_t n);
/* Parses an arch string (connected or not); RC_BADINPUT (reported) if malformed. */
Rc nb201_parse(const char *arch, uint8_t ops[NB201_EDGES], Diag *d);
/* Whether a path of non-none edges joins node 0 to node 3 (else no network). */
bool nb201_connected(const uint8_t ops[NB201_EDGES]);
/* The table's path: `given`, else $NAASC_NB201_CSV, else beside the binary
 * (../data/nasbench201/, ../share/naasc/nasbench201/), else the source tree's
 * copy.  false if none is found. */
bool nb201_table_locate(const char *given, char *buf, size_t n);
/* Reads the table; RC_BADINPUT (reported with the line) unless it holds every
 * cell exactly once.  Free with nb201_table_free. */
Rc nb201_table_load(const char *path, Nb201Table *t, Diag *d);
void nb201_table_free(Nb201Table *t);
int nb201_table_find_index(const Nb201Table *t, long index); /* row, or -1 */
bool nb201_dataset_parse(const char *s, Nb201Dataset *out);
const char *nb201_dataset_name(Nb201Dataset k);

#endif
