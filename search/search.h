/*
 * search.h: the public interface of search/ (included as "search/search.h";
 * search/ depends on backend/, frontend/ and ir/):
 *
 *   - black-box optimizers behind one ask/tell interface (opt.c);
 *   - the mapper of one layer on one architecture and the NAAS encoding it
 *     searches (mapper.c, surrogate.c, gradient.c);
 *   - the NAAS accelerator-and-mapping co-search, its gradient form, and the
 *     scoring of a fixed accelerator (naas.c, cosearch.c);
 *   - the network level over the NAS-Bench-201 cell space and its accuracy
 *     predictor (nas.c, predictor.c);
 *   - the drivers of `naasc --search` and `--nas`: a whole run with its
 *     baselines, result files and plots, from a filled options struct
 *     (drive.c, nas_drive.c; their plots are drawn with ir/svg.c).
 *
 * Optimizers work on [0,1]^dim and minimise.  Every random draw comes from
 * the optimizer's own generator seeded by the caller, so a run is a pure
 * function of (problem, options, seed): the same whatever the thread count.
 */
#ifndef NAASC_SEARCH_H
#define NAASC_SEARCH_H

#include <stdbool.h>
#include <stdint.h>

#include "ir/ir.h"

/* ---- random numbers ------------------------------------------------------ */

typedef struct {
  uint64_t s[4];
} Rng; /* xoshiro256** */

void rng_seed(Rng *r, uint64_t seed);
uint64_t rng_next(Rng *r);
double rng_uniform(Rng *r); /* [0, 1) */
double rng_normal(Rng *r);  /* N(0, 1) */

/* ---- optimizers (ask/tell) ------------------------------------------------- */

typedef enum {
  OPT_RANDOM = 0, /* uniform sampling: the Timeloop-style baseline */
  OPT_CMAES,      /* CMA-ES (Hansen): mean, covariance and step-size adaptation */
  OPT_GENETIC     /* GAMMA-style genetic algorithm: elitism, crossover, mutation */
} OptKind;

typedef struct Optimizer Optimizer;

/* popsize 0: the method's default.  sigma0: initial step (CMA-ES), <= 0 for 0.3. */
Optimizer *opt_create(OptKind kind, int dim, int popsize, double sigma0, uint64_t seed);
void opt_destroy(Optimizer *o);
/* Moves the search's centre (CMA-ES mean) to m[dim]; others ignore it. */
void opt_set_mean(Optimizer *o, const double *m);
int opt_popsize(const Optimizer *o);
int opt_dim(const Optimizer *o);
/* Proposes candidate i of the current generation into x[dim] (in [0,1]). */
void opt_ask(Optimizer *o, int i, double *x);
/* Proposes a fresh candidate i (after the caller found the last one invalid). */
void opt_resample(Optimizer *o, int i, double *x);
/* Reports the generation's fitness values (lower is better; +inf invalid). */
void opt_tell(Optimizer *o, const double *fitness);
/* Snapshot of the state, for checkpoints: bytes written (or needed if buf is
 * NULL); writing one first applies the covariance updates that wait. */
size_t opt_save(Optimizer *o, void *buf, size_t cap);
/* Restores a snapshot; false, o unchanged, unless buf is one of an optimizer
 * of o's kind and sizes with every value in the range opt_save can write. */
bool opt_load(Optimizer *o, const void *buf, size_t len);

const char *opt_name(OptKind k);
bool opt_parse(const char *name, OptKind *k);

/* ==== the mapper ============================================================ */

/* The mapper of one layer on one architecture (mapper.c; surrogate.c and
 * gradient.c for the surrogate and gradient strategies) and the NAAS
 * encoding it searches.  Every strategy's budget counts exact evaluations
 * (cost_eval calls). */

typedef enum {
  MAP_ES = 0,
  MAP_RANDOM,
  MAP_GENETIC,
  MAP_EXHAUSTIVE,
  MAP_SURROGATE, /* a baseline: an MLP of the layer's own samples (surrogate.c) */
  MAP_GRADIENT   /* descent on the differentiable cost model, rounded (gradient.c) */
} MapStrategy;
typedef enum { MAPOBJ_EDP = 0, MAPOBJ_ENERGY, MAPOBJ_LATENCY } MapObjective;

/* The largest mapper budget accepted (map{budget=N}, --map-budget,
 * --final-map-budget): about a quarter of an hour per layer at the cost
 * model's million evaluations a second (docs/user-guide.md, "Limits"). */
#define MAPPER_MAX_BUDGET INT64_C(1000000000)

typedef struct {
  MapStrategy strategy;
  MapObjective objective;
  int64_t budget; /* cost evaluations, 1..MAPPER_MAX_BUDGET */
  int popsize;    /* 0: the optimizer's default */
  int chains; /* es: independent chains sharing the budget; 0: 2 from 8000 evaluations, else 1 */
  uint64_t seed;
  double temperature; /* gradient: initial temperature, in (0, 10]; 0: MAP_GRADIENT_TEMPERATURE */
  double lr;          /* gradient: Adam's step in log-factor units, in (0, 1]; 0: MAP_GRADIENT_LR */
  /* es: a mapping of the layer on another design (a search's incumbent) to start
   * from, fitted to this one (mapper.c, "warm starts"); NULL: none.  Its fitting and
   * evaluation count in the budget; one that does not fit is not used. */
  const Mapping *start;
} MapperOptions;

#define MAP_GRADIENT_TEMPERATURE 1.0
#define MAP_GRADIENT_LR 0.1

typedef struct {
  Mapping best;
  CostResult cost;
  double best_fitness;
  int64_t evals, valid;
  bool complete;   /* exhaustive: the whole space was evaluated within the budget */
  int restarts;    /* es: IPOP restarts made */
  int64_t relaxed; /* gradient: evaluations of the differentiable model (not in evals) */
} MapResult;

void mapper_options_default(MapperOptions *o);
const char *map_strategy_name(MapStrategy s);
bool map_strategy_parse(const char *s, MapStrategy *out);

/* log10 of the size of p's mapping space on a (see mapper.c). */
double mapspace_log10_size(const Problem *p, const Arch *a);

/* Classes of loop dims that may trade places in a level's order without
 * changing any count (same tensors indexed, no sliding window); cls[d] is
 * the lowest dim of d's class. */
void mapspace_order_classes(const Problem *p, uint8_t cls[NDIMS]);

/* Length of the NAAS vector encoding a mapping on a. */
int mapspace_dim(const Arch *a);
/* Decodes x[mapspace_dim(a)] into a mapping of p on a (perfect factors). */
void mapspace_decode(const Problem *p, const Arch *a, const double *x, Mapping *m);

/* Projects m onto a's mapping constraints (a->cons): each level's orders
 * get the constrained dims first and last, each dim's factors the nearest
 * within their bounds (and the fan-outs) that still multiply to the dim.
 * A mapping within the constraints is left as it is.  Does nothing to a
 * mapping with remainders.  No allocation (the mapper calls it per
 * candidate).  Whether the result keeps every constraint is for
 * mapcons_satisfied to say (min_parallelism is not projected). */
void mapping_repair(const Problem *p, const Arch *a, Mapping *m);

/* What the mapper evaluates: with cons (mapcons_any(&a->cons), computed
 * once per search), m repaired (mapping_repair), then COST_ECONSTRAINT if it
 * breaks a constraint; else, and without cons, cost_eval's answer. */
int mapper_eval(const Problem *p, const Arch *a, bool cons, Mapping *m, CostResult *c);

/* Keeps (m, c) as res's best if f beats it; true if it did (for strategies). */
bool mapresult_offer(MapResult *res, const Mapping *m, const CostResult *c, double f);

/* Checks before a search that some mapping of p on a can exist: an error
 * (RC_BADINPUT) naming the layer and the constraint when a level's
 * must_keep tensors do not fit even as their smallest tiles, or when a's
 * mapping constraints contradict themselves or admit no factors of the
 * layer (mapcons_valid, mapcons_feasible); a warning when
 * the array's connectivity admits no dim of the layer (it runs on one PE). */
Rc mapper_check(const Problem *p, const Arch *a, Diag *d);

/* Searches a mapping of p on a (mapper_check first); RC_BADINPUT (reported) if none is valid,
 * or if an option is out of range (gradient's temperature or lr). */
Rc mapper_run(const Problem *p, const Arch *a, const MapperOptions *o, MapResult *res, Diag *d);

/* ==== the accelerator co-search ============================================= */

/*
 * The NAAS accelerator-and-mapping co-search (naas.c) and the scoring of a
 * fixed accelerator, over a workload of one or more models.  The network
 * level and the `naasc --search` driver call only what is declared here.
 *
 * A workload is the mac layers of its models, deduplicated by shape within
 * each model (count = how many layers share the shape), and the models
 * themselves (borrowed), for their whole-network schedules.  A design's
 * score is, per model, total energy x total cycles of its best
 * whole-network schedule (fused groups, search/scheduler.c) over the
 * mappings found for its layers, or, with NAAS_SCHED_LAYER, of its layers
 * run one after another; over several models, the geometric mean of the
 * per-model scores.
 *
 * Invariants:
 *   - results are a pure function of (workload, budget, options without
 *     jobs/checkpoint/progress): the same --seed gives the same design
 *     whatever the thread or rank count;
 *   - a NaasCache maps (layer shape, accelerator) to the mapper's result and
 *     may be shared by calls (and by threads: it locks) to reuse work across
 *     candidates and across networks.
 */

typedef struct {
  Problem p;
  int64_t count;              /* layers of this shape in the model */
  int model;                  /* index into NaasWorkload.model_name */
  char layer[ACCEL_NAME_MAX]; /* the first layer of this shape */
} NaasLayer;

#define NAAS_MAX_MODELS 16
/* The largest search accepted (docs/user-guide.md, "Limits"); naas_search
 * refuses more (RC_BADINPUT) before any work.  Candidates are the start and
 * iterations x popsize; the work is candidates x map budget, the mapper
 * evaluations of each layer shape (about 12 days at a million a second). */
#define NAAS_MAX_POPSIZE 4096
#define NAAS_TOP_MAX 8 /* distinct best designs a search keeps (NaasOptions.rerank) */
#define NAAS_DEFAULT_RERANK 3
#define NAAS_MAX_CANDIDATES (INT64_C(1) << 22)
#define NAAS_MAX_WORK INT64_C(1000000000000)
typedef struct {
  int nlayers, caplayers;
  NaasLayer *layers; /* heap, naas_workload_free */
  int nmodels;
  char model_name[NAAS_MAX_MODELS][ACCEL_NAME_MAX];
  const Module *module[NAAS_MAX_MODELS]; /* borrowed: must outlive every search of w */
} NaasWorkload;

/* Adds the mac nests of a lowered module as one more model (m is kept,
 * borrowed, for its schedules).  RC_BADINPUT (reported, naming the model)
 * if it has no mappable layer. */
Rc naas_workload_add_module(NaasWorkload *w, const Module *m, Diag *d);
void naas_workload_free(NaasWorkload *w);

typedef enum { NAAS_OBJ_EDP = 0, NAAS_OBJ_ENERGY, NAAS_OBJ_LATENCY } NaasObjective;

/* How a design's network is scored: its best whole-network schedule (fused
 * groups; the default), or every layer alone (today's counts bit for bit). */
typedef enum { NAAS_SCHED_FUSED = 0, NAAS_SCHED_LAYER } NaasSchedMode;
const char *naas_sched_name(NaasSchedMode m); /* "fused" or "layer" */

typedef struct NaasCache NaasCache;
NaasCache *naas_cache_create(void);
void naas_cache_destroy(NaasCache *c);

typedef struct {
  NaasObjective objective;
  double max_area_um2, max_cycles, max_energy_pj; /* bounds; 0 = none */
  double max_power_mw; /* bound on peak power (arch_peak_power_mw); 0 = none */
  /* The budget design's constraint (docs/search.md, "Budgets"): with a
   * technology node, its area (unless max_area_um2 is given); without one,
   * or with byte_budget, its on-chip bytes. */
  bool byte_budget;
  NaasSchedMode schedule; /* scoring of every candidate and of the final design */
  OptKind optimizer;      /* OPT_CMAES (NAAS); OPT_RANDOM for the baseline */
  bool gradient;          /* one gradient loop over sizes and mappings instead (cosearch.c) */
  bool gradient_conn;     /* with gradient: CMA-ES over every array axis's connectivity around
                             the descent (cosearch.c; --optimizer cmaes+gradient) */
  bool sizing_only;       /* keep the budget's connectivity, search sizes only */
  int64_t iterations;     /* outer generations; 0 = the default */
  int popsize;            /* 0 = the optimizer's default */
  int64_t map_budget;     /* mapper evaluations per layer and candidate; 0 = default */
  /* --mapper-screen on: each candidate screened with an eighth of map_budget, the best
   * quarter of each generation mapped again in full (naas.c, docs/search.md "Speed");
   * off (the default): every candidate with map_budget. */
  bool mapper_screen;
  /* --early-map-budget N: the first early_iterations generations map each candidate
   * with N evaluations per layer instead of map_budget (the start design, re-ranking and
   * the final mapping keep their budgets; naas.c, docs/search.md "Speed"); 0 (the
   * default): every generation with map_budget.  early_iterations 0: half the generations. */
  int64_t early_map_budget;
  int64_t early_iterations;
  /* --warm-map on: each candidate's layers are mapped starting from the incumbent's
   * mappings (the best design so far), fitted to it (MapperOptions.start; the start
   * design, re-ranking and the final mapping start cold); naas.c, docs/search.md
   * "Speed".  Off (the default): every mapping starts cold. */
  bool warm_map;
  /* --map-share A: in the generations, each layer's mapper budget scales with its
   * share of the start design's cost, map_budget x (share / largest share)^A, at
   * least an eighth of it (naas.c, "Budgets by share"; docs/search.md "Speed");
   * the start design, re-ranking and the final mapping keep the whole budget.
   * 0: every layer map_budget.  naas_options_default sets NAAS_MAP_SHARE_DEFAULT. */
  double map_share;
  /* Map every candidate, even one its lower bound rules out (the result is the same;
   * tests); by default such candidates are not mapped. */
  bool no_prune;
  uint64_t seed;
  int jobs;                     /* threads; 0 or 1 = one */
  NaasCache *cache;             /* NULL: a private one per call */
  const char *checkpoint;       /* written atomically every iteration, or NULL */
  bool resume;                  /* continue from checkpoint */
  const char *log_json;         /* every candidate, or NULL */
  bool progress;                /* a progress line on stderr */
  int64_t stop_after_iteration; /* stop (checkpoint written) after this many; 0 = never; tests */
  int64_t
      final_map_budget; /* the best design's final mapping, per layer; 0 = 20000 (map's default) */
  /* Called after each generation's mapper runs, before its checkpoint; tests of resume (NULL: none). */
  void (*on_generation)(void *ctx, int64_t iteration);
  void *on_generation_ctx;
  /* The best `rerank` distinct designs by candidate score are each mapped
   * by naas_map_design, the best final score chosen (naas.c, docs/search.md
   * "Re-ranking"); 0 = NAAS_DEFAULT_RERANK, 1 = the best candidate only,
   * at most NAAS_TOP_MAX.  The start design is re-ranked too, one more
   * when not among them (docs/search.md "Re-ranking"), unless
   * no_rerank_start (the network search's cells: search/nas_drive.c). */
  int rerank;
  bool no_rerank_start;
} NaasOptions;

#define NAAS_MAP_SHARE_DEFAULT 0.0 /* --map-share's default */
void naas_options_default(NaasOptions *o);

/* ---- equal effort ---------------------------------------------------------
 * Every comparison of two designs (a searched design against its budget
 * design, the network co-search against its own-dataflow and reference
 * designs, sizing-only and random search against NAAS) maps both sides the
 * same way: naas_map_design, with one NaasEffort.  A result records the
 * effort its mappings actually got; naas_compare refuses two results whose
 * efforts differ, and the drivers write the effort of every side into
 * result.json so tests and bench scripts can check it too. */
typedef struct {
  int64_t
      map_budget; /* mapper evaluations per layer of the first pass (the search's per-candidate budget) */
  int64_t
      final_map_budget; /* per layer, the second pass; the better of the two sets is kept (= map_budget: one pass) */
  uint64_t seed; /* the mapper's seed; a layer's seed is a hash of it and the layer's shape */
  int strategy;  /* MapStrategy */
  int objective; /* MapObjective */
  int schedule;  /* NaasSchedMode: fused designs are scored by sched_search's default options */
  /* The run's search settings, recorded with the effort (result.json) but not
   * compared by naas_effort_equal: a design's own mappings are never screened,
   * and pruning does not change a result. */
  bool mapper_screen;                         /* --mapper-screen on */
  int64_t early_map_budget, early_iterations; /* --early-map-budget (0: off) and its generations */
  bool warm_map;                              /* --warm-map on */
  double map_share;                           /* --map-share A (0: off) */
  bool prune;                                 /* --prune on (the default) */
} NaasEffort;

/* The effort naas_map_design gives a design under options o. */
void naas_effort_of(const NaasOptions *o, NaasEffort *e);
bool naas_effort_equal(const NaasEffort *a, const NaasEffort *b);
/* {"map_budget": N, "final_map_budget": N, "seed": N, "strategy": "es", "objective": "edp",
 *  "schedule": "fused", "mapper_screen": "off", "prune": "on"} */
void naas_effort_json(JsonWriter *j, const NaasEffort *e);

/* One evaluated candidate of the search, for the log and the plots. */
#define NAAS_LOG_AXES 6
typedef struct {
  int64_t iteration; /* generation, from 0 */
  int index;         /* candidate in its generation */
  bool valid;        /* within every bound, every layer mapped */
  uint8_t pruned;    /* 1: not mapped, its lower bound ruled it out (valid is false) */
  uint8_t screened;  /* 1: scored with the screening mapper budget only */
  double score, edp, energy_pj, cycles, area_um2; /* +inf when not valid */
  int64_t pes;
  int naxes; /* array axes (fan-outs > 1, outermost level first) */
  int64_t axis[NAAS_LOG_AXES];
  uint8_t connectivity[NAAS_LOG_AXES]; /* parallel dims per axis (bit per DIM_*) */
  int64_t inner_words;                 /* innermost storage level's capacity (the PE's rf) */
  int64_t glb_words;                   /* the outermost on-chip level's capacity */
  int64_t onchip_bytes;                /* all on-chip storage */
  double dram_bw;                      /* words/cycle, 0 = unlimited */
} NaasCandidate;

/* A model's figures on a design.  energy_pj, cycles and their layer_ forms
 * include the vector unit's work (vector_*: its costed nests, layer by
 * layer, backend/vector.c), so designs are compared on the full cost. */
typedef struct {
  double energy_pj, cycles, dram_words;             /* the scored schedule */
  double layer_energy_pj, layer_cycles, layer_dram; /* every layer alone */
  double vector_energy_pj, vector_cycles;           /* the vector unit's share of both */
  uint32_t groups;                                  /* fused groups of the schedule */
} NaasModelFigures;

/* One design of a search's re-ranking: its score as a candidate, its final
 * score (naas_map_design), or skipped: its lower bound was no better than a
 * final score already found, so it could not be chosen.  start: the design
 * the search started from (naas.c, docs/search.md "The start"), re-ranked
 * whatever its rank as a candidate. */
typedef struct {
  double candidate_score, final_score, bound;
  bool skipped, start;
} NaasRerank;

typedef struct {
  Arch arch;                     /* the design (for naas_eval_fixed: the given one) */
  double score;                  /* the objective (geomean over models) */
  double edp, energy_pj, cycles; /* geomean over models of each figure */
  double area_um2;
  double power_mw; /* peak power (arch_peak_power_mw) */
  int nlayers;
  Mapping *mapping;   /* heap, one per workload layer; naas_result_free */
  CostResult *cost;   /* heap, one per workload layer (one instance of the shape) */
  int64_t candidates; /* accelerators evaluated */
  int64_t evals;      /* cost-model evaluations, mapper included */
  int64_t relaxed;    /* gradient co-search: layer evaluations of the differentiable model */
  double seconds;
  /* naas_search only: */
  NaasCandidate *log; /* heap, every candidate in order; naas_result_free */
  int64_t nlog;
  int64_t iterations;  /* generations done */
  int64_t resumed_at;  /* generations read from the checkpoint */
  bool stopped;        /* stop_after_iteration ended the search early (no design in r) */
  double search_score; /* the best score as the search saw it (map_budget mappings); score <= it */
  NaasEffort effort;   /* what the mappings got (naas_map_design); zero if none */
  /* naas_map_design only, per model of the workload: the figures of the
   * scored schedule (effort.schedule) and of layer by layer, the same
   * mappings; dram_words: reads, fills and updates at DRAM, every tensor. */
  NaasModelFigures model[NAAS_MAX_MODELS];
  Schedule *schedule; /* heap, one per model (NULL with NAAS_SCHED_LAYER); naas_result_free */
  /* naas_search only: the designs re-ranked at final effort, best candidate
   * score first, then the start design if it is not among them (one more
   * than NaasOptions.rerank); `chosen` indexes the one whose final mappings
   * r holds. */
  int nrerank, chosen;
  NaasRerank rerank[NAAS_TOP_MAX + 1];
} NaasResult;

/* Searches an accelerator within `budget` (its PEs, on-chip bytes and
 * bandwidth are the limits; its connectivity the sizing-only choice) and
 * the mapping of every layer: CMA-ES (or random) over designs, each mapped
 * by the mapper, or with o->gradient the gradient co-search of cosearch.c
 * (sizes and every layer's mapping in one descent).  RC_BADINPUT (reported) for an impossible
 * budget or an unreadable checkpoint. */
Rc naas_search(const NaasWorkload *w, const Arch *budget, const NaasOptions *o, NaasResult *r,
               Diag *d);

/* Maps every layer of w on the fixed design a with naas_effort_of(o): a
 * pass at o's map_budget and one at its final_map_budget (when larger),
 * both with o's seed, keeping the set with the better score.  The one way
 * a design's final mappings are made: naas_search uses it for its best
 * design, naas_eval_fixed for a baseline. */
Rc naas_map_design(const NaasWorkload *w, const Arch *a, const NaasOptions *o, NaasResult *r,
                   Diag *d);

/* Scores a fixed accelerator (the baseline "with its own dataflow"):
 * naas_map_design of `a`, so with the same effort as naas_search's design
 * under the same options. */
Rc naas_eval_fixed(const NaasWorkload *w, const Arch *a, const NaasOptions *o, NaasResult *r,
                   Diag *d);

/* Baseline over design: higher is better for the design. */
typedef struct {
  double speedup;       /* baseline cycles / design cycles */
  double energy_saving; /* baseline energy / design energy */
  double edp_gain;      /* baseline EDP / design EDP */
} NaasRatios;

/* The ratios of two results of the same workload; RC_INTERNAL (reported)
 * if they were mapped with different efforts or one was not mapped. */
Rc naas_compare(const NaasResult *design, const NaasResult *baseline, NaasRatios *q, Diag *d);

void naas_result_free(NaasResult *r);

/* Writes r's candidate log as JSON ("naasc-search-log/1") atomically. */
Rc naas_log_write(const char *path, const NaasResult *r, Diag *d);
/* The letters of a connectivity mask ("KC"), into buf[NDIMS + 1]. */
void naas_conn_string(uint8_t conn, char *buf);

/* ---- the drivers of naasc --search and --nas (drive.c, nas_drive.c) -------------- */

/* A NestMapping for architecture a (its target and level names; the
 * Mapping zeroed but for nlevels), in arena; NULL if memory runs out. */
NestMapping *nest_mapping_new(Arena *arena, const Arch *a);
/* Attaches r's mapping of each mac nest of m (found by its layer shape
 * among the layers of workload model `model`); RC_INTERNAL (reported) if a
 * nest has no layer. */
Rc naas_attach_mappings(Module *m, int model, const NaasWorkload *w, const NaasResult *r, Diag *d);

/* naasc --search (docs/search.md). */
typedef struct {
  NaasOptions naas;    /* the co-search's options */
  const char *budget;  /* the budget as the user named it (result.json, warnings) */
  bool fixed;          /* no search: the budget design, mapped with the search's final effort */
  bool fixed_as_built; /* with fixed: the budget design with its own dataflow (as_built) */
  bool no_baseline;    /* do not map the budget design to compare with */
  /* The budget design with its chip's own dataflow applied (its `as_built:`
   * mapping constraints and must_keep; arch_resolve_as_built), or NULL when
   * the budget has none: the as-built baseline (--fixed=as-built). */
  const Arch *as_built;
  int nranks; /* MPI ranks of the run (1 without), for result.json */
} NaasDriveOptions;

typedef struct {
  NaasResult r;     /* the design (r.stopped: stopped at a checkpoint, nothing else done) */
  bool have_base;   /* the budget design (best mapping) was mapped with r's effort: */
  NaasResult base;  /* it, */
  NaasRatios q;     /* and r against it */
  bool have_built;  /* the budget design as built (o->as_built), mapped with r's effort: */
  NaasResult built; /* it, */
  NaasRatios qb;    /* and r against it (the kind of baseline NAAS's figures are against) */
  /* Why a baseline is not compared with (have_base or have_built false
   * because the budget design cannot map a layer): the mapper's message,
   * malloc'd, for result.json; NULL otherwise. */
  char *base_skipped, *built_skipped;
} NaasDriveResult;

void naas_drive_options_default(NaasDriveOptions *o); /* naas_options_default, one rank */
/* The search of w within budget (or the budget design alone: o->as_built
 * with fixed_as_built), then the budget design mapped with the design's
 * effort, free (base) and, when o->as_built, with its own dataflow (built)
 * (unless fixed, no_baseline or stopped; a budget design that cannot map a
 * layer is a warning).
 * naas_drive_free(out) in every case. */
Rc naas_drive(const NaasWorkload *w, const Arch *budget, const NaasDriveOptions *o,
              NaasDriveResult *out, Diag *d);
void naas_drive_free(NaasDriveResult *r);
/* Creates the output folder if it is not there. */
Rc naas_drive_mkdir(const char *dir, Diag *d);
/* Writes arch.yaml and result.json into dir, and without o->fixed search.json,
 * convergence.svg and pareto.svg, each atomically (drive.c's header). */
Rc naas_drive_write(const char *dir, const NaasWorkload *w, const Arch *budget,
                    const NaasDriveOptions *o, const NaasDriveResult *res, Diag *d);
/* "naas", "fixed", "fixed-as-built", "sizing-only" or "random". */
const char *naas_drive_mode(const NaasDriveOptions *o);
/* "EDP (pJ x cycles)", "energy (pJ)" or "cycles": the plots' axis. */
const char *naas_objective_label(NaasObjective obj);

/* naasc --search --nas nasbench201 (docs/nas.md). */
typedef Rc (*NasBuildFn)(void *ctx, int code, Module **out, Diag *d);
typedef struct NasPoint NasPoint; /* a cell scored (below) */
/* Told of each cell scored that is the best so far (by nas_better): the
 * cells scored and proposed (repeats included) until then, the cell's
 * point, and whether it meets the bound. */
typedef void (*NasProgressFn)(void *user, int scored, int64_t proposals, const NasPoint *best,
                              bool met);

typedef struct {
  int dataset;           /* Nb201Dataset (frontend/frontend.h) */
  const char *data;      /* the accuracy table, or NULL: nb201_table_locate's search */
  const char *reference; /* also compare with this cell (arch string or index), or NULL */
  bool min_edp;          /* least EDP at accuracy >= min_accuracy; else best accuracy at
                            EDP <= max_edp */
  double min_accuracy, max_edp;
  int64_t cycles, population, sample, seed; /* the evolution (NasOptions) */
  int64_t labels, rounds, pool, verify;     /* the predictor (labels 0: none): labels,
                                               pseudo-label rounds and pool, designs
                                               verified by their measured accuracy */
  int64_t naas_iterations, naas_popsize, map_budget, jobs; /* each network's co-search */
  int64_t final_map_budget; /* its final mapping pass and the baselines' (0: NaasOptions') */
  bool baselines;           /* score the most accurate network on the budget design too */
  bool fixed;               /* every network on the budget design as is */
  bool progress;            /* the predictor's line where d reports (stderr in naasc) */
  NasBuildFn build;         /* builds and lowers a cell's network into *out (freed with
                       module_destroy); the zoo and the lowering live above search/ */
  void *build_ctx;
  NasProgressFn on_best; /* told of the network search's new bests (NasOptions.progress), or NULL */
  void *on_best_user;
  /* told of the predictor once fit (with labels): the labels it saw, its held-out Kendall tau
     with and without pseudo-labels; when set, progress prints no predictor line */
  void (*on_predictor)(void *user, int64_t labels, double tau, double tau_plain);
  void *on_predictor_user;
} NasDriveOptions;

typedef struct {
  Module *mod;     /* the design's network with its mappings */
  NaasResult best; /* its accelerator and figures */
  int index;       /* its NAS-Bench-201 index */
  char arch[128];  /* its arch string (NB201_ARCH_MAX: nas_drive.c checks) */
  double accuracy; /* measured, on the dataset */
  bool met;        /* it meets the bound (else it is the closest) */
  int networks;    /* networks scored */
  double seconds;  /* of the network search */
} NasDriveResult;

void nas_drive_options_default(NasDriveOptions *o); /* the defaults of naasc --nas */
/* The network search within budget; writes nas_drive.c's files into dir
 * (created if missing).  A bound no network meets is not an error here
 * (out->met).  nas_drive_free(out) in every case. */
Rc nas_drive(const NasDriveOptions *o, const Arch *budget, const char *dir, NasDriveResult *out,
             Diag *d);
void nas_drive_free(NasDriveResult *r);

/* ---- checkpoints (checkpoint.c; the format is described there) -------------------- */

#define NAAS_CKPT_VERSION 4 /* 3: the same without the warm-start block (still read) */
#define NAAS_CKPT_MAX_BYTES ((size_t)1 << 30) /* larger files are refused unread */

/* The counters of a search, as a checkpoint stores them. */
typedef struct {
  uint64_t fp; /* fingerprint of (workload, budget, options) */
  int64_t iter, candidates, evals,
      nlog; /* generations done, candidates, evaluations, log records */
  double seconds, best_score;
  int32_t dim, have_best; /* the optimizer's dimension; 1 once top holds a valid design */
  uint64_t optlen;        /* bytes of the optimizer's state (opt_save) */
  int32_t ntop, pad_;     /* designs in the top table (have_best ? 1..NAAS_TOP_MAX : 0); 0 */
} NaasCkpt;

/* --warm-map's state (format 4's last block): the incumbent's mapping of each of
 * the search's n layers (n = 0: the search keeps none, and the file is written
 * in format 3), have = 1 once there is an incumbent, its score. */
typedef struct {
  int32_t n, have;
  double score;
  Mapping *maps; /* n mappings, the caller's */
} NaasCkptWarm;

/* The search's best distinct designs: ntop records of (score, vector of dim
 * genes), best score first; record 0 is the best design (best_score). */
#define NAAS_TOP_REC(top, dim, k) ((top) + (size_t)(k) * (size_t)(1 + (dim)))

/* Writes a checkpoint atomically: h, opt's state, the top table (h->ntop
 * records of 1 + h->dim doubles), log[h->nlog] and, when warm->n > 0 (format
 * 4), the warm-start block; with warm NULL or warm->n 0, format 3. */
Rc naas_ckpt_write(const char *path, const NaasCkpt *h, Optimizer *opt, const double *top,
                   const NaasCandidate *log, const NaasCkptWarm *warm, Diag *d);
/* Decodes the len bytes of a checkpoint (named `name` in messages) of the
 * search whose fingerprint is fp and whose optimizer is opt: fills h, opt's
 * state, top[NAAS_TOP_MAX * (1 + opt_dim(opt))] and *log (heap, grown with xrealloc; *caplog
 * its capacity) and warm (warm->n, the layers the search has, or 0 if it keeps
 * no warm starts, in which case warm may be NULL; warm->maps holds n: filled
 * with have and score when the file has them).  RC_BADINPUT (reported,
 * nothing trusted) if the file is not a checkpoint, is damaged (its
 * checksum), is from another search, or holds a count or value no search
 * writes; RC_INTERNAL if out of memory.  That each warm mapping is one of its
 * layer (ir.h mapping_covers) is for the caller, who has the layers. */
Rc naas_ckpt_decode(const uint8_t *buf, size_t len, const char *name, uint64_t fp, Optimizer *opt,
                    NaasCkpt *h, double *top, NaasCandidate **log, int64_t *caplog,
                    NaasCkptWarm *warm, Diag *d);
/* naas_ckpt_decode of the file at path (at most NAAS_CKPT_MAX_BYTES). */
Rc naas_ckpt_read(const char *path, uint64_t fp, Optimizer *opt, NaasCkpt *h, double *top,
                  NaasCandidate **log, int64_t *caplog, NaasCkptWarm *warm, Diag *d);

/* ==== the network level ===================================================== */

/*
 * The network level of NAAS (nas.c) over the NAS-Bench-201 cell space, and
 * the accuracy predictor of its semi-supervised mode (predictor.c).
 *
 * The search knows a cell only by its code (6 edge ops as a base-5 number,
 * edge 0 lowest; frontend/frontend.h's nb201_code) and asks two oracles about it:
 * an accuracy (a table: measured, or a predictor's) and a hardware score
 * (a callback; the driver lowers the network and runs naas_search).  So
 * search/ depends on neither the frontend nor the passes.
 *
 * Invariants:
 *   - a run is a pure function of its options: the same seed proposes the
 *     same cells in the same order;
 *   - a cell is scored by the hardware callback at most once per run;
 *   - cells whose accuracy is NaN (no network: node 3 unreachable) are
 *     never proposed.
 */

#define NAS_EDGES 6
#define NAS_OPS 5
#define NAS_CELLS 15625 /* 5^6 */

struct NasPoint {
  int code;                      /* the cell */
  double acc;                    /* the accuracy the search saw (measured or predicted), percent */
  double edp, energy_pj, cycles; /* the hardware score of its network */
};

/* Scores cell `code` on hardware: fills out->edp, energy_pj, cycles. */
typedef Rc (*NasHwFn)(void *ctx, int code, NasPoint *out, Diag *d);

typedef enum {
  NAS_MIN_EDP = 0, /* minimise EDP subject to acc >= min_accuracy */
  NAS_MAX_ACC      /* maximise accuracy subject to edp <= max_edp */
} NasGoal;

typedef struct {
  NasGoal goal;
  double min_accuracy; /* percent, NAS_MIN_EDP */
  double max_edp;      /* pJ x cycles, NAS_MAX_ACC */
  int population;      /* aging evolution's P (Real et al. 2019); 0: 20 */
  int sample;          /* its tournament size S; 0: 5 */
  int cycles;          /* cells proposed in all, the population's first P included; 0: 100 */
  uint64_t seed;
  const double *accuracy; /* [NAS_CELLS] by code; NaN: not a network */
  NasHwFn hw;
  void *hw_ctx;
  NasProgressFn progress; /* called on each new best, or NULL */
  void *progress_user;
} NasOptions;

typedef struct {
  NasPoint *hist; /* every cell scored, in the order first proposed (heap) */
  int nhist;
  int best;          /* index in hist of the design, -1 if none meets the bound */
  int closest;       /* best by the same order when none meets it (else == best) */
  int64_t proposals; /* cells proposed (repeats included) */
  double seconds;
} NasResult;

void nas_options_default(NasOptions *o);
/* Runs regularized (aging) evolution: P random cells, then per cycle a
 * tournament of S from the population, the winner mutated (one edge gets
 * another op), the child added and the oldest removed.  RC_BADINPUT
 * (reported) for bad options; the callback's error stops the run. */
Rc nas_search(const NasOptions *o, NasResult *r, Diag *d);
void nas_result_free(NasResult *r);

/* Whether a is a better design than b under the goal (feasible first; then
 * the objective; ties to the other figure). */
bool nas_better(const NasOptions *o, const NasPoint *a, const NasPoint *b);

/* Indices (into p) of the points no other point beats on both accuracy
 * (higher) and EDP (lower), sorted by EDP ascending; returns their count. */
int nas_pareto(const NasPoint *p, int n, int *idx);

/* Kendall's tau-b of two rankings of n items (ties counted as in tau-b);
 * 0 if either is constant.  O(n^2). */
double nas_kendall_tau(const double *a, const double *b, int n);

/* ---- accuracy predictor (predictor.c) -------------------------------------
 * An MLP over the cell's 6 x 5 one-hot encoding, edges that cannot change
 * the output counted as none (two ReLU hidden layers,
 * Adam on the squared error of standardized targets), with SemiNAS's
 * self-training: fit the labelled cells, predict a pool of unlabelled ones,
 * add the predictions as labels, refit (Luo et al., NeurIPS 2020). */

typedef struct {
  int hidden;          /* units per hidden layer; 0: 64 */
  int epochs;          /* passes over the data per fit; 0: 200 */
  double lr;           /* Adam step; 0: 3e-3 */
  double weight_decay; /* L2 on weights; 0: 1e-2 (negative: none) */
  int pseudo_rounds;   /* self-training rounds; 0: none */
  int pool;            /* unlabelled cells pseudo-labelled per round */
  uint64_t seed;
} PredictorOptions;

typedef struct Predictor Predictor;

void predictor_options_default(PredictorOptions *o);
/* Fits on (codes[i], y[i]), i < n; with pseudo_rounds, `unlabelled` (nu
 * codes) supplies the pool, drawn from it in a seeded order.  NULL on
 * allocation failure. */
Predictor *predictor_fit(const int *codes, const double *y, int n, const int *unlabelled, int nu,
                         const PredictorOptions *o);
double predictor_predict(const Predictor *p, int code);
void predictor_destroy(Predictor *p);

/* ---- whole-network schedules (scheduler.c) ---------------------------------
 * The search of a Schedule (ir/ir.h) above the mappings of a mapped
 * module; its costs are backend's (schedule.c). */

/* The module analysed for schedules (backend/backend.h, sched_model_create). */
typedef struct SchedModel SchedModel;

typedef struct {
  MapObjective objective; /* of the whole network: EDP, energy or cycles */
  int max_nests;          /* longest group tried, in nests (vector nests included) */
  int64_t max_row_parts;  /* depth-first tiles: the last nest's rows cut into at most this many */
  int64_t max_col_parts;  /* and its columns */
  bool stream;            /* for a command stream: depth-first groups only of nests it runs
                             tile by tile (ir's nest_runs_tiled, cmd_emit's rule) */
  bool layer_only;        /* layer-by-layer groups only, no depth-first tiles (the NAAS
                             search's screening pass, --mapper-screen) */
  /* Work every schedule has besides its mac nests, added to each one's
   * totals before the objective is taken (the vector unit's nests, layer
   * by layer: vec_totals); 0 by default.  It changes which schedule wins
   * under EDP (E x C is not additive), not under energy or cycles. */
  double fixed_energy_pj;
  int64_t fixed_cycles;
} SchedOptions;

typedef struct {
  double layer_energy_pj,
      energy_pj; /* layer by layer, and the schedule found (the search's counts) */
  int64_t layer_cycles, cycles;
  int64_t configs;    /* (last nest, setting) pairs evaluated */
  int64_t groups;     /* (group, setting) pairs that can run */
  int64_t candidates; /* of those, kept for the programme (Pareto per group) */
  int64_t tile_evals; /* cost_eval calls for tiles */
  int iterations;     /* of the programme (lambda) */
} SchedSearchStats;

void sched_options_default(SchedOptions *o);

/* The best schedule of sm's module found by the search in scheduler.c's
 * header (never worse than layer by layer under the search's counts; no
 * groups if none helps).  RC_INTERNAL only if memory runs out. */
Rc sched_search(SchedModel *sm, const SchedOptions *o, Schedule *best, SchedSearchStats *st,
                Diag *d);

#endif
