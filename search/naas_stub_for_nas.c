/*
 * naas_stub_for_nas.c: TEMPORARY stand-in for search/naas.c (#7), which is
 * being written on branch `search`.  It exists only so the network search
 * (#8, nas.c) links and runs before the real co-search lands; delete it
 * (and its line in search/CMakeLists.txt) when naas.c is merged.
 *
 * What it does, honestly and no more:
 *   - naas_eval_fixed maps every workload layer on the given arch with the
 *     mapper (mapper.c, ES strategy, map_budget evaluations) and sums
 *     energy and cycles weighted by the layer counts, per model; the score
 *     is the geometric mean over models of the objective;
 *   - naas_search does NOT search accelerators: it is naas_eval_fixed of
 *     the budget arch (candidates = 1).  Any "joint" result computed with
 *     this file is the budget arch with searched mappings.
 * The cache keys (layer shape, arch bytes, mapper budget, objective, seed).
 */
#include "naas.h"

#include <math.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

static bool same_shape(const Problem *a, const Problem *b) {
  return memcmp(a->dim, b->dim, sizeof a->dim) == 0 &&
         memcmp(a->stride, b->stride, sizeof a->stride) == 0 &&
         memcmp(a->dilation, b->dilation, sizeof a->dilation) == 0;
}

Rc naas_workload_add_module(NaasWorkload *w, const Module *m, Diag *d) {
  if (w->nmodels == NAAS_MAX_MODELS) {
    diag_error(d, m->name, "more than %d models in one workload", NAAS_MAX_MODELS);
    return RC_BADINPUT;
  }
  int model = w->nmodels, first = w->nlayers;
  for (uint32_t i = 0; i < m->nnests; i++) {
    Problem p;
    if (!nest_problem(&m->nests[i], &p)) continue;
    int k = first;
    while (k < w->nlayers && !same_shape(&w->layers[k].p, &p)) k++;
    if (k < w->nlayers) {
      w->layers[k].count++;
      continue;
    }
    if (w->nlayers == w->caplayers) {
      int cap = w->caplayers ? 2 * w->caplayers : 16;
      NaasLayer *nl = xrealloc(w->layers, sizeof *nl * (size_t)cap);
      if (!nl) {
        diag_error(d, m->name, "out of memory");
        return RC_INTERNAL;
      }
      w->layers = nl;
      w->caplayers = cap;
    }
    NaasLayer *l = &w->layers[w->nlayers++];
    memset(l, 0, sizeof *l);
    l->p = p;
    l->count = 1;
    l->model = model;
    snprintf(l->layer, sizeof l->layer, "%s", m->nests[i].name ? m->nests[i].name : "?");
  }
  if (w->nlayers == first) {
    diag_error(d, m->name ? m->name : "model", "no mappable (mac) layer");
    return RC_BADINPUT;
  }
  snprintf(w->model_name[model], ACCEL_NAME_MAX, "%s", m->name ? m->name : "model");
  w->nmodels++;
  return RC_OK;
}

void naas_workload_free(NaasWorkload *w) {
  xfree(w->layers);
  memset(w, 0, sizeof *w);
}

typedef struct {
  Problem p;
  Arch a;
  int64_t budget;
  int objective;
  uint64_t seed;
  Mapping m;
  CostResult c;
  int64_t evals;
} CacheEntry;

struct NaasCache {
  pthread_mutex_t lock;
  CacheEntry *e;
  int n, cap;
};

NaasCache *naas_cache_create(void) {
  NaasCache *c = xcalloc(1, sizeof *c);
  if (c) pthread_mutex_init(&c->lock, NULL);
  return c;
}

void naas_cache_destroy(NaasCache *c) {
  if (!c) return;
  pthread_mutex_destroy(&c->lock);
  xfree(c->e);
  xfree(c);
}

void naas_options_default(NaasOptions *o) {
  memset(o, 0, sizeof *o);
  o->objective = NAAS_OBJ_EDP;
  o->optimizer = OPT_CMAES;
  o->seed = 1;
}

static const CacheEntry *cache_find(NaasCache *c, const Problem *p, const Arch *a, int64_t budget,
                                    int obj, uint64_t seed) {
  for (int i = 0; i < c->n; i++) {
    const CacheEntry *e = &c->e[i];
    if (e->budget == budget && e->objective == obj && e->seed == seed && same_shape(&e->p, p) &&
        memcmp(&e->a, a, sizeof *a) == 0)
      return e;
  }
  return NULL;
}

static uint64_t shape_seed(const Problem *p, uint64_t seed) {
  uint64_t h = seed ^ 0x9e3779b97f4a7c15ULL;
  for (int d = 0; d < NDIMS; d++) h = (h ^ (uint64_t)p->dim[d]) * 0x100000001b3ULL;
  for (int k = 0; k < 2; k++) h = (h ^ (uint64_t)p->stride[k]) * 0x100000001b3ULL;
  return h;
}

static double objective_of(NaasObjective o, double e, double c) {
  return o == NAAS_OBJ_ENERGY ? e : o == NAAS_OBJ_LATENCY ? c : e * c;
}

Rc naas_eval_fixed(const NaasWorkload *w, const Arch *a, const NaasOptions *o, NaasResult *r,
                   Diag *d) {
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  memset(r, 0, sizeof *r);
  r->arch = *a;
  r->nlayers = w->nlayers;
  r->mapping = xcalloc((size_t)(w->nlayers ? w->nlayers : 1), sizeof *r->mapping);
  r->cost = xcalloc((size_t)(w->nlayers ? w->nlayers : 1), sizeof *r->cost);
  NaasCache *cache = o->cache ? o->cache : naas_cache_create();
  if (!r->mapping || !r->cost || !cache) {
    if (!o->cache) naas_cache_destroy(cache);
    naas_result_free(r);
    diag_error(d, NULL, "out of memory");
    return RC_INTERNAL;
  }
  MapperOptions mo;
  mapper_options_default(&mo);
  mo.strategy = MAP_ES;
  mo.objective = o->objective == NAAS_OBJ_ENERGY    ? MAPOBJ_ENERGY
                 : o->objective == NAAS_OBJ_LATENCY ? MAPOBJ_LATENCY
                                                    : MAPOBJ_EDP;
  if (o->map_budget > 0) mo.budget = o->map_budget;
  double energy[NAAS_MAX_MODELS] = {0}, cycles[NAAS_MAX_MODELS] = {0};
  Rc rc = RC_OK;
  for (int i = 0; i < w->nlayers && rc == RC_OK; i++) {
    const NaasLayer *l = &w->layers[i];
    uint64_t seed = shape_seed(&l->p, o->seed);
    pthread_mutex_lock(&cache->lock);
    const CacheEntry *hit = cache_find(cache, &l->p, a, mo.budget, mo.objective, seed);
    if (hit) {
      r->mapping[i] = hit->m;
      r->cost[i] = hit->c;
    }
    pthread_mutex_unlock(&cache->lock);
    if (!hit) {
      MapResult mr;
      mo.seed = seed;
      rc = mapper_run(&l->p, a, &mo, &mr, d);
      if (rc != RC_OK) break;
      r->mapping[i] = mr.best;
      r->cost[i] = mr.cost;
      r->evals += mr.evals;
      pthread_mutex_lock(&cache->lock);
      if (cache->n == cache->cap) {
        int cap = cache->cap ? 2 * cache->cap : 64;
        CacheEntry *ne = xrealloc(cache->e, sizeof *ne * (size_t)cap);
        if (ne) cache->e = ne, cache->cap = cap;
      }
      if (cache->n < cache->cap) {
        CacheEntry *e = &cache->e[cache->n++];
        memset(e, 0, sizeof *e);
        e->p = l->p, e->a = *a, e->budget = mo.budget, e->objective = mo.objective;
        e->seed = seed, e->m = mr.best, e->c = mr.cost, e->evals = mr.evals;
      }
      pthread_mutex_unlock(&cache->lock);
    }
    energy[l->model] += r->cost[i].energy_pj * (double)l->count;
    cycles[l->model] += (double)r->cost[i].cycles * (double)l->count;
    if (r->cost[i].area_um2 > r->area_um2) r->area_um2 = r->cost[i].area_um2;
  }
  if (!o->cache) naas_cache_destroy(cache);
  if (rc != RC_OK) {
    naas_result_free(r);
    return rc;
  }
  double le = 0, lc = 0, ls = 0;
  for (int k = 0; k < w->nmodels; k++) {
    le += log(energy[k]);
    lc += log(cycles[k]);
    ls += log(objective_of(o->objective, energy[k], cycles[k]));
  }
  int n = w->nmodels ? w->nmodels : 1;
  r->energy_pj = exp(le / n);
  r->cycles = exp(lc / n);
  r->score = exp(ls / n);
  double ledp = 0;
  for (int k = 0; k < w->nmodels; k++) ledp += log(energy[k] * cycles[k]);
  r->edp = exp(ledp / n);
  r->candidates = 1;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  r->seconds = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
  return RC_OK;
}

Rc naas_search(const NaasWorkload *w, const Arch *budget, const NaasOptions *o, NaasResult *r,
               Diag *d) {
  return naas_eval_fixed(w, budget, o, r, d);
}

void naas_result_free(NaasResult *r) {
  xfree(r->mapping);
  xfree(r->cost);
  r->mapping = NULL;
  r->cost = NULL;
}
