/*
 * naasc_search.c: `naasc --search`, the NAAS accelerator and mapping
 * co-search (search/search.h) from the command line (docs/search.md).
 *
 *   naasc --search MODEL.onnx|ZOO-NAME [MORE ...] --budget PRESET|FILE.yaml [-o DIR] [options]
 *
 * Writes into DIR (default ./naasc-search/), every file atomically:
 *   arch.yaml            the best accelerator (usable with --target)
 *   MODEL.nir            each model lowered and mapped onto it
 *   MODEL.cmd            its command stream on the design (naasc-run runs it)
 *   MODEL.report.txt     its cost report (table), MODEL.report.json and .svg
 *   result.json          the figures of the best design and of the run
 *   search.json          every candidate evaluated
 *   convergence.svg      best and population score per iteration
 *   pareto.svg           EDP versus area of every valid candidate, with the front
 * With MPI (built with NAASC_MPI, run under mpirun) only rank 0 writes.
 * Exit codes as naasc's: 0 ok, 1 bad input, 2 bad usage, 3 internal.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stream/stream.h"
#include "backend/backend.h"
#include "frontend/frontend.h"
#include "search/search.h"
#include "passes/passes.h"
#include "tools/internal.h"

#ifdef NAASC_MPI
#include <mpi.h>
#endif

static const char usage_text[] =
    "usage: naasc --search MODEL.onnx|ZOO-NAME [MORE ...] --budget NAME|FILE.yaml [options]\n"
    "\n"
    "Searches an accelerator (PEs, array shape and parallel dims, buffer sizes, bandwidth)\n"
    "within the budget design's resources, and the mapping of every layer (docs/search.md).\n"
    "\n"
    "options:\n"
    "  --budget NAME|FILE       the budget: eyeriss, nvdla-256, nvdla-1024, shidiannao, edgetpu\n"
    "                           or an architecture YAML file (its PEs, on-chip bytes, bandwidth)\n"
    "  -o DIR                   output folder (default ./naasc-search)\n"
    "  --objective edp|energy|latency   what to minimise (default edp; geomean over models)\n"
    "  --max-area UM2           bound on the design's area (um^2)\n"
    "  --max-latency CYCLES     bound on every model's cycles\n"
    "  --max-energy PJ          bound on every model's energy\n"
    "  --iterations N           generations of the outer search (default 60; gradient:\n"
    "                           roundings of the descent, every 20 steps, default 30)\n"
    "  --popsize N              candidates per generation (default 16)\n"
    "  --map-budget N           mapper evaluations per layer and candidate (default 1000)\n"
    "  --final-map-budget N     the best design's final mapping per layer (default 20000; the\n"
    "                           better of it and the search's mappings is kept)\n"
    "  --optimizer cmaes|random|gradient   the outer optimizer (default cmaes; random is the\n"
    "                           baseline; gradient: sizes and mappings in one descent on the\n"
    "                           differentiable cost model, the budget's connectivity kept)\n"
    "  --sizing-only            keep the budget's connectivity, search the sizes only\n"
    "  --fixed                  no search: the budget design itself, each layer's best mapping\n"
    "  --seed N                 the same seed gives the same result for any --jobs or -np\n"
    "  --jobs N, -j N           threads (default: one per online CPU)\n"
    "  --checkpoint FILE        save the search state after every iteration (atomically)\n"
    "  --resume                 continue from --checkpoint FILE\n"
    "  --no-progress            no progress line (it is shown when stderr is a terminal)\n"
    "  -q                       no summary on stdout\n"
    "\n"
    "Run over MPI ranks: mpirun -np N naasc --search ... (needs a build with NAASC_MPI).\n"
    "exit codes: 0 ok, 1 bad input, 2 bad usage, 3 internal error\n";

static int usage_error(const char *fmt, const char *arg) {
  return cli_usage_error("naasc --search --help", fmt, arg);
}

static bool parse_i64(const char *v, int64_t *out, int64_t min) {
  char *end;
  errno = 0;
  long long x = strtoll(v, &end, 10);
  if (errno || *end || !*v || x < min) return false;
  *out = x;
  return true;
}

static bool parse_pos(const char *v, double *out) {
  char *end;
  double x = strtod(v, &end);
  if (*end || !*v || !(x > 0) || !isfinite(x)) return false;
  *out = x;
  return true;
}

/* The model's label: file name without folder and .onnx, or the zoo name. */
static char *label_of(const char *arg) {
  const char *b = strrchr(arg, '/');
  b = b ? b + 1 : arg;
  size_t n = strlen(b);
  if (n > 5 && strcmp(b + n - 5, ".onnx") == 0) n -= 5;
  char *s = malloc(n + 1);
  if (!s) return NULL;
  for (size_t i = 0; i < n; i++) s[i] = (b[i] == ':' || b[i] == '|' || b[i] == ' ') ? '_' : b[i];
  s[n] = 0;
  return s;
}

static bool is_zoo_name(const char *s) {
  int n;
  const ZooEntry *z = zoo_list(&n);
  for (int k = 0; k < n; k++)
    if (strcmp(z[k].name, s) == 0) return true;
  return strncmp(s, "nb201:", 6) == 0;
}

/* Imports (or builds from the zoo) and lowers one model. */
/* Lowers a model; *graph keeps the graph for its weights (the command
 * stream of the best design), the caller destroys it. */
static Rc load_module(const char *arg, const char *label, Module **out, Model **graph, Diag *d) {
  Model *g = NULL;
  Rc rc;
  if (access(arg, F_OK) != 0 && is_zoo_name(arg)) {
    d->file = "naasc zoo";
    rc = zoo_build(arg, true, 1, &g, d); /* weights (seed 1): the stream carries them */
  } else {
    ImportOptions io;
    import_options_default(&io);
    d->file = arg;
    rc = onnx_import(arg, &io, &g, d);
  }
  if (rc != RC_OK) return rc;
  rc = lower_model(g, out, d);
  if (rc != RC_OK) {
    model_destroy(g);
    return rc;
  }
  *graph = g;
  (*out)->name = arena_strdup(&(*out)->arena, label);
  return (*out)->name ? RC_OK : RC_INTERNAL;
}

/* ---- outputs ------------------------------------------------------------------ */

typedef struct {
  char *buf;
  size_t len;
  FILE *f;
} Mem;

static bool mem_open(Mem *m) {
  m->buf = NULL;
  m->len = 0;
  m->f = open_memstream(&m->buf, &m->len);
  return m->f != NULL;
}

static Rc mem_commit(Mem *m, const char *path, Diag *d) {
  fclose(m->f);
  Rc rc = file_write_atomic(path, m->buf, m->len, d);
  free(m->buf);
  return rc;
}

static char *join(const char *dir, const char *name, const char *suffix) {
  size_t n = strlen(dir) + strlen(name) + strlen(suffix) + 2;
  char *s = malloc(n);
  if (s) snprintf(s, n, "%s/%s%s", dir, name, suffix);
  return s;
}

/* The best mapping of each mac nest (by its layer shape) into the module. */
static Rc attach_mappings(Module *m, int model, const NaasWorkload *w, const NaasResult *r) {
  for (uint32_t i = 0; i < m->nnests; i++) {
    Problem p;
    if (!nest_problem(&m->nests[i], &p)) continue;
    int k = 0;
    while (k < w->nlayers &&
           !(w->layers[k].model == model && memcmp(w->layers[k].p.dim, p.dim, sizeof p.dim) == 0 &&
             memcmp(w->layers[k].p.stride, p.stride, sizeof p.stride) == 0 &&
             memcmp(w->layers[k].p.dilation, p.dilation, sizeof p.dilation) == 0))
      k++;
    if (k == w->nlayers) return RC_INTERNAL;
    NestMapping *nm = arena_alloc(&m->arena, sizeof *nm);
    if (!nm) return RC_INTERNAL;
    snprintf(nm->target, sizeof nm->target, "%s", r->arch.name);
    for (int l = 0; l < r->arch.nlevels; l++)
      snprintf(nm->level[l], sizeof nm->level[l], "%s", r->arch.level[l].name);
    nm->m = r->mapping[k];
    m->nests[i].map = nm;
  }
  return RC_OK;
}

static void json_s(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"' || *s == '\\')
      fprintf(f, "\\%c", *s);
    else if ((unsigned char)*s < 0x20)
      fprintf(f, "\\u%04x", *s);
    else
      fputc(*s, f);
  }
  fputc('"', f);
}

static const char *mode_name(bool fixed, const NaasOptions *o) {
  return fixed                        ? "fixed"
         : o->gradient                ? "gradient"
         : o->sizing_only             ? "sizing-only"
         : o->optimizer == OPT_RANDOM ? "random"
                                      : "naas";
}

/* A roofline bound under the cost model for any design within budget b: per
 * layer, its compulsory DRAM traffic (every weight, input and output word
 * once) at b's DRAM bandwidth and its MACs on all of b's PEs; energy, that
 * traffic at b's DRAM read energy plus the MACs.  Geomean over models. */
static void roofline(const NaasWorkload *w, const Arch *b, double *cyc, double *en, double *edp) {
  double le = 0, lc = 0;
  const Level *D = &b->level[0];
  double bw = D->shared_bw > 0 ? D->shared_bw
              : D->read_bw > 0 ? D->read_bw + (D->write_bw > 0 ? D->write_bw : 0)
                               : 0;
  for (int m = 0; m < w->nmodels; m++) {
    double E = 0, C = 0;
    for (int i = 0; i < w->nlayers; i++) {
      const NaasLayer *l = &w->layers[i];
      if (l->model != m) continue;
      const Problem *p = &l->p;
      const int64_t *x = p->dim;
      double W = (double)x[DIM_G] * x[DIM_K] * x[DIM_C] * x[DIM_R] * x[DIM_S];
      double I = (double)x[DIM_N] * x[DIM_G] * x[DIM_C] * problem_input_extent(p, 0) *
                 problem_input_extent(p, 1);
      double O = (double)x[DIM_N] * x[DIM_G] * x[DIM_K] * x[DIM_P] * x[DIM_Q];
      double macs = (double)problem_macs(p), c1 = macs / (double)b->mac_instances,
             c2 = bw > 0 ? (W + I + O) / bw : 0;
      C += (double)l->count * (c1 > c2 ? c1 : c2);
      E += (double)l->count * ((W + I + O) * D->e_read_pj + macs * b->mac_energy_pj);
    }
    le += log(E);
    lc += log(C);
  }
  *en = exp(le / w->nmodels);
  *cyc = exp(lc / w->nmodels);
  *edp = exp((le + lc) / w->nmodels);
}

static void write_result_json(FILE *f, const char *budget, const Arch *barch, bool fixed,
                              const NaasOptions *o, const NaasWorkload *w, const NaasResult *r,
                              int nranks) {
  fputs("{\n  \"schema\": \"naasc-search-result/1\",\n  \"mode\": ", f);
  json_s(f, mode_name(fixed, o));
  fputs(",\n  \"budget\": ", f);
  json_s(f, budget);
  fputs(",\n  \"models\": [", f);
  for (int m = 0; m < w->nmodels; m++) {
    fputs(m ? ", " : "", f);
    json_s(f, w->model_name[m]);
  }
  fprintf(f, "],\n  \"objective\": \"%s\",\n  \"seed\": %" PRIu64 ",\n",
          o->objective == NAAS_OBJ_ENERGY    ? "energy"
          : o->objective == NAAS_OBJ_LATENCY ? "latency"
                                             : "edp",
          o->seed);
  fprintf(f, "  \"search_score\": %.17g,\n", fixed ? r->score : r->search_score);
  fprintf(f,
          "  \"score\": %.17g,\n  \"edp\": %.17g,\n  \"energy_pj\": %.17g,\n  \"cycles\": %.17g,\n"
          "  \"area_um2\": %.9g,\n",
          r->score, r->edp, r->energy_pj, r->cycles, r->area_um2);
  const Arch *a = &r->arch;
  fprintf(f, "  \"arch\": {\"name\": ");
  json_s(f, a->name);
  fprintf(f, ", \"pes\": %" PRId64 ", \"levels\": [", a->mac_instances);
  for (int l = 0; l < a->nlevels; l++) {
    const Level *L = &a->level[l];
    fprintf(f, "%s{\"name\": ", l ? ", " : "");
    json_s(f, L->name);
    fprintf(f,
            ", \"capacity_words\": %" PRId64 ", \"instances\": %" PRId64 ", \"fanout\": [%" PRId64
            ", %" PRId64 ", %" PRId64 "], \"connectivity\": [",
            L->capacity_words, L->instances, L->fanout[0], L->fanout[1], L->fanout[2]);
    for (int ax = 0; ax < ACCEL_MAX_AXES; ax++) {
      char s[NDIMS + 1];
      naas_conn_string(L->fanout[ax] > 1 ? L->connectivity[ax] : 0, s);
      fprintf(f, "%s\"%s\"", ax ? ", " : "", s);
    }
    fprintf(f, "], \"bandwidth\": [%.6g, %.6g, %.6g]}", L->read_bw, L->write_bw, L->shared_bw);
  }
  fputs("]},\n  \"per_model\": [", f);
  for (int m = 0; m < w->nmodels; m++) {
    double e = 0, c = 0;
    for (int i = 0; i < w->nlayers; i++)
      if (w->layers[i].model == m) {
        e += (double)w->layers[i].count * r->cost[i].energy_pj;
        c += (double)w->layers[i].count * (double)r->cost[i].cycles;
      }
    fprintf(f, "%s\n    {\"model\": ", m ? "," : "");
    json_s(f, w->model_name[m]);
    fprintf(f, ", \"energy_pj\": %.17g, \"cycles\": %.17g, \"edp\": %.17g}", e, c, e * c);
  }
  double bc, be, bedp;
  roofline(w, barch, &bc, &be, &bedp);
  fprintf(f, "\n  ],\n  \"bound\": {\"cycles\": %.17g, \"energy_pj\": %.17g, \"edp\": %.17g},", bc,
          be, bedp);
  fprintf(f,
          "\n  \"layer_shapes\": %d,\n  \"iterations\": %" PRId64 ",\n  \"candidates\": %" PRId64
          ",\n  \"evals\": %" PRId64
          ",\n  \"seconds\": %.3f,\n  \"jobs\": %d,\n  \"ranks\": %d\n}\n",
          w->nlayers, r->iterations, r->candidates, r->evals, r->seconds, o->jobs, nranks);
}

/* ---- SVG plots ----------------------------------------------------------------- */

#define SVG_W 640
#define SVG_H 400
#define M_L 70
#define M_R 20
#define M_T 30
#define M_B 50

static void svg_head(FILE *f, const char *title, const char *xl, const char *yl) {
  fprintf(
      f,
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" "
      "font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
      SVG_W, SVG_H);
  fprintf(f, "<text x=\"%d\" y=\"18\" font-size=\"14\">%s</text>\n", M_L, title);
  fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>\n", (SVG_W + M_L) / 2,
          SVG_H - 10, xl);
  fprintf(
      f,
      "<text x=\"14\" y=\"%d\" transform=\"rotate(-90 14 %d)\" text-anchor=\"middle\">%s</text>\n",
      SVG_H / 2, SVG_H / 2, yl);
  fprintf(f,
          "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"black\"/>\n",
          M_L, M_T, SVG_W - M_L - M_R, SVG_H - M_T - M_B);
}

typedef struct {
  double x0, x1, y0, y1; /* y in log10 */
} Frame;

static double fx(const Frame *fr, double x) {
  return M_L + (x - fr->x0) / (fr->x1 - fr->x0) * (SVG_W - M_L - M_R);
}
static double fy(const Frame *fr, double ly) {
  return SVG_H - M_B - (ly - fr->y0) / (fr->y1 - fr->y0) * (SVG_H - M_T - M_B);
}

static void svg_ticks(FILE *f, const Frame *fr, bool xint) {
  for (int k = 0; k <= 4; k++) {
    double x = fr->x0 + (fr->x1 - fr->x0) * k / 4, ly = fr->y0 + (fr->y1 - fr->y0) * k / 4;
    if (xint)
      fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%.0f</text>\n", fx(fr, x),
              SVG_H - M_B + 16, x);
    else
      fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%.3g</text>\n", fx(fr, x),
              SVG_H - M_B + 16, x);
    fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.3g</text>\n", M_L - 4,
            fy(fr, ly) + 4, pow(10, ly));
  }
}

static void frame_y(const NaasResult *r, Frame *fr) {
  fr->y0 = INFINITY;
  fr->y1 = -INFINITY;
  for (int64_t i = 0; i < r->nlog; i++)
    if (r->log[i].valid) {
      double ly = log10(r->log[i].score);
      if (ly < fr->y0) fr->y0 = ly;
      if (ly > fr->y1) fr->y1 = ly;
    }
  if (!(fr->y0 < fr->y1)) {
    fr->y0 = isfinite(fr->y0) ? fr->y0 - 0.5 : 0;
    fr->y1 = fr->y0 + 1;
  }
  double pad = 0.05 * (fr->y1 - fr->y0);
  fr->y0 -= pad;
  fr->y1 += pad;
}

static void svg_convergence(FILE *f, const NaasResult *r, const char *what) {
  Frame fr = {0, (double)(r->iterations > 1 ? r->iterations - 1 : 1), 0, 1};
  frame_y(r, &fr);
  char title[128], yl[64];
  snprintf(title, sizeof title,
           "convergence: %s per iteration (grey: population, blue: best so far)", what);
  snprintf(yl, sizeof yl, "%s (log scale)", what);
  svg_head(f, title, "iteration", yl);
  svg_ticks(f, &fr, true);
  for (int64_t i = 0; i < r->nlog; i++)
    if (r->log[i].valid)
      fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2\" fill=\"#999\"/>\n",
              fx(&fr, (double)r->log[i].iteration), fy(&fr, log10(r->log[i].score)));
  fputs("<polyline fill=\"none\" stroke=\"#1f5fbf\" stroke-width=\"2\" points=\"", f);
  double best = INFINITY;
  for (int64_t i = 0; i < r->nlog; i++) {
    if (r->log[i].valid && r->log[i].score < best) best = r->log[i].score;
    bool last = i + 1 == r->nlog || r->log[i + 1].iteration != r->log[i].iteration;
    if (last && isfinite(best))
      fprintf(f, "%.1f,%.1f ", fx(&fr, (double)r->log[i].iteration), fy(&fr, log10(best)));
  }
  fputs("\"/>\n</svg>\n", f);
}

static void svg_pareto(FILE *f, const NaasResult *r, const char *what) {
  Frame fr = {INFINITY, -INFINITY, 0, 1};
  for (int64_t i = 0; i < r->nlog; i++)
    if (r->log[i].valid) {
      double x = r->log[i].area_um2 / 1e6;
      if (x < fr.x0) fr.x0 = x;
      if (x > fr.x1) fr.x1 = x;
    }
  if (!(fr.x0 < fr.x1)) {
    fr.x0 = isfinite(fr.x0) ? fr.x0 * 0.9 : 0;
    fr.x1 = fr.x0 > 0 ? fr.x0 / 0.9 * 1.1 : 1;
  }
  frame_y(r, &fr);
  char title[128], yl[64];
  snprintf(title, sizeof title, "%s versus area (grey: every valid candidate, red: Pareto front)",
           what);
  snprintf(yl, sizeof yl, "%s (log scale)", what);
  svg_head(f, title, "area (mm^2, placeholder model)", yl);
  svg_ticks(f, &fr, false);
  int64_t n = 0;
  for (int64_t i = 0; i < r->nlog; i++)
    if (r->log[i].valid)
      fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2\" fill=\"#999\"/>\n",
              fx(&fr, r->log[i].area_um2 / 1e6), fy(&fr, log10(r->log[i].score))),
          n++;
  /* The front: sort by area (then score), keep each point that beats all smaller ones. */
  int64_t *idx = malloc(sizeof *idx * (size_t)(n + 1));
  if (!idx) {
    fputs("</svg>\n", f);
    return;
  }
  int64_t k = 0;
  for (int64_t i = 0; i < r->nlog; i++)
    if (r->log[i].valid) idx[k++] = i;
  for (int64_t i = 1; i < k; i++) {
    int64_t v = idx[i], j = i - 1;
    while (j >= 0 && (r->log[idx[j]].area_um2 > r->log[v].area_um2 ||
                      (r->log[idx[j]].area_um2 == r->log[v].area_um2 &&
                       r->log[idx[j]].score > r->log[v].score))) {
      idx[j + 1] = idx[j];
      j--;
    }
    idx[j + 1] = v;
  }
  fputs("<polyline fill=\"none\" stroke=\"#c0392b\" stroke-width=\"2\" points=\"", f);
  double best = INFINITY;
  for (int64_t i = 0; i < k; i++) {
    const NaasCandidate *c = &r->log[idx[i]];
    if (c->score < best) {
      best = c->score;
      fprintf(f, "%.1f,%.1f ", fx(&fr, c->area_um2 / 1e6), fy(&fr, log10(c->score)));
    }
  }
  fputs("\"/>\n</svg>\n", f);
  free(idx);
}

static Rc write_svg(const char *path, const NaasResult *r, const char *what, bool pareto, Diag *d) {
  Mem m;
  if (!mem_open(&m)) return RC_INTERNAL;
  if (pareto)
    svg_pareto(m.f, r, what);
  else
    svg_convergence(m.f, r, what);
  return mem_commit(&m, path, d);
}

/* ---- main ------------------------------------------------------------------------ */

int naasc_search_main(int argc, char **argv) {
  NaasOptions o;
  naas_options_default(&o);
  const char *budget = NULL, *dir = "naasc-search";
  const char *models[NAAS_MAX_MODELS];
  int nmodels = 0;
  bool fixed = false, quiet = false, no_progress = false;
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  o.jobs = ncpu > 64 ? 64 : ncpu > 1 ? (int)ncpu : 1; /* results do not depend on it */
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v;
    int64_t n;
    if (strcmp(a, "--search") == 0) continue;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      fputs(usage_text, stdout);
      return RC_OK;
    } else if (cli_is_flag(a, "--budget")) {
      if (!(budget = cli_flag_value(argc, argv, &i, "--budget")))
        return usage_error("%s", "--budget needs a preset name or a file");
    } else if (strcmp(a, "-o") == 0) {
      if (i + 1 >= argc) return usage_error("%s", "-o needs a folder");
      dir = argv[++i];
    } else if (cli_is_flag(a, "--objective")) {
      v = cli_flag_value(argc, argv, &i, "--objective");
      if (v && strcmp(v, "edp") == 0)
        o.objective = NAAS_OBJ_EDP;
      else if (v && strcmp(v, "energy") == 0)
        o.objective = NAAS_OBJ_ENERGY;
      else if (v && strcmp(v, "latency") == 0)
        o.objective = NAAS_OBJ_LATENCY;
      else
        return usage_error("--objective takes edp, energy or latency, not '%s'", v ? v : "");
    } else if (cli_is_flag(a, "--max-area")) {
      v = cli_flag_value(argc, argv, &i, "--max-area");
      if (!v || !parse_pos(v, &o.max_area_um2))
        return usage_error("--max-area takes a positive area in um^2, not '%s'", v ? v : "");
    } else if (cli_is_flag(a, "--max-latency")) {
      v = cli_flag_value(argc, argv, &i, "--max-latency");
      if (!v || !parse_pos(v, &o.max_cycles))
        return usage_error("--max-latency takes a positive number of cycles, not '%s'", v ? v : "");
    } else if (cli_is_flag(a, "--max-energy")) {
      v = cli_flag_value(argc, argv, &i, "--max-energy");
      if (!v || !parse_pos(v, &o.max_energy_pj))
        return usage_error("--max-energy takes a positive energy in pJ, not '%s'", v ? v : "");
    } else if (cli_is_flag(a, "--iterations")) {
      v = cli_flag_value(argc, argv, &i, "--iterations");
      if (!v || !parse_i64(v, &o.iterations, 1))
        return usage_error("--iterations takes a positive integer, not '%s'", v ? v : "");
    } else if (cli_is_flag(a, "--popsize")) {
      v = cli_flag_value(argc, argv, &i, "--popsize");
      if (!v || !parse_i64(v, &n, 4) || n > 4096)
        return usage_error("--popsize takes an integer from 4 to 4096, not '%s'", v ? v : "");
      o.popsize = (int)n;
    } else if (cli_is_flag(a, "--map-budget")) {
      v = cli_flag_value(argc, argv, &i, "--map-budget");
      if (!v || !parse_i64(v, &o.map_budget, 1))
        return usage_error("--map-budget takes a positive integer, not '%s'", v ? v : "");
    } else if (cli_is_flag(a, "--optimizer")) {
      v = cli_flag_value(argc, argv, &i, "--optimizer");
      if (v && strcmp(v, "gradient") == 0)
        o.gradient = true, o.optimizer = OPT_CMAES;
      else if (!v || !opt_parse(v, &o.optimizer) || o.optimizer == OPT_GENETIC)
        return usage_error("--optimizer takes cmaes, random or gradient, not '%s'", v ? v : "");
      else
        o.gradient = false;
    } else if (cli_is_flag(a, "--final-map-budget")) {
      v = cli_flag_value(argc, argv, &i, "--final-map-budget");
      if (!v || !parse_i64(v, &o.final_map_budget, 1))
        return usage_error("--final-map-budget takes a positive integer, not '%s'", v ? v : "");
    } else if (strcmp(a, "--sizing-only") == 0) {
      o.sizing_only = true;
    } else if (strcmp(a, "--fixed") == 0) {
      fixed = true;
    } else if (cli_is_flag(a, "--seed")) {
      v = cli_flag_value(argc, argv, &i, "--seed");
      if (!v || !parse_i64(v, &n, 0))
        return usage_error("--seed takes a non-negative integer, not '%s'", v ? v : "");
      o.seed = (uint64_t)n;
    } else if (cli_is_flag(a, "--jobs") || strncmp(a, "-j", 2) == 0) {
      v = strcmp(a, "-j") == 0 ? (i + 1 < argc ? argv[++i] : NULL)
          : a[1] == 'j'        ? a + 2
                               : cli_flag_value(argc, argv, &i, "--jobs");
      if (!v || !parse_i64(v, &n, 1) || n > 64)
        return usage_error("--jobs takes an integer from 1 to 64, not '%s'", v ? v : "");
      o.jobs = (int)n;
    } else if (cli_is_flag(a, "--checkpoint")) {
      if (!(o.checkpoint = cli_flag_value(argc, argv, &i, "--checkpoint")))
        return usage_error("%s", "--checkpoint needs a file");
    } else if (strcmp(a, "--resume") == 0) {
      o.resume = true;
    } else if (cli_is_flag(a, "--stop-after-iteration")) { /* hidden: tests of --resume */
      v = cli_flag_value(argc, argv, &i, "--stop-after-iteration");
      if (!v || !parse_i64(v, &o.stop_after_iteration, 1))
        return usage_error("--stop-after-iteration takes a positive integer, not '%s'", v ? v : "");
    } else if (strcmp(a, "--no-progress") == 0) {
      no_progress = true;
    } else if (strcmp(a, "-q") == 0) {
      quiet = true;
    } else if (a[0] == '-' && a[1]) {
      return usage_error("unknown option '%s' for naasc --search", a);
    } else {
      if (nmodels == NAAS_MAX_MODELS) return usage_error("%s", "too many models (at most 16)");
      models[nmodels++] = a;
    }
  }
  if (!nmodels)
    return usage_error("%s",
                       "naasc --search needs at least one model (a .onnx file or a zoo name)");
  if (!budget) return usage_error("%s", "naasc --search needs --budget NAME|FILE.yaml");
  if (o.resume && !o.checkpoint) return usage_error("%s", "--resume needs --checkpoint FILE");
  if (o.gradient && (o.checkpoint || o.resume))
    return usage_error("%s", "--optimizer gradient takes no --checkpoint or --resume "
                             "(it keeps no optimizer state between rounds)");
  if (fixed && (o.sizing_only || o.optimizer == OPT_RANDOM || o.gradient))
    return usage_error("%s", "--fixed searches nothing: no --sizing-only or --optimizer");

  int rank = 0, nranks = 1;
#ifdef NAASC_MPI
  /* MPI only under a launcher (mpirun sets these): a plain run starts no MPI
   * runtime, which is slow to start and keeps memory LeakSanitizer reports. */
  bool use_mpi = getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("PMI_SIZE");
  if (use_mpi) {
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
  }
#endif
  o.progress = !no_progress && rank == 0 && isatty(2);
  Diag d;
  diag_init(&d, rank == 0 ? stderr : NULL, "naasc");
  static Arch barch;
  NaasWorkload w = {0};
  Module *mods[NAAS_MAX_MODELS] = {0};
  Model *graphs[NAAS_MAX_MODELS] = {0};
  char *labels[NAAS_MAX_MODELS] = {0};
  CmdStats cst[NAAS_MAX_MODELS] = {{0}};
  NaasResult r = {0};
  Rc rc = arch_resolve(budget, &barch, &d);
  for (int k = 0; k < nmodels && rc == RC_OK; k++) {
    labels[k] = label_of(models[k]);
    if (!labels[k]) rc = RC_INTERNAL;
    for (int j = 0; j < k && rc == RC_OK; j++)
      if (strcmp(labels[j], labels[k]) == 0) {
        diag_error(&d, models[k], "two models named '%s'; give each model once", labels[k]);
        rc = RC_BADINPUT;
      }
    if (rc == RC_OK) rc = load_module(models[k], labels[k], &mods[k], &graphs[k], &d);
    d.file = models[k];
    if (rc == RC_OK) rc = naas_workload_add_module(&w, mods[k], &d);
  }
  d.file = "naasc";
  if (rc == RC_OK && rank == 0 && mkdir(dir, 0777) != 0 && errno != EEXIST) {
    diag_error(&d, dir, "cannot create the output folder: %s", strerror(errno));
    rc = RC_BADINPUT;
  }
  if (rc == RC_OK) {
    rc = fixed ? naas_eval_fixed(&w, &barch, &o, &r, &d) : naas_search(&w, &barch, &o, &r, &d);
    if (rc == RC_OK && r.stopped) {
      if (rank == 0 && !quiet)
        printf("stopped after iteration %" PRId64 " (checkpoint %s)\n", r.iterations,
               o.checkpoint ? o.checkpoint : "none");
      goto done;
    }
  }
  const char *what = o.objective == NAAS_OBJ_ENERGY    ? "energy (pJ)"
                     : o.objective == NAAS_OBJ_LATENCY ? "cycles"
                                                       : "EDP (pJ x cycles)";
  if (rc == RC_OK && rank == 0) {
    char *p = join(dir, "arch", ".yaml");
    Mem m;
    if (!p || !mem_open(&m)) rc = RC_INTERNAL;
    if (rc == RC_OK) {
      arch_print(m.f, &r.arch);
      rc = mem_commit(&m, p, &d);
    }
    free(p);
    for (int k = 0; k < w.nmodels && rc == RC_OK; k++) {
      rc = attach_mappings(mods[k], k, &w, &r);
      char *nir = join(dir, labels[k], ".nir"), *txt = join(dir, labels[k], ".report.txt"),
           *js = join(dir, labels[k], ".report.json");
      if (rc == RC_OK && (!nir || !txt || !js)) rc = RC_INTERNAL;
      if (rc == RC_OK) rc = module_verify(mods[k], &d);
      if (rc == RC_OK && mem_open(&m)) {
        module_print(m.f, mods[k]);
        rc = mem_commit(&m, nir, &d);
      }
      if (rc == RC_OK && mem_open(&m)) {
        rc = report_write(mods[k], &r.arch, m.f, js, &d);
        if (rc == RC_OK)
          rc = mem_commit(&m, txt, &d);
        else
          fclose(m.f), free(m.buf);
      }
      char *cmd = join(dir, labels[k], ".cmd");
      if (rc == RC_OK && !cmd) rc = RC_INTERNAL;
      if (rc == RC_OK) { /* the compiled model on the design: naasc-run runs it */
        uint8_t *bytes = NULL;
        size_t len = 0;
        rc = cmd_emit(mods[k], graphs[k], &r.arch, &bytes, &len, &cst[k], &d);
        if (rc == RC_OK) rc = file_write_atomic(cmd, bytes, len, &d);
        xfree(bytes);
      }
      free(nir), free(txt), free(js), free(cmd);
    }
    p = join(dir, "result", ".json");
    if (rc == RC_OK && p && mem_open(&m)) {
      write_result_json(m.f, budget, &barch, fixed, &o, &w, &r, nranks);
      rc = mem_commit(&m, p, &d);
    }
    free(p);
    if (rc == RC_OK && !fixed) {
      p = join(dir, "search", ".json");
      rc = p ? naas_log_write(p, &r, &d) : RC_INTERNAL;
      free(p);
      p = join(dir, "convergence", ".svg");
      if (rc == RC_OK) rc = p ? write_svg(p, &r, what, false, &d) : RC_INTERNAL;
      free(p);
      p = join(dir, "pareto", ".svg");
      if (rc == RC_OK) rc = p ? write_svg(p, &r, what, true, &d) : RC_INTERNAL;
      free(p);
    }
  }
  if (rc == RC_OK && rank == 0 && !quiet) {
    printf(
        "%s within %s: %s %.6g (EDP %.6g pJ x cycles, energy %.6g pJ, %.6g cycles; geomean over %d model%s)\n",
        mode_name(fixed, &o), budget, o.objective == NAAS_OBJ_EDP ? "EDP" : what, r.score, r.edp,
        r.energy_pj, r.cycles, w.nmodels, w.nmodels > 1 ? "s" : "");
    const Arch *a = &r.arch;
    printf("design %s: %" PRId64 " PEs", a->name, a->mac_instances);
    for (int l = 0; l < a->nlevels; l++)
      for (int ax = 0; ax < ACCEL_MAX_AXES; ax++)
        if (a->level[l].fanout[ax] > 1) {
          char s[NDIMS + 1];
          naas_conn_string(a->level[l].connectivity[ax], s);
          printf(", %s %c=%" PRId64 " [%s]", a->level[l].name, "xyz"[ax], a -> level[l].fanout[ax],
                 s);
        }
    for (int l = 1; l < a->nlevels; l++)
      printf(", %s %" PRId64 " words", a->level[l].name, a->level[l].capacity_words);
    printf(", DRAM %.4g words/cycle, area %.4g mm^2\n", a->level[0].shared_bw, r.area_um2 / 1e6);
    printf("%" PRId64 " candidates, %" PRId64 " cost evaluations, %.1f s; outputs in %s/\n",
           r.candidates, r.evals, r.seconds, dir);
    for (int k = 0; k < w.nmodels; k++)
      printf(
          "command stream: %s/%s.cmd (%zu bytes: %zu of commands, %zu of weights; run it with naasc-run)\n",
          dir, labels[k], cst[k].bytes, cst[k].cmd_bytes, cst[k].weight_bytes);
  }
done:
  naas_result_free(&r);
  naas_workload_free(&w);
  for (int k = 0; k < nmodels; k++) {
    if (mods[k]) module_destroy(mods[k]);
    if (graphs[k]) model_destroy(graphs[k]);
    free(labels[k]);
  }
#ifdef NAASC_MPI
  if (use_mpi) MPI_Finalize();
#endif
  return rc;
}
