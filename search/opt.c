/*
 * opt.c: the optimizers behind the ask/tell interface of search.h.
 *
 *   random   uniform samples in [0,1]^n (the baseline Timeloop's random
 *            mapper stands for);
 *   cmaes    CMA-ES as in Hansen, "The CMA Evolution Strategy: A Tutorial"
 *            (arXiv:1604.00772), with the default parameters of its Table 1:
 *            weighted recombination, cumulative step-size adaptation, rank-1
 *            and rank-mu covariance updates; the covariance is
 *            eigen-decomposed with LAPACKE_dsyev every
 *            lambda / ((c1 + cmu) n 10) generations (Hansen's B.2), and
 *            its updates wait until then (pend_apply).  Samples
 *            are clipped to [0,1] and the clipped point is what the update
 *            sees (a repair), as NAAS samples within [0,1];
 *   genetic  GAMMA-style (Kao and Krishna, ICCAD 2020): elitism, tournament
 *            selection, uniform crossover, Gaussian mutation.
 *
 * All state lives in one heap block per optimizer so a checkpoint is a copy.
 */
#include "search/search.h"

#include <lapacke.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ---- xoshiro256** (Blackman and Vigna) ---------------------------------- */

static uint64_t splitmix(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void rng_seed(Rng *r, uint64_t seed) {
  for (int i = 0; i < 4; i++) r->s[i] = splitmix(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t rng_next(Rng *r) {
  uint64_t *s = r->s, res = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return res;
}

double rng_uniform(Rng *r) { return (double)(rng_next(r) >> 11) * 0x1.0p-53; }

/* N(0, 1) by the ziggurat method, in Doornik's form (J. A. Doornik, "An
 * Improved Ziggurat Method to Generate Normal Random Samples", 2005; after
 * Marsaglia and Tsang, J. Stat. Software 5(8), 2000): 128 blocks of equal
 * area under the density, the base block holding the tail beyond
 * ZIG_R = 3.442619855899; ZIG_V is each block's area.  One 64-bit draw
 * gives the block (its low 7 bits) and the abscissa (its high 53), and
 * about 99% of draws return at the first comparison, with no logarithm or
 * trigonometry: the CMA-ES proposals of the mapper draw n of them per
 * candidate, and Box-Muller's logarithm and cosine per value were a
 * quarter of a search's time (docs/results.md, "Search speed"). */
#define ZIG_C 128
#define ZIG_R 3.442619855899
#define ZIG_V 9.91256303526217e-3
static double zig_x[ZIG_C + 1], zig_ratio[ZIG_C];
static pthread_once_t zig_once = PTHREAD_ONCE_INIT;

static void zig_init(void) {
  double f = exp(-0.5 * ZIG_R * ZIG_R);
  zig_x[0] = ZIG_V / f; /* the base block: its area over the density at R */
  zig_x[1] = ZIG_R;
  zig_x[ZIG_C] = 0;
  for (int i = 2; i < ZIG_C; i++) {
    zig_x[i] = sqrt(-2 * log(ZIG_V / zig_x[i - 1] + f));
    f = exp(-0.5 * zig_x[i] * zig_x[i]);
  }
  for (int i = 0; i < ZIG_C; i++) zig_ratio[i] = zig_x[i + 1] / zig_x[i];
}

/* Uniform in (0, 1), never 0 (the tail takes its logarithm). */
static double uniform_open(Rng *r) { return ((double)(rng_next(r) >> 11) + 0.5) * 0x1.0p-53; }

double rng_normal(Rng *r) {
  pthread_once(&zig_once, zig_init);
  for (;;) {
    uint64_t b = rng_next(r);
    double u = 2 * ((double)(b >> 11) * 0x1.0p-53) - 1;
    int i = (int)(b & (ZIG_C - 1));
    if (fabs(u) < zig_ratio[i]) return u * zig_x[i]; /* inside the block's rectangle */
    if (i == 0) {                                    /* the tail beyond R (Marsaglia, 1964) */
      double x, y;
      do {
        x = log(uniform_open(r)) / ZIG_R;
        y = log(uniform_open(r));
      } while (-2 * y < x * x);
      return u < 0 ? x - ZIG_R : ZIG_R - x;
    }
    /* the wedge between the rectangle and the density */
    double x = u * zig_x[i];
    double f0 = exp(-0.5 * (zig_x[i] * zig_x[i] - x * x));
    double f1 = exp(-0.5 * (zig_x[i + 1] * zig_x[i + 1] - x * x));
    if (f1 + rng_uniform(r) * (f0 - f1) < 1.0) return x;
  }
}

/* ---- the optimizer ----------------------------------------------------------- */

struct Optimizer {
  OptKind kind;
  int n, lambda, mu;
  Rng rng;
  int64_t gen;
  /* CMA-ES */
  double sigma, mueff, cs, ds, cc, c1, cmu, chin;
  double *mean, *C, *B, *D, *pc, *ps, *w; /* C, B: n*n; D: n (sqrt eigenvalues) */
  double *pop;                            /* lambda * n: the current generation */
  double *fit;                            /* lambda, for genetic's next generation */
  double *tmp;                            /* n*n scratch */
  double *block;                          /* one allocation for all of the above */
  size_t nblock;
  /* B is the identity and D all ones (from the start until the first
   * eigen-decomposition, which the mapper's short runs often never reach):
   * B z and B^T v are then the vectors themselves, computed in O(n), with
   * exactly the bits of the O(n^2) sums (each is +0, then the one non-zero
   * term, then +-0 terms: 0.0 + v). */
  bool ident;
  /* B transposed (n*n, its own allocation: block is what a checkpoint
   * holds), so that B z runs along contiguous rows, each x[r] still summed
   * over k in order (the same bits). Set after each eigen-decomposition. */
  double *bt;
  /* Covariance updates not yet applied to C (cmaes_tell): C is read only
   * by the eigen-decomposition and by opt_save, so each generation's
   * rank-one and rank-mu terms wait here and are applied, in order and
   * with the same arithmetic, when one of those needs C.  A mapper run of
   * a few hundred evaluations ends before its first decomposition and
   * never applies them.  Each record: keep, sigma^2, pc (n), and the mu
   * selected deviations x_i - old mean (mu * n). */
  double *pend;
  int npend, cap_pend;
};

const char *opt_name(OptKind k) {
  return k == OPT_RANDOM ? "random" : k == OPT_CMAES ? "cmaes" : k == OPT_GENETIC ? "genetic" : "?";
}

bool opt_parse(const char *s, OptKind *k) {
  if (strcmp(s, "random") == 0)
    *k = OPT_RANDOM;
  else if (strcmp(s, "cmaes") == 0 || strcmp(s, "es") == 0)
    *k = OPT_CMAES;
  else if (strcmp(s, "genetic") == 0)
    *k = OPT_GENETIC;
  else
    return false;
  return true;
}

/* Into [0,1]; NaN (a sum of huge terms of both signs) goes to 0, so every
 * proposal is in [0,1] whatever the state (opt_ask's contract). */
static double clip01(double v) { return v > 0 ? (v < 1 ? v : 1) : 0; }

static void transpose_b(Optimizer *o) {
  int n = o->n;
  for (int r = 0; r < n; r++)
    for (int k = 0; k < n; k++) o->bt[(size_t)k * n + r] = o->B[(size_t)r * n + k];
}

Optimizer *opt_create(OptKind kind, int n, int popsize, double sigma0, uint64_t seed) {
  if (n < 1) return NULL;
  Optimizer *o = xcalloc(1, sizeof *o);
  if (!o) return NULL;
  o->kind = kind;
  o->n = n;
  o->lambda = popsize > 0 ? popsize : (kind == OPT_CMAES ? 4 + (int)(3 * log((double)n)) : 32);
  if (o->lambda < 4) o->lambda = 4;
  o->mu = o->lambda / 2;
  rng_seed(&o->rng, seed);
  size_t nn = (size_t)n * (size_t)n;
  o->nblock = 3 * nn + 8 * (size_t)n + (size_t)o->lambda * (size_t)(n + 2) + (size_t)o->mu;
  o->block = xcalloc(o->nblock, sizeof(double));
  o->bt = xcalloc(nn, sizeof(double));
  if (!o->block || !o->bt) {
    xfree(o->block);
    xfree(o->bt);
    xfree(o);
    return NULL;
  }
  double *p = o->block;
  o->C = p;
  p += nn;
  o->B = p;
  p += nn;
  o->tmp = p;
  p += nn + 3 * (size_t)n; /* scratch: at least 3n */
  o->mean = p;
  p += n;
  o->D = p;
  p += n;
  o->pc = p;
  p += n;
  o->ps = p;
  p += n;
  p += n; /* spare */
  o->pop = p;
  p += (size_t)o->lambda * (size_t)n;
  o->fit = p;
  p += o->lambda;
  p += o->lambda;
  o->w = p;
  o->sigma = sigma0 > 0 ? sigma0 : 0.3;
  for (int i = 0; i < n; i++) {
    o->mean[i] = 0.5;
    o->C[(size_t)i * n + i] = 1;
    o->B[(size_t)i * n + i] = 1;
    o->D[i] = 1;
  }
  o->ident = true;
  /* Hansen's Table 1 defaults. */
  double sw = 0, sw2 = 0;
  for (int i = 0; i < o->mu; i++) {
    o->w[i] = log(o->mu + 0.5) - log(i + 1.0);
    sw += o->w[i];
  }
  for (int i = 0; i < o->mu; i++) {
    o->w[i] /= sw;
    sw2 += o->w[i] * o->w[i];
  }
  o->mueff = 1 / sw2;
  o->cs = (o->mueff + 2) / (n + o->mueff + 5);
  o->ds = 1 + 2 * fmax(0, sqrt((o->mueff - 1) / (n + 1)) - 1) + o->cs;
  o->cc = (4 + o->mueff / n) / (n + 4 + 2 * o->mueff / n);
  o->c1 = 2 / ((n + 1.3) * (n + 1.3) + o->mueff);
  o->cmu = fmin(1 - o->c1, 2 * (o->mueff - 2 + 1 / o->mueff) / ((n + 2.0) * (n + 2.0) + o->mueff));
  o->chin = sqrt((double)n) * (1 - 1.0 / (4 * n) + 1.0 / (21.0 * n * n));
  /* The first generation of the genetic algorithm is uniform. */
  if (kind == OPT_GENETIC)
    for (size_t i = 0; i < (size_t)o->lambda * (size_t)n; i++) o->pop[i] = rng_uniform(&o->rng);
  return o;
}

void opt_destroy(Optimizer *o) {
  if (!o) return;
  xfree(o->block);
  xfree(o->bt);
  xfree(o->pend);
  xfree(o);
}

int opt_popsize(const Optimizer *o) { return o->lambda; }

void opt_set_mean(Optimizer *o, const double *m) {
  for (int i = 0; i < o->n; i++) o->mean[i] = clip01(m[i]);
}
int opt_dim(const Optimizer *o) { return o->n; }

static void sample(Optimizer *o, int i) {
  double *x = o->pop + (size_t)i * o->n;
  int n = o->n;
  if (o->kind == OPT_RANDOM) {
    for (int k = 0; k < n; k++) x[k] = rng_uniform(&o->rng);
  } else if (o->kind == OPT_CMAES) {
    double *z = o->tmp; /* n values */
    for (int k = 0; k < n; k++) z[k] = o->D[k] * rng_normal(&o->rng);
    if (o->ident) {
      for (int r = 0; r < n; r++) x[r] = clip01(o->mean[r] + o->sigma * (0.0 + z[r]));
      return;
    }
    /* x = mean + sigma B z: every row's sum runs over k in order (the same
     * rounding as row by row), all rows at once along B^T's rows. */
    double *s = o->tmp + n; /* n more values */
    for (int r = 0; r < n; r++) s[r] = 0;
    for (int k = 0; k < n; k++) {
      const double *b = o->bt + (size_t)k * n;
      double zk = z[k];
      for (int r = 0; r < n; r++) s[r] += b[r] * zk;
    }
    for (int r = 0; r < n; r++) x[r] = clip01(o->mean[r] + o->sigma * s[r]);
  } else { /* genetic: a fresh random individual */
    for (int k = 0; k < n; k++) x[k] = rng_uniform(&o->rng);
  }
}

void opt_ask(Optimizer *o, int i, double *x) {
  if (o->kind != OPT_GENETIC) sample(o, i);
  memcpy(x, o->pop + (size_t)i * o->n, sizeof(double) * (size_t)o->n);
}

void opt_resample(Optimizer *o, int i, double *x) {
  sample(o, i);
  memcpy(x, o->pop + (size_t)i * o->n, sizeof(double) * (size_t)o->n);
}

/* Indices of fit sorted ascending (stable; +inf last). */
static void rank(const double *fit, int n, int *idx) {
  for (int i = 0; i < n; i++) idx[i] = i;
  for (int i = 1; i < n; i++) {
    int v = idx[i], j = i - 1;
    while (j >= 0 && fit[idx[j]] > fit[v]) {
      idx[j + 1] = idx[j];
      j--;
    }
    idx[j + 1] = v;
  }
}

/* ---- deferred covariance updates ------------------------------------------ */

static size_t pend_size(const Optimizer *o) { return 2 + (size_t)o->n * (size_t)(o->mu + 1); }

static double *pend_record(Optimizer *o, int k) {
  return k < o->cap_pend ? o->pend + (size_t)k * pend_size(o) : NULL;
}

static bool pend_grow(Optimizer *o) {
  int cap = o->cap_pend ? 2 * o->cap_pend : 4;
  double *p = xrealloc(o->pend, sizeof(double) * pend_size(o) * (size_t)cap);
  if (!p) return false;
  o->pend = p;
  o->cap_pend = cap;
  return true;
}

/* One recorded generation applied to C: C = keep C + c1 pc pc^T + cmu / sigma^2
 * sum_i w_i d_i d_i^T over the mu best deviations d_i, each sum in the order
 * of i and grouped as written (the arithmetic of the update when it was not
 * deferred, so C has the same bits); with mu <= n the weighted deviations go
 * into the scratch (tmp has n*n + 3n) once. */
static void pend_one(Optimizer *o, const double *rec) {
  int n = o->n;
  double keep = rec[0], sig2 = rec[1];
  const double *pc = rec + 2, *dev = rec + 2 + n;
  if (o->mu <= n) {
    double *wd = o->tmp + 3 * n; /* [i][r]: w_i d_i[r] */
    for (int i = 0; i < o->mu; i++)
      for (int r = 0; r < n; r++) wd[(size_t)i * n + r] = o->w[i] * dev[(size_t)i * n + r];
    for (int r = 0; r < n; r++) {
      int c = 0;
      for (; c + 4 <= r + 1; c += 4) {
        double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        for (int i = 0; i < o->mu; i++) {
          const double *x = dev + (size_t)i * n;
          double wr = wd[(size_t)i * n + r];
          a0 += wr * x[c];
          a1 += wr * x[c + 1];
          a2 += wr * x[c + 2];
          a3 += wr * x[c + 3];
        }
        double a[4] = {a0, a1, a2, a3};
        for (int q = 0; q < 4; q++) {
          double v =
              keep * o->C[(size_t)r * n + c + q] + o->c1 * pc[r] * pc[c + q] + o->cmu * a[q] / sig2;
          o->C[(size_t)r * n + c + q] = o->C[(size_t)(c + q) * n + r] = v;
        }
      }
      for (; c <= r; c++) {
        double rmu = 0;
        for (int i = 0; i < o->mu; i++) rmu += wd[(size_t)i * n + r] * dev[(size_t)i * n + c];
        double v = keep * o->C[(size_t)r * n + c] + o->c1 * pc[r] * pc[c] + o->cmu * rmu / sig2;
        o->C[(size_t)r * n + c] = o->C[(size_t)c * n + r] = v;
      }
    }
  } else {
    for (int r = 0; r < n; r++)
      for (int c = 0; c <= r; c++) {
        double rmu = 0;
        for (int i = 0; i < o->mu; i++)
          rmu += o->w[i] * dev[(size_t)i * n + r] * dev[(size_t)i * n + c];
        double v = keep * o->C[(size_t)r * n + c] + o->c1 * pc[r] * pc[c] + o->cmu * rmu / sig2;
        o->C[(size_t)r * n + c] = o->C[(size_t)c * n + r] = v;
      }
  }
}

/* Applies every recorded update to C, oldest first. */
static void pend_apply(Optimizer *o) {
  for (int k = 0; k < o->npend; k++) pend_one(o, pend_record(o, k));
  o->npend = 0;
}

static void cmaes_tell(Optimizer *o, const int *idx) {
  int n = o->n;
  double *old = o->tmp;          /* old mean (first n of tmp) */
  double *step = o->tmp + n;     /* (m' - m) / sigma */
  double *cinv = o->tmp + 2 * n; /* C^{-1/2} step */
  memcpy(old, o->mean, sizeof(double) * (size_t)n);
  for (int k = 0; k < n; k++) {
    double s = 0;
    for (int i = 0; i < o->mu; i++) s += o->w[i] * o->pop[(size_t)idx[i] * n + k];
    o->mean[k] = s;
    step[k] = (o->mean[k] - old[k]) / o->sigma;
  }
  /* C^{-1/2} step = B D^-1 B^T step */
  for (int k = 0; k < n; k++) {
    double s = 0;
    if (o->ident)
      s = 0.0 + step[k];
    else
      for (int r = 0; r < n; r++) s += o->B[(size_t)r * n + k] * step[r];
    cinv[k] = s / o->D[k];
  }
  double norm = 0;
  for (int r = 0; r < n; r++) {
    double s = 0;
    if (o->ident)
      s = 0.0 + cinv[r];
    else
      for (int k = 0; k < n; k++) s += o->B[(size_t)r * n + k] * cinv[k];
    o->ps[r] = (1 - o->cs) * o->ps[r] + sqrt(o->cs * (2 - o->cs) * o->mueff) * s;
    norm += o->ps[r] * o->ps[r];
  }
  norm = sqrt(norm);
  double gen = (double)(o->gen + 1);
  bool hs = norm / sqrt(1 - pow(1 - o->cs, 2 * gen)) < (1.4 + 2.0 / (n + 1)) * o->chin;
  for (int k = 0; k < n; k++)
    o->pc[k] = (1 - o->cc) * o->pc[k] + (hs ? sqrt(o->cc * (2 - o->cc) * o->mueff) : 0) * step[k];
  double keep = 1 - o->c1 - o->cmu + (hs ? 0 : o->c1 * o->cc * (2 - o->cc));
  double sig2 = o->sigma * o->sigma;
  /* The generation's update of C, recorded (pend_apply applies it). */
  if (o->npend == o->cap_pend && !pend_grow(o)) pend_apply(o); /* out of memory: apply now */
  double *rec = pend_record(o, o->npend);
  if (rec) {
    rec[0] = keep;
    rec[1] = sig2;
    memcpy(rec + 2, o->pc, sizeof(double) * (size_t)n);
    double *dev = rec + 2 + n;
    for (int i = 0; i < o->mu; i++) {
      const double *x = o->pop + (size_t)idx[i] * n;
      for (int r = 0; r < n; r++) dev[(size_t)i * n + r] = x[r] - old[r];
    }
    o->npend++;
  }
  o->sigma *= exp((o->cs / o->ds) * (norm / o->chin - 1));
  if (o->sigma > 1) o->sigma = 1; /* the domain is [0,1] */
  if (o->sigma < 1e-12) o->sigma = 1e-12;
  /* Eigen-decomposition C = B diag(D^2) B^T, lazily: every
   * lambda / ((c1 + cmu) * n * 10) generations (Hansen's tutorial, B.2). */
  int every = (int)(o->lambda / ((o->c1 + o->cmu) * n * 10));
  if (every > 1 && (o->gen + 1) % every) return;
  pend_apply(o);
  memcpy(o->B, o->C, sizeof(double) * (size_t)n * (size_t)n);
  double *ev = o->tmp; /* n eigenvalues (old/step no longer needed) */
  if (LAPACKE_dsyev(LAPACK_ROW_MAJOR, 'V', 'U', n, o->B, n, ev) != 0) {
    /* Numerical trouble: restart the covariance, keep the mean. */
    memset(o->C, 0, sizeof(double) * (size_t)n * (size_t)n);
    memset(o->B, 0, sizeof(double) * (size_t)n * (size_t)n);
    for (int k = 0; k < n; k++) {
      o->C[(size_t)k * n + k] = o->B[(size_t)k * n + k] = 1;
      o->D[k] = 1;
    }
    o->ident = true;
    return;
  }
  for (int k = 0; k < n; k++) o->D[k] = sqrt(ev[k] > 1e-20 ? ev[k] : 1e-20);
  o->ident = false;
  transpose_b(o);
}

static void genetic_tell(Optimizer *o, const int *idx, const double *fit) {
  int n = o->n, lam = o->lambda, elite = lam / 8 > 1 ? lam / 8 : 1;
  size_t sz = (size_t)lam * (size_t)n;
  double *tmp = xmalloc(sizeof(double) * sz);
  if (!tmp) return; /* out of memory: keep the population as it is */
  for (int e = 0; e < elite; e++)
    memcpy(tmp + (size_t)e * n, o->pop + (size_t)idx[e] * n, sizeof(double) * (size_t)n);
  for (int c = elite; c < lam; c++) {
    int par[2];
    for (int p = 0; p < 2; p++) { /* tournament of 3 */
      int best = (int)(rng_next(&o->rng) % (uint64_t)lam);
      for (int t = 0; t < 2; t++) {
        int q = (int)(rng_next(&o->rng) % (uint64_t)lam);
        if (fit[q] < fit[best]) best = q;
      }
      par[p] = best;
    }
    double *x = tmp + (size_t)c * n;
    for (int k = 0; k < n; k++) {
      x[k] = o->pop[(size_t)par[rng_next(&o->rng) & 1] * n + k];
      if (rng_uniform(&o->rng) < 1.5 / n) x[k] = clip01(x[k] + 0.2 * rng_normal(&o->rng));
    }
  }
  memcpy(o->pop, tmp, sizeof(double) * sz);
  xfree(tmp);
}

void opt_tell(Optimizer *o, const double *fitness) {
  int idx[4096];
  int lam = o->lambda < 4096 ? o->lambda : 4096;
  rank(fitness, lam, idx);
  if (o->kind == OPT_CMAES)
    cmaes_tell(o, idx);
  else if (o->kind == OPT_GENETIC)
    genetic_tell(o, idx, fitness);
  o->gen++;
}

/* ---- checkpoints ---------------------------------------------------------------- */

size_t opt_save(Optimizer *o, void *buf, size_t cap) {
  size_t need = sizeof(int) * 3 + sizeof o->rng + sizeof o->gen + sizeof o->sigma +
                sizeof(double) * o->nblock;
  if (!buf) return need;
  if (cap < need) return 0;
  pend_apply(o); /* the state as if no update had waited */
  char *p = buf;
  int hdr[3] = {(int)o->kind, o->n, o->lambda};
  memcpy(p, hdr, sizeof hdr);
  p += sizeof hdr;
  memcpy(p, &o->rng, sizeof o->rng);
  p += sizeof o->rng;
  memcpy(p, &o->gen, sizeof o->gen);
  p += sizeof o->gen;
  memcpy(p, &o->sigma, sizeof o->sigma);
  p += sizeof o->sigma;
  memcpy(p, o->block, sizeof(double) * o->nblock);
  return need;
}

/* A state opt_save can have written (opt_load checks the random state is
 * not all zero): every number finite, the step in
 * (0,1], the eigenvalues' roots positive, the mean and the population in
 * [0,1] (they become candidates), the generation count far from overflow.
 * Checked on the bytes, before any of them is loaded. */
static bool state_ok(const Optimizer *o, int64_t gen, double sigma, const char *blk) {
  if (gen < 0 || gen > (INT64_C(1) << 40) || !(sigma > 0 && sigma <= 1)) return false;
  for (size_t i = 0; i < o->nblock; i++) {
    double v;
    memcpy(&v, blk + sizeof v * i, sizeof v);
    if (!isfinite(v)) return false;
    const double *at = o->block + i; /* where v goes */
    bool unit = (at >= o->mean && at < o->mean + o->n) ||
                (at >= o->pop && at < o->pop + (size_t)o->lambda * (size_t)o->n);
    if (unit && !(v >= 0 && v <= 1)) return false;
    if (at >= o->D && at < o->D + o->n && !(v > 0)) return false;
  }
  return true;
}

bool opt_load(Optimizer *o, const void *buf, size_t len) {
  if (len != opt_save(o, NULL, 0)) return false;
  const char *p = buf;
  int hdr[3];
  int64_t gen;
  double sigma;
  memcpy(hdr, p, sizeof hdr);
  p += sizeof hdr;
  if (hdr[0] != (int)o->kind || hdr[1] != o->n || hdr[2] != o->lambda) return false;
  /* The random state: never all zero, xoshiro256**'s one fixed point (every
   * draw 0 from then on, and rng_normal's tail loop would never end; the
   * fuzz regression tests/fuzz/ckpt/regressions/timeout-fe967a75...). */
  Rng rs;
  memcpy(&rs, p, sizeof rs);
  if (!(rs.s[0] | rs.s[1] | rs.s[2] | rs.s[3])) return false;
  memcpy(&gen, p + sizeof o->rng, sizeof gen);
  memcpy(&sigma, p + sizeof o->rng + sizeof gen, sizeof sigma);
  if (!state_ok(o, gen, sigma, p + sizeof o->rng + sizeof gen + sizeof sigma)) return false;
  memcpy(&o->rng, p, sizeof o->rng);
  p += sizeof o->rng;
  memcpy(&o->gen, p, sizeof o->gen);
  p += sizeof o->gen;
  memcpy(&o->sigma, p, sizeof o->sigma);
  p += sizeof o->sigma;
  memcpy(o->block, p, sizeof(double) * o->nblock);
  o->npend = 0; /* the saved C has every update */
  o->ident = true;
  for (int r = 0; r < o->n && o->ident; r++) {
    if (o->D[r] != 1) o->ident = false;
    for (int k = 0; k < o->n; k++)
      if (o->B[(size_t)r * o->n + k] != (r == k)) o->ident = false;
  }
  transpose_b(o);
  return true;
}
