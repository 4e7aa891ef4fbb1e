/*
 * frontend/internal.h: what infer.c (the walk, the first 37 ops, folding) shares
 * with shapes.c (the shape rules of the other ops, control flow, If
 * inlining).  Not an interface: only those two files include it.
 */
#ifndef NAASC_FRONTEND_INTERNAL_H
#define NAASC_FRONTEND_INTERNAL_H

#include "frontend/frontend.h"

/* Constants folded at most this large (elements), and at most this much
 * work (multiply-adds, loop trips times body nodes) per folded node. */
#define FOLD_LIMIT (INT64_C(1) << 20)
#define FOLD_WORK (INT64_C(1) << 28)

typedef struct {
  Model *m;
  Diag *d;
  Node *n;
  NodeId id;         /* n's index in m->nodes */
  const char *where; /* "node 'NAME'" (with the subgraph it sits in) */
} Ctx;

#define FAIL(...)                            \
  do {                                       \
    diag_error(c->d, c->where, __VA_ARGS__); \
    return false;                            \
  } while (0)

/* A value known at compile time: a constant, or a subgraph's outer value
 * bound to one. */
static inline bool tensor_is_const(const Tensor *t) {
  return (t->kind == TK_CONST || t->kind == TK_OUTER) && t->data;
}

Tensor *inf_in(Ctx *c, int i);  /* input i, or NULL if absent */
Tensor *inf_out(Ctx *c, int i); /* output i, or NULL if omitted */
void inf_set_out(Ctx *c, int i, DType dt, int rank, const int64_t *dims);
/* At least lo inputs (the first lo present), at most hi (-1: any). */
bool inf_need(Ctx *c, int lo, int hi);
int64_t inf_norm_axis(int64_t axis, int rank);
bool inf_axis_ok(Ctx *c, int64_t *axis, int rank, const char *what);
/* Constant input i as up to max values; *n = count, -1 if absent. */
bool inf_const_ints(Ctx *c, int i, int64_t *v, int max, int *n);
bool inf_const_floats(Ctx *c, int i, float *v, int max, int *n);
void inf_keep(Ctx *c, int k); /* drops inputs from k on */
/* numpy broadcasting of inputs first..last. */
bool inf_broadcast(Ctx *c, int first, int last, int *rank, int64_t *dims);
/* Conv-like (w, bias b), ConvTranspose (w) or pooling (w NULL) output shape. */
bool inf_window_op(Ctx *c, Tensor *x, Tensor *w, Tensor *b);
bool inf_matmul(Ctx *c, Tensor *A, Tensor *B, int *rank, int64_t *dims);

/* shapes.c: the shape rule of every op beyond the first 37 (and the
 * control-flow ops, which infer their subgraphs).  false on error. */
bool infer_op(Ctx *c);
/* Moves the constant inputs that carry attributes (AttrSpec.input) into n's
 * attributes and clears those inputs.  false on error. */
bool take_param_inputs(Ctx *c);
/* Whether op's output shape depends on its input values here (NonZero,
 * Unique, Compress, NonMaxSuppression, a Loop without a static trip
 * count that has scan outputs): such a node folds or is refused. */
bool shape_from_data(Ctx *c);
/* An If whose condition is a constant: its branch's nodes replace it,
 * spliced right after it; the If dies.  false on error. */
bool inline_if(Ctx *c);
/* Estimated work of evaluating the node (for FOLD_WORK). */
int64_t fold_work(const Model *m, const Node *n);

#endif
