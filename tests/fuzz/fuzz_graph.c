/*
 * fuzz_graph.c: the graph IR text form (graph_import_text: graph_parse,
 * then the importer's checks, as naasc-opt reads a graph dump), then the
 * promise of docs/ir.md: an accepted graph prints, and the print reads and
 * prints again byte for byte; then what naasc-opt may run on it: fold-bn,
 * fuse-act, lower and the loop-nest verifier.
 */
#include "tests/fuzz/fuzz.h"
#include "frontend/frontend.h"
#include "passes/passes.h"

static char *print_graph(const Model *m, size_t *len) {
  char *buf = NULL;
  FILE *f = open_memstream(&buf, len);
  FUZZ_CHECK(f, "open_memstream");
  graph_print(f, m);
  fclose(f);
  return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  Diag d;
  fuzz_diag(&d, "fuzz.graph");
  Model *m = NULL;
  Rc rc = graph_import_text((const char *)data, size, &m, &d);
  FUZZ_REPORTED(rc, &d);
  if (rc != RC_OK) return 0;
  size_t n1, n2;
  char *p1 = print_graph(m, &n1);
  Model *m2 = NULL;
  Diag d2;
  fuzz_diag(&d2, "printed.graph");
  d2.out = stderr; /* a refusal is a finding: show why */
  FUZZ_CHECK(graph_import_text(p1, n1, &m2, &d2) == RC_OK, "the printed graph does not read back");
  char *p2 = print_graph(m2, &n2);
  FUZZ_CHECK(n1 == n2 && memcmp(p1, p2, n1) == 0, "print -> parse -> print differs");
  free(p1), free(p2);
  model_destroy(m2);
  rc = graph_fold_bn(m, &d);
  FUZZ_REPORTED(rc, &d);
  if (rc == RC_OK) rc = graph_fuse_act(m, &d);
  FUZZ_REPORTED(rc, &d);
  Module *mod = NULL;
  if (rc == RC_OK) rc = lower_model(m, &mod, &d);
  FUZZ_REPORTED(rc, &d);
  if (rc == RC_OK) {
    rc = module_verify(mod, &d);
    FUZZ_CHECK(rc == RC_OK, "a lowered graph does not verify");
  }
  if (mod) module_destroy(mod);
  model_destroy(m);
  return 0;
}
