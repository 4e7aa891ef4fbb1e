/*
 * internal.h: what the files of search/ share (search.h is the interface).
 */
#ifndef NAASC_SEARCH_INTERNAL_H
#define NAASC_SEARCH_INTERNAL_H

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

#endif
