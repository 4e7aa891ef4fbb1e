/*
 * elementwise.c: host evaluators of the elementwise ops: unary math and
 * activations, broadcast arithmetic, comparisons and logic, bitwise ops,
 * Where, the variadic Max/Min/Sum/Mean, Cast/CastLike, and the per-element
 * quantization ops QuantizeLinear and DequantizeLinear.
 *
 * Floating-point values compute in double, one rounding to the output type.
 * Integer values compute in int64 and wrap to the output type as two's
 * complement does (numpy's behaviour); u64 compares and divides unsigned.
 * Integer division and Mod by zero are errors, not undefined behaviour.
 * QuantizeLinear divides in the input's precision (f32 for f32, as ONNX
 * Runtime and numpy do), rounds half to even and saturates; bit-exact.
 */
#include "host/internal.h"

#define PI 3.14159265358979323846

#include <math.h>
#include <string.h>

/* ---- unary ------------------------------------------------------------- */

static double softplus(double x) { return x > 30 ? x + log1p(exp(-x)) : log1p(exp(x)); }

/* A float unary op (attributes from a); also the fused activations. */
static double unary_f(Op op, const Attrs *a, double x) {
  switch (op) {
  case OP_ABS: return fabs(x);
  case OP_NEG: return -x;
  case OP_EXP: return exp(x);
  case OP_LOG: return log(x);
  case OP_TANH: return tanh(x);
  case OP_ERF: return erf(x);
  case OP_SIN: return sin(x);
  case OP_COS: return cos(x);
  case OP_TAN: return tan(x);
  case OP_ASIN: return asin(x);
  case OP_ACOS: return acos(x);
  case OP_ATAN: return atan(x);
  case OP_SINH: return sinh(x);
  case OP_COSH: return cosh(x);
  case OP_ASINH: return asinh(x);
  case OP_ACOSH: return acosh(x);
  case OP_ATANH: return atanh(x);
  case OP_FLOOR: return floor(x);
  case OP_CEIL: return ceil(x);
  case OP_ROUND: return nearbyint(x); /* half to even in the default rounding mode */
  case OP_SIGN: return x > 0 ? 1 : x < 0 ? -1 : x;
  case OP_RECIPROCAL: return 1 / x;
  case OP_SQRT: return sqrt(x);
  case OP_RELU: return x > 0 ? x : (x != x ? x : 0);
  case OP_SIGMOID: return 1 / (1 + exp(-x));
  case OP_LEAKYRELU: return x < 0 ? a->alpha * x : x;
  case OP_HARDSIGMOID: {
    double v = a->alpha * x + a->beta;
    return v < 0 ? 0 : v > 1 ? 1 : v;
  }
  case OP_HARDSWISH: {
    double v = x / 6 + 0.5;
    return x * (v < 0 ? 0 : v > 1 ? 1 : v);
  }
  case OP_ELU: return x < 0 ? a->alpha * (exp(x) - 1) : x;
  case OP_SELU: return x <= 0 ? a->gamma * (a->alpha * exp(x) - a->alpha) : a->gamma * x;
  case OP_CELU: {
    double al = a->alpha;
    double neg = al * (exp(x / al) - 1);
    return (x > 0 ? x : 0) + (neg < 0 ? neg : 0);
  }
  case OP_SOFTPLUS: return softplus(x);
  case OP_SOFTSIGN: return x / (1 + fabs(x));
  case OP_GELU:
    if (a->gelu == GELU_TANH)
      return 0.5 * x * (1 + tanh(sqrt(2 / PI) * (x + 0.044715 * x * x * x)));
    return 0.5 * x * (1 + erf(x / sqrt(2.0)));
  case OP_MISH: return x * tanh(softplus(x));
  case OP_THRESHOLDEDRELU: return x > a->alpha ? x : 0;
  case OP_SHRINK: return x < -a->lambd ? x + a->bias : x > a->lambd ? x - a->bias : 0;
  case OP_CLIP: {
    double v = x;
    if (v < a->clip_min) v = a->clip_min;
    if (v > a->clip_max) v = a->clip_max;
    return v;
  }
  default: return x;
  }
}

void ev_apply_act(Op act, const Attrs *a, HostTensor *o) {
  int64_t n = host_numel(o);
  for (int64_t i = 0; i < n; i++) host_put_f(o, i, unary_f(act, a, host_get_f(o, i)));
}

/* Clip bounds for an integer type: the float bounds, saturated. */
static int64_t ibound(double v, bool lo) {
  if (v != v) return lo ? INT64_MIN : INT64_MAX;
  if (v <= -9.2e18) return INT64_MIN;
  if (v >= 9.2e18) return INT64_MAX;
  return lo ? (int64_t)ceil(v) : (int64_t)floor(v);
}

static Rc unary(Ev *e) {
  const Node *n = e->n;
  const HostTensor *x = ev_in(e, 0);
  if (!x) EFAIL("%s needs an input", op_name(n->op));
  DType odt = x->dtype;
  if (n->op == OP_ISNAN || n->op == OP_ISINF || n->op == OP_NOT) odt = DT_BOOL;
  ETRY(ev_out(e, 0, odt, x->rank, x->dims));
  HostTensor *o = &e->out[0];
  int64_t cnt = host_numel(x);
  if (!ev_want(e, 0)) return RC_OK;
  switch (n->op) {
  case OP_ISNAN:
    for (int64_t i = 0; i < cnt; i++) host_put_i(o, i, isnan(host_get_f(x, i)));
    return RC_OK;
  case OP_ISINF:
    for (int64_t i = 0; i < cnt; i++) {
      double v = host_get_f(x, i);
      host_put_i(o, i,
                 (isinf(v) && v > 0 && n->a.detect_pos) || (isinf(v) && v < 0 && n->a.detect_neg));
    }
    return RC_OK;
  case OP_NOT:
    for (int64_t i = 0; i < cnt; i++) host_put_i(o, i, !host_get_i(x, i));
    return RC_OK;
  case OP_BITWISENOT:
    for (int64_t i = 0; i < cnt; i++) host_put_i(o, i, ~host_get_i(x, i));
    return RC_OK;
  default: break;
  }
  if (dt_float(x->dtype)) {
    if (x->dtype == DT_F32 && o->dtype == DT_F32) {
      const float *p = x->data;
      float *q = o->data;
      for (int64_t i = 0; i < cnt; i++) q[i] = (float)unary_f(n->op, &n->a, p[i]);
    } else {
      for (int64_t i = 0; i < cnt; i++) host_put_f(o, i, unary_f(n->op, &n->a, host_get_f(x, i)));
    }
    return RC_OK;
  }
  /* integer inputs */
  bool u64 = x->dtype == DT_U64;
  for (int64_t i = 0; i < cnt; i++) {
    int64_t v = host_get_i(x, i);
    switch (n->op) {
    case OP_ABS: v = (u64 || v >= 0) ? v : (int64_t)(0 - (uint64_t)v); break;
    case OP_NEG: v = (int64_t)(0 - (uint64_t)v); break;
    case OP_SIGN: v = u64 ? (v != 0) : (v > 0) - (v < 0); break;
    case OP_RELU: v = (u64 || v > 0) ? v : 0; break;
    case OP_CLIP: {
      int64_t lo = ibound(n->a.clip_min, true), hi = ibound(n->a.clip_max, false);
      if (u64) {
        uint64_t w = (uint64_t)v;
        if (lo > 0 && w < (uint64_t)lo) w = (uint64_t)lo;
        if (hi < 0 || w > (uint64_t)hi) w = hi < 0 ? 0 : (uint64_t)hi;
        v = (int64_t)w;
      } else {
        if (v < lo) v = lo;
        if (v > hi) v = hi;
      }
      break;
    }
    case OP_FLOOR:
    case OP_CEIL:
    case OP_ROUND: break;
    default: {
      /* float-only math on an integer tensor (Shrink, ...): through double */
      host_put_f(o, i, unary_f(n->op, &n->a, host_get_f(x, i)));
      continue;
    }
    }
    host_put_i(o, i, v);
  }
  return RC_OK;
}

/* ---- binary and variadic ---------------------------------------------- */

static double binary_f(Op op, const Attrs *a, double x, double y) {
  switch (op) {
  case OP_ADD:
  case OP_SUM:
  case OP_MEAN: return x + y;
  case OP_SUB: return x - y;
  case OP_MUL: return x * y;
  case OP_DIV: return x / y;
  case OP_POW: return pow(x, y);
  case OP_MAX: return x != x || y != y ? NAN : x > y ? x : y;
  case OP_MIN: return x != x || y != y ? NAN : x < y ? x : y;
  case OP_MOD: {
    double r = fmod(x, y);
    if (!a->fmod && r != 0 && ((r < 0) != (y < 0))) r += y;
    return r;
  }
  case OP_PRELU: return x < 0 ? y * x : x;
  default: return NAN;
  }
}

/* Integer binary op in 64 bits; false on division by zero. */
static bool binary_i(Op op, const Attrs *a, bool uns, int64_t x, int64_t y, int64_t *r) {
  uint64_t ux = (uint64_t)x, uy = (uint64_t)y;
  switch (op) {
  case OP_ADD:
  case OP_SUM:
  case OP_MEAN: *r = (int64_t)(ux + uy); return true;
  case OP_SUB: *r = (int64_t)(ux - uy); return true;
  case OP_MUL: *r = (int64_t)(ux * uy); return true;
  case OP_DIV:
    if (y == 0) return false;
    if (uns)
      *r = (int64_t)(ux / uy);
    else
      *r = (x == INT64_MIN && y == -1) ? INT64_MIN : x / y;
    return true;
  case OP_MOD:
    if (y == 0) return false;
    if (uns) {
      *r = (int64_t)(ux % uy);
    } else if (x == INT64_MIN && y == -1) {
      *r = 0;
    } else {
      int64_t m = x % y;
      if (!a->fmod && m != 0 && ((m < 0) != (y < 0))) m += y;
      *r = m;
    }
    return true;
  case OP_POW: {
    if (y < 0 && !uns) { /* an integer to a negative power: 1, -1 or 0 (truncated) */
      *r = x == 1 ? 1 : x == -1 ? ((y & 1) ? -1 : 1) : 0;
      return true;
    }
    uint64_t b = ux, p = 1, k = uy;
    while (k) {
      if (k & 1) p *= b;
      b *= b;
      k >>= 1;
    }
    *r = (int64_t)p;
    return true;
  }
  case OP_MAX: *r = uns ? (ux > uy ? x : y) : (x > y ? x : y); return true;
  case OP_MIN: *r = uns ? (ux < uy ? x : y) : (x < y ? x : y); return true;
  case OP_BITSHIFT: {
    uint64_t s = uy;
    uint64_t v = s >= 64 ? 0 : a->shift == SHIFT_LEFT ? ux << s : ux >> s;
    *r = (int64_t)v;
    return true;
  }
  case OP_BITWISEAND: *r = x & y; return true;
  case OP_BITWISEOR: *r = x | y; return true;
  case OP_BITWISEXOR: *r = x ^ y; return true;
  case OP_PRELU: *r = x < 0 && !uns ? (int64_t)((uint64_t)y * ux) : x; return true;
  default: return false;
  }
}

static bool compare(Op op, double x, double y) {
  switch (op) {
  case OP_EQUAL: return x == y;
  case OP_LESS: return x < y;
  case OP_GREATER: return x > y;
  case OP_LESSOREQUAL: return x <= y;
  case OP_GREATEROREQUAL: return x >= y;
  default: return false;
  }
}

static bool compare_i(Op op, bool uns, int64_t x, int64_t y) {
  int c = uns ? ((uint64_t)x > (uint64_t)y) - ((uint64_t)x < (uint64_t)y) : (x > y) - (x < y);
  switch (op) {
  case OP_EQUAL: return c == 0;
  case OP_LESS: return c < 0;
  case OP_GREATER: return c > 0;
  case OP_LESSOREQUAL: return c <= 0;
  case OP_GREATEROREQUAL: return c >= 0;
  case OP_AND: return x && y;
  case OP_OR: return x || y;
  case OP_XOR: return (x != 0) != (y != 0);
  default: return false;
  }
}

static bool is_compare(Op op) {
  return op == OP_EQUAL || op == OP_LESS || op == OP_GREATER || op == OP_LESSOREQUAL ||
         op == OP_GREATEROREQUAL || op == OP_AND || op == OP_OR || op == OP_XOR;
}

/* Broadcast fold of inputs [0, nin) (variadic ops fold left). */
static Rc nary(Ev *e) {
  const Node *n = e->n;
  const HostTensor *ts[64];
  int k = 0;
  for (int i = 0; i < e->nin && k < 64; i++)
    if (ev_in(e, i)) ts[k++] = ev_in(e, i);
  if (k == 0) EFAIL("%s needs inputs", op_name(n->op));
  if (k < e->nin && e->nin > 64) EFAIL("%s has more than 64 inputs", op_name(n->op));
  int r;
  int64_t od[NAASC_MAX_RANK];
  if (!bcast_shape(ts, k, &r, od)) EFAIL("the inputs of %s do not broadcast", op_name(n->op));
  const HostTensor *x = ts[0];
  bool cmp = is_compare(n->op);
  DType odt = cmp ? DT_BOOL : x->dtype;
  if (n->op == OP_PRELU) { /* unidirectional: the output is X's shape */
    r = x->rank;
    memcpy(od, x->dims, sizeof od);
    int rr;
    int64_t bd[NAASC_MAX_RANK];
    if (!bcast_shape(ts, k, &rr, bd) || rr != r || memcmp(bd, od, sizeof(int64_t) * (size_t)r))
      EFAIL("PRelu slope does not broadcast to X");
  }
  ETRY(ev_out(e, 0, odt, r, od));
  if (!ev_want(e, 0)) return RC_OK;
  HostTensor *o = &e->out[0];
  int64_t st[64][NAASC_MAX_RANK];
  for (int i = 0; i < k; i++) bcast_strides(ts[i], r, od, st[i]);
  int64_t idx[NAASC_MAX_RANK] = {0}, cnt = prod(od, 0, r);
  bool fl = dt_float(x->dtype), uns = dt_unsigned(x->dtype);
  for (int64_t j = 0; j < cnt; j++) {
    int64_t off[64];
    for (int i = 0; i < k; i++) {
      off[i] = 0;
      for (int q = 0; q < r; q++) off[i] += idx[q] * st[i][q];
    }
    if (cmp) {
      bool v;
      if (fl)
        v = compare(n->op, host_get_f(ts[0], off[0]), host_get_f(ts[1], off[1]));
      else
        v = compare_i(n->op, uns, host_get_i(ts[0], off[0]), host_get_i(ts[1], off[1]));
      ((unsigned char *)o->data)[j] = v;
    } else if (fl || (n->op == OP_POW && dt_float(ts[1]->dtype))) {
      double acc = host_get_f(ts[0], off[0]);
      for (int i = 1; i < k; i++) acc = binary_f(n->op, &n->a, acc, host_get_f(ts[i], off[i]));
      if (n->op == OP_MEAN) acc /= k;
      host_put_f(o, j, acc);
    } else {
      int64_t acc = host_get_i(ts[0], off[0]);
      for (int i = 1; i < k; i++)
        if (!binary_i(n->op, &n->a, uns, acc, host_get_i(ts[i], off[i]), &acc))
          EFAIL("integer %s by zero", op_name(n->op));
      if (n->op == OP_MEAN) acc /= k;
      host_put_i(o, j, acc);
    }
    next_index(r, od, idx);
  }
  return RC_OK;
}

static Rc where(Ev *e) {
  const HostTensor *c = ev_in(e, 0), *x = ev_in(e, 1), *y = ev_in(e, 2);
  if (!c || !x || !y) EFAIL("Where needs 3 inputs");
  const HostTensor *ts[3] = {c, x, y};
  int r;
  int64_t od[NAASC_MAX_RANK];
  if (!bcast_shape(ts, 3, &r, od)) EFAIL("the inputs of Where do not broadcast");
  ETRY(ev_out(e, 0, x->dtype, r, od));
  if (!ev_want(e, 0)) return RC_OK;
  int64_t st[3][NAASC_MAX_RANK], idx[NAASC_MAX_RANK] = {0}, cnt = prod(od, 0, r);
  for (int i = 0; i < 3; i++) bcast_strides(ts[i], r, od, st[i]);
  for (int64_t j = 0; j < cnt; j++) {
    int64_t off[3] = {0, 0, 0};
    for (int i = 0; i < 3; i++)
      for (int q = 0; q < r; q++) off[i] += idx[q] * st[i][q];
    copy_elem(&e->out[0], j, host_get_i(c, off[0]) ? x : y,
              host_get_i(c, off[0]) ? off[1] : off[2]);
    next_index(r, od, idx);
  }
  return RC_OK;
}

static Rc cast(Ev *e) {
  const HostTensor *x = ev_in(e, 0);
  if (!x) EFAIL("%s needs an input", op_name(e->n->op));
  DType to = e->n->op == OP_CASTLIKE && ev_in(e, 1) ? ev_in(e, 1)->dtype : e->n->a.to;
  if (dtype_size(to) == 0) EFAIL("cannot cast to %s", dtype_name(to));
  ETRY(ev_out(e, 0, to, x->rank, x->dims));
  if (!ev_want(e, 0)) return RC_OK;
  int64_t cnt = host_numel(x);
  for (int64_t i = 0; i < cnt; i++) copy_elem(&e->out[0], i, x, i);
  return RC_OK;
}

/* ---- quantization ------------------------------------------------------ */

/* The saturation range of a quantized type. */
static bool qrange(DType t, int64_t *lo, int64_t *hi) {
  switch (t) {
  case DT_U8:
    *lo = 0;
    *hi = 255;
    return true;
  case DT_I8:
    *lo = -128;
    *hi = 127;
    return true;
  case DT_U16:
    *lo = 0;
    *hi = 65535;
    return true;
  case DT_I16:
    *lo = -32768;
    *hi = 32767;
    return true;
  case DT_I32:
    *lo = INT32_MIN;
    *hi = INT32_MAX;
    return true;
  default: return false;
  }
}

/* Index of the per-axis parameter for element i of x (0 for per tensor). */
static int64_t param_index(const HostTensor *x, const HostTensor *p, int64_t axis, int64_t i) {
  if (!p || host_numel(p) <= 1) return 0;
  int64_t inner = prod(x->dims, (int)axis + 1, x->rank);
  return (i / inner) % x->dims[axis];
}

static Rc quant_axis(Ev *e, const HostTensor *x, const HostTensor *s, const HostTensor *z,
                     int64_t *axis) {
  int64_t ax = e->n->a.axis;
  if (ax < 0) ax += x->rank;
  int64_t ns = host_numel(s);
  if (ns > 1 || (s && s->rank == 1 && x->rank > 0)) {
    if (s->rank != 1 || ax < 0 || ax >= x->rank || s->dims[0] != x->dims[ax])
      EFAIL("the scale has %lld values: per-axis quantization needs one per element of axis %lld",
            (long long)ns, (long long)e->n->a.axis);
  }
  if (z && host_numel(z) != ns) EFAIL("the zero point and the scale differ in size");
  *axis = ax < 0 ? 0 : ax;
  return RC_OK;
}

static Rc quantize(Ev *e) {
  const HostTensor *x = ev_in(e, 0), *s = ev_in(e, 1), *z = ev_in(e, 2);
  if (!x || !s) EFAIL("QuantizeLinear needs x and y_scale");
  DType yt = z ? z->dtype : e->n->a.to ? e->n->a.to : DT_U8;
  int64_t lo, hi, axis;
  if (!qrange(yt, &lo, &hi)) EFAIL("cannot quantize to %s", dtype_name(yt));
  ETRY(quant_axis(e, x, s, z, &axis));
  ETRY(ev_out(e, 0, yt, x->rank, x->dims));
  if (!ev_want(e, 0)) return RC_OK;
  int64_t cnt = host_numel(x);
  bool single = x->dtype != DT_F64;
  for (int64_t i = 0; i < cnt; i++) {
    int64_t p = param_index(x, s, axis, i);
    double q;
    if (single) /* x / scale in f32, as the definition's float arithmetic */
      q = nearbyintf((float)host_get_f(x, i) / (float)host_get_f(s, p));
    else
      q = nearbyint(host_get_f(x, i) / host_get_f(s, p));
    double v = q + (double)(z ? host_get_i(z, p) : 0);
    int64_t y = v != v ? 0 : v < (double)lo ? lo : v > (double)hi ? hi : (int64_t)v;
    host_put_i(&e->out[0], i, y);
  }
  return RC_OK;
}

static Rc dequantize(Ev *e) {
  const HostTensor *x = ev_in(e, 0), *s = ev_in(e, 1), *z = ev_in(e, 2);
  if (!x || !s) EFAIL("DequantizeLinear needs x and x_scale");
  int64_t axis;
  ETRY(quant_axis(e, x, s, z, &axis));
  if (z && z->dtype != x->dtype) EFAIL("the zero point's type differs from x's");
  ETRY(ev_out(e, 0, s->dtype, x->rank, x->dims));
  if (!ev_want(e, 0)) return RC_OK;
  int64_t cnt = host_numel(x);
  for (int64_t i = 0; i < cnt; i++) {
    int64_t p = param_index(x, s, axis, i);
    int64_t d = host_get_i(x, i) - (z ? host_get_i(z, p) : 0);
    double v = s->dtype == DT_F64 ? (double)d * host_get_f(s, p)
                                  : (double)((float)d * (float)host_get_f(s, p));
    host_put_f(&e->out[0], i, v);
  }
  return RC_OK;
}

Rc ev_elementwise(Ev *e) {
  switch (e->n->op) {
  case OP_ADD:
  case OP_SUB:
  case OP_MUL:
  case OP_DIV:
  case OP_POW:
  case OP_MAX:
  case OP_MIN:
  case OP_SUM:
  case OP_MEAN:
  case OP_MOD:
  case OP_BITSHIFT:
  case OP_BITWISEAND:
  case OP_BITWISEOR:
  case OP_BITWISEXOR:
  case OP_EQUAL:
  case OP_LESS:
  case OP_GREATER:
  case OP_LESSOREQUAL:
  case OP_GREATEROREQUAL:
  case OP_AND:
  case OP_OR:
  case OP_XOR:
  case OP_PRELU: return nary(e);
  case OP_WHERE: return where(e);
  case OP_CAST:
  case OP_CASTLIKE: return cast(e);
  case OP_QUANTIZELINEAR: return quantize(e);
  case OP_DEQUANTIZELINEAR: return dequantize(e);
  default: return unary(e);
  }
}
