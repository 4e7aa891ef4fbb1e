/*
 * qmac.c: integer mac layers (ConvInteger, QLinearConv, MatMulInteger, QLinearMatMul
 * lowered as mac nests, docs/ir.md "Integer mac nests"): u8 or i8 inputs
 * and weights, sums in 32 bits, bit-exact against the ONNX definition.
 *
 * How it runs (rt_qmac_run):
 *   1. I and W are widened to i32 words holding x - x_zero_point and
 *      w - w_zero_point, and the sums get an i32 buffer (O's own when O is
 *      i32).  The tensors point at these copies for the layer, typed i32.
 *      A zero point is the nest's parameter or its operand Xzp, Wzp
 *      (Yzp): a tensor of one element read now (computed at run time), or
 *      a vector along one index of the operand it belongs to (W's output
 *      channel, a matmul's row of A or column of B), read per element.
 *   2. The tiled executor (exec.c) walks the layer's mapping as for a float
 *      layer: its slots hold the 32-bit words as they are (tiles are copied
 *      with memcpy, padding is 0, i.e. the zero point, as ONNX pads), and
 *      each compute tile runs the kernel provider's i32 kernel (the LLVM
 *      JIT's codegen_kernel_i32, asked for with RT_KERNEL_I32, runtime.h)
 *      or, without one (--no-jit), kernel_ref_i32, the C reference that
 *      defines it.  Unmapped layers of no Problem and
 *      `naasc-run --reference` use rt_qmac_reference, a walk over every
 *      point of the nest.
 *   3. The epilogue adds the i32 bias and either stores the sums (i32 O) or
 *      requantizes them as ONNX Runtime does: y = saturate(round_half_even(
 *      (float)sum * scale) + y_zero_point), scale = x_scale * w_scale /
 *      y_scale in f32 (NestParams mac.scale, computed by the lowering);
 *      with a per-channel or run-time weight scale (operand Ws), a
 *      run-time x_scale (Xs, DynamicQuantizeLinear's scale) or a run-time
 *      y_scale (Ys) the multiplier is computed here, per run, as ONNX
 *      Runtime's QLinearConv and QLinearMatMul compute it, (x_scale *
 *      w_scale[c]) / y_scale in f32: (mac.scale * Xs * Ws[c]) / (Ys or
 *      mac.yscale), mac.scale the constant factor of the product; once
 *      per layer, or with Ws once per run of consecutive outputs of one
 *      channel.
 *
 * Sums wrap modulo 2^32 as a 32-bit accumulator does (they are computed in
 * uint32_t: no undefined overflow).  The widened copies and the i32 sums
 * count against --max-memory as the layer's scratch (rt_qmac_scratch,
 * which the loader adds up).
 */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "runtime/internal.h"

static bool int8(DType t) { return t == DT_U8 || t == DT_I8; }

bool rt_mac_int(const Nest *n, const RtTensor *T) {
  const Access *I = nest_access(n, ROLE_I), *W = nest_access(n, ROLE_W);
  return n->kind == NK_MAC && I && W && int8(T[I->tensor].dtype) && int8(T[W->tensor].dtype);
}

static bool in_range(DType t, int64_t v) {
  return t == DT_U8 ? v >= 0 && v <= 255 : t == DT_I8 ? v >= -128 && v <= 127 : v == 0;
}

/* The operand of role r of integer mac layer n and the access whose
 * element it follows (Xzp: I, Wzp: W, Yzp, Ws, Xs and Ys: O; Xs and Ys
 * are one element, every index constant). */
static const Access *q_ref(const Nest *n, Role r) {
  return nest_access(n, r == ROLE_XZP ? ROLE_I : r == ROLE_WZP ? ROLE_W : ROLE_O);
}

enum { NQROLES = 6 };
static const Role qroles[NQROLES] = {ROLE_XZP, ROLE_WZP, ROLE_YZP, ROLE_WS, ROLE_XS, ROLE_YS};

/* Why operand q (the k-th of qroles) cannot be read per element of its
 * reference access ref, NULL if it can: a plain read without padding whose
 * every index is a constant or equals one index of ref. */
static const char *q_operand_check(int k, const Access *q, const Access *ref) {
  static const char *const bad[NQROLES][3] = {
      {"Xzp must be an affine read", "Xzp has padding", "Xzp's index follows no index of I"},
      {"Wzp must be an affine read", "Wzp has padding", "Wzp's index follows no index of W"},
      {"Yzp must be an affine read", "Yzp has padding", "Yzp's index follows no index of O"},
      {"Ws must be an affine read", "Ws has padding", "Ws's index follows no index of O"},
      {"Xs must be an affine read", "Xs has padding", "Xs must be one element (constant indices)"},
      {"Ys must be an affine read", "Ys has padding", "Ys must be one element (constant indices)"}};
  bool one = qroles[k] == ROLE_XS || qroles[k] == ROLE_YS; /* a scalar: no index follows O */
  if (q->kind != ACC_READ || q->ix != IX_AFFINE) return bad[k][0];
  for (int j = 0; j < q->rank; j++) {
    if (q->pad_lo[j] || q->pad_hi[j]) return bad[k][1];
    bool cst = true, found = false;
    for (int dd = 0; dd < NEST_MAX_DIMS; dd++) cst &= q->idx[j].coef[dd] == 0;
    for (int r = 0; r < ref->rank && !cst && !one; r++)
      found |= memcmp(&q->idx[j], &ref->idx[r], sizeof(Affine)) == 0;
    if (!cst && !found) return bad[k][2];
  }
  return NULL;
}

const char *rt_qmac_check(const Nest *n, const RtTensor *T) {
  const Access *I = nest_access(n, ROLE_I), *W = nest_access(n, ROLE_W),
               *O = nest_access(n, ROLE_O), *B = n->has_bias ? nest_access(n, ROLE_B) : NULL;
  if (!I || !W || !O) return "a mac layer needs I, W and O";
  if (I->tensor == W->tensor) return "an integer mac layer's I and W must be two tensors";
  DType o = T[O->tensor].dtype;
  if (o != DT_I32 && !int8(o)) return "an integer mac layer's O must be i32, u8 or i8";
  if (B && T[B->tensor].dtype != DT_I32) return "an integer mac layer's bias must be i32";
  if (I->ix != IX_AFFINE || W->ix != IX_AFFINE || O->ix != IX_AFFINE)
    return "an integer mac layer's accesses must be affine";
  if (n->act || n->param.f.mac.alpha != 0)
    return "an integer mac layer has no activation or Gemm scaling";
  if (!in_range(T[I->tensor].dtype, n->param.i.mac.xzp) ||
      !in_range(T[W->tensor].dtype, n->param.i.mac.wzp) || !in_range(o, n->param.i.mac.yzp))
    return "a zero point outside its operand's type";
  for (int k = 0; k < NQROLES; k++) {
    const Access *q = nest_access(n, qroles[k]);
    if (!q) continue;
    const Access *ref = q_ref(n, qroles[k]);
    uint32_t t = q->tensor;
    if (t == I->tensor || t == W->tensor || t == O->tensor)
      return "a zero point or scale operand is also I, W or O";
    bool scale = qroles[k] == ROLE_WS || qroles[k] == ROLE_XS || qroles[k] == ROLE_YS;
    DType want = scale ? DT_F32 : T[ref->tensor].dtype;
    if (T[t].dtype != want)
      return "a zero point operand must have its operand's type (a scale operand f32)";
    if ((qroles[k] == ROLE_YZP || scale) && !int8(o))
      return "an output zero point or scale operand needs a u8 or i8 O";
    if ((qroles[k] == ROLE_XZP && n->param.i.mac.xzp) ||
        (qroles[k] == ROLE_WZP && n->param.i.mac.wzp) ||
        (qroles[k] == ROLE_YZP && n->param.i.mac.yzp))
      return "a zero point given both as a parameter and as an operand";
    const char *why = q_operand_check(k, q, ref);
    if (why) return why;
  }
  float s = n->param.f.mac.scale, ys = n->param.f.mac.yscale;
  bool rt = nest_access(n, ROLE_WS) || nest_access(n, ROLE_XS); /* m computed per run */
  bool yop = nest_access(n, ROLE_YS) != NULL;
  if (int8(o) ? !(isfinite(s) && s > 0) : s != 0)
    return "the requantization scale must be finite and positive (and 0 for an i32 O)";
  if (yop && ys != 0)
    return "with a Ys operand (a run-time y_scale) the parameter yscale must be 0";
  if (rt && !yop && !(isfinite(ys) && ys > 0))
    return "y_scale must be finite and positive with a Ws or Xs operand and no Ys";
  if (!rt && !yop && ys != 0)
    return "the parameter yscale must be 0 without a Ws, Xs or Ys operand";
  return NULL;
}

int64_t rt_qmac_scratch(const Nest *n, const RtTensor *T) {
  const Access *I = nest_access(n, ROLE_I), *W = nest_access(n, ROLE_W),
               *O = nest_access(n, ROLE_O);
  if (!I || !W || !O) return 0;
  int64_t words = (T[I->tensor].numel ? T[I->tensor].numel : 1) +
                  (T[W->tensor].numel ? T[W->tensor].numel : 1) +
                  (T[O->tensor].dtype == DT_I32 ? 0
                   : T[O->tensor].numel         ? T[O->tensor].numel
                                                : 1);
  return words * (int64_t)sizeof(int32_t); /* numels are bounded by the tensor table */
}

/* How an integer mac layer finds a zero point or scale per element of the
 * operand it belongs to: the operand's tensor (NULL: the parameter) and,
 * per index of it, the index of the reference tensor it equals (-1: the
 * constant cst). */
typedef struct {
  const void *data;
  DType dt;
  int rank;
  int src[NAASC_MAX_RANK];
  int64_t cst[NAASC_MAX_RANK], dims[NAASC_MAX_RANK];
} QOp;

static void q_op(const Nest *n, const RtTensor *T, Role r, QOp *q) {
  memset(q, 0, sizeof *q);
  const Access *a = nest_access(n, r), *ref = q_ref(n, r);
  if (!a) return;
  q->data = T[a->tensor].data, q->dt = T[a->tensor].dtype, q->rank = a->rank;
  for (int j = 0; j < a->rank; j++) {
    q->src[j] = -1, q->cst[j] = a->idx[j].cst, q->dims[j] = T[a->tensor].dims[j];
    for (int k = 0; k < ref->rank && q->src[j] < 0; k++) {
      bool cst = true;
      for (int dd = 0; dd < NEST_MAX_DIMS; dd++) cst &= a->idx[j].coef[dd] == 0;
      if (!cst && memcmp(&a->idx[j], &ref->idx[k], sizeof(Affine)) == 0) q->src[j] = k;
    }
  }
}

/* The flat index into q's tensor at element x[] of the reference tensor. */
static int64_t q_at(const QOp *q, const int64_t *x) {
  int64_t f = 0;
  for (int j = 0; j < q->rank; j++)
    f = f * q->dims[j] + (q->src[j] >= 0 ? x[q->src[j]] : q->cst[j]);
  return f;
}

/* Steps the row-major index x[] of a tensor of rank r and dims d. */
static void step(int64_t *x, int r, const int64_t *d) {
  for (int k = r - 1; k >= 0; k--) {
    if (++x[k] < d[k]) return;
    x[k] = 0;
  }
}

/* dst[k] = src[k] - its zero point (the parameter zp, or q's element). */
static void widen(int32_t *dst, const RtTensor *t, const void *src, DType dt, const QOp *q,
                  int64_t zp) {
  int64_t x[NAASC_MAX_RANK] = {0};
  for (int64_t k = 0; k < t->numel; k++) {
    int64_t z = q->data ? elem_get_i(q->dt, q->data, q_at(q, x)) : zp;
    dst[k] = (int32_t)(elem_get_i(dt, src, k) - z);
    if (q->data) step(x, t->rank, t->dims);
  }
}

void kernel_ref_i32(const TileKernel *k, int32_t *o, const int32_t *i, const int32_t *w) {
  int n = k->nloops;
  int in = n - 1;
  int64_t nb = k->bound[in];
  int64_t so = k->stride[KOP_O][in], si = k->stride[KOP_I][in], sw = k->stride[KOP_W][in];
  int64_t idx[KERNEL_MAX_LOOPS] = {0};
  int64_t oi = 0, ii = 0, wi = 0;
  for (;;) {
    for (int64_t x = 0; x < nb; x++) {
      uint32_t p = (uint32_t)i[ii + x * si] * (uint32_t)w[wi + x * sw];
      o[oi + x * so] = (int32_t)((uint32_t)o[oi + x * so] + p);
    }
    int l = in - 1;
    for (; l >= 0; l--) {
      if (++idx[l] < k->bound[l]) {
        oi += k->stride[KOP_O][l];
        ii += k->stride[KOP_I][l];
        wi += k->stride[KOP_W][l];
        break;
      }
      idx[l] = 0;
      oi -= (k->bound[l] - 1) * k->stride[KOP_O][l];
      ii -= (k->bound[l] - 1) * k->stride[KOP_I][l];
      wi -= (k->bound[l] - 1) * k->stride[KOP_W][l];
    }
    if (l < 0) return;
  }
}

/* The flat index of access a at point x of n, false if it falls in padding. */
static bool flat_at(const Access *a, const RtTensor *t, const Nest *n, const int64_t *x,
                    int64_t *f) {
  int64_t r = 0;
  for (int q = 0; q < a->rank; q++) {
    int64_t v = a->idx[q].cst;
    for (int d = 0; d < n->ndims; d++) v += a->idx[q].coef[d] * x[d];
    if (v < 0 || v >= t->dims[q]) return false;
    r = r * t->dims[q] + v;
  }
  *f = r;
  return true;
}

/* Every point of n: O[o] += I[i] * W[w] in 32 bits, on the widened words. */
static void rt_qmac_reference(const Nest *n, RtTensor *T) {
  const Access *I = nest_access(n, ROLE_I), *W = nest_access(n, ROLE_W),
               *O = nest_access(n, ROLE_O);
  RtTensor *ti = &T[I->tensor], *tw = &T[W->tensor], *to = &T[O->tensor];
  const int32_t *i = ti->data, *w = tw->data;
  int32_t *o = to->data;
  memset(o, 0, sizeof(int32_t) * (size_t)to->numel);
  int64_t x[NEST_MAX_DIMS] = {0};
  for (int d = 0; d < n->ndims; d++)
    if (n->dims[d].bound <= 0) return;
  for (;;) {
    int64_t fi, fw, fo;
    if (flat_at(I, ti, n, x, &fi) && flat_at(W, tw, n, x, &fw) && flat_at(O, to, n, x, &fo))
      o[fo] = (int32_t)((uint32_t)o[fo] + (uint32_t)i[fi] * (uint32_t)w[fw]);
    int d = n->ndims - 1;
    for (; d >= 0; d--) {
      if (++x[d] < n->dims[d].bound) break;
      x[d] = 0;
    }
    if (d < 0) return;
  }
}

/* How the epilogue finds the bias of an output element, as rt_mac_epilogue
 * does: per bias index j, src[j] the (last) output index it equals, or -1
 * for its constant.  Found once per layer (the Affine compares were most
 * of the epilogue's time when repeated per output element). */
static void bias_src(const Access *B, const Access *O, int *src) {
  for (int j = 0; j < B->rank; j++) {
    bool any = false;
    src[j] = -1;
    for (int dd = 0; dd < NEST_MAX_DIMS; dd++) any |= B->idx[j].coef[dd] != 0;
    for (int q = 0; q < O->rank && any; q++)
      if (memcmp(&B->idx[j], &O->idx[q], sizeof(Affine)) == 0) src[j] = q;
  }
}

/* The bias of the output element at index x[] of O. */
static int32_t bias_at(const Access *B, const int *src, const RtTensor *tb, const int64_t *x) {
  int64_t f = 0;
  for (int j = 0; j < B->rank; j++) f = f * tb->dims[j] + (src[j] >= 0 ? x[src[j]] : B->idx[j].cst);
  return ((const int32_t *)tb->data)[f];
}

typedef struct {
  RtTensor *t;
  void *data;
  DType dt;
} Saved;

Rc rt_qmac_run(RtProgram *p, RtLayer *L, const RuntimeOptions *o, Diag *d) {
  const Nest *n = &L->nest;
  const Access *I = nest_access(n, ROLE_I), *W = nest_access(n, ROLE_W),
               *O = nest_access(n, ROLE_O), *B = n->has_bias ? nest_access(n, ROLE_B) : NULL;
  RtTensor *ti = &p->t[I->tensor], *tw = &p->t[W->tensor], *to = &p->t[O->tensor];
  DType odt = to->dtype;
  Saved sv[3] = {{ti, ti->data, ti->dtype}, {tw, tw->data, tw->dtype}, {to, to->data, odt}};
  int32_t *wi = xmalloc(sizeof(int32_t) * (size_t)(ti->numel ? ti->numel : 1));
  int32_t *ww = xmalloc(sizeof(int32_t) * (size_t)(tw->numel ? tw->numel : 1));
  int32_t *acc =
      odt == DT_I32 ? to->data : xmalloc(sizeof(int32_t) * (size_t)(to->numel ? to->numel : 1));
  if (!wi || !ww || !acc) {
    xfree(ww);
    xfree(wi);
    if (acc != to->data) xfree(acc);
    diag_error(d, n->name, "out of memory widening the integer operands to i32");
    return RC_INTERNAL;
  }
  QOp qx, qw, qy, qs, qxs, qys;
  q_op(n, p->t, ROLE_XZP, &qx);
  q_op(n, p->t, ROLE_WZP, &qw);
  q_op(n, p->t, ROLE_YZP, &qy);
  q_op(n, p->t, ROLE_WS, &qs);
  q_op(n, p->t, ROLE_XS, &qxs);
  q_op(n, p->t, ROLE_YS, &qys);
  widen(wi, ti, sv[0].data, ti->dtype, &qx, n->param.i.mac.xzp);
  widen(ww, tw, sv[1].data, tw->dtype, &qw, n->param.i.mac.wzp);
  ti->data = wi, ti->dtype = DT_I32;
  tw->data = ww, tw->dtype = DT_I32;
  to->data = acc, to->dtype = DT_I32;
  Problem pr;
  Rc rc;
  if (o->reference || (!L->mapped && !nest_problem(n, &pr))) {
    rt_qmac_reference(n, p->t);
    rc = RC_OK;
  } else {
    rc = rt_exec_mac(p, L, o, d);
    if (rc == RC_OK && o->count && L->mapped) rt_count_layer(p, L, o->count_exact);
  }
  if (rc == RC_OK) { /* the epilogue: bias, then the sums or their requantization */
    const RtTensor *tb = B ? &p->t[B->tensor] : NULL;
    int bsrc[NAASC_MAX_RANK];
    if (B) bias_src(B, O, bsrc);
    int64_t x[NAASC_MAX_RANK] = {0};
    int64_t mf =
        -1; /* the Ws element whose multiplier m_last is (outputs of one channel share it) */
    float m_last = 0;
    /* The multiplier, ONNX Runtime's (x_scale * w_scale[c]) / y_scale in
     * f32 (NestParams mac.scale): scale alone, or (scale * Xs * Ws[c]) / y
     * with the operands present.  scale is the constant factor of the
     * product (1 if both are operands), so this is ORT's product in f32
     * (commutative, exact by 1) and then its division. */
    float scale = n->param.f.mac.scale, yscale = n->param.f.mac.yscale;
    bool rt = qs.data || qxs.data || qys.data;
    float xs = qxs.data ? (float)elem_get_f(qxs.dt, qxs.data, q_at(&qxs, x)) : 1.0f;
    float ys = qys.data ? (float)elem_get_f(qys.dt, qys.data, q_at(&qys, x)) : yscale;
    float px = qxs.data ? scale * xs : scale; /* the product without Ws */
    if (rt && !qs.data) {                     /* one multiplier for the layer */
      m_last = px / ys;
      if (!(isfinite(m_last) && m_last > 0)) {
        diag_error(d, n->name,
                   "the requantization multiplier (%g * x_scale %g / y_scale %g) is not finite "
                   "and positive",
                   (double)scale, (double)xs, (double)ys);
        rc = RC_BADINPUT;
      }
    }
    int64_t lo = odt == DT_I8 ? -128 : 0, hi = odt == DT_I8 ? 127 : 255;
    for (int64_t k = 0; k < to->numel && rc == RC_OK; k++) {
      int32_t s = acc[k];
      if (tb) s = (int32_t)((uint32_t)s + (uint32_t)bias_at(B, bsrc, tb, x));
      if (odt == DT_I32) {
        acc[k] = s;
      } else {
        float m = rt ? m_last : scale;
        int64_t f = qs.data ? q_at(&qs, x) : -1;
        if (f >= 0 && f != mf) {
          float ws = (float)elem_get_f(qs.dt, qs.data, f);
          m = px * ws;
          m = m / ys;
          mf = f, m_last = m;
          if (!(isfinite(m) && m > 0)) {
            diag_error(d, n->name,
                       "the requantization multiplier of output %" PRId64
                       " (%g * w_scale %g / y_scale %g) is not finite and positive",
                       k, (double)px, (double)ws, (double)ys);
            rc = RC_BADINPUT;
            break;
          }
        }
        float yzp =
            (float)(qy.data ? elem_get_i(qy.dt, qy.data, q_at(&qy, x)) : n->param.i.mac.yzp);
        float v = nearbyintf((float)s * m) + yzp;
        elem_put_i(odt, sv[2].data, k, v < lo ? lo : v > hi ? hi : (int64_t)v);
      }
      step(x, to->rank, to->dims);
    }
  }
  for (int k = 0; k < 3; k++) sv[k].t->data = sv[k].data, sv[k].t->dtype = sv[k].dt;
  xfree(ww);
  xfree(wi);
  if (odt != DT_I32) xfree(acc);
  return rc;
}
