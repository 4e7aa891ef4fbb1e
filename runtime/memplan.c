/*
 * memplan.c: buffer sharing for the intermediate values of a loaded
 * program (docs/runtime.md, "Memory").
 *
 * A value (TR_VALUE) lives from the first layer that touches it to the
 * last, in the stream's layer order: touching is any access of the
 * layer's nest, and for a host layer any input its node model reads
 * (rt_host_prepare's host_in, which may reach past the nest's accesses).
 * Values whose lifetimes are disjoint may share storage.  rt_plan_buffers
 * places every value at an offset of one pool, greedily by size (largest
 * first; ties by first use, then id): each goes into the smallest gap
 * between the values already placed that live at the same time as it, or
 * past the highest of them (best fit).  Offsets are multiples of
 * RT_POOL_ALIGN.  The plan is a pure function of the tensor table and the
 * layers, so the pool's size is an exact, repeatable figure.
 *
 * The pool is zeroed when it is allocated, and rt_run zeroes each value
 * just before its first layer (rt_first_use), so every layer sees exactly
 * what it saw when each value had a zeroed buffer of its own: outputs do
 * not change.  Inputs, weights and outputs keep their own buffers; so does
 * a value no layer touches (it lives for the whole program).
 *
 * More than RT_PLAN_MAX_VALUES values are not shared (each gets a region
 * of its own): the placement is quadratic in the number of values.
 */
#include <stdlib.h>
#include <string.h>

#include "runtime/internal.h"

typedef struct {
  int id;
  int first, last;
  int64_t size, off;
} Val;

static int by_size(const void *a, const void *b) {
  const Val *x = a, *y = b;
  if (x->size != y->size) return x->size > y->size ? -1 : 1;
  if (x->first != y->first) return x->first < y->first ? -1 : 1;
  return x->id < y->id ? -1 : 1;
}

static int by_off(const void *a, const void *b) {
  const Val *x = *(const Val *const *)a, *y = *(const Val *const *)b;
  if (x->off != y->off) return x->off < y->off ? -1 : 1;
  return x->id < y->id ? -1 : 1;
}

static void touch(int *first, int *last, const RtProgram *p, uint32_t id, int layer) {
  if (id < 1 || id > (uint32_t)p->ntensors || p->t[id].role != TR_VALUE) return;
  if (first[id] < 0) first[id] = layer;
  last[id] = layer;
}

bool rt_plan_buffers(RtProgram *p, RtBufPlan *plan) {
  memset(plan, 0, sizeof *plan);
  int n = p->ntensors, nl = p->nlayers;
  int *first = xmalloc(sizeof(int) * (size_t)(n + 1)),
      *last = xmalloc(sizeof(int) * (size_t)(n + 1));
  Val *v = xmalloc(sizeof(Val) * (size_t)(n + 1));
  Val **live = xmalloc(sizeof(Val *) * (size_t)(n + 1));
  plan->off = arena_alloc(&p->arena, sizeof(int64_t) * (size_t)(n + 1));
  plan->zstart = arena_alloc(&p->arena, sizeof(int) * (size_t)(nl + 2));
  plan->zlist = arena_alloc(&p->arena, sizeof(int) * (size_t)(n + 1));
  bool ok = first && last && v && live && plan->off && plan->zstart && plan->zlist;
  if (!ok) goto out;
  for (int i = 0; i <= n; i++) first[i] = last[i] = -1, plan->off[i] = -1;
  for (int k = 0; k < nl; k++) {
    const RtLayer *L = &p->layers[k];
    for (int a = 0; a < L->nest.nacc; a++) touch(first, last, p, L->nest.acc[a].tensor, k);
    if (L->host) {
      for (uint32_t i = 0; i < L->host->ninputs; i++)
        touch(first, last, p, (uint32_t)L->host_in[i], k);
      for (uint32_t i = 0; i < L->host->noutputs; i++)
        touch(first, last, p, (uint32_t)L->host_out[i], k);
    }
  }
  int nv = 0;
  for (int i = 1; i <= n; i++) {
    if (p->t[i].role != TR_VALUE) continue;
    int64_t bytes = p->t[i].numel * (int64_t)dtype_size(p->t[i].dtype);
    Val *x = &v[nv++];
    x->id = i;
    x->size = (bytes + RT_POOL_ALIGN - 1) / RT_POOL_ALIGN * RT_POOL_ALIGN;
    x->first = first[i] < 0 ? 0 : first[i];
    x->last = first[i] < 0 ? nl : last[i]; /* untouched: lives throughout */
    x->off = -1;
    plan->unshared += bytes;
  }
  qsort(v, (size_t)nv, sizeof *v, by_size);
  bool share = nv <= RT_PLAN_MAX_VALUES;
  int64_t top = 0;
  for (int i = 0; i < nv; i++) {
    Val *x = &v[i];
    int nlive = 0;
    if (share)
      for (int j = 0; j < i; j++)
        if (v[j].first <= x->last && x->first <= v[j].last) live[nlive++] = &v[j];
    qsort(live, (size_t)nlive, sizeof *live, by_off);
    /* Best fit: the smallest gap between the live values that holds x. */
    int64_t at = -1, best = INT64_MAX, end = 0;
    for (int j = 0; j < nlive; j++) {
      int64_t gap = live[j]->off - end;
      if (gap >= x->size && gap < best) best = gap, at = end;
      if (live[j]->off + live[j]->size > end) end = live[j]->off + live[j]->size;
    }
    if (!share) end = top;
    x->off = at >= 0 ? at : end;
    if (x->off + x->size > top) top = x->off + x->size;
    plan->off[x->id] = x->off;
  }
  plan->bytes = top;
  /* Per layer, the values it touches first (zeroed before it runs), a
   * counting sort: zlist[zstart[k] .. zstart[k+1]) are layer k's. */
  int *z = plan->zstart;
  for (int k = 0; k <= nl + 1; k++) z[k] = 0;
  for (int i = 1; i <= n; i++)
    if (p->t[i].role == TR_VALUE && first[i] >= 0) z[first[i] + 1]++;
  for (int k = 1; k <= nl; k++) z[k] += z[k - 1]; /* z[k]: where layer k's begin */
  for (int i = 1; i <= n; i++)
    if (p->t[i].role == TR_VALUE && first[i] >= 0) plan->zlist[z[first[i]]++] = i;
  for (int k = nl; k > 0; k--) z[k] = z[k - 1]; /* z[k] had moved to where k's end */
  z[0] = 0;
  z[nl + 1] = z[nl];
out:
  xfree(first), xfree(last), xfree(v), xfree(live);
  return ok;
}
