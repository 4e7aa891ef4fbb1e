/*
 * count.c: the accesses of a mapped mac layer, per storage level and
 * tensor, counted by replaying the layer's tile movement with the rules the
 * cost model takes from Timeloop (docs/cost-model.md sections 3-5):
 *
 *   - fills: one instance of each level is followed through the temporal
 *     loops outside it (remainders included), at Timeloop's evaluation
 *     points (iteration 0, then 1 standing for the other n-1; in run-last
 *     mode 0, 1, n-2, n-1), or with `exact` through every iteration; each
 *     time its tile of a tensor moves, the words it receives are |new \ old| under
 *     Timeloop's rules: equal boxes give 0, boxes that overlap and differ
 *     along one axis give the new slice, anything else the whole tile, and a
 *     move whose translation differs from the last remembered one refetches
 *     the whole tile (and forgets it);
 *   - multicast and spatial reduction: the children of one instance whose
 *     tiles are equal share one parent access (their boxes are enumerated
 *     and the distinct ones counted);
 *   - reads/fills/updates per kept level from those, with bypassed levels
 *     passing their children's requests up, outputs without first reads.
 *
 * The MACs are the ones the compute tiles performed (RtLayerCounts.macs).
 * Nothing here calls the cost model; tests/runtime compares the two.  The
 * evaluation points matter only where a move's translation depends on the
 * iteration an inner loop is reset from: a Q step that cancels an S reset
 * exactly (translation 0, a refetch under the translation rule) when the
 * inner loop really ends at n-1 is a one-column slide when it ends at 1,
 * as Timeloop samples it (docs/runtime.md, "Counting").  A layer of a
 * fused group, or a tile layer of a depth-first one, then has its resident
 * tensors' counts moved to its home level and its copies added as the cost
 * model's schedule counts them (reside_counts).
 */
#include <stdlib.h>
#include <string.h>

#include "runtime/internal.h"

#define NAX 5

typedef struct {
  int64_t lo[NAX], hi[NAX];
} CBox;

static const uint8_t axes_of[NTENSORS][NAX] = {
    {DIM_G, DIM_K, DIM_C, DIM_R, DIM_S},
    {DIM_G, DIM_N, DIM_C, DIM_P, DIM_Q},
    {DIM_G, DIM_N, DIM_K, DIM_P, DIM_Q},
};

static void cbox(const Problem *p, int t, const int64_t lo[NDIMS], const int64_t ext[NDIMS],
                 CBox *b) {
  for (int x = 0; x < NAX; x++) {
    int dd = axes_of[t][x];
    b->lo[x] = lo[dd], b->hi[x] = lo[dd] + ext[dd];
  }
  if (t == TENSOR_I)
    for (int x = 0; x < 2; x++) {
      int pd = x ? DIM_Q : DIM_P, rd = x ? DIM_S : DIM_R;
      b->lo[3 + x] = lo[pd] * p->stride[x] + lo[rd] * p->dilation[x];
      b->hi[3 + x] =
          (lo[pd] + ext[pd] - 1) * p->stride[x] + (lo[rd] + ext[rd] - 1) * p->dilation[x] + 1;
    }
}

static int64_t csize(const CBox *b) {
  int64_t s = 1;
  for (int x = 0; x < NAX; x++) s *= b->hi[x] - b->lo[x];
  return s;
}

/* Words of new box A not in old box B, as Timeloop's AAHR subtraction. */
static int64_t csub(const CBox *A, const CBox *B) {
  int64_t sa = csize(A);
  int nd = 0, ax = -1;
  for (int x = 0; x < NAX; x++) {
    if (B->hi[x] <= A->lo[x] || B->lo[x] >= A->hi[x]) return sa;
    if (A->lo[x] != B->lo[x] || A->hi[x] != B->hi[x]) nd++, ax = x;
  }
  if (nd == 0) return 0;
  if (nd > 1) return sa;
  int64_t a0 = A->lo[ax], a1 = A->hi[ax], b0 = B->lo[ax], b1 = B->hi[ax], other = sa / (a1 - a0);
  if (b0 <= a0) return b1 <= a1 ? other * (a1 - b1) : 0;
  if (b1 < a1) return sa;
  return other * (b0 - a0);
}

typedef struct {
  const Problem *p;
  const RtLayer *L;
  int t, m;
  const RtLoop *loop[RT_MAX_LOOPS];
  const int64_t *full, *resid;
  CBox prev;
  int64_t tr[NAX];
  bool have_prev, have_tr;
  bool sampled;   /* Timeloop's evaluation points instead of every iteration */
  bool imperfect; /* some loop of the layer has a remainder (run-last mode) */
  int quirk;      /* the loop right outside the tile, if temporal, else -1 */
  int64_t d1;
  int64_t words;
  int64_t visits; /* leaves visited; the walk gives up past RT_COUNT_BUDGET */
} Mover;

#define RT_COUNT_BUDGET (INT64_C(1) << 31)

/* The tile arrives at box b: the words it receives (and the state). */
static int64_t arrive(Mover *mv, const CBox *b) {
  mv->visits++;
  if (!mv->have_prev) {
    mv->prev = *b, mv->have_prev = true;
    return csize(b);
  }
  int64_t t[NAX], w;
  for (int x = 0; x < NAX; x++) t[x] = b->lo[x] - mv->prev.lo[x];
  if (!mv->have_tr) {
    memcpy(mv->tr, t, sizeof t), mv->have_tr = true;
    w = csub(b, &mv->prev);
  } else if (memcmp(t, mv->tr, sizeof t) == 0) {
    w = csub(b, &mv->prev);
  } else {
    mv->have_tr = false;
    w = csize(b);
  }
  mv->prev = *b;
  return w;
}

/* The iterations of a loop of n visited, with the iterations each stands
 * for: all of them, or Timeloop's evaluation points (nest-analysis.cpp):
 * 0, then 1 for the n-1 others; in run-last mode 0, 1 (for n-3), n-2, n-1. */
static int points(const Mover *mv, int64_t n, int64_t idx[4], int64_t wt[4]) {
  idx[0] = 0, wt[0] = 1;
  if (n < 2) return 1;
  if (!mv->sampled) return 0; /* every iteration */
  if (!mv->imperfect) {
    idx[1] = 1, wt[1] = n - 1;
    return 2;
  }
  if (n <= 3) {
    for (int k = 1; k < n; k++) idx[k] = k, wt[k] = 1;
    return (int)n;
  }
  idx[1] = 1, wt[1] = n - 3, idx[2] = n - 2, wt[2] = 1, idx[3] = n - 1, wt[3] = 1;
  return 4;
}

static void leaf_box(const Mover *mv, const int64_t lo[NDIMS], uint8_t last, CBox *b) {
  int64_t ext[NDIMS];
  for (int dd = 0; dd < NDIMS; dd++) ext[dd] = (last >> dd & 1) ? mv->resid[dd] : mv->full[dd];
  cbox(mv->p, mv->t, lo, ext, b);
}

static void move_walk(Mover *mv, int j, int64_t lo[NDIMS], uint8_t last, int64_t mult) {
  if (mv->visits > RT_COUNT_BUDGET) return;
  if (j == mv->m) {
    CBox b;
    leaf_box(mv, lo, last, &b);
    mv->words += mult * arrive(mv, &b);
    return;
  }
  const RtLoop *lp = mv->loop[j];
  int dd = lp->dim;
  bool is_last = last >> dd & 1;
  int64_t n = is_last ? lp->r : lp->f, o0 = lo[dd], idx[4], wt[4];
  int np = points(mv, n, idx, wt);
  int64_t count = np ? np : n;
  for (int64_t k = 0; k < count; k++) {
    int64_t i = np ? idx[k] : k, w = np ? wt[k] : 1;
    lo[dd] = o0 + i * lp->stride;
    uint8_t l2 = (is_last && i == n - 1) ? last : (uint8_t)(last & ~(1u << dd));
    if (j == mv->quirk && np == 4 && j + 1 == mv->m) {
      /* Timeloop's loop right outside the tile reuses iteration 1's delta
       * for iteration n-2 (it evaluates n-2 only to track the state). */
      CBox b;
      leaf_box(mv, lo, l2, &b);
      int64_t delta = arrive(mv, &b);
      if (k == 1) mv->d1 = delta;
      if (k == 2) delta = mv->d1;
      mv->words += mult * w * delta;
    } else {
      move_walk(mv, j + 1, lo, l2, mult * w);
    }
  }
  lo[dd] = o0;
}

/* Words one instance of level l receives of tensor t over the layer; -1 if
 * the walk is too long. */
static int64_t fills_of(const Problem *p, const RtLayer *L, int l, int t, bool sampled,
                        int64_t full[ACCEL_MAX_LEVELS + 1][NDIMS],
                        int64_t resid[ACCEL_MAX_LEVELS + 1][NDIMS]) {
  Mover mv;
  memset(&mv, 0, sizeof mv);
  mv.p = p, mv.L = L, mv.t = t, mv.full = full[l], mv.resid = resid[l], mv.sampled = sampled;
  mv.quirk = -1;
  int lastk = -1;
  for (int k = 0; k < L->nloops; k++) {
    mv.imperfect |= L->loop[k].r != L->loop[k].f;
    if (L->loop[k].level >= l) continue;
    lastk = k;
    if (!L->loop[k].axis) mv.loop[mv.m++] = &L->loop[k];
  }
  if (lastk >= 0 && L->loop[lastk].level == l - 1 && !L->loop[lastk].axis) mv.quirk = mv.m - 1;
  int64_t lo[NDIMS] = {0};
  move_walk(&mv, 0, lo, ACCEL_ALL_DIMS, 1);
  return mv.visits > RT_COUNT_BUDGET ? -1 : mv.words;
}

static int cmp_box(const void *a, const void *b) { return memcmp(a, b, sizeof(int64_t) * NAX); }

/* Distinct tiles of t among the children of one instance of level l. */
static int64_t groups_of(const Problem *p, const RtLayer *L, int l, int t, const int64_t *child) {
  const RtLoop *sp[RT_MAX_LOOPS];
  int ns = 0;
  int64_t kids = 1;
  for (int k = 0; k < L->nloops; k++)
    if (L->loop[k].level == l && L->loop[k].axis) sp[ns++] = &L->loop[k], kids *= L->loop[k].f;
  if (kids == 1) return 1;
  int64_t(*lo)[NAX] = xmalloc(sizeof(int64_t) * NAX * (size_t)kids);
  if (!lo) return kids;
  int64_t idx[RT_MAX_LOOPS] = {0};
  for (int64_t c = 0; c < kids; c++) {
    int64_t o[NDIMS] = {0};
    for (int k = 0; k < ns; k++) o[sp[k]->dim] += idx[k] * sp[k]->stride;
    CBox b;
    cbox(p, t, o, child, &b);
    memcpy(lo[c], b.lo, sizeof b.lo);
    for (int k = ns - 1; k >= 0; k--) {
      if (++idx[k] < sp[k]->f) break;
      idx[k] = 0;
    }
  }
  qsort(lo, (size_t)kids, sizeof lo[0], cmp_box);
  int64_t g = 1;
  for (int64_t c = 1; c < kids; c++) g += memcmp(lo[c], lo[c - 1], sizeof lo[0]) != 0;
  xfree(lo);
  return g;
}

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

/* A layer of a fused group (CMD_RESIDE) or a tile layer of a depth-first
 * one (CMD_TILE), by the cost model's residency rules (docs/cost-model.md,
 * "Whole-network schedules", counting steps 1 to 4): a resident tensor
 * (I, O, and with CMD_RES_W the weights) loses its accesses above its home
 * level h (DRAM among them); at h its fills vanish if h keeps it, else h
 * serves what DRAM served.  Then the copies: an output read after a layer
 * group is copied out once, h reads and DRAM updates of every word; a tile
 * layer's copies are its CMD_TILE's (copy-in: DRAM reads, h fills of I;
 * copy-out: h reads, DRAM updates of O; weights: DRAM reads, h fills of
 * W).  The loader guarantees one instance at h and at DRAM and no level
 * between them keeping a resident tensor. */
static void reside_counts(const RtLayer *L, RtLayerCounts *c) {
  int h = L->home;
  for (int t = 0; t < NTENSORS; t++) {
    bool res = (t == TENSOR_I && (L->res & CMD_RES_I)) || (t == TENSOR_O && (L->res & CMD_RES_O)) ||
               (t == TENSOR_W && (L->res & CMD_RES_W));
    if (!res) continue;
    AccessCounts k = (L->keep[h] >> t & 1) ? c->total[h][t] : c->total[0][t];
    k.fills = 0;
    for (int l = 0; l < h; l++) memset(&c->total[l][t], 0, sizeof c->total[l][t]);
    c->total[h][t] = k;
  }
  if (L->res & CMD_RES_COPY_OUT) {
    const Problem *p = &L->prob;
    int64_t words = p->dim[DIM_G] * p->dim[DIM_N] * p->dim[DIM_K] * p->dim[DIM_P] * p->dim[DIM_Q];
    c->total[h][TENSOR_O].reads += words;
    c->total[0][TENSOR_O].updates += words;
  }
  if (L->dft) {
    c->total[0][TENSOR_I].reads += L->copy_in;
    c->total[h][TENSOR_I].fills += L->copy_in;
    c->total[h][TENSOR_O].reads += L->copy_out;
    c->total[0][TENSOR_O].updates += L->copy_out;
    c->total[0][TENSOR_W].reads += L->copy_w;
    c->total[h][TENSOR_W].fills += L->copy_w;
  }
}

void rt_count_layer(const RtProgram *prog, RtLayer *L, bool exact) {
  const Arch *a = &prog->arch;
  const Problem *p = &L->prob;
  int nl = a->nlevels;
  RtLayerCounts *c = &L->counts;
  memset(c->total, 0, sizeof c->total);
  c->counted = false;
  c->nlevels = nl;
  int64_t full[ACCEL_MAX_LEVELS + 1][NDIMS], resid[ACCEL_MAX_LEVELS + 1][NDIMS];
  rt_loop_extents(L, nl, full, resid);
  int64_t util[ACCEL_MAX_LEVELS + 1], spf[ACCEL_MAX_LEVELS][NDIMS];
  bool fans[ACCEL_MAX_LEVELS] = {false};
  util[0] = 1;
  for (int l = 0; l < nl; l++) {
    util[l + 1] = util[l];
    for (int dd = 0; dd < NDIMS; dd++) spf[l][dd] = 1;
    for (int k = 0; k < L->nloops; k++)
      if (L->loop[k].level == l && L->loop[k].axis) {
        util[l + 1] *= L->loop[k].f, spf[l][L->loop[k].dim] *= L->loop[k].f;
        fans[l] = true;
      }
  }
  int64_t per_pe = c->macs / util[nl];
  for (int t = 0; t < NTENSORS; t++) {
    int64_t part[ACCEL_MAX_LEVELS], D[ACCEL_MAX_LEVELS], A[ACCEL_MAX_LEVELS];
    part[0] = words_of(p, t, resid[0]);
    for (int l = 1; l < nl; l++) {
      if (fans[l - 1]) {
        int64_t sp[NDIMS];
        for (int i = 0; i < NDIMS; i++) sp[i] = full[l][i] * spf[l - 1][i];
        part[l] = part[l - 1] * words_of(p, t, full[l]) / words_of(p, t, sp);
      } else {
        part[l] = part[l - 1];
      }
    }
    D[0] = part[0];
    for (int l = 1; l < nl; l++) {
      D[l] = (L->keep[l] >> t & 1) ? fills_of(p, L, l, t, !exact, full, resid) : 0;
      if (D[l] < 0) return; /* too long to walk: left uncounted */
    }
    for (int l = nl - 1; l >= 0; l--) {
      int64_t kids = 1;
      for (int i = 0; i < NDIMS; i++) kids *= spf[l][i];
      bool alone = t == TENSOR_O ? a->level[l].no_reduction : a->level[l].no_multicast;
      int64_t g = alone ? kids : groups_of(p, L, l, t, full[l + 1]);
      int64_t child = l == nl - 1 ? per_pe : (L->keep[l + 1] >> t & 1) ? D[l + 1] : A[l + 1];
      A[l] = g * child;
    }
    for (int l = 0; l < nl; l++) {
      if (!(L->keep[l] >> t & 1)) continue;
      AccessCounts pi;
      if (t == TENSOR_O) {
        pi.updates = A[l];
        pi.reads = A[l] - part[l];
        pi.fills = l == 0 ? 0 : D[l] - part[l];
      } else {
        pi.reads = A[l];
        pi.fills = l == 0 ? 0 : D[l];
        pi.updates = 0;
      }
      c->total[l][t].reads = pi.reads * util[l];
      c->total[l][t].fills = pi.fills * util[l];
      c->total[l][t].updates = pi.updates * util[l];
    }
  }
  if (L->res || L->dft) reside_counts(L, c);
  c->counted = true;
  c->exact = exact;
}
