/*
 * rnn.c: host evaluators of the recurrent layers LSTM, GRU and RNN, one
 * time step after another, forward, reverse or both directions, with
 * sequence_lens, initial states, peepholes (LSTM), input_forget (LSTM),
 * linear_before_reset (GRU), clip, layout 0 or 1 and the eleven ONNX
 * activation functions with their alpha/beta lists.
 *
 * Gate order as ONNX stores the weights: LSTM i, o, f, c; GRU z, r, h.
 * A batch entry whose sequence is shorter than seq_length gets zeros in Y
 * past its end, and its last valid state in Y_h/Y_c; the reverse direction
 * starts at the last valid step of each entry.  Arithmetic in double.
 */
#include "host/internal.h"

#include <math.h>
#include <string.h>

typedef struct {
  RnnAct f;
  double alpha, beta;
} Act;

static double act(const Act *a, double x) {
  switch (a->f) {
  case RACT_RELU: return x > 0 ? x : 0;
  case RACT_TANH: return tanh(x);
  case RACT_SIGMOID: return 1 / (1 + exp(-x));
  case RACT_AFFINE: return a->alpha * x + a->beta;
  case RACT_LEAKYRELU: return x < 0 ? a->alpha * x : x;
  case RACT_THRESHOLDEDRELU: return x > a->alpha ? x : 0;
  case RACT_SCALEDTANH: return a->alpha * tanh(a->beta * x);
  case RACT_HARDSIGMOID: {
    double v = a->alpha * x + a->beta;
    return v < 0 ? 0 : v > 1 ? 1 : v;
  }
  case RACT_ELU: return x < 0 ? a->alpha * (exp(x) - 1) : x;
  case RACT_SOFTSIGN: return x / (1 + fabs(x));
  case RACT_SOFTPLUS: return log1p(exp(x));
  }
  return x;
}

static bool uses_alpha(RnnAct f) {
  return f == RACT_AFFINE || f == RACT_LEAKYRELU || f == RACT_THRESHOLDEDRELU ||
         f == RACT_SCALEDTANH || f == RACT_HARDSIGMOID || f == RACT_ELU;
}
static bool uses_beta(RnnAct f) {
  return f == RACT_AFFINE || f == RACT_SCALEDTANH || f == RACT_HARDSIGMOID;
}

/* The per-direction activations: given ones (alphas and betas consumed in
 * order by the functions that take them), else the op's defaults. */
static void acts_of(const Attrs *a, Op op, int ndir, Act out[2][3]) {
  static const RnnAct lstm[3] = {RACT_SIGMOID, RACT_TANH, RACT_TANH};
  static const RnnAct gru[3] = {RACT_SIGMOID, RACT_TANH, RACT_TANH};
  static const RnnAct rnn[3] = {RACT_TANH, RACT_TANH, RACT_TANH};
  const RnnAct *def = op == OP_LSTM ? lstm : op == OP_GRU ? gru : rnn;
  int per = op == OP_LSTM ? 3 : op == OP_GRU ? 2 : 1, ia = 0, ib = 0;
  for (int d = 0; d < ndir; d++)
    for (int k = 0; k < per; k++) {
      Act *x = &out[d][k];
      int i = d * per + k;
      x->f = i < a->nacts ? a->acts[i] : def[k];
      x->alpha = x->f == RACT_LEAKYRELU ? 0.01 : x->f == RACT_HARDSIGMOID ? 0.2 : 1.0;
      x->beta = x->f == RACT_HARDSIGMOID ? 0.5 : x->f == RACT_SCALEDTANH ? 1.0 : 0.0;
      if (uses_alpha(x->f) && ia < a->nact_alpha) x->alpha = a->act_alpha[ia++];
      if (uses_beta(x->f) && ib < a->nact_beta) x->beta = a->act_beta[ib++];
    }
}

static double clipv(double v, double c) { return c > 0 ? (v < -c ? -c : v > c ? c : v) : v; }

Rc ev_rnn(Ev *e) {
  const Node *n = e->n;
  const Attrs *a = &n->a;
  Op op = n->op;
  int ng = op == OP_LSTM ? 4 : op == OP_GRU ? 3 : 1;
  const HostTensor *X = ev_in(e, 0), *W = ev_in(e, 1), *R = ev_in(e, 2), *B = ev_in(e, 3);
  const HostTensor *SL = ev_in(e, 4), *H0 = ev_in(e, 5), *C0 = op == OP_LSTM ? ev_in(e, 6) : NULL;
  const HostTensor *P = op == OP_LSTM ? ev_in(e, 7) : NULL;
  if (!X || !W || !R || X->rank != 3 || W->rank != 3 || R->rank != 3)
    EFAIL("%s needs 3-D X, W and R", op_name(op));
  int ndir = a->direction == RNN_BIDIRECTIONAL ? 2 : 1;
  bool lay1 = a->layout == 1;
  int64_t T = lay1 ? X->dims[1] : X->dims[0], Bn = lay1 ? X->dims[0] : X->dims[1], I = X->dims[2];
  int64_t Hs = R->dims[2];
  if (a->hidden_size && a->hidden_size != Hs)
    EFAIL("hidden_size %lld disagrees with R", (long long)a->hidden_size);
  if (W->dims[0] != ndir || W->dims[1] != ng * Hs || W->dims[2] != I)
    EFAIL("W must be [%d, %lld, %lld]", ndir, (long long)(ng * Hs), (long long)I);
  if (R->dims[0] != ndir || R->dims[1] != ng * Hs)
    EFAIL("R must be [%d, %lld, %lld]", ndir, (long long)(ng * Hs), (long long)Hs);
  if (B && host_numel(B) != ndir * 2 * ng * Hs)
    EFAIL("B must have %lld values", (long long)(ndir * 2 * ng * Hs));
  if (SL && host_numel(SL) != Bn) EFAIL("sequence_lens must have %lld values", (long long)Bn);
  if (H0 && host_numel(H0) != ndir * Bn * Hs) EFAIL("initial_h has the wrong size");
  if (C0 && host_numel(C0) != ndir * Bn * Hs) EFAIL("initial_c has the wrong size");
  if (P && host_numel(P) != ndir * 3 * Hs) EFAIL("P has the wrong size");
  int64_t yd[4], hd[3];
  if (lay1)
    yd[0] = Bn, yd[1] = T, yd[2] = ndir, yd[3] = Hs, hd[0] = Bn, hd[1] = ndir, hd[2] = Hs;
  else
    yd[0] = T, yd[1] = ndir, yd[2] = Bn, yd[3] = Hs, hd[0] = ndir, hd[1] = Bn, hd[2] = Hs;
  ETRY(ev_out(e, 0, X->dtype, 4, yd));
  ETRY(ev_out(e, 1, X->dtype, 3, hd));
  if (op == OP_LSTM) ETRY(ev_out(e, 2, X->dtype, 3, hd));
  Act acts[2][3];
  acts_of(a, op, ndir, acts);
  double *x = ev_f64(e, X), *w = ev_f64(e, W), *r = ev_f64(e, R);
  double *h = ev_alloc(e, sizeof(double) * (size_t)(Bn * Hs)),
         *c = ev_alloc(e, sizeof(double) * (size_t)(Bn * Hs));
  double *g = ev_alloc(e, sizeof(double) * (size_t)(ng * Hs)),
         *hn = ev_alloc(e, sizeof(double) * (size_t)(Bn * Hs));
  double *rh = ev_alloc(e, sizeof(double) * (size_t)Hs);
  if (!x || !w || !r || !h || !c || !g || !hn || !rh) EOOM();
  double clip = a->rnn_clip;
  for (int d = 0; d < ndir; d++) {
    bool rev = a->direction == RNN_REVERSE || d == 1;
    const double *Wd = w + d * ng * Hs * I, *Rd = r + d * ng * Hs * Hs;
    for (int64_t b = 0; b < Bn; b++)
      for (int64_t j = 0; j < Hs; j++) {
        int64_t hi = lay1 ? (b * ndir + d) * Hs + j : (d * Bn + b) * Hs + j;
        h[b * Hs + j] = H0 ? host_get_f(H0, hi) : 0;
        c[b * Hs + j] = C0 ? host_get_f(C0, hi) : 0;
      }
    for (int64_t b = 0; b < Bn; b++) {
      int64_t len = SL ? host_get_i(SL, b) : T;
      if (len < 0 || len > T) EFAIL("sequence length %lld is out of range", (long long)len);
      double *hb = h + b * Hs, *cb = c + b * Hs;
      for (int64_t s = 0; s < len; s++) {
        int64_t t = rev ? len - 1 - s : s;
        const double *xt = x + (lay1 ? (b * T + t) : (t * Bn + b)) * I;
        for (int64_t q = 0; q < ng * Hs; q++) { /* X W^T + H R^T + biases */
          double v = 0;
          for (int64_t k = 0; k < I; k++) v += xt[k] * Wd[q * I + k];
          if (B) v += host_get_f(B, d * 2 * ng * Hs + q);
          bool gru_h = op == OP_GRU && q >= 2 * Hs;
          if (!gru_h) {
            for (int64_t k = 0; k < Hs; k++) v += hb[k] * Rd[q * Hs + k];
            if (B) v += host_get_f(B, d * 2 * ng * Hs + ng * Hs + q);
          }
          g[q] = v;
        }
        if (op == OP_LSTM) {
          for (int64_t j = 0; j < Hs; j++) {
            double pi = P ? host_get_f(P, d * 3 * Hs + j) : 0,
                   po = P ? host_get_f(P, d * 3 * Hs + Hs + j) : 0;
            double pf = P ? host_get_f(P, d * 3 * Hs + 2 * Hs + j) : 0;
            double it = act(&acts[d][0], clipv(g[j] + pi * cb[j], clip));
            double ft = a->input_forget ? 1 - it
                                        : act(&acts[d][0], clipv(g[2 * Hs + j] + pf * cb[j], clip));
            double ct = act(&acts[d][1], clipv(g[3 * Hs + j], clip));
            double C = ft * cb[j] + it * ct;
            double ot = act(&acts[d][0], clipv(g[Hs + j] + po * C, clip));
            cb[j] = C;
            hn[j] = ot * act(&acts[d][2], C);
          }
        } else if (op == OP_GRU) {
          for (int64_t j = 0; j < Hs; j++) rh[j] = act(&acts[d][0], clipv(g[Hs + j], clip)); /* r */
          for (int64_t j = 0; j < Hs; j++) {
            double zt = act(&acts[d][0], clipv(g[j], clip));
            int64_t q = 2 * Hs + j;
            double rec = 0, rb = B ? host_get_f(B, d * 2 * ng * Hs + ng * Hs + q) : 0;
            if (a->linear_before_reset) {
              for (int64_t k = 0; k < Hs; k++) rec += hb[k] * Rd[q * Hs + k];
              rec = rh[j] * (rec + rb);
            } else {
              for (int64_t k = 0; k < Hs; k++) rec += rh[k] * hb[k] * Rd[q * Hs + k];
              rec += rb;
            }
            double ht = act(&acts[d][1], clipv(g[q] + rec, clip));
            hn[j] = (1 - zt) * ht + zt * hb[j];
          }
        } else {
          for (int64_t j = 0; j < Hs; j++) hn[j] = act(&acts[d][0], clipv(g[j], clip));
        }
        memcpy(hb, hn, sizeof(double) * (size_t)Hs);
        if (ev_want(e, 0))
          for (int64_t j = 0; j < Hs; j++) {
            int64_t yo =
                lay1 ? ((b * T + t) * ndir + d) * Hs + j : ((t * ndir + d) * Bn + b) * Hs + j;
            host_put_f(&e->out[0], yo, hb[j]);
          }
      }
    }
    for (int64_t b = 0; b < Bn; b++)
      for (int64_t j = 0; j < Hs; j++) {
        int64_t ho = lay1 ? (b * ndir + d) * Hs + j : (d * Bn + b) * Hs + j;
        if (ev_want(e, 1)) host_put_f(&e->out[1], ho, h[b * Hs + j]);
        if (op == OP_LSTM && ev_want(e, 2)) host_put_f(&e->out[2], ho, c[b * Hs + j]);
      }
  }
  return RC_OK;
}
