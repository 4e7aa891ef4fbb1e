/*
 * fuzz_timeloop.c: the Timeloop and Accelergy reader (timeloop_load: `naasc
 * cost --timeloop FILES`, `--target` of a Timeloop specification;
 * docs/timeloop.md) and Timeloop's statistics reader (timeloop_stats_load).
 * The input is up to four files joined by lines "#%%" (fuzz.h): the first
 * three are YAML files read together (an architecture, constraints,
 * problem, mapping, ERT and ART sections in any of them), the fourth, if
 * there, a *.stats.txt.  Then what `naasc cost --timeloop` does with what
 * it accepts: a mapping that cost_check_mapping accepts must evaluate, and
 * on the design costed by naasc's technology model too (its energies
 * change, not its counts); the result printed in Timeloop's terms; the
 * statistics compared with it; and with an architecture and a problem, the
 * mapper (48 evaluations), whose best mapping must keep the
 * specification's constraints (`naasc cost --timeloop --map`).
 */
#include "tests/fuzz/fuzz.h"
#include "backend/backend.h"
#include "search/search.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static TimeloopSpec s;
  static Arch ta;
  static CostResult want;
  static MapResult res;
  const uint8_t *part[4];
  size_t len[4];
  int n = fuzz_parts(data, size, part, len, 4);
  int ny = n < 3 ? n : 3;
  const char *paths[3];
  for (int i = 0; i < ny; i++) paths[i] = fuzz_file(i, part[i], len[i]);
  Diag d;
  fuzz_diag(&d, NULL);
  Rc rc = timeloop_load(paths, ny, 0, &s, &d);
  FUZZ_REPORTED(rc, &d);
  if (rc != RC_OK) return 0;
  FILE *sink = fuzz_sink();
  bool arch = s.have & TL_HAVE_ARCH, prob = s.have & TL_HAVE_PROBLEM;
  if (arch && prob && (s.have & TL_HAVE_MAPPING)) {
    rc = cost_check_mapping(&s.problem, &s.arch, &s.mapping, &d);
    FUZZ_REPORTED(rc, &d);
    if (rc == RC_OK) {
      CostResult r;
      FUZZ_CHECK(cost_eval(&s.problem, &s.arch, &s.mapping, &r) == COST_OK,
                 "a mapping cost_check_mapping accepts does not evaluate");
      timeloop_print_result(sink, &s, &r);
      Rc tr = timeloop_tech_arch(&s, 0, &ta, &d);
      FUZZ_REPORTED(tr, &d);
      if (tr == RC_OK) {
        CostResult t;
        FUZZ_CHECK(cost_eval(&s.problem, &ta, &s.mapping, &t) == COST_OK,
                   "the mapping does not evaluate on the technology model's design");
      }
      if (n == 4) {
        bool stated[ACCEL_MAX_LEVELS];
        Rc sr = timeloop_stats_load(fuzz_file(3, part[3], len[3]), &s, &want, stated, &d);
        FUZZ_REPORTED(sr, &d);
        if (sr == RC_OK) (void)cost_compare_levels(&r, &want, &s.arch, stated, sink, true);
      }
    }
  }
  if (arch && prob) {
    MapperOptions o;
    mapper_options_default(&o);
    o.budget = 48;
    o.seed = 1;
    rc = mapper_run(&s.problem, &s.arch, &o, &res, &d);
    FUZZ_REPORTED(rc, &d);
    if (rc == RC_OK && res.valid > 0)
      FUZZ_CHECK(mapcons_satisfied(&s.arch, &s.problem, &res.best, NULL, 0),
                 "the mapper's best mapping breaks the specification's constraints");
  }
  return 0;
}
