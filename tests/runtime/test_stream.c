/*
 * test_stream.c: the command stream's loader against bad and mutated
 * streams, and the executor against the interpreter, on a small model built
 * here: Conv(1x3x8x8, 4 filters 3x3, pad 1, bias) + Relu (fused), MaxPool
 * 2x2/2, Add of a per-channel constant, Flatten, Gemm (64 -> 5).
 *
 *   test_stream [ITERATIONS] [SEED]
 *
 * 1. The stream loads and runs on eyeriss; the tiled output equals the
 *    reference interpreter's (within 1e-5) and a hand-computed value.
 * 2. Each bad stream is refused with RC_BADINPUT and a message naming what
 *    is wrong: empty, truncated headers and sections, bad magic, another
 *    version, a tampered architecture, another architecture, an access
 *    out of its tensor's bounds, loops that do not cover a layer.
 * 3. Packed weights: both mac layers' weights are stored as cells; the
 *    loader rebuilds them bit for bit; two swapped words of a cell change
 *    exactly two weights; a wrong cell length, order, level, tensor or
 *    packed flag is refused by name.
 * 4. Fuzzing: ITERATIONS (default 3000) variants, each with random bit
 *    flips, 64-bit overwrites or a truncation (mostly outside the weights):
 *    every variant is either refused (RC_BADINPUT with a message) or loads
 *    and runs to RC_OK or RC_BADINPUT.  Under ASan/UBSan any bad access
 *    aborts the test.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"
#include "backend/backend.h"
#include "frontend/frontend.h"
#include "passes/passes.h"
#include "runtime/runtime.h"
#include "stream/stream.h"
#include "tests/unit/test.h"

static Arch eyeriss, nvdla;
static uint8_t *good;
static size_t good_len;
static uint64_t wlen;

static float *const_data(Model *m, TensorId t, float scale) {
  int64_t n = tensor_numel(&m->tensors[t]);
  float *p = arena_alloc(&m->arena, sizeof(float) * (size_t)n);
  for (int64_t i = 0; i < n; i++) p[i] = scale * (float)((i * 7) % 11 - 5);
  m->tensors[t].data = p;
  return p;
}

static Model *small_model(void) {
  Model *m = model_create("small");
  int64_t xd[4] = {1, 3, 8, 8}, wd[4] = {4, 3, 3, 3}, bd[1] = {4}, cd[3] = {4, 1, 1},
          gd[2] = {64, 5};
  TensorId x = model_add_tensor(m, "x", DT_F32, 4, xd, TK_INPUT);
  TensorId w = model_add_tensor(m, "w", DT_F32, 4, wd, TK_CONST);
  TensorId b = model_add_tensor(m, "b", DT_F32, 1, bd, TK_CONST);
  TensorId c = model_add_tensor(m, "c", DT_F32, 3, cd, TK_CONST);
  TensorId g = model_add_tensor(m, "g", DT_F32, 2, gd, TK_CONST);
  const_data(m, w, 0.1f), const_data(m, b, 0.5f), const_data(m, c, 0.25f), const_data(m, g, 0.05f);
  TensorId y1 = model_add_tensor(m, "y1", DT_F32, -1, NULL, TK_VALUE);
  TensorId y2 = model_add_tensor(m, "y2", DT_F32, -1, NULL, TK_VALUE);
  TensorId y3 = model_add_tensor(m, "y3", DT_F32, -1, NULL, TK_VALUE);
  TensorId y4 = model_add_tensor(m, "y4", DT_F32, -1, NULL, TK_VALUE);
  TensorId y5 = model_add_tensor(m, "y5", DT_F32, -1, NULL, TK_VALUE);
  TensorId y = model_add_tensor(m, "y", DT_F32, -1, NULL, TK_VALUE);
  model_add_input(m, x);
  TensorId in0[3] = {x, w, b};
  Node *n = &m->nodes[model_add_node(m, OP_CONV, "conv", 3, in0, 1, &y1)];
  n->a.nsp = 2, n->a.kernel[0] = n->a.kernel[1] = 3;
  for (int i = 0; i < 4; i++) n->a.pads[i] = 1;
  n = &m->nodes[model_add_node(m, OP_RELU, "relu", 1, &y1, 1, &y2)];
  n = &m->nodes[model_add_node(m, OP_MAXPOOL, "pool", 1, &y2, 1, &y3)];
  n->a.nsp = 2, n->a.kernel[0] = n->a.kernel[1] = 2, n->a.strides[0] = n->a.strides[1] = 2;
  TensorId in3[2] = {y3, c};
  model_add_node(m, OP_ADD, "add", 2, in3, 1, &y4);
  model_add_node(m, OP_FLATTEN, "flat", 1, &y4, 1, &y5);
  m->nodes[m->nnodes - 1].a.axis = 1;
  TensorId in5[2] = {y5, g};
  model_add_node(m, OP_GEMM, "fc", 2, in5, 1, &y);
  m->tensors[y].is_output = true;
  model_add_output(m, y);
  return m;
}

/* Compiles a model; edit (may be NULL) changes the module before emission. */
static Rc compile(void (*edit)(Module *), uint8_t **bytes, size_t *len, CmdStats *st) {
  Diag d;
  diag_init(&d, stderr, "small");
  Model *m = small_model();
  if (graph_toposort(m, &d) != RC_OK || graph_infer(m, &d) != RC_OK) return RC_INTERNAL;
  PassRegistry *reg = pass_registry_create();
  Pipeline pl;
  if (pipeline_parse(reg, PIPELINE_O2_MAP, &pl, &d) != RC_OK) return RC_INTERNAL;
  PMOptions o;
  pm_options_default(&o);
  Program prog = {.graph = m, .arch = &eyeriss, .keep_weights = true};
  Rc rc = pm_run(&pl, &prog, &o, &d);
  if (rc == RC_OK && edit) edit(prog.mod);
  if (rc == RC_OK) rc = cmd_emit(prog.mod, prog.weights, &eyeriss, bytes, len, st, &d);
  program_free(&prog);
  pipeline_free(&pl);
  pass_registry_destroy(reg);
  return rc;
}

static const float xin[3 * 8 * 8] = {0};

static float input_at(int i) { return (float)((i * 13) % 17) / 8.0f - 1.0f; }

/* Loads, binds x, runs; rc of the first failing step; out (5 floats) if ok. */
static Rc load_run(const uint8_t *b, size_t n, const Arch *expect, bool reference, float *out,
                   char *msg, size_t msgcap) {
  char *buf = NULL;
  size_t blen = 0;
  FILE *f = open_memstream(&buf, &blen);
  Diag d;
  diag_init(&d, f, "stream");
  RtProgram *p = NULL;
  Rc rc = rt_load(b, n, expect, &p, &d);
  if (rc == RC_OK) {
    float x[3 * 8 * 8];
    for (int i = 0; i < 3 * 8 * 8; i++) x[i] = input_at(i) + xin[i];
    int64_t dims[4] = {1, 3, 8, 8};
    int id = rt_find_tensor(p, "x");
    if (id) rc = rt_set_input(p, "x", DT_F32, 4, dims, x, &d);
    RuntimeOptions o;
    rt_options_default(&o);
    o.reference = reference;
    if (rc == RC_OK) rc = rt_run(p, &o, &d);
    int yo = rt_find_tensor(p, "y");
    if (rc == RC_OK && out && yo && rt_tensor(p, yo)->numel == 5)
      memcpy(out, rt_tensor(p, yo)->data, 5 * sizeof(float));
  }
  rt_destroy(p);
  fclose(f);
  if (rc != RC_OK && d.nerrors == 0) {
    fprintf(stderr, "refused without a message (rc %d)\n", rc);
    test_failed_checks++;
  }
  if (msg) snprintf(msg, msgcap, "%s", buf ? buf : "");
  free(buf);
  return rc;
}

static void test_good(void) {
  float tiled[5], ref[5];
  CHECK_EQ(load_run(good, good_len, &eyeriss, false, tiled, NULL, 0), RC_OK);
  CHECK_EQ(load_run(good, good_len, &eyeriss, true, ref, NULL, 0), RC_OK);
  for (int k = 0; k < 5; k++) CHECK_NEAR(tiled[k], ref[k], 1e-5);
  /* By hand, in double: conv+bias, relu, 2x2 max, +c, flatten, gemm. */
  double y1[4][8][8], y4[4][4][4];
  for (int k = 0; k < 4; k++)
    for (int p = 0; p < 8; p++)
      for (int q = 0; q < 8; q++) {
        double s = 0.5 * (double)((k * 7) % 11 - 5);
        for (int c = 0; c < 3; c++)
          for (int r = 0; r < 3; r++)
            for (int t = 0; t < 3; t++) {
              int h = p + r - 1, w = q + t - 1;
              if (h < 0 || h >= 8 || w < 0 || w >= 8) continue;
              int wi = ((k * 3 + c) * 3 + r) * 3 + t;
              s += (double)(0.1f * (float)((wi * 7) % 11 - 5)) * input_at((c * 8 + h) * 8 + w);
            }
        y1[k][p][q] = s > 0 ? s : 0;
      }
  for (int k = 0; k < 4; k++)
    for (int p = 0; p < 4; p++)
      for (int q = 0; q < 4; q++) {
        double mx = fmax(fmax(y1[k][2 * p][2 * q], y1[k][2 * p][2 * q + 1]),
                         fmax(y1[k][2 * p + 1][2 * q], y1[k][2 * p + 1][2 * q + 1]));
        y4[k][p][q] = mx + 0.25 * (double)((k * 7) % 11 - 5);
      }
  for (int j = 0; j < 5; j++) {
    double s = 0;
    for (int i = 0; i < 64; i++)
      s += ((double *)y4)[i] * (double)(0.05f * (float)(((i * 5 + j) * 7) % 11 - 5));
    CHECK_NEAR(tiled[j], s, 1e-4);
  }
}

/* A bad stream: refused with RC_BADINPUT and `want` in the message. */
static void expect_refused(const char *what, const uint8_t *b, size_t n, const Arch *expect,
                           const char *want) {
  char msg[2048];
  Rc rc = load_run(b, n, expect, false, NULL, msg, sizeof msg);
  if (rc != RC_BADINPUT || !strstr(msg, want)) {
    fprintf(stderr, "%s: rc %d, message '%s' (want RC_BADINPUT and '%s')\n", what, rc, msg, want);
    test_failed_checks++;
  }
}

static void put64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void edit_oob(Module *m) { /* the conv's output row index shifted by 5 */
  for (uint32_t i = 0; i < m->nnests; i++)
    if (m->nests[i].kind == NK_MAC)
      for (int a = 0; a < m->nests[i].nacc; a++)
        if (m->nests[i].acc[a].role == ROLE_O) {
          m->nests[i].acc[a].idx[m->nests[i].acc[a].rank - 1].cst += 5;
          return;
        }
}

static void edit_cover(Module *m) { /* one more iteration of the outermost loop over K */
  for (uint32_t i = 0; i < m->nnests; i++)
    if (m->nests[i].kind == NK_MAC && m->nests[i].map) {
      m->nests[i].map->m.level[0].factor[DIM_K] += 1;
      return;
    }
}

static void test_bad(void) {
  uint8_t *b = xmalloc(good_len);
  expect_refused("empty", good, 0, NULL, "not a command stream");
  expect_refused("header cut", good, 40, NULL, "not a command stream");
  expect_refused("cut by one", good, good_len - 1, NULL, "truncated or tampered");
  expect_refused("cut in half", good, good_len / 2, NULL, "truncated or tampered");
  memcpy(b, good, good_len);
  b[0] = 'X';
  expect_refused("magic", b, good_len, NULL, "bad magic");
  memcpy(b, good, good_len);
  b[8] = CMDF_VERSION + 1;
  expect_refused("version", b, good_len, NULL, "reads version 5");
  memcpy(b, good, good_len);
  b[8] = 4; /* format 4 (residency without group numbers, no tile layers) */
  expect_refused("version 4", b, good_len, NULL, "version 4");
  memcpy(b, good, good_len);
  b[8] = 1; /* streams of format 1 (dense weights) are refused too */
  expect_refused("old version", b, good_len, NULL, "version 1");
  memcpy(b, good, good_len);
  b[80 + 8 + 100] ^= 1; /* inside the architecture section */
  expect_refused("arch tampered", b, good_len, NULL, "hash");
  expect_refused("other arch", good, good_len, &nvdla, "another architecture");
  /* The section table claims more commands than there are. */
  memcpy(b, good, good_len);
  uint64_t clen = 0;
  for (int i = 0; i < 8; i++) clen |= (uint64_t)good[64 + i] << (8 * i);
  put64(b + 64, clen + 8);
  expect_refused("section table", b, good_len, NULL, "section table");
  xfree(b);
  uint8_t *s = NULL;
  size_t n = 0;
  CHECK_EQ(compile(edit_oob, &s, &n, NULL), RC_OK);
  expect_refused("out of bounds", s, n, NULL, "reaches index");
  xfree(s);
  CHECK_EQ(compile(edit_cover, &s, &n, NULL), RC_OK);
  expect_refused("coverage", s, n, NULL, "cover");
  xfree(s);
}

static uint64_t rd(const uint8_t *p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; i++) v |= (uint64_t)p[i] << (8 * i);
  return v;
}

/* The payload offset of the skip-th record of op in a stream's commands, or 0. */
static size_t find_record(const uint8_t *b, uint8_t op, int skip) {
  size_t at = (size_t)rd(b + 56, 8), end = at + (size_t)rd(b + 64, 8);
  while (at + 8 <= end) {
    if (b[at] == op && skip-- == 0) return at + 8;
    at += 8 + (size_t)rd(b + at + 4, 4);
  }
  return 0;
}

/* The offset of tensor `name`'s packed flag in the tensor table, or 0. */
static size_t find_packed_flag(const uint8_t *b, const char *name) {
  size_t at = (size_t)rd(b + 40, 8);
  uint32_t n = (uint32_t)rd(b + at, 4);
  at += 4;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t len = (uint32_t)rd(b + at, 4);
    bool hit = len == strlen(name) && memcmp(b + at + 4, name, len) == 0;
    at += 4 + len;
    if (hit) return at + 3;
    at += 4 + 8 * (size_t)b[at + 2] + 16;
  }
  return 0;
}

/* Loads b and returns a copy of weight `name`'s dense data (NULL if refused). */
static float *loaded_weight(const uint8_t *b, size_t n, const char *name, int64_t *numel) {
  Diag d;
  diag_init(&d, stderr, "stream");
  RtProgram *p = NULL;
  if (rt_load(b, n, NULL, &p, &d) != RC_OK) return NULL;
  const RtTensor *t = rt_tensor(p, rt_find_tensor(p, name));
  float *out = t ? xmalloc(sizeof(float) * (size_t)t->numel) : NULL;
  if (out) memcpy(out, t->data, sizeof(float) * (size_t)t->numel), *numel = t->numel;
  rt_destroy(p);
  return out;
}

/* Packed weights: both mac layers' weights are packed; the loader rebuilds
 * them bit for bit; the runtime reads the packed cells (two swapped words
 * show up as two changed weights); each inconsistency is refused. */
static void test_packed(void) {
  size_t conv = find_record(good, CMD_WPACK, 0), fc = find_record(good, CMD_WPACK, 1);
  CHECK(conv && fc);
  CHECK_EQ(find_record(good, CMD_WPACK, 2), 0);
  static const char *const names[2] = {"w", "g"};
  static const float scale[2] = {0.1f, 0.05f};
  for (int k = 0; k < 2; k++) {
    CHECK(find_packed_flag(good, names[k]) && good[find_packed_flag(good, names[k])] == 1);
    int64_t numel = 0;
    float *wt = loaded_weight(good, good_len, names[k], &numel);
    CHECK(wt != NULL);
    for (int64_t i = 0; wt && i < numel; i++) CHECK_EQ(wt[i], scale[k] * (float)((i * 7) % 11 - 5));
    xfree(wt);
  }
  uint8_t *b = xmalloc(good_len);
  size_t wsec = (size_t)(rd(good + 56, 8) + rd(good + 64, 8));
  /* Swap the first two different words of the fc's cells. */
  memcpy(b, good, good_len);
  size_t blob = wsec + (size_t)rd(good + fc + 8, 8);
  size_t j = 4;
  while (memcmp(b + blob, b + blob + j, 4) == 0) j += 4;
  uint8_t tmp[4];
  memcpy(tmp, b + blob, 4), memcpy(b + blob, b + blob + j, 4), memcpy(b + blob + j, tmp, 4);
  int64_t numel = 0;
  float *wt = loaded_weight(b, good_len, "g", &numel);
  int changed = 0;
  for (int64_t i = 0; wt && i < numel; i++) changed += wt[i] != 0.05f * (float)((i * 7) % 11 - 5);
  CHECK_EQ(changed, 2);
  xfree(wt);
  /* The cells' length, their order, their level, the tensor, the flag. */
  memcpy(b, good, good_len);
  put64(b + fc + 16, rd(good + fc + 16, 8) + 4);
  expect_refused("cells length", b, good_len, NULL, "bytes of weight cells");
  memcpy(b, good, good_len);
  b[fc + 24] = (uint8_t)((b[fc + 24] + 1) % 8);
  expect_refused("cell order", b, good_len, NULL, "order of the loops");
  memcpy(b, good, good_len);
  b[fc] ^= 1;
  expect_refused("cell level", b, good_len, NULL, "fetched at level");
  memcpy(b, good, good_len);
  b[fc + 4] = b[conv + 4];
  expect_refused("cell tensor", b, good_len, NULL, "packs tensor");
  memcpy(b, good, good_len);
  b[find_packed_flag(b, "g")] = 0;
  expect_refused("unpacked flag", b, good_len, NULL, "bytes of data");
  xfree(b);
}

static uint64_t rng_state = 88172645463325252ull;
/* The whole module as one layer-by-layer fused group at eyeriss's glb:
 * the conv's output (read by the relu) and the fc's input (written by the
 * flatten) live on chip (CMD_RESIDE records, one per layer of the group). */
static void edit_fuse(Module *m) {
  Diag d;
  diag_init(&d, stderr, "small");
  SchedModel *sm = NULL;
  Schedule *s = xcalloc(1, sizeof *s);
  if (!s || sched_model_create(m, &eyeriss, &sm, &d) != RC_OK) return;
  s->ngroups = 1;
  s->group[0] = (SchedGroup){.first = 0, .last = m->nnests - 1, .mode = SCHED_LAYER, .home = 1};
  if (sched_group_check(sm, &s->group[0], NULL, &d) == RC_OK) sched_attach(sm, s, m, &d);
  sched_model_destroy(sm);
  xfree(s);
}

/* Fused groups in the stream: the fused stream computes what the plain one
 * does; its residency records are checked before anything runs. */
static void test_fused(void) {
  uint8_t *s = NULL;
  size_t n = 0;
  CHECK_EQ(compile(edit_fuse, &s, &n, NULL), RC_OK);
  int nres = 0;
  while (find_record(s, CMD_RESIDE, nres)) nres++;
  size_t conv = find_record(s, CMD_RESIDE, 0), relu = find_record(s, CMD_RESIDE, 1),
         fc = nres ? find_record(s, CMD_RESIDE, nres - 1) : 0;
  CHECK(conv != 0 && fc != 0 && relu != 0);
  CHECK_EQ(nres, 5); /* every layer of the group */
  CHECK_EQ(find_record(good, CMD_RESIDE, 0), 0);
  if (!conv || !fc) {
    xfree(s);
    return;
  }
  CHECK_EQ(s[conv], 1); /* home: glb */
  CHECK_EQ(s[conv + 1], CMD_RES_O);
  CHECK_EQ(s[fc + 1], CMD_RES_I);
  float a[5], b[5];
  CHECK_EQ(load_run(good, good_len, NULL, false, a, NULL, 0), RC_OK);
  CHECK_EQ(load_run(s, n, NULL, false, b, NULL, 0), RC_OK);
  for (int j = 0; j < 5; j++) CHECK_NEAR(b[j], a[j], 0);
  uint8_t *t = xmalloc(n);
  memcpy(t, s, n);
  t[conv + 1] = CMD_RES_COPY_OUT; /* a copy-out of an output that does not live at home */
  expect_refused("reside flags", t, n, NULL, "residency flags");
  memcpy(t, s, n);
  t[relu + 1] = CMD_RES_I; /* a vector layer's tensors do not move home */
  expect_refused("reside vector", t, n, NULL, "not a mac layer");
  memcpy(t, s, n);
  t[fc + 4] = 7;   /* the fc in another group, after the group's other layers */
  t[relu + 4] = 9; /* and the relu in a later one: numbers go up */
  expect_refused("reside group", t, n, NULL, "fused group");
  memcpy(t, s, n);
  t[conv] = 0; /* DRAM */
  expect_refused("reside dram", t, n, NULL, "not an on-chip level of one instance");
  memcpy(t, s, n);
  t[conv] = 3; /* a PE's scratchpad: many instances */
  expect_refused("reside pe", t, n, NULL, "not an on-chip level of one instance");
  memcpy(t, s, n);
  t[conv] = 200;
  expect_refused("reside level", t, n, NULL, "not an on-chip level of one instance");
  /* a residency record where a loop record belongs (after the loops) */
  size_t loop = find_record(s, CMD_LOOP, 1);
  memcpy(t, s, n);
  t[loop - 8] = CMD_RESIDE;
  expect_refused("reside misplaced", t, n, NULL, "not right after");
  xfree(t);
  xfree(s);
}

static uint64_t rnd(void) {
  rng_state ^= rng_state << 13, rng_state ^= rng_state >> 7, rng_state ^= rng_state << 17;
  return rng_state;
}

static long iterations = 3000;

static void test_fuzz(void) {
  uint8_t *b = xmalloc(good_len);
  size_t front = good_len - (size_t)wlen; /* everything but the weights */
  static const uint64_t vals[] = {
      0, 1, 2, 0xFFFFFFFFFFFFFFFFull, 0x7FFFFFFFFFFFFFFFull, 1ull << 31, 1ull << 32, 255, 64};
  long refused = 0, ran = 0, run_refused = 0;
  for (long it = 0; it < iterations; it++) {
    memcpy(b, good, good_len);
    size_t n = good_len;
    int kind = (int)(rnd() % 10);
    int muts = 1 + (int)(rnd() % 4);
    for (int k = 0; k < muts; k++) {
      size_t at = (rnd() % 8) ? rnd() % front : rnd() % good_len;
      if (kind < 6) {
        b[at] ^= (uint8_t)(1u << (rnd() % 8));
      } else if (kind < 9 && at + 8 <= good_len) {
        put64(b + at, vals[rnd() % (sizeof vals / sizeof vals[0])]);
      }
    }
    if (kind == 9) n = rnd() % good_len;
    Rc rc = load_run(b, n, NULL, false, NULL, NULL, 0);
    if (rc == RC_OK)
      ran++;
    else if (rc == RC_BADINPUT)
      refused++;
    else
      run_refused++;
  }
  printf("fuzz: %ld variants: %ld refused, %ld loaded and ran, %ld other (must be 0)\n", iterations,
         refused, ran, run_refused);
  CHECK_EQ(run_refused, 0);
  CHECK(refused > 0 && ran > 0);
  xfree(b);
}

int main(int argc, char **argv) {
  if (argc > 1) iterations = atol(argv[1]);
  if (argc > 2) rng_state = strtoull(argv[2], NULL, 10) | 1;
  Diag d;
  diag_init(&d, stderr, "test_stream");
  if (arch_preset_load("eyeriss", &eyeriss, &d) || arch_preset_load("nvdla-256", &nvdla, &d))
    return 1;
  CmdStats st;
  if (compile(NULL, &good, &good_len, &st) != RC_OK) return 1;
  wlen = st.weight_bytes;
  printf("small model: stream %zu bytes (commands %zu, weights %zu), %d layers\n", st.bytes,
         st.cmd_bytes, st.weight_bytes, st.layers);
  RUN(test_good);
  RUN(test_bad);
  RUN(test_packed);
  RUN(test_fused);
  RUN(test_fuzz);
  xfree(good);
  TEST_END();
}
