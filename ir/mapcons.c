/*
 * mapcons.c: whether a mapping keeps an architecture's constraints (the
 * MapConstraints noun of ir/ir.h, with the levels' keeps and connectivity).
 *
 * The rules are Timeloop's (src/mapping/constraints.cpp, SatisfiedBy; the
 * mapspace in src/mapspaces/uber.cpp): a factor bound applies to the loop's
 * factor (its `end`), a spatial one to the product over the level's axes
 * (which, with one_axis, is one axis: Timeloop's split puts each dim on X or
 * on Y);
 * an order constraint applies to the loops of factor > 1 only, as Timeloop
 * prunes unit loops before it lays out a permutation.  A layer's
 * constraints are arch_layer_cons's: an as-built dataflow may give
 * classifier layers their own (Arch.cons_classifier).  No allocation, no
 * state: the mapper calls mapcons_satisfied on every candidate.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ir/ir.h"

bool mapcons_any(const MapConstraints *c) {
  static const LevelConstraints none;
  if (c->min_parallelism > 0) return true;
  for (int l = 0; l < ACCEL_MAX_LEVELS; l++)
    if (memcmp(&c->level[l], &none, sizeof none) != 0) return true;
  return false;
}

static bool fail(char *why, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool fail(char *why, size_t n, const char *fmt, ...) {
  if (why && n) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, n, fmt, ap);
    va_end(ap);
  }
  return false;
}

static void letters(const uint8_t *dims, int n, char *out) {
  int k = 0;
  for (int i = 0; i < n && k < NDIMS; i++) out[k++] = accel_dim_letter(dims[i]);
  out[k] = 0;
}

/* Whether the live dims of order (outermost first) start with the live dims
 * of outer[] and end with the live dims of inner[], each in its order. */
static bool order_ok(const uint8_t order[NDIMS], uint8_t live, const uint8_t *outer, int nouter,
                     const uint8_t *inner, int ninner) {
  uint8_t seq[NDIMS];
  int n = 0;
  for (int i = 0; i < NDIMS; i++)
    if (live >> order[i] & 1) seq[n++] = order[i];
  int k = 0;
  for (int i = 0; i < nouter; i++)
    if (live >> outer[i] & 1) {
      if (k >= n || seq[k] != outer[i]) return false;
      k++;
    }
  int live_inner = 0;
  for (int i = 0; i < ninner; i++) live_inner += live >> inner[i] & 1;
  k = n - live_inner;
  if (k < 0) return false;
  for (int i = 0; i < ninner; i++)
    if (live >> inner[i] & 1) {
      if (seq[k] != inner[i]) return false;
      k++;
    }
  return true;
}

bool mapcons_satisfied(const Arch *a, const Problem *p, const Mapping *m, char *why,
                       size_t whylen) {
  static const char *const kind_name[2] = {"temporal", "spatial"};
  if (m->nlevels != a->nlevels)
    return fail(why, whylen, "the mapping has %d levels, the arch %d", m->nlevels, a->nlevels);
  const MapConstraints *mc = arch_layer_cons(a, p);
  double used = 1, total = 1;
  for (int l = 0; l < a->nlevels; l++) {
    const Level *L = &a->level[l];
    const LevelMapping *lm = &m->level[l];
    const LevelConstraints *c = &mc->level[l];
    for (int t = 0; t < NTENSORS; t++) {
      if ((lm->keep >> t & 1) && !(L->keeps_allowed >> t & 1))
        return fail(why, whylen, "level '%s' keeps %c, which it bypasses", L->name,
                    accel_tensor_letter(t));
      if (!(lm->keep >> t & 1) && (L->keeps_required >> t & 1))
        return fail(why, whylen, "level '%s' bypasses %c, which it must keep", L->name,
                    accel_tensor_letter(t));
    }
    for (int x = 0; x < ACCEL_MAX_AXES; x++) {
      int64_t prod = 1;
      for (int d = 0; d < NDIMS; d++) {
        prod *= lm->spatial[x][d];
        if (lm->spatial[x][d] > 1 && !(L->connectivity[x] >> d & 1))
          return fail(why, whylen,
                      "level '%s' unrolls %c on axis %c, whose connectivity excludes it", L->name,
                      accel_dim_letter(d), "xyz"[x]);
      }
      used *= (double)prod;
      total *= (double)L->fanout[x];
    }
    for (int d = 0; c->one_axis && d < NDIMS; d++) {
      int n = 0;
      for (int x = 0; x < ACCEL_MAX_AXES; x++) n += lm->spatial[x][d] > 1;
      if (n > 1)
        return fail(why, whylen,
                    "level '%s' unrolls %c on %d axes, the constraint says one at most", L->name,
                    accel_dim_letter(d), n);
    }
    for (int k = 0; k < 2; k++)
      for (int d = 0; d < NDIMS; d++) {
        if (!c->lo[k][d] && !c->hi[k][d]) continue;
        int64_t f = k == MAPCONS_TEMPORAL ? lm->factor[d] : 1;
        if (k == MAPCONS_SPATIAL)
          for (int x = 0; x < ACCEL_MAX_AXES; x++) f *= lm->spatial[x][d];
        int64_t lo, hi;
        mapcons_bounds(c, k, d, p->dim[d], &lo, &hi);
        if (c->lo[k][d] && f < lo)
          return fail(why, whylen,
                      "level '%s': %s factor of %c is %lld, the constraint says %s%lld", L->name,
                      kind_name[k], accel_dim_letter(d), (long long)f,
                      c->lo[k][d] == c->hi[k][d] ? "" : ">= ", (long long)lo);
        if (c->hi[k][d] && f > hi)
          return fail(why, whylen,
                      "level '%s': %s factor of %c is %lld, the constraint says %s%lld", L->name,
                      kind_name[k], accel_dim_letter(d), (long long)f,
                      c->lo[k][d] == c->hi[k][d] ? "" : "<= ", (long long)hi);
      }
    char lo_s[NDIMS + 1], li_s[NDIMS + 1];
    uint8_t live = 0;
    for (int d = 0; d < NDIMS; d++)
      if (lm->factor[d] > 1) live |= (uint8_t)(1u << d);
    const int T = MAPCONS_TEMPORAL, S = MAPCONS_SPATIAL;
    if (!order_ok(lm->order, live, c->outer[T], c->nouter[T], c->inner[T], c->ninner[T])) {
      letters(c->outer[T], c->nouter[T], lo_s);
      letters(c->inner[T], c->ninner[T], li_s);
      return fail(why, whylen,
                  "level '%s': the temporal loop order breaks the constraint (first %s, last %s)",
                  L->name, lo_s[0] ? lo_s : "-", li_s[0] ? li_s : "-");
    }
    for (int x = 0; x < ACCEL_MAX_AXES; x++) {
      live = 0;
      for (int d = 0; d < NDIMS; d++)
        if (lm->spatial[x][d] > 1) live |= (uint8_t)(1u << d);
      if (!order_ok(lm->spatial_order[x], live, c->outer[S], c->nouter[S], c->inner[S],
                    c->ninner[S])) {
        letters(c->outer[S], c->nouter[S], lo_s);
        letters(c->inner[S], c->ninner[S], li_s);
        return fail(why, whylen,
                    "level '%s': the spatial loop order on axis %c breaks the constraint (first "
                    "%s, last %s)",
                    L->name, "xyz"[x], lo_s[0] ? lo_s : "-", li_s[0] ? li_s : "-");
      }
    }
  }
  if (mc->min_parallelism > 0 && used < mc->min_parallelism * total * (1 - 1e-12))
    return fail(why, whylen, "the mapping uses %.4g of the MACs, the constraint says at least %.4g",
                used / total, mc->min_parallelism);
  return true;
}

/* "4", ">= 2", "<= 8", ">= 2 and <= 8" or "the whole dim": a bound as words. */
static void bound_text(const LevelConstraints *c, int k, int d, char *buf, size_t n) {
  int64_t lo = c->lo[k][d], hi = c->hi[k][d];
  if (lo == hi && lo == MAPCONS_WHOLE)
    snprintf(buf, n, "=%c (the whole dim)", accel_dim_letter(d));
  else if (lo == hi)
    snprintf(buf, n, "=%lld", (long long)lo);
  else if (lo && hi)
    snprintf(buf, n, ">=%lld <=%lld", (long long)lo, (long long)hi);
  else if (lo)
    snprintf(buf, n, ">=%lld", (long long)lo);
  else
    snprintf(buf, n, "<=%lld", (long long)hi);
}

bool mapcons_valid(const Arch *a, int *level, int *dim, char *why, size_t whylen) {
  static const char *const kind_name[2] = {"temporal", "spatial"};
  *level = -1, *dim = -1;
  for (int l = 0; l < a->nlevels; l++) {
    const Level *L = &a->level[l];
    const LevelConstraints *c = &a->cons.level[l];
    *level = l;
    if (L->keeps_required & ~L->keeps_allowed)
      return fail(why, whylen, "level '%s' must keep a tensor it bypasses", L->name);
    int64_t fan = 1, need = 1;
    for (int x = 0; x < ACCEL_MAX_AXES; x++) fan *= L->fanout[x];
    for (int k = 0; k < 2; k++)
      for (int d = 0; d < NDIMS; d++) {
        int64_t lo = c->lo[k][d], hi = c->hi[k][d];
        *dim = d;
        if (lo < MAPCONS_WHOLE || hi < MAPCONS_WHOLE)
          return fail(why, whylen, "level '%s': a %s factor bound of %c below 1", L->name,
                      kind_name[k], accel_dim_letter(d));
        if (lo > 0 && hi > 0 && lo > hi)
          return fail(why, whylen,
                      "level '%s': the %s factor of %c must be at least %lld and at most %lld",
                      L->name, kind_name[k], accel_dim_letter(d), (long long)lo, (long long)hi);
        if (k == MAPCONS_SPATIAL && lo > 1) {
          bool any = false;
          for (int x = 0; x < ACCEL_MAX_AXES; x++)
            any |= L->fanout[x] > 1 && (L->connectivity[x] >> d & 1);
          if (!any)
            return fail(why, whylen,
                        "level '%s': a spatial factor of %c of %lld, but no axis of its fan-out "
                        "may unroll %c",
                        L->name, accel_dim_letter(d), (long long)lo, accel_dim_letter(d));
          need *= lo;
          if (need > fan)
            return fail(why, whylen,
                        "level '%s': the spatial factors the constraints require need %lld "
                        "instances, its fan-out has %lld",
                        L->name, (long long)need, (long long)fan);
        }
      }
    *dim = -1;
    for (int k = 0; k < 2; k++) {
      uint8_t seen = 0;
      for (int i = 0; i < c->nouter[k] + c->ninner[k]; i++) {
        int d = i < c->nouter[k] ? c->outer[k][i] : c->inner[k][i - c->nouter[k]];
        if (d >= NDIMS || c->nouter[k] > NDIMS || c->ninner[k] > NDIMS)
          return fail(why, whylen, "level '%s': a malformed order constraint", L->name);
        if (seen >> d & 1) {
          *dim = d;
          return fail(why, whylen, "level '%s': %c appears twice in the %s order constraint",
                      L->name, accel_dim_letter(d), kind_name[k]);
        }
        seen |= (uint8_t)(1u << d);
      }
    }
  }
  if (a->cons.min_parallelism < 0 || a->cons.min_parallelism > 1) {
    *level = -1;
    return fail(why, whylen, "min_parallelism %g is not within 0 to 1", a->cons.min_parallelism);
  }
  *level = -1;
  return true;
}

#define MAPCONS_MAX_DIVISORS 4096
#define MAPCONS_MAX_FANOUT 16384 /* larger fan-outs are not tabulated (bound: all of it) */

/* The most instances any mapping of p can use at level l's fan-out: the
 * largest product, within the fan-out, of factors of the dims its axes may
 * unroll, each a divisor of its dim within its spatial bounds.  An upper
 * bound (the levels share the dims), enough to tell min_parallelism
 * impossible. */
static int64_t fanout_use_max(const Arch *a, const Problem *p, int l) {
  const Level *L = &a->level[l];
  int64_t fan = 1;
  uint8_t dims = 0;
  for (int x = 0; x < ACCEL_MAX_AXES; x++)
    if (L->fanout[x] > 1) fan *= L->fanout[x], dims |= L->connectivity[x];
  if (fan <= 1 || fan > MAPCONS_MAX_FANOUT) return fan;
  bool can[MAPCONS_MAX_FANOUT + 1], next[MAPCONS_MAX_FANOUT + 1];
  memset(can, 0, sizeof(bool) * (size_t)(fan + 1));
  can[1] = true;
  for (int d = 0; d < NDIMS; d++) {
    if (!(dims >> d & 1) || p->dim[d] <= 1) continue;
    int64_t lo, hi;
    mapcons_bounds(&arch_layer_cons(a, p)->level[l], MAPCONS_SPATIAL, d, p->dim[d], &lo, &hi);
    memset(next, 0, sizeof(bool) * (size_t)(fan + 1));
    for (int64_t s = 1; s <= fan; s++) {
      if (!can[s]) continue;
      for (int64_t f = lo; f <= hi && s * f <= fan; f++)
        if (p->dim[d] % f == 0) next[s * f] = true;
    }
    memcpy(can, next, sizeof(bool) * (size_t)(fan + 1));
  }
  for (int64_t s = fan; s >= 1; s--)
    if (can[s]) return s;
  return 0; /* the spatial bounds admit no factors: mapcons_feasible says which */
}

bool mapcons_feasible(const Arch *a, const Problem *p, int *level, int *kind, int *dim, char *why,
                      size_t whylen) {
  static const char *const kind_name[2] = {"temporal", "spatial"};
  *level = -1, *kind = 0, *dim = -1;
  for (int d = 0; d < NDIMS; d++) {
    int64_t n = p->dim[d];
    int64_t lo[2 * ACCEL_MAX_LEVELS], hi[2 * ACCEL_MAX_LEVELS];
    int ns = 0;
    *dim = d;
    for (int l = 0; l < a->nlevels; l++) {
      const Level *L = &a->level[l];
      const LevelConstraints *c = &arch_layer_cons(a, p)->level[l];
      int64_t cap = 1;
      for (int x = 0; x < ACCEL_MAX_AXES; x++)
        if (L->fanout[x] > 1 && (L->connectivity[x] >> d & 1)) {
          if (!c->one_axis)
            cap *= L->fanout[x];
          else if (L->fanout[x] > cap)
            cap = L->fanout[x];
        }
      for (int k = 0; k < 2; k++) {
        *level = l, *kind = k;
        int64_t l0, h0;
        mapcons_bounds(c, k, d, n, &l0, &h0);
        char bt[48];
        if (c->lo[k][d] || c->hi[k][d]) bound_text(c, k, d, bt, sizeof bt);
        if (c->lo[k][d] && c->lo[k][d] == c->hi[k][d] && (l0 > n || n % l0))
          return fail(why, whylen, "level '%s': the %s factor %c%s %s the dim (%c = %lld)", L->name,
                      kind_name[k], accel_dim_letter(d), bt, l0 > n ? "exceeds" : "does not divide",
                      accel_dim_letter(d), (long long)n);
        if (c->lo[k][d] && l0 > n)
          return fail(why, whylen, "level '%s': the %s factor %c%s exceeds the dim (%c = %lld)",
                      L->name, kind_name[k], accel_dim_letter(d), bt, accel_dim_letter(d),
                      (long long)n);
        if (k == MAPCONS_SPATIAL) {
          if (h0 > cap) h0 = cap;
          if (l0 > h0)
            return fail(why, whylen,
                        "level '%s': the spatial factor %c%s, but its fan-out may unroll %c at "
                        "most %lld times",
                        L->name, accel_dim_letter(d), bt, accel_dim_letter(d), (long long)cap);
        }
        lo[ns] = l0, hi[ns++] = h0;
      }
    }
    /* The products of factors within the bounds that divide n, slot by slot. */
    int64_t div[MAPCONS_MAX_DIVISORS];
    bool reach[MAPCONS_MAX_DIVISORS], next[MAPCONS_MAX_DIVISORS];
    int nd = 0, small = 0;
    for (int64_t f = 1; f * f <= n && nd < MAPCONS_MAX_DIVISORS; f++)
      if (n % f == 0) div[nd++] = f;
    small = nd;
    for (int i = small - 1; i >= 0 && nd < MAPCONS_MAX_DIVISORS; i--)
      if (div[i] != n / div[i]) div[nd++] = n / div[i];
    if (nd >= MAPCONS_MAX_DIVISORS) continue; /* too many to check: the mapper will tell */
    for (int i = 0; i < nd; i++) reach[i] = div[i] == 1;
    for (int s = 0; s < ns; s++) {
      for (int i = 0; i < nd; i++) next[i] = false;
      for (int i = 0; i < nd; i++) {
        if (!reach[i]) continue;
        for (int j = i; j < nd; j++) { /* div[j] = div[i] * f */
          if (div[j] % div[i]) continue;
          int64_t f = div[j] / div[i];
          if (f >= lo[s] && f <= hi[s]) next[j] = true;
        }
      }
      memcpy(reach, next, sizeof(bool) * (size_t)nd);
    }
    if (!reach[nd - 1]) {
      *level = -1;
      char list[256];
      size_t u = 0;
      list[0] = 0;
      for (int l = 0; l < a->nlevels; l++)
        for (int k = 0; k < 2; k++) {
          const LevelConstraints *c = &arch_layer_cons(a, p)->level[l];
          if (!c->lo[k][d] && !c->hi[k][d]) continue;
          char bt[48];
          bound_text(c, k, d, bt, sizeof bt);
          int w = snprintf(list + u, sizeof list - u, "%s'%s' %s %s", u ? ", " : "",
                           a->level[l].name, kind_name[k], bt);
          if (w < 0 || (size_t)w >= sizeof list - u) break;
          u += (size_t)w;
        }
      return fail(why, whylen,
                  "no factors of %c within its constraints (%s) and the fan-outs multiply to %lld",
                  accel_dim_letter(d), list[0] ? list : "none", (long long)n);
    }
  }
  /* min parallelism: at most the product of what each fan-out can use */
  double most = 1, total = 1;
  int worst = -1;
  double worst_share = 2;
  for (int l = 0; l < a->nlevels; l++) {
    int64_t fan = 1;
    for (int x = 0; x < ACCEL_MAX_AXES; x++) fan *= a->level[l].fanout[x];
    int64_t use = fanout_use_max(a, p, l);
    most *= (double)use, total *= (double)fan;
    if ((double)use / (double)fan < worst_share) worst_share = (double)use / (double)fan, worst = l;
  }
  *level = -1, *kind = 0, *dim = -1;
  double minpar = arch_layer_cons(a, p)->min_parallelism;
  if (minpar > 0 && most < minpar * total * (1 - 1e-12))
    return fail(why, whylen,
                "min_parallelism %.4g, but no mapping of the layer can use more than %.4g of the "
                "MACs (level '%s' at most %.4g of its fan-out)",
                minpar, most / total, worst >= 0 ? a->level[worst].name : "?", worst_share);
  return true;
}
