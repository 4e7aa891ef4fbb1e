/*
 * predictor.c: the accuracy predictor of the semi-supervised network search
 * (search.h: predictor_*).  A cell is encoded as 30 inputs, the one-hot op of
 * each of its 6 edges (dead edges as none: cell_inputs); an MLP with two
 * ReLU hidden layers maps them to the accuracy, standardized by the labels'
 * mean and deviation.  Training is
 * minibatch Adam (Kingma and Ba, ICLR 2015; beta1 0.9, beta2 0.999) on the
 * squared error with L2 weight decay.
 *
 * Self-training follows SemiNAS (Luo et al., NeurIPS 2020, Section 3): fit
 * on the K labelled cells, predict `pool` unlabelled cells, add them with
 * their predicted accuracies to the training set, and fit again from a
 * fresh initialization; repeat `pseudo_rounds` times.
 *
 * Invariants: everything random comes from one Rng seeded by o->seed, so a
 * fit is a pure function of its inputs; training allocates once.
 */
#include "search/search.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

#define NIN (NAS_EDGES * NAS_OPS)
#define BATCH 16

struct Predictor {
  int h;           /* hidden units per layer */
  double *w1, *b1; /* [h][NIN], [h] */
  double *w2, *b2; /* [h][h], [h] */
  double *w3, b3;  /* [h] */
  double mean, sd; /* of the training targets */
  int nparam;
  double *mem; /* every parameter, one block */
};

void predictor_options_default(PredictorOptions *o) {
  memset(o, 0, sizeof *o);
  o->hidden = 64;
  o->epochs = 200;
  o->lr = 3e-3;
  o->weight_decay = 1e-2; /* chosen on held-out tau, docs/nas.md */
  o->pseudo_rounds = 1;
  o->pool = 1000;
  o->seed = 1;
}

/* The one-hot inputs of a cell: the op of each edge, where an edge that
 * cannot change the output (it leaves a node only zeros reach, or enters a
 * node that node 3 does not read) counts as `none`, so cells that build the
 * same network share an encoding. */
static void cell_inputs(int code, int on[NAS_EDGES]) {
  static const int from[NAS_EDGES] = {0, 0, 1, 0, 1, 2}, to[NAS_EDGES] = {1, 2, 2, 3, 3, 3};
  int op[NAS_EDGES];
  for (int e = 0; e < NAS_EDGES; e++, code /= NAS_OPS) op[e] = code % NAS_OPS;
  bool reach[4] = {true, false, false, false}, used[4] = {false, false, false, true};
  for (int e = 0; e < NAS_EDGES; e++)
    if (op[e] && reach[from[e]]) reach[to[e]] = true;
  for (int e = NAS_EDGES - 1; e >= 0; e--)
    if (op[e] && used[to[e]]) used[from[e]] = true;
  for (int e = 0; e < NAS_EDGES; e++) {
    bool live = reach[from[e]] && used[to[e]] && reach[to[e]];
    on[e] = e * NAS_OPS + (live ? op[e] : 0);
  }
}

static Predictor *net_new(int h) {
  Predictor *p = xcalloc(1, sizeof *p);
  if (!p) return NULL;
  p->h = h;
  p->nparam = h * NIN + h + h * h + h + h;
  p->mem = xcalloc((size_t)p->nparam, sizeof(double));
  if (!p->mem) {
    xfree(p);
    return NULL;
  }
  p->w1 = p->mem;
  p->b1 = p->w1 + h * NIN;
  p->w2 = p->b1 + h;
  p->b2 = p->w2 + h * h;
  p->w3 = p->b2 + h;
  return p;
}

void predictor_destroy(Predictor *p) {
  if (!p) return;
  xfree(p->mem);
  xfree(p);
}

/* Forward pass; a1, a2 get the hidden activations; returns the standardized output. */
static double forward(const Predictor *p, int code, double *a1, double *a2) {
  int on[NAS_EDGES], h = p->h;
  cell_inputs(code, on);
  for (int i = 0; i < h; i++) {
    double s = p->b1[i];
    for (int e = 0; e < NAS_EDGES; e++) s += p->w1[i * NIN + on[e]];
    a1[i] = s > 0 ? s : 0;
  }
  double out = p->b3;
  for (int i = 0; i < h; i++) {
    double s = p->b2[i];
    const double *w = p->w2 + i * h;
    for (int j = 0; j < h; j++) s += w[j] * a1[j];
    a2[i] = s > 0 ? s : 0;
    out += p->w3[i] * a2[i];
  }
  return out;
}

double predictor_predict(const Predictor *p, int code) {
  double a1[512], a2[512];
  return p->mean + p->sd * forward(p, code, a1, a2);
}

/* Fits a fresh network on (codes, y); NULL on allocation failure. */
static Predictor *fit_once(const int *codes, const double *y, int n, const PredictorOptions *o,
                           Rng *rng) {
  int h = o->hidden > 0 ? o->hidden : 64;
  if (h > 512) h = 512;
  Predictor *p = net_new(h);
  double *g = xcalloc((size_t)(p ? 3 * p->nparam + 2 * h + h + 3 : 1), sizeof(double));
  int *order = xmalloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
  if (!p || !g || !order) {
    predictor_destroy(p);
    xfree(g);
    xfree(order);
    return NULL;
  }
  double *m1 = g + p->nparam, *m2 = m1 + p->nparam, *a1 = m2 + p->nparam, *a2 = a1 + h,
         *d2 = a2 + h;
  /* Targets standardized; weights He-uniform, biases 0. */
  double mean = 0, var = 0;
  for (int i = 0; i < n; i++) mean += y[i];
  mean /= n > 0 ? n : 1;
  for (int i = 0; i < n; i++) var += (y[i] - mean) * (y[i] - mean);
  p->mean = mean;
  p->sd = n > 1 && var > 0 ? sqrt(var / (n - 1)) : 1;
  double lim1 = sqrt(6.0 / NAS_EDGES), lim2 = sqrt(6.0 / h);
  for (int i = 0; i < h * NIN; i++) p->w1[i] = lim1 * (2 * rng_uniform(rng) - 1);
  for (int i = 0; i < h * h; i++) p->w2[i] = lim2 * (2 * rng_uniform(rng) - 1);
  for (int i = 0; i < h; i++) p->w3[i] = lim2 * (2 * rng_uniform(rng) - 1);
  for (int i = 0; i < n; i++) order[i] = i;
  double lr = o->lr > 0 ? o->lr : 3e-3, wd = o->weight_decay == 0 ? 1e-2 : o->weight_decay;
  if (wd < 0) wd = 0;
  int epochs = o->epochs > 0 ? o->epochs : 200;
  int64_t t = 0;
  for (int ep = 0; ep < epochs; ep++) {
    for (int i = n - 1; i > 0; i--) { /* Fisher-Yates */
      int j = (int)(rng_uniform(rng) * (i + 1)), tmp = order[i];
      order[i] = order[j], order[j] = tmp;
    }
    for (int b0 = 0; b0 < n; b0 += BATCH) {
      int bn = n - b0 < BATCH ? n - b0 : BATCH;
      memset(g, 0, sizeof(double) * (size_t)p->nparam);
      double *g1 = g, *gb1 = g1 + h * NIN, *g2 = gb1 + h, *gb2 = g2 + h * h, *g3 = gb2 + h;
      double gb3 = 0;
      for (int k = 0; k < bn; k++) {
        int s = order[b0 + k], on[NAS_EDGES];
        double err = forward(p, codes[s], a1, a2) - (y[s] - p->mean) / p->sd;
        double dout = 2 * err / bn;
        gb3 += dout;
        for (int i = 0; i < h; i++) {
          g3[i] += dout * a2[i];
          d2[i] = a2[i] > 0 ? dout * p->w3[i] : 0;
          gb2[i] += d2[i];
        }
        cell_inputs(codes[s], on);
        for (int j = 0; j < h; j++) {
          if (a1[j] <= 0) continue;
          double d1 = 0;
          for (int i = 0; i < h; i++) {
            g2[i * h + j] += d2[i] * a1[j];
            d1 += d2[i] * p->w2[i * h + j];
          }
          gb1[j] += d1;
          for (int e = 0; e < NAS_EDGES; e++) g1[j * NIN + on[e]] += d1;
        }
      }
      t++;
      double c1 = 1 - pow(0.9, (double)t), c2 = 1 - pow(0.999, (double)t);
      for (int i = 0; i < p->nparam; i++) {
        double gi = g[i] + wd * p->mem[i];
        m1[i] = 0.9 * m1[i] + 0.1 * gi;
        m2[i] = 0.999 * m2[i] + 0.001 * gi * gi;
        p->mem[i] -= lr * (m1[i] / c1) / (sqrt(m2[i] / c2) + 1e-8);
      }
      p->b3 -= lr * gb3; /* the output bias: plain SGD (it starts at the mean) */
    }
  }
  xfree(g);
  xfree(order);
  return p;
}

Predictor *predictor_fit(const int *codes, const double *y, int n, const int *unlabelled, int nu,
                         const PredictorOptions *o) {
  Rng rng;
  rng_seed(&rng, o->seed ^ 0x7072656469637421ULL);
  Predictor *p = fit_once(codes, y, n, o, &rng);
  int pool = o->pool < nu ? o->pool : nu;
  if (!p || o->pseudo_rounds <= 0 || pool <= 0 || !unlabelled) return p;
  int tot = n + pool;
  int *c = xmalloc(sizeof(int) * (size_t)tot), *perm = xmalloc(sizeof(int) * (size_t)nu);
  double *v = xmalloc(sizeof(double) * (size_t)tot);
  if (!c || !v || !perm) {
    xfree(c), xfree(v), xfree(perm);
    return p;
  }
  memcpy(c, codes, sizeof(int) * (size_t)n);
  memcpy(v, y, sizeof(double) * (size_t)n);
  for (int i = 0; i < nu; i++) perm[i] = unlabelled[i];
  for (int r = 0; r < o->pseudo_rounds && p; r++) {
    for (int i = 0; i < pool; i++) { /* a fresh seeded draw of the pool each round */
      int j = i + (int)(rng_uniform(&rng) * (nu - i)), tmp = perm[i];
      perm[i] = perm[j], perm[j] = tmp;
      c[n + i] = perm[i];
      v[n + i] = predictor_predict(p, perm[i]);
    }
    Predictor *q = fit_once(c, v, tot, o, &rng);
    if (!q) break;
    predictor_destroy(p);
    p = q;
  }
  xfree(c), xfree(v), xfree(perm);
  return p;
}
