/*
 * movement.c: host evaluators of the shape and data-movement ops (views,
 * Transpose, Concat, Split, Slice, the gathers and scatters, Pad, Expand,
 * Tile, the tensor generators ConstantOfShape, Range, OneHot, EyeLike,
 * Trilu, DepthToSpace/SpaceToDepth, ReverseSequence) and of the ops whose
 * output size depends on the data: NonZero, Unique, Compress and TopK.
 *
 * Elements move as bytes (copy_elem), so every element type moves exactly.
 * Indices may be negative (counted from the end) where ONNX allows it; an
 * index out of range is an error naming the value, never a wild read.
 * Reshape's target shape lives only in its output's inferred type, so
 * Reshape takes its output shape from the caller (ev_out_expected).
 */
#include "host/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int64_t ravel(const int64_t *idx, int r, const int64_t *dims) {
  int64_t off = 0;
  for (int q = 0; q < r; q++) off = off * dims[q] + idx[q];
  return off;
}

static int64_t norm_ax(int64_t a, int rank) { return a < 0 ? a + rank : a; }

static Rc copy_all(Ev *e, int k, const HostTensor *x) {
  if (!ev_want(e, k)) return RC_OK;
  size_t n = (size_t)host_numel(x) * dtype_size(x->dtype);
  if (n) memcpy(e->out[k].data, x->data, n);
  return RC_OK;
}

/* Reshape, Flatten, Squeeze, Unsqueeze, Identity, Dropout: the same data. */
static Rc view(Ev *e) {
  const Node *n = e->n;
  const HostTensor *x = ev_in(e, 0);
  if (!x) EFAIL("%s needs an input", op_name(n->op));
  int64_t od[NAASC_MAX_RANK];
  int r = 0;
  const Attrs *a = &n->a;
  switch (n->op) {
  case OP_FLATTEN: {
    int64_t ax = norm_ax(a->axis, x->rank);
    if (ax < 0 || ax > x->rank) EFAIL("Flatten axis is out of range");
    od[0] = prod(x->dims, 0, (int)ax);
    od[1] = prod(x->dims, (int)ax, x->rank);
    r = 2;
    break;
  }
  case OP_SQUEEZE: {
    bool drop[NAASC_MAX_RANK] = {0};
    for (int i = 0; i < a->naxes; i++) {
      int64_t ax = norm_ax(a->axes[i], x->rank);
      if (ax < 0 || ax >= x->rank || x->dims[ax] != 1)
        EFAIL("cannot squeeze axis %lld", (long long)a->axes[i]);
      drop[ax] = true;
    }
    if (a->naxes <= 0)
      for (int i = 0; i < x->rank; i++) drop[i] = x->dims[i] == 1;
    for (int i = 0; i < x->rank; i++)
      if (!drop[i]) od[r++] = x->dims[i];
    break;
  }
  case OP_UNSQUEEZE: {
    r = x->rank + a->naxes;
    if (r > NAASC_MAX_RANK) EFAIL("Unsqueeze gives rank %d", r);
    bool ins[NAASC_MAX_RANK] = {0};
    for (int i = 0; i < a->naxes; i++) {
      int64_t ax = norm_ax(a->axes[i], r);
      if (ax < 0 || ax >= r) EFAIL("Unsqueeze axis %lld is out of range", (long long)a->axes[i]);
      ins[ax] = true;
    }
    for (int i = 0, j = 0; i < r; i++) od[i] = ins[i] ? 1 : x->dims[j++];
    break;
  }
  case OP_RESHAPE:
    ETRY(ev_out_expected(e, 0, x->dtype));
    if (ev_want(e, 0) && host_numel(&e->out[0]) != host_numel(x))
      EFAIL("Reshape from %lld to %lld elements", (long long)host_numel(x),
            (long long)host_numel(&e->out[0]));
    return copy_all(e, 0, x);
  default: /* Identity, Dropout */
    r = x->rank;
    memcpy(od, x->dims, sizeof od);
    break;
  }
  ETRY(ev_out(e, 0, x->dtype, r, od));
  ETRY(copy_all(e, 0, x));
  if (n->op == OP_DROPOUT && ev_want(e, 1)) { /* inference: the mask is all true */
    ETRY(ev_out(e, 1, DT_BOOL, x->rank, x->dims));
    memset(e->out[1].data, 1, (size_t)host_numel(x));
  }
  return RC_OK;
}

static Rc transpose(Ev *e) {
  const Attrs *a = &e->n->a;
  const HostTensor *x = ev_in(e, 0);
  if (!x) EFAIL("Transpose needs an input");
  int64_t perm[NAASC_MAX_RANK], od[NAASC_MAX_RANK];
  bool seen[NAASC_MAX_RANK] = {0};
  for (int i = 0; i < x->rank; i++) {
    perm[i] = a->naxes == x->rank ? norm_ax(a->axes[i], x->rank) : x->rank - 1 - i;
    if (perm[i] < 0 || perm[i] >= x->rank || seen[perm[i]])
      EFAIL("Transpose perm is not a permutation");
    seen[perm[i]] = true;
    od[i] = x->dims[perm[i]];
  }
  ETRY(ev_out(e, 0, x->dtype, x->rank, od));
  if (!ev_want(e, 0)) return RC_OK;
  int64_t xs[NAASC_MAX_RANK], idx[NAASC_MAX_RANK] = {0}, cnt = host_numel(x);
  strides_of(x->rank, x->dims, xs);
  for (int64_t j = 0; j < cnt; j++) {
    int64_t off = 0;
    for (int q = 0; q < x->rank; q++) off += idx[q] * xs[perm[q]];
    copy_elem(&e->out[0], j, x, off);
    next_index(x->rank, od, idx);
  }
  return RC_OK;
}

static Rc concat(Ev *e) {
  const HostTensor *x = ev_in(e, 0);
  if (!x) EFAIL("Concat needs inputs");
  int64_t ax = norm_ax(e->n->a.axis, x->rank);
  if (ax < 0 || ax >= x->rank) EFAIL("Concat axis is out of range");
  int64_t od[NAASC_MAX_RANK];
  memcpy(od, x->dims, sizeof od);
  od[ax] = 0;
  for (int i = 0; i < e->nin; i++) {
    const HostTensor *t = ev_in(e, i);
    if (!t) continue;
    if (t->rank != x->rank || t->dtype != x->dtype) EFAIL("Concat inputs differ in rank or type");
    for (int q = 0; q < x->rank; q++)
      if (q != ax && t->dims[q] != x->dims[q]) EFAIL("Concat inputs differ in dim %d", q);
    od[ax] += t->dims[ax];
  }
  ETRY(ev_out(e, 0, x->dtype, x->rank, od));
  if (!ev_want(e, 0)) return RC_OK;
  int64_t outer = prod(x->dims, 0, (int)ax), inner = prod(x->dims, (int)ax + 1, x->rank);
  size_t es = dtype_size(x->dtype);
  char *o = e->out[0].data;
  for (int64_t p = 0; p < outer; p++)
    for (int i = 0; i < e->nin; i++) {
      const HostTensor *t = ev_in(e, i);
      if (!t) continue;
      size_t n = (size_t)(t->dims[ax] * inner) * es;
      memcpy(o, (const char *)t->data + (size_t)p * n, n);
      o += n;
    }
  return RC_OK;
}

static Rc split(Ev *e) {
  const Attrs *a = &e->n->a;
  const HostTensor *x = ev_in(e, 0);
  if (!x) EFAIL("Split needs an input");
  int64_t ax = norm_ax(a->axis, x->rank);
  if (ax < 0 || ax >= x->rank) EFAIL("Split axis is out of range");
  int64_t sizes[NAASC_MAX_OUTPUTS], total = 0, n = x->dims[ax];
  int k = e->nout;
  if (k > NAASC_MAX_OUTPUTS) EFAIL("Split into more than %d outputs", NAASC_MAX_OUTPUTS);
  for (int i = 0; i < k; i++) {
    if (a->nsplit)
      sizes[i] = i < a->nsplit ? a->split[i] : 0;
    else
      sizes[i] =
          (n + k - 1) / k < n - i * ((n + k - 1) / k) ? (n + k - 1) / k : n - i * ((n + k - 1) / k);
    if (sizes[i] < 0) sizes[i] = 0;
    total += sizes[i];
  }
  if (a->nsplit && (a->nsplit != k || total != n))
    EFAIL("Split sizes do not add up to %lld", (long long)n);
  int64_t outer = prod(x->dims, 0, (int)ax), inner = prod(x->dims, (int)ax + 1, x->rank), start = 0;
  size_t es = dtype_size(x->dtype);
  for (int i = 0; i < k; i++) {
    int64_t od[NAASC_MAX_RANK];
    memcpy(od, x->dims, sizeof od);
    od[ax] = sizes[i];
    ETRY(ev_out(e, i, x->dtype, x->rank, od));
    if (ev_want(e, i))
      for (int64_t p = 0; p < outer; p++)
        memcpy((char *)e->out[i].data + (size_t)(p * sizes[i] * inner) * es,
               (const char *)x->data + (size_t)((p * n + start) * inner) * es,
               (size_t)(sizes[i] * inner) * es);
    start += sizes[i];
  }
  return RC_OK;
}

static Rc slice(Ev *e) {
  const Attrs *a = &e->n->a;
  const HostTensor *x = ev_in(e, 0);
  if (!x) EFAIL("Slice needs an input");
  int64_t od[NAASC_MAX_RANK], st[NAASC_MAX_RANK], sp[NAASC_MAX_RANK];
  memcpy(od, x->dims, sizeof od);
  for (int i = 0; i < x->rank; i++) {
    st[i] = 0;
    sp[i] = 1;
  }
  for (int i = 0; i < a->naxes; i++) { /* starts and ends are clamped by shape inference */
    int64_t ax = a->axes[i], s = a->starts[i], en = a->ends[i], stp = a->steps[i];
    if (ax < 0 || ax >= x->rank || stp == 0) EFAIL("bad Slice parameters");
    int64_t c = stp > 0 ? (en - s + stp - 1) / stp : (s - en + (-stp) - 1) / (-stp);
    od[ax] = c > 0 ? c : 0;
    st[ax] = s;
    sp[ax] = stp;
  }
  ETRY(ev_out(e, 0, x->dtype, x->rank, od));
  if (!ev_want(e, 0)) return RC_OK;
  int64_t xs[NAASC_MAX_RANK], idx[NAASC_MAX_RANK] = {0}, cnt = prod(od, 0, x->rank);
  strides_of(x->rank, x->dims, xs);
  for (int64_t j = 0; j < cnt; j++) {
    int64_t off = 0;
    for (int q = 0; q < x->rank; q++) off += (st[q] + idx[q] * sp[q]) * xs[q];
    copy_elem(&e->out[0], j, x, off);
    next_index(x->rank, od, idx);
  }
  return RC_OK;
}

static Rc shape_size(Ev *e) {
  const HostTensor *x = ev_in(e, 0);
  if (!x) EFAIL("%s needs an input", op_name(e->n->op));
  if (e->n->op == OP_SIZE) {
    ETRY(ev_out(e, 0, DT_I64, 0, NULL));
    if (ev_want(e, 0)) *(int64_t *)e->out[0].data = host_numel(x);
    return RC_OK;
  }
  int64_t s = e->n->a.shape_start, en = e->n->a.shape_end;
  if (s < 0) s += x->rank;
  if (en < 0) en += x->rank;
  s = s < 0 ? 0 : s > x->rank ? x->rank : s;
  en = en < s ? s : en > x->rank ? x->rank : en;
  int64_t d = en - s;
  ETRY(ev_out(e, 0, DT_I64, 1, &d));
  if (ev_want(e, 0))
    for (int64_t i = 0; i < d; i++) ((int64_t *)e->out[0].data)[i] = x->dims[s + i];
  return RC_OK;
}

static Rc index_of(Ev *e, int64_t v, int64_t n, int64_t *out) {
  int64_t w = v < 0 ? v + n : v;
  if (w < 0 || w >= n)
    EFAIL("index %lld is out of range for a dim of %lld", (long long)v, (long long)n);
  *out = w;
  return RC_OK;
}

static Rc gather(Ev *e) {
  const HostTensor *x = ev_in(e, 0), *ix = ev_in(e, 1);
  if (!x || !ix) EFAIL("Gather needs data and indices");
  int64_t ax = norm_ax(e->n->a.axis, x->rank);
  if (ax < 0 || ax >= x->rank) EFAIL("Gather axis is out of range");
  int64_t od[NAASC_MAX_RANK];
  int r = x->rank - 1 + ix->rank, o = 0;
  if (r > NAASC_MAX_RANK) EFAIL("Gather gives rank %d", r);
  for (int i = 0; i < ax; i++) od[o++] = x->dims[i];
  for (int i = 0; i < ix->rank; i++) od[o++] = ix->dims[i];
  for (int i = (int)ax + 1; i < x->rank; i++) od[o++] = x->dims[i];
  ETRY(ev_out(e, 0, x->dtype, r, od));
  if (!ev_want(e, 0)) return RC_OK;
  int64_t outer = prod(x->dims, 0, (int)ax), inner = prod(x->dims, (int)ax + 1, x->rank);
  int64_t n = x->dims[ax], ni = host_numel(ix), j = 0;
  size_t es = dtype_size(x->dtype);
  for (int64_t p = 0; p < outer; p++)
    for (int64_t q = 0; q < ni; q++) {
      int64_t g;
      ETRY(index_of(e, host_get_i(ix, q), n, &g));
      memcpy((char *)e->out[0].data + (size_t)j * es,
             (const char *)x->data + (size_t)((p * n + g) * inner) * es, (size_t)inner * es);
      j += inner;
    }
  return RC_OK;
}

static Rc gather_elements(Ev *e) {
  const HostTensor *x = ev_in(e, 0), *ix = ev_in(e, 1);
  if (!x || !ix || ix->rank != x->rank)
    EFAIL("GatherElements needs data and indices of the same rank");
  int64_t ax = norm_ax(e->n->a.axis, x->rank);
  if (ax < 0 || ax >= x->rank) EFAIL("axis is out of range");
  ETRY(ev_out(e, 0, x->dtype, ix->rank, ix->dims));
  if (!ev_want(e, 0)) return RC_OK;
  int64_t idx[NAASC_MAX_RANK] = {0}, cnt = host_numel(ix);
  for (int64_t j = 0; j < cnt; j++) {
    int64_t src[NAASC_MAX_RANK];
    memcpy(src, idx, sizeof src);
    ETRY(index_of(e, host_get_i(ix, j), x->dims[ax], &src[ax]));
    for (int q = 0; q < x->rank; q++)
      if (src[q] >= x->dims[q]) EFAIL("indices exceed the data's dim %d", q);
    copy_elem(&e->out[0], j, x, ravel(src, x->rank, x->dims));
    next_index(ix->rank, ix->dims, idx);
  }
  return RC_OK;
}

static Rc gather_nd(Ev *e) {
  const HostTensor *x = ev_in(e, 0), *ix = ev_in(e, 1);
  if (!x || !ix || ix->rank < 1) EFAIL("GatherND needs data and indices");
  int64_t b = e->n->a.batch_dims, m = ix->dims[ix->rank - 1];
  if (b < 0 || b >= ix->rank || b >= x->rank || m < 1 || m > x->rank - b)
    EFAIL("bad GatherND shapes");
  int64_t od[NAASC_MAX_RANK];
  int r = 0;
  for (int i = 0; i < ix->rank - 1; i++) od[r++] = ix->dims[i];
  for (int i = (int)(b + m); i < x->rank; i++) od[r++] = x->dims[i];
  if (r > NAASC_MAX_RANK) EFAIL("GatherND gives rank %d", r);
  ETRY(ev_out(e, 0, x->dtype, r, od));
  if (!ev_want(e, 0)) return RC_OK;
  int64_t slice = prod(x->dims, (int)(b + m), x->rank), nt = prod(ix->dims, 0, ix->rank - 1);
  int64_t per_batch = prod(ix->dims, (int)b, ix->rank - 1), bsize = prod(x->dims, (int)b, x->rank);
  size_t es = dtype_size(x->dtype);
  for (int64_t t = 0; t < nt; t++) {
    int64_t off = (t / per_batch) * bsize, within = 0;
    for (int64_t q = 0; q < m; q++) {
      int64_t g;
      ETRY(index_of(e, host_get_i(ix, t * m + q), x->dims[b + q], &g));
      within = within * x->dims[b + q] + g;
    }
    off += within * slice;
    memcpy((char *)e->out[0].data + (size_t)(t * slice) * es,
           (const char *)x->data + (size_t)off * es, (size_t)slice * es);
  }
  return RC_OK;
}

static void scatter_put(HostTensor *o, int64_t j, const HostTensor *u, int64_t i,
                        ScatterReduction r) {
  if (r == SRED_NONE) {
    copy_elem(o, j, u, i);
  } else if (dt_float(o->dtype)) {
    double a = host_get_f(o, j), b = host_get_f(u, i);
    host_put_f(o, j,
               r == SRED_ADD   ? a + b
               : r == SRED_MUL ? a * b
               : r == SRED_MAX ? fmax(a, b)
                               : fmin(a, b));
  } else {
    int64_t a = host_get_i(o, j), b = host_get_i(u, i);
    host_put_i(o, j,
               r == SRED_ADD   ? (int64_t)((uint64_t)a + (uint64_t)b)
               : r == SRED_MUL ? (int64_t)((uint64_t)a * (uint64_t)b)
               : r == SRED_MAX ? (a > b ? a : b)
                               : (a < b ? a : b));
  }
}

static Rc scatter_elements(Ev *e) {
  const HostTensor *x = ev_in(e, 0), *ix = ev_in(e, 1), *u = ev_in(e, 2);
  if (!x || !ix || !u || ix->rank != x->rank || u->rank != ix->rank ||
      memcmp(ix->dims, u->dims, sizeof(int64_t) * (size_t)ix->rank))
    EFAIL("%s needs data, and indices and updates of one shape and the data's rank",
          op_name(e->n->op));
  int64_t ax = norm_ax(e->n->a.axis, x->rank);
  if (ax < 0 || ax >= x->rank) EFAIL("axis is out of range");
  ETRY(ev_out(e, 0, x->dtype, x->rank, x->dims));
  if (!ev_want(e, 0)) return RC_OK;
  ETRY(copy_all(e, 0, x));
  int64_t idx[NAASC_MAX_RANK] = {0}, cnt = host_numel(ix);
  for (int64_t j = 0; j < cnt; j++) {
    int64_t dst[NAASC_MAX_RANK];
    memcpy(dst, idx, sizeof dst);
    ETRY(index_of(e, host_get_i(ix, j), x->dims[ax], &dst[ax]));
    for (int q = 0; q < x->rank; q++)
      if (dst[q] >= x->dims[q]) EFAIL("indices exceed the data's dim %d", q);
    scatter_put(&e->out[0], ravel(dst, x->rank, x->dims), u, j, e->n->a.reduction);
    next_index(ix->rank, ix->dims, idx);
  }
  return RC_OK;
}

static Rc scatter_nd(Ev *e) {
  const HostTensor *x = ev_in(e, 0), *ix = ev_in(e, 1), *u = ev_in(e, 2);
  if (!x || !ix || !u || ix->rank < 1) EFAIL("ScatterND needs data, indices and updates");
  int64_t m = ix->dims[ix->rank - 1];
  if (m < 1 || m > x->rank) EFAIL("bad ScatterND index depth %lld", (long long)m);
  int64_t nt = prod(ix->dims, 0, ix->rank - 1), slice = prod(x->dims, (int)m, x->rank);
  if (host_numel(u) != nt * slice) EFAIL("ScatterND updates have the wrong size");
  ETRY(ev_out(e, 0, x->dtype, x->rank, x->dims));
  if (!ev_want(e, 0)) return RC_OK;
  ETRY(copy_all(e, 0, x));
  for (int64_t t = 0; t < nt; t++) {
    int64_t within = 0;
    for (int64_t q = 0; q < m; q++) {
      int64_t g;
      ETRY(index_of(e, host_get_i(ix, t * m + q), x->dims[q], &g));
      within = within * x->dims[q] + g;
    }
    for (int64_t s = 0; s < slice; s++)
      scatter_put(&e->out[0], within * slice + s, u, t * slice + s, e->n->a.reduction);
  }
  return RC_OK;
}

static int64_t pad_src(int64_t i, int64_t n, PadMode mode) {
  if (i >= 0 && i < n) return i;
  switch (mode) {
  case PADM_EDGE: return i < 0 ? 0 : n - 1;
  case PADM_WRAP: return ((i % n) + n) % n;
  case PADM_REFLECT:
    if (n == 1) return 0;
    while (i < 0 || i >= n) i = i < 0 ? -i : 2 * (n - 1) - i;
    return i;
  default: return -1;
  }
}

static Rc pad(Ev *e) {
  const Attrs *a = &e->n->a;
  const HostTensor *x = ev_in(e, 0), *cv = ev_in(e, 2);
  if (!x) EFAIL("Pad needs an input");
  if (a->npads != 2 * x->rank) EFAIL("Pad has %d pads for rank %d", a->npads, x->rank);
  int64_t od[NAASC_MAX_RANK];
  for (int i = 0; i < x->rank; i++) {
    od[i] = x->dims[i] + a->pads[i] + a->pads[i + x->rank];
    if (od[i] < 0) EFAIL("Pad makes dim %d negative", i);
    if (a->pad_mode != PADM_CONSTANT && x->dims[i] == 0 && od[i] > 0)
      EFAIL("cannot %s-pad an empty dim", a->pad_mode == PADM_EDGE ? "edge" : "reflect");
  }
  ETRY(ev_out(e, 0, x->dtype, x->rank, od));
  if (!ev_want(e, 0)) return RC_OK;
  HostTensor *o = &e->out[0];
  int64_t idx[NAASC_MAX_RANK] = {0}, cnt = prod(od, 0, x->rank);
  double fv = cv && host_numel(cv) ? host_get_f(cv, 0) : a->pad_value;
  int64_t iv = cv && host_numel(cv) ? host_get_i(cv, 0) : (int64_t)a->pad_value;
  for (int64_t j = 0; j < cnt; j++) {
    int64_t off = 0;
    bool inside = true;
    for (int q = 0; q < x->rank && inside; q++) {
      int64_t s = pad_src(idx[q] - a->pads[q], x->dims[q], a->pad_mode);
      if (s < 0) inside = false;
      off = off * x->dims[q] + s;
    }
    if (inside)
      copy_elem(o, j, x, off);
    else if (dt_float(o->dtype))
      host_put_f(o, j, fv);
    else
      host_put_i(o, j, iv);
    next_index(x->rank, od, idx);
  }
  return RC_OK;
}

/* Expand and Tile: each output element reads a computed input element. */
static Rc expand_tile(Ev *e) {
  const Attrs *a = &e->n->a;
  const HostTensor *x = ev_in(e, 0);
  if (!x) EFAIL("%s needs an input", op_name(e->n->op));
  int64_t od[NAASC_MAX_RANK];
  int r;
  if (e->n->op == OP_EXPAND) {
    HostTensor sh;
    memset(&sh, 0, sizeof sh);
    sh.rank = a->nshape;
    memcpy(sh.dims, a->shape, sizeof sh.dims);
    const HostTensor *ts[2] = {x, &sh};
    if (!bcast_shape(ts, 2, &r, od)) EFAIL("Expand: the input does not broadcast to the shape");
  } else {
    if (a->nreps != x->rank) EFAIL("Tile has %d repeats for rank %d", a->nreps, x->rank);
    r = x->rank;
    for (int i = 0; i < r; i++) {
      if (a->reps[i] < 0) EFAIL("Tile repeats must not be negative");
      od[i] = x->dims[i] * a->reps[i];
    }
  }
  ETRY(ev_out(e, 0, x->dtype, r, od));
  if (!ev_want(e, 0)) return RC_OK;
  int64_t idx[NAASC_MAX_RANK] = {0}, cnt = prod(od, 0, r), xs[NAASC_MAX_RANK];
  strides_of(x->rank, x->dims, xs);
  for (int64_t j = 0; j < cnt; j++) {
    int64_t off = 0;
    for (int q = 0; q < x->rank; q++) {
      int64_t i = idx[q + (r - x->rank)];
      off += (x->dims[q] == 1 ? 0 : i % x->dims[q]) * xs[q];
    }
    copy_elem(&e->out[0], j, x, off);
    next_index(r, od, idx);
  }
  return RC_OK;
}

static Rc constant_of_shape(Ev *e) {
  const Attrs *a = &e->n->a;
  ETRY(ev_out(e, 0, a->value_dtype, a->nshape, a->shape));
  if (!ev_want(e, 0)) return RC_OK;
  int64_t cnt = host_numel(&e->out[0]);
  for (int64_t i = 0; i < cnt; i++) {
    if (dt_float(a->value_dtype))
      host_put_f(&e->out[0], i, a->value_f);
    else
      host_put_i(&e->out[0], i, a->value_i);
  }
  return RC_OK;
}

static Rc range(Ev *e) {
  const HostTensor *s = ev_in(e, 0), *l = ev_in(e, 1), *d = ev_in(e, 2);
  if (!s || !l || !d || host_numel(s) != 1 || host_numel(l) != 1 || host_numel(d) != 1)
    EFAIL("Range needs scalar start, limit and delta");
  int64_t n;
  bool fl = dt_float(s->dtype);
  if (fl) {
    double ds = host_get_f(d, 0), c = ceil((host_get_f(l, 0) - host_get_f(s, 0)) / ds);
    if (ds == 0 || c != c) EFAIL("Range delta must not be 0");
    n = c > 0 ? (int64_t)c : 0;
  } else {
    int64_t si = host_get_i(s, 0), li = host_get_i(l, 0), di = host_get_i(d, 0);
    if (di == 0) EFAIL("Range delta must not be 0");
    double c = ceil(((double)li - (double)si) / (double)di);
    n = c > 0 ? (int64_t)c : 0;
  }
  if (n > NAASC_MAX_ELEMS) EFAIL("Range gives more than 2^31 elements");
  ETRY(ev_out(e, 0, s->dtype, 1, &n));
  if (!ev_want(e, 0)) return RC_OK;
  for (int64_t i = 0; i < n; i++) {
    if (fl)
      host_put_f(&e->out[0], i, host_get_f(s, 0) + (double)i * host_get_f(d, 0));
    else
      host_put_i(&e->out[0], i, host_get_i(s, 0) + i * host_get_i(d, 0));
  }
  return RC_OK;
}

static Rc onehot(Ev *e) {
  const Attrs *a = &e->n->a;
  const HostTensor *ix = ev_in(e, 0), *v = ev_in(e, 2);
  if (!ix || !v || host_numel(v) != 2) EFAIL("OneHot needs indices and two values");
  int r = ix->rank + 1;
  int64_t ax = norm_ax(a->axis, r), depth = a->depth;
  if (ax < 0 || ax >= r || r > NAASC_MAX_RANK) EFAIL("OneHot axis is out of range");
  if (depth < 1) EFAIL("OneHot depth must be positive");
  int64_t od[NAASC_MAX_RANK];
  for (int i = 0, j = 0; i < r; i++) od[i] = i == ax ? depth : ix->dims[j++];
  ETRY(ev_out(e, 0, v->dtype, r, od));
  if (!ev_want(e, 0)) return RC_OK;
  int64_t idx[NAASC_MAX_RANK] = {0}, cnt = prod(od, 0, r);
  for (int64_t j = 0; j < cnt; j++) {
    int64_t src[NAASC_MAX_RANK];
    for (int i = 0, k = 0; i < r; i++)
      if (i != ax) src[k++] = idx[i];
    double iv = host_get_f(ix, ravel(src, ix->rank, ix->dims));
    int64_t want = (int64_t)iv;
    if (want < 0) want += depth;
    copy_elem(&e->out[0], j, v, want == idx[ax] ? 1 : 0);
    next_index(r, od, idx);
  }
  return RC_OK;
}

static Rc eyelike_trilu(Ev *e) {
  const Attrs *a = &e->n->a;
  const HostTensor *x = ev_in(e, 0);
  if (!x || x->rank < 2 || (e->n->op == OP_EYELIKE && x->rank != 2))
    EFAIL("%s needs a %s input", op_name(e->n->op), e->n->op == OP_EYELIKE ? "2-D" : "matrix");
  DType dt = e->n->op == OP_EYELIKE && a->to ? a->to : x->dtype;
  ETRY(ev_out(e, 0, dt, x->rank, x->dims));
  if (!ev_want(e, 0)) return RC_OK;
  int64_t R = x->dims[x->rank - 2], C = x->dims[x->rank - 1], cnt = host_numel(x);
  for (int64_t j = 0; j < cnt; j++) {
    int64_t c = j % C, r = (j / C) % R, dk = c - r;
    if (e->n->op == OP_EYELIKE) {
      host_put_i(&e->out[0], j, dk == a->k);
    } else {
      bool keep = a->upper ? dk >= a->k : dk <= a->k;
      if (keep) copy_elem(&e->out[0], j, x, j);
    }
  }
  return RC_OK;
}

static Rc depth_space(Ev *e) {
  const Attrs *a = &e->n->a;
  const HostTensor *x = ev_in(e, 0);
  int64_t b = a->blocksize;
  if (!x || x->rank != 4 || b < 1)
    EFAIL("%s needs a 4-D input and a positive blocksize", op_name(e->n->op));
  int64_t N = x->dims[0], C = x->dims[1], H = x->dims[2], W = x->dims[3], od[4];
  bool d2s = e->n->op == OP_DEPTHTOSPACE;
  if (d2s) {
    if (C % (b * b)) EFAIL("%lld channels do not divide by blocksize^2", (long long)C);
    od[0] = N, od[1] = C / (b * b), od[2] = H * b, od[3] = W * b;
  } else {
    if (H % b || W % b) EFAIL("the spatial dims do not divide by the blocksize");
    od[0] = N, od[1] = C * b * b, od[2] = H / b, od[3] = W / b;
  }
  ETRY(ev_out(e, 0, x->dtype, 4, od));
  if (!ev_want(e, 0)) return RC_OK;
  int64_t idx[4] = {0}, cnt = prod(od, 0, 4);
  for (int64_t j = 0; j < cnt; j++) {
    int64_t n = idx[0], c = idx[1], h = idx[2], w = idx[3], src[4];
    if (d2s) {
      int64_t bh = h % b, bw = w % b,
              ic = a->d2s_mode == D2S_DCR ? (bh * b + bw) * od[1] + c : c * b * b + bh * b + bw;
      src[0] = n, src[1] = ic, src[2] = h / b, src[3] = w / b;
    } else {
      int64_t blk = c / C, ic = c % C;
      src[0] = n, src[1] = ic, src[2] = h * b + blk / b, src[3] = w * b + blk % b;
    }
    copy_elem(&e->out[0], j, x, ravel(src, 4, x->dims));
    next_index(4, od, idx);
  }
  return RC_OK;
}

static Rc reverse_sequence(Ev *e) {
  const Attrs *a = &e->n->a;
  const HostTensor *x = ev_in(e, 0), *sl = ev_in(e, 1);
  if (!x || !sl || x->rank < 2)
    EFAIL("ReverseSequence needs input (rank 2 or more) and sequence_lens");
  int64_t ba = norm_ax(a->batch_axis, x->rank), ta = norm_ax(a->time_axis, x->rank);
  if (ba < 0 || ba > 1 || ta < 0 || ta > 1 || ba == ta)
    EFAIL("batch_axis and time_axis must be 0 and 1");
  if (host_numel(sl) != x->dims[ba])
    EFAIL("sequence_lens must have %lld values", (long long)x->dims[ba]);
  ETRY(ev_out(e, 0, x->dtype, x->rank, x->dims));
  if (!ev_want(e, 0)) return RC_OK;
  int64_t idx[NAASC_MAX_RANK] = {0}, cnt = host_numel(x);
  for (int64_t j = 0; j < cnt; j++) {
    int64_t src[NAASC_MAX_RANK], len = host_get_i(sl, idx[ba]);
    if (len < 0 || len > x->dims[ta]) EFAIL("sequence length %lld is out of range", (long long)len);
    memcpy(src, idx, sizeof src);
    if (idx[ta] < len) src[ta] = len - 1 - idx[ta];
    copy_elem(&e->out[0], j, x, ravel(src, x->rank, x->dims));
    next_index(x->rank, x->dims, idx);
  }
  return RC_OK;
}

/* ---- output size from the data --------------------------------------- */

static Rc nonzero(Ev *e) {
  const HostTensor *x = ev_in(e, 0);
  if (!x) EFAIL("NonZero needs an input");
  int64_t cnt = host_numel(x), nz = 0;
  bool fl = dt_float(x->dtype);
  for (int64_t i = 0; i < cnt; i++) nz += fl ? host_get_f(x, i) != 0 : host_get_i(x, i) != 0;
  int r = x->rank ? x->rank : 1;
  int64_t od[2] = {x->rank, nz};
  ETRY(ev_out(e, 0, DT_I64, 2, od));
  if (!ev_want(e, 0)) return RC_OK;
  int64_t *o = e->out[0].data, k = 0, idx[NAASC_MAX_RANK] = {0};
  (void)r;
  for (int64_t i = 0; i < cnt; i++) {
    if (fl ? host_get_f(x, i) != 0 : host_get_i(x, i) != 0) {
      for (int q = 0; q < x->rank; q++) o[q * nz + k] = idx[q];
      k++;
    }
    next_index(x->rank, x->dims, idx);
  }
  return RC_OK;
}

static Rc compress(Ev *e) {
  const Attrs *a = &e->n->a;
  const HostTensor *x = ev_in(e, 0), *c = ev_in(e, 1);
  if (!x || !c || c->rank != 1) EFAIL("Compress needs an input and a 1-D condition");
  int64_t ax = a->has_axis ? norm_ax(a->axis, x->rank) : -1;
  if (a->has_axis && (ax < 0 || ax >= x->rank)) EFAIL("Compress axis is out of range");
  int64_t n = ax >= 0 ? x->dims[ax] : host_numel(x), nc = host_numel(c), keep = 0;
  if (nc > n) EFAIL("the condition has %lld values for %lld slices", (long long)nc, (long long)n);
  for (int64_t i = 0; i < nc; i++) keep += host_get_i(c, i) != 0;
  int64_t od[NAASC_MAX_RANK];
  int r = 1;
  if (ax >= 0) {
    memcpy(od, x->dims, sizeof od);
    od[ax] = keep;
    r = x->rank;
  } else {
    od[0] = keep;
  }
  ETRY(ev_out(e, 0, x->dtype, r, od));
  if (!ev_want(e, 0)) return RC_OK;
  int64_t outer = ax >= 0 ? prod(x->dims, 0, (int)ax) : 1,
          inner = ax >= 0 ? prod(x->dims, (int)ax + 1, x->rank) : 1;
  int64_t j = 0;
  for (int64_t p = 0; p < outer; p++)
    for (int64_t i = 0; i < nc; i++)
      if (host_get_i(c, i))
        for (int64_t q = 0; q < inner; q++) copy_elem(&e->out[0], j++, x, (p * n + i) * inner + q);
  return RC_OK;
}

/* TopK and Unique sort with a context; qsort has none, so a merge sort. */
typedef struct {
  const HostTensor *x;
  int64_t base, stride; /* element k of a row is x[base + k*stride] */
  bool largest;
} RowKey;

static int cmp_row(const RowKey *rk, int64_t i, int64_t j) {
  double a = host_get_f(rk->x, rk->base + i * rk->stride),
         b = host_get_f(rk->x, rk->base + j * rk->stride);
  if (!dt_float(rk->x->dtype)) {
    int64_t ia = host_get_i(rk->x, rk->base + i * rk->stride),
            ib = host_get_i(rk->x, rk->base + j * rk->stride);
    if (ia != ib) return (rk->largest ? ia > ib : ia < ib) ? -1 : 1;
  } else if (a != b) {
    if (a != a) return rk->largest ? -1 : 1; /* NaN sorts as the largest */
    if (b != b) return rk->largest ? 1 : -1;
    return (rk->largest ? a > b : a < b) ? -1 : 1;
  }
  return i < j ? -1 : i > j; /* ties: the lower index first */
}

static void msort(int64_t *v, int64_t *tmp, int64_t n, int (*cmp)(const void *, int64_t, int64_t),
                  const void *ctx) {
  if (n < 2) return;
  int64_t h = n / 2;
  msort(v, tmp, h, cmp, ctx);
  msort(v + h, tmp, n - h, cmp, ctx);
  int64_t i = 0, j = h, k = 0;
  while (i < h && j < n) tmp[k++] = cmp(ctx, v[i], v[j]) <= 0 ? v[i++] : v[j++];
  while (i < h) tmp[k++] = v[i++];
  while (j < n) tmp[k++] = v[j++];
  memcpy(v, tmp, sizeof(int64_t) * (size_t)n);
}

static int cmp_row_v(const void *ctx, int64_t i, int64_t j) { return cmp_row(ctx, i, j); }

static Rc topk(Ev *e) {
  const Attrs *a = &e->n->a;
  const HostTensor *x = ev_in(e, 0);
  if (!x) EFAIL("TopK needs an input");
  int64_t ax = norm_ax(a->axis, x->rank);
  if (ax < 0 || ax >= x->rank) EFAIL("TopK axis is out of range");
  int64_t n = x->dims[ax], k = a->k;
  if (k < 0 || k > n)
    EFAIL("k = %lld is out of range for a dim of %lld", (long long)k, (long long)n);
  int64_t od[NAASC_MAX_RANK];
  memcpy(od, x->dims, sizeof od);
  od[ax] = k;
  ETRY(ev_out(e, 0, x->dtype, x->rank, od));
  ETRY(ev_out(e, 1, DT_I64, x->rank, od));
  int64_t outer = prod(x->dims, 0, (int)ax), inner = prod(x->dims, (int)ax + 1, x->rank);
  int64_t *ord = ev_alloc(e, sizeof(int64_t) * (size_t)n),
          *tmp = ev_alloc(e, sizeof(int64_t) * (size_t)n);
  if (!ord || !tmp) EOOM();
  for (int64_t p = 0; p < outer; p++)
    for (int64_t q = 0; q < inner; q++) {
      RowKey rk = {x, p * n * inner + q, inner, a->largest};
      for (int64_t i = 0; i < n; i++) ord[i] = i;
      msort(ord, tmp, n, cmp_row_v, &rk);
      for (int64_t i = 0; i < k; i++) {
        int64_t o = (p * k + i) * inner + q;
        if (ev_want(e, 0)) copy_elem(&e->out[0], o, x, rk.base + ord[i] * inner);
        if (ev_want(e, 1)) ((int64_t *)e->out[1].data)[o] = ord[i];
      }
    }
  return RC_OK;
}

/* Unique: records are the slices along the axis (or single elements). */
typedef struct {
  const HostTensor *x;
  int64_t outer, n, inner;
} Records;

static int cmp_rec(const void *ctx, int64_t i, int64_t j) {
  const Records *r = ctx;
  for (int64_t p = 0; p < r->outer; p++)
    for (int64_t q = 0; q < r->inner; q++) {
      int64_t oi = (p * r->n + i) * r->inner + q, oj = (p * r->n + j) * r->inner + q;
      if (dt_float(r->x->dtype)) {
        double a = host_get_f(r->x, oi), b = host_get_f(r->x, oj);
        if (a != b) return a < b ? -1 : 1;
      } else {
        int64_t a = host_get_i(r->x, oi), b = host_get_i(r->x, oj);
        if (a != b) return a < b ? -1 : 1;
      }
    }
  return 0;
}

static int cmp_rec_stable(const void *ctx, int64_t i, int64_t j) {
  int c = cmp_rec(ctx, i, j);
  return c ? c : (i < j ? -1 : i > j);
}

static Rc unique(Ev *e) {
  const Attrs *a = &e->n->a;
  const HostTensor *x = ev_in(e, 0);
  if (!x) EFAIL("Unique needs an input");
  Records rec = {x, 1, host_numel(x), 1};
  int64_t ax = -1;
  if (a->has_axis) {
    ax = norm_ax(a->axis, x->rank);
    if (ax < 0 || ax >= x->rank) EFAIL("Unique axis is out of range");
    rec.outer = prod(x->dims, 0, (int)ax);
    rec.n = x->dims[ax];
    rec.inner = prod(x->dims, (int)ax + 1, x->rank);
  }
  int64_t n = rec.n;
  int64_t *ord = ev_alloc(e, sizeof(int64_t) * (size_t)n),
          *tmp = ev_alloc(e, sizeof(int64_t) * (size_t)n);
  int64_t *first = ev_alloc(e, sizeof(int64_t) * (size_t)n),
          *inv = ev_alloc(e, sizeof(int64_t) * (size_t)n);
  int64_t *count = ev_alloc(e, sizeof(int64_t) * (size_t)n),
          *slot = ev_alloc(e, sizeof(int64_t) * (size_t)n);
  if (!ord || !tmp || !first || !inv || !count || !slot) EOOM();
  for (int64_t i = 0; i < n; i++) ord[i] = i;
  msort(ord, tmp, n, cmp_rec_stable, &rec);
  /* groups of equal records in sorted order; the first of each is its first occurrence */
  int64_t nu = 0;
  for (int64_t i = 0; i < n; i++) {
    if (i == 0 || cmp_rec(&rec, ord[i - 1], ord[i]) != 0) {
      first[nu] = ord[i];
      count[nu] = 0;
      nu++;
    }
    slot[ord[i]] = nu - 1;
    count[nu - 1]++;
  }
  /* unsorted: the groups in order of first occurrence */
  int64_t *rank_of = ev_alloc(e, sizeof(int64_t) * (size_t)(nu ? nu : 1));
  int64_t *grp = ev_alloc(e, sizeof(int64_t) * (size_t)(nu ? nu : 1));
  if (!rank_of || !grp) EOOM();
  for (int64_t g = 0; g < nu; g++) grp[g] = g;
  if (!a->sorted) { /* sort group ids by their first occurrence */
    for (int64_t g = 1; g < nu; g++) {
      int64_t v = grp[g], h = g;
      while (h > 0 && first[grp[h - 1]] > first[v]) {
        grp[h] = grp[h - 1];
        h--;
      }
      grp[h] = v;
    }
  }
  for (int64_t g = 0; g < nu; g++) rank_of[grp[g]] = g;
  for (int64_t i = 0; i < n; i++) inv[i] = rank_of[slot[i]];
  int64_t od[NAASC_MAX_RANK];
  int r = 1;
  if (ax >= 0) {
    memcpy(od, x->dims, sizeof od);
    od[ax] = nu;
    r = x->rank;
  } else {
    od[0] = nu;
  }
  ETRY(ev_out(e, 0, x->dtype, r, od));
  ETRY(ev_out(e, 1, DT_I64, 1, &nu));
  ETRY(ev_out(e, 2, DT_I64, 1, &n));
  ETRY(ev_out(e, 3, DT_I64, 1, &nu));
  for (int64_t g = 0; g < nu; g++) {
    int64_t src = first[grp[g]];
    if (ev_want(e, 0))
      for (int64_t p = 0; p < rec.outer; p++)
        for (int64_t q = 0; q < rec.inner; q++)
          copy_elem(&e->out[0], (p * nu + g) * rec.inner + q, x, (p * n + src) * rec.inner + q);
    if (ev_want(e, 1)) ((int64_t *)e->out[1].data)[g] = src;
    if (ev_want(e, 3)) ((int64_t *)e->out[3].data)[g] = count[grp[g]];
  }
  if (ev_want(e, 2)) memcpy(e->out[2].data, inv, sizeof(int64_t) * (size_t)n);
  return RC_OK;
}

Rc ev_movement(Ev *e) {
  switch (e->n->op) {
  case OP_RESHAPE:
  case OP_FLATTEN:
  case OP_SQUEEZE:
  case OP_UNSQUEEZE:
  case OP_IDENTITY:
  case OP_DROPOUT: return view(e);
  case OP_TRANSPOSE: return transpose(e);
  case OP_CONCAT: return concat(e);
  case OP_SPLIT: return split(e);
  case OP_SLICE: return slice(e);
  case OP_SHAPE:
  case OP_SIZE: return shape_size(e);
  case OP_GATHER: return gather(e);
  case OP_GATHERELEMENTS: return gather_elements(e);
  case OP_GATHERND: return gather_nd(e);
  case OP_SCATTER:
  case OP_SCATTERELEMENTS: return scatter_elements(e);
  case OP_SCATTERND: return scatter_nd(e);
  case OP_PAD: return pad(e);
  case OP_EXPAND:
  case OP_TILE: return expand_tile(e);
  case OP_CONSTANTOFSHAPE: return constant_of_shape(e);
  case OP_RANGE: return range(e);
  case OP_ONEHOT: return onehot(e);
  case OP_EYELIKE:
  case OP_TRILU: return eyelike_trilu(e);
  case OP_DEPTHTOSPACE:
  case OP_SPACETODEPTH: return depth_space(e);
  case OP_REVERSESEQUENCE: return reverse_sequence(e);
  case OP_NONZERO: return nonzero(e);
  case OP_COMPRESS: return compress(e);
  case OP_TOPK: return topk(e);
  case OP_UNIQUE: return unique(e);
  case OP_CONSTANT: EFAIL("Constant nodes are folded on import");
  default:
    diag_error(e->d, e->where, "internal: %s is not a data-movement op", op_name(e->n->op));
    return RC_INTERNAL;
  }
}
