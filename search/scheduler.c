/*
 * scheduler.c: the search of a whole-network schedule (ir/accel.h,
 * Schedule) for a mapped module on its target (docs/cost-model.md,
 * "Whole-network schedules").
 *
 * What it searches, per group [a, b] of consecutive nests:
 *   - the boundaries: every a within max_nests of b (a dynamic programme
 *     over the module's order picks the groups);
 *   - the home level: every level that may hold a group's activations;
 *   - the mode: layer by layer, or depth-first;
 *   - depth-first: the tile (rows: the output's rows split into 1, 2, 3, 4,
 *     6, 8, 12, ... parts; columns: whole, halves, quarters), the overlap
 *     policy (recompute; cache horizontally, when a row has several tiles;
 *     cache all, when there are several tiles) and whether the group's
 *     weights stay in home (when home may keep weights).  For a command
 *     stream (SchedOptions.stream), only groups whose nests all run tile
 *     by tile (ir's nest_runs_tiled, the rule cmd_emit refuses others by).
 * What it fixes: each layer's mapping is the one the mapper found for the
 * layer alone, and a tile's mapping is that mapping shrunk to the tile
 * (mapping_shrink_tile); neither is searched again per group.
 *
 * The objective (EDP, energy or cycles of the whole network: energies and
 * cycles add over nests) is not a sum over groups when it is EDP, so the
 * programme minimises E + lambda*C, a sum, and lambda is iterated: it starts
 * at E/C of the layer-by-layer schedule and becomes E/C of each schedule
 * found (at an optimum of E*C the two weights balance) until the schedule
 * repeats; the best schedule met is kept.  Exact for E + lambda*C; for EDP,
 * the best of the schedules some lambda makes optimal.  Work outside the
 * mac nests that every schedule has (SchedOptions.fixed_*: the vector
 * unit's nests, costed layer by layer) is added to E and C before the
 * objective and lambda are taken.
 *
 * Invariants: deterministic (no randomness, no threads); the layer schedule
 * is among the candidates, so the result is never worse than it under the
 * search's own counts.
 */
#include "backend/backend.h"
#include "search/search.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void sched_options_default(SchedOptions *o) {
  memset(o, 0, sizeof *o);
  o->objective = MAPOBJ_EDP;
  o->max_nests = 32;
  o->max_row_parts = 1 << 20;
  o->max_col_parts = 1 << 20;
}

typedef struct {
  uint32_t a;
  double e;
  int64_t c;
  SchedGroup g;
} Cand;

typedef struct {
  Cand *v;
  size_t n, cap;
} Cands;

static bool cand_push(Cands *cs, const Cand *c) {
  if (cs->n == cs->cap) {
    size_t cap = cs->cap ? 2 * cs->cap : 256;
    Cand *nv = xrealloc(cs->v, cap * sizeof *nv);
    if (!nv) return false;
    cs->v = nv, cs->cap = cap;
  }
  cs->v[cs->n++] = *c;
  return true;
}

/* Tile extents to try along an axis of n: ceil(n / parts) for every parts
 * up to 16, then parts growing by a quarter each step (about 2 sqrt(n)
 * extents for small n, 16 + 4.5 ln(n / 16) beyond), each extent once,
 * largest first. */
static int tile_sizes(int64_t n, int64_t max_parts, int64_t *out, int cap) {
  int k = 0;
  for (int64_t parts = 1; parts <= n && parts <= max_parts && k < cap;
       parts = parts < 16 ? parts + 1 : parts + (parts + 3) / 4) {
    int64_t t = (n + parts - 1) / parts;
    if (k && out[k - 1] == t) continue;
    out[k++] = t;
  }
  if (max_parts >= n && k < cap && out[k - 1] != 1) out[k++] = 1;
  return k;
}

static bool cfg_push(SchedGroup **v, int *n, int *cap, const SchedGroup *g) {
  if (*n == *cap) {
    SchedGroup *nv = xrealloc(*v, sizeof *nv * (size_t)(*cap * 2));
    if (!nv) return false;
    *v = nv, *cap *= 2;
  }
  (*v)[(*n)++] = *g;
  return true;
}

static bool same_schedule(const Schedule *x, const Schedule *y) {
  if (x->ngroups != y->ngroups) return false;
  for (uint32_t k = 0; k < x->ngroups; k++) {
    const SchedGroup *p = &x->group[k], *q = &y->group[k];
    if (p->first != q->first || p->last != q->last || p->mode != q->mode ||
        p->overlap != q->overlap || p->home != q->home || p->weights_home != q->weights_home ||
        p->tile[0] != q->tile[0] || p->tile[1] != q->tile[1])
      return false;
  }
  return true;
}

/* By start, then energy, then cycles: a sweep keeps the Pareto front. */
static int cand_cmp(const void *x, const void *y) {
  const Cand *p = x, *q = y;
  if (p->a != q->a) return p->a < q->a ? -1 : 1;
  if (p->e != q->e) return p->e < q->e ? -1 : 1;
  return (p->c > q->c) - (p->c < q->c);
}

static double objective(MapObjective o, double e, int64_t c, double lambda) {
  switch (o) {
  case MAPOBJ_ENERGY: return e + 1e-12 * (double)c;
  case MAPOBJ_LATENCY: return (double)c + 1e-12 * e;
  default: return e + lambda * (double)c;
  }
}

static double score(MapObjective o, double e, int64_t c) {
  return o == MAPOBJ_ENERGY ? e : o == MAPOBJ_LATENCY ? (double)c : e * (double)c;
}

Rc sched_search(SchedModel *sm, const SchedOptions *o, Schedule *best, SchedSearchStats *st,
                Diag *d) {
  const Module *m = sched_model_module(sm);
  const Arch *a = sched_model_arch(sm);
  uint32_t n = m->nnests;
  memset(st, 0, sizeof *st);
  best->ngroups = 0;
  /* Every nest alone: the layer schedule. */
  double *e1 = xcalloc(n + 1, sizeof *e1);
  int64_t *c1 = xcalloc(n + 1, sizeof *c1);
  Cands cs = {NULL, 0, 0};
  uint32_t *first =
      xcalloc(n + 2, sizeof *first); /* candidates ending at b: cs.v[first[b]..first[b+1]) */
  double *E = xcalloc(n + 1, sizeof *E);
  int64_t *C = xcalloc(n + 1, sizeof *C);
  bool *ok = xcalloc(n + 1, sizeof *ok);
  double *dp = xcalloc(n + 1, sizeof *dp);
  int64_t *from = xcalloc(n + 1, sizeof *from); /* -1: nest alone; else the candidate */
  Schedule *cur = xcalloc(1, sizeof *cur), *prev = xcalloc(1, sizeof *prev);
  int capcfg = 256;
  SchedGroup *cfgs = xmalloc(sizeof *cfgs * (size_t)capcfg);
  Rc rc = (e1 && c1 && first && E && C && ok && dp && from && cur && prev && cfgs) ? RC_OK
                                                                                   : RC_INTERNAL;
  double layer_e = 0;
  int64_t layer_c = 0;
  for (uint32_t i = 0; rc == RC_OK && i < n; i++) {
    const CostResult *r = sched_model_layer(sm, i);
    if (r) e1[i] = r->energy_pj, c1[i] = r->cycles;
    layer_e += e1[i], layer_c += c1[i];
  }
  st->layer_energy_pj = layer_e, st->layer_cycles = layer_c;
  /* Candidates: every group [a, b] that can run, every setting. */
  uint8_t homes = sched_model_homes(sm);
  int maxlen = o->max_nests > 1 ? o->max_nests : 2;
  uint32_t dfrom = 0; /* with o->stream: the first nest of the run of nests the stream
                         can run tile by tile that reaches b (b + 1 if b cannot) */
  for (uint32_t b = 0; rc == RC_OK && b < n; b++) {
    first[b] = (uint32_t)cs.n;
    if (o->stream && !nest_runs_tiled(m, &m->nests[b])) dfrom = b + 1;
    if (!homes || b == 0) continue;
    uint32_t amin = b + 1 > (uint32_t)maxlen ? b + 1 - (uint32_t)maxlen : 0;
    /* Depth-first groups start at dmin or later: for a stream, every nest
     * of one must run tile by tile. */
    uint32_t dmin = o->stream && dfrom > amin ? dfrom : amin;
    int ncfg = 0;
    for (int h = 1; h < a->nlevels; h++) {
      if (!(homes >> h & 1)) continue;
      SchedGroup g;
      memset(&g, 0, sizeof g);
      g.home = (uint8_t)h;
      g.mode = SCHED_LAYER;
      if (!cfg_push(&cfgs, &ncfg, &capcfg, &g)) {
        rc = RC_INTERNAL;
        goto out;
      }
      int64_t rows, cols;
      if (o->layer_only || dmin >= b || !sched_nest_tileable(sm, b, &rows, &cols)) continue;
      int64_t tr[128], tcl[128];
      int nr = tile_sizes(rows, o->max_row_parts, tr, 128);
      int nc = tile_sizes(cols, o->max_col_parts, tcl, 128);
      int nw = (a->level[h].keeps_allowed >> TENSOR_W & 1) ? 2 : 1;
      for (int i = 0; i < nr; i++)
        for (int j = 0; j < nc; j++)
          for (int ov = 0; ov < 3; ov++)
            for (int w = 0; w < nw; w++) {
              bool one_col = tcl[j] == cols, one_tile = one_col && tr[i] == rows;
              if (ov == OVERLAP_CACHE_H && one_col) continue;    /* nothing to cache horizontally */
              if (ov == OVERLAP_CACHE_ALL && one_tile) continue; /* nothing to cache at all */
              g.mode = SCHED_DEPTH;
              g.tile[0] = tr[i], g.tile[1] = tcl[j];
              g.overlap = (uint8_t)ov;
              g.weights_home = (uint8_t)w;
              if (!cfg_push(&cfgs, &ncfg, &capcfg, &g)) {
                rc = RC_INTERNAL;
                goto out;
              }
            }
    }
    for (int k = 0; rc == RC_OK && k < ncfg; k++) {
      uint32_t lo = cfgs[k].mode == SCHED_DEPTH ? dmin : amin;
      rc = sched_range_costs(sm, &cfgs[k], lo, b, E, C, ok);
      st->configs++;
      for (uint32_t x = lo; rc == RC_OK && x < b; x++) {
        if (!ok[x - lo]) continue;
        Cand c = {x, E[x - lo], C[x - lo], cfgs[k]};
        c.g.first = x, c.g.last = b;
        if (!cand_push(&cs, &c)) rc = RC_INTERNAL;
        st->groups++;
      }
    }
    /* Per group, keep the settings no other setting beats in both energy
     * and cycles (the programme only ever takes one of those). */
    if (rc == RC_OK && cs.n > first[b]) {
      qsort(cs.v + first[b], cs.n - first[b], sizeof *cs.v, cand_cmp);
      size_t w = first[b];
      for (size_t y = first[b]; y < cs.n; y++) {
        if (w > first[b] && cs.v[w - 1].a == cs.v[y].a && cs.v[w - 1].c <= cs.v[y].c) continue;
        cs.v[w++] = cs.v[y];
      }
      cs.n = w;
    }
  }
  first[n] = (uint32_t)cs.n;
  st->candidates = (int64_t)cs.n;
  /* The programme, for a lambda: dp[b + 1] = best over the last group. */
  /* The objective is taken of the totals with the fixed work added. */
  double fe = o->fixed_energy_pj;
  int64_t fc = o->fixed_cycles;
  double lambda = layer_c + fc ? (layer_e + fe) / (double)(layer_c + fc) : 1;
  double best_score = score(o->objective, layer_e + fe, layer_c + fc);
  st->energy_pj = layer_e, st->cycles = layer_c;
  for (int iter = 0; rc == RC_OK && iter < 12; iter++) {
    dp[0] = 0;
    for (uint32_t b = 0; b < n; b++) {
      dp[b + 1] = dp[b] + objective(o->objective, e1[b], c1[b], lambda);
      from[b + 1] = -1;
      for (uint32_t y = first[b]; y < first[b + 1]; y++) {
        const Cand *c = &cs.v[y];
        double v = dp[c->a] + objective(o->objective, c->e, c->c, lambda);
        if (v < dp[b + 1]) dp[b + 1] = v, from[b + 1] = y;
      }
    }
    /* Walk back: the schedule and its totals. */
    uint32_t ng = 0;
    double te = 0;
    int64_t tc = 0;
    for (uint32_t b = n; b > 0;) {
      if (from[b] < 0) {
        te += e1[b - 1], tc += c1[b - 1];
        b--;
      } else {
        const Cand *c = &cs.v[from[b]];
        te += c->e, tc += c->c;
        ng++;
        b = c->a;
      }
    }
    if (ng > SCHED_MAX_GROUPS) break;
    cur->ngroups = ng;
    for (uint32_t b = n, g = ng; b > 0;) {
      if (from[b] < 0) {
        b--;
      } else {
        const Cand *c = &cs.v[from[b]];
        cur->group[--g] = c->g;
        b = c->a;
      }
    }
    st->iterations++;
    double sc = score(o->objective, te + fe, tc + fc);
    bool same = iter > 0 && same_schedule(cur, prev);
    memcpy(prev, cur, sizeof *prev);
    if (sc < best_score) {
      best_score = sc;
      memcpy(best, cur, sizeof *best);
      st->energy_pj = te, st->cycles = tc;
    }
    double next = tc + fc ? (te + fe) / (double)(tc + fc) : lambda;
    if (same || o->objective != MAPOBJ_EDP || next == lambda) break;
    lambda = next;
  }
out:
  st->tile_evals = sched_model_tile_evals(sm);
  if (rc != RC_OK) diag_error(d, NULL, "the schedule search ran out of memory");
  xfree(cfgs);
  xfree(e1);
  xfree(c1);
  xfree(cs.v);
  xfree(first);
  xfree(E);
  xfree(C);
  xfree(ok);
  xfree(dp);
  xfree(from);
  xfree(cur);
  xfree(prev);
  return rc;
}
