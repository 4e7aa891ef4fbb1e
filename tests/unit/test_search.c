/*
 * test_search.c: unit tests of the optimizers (search/opt.c): CMA-ES
 * converges on a shifted sphere and beats random search with the same
 * budget; runs are a pure function of the seed; a checkpoint taken
 * mid-run and restored continues exactly as the uninterrupted run.
 */
#include <math.h>
#include <stdlib.h>

#include "search/search.h"
#include "tests/unit/test.h"

/* sum (x_i - c_i)^2 with c_i spread over [0.2, 0.8]: minimum 0. */
static double sphere(const double *x, int n) {
  double s = 0;
  for (int i = 0; i < n; i++) {
    double c = 0.2 + 0.6 * i / (n - 1);
    s += (x[i] - c) * (x[i] - c);
  }
  return s;
}

static double run(OptKind k, int n, int gens, uint64_t seed, Optimizer **keep, int stop_at) {
  Optimizer *o = opt_create(k, n, 0, 0.3, seed);
  int lam = opt_popsize(o);
  double *x = malloc(sizeof(double) * (size_t)n), *f = malloc(sizeof(double) * (size_t)lam);
  double best = INFINITY;
  for (int g = 0; g < gens; g++) {
    if (g == stop_at && keep) {
      *keep = o;
      free(x);
      free(f);
      return best;
    }
    for (int i = 0; i < lam; i++) {
      opt_ask(o, i, x);
      f[i] = sphere(x, n);
      if (f[i] < best) best = f[i];
    }
    opt_tell(o, f);
  }
  opt_destroy(o);
  free(x);
  free(f);
  return best;
}

static void test_cmaes_converges(void) {
  double es = run(OPT_CMAES, 10, 150, 7, NULL, -1);
  double rnd = run(OPT_RANDOM, 10, 150, 7, NULL, -1);
  CHECK(es < 1e-6);  /* converged */
  CHECK(rnd > 1e-3); /* random search is nowhere near with the same budget */
  CHECK(es * 1000 < rnd);
}

static void test_genetic_improves(void) {
  double first = run(OPT_GENETIC, 10, 1, 3, NULL, -1);
  double later = run(OPT_GENETIC, 10, 100, 3, NULL, -1);
  CHECK(later < first / 10);
}

static void test_deterministic(void) {
  CHECK(run(OPT_CMAES, 12, 40, 11, NULL, -1) == run(OPT_CMAES, 12, 40, 11, NULL, -1));
  CHECK(run(OPT_CMAES, 12, 40, 11, NULL, -1) != run(OPT_CMAES, 12, 40, 12, NULL, -1));
  CHECK(run(OPT_GENETIC, 12, 40, 5, NULL, -1) == run(OPT_GENETIC, 12, 40, 5, NULL, -1));
}

/* Save after 20 generations, restore into a fresh optimizer, finish: same result. */
static void test_checkpoint(void) {
  int n = 8;
  Optimizer *mid = NULL;
  run(OPT_CMAES, n, 50, 9, &mid, 20);
  size_t len = opt_save(mid, NULL, 0);
  void *buf = malloc(len);
  CHECK_EQ(opt_save(mid, buf, len), len);
  Optimizer *o = opt_create(OPT_CMAES, n, 0, 0.3, 12345); /* other seed: the state overrides it */
  CHECK(opt_load(o, buf, len));
  CHECK(!opt_load(o, buf, len - 1));
  double x[8], f[64], a = INFINITY, b = INFINITY;
  int lam = opt_popsize(o);
  for (int g = 20; g < 50; g++) {
    for (int i = 0; i < lam; i++) {
      opt_ask(o, i, x);
      f[i] = sphere(x, n);
      if (f[i] < a) a = f[i];
    }
    opt_tell(o, f);
    for (int i = 0; i < lam; i++) {
      opt_ask(mid, i, x);
      f[i] = sphere(x, n);
      if (f[i] < b) b = f[i];
    }
    opt_tell(mid, f);
  }
  CHECK(a == b);
  opt_destroy(o);
  opt_destroy(mid);
  free(buf);
}

/* The normal generator (ziggurat) against N(0, 1): moments, the
 * Kolmogorov-Smirnov distance to the normal CDF (1.63 / sqrt(N) is the 1%
 * critical value; the seed is fixed, so the check is exact), and the share
 * of values in the tail beyond 3.4426, where the generator switches
 * method (2 (1 - Phi(3.4426)) = 5.76e-4 of them). */
static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void test_rng(void) {
  Rng r;
  rng_seed(&r, 42);
  enum { N = 200000 };
  double *v = malloc(sizeof(double) * N);
  CHECK(v != NULL);
  double s = 0, s2 = 0, s4 = 0;
  int tail = 0;
  for (int i = 0; i < N; i++) {
    v[i] = rng_normal(&r);
    s += v[i];
    s2 += v[i] * v[i];
    s4 += v[i] * v[i] * v[i] * v[i];
    tail += fabs(v[i]) > 3.442619855899;
  }
  CHECK_NEAR(s / N, 0, 0.01);
  CHECK_NEAR(s2 / N, 1, 0.01);
  CHECK_NEAR(s4 / N, 3, 0.05);
  CHECK(tail > 80 && tail < 160); /* expected 115, sd 11 */
  qsort(v, N, sizeof *v, cmp_double);
  double ks = 0;
  for (int i = 0; i < N; i++) {
    double cdf = 0.5 * erfc(-v[i] / sqrt(2.0));
    double d1 = fabs((double)(i + 1) / N - cdf), d2 = fabs(cdf - (double)i / N);
    ks = fmax(ks, fmax(d1, d2));
  }
  CHECK(ks < 1.63 / sqrt((double)N));
  free(v);
}

int main(void) {
  RUN(test_cmaes_converges);
  RUN(test_genetic_improves);
  RUN(test_deterministic);
  RUN(test_checkpoint);
  RUN(test_rng);
  TEST_END();
}
