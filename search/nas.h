/*
 * nas.h: the network level of NAAS (nas.c) over the NAS-Bench-201 cell
 * space, and the accuracy predictor of its semi-supervised mode
 * (predictor.c).  Part of search/'s interface: search.h includes it.
 *
 * The search knows a cell only by its code (6 edge ops as a base-5 number,
 * edge 0 lowest; frontend.h's nb201_code) and asks two oracles about it:
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
#ifndef NAASC_NAS_H
#define NAASC_NAS_H

#include <stdbool.h>
#include <stdint.h>

#include "ir.h"

#define NAS_EDGES 6
#define NAS_OPS 5
#define NAS_CELLS 15625 /* 5^6 */

typedef struct {
  int code;                /* the cell */
  double acc;              /* the accuracy the search saw (measured or predicted), percent */
  double edp, energy_pj, cycles; /* the hardware score of its network */
} NasPoint;

/* Scores cell `code` on hardware: fills out->edp, energy_pj, cycles. */
typedef Rc (*NasHwFn)(void *ctx, int code, NasPoint *out, Diag *d);

typedef enum {
  NAS_MIN_EDP = 0, /* minimise EDP subject to acc >= min_accuracy */
  NAS_MAX_ACC      /* maximise accuracy subject to edp <= max_edp */
} NasGoal;

typedef struct {
  NasGoal goal;
  double min_accuracy;    /* percent, NAS_MIN_EDP */
  double max_edp;         /* pJ x cycles, NAS_MAX_ACC */
  int population;         /* aging evolution's P (Real et al. 2019); 0: 20 */
  int sample;             /* its tournament size S; 0: 5 */
  int cycles;             /* cells proposed in all, the population's first P included; 0: 100 */
  uint64_t seed;
  const double *accuracy; /* [NAS_CELLS] by code; NaN: not a network */
  NasHwFn hw;
  void *hw_ctx;
  bool progress;          /* a line per new best on stderr */
} NasOptions;

typedef struct {
  NasPoint *hist;   /* every cell scored, in the order first proposed (heap) */
  int nhist;
  int best;         /* index in hist of the design, -1 if none meets the bound */
  int closest;      /* best by the same order when none meets it (else == best) */
  int64_t proposals;/* cells proposed (repeats included) */
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

#endif
