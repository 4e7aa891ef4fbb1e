/*
 * report.c: compares two CostResults figure by figure, as `naasc cost
 * --check` and tests/costmodel print them: access counts and tile sizes
 * must be equal; cycles, energies and utilization must agree within
 * COST_REL_TOL (Timeloop evaluates cycles in floating point, README 4.6).
 * cost_compare_levels compares only the levels a reference states (Timeloop's
 * statistics leave out the levels that keep nothing).
 */
#include <math.h>

#include "backend/backend.h"

typedef struct {
  FILE *out;
  bool only_failures;
  int failures;
} Cmp;

static double rel_diff(double got, double want) {
  if (got == want) return 0;
  double den = fabs(want) > 0 ? fabs(want) : fabs(got);
  return fabs(got - want) / den;
}

static void line(Cmp *c, const char *what, const char *fig, bool exact, double got, double want) {
  double r = rel_diff(got, want);
  bool ok = exact ? got == want : r <= COST_REL_TOL;
  if (!ok) c->failures++;
  if (!c->out || (c->only_failures && ok)) return;
  if (exact)
    fprintf(c->out, "  %-40s %18.0f %18.0f %10.3g%%  %s\n", fig ? fig : what, got, want, 100 * r,
            ok ? "ok" : "DIFF");
  else
    fprintf(c->out, "  %-40s %18.6g %18.6g %10.3g%%  %s\n", fig ? fig : what, got, want, 100 * r,
            ok ? "ok" : "DIFF");
}

int cost_compare(const CostResult *got, const CostResult *want, const Arch *a, FILE *out,
                 bool only_failures) {
  return cost_compare_levels(got, want, a, NULL, out, only_failures);
}

int cost_compare_levels(const CostResult *got, const CostResult *want, const Arch *a,
                        const bool *stated, FILE *out, bool only_failures) {
  Cmp c = {out, only_failures, 0};
  char fig[96];
  static const char *const kinds[3] = {"reads", "fills", "updates"};
  if (out && !only_failures)
    fprintf(out, "  %-40s %18s %18s %11s\n", "figure", "naasc", "reference", "rel.diff");
  line(&c, "macs", NULL, true, (double)got->macs, (double)want->macs);
  line(&c, "mac_utilized_instances", NULL, true, (double)got->mac_utilized_instances,
       (double)want->mac_utilized_instances);
  for (int l = 0; l < a->nlevels; l++) {
    if (stated && !stated[l]) continue;
    const LevelCost *g = &got->level[l], *w = &want->level[l];
    for (int t = 0; t < NTENSORS; t++) {
      const int64_t gv[3] = {g->total[t].reads, g->total[t].fills, g->total[t].updates};
      const int64_t wv[3] = {w->total[t].reads, w->total[t].fills, w->total[t].updates};
      for (int k = 0; k < 3; k++) {
        snprintf(fig, sizeof fig, "%s.%c.%s", a->level[l].name, accel_tensor_letter(t), kinds[k]);
        line(&c, fig, fig, true, (double)gv[k], (double)wv[k]);
      }
      snprintf(fig, sizeof fig, "%s.%c.tile_words", a->level[l].name, accel_tensor_letter(t));
      line(&c, fig, fig, true, (double)g->tile_words[t], (double)w->tile_words[t]);
    }
  }
  line(&c, "compute_cycles", NULL, false, (double)got->compute_cycles,
       (double)want->compute_cycles);
  for (int l = 0; l < a->nlevels; l++) {
    if (stated && !stated[l]) continue;
    snprintf(fig, sizeof fig, "%s.cycles", a->level[l].name);
    line(&c, fig, fig, false, (double)got->level[l].cycles, (double)want->level[l].cycles);
  }
  line(&c, "cycles", NULL, false, (double)got->cycles, (double)want->cycles);
  line(&c, "mac.energy_pJ", NULL, false, got->mac_energy_pj, want->mac_energy_pj);
  for (int l = 0; l < a->nlevels; l++) {
    if (stated && !stated[l]) continue;
    snprintf(fig, sizeof fig, "%s.energy_pJ", a->level[l].name);
    line(&c, fig, fig, false, got->level[l].energy_pj, want->level[l].energy_pj);
  }
  line(&c, "energy_pJ", NULL, false, got->energy_pj, want->energy_pj);
  line(&c, "utilization", NULL, false, got->utilization, want->utilization);
  return c.failures;
}
