/*
 * map.c: the mapping passes over mac nests.
 *
 *   map{strategy=es|random|genetic|exhaustive|surrogate|gradient,budget=N,seed=S,
 *       objective=edp|energy|latency,chains=N,temperature=T,lr=X}
 *       searches tiling, loop order, spatial binding and keep/bypass of every
 *       mac nest on the target (search/mapper.c) and writes the best mapping
 *       into the nest.  Identical layer shapes are mapped once (a cache keyed
 *       by the problem); layers are mapped in parallel with --jobs, each from
 *       a seed derived from (seed, problem), so the result does not depend on
 *       the number of threads.
 *   tile{level=L,K=16,C=8,...,layer=NAME}
 *       moves temporal factors of the named dims to level L (taken from the
 *       DRAM level, which must hold a multiple of them).
 *   reorder{level=L,order=KCPQRSNG,layer=NAME}
 *       sets level L's loop order (outermost first; missing dims follow).
 *   bind{level=L,x=K:12,y=S:11,layer=NAME}
 *       unrolls dims spatially on the array axes below level L.
 * tile, reorder and bind start from the trivial mapping (every loop at
 * DRAM, everything kept where allowed) when a nest has none.  Every result
 * is checked against the target (cost_check_mapping) before it is kept.
 */
#include "passes/internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "search/search.h"

static const char *where_nest(Module *m, const Nest *n) {
  return arena_printf(&m->arena, "nest '%s'", n->name);
}

static bool need_target(const Program *p, const char *pass, Diag *d) {
  if (p->arch) return true;
  diag_error(d, "pipeline", "pass '%s' needs a target architecture (--target NAME|FILE.yaml)",
             pass);
  return false;
}

/* Every loop at DRAM; each level keeps what it may (DRAM everything). */
static void trivial_mapping(const Problem *p, const Arch *a, Mapping *m) {
  memset(m, 0, sizeof *m);
  m->nlevels = a->nlevels;
  for (int l = 0; l < a->nlevels; l++) {
    uint8_t keep = l == 0 ? ACCEL_ALL_TENSORS : a->level[l].keeps_allowed;
    level_mapping_init(&m->level[l], keep);
  }
  for (int d = 0; d < NDIMS; d++) m->level[0].factor[d] = p->dim[d];
}

/* ---- map ------------------------------------------------------------------------- */

typedef struct {
  Problem prob;
  MapResult res;
  Rc rc;
  uint64_t seed;
  int nerrors, nwarnings; /* of the mapper's diagnostics, */
  char *msgs;             /* which are kept here until the threads join */
} Job;

typedef struct {
  Job *jobs;
  int njobs;
  const Arch *arch;
  MapperOptions opt;
  int next;
  pthread_mutex_t lock;
  Diag *d;
} Work;

static bool same_problem(const Problem *a, const Problem *b) {
  return memcmp(a->dim, b->dim, sizeof a->dim) == 0 &&
         memcmp(a->stride, b->stride, sizeof a->stride) == 0 &&
         memcmp(a->dilation, b->dilation, sizeof a->dilation) == 0;
}

static uint64_t problem_hash(const Problem *p, uint64_t seed) {
  uint64_t h = seed ^ 0x9e3779b97f4a7c15ULL;
  for (int d = 0; d < NDIMS; d++) h = (h ^ (uint64_t)p->dim[d]) * 0x100000001b3ULL;
  for (int k = 0; k < 2; k++) {
    h = (h ^ (uint64_t)p->stride[k]) * 0x100000001b3ULL;
    h = (h ^ (uint64_t)p->dilation[k]) * 0x100000001b3ULL;
  }
  return h;
}

static void *worker(void *arg) {
  Work *w = arg;
  for (;;) {
    pthread_mutex_lock(&w->lock);
    int i = w->next++;
    pthread_mutex_unlock(&w->lock);
    if (i >= w->njobs) return NULL;
    Job *j = &w->jobs[i];
    MapperOptions o = w->opt;
    o.seed = j->seed;
    /* Diagnostics go to a private buffer, printed in job order later. */
    char *buf = NULL;
    size_t len = 0;
    Diag pd;
    diag_init(&pd, open_memstream(&buf, &len), w->d->file);
    j->rc = mapper_run(&j->prob, w->arch, &o, &j->res, &pd);
    if (pd.out) fclose(pd.out);
    j->nerrors = pd.nerrors;
    j->nwarnings = pd.nwarnings;
    j->msgs = buf; /* printed in job order after the threads join */
  }
}

static Rc run_map(Program *p, const PassArgs *a, PassCtx *c, Diag *d) {
  if (!need_target(p, "map", d)) return RC_USAGE;
  MapperOptions opt;
  mapper_options_default(&opt);
  const char *v;
  if ((v = pass_arg(a, "strategy")) && !map_strategy_parse(v, &opt.strategy)) {
    diag_error(d, "pipeline",
               "map: unknown strategy '%s' (es, random, genetic, exhaustive, surrogate, gradient)",
               v);
    return RC_USAGE;
  }
  /* gradient: the initial temperature and Adam's step (rules
   * map_gradient_bad_temperature, map_gradient_bad_lr). */
  if ((v = pass_arg(a, "temperature"))) {
    char *end;
    opt.temperature = strtod(v, &end);
    if (*end || !*v || !(opt.temperature > 0 && opt.temperature <= 10)) {
      diag_error(d, "pipeline", "map: temperature must be a number in (0, 10], not '%s'", v);
      return RC_USAGE;
    }
  }
  if ((v = pass_arg(a, "lr"))) {
    char *end;
    opt.lr = strtod(v, &end);
    if (*end || !*v || !(opt.lr > 0 && opt.lr <= 1)) {
      diag_error(d, "pipeline", "map: lr must be a number in (0, 1], not '%s'", v);
      return RC_USAGE;
    }
  }
  if ((pass_arg(a, "temperature") || pass_arg(a, "lr")) && opt.strategy != MAP_GRADIENT) {
    diag_error(d, "pipeline", "map: temperature and lr are options of strategy=gradient only");
    return RC_USAGE;
  }
  if ((v = pass_arg(a, "budget"))) opt.budget = strtoll(v, NULL, 10);
  if ((v = pass_arg(a, "seed"))) opt.seed = strtoull(v, NULL, 10);
  if ((v = pass_arg(a, "chains")) && ((opt.chains = atoi(v)) < 1 || opt.chains > 64)) {
    diag_error(d, "pipeline", "map: chains must be 1 to 64, not '%s'", v);
    return RC_USAGE;
  }
  if ((v = pass_arg(a, "objective"))) {
    if (strcmp(v, "edp") == 0)
      opt.objective = MAPOBJ_EDP;
    else if (strcmp(v, "energy") == 0)
      opt.objective = MAPOBJ_ENERGY;
    else if (strcmp(v, "latency") == 0)
      opt.objective = MAPOBJ_LATENCY;
    else {
      diag_error(d, "pipeline", "map: unknown objective '%s' (edp, energy, latency)", v);
      return RC_USAGE;
    }
  }
  if (opt.budget < 1 || opt.budget > MAPPER_MAX_BUDGET) {
    diag_error(d, "pipeline", "map: budget must be a number of evaluations from 1 to %lld",
               (long long)MAPPER_MAX_BUDGET);
    return RC_USAGE;
  }
  Module *m = p->mod;
  Job *jobs = xcalloc(m->nnests + 1, sizeof *jobs);
  int *job_of = xcalloc(m->nnests + 1, sizeof *job_of);
  if (!jobs || !job_of) {
    xfree(jobs);
    xfree(job_of);
    return RC_INTERNAL;
  }
  int njobs = 0, mac = 0;
  for (uint32_t i = 0; i < m->nnests; i++) {
    Problem pr;
    job_of[i] = -1;
    if (!nest_problem(&m->nests[i], &pr)) continue;
    mac++;
    int k = 0;
    while (k < njobs && !same_problem(&jobs[k].prob, &pr)) k++;
    if (k == njobs) {
      jobs[k].prob = pr;
      jobs[k].seed = problem_hash(&pr, opt.seed);
      njobs++;
    }
    job_of[i] = k;
  }
  Work w = {jobs, njobs, p->arch, opt, 0, PTHREAD_MUTEX_INITIALIZER, d};
  int nthreads = p->jobs > 1 ? p->jobs : 1;
  if (nthreads > njobs) nthreads = njobs;
  pthread_t th[64];
  int started = 0;
  for (int t = 1; t < nthreads && t < 64; t++)
    if (pthread_create(&th[started], NULL, worker, &w) == 0) started++;
  worker(&w);
  for (int t = 0; t < started; t++) pthread_join(th[t], NULL);
  Rc rc = RC_OK;
  int64_t evals = 0;
  for (int k = 0; k < njobs; k++) {
    if (jobs[k].msgs && (jobs[k].nerrors || jobs[k].nwarnings) && d->out)
      fputs(jobs[k].msgs, d->out);
    d->nerrors += jobs[k].nerrors;
    d->nwarnings += jobs[k].nwarnings;
    free(jobs[k].msgs);
  }
  for (int k = 0; k < njobs; k++) {
    evals += jobs[k].res.evals;
    if (jobs[k].rc != RC_OK && rc == RC_OK) rc = jobs[k].rc;
  }
  for (uint32_t i = 0; i < m->nnests && rc == RC_OK; i++) {
    if (job_of[i] < 0) continue;
    Nest *n = &m->nests[i];
    NestMapping *nm = nest_mapping_new(&m->arena, p->arch);
    if (!nm) {
      rc = RC_INTERNAL;
      break;
    }
    nm->m = jobs[job_of[i]].res.best;
    n->map = nm;
    pass_debug(c, "map", "nest '%s': EDP %.4g after %lld evaluations (%lld valid)", n->name,
               jobs[job_of[i]].res.best_fitness, (long long)jobs[job_of[i]].res.evals,
               (long long)jobs[job_of[i]].res.valid);
  }
  double space = 0;
  for (int k = 0; k < njobs; k++) {
    double s = mapspace_log10_size(&jobs[k].prob, p->arch);
    if (s > space) space = s;
    pass_debug(c, "map", "layer shape %d: mapping space about 10^%.1f", k, s);
  }
  pass_stat(c, "largest-space-log10", (int64_t)(space + 0.5));
  pass_stat(c, "mac-nests-mapped", rc == RC_OK ? mac : 0);
  pass_stat(c, "unique-layers", njobs);
  pass_stat(c, "cache-hits", mac - njobs);
  pass_stat(c, "evaluations", evals);
  xfree(jobs);
  xfree(job_of);
  return rc;
}

/* ---- tile, reorder, bind -------------------------------------------------------- */

static int level_index(const Arch *a, const char *name) {
  for (int l = 0; l < a->nlevels; l++)
    if (strcmp(a->level[l].name, name) == 0) return l;
  char *end;
  long v = strtol(name, &end, 10);
  return *end == 0 && v >= 0 && v < a->nlevels ? (int)v : -1;
}

typedef enum { EDIT_TILE, EDIT_REORDER, EDIT_BIND } EditKind;

static Rc run_edit(Program *p, const PassArgs *a, PassCtx *c, Diag *d, EditKind kind) {
  static const char *const names[] = {"tile", "reorder", "bind"};
  const char *pass = names[kind];
  if (!need_target(p, pass, d)) return RC_USAGE;
  const char *lv = pass_arg(a, "level"), *layer = pass_arg(a, "layer");
  int l = lv ? level_index(p->arch, lv) : -1;
  if (l < 0) {
    diag_error(d, "pipeline", "%s: level=%s names no level of target '%s'", pass,
               lv ? lv : "(missing)", p->arch->name);
    return RC_USAGE;
  }
  Module *m = p->mod;
  int edited = 0;
  for (uint32_t i = 0; i < m->nnests; i++) {
    Nest *n = &m->nests[i];
    Problem pr;
    if (!nest_problem(n, &pr) || (layer && strcmp(layer, n->name) != 0)) continue;
    if (!n->map) {
      if (!(n->map = nest_mapping_new(&m->arena, p->arch))) return RC_INTERNAL;
      trivial_mapping(&pr, p->arch, &n->map->m);
    }
    Mapping *mp = &n->map->m;
    LevelMapping *lm = &mp->level[l];
    for (int k = 0; k < a->n; k++) {
      const char *key = a->v[k].key, *val = a->v[k].value;
      if (strcmp(key, "level") == 0 || strcmp(key, "layer") == 0) continue;
      if (kind == EDIT_REORDER) {
        uint8_t ord[NDIMS], seen = 0;
        int no = 0;
        for (const char *s = val; *s; s++) {
          int dd = accel_dim_from_letter(*s);
          if (dd < 0 || (seen & (1u << dd))) {
            diag_error(d, "pipeline", "reorder: order=%s must list distinct dims of GNKCPQRS", val);
            return RC_USAGE;
          }
          seen |= (uint8_t)(1u << dd);
          ord[no++] = (uint8_t)dd;
        }
        for (int dd = 0; dd < NDIMS; dd++)
          if (!(seen & (1u << dd))) ord[no++] = (uint8_t)dd;
        memcpy(lm->order, ord, NDIMS);
        continue;
      }
      /* tile: DIM=F; bind: AXIS=DIM:F */
      int axis = -1;
      const char *spec = val;
      if (kind == EDIT_BIND) {
        axis = strcmp(key, "x") == 0   ? AXIS_X
               : strcmp(key, "y") == 0 ? AXIS_Y
               : strcmp(key, "z") == 0 ? AXIS_Z
                                       : -1;
        if (axis < 0 || !val[0] || val[1] != ':') {
          diag_error(d, "pipeline", "bind: expected x=DIM:F, y=DIM:F or z=DIM:F, not %s=%s", key,
                     val);
          return RC_USAGE;
        }
        key = val;
        spec = val + 2;
      }
      int dd = key[1] && key[1] != ':' ? -1 : accel_dim_from_letter(key[0]);
      char *end;
      long long f = strtoll(spec, &end, 10);
      if (dd < 0 || *end || f < 1) {
        diag_error(d, "pipeline", "%s: expected DIM=FACTOR with DIM one of GNKCPQRS, not %s=%s",
                   pass, a->v[k].key, a->v[k].value);
        return RC_USAGE;
      }
      int64_t *dram = &mp->level[0].factor[dd];
      if (*dram % f) {
        diag_error(d, where_nest(m, n),
                   "%s: %c=%lld does not divide the %lld iterations left at %s", pass,
                   accel_dim_letter(dd), f, (long long)*dram, p->arch->level[0].name);
        return RC_BADINPUT;
      }
      *dram /= f;
      if (kind == EDIT_TILE)
        lm->factor[dd] *= f;
      else
        lm->spatial[axis][dd] *= f;
    }
    if (cost_check_mapping(&pr, p->arch, mp, d) != RC_OK) {
      diag_note(d, where_nest(m, n), "after %s", pass);
      return RC_BADINPUT;
    }
    edited++;
  }
  pass_stat(c, "nests-edited", edited);
  return RC_OK;
}

static Rc run_tile(Program *p, const PassArgs *a, PassCtx *c, Diag *d) {
  return run_edit(p, a, c, d, EDIT_TILE);
}
static Rc run_reorder(Program *p, const PassArgs *a, PassCtx *c, Diag *d) {
  return run_edit(p, a, c, d, EDIT_REORDER);
}
static Rc run_bind(Program *p, const PassArgs *a, PassCtx *c, Diag *d) {
  return run_edit(p, a, c, d, EDIT_BIND);
}

void map_passes_register(PassRegistry *r) {
  static const PassInfo passes[] = {
      {"map", "search the mapping of every mac nest on the target", PASS_NEST,
       "strategy,budget,seed,objective,chains,temperature,lr", run_map},
      {"tile", "move temporal factors to a level", PASS_NEST, "*", run_tile},
      {"reorder", "set a level's loop order", PASS_NEST, "level,order,layer", run_reorder},
      {"bind", "unroll dims on the array axes below a level", PASS_NEST, "level,layer,x,y,z",
       run_bind},
  };
  for (size_t i = 0; i < sizeof passes / sizeof passes[0]; i++) pass_register(r, &passes[i]);
}
