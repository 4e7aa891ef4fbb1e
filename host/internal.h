/*
 * host/internal.h: what the files of host/ share (not an interface: only host/
 * includes it).  An Ev is one evaluation in progress: the node, its input
 * values, its outputs, the arena and the Diag; op evaluators are
 * `Rc ev_NAME(Ev *)`, grouped by family in the files of host/.
 */
#ifndef NAASC_HOST_INTERNAL_H
#define NAASC_HOST_INTERNAL_H

#include "host/host.h"

typedef struct {
  const Model *m;
  const Node *n;
  const HostTensor *in;
  int nin;
  HostTensor *out;
  int nout;
  Arena *a;
  Diag *d;
  const char *where; /* "node 'NAME'" */
} Ev;

#define EFAIL(...)                           \
  do {                                       \
    diag_error(e->d, e->where, __VA_ARGS__); \
    return RC_BADINPUT;                      \
  } while (0)
#define EOOM()                                   \
  do {                                           \
    diag_error(e->d, e->where, "out of memory"); \
    return RC_INTERNAL;                          \
  } while (0)
#define ETRY(x)                   \
  do {                            \
    Rc rc_ = (x);                 \
    if (rc_ != RC_OK) return rc_; \
  } while (0)

/* Input i, or NULL if absent. */
const HostTensor *ev_in(const Ev *e, int i);
/* Whether output k is wanted. */
bool ev_want(const Ev *e, int k);
/* Gives output k its type and zeroed data; checks an expected type. */
Rc ev_out(Ev *e, int k, DType dt, int rank, const int64_t *dims);
/* Output k with the caller's expected dims (for ops whose shape inference
 * resolved what the evaluator cannot see); dt must match too. */
Rc ev_out_expected(Ev *e, int k, DType dt);
void *ev_alloc(Ev *e, size_t n); /* zeroed scratch from the arena; NULL on failure */

bool dt_float(DType t);
bool dt_int(DType t);      /* signed or unsigned integer (not bool) */
bool dt_unsigned(DType t); /* u8..u64 and bool */

/* The whole of t as double / int64 arrays (scratch); NULL on failure. */
double *ev_f64(Ev *e, const HostTensor *t);
int64_t *ev_i64(Ev *e, const HostTensor *t);
/* Stores v[0..numel) into o, converting to o's type. */
void store_f64(HostTensor *o, const double *v);
void store_i64(HostTensor *o, const int64_t *v);
/* Copies element i of src into element j of dst (same dtype: bytes). */
void copy_elem(HostTensor *dst, int64_t j, const HostTensor *src, int64_t i);

/* Strides of t (row-major) and of t broadcast to rank r / dims od (0 on
 * broadcast axes). */
void strides_of(int rank, const int64_t *dims, int64_t *st);
void bcast_strides(const HostTensor *t, int r, const int64_t *od, int64_t *st);
/* numpy broadcasting of ts[0..n) (NULL entries skipped) into r, dims. */
bool bcast_shape(const HostTensor *const *ts, int n, int *r, int64_t *dims);
/* Advances the multi-index idx over dims (rank r); returns false at the end. */
bool next_index(int r, const int64_t *dims, int64_t *idx);
int64_t prod(const int64_t *dims, int lo, int hi);

/* Values of a scalar-or-1-d constant input as integers / doubles. */
int64_t in_scalar_i(const HostTensor *t, int64_t i);

/* Family entry points: each returns RC_INTERNAL for an op it does not own
 * (never happens through host_eval's dispatch). */
Rc ev_elementwise(Ev *e);
Rc ev_reduce(Ev *e);
Rc ev_movement(Ev *e);
Rc ev_nn(Ev *e);
Rc ev_rnn(Ev *e);
Rc ev_control(Ev *e);
Rc ev_misc(Ev *e);
/* Applies a fused activation (Node.act) to output 0 in place. */
void ev_apply_act(Op act, const Attrs *a, HostTensor *o);

#endif
