/*
 * test_mapper.c: the mapper on tiny layers, where exhaustive search proves
 * the optimum: the default (es) mapper must find the same EDP, every
 * mapping it returns must pass cost_check_mapping, and a run is a pure
 * function of the seed.  The architecture is a made-up three-level toy (its
 * numbers are test values, not hardware figures).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "search/search.h"
#include "tests/unit/test.h"

static void toy_arch(Arch *a) {
  memset(a, 0, sizeof *a);
  strcpy(a->name, "toy");
  a->nlevels = 3;
  const char *names[3] = {"DRAM", "GLB", "RF"};
  for (int l = 0; l < 3; l++) {
    Level *v = &a->level[l];
    strcpy(v->name, names[l]);
    v->is_dram = l == 0;
    v->instances = l == 2 ? 4 : 1;
    v->mesh_x = l == 2 ? 2 : 1;
    v->mesh_y = l == 2 ? 2 : 1;
    for (int x = 0; x < ACCEL_MAX_AXES; x++) {
      v->fanout[x] = 1;
      v->connectivity[x] = ACCEL_ALL_DIMS;
    }
    v->word_bits = 16;
    v->block_words = 1;
    v->capacity_words = l == 0 ? 0 : l == 1 ? 256 : 16;
    v->multiple_buffering = 1;
    v->keeps_allowed = ACCEL_ALL_TENSORS;
    v->e_read_pj = l == 0 ? 200 : l == 1 ? 6 : 1;
    v->e_fill_pj = v->e_read_pj;
    v->e_update_pj = v->e_read_pj;
  }
  a->level[1].fanout[AXIS_X] = 2;
  a->level[1].fanout[AXIS_Y] = 2;
  a->mac_instances = 4;
  a->mac_mesh_x = 2;
  a->mac_mesh_y = 2;
  a->mac_energy_pj = 1;
  a->clock_mhz = 200;
}

static void problem(Problem *p, int64_t k, int64_t c, int64_t pq, int64_t rs) {
  memset(p, 0, sizeof *p);
  strcpy(p->name, "tiny");
  int64_t dims[NDIMS] = {1, 1, k, c, pq, pq, rs, rs};
  memcpy(p->dim, dims, sizeof dims);
  p->stride[0] = p->stride[1] = p->dilation[0] = p->dilation[1] = 1;
}

static void test_es_matches_exhaustive(void) {
  Arch a;
  toy_arch(&a);
  Problem shapes[3];
  problem(&shapes[0], 4, 2, 2, 1);
  problem(&shapes[1], 2, 2, 3, 2);
  problem(&shapes[2], 8, 1, 2, 1);
  for (int i = 0; i < 3; i++) {
    Diag d;
    diag_init(&d, stderr, "test");
    MapperOptions o;
    mapper_options_default(&o);
    o.strategy = MAP_EXHAUSTIVE;
    o.budget = 20000000;
    MapResult ex, es;
    CHECK_EQ(mapper_run(&shapes[i], &a, &o, &ex, &d), RC_OK);
    CHECK(ex.complete);
    o.strategy = MAP_ES;
    o.budget = 16000;
    CHECK_EQ(mapper_run(&shapes[i], &a, &o, &es, &d), RC_OK);
    CHECK(es.best_fitness >= ex.best_fitness * (1 - 1e-12)); /* exhaustive is optimal */
    CHECK_NEAR(es.best_fitness / ex.best_fitness, 1.0, 1e-9);
    CHECK_EQ(cost_check_mapping(&shapes[i], &a, &es.best, &d), RC_OK);
    CHECK_EQ(cost_check_mapping(&shapes[i], &a, &ex.best, &d), RC_OK);
  }
}

static void test_deterministic(void) {
  Arch a;
  toy_arch(&a);
  Problem p;
  problem(&p, 16, 8, 6, 3);
  Diag d;
  diag_init(&d, stderr, "test");
  MapperOptions o;
  mapper_options_default(&o);
  o.budget = 1500;
  MapResult r1, r2, r3;
  mapper_run(&p, &a, &o, &r1, &d);
  mapper_run(&p, &a, &o, &r2, &d);
  o.seed = 2;
  mapper_run(&p, &a, &o, &r3, &d);
  CHECK(r1.best_fitness == r2.best_fitness);
  CHECK(memcmp(&r1.best, &r2.best, sizeof r1.best) == 0);
  CHECK_EQ(r1.evals, 1500);
  CHECK(r3.evals == 1500);
}

/* A layer the model rejects (a zero dim): a clear error naming why, no crash. */
static void test_impossible(void) {
  Arch a;
  toy_arch(&a);
  Problem p;
  problem(&p, 2, 2, 2, 1);
  p.dim[DIM_K] = 0;
  char *buf = NULL;
  size_t len = 0;
  Diag d;
  diag_init(&d, open_memstream(&buf, &len), "test");
  MapperOptions o;
  mapper_options_default(&o);
  o.budget = 300;
  MapResult r;
  CHECK_EQ(mapper_run(&p, &a, &o, &r, &d), RC_BADINPUT);
  fclose(d.out);
  CHECK_STR_HAS(buf, "test: tiny: error: no valid mapping");
  CHECK_STR_HAS(buf, "problem");
  CHECK_EQ(r.valid, 0);
  free(buf);
}

/* The network term, counted by hand: K2 on x, C2 on y below the GLB, one
 * MAC per PE.  Each of the 4 PEs receives one W and one I word and sends one
 * partial O up: 12 words, one hop each.  With multicast, the 2 PEs sharing an
 * input word cost one GLB read; without, two.  Likewise spatial reduction
 * halves the GLB updates of O. */
static void test_noc(void) {
  Arch a;
  toy_arch(&a);
  Problem p;
  problem(&p, 2, 2, 1, 1);
  Mapping m;
  memset(&m, 0, sizeof m);
  m.nlevels = 3;
  for (int l = 0; l < 3; l++) level_mapping_init(&m.level[l], ACCEL_ALL_TENSORS);
  m.level[1].spatial[AXIS_X][DIM_K] = 2;
  m.level[1].spatial[AXIS_Y][DIM_C] = 2;
  CostResult base, noc, nomc;
  CHECK_EQ(cost_eval(&p, &a, &m, &base), COST_OK);
  a.level[1].noc_pj_per_hop = 2;
  CHECK_EQ(cost_eval(&p, &a, &m, &noc), COST_OK);
  CHECK_NEAR(noc.level[1].noc_energy_pj, 12 * 2.0, 1e-9);
  CHECK_NEAR(noc.energy_pj - base.energy_pj, 24.0, 1e-9);
  CHECK_EQ(noc.level[1].total[TENSOR_I].reads, base.level[1].total[TENSOR_I].reads);
  a.level[1].no_multicast = true;
  a.level[1].no_reduction = true;
  CHECK_EQ(cost_eval(&p, &a, &m, &nomc), COST_OK);
  CHECK_EQ(base.level[1].total[TENSOR_I].reads, 2);
  CHECK_EQ(nomc.level[1].total[TENSOR_I].reads, 4);
  CHECK_EQ(base.level[1].total[TENSOR_O].updates, 2);
  CHECK_EQ(nomc.level[1].total[TENSOR_O].updates, 4);
  CHECK_NEAR(nomc.level[1].noc_energy_pj, 24.0, 1e-9); /* the same 12 words travel */
}

/* Every strategy returns a valid mapping, the same for the same seed. */
static void test_strategies(void) {
  Arch a;
  toy_arch(&a);
  Problem p;
  problem(&p, 16, 8, 6, 3);
  Diag d;
  diag_init(&d, stderr, "test");
  for (int s = MAP_ES; s <= MAP_GRADIENT; s++) {
    if (s == MAP_EXHAUSTIVE) continue;
    MapperOptions o;
    mapper_options_default(&o);
    o.strategy = (MapStrategy)s;
    o.budget = 600;
    MapResult r1, r2;
    CHECK_EQ(mapper_run(&p, &a, &o, &r1, &d), RC_OK);
    CHECK_EQ(mapper_run(&p, &a, &o, &r2, &d), RC_OK);
    CHECK(r1.best_fitness == r2.best_fitness);
    CHECK(r1.evals <= 600);
    CHECK_EQ(cost_check_mapping(&p, &a, &r1.best, &d), RC_OK);
  }
}

/* The gradient mapper finds the optimum exhaustive search proves on the tiny
 * layers, with at most a third of es's 16,000 evaluations; its options out
 * of range are refused. */
static void test_gradient(void) {
  Arch a;
  toy_arch(&a);
  Problem shapes[3];
  problem(&shapes[0], 4, 2, 2, 1);
  problem(&shapes[1], 2, 2, 3, 2);
  problem(&shapes[2], 8, 1, 2, 1);
  Diag d;
  diag_init(&d, stderr, "test");
  for (int i = 0; i < 3; i++) {
    MapperOptions o;
    mapper_options_default(&o);
    o.strategy = MAP_EXHAUSTIVE;
    o.budget = 20000000;
    MapResult ex, gr;
    CHECK_EQ(mapper_run(&shapes[i], &a, &o, &ex, &d), RC_OK);
    o.strategy = MAP_GRADIENT;
    o.budget = 5333;
    CHECK_EQ(mapper_run(&shapes[i], &a, &o, &gr, &d), RC_OK);
    CHECK(gr.evals <= 5333);
    CHECK(gr.relaxed > 0);
    CHECK_NEAR(gr.best_fitness / ex.best_fitness, 1.0, 1e-9);
    CHECK_EQ(cost_check_mapping(&shapes[i], &a, &gr.best, &d), RC_OK);
  }
  Diag quiet;
  diag_init(&quiet, NULL, "test");
  MapperOptions o;
  mapper_options_default(&o);
  o.strategy = MAP_GRADIENT;
  o.budget = 100;
  MapResult r;
  o.temperature = -1;
  CHECK_EQ(mapper_run(&shapes[0], &a, &o, &r, &quiet), RC_BADINPUT);
  o.temperature = 0, o.lr = 3;
  CHECK_EQ(mapper_run(&shapes[0], &a, &o, &r, &quiet), RC_BADINPUT);
  o.lr = NAN;
  CHECK_EQ(mapper_run(&shapes[0], &a, &o, &r, &quiet), RC_BADINPUT);
  CHECK_EQ(quiet.nerrors, 3);
}

/* Orders that differ by swapping two neighbouring loops (factor-1 loops
 * aside) of one class (mapspace_order_classes) give the same counts, energy
 * and cycles; and the classes are not empty
 * claims: sliding window dims stay alone, and a swap across classes does
 * change the cost on some mapping. */
static void test_order_classes(void) {
  Arch a;
  toy_arch(&a);
  a.level[1].capacity_words = 100000;
  a.level[2].capacity_words = 100000;
  Problem shapes[3];
  problem(&shapes[0], 4, 6, 4, 1); /* 1x1: N P Q share {I,O}; C alone with R S = 1 */
  problem(&shapes[1], 4, 2, 6, 3); /* 3x3: P Q R S slide */
  problem(&shapes[2], 2, 4, 1, 3); /* P = Q = 1: R S join C in {W,I} */
  shapes[0].dim[DIM_N] = 2;
  uint8_t cls[NDIMS];
  mapspace_order_classes(&shapes[0], cls);
  CHECK_EQ(cls[DIM_P], DIM_N);
  CHECK_EQ(cls[DIM_Q], DIM_N);
  CHECK_EQ(cls[DIM_R], DIM_C);
  CHECK_EQ(cls[DIM_K], DIM_K);
  mapspace_order_classes(&shapes[1], cls);
  CHECK_EQ(cls[DIM_P], DIM_P);
  CHECK_EQ(cls[DIM_Q], DIM_Q);
  CHECK_EQ(cls[DIM_S], DIM_S);
  mapspace_order_classes(&shapes[2], cls);
  CHECK_EQ(cls[DIM_S], DIM_C);
  Rng r;
  rng_seed(&r, 7);
  int swaps = 0, differ = 0;
  for (int it = 0; it < 20000; it++) {
    const Problem *p = &shapes[it % 3];
    mapspace_order_classes(p, cls);
    double x[256];
    int n = mapspace_dim(&a);
    for (int i = 0; i < n; i++) x[i] = rng_uniform(&r);
    Mapping m;
    mapspace_decode(p, &a, x, &m);
    CostResult c0, c1;
    if (cost_eval(p, &a, &m, &c0) != COST_OK) continue;
    int l = (int)(rng_next(&r) % (uint64_t)a.nlevels), pos[NDIMS], np = 0;
    for (int k = 0; k < NDIMS; k++)
      if (m.level[l].factor[m.level[l].order[k]] > 1) pos[np++] = k;
    if (np < 2) continue;
    int k = (int)(rng_next(&r) % (uint64_t)(np - 1)), i = pos[k], j = pos[k + 1];
    uint8_t di = m.level[l].order[i], dj = m.level[l].order[j];
    m.level[l].order[i] = dj;
    m.level[l].order[j] = di;
    CHECK_EQ(cost_eval(p, &a, &m, &c1), COST_OK);
    if (cls[di] == cls[dj]) {
      swaps++;
      CHECK(c1.energy_pj == c0.energy_pj && c1.cycles == c0.cycles);
      for (int lv = 0; lv < a.nlevels; lv++)
        for (int t = 0; t < NTENSORS; t++) {
          CHECK_EQ(c1.level[lv].total[t].reads, c0.level[lv].total[t].reads);
          CHECK_EQ(c1.level[lv].total[t].fills, c0.level[lv].total[t].fills);
          CHECK_EQ(c1.level[lv].total[t].updates, c0.level[lv].total[t].updates);
        }
    } else if (c1.energy_pj != c0.energy_pj) {
      differ++;
    }
  }
  CHECK(swaps >= 50);  /* the equivalence was exercised */
  CHECK(differ >= 50); /* and other swaps do matter */
}

int main(void) {
  RUN(test_order_classes);
  RUN(test_noc);
  RUN(test_strategies);
  RUN(test_gradient);
  RUN(test_es_matches_exhaustive);
  RUN(test_deterministic);
  RUN(test_impossible);
  TEST_END();
}
