/*
 * dfplan.c: depth-first groups in the command stream (docs/cmd-format.md,
 * "Depth-first groups"): a nest cut down to a rectangle of its output's
 * rows and columns (tp_tile_nest, shared by the writer and the loader, so
 * the two cannot drift apart) and the writer's plan of a group's tiles
 * (tp_depth_plan).  A mapping shrunk to a tile is ir/'s
 * mapping_shrink_dims along the problem dims of the output's rows and
 * columns (P and Q, or an attention matmul's N and K), the one the cost
 * model costs tiles with.  A mac nest's W operand is never cut, even when
 * it is an activation (attention's K^T and V): every tile reads it whole,
 * as weights are, so it is no slot of the plan's window.
 *
 * The plan follows the cost model's rules (backend/schedule.c, "depth-first
 * regions" and nest_cost_depth) step by step: the last nest's output is
 * cut into tiles visited row-major; each tile's rows and columns are
 * propagated back through every nest's affine reads (hull over consumers,
 * clipped to the tensor); per overlap policy a nest computes what its
 * output's consumers need in the tile, or only the part beyond what earlier
 * tiles along that axis reached; a group input is copied in by the first
 * mac nest reading it (the need, or its new part, as computed); an output
 * leaving the group is copied out (its new part); weights kept at home are
 * copied in at the first tile.  runtime.fused checks the runtime's counts
 * of streams written from this plan against schedule_eval's, figure by
 * figure, so a drift between the two is a test failure.
 *
 * Invariants: nothing here allocates except tp_depth_plan's result.
 */
#include <string.h>

#include "stream/stream.h"

/* The one written access of n, or NULL. */
static const Access *out_access(const Nest *n) {
  const Access *o = NULL;
  for (int k = 0; k < n->nacc; k++)
    if (n->acc[k].kind != ACC_READ) {
      if (o) return NULL;
      o = &n->acc[k];
    }
  return o;
}

bool tp_row_col_dims(const Nest *n, int *rd, int *cd) {
  const Access *o = out_access(n);
  if (!o || o->ix != IX_AFFINE || o->rank != 4) return false;
  *rd = affine_plain_dim(&o->idx[2], n->ndims), *cd = affine_plain_dim(&o->idx[3], n->ndims);
  return *rd >= 0 && *cd >= 0 && *rd != *cd;
}

bool tp_tile_nest(const Nest *n, int64_t r0, int64_t rows, int64_t c0, int64_t cols, Nest *out) {
  int rd, cd;
  if (!tp_row_col_dims(n, &rd, &cd) || r0 < 0 || c0 < 0 || rows < 1 || cols < 1 ||
      rows > n->dims[rd].bound - r0 || cols > n->dims[cd].bound - c0)
    return false;
  *out = *n;
  out->dims[rd].bound = rows, out->dims[cd].bound = cols;
  /* The nest's row dim p now stands for p + r0, its column dim for q + c0. */
  for (int a = 0; a < out->nacc; a++) {
    Access *ac = &out->acc[a];
    if (ac->ix != IX_AFFINE) continue;
    for (int q = 0; q < ac->rank; q++)
      ac->idx[q].cst += ac->idx[q].coef[rd] * r0 + ac->idx[q].coef[cd] * c0;
  }
  return true;
}

/* ---- the writer's plan ------------------------------------------------------------ */

static int64_t iv_len(TpIv v) { return v.hi > v.lo ? v.hi - v.lo : 0; }
static TpIv iv_new(TpIv v, int64_t hi) {
  if (hi > v.lo) v.lo = hi;
  return v;
}
static TpIv iv_pick(TpIv v, bool nonempty) { return nonempty ? v : (TpIv){0, 0}; }

static bool is_act(const Module *m, uint32_t t) {
  return t && t < m->ntensors && m->tensors[t].role != TR_WEIGHT;
}

static bool has_res(const NestGroup *fg, uint32_t t, uint8_t how) {
  for (int r = 0; r < fg->nres; r++)
    if (fg->res[r].tensor == t && fg->res[r].how == how) return true;
  return false;
}

Rc tp_depth_plan(const Module *m, const NestGroup *fg, TpDfStep **out, int64_t *nout,
                 const char **why) {
  *out = NULL, *nout = 0, *why = NULL;
  const SchedGroup *g = &fg->g;
  uint32_t f = g->first, b = g->last;
  if (g->mode != SCHED_DEPTH || b >= m->nnests || f > b) {
    *why = "not a depth-first group of this module";
    return RC_BADINPUT;
  }
  const Nest *nb = &m->nests[b];
  const Access *ob = out_access(nb);
  int rd, cd;
  if (!ob || !tp_row_col_dims(nb, &rd, &cd)) {
    *why = "its last nest's output is not cut into rows and columns";
    return RC_BADINPUT;
  }
  const NTensor *tb = &m->tensors[ob->tensor];
  int64_t ext[2] = {tb->dims[2], tb->dims[3]}, nt[2];
  for (int x = 0; x < 2; x++) {
    if (g->tile[x] < 1 || g->tile[x] > ext[x]) {
      *why = "its tile is not within the last nest's output";
      return RC_BADINPUT;
    }
    nt[x] = (ext[x] + g->tile[x] - 1) / g->tile[x];
  }
  uint32_t nn = b - f + 1;
  int maxslots = 1;
  for (uint32_t k = f; k <= b; k++) maxslots += m->nests[k].nacc;
  int32_t *slot_of = xmalloc(sizeof *slot_of * (m->ntensors + 1));
  uint32_t *slot_t = xcalloc((size_t)maxslots, sizeof *slot_t);
  TpIv *need[2] = {xcalloc((size_t)(maxslots * nt[0]), sizeof(TpIv)),
                   xcalloc((size_t)(maxslots * nt[1]), sizeof(TpIv))};
  bool *touched = xcalloc((size_t)maxslots, sizeof *touched);
  TpDfStep *st = xcalloc((size_t)(nn * nt[0] * nt[1]), sizeof *st);
  Rc rc = RC_OK;
  if (!slot_of || !slot_t || !need[0] || !need[1] || !touched || !st) {
    rc = RC_INTERNAL;
    *why = "out of memory";
    goto done;
  }
  for (uint32_t t = 0; t <= m->ntensors; t++) slot_of[t] = -1;
  int nslots = 0;
  slot_of[ob->tensor] = nslots, slot_t[nslots] = ob->tensor, touched[nslots++] = true;
  for (int x = 0; x < 2; x++)
    for (int64_t i = 0; i < nt[x]; i++) {
      int64_t lo = i * g->tile[x], hi = lo + g->tile[x];
      need[x][i] = (TpIv){lo, hi < ext[x] ? hi : ext[x]};
    }
  /* The window, from the last nest back (the cost model's window_add). */
  for (uint32_t k = b + 1; k-- > f;) {
    const Nest *n = &m->nests[k];
    const Access *o = out_access(n);
    int krd, kcd;
    if (!o || slot_of[o->tensor] < 0 || !touched[slot_of[o->tensor]] ||
        !tp_row_col_dims(n, &krd, &kcd)) {
      *why = "a nest's output does not lead to the group's last nest in rows and columns";
      rc = RC_BADINPUT;
      goto done;
    }
    int so = slot_of[o->tensor];
    for (int a = 0; a < n->nacc; a++) {
      const Access *ac = &n->acc[a];
      if (ac->kind != ACC_READ || !is_act(m, ac->tensor)) continue;
      if (n->kind == NK_MAC && ac->role == ROLE_W) continue; /* K^T, V: read whole, as weights */
      const NTensor *ti = &m->tensors[ac->tensor];
      if (ac->ix != IX_AFFINE || ac->rank != 4 || ti->rank != 4) {
        *why = "a nest reads an activation that is not cut into rows and columns";
        rc = RC_BADINPUT;
        goto done;
      }
      int si = slot_of[ac->tensor];
      if (si < 0) si = slot_of[ac->tensor] = nslots, slot_t[nslots++] = ac->tensor;
      touched[si] = true;
      for (int x = 0; x < 2; x++) {
        const Affine *e = &ac->idx[2 + x];
        int own = x ? kcd : krd;
        int64_t win = 0, lim = ti->dims[2 + x];
        for (int dd = 0; dd < n->ndims; dd++) {
          if (e->coef[dd] < 0) {
            *why = "a nest reads rows or columns with a negative coefficient";
            rc = RC_BADINPUT;
            goto done;
          }
          if (dd != own) win += e->coef[dd] * (n->dims[dd].bound - 1);
        }
        for (int64_t i = 0; i < nt[x]; i++) {
          TpIv ov = need[x][so * nt[x] + i];
          if (ov.hi <= ov.lo) continue;
          TpIv v = {e->coef[own] * ov.lo + e->cst, e->coef[own] * (ov.hi - 1) + win + e->cst + 1};
          if (v.lo < 0) v.lo = 0;
          if (v.hi > lim) v.hi = lim;
          if (v.hi <= v.lo) continue;
          TpIv *nv = &need[x][si * nt[x] + i];
          if (nv->hi <= nv->lo) {
            *nv = v;
          } else {
            if (v.lo < nv->lo) nv->lo = v.lo;
            if (v.hi > nv->hi) nv->hi = v.hi;
          }
        }
      }
    }
  }
  /* The steps: per tile, row-major, the group's nests in order. */
  int64_t ns = 0;
  bool pn[2] = {g->overlap == OVERLAP_CACHE_ALL, g->overlap != OVERLAP_RECOMPUTE};
  for (int64_t ti = 0; ti < nt[0]; ti++)
    for (int64_t tj = 0; tj < nt[1]; tj++)
      for (uint32_t k = f; k <= b; k++) {
        const Nest *n = &m->nests[k];
        const Access *o = out_access(n), *ia = nest_access(n, ROLE_I);
        int so = slot_of[o->tensor];
        bool mac = n->kind == NK_MAC && n->map;
        /* Copied in: a group input this is the group's first mac nest to read as I. */
        bool copyin = false;
        if (mac && ia && has_res(fg, ia->tensor, RES_COPY_IN)) {
          copyin = true;
          for (uint32_t j = f; j < k; j++) {
            const Access *ja = nest_access(&m->nests[j], ROLE_I);
            if (m->nests[j].kind == NK_MAC && m->nests[j].map && ja && ja->tensor == ia->tensor)
              copyin = false;
          }
        }
        bool esc = mac && (k == b || has_res(fg, o->tensor, RES_COPY_OUT));
        int si = copyin ? slot_of[ia->tensor] : -1;
        TpIv comp[2], cin[2], cout[2];
        for (int x = 0; x < 2; x++) {
          int64_t i = x ? tj : ti, hi_o = INT64_MIN, hi_i = INT64_MIN;
          for (int64_t e = 0; e < i; e++) {
            TpIv v = need[x][so * nt[x] + e];
            if (v.hi > v.lo && v.hi > hi_o) hi_o = v.hi;
            if (si >= 0) {
              TpIv w = need[x][si * nt[x] + e];
              if (w.hi > w.lo && w.hi > hi_i) hi_i = w.hi;
            }
          }
          TpIv ov = need[x][so * nt[x] + i], on = iv_new(ov, hi_o);
          comp[x] = pn[x] ? on : ov;
          TpIv iv = si >= 0 ? need[x][si * nt[x] + i] : (TpIv){0, 0};
          cin[x] = pn[x] ? iv_new(iv, hi_i) : iv;
          cout[x] = esc ? on : (TpIv){0, 0};
        }
        TpDfStep *s = &st[ns++];
        s->nest = k, s->tile = ti * nt[1] + tj;
        bool c = iv_len(comp[0]) && iv_len(comp[1]), ci = iv_len(cin[0]) && iv_len(cin[1]),
             co = iv_len(cout[0]) && iv_len(cout[1]);
        for (int x = 0; x < 2; x++) {
          s->comp[x] = iv_pick(comp[x], c);
          s->cin[x] = iv_pick(cin[x], ci);
          s->cout[x] = iv_pick(cout[x], co);
        }
        s->wcopy = mac && g->weights_home && ti == 0 && tj == 0;
        if (!c && !ci && !co && !s->wcopy) ns--; /* nothing to do */
      }
  *out = st, *nout = ns;
  st = NULL;
done:
  xfree(slot_of);
  xfree(slot_t);
  xfree(need[0]);
  xfree(need[1]);
  xfree(touched);
  xfree(st);
  return rc;
}
