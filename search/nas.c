/*
 * nas.c: the network level of NAAS (search.h): regularized evolution over
 * NAS-Bench-201 cells, each scored by an accuracy table and a hardware
 * callback, plus the Pareto front and Kendall's tau used to report it.
 *
 * Regularized ("aging") evolution is Real et al., AAAI 2019, Algorithm 1:
 * a population of P models; each cycle draws S of them uniformly without
 * replacement, mutates the best of the S, adds the child and removes the
 * oldest member.  The mutation is NAS-Bench-201's (Dong and Yang, ICLR
 * 2020, its REA baseline): one edge, chosen uniformly, gets a different
 * op, chosen uniformly; children without a network are redrawn.
 *
 * Invariants: one Rng from the seed draws everything, in a fixed order, so
 * a run proposes the same cells whatever the callback does with threads;
 * each cell is scored once (a memo by code); `cycles` bounds proposals, so
 * the run ends even when every child is a repeat.
 */
#include "search/search.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void nas_options_default(NasOptions *o) {
  memset(o, 0, sizeof *o);
  o->goal = NAS_MIN_EDP;
  o->population = 20;
  o->sample = 5;
  o->cycles = 100;
  o->seed = 1;
}

static bool feasible(const NasOptions *o, const NasPoint *p) {
  return o->goal == NAS_MIN_EDP ? p->acc >= o->min_accuracy : p->edp <= o->max_edp;
}

bool nas_better(const NasOptions *o, const NasPoint *a, const NasPoint *b) {
  bool fa = feasible(o, a), fb = feasible(o, b);
  if (fa != fb) return fa;
  if (o->goal == NAS_MIN_EDP) {
    if (!fa) { /* closer to the accuracy bound first */
      if (a->acc != b->acc) return a->acc > b->acc;
      return a->edp < b->edp;
    }
    if (a->edp != b->edp) return a->edp < b->edp;
    if (a->acc != b->acc) return a->acc > b->acc;
  } else {
    if (!fa) {
      if (a->edp != b->edp) return a->edp < b->edp;
      return a->acc > b->acc;
    }
    if (a->acc != b->acc) return a->acc > b->acc;
    if (a->edp != b->edp) return a->edp < b->edp;
  }
  return a->code < b->code; /* a total order, for determinism */
}

static int rng_below(Rng *r, int n) { return (int)(rng_uniform(r) * n); }

typedef struct {
  const NasOptions *o;
  NasResult *r;
  int32_t *memo; /* [NAS_CELLS]: index in r->hist, -1 not scored */
  int caphist;
  Diag *d;
} Run;

/* The hist index of cell code, scoring it first if new; -1 on error. */
static int score(Run *u, int code) {
  u->r->proposals++;
  if (u->memo[code] >= 0) return u->memo[code];
  NasResult *r = u->r;
  if (r->nhist == u->caphist) {
    int cap = u->caphist ? 2 * u->caphist : 64;
    NasPoint *h = xrealloc(r->hist, sizeof *h * (size_t)cap);
    if (!h) {
      diag_error(u->d, NULL, "out of memory in the network search");
      return -1;
    }
    r->hist = h;
    u->caphist = cap;
  }
  NasPoint p = {.code = code, .acc = u->o->accuracy[code]};
  if (u->o->hw(u->o->hw_ctx, code, &p, u->d) != RC_OK) return -1;
  p.code = code;
  p.acc = u->o->accuracy[code];
  r->hist[r->nhist] = p;
  u->memo[code] = r->nhist;
  int i = r->nhist++;
  if (r->closest < 0 || nas_better(u->o, &p, &r->hist[r->closest])) {
    r->closest = i;
    if (u->o->progress)
      u->o->progress(u->o->progress_user, r->nhist, r->proposals, &p, feasible(u->o, &p));
  }
  return i;
}

/* A child of `code` with an accuracy; after 1000 draws without one (a
 * table with holes around the parent), the parent itself (a repeat). */
static int mutate(Rng *rng, const double *acc, int code) {
  uint8_t ops[NAS_EDGES];
  for (int tries = 0; tries < 1000; tries++) {
    int c = code;
    for (int e = 0; e < NAS_EDGES; e++, c /= NAS_OPS) ops[e] = (uint8_t)(c % NAS_OPS);
    int e = rng_below(rng, NAS_EDGES);
    int op = rng_below(rng, NAS_OPS - 1);
    ops[e] = (uint8_t)(op >= ops[e] ? op + 1 : op);
    int child = 0;
    for (int k = NAS_EDGES - 1; k >= 0; k--) child = child * NAS_OPS + ops[k];
    if (!isnan(acc[child])) return child;
  }
  return code;
}

Rc nas_search(const NasOptions *o, NasResult *r, Diag *d) {
  memset(r, 0, sizeof *r);
  r->best = r->closest = -1;
  int P = o->population, S = o->sample;
  if (P < 1 || S < 1 || S > P || o->cycles < 1 || !o->accuracy || !o->hw) {
    diag_error(d, NULL,
               "network search: need population >= 1, 1 <= sample <= population, cycles >= 1 "
               "(got %d, %d, %d)",
               P, S, o->cycles);
    return RC_BADINPUT;
  }
  int nvalid = 0;
  for (int c = 0; c < NAS_CELLS; c++) nvalid += !isnan(o->accuracy[c]);
  if (!nvalid) {
    diag_error(d, NULL, "network search: no cell has an accuracy");
    return RC_BADINPUT;
  }
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  Run u = {o, r, xmalloc(sizeof(int32_t) * NAS_CELLS), 0, d};
  int *pop = xmalloc(sizeof(int) * (size_t)P); /* hist indices, oldest first (a ring) */
  int *pick = xmalloc(sizeof(int) * (size_t)P);
  Rc rc = RC_INTERNAL;
  if (!u.memo || !pop || !pick) {
    diag_error(d, NULL, "out of memory in the network search");
    goto done;
  }
  for (int c = 0; c < NAS_CELLS; c++) u.memo[c] = -1;
  Rng rng;
  rng_seed(&rng, o->seed ^ 0x6e61732d72656121ULL);
  int head = 0; /* pop[head] is the oldest */
  for (int i = 0; i < P && r->proposals < o->cycles; i++) {
    int code;
    do code = rng_below(&rng, NAS_CELLS);
    while (isnan(o->accuracy[code]));
    if ((pop[i] = score(&u, code)) < 0) goto done;
  }
  int npop = (int)(r->proposals < P ? r->proposals : P);
  while (r->proposals < o->cycles) {
    /* S distinct members: a partial Fisher-Yates over the population slots. */
    for (int i = 0; i < npop; i++) pick[i] = i;
    int win = -1;
    for (int i = 0; i < S && i < npop; i++) {
      int j = i + rng_below(&rng, npop - i), t = pick[i];
      pick[i] = pick[j], pick[j] = t;
      int h = pop[pick[i]];
      if (win < 0 || nas_better(o, &r->hist[h], &r->hist[win])) win = h;
    }
    int child = score(&u, mutate(&rng, o->accuracy, r->hist[win].code));
    if (child < 0) goto done;
    pop[head] = child; /* the child replaces the oldest */
    head = (head + 1) % P;
  }
  r->best = feasible(o, &r->hist[r->closest]) ? r->closest : -1;
  rc = RC_OK;
done:
  clock_gettime(CLOCK_MONOTONIC, &t1);
  r->seconds = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
  xfree(u.memo);
  xfree(pop);
  xfree(pick);
  return rc;
}

void nas_result_free(NasResult *r) {
  xfree(r->hist);
  r->hist = NULL;
  r->nhist = 0;
}

typedef struct {
  double edp, acc;
  int code, i;
} Ranked;

static int by_edp(const void *a, const void *b) {
  const Ranked *x = a, *y = b;
  if (x->edp != y->edp) return x->edp < y->edp ? -1 : 1;
  if (x->acc != y->acc) return x->acc > y->acc ? -1 : 1;
  return x->code - y->code;
}

int nas_pareto(const NasPoint *p, int n, int *idx) {
  Ranked *s = xmalloc(sizeof *s * (size_t)(n > 0 ? n : 1));
  if (!s) return 0;
  for (int i = 0; i < n; i++) s[i] = (Ranked){p[i].edp, p[i].acc, p[i].code, i};
  qsort(s, (size_t)n, sizeof *s, by_edp);
  /* By EDP ascending, a point is on the front iff it beats every cheaper
   * point's accuracy. */
  int k = 0;
  double best = -INFINITY;
  for (int i = 0; i < n; i++)
    if (s[i].acc > best) {
      best = s[i].acc;
      idx[k++] = s[i].i;
    }
  xfree(s);
  return k;
}

double nas_kendall_tau(const double *a, const double *b, int n) {
  double conc = 0, disc = 0, ta = 0, tb = 0;
  for (int i = 0; i < n; i++)
    for (int j = i + 1; j < n; j++) {
      double da = a[i] - a[j], db = b[i] - b[j];
      if (da == 0 && db == 0) continue;
      if (da == 0) {
        ta++;
      } else if (db == 0) {
        tb++;
      } else if ((da > 0) == (db > 0)) {
        conc++;
      } else {
        disc++;
      }
    }
  double den = sqrt((conc + disc + ta) * (conc + disc + tb));
  return den > 0 ? (conc - disc) / den : 0;
}
