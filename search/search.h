/*
 * search.h: the one interface of search/: black-box optimizers behind one
 * ask/tell interface, the NAAS encoding of a mapping as a real vector, and
 * the mapper that finds a good mapping of one layer on one architecture.
 *
 * Optimizers work on [0,1]^dim and minimise.  Every random draw comes from
 * the optimizer's own generator seeded by the caller, so a run is a pure
 * function of (problem, options, seed): the same whatever the thread count.
 */
#ifndef NAASC_SEARCH_H
#define NAASC_SEARCH_H

#include "accel.h"
#include "ir.h"

/* ---- random numbers ------------------------------------------------------ */

typedef struct {
  uint64_t s[4];
} Rng; /* xoshiro256** */

void rng_seed(Rng *r, uint64_t seed);
uint64_t rng_next(Rng *r);
double rng_uniform(Rng *r);  /* [0, 1) */
double rng_normal(Rng *r);   /* N(0, 1) */

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
/* Snapshot of the state, for checkpoints: bytes written (or needed if buf is NULL). */
size_t opt_save(const Optimizer *o, void *buf, size_t cap);
/* Restores a snapshot; false, o unchanged, unless buf is one of an optimizer
 * of o's kind and sizes with every value in the range opt_save can write. */
bool opt_load(Optimizer *o, const void *buf, size_t len);

const char *opt_name(OptKind k);
bool opt_parse(const char *name, OptKind *k);

/* The network level (#8): NAS-Bench-201 cell search and accuracy predictor. */
#include "nas.h"

#endif
