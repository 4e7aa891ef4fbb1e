/*
 * interp.c: the reference interpreter of the loop-nest IR (docs/ir.md,
 * "Semantics") over dense tensors: every point of a nest, in row-major
 * order of its dims, evaluated literally.  It runs the vector-unit, move
 * and view layers of a stream, and whole mac nests as the reference the
 * tiled executor is checked against.
 *
 * Invariants: the nest has passed rt_load's checks (or comes from a
 * verified module whose tensors match it), so every index is inside its
 * tensor or its padding; nothing here trusts data values (gather indices
 * are checked).
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/internal.h"

/* ---- elements --------------------------------------------------------------- */

static float half_to_float(uint16_t h) {
  uint32_t s = (uint32_t)(h >> 15) << 31, e = (h >> 10) & 31, m = h & 1023, u;
  if (e == 0) {
    if (!m)
      u = s;
    else { /* subnormal */
      float f = ldexpf((float)m, -24);
      return s ? -f : f;
    }
  } else if (e == 31) {
    u = s | 0x7f800000u | (m << 13);
  } else {
    u = s | ((e + 112) << 23) | (m << 13);
  }
  float f;
  memcpy(&f, &u, 4);
  return f;
}

static uint16_t float_to_half(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  uint16_t s = (uint16_t)((u >> 16) & 0x8000);
  int32_t e = (int32_t)((u >> 23) & 255) - 127 + 15;
  uint32_t m = u & 0x7fffff;
  if (((u >> 23) & 255) == 255) return (uint16_t)(s | 0x7c00 | (m ? 0x200 : 0));
  if (e >= 31) return (uint16_t)(s | 0x7c00);
  if (e <= 0) {
    if (e < -10) return s;
    m |= 0x800000;
    int shift = 14 - e;
    uint32_t hm = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (hm & 1))) hm++;
    return (uint16_t)(s | hm);
  }
  uint32_t hm = m >> 13, rem = m & 0x1fff;
  uint16_t h = (uint16_t)(s | ((uint32_t)e << 10) | hm);
  if (rem > 0x1000 || (rem == 0x1000 && (hm & 1))) h++;
  return h;
}

double rt_get(const RtTensor *t, int64_t i) {
  const void *p = t->data;
  switch (t->dtype) {
  case DT_F32: return ((const float *)p)[i];
  case DT_F64: return ((const double *)p)[i];
  case DT_F16: return half_to_float(((const uint16_t *)p)[i]);
  case DT_BF16: {
    uint32_t u = (uint32_t)((const uint16_t *)p)[i] << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
  }
  case DT_I8: return ((const int8_t *)p)[i];
  case DT_U8: return ((const uint8_t *)p)[i];
  case DT_BOOL: return ((const uint8_t *)p)[i] != 0;
  case DT_I16: return ((const int16_t *)p)[i];
  case DT_U16: return ((const uint16_t *)p)[i];
  case DT_I32: return ((const int32_t *)p)[i];
  case DT_U32: return ((const uint32_t *)p)[i];
  case DT_I64: return (double)((const int64_t *)p)[i];
  case DT_U64: return (double)((const uint64_t *)p)[i];
  default: return 0;
  }
}

/* v truncated toward zero and clamped into [lo, hi]; NaN gives 0. */
static double int_of(double v, double lo, double hi) {
  if (v != v) return 0;
  v = trunc(v);
  return v < lo ? lo : v > hi ? hi : v;
}

void rt_set(RtTensor *t, int64_t i, double v) {
  void *p = t->data;
  switch (t->dtype) {
  case DT_F32: ((float *)p)[i] = (float)v; break;
  case DT_F64: ((double *)p)[i] = v; break;
  case DT_F16: ((uint16_t *)p)[i] = float_to_half((float)v); break;
  case DT_BF16: {
    float f = (float)v;
    uint32_t u;
    memcpy(&u, &f, 4);
    /* truncation, as ONNX 1.12's Cast test data (its reference drops the low half) */
    ((uint16_t *)p)[i] = (uint16_t)(u >> 16);
    break;
  }
  case DT_I8: ((int8_t *)p)[i] = (int8_t)int_of(v, INT8_MIN, INT8_MAX); break;
  case DT_U8: ((uint8_t *)p)[i] = (uint8_t)int_of(v, 0, UINT8_MAX); break;
  case DT_BOOL: ((uint8_t *)p)[i] = v != 0; break;
  case DT_I16: ((int16_t *)p)[i] = (int16_t)int_of(v, INT16_MIN, INT16_MAX); break;
  case DT_U16: ((uint16_t *)p)[i] = (uint16_t)int_of(v, 0, UINT16_MAX); break;
  case DT_I32: ((int32_t *)p)[i] = (int32_t)int_of(v, INT32_MIN, INT32_MAX); break;
  case DT_U32: ((uint32_t *)p)[i] = (uint32_t)int_of(v, 0, UINT32_MAX); break;
  case DT_I64: ((int64_t *)p)[i] = (int64_t)int_of(v, -9.2e18, 9.2e18); break;
  case DT_U64: ((uint64_t *)p)[i] = (uint64_t)int_of(v, 0, 1.8e19); break;
  default: break;
  }
}

static bool is_float(DType t) { return t == DT_F32 || t == DT_F64 || t == DT_F16 || t == DT_BF16; }

/* ---- points ------------------------------------------------------------------- */

/* Flat index of access a at point x; *pad set if it falls in the padding. */
static int64_t flat(const Access *a, const RtTensor *t, const int64_t *x, int ndims, bool *pad) {
  int64_t f = 0;
  for (int q = 0; q < a->rank; q++) {
    int64_t v = a->idx[q].cst;
    for (int d = 0; d < ndims; d++) v += a->idx[q].coef[d] * x[d];
    if (v < 0 || v >= t->dims[q]) {
      *pad = true;
      return 0;
    }
    f = f * t->dims[q] + v;
  }
  return f;
}

static bool next_point(const Nest *n, int64_t *x) {
  for (int d = n->ndims - 1; d >= 0; d--) {
    if (++x[d] < n->dims[d].bound) return true;
    x[d] = 0;
  }
  return false;
}

static double act_apply(Op act, float a, float b, double v) {
  switch (act) {
  case OP_RELU: return v > 0 ? v : 0;
  case OP_CLIP: return v < a ? a : v > b ? b : v;
  case OP_LEAKYRELU: return v < 0 ? a * v : v;
  case OP_HARDSIGMOID: {
    double y = a * v + b;
    return y < 0 ? 0 : y > 1 ? 1 : y;
  }
  case OP_HARDSWISH: {
    double y = v / 6 + 0.5;
    return v * (y < 0 ? 0 : y > 1 ? 1 : y);
  }
  case OP_SIGMOID: return 1 / (1 + exp(-v));
  default: return v;
  }
}

/* One point of an element-wise op (its reads in x[0..nx)); switches on the
 * op (NAASC_VOPS), which the loader has checked. */
static double vop_apply(const Nest *n, const double *x, int nx) {
  switch (n->vop) {
  case VOP_RELU: return x[0] > 0 ? x[0] : 0;
  case VOP_CLIP: return act_apply(OP_CLIP, n->param.f.clip.min, n->param.f.clip.max, x[0]);
  case VOP_LEAKYRELU: return act_apply(OP_LEAKYRELU, n->param.f.leakyrelu.alpha, 0, x[0]);
  case VOP_HARDSIGMOID:
    return act_apply(OP_HARDSIGMOID, n->param.f.hardsigmoid.alpha, n->param.f.hardsigmoid.beta,
                     x[0]);
  case VOP_HARDSWISH: return act_apply(OP_HARDSWISH, 0, 0, x[0]);
  case VOP_SIGMOID: return act_apply(OP_SIGMOID, 0, 0, x[0]);
  case VOP_SQRT: return sqrt(x[0]);
  case VOP_CAST: return x[0];
  case VOP_ADD: return x[0] + x[1];
  case VOP_SUB: return x[0] - x[1];
  case VOP_MUL: return x[0] * x[1];
  case VOP_DIV: return x[0] / x[1];
  case VOP_POW: return pow(x[0], x[1]);
  case VOP_MAX: {
    double m = x[0];
    for (int i = 1; i < nx; i++) m = (x[i] > m || x[i] != x[i]) ? x[i] : m;
    return m;
  }
  case VOP_BATCHNORM:
    return (x[0] - x[3]) / sqrt(x[4] + (double)n->param.f.batchnorm.epsilon) * x[1] + x[2];
  default: return 0; /* not an element-wise op: rt_interpret_nest never asks */
  }
}

/* ---- op families ----------------------------------------------------------------- */

static Rc run_elementwise(const Nest *n, RtTensor *T) {
  const Access *o = &n->acc[n->nacc - 1];
  RtTensor *to = &T[o->tensor];
  int nx = n->nacc - 1;
  int64_t x[NEST_MAX_DIMS] = {0};
  double v[NEST_MAX_ACCESS];
  bool int_div = n->vop == VOP_DIV && !is_float(to->dtype);
  do {
    bool pad = false;
    for (int k = 0; k < nx; k++)
      v[k] =
          rt_get(&T[n->acc[k].tensor], flat(&n->acc[k], &T[n->acc[k].tensor], x, n->ndims, &pad));
    double r;
    if (int_div)
      r = v[1] == 0 ? 0 : trunc(v[0] / v[1]);
    else
      r = vop_apply(n, v, nx);
    rt_set(to, flat(o, to, x, n->ndims, &pad), r);
  } while (next_point(n, x));
  return RC_OK;
}

static Rc run_move(const Nest *n, RtTensor *T) {
  const Access *a = &n->acc[0], *o = &n->acc[n->nacc - 1];
  RtTensor *tx = &T[a->tensor], *to = &T[o->tensor];
  size_t es = dtype_size(to->dtype);
  int64_t x[NEST_MAX_DIMS] = {0};
  do {
    bool pad = false;
    int64_t i = flat(a, tx, x, n->ndims, &pad), j = flat(o, to, x, n->ndims, &pad);
    memcpy((char *)to->data + (size_t)j * es, (const char *)tx->data + (size_t)i * es, es);
  } while (next_point(n, x));
  return RC_OK;
}

static Rc run_reduce(const Nest *n, RtTensor *T, Diag *d) {
  const Access *a = &n->acc[0], *o = &n->acc[1];
  RtTensor *tx = &T[a->tensor], *to = &T[o->tensor];
  bool maxp = n->vop == VOP_MAXPOOL, avg = n->vop == VOP_AVGPOOL;
  double *val = xcalloc((size_t)to->numel, sizeof *val);
  int64_t *cnt = xcalloc((size_t)to->numel, sizeof *cnt);
  if (!val || !cnt) {
    xfree(val), xfree(cnt);
    diag_error(d, n->name, "out of memory");
    return RC_INTERNAL;
  }
  if (maxp)
    for (int64_t i = 0; i < to->numel; i++) val[i] = -INFINITY;
  uint8_t *hit = xcalloc((size_t)to->numel, 1); /* outputs the nest's points reach */
  if (!hit) {
    xfree(val), xfree(cnt);
    diag_error(d, n->name, "out of memory");
    return RC_INTERNAL;
  }
  int64_t x[NEST_MAX_DIMS] = {0};
  do {
    bool pad = false, opad = false;
    int64_t i = flat(a, tx, x, n->ndims, &pad), j = flat(o, to, x, n->ndims, &opad);
    if (!opad) hit[j] = 1;
    if (pad) {
      if (avg && n->param.i.pool.count_include_pad) cnt[j]++;
      continue;
    }
    double v = rt_get(tx, i);
    if (maxp)
      val[j] = (v > val[j] || v != v) ? v : val[j];
    else
      val[j] += v, cnt[j]++;
  } while (next_point(n, x));
  /* Only the outputs the nest reaches: a tile layer's nest (CMD_TILE)
   * covers a rectangle of them. */
  for (int64_t j = 0; j < to->numel; j++)
    if (hit[j]) rt_set(to, j, maxp ? val[j] : cnt[j] ? val[j] / (double)cnt[j] : 0);
  xfree(val), xfree(cnt), xfree(hit);
  return RC_OK;
}

static Rc run_softmax(const Nest *n, RtTensor *T, Diag *d) {
  const Access *a = &n->acc[0], *o = &n->acc[1];
  RtTensor *tx = &T[a->tensor], *to = &T[o->tensor];
  int64_t groups = 1;
  for (int k = 0; k < n->ndims; k++)
    if (!n->dims[k].reduce) groups *= n->dims[k].bound;
  double *mx = xmalloc(sizeof(double) * (size_t)groups),
         *sum = xcalloc((size_t)groups, sizeof(double));
  if (!mx || !sum) {
    xfree(mx), xfree(sum);
    diag_error(d, n->name, "out of memory");
    return RC_INTERNAL;
  }
  for (int64_t g = 0; g < groups; g++) mx[g] = -INFINITY;
  for (int pass = 0; pass < 3; pass++) {
    int64_t x[NEST_MAX_DIMS] = {0};
    do {
      int64_t g = 0;
      for (int k = 0; k < n->ndims; k++)
        if (!n->dims[k].reduce) g = g * n->dims[k].bound + x[k];
      bool pad = false;
      double v = rt_get(tx, flat(a, tx, x, n->ndims, &pad));
      if (pass == 0)
        mx[g] = v > mx[g] ? v : mx[g];
      else if (pass == 1)
        sum[g] += exp(v - mx[g]);
      else
        rt_set(to, flat(o, to, x, n->ndims, &pad), exp(v - mx[g]) / sum[g]);
    } while (next_point(n, x));
  }
  xfree(mx), xfree(sum);
  return RC_OK;
}

static double resize_coord(const Nest *n, int k, int64_t xo, int64_t in, int64_t out) {
  double s = n->param.f.resize.scale[k] > 0 ? n->param.f.resize.scale[k] : (double)out / (double)in;
  switch (n->param.i.resize.coord) {
  case 0: return ((double)xo + 0.5) / s - 0.5;
  case 1: return (double)xo / s;
  case 2: { /* ONNX measures the resized length as in * scale, unrounded */
    double len = (double)in * s;
    return len == 1 || out == 1 ? 0 : (double)xo * (double)(in - 1) / (len - 1);
  }
  case 3: return out > 1 ? ((double)xo + 0.5) / s - 0.5 : 0;
  default: return ((double)xo + 0.5) / s;
  }
}

/* resize_coord in f32, as onnxruntime's get_original_coordinate computes it
 * (its scale an f32 too: the model's, or out / in for sizes); an axis that
 * keeps its length maps x to x. */
static float resize_coord_f32(const Nest *n, int k, int64_t xo, int64_t in, int64_t out) {
  if (in == out) return (float)xo;
  double sd = n->param.f.resize.scale[k];
  float s = sd > 0 ? (float)sd : (float)out / (float)in, x = (float)xo;
  switch (n->param.i.resize.coord) {
  case 0: return (x + 0.5f) / s - 0.5f;
  case 1: return x / s;
  case 2: {
    float len = (float)in * s;
    return len == 1 || out == 1 ? 0.0f : x * (float)(in - 1) / (len - 1);
  }
  case 3: return out > 1 ? (x + 0.5f) / s - 0.5f : 0.0f;
  default: return (x + 0.5f) / s;
  }
}

/* Linear Resize is computed in f32 as onnxruntime's bilinear kernel does
 * (UpsampleBilinear): per axis the f32 coordinate c clamped to [0, in - 1],
 * taps x1 = (int)c and x2 = min(x1 + 1, in - 1), weights |c - x2| on x1 and
 * |c - x1| on x2 (where the taps meet at the edge: 0.5 each on the last two
 * axes, its bilinear ones, and 1 on x1 before them); per point the
 * product of the weights taken from the innermost axis out, times the tap,
 * summed over the corners in row-major order (X11, X21, X12, X22), each
 * step rounded to f32.  ONNX fixes no precision (its reference sums in
 * double), but a dynamic-quantized model's output hangs on the last bit:
 * each DynamicQuantizeLinear after a Resize rounds to u8 and a flipped u8
 * spreads through the later layers (isnet-quint8's mask was 0.106 off
 * onnxruntime's with the sum in double; tests/runtime/test_quant_arith.py).
 * Data of other types than f32, f16 and bf16 keeps double arithmetic. */
static Rc run_resize(const Nest *n, RtTensor *T) {
  const Access *o = &n->acc[n->nacc - 1];
  RtTensor *tx = &T[n->acc[0].tensor], *to = &T[o->tensor];
  int r = tx->rank;
  /* f32 arithmetic for f32 (and f16/bf16) data; other types (f64, the
   * integers) keep the double coordinate, weights and sum */
  bool f32 = to->dtype == DT_F32 || to->dtype == DT_F16 || to->dtype == DT_BF16;
  bool linear = n->param.i.resize.mode != RZ_NEAREST;
  int64_t x[NEST_MAX_DIMS] = {0};
  do {
    int64_t lo[4], hi[4];
    double wlo[4], whi[4];
    for (int k = 0; k < r; k++) {
      int64_t in = tx->dims[k];
      double c = resize_coord(n, k, x[k], in, to->dims[k]);
      if (!linear) {
        double fl = floor(c), v;
        switch (n->param.i.resize.nearest) {
        case 0: v = c - fl == 0.5 ? fl : round(c); break;
        case 1: v = c - fl == 0.5 ? fl + 1 : round(c); break;
        case 2: v = fl; break;
        default: v = ceil(c); break;
        }
        int64_t iv = v < 0 ? 0 : v > (double)(in - 1) ? in - 1 : (int64_t)v;
        lo[k] = hi[k] = iv, wlo[k] = 1, whi[k] = 0;
      } else if (!f32) {
        if (c < 0) c = 0;
        if (c > (double)(in - 1)) c = (double)(in - 1);
        lo[k] = (int64_t)floor(c);
        hi[k] = lo[k] + 1 < in ? lo[k] + 1 : lo[k];
        whi[k] = c - (double)lo[k], wlo[k] = 1 - whi[k];
      } else {
        float cf = resize_coord_f32(n, k, x[k], in, to->dims[k]);
        if (!(cf > 0)) cf = 0;
        if (cf > (float)(in - 1)) cf = (float)(in - 1);
        lo[k] = (int64_t)cf < in - 1 ? (int64_t)cf : in - 1;
        hi[k] = lo[k] + 1 < in ? lo[k] + 1 : lo[k];
        wlo[k] = fabsf(cf - (float)hi[k]), whi[k] = fabsf(cf - (float)lo[k]);
        if (lo[k] == hi[k]) {         /* the taps meet at the edge */
          bool bilinear = k >= r - 2; /* onnxruntime's two axes weigh each tap 0.5 */
          wlo[k] = bilinear ? 0.5 : 1.0, whi[k] = bilinear ? 0.5 : 0.0;
        }
      }
    }
    double acc = 0;
    float accf = 0;
    for (int corner = 0; corner < (1 << r); corner++) {
      int64_t fl = 0;
      for (int k = 0; k < r; k++) /* the innermost axis is bit 0 of corner */
        fl = fl * tx->dims[k] + (corner >> (r - 1 - k) & 1 ? hi[k] : lo[k]);
      double wt = 1;
      float wtf = 1;
      for (int k = r - 1; k >= 0; k--) {
        double wk = corner >> (r - 1 - k) & 1 ? whi[k] : wlo[k];
        wt *= wk, wtf = wtf * (float)wk;
      }
      if (wt == 0) continue;
      if (linear && f32)
        accf = accf + wtf * (float)rt_get(tx, fl);
      else
        acc += wt * rt_get(tx, fl);
    }
    bool pad = false;
    rt_set(to, flat(o, to, x, n->ndims, &pad), linear && f32 ? (double)accf : acc);
  } while (next_point(n, x));
  return RC_OK;
}

static Rc run_gather(const Nest *n, RtTensor *T, Diag *d) {
  RtTensor *tx = &T[n->acc[0].tensor], *ti = &T[n->acc[1].tensor], *to = &T[n->acc[2].tensor];
  int ax = (int)n->param.i.gather.axis, ir = ti->rank;
  size_t es = dtype_size(to->dtype);
  int64_t x[NAASC_MAX_RANK] = {0};
  for (int64_t j = 0; j < to->numel; j++) {
    int64_t rem = j;
    for (int k = to->rank - 1; k >= 0; k--) x[k] = rem % to->dims[k], rem /= to->dims[k];
    int64_t ii = 0;
    for (int k = 0; k < ir; k++) ii = ii * ti->dims[k] + x[ax + k];
    int64_t v = (int64_t)rt_get(ti, ii);
    if (v < 0) v += tx->dims[ax];
    if (v < 0 || v >= tx->dims[ax]) {
      diag_error(d, n->name, "gather index %" PRId64 " is outside 0..%" PRId64,
                 (int64_t)rt_get(ti, ii), tx->dims[ax] - 1);
      return RC_BADINPUT;
    }
    int64_t src = 0;
    for (int k = 0; k < tx->rank; k++) {
      int64_t c = k < ax ? x[k] : k == ax ? v : x[k + ir - 1];
      src = src * tx->dims[k] + c;
    }
    memcpy((char *)to->data + (size_t)j * es, (const char *)tx->data + (size_t)src * es, es);
  }
  return RC_OK;
}

static Rc run_view(const Nest *n, RtTensor *T) {
  const RtTensor *tx = &T[n->acc[0].tensor];
  for (int k = 1; k < n->nacc; k++) {
    if (n->acc[k].kind == ACC_READ) continue;
    RtTensor *to = &T[n->acc[k].tensor];
    if (to->numel == tx->numel && to->dtype == tx->dtype)
      memcpy(to->data, tx->data, (size_t)tx->numel * dtype_size(tx->dtype));
    else /* Dropout's mask in inference: all kept */
      for (int64_t i = 0; i < to->numel; i++) rt_set(to, i, 1);
  }
  return RC_OK;
}

/* ---- mac nests ------------------------------------------------------------------- */

/* numpy matmul of whole operands with broadcast batch dims, into o (f32). */
void rt_matmul_whole(const RtTensor *a, const RtTensor *b, float *o) {
  int64_t M = a->rank > 1 ? a->dims[a->rank - 2] : 1, C = a->dims[a->rank - 1];
  int64_t K = b->rank > 1 ? b->dims[b->rank - 1] : 1;
  int rb = a->rank > b->rank ? a->rank : b->rank;
  int nb = rb > 2 ? rb - 2 : 0;
  int64_t bd[NAASC_MAX_RANK], batch = 1;
  for (int k = 0; k < nb; k++) {
    int ia = a->rank - 2 - nb + k, ib = b->rank - 2 - nb + k;
    int64_t da = ia >= 0 && a->rank > 2 ? a->dims[ia] : 1,
            db = ib >= 0 && b->rank > 2 ? b->dims[ib] : 1;
    bd[k] = da > db ? da : db;
    batch *= bd[k];
  }
  const float *A = a->data, *B = b->data;
  for (int64_t bi = 0; bi < batch; bi++) {
    int64_t rem = bi, offa = 0, offb = 0, sa = 1, sb = 1;
    for (int k = nb - 1; k >= 0; k--) {
      int64_t c = rem % bd[k];
      rem /= bd[k];
      int ia = a->rank - 2 - nb + k, ib = b->rank - 2 - nb + k;
      if (ia >= 0 && a->rank > 2) {
        offa += (a->dims[ia] == 1 ? 0 : c) * sa;
        sa *= a->dims[ia];
      }
      if (ib >= 0 && b->rank > 2) {
        offb += (b->dims[ib] == 1 ? 0 : c) * sb;
        sb *= b->dims[ib];
      }
    }
    const float *Ab = A + offa * M * C, *Bb = B + offb * C * K;
    float *Ob = o + bi * M * K;
    for (int64_t m = 0; m < M; m++)
      for (int64_t k = 0; k < K; k++) {
        float s = 0;
        for (int64_t c = 0; c < C; c++) s += Ab[m * C + c] * Bb[c * K + k];
        Ob[m * K + k] = s;
      }
  }
}

/* The epilogue of a finished mac output (sums in o->data): Gemm's alpha and
 * beta, the bias, the activation; on rows [lo[0], hi[0]) and columns
 * [lo[1], hi[1]) of a rank-4 output only if lo is not NULL. */
static void epilogue(const Nest *n, RtTensor *T, const int64_t *lo, const int64_t *hi) {
  const Access *O = NULL, *B = NULL;
  for (int a = 0; a < n->nacc; a++) {
    if (n->acc[a].role == ROLE_O) O = &n->acc[a];
    if (n->acc[a].role == ROLE_B) B = &n->acc[a];
  }
  RtTensor *to = &T[O->tensor];
  float *o = to->data;
  bool gemm = n->param.f.mac.alpha != 0;
  double alpha = gemm ? n->param.f.mac.alpha : 1,
         beta = gemm && n->has_bias ? n->param.f.mac.beta : 1;
  int64_t bsrc[NAASC_MAX_RANK]; /* per bias dim: the output dim it follows, or -1 - constant */
  if (n->has_bias && B)
    for (int j = 0; j < B->rank; j++) {
      bsrc[j] = -1 - B->idx[j].cst;
      for (int q = 0; q < O->rank; q++) {
        bool any = false;
        for (int dd = 0; dd < NEST_MAX_DIMS; dd++) any |= B->idx[j].coef[dd] != 0;
        if (any && memcmp(&B->idx[j], &O->idx[q], sizeof(Affine)) == 0) bsrc[j] = q;
      }
    }
  int64_t x[NAASC_MAX_RANK] = {0};
  bool box = lo && to->rank == 4;
  for (int64_t i = 0; i < to->numel; i++) {
    if (box) {
      int64_t r = i / to->dims[3] % to->dims[2], c = i % to->dims[3];
      if (r < lo[0] || r >= hi[0]) {
        /* skip to the next row of this plane */
        i += to->dims[3] - c - 1;
        continue;
      }
      if (c < lo[1] || c >= hi[1]) continue;
    }
    double v = alpha * o[i];
    if (n->has_bias && B) {
      int64_t rem = i;
      for (int q = to->rank - 1; q >= 0; q--) x[q] = rem % to->dims[q], rem /= to->dims[q];
      const RtTensor *tb = &T[B->tensor];
      int64_t f = 0;
      for (int j = 0; j < B->rank; j++)
        f = f * tb->dims[j] + (bsrc[j] >= 0 ? x[bsrc[j]] : -1 - bsrc[j]);
      v += beta * rt_get(tb, f);
    }
    o[i] = (float)act_apply(n->act, n->act_alpha, n->act_beta, v);
  }
}

void rt_mac_epilogue(const Nest *n, RtTensor *T) { epilogue(n, T, NULL, NULL); }

void rt_mac_epilogue_box(const Nest *n, RtTensor *T, const int64_t lo[2], const int64_t hi[2]) {
  epilogue(n, T, lo, hi);
}

static Rc run_mac(const Nest *n, RtTensor *T) {
  const Access *I = NULL, *W = NULL, *O = NULL;
  for (int a = 0; a < n->nacc; a++) {
    if (n->acc[a].role == ROLE_I) I = &n->acc[a];
    if (n->acc[a].role == ROLE_W) W = &n->acc[a];
    if (n->acc[a].role == ROLE_O) O = &n->acc[a];
  }
  RtTensor *ti = &T[I->tensor], *tw = &T[W->tensor], *to = &T[O->tensor];
  float *o = to->data;
  if (I->ix == IX_WHOLE || W->ix == IX_WHOLE || O->ix == IX_WHOLE) {
    rt_matmul_whole(ti, tw, o);
  } else {
    memset(o, 0, sizeof(float) * (size_t)to->numel);
    const float *i = ti->data, *w = tw->data;
    int64_t x[NEST_MAX_DIMS] = {0};
    do {
      bool pad = false;
      int64_t ii = flat(I, ti, x, n->ndims, &pad), wi = flat(W, tw, x, n->ndims, &pad);
      if (pad) continue;
      int64_t oi = flat(O, to, x, n->ndims, &pad);
      if (pad) continue; /* a scatter into padding is dropped */
      o[oi] += i[ii] * w[wi];
    } while (next_point(n, x));
  }
  rt_mac_epilogue(n, T);
  return RC_OK;
}

Rc rt_interpret_nest(const Nest *n, RtTensor *T, int ntensors, Diag *d) {
  (void)ntensors;
  switch (n->kind) {
  case NK_MAC: return run_mac(n, T);
  case NK_VIEW: return run_view(n, T);
  default: break;
  }
  switch (vop_class(n->vop)) {
  case VC_POINT: return run_elementwise(n, T);
  case VC_MOVE: return run_move(n, T);
  default: break;
  }
  switch (n->vop) {
  case VOP_GATHER: return run_gather(n, T, d);
  case VOP_MAXPOOL:
  case VOP_AVGPOOL:
  case VOP_GLOBALAVGPOOL:
  case VOP_REDUCEMEAN: return run_reduce(n, T, d);
  case VOP_SOFTMAX: return run_softmax(n, T, d);
  case VOP_RESIZE: return run_resize(n, T);
  default:
    diag_error(d, n->name, "the interpreter has no implementation of op '%s'", vop_name(n->vop));
    return RC_BADINPUT;
  }
}
