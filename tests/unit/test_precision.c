/*
 * test_precision.c: unit tests of per-tensor precision (backend/precision.c).
 *
 *   test_precision SCRATCH_DIR
 *
 * The --precision grammar (every form, its canonical name read back to the
 * same precision, bad values refused naming the value); an architecture at
 * 1, 4, 8 and 16 bits: exact capacity, words per block and bandwidth in
 * words, and the MAC's energy and area equal to the technology model's own
 * figure for that MAC; the arch's own precision is the identity on every
 * preset; and the accuracy table of --search-precision, with its errors
 * located at file:line:col.
 */
#include <math.h>
#include <stdlib.h>

#include "backend/backend.h"
#include "tests/unit/test.h"

static const char *scratch;

static Rc parse_quiet(const char *s, Precision *p) {
  Diag d;
  diag_init(&d, NULL, NULL);
  return precision_parse(s, p, &d, "t");
}

static void test_grammar(void) {
  static const struct {
    const char *spec;
    int w, i, o, psum;
    TechNumber number;
    const char *canonical;
  } good[] = {
      {"w8a8", 8, 8, 8, 0, TECH_INT, "w8a8"},
      {"w8a8p32", 8, 8, 8, 32, TECH_INT, "w8a8p32"},
      {"w4a8", 4, 8, 8, 0, TECH_INT, "w4a8"},
      {"w1a1", 1, 1, 1, 0, TECH_INT, "w1a1"},
      {"w16a16o32", 16, 16, 32, 0, TECH_INT, "w16a16o32"},
      {"w2a4o8p24", 2, 4, 8, 24, TECH_INT, "w2a4o8p24"},
      {"int4", 4, 4, 4, 0, TECH_INT, "w4a4"},
      {"int8", 8, 8, 8, 0, TECH_INT, "w8a8"},
      {"int16", 16, 16, 16, 0, TECH_INT, "w16a16"},
      {"binary", 1, 1, 1, 0, TECH_INT, "w1a1"},
      {"fp16", 16, 16, 16, 0, TECH_FP16, "fp16"},
      {"bf16", 16, 16, 16, 0, TECH_BF16, "bf16"},
      {"fp32", 32, 32, 32, 0, TECH_FP32, "fp32"},
      {"bf16p32", 16, 16, 16, 32, TECH_BF16, "bf16p32"},
      {"w32a32", 32, 32, 32, 0, TECH_INT, "w32a32"},
  };
  for (size_t k = 0; k < sizeof good / sizeof good[0]; k++) {
    Precision p, q;
    CHECK_EQ(parse_quiet(good[k].spec, &p), RC_OK);
    CHECK_EQ(p.bits[TENSOR_W], good[k].w);
    CHECK_EQ(p.bits[TENSOR_I], good[k].i);
    CHECK_EQ(p.bits[TENSOR_O], good[k].o);
    CHECK_EQ(p.psum_bits, good[k].psum);
    CHECK_EQ(p.number, good[k].number);
    char name[48];
    precision_name(&p, name, sizeof name);
    CHECK(strcmp(name, good[k].canonical) == 0);
    CHECK_EQ(parse_quiet(name, &q), RC_OK);
    CHECK(memcmp(&p, &q, sizeof p) == 0);
  }
  static const char *const bad[] = {"",      "w8",    "w8a",   "w8x8",      "a8w8", "w0a8",
                                    "w33a8", "w8a8p", "w8a8o", "w8a8p32o8", "int3", "fp16p8",
                                    "W8A8",  "w8a8 ", "fp8",   "w8a8q8",    "int"};
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    char msg[512] = {0};
    FILE *f = fmemopen(msg, sizeof msg - 1, "w");
    Diag d;
    diag_init(&d, f, "naasc");
    Precision p;
    CHECK_EQ(precision_parse(bad[k], &p, &d, "--precision"), RC_BADINPUT);
    fclose(f);
    char quoted[64];
    snprintf(quoted, sizeof quoted, "'%s'", bad[k]);
    if (*bad[k])
      CHECK_STR_HAS(msg, quoted);
    else
      CHECK_STR_HAS(msg, "an empty precision");
    CHECK_STR_HAS(msg, "--precision: error:");
  }
}

/* A 45 nm design of 16-bit words: DRAM (4 words/cycle), a 16384-word GLB
 * read in blocks of 4 words, a weights-only register file of 12 words. */
static const char arch16[] = "name: p\n"
                             "technology: 45nm\n"
                             "levels:\n"
                             "  - name: DRAM\n"
                             "    dram: true\n"
                             "    bandwidth: {shared: 4}\n"
                             "  - name: GLB\n"
                             "    capacity_words: 16384\n"
                             "    block_words: 4\n"
                             "    bandwidth: {read: 8, write: 2}\n"
                             "    fanout: {x: 16}\n"
                             "  - name: RF\n"
                             "    capacity_words: 12\n"
                             "    keeps: [W]\n"
                             "    bandwidth: {read: 2, write: 2}\n"
                             "mac: {}\n";

static void load(Arch *a) {
  Diag d;
  diag_init(&d, stderr, "arch16");
  CHECK_EQ(arch_load_text(arch16, strlen(arch16), "arch16", a, &d), RC_OK);
}

static TechCost model_mac(const char *spec) {
  char buf[128];
  snprintf(buf, sizeof buf, "%s", spec);
  Diag d;
  diag_init(&d, stderr, "test");
  TechComponent c;
  tech_init(&c, TECH_MAC);
  char *save = NULL;
  for (char *tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
    char *eq = strchr(tok, '=');
    *eq = 0;
    CHECK_EQ(tech_set(&c, tok, eq + 1, &d, "t"), RC_OK);
  }
  TechCost r = {0};
  CHECK_EQ(tech_eval(&c, &r, &d, "t"), RC_OK);
  return r;
}

static void test_words(void) {
  static const struct {
    const char *spec;
    int64_t glb_words, glb_block, rf_words, rf_block;
    double dram_bw, glb_read, glb_write, rf_bw;
    const char *mac; /* the technology model's MAC at this precision */
  } rows[] = {
      {"w1a1", 262144, 64, 192, 16, 64, 128, 32, 32, "type=binary technology=45nm"},
      {"w4a4", 65536, 16, 48, 4, 16, 32, 8, 8, "bits=4 technology=45nm"},
      {"w8a8", 32768, 8, 24, 2, 8, 16, 4, 4, "bits=8 technology=45nm"},
      {"w16a16", 16384, 4, 12, 1, 4, 8, 2, 2, "bits=16 technology=45nm"},
      {"w8a8p32", 32768, 8, 24, 2, 8, 16, 4, 4, "bits=8 acc=int32 technology=45nm"},
      {"fp16", 16384, 4, 12, 1, 4, 8, 2, 2, "type=fp16 technology=45nm"},
      {"bf16", 16384, 4, 12, 1, 4, 8, 2, 2, "type=bf16 technology=45nm"},
      {"fp32", 8192, 2, 6, 1, 2, 4, 1, 1, "type=fp32 technology=45nm"},
  };
  for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++) {
    static Arch a;
    load(&a);
    Precision p;
    CHECK_EQ(parse_quiet(rows[k].spec, &p), RC_OK);
    Diag d;
    diag_init(&d, stderr, "test");
    CHECK_EQ(arch_set_precision(&a, &p, &d), RC_OK);
    const Level *D = &a.level[0], *G = &a.level[1], *R = &a.level[2];
    CHECK_EQ(G->capacity_words, rows[k].glb_words);
    CHECK_EQ(G->block_words, rows[k].glb_block);
    CHECK_EQ(R->capacity_words, rows[k].rf_words);
    CHECK_EQ(R->block_words, rows[k].rf_block);
    CHECK_EQ(D->block_words, (int64_t)(16 / p.bits[TENSOR_W] > 1 ? 16 / p.bits[TENSOR_W] : 1));
    CHECK(D->shared_bw == rows[k].dram_bw);
    CHECK(G->read_bw == rows[k].glb_read && G->write_bw == rows[k].glb_write);
    CHECK(R->read_bw == rows[k].rf_bw && R->write_bw == rows[k].rf_bw);
    CHECK_EQ(G->word_bits, p.bits[TENSOR_W]);
    TechCost m = model_mac(rows[k].mac);
    CHECK(a.mac_energy_pj == m.energy_pj); /* exactly the model's figure */
    CHECK(a.mac_area_um2 == m.area_um2);
    /* the arrays keep their bits: the GLB costs the same per block access */
    static Arch b;
    load(&b);
    if (p.bits[TENSOR_W] <= 16) {
      CHECK(G->e_read_pj == b.level[1].e_read_pj);
      CHECK(G->area_um2_fixed == b.level[1].area_um2_fixed);
    }
  }
}

/* w4a8: a level keeping weights only counts in 4-bit words, one keeping
 * every tensor in the widest (8 bits). */
static void test_mixed(void) {
  static Arch a;
  load(&a);
  Precision p;
  CHECK_EQ(parse_quiet("w4a8", &p), RC_OK);
  Diag d;
  diag_init(&d, stderr, "test");
  CHECK_EQ(arch_set_precision(&a, &p, &d), RC_OK);
  CHECK_EQ(a.level[1].word_bits, 8);
  CHECK_EQ(a.level[1].capacity_words, 32768);
  CHECK_EQ(a.level[2].word_bits, 4);
  CHECK_EQ(a.level[2].capacity_words, 48);
  CHECK_EQ(a.level[2].block_words, 4);
  CHECK(a.mac_energy_pj == model_mac("bits=8 technology=45nm").energy_pj);
  /* back to 16 bits: the original figures again (no rounding was needed) */
  static Arch b;
  load(&b);
  CHECK_EQ(parse_quiet("w16a16", &p), RC_OK);
  CHECK_EQ(arch_set_precision(&a, &p, &d), RC_OK);
  CHECK_EQ(a.level[1].capacity_words, b.level[1].capacity_words);
  CHECK_EQ(a.level[2].capacity_words, b.level[2].capacity_words);
  CHECK(a.mac_energy_pj == b.mac_energy_pj);
}

/* The arch's own precision changes no field of any preset. */
static void test_identity(void) {
  int n;
  const char *const *names = arch_preset_names(&n);
  for (int k = 0; k < n; k++) {
    static Arch a, b;
    Diag d;
    diag_init(&d, stderr, names[k]);
    CHECK_EQ(arch_preset_load(names[k], &a, &d), RC_OK);
    b = a;
    Precision p;
    precision_of(&a, &p);
    CHECK_EQ(arch_set_precision(&a, &p, &d), RC_OK);
    CHECK(memcmp(&a, &b, sizeof a) == 0);
  }
}

/* A level too small for one word of the new width is refused. */
static void test_too_small(void) {
  static const char tiny[] = "name: t\n"
                             "technology: 45nm\n"
                             "precision: {W: 4, I: 4, O: 4}\n"
                             "levels:\n"
                             "  - name: DRAM\n"
                             "    dram: true\n"
                             "  - name: R\n"
                             "    capacity_words: 1\n"
                             "mac: {}\n";
  static Arch a;
  Diag d;
  diag_init(&d, stderr, "tiny");
  CHECK_EQ(arch_load_text(tiny, strlen(tiny), "tiny", &a, &d), RC_OK);
  Precision p;
  CHECK_EQ(parse_quiet("w16a16", &p), RC_OK);
  char msg[512] = {0};
  FILE *f = fmemopen(msg, sizeof msg - 1, "w");
  diag_init(&d, f, "tiny");
  CHECK_EQ(arch_set_precision(&a, &p, &d), RC_BADINPUT);
  fclose(f);
  CHECK_STR_HAS(msg, "level 'R'");
}

static const char *write_file(const char *name, const char *text) {
  static char path[4096];
  snprintf(path, sizeof path, "%s/%s", scratch, name);
  FILE *f = fopen(path, "w");
  if (!f) return NULL;
  fputs(text, f);
  fclose(f);
  return path;
}

static void test_accuracy_table(void) {
  const char *path = write_file("acc.txt", "# model precision accuracy (%)\n"
                                           "minimum 60\n"
                                           "resnet18-bnn w1a1 51.2\n"
                                           "resnet18-bnn w8a8 69.6   # int8\n"
                                           "resnet18-bnn w16a16 69.8\n"
                                           "vgg16 w8a8 71.5\n"
                                           "vgg16 w1a1 61.0\n");
  AccuracyTable t;
  Diag d;
  diag_init(&d, stderr, "test");
  CHECK_EQ(accuracy_load(path, &t, &d), RC_OK);
  CHECK_EQ(t.n, 5);
  CHECK(t.minimum == 60);
  CHECK(t.row[1].accuracy == 69.6);
  Precision out[8];
  char why[256];
  const char *m1[] = {"resnet18-bnn"};
  CHECK_EQ(accuracy_allowed(&t, m1, 1, out, 8, why, sizeof why), 2);
  CHECK_EQ(out[0].bits[TENSOR_W], 8);
  CHECK_EQ(out[1].bits[TENSOR_W], 16);
  const char *m2[] = {"resnet18-bnn", "vgg16"}; /* w16a16 has no vgg16 row */
  CHECK_EQ(accuracy_allowed(&t, m2, 2, out, 8, why, sizeof why), 1);
  CHECK_EQ(out[0].bits[TENSOR_W], 8);
  const char *m3[] = {"alexnet"};
  CHECK_EQ(accuracy_allowed(&t, m3, 1, out, 8, why, sizeof why), 0);
  CHECK_STR_HAS(why, "'alexnet' has no row");
  static const struct {
    const char *text, *where, *what;
  } bad[] = {
      {"minimum 60\nresnet18 w8x8 70\n", "acc-bad.txt:2:10: error:", "'w8x8'"},
      {"minimum 60\nresnet18 w8a8 seventy\n", "acc-bad.txt:2:15: error:", "'seventy'"},
      {"minimum 160\nresnet18 w8a8 70\n", "acc-bad.txt:1:9: error:", "'160'"},
      {"resnet18 w8a8 70\n", "acc-bad.txt:1:1: error:", "no 'minimum"},
      {"minimum 60\n", "acc-bad.txt:1:1: error:", "no MODEL PRECISION"},
      {"minimum 60\nresnet18 70\n", "acc-bad.txt:2:1: error:", "'resnet18'"},
      {"minimum 60\nr w8a8 70\nr int8 71\n", "acc-bad.txt:3:3: error:", "given twice"},
      {"minimum 60\nminimum 61\nr w8a8 70\n", "acc-bad.txt:2:1: error:", "second 'minimum'"},
      {"minimum 60\nr w8a8 70 extra\n", "acc-bad.txt:2:11: error:", "'extra'"},
  };
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    path = write_file("acc-bad.txt", bad[k].text);
    char msg[1024] = {0};
    FILE *f = fmemopen(msg, sizeof msg - 1, "w");
    diag_init(&d, f, NULL);
    CHECK_EQ(accuracy_load(path, &t, &d), RC_BADINPUT);
    fclose(f);
    CHECK_STR_HAS(msg, bad[k].where);
    CHECK_STR_HAS(msg, bad[k].what);
  }
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: test_precision SCRATCH_DIR\n");
    return 2;
  }
  scratch = argv[1];
  RUN(test_grammar);
  RUN(test_words);
  RUN(test_mixed);
  RUN(test_identity);
  RUN(test_too_small);
  RUN(test_accuracy_table);
  TEST_END();
}
