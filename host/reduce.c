/*
 * reduce.c: host evaluators of the ops that reduce along axes: the Reduce*
 * family, ArgMax/ArgMin, Softmax/LogSoftmax/Hardmax, CumSum, the global
 * pools, the normalizations (BatchNormalization in inference mode,
 * LayerNormalization, InstanceNormalization, GroupNormalization, LRN,
 * MeanVarianceNormalization), DynamicQuantizeLinear (a min/max reduction
 * then QuantizeLinear) and the two losses.
 *
 * Sums, means and variances accumulate in double.  Integer Reduce{Sum,
 * Prod,Max,Min} stay integer (wrapping), the others go through double.
 * Softmax-like ops subtract the maximum first, as every reference does.
 * Before opset 13 Softmax, LogSoftmax and Hardmax see the input as 2-D
 * [prod(dims before axis), prod(dims from axis)] (Attrs.coerce2d).
 */
#include "host/internal.h"

#include <math.h>
#include <string.h>

/* outer x n x inner view of a tensor around an axis. */
static void split3(const HostTensor *x, int64_t axis, bool to_end, int64_t *outer, int64_t *n,
                   int64_t *inner) {
  *outer = prod(x->dims, 0, (int)axis);
  if (to_end) {
    *n = prod(x->dims, (int)axis, x->rank);
    *inner = 1;
  } else {
    *n = x->dims[axis];
    *inner = prod(x->dims, (int)axis + 1, x->rank);
  }
}

static int64_t norm_ax(int64_t a, int rank) { return a < 0 ? a + rank : a; }

/* ---- Reduce* ----------------------------------------------------------- */

static Rc reduce(Ev *e) {
  const Node *n = e->n;
  const Attrs *a = &n->a;
  const HostTensor *x = ev_in(e, 0);
  if (!x) EFAIL("%s needs an input", op_name(n->op));
  bool red[NAASC_MAX_RANK] = {0};
  if (a->naxes <= 0) {
    if (a->noop_empty) { /* no axes: identity */
      ETRY(ev_out(e, 0, x->dtype, x->rank, x->dims));
      if (ev_want(e, 0))
        memcpy(e->out[0].data, x->data, (size_t)host_numel(x) * dtype_size(x->dtype));
      return RC_OK;
    }
    for (int i = 0; i < x->rank; i++) red[i] = true;
  }
  for (int i = 0; i < a->naxes; i++) {
    int64_t ax = norm_ax(a->axes[i], x->rank);
    if (ax < 0 || ax >= x->rank) EFAIL("axis %lld is out of range", (long long)a->axes[i]);
    red[ax] = true;
  }
  int64_t od[NAASC_MAX_RANK], kd[NAASC_MAX_RANK];
  int orank = 0;
  for (int i = 0; i < x->rank; i++) {
    kd[i] = red[i] ? 1 : x->dims[i];
    if (!red[i])
      od[orank++] = x->dims[i];
    else if (a->keepdims)
      od[orank++] = 1;
  }
  ETRY(ev_out(e, 0, x->dtype, orank, od));
  if (!ev_want(e, 0)) return RC_OK;
  int64_t ocnt = prod(kd, 0, x->rank), xcnt = host_numel(x);
  int64_t kst[NAASC_MAX_RANK];
  strides_of(x->rank, kd, kst);
  for (int i = 0; i < x->rank; i++)
    if (red[i]) kst[i] = 0;
  Op op = n->op;
  bool as_int = dt_int(x->dtype) && (op == OP_REDUCESUM || op == OP_REDUCEPROD ||
                                     op == OP_REDUCEMAX || op == OP_REDUCEMIN);
  if (as_int) {
    int64_t *acc = ev_alloc(e, sizeof(int64_t) * (size_t)ocnt);
    bool *seen = ev_alloc(e, (size_t)ocnt);
    if (!acc || !seen) EOOM();
    bool uns = x->dtype == DT_U64;
    int64_t idx[NAASC_MAX_RANK] = {0};
    for (int64_t j = 0; j < xcnt; j++) {
      int64_t o = 0;
      for (int q = 0; q < x->rank; q++) o += idx[q] * kst[q];
      int64_t v = host_get_i(x, j);
      if (!seen[o]) {
        acc[o] = v;
        seen[o] = true;
      } else if (op == OP_REDUCESUM) {
        acc[o] = (int64_t)((uint64_t)acc[o] + (uint64_t)v);
      } else if (op == OP_REDUCEPROD) {
        acc[o] = (int64_t)((uint64_t)acc[o] * (uint64_t)v);
      } else if (op == OP_REDUCEMAX) {
        if (uns ? (uint64_t)v > (uint64_t)acc[o] : v > acc[o]) acc[o] = v;
      } else if (uns ? (uint64_t)v < (uint64_t)acc[o] : v < acc[o]) {
        acc[o] = v;
      }
      next_index(x->rank, x->dims, idx);
    }
    for (int64_t o = 0; o < ocnt; o++)
      if (!seen[o]) acc[o] = op == OP_REDUCEPROD ? 1 : 0;
    store_i64(&e->out[0], acc);
    return RC_OK;
  }
  double *acc = ev_alloc(e, sizeof(double) * (size_t)ocnt);
  double *mx = ev_alloc(e, sizeof(double) * (size_t)ocnt);
  if (!acc || !mx) EOOM();
  double init = op == OP_REDUCEPROD  ? 1
                : op == OP_REDUCEMAX ? -INFINITY
                : op == OP_REDUCEMIN ? INFINITY
                                     : 0;
  for (int64_t o = 0; o < ocnt; o++) {
    acc[o] = init;
    mx[o] = -INFINITY;
  }
  int64_t idx[NAASC_MAX_RANK] = {0};
  if (op == OP_REDUCELOGSUMEXP) { /* the max first, for a stable sum */
    for (int64_t j = 0; j < xcnt; j++) {
      int64_t o = 0;
      for (int q = 0; q < x->rank; q++) o += idx[q] * kst[q];
      double v = host_get_f(x, j);
      if (v > mx[o]) mx[o] = v;
      next_index(x->rank, x->dims, idx);
    }
    memset(idx, 0, sizeof idx);
  }
  for (int64_t j = 0; j < xcnt; j++) {
    int64_t o = 0;
    for (int q = 0; q < x->rank; q++) o += idx[q] * kst[q];
    double v = host_get_f(x, j);
    switch (op) {
    case OP_REDUCEMAX:
      if (v > acc[o] || v != v) acc[o] = v != v || acc[o] != acc[o] ? NAN : v;
      break;
    case OP_REDUCEMIN:
      if (v < acc[o] || v != v) acc[o] = v != v || acc[o] != acc[o] ? NAN : v;
      break;
    case OP_REDUCEPROD: acc[o] *= v; break;
    case OP_REDUCEL1: acc[o] += fabs(v); break;
    case OP_REDUCEL2:
    case OP_REDUCESUMSQUARE: acc[o] += v * v; break;
    case OP_REDUCELOGSUMEXP: acc[o] += exp(v - (isinf(mx[o]) ? 0 : mx[o])); break;
    default: acc[o] += v; break; /* Sum, Mean, LogSum */
    }
    next_index(x->rank, x->dims, idx);
  }
  int64_t per = ocnt ? xcnt / ocnt : 0;
  for (int64_t o = 0; o < ocnt; o++) {
    switch (op) {
    case OP_REDUCEL2: acc[o] = sqrt(acc[o]); break;
    case OP_REDUCELOGSUM: acc[o] = log(acc[o]); break;
    case OP_REDUCELOGSUMEXP: acc[o] = log(acc[o]) + (isinf(mx[o]) ? 0 : mx[o]); break;
    case OP_REDUCEMEAN: acc[o] = per ? acc[o] / (double)per : NAN; break;
    default: break;
    }
  }
  store_f64(&e->out[0], acc);
  return RC_OK;
}

static Rc argmax(Ev *e) {
  const Attrs *a = &e->n->a;
  const HostTensor *x = ev_in(e, 0);
  if (!x) EFAIL("%s needs an input", op_name(e->n->op));
  int64_t ax = norm_ax(a->axis, x->rank);
  if (ax < 0 || ax >= x->rank) EFAIL("axis %lld is out of range", (long long)a->axis);
  int64_t od[NAASC_MAX_RANK];
  int orank = 0;
  for (int i = 0; i < x->rank; i++)
    if (i != ax)
      od[orank++] = x->dims[i];
    else if (a->keepdims)
      od[orank++] = 1;
  ETRY(ev_out(e, 0, DT_I64, orank, od));
  if (!ev_want(e, 0)) return RC_OK;
  int64_t outer, cnt, inner;
  split3(x, ax, false, &outer, &cnt, &inner);
  int64_t *o = e->out[0].data;
  bool is_max = e->n->op == OP_ARGMAX, fl = dt_float(x->dtype);
  for (int64_t p = 0; p < outer; p++)
    for (int64_t q = 0; q < inner; q++) {
      int64_t best = 0;
      for (int64_t k = 1; k < cnt; k++) {
        int64_t i = (p * cnt + k) * inner + q, b = (p * cnt + best) * inner + q;
        bool better, tie;
        if (fl) {
          double v = host_get_f(x, i), w = host_get_f(x, b);
          better = is_max ? v > w : v < w;
          tie = v == w;
        } else {
          int64_t v = host_get_i(x, i), w = host_get_i(x, b);
          better = is_max ? v > w : v < w;
          tie = v == w;
        }
        if (better || (tie && a->select_last)) best = k;
      }
      o[p * inner + q] = best;
    }
  return RC_OK;
}

static Rc softmax(Ev *e) {
  const Node *n = e->n;
  const HostTensor *x = ev_in(e, 0);
  if (!x) EFAIL("%s needs an input", op_name(n->op));
  int64_t ax = norm_ax(n->a.axis, x->rank);
  if (ax < 0 || ax >= (x->rank ? x->rank : 1))
    EFAIL("axis %lld is out of range", (long long)n->a.axis);
  ETRY(ev_out(e, 0, x->dtype, x->rank, x->dims));
  if (!ev_want(e, 0)) return RC_OK;
  int64_t outer, cnt, inner;
  split3(x, ax, n->a.coerce2d, &outer, &cnt, &inner);
  double *v = ev_f64(e, x);
  if (!v) EOOM();
  for (int64_t p = 0; p < outer; p++)
    for (int64_t q = 0; q < inner; q++) {
      double mx = -INFINITY, sum = 0;
      int64_t first = 0;
      for (int64_t k = 0; k < cnt; k++) {
        double w = v[(p * cnt + k) * inner + q];
        if (w > mx) {
          mx = w;
          first = k;
        }
      }
      for (int64_t k = 0; k < cnt; k++) sum += exp(v[(p * cnt + k) * inner + q] - mx);
      for (int64_t k = 0; k < cnt; k++) {
        double *w = &v[(p * cnt + k) * inner + q];
        if (n->op == OP_SOFTMAX)
          *w = exp(*w - mx) / sum;
        else if (n->op == OP_LOGSOFTMAX)
          *w = *w - mx - log(sum);
        else
          *w = k == first;
      }
    }
  store_f64(&e->out[0], v);
  return RC_OK;
}

static Rc cumsum(Ev *e) {
  const Attrs *a = &e->n->a;
  const HostTensor *x = ev_in(e, 0);
  if (!x) EFAIL("CumSum needs an input");
  int64_t ax = norm_ax(a->axis, x->rank);
  if (ax < 0 || ax >= x->rank) EFAIL("axis %lld is out of range", (long long)a->axis);
  ETRY(ev_out(e, 0, x->dtype, x->rank, x->dims));
  if (!ev_want(e, 0)) return RC_OK;
  int64_t outer, cnt, inner;
  split3(x, ax, false, &outer, &cnt, &inner);
  bool fl = dt_float(x->dtype);
  for (int64_t p = 0; p < outer; p++)
    for (int64_t q = 0; q < inner; q++) {
      double sf = 0;
      int64_t si = 0;
      for (int64_t t = 0; t < cnt; t++) {
        int64_t k = a->reverse ? cnt - 1 - t : t, i = (p * cnt + k) * inner + q;
        if (a->exclusive) {
          if (fl)
            host_put_f(&e->out[0], i, sf);
          else
            host_put_i(&e->out[0], i, si);
        }
        if (fl)
          sf += host_get_f(x, i);
        else
          si = (int64_t)((uint64_t)si + (uint64_t)host_get_i(x, i));
        if (!a->exclusive) {
          if (fl)
            host_put_f(&e->out[0], i, sf);
          else
            host_put_i(&e->out[0], i, si);
        }
      }
    }
  return RC_OK;
}

static Rc global_pool(Ev *e) {
  const HostTensor *x = ev_in(e, 0);
  if (!x || x->rank < 2) EFAIL("%s needs an input of rank 2 or more", op_name(e->n->op));
  int64_t od[NAASC_MAX_RANK];
  memcpy(od, x->dims, sizeof od);
  for (int i = 2; i < x->rank; i++) od[i] = 1;
  ETRY(ev_out(e, 0, x->dtype, x->rank, od));
  if (!ev_want(e, 0)) return RC_OK;
  int64_t nc = x->dims[0] * x->dims[1], sp = prod(x->dims, 2, x->rank);
  bool mx = e->n->op == OP_GLOBALMAXPOOL;
  for (int64_t c = 0; c < nc; c++) {
    double acc = mx ? -INFINITY : 0;
    for (int64_t s = 0; s < sp; s++) {
      double v = host_get_f(x, c * sp + s);
      acc = mx ? (v > acc ? v : acc) : acc + v;
    }
    host_put_f(&e->out[0], c, mx ? acc : acc / (double)sp);
  }
  return RC_OK;
}

/* ---- normalizations ---------------------------------------------------- */

static Rc batchnorm(Ev *e) {
  const HostTensor *x = ev_in(e, 0), *p[4];
  for (int i = 0; i < 4; i++) p[i] = ev_in(e, i + 1);
  if (!x || !p[0] || !p[1] || !p[2] || !p[3] || x->rank < 2)
    EFAIL("BatchNormalization needs X (rank 2 or more), scale, B, mean and var");
  int64_t c = x->dims[1];
  for (int i = 0; i < 4; i++)
    if (host_numel(p[i]) != c)
      EFAIL("BatchNormalization input %d must have %lld values", i + 1, (long long)c);
  ETRY(ev_out(e, 0, x->dtype, x->rank, x->dims));
  if (!ev_want(e, 0)) return RC_OK;
  int64_t sp = prod(x->dims, 2, x->rank), cnt = host_numel(x);
  for (int64_t i = 0; i < cnt; i++) {
    int64_t ch = (i / sp) % c;
    double v = (host_get_f(x, i) - host_get_f(p[2], ch)) /
                   sqrt(host_get_f(p[3], ch) + e->n->a.epsilon) * host_get_f(p[0], ch) +
               host_get_f(p[1], ch);
    host_put_f(&e->out[0], i, v);
  }
  return RC_OK;
}

static Rc layernorm(Ev *e) {
  const Attrs *a = &e->n->a;
  const HostTensor *x = ev_in(e, 0), *s = ev_in(e, 1), *b = ev_in(e, 2);
  if (!x || !s) EFAIL("LayerNormalization needs X and Scale");
  int64_t ax = norm_ax(a->axis, x->rank);
  if (ax < 0 || ax >= x->rank) EFAIL("axis %lld is out of range", (long long)a->axis);
  int64_t md[NAASC_MAX_RANK];
  for (int i = 0; i < x->rank; i++) md[i] = i < ax ? x->dims[i] : 1;
  ETRY(ev_out(e, 0, x->dtype, x->rank, x->dims));
  DType st = a->stash_type == DT_F64 ? DT_F64 : DT_F32;
  ETRY(ev_out(e, 1, st, x->rank, md));
  ETRY(ev_out(e, 2, st, x->rank, md));
  int64_t outer = prod(x->dims, 0, (int)ax), cnt = prod(x->dims, (int)ax, x->rank);
  int64_t sst[NAASC_MAX_RANK], bst[NAASC_MAX_RANK];
  const HostTensor *ts[3] = {x, s, b};
  int r;
  int64_t bd[NAASC_MAX_RANK];
  if (!bcast_shape(ts, 3, &r, bd) || r != x->rank ||
      memcmp(bd, x->dims, sizeof(int64_t) * (size_t)r))
    EFAIL("Scale and B must broadcast to the normalized shape");
  bcast_strides(s, x->rank, x->dims, sst);
  if (b) bcast_strides(b, x->rank, x->dims, bst);
  double *v = ev_f64(e, x);
  if (!v) EOOM();
  for (int64_t p = 0; p < outer; p++) {
    double mean = 0, var = 0;
    for (int64_t k = 0; k < cnt; k++) mean += v[p * cnt + k];
    mean /= (double)cnt;
    for (int64_t k = 0; k < cnt; k++) var += (v[p * cnt + k] - mean) * (v[p * cnt + k] - mean);
    var /= (double)cnt;
    double inv = 1 / sqrt(var + a->epsilon);
    if (ev_want(e, 1)) host_put_f(&e->out[1], p, mean);
    if (ev_want(e, 2)) host_put_f(&e->out[2], p, inv);
    if (!ev_want(e, 0)) continue;
    int64_t idx[NAASC_MAX_RANK] = {0}, lin = p * cnt;
    for (int q = x->rank - 1; q >= 0; q--) { /* the multi-index of lin */
      idx[q] = lin % x->dims[q];
      lin /= x->dims[q];
    }
    for (int64_t k = 0; k < cnt; k++) {
      int64_t so = 0, bo = 0;
      for (int q = 0; q < x->rank; q++) {
        so += idx[q] * sst[q];
        if (b) bo += idx[q] * bst[q];
      }
      double y = (v[p * cnt + k] - mean) * inv * host_get_f(s, so) + (b ? host_get_f(b, bo) : 0);
      host_put_f(&e->out[0], p * cnt + k, y);
      next_index(x->rank, x->dims, idx);
    }
  }
  return RC_OK;
}

/* Instance and group normalization: mean and variance over `groups` of
 * channels and the spatial dims; scale and bias per channel or group. */
static Rc groupnorm(Ev *e, int64_t groups) {
  const HostTensor *x = ev_in(e, 0), *s = ev_in(e, 1), *b = ev_in(e, 2);
  if (!x || !s || !b || x->rank < 2)
    EFAIL("%s needs X (rank 2 or more), scale and B", op_name(e->n->op));
  int64_t N = x->dims[0], C = x->dims[1], sp = prod(x->dims, 2, x->rank);
  if (groups <= 0 || C % groups)
    EFAIL("num_groups %lld does not divide the %lld channels", (long long)groups, (long long)C);
  int64_t ns = host_numel(s);
  if (ns != C && ns != groups)
    EFAIL("scale must have %lld (channels) or %lld (groups) values", (long long)C,
          (long long)groups);
  if (host_numel(b) != ns) EFAIL("scale and B differ in size");
  ETRY(ev_out(e, 0, x->dtype, x->rank, x->dims));
  if (!ev_want(e, 0)) return RC_OK;
  int64_t cpg = C / groups, cnt = cpg * sp;
  double *v = ev_f64(e, x);
  if (!v) EOOM();
  for (int64_t nn = 0; nn < N; nn++)
    for (int64_t g = 0; g < groups; g++) {
      double *p = v + (nn * C + g * cpg) * sp, mean = 0, var = 0;
      for (int64_t k = 0; k < cnt; k++) mean += p[k];
      mean /= (double)cnt;
      for (int64_t k = 0; k < cnt; k++) var += (p[k] - mean) * (p[k] - mean);
      var /= (double)cnt;
      double inv = 1 / sqrt(var + e->n->a.epsilon);
      for (int64_t k = 0; k < cnt; k++) {
        int64_t ch = g * cpg + k / sp, pi = ns == C ? ch : g;
        p[k] = (p[k] - mean) * inv * host_get_f(s, pi) + host_get_f(b, pi);
      }
    }
  store_f64(&e->out[0], v);
  return RC_OK;
}

static Rc lrn(Ev *e) {
  const Attrs *a = &e->n->a;
  const HostTensor *x = ev_in(e, 0);
  if (!x || x->rank < 2) EFAIL("LRN needs an input of rank 2 or more");
  if (a->size <= 0) EFAIL("LRN size must be positive");
  ETRY(ev_out(e, 0, x->dtype, x->rank, x->dims));
  if (!ev_want(e, 0)) return RC_OK;
  int64_t N = x->dims[0], C = x->dims[1], sp = prod(x->dims, 2, x->rank);
  int64_t lo = (a->size - 1) / 2, hi = (a->size - 1) - lo; /* floor and ceil of (size-1)/2 */
  double *v = ev_f64(e, x);
  if (!v) EOOM();
  for (int64_t nn = 0; nn < N; nn++)
    for (int64_t c = 0; c < C; c++)
      for (int64_t s = 0; s < sp; s++) {
        double sq = 0;
        for (int64_t k = c - lo; k <= c + hi; k++)
          if (k >= 0 && k < C) {
            double w = v[(nn * C + k) * sp + s];
            sq += w * w;
          }
        double y =
            v[(nn * C + c) * sp + s] / pow(a->bias + a->alpha / (double)a->size * sq, a->beta);
        host_put_f(&e->out[0], (nn * C + c) * sp + s, y);
      }
  return RC_OK;
}

static Rc mvn(Ev *e) {
  const Attrs *a = &e->n->a;
  const HostTensor *x = ev_in(e, 0);
  if (!x) EFAIL("MeanVarianceNormalization needs an input");
  bool red[NAASC_MAX_RANK] = {0};
  for (int i = 0; i < a->naxes; i++) {
    int64_t ax = norm_ax(a->axes[i], x->rank);
    if (ax < 0 || ax >= x->rank) EFAIL("axis %lld is out of range", (long long)a->axes[i]);
    red[ax] = true;
  }
  ETRY(ev_out(e, 0, x->dtype, x->rank, x->dims));
  if (!ev_want(e, 0)) return RC_OK;
  int64_t kd[NAASC_MAX_RANK], kst[NAASC_MAX_RANK];
  for (int i = 0; i < x->rank; i++) kd[i] = red[i] ? 1 : x->dims[i];
  strides_of(x->rank, kd, kst);
  for (int i = 0; i < x->rank; i++)
    if (red[i]) kst[i] = 0;
  int64_t ocnt = prod(kd, 0, x->rank), xcnt = host_numel(x), per = xcnt / (ocnt ? ocnt : 1);
  double *s1 = ev_alloc(e, sizeof(double) * (size_t)ocnt),
         *s2 = ev_alloc(e, sizeof(double) * (size_t)ocnt);
  int64_t *map = ev_alloc(e, sizeof(int64_t) * (size_t)xcnt);
  double *v = ev_f64(e, x);
  if (!s1 || !s2 || !map || !v) EOOM();
  int64_t idx[NAASC_MAX_RANK] = {0};
  for (int64_t j = 0; j < xcnt; j++) {
    int64_t o = 0;
    for (int q = 0; q < x->rank; q++) o += idx[q] * kst[q];
    map[j] = o;
    s1[o] += v[j];
    s2[o] += v[j] * v[j];
    next_index(x->rank, x->dims, idx);
  }
  for (int64_t j = 0; j < xcnt; j++) {
    double mean = s1[map[j]] / (double)per, var = s2[map[j]] / (double)per - mean * mean;
    host_put_f(&e->out[0], j, (v[j] - mean) / (sqrt(var > 0 ? var : 0) + 1e-9));
  }
  return RC_OK;
}

/* ---- DynamicQuantizeLinear --------------------------------------------- */

static Rc dynquant(Ev *e) {
  const HostTensor *x = ev_in(e, 0);
  if (!x) EFAIL("DynamicQuantizeLinear needs an input");
  ETRY(ev_out(e, 0, DT_U8, x->rank, x->dims));
  ETRY(ev_out(e, 1, DT_F32, 0, NULL));
  ETRY(ev_out(e, 2, DT_U8, 0, NULL));
  int64_t cnt = host_numel(x);
  /* ONNX's definition, all in f32 (as onnxruntime computes it too): the
   * range widened to hold 0, scale = (max - min) / 255 (1 when max ==
   * min), zero point = round_half_even(saturate(0 - min / scale)).  The
   * range's difference is rounded to f32 before the division: done in
   * double, it gives another scale for about a quarter of the ranges
   * with a negative min (tests/runtime/test_dynquant.py). */
  float lo = 0, hi = 0;
  for (int64_t i = 0; i < cnt; i++) {
    float v = (float)host_get_f(x, i);
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  float range = hi - lo;
  float scale = hi == lo ? 1.0f : range / 255.0f;
  float izp = 0.0f - lo / scale;
  izp = izp < 0.0f ? 0.0f : izp > 255.0f ? 255.0f : izp;
  int zp = (int)nearbyintf(izp);
  if (ev_want(e, 1)) memcpy(e->out[1].data, &scale, 4);
  if (ev_want(e, 2)) *(uint8_t *)e->out[2].data = (uint8_t)zp;
  if (!ev_want(e, 0)) return RC_OK;
  uint8_t *y = e->out[0].data;
  for (int64_t i = 0; i < cnt; i++) {
    float q = nearbyintf((float)host_get_f(x, i) / scale);
    float v = q + (float)zp;
    y[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : (int)v);
  }
  return RC_OK;
}

/* ---- losses ------------------------------------------------------------ */

/* NegativeLogLikelihoodLoss of log-probabilities lp [N, C, D...] (as
 * doubles) against targets; the reference's weighting and reductions. */
static Rc nll(Ev *e, const HostTensor *x, const double *lp, const HostTensor *t,
              const HostTensor *w, int outk) {
  const Attrs *a = &e->n->a;
  if (x->rank < 2) EFAIL("the input must have rank 2 or more");
  int64_t N = x->dims[0], C = x->dims[1], D = prod(x->dims, 2, x->rank);
  if (t->rank != x->rank - 1 || t->dims[0] != N || prod(t->dims, 1, t->rank) != D)
    EFAIL("the target's shape does not match the input's");
  if (w && host_numel(w) != C) EFAIL("the weight must have %lld values", (long long)C);
  int64_t od[NAASC_MAX_RANK];
  int orank = a->loss_reduction == LRED_NONE ? t->rank : 0;
  memcpy(od, t->dims, sizeof od);
  ETRY(ev_out(e, outk, x->dtype, orank, od));
  if (!ev_want(e, outk)) return RC_OK;
  double *loss = ev_alloc(e, sizeof(double) * (size_t)(N * D));
  if (!loss) EOOM();
  double sum = 0, wsum = 0;
  bool weighted = w || a->has_ignore;
  for (int64_t nn = 0; nn < N; nn++)
    for (int64_t d = 0; d < D; d++) {
      int64_t tg = host_get_i(t, nn * D + d);
      bool ign = a->has_ignore && tg == a->ignore_index;
      double wt = 1, l = 0;
      if (w) wt = host_get_f(w, tg < 0 ? 0 : tg >= C ? C - 1 : tg);
      if (ign) wt = 0;
      if (!ign) {
        if (tg < 0 || tg >= C)
          EFAIL("target %lld is out of range for %lld classes", (long long)tg, (long long)C);
        l = -lp[(nn * C + tg) * D + d];
      }
      loss[nn * D + d] = l * wt;
      sum += l * wt;
      wsum += wt;
    }
  if (a->loss_reduction == LRED_NONE) {
    store_f64(&e->out[outk], loss);
  } else {
    double r = sum;
    if (a->loss_reduction == LRED_MEAN) r = weighted ? sum / wsum : sum / (double)(N * D);
    host_put_f(&e->out[outk], 0, r);
  }
  return RC_OK;
}

static Rc losses(Ev *e) {
  const HostTensor *x = ev_in(e, 0), *t = ev_in(e, 1), *w = ev_in(e, 2);
  if (!x || !t) EFAIL("%s needs an input and a target", op_name(e->n->op));
  double *v = ev_f64(e, x);
  if (!v) EOOM();
  if (e->n->op == OP_SCELOSS) { /* log_softmax over axis 1 */
    if (x->rank < 2) EFAIL("the input must have rank 2 or more");
    int64_t N = x->dims[0], C = x->dims[1], D = prod(x->dims, 2, x->rank);
    for (int64_t nn = 0; nn < N; nn++)
      for (int64_t d = 0; d < D; d++) {
        double mx = -INFINITY, s = 0;
        for (int64_t c = 0; c < C; c++) mx = fmax(mx, v[(nn * C + c) * D + d]);
        for (int64_t c = 0; c < C; c++) s += exp(v[(nn * C + c) * D + d] - mx);
        for (int64_t c = 0; c < C; c++) v[(nn * C + c) * D + d] -= mx + log(s);
      }
    ETRY(ev_out(e, 1, x->dtype, x->rank, x->dims));
    if (ev_want(e, 1)) store_f64(&e->out[1], v);
  }
  return nll(e, x, v, t, w, 0);
}

Rc ev_reduce(Ev *e) {
  switch (e->n->op) {
  case OP_REDUCEMEAN:
  case OP_REDUCEMAX:
  case OP_REDUCEMIN:
  case OP_REDUCESUM:
  case OP_REDUCEPROD:
  case OP_REDUCEL1:
  case OP_REDUCEL2:
  case OP_REDUCELOGSUM:
  case OP_REDUCELOGSUMEXP:
  case OP_REDUCESUMSQUARE: return reduce(e);
  case OP_ARGMAX:
  case OP_ARGMIN: return argmax(e);
  case OP_SOFTMAX:
  case OP_LOGSOFTMAX:
  case OP_HARDMAX: return softmax(e);
  case OP_CUMSUM: return cumsum(e);
  case OP_GLOBALAVGPOOL:
  case OP_GLOBALMAXPOOL: return global_pool(e);
  case OP_BATCHNORM: return batchnorm(e);
  case OP_LAYERNORM: return layernorm(e);
  case OP_INSTANCENORM: {
    const HostTensor *x = ev_in(e, 0);
    return groupnorm(e, x && x->rank >= 2 ? x->dims[1] : 1);
  }
  case OP_GROUPNORM: return groupnorm(e, e->n->a.num_groups);
  case OP_LRN: return lrn(e);
  case OP_MVN: return mvn(e);
  case OP_DYNQUANTIZELINEAR: return dynquant(e);
  case OP_NLLLOSS:
  case OP_SCELOSS: return losses(e);
  default:
    diag_error(e->d, e->where, "internal: %s is not a reduction", op_name(e->n->op));
    return RC_INTERNAL;
  }
}
