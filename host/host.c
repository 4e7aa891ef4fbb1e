/*
 * host.c: host_eval's dispatch, the HostTensor helpers and the element type
 * conversions every family file uses.
 *
 * host_eval checks the call (input count, absent required inputs are the
 * families' to report), sends the node to its family by op, applies a
 * fused activation, and leaves the outputs as ev_out made them: a computed
 * type always equals an expected one, else the call fails with
 * RC_INTERNAL, so a disagreement between shape inference and evaluation
 * never goes unseen.
 */
#include "host/internal.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

/* ---- element types ----------------------------------------------------- */

uint16_t host_f32_to_f16(float f) { return elem_f32_to_f16(f); }

float host_f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
  float f;
  if (exp == 0)
    f = ldexpf((float)man, -24);
  else if (exp == 31)
    f = man ? NAN : INFINITY;
  else
    f = ldexpf((float)(man | 0x400u), (int)exp - 25);
  uint32_t x;
  memcpy(&x, &f, 4);
  x |= sign;
  memcpy(&f, &x, 4);
  return f;
}

uint16_t host_f32_to_bf16(float f) { return elem_f32_to_bf16(f); }

float host_bf16_to_f32(uint16_t h) {
  uint32_t x = (uint32_t)h << 16;
  float f;
  memcpy(&f, &x, 4);
  return f;
}

bool dt_float(DType t) { return t == DT_F32 || t == DT_F64 || t == DT_F16 || t == DT_BF16; }
bool dt_int(DType t) {
  return t == DT_I8 || t == DT_U8 || t == DT_I16 || t == DT_U16 || t == DT_I32 || t == DT_U32 ||
         t == DT_I64 || t == DT_U64;
}
bool dt_unsigned(DType t) {
  return t == DT_U8 || t == DT_U16 || t == DT_U32 || t == DT_U64 || t == DT_BOOL;
}

int64_t host_numel(const HostTensor *t) {
  if (t->rank < 0) return -1;
  int64_t n = 1;
  for (int i = 0; i < t->rank; i++) n *= t->dims[i];
  return n;
}

HostTensor host_view(const Tensor *t) {
  HostTensor h;
  memset(&h, 0, sizeof h);
  h.dtype = t->dtype;
  h.rank = t->rank;
  for (int i = 0; i < NAASC_MAX_RANK; i++) h.dims[i] = i < t->rank ? t->dims[i] : 0;
  h.data = t->data;
  return h;
}

double host_get_f(const HostTensor *t, int64_t i) { return elem_get_f(t->dtype, t->data, i); }

int64_t host_get_i(const HostTensor *t, int64_t i) { return elem_get_i(t->dtype, t->data, i); }

void host_put_f(HostTensor *t, int64_t i, double v) { elem_put_f(t->dtype, t->data, i, v); }

void host_put_i(HostTensor *t, int64_t i, int64_t v) { elem_put_i(t->dtype, t->data, i, v); }

void copy_elem(HostTensor *dst, int64_t j, const HostTensor *src, int64_t i) {
  if (dst->dtype == src->dtype) {
    size_t es = dtype_size(src->dtype);
    memcpy((char *)dst->data + (size_t)j * es, (const char *)src->data + (size_t)i * es, es);
  } else if (dt_float(src->dtype) || dt_float(dst->dtype)) {
    host_put_f(dst, j, host_get_f(src, i));
  } else {
    host_put_i(dst, j, host_get_i(src, i));
  }
}

/* ---- the evaluation context ------------------------------------------- */

const HostTensor *ev_in(const Ev *e, int i) {
  return i < e->nin && e->in[i].dtype != DT_UNDEF ? &e->in[i] : NULL;
}

bool ev_want(const Ev *e, int k) { return k < e->nout && e->out[k].dtype != DT_UNDEF; }

void *ev_alloc(Ev *e, size_t n) { return arena_alloc(e->a, n ? n : 1); }

static void dims_str(char *buf, size_t n, DType dt, int rank, const int64_t *dims) {
  size_t k = (size_t)snprintf(buf, n, "%s[", dtype_name(dt));
  for (int i = 0; i < rank && k < n; i++)
    k += (size_t)snprintf(buf + k, n - k, i ? ",%" PRId64 : "%" PRId64, dims[i]);
  if (k < n) snprintf(buf + k, n - k, "]");
}

Rc ev_out(Ev *e, int k, DType dt, int rank, const int64_t *dims) {
  if (k >= e->nout) return RC_OK;
  HostTensor *o = &e->out[k];
  if (o->dtype == DT_UNDEF) return RC_OK; /* not wanted */
  if (rank > NAASC_MAX_RANK) EFAIL("output %d would have rank %d", k, rank);
  int64_t numel = 1;
  for (int i = 0; i < rank; i++) {
    if (dims[i] < 0) EFAIL("output %d would have a negative dim", k);
    if (dims[i] && numel > NAASC_MAX_ELEMS / dims[i])
      EFAIL("output %d would have more than 2^31 elements", k);
    numel *= dims[i];
  }
  if (o->rank >= 0) {
    bool same = o->dtype == dt && o->rank == rank;
    for (int i = 0; same && i < rank; i++) same = o->dims[i] == dims[i];
    if (!same) {
      char want[160], got[160];
      dims_str(want, sizeof want, o->dtype, o->rank, o->dims);
      dims_str(got, sizeof got, dt, rank, dims);
      diag_error(e->d, e->where, "internal: output %d evaluates to %s, shape inference gave %s", k,
                 got, want);
      return RC_INTERNAL;
    }
  }
  o->dtype = dt;
  o->rank = rank;
  for (int i = 0; i < NAASC_MAX_RANK; i++) o->dims[i] = i < rank ? dims[i] : 0;
  o->data = ev_alloc(e, (size_t)numel * dtype_size(dt));
  if (!o->data) EOOM();
  return RC_OK;
}

Rc ev_out_expected(Ev *e, int k, DType dt) {
  if (!ev_want(e, k)) return RC_OK;
  if (e->out[k].rank < 0) {
    diag_error(e->d, e->where, "internal: output %d needs its inferred shape", k);
    return RC_INTERNAL;
  }
  int64_t dims[NAASC_MAX_RANK];
  memcpy(dims, e->out[k].dims, sizeof dims);
  return ev_out(e, k, dt, e->out[k].rank, dims);
}

double *ev_f64(Ev *e, const HostTensor *t) {
  int64_t n = host_numel(t);
  double *v = ev_alloc(e, sizeof(double) * (size_t)n);
  if (!v) return NULL;
  if (t->dtype == DT_F32) {
    const float *p = t->data;
    for (int64_t i = 0; i < n; i++) v[i] = p[i];
  } else {
    for (int64_t i = 0; i < n; i++) v[i] = host_get_f(t, i);
  }
  return v;
}

int64_t *ev_i64(Ev *e, const HostTensor *t) {
  int64_t n = host_numel(t);
  int64_t *v = ev_alloc(e, sizeof(int64_t) * (size_t)n);
  if (!v) return NULL;
  if (t->dtype == DT_I64 && n)
    memcpy(v, t->data, sizeof(int64_t) * (size_t)n);
  else if (t->dtype != DT_I64)
    for (int64_t i = 0; i < n; i++) v[i] = host_get_i(t, i);
  return v;
}

void store_f64(HostTensor *o, const double *v) {
  int64_t n = host_numel(o);
  if (o->dtype == DT_F32) {
    float *p = o->data;
    for (int64_t i = 0; i < n; i++) p[i] = (float)v[i];
  } else {
    for (int64_t i = 0; i < n; i++) host_put_f(o, i, v[i]);
  }
}

void store_i64(HostTensor *o, const int64_t *v) {
  int64_t n = host_numel(o);
  for (int64_t i = 0; i < n; i++) host_put_i(o, i, v[i]);
}

void strides_of(int rank, const int64_t *dims, int64_t *st) {
  int64_t s = 1;
  for (int i = rank - 1; i >= 0; i--) {
    st[i] = s;
    s *= dims[i];
  }
}

void bcast_strides(const HostTensor *t, int r, const int64_t *od, int64_t *st) {
  int64_t ts[NAASC_MAX_RANK];
  strides_of(t->rank, t->dims, ts);
  for (int k = 0; k < r; k++) {
    int j = k - (r - t->rank);
    st[k] = j < 0 || t->dims[j] == 1 || od[k] == 1 ? 0 : ts[j];
  }
}

bool bcast_shape(const HostTensor *const *ts, int n, int *r, int64_t *dims) {
  int rk = 0;
  for (int i = 0; i < n; i++)
    if (ts[i] && ts[i]->rank > rk) rk = ts[i]->rank;
  for (int k = 0; k < rk; k++) dims[k] = 1;
  for (int i = 0; i < n; i++) {
    if (!ts[i]) continue;
    for (int k = 0; k < ts[i]->rank; k++) {
      int64_t dv = ts[i]->dims[k], *o = &dims[rk - ts[i]->rank + k];
      if (dv == *o || dv == 1) continue;
      if (*o != 1) return false;
      *o = dv;
    }
  }
  *r = rk;
  return true;
}

bool next_index(int r, const int64_t *dims, int64_t *idx) {
  for (int k = r - 1; k >= 0; k--) {
    if (++idx[k] < dims[k]) return true;
    idx[k] = 0;
  }
  return false;
}

int64_t prod(const int64_t *dims, int lo, int hi) {
  int64_t p = 1;
  for (int i = lo; i < hi; i++) p *= dims[i];
  return p;
}

int64_t in_scalar_i(const HostTensor *t, int64_t i) { return host_get_i(t, i); }

/* ---- dispatch ---------------------------------------------------------- */

bool host_supports(Op op) { return op > OP_NONE && op < OP_COUNT && op != OP_HOST; }

static Rc (*family(Op op))(Ev *) {
  switch (op) {
  case OP_CONV:
  case OP_CONVTRANSPOSE:
  case OP_GEMM:
  case OP_MATMUL:
  case OP_MAXPOOL:
  case OP_AVGPOOL:
  case OP_RESIZE:
  case OP_UPSAMPLE:
  case OP_QLINEARCONV:
  case OP_CONVINTEGER:
  case OP_QLINEARMATMUL:
  case OP_MATMULINTEGER:
  case OP_MAXUNPOOL:
  case OP_GRIDSAMPLE:
  case OP_ROIALIGN:
  case OP_EINSUM:
  case OP_DET: return ev_nn;
  case OP_BATCHNORM:
  case OP_GLOBALAVGPOOL:
  case OP_GLOBALMAXPOOL:
  case OP_SOFTMAX:
  case OP_LOGSOFTMAX:
  case OP_HARDMAX:
  case OP_REDUCEMEAN:
  case OP_REDUCEMAX:
  case OP_REDUCEMIN:
  case OP_REDUCESUM:
  case OP_REDUCEPROD:
  case OP_REDUCEL1:
  case OP_REDUCEL2:
  case OP_REDUCELOGSUM:
  case OP_REDUCELOGSUMEXP:
  case OP_REDUCESUMSQUARE:
  case OP_ARGMAX:
  case OP_ARGMIN:
  case OP_CUMSUM:
  case OP_LAYERNORM:
  case OP_INSTANCENORM:
  case OP_GROUPNORM:
  case OP_LRN:
  case OP_MVN:
  case OP_NLLLOSS:
  case OP_SCELOSS:
  case OP_DYNQUANTIZELINEAR: return ev_reduce;
  case OP_CONCAT:
  case OP_RESHAPE:
  case OP_FLATTEN:
  case OP_TRANSPOSE:
  case OP_SQUEEZE:
  case OP_UNSQUEEZE:
  case OP_SLICE:
  case OP_SHAPE:
  case OP_GATHER:
  case OP_IDENTITY:
  case OP_DROPOUT:
  case OP_CONSTANT:
  case OP_PAD:
  case OP_SPLIT:
  case OP_EXPAND:
  case OP_TILE:
  case OP_CONSTANTOFSHAPE:
  case OP_RANGE:
  case OP_SIZE:
  case OP_ONEHOT:
  case OP_EYELIKE:
  case OP_TRILU:
  case OP_DEPTHTOSPACE:
  case OP_SPACETODEPTH:
  case OP_GATHERELEMENTS:
  case OP_GATHERND:
  case OP_SCATTER:
  case OP_SCATTERELEMENTS:
  case OP_SCATTERND:
  case OP_REVERSESEQUENCE:
  case OP_NONZERO:
  case OP_UNIQUE:
  case OP_COMPRESS:
  case OP_TOPK: return ev_movement;
  case OP_LSTM:
  case OP_GRU:
  case OP_RNN: return ev_rnn;
  case OP_IF:
  case OP_LOOP:
  case OP_SCAN: return ev_control;
  case OP_NMS:
  case OP_DFT:
  case OP_STFT:
  case OP_HANNWINDOW:
  case OP_HAMMINGWINDOW:
  case OP_BLACKMANWINDOW:
  case OP_MELWEIGHTMATRIX:
  case OP_TFIDF: return ev_misc;
  case OP_NONE:
  case OP_HOST:
  case OP_COUNT: return NULL;
  default: return ev_elementwise;
  }
}

Rc host_eval(const Model *m, const Node *n, const HostTensor *in, int nin, HostTensor *out,
             int nout, Arena *a, Diag *d) {
  Ev ev = {m, n, in, nin, out, nout, a, d, arena_printf(a, "node '%s'", n->name)};
  Ev *e = &ev;
  if (!ev.where) return RC_INTERNAL;
  Rc (*f)(Ev *) = n->op < OP_COUNT ? family(n->op) : NULL;
  if (!f) EFAIL("%s has no host implementation", n->onnx_op ? n->onnx_op : op_name(n->op));
  for (int i = 0; i < nin; i++) {
    if (in[i].dtype == DT_UNDEF) continue;
    if (host_numel(&in[i]) > 0 && !in[i].data) EFAIL("input %d has no data", i);
  }
  if (n->op == OP_CLIP && nin > 1) { /* bounds given at run time: as attributes */
    Node c = *n;
    for (int i = 1; i < 3 && i < nin; i++) {
      if (in[i].dtype == DT_UNDEF) continue;
      if (host_numel(&in[i]) != 1)
        EFAIL("Clip bound %d has %" PRId64 " elements, not 1", i, host_numel(&in[i]));
      float v = (float)host_get_f(&in[i], 0);
      if (dt_int(in[i].dtype)) v = (float)host_get_i(&in[i], 0);
      if (i == 1)
        c.a.clip_min = v;
      else
        c.a.clip_max = v;
    }
    c.nin = 1;
    return host_eval(m, &c, in, 1, out, nout, a, d);
  }
  ETRY(f(e));
  if (n->act && ev_want(e, 0)) ev_apply_act(n->act, &n->act_a, &out[0]);
  return RC_OK;
}
