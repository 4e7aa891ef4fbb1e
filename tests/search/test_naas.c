/*
 * test_naas.c: unit tests of the NAAS co-search (search/naas.c) on small
 * hand-built workloads: the score is the per-model (sum of energies) x (sum
 * of cycles) recomputed here from the per-layer costs the cost model gives
 * for the returned mappings; searched designs stay within the budget; the
 * result does not depend on the thread count; sizing-only keeps the
 * budget's connectivity; bounds and impossible budgets are enforced; a
 * baseline (naas_eval_fixed) gets exactly the searched design's mapper
 * effort, keeps the better of its two passes, and naas_compare refuses
 * results mapped with different efforts.  Those workloads have no module,
 * so they are scored layer by layer (NAAS_SCHED_LAYER); test_fused scores
 * a parsed module by its whole-network schedule: the searched result's
 * schedule re-evaluated here gives its figures exactly, the baseline shares
 * its schedule mode, a layer-scored baseline is refused, and a checkpoint
 * resumes only under the schedule mode it was written with.  The gradient
 * co-search (search/cosearch.c) keeps the budget's hierarchy and
 * connectivity, stays within the budget (area, or bytes with byte_budget),
 * counts its evaluations, is deterministic, and refuses bounds no relaxed
 * point meets; its CMA-ES over connectivity (cmaes+gradient) changes only
 * connectivity around it.  Pruning by the lower bound changes no result
 * (test_prune_exact).  With warm starts the path is a function of the
 * options alone (test_warm_map).
 */
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#include "backend/backend.h"
#include "ir/ir.h"
#include "search/search.h"
#include "tests/unit/test.h"

static Problem conv(int64_t k, int64_t c, int64_t pq, int64_t rs, int64_t g) {
  Problem p;
  memset(&p, 0, sizeof p);
  snprintf(p.name, sizeof p.name, "conv");
  for (int d = 0; d < NDIMS; d++) p.dim[d] = 1;
  p.dim[DIM_G] = g;
  p.dim[DIM_K] = k;
  p.dim[DIM_C] = c;
  p.dim[DIM_P] = p.dim[DIM_Q] = pq;
  p.dim[DIM_R] = p.dim[DIM_S] = rs;
  p.stride[0] = p.stride[1] = p.dilation[0] = p.dilation[1] = 1;
  return p;
}

static void add(NaasWorkload *w, Problem p, int64_t count, int model) {
  if (w->nlayers == w->caplayers) {
    w->caplayers = w->caplayers ? 2 * w->caplayers : 8;
    w->layers = realloc(w->layers, sizeof *w->layers * (size_t)w->caplayers);
  }
  NaasLayer *l = &w->layers[w->nlayers++];
  memset(l, 0, sizeof *l);
  l->p = p;
  l->count = count;
  l->model = model;
  snprintf(l->layer, sizeof l->layer, "layer%d", w->nlayers);
  if (model >= w->nmodels) {
    w->nmodels = model + 1;
    snprintf(w->model_name[model], ACCEL_NAME_MAX, "m%d", model);
  }
}

static void two_models(NaasWorkload *w) {
  memset(w, 0, sizeof *w);
  add(w, conv(32, 16, 14, 3, 1), 2, 0);
  add(w, conv(64, 32, 7, 1, 1), 1, 0);
  add(w, conv(1, 1, 14, 3, 32), 3, 1); /* depthwise */
  add(w, conv(16, 32, 14, 1, 1), 1, 1);
}

static double onchip_bytes(const Arch *a) {
  double b = 0;
  for (int l = 0; l < a->nlevels; l++)
    if (!a->level[l].is_dram)
      b += (double)a->level[l].instances * (double)a->level[l].capacity_words *
           a->level[l].word_bits / 8;
  return b;
}

/* The score from the returned mappings, evaluated again here. */
static void check_score(const NaasWorkload *w, const NaasResult *r) {
  double E[2] = {0}, C[2] = {0};
  for (int i = 0; i < w->nlayers; i++) {
    CostResult c;
    CHECK_EQ(cost_eval(&w->layers[i].p, &r->arch, &r->mapping[i], &c), COST_OK);
    CHECK_NEAR(c.energy_pj, r->cost[i].energy_pj, 1e-6 * c.energy_pj);
    E[w->layers[i].model] += (double)w->layers[i].count * c.energy_pj;
    C[w->layers[i].model] += (double)w->layers[i].count * (double)c.cycles;
  }
  double edp = sqrt(E[0] * C[0] * E[1] * C[1]);
  CHECK_NEAR(r->edp, edp, 1e-9 * edp);
  CHECK_NEAR(r->score, edp, 1e-9 * edp);
  CHECK_NEAR(r->energy_pj, sqrt(E[0] * E[1]), 1e-9 * r->energy_pj);
  CHECK_NEAR(r->cycles, sqrt(C[0] * C[1]), 1e-9 * r->cycles);
}

/* The two-model workload and the eyeriss preset, the setting of most tests here. */
static void eyeriss_two_models(NaasWorkload *w, Arch *a, Diag *d) {
  two_models(w);
  diag_init(d, stderr, NULL);
  CHECK_EQ(arch_preset_load("eyeriss", a, d), RC_OK);
}

static void test_fixed(void) {
  NaasWorkload w;
  Arch a;
  Diag d;
  eyeriss_two_models(&w, &a, &d);
  NaasOptions o;
  naas_options_default(&o);
  o.schedule = NAAS_SCHED_LAYER; /* hand-built workload: layers only */
  o.map_budget = 400;
  NaasResult r;
  CHECK_EQ(naas_eval_fixed(&w, &a, &o, &r, &d), RC_OK);
  CHECK_EQ(r.nlayers, 4);
  CHECK_EQ(r.arch.mac_instances, 168);
  check_score(&w, &r);
  CHECK(r.evals > 0 && r.evals <= 4 * (400 + 20000)); /* a pass of 400 and one of 20000 per layer */
  CHECK_EQ(r.effort.map_budget, 400);
  CHECK_EQ(r.effort.final_map_budget, 20000);
  naas_result_free(&r);
  free(w.layers);
}

/* One pass at budget b (final budget = b), for the keep-the-better check. */
static double one_pass(const NaasWorkload *w, const Arch *a, int64_t b, uint64_t seed) {
  NaasOptions o;
  naas_options_default(&o);
  o.schedule = NAAS_SCHED_LAYER; /* hand-built workload: layers only */
  o.map_budget = o.final_map_budget = b;
  o.seed = seed;
  NaasResult r;
  Diag d;
  diag_init(&d, stderr, NULL);
  CHECK_EQ(naas_eval_fixed(w, a, &o, &r, &d), RC_OK);
  CHECK_EQ(r.effort.map_budget, b);
  CHECK_EQ(r.effort.final_map_budget, b);
  double s = r.score;
  naas_result_free(&r);
  return s;
}

/* The searched design and the baseline get the same effort, recorded in
 * both results; the baseline's score is the better of its two passes, each
 * recomputed here alone; a baseline mapped with another budget or seed is
 * refused by naas_compare. */
static void test_equal_effort(void) {
  NaasWorkload w;
  Arch b;
  Diag d;
  eyeriss_two_models(&w, &b, &d);
  NaasOptions o;
  naas_options_default(&o);
  o.schedule = NAAS_SCHED_LAYER; /* hand-built workload: layers only */
  o.map_budget = 200;
  o.final_map_budget = 1500;
  o.iterations = 2;
  o.popsize = 4;
  o.seed = 5;
  NaasResult s, f;
  CHECK_EQ(naas_search(&w, &b, &o, &s, &d), RC_OK);
  CHECK_EQ(naas_eval_fixed(&w, &b, &o, &f, &d), RC_OK);
  NaasEffort want;
  naas_effort_of(&o, &want);
  CHECK_EQ(want.map_budget, 200);
  CHECK_EQ(want.final_map_budget, 1500);
  CHECK(want.seed == 5);
  CHECK(naas_effort_equal(&s.effort, &want));
  CHECK(naas_effort_equal(&f.effort, &want));
  double p1 = one_pass(&w, &b, 200, 5), p2 = one_pass(&w, &b, 1500, 5);
  CHECK(f.score == (p1 < p2 ? p1 : p2));
  CHECK(s.score <= s.search_score);
  NaasRatios q;
  CHECK_EQ(naas_compare(&s, &f, &q, &d), RC_OK);
  CHECK_NEAR(q.edp_gain, f.edp / s.edp, 1e-12 * q.edp_gain);
  CHECK_NEAR(q.speedup, f.cycles / s.cycles, 1e-12 * q.speedup);
  CHECK_NEAR(q.energy_saving, f.energy_pj / s.energy_pj, 1e-12 * q.energy_saving);
  /* A baseline mapped with a smaller first budget, another final budget or
   * another seed: refused, naming both efforts. */
  int64_t budgets[3][2] = {{400, 1500}, {200, 20000}, {200, 1500}};
  for (int k = 0; k < 3; k++) {
    NaasOptions o2 = o;
    o2.map_budget = budgets[k][0];
    o2.final_map_budget = budgets[k][1];
    if (k == 2) o2.seed = 6;
    NaasResult g;
    CHECK_EQ(naas_eval_fixed(&w, &b, &o2, &g, &d), RC_OK);
    CHECK(!naas_effort_equal(&s.effort, &g.effort));
    char *buf = NULL;
    size_t len = 0;
    Diag q2;
    diag_init(&q2, open_memstream(&buf, &len), "test");
    CHECK_EQ(naas_compare(&s, &g, &q, &q2), RC_INTERNAL);
    fclose(q2.out);
    CHECK_STR_HAS(buf, "not mapped with the same effort");
    free(buf);
    naas_result_free(&g);
  }
  /* A result that was never mapped (no effort) is refused too. */
  NaasResult none;
  memset(&none, 0, sizeof none);
  Diag q3;
  diag_init(&q3, NULL, NULL);
  CHECK_EQ(naas_compare(&s, &none, &q, &q3), RC_INTERNAL);
  naas_result_free(&s);
  naas_result_free(&f);
  free(w.layers);
}

static void test_search(void) {
  NaasWorkload w;
  Arch b;
  Diag d;
  eyeriss_two_models(&w, &b, &d);
  NaasOptions o;
  naas_options_default(&o);
  o.schedule = NAAS_SCHED_LAYER; /* hand-built workload: layers only */
  o.map_budget = 300;
  o.iterations = 3;
  o.popsize = 6;
  o.seed = 7;
  NaasResult r1, r2;
  CHECK_EQ(naas_search(&w, &b, &o, &r1, &d), RC_OK);
  o.jobs = 2;
  char logpath[] = "/tmp/test_naas_log_XXXXXX";
  int fd = mkstemp(logpath);
  CHECK(fd >= 0);
  if (fd >= 0) close(fd);
  o.log_json = logpath;
  CHECK_EQ(naas_search(&w, &b, &o, &r2, &d), RC_OK);
  /* The log: every candidate, one "iteration" key each. */
  FILE *lf = fopen(logpath, "r");
  CHECK(lf != NULL);
  if (lf) {
    char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, lf);
    buf[n] = 0;
    fclose(lf);
    CHECK_STR_HAS(buf, "\"schema\": \"naasc-search-log/1\"");
    int k = 0;
    for (const char *q = buf; (q = strstr(q, "\"iteration\"")); q++) k++;
    CHECK_EQ(k, 19);
  }
  unlink(logpath);
  check_score(&w, &r1);
  /* Within the budget: PEs, area (a preset names its node: the area is the
   * constraint, docs/search.md "Budgets"), DRAM bandwidth. */
  CHECK(r1.arch.mac_instances <= 168);
  CHECK(arch_area_um2(&r1.arch) <= arch_area_um2(&b));
  CHECK(r1.area_um2 == arch_area_um2(&r1.arch));
  CHECK(r1.arch.level[0].shared_bw > 0 && r1.arch.level[0].shared_bw <= b.level[0].shared_bw);
  CHECK(r1.arch.tech_nm == 65 && r1.arch.level[1].derived == LEVEL_TECH_ALL);
  /* Every candidate logged; the result is the best valid one. */
  CHECK_EQ(r1.nlog, 1 + 18); /* the starting point, then 3 generations of 6 */
  CHECK_EQ(r1.candidates, 1 + 18);
  CHECK_EQ(r1.log[0].index, -1);
  double best = INFINITY;
  for (int64_t i = 0; i < r1.nlog; i++)
    if (r1.log[i].valid && r1.log[i].score < best) best = r1.log[i].score;
  CHECK_NEAR(best, r1.search_score, 1e-9 * best);
  CHECK(r1.score <= r1.search_score); /* the final mapping keeps the better of two budgets */
  for (int64_t i = 0; i < r1.nlog; i++)
    if (r1.log[i].valid) {
      CHECK(r1.log[i].pes <= 168);
      CHECK(r1.log[i].pes >= 8 && r1.log[i].pes % 2 == 0);
      CHECK(r1.log[i].area_um2 <= arch_area_um2(&b));
    }
  /* The same with two threads. */
  CHECK(memcmp(&r1.arch, &r2.arch, sizeof r1.arch) == 0);
  CHECK(r1.score == r2.score);
  CHECK_EQ(r1.evals, r2.evals);
  CHECK(memcmp(r1.mapping, r2.mapping, sizeof *r1.mapping * 4) == 0);
  CHECK(memcmp(r1.log, r2.log, sizeof *r1.log * (size_t)r1.nlog) == 0);
  naas_result_free(&r1);
  naas_result_free(&r2);
  free(w.layers);
}

static void test_sizing_only_keeps_connectivity(void) {
  NaasWorkload w;
  two_models(&w);
  Arch b;
  Diag d;
  diag_init(&d, stderr, NULL);
  CHECK_EQ(arch_preset_load("nvdla-256", &b, &d), RC_OK);
  NaasOptions o;
  naas_options_default(&o);
  o.schedule = NAAS_SCHED_LAYER; /* hand-built workload: layers only */
  o.map_budget = 300;
  o.iterations = 2;
  o.popsize = 6;
  o.sizing_only = true;
  NaasResult r;
  CHECK_EQ(naas_search(&w, &b, &o, &r, &d), RC_OK);
  CHECK_EQ(r.arch.nlevels, b.nlevels);
  for (int l = 0; l < b.nlevels; l++)
    for (int ax = 0; ax < ACCEL_MAX_AXES; ax++) {
      CHECK_EQ(r.arch.level[l].connectivity[ax], b.level[l].connectivity[ax]);
      CHECK_EQ(r.arch.level[l].keeps_allowed, b.level[l].keeps_allowed);
      CHECK_EQ(r.arch.level[l].fanout[ax] > 1, b.level[l].fanout[ax] > 1);
    }
  CHECK(r.arch.mac_instances <= 256);
  CHECK(arch_area_um2(&r.arch) <= arch_area_um2(&b));
  /* The first candidate is the budget design itself; the result is no worse. */
  CHECK_EQ(r.log[0].index, -1);
  CHECK_EQ(r.log[0].pes, 256);
  CHECK_EQ(r.log[0].onchip_bytes, (int64_t)onchip_bytes(&b));
  CHECK(r.log[0].valid && r.search_score <= r.log[0].score);
  check_score(&w, &r);
  naas_result_free(&r);
  free(w.layers);
}

static void test_bounds(void) {
  NaasWorkload w;
  Arch b;
  Diag d;
  eyeriss_two_models(&w, &b, &d);
  NaasOptions o;
  naas_options_default(&o);
  o.schedule = NAAS_SCHED_LAYER; /* hand-built workload: layers only */
  o.map_budget = 200;
  o.iterations = 2;
  o.popsize = 6;
  o.max_area_um2 = 0.6e6; /* well under eyeriss's 3.39 mm^2 */
  NaasResult r;
  CHECK_EQ(naas_search(&w, &b, &o, &r, &d), RC_OK);
  CHECK(r.area_um2 <= 0.6e6);
  CHECK(r.area_um2 > 0);
  for (int64_t i = 0; i < r.nlog; i++)
    if (r.log[i].valid) CHECK(r.log[i].area_um2 <= 0.6e6);
  naas_result_free(&r);
  /* The byte budget instead of the area: within eyeriss's on-chip bytes. */
  o.max_area_um2 = 0;
  o.byte_budget = true;
  CHECK_EQ(naas_search(&w, &b, &o, &r, &d), RC_OK);
  CHECK(onchip_bytes(&r.arch) <= onchip_bytes(&b));
  for (int64_t i = 0; i < r.nlog; i++)
    if (r.log[i].valid) CHECK(r.log[i].onchip_bytes <= onchip_bytes(&b));
  naas_result_free(&r);
  o.byte_budget = false;
  /* A peak-power bound: every valid design under it. */
  o.max_power_mw = 0.5 * arch_peak_power_mw(&b);
  CHECK_EQ(naas_search(&w, &b, &o, &r, &d), RC_OK);
  CHECK(r.power_mw > 0 && r.power_mw <= o.max_power_mw);
  naas_result_free(&r);
  o.max_power_mw = 0;
  /* A latency bound no design meets: a clear error. */
  o.max_cycles = 10;
  Diag q;
  diag_init(&q, NULL, NULL);
  CHECK_EQ(naas_search(&w, &b, &o, &r, &q), RC_BADINPUT);
  naas_result_free(&r);
  free(w.layers);
}

static void test_impossible_budget(void) {
  NaasWorkload w;
  two_models(&w);
  Arch b;
  memset(&b, 0, sizeof b);
  snprintf(b.name, sizeof b.name, "tiny");
  b.nlevels = 1;
  b.level[0].is_dram = true;
  b.level[0].instances = 1;
  for (int ax = 0; ax < ACCEL_MAX_AXES; ax++) b.level[0].fanout[ax] = 1;
  b.mac_instances = 1;
  NaasOptions o;
  naas_options_default(&o);
  o.schedule = NAAS_SCHED_LAYER; /* hand-built workload: layers only */
  NaasResult r;
  Diag q;
  diag_init(&q, NULL, NULL);
  CHECK_EQ(naas_search(&w, &b, &o, &r, &q), RC_BADINPUT);
  CHECK_EQ(q.nerrors, 1);
  naas_result_free(&r);
  free(w.layers);
}

/* Three convolutions in a chain: x -> c1 (3x3) -> y -> c2 (3x3) -> z -> c3
 * (1x1) -> out.  Unmapped: the search maps it. */
static const char chain3_nir[] =
    "module \"chain3\"\n"
    "\n"
    "tensor %x : f32[1,16,32,32] input\n"
    "tensor %w1 : f32[16,16,3,3] weight\n"
    "tensor %y : f32[1,16,30,30] value\n"
    "tensor %w2 : f32[16,16,3,3] weight\n"
    "tensor %z : f32[1,16,28,28] value\n"
    "tensor %w3 : f32[32,16,1,1] weight\n"
    "tensor %out : f32[1,32,28,28] output\n"
    "\n"
    "nest @c1 mac loc \"\" {\n"
    "  dims N=1, G=1, K=16, C=16 reduce, P=30, Q=30, R=3 reduce, S=3 reduce\n"
    "  I = read %x[N, G*16+C, P+R, Q+S]\n"
    "  W = read %w1[G*16+K, C, R, S]\n"
    "  O = update %y[N, G*16+K, P, Q]\n"
    "}\n"
    "\n"
    "nest @c2 mac loc \"\" {\n"
    "  dims N=1, G=1, K=16, C=16 reduce, P=28, Q=28, R=3 reduce, S=3 reduce\n"
    "  I = read %y[N, G*16+C, P+R, Q+S]\n"
    "  W = read %w2[G*16+K, C, R, S]\n"
    "  O = update %z[N, G*16+K, P, Q]\n"
    "}\n"
    "\n"
    "nest @c3 mac loc \"\" {\n"
    "  dims N=1, G=1, K=32, C=16 reduce, P=28, Q=28, R=1 reduce, S=1 reduce\n"
    "  I = read %z[N, G*16+C, P+R, Q+S]\n"
    "  W = read %w3[G*32+K, C, R, S]\n"
    "  O = update %out[N, G*32+K, P, Q]\n"
    "}\n";

static int gens_seen;
static void count_gen(void *ctx, int64_t it) {
  (void)ctx;
  (void)it;
  gens_seen++;
}

/* The searched design's figures are its schedule's, re-evaluated here
 * from its mappings; the baseline gets the same scheduler; unequal
 * scheduling is refused; checkpoints carry the schedule mode. */
static void test_fused(void) {
  Diag d;
  diag_init(&d, stderr, NULL);
  Module *mod = NULL;
  CHECK_EQ(module_parse(chain3_nir, strlen(chain3_nir), &mod, &d), RC_OK);
  CHECK_EQ(module_verify(mod, &d), RC_OK);
  NaasWorkload w;
  memset(&w, 0, sizeof w);
  CHECK_EQ(naas_workload_add_module(&w, mod, &d), RC_OK);
  CHECK_EQ(w.nlayers, 3);
  CHECK(w.module[0] == mod);
  Arch b;
  CHECK_EQ(arch_preset_load("eyeriss", &b, &d), RC_OK);
  NaasOptions o;
  naas_options_default(&o);
  CHECK_EQ(o.schedule, NAAS_SCHED_FUSED); /* the default */
  o.map_budget = 200;
  o.final_map_budget = 1000;
  o.iterations = 2;
  o.popsize = 4;
  o.seed = 3;
  NaasResult s, f;
  CHECK_EQ(naas_search(&w, &b, &o, &s, &d), RC_OK);
  CHECK_EQ(s.effort.schedule, NAAS_SCHED_FUSED);
  CHECK(s.schedule != NULL);
  /* The chain fits on chip: the schedule keeps it there. */
  CHECK(s.model[0].groups >= 1);
  CHECK_EQ(s.schedule[0].ngroups, s.model[0].groups);
  CHECK(s.model[0].dram_words < s.model[0].layer_dram);
  CHECK(s.model[0].energy_pj * s.model[0].cycles <
        s.model[0].layer_energy_pj * s.model[0].layer_cycles);
  CHECK(s.energy_pj == s.model[0].energy_pj);
  CHECK(s.cycles == s.model[0].cycles);
  CHECK(s.edp == s.energy_pj * s.cycles);
  /* Layer by layer: the sum of the layers' own costs. */
  double le = 0, lc = 0;
  for (int i = 0; i < w.nlayers; i++) {
    le += (double)w.layers[i].count * s.cost[i].energy_pj;
    lc += (double)w.layers[i].count * (double)s.cost[i].cycles;
  }
  CHECK_NEAR(s.model[0].layer_energy_pj, le, 1e-9 * le);
  CHECK(s.model[0].layer_cycles == lc);
  /* The schedule re-evaluated from the result's mappings: the same figures. */
  CHECK_EQ(naas_attach_mappings(mod, 0, &w, &s, &d), RC_OK);
  SchedModel *sm = NULL;
  CHECK_EQ(sched_model_create(mod, &s.arch, &sm, &d), RC_OK);
  CostResult per[4];
  SchedTotals tot;
  CHECK_EQ(schedule_eval(sm, &s.schedule[0], per, &tot, &d), RC_OK);
  CHECK(tot.energy_pj == s.energy_pj);
  CHECK(tot.cycles == (int64_t)s.cycles);
  CHECK(tot.dram_words == (int64_t)s.model[0].dram_words);
  sched_model_destroy(sm);
  /* The baseline: the same scheduler, so the comparison is allowed. */
  CHECK_EQ(naas_eval_fixed(&w, &b, &o, &f, &d), RC_OK);
  CHECK_EQ(f.effort.schedule, s.effort.schedule);
  CHECK(naas_effort_equal(&s.effort, &f.effort));
  CHECK(f.schedule != NULL);
  NaasRatios q;
  CHECK_EQ(naas_compare(&s, &f, &q, &d), RC_OK);
  CHECK_NEAR(q.edp_gain, f.edp / s.edp, 1e-12 * q.edp_gain);
  /* A baseline scored layer by layer: same mapper effort, refused. */
  NaasOptions ol = o;
  ol.schedule = NAAS_SCHED_LAYER;
  NaasResult g;
  CHECK_EQ(naas_eval_fixed(&w, &b, &ol, &g, &d), RC_OK);
  CHECK_EQ(g.effort.schedule, NAAS_SCHED_LAYER);
  CHECK(g.schedule == NULL);
  CHECK_EQ(g.model[0].groups, 0u);
  CHECK(g.energy_pj == g.model[0].layer_energy_pj && g.cycles == g.model[0].layer_cycles);
  CHECK(g.effort.map_budget == f.effort.map_budget && g.effort.seed == f.effort.seed);
  CHECK(!naas_effort_equal(&f.effort, &g.effort));
  char *buf = NULL;
  size_t len = 0;
  Diag q2;
  diag_init(&q2, open_memstream(&buf, &len), "test");
  CHECK_EQ(naas_compare(&s, &g, &q, &q2), RC_INTERNAL);
  fclose(q2.out);
  CHECK_STR_HAS(buf, "fused schedule against");
  CHECK_STR_HAS(buf, "layer schedule");
  free(buf);
  /* Checkpoints: stopped after one generation, resumed under the other
   * mode: refused; under the same mode: the uninterrupted run's design. */
  char ck[64];
  snprintf(ck, sizeof ck, "/tmp/test_naas_fused_%d.ckpt", (int)getpid());
  NaasOptions oc = o;
  oc.iterations = 3;
  oc.checkpoint = ck;
  oc.stop_after_iteration = 1;
  NaasResult c1, c2, c3, full;
  CHECK_EQ(naas_search(&w, &b, &oc, &c1, &d), RC_OK);
  CHECK(c1.stopped);
  NaasOptions oc2 = oc;
  oc2.stop_after_iteration = 0;
  oc2.resume = true;
  oc2.schedule = NAAS_SCHED_LAYER;
  Diag q3;
  diag_init(&q3, NULL, NULL);
  CHECK_EQ(naas_search(&w, &b, &oc2, &c2, &q3), RC_BADINPUT);
  oc2.schedule = NAAS_SCHED_FUSED;
  gens_seen = 0;
  oc2.on_generation = count_gen;
  CHECK_EQ(naas_search(&w, &b, &oc2, &c3, &d), RC_OK);
  CHECK_EQ(c3.resumed_at, 1);
  CHECK_EQ(gens_seen, 2);
  NaasOptions of = o;
  of.iterations = 3;
  CHECK_EQ(naas_search(&w, &b, &of, &full, &d), RC_OK);
  CHECK(c3.score == full.score);
  CHECK(c3.search_score == full.search_score);
  CHECK(c3.model[0].groups == full.model[0].groups);
  unlink(ck);
  naas_result_free(&c1);
  naas_result_free(&c2);
  naas_result_free(&c3);
  naas_result_free(&full);
  naas_result_free(&s);
  naas_result_free(&f);
  naas_result_free(&g);
  naas_workload_free(&w);
  module_destroy(mod);
}

static void test_gradient(void) {
  NaasWorkload w;
  two_models(&w);
  const char *presets[2] = {"nvdla-256", "eyeriss"};
  for (int k = 0; k < 2; k++) {
    Arch b;
    Diag d;
    diag_init(&d, stderr, NULL);
    CHECK_EQ(arch_preset_load(presets[k], &b, &d), RC_OK);
    NaasOptions o;
    naas_options_default(&o);
    o.schedule = NAAS_SCHED_LAYER; /* hand-built workload: layers only */
    o.gradient = true;
    o.byte_budget = k == 0; /* nvdla-256 by its bytes, eyeriss by its area */
    o.map_budget = 200;
    o.final_map_budget = 400;
    o.iterations = 5;
    NaasResult r, r2;
    CHECK_EQ(naas_search(&w, &b, &o, &r, &d), RC_OK);
    CHECK_EQ(r.arch.nlevels, b.nlevels);
    for (int l = 0; l < b.nlevels; l++)
      for (int ax = 0; ax < ACCEL_MAX_AXES; ax++) {
        CHECK_EQ(r.arch.level[l].connectivity[ax], b.level[l].connectivity[ax]);
        CHECK_EQ(r.arch.level[l].fanout[ax] > 1, b.level[l].fanout[ax] > 1);
      }
    CHECK(r.arch.mac_instances <= b.mac_instances);
    if (o.byte_budget)
      CHECK(onchip_bytes(&r.arch) <= onchip_bytes(&b));
    else /* a preset names its node: the area is the bound */
      CHECK(arch_area_um2(&r.arch) <= arch_area_um2(&b));
    /* 5 roundings of 20 steps after round 0 (the starting mappings on the
     * budget's array, its buffers sized to what they keep); 100 relaxed
     * evaluations of each of the 4 layers. */
    CHECK_EQ(r.nlog, 6);
    CHECK_EQ(r.relaxed, 400);
    CHECK(r.log[0].valid);
    CHECK_EQ(r.log[0].pes, b.mac_instances);
    if (o.byte_budget) CHECK(r.log[0].onchip_bytes <= (int64_t)onchip_bytes(&b));
    for (int64_t i = 0; i < r.nlog; i++)
      if (r.log[i].valid && !o.byte_budget) CHECK(r.log[i].area_um2 <= arch_area_um2(&b));
    for (int64_t i = 0; i < r.nlog; i++)
      if (r.log[i].valid) CHECK(r.search_score <= r.log[i].score);
    /* Exact evaluations: the starting mappings (<= 200 each), one per layer
     * and rounding, the final check (<= 200 + 400 each). */
    CHECK(r.evals >= 4 && r.evals <= 4 * 200 + 6 * 4 + 4 * 600);
    check_score(&w, &r);
    o.jobs = 2;
    CHECK_EQ(naas_search(&w, &b, &o, &r2, &d), RC_OK);
    CHECK(r.score == r2.score);
    CHECK_EQ(r.evals, r2.evals);
    CHECK(memcmp(&r.arch, &r2.arch, sizeof r.arch) == 0);
    CHECK(memcmp(r.mapping, r2.mapping, sizeof *r.mapping * 4) == 0);
    naas_result_free(&r);
    naas_result_free(&r2);
    /* Bounds no relaxed point meets: one clear error each. */
    Diag q;
    diag_init(&q, NULL, NULL);
    o.jobs = 1;
    o.max_area_um2 = 1000; /* under one MAC's and its buffers' area */
    CHECK_EQ(naas_search(&w, &b, &o, &r, &q), RC_BADINPUT);
    naas_result_free(&r);
    o.max_area_um2 = 0;
    o.max_cycles = 10;
    CHECK_EQ(naas_search(&w, &b, &o, &r, &q), RC_BADINPUT);
    naas_result_free(&r);
    CHECK_EQ(q.nerrors, 2);
  }
  free(w.layers);
}
/* --optimizer cmaes+gradient: CMA-ES over the connectivity of the budget's
 * axes around short gradient searches.  The design keeps the budget's
 * hierarchy and which axes fan out, every axis unrolls N and 1 to 3 other
 * dims, the log has one entry per candidate, the relaxed evaluations are
 * at most 10 roundings x 20 steps x 4 layers per candidate, the score is
 * the best, the result does not depend on the thread count, and a budget
 * without an array is refused. */
static void test_gradient_conn(void) {
  NaasWorkload w;
  two_models(&w);
  Arch b;
  Diag d;
  diag_init(&d, stderr, NULL);
  CHECK_EQ(arch_preset_load("nvdla-256", &b, &d), RC_OK);
  NaasOptions o;
  naas_options_default(&o);
  o.schedule = NAAS_SCHED_LAYER; /* hand-built workload: layers only */
  o.gradient = o.gradient_conn = true;
  o.map_budget = 100;
  o.final_map_budget = 200;
  o.iterations = 2;
  o.popsize = 4;
  NaasResult r, r2;
  CHECK_EQ(naas_search(&w, &b, &o, &r, &d), RC_OK);
  CHECK_EQ(r.arch.nlevels, b.nlevels);
  for (int l = 0; l < b.nlevels; l++)
    for (int ax = 0; ax < ACCEL_MAX_AXES; ax++) {
      CHECK_EQ(r.arch.level[l].fanout[ax] > 1, b.level[l].fanout[ax] > 1);
      if (b.level[l].fanout[ax] <= 1) continue;
      uint8_t c = r.arch.level[l].connectivity[ax];
      int n = __builtin_popcount(c);
      CHECK(c & (1u << DIM_N));
      CHECK(n >= 2 && n <= 4);
    }
  CHECK(r.arch.mac_instances <= b.mac_instances);
  CHECK(arch_area_um2(&r.arch) <= arch_area_um2(&b));
  CHECK_EQ(r.nlog, 8);
  CHECK(r.relaxed > 0 && r.relaxed <= 8 * 10 * 20 * 4);
  CHECK(r.evals > 0);
  int valid = 0;
  for (int64_t i = 0; i < r.nlog; i++)
    if (r.log[i].valid) {
      valid++;
      CHECK(r.search_score <= r.log[i].score);
    }
  CHECK(valid >= 1);
  check_score(&w, &r);
  o.jobs = 2;
  CHECK_EQ(naas_search(&w, &b, &o, &r2, &d), RC_OK);
  CHECK(r.score == r2.score);
  CHECK_EQ(r.evals, r2.evals);
  CHECK(memcmp(&r.arch, &r2.arch, sizeof r.arch) == 0);
  naas_result_free(&r);
  naas_result_free(&r2);
  /* No array: nothing to search. */
  Arch one = b;
  for (int l = 0; l < one.nlevels; l++)
    for (int ax = 0; ax < ACCEL_MAX_AXES; ax++) one.level[l].fanout[ax] = 1;
  one.mac_instances = 1;
  Diag q;
  diag_init(&q, NULL, NULL);
  o.jobs = 1;
  CHECK_EQ(naas_search(&w, &one, &o, &r, &q), RC_BADINPUT);
  CHECK_EQ(q.nerrors, 1);
  naas_result_free(&r);
  free(w.layers);
}

/* Pruning is exact (search/naas.c, eval_cands): a candidate whose lower
 * bound rules it out of the ranks the optimizer reads is not mapped, and
 * the search's result is that of a run that maps every candidate; with
 * random search and CMA-ES, without screening and with it.  Screening maps
 * a quarter of each generation again with the full budget, the rest are
 * logged as screened.  Under the latency objective, where the bound (MACs on
 * all PEs, weights at the DRAM bandwidth) is close enough to prune. */
static void test_prune_exact(void) {
  NaasWorkload w;
  Arch b;
  Diag d;
  eyeriss_two_models(&w, &b, &d);
  int pruned_any = 0;
  for (int k = 0; k < 4; k++) {
    NaasOptions o;
    naas_options_default(&o);
    o.schedule = NAAS_SCHED_LAYER;
    o.objective = NAAS_OBJ_LATENCY; /* cycles: the bound is close enough to prune often */
    o.optimizer = k & 1 ? OPT_CMAES : OPT_RANDOM;
    o.mapper_screen = k >= 2;
    o.map_budget = 400;
    o.final_map_budget = 400;
    o.iterations = 6;
    o.popsize = 8;
    o.seed = 3;
    NaasResult on, off;
    CHECK_EQ(naas_search(&w, &b, &o, &on, &d), RC_OK);
    o.no_prune = true;
    CHECK_EQ(naas_search(&w, &b, &o, &off, &d), RC_OK);
    CHECK(memcmp(&on.arch, &off.arch, sizeof on.arch) == 0);
    CHECK(on.score == off.score);
    CHECK(on.search_score == off.search_score);
    CHECK_EQ(on.nlog, off.nlog);
    int pruned = 0, screened = 0;
    for (int64_t i = 0; i < on.nlog && i < off.nlog; i++) {
      CHECK(!off.log[i].pruned);
      if (on.log[i].pruned) {
        /* never the best: worse than the generation's mu-th best (or the best) */
        pruned++;
        CHECK(!on.log[i].valid);
        CHECK(off.log[i].score > on.search_score || !off.log[i].valid);
        continue;
      }
      screened += on.log[i].screened;
      CHECK(on.log[i].score == off.log[i].score);
      CHECK(on.log[i].screened == off.log[i].screened);
    }
    if (!o.mapper_screen)
      CHECK_EQ(screened, 0);
    else
      CHECK(screened > 0 && screened <= 6 * 6); /* 2 of each 8 mapped again in full */
    pruned_any += pruned;
    CHECK(on.evals <= off.evals);
    naas_result_free(&on);
    naas_result_free(&off);
  }
  CHECK(pruned_any > 0); /* the runs above exercise it */
  free(w.layers);
}

/* --early-map-budget (search/naas.c): generations before early_iterations
 * map their candidates with early_map_budget.  The start design is scored
 * outside the generations and the optimizer reads only a generation's own
 * scores, so a search whose every generation is early walks the path of a
 * search with map_budget = early_map_budget, candidate for candidate; with
 * one generation fewer early, the last generation is scored with the full
 * budget and only it differs.  An early budget equal to the budget is the
 * search without one. */
static void test_early_budget(void) {
  NaasWorkload w;
  Arch b;
  Diag d;
  eyeriss_two_models(&w, &b, &d);
  NaasOptions o;
  naas_options_default(&o);
  o.schedule = NAAS_SCHED_LAYER;
  o.final_map_budget = 400;
  o.iterations = 4;
  o.popsize = 6;
  o.seed = 5;
  NaasResult small, all_early, last_full, plain, same;
  o.map_budget = 150;
  CHECK_EQ(naas_search(&w, &b, &o, &small, &d), RC_OK);
  o.map_budget = 400;
  CHECK_EQ(naas_search(&w, &b, &o, &plain, &d), RC_OK);
  o.early_map_budget = 400;
  CHECK_EQ(naas_search(&w, &b, &o, &same, &d), RC_OK);
  o.early_map_budget = 150;
  o.early_iterations = 4;
  CHECK_EQ(naas_search(&w, &b, &o, &all_early, &d), RC_OK);
  o.early_iterations = 3;
  CHECK_EQ(naas_search(&w, &b, &o, &last_full, &d), RC_OK);
  CHECK_EQ(all_early.nlog, small.nlog);
  CHECK_EQ(last_full.nlog, small.nlog);
  int differ_last = 0, start = 0;
  for (int64_t i = 0; i < small.nlog && i < all_early.nlog && i < last_full.nlog; i++) {
    const NaasCandidate *s = &small.log[i], *e = &all_early.log[i], *l = &last_full.log[i];
    if (s->index < 0) { /* the start design: the full budget in both early runs */
      start++;
      CHECK(e->score == plain.log[i].score && l->score == plain.log[i].score);
      continue;
    }
    CHECK_EQ(e->iteration, s->iteration);
    CHECK(e->score == s->score || (!e->valid && !s->valid));
    CHECK_EQ(e->pruned, s->pruned);
    if (s->iteration < 3) {
      CHECK(l->score == s->score || (!l->valid && !s->valid));
    } else if (s->valid && l->valid) {
      differ_last += l->score != s->score;
    }
  }
  CHECK_EQ(start, 1);
  CHECK(differ_last > 0); /* the last generation had the full budget */
  CHECK_EQ(all_early.effort.early_map_budget, 150);
  CHECK_EQ(all_early.effort.early_iterations, 4);
  CHECK_EQ(plain.effort.early_iterations, 0);
  /* the same budget early: the search without one */
  CHECK(memcmp(&same.arch, &plain.arch, sizeof same.arch) == 0);
  CHECK(same.score == plain.score && same.search_score == plain.search_score);
  CHECK_EQ(same.nlog, plain.nlog);
  for (int64_t i = 0; i < same.nlog && i < plain.nlog; i++)
    CHECK(same.log[i].score == plain.log[i].score || !plain.log[i].valid);
  NaasResult *all[] = {&small, &all_early, &last_full, &plain, &same};
  for (int k = 0; k < 5; k++) naas_result_free(all[k]);
  free(w.layers);
}

/* Two searches walked the same path: the same candidates, scores, design. */
static void check_same_path(const NaasResult *a, const NaasResult *b) {
  CHECK(memcmp(&a->arch, &b->arch, sizeof a->arch) == 0);
  CHECK(a->score == b->score);
  CHECK(a->search_score == b->search_score);
  CHECK_EQ(a->nlog, b->nlog);
  for (int64_t i = 0; i < a->nlog && i < b->nlog; i++) {
    CHECK_EQ(a->log[i].valid, b->log[i].valid);
    CHECK(a->log[i].score == b->log[i].score || a->log[i].pruned || b->log[i].pruned);
  }
}

/* Two searches from the same start design (scored alike, logged first with
 * index -1) that then walked different paths: some later score differs. */
static void check_same_start_other_path(const NaasResult *a, const NaasResult *b) {
  CHECK(a->nlog > 0 && b->nlog > 0);
  if (a->nlog == 0 || b->nlog == 0) return;
  CHECK(a->log[0].index == -1 && b->log[0].index == -1);
  CHECK(a->log[0].score == b->log[0].score);
  int differ = 0;
  for (int64_t i = 1; i < a->nlog && i < b->nlog; i++)
    differ += a->log[i].valid && b->log[i].valid && a->log[i].score != b->log[i].score;
  CHECK(differ > 0);
}

/* --warm-map (search/naas.c): each candidate's layers start from the
 * incumbent's mappings.  The path is a function of the options alone: the
 * same search again with the first one's cache (every figure a hit, so each
 * new incumbent is mapped again for its mappings) walks the same path, as
 * do one with pruning off and one resumed from a checkpoint (format 4, its
 * warm-start block holding the incumbent) written after two of its four
 * generations; for CMA-ES and for random search (the baseline's optimizer).
 * The start design, scored before there is an incumbent, scores as without
 * warm starts, and later candidates do not all; a checkpoint of a search
 * without them does not resume one with them. */
static void test_warm_map(void) {
  NaasWorkload w;
  Arch b;
  Diag d;
  eyeriss_two_models(&w, &b, &d);
  char ck[64];
  snprintf(ck, sizeof ck, "/tmp/test_naas_warm_%d.ckpt", (int)getpid());
  for (int k = 0; k < 2; k++) {
    NaasOptions o;
    naas_options_default(&o);
    o.schedule = NAAS_SCHED_LAYER;
    o.optimizer = k ? OPT_RANDOM : OPT_CMAES;
    o.map_budget = 150;
    o.final_map_budget = 300;
    o.iterations = 4;
    o.popsize = 6;
    o.seed = 7;
    o.warm_map = true;
    NaasCache *cache = naas_cache_create();
    CHECK(cache != NULL);
    o.cache = cache;
    NaasResult a, again, noprune, cold, part, resumed, refused;
    CHECK_EQ(naas_search(&w, &b, &o, &a, &d), RC_OK);
    CHECK(a.effort.warm_map);
    CHECK_EQ(naas_search(&w, &b, &o, &again, &d), RC_OK);
    CHECK(again.evals < a.evals); /* the cache answered */
    check_same_path(&a, &again);
    o.cache = NULL;
    o.no_prune = true;
    CHECK_EQ(naas_search(&w, &b, &o, &noprune, &d), RC_OK);
    check_same_path(&a, &noprune);
    o.no_prune = false;
    /* Stopped after two generations, resumed: the uninterrupted path. */
    NaasOptions oc = o;
    oc.checkpoint = ck;
    oc.stop_after_iteration = 2;
    CHECK_EQ(naas_search(&w, &b, &oc, &part, &d), RC_OK);
    CHECK(part.stopped);
    FILE *f = fopen(ck, "rb");
    CHECK(f != NULL);
    uint32_t ver = 0;
    CHECK(f && fseek(f, 8, SEEK_SET) == 0 && fread(&ver, 4, 1, f) == 1);
    if (f) fclose(f);
    CHECK_EQ(ver, 4u);
    oc.stop_after_iteration = 0;
    oc.resume = true;
    CHECK_EQ(naas_search(&w, &b, &oc, &resumed, &d), RC_OK);
    CHECK_EQ(resumed.resumed_at, 2);
    check_same_path(&a, &resumed);
    /* Without warm starts: the same start design's score, another path;
     * the warm search's checkpoint is another search's. */
    o.warm_map = false;
    CHECK_EQ(naas_search(&w, &b, &o, &cold, &d), RC_OK);
    CHECK(!cold.effort.warm_map);
    check_same_start_other_path(&a, &cold);
    oc.warm_map = false;
    Diag q;
    diag_init(&q, NULL, NULL);
    CHECK_EQ(naas_search(&w, &b, &oc, &refused, &q), RC_BADINPUT);
    unlink(ck);
    NaasResult *all[] = {&a, &again, &noprune, &cold, &part, &resumed, &refused};
    for (int i = 0; i < 7; i++) naas_result_free(all[i]);
    naas_cache_destroy(cache);
  }
  free(w.layers);
}

/* --map-share (search/naas.c, "budgets by share"): in the generations a
 * layer's mapper budget scales with its share of the start design's cost.
 * The start design keeps the whole budget (its score is the plain
 * search's); a vanishing exponent gives every layer the whole budget (the
 * plain search's path, candidate for candidate); a large one fewer
 * evaluations and another path.  The shares are recomputed on a resume and
 * their evaluations not counted, so a search resumed after two of its four
 * generations walks the uninterrupted path with the same count; so does
 * one on two threads.  For CMA-ES and random search under layer-by-layer
 * schedules, and CMA-ES under fused ones (the schedule cache's keys). */
static void share_case(const NaasWorkload *w, const Arch *b, NaasSchedMode sched, OptKind opt) {
  Diag d;
  diag_init(&d, stderr, NULL);
  char ck[64];
  snprintf(ck, sizeof ck, "/tmp/test_naas_share_%d.ckpt", (int)getpid());
  NaasOptions o;
  naas_options_default(&o);
  o.schedule = sched;
  o.optimizer = opt;
  o.map_budget = 400;
  o.final_map_budget = 400;
  o.iterations = 4;
  o.popsize = 6;
  o.seed = 3;
  NaasResult plain, tiny, a, part, resumed, two;
  o.map_share = 0;
  CHECK_EQ(naas_search(w, b, &o, &plain, &d), RC_OK);
  CHECK(plain.effort.map_share == 0);
  o.map_share = 1e-12; /* every fraction rounds to the whole budget */
  CHECK_EQ(naas_search(w, b, &o, &tiny, &d), RC_OK);
  check_same_path(&plain, &tiny);
  CHECK_EQ(tiny.evals, plain.evals);
  o.map_share = 4;
  CHECK_EQ(naas_search(w, b, &o, &a, &d), RC_OK);
  CHECK(a.effort.map_share == 4);
  CHECK(a.evals < plain.evals);
  check_same_start_other_path(&a, &plain);
  NaasOptions oc = o;
  oc.checkpoint = ck;
  oc.stop_after_iteration = 2;
  CHECK_EQ(naas_search(w, b, &oc, &part, &d), RC_OK);
  CHECK(part.stopped);
  oc.stop_after_iteration = 0;
  oc.resume = true;
  CHECK_EQ(naas_search(w, b, &oc, &resumed, &d), RC_OK);
  CHECK_EQ(resumed.resumed_at, 2);
  check_same_path(&a, &resumed);
  CHECK_EQ(resumed.evals, a.evals);
  /* a checkpoint of the search with shares is another search's */
  oc.map_share = 0;
  Diag q;
  diag_init(&q, NULL, NULL);
  NaasResult refused;
  CHECK_EQ(naas_search(w, b, &oc, &refused, &q), RC_BADINPUT);
  unlink(ck);
  o.jobs = 2;
  CHECK_EQ(naas_search(w, b, &o, &two, &d), RC_OK);
  check_same_path(&a, &two);
  CHECK_EQ(two.evals, a.evals);
  NaasResult *all[] = {&plain, &tiny, &a, &part, &resumed, &two, &refused};
  for (int i = 0; i < 7; i++) naas_result_free(all[i]);
}

static void test_map_share(void) {
  NaasWorkload w;
  Arch b;
  Diag d;
  eyeriss_two_models(&w, &b, &d);
  share_case(&w, &b, NAAS_SCHED_LAYER, OPT_CMAES);
  share_case(&w, &b, NAAS_SCHED_LAYER, OPT_RANDOM);
  free(w.layers);
  Module *mod = NULL;
  CHECK_EQ(module_parse(chain3_nir, strlen(chain3_nir), &mod, &d), RC_OK);
  NaasWorkload wf;
  memset(&wf, 0, sizeof wf);
  CHECK_EQ(naas_workload_add_module(&wf, mod, &d), RC_OK);
  share_case(&wf, &b, NAAS_SCHED_FUSED, OPT_CMAES);
  free(wf.layers);
  module_destroy(mod);
}

int main(void) {
  RUN(test_fixed);
  RUN(test_equal_effort);
  RUN(test_search);
  RUN(test_prune_exact);
  RUN(test_early_budget);
  RUN(test_warm_map);
  RUN(test_map_share);
  RUN(test_sizing_only_keeps_connectivity);
  RUN(test_bounds);
  RUN(test_impossible_budget);
  RUN(test_fused);
  RUN(test_gradient);
  RUN(test_gradient_conn);
  TEST_END();
}
