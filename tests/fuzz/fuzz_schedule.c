/*
 * fuzz_schedule.c: the whole-network schedule's text form (schedule_parse,
 * as `naasc M.nir --target T --schedule=FILE` reads it), with the model it
 * is read against: an architecture (arch_load: the --target file) and a
 * mapped loop-nest module (module_parse, module_verify, then
 * sched_model_create, which costs every nest's mapping on the arch).  The
 * input is the three joined by lines "#%%" (fuzz.h): arch, module,
 * schedule.  Then what the tool does with an accepted schedule: its
 * evaluation (schedule_eval), its print, which must parse again and print
 * byte for byte the same (docs/cost-model.md, "Whole-network schedules"),
 * and its groups attached to the module (sched_attach, --emit=nir), which
 * must verify.
 */
#include "tests/fuzz/fuzz.h"
#include "backend/backend.h"

static char *print_schedule(const Module *m, const Arch *a, const Schedule *s, size_t *len) {
  char *buf = NULL;
  FILE *f = open_memstream(&buf, len);
  FUZZ_CHECK(f, "open_memstream");
  schedule_print(f, m, a, s);
  fclose(f);
  return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static Arch a;
  const uint8_t *part[3];
  size_t len[3];
  Diag d;
  if (!fuzz_arch_and_parts(data, size, part, len, &a, &d)) return 0;
  Module *m = NULL;
  Rc rc = module_parse((const char *)part[1], len[1], &m, &d);
  FUZZ_REPORTED(rc, &d);
  if (rc == RC_OK) rc = module_verify(m, &d);
  FUZZ_REPORTED(rc, &d);
  SchedModel *sm = NULL;
  if (rc == RC_OK) rc = sched_model_create(m, &a, &sm, &d);
  FUZZ_REPORTED(rc, &d);
  Schedule *s = xcalloc(1, sizeof *s), *s2 = xcalloc(1, sizeof *s2);
  CostResult *per = m ? xcalloc(m->nnests + 1, sizeof *per) : NULL;
  FUZZ_CHECK(s && s2 && (per || !m), "xcalloc");
  if (rc == RC_OK) rc = schedule_parse((const char *)part[2], len[2], sm, s, &d);
  FUZZ_REPORTED(rc, &d);
  if (rc == RC_OK) {
    SchedTotals tot;
    Rc er = schedule_eval(sm, s, per, &tot, &d);
    FUZZ_REPORTED(er, &d);
    size_t n1, n2;
    char *p1 = print_schedule(m, &a, s, &n1);
    Diag d2;
    fuzz_diag(&d2, "printed.sched");
    d2.out = stderr; /* a refusal is a finding: show why */
    FUZZ_CHECK(schedule_parse(p1, n1, sm, s2, &d2) == RC_OK, "the printed schedule does not parse");
    char *p2 = print_schedule(m, &a, s2, &n2);
    FUZZ_CHECK(n1 == n2 && memcmp(p1, p2, n1) == 0, "print -> parse -> print differs");
    free(p1), free(p2);
    if (er == RC_OK) {
      Rc ar = sched_attach(sm, s, m, &d);
      FUZZ_REPORTED(ar, &d);
      if (ar == RC_OK) {
        Diag d3;
        fuzz_diag(&d3, "attached.nir");
        d3.out = stderr;
        FUZZ_CHECK(module_verify(m, &d3) == RC_OK,
                   "the module with the schedule's groups does not verify");
      }
    }
  }
  xfree(per);
  xfree(s);
  xfree(s2);
  sched_model_destroy(sm);
  module_destroy(m);
  return 0;
}
