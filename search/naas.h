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
/* The largest search accepted (docs/user-guide.md, "Limits"); naas_search
 * refuses more (RC_BADINPUT) before any work.  Candidates are the start and
 * iterations x popsize; the work is candidates x map budget, the mapper
 * evaluations of each layer shape (about 12 days at a million a second). */
#define NAAS_MAX_POPSIZE 4096
#define NAAS_MAX_CANDIDATES (INT64_C(1) << 22)
#define NAAS_MAX_WORK INT64_C(1000000000000)
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
  /* Added after the interface was fixed: */
  int64_t stop_after_iteration; /* stop (checkpoint written) after this many; 0 = never; tests */
  int64_t final_map_budget;  /* the best design's final mapping, per layer; 0 = 20000 (map's default) */
} NaasOptions;

void naas_options_default(NaasOptions *o);

/* One evaluated candidate of the search, for the log and the plots. */
#define NAAS_LOG_AXES 6
typedef struct {
  int64_t iteration;      /* generation, from 0 */
  int index;              /* candidate in its generation */
  bool valid;             /* within every bound, every layer mapped */
  double score, edp, energy_pj, cycles, area_um2; /* +inf when not valid */
  int64_t pes;
  int naxes;              /* array axes (fan-outs > 1, outermost level first) */
  int64_t axis[NAAS_LOG_AXES];
  uint8_t connectivity[NAAS_LOG_AXES]; /* parallel dims per axis (bit per DIM_*) */
  int64_t inner_words;    /* innermost storage level's capacity (the PE's rf) */
  int64_t glb_words;      /* the outermost on-chip level's capacity */
  int64_t onchip_bytes;   /* all on-chip storage */
  double dram_bw;         /* words/cycle, 0 = unlimited */
} NaasCandidate;

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
  /* Added after the interface was fixed (naas_search only): */
  NaasCandidate *log;     /* heap, every candidate in order; naas_result_free */
  int64_t nlog;
  int64_t iterations;     /* generations done */
  int64_t resumed_at;     /* generations read from the checkpoint */
  bool stopped;           /* stop_after_iteration ended the search early (no design in r) */
  double search_score;    /* the best score as the search saw it (map_budget mappings); score <= it */
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

/* Writes r's candidate log as JSON ("naasc-search-log/1") atomically. */
Rc naas_log_write(const char *path, const NaasResult *r, Diag *d);
/* The letters of a connectivity mask ("KC"), into buf[NDIMS + 1]. */
void naas_conn_string(uint8_t conn, char *buf);

/* ---- checkpoints (checkpoint.c; the format is described there) -------------------- */

#define NAAS_CKPT_VERSION 2
#define NAAS_CKPT_MAX_BYTES ((size_t)1 << 30) /* larger files are refused unread */

/* The counters of a search, as a checkpoint stores them. */
typedef struct {
  uint64_t fp;                 /* fingerprint of (workload, budget, options) */
  int64_t iter, candidates, evals, nlog; /* generations done, candidates, evaluations, log records */
  double seconds, best_score;
  int32_t dim, have_best;      /* the optimizer's dimension; 1 once best_x holds a valid design */
  uint64_t optlen;             /* bytes of the optimizer's state (opt_save) */
} NaasCkpt;

/* Writes a checkpoint atomically: h, opt's state, best_x[h->dim] and
 * log[h->nlog]. */
Rc naas_ckpt_write(const char *path, const NaasCkpt *h, const Optimizer *opt, const double *best_x,
                   const NaasCandidate *log, Diag *d);
/* Decodes the len bytes of a checkpoint (named `name` in messages) of the
 * search whose fingerprint is fp and whose optimizer is opt: fills h, opt's
 * state, best_x[opt_dim(opt)] and *log (heap, grown with xrealloc; *caplog
 * its capacity).  RC_BADINPUT (reported, nothing trusted) if the file is not
 * a checkpoint, is damaged (its checksum), is from another search, or holds a
 * count or value no search writes; RC_INTERNAL if out of memory. */
Rc naas_ckpt_decode(const uint8_t *buf, size_t len, const char *name, uint64_t fp, Optimizer *opt,
                    NaasCkpt *h, double *best_x, NaasCandidate **log, int64_t *caplog, Diag *d);
/* naas_ckpt_decode of the file at path (at most NAAS_CKPT_MAX_BYTES). */
Rc naas_ckpt_read(const char *path, uint64_t fp, Optimizer *opt, NaasCkpt *h, double *best_x,
                  NaasCandidate **log, int64_t *caplog, Diag *d);

#endif
