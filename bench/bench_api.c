/*
 * bench_api.c: the C side of the Python module's overhead measurement
 * (bench/bench_api.py; docs/benchmarks.md, "C API and Python module").
 * Built as a small shared library that bench_api.py loads into its own
 * process, so that the C loops and the Python loops run in the same
 * process, alternating, under the same load.
 *
 * bench_api_round times `cost` on one layer through the C API of
 * api/naasc.h, two ways, and stores microseconds per call:
 *   handles  naasc_cost on a target, problem and mapping loaded once
 *            (n calls);
 *   files    naasc_cost_files: the three files loaded, the cost evaluated
 *            (what `naasc cost --arch --problem --mapping` does; nf calls).
 * A count of 0 skips that way.
 * Times are the thread's CPU time (CLOCK_THREAD_CPUTIME_ID; Python's
 * time.thread_time), which the other loads of a shared machine disturb
 * less than wall time.  It returns 0, or 1 (the message in ctx) if a call failed.
 */
#include <time.h>

#include "api/naasc.h"

int bench_api_round(NaascContext *ctx, const char *arch, const char *problem, const char *mapping,
                    long n, long nf, double *handles_us, double *files_us);

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int bench_api_round(NaascContext *ctx, const char *arch, const char *problem, const char *mapping,
                    long n, long nf, double *handles_us, double *files_us) {
  NaascTarget *t;
  NaascProblem *p;
  NaascMapping *m;
  if (n < 0 || nf < 0 || naasc_layer_load(ctx, arch, problem, mapping, &t, &p, &m) != NAASC_OK)
    return 1;
  NaascCost c;
  int rc = 0;
  double t0 = now();
  for (long i = 0; i < n && !rc; i++) rc = naasc_cost(ctx, t, p, m, &c) != NAASC_OK;
  *handles_us = n ? (now() - t0) / (double)n * 1e6 : 0;
  t0 = now();
  for (long i = 0; i < nf && !rc; i++)
    rc = naasc_cost_files(ctx, arch, problem, mapping, &c) != NAASC_OK;
  *files_us = nf ? (now() - t0) / (double)nf * 1e6 : 0;
  naasc_target_destroy(t);
  naasc_problem_destroy(p);
  naasc_mapping_destroy(m);
  return rc;
}
