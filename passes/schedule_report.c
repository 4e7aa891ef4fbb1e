/*
 * schedule_report.c: the whole-network schedule of a mapped program and its
 * report, as `naasc MODEL --target T --report[=FILE.json] [--schedule=...]
 * [--emit=schedule]` makes them; the command line (tools/naasc.c) and the
 * C API (api/naasc.c) both call it, so their reports are the same bytes.
 *
 * "best" searches a schedule (sched_search) and keeps it only if the
 * evaluation (schedule_eval) confirms that it beats layer by layer; a file
 * name reads one (schedule_parse); "layer" is no groups.  schedule_attach
 * puts the schedule into the module as fused groups (the loop-nest IR's
 * NestGroup), for --emit=nir and the command stream; for a stream, "best"
 * searches only the groups the stream runs (SchedOptions.stream).
 */
#include <string.h>

#include "backend/backend.h"
#include "passes/passes.h"
#include "search/search.h"

/* The schedule file `path` (at most 64 MiB) into s; errors name the file. */
static Rc read_schedule(const char *path, SchedModel *sm, Schedule *s, Diag *d) {
  uint8_t *buf = NULL;
  size_t len = 0;
  const char *file = d->file;
  d->file = path;
  Rc rc = file_read_all(path, (size_t)64 << 20, &buf, &len, d);
  if (rc == RC_OK) rc = schedule_parse((const char *)buf, len, sm, s, d);
  d->file = file;
  xfree(buf);
  return rc;
}

Rc schedule_report(const Program *prog, const char *how, FILE *f, bool emit_sched,
                   const char *report, Diag *d) {
  SchedModel *sm = NULL;
  Schedule *s = xcalloc(1, sizeof *s), *none = xcalloc(1, sizeof *none);
  CostResult *per = xcalloc(prog->mod->nnests + 1, sizeof *per);
  CostResult *per0 = xcalloc(prog->mod->nnests + 1, sizeof *per0);
  Rc rc =
      s && none && per && per0 ? sched_model_create(prog->mod, prog->arch, &sm, d) : RC_INTERNAL;
  SchedTotals tot, tot0;
  if (rc == RC_OK && strcmp(how, "best") == 0) {
    SchedOptions o;
    sched_options_default(&o);
    SchedSearchStats st;
    rc = sched_search(sm, &o, s, &st, d);
    if (rc == RC_OK) rc = schedule_eval(sm, s, per, &tot, d);
    if (rc == RC_OK) rc = schedule_eval(sm, none, per0, &tot0, d);
    /* The search's counts and the evaluation's agree up to rounding; keep
     * the layer schedule unless the evaluation confirms the gain. */
    if (rc == RC_OK && !(tot.edp < tot0.edp)) {
      s->ngroups = 0;
      memcpy(per, per0, sizeof *per * prog->mod->nnests);
    }
  } else if (rc == RC_OK && strcmp(how, "layer") != 0) {
    rc = read_schedule(how, sm, s, d);
    if (rc == RC_OK) rc = schedule_eval(sm, s, per, &tot, d);
  }
  if (rc == RC_OK && emit_sched) schedule_print(f, prog->mod, prog->arch, s);
  if (rc == RC_OK && report)
    rc = report_write_schedule(prog->mod, prog->arch, s, per, emit_sched ? NULL : f,
                               strcmp(report, "-") ? report : NULL, d);
  sched_model_destroy(sm);
  xfree(s);
  xfree(none);
  xfree(per);
  xfree(per0);
  return rc;
}

Rc schedule_attach(Program *prog, const char *how, bool stream, Diag *d) {
  SchedModel *sm = NULL;
  Schedule *s = xcalloc(1, sizeof *s), *none = xcalloc(1, sizeof *none);
  CostResult *per = xcalloc(prog->mod->nnests + 1, sizeof *per);
  Rc rc = s && none && per ? sched_model_create(prog->mod, prog->arch, &sm, d) : RC_INTERNAL;
  SchedTotals tot, tot0;
  if (rc == RC_OK && strcmp(how, "best") == 0) {
    SchedOptions o;
    sched_options_default(&o);
    o.stream = stream;
    SchedSearchStats st;
    rc = sched_search(sm, &o, s, &st, d);
    if (rc == RC_OK) rc = schedule_eval(sm, s, per, &tot, d);
    if (rc == RC_OK) rc = schedule_eval(sm, none, per, &tot0, d);
    if (rc == RC_OK && !(tot.edp < tot0.edp)) s->ngroups = 0; /* as schedule_report */
  } else if (rc == RC_OK && strcmp(how, "layer") != 0) {
    rc = read_schedule(how, sm, s, d);
  }
  if (rc == RC_OK) rc = sched_attach(sm, s, prog->mod, d);
  sched_model_destroy(sm);
  xfree(s);
  xfree(none);
  xfree(per);
  return rc;
}
