/*
 * nest_verify.c: the verifier of the loop-nest IR.  Each message names the
 * nest and the rule it breaks, so tests can name the rule:
 *   dim-bound        every dim has bound >= 1
 *   access-rank      an affine access has one index per tensor dim
 *   access-bounds    an index stays within the tensor, give or take its padding
 *   access-target    writes and updates go to values or outputs, never inputs or weights
 *   mac-shape        a mac nest updates one tensor and reads at least two
 *   def-before-use   a value is written by an earlier nest before it is read
 *   output-written   every value and output tensor is written by some nest
 *   map-coverage     a mapped mac nest's loops cover each dim exactly
 *   vop-kind         a nest's op is one of its kind (NAASC_VOPS)
 *   group-range      fused groups hold two or more consecutive nests, in order, disjoint
 *   group-tiles      a depth-first group's tile count covers its last nest's rank-4 output
 *   group-resident   a group's resident tensors are activations its nests access
 * The checks of a mapping against its architecture (fan-out, connectivity,
 * capacities, keep/bypass) and of a fused group's residency and fit need
 * the architecture: backend/ makes them (passes/builtin.c, verify).
 */
#include "ir/ir.h"

#include <inttypes.h>
#include <stdlib.h>

static const char *kind_name(NestKind k) {
  static const char *const names[] = {"mac", "vec", "move", "view"};
  return k >= NK_MAC && k <= NK_VIEW ? names[k] : "?";
}

static const char *where(const Module *m, const Nest *n) {
  return arena_printf((Arena *)&m->arena, "nest '%s'", n->name);
}

static void affine_range(const Nest *n, const Affine *a, int64_t *lo, int64_t *hi) {
  *lo = *hi = a->cst;
  for (int d = 0; d < n->ndims; d++) {
    int64_t span = a->coef[d] * (n->dims[d].bound - 1);
    if (span < 0)
      *lo += span;
    else
      *hi += span;
  }
}

const char *nest_group_where(const Module *m, const NestGroup *g) {
  const char *a = g->g.first < m->nnests ? m->nests[g->g.first].name : "?";
  const char *b = g->g.last < m->nnests ? m->nests[g->g.last].name : "?";
  if (g->line > 0)
    return arena_printf((Arena *)&m->arena, "%d:%d: fused group '%s'..'%s'", g->line, g->col, a, b);
  return arena_printf((Arena *)&m->arena, "fused group '%s'..'%s'", a, b);
}

/* Tiles of extent t that cut n (both >= 1), without overflow. */
static int64_t tiles_of(int64_t n, int64_t t) { return n / t + (n % t != 0); }

static void verify_groups(const Module *m, Diag *d) {
  uint32_t next = 0;
  for (uint32_t k = 0; k < m->ngroups; k++) {
    const NestGroup *g = &m->groups[k];
    const char *w = nest_group_where(m, g);
    if (g->g.first < next || g->g.first >= g->g.last || g->g.last >= m->nnests) {
      diag_error(
          d, w,
          "group-range: nests %u..%u are not two or more consecutive nests after the previous group",
          g->g.first, g->g.last);
      continue;
    }
    next = g->g.last + 1;
    if (g->g.mode == SCHED_DEPTH) {
      const Nest *n = &m->nests[g->g.last];
      const NTensor *t = NULL;
      for (int a = 0; a < n->nacc; a++)
        if (n->acc[a].kind != ACC_READ && n->acc[a].tensor && n->acc[a].tensor < m->ntensors)
          t = &m->tensors[n->acc[a].tensor];
      if (!t || t->rank != 4 || g->g.tile[0] < 1 || g->g.tile[1] < 1)
        diag_error(
            d, w,
            "group-tiles: a depth-first group's last nest must write a rank-4 tensor cut into tiles of at least 1x1");
      else if (g->ntiles[0] != tiles_of(t->dims[2], g->g.tile[0]) ||
               g->ntiles[1] != tiles_of(t->dims[3], g->g.tile[1]))
        diag_error(d, w,
                   "group-tiles: tiles of %" PRId64 "x%" PRId64 " cut %%%s (%" PRId64 "x%" PRId64
                   ") into %" PRId64 "x%" PRId64 ", not %" PRId64 "x%" PRId64,
                   g->g.tile[0], g->g.tile[1], t->name, t->dims[2], t->dims[3],
                   tiles_of(t->dims[2], g->g.tile[0]), tiles_of(t->dims[3], g->g.tile[1]),
                   g->ntiles[0], g->ntiles[1]);
    }
    for (int r = 0; r < g->nres; r++) {
      uint32_t t = g->res[r].tensor;
      bool used = false;
      for (uint32_t i = g->g.first; i <= g->g.last && !used && t && t < m->ntensors; i++)
        for (int a = 0; a < m->nests[i].nacc; a++) used = used || m->nests[i].acc[a].tensor == t;
      if (!used || m->tensors[t].role == TR_WEIGHT)
        diag_error(d, w, "group-resident: %%%s is not an activation the group's nests access",
                   t && t < m->ntensors ? m->tensors[t].name : "?");
    }
  }
}

Rc module_verify(const Module *m, Diag *d) {
  int before = d->nerrors;
  uint8_t *written = xcalloc(m->ntensors ? m->ntensors : 1, 1);
  if (!written) return RC_INTERNAL;
  for (uint32_t i = 0; i < m->nnests; i++) {
    const Nest *n = &m->nests[i];
    int updates = 0, reads = 0;
    if (n->vop <= VOP_NONE || n->vop >= VOP_COUNT || vop_kind(n->vop) != n->kind)
      diag_error(d, where(m, n), "vop-kind: the nest's op (%d, '%s') is not one of a %s nest",
                 (int)n->vop, vop_name(n->vop), kind_name(n->kind));
    for (int k = 0; k < n->ndims; k++)
      if (n->dims[k].bound < 1)
        diag_error(d, where(m, n), "dim-bound: dim %s has bound %" PRId64 ", must be at least 1",
                   n->dims[k].name, n->dims[k].bound);
    for (int a = 0; a < n->nacc; a++) {
      const Access *ac = &n->acc[a];
      if (!ac->tensor || ac->tensor >= m->ntensors) {
        diag_error(d, where(m, n), "access %s names no tensor", role_name(ac->role));
        continue;
      }
      const NTensor *t = &m->tensors[ac->tensor];
      if (ac->kind == ACC_READ) {
        reads++;
        if (t->role == TR_VALUE || t->role == TR_OUTPUT) {
          if (!written[ac->tensor])
            diag_error(d, where(m, n), "def-before-use: %s reads %%%s before any nest writes it",
                       role_name(ac->role), t->name);
        }
      } else {
        updates += ac->kind == ACC_UPDATE;
        if (t->role == TR_INPUT || t->role == TR_WEIGHT)
          diag_error(d, where(m, n), "access-target: %s writes %%%s, which is a graph %s",
                     role_name(ac->role), t->name, t->role == TR_INPUT ? "input" : "weight");
      }
      if (ac->ix != IX_AFFINE) continue;
      if (ac->rank != t->rank) {
        diag_error(d, where(m, n), "access-rank: %s indexes %%%s with %d indices, it has rank %d",
                   role_name(ac->role), t->name, ac->rank, t->rank);
        continue;
      }
      for (int k = 0; k < ac->rank; k++) {
        int64_t lo, hi;
        affine_range(n, &ac->idx[k], &lo, &hi);
        if (lo < -ac->pad_lo[k] || hi > t->dims[k] - 1 + ac->pad_hi[k])
          diag_error(d, where(m, n),
                     "access-bounds: %s index %d of %%%s spans [%" PRId64 ", %" PRId64
                     "], outside [0, %" PRId64 "] with padding %" PRId64 ":%" PRId64,
                     role_name(ac->role), k, t->name, lo, hi, t->dims[k] - 1, ac->pad_lo[k],
                     ac->pad_hi[k]);
      }
    }
    if (n->map) {
      Problem p;
      if (!nest_problem(n, &p))
        diag_error(d, where(m, n), "map-coverage: a mapping needs a mac nest over N G K C P Q R S");
      else
        mapping_covers(&n->map->m, &p, where(m, n), d);
    }
    if (n->kind == NK_MAC && (updates != 1 || reads < 2))
      diag_error(d, where(m, n),
                 "mac-shape: a mac nest needs one update and two reads, it has %d and %d", updates,
                 reads);
    for (int a = 0; a < n->nacc; a++)
      if (n->acc[a].kind != ACC_READ && n->acc[a].tensor < m->ntensors)
        written[n->acc[a].tensor] = 1;
  }
  for (uint32_t t = 1; t < m->ntensors; t++)
    if ((m->tensors[t].role == TR_VALUE || m->tensors[t].role == TR_OUTPUT) && !written[t])
      diag_error(d, NULL, "output-written: tensor %%%s is %s but no nest writes it",
                 m->tensors[t].name, m->tensors[t].role == TR_VALUE ? "a value" : "an output");
  xfree(written);
  verify_groups(m, d);
  return d->nerrors > before ? RC_BADINPUT : RC_OK;
}
