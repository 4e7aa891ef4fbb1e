/*
 * test_timeloop.c: naasc's reading and writing of Timeloop specifications
 * (backend/timeloop.c, timeloop_write.c; docs/timeloop.md).
 *
 *   1. The dense designs of tests/data/timeloop-exercises, read from
 *      Timeloop's processed input, give Timeloop's statistics: every count
 *      equal (cost_compare_levels), and every energy equal to what
 *      stats.txt prints to its rounding (which a missing leakage term would
 *      break: 1452 pJ at eyeriss's psum_spad).
 *   2. The same designs read from their raw v0.4 files (arch.yaml with
 *      containers and !Parallel, _components, _include, the mapping and the
 *      tables) give the same figures as the processed input.
 *   3. The sparse designs are refused, naming the sparse key at file:line:col.
 *   4. A design in the layout of Timeloop's tutorials (tests/timeloop/
 *      tutorial: the v0.3 tree, hyphenated attributes, energies as
 *      attributes, an expression, constraints and a per-layer problem in
 *      their own files) equals the same design in naasc's YAML, and its
 *      counts derived by hand.
 *   5. Write, read, cost, equal: each exercise written back by
 *      timeloop_write, and every preset and exercise architecture with
 *      mapper-found mappings of seven layer kinds (3x3, 1x1, strided stem,
 *      depthwise, FC at batch 4, dilated, 5x5), read back to the same counts,
 *      cycles, energy and area.
 *
 * Usage: test_timeloop EXERCISES_DIR TUTORIAL_DIR SCRATCH_DIR
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "backend/backend.h"
#include "search/search.h"
#include "tests/unit/test.h"

static const char *exdir, *tutdir, *scratch;
static char errbuf[8192];

/* a/b in one of eight rotating buffers. */
static const char *path(const char *a, const char *b) {
  static char buf[8][1024];
  static int k;
  char tmp[1024];
  snprintf(tmp, sizeof tmp, "%s/%s", a, b);
  k = (k + 1) % 8;
  memcpy(buf[k], tmp, sizeof tmp);
  return buf[k];
}

/* mkdir -p */
static void make_dirs(const char *dir) {
  char tmp[1024];
  snprintf(tmp, sizeof tmp, "%s", dir);
  for (char *c = tmp + 1; *c; c++)
    if (*c == '/') *c = 0, mkdir(tmp, 0777), *c = '/';
  mkdir(tmp, 0777);
}

/* timeloop_load with the messages kept in errbuf. */
static Rc load(const char *const *paths, int n, unsigned need, TimeloopSpec *s) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  Diag d;
  diag_init(&d, f, NULL);
  Rc rc = timeloop_load(paths, n, need, s, &d);
  fclose(f);
  snprintf(errbuf, sizeof errbuf, "%s", text ? text : "");
  free(text);
  if (rc != RC_OK && need) fprintf(stderr, "%s", errbuf);
  return rc;
}

static bool rel_close(double a, double b, double rel) {
  return a == b || fabs(a - b) <= rel * fmax(fabs(a), fabs(b));
}

/* r on a and q on b agree: counts, cycles, energies (rel 1e-9), area; b's
 * levels are found by name (b may have more: Timeloop's split levels, whose
 * energy, the network's, counts with the level split). */
static bool same_result(const CostResult *r, const Arch *a, const CostResult *q, const Arch *b,
                        const char *what) {
  bool ok = r->macs == q->macs && r->mac_utilized_instances == q->mac_utilized_instances &&
            r->compute_cycles == q->compute_cycles && r->cycles == q->cycles &&
            rel_close(r->energy_pj, q->energy_pj, 1e-9) &&
            rel_close(r->mac_energy_pj, q->mac_energy_pj, 1e-12) &&
            rel_close(r->utilization, q->utilization, 1e-12) &&
            rel_close(r->area_um2, q->area_um2, 1e-9);
  for (int l = 0; ok && l < a->nlevels; l++) {
    int k = -1;
    for (int j = 0; j < b->nlevels; j++)
      if (strcmp(a->level[l].name, b->level[j].name) == 0) k = j;
    ok = k >= 0;
    if (!ok) break;
    const LevelCost *x = &r->level[l], *y = &q->level[k];
    /* a level split for Timeloop (NAME_x below it) has its network energy there */
    char xn[ACCEL_NAME_MAX + 4];
    snprintf(xn, sizeof xn, "%s_x", a->level[l].name);
    double split_e =
        k + 1 < b->nlevels && strcmp(b->level[k + 1].name, xn) == 0 ? q->level[k + 1].energy_pj : 0;
    ok = x->cycles == y->cycles && rel_close(x->energy_pj, y->energy_pj + split_e, 1e-9);
    for (int t = 0; ok && t < NTENSORS; t++)
      ok = !memcmp(&x->total[t], &y->total[t], sizeof x->total[t]) &&
           !memcmp(&x->per_instance[t], &y->per_instance[t], sizeof x->per_instance[t]) &&
           x->tile_words[t] == y->tile_words[t] && x->partition_words[t] == y->partition_words[t];
    if (!ok) fprintf(stderr, "%s: level %s differs\n", what, a->level[l].name);
  }
  if (!ok)
    fprintf(stderr, "%s: figures differ (energy %.9g vs %.9g, cycles %lld vs %lld)\n", what,
            r->energy_pj, q->energy_pj, (long long)r->cycles, (long long)q->cycles);
  return ok;
}

static const char *const dense[] = {"eyeriss_like", "simple_weight_stationary",
                                    "simple_output_stationary",
                                    "sparseloop/01.2.1-DUDU-dot-product"};

static void test_exercises_match_stats(void) {
  static TimeloopSpec s;
  static CostResult want;
  for (int i = 0; i < 4; i++) {
    const char *dir = path(path(exdir, dense[i]), "ref_outputs/default_problem");
    CHECK(load(&dir, 1, TL_HAVE_MAPPING, &s) == RC_OK);
    CHECK(s.stats_path[0] != 0);
    CostResult r;
    CHECK(cost_eval(&s.problem, &s.arch, &s.mapping, &r) == COST_OK);
    bool stated[ACCEL_MAX_LEVELS];
    Diag d;
    diag_init(&d, stderr, NULL);
    CHECK(timeloop_stats_load(s.stats_path, &s, &want, stated, &d) == RC_OK);
    CHECK_EQ(cost_compare_levels(&r, &want, &s.arch, stated, NULL, false), 0);
    /* Energies as printed: each number rounded to 0.01 pJ, a level's the sum
     * of at most four of them. */
    int nstated = 0;
    for (int l = 0; l < s.arch.nlevels; l++) {
      if (!stated[l]) continue;
      nstated++;
      CHECK_NEAR(r.level[l].energy_pj, want.level[l].energy_pj, 0.021);
    }
    CHECK(nstated >= 1);
    CHECK_NEAR(r.mac_energy_pj, want.mac_energy_pj, 0.006);
    CHECK_NEAR(r.energy_pj, want.energy_pj, 0.006 * (1 + 4 * nstated));
    if (i == 0) { /* eyeriss_like: psum_spad's leakage, 0.000134 pJ x 126 PEs x 86016 cycles */
      int l = s.arch.nlevels - 1;
      CHECK(strcmp(s.arch.level[l].name, "psum_spad") == 0);
      CHECK_NEAR(r.level[l].leak_energy_pj, 1452.29, 0.01);
      CHECK_EQ(r.cycles, 86016);
      CHECK_EQ(s.arch.nlevels, 7); /* DRAM, shared_glb, two bypassing levels, three scratchpads */
    }
  }
}

static void test_raw_forms(void) {
  static TimeloopSpec a, b;
  for (int i = 0; i < 3; i++) {
    const char *ref = path(path(exdir, dense[i]), "ref_outputs/default_problem");
    const char *raw[] = {path(path(exdir, dense[i]), "arch.yaml"),
                         path(exdir, "_components"),
                         path(exdir, "_include"),
                         path(ref, "timeloop-mapper.map.yaml"),
                         path(ref, "timeloop-mapper.ERT.yaml"),
                         path(ref, "timeloop-mapper.ART.yaml")};
    CHECK(load(&ref, 1, TL_HAVE_MAPPING, &a) == RC_OK);
    CHECK(load(raw, 6, TL_HAVE_MAPPING, &b) == RC_OK);
    CHECK_EQ(a.arch.nlevels, b.arch.nlevels);
    CHECK(!memcmp(a.problem.dim, b.problem.dim, sizeof a.problem.dim));
    CHECK(!memcmp(&a.mapping, &b.mapping, sizeof a.mapping));
    CostResult r, q;
    CHECK(cost_eval(&a.problem, &a.arch, &a.mapping, &r) == COST_OK);
    CHECK(cost_eval(&b.problem, &b.arch, &b.mapping, &q) == COST_OK);
    CHECK(same_result(&r, &a.arch, &q, &b.arch, dense[i]));
  }
}

static void test_sparse_refused(void) {
  static TimeloopSpec s;
  const char *const sparse[][2] = {
      {"sparse_tensor_core_like", "parsed-processed-input.yaml: 244:13: error: "
                                  "'densities': data space 'A' has density 0.5"},
      {"sparseloop/01.2.2-SUDU-dot-product",
       "parsed-processed-input.yaml: 462:1: error: 'sparse_optimizations'"}};
  for (int i = 0; i < 2; i++) {
    const char *dir = path(path(exdir, sparse[i][0]), "ref_outputs/default_problem");
    CHECK(load(&dir, 1, 0, &s) == RC_BADINPUT);
    CHECK_STR_HAS(errbuf, sparse[i][1]);
    CHECK_STR_HAS(errbuf, "sparsity");
    CHECK_EQ(s.have, 0);
  }
}

static void test_tutorial_layout(void) {
  static TimeloopSpec s;
  static Arch a;
  static Problem p;
  static Mapping m;
  CHECK(load(&tutdir, 1, TL_HAVE_MAPPING, &s) == RC_OK);
  Diag d;
  diag_init(&d, stderr, NULL);
  CHECK(arch_load(path(tutdir, "naasc/arch.yaml"), &a, &d) == RC_OK);
  CHECK(problem_load(path(tutdir, "naasc/problem.yaml"), &p, &d) == RC_OK);
  CHECK(mapping_load(path(tutdir, "naasc/mapping.yaml"), &a, &m, &d) == RC_OK);
  CHECK(!memcmp(s.problem.dim, p.dim, sizeof p.dim));
  const Level *G = &s.arch.level[1], *R = &s.arch.level[2];
  CHECK_EQ(G->capacity_words, 1024); /* depth GLB_DEPTH = 2 ** 8, blocks of 4 */
  CHECK_EQ(G->fanout[AXIS_X], 4);
  CHECK_EQ(G->fanout[AXIS_Y], 4);
  CHECK_EQ(R->keeps_allowed, (1 << TENSOR_W) | (1 << TENSOR_O));
  CHECK_EQ(s.arch.mac_instances, 16);
  CHECK(strcmp(s.dim_name[DIM_K], "K") == 0 && s.dim_name[DIM_C][0] == 0);
  CostResult r, q;
  CHECK(cost_eval(&s.problem, &s.arch, &s.mapping, &r) == COST_OK);
  CHECK(cost_eval(&p, &a, &m, &q) == COST_OK);
  CHECK(same_result(&q, &a, &r, &s.arch, "tutorial"));
  /* By hand: 32 x 3 x 16 MACs on 16 PEs in 2 x 3 x 4 x 4 steps; DRAM sends
   * each weight once (the K loop outside everything) and the 18 inputs once
   * (they do not depend on K: the global buffer keeps them across it). */
  CHECK_EQ(r.macs, 1536);
  CHECK_EQ(r.compute_cycles, 96);
  CHECK_EQ(r.level[0].total[TENSOR_W].reads, 96);
  CHECK_EQ(r.level[0].total[TENSOR_I].reads, 18);
  CHECK_EQ(r.level[0].total[TENSOR_O].updates, 512);
}

/* Writes s into dir, reads it back, and checks the figures. */
static void roundtrip(const Arch *a, const Problem *p, const Mapping *m, const char *dir,
                      const char *layer, const char *what) {
  static TimeloopSpec back;
  char *text = NULL;
  size_t len = 0;
  FILE *msgs = open_memstream(&text, &len); /* the writer's warnings, shown on failure */
  Diag d;
  diag_init(&d, msgs, NULL);
  make_dirs(dir);
  Rc w1 = timeloop_write(dir, NULL, a, NULL, NULL, &d),
     w2 = timeloop_write(dir, layer, a, p, m, &d);
  fclose(msgs);
  CHECK(w1 == RC_OK && w2 == RC_OK);
  if (w1 != RC_OK || w2 != RC_OK) fprintf(stderr, "%s", text);
  free(text);
  char f[3][256];
  struct stat st;
  snprintf(f[0], sizeof f[0], "%s.arch.yaml", layer);
  const char *files[] = {path(dir, stat(path(dir, f[0]), &st) == 0 ? f[0] : "arch.yaml"),
                         path(dir, (snprintf(f[1], sizeof f[1], "%s.problem.yaml", layer), f[1])),
                         path(dir, (snprintf(f[2], sizeof f[2], "%s.map.yaml", layer), f[2]))};
  CHECK(load(files, 3, TL_HAVE_MAPPING, &back) == RC_OK);
  CostResult r, q;
  CHECK(cost_eval(p, a, m, &r) == COST_OK);
  int e = cost_eval(&back.problem, &back.arch, &back.mapping, &q);
  CHECK_EQ(e, COST_OK);
  if (e != COST_OK) {
    char why[256] = "";
    mapcons_satisfied(&back.arch, &back.problem, &back.mapping, why, sizeof why);
    fprintf(stderr, "  %s (layer %s in %s): read back, the mapping does not evaluate: %s\n", what,
            layer, dir, why[0] ? why : "(its constraints hold)");
  }
  if (e == COST_OK) CHECK(same_result(&r, a, &q, &back.arch, what));
}

static void test_roundtrip_exercises(void) {
  static TimeloopSpec s;
  for (int i = 0; i < 4; i++) {
    const char *dir = path(path(exdir, dense[i]), "ref_outputs/default_problem");
    CHECK(load(&dir, 1, TL_HAVE_MAPPING, &s) == RC_OK);
    char out[256];
    snprintf(out, sizeof out, "rt-exercise-%d", i);
    roundtrip(&s.arch, &s.problem, &s.mapping, path(scratch, out), "layer", dense[i]);
  }
}

static void layer(Problem *p, const char *name, int64_t g, int64_t n, int64_t k, int64_t c,
                  int64_t pq, int64_t rs, int64_t stride, int64_t dil) {
  memset(p, 0, sizeof *p);
  snprintf(p->name, sizeof p->name, "%s", name);
  int64_t dims[NDIMS] = {g, n, k, c, pq, pq, rs, rs};
  memcpy(p->dim, dims, sizeof dims);
  p->stride[0] = p->stride[1] = stride;
  p->dilation[0] = p->dilation[1] = dil;
}

static void test_roundtrip_mapped(void) {
  static Arch archs[8];
  static TimeloopSpec s;
  int na = 0, np;
  Diag d;
  diag_init(&d, stderr, NULL);
  const char *const *names = arch_preset_names(&np);
  for (int i = 0; i < np; i++) CHECK(arch_preset_load(names[i], &archs[na++], &d) == RC_OK);
  for (int i = 0; i < 3; i++) {
    const char *dir = path(path(exdir, dense[i]), "ref_outputs/default_problem");
    CHECK(load(&dir, 1, TL_HAVE_ARCH, &s) == RC_OK);
    archs[na++] = s.arch;
  }
  Problem ps[7];
  layer(&ps[0], "conv3x3", 1, 1, 64, 64, 28, 3, 1, 1);
  layer(&ps[1], "pointwise", 1, 1, 128, 64, 14, 1, 1, 1);
  layer(&ps[2], "stem", 1, 1, 32, 3, 56, 3, 2, 1);
  layer(&ps[3], "depthwise", 32, 1, 1, 1, 28, 3, 1, 1);
  layer(&ps[4], "fc_b4", 1, 4, 1000, 512, 1, 1, 1, 1);
  layer(&ps[5], "dilated", 1, 1, 32, 32, 16, 3, 1, 2);
  layer(&ps[6], "conv5x5", 1, 1, 48, 16, 14, 5, 1, 1);
  int written = 0;
  for (int i = 0; i < na; i++)
    for (int j = 0; j < 7; j++) {
      MapperOptions o;
      mapper_options_default(&o);
      o.budget = 400;
      o.seed = (uint64_t)(1 + 7 * i + j);
      MapResult res;
      Diag quiet;
      diag_init(&quiet, NULL, NULL);
      if (mapper_run(&ps[j], &archs[i], &o, &res, &quiet) != RC_OK)
        continue; /* no valid mapping there */
      char dir[ACCEL_NAME_MAX + 16], what[2 * ACCEL_NAME_MAX + 8];
      snprintf(dir, sizeof dir, "rt-%d-%.40s", i, archs[i].name);
      snprintf(what, sizeof what, "%.40s on %.40s", ps[j].name, archs[i].name);
      roundtrip(&archs[i], &ps[j], &res.best, path(scratch, dir), ps[j].name, what);
      written++;
    }
  CHECK(written >= 50); /* of 56: not every layer maps on every design */
  printf("round trips: %d mapped layers\n", written);
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: test_timeloop EXERCISES_DIR TUTORIAL_DIR SCRATCH_DIR\n");
    return 2;
  }
  exdir = argv[1], tutdir = argv[2], scratch = argv[3];
  make_dirs(scratch);
  RUN(test_exercises_match_stats);
  RUN(test_raw_forms);
  RUN(test_sparse_refused);
  RUN(test_tutorial_layout);
  RUN(test_roundtrip_exercises);
  RUN(test_roundtrip_mapped);
  TEST_END();
}
