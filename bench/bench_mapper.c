/*
 * bench_mapper.c: mapping quality and speed, every unique mac layer of the
 * given models on the given architecture.
 *
 *   bench_mapper TARGET MODEL.onnx [MODEL.onnx ...] [--budget N] [--long X] [--seed S]
 *                [--save-ref FILE | --ref FILE] [--strategy S[@N[xC]][,...]]
 *
 * TARGET is anything --target takes.  For each unique layer shape it runs:
 *   es       the default mapper (NAAS evolution strategy), N evaluations;
 *   random   random search with the same N evaluations (the Timeloop baseline);
 *   long     the default mapper with X times the evaluations, and exhaustive
 *            search when the layer's space is small enough to finish, as the
 *            reference for "near-optimal";
 * and prints the EDP ratios per layer; per model and over all models the
 * geomean of es/best, how many layers are within 5% of the best, the worst
 * layer, the geomean of random/es, and the default mapper's time.
 * --save-ref writes the reference EDP of every layer ("MODEL LAYER EDP"
 * lines); --ref reads such a file instead of running the long searches, so
 * variants of the mapper are compared with one fixed reference.  A layer
 * the file has no line for has no reference: it is listed as "none", left
 * out of es/best, of "within 5%" and of the worst layer, and counted apart
 * ("no reference"), never taken as a perfect 1.000.  Both sides of every
 * ratio get the same effort: es and random run with the same budget and
 * seed.  A benchmark, not a test: figures go to docs/benchmarks.md with the
 * command that made them.
 *
 * --strategy compares mapper strategies instead (es, random, genetic,
 * surrogate, gradient, exhaustive), each with --budget exact evaluations or
 * its own N (gradient@2000), es also with C independent chains sharing
 * them (es@20000x4; without xC the mapper's own choice): per layer each one's EDP over the best known
 * (the --ref file, or the best any of them found), and at the end per
 * strategy the geomean of that ratio, the layers within 5%, the exact and
 * relaxed (gradient) evaluations and the CPU time of its runs (this
 * thread's, so other processes do not count).  With --save-ref it writes
 * each layer's best known EDP (the --ref file's and every strategy's best),
 * so a long run among the strategies (es@400000) makes a reference file.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "frontend/frontend.h"
#include "search/search.h"
#include "passes/passes.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double cpu_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

#define MAX_STRATS 12

typedef struct {
  char name[32];
  MapStrategy s;
  int64_t budget;
  int chains; /* es: independent chains (0: the mapper's default) */
  double log_ratio, cpu;
  int64_t evals, relaxed;
  int within5, n, failed;
} Strat;

/* "es,gradient@2000" into st[]; false on a bad entry. */
static int parse_strategies(const char *arg, int64_t budget, Strat *st) {
  char buf[512];
  snprintf(buf, sizeof buf, "%s", arg);
  int n = 0;
  for (char *tok = strtok(buf, ","); tok && n < MAX_STRATS; tok = strtok(NULL, ",")) {
    Strat *x = &st[n];
    memset(x, 0, sizeof *x);
    snprintf(x->name, sizeof x->name, "%s", tok);
    x->budget = budget;
    char *at = strchr(tok, '@');
    if (at) {
      *at = 0;
      char *end;
      x->budget = strtoll(at + 1, &end, 10);
      if (*end == 'x') x->chains = atoi(end + 1);
      if (*end == 'x' && x->chains < 1) return -1;
    }
    if (!map_strategy_parse(tok, &x->s) || x->budget < 1) return -1;
    if (x->chains && x->s != MAP_ES) return -1;
    n++;
  }
  return n;
}

/* The reference EDP of a layer in a "MODEL LAYER EDP" file (the best of its lines), or +inf. */
static double ref_lookup(FILE *f, const char *model, const char *layer) {
  double best = INFINITY, v;
  char mn[128], ln[256];
  if (!f) return best;
  rewind(f);
  while (fscanf(f, "%127s %255s %lf", mn, ln, &v) == 3)
    if (strcmp(mn, model) == 0 && strcmp(ln, layer) == 0) best = fmin(best, v);
  return best;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr,
            "usage: bench_mapper TARGET MODEL.onnx... [--budget N] [--long X] [--seed S]\n");
    return 2;
  }
  DriverOptions drv;
  driver_options_default(&drv, NULL);
  drv.target = argv[1];
  int64_t budget = 20000, longx = 100; /* the mapper's default budget */
  uint64_t seed = 1;
  const char *models[16], *save_ref = NULL, *load_ref = NULL, *strategies = NULL;
  int nmodels = 0;
  for (int i = 2; i < argc; i++) {
    if (strcmp(argv[i], "--budget") == 0 && i + 1 < argc)
      budget = atoll(argv[++i]);
    else if (strcmp(argv[i], "--long") == 0 && i + 1 < argc)
      longx = atoll(argv[++i]);
    else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
      seed = strtoull(argv[++i], NULL, 10);
    else if (strcmp(argv[i], "--save-ref") == 0 && i + 1 < argc)
      save_ref = argv[++i];
    else if (strcmp(argv[i], "--ref") == 0 && i + 1 < argc)
      load_ref = argv[++i];
    else if (strcmp(argv[i], "--strategy") == 0 && i + 1 < argc)
      strategies = argv[++i];
    else if (nmodels < 16)
      models[nmodels++] = argv[i];
  }
  Diag d;
  diag_init(&d, stderr, "bench_mapper");
  static Arch arch;
  if (driver_load_target(&drv, &arch, &d) != RC_OK) return 1;
  FILE *ref_out = save_ref ? fopen(save_ref, "w") : NULL;
  FILE *ref_in = load_ref ? fopen(load_ref, "r") : NULL;
  if ((save_ref && !ref_out) || (load_ref && !ref_in)) {
    fprintf(stderr, "bench_mapper: cannot open the reference file\n");
    return 1;
  }
  if (strategies) {
    Strat st[MAX_STRATS];
    int ns = parse_strategies(strategies, budget, st);
    if (ns <= 0) {
      fprintf(stderr, "bench_mapper: bad --strategy '%s'\n", strategies);
      return 2;
    }
    printf("target %s, seed %llu, reference %s\n\n", arch.name, (unsigned long long)seed,
           load_ref ? load_ref : "the best any strategy found");
    printf("%-12s %-30s", "model", "layer");
    for (int k = 0; k < ns; k++) printf(" %14s", st[k].name);
    printf("\n");
    for (int mi = 0; mi < nmodels; mi++) {
      Model *g = NULL;
      Module *mod = NULL;
      d.file = models[mi];
      if (onnx_import(models[mi], NULL, &g, &d) != RC_OK) return 1;
      graph_fold_bn(g, &d);
      graph_fuse_act(g, &d);
      if (lower_model(g, &mod, &d) != RC_OK) return 1;
      Problem seen[256];
      int nseen = 0;
      for (uint32_t i = 0; i < mod->nnests; i++) {
        Problem p;
        if (!nest_problem(&mod->nests[i], &p)) continue;
        bool dup = false;
        for (int k = 0; k < nseen && !dup; k++)
          dup = memcmp(seen[k].dim, p.dim, sizeof p.dim) == 0 &&
                memcmp(seen[k].stride, p.stride, sizeof p.stride) == 0 &&
                memcmp(seen[k].dilation, p.dilation, sizeof p.dilation) == 0;
        if (dup || nseen == 256) continue;
        seen[nseen++] = p;
        double fit[MAX_STRATS], best = ref_lookup(ref_in, g->name, mod->nests[i].name);
        for (int k = 0; k < ns; k++) {
          MapperOptions o;
          mapper_options_default(&o);
          o.strategy = st[k].s;
          o.budget = st[k].budget;
          if (st[k].chains) o.chains = st[k].chains;
          o.seed = seed;
          MapResult r;
          double c0 = cpu_now();
          Rc rc = mapper_run(&p, &arch, &o, &r, &d);
          st[k].cpu += cpu_now() - c0;
          st[k].evals += r.evals;
          st[k].relaxed += r.relaxed;
          fit[k] = rc == RC_OK ? r.best_fitness : INFINITY;
          best = fmin(best, fit[k]);
        }
        if (ref_out && isfinite(best)) {
          fprintf(ref_out, "%s %s %.17g\n", g->name, mod->nests[i].name, best);
          fflush(ref_out); /* a partial run still leaves a usable reference */
        }
        printf("%-12s %-30s", g->name, mod->nests[i].name);
        for (int k = 0; k < ns; k++) {
          printf(" %14.4f", fit[k] / best);
          if (!isfinite(fit[k])) {
            st[k].failed++;
            continue;
          }
          st[k].log_ratio += log(fit[k] / best);
          st[k].within5 += fit[k] <= 1.05 * best;
          st[k].n++;
        }
        printf("\n");
      }
      module_destroy(mod);
      model_destroy(g);
    }
    printf("\n%-16s %9s %8s %7s %6s %12s %12s %9s\n", "strategy", "budget", "geomean", "<=5%",
           "layers", "exact evals", "relaxed", "CPU s");
    for (int k = 0; k < ns; k++)
      printf("%-16s %9lld %8.4f %7d %6d %12lld %12lld %9.2f\n", st[k].name, (long long)st[k].budget,
             st[k].n ? exp(st[k].log_ratio / st[k].n) : NAN, st[k].within5, st[k].n + st[k].failed,
             (long long)st[k].evals, (long long)st[k].relaxed, st[k].cpu);
    if (ref_in) fclose(ref_in);
    if (ref_out) fclose(ref_out);
    return 0;
  }
  printf("target %s, budget %lld evaluations per layer, long run x%lld, seed %llu\n\n", arch.name,
         (long long)budget, (long long)longx, (unsigned long long)seed);
  printf("%-28s %-34s %9s %9s %9s %8s\n", "model", "layer", "es/best", "rand/es", "best", "es ms");
  double g_es = 0, g_rand = 0, worst = 0;
  int n = 0, nrand = 0, within = 0, noref = 0;
  char worst_at[300] = "";
  for (int mi = 0; mi < nmodels; mi++) {
    Model *g = NULL;
    Module *mod = NULL;
    d.file = models[mi];
    if (onnx_import(models[mi], NULL, &g, &d) != RC_OK) return 1;
    graph_fold_bn(g, &d);
    graph_fuse_act(g, &d);
    if (lower_model(g, &mod, &d) != RC_OK) return 1;
    Problem seen[256];
    int nseen = 0;
    double t_model = 0, m_es = 0, m_rand = 0, m_worst = 0;
    int m_n = 0, m_nrand = 0, m_within = 0, m_noref = 0;
    char m_worst_at[256] = "";
    for (uint32_t i = 0; i < mod->nnests; i++) {
      Problem p;
      if (!nest_problem(&mod->nests[i], &p)) continue;
      bool dup = false;
      for (int k = 0; k < nseen && !dup; k++)
        dup = memcmp(seen[k].dim, p.dim, sizeof p.dim) == 0 &&
              memcmp(seen[k].stride, p.stride, sizeof p.stride) == 0 &&
              memcmp(seen[k].dilation, p.dilation, sizeof p.dilation) == 0;
      if (dup || nseen == 256) continue;
      seen[nseen++] = p;
      MapperOptions o;
      mapper_options_default(&o);
      o.budget = budget;
      o.seed = seed;
      MapResult es, rnd, lg, ex;
      double t0 = now();
      if (mapper_run(&p, &arch, &o, &es, &d) != RC_OK) continue;
      double t_es = now() - t0;
      t_model += t_es;
      o.strategy = MAP_RANDOM;
      mapper_run(&p, &arch, &o, &rnd, &d);
      double best = es.best_fitness;
      const char *ref = "long";
      bool found = false;
      if (ref_in) { /* "MODEL LAYER EDP" lines */
        char mn[128], ln[256];
        double v;
        rewind(ref_in);
        while (fscanf(ref_in, "%127s %255s %lf", mn, ln, &v) == 3)
          if (strcmp(mn, g->name) == 0 && strcmp(ln, mod->nests[i].name) == 0) {
            best = fmin(best, v);
            found = true;
          }
        ref = found ? "file" : "none";
      } else {
        o.strategy = MAP_ES;
        o.budget = budget * longx;
        o.seed = seed + 1000;
        mapper_run(&p, &arch, &o, &lg, &d);
        best = fmin(lg.best_fitness, es.best_fitness);
        o.strategy = MAP_EXHAUSTIVE;
        o.budget = 3000000;
        if (mapper_run(&p, &arch, &o, &ex, &d) == RC_OK && ex.complete) {
          best = ex.best_fitness;
          ref = "exhaustive";
        }
      }
      if (ref_out) {
        fprintf(ref_out, "%s %s %.17g\n", g->name, mod->nests[i].name, best);
        fflush(ref_out); /* a partial run still leaves a usable reference */
      }
      double q = es.best_fitness / best, qr = rnd.best_fitness / es.best_fitness;
      m_rand += log(qr), m_nrand++;
      if (ref_in && !found) { /* no reference: not a 1.000 */
        printf("%-28s %-34s %9s %9.3f %9s %8.1f\n", g->name, mod->nests[i].name, "n/a", qr, ref,
               1000 * t_es);
        m_noref++;
        continue;
      }
      printf("%-28s %-34s %9.4f %9.3f %9s %8.1f\n", g->name, mod->nests[i].name, q, qr, ref,
             1000 * t_es);
      m_es += log(q), m_n++;
      m_within += q <= 1.05;
      if (q > m_worst) {
        m_worst = q;
        snprintf(m_worst_at, sizeof m_worst_at, "%s", mod->nests[i].name);
      }
    }
    printf("%-28s default mapper time for its %d unique layers: %.3f s\n", g->name, nseen, t_model);
    printf(
        "%-28s summary: %d layers with a reference, es/best %.4f, within 5%% %d, worst %.2f (%s), "
        "random/es %.2fx over %d layers, no reference %d\n\n",
        g->name, m_n, m_n ? exp(m_es / m_n) : NAN, m_within, m_worst, m_worst_at,
        m_nrand ? exp(m_rand / m_nrand) : NAN, m_nrand, m_noref);
    g_es += m_es, n += m_n, within += m_within, noref += m_noref;
    g_rand += m_rand, nrand += m_nrand;
    if (m_worst > worst) {
      worst = m_worst;
      snprintf(worst_at, sizeof worst_at, "%s %s", g->name, m_worst_at);
    }
    module_destroy(mod);
    model_destroy(g);
  }
  printf(
      "geomean over %d layers with a reference: es / best = %.4f, within 5%% %d, worst %.2f (%s); "
      "random / es = %.3f over %d layers; %d layers without a reference (not counted)\n",
      n, n ? exp(g_es / n) : NAN, within, worst, worst_at, nrand ? exp(g_rand / nrand) : NAN, nrand,
      noref);
  if (ref_out) fclose(ref_out);
  if (ref_in) fclose(ref_in);
  return 0;
}
