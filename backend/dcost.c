/*
 * dcost.c: the differentiable form of the cost model (cost.c).  The same
 * energy and cycles, as functions of continuous variables, with exact
 * gradients: reverse-mode automatic differentiation on a tape (every
 * operation records its local partial derivatives; one backward sweep gives
 * the gradient of any combination of the outputs), no finite differences.
 * docs/cost-model.md, section 14, has the equations.
 *
 * The relaxed mapping (RelaxedMapping, backend.h):
 *   - tile factors in log space: a temporal factor per level >= 1 and dim, a
 *     spatial factor per level, axis and dim; DRAM's temporal factor is what
 *     is left, log f0 = log D - (the others), so every point covers every dim
 *     (DOSA, Hong et al. MICRO 2023, mapping_driven_hw_search.py
 *     get_dram_factors, does the same); a negative remainder is padding and
 *     is penalised, a positive one is exact from T on (relu below);
 *   - loop orders as importances (higher = outer, NAAS's encoding): the
 *     order enters the counts only through "is loop e inside loop d", which
 *     is relaxed pairwise to sigmoid((v_d - v_e) / T);
 *   - keep/bypass as a logit per level and tensor, relaxed to
 *     sigmoid(logit / T): a bypassed level's accesses are weighted by 1 - k
 *     and its child's requests pass up (cost.c's MaskTiles) with weight 1 - k;
 *   - ceilings, maxima and minima smoothed with the temperature T: maxima
 *     and minima of positive quantities by a log-sum-exp of their logs (T is
 *     a relative scale: at T = 0.1 values within about 10% blend), ceilings
 *     by their mean over a window of relative width T (x + 1/2 for x > 1/T);
 *     the cycles are the compute cycles times one smoothed maximum over 1
 *     and every level's bandwidth ratios, each counted once (a log-sum-exp
 *     of n equal terms is n^T times their value).
 * At T = 0 every smoothing is the exact operation and, at a point that is a
 * discrete mapping (dcost_relax), the values are cost_eval's: the same
 * operations in the same order (tests/unit/test_dcost.c checks every
 * validation case and zoo layers).
 *
 * Two parts of the model are not smooth in the factors and stay piecewise:
 * the multicast of sliding windows (a gcd, cost.c's distinct_sums) and the
 * input walk of cost.c's delta_sum_input (which moves of the Timeloop walk
 * overlap their predecessor).  Their structure (which loops exist, the
 * loops' order, which translations are equal, which moves overlap) is read
 * off the current point with the argsort order and factors >= 1.5 counted
 * as loops; their values are smooth functions of the factors within that
 * structure, and the soft order enters the inputs through the stationary
 * closed form (D_I = walk x stationary_soft / stationary_hard).
 * Mappings with remainders are outside the relaxation (its factors are
 * perfect by construction): dcost_relax refuses them.
 *
 * Invariants: dcost_eval allocates only when the tape must grow (the first
 * evaluations); a tape belongs to one thread.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"

#define MAX_TLOOPS (ACCEL_MAX_LEVELS * NDIMS)
#define NAXES_T 5

typedef struct {
  double v;
  int i; /* tape slot, or -1 for a constant */
} Dv;

struct DcostTape {
  int n, cap;
  int32_t *pa, *pb;
  double *ga, *gb, *adj;
  bool full; /* an allocation failed: the gradient is not usable */
  double T;
  /* Leaves (tape slots, -1 when the variable is not free). */
  int lt[ACCEL_MAX_LEVELS][NDIMS];
  int ls[ACCEL_MAX_LEVELS][ACCEL_MAX_AXES][NDIMS];
  int lo[ACCEL_MAX_LEVELS][NDIMS];
  int lk[ACCEL_MAX_LEVELS][NTENSORS];
  /* Outputs. */
  int out_le, out_lc, out_pen;
  int out_w[ACCEL_MAX_LEVELS];
  int out_s[ACCEL_MAX_LEVELS][ACCEL_MAX_AXES];
  /* The input walk's memo (cost.c's PerfectMemo, with tape values). */
  Dv memo_cost[MAX_TLOOPS][MAX_TLOOPS + 1];
  int8_t memo_out[MAX_TLOOPS][MAX_TLOOPS + 1];
};

static bool tape_grow(DcostTape *t) {
  int nc = t->cap ? 2 * t->cap : 8192;
  int32_t *pa = xrealloc(t->pa, sizeof *pa * (size_t)nc);
  if (pa) t->pa = pa;
  int32_t *pb = xrealloc(t->pb, sizeof *pb * (size_t)nc);
  if (pb) t->pb = pb;
  double *ga = xrealloc(t->ga, sizeof *ga * (size_t)nc);
  if (ga) t->ga = ga;
  double *gb = xrealloc(t->gb, sizeof *gb * (size_t)nc);
  if (gb) t->gb = gb;
  double *adj = xrealloc(t->adj, sizeof *adj * (size_t)nc);
  if (adj) t->adj = adj;
  if (!pa || !pb || !ga || !gb || !adj) return false;
  t->cap = nc;
  return true;
}

DcostTape *dcost_tape_create(void) {
  DcostTape *t = xcalloc(1, sizeof *t);
  if (!t) return NULL;
  if (!tape_grow(t)) {
    dcost_tape_destroy(t);
    return NULL;
  }
  return t;
}

void dcost_tape_destroy(DcostTape *t) {
  if (!t) return;
  xfree(t->pa);
  xfree(t->pb);
  xfree(t->ga);
  xfree(t->gb);
  xfree(t->adj);
  xfree(t);
}

/* ---- tape operations ----------------------------------------------------- */

static Dv cst(double v) { return (Dv){v, -1}; }

static Dv push(DcostTape *t, double v, Dv a, double ga, Dv b, double gb) {
  if (a.i < 0 && b.i < 0) return cst(v);
  if (t->n == t->cap && !tape_grow(t)) {
    t->full = true;
    return cst(v);
  }
  int k = t->n++;
  t->pa[k] = a.i, t->ga[k] = ga, t->pb[k] = b.i, t->gb[k] = gb;
  return (Dv){v, k};
}

static Dv leaf(DcostTape *t, double v, int *slot) {
  if (t->n == t->cap && !tape_grow(t)) {
    t->full = true;
    *slot = -1;
    return cst(v);
  }
  int k = t->n++;
  t->pa[k] = t->pb[k] = -1;
  t->ga[k] = t->gb[k] = 0;
  *slot = k;
  return (Dv){v, k};
}

static Dv add(DcostTape *t, Dv a, Dv b) { return push(t, a.v + b.v, a, 1, b, 1); }
static Dv sub(DcostTape *t, Dv a, Dv b) { return push(t, a.v - b.v, a, 1, b, -1); }
static Dv mul(DcostTape *t, Dv a, Dv b) { return push(t, a.v * b.v, a, b.v, b, a.v); }
static Dv dvd(DcostTape *t, Dv a, Dv b) {
  return push(t, a.v / b.v, a, 1 / b.v, b, -a.v / (b.v * b.v));
}
static Dv mulc(DcostTape *t, Dv a, double c) { return push(t, a.v * c, a, c, cst(0), 0); }
static Dv addc(DcostTape *t, Dv a, double c) { return push(t, a.v + c, a, 1, cst(0), 0); }
static Dv lg(DcostTape *t, Dv a) { return push(t, log(a.v), a, 1 / a.v, cst(0), 0); }

/* exp, snapped to the nearest integer when within rounding of one (T = 0:
 * the relaxed point of a discrete mapping has integer factors exactly). */
static Dv ex(DcostTape *t, Dv a, bool snap) {
  double v = exp(a.v);
  if (snap) {
    double r = nearbyint(v);
    if (r >= 1 && fabs(v - r) <= 1e-9 * r) v = r;
  }
  return push(t, v, a, v, cst(0), 0);
}

/* a^w (a > 0): a itself for w = 1 and 1 for w = 0, exactly. */
static Dv pw(DcostTape *t, Dv a, Dv w) {
  double v = pow(a.v, w.v);
  return push(t, v, a, w.v * pow(a.v, w.v - 1), w, v * log(a.v));
}

/* max(z, 0), smoothed on [0, T] (a one-sided Huber function: z^2 / 2T,
 * then z - T/2), so that a point within its limits pays nothing and the
 * optimum, often on a limit (a full buffer, a dim wholly inside), is not
 * pushed off it.  At T = 0 an excess within rounding of a sum of logs
 * (1e-12) counts as none. */
static Dv hinge(DcostTape *t, Dv z, double T) {
  if (T <= 0) return z.v > 1e-12 ? z : cst(0);
  if (z.v <= 0) return cst(0);
  if (z.v >= T) return addc(t, z, -T / 2);
  return push(t, z.v * z.v / (2 * T), z, z.v / T, cst(0), 0);
}

/* max(z, 0) as a value: 0 up to 0, z from T on, z^2 (2T - z) / T^2
 * between (C1, within [0, z]).  hinge's z - T/2 beyond T is right for a
 * penalty but biases a value everywhere (DRAM's factors came out e^(-T/2)
 * too small each, docs/gradient.md); a window centred on 0 would give the
 * many dims at exactly 0 (no DRAM loop) a loop.  hinge's at T = 0. */
static Dv relu(DcostTape *t, Dv z, double T) {
  if (T <= 0) return hinge(t, z, T);
  if (z.v <= 0) return cst(0);
  if (z.v >= T) return z;
  double v = z.v * z.v * (2 * T - z.v) / (T * T);
  return push(t, v, z, z.v * (4 * T - 3 * z.v) / (T * T), cst(0), 0);
}

/* sigmoid(z / T); the step z > 0 at T = 0. */
static Dv sig(DcostTape *t, Dv z, double T) {
  if (T <= 0) return cst(z.v > 0 ? 1 : 0);
  double s = 1 / (1 + exp(-z.v / T));
  return push(t, s, z, s * (1 - s) / T, cst(0), 0);
}

/* max(a, b) of positive values, smoothed in log space. */
static Dv smax(DcostTape *t, Dv a, Dv b, double T) {
  if (T <= 0) return a.v >= b.v ? a : b;
  double la = log(a.v), lb = log(b.v), m = la > lb ? la : lb;
  double ea = exp((la - m) / T), eb = exp((lb - m) / T), s = ea + eb;
  double v = exp(m + T * log(s));
  return push(t, v, a, v * (ea / s) / a.v, b, v * (eb / s) / b.v);
}

/* min(a, b) of positive values, smoothed in log space (fmin at T = 0). */
static Dv smin(DcostTape *t, Dv a, Dv b, double T) {
  if (T <= 0) return a.v <= b.v ? a : b;
  double la = -log(a.v), lb = -log(b.v), m = la > lb ? la : lb;
  double ea = exp((la - m) / T), eb = exp((lb - m) / T), s = ea + eb;
  double v = exp(-(m + T * log(s)));
  return push(t, v, a, v * (ea / s) / a.v, b, v * (eb / s) / b.v);
}

/* min and max of values of either sign, smoothed on an absolute scale
 * (counts of loop iterations: T = 0.1 blends within a tenth of one). */
static Dv amin(DcostTape *t, Dv a, Dv b, double T) {
  if (T <= 0) return a.v <= b.v ? a : b;
  return sub(t, a, hinge(t, sub(t, a, b), T));
}

/* ceil(x), smoothed: its mean over a window of relative width T around x
 * (w = T x): k + (x + w/2 - k) / w past the integer k = ceil(x - w/2),
 * else k; x + 1/2 once the window spans a unit.  Continuous, ceil at T = 0;
 * for the large counts of a layer (x > 1/T) it is x + 1/2 (a staircase
 * cannot converge to ceil without steep pieces, so they are kept to where
 * the ceiling matters).  At T = 0 the derivative passed back is 1 (the
 * gradient is never taken there). */
static Dv sceil(DcostTape *t, Dv x, double T) {
  if (T <= 0) return push(t, ceil(x.v), x, 1, cst(0), 0);
  double w = T * x.v;
  if (w >= 1) return addc(t, x, 0.5);
  double k = ceil(x.v - w / 2), b = x.v + w / 2;
  if (b <= k) return cst(k);
  return push(t, k + (b - k) / w, x, k / (T * x.v * x.v), cst(0), 0);
}

/* floor(x) at T = 0 (Timeloop's integer division); x itself above. */
static Dv sfloor(DcostTape *t, Dv x, double T) {
  if (T > 0) return x;
  return push(t, floor(x.v), x, 1, cst(0), 0);
}

static Dv absv(DcostTape *t, Dv a) { return a.v < 0 ? mulc(t, a, -1) : a; }

/* ---- the model ------------------------------------------------------------ */

static const uint8_t tensor_axes[NTENSORS][NAXES_T] = {
    {DIM_G, DIM_K, DIM_C, DIM_R, DIM_S},
    {DIM_G, DIM_N, DIM_C, DIM_P, DIM_Q}, /* axes 3, 4 are H and W */
    {DIM_G, DIM_N, DIM_K, DIM_P, DIM_Q},
};

/* Words of tensor t in a tile with extents ext (cost.c's tile_words). */
static Dv tile_words(DcostTape *T, const Problem *p, int t, const Dv *ext) {
  switch (t) {
  case TENSOR_W:
    return mul(T, mul(T, mul(T, mul(T, ext[DIM_G], ext[DIM_K]), ext[DIM_C]), ext[DIM_R]),
               ext[DIM_S]);
  case TENSOR_O:
    return mul(T, mul(T, mul(T, mul(T, ext[DIM_G], ext[DIM_N]), ext[DIM_K]), ext[DIM_P]),
               ext[DIM_Q]);
  default: {
    Dv h = addc(T,
                add(T, mulc(T, addc(T, ext[DIM_P], -1), (double)p->stride[0]),
                    mulc(T, addc(T, ext[DIM_R], -1), (double)p->dilation[0])),
                1);
    Dv w = addc(T,
                add(T, mulc(T, addc(T, ext[DIM_Q], -1), (double)p->stride[1]),
                    mulc(T, addc(T, ext[DIM_S], -1), (double)p->dilation[1])),
                1);
    return mul(T, mul(T, mul(T, mul(T, ext[DIM_G], ext[DIM_N]), ext[DIM_C]), h), w);
  }
  }
}

/* Everything dcost_eval derives from the relaxed point, on its stack. */
typedef struct {
  const Problem *p;
  const Arch *a;
  DcostTape *T;
  double temp;
  int nl;
  Dv u[ACCEL_MAX_LEVELS][NDIMS];                      /* log temporal factors (level 0: >= 0) */
  Dv F[ACCEL_MAX_LEVELS][NDIMS];                      /* temporal factors */
  Dv S[ACCEL_MAX_LEVELS][ACCEL_MAX_AXES][NDIMS];      /* spatial factors */
  Dv spf[ACCEL_MAX_LEVELS][NDIMS];                    /* spatial unrolling per level and dim */
  Dv full[ACCEL_MAX_LEVELS + 1][NDIMS];               /* tile extents; [nl] = one MAC */
  Dv util[ACCEL_MAX_LEVELS + 1];                      /* utilized instances; [nl] = MACs */
  Dv act[ACCEL_MAX_LEVELS][NDIMS];                    /* the temporal loop exists (relaxed) */
  Dv outside[ACCEL_MAX_LEVELS][NDIMS][NDIMS];         /* [l][d][e]: d's loop is outside e's */
  Dv keep[ACCEL_MAX_LEVELS][NTENSORS];                /* relaxed keep */
  uint8_t ord[ACCEL_MAX_LEVELS][NDIMS];               /* the argsort order, outermost first */
  uint8_t pos[ACCEL_MAX_LEVELS][NDIMS];               /* position of each dim in ord */
  Dv inlevel[NTENSORS][ACCEL_MAX_LEVELS][NDIMS];      /* in-level trailing weight, soft order */
  Dv inlevel_hard[NTENSORS][ACCEL_MAX_LEVELS][NDIMS]; /* the same, argsort order */
  Dv norel[NTENSORS][ACCEL_MAX_LEVELS];               /* no loop relevant to t exists at l */
} Relaxed;

/* The trailing weight of (l, d) for tensor t within its level: d is
 * irrelevant to t and no existing relevant loop of the level is inside it. */
static void fill_trailing(Relaxed *M) {
  DcostTape *T = M->T;
  for (int t = 0; t < NTENSORS; t++) {
    uint8_t rel = accel_tensor_dims(t);
    for (int l = 0; l < M->nl; l++) {
      Dv nr = cst(1);
      for (int e = 0; e < NDIMS; e++)
        if (rel >> e & 1) nr = mul(T, nr, addc(T, mulc(T, M->act[l][e], -1), 1));
      M->norel[t][l] = nr;
      for (int d = 0; d < NDIMS; d++) {
        Dv w = cst(0), wh = cst(0);
        if (!(rel >> d & 1)) {
          w = cst(1), wh = cst(1);
          for (int e = 0; e < NDIMS; e++) {
            if (!(rel >> e & 1)) continue;
            /* e inside d: d outside e */
            w = mul(T, w, addc(T, mulc(T, mul(T, M->act[l][e], M->outside[l][d][e]), -1), 1));
            if (M->pos[l][e] > M->pos[l][d]) wh = mul(T, wh, addc(T, mulc(T, M->act[l][e], -1), 1));
          }
        }
        M->inlevel[t][l][d] = w;
        M->inlevel_hard[t][l][d] = wh;
      }
    }
  }
}

/* The product of the temporal factors of the loops outside level c down to
 * the innermost existing loop relevant to t (cost.c's prod_rel): each
 * factor raised to 1 - its trailing weight. */
static Dv prod_rel(Relaxed *M, int t, int c, bool hard) {
  DcostTape *T = M->T;
  Dv prod = cst(1);
  for (int l = 0; l < c; l++) {
    Dv cross = cst(1); /* no relevant loop in levels l+1 .. c-1 */
    for (int k = l + 1; k < c; k++) cross = mul(T, cross, M->norel[t][k]);
    for (int i = 0; i < NDIMS; i++) {
      int d = M->ord[l][i];
      if (M->F[l][d].v == 1 && M->F[l][d].i < 0) continue;
      Dv w = mul(T, hard ? M->inlevel_hard[t][l][d] : M->inlevel[t][l][d], cross);
      prod = mul(T, prod, pw(T, M->F[l][d], addc(T, mulc(T, w, -1), 1)));
    }
  }
  return prod;
}

/* ---- the input walk (cost.c's delta_sum_input and perfect_walk) ---------- */

typedef struct {
  int m;
  Dv f[MAX_TLOOPS];
  Dv delta[MAX_TLOOPS];
  int cid[MAX_TLOOPS];
  Dv full;
} Walk;

static Dv walk_rest(Relaxed *M, const Walk *w, int j, int *s) {
  DcostTape *T = M->T;
  if (j == w->m) return cst(0);
  if (T->memo_out[j][*s]) {
    Dv c = T->memo_cost[j][*s];
    *s = T->memo_out[j][*s] - 1;
    return c;
  }
  int s_in = *s;
  Dv c0 = walk_rest(M, w, j + 1, s), delta;
  if (*s == 0) {
    delta = w->delta[j], *s = w->cid[j] + 1;
  } else if (*s == w->cid[j] + 1) {
    delta = w->delta[j];
  } else {
    delta = w->full, *s = 0;
  }
  Dv c1 = walk_rest(M, w, j + 1, s);
  Dv total = add(T, c0, mul(T, addc(T, w->f[j], -1), add(T, delta, c1)));
  T->memo_cost[j][s_in] = total;
  T->memo_out[j][s_in] = (int8_t)(*s + 1);
  return total;
}

/* D of inputs at child level c: `stationary` unless some move of the walk
 * overlaps its predecessor or cancels out; then words + the walk. */
static Dv delta_input(Relaxed *M, int c, Dv stationary, Dv stationary_hard) {
  DcostTape *T = M->T;
  const Problem *p = M->p;
  const Dv *ext = M->full[c];
  Dv E[NAXES_T] = {ext[DIM_G], ext[DIM_N], ext[DIM_C], cst(0), cst(0)};
  for (int x = 0; x < 2; x++) {
    int pd = x ? DIM_Q : DIM_P, rd = x ? DIM_S : DIM_R;
    E[3 + x] = addc(T,
                    add(T, mulc(T, addc(T, ext[pd], -1), (double)p->stride[x]),
                        mulc(T, addc(T, ext[rd], -1), (double)p->dilation[x])),
                    1);
  }
  Dv words = mul(T, mul(T, mul(T, mul(T, E[0], E[1]), E[2]), E[3]), E[4]);
  static const int8_t axis_of[NDIMS] = {0, 1, -1, 2, 3, 4, 3, 4};
  const double unit[NDIMS] = {1,
                              1,
                              0,
                              1,
                              (double)p->stride[0],
                              (double)p->stride[1],
                              (double)p->dilation[0],
                              (double)p->dilation[1]};
  /* The temporal loops outside c, outermost first. */
  int ll[MAX_TLOOPS], ld[MAX_TLOOPS], m = 0;
  for (int l = 0; l < c; l++)
    for (int i = 0; i < NDIMS; i++) {
      int d = M->ord[l][i];
      if (M->F[l][d].v >= 1.5) ll[m] = l, ld[m] = d, m++;
    }
  Walk w;
  w.m = m, w.full = words;
  Dv suf[NAXES_T] = {cst(0), cst(0), cst(0), cst(0), cst(0)};
  Dv tr[MAX_TLOOPS][NAXES_T];
  bool simple = true, moved = false;
  for (int j = m - 1; j >= 0; j--) {
    int l = ll[j], dd = ld[j], ax = axis_of[dd];
    /* Stride: the product of the same-dim loops inside this one. */
    Dv stride = mul(T, M->spf[l][dd], M->full[l + 1][dd]);
    Dv *t = tr[j];
    for (int x = 0; x < NAXES_T; x++) t[x] = mulc(T, suf[x], -1);
    if (ax >= 0) {
      Dv own = mulc(T, stride, unit[dd]);
      t[ax] = add(T, t[ax], own), suf[ax] = add(T, suf[ax], own), moved = true;
    }
    int nz = 0, nzax = 0;
    bool disjoint = false;
    for (int x = 0; x < NAXES_T; x++)
      if (fabs(t[x].v) > 1e-9 * E[x].v) {
        nz++, nzax = x;
        if (fabs(t[x].v) >= E[x].v) disjoint = true;
      }
    if (nz == 0) {
      w.delta[j] = cst(0);
    } else if (nz > 1) {
      w.delta[j] = words;
    } else {
      /* |t| words of the tile's slices, at most the tile (disjoint). */
      Dv slice = dvd(T, words, E[nzax]);
      if (M->temp <= 0)
        w.delta[j] = disjoint ? words : mul(T, absv(T, t[nzax]), slice);
      else
        w.delta[j] = mul(T, amin(T, absv(T, t[nzax]), E[nzax], M->temp), slice);
    }
    if (nz == 0 ? moved : (nz == 1 && !disjoint)) simple = false;
    if (simple && ax >= 0 && ax < 3) return stationary;
    w.f[j] = M->F[l][dd];
  }
  if (simple) return stationary;
  for (int a = 0; a < m; a++) {
    w.cid[a] = a;
    for (int b = 0; b < a; b++) {
      bool same = true;
      for (int x = 0; x < NAXES_T && same; x++)
        same = fabs(tr[a][x].v - tr[b][x].v) <= 1e-9 * (fabs(tr[a][x].v) + 1);
      if (same) {
        w.cid[a] = b;
        break;
      }
    }
  }
  for (int a = 0; a < m; a++) memset(T->memo_out[a], 0, (size_t)(m + 1));
  int s = 0;
  Dv walked = add(T, words, walk_rest(M, &w, 0, &s));
  if (M->temp <= 0) return walked;
  return mul(T, walked, dvd(T, stationary, stationary_hard));
}

/* ---- multicast ------------------------------------------------------------ */

static int64_t gcd64(int64_t a, int64_t b) {
  while (b) {
    int64_t r = a % b;
    a = b, b = r;
  }
  return a;
}

/* Distinct a*alpha + b*beta for a < na, b < nb (cost.c's distinct_sums);
 * the gcd is read off the point, the rest is smooth in na, nb, alpha, beta. */
static Dv distinct_sums(Relaxed *M, Dv alpha, Dv na, Dv beta, Dv nb) {
  DcostTape *T = M->T;
  double tp = M->temp;
  int64_t x =
      gcd64(llround(alpha.v) > 0 ? llround(alpha.v) : 1, llround(beta.v) > 0 ? llround(beta.v) : 1);
  Dv ap = mulc(T, alpha, 1.0 / (double)x), bp = mulc(T, beta, 1.0 / (double)x);
  if (tp <= 0) ap = cst(nearbyint(ap.v)), bp = cst(nearbyint(bp.v));
  Dv low = amin(T, nb, ap, tp);
  Dv high = hinge(T, sub(T, nb, ap), tp);
  return add(T, mul(T, low, na), mul(T, high, amin(T, na, bp, tp)));
}

static Dv multicast_groups(Relaxed *M, int l, int t) {
  DcostTape *T = M->T;
  const Problem *p = M->p;
  const Dv *sf = M->spf[l], *child = M->full[l + 1];
  Dv g = cst(1);
  for (int x = 0; x < NAXES_T; x++) {
    int dd = tensor_axes[t][x];
    if (t == TENSOR_I && x >= 3) {
      int a = x - 3, pd = a ? DIM_Q : DIM_P, rd = a ? DIM_S : DIM_R;
      if (sf[pd].v >= 1.5 && sf[rd].v >= 1.5)
        g = mul(T, g,
                distinct_sums(M, mulc(T, child[pd], (double)p->stride[a]), sf[pd],
                              mulc(T, child[rd], (double)p->dilation[a]), sf[rd]));
      else
        g = mul(T, g, mul(T, sf[pd], sf[rd]));
    } else {
      g = mul(T, g, sf[dd]);
    }
  }
  return g;
}

/* ---- the evaluation ------------------------------------------------------- */

int dcost_relax(const Problem *p, const Arch *a, const Mapping *m, RelaxedMapping *r) {
  (void)p;
  memset(r, 0, sizeof *r);
  if (m->nlevels != a->nlevels || a->nlevels < 1 || a->nlevels > ACCEL_MAX_LEVELS)
    return COST_ELEVELS;
  for (int l = 0; l < m->nlevels; l++) {
    const LevelMapping *lm = &m->level[l];
    for (int d = 0; d < NDIMS; d++) {
      if (lm->factor[d] < 1) return COST_EFACTOR;
      if (mapping_residual(lm, d) != lm->factor[d]) return COST_EUNSUPPORTED;
      r->t[l][d] = log((double)lm->factor[d]);
      for (int x = 0; x < ACCEL_MAX_AXES; x++) {
        if (lm->spatial[x][d] < 1) return COST_EFACTOR;
        r->s[l][x][d] = log((double)lm->spatial[x][d]);
      }
    }
    for (int i = 0; i < NDIMS; i++)
      if (lm->order[i] < NDIMS) r->order[l][lm->order[i]] = (double)(NDIMS - i);
    for (int t = 0; t < NTENSORS; t++) r->keep[l][t] = (lm->keep >> t & 1) ? 8 : -8;
  }
  return COST_OK;
}

int dcost_eval(const Problem *p, const Arch *a, const RelaxedMapping *rm, double temperature,
               DcostTape *T, DcostResult *out) {
  memset(out, 0, sizeof *out);
  int nl = a->nlevels;
  if (nl < 1 || nl > ACCEL_MAX_LEVELS || a->mac_instances < 1) return COST_EARCH;
  for (int d = 0; d < NDIMS; d++)
    if (p->dim[d] < 1) return COST_EPROBLEM;
  for (int x = 0; x < 2; x++)
    if (p->stride[x] < 1 || p->dilation[x] < 1) return COST_EPROBLEM;
  for (int l = 0; l < nl; l++)
    for (int x = 0; x < ACCEL_MAX_AXES; x++)
      if (a->level[l].fanout[x] < 1 || a->level[l].block_words < 1) return COST_EARCH;
  if (!(temperature >= 0)) return COST_EUNSUPPORTED;

  Relaxed model, *M = &model;
  memset(M, 0, sizeof *M);
  M->p = p, M->a = a, M->T = T, M->temp = temperature, M->nl = nl;
  T->n = 0, T->full = false, T->T = temperature;
  T->out_le = T->out_lc = T->out_pen = -1;
  for (int l = 0; l < ACCEL_MAX_LEVELS; l++) {
    T->out_w[l] = -1;
    for (int x = 0; x < ACCEL_MAX_AXES; x++) T->out_s[l][x] = -1;
  }
  double tp = temperature;
  bool snap = tp <= 0;
  Dv pen = cst(0);

  /* Leaves and factors. */
  for (int l = 0; l < ACCEL_MAX_LEVELS; l++) {
    for (int d = 0; d < NDIMS; d++) {
      T->lt[l][d] = T->lo[l][d] = -1;
      for (int x = 0; x < ACCEL_MAX_AXES; x++) T->ls[l][x][d] = -1;
    }
    for (int t = 0; t < NTENSORS; t++) T->lk[l][t] = -1;
  }
  for (int d = 0; d < NDIMS; d++) {
    Dv rest = cst(log((double)p->dim[d]));
    for (int l = 0; l < nl; l++) {
      if (l > 0) {
        M->u[l][d] = p->dim[d] > 1 ? leaf(T, rm->t[l][d], &T->lt[l][d]) : cst(0);
        rest = sub(T, rest, M->u[l][d]);
      }
      for (int x = 0; x < ACCEL_MAX_AXES; x++) {
        const Level *lv = &a->level[l];
        Dv s = cst(0);
        if (lv->fanout[x] > 1 && (lv->connectivity[x] >> d & 1) && p->dim[d] > 1)
          s = leaf(T, rm->s[l][x][d], &T->ls[l][x][d]);
        M->S[l][x][d] = s.i < 0 && s.v == 0 ? cst(1) : ex(T, s, snap);
        rest = sub(T, rest, s);
      }
    }
    /* DRAM takes what is left; a negative rest is padding (penalised). */
    pen = add(T, pen, hinge(T, mulc(T, rest, -1), tp));
    M->u[0][d] = relu(T, rest, tp);
  }
  for (int l = 0; l < nl; l++)
    for (int d = 0; d < NDIMS; d++) {
      Dv u = M->u[l][d];
      M->F[l][d] = u.i < 0 && u.v == 0 ? cst(1) : ex(T, u, snap);
      Dv sp = cst(1);
      for (int x = 0; x < ACCEL_MAX_AXES; x++) sp = mul(T, sp, M->S[l][x][d]);
      M->spf[l][d] = sp;
      /* The loop exists: f > 1 (T = 0); 1 - e^(-log f / (T log 2)) above. */
      if (tp <= 0)
        M->act[l][d] = cst(M->F[l][d].v >= 1.5 ? 1 : 0);
      else if (u.v <= 0)
        M->act[l][d] = cst(0);
      else
        M->act[l][d] = addc(T, mulc(T, ex(T, mulc(T, u, -1 / (tp * log(2.0))), false), -1), 1);
    }
  for (int d = 0; d < NDIMS; d++) M->full[nl][d] = cst(1);
  for (int l = nl - 1; l >= 0; l--)
    for (int d = 0; d < NDIMS; d++)
      M->full[l][d] = mul(T, mul(T, M->full[l + 1][d], M->spf[l][d]), M->F[l][d]);
  M->util[0] = cst(1);
  for (int l = 0; l < nl; l++) {
    Dv u = M->util[l];
    for (int x = ACCEL_MAX_AXES - 1; x >= 0; x--)
      for (int d = 0; d < NDIMS; d++) u = mul(T, u, M->S[l][x][d]);
    M->util[l + 1] = u;
  }

  /* Orders: the argsort (ties by dim index) and the pairwise relaxation. */
  for (int l = 0; l < nl; l++) {
    uint8_t idx[NDIMS];
    for (int d = 0; d < NDIMS; d++) idx[d] = (uint8_t)d;
    for (int i = 1; i < NDIMS; i++) {
      uint8_t v = idx[i];
      int j = i - 1;
      while (j >= 0 && rm->order[l][idx[j]] < rm->order[l][v]) {
        idx[j + 1] = idx[j];
        j--;
      }
      idx[j + 1] = v;
    }
    memcpy(M->ord[l], idx, NDIMS);
    for (int i = 0; i < NDIMS; i++) M->pos[l][idx[i]] = (uint8_t)i;
    Dv v[NDIMS];
    for (int d = 0; d < NDIMS; d++) v[d] = leaf(T, rm->order[l][d], &T->lo[l][d]);
    for (int d = 0; d < NDIMS; d++)
      for (int e = 0; e < NDIMS; e++)
        M->outside[l][d][e] =
            tp <= 0 ? cst(M->pos[l][d] < M->pos[l][e] ? 1 : 0) : sig(T, sub(T, v[d], v[e]), tp);
  }
  /* Keeps: DRAM keeps all; a level keeps only what it allows, and what it must. */
  for (int l = 0; l < nl; l++)
    for (int t = 0; t < NTENSORS; t++) {
      const Level *lv = &a->level[l];
      if (l == 0)
        M->keep[l][t] = cst(1);
      else if (!(lv->keeps_allowed >> t & 1))
        M->keep[l][t] = cst(0);
      else if (lv->keeps_required >> t & 1)
        M->keep[l][t] = cst(1);
      else
        M->keep[l][t] = sig(T, leaf(T, rm->keep[l][t], &T->lk[l][t]), tp);
    }
  fill_trailing(M);

  /* Capacity, fan-out and instances: the limits of the arch as a penalty
   * (log units), and the requirements for an arch derived from mappings. */
  Dv tw[ACCEL_MAX_LEVELS][NTENSORS];
  for (int l = 0; l < nl; l++) {
    const Level *lv = &a->level[l];
    Dv used = cst(0);
    for (int t = 0; t < NTENSORS; t++) {
      tw[l][t] = tile_words(T, p, t, M->full[l]);
      used = add(T, used, mul(T, M->keep[l][t], tw[l][t]));
      int64_t tc = lv->tensor_capacity_words[t];
      if (l > 0 && !lv->is_dram && tc > 0 && M->keep[l][t].v > 0)
        pen = add(T, pen,
                  mul(T, M->keep[l][t], hinge(T, addc(T, lg(T, tw[l][t]), -log((double)tc)), tp)));
    }
    Dv lu = lg(T, used.v > 0 ? used : cst(1));
    if (l > 0) {
      out->log_words[l] = lu.v;
      T->out_w[l] = lu.i;
    }
    double mb = lv->multiple_buffering > 0 ? lv->multiple_buffering : 1;
    int64_t cap = (int64_t)floor((double)lv->capacity_words / mb);
    if (l > 0 && !lv->is_dram && lv->capacity_words > 0)
      pen = add(T, pen, hinge(T, addc(T, lu, -log((double)(cap > 0 ? cap : 1))), tp));
    for (int x = 0; x < ACCEL_MAX_AXES; x++) {
      Dv ls = cst(0);
      for (int d = 0; d < NDIMS; d++) ls = add(T, ls, lg(T, M->S[l][x][d]));
      out->log_spatial[l][x] = ls.v;
      T->out_s[l][x] = ls.i;
      if (lv->fanout[x] > 0)
        pen = add(T, pen, hinge(T, addc(T, ls, -log((double)lv->fanout[x])), tp));
    }
    if (l > 0 && lv->instances > 0)
      pen = add(T, pen, hinge(T, addc(T, lg(T, M->util[l]), -log((double)lv->instances)), tp));
  }
  pen = add(T, pen, hinge(T, addc(T, lg(T, M->util[nl]), -log((double)a->mac_instances)), tp));

  /* Accesses, energy (cost.c's evaluate, the same operations in order). */
  Dv tcyc = cst(1);
  for (int l = 0; l < nl; l++)
    for (int d = 0; d < NDIMS; d++) tcyc = mul(T, tcyc, M->F[l][d]);
  double macs = (double)problem_macs(p);
  Dv lvlE[ACCEL_MAX_LEVELS], rd[ACCEL_MAX_LEVELS], wr[ACCEL_MAX_LEVELS];
  for (int l = 0; l < nl; l++) lvlE[l] = rd[l] = wr[l] = cst(0);
  for (int t = 0; t < NTENSORS; t++) {
    Dv part[ACCEL_MAX_LEVELS], D[ACCEL_MAX_LEVELS], A[ACCEL_MAX_LEVELS];
    Dv full0[NDIMS];
    for (int d = 0; d < NDIMS; d++) full0[d] = cst((double)p->dim[d]);
    part[0] = tile_words(T, p, t, full0);
    for (int l = 1; l < nl; l++) {
      Dv sp[NDIMS];
      for (int d = 0; d < NDIMS; d++) sp[d] = mul(T, M->full[l][d], M->spf[l - 1][d]);
      part[l] = sfloor(T, dvd(T, mul(T, part[l - 1], tw[l][t]), tile_words(T, p, t, sp)), tp);
    }
    D[0] = part[0];
    for (int c = 1; c < nl; c++) {
      Dv stat = mul(T, tw[c][t], prod_rel(M, t, c, false));
      if (t == TENSOR_I) {
        Dv stat_hard = tp <= 0 ? stat : mul(T, tw[c][t], prod_rel(M, t, c, true));
        D[c] = delta_input(M, c, stat, stat_hard);
      } else {
        D[c] = stat;
      }
    }
    Dv per_pe = dvd(T, cst(macs), M->util[nl]);
    Dv sends[ACCEL_MAX_LEVELS];
    for (int l = nl - 1; l >= 0; l--) {
      Dv g = multicast_groups(M, l, t), kids = cst(1);
      for (int d = 0; d < NDIMS; d++) kids = mul(T, kids, M->spf[l][d]);
      if (t == TENSOR_O ? a->level[l].no_reduction : a->level[l].no_multicast) g = kids;
      Dv child;
      if (l == nl - 1) {
        child = per_pe;
      } else {
        Dv k = M->keep[l + 1][t];
        if (k.i < 0)
          child = k.v > 0 ? D[l + 1] : A[l + 1];
        else
          child = add(T, mul(T, k, D[l + 1]), mul(T, addc(T, mulc(T, k, -1), 1), A[l + 1]));
      }
      A[l] = mul(T, g, child);
      sends[l] = mul(T, kids, child);
    }
    for (int l = 0; l < nl; l++) {
      double hop = a->level[l].noc_pj_per_hop;
      if (hop <= 0) continue;
      Dv noc = mul(T, mulc(T, sends[l], hop), M->util[l]);
      if (noc.v <= 0) continue;
      lvlE[l] = add(T, lvlE[l], noc);
    }
    for (int l = 0; l < nl; l++) {
      Dv k = M->keep[l][t];
      if (k.i < 0 && k.v <= 0) continue;
      const Level *lv = &a->level[l];
      Dv reads, fills, updates = cst(0);
      if (t == TENSOR_O) {
        updates = A[l];
        reads = sub(T, A[l], part[l]);
        fills = l == 0 ? cst(0) : sub(T, D[l], part[l]);
      } else {
        reads = A[l];
        fills = l == 0 ? cst(0) : D[l];
      }
      Dv b = cst((double)lv->block_words);
      Dv e = add(T,
                 add(T, mulc(T, sceil(T, dvd(T, reads, b), tp), lv->e_read_pj),
                     mulc(T, sceil(T, dvd(T, fills, b), tp), lv->e_fill_pj)),
                 mulc(T, sceil(T, dvd(T, updates, b), tp), lv->e_update_pj));
      e = mul(T, M->util[l], e);
      if (k.i >= 0) {
        e = mul(T, k, e);
        reads = mul(T, k, reads);
        fills = mul(T, k, fills);
        updates = mul(T, k, updates);
      }
      lvlE[l] = add(T, lvlE[l], e);
      rd[l] = add(T, rd[l], reads);
      wr[l] = add(T, wr[l], add(T, fills, updates));
    }
  }

  /* Cycles (cost.c: Timeloop's order of operations), then leakage into
   * each level's energy, then the total in cost.c's order (the MACs, then
   * every level's dynamic and leakage energy), so that it is bit-identical. */
  Dv cycles = tcyc;
  if (tp > 0) {
    /* max(compute, every level's ceil(compute / slowdown)) is compute x the
     * largest of 1 and every demand over its bandwidth: one smoothed
     * maximum over those ratios, each counted once.  (Smoothing per level,
     * max(cycles, compute / smin(1, ...)), counted the ratio 1 once per
     * level: a log-sum-exp of n equal terms is n^T times their value, so a
     * compute-bound point's cycles came out (1 + levels)^T too high, 9% at
     * T = 0.05 on eyeriss, and a bandwidth-bound one's right; the descent
     * preferred the bandwidth-bound, docs/gradient.md.) */
    Dv ratio = cst(1);
    for (int l = 0; l < nl; l++) {
      const Level *lv = &a->level[l];
      Dv rbw = dvd(T, rd[l], tcyc), wbw = dvd(T, wr[l], tcyc);
      if (lv->read_bw > 0 && rbw.v > 0) ratio = smax(T, ratio, mulc(T, rbw, 1 / lv->read_bw), tp);
      if (lv->write_bw > 0 && wbw.v > 0) ratio = smax(T, ratio, mulc(T, wbw, 1 / lv->write_bw), tp);
      if (lv->shared_bw > 0 && rbw.v + wbw.v > 0)
        ratio = smax(T, ratio, mulc(T, add(T, rbw, wbw), 1 / lv->shared_bw), tp);
    }
    cycles = sceil(T, mul(T, tcyc, ratio), tp);
  } else {
    for (int l = 0; l < nl; l++) {
      const Level *lv = &a->level[l];
      Dv rbw = dvd(T, rd[l], tcyc), wbw = dvd(T, wr[l], tcyc), slow = cst(1);
      if (lv->read_bw > 0 && rbw.v > 0) slow = smin(T, slow, dvd(T, cst(lv->read_bw), rbw), tp);
      if (lv->write_bw > 0 && wbw.v > 0) slow = smin(T, slow, dvd(T, cst(lv->write_bw), wbw), tp);
      if (lv->shared_bw > 0 && rbw.v + wbw.v > 0)
        slow = smin(T, slow, dvd(T, cst(lv->shared_bw), add(T, rbw, wbw)), tp);
      Dv lc = slow.v < 1.0 ? sceil(T, dvd(T, tcyc, slow), tp) : tcyc;
      cycles = smax(T, cycles, lc, tp);
    }
  }
  for (int l = 0; l < nl; l++) {
    const Level *lv = &a->level[l];
    if (lv->leak_pj_per_cycle <= 0) continue;
    Dv none = cst(1); /* keeps nothing */
    for (int t = 0; t < NTENSORS; t++) none = mul(T, none, addc(T, mulc(T, M->keep[l][t], -1), 1));
    Dv inst = add(T, mul(T, none, cst(1)), mul(T, addc(T, mulc(T, none, -1), 1), M->util[l]));
    lvlE[l] = add(T, lvlE[l], mul(T, mulc(T, cycles, lv->leak_pj_per_cycle), inst));
  }
  Dv energy = cst(macs * a->mac_energy_pj);
  for (int l = 0; l < nl; l++) energy = add(T, energy, lvlE[l]);
  Dv le = lg(T, energy), lc = lg(T, cycles);
  out->energy_pj = energy.v;
  out->cycles = cycles.v;
  out->log_energy = le.v;
  out->log_cycles = lc.v;
  out->penalty = pen.v;
  out->nodes = T->n;
  T->out_le = le.i, T->out_lc = lc.i, T->out_pen = pen.i;
  return T->full ? COST_EUNSUPPORTED : COST_OK;
}

void dcost_grad(DcostTape *T, const DcostSeed *seed, RelaxedMapping *g) {
  memset(g, 0, sizeof *g);
  memset(T->adj, 0, sizeof *T->adj * (size_t)T->n);
#define SEED(slot, w) \
  if ((slot) >= 0) T->adj[slot] += (w)
  SEED(T->out_le, seed->log_energy);
  SEED(T->out_lc, seed->log_cycles);
  SEED(T->out_pen, seed->penalty);
  for (int l = 0; l < ACCEL_MAX_LEVELS; l++) {
    if (seed->log_words[l] != 0) SEED(T->out_w[l], seed->log_words[l]);
    for (int x = 0; x < ACCEL_MAX_AXES; x++)
      if (seed->log_spatial[l][x] != 0) SEED(T->out_s[l][x], seed->log_spatial[l][x]);
  }
#undef SEED
  for (int k = T->n - 1; k >= 0; k--) {
    double a = T->adj[k];
    if (a == 0) continue;
    if (T->pa[k] >= 0) T->adj[T->pa[k]] += a * T->ga[k];
    if (T->pb[k] >= 0) T->adj[T->pb[k]] += a * T->gb[k];
  }
  for (int l = 0; l < ACCEL_MAX_LEVELS; l++)
    for (int d = 0; d < NDIMS; d++) {
      if (T->lt[l][d] >= 0) g->t[l][d] = T->adj[T->lt[l][d]];
      if (T->lo[l][d] >= 0) g->order[l][d] = T->adj[T->lo[l][d]];
      for (int x = 0; x < ACCEL_MAX_AXES; x++)
        if (T->ls[l][x][d] >= 0) g->s[l][x][d] = T->adj[T->ls[l][x][d]];
    }
  for (int l = 0; l < ACCEL_MAX_LEVELS; l++)
    for (int t = 0; t < NTENSORS; t++)
      if (T->lk[l][t] >= 0) g->keep[l][t] = T->adj[T->lk[l][t]];
}
