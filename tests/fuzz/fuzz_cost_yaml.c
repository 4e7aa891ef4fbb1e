/*
 * fuzz_cost_yaml.c: `naasc cost --arch A.yaml --problem P.yaml --mapping
 * M.yaml`: the problem and mapping readers (and the architecture reader
 * they depend on), then the mapping's check and its cost.  The input is the
 * three files joined by lines "#%%" (fuzz.h): arch, problem, mapping.  As
 * in the tool, a mapping that passes cost_check_mapping must evaluate.
 */
#include "tests/fuzz/fuzz.h"
#include "backend/backend.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static Arch a;
  static Problem p;
  static Mapping m;
  const uint8_t *part[3];
  size_t len[3];
  Diag d;
  if (!fuzz_arch_and_parts(data, size, part, len, &a, &d)) return 0;
  Rc rc = problem_load(fuzz_file(1, part[1], len[1]), &p, &d);
  FUZZ_REPORTED(rc, &d);
  if (rc != RC_OK) return 0;
  rc = mapping_load(fuzz_file(2, part[2], len[2]), &a, &m, &d);
  FUZZ_REPORTED(rc, &d);
  if (rc != RC_OK) return 0;
  rc = cost_check_mapping(&p, &a, &m, &d);
  FUZZ_REPORTED(rc, &d);
  if (rc != RC_OK) return 0;
  CostResult r;
  FUZZ_CHECK(cost_eval(&p, &a, &m, &r) == COST_OK,
             "a mapping cost_check_mapping accepts does not evaluate");
  return 0;
}
