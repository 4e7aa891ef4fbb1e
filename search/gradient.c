/*
 * gradient.c: the gradient mapper (map{strategy=gradient}): descent on the
 * differentiable cost model (backend/dcost.c), rounding to valid discrete
 * mappings that the exact model (cost_eval) then scores.  The line of SNAS
 * (Xie et al., ICLR 2019: a relaxed discrete choice, annealed) and DOSA
 * (Hong et al., MICRO 2023: gradient descent on a differentiable model of
 * Timeloop, rounded to the nearest valid mapping every few steps).
 *
 * One start:
 *   1. a point: the relaxed form of a random decoded mapping (the NAAS
 *      encoding, mapper.c), loop importances at random, and a discrete
 *      choice of keeps: each optional keep at random;
 *   2. STEPS steps of Adam on J = objective + PENALTY x penalty, where the
 *      objective is log E + log C (EDP), log E or log C, at a temperature
 *      annealed geometrically from o->temperature to a twentieth of it; the
 *      factors and importances move, the keeps do not (below);
 *   3. every ROUND_EVERY steps and at the end, the point is projected on a
 *      valid discrete mapping (gradient_project below: nearest divisors, capacity
 *      repaired) and, if that mapping was not scored before, scored by
 *      mapper_eval (the arch's mapping constraints applied, then cost_eval):
 *      one exact evaluation, counted in o->budget like every other
 *      strategy's.
 * Starts repeat until the budget of exact evaluations is spent; every other
 * start begins from the best mapping found so far, perturbed, its keeps
 * the best's with one optional keep flipped half the time (half the starts
 * explore, half refine).
 *
 * Keeps are chosen by the starts, not descended: descended from soft
 * logits, they settled on keeping every tensor a level allows in 92% of
 * the mappings scored on MobileNetV2's features.11.conv.2 on eyeriss,
 * whose best mappings bypass the GLB for inputs (the GLB cannot hold both
 * tiles there).  Which tensors a level keeps splits the space into basins
 * that the greedy descent, starting where keeping pays, does not leave;
 * the gradient mapper ended 2-14% above es there (docs/gradient.md).  The relaxed evaluations are not counted in
 * the budget; MapResult.relaxed says how many there were, and the
 * benchmarks report the time they take (docs/benchmarks.md).
 *
 * Deterministic for a seed: every draw comes from the run's own generator.
 * Allocates one tape and one table of seen mappings per run.
 */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "search/internal.h"

#define STEPS 120        /* Adam steps per start */
#define ROUND_EVERY 20   /* steps between projections */
#define PENALTY 20.0     /* weight of the penalty (log units) */
#define T_FINAL_RATIO 20 /* the temperature falls 20-fold over a start */
#define SEEN_BITS 14     /* table of scored mappings: 16384 hashes */
#define STALE 32         /* starts in a row without a new mapping end the run */
#define KEEP_LOGIT 100.0 /* a start's keep logits: hard at every temperature allowed (<= 10) */

/* The variables the descent moves: all but the keep logits (the last). */
#define NMOVED ((int)(offsetof(RelaxedMapping, keep) / sizeof(double)))

typedef struct {
  const Problem *p;
  const Arch *a;
  const MapperOptions *o;
  MapResult *res;
  FitnessFn fitness;
  DcostTape *tape;
  Rng rng;
  uint64_t *seen; /* open addressing, 0 = empty */
  int64_t budget;
  bool cons; /* a has mapping constraints: projected and checked (mapper_eval) */
} Grad;

/* ---- projection on a valid discrete mapping ------------------------------- */

/* The divisor of e nearest to target in log scale, among those <= cap. */
static int64_t nearest_divisor(int64_t e, double target, int64_t cap) {
  int64_t best = 1;
  double bd = INFINITY, lt = log(target > 1 ? target : 1);
  for (int64_t f = 1; f * f <= e; f++) {
    if (e % f) continue;
    int64_t c2[2] = {f, e / f};
    for (int k = 0; k < 2; k++) {
      if (c2[k] > cap) continue;
      double dist = fabs(log((double)c2[k]) - lt);
      if (dist < bd || (dist == bd && c2[k] < best)) bd = dist, best = c2[k];
    }
  }
  return best;
}

static int64_t smallest_prime(int64_t v) {
  for (int64_t q = 2; q * q <= v; q++)
    if (v % q == 0) return q;
  return v;
}

/* Words of tensor t in a tile with extents ext (cost.c's tile_words). */
static int64_t words_of(const Problem *p, int t, const int64_t *e) {
  switch (t) {
  case TENSOR_W: return e[DIM_G] * e[DIM_K] * e[DIM_C] * e[DIM_R] * e[DIM_S];
  case TENSOR_O: return e[DIM_G] * e[DIM_N] * e[DIM_K] * e[DIM_P] * e[DIM_Q];
  default:
    return e[DIM_G] * e[DIM_N] * e[DIM_C] *
           ((e[DIM_P] - 1) * p->stride[0] + (e[DIM_R] - 1) * p->dilation[0] + 1) *
           ((e[DIM_Q] - 1) * p->stride[1] + (e[DIM_S] - 1) * p->dilation[1] + 1);
  }
}

/* The words level l of m keeps: per tensor (tw) and in all; its tiles'
 * extents are the product of the factors at and inside it. */
int64_t gradient_level_words(const Problem *p, const Mapping *m, int l, int64_t *tw) {
  int64_t ext[NDIMS], used = 0;
  for (int d = 0; d < NDIMS; d++) {
    int64_t e = 1;
    for (int k = l; k < m->nlevels; k++) {
      e *= m->level[k].factor[d];
      for (int x = 0; x < ACCEL_MAX_AXES; x++) e *= m->level[k].spatial[x][d];
    }
    ext[d] = e;
  }
  for (int t = 0; t < NTENSORS; t++) {
    tw[t] = (m->level[l].keep >> t & 1) ? words_of(p, t, ext) : 0;
    used += tw[t];
  }
  return used;
}

/* How far level l's kept tiles exceed its capacities (words; 0 if they fit). */
static double overflow(const Problem *p, const Arch *a, const Mapping *m, int l) {
  const Level *lv = &a->level[l];
  if (lv->is_dram) return 0;
  int64_t ext[NDIMS];
  for (int d = 0; d < NDIMS; d++) {
    int64_t e = 1;
    for (int k = l; k < m->nlevels; k++) {
      e *= m->level[k].factor[d];
      for (int x = 0; x < ACCEL_MAX_AXES; x++) e *= m->level[k].spatial[x][d];
    }
    ext[d] = e;
  }
  double over = 0;
  int64_t used = 0;
  for (int t = 0; t < NTENSORS; t++) {
    if (!(m->level[l].keep >> t & 1)) continue;
    int64_t w = words_of(p, t, ext), tc = lv->tensor_capacity_words[t];
    used += w;
    if (tc > 0 && w > tc) over += (double)(w - tc);
  }
  double mb = lv->multiple_buffering > 0 ? lv->multiple_buffering : 1;
  int64_t cap = (int64_t)floor((double)lv->capacity_words / mb);
  if (lv->capacity_words > 0 && used > cap) over += (double)(used - cap);
  return over;
}

/* Makes every kept tile fit: while a level overflows, the smallest prime of
 * the loop at or inside it whose move to the level above shrinks the
 * overflow most moves there (to its temporal loop).  false if none helps. */
static bool repair(const Problem *p, const Arch *a, Mapping *m) {
  for (int guard = 0; guard < 256; guard++) {
    int l = -1;
    for (int k = m->nlevels - 1; k >= 1 && l < 0; k--)
      if (overflow(p, a, m, k) > 0) l = k;
    if (l < 0) return true;
    double best = overflow(p, a, m, l);
    int bl = -1, bx = -1, bd = -1;
    for (int k = l; k < m->nlevels; k++)
      for (int x = -1; x < ACCEL_MAX_AXES; x++)
        for (int d = 0; d < NDIMS; d++) {
          int64_t *f = x < 0 ? &m->level[k].factor[d] : &m->level[k].spatial[x][d];
          if (*f <= 1) continue;
          int64_t q = smallest_prime(*f), keep = *f;
          *f /= q;
          m->level[l - 1].factor[d] *= q;
          double o = overflow(p, a, m, l);
          *f = keep;
          m->level[l - 1].factor[d] /= q;
          if (o < best) best = o, bl = k, bx = x, bd = d;
        }
    if (bl < 0) return false;
    int64_t *f = bx < 0 ? &m->level[bl].factor[bd] : &m->level[bl].spatial[bx][bd];
    int64_t q = smallest_prime(*f);
    *f /= q;
    m->level[l - 1].factor[bd] *= q;
  }
  return false;
}

/* The discrete mapping nearest to r: spatial factors from the outer levels
 * in, each the divisor of what is left nearest to e^s within the axis'
 * room (the larger unrollings first); temporal factors from the innermost
 * level out, the nearest divisors; DRAM takes the rest (DOSA's
 * round_mapping does the same).  Orders are the argsort of the
 * importances, keeps the positive logits; then the capacities are repaired.
 * false if no repair makes it fit. */
bool gradient_project(const Problem *p, const Arch *a, const RelaxedMapping *r, Mapping *m) {
  int L = a->nlevels;
  memset(m, 0, sizeof *m); /* padding too: mappings are hashed as bytes */
  m->nlevels = L;
  int64_t rem[NDIMS];
  memcpy(rem, p->dim, sizeof rem);
  for (int l = 0; l < L; l++) {
    LevelMapping *lm = &m->level[l];
    const Level *lv = &a->level[l];
    uint8_t keep = 0;
    if (l == 0)
      keep = ACCEL_ALL_TENSORS;
    else
      for (int t = 0; t < NTENSORS; t++)
        if ((lv->keeps_allowed >> t & 1) && r->keep[l][t] > 0) keep |= (uint8_t)(1u << t);
    level_mapping_init(lm, (uint8_t)(keep | (l ? lv->keeps_required : 0)));
    uint8_t idx[NDIMS];
    for (int d = 0; d < NDIMS; d++) idx[d] = (uint8_t)d;
    for (int i = 1; i < NDIMS; i++) {
      uint8_t v = idx[i];
      int j = i - 1;
      while (j >= 0 && r->order[l][idx[j]] < r->order[l][v]) idx[j + 1] = idx[j], j--;
      idx[j + 1] = v;
    }
    memcpy(lm->order, idx, NDIMS);
    for (int x = 0; x < ACCEL_MAX_AXES; x++) {
      if (lv->fanout[x] <= 1) continue;
      int64_t room = lv->fanout[x];
      uint8_t by[NDIMS];
      int nb = 0;
      for (int d = 0; d < NDIMS; d++)
        if ((lv->connectivity[x] >> d & 1) && p->dim[d] > 1 && r->s[l][x][d] > 0.35)
          by[nb++] = (uint8_t)d;
      for (int i = 1; i < nb; i++) { /* larger unrollings first */
        uint8_t v = by[i];
        int j = i - 1;
        while (j >= 0 && r->s[l][x][by[j]] < r->s[l][x][v]) by[j + 1] = by[j], j--;
        by[j + 1] = v;
      }
      for (int i = 0; i < nb; i++) {
        int d = by[i];
        int64_t f = nearest_divisor(rem[d], exp(r->s[l][x][d]), room < rem[d] ? room : rem[d]);
        lm->spatial[x][d] = f;
        rem[d] /= f, room /= f;
      }
    }
  }
  for (int l = L - 1; l >= 1; l--)
    for (int d = 0; d < NDIMS; d++) {
      if (rem[d] <= 1) continue;
      int64_t f = nearest_divisor(rem[d], exp(r->t[l][d]), rem[d]);
      m->level[l].factor[d] = f;
      rem[d] /= f;
    }
  for (int d = 0; d < NDIMS; d++) m->level[0].factor[d] = rem[d];
  return repair(p, a, m);
}

/* ---- the descent ---------------------------------------------------------- */

static uint64_t mapping_hash(const Mapping *m) {
  const unsigned char *s = (const unsigned char *)m;
  uint64_t h = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i < sizeof *m; i++) h = (h ^ s[i]) * 0x100000001b3ULL;
  return h ? h : 1;
}

/* true if h was not in the table (it is now). */
static bool seen_add(Grad *g, uint64_t h) {
  size_t mask = ((size_t)1 << SEEN_BITS) - 1;
  for (size_t i = h & mask, n = 0; n <= mask; i = (i + 1) & mask, n++) {
    if (g->seen[i] == h) return false;
    if (!g->seen[i]) {
      g->seen[i] = h;
      return true;
    }
  }
  return true; /* full: score again rather than never */
}

/* Projects r and, if the mapping is new, scores it exactly. */
static void round_and_score(Grad *g, const RelaxedMapping *r) {
  Mapping m;
  if (!gradient_project(g->p, g->a, r, &m)) return;
  if (!seen_add(g, mapping_hash(&m))) return;
  CostResult c;
  g->res->evals++;
  if (mapper_eval(g->p, g->a, g->cons, &m, &c) != COST_OK) return;
  g->res->valid++;
  mapresult_offer(g->res, &m, &c, g->fitness(&c, g->o->objective));
}

/* A starting point: a random decoded mapping, or (refine) the best so far,
 * relaxed, with random importances (refine: near its own) and hard keeps:
 * each optional one at random, or (refine) the best's, one optional keep
 * of a level below DRAM flipped with probability 1/2. */
static void start_point(Grad *g, bool refine, RelaxedMapping *r) {
  int n = mapspace_dim(g->a);
  double x[ACCEL_MAX_LEVELS * (2 * NDIMS + NTENSORS) +
           ACCEL_MAX_LEVELS * ACCEL_MAX_AXES * (NDIMS + 2)];
  Mapping m;
  if (refine) {
    m = g->res->best;
  } else {
    for (int k = 0; k < n; k++) x[k] = rng_uniform(&g->rng);
    mapspace_decode(g->p, g->a, x, &m);
  }
  dcost_relax(g->p, g->a, &m, r);
  double jitter = refine ? 0.25 : 0.1;
  for (int l = 0; l < g->a->nlevels; l++) {
    for (int d = 0; d < NDIMS; d++) {
      r->order[l][d] =
          refine ? r->order[l][d] / NDIMS + 0.3 * rng_normal(&g->rng) : rng_uniform(&g->rng);
      if (l > 0) r->t[l][d] += jitter * rng_normal(&g->rng);
      for (int x2 = 0; x2 < ACCEL_MAX_AXES; x2++) r->s[l][x2][d] += jitter * rng_normal(&g->rng);
    }
    for (int t = 0; t < NTENSORS; t++)
      r->keep[l][t] =
          (refine ? r->keep[l][t] : 2 * rng_uniform(&g->rng) - 1) > 0 ? KEEP_LOGIT : -KEEP_LOGIT;
  }
  if (!refine || rng_uniform(&g->rng) >= 0.5) return;
  int opt[ACCEL_MAX_LEVELS * NTENSORS], nopt = 0;
  for (int l = 1; l < g->a->nlevels; l++) {
    const Level *lv = &g->a->level[l];
    for (int t = 0; t < NTENSORS; t++)
      if ((lv->keeps_allowed >> t & 1) && !(lv->keeps_required >> t & 1))
        opt[nopt++] = l * NTENSORS + t;
  }
  if (nopt == 0) return;
  int k = opt[(int)(rng_uniform(&g->rng) * nopt) % nopt];
  r->keep[k / NTENSORS][k % NTENSORS] *= -1;
}

static void descend(Grad *g, RelaxedMapping *r) {
  double t0 = g->o->temperature > 0 ? g->o->temperature : MAP_GRADIENT_TEMPERATURE;
  double lr = g->o->lr > 0 ? g->o->lr : MAP_GRADIENT_LR;
  double mo[NMOVED], ve[NMOVED];
  memset(mo, 0, sizeof mo);
  memset(ve, 0, sizeof ve);
  DcostSeed s;
  memset(&s, 0, sizeof s);
  s.log_energy = g->o->objective == MAPOBJ_LATENCY ? 0 : 1;
  s.log_cycles = g->o->objective == MAPOBJ_ENERGY ? 0 : 1;
  s.penalty = PENALTY;
  double *x = (double *)r;
  for (int step = 1; step <= STEPS && g->res->evals < g->budget; step++) {
    double T = t0 * pow(1.0 / T_FINAL_RATIO, (double)(step - 1) / (STEPS - 1));
    DcostResult out;
    if (dcost_eval(g->p, g->a, r, T, g->tape, &out) != COST_OK) return;
    g->res->relaxed++;
    RelaxedMapping grad;
    dcost_grad(g->tape, &s, &grad);
    const double *gv = (const double *)&grad;
    for (int k = 0; k < NMOVED; k++) { /* Adam (Kingma and Ba, 2015), default betas */
      if (gv[k] == 0 && mo[k] == 0) continue;
      mo[k] = 0.9 * mo[k] + 0.1 * gv[k];
      ve[k] = 0.999 * ve[k] + 0.001 * gv[k] * gv[k];
      double mh = mo[k] / (1 - pow(0.9, step)), vh = ve[k] / (1 - pow(0.999, step));
      x[k] -= lr * mh / (sqrt(vh) + 1e-8);
    }
    /* Factors stay in [1, the dim]: log factors in [0, log D]. */
    for (int l = 0; l < g->a->nlevels; l++)
      for (int d = 0; d < NDIMS; d++) {
        double hi = log((double)g->p->dim[d]);
        r->t[l][d] = r->t[l][d] < 0 ? 0 : r->t[l][d] > hi ? hi : r->t[l][d];
        for (int ax = 0; ax < ACCEL_MAX_AXES; ax++)
          r->s[l][ax][d] = r->s[l][ax][d] < 0 ? 0 : r->s[l][ax][d] > hi ? hi : r->s[l][ax][d];
      }
    if (step % ROUND_EVERY == 0 || step == STEPS) round_and_score(g, r);
  }
}

Rc gradient_run(const Problem *p, const Arch *a, const MapperOptions *o, MapResult *res,
                FitnessFn fitness) {
  Grad g = {p,
            a,
            o,
            res,
            fitness,
            dcost_tape_create(),
            {{0}},
            NULL,
            o->budget > 0 ? o->budget : 20000,
            mapcons_any(&a->cons)};
  g.seen = xcalloc((size_t)1 << SEEN_BITS, sizeof *g.seen);
  if (!g.tape || !g.seen) {
    dcost_tape_destroy(g.tape);
    xfree(g.seen);
    return RC_INTERNAL;
  }
  rng_seed(&g.rng, o->seed ^ 0x6772616469656e74ULL);
  /* Until the budget is spent, or STALE starts in a row found no mapping
   * not scored before (a small space, exhausted). */
  for (int start = 0, stale = 0; res->evals < g.budget && stale < STALE; start++) {
    int64_t before = res->evals;
    RelaxedMapping r;
    start_point(&g, res->valid > 0 && (start & 1), &r);
    round_and_score(&g, &r);
    descend(&g, &r);
    stale = res->evals == before ? stale + 1 : 0;
  }
  dcost_tape_destroy(g.tape);
  xfree(g.seen);
  return res->valid ? RC_OK : RC_BADINPUT;
}
