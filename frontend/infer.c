/*
 * infer.c: shape inference and constant folding over a sorted graph, and
 * graph_import_text (a graph dump read back and checked by the same walk;
 * a dump's Reshape and Resize carry their taken inputs as attributes).
 *
 * One walk in topological order.  For each node it:
 *   1. takes the values that opset 10+ passes as constant inputs (Clip
 *      bounds, Slice ranges, Squeeze/Unsqueeze axes, Reshape's shape,
 *      Resize's scales or sizes) into typed attributes, and drops those
 *      inputs, so after this pass every input is data;
 *   2. computes each output's element type and shape by the ONNX rules,
 *      resolving auto_pad into explicit pads;
 *   3. folds the node when every input is a constant with data (Shape and
 *      Size fold from the shape alone), by evaluating it with host_eval:
 *      its outputs become constants and the node dies.  This is what makes
 *      exported shape sub-graphs (Shape -> Gather -> Concat -> Reshape),
 *      ConstantOfShape and comparisons on constants disappear.  An If on a
 *      constant condition is replaced by its branch (shapes.c).
 * The rules of the ops beyond the first 37, control flow and the policy
 * for data-dependent shapes are in shapes.c.  After the walk every live
 * tensor has a static shape, or the pass failed.
 */
#include "frontend/internal.h"

#include "host/host.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

Tensor *inf_in(Ctx *c, int i) {
  return i < c->n->nin && c->n->in[i] ? &c->m->tensors[c->n->in[i]] : NULL;
}

Tensor *inf_out(Ctx *c, int i) {
  return i < c->n->nout && c->n->out[i] ? &c->m->tensors[c->n->out[i]] : NULL;
}

void inf_set_out(Ctx *c, int i, DType dt, int rank, const int64_t *dims) {
  Tensor *t = inf_out(c, i);
  if (!t) return;
  t->dtype = dt;
  t->rank = rank;
  for (int k = 0; k < NAASC_MAX_RANK; k++) t->dims[k] = k < rank ? dims[k] : -1;
}

bool inf_need(Ctx *c, int lo, int hi) {
  int present = 0;
  for (int i = 0; i < c->n->nin; i++) present += c->n->in[i] != 0;
  if (c->n->nin < lo || !c->n->in[0])
    FAIL("%s needs at least %d input%s", op_name(c->n->op), lo, lo == 1 ? "" : "s");
  if (hi >= 0 && c->n->nin > hi)
    FAIL("%s takes at most %d inputs, not %d", op_name(c->n->op), hi, c->n->nin);
  for (int i = 0; i < lo; i++)
    if (!c->n->in[i]) FAIL("%s input %d is required", op_name(c->n->op), i);
  (void)present;
  return true;
}

int64_t inf_norm_axis(int64_t axis, int rank) { return axis < 0 ? axis + rank : axis; }

bool inf_axis_ok(Ctx *c, int64_t *axis, int rank, const char *what) {
  int64_t a = inf_norm_axis(*axis, rank);
  if (a < 0 || a >= rank) FAIL("%s %" PRId64 " is out of range for rank %d", what, *axis, rank);
  *axis = a;
  return true;
}

/* Reads constant input i as up to max integers; *n = count; absent input: *n = -1. */
bool inf_const_ints(Ctx *c, int i, int64_t *v, int max, int *n) {
  Tensor *t = inf_in(c, i);
  *n = -1;
  if (!t) return true;
  if (!tensor_is_const(t))
    FAIL("input %d ('%s') of %s must be a constant (naasc needs static shapes)", i, t->name,
         op_name(c->n->op));
  int64_t k = tensor_numel(t);
  if (k > max) FAIL("input %d ('%s') has %" PRId64 " values, more than %d", i, t->name, k, max);
  for (int64_t j = 0; j < k; j++) v[j] = tensor_get_i(t, j);
  *n = (int)k;
  return true;
}

bool inf_const_floats(Ctx *c, int i, float *v, int max, int *n) {
  Tensor *t = inf_in(c, i);
  *n = -1;
  if (!t) return true;
  if (!tensor_is_const(t))
    FAIL("input %d ('%s') of %s must be a constant", i, t->name, op_name(c->n->op));
  int64_t k = tensor_numel(t);
  if (k > max) FAIL("input %d ('%s') has %" PRId64 " values, more than %d", i, t->name, k, max);
  for (int64_t j = 0; j < k; j++) v[j] = (float)tensor_get_f(t, j);
  *n = (int)k;
  return true;
}

void inf_keep(Ctx *c, int k) {
  if (c->n->nin > k) c->n->nin = k;
}

/* "[2,3,4]" into buf (a shape in an error message). */
static const char *dims_text(char *buf, size_t n, int rank, const int64_t *dims) {
  size_t k = (size_t)snprintf(buf, n, "[");
  for (int i = 0; i < rank && k < n; i++)
    k += (size_t)snprintf(buf + k, n - k, "%s%" PRId64, i ? "," : "", dims[i]);
  if (k < n) snprintf(buf + k, n - k, "]");
  return buf;
}

/* numpy multidirectional broadcasting of all present inputs into dims. */
bool inf_broadcast(Ctx *c, int first, int last, int *rank, int64_t *dims) {
  int r = 0;
  for (int i = first; i <= last; i++) {
    Tensor *t = inf_in(c, i);
    if (t && t->rank > r) r = t->rank;
  }
  for (int k = 0; k < r; k++) dims[k] = 1;
  for (int i = first; i <= last; i++) {
    Tensor *t = inf_in(c, i);
    if (!t) continue;
    for (int k = 0; k < t->rank; k++) {
      int64_t dv = t->dims[k], *o = &dims[r - t->rank + k];
      if (dv == *o || dv == 1) continue;
      if (*o == 1) {
        *o = dv;
        continue;
      }
      {
        char ts[160], os[160];
        FAIL("cannot broadcast input '%s' %s against %s (the shapes align from the last dim: its "
             "dim %d is %" PRId64 " where the others have %" PRId64 ")",
             t->name, dims_text(ts, sizeof ts, t->rank, t->dims), dims_text(os, sizeof os, r, dims),
             k, dv, *o);
      }
    }
  }
  *rank = r;
  return true;
}

/* Output size of a sliding window along one axis, after auto_pad is resolved. */
static bool window(Ctx *c, int64_t in, int64_t k, int64_t s, int64_t dl, int64_t *pb, int64_t *pe,
                   AutoPad ap, bool ceil_mode, int64_t *out) {
  if (k <= 0 || s <= 0 || dl <= 0) FAIL("kernel, strides and dilations must be positive");
  int64_t ek = (k - 1) * dl + 1;
  if (ap == PAD_SAME_UPPER || ap == PAD_SAME_LOWER) {
    int64_t o = (in + s - 1) / s;
    int64_t total = (o - 1) * s + ek - in;
    if (total < 0) total = 0;
    *pb = ap == PAD_SAME_UPPER ? total / 2 : total - total / 2;
    *pe = total - *pb;
  } else if (ap == PAD_VALID) {
    *pb = *pe = 0;
  }
  if (*pb < 0 || *pe < 0) FAIL("pads must not be negative");
  int64_t span = in + *pb + *pe - ek;
  if (span < 0)
    FAIL("the window (%" PRId64 " with dilation) is larger than the padded input (%" PRId64 ")", ek,
         in + *pb + *pe);
  *out = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
  return true;
}

bool inf_window_op(Ctx *c, Tensor *x, Tensor *w, Tensor *b) {
  bool conv = w && c->n->op != OP_CONVTRANSPOSE;
  Attrs *a = &c->n->a;
  int nsp = x->rank - 2;
  if (x->rank < 3)
    FAIL("input '%s' has rank %d; %s needs N, C and spatial dims", x->name, x->rank,
         op_name(c->n->op));
  if (a->nsp == 0 && w) {
    a->nsp = w->rank - 2;
    for (int i = 0; i < a->nsp; i++) a->kernel[i] = w->dims[i + 2];
  }
  if (a->nsp != nsp)
    FAIL("kernel_shape has %d dims but the input has %d spatial dims", a->nsp, nsp);
  int64_t dims[NAASC_MAX_RANK];
  dims[0] = x->dims[0];
  for (int i = 0; i < nsp; i++) {
    if (c->n->op == OP_CONVTRANSPOSE) {
      int64_t s = a->strides[i], k = a->kernel[i], dl = a->dilations[i], in = x->dims[i + 2];
      if (k <= 0 || s <= 0 || dl <= 0) FAIL("kernel, strides and dilations must be positive");
      int64_t ek = (k - 1) * dl + 1, full = s * (in - 1) + a->out_pad[i] + ek;
      int64_t o;
      if (a->has_out_shape || a->auto_pad == PAD_SAME_UPPER || a->auto_pad == PAD_SAME_LOWER) {
        o = a->has_out_shape ? a->out_shape[i] : in * s;
        /* ONNX ConvTranspose: total = full - output; SAME_UPPER: begin = total/2, otherwise
         * begin = total - total/2 (a negative total widens the output; floor division). */
        int64_t total = full - o, half = total >= 0 ? total / 2 : -((-total + 1) / 2);
        a->pads[i] = a->auto_pad == PAD_SAME_UPPER ? half : total - half;
        a->pads[i + nsp] = total - a->pads[i];
      } else {
        if (a->auto_pad == PAD_VALID) a->pads[i] = a->pads[i + nsp] = 0;
        o = full - a->pads[i] - a->pads[i + nsp];
      }
      if (o <= 0) FAIL("output dim %d would be %" PRId64, i + 2, o);
      dims[i + 2] = o;
    } else if (!window(c, x->dims[i + 2], a->kernel[i], a->strides[i], a->dilations[i], &a->pads[i],
                       &a->pads[i + nsp], a->auto_pad, a->ceil_mode, &dims[i + 2])) {
      return false;
    }
  }
  a->auto_pad = PAD_NOTSET;
  a->has_out_shape = false;
  if (conv) {
    if (w->rank != x->rank)
      FAIL("weight '%s' has rank %d, input has rank %d", w->name, w->rank, x->rank);
    for (int i = 0; i < nsp; i++)
      if (w->dims[i + 2] != a->kernel[i]) FAIL("kernel_shape disagrees with weight '%s'", w->name);
    if (a->group <= 0 || x->dims[1] % a->group || w->dims[0] % a->group)
      FAIL("group %" PRId64 " does not divide the channels (%" PRId64 " in, %" PRId64 " out)",
           a->group, x->dims[1], w->dims[0]);
    if (w->dims[1] * a->group != x->dims[1])
      FAIL("weight '%s' expects %" PRId64 " input channels per group, input has %" PRId64
           " in %" PRId64 " groups",
           w->name, w->dims[1], x->dims[1], a->group);
    dims[1] = w->dims[0];
  } else if (c->n->op == OP_CONVTRANSPOSE) {
    if (w->rank != x->rank)
      FAIL("weight '%s' has rank %d, input has rank %d", w->name, w->rank, x->rank);
    if (w->dims[0] != x->dims[1])
      FAIL("weight '%s' expects %" PRId64 " input channels, input has %" PRId64, w->name,
           w->dims[0], x->dims[1]);
    if (a->group <= 0 || x->dims[1] % a->group)
      FAIL("group %" PRId64 " does not divide the %" PRId64 " input channels", a->group,
           x->dims[1]);
    for (int i = 0; i < nsp; i++)
      if (w->dims[i + 2] != a->kernel[i]) FAIL("kernel_shape disagrees with weight '%s'", w->name);
    dims[1] = w->dims[1] * a->group;
  } else {
    dims[1] = x->dims[1];
  }
  if (b && (b->rank != 1 || b->dims[0] != dims[1]))
    FAIL("bias '%s' must have %" PRId64 " elements", b->name, dims[1]);
  inf_set_out(c, 0, x->dtype, x->rank, dims);
  return true;
}

static bool infer_slice_params(Ctx *c, Tensor *x) {
  Attrs *a = &c->n->a;
  if (a->naxes == -1) { /* opset 10+: from inputs */
    int ns, ne, na, nst;
    if (!inf_const_ints(c, 1, a->starts, NAASC_MAX_RANK, &ns) ||
        !inf_const_ints(c, 2, a->ends, NAASC_MAX_RANK, &ne) ||
        !inf_const_ints(c, 3, a->axes, NAASC_MAX_RANK, &na) ||
        !inf_const_ints(c, 4, a->steps, NAASC_MAX_RANK, &nst))
      return false;
    if (ns < 0 || ne < 0) FAIL("Slice needs starts and ends");
    if (ns != ne || (na >= 0 && na != ns) || (nst >= 0 && nst != ns))
      FAIL("Slice starts, ends, axes and steps lengths disagree");
    a->naxes = ns;
    for (int i = 0; i < ns; i++) {
      if (na < 0) a->axes[i] = i;
      if (nst < 0) a->steps[i] = 1;
    }
    inf_keep(c, 1);
  }
  for (int i = 0; i < a->naxes; i++) {
    if (!inf_axis_ok(c, &a->axes[i], x->rank, "Slice axis")) return false;
    for (int j = 0; j < i; j++)
      if (a->axes[j] == a->axes[i]) FAIL("Slice axis %" PRId64 " repeats", a->axes[i]);
    if (a->steps[i] == 0) FAIL("Slice step must not be 0");
  }
  return true;
}

/* Clamps one Slice axis (ONNX rules); returns the element count. */
static int64_t slice_range(int64_t dim, int64_t *start, int64_t *end, int64_t step) {
  int64_t s = *start, e = *end;
  if (s < 0) s = s < -dim ? (step > 0 ? 0 : -1) : s + dim;
  if (e < 0) e = e < -dim ? -1 : e + dim;
  if (step > 0) {
    if (s > dim) s = dim;
    if (e > dim) e = dim;
    if (s < 0) s = 0;
    if (e < 0) e = 0;
  } else {
    if (s > dim - 1) s = dim - 1;
    if (e > dim - 1) e = dim - 1;
  }
  *start = s;
  *end = e;
  int64_t cnt = step > 0 ? (e - s + step - 1) / step : (s - e + (-step) - 1) / (-step);
  return cnt > 0 ? cnt : 0;
}

bool inf_matmul(Ctx *c, Tensor *A, Tensor *B, int *rank, int64_t *dims) {
  if (A->rank < 1 || B->rank < 1) FAIL("MatMul inputs must have rank 1 or more");
  int64_t ad[NAASC_MAX_RANK + 1], bd[NAASC_MAX_RANK + 1];
  int ar = A->rank, br = B->rank;
  memcpy(ad, A->dims, sizeof(int64_t) * (size_t)ar);
  memcpy(bd, B->dims, sizeof(int64_t) * (size_t)br);
  if (ar == 1) {
    ad[1] = ad[0];
    ad[0] = 1;
    ar = 2;
  }
  if (br == 1) {
    bd[1] = 1;
    br = 2;
  }
  if (ad[ar - 1] != bd[br - 2]) {
    char as[160], bs[160];
    FAIL("MatMul inner dims disagree: '%s' %s x '%s' %s (%" PRId64 " vs %" PRId64 ")", A->name,
         dims_text(as, sizeof as, A->rank, A->dims), B->name,
         dims_text(bs, sizeof bs, B->rank, B->dims), ad[ar - 1], bd[br - 2]);
  }
  int r = ar > br ? ar : br;
  for (int k = 0; k < r - 2; k++) {
    int ia = k - (r - ar), ib = k - (r - br);
    int64_t x = ia >= 0 ? ad[ia] : 1, y = ib >= 0 ? bd[ib] : 1;
    if (x != y && x != 1 && y != 1) {
      char as[160], bs[160];
      FAIL("MatMul batch dims do not broadcast: '%s' %s x '%s' %s (batch dim %d: %" PRId64
           " vs %" PRId64 ")",
           A->name, dims_text(as, sizeof as, A->rank, A->dims), B->name,
           dims_text(bs, sizeof bs, B->rank, B->dims), k, x, y);
    }
    dims[k] = x == 1 ? y : x;
  }
  int o = r - 2;
  if (A->rank != 1) dims[o++] = ad[ar - 2];
  if (B->rank != 1) dims[o++] = bd[br - 1];
  *rank = o;
  return true;
}

/* Shape inference of one node.  Returns false on error (reported). */
static bool infer_node(Ctx *c) {
  Node *n = c->n;
  Attrs *a = &n->a;
  Tensor *x = inf_in(c, 0);
  int64_t dims[NAASC_MAX_RANK];
  int rank;
  switch (n->op) {
  case OP_CONV:
  case OP_CONVTRANSPOSE:
    if (!inf_need(c, 2, 3)) return false;
    return inf_window_op(c, x, inf_in(c, 1), inf_in(c, 2));
  case OP_MAXPOOL:
  case OP_AVGPOOL:
    if (!inf_need(c, 1, 1)) return false;
    return inf_window_op(c, x, NULL, NULL);
  case OP_GLOBALAVGPOOL:
    if (!inf_need(c, 1, 1)) return false;
    if (x->rank < 3) FAIL("input '%s' has rank %d; needs N, C and spatial dims", x->name, x->rank);
    memcpy(dims, x->dims, sizeof dims);
    for (int i = 2; i < x->rank; i++) dims[i] = 1;
    inf_set_out(c, 0, x->dtype, x->rank, dims);
    return true;
  case OP_GEMM: {
    if (!inf_need(c, 2, 3)) return false;
    Tensor *B = inf_in(c, 1);
    if (x->rank != 2 || B->rank != 2) FAIL("Gemm inputs must be 2-D");
    int64_t M = a->trans_a ? x->dims[1] : x->dims[0], K = a->trans_a ? x->dims[0] : x->dims[1];
    int64_t K2 = a->trans_b ? B->dims[1] : B->dims[0], N = a->trans_b ? B->dims[0] : B->dims[1];
    if (K != K2) FAIL("Gemm inner dims disagree: %" PRId64 " vs %" PRId64, K, K2);
    dims[0] = M;
    dims[1] = N;
    Tensor *C = inf_in(c, 2);
    if (C) {
      if (C->rank > 2) FAIL("Gemm C has rank %d", C->rank);
      for (int k = 0; k < C->rank; k++) {
        int64_t want = dims[2 - C->rank + k];
        if (C->dims[k] != 1 && C->dims[k] != want)
          FAIL("Gemm C does not broadcast to [%" PRId64 ",%" PRId64 "]", M, N);
      }
    }
    inf_set_out(c, 0, x->dtype, 2, dims);
    return true;
  }
  case OP_MATMUL:
    if (!inf_need(c, 2, 2)) return false;
    if (!inf_matmul(c, x, inf_in(c, 1), &rank, dims)) return false;
    inf_set_out(c, 0, x->dtype, rank, dims);
    return true;
  case OP_BATCHNORM:
    if (!inf_need(c, 5, 5)) return false;
    if (x->rank < 2) FAIL("BatchNormalization input must have rank 2 or more");
    for (int i = 1; i < 5; i++) {
      Tensor *p = inf_in(c, i);
      if (p->rank != 1 || p->dims[0] != x->dims[1])
        FAIL("BatchNormalization input %d ('%s') must have %" PRId64 " elements", i, p->name,
             x->dims[1]);
    }
    inf_set_out(c, 0, x->dtype, x->rank, x->dims);
    return true;
  case OP_CLIP: {
    if (!inf_need(c, 1, 3)) return false;
    float v[1];
    int k;
    /* A bound computed at run time (a ReduceMax of the input, say): the
     * inputs stay, and the node runs on the host (lower.c). */
    for (int i = 1; i < 3; i++) {
      Tensor *b = inf_in(c, i);
      if (b && !tensor_is_const(b)) {
        if (tensor_numel(b) != 1) FAIL("input %d ('%s') of Clip must have one element", i, b->name);
        inf_set_out(c, 0, x->dtype, x->rank, x->dims);
        return true;
      }
    }
    if (!inf_const_floats(c, 1, v, 1, &k)) return false;
    if (k == 1) a->clip_min = v[0];
    if (!inf_const_floats(c, 2, v, 1, &k)) return false;
    if (k == 1) a->clip_max = v[0];
    inf_keep(c, 1);
    inf_set_out(c, 0, x->dtype, x->rank, x->dims);
    return true;
  }
  case OP_RELU:
  case OP_LEAKYRELU:
  case OP_HARDSIGMOID:
  case OP_HARDSWISH:
  case OP_SIGMOID:
  case OP_SQRT:
  case OP_IDENTITY:
    if (!inf_need(c, 1, 1)) return false;
    inf_set_out(c, 0, x->dtype, x->rank, x->dims);
    return true;
  case OP_DROPOUT: {
    if (!inf_need(c, 1, 3)) return false;
    Tensor *tm = inf_in(c, 2);
    if (tm && (!tensor_is_const(tm) || tensor_get_i(tm, 0) != 0))
      FAIL("unsupported Dropout in training mode (training_mode must be a constant false)");
    inf_keep(c, 1);
    inf_set_out(c, 0, x->dtype, x->rank, x->dims);
    inf_set_out(c, 1, DT_BOOL, x->rank, x->dims);
    return true;
  }
  case OP_ADD:
  case OP_SUB:
  case OP_MUL:
  case OP_DIV:
  case OP_POW:
    if (!inf_need(c, 2, 2)) return false;
    if (!inf_broadcast(c, 0, 1, &rank, dims)) return false;
    inf_set_out(c, 0, x->dtype, rank, dims);
    return true;
  case OP_MAX:
    if (!inf_need(c, 1, -1)) return false;
    if (!inf_broadcast(c, 0, n->nin - 1, &rank, dims)) return false;
    inf_set_out(c, 0, x->dtype, rank, dims);
    return true;
  case OP_SOFTMAX:
    if (!inf_need(c, 1, 1)) return false;
    if (!inf_axis_ok(c, &a->axis, x->rank, "Softmax axis")) return false;
    inf_set_out(c, 0, x->dtype, x->rank, x->dims);
    return true;
  case OP_REDUCEMEAN: {
    if (!inf_need(c, 1, 2)) return false;
    if (n->nin > 1 && n->in[1]) { /* opset 18: axes as an input */
      int k;
      if (!inf_const_ints(c, 1, a->axes, NAASC_MAX_RANK, &k)) return false;
      a->naxes = k;
    }
    inf_keep(c, 1);
    if (a->naxes <= 0 && a->noop_empty) {
      inf_set_out(c, 0, x->dtype, x->rank, x->dims);
      return true;
    }
    bool red[NAASC_MAX_RANK] = {0};
    if (a->naxes <= 0) {
      a->naxes = x->rank;
      for (int i = 0; i < x->rank; i++) a->axes[i] = i;
    }
    for (int i = 0; i < a->naxes; i++) {
      if (!inf_axis_ok(c, &a->axes[i], x->rank, "ReduceMean axis")) return false;
      red[a->axes[i]] = true;
    }
    rank = 0;
    for (int i = 0; i < x->rank; i++) {
      if (!red[i])
        dims[rank++] = x->dims[i];
      else if (a->keepdims)
        dims[rank++] = 1;
    }
    inf_set_out(c, 0, x->dtype, rank, dims);
    return true;
  }
  case OP_RESIZE: {
    if (!inf_need(c, 1, 4)) return false;
    float sc[NAASC_MAX_RANK];
    int64_t sz[NAASC_MAX_RANK];
    int ns = -1, nz = -1;
    int si = c->m->opset < 11 ? 1 : 2;
    if (!inf_const_floats(c, si, sc, NAASC_MAX_RANK, &ns)) return false;
    if (c->m->opset >= 11 && !inf_const_ints(c, 3, sz, NAASC_MAX_RANK, &nz)) return false;
    double span[NAASC_MAX_RANK]; /* the roi's extent per axis (tf_crop_and_resize), else 1 */
    for (int i = 0; i < NAASC_MAX_RANK; i++) span[i] = 1;
    if (a->rz_coord == RZC_TF_CROP_AND_RESIZE) {
      int nr;
      if (!inf_const_floats(c, 1, a->rz_roi, 2 * NAASC_MAX_RANK, &nr)) return false;
      if (nr != 2 * x->rank)
        FAIL("Resize tf_crop_and_resize needs a roi of %d values", 2 * x->rank);
      for (int i = 0; i < x->rank; i++) span[i] = (double)a->rz_roi[x->rank + i] - a->rz_roi[i];
    }
    if (nz > 0) {
      if (nz != x->rank) FAIL("Resize sizes has %d values for rank %d", nz, x->rank);
      for (int i = 0; i < x->rank; i++) {
        dims[i] = sz[i];
        a->rz_scales[i] = (float)sz[i] / (float)x->dims[i];
        a->rz_from_sizes = true;
      }
    } else if (ns > 0) {
      if (ns != x->rank) FAIL("Resize scales has %d values for rank %d", ns, x->rank);
      for (int i = 0; i < x->rank; i++) {
        if (!(sc[i] > 0)) FAIL("Resize scale %d must be positive", i);
        double len = floor((double)x->dims[i] * span[i] * sc[i]); /* converted only once it fits */
        if (!(len <= (double)NAASC_MAX_ELEMS))
          FAIL("Resize scale %d makes dim %d %.4g long, more than 2^31", i, i, len);
        dims[i] = (int64_t)len;
        a->rz_scales[i] = sc[i];
      }
    } else if (a->rz_scales[0] > 0 && inf_out(c, 0) && inf_out(c, 0)->rank == x->rank) {
      /* a graph dump (graph_parse): the scales were taken from the inputs on
       * import and the output's type is declared; checked against them */
      const Tensor *o = inf_out(c, 0);
      for (int i = 0; i < x->rank; i++) {
        dims[i] = o->dims[i];
        double len = floor((double)x->dims[i] * span[i] * a->rz_scales[i]);
        bool ok = a->rz_from_sizes ? a->rz_scales[i] == (float)o->dims[i] / (float)x->dims[i]
                                   : len == (double)o->dims[i];
        if (!ok) FAIL("Resize scale %d does not give the declared dim %" PRId64, i, o->dims[i]);
      }
    } else {
      FAIL("Resize needs scales or sizes");
    }
    inf_keep(c, 1);
    inf_set_out(c, 0, x->dtype, x->rank, dims);
    return true;
  }
  case OP_CONCAT: {
    if (!inf_need(c, 1, -1)) return false;
    if (!inf_axis_ok(c, &a->axis, x->rank, "Concat axis")) return false;
    memcpy(dims, x->dims, sizeof dims);
    dims[a->axis] = 0;
    for (int i = 0; i < n->nin; i++) {
      Tensor *t = inf_in(c, i);
      if (!t) FAIL("Concat input %d is missing", i);
      if (t->rank != x->rank)
        FAIL("Concat input '%s' has rank %d, expected %d", t->name, t->rank, x->rank);
      for (int k = 0; k < x->rank; k++)
        if (k != a->axis && t->dims[k] != x->dims[k])
          FAIL("Concat input '%s' dim %d is %" PRId64 ", expected %" PRId64, t->name, k, t->dims[k],
               x->dims[k]);
      dims[a->axis] += t->dims[a->axis];
    }
    inf_set_out(c, 0, x->dtype, x->rank, dims);
    return true;
  }
  case OP_RESHAPE: {
    int64_t sh[NAASC_MAX_RANK];
    int k;
    const Tensor *decl = inf_out(c, 0);
    if (n->nin == 1 && decl && tensor_shape_known(decl)) {
      /* its shape taken already (a graph dump, graph_parse): the declared
       * output's, checked below as any shape */
      k = decl->rank;
      memcpy(sh, decl->dims, sizeof(int64_t) * (size_t)k);
    } else {
      if (!inf_need(c, 2, 2)) return false;
      if (!inf_const_ints(c, 1, sh, NAASC_MAX_RANK, &k)) return false;
    }
    int64_t known = 1, total = tensor_numel(x);
    int infer_at = -1;
    for (int i = 0; i < k; i++) {
      if (sh[i] == 0 && !a->allowzero) {
        if (i >= x->rank) FAIL("Reshape shape[%d] = 0 copies a dim the input does not have", i);
        sh[i] = x->dims[i];
      }
      if (sh[i] == -1) {
        if (infer_at >= 0) FAIL("Reshape shape has more than one -1");
        infer_at = i;
      } else if (sh[i] <= 0) {
        FAIL("Reshape shape[%d] = %" PRId64 " is not a valid dim", i, sh[i]);
      } else if (!ck_mul_i64(known, sh[i], &known)) {
        FAIL("Reshape shape overflows 64 bits at shape[%d] = %" PRId64, i, sh[i]);
      }
    }
    if (infer_at >= 0) {
      if (total % known)
        FAIL("Reshape cannot infer the -1 dim: %" PRId64 " elements do not divide by %" PRId64,
             total, known);
      sh[infer_at] = total / known;
      known *= sh[infer_at];
    }
    if (known != total) FAIL("Reshape to %" PRId64 " elements from %" PRId64, known, total);
    inf_keep(c, 1);
    inf_set_out(c, 0, x->dtype, k, sh);
    return true;
  }
  case OP_FLATTEN: {
    if (!inf_need(c, 1, 1)) return false;
    int64_t ax = inf_norm_axis(a->axis, x->rank);
    if (ax < 0 || ax > x->rank)
      FAIL("Flatten axis %" PRId64 " is out of range for rank %d", a->axis, x->rank);
    a->axis = ax;
    dims[0] = dims[1] = 1;
    for (int i = 0; i < x->rank; i++) dims[i < ax ? 0 : 1] *= x->dims[i];
    inf_set_out(c, 0, x->dtype, 2, dims);
    return true;
  }
  case OP_TRANSPOSE: {
    if (!inf_need(c, 1, 1)) return false;
    if (a->naxes < 0) {
      a->naxes = x->rank;
      for (int i = 0; i < x->rank; i++) a->axes[i] = x->rank - 1 - i;
    }
    if (a->naxes != x->rank) FAIL("Transpose perm has %d entries for rank %d", a->naxes, x->rank);
    bool seen[NAASC_MAX_RANK] = {0};
    for (int i = 0; i < x->rank; i++) {
      if (!inf_axis_ok(c, &a->axes[i], x->rank, "Transpose perm entry")) return false;
      if (seen[a->axes[i]]) FAIL("Transpose perm repeats %" PRId64, a->axes[i]);
      seen[a->axes[i]] = true;
      dims[i] = x->dims[a->axes[i]];
    }
    inf_set_out(c, 0, x->dtype, x->rank, dims);
    return true;
  }
  case OP_SQUEEZE:
  case OP_UNSQUEEZE: {
    if (!inf_need(c, 1, 2)) return false;
    if (n->nin > 1 && n->in[1]) {
      int k;
      if (!inf_const_ints(c, 1, a->axes, NAASC_MAX_RANK, &k)) return false;
      a->naxes = k;
    }
    inf_keep(c, 1);
    if (n->op == OP_SQUEEZE) {
      bool drop[NAASC_MAX_RANK] = {0};
      if (a->naxes < 0) {
        a->naxes = 0;
        for (int i = 0; i < x->rank; i++)
          if (x->dims[i] == 1) a->axes[a->naxes++] = i;
      }
      for (int i = 0; i < a->naxes; i++) {
        if (!inf_axis_ok(c, &a->axes[i], x->rank, "Squeeze axis")) return false;
        if (x->dims[a->axes[i]] != 1)
          FAIL("Squeeze axis %" PRId64 " has size %" PRId64 ", not 1", a->axes[i],
               x->dims[a->axes[i]]);
        drop[a->axes[i]] = true;
      }
      rank = 0;
      for (int i = 0; i < x->rank; i++)
        if (!drop[i]) dims[rank++] = x->dims[i];
    } else {
      if (a->naxes < 0) FAIL("Unsqueeze needs axes");
      rank = x->rank + a->naxes;
      if (rank > NAASC_MAX_RANK)
        FAIL("Unsqueeze gives rank %d, more than %d", rank, NAASC_MAX_RANK);
      bool ins[NAASC_MAX_RANK] = {0};
      for (int i = 0; i < a->naxes; i++) {
        if (!inf_axis_ok(c, &a->axes[i], rank, "Unsqueeze axis")) return false;
        if (ins[a->axes[i]]) FAIL("Unsqueeze axis %" PRId64 " repeats", a->axes[i]);
        ins[a->axes[i]] = true;
      }
      for (int i = 0, j = 0; i < rank; i++) dims[i] = ins[i] ? 1 : x->dims[j++];
    }
    inf_set_out(c, 0, x->dtype, rank, dims);
    return true;
  }
  case OP_SLICE: {
    if (!inf_need(c, 1, 5)) return false;
    if (!infer_slice_params(c, x)) return false;
    memcpy(dims, x->dims, sizeof dims);
    for (int i = 0; i < a->naxes; i++) {
      int64_t ax = a->axes[i];
      dims[ax] = slice_range(x->dims[ax], &a->starts[i], &a->ends[i], a->steps[i]);
    }
    inf_set_out(c, 0, x->dtype, x->rank, dims);
    return true;
  }
  case OP_SHAPE: {
    if (!inf_need(c, 1, 1)) return false;
    int64_t s = a->shape_start, e = a->shape_end;
    if (s < 0) s += x->rank;
    if (e < 0) e += x->rank;
    if (s < 0) s = 0;
    if (s > x->rank) s = x->rank;
    if (e > x->rank) e = x->rank;
    if (e < s) e = s;
    a->shape_start = s;
    a->shape_end = e;
    dims[0] = e - s;
    inf_set_out(c, 0, DT_I64, 1, dims);
    return true;
  }
  case OP_GATHER: {
    if (!inf_need(c, 2, 2)) return false;
    Tensor *idx = inf_in(c, 1);
    if (idx->dtype != DT_I64 && idx->dtype != DT_I32) FAIL("Gather indices must be i32 or i64");
    if (!inf_axis_ok(c, &a->axis, x->rank, "Gather axis")) return false;
    rank = x->rank - 1 + idx->rank;
    if (rank > NAASC_MAX_RANK) FAIL("Gather gives rank %d", rank);
    int o = 0;
    for (int i = 0; i < a->axis; i++) dims[o++] = x->dims[i];
    for (int i = 0; i < idx->rank; i++) dims[o++] = idx->dims[i];
    for (int i = (int)a->axis + 1; i < x->rank; i++) dims[o++] = x->dims[i];
    inf_set_out(c, 0, x->dtype, rank, dims);
    return true;
  }
  case OP_CAST:
    if (!inf_need(c, 1, 1)) return false;
    inf_set_out(c, 0, a->to, x->rank, x->dims);
    return true;
  default: return infer_op(c);
  }
}

/* ---- the walk: inference, then folding through host/ ------------------ */

static bool inputs_const(Ctx *c, Tensor **first_var) {
  *first_var = NULL;
  for (int k = 0; k < c->n->nin; k++) {
    Tensor *t = inf_in(c, k);
    if (t && !tensor_is_const(t)) {
      *first_var = t;
      return false;
    }
  }
  return true;
}

/* Shape and Size fold from the input's shape alone. */
static bool fold_shape(Ctx *c) {
  Node *n = c->n;
  Tensor *x = inf_in(c, 0), *o = inf_out(c, 0);
  if (!o) {
    n->dead = true;
    return true;
  }
  int64_t cnt = n->op == OP_SIZE ? 1 : o->dims[0];
  int64_t *v = arena_alloc(&c->m->arena, sizeof(int64_t) * (size_t)(cnt ? cnt : 1));
  if (!v) FAIL("out of memory");
  if (n->op == OP_SIZE)
    v[0] = tensor_numel(x);
  else
    for (int64_t i = 0; i < cnt; i++) v[i] = x->dims[n->a.shape_start + i];
  o->data = v;
  o->kind = TK_CONST;
  o->producer = 0;
  n->dead = true;
  return true;
}

/* Evaluates the node with host_eval; its outputs become constants.  An
 * output whose shape inference left it unknown (rank -1) takes the
 * evaluated shape. */
static bool fold_node(Ctx *c) {
  Node *n = c->n;
  Arena scratch;
  arena_init(&scratch);
  HostTensor *in = xcalloc((size_t)(n->nin ? n->nin : 1), sizeof *in);
  HostTensor *out = xcalloc((size_t)(n->nout ? n->nout : 1), sizeof *out);
  bool ok = false;
  if (!in || !out) {
    diag_error(c->d, c->where, "out of memory");
    goto done;
  }
  for (int k = 0; k < n->nin; k++)
    if (n->in[k]) in[k] = host_view(&c->m->tensors[n->in[k]]);
  for (int k = 0; k < n->nout; k++) {
    if (!n->out[k]) continue;
    Tensor *t = &c->m->tensors[n->out[k]];
    out[k] = host_view(t);
    out[k].data = NULL;
    if (!tensor_shape_known(t)) out[k].rank = -1;
    if (out[k].dtype == DT_UNDEF) out[k].dtype = DT_F32; /* decided by the evaluator */
  }
  if (host_eval(c->m, n, in, n->nin, out, n->nout, &scratch, c->d) != RC_OK) goto done;
  for (int k = 0; k < n->nout; k++) {
    if (!n->out[k]) continue;
    Tensor *t = &c->m->tensors[n->out[k]];
    t->dtype = out[k].dtype;
    t->rank = out[k].rank;
    for (int q = 0; q < NAASC_MAX_RANK; q++) t->dims[q] = q < t->rank ? out[k].dims[q] : -1;
    int64_t cnt = tensor_numel(t);
    if (cnt < 0) {
      diag_error(c->d, c->where, "output '%s' has more than 2^31 elements", t->name);
      goto done;
    }
    size_t bytes = (size_t)cnt * dtype_size(t->dtype);
    t->data = arena_alloc(&c->m->arena, bytes ? bytes : 1);
    if (!t->data) {
      diag_error(c->d, c->where, "out of memory");
      goto done;
    }
    if (bytes) memcpy(t->data, out[k].data, bytes);
    t->kind = TK_CONST;
    t->producer = 0;
  }
  n->dead = true;
  ok = true;
done:
  xfree(in);
  xfree(out);
  arena_free(&scratch);
  return ok;
}

static const char *node_where(Model *m, const Node *n) {
  return m->scope ? arena_printf(&m->arena, "node '%s' in %s", n->name, m->scope)
                  : arena_printf(&m->arena, "node '%s'", n->name);
}

Rc graph_infer(Model *m, Diag *d) {
  for (uint32_t i = 1; i < m->nnodes; i++) {
    Node *n = &m->nodes[i];
    if (n->dead) continue;
    Ctx c = {m, d, n, i, node_where(m, n)};
    if (!c.where) return RC_INTERNAL;
    if (n->op == OP_HOST) {
      for (int k = 0; k < n->nout; k++) {
        Tensor *t = inf_out(&c, k);
        if (t && !tensor_shape_known(t)) {
          diag_error(
              d, c.where,
              "cannot infer the shape of output '%s' of unsupported op %s; declare it in the model's value_info",
              t->name, n->onnx_op);
          return RC_BADINPUT;
        }
      }
      continue;
    }
    for (int k = 0; k < n->nin; k++) {
      Tensor *t = inf_in(&c, k);
      if (t && !tensor_shape_known(t)) {
        diag_error(d, c.where, "input '%s' has no known shape", t->name);
        return RC_BADINPUT;
      }
    }
    if (!take_param_inputs(&c)) return RC_BADINPUT;
    /* Output 0 is required in ONNX for every op but control flow and the
     * recurrent layers (whose outputs are all optional; one of them must be
     * there): a node without it computes nothing anyone can use, and
     * lowering would write to no tensor. */
    bool rnn = n->op == OP_LSTM || n->op == OP_GRU || n->op == OP_RNN, any = false;
    for (int k = 0; k < n->nout; k++) any = any || n->out[k];
    if (rnn && !any) {
      diag_error(d, c.where, "%s has no output", op_name(n->op));
      return RC_BADINPUT;
    }
    if (!rnn && n->op != OP_IF && n->op != OP_LOOP && n->op != OP_SCAN &&
        (n->nout < 1 || !n->out[0])) {
      diag_error(d, c.where, "%s has no output 0 (its result is a required output)",
                 op_name(n->op));
      return RC_BADINPUT;
    }
    Tensor *var;
    bool all_const = inputs_const(&c, &var);
    if (n->op == OP_IF && inf_in(&c, 0) && tensor_is_const(inf_in(&c, 0))) {
      if (!inline_if(&c)) return RC_BADINPUT;
      continue; /* the branch's nodes follow, still to be inferred */
    }
    if (shape_from_data(&c)) {
      if (!all_const) {
        diag_error(
            d, c.where,
            "the output shape of %s depends on the values of input '%s', which are not known "
            "when compiling; naasc needs static shapes (bind the input with --input-data if it "
            "is fixed)",
            op_name(n->op), var ? var->name : "?");
        return RC_BADINPUT;
      }
      if (fold_work(m, n) > FOLD_WORK) {
        diag_error(
            d, c.where,
            "%s on constants is too much work to fold (its output shape depends on the result)",
            op_name(n->op));
        return RC_BADINPUT;
      }
      if (!fold_node(&c)) return RC_BADINPUT;
      continue;
    }
    if (!infer_node(&c)) return RC_BADINPUT;
    n = c.n = &m->nodes[i];
    bool from_data = false; /* a Loop whose trip count depends on its constant inputs */
    for (int k = 0; k < n->nout; k++)
      if (inf_out(&c, k) && !tensor_shape_known(inf_out(&c, k))) from_data = true;
    if (from_data) {
      if (!all_const || fold_work(m, n) > FOLD_WORK) {
        diag_error(d, c.where, "internal: %s has outputs of unknown shape", op_name(n->op));
        return RC_INTERNAL;
      }
      if (!fold_node(&c)) return RC_BADINPUT;
      continue;
    }
    bool fold = all_const || n->op == OP_SHAPE || n->op == OP_SIZE;
    for (int k = 0; k < n->nout; k++) {
      Tensor *t = inf_out(&c, k);
      if (!t) continue;
      int64_t numel = tensor_numel(t);
      if (numel < 0) {
        diag_error(d, c.where, "output '%s' has more than 2^31 elements", t->name);
        return RC_BADINPUT;
      }
      if (numel == 0 && !fold) {
        diag_error(d, c.where, "output '%s' is empty (a zero dim): empty tensors are not supported",
                   t->name);
        return RC_BADINPUT;
      }
      if (numel > FOLD_LIMIT) fold = false;
    }
    if (!fold) continue;
    if (n->op == OP_SHAPE || n->op == OP_SIZE) {
      if (!fold_shape(&c)) return RC_BADINPUT;
    } else if (fold_work(m, n) <= FOLD_WORK && !fold_node(&c)) {
      return RC_BADINPUT;
    }
  }
  return RC_OK;
}

/* The node outputs' types as the text declares them, to compare with
 * inference's (a dump prints inferred types, so a difference is an edited
 * or corrupt file, not something to overwrite silently). */
typedef struct {
  DType dtype;
  int rank;
  int64_t dims[NAASC_MAX_RANK];
} Declared;

static Declared *declared_types(const Model *g) {
  Declared *v = xmalloc(sizeof *v * (g->ntensors ? g->ntensors : 1));
  if (!v) return NULL;
  for (uint32_t t = 0; t < g->ntensors; t++) {
    v[t].dtype = g->tensors[t].dtype;
    v[t].rank = g->tensors[t].rank;
    memcpy(v[t].dims, g->tensors[t].dims, sizeof v[t].dims);
  }
  return v;
}

static void declared_str(const Declared *v, char *buf, size_t n) {
  size_t k = (size_t)snprintf(buf, n, "%s[", dtype_name(v->dtype));
  for (int q = 0; q < v->rank && k < n; q++)
    k += (size_t)snprintf(buf + k, n - k, "%s%" PRId64, q ? "," : "", v->dims[q]);
  if (k < n) snprintf(buf + k, n - k, v->rank < 0 ? "*]" : "]");
}

static Rc check_declared(const Model *g, const Declared *v, Diag *d) {
  for (uint32_t i = 1; i < g->nnodes; i++) {
    const Node *n = &g->nodes[i];
    for (int k = 0; k < n->nout; k++) {
      TensorId t = n->out[k];
      if (!t || t >= g->ntensors) continue;
      const Tensor *T = &g->tensors[t];
      bool same = T->dtype == v[t].dtype && T->rank == v[t].rank;
      for (int q = 0; same && q < T->rank; q++) same = T->dims[q] == v[t].dims[q];
      if (!same) {
        char a[160], b[160];
        Declared now = {T->dtype, T->rank, {0}};
        memcpy(now.dims, T->dims, sizeof now.dims);
        declared_str(&v[t], a, sizeof a);
        declared_str(&now, b, sizeof b);
        diag_error(d, NULL, "node '%s': output '%s' is declared %s but its inputs make it %s",
                   n->name, T->name, a, b);
        return RC_BADINPUT;
      }
    }
  }
  return RC_OK;
}

Rc graph_import_text(const char *text, size_t len, Model **out, Diag *d) {
  Rc rc = graph_parse(text, len, out, d);
  for (uint32_t i = 0; rc == RC_OK && i < (*out)->ninputs; i++) { /* as the ONNX importer */
    const Tensor *t = &(*out)->tensors[(*out)->inputs[i]];
    for (int k = 0; k < t->rank && rc == RC_OK; k++)
      if (t->dims[k] == 0) {
        diag_error(d, NULL, "input '%s': dimension %d is zero: empty tensors are not supported",
                   t->name, k);
        rc = RC_BADINPUT;
      }
  }
  if (rc == RC_OK) rc = graph_check(*out, d);
  Declared *decl = rc == RC_OK ? declared_types(*out) : NULL;
  if (rc == RC_OK && !decl) {
    diag_error(d, NULL, "out of memory");
    rc = RC_INTERNAL;
  }
  if (rc == RC_OK) rc = graph_infer(*out, d);
  if (rc == RC_OK) rc = check_declared(*out, decl, d);
  xfree(decl);
  if (rc != RC_OK && *out) {
    model_destroy(*out);
    *out = NULL;
  }
  return rc;
}
