/*
 * test_schedule_zoo.c: whole-network schedules on every zoo network and
 * every preset (backend/schedule.c, search/scheduler.c).
 *
 *   test_schedule_zoo [--budget N] NET[,NET...] PRESET[,PRESET...] SCRATCH_DIR
 *
 * For each network (built without weights) and preset: lower and map it
 * (map{budget=N,seed=1}, default 300: the checks do not depend on how good
 * the mappings are), then check
 *   1. layer by layer (a schedule without groups): every mac nest's
 *      CostResult equal, byte for byte, to cost_eval of its mapping, and the
 *      report of that schedule byte-identical (table and JSON) to the layer
 *      report's;
 *   2. every mapping shrunk to its own P x Q is the mapping itself, and
 *      schedule.c's recount of energy and cycles (sched_recount) gives
 *      cost_eval's figures on cost_eval's own result;
 *   3. the searched schedule: it evaluates, its EDP is not above layer by
 *      layer's, the search's fast counts agree with the full evaluation
 *      (cycles exactly, energy within 1e-9 relative), and its text form
 *      round-trips (print -> parse -> print byte-identical, equal groups).
 * Prints one line per (network, preset); exit 0 if every check holds.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "frontend/frontend.h"
#include "search/search.h"
#include "passes/passes.h"

static int failures;

#define FAIL(...)                          \
  do {                                     \
    printf("  FAIL %s/%s: ", net, preset); \
    printf(__VA_ARGS__);                   \
    printf("\n");                          \
    failures++;                            \
  } while (0)

static char *report_text(const Module *m, const Arch *a, const Schedule *s, const CostResult *per,
                         const char *json, Diag *d) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  Rc rc = s ? report_write_schedule(m, a, s, per, f, json, d) : report_write(m, a, f, json, d);
  fclose(f);
  if (rc != RC_OK) {
    free(buf);
    return NULL;
  }
  return buf;
}

static char *slurp(const char *path) {
  uint8_t *b = NULL;
  size_t n = 0;
  Diag d;
  diag_init(&d, stderr, path);
  if (file_read_all(path, (size_t)1 << 28, &b, &n, &d) != RC_OK) return NULL;
  char *s = malloc(n + 1);
  memcpy(s, b, n);
  s[n] = 0;
  xfree(b);
  return s;
}

static void run_one(const char *net, const char *preset, int budget, const char *scratch) {
  Diag d;
  diag_init(&d, stderr, net);
  static Arch arch;
  if (arch_preset_load(preset, &arch, &d) != RC_OK) {
    FAIL("preset");
    return;
  }
  Model *g = NULL;
  if (zoo_build(net, false, 1, &g, &d) != RC_OK) {
    FAIL("zoo");
    return;
  }
  PassRegistry *reg = pass_registry_create();
  Pipeline pl;
  char pipe[128];
  snprintf(pipe, sizeof pipe, "fold-bn,fuse-act,lower,map{budget=%d,seed=1},verify", budget);
  if (!reg || pipeline_parse(reg, pipe, &pl, &d) != RC_OK) {
    FAIL("pipeline");
    return;
  }
  PMOptions pmo;
  pm_options_default(&pmo);
  Program prog = {.graph = g, .arch = &arch, .jobs = 2};
  Rc rc = pm_run(&pl, &prog, &pmo, &d);
  SchedModel *sm = NULL;
  if (rc == RC_OK) rc = sched_model_create(prog.mod, &arch, &sm, &d);
  const Module *m = prog.mod;
  uint32_t n = m ? m->nnests : 0;
  CostResult *per = calloc(n + 1, sizeof *per), *per0 = calloc(n + 1, sizeof *per0);
  Schedule *none = calloc(1, sizeof *none), *best = calloc(1, sizeof *best),
           *back = calloc(1, sizeof *back);
  SchedTotals t0, t1;
  int layers = 0;
  char json0[512], json1[512];
  snprintf(json0, sizeof json0, "%s/layer.json", scratch);
  snprintf(json1, sizeof json1, "%s/sched.json", scratch);
  if (rc != RC_OK) {
    FAIL("did not map or analyse");
    goto done;
  }
  /* 1. layer by layer */
  if (schedule_eval(sm, none, per0, &t0, &d) != RC_OK) {
    FAIL("layer schedule does not evaluate");
    goto done;
  }
  double e_sum = 0;
  int64_t c_sum = 0;
  for (uint32_t i = 0; i < n; i++) {
    const Nest *nt = &m->nests[i];
    Problem p;
    if (!nest_problem(nt, &p) || !nt->map) continue;
    layers++;
    CostResult r;
    if (cost_eval(&p, &arch, &nt->map->m, &r) != COST_OK)
      FAIL("'%s' does not evaluate", nt->name);
    else if (memcmp(&r, &per0[i], sizeof r) != 0)
      FAIL("'%s': layer schedule differs from cost_eval", nt->name);
    e_sum += r.energy_pj, c_sum += r.cycles;
    /* schedule.c's copy of cost.c's energy and cycle formulas */
    CostResult rc2 = r;
    sched_recount(&rc2, &arch);
    if (rc2.cycles != r.cycles || rc2.energy_pj != r.energy_pj || rc2.bottleneck != r.bottleneck ||
        rc2.utilization != r.utilization)
      FAIL(
          "'%s': recounting cost_eval's result gives cycles %lld, energy %.17g (cost_eval %lld, %.17g)",
          nt->name, (long long)rc2.cycles, rc2.energy_pj, (long long)r.cycles, r.energy_pj);
    /* 2. the shrink at full size */
    Mapping sh;
    mapping_shrink_tile(&nt->map->m, p.dim[DIM_P], p.dim[DIM_Q], &sh);
    if (memcmp(&sh, &nt->map->m, sizeof sh) != 0)
      FAIL("'%s': shrinking to its own P x Q changed the mapping", nt->name);
  }
  if (t0.energy_pj != e_sum || t0.cycles != c_sum)
    FAIL("layer totals differ from the layer report's sums");
  char *r0 = report_text(m, &arch, NULL, NULL, json0, &d), *j0 = slurp(json0);
  char *r1 = report_text(m, &arch, none, per0, json1, &d), *j1 = slurp(json1);
  if (!r0 || !r1 || strcmp(r0, r1) != 0)
    FAIL("the report of the layer schedule is not the layer report");
  if (!j0 || !j1 || strcmp(j0, j1) != 0)
    FAIL("the JSON of the layer schedule is not the layer report's");
  free(r0), free(r1), free(j0), free(j1);
  /* 3. the searched schedule */
  SchedOptions o;
  sched_options_default(&o);
  SchedSearchStats st;
  if (sched_search(sm, &o, best, &st, &d) != RC_OK) {
    FAIL("search");
    goto done;
  }
  if (schedule_eval(sm, best, per, &t1, &d) != RC_OK) {
    FAIL("the searched schedule does not evaluate");
    goto done;
  }
  if (best->ngroups && t1.cycles != st.cycles)
    FAIL("cycles: search %lld, evaluation %lld", (long long)st.cycles, (long long)t1.cycles);
  if (best->ngroups && !(fabs(t1.energy_pj - st.energy_pj) <= 1e-9 * st.energy_pj))
    FAIL("energy: search %.17g, evaluation %.17g", st.energy_pj, t1.energy_pj);
  if (!(t1.edp <= t0.edp * (1 + 1e-12)))
    FAIL("EDP %.6g above layer by layer's %.6g", t1.edp, t0.edp);
  for (uint32_t i = 0; i < n; i++)
    for (int l = 0; l < arch.nlevels; l++)
      for (int t = 0; t < NTENSORS; t++) {
        const AccessCounts *c = &per[i].level[l].total[t];
        if (c->reads < 0 || c->fills < 0 || c->updates < 0)
          FAIL("'%s': a negative count", m->nests[i].name);
      }
  /* text round trip */
  char *txt = NULL, *txt2 = NULL;
  size_t tl = 0, tl2 = 0;
  FILE *f = open_memstream(&txt, &tl);
  schedule_print(f, m, &arch, best);
  fclose(f);
  d.file = "schedule";
  if (schedule_parse(txt, tl, sm, back, &d) != RC_OK) {
    FAIL("the printed schedule does not parse");
  } else {
    f = open_memstream(&txt2, &tl2);
    schedule_print(f, m, &arch, back);
    fclose(f);
    if (tl != tl2 || memcmp(txt, txt2, tl) != 0) FAIL("print -> parse -> print differs");
    bool same = back->ngroups == best->ngroups;
    for (uint32_t k = 0; same && k < best->ngroups; k++) {
      const SchedGroup *x = &back->group[k], *y = &best->group[k];
      same = x->first == y->first && x->last == y->last && x->mode == y->mode &&
             x->overlap == y->overlap && x->home == y->home && x->weights_home == y->weights_home &&
             x->tile[0] == y->tile[0] && x->tile[1] == y->tile[1];
    }
    if (!same) FAIL("the parsed schedule differs from the printed one");
  }
  free(txt), free(txt2);
  printf(
      "%-12s %-11s %3d mac layers; searched: %3u groups, EDP %.4g -> %.4g (%.2fx), DRAM words %lld -> %lld; "
      "%lld tile evaluations\n",
      net, preset, layers, best->ngroups, t0.edp, t1.edp, t0.edp / t1.edp, (long long)t0.dram_words,
      (long long)t1.dram_words, (long long)st.tile_evals);
done:
  free(per), free(per0), free(none), free(best), free(back);
  sched_model_destroy(sm);
  program_free(&prog);
  pipeline_free(&pl);
  pass_registry_destroy(reg);
}

int main(int argc, char **argv) {
  int a = 1, budget = 300;
  if (a + 1 < argc && strcmp(argv[a], "--budget") == 0) budget = atoi(argv[a + 1]), a += 2;
  if (argc - a != 3) {
    fprintf(stderr,
            "usage: test_schedule_zoo [--budget N] NET[,NET...] PRESET[,PRESET...] SCRATCH_DIR\n");
    return 2;
  }
  char *nets = strdup(argv[a]), *presets = argv[a + 1];
  const char *scratch = argv[a + 2];
  int cases = 0;
  for (char *s1, *net = strtok_r(nets, ",", &s1); net; net = strtok_r(NULL, ",", &s1)) {
    char *pc = strdup(presets);
    for (char *s2, *pr = strtok_r(pc, ",", &s2); pr; pr = strtok_r(NULL, ",", &s2)) {
      run_one(net, pr, budget, scratch);
      cases++;
    }
    free(pc);
  }
  free(nets);
  printf("%d cases, %d failures\n", cases, failures);
  return failures != 0 || cases == 0;
}
