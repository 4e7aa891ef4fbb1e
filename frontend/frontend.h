/*
 * frontend.h: the one interface of frontend/: ONNX in (and out), shape
 * inference with constant folding, graph rewrites (BN folding, activation
 * fusion), the per-layer summary, and the model zoo.
 *
 * Only onnx.c includes the protobuf-c generated header.
 */
#ifndef NAASC_FRONTEND_H
#define NAASC_FRONTEND_H

#include "ir.h"

#define NAASC_IR_VERSION_MIN 3
#define NAASC_IR_VERSION_MAX 8
#define NAASC_OPSET_MIN 7
#define NAASC_OPSET_MAX 17
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
  InputData data[NAASC_MAX_BINDINGS];    /* --input-data NAME=FILE.pb: a constant input */
  int ndata;
  bool allow_unsupported;                /* mark unsupported nodes host-only */
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
/* Writes m as an ONNX model (IR version 8, opset 13), atomically
 * (a temporary file renamed over path). */
Rc onnx_write(const Model *m, const char *path, Diag *d);

/* Shape inference and constant folding over the sorted graph.  Nodes whose
 * inputs are all constant and whose op folds become constants. */
Rc graph_infer(Model *m, Diag *d);

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
/* Builds the named network ("resnet50", or "nb201:|op~0|+|...|" for a
 * NAS-Bench-201 cell).  With weights, they are random from `seed`;
 * without, the weights become graph inputs (shapes only). */
Rc zoo_build(const char *name, bool weights, uint64_t seed, Model **out, Diag *d);

#endif
