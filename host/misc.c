/*
 * misc.c: host evaluators of the remaining host ops: NonMaxSuppression,
 * the signal ops DFT and STFT (direct O(n^2) transforms in double), the
 * window generators (Hann, Hamming, Blackman), MelWeightMatrix, and
 * TfIdfVectorizer on integer sequences.
 *
 * NonMaxSuppression follows ONNX Runtime's kernel, the source of the ONNX
 * test data: boxes scoring strictly above score_threshold, by descending
 * score (ties: the lower box index first), greedily kept unless their IoU
 * with a kept box exceeds iou_threshold; output rows (batch, class, box) in
 * batch, class, selection order.  MelWeightMatrix and TfIdfVectorizer
 * follow the ONNX reference implementations step by step.
 */
#include "host/internal.h"

#define PI 3.14159265358979323846

#include <math.h>
#include <string.h>

/* ---- NonMaxSuppression ------------------------------------------------- */

static void corners(const HostTensor *b, int64_t i, bool center, double *y1, double *x1, double *y2,
                    double *x2) {
  double v0 = host_get_f(b, i * 4), v1 = host_get_f(b, i * 4 + 1), v2 = host_get_f(b, i * 4 + 2),
         v3 = host_get_f(b, i * 4 + 3);
  if (center) { /* x_center, y_center, width, height */
    *x1 = v0 - v2 / 2, *x2 = v0 + v2 / 2, *y1 = v1 - v3 / 2, *y2 = v1 + v3 / 2;
  } else {
    *y1 = fmin(v0, v2), *y2 = fmax(v0, v2), *x1 = fmin(v1, v3), *x2 = fmax(v1, v3);
  }
}

static bool suppress(const HostTensor *b, int64_t i, int64_t j, bool center, double thr) {
  double ay1, ax1, ay2, ax2, by1, bx1, by2, bx2;
  corners(b, i, center, &ay1, &ax1, &ay2, &ax2);
  corners(b, j, center, &by1, &bx1, &by2, &bx2);
  double iy1 = fmax(ay1, by1), ix1 = fmax(ax1, bx1), iy2 = fmin(ay2, by2), ix2 = fmin(ax2, bx2);
  double inter = fmax(0, iy2 - iy1) * fmax(0, ix2 - ix1);
  double uni = (ay2 - ay1) * (ax2 - ax1) + (by2 - by1) * (bx2 - bx1) - inter;
  if (inter <= 0 || uni <= 0) return false;
  return inter / uni > thr;
}

static Rc nms(Ev *e) {
  const Attrs *a = &e->n->a;
  const HostTensor *bx = ev_in(e, 0), *sc = ev_in(e, 1);
  if (!bx || !sc || bx->rank != 3 || sc->rank != 3 || bx->dims[2] != 4 ||
      bx->dims[0] != sc->dims[0] || bx->dims[1] != sc->dims[2])
    EFAIL("NonMaxSuppression needs boxes [B,n,4] and scores [B,classes,n]");
  int64_t NB = bx->dims[0], NS = bx->dims[1], NC = sc->dims[1], maxo = a->max_boxes;
  int64_t *sel = ev_alloc(e, sizeof(int64_t) * 3 * (size_t)(NB * NC * (NS ? NS : 1)));
  int64_t *cand = ev_alloc(e, sizeof(int64_t) * (size_t)(NS ? NS : 1));
  int64_t *kept = ev_alloc(e, sizeof(int64_t) * (size_t)(NS ? NS : 1));
  if (!sel || !cand || !kept) EOOM();
  int64_t nsel = 0;
  for (int64_t b = 0; b < NB && maxo > 0; b++)
    for (int64_t c = 0; c < NC; c++) {
      const int64_t base = (b * NC + c) * NS;
      int64_t nc = 0;
      for (int64_t i = 0; i < NS; i++)
        if (host_get_f(sc, base + i) > a->score_threshold) cand[nc++] = i;
      for (int64_t i = 1; i < nc; i++) { /* stable insertion sort by descending score */
        int64_t v = cand[i], k = i;
        double s = host_get_f(sc, base + v);
        while (k > 0 && host_get_f(sc, base + cand[k - 1]) < s) {
          cand[k] = cand[k - 1];
          k--;
        }
        cand[k] = v;
      }
      int64_t nk = 0;
      for (int64_t i = 0; i < nc && nk < maxo; i++) {
        bool keep = true;
        for (int64_t j = 0; j < nk && keep; j++)
          keep = !suppress(bx, b * NS + cand[i], b * NS + kept[j], a->center_point_box,
                           a->iou_threshold);
        if (!keep) continue;
        kept[nk++] = cand[i];
        sel[nsel * 3] = b, sel[nsel * 3 + 1] = c, sel[nsel * 3 + 2] = cand[i];
        nsel++;
      }
    }
  int64_t od[2] = {nsel, 3};
  ETRY(ev_out(e, 0, DT_I64, 2, od));
  if (ev_want(e, 0) && nsel) memcpy(e->out[0].data, sel, sizeof(int64_t) * 3 * (size_t)nsel);
  return RC_OK;
}

/* ---- DFT and STFT ------------------------------------------------------ */

/* Direct DFT of n complex values (re, im strided by st) into out (2*m). */
static void dft1(const double *re, const double *im, int64_t n, int64_t st, int64_t m, bool inverse,
                 double *out) {
  for (int64_t k = 0; k < m; k++) {
    double sr = 0, si = 0;
    for (int64_t t = 0; t < n; t++) {
      double ang = (inverse ? 2 : -2) * PI * (double)((k * t) % n) / (double)n;
      double xr = re[t * st], xi = im ? im[t * st] : 0;
      sr += xr * cos(ang) - xi * sin(ang);
      si += xr * sin(ang) + xi * cos(ang);
    }
    out[2 * k] = inverse ? sr / (double)n : sr;
    out[2 * k + 1] = inverse ? si / (double)n : si;
  }
}

static Rc dft(Ev *e) {
  const Attrs *a = &e->n->a;
  const HostTensor *x = ev_in(e, 0);
  if (!x || x->rank < 3 || (x->dims[x->rank - 1] != 1 && x->dims[x->rank - 1] != 2))
    EFAIL("DFT needs a [batch, ..., 1 or 2] input");
  int64_t ax = a->axis < 0 ? a->axis + x->rank : a->axis;
  if (ax < 1 || ax >= x->rank - 1) EFAIL("DFT axis %lld is out of range", (long long)a->axis);
  bool cplx = x->dims[x->rank - 1] == 2;
  int64_t n = x->dims[ax], L = a->dft_length > 0 ? a->dft_length : n;
  if (a->onesided && cplx) EFAIL("a one-sided DFT needs a real input");
  int64_t m = a->onesided ? L / 2 + 1 : L, od[NAASC_MAX_RANK];
  memcpy(od, x->dims, sizeof od);
  od[ax] = m;
  od[x->rank - 1] = 2;
  ETRY(ev_out(e, 0, x->dtype, x->rank, od));
  if (!ev_want(e, 0)) return RC_OK;
  int64_t outer = prod(x->dims, 0, (int)ax), inner = prod(x->dims, (int)ax + 1, x->rank - 1);
  int64_t c = cplx ? 2 : 1;
  double *re = ev_alloc(e, sizeof(double) * (size_t)L),
         *im = ev_alloc(e, sizeof(double) * (size_t)L);
  double *out = ev_alloc(e, sizeof(double) * 2 * (size_t)m);
  if (!re || !im || !out) EOOM();
  for (int64_t p = 0; p < outer; p++)
    for (int64_t q = 0; q < inner; q++) {
      for (int64_t t = 0; t < L; t++) { /* zero-padded or trimmed to L */
        int64_t i = ((p * n + t) * inner + q) * c;
        re[t] = t < n ? host_get_f(x, i) : 0;
        im[t] = t < n && cplx ? host_get_f(x, i + 1) : 0;
      }
      dft1(re, im, L, 1, m, a->inverse, out);
      for (int64_t k = 0; k < m; k++) {
        int64_t o = ((p * m + k) * inner + q) * 2;
        host_put_f(&e->out[0], o, out[2 * k]);
        host_put_f(&e->out[0], o + 1, out[2 * k + 1]);
      }
    }
  return RC_OK;
}

static Rc stft(Ev *e) {
  const Attrs *a = &e->n->a;
  const HostTensor *x = ev_in(e, 0), *w = ev_in(e, 2);
  if (!x || x->rank != 3 || (x->dims[2] != 1 && x->dims[2] != 2))
    EFAIL("STFT needs a [batch, length, 1 or 2] signal");
  int64_t len = a->frame_length > 0 ? a->frame_length : w ? host_numel(w) : 0, step = a->frame_step;
  if (len <= 0 || step <= 0)
    EFAIL("STFT needs a positive frame_step and a frame length (or window)");
  if (w && host_numel(w) != len)
    EFAIL("the window has %lld values, the frame %lld", (long long)host_numel(w), (long long)len);
  int64_t B = x->dims[0], S = x->dims[1];
  bool cplx = x->dims[2] == 2;
  if (S < len) EFAIL("the signal is shorter than a frame");
  int64_t frames = (S - len) / step + 1, m = a->onesided ? len / 2 + 1 : len;
  int64_t od[4] = {B, frames, m, 2};
  ETRY(ev_out(e, 0, x->dtype, 4, od));
  if (!ev_want(e, 0)) return RC_OK;
  double *re = ev_alloc(e, sizeof(double) * (size_t)len),
         *im = ev_alloc(e, sizeof(double) * (size_t)len);
  double *out = ev_alloc(e, sizeof(double) * 2 * (size_t)m);
  if (!re || !im || !out) EOOM();
  int64_t c = cplx ? 2 : 1;
  for (int64_t b = 0; b < B; b++)
    for (int64_t f = 0; f < frames; f++) {
      for (int64_t t = 0; t < len; t++) {
        double wv = w ? host_get_f(w, t) : 1;
        int64_t i = (b * S + f * step + t) * c;
        re[t] = host_get_f(x, i) * wv;
        im[t] = cplx ? host_get_f(x, i + 1) * wv : 0;
      }
      dft1(re, im, len, 1, m, false, out);
      for (int64_t k = 0; k < m; k++) {
        int64_t o = ((b * frames + f) * m + k) * 2;
        host_put_f(&e->out[0], o, out[2 * k]);
        host_put_f(&e->out[0], o + 1, out[2 * k + 1]);
      }
    }
  return RC_OK;
}

static Rc window(Ev *e) {
  const Attrs *a = &e->n->a;
  int64_t n = a->size;
  if (n < 0) EFAIL("the window size must not be negative");
  DType dt = a->to ? a->to : DT_F32;
  ETRY(ev_out(e, 0, dt, 1, &n));
  if (!ev_want(e, 0)) return RC_OK;
  double N = (double)(a->periodic ? n : n - 1);
  for (int64_t i = 0; i < n; i++) {
    double t = N > 0 ? 2 * PI * (double)i / N : 0, v;
    switch (e->n->op) {
    case OP_HANNWINDOW: v = 0.5 - 0.5 * cos(t); break;
    case OP_HAMMINGWINDOW: v = 25.0 / 46.0 - (1 - 25.0 / 46.0) * cos(t); break;
    default: v = 0.42 - 0.5 * cos(t) + 0.08 * cos(2 * t); break;
    }
    host_put_f(&e->out[0], i, v);
  }
  return RC_OK;
}

static Rc mel(Ev *e) {
  const HostTensor *in[5];
  for (int i = 0; i < 5; i++) {
    in[i] = ev_in(e, i);
    if (!in[i] || host_numel(in[i]) != 1) EFAIL("MelWeightMatrix needs five scalar inputs");
  }
  int64_t nmel = host_get_i(in[0], 0), dftl = host_get_i(in[1], 0), sr = host_get_i(in[2], 0);
  double lo = host_get_f(in[3], 0), hi = host_get_f(in[4], 0);
  if (nmel <= 0 || dftl <= 0 || sr <= 0)
    EFAIL("num_mel_bins, dft_length and sample_rate must be positive");
  int64_t nspec = dftl / 2 + 1, od[2] = {nspec, nmel};
  ETRY(ev_out(e, 0, e->n->a.to ? e->n->a.to : DT_F32, 2, od));
  if (!ev_want(e, 0)) return RC_OK;
  int64_t *bins = ev_alloc(e, sizeof(int64_t) * (size_t)(nmel + 2));
  double *w = ev_alloc(e, sizeof(double) * (size_t)(nspec * nmel));
  if (!bins || !w) EOOM();
  double lmel = 2595 * log10(1 + lo / 700), hmel = 2595 * log10(1 + hi / 700);
  double step = (hmel - lmel) / (double)(nmel + 2);
  for (int64_t i = 0; i < nmel + 2; i++) {
    double hz = 700 * (pow(10, ((double)i * step + lmel) / 2595) - 1);
    bins[i] = (int64_t)floor((double)(dftl + 1) * hz / (double)sr);
  }
  for (int64_t i = 0; i < nmel; i++) {
    int64_t l = bins[i], c = bins[i + 1], h = bins[i + 2];
    if (l < 0 || h >= nspec + 1 || c >= nspec) EFAIL("the mel bands fall outside the spectrum");
    if (c - l == 0)
      w[c * nmel + i] = 1;
    else
      for (int64_t j = l; j <= c; j++) w[j * nmel + i] = (double)(j - l) / (double)(c - l);
    if (h - c > 0)
      for (int64_t j = c; j < h; j++) w[j * nmel + i] = (double)(h - j) / (double)(h - c);
  }
  store_f64(&e->out[0], w);
  return RC_OK;
}

/* ---- TfIdfVectorizer ---------------------------------------------------- */

/* The ngram id of x[p], x[p+s], ... (n items) in the pool, or -1. */
static int64_t pool_find(const Attrs *a, const HostTensor *x, int64_t row, int64_t p, int64_t s,
                         int64_t n) {
  if (n < 1 || n > a->nngram_counts) return -1;
  int64_t start = a->ngram_counts[n - 1],
          end = n < a->nngram_counts ? a->ngram_counts[n] : a->npool;
  int64_t id0 = 0; /* ngrams of smaller sizes come first */
  for (int64_t k = 1; k < n; k++) {
    int64_t ks = a->ngram_counts[k - 1], ke = k < a->nngram_counts ? a->ngram_counts[k] : a->npool;
    id0 += (ke - ks) / k;
  }
  for (int64_t g = start, id = id0; g + n <= end; g += n, id++) {
    bool eq = true;
    for (int64_t k = 0; k < n && eq; k++) eq = a->pool[g + k] == host_get_i(x, row + p + k * s);
    if (eq) return id;
  }
  return -1;
}

static Rc tfidf(Ev *e) {
  const Attrs *a = &e->n->a;
  const HostTensor *x = ev_in(e, 0);
  if (!x || x->rank < 1 || x->rank > 2) EFAIL("TfIdfVectorizer needs a 1-D or 2-D input");
  if (a->min_gram < 1 || a->max_gram < a->min_gram || a->max_skip < 0) EFAIL("bad n-gram lengths");
  int64_t width = 0;
  for (int i = 0; i < a->nngram_indexes; i++)
    if (a->ngram_indexes[i] + 1 > width) width = a->ngram_indexes[i] + 1;
  int64_t rows = x->rank == 2 ? x->dims[0] : 1, C = x->dims[x->rank - 1];
  int64_t od[2] = {rows, width};
  if (x->rank == 1) od[0] = width;
  ETRY(ev_out(e, 0, DT_F32, x->rank, od));
  if (!ev_want(e, 0)) return RC_OK;
  double *cnt = ev_alloc(e, sizeof(double) * (size_t)(rows * (width ? width : 1)));
  if (!cnt) EOOM();
  for (int64_t r = 0; r < rows; r++) {
    double *c = cnt + r * width;
    int64_t base = r * C;
    for (int64_t n = a->min_gram; n <= a->max_gram; n++)
      for (int64_t skip = 0; skip <= (n == 1 ? 0 : a->max_skip); skip++)
        for (int64_t p = 0; p + (n - 1) * (skip + 1) < C; p++) {
          int64_t id = pool_find(a, x, base, p, skip + 1, n);
          if (id < 0 || id >= a->nngram_indexes) continue;
          int64_t o = a->ngram_indexes[id];
          if (o >= 0 && o < width) c[o] += 1;
        }
    for (int64_t o = 0; o < width; o++) {
      int64_t id = -1; /* the weight of output o: that of the ngram mapped to it */
      for (int i = 0; i < a->nngram_indexes && id < 0; i++)
        if (a->ngram_indexes[i] == o) id = i;
      double wt = id >= 0 && id < a->ntfidf_weights ? a->tfidf_weights[id] : 1;
      if (a->tfidf_mode == TFIDF_IDF)
        c[o] = c[o] > 0 ? wt : 0;
      else if (a->tfidf_mode == TFIDF_TFIDF)
        c[o] *= wt;
    }
  }
  store_f64(&e->out[0], cnt);
  return RC_OK;
}

Rc ev_misc(Ev *e) {
  switch (e->n->op) {
  case OP_NMS: return nms(e);
  case OP_DFT: return dft(e);
  case OP_STFT: return stft(e);
  case OP_HANNWINDOW:
  case OP_HAMMINGWINDOW:
  case OP_BLACKMANWINDOW: return window(e);
  case OP_MELWEIGHTMATRIX: return mel(e);
  case OP_TFIDF: return tfidf(e);
  default:
    diag_error(e->d, e->where, "internal: %s is not a misc op", op_name(e->n->op));
    return RC_INTERNAL;
  }
}
