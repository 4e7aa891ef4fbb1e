/*
 * bench_dcost.c: the speed of the differentiable cost model (dcost.c)
 * against the exact one (cost.c), side by side in one run, on the Timeloop
 * validation cases (bench/README.md).
 *
 *   bench_dcost CASE_DIR [--seconds S] [--reps N] [--temperature T] [--preset NAME ...]
 *
 * Loads every case of a directory whose mapping has no remainders (the
 * relaxation's domain, dcost_relax), relaxes each mapping once (not timed),
 * and, per architecture and over all cases, measures four ways of
 * evaluating the same cases in evaluations per CPU-second of this thread:
 *   cost_eval            the exact model;
 *   dcost T=0            dcost_eval at temperature 0 (the exact value,
 *                        with the tape recorded);
 *   dcost T              dcost_eval at temperature T (default 0.1, the
 *                        co-search's start; smoothed ceilings and maxima);
 *   dcost T + grad       dcost_eval at T, then dcost_grad of log EDP (what
 *                        one descent step of the gradient mapper costs).
 * Each repetition runs the four in turn for S CPU-seconds each, so load on
 * the machine falls on all four alike; the best repetition of each is
 * reported, with the ratio to cost_eval.  --preset NAME adds a row of the
 * cases' layers on that preset, each with the mapper's best of 300 es
 * evaluations (seed 1; not timed): the designs the gradient mapper and
 * co-search run on.  A benchmark, not a test.
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend/backend.h"
#include "search/search.h"

#define MAX_CASES 256
#define NWAYS 4

typedef struct {
  Problem p;
  Arch a;
  Mapping m;
  RelaxedMapping r;
} Case;

static Case cases[MAX_CASES], on_preset[MAX_CASES];
static int ncases, nskipped;
static double sink; /* keeps the evaluations observable */
static DcostTape *tape;
static double temp = 0.1;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void load_dir(const char *dir) {
  DIR *dp = opendir(dir);
  if (!dp) {
    fprintf(stderr, "bench_dcost: cannot open %s\n", dir);
    exit(2);
  }
  struct dirent *e;
  static CostCase c;
  while ((e = readdir(dp)) && ncases < MAX_CASES) {
    size_t n = strlen(e->d_name);
    if (n < 6 || strcmp(e->d_name + n - 5, ".json") != 0 || strcmp(e->d_name, "index.json") == 0)
      continue;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    Diag d;
    diag_init(&d, stderr, path);
    if (case_load(path, &c, &d) != RC_OK) continue;
    Case *k = &cases[ncases];
    k->p = c.problem, k->a = c.arch, k->m = c.mapping;
    CostResult r;
    if (cost_eval(&k->p, &k->a, &k->m, &r) != COST_OK ||
        dcost_relax(&k->p, &k->a, &k->m, &k->r) != COST_OK) {
      nskipped++;
      continue;
    }
    ncases++;
  }
  closedir(dp);
}

/* One evaluation of case k the way `way` does it. */
static void eval_one(int way, const Case *k) {
  if (way == 0) {
    CostResult r;
    if (cost_eval(&k->p, &k->a, &k->m, &r) == COST_OK) sink += r.energy_pj;
    return;
  }
  DcostResult out;
  if (dcost_eval(&k->p, &k->a, &k->r, way == 1 ? 0 : temp, tape, &out) != COST_OK) return;
  sink += out.energy_pj;
  if (way == 3) {
    DcostSeed s;
    memset(&s, 0, sizeof s);
    s.log_energy = s.log_cycles = 1;
    RelaxedMapping g;
    dcost_grad(tape, &s, &g);
    sink += g.t[0][0];
  }
}

/* Best evaluations/second of each way over `reps` interleaved repetitions. */
static void measure(const Case *const *set, int n, double secs, int reps, double *best) {
  for (int w = 0; w < NWAYS; w++) best[w] = 0;
  for (int rep = 0; rep < reps; rep++)
    for (int w = 0; w < NWAYS; w++) {
      long evals = 0;
      double t0 = now(), t1;
      do {
        for (int i = 0; i < n; i++) eval_one(w, set[i]);
        evals += n;
        t1 = now();
      } while (t1 - t0 < secs);
      double rate = (double)evals / (t1 - t0);
      if (rate > best[w]) best[w] = rate;
    }
}

static void row(const char *name, const char *levels, int n, const double *b) {
  printf("| %s | %s | %d | %.0f | %.0f | %.0f | %.0f | %.1fx | %.1fx |\n", name, levels, n, b[0],
         b[1], b[2], b[3], b[1] > 0 ? b[0] / b[1] : 0, b[3] > 0 ? b[0] / b[3] : 0);
}

int main(int argc, char **argv) {
  const char *dir = NULL, *presets[8];
  int npresets = 0;
  double secs = 0.2;
  int reps = 5;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
      secs = atof(argv[++i]);
    else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
      reps = atoi(argv[++i]);
    else if (strcmp(argv[i], "--temperature") == 0 && i + 1 < argc)
      temp = atof(argv[++i]);
    else if (strcmp(argv[i], "--preset") == 0 && i + 1 < argc && npresets < 8)
      presets[npresets++] = argv[++i];
    else if (argv[i][0] != '-' && !dir)
      dir = argv[i];
    else
      dir = NULL, secs = 0;
  }
  if (!dir || !(secs > 0) || reps < 1 || !(temp > 0)) {
    fprintf(stderr, "usage: bench_dcost CASE_DIR [--seconds S] [--reps N] [--temperature T] "
                    "[--preset NAME ...]\n");
    return 2;
  }
  load_dir(dir);
  tape = dcost_tape_create();
  if (!ncases || !tape) {
    fprintf(stderr, "bench_dcost: no relaxable cases in %s\n", dir);
    return 2;
  }
  printf("| architecture | levels | cases | cost_eval /s | dcost T=0 /s | dcost T=%g /s | dcost "
         "T=%g + grad /s | cost_eval / dcost T=0 | cost_eval / (dcost + grad) |\n",
         temp, temp);
  printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  static const Case *set[MAX_CASES];
  char done[MAX_CASES] = {0};
  double b[NWAYS];
  for (int i = 0; i < ncases; i++) {
    if (done[i]) continue;
    int n = 0;
    for (int j = i; j < ncases; j++)
      if (!done[j] && strcmp(cases[j].a.name, cases[i].a.name) == 0)
        done[j] = 1, set[n++] = &cases[j];
    measure(set, n, secs, reps, b);
    char lv[8];
    snprintf(lv, sizeof lv, "%d", cases[i].a.nlevels);
    row(cases[i].a.name, lv, n, b);
  }
  for (int i = 0; i < ncases; i++) set[i] = &cases[i];
  measure(set, ncases, secs, reps, b);
  row("**all cases**", "3-6", ncases, b);
  for (int pi = 0; pi < npresets; pi++) {
    Arch a;
    Diag d;
    diag_init(&d, stderr, presets[pi]);
    if (arch_preset_load(presets[pi], &a, &d) != RC_OK) return 2;
    int n = 0;
    for (int i = 0; i < ncases; i++) {
      Case *k = &on_preset[n];
      MapperOptions o;
      mapper_options_default(&o);
      o.budget = 300;
      o.seed = 1;
      MapResult r;
      Diag quiet;
      diag_init(&quiet, NULL, NULL);
      k->p = cases[i].p, k->a = a;
      if (mapper_run(&k->p, &a, &o, &r, &quiet) != RC_OK) continue;
      k->m = r.best;
      if (dcost_relax(&k->p, &a, &k->m, &k->r) != COST_OK) continue;
      set[n++] = k;
    }
    if (!n) continue;
    measure(set, n, secs, reps, b);
    char name[64], lv[8];
    snprintf(name, sizeof name, "preset %s", presets[pi]);
    snprintf(lv, sizeof lv, "%d", a.nlevels);
    row(name, lv, n, b);
  }
  printf("\n%d cases with remainders left out (outside the relaxation)\n", nskipped);
  dcost_tape_destroy(tape);
  return sink == 0.123456789 ? 1 : 0;
}
