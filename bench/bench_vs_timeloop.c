/*
 * bench_vs_timeloop.c: the default mapper against Timeloop's own mapper on
 * the layers and architectures of the validation cases.
 *
 *   bench_vs_timeloop BUDGET CASE__mapper.json ...
 *
 * For each case whose mapping came from timeloop-mapper, it evaluates that
 * mapping with naasc's cost model (which agrees with Timeloop count for
 * count), runs naasc's mapper (es) and random search with BUDGET
 * evaluations, and prints EDP ratios to Timeloop's mapping.  Not like for
 * like: Timeloop's mapper searched under the dataflow constraints stored in
 * each case (mapping_source), which the case format does not carry into
 * the Arch, so naasc searches a larger space (every dim allowed on every
 * axis, any keep).  bench/timeloop_mapper_cases.py compares like for like:
 * it hands the same constraints to `naasc cost --timeloop --map`
 * (docs/benchmarks.md).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "backend/backend.h"
#include "search/search.h"

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: bench_vs_timeloop BUDGET CASE.json...\n");
    return 2;
  }
  int64_t budget = atoll(argv[1]);
  double g_es = 0, g_rand = 0;
  int n = 0;
  printf("%-52s %10s %10s %8s\n", "case", "es/tl", "random/tl", "es s");
  for (int i = 2; i < argc; i++) {
    static CostCase cc;
    Diag d;
    diag_init(&d, stderr, argv[i]);
    if (case_load(argv[i], &cc, &d) != RC_OK) continue;
    CostResult ref;
    if (cost_eval(&cc.problem, &cc.arch, &cc.mapping, &ref) != COST_OK) continue;
    MapperOptions o;
    mapper_options_default(&o);
    o.budget = budget;
    MapResult es, rnd;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    Rc rc = mapper_run(&cc.problem, &cc.arch, &o, &es, &d);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    o.strategy = MAP_RANDOM;
    Rc rc2 = mapper_run(&cc.problem, &cc.arch, &o, &rnd, &d);
    if (rc != RC_OK || rc2 != RC_OK) continue;
    double tl = ref.energy_pj * (double)ref.cycles;
    printf("%-52s %10.3f %10.3f %8.3f\n", cc.name, es.best_fitness / tl, rnd.best_fitness / tl,
           (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
    g_es += log(es.best_fitness / tl);
    g_rand += log(rnd.best_fitness / tl);
    n++;
  }
  if (n)
    printf("geomean over %d cases: es / timeloop-mapper %.3f, random / timeloop-mapper %.3f\n", n,
           exp(g_es / n), exp(g_rand / n));
  return 0;
}
