/*
 * nn.c: host evaluators of the windowed and matrix ops: Conv and
 * ConvTranspose (N-d, groups, dilations), their integer forms ConvInteger
 * and QLinearConv, MaxPool/AveragePool/MaxUnpool, Gemm, MatMul and its
 * integer forms MatMulInteger and QLinearMatMul, Resize/Upsample,
 * GridSample, RoiAlign, Einsum and Det.
 *
 * Float convolutions and products accumulate in double.  The integer forms
 * subtract zero points and accumulate in 64 bits, wrapped to i32 (the
 * accelerator's 32-bit accumulator); QLinear* requantize as ONNX Runtime
 * does: multiplier = x_scale * w_scale / y_scale in f32, y = saturate(
 * round_half_even(acc * multiplier) + y_zero_point), bit-exact.
 * Pads are explicit here: shape inference resolved auto_pad.  GridSample
 * follows PyTorch's grid_sample (which ONNX's definition cites) and
 * RoiAlign ONNX Runtime's kernel, the two references of their test data.
 */
#include "host/internal.h"

#include <math.h>
#include <string.h>

static int64_t norm_ax(int64_t a, int rank) { return a < 0 ? a + rank : a; }

/* ---- convolutions ------------------------------------------------------ */

typedef struct {
  int nsp;
  int64_t in[NAASC_MAX_RANK], out[NAASC_MAX_RANK], k[NAASC_MAX_RANK];
  int64_t s[NAASC_MAX_RANK], dl[NAASC_MAX_RANK], pb[NAASC_MAX_RANK], pe[NAASC_MAX_RANK];
} Win;

/* Window geometry from the attributes; out computed unless transposed. */
static Rc window_geom(Ev *e, const HostTensor *x, const HostTensor *w, Win *g, bool ceil_mode) {
  const Attrs *a = &e->n->a;
  g->nsp = x->rank - 2;
  if (g->nsp < 1 || g->nsp > NAASC_MAX_RANK - 2) EFAIL("input must have N, C and spatial dims");
  for (int i = 0; i < g->nsp; i++) {
    g->in[i] = x->dims[i + 2];
    g->k[i] = a->nsp ? a->kernel[i] : w ? w->dims[i + 2] : 1;
    g->s[i] = a->strides[i];
    g->dl[i] = a->dilations[i];
    g->pb[i] = a->nsp ? a->pads[i] : 0;
    g->pe[i] = a->nsp ? a->pads[i + a->nsp] : 0;
    if (g->k[i] <= 0 || g->s[i] <= 0 || g->dl[i] <= 0)
      EFAIL("kernel, strides and dilations must be positive");
    int64_t ek = (g->k[i] - 1) * g->dl[i] + 1, span = g->in[i] + g->pb[i] + g->pe[i] - ek;
    if (span < 0) EFAIL("the window is larger than the padded input");
    g->out[i] = (ceil_mode ? (span + g->s[i] - 1) / g->s[i] : span / g->s[i]) + 1;
  }
  return RC_OK;
}

/* The first and one-past-last output index o in 0..nout whose input
 * o*s - pb + k*dl falls in 0..nin. */
static void tap_range(int64_t nin, int64_t nout, int64_t s, int64_t pb, int64_t kdl, int64_t *lo,
                      int64_t *hi) {
  int64_t a = pb - kdl, b = nin - 1 + pb - kdl; /* o*s in a..b */
  *lo = a <= 0 ? 0 : (a + s - 1) / s;
  *hi = b < 0 ? 0 : b / s + 1;
  if (*hi > nout) *hi = nout;
  if (*lo > *hi) *lo = *hi;
}

/* One output channel of an integer 2-D conv: acc[o] = bias + the sum over
 * the group's cpg channels and the kernel taps of (x - xzp) * (w - wzp),
 * x the channels of the group (rows of g->in[1]), w the channel's weights. */
static void conv2_int(const Win *g, const int64_t *x, const int64_t *w, int64_t cpg, int64_t xzp,
                      int64_t wzp, int64_t bias, int64_t *acc) {
  int64_t O0 = g->out[0], O1 = g->out[1], I0 = g->in[0], I1 = g->in[1];
  for (int64_t o = 0; o < O0 * O1; o++) acc[o] = bias;
  for (int64_t c = 0; c < cpg; c++)
    for (int64_t kr = 0; kr < g->k[0]; kr++) {
      int64_t ylo, yhi;
      tap_range(I0, O0, g->s[0], g->pb[0], kr * g->dl[0], &ylo, &yhi);
      for (int64_t ks = 0; ks < g->k[1]; ks++) {
        int64_t wv = w[(c * g->k[0] + kr) * g->k[1] + ks] - wzp;
        int64_t xlo, xhi;
        tap_range(I1, O1, g->s[1], g->pb[1], ks * g->dl[1], &xlo, &xhi);
        if (wv == 0 || xlo == xhi) continue;
        for (int64_t oy = ylo; oy < yhi; oy++) {
          int64_t row =
              (c * I0 + oy * g->s[0] - g->pb[0] + kr * g->dl[0]) * I1 - g->pb[1] + ks * g->dl[1];
          int64_t *ao = acc + oy * O1;
          for (int64_t ox = xlo; ox < xhi; ox++) ao[ox] += (x[row + ox * g->s[1]] - xzp) * wv;
        }
      }
    }
}

/* Conv and its integer forms.  q: 0 float, 1 ConvInteger, 2 QLinearConv. */
static Rc conv(Ev *e, int q) {
  const Attrs *a = &e->n->a;
  const HostTensor *x, *w, *b, *xz = NULL, *wz = NULL, *xs = NULL, *ws = NULL, *ys = NULL,
                               *yz = NULL;
  if (q == 2) {
    x = ev_in(e, 0), xs = ev_in(e, 1), xz = ev_in(e, 2), w = ev_in(e, 3), ws = ev_in(e, 4);
    wz = ev_in(e, 5), ys = ev_in(e, 6), yz = ev_in(e, 7), b = ev_in(e, 8);
    if (!xs || !ws || !ys) EFAIL("QLinearConv needs x_scale, w_scale and y_scale");
  } else {
    x = ev_in(e, 0), w = ev_in(e, 1);
    b = q == 0 ? ev_in(e, 2) : NULL;
    if (q == 1) xz = ev_in(e, 2), wz = ev_in(e, 3);
  }
  if (!x || !w || w->rank != x->rank) EFAIL("%s needs X and W of the same rank", op_name(e->n->op));
  Win g;
  ETRY(window_geom(e, x, w, &g, false));
  int64_t N = x->dims[0], C = x->dims[1], M = w->dims[0], G = a->group;
  if (G <= 0 || C % G || M % G || w->dims[1] * G != C)
    EFAIL("channels do not match the weight and group");
  if (b && host_numel(b) != M) EFAIL("the bias must have %lld values", (long long)M);
  int64_t od[NAASC_MAX_RANK] = {N, M};
  for (int i = 0; i < g.nsp; i++) od[i + 2] = g.out[i];
  DType odt = q == 0 ? x->dtype : q == 1 ? DT_I32 : (yz ? yz->dtype : DT_U8);
  ETRY(ev_out(e, 0, odt, x->rank, od));
  if (!ev_want(e, 0)) return RC_OK;
  int64_t cpg = C / G, mpg = M / G, osp = prod(g.out, 0, g.nsp), ksp = prod(g.k, 0, g.nsp);
  int64_t isp = prod(g.in, 0, g.nsp);
  bool fl = q == 0 && dt_float(x->dtype);
  double *xv = fl ? ev_f64(e, x) : NULL, *wv = fl ? ev_f64(e, w) : NULL;
  int64_t *xi = fl ? NULL : ev_i64(e, x), *wi = fl ? NULL : ev_i64(e, w);
  if (fl ? (!xv || !wv) : (!xi || !wi)) EOOM();
  int64_t xzp = xz ? host_get_i(xz, 0) : 0;
  if (xz && host_numel(xz) != 1) EFAIL("the x zero point must be a scalar");
  if (wz && host_numel(wz) != 1 && host_numel(wz) != M)
    EFAIL("the w zero point must be a scalar or per output channel");
  if (ws && host_numel(ws) != 1 && host_numel(ws) != M)
    EFAIL("w_scale must be a scalar or per output channel");
  int64_t oidx[NAASC_MAX_RANK], kidx[NAASC_MAX_RANK];
  /* Integer 2-D: the sums of one output channel at once, a kernel tap at
   * a time over the rows and columns it reaches (the same exact int64
   * sums in another order). */
  int64_t *acc2 = !fl && g.nsp == 2 ? ev_alloc(e, sizeof(int64_t) * (size_t)osp) : NULL;
  if (!fl && g.nsp == 2 && !acc2) EOOM();
  for (int64_t n = 0; n < N; n++)
    for (int64_t m = 0; m < M; m++) {
      int64_t grp = m / mpg;
      int64_t wzp = wz ? host_get_i(wz, host_numel(wz) == 1 ? 0 : m) : 0;
      (void)mpg;
      if (acc2)
        conv2_int(&g, xi + (n * C + grp * cpg) * isp, wi + m * cpg * ksp, cpg, xzp, wzp,
                  b ? host_get_i(b, m) : 0, acc2);
      memset(oidx, 0, sizeof oidx);
      for (int64_t o = 0; o < osp; o++) {
        double accf = b && fl ? host_get_f(b, m) : 0;
        int64_t acci = b && !fl ? host_get_i(b, m) : 0;
        if (acc2) acci = acc2[o];
        for (int64_t c = 0; c < cpg && !acc2; c++) {
          int64_t ic = grp * cpg + c;
          memset(kidx, 0, sizeof kidx);
          for (int64_t k = 0; k < ksp; k++) {
            int64_t off = 0;
            bool inside = true;
            for (int i = 0; i < g.nsp; i++) {
              int64_t p = oidx[i] * g.s[i] - g.pb[i] + kidx[i] * g.dl[i];
              if (p < 0 || p >= g.in[i]) {
                inside = false;
                break;
              }
              off = off * g.in[i] + p;
            }
            if (inside) {
              int64_t xo = (n * C + ic) * isp + off, wo = (m * cpg + c) * ksp + k;
              if (fl)
                accf += xv[xo] * wv[wo];
              else
                acci += (xi[xo] - xzp) * (wi[wo] - wzp);
            }
            next_index(g.nsp, g.k, kidx);
          }
        }
        int64_t oo = (n * M + m) * osp + o;
        if (fl) {
          host_put_f(&e->out[0], oo, accf);
        } else if (q == 1) {
          host_put_i(&e->out[0], oo, (int32_t)(uint32_t)acci);
        } else {
          float mult = (float)host_get_f(xs, 0) *
                       (float)host_get_f(ws, host_numel(ws) == 1 ? 0 : m) /
                       (float)host_get_f(ys, 0);
          float v = nearbyintf((float)(int32_t)(uint32_t)acci * mult) +
                    (float)(yz ? host_get_i(yz, 0) : 0);
          int64_t lo = odt == DT_I8 ? -128 : 0, hi = odt == DT_I8 ? 127 : 255;
          host_put_i(&e->out[0], oo, v < lo ? lo : v > hi ? hi : (int64_t)v);
        }
        next_index(g.nsp, g.out, oidx);
      }
    }
  return RC_OK;
}

static Rc conv_transpose(Ev *e) {
  const Attrs *a = &e->n->a;
  const HostTensor *x = ev_in(e, 0), *w = ev_in(e, 1), *b = ev_in(e, 2);
  if (!x || !w || w->rank != x->rank || x->rank < 3)
    EFAIL("ConvTranspose needs X and W of the same rank");
  int nsp = x->rank - 2;
  int64_t N = x->dims[0], C = x->dims[1], G = a->group;
  if (G <= 0 || C % G || w->dims[0] != C) EFAIL("channels do not match the weight and group");
  int64_t mpg = w->dims[1], M = mpg * G, cpg = C / G;
  if (b && host_numel(b) != M) EFAIL("the bias must have %lld values", (long long)M);
  int64_t od[NAASC_MAX_RANK] = {N, M}, in[NAASC_MAX_RANK], k[NAASC_MAX_RANK];
  for (int i = 0; i < nsp; i++) {
    in[i] = x->dims[i + 2];
    k[i] = w->dims[i + 2];
    od[i + 2] = a->strides[i] * (in[i] - 1) + a->out_pad[i] + (k[i] - 1) * a->dilations[i] + 1 -
                a->pads[i] - a->pads[i + nsp];
    if (od[i + 2] <= 0) EFAIL("the output would be empty");
  }
  ETRY(ev_out(e, 0, x->dtype, x->rank, od));
  if (!ev_want(e, 0)) return RC_OK;
  int64_t osp = prod(od, 2, x->rank), isp = prod(in, 0, nsp), ksp = prod(k, 0, nsp);
  double *y = ev_alloc(e, sizeof(double) * (size_t)(N * M * osp));
  double *xv = ev_f64(e, x), *wv = ev_f64(e, w);
  if (!y || !xv || !wv) EOOM();
  int64_t iidx[NAASC_MAX_RANK], kidx[NAASC_MAX_RANK];
  for (int64_t n = 0; n < N; n++)
    for (int64_t c = 0; c < C; c++) {
      int64_t grp = c / cpg;
      memset(iidx, 0, sizeof iidx);
      for (int64_t ii = 0; ii < isp; ii++) {
        double xval = xv[(n * C + c) * isp + ii];
        memset(kidx, 0, sizeof kidx);
        for (int64_t kk = 0; kk < ksp; kk++) {
          int64_t off = 0;
          bool inside = true;
          for (int i = 0; i < nsp; i++) {
            int64_t p = iidx[i] * a->strides[i] + kidx[i] * a->dilations[i] - a->pads[i];
            if (p < 0 || p >= od[i + 2]) {
              inside = false;
              break;
            }
            off = off * od[i + 2] + p;
          }
          if (inside)
            for (int64_t m = 0; m < mpg; m++)
              y[(n * M + grp * mpg + m) * osp + off] += xval * wv[(c * mpg + m) * ksp + kk];
          next_index(nsp, k, kidx);
        }
        next_index(nsp, in, iidx);
      }
    }
  if (b)
    for (int64_t i = 0; i < N * M * osp; i++) y[i] += host_get_f(b, (i / osp) % M);
  store_f64(&e->out[0], y);
  return RC_OK;
}

/* ---- pooling ----------------------------------------------------------- */

static Rc pool(Ev *e) {
  const Attrs *a = &e->n->a;
  const HostTensor *x = ev_in(e, 0);
  if (!x) EFAIL("%s needs an input", op_name(e->n->op));
  if (ev_want(e, 1)) EFAIL("MaxPool's Indices output is not supported");
  Win g;
  ETRY(window_geom(e, x, NULL, &g, a->ceil_mode));
  bool mx = e->n->op == OP_MAXPOOL;
  int64_t od[NAASC_MAX_RANK] = {x->dims[0], x->dims[1]};
  for (int i = 0; i < g.nsp; i++) od[i + 2] = g.out[i];
  ETRY(ev_out(e, 0, x->dtype, x->rank, od));
  if (!ev_want(e, 0)) return RC_OK;
  int64_t nc = x->dims[0] * x->dims[1], osp = prod(g.out, 0, g.nsp), ksp = prod(g.k, 0, g.nsp);
  int64_t isp = prod(g.in, 0, g.nsp), oidx[NAASC_MAX_RANK], kidx[NAASC_MAX_RANK];
  bool fl = dt_float(x->dtype);
  for (int64_t c = 0; c < nc; c++) {
    memset(oidx, 0, sizeof oidx);
    for (int64_t o = 0; o < osp; o++) {
      double acc = mx ? -INFINITY : 0;
      int64_t iacc = INT64_MIN, cnt = 0, cnt_pad = 0;
      memset(kidx, 0, sizeof kidx);
      for (int64_t k = 0; k < ksp; k++) {
        int64_t off = 0;
        bool inside = true, in_pad = true;
        for (int i = 0; i < g.nsp; i++) {
          int64_t p = oidx[i] * g.s[i] - g.pb[i] + kidx[i] * g.dl[i];
          if (p < -g.pb[i] || p >= g.in[i] + g.pe[i]) in_pad = false;
          if (p < 0 || p >= g.in[i]) inside = false;
          off = off * g.in[i] + p;
        }
        cnt_pad += in_pad;
        if (inside) {
          cnt++;
          if (fl) {
            double v = host_get_f(x, c * isp + off);
            acc = mx ? (v > acc || v != v ? v : acc) : acc + v;
          } else {
            int64_t v = host_get_i(x, c * isp + off);
            if (v > iacc) iacc = v;
            acc += (double)v;
          }
        }
        next_index(g.nsp, g.k, kidx);
      }
      int64_t oo = c * osp + o;
      if (mx) {
        if (fl)
          host_put_f(&e->out[0], oo, acc);
        else
          host_put_i(&e->out[0], oo, iacc);
      } else {
        host_put_f(&e->out[0], oo, acc / (double)(a->count_include_pad ? cnt_pad : cnt));
      }
      next_index(g.nsp, g.out, oidx);
    }
  }
  return RC_OK;
}

static Rc max_unpool(Ev *e) {
  const Attrs *a = &e->n->a;
  const HostTensor *x = ev_in(e, 0), *ix = ev_in(e, 1);
  if (!x || !ix || x->rank < 3 || ix->rank != x->rank)
    EFAIL("MaxUnpool needs X and I of the same shape");
  int nsp = x->rank - 2;
  int64_t od[NAASC_MAX_RANK] = {x->dims[0], x->dims[1]};
  for (int i = 0; i < nsp; i++)
    od[i + 2] = a->nshape ? a->shape[i + 2]
                          : (x->dims[i + 2] - 1) * a->strides[i] - a->pads[i] - a->pads[i + nsp] +
                                a->kernel[i];
  ETRY(ev_out(e, 0, x->dtype, x->rank, od));
  if (!ev_want(e, 0)) return RC_OK;
  /* indices count in the default output shape (that of the unpooled
   * tensor); a given output_shape places each at the same coordinates */
  int64_t dd[NAASC_MAX_RANK] = {x->dims[0], x->dims[1]};
  for (int i = 0; i < nsp; i++)
    dd[i + 2] = (x->dims[i + 2] - 1) * a->strides[i] - a->pads[i] - a->pads[i + nsp] + a->kernel[i];
  int64_t total = prod(dd, 0, x->rank), cnt = host_numel(x);
  for (int64_t i = 0; i < cnt; i++) {
    int64_t t = host_get_i(ix, i), rem = t, off = 0, idx[NAASC_MAX_RANK];
    if (t < 0 || t >= total) EFAIL("index %lld is out of range for the output", (long long)t);
    for (int q = x->rank - 1; q >= 0; q--) {
      idx[q] = rem % dd[q];
      rem /= dd[q];
    }
    for (int q = 0; q < x->rank; q++) {
      if (idx[q] >= od[q]) EFAIL("index %lld falls outside output_shape", (long long)t);
      off = off * od[q] + idx[q];
    }
    copy_elem(&e->out[0], off, x, i);
  }
  return RC_OK;
}

/* ---- matrix products --------------------------------------------------- */

static Rc gemm(Ev *e) {
  const Attrs *a = &e->n->a;
  const HostTensor *A = ev_in(e, 0), *B = ev_in(e, 1), *Cc = ev_in(e, 2);
  if (!A || !B || A->rank != 2 || B->rank != 2) EFAIL("Gemm needs 2-D A and B");
  int64_t M = a->trans_a ? A->dims[1] : A->dims[0], K = a->trans_a ? A->dims[0] : A->dims[1];
  int64_t K2 = a->trans_b ? B->dims[1] : B->dims[0], N = a->trans_b ? B->dims[0] : B->dims[1];
  if (K != K2) EFAIL("Gemm inner dims disagree");
  int64_t od[2] = {M, N}, cst[2] = {0, 0};
  if (Cc) {
    if (Cc->rank > 2) EFAIL("Gemm C has rank %d", Cc->rank);
    HostTensor o2;
    memset(&o2, 0, sizeof o2);
    o2.rank = 2;
    o2.dims[0] = M;
    o2.dims[1] = N;
    const HostTensor *ts[2] = {&o2, Cc};
    int r;
    int64_t bd[NAASC_MAX_RANK];
    if (!bcast_shape(ts, 2, &r, bd) || bd[0] != M || bd[1] != N) EFAIL("Gemm C does not broadcast");
    bcast_strides(Cc, 2, od, cst);
  }
  ETRY(ev_out(e, 0, A->dtype, 2, od));
  if (!ev_want(e, 0)) return RC_OK;
  bool fl = dt_float(A->dtype);
  for (int64_t i = 0; i < M; i++)
    for (int64_t j = 0; j < N; j++) {
      double s = 0;
      int64_t si = 0;
      for (int64_t k = 0; k < K; k++) {
        int64_t ao = a->trans_a ? k * M + i : i * K + k, bo = a->trans_b ? j * K + k : k * N + j;
        if (fl)
          s += host_get_f(A, ao) * host_get_f(B, bo);
        else
          si += host_get_i(A, ao) * host_get_i(B, bo);
      }
      if (fl) {
        double v = a->alpha * s + (Cc ? a->beta * host_get_f(Cc, i * cst[0] + j * cst[1]) : 0);
        host_put_f(&e->out[0], i * N + j, v);
      } else {
        int64_t v = (int64_t)(a->alpha * (double)si) +
                    (Cc ? (int64_t)(a->beta * (double)host_get_i(Cc, i * cst[0] + j * cst[1])) : 0);
        host_put_i(&e->out[0], i * N + j, v);
      }
    }
  return RC_OK;
}

/* numpy matmul of A and B; q: 0 float, 1 MatMulInteger, 2 QLinearMatMul. */
static Rc matmul(Ev *e, int q) {
  const HostTensor *A, *B, *az = NULL, *bz = NULL, *as = NULL, *bs = NULL, *ys = NULL, *yz = NULL;
  if (q == 2) {
    A = ev_in(e, 0), as = ev_in(e, 1), az = ev_in(e, 2), B = ev_in(e, 3), bs = ev_in(e, 4);
    bz = ev_in(e, 5), ys = ev_in(e, 6), yz = ev_in(e, 7);
    if (!as || !bs || !ys) EFAIL("QLinearMatMul needs a_scale, b_scale and y_scale");
  } else {
    A = ev_in(e, 0), B = ev_in(e, 1);
    if (q == 1) az = ev_in(e, 2), bz = ev_in(e, 3);
  }
  if (!A || !B || A->rank < 1 || B->rank < 1)
    EFAIL("%s needs A and B of rank 1 or more", op_name(e->n->op));
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
  int64_t M = ad[ar - 2], K = ad[ar - 1], N = bd[br - 1];
  if (bd[br - 2] != K)
    EFAIL("inner dims disagree: %lld vs %lld", (long long)K, (long long)bd[br - 2]);
  int r = ar > br ? ar : br;
  int64_t batch[NAASC_MAX_RANK], od[NAASC_MAX_RANK];
  for (int k = 0; k < r - 2; k++) {
    int ia = k - (r - ar), ib = k - (r - br);
    int64_t x = ia >= 0 ? ad[ia] : 1, y = ib >= 0 ? bd[ib] : 1;
    if (x != y && x != 1 && y != 1) EFAIL("batch dims do not broadcast");
    batch[k] = x == 1 ? y : x;
  }
  int orank = 0;
  for (int k = 0; k < r - 2; k++) od[orank++] = batch[k];
  if (A->rank != 1) od[orank++] = M;
  if (B->rank != 1) od[orank++] = N;
  DType odt = q == 0 ? A->dtype : q == 1 ? DT_I32 : (yz ? yz->dtype : DT_U8);
  ETRY(ev_out(e, 0, odt, orank, od));
  if (!ev_want(e, 0)) return RC_OK;
  /* zero points and scales: scalar, per row of A (M), per column of B (N) */
  if (az && host_numel(az) != 1 && host_numel(az) != M)
    EFAIL("a's zero point must be a scalar or per row");
  if (bz && host_numel(bz) != 1 && host_numel(bz) != N)
    EFAIL("b's zero point must be a scalar or per column");
  if (bs && host_numel(bs) != 1 && host_numel(bs) != N)
    EFAIL("b_scale must be a scalar or per column");
  if (as && host_numel(as) != 1 && host_numel(as) != M)
    EFAIL("a_scale must be a scalar or per row");
  int64_t nb = prod(batch, 0, r - 2), bidx[NAASC_MAX_RANK] = {0};
  bool fl = q == 0 && dt_float(A->dtype);
  for (int64_t t = 0; t < nb; t++) {
    int64_t aoff = 0, boff = 0;
    for (int k = 0; k < r - 2; k++) {
      int ia = k - (r - ar), ib = k - (r - br);
      if (ia >= 0) aoff = aoff * ad[ia] + (ad[ia] == 1 ? 0 : bidx[k]);
      if (ib >= 0) boff = boff * bd[ib] + (bd[ib] == 1 ? 0 : bidx[k]);
    }
    aoff *= M * K;
    boff *= K * N;
    for (int64_t i = 0; i < M; i++)
      for (int64_t j = 0; j < N; j++) {
        double s = 0;
        int64_t si = 0;
        int64_t azp = az ? host_get_i(az, host_numel(az) == 1 ? 0 : i) : 0;
        int64_t bzp = bz ? host_get_i(bz, host_numel(bz) == 1 ? 0 : j) : 0;
        for (int64_t k = 0; k < K; k++) {
          int64_t ao = aoff + i * K + k, bo = boff + k * N + j;
          if (fl)
            s += host_get_f(A, ao) * host_get_f(B, bo);
          else
            si += (host_get_i(A, ao) - azp) * (host_get_i(B, bo) - bzp);
        }
        int64_t oo = (t * M + i) * N + j;
        if (fl) {
          host_put_f(&e->out[0], oo, s);
        } else if (q == 0 || q == 1) {
          host_put_i(&e->out[0], oo, q == 1 ? (int32_t)(uint32_t)si : si);
        } else {
          float mult = (float)host_get_f(as, host_numel(as) == 1 ? 0 : i) *
                       (float)host_get_f(bs, host_numel(bs) == 1 ? 0 : j) /
                       (float)host_get_f(ys, 0);
          float v =
              nearbyintf((float)(int32_t)(uint32_t)si * mult) + (float)(yz ? host_get_i(yz, 0) : 0);
          int64_t lo = odt == DT_I8 ? -128 : 0, hi = odt == DT_I8 ? 127 : 255;
          host_put_i(&e->out[0], oo, v < lo ? lo : v > hi ? hi : (int64_t)v);
        }
      }
    next_index(r - 2, batch, bidx);
  }
  return RC_OK;
}

/* ---- Resize and Upsample ----------------------------------------------- */

/* Resize follows the ONNX reference (resize.py of the backend tests) step
 * by step: separable over the axes, outermost first; on each axis the
 * output coordinate maps back to x (the coordinate transform, with the
 * resized length taken as in * scale before rounding), the taps are the n
 * nearest input positions preferring the lower ones (n = 2 for nearest and
 * linear, 4 for cubic), edge-clamped, weighted by the mode's coefficients of
 * r = x - (ceil(x) - 1), in (0, 1]. */
typedef struct {
  const Attrs *a;
  const double *v;
  int r;
  const int64_t *in, *out, *st;
  ResizeMode mode;
  ResizeCoord coord;
  ResizeNearest near;
} Rz;

static double rz_rec(const Rz *z, int ax, int64_t off, const int64_t *oidx) {
  if (ax == z->r) return z->v[off];
  const Attrs *a = z->a;
  int64_t in = z->in[ax];
  double scale = a->rz_scales[ax], len = scale * (double)in, xo = (double)oidx[ax], x;
  switch (z->coord) {
  case RZC_HALF_PIXEL: x = (xo + 0.5) / scale - 0.5; break;
  case RZC_PYTORCH_HALF_PIXEL: x = len == 1 ? -0.5 : (xo + 0.5) / scale - 0.5; break;
  case RZC_ALIGN_CORNERS: x = len == 1 ? 0 : xo * (double)(in - 1) / (len - 1); break;
  case RZC_TF_HALF_PIXEL_FOR_NN: x = (xo + 0.5) / scale; break;
  case RZC_TF_CROP_AND_RESIZE: {
    double r0 = a->rz_roi[ax], r1 = a->rz_roi[z->r + ax];
    x = len == 1 ? (r1 - r0) * (double)(in - 1) / 2 : xo * (r1 - r0) * (double)(in - 1) / (len - 1);
    x += r0 * (double)(in - 1);
    if (x < 0 || x > (double)(in - 1)) return a->rz_extrapolation;
    break;
  }
  default: x = xo / scale; break; /* asymmetric */
  }
  double c = ceil(x), r = x - (c - 1); /* in (0, 1] */
  int n = z->mode == RZ_CUBIC ? 4 : 2;
  int64_t base = (int64_t)c - n / 2;
  double w[4];
  if (z->mode == RZ_NEAREST) {
    bool hi;
    if (r == 1)
      hi = true;
    else if (z->near == RZN_ROUND_PREFER_FLOOR)
      hi = r > 0.5;
    else if (z->near == RZN_ROUND_PREFER_CEIL)
      hi = r >= 0.5;
    else
      hi = z->near == RZN_CEIL;
    w[0] = !hi, w[1] = hi;
  } else if (z->mode == RZ_LINEAR) {
    w[0] = 1 - r, w[1] = r;
  } else {
    double A = a->rz_cubic_a, s1 = r + 1, s2 = 1 - r, s3 = 2 - r;
    w[0] = ((A * s1 - 5 * A) * s1 + 8 * A) * s1 - 4 * A;
    w[1] = ((A + 2) * r - (A + 3)) * r * r + 1;
    w[2] = ((A + 2) * s2 - (A + 3)) * s2 * s2 + 1;
    w[3] = ((A * s3 - 5 * A) * s3 + 8 * A) * s3 - 4 * A;
    if (a->rz_exclude_outside) {
      double sum = 0;
      for (int k = 0; k < 4; k++) {
        if (base + k < 0 || base + k >= in) w[k] = 0;
        sum += w[k];
      }
      for (int k = 0; k < 4; k++) w[k] /= sum;
    }
  }
  double v = 0;
  for (int k = 0; k < n; k++) {
    if (w[k] == 0) continue;
    int64_t i = base + k;
    i = i < 0 ? 0 : i >= in ? in - 1 : i;
    v += w[k] * rz_rec(z, ax + 1, off + i * z->st[ax], oidx);
  }
  return v;
}

static Rc resize(Ev *e) {
  const Attrs *a = &e->n->a;
  const HostTensor *x = ev_in(e, 0);
  if (!x) EFAIL("%s needs an input", op_name(e->n->op));
  bool up = e->n->op == OP_UPSAMPLE;
  int64_t od[NAASC_MAX_RANK];
  if (up) {
    for (int i = 0; i < x->rank; i++) od[i] = (int64_t)floor((double)x->dims[i] * a->rz_scales[i]);
    ETRY(ev_out(e, 0, x->dtype, x->rank, od));
  } else {
    ETRY(ev_out_expected(e, 0, x->dtype));
    if (!ev_want(e, 0)) return RC_OK;
    memcpy(od, e->out[0].dims, sizeof od);
  }
  if (!ev_want(e, 0)) return RC_OK;
  int64_t xs[NAASC_MAX_RANK], idx[NAASC_MAX_RANK] = {0}, cnt = prod(od, 0, x->rank);
  strides_of(x->rank, x->dims, xs);
  double *xv = ev_f64(e, x);
  if (!xv) EOOM();
  /* Upsample: asymmetric coordinates, nearest rounding down */
  Rz z = {a,
          xv,
          x->rank,
          x->dims,
          od,
          xs,
          a->rz_mode,
          up ? RZC_ASYMMETRIC : a->rz_coord,
          up ? RZN_FLOOR : a->rz_nearest};
  for (int64_t j = 0; j < cnt; j++) {
    host_put_f(&e->out[0], j, rz_rec(&z, 0, 0, idx));
    next_index(x->rank, od, idx);
  }
  return RC_OK;
}

/* ---- GridSample (2-D) -------------------------------------------------- */

static double gs_reflect(double in, double twice_lo, double twice_hi) {
  if (twice_lo == twice_hi) return 0;
  double mn = twice_lo / 2, span = (twice_hi - twice_lo) / 2;
  in = fabs(in - mn);
  double extra = fmod(in, span);
  int64_t flips = (int64_t)floor(in / span);
  return flips % 2 == 0 ? extra + mn : span - extra + mn;
}

static double gs_coords(const Attrs *a, double c, int64_t size) {
  if (a->gs_pad == GSP_BORDER) {
    c = c < 0 ? 0 : c > (double)(size - 1) ? (double)(size - 1) : c;
  } else if (a->gs_pad == GSP_REFLECTION) {
    c = a->align_corners ? gs_reflect(c, 0, 2.0 * (double)(size - 1))
                         : gs_reflect(c, -1, 2.0 * (double)size - 1);
    c = c < 0 ? 0 : c > (double)(size - 1) ? (double)(size - 1) : c;
  }
  return c;
}

static double gs_unnorm(const Attrs *a, double c, int64_t size) {
  return a->align_corners ? (c + 1) / 2 * (double)(size - 1) : ((c + 1) * (double)size - 1) / 2;
}

static double gs_at(const double *img, int64_t H, int64_t W, int64_t y, int64_t x) {
  return y >= 0 && y < H && x >= 0 && x < W ? img[y * W + x] : 0;
}

static double cubic1(double x, double A) { return ((A + 2) * x - (A + 3)) * x * x + 1; }
static double cubic2(double x, double A) { return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A; }

static Rc grid_sample(Ev *e) {
  const Attrs *a = &e->n->a;
  const HostTensor *x = ev_in(e, 0), *gr = ev_in(e, 1);
  if (!x || !gr || x->rank != 4 || gr->rank != 4 || gr->dims[3] != 2 || gr->dims[0] != x->dims[0])
    EFAIL("GridSample needs X [N,C,H,W] and grid [N,Ho,Wo,2]");
  int64_t N = x->dims[0], C = x->dims[1], H = x->dims[2], W = x->dims[3], Ho = gr->dims[1],
          Wo = gr->dims[2];
  int64_t od[4] = {N, C, Ho, Wo};
  ETRY(ev_out(e, 0, x->dtype, 4, od));
  if (!ev_want(e, 0)) return RC_OK;
  double *xv = ev_f64(e, x);
  if (!xv) EOOM();
  for (int64_t n = 0; n < N; n++)
    for (int64_t h = 0; h < Ho; h++)
      for (int64_t w = 0; w < Wo; w++) {
        int64_t go = ((n * Ho + h) * Wo + w) * 2;
        double gx = gs_unnorm(a, host_get_f(gr, go), W),
               gy = gs_unnorm(a, host_get_f(gr, go + 1), H);
        for (int64_t c = 0; c < C; c++) {
          const double *img = xv + (n * C + c) * H * W;
          double v = 0;
          if (a->gs_mode == GS_BICUBIC) {
            double x0 = floor(gx), y0 = floor(gy), tx = gx - x0, ty = gy - y0, A = -0.75;
            double cx[4] = {cubic2(tx + 1, A), cubic1(tx, A), cubic1(1 - tx, A), cubic2(2 - tx, A)};
            double cy[4] = {cubic2(ty + 1, A), cubic1(ty, A), cubic1(1 - ty, A), cubic2(2 - ty, A)};
            for (int i = 0; i < 4; i++)
              for (int j = 0; j < 4; j++) {
                double px = gs_coords(a, x0 - 1 + j, W), py = gs_coords(a, y0 - 1 + i, H);
                v += cy[i] * cx[j] * gs_at(img, H, W, (int64_t)py, (int64_t)px);
              }
          } else {
            double px = gs_coords(a, gx, W), py = gs_coords(a, gy, H);
            if (a->gs_mode == GS_NEAREST) {
              v = gs_at(img, H, W, (int64_t)nearbyint(py), (int64_t)nearbyint(px));
            } else {
              double x0 = floor(px), y0 = floor(py), fx = px - x0, fy = py - y0;
              int64_t ix = (int64_t)x0, iy = (int64_t)y0;
              v = gs_at(img, H, W, iy, ix) * (1 - fx) * (1 - fy) +
                  gs_at(img, H, W, iy, ix + 1) * fx * (1 - fy) +
                  gs_at(img, H, W, iy + 1, ix) * (1 - fx) * fy +
                  gs_at(img, H, W, iy + 1, ix + 1) * fx * fy;
            }
          }
          host_put_f(&e->out[0], ((n * C + c) * Ho + h) * Wo + w, v);
        }
      }
  return RC_OK;
}

/* ---- RoiAlign ---------------------------------------------------------- */

static Rc roi_align(Ev *e) {
  const Attrs *a = &e->n->a;
  const HostTensor *x = ev_in(e, 0), *rois = ev_in(e, 1), *bi = ev_in(e, 2);
  if (!x || !rois || !bi || x->rank != 4 || rois->rank != 2 || rois->dims[1] != 4 ||
      host_numel(bi) != rois->dims[0])
    EFAIL("RoiAlign needs X [N,C,H,W], rois [R,4] and batch_indices [R]");
  int64_t R = rois->dims[0], C = x->dims[1], H = x->dims[2], W = x->dims[3], PH = a->out_h,
          PW = a->out_w;
  if (PH <= 0 || PW <= 0) EFAIL("output_height and output_width must be positive");
  int64_t od[4] = {R, C, PH, PW};
  ETRY(ev_out(e, 0, x->dtype, 4, od));
  if (!ev_want(e, 0)) return RC_OK;
  double *xv = ev_f64(e, x);
  if (!xv) EOOM();
  double off = a->roi_coord == ROIC_HALF_PIXEL ? 0.5 : 0;
  for (int64_t r = 0; r < R; r++) {
    int64_t b = host_get_i(bi, r);
    if (b < 0 || b >= x->dims[0]) EFAIL("batch index %lld is out of range", (long long)b);
    double ss = a->spatial_scale;
    double x1 = host_get_f(rois, r * 4) * ss - off, y1 = host_get_f(rois, r * 4 + 1) * ss - off;
    double x2 = host_get_f(rois, r * 4 + 2) * ss - off, y2 = host_get_f(rois, r * 4 + 3) * ss - off;
    double rw = x2 - x1, rh = y2 - y1;
    if (a->roi_coord != ROIC_HALF_PIXEL) {
      if (rw < 1) rw = 1;
      if (rh < 1) rh = 1;
    }
    double bh = rh / (double)PH, bw = rw / (double)PW;
    int64_t gh = a->sampling_ratio > 0 ? a->sampling_ratio : (int64_t)ceil(rh / (double)PH);
    int64_t gw = a->sampling_ratio > 0 ? a->sampling_ratio : (int64_t)ceil(rw / (double)PW);
    double count = (double)(gh * gw > 1 ? gh * gw : 1);
    for (int64_t c = 0; c < C; c++) {
      const double *img = xv + (b * C + c) * H * W;
      for (int64_t ph = 0; ph < PH; ph++)
        for (int64_t pw = 0; pw < PW; pw++) {
          double acc = 0;
          bool first = true;
          for (int64_t iy = 0; iy < gh; iy++)
            for (int64_t ix = 0; ix < gw; ix++) {
              double yy = y1 + (double)ph * bh + ((double)iy + 0.5) * bh / (double)gh;
              double xx = x1 + (double)pw * bw + ((double)ix + 0.5) * bw / (double)gw;
              double w1 = 0, w2 = 0, w3 = 0, w4 = 0;
              int64_t yl = 0, yh = 0, xl = 0, xh = 0;
              if (!(yy < -1.0 || yy > (double)H || xx < -1.0 || xx > (double)W)) {
                if (yy <= 0) yy = 0;
                if (xx <= 0) xx = 0;
                yl = (int64_t)yy;
                xl = (int64_t)xx;
                if (yl >= H - 1) {
                  yh = yl = H - 1;
                  yy = (double)yl;
                } else
                  yh = yl + 1;
                if (xl >= W - 1) {
                  xh = xl = W - 1;
                  xx = (double)xl;
                } else
                  xh = xl + 1;
                double ly = yy - (double)yl, lx = xx - (double)xl, hy = 1 - ly, hx = 1 - lx;
                w1 = hy * hx, w2 = hy * lx, w3 = ly * hx, w4 = ly * lx;
              }
              double v1 = w1 * img[yl * W + xl], v2 = w2 * img[yl * W + xh];
              double v3 = w3 * img[yh * W + xl], v4 = w4 * img[yh * W + xh];
              if (a->roi_mode == ROI_AVG) {
                acc += v1 + v2 + v3 + v4;
              } else {
                double m = fmax(fmax(v1, v2), fmax(v3, v4));
                acc = first ? m : fmax(acc, m);
                first = false;
              }
            }
          host_put_f(&e->out[0], ((r * C + c) * PH + ph) * PW + pw,
                     a->roi_mode == ROI_AVG ? acc / count : acc);
        }
    }
  }
  return RC_OK;
}

/* ---- Einsum ------------------------------------------------------------ */

static Rc einsum(Ev *e) {
  const Attrs *a = &e->n->a;
  int nops = a->ein_nops;
  if (nops < 1 || nops > NAASC_MAX_EINSUM || e->nin != nops)
    EFAIL("Einsum has %d operands for %d inputs", nops, e->nin);
  int64_t size[128];
  bool used[128] = {0}, in_out[128] = {0};
  for (int i = 0; i < 128; i++) size[i] = -1;
  const HostTensor *ops[NAASC_MAX_EINSUM];
  for (int k = 0; k < nops; k++) {
    ops[k] = ev_in(e, k);
    if (!ops[k] || ops[k]->rank != a->ein_rank[k])
      EFAIL("Einsum operand %d does not match the equation", k);
    for (int q = 0; q < ops[k]->rank; q++) {
      int l = a->ein_in[k][q];
      if (l < 0 || l >= 128) EFAIL("internal: bad Einsum label");
      if (size[l] >= 0 && size[l] != ops[k]->dims[q] && ops[k]->dims[q] != 1 && size[l] != 1)
        EFAIL("Einsum label sizes disagree");
      if (size[l] < 0 || size[l] == 1) size[l] = ops[k]->dims[q];
      used[l] = true;
    }
  }
  int64_t od[NAASC_MAX_RANK];
  for (int q = 0; q < a->ein_nout; q++) {
    int l = a->ein_out[q];
    if (l < 0 || l >= 128 || !used[l]) EFAIL("Einsum output label is not an input label");
    od[q] = size[l];
    in_out[l] = true;
  }
  ETRY(ev_out(e, 0, ops[0]->dtype, a->ein_nout, od));
  if (!ev_want(e, 0)) return RC_OK;
  /* loop over every label: output labels first, then the summed ones */
  int labels[128], nl = 0;
  for (int q = 0; q < a->ein_nout; q++) labels[nl++] = a->ein_out[q];
  for (int l = 0; l < 128; l++)
    if (used[l] && !in_out[l]) labels[nl++] = l;
  if (nl > 2 * NAASC_MAX_RANK * NAASC_MAX_EINSUM) EFAIL("Einsum has too many labels");
  int64_t ldims[128], lidx[128] = {0}, val[128];
  for (int i = 0; i < nl; i++) ldims[i] = size[labels[i]];
  int64_t total = 1, ocnt = prod(od, 0, a->ein_nout), sum_per = 1;
  for (int i = 0; i < nl; i++) total *= ldims[i];
  sum_per = ocnt ? total / ocnt : 0;
  double *acc = ev_alloc(e, sizeof(double) * (size_t)(ocnt ? ocnt : 1));
  int64_t *iacc = ev_alloc(e, sizeof(int64_t) * (size_t)(ocnt ? ocnt : 1));
  if (!acc || !iacc) EOOM();
  bool fl = dt_float(ops[0]->dtype);
  for (int64_t t = 0; t < total; t++) {
    for (int i = 0; i < nl; i++) val[labels[i]] = lidx[i];
    double p = 1;
    int64_t pi = 1;
    for (int k = 0; k < nops; k++) {
      int64_t off = 0;
      for (int q = 0; q < ops[k]->rank; q++)
        off = off * ops[k]->dims[q] + (ops[k]->dims[q] == 1 ? 0 : val[a->ein_in[k][q]]);
      if (fl)
        p *= host_get_f(ops[k], off);
      else
        pi = (int64_t)((uint64_t)pi * (uint64_t)host_get_i(ops[k], off));
    }
    int64_t o = sum_per ? t / sum_per : 0;
    if (fl)
      acc[o] += p;
    else
      iacc[o] = (int64_t)((uint64_t)iacc[o] + (uint64_t)pi);
    next_index(nl, ldims, lidx);
  }
  if (fl)
    store_f64(&e->out[0], acc);
  else
    store_i64(&e->out[0], iacc);
  return RC_OK;
}

/* ---- Det --------------------------------------------------------------- */

static Rc det(Ev *e) {
  const HostTensor *x = ev_in(e, 0);
  if (!x || x->rank < 2 || x->dims[x->rank - 1] != x->dims[x->rank - 2])
    EFAIL("Det needs square matrices");
  int64_t n = x->dims[x->rank - 1], nb = prod(x->dims, 0, x->rank - 2);
  ETRY(ev_out(e, 0, x->dtype, x->rank - 2, x->dims));
  if (!ev_want(e, 0)) return RC_OK;
  double *m = ev_f64(e, x);
  if (!m) EOOM();
  for (int64_t b = 0; b < nb; b++) {
    double *A = m + b * n * n, d = 1;
    for (int64_t c = 0; c < n; c++) { /* LU with partial pivoting */
      int64_t p = c;
      for (int64_t r = c + 1; r < n; r++)
        if (fabs(A[r * n + c]) > fabs(A[p * n + c])) p = r;
      if (A[p * n + c] == 0) {
        d = 0;
        break;
      }
      if (p != c) {
        for (int64_t k = 0; k < n; k++) {
          double t = A[c * n + k];
          A[c * n + k] = A[p * n + k];
          A[p * n + k] = t;
        }
        d = -d;
      }
      d *= A[c * n + c];
      for (int64_t r = c + 1; r < n; r++) {
        double f = A[r * n + c] / A[c * n + c];
        for (int64_t k = c; k < n; k++) A[r * n + k] -= f * A[c * n + k];
      }
    }
    host_put_f(&e->out[0], b, d);
  }
  return RC_OK;
}

Rc ev_nn(Ev *e) {
  switch (e->n->op) {
  case OP_CONV: return conv(e, 0);
  case OP_CONVINTEGER: return conv(e, 1);
  case OP_QLINEARCONV: return conv(e, 2);
  case OP_CONVTRANSPOSE: return conv_transpose(e);
  case OP_MAXPOOL:
  case OP_AVGPOOL: return pool(e);
  case OP_MAXUNPOOL: return max_unpool(e);
  case OP_GEMM: return gemm(e);
  case OP_MATMUL: return matmul(e, 0);
  case OP_MATMULINTEGER: return matmul(e, 1);
  case OP_QLINEARMATMUL: return matmul(e, 2);
  case OP_RESIZE:
  case OP_UPSAMPLE: return resize(e);
  case OP_GRIDSAMPLE: return grid_sample(e);
  case OP_ROIALIGN: return roi_align(e);
  case OP_EINSUM: return einsum(e);
  case OP_DET: return det(e);
  default:
    diag_error(e->d, e->where, "internal: %s is not an nn op", op_name(e->n->op));
    (void)norm_ax;
    return RC_INTERNAL;
  }
}
