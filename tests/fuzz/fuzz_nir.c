/*
 * fuzz_nir.c: the loop-nest IR text form (module_parse, as naasc-opt reads
 * a .nir file) and its verifier (module_verify), then the promise of
 * docs/ir.md: an accepted module prints, and the print parses and prints
 * again byte for byte.
 */
#include "tests/fuzz/fuzz.h"
#include "ir/ir.h"

static char *print_module(const Module *m, size_t *len) {
  char *buf = NULL;
  FILE *f = open_memstream(&buf, len);
  FUZZ_CHECK(f, "open_memstream");
  module_print(f, m);
  fclose(f);
  return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  Diag d;
  fuzz_diag(&d, "fuzz.nir");
  Module *m = NULL;
  Rc rc = module_parse((const char *)data, size, &m, &d);
  FUZZ_REPORTED(rc, &d);
  if (rc != RC_OK) return 0;
  rc = module_verify(m, &d);
  FUZZ_REPORTED(rc, &d);
  size_t n1, n2;
  char *p1 = print_module(m, &n1);
  Module *m2 = NULL;
  Diag d2;
  fuzz_diag(&d2, "printed.nir");
  d2.out = stderr; /* a refusal is a finding: show why */
  FUZZ_CHECK(module_parse(p1, n1, &m2, &d2) == RC_OK, "the printed module does not parse");
  char *p2 = print_module(m2, &n2);
  FUZZ_CHECK(n1 == n2 && memcmp(p1, p2, n1) == 0, "print -> parse -> print differs");
  for (uint32_t i = 0; i < m->nnests; i++) (void)nest_macs(&m->nests[i]);
  free(p1), free(p2);
  module_destroy(m2);
  module_destroy(m);
  return 0;
}
