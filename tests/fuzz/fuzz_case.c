/*
 * fuzz_case.c: the reader of Timeloop validation cases (case_load, the JSON
 * of `naasc cost --check CASE.json` and of --target CASE.json), then what
 * --check does with an accepted case: evaluate its mapping (or report why it
 * cannot be) and compare the figures with the case's.
 */
#include "tests/fuzz/fuzz.h"
#include "backend/backend.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static CostCase c;
  Diag d;
  fuzz_diag(&d, NULL);
  Rc rc = case_load(fuzz_file(0, data, size), &c, &d);
  FUZZ_REPORTED(rc, &d);
  if (rc != RC_OK) return 0;
  CostResult r;
  if (cost_eval(&c.problem, &c.arch, &c.mapping, &r) != COST_OK) {
    FUZZ_CHECK(cost_check_mapping(&c.problem, &c.arch, &c.mapping, &d) != RC_OK && d.nerrors > 0,
               "cost_eval refuses a mapping cost_check_mapping accepts");
    return 0;
  }
  (void)cost_compare(&r, &c.expected, &c.arch, fuzz_sink(), false);
  return 0;
}
