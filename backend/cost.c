/*
 * cost.c: the analytical cost model.  From a Problem, an Arch and a Mapping
 * it derives, per storage level and tensor, the reads, fills and updates of
 * Timeloop v3.0.3's "legacy" model count for count, then energy, cycles,
 * utilization and EDP.  docs/cost-model.md has the equations and where each
 * comes from in Timeloop; the section numbers "README x.y" below refer to
 * tests/data/timeloop/README.md.
 *
 * How it works, in four steps:
 *   1. nest_build flattens the mapping into Timeloop's loop nest: per level
 *      its temporal loops (factor > 1) then its spatial loops, outermost
 *      first, with each loop's stride in its dim.  From it come every
 *      level's tile extents, spatial fan-out and utilized instances.
 *   2. D[l][t], the words one instance of level l receives from its parent
 *      over the run: the sum over Timeloop's extrapolated walk of the outer
 *      temporal loops of |tile(now) \ tile(previous)|, with Timeloop's reset
 *      of the previous tile when its translation changes.  Perfect nests:
 *      a closed form (a product of loop bounds, delta_sums_perfect) or, for
 *      sliding input windows, a small dynamic programme over the reset state
 *      (delta_sum_input).  Nests with remainders: the memoised walk
 *      (delta_sum_general), without the reset state when it cannot matter.
 *   3. Spatial multicast: siblings with identical tiles share one parent
 *      access; bypassed levels pass their children's requests up with the
 *      multicast of every fan-out on the way (Timeloop's MaskTiles).
 *   4. reads/fills/updates per kept level (README 4.4), energy (4.5),
 *      cycles (4.6).
 *
 * Invariants: nothing here allocates or keeps state; cost_eval works on
 * its own stack (an EvalState) only, so threads may call it concurrently.
 */
#include <math.h>
#include <string.h>

#include "backend/backend.h"

#define MAX_LOOPS (ACCEL_MAX_LEVELS * (NDIMS + ACCEL_MAX_AXES * NDIMS))
#define MAX_TLOOPS (ACCEL_MAX_LEVELS * NDIMS) /* temporal loops */
#define NAXES_T 5                             /* axes of a tensor's index space */
#define DIM_LIMIT (INT64_C(1) << 31)

static const char *const error_names[COST_NERRORS] = {
    "ok",           "problem", "arch",     "levels",      "factor",    "fanout",
    "connectivity", "keep",    "capacity", "unsupported", "constraint"};

const char *cost_error_name(int err) {
  return (err >= 0 && err < COST_NERRORS) ? error_names[err] : "?";
}

/* ---- the loop nest ------------------------------------------------------ */

typedef struct {
  uint8_t level;   /* storage level owning the loop */
  uint8_t spatial; /* 0 = temporal, 1 = spatial */
  uint8_t dim;
  int64_t f, r;   /* iterations, and iterations when all enclosing same-dim loops are last */
  int64_t stride; /* step in its dim: product of f of the same-dim loops inside */
} Loop;

/* The mapping flattened into Timeloop's loop nest (step 1 above). */
typedef struct {
  int nl; /* storage levels */
  int n;  /* loops, outermost first */
  Loop loop[MAX_LOOPS];
  int first[ACCEL_MAX_LEVELS + 1];     /* first loop of each level; first[nl] = n */
  int first_spatial[ACCEL_MAX_LEVELS]; /* first spatial loop of a level (= first[l+1] if none) */
  bool imperfect;                      /* some loop has r != f (Timeloop's run-last mode) */
  uint8_t ragged;                      /* dims with such a loop */
  bool collapses;                      /* some remainder is 1: a loop can vanish */
  int64_t full[ACCEL_MAX_LEVELS + 1][NDIMS];  /* tile extent of level l; [nl] = one MAC */
  int64_t resid[ACCEL_MAX_LEVELS + 1][NDIMS]; /* same, all enclosing same-dim loops last */
  int64_t spf[ACCEL_MAX_LEVELS][NDIMS];       /* spatial unrolling of level l per dim */
  int64_t util[ACCEL_MAX_LEVELS + 1];         /* utilized instances of level l; [nl] = MACs */
  int64_t tcycles;                            /* product of every temporal f */
} FlatNest;

/* The problem, the arch and the level count.  Reports through d when d is
 * non-NULL (then keeps going, to report everything). */
static int check_problem_arch(const Problem *p, const Arch *a, const Mapping *m, Diag *d) {
  int err = COST_OK;
#define FAIL(code, ...)               \
  do {                                \
    if (!err) err = (code);           \
    if (!d) return err;               \
    diag_error(d, NULL, __VA_ARGS__); \
  } while (0)
  for (int i = 0; i < NDIMS; i++)
    if (p->dim[i] < 1 || p->dim[i] > DIM_LIMIT)
      FAIL(COST_EPROBLEM, "problem '%s': dim %c = %lld is not in 1..2^31", p->name,
           accel_dim_letter(i), (long long)p->dim[i]);
  for (int i = 0; i < 2; i++)
    if (p->stride[i] < 1 || p->dilation[i] < 1 || p->stride[i] > DIM_LIMIT ||
        p->dilation[i] > DIM_LIMIT)
      FAIL(COST_EPROBLEM, "problem '%s': stride and dilation must be in 1..2^31", p->name);
  if (a->nlevels < 1 || a->nlevels > ACCEL_MAX_LEVELS)
    FAIL(COST_EARCH, "arch '%s': %d storage levels, expected 1..%d", a->name, a->nlevels,
         ACCEL_MAX_LEVELS);
  if (err) return err;
  for (int l = 0; l < a->nlevels; l++) {
    const Level *lv = &a->level[l];
    for (int x = 0; x < ACCEL_MAX_AXES; x++)
      if (lv->fanout[x] < 1 || lv->fanout[x] > DIM_LIMIT)
        FAIL(COST_EARCH, "arch '%s': level '%s': fanout on axis %c is %lld, expected 1..2^31",
             a->name, lv->name, "xyz"[x], (long long)lv -> fanout[x]);
    if (lv->block_words < 1)
      FAIL(COST_EARCH, "arch '%s': level '%s': block size must be >= 1 word", a->name, lv->name);
    if (lv->capacity_words < 0 || lv->instances < 1)
      FAIL(COST_EARCH, "arch '%s': level '%s': bad capacity or instance count", a->name, lv->name);
  }
  if (a->mac_instances < 1) FAIL(COST_EARCH, "arch '%s': no MACs", a->name);
  if (m->nlevels != a->nlevels)
    FAIL(COST_ELEVELS, "mapping has %d levels, arch '%s' has %d", m->nlevels, a->name, a->nlevels);
  return err;
}

/* One level's mapping, quickly: the first CostError it breaks, or 0.
 * spatial_mask[x] gets the dims unrolled on axis x. */
static int check_level_fast(const LevelMapping *lm, const Level *lv, bool outermost,
                            uint8_t spatial_mask[ACCEL_MAX_AXES]) {
  unsigned seen = 0, high = 0, bad = 0;
  for (int i = 0; i < NDIMS; i++) {
    seen |= 1u << (lm->order[i] & 7), high |= lm->order[i];
    int64_t f = lm->factor[i], r = lm->remainder[i];
    bad |= (unsigned)(f < 1) | (unsigned)(f > DIM_LIMIT) | (unsigned)(r < 0) | (unsigned)(r > f);
  }
  if (seen != 0xFF || high > 7 || bad) return COST_EFACTOR;
  for (int x = 0; x < ACCEL_MAX_AXES; x++) {
    unsigned nz = 0, low = 0;
    for (int i = 0; i < NDIMS; i++) {
      low |= (unsigned)(lm->spatial[x][i] < 1);
      nz |= (unsigned)(lm->spatial[x][i] != 1) << i;
    }
    spatial_mask[x] = (uint8_t)nz;
    if (low) return COST_EFACTOR;
    if (!nz) continue; /* nothing unrolled: the order is unused */
    int64_t prod = 1, fan = lv->fanout[x];
    seen = 0, high = 0;
    for (int i = 0; i < NDIMS; i++) {
      seen |= 1u << (lm->spatial_order[x][i] & 7), high |= lm->spatial_order[x][i];
      int64_t sv = lm->spatial[x][i];
      if (sv > fan) return COST_EFANOUT;
      prod *= sv;
      if (prod > fan) return COST_EFANOUT;
    }
    if (seen != 0xFF || high > 7) return COST_EFACTOR;
    if (nz & ~(unsigned)lv->connectivity[x]) return COST_ECONNECT;
  }
  if (lm->keep & ~lv->keeps_allowed & ACCEL_ALL_TENSORS) return COST_EKEEP;
  if (lv->keeps_required & ~lm->keep) return COST_EKEEP;
  if (outermost && (lm->keep & ACCEL_ALL_TENSORS) != ACCEL_ALL_TENSORS) return COST_EKEEP;
  return COST_OK;
}

/* The same checks as check_level_fast, each violation reported. */
static int check_level_verbose(const LevelMapping *lm, const Level *lv, bool outermost, Diag *d) {
  int err = COST_OK;
  uint8_t seen = 0;
  for (int i = 0; i < NDIMS; i++) {
    if (lm->order[i] >= NDIMS || (seen >> lm->order[i] & 1))
      FAIL(COST_EFACTOR, "level '%s': temporal order is not a permutation of GNKCPQRS", lv->name);
    else
      seen |= (uint8_t)(1u << lm->order[i]);
    int64_t f = lm->factor[i], r = lm->remainder[i];
    if (f < 1 || f > DIM_LIMIT)
      FAIL(COST_EFACTOR, "level '%s': temporal factor %c = %lld, expected 1..2^31", lv->name,
           accel_dim_letter(i), (long long)f);
    if (r < 0 || r > f)
      FAIL(COST_EFACTOR, "level '%s': remainder %c = %lld is not in 0..%lld", lv->name,
           accel_dim_letter(i), (long long)r, (long long)f);
  }
  for (int x = 0; x < ACCEL_MAX_AXES; x++) {
    uint8_t s = 0;
    double prod = 1;
    for (int i = 0; i < NDIMS; i++) {
      uint8_t dd = lm->spatial_order[x][i];
      if (dd >= NDIMS || (s >> dd & 1))
        FAIL(COST_EFACTOR, "level '%s': spatial order on axis %c is not a permutation", lv->name,
             "xyz"[x]);
      else
        s |= (uint8_t)(1u << dd);
      int64_t sv = lm->spatial[x][i];
      if (sv < 1)
        FAIL(COST_EFACTOR, "level '%s': spatial factor %c on axis %c = %lld, expected >= 1",
             lv->name, accel_dim_letter(i), "xyz"[x], (long long)sv);
      else if (sv > 1 && !(lv->connectivity[x] >> i & 1))
        FAIL(COST_ECONNECT, "level '%s': dim %c may not be unrolled on axis %c", lv->name,
             accel_dim_letter(i), "xyz"[x]);
      if (sv > 1) prod *= (double)sv;
    }
    if (prod > (double)lv->fanout[x])
      FAIL(COST_EFANOUT, "level '%s': %.0f-way unrolling on axis %c exceeds its fanout %lld",
           lv->name, prod, "xyz"[x], (long long)lv -> fanout[x]);
  }
  if (lm->keep & ~lv->keeps_allowed & ACCEL_ALL_TENSORS)
    FAIL(COST_EKEEP, "level '%s' may not keep the tensors it is asked to keep", lv->name);
  if (lv->keeps_required & ~lm->keep)
    FAIL(COST_EKEEP, "level '%s' must keep the tensors its must_keep lists", lv->name);
  if (outermost && (lm->keep & ACCEL_ALL_TENSORS) != ACCEL_ALL_TENSORS)
    FAIL(COST_EKEEP, "the outermost level '%s' must keep W, I and O", lv->name);
  return err;
}

/* Checks what can be checked without tiles and builds the nest.  Reports
 * through d when d is non-NULL. */
static int nest_build(const Problem *p, const Arch *a, const Mapping *m, FlatNest *nest, Diag *d) {
  int err = check_problem_arch(p, a, m, d);
  if (err) return err;
  uint8_t smask[ACCEL_MAX_LEVELS][ACCEL_MAX_AXES];
  for (int l = 0; l < a->nlevels; l++) {
    int e = check_level_fast(&m->level[l], &a->level[l], l == 0, smask[l]);
    if (e && !d) return e;
    if (e) err = err ? err : check_level_verbose(&m->level[l], &a->level[l], l == 0, d);
  }
  if (err) return err;

  /* Loops, outermost first: temporal in order, then spatial z, y, x. */
  nest->nl = a->nlevels;
  nest->n = 0;
  nest->imperfect = false;
  nest->collapses = false;
  nest->ragged = 0;
  for (int l = 0; l < nest->nl; l++) {
    const LevelMapping *lm = &m->level[l];
    nest->first[l] = nest->n;
    for (int i = 0; i < NDIMS; i++) {
      int dd = lm->order[i];
      int64_t f = lm->factor[dd], r = mapping_residual(lm, dd);
      if (f == 1) continue;
      Loop *lp = &nest->loop[nest->n++];
      lp->level = (uint8_t)l, lp->spatial = 0, lp->dim = (uint8_t)dd, lp->f = f, lp->r = r;
      if (r != f) nest->imperfect = true, nest->ragged |= (uint8_t)(1u << dd);
      if (r == 1) nest->collapses = true;
    }
    nest->first_spatial[l] = nest->n;
    for (int x = ACCEL_MAX_AXES - 1; x >= 0; x--) {
      if (!smask[l][x]) continue;
      for (int i = 0; i < NDIMS; i++) {
        int dd = lm->spatial_order[x][i];
        int64_t f = lm->spatial[x][dd];
        if (f == 1) continue;
        Loop *lp = &nest->loop[nest->n++];
        lp->level = (uint8_t)l, lp->spatial = 1, lp->dim = (uint8_t)dd, lp->f = f, lp->r = f;
      }
    }
  }
  nest->first[nest->nl] = nest->n;

  /* Strides and tile extents, innermost first. */
  int64_t scale[NDIMS], res[NDIMS];
  for (int i = 0; i < NDIMS; i++)
    scale[i] = 1, res[i] = 1, nest->full[nest->nl][i] = 1, nest->resid[nest->nl][i] = 1;
  nest->util[0] = 1;
  nest->tcycles = 1;
  uint8_t ragged_inside = 0; /* dims with a remainder loop inside the current one */
  for (int l = nest->nl - 1; l >= 0; l--) {
    for (int i = 0; i < NDIMS; i++) nest->spf[l][i] = 1;
    for (int k = nest->first[l + 1] - 1; k >= nest->first[l]; k--) {
      Loop *lp = &nest->loop[k];
      int dd = lp->dim;
      if (scale[dd] > DIM_LIMIT) { /* keeps scale * f (f <= 2^31) below 2^62 */
        if (!err) err = COST_EFACTOR;
        if (!d) return err;
        diag_error(d, NULL, "the factors of %c multiply to more than 2^31", accel_dim_letter(dd));
        scale[dd] = 1;
      }
      lp->stride = scale[dd];
      res[dd] += scale[dd] * (lp->r - 1);
      scale[dd] *= lp->f;
      if (lp->spatial) {
        nest->spf[l][dd] *= lp->f;
        /* A remainder inside a spatial loop of its dim would give the
         * siblings different work (Timeloop then counts every PE busy,
         * README 5.7); not modelled. */
        if (ragged_inside >> dd & 1) {
          if (!err) err = COST_EUNSUPPORTED;
          if (!d) return err;
          diag_error(d, NULL,
                     "level '%s': a spatial loop over %c encloses a remainder on %c; put the "
                     "remainder on a loop outside every spatial loop over %c",
                     a->level[l].name, accel_dim_letter(dd), accel_dim_letter(dd),
                     accel_dim_letter(dd));
        }
      } else {
        nest->tcycles *= lp->f;
        if (lp->r != lp->f) ragged_inside |= (uint8_t)(1u << dd);
      }
    }
    for (int i = 0; i < NDIMS; i++) nest->full[l][i] = scale[i], nest->resid[l][i] = res[i];
  }
  if (err) return err;
  double padded = 1;
  for (int i = 0; i < NDIMS; i++) {
    if (nest->resid[0][i] != p->dim[i]) {
      if (!err) err = COST_EFACTOR;
      if (!d) return err;
      diag_error(d, NULL, "the factors of %c cover %lld, the problem has %lld", accel_dim_letter(i),
                 (long long)nest->resid[0][i], (long long)p->dim[i]);
    }
    padded *= (double)nest->full[0][i];
  }
  /* Every count below is at most the padded MACs times the input's window
   * spread; keep them well inside int64. */
  padded *= (double)(p->stride[0] * p->dilation[0]) * (double)(p->stride[1] * p->dilation[1]);
  if (!err && padded > 1e18) {
    err = COST_EPROBLEM;
    if (!d) return err;
    diag_error(d, NULL, "problem '%s' is too large to count in 64 bits", p->name);
  }
  if (err) return err;
  for (int l = 0; l < nest->nl; l++) {
    int64_t u = nest->util[l];
    for (int k = nest->first_spatial[l]; k < nest->first[l + 1]; k++) u *= nest->loop[k].f;
    nest->util[l + 1] = u;
  }
  return COST_OK;
}
#undef FAIL

/* ---- tensor-space boxes ------------------------------------------------- */

/* Index-space box of tensor t covering the op-space box [lo, lo+ext):
 * axes W: G K C R S; I: G N C H W; O: G N K P Q.  hi is exclusive.  Input
 * rows are the bounding box of p*stride + r*dilation (README 5.4). */
typedef struct {
  int64_t lo[NAXES_T], hi[NAXES_T];
} Box;

static const uint8_t tensor_axes[NTENSORS][NAXES_T] = {
    {DIM_G, DIM_K, DIM_C, DIM_R, DIM_S},
    {DIM_G, DIM_N, DIM_C, DIM_P, DIM_Q}, /* axes 3, 4 are H and W */
    {DIM_G, DIM_N, DIM_K, DIM_P, DIM_Q},
};

static void box_make(const Problem *p, int t, const int64_t lo[NDIMS], const int64_t ext[NDIMS],
                     Box *b) {
  for (int x = 0; x < NAXES_T; x++) {
    int dd = tensor_axes[t][x];
    b->lo[x] = lo[dd], b->hi[x] = lo[dd] + ext[dd];
  }
  if (t == TENSOR_I) {
    for (int x = 0; x < 2; x++) {
      int pd = x ? DIM_Q : DIM_P, rd = x ? DIM_S : DIM_R;
      b->lo[3 + x] = lo[pd] * p->stride[x] + lo[rd] * p->dilation[x];
      b->hi[3 + x] =
          (lo[pd] + ext[pd] - 1) * p->stride[x] + (lo[rd] + ext[rd] - 1) * p->dilation[x] + 1;
    }
  }
}

static int64_t box_size(const Box *b) {
  int64_t s = 1;
  for (int x = 0; x < NAXES_T; x++) s *= b->hi[x] - b->lo[x];
  return s;
}

/* Words of tensor t in a tile with op-space extents ext. */
static int64_t tile_words(const Problem *p, int t, const int64_t ext[NDIMS]) {
  switch (t) {
  case TENSOR_W: return ext[DIM_G] * ext[DIM_K] * ext[DIM_C] * ext[DIM_R] * ext[DIM_S];
  case TENSOR_O: return ext[DIM_G] * ext[DIM_N] * ext[DIM_K] * ext[DIM_P] * ext[DIM_Q];
  default:
    return ext[DIM_G] * ext[DIM_N] * ext[DIM_C] *
           ((ext[DIM_P] - 1) * p->stride[0] + (ext[DIM_R] - 1) * p->dilation[0] + 1) *
           ((ext[DIM_Q] - 1) * p->stride[1] + (ext[DIM_S] - 1) * p->dilation[1] + 1);
  }
}

/* |A \ B| as Timeloop's AAHR Subtract computes it (point-set-aahr.cpp):
 * empty if equal or A inside B along the one differing axis; the slice
 * if A and B overlap and differ along exactly one axis; else all of A. */
static int64_t aahr_sub(const Box *A, const Box *B) {
  int64_t sa = box_size(A);
  if (sa == 0 || box_size(B) == 0) return sa;
  int ndiff = 0, ax = -1;
  for (int x = 0; x < NAXES_T; x++) {
    if (B->hi[x] <= A->lo[x] || B->lo[x] >= A->hi[x]) return sa; /* disjoint */
    if (A->lo[x] != B->lo[x] || A->hi[x] != B->hi[x]) ndiff++, ax = x;
  }
  if (ndiff == 0) return 0;
  if (ndiff > 1) return sa;
  int64_t a0 = A->lo[ax], a1 = A->hi[ax], b0 = B->lo[ax], b1 = B->hi[ax];
  int64_t other = sa / (a1 - a0);
  if (b0 <= a0) return b1 <= a1 ? other * (a1 - b1) : 0;
  if (b1 < a1) return sa; /* B strictly inside A: Timeloop asserts; count all of A */
  return other * (b0 - a0);
}

/* ---- delta sums: the general walk --------------------------------------- */

/* The state Timeloop keeps per tile between two evaluations
 * (OperationSpace::SaveAndSubtractIfSameStride): the translation of the
 * last accepted move, or none.  A move whose translation differs from it
 * refetches the whole tile and clears it. */
typedef struct {
  int64_t v[NAXES_T];
  bool none;
} Trans;

#define MEMO_SLOTS 1024
#define INTERN_MAX 512       /* < MEMO_DISJOINT */
#define MEMO_DISJOINT 0xFFFF /* tid of walk_rest_disjoint entries */
#define WALK_BUDGET 2000000  /* node visits per walk before giving up (COST_EUNSUPPORTED) */
#define CACHE_J 32           /* corner-box cache: loops */
#define CACHE_MASKS 4        /* corner-box cache: lastness of up to two ragged dims */

typedef struct {
  uint32_t gen;
  int16_t j;
  uint8_t lmask;
  uint16_t tid, out_tid;
  int64_t cost;
} MemoSlot;

typedef struct {
  uint32_t gen;
  int ntrans;
  Trans trans[INTERN_MAX]; /* interned translations; id 0 = none */
  MemoSlot slot[MEMO_SLOTS];
  Box corner[2][CACHE_J + 1][CACHE_MASKS]; /* [last][j][lastness] sub-walk corner boxes */
  bool corner_ok[2][CACHE_J + 1][CACHE_MASKS];
} Workspace;

typedef struct {
  const Problem *p;
  const FlatNest *nest;
  int t;
  int m;                        /* outer temporal loops */
  const Loop *loop[MAX_TLOOPS]; /* outermost first */
  int quirk;                    /* index of the loop right outside the child, or -1 */
  const int64_t *full, *resid;  /* child tile extents */
  Workspace *ws;
  bool overflow; /* intern table full: results stay exact, only slower */
  long visits;   /* node visits, bounded by WALK_BUDGET */
  bool aborted;  /* the budget ran out */
  bool cache;    /* corner boxes cached (<= 2 ragged dims, <= CACHE_J loops) */
  uint8_t rdim[2];
  int64_t coef[NDIMS][NAXES_T]; /* tensor-space move of a unit op-space step */
} Walk;

/* Id of a translation in the intern table (0 = none), or -1 when full. */
static int trans_id(Walk *w, const Trans *tr) {
  if (tr->none) return 0;
  Workspace *ws = w->ws;
  for (int i = 1; i < ws->ntrans; i++)
    if (memcmp(ws->trans[i].v, tr->v, sizeof tr->v) == 0) return i;
  if (ws->ntrans >= INTERN_MAX) return -1;
  ws->trans[ws->ntrans] = *tr;
  return ws->ntrans++;
}

/* Child tile extents when the lastness of the ragged dims is lmask. */
static void walk_extents(const Walk *w, uint8_t lmask, int64_t ext[NDIMS]) {
  for (int i = 0; i < NDIMS; i++) ext[i] = (lmask >> i & 1) ? w->resid[i] : w->full[i];
}

static int mask_index(const Walk *w, uint8_t lmask) {
  return (lmask >> w->rdim[0] & 1) | (lmask >> w->rdim[1] & 1) << 1;
}

/* Offsets and lastness of the first (all loops j.. at 0) or last evaluated
 * point of the sub-walk from loop j, relative to its origin. */
static uint8_t walk_corner(const Walk *w, int j, uint8_t lmask, bool last, int64_t lo[NDIMS]) {
  for (int i = 0; i < NDIMS; i++) lo[i] = 0;
  for (int k = j; k < w->m; k++) {
    const Loop *lp = w->loop[k];
    int dd = lp->dim;
    bool is_last = lmask >> dd & 1;
    int64_t n = is_last ? lp->r : lp->f, idx = 0;
    if (last) idx = w->nest->imperfect ? n - 1 : (n >= 2 ? 1 : 0);
    lo[dd] += idx * lp->stride;
    if (!(is_last && idx >= lp->r - 1)) lmask &= (uint8_t) ~(1u << dd);
  }
  return lmask;
}

static void walk_box(const Walk *w, int j, uint8_t lmask, bool last, int64_t shift_dim,
                     int64_t shift, Box *b) {
  Box *cached = NULL;
  if (w->cache) {
    int ci = mask_index(w, lmask);
    cached = &w->ws->corner[last][j][ci];
    if (w->ws->corner_ok[last][j][ci]) {
      *b = *cached;
      goto shift;
    }
  }
  int64_t lo[NDIMS], ext[NDIMS];
  uint8_t leaf = walk_corner(w, j, lmask, last, lo);
  walk_extents(w, leaf, ext);
  box_make(w->p, w->t, lo, ext, b);
  if (cached) {
    *cached = *b;
    w->ws->corner_ok[last][j][mask_index(w, lmask)] = true;
  }
shift:
  if (shift_dim >= 0)
    for (int x = 0; x < NAXES_T; x++) {
      int64_t mv = w->coef[shift_dim][x] * shift;
      b->lo[x] += mv, b->hi[x] += mv;
    }
}

/* Timeloop's delta of moving the tile from B to A given the state *tr. */
static int64_t step_delta(const Box *A, const Box *B, Trans *tr) {
  Trans t;
  t.none = false;
  for (int x = 0; x < NAXES_T; x++) t.v[x] = A->lo[x] - B->lo[x];
  if (tr->none) {
    *tr = t;
    return aahr_sub(A, B);
  }
  if (memcmp(t.v, tr->v, sizeof t.v) == 0) return aahr_sub(A, B);
  tr->none = true;
  return box_size(A);
}

/* Evaluation points of a loop of n iterations in Timeloop's extrapolated
 * walk (nest-analysis.cpp, ComputeTemporalWorkingSet): iteration 0, then
 * iteration 1 standing for the n-1 others; in run-last mode (any remainder
 * in the nest) iterations 0, 1 (for n-3), n-2 and n-1. */
typedef struct {
  int n;
  int64_t idx[4], weight[4];
} Points;

static void eval_points(int64_t n, bool imperfect, Points *pt) {
  pt->n = 1, pt->idx[0] = 0, pt->weight[0] = 1;
  if (n < 2) return;
  if (!imperfect) {
    pt->n = 2, pt->idx[1] = 1, pt->weight[1] = n - 1;
  } else if (n == 2) {
    pt->n = 2, pt->idx[1] = 1, pt->weight[1] = 1;
  } else if (n == 3) {
    pt->n = 3, pt->idx[1] = 1, pt->weight[1] = 1, pt->idx[2] = 2, pt->weight[2] = 1;
  } else {
    pt->n = 4;
    pt->idx[1] = 1, pt->weight[1] = n - 3;
    pt->idx[2] = n - 2, pt->weight[2] = 1;
    pt->idx[3] = n - 1, pt->weight[3] = 1;
  }
}

/* Words fetched by the sub-walk from loop j, its first point excluded,
 * entered with lastness lmask and state *tr (updated to the exit state). */
static int64_t walk_rest(Walk *w, int j, uint8_t lmask, Trans *tr) {
  if (j == w->m || w->aborted) return 0;
  if (++w->visits > WALK_BUDGET) {
    w->aborted = true;
    return 0;
  }
  lmask &= w->nest->ragged;
  int tid = w->overflow ? -1 : trans_id(w, tr);
  uint32_t h = 0;
  MemoSlot *slot = NULL;
  if (tid >= 0) {
    h = ((uint32_t)j * 2654435761u) ^ ((uint32_t)lmask * 40503u) ^ ((uint32_t)tid * 97u);
    for (int probe = 0; probe < 16; probe++) {
      MemoSlot *s = &w->ws->slot[(h + (uint32_t)probe) % MEMO_SLOTS];
      if (s->gen != w->ws->gen) {
        slot = s;
        break;
      }
      if (s->j == j && s->lmask == lmask && s->tid == tid) {
        if (s->out_tid == 0)
          tr->none = true;
        else
          *tr = w->ws->trans[s->out_tid];
        return s->cost;
      }
    }
  }

  const Loop *lp = w->loop[j];
  int dd = lp->dim;
  bool is_last = lmask >> dd & 1;
  int64_t n = is_last ? lp->r : lp->f;
  Points pt;
  eval_points(n, w->nest->imperfect, &pt);
  int64_t total = 0, d1 = 0, prev_idx = 0;
  uint8_t prev_l = 0;
  for (int k = 0; k < pt.n; k++) {
    int64_t idx = pt.idx[k];
    uint8_t lk = (is_last && idx >= lp->r - 1) ? lmask : (uint8_t)(lmask & ~(1u << dd));
    if (k == 0) {
      total += walk_rest(w, j + 1, lk, tr);
    } else {
      Box A, B;
      walk_box(w, j + 1, prev_l, true, dd, prev_idx * lp->stride, &B);
      walk_box(w, j + 1, lk, false, dd, idx * lp->stride, &A);
      int64_t delta = step_delta(&A, &B, tr);
      if (k == 1) d1 = delta;
      /* The loop right outside the child reuses iteration 1's delta for
       * iteration n-2 (the one it runs only to track the state). */
      if (j == w->quirk && pt.n == 4 && k == 2) delta = d1;
      total += pt.weight[k] * (delta + walk_rest(w, j + 1, lk, tr));
    }
    prev_idx = idx, prev_l = lk;
  }

  if (slot) { /* (a full probe sequence just goes unmemoised) */
    int out = trans_id(w, tr);
    if (out >= 0) {
      slot->gen = w->ws->gen, slot->j = (int16_t)j, slot->lmask = lmask;
      slot->tid = (uint16_t)tid, slot->out_tid = (uint16_t)out, slot->cost = total;
    } else {
      w->overflow = true;
    }
  }
  return total;
}

/* walk_rest when no remainder is 1 and every move either refetches the
 * whole new tile or leaves it still: always true of W and O, whose tiles move
 * by at least their extent (mixed radix); checked move by move for inputs
 * (*ok cleared, the caller then takes walk_rest).  As every loop keeps >= 2
 * iterations the innermost moving loop is the same in every context, so the
 * reset state never turns a still tile into a refetch (checked against
 * walk_rest by tests/costmodel), and the walk is a function of (loop,
 * lastness) only. */
static int64_t walk_rest_disjoint(Walk *w, int j, uint8_t lmask, bool *ok) {
  if (j == w->m || !*ok || w->aborted) return 0;
  if (++w->visits > WALK_BUDGET) {
    w->aborted = true;
    return 0;
  }
  lmask &= w->nest->ragged;
  uint32_t h = ((uint32_t)j * 2654435761u) ^ ((uint32_t)lmask * 40503u) ^ 0x9e37u;
  MemoSlot *slot = NULL;
  for (int probe = 0; probe < 16; probe++) {
    MemoSlot *sl = &w->ws->slot[(h + (uint32_t)probe) % MEMO_SLOTS];
    if (sl->gen != w->ws->gen) {
      slot = sl;
      break;
    }
    if (sl->j == j && sl->lmask == lmask && sl->tid == MEMO_DISJOINT) return sl->cost;
  }
  const Loop *lp = w->loop[j];
  int dd = lp->dim;
  bool is_last = lmask >> dd & 1;
  Points pt;
  eval_points(is_last ? lp->r : lp->f, w->nest->imperfect, &pt);
  int64_t total = 0, d1 = 0, prev_idx = 0;
  uint8_t prev_l = 0;
  for (int k = 0; k < pt.n; k++) {
    int64_t idx = pt.idx[k];
    uint8_t lk = (is_last && idx >= lp->r - 1) ? lmask : (uint8_t)(lmask & ~(1u << dd));
    if (k > 0) {
      Box A, B;
      walk_box(w, j + 1, prev_l, true, dd, prev_idx * lp->stride, &B);
      walk_box(w, j + 1, lk, false, dd, idx * lp->stride, &A);
      int64_t delta = memcmp(A.lo, B.lo, sizeof A.lo) ? box_size(&A) : 0;
      /* Inputs may overlap their predecessor (or, with remainders, change
       * shape in place): then the translation state matters. */
      if (w->t == TENSOR_I && aahr_sub(&A, &B) != delta) {
        *ok = false;
        return 0;
      }
      if (k == 1) d1 = delta;
      if (j == w->quirk && pt.n == 4 && k == 2) delta = d1;
      total += pt.weight[k] * (delta + walk_rest_disjoint(w, j + 1, lk, ok));
    } else {
      total += walk_rest_disjoint(w, j + 1, lk, ok);
    }
    if (!*ok) return 0;
    prev_idx = idx, prev_l = lk;
  }
  if (slot) {
    slot->gen = w->ws->gen, slot->j = (int16_t)j, slot->lmask = lmask;
    slot->tid = MEMO_DISJOINT, slot->out_tid = 0, slot->cost = total;
  }
  return total;
}

/* The outer temporal loops of child level c, outermost first. */
static void walk_init(Walk *w, const Problem *p, const FlatNest *nest, int c, int t) {
  w->p = p, w->nest = nest, w->t = t, w->m = 0, w->quirk = -1, w->overflow = false;
  w->visits = 0, w->aborted = false;
  w->full = nest->full[c], w->resid = nest->resid[c];
  for (int k = 0; k < nest->first[c]; k++)
    if (!nest->loop[k].spatial) w->loop[w->m++] = &nest->loop[k];
  /* Timeloop's loop right outside the child's outermost loop: the last loop
   * of level c-1, if temporal (a spatial one breaks the pattern). */
  int last = nest->first[c] - 1;
  if (c > 0 && last >= nest->first[c - 1] && !nest->loop[last].spatial) w->quirk = w->m - 1;
}

/* D by the general walk, or -1 if it needs more than WALK_BUDGET steps. */
static int64_t delta_sum_general(const Problem *p, const FlatNest *nest, int c, int t,
                                 Workspace *ws, bool full_walk) {
  Walk w;
  walk_init(&w, p, nest, c, t);
  w.ws = ws;
  ws->gen++;
  ws->ntrans = 1;
  int nr = 0;
  w.rdim[0] = w.rdim[1] = 0;
  for (int i = 0; i < NDIMS; i++)
    if (nest->ragged >> i & 1) {
      if (nr < 2) w.rdim[nr] = (uint8_t)i;
      nr++;
    }
  if (nr == 1) w.rdim[1] = w.rdim[0];
  w.cache = nr <= 2 && w.m <= CACHE_J;
  if (w.cache) memset(ws->corner_ok, 0, sizeof ws->corner_ok);
  memset(w.coef, 0, sizeof w.coef);
  for (int x = 0; x < NAXES_T; x++) w.coef[tensor_axes[t][x]][x] = 1;
  if (t == TENSOR_I) {
    w.coef[DIM_P][3] = p->stride[0], w.coef[DIM_R][3] = p->dilation[0];
    w.coef[DIM_Q][4] = p->stride[1], w.coef[DIM_S][4] = p->dilation[1];
  }
  Box b;
  uint8_t all = nest->ragged;
  walk_box(&w, 0, all, false, -1, 0, &b);
  if (!full_walk && !nest->collapses) {
    /* Inputs qualify unless a P move can cancel an R reset (or Q and S):
     * that needs loops over both outside the tile. */
    bool ok = true;
    if (t == TENSOR_I) {
      unsigned dims = 0;
      for (int k = 0; k < w.m; k++) dims |= 1u << w.loop[k]->dim;
      if ((dims >> DIM_P & dims >> DIM_R & 1) || (dims >> DIM_Q & dims >> DIM_S & 1)) ok = false;
    }
    if (ok) {
      int64_t sum = walk_rest_disjoint(&w, 0, all, &ok);
      if (w.aborted) return -1;
      if (ok) return box_size(&b) + sum;
      ws->gen++; /* drop the partial memo entries of the abandoned walk */
    }
  }
  Trans tr = {{0}, true};
  int64_t sum = walk_rest(&w, 0, all, &tr);
  return w.aborted ? -1 : box_size(&b) + sum;
}

/* ---- delta sums: perfect nests ------------------------------------------ */

/* In a perfect nest every move of loop j has the same translation t_j (the
 * step of j minus the reset of every inner loop from index 1 to 0), so
 * the walk is a function of j and the reset state only. */
typedef struct {
  int m;
  int64_t f[MAX_TLOOPS];
  int64_t delta[MAX_TLOOPS]; /* |A \ B| for the move of loop j */
  int cid[MAX_TLOOPS];       /* the first loop with the same translation */
  int64_t full;              /* tile words */
} Perfect;

typedef struct {
  int64_t cost[MAX_TLOOPS][MAX_TLOOPS + 1];
  int8_t out[MAX_TLOOPS][MAX_TLOOPS + 1]; /* exit state + 1; 0 = not computed */
} PerfectMemo;

/* State s: 0 = no translation; s > 0: the translation of loop s-1. */
static int64_t perfect_rest(const Perfect *pf, PerfectMemo *mm, int j, int *s) {
  if (j == pf->m) return 0;
  if (mm->out[j][*s]) {
    int64_t c = mm->cost[j][*s];
    *s = mm->out[j][*s] - 1;
    return c;
  }
  int s_in = *s;
  int64_t c0 = perfect_rest(pf, mm, j + 1, s), delta;
  if (*s == 0) {
    delta = pf->delta[j], *s = pf->cid[j] + 1;
  } else if (*s == pf->cid[j] + 1) {
    delta = pf->delta[j];
  } else {
    delta = pf->full, *s = 0;
  }
  int64_t c1 = perfect_rest(pf, mm, j + 1, s);
  int64_t total = c0 + (pf->f[j] - 1) * (delta + c1);
  mm->cost[j][s_in] = total;
  mm->out[j][s_in] = (int8_t)(*s + 1);
  return total;
}

/* The walk from loop 0 with no remembered translation (its own frame: the
 * memo is large and rarely needed). */
__attribute__((noinline)) static int64_t perfect_walk(const Perfect *pf) {
  PerfectMemo mm;
  for (int a = 0; a < pf->m; a++) memset(mm.out[a], 0, (size_t)(pf->m + 1));
  int s = 0;
  return perfect_rest(pf, &mm, 0, &s);
}

/* Inputs: windows overlap, and a P (Q) move can cancel an R (S) reset.
 * Each move's translation is linear in the loop offsets; the closed form
 * `stationary` holds unless some move overlaps its predecessor or cancels
 * out, and then a walk over (loop, reset state) gives the sum. */
static int64_t delta_sum_input(const Problem *p, const FlatNest *nest, int c, Perfect *pf,
                               int64_t stationary) {
  const int64_t *ext = nest->full[c];
  const int64_t s0 = p->stride[0], s1 = p->stride[1], d0 = p->dilation[0], d1 = p->dilation[1];
  const int64_t E[NAXES_T] = {ext[DIM_G], ext[DIM_N], ext[DIM_C],
                              (ext[DIM_P] - 1) * s0 + (ext[DIM_R] - 1) * d0 + 1,
                              (ext[DIM_Q] - 1) * s1 + (ext[DIM_S] - 1) * d1 + 1};
  const int64_t words = E[0] * E[1] * E[2] * E[3] * E[4];
  /* Axis and step of a unit move of each dim in the input's index space. */
  static const int8_t axis_of[NDIMS] = {0, 1, -1, 2, 3, 4, 3, 4}; /* G N K C P Q R S */
  const int64_t unit[NDIMS] = {1, 1, 0, 1, s0, s1, d0, d1};
  int64_t suf[NAXES_T] = {0}; /* the inner loops' index-1 offsets, projected */
  int64_t tr[MAX_TLOOPS][NAXES_T];
  bool simple = true, moved = false; /* moved: a relevant loop lies at or inside j */
  int m = 0;
  for (int k = 0; k < nest->first[c]; k++) m += !nest->loop[k].spatial;
  int j = m - 1;
  for (int k = nest->first[c] - 1; k >= 0; k--) {
    const Loop *lp = &nest->loop[k];
    if (lp->spatial) continue;
    int dd = lp->dim, ax = axis_of[dd];
    int64_t own = lp->stride * unit[dd];
    int64_t *t = tr[j];
    for (int x = 0; x < NAXES_T; x++) t[x] = -suf[x];
    if (ax >= 0) t[ax] += own, suf[ax] += own, moved = true;
    int nz = 0, nzax = 0;
    bool disjoint = false;
    for (int x = 0; x < NAXES_T; x++)
      if (t[x]) {
        nz++, nzax = x;
        if (t[x] >= E[x] || -t[x] >= E[x]) disjoint = true;
      }
    if (nz == 0)
      pf->delta[j] = 0;
    else if (disjoint || nz > 1)
      pf->delta[j] = words;
    else
      pf->delta[j] = (t[nzax] > 0 ? t[nzax] : -t[nzax]) * (words / E[nzax]);
    if (nz == 0 ? moved : pf->delta[j] != words) simple = false;
    /* From a G, N or C loop outwards every move changes that axis by at
     * least the tile: all refetch in full, as the closed form counts. */
    if (simple && ax >= 0 && ax < 3) return stationary;
    pf->f[j] = lp->f;
    j--;
  }
  if (simple) return stationary;

  pf->m = m, pf->full = words;
  for (int a = 0; a < m; a++) {
    pf->cid[a] = a;
    for (int b = 0; b < a; b++)
      if (memcmp(tr[a], tr[b], sizeof tr[a]) == 0) {
        pf->cid[a] = b;
        break;
      }
  }
  return words + perfect_walk(pf);
}

/* D for every level of a perfect nest, tensor t.  W and O tiles never
 * partly overlap, so each is refetched once per iteration of every loop
 * outside and including the innermost loop that moves it, and kept still
 * below it (stationarity): D = words * product of those bounds. */
static void delta_sums_perfect(const Problem *p, const FlatNest *nest, int t, Perfect *pf,
                               int64_t D[ACCEL_MAX_LEVELS]) {
  uint8_t rel = accel_tensor_dims(t);
  int64_t prod = 1, prod_rel = 1;
  int k = 0;
  for (int c = 1; c < nest->nl; c++) {
    for (; k < nest->first[c]; k++) {
      const Loop *lp = &nest->loop[k];
      if (lp->spatial) continue;
      prod *= lp->f;
      if (rel >> lp->dim & 1) prod_rel = prod;
    }
    D[c] = tile_words(p, t, nest->full[c]) * prod_rel;
    if (t == TENSOR_I) D[c] = delta_sum_input(p, nest, c, pf, D[c]);
  }
}

/* ---- spatial multicast -------------------------------------------------- */

/* Distinct values of a*alpha + b*beta for a < na, b < nb (alpha, beta > 0). */
static int64_t distinct_sums(int64_t alpha, int64_t na, int64_t beta, int64_t nb) {
  int64_t x = alpha, y = beta;
  while (y) {
    int64_t r = x % y;
    x = y, y = r;
  }
  int64_t ap = alpha / x, bp = beta / x;
  /* (a, b) is the canonical form of its value iff (a+bp, b-ap) is not valid. */
  int64_t low = nb < ap ? nb : ap;
  int64_t high = nb > ap ? nb - ap : 0;
  return low * na + high * (na < bp ? na : bp);
}

/* Sibling groups with identical tiles of tensor t under level l's fan-out:
 * one parent access serves each group (multicast; spatial reduction for O,
 * README 4.2).  Only exactly equal tiles share. */
static int64_t multicast_groups(const Problem *p, const FlatNest *nest, int l, int t) {
  const int64_t *sf = nest->spf[l];
  const int64_t *child = nest->full[l + 1];
  int64_t g = 1;
  for (int x = 0; x < NAXES_T; x++) {
    int dd = tensor_axes[t][x];
    if (t == TENSOR_I && x >= 3) {
      int a = x - 3, pd = a ? DIM_Q : DIM_P, rd = a ? DIM_S : DIM_R;
      if (sf[pd] > 1 && sf[rd] > 1)
        g *= distinct_sums(p->stride[a] * child[pd], sf[pd], p->dilation[a] * child[rd], sf[rd]);
      else
        g *= sf[pd] * sf[rd];
    } else {
      g *= sf[dd];
    }
  }
  return g;
}

/* ---- the model ----------------------------------------------------------- */

/* Everything cost_eval needs beyond the nest, on its stack.  The walk's
 * Workspace lives in deltas_walked's frame, taken only for remainders. */
typedef struct {
  FlatNest nest;
  Perfect perfect;
  bool force_walk; /* use the general walk for perfect nests too (tests) */
} EvalState;

/* D[t][l] for every tensor and level l >= 1 by the general walk; 0, or
 * COST_EUNSUPPORTED if a walk exceeds WALK_BUDGET. */
__attribute__((noinline)) static int deltas_walked(const Problem *p, const FlatNest *nest,
                                                   bool full_walk,
                                                   int64_t D[NTENSORS][ACCEL_MAX_LEVELS]) {
  Workspace ws;
  ws.gen = 0;
  memset(ws.slot, 0, sizeof ws.slot);
  for (int t = 0; t < NTENSORS; t++)
    for (int l = 1; l < nest->nl; l++) {
      D[t][l] = delta_sum_general(p, nest, l, t, &ws, full_walk);
      if (D[t][l] < 0) return COST_EUNSUPPORTED;
    }
  return COST_OK;
}

static int evaluate(const Problem *p, const Arch *a, const Mapping *m, CostResult *out,
                    EvalState *st, Diag *d) {
  FlatNest *nest = &st->nest;
  int err = nest_build(p, a, m, nest, d);
  if (err) return err;
  int nl = nest->nl;
  memset(out, 0, sizeof *out);
  out->nlevels = nl;
  out->macs = problem_macs(p);
  out->mac_utilized_instances = nest->util[nl];
  out->compute_cycles = nest->tcycles;
  if (nest->util[nl] > a->mac_instances) {
    err = COST_EFANOUT;
    if (!d) return err;
    diag_error(d, NULL, "the mapping uses %lld MACs, the arch has %lld", (long long)nest->util[nl],
               (long long)a->mac_instances);
  }
  for (int l = 1; l < nl; l++)
    if (nest->util[l] > a->level[l].instances) {
      err = err ? err : COST_EFANOUT;
      if (!d) return err;
      diag_error(d, NULL, "the mapping uses %lld instances of level '%s', the arch has %lld",
                 (long long)nest->util[l], a->level[l].name, (long long)a->level[l].instances);
    }

  /* Tiles and capacity (README 4.3). */
  for (int l = 0; l < nl; l++) {
    LevelCost *lc = &out->level[l];
    const Level *lv = &a->level[l];
    lc->utilized_instances = nest->util[l];
    int64_t used = 0;
    for (int t = 0; t < NTENSORS; t++) {
      if (!(m->level[l].keep >> t & 1)) continue;
      lc->tile_words[t] = tile_words(p, t, l == 0 ? nest->resid[0] : nest->full[l]);
      used += lc->tile_words[t];
      int64_t tc = lv->tensor_capacity_words[t];
      if (!lv->is_dram && tc > 0 && lc->tile_words[t] > tc) {
        err = err ? err : COST_ECAPACITY;
        if (!d) return err;
        diag_error(d, NULL, "level '%s': the %c tile is %lld words, its limit is %lld", lv->name,
                   accel_tensor_letter(t), (long long)lc->tile_words[t], (long long)tc);
      }
    }
    double mb = lv->multiple_buffering > 0 ? lv->multiple_buffering : 1;
    int64_t cap = (int64_t)floor((double)lv->capacity_words / mb);
    if (!lv->is_dram && lv->capacity_words > 0 && used > cap) {
      err = err ? err : COST_ECAPACITY;
      if (!d) return err;
      diag_error(d, NULL, "level '%s': the kept tiles need %lld words, it holds %lld", lv->name,
                 (long long)used, (long long)cap);
    }
  }
  if (err) return err;

  int64_t Dw[NTENSORS][ACCEL_MAX_LEVELS];
  bool walked = nest->imperfect || st->force_walk;
  if (walked && deltas_walked(p, nest, st->force_walk, Dw)) {
    if (d)
      diag_error(d, NULL,
                 "the remainders of this mapping make its exact walk too long "
                 "(over %d steps); use fewer remainders",
                 WALK_BUDGET);
    return COST_EUNSUPPORTED;
  }
  for (int t = 0; t < NTENSORS; t++) {
    /* Partition sizes (tiling.cpp, ComputePartitionSizes): a level's share of
     * its parent's partition, scaled by tile over the parent's spatial tile;
     * integer division as Timeloop's size_t. */
    int64_t part[ACCEL_MAX_LEVELS], D[ACCEL_MAX_LEVELS], A[ACCEL_MAX_LEVELS];
    part[0] = tile_words(p, t, nest->resid[0]);
    for (int l = 1; l < nl; l++) {
      if (nest->first_spatial[l - 1] < nest->first[l]) {
        int64_t sp[NDIMS];
        for (int i = 0; i < NDIMS; i++) sp[i] = nest->full[l][i] * nest->spf[l - 1][i];
        part[l] = part[l - 1] * tile_words(p, t, nest->full[l]) / tile_words(p, t, sp);
      } else {
        part[l] = part[l - 1];
      }
    }
    /* Words each instance receives from its parent (parent access share). */
    D[0] = part[0];
    if (walked)
      memcpy(D + 1, Dw[t] + 1, sizeof(int64_t) * (size_t)(nl - 1));
    else
      delta_sums_perfect(p, nest, t, &st->perfect, D);
    /* Accesses each instance serves its children: one per MAC per PE at
     * the innermost level, one per multicast group and child delta above;
     * a bypassed child passes its own children's requests up (MaskTiles). */
    int64_t per_pe = out->macs / nest->util[nl];
    int64_t sends[ACCEL_MAX_LEVELS]; /* words one instance's network delivers (or gathers) */
    for (int l = nl - 1; l >= 0; l--) {
      int64_t g = multicast_groups(p, nest, l, t), kids = 1;
      for (int i = 0; i < NDIMS; i++) kids *= nest->spf[l][i];
      /* Without multicast (or spatial reduction for O) every child is served alone. */
      if (t == TENSOR_O ? a->level[l].no_reduction : a->level[l].no_multicast) g = kids;
      int64_t child =
          l == nl - 1 ? per_pe : ((m->level[l + 1].keep >> t & 1) ? D[l + 1] : A[l + 1]);
      A[l] = g * child;
      sends[l] = kids * child; /* each access reaches kids / g children, one hop each */
    }
    /* The network below each level, kept or bypassed: one hop per word it
     * delivers to (or gathers from) its children (docs/cost-model.md). */
    for (int l = 0; l < nl; l++) {
      double noc = a->level[l].noc_pj_per_hop * (double)sends[l] * (double)nest->util[l];
      if (noc <= 0) continue;
      LevelCost *lc = &out->level[l];
      lc->noc_energy_pj += noc;
      lc->tensor_energy_pj[t] += noc;
      lc->energy_pj += noc;
      out->tensor_energy_pj[t] += noc;
    }
    for (int l = 0; l < nl; l++) {
      LevelCost *lc = &out->level[l];
      if (!(m->level[l].keep >> t & 1)) continue;
      lc->partition_words[t] = part[l];
      AccessCounts *pi = &lc->per_instance[t];
      if (t == TENSOR_O) { /* README 4.4: read-modify-write, no first read or fill */
        pi->updates = A[l];
        pi->reads = A[l] - part[l];
        pi->fills = l == 0 ? 0 : D[l] - part[l];
      } else {
        pi->reads = A[l];
        pi->fills = l == 0 ? 0 : D[l];
      }
      lc->total[t].reads = pi->reads * nest->util[l];
      lc->total[t].fills = pi->fills * nest->util[l];
      lc->total[t].updates = pi->updates * nest->util[l];
      double e = level_access_energy(&a->level[l], pi, nest->util[l]);
      lc->tensor_energy_pj[t] += e;
      lc->energy_pj += e;
      out->tensor_energy_pj[t] += e;
    }
  }

  /* Energy (README 4.5) and cycles (4.6). */
  out->mac_energy_pj = (double)out->macs * a->mac_energy_pj;
  out->cycles = out->compute_cycles;
  out->bottleneck = -1;
  double cc = (double)out->compute_cycles;
  for (int l = 0; l < nl; l++) {
    LevelCost *lc = &out->level[l];
    const Level *lv = &a->level[l];
    int64_t rd = 0, wr = 0;
    for (int t = 0; t < NTENSORS; t++) {
      rd += lc->per_instance[t].reads;
      wr += lc->per_instance[t].fills + lc->per_instance[t].updates;
    }
    /* Timeloop's order of operations (buffer.cpp ComputePerformance). */
    double rbw = (double)rd / cc, wbw = (double)wr / cc, slow = 1.0;
    if (lv->read_bw > 0 && rbw > 0) slow = fmin(slow, lv->read_bw / rbw);
    if (lv->write_bw > 0 && wbw > 0) slow = fmin(slow, lv->write_bw / wbw);
    if (lv->shared_bw > 0 && rbw + wbw > 0) slow = fmin(slow, lv->shared_bw / (rbw + wbw));
    lc->slowdown = slow;
    lc->cycles = slow < 1.0 ? (int64_t)ceil(cc / slow) : out->compute_cycles;
    if (lc->cycles > out->cycles) out->cycles = lc->cycles, out->bottleneck = l;
  }
  /* Leakage (Timeloop's BufferLevel::FinalizeBufferEnergy): every cycle of
   * the run, on each utilized instance (one if the level keeps nothing). */
  for (int l = 0; l < nl; l++) {
    const Level *lv = &a->level[l];
    if (lv->leak_pj_per_cycle <= 0) continue;
    double e = lv->leak_pj_per_cycle * (double)out->cycles *
               (double)(m->level[l].keep ? nest->util[l] : 1);
    out->level[l].leak_energy_pj = e;
    out->level[l].energy_pj += e;
  }
  /* The total in sched_recount's order (schedule.c), so that recounting
   * reproduces it bit for bit. */
  out->energy_pj = out->mac_energy_pj;
  for (int l = 0; l < nl; l++) out->energy_pj += out->level[l].energy_pj;
  out->edp = out->energy_pj * (double)out->cycles;
  out->seconds = a->clock_mhz > 0 ? (double)out->cycles / (a->clock_mhz * 1e6) : 0;
  out->utilization = (double)out->macs / ((double)a->mac_instances * (double)out->cycles);

  /* Area: placeholder terms (docs/cost-model.md). */
  double area = (double)a->mac_instances * a->mac_area_um2;
  for (int l = 0; l < nl; l++) {
    const Level *lv = &a->level[l];
    if (lv->is_dram) continue;
    area += (double)lv->instances *
            ((double)lv->capacity_words * lv->area_um2_per_word + lv->area_um2_fixed);
  }
  out->area_um2 = area;
  return COST_OK;
}

int cost_eval(const Problem *p, const Arch *a, const Mapping *m, CostResult *out) {
  EvalState st;
  st.force_walk = false;
  return evaluate(p, a, m, out, &st, NULL);
}

int cost_eval_reference(const Problem *p, const Arch *a, const Mapping *m, CostResult *out) {
  EvalState st;
  st.force_walk = true;
  return evaluate(p, a, m, out, &st, NULL);
}

Rc cost_check_mapping(const Problem *p, const Arch *a, const Mapping *m, Diag *d) {
  EvalState st;
  CostResult r;
  st.force_walk = false;
  int before = d ? d->nerrors : 0;
  int err = evaluate(p, a, m, &r, &st, d);
  if (err && d && d->nerrors == before)
    diag_error(d, NULL, "invalid mapping (%s)", cost_error_name(err));
  return err ? RC_BADINPUT : RC_OK;
}
