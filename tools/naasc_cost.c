/*
 * naasc_cost.c: `naasc cost`, the command line of the cost model.
 *
 *   naasc cost --check CASE.json [CASE.json ...]
 *       evaluates each Timeloop validation case and prints, per figure,
 *       naasc's value, the reference value and the relative difference;
 *       exits 0 only if every count is equal and every cycle, energy and
 *       utilization figure is within 1%.
 *   naasc cost --arch A.yaml --problem P.yaml --mapping M.yaml
 *       evaluates one mapping and prints its cost (docs/cost-model.md);
 *       the three may also be Timeloop files (told apart by content).
 *   naasc cost --timeloop PATH...
 *       evaluates a Timeloop specification (files or folders, e.g. the
 *       ref_outputs of a Timeloop run) and prints the figures in Timeloop's
 *       terms; with a *.stats.txt among them, compares figure by figure as
 *       --check does (docs/timeloop.md).
 *   naasc cost --timeloop PATH... --map [--budget N] [--seed N]
 *       maps the specification's problem on its architecture under its
 *       mapping constraints with naasc's mapper, prints the mapping in
 *       Timeloop's form and its figures, and with a mapping among the
 *       inputs (Timeloop's mapper's), compares the two (docs/timeloop.md).
 *   --emit=timeloop -o DIR (with --arch/--problem/--mapping or --timeloop)
 *       also writes the triple as Timeloop input files into DIR.
 *
 * Exit codes as everywhere in naasc: 0 ok, 1 differences or bad input,
 * 2 usage.  tools/naasc.c calls naasc_cost_main with argv[0] == "cost".
 *
 * --arch/--problem/--mapping with naasc's files goes through the C API
 * (naasc_layer_load, naasc_cost_table, naasc_timeloop_write).  --check and
 * --timeloop (with --map and --technology) are validation against
 * Timeloop's references: they read backend's TimeloopSpec and CostCase
 * (design name, statistics file, constraints, figure-by-figure comparison),
 * which the API does not expose, so they call backend/backend.h directly.
 */
#include <string.h>

#include <stdlib.h>

#include "backend/backend.h"
#include "search/search.h"
#include "tools/internal.h"

static const char usage_text[] =
    "usage: naasc cost --check CASE.json [CASE.json ...] [--quiet]\n"
    "       naasc cost --arch ARCH.yaml --problem PROBLEM.yaml --mapping MAPPING.yaml\n"
    "       naasc cost --timeloop PATH... [--quiet]\n"
    "       naasc cost --timeloop PATH... --map [--budget N] [--seed N]\n"
    "       naasc cost --timeloop PATH... --technology NODE|spec\n"
    "         [--emit=timeloop -o DIR]\n"
    "\n"
    "  --check       compare with the reference figures of Timeloop validation cases\n"
    "                (tests/data/timeloop); exit 0 only if all counts are equal\n"
    "                and cycles, energies and utilization are within 1%\n"
    "  --quiet, -q   with --check or --timeloop, print only the figures that differ\n"
    "  --arch, --problem, --mapping\n"
    "                evaluate one mapping given as YAML files (docs/cost-model.md);\n"
    "                naasc's own or Timeloop's, told apart by their content\n"
    "  --timeloop PATH...\n"
    "                evaluate a Timeloop v0.3/v0.4 specification (files or folders: arch,\n"
    "                problem, mapping, Accelergy ERT/ART) and print Timeloop's figures; with a\n"
    "                *.stats.txt, compare with it (exit 0 only if every count is equal and\n"
    "                energy and cycles are within 1%) (docs/timeloop.md)\n"
    "  --technology NODE|spec\n"
    "                cost the Timeloop design with naasc's technology model (at NODE, e.g.\n"
    "                45nm, or at the spec's own `technology`) beside its ERT/ART figures,\n"
    "                component by component (docs/timeloop.md)\n"
    "  --map         map the Timeloop problem on its architecture with naasc's mapper,\n"
    "                under the specification's mapping constraints; print the mapping\n"
    "                (Timeloop's form) and its figures, and compare them with a mapping\n"
    "                among the inputs (e.g. timeloop-mapper's *.map.yaml)\n"
    "  --budget N    --map: cost evaluations (default 20000)\n"
    "  --seed N      --map: the mapper's seed (default 1)\n"
    "  --emit=timeloop -o DIR\n"
    "                also write the architecture, problem and mapping as Timeloop files\n";

static int usage_error(const char *msg) {
  fprintf(stderr, "naasc cost: %s\n%s", msg, usage_text);
  return RC_USAGE;
}

static int check_cases(char **paths, int n, bool quiet) {
  static CostCase c; /* large; one at a time */
  int ok = 0, bad = 0;
  for (int i = 0; i < n; i++) {
    Diag d;
    diag_init(&d, stderr, paths[i]);
    if (case_load(paths[i], &c, &d) != RC_OK) {
      bad++;
      continue;
    }
    printf("== %s (%s)\n", c.name, paths[i]);
    CostResult r;
    int err = cost_eval(&c.problem, &c.arch, &c.mapping, &r);
    if (err) {
      d.file = paths[i];
      cost_check_mapping(&c.problem, &c.arch, &c.mapping, &d);
      printf("  FAIL: the mapping cannot be evaluated (%s)\n", cost_error_name(err));
      bad++;
      continue;
    }
    int diff = cost_compare(&r, &c.expected, &c.arch, stdout, quiet);
    if (diff) {
      printf("  FAIL: %d figure%s differ%s\n", diff, diff == 1 ? "" : "s", diff == 1 ? "s" : "");
      bad++;
    } else {
      printf("  ok: every count equal, cycles and energy within 1%%\n");
      ok++;
    }
  }
  printf("%d case%s: %d ok, %d failed\n", n, n == 1 ? "" : "s", ok, bad);
  return bad ? RC_BADINPUT : RC_OK;
}

/* Writes the triple as Timeloop files into dir (--emit=timeloop). */
static int emit_timeloop(const char *dir, const Arch *a, const Problem *p, const Mapping *m) {
  Diag d;
  diag_init(&d, stderr, dir);
  return timeloop_write(dir, NULL, a, p, m, &d);
}

/* naasc cost --timeloop: evaluates, prints in Timeloop's terms, compares
 * with the statistics when given. */
static int eval_timeloop(const char *const *paths, int n, bool quiet, const char *emit_dir) {
  static TimeloopSpec s;
  static CostResult want;
  Diag d;
  diag_init(&d, stderr, NULL);
  if (timeloop_load(paths, n, TL_HAVE_MAPPING, &s, &d) != RC_OK) return RC_BADINPUT;
  d.file = paths[0];
  if (cost_check_mapping(&s.problem, &s.arch, &s.mapping, &d) != RC_OK) return RC_BADINPUT;
  CostResult r;
  if (cost_eval(&s.problem, &s.arch, &s.mapping, &r) != COST_OK) return RC_INTERNAL;
  printf("naasc cost: Timeloop design '%s' (%s)\n", s.design, paths[0]);
  char why[512];
  if (mapcons_any(&s.arch.cons) &&
      !mapcons_satisfied(&s.arch, &s.problem, &s.mapping, why, sizeof why))
    diag_warn(&d, NULL,
              "the mapping breaks the specification's constraints (%s); evaluated all the same, as "
              "timeloop-model does",
              why);
  if (!quiet) timeloop_print_result(stdout, &s, &r);
  if (emit_dir && emit_timeloop(emit_dir, &s.arch, &s.problem, &s.mapping) != RC_OK)
    return RC_BADINPUT;
  if (!s.stats_path[0]) return RC_OK;
  bool stated[ACCEL_MAX_LEVELS];
  if (timeloop_stats_load(s.stats_path, &s, &want, stated, &d) != RC_OK) return RC_BADINPUT;
  printf("\n== compared with %s\n", s.stats_path);
  int diff = cost_compare_levels(&r, &want, &s.arch, stated, stdout, quiet);
  if (diff) {
    printf("  FAIL: %d figure%s differ%s\n", diff, diff == 1 ? "" : "s", diff == 1 ? "s" : "");
    return RC_BADINPUT;
  }
  printf("  ok: every count equal, cycles and energy within 1%%\n");
  return RC_OK;
}

/* naasc cost --timeloop --technology: the design costed with naasc's
 * technology model beside its ERT/ART figures, level by level. */
static int tech_timeloop(const char *const *paths, int n, double nm) {
  static TimeloopSpec s;
  static Arch ta;
  Diag d;
  diag_init(&d, stderr, NULL);
  if (timeloop_load(paths, n, TL_HAVE_MAPPING, &s, &d) != RC_OK) return RC_BADINPUT;
  d.file = paths[0];
  if (cost_check_mapping(&s.problem, &s.arch, &s.mapping, &d) != RC_OK) return RC_BADINPUT;
  if (timeloop_tech_arch(&s, nm, &ta, &d) != RC_OK) return RC_BADINPUT;
  CostResult r, t;
  if (cost_eval(&s.problem, &s.arch, &s.mapping, &r) != COST_OK ||
      cost_eval(&s.problem, &ta, &s.mapping, &t) != COST_OK)
    return RC_INTERNAL;
  printf("naasc cost: Timeloop design '%s' (%s), costed with its ERT and with naasc's "
         "technology model at %g nm\n",
         s.design, paths[0], ta.tech_nm);
  printf("  %-28s %14s %14s %10s\n", "component", "ERT (pJ)", "model (pJ)", "model/ERT");
  for (int l = 0; l < s.arch.nlevels; l++) {
    if (!s.arch.level[l].keeps_allowed) continue;
    double e = r.level[l].energy_pj, m = t.level[l].energy_pj;
    printf("  %-28s %14.6g %14.6g %10.3f\n", s.arch.level[l].name, e, m, e > 0 ? m / e : 0);
  }
  printf("  %-28s %14.6g %14.6g %10.3f\n", s.mac_name, r.mac_energy_pj, t.mac_energy_pj,
         r.mac_energy_pj > 0 ? t.mac_energy_pj / r.mac_energy_pj : 0);
  printf("  %-28s %14.6g %14.6g %10.3f\n", "total", r.energy_pj, t.energy_pj,
         r.energy_pj > 0 ? t.energy_pj / r.energy_pj : 0);
  double er = r.energy_pj, et = t.energy_pj; /* on chip: without the DRAM levels */
  for (int l = 0; l < s.arch.nlevels; l++)
    if (s.arch.level[l].is_dram) er -= r.level[l].energy_pj, et -= t.level[l].energy_pj;
  printf("  %-28s %14.6g %14.6g %10.3f\n", "on chip (total - DRAM)", er, et, er > 0 ? et / er : 0);
  printf("  area (um^2): ERT/ART %.6g, model %.6g\n", arch_area_um2(&s.arch), arch_area_um2(&ta));
  return RC_OK;
}

static void print_figures(const char *who, const CostResult *r) {
  printf("%-22s energy %.6g pJ, cycles %lld, utilization %.4f, EDP %.6e pJ*cycles\n", who,
         r->energy_pj, (long long)r->cycles, r->utilization, r->energy_pj * (double)r->cycles);
}

/* naasc cost --timeloop --map: naasc's mapper under the spec's constraints,
 * and the comparison with the spec's own mapping when there is one. */
static int map_timeloop(const char *const *paths, int n, int64_t budget, uint64_t seed) {
  static TimeloopSpec s;
  Diag d;
  diag_init(&d, stderr, NULL);
  if (timeloop_load(paths, n, TL_HAVE_ARCH | TL_HAVE_PROBLEM, &s, &d) != RC_OK) return RC_BADINPUT;
  d.file = paths[0];
  MapperOptions o;
  mapper_options_default(&o);
  o.budget = budget;
  o.seed = seed;
  static MapResult res;
  if (mapper_run(&s.problem, &s.arch, &o, &res, &d) != RC_OK) return RC_BADINPUT;
  char why[512];
  if (!mapcons_satisfied(&s.arch, &s.problem, &res.best, why, sizeof why)) {
    fprintf(stderr, "naasc cost: internal error: the mapper broke a constraint: %s\n", why);
    return RC_INTERNAL;
  }
  printf("naasc cost --map: Timeloop design '%s' (%s), %lld evaluations, %lld valid\n", s.design,
         paths[0], (long long)res.evals, (long long)res.valid);
  if (timeloop_print_mapping(stdout, &s.arch, &s.problem, &res.best, &d) != RC_OK)
    return RC_BADINPUT;
  printf("\n");
  print_figures("naasc mapper:", &res.cost);
  if (!(s.have & TL_HAVE_MAPPING)) return RC_OK;
  CostResult r;
  if (cost_check_mapping(&s.problem, &s.arch, &s.mapping, &d) != RC_OK) return RC_BADINPUT;
  if (cost_eval(&s.problem, &s.arch, &s.mapping, &r) != COST_OK) return RC_INTERNAL;
  print_figures("the given mapping:", &r);
  bool kept = mapcons_satisfied(&s.arch, &s.problem, &s.mapping, why, sizeof why);
  printf("the given mapping keeps the constraints: %s%s%s\n", kept ? "yes" : "no (",
         kept ? "" : why, kept ? "" : ")");
  printf("naasc / given:         energy %.4f, cycles %.4f, EDP %.4f\n",
         res.cost.energy_pj / r.energy_pj, (double)res.cost.cycles / (double)r.cycles,
         res.cost.energy_pj * (double)res.cost.cycles / (r.energy_pj * (double)r.cycles));
  return RC_OK;
}

static int eval_files(const char *ap, const char *pp, const char *mp, const char *emit_dir) {
  SpecKind k[3] = {spec_file_kind(ap), spec_file_kind(pp), spec_file_kind(mp)};
  const char *paths[3] = {ap, pp, mp};
  for (int i = 0; i < 3; i++)
    if (k[i] == SPEC_OTHER) {
      fprintf(stderr,
              "naasc cost: %s: error: neither a naasc %s file (docs/cost-model.md) nor a Timeloop "
              "specification (docs/timeloop.md)\n",
              paths[i],
              i == 0   ? "architecture"
              : i == 1 ? "problem"
                       : "mapping");
      return RC_BADINPUT;
    }
  if (k[0] == SPEC_TIMELOOP || k[1] == SPEC_TIMELOOP || k[2] == SPEC_TIMELOOP)
    return eval_timeloop(paths, 3, false, emit_dir);
  NaascContext *ctx = cli_context();
  NaascTarget *t = NULL;
  NaascProblem *p = NULL;
  NaascMapping *m = NULL;
  char *table = NULL;
  NaascStatus st = ctx ? naasc_layer_load(ctx, ap, pp, mp, &t, &p, &m) : NAASC_INTERNAL;
  if (st == NAASC_OK) st = naasc_cost_table(ctx, t, p, m, &table);
  if (st == NAASC_OK) {
    printf("problem %s on arch %s\n\n", naasc_problem_name(p), naasc_target_name(t));
    fputs(table, stdout);
    if (emit_dir) st = naasc_timeloop_write(ctx, emit_dir, NULL, t, p, m);
  }
  naasc_string_free(table);
  naasc_target_destroy(t);
  naasc_problem_destroy(p);
  naasc_mapping_destroy(m);
  naasc_context_destroy(ctx);
  return (int)st;
}

int naasc_cost_main(int argc, char **argv) {
  const char *arch = NULL, *problem = NULL, *mapping = NULL, *emit = NULL, *out = NULL;
  char *cases[4096];
  int ncases = 0;
  bool check = false, quiet = false, timeloop = false, map = false;
  double tech_nm = -1; /* --technology: -1 none, 0 the spec's node */
  int64_t budget = 20000;
  uint64_t seed = 1;
  for (int i = 1; i < argc; i++) {
    const char *s = argv[i];
    if (strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0) {
      fputs(usage_text, stdout);
      return RC_OK;
    } else if (strcmp(s, "--check") == 0) {
      check = true;
    } else if (strcmp(s, "--quiet") == 0 || strcmp(s, "-q") == 0) {
      quiet = true;
    } else if (strcmp(s, "--timeloop") == 0) {
      timeloop = true;
    } else if (strcmp(s, "--map") == 0) {
      map = true;
    } else if (strcmp(s, "--technology") == 0) {
      if (i + 1 >= argc) return usage_error("--technology takes a node such as 45nm, or 'spec'");
      const char *v = argv[++i];
      char *end = NULL;
      tech_nm = strcmp(v, "spec") == 0 ? 0 : strtod(v, &end);
      if (end && (end == v || strcmp(end, "nm") != 0 || !(tech_nm > 0)))
        return usage_error("--technology takes a node such as 45nm, or 'spec'");
    } else if (strcmp(s, "--budget") == 0 || strcmp(s, "--seed") == 0) {
      char *end;
      if (i + 1 >= argc) return usage_error("--budget and --seed take a number");
      long long v = strtoll(argv[++i], &end, 10);
      if (*end || end == argv[i] || v < (s[2] == 'b' ? 1 : 0))
        return usage_error("--budget takes a positive integer, --seed a non-negative one");
      if (s[2] == 'b')
        budget = v;
      else
        seed = (uint64_t)v;
    } else if (strncmp(s, "--emit=", 7) == 0) {
      emit = s + 7;
      if (strcmp(emit, "timeloop") != 0) return usage_error("--emit takes 'timeloop'");
    } else if (strcmp(s, "-o") == 0) {
      if (i + 1 >= argc) return usage_error("-o needs a folder");
      out = argv[++i];
    } else if (strcmp(s, "--arch") == 0 || strcmp(s, "--problem") == 0 ||
               strcmp(s, "--mapping") == 0) {
      if (i + 1 >= argc) return usage_error("an option needs a file name");
      const char **dst = s[2] == 'a' ? &arch : s[2] == 'p' ? &problem : &mapping;
      if (*dst) return usage_error("an option is given twice");
      *dst = argv[++i];
    } else if (s[0] == '-' && s[1]) {
      fprintf(stderr, "naasc cost: unknown option '%s'\n%s", s, usage_text);
      return RC_USAGE;
    } else {
      if (ncases >= (int)(sizeof cases / sizeof cases[0])) return usage_error("too many files");
      cases[ncases++] = argv[i];
    }
  }
  bool files = arch || problem || mapping;
  if (check + files + timeloop > 1)
    return usage_error("--check, --timeloop and --arch/--problem/--mapping exclude each other");
  if (emit && !out) return usage_error("--emit=timeloop needs -o DIR");
  if (out && !emit) return usage_error("-o needs --emit=timeloop");
  if (emit && check)
    return usage_error("--emit=timeloop goes with --timeloop or --arch/--problem/--mapping");
  if (map && (!timeloop || emit)) return usage_error("--map goes with --timeloop (not --emit)");
  if ((budget != 20000 || seed != 1) && !map)
    return usage_error("--budget and --seed go with --map");
  if (map) {
    if (!ncases) return usage_error("--map needs files or folders of a Timeloop specification");
    return map_timeloop((const char *const *)cases, ncases, budget, seed);
  }
  if (tech_nm >= 0 && (!timeloop || map || emit))
    return usage_error("--technology goes with --timeloop (not --map or --emit)");
  if (timeloop && tech_nm >= 0) {
    if (!ncases)
      return usage_error("--timeloop needs files or folders of a Timeloop specification");
    return tech_timeloop((const char *const *)cases, ncases, tech_nm);
  }
  if (timeloop) {
    if (!ncases)
      return usage_error("--timeloop needs files or folders of a Timeloop specification");
    return eval_timeloop((const char *const *)cases, ncases, quiet, out);
  }
  if (check) {
    if (!ncases) return usage_error("--check needs at least one CASE.json");
    return check_cases(cases, ncases, quiet);
  }
  if (files) {
    if (!arch || !problem || !mapping)
      return usage_error("--arch, --problem and --mapping go together");
    if (ncases) return usage_error("unexpected file argument");
    return eval_files(arch, problem, mapping, out);
  }
  return usage_error("nothing to do");
}
