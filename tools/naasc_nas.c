/*
 * naasc_nas.c: `naasc --search --nas nasbench201`, the network level of
 * NAAS from the command line (docs/nas.md).
 *
 *   naasc --search --nas nasbench201 --dataset cifar10 --budget eyeriss
 *         (--min-accuracy A | --max-edp X) [-o DIR] [options]
 *
 * The outer search (search/nas.c) proposes NAS-Bench-201 cells; each cell's
 * network is built by the zoo, lowered, and scored by the accelerator and
 * mapping co-search (search/search.h: naas_search) within the budget's
 * resources, one NaasCache shared by every network.  Accuracies come from
 * the table (data/nasbench201), or with --labels K from a predictor that
 * saw only K of them (search/predictor.c).
 *
 * Writes into DIR (default ./naasc-nas/), every file atomically:
 *   result.json    the network, its accelerator and figures, the run, the
 *                  predictor (with --labels) and the baselines; every side
 *                  with the mapper effort it got (the baselines are mapped
 *                  with the design's: naas_eval_fixed, and the ratios come
 *                  from naas_compare, which refuses unequal efforts)
 *   arch.yaml      the accelerator (usable with --target)
 *   network.nir    the network lowered and mapped onto it (naasc-opt reads it)
 *   network.report.txt, .json, .svg   its cost report per layer
 *   history.csv    every cell scored: code, index, arch, accuracies, EDP
 *   pareto.svg     accuracy versus EDP of every cell scored, with the front
 * Exit codes as naasc's: 0 ok, 1 bad input, 2 bad usage, 3 internal.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "backend/backend.h"
#include "frontend/frontend.h"
#include "search/search.h"
#include "passes/passes.h"
#include "tools/internal.h"

static const char usage_text[] =
    "usage: naasc --search --nas nasbench201 --budget NAME|FILE.yaml\n"
    "             (--min-accuracy PCT | --max-edp X) [options]\n"
    "\n"
    "Searches a NAS-Bench-201 network together with its accelerator and mappings:\n"
    "regularized evolution over cells, each scored by the accelerator co-search.\n"
    "\n"
    "  --dataset D          cifar10 (default), cifar100 or imagenet16-120\n"
    "  --min-accuracy PCT   minimise EDP among networks at least this accurate\n"
    "  --max-edp X          maximise accuracy among designs with EDP <= X (pJ x cycles)\n"
    "  --budget NAME|FILE   the resources (PEs, on-chip memory, bandwidth): a preset or YAML\n"
    "  --cycles N           cells proposed in all (default 100)\n"
    "  --population P       aging evolution's population (default 20)\n"
    "  --sample S           its tournament size (default 5)\n"
    "  --seed N             the same seed gives the same run (default 1)\n"
    "  --labels K           pretend only K accuracies are known: search on a predictor\n"
    "  --pseudo-rounds R    predictor self-training rounds (default 1), --pseudo-pool N (1000)\n"
    "  --verify N           with --labels: look up the measured accuracy of the N best designs\n"
    "                       by prediction and pick among them (default 10; 0: prediction alone)\n"
    "  --naas-iterations N  accelerator search generations per network (default 4)\n"
    "  --naas-popsize N     its population (default 8)\n"
    "  --map-budget N       mapper evaluations per layer and accelerator (default 400); every\n"
    "                       design's final mapping, the baselines' too, adds a pass of 20000\n"
    "  --fixed              score every network on the budget arch as is (its own dataflow)\n"
    "  --no-baselines       skip the most-accurate-network baselines in result.json\n"
    "  --reference CELL     also compare with this network (arch string or index) on the\n"
    "                       budget arch with its own dataflow, e.g. NAS-Bench-201's ResNet\n"
    "  --nb201-data FILE    the accuracy table (default: found as data/nasbench201/README.md says)\n"
    "  --jobs N, -j N       threads for the accelerator search\n"
    "  -o DIR               output directory (default naasc-nas)\n"
    "  --progress           progress lines on stderr\n";

static int usage_error(const char *fmt, const char *arg) {
  return cli_usage_error("naasc --search --nas nasbench201 --help", fmt, arg);
}

static bool parse_i64(const char *s, int64_t lo, int64_t *out) {
  char *end;
  errno = 0;
  long long v = s ? strtoll(s, &end, 10) : 0;
  if (!s || !*s || *end || errno || v < lo) return false;
  *out = v;
  return true;
}

static bool parse_f64(const char *s, double *out) {
  char *end;
  double v = s ? strtod(s, &end) : 0;
  if (!s || !*s || *end || !isfinite(v)) return false;
  *out = v;
  return true;
}

/* ---- scoring one network ------------------------------------------------------ */

typedef struct {
  Nb201Dataset dataset;
  const Arch *budget;
  NaasOptions no;
  bool fixed; /* naas_eval_fixed instead of naas_search */
  int64_t naas_candidates, naas_evals;
} HwCtx;

static const char *zoo_prefix(Nb201Dataset k) {
  return k == NB201_CIFAR10    ? "nb201:"
         : k == NB201_CIFAR100 ? "nb201-cifar100:"
                               : "nb201-imagenet16:";
}

/* Builds and lowers the network of a cell; *w gets its mac layers. */
static Rc cell_module(const HwCtx *h, int code, Module **mod, Diag *d) {
  uint8_t ops[NB201_EDGES];
  char name[NB201_ARCH_MAX + 32], arch[NB201_ARCH_MAX];
  nb201_decode(code, ops);
  nb201_format(ops, arch, sizeof arch);
  snprintf(name, sizeof name, "%s%s", zoo_prefix(h->dataset), arch);
  Model *m = NULL;
  *mod = NULL;
  Rc rc = zoo_build(name, false, 1, &m, d);
  if (rc == RC_OK) rc = graph_fold_bn(m, d);
  if (rc == RC_OK) rc = graph_fuse_act(m, d);
  if (rc == RC_OK) rc = lower_model(m, mod, d);
  model_destroy(m);
  return rc;
}

/* Scores a cell: its network's best accelerator and mappings. */
static Rc score_cell(const HwCtx *h, int code, NaasResult *r, Diag *d) {
  Module *mod = NULL;
  NaasWorkload w = {0};
  Rc rc = cell_module(h, code, &mod, d);
  if (rc == RC_OK) rc = naas_workload_add_module(&w, mod, d);
  if (rc == RC_OK)
    rc = h->fixed ? naas_eval_fixed(&w, h->budget, &h->no, r, d)
                  : naas_search(&w, h->budget, &h->no, r, d);
  naas_workload_free(&w);
  module_destroy(mod);
  return rc;
}

static Rc hw_callback(void *ctx, int code, NasPoint *out, Diag *d) {
  HwCtx *h = ctx;
  NaasResult r;
  Rc rc = score_cell(h, code, &r, d);
  if (rc != RC_OK) return rc;
  out->edp = r.edp;
  out->energy_pj = r.energy_pj;
  out->cycles = r.cycles;
  h->naas_candidates += r.candidates;
  h->naas_evals += r.evals;
  naas_result_free(&r);
  return RC_OK;
}

/* ---- outputs ------------------------------------------------------------------- */

static char *join(const char *dir, const char *name) {
  size_t n = strlen(dir) + strlen(name) + 2;
  char *p = xmalloc(n);
  if (p) snprintf(p, n, "%s/%s", dir, name);
  return p;
}

/* Writes what f (a memstream over *buf) holds to dir/name atomically. */
static Rc write_buf(const char *dir, const char *name, FILE *f, char **buf, size_t *len, Diag *d) {
  fclose(f);
  char *p = join(dir, name);
  Rc rc = p ? file_write_atomic(p, *buf, *len, d) : RC_INTERNAL;
  xfree(p);
  free(*buf);
  *buf = NULL;
  return rc;
}

static void json_str(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"' || *s == '\\') fputc('\\', f);
    fputc(*s, f);
  }
  fputc('"', f);
}

/* Attaches the result's mappings to the mac nests of mod (by shape). */
static Rc attach_mappings(Module *mod, const NaasWorkload *w, const NaasResult *r, Diag *d) {
  for (uint32_t i = 0; i < mod->nnests; i++) {
    Nest *n = &mod->nests[i];
    Problem p;
    if (!nest_problem(n, &p)) continue;
    int k = 0;
    while (k < w->nlayers && !(memcmp(w->layers[k].p.dim, p.dim, sizeof p.dim) == 0 &&
                               memcmp(w->layers[k].p.stride, p.stride, sizeof p.stride) == 0 &&
                               memcmp(w->layers[k].p.dilation, p.dilation, sizeof p.dilation) == 0))
      k++;
    if (k == w->nlayers) {
      diag_error(d, n->name, "no mapping for this layer's shape");
      return RC_INTERNAL;
    }
    NestMapping *nm = arena_alloc(&mod->arena, sizeof *nm);
    if (!nm) return RC_INTERNAL;
    snprintf(nm->target, sizeof nm->target, "%s", r->arch.name);
    for (int l = 0; l < r->arch.nlevels; l++)
      snprintf(nm->level[l], sizeof nm->level[l], "%s", r->arch.level[l].name);
    nm->m = r->mapping[k];
    n->map = nm;
  }
  return RC_OK;
}

/* Accuracy (y) against log10 EDP (x) of every cell scored; the front joined. */
static void pareto_svg(FILE *f, const NasPoint *h, const double *acc, int n, const int *front,
                       int nf, int best, double base_edp, double base_acc, double min_acc,
                       double max_edp, const char *title) {
  const double W = 640, H = 420, L = 70, R = 20, T = 40, B = 50;
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  for (int i = 0; i < n; i++) {
    double x = log10(h[i].edp);
    x0 = fmin(x0, x), x1 = fmax(x1, x), y0 = fmin(y0, acc[i]), y1 = fmax(y1, acc[i]);
  }
  if (base_edp > 0) {
    x0 = fmin(x0, log10(base_edp)), x1 = fmax(x1, log10(base_edp));
    y0 = fmin(y0, base_acc), y1 = fmax(y1, base_acc);
  }
  if (!(x1 > x0)) x0 -= 0.5, x1 += 0.5;
  if (!(y1 > y0)) y0 -= 0.5, y1 += 0.5;
  double px = 0.03 * (x1 - x0), py = 0.03 * (y1 - y0); /* margins inside the axes */
  x0 -= px, x1 += px, y0 -= py, y1 += py;
#define SX(v) (L + ((v)-x0) / (x1 - x0) * (W - L - R))
#define SY(v) (H - B - ((v)-y0) / (y1 - y0) * (H - T - B))
  fprintf(f,
          "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%g\" height=\"%g\" "
          "font-family=\"sans-serif\" font-size=\"12\">\n"
          "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
          "<text x=\"%g\" y=\"20\" font-size=\"14\">%s</text>\n",
          W, H, L, title);
  fprintf(f,
          "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" stroke=\"black\"/>\n"
          "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" stroke=\"black\"/>\n",
          L, H - B, W - R, H - B, L, T, L, H - B);
  for (int k = 0; k <= 4; k++) {
    double xv = x0 + (x1 - x0) * k / 4, yv = y0 + (y1 - y0) * k / 4;
    fprintf(f, "<text x=\"%g\" y=\"%g\" text-anchor=\"middle\">1e%.2f</text>\n", SX(xv), H - B + 18,
            xv);
    fprintf(f, "<text x=\"%g\" y=\"%g\" text-anchor=\"end\">%.2f</text>\n", L - 6, SY(yv) + 4, yv);
  }
  fprintf(f,
          "<text x=\"%g\" y=\"%g\" text-anchor=\"middle\">EDP (pJ x cycles, log scale)</text>\n"
          "<text x=\"16\" y=\"%g\" transform=\"rotate(-90 16 %g)\" text-anchor=\"middle\">"
          "accuracy (%%)</text>\n",
          (L + W - R) / 2, H - 12, (T + H - B) / 2, (T + H - B) / 2);
  if (min_acc > y0 && min_acc < y1)
    fprintf(
        f,
        "<line x1=\"%g\" y1=\"%.1f\" x2=\"%g\" y2=\"%.1f\" stroke=\"#888\" "
        "stroke-dasharray=\"4 3\"/>\n<text x=\"%g\" y=\"%.1f\" fill=\"#666\">bound %.2f%%</text>\n",
        L, SY(min_acc), W - R, SY(min_acc), L + 4, SY(min_acc) - 4, min_acc);
  if (max_edp > 0 && log10(max_edp) > x0 && log10(max_edp) < x1)
    fprintf(
        f,
        "<line x1=\"%.1f\" y1=\"%g\" x2=\"%.1f\" y2=\"%g\" stroke=\"#888\" "
        "stroke-dasharray=\"4 3\"/>\n<text x=\"%.1f\" y=\"%g\" fill=\"#666\">EDP bound</text>\n",
        SX(log10(max_edp)), T, SX(log10(max_edp)), H - B, SX(log10(max_edp)) + 4, T + 12);
  for (int i = 0; i < n; i++)
    fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"#9ab\"/>\n", SX(log10(h[i].edp)),
            SY(acc[i]));
  fprintf(f, "<polyline fill=\"none\" stroke=\"#c33\" stroke-width=\"1.5\" points=\"");
  for (int i = 0; i < nf; i++)
    fprintf(f, "%.1f,%.1f ", SX(log10(h[front[i]].edp)), SY(acc[front[i]]));
  fprintf(f, "\"/>\n");
  for (int i = 0; i < nf; i++)
    fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"#c33\"/>\n",
            SX(log10(h[front[i]].edp)), SY(acc[front[i]]));
  if (best >= 0)
    fprintf(f,
            "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"7\" fill=\"none\" stroke=\"black\" "
            "stroke-width=\"2\"/>\n",
            SX(log10(h[best].edp)), SY(acc[best]));
  if (base_edp > 0)
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"8\" height=\"8\" fill=\"#36c\"/>\n",
            SX(log10(base_edp)) - 4, SY(base_acc) - 4);
  /* The legend, bottom right (the front rises to the top right). */
  double lx = W - R - 250, ly = H - B - 70;
  fprintf(
      f,
      "<rect x=\"%g\" y=\"%g\" width=\"244\" height=\"64\" fill=\"white\" stroke=\"#ccc\"/>\n"
      "<circle cx=\"%g\" cy=\"%g\" r=\"2.5\" fill=\"#9ab\"/><text x=\"%g\" y=\"%g\">network scored</text>\n"
      "<circle cx=\"%g\" cy=\"%g\" r=\"3.5\" fill=\"#c33\"/><text x=\"%g\" y=\"%g\">Pareto front</text>\n"
      "<circle cx=\"%g\" cy=\"%g\" r=\"6\" fill=\"none\" stroke=\"black\" stroke-width=\"2\"/>"
      "<text x=\"%g\" y=\"%g\">the design</text>\n",
      lx, ly, lx + 12, ly + 14, lx + 24, ly + 18, lx + 12, ly + 30, lx + 24, ly + 34, lx + 12,
      ly + 48, lx + 24, ly + 52);
  if (base_edp > 0)
    fprintf(
        f,
        "<rect x=\"%g\" y=\"%g\" width=\"8\" height=\"8\" fill=\"#36c\"/>"
        "<text x=\"%g\" y=\"%g\">most accurate,</text><text x=\"%g\" y=\"%g\">own dataflow</text>\n",
        lx + 118, ly + 10, lx + 132, ly + 18, lx + 132, ly + 34);
  fprintf(f, "</svg>\n");
#undef SX
#undef SY
}

/* ---- main ------------------------------------------------------------------------ */

typedef struct {
  double edp, energy_pj, cycles, seconds;
  int64_t candidates;
  NaasEffort effort;
} Figures;

static Figures figures_of(const NaasResult *r) {
  return (Figures){r->edp, r->energy_pj, r->cycles, r->seconds, r->candidates, r->effort};
}

static void json_figures(FILE *f, const char *key, const Figures *g, bool comma) {
  fprintf(f,
          "    \"%s\": {\"edp\": %.17g, \"energy_pj\": %.17g, \"cycles\": %.17g, "
          "\"candidates\": %lld, \"seconds\": %.3f, \"effort\": ",
          key, g->edp, g->energy_pj, g->cycles, (long long)g->candidates, g->seconds);
  naas_effort_print_json(f, &g->effort);
  fprintf(f, "}%s\n", comma ? "," : "");
}

int naasc_nas_main(int argc, char **argv) {
  const char *space = NULL, *budget_name = NULL, *dir = "naasc-nas", *data = NULL,
             *reference = NULL;
  Nb201Dataset dataset = NB201_CIFAR10;
  bool have_min = false, have_max = false, baselines = true, fixed = false, progress = false;
  double min_acc = 0, max_edp = 0;
  int64_t cycles = 100, population = 20, sample = 5, seed = 1, labels = 0, rounds = 1, pool = 1000,
          verify = 10, naas_iters = 4, naas_pop = 8, map_budget = 400, jobs = 1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = NULL;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      fputs(usage_text, stdout);
      return RC_OK;
    } else if (strcmp(a, "--search") == 0) {
      continue;
    } else if (cli_is_flag(a, "--nas")) {
      if (!(space = cli_flag_value(argc, argv, &i, "--nas")))
        return usage_error("%s", "--nas needs a space (nasbench201)");
    } else if (cli_is_flag(a, "--dataset")) {
      v = cli_flag_value(argc, argv, &i, "--dataset");
      if (!v || !nb201_dataset_parse(v, &dataset))
        return usage_error("--dataset takes cifar10, cifar100 or imagenet16-120, not '%s'",
                           v ? v : "");
    } else if (cli_is_flag(a, "--min-accuracy")) {
      v = cli_flag_value(argc, argv, &i, "--min-accuracy");
      if (!parse_f64(v, &min_acc) || min_acc < 0 || min_acc > 100)
        return usage_error("--min-accuracy takes a percentage, not '%s'", v ? v : "");
      have_min = true;
    } else if (cli_is_flag(a, "--max-edp")) {
      v = cli_flag_value(argc, argv, &i, "--max-edp");
      if (!parse_f64(v, &max_edp) || max_edp <= 0)
        return usage_error("--max-edp takes a positive number, not '%s'", v ? v : "");
      have_max = true;
    } else if (cli_is_flag(a, "--budget")) {
      if (!(budget_name = cli_flag_value(argc, argv, &i, "--budget")))
        return usage_error("%s", "--budget needs a preset name or a file");
    } else if (cli_is_flag(a, "--reference")) {
      if (!(reference = cli_flag_value(argc, argv, &i, "--reference")))
        return usage_error("%s", "--reference needs a cell (arch string or index)");
    } else if (cli_is_flag(a, "--nb201-data")) {
      if (!(data = cli_flag_value(argc, argv, &i, "--nb201-data")))
        return usage_error("%s", "--nb201-data needs a file");
    } else if (strcmp(a, "-o") == 0) {
      if (i + 1 >= argc) return usage_error("%s", "-o needs a directory");
      dir = argv[++i];
    } else if (strcmp(a, "--no-baselines") == 0) {
      baselines = false;
    } else if (strcmp(a, "--fixed") == 0) {
      fixed = true;
    } else if (strcmp(a, "--progress") == 0) {
      progress = true;
    } else {
      static const struct {
        const char *flag;
        int64_t lo;
      } ints[] = {{"--cycles", 1},       {"--population", 1},
                  {"--sample", 1},       {"--seed", 0},
                  {"--labels", 2},       {"--pseudo-rounds", 0},
                  {"--pseudo-pool", 0},  {"--naas-iterations", 1},
                  {"--naas-popsize", 2}, {"--map-budget", 10},
                  {"--jobs", 1},         {"-j", 1},
                  {"--verify", 0}};
      int64_t *dst[] = {&cycles,     &population, &sample,     &seed, &labels, &rounds, &pool,
                        &naas_iters, &naas_pop,   &map_budget, &jobs, &jobs,   &verify};
      int k = 0, nk = (int)(sizeof ints / sizeof ints[0]);
      while (k < nk && !cli_is_flag(a, ints[k].flag)) k++;
      if (k == nk) return usage_error("unknown option '%s' for 'naasc --search --nas'", a);
      v = cli_flag_value(argc, argv, &i, ints[k].flag);
      if (!parse_i64(v, ints[k].lo, dst[k]))
        return usage_error(ints[k].lo ? "%s takes a positive integer" : "%s takes an integer >= 0",
                           ints[k].flag);
    }
  }
  if (!space || strcmp(space, "nasbench201") != 0)
    return usage_error("--nas takes 'nasbench201', not '%s'", space ? space : "");
  if (!budget_name) return usage_error("%s", "naasc --search --nas needs --budget NAME|FILE.yaml");
  if (have_min == have_max)
    return usage_error("%s", "give exactly one of --min-accuracy and --max-edp");
  if (sample > population) return usage_error("%s", "--sample must not exceed --population");
  if (population > 100000 || cycles > 10000000)
    return usage_error("%s", "--population or --cycles too large");

  Diag d;
  diag_init(&d, stderr, "naasc");
  static Arch budget;
  Rc rc = arch_resolve(budget_name, &budget, &d);
  if (rc != RC_OK) return rc;
  char path[4096];
  if (!nb201_table_locate(data, path, sizeof path)) {
    diag_error(&d, NULL,
               "the NAS-Bench-201 table (data/nasbench201/accuracy.csv) was not found; "
               "give --nb201-data FILE or set NAASC_NB201_CSV");
    return RC_BADINPUT;
  }
  Nb201Table *tab = xmalloc(sizeof *tab);
  double *truth = xmalloc(sizeof(double) * NAS_CELLS), *seen = xmalloc(sizeof(double) * NAS_CELLS);
  if (!tab || !truth || !seen) {
    xfree(tab), xfree(truth), xfree(seen);
    return RC_INTERNAL;
  }
  rc = nb201_table_load(path, tab, &d);
  if (rc != RC_OK) {
    xfree(tab), xfree(truth), xfree(seen);
    return rc;
  }
  int top = -1; /* the most accurate connected cell on the dataset */
  for (int c = 0; c < NAS_CELLS; c++) {
    uint8_t ops[NB201_EDGES];
    nb201_decode(c, ops);
    truth[c] = nb201_connected(ops) ? tab->acc[tab->by_code[c]][dataset] : NAN;
    seen[c] = truth[c];
    if (!isnan(truth[c]) && (top < 0 || truth[c] > truth[top])) top = c;
  }

  int ref = -1; /* --reference */
  if (reference) {
    uint8_t ops[NB201_EDGES];
    const char *digits = reference + strspn(reference, "0123456789");
    if (*reference && !*digits) {
      int r = nb201_table_find_index(tab, strtol(reference, NULL, 10));
      if (r >= 0) ref = nb201_code(tab->ops[r]);
    } else if (nb201_parse(reference, ops, &d) == RC_OK) {
      ref = nb201_code(ops);
    } else {
      nb201_table_free(tab);
      xfree(tab), xfree(truth), xfree(seen);
      return RC_BADINPUT;
    }
    if (ref < 0 || isnan(truth[ref])) {
      diag_error(&d, NULL, "--reference %s: %s", reference,
                 ref < 0 ? "no such index" : "the cell has no network (node 3 is unreachable)");
      nb201_table_free(tab);
      xfree(tab), xfree(truth), xfree(seen);
      return RC_BADINPUT;
    }
  }
  if (have_min && min_acc > truth[top]) {
    diag_error(&d, NULL,
               "--min-accuracy %g: no NAS-Bench-201 network reaches it on %s (the best "
               "reaches %.2f%%)",
               min_acc, nb201_dataset_name(dataset), truth[top]);
    nb201_table_free(tab);
    xfree(tab), xfree(truth), xfree(seen);
    return RC_BADINPUT;
  }

  /* Predictor mode: K labelled cells, the rest predicted. */
  double tau = NAN, tau_plain = NAN, pred_seconds = 0;
  int *labelled = NULL;
  if (labels > 0) {
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int *valid = xmalloc(sizeof(int) * NAS_CELLS), nv = 0;
    double *y = xmalloc(sizeof(double) * (size_t)labels), *ht = xmalloc(sizeof(double) * NAS_CELLS),
           *hp = xmalloc(sizeof(double) * NAS_CELLS);
    if (!valid || !y || !ht || !hp) {
      rc = RC_INTERNAL;
    } else {
      for (int c = 0; c < NAS_CELLS; c++)
        if (!isnan(truth[c])) valid[nv++] = c;
      if (labels >= nv) {
        diag_error(&d, NULL, "--labels %lld: the space has only %d networks", (long long)labels,
                   nv);
        rc = RC_BADINPUT;
      }
    }
    if (rc == RC_OK) {
      Rng rng;
      rng_seed(&rng, (uint64_t)seed ^ 0x6c6162656c73ULL);
      for (int i = 0; i < labels; i++) { /* a seeded draw of the K labelled cells */
        int j = i + (int)(rng_uniform(&rng) * (nv - i)), t = valid[i];
        valid[i] = valid[j], valid[j] = t;
        y[i] = truth[valid[i]];
      }
      PredictorOptions po;
      predictor_options_default(&po);
      po.seed = (uint64_t)seed;
      po.pseudo_rounds = (int)rounds;
      po.pool = (int)pool;
      int K = (int)labels, nh = nv - K;
      Predictor *p = predictor_fit(valid, y, K, valid + K, nh, &po);
      po.pseudo_rounds = 0;
      Predictor *plain = predictor_fit(valid, y, K, NULL, 0, &po);
      if (!p || !plain) {
        rc = RC_INTERNAL;
      } else {
        for (int i = 0; i < nh; i++) {
          ht[i] = truth[valid[K + i]];
          hp[i] = seen[valid[K + i]] = predictor_predict(p, valid[K + i]);
        }
        tau = nas_kendall_tau(ht, hp, nh);
        for (int i = 0; i < nh; i++) hp[i] = predictor_predict(plain, valid[K + i]);
        tau_plain = nas_kendall_tau(ht, hp, nh);
        labelled = valid, valid = NULL;
      }
      predictor_destroy(p);
      predictor_destroy(plain);
    }
    xfree(valid), xfree(y), xfree(ht), xfree(hp);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    pred_seconds = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    if (progress && rc == RC_OK)
      fprintf(stderr,
              "nas: predictor on %lld labels: held-out Kendall tau %.4f (%.4f without "
              "pseudo-labels)\n",
              (long long)labels, tau, tau_plain);
  }

  NaasCache *cache = naas_cache_create();
  HwCtx h = {.dataset = dataset, .budget = &budget, .fixed = fixed};
  naas_options_default(&h.no);
  h.no.iterations = naas_iters;
  h.no.popsize = (int)naas_pop;
  h.no.map_budget = map_budget;
  h.no.seed = (uint64_t)seed;
  h.no.jobs = (int)jobs;
  h.no.cache = cache;
  NasOptions o;
  nas_options_default(&o);
  o.goal = have_min ? NAS_MIN_EDP : NAS_MAX_ACC;
  o.min_accuracy = min_acc;
  o.max_edp = max_edp;
  o.population = (int)population;
  o.sample = (int)sample;
  o.cycles = (int)cycles;
  o.seed = (uint64_t)seed;
  o.accuracy = seen;
  o.hw = hw_callback;
  o.hw_ctx = &h;
  o.progress = progress;
  NasResult nr = {0};
  if (!cache && rc == RC_OK) rc = RC_INTERNAL;
  if (rc == RC_OK) rc = nas_search(&o, &nr, &d);

  /* The design again, for its accelerator and mappings (the cache and the
   * seed make it the same run), and the baselines. */
  NaasResult best = {0}, base = {0}, seq = {0}, refr = {0};
  Figures fb = {0}, fs = {0}, fr = {0};
  NaasRatios qb = {0}, qs = {0}, qr = {0}; /* the design against each baseline (naas_compare) */
  Module *mod = NULL;
  NaasWorkload w = {0};
  int pick = rc == RC_OK ? (nr.best >= 0 ? nr.best : nr.closest) : -1;
  /* Predictor mode: the design by predicted accuracy, then (SemiNAS's last
   * step) the `verify` best by prediction get their measured accuracy and
   * the design is the best of those by it.  Labels spent: K + new ones. */
  int pred_pick = pick, verified = 0, new_labels = 0;
  if (pick >= 0 && labels > 0 && verify > 0) {
    bool *taken = xcalloc((size_t)nr.nhist, sizeof *taken);
    NasPoint bt = {0};
    int chosen = -1;
    for (int v = 0; taken && v < verify && v < nr.nhist; v++) {
      int k = -1;
      for (int i = 0; i < nr.nhist; i++)
        if (!taken[i] && (k < 0 || nas_better(&o, &nr.hist[i], &nr.hist[k]))) k = i;
      taken[k] = true;
      verified++;
      new_labels += nr.hist[k].acc != truth[nr.hist[k].code];
      NasPoint t = nr.hist[k];
      t.acc = truth[t.code];
      if (chosen < 0 || nas_better(&o, &t, &bt)) chosen = k, bt = t;
    }
    xfree(taken);
    if (chosen >= 0) pick = chosen;
  }
  bool met =
      pick >= 0 && (have_min ? truth[nr.hist[pick].code] >= min_acc : nr.hist[pick].edp <= max_edp);
  if (pick >= 0) {
    int code = nr.hist[pick].code;
    rc = cell_module(&h, code, &mod, &d);
    if (rc == RC_OK) rc = naas_workload_add_module(&w, mod, &d);
    if (rc == RC_OK)
      rc = fixed ? naas_eval_fixed(&w, &budget, &h.no, &best, &d)
                 : naas_search(&w, &budget, &h.no, &best, &d);
    if (rc == RC_OK) rc = attach_mappings(mod, &w, &best, &d);
  }
  if (rc == RC_OK && baselines) {
    HwCtx hb = h;
    hb.fixed = true;
    rc = score_cell(&hb, top, &base, &d);
    fb = figures_of(&base);
    if (rc == RC_OK) rc = score_cell(&h, top, &seq, &d);
    fs = figures_of(&seq);
    if (rc == RC_OK) rc = naas_compare(&best, &base, &qb, &d);
    if (rc == RC_OK) rc = naas_compare(&best, &seq, &qs, &d);
  }
  if (rc == RC_OK && ref >= 0) {
    HwCtx hb = h;
    hb.fixed = true;
    rc = score_cell(&hb, ref, &refr, &d);
    fr = figures_of(&refr);
    if (rc == RC_OK) rc = naas_compare(&best, &refr, &qr, &d);
  }

  if (rc == RC_OK && mkdir(dir, 0777) != 0 && errno != EEXIST) {
    diag_error(&d, dir, "cannot create the output directory: %s", strerror(errno));
    rc = RC_BADINPUT;
  }
  char *buf = NULL;
  size_t len = 0;
  FILE *f;
  if (rc == RC_OK) {
    NasPoint *b = &nr.hist[pick];
    int row = tab->by_code[b->code];
    char arch[NB201_ARCH_MAX], toparch[NB201_ARCH_MAX];
    nb201_format(tab->ops[row], arch, sizeof arch);
    nb201_format(tab->ops[tab->by_code[top]], toparch, sizeof toparch);
    double *tacc = xmalloc(sizeof(double) * (size_t)nr.nhist);
    int *front = xmalloc(sizeof(int) * (size_t)nr.nhist);
    NasPoint *tp = xmalloc(sizeof(NasPoint) * (size_t)nr.nhist);
    if (!tacc || !front || !tp) rc = RC_INTERNAL;
    int nf = 0;
    if (rc == RC_OK) {
      for (int i = 0; i < nr.nhist; i++) {
        tp[i] = nr.hist[i];
        tp[i].acc = tacc[i] = truth[nr.hist[i].code];
      }
      nf = nas_pareto(tp, nr.nhist, front); /* on measured accuracies */
    }
    /* result.json */
    if (rc == RC_OK && (f = open_memstream(&buf, &len))) {
      fprintf(f, "{\n  \"space\": \"nasbench201\",\n  \"dataset\": \"%s\",\n",
              nb201_dataset_name(dataset));
      fprintf(f, "  \"goal\": \"%s\",\n  \"bound\": %.6g,\n  \"bound_met\": %s,\n",
              have_min ? "min-edp s.t. accuracy >= bound" : "max-accuracy s.t. edp <= bound",
              have_min ? min_acc : max_edp, met ? "true" : "false");
      fprintf(f, "  \"network\": {\"index\": %d, \"code\": %d, \"arch\": ", tab->index[row],
              b->code);
      json_str(f, arch);
      fprintf(f, ", \"accuracy\": %.4f, \"accuracy_seen\": %.4f, \"labelled\": %s},\n",
              truth[b->code], b->acc,
              labels > 0 && seen[b->code] == truth[b->code] ? "true" : "false");
      fprintf(f, "  \"accelerator\": {\"name\": ");
      json_str(f, best.arch.name);
      fprintf(f,
              ", \"edp\": %.17g, \"energy_pj\": %.17g, \"cycles\": %.17g, \"area_um2\": %.17g, "
              "\"mode\": \"%s\", \"effort\": ",
              best.edp, best.energy_pj, best.cycles, best.area_um2, fixed ? "fixed" : "joint");
      naas_effort_print_json(f, &best.effort);
      fputs("},\n", f);
      fprintf(
          f,
          "  \"search\": {\"networks_evaluated\": %d, \"proposals\": %lld, \"seconds\": %.3f, "
          "\"seed\": %lld, \"cycles\": %lld, \"population\": %lld, \"sample\": %lld,\n"
          "             \"naas_iterations\": %lld, \"naas_popsize\": %lld, \"map_budget\": %lld, "
          "\"naas_candidates\": %lld, \"naas_evals\": %lld},\n",
          nr.nhist, (long long)nr.proposals, nr.seconds, (long long)seed, (long long)cycles,
          (long long)population, (long long)sample, (long long)naas_iters, (long long)naas_pop,
          (long long)map_budget, (long long)h.naas_candidates, (long long)h.naas_evals);
      if (labels > 0) {
        const NasPoint *pp = &nr.hist[pred_pick];
        fprintf(f,
                "  \"predictor\": {\"labels\": %lld, \"kendall_tau\": %.4f, "
                "\"kendall_tau_without_pseudo_labels\": %.4f, \"pseudo_rounds\": %lld, "
                "\"pseudo_pool\": %lld, \"seconds\": %.3f,\n"
                "                \"verified\": %d, \"labels_used\": %lld, \"by_prediction_alone\": "
                "{\"index\": %d, \"accuracy\": %.4f, \"accuracy_seen\": %.4f, \"edp\": %.17g}},\n",
                (long long)labels, tau, tau_plain, (long long)rounds, (long long)pool, pred_seconds,
                verified, (long long)labels + new_labels, tab->index[tab->by_code[pp->code]],
                truth[pp->code], pp->acc, pp->edp);
      }
      if (baselines) {
        fprintf(
            f,
            "  \"baselines\": {\n    \"most_accurate\": {\"index\": %d, \"code\": %d, \"arch\": ",
            tab->index[tab->by_code[top]], top);
        json_str(f, toparch);
        fprintf(f, ", \"accuracy\": %.4f},\n", truth[top]);
        json_figures(f, "own_dataflow", &fb, true);
        json_figures(f, "sequential", &fs, false);
        fprintf(f, "  },\n");
        fprintf(f, "  \"vs_own_dataflow\": {\"edp_reduction\": %.4f, \"accuracy_gain\": %.4f},\n",
                qb.edp_gain, truth[b->code] - truth[top]);
        fprintf(f, "  \"vs_sequential\": {\"edp_reduction\": %.4f, \"accuracy_gain\": %.4f},\n",
                qs.edp_gain, truth[b->code] - truth[top]);
      }
      if (ref >= 0) {
        char rs[NB201_ARCH_MAX];
        nb201_format(tab->ops[tab->by_code[ref]], rs, sizeof rs);
        fprintf(f, "  \"reference\": {\"index\": %d, \"code\": %d, \"arch\": ",
                tab->index[tab->by_code[ref]], ref);
        json_str(f, rs);
        fprintf(f, ", \"accuracy\": %.4f,\n", truth[ref]);
        json_figures(f, "own_dataflow", &fr, false);
        fprintf(f,
                "  },\n  \"vs_reference\": {\"edp_reduction\": %.4f, \"accuracy_gain\": %.4f},\n",
                qr.edp_gain, truth[b->code] - truth[ref]);
      }
      fprintf(f, "  \"pareto\": [");
      for (int i = 0; i < nf; i++)
        fprintf(f, "%s{\"code\": %d, \"accuracy\": %.4f, \"edp\": %.17g}", i ? ", " : "",
                tp[front[i]].code, tacc[front[i]], tp[front[i]].edp);
      fprintf(f, "]\n}\n");
      rc = write_buf(dir, "result.json", f, &buf, &len, &d);
    }
    if (rc == RC_OK && (f = open_memstream(&buf, &len))) {
      fprintf(f, "code,index,arch,accuracy,accuracy_seen,edp,energy_pj,cycles\n");
      for (int i = 0; i < nr.nhist; i++) {
        const NasPoint *p = &nr.hist[i];
        char s[NB201_ARCH_MAX];
        nb201_format(tab->ops[tab->by_code[p->code]], s, sizeof s);
        fprintf(f, "%d,%d,%s,%.4f,%.4f,%.17g,%.17g,%.17g\n", p->code,
                tab->index[tab->by_code[p->code]], s, truth[p->code], p->acc, p->edp, p->energy_pj,
                p->cycles);
      }
      rc = write_buf(dir, "history.csv", f, &buf, &len, &d);
    }
    if (rc == RC_OK && (f = open_memstream(&buf, &len))) {
      char title[160];
      snprintf(title, sizeof title, "NAS-Bench-201 %s on %s: %d networks scored",
               nb201_dataset_name(dataset), budget.name, nr.nhist);
      pareto_svg(f, tp, tacc, nr.nhist, front, nf, pick, baselines ? fb.edp : 0, truth[top],
                 have_min ? min_acc : -1, have_min ? 0 : max_edp, title);
      rc = write_buf(dir, "pareto.svg", f, &buf, &len, &d);
    }
    if (rc == RC_OK && (f = open_memstream(&buf, &len))) {
      arch_print(f, &best.arch);
      rc = write_buf(dir, "arch.yaml", f, &buf, &len, &d);
    }
    if (rc == RC_OK && (f = open_memstream(&buf, &len))) {
      module_print(f, mod);
      rc = write_buf(dir, "network.nir", f, &buf, &len, &d);
    }
    if (rc == RC_OK && (f = open_memstream(&buf, &len))) {
      char *js = join(dir, "network.report.json");
      rc = js ? report_write(mod, &best.arch, f, js, &d) : RC_INTERNAL;
      xfree(js);
      Rc wrc = write_buf(dir, "network.report.txt", f, &buf, &len, &d);
      if (rc == RC_OK) rc = wrc;
    }
    if (rc == RC_OK)
      printf("network %d %s: %s accuracy %.2f%%%s; EDP %.4e pJ x cycles on %s; %d networks "
             "scored in %.1f s -> %s/\n",
             tab->index[row], arch, nb201_dataset_name(dataset), truth[b->code],
             met ? "" : " (the bound was not met: the closest design)", best.edp, best.arch.name,
             nr.nhist, nr.seconds, dir);
    xfree(tacc), xfree(front), xfree(tp);
    if (rc == RC_OK && !met) {
      diag_error(&d, NULL, "no network scored met the bound (%s %g); %s/ holds the closest",
                 have_min ? "--min-accuracy" : "--max-edp", have_min ? min_acc : max_edp, dir);
      rc = RC_BADINPUT;
    }
  }
  naas_workload_free(&w);
  module_destroy(mod);
  naas_result_free(&best), naas_result_free(&base), naas_result_free(&seq);
  naas_result_free(&refr);
  nas_result_free(&nr);
  naas_cache_destroy(cache);
  nb201_table_free(tab);
  xfree(tab), xfree(truth), xfree(seen), xfree(labelled);
  return rc;
}
