/*
 * test_zoo_tf.c: the zoo's transformers and their lowering.
 *
 * MACs and parameters of bert-base (128 and 512 tokens), vit-b16 and GPT-2
 * small (prefill of 1024 tokens, one decode step over a 1024-token KV
 * cache) against hand counts and the published figures (within 1%); the
 * lowering of batched MatMuls to mac nests with G = heads (attention) and
 * of token MatMuls [B, T, C] x [C, K] with G = B, each access affine.
 *
 * Hand counts (MACs): a block of T tokens, width d, FFN width f, H heads of
 * dh = d/H over S keys has Q K V and output projections 4 T d^2, the FFN
 * 2 T d f, and attention Q K^T plus P V 2 H T S dh; these are the matmul
 * terms of Hoffmann et al. 2022 ("Training compute-optimal large language
 * models", Appendix F, Table 4), halved (FLOPs = 2 MACs).
 */
#include "backend/backend.h"
#include "frontend/frontend.h"
#include "passes/passes.h"
#include "tests/unit/test.h"

#include <stdlib.h>

static int64_t block_macs(int64_t T, int64_t S, int64_t d, int64_t f) {
  return 4 * T * d * d + 2 * T * d * f + 2 * T * S * d;
}

/* The summary's totals of zoo network name (built in memory, no weights). */
static void zoo_totals(const char *name, int64_t *macs, int64_t *params) {
  Diag d;
  diag_init(&d, stderr, "test");
  Model *m = NULL;
  *macs = *params = -1;
  CHECK_EQ(zoo_build(name, false, 1, &m, &d), RC_OK);
  if (!m) return;
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  summary_print(f, m);
  fclose(f);
  const char *t = strstr(buf, "total layers=");
  CHECK(t != NULL);
  if (t) {
    const char *mm = strstr(t, "macs="), *pp = strstr(t, "params=");
    *macs = strtoll(mm + 5, NULL, 10);
    *params = strtoll(pp + 7, NULL, 10);
  }
  free(buf);
  model_destroy(m);
}

static bool within(int64_t got, double published, double rel) {
  double e = ((double)got - published) / published;
  return e <= rel && e >= -rel;
}

static void test_bert(void) {
  int64_t macs, params;
  zoo_totals("bert-base", &macs, &params);
  /* 12 blocks of 128 tokens, the pooler's 768 x 768. */
  CHECK_EQ(macs, 12 * block_macs(128, 128, 768, 3072) + 768 * 768);
  CHECK_EQ(macs, INT64_C(11174215680));
  /* HuggingFace bert-base-uncased BertModel: 109,482,240; Devlin et al.: 110M. */
  CHECK_EQ(params, INT64_C(109482240));
  CHECK(within(params, 110e6, 0.01));
  zoo_totals("bert-base-512", &macs, &params);
  CHECK_EQ(macs, 12 * block_macs(512, 512, 768, 3072) + 768 * 768);
  CHECK_EQ(params, INT64_C(109482240));
}

static void test_vit(void) {
  int64_t macs, params;
  zoo_totals("vit-b16", &macs, &params);
  /* patches 196 x 768 x (3*16*16), 12 blocks of 197 tokens, the head. */
  CHECK_EQ(macs, 196 * 768 * 768 + 12 * block_macs(197, 197, 768, 3072) + 768 * 1000);
  CHECK(within(macs, 17.56e9, 0.01));  /* torchvision vit_b_16: 17.56 GFLOPS (MACs) */
  CHECK_EQ(params, INT64_C(86567656)); /* torchvision vit_b_16: 86,567,656 */
}

static void test_gpt2(void) {
  int64_t macs, params;
  zoo_totals("gpt2-prefill", &macs, &params);
  int64_t lm = INT64_C(768) * 50257;
  CHECK_EQ(macs, 12 * block_macs(1024, 1024, 768, 3072) + 1024 * lm);
  CHECK_EQ(params, INT64_C(124439808)); /* HuggingFace gpt2: 124M, tied output layer */
  CHECK(within(params, 124e6, 0.01));
  zoo_totals("gpt2-decode", &macs, &params);
  CHECK_EQ(macs, 12 * block_macs(1, 1024, 768, 3072) + lm);
  CHECK_EQ(macs, INT64_C(142406400));
  CHECK_EQ(params, INT64_C(124439808));
}

static const Nest *find_nest(const Module *m, const char *name) {
  for (uint32_t i = 0; i < m->nnests; i++)
    if (strcmp(m->nests[i].name, name) == 0) return &m->nests[i];
  return NULL;
}

/* Every MatMul of bert-base is a mac nest with affine accesses; the
 * attention ones have G = 12 heads; their MACs add up to the summary's. */
static void test_bert_lowering(void) {
  Diag d;
  diag_init(&d, stderr, "test");
  Model *g = NULL;
  Module *m = NULL;
  CHECK_EQ(zoo_build("bert-base", false, 1, &g, &d), RC_OK);
  if (!g) return;
  CHECK_EQ(lower_model(g, &m, &d), RC_OK);
  if (!m) {
    model_destroy(g);
    return;
  }
  int64_t macs = 0;
  int nmac = 0;
  for (uint32_t i = 0; i < m->nnests; i++) {
    const Nest *n = &m->nests[i];
    Problem p;
    if (n->kind != NK_MAC) continue;
    nmac++;
    CHECK(nest_problem(n, &p));
    int64_t v = 1;
    for (int k = 0; k < NDIMS; k++) v *= p.dim[k];
    macs += v;
    for (int a = 0; a < n->nacc; a++) CHECK_EQ(n->acc[a].ix, IX_AFFINE);
  }
  CHECK_EQ(nmac, 12 * 8 + 1); /* Q K V O, QK^T, PV, fc1, fc2 per block; the pooler */
  CHECK_EQ(macs, INT64_C(11174215680));
  Problem p;
  const Nest *s = find_nest(m, "layer.0.attention.scores");
  CHECK(s && nest_problem(s, &p));
  if (s) {
    CHECK_EQ(p.dim[DIM_G], 12);
    CHECK_EQ(p.dim[DIM_N], 128);
    CHECK_EQ(p.dim[DIM_K], 128);
    CHECK_EQ(p.dim[DIM_C], 64);
  }
  const Nest *c = find_nest(m, "layer.0.attention.context");
  CHECK(c && nest_problem(c, &p));
  if (c) {
    CHECK_EQ(p.dim[DIM_G], 12);
    CHECK_EQ(p.dim[DIM_N], 128);
    CHECK_EQ(p.dim[DIM_K], 64);
    CHECK_EQ(p.dim[DIM_C], 128);
  }
  const Nest *q = find_nest(m, "layer.0.attention.query.matmul");
  CHECK(q && nest_problem(q, &p));
  if (q) {
    CHECK_EQ(p.dim[DIM_G], 1);
    CHECK_EQ(p.dim[DIM_N], 128);
    CHECK_EQ(p.dim[DIM_K], 768);
    CHECK_EQ(p.dim[DIM_C], 768);
  }
  /* One attention layer, hand-counted: Q K V O 4*128*768*768 = 301,989,888,
   * Q K^T and P V 2*12*128*128*64 = 25,165,824. */
  int64_t attn = 0;
  static const char *const names[] = {"query", "key", "value", "output", "scores", "context"};
  for (int k = 0; k < 6; k++) {
    char nm[96];
    snprintf(nm, sizeof nm, k < 4 ? "layer.3.attention.%s.matmul" : "layer.3.attention.%s",
             names[k]);
    const Nest *n = find_nest(m, nm);
    CHECK(n && nest_problem(n, &p));
    if (!n) continue;
    int64_t v = 1;
    for (int dd = 0; dd < NDIMS; dd++) v *= p.dim[dd];
    attn += v;
  }
  CHECK_EQ(attn, INT64_C(327155712));
  module_destroy(m);
  model_destroy(g);
}

/* MatMul lowering by batch shape: one batch dim > 1 -> G (broadcast
 * operands index it with 0); two -> whole views. */
static void test_matmul_batch(void) {
  struct {
    int ra, rb;
    int64_t a[4], b[4], o[4];
    int orank;
    int64_t G, N;
    bool affine;
  } cs[] = {
      {3, 2, {4, 8, 16}, {16, 32}, {4, 8, 32}, 3, 4, 8, true},               /* tokens */
      {4, 4, {1, 12, 8, 16}, {1, 12, 16, 8}, {1, 12, 8, 8}, 4, 12, 8, true}, /* heads */
      {4, 3, {1, 12, 8, 16}, {1, 16, 8}, {1, 12, 8, 8}, 4, 12, 8, true},     /* B broadcast */
      {4, 4, {2, 3, 8, 16}, {2, 3, 16, 8}, {2, 3, 8, 8}, 4, 6, 8, false},    /* two batch dims */
  };
  for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++) {
    Diag d;
    diag_init(&d, stderr, "test");
    Model *g = model_create("mm");
    TensorId A = model_add_tensor(g, "A", DT_F32, cs[i].ra, cs[i].a, TK_INPUT);
    TensorId B = model_add_tensor(g, "B", DT_F32, cs[i].rb, cs[i].b, TK_INPUT);
    TensorId O = model_add_tensor(g, "O", DT_F32, cs[i].orank, cs[i].o, TK_VALUE);
    model_add_input(g, A);
    model_add_input(g, B);
    TensorId in[2] = {A, B};
    model_add_node(g, OP_MATMUL, "mm", 2, in, 1, &O);
    model_add_output(g, O);
    Module *m = NULL;
    CHECK_EQ(lower_model(g, &m, &d), RC_OK);
    Problem p;
    if (m) {
      const Nest *n = find_nest(m, "mm");
      CHECK(n && nest_problem(n, &p));
      if (n) {
        CHECK_EQ(p.dim[DIM_G], cs[i].G);
        CHECK_EQ(p.dim[DIM_N], cs[i].N);
        for (int a = 0; a < n->nacc; a++)
          CHECK_EQ(n->acc[a].ix, cs[i].affine ? IX_AFFINE : IX_WHOLE);
        if (i == 0) { /* W [16, 32] ignores G */
          const Access *w = nest_access(n, ROLE_W);
          CHECK(w && w->idx[0].coef[nest_dim_pos(n, DIM_G)] == 0);
        }
      }
    }
    module_destroy(m);
    model_destroy(g);
  }
}

/* The vector unit's cost of bert-base's softmax and layer norm on
 * nvdla-1024 (16 lanes), hand-counted from backend/vector.c's rules:
 * softmax over 12 x 128 x 128 scores, 3 add + 1 mul + exp (7 + 7) per
 * element; LayerNormalization over 128 x 768, 4 add + 3 mul per element,
 * its input read twice; GELU's Erf over 128 x 3072, 15 add + 19 mul (exp,
 * divide, 7 mul + 6 add). */
static void test_vector_cost(void) {
  Diag d;
  diag_init(&d, stderr, "test");
  Model *g = NULL;
  Module *m = NULL;
  Arch a;
  CHECK_EQ(arch_preset_load("nvdla-1024", &a, &d), RC_OK);
  CHECK_EQ(a.vector.lanes, 16);
  CHECK_EQ(zoo_build("bert-base", false, 1, &g, &d), RC_OK);
  if (!g || lower_model(g, &m, &d) != RC_OK) {
    model_destroy(g);
    return;
  }
  VecCost v;
  const Nest *s = find_nest(m, "layer.0.attention.softmax");
  CHECK(s && vec_cost(&a, m, s, &v));
  int64_t pts = 12 * 128 * 128;
  CHECK_EQ(v.kind, VK_SOFTMAX);
  CHECK_EQ(v.points, pts);
  CHECK_EQ(v.adds, pts * 10);
  CHECK_EQ(v.muls, pts * 8);
  CHECK_EQ(v.compute_cycles, pts * 18 / 16);
  CHECK_EQ(v.dram_words, 2 * pts);
  CHECK(v.cycles >= v.compute_cycles);
  const Nest *ln = find_nest(m, "layer.0.attention.norm");
  CHECK(ln && vec_cost(&a, m, ln, &v));
  pts = 128 * 768;
  CHECK_EQ(v.kind, VK_NORM);
  CHECK_EQ(v.adds, pts * 4);
  CHECK_EQ(v.muls, pts * 3);
  CHECK_EQ(v.dram_words, 2 * pts + 2 * 768); /* x, y; scale and bias */
  /* the second pass reads x, scale and bias from the buffer again */
  CHECK_EQ(v.glb_words, 2 * (2 * pts + 2 * 768) + pts + 2 * 768);
  const Nest *ge = find_nest(m, "layer.0.mlp.gelu.erf");
  CHECK(ge && vec_cost(&a, m, ge, &v));
  pts = 128 * 3072;
  CHECK_EQ(v.adds, pts * 15);
  CHECK_EQ(v.muls, pts * 19);
  /* eyeriss has no vector unit: not costed. */
  Arch e;
  CHECK_EQ(arch_preset_load("eyeriss", &e, &d), RC_OK);
  CHECK(!vec_cost(&e, m, s, &v));
  module_destroy(m);
  model_destroy(g);
}

int main(void) {
  RUN(test_bert);
  RUN(test_vit);
  RUN(test_gpt2);
  RUN(test_bert_lowering);
  RUN(test_matmul_batch);
  RUN(test_vector_cost);
  TEST_END();
}
