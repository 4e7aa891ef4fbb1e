/*
 * mapper.c: the NAAS encoding of a mapping as a vector in [0,1]^n and the
 * mapper that searches it with any optimizer of opt.c.
 *
 * Encoding (NAAS, Lin et al. DAC 2021, section III-B), per storage level l:
 *   - 8 loop-order importances: the dims sorted by importance, highest
 *     outermost, give the temporal order;
 *   - 8 tiling ratios: the level's temporal factor of dim d is the divisor
 *     of d's remaining extent E nearest to E^ratio in log scale (a ratio of
 *     the layer dimension, so one vector fits every layer);
 *   - per array axis with fan-out > 1: 8 spatial importances and 2 fill
 *     ratios: the most important dim the axis' connectivity allows is
 *     unrolled by a divisor of its remaining extent chosen by the first
 *     ratio, and the second most important fills what fan-out is left when
 *     the second ratio says so;
 *   - 3 keep genes (W, I, O): kept when > 0.5 and the level allows it.
 * Decoding goes from the outermost level inwards for spatial factors, then
 * from the innermost level outwards for temporal factors; DRAM takes what
 * is left.  Every decoded mapping covers each dim exactly (perfect
 * factors); whether it fits the capacities is for cost_eval to say.
 *
 * A search (es, random, genetic) that found no valid mapping in its budget
 * falls back on the trivial mapping, everything temporal at DRAM, when it
 * is valid (trivial_fallback): at most two evaluations beyond the budget.
 *
 * Mapping constraints (Arch.cons) bind every strategy: each candidate is
 * projected onto them and checked before it is costed (mapper_eval, the
 * "constraints" section), so no mapping outside them is ever returned.
 *
 * An es run may start warm (MapperOptions.start: another design's mapping
 * of the layer, fitted to this one; the "warm starts" section), the search's
 * --warm-map.
 */
#include "backend/backend.h"
#include "search/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int count_axes(const Arch *a, int *lev, int *ax) {
  int n = 0;
  for (int l = 0; l < a->nlevels; l++)
    for (int x = 0; x < ACCEL_MAX_AXES; x++)
      if (a->level[l].fanout[x] > 1) {
        lev[n] = l;
        ax[n] = x;
        n++;
      }
  return n;
}

int mapspace_dim(const Arch *a) {
  int lev[ACCEL_MAX_LEVELS * ACCEL_MAX_AXES], ax[ACCEL_MAX_LEVELS * ACCEL_MAX_AXES];
  return a->nlevels * (NDIMS + NDIMS + NTENSORS) + count_axes(a, lev, ax) * (NDIMS + 2);
}

/* The divisors of e, each with its logarithm, in the order the nearest one
 * is looked for: f then e / f for f = 1, 2, ... while f * f <= e.  Decoding
 * runs once per mapper evaluation with the same few extents, so they are
 * kept per thread (direct-mapped by e); an e with more divisors than a slot
 * holds is enumerated each time. */
#define DIV_SLOTS 64
#define DIV_MAX 64
typedef struct {
  int64_t e;
  int n;
  int64_t div[DIV_MAX];
  double lg[DIV_MAX];
} DivList;

static const DivList *divisors_of(int64_t e) {
  static _Thread_local DivList memo[DIV_SLOTS];
  DivList *s = &memo[(uint64_t)e * 0x9e3779b97f4a7c15ULL >> 58];
  if (s->e == e && s->n > 0) return s;
  s->e = e;
  s->n = 0;
  for (int64_t f = 1; f * f <= e; f++) {
    if (e % f) continue;
    if (s->n + 2 > DIV_MAX) {
      s->n = 0;
      return NULL;
    }
    int64_t c2[2] = {f, e / f};
    for (int k = 0; k < 2; k++) {
      s->div[s->n] = c2[k];
      s->lg[s->n++] = log((double)c2[k]);
    }
  }
  return s;
}

/* The divisor of e nearest, in log scale, to the value whose logarithm is
 * lt, among those <= cap (ties: the smaller). */
static int64_t divisor_near_log(int64_t e, double lt, int64_t cap) {
  int64_t best = 1;
  double bd = 1e300;
  const DivList *s = divisors_of(e);
  if (s) {
    for (int i = 0; i < s->n; i++) {
      if (s->div[i] > cap) continue;
      double dist = fabs(s->lg[i] - lt);
      if (dist < bd || (dist == bd && s->div[i] < best)) {
        bd = dist;
        best = s->div[i];
      }
    }
    return best;
  }
  for (int64_t f = 1; f * f <= e; f++) {
    if (e % f) continue;
    int64_t c2[2] = {f, e / f};
    for (int k = 0; k < 2; k++) {
      if (c2[k] > cap) continue;
      double dist = fabs(log((double)c2[k]) - lt);
      if (dist < bd || (dist == bd && c2[k] < best)) {
        bd = dist;
        best = c2[k];
      }
    }
  }
  return best;
}

static int64_t divisor_near(int64_t e, double target, int64_t cap) {
  return divisor_near_log(e, log(target), cap);
}

/* log(e) (from the divisor lists when e has one). */
static double log_of(int64_t e) {
  const DivList *s = divisors_of(e);
  return s ? s->lg[1] : log((double)e); /* the list starts 1, e */
}

void mapspace_decode(const Problem *p, const Arch *a, const double *x, Mapping *m) {
  int L = a->nlevels;
  const double *order = x, *ratio = x + L * NDIMS, *keep = x + 2 * L * NDIMS;
  const double *sp = x + L * (2 * NDIMS + NTENSORS);
  int64_t rem[NDIMS];
  for (int d = 0; d < NDIMS; d++) rem[d] = p->dim[d];
  memset(m, 0, sizeof *m); /* padding too: mappings are compared and hashed as bytes */
  m->nlevels = L;
  for (int l = 0; l < L; l++) {
    LevelMapping *lm = &m->level[l];
    level_mapping_init(lm, 0);
    /* Order: dims by importance, highest outermost (ties by dim index). */
    uint8_t idx[NDIMS];
    for (int d = 0; d < NDIMS; d++) idx[d] = (uint8_t)d;
    for (int i = 1; i < NDIMS; i++) {
      uint8_t v = idx[i];
      int j = i - 1;
      while (j >= 0 && order[l * NDIMS + idx[j]] < order[l * NDIMS + v]) {
        idx[j + 1] = idx[j];
        j--;
      }
      idx[j + 1] = v;
    }
    memcpy(lm->order, idx, NDIMS);
    uint8_t allowed = a->level[l].keeps_allowed;
    if (a->level[l].is_dram || l == 0) {
      lm->keep = ACCEL_ALL_TENSORS & allowed ? ACCEL_ALL_TENSORS : allowed;
    } else {
      for (int t = 0; t < NTENSORS; t++)
        if ((allowed & (1u << t)) && keep[l * NTENSORS + t] > 0.5) lm->keep |= (uint8_t)(1u << t);
      lm->keep |= a->level[l].keeps_required;
    }
  }
  /* Spatial factors, outer levels first. */
  for (int l = 0; l < L; l++)
    for (int ax = 0; ax < ACCEL_MAX_AXES; ax++) {
      int64_t fan = a->level[l].fanout[ax];
      if (fan <= 1) continue;
      const double *g = sp;
      sp += NDIMS + 2;
      uint8_t conn = a->level[l].connectivity[ax];
      int first = -1, second = -1;
      for (int d = 0; d < NDIMS; d++) {
        if (!(conn & (1u << d)) || rem[d] <= 1) continue;
        if (first < 0 || g[d] > g[first]) {
          second = first;
          first = d;
        } else if (second < 0 || g[d] > g[second]) {
          second = d;
        }
      }
      LevelMapping *lm = &m->level[l];
      if (first < 0) continue;
      int64_t cap = fan < rem[first] ? fan : rem[first];
      int64_t f1 = divisor_near_log(rem[first], (0.25 + 0.75 * g[NDIMS]) * log_of(cap), cap);
      lm->spatial[ax][first] = f1;
      rem[first] /= f1;
      int64_t left = fan / f1;
      if (second >= 0 && left > 1 && g[NDIMS + 1] > 0.5) {
        int64_t c2 = left < rem[second] ? left : rem[second];
        int64_t f2 = divisor_near(rem[second], (double)c2, c2);
        lm->spatial[ax][second] = f2;
        rem[second] /= f2;
      }
      /* Spatial order: the unrolled dims by importance, then the others. */
      int k = 0, u[2] = {first, second};
      if (second >= 0 && g[second] > g[first]) {
        u[0] = second;
        u[1] = first;
      }
      for (int i = 0; i < 2; i++)
        if (u[i] >= 0 && lm->spatial[ax][u[i]] > 1) lm->spatial_order[ax][k++] = (uint8_t)u[i];
      for (int dd = 0; dd < NDIMS; dd++)
        if (lm->spatial[ax][dd] == 1) lm->spatial_order[ax][k++] = (uint8_t)dd;
    }
  /* Temporal factors, innermost level first; DRAM (level 0) takes the rest. */
  for (int l = L - 1; l >= 1; l--)
    for (int d = 0; d < NDIMS; d++) {
      if (rem[d] <= 1) continue;
      double r = ratio[l * NDIMS + d];
      /* the divisor nearest E^r: compared in logs, r log E */
      int64_t f = divisor_near_log(rem[d], r * log_of(rem[d]), rem[d]);
      m->level[l].factor[d] = f;
      rem[d] /= f;
    }
  for (int d = 0; d < NDIMS; d++) m->level[0].factor[d] = rem[d];
}

/* ---- constraints ------------------------------------------------------------------
 * With mapping constraints (a->cons: Timeloop's factors, permutations and
 * utilization; the levels' keeps and connectivity) every candidate the
 * encoding, the seeds and the moves make is first projected onto them
 * (mapping_repair), then checked (mapcons_satisfied, ir/mapcons.c); one that
 * still breaks a constraint is invalid (COST_ECONSTRAINT), as one that
 * overflows a buffer is.  So the mapper returns no mapping outside the
 * constraints.  The projection of a dim's factors keeps each loop's factor
 * where the bounds allow, else takes the divisor nearest to it (in log
 * scale) among those from which the loops still to be set can complete the
 * dim within their bounds: a reachability table over the divisors of the
 * dim, loop by loop (as mapcons_feasible). */

#define REPAIR_MAX_DIVISORS 512
#define REPAIR_MAX_SLOTS (ACCEL_MAX_LEVELS * 2)

/* Puts the dims of outer[] first and those of inner[] last, each in their
 * order, the others between in their present order. */
static void order_project(uint8_t order[NDIMS], const uint8_t *outer, int nouter,
                          const uint8_t *inner, int ninner) {
  if (!nouter && !ninner) return;
  uint8_t listed = 0, out[NDIMS];
  int k = 0;
  for (int i = 0; i < nouter; i++) listed |= (uint8_t)(1u << outer[i]);
  for (int i = 0; i < ninner; i++) listed |= (uint8_t)(1u << inner[i]);
  for (int i = 0; i < nouter; i++) out[k++] = outer[i];
  for (int i = 0; i < NDIMS; i++)
    if (!(listed >> order[i] & 1)) out[k++] = order[i];
  for (int i = 0; i < ninner; i++) out[k++] = inner[i];
  if (k == NDIMS) memcpy(order, out, NDIMS);
}

static int div_index(const int64_t *div, int nd, int64_t v) {
  int lo = 0, hi = nd - 1;
  while (lo <= hi) {
    int mid = (lo + hi) / 2;
    if (div[mid] == v) return mid;
    if (div[mid] < v)
      lo = mid + 1;
    else
      hi = mid - 1;
  }
  return -1;
}

/* The divisor f of v in [lo, hi] with reach[v / f] nearest to want; 0 if none. */
static int64_t pick_factor(const int64_t *div, int nd, const bool *reach, int64_t v, int64_t lo,
                           int64_t hi, int64_t want) {
  int64_t best = 0;
  double bd = 1e300, lw = log((double)(want > 0 ? want : 1));
  for (int i = 0; i < nd && div[i] <= v; i++) {
    int64_t f = div[i];
    if (f < lo || f > hi || v % f) continue;
    int j = div_index(div, nd, v / f);
    if (j < 0 || !reach[j]) continue;
    double dist = fabs(log((double)f) - lw);
    if (dist < bd) bd = dist, best = f;
  }
  return best;
}

/* The first axis of level l that may unroll d, or -1. */
static int first_axis(const Level *L, int d) {
  for (int x = 0; x < ACCEL_MAX_AXES; x++)
    if (L->fanout[x] > 1 && (L->connectivity[x] >> d & 1)) return x;
  return -1;
}

/* The room axis x of level l leaves for d: its fan-out over what the other
 * dims take (those before d as they are, those after at their least, on
 * their first axis). */
static int64_t axis_room(const Arch *a, const Mapping *m, int l, int x, int d,
                         const int64_t least[NDIMS]) {
  const Level *L = &a->level[l];
  if (L->fanout[x] <= 1 || !(L->connectivity[x] >> d & 1)) return 1;
  int64_t used = 1;
  for (int e = 0; e < NDIMS; e++)
    if (e < d)
      used *= m->level[l].spatial[x][e];
    else if (e > d && first_axis(L, e) == x)
      used *= least[e];
  return used >= L->fanout[x] ? 1 : L->fanout[x] / used;
}

static void repair_dim(const Problem *p, const Arch *a, Mapping *m, int d,
                       int64_t least[ACCEL_MAX_LEVELS][NDIMS]) {
  int64_t n = p->dim[d];
  int64_t div[REPAIR_MAX_DIVISORS];
  int nd = 0;
  for (int64_t f = 1; f * f <= n && nd < REPAIR_MAX_DIVISORS / 2; f++)
    if (n % f == 0) div[nd++] = f;
  int small = nd;
  for (int i = small - 1; i >= 0; i--)
    if (div[i] != n / div[i]) div[nd++] = n / div[i];
  if (div[nd - 1] != n) return; /* too many divisors to tabulate: the check decides */
  /* Slots: each level's fan-out (outer levels first), then the temporal
   * loops from the innermost level outwards, DRAM's last. */
  int slot_l[REPAIR_MAX_SLOTS], slot_sp[REPAIR_MAX_SLOTS], ns = 0;
  int64_t lo[REPAIR_MAX_SLOTS], hi[REPAIR_MAX_SLOTS], want[REPAIR_MAX_SLOTS];
  for (int l = 0; l < a->nlevels; l++) {
    int64_t room = 1, w = 1;
    for (int x = 0; x < ACCEL_MAX_AXES; x++) {
      /* the first axis of a level reserves the other dims' least factors */
      int64_t rx = axis_room(a, m, l, x, d, least[l]);
      if (!a->cons.level[l].one_axis)
        room *= rx;
      else if (rx > room)
        room = rx;
      w *= m->level[l].spatial[x][d];
    }
    if (room <= 1 && w <= 1) continue;
    slot_l[ns] = l, slot_sp[ns] = 1, want[ns] = w;
    mapcons_bounds(&a->cons.level[l], MAPCONS_SPATIAL, d, n, &lo[ns], &hi[ns]);
    if (hi[ns] > room) hi[ns] = room;
    ns++;
  }
  for (int l = a->nlevels - 1; l >= 0; l--) {
    slot_l[ns] = l, slot_sp[ns] = 0, want[ns] = m->level[l].factor[d];
    mapcons_bounds(&a->cons.level[l], MAPCONS_TEMPORAL, d, n, &lo[ns], &hi[ns]);
    ns++;
  }
  /* reach[s][i]: slots s.. can multiply to div[i] within their bounds */
  bool reach[REPAIR_MAX_SLOTS + 1][REPAIR_MAX_DIVISORS];
  for (int i = 0; i < nd; i++) reach[ns][i] = div[i] == 1;
  for (int s = ns - 1; s >= 0; s--)
    for (int i = 0; i < nd; i++) {
      reach[s][i] = false;
      for (int j = 0; j <= i && !reach[s][i]; j++) { /* div[j]: the factor of slot s */
        if (div[j] < lo[s] || div[j] > hi[s] || div[i] % div[j]) continue;
        int k = div_index(div, nd, div[i] / div[j]);
        reach[s][i] = k >= 0 && reach[s + 1][k];
      }
    }
  if (!reach[0][nd - 1]) return; /* no factors fit: the check rejects the candidate */
  int64_t v = n;
  for (int s = 0; s < ns; s++) {
    int64_t f = pick_factor(div, nd, reach[s + 1], v, lo[s], hi[s], want[s]);
    if (f == 0) return; /* cannot happen: reach[s] held */
    v /= f;
    LevelMapping *lm = &m->level[slot_l[s]];
    if (!slot_sp[s]) {
      lm->factor[d] = f;
      continue;
    }
    /* f over the level's axes: each the divisor of what is left nearest to
     * its present share within its room, the last axis the rest. */
    int axes[ACCEL_MAX_AXES], na = 0;
    int64_t orig[ACCEL_MAX_AXES], room[ACCEL_MAX_AXES];
    for (int x = 0; x < ACCEL_MAX_AXES; x++) {
      orig[x] = lm->spatial[x][d];
      room[x] = axis_room(a, m, slot_l[s], x, d, least[slot_l[s]]);
      if (room[x] > 1) axes[na++] = x;
      lm->spatial[x][d] = 1;
    }
    int64_t left = f;
    if (a->cons.level[slot_l[s]].one_axis && na > 0) {
      /* all of f on one axis: where most of it was, among those with room */
      int best = -1;
      for (int i = 0; i < na; i++)
        if (room[axes[i]] >= f && (best < 0 || orig[axes[i]] > orig[best])) best = axes[i];
      if (best < 0) best = axes[0]; /* cannot happen: f <= the largest room */
      lm->spatial[best][d] = f;
      continue;
    }
    for (int i = 0; i < na; i++) {
      int x = axes[i];
      int64_t cap = room[x] < left ? room[x] : left;
      int64_t g = i + 1 < na ? divisor_near(left, (double)orig[x], cap) : left;
      if (g > room[x]) g = divisor_near(left, (double)room[x], room[x]);
      lm->spatial[x][d] = g;
      left /= g;
    }
    if (left > 1) lm->spatial[na ? axes[na - 1] : 0][d] *= left; /* the check will reject it */
  }
}

void mapping_repair(const Problem *p, const Arch *a, Mapping *m) {
  if (m->nlevels != a->nlevels) return;
  for (int l = 0; l < a->nlevels; l++) {
    const LevelConstraints *c = &a->cons.level[l];
    LevelMapping *lm = &m->level[l];
    order_project(lm->order, c->outer[0], c->nouter[0], c->inner[0], c->ninner[0]);
    for (int x = 0; x < ACCEL_MAX_AXES; x++)
      order_project(lm->spatial_order[x], c->outer[1], c->nouter[1], c->inner[1], c->ninner[1]);
    for (int d = 0; d < NDIMS; d++)
      if (lm->remainder[d]) return;
  }
  int64_t least[ACCEL_MAX_LEVELS][NDIMS];
  for (int l = 0; l < a->nlevels; l++)
    for (int d = 0; d < NDIMS; d++) {
      int64_t lo, hi;
      mapcons_bounds(&a->cons.level[l], MAPCONS_SPATIAL, d, p->dim[d], &lo, &hi);
      least[l][d] = lo;
    }
  for (int d = 0; d < NDIMS; d++) repair_dim(p, a, m, d, least);
  /* the spatial orders again: a dim a repair moved onto an axis */
  for (int l = 0; l < a->nlevels; l++) {
    const LevelConstraints *c = &a->cons.level[l];
    for (int x = 0; x < ACCEL_MAX_AXES; x++)
      order_project(m->level[l].spatial_order[x], c->outer[1], c->nouter[1], c->inner[1],
                    c->ninner[1]);
  }
}

int mapper_eval(const Problem *p, const Arch *a, bool cons, Mapping *m, CostResult *c) {
  if (cons) {
    mapping_repair(p, a, m);
    if (!mapcons_satisfied(a, p, m, NULL, 0)) return COST_ECONSTRAINT;
  }
  return cost_eval(p, a, m, c);
}

/* ---- equivalent loop orders ------------------------------------------------------
 * Two neighbouring loops of a level (loops of factor 1 between them aside)
 * that index exactly the same tensors, neither sliding a window, can trade
 * places without changing any count: every tensor is indexed by both or by
 * neither, and no other loop moves, so each tensor's tiles and the number of
 * times they change stay the same.  (Loops farther apart cannot: a tensor
 * indexed by neither sees a different product of factors outside its
 * innermost indexing loop.)  So orders are equivalent when they differ only
 * within runs of neighbouring same-class loops; the representative has each
 * run in ascending dim order.  A window dim (P, Q, R, S) slides when the
 * layer has both its output and its filter extent > 1 on that axis; it then
 * forms a class of its own.  Classes are numbered by the lowest dim in them;
 * tests/unit/test_mapper.c checks the claim against the cost model on random
 * mappings. */

void mapspace_order_classes(const Problem *p, uint8_t cls[NDIMS]) {
  uint8_t key[NDIMS];
  for (int d = 0; d < NDIMS; d++) {
    key[d] = 0;
    for (int t = 0; t < NTENSORS; t++)
      if (accel_tensor_dims(t) >> d & 1) key[d] |= (uint8_t)(1u << t);
    int ax = (d == DIM_P || d == DIM_R) ? 0 : (d == DIM_Q || d == DIM_S) ? 1 : -1;
    if (ax >= 0 && p->dim[ax ? DIM_Q : DIM_P] > 1 && p->dim[ax ? DIM_S : DIM_R] > 1)
      key[d] = (uint8_t)(0x80 | d); /* sliding: alone */
  }
  for (int d = 0; d < NDIMS; d++) {
    cls[d] = (uint8_t)d;
    for (int e = 0; e < d; e++)
      if (key[e] == key[d]) {
        cls[d] = cls[e];
        break;
      }
  }
}

/* Whether order[0..k) (the live loops) has every run of neighbouring
 * same-class dims in ascending order: the representative of its class. */
static bool order_canonical(const uint8_t *order, int k, const uint8_t cls[NDIMS]) {
  for (int i = 0; i + 1 < k; i++)
    if (cls[order[i]] == cls[order[i + 1]] && order[i] > order[i + 1]) return false;
  return true;
}

/* log10 of the orders of the live dims up to equivalence, counted (at most
 * 8! = 40320 permutations). */
static double log10_orders(const Problem *p, const uint8_t cls[NDIMS]) {
  uint8_t v[NDIMS];
  int k = 0;
  for (int d = 0; d < NDIMS; d++)
    if (p->dim[d] > 1) v[k++] = (uint8_t)d;
  double n = 0;
  for (;;) {
    n += order_canonical(v, k, cls);
    int i = k - 2;
    while (i >= 0 && v[i] >= v[i + 1]) i--;
    if (i < 0) break;
    int t = k - 1;
    while (v[t] <= v[i]) t--;
    uint8_t x = v[i];
    v[i] = v[t];
    v[t] = x;
    for (int a = i + 1, b = k - 1; a < b; a++, b--) {
      x = v[a];
      v[a] = v[b];
      v[b] = x;
    }
  }
  return log10(n);
}

/* ---- the size of the space ---------------------------------------------------------
 * log10 of: for every dim, the ordered perfect factorizations of its bound
 * over the loops that may carry it (each level's temporal loop, and the
 * array axes whose connectivity allows it; fan-out limits not applied),
 * times every keep set the levels allow, times the loop orders per level up
 * to equivalence, bounded per level by (dims with bound > 1)! over the
 * orders within each class of equivalent dims (mapspace_order_classes). */

static double log10_binom(int n, int k) {
  return (lgamma(n + 1.0) - lgamma(k + 1.0) - lgamma(n - k + 1.0)) / log(10.0);
}

double mapspace_log10_size(const Problem *p, const Arch *a) {
  double s = 0;
  uint8_t cls[NDIMS];
  mapspace_order_classes(p, cls);
  double orders = log10_orders(p, cls);
  for (int d = 0; d < NDIMS; d++) {
    int slots = a->nlevels;
    for (int l = 0; l < a->nlevels; l++)
      for (int x = 0; x < ACCEL_MAX_AXES; x++)
        if (a->level[l].fanout[x] > 1 && (a->level[l].connectivity[x] & (1u << d))) slots++;
    /* ordered factorizations over `slots` loops: prod over prime powers q^e of C(e+slots-1, slots-1) */
    int64_t v = p->dim[d];
    for (int64_t q = 2; q * q <= v; q++) {
      int e = 0;
      while (v % q == 0) v /= q, e++;
      if (e) s += log10_binom(e + slots - 1, slots - 1);
    }
    if (v > 1) s += log10((double)slots);
  }
  for (int l = 1; l < a->nlevels; l++) {
    int k = 0;
    for (int t = 0; t < NTENSORS; t++)
      k += (a->level[l].keeps_allowed & ~a->level[l].keeps_required) >> t & 1;
    s += k * log10(2.0);
    s += orders;
  }
  s += orders; /* DRAM's order */
  return s;
}

/* ---- the mapper ---------------------------------------------------------------- */

const char *map_strategy_name(MapStrategy s) {
  static const char *const n[] = {"es", "random", "genetic", "exhaustive", "surrogate", "gradient"};
  return s >= 0 && s <= MAP_GRADIENT ? n[s] : "?";
}

bool map_strategy_parse(const char *s, MapStrategy *out) {
  for (int i = 0; i <= MAP_GRADIENT; i++)
    if (strcmp(s, map_strategy_name((MapStrategy)i)) == 0) {
      *out = (MapStrategy)i;
      return true;
    }
  return false;
}

void mapper_options_default(MapperOptions *o) {
  memset(o, 0, sizeof *o);
  o->strategy = MAP_ES;
  o->budget = 20000;
  o->seed = 1;
}

bool mapresult_offer(MapResult *res, const Mapping *m, const CostResult *c, double f) {
  if (!(f < res->best_fitness)) return false;
  res->best_fitness = f;
  res->best = *m;
  res->cost = *c;
  return true;
}

static double fitness(const CostResult *c, MapObjective obj) {
  switch (obj) {
  case MAPOBJ_ENERGY: return c->energy_pj;
  case MAPOBJ_LATENCY: return (double)c->cycles;
  default: return c->energy_pj * (double)c->cycles;
  }
}

/* ---- exhaustive search ----------------------------------------------------------
 * Every perfect factorization of every dim over the spatial slots (axes with
 * fan-out > 1 whose connectivity allows the dim, within the fan-out) and the
 * temporal levels (DRAM takes the rest), every keep set the levels allow, and
 * every loop order per level up to equivalence: loops of factor 1 never
 * matter, so only the orders of a level's loops with factor > 1 are tried,
 * and of loops that may trade places (mapspace_order_classes) one order.
 * Mappings that overflow a capacity are rejected by cost_eval.  The budget
 * caps the number of evaluations; res->complete says whether the whole
 * space was evaluated, in which case the result is proven optimal. */

typedef struct {
  const Problem *p;
  const Arch *a;
  const MapperOptions *o;
  MapResult *res;
  Mapping m;
  int slot_level[ACCEL_MAX_LEVELS * (1 + ACCEL_MAX_AXES)];
  int slot_axis[ACCEL_MAX_LEVELS * (1 + ACCEL_MAX_AXES)]; /* -1: temporal */
  int nslots;
  bool stop;
  bool cons;          /* a has mapping constraints */
  uint8_t cls[NDIMS]; /* order equivalence classes */
} Exh;

static void exh_eval(Exh *e) {
  if (e->res->evals >= e->o->budget) {
    e->stop = true;
    return;
  }
  CostResult c;
  e->res->evals++;
  if (e->cons && !mapcons_satisfied(e->a, e->p, &e->m, NULL, 0)) return;
  if (cost_eval(e->p, e->a, &e->m, &c) != COST_OK) return;
  e->res->valid++;
  double f = fitness(&c, e->o->objective);
  mapresult_offer(e->res, &e->m, &c, f);
}

/* Orders of level l (then deeper levels); dims with factor 1 go last in dim order. */
static void exh_orders(Exh *e, int l) {
  if (e->stop) return;
  if (l == e->a->nlevels) {
    exh_eval(e);
    return;
  }
  LevelMapping *lm = &e->m.level[l];
  uint8_t live[NDIMS];
  int k = 0, j = 0;
  for (int d = 0; d < NDIMS; d++)
    if (lm->factor[d] > 1) live[k++] = (uint8_t)d;
  for (int d = 0; d < NDIMS; d++)
    if (lm->factor[d] <= 1) lm->order[k + j++] = (uint8_t)d;
  /* Lexicographic permutations of live[0..k). */
  for (;;) {
    memcpy(lm->order, live, (size_t)k);
    /* an order constraint may admit only a non-canonical order of a class */
    if (e->cons || order_canonical(live, k, e->cls)) exh_orders(e, l + 1);
    if (e->stop) return;
    int i = k - 2;
    while (i >= 0 && live[i] >= live[i + 1]) i--;
    if (i < 0) break;
    int t = k - 1;
    while (live[t] <= live[i]) t--;
    uint8_t x = live[i];
    live[i] = live[t];
    live[t] = x;
    for (int a = i + 1, b = k - 1; a < b; a++, b--) {
      x = live[a];
      live[a] = live[b];
      live[b] = x;
    }
  }
}

static void exh_keeps(Exh *e, int l) {
  if (e->stop) return;
  if (l == e->a->nlevels) {
    exh_orders(e, 0);
    return;
  }
  uint8_t allowed = e->a->level[l].keeps_allowed;
  for (unsigned k = 0; k < 8; k++) {
    if (k & ~(unsigned)allowed) continue;
    if (e->a->level[l].keeps_required & ~k) continue;
    e->m.level[l].keep = (uint8_t)k;
    exh_keeps(e, l + 1);
    if (e->stop) return;
  }
}

static void exh_factors(Exh *e, int d, int s, int64_t left) {
  if (e->stop) return;
  if (d == NDIMS) {
    exh_keeps(e, 1);
    return;
  }
  if (s == e->nslots) {
    e->m.level[0].factor[d] = left;
    exh_factors(e, d + 1, 0, e->p->dim[d + 1 < NDIMS ? d + 1 : 0]);
    return;
  }
  int l = e->slot_level[s], ax = e->slot_axis[s];
  LevelMapping *lm = &e->m.level[l];
  int64_t cap = left, lo = 1, hi = left;
  if (ax < 0) mapcons_bounds(&e->a->cons.level[l], MAPCONS_TEMPORAL, d, e->p->dim[d], &lo, &hi);
  if (hi < cap) cap = hi;
  if (ax >= 0) {
    if (!(e->a->level[l].connectivity[ax] & (1u << d))) cap = 1;
    int64_t used = 1;
    for (int x = 0; x < NDIMS; x++)
      if (x != d) used *= lm->spatial[ax][x];
    int64_t room = e->a->level[l].fanout[ax] / used;
    if (room < cap) cap = room;
  }
  for (int64_t f = lo; f <= cap; f++) {
    if (left % f) continue;
    if (ax >= 0)
      lm->spatial[ax][d] = f;
    else
      lm->factor[d] = f;
    exh_factors(e, d, s + 1, left / f);
    if (e->stop) break;
  }
  if (ax >= 0)
    lm->spatial[ax][d] = 1;
  else
    lm->factor[d] = 1;
}

static Rc exhaustive_run(const Problem *p, const Arch *a, const MapperOptions *o, MapResult *res) {
  Exh e = {p, a, o, res, {0}, {0}, {0}, 0, false, mapcons_any(&a->cons), {0}};
  mapspace_order_classes(p, e.cls);
  e.m.nlevels = a->nlevels;
  for (int l = 0; l < a->nlevels; l++)
    level_mapping_init(&e.m.level[l], l == 0 ? ACCEL_ALL_TENSORS : 0);
  for (int l = 0; l < a->nlevels; l++) {
    for (int ax = ACCEL_MAX_AXES - 1; ax >= 0; ax--)
      if (a->level[l].fanout[ax] > 1) {
        e.slot_level[e.nslots] = l;
        e.slot_axis[e.nslots++] = ax;
      }
    if (l > 0) {
      e.slot_level[e.nslots] = l;
      e.slot_axis[e.nslots++] = -1;
    }
  }
  exh_factors(&e, 0, 0, p->dim[0]);
  res->complete = !e.stop;
  return RC_OK;
}

/* ---- local search ------------------------------------------------------------------
 * Iterated first-improvement hill climbing from the best mapping found, over
 * its neighbours: move one prime factor of a dim between two loops (temporal
 * levels and array axes), swap two adjacent loops of a level's order, or
 * toggle one keep bit.  Neighbours are visited in a seeded random order; a
 * pass without improvement is a local optimum, which is then kicked. */

typedef struct {
  const Problem *p;
  const Arch *a;
  const MapperOptions *o;
  MapResult *res;
  int64_t budget;
  Rng rng;
  bool vary_keeps; /* seeded_climbs: start some seeds with bypasses */
  bool cons;       /* a has mapping constraints (mapper_eval) */
} Climb;

/* Evaluates m; true if it beats *cur_fit (then *cur = m).  The global best follows. */
static bool climb_try(Climb *c, Mapping *m, Mapping *cur, double *cur_fit) {
  if (c->res->evals >= c->budget) return false;
  CostResult r;
  c->res->evals++;
  if (mapper_eval(c->p, c->a, c->cons, m, &r) != COST_OK) return false;
  c->res->valid++;
  double f = fitness(&r, c->o->objective);
  mapresult_offer(c->res, m, &r, f);
  if (f < *cur_fit * (1 - 1e-12)) {
    *cur_fit = f;
    *cur = *m;
    return true;
  }
  return false;
}

static int64_t smallest_prime(int64_t v) {
  for (int64_t q = 2; q * q <= v; q++)
    if (v % q == 0) return q;
  return v;
}

/* Slot k of dim d: temporal at level k / (1 + AXES), else spatial axis (k % (1 + AXES)) - 1. */
static int64_t *slot_ref(Mapping *m, int k, int d) {
  int l = k / (1 + ACCEL_MAX_AXES), s = k % (1 + ACCEL_MAX_AXES);
  return s == 0 ? &m->level[l].factor[d] : &m->level[l].spatial[s - 1][d];
}

/* The loops a factor can live in: each level's temporal loop and each array
 * axis with fan-out > 1 (encoded as level * (1 + AXES) + 0 or 1 + axis). */
static int live_slots(const Arch *a, int *slots) {
  int n = 0;
  for (int l = 0; l < a->nlevels; l++) {
    slots[n++] = l * (1 + ACCEL_MAX_AXES);
    for (int x = 0; x < ACCEL_MAX_AXES; x++)
      if (a->level[l].fanout[x] > 1) slots[n++] = l * (1 + ACCEL_MAX_AXES) + 1 + x;
  }
  return n;
}

static bool is_spatial(int slot) { return slot % (1 + ACCEL_MAX_AXES) != 0; }

/* Moves one prime factor of d from slot s to slot t; false if there is none
 * or a remainder is in the way. */
static bool move_factor(Mapping *m, int d, int s, int t) {
  int64_t *fs = slot_ref(m, s, d), *ft = slot_ref(m, t, d);
  int ls = s / (1 + ACCEL_MAX_AXES), lt = t / (1 + ACCEL_MAX_AXES);
  if (s == t || *fs <= 1 || m->level[ls].remainder[d] || m->level[lt].remainder[d]) return false;
  int64_t q = smallest_prime(*fs);
  *fs /= q;
  *ft *= q;
  return true;
}

/* Neighbour i of the move list applied to m (false: not applicable).  Kinds:
 * 0 move a prime of d from slot a to slot b; 1 swap adjacent loops; 2 toggle
 * a keep bit; 3 exchange on an array axis: a prime of d out of spatial slot a
 * to temporal slot b, and a prime of e from slot b into a. */
static bool apply_move(const Climb *c, Mapping *m, uint32_t mv) {
  int kind = (int)(mv >> 28), d = (int)(mv >> 24) & 0xF, e = (int)(mv >> 20) & 0xF;
  int a = (int)(mv >> 10) & 0x3FF, b = (int)mv & 0x3FF;
  if (kind == 0) return move_factor(m, d, a, b);
  if (kind == 1) {
    LevelMapping *lm = &m->level[a];
    int live[NDIMS], nl = 0;
    for (int k = 0; k < NDIMS; k++)
      if (lm->factor[lm->order[k]] > 1) live[nl++] = k;
    if (b + 1 >= nl) return false;
    uint8_t x = lm->order[live[b]];
    lm->order[live[b]] = lm->order[live[b + 1]];
    lm->order[live[b + 1]] = x;
    return true;
  }
  if (kind == 2) {
    if (!(c->a->level[a].keeps_allowed & (1u << b))) return false;
    if (c->a->level[a].keeps_required & (1u << b)) return false;
    m->level[a].keep ^= (uint8_t)(1u << b);
    return true;
  }
  return d != e && move_factor(m, d, a, b) && move_factor(m, e, b, a);
}

static int make_moves(const Climb *c, uint32_t *moves, int cap) {
  int slots[ACCEL_MAX_LEVELS * (1 + ACCEL_MAX_AXES)];
  int ns = live_slots(c->a, slots), n = 0, L = c->a->nlevels;
  for (int d = 0; d < NDIMS; d++) {
    if (c->p->dim[d] <= 1) continue;
    for (int i = 0; i < ns; i++)
      for (int j = 0; j < ns; j++)
        if (i != j && n < cap)
          moves[n++] = (uint32_t)d << 24 | (uint32_t)slots[i] << 10 | (uint32_t)slots[j];
  }
  for (int l = 0; l < L && n < cap; l++)
    for (int k = 0; k + 1 < NDIMS && n < cap; k++)
      moves[n++] = 1u << 28 | (uint32_t)l << 10 | (uint32_t)k;
  for (int l = 1; l < L; l++)
    for (int t = 0; t < NTENSORS && n < cap; t++)
      moves[n++] = 2u << 28 | (uint32_t)l << 10 | (uint32_t)t;
  for (int i = 0; i < ns; i++) {
    if (!is_spatial(slots[i])) continue;
    for (int j = 0; j < ns; j++) {
      if (is_spatial(slots[j])) continue;
      for (int d = 0; d < NDIMS; d++)
        for (int e = 0; e < NDIMS; e++)
          if (d != e && c->p->dim[d] > 1 && c->p->dim[e] > 1 && n < cap)
            moves[n++] = 3u << 28 | (uint32_t)d << 24 | (uint32_t)e << 20 |
                         (uint32_t)slots[i] << 10 | (uint32_t)slots[j];
    }
  }
  return n;
}

#define MAX_MOVES 16384
#define KICK_MOVES 6
#define KICK_REPAIRS 8 /* tuned on ResNet-50, eyeriss and nvdla-256: docs/design.md */

static void climb(Climb *c, Mapping *start, double *start_fit, uint32_t *moves, int nmoves);

/* Iterated local search: climb to a local optimum, then kick the best mapping
 * with a few random moves and climb again, until the budget is spent. */
static void local_search(Climb *c) {
  uint32_t *moves = xmalloc(sizeof(uint32_t) * MAX_MOVES);
  if (!moves) return;
  int nmoves = make_moves(c, moves, MAX_MOVES);
  Mapping cur = c->res->best;
  double cur_fit = c->res->best_fitness;
  climb(c, &cur, &cur_fit, moves, nmoves);
  while (c->res->evals < c->budget) {
    Mapping m = c->res->best;
    for (int k = 0, done = 0; k < 40 && done < KICK_MOVES; k++)
      done += apply_move(c, &m, moves[rng_next(&c->rng) % (uint64_t)nmoves]);
    CostResult r;
    c->res->evals++;
    int err = mapper_eval(c->p, c->a, c->cons, &m, &r);
    /* A kick that overflows a buffer is repaired, not dropped: primes of
     * random dims move one level outwards until the tiles fit. */
    for (int rep = 0; err == COST_ECAPACITY && rep < KICK_REPAIRS && c->res->evals < c->budget;
         rep++) {
      int l = 1 + (int)(rng_next(&c->rng) % (uint64_t)(c->a->nlevels - 1)), e = -1, seen = 0;
      for (int dd = 0; dd < NDIMS; dd++)
        if (m.level[l].factor[dd] > 1 && !m.level[l].remainder[dd] &&
            rng_next(&c->rng) % (uint64_t)++seen == 0)
          e = dd;
      if (e < 0 || !move_factor(&m, e, l * (1 + ACCEL_MAX_AXES), (l - 1) * (1 + ACCEL_MAX_AXES)))
        continue;
      c->res->evals++;
      err = mapper_eval(c->p, c->a, c->cons, &m, &r);
    }
    if (err != COST_OK) continue;
    c->res->valid++;
    double f = fitness(&r, c->o->objective);
    mapresult_offer(c->res, &m, &r, f);
    climb(c, &m, &f, moves, nmoves);
  }
  xfree(moves);
}

/* First-improvement hill climbing from *start (updated in place). */
static void climb(Climb *c, Mapping *start, double *start_fit, uint32_t *moves, int nmoves) {
  bool improved = true;
  /* The trial mapping: a whole copy once, then only the design's levels
   * again before each move (moves and mapper_eval touch no other, and
   * climb_try copies a better one back whole), which keeps it a copy of
   * *start byte for byte at a fraction of the copying. */
  Mapping m = *start;
  size_t lv = sizeof m.level[0] * (size_t)c->a->nlevels;
  while (improved && c->res->evals < c->budget) {
    improved = false;
    for (int i = nmoves - 1; i > 0; i--) { /* a fresh random order each pass */
      int j = (int)(rng_next(&c->rng) % (uint64_t)(i + 1));
      uint32_t x = moves[i];
      moves[i] = moves[j];
      moves[j] = x;
    }
    for (int i = 0; i < nmoves && c->res->evals < c->budget; i++) {
      memcpy(m.level, start->level, lv);
      if (!apply_move(c, &m, moves[i])) continue;
      if (climb_try(c, &m, start, start_fit)) improved = true;
    }
  }
}

/* ---- spatial seeds ----------------------------------------------------------------
 * Array utilization drives cycles, and it is the hardest thing for a local
 * search to change (growing one dim on an axis means shrinking another).
 * So the best spatial assignments are enumerated directly: per array axis,
 * one or two dims its connectivity allows, by divisors, maximising the PEs
 * used; the SEEDS best become starting points (temporal loops at DRAM), and
 * each is climbed with an equal share of the budget. */

/* 16 seeds and kicks of 6 moves: tuned on ResNet-50 on eyeriss against a
 * fixed reference (bench_mapper --ref; docs/benchmarks.md).  Each seed's
 * climb gets at least SEED_EVALS evaluations, so a small budget climbs
 * fewer seeds further: a climb's first pass is hundreds of moves, and the
 * 23 evaluations each of 16 seeds had at the search's budget of 1,000 were
 * a random sample of their neighbours (bench_mapper on 8 designs, 55
 * layers, 4 seeds: docs/benchmarks.md, "Mapper seeds at small budgets"). */
#define SEEDS 16
#define SEED_EVALS 48

typedef struct {
  int64_t f[ACCEL_MAX_LEVELS * ACCEL_MAX_AXES][NDIMS];
  double util;
} SpatialSeed;

static void seeds_rec(const Problem *p, const Arch *a, int ax_i, const int *lev, const int *axs,
                      int nax, int64_t *rem, SpatialSeed *cur, SpatialSeed *best, int *nbest) {
  if (ax_i == nax) {
    double used = 1, total = 1;
    for (int k = 0; k < nax; k++) {
      int64_t prod = 1;
      for (int d = 0; d < NDIMS; d++) prod *= cur->f[k][d];
      used *= (double)prod;
      total *= (double)a->level[lev[k]].fanout[axs[k]];
    }
    cur->util = used / total;
    /* Keep the SEEDS best (stable: earlier wins ties). */
    int pos = *nbest;
    while (pos > 0 && best[pos - 1].util < cur->util) pos--;
    if (pos >= SEEDS) return;
    int last = *nbest < SEEDS ? *nbest : SEEDS - 1;
    for (int k = last; k > pos; k--) best[k] = best[k - 1];
    best[pos] = *cur;
    if (*nbest < SEEDS) (*nbest)++;
    return;
  }
  int l = lev[ax_i], ax = axs[ax_i];
  int64_t fan = a->level[l].fanout[ax];
  uint8_t conn = a->level[l].connectivity[ax];
  /* nothing on this axis */
  seeds_rec(p, a, ax_i + 1, lev, axs, nax, rem, cur, best, nbest);
  for (int d1 = 0; d1 < NDIMS; d1++) {
    if (!(conn & (1u << d1)) || rem[d1] <= 1) continue;
    for (int64_t f1 = 2; f1 <= fan && f1 <= rem[d1]; f1++) {
      if (rem[d1] % f1) continue;
      cur->f[ax_i][d1] = f1;
      rem[d1] /= f1;
      seeds_rec(p, a, ax_i + 1, lev, axs, nax, rem, cur, best, nbest);
      for (int d2 = d1 + 1; d2 < NDIMS; d2++) {
        if (!(conn & (1u << d2)) || rem[d2] <= 1) continue;
        for (int64_t f2 = 2; f1 * f2 <= fan && f2 <= rem[d2]; f2++) {
          if (rem[d2] % f2) continue;
          cur->f[ax_i][d2] = f2;
          rem[d2] /= f2;
          seeds_rec(p, a, ax_i + 1, lev, axs, nax, rem, cur, best, nbest);
          rem[d2] *= f2;
          cur->f[ax_i][d2] = 1;
        }
      }
      rem[d1] *= f1;
      cur->f[ax_i][d1] = 1;
    }
  }
}

static void seeded_climbs(Climb *c) {
  int lev[ACCEL_MAX_LEVELS * ACCEL_MAX_AXES], axs[ACCEL_MAX_LEVELS * ACCEL_MAX_AXES];
  int nax = count_axes(c->a, lev, axs);
  if (nax == 0 || nax > 4) return;
  SpatialSeed cur, best[SEEDS];
  for (int k = 0; k < nax; k++)
    for (int d = 0; d < NDIMS; d++) cur.f[k][d] = 1;
  int64_t rem[NDIMS];
  memcpy(rem, c->p->dim, sizeof rem);
  int nbest = 0;
  seeds_rec(c->p, c->a, 0, lev, axs, nax, rem, &cur, best, &nbest);
  uint32_t *moves = xmalloc(sizeof(uint32_t) * MAX_MOVES);
  if (!moves) return;
  int nmoves = make_moves(c, moves, MAX_MOVES);
  int64_t end = c->budget, per = (end - c->res->evals) / SEED_EVALS;
  if (per < nbest) nbest = per > 1 ? (int)per : 1;
  for (int s = 0; s < nbest && c->res->evals < end; s++) {
    Mapping m;
    memset(&m, 0, sizeof m);
    m.nlevels = c->a->nlevels;
    for (int l = 0; l < c->a->nlevels; l++) {
      uint8_t keep = l == 0 ? ACCEL_ALL_TENSORS : c->a->level[l].keeps_allowed;
      /* Chains after the first start half their seeds with some tensors
       * bypassing some levels: a basin the climbs rarely cross into. */
      if (l > 0 && c->vary_keeps && (s & 1))
        for (int t = 0; t < NTENSORS; t++)
          if ((keep >> t & 1) && !(c->a->level[l].keeps_required >> t & 1) &&
              rng_uniform(&c->rng) < 0.35)
            keep &= (uint8_t) ~(1u << t);
      level_mapping_init(&m.level[l], keep);
    }
    int64_t left[NDIMS];
    memcpy(left, c->p->dim, sizeof left);
    for (int k = 0; k < nax; k++)
      for (int d = 0; d < NDIMS; d++) {
        m.level[lev[k]].spatial[axs[k]][d] = best[s].f[k][d];
        left[d] /= best[s].f[k][d];
      }
    for (int d = 0; d < NDIMS; d++) m.level[0].factor[d] = left[d];
    CostResult r;
    c->res->evals++;
    double f = INFINITY;
    if (mapper_eval(c->p, c->a, c->cons, &m, &r) == COST_OK) {
      c->res->valid++;
      f = fitness(&r, c->o->objective);
      mapresult_offer(c->res, &m, &r, f);
    } else {
      continue; /* the all-at-DRAM start does not fit (a level must keep too much) */
    }
    c->budget = c->res->evals + (end - c->res->evals) / (nbest - s);
    climb(c, &m, &f, moves, nmoves);
  }
  c->budget = end;
  xfree(moves);
}

/* ---- warm starts --------------------------------------------------------------
 * A search maps many designs that differ a little (search/naas.c,
 * --warm-map): the incumbent design's mapping of a layer, fitted to the new
 * design, is a good start, and a chain that starts from it needs fewer
 * evaluations for the same quality (docs/search.md, "Speed").  Fitting:
 * bypasses the design does not allow dropped (required keeps added),
 * spatial factors on an axis that does not connect their dim, or beyond
 * its fan-out, moved into the level's temporal loop (largest dim first, one
 * prime at a time), then, while the tiles overflow a buffer, one prime of a
 * random dim at a random level moved one level outwards (as a kick's repair
 * does).  A mapping that is not one of this layer (level count, factors
 * that do not multiply to the dims, remainders) is not used. */

#define WARM_REPAIRS 64 /* capacity repairs tried, each one evaluation */

/* m's factors multiply to p's dims exactly, without remainders, each in
 * 1..dim, and its orders are permutations (a start from a file is checked). */
static bool mapper_start_ok(const Problem *p, const Mapping *m) {
  if (m->nlevels < 1 || m->nlevels > ACCEL_MAX_LEVELS) return false;
  for (int d = 0; d < NDIMS; d++) {
    int64_t prod = 1;
    for (int l = 0; l < m->nlevels; l++) {
      const LevelMapping *lm = &m->level[l];
      if (lm->remainder[d] || lm->factor[d] < 1 || lm->factor[d] > p->dim[d] ||
          !ck_mul_i64(prod, lm->factor[d], &prod))
        return false;
      for (int x = 0; x < ACCEL_MAX_AXES; x++)
        if (lm->spatial[x][d] < 1 || lm->spatial[x][d] > p->dim[d] ||
            !ck_mul_i64(prod, lm->spatial[x][d], &prod))
          return false;
    }
    if (prod != p->dim[d]) return false;
  }
  for (int l = 0; l < m->nlevels; l++) {
    uint32_t seen = 0;
    for (int k = 0; k < NDIMS; k++)
      seen |= m->level[l].order[k] < NDIMS ? 1u << m->level[l].order[k] : 0;
    for (int x = 0; x < ACCEL_MAX_AXES; x++) {
      uint32_t sx = 0;
      for (int k = 0; k < NDIMS; k++)
        sx |= m->level[l].spatial_order[x][k] < NDIMS ? 1u << m->level[l].spatial_order[x][k] : 0;
      if (sx != (1u << NDIMS) - 1) return false;
    }
    if (seen != (1u << NDIMS) - 1) return false;
  }
  return true;
}

/* Fits *m (the start) to c->a and evaluates it within c->budget; true with
 * *r its cost if it fits. */
static bool warm_fit(Climb *c, Mapping *m, CostResult *r) {
  const Arch *a = c->a;
  if (m->nlevels != a->nlevels || !mapper_start_ok(c->p, m)) return false;
  for (int l = 0; l < a->nlevels; l++) {
    LevelMapping *lm = &m->level[l];
    const Level *L = &a->level[l];
    if (l > 0) lm->keep = (uint8_t)((lm->keep & L->keeps_allowed) | L->keeps_required);
    for (int x = 0; x < ACCEL_MAX_AXES; x++) {
      for (int d = 0; d < NDIMS; d++)
        if (lm->spatial[x][d] > 1 && (L->fanout[x] <= 1 || !(L->connectivity[x] >> d & 1))) {
          lm->factor[d] *= lm->spatial[x][d];
          lm->spatial[x][d] = 1;
        }
      for (;;) {
        int64_t prod = 1;
        int big = -1;
        for (int d = 0; d < NDIMS; d++) {
          prod *= lm->spatial[x][d];
          if (lm->spatial[x][d] > 1 && (big < 0 || lm->spatial[x][d] > lm->spatial[x][big]))
            big = d;
        }
        if (prod <= L->fanout[x] || big < 0) break;
        int64_t q = smallest_prime(lm->spatial[x][big]);
        lm->spatial[x][big] /= q;
        lm->factor[big] *= q;
      }
    }
  }
  for (int rep = 0; rep < WARM_REPAIRS && c->res->evals < c->budget; rep++) {
    c->res->evals++;
    int err = mapper_eval(c->p, a, c->cons, m, r);
    if (err == COST_OK) return true;
    if (err != COST_ECAPACITY || a->nlevels < 2) return false;
    int l = 1 + (int)(rng_next(&c->rng) % (uint64_t)(a->nlevels - 1)), e = -1, seen = 0;
    for (int dd = 0; dd < NDIMS; dd++)
      if (m->level[l].factor[dd] > 1 && rng_next(&c->rng) % (uint64_t)++seen == 0) e = dd;
    if (e >= 0) move_factor(m, e, l * (1 + ACCEL_MAX_AXES), (l - 1) * (1 + ACCEL_MAX_AXES));
  }
  return false;
}

/* One run of an optimizer (es: CMA-ES with IPOP restarts, then climbs from
 * the best array fills and an iterated local search) with o's budget and
 * seed, offering its mappings to res.  RC_INTERNAL on allocation failure;
 * *last_err gets the last reason a candidate was invalid. */
static Rc chain_run(const Problem *p, const Arch *a, const MapperOptions *o, int chain,
                    MapResult *res, int *last_err_out, Diag *d) {
  int n = mapspace_dim(a);
  bool cons = mapcons_any(&a->cons);
  OptKind kind = o->strategy == MAP_RANDOM    ? OPT_RANDOM
                 : o->strategy == MAP_GENETIC ? OPT_GENETIC
                                              : OPT_CMAES;
  int popsize = o->popsize;
  Optimizer *opt = opt_create(kind, n, popsize, 0.3, o->seed);
  double *x = xmalloc(sizeof(double) * (size_t)n);
  double *fit = xmalloc(sizeof(double) * 4096);
  if (!opt || !x || !fit) {
    opt_destroy(opt);
    xfree(x);
    xfree(fit);
    diag_error(d, p->name, "out of memory in the mapper");
    return RC_INTERNAL;
  }
  int64_t start = res->evals, total = o->budget; /* res is the chain's own: start is 0 */
  /* The evolution strategy explores; a local search finishes (es only). */
  int64_t budget = kind == OPT_CMAES && total - start >= 100 ? start + (total - start) / 4 : total;
  /* A warm start (es, the first chain) is the chain's first best: the
   * local search's kicks start from it unless something beats it. */
  if (kind == OPT_CMAES && o->start && chain == 0) {
    Climb wc = {p, a, o, res, total, {{0}}, false, cons};
    rng_seed(&wc.rng, o->seed ^ 0x27d4eb2f165667c5ULL);
    Mapping wm = *o->start;
    CostResult wr;
    if (warm_fit(&wc, &wm, &wr)) {
      res->valid++;
      mapresult_offer(res, &wm, &wr, fitness(&wr, o->objective));
    }
  }
  Mapping m;
  CostResult c;
  int last_err = COST_OK, stall = 0, restarts = 0;
  double run_best = INFINITY;
  Rng rr;
  rng_seed(&rr, o->seed ^ 0x5bd1e995u);
  while (res->evals < budget) {
    int lam = opt_popsize(opt);
    double gen_best = INFINITY;
    for (int i = 0; i < lam; i++) {
      fit[i] = INFINITY;
      if (res->evals >= budget) continue;
      opt_ask(opt, i, x);
      /* Invalid designs are resampled (NAAS), a bounded number of times. */
      for (int tries = 0; tries < 8 && res->evals < budget; tries++) {
        if (tries) opt_resample(opt, i, x);
        mapspace_decode(p, a, x, &m);
        int err = mapper_eval(p, a, cons, &m, &c);
        res->evals++;
        if (err != COST_OK) {
          last_err = err;
          continue;
        }
        res->valid++;
        fit[i] = fitness(&c, o->objective);
        if (fit[i] < gen_best) gen_best = fit[i];
        mapresult_offer(res, &m, &c, fit[i]);
        break;
      }
    }
    opt_tell(opt, fit);
    /* IPOP restarts (Auger and Hansen, CEC 2005): when a CMA-ES run stalls,
     * start again from a random centre with twice the population. */
    if (kind != OPT_CMAES) continue;
    if (gen_best < run_best * (1 - 1e-9)) {
      run_best = gen_best;
      stall = 0;
    } else if (++stall >= 10 + 30 * n / lam && res->evals < budget) {
      int np = 2 * opt_popsize(opt);
      if (np > 4096) np = 4096;
      opt_destroy(opt);
      opt = opt_create(kind, n, np, 0.3, o->seed + (uint64_t)++restarts * 0x9e3779b97f4a7c15ULL);
      if (!opt) {
        xfree(x);
        xfree(fit);
        return RC_INTERNAL;
      }
      for (int k = 0; k < n; k++) x[k] = rng_uniform(&rr);
      opt_set_mean(opt, x);
      stall = 0;
      run_best = INFINITY;
    }
  }
  res->restarts = restarts;
  if (kind == OPT_CMAES) {
    Climb cl = {p, a, o, res, 0, {{0}}, chain > 0, cons};
    rng_seed(&cl.rng, o->seed ^ 0xc2b2ae3d27d4eb4fULL);
    /* Seeds that fill the array best, each climbed a little (spatial first). */
    cl.budget = res->evals + (total - res->evals) / 2;
    seeded_climbs(&cl);
    cl.budget = total;
    if (res->valid) local_search(&cl);
  }
  opt_destroy(opt);
  xfree(x);
  xfree(fit);
  *last_err_out = last_err;
  return RC_OK;
}

/* The tensors of mask as "W, I" for messages. */
static const char *tensor_list(uint8_t mask, char buf[16]) {
  int n = 0;
  buf[0] = 0;
  for (int t = 0; t < NTENSORS; t++)
    if (mask >> t & 1)
      n += snprintf(buf + n, (size_t)(16 - n), "%s%c", n ? ", " : "", accel_tensor_letter(t));
  return buf;
}

Rc mapper_check(const Problem *p, const Arch *a, Diag *d) {
  Rc rc = RC_OK;
  /* The constraints: consistent, and some factors of this layer within them. */
  int cl, ck, cd;
  char why[512];
  bool dims_ok = true;
  for (int dd = 0; dd < NDIMS; dd++) dims_ok &= p->dim[dd] >= 1;
  if (!mapcons_any(&a->cons) || !dims_ok) {
    /* nothing to check here: cost_eval reports a bad problem */
  } else if (!mapcons_valid(a, &cl, &cd, why, sizeof why)) {
    diag_error(d, p->name, "arch '%s': contradictory mapping constraints: %s", a->name, why);
    return RC_BADINPUT;
  } else if (!mapcons_feasible(a, p, &cl, &ck, &cd, why, sizeof why)) {
    diag_error(d, p->name, "no mapping keeps the constraints of arch '%s': %s", a->name, why);
    return RC_BADINPUT;
  }
  /* The smallest tiles: every factor at DRAM, so a level holds one word of
   * each tensor it keeps, and it need keep only its must_keep tensors. */
  for (int l = 1; l < a->nlevels; l++) {
    const Level *lv = &a->level[l];
    uint8_t req = lv->keeps_required;
    if (!req || lv->is_dram) continue;
    char tl[16];
    int64_t need = 0;
    for (int t = 0; t < NTENSORS; t++) need += req >> t & 1;
    double mb = lv->multiple_buffering > 0 ? lv->multiple_buffering : 1;
    int64_t cap = (int64_t)floor((double)lv->capacity_words / mb);
    if (lv->capacity_words > 0 && need > cap) {
      diag_error(
          d, p->name,
          "no mapping fits: level '%s' must keep %s (must_keep), and even the smallest tiles "
          "(one word of each) need %lld words; it holds %lld",
          lv->name, tensor_list(req, tl), (long long)need, (long long)cap);
      rc = RC_BADINPUT;
    }
  }
  /* The array: some axis with fanout > 1 should admit a dim this layer
   * iterates over; if none does, the layer runs on one PE (legal, slow). */
  bool any_array = false, usable = false;
  for (int l = 0; l < a->nlevels; l++)
    for (int x = 0; x < ACCEL_MAX_AXES; x++) {
      if (a->level[l].fanout[x] <= 1) continue;
      any_array = true;
      for (int dd = 0; dd < NDIMS; dd++)
        if ((a->level[l].connectivity[x] >> dd & 1) && p->dim[dd] > 1) usable = true;
    }
  if (any_array && !usable && rc == RC_OK) {
    char conn[256];
    int n = 0;
    conn[0] = 0;
    for (int l = 0; l < a->nlevels && n < 200; l++)
      for (int x = 0; x < ACCEL_MAX_AXES && n < 200; x++) {
        if (a->level[l].fanout[x] <= 1) continue;
        n += snprintf(conn + n, sizeof conn - (size_t)n, "%s'%s' %c: ", n ? "; " : "",
                      a->level[l].name, "xyz"[x]);
        for (int dd = 0; dd < NDIMS && n < 200; dd++)
          if (a->level[l].connectivity[x] >> dd & 1)
            n += snprintf(conn + n, sizeof conn - (size_t)n, "%c", accel_dim_letter(dd));
      }
    diag_warn(d, p->name,
              "the array's connectivity (%s) admits no dim of this layer with more than "
              "one iteration: it runs on one PE",
              conn);
  }
  return rc;
}

/* The trivial mapping: every loop temporal at the outermost level (DRAM),
 * nothing unrolled, so every on-chip level holds tiles of one word; each
 * keeps what it may (all), or with all_keeps false only what it must. */
static void trivial_mapping(const Problem *p, const Arch *a, bool all_keeps, Mapping *m) {
  memset(m, 0, sizeof *m); /* padding too: mappings are compared and hashed as bytes */
  m->nlevels = a->nlevels;
  for (int l = 0; l < a->nlevels; l++) {
    uint8_t allowed = a->level[l].keeps_allowed;
    uint8_t keep = a->level[l].is_dram || l == 0
                       ? (ACCEL_ALL_TENSORS & allowed ? ACCEL_ALL_TENSORS : allowed)
                       : (uint8_t)((all_keeps ? allowed : 0) | a->level[l].keeps_required);
    level_mapping_init(&m->level[l], keep);
  }
  for (int d = 0; d < NDIMS; d++) m->level[0].factor[d] = p->dim[d];
}

/* After a search that found no valid mapping (a small budget on a design
 * whose rf holds a few words: the encoding's random decodes rarely leave
 * every inner factor at 1), the trivial mapping, keeping all and then only
 * the required tensors: when one is valid (within the constraints, which
 * project it as any candidate), the layer has a mapping, poor but real.
 * At most two evaluations beyond the budget, spent only where the budget
 * found nothing, so no mapping the search did find changes. */
static void trivial_fallback(const Problem *p, const Arch *a, const MapperOptions *o,
                             MapResult *res, int *last_err) {
  bool cons = mapcons_any(&a->cons);
  for (int k = 0; k < 2 && !res->valid; k++) {
    Mapping m;
    CostResult c;
    trivial_mapping(p, a, k == 0, &m);
    int err = mapper_eval(p, a, cons, &m, &c);
    res->evals++;
    if (err != COST_OK) {
      *last_err = err;
      continue;
    }
    res->valid++;
    mapresult_offer(res, &m, &c, fitness(&c, o->objective));
  }
}

static Rc map_layer(const Problem *p, const Arch *a, const MapperOptions *o, MapResult *res,
                    Diag *d) {
  memset(res, 0, sizeof *res);
  res->best_fitness = INFINITY;
  if (o->budget < 1 || o->budget > MAPPER_MAX_BUDGET) {
    diag_error(d, p->name, "a mapper budget of %lld evaluations; naasc accepts 1 to %lld",
               (long long)o->budget, (long long)MAPPER_MAX_BUDGET);
    return RC_BADINPUT;
  }
  if (mapper_check(p, a, d) != RC_OK) return RC_BADINPUT;
  if (o->strategy == MAP_GRADIENT) {
    /* Rule names: gradient_bad_temperature, gradient_bad_lr (tests/golden). */
    if (!(o->temperature >= 0 && o->temperature <= 10)) {
      diag_error(d, p->name, "map: temperature %g is out of range: give one in (0, 10]",
                 o->temperature);
      return RC_BADINPUT;
    }
    if (!(o->lr >= 0 && o->lr <= 1)) {
      diag_error(d, p->name, "map: lr %g is out of range: give one in (0, 1]", o->lr);
      return RC_BADINPUT;
    }
    Rc rc = gradient_run(p, a, o, res, fitness);
    if (rc == RC_BADINPUT)
      diag_error(d, p->name, "no valid mapping in %lld exact evaluations (%lld relaxed)",
                 (long long)res->evals, (long long)res->relaxed);
    return rc;
  }
  if (o->strategy == MAP_SURROGATE) {
    Rc rc = surrogate_run(p, a, o, res, fitness);
    if (rc == RC_BADINPUT)
      diag_error(d, p->name, "no valid mapping in %lld tries", (long long)res->evals);
    return rc;
  }
  if (o->strategy == MAP_EXHAUSTIVE) {
    exhaustive_run(p, a, o, res);
    if (!res->valid) {
      diag_error(d, p->name, "no valid mapping among %lld evaluated%s", (long long)res->evals,
                 res->complete ? " (the whole space)" : "");
      return RC_BADINPUT;
    }
    return RC_OK;
  }
  /* es: independent chains, each with a share of the budget and its own
   * seed; the best wins.  A layer's landscape has several basins, and which
   * one a chain settles in depends on its seed more than on its length
   * (docs/design.md, "The mapper"), so a few shorter chains beat one long. */
  int chains = o->strategy == MAP_ES ? (o->chains > 0 ? o->chains : o->budget >= 8000 ? 2 : 1) : 1;
  int64_t total = o->budget > 0 ? o->budget : 20000;
  int last_err = COST_OK;
  for (int k = 0; k < chains; k++) {
    MapperOptions ok = *o;
    ok.budget = total / chains + (k < total % chains ? 1 : 0);
    ok.seed = k == 0 ? o->seed : o->seed + (uint64_t)k * 0xd1b54a32d192ed03ULL;
    MapResult cr; /* each chain on its own: its climbs start from its own best */
    memset(&cr, 0, sizeof cr);
    cr.best_fitness = INFINITY;
    Rc rc = chain_run(p, a, &ok, k, &cr, &last_err, d);
    if (rc != RC_OK) return rc;
    res->evals += cr.evals;
    res->valid += cr.valid;
    res->restarts += cr.restarts;
    if (cr.valid) mapresult_offer(res, &cr.best, &cr.cost, cr.best_fitness);
  }
  trivial_fallback(p, a, o, res, &last_err);
  if (!res->valid) {
    diag_error(d, p->name, "no valid mapping in %lld tries: the last failed with '%s' (%s)",
               (long long)res->evals, cost_error_name(last_err),
               last_err == COST_ECAPACITY  ? "the smallest tiles do not fit a buffer"
               : last_err == COST_ECONNECT ? "the connectivity admits no dim of the layer"
               : last_err == COST_ECONSTRAINT
                   ? "no candidate kept the mapping constraints (min_parallelism?)"
                   : "see docs/cost-model.md");
    return RC_BADINPUT;
  }
  return RC_OK;
}

/* A classifier layer on an arch with its own classifier constraints (an
 * as-built dataflow's `classifier:`) is mapped on a copy whose constraints
 * are those; every other layer on a itself. */
Rc mapper_run(const Problem *p, const Arch *a, const MapperOptions *o, MapResult *res, Diag *d) {
  if (!(a->classifier_cons && problem_is_classifier(p))) return map_layer(p, a, o, res, d);
  Arch *c = xmalloc(sizeof *c);
  if (!c) {
    memset(res, 0, sizeof *res);
    diag_error(d, p->name, "out of memory");
    return RC_INTERNAL;
  }
  *c = *a;
  c->cons = a->cons_classifier;
  c->classifier_cons = false;
  Rc rc = map_layer(p, c, o, res, d);
  xfree(c);
  return rc;
}
