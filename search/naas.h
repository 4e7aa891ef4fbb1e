/*
 * naas.h: the NAAS accelerator-and-mapping co-search (naas.c) and the
 * scoring of a fixed accelerator, over a workload of one or more models.
 * Part of search/'s interface; the network-level search (#8) and the
 * `naasc --search` driver call only what is declared here.
 *
 * A workload is the mac layers of its models, deduplicated by shape within
 * each model (count = how many layers share the shape).  A design's score
 * is, per model, total energy x total cycles of its layers run one after
 * another; over several models, the geometric mean of the per-model scores.
 *
 * Invariants:
 *   - results are a pure function of (workload, budget, options without
 *     jobs/checkpoint/progress): the same --seed gives the same design
 *     whatever the thread or rank count;
 *   - a NaasCache maps (layer shape, accelerator) to the mapper's result and
 *     may be shared by calls (and by threads: it locks) to reuse work across
 *     candidates and across networks.
 */
#ifndef NAASC_NAAS_H
#define NAASC_NAAS_H

#include "accel.h"
#include "mapper.h"
#include "nest.h"
#include "search.h"

typedef struct {
  Problem p;
  int64_t count; /* layers of this shape in the model */
  int model;     /* index into NaasWorkload.model_name */
  char layer[ACCEL_NAME_MAX]; /* the first layer of this shape */
} NaasLayer;

#define NAAS_MAX_MODELS 16
typedef struct {
  int nlayers, caplayers;
  NaasLayer *layers;                /* heap, naas_workload_free */
  int nmodels;
  char model_name[NAAS_MAX_MODELS][ACCEL_NAME_MAX];
} NaasWorkload;

/* Adds the mac nests of a lowered module as one more model.  RC_BADINPUT
 * (reported, naming the model) if it has no mappable layer. */
Rc naas_workload_add_module(NaasWorkload *w, const Module *m, Diag *d);
void naas_workload_free(NaasWorkload *w);

typedef enum { NAAS_OBJ_EDP = 0, NAAS_OBJ_ENERGY, NAAS_OBJ_LATENCY } NaasObjective;

typedef struct NaasCache NaasCache;
NaasCache *naas_cache_create(void);
void naas_cache_destroy(NaasCache *c);

typedef struct {
  NaasObjective objective;
  double max_area_um2, max_cycles, max_energy_pj; /* bounds; 0 = none */
  OptKind optimizer;       /* OPT_CMAES (NAAS); OPT_RANDOM for the baseline */
  bool sizing_only;        /* keep the budget's connectivity, search sizes only */
  int64_t iterations;      /* outer generations; 0 = the default */
  int popsize;             /* 0 = the optimizer's default */
  int64_t map_budget;      /* mapper evaluations per layer and candidate; 0 = default */
  uint64_t seed;
  int jobs;                /* threads; 0 or 1 = one */
  NaasCache *cache;        /* NULL: a private one per call */
  const char *checkpoint;  /* written atomically every iteration, or NULL */
  bool resume;             /* continue from checkpoint */
  const char *log_json;    /* every candidate, or NULL */
  bool progress;           /* a progress line on stderr */
} NaasOptions;

void naas_options_default(NaasOptions *o);

typedef struct {
  Arch arch;              /* the design (for naas_eval_fixed: the given one) */
  double score;           /* the objective (geomean over models) */
  double edp, energy_pj, cycles; /* geomean over models of each figure */
  double area_um2;
  int nlayers;
  Mapping *mapping;       /* heap, one per workload layer; naas_result_free */
  CostResult *cost;       /* heap, one per workload layer (one instance of the shape) */
  int64_t candidates;     /* accelerators evaluated */
  int64_t evals;          /* cost-model evaluations, mapper included */
  double seconds;
} NaasResult;

/* Searches an accelerator within `budget` (its PEs, on-chip bytes and
 * bandwidth are the limits; its connectivity the sizing-only choice) and
 * the mapping of every layer.  RC_BADINPUT (reported) for an impossible
 * budget or an unreadable checkpoint. */
Rc naas_search(const NaasWorkload *w, const Arch *budget, const NaasOptions *o, NaasResult *r,
               Diag *d);

/* Scores a fixed accelerator: the best mapping the mapper finds for every
 * layer on `a` (the baseline "with its own dataflow"). */
Rc naas_eval_fixed(const NaasWorkload *w, const Arch *a, const NaasOptions *o, NaasResult *r,
                   Diag *d);

void naas_result_free(NaasResult *r);

#endif
