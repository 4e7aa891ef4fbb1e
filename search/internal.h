/*
 * internal.h: what the files of search/ share (search.h is the interface).
 */
#ifndef NAASC_SEARCH_INTERNAL_H
#define NAASC_SEARCH_INTERNAL_H

#include "backend/backend.h"
#include "search/search.h"

/* The mapper's objective of one evaluation (lower is better). */
typedef double (*FitnessFn)(const CostResult *, MapObjective);

/* The surrogate-gradient strategy of mapper_run (surrogate.c): an MLP of
 * log fitness fitted to the samples so far, descended by gradient, within
 * o->budget evaluations; the best mapping goes into res (mapresult_offer). */
Rc surrogate_run(const Problem *p, const Arch *a, const MapperOptions *o, MapResult *res,
                 FitnessFn fitness);

/* The gradient strategy of mapper_run (gradient.c): descent on the
 * differentiable cost model from several starts, each point rounded to a
 * valid mapping scored by cost_eval, within o->budget exact evaluations;
 * the best goes into res.  RC_BADINPUT if no valid mapping was found. */
Rc gradient_run(const Problem *p, const Arch *a, const MapperOptions *o, MapResult *res,
                FitnessFn fitness);

/* The valid discrete mapping of p on a nearest to the relaxed point r
 * (gradient.c): nearest divisors, spatial factors within the fan-outs,
 * orders by importance, keeps by sign, capacities repaired by moving
 * factors outward.  false if no repair makes every tile fit.  The
 * co-search (cosearch.c) rounds its mappings with it too. */
bool gradient_project(const Problem *p, const Arch *a, const RelaxedMapping *r, Mapping *m);

/* The words level l of m keeps, per tensor into tw[NTENSORS] and in all
 * (the return): what its capacities must hold (gradient.c). */
int64_t gradient_level_words(const Problem *p, const Mapping *m, int l, int64_t *tw);

/* naas.c's parts that the gradient co-search (cosearch.c) shares, so both
 * searches bound, score and finish designs alike. */

/* A search's limits, from the budget arch and the options (naas.c). */
typedef struct {
  int64_t pes;         /* MACs */
  int64_t onchip_bits; /* on-chip storage at the budget's precision (all levels, all instances) */
  int word_bits;       /* the template's word: the budget's widest tensor */
  int64_t range_words; /* the storage the decoders range over, in template words */
  bool bytes;          /* onchip_bits is a bound (else the area is) */
  double area_um2;     /* bound on the area; 0 = none */
  double power_mw;     /* bound on peak power; 0 = none */
  double dram_bw;      /* words/cycle; <= 0 unlimited */
} NaasBudget;

void naas_budget_of(const Arch *budget, const NaasOptions *o, NaasBudget *b);
/* Within b: its PEs, and its bytes or area, and --max-power. */
bool naas_within_budget(const NaasBudget *b, const Arch *a);
/* Instances and meshes from the fan-outs (arch_load's rule). */
void naas_arch_finish(Arch *a);
/* On-chip storage in bits, all levels and instances. */
int64_t naas_onchip_bits(const Arch *a);
/* A decoded design's figures: the technology model's at its node, then its
 * --assume mode; false if the model refuses the design. */
bool naas_refresh_costs(Arch *a);
/* Fills a log entry's design fields. */
void naas_describe(const Arch *a, NaasCandidate *c);

/* The gradient co-search (cosearch.c), naas_search's --optimizer gradient. */
Rc naas_gradient_search(const NaasWorkload *w, const Arch *budget, const NaasOptions *o,
                        NaasResult *r, Diag *d);

#endif
