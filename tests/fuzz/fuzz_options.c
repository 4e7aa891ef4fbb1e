/*
 * fuzz_options.c: the readers of what a user types or hands over beside the
 * model and the architecture.  The input's first line names the reader, the
 * rest is its text:
 *   accuracy   an accuracy table (accuracy_load, `--search-precision FILE`),
 *              then accuracy_allowed for each model the table names and one
 *              it does not;
 *   precision  a precision (precision_parse, `--precision P` and the table's
 *              second column): the canonical name must read back to the same
 *              precision and print the same name;
 *   pipeline   a pass pipeline (pipeline_parse, `naasc-opt --passes=P`): the
 *              print must parse and print again byte-identical;
 *   tech       `naasc tech KIND ATTR=VALUE ...` as words (tech_kind_find,
 *              tech_set, tech_eval): an answer is finite and not negative;
 *   assume     an --assume mode (arch_assume_parse);
 *   nb201      a NAS-Bench-201 accuracy table (nb201_table_load, `naasc --nas
 *              ... --nb201-data FILE`): an accepted table holds every cell
 *              once, each row found by its index;
 *   model      a network name (zoo_build without weights, `naasc --search NAME`,
 *              `nb201:ARCH`); an arch string's cell prints back to the same
 *              cell (nb201_parse, nb201_format).
 * Any other first line is taken as an accuracy table whole.
 */
#include "tests/fuzz/fuzz.h"

#include <math.h>

#include "backend/backend.h"
#include "frontend/frontend.h"
#include "passes/passes.h"

static void fuzz_accuracy(const uint8_t *data, size_t size) {
  static AccuracyTable t;
  Diag d;
  fuzz_diag(&d, NULL);
  Rc rc = accuracy_load(fuzz_file(0, data, size), &t, &d);
  FUZZ_REPORTED(rc, &d);
  if (rc != RC_OK) return;
  FUZZ_CHECK(t.n >= 0 && t.n <= ACCURACY_MAX_ROWS, "row count out of range");
  /* A name longer than a row's model field holds: no table can name it. */
  char absent[sizeof t.row[0].model + 1];
  memset(absent, 'x', sizeof absent - 1);
  absent[sizeof absent - 1] = 0;
  for (int i = 0; i <= t.n; i++) {
    const char *model = i < t.n ? t.row[i].model : absent;
    if (i < t.n) FUZZ_CHECK(strlen(model) < sizeof t.row[0].model, "model name not terminated");
    Precision out[ACCURACY_MAX_ROWS];
    char why[256];
    int n = accuracy_allowed(&t, &model, 1, out, ACCURACY_MAX_ROWS, why, sizeof why);
    FUZZ_CHECK(n >= 0 && n <= t.n, "more precisions allowed than rows");
    if (i == t.n) FUZZ_CHECK(n == 0, "a precision allowed for a model without rows");
  }
}

/* The input's text as a C string (what a command line hands over). */
static char *text_of(const uint8_t *data, size_t size) {
  char *s = xmalloc(size + 1);
  if (!s) return NULL; /* past the allocation cap */
  memcpy(s, data, size);
  s[size] = 0;
  return s;
}

static void fuzz_precision(const char *s) {
  Precision p, q;
  Diag d;
  fuzz_diag(&d, NULL);
  Rc rc = precision_parse(s, &p, &d, "--precision");
  FUZZ_REPORTED(rc, &d);
  if (rc != RC_OK) return;
  char name[64], again[64];
  precision_name(&p, name, sizeof name);
  rc = precision_parse(name, &q, &d, "precision_name");
  FUZZ_CHECK(rc == RC_OK, "the canonical name of a precision does not parse");
  precision_name(&q, again, sizeof again);
  FUZZ_CHECK(strcmp(name, again) == 0, "the canonical name does not print back the same");
  FUZZ_CHECK(memcmp(p.bits, q.bits, sizeof p.bits) == 0 && p.number == q.number,
             "the canonical name reads back to another precision");
}

static char *print_pipeline(const Pipeline *pl) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  FUZZ_CHECK(f != NULL, "open_memstream");
  pipeline_print(f, pl);
  fclose(f);
  return buf;
}

static void fuzz_pipeline(const char *s) {
  static PassRegistry *reg;
  if (!reg) reg = pass_registry_create();
  Pipeline pl, again;
  Diag d;
  fuzz_diag(&d, NULL);
  Rc rc = pipeline_parse(reg, s, &pl, &d);
  FUZZ_REPORTED(rc, &d);
  if (rc != RC_OK) return;
  char *p1 = print_pipeline(&pl);
  size_t n1 = strlen(p1);
  FUZZ_CHECK(n1 > 0 && strchr(p1, '\n') == p1 + n1 - 1, "a pipeline's print is one line");
  p1[n1 - 1] = 0;
  rc = pipeline_parse(reg, p1, &again, &d);
  FUZZ_CHECK(rc == RC_OK, "the print of a pipeline does not parse");
  char *p2 = print_pipeline(&again);
  p2[strcspn(p2, "\n")] = 0; /* its one line */
  FUZZ_CHECK(strcmp(p1, p2) == 0, "the print of a pipeline does not print back the same");
  free(p1);
  free(p2);
  pipeline_free(&again);
  pipeline_free(&pl);
}

static void fuzz_tech(char *s) {
  char *save = NULL;
  char *kind = strtok_r(s, " \t\n", &save);
  if (!kind) return;
  TechKind k = tech_kind_find(kind);
  if (k == TECH_NONE) return;
  TechComponent c;
  tech_init(&c, k);
  Diag d;
  fuzz_diag(&d, NULL);
  for (char *w; (w = strtok_r(NULL, " \t\n", &save));) {
    char *eq = strchr(w, '=');
    if (!eq || eq == w) return; /* the command line's usage error */
    *eq = 0;
    Rc rc = tech_set(&c, w, eq + 1, &d, tech_kind_name(k));
    FUZZ_REPORTED(rc, &d);
    if (rc != RC_OK) return;
  }
  TechCost r;
  Rc rc = tech_eval(&c, &r, &d, tech_kind_name(k));
  FUZZ_REPORTED(rc, &d);
  if (rc != RC_OK) return;
  const double v[] = {r.read_pj,   r.write_pj,          r.update_pj,
                      r.energy_pj, r.leak_pj_per_cycle, r.area_um2};
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
    FUZZ_CHECK(isfinite(v[i]) && v[i] >= 0, "the technology model answered a figure that is "
                                            "not a finite non-negative number");
}

static void fuzz_nb201(const uint8_t *data, size_t size) {
  static Nb201Table t;
  Diag d;
  fuzz_diag(&d, NULL);
  Rc rc = nb201_table_load(fuzz_file(0, data, size), &t, &d);
  FUZZ_REPORTED(rc, &d);
  if (rc == RC_OK) {
    FUZZ_CHECK(t.n == NB201_CELLS, "a table without every cell accepted");
    for (int c = 0; c < NB201_CELLS; c++) {
      int row = t.by_code[c];
      FUZZ_CHECK(row >= 0 && row < t.n && nb201_code(t.ops[row]) == c, "a cell without its row");
      FUZZ_CHECK(nb201_table_find_index(&t, t.index[row]) == row, "a row not found by its index");
    }
  }
  nb201_table_free(&t);
}

static void fuzz_model(const char *s) {
  Diag d;
  fuzz_diag(&d, NULL);
  const char *colon = strchr(s, ':');
  if (colon) { /* an arch string: its cell prints back the same */
    uint8_t ops[NB201_EDGES], again[NB201_EDGES];
    if (nb201_parse(colon + 1, ops, &d) == RC_OK) {
      char buf[NB201_ARCH_MAX];
      nb201_format(ops, buf, sizeof buf);
      FUZZ_CHECK(nb201_parse(buf, again, &d) == RC_OK, "a cell's arch string does not parse");
      FUZZ_CHECK(memcmp(ops, again, sizeof ops) == 0, "a cell's arch string is another cell");
    } else {
      FUZZ_CHECK(d.nerrors > 0, "refused without an error message");
    }
    fuzz_diag(&d, NULL);
  }
  Model *m = NULL;
  Rc rc = zoo_build(s, false, 1, &m, &d);
  FUZZ_REPORTED(rc, &d);
  if (rc == RC_OK) FUZZ_CHECK(m != NULL, "a network built without a model");
  if (m) model_destroy(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  (void)fuzz_sink();
  const uint8_t *nl = memchr(data, '\n', size);
  size_t head = nl ? (size_t)(nl - data) : size;
  const uint8_t *body = nl ? nl + 1 : data + size;
  size_t blen = size - (size_t)(body - data);
#define IS(word) (head == strlen(word) && memcmp(data, word, head) == 0)
  if (IS("precision") || IS("pipeline") || IS("tech") || IS("assume") || IS("model")) {
    char *s = text_of(body, blen);
    if (!s) return 0;
    if (IS("precision")) {
      fuzz_precision(s);
    } else if (IS("pipeline")) {
      fuzz_pipeline(s);
    } else if (IS("tech")) {
      fuzz_tech(s);
    } else if (IS("model")) {
      fuzz_model(s);
    } else {
      ArchAssume a;
      if (arch_assume_parse(s, &a)) FUZZ_CHECK(arch_assume_name((int)a) != NULL, "unnamed mode");
    }
    xfree(s);
    return 0;
  }
  if (IS("nb201"))
    fuzz_nb201(body, blen);
  else if (IS("accuracy"))
    fuzz_accuracy(body, blen);
  else
    fuzz_accuracy(data, size);
#undef IS
  return 0;
}
