/*
 * test_presets.c: the architecture presets compiled into naasc_backend
 * (backend/presets) and the arch printer.
 *
 *   test_presets TESTS_PRESETS_DIR EYERISS_LIKE_ARCH_YAML [CASES_DIR]
 *
 * Checks, per preset: it loads by name and through arch_resolve, its name is
 * the preset name, its MAC count is the one its file cites, its numbers are
 * sane (DRAM first and keeping everything, bounded on-chip levels, the fan-out
 * product equal to the MAC count, a technology node with every energy,
 * leakage and area from the technology model (eyeriss's GLB checked against
 * the model's own answer), a clock; under --assume naas the relative
 * scheme's energies, no DRAM energy and no DRAM bandwidth limit), its
 * connectivity encodes its own dataflow, its as-built dataflow (as_built:)
 * loads and differs only in must_keep (every on-chip level keeps all it
 * may) and mapping constraints, and print -> load -> print is
 * byte-identical.  The same round trip for the eyeriss_like example
 * and, given CASES_DIR, a Timeloop validation case.  Every file of bad/ must
 * be refused with RC_BADINPUT and an error naming file:line:column and the
 * key; an unknown --target must list the presets.  Prints "N passed, M
 * failed" and exits 1 on any failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"

static int passed, failed;

static void expect(bool ok, const char *what, const char *detail) {
  if (ok) {
    passed++;
    return;
  }
  failed++;
  printf("FAIL: %s%s%s\n", what, detail && *detail ? ": " : "", detail ? detail : "");
}

/* Diag writing into a memory buffer (call diag_end to get the text). */
typedef struct {
  Diag d;
  char *text;
  size_t len;
} Capture;

static void diag_begin(Capture *c) {
  c->text = NULL;
  c->len = 0;
  diag_init(&c->d, open_memstream(&c->text, &c->len), NULL);
}

static const char *diag_end(Capture *c) {
  if (c->d.out) fclose(c->d.out);
  c->d.out = NULL;
  return c->text ? c->text : "";
}

/* arch_print into a heap string. */
static char *print_arch(const Arch *a) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  if (!f) return NULL;
  arch_print(f, a);
  fclose(f);
  return text;
}

/* print -> load -> print: the two texts equal, and the reloaded struct too. */
static void check_round_trip(const Arch *a, const char *label) {
  char what[160];
  char *one = print_arch(a);
  Arch back;
  Capture c;
  diag_begin(&c);
  Rc rc = one ? arch_load_text(one, strlen(one), label, &back, &c.d) : RC_INTERNAL;
  const char *msg = diag_end(&c);
  snprintf(what, sizeof what, "%s: printed arch loads back", label);
  expect(rc == RC_OK, what, msg);
  if (rc == RC_OK) {
    char *two = print_arch(&back);
    snprintf(what, sizeof what, "%s: print -> load -> print is byte-identical", label);
    expect(two && strcmp(one, two) == 0, what, two);
    snprintf(what, sizeof what, "%s: the reloaded arch equals the original", label);
    expect(memcmp(a, &back, sizeof back) == 0, what, NULL);
    free(two);
  }
  free(c.text);
  free(one);
}

/* Dims that may be unrolled on any axis of any level. */
static uint8_t unrollable(const Arch *a) {
  uint8_t m = 0;
  for (int l = 0; l < a->nlevels; l++)
    for (int x = 0; x < ACCEL_MAX_AXES; x++)
      if (a->level[l].fanout[x] > 1) m |= a->level[l].connectivity[x];
  return m;
}

static uint8_t dims(const char *letters) {
  uint8_t m = 0;
  for (; *letters; letters++) m |= (uint8_t)(1u << accel_dim_from_letter(*letters));
  return m;
}

static bool scheme_energy(double e) { return e == 1 || e == 6; }

typedef struct {
  const char *name;
  int64_t macs;    /* as cited in the preset's file */
  const char *may; /* dims the dataflow may unroll (nothing else) */
} Expect;

static void check_preset(const Expect *x) {
  char what[200], detail[200];
  Arch a, b;
  Capture c;
  diag_begin(&c);
  Rc rc = arch_preset_load(x->name, &a, &c.d);
  const char *msg = diag_end(&c);
  snprintf(what, sizeof what, "%s: loads", x->name);
  expect(rc == RC_OK, what, msg);
  free(c.text);
  if (rc != RC_OK) return;
  diag_begin(&c);
  rc = arch_resolve(x->name, &b, &c.d);
  diag_end(&c);
  free(c.text);
  snprintf(what, sizeof what, "%s: arch_resolve gives the same arch", x->name);
  expect(rc == RC_OK && memcmp(&a, &b, sizeof a) == 0, what, NULL);
  /* The as-built dataflow (as_built:): loads, changes nothing but the
   * mapping constraints and must_keep, and makes every on-chip level keep
   * all it may keep (every buffer used as the chip uses it). */
  Arch *ab = calloc(1, sizeof *ab);
  if (!ab) abort();
  diag_begin(&c);
  rc = arch_resolve_as_built(x->name, ab, &c.d);
  msg = diag_end(&c);
  snprintf(what, sizeof what, "%s: its as-built dataflow loads", x->name);
  expect(rc == RC_OK, what, msg);
  free(c.text);
  if (rc == RC_OK) {
    bool must_all = true, same = ab->nlevels == a.nlevels;
    for (int l = 0; l < ab->nlevels && same; l++) {
      Level u = ab->level[l];
      if (l > 0 && u.keeps_required != u.keeps_allowed) must_all = false;
      u.keeps_required = a.level[l].keeps_required;
      same = memcmp(&u, &a.level[l], sizeof u) == 0;
    }
    snprintf(what, sizeof what, "%s: as built, only must_keep and constraints differ", x->name);
    expect(same && ab->mac_instances == a.mac_instances, what, NULL);
    snprintf(what, sizeof what, "%s: as built, every on-chip level must keep its tensors", x->name);
    expect(must_all, what, NULL);
    snprintf(what, sizeof what, "%s: as built, some mapping constraint", x->name);
    expect(mapcons_any(&ab->cons), what, NULL);
  }
  free(ab);
  snprintf(what, sizeof what, "%s: name: is the preset name", x->name);
  expect(strcmp(a.name, x->name) == 0, what, a.name);
  snprintf(what, sizeof what, "%s: %lld MACs", x->name, (long long)x->macs);
  snprintf(detail, sizeof detail, "%lld", (long long)a.mac_instances);
  expect(a.mac_instances == x->macs, what, detail);
  int64_t fan = 1;
  for (int l = 0; l < a.nlevels; l++)
    fan *= a.level[l].fanout[0] * a.level[l].fanout[1] * a.level[l].fanout[2];
  snprintf(what, sizeof what, "%s: the fan-outs multiply to the MAC count", x->name);
  snprintf(detail, sizeof detail, "%lld", (long long)fan);
  expect(fan == a.mac_instances, what, detail);
  snprintf(what, sizeof what, "%s: DRAM first, keeping W, I and O", x->name);
  expect(a.nlevels >= 2 && a.level[0].is_dram && a.level[0].keeps_allowed == ACCEL_ALL_TENSORS,
         what, NULL);
  snprintf(what, sizeof what, "%s: a clock", x->name);
  expect(a.clock_mhz > 0, what, NULL);
  snprintf(what, sizeof what, "%s: DRAM bandwidth bounded", x->name);
  expect(a.level[0].shared_bw > 0 || (a.level[0].read_bw > 0 && a.level[0].write_bw > 0), what,
         NULL);
  snprintf(what, sizeof what, "%s: a technology node; the MAC's energy and area from the model",
           x->name);
  expect(a.tech_nm >= 7 && a.tech_nm <= 130 && a.mac_derived && a.mac_energy_pj > 0 &&
             a.mac_area_um2 > 0,
         what, NULL);
  uint8_t kept = 0;
  for (int l = 1; l < a.nlevels; l++) {
    const Level *L = &a.level[l];
    kept |= L->keeps_allowed;
    snprintf(what, sizeof what, "%s: level '%s' is on-chip, bounded, keeps something, has area",
             x->name, L->name);
    expect(!L->is_dram && L->capacity_words > 0 && L->keeps_allowed != 0 && L->area_um2_fixed > 0,
           what, NULL);
    snprintf(what, sizeof what,
             "%s: level '%s' energies, leakage, area from the model, below DRAM's", x->name,
             L->name);
    expect((L->derived & (LEVEL_TECH_ENERGY | LEVEL_TECH_LEAK | LEVEL_TECH_AREA)) ==
                   (LEVEL_TECH_ENERGY | LEVEL_TECH_LEAK | LEVEL_TECH_AREA) &&
               L->e_read_pj > 0 && L->e_fill_pj > 0 && L->leak_pj_per_cycle > 0 &&
               L->e_read_pj / (double)L->block_words <
                   a.level[0].e_read_pj / (double)a.level[0].block_words,
           what, NULL);
  }
  Arch n = a;
  arch_assume(&n, ARCH_ASSUME_NAAS);
  bool rel = n.mac_energy_pj == 1 && n.level[0].e_read_pj == 0 && n.level[0].shared_bw == 0 &&
             n.assume == ARCH_ASSUME_NAAS;
  for (int l = 1; l < n.nlevels; l++)
    rel &= scheme_energy(n.level[l].e_read_pj / (double)n.level[l].block_words) &&
           n.level[l].leak_pj_per_cycle == 0 &&
           n.level[l].area_um2_fixed == a.level[l].area_um2_fixed;
  snprintf(what, sizeof what, "%s: --assume naas: MAC 1, RF 1 or buffer 6, no DRAM energy or limit",
           x->name);
  expect(rel, what, NULL);
  snprintf(what, sizeof what, "%s: every tensor has an on-chip level", x->name);
  expect(kept == ACCEL_ALL_TENSORS, what, NULL);
  snprintf(what, sizeof what, "%s: DRAM energy from the model's DRAM type", x->name);
  expect(a.level[0].e_read_pj ==
             tech_dram_pj_per_bit((TechDram)a.level[0].dram_type) * a.level[0].word_bits,
         what, NULL);
  uint8_t u = unrollable(&a);
  snprintf(what, sizeof what, "%s: the array unrolls only %s", x->name, x->may);
  expect(u && (u & ~dims(x->may)) == 0, what, NULL);
  check_round_trip(&a, x->name);
}

/* file must be refused with RC_BADINPUT and an error containing want. */
static void check_bad(const char *dir, const char *file, const char *want) {
  char path[1024], what[1200];
  snprintf(path, sizeof path, "%s/bad/%s", dir, file);
  Arch a;
  Capture c;
  diag_begin(&c);
  Rc rc = arch_load(path, &a, &c.d);
  const char *msg = diag_end(&c);
  snprintf(what, sizeof what, "bad/%s refused with \"%s\"", file, want);
  char full[1200];
  snprintf(full, sizeof full, "%s: %s", path, want);
  expect(rc == RC_BADINPUT && strstr(msg, full) != NULL, what, msg);
  free(c.text);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: test_presets TESTS_PRESETS_DIR EYERISS_LIKE_ARCH_YAML [CASES_DIR]\n");
    return 2;
  }
  const char *dir = argv[1];
  static const Expect presets[] = {
      {"eyeriss", 168, "RCKPN"}, /* row stationary: S and Q stay in the PE */
      {"nvdla-256", 256, "KCG"}, /* weight stationary: C x K (groups as MAESTRO) */
      {"nvdla-1024", 1024, "KCG"},
      {"shidiannao", 64, "PQK"}, /* output stationary: output neurons only */
      {"edgetpu", 4096, "KC"},   /* weight-stationary systolic C x K */
  };
  int n = 0;
  const char *const *names = arch_preset_names(&n);
  expect(n == (int)(sizeof presets / sizeof presets[0]), "five presets", NULL);
  for (int i = 0; i < n; i++) {
    bool known = false;
    for (size_t k = 0; k < sizeof presets / sizeof presets[0]; k++)
      known |= strcmp(names[i], presets[k].name) == 0;
    expect(known, "preset listed and checked here", names[i]);
    size_t len = 0;
    expect(arch_preset_text(names[i], &len) && len > 0, "preset text embedded", names[i]);
  }
  for (size_t k = 0; k < sizeof presets / sizeof presets[0]; k++) check_preset(&presets[k]);

  /* eyeriss's GLB is the model's 108 KB SRAM of 27 banks at 65 nm [E1], and
   * its glb -> PE hop a wire as long as a PE is wide. */
  {
    Arch e;
    Capture ce;
    diag_begin(&ce);
    Rc erc = arch_preset_load("eyeriss", &e, &ce.d);
    TechComponent k;
    TechCost tc;
    tech_init(&k, TECH_SRAM);
    k.node_nm = 65, k.depth = 55296, k.width = 16, k.banks = 27, k.cycle_ns = 5;
    Rc trc = tech_eval(&k, &tc, &ce.d, "test");
    diag_end(&ce);
    free(ce.text);
    expect(erc == RC_OK && trc == RC_OK && e.level[1].e_read_pj == tc.read_pj &&
               e.level[1].e_fill_pj == tc.write_pj && e.level[1].area_um2_fixed == tc.area_um2 &&
               e.level[1].leak_pj_per_cycle == tc.leak_pj_per_cycle,
           "eyeriss: glb = naasc tech sram depth=55296 width=16 banks=27 technology=65nm", NULL);
    expect(erc == RC_OK && e.level[1].noc_pj_per_hop > 0 && e.level[2].noc_pj_per_hop == 0,
           "eyeriss: a hop from the glb to the PEs only", NULL);
  }

  /* The eyeriss_like example and a validation case round-trip too. */
  Arch a;
  Capture c;
  diag_begin(&c);
  Rc rc = arch_resolve(argv[2], &a, &c.d);
  expect(rc == RC_OK, "eyeriss_like example loads through arch_resolve", diag_end(&c));
  free(c.text);
  if (rc == RC_OK) check_round_trip(&a, "eyeriss_like");
  char path[1024];
  FILE *probe = NULL;
  if (argc > 3) {
    snprintf(path, sizeof path, "%s/vgg16_conv3_1__eyeriss_like__mapper.json", argv[3]);
    probe = fopen(path, "rb");
    if (!probe) printf("note: %s not found: validation case round trip skipped\n", path);
  }
  if (probe) {
    fclose(probe);
    diag_begin(&c);
    rc = arch_resolve(path, &a, &c.d);
    expect(rc == RC_OK, "a validation case loads through arch_resolve", diag_end(&c));
    free(c.text);
    if (rc == RC_OK) check_round_trip(&a, "case eyeriss_like");
  }

  /* Malformed arch files: file:line:column and the key path. */
  check_bad(dir, "unknown_key.yaml", "8:5: error: 'levels[1].fanuot': unknown key");
  check_bad(dir, "zero_pes.yaml", "9:18: error: 'mac.instances': must be at least 1");
  check_bad(dir, "zero_fanout.yaml", "8:17: error: 'levels[1].fanout.x': must be at least 1");
  check_bad(dir, "negative_size.yaml",
            "7:21: error: 'levels[1].capacity_words': must not be negative");
  check_bad(dir, "connectivity_no_dim.yaml",
            "9:23: error: 'levels[1].connectivity.x': names no dimension");
  check_bad(dir, "negative_energy.yaml",
            "8:34: error: 'levels[1].energy_pj.update': must not be negative");

  /* Unknown targets say what would have been accepted. */
  diag_begin(&c);
  rc = arch_resolve("eyeris", &a, &c.d);
  const char *msg = diag_end(&c);
  expect(rc == RC_BADINPUT && strstr(msg, "unknown architecture 'eyeris'") &&
             strstr(msg, "eyeriss, nvdla-256, nvdla-1024, shidiannao, edgetpu"),
         "an unknown target lists the presets", msg);
  free(c.text);
  diag_begin(&c);
  rc = arch_preset_load("tpu", &a, &c.d);
  msg = diag_end(&c);
  expect(rc == RC_BADINPUT && strstr(msg, "unknown architecture preset 'tpu'"),
         "an unknown preset is refused", msg);
  free(c.text);
  diag_begin(&c);
  rc = arch_resolve("/nonexistent/arch.yaml", &a, &c.d);
  msg = diag_end(&c);
  expect(rc == RC_BADINPUT && strstr(msg, "/nonexistent/arch.yaml: error: cannot open"),
         "a missing arch file is reported", msg);
  free(c.text);

  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
