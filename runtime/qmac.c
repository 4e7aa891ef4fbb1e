/*
 * qmac.c: integer mac layers (ConvInteger, QLinearConv, MatMulInteger, QLinearMatMul
 * lowered as mac nests, docs/ir.md "Integer mac nests"): u8 or i8 inputs
 * and weights, sums in 32 bits, bit-exact against the ONNX definition.
 *
 * How it runs (rt_qmac_run):
 *   1. I and W are widened to i32 words holding x - x_zero_point and
 *      w - w_zero_point, and the sums get an i32 buffer (O's own when O is
 *      i32).  The tensors point at these copies for the layer, typed i32.
 *   2. The tiled executor (exec.c) walks the layer's mapping as for a float
 *      layer: its slots hold the 32-bit words as they are (tiles are copied
 *      with memcpy, padding is 0, i.e. the zero point, as ONNX pads), and
 *      each compute tile runs kernel_ref_i32 (the C reference; the JIT
 *      compiles float kernels only).  Unmapped layers of no Problem and
 *      `naasc-run --reference` use rt_qmac_reference, a walk over every
 *      point of the nest.
 *   3. The epilogue adds the i32 bias and either stores the sums (i32 O) or
 *      requantizes them as ONNX Runtime does: y = saturate(round_half_even(
 *      (float)sum * scale) + y_zero_point), scale = x_scale * w_scale /
 *      y_scale in f32 (NestParams mac.scale, computed by the lowering).
 *
 * Sums wrap modulo 2^32 as a 32-bit accumulator does (they are computed in
 * uint32_t: no undefined overflow).  The widened copies are not counted
 * against --max-memory (as the f16/bf16 widening is not).
 */
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
  float s = n->param.f.mac.scale;
  if (int8(o) ? !(isfinite(s) && s > 0) : s != 0)
    return "the requantization scale must be finite and positive (and 0 for an i32 O)";
  return NULL;
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

/* The bias of output element f of O (its index x[] in O), as rt_mac_epilogue
 * finds it: each bias index is a constant or equals one output index. */
static int32_t bias_at(const Access *B, const Access *O, const RtTensor *tb, const int64_t *x) {
  int64_t f = 0;
  for (int j = 0; j < B->rank; j++) {
    int64_t v = B->idx[j].cst;
    bool any = false;
    for (int dd = 0; dd < NEST_MAX_DIMS; dd++) any |= B->idx[j].coef[dd] != 0;
    for (int q = 0; q < O->rank && any; q++)
      if (memcmp(&B->idx[j], &O->idx[q], sizeof(Affine)) == 0) v = x[q];
    f = f * tb->dims[j] + v;
  }
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
  for (int64_t k = 0; k < ti->numel; k++)
    wi[k] = (int32_t)(elem_get_i(ti->dtype, sv[0].data, k) - n->param.i.mac.xzp);
  for (int64_t k = 0; k < tw->numel; k++)
    ww[k] = (int32_t)(elem_get_i(tw->dtype, sv[1].data, k) - n->param.i.mac.wzp);
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
    int64_t x[NAASC_MAX_RANK] = {0};
    float scale = n->param.f.mac.scale, yzp = (float)n->param.i.mac.yzp;
    int64_t lo = odt == DT_I8 ? -128 : 0, hi = odt == DT_I8 ? 127 : 255;
    for (int64_t k = 0; k < to->numel; k++) {
      int32_t s = acc[k];
      if (tb) s = (int32_t)((uint32_t)s + (uint32_t)bias_at(B, O, tb, x));
      if (odt == DT_I32) {
        acc[k] = s;
      } else {
        float v = nearbyintf((float)s * scale) + yzp;
        elem_put_i(odt, sv[2].data, k, v < lo ? lo : v > hi ? hi : (int64_t)v);
      }
      for (int q = to->rank - 1; q >= 0; q--) {
        if (++x[q] < to->dims[q]) break;
        x[q] = 0;
      }
    }
  }
  for (int k = 0; k < 3; k++) sv[k].t->data = sv[k].data, sv[k].t->dtype = sv[k].dt;
  xfree(ww);
  xfree(wi);
  if (odt != DT_I32) xfree(acc);
  return rc;
}
