/*
 * cosearch.c: the gradient co-search (naasc --search --optimizer gradient):
 * the accelerator's sizes and the mapping of every layer in one descent on
 * the differentiable cost model (backend/dcost.c), instead of NAAS's two
 * nested loops (CMA-ES over designs, a mapper per design and layer).  The
 * line of DOSA (Hong et al., MICRO 2023: one-loop co-search of hardware and
 * mapping by gradient descent on a differentiable model, rounded to valid
 * points), with naas.c's design space and scoring.
 *
 * The design space is the sizing-only one (naas.c, --sizing-only): the
 * budget's own hierarchy and connectivity, every on-chip capacity from a
 * quarter to 4x the budget's (steps of 16 B) and every array axis from half
 * to twice the budget's (even sizes), the DRAM bandwidth at the budget's
 * whole (more bandwidth never costs energy or cycles in the model).
 * Connectivity stays the budget's: it is a choice of which dims an axis may
 * unroll, it changes the set of mapping variables itself (dcost's spatial
 * variables exist only where the axis admits the dim), and relaxing it
 * would need a mixture over connectivities for every layer; CMA-ES wraps
 * this search for it (conn_search below, --optimizer cmaes+gradient).
 *
 * Variables: log capacity c_l of every sized level, log fan-out f_lx of
 * every sized axis, and one RelaxedMapping per layer shape.  The relaxed
 * model sees the sizes only as limits: each layer is evaluated by dcost on
 * the budget with the sized limits lifted and the budget's energies per
 * access (the technology model sets those from a buffer's size too; the
 * descent does not see that, every rounded design gets them exactly), and
 * the limits become penalties on dcost's requirement outputs:
 *   h(log words_l - c_l + log multiple_buffering_l) per layer and level,
 *   h(log unrolling_lx - f_lx) per layer and axis,
 * plus naas.c's budget as smooth penalties on the sizes: h(log PEs - log
 * budget PEs), h(log area - log area bound) (the budget design's area or
 * --max-area; with --byte-budget h(log on-chip bits - log budget's)
 * instead), h(log cycles_m - log max cycles), h(log energy_m - log max
 * energy) when those bounds are given; h is the one-sided Huber function
 * of dcost (docs/cost-model.md, section 14).  The relaxed area is linear in
 * the sizes at the budget's area per word, scaled to arch_area_um2 at the
 * budget.  --max-power is checked on rounded designs only.  The loss is
 *   J = mean over models of (log sum E + log sum C)   (EDP; or one of them)
 *       + PENALTY x (the penalties),
 * descended by Adam with the temperature annealed from 0.1 to 0.005.  Each
 * rounding sizes the buffers from the mappings (DOSA's rule, round_point).
 *
 * Every ROUND_STEPS steps the point is rounded (round_point: the mappings
 * projected with gradient_project, the buffers sized to what they keep,
 * the design repaired into the budget if needed, its figures the technology
 * model's at its sizes (naas_refresh_costs) and checked as naas.c checks a
 * decoded design (naas_within_budget)) and evaluated by mapper_eval (the
 * mapping constraints, then cost_eval): one exact evaluation per layer, one
 * candidate in the log.
 * Then, as in DOSA's loop, the descent restarts from the best rounded
 * point (relaxed: exact there but for the energies per access, which
 * are the budget design's), jittered by JITTER in the log factors
 * when the round found nothing better, with Adam's moments reset.  The
 * mappings start from the gradient mapper's on the budget design
 * (o->map_budget exact evaluations per layer, counted).  At the end the best
 * rounded design is finished as naas_search finishes its best (naas_map_design:
 * every layer mapped again with the search's and the final mapper budget);
 * the result is the best of those mappings and the rounded ones, the rounded
 * ones only where their score (the mac layers one after another) is what
 * naas_map_design's counts: no vector nests and a layer-by-layer schedule.
 *
 * Deterministic for a seed (single-threaded; the mapper's seeds as naas.c's).
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend/backend.h"
#include "search/internal.h"

#define ROUND_STEPS 20          /* Adam steps between roundings */
#define DEFAULT_ROUNDS 30       /* roundings (candidates) when o->iterations is 0 */
#define DEFAULT_MAP_BUDGET 1000 /* naas.c's mapper budget per layer */
#define PENALTY 20.0            /* weight of the penalties (log units), as gradient.c */
#define T_START \
  0.1                      /* temperature at the first step (the start is a good mapping:
                              at 1 the relaxation is far from it and the descent leaves it) */
#define T_FINAL_RATIO 20.0 /* falls 20-fold over the run */
#define LR_MAP \
  0.01                 /* Adam steps: mappings (log factors; gradient.c's 0.1 walks
                              layers that weigh little in the total away from their start) */
#define LR_ARCH 0.05   /* sizes (log words, log PEs) */
#define HUBER_MIN 0.01 /* the Huber width is the temperature, at least this */
#define JITTER 0.15    /* log-factor noise of a restart after a round without progress */
#define STEP_WORDS 8   /* naas.c's 16-byte buffer step */
#define NVAR ((int)(sizeof(RelaxedMapping) / sizeof(double)))
#define MAXZ (ACCEL_MAX_LEVELS * (1 + ACCEL_MAX_AXES))

typedef struct {
  const NaasWorkload *w;
  const Arch *budget;
  const NaasOptions *o;
  Arch relaxed;     /* the budget with sized limits lifted: what dcost sees */
  NaasBudget bg;    /* naas.c's limits: PEs, bytes or area, power */
  double larea_fix; /* log(exact area / arch_logs' area) at the budget design */
  /* sizes: z[0..nc) capacities, z[nc..nc+nf) fan-outs (logs) */
  int nc, nf;
  int zl[MAXZ], zx[MAXZ]; /* level (and axis) of each size variable */
  double z[MAXZ], lo[MAXZ], hi[MAXZ];
  RelaxedMapping *r; /* per layer */
  DcostTape **tape;  /* per layer */
  DcostResult *out;  /* per layer, the last evaluation */
  double wE, wC;     /* objective weights of log energy, log cycles */
} Co;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* One-sided Huber (dcost's h): 0 below 0, x^2/2d up to d, then x - d/2. */
static double huber(double x, double dw) {
  return x <= 0 ? 0 : x < dw ? x * x / (2 * dw) : x - dw / 2;
}
static double huber_d(double x, double dw) { return x <= 0 ? 0 : x < dw ? x / dw : 1; }

static int64_t even_round(double v) {
  int64_t e = 2 * (int64_t)floor(v / 2 + 0.5);
  return e < 2 ? 2 : e;
}

/* The capacity of a level as on-chip storage counts it (naas.c's rule). */
static double level_words(const Level *L) {
  double cap = (double)L->capacity_words;
  if (cap <= 0)
    for (int t = 0; t < NTENSORS; t++) cap += (double)L->tensor_capacity_words[t];
  return cap;
}

/* The size variables and their boxes (decode_sizing's ranges). */
static void vars_init(Co *c) {
  const Arch *b = c->budget;
  c->nc = c->nf = 0;
  for (int l = 0; l < b->nlevels; l++) {
    const Level *L = &b->level[l];
    if (L->is_dram || L->capacity_words <= 0) continue;
    int k = c->nc++;
    double cap = (double)L->capacity_words;
    c->zl[k] = l, c->zx[k] = -1;
    c->z[k] = log(cap);
    c->lo[k] = log(fmax(1, cap / 4)), c->hi[k] = log(cap * 4);
  }
  for (int l = 0; l < b->nlevels; l++)
    for (int x = 0; x < ACCEL_MAX_AXES; x++) {
      if (b->level[l].fanout[x] <= 1) continue;
      int k = c->nc + c->nf++;
      double f = (double)b->level[l].fanout[x];
      c->zl[k] = l, c->zx[k] = x;
      c->z[k] = log(f);
      c->lo[k] = log(fmax(2, f / 2)), c->hi[k] = log(2 * f);
    }
  /* What dcost sees: sized capacities unbounded, sized axes at their maximum. */
  c->relaxed = *b;
  for (int k = 0; k < c->nc; k++) {
    Level *L = &c->relaxed.level[c->zl[k]];
    L->capacity_words = 0;
    for (int t = 0; t < NTENSORS; t++) L->tensor_capacity_words[t] = 0;
  }
  for (int k = c->nc; k < c->nc + c->nf; k++)
    c->relaxed.level[c->zl[k]].fanout[c->zx[k]] = (int64_t)ceil(exp(c->hi[k]));
  naas_arch_finish(&c->relaxed);
}

/* log of the design's PEs, on-chip bits and area at sizes z, with their
 * gradients (d*[k] = d log(.) / d z[k]). */
static void arch_logs(const Co *c, const double *z, double *lpe, double *dpe, double *lbits,
                      double *dbits, double *larea, double *darea) {
  const Arch *b = c->budget;
  int nl = b->nlevels, nz = c->nc + c->nf;
  double logfan[ACCEL_MAX_LEVELS] = {0}, logcap[ACCEL_MAX_LEVELS];
  int capvar[ACCEL_MAX_LEVELS];
  for (int l = 0; l < nl; l++) {
    capvar[l] = -1;
    logcap[l] = log(fmax(level_words(&b->level[l]), 1e-300));
    for (int x = 0; x < ACCEL_MAX_AXES; x++)
      if (b->level[l].fanout[x] > 1) logfan[l] += log((double)b->level[l].fanout[x]);
  }
  for (int k = 0; k < c->nc; k++) capvar[c->zl[k]] = k, logcap[c->zl[k]] = z[k];
  for (int k = c->nc; k < nz; k++)
    logfan[c->zl[k]] += z[k] - log((double)b->level[c->zl[k]].fanout[c->zx[k]]);
  /* PEs: the product of every fan-out. */
  double lp = 0;
  for (int l = 0; l < nl; l++) lp += logfan[l];
  *lpe = lp;
  for (int k = 0; k < nz; k++) dpe[k] = k >= c->nc ? 1 : 0;
  /* Bits and area: sums over levels of instances x words x (bits | area per word). */
  double inst_log = 0, bits = 0, area = 0;
  double tb[ACCEL_MAX_LEVELS] = {0}, ta[ACCEL_MAX_LEVELS] = {0}; /* per level terms */
  for (int l = 0; l < nl; l++) {
    const Level *L = &b->level[l];
    if (!L->is_dram) {
      double inst = exp(inst_log), words = exp(logcap[l]);
      double wb = L->word_bits > 0 ? L->word_bits : 16;
      tb[l] = inst * words * wb;
      ta[l] = inst * (words * L->area_um2_per_word + L->area_um2_fixed);
      bits += tb[l], area += ta[l];
    }
    inst_log += logfan[l];
  }
  double tmac = exp(inst_log) * b->mac_area_um2;
  area += tmac;
  *lbits = log(fmax(bits, 1e-300));
  *larea = log(fmax(area, 1e-300)) + c->larea_fix;
  for (int k = 0; k < nz; k++) {
    double gb = 0, ga = 0;
    if (k < c->nc) {
      int l = c->zl[k];
      const Level *L = &b->level[l];
      double inst = tb[l] / (exp(logcap[l]) * (L->word_bits > 0 ? L->word_bits : 16));
      gb = tb[l];
      ga = inst * exp(logcap[l]) * L->area_um2_per_word;
    } else {
      int lf = c->zl[k]; /* instances of every level below lf grow with it */
      for (int l = lf + 1; l < nl; l++) gb += tb[l], ga += ta[l];
      ga += tmac;
    }
    dbits[k] = bits > 0 ? gb / bits : 0;
    darea[k] = area > 0 ? ga / area : 0;
  }
  (void)capvar;
}

/* A sized capacity on the grid: steps of 16 B for the buffers that have
 * them (decode_sizing's rule), rounded up (up) or to the nearest, within
 * the box of variable k. */
static int64_t cap_grid(const Co *c, int k, double v, bool up) {
  int64_t cap0 = c->budget->level[c->zl[k]].capacity_words;
  double lo = exp(c->lo[k]), hi = exp(c->hi[k]);
  v = v < lo ? lo : v > hi ? hi : v;
  int64_t step = cap0 >= 2 * STEP_WORDS ? STEP_WORDS : 1;
  int64_t n = step * (int64_t)(up ? ceil(v / (double)step - 1e-9) : floor(v / (double)step + 0.5));
  return n < 1 ? 1 : n;
}

/* Partitioned capacities follow their level's, as in decode_sizing. */
static void scale_partitions(const Co *c, Arch *a) {
  for (int k = 0; k < c->nc; k++) {
    const Level *B = &c->budget->level[c->zl[k]];
    Level *L = &a->level[c->zl[k]];
    for (int t = 0; t < NTENSORS; t++)
      if (B->tensor_capacity_words[t] > 0) {
        int64_t tc = (int64_t)floor((double)B->tensor_capacity_words[t] *
                                    (double)L->capacity_words / (double)B->capacity_words);
        L->tensor_capacity_words[t] = tc < 1 ? 1 : tc;
      }
  }
}

/* Within naas.c's limits, with the technology model's figures at a's
 * sizes (as naas.c's decoders give them). */
static bool fits(const Co *c, Arch *a) {
  naas_arch_finish(a);
  return naas_refresh_costs(a) && naas_within_budget(&c->bg, a);
}

/* The array of z: the budget with every sized axis at its even size nearest
 * to z and every sized buffer at `caps` (NULL: nearest to z). */
static void shape_arch(const Co *c, const double *z, const int64_t *caps, Arch *a) {
  *a = *c->budget;
  snprintf(a->name, sizeof a->name, "grad-%.30s", c->budget->name);
  for (int k = 0; k < c->nc; k++)
    a->level[c->zl[k]].capacity_words = caps ? caps[k] : cap_grid(c, k, exp(z[k]), false);
  for (int k = c->nc; k < c->nc + c->nf; k++)
    a->level[c->zl[k]].fanout[c->zx[k]] = even_round(exp(z[k]));
  scale_partitions(c, a);
  naas_arch_finish(a);
}

/* The discrete design nearest to z (decode_sizing's grid; the buffers at
 * caps if not NULL), repaired into the budget (the largest
 * axis, then the buffer holding the most bits, shrunk first); false if no
 * repair fits it. */
static bool round_arch(const Co *c, const double *z, const int64_t *caps, Arch *a) {
  shape_arch(c, z, caps, a);
  for (int guard = 0; guard < 100000 && !fits(c, a); guard++) {
    bool pe_ok = a->mac_instances <= c->bg.pes;
    int best = -1;
    double bv = 0;
    if (!pe_ok || c->nc == 0) { /* the largest axis above 2 loses 2 */
      for (int k = c->nc; k < c->nc + c->nf; k++) {
        int64_t f = a->level[c->zl[k]].fanout[c->zx[k]];
        if (f > 2 && f > bv) bv = (double)f, best = k;
      }
      if (best < 0) return false;
      a->level[c->zl[best]].fanout[c->zx[best]] -= 2;
      continue;
    }
    for (int k = 0; k < c->nc; k++) { /* the buffer holding the most bits loses a sixteenth */
      const Level *L = &a->level[c->zl[k]];
      double v = (double)L->instances * (double)L->capacity_words;
      if (L->capacity_words > 1 && v > bv) bv = v, best = k;
    }
    if (best < 0) return false;
    Level *L = &a->level[c->zl[best]];
    int64_t cut = L->capacity_words / 16;
    cut = cut < STEP_WORDS ? STEP_WORDS : STEP_WORDS * (cut / STEP_WORDS);
    L->capacity_words = L->capacity_words > cut ? L->capacity_words - cut : 1;
    scale_partitions(c, a);
  }
  return fits(c, a);
}

typedef struct {
  double loss, pen_pe, pen_mem, pen_area, pen_cycles, pen_energy; /* excess, log units */
} LossParts;

/* Evaluates every layer at temperature T and the loss's gradient: into
 * gz (sizes) and gr (per layer).  false if dcost fails. */
static bool loss_grad(Co *c, double T, double *gz, RelaxedMapping *gr, LossParts *lp) {
  const NaasWorkload *w = c->w;
  const NaasOptions *o = c->o;
  int n = w->nlayers, nz = c->nc + c->nf;
  double dw = T > HUBER_MIN ? T : HUBER_MIN;
  memset(lp, 0, sizeof *lp);
  for (int k = 0; k < nz; k++) gz[k] = 0;
  for (int i = 0; i < n; i++)
    if (dcost_eval(&w->layers[i].p, &c->relaxed, &c->r[i], T, c->tape[i], &c->out[i]) != COST_OK)
      return false;
  /* Per model: sums of energy and cycles (relative to the largest layer's, for range). */
  double SE[NAAS_MAX_MODELS] = {0}, SC[NAAS_MAX_MODELS] = {0};
  double mE[NAAS_MAX_MODELS], mC[NAAS_MAX_MODELS];
  for (int m = 0; m < w->nmodels; m++) mE[m] = mC[m] = -INFINITY;
  for (int i = 0; i < n; i++) {
    int m = w->layers[i].model;
    double le = c->out[i].log_energy + log((double)w->layers[i].count);
    double lc = c->out[i].log_cycles + log((double)w->layers[i].count);
    if (le > mE[m]) mE[m] = le;
    if (lc > mC[m]) mC[m] = lc;
  }
  for (int i = 0; i < n; i++) {
    int m = w->layers[i].model;
    SE[m] += exp(c->out[i].log_energy + log((double)w->layers[i].count) - mE[m]);
    SC[m] += exp(c->out[i].log_cycles + log((double)w->layers[i].count) - mC[m]);
  }
  double M = w->nmodels, gE[NAAS_MAX_MODELS], gC[NAAS_MAX_MODELS];
  for (int m = 0; m < w->nmodels; m++) {
    double lE = mE[m] + log(SE[m]), lC = mC[m] + log(SC[m]);
    lp->loss += (c->wE * lE + c->wC * lC) / M;
    gE[m] = c->wE / M, gC[m] = c->wC / M;
    if (o->max_cycles > 0) {
      double x = lC - log(o->max_cycles);
      lp->loss += PENALTY * huber(x, dw);
      lp->pen_cycles = fmax(lp->pen_cycles, x);
      gC[m] += PENALTY * huber_d(x, dw);
    }
    if (o->max_energy_pj > 0) {
      double x = lE - log(o->max_energy_pj);
      lp->loss += PENALTY * huber(x, dw);
      lp->pen_energy = fmax(lp->pen_energy, x);
      gE[m] += PENALTY * huber_d(x, dw);
    }
  }
  /* Per layer: the seed of its outputs, and its limits against the sizes. */
  for (int i = 0; i < n; i++) {
    const DcostResult *out = &c->out[i];
    int m = w->layers[i].model;
    double cnt = (double)w->layers[i].count;
    DcostSeed s;
    memset(&s, 0, sizeof s);
    s.log_energy = gE[m] * exp(out->log_energy + log(cnt) - mE[m]) / SE[m];
    s.log_cycles = gC[m] * exp(out->log_cycles + log(cnt) - mC[m]) / SC[m];
    s.penalty = PENALTY;
    lp->loss += PENALTY * out->penalty;
    for (int k = 0; k < nz; k++) {
      int l = c->zl[k];
      double x, g;
      if (k < c->nc) {
        double mb = c->budget->level[l].multiple_buffering;
        x = out->log_words[l] - c->z[k] + log(mb > 0 ? mb : 1);
        g = PENALTY * huber_d(x, dw);
        s.log_words[l] += g;
      } else {
        x = out->log_spatial[l][c->zx[k]] - c->z[k];
        g = PENALTY * huber_d(x, dw);
        s.log_spatial[l][c->zx[k]] += g;
      }
      lp->loss += PENALTY * huber(x, dw);
      gz[k] -= g;
    }
    dcost_grad(c->tape[i], &s, &gr[i]);
  }
  /* The budget on the sizes. */
  double lpe, lbits, larea, dpe[MAXZ], dbits[MAXZ], darea[MAXZ];
  arch_logs(c, c->z, &lpe, dpe, &lbits, dbits, &larea, darea);
  double xs[3] = {lpe - log((double)c->bg.pes),
                  c->bg.bytes ? lbits - log((double)c->bg.onchip_bits) : -INFINITY,
                  c->bg.area_um2 > 0 ? larea - log(c->bg.area_um2) : -INFINITY};
  const double *ds[3] = {dpe, dbits, darea};
  for (int j = 0; j < 3; j++) {
    if (!(xs[j] > 0)) continue;
    lp->loss += PENALTY * huber(xs[j], dw);
    for (int k = 0; k < nz; k++) gz[k] += PENALTY * huber_d(xs[j], dw) * ds[j][k];
  }
  lp->pen_pe = xs[0], lp->pen_mem = xs[1], lp->pen_area = xs[2];
  return true;
}

/* Rounds the point: the design, every layer projected on it and scored
 * exactly.  Fills a log entry; true with *score (and ms, cs) if valid. */
static bool round_point(Co *c, Arch *a, Mapping *ms, CostResult *cs, NaasCandidate *cand,
                        int64_t *evals) {
  const NaasWorkload *w = c->w;
  const NaasOptions *o = c->o;
  memset(cand, 0, sizeof *cand);
  cand->score = cand->edp = cand->energy_pj = cand->cycles = INFINITY;
  /* DOSA's rounding first: every mapping projected on the array of z with
   * the sized buffers at their largest, then each sized buffer made just
   * large enough for what the mappings keep in it (rounded up to the grid).
   * If that design breaks the budget, it is repaired into it (the largest
   * buffer shrinks first, so the small ones keep what the mappings need)
   * and the mappings are projected on the result. */
  int n = w->nlayers;
  int64_t caps[MAXZ];
  for (int k = 0; k < c->nc; k++) caps[k] = cap_grid(c, k, exp(c->hi[k]), false);
  shape_arch(c, c->z, caps, a);
  bool derived = true;
  for (int i = 0; i < n && derived; i++)
    derived = gradient_project(&w->layers[i].p, a, &c->r[i], &ms[i]);
  bool projected = derived;
  if (derived) {
    for (int k = 0; k < c->nc; k++) {
      const Level *B = &c->budget->level[c->zl[k]];
      double mb = B->multiple_buffering > 0 ? B->multiple_buffering : 1, need = 1;
      for (int i = 0; i < n; i++) {
        int64_t tw[NTENSORS];
        double u = (double)gradient_level_words(&w->layers[i].p, &ms[i], c->zl[k], tw) * mb;
        need = fmax(need, u);
        for (int t = 0; t < NTENSORS; t++)
          if (B->tensor_capacity_words[t] > 0)
            need = fmax(need, (double)tw[t] * (double)B->capacity_words /
                                  (double)B->tensor_capacity_words[t]);
      }
      caps[k] = cap_grid(c, k, need, true);
    }
    shape_arch(c, c->z, caps, a);
    derived = fits(c, a);
  }
  if (!derived && !round_arch(c, c->z, projected ? caps : NULL, a)) return false;
  cand->area_um2 = arch_area_um2(a);
  naas_describe(a, cand);
  double E[NAAS_MAX_MODELS] = {0}, C[NAAS_MAX_MODELS] = {0};
  for (int i = 0; i < n; i++) {
    (*evals)++;
    bool cons = mapcons_any(&a->cons);
    int rc = derived ? mapper_eval(&w->layers[i].p, a, cons, &ms[i], &cs[i]) : COST_EFACTOR;
    if (rc != COST_OK) { /* not derived, or a partition too small: project on a */
      if (!gradient_project(&w->layers[i].p, a, &c->r[i], &ms[i])) return false;
      if (derived) (*evals)++;
      if (mapper_eval(&w->layers[i].p, a, cons, &ms[i], &cs[i]) != COST_OK) return false;
    }
    E[w->layers[i].model] += (double)w->layers[i].count * cs[i].energy_pj;
    C[w->layers[i].model] += (double)w->layers[i].count * (double)cs[i].cycles;
  }
  double le = 0, lc = 0;
  for (int m = 0; m < w->nmodels; m++) {
    if (o->max_cycles > 0 && C[m] > o->max_cycles) return false;
    if (o->max_energy_pj > 0 && E[m] > o->max_energy_pj) return false;
    le += log(E[m]), lc += log(C[m]);
  }
  if (w->nmodels == 1)
    cand->energy_pj = E[0], cand->cycles = C[0], cand->edp = E[0] * C[0];
  else
    cand->energy_pj = exp(le / w->nmodels), cand->cycles = exp(lc / w->nmodels),
    cand->edp = exp((le + lc) / w->nmodels);
  cand->score = o->objective == NAAS_OBJ_ENERGY    ? cand->energy_pj
                : o->objective == NAAS_OBJ_LATENCY ? cand->cycles
                                                   : cand->edp;
  cand->valid = true;
  return true;
}

/* The starting mapping of every layer: the gradient mapper's on the budget
 * design (o->map_budget exact evaluations), relaxed; a random decoded
 * mapping where that fails. */
static void start_mappings(Co *c, Rng *rng, int64_t *evals) {
  const NaasWorkload *w = c->w;
  MapperOptions mo;
  mapper_options_default(&mo);
  mo.strategy = MAP_GRADIENT;
  mo.objective = c->o->objective == NAAS_OBJ_ENERGY    ? MAPOBJ_ENERGY
                 : c->o->objective == NAAS_OBJ_LATENCY ? MAPOBJ_LATENCY
                                                       : MAPOBJ_EDP;
  mo.budget = c->o->map_budget > 0 ? c->o->map_budget : DEFAULT_MAP_BUDGET;
  Diag quiet;
  diag_init(&quiet, NULL, NULL);
  for (int i = 0; i < w->nlayers; i++) {
    const Problem *p = &w->layers[i].p;
    MapResult res;
    mo.seed = c->o->seed ^ ((uint64_t)i * 0x9e3779b97f4a7c15ULL);
    Rc rc = mapper_run(p, c->budget, &mo, &res, &quiet);
    *evals += res.evals;
    Mapping m;
    if (rc == RC_OK) {
      m = res.best;
    } else {
      double x[ACCEL_MAX_LEVELS * (2 * NDIMS + NTENSORS) +
               ACCEL_MAX_LEVELS * ACCEL_MAX_AXES * (NDIMS + 2)];
      for (int k = 0; k < mapspace_dim(c->budget); k++) x[k] = rng_uniform(rng);
      mapspace_decode(p, c->budget, x, &m);
    }
    RelaxedMapping *r = &c->r[i];
    if (dcost_relax(p, c->budget, &m, r) != COST_OK) memset(r, 0, sizeof *r);
    /* Orders and keeps stay at dcost_relax's scale (importances 1 apart,
     * logits +-8): at these temperatures they are hard, so the descent
     * moves tile factors and sizes, and keeps the starting orders and keeps
     * (softened, gradient.c's refine scale, the descent reordered loops
     * that the projection then turned into poor mappings). */
  }
}

/* Puts the point back on the best rounded design and its mappings (their
 * relaxed form, so the point is exact there), with a jitter of the log
 * factors (0 after an improvement: the descent goes on from the exact
 * point; > 0 after a round that found nothing better, so the next descent
 * differs). */
static void restart_from(Co *c, const Arch *best, const Mapping *ms, double jitter, Rng *rng) {
  for (int k = 0; k < c->nc; k++) {
    double v = log((double)best->level[c->zl[k]].capacity_words);
    c->z[k] = v < c->lo[k] ? c->lo[k] : v > c->hi[k] ? c->hi[k] : v;
  }
  for (int k = c->nc; k < c->nc + c->nf; k++) {
    double v = log((double)best->level[c->zl[k]].fanout[c->zx[k]]);
    c->z[k] = v < c->lo[k] ? c->lo[k] : v > c->hi[k] ? c->hi[k] : v;
  }
  for (int i = 0; i < c->w->nlayers; i++) {
    RelaxedMapping *r = &c->r[i];
    if (dcost_relax(&c->w->layers[i].p, &c->relaxed, &ms[i], r) != COST_OK) continue;
    if (jitter <= 0) continue;
    for (int l = 1; l < c->budget->nlevels; l++)
      for (int d = 0; d < NDIMS; d++) {
        r->t[l][d] += jitter * rng_normal(rng);
        for (int x = 0; x < ACCEL_MAX_AXES; x++) r->s[l][x][d] += jitter * rng_normal(rng);
      }
  }
}

/* ---- the outer CMA-ES over connectivity (--optimizer cmaes+gradient) ------- */

#define CONN_NCONN 7           /* G K C P Q R S: naas.c's importance encoding */
#define CONN_ROUNDS 10         /* roundings of each inner descent */
#define CONN_DEFAULT_GENS 6    /* outer generations when o->iterations is 0 */
#define CONN_DEFAULT_POPSIZE 8 /* candidates per generation when o->popsize is 0 */

static const int conn_dims[CONN_NCONN] = {DIM_G, DIM_K, DIM_C, DIM_P, DIM_Q, DIM_R, DIM_S};

/* The connectivity of one axis from its genes (naas.c's decode_template
 * rule): N, and the m most important of G K C P Q R S, m = 1..3 from the
 * last gene. */
static uint8_t conn_decode(const double *g) {
  double imp[CONN_NCONN + 1];
  for (int k = 0; k <= CONN_NCONN; k++) imp[k] = g[k] < 0 ? 0 : g[k] > 1 ? 1 : g[k];
  int m = 1 + (int)floor(imp[CONN_NCONN] * 2.999);
  uint8_t conn = (uint8_t)(1u << DIM_N), used = 0;
  for (int j = 0; j < m; j++) {
    int best = -1;
    for (int k = 0; k < CONN_NCONN; k++)
      if (!(used & (1u << k)) && (best < 0 || imp[k] > imp[best])) best = k;
    used |= (uint8_t)(1u << best);
    conn |= (uint8_t)(1u << conn_dims[best]);
  }
  return conn;
}

/* The genes that decode to conn (its dims at 0.75, the others at 0.25, the
 * count at the middle of its third), so the search starts at the budget. */
static void conn_encode(uint8_t conn, double *g) {
  int m = 0;
  for (int k = 0; k < CONN_NCONN; k++) {
    bool on = conn & (1u << conn_dims[k]);
    g[k] = on ? 0.75 : 0.25;
    m += on;
  }
  m = m < 1 ? 1 : m > 3 ? 3 : m;
  g[CONN_NCONN] = ((double)m - 0.5) / 3.0;
}

/* CMA-ES over the connectivity of every axis of the budget's array (its
 * hierarchy, sizes and fan-outs kept), each candidate scored by a short
 * gradient co-search (CONN_ROUNDS roundings, its layers mapped once with
 * o->map_budget); the best candidate's design is finished by
 * naas_map_design, its own mappings competing.  Every exact evaluation of
 * every inner search is counted in r->evals, every relaxed one in
 * r->relaxed; the log has one entry per candidate (its best design). */
static Rc conn_search(const NaasWorkload *w, const Arch *budget, const NaasOptions *o,
                      NaasResult *r, Diag *d) {
  double t0 = now_s();
  int axl[ACCEL_MAX_LEVELS * ACCEL_MAX_AXES], axx[ACCEL_MAX_LEVELS * ACCEL_MAX_AXES], nax = 0;
  for (int l = 0; l < budget->nlevels; l++)
    for (int x = 0; x < ACCEL_MAX_AXES; x++)
      if (budget->level[l].fanout[x] > 1) axl[nax] = l, axx[nax] = x, nax++;
  if (nax == 0) {
    diag_error(d, budget->name,
               "--optimizer cmaes+gradient searches the connectivity of the array's axes, and "
               "the budget design has none (no fan-out above 1)");
    return RC_BADINPUT;
  }
  int dim = nax * (CONN_NCONN + 1);
  int lam = o->popsize > 0 ? o->popsize : CONN_DEFAULT_POPSIZE;
  int64_t gens = o->iterations > 0 ? o->iterations : CONN_DEFAULT_GENS;
  if (lam < 4 || lam > NAAS_MAX_POPSIZE || gens * lam + 1 > NAAS_MAX_CANDIDATES) {
    diag_error(d, "search",
               "%" PRId64 " generations of %d candidates: naasc accepts populations of 4 to %d "
               "and at most %" PRId64 " candidates",
               gens, lam, NAAS_MAX_POPSIZE, NAAS_MAX_CANDIDATES);
    return RC_BADINPUT;
  }
  Optimizer *opt = opt_create(OPT_CMAES, dim, lam, 0.3, o->seed ^ 0x636f6e6eULL);
  double *xs = xcalloc((size_t)lam * (size_t)dim, sizeof *xs);
  double *fit = xcalloc((size_t)lam, sizeof *fit), *x0 = xcalloc((size_t)dim, sizeof *x0);
  NaasCandidate *log = xcalloc((size_t)(gens * lam), sizeof *log);
  NaasResult best;
  memset(&best, 0, sizeof best);
  best.score = INFINITY;
  Rc rc = RC_OK;
  if (!opt || !xs || !fit || !x0 || !log) {
    diag_error(d, "search", "out of memory");
    rc = RC_INTERNAL;
    goto done;
  }
  for (int a = 0; a < nax; a++)
    conn_encode(budget->level[axl[a]].connectivity[axx[a]], x0 + a * (CONN_NCONN + 1));
  opt_set_mean(opt, x0);
  NaasOptions io = *o;
  io.gradient_conn = false;
  io.iterations = CONN_ROUNDS;
  io.final_map_budget = o->map_budget > 0 ? o->map_budget : DEFAULT_MAP_BUDGET;
  io.log_json = NULL;
  io.progress = false;
  int64_t evals = 0, relaxed = 0, nlog = 0;
  for (int64_t g = 0; g < gens; g++) {
    for (int i = 0; i < lam; i++) {
      double *x = xs + (size_t)i * (size_t)dim;
      opt_ask(opt, i, x);
      Arch a = *budget;
      for (int k = 0; k < nax; k++)
        a.level[axl[k]].connectivity[axx[k]] = conn_decode(x + k * (CONN_NCONN + 1));
      NaasResult ir;
      Diag quiet;
      diag_init(&quiet, NULL, NULL);
      Rc irc = naas_gradient_search(w, &a, &io, &ir, &quiet);
      evals += ir.evals, relaxed += ir.relaxed;
      NaasCandidate *c = &log[nlog++];
      memset(c, 0, sizeof *c);
      c->iteration = g, c->index = i;
      c->score = c->edp = c->energy_pj = c->cycles = INFINITY;
      fit[i] = INFINITY;
      if (irc == RC_OK && isfinite(ir.score)) {
        fit[i] = ir.score;
        c->valid = true;
        c->score = ir.score, c->edp = ir.edp, c->energy_pj = ir.energy_pj, c->cycles = ir.cycles;
        c->area_um2 = arch_area_um2(&ir.arch);
        naas_describe(&ir.arch, c);
        if (ir.score < best.score) {
          naas_result_free(&best);
          best = ir;
          memset(&ir, 0, sizeof ir);
        }
      }
      naas_result_free(&ir);
    }
    opt_tell(opt, fit);
    if (o->progress)
      fprintf(stderr, "\rnaas (cmaes+gradient): generation %" PRId64 "/%" PRId64 "  best %.4g   ",
              g + 1, gens, best.score);
  }
  if (o->progress) fputc('\n', stderr);
  r->log = log, r->nlog = nlog, r->candidates = nlog, r->iterations = gens;
  log = NULL;
  if (o->log_json) {
    rc = naas_log_write(o->log_json, r, d);
    if (rc != RC_OK) goto done;
  }
  if (!isfinite(best.score)) {
    diag_error(d, budget->name,
               "no valid design found by the connectivity search in %" PRId64
               " candidates: every inner gradient search failed (a bound no design meets, or "
               "connectivities no layer can use)",
               nlog);
    rc = RC_BADINPUT;
    goto done;
  }
  /* The exact check at the end, as every search ends; the best candidate's
   * own mappings compete. */
  rc = naas_map_design(w, &best.arch, o, r, d);
  evals += r->evals;
  r->search_score = best.score;
  if (rc == RC_OK && best.score < r->score) {
    memcpy(r->mapping, best.mapping, sizeof *best.mapping * (size_t)w->nlayers);
    memcpy(r->cost, best.cost, sizeof *best.cost * (size_t)w->nlayers);
    r->score = best.score, r->edp = best.edp, r->energy_pj = best.energy_pj;
    r->cycles = best.cycles;
  }
  r->evals = evals;
  r->relaxed = relaxed;
done:
  r->seconds = now_s() - t0;
  naas_result_free(&best);
  opt_destroy(opt);
  xfree(xs), xfree(fit), xfree(x0), xfree(log);
  return rc;
}

Rc naas_gradient_search(const NaasWorkload *w, const Arch *budget, const NaasOptions *o,
                        NaasResult *r, Diag *d) {
  memset(r, 0, sizeof *r);
  if (o->gradient_conn) return conn_search(w, budget, o, r, d);
  double t0 = now_s();
  Co c;
  memset(&c, 0, sizeof c);
  c.w = w, c.budget = budget, c.o = o;
  naas_budget_of(budget, o, &c.bg);
  c.wE = o->objective == NAAS_OBJ_LATENCY ? 0 : 1;
  c.wC = o->objective == NAAS_OBJ_ENERGY ? 0 : 1;
  vars_init(&c);
  int n = w->nlayers, nz = c.nc + c.nf;
  {
    /* The relaxed area is arch_logs' linear model at the budget's figures
     * per word; scaled to the exact area (arch_area_um2) at the budget. */
    double lpe, lbits, larea, g1[MAXZ], g2[MAXZ], g3[MAXZ];
    arch_logs(&c, c.z, &lpe, g1, &lbits, g2, &larea, g3);
    double a0 = arch_area_um2(budget);
    if (a0 > 0 && isfinite(larea)) c.larea_fix = log(a0) - larea;
    /* A bound no point of the space meets is refused before any work: the
     * smallest design (every size at its box's low end) over the area bound. */
    arch_logs(&c, c.lo, &lpe, g1, &lbits, g2, &larea, g3);
    if (c.bg.area_um2 > 0 && larea > log(c.bg.area_um2)) {
      diag_error(d, budget->name,
                 "no design of the gradient search's space meets the area bound of %.6g mm^2: the "
                 "smallest (every buffer a quarter and every array axis half the budget's) "
                 "has %.6g mm^2",
                 c.bg.area_um2 * 1e-6, exp(larea) * 1e-6);
      return RC_BADINPUT;
    }
  }
  int64_t rounds = o->iterations > 0 ? o->iterations : DEFAULT_ROUNDS;
  if (rounds + 1 > NAAS_MAX_CANDIDATES) {
    diag_error(d, "search",
               "%" PRId64 " rounds are more than the %" PRId64 " candidates a search accepts",
               rounds, NAAS_MAX_CANDIDATES);
    return RC_BADINPUT;
  }
  int64_t steps = rounds * ROUND_STEPS;
  Rc rc = RC_OK;
  c.r = xcalloc((size_t)n, sizeof *c.r);
  c.tape = xcalloc((size_t)n, sizeof *c.tape);
  c.out = xcalloc((size_t)n, sizeof *c.out);
  RelaxedMapping *gr = xcalloc((size_t)n, sizeof *gr), *mo = xcalloc((size_t)n, sizeof *mo),
                 *ve = xcalloc((size_t)n, sizeof *ve);
  Mapping *ms = xcalloc((size_t)n, sizeof *ms), *best_ms = xcalloc((size_t)n, sizeof *best_ms);
  CostResult *cs = xcalloc((size_t)n, sizeof *cs), *best_cs = xcalloc((size_t)n, sizeof *best_cs);
  NaasCandidate *cands = xcalloc((size_t)rounds + 1, sizeof *cands);
  bool mem = c.r && c.tape && c.out && gr && mo && ve && ms && best_ms && cs && best_cs && cands;
  for (int i = 0; mem && i < n; i++) mem = (c.tape[i] = dcost_tape_create()) != NULL;
  if (!mem) {
    diag_error(d, "search", "out of memory");
    rc = RC_INTERNAL;
    goto done;
  }
  {
    Rng rng;
    rng_seed(&rng, o->seed ^ 0x636f736561726368ULL);
    int64_t evals = 0, relaxed = 0, nlog = 0;
    start_mappings(&c, &rng, &evals);
    double zm[MAXZ] = {0}, zv[MAXZ] = {0}, gz[MAXZ];
    int adam_t = 0;
    double best_score = INFINITY;
    Arch best, a;
    LossParts lp;
    memset(&lp, 0, sizeof lp);
    /* Round 0 is the starting point itself (the budget design). */
    for (int64_t step = 0; step <= steps; step++) {
      if (step % ROUND_STEPS == 0) {
        NaasCandidate *cand = &cands[nlog++];
        bool ok = round_point(&c, &a, ms, cs, cand, &evals);
        cand->iteration = step / ROUND_STEPS;
        cand->index = 0;
        bool better = ok && cand->score < best_score;
        if (better) {
          best_score = cand->score, best = a;
          memcpy(best_ms, ms, sizeof *ms * (size_t)n);
          memcpy(best_cs, cs, sizeof *cs * (size_t)n);
        }
        /* DOSA's loop: every descent starts from the best rounded point
         * (exact there); after a round that found nothing better, jittered.
         * Adam starts afresh. */
        if (isfinite(best_score) && step < steps) {
          restart_from(&c, &best, best_ms, better ? 0 : JITTER, &rng);
          memset(zm, 0, sizeof zm), memset(zv, 0, sizeof zv);
          memset(mo, 0, sizeof *mo * (size_t)n), memset(ve, 0, sizeof *ve * (size_t)n);
          adam_t = 0;
        }
        if (o->progress)
          fprintf(stderr, "\rnaas (gradient): round %" PRId64 "/%" PRId64 "  best %.4g   ",
                  step / ROUND_STEPS, rounds, best_score);
      }
      if (step == steps) break;
      double T = T_START * pow(1.0 / T_FINAL_RATIO, (double)step / (double)(steps - 1));
      if (!loss_grad(&c, T, gz, gr, &lp)) {
        diag_error(d, "search", "the differentiable cost model failed on a layer");
        rc = RC_INTERNAL;
        goto done;
      }
      relaxed += n;
      int t = ++adam_t;
      double b1 = 1 - pow(0.9, t), b2 = 1 - pow(0.999, t);
      for (int k = 0; k < nz; k++) { /* Adam (Kingma and Ba, 2015), default betas */
        zm[k] = 0.9 * zm[k] + 0.1 * gz[k];
        zv[k] = 0.999 * zv[k] + 0.001 * gz[k] * gz[k];
        c.z[k] -= LR_ARCH * (zm[k] / b1) / (sqrt(zv[k] / b2) + 1e-8);
        c.z[k] = c.z[k] < c.lo[k] ? c.lo[k] : c.z[k] > c.hi[k] ? c.hi[k] : c.z[k];
      }
      for (int i = 0; i < n; i++) {
        double *x = (double *)&c.r[i], *m1 = (double *)&mo[i], *v1 = (double *)&ve[i];
        const double *g = (const double *)&gr[i];
        for (int k = 0; k < NVAR; k++) {
          if (g[k] == 0 && m1[k] == 0) continue;
          m1[k] = 0.9 * m1[k] + 0.1 * g[k];
          v1[k] = 0.999 * v1[k] + 0.001 * g[k] * g[k];
          x[k] -= LR_MAP * (m1[k] / b1) / (sqrt(v1[k] / b2) + 1e-8);
        }
        const Problem *p = &w->layers[i].p;
        for (int l = 0; l < budget->nlevels; l++) /* log factors in [0, log D] */
          for (int dd = 0; dd < NDIMS; dd++) {
            double hi = log((double)p->dim[dd]);
            RelaxedMapping *rm = &c.r[i];
            rm->t[l][dd] = rm->t[l][dd] < 0 ? 0 : rm->t[l][dd] > hi ? hi : rm->t[l][dd];
            for (int ax = 0; ax < ACCEL_MAX_AXES; ax++)
              rm->s[l][ax][dd] = rm->s[l][ax][dd] < 0    ? 0
                                 : rm->s[l][ax][dd] > hi ? hi
                                                         : rm->s[l][ax][dd];
          }
      }
    }
    if (o->progress) fputc('\n', stderr);
    r->log = cands, r->nlog = nlog, r->candidates = nlog, r->iterations = rounds;
    r->relaxed = relaxed;
    cands = NULL;
    if (o->log_json) {
      rc = naas_log_write(o->log_json, r, d);
      if (rc != RC_OK) goto done;
    }
    if (!isfinite(best_score)) {
      /* Name what the last relaxed point still broke. */
      char why[256] = "";
      size_t k = 0;
      const char *names[5] = {"the budget's PEs", "the budget's on-chip bytes", "the area bound",
                              "--max-latency", "--max-energy"};
      double ex[5] = {lp.pen_pe, lp.pen_mem, lp.pen_area, lp.pen_cycles, lp.pen_energy};
      for (int j = 0; j < 5; j++)
        if (ex[j] > 0.05) /* the Huber zone lets a point sit a little over */
          k += (size_t)snprintf(why + k, sizeof why - k, "%s%s by %.3gx", k ? ", " : "", names[j],
                                exp(ex[j]));
      diag_error(d, budget->name,
                 "no valid design found by the gradient search in %" PRId64 " rounds: %s", rounds,
                 k ? why
                   : "every rounded design had a layer without a valid mapping or broke a bound "
                     "(the area or byte bound, --max-power, --max-latency, --max-energy)");
      rc = RC_BADINPUT;
      goto done;
    }
    /* The exact check at the end: the best rounded design mapped by
     * naas_map_design, as naas_search maps its best and every baseline;
     * its rounded mappings compete only where their score counts what
     * naas_map_design's does: a rounding scores the mac layers one after
     * another, so not when a model has nests for the vector unit or the
     * schedule is fused (a rounded score without the vector unit's energy
     * and cycles was taken as the result, 2.7x below the design's own on
     * SqueezeNet within nvdla-256). */
    rc = naas_map_design(w, &best, o, r, d);
    evals += r->evals;
    r->search_score = best_score;
    bool comparable = o->schedule == NAAS_SCHED_LAYER;
    for (int m = 0; m < w->nmodels; m++) comparable = comparable && !w->module[m];
    if (rc == RC_OK && comparable && best_score < r->score) {
      memcpy(r->mapping, best_ms, sizeof *best_ms * (size_t)n);
      memcpy(r->cost, best_cs, sizeof *best_cs * (size_t)n);
      for (int64_t j = 0; j < nlog; j++)
        if (r->log[j].valid && r->log[j].score == best_score) {
          r->score = best_score;
          r->edp = r->log[j].edp, r->energy_pj = r->log[j].energy_pj;
          r->cycles = r->log[j].cycles;
          break;
        }
    }
    r->evals = evals;
  }
done:
  r->seconds = now_s() - t0;
  for (int i = 0; c.tape && i < n; i++) dcost_tape_destroy(c.tape[i]);
  xfree(c.r), xfree(c.tape), xfree(c.out), xfree(gr), xfree(mo), xfree(ve), xfree(ms),
      xfree(best_ms), xfree(cs), xfree(best_cs), xfree(cands);
  return rc;
}
