/*
 * bench_cost.c: single-layer cost_eval throughput on one core over the
 * Timeloop validation cases (bench/README.md).
 *
 * Loads every case of a directory, then for each architecture evaluates
 * its cases round-robin for a fixed CPU time, repeats, and reports the best
 * repetition in evaluations per CPU-second of this one thread.  A 4-level architecture is derived
 * from the simple_ws/simple_os cases by merging their three one-word
 * registers into one register level (DRAM, GLB, PE scratchpad, registers);
 * its counts are not Timeloop's, it only measures speed at that depth.
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend/backend.h"

#define MAX_CASES 256

typedef struct {
  Problem p;
  Arch a;
  Mapping m;
} Triple;

static Triple cases[MAX_CASES];
static int ncases;
static double sink; /* keeps the evaluations observable */

/* CPU time of this thread: evaluations per CPU-second, unaffected by other
 * processes sharing the core. */
static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static bool has_remainder(const Mapping *m) {
  for (int l = 0; l < m->nlevels; l++)
    for (int d = 0; d < NDIMS; d++)
      if (m->level[l].remainder[d] && m->level[l].remainder[d] != m->level[l].factor[d])
        return true;
  return false;
}

/* DRAM, GLB, scratchpad + weight/input/output registers -> one register level. */
static bool merge_registers(const Triple *in, Triple *out) {
  const Arch *a = &in->a;
  if (a->nlevels != 6 || strcmp(a->level[3].name, "weight_reg") != 0) return false;
  *out = *in;
  Arch *oa = &out->a;
  Mapping *om = &out->m;
  oa->nlevels = om->nlevels = 4;
  Level *reg = &oa->level[3];
  snprintf(reg->name, sizeof reg->name, "registers");
  reg->keeps_allowed = ACCEL_ALL_TENSORS;
  reg->capacity_words = 0;
  LevelMapping *lm = &om->level[3];
  for (int l = 4; l < 6; l++) {
    const LevelMapping *src = &in->m.level[l];
    for (int d = 0; d < NDIMS; d++) {
      if (src->remainder[d] && src->remainder[d] != src->factor[d]) return false;
      lm->factor[d] *= src->factor[d];
    }
    lm->keep |= src->keep;
  }
  if (has_remainder(om)) return false;
  CostResult r;
  return cost_eval(&out->p, oa, om, &r) == COST_OK;
}

static void load_dir(const char *dir) {
  DIR *dp = opendir(dir);
  if (!dp) {
    fprintf(stderr, "bench_cost: cannot open %s\n", dir);
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
    cases[ncases].p = c.problem, cases[ncases].a = c.arch, cases[ncases].m = c.mapping;
    ncases++;
  }
  closedir(dp);
}

/* Best evaluations/second over `reps` runs of `secs` each on cases[idx[]]. */
typedef int (*EvalFn)(const Problem *, const Arch *, const Mapping *, CostResult *);

static double measure_fn(EvalFn fn, const Triple *const *set, int n, double secs, int reps);

static double measure(const Triple *const *set, int n, double secs, int reps) {
  return measure_fn(cost_eval, set, n, secs, reps);
}

static double measure_fn(EvalFn fn, const Triple *const *set, int n, double secs, int reps) {
  double best = 0;
  CostResult r;
  for (int rep = 0; rep < reps; rep++) {
    long evals = 0;
    double t0 = now(), t1;
    do {
      for (int k = 0; k < 64; k++)
        for (int i = 0; i < n; i++) {
          if (fn(&set[i]->p, &set[i]->a, &set[i]->m, &r) == COST_OK) sink += r.energy_pj;
          evals++;
        }
      t1 = now();
    } while (t1 - t0 < secs);
    double rate = (double)evals / (t1 - t0);
    if (rate > best) best = rate;
  }
  return best;
}

int main(int argc, char **argv) {
  const char *dir = NULL;
  double secs = 0.3;
  int reps = 5;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
      secs = atof(argv[++i]);
    else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
      reps = atoi(argv[++i]);
    else if (argv[i][0] != '-' && !dir)
      dir = argv[i];
    else {
      fprintf(stderr, "usage: bench_cost CASE_DIR [--seconds S] [--reps N]\n");
      return 2;
    }
  }
  if (!dir || secs <= 0 || reps < 1) {
    fprintf(stderr, "usage: bench_cost CASE_DIR [--seconds S] [--reps N]\n");
    return 2;
  }
  load_dir(dir);
  if (!ncases) {
    fprintf(stderr, "bench_cost: no cases in %s\n", dir);
    return 2;
  }

  static Triple merged[MAX_CASES];
  int nmerged = 0;
  for (int i = 0; i < ncases; i++)
    if (merge_registers(&cases[i], &merged[nmerged])) nmerged++;

  /* Group by architecture name, perfect mappings apart from mappings with
   * remainders (the general walk, README "Speed"). */
  static const Triple *set[MAX_CASES], *rem[MAX_CASES];
  char done[MAX_CASES] = {0};
  printf("%-32s %6s %6s %14s %6s %16s\n", "architecture", "levels", "cases", "evals/s", "rem.",
         "evals/s (rem.)");
  for (int i = 0; i < ncases; i++) {
    if (done[i]) continue;
    int n = 0, nr = 0;
    for (int j = i; j < ncases; j++)
      if (!done[j] && strcmp(cases[j].a.name, cases[i].a.name) == 0) {
        done[j] = 1;
        if (has_remainder(&cases[j].m))
          rem[nr++] = &cases[j];
        else
          set[n++] = &cases[j];
      }
    printf("%-32s %6d %6d %14.0f %6d %16.0f\n", cases[i].a.name, cases[i].a.nlevels, n,
           n ? measure(set, n, secs, reps) : 0.0, nr, nr ? measure(rem, nr, secs, reps) : 0.0);
  }
  double rate4 = 0;
  if (nmerged) {
    for (int i = 0; i < nmerged; i++) set[i] = &merged[i];
    rate4 = measure(set, nmerged, secs, reps);
    printf("%-32s %6d %6d %14.0f\n", "simple_ws/os, registers merged", 4, nmerged, rate4);
  }
  for (int i = 0; i < ncases; i++) set[i] = &cases[i];
  double all = measure(set, ncases, secs, reps);
  printf("%-32s %6s %6d %14.0f  (perfect and remainders)\n", "all cases", "3-6", ncases, all);
  if (nmerged) printf("cost_eval: %.0f evaluations/s on one core for a 4-level arch\n", rate4);
  /* Baseline, side by side: the general extrapolated walk (Timeloop's own
   * method, cost_eval_reference), on the same 4-level cases. */
  if (nmerged) {
    for (int i = 0; i < nmerged; i++) set[i] = &merged[i];
    double ref = measure_fn(cost_eval_reference, set, nmerged, secs, reps);
    printf("baseline cost_eval_reference (the walk Timeloop does): %.0f evaluations/s; "
           "closed forms %.1fx faster\n",
           ref, ref > 0 ? rate4 / ref : 0);
  }
  return sink == 0.123456789 ? 1 : 0;
}
