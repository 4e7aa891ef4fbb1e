/*
 * fuzz_arch.c: the architecture YAML reader (arch_load_text, as --target
 * FILE.yaml and --budget FILE.yaml read it), then what the tools do with an
 * accepted architecture: print it and read the print back (docs: print ->
 * load -> print is byte-identical), hash it for a command stream, and map a
 * small convolution on it with a small mapper budget (mapper_run: the
 * mapper and the cost model on a fuzzed architecture).
 */
#include "tests/fuzz/fuzz.h"
#include "backend/backend.h"
#include "stream/stream.h"
#include "search/search.h"

static char *print_arch(const Arch *a, size_t *len) {
  char *buf = NULL;
  FILE *f = open_memstream(&buf, len);
  FUZZ_CHECK(f, "open_memstream");
  arch_print(f, a);
  fclose(f);
  return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static Arch a, b;
  Diag d;
  fuzz_diag(&d, "fuzz.yaml");
  Rc rc = arch_load_text((const char *)data, size, "fuzz.yaml", &a, &d);
  FUZZ_REPORTED(rc, &d);
  if (rc != RC_OK) return 0;
  size_t n1, n2;
  char *p1 = print_arch(&a, &n1);
  Diag d2;
  fuzz_diag(&d2, "printed.yaml");
  d2.out = stderr; /* a refusal is a finding: show why */
  FUZZ_CHECK(arch_load_text(p1, n1, "printed.yaml", &b, &d2) == RC_OK,
             "the printed architecture does not load");
  char *p2 = print_arch(&b, &n2);
  FUZZ_CHECK(n1 == n2 && memcmp(p1, p2, n1) == 0, "print -> load -> print differs");
  free(p1), free(p2);
  (void)cmdf_arch_hash(&a);
  /* A 3x3 convolution of 8 to 16 channels on 14x14, mapped with 64 evaluations. */
  Problem p = {
      .name = "conv", .dim = {1, 1, 16, 8, 14, 14, 3, 3}, .stride = {1, 1}, .dilation = {1, 1}};
  MapperOptions mo;
  mapper_options_default(&mo);
  mo.budget = 64;
  mo.seed = 1;
  MapResult r;
  rc = mapper_run(&p, &a, &mo, &r, &d);
  FUZZ_REPORTED(rc, &d);
  if (rc == RC_OK) {
    CostResult c;
    FUZZ_CHECK(cost_eval(&p, &a, &r.best, &c) == COST_OK,
               "the mapper's best mapping does not evaluate");
  }
  return 0;
}
