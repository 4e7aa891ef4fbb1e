/*
 * host.h: the one interface of host/: the reference evaluator of every op
 * of the graph IR (ir.h's NAASC_OPS) on dense tensors.
 *
 * Layering: host -> ir only.  The frontend folds constants through it; the
 * runtime will run the ops the accelerator does not through it.  It is the
 * reference, not a fast path: every element type an op allows (f32, f16,
 * bf16, f64, i8, u8, i16, u16, i32, i64, u32, u64, bool), every attribute
 * value the importer accepts, and the ONNX definition to the bit where the
 * definition is exact (integer ops wrap as two's complement, quantization
 * rounds half to even and saturates, Cast saturates float to integer as
 * C's conversion of the truncated value would, NaN to 0).
 *
 * Arithmetic: floating-point ops compute in double and round once to the
 * output type (f16 and bf16 round to nearest even through f32), which is
 * correctly rounded for + - * / sqrt and within an ulp or two of numpy's
 * float32 results for the transcendental functions; reductions and dot
 * products accumulate in double.  Integer ops compute in 64 bits.
 *
 * A node is evaluated as shape inference left it (frontend/infer.c): the
 * operands opset 10+ passes as constant inputs (Pad's pads, TopK's k,
 * Reduce axes, ...) are then in its attributes and those inputs absent.
 *
 * Thread safety: host_eval keeps no state; concurrent calls on different
 * arenas are safe.
 */
#ifndef NAASC_HOST_H
#define NAASC_HOST_H

#include "ir/ir.h"

typedef struct {
  DType dtype; /* DT_UNDEF: an absent optional input or output */
  int rank;    /* outputs: -1 lets the evaluator decide the shape */
  int64_t dims[NAASC_MAX_RANK];
  void *data; /* dense row-major; may be NULL only with no elements */
} HostTensor;

/* Evaluates node n of graph m (m holds n's subgraphs in m->subs).
 *
 * in[0..nin) are the values of n->in[0..nin) (dtype DT_UNDEF for an absent
 * optional input).  out[0..nout) are n's outputs: on entry each one's
 * dtype/rank/dims is the type the caller expects (the model's inferred
 * type) or rank -1 to let the evaluator decide (required for ops whose
 * output size depends on input values: NonZero, Unique, Compress,
 * NonMaxSuppression, and a Loop whose trip count is not static); an
 * output the caller does not want may have dtype DT_UNDEF.  On return each
 * wanted output has its type and data, allocated from `a`; a computed type
 * that differs from an expected one is an internal error (RC_INTERNAL).
 * Temporaries also come from `a` (a Loop's iterations use their own
 * arenas), so the caller frees everything by freeing `a`.
 *
 * Errors (reported through d, naming the node): RC_BADINPUT for values the
 * op's definition rejects (an index out of range, a Loop that does not
 * end within its trip count, shapes that disagree), RC_INTERNAL for a bug
 * or exhausted memory. */
Rc host_eval(const Model *m, const Node *n, const HostTensor *in, int nin, HostTensor *out,
             int nout, Arena *a, Diag *d);

/* Whether host_eval evaluates op (every op of the table but OP_HOST). */
bool host_supports(Op op);

/* A HostTensor viewing a Tensor's type and data (data may be NULL). */
HostTensor host_view(const Tensor *t);
/* Elements of t; -1 if the shape is unknown. */
int64_t host_numel(const HostTensor *t);

/* Element i of t converted to double / int64 (floats truncate toward zero,
 * NaN to 0, saturating); and element i of t set from one. */
double host_get_f(const HostTensor *t, int64_t i);
int64_t host_get_i(const HostTensor *t, int64_t i);
void host_put_f(HostTensor *t, int64_t i, double v);
void host_put_i(HostTensor *t, int64_t i, int64_t v);

/* IEEE binary16 and bfloat16, rounding to nearest even. */
uint16_t host_f32_to_f16(float f);
float host_f16_to_f32(uint16_t h);
uint16_t host_f32_to_bf16(float f);
float host_bf16_to_f32(uint16_t h);

#endif
