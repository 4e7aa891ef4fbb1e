/*
 * surrogate.c: the surrogate-gradient mapper, in the style of Mind Mappings
 * (Hegde et al., ASPLOS 2021): a differentiable model of the cost replaces
 * the cost model during the search, and candidates follow its gradient.
 *
 *   1. sample: a third of the budget goes to random points of the NAAS
 *      encoding (mapper.c); the valid ones give (x, log fitness);
 *   2. fit: a one-hidden-layer MLP (tanh, HIDDEN units) by full-batch Adam on
 *      the squared error, inputs in [0,1], targets standardised;
 *   3. descend: from the best points found so far, gradient steps on the
 *      surrogate in x-space (clipped to [0,1]); every step's point is decoded
 *      and evaluated with the real cost model, joins the training set, and the
 *      surrogate is refit every REFIT evaluations.
 * Everything is deterministic for a seed.  The MLP is small (n x 64 + 64
 * weights) and its training allocates once per run.
 */
#include "backend/backend.h"
#include "search/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define HIDDEN 64
#define REFIT 200

typedef struct {
  int n;      /* input dims */
  double *w1; /* HIDDEN x n */
  double *b1; /* HIDDEN */
  double *w2; /* HIDDEN */
  double b2;
  double *m, *v; /* Adam moments for all parameters, packed */
  int np;        /* parameter count */
  int64_t t;     /* Adam step */
} Mlp;

static double *mlp_param(Mlp *f, int i) {
  int a = HIDDEN * f->n;
  if (i < a) return &f->w1[i];
  if (i < a + HIDDEN) return &f->b1[i - a];
  if (i < a + 2 * HIDDEN) return &f->w2[i - a - HIDDEN];
  return &f->b2;
}

static bool mlp_init(Mlp *f, int n, Rng *r) {
  memset(f, 0, sizeof *f);
  f->n = n;
  f->np = HIDDEN * n + 2 * HIDDEN + 1;
  f->w1 = xcalloc((size_t)f->np * 3, sizeof(double));
  if (!f->w1) return false;
  f->b1 = f->w1 + HIDDEN * n;
  f->w2 = f->b1 + HIDDEN;
  f->m = f->w1 + f->np;
  f->v = f->m + f->np;
  double s = 1.0 / sqrt((double)n);
  for (int i = 0; i < HIDDEN * n; i++) f->w1[i] = s * rng_normal(r);
  for (int i = 0; i < HIDDEN; i++) f->w2[i] = rng_normal(r) / sqrt((double)HIDDEN);
  return true;
}

/* Output, and (optionally) hidden activations h[HIDDEN]. */
static double mlp_forward(const Mlp *f, const double *x, double *h) {
  double y = f->b2;
  for (int j = 0; j < HIDDEN; j++) {
    double z = f->b1[j];
    const double *w = f->w1 + (size_t)j * f->n;
    for (int k = 0; k < f->n; k++) z += w[k] * x[k];
    double a = tanh(z);
    if (h) h[j] = a;
    y += f->w2[j] * a;
  }
  return y;
}

/* Full-batch Adam on mean squared error, `epochs` steps. */
static void mlp_fit(Mlp *f, const double *X, const double *Y, int n, int epochs, double *grad) {
  double h[HIDDEN];
  for (int e = 0; e < epochs; e++) {
    memset(grad, 0, sizeof(double) * (size_t)f->np);
    for (int s = 0; s < n; s++) {
      const double *x = X + (size_t)s * f->n;
      double err = mlp_forward(f, x, h) - Y[s], g = 2 * err / n;
      int a = HIDDEN * f->n;
      for (int j = 0; j < HIDDEN; j++) {
        grad[a + HIDDEN + j] += g * h[j];
        double gz = g * f->w2[j] * (1 - h[j] * h[j]);
        grad[a + j] += gz;
        double *gw = grad + (size_t)j * f->n;
        for (int k = 0; k < f->n; k++) gw[k] += gz * x[k];
      }
      grad[f->np - 1] += g;
    }
    f->t++;
    double lr = 0.01, b1 = 0.9, b2 = 0.999, c1 = 1 - pow(b1, (double)f->t),
           c2 = 1 - pow(b2, (double)f->t);
    for (int i = 0; i < f->np; i++) {
      f->m[i] = b1 * f->m[i] + (1 - b1) * grad[i];
      f->v[i] = b2 * f->v[i] + (1 - b2) * grad[i] * grad[i];
      *mlp_param(f, i) -= lr * (f->m[i] / c1) / (sqrt(f->v[i] / c2) + 1e-8);
    }
  }
}

/* d output / d x into gx[n]. */
static void mlp_input_grad(const Mlp *f, const double *x, double *gx) {
  double h[HIDDEN];
  mlp_forward(f, x, h);
  memset(gx, 0, sizeof(double) * (size_t)f->n);
  for (int j = 0; j < HIDDEN; j++) {
    double gz = f->w2[j] * (1 - h[j] * h[j]);
    const double *w = f->w1 + (size_t)j * f->n;
    for (int k = 0; k < f->n; k++) gx[k] += gz * w[k];
  }
}

typedef struct {
  const Problem *p;
  const Arch *a;
  const MapperOptions *o;
  MapResult *res;
  FitnessFn fitness;
  double *X, *Y; /* samples: points and log fitness */
  int ns, n;
  bool cons; /* a has mapping constraints (mapper_eval) */
} Samples;

/* Evaluates x with the cost model, keeps the best, records a valid point. */
static void eval_point(Samples *S, const double *x) {
  Mapping m;
  CostResult c;
  mapspace_decode(S->p, S->a, x, &m);
  S->res->evals++;
  if (mapper_eval(S->p, S->a, S->cons, &m, &c) != COST_OK) return;
  S->res->valid++;
  double fv = S->fitness(&c, S->o->objective);
  mapresult_offer(S->res, &m, &c, fv);
  memcpy(S->X + (size_t)S->ns * S->n, x, sizeof(double) * (size_t)S->n);
  S->Y[S->ns++] = log(fv);
}

Rc surrogate_run(const Problem *p, const Arch *a, const MapperOptions *o, MapResult *res,
                 FitnessFn fitness) {
  int n = mapspace_dim(a);
  int64_t budget = o->budget > 0 ? o->budget : 2000;
  Samples S = {p,
               a,
               o,
               res,
               fitness,
               xmalloc(sizeof(double) * (size_t)(budget * n)),
               xmalloc(sizeof(double) * (size_t)budget),
               0,
               n,
               mapcons_any(&a->cons)};
  double *grad = NULL, *x = xmalloc(sizeof(double) * (size_t)n * 2);
  Rng r;
  rng_seed(&r, o->seed ^ 0x2545f4914f6cdd1dULL);
  Mlp f;
  bool ok = S.X && S.Y && x && mlp_init(&f, n, &r);
  if (ok) grad = xmalloc(sizeof(double) * (size_t)f.np);
  if (!ok || !grad) {
    xfree(S.X);
    xfree(S.Y);
    xfree(x);
    xfree(grad);
    if (ok) xfree(f.w1);
    return RC_INTERNAL;
  }
  double *X = S.X, *Y = S.Y;
  while (res->evals < budget / 3) {
    for (int k = 0; k < n; k++) x[k] = rng_uniform(&r);
    eval_point(&S, x);
  }
  double mean = 0, sd = 1;
  int64_t since = REFIT;
  while (res->evals < budget && S.ns > 4) {
    int ns = S.ns;
    if (since >= REFIT) { /* refit on standardised targets */
      mean = 0;
      for (int s = 0; s < ns; s++) mean += Y[s];
      mean /= ns;
      double var = 0;
      for (int s = 0; s < ns; s++) var += (Y[s] - mean) * (Y[s] - mean);
      sd = sqrt(var / ns) + 1e-9;
      for (int s = 0; s < ns; s++) Y[s] = (Y[s] - mean) / sd;
      mlp_fit(&f, X, Y, ns, 150, grad);
      for (int s = 0; s < ns; s++) Y[s] = Y[s] * sd + mean;
      since = 0;
    }
    /* Start near one of the 8 best samples, then descend the surrogate. */
    int best[8], nb = 0;
    for (int s = 0; s < ns; s++) {
      int pos = nb < 8 ? nb++ : 8;
      while (pos > 0 && Y[best[pos - 1]] > Y[s]) {
        if (pos < 8) best[pos] = best[pos - 1];
        pos--;
      }
      if (pos < 8) best[pos] = s;
    }
    memcpy(x, X + (size_t)best[rng_next(&r) % (uint64_t)nb] * n, sizeof(double) * (size_t)n);
    for (int k = 0; k < n; k++) x[k] += 0.05 * rng_normal(&r);
    for (int step = 0; step < 10 && res->evals < budget; step++) {
      double *g = x + n;
      mlp_input_grad(&f, x, g);
      double norm = 0;
      for (int k = 0; k < n; k++) norm += g[k] * g[k];
      norm = sqrt(norm) + 1e-12;
      for (int k = 0; k < n; k++) {
        x[k] -= 0.05 * g[k] / norm;
        x[k] = x[k] < 0 ? 0 : x[k] > 1 ? 1 : x[k];
      }
      eval_point(&S, x);
      since++;
    }
  }
  xfree(S.X);
  xfree(S.Y);
  xfree(x);
  xfree(grad);
  xfree(f.w1);
  return res->valid ? RC_OK : RC_BADINPUT;
}
