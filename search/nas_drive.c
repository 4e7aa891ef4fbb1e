/*
 * nas_drive.c: `naasc --search --nas nasbench201` as a library call
 * (search.h, "drivers"; docs/nas.md): the network level of NAAS.
 *
 * The outer search (nas.c) proposes NAS-Bench-201 cells; the caller's
 * build function (NasDriveOptions.build) makes and lowers each cell's
 * network (the zoo and the lowering live in libraries that depend on this
 * one, so they are injected), and the accelerator and mapping co-search
 * (naas.c: naas_search) scores it within the budget's resources, one
 * NaasCache shared by every network.  Accuracies come from the table
 * (data/nasbench201), or with labels = K from a predictor that saw only K
 * of them (predictor.c).
 *
 * Writes into dir, every file atomically:
 *   result.json    the network, its accelerator and figures, the run, the
 *                  predictor (with labels) and the baselines; every side
 *                  with the mapper effort it got (the baselines are mapped
 *                  with the design's: naas_eval_fixed, and the ratios come
 *                  from naas_compare, which refuses unequal efforts)
 *   history.csv    every cell scored: code, index, arch, accuracies, EDP
 *   pareto.svg     accuracy versus EDP of every cell scored, with the front
 *   arch.yaml      the accelerator (usable with --target)
 *   network.nir    the network lowered and mapped onto it (naasc-opt reads it)
 * The cost report of the network (passes/) is the caller's, from the
 * module and design it gets back.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "backend/backend.h"
#include "frontend/frontend.h"
#include "search/internal.h"

_Static_assert(sizeof(((NasDriveResult *)0)->arch) >= NB201_ARCH_MAX,
               "NasDriveResult.arch holds any NAS-Bench-201 arch string");

void nas_drive_options_default(NasDriveOptions *o) {
  memset(o, 0, sizeof *o);
  o->cycles = 100;
  o->population = 20;
  o->sample = 5;
  o->seed = 1;
  o->rounds = 1;
  o->pool = 1000;
  o->verify = 10;
  o->naas_iterations = 4;
  o->naas_popsize = 8;
  o->map_budget = 400;
  o->jobs = 1;
  o->baselines = true;
}

/* ---- scoring one network ------------------------------------------------------ */

typedef struct {
  const NasDriveOptions *o;
  const Arch *budget;
  NaasOptions no;
  bool fixed; /* naas_eval_fixed instead of naas_search */
  int64_t naas_candidates, naas_evals;
} HwCtx;

static Rc cell_module(const HwCtx *h, int code, Module **mod, Diag *d) {
  *mod = NULL;
  return h->o->build(h->o->build_ctx, code, mod, d);
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
  if (mod) module_destroy(mod);
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

/* Accuracy (y) against EDP (x, log scale) of every cell scored; the front joined. */
static void pareto_svg(FILE *f, const NasPoint *h, const double *acc, int n, const int *front,
                       int nf, int best, double base_edp, double base_acc, double min_acc,
                       double max_edp, const char *title) {
  SvgPlot fr = {f, 640, 420, 70, 20, 40, 50, 0, 1, 0, 1, true, false};
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
  fr.x0 = x0, fr.x1 = x1, fr.y0 = y0, fr.y1 = y1;
  double L = fr.left, T = fr.top, R = fr.width - fr.right, B = fr.height - fr.bottom;
  svg_begin(&fr, 12, 20, title);
  svg_axes(&fr, "EDP (pJ x cycles, log scale)", "accuracy (%)");
  svg_ticks(&fr, 'x', 4, "%.3g");
  svg_ticks(&fr, 'y', 4, "%.2f");
  if (min_acc > y0 && min_acc < y1) {
    svg_line(&fr, L, svg_y(&fr, min_acc), R, svg_y(&fr, min_acc), "#888", "4 3");
    svg_text(&fr, L + 4, svg_y(&fr, min_acc) - 4, NULL, 0, "fill=\"#666\"", "bound %.2f%%",
             min_acc);
  }
  if (max_edp > 0 && log10(max_edp) > x0 && log10(max_edp) < x1) {
    double x = svg_x(&fr, max_edp);
    svg_line(&fr, x, T, x, B, "#888", "4 3");
    svg_text(&fr, x + 4, T + 12, NULL, 0, "fill=\"#666\"", "EDP bound");
  }
  for (int i = 0; i < n; i++)
    svg_circle(&fr, svg_x(&fr, h[i].edp), svg_y(&fr, acc[i]), 2.5, "#9ab", NULL);
  svg_series_begin(&fr, "#c33", 1.5);
  for (int i = 0; i < nf; i++)
    svg_series_point(&fr, svg_x(&fr, h[front[i]].edp), svg_y(&fr, acc[front[i]]));
  svg_series_end(&fr);
  for (int i = 0; i < nf; i++)
    svg_circle(&fr, svg_x(&fr, h[front[i]].edp), svg_y(&fr, acc[front[i]]), 3.5, "#c33", NULL);
  if (best >= 0) svg_circle(&fr, svg_x(&fr, h[best].edp), svg_y(&fr, acc[best]), 7, NULL, "black");
  if (base_edp > 0)
    svg_rect(&fr, svg_x(&fr, base_edp) - 4, svg_y(&fr, base_acc) - 4, 8, 8, "#36c", NULL, NULL);
  /* The legend, bottom right (the front rises to the top right). */
  double lx = R - 250, ly = B - 70;
  svg_rect(&fr, lx, ly, 244, 64, "white", "#ccc", NULL);
  svg_circle(&fr, lx + 12, ly + 14, 2.5, "#9ab", NULL);
  svg_text(&fr, lx + 24, ly + 18, NULL, 0, NULL, "network scored");
  svg_circle(&fr, lx + 12, ly + 30, 3.5, "#c33", NULL);
  svg_text(&fr, lx + 24, ly + 34, NULL, 0, NULL, "Pareto front");
  svg_circle(&fr, lx + 12, ly + 48, 6, NULL, "black");
  svg_text(&fr, lx + 24, ly + 52, NULL, 0, NULL, "the design");
  if (base_edp > 0) {
    svg_rect(&fr, lx + 118, ly + 10, 8, 8, "#36c", NULL, NULL);
    svg_text(&fr, lx + 132, ly + 18, NULL, 0, NULL, "most accurate,");
    svg_text(&fr, lx + 132, ly + 34, NULL, 0, NULL, "own dataflow");
  }
  svg_end(&fr);
}

typedef struct {
  double edp, energy_pj, cycles, seconds;
  int64_t candidates;
  NaasEffort effort;
} Figures;

static Figures figures_of(const NaasResult *r) {
  return (Figures){r->edp, r->energy_pj, r->cycles, r->seconds, r->candidates, r->effort};
}

static void json_figures(JsonWriter *j, const char *key, const Figures *g) {
  json_key(j, key);
  json_object(j, NULL);
  json_key(j, "edp");
  json_num(j, "%.17g", g->edp);
  json_key(j, "energy_pj");
  json_num(j, "%.17g", g->energy_pj);
  json_key(j, "cycles");
  json_num(j, "%.17g", g->cycles);
  json_key(j, "candidates");
  json_int(j, g->candidates);
  json_key(j, "seconds");
  json_num(j, "%.3f", g->seconds);
  json_key(j, "effort");
  naas_effort_json(j, &g->effort);
  json_end(j, NULL);
}

static void json_gain(JsonWriter *j, const char *key, double edp_gain, double acc_gain) {
  json_key(j, key);
  json_object(j, NULL);
  json_key(j, "edp_reduction");
  json_num(j, "%.4f", edp_gain);
  json_key(j, "accuracy_gain");
  json_num(j, "%.4f", acc_gain);
  json_end(j, NULL);
}

/* ---- the driver -------------------------------------------------------------------- */

Rc nas_drive(const NasDriveOptions *dopt, const Arch *budget, const char *dir, NasDriveResult *out,
             Diag *d) {
  memset(out, 0, sizeof *out);
  Nb201Dataset dataset = (Nb201Dataset)dopt->dataset;
  const char *data = dopt->data, *reference = dopt->reference;
  bool have_min = dopt->min_edp, baselines = dopt->baselines, fixed = dopt->fixed,
       progress = dopt->progress;
  double min_acc = dopt->min_accuracy, max_edp = dopt->max_edp;
  int64_t cycles = dopt->cycles, population = dopt->population, sample = dopt->sample,
          seed = dopt->seed, labels = dopt->labels, rounds = dopt->rounds, pool = dopt->pool,
          verify = dopt->verify, naas_iters = dopt->naas_iterations, naas_pop = dopt->naas_popsize,
          map_budget = dopt->map_budget, jobs = dopt->jobs;
  Rc rc;
  char path[4096];
  if (!nb201_table_locate(data, path, sizeof path)) {
    diag_error(d, NULL,
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
  rc = nb201_table_load(path, tab, d);
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
    } else if (nb201_parse(reference, ops, d) == RC_OK) {
      ref = nb201_code(ops);
    } else {
      nb201_table_free(tab);
      xfree(tab), xfree(truth), xfree(seen);
      return RC_BADINPUT;
    }
    if (ref < 0 || isnan(truth[ref])) {
      diag_error(d, NULL, "--reference %s: %s", reference,
                 ref < 0 ? "no such index" : "the cell has no network (node 3 is unreachable)");
      nb201_table_free(tab);
      xfree(tab), xfree(truth), xfree(seen);
      return RC_BADINPUT;
    }
  }
  if (have_min && min_acc > truth[top]) {
    diag_error(d, NULL,
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
        diag_error(d, NULL, "--labels %lld: the space has only %d networks", (long long)labels, nv);
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
    if (rc == RC_OK && dopt->on_predictor)
      dopt->on_predictor(dopt->on_predictor_user, labels, tau, tau_plain);
    else if (progress && rc == RC_OK && d->out)
      fprintf(d->out,
              "nas: predictor on %lld labels: held-out Kendall tau %.4f (%.4f without "
              "pseudo-labels)\n",
              (long long)labels, tau, tau_plain);
  }

  NaasCache *cache = naas_cache_create();
  HwCtx h = {.o = dopt, .budget = budget, .fixed = fixed};
  naas_options_default(&h.no);
  h.no.iterations = naas_iters;
  h.no.popsize = (int)naas_pop;
  h.no.map_budget = map_budget;
  h.no.final_map_budget = dopt->final_map_budget;
  /* Each cell's accelerator search maps its best candidate alone at final
   * effort (no re-ranking, docs/nas.md): the network level scores hundreds
   * of cells, and re-ranking would triple each one's final mapping.  Nor
   * the start design (docs/search.md "Re-ranking"), which would double it
   * where the start is not the best candidate: a cell's figure is its
   * search's best candidate, as before. */
  h.no.rerank = 1;
  h.no.no_rerank_start = true;
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
  o.progress = dopt->on_best;
  o.progress_user = dopt->on_best_user;
  NasResult nr = {0};
  if (!cache && rc == RC_OK) rc = RC_INTERNAL;
  if (rc == RC_OK) rc = nas_search(&o, &nr, d);

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
    rc = cell_module(&h, code, &mod, d);
    if (rc == RC_OK) rc = naas_workload_add_module(&w, mod, d);
    if (rc == RC_OK)
      rc = fixed ? naas_eval_fixed(&w, budget, &h.no, &best, d)
                 : naas_search(&w, budget, &h.no, &best, d);
    if (rc == RC_OK) rc = naas_attach_mappings(mod, 0, &w, &best, d);
  }
  if (rc == RC_OK && baselines) {
    HwCtx hb = h;
    hb.fixed = true;
    rc = score_cell(&hb, top, &base, d);
    fb = figures_of(&base);
    if (rc == RC_OK) rc = score_cell(&h, top, &seq, d);
    fs = figures_of(&seq);
    if (rc == RC_OK) rc = naas_compare(&best, &base, &qb, d);
    if (rc == RC_OK) rc = naas_compare(&best, &seq, &qs, d);
  }
  if (rc == RC_OK && ref >= 0) {
    HwCtx hb = h;
    hb.fixed = true;
    rc = score_cell(&hb, ref, &refr, d);
    fr = figures_of(&refr);
    if (rc == RC_OK) rc = naas_compare(&best, &refr, &qr, d);
  }

  if (rc == RC_OK && mkdir(dir, 0777) != 0 && errno != EEXIST) {
    diag_error(d, dir, "cannot create the output directory: %s", strerror(errno));
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
      JsonWriter j;
      json_init(&j, f);
      json_object(&j, "\n  ");
      json_key(&j, "space");
      json_str(&j, "nasbench201");
      json_key(&j, "dataset");
      json_str(&j, nb201_dataset_name(dataset));
      json_key(&j, "goal");
      json_str(&j, have_min ? "min-edp s.t. accuracy >= bound" : "max-accuracy s.t. edp <= bound");
      json_key(&j, "bound");
      json_num(&j, "%.6g", have_min ? min_acc : max_edp);
      json_key(&j, "bound_met");
      json_bool(&j, met);
      json_key(&j, "network");
      json_object(&j, NULL);
      json_key(&j, "index");
      json_int(&j, tab->index[row]);
      json_key(&j, "code");
      json_int(&j, b->code);
      json_key(&j, "arch");
      json_str(&j, arch);
      json_key(&j, "accuracy");
      json_num(&j, "%.4f", truth[b->code]);
      json_key(&j, "accuracy_seen");
      json_num(&j, "%.4f", b->acc);
      json_key(&j, "labelled");
      json_bool(&j, labels > 0 && seen[b->code] == truth[b->code]);
      json_end(&j, NULL);
      json_key(&j, "accelerator");
      json_object(&j, NULL);
      json_key(&j, "name");
      json_str(&j, best.arch.name);
      json_key(&j, "edp");
      json_num(&j, "%.17g", best.edp);
      json_key(&j, "energy_pj");
      json_num(&j, "%.17g", best.energy_pj);
      json_key(&j, "cycles");
      json_num(&j, "%.17g", best.cycles);
      json_key(&j, "area_um2");
      json_num(&j, "%.17g", best.area_um2);
      json_key(&j, "mode");
      json_str(&j, fixed ? "fixed" : "joint");
      json_key(&j, "effort");
      naas_effort_json(&j, &best.effort);
      json_end(&j, NULL);
      json_key(&j, "search");
      json_object(&j, NULL);
      json_key(&j, "networks_evaluated");
      json_int(&j, nr.nhist);
      json_key(&j, "proposals");
      json_int(&j, nr.proposals);
      json_key(&j, "seconds");
      json_num(&j, "%.3f", nr.seconds);
      static const char *const run_key[] = {"seed",       "cycles",          "population",
                                            "sample",     "naas_iterations", "naas_popsize",
                                            "map_budget", "naas_candidates", "naas_evals"};
      const int64_t run_val[] = {seed,     cycles,     population,        sample,      naas_iters,
                                 naas_pop, map_budget, h.naas_candidates, h.naas_evals};
      for (int k = 0; k < 9; k++) {
        if (k == 4) json_break(&j, "\n             ");
        json_key(&j, run_key[k]);
        json_int(&j, run_val[k]);
      }
      json_end(&j, NULL);
      if (labels > 0) {
        const NasPoint *pp = &nr.hist[pred_pick];
        json_key(&j, "predictor");
        json_object(&j, NULL);
        json_key(&j, "labels");
        json_int(&j, labels);
        json_key(&j, "kendall_tau");
        json_num(&j, "%.4f", tau);
        json_key(&j, "kendall_tau_without_pseudo_labels");
        json_num(&j, "%.4f", tau_plain);
        json_key(&j, "pseudo_rounds");
        json_int(&j, rounds);
        json_key(&j, "pseudo_pool");
        json_int(&j, pool);
        json_key(&j, "seconds");
        json_num(&j, "%.3f", pred_seconds);
        json_break(&j, "\n                ");
        json_key(&j, "verified");
        json_int(&j, verified);
        json_key(&j, "labels_used");
        json_int(&j, labels + new_labels);
        json_key(&j, "by_prediction_alone");
        json_object(&j, NULL);
        json_key(&j, "index");
        json_int(&j, tab->index[tab->by_code[pp->code]]);
        json_key(&j, "accuracy");
        json_num(&j, "%.4f", truth[pp->code]);
        json_key(&j, "accuracy_seen");
        json_num(&j, "%.4f", pp->acc);
        json_key(&j, "edp");
        json_num(&j, "%.17g", pp->edp);
        json_end(&j, NULL);
        json_end(&j, NULL);
      }
      if (baselines) {
        json_key(&j, "baselines");
        json_object(&j, "\n    ");
        json_key(&j, "most_accurate");
        json_object(&j, NULL);
        json_key(&j, "index");
        json_int(&j, tab->index[tab->by_code[top]]);
        json_key(&j, "code");
        json_int(&j, top);
        json_key(&j, "arch");
        json_str(&j, toparch);
        json_key(&j, "accuracy");
        json_num(&j, "%.4f", truth[top]);
        json_end(&j, NULL);
        json_figures(&j, "own_dataflow", &fb);
        json_figures(&j, "sequential", &fs);
        json_end(&j, "\n  ");
        json_gain(&j, "vs_own_dataflow", qb.edp_gain, truth[b->code] - truth[top]);
        json_gain(&j, "vs_sequential", qs.edp_gain, truth[b->code] - truth[top]);
      }
      if (ref >= 0) {
        char rs[NB201_ARCH_MAX];
        nb201_format(tab->ops[tab->by_code[ref]], rs, sizeof rs);
        json_key(&j, "reference");
        json_object(&j, NULL);
        json_key(&j, "index");
        json_int(&j, tab->index[tab->by_code[ref]]);
        json_key(&j, "code");
        json_int(&j, ref);
        json_key(&j, "arch");
        json_str(&j, rs);
        json_key(&j, "accuracy");
        json_num(&j, "%.4f", truth[ref]);
        json_break(&j, "\n    ");
        json_figures(&j, "own_dataflow", &fr);
        json_end(&j, "\n  ");
        json_gain(&j, "vs_reference", qr.edp_gain, truth[b->code] - truth[ref]);
      }
      json_key(&j, "pareto");
      json_array(&j, NULL);
      for (int i = 0; i < nf; i++) {
        json_object(&j, NULL);
        json_key(&j, "code");
        json_int(&j, tp[front[i]].code);
        json_key(&j, "accuracy");
        json_num(&j, "%.4f", tacc[front[i]]);
        json_key(&j, "edp");
        json_num(&j, "%.17g", tp[front[i]].edp);
        json_end(&j, NULL);
      }
      json_end(&j, NULL);
      json_end(&j, "\n");
      fputc('\n', f);
      rc = write_buf(dir, "result.json", f, &buf, &len, d);
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
      rc = write_buf(dir, "history.csv", f, &buf, &len, d);
    }
    if (rc == RC_OK && (f = open_memstream(&buf, &len))) {
      char title[160];
      snprintf(title, sizeof title, "NAS-Bench-201 %s on %s: %d networks scored",
               nb201_dataset_name(dataset), budget->name, nr.nhist);
      pareto_svg(f, tp, tacc, nr.nhist, front, nf, pick, baselines ? fb.edp : 0, truth[top],
                 have_min ? min_acc : -1, have_min ? 0 : max_edp, title);
      rc = write_buf(dir, "pareto.svg", f, &buf, &len, d);
    }
    if (rc == RC_OK && (f = open_memstream(&buf, &len))) {
      arch_print(f, &best.arch);
      rc = write_buf(dir, "arch.yaml", f, &buf, &len, d);
    }
    if (rc == RC_OK && (f = open_memstream(&buf, &len))) {
      module_print(f, mod);
      rc = write_buf(dir, "network.nir", f, &buf, &len, d);
    }
    if (rc == RC_OK) {
      out->index = tab->index[row];
      snprintf(out->arch, sizeof out->arch, "%s", arch);
      out->accuracy = truth[b->code];
      out->met = met;
      out->networks = nr.nhist;
      out->seconds = nr.seconds;
      out->mod = mod, mod = NULL;
      out->best = best;
      memset(&best, 0, sizeof best);
    }
    xfree(tacc), xfree(front), xfree(tp);
  }
  naas_workload_free(&w);
  if (mod) module_destroy(mod);
  naas_result_free(&best), naas_result_free(&base), naas_result_free(&seq);
  naas_result_free(&refr);
  nas_result_free(&nr);
  naas_cache_destroy(cache);
  nb201_table_free(tab);
  xfree(tab), xfree(truth), xfree(seen), xfree(labelled);
  return rc;
}

void nas_drive_free(NasDriveResult *r) {
  if (r->mod) module_destroy(r->mod);
  r->mod = NULL;
  naas_result_free(&r->best);
}
