/*
 * mapper.h: the mapper of one layer on one architecture (mapper.c) and the
 * NAAS encoding it searches.  Part of search/'s interface (search.h
 * includes it).
 */
#ifndef NAASC_MAPPER_H
#define NAASC_MAPPER_H

#include "accel.h"
#include "backend.h"
#include "search.h"

typedef enum { MAP_ES = 0, MAP_RANDOM, MAP_GENETIC, MAP_EXHAUSTIVE, MAP_SURROGATE } MapStrategy;
typedef enum { MAPOBJ_EDP = 0, MAPOBJ_ENERGY, MAPOBJ_LATENCY } MapObjective;

/* The largest mapper budget accepted (map{budget=N}, --map-budget,
 * --final-map-budget): about a quarter of an hour per layer at the cost
 * model's million evaluations a second (docs/user-guide.md, "Limits"). */
#define MAPPER_MAX_BUDGET INT64_C(1000000000)

typedef struct {
  MapStrategy strategy;
  MapObjective objective;
  int64_t budget;   /* cost evaluations, 1..MAPPER_MAX_BUDGET */
  int popsize;      /* 0: the optimizer's default */
  int chains;       /* es: independent chains sharing the budget; 0: 2 from 8000 evaluations, else 1 */
  uint64_t seed;
} MapperOptions;

typedef struct {
  Mapping best;
  CostResult cost;
  double best_fitness;
  int64_t evals, valid;
  bool complete; /* exhaustive: the whole space was evaluated within the budget */
  int restarts;  /* es: IPOP restarts made */
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

/* Keeps (m, c) as res's best if f beats it; true if it did (for strategies). */
bool mapresult_offer(MapResult *res, const Mapping *m, const CostResult *c, double f);

/* Checks before a search that some mapping of p on a can exist: an error
 * (RC_BADINPUT) naming the layer and the constraint when a level's
 * must_keep tensors do not fit even as their smallest tiles; a warning when
 * the array's connectivity admits no dim of the layer (it runs on one PE). */
Rc mapper_check(const Problem *p, const Arch *a, Diag *d);

/* Searches a mapping of p on a (mapper_check first); RC_BADINPUT (reported) if none is valid. */
Rc mapper_run(const Problem *p, const Arch *a, const MapperOptions *o, MapResult *res, Diag *d);

#endif
