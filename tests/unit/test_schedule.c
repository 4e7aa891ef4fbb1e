/*
 * test_schedule.c: whole-network schedules counted by hand
 * (backend/schedule.c, docs/cost-model.md "Whole-network schedules").
 *
 * The target is a two-level toy, so every count can be derived on paper:
 *   DRAM: read 100 pJ, fill 100, update 150 per word, unlimited bandwidth;
 *   GLB:  10000 words, keeps W I O, read 1, fill 2, update 3, unlimited;
 *   one MAC of 1 pJ under the GLB (no fan-out).
 * Every mapping puts all its loops at the GLB, so for a layer (or a tile)
 * of M MACs with tensors of |W|, |I| (padded input) and |O| words the cost
 * model counts (docs/cost-model.md, sections 3-5):
 *   DRAM: W reads |W|, I reads |I|, O updates |O|, O reads 0
 *   GLB:  W fills |W|, W reads M; I fills |I|, I reads M;
 *         O updates M, O reads M - |O|, O fills 0
 * and cycles = M (one MAC, no bandwidth limit).  A schedule then removes
 * what stays on chip and adds its copies (schedule.c, steps 2-4); each test
 * derives its figures from these rules step by step, and asserts them.
 */
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "search/search.h"
#include "tests/unit/test.h"

static const char toy_arch[] = "name: toy2\n"
                               "levels:\n"
                               "  - name: DRAM\n"
                               "    dram: true\n"
                               "    energy_pj: {read: 100, fill: 100, update: 150}\n"
                               "  - name: GLB\n"
                               "    capacity_words: 10000\n"
                               "    energy_pj: {read: 1, fill: 2, update: 3}\n"
                               "mac: {energy_pj: 1}\n";

/* x[1,1,6,6] -> a (conv 3x3, 1 -> 2 channels) -> y[1,2,4,4] -> b (conv 3x3,
 * 2 -> 1 channel) -> z[1,1,2,2].  |W_a| = 18, |y| = 32, M_a = 2*4*4*9 = 288;
 * |W_b| = 18, |z| = 4, M_b = 2*2*2*9 = 72. */
static const char chain_nir[] =
    "module \"chain\"\n"
    "\n"
    "tensor %x : f32[1,1,6,6] input\n"
    "tensor %w1 : f32[2,1,3,3] weight\n"
    "tensor %y : f32[1,2,4,4] value\n"
    "tensor %w2 : f32[1,2,3,3] weight\n"
    "tensor %z : f32[1,1,2,2] output\n"
    "\n"
    "nest @a mac loc \"\" {\n"
    "  dims N=1, G=1, K=2, C=1 reduce, P=4, Q=4, R=3 reduce, S=3 reduce\n"
    "  I = read %x[N, G+C, P+R, Q+S]\n"
    "  W = read %w1[G*2+K, C, R, S]\n"
    "  O = update %y[N, G*2+K, P, Q]\n"
    "  map \"toy2\" {\n"
    "    level DRAM keep(W,I,O)\n"
    "    level GLB keep(W,I,O)\n"
    "      for K in 2\n"
    "      for P in 4\n"
    "      for Q in 4\n"
    "      for R in 3\n"
    "      for S in 3\n"
    "  }\n"
    "}\n"
    "\n"
    "nest @b mac loc \"\" {\n"
    "  dims N=1, G=1, K=1, C=2 reduce, P=2, Q=2, R=3 reduce, S=3 reduce\n"
    "  I = read %y[N, G*2+C, P+R, Q+S]\n"
    "  W = read %w2[G+K, C, R, S]\n"
    "  O = update %z[N, G+K, P, Q]\n"
    "  map \"toy2\" {\n"
    "    level DRAM keep(W,I,O)\n"
    "    level GLB keep(W,I,O)\n"
    "      for C in 2\n"
    "      for P in 2\n"
    "      for Q in 2\n"
    "      for R in 3\n"
    "      for S in 3\n"
    "  }\n"
    "}\n";

/* A residual block: x[1,1,4,4] -> c1 (conv 3x3 pad 1) -> y -> c2 (conv 3x3
 * pad 1) -> z; add(z, x) -> s, the graph output.  Each conv: |W| = 9,
 * padded |I| = 6*6 = 36, |O| = 16, M = 16*9 = 144. */
static const char residual_nir[] =
    "module \"residual\"\n"
    "\n"
    "tensor %x : f32[1,1,4,4] input\n"
    "tensor %w1 : f32[1,1,3,3] weight\n"
    "tensor %y : f32[1,1,4,4] value\n"
    "tensor %w2 : f32[1,1,3,3] weight\n"
    "tensor %z : f32[1,1,4,4] value\n"
    "tensor %s : f32[1,1,4,4] output\n"
    "\n"
    "nest @c1 mac loc \"\" {\n"
    "  dims N=1, G=1, K=1, C=1 reduce, P=4, Q=4, R=3 reduce, S=3 reduce\n"
    "  I = read %x[N, G+C, P+R-1, Q+S-1] pad(0:0,0:0,1:1,1:1)\n"
    "  W = read %w1[G+K, C, R, S]\n"
    "  O = update %y[N, G+K, P, Q]\n"
    "  map \"toy2\" {\n"
    "    level DRAM keep(W,I,O)\n"
    "    level GLB keep(W,I,O)\n"
    "      for P in 4\n"
    "      for Q in 4\n"
    "      for R in 3\n"
    "      for S in 3\n"
    "  }\n"
    "}\n"
    "\n"
    "nest @c2 mac loc \"\" {\n"
    "  dims N=1, G=1, K=1, C=1 reduce, P=4, Q=4, R=3 reduce, S=3 reduce\n"
    "  I = read %y[N, G+C, P+R-1, Q+S-1] pad(0:0,0:0,1:1,1:1)\n"
    "  W = read %w2[G+K, C, R, S]\n"
    "  O = update %z[N, G+K, P, Q]\n"
    "  map \"toy2\" {\n"
    "    level DRAM keep(W,I,O)\n"
    "    level GLB keep(W,I,O)\n"
    "      for P in 4\n"
    "      for Q in 4\n"
    "      for R in 3\n"
    "      for S in 3\n"
    "  }\n"
    "}\n"
    "\n"
    "nest @add vec(add) loc \"\" {\n"
    "  dims d0=1, d1=1, d2=4, d3=4\n"
    "  X = read %z[d0, d1, d2, d3]\n"
    "  Y = read %x[d0, d1, d2, d3]\n"
    "  O = write %s[d0, d1, d2, d3]\n"
    "}\n";

typedef struct {
  Arch arch;
  Module *mod;
  SchedModel *sm;
  CostResult per[8];
  SchedTotals tot;
} Fixture;

static bool setup(Fixture *f, const char *nir) {
  Diag d;
  diag_init(&d, stderr, "test_schedule");
  memset(f, 0, sizeof *f);
  if (arch_load_text(toy_arch, sizeof toy_arch - 1, "toy2", &f->arch, &d) != RC_OK) return false;
  if (module_parse(nir, strlen(nir), &f->mod, &d) != RC_OK) return false;
  if (module_verify(f->mod, &d) != RC_OK) return false;
  return sched_model_create(f->mod, &f->arch, &f->sm, &d) == RC_OK;
}

static void teardown(Fixture *f) {
  sched_model_destroy(f->sm);
  module_destroy(f->mod);
}

static Rc eval1(Fixture *f, const SchedGroup *g) {
  Schedule *s = calloc(1, sizeof *s);
  Diag d;
  diag_init(&d, stderr, "test_schedule");
  if (g) s->group[s->ngroups++] = *g;
  Rc rc = schedule_eval(f->sm, s, f->per, &f->tot, &d);
  free(s);
  return rc;
}

#define CHECK_ACC(r, l, t, rd, fl, up)              \
  do {                                              \
    CHECK_EQ((r)->level[l].total[t].reads, (rd));   \
    CHECK_EQ((r)->level[l].total[t].fills, (fl));   \
    CHECK_EQ((r)->level[l].total[t].updates, (up)); \
  } while (0)

enum { DRAM = 0, GLB = 1, W = TENSOR_W, I = TENSOR_I, O = TENSOR_O };

/* Energy from the counts: DRAM 100 per read or fill, 150 per update; GLB
 * 1, 2, 3; 1 per MAC.  Integer-valued, so exact in double. */
static double energy_of(const CostResult *r) {
  double e = (double)r->macs;
  for (int t = 0; t < NTENSORS; t++) {
    const AccessCounts *a = &r->level[DRAM].total[t], *b = &r->level[GLB].total[t];
    e += 100.0 * (double)(a->reads + a->fills) + 150.0 * (double)a->updates;
    e += 1.0 * (double)b->reads + 2.0 * (double)b->fills + 3.0 * (double)b->updates;
  }
  return e;
}

/* Layer by layer (no group): cost_eval's counts, by the rules above.
 *   a: DRAM W 18, I 36, O upd 32; GLB W 18/288, I 36/288, O upd 288 rd 256.
 *   b: DRAM W 18, I 32, O upd 4;  GLB W 18/72,  I 32/72,  O upd 72 rd 68. */
static void test_chain_layer_by_layer(void) {
  Fixture f;
  CHECK(setup(&f, chain_nir));
  CHECK_EQ(eval1(&f, NULL), RC_OK);
  const CostResult *a = &f.per[0], *b = &f.per[1];
  CHECK_ACC(a, DRAM, W, 18, 0, 0);
  CHECK_ACC(a, DRAM, I, 36, 0, 0);
  CHECK_ACC(a, DRAM, O, 0, 0, 32);
  CHECK_ACC(a, GLB, W, 288, 18, 0);
  CHECK_ACC(a, GLB, I, 288, 36, 0);
  CHECK_ACC(a, GLB, O, 256, 0, 288);
  CHECK_ACC(b, DRAM, W, 18, 0, 0);
  CHECK_ACC(b, DRAM, I, 32, 0, 0);
  CHECK_ACC(b, DRAM, O, 0, 0, 4);
  CHECK_ACC(b, GLB, I, 72, 32, 0);
  CHECK_ACC(b, GLB, O, 68, 0, 72);
  CHECK_EQ(f.tot.dram_words, 18 + 36 + 32 + 18 + 32 + 4);
  CHECK_EQ(f.tot.cycles, 288 + 72);
  /* a: MACs 288 + DRAM 100*(18+36) + 150*32 + GLB reads 288+288+256, fills
   * 2*(18+36), updates 3*288 = 288 + 5400 + 4800 + 832 + 108 + 864 = 12292 */
  CHECK_NEAR(a->energy_pj, 12292.0, 1e-9);
  CHECK_NEAR(a->energy_pj, energy_of(a), 1e-9);
  CHECK_NEAR(b->energy_pj, energy_of(b), 1e-9);
  teardown(&f);
}

/* Layer by layer with y resident in the GLB: a's O and b's I lose their
 * DRAM accesses and their GLB fills (fills of O are 0 anyway):
 *   a: DRAM W 18, I 36, O 0;  GLB as alone.
 *   b: DRAM W 18, I 0, O 4;   GLB I fills 0, reads 72.
 * z is the graph output: b writes it to DRAM as alone.  DRAM words 76. */
static void test_chain_layer_resident(void) {
  Fixture f;
  CHECK(setup(&f, chain_nir));
  SchedGroup g = {0, 1, SCHED_LAYER, 0, GLB, 0, {0, 0}};
  CHECK_EQ(eval1(&f, &g), RC_OK);
  const CostResult *a = &f.per[0], *b = &f.per[1];
  CHECK_ACC(a, DRAM, I, 36, 0, 0);
  CHECK_ACC(a, DRAM, O, 0, 0, 0);
  CHECK_ACC(a, GLB, O, 256, 0, 288);
  CHECK_ACC(b, DRAM, I, 0, 0, 0);
  CHECK_ACC(b, GLB, I, 72, 0, 0);
  CHECK_ACC(b, DRAM, O, 0, 0, 4);
  CHECK_EQ(f.tot.dram_words, 76);
  CHECK_EQ(f.tot.cycles, 360);
  /* a: 12292 alone, less its 32 DRAM updates: 12292 - 150*32 = 7492 */
  CHECK_NEAR(a->energy_pj, 7492.0, 1e-9);
  CHECK_NEAR(b->energy_pj, energy_of(b), 1e-9);
  teardown(&f);
}

/* Depth-first, tiles of 1x1 of z (2 x 2 tiles, row-major).  b's tile (i, j)
 * reads y rows [i, i+3) and columns [j, j+3); a computes them from x rows
 * [i, i+5), columns [j, j+5).  Per tile of b: P=Q=1, M 18, |I| 18, |O| 1;
 * of a (need 3x3): M 2*3*3*9 = 162, |I| 5*5 = 25, |O| 18.
 * Every tile fetches its weights from DRAM (18 each, 4 tiles: 72); I and O
 * of both layers live in the GLB (no DRAM, no GLB fills); x is copied in,
 * z (the graph output) copied out one word per tile (GLB read, DRAM update).
 *
 * Fully recompute: every tile computes all it needs.
 *   a x4: DRAM W 72, I 4*25 = 100;  GLB W 72/4*162 = 648, I fills 100 reads
 *         648, O upd 648 reads 4*(162-18) = 576.
 *   b x4: DRAM W 72, O upd 4;  GLB W 72/72, I 0/72, O upd 72, reads
 *         4*(18-1) + 4 (copy-out) = 72. */
static void test_chain_depth_recompute(void) {
  Fixture f;
  CHECK(setup(&f, chain_nir));
  SchedGroup g = {0, 1, SCHED_DEPTH, OVERLAP_RECOMPUTE, GLB, 0, {1, 1}};
  CHECK_EQ(eval1(&f, &g), RC_OK);
  const CostResult *a = &f.per[0], *b = &f.per[1];
  CHECK_ACC(a, DRAM, W, 72, 0, 0);
  CHECK_ACC(a, DRAM, I, 100, 0, 0);
  CHECK_ACC(a, DRAM, O, 0, 0, 0);
  CHECK_ACC(a, GLB, W, 648, 72, 0);
  CHECK_ACC(a, GLB, I, 648, 100, 0);
  CHECK_ACC(a, GLB, O, 576, 0, 648);
  CHECK_EQ(a->macs, 648);
  CHECK_ACC(b, DRAM, W, 72, 0, 0);
  CHECK_ACC(b, DRAM, I, 0, 0, 0);
  CHECK_ACC(b, DRAM, O, 0, 0, 4);
  CHECK_ACC(b, GLB, W, 72, 72, 0);
  CHECK_ACC(b, GLB, I, 72, 0, 0);
  CHECK_ACC(b, GLB, O, 72, 0, 72);
  CHECK_EQ(f.tot.dram_words, 72 + 100 + 72 + 4);
  CHECK_EQ(f.tot.cycles, 648 + 72);
  CHECK_NEAR(a->energy_pj, energy_of(a), 1e-9);
  CHECK_NEAR(b->energy_pj, energy_of(b), 1e-9);
  teardown(&f);
}

/* Cache horizontally, recompute vertically: columns a tile shares with its
 * left neighbour are kept.  y columns needed [0,3) then [1,4): new [0,3),
 * [3,4); x columns [0,5), [1,6): new [0,5), [5,6).  Rows are recomputed.
 *   a tiles (i,0): 3x3, M 162, |I| 25, |O| 18, x copied 5*5 = 25;
 *       tiles (i,1): 3x1, M 2*3*1*9 = 54, |I| 5*3 = 15, |O| 6, x copied 5*1 = 5.
 *   a x(2+2): DRAM W 72, I 2*(25+5) = 60; GLB W 72/2*(162+54) = 432, I fills
 *         60 reads 432, O upd 432 reads 2*(144+48) = 384.
 *   b: as fully recompute (its tiles do not overlap). */
static void test_chain_depth_cache_h(void) {
  Fixture f;
  CHECK(setup(&f, chain_nir));
  SchedGroup g = {0, 1, SCHED_DEPTH, OVERLAP_CACHE_H, GLB, 0, {1, 1}};
  CHECK_EQ(eval1(&f, &g), RC_OK);
  const CostResult *a = &f.per[0], *b = &f.per[1];
  CHECK_ACC(a, DRAM, W, 72, 0, 0);
  CHECK_ACC(a, DRAM, I, 60, 0, 0);
  CHECK_ACC(a, GLB, W, 432, 72, 0);
  CHECK_ACC(a, GLB, I, 432, 60, 0);
  CHECK_ACC(a, GLB, O, 384, 0, 432);
  CHECK_EQ(a->macs, 432);
  CHECK_ACC(b, DRAM, O, 0, 0, 4);
  CHECK_ACC(b, GLB, O, 72, 0, 72);
  CHECK_EQ(f.tot.dram_words, 72 + 60 + 72 + 4);
  CHECK_EQ(f.tot.cycles, 432 + 72);
  CHECK_NEAR(a->energy_pj, energy_of(a), 1e-9);
  teardown(&f);
}

/* Fully cached: rows too.  y rows new [0,3), [3,4); x rows new [0,5), [5,6).
 *   a tiles: (0,0) 3x3: M 162, |I| 25, |O| 18, x 25;  (0,1) 3x1: M 54, |I| 15,
 *   |O| 6, x 5;  (1,0) 1x3: M 54, |I| 3*5 = 15, |O| 6, x 5;  (1,1) 1x1: M 18,
 *   |I| 9, |O| 2, x 1.  Every y computed once: M 288, O 32; x copied once: 36.
 *   a: DRAM W 72, I 36; GLB W 72/288, I 36/288, O upd 288 reads 288-32 = 256.
 *   b: as before.  DRAM words 72 + 36 + 72 + 4 = 184. */
static void test_chain_depth_cache_all(void) {
  Fixture f;
  CHECK(setup(&f, chain_nir));
  SchedGroup g = {0, 1, SCHED_DEPTH, OVERLAP_CACHE_ALL, GLB, 0, {1, 1}};
  CHECK_EQ(eval1(&f, &g), RC_OK);
  const CostResult *a = &f.per[0], *b = &f.per[1];
  CHECK_ACC(a, DRAM, W, 72, 0, 0);
  CHECK_ACC(a, DRAM, I, 36, 0, 0);
  CHECK_ACC(a, GLB, W, 288, 72, 0);
  CHECK_ACC(a, GLB, I, 288, 36, 0);
  CHECK_ACC(a, GLB, O, 256, 0, 288);
  CHECK_EQ(a->macs, 288);
  CHECK_ACC(b, DRAM, W, 72, 0, 0);
  CHECK_ACC(b, DRAM, O, 0, 0, 4);
  CHECK_ACC(b, GLB, I, 72, 0, 0);
  CHECK_EQ(f.tot.dram_words, 184);
  CHECK_EQ(f.tot.cycles, 288 + 72);
  /* a: 288 + 100*(72+36) + (288+2*72) + (288+2*36) + (256+3*288) = 13000 */
  CHECK_NEAR(a->energy_pj, 13000.0, 1e-9);
  CHECK_NEAR(b->energy_pj, energy_of(b), 1e-9);
  teardown(&f);
}

/* Weights kept in the GLB across tiles (fully cached as above): a and b
 * copy their 18 weights in once (DRAM read, GLB fill) on their first tile;
 * the tiles' own W traffic at DRAM and their W fills vanish.
 *   a: DRAM W 18; GLB W fills 18, reads 288.  b: DRAM W 18; GLB W 18/72. */
static void test_chain_depth_weights_home(void) {
  Fixture f;
  CHECK(setup(&f, chain_nir));
  SchedGroup g = {0, 1, SCHED_DEPTH, OVERLAP_CACHE_ALL, GLB, 1, {1, 1}};
  CHECK_EQ(eval1(&f, &g), RC_OK);
  CHECK_ACC(&f.per[0], DRAM, W, 18, 0, 0);
  CHECK_ACC(&f.per[0], GLB, W, 288, 18, 0);
  CHECK_ACC(&f.per[1], DRAM, W, 18, 0, 0);
  CHECK_ACC(&f.per[1], GLB, W, 72, 18, 0);
  CHECK_EQ(f.tot.dram_words, 18 + 36 + 18 + 4);
  teardown(&f);
}

/* The residual block, layer by layer with y and z resident.  z is read by
 * the add, whose output s leaves the group (the graph output), so c2's
 * output still goes to DRAM: copied out whole (GLB reads 16, DRAM updates
 * 16).  x is a group input: c1 reads it as alone; the add's reads of x and
 * z are not costed (a vector nest), as layer by layer.
 *   c1: DRAM W 9, I 36, O 0;  GLB W 9/144, I 36/144, O upd 144 reads 128.
 *   c2: DRAM W 9, I 0, O upd 16;  GLB I 0/144, O upd 144 reads 128 + 16. */
static void test_residual_layer(void) {
  Fixture f;
  CHECK(setup(&f, residual_nir));
  CHECK_EQ(eval1(&f, NULL), RC_OK);
  CHECK_EQ(f.tot.dram_words, 2 * (9 + 36 + 16));
  SchedGroup g = {0, 2, SCHED_LAYER, 0, GLB, 0, {0, 0}};
  CHECK_EQ(eval1(&f, &g), RC_OK);
  const CostResult *c1 = &f.per[0], *c2 = &f.per[1];
  CHECK_ACC(c1, DRAM, W, 9, 0, 0);
  CHECK_ACC(c1, DRAM, I, 36, 0, 0);
  CHECK_ACC(c1, DRAM, O, 0, 0, 0);
  CHECK_ACC(c1, GLB, I, 144, 36, 0);
  CHECK_ACC(c1, GLB, O, 128, 0, 144);
  CHECK_ACC(c2, DRAM, I, 0, 0, 0);
  CHECK_ACC(c2, DRAM, O, 0, 0, 16);
  CHECK_ACC(c2, GLB, I, 144, 0, 0);
  CHECK_ACC(c2, GLB, O, 144, 0, 144);
  CHECK_EQ(f.tot.dram_words, 9 + 36 + 9 + 16);
  CHECK_NEAR(c2->energy_pj, energy_of(c2), 1e-9);
  /* The add alone in no group: a group of c1 and c2 only keeps y; z goes
   * out as alone (no consumer in the group). */
  SchedGroup g2 = {0, 1, SCHED_LAYER, 0, GLB, 0, {0, 0}};
  CHECK_EQ(eval1(&f, &g2), RC_OK);
  CHECK_ACC(&f.per[1], DRAM, O, 0, 0, 16);
  CHECK_ACC(&f.per[1], GLB, O, 128, 0, 144);
  teardown(&f);
}

/* The residual block depth-first, tiles of 2x2 of s (2 x 2 tiles), fully
 * cached.  Back from the add: z rows [0,2), [2,4) (and columns alike); c2
 * (3x3, pad 1) needs y rows [0,3), [1,4); c1 needs x rows [0,4) for both
 * (clipped), and so does the add's read of x (hull).
 *   c2 per tile: 2x2, M 36, |I| 4*4 = 16, |O| 4; z new 2x2 copied out
 *     (z leaves through the add): 4 tiles: GLB O reads 4*(36-4) + 16 = 144,
 *     DRAM O upd 16.
 *   c1 tiles (y new rows 3,1 x columns 3,1): M 81, 27, 27, 9 = 144; |O| 9, 3,
 *     3, 1 = 16; x new: [0,4) then nothing: copied in 16 on the first tile.
 *     DRAM W 4*9 = 36, I 16; GLB W 36/144, I 16/144, O upd 144 reads 128.
 *   DRAM words: c1 36 + 16, c2 36 + 16 = 104. */
static void test_residual_depth(void) {
  Fixture f;
  CHECK(setup(&f, residual_nir));
  SchedGroup g = {0, 2, SCHED_DEPTH, OVERLAP_CACHE_ALL, GLB, 0, {2, 2}};
  CHECK_EQ(eval1(&f, &g), RC_OK);
  const CostResult *c1 = &f.per[0], *c2 = &f.per[1];
  CHECK_ACC(c1, DRAM, W, 36, 0, 0);
  CHECK_ACC(c1, DRAM, I, 16, 0, 0);
  CHECK_ACC(c1, DRAM, O, 0, 0, 0);
  CHECK_ACC(c1, GLB, W, 144, 36, 0);
  CHECK_ACC(c1, GLB, I, 144, 16, 0);
  CHECK_ACC(c1, GLB, O, 128, 0, 144);
  CHECK_EQ(c1->macs, 144);
  CHECK_ACC(c2, DRAM, W, 36, 0, 0);
  CHECK_ACC(c2, DRAM, I, 0, 0, 0);
  CHECK_ACC(c2, DRAM, O, 0, 0, 16);
  CHECK_ACC(c2, GLB, I, 144, 0, 0);
  CHECK_ACC(c2, GLB, O, 144, 0, 144);
  CHECK_EQ(c2->macs, 144);
  CHECK_EQ(f.tot.dram_words, 104);
  CHECK_EQ(f.tot.cycles, 288);
  CHECK_NEAR(c1->energy_pj, energy_of(c1), 1e-9);
  CHECK_NEAR(c2->energy_pj, energy_of(c2), 1e-9);
  teardown(&f);
}

/* Groups that cannot run are refused, saying why.  With a GLB of 86 words
 * layer a alone just fits (W 18 + I 36 + O 32).  Depth-first, home holds per
 * tensor its region while live in the tile (rows x columns of the largest
 * tile) and, at all times, what the policy keeps (schedule.c, Live):
 *   tiles 1x1, recompute: during a, x 5*5 + y 2*3*3 = 43, with a's W tile
 *     18: 61 words; during b, y 18 + z 1 + W 18 = 37: fits.
 *   tiles 1x1, fully cached: x keeps 5 rows x 4 shared columns (20) and 4
 *     shared rows at full width 6 (24); y keeps 2*3*2 = 12 and 2*2*4 = 16:
 *     72 words always; during a add x's region beyond it, 25 - 20 = 5, and
 *     y's, 18 - 12 = 6, and a's W tile 18: 101 > 86: refused. */
static void test_refusals(void) {
  Fixture f;
  CHECK(setup(&f, chain_nir));
  char *buf = NULL;
  size_t len = 0;
  Diag d;
  diag_init(&d, open_memstream(&buf, &len), "t");
  f.arch.level[GLB].capacity_words = 86;
  SchedModel *sm = NULL;
  CHECK_EQ(sched_model_create(f.mod, &f.arch, &sm, &d), RC_OK);
  SchedGroup g = {0, 1, SCHED_LAYER, 0, GLB, 0, {0, 0}};
  CHECK_EQ(sched_group_check(sm, &g, "here", &d), RC_OK);
  SchedGroup g0 = {0, 1, SCHED_DEPTH, OVERLAP_RECOMPUTE, GLB, 0, {1, 1}};
  CHECK_EQ(sched_group_check(sm, &g0, "here", &d), RC_OK);
  SchedGroup g1 = {0, 1, SCHED_DEPTH, OVERLAP_CACHE_ALL, GLB, 0, {1, 1}};
  CHECK_EQ(sched_group_check(sm, &g1, "here", &d), RC_BADINPUT);
  SchedGroup g2 = {0, 1, SCHED_DEPTH, OVERLAP_RECOMPUTE, GLB, 0, {3, 1}};
  CHECK_EQ(sched_group_check(sm, &g2, "here", &d), RC_BADINPUT);
  SchedGroup g3 = {0, 1, SCHED_LAYER, 0, DRAM, 0, {0, 0}};
  CHECK_EQ(sched_group_check(sm, &g3, "here", &d), RC_BADINPUT);
  fclose(d.out);
  CHECK_STR_HAS(
      buf,
      "t: here: group 'a'..'b': error: its activations do not fit level 'GLB' (86 words) with tiles of 1x1");
  CHECK_STR_HAS(buf, "its tile is not within the last nest's output");
  CHECK_STR_HAS(buf, "level 'DRAM' of 'toy2' cannot hold a group's activations");
  free(buf);
  sched_model_destroy(sm);
  teardown(&f);
}

/* The mapping of a tile: factors cut innermost first. */
static void test_shrink(void) {
  Mapping m;
  memset(&m, 0, sizeof m);
  m.nlevels = 3;
  for (int l = 0; l < 3; l++) level_mapping_init(&m.level[l], ACCEL_ALL_TENSORS);
  /* P = 112 = DRAM 8 x spatial(x, level 1) 14; Q = 112 = 2 x 4 x 14 */
  m.level[0].factor[DIM_P] = 8;
  m.level[1].spatial[AXIS_X][DIM_P] = 14;
  m.level[0].factor[DIM_Q] = 2;
  m.level[1].factor[DIM_Q] = 4;
  m.level[2].factor[DIM_Q] = 14;
  Mapping t;
  mapping_shrink_tile(&m, 112, 112, &t);
  CHECK(memcmp(&m, &t, sizeof m) == 0);
  mapping_shrink_tile(&m, 16, 10, &t);
  /* P 16: spatial 14 -> 8 (largest divisor of 16 up to 14), DRAM 2. */
  CHECK_EQ(t.level[1].spatial[AXIS_X][DIM_P], 8);
  CHECK_EQ(t.level[0].factor[DIM_P], 2);
  /* Q 10: level 2's 14 -> 10, level 1's 4 -> 1, DRAM 1. */
  CHECK_EQ(t.level[2].factor[DIM_Q], 10);
  CHECK_EQ(t.level[1].factor[DIM_Q], 1);
  CHECK_EQ(t.level[0].factor[DIM_Q], 1);
}

/* The search on the chain: one group, no worse than layer by layer, and
 * at most the 76 DRAM words of the best hand-counted schedules (layer by
 * layer resident; fully cached with the weights at home). */
static void test_search_chain(void) {
  Fixture f;
  CHECK(setup(&f, chain_nir));
  SchedOptions o;
  sched_options_default(&o);
  SchedSearchStats st;
  Schedule *s = calloc(1, sizeof *s);
  Diag d;
  diag_init(&d, stderr, "t");
  CHECK_EQ(sched_search(f.sm, &o, s, &st, &d), RC_OK);
  CHECK_EQ(schedule_eval(f.sm, s, f.per, &f.tot, &d), RC_OK);
  CHECK(f.tot.edp <= st.layer_energy_pj * (double)st.layer_cycles);
  CHECK_EQ(s->ngroups, 1);
  CHECK(f.tot.dram_words <= 76);
  free(s);
  teardown(&f);
}

int main(void) {
  RUN(test_chain_layer_by_layer);
  RUN(test_chain_layer_resident);
  RUN(test_chain_depth_recompute);
  RUN(test_chain_depth_cache_h);
  RUN(test_chain_depth_cache_all);
  RUN(test_chain_depth_weights_home);
  RUN(test_residual_layer);
  RUN(test_residual_depth);
  RUN(test_refusals);
  RUN(test_shrink);
  RUN(test_search_chain);
  TEST_END();
}
