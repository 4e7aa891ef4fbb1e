/*
 * schedule.c: the cost of a whole-network schedule (ir/accel.h, Schedule;
 * docs/cost-model.md, "Whole-network schedules").  A schedule groups
 * consecutive nests of a mapped module; this file checks groups and counts
 * what each mac nest then moves, in cost_eval's form: a CostResult per
 * nest, per storage level and tensor reads, fills and updates, energy and
 * cycles.
 *
 * How it counts, in four steps:
 *   1. The layer.  A mac nest alone is cost_eval of its mapping, unchanged:
 *      a schedule without groups gives cost_eval's results bit for bit.
 *   2. Residency.  In a group, an activation a nest reads or writes may live
 *      in the group's home level H instead of DRAM.  The nest's counts are
 *      those of cost_eval with that tensor's outer levels taken away
 *      (relocate): its accesses at the levels above H vanish (the tensor is
 *      not there), and at H the fills vanish (the tile the mapping keeps at
 *      H is a view of the resident tensor, never copied in) or, if the
 *      mapping bypasses H, the accesses DRAM served move to H.
 *   3. Copies.  What still crosses the chip boundary is counted as explicit
 *      copies between DRAM and H: an activation needed after the group is
 *      copied out once (H reads, DRAM updates), a group input is copied in
 *      (DRAM reads, H fills) as the overlap policy says, and weights kept in
 *      H are copied in once.
 *   4. Tiles (depth-first groups).  The last nest's output is cut into tiles
 *      visited row-major; the tile's rows and columns are propagated back
 *      through every nest's affine accesses (hull over consumers, clipped
 *      to the tensor), giving per tile the part of each tensor needed.  Per
 *      overlap policy each nest computes the needed part, or only its new
 *      part.  A nest's tile is a problem with P and Q cut down, mapped by
 *      the nest's mapping shrunk to it (mapping_shrink_tile), and costed
 *      by cost_eval; tiles of equal shape and copies share one evaluation.
 *      A nest reducing over its output's rows or columns (a softmax over
 *      the key axis) gets them whole in every tile, or the group is bad.
 * sched_range_costs, the search's entry point, adds the nests of a group
 * [a, b] one at a time from b downwards, so one pass prices every start a.
 * Counts are exact for these rules; energies and cycles follow cost.c's
 * formulas on the new counts (energies by difference where counts change).
 *
 * Vector, move and view nests are not costed, as in the layer report: their
 * own traffic is never charged, whatever the schedule.  So that grouping
 * cannot hide traffic, a mac nest's output counts as staying on chip only if
 * nothing derived from it through such nests leaves the group.
 *
 * Invariants: a SchedModel is built once per (module, arch) and never
 * changes the module; its tile cache makes it unsafe to share between
 * threads.  cost_eval itself is only called, never changed.
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"

/* ---- the module, analysed once -------------------------------------------- */

typedef struct {
  uint32_t tensor; /* an activation the nest reads */
  int acc;         /* its access */
  bool w;          /* a mac nest's W operand (attention's K^T, V): read as weights are,
                      never resident nor tiled; a consumer all the same */
} InRef;

typedef struct {
  bool mac;       /* a mapped mac nest: costed */
  bool groupable; /* may join a group (mac nests: I is an activation) */
  bool tileable;  /* rows and columns can be cut: SCHED_DEPTH */
  bool wact;      /* mac: its W operand is an activation (attention) */
  int rd, cd;     /* nest dims of the output's rows and columns (tileable) */
  Dim tdim[2];    /* mac: the problem dims a tile cuts: P and Q, or an attention
                     matmul's N (query rows) and K */
  int nout, nin;
  uint32_t out[NEST_MAX_ACCESS]; /* tensors written */
  InRef in[NEST_MAX_ACCESS];     /* activations read */
  uint32_t itensor;              /* mac: the tensor of its I operand */
  int64_t wwords;                /* mac: words of its W */
  int64_t owords;                /* mac: words of its O (the problem's) */
  Problem prob;
  const Mapping *map;
  CostResult layer; /* mac: cost_eval of its mapping */
} NInfo;

typedef struct {
  bool act; /* an activation (graph input or written by a nest), not a weight */
  bool graph_out;
  int64_t words, depth;          /* depth: words per (row, column): dims other than 2 and 3 */
  int64_t rows, cols;            /* dims 2 and 3 of a rank-4 tensor, else 0 */
  int32_t first_prod, last_prod; /* writers, -1: none */
  int32_t last_cons;             /* -1: none */
  uint32_t cons0, cons1;         /* consumer nests: SchedModel.cons[cons0..cons1) */
} TInfo;

/* A depth-first tile's cost after relocation, before copies (the cache). */
typedef struct {
  uint32_t nest;
  int64_t rows, cols;
  uint8_t home, wres, used;
  int err; /* COST_OK, or why the tile does not evaluate */
  double energy, mac_energy;
  int64_t macs, compute_cycles;
  int64_t rd[ACCEL_MAX_LEVELS], wr[ACCEL_MAX_LEVELS]; /* per instance, all tensors */
  AccessCounts dram[NTENSORS], home_pi[NTENSORS];     /* per instance at DRAM and home */
  int64_t w_tile_home;  /* the W tile the mapping keeps at home (capacity) */
  double acc[NTENSORS]; /* the access energies of dram[t] and home_pi[t] (tile_sum_finish) */
} TileSum;

struct SchedModel {
  const Module *m;
  const Arch *a;
  uint32_t n;
  NInfo *ni;
  TInfo *ti;
  uint32_t *cons;
  uint8_t homes;  /* levels that may hold a group's activations */
  TileSum *cache; /* the cached tiles, ucache of capcache, in the order first asked */
  uint32_t *slot; /* open addressing over cache: ncache slots (a power of two), 0 empty,
                      else 1 + the tile's index; a small table, so a probe stays in cache */
  uint32_t ncache, ucache, capcache;
  int64_t evals;    /* cost_eval calls for tiles */
  uint32_t rules_b; /* rules_ok's memo: for groups ending at rules_b - 1 (0: none) */
  int8_t rules[64]; /* [b - a]: 1 range_rules passes, -1 it fails, 0 not known */
};

static bool is_act(const NTensor *t) { return t->role != TR_WEIGHT; }

static void analyse_nest(const Module *m, const Nest *n, NInfo *ni) {
  memset(ni, 0, sizeof *ni);
  ni->rd = ni->cd = -1;
  bool tile = true;
  for (int k = 0; k < n->nacc; k++) {
    const Access *ac = &n->acc[k];
    if (!ac->tensor || ac->tensor >= m->ntensors) continue;
    const NTensor *t = &m->tensors[ac->tensor];
    if (ac->kind != ACC_READ) {
      ni->out[ni->nout++] = ac->tensor;
      if (ac->ix != IX_AFFINE || ac->rank != 4 || t->rank != 4) {
        tile = false;
        continue;
      }
      int rd = affine_plain_dim(&ac->idx[2], n->ndims),
          cd = affine_plain_dim(&ac->idx[3], n->ndims);
      if (rd < 0 || cd < 0 || rd == cd || (ni->rd >= 0 && (ni->rd != rd || ni->cd != cd)))
        tile = false;
      ni->rd = rd, ni->cd = cd;
    } else if (is_act(t)) {
      ni->in[ni->nin].tensor = ac->tensor;
      ni->in[ni->nin].w = n->kind == NK_MAC && ac->role == ROLE_W;
      ni->in[ni->nin++].acc = k;
    }
  }
  if (ni->nout != 1) tile = false;
  /* Reads: rows affine in the row dim and window dims only, columns alike,
   * with non-negative coefficients. */
  for (int i = 0; tile && i < ni->nin; i++) {
    if (ni->in[i].w) continue; /* read whole by every tile, as weights */
    const Access *ac = &n->acc[ni->in[i].acc];
    if (ac->ix != IX_AFFINE || ac->rank != 4 || m->tensors[ac->tensor].rank != 4) {
      tile = false;
      break;
    }
    for (int k = 0; k < n->ndims; k++)
      if (ac->idx[2].coef[k] < 0 || ac->idx[3].coef[k] < 0 ||
          (ni->cd >= 0 && ac->idx[2].coef[ni->cd]) || (ni->rd >= 0 && ac->idx[3].coef[ni->rd]))
        tile = false;
  }
  ni->tileable = tile && ni->rd >= 0;
  ni->groupable = true;
  if (n->kind == NK_MAC && n->map && nest_problem(n, &ni->prob)) {
    ni->mac = true;
    ni->map = &n->map->m;
    for (int k = 0; k < n->nacc; k++) {
      const Access *ac = &n->acc[k];
      if (!ac->role || !ac->tensor) continue; /* ROLE_NONE is 0 */
      if (ac->role == ROLE_I) {
        ni->itensor = ac->tensor;
        if (!is_act(&m->tensors[ac->tensor])) ni->groupable = false; /* a constant input */
      }
      if (ac->role == ROLE_W && is_act(&m->tensors[ac->tensor])) ni->wact = true;
    }
    /* The problem's P and Q must be the output's rows and columns; or, for
     * an attention matmul (W an activation, P = Q = 1), N and K. */
    ni->tdim[0] = DIM_P, ni->tdim[1] = DIM_Q;
    if (ni->tileable && !(ni->rd == 4 && ni->cd == 5)) {
      ni->tileable = ni->wact && n->dims[ni->rd].dim == DIM_N && n->dims[ni->cd].dim == DIM_K &&
                     ni->prob.dim[DIM_P] == 1 && ni->prob.dim[DIM_Q] == 1;
      ni->tdim[0] = DIM_N, ni->tdim[1] = DIM_K;
    }
    const Problem *p = &ni->prob;
    ni->wwords = p->dim[DIM_G] * p->dim[DIM_K] * p->dim[DIM_C] * p->dim[DIM_R] * p->dim[DIM_S];
    ni->owords = p->dim[DIM_G] * p->dim[DIM_N] * p->dim[DIM_K] * p->dim[DIM_P] * p->dim[DIM_Q];
    if (!ni->itensor) ni->groupable = false;
  }
}

static bool home_level_ok(const Arch *a, int l) {
  const Level *lv = &a->level[l];
  uint8_t io = (uint8_t)(1u << TENSOR_I | 1u << TENSOR_O);
  return l >= 1 && l < a->nlevels && !lv->is_dram && lv->instances == 1 &&
         (lv->keeps_allowed & io) == io;
}

Rc sched_model_create(const Module *m, const Arch *a, SchedModel **out, Diag *d) {
  *out = NULL;
  SchedModel *sm = xcalloc(1, sizeof *sm);
  if (!sm) return RC_INTERNAL;
  sm->m = m, sm->a = a, sm->n = m->nnests;
  uint32_t nt = m->ntensors ? m->ntensors : 1;
  sm->ni = xcalloc(sm->n + 1, sizeof *sm->ni);
  sm->ti = xcalloc(nt, sizeof *sm->ti);
  uint32_t ncons = 0;
  for (uint32_t i = 0; i < sm->n; i++) ncons += (uint32_t)m->nests[i].nacc;
  sm->cons = xcalloc(ncons + 1, sizeof *sm->cons);
  sm->ncache = 4096;
  sm->slot = xcalloc(sm->ncache, sizeof *sm->slot);
  sm->capcache = 256;
  sm->cache = xmalloc(sm->capcache * sizeof *sm->cache);
  if (!sm->ni || !sm->ti || !sm->cons || !sm->cache || !sm->slot) {
    sched_model_destroy(sm);
    return RC_INTERNAL;
  }
  for (uint32_t t = 1; t < m->ntensors; t++) {
    const NTensor *nt_ = &m->tensors[t];
    TInfo *ti = &sm->ti[t];
    ti->act = is_act(nt_);
    ti->graph_out = nt_->role == TR_OUTPUT;
    ti->first_prod = ti->last_prod = ti->last_cons = -1;
    int64_t w = 1;
    for (int k = 0; k < nt_->rank; k++) w *= nt_->dims[k];
    ti->words = w;
    if (nt_->rank == 4) {
      ti->rows = nt_->dims[2], ti->cols = nt_->dims[3];
      ti->depth = nt_->dims[0] * nt_->dims[1];
    }
  }
  Rc rc = RC_OK;
  for (uint32_t i = 0; i < sm->n; i++) {
    const Nest *n = &m->nests[i];
    NInfo *ni = &sm->ni[i];
    analyse_nest(m, n, ni);
    if (n->kind == NK_MAC && nest_problem(n, &ni->prob) && !n->map) {
      diag_error(d, n->name, "schedule: this mac nest has no mapping (run 'map' first)");
      rc = RC_BADINPUT;
      continue;
    }
    if (ni->mac) {
      int err = cost_eval(&ni->prob, a, ni->map, &ni->layer);
      if (err != COST_OK) {
        diag_error(d, n->name, "schedule: the mapping does not evaluate on '%s' (%s)", a->name,
                   cost_error_name(err));
        rc = RC_BADINPUT;
      }
    }
    for (int k = 0; k < ni->nout; k++) {
      TInfo *ti = &sm->ti[ni->out[k]];
      if (ti->first_prod < 0) ti->first_prod = (int32_t)i;
      ti->last_prod = (int32_t)i;
    }
  }
  /* Consumers by tensor (counting sort on the tensor id). */
  uint32_t *cnt = xcalloc(nt + 1, sizeof *cnt);
  if (!cnt) rc = RC_INTERNAL;
  for (uint32_t i = 0; cnt && i < sm->n; i++)
    for (int k = 0; k < sm->ni[i].nin; k++) cnt[sm->ni[i].in[k].tensor + 1]++;
  for (uint32_t t = 0; cnt && t < nt; t++) cnt[t + 1] += cnt[t];
  for (uint32_t t = 1; cnt && t < m->ntensors; t++) sm->ti[t].cons0 = sm->ti[t].cons1 = cnt[t];
  for (uint32_t i = 0; cnt && i < sm->n; i++)
    for (int k = 0; k < sm->ni[i].nin; k++) {
      TInfo *ti = &sm->ti[sm->ni[i].in[k].tensor];
      /* A nest reading a tensor twice is one consumer. */
      if (ti->cons1 > ti->cons0 && sm->cons[ti->cons1 - 1] == i) continue;
      sm->cons[ti->cons1++] = i;
      ti->last_cons = (int32_t)i;
    }
  xfree(cnt);
  for (int l = 1; l < a->nlevels; l++)
    if (home_level_ok(a, l)) sm->homes |= (uint8_t)(1u << l);
  if (rc != RC_OK) {
    sched_model_destroy(sm);
    return rc;
  }
  *out = sm;
  return RC_OK;
}

void sched_model_destroy(SchedModel *sm) {
  if (!sm) return;
  xfree(sm->ni);
  xfree(sm->ti);
  xfree(sm->cons);
  xfree(sm->cache);
  xfree(sm->slot);
  xfree(sm);
}

uint8_t sched_model_homes(const SchedModel *sm) { return sm->homes; }
const Module *sched_model_module(const SchedModel *sm) { return sm->m; }
const Arch *sched_model_arch(const SchedModel *sm) { return sm->a; }
const CostResult *sched_model_layer(const SchedModel *sm, uint32_t nest) {
  return nest < sm->n && sm->ni[nest].mac ? &sm->ni[nest].layer : NULL;
}
int64_t sched_model_tile_evals(const SchedModel *sm) { return sm->evals; }

bool sched_nest_tileable(const SchedModel *sm, uint32_t nest, int64_t *rows, int64_t *cols) {
  const NInfo *ni = &sm->ni[nest];
  if (!ni->tileable || !ni->groupable) return false;
  const TInfo *ti = &sm->ti[ni->out[0]];
  *rows = ti->rows, *cols = ti->cols;
  return true;
}

/* ---- counts: relocation, copies, energy, cycles ------------------------------- */

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* Sets the per-instance counts of tensor t at level l to c: totals follow
 * (times the utilized instances) and the energies change by the difference
 * of the access energies. */
static void set_counts(CostResult *r, const Arch *a, int l, int t, const AccessCounts *c) {
  LevelCost *lc = &r->level[l];
  int64_t inst = lc->utilized_instances;
  double de = level_access_energy(&a->level[l], c, inst) -
              level_access_energy(&a->level[l], &lc->per_instance[t], inst);
  lc->per_instance[t] = *c;
  lc->total[t].reads = c->reads * inst;
  lc->total[t].fills = c->fills * inst;
  lc->total[t].updates = c->updates * inst;
  lc->tensor_energy_pj[t] += de;
  lc->energy_pj += de;
  r->tensor_energy_pj[t] += de;
}

/* Takes everything of tensor t at level l away: accesses and the network
 * below l that carried t. */
static void drop_tensor(CostResult *r, const Arch *a, int l, int t) {
  LevelCost *lc = &r->level[l];
  double acc = level_access_energy(&a->level[l], &lc->per_instance[t], lc->utilized_instances);
  double all = lc->tensor_energy_pj[t];
  lc->noc_energy_pj -= all - acc;
  lc->energy_pj -= all;
  r->tensor_energy_pj[t] -= all;
  lc->tensor_energy_pj[t] = 0;
  memset(&lc->per_instance[t], 0, sizeof lc->per_instance[t]);
  memset(&lc->total[t], 0, sizeof lc->total[t]);
}

/* Tensor t of r lives at level h (step 2 above).  COST_EKEEP if a level
 * between DRAM and h keeps it, or h is not shared by every instance below
 * it: then it cannot live there under this mapping. */
static int relocate(CostResult *r, const Arch *a, int h, int t) {
  for (int l = 1; l < h; l++)
    if (r->level[l].tile_words[t] > 0) return COST_EKEEP;
  if (r->level[h].utilized_instances != 1 || r->level[0].utilized_instances != 1) return COST_EKEEP;
  AccessCounts c = r->level[h].per_instance[t];
  if (r->level[h].tile_words[t] > 0) {
    c.fills = 0; /* the kept tile is a view of the resident tensor */
  } else {
    /* Bypassed at h: the requests DRAM served pass through h, which now
     * serves them (fan-out 1 above h, so the counts are the same). */
    c = r->level[0].per_instance[t];
    c.fills = 0;
  }
  for (int l = 0; l < h; l++) drop_tensor(r, a, l, t);
  set_counts(r, a, h, t, &c);
  return COST_OK;
}

/* Energy from the level energies and cycles from the per-instance counts,
 * as cost.c computes them (README 4.5, 4.6).  A tile that only copies
 * (no compute cycles) takes the cycles its transfers need. */
static void finish(CostResult *r, const Arch *a) {
  r->energy_pj = r->mac_energy_pj;
  for (int l = 0; l < r->nlevels; l++) r->energy_pj += r->level[l].energy_pj;
  r->cycles = r->compute_cycles;
  r->bottleneck = -1;
  double cc = (double)r->compute_cycles;
  for (int l = 0; l < r->nlevels; l++) {
    LevelCost *lc = &r->level[l];
    const Level *lv = &a->level[l];
    int64_t rd = 0, wr = 0;
    for (int t = 0; t < NTENSORS; t++) {
      rd += lc->per_instance[t].reads;
      wr += lc->per_instance[t].fills + lc->per_instance[t].updates;
    }
    if (cc > 0) {
      double rbw = (double)rd / cc, wbw = (double)wr / cc, slow = 1.0;
      if (lv->read_bw > 0 && rbw > 0) slow = fmin(slow, lv->read_bw / rbw);
      if (lv->write_bw > 0 && wbw > 0) slow = fmin(slow, lv->write_bw / wbw);
      if (lv->shared_bw > 0 && rbw + wbw > 0) slow = fmin(slow, lv->shared_bw / (rbw + wbw));
      lc->slowdown = slow;
      lc->cycles = slow < 1.0 ? (int64_t)ceil(cc / slow) : r->compute_cycles;
    } else {
      double need = 0;
      if (lv->read_bw > 0) need = fmax(need, (double)rd / lv->read_bw);
      if (lv->write_bw > 0) need = fmax(need, (double)wr / lv->write_bw);
      if (lv->shared_bw > 0) need = fmax(need, (double)(rd + wr) / lv->shared_bw);
      lc->cycles = (int64_t)ceil(need);
      lc->slowdown = lc->cycles ? 0 : 1;
    }
    if (lc->cycles > r->cycles) r->cycles = lc->cycles, r->bottleneck = l;
  }
  r->edp = r->energy_pj * (double)r->cycles;
  r->seconds = a->clock_mhz > 0 ? (double)r->cycles / (a->clock_mhz * 1e6) : 0;
  r->utilization = r->cycles ? (double)r->macs / ((double)a->mac_instances * (double)r->cycles) : 0;
}

void sched_recount(CostResult *r, const Arch *a) { finish(r, a); }

/* Words a copy moves between DRAM and home, by tensor. */
typedef struct {
  int64_t in;  /* activation copied in: DRAM reads, home fills (tensor I) */
  int64_t out; /* activation copied out: home reads, DRAM updates (tensor O) */
  int64_t w;   /* weights copied in: DRAM reads, home fills (tensor W) */
} Copies;

static void add_copies(CostResult *r, const Arch *a, int h, const Copies *cp) {
  if (cp->in) {
    AccessCounts c = r->level[0].per_instance[TENSOR_I];
    c.reads += cp->in;
    set_counts(r, a, 0, TENSOR_I, &c);
    c = r->level[h].per_instance[TENSOR_I];
    c.fills += cp->in;
    set_counts(r, a, h, TENSOR_I, &c);
  }
  if (cp->w) {
    AccessCounts c = r->level[0].per_instance[TENSOR_W];
    c.reads += cp->w;
    set_counts(r, a, 0, TENSOR_W, &c);
    c = r->level[h].per_instance[TENSOR_W];
    c.fills += cp->w;
    set_counts(r, a, h, TENSOR_W, &c);
  }
  if (cp->out) {
    AccessCounts c = r->level[h].per_instance[TENSOR_O];
    c.reads += cp->out;
    set_counts(r, a, h, TENSOR_O, &c);
    c = r->level[0].per_instance[TENSOR_O];
    c.updates += cp->out;
    set_counts(r, a, 0, TENSOR_O, &c);
  }
}

/* Adds m times tile result t to the running result r of a nest. */
static void accumulate(CostResult *r, const CostResult *t, int64_t m) {
  double dm = (double)m;
  r->nlevels = t->nlevels;
  for (int l = 0; l < t->nlevels; l++) {
    LevelCost *a = &r->level[l];
    const LevelCost *b = &t->level[l];
    for (int k = 0; k < NTENSORS; k++) {
      a->total[k].reads += m * b->total[k].reads;
      a->total[k].fills += m * b->total[k].fills;
      a->total[k].updates += m * b->total[k].updates;
      a->per_instance[k].reads += m * b->per_instance[k].reads;
      a->per_instance[k].fills += m * b->per_instance[k].fills;
      a->per_instance[k].updates += m * b->per_instance[k].updates;
      if (b->tile_words[k] > a->tile_words[k]) a->tile_words[k] = b->tile_words[k];
      a->partition_words[k] += m * b->partition_words[k];
      a->tensor_energy_pj[k] += dm * b->tensor_energy_pj[k];
    }
    if (b->utilized_instances > a->utilized_instances)
      a->utilized_instances = b->utilized_instances;
    a->cycles += m * b->cycles;
    a->energy_pj += dm * b->energy_pj;
    a->noc_energy_pj += dm * b->noc_energy_pj;
    a->leak_energy_pj += dm * b->leak_energy_pj; /* of energy_pj, as cost_eval splits it */
  }
  r->macs += m * t->macs;
  if (t->mac_utilized_instances > r->mac_utilized_instances)
    r->mac_utilized_instances = t->mac_utilized_instances;
  r->compute_cycles += m * t->compute_cycles;
  r->cycles += m * t->cycles;
  r->mac_energy_pj += dm * t->mac_energy_pj;
  for (int k = 0; k < NTENSORS; k++) r->tensor_energy_pj[k] += dm * t->tensor_energy_pj[k];
  r->energy_pj += dm * t->energy_pj;
  r->area_um2 = t->area_um2;
}

/* The summary fields of a nest's result once all its tiles are in. */
static void accumulate_done(CostResult *r, const Arch *a) {
  r->bottleneck = -1;
  int64_t most = r->compute_cycles;
  for (int l = 0; l < r->nlevels; l++) {
    LevelCost *lc = &r->level[l];
    lc->slowdown = lc->cycles ? fmin(1.0, (double)r->compute_cycles / (double)lc->cycles) : 1.0;
    if (lc->cycles > most) most = lc->cycles, r->bottleneck = l;
  }
  r->edp = r->energy_pj * (double)r->cycles;
  r->seconds = a->clock_mhz > 0 ? (double)r->cycles / (a->clock_mhz * 1e6) : 0;
  r->utilization = r->cycles ? (double)r->macs / ((double)a->mac_instances * (double)r->cycles) : 0;
}

/* ---- tiles ------------------------------------------------------------------------ */

/* The cost of nest k computing rows x cols of its output with I and O
 * resident at h (and W too if wres), into r.  COST_OK or why not. */
static int tile_eval(SchedModel *sm, uint32_t k, int64_t rows, int64_t cols, int h, bool wres,
                     CostResult *r) {
  const NInfo *ni = &sm->ni[k];
  Problem p = ni->prob;
  p.dim[ni->tdim[0]] = rows, p.dim[ni->tdim[1]] = cols;
  Mapping mp;
  mapping_shrink_dims(ni->map, ni->tdim[0], rows, ni->tdim[1], cols, &mp);
  sm->evals++;
  int err = cost_eval(&p, sm->a, &mp, r);
  if (err) return err;
  if ((err = relocate(r, sm->a, h, TENSOR_I)) || (err = relocate(r, sm->a, h, TENSOR_O)))
    return err;
  if (wres && (err = relocate(r, sm->a, h, TENSOR_W))) return err;
  return COST_OK;
}

static uint32_t tile_hash(uint32_t k, int64_t rows, int64_t cols, int h, bool wres) {
  uint64_t x = (uint64_t)k * 0x9e3779b97f4a7c15ULL ^ (uint64_t)rows * 0xc2b2ae3d27d4eb4fULL ^
               (uint64_t)cols * 0x165667b19e3779f9ULL ^
               (uint64_t)(h * 2 + wres) * 0x27d4eb2f165667c5ULL;
  /* MurmurHash3's fmix64 finalizer: every input bit reaches the low bits the
   * index masks (rows and cols step by small multiples, which clustered). */
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return (uint32_t)x;
}

static const TileSum *tile_get(SchedModel *sm, uint32_t k, int64_t rows, int64_t cols, int h,
                               bool wres) {
  if (2 * (sm->ucache + 1) > sm->ncache) { /* grow the index */
    uint32_t nn = sm->ncache * 2;
    uint32_t *ns = xcalloc(nn, sizeof *ns);
    if (!ns) return NULL;
    for (uint32_t i = 0; i < sm->ucache; i++) {
      const TileSum *e = &sm->cache[i];
      uint32_t j = tile_hash(e->nest, e->rows, e->cols, e->home, e->wres) & (nn - 1);
      while (ns[j]) j = (j + 1) & (nn - 1);
      ns[j] = i + 1;
    }
    xfree(sm->slot);
    sm->slot = ns, sm->ncache = nn;
  }
  if (sm->ucache == sm->capcache) { /* grow the tiles */
    TileSum *nc = xrealloc(sm->cache, 2 * (size_t)sm->capcache * sizeof *nc);
    if (!nc) return NULL;
    sm->cache = nc, sm->capcache *= 2;
  }
  uint32_t j = tile_hash(k, rows, cols, h, wres) & (sm->ncache - 1);
  for (;; j = (j + 1) & (sm->ncache - 1)) {
    if (!sm->slot[j]) break;
    TileSum *e = &sm->cache[sm->slot[j] - 1];
    if (e->nest == k && e->rows == rows && e->cols == cols && e->home == h && e->wres == wres)
      return e;
  }
  sm->slot[j] = sm->ucache + 1;
  TileSum *e = &sm->cache[sm->ucache];
  memset(e, 0, sizeof *e);
  e->nest = k, e->rows = rows, e->cols = cols, e->home = (uint8_t)h, e->wres = wres, e->used = 1;
  sm->ucache++;
  CostResult r;
  e->err = tile_eval(sm, k, rows, cols, h, wres, &r);
  if (e->err) return e;
  finish(&r, sm->a);
  e->energy = r.energy_pj, e->mac_energy = r.mac_energy_pj;
  e->macs = r.macs, e->compute_cycles = r.compute_cycles;
  for (int l = 0; l < r.nlevels; l++)
    for (int t = 0; t < NTENSORS; t++) {
      e->rd[l] += r.level[l].per_instance[t].reads;
      e->wr[l] += r.level[l].per_instance[t].fills + r.level[l].per_instance[t].updates;
    }
  memcpy(e->dram, r.level[0].per_instance, sizeof e->dram);
  memcpy(e->home_pi, r.level[h].per_instance, sizeof e->home_pi);
  e->w_tile_home = wres ? 0 : r.level[h].tile_words[TENSOR_W];
  for (int t = 0; t < NTENSORS; t++)
    e->acc[t] = level_access_energy(&sm->a->level[0], &e->dram[t], 1) +
                level_access_energy(&sm->a->level[h], &e->home_pi[t], 1);
  return e;
}

/* Energy and cycles of a cached tile plus its copies: the same arithmetic
 * as add_copies and finish, on the cached sums (the search's fast path). */
static void tile_sum_finish(const SchedModel *sm, const TileSum *e, int h, const Copies *cp,
                            double *energy, int64_t *cycles) {
  const Arch *a = sm->a;
  double en = e->energy;
  int64_t rd[ACCEL_MAX_LEVELS], wr[ACCEL_MAX_LEVELS];
  memcpy(rd, e->rd, sizeof rd);
  memcpy(wr, e->wr, sizeof wr);
  if (cp->in || cp->out || cp->w) {
    AccessCounts d0[NTENSORS], dh[NTENSORS];
    memcpy(d0, e->dram, sizeof d0);
    memcpy(dh, e->home_pi, sizeof dh);
    for (int t = 0; t < NTENSORS; t++) en -= e->acc[t];
    d0[TENSOR_I].reads += cp->in, dh[TENSOR_I].fills += cp->in;
    d0[TENSOR_W].reads += cp->w, dh[TENSOR_W].fills += cp->w;
    dh[TENSOR_O].reads += cp->out, d0[TENSOR_O].updates += cp->out;
    int64_t mv[NTENSORS];
    mv[TENSOR_I] = cp->in, mv[TENSOR_W] = cp->w, mv[TENSOR_O] = cp->out;
    for (int t = 0; t < NTENSORS; t++) { /* a tensor without copies keeps its energy */
      en += mv[t] ? level_access_energy(&a->level[0], &d0[t], 1) +
                        level_access_energy(&a->level[h], &dh[t], 1)
                  : e->acc[t];
    }
    rd[0] += cp->in + cp->w, wr[0] += cp->out;
    rd[h] += cp->out, wr[h] += cp->in + cp->w;
  }
  int64_t cyc = e->compute_cycles;
  double cc = (double)e->compute_cycles;
  for (int l = 0; l < a->nlevels; l++) {
    const Level *lv = &a->level[l];
    int64_t lcyc;
    if (cc > 0) {
      double rbw = (double)rd[l] / cc, wbw = (double)wr[l] / cc, slow = 1.0;
      if (lv->read_bw > 0 && rbw > 0) slow = fmin(slow, lv->read_bw / rbw);
      if (lv->write_bw > 0 && wbw > 0) slow = fmin(slow, lv->write_bw / wbw);
      if (lv->shared_bw > 0 && rbw + wbw > 0) slow = fmin(slow, lv->shared_bw / (rbw + wbw));
      lcyc = slow < 1.0 ? (int64_t)ceil(cc / slow) : e->compute_cycles;
    } else {
      double need = 0;
      if (lv->read_bw > 0) need = fmax(need, (double)rd[l] / lv->read_bw);
      if (lv->write_bw > 0) need = fmax(need, (double)wr[l] / lv->write_bw);
      if (lv->shared_bw > 0) need = fmax(need, (double)(rd[l] + wr[l]) / lv->shared_bw);
      lcyc = (int64_t)ceil(need);
    }
    if (lcyc > cyc) cyc = lcyc;
  }
  *energy = en, *cycles = cyc;
}

/* ---- depth-first regions -------------------------------------------------------- */

typedef struct {
  int64_t lo, hi; /* [lo, hi); empty if lo >= hi */
} Iv;

static int64_t iv_len(Iv v) { return v.hi > v.lo ? v.hi - v.lo : 0; }

/* The part of v beyond hi, the furthest earlier tiles reached (intervals
 * move forward from tile to tile). */
static Iv iv_new(Iv v, int64_t hi) {
  if (hi > v.lo) v.lo = hi;
  return v;
}

/* One axis of a depth-first window: per tensor slot and tile, the interval
 * of the tensor the tile needs. */
typedef struct {
  int nt;   /* tiles along the axis */
  Iv *need; /* [slot * nt + i] */
} Axis;

typedef struct {
  SchedModel *sm;
  SchedGroup cfg; /* mode SCHED_DEPTH; first = the window's first nest */
  uint32_t w0, b; /* the window: nests w0..b */
  int nslots;
  uint32_t *slot_t; /* slot -> tensor */
  int32_t *slot_of; /* tensor -> slot, -1 (sized m->ntensors) */
  bool *touched;    /* [slot]: some consumer in the window needs it */
  bool *reach;      /* [nest - w0]: the nest's output leads to b */
  Axis ax[2];       /* rows, columns */
  int8_t *esc;      /* [slot]: escapes(), -1 not known yet */
  int bad;          /* nonzero: the window cannot run depth-first at all */
  const char *why;  /* for a report */
  char whybuf[256]; /* why, when it names a nest */
} Window;

static int slot_get(Window *w, uint32_t t) {
  if (w->slot_of[t] >= 0) return w->slot_of[t];
  w->slot_t[w->nslots] = t;
  w->touched[w->nslots] = false;
  w->esc[w->nslots] = -1;
  for (int x = 0; x < 2; x++)
    for (int i = 0; i < w->ax[x].nt; i++) w->ax[x].need[w->nslots * w->ax[x].nt + i] = (Iv){0, 0};
  w->slot_of[t] = w->nslots;
  return w->nslots++;
}

static void window_free(Window *w) {
  if (w->slot_of)
    for (int s = 0; s < w->nslots; s++) w->slot_of[w->slot_t[s]] = -1;
  xfree(w->slot_t);
  xfree(w->slot_of);
  xfree(w->touched);
  xfree(w->esc);
  xfree(w->reach);
  xfree(w->ax[0].need);
  xfree(w->ax[1].need);
  memset(w, 0, sizeof *w);
}

/* A window for the nests w0..b with nest b's output cut into tiles; no nest
 * added yet (window_add adds them from b downwards). */
static Rc window_init(Window *w, SchedModel *sm, const SchedGroup *cfg, uint32_t w0, uint32_t b) {
  memset(w, 0, sizeof *w);
  w->sm = sm, w->cfg = *cfg, w->w0 = w0, w->b = b;
  const Module *m = sm->m;
  int maxslots = 1;
  for (uint32_t k = w0; k <= b; k++) maxslots += sm->ni[k].nout + sm->ni[k].nin;
  const NInfo *nb = &sm->ni[b];
  if (!nb->tileable || !nb->groupable) {
    w->bad = 1, w->why = "its last nest's output cannot be cut into tiles of rows and columns";
    return RC_OK;
  }
  const TInfo *tb = &sm->ti[nb->out[0]];
  int64_t tile[2] = {cfg->tile[0], cfg->tile[1]}, ext[2] = {tb->rows, tb->cols};
  for (int x = 0; x < 2; x++) {
    if (tile[x] < 1 || tile[x] > ext[x]) {
      w->bad = 1, w->why = "its tile is not within the last nest's output";
      return RC_OK;
    }
    w->ax[x].nt = (int)ceil_div(ext[x], tile[x]);
  }
  w->slot_t = xcalloc((size_t)maxslots, sizeof *w->slot_t);
  w->slot_of = xmalloc(sizeof *w->slot_of * (m->ntensors ? m->ntensors : 1));
  w->touched = xcalloc((size_t)maxslots, sizeof *w->touched);
  w->esc = xcalloc((size_t)maxslots, sizeof *w->esc);
  w->reach = xcalloc(b - w0 + 1, sizeof *w->reach);
  w->ax[0].need = xcalloc((size_t)maxslots * (size_t)w->ax[0].nt, sizeof(Iv));
  w->ax[1].need = xcalloc((size_t)maxslots * (size_t)w->ax[1].nt, sizeof(Iv));
  if (!w->slot_t || !w->slot_of || !w->touched || !w->esc || !w->reach || !w->ax[0].need ||
      !w->ax[1].need)
    return RC_INTERNAL;
  for (uint32_t t = 0; t < m->ntensors; t++) w->slot_of[t] = -1;
  int sb = slot_get(w, nb->out[0]);
  w->touched[sb] = true;
  for (int x = 0; x < 2; x++)
    for (int i = 0; i < w->ax[x].nt; i++) {
      int64_t lo = (int64_t)i * tile[x], hi = lo + tile[x];
      w->ax[x].need[sb * w->ax[x].nt + i] = (Iv){lo, hi < ext[x] ? hi : ext[x]};
    }
  return RC_OK;
}

/* Whether slot s's intervals move forward from tile to tile (they do for
 * affine accesses with non-negative coefficients; checked, not assumed). */
static bool slot_forward(const Window *w, int s) {
  for (int x = 0; x < 2; x++) {
    const Axis *A = &w->ax[x];
    Iv prev = {INT64_MIN, INT64_MIN};
    for (int i = 0; i < A->nt; i++) {
      Iv v = A->need[s * A->nt + i];
      if (v.hi <= v.lo) continue;
      if (v.lo < prev.lo || v.hi < prev.hi) return false;
      prev = v;
    }
  }
  return true;
}

/* Adds nest k (every nest after it in the window already added): if its
 * output is needed, marks it as leading to b and widens what its inputs
 * must supply per tile (hull over its consumers, clipped to the tensor).
 * changed[] gets the slots it widened. */
static void window_add(Window *w, uint32_t k, int *changed, int *nchanged) {
  SchedModel *sm = w->sm;
  const Module *m = sm->m;
  const NInfo *ni = &sm->ni[k];
  *nchanged = 0;
  int so = ni->nout == 1 ? w->slot_of[ni->out[0]] : -1;
  if (so < 0 || !w->touched[so] || !ni->tileable || !ni->groupable) return;
  w->reach[k - w->w0] = true;
  const Nest *n = &m->nests[k];
  /* A nest reducing over its output's rows or columns (a softmax over the
   * key axis: each output depends on its whole row) needs that axis whole
   * in every tile; so do the groups holding it, so the window is bad. */
  for (int x = 0; x < 2; x++) {
    const NestDim *od = &n->dims[x ? ni->cd : ni->rd];
    for (int i = 0; od->reduce && i < w->ax[x].nt; i++) {
      Iv o = w->ax[x].need[so * w->ax[x].nt + i];
      if (o.hi <= o.lo || (o.lo == 0 && o.hi >= od->bound)) continue;
      snprintf(w->whybuf, sizeof w->whybuf,
               "nest '%s' reduces over its output's %s, which this group's tiles cut (tile %d "
               "needs %" PRId64 "..%" PRId64 " of %" PRId64 "): its tiles must span them whole",
               n->name, x ? "columns" : "rows", i, o.lo, o.hi, od->bound);
      w->bad = 1, w->why = w->whybuf;
      return;
    }
  }
  for (int q = 0; q < ni->nin; q++) {
    if (ni->in[q].w) continue; /* a W activation is read as weights are: not a slot */
    const Access *ac = &n->acc[ni->in[q].acc];
    const TInfo *ti = &sm->ti[ni->in[q].tensor];
    int si = slot_get(w, ni->in[q].tensor);
    w->touched[si] = true;
    bool grew = false;
    for (int x = 0; x < 2; x++) {
      const Affine *e = &ac->idx[2 + x];
      int own = x ? ni->cd : ni->rd;
      int64_t win = 0, lim = x ? ti->cols : ti->rows;
      for (int dd = 0; dd < n->ndims; dd++)
        if (dd != own) win += e->coef[dd] * (n->dims[dd].bound - 1);
      Axis *A = &w->ax[x];
      for (int i = 0; i < A->nt; i++) {
        Iv o = A->need[so * A->nt + i];
        if (o.hi <= o.lo) continue;
        /* The nest computes output rows o (its row dim's values). */
        Iv v = {e->coef[own] * o.lo + e->cst, e->coef[own] * (o.hi - 1) + win + e->cst + 1};
        if (v.lo < 0) v.lo = 0;
        if (v.hi > lim) v.hi = lim;
        if (v.hi <= v.lo) continue;
        Iv *nv = &A->need[si * A->nt + i];
        if (nv->hi <= nv->lo) {
          *nv = v, grew = true;
        } else {
          if (v.lo < nv->lo) nv->lo = v.lo, grew = true;
          if (v.hi > nv->hi) nv->hi = v.hi, grew = true;
        }
      }
    }
    if (grew) {
      int j = 0;
      while (j < *nchanged && changed[j] != si) j++;
      if (j == *nchanged) changed[(*nchanged)++] = si;
    }
  }
}

/* Rows (x = 0) or columns of a slot at tile i under the overlap policy:
 * what a tile computes or copies in (need, or the new part), and what it
 * copies out (always the new part). */
static Iv axis_need(const Window *w, int x, int s, int i) {
  return w->ax[x].need[s * w->ax[x].nt + i];
}

/* Whether the policy computes (and copies in) only the new part along axis x. */
static bool policy_new(int overlap, int x) {
  return overlap == OVERLAP_CACHE_ALL || (overlap == OVERLAP_CACHE_H && x == 1);
}

/* Whether the tiles compute all of slot s that its tensor holds (the sum of
 * the new parts covers it): a tensor needed after the group must be whole. */
static bool slot_whole(const Window *w, int s) {
  const TInfo *ti = &w->sm->ti[w->slot_t[s]];
  for (int x = 0; x < 2; x++) {
    int64_t covered = 0, hi = INT64_MIN;
    for (int i = 0; i < w->ax[x].nt; i++) {
      Iv v = axis_need(w, x, s, i);
      covered += iv_len(iv_new(v, hi));
      if (v.hi > v.lo && v.hi > hi) hi = v.hi;
    }
    if (covered != (x ? ti->cols : ti->rows)) return false;
  }
  return true;
}

/* ---- whether a tensor leaves a group ------------------------------------------- */

/* Whether activation t, or anything derived from it by non-mac nests inside
 * [a, b], is read after b or is a graph output (then its mac producer's
 * output must still go to DRAM; see the file comment). */
static bool escapes(const SchedModel *sm, uint32_t t, uint32_t b, int depth) {
  const TInfo *ti = &sm->ti[t];
  if (ti->graph_out || ti->last_cons > (int32_t)b) return true;
  if (depth > 64) return true;
  for (uint32_t c = ti->cons0; c < ti->cons1; c++) {
    const NInfo *nc = &sm->ni[sm->cons[c]];
    if (nc->mac) continue;
    for (int k = 0; k < nc->nout; k++)
      if (escapes(sm, nc->out[k], b, depth + 1)) return true;
  }
  return false;
}

/* escapes() of a window's slot, memoised (it depends on the window's b only). */
static bool slot_escapes(Window *w, int s) {
  if (w->esc[s] < 0) w->esc[s] = escapes(w->sm, w->slot_t[s], w->b, 0);
  return w->esc[s];
}

/* ---- one nest's cost in a group ---------------------------------------------- */

/* The cost of mac nest k in a depth-first window; copyin: it copies in its
 * I (a group input it is the first mac nest of the group to read).  Fills
 * r (when not NULL) with the full CostResult.  COST_OK or why not. */
static int nest_cost_depth(Window *w, uint32_t k, bool copyin, double *energy, int64_t *cycles,
                           int64_t *wtile, CostResult *r) {
  SchedModel *sm = w->sm;
  const NInfo *ni = &sm->ni[k];
  int h = w->cfg.home;
  bool wres = w->cfg.weights_home;
  int so = w->slot_of[ni->out[0]];
  int si = w->slot_of[ni->itensor];
  bool esc = k == w->b || slot_escapes(w, so);
  const TInfo *to = &sm->ti[ni->out[0]], *tin = &sm->ti[ni->itensor];
  /* Classes of tiles along each axis: (computed, copied in, copied out, first). */
  typedef struct {
    int64_t comp, cin, cout, n;
    bool first;
  } Cls;
  Cls *cls[2] = {NULL, NULL};
  int ncls[2] = {0, 0};
  int err = COST_OK;
  for (int x = 0; x < 2 && !err; x++) {
    const Axis *A = &w->ax[x];
    cls[x] = xcalloc((size_t)A->nt, sizeof(Cls));
    if (!cls[x]) {
      err = COST_EUNSUPPORTED;
      break;
    }
    bool pn = policy_new(w->cfg.overlap, x);
    int64_t so_hi = INT64_MIN, si_hi = INT64_MIN; /* the furthest an earlier tile reached */
    for (int i = 0; i < A->nt; i++) {
      Iv o = axis_need(w, x, so, i), in = copyin ? axis_need(w, x, si, i) : (Iv){0, 0};
      Iv on = iv_new(o, so_hi), inn = iv_new(in, si_hi);
      if (o.hi > o.lo && o.hi > so_hi) so_hi = o.hi;
      if (in.hi > in.lo && in.hi > si_hi) si_hi = in.hi;
      Cls c = {iv_len(pn ? on : o), iv_len(pn ? inn : in), esc ? iv_len(on) : 0, 1, wres && i == 0};
      int j = 0;
      while (j < ncls[x] && !(cls[x][j].comp == c.comp && cls[x][j].cin == c.cin &&
                              cls[x][j].cout == c.cout && cls[x][j].first == c.first))
        j++;
      if (j == ncls[x])
        cls[x][ncls[x]++] = c;
      else
        cls[x][j].n++;
    }
  }
  double en = 0;
  int64_t cyc = 0, wt = 0;
  if (r) memset(r, 0, sizeof *r);
  for (int i = 0; !err && i < ncls[0]; i++)
    for (int j = 0; !err && j < ncls[1]; j++) {
      const Cls *cr = &cls[0][i], *cc = &cls[1][j];
      int64_t mult = cr->n * cc->n;
      Copies cp = {tin->depth * cr->cin * cc->cin, to->depth * cr->cout * cc->cout,
                   cr->first && cc->first ? ni->wwords : 0};
      double te;
      int64_t tc;
      if (cr->comp == 0 || cc->comp == 0) {
        /* Nothing new to compute here; only the copies, if any. */
        if (!cp.in && !cp.out && !cp.w) continue;
        CostResult z;
        memset(&z, 0, sizeof z);
        z.nlevels = sm->a->nlevels;
        z.level[0].utilized_instances = 1;
        z.level[h].utilized_instances = 1;
        add_copies(&z, sm->a, h, &cp);
        finish(&z, sm->a);
        te = z.energy_pj, tc = z.cycles;
        if (r) accumulate(r, &z, mult);
      } else {
        const TileSum *e = tile_get(sm, k, cr->comp, cc->comp, h, wres);
        if (!e) {
          err = COST_EUNSUPPORTED;
          break;
        }
        if (e->err) {
          err = e->err;
          break;
        }
        if (e->w_tile_home > wt) wt = e->w_tile_home;
        tile_sum_finish(sm, e, h, &cp, &te, &tc);
        if (r) {
          CostResult t;
          err = tile_eval(sm, k, cr->comp, cc->comp, h, wres, &t);
          if (err) break;
          add_copies(&t, sm->a, h, &cp);
          finish(&t, sm->a);
          accumulate(r, &t, mult);
        }
      }
      en += (double)mult * te;
      cyc += mult * tc;
    }
  xfree(cls[0]);
  xfree(cls[1]);
  if (err) return err;
  if (r) accumulate_done(r, sm->a);
  *energy = en, *cycles = cyc, *wtile = wt;
  return COST_OK;
}

/* O's state in a layer-by-layer group ending at b. */
enum { O_DRAM = 0, O_RESIDENT, O_RESIDENT_COPY };

static int o_state(const SchedModel *sm, uint32_t k, uint32_t b) {
  const TInfo *to = &sm->ti[sm->ni[k].out[0]];
  /* consumed inside the group: its first consumer is at or before b */
  if (to->cons1 == to->cons0 || sm->cons[to->cons0] > b) return O_DRAM;
  return escapes(sm, sm->ni[k].out[0], b, 0) ? O_RESIDENT_COPY : O_RESIDENT;
}

/* Mac nest k in a layer-by-layer group at home h: I resident (ires) and O
 * in state os.  Fills r (may be NULL). */
static int nest_cost_layer(const SchedModel *sm, uint32_t k, int h, bool ires, int os,
                           double *energy, int64_t *cycles, int64_t *nonres_home, CostResult *r) {
  const NInfo *ni = &sm->ni[k];
  CostResult t = ni->layer;
  int err = COST_OK;
  if (ires) err = relocate(&t, sm->a, h, TENSOR_I);
  if (!err && os != O_DRAM) err = relocate(&t, sm->a, h, TENSOR_O);
  if (err) return err;
  if (os == O_RESIDENT_COPY) {
    Copies cp = {0, ni->owords, 0};
    add_copies(&t, sm->a, h, &cp);
  }
  if (ires || os != O_DRAM) finish(&t, sm->a);
  int64_t nr = 0;
  for (int x = 0; x < NTENSORS; x++) {
    bool res = (x == TENSOR_I && ires) || (x == TENSOR_O && os != O_DRAM);
    if (!res) nr += ni->layer.level[h].tile_words[x];
  }
  *energy = t.energy_pj, *cycles = t.cycles, *nonres_home = nr;
  if (r) *r = t;
  return COST_OK;
}

/* ---- groups ---------------------------------------------------------------------- */

static int64_t home_capacity(const Level *lv) {
  if (lv->capacity_words <= 0) return INT64_MAX / 4;
  double mb = lv->multiple_buffering > 0 ? lv->multiple_buffering : 1;
  return (int64_t)floor((double)lv->capacity_words / mb);
}

/* Whether activations (act) and weights (w) fit at level h, with its
 * per-tensor limits: activations within I's and O's together, weights
 * within W's. */
static bool fits(const Level *lv, int64_t act, int64_t w) {
  int64_t cap = home_capacity(lv);
  const int64_t *tc = lv->tensor_capacity_words;
  if (act + w > cap) return false;
  if (tc[TENSOR_I] > 0 && tc[TENSOR_O] > 0 && act > tc[TENSOR_I] + tc[TENSOR_O]) return false;
  if (tc[TENSOR_W] > 0 && w > tc[TENSOR_W]) return false;
  return true;
}

/* Structural rules of [a, b]: every nest may join a group, every tensor a
 * nest of it writes has all its writers in it, and its nests are connected
 * through the tensors they pass each other.  NULL, or what is wrong. */
static const char *range_rules(const SchedModel *sm, uint32_t a, uint32_t b) {
  uint32_t n = b - a + 1;
  uint32_t par[64];
  if (n > 64) return "a group has at most 64 nests";
  for (uint32_t i = 0; i < n; i++) par[i] = i;
  for (uint32_t k = a; k <= b; k++) {
    const NInfo *ni = &sm->ni[k];
    if (!ni->groupable) return "a mac nest whose I operand is a constant runs alone";
    for (int q = 0; q < ni->nout; q++) {
      const TInfo *ti = &sm->ti[ni->out[q]];
      if (ti->first_prod < (int32_t)a || ti->last_prod > (int32_t)b)
        return "a tensor written by a nest of the group is also written by a nest outside it";
    }
    for (int q = 0; q < ni->nin; q++) {
      const TInfo *ti = &sm->ti[ni->in[q].tensor];
      if (ti->first_prod < (int32_t)a) continue;
      if (ni->in[q].w) /* read as weights are: from DRAM, or copied to home before the group */
        return "a mac nest's W operand (an activation) is written inside the group";
      for (int32_t p = ti->first_prod; p <= ti->last_prod; p++) {
        const NInfo *np = &sm->ni[p];
        bool writes = false;
        for (int z = 0; z < np->nout; z++) writes |= np->out[z] == ni->in[q].tensor;
        if (!writes) continue;
        uint32_t x = (uint32_t)p - a, y = k - a;
        while (par[x] != x) x = par[x];
        while (par[y] != y) y = par[y];
        par[x] = y;
      }
    }
  }
  uint32_t root = 0;
  while (par[root] != root) root = par[root];
  for (uint32_t i = 1; i < n; i++) {
    uint32_t x = i;
    while (par[x] != x) x = par[x];
    if (x != root) return "its nests are not connected: no tensor passes between two parts of it";
  }
  return NULL;
}

/* range_rules(a, b) == NULL, remembered for the last b asked about (the
 * search asks for one b under many settings). */
static bool rules_ok(SchedModel *sm, uint32_t a, uint32_t b) {
  if (sm->rules_b != b + 1) {
    sm->rules_b = b + 1;
    memset(sm->rules, 0, sizeof sm->rules);
  }
  if (b - a >= 64) return false;
  int8_t *r = &sm->rules[b - a];
  if (!*r) *r = range_rules(sm, a, b) ? -1 : 1;
  return *r > 0;
}

/* Peak activation words at home of a layer-by-layer group [a, b]: during
 * each nest, every tensor produced and read inside the group that is live
 * (from its first writer to its last reader in the group), plus the tiles
 * the nest's mapping keeps at home for what is not resident.  *res_only
 * gets the peak of the resident part alone (it only grows as a falls). */
static int64_t layer_peak(const SchedModel *sm, uint32_t a, uint32_t b, const int64_t *nonres,
                          int64_t *res_only) {
  int64_t peak = 0, rpeak = 0;
  for (uint32_t k = a; k <= b; k++) {
    int64_t occ = 0;
    for (uint32_t j = a; j <= k; j++) {
      const NInfo *nj = &sm->ni[j];
      for (int q = 0; q < nj->nout; q++) {
        const TInfo *ti = &sm->ti[nj->out[q]];
        if (ti->first_prod != (int32_t)j) continue; /* count each tensor once */
        /* the last reader inside the group */
        int32_t last = -1;
        for (uint32_t c = ti->cons0; c < ti->cons1; c++)
          if (sm->cons[c] <= b) last = (int32_t)sm->cons[c];
        if (last >= (int32_t)k) occ += ti->words;
      }
    }
    if (occ > rpeak) rpeak = occ;
    occ += nonres[k - a];
    if (occ > peak) peak = occ;
  }
  *res_only = rpeak;
  return peak;
}

/* What a depth-first group keeps at home for slot s, per tile: while the
 * tensor is live in the tile (from its writer, or the first mac nest that
 * copies it in, to its last reader in the group) its region, the largest
 * rows x columns any tile needs; at all times what the overlap policy keeps
 * for later tiles: the columns shared with the next tile (cached
 * horizontally) and, fully cached, the rows shared with the next row of
 * tiles at full width.  Largest over tiles per axis, so an upper bound. */
typedef struct {
  bool on;         /* kept at home at all */
  uint32_t ws, we; /* live from nest ws to nest we */
  int64_t extra;   /* words while live, beyond keep */
  int64_t keep;    /* words kept across the tile walk */
} Live;

static int64_t max_overlap(const Window *w, int x, int s) {
  int64_t o = 0;
  for (int i = 0; i + 1 < w->ax[x].nt; i++) {
    Iv p = axis_need(w, x, s, i), q = axis_need(w, x, s, i + 1);
    if (p.hi > p.lo && q.hi > q.lo && p.hi > q.lo) {
      int64_t v = (p.hi < q.hi ? p.hi : q.hi) - q.lo;
      if (v > o) o = v;
    }
  }
  return o;
}

static Live slot_live(const Window *w, int s, uint32_t a) {
  const SchedModel *sm = w->sm;
  uint32_t t = w->slot_t[s];
  const TInfo *ti = &sm->ti[t];
  Live lv = {false, 0, 0, 0, 0};
  bool produced = ti->first_prod >= (int32_t)a && ti->first_prod <= (int32_t)w->b;
  int32_t ws = produced ? ti->first_prod : -1, we = ws;
  for (uint32_t c = ti->cons0; c < ti->cons1; c++) {
    uint32_t r = sm->cons[c];
    if (r < a || r > w->b) continue;
    if (ws < 0 && sm->ni[r].mac) ws = (int32_t)r; /* staged: the first mac reader copies it in */
    if (ws >= 0 && (int32_t)r > we) we = (int32_t)r;
  }
  if (ws < 0) return lv; /* read from DRAM by vector nests only */
  int64_t mr = 0, mc = 0;
  for (int i = 0; i < w->ax[0].nt; i++) {
    int64_t l = iv_len(axis_need(w, 0, s, i));
    if (l > mr) mr = l;
  }
  for (int i = 0; i < w->ax[1].nt; i++) {
    int64_t l = iv_len(axis_need(w, 1, s, i));
    if (l > mc) mc = l;
  }
  int64_t region = ti->depth * mr * mc, cache_h = 0, line = 0;
  if (w->cfg.overlap != OVERLAP_RECOMPUTE) cache_h = ti->depth * mr * max_overlap(w, 1, s);
  if (w->cfg.overlap == OVERLAP_CACHE_ALL) line = ti->depth * max_overlap(w, 0, s) * ti->cols;
  lv.on = true, lv.ws = (uint32_t)ws, lv.we = (uint32_t)(we > ws ? we : ws);
  lv.keep = cache_h + line, lv.extra = region - cache_h;
  return lv;
}

/* The words at home per nest of the window: keep of every slot, plus extra
 * of the slots live at that nest. */
typedef struct {
  uint32_t amin;
  int64_t base; /* sum of keep */
  int64_t *occ; /* [k - amin]: sum of extra of the slots live at k */
  Live *slot;   /* current contribution of each slot */
} Occupancy;

static void occ_set(Occupancy *oc, int s, Live nv) {
  Live *o = &oc->slot[s];
  if (o->on) {
    oc->base -= o->keep;
    for (uint32_t k = o->ws; k <= o->we; k++) oc->occ[k - oc->amin] -= o->extra;
  }
  *o = nv;
  if (nv.on) {
    oc->base += nv.keep;
    for (uint32_t k = nv.ws; k <= nv.we; k++) oc->occ[k - oc->amin] += nv.extra;
  }
}

/* Whether the group [a, b] fits at home: at every nest k the activations
 * (base + occ) and the weights (all of them at home, or k's W tile). */
static bool occ_fits(const Occupancy *oc, const Level *hl, uint32_t a, uint32_t b, int64_t wres,
                     const int64_t *wtile) {
  for (uint32_t k = a; k <= b; k++) {
    int64_t w = wres ? wres : (wtile ? wtile[k - oc->amin] : 0);
    if (!fits(hl, oc->base + oc->occ[k - oc->amin], w)) return false;
  }
  return true;
}

/* Whether mac nest k copies its I in, in a depth-first group from a: I is a
 * group input and k is the group's first mac nest to read it. */
static bool first_mac_reader(const SchedModel *sm, uint32_t k, uint32_t a) {
  const TInfo *ti = &sm->ti[sm->ni[k].itensor];
  if (ti->first_prod >= (int32_t)a) return false;
  for (uint32_t c = ti->cons0; c < ti->cons1; c++) {
    uint32_t r = sm->cons[c];
    if (r >= a && r < k && sm->ni[r].mac) return false;
  }
  return true;
}

/* Whether every tensor nest k writes that leaves the depth-first group
 * (it is the last nest's, or read after it) is computed whole. */
static bool nest_whole(Window *w, uint32_t k) {
  const NInfo *ni = &w->sm->ni[k];
  for (int q = 0; q < ni->nout; q++) {
    int s = w->slot_of[ni->out[q]];
    if (s < 0) return false;
    if (k != w->b && !slot_escapes(w, s)) continue;
    if (!slot_whole(w, s)) return false;
  }
  return true;
}

/* Fills E[a - amin], C[a - amin], ok[a - amin] for every group [a, b] with
 * a in [amin, b) and the settings of cfg (first and last ignored).  The
 * costs of groups that cannot run are left alone, with ok false. */
Rc sched_range_costs(SchedModel *sm, const SchedGroup *cfg, uint32_t amin, uint32_t b, double *E,
                     int64_t *C, bool *ok) {
  uint32_t n = b - amin + 1;
  for (uint32_t i = 0; i < n; i++) ok[i] = false;
  if (n < 2 || !(sm->homes >> cfg->home & 1)) return RC_OK;
  const Level *hl = &sm->a->level[cfg->home];
  double *ek = xcalloc(2 * n, sizeof *ek);
  int64_t *ck = xcalloc(2 * n, sizeof *ck), *nonres = xcalloc(n, sizeof *nonres);
  int8_t *have = xcalloc(2 * n, 1);
  Window w;
  memset(&w, 0, sizeof w);
  Rc rc = (ek && ck && nonres && have) ? RC_OK : RC_INTERNAL;
  if (rc == RC_OK && cfg->mode == SCHED_LAYER) {
    for (uint32_t a = b; rc == RC_OK && a-- > amin;) {
      if (!rules_ok(sm, a, b)) continue;
      double en = 0;
      int64_t cy = 0;
      bool good = true;
      for (uint32_t k = a; k <= b && good; k++) {
        nonres[k - a] = 0;
        if (!sm->ni[k].mac) continue;
        const TInfo *ti = &sm->ti[sm->ni[k].itensor];
        bool ires = ti->first_prod >= (int32_t)a;
        double e1;
        int64_t c1;
        if (nest_cost_layer(sm, k, cfg->home, ires, o_state(sm, k, b), &e1, &c1, &nonres[k - a],
                            NULL)) {
          good = false;
          break;
        }
        en += e1, cy += c1;
      }
      if (!good) continue;
      int64_t res;
      int64_t peak = layer_peak(sm, a, b, nonres, &res);
      if (!fits(hl, res, 0)) break; /* longer groups only hold more */
      if (!fits(hl, peak, 0)) continue;
      E[a - amin] = en, C[a - amin] = cy, ok[a - amin] = true;
    }
  } else if (rc == RC_OK) {
    rc = window_init(&w, sm, cfg, amin, b);
    int *changed = NULL;
    Occupancy oc = {amin, 0, NULL, NULL};
    if (rc == RC_OK && !w.bad) {
      int maxslots = 1;
      for (uint32_t k = amin; k <= b; k++) maxslots += sm->ni[k].nout + sm->ni[k].nin;
      changed = xcalloc((size_t)maxslots + NEST_MAX_ACCESS * 2, sizeof *changed);
      oc.occ = xcalloc(n, sizeof *oc.occ);
      oc.slot = xcalloc((size_t)maxslots, sizeof *oc.slot);
      if (!changed || !oc.occ || !oc.slot) rc = RC_INTERNAL;
    }
    int64_t wsum = 0;
    for (uint32_t a = b + 1; rc == RC_OK && !w.bad && a-- > amin;) {
      const NInfo *na = &sm->ni[a];
      int nch;
      window_add(&w, a, changed, &nch);
      if (w.bad) break; /* a nest that needs whole rows or columns: longer groups hold it too */
      if (!w.reach[a - amin]) break; /* every nest must lead to b: so must every longer group's */
      bool fwd = true;
      for (int q = 0; q < nch; q++) {
        int s = changed[q];
        if (!slot_forward(&w, s)) fwd = false;
        /* a staged input grew: the mac nests copying it in cost more */
        for (uint32_t k = a + 1; k <= b; k++)
          if (sm->ni[k].mac && sm->ni[k].itensor == w.slot_t[s]) have[(k - amin) * 2 + 1] = 0;
      }
      if (!fwd) break;
      /* what changes at home: the slots that grew, nest a's outputs (now
       * written in the group) and inputs (a new reader) */
      for (int q = 0; q < na->nout + na->nin; q++) {
        int s = w.slot_of[q < na->nout ? na->out[q] : na->in[q - na->nout].tensor];
        if (s >= 0) changed[nch++] = s;
      }
      for (int q = 0; q < nch; q++) occ_set(&oc, changed[q], slot_live(&w, changed[q], a));
      if (na->mac) wsum += na->wwords;
      if (!occ_fits(&oc, hl, a, b, cfg->weights_home ? wsum : 0, NULL))
        break;                       /* longer groups hold more */
      if (!nest_whole(&w, a)) break; /* a tensor leaving it is not whole: nor in longer groups */
      if (a == b || !rules_ok(sm, a, b)) continue;
      /* costs: per mac nest, with or without copying its I in */
      double en = 0;
      int64_t cy = 0;
      bool good = true;
      for (uint32_t k = a; k <= b && good; k++) {
        const NInfo *ni = &sm->ni[k];
        if (!ni->mac) continue;
        bool copyin = first_mac_reader(sm, k, a);
        int v = (int)(k - amin) * 2 + copyin;
        if (!have[v]) {
          int64_t wt;
          int err = nest_cost_depth(&w, k, copyin, &ek[v], &ck[v], &wt, NULL);
          have[v] = err ? -1 : 1;
          nonres[k - amin] = wt;
        }
        if (have[v] < 0) {
          good = false;
          break;
        }
        en += ek[v], cy += ck[v];
      }
      if (!good) continue;
      if (!cfg->weights_home && !occ_fits(&oc, hl, a, b, 0, nonres)) continue;
      E[a - amin] = en, C[a - amin] = cy, ok[a - amin] = true;
    }
    xfree(changed);
    xfree(oc.occ);
    xfree(oc.slot);
  }
  window_free(&w);
  xfree(ek);
  xfree(ck);
  xfree(nonres);
  xfree(have);
  return rc;
}

/* The cost of one group, with each mac nest's full result in res[k - first]
 * (NULL: only the totals), or a report of why it cannot run at `where`. */
static Rc group_eval(SchedModel *sm, const SchedGroup *g, CostResult *res, double *energy,
                     int64_t *cycles, const char *where, Diag *d) {
  const Module *m = sm->m;
  char gname[512], buf[512];
  if (g->first < sm->n && g->last < sm->n)
    snprintf(gname, sizeof gname, "%s%sgroup '%s'..'%s'", where ? where : "", where ? ": " : "",
             m->nests[g->first].name, m->nests[g->last].name);
  else
    snprintf(gname, sizeof gname, "%s%sgroup %u..%u", where ? where : "", where ? ": " : "",
             g->first, g->last);
#define BAD(...)                       \
  do {                                 \
    diag_error(d, gname, __VA_ARGS__); \
    return RC_BADINPUT;                \
  } while (0)
  if (g->first >= g->last || g->last >= sm->n) BAD("a group needs two or more consecutive nests");
  if (g->home >= sm->a->nlevels || !(sm->homes >> g->home & 1))
    BAD("level '%s' of '%s' cannot hold a group's activations (a home level is on chip, has one instance, and "
        "may keep I and O)",
        g->home < sm->a->nlevels ? sm->a->level[g->home].name : "?", sm->a->name);
  if (g->mode == SCHED_DEPTH && g->weights_home &&
      !(sm->a->level[g->home].keeps_allowed >> TENSOR_W & 1))
    BAD("level '%s' may not keep weights", sm->a->level[g->home].name);
  for (uint32_t k = g->first; k <= g->last; k++)
    if (!sm->ni[k].groupable)
      BAD("mac nest '%s' runs alone: its I operand is a constant or missing", m->nests[k].name);
  const char *why = range_rules(sm, g->first, g->last);
  if (why) BAD("%s", why);
  uint32_t n = g->last - g->first + 1;
  double *E = xcalloc(n, sizeof *E);
  int64_t *C = xcalloc(n, sizeof *C);
  bool *ok = xcalloc(n, sizeof *ok);
  Rc rc = (E && C && ok) ? sched_range_costs(sm, g, g->first, g->last, E, C, ok) : RC_INTERNAL;
  bool good = rc == RC_OK && ok[0];
  double en = good ? E[0] : 0;
  int64_t cy = good ? C[0] : 0;
  xfree(E);
  xfree(C);
  xfree(ok);
  if (rc != RC_OK) return rc;
  /* A depth-first window with every nest of the group added, as
   * sched_range_costs had it when it reached g->first. */
  Window w;
  memset(&w, 0, sizeof w);
  const char *msg = NULL;
  if (g->mode == SCHED_DEPTH) {
    rc = window_init(&w, sm, g, g->first, g->last);
    int *changed = xcalloc(NEST_MAX_ACCESS + 1, sizeof *changed);
    if (rc == RC_OK && !changed) rc = RC_INTERNAL;
    msg = w.bad ? w.why : NULL;
    for (uint32_t k = g->last + 1; rc == RC_OK && !msg && k-- > g->first;) {
      int nch;
      window_add(&w, k, changed, &nch);
      if (w.bad) { /* why is in w, which is freed before the report */
        snprintf(buf, sizeof buf, "%s", w.why);
        msg = buf;
        break;
      }
      if (!w.reach[k - g->first]) {
        snprintf(buf, sizeof buf, "nest '%s' cannot run depth-first here: %s", m->nests[k].name,
                 sm->ni[k].tileable ? "its output does not lead to the group's last nest"
                                    : "its accesses cannot be cut into tiles of rows and columns");
        msg = buf;
      }
    }
    xfree(changed);
    for (uint32_t k = g->first; rc == RC_OK && !msg && !good && k <= g->last; k++)
      if (!nest_whole(&w, k))
        msg = "a tensor read after the group is not computed whole by its tiles";
  }
  if (rc == RC_OK && !good) {
    if (!msg && g->mode == SCHED_DEPTH)
      snprintf(buf, sizeof buf,
               "its activations do not fit level '%s' (%" PRId64 " words) with tiles of %" PRId64
               "x%" PRId64 ", or a tile's mapping does not evaluate there",
               sm->a->level[g->home].name, home_capacity(&sm->a->level[g->home]), g->tile[0],
               g->tile[1]);
    else if (!msg)
      snprintf(buf, sizeof buf,
               "its resident activations do not fit level '%s' (%" PRId64
               " words), or a mapping keeps "
               "them at a level above it",
               sm->a->level[g->home].name, home_capacity(&sm->a->level[g->home]));
    if (!msg) msg = buf;
    window_free(&w);
    BAD("%s", msg);
  }
#undef BAD
  *energy = en, *cycles = cy;
  /* The full results, nest by nest, as sched_range_costs counted them. */
  for (uint32_t k = g->first; res && k <= g->last && rc == RC_OK; k++) {
    const NInfo *ni = &sm->ni[k];
    CostResult *r = &res[k - g->first];
    memset(r, 0, sizeof *r);
    if (!ni->mac) continue;
    double e1;
    int64_t c1, x;
    int err;
    if (g->mode == SCHED_LAYER)
      err = nest_cost_layer(sm, k, g->home, sm->ti[ni->itensor].first_prod >= (int32_t)g->first,
                            o_state(sm, k, g->last), &e1, &c1, &x, r);
    else
      err = nest_cost_depth(&w, k, first_mac_reader(sm, k, g->first), &e1, &c1, &x, r);
    if (err) rc = RC_INTERNAL;
  }
  window_free(&w);
  return rc;
}

Rc sched_group_check(SchedModel *sm, const SchedGroup *g, const char *where, Diag *d) {
  double e;
  int64_t c;
  return group_eval(sm, g, NULL, &e, &c, where, d);
}

Rc schedule_eval(SchedModel *sm, const Schedule *s, CostResult *per_nest, SchedTotals *tot,
                 Diag *d) {
  const Module *m = sm->m;
  memset(tot, 0, sizeof *tot);
  uint32_t next = 0;
  for (uint32_t g = 0; g < s->ngroups; g++) {
    const SchedGroup *gr = &s->group[g];
    if (gr->first < next || gr->first >= gr->last || gr->last >= sm->n) {
      diag_error(d, "schedule", "group %u: nests %u..%u are not a range after the previous group",
                 g, gr->first, gr->last);
      return RC_BADINPUT;
    }
    next = gr->last + 1;
  }
  /* Nests in no group: their layer results. */
  for (uint32_t i = 0; i < m->nnests; i++) {
    memset(&per_nest[i], 0, sizeof per_nest[i]);
    if (sm->ni[i].mac) per_nest[i] = sm->ni[i].layer;
  }
  for (uint32_t g = 0; g < s->ngroups; g++) {
    const SchedGroup *gr = &s->group[g];
    double e;
    int64_t c;
    Rc rc = group_eval(sm, gr, per_nest + gr->first, &e, &c, NULL, d);
    if (rc != RC_OK) return rc;
  }
  /* Totals in nest order, as the layer report adds them. */
  for (uint32_t i = 0; i < m->nnests; i++) {
    if (!sm->ni[i].mac) continue;
    const CostResult *r = &per_nest[i];
    tot->energy_pj += r->energy_pj;
    tot->cycles += r->cycles;
    tot->macs += r->macs;
    for (int t = 0; t < NTENSORS; t++)
      tot->dram_words +=
          r->level[0].total[t].reads + r->level[0].total[t].fills + r->level[0].total[t].updates;
  }
  tot->edp = tot->energy_pj * (double)tot->cycles;
  return RC_OK;
}

/* ---- fused groups of the loop-nest IR ---------------------------------------------- */

static int add_resident(NestResident *out, int n, int max, uint32_t t, int how) {
  for (int r = 0; r < n; r++)
    if (out[r].tensor == t) {
      if (how > out[r].how) out[r].how = (uint8_t)how;
      return n;
    }
  if (n == max) return -1;
  out[n].tensor = t;
  out[n].how = (uint8_t)how;
  return n + 1;
}

int sched_group_residents(const SchedModel *sm, const SchedGroup *g, NestResident *out, int max) {
  int n = 0;
  for (uint32_t k = g->first; k <= g->last && k < sm->n && n >= 0; k++) {
    const NInfo *ni = &sm->ni[k];
    if (!ni->mac) continue;
    uint32_t o = ni->out[0];
    if (g->mode == SCHED_LAYER) {
      if (sm->ti[ni->itensor].first_prod >= (int32_t)g->first)
        n = add_resident(out, n, max, ni->itensor, RES_KEEP);
      int os = o_state(sm, k, g->last);
      if (n >= 0 && os != O_DRAM)
        n = add_resident(out, n, max, o, os == O_RESIDENT_COPY ? RES_COPY_OUT : RES_KEEP);
    } else {
      n = add_resident(out, n, max, ni->itensor,
                       first_mac_reader(sm, k, g->first) ? RES_COPY_IN : RES_KEEP);
      if (n >= 0)
        n = add_resident(out, n, max, o,
                         k == g->last || escapes(sm, o, g->last, 0) ? RES_COPY_OUT : RES_KEEP);
    }
  }
  return n;
}

Rc sched_attach(SchedModel *sm, const Schedule *s, Module *m, Diag *d) {
  const Arch *a = sm->a;
  NestResident *res = xcalloc(2 * (size_t)NEST_MAX_ACCESS * 64, sizeof *res);
  if (!res) return RC_INTERNAL;
  Rc rc = RC_OK;
  m->ngroups = 0;
  for (uint32_t k = 0; k < s->ngroups && rc == RC_OK; k++) {
    const SchedGroup *sg = &s->group[k];
    NestGroup g;
    memset(&g, 0, sizeof g);
    g.g = *sg;
    snprintf(g.target, sizeof g.target, "%s", a->name);
    snprintf(g.home, sizeof g.home, "%s", sg->home < a->nlevels ? a->level[sg->home].name : "?");
    if (sg->mode == SCHED_DEPTH) {
      int64_t rows = 0, cols = 0;
      sched_nest_tileable(sm, sg->last, &rows, &cols);
      g.ntiles[0] = sg->tile[0] > 0 ? rows / sg->tile[0] + (rows % sg->tile[0] != 0) : 0;
      g.ntiles[1] = sg->tile[1] > 0 ? cols / sg->tile[1] + (cols % sg->tile[1] != 0) : 0;
    }
    g.nres = sched_group_residents(sm, sg, res, 2 * NEST_MAX_ACCESS * 64);
    g.res = res;
    if (g.nres < 0) {
      diag_error(d, nest_group_where(m, &g), "too many resident tensors");
      rc = RC_BADINPUT;
    } else if (!module_add_group(m, &g)) {
      rc = RC_INTERNAL;
    }
  }
  xfree(res);
  return rc;
}

Rc sched_of_module(SchedModel *sm, const Module *m, Schedule *s, Diag *d) {
  const Arch *a = sm->a;
  int before = d->nerrors;
  memset(s, 0, sizeof *s);
  NestResident *res = xcalloc(2 * (size_t)NEST_MAX_ACCESS * 64, sizeof *res);
  if (!res) return RC_INTERNAL;
  for (uint32_t k = 0; k < m->ngroups; k++) {
    const NestGroup *g = &m->groups[k];
    const char *w = nest_group_where(m, g);
    if (strcmp(g->target, a->name) != 0) {
      diag_error(d, w, "group-target: fused for '%s', the target is '%s'", g->target, a->name);
      continue;
    }
    int h = 1;
    while (h < a->nlevels && strcmp(a->level[h].name, g->home) != 0) h++;
    if (h == a->nlevels) {
      diag_error(d, w, "group-home: '%s' has no on-chip level '%s'", a->name, g->home);
      continue;
    }
    SchedGroup sg = g->g;
    sg.home = (uint8_t)h;
    if (s->ngroups == SCHED_MAX_GROUPS) {
      diag_error(d, w, "more than %d groups", SCHED_MAX_GROUPS);
      break;
    }
    /* Whether it can run (fits, rules), then its residency as counted. */
    const char *lc =
        g->line > 0 ? arena_printf((Arena *)&m->arena, "%d:%d", g->line, g->col) : NULL;
    if (sched_group_check(sm, &sg, lc, d) != RC_OK) continue;
    int n = sched_group_residents(sm, &sg, res, 2 * NEST_MAX_ACCESS * 64);
    bool same = n == g->nres;
    for (int r = 0; same && r < n; r++) {
      bool found = false;
      for (int q = 0; q < g->nres; q++)
        found = found || (g->res[q].tensor == res[r].tensor && g->res[q].how == res[r].how);
      same = found;
    }
    if (!same) {
      char want[1024] = "";
      size_t len = 0;
      for (int r = 0; r < n && len + 1 < sizeof want; r++)
        len += (size_t)snprintf(want + len, sizeof want - len, "%s%s %%%s", r ? ", " : "",
                                nest_residency_names[res[r].how < 3 ? res[r].how : 0],
                                m->tensors[res[r].tensor].name);
      diag_error(d, w, "group-resident: the residency listed is not the schedule's: %s",
                 n ? want : "nothing resident");
      continue;
    }
    s->group[s->ngroups++] = sg;
  }
  xfree(res);
  return d->nerrors > before ? RC_BADINPUT : RC_OK;
}
