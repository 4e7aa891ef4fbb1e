/*
 * naas.c: the NAAS accelerator-and-mapping co-search (Lin, Yang, Han, DAC
 * 2021) and the scoring of a fixed accelerator (search.h).
 *
 * Two levels, as in the paper.  The outer level is CMA-ES (opt.c) over a
 * real vector in [0,1]^n that decodes to an accelerator within the budget;
 * the inner level is the mapper (mapper.c) of every layer shape on that
 * accelerator.  A candidate's score is per model (total energy) x (total
 * cycles) of its best whole-network schedule over those mappings
 * (scheduler.c, with coarser settings for candidates than for the final
 * design and the baselines: CAND_* below), or with NAAS_SCHED_LAYER of its
 * layers run one after another, and the geometric mean of that over the
 * models (or energy or cycles alone, --objective).
 *
 * The searched accelerator (the template, docs/search.md):
 *   DRAM -> glb (one shared buffer, keeps W I O) -> PE array of 1-3 axes
 *        [-> cluster buffer, one per cluster of PEs, keeps W I O -> more axes]
 *        -> rf (one register file per PE, keeps W I O) -> MAC
 * (the optional cluster level is NVDLA's and the EdgeTPU's shape: per-cell
 * or per-column accumulators between the big buffer and the MACs), and its
 * vector, in order:
 *   [0] array axes k in {1,2,3};  [1] PEs, in steps of 8 up to the budget's;
 *   [2],[3] the shape: each axis but the last takes an even share of what is
 *   left (array dims in steps of 2);  [4] rf words per PE (log scale from
 *   3, one word at a time below 8, then steps of 8 words, up to what the
 *   storage range leaves);  [5] glb words (steps
 *   of 8 words, log scale, within what the PEs' rfs leave of the range);
 *   [6] DRAM bandwidth (eighths of the budget's);  then per axis 8 genes: the
 *   importance of G K C P Q R S and how many of the most important (1-3) are
 *   the axis' parallel dims (NAAS's importance encoding of connectivity);
 *   [31] how many of the axes fan out from the glb to clusters (0: no
 *   cluster level; the rest fan out from each cluster to its PEs);  [32]
 *   the cluster buffer's words (steps of 8 words, log scale);  [33], [34]
 *   the rf's and the cluster buffer's array kind (the technology model's
 *   default by size, or SRAM).
 * The search starts at the template design nearest the budget design
 * (encode_template; with --sizing-only, the budget design itself).
 * The storage range is the budget's on-chip words under a byte budget, and
 * 4x them under an area budget, where the area (and --max-power) decide;
 * words of the template's width (the widest tensor at the budget's
 * precision), the budget's bits counted at its own precision (budget_of):
 * with a technology node every level's energy per access, leakage and area
 * follow its size (arch_apply_tech), so no hand clamp bounds the register
 * file or the cluster buffer (docs/search.md, "Budgets").
 * Sizing only (--sizing-only, the paper's "sizing" baseline) keeps the
 * budget's own hierarchy and connectivity and searches, one gene each, every
 * array axis' size (steps of 2, from half to twice the budget's), every
 * on-chip level's capacity (steps of 16 B, a quarter to 4x) and the DRAM
 * bandwidth.  Decoding either vector never exceeds the budget's PEs; a
 * design over the budget (its area, or its on-chip bytes), --max-area or
 * --max-power is invalid and resampled (NAAS rejects and resamples).
 *
 * Determinism: every random draw is the optimizer's (seeded by --seed);
 * the mapper's seed of a layer depends only on (layer shape, seed).  A
 * generation is scored in waves, in the order of a lower bound on each
 * candidate's score (eval_cands: a candidate the bound rules out of the
 * ranks the optimizer reads is not mapped, exactly; with --mapper-screen,
 * a cheap screening pass first).  A wave's (layer, accelerator) pairs
 * missing from the cache are listed
 * in candidate order, deduplicated, evaluated in parallel (threads, and MPI
 * ranks when built with NAASC_MPI) and put into the cache; scores are then
 * read in candidate order.  So results do not depend on --jobs or -np, nor
 * on the cache's contents, nor on a resume.  With fused schedules a
 * generation's candidates whose schedules are not cached are mapped whole
 * (their mappings are needed, the layer cache keeps figures only) and their
 * models scheduled in parallel, each on a copy of the model's nests; the
 * scheduled figures are cached per (model, design, mapper options).  With
 * --warm-map each candidate's mapper runs start from the incumbent's
 * mappings (mapper.c, "warm starts"); the incumbent is chosen from the
 * scores alone and both caches key on the warm starts, so this holds too
 * (naas_search, where the incumbent is chosen).  With --map-share each
 * layer's mapper budget in the generations follows its share of the start
 * design's cost, the same for every candidate ("budgets by share" below).
 *
 * Checkpoints (--checkpoint) are written atomically after every generation:
 * a fingerprint of (workload, budget, options), the optimizer's state, the
 * table of best designs, the counters, the candidate log and with
 * --warm-map the incumbent's mappings, under a checksum (checkpoint.c: the
 * format and the reader's checks).
 */
#include "search/search.h"
#include "search/internal.h"

#include "backend/backend.h"

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef NAASC_MPI
#include <mpi.h>
#endif

/* ---- energy and area of the template ------------------------------------
 * With a technology node in the budget, the template's figures come from
 * the technology model (arch_apply_tech) at the budget's node and
 * precision, as the presets' do.  A budget without one (every figure given,
 * e.g. a Timeloop case) gets the relative scheme below: Chen, Emer, Sze,
 * ISCA 2016, Table IV, normalised to one MAC; area from the Accelergy table
 * of the Eyeriss-like design (timeloop-accelergy-exercises @9baa0b4,
 * eyeriss_like ART summary). */
#define E_MAC 1.0          /* [EN] ALU 1x */
#define E_RF 1.0           /* [EN] RF (0.5 kB) 1x, up to RF_CLASS_WORDS */
#define E_GLB 6.0          /* [EN] global buffer 6x */
#define E_HOP 2.0          /* [EN] inter-PE 2x per hop */
#define A_MAC 1239.5       /* [AR] 16-bit MAC, um^2 */
#define A_SRAM_WORD 17.739 /* [AR] SRAM per 16-bit word */
#define A_RF_WORD 18.0833  /* [AR] RF per 16-bit word */
#define A_RF_FIXED 162.68  /* [AR] RF per instance */

#define RF_CLASS_WORDS 512 /* 1 KB: the RF class bound of the relative scheme (arch_tech.c) */
#define AREA_RANGE 4       /* under an area budget, storage ranges over 4x the budget's words */
#define STEP_WORDS 8       /* NAAS's 16-byte buffer step: 8 template words (16 bytes at 16 bits) */
#define PE_STEP 8          /* NAAS's PE step */
#define NCONN 7            /* G K C P Q R S: the dims whose importance is encoded */
#define MAX_RESAMPLE 32
#define TEMPLATE_MAX_BANKS 32 /* the technology model's most banks (backend/tech.c, BANKS_MAX) */

static const int conn_dim[NCONN] = {DIM_G, DIM_K, DIM_C, DIM_P, DIM_Q, DIM_R, DIM_S};

/* ---- workload ------------------------------------------------------------ */

static bool same_problem(const Problem *a, const Problem *b) {
  return memcmp(a->dim, b->dim, sizeof a->dim) == 0 &&
         memcmp(a->stride, b->stride, sizeof a->stride) == 0 &&
         memcmp(a->dilation, b->dilation, sizeof a->dilation) == 0;
}

Rc naas_workload_add_module(NaasWorkload *w, const Module *m, Diag *d) {
  const char *name = m->name ? m->name : "model";
  if (w->nmodels == NAAS_MAX_MODELS) {
    diag_error(d, name, "more than %d models in one search", NAAS_MAX_MODELS);
    return RC_BADINPUT;
  }
  int model = w->nmodels, first = w->nlayers;
  for (uint32_t i = 0; i < m->nnests; i++) {
    Problem p;
    if (!nest_problem(&m->nests[i], &p)) continue;
    int k = first;
    while (k < w->nlayers && !same_problem(&w->layers[k].p, &p)) k++;
    if (k < w->nlayers) {
      w->layers[k].count++;
      continue;
    }
    if (w->nlayers == w->caplayers) {
      int cap = w->caplayers ? 2 * w->caplayers : 32;
      NaasLayer *nl = xrealloc(w->layers, sizeof *nl * (size_t)cap);
      if (!nl) {
        diag_error(d, name, "out of memory");
        return RC_INTERNAL;
      }
      w->layers = nl;
      w->caplayers = cap;
    }
    NaasLayer *l = &w->layers[w->nlayers++];
    memset(l, 0, sizeof *l);
    l->p = p;
    l->count = 1;
    l->model = model;
    snprintf(l->layer, sizeof l->layer, "%s", m->nests[i].name ? m->nests[i].name : "?");
  }
  if (w->nlayers == first) {
    diag_error(d, name,
               "no mappable layer: the search needs convolutions or matrix products "
               "(mac nests), and this model has none");
    return RC_BADINPUT;
  }
  snprintf(w->model_name[model], ACCEL_NAME_MAX, "%s", name);
  w->module[model] = m;
  w->nmodels++;
  return RC_OK;
}

void naas_workload_free(NaasWorkload *w) {
  xfree(w->layers);
  memset(w, 0, sizeof *w);
}

/* ---- hashing ------------------------------------------------------------- */

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
  const unsigned char *s = p;
  for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 0x100000001b3ULL;
  return h;
}

static uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static uint64_t problem_hash(const Problem *p, uint64_t h) {
  h = fnv(h, p->dim, sizeof p->dim);
  h = fnv(h, p->stride, sizeof p->stride);
  return fnv(h, p->dilation, sizeof p->dilation);
}

/* The fields of an Arch the cost model reads (not its name), hashed. */
/* A mapping's fields (not its padding), as a warm start's key. */
static uint64_t mapping_hash(const Mapping *m, uint64_t h) {
  h = fnv(h, &m->nlevels, sizeof m->nlevels);
  for (int l = 0; l < m->nlevels && l < ACCEL_MAX_LEVELS; l++) {
    const LevelMapping *lm = &m->level[l];
    h = fnv(h, lm->factor, sizeof lm->factor);
    h = fnv(h, lm->remainder, sizeof lm->remainder);
    h = fnv(h, lm->order, sizeof lm->order);
    h = fnv(h, lm->spatial, sizeof lm->spatial);
    h = fnv(h, lm->spatial_order, sizeof lm->spatial_order);
    h = fnv(h, &lm->keep, sizeof lm->keep);
  }
  return mix64(h);
}

static uint64_t arch_hash(const Arch *a, uint64_t h) {
  h = fnv(h, &a->nlevels, sizeof a->nlevels);
  for (int l = 0; l < a->nlevels; l++) {
    const Level *L = &a->level[l];
    h = fnv(h, &L->is_dram, sizeof L->is_dram);
    h = fnv(h, &L->instances, sizeof L->instances);
    h = fnv(h, L->fanout, sizeof L->fanout);
    h = fnv(h, L->connectivity, sizeof L->connectivity);
    h = fnv(h, &L->word_bits, sizeof L->word_bits);
    h = fnv(h, &L->block_words, sizeof L->block_words);
    h = fnv(h, &L->capacity_words, sizeof L->capacity_words);
    h = fnv(h, L->tensor_capacity_words, sizeof L->tensor_capacity_words);
    h = fnv(h, &L->multiple_buffering, sizeof L->multiple_buffering);
    h = fnv(h, &L->keeps_allowed, sizeof L->keeps_allowed);
    h = fnv(h, &L->read_bw, sizeof L->read_bw);
    h = fnv(h, &L->write_bw, sizeof L->write_bw);
    h = fnv(h, &L->shared_bw, sizeof L->shared_bw);
    h = fnv(h, &L->e_read_pj, sizeof L->e_read_pj);
    h = fnv(h, &L->e_fill_pj, sizeof L->e_fill_pj);
    h = fnv(h, &L->e_update_pj, sizeof L->e_update_pj);
    h = fnv(h, &L->noc_pj_per_hop, sizeof L->noc_pj_per_hop);
    h = fnv(h, &L->no_multicast, sizeof L->no_multicast);
    h = fnv(h, &L->no_reduction, sizeof L->no_reduction);
    h = fnv(h, &L->area_um2_per_word, sizeof L->area_um2_per_word);
    h = fnv(h, &L->area_um2_fixed, sizeof L->area_um2_fixed);
  }
  h = fnv(h, &a->mac_instances, sizeof a->mac_instances);
  h = fnv(h, &a->mac_energy_pj, sizeof a->mac_energy_pj);
  return fnv(h, &a->mac_area_um2, sizeof a->mac_area_um2);
}

/* ---- the cache ------------------------------------------------------------ */

/* What the search keeps of one mapper run: enough to score a candidate. */
typedef struct {
  double energy_pj, cycles, fitness, area_um2;
  int64_t evals;
  int32_t rc;
  int32_t unused;
} JobOut;

typedef struct {
  uint64_t k1, k2; /* two independent hashes of (shape, arch, mapper options); k1 = 0: empty */
  JobOut out;
} CacheEntry;

struct NaasCache {
  pthread_mutex_t lock;
  CacheEntry *e;
  size_t cap, n;
  int64_t hits, misses;
};

NaasCache *naas_cache_create(void) {
  NaasCache *c = xcalloc(1, sizeof *c);
  if (!c) return NULL;
  pthread_mutex_init(&c->lock, NULL);
  return c;
}

void naas_cache_destroy(NaasCache *c) {
  if (!c) return;
  pthread_mutex_destroy(&c->lock);
  xfree(c->e);
  xfree(c);
}

static bool cache_find(NaasCache *c, uint64_t k1, uint64_t k2, JobOut *out) {
  bool found = false;
  pthread_mutex_lock(&c->lock);
  if (c->cap)
    for (size_t i = k1 & (c->cap - 1);; i = (i + 1) & (c->cap - 1)) {
      if (!c->e[i].k1) break;
      if (c->e[i].k1 == k1 && c->e[i].k2 == k2) {
        *out = c->e[i].out;
        found = true;
        break;
      }
    }
  if (found)
    c->hits++;
  else
    c->misses++;
  pthread_mutex_unlock(&c->lock);
  return found;
}

static void cache_put_locked(NaasCache *c, uint64_t k1, uint64_t k2, const JobOut *out) {
  size_t i = k1 & (c->cap - 1);
  while (c->e[i].k1 && !(c->e[i].k1 == k1 && c->e[i].k2 == k2)) i = (i + 1) & (c->cap - 1);
  if (!c->e[i].k1) c->n++;
  c->e[i].k1 = k1;
  c->e[i].k2 = k2;
  c->e[i].out = *out;
}

/* false: out of memory (the entry is simply not kept). */
static bool cache_put(NaasCache *c, uint64_t k1, uint64_t k2, const JobOut *out) {
  pthread_mutex_lock(&c->lock);
  if (2 * (c->n + 1) > c->cap) {
    size_t ncap = c->cap ? 2 * c->cap : 4096;
    CacheEntry *old = c->e, *ne = xcalloc(ncap, sizeof *ne);
    if (!ne) {
      pthread_mutex_unlock(&c->lock);
      return false;
    }
    size_t ocap = c->cap;
    c->e = ne;
    c->cap = ncap;
    c->n = 0;
    for (size_t i = 0; i < ocap; i++)
      if (old[i].k1) cache_put_locked(c, old[i].k1, old[i].k2, &old[i].out);
    xfree(old);
  }
  cache_put_locked(c, k1, k2, out);
  pthread_mutex_unlock(&c->lock);
  return true;
}

/* ---- options and budget --------------------------------------------------- */

/* Defaults tuned on MobileNetV2 within eyeriss (docs/benchmarks.md). */
#define DEFAULT_ITERATIONS 60
#define DEFAULT_POPSIZE 16
#define DEFAULT_MAP_BUDGET 1000
#define DEFAULT_FINAL_MAP_BUDGET 20000 /* the map pass's default (mapper.c) */

void naas_options_default(NaasOptions *o) {
  memset(o, 0, sizeof *o);
  o->objective = NAAS_OBJ_EDP;
  o->optimizer = OPT_CMAES;
  o->seed = 1;
  o->jobs = 1;
  o->map_share = NAAS_MAP_SHARE_DEFAULT;
}

typedef NaasBudget Budget; /* search/internal.h */

static int64_t onchip_bits(const Arch *a) {
  int64_t bits = 0;
  for (int l = 0; l < a->nlevels; l++) {
    const Level *L = &a->level[l];
    if (L->is_dram) continue;
    int64_t cap = L->capacity_words;
    if (cap <= 0)
      for (int t = 0; t < NTENSORS; t++) cap += L->tensor_capacity_words[t];
    bits += L->instances * cap * (L->word_bits > 0 ? L->word_bits : 16);
  }
  return bits;
}

/* The template's word: the budget's widest tensor (level_init: every
 * template level keeps W, I and O). */
static int template_word_bits(const Arch *budget) {
  int wb = 0;
  for (int t = 0; t < NTENSORS; t++)
    if (arch_tensor_bits(budget, t) > wb) wb = arch_tensor_bits(budget, t);
  return wb > 0 ? wb : 16;
}

static void budget_of(const Arch *a, const NaasOptions *o, Budget *b) {
  memset(b, 0, sizeof *b);
  b->pes = a->mac_instances;
  b->onchip_bits = onchip_bits(a);
  b->word_bits = template_word_bits(a);
  b->bytes = o->byte_budget || a->tech_nm <= 0;
  int64_t words = b->onchip_bits / b->word_bits; /* the budget's storage in template words */
  b->range_words = b->bytes ? words : AREA_RANGE * words;
  b->area_um2 = o->max_area_um2 > 0 ? o->max_area_um2 : b->bytes ? 0 : arch_area_um2(a);
  b->power_mw = o->max_power_mw;
  b->dram_bw = a->level[0].shared_bw > 0 ? a->level[0].shared_bw
               : a->level[0].read_bw > 0
                   ? a->level[0].read_bw + (a->level[0].write_bw > 0 ? a->level[0].write_bw : 0)
                   : 0;
}

/* Instances and meshes from the fan-outs, as arch_load computes them. */
static void arch_finish(Arch *a) {
  int64_t above = 1, ax = 1, ay = 1;
  for (int l = 0; l < a->nlevels; l++) {
    Level *L = &a->level[l];
    L->instances = above;
    L->mesh_x = ax;
    L->mesh_y = ay;
    above = L->instances * L->fanout[0] * L->fanout[1] * L->fanout[2];
    ax = L->mesh_x * L->fanout[AXIS_X];
    ay = L->mesh_y * L->fanout[AXIS_Y] * L->fanout[AXIS_Z];
  }
  a->mac_instances = above;
  a->mac_mesh_x = ax;
  a->mac_mesh_y = ay;
}

/* cost.c's area model (docs/cost-model.md, "Area"), before any mapping. */
static double arch_area(const Arch *a) { return arch_area_um2(a); }

/* The figures of a decoded design: the technology model's at the budget's
 * node (its levels' `derived` figures), then the budget's --assume mode. */
static bool refresh_costs(Arch *a) {
  if (a->tech_nm > 0) {
    Diag quiet;
    diag_init(&quiet, NULL, NULL);
    if (arch_apply_tech(a, &quiet) != RC_OK) return false;
  }
  arch_assume(a, (ArchAssume)a->assume);
  return true;
}

/* One PE of a: its MAC and every storage level with one instance per MAC. */
static double pe_area_um2(const Arch *a) {
  double area = a->mac_area_um2;
  for (int l = 0; l < a->nlevels; l++) {
    const Level *L = &a->level[l];
    if (!L->is_dram && L->instances == a->mac_instances)
      area += (double)L->capacity_words * L->area_um2_per_word + L->area_um2_fixed;
  }
  return area;
}

/* Within the budget: its PEs, and its bytes or area, and --max-power. */
static bool within_budget(const Budget *bg, const Arch *a) {
  if (a->mac_instances > bg->pes) return false;
  if (bg->bytes && onchip_bits(a) > bg->onchip_bits) return false;
  if (bg->area_um2 > 0 && arch_area_um2(a) > bg->area_um2) return false;
  if (bg->power_mw > 0 && arch_peak_power_mw(a) > bg->power_mw) return false;
  return true;
}

/* naas.c's parts that the gradient co-search (cosearch.c) shares
 * (search/internal.h). */
void naas_arch_finish(Arch *a) { arch_finish(a); }
int64_t naas_onchip_bits(const Arch *a) { return onchip_bits(a); }
bool naas_refresh_costs(Arch *a) { return refresh_costs(a); }
void naas_budget_of(const Arch *budget, const NaasOptions *o, NaasBudget *b) {
  budget_of(budget, o, b);
}
bool naas_within_budget(const NaasBudget *b, const Arch *a) { return within_budget(b, a); }

/* ---- decoding ---------------------------------------------------------------- */

static int64_t even_round(double v) {
  int64_t e = 2 * (int64_t)floor(v / 2 + 0.5);
  return e < 2 ? 2 : e;
}

static int64_t clampi(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

static double gene(const double *x, int i) { return x[i] < 0 ? 0 : x[i] > 1 ? 1 : x[i]; }

#define TEMPLATE_SPLIT \
  (7 + ACCEL_MAX_AXES * (NCONN + 1))      /* the cluster split, then the cluster buffer */
#define TEMPLATE_MEM (TEMPLATE_SPLIT + 2) /* the rf's, then the cluster buffer's array kind */
#define TEMPLATE_GENES (TEMPLATE_SPLIT + 4)

static int sizing_genes(const Arch *b) {
  int n = 1; /* DRAM bandwidth */
  for (int l = 0; l < b->nlevels; l++) {
    if (b->level[l].is_dram) continue;
    n++; /* capacity */
    for (int x = 0; x < ACCEL_MAX_AXES; x++) n += b->level[l].fanout[x] > 1;
  }
  return n;
}

static double decode_bw(const Budget *bg, double g) {
  if (bg->dram_bw <= 0) return 0;
  return bg->dram_bw * (double)(1 + (int)floor(g * 7.999)) / 8.0;
}

static void set_dram_bw(Level *L, double bw) {
  L->read_bw = L->write_bw = 0;
  L->shared_bw = bw;
}

/* The template design of vector x within the budget; false if it breaks
 * the budget's bytes (then it is resampled). */
static void level_init(const Arch *budget, Level *L, const char *name, int64_t words) {
  snprintf(L->name, sizeof L->name, "%s", name);
  L->word_bits = 0; /* the widest tensor: every template level keeps W, I and O */
  for (int t = 0; t < NTENSORS; t++)
    if (arch_tensor_bits(budget, t) > L->word_bits) L->word_bits = arch_tensor_bits(budget, t);
  L->derived = budget->tech_nm > 0 ? LEVEL_TECH_ALL : 0;
  L->block_words = 1;
  L->capacity_words = words;
  L->multiple_buffering = 1;
  L->keeps_allowed = ACCEL_ALL_TENSORS;
  for (int ax = 0; ax < ACCEL_MAX_AXES; ax++)
    L->fanout[ax] = 1, L->connectivity[ax] = ACCEL_ALL_DIMS;
}

/* words in steps of STEP_WORDS, log scale over [STEP_WORDS, hi] by gene g;
 * below one step, all of hi (>= 1) or 0 if there is no room. */
static int64_t decode_words(double g, int64_t hi, bool round_down) {
  if (hi < STEP_WORDS) return hi >= 1 ? hi : 0;
  double v = exp(log((double)STEP_WORDS) + g * (log((double)hi) - log((double)STEP_WORDS)));
  int64_t w =
      STEP_WORDS * (int64_t)(round_down ? floor(v / STEP_WORDS) : floor(v / STEP_WORDS + 0.5));
  return clampi(w, STEP_WORDS, STEP_WORDS * (hi / STEP_WORDS));
}

/* One level's storage per instance, in template words. */
static int64_t level_template_words(const Level *L, int word_bits) {
  int64_t cap = L->capacity_words;
  if (cap <= 0)
    for (int t = 0; t < NTENSORS; t++) cap += L->tensor_capacity_words[t];
  return cap * (L->word_bits > 0 ? L->word_bits : 16) / word_bits;
}

/* A register file's words per PE, log scale over [NTENSORS, hi] by gene g:
 * one word at a time below one step (a PE's operand registers: at least
 * one word each of W, I and O, which the template's rf keeps), then steps
 * of STEP_WORDS as decode_words. */
static int64_t decode_pe_words(double g, int64_t hi) {
  if (hi < NTENSORS) return 0;
  double v = exp(log((double)NTENSORS) + g * (log((double)hi) - log((double)NTENSORS)));
  if (v < STEP_WORDS - 0.5 || hi < STEP_WORDS) {
    int64_t w = (int64_t)floor(v + 0.5);
    return clampi(w, NTENSORS, hi < STEP_WORDS - 1 ? hi : STEP_WORDS - 1);
  }
  int64_t w = STEP_WORDS * (int64_t)floor(v / STEP_WORDS + 0.5);
  return clampi(w, STEP_WORDS, STEP_WORDS * (hi / STEP_WORDS));
}

/* A level's array kind by gene g: the technology model's default (a
 * register file up to 1 KB, SRAM above) or SRAM at any size (Eyeriss's
 * filter scratch pad, NVDLA's accumulators). */
static uint8_t decode_mem(double g) { return g >= 0.5 ? LEVEL_MEM_SRAM : LEVEL_MEM_AUTO; }

/* The template design of vector x within the budget; false if it breaks
 * the budget's bytes (then it is resampled). */
static bool decode_template(const Arch *budget, const Budget *bg, const double *x, Arch *a) {
  memset(a, 0, sizeof *a);
  snprintf(a->name, sizeof a->name, "naas-%.30s", budget->name);
  a->clock_mhz = budget->clock_mhz;
  a->tech_nm = budget->tech_nm;
  memcpy(a->tensor_bits, budget->tensor_bits, sizeof a->tensor_bits);
  a->psum_bits = budget->psum_bits; /* the budget's precision (--precision) */
  a->number = budget->number;
  a->assume = budget->assume;
  a->mac_derived = budget->tech_nm > 0 ? (uint8_t)(LEVEL_TECH_ENERGY | LEVEL_TECH_AREA) : 0;
  a->level[0] = budget->level[0];
  set_dram_bw(&a->level[0], decode_bw(bg, gene(x, 6)));
  for (int ax = 0; ax < ACCEL_MAX_AXES; ax++)
    a->level[0].fanout[ax] = 1, a->level[0].connectivity[ax] = ACCEL_ALL_DIMS;
  /* PEs and the array's shape. */
  int64_t T;
  int k = 1 + (int)floor(gene(x, 0) * 2.999);
  if (bg->pes >= PE_STEP) {
    int64_t steps = bg->pes / PE_STEP;
    T = PE_STEP * clampi((int64_t)floor(gene(x, 1) * (double)steps + 0.5), 1, steps);
  } else {
    T = bg->pes;
    k = 1;
  }
  int64_t size[ACCEL_MAX_AXES] = {1, 1, 1};
  if (k == 1) {
    size[0] = T;
  } else {
    int64_t left = T;
    for (int i = 0; i < k - 1; i++) {
      int64_t hi = 2 * ((left >> (k - 1 - i)) / 2); /* leave at least 2 per later axis */
      if (hi < 2) hi = 2;
      size[i] = clampi(even_round(pow((double)left, gene(x, 2 + i))), 2, hi);
      left /= size[i];
    }
    size[k - 1] = left >= 2 ? 2 * (left / 2) : 1;
  }
  /* Axes [0, split) fan out from the global buffer to clusters, each with a
   * cluster buffer; axes [split, k) from there to the PEs.  split 0: no
   * cluster level, every axis under the global buffer. */
  int split = k >= 2 ? (int)clampi((int64_t)floor(gene(x, TEMPLATE_SPLIT) * k), 0, k - 1) : 0;
  int L = split ? 4 : 3;
  a->nlevels = L;
  Level *g = &a->level[1], *c = split ? &a->level[2] : NULL, *r = &a->level[L - 1];
  level_init(budget, g, "glb", 0);
  if (c) level_init(budget, c, "cluster", 0);
  level_init(budget, r, "rf", 0);
  int64_t clusters = 1;
  for (int ax = 0; ax < ACCEL_MAX_AXES; ax++) {
    if (size[ax] <= 1) continue;
    Level *owner = c && ax >= split ? c : g;
    if (owner == g) clusters *= size[ax];
    owner->fanout[ax] = size[ax];
    /* Importance: the m most important of G K C P Q R S are parallel here. */
    const double *imp = x + 7 + ax * (NCONN + 1);
    int m = 1 + (int)floor(gene(imp, NCONN) * 2.999);
    uint8_t conn = (uint8_t)(1u << DIM_N), used = 0;
    for (int j = 0; j < m; j++) {
      int best = -1;
      for (int cd = 0; cd < NCONN; cd++)
        if (!(used & (1u << cd)) && (best < 0 || imp[cd] > imp[best])) best = cd;
      used |= (uint8_t)(1u << best);
      conn |= (uint8_t)(1u << conn_dim[best]);
    }
    owner->connectivity[ax] = conn;
  }
  int64_t P = size[0] * size[1] * size[2];
  /* Register file per PE, cluster buffers, then the global buffer from what is left. */
  int64_t room = bg->range_words - 1 - (c ? clusters : 0);
  int64_t rf = decode_pe_words(gene(x, 4), room / P);
  if (rf < 1) return false;
  r->memory = decode_mem(gene(x, TEMPLATE_MEM));
  int64_t left = bg->range_words - rf * P;
  if (c) {
    int64_t cw = decode_words(gene(x, TEMPLATE_SPLIT + 1), (left - 1) / clusters, false);
    if (cw < 1) return false;
    c->capacity_words = cw;
    c->memory = decode_mem(gene(x, TEMPLATE_MEM + 1));
    left -= cw * clusters;
    /* Without a technology node: the energy class by size, as the relative
     * scheme draws it (RF up to 1 KB per instance, buffer class above). */
    bool small = cw <= RF_CLASS_WORDS;
    c->e_read_pj = c->e_fill_pj = c->e_update_pj = small ? E_RF : E_GLB;
    c->area_um2_per_word = small ? A_RF_WORD : A_SRAM_WORD;
    c->area_um2_fixed = small ? A_RF_FIXED : 0;
  }
  int64_t glb = decode_words(gene(x, 5), left, true);
  if (glb < 1) return false;
  /* The global buffer: the budget's on-chip bandwidth (its outermost level's). */
  const Level *bl = budget->nlevels > 1 ? &budget->level[1] : NULL;
  g->capacity_words = glb;
  if (bl && !bl->is_dram) {
    g->read_bw = bl->read_bw;
    g->write_bw = bl->write_bw;
    g->shared_bw = bl->shared_bw;
    /* and its SRAM organisation: its block (words per access) and its
     * bank size, so a larger or smaller buffer has more or fewer banks of
     * the budget's size (the technology model's limit: TEMPLATE_MAX_BANKS). */
    g->block_words = bl->block_words > 1 ? bl->block_words : 1;
    int64_t bw = level_template_words(bl, bg->word_bits);
    if (bl->banks > 1 && bw > 0) {
      int64_t per = (bw + bl->banks - 1) / bl->banks;
      int64_t depth = glb / g->block_words;
      g->banks =
          (int)clampi((glb + per - 1) / per, 1,
                      depth < TEMPLATE_MAX_BANKS ? (depth > 0 ? depth : 1) : TEMPLATE_MAX_BANKS);
    }
  }
  g->e_read_pj = g->e_fill_pj = g->e_update_pj = E_GLB;
  g->noc_pj_per_hop =
      E_HOP; /* the presets charge the hop on the level that fans out from the big buffer */
  g->area_um2_per_word = A_SRAM_WORD;
  r->capacity_words = rf;
  r->e_read_pj = r->e_fill_pj = r->e_update_pj = rf <= RF_CLASS_WORDS ? E_RF : E_GLB;
  r->area_um2_per_word = A_RF_WORD;
  r->area_um2_fixed = A_RF_FIXED;
  a->mac_energy_pj = E_MAC;
  a->mac_area_um2 = A_MAC;
  a->vector = budget->vector;
  arch_finish(a);
  return refresh_costs(a) && within_budget(bg, a);
}

/* The inverse of decode_words: the gene whose words are w (hi as there). */
static double words_gene(int64_t w, int64_t hi) {
  if (hi < STEP_WORDS || w <= STEP_WORDS) return 0;
  if (w >= hi) return 1;
  return (log((double)w) - log((double)STEP_WORDS)) / (log((double)hi) - log((double)STEP_WORDS));
}

/* The inverse of decode_pe_words (at least NTENSORS words). */
static double pe_words_gene(int64_t w, int64_t hi) {
  if (hi <= NTENSORS || w <= NTENSORS) return 0;
  if (w >= hi) return 1;
  return (log((double)w) - log((double)NTENSORS)) / (log((double)hi) - log((double)NTENSORS));
}

/* The template vector nearest the budget design (the search's start): the
 * budget's PEs, its array axes in order (those of its first fanning level
 * under the global buffer, those of a second from cluster buffers, at most
 * ACCEL_MAX_AXES), each axis' parallel dims (1-3 of G K C P Q R S, the
 * first three in that order if it has more), the per-PE storage as the
 * register file, the second fanning level's as the cluster buffer, the
 * outermost on-chip level's as the global buffer, and all of the budget's
 * DRAM bandwidth.  The template cannot express per-tensor levels, bypass
 * constraints or a level with no fan-out between others, so the design x
 * decodes to is near the budget's, not equal to it; x is always a valid
 * vector, but its design may break the budget (the caller checks). */
static void encode_template(const Arch *budget, const Budget *bg, double *x) {
  for (int k = 0; k < TEMPLATE_GENES; k++) x[k] = 0.5;
  x[6] = 1.0; /* every byte per cycle of the budget's DRAM */
  int64_t size[ACCEL_MAX_AXES];
  uint8_t conn[ACCEL_MAX_AXES];
  int k = 0, split = 0, fanning = 0, cluster_level = -1;
  for (int l = 0; l < budget->nlevels && k < ACCEL_MAX_AXES; l++) {
    const Level *L = &budget->level[l];
    bool fans = false;
    for (int ax = 0; ax < ACCEL_MAX_AXES && k < ACCEL_MAX_AXES; ax++) {
      if (L->fanout[ax] <= 1) continue;
      size[k] = L->fanout[ax];
      conn[k++] = L->connectivity[ax];
      fans = true;
    }
    if (!fans) continue;
    if (++fanning == 1) {
      split = k;
    } else if (fanning == 2) {
      cluster_level = l + 1 < budget->nlevels ? l : -1;
    }
  }
  if (fanning < 2) split = 0; /* one fanning level: every axis under the global buffer */
  if (k == 0) {               /* no array: one axis of the budget's PEs */
    size[0] = bg->pes;
    conn[0] = ACCEL_ALL_DIMS;
    k = 1;
  }
  x[0] = (k - 0.5) / 3.0;
  int64_t steps = bg->pes / PE_STEP;
  x[1] = steps > 0 ? 1.0 : 0.5; /* every PE (rounded down to PE_STEP) */
  double left = (double)(steps > 0 ? PE_STEP * steps : bg->pes);
  for (int i = 0; i < k - 1; i++) {
    x[2 + i] = left > 1 && size[i] > 1 ? log((double)size[i]) / log(left) : 0;
    if (x[2 + i] > 1) x[2 + i] = 1;
    left /= (double)size[i];
  }
  for (int i = 0; i < k; i++) {
    double *imp = x + 7 + i * (NCONN + 1);
    int m = 0;
    for (int cd = 0; cd < NCONN; cd++) {
      bool par = m < 3 && (conn[i] & (1u << conn_dim[cd]));
      imp[cd] = par ? 0.9 : 0.1;
      m += par;
    }
    if (m == 0) imp[1] = 0.9, m = 1; /* only N (or nothing): K */
    imp[NCONN] = (m - 0.5) / 3.0;
  }
  x[TEMPLATE_SPLIT] = k >= 2 ? (split + 0.5) / k : 0;
  /* Storage: the per-PE levels, the cluster level, the outermost level. */
  int wb = bg->word_bits;
  int64_t rf = 0, rf_sram = 0, cw = 0, glb = 0;
  bool cw_sram = false;
  for (int l = 0; l < budget->nlevels; l++) {
    const Level *L = &budget->level[l];
    if (L->is_dram) continue;
    int64_t words = level_template_words(L, wb);
    bool sram = L->memory == LEVEL_MEM_SRAM ||
                (L->memory == LEVEL_MEM_AUTO && words * wb > RF_CLASS_WORDS * 16);
    if (L->instances == budget->mac_instances) {
      rf += words;
      rf_sram += sram ? words : 0;
    } else if (l == cluster_level) {
      cw = words;
      cw_sram = sram;
    } else if (!glb) {
      glb = words;
    }
  }
  /* The array kind of most of the per-PE words, and the cluster level's. */
  x[TEMPLATE_MEM] = 2 * rf_sram > rf ? 0.75 : 0.25;
  x[TEMPLATE_MEM + 1] = cw_sram ? 0.75 : 0.25;
  int64_t P = PE_STEP * steps > 0 ? PE_STEP * steps : bg->pes;
  int64_t clusters = 1;
  for (int i = 0; i < split; i++) clusters *= size[i];
  bool c = split > 0;
  int64_t room = bg->range_words - 1 - (c ? clusters : 0);
  x[4] = pe_words_gene(rf, P > 0 ? room / P : 0);
  int64_t rfw = decode_pe_words(x[4], P > 0 ? room / P : 0);
  int64_t rest = bg->range_words - rfw * P;
  if (c) {
    x[TEMPLATE_SPLIT + 1] = words_gene(cw, (rest - 1) / clusters);
    rest -= decode_words(x[TEMPLATE_SPLIT + 1], (rest - 1) / clusters, false) * clusters;
  }
  /* The global buffer is rounded down on decoding: aim a little above. */
  double g5 = words_gene(glb + STEP_WORDS / 2, rest);
  x[5] = g5 > 1 ? 1 : g5;
}

/* The budget's own design resized by x (sizing only). */
static bool decode_sizing(const Arch *budget, const Budget *bg, const double *x, Arch *a) {
  *a = *budget;
  snprintf(a->name, sizeof a->name, "sized-%.30s", budget->name);
  int i = 0;
  set_dram_bw(&a->level[0], decode_bw(bg, gene(x, i++)));
  for (int l = 0; l < a->nlevels; l++) {
    Level *L = &a->level[l];
    if (L->is_dram) continue;
    double s = pow(2.0, (gene(x, i++) - 0.5) * 4); /* a quarter to 4x */
    int64_t c = L->capacity_words;
    int64_t nc = c >= 2 * STEP_WORDS ? STEP_WORDS * (int64_t)floor((double)c * s / STEP_WORDS + 0.5)
                                     : (int64_t)floor((double)c * s + 0.5);
    if (nc < 1) nc = 1;
    for (int t = 0; t < NTENSORS; t++)
      if (L->tensor_capacity_words[t] > 0 && c > 0) {
        int64_t tc = (int64_t)floor((double)L->tensor_capacity_words[t] * (double)nc / (double)c);
        L->tensor_capacity_words[t] = tc < 1 ? 1 : tc;
      }
    if (c > 0) L->capacity_words = nc;
    for (int ax = 0; ax < ACCEL_MAX_AXES; ax++) {
      if (budget->level[l].fanout[ax] <= 1) continue;
      double f = (double)budget->level[l].fanout[ax] * pow(2.0, (gene(x, i++) - 0.5) * 2);
      L->fanout[ax] = even_round(f);
    }
  }
  arch_finish(a);
  return refresh_costs(a) && within_budget(bg, a);
}

/* x decoded in the search's space: the budget's sizes (--sizing-only) or the template. */
static bool decode_x(const NaasOptions *o, const Arch *budget, const Budget *bg, const double *x,
                     Arch *a) {
  return o->sizing_only ? decode_sizing(budget, bg, x, a) : decode_template(budget, bg, x, a);
}

/* ---- running mapper jobs -------------------------------------------------------- */

typedef struct {
  const Problem *p;
  const Arch *a;
  uint64_t seed;
  uint64_t k1, k2;
  MapResult *full;     /* the whole result, or NULL */
  const Mapping *warm; /* the mapper's start (--warm-map), or NULL */
  int64_t budget;      /* the job's mapper budget (--map-share), 0: the pool's */
  JobOut out;
} Job;

typedef struct {
  Job *jobs;
  int njobs;
  int rank, nranks; /* job i belongs to rank i % nranks */
  MapperOptions mo;
  int next;
  pthread_mutex_t lock;
} Pool;

static double fitness_of(NaasObjective o, double e, double c) {
  return o == NAAS_OBJ_ENERGY ? e : o == NAAS_OBJ_LATENCY ? c : e * c;
}

static void run_job(const MapperOptions *base, Job *j) {
  MapperOptions mo = *base;
  mo.seed = j->seed;
  mo.start = j->warm;
  if (j->budget > 0) mo.budget = j->budget;
  MapResult local, *res = j->full ? j->full : &local;
  Diag quiet;
  diag_init(&quiet, NULL, NULL);
  Rc rc = mapper_run(j->p, j->a, &mo, res, &quiet);
  memset(&j->out, 0, sizeof j->out);
  j->out.rc = rc;
  j->out.evals = res->evals;
  if (rc == RC_OK) {
    j->out.energy_pj = res->cost.energy_pj;
    j->out.cycles = (double)res->cost.cycles;
    j->out.fitness = res->best_fitness;
    j->out.area_um2 = res->cost.area_um2;
  }
}

static void *pool_worker(void *arg) {
  Pool *w = arg;
  for (;;) {
    pthread_mutex_lock(&w->lock);
    int i = w->next;
    while (i < w->njobs && i % w->nranks != w->rank) i++;
    w->next = i + 1;
    pthread_mutex_unlock(&w->lock);
    if (i >= w->njobs) return NULL;
    run_job(&w->mo, &w->jobs[i]);
  }
}

static void mpi_rank(int *rank, int *nranks) {
  *rank = 0;
  *nranks = 1;
#ifdef NAASC_MPI
  int init = 0, fin = 0;
  MPI_Initialized(&init);
  MPI_Finalized(&fin);
  if (init && !fin) {
    MPI_Comm_rank(MPI_COMM_WORLD, rank);
    MPI_Comm_size(MPI_COMM_WORLD, nranks);
  }
#endif
}

/* Runs jobs[0..n) on `threads` threads; with distribute, split over the MPI
 * ranks too and exchanged so every rank ends with every job's out.  false:
 * a resource failed. */
static bool pool_run(Job *jobs, int n, const MapperOptions *mo, int threads, bool distribute) {
  if (n <= 0) return true;
  Pool w = {jobs, n, 0, 1, *mo, 0, PTHREAD_MUTEX_INITIALIZER};
  if (distribute) mpi_rank(&w.rank, &w.nranks);
  int mine = (n - w.rank + w.nranks - 1) / w.nranks;
  int nt = threads > 1 ? threads : 1;
  if (nt > mine) nt = mine > 0 ? mine : 1;
  if (nt > 64) nt = 64;
  pthread_t th[64];
  int started = 0;
  for (int t = 1; t < nt; t++)
    if (pthread_create(&th[started], NULL, pool_worker, &w) == 0) started++;
  pool_worker(&w);
  for (int t = 0; t < started; t++) pthread_join(th[t], NULL);
  pthread_mutex_destroy(&w.lock);
#ifdef NAASC_MPI
  if (w.nranks > 1) {
    /* Rank r did jobs r, r + R, ...: send them in that order, unpack by index. */
    int R = w.nranks;
    int *counts = xcalloc((size_t)R, sizeof(int)), *displs = xcalloc((size_t)R, sizeof(int));
    JobOut *sendb = xcalloc((size_t)mine + 1, sizeof(JobOut)),
           *recvb = xcalloc((size_t)n, sizeof(JobOut));
    if (!counts || !displs || !sendb || !recvb) {
      xfree(counts), xfree(displs), xfree(sendb), xfree(recvb);
      return false;
    }
    for (int k = 0, i = w.rank; i < n; i += R, k++) sendb[k] = jobs[i].out;
    int off = 0;
    for (int r = 0; r < R; r++) {
      int c = (n - r + R - 1) / R;
      if (c < 0) c = 0;
      counts[r] = c * (int)sizeof(JobOut);
      displs[r] = off;
      off += counts[r];
    }
    MPI_Allgatherv(sendb, counts[w.rank], MPI_BYTE, recvb, counts, displs, MPI_BYTE,
                   MPI_COMM_WORLD);
    for (int r = 0; r < R; r++)
      for (int k = 0, i = r; i < n; i += R, k++)
        jobs[i].out = recvb[displs[r] / (int)sizeof(JobOut) + k];
    xfree(counts), xfree(displs), xfree(sendb), xfree(recvb);
  }
#endif
  return true;
}

/* ---- scoring ------------------------------------------------------------------ */

typedef struct {
  bool valid;
  double score, edp, energy_pj, cycles, area_um2;
} Score;

static uint64_t layer_seed(const NaasLayer *l, uint64_t seed) {
  return mix64(problem_hash(&l->p, seed ^ 0x6e6161732d6d6170ULL));
}

/* wk: the hash of the job's warm start (mapping_hash), 0 without one. */
static void job_keys(const NaasLayer *l, const Arch *a, const MapperOptions *mo, uint64_t wk,
                     Job *j) {
  uint64_t h = fnv(0xcbf29ce484222325ULL, &mo->budget, sizeof mo->budget);
  if (wk) h = fnv(h, &wk, sizeof wk);
  h = fnv(h, &mo->objective, sizeof mo->objective);
  h = fnv(h, &mo->strategy, sizeof mo->strategy);
  uint64_t s = layer_seed(l, mo->seed);
  h = fnv(h, &s, sizeof s);
  h = arch_hash(a, problem_hash(&l->p, h));
  j->k1 = h ? h : 1;
  j->k2 =
      mix64(h ^ 0x243f6a8885a308d3ULL) ^ arch_hash(a, problem_hash(&l->p, 0x84222325cbf29ce4ULL));
  j->seed = s;
}

/* The score of per-model energies E and cycles C; bounds applied. */
static void score_models(const NaasWorkload *w, const NaasOptions *o, const double *E,
                         const double *C, double area, Score *s) {
  memset(s, 0, sizeof *s);
  s->area_um2 = area;
  s->score = INFINITY;
  double le = 0, lc = 0;
  for (int m = 0; m < w->nmodels; m++) {
    if (o->max_cycles > 0 && C[m] > o->max_cycles) return;
    if (o->max_energy_pj > 0 && E[m] > o->max_energy_pj) return;
    le += log(E[m]);
    lc += log(C[m]);
  }
  if (o->max_area_um2 > 0 && area > o->max_area_um2) return;
  if (w->nmodels == 1) { /* exact, not through logarithms */
    s->energy_pj = E[0];
    s->cycles = C[0];
    s->edp = E[0] * C[0];
  } else {
    s->energy_pj = exp(le / w->nmodels);
    s->cycles = exp(lc / w->nmodels);
    s->edp = exp((le + lc) / w->nmodels);
  }
  s->score = fitness_of(o->objective, s->energy_pj, s->cycles);
  s->valid = true;
}

/* Per model: energy and cycles summed over its layers run one after
 * another, and over its vector nests on a's vector unit (as schedule_model
 * counts them). */
static void score_of(const NaasWorkload *w, const NaasOptions *o, const JobOut *outs, const Arch *a,
                     Score *s) {
  double E[NAAS_MAX_MODELS] = {0}, C[NAAS_MAX_MODELS] = {0};
  memset(s, 0, sizeof *s);
  s->score = INFINITY;
  for (int i = 0; i < w->nlayers; i++) {
    if (outs[i].rc != RC_OK) return;
    E[w->layers[i].model] += (double)w->layers[i].count * outs[i].energy_pj;
    C[w->layers[i].model] += (double)w->layers[i].count * outs[i].cycles;
  }
  for (int m = 0; m < w->nmodels; m++) {
    int64_t vc;
    double ve;
    if (!w->module[m] || !vec_totals(a, w->module[m], &vc, &ve)) continue;
    E[m] += ve, C[m] += (double)vc;
  }
  score_models(w, o, E, C, arch_area(a), s);
}

/* ---- whole-network schedules ------------------------------------------------ */

const char *naas_sched_name(NaasSchedMode m) { return m == NAAS_SCHED_LAYER ? "layer" : "fused"; }

/* The schedule search's settings for a search's candidates: groups of at
 * most CAND_MAX_NESTS nests, depth-first tiles of at most CAND_ROW_PARTS
 * row parts and CAND_COL_PARTS column parts.  A coarser search than the
 * default (sched_options_default), which the final design and every
 * baseline get (naas_map_design); measured on MobileNetV2 within eyeriss
 * (docs/benchmarks.md, "The search with fused schedules"). */
#define CAND_MAX_NESTS 12
#define CAND_ROW_PARTS 8
#define CAND_COL_PARTS 2

static MapObjective map_objective(NaasObjective o) {
  return o == NAAS_OBJ_ENERGY ? MAPOBJ_ENERGY : o == NAAS_OBJ_LATENCY ? MAPOBJ_LATENCY : MAPOBJ_EDP;
}

static void sched_opts(const NaasOptions *o, bool candidate, SchedOptions *so) {
  sched_options_default(so);
  so->objective = map_objective(o->objective);
  if (candidate) {
    so->max_nests = CAND_MAX_NESTS;
    so->max_row_parts = CAND_ROW_PARTS;
    so->max_col_parts = CAND_COL_PARTS;
  }
}

static double sched_score(MapObjective o, double e, double c) {
  return o == MAPOBJ_ENERGY ? e : o == MAPOBJ_LATENCY ? c : e * c;
}

static int workload_layer_of(const NaasWorkload *w, int model, const Problem *p) {
  for (int k = 0; k < w->nlayers; k++)
    if (w->layers[k].model == model && same_problem(&w->layers[k].p, p)) return k;
  return -1;
}

/* Model `model` of w on a, maps[k] the mapping of workload layer k: its
 * best schedule under so (kept only if schedule_eval confirms it beats
 * layer by layer, as the compiler's report does), into f and, if keep is
 * not NULL, *keep.  The module is not changed: a copy of its nest array
 * carries the mappings, so calls may run on threads. */
static Rc schedule_model(const NaasWorkload *w, int model, const Arch *a, const Mapping *maps,
                         const SchedOptions *so, NaasModelFigures *f, Schedule *keep, Diag *d) {
  const Module *src = w->module[model];
  memset(f, 0, sizeof *f);
  if (!src) {
    diag_error(d, w->model_name[model], "no module to schedule (the workload has only its layers)");
    return RC_INTERNAL;
  }
  uint32_t n = src->nnests;
  Module copy = *src;
  Nest *nests = xmalloc(sizeof *nests * (size_t)(n ? n : 1));
  NestMapping *nm = xcalloc(n ? n : 1, sizeof *nm);
  Schedule *s = keep ? keep : xcalloc(1, sizeof *s), *none = xcalloc(1, sizeof *none);
  CostResult *per = xcalloc((size_t)n + 1, sizeof *per);
  SchedModel *sm = NULL;
  Rc rc = nests && nm && s && none && per ? RC_OK : RC_INTERNAL;
  if (rc == RC_OK) {
    memcpy(nests, src->nests, sizeof *nests * n);
    for (uint32_t i = 0; i < n && rc == RC_OK; i++) {
      Problem p;
      if (!nest_problem(&nests[i], &p)) continue;
      int k = workload_layer_of(w, model, &p);
      if (k < 0) {
        diag_error(d, nests[i].name, "no mapping for this layer's shape");
        rc = RC_INTERNAL;
        break;
      }
      snprintf(nm[i].target, sizeof nm[i].target, "%s", a->name);
      for (int l = 0; l < a->nlevels; l++)
        snprintf(nm[i].level[l], sizeof nm[i].level[l], "%s", a->level[l].name);
      nm[i].m = maps[k];
      nests[i].map = &nm[i];
    }
    copy.nests = nests;
  } else {
    diag_error(d, w->model_name[model], "out of memory");
  }
  if (rc == RC_OK) rc = sched_model_create(&copy, a, &sm, d);
  /* The vector unit's nests (softmax, norms, element-wise), costed layer
   * by layer as the report's "total with the vector unit" does, are part of
   * every figure and of the schedule's objective: designs are compared on
   * the full cost, the budget design too. */
  int64_t vc;
  double ve;
  vec_totals(a, src, &vc, &ve);
  SchedTotals tot, tot0;
  s->ngroups = 0;
  if (rc == RC_OK) rc = schedule_eval(sm, none, per, &tot0, d);
  if (rc == RC_OK && so) {
    SchedSearchStats st;
    SchedOptions sov = *so;
    sov.fixed_energy_pj = ve;
    sov.fixed_cycles = vc;
    rc = sched_search(sm, &sov, s, &st, d);
    if (rc == RC_OK && s->ngroups) rc = schedule_eval(sm, s, per, &tot, d);
    if (rc == RC_OK &&
        (!s->ngroups ||
         !(sched_score(so->objective, tot.energy_pj + ve, (double)tot.cycles + (double)vc) <
           sched_score(so->objective, tot0.energy_pj + ve, (double)tot0.cycles + (double)vc)))) {
      s->ngroups = 0;
      tot = tot0;
    }
  } else {
    tot = tot0;
  }
  if (rc == RC_OK) {
    f->vector_energy_pj = ve;
    f->vector_cycles = (double)vc;
    f->energy_pj = tot.energy_pj + ve;
    f->cycles = (double)tot.cycles + (double)vc;
    f->dram_words = (double)tot.dram_words;
    f->layer_energy_pj = tot0.energy_pj + ve;
    f->layer_cycles = (double)tot0.cycles + (double)vc;
    f->layer_dram = (double)tot0.dram_words;
    f->groups = s->ngroups;
  }
  sched_model_destroy(sm);
  if (!keep) xfree(s);
  xfree(none);
  xfree(per);
  xfree(nm);
  xfree(nests);
  return rc;
}

/* A candidate's model to schedule in a search: its mappings (one per
 * workload layer), and the figures found. */
typedef struct {
  const NaasWorkload *w;
  const Arch *a;
  const Mapping *maps;
  int model;
  uint64_t k1, k2;
  bool skip; /* a layer did not map: nothing to schedule (out.rc says so) */
  JobOut out;
} SchedJob;

typedef struct {
  SchedJob *jobs;
  int njobs, next;
  SchedOptions so;
  pthread_mutex_t lock;
} SchedPool;

static void *sched_worker(void *arg) {
  SchedPool *p = arg;
  for (;;) {
    pthread_mutex_lock(&p->lock);
    int i = p->next++;
    pthread_mutex_unlock(&p->lock);
    if (i >= p->njobs) return NULL;
    SchedJob *j = &p->jobs[i];
    if (j->skip) continue;
    Diag quiet;
    diag_init(&quiet, NULL, NULL);
    NaasModelFigures f;
    memset(&j->out, 0, sizeof j->out);
    j->out.rc = schedule_model(j->w, j->model, j->a, j->maps, &p->so, &f, NULL, &quiet);
    j->out.energy_pj = f.energy_pj;
    j->out.cycles = f.cycles;
  }
}

/* Runs every schedule job on `threads` threads (on every rank: each
 * computes them all, so no exchange is needed). */
static void sched_pool_run(SchedJob *jobs, int n, const SchedOptions *so, int threads) {
  if (n <= 0) return;
  SchedPool p = {jobs, n, 0, *so, PTHREAD_MUTEX_INITIALIZER};
  int nt = threads > 1 ? threads : 1;
  if (nt > n) nt = n;
  if (nt > 64) nt = 64;
  pthread_t th[64];
  int started = 0;
  for (int t = 1; t < nt; t++)
    if (pthread_create(&th[started], NULL, sched_worker, &p) == 0) started++;
  sched_worker(&p);
  for (int t = 0; t < started; t++) pthread_join(th[t], NULL);
  pthread_mutex_destroy(&p.lock);
}

/* The cache keys of model `model`'s schedule on a: its graph (nests and
 * the tensors they access), its layers, a and the mapper's options. */
/* wk: the hash of every layer's warm start (0 without them). */
static void sched_keys(const NaasWorkload *w, int model, const Arch *a, const MapperOptions *mo,
                       const SchedOptions *so, uint64_t wk, SchedJob *j) {
  uint64_t h = fnv(0x9e3779b97f4a7c15ULL, "schedule", 8);
  if (wk) h = fnv(h, &wk, sizeof wk);
  if (so->layer_only) h = fnv(h, "layer-only", 10); /* the screening pass's schedules */
  h = fnv(h, &mo->budget, sizeof mo->budget);
  h = fnv(h, &mo->objective, sizeof mo->objective);
  h = fnv(h, &mo->strategy, sizeof mo->strategy);
  h = fnv(h, &mo->seed, sizeof mo->seed);
  const Module *m = w->module[model];
  h = fnv(h, &m->nnests, sizeof m->nnests);
  for (uint32_t i = 0; i < m->nnests; i++) {
    const Nest *n = &m->nests[i];
    h = fnv(h, &n->kind, sizeof n->kind);
    for (int k = 0; k < n->nacc; k++) h = fnv(h, &n->acc[k].tensor, sizeof n->acc[k].tensor);
  }
  for (int k = 0; k < w->nlayers; k++)
    if (w->layers[k].model == model) {
      h = problem_hash(&w->layers[k].p, h);
      h = fnv(h, &w->layers[k].count, sizeof w->layers[k].count);
    }
  uint64_t g = h;
  h = arch_hash(a, h);
  j->k1 = h ? h : 1;
  j->k2 = mix64(h ^ 0x13198a2e03707344ULL) ^ arch_hash(a, mix64(g));
}

/* The generations --early-map-budget applies to (0 when it is off). */
static int64_t early_iters_of(const NaasOptions *o) {
  if (o->early_map_budget <= 0) return 0;
  if (o->early_iterations > 0) return o->early_iterations;
  return (o->iterations > 0 ? o->iterations : DEFAULT_ITERATIONS) / 2;
}

static void mapper_opts(const NaasOptions *o, MapperOptions *mo) {
  mapper_options_default(mo);
  mo->strategy = MAP_ES;
  mo->objective = map_objective(o->objective);
  mo->budget = o->map_budget > 0 ? o->map_budget : DEFAULT_MAP_BUDGET;
  mo->seed = o->seed;
}

/* Maps every layer of w on a (all of it, on this rank) and fills r. */
static Rc eval_full(const NaasWorkload *w, const Arch *a, const NaasOptions *o, NaasResult *r,
                    Diag *d) {
  MapperOptions mo;
  mapper_opts(o, &mo);
  int n = w->nlayers;
  Job *jobs = xcalloc((size_t)n, sizeof *jobs);
  MapResult *full = xcalloc((size_t)n, sizeof *full);
  JobOut *outs = xcalloc((size_t)n, sizeof *outs);
  r->mapping = xcalloc((size_t)n, sizeof *r->mapping);
  r->cost = xcalloc((size_t)n, sizeof *r->cost);
  if (!jobs || !full || !outs || !r->mapping || !r->cost) {
    xfree(jobs), xfree(full), xfree(outs);
    diag_error(d, "search", "out of memory");
    return RC_INTERNAL;
  }
  for (int i = 0; i < n; i++) {
    jobs[i].p = &w->layers[i].p;
    jobs[i].a = a;
    jobs[i].full = &full[i];
    job_keys(&w->layers[i], a, &mo, 0, &jobs[i]);
  }
  Rc rc = pool_run(jobs, n, &mo, o->jobs, false) ? RC_OK : RC_INTERNAL;
  for (int i = 0; i < n && rc == RC_OK; i++) {
    outs[i] = jobs[i].out;
    r->evals += jobs[i].out.evals;
    if (jobs[i].out.rc != RC_OK) {
      diag_error(d, w->layers[i].layer,
                 "no valid mapping of this layer (model '%s') on '%s': "
                 "the smallest tiles do not fit, or no parallel dim applies",
                 w->model_name[w->layers[i].model], a->name);
      rc = RC_BADINPUT;
      break;
    }
    r->mapping[i] = full[i].best;
    r->cost[i] = full[i].cost;
    if (o->cache) cache_put(o->cache, jobs[i].k1, jobs[i].k2, &jobs[i].out);
  }
  r->nlayers = n;
  r->arch = *a;
  r->area_um2 = arch_area(a);
  r->power_mw = arch_peak_power_mw(a);
  r->effort.map_budget = r->effort.final_map_budget = mo.budget; /* this one pass */
  r->effort.seed = mo.seed;
  r->effort.strategy = (int)mo.strategy;
  r->effort.objective = (int)mo.objective;
  r->effort.schedule = (int)o->schedule;
  r->effort.mapper_screen = o->mapper_screen;
  r->effort.early_map_budget = o->early_map_budget;
  r->effort.warm_map = o->warm_map;
  r->effort.map_share = o->map_share;
  r->effort.early_iterations = early_iters_of(o);
  r->effort.prune = !o->no_prune;
  if (rc == RC_OK && o->schedule == NAAS_SCHED_FUSED) {
    r->schedule = xcalloc((size_t)w->nmodels, sizeof *r->schedule);
    if (!r->schedule) rc = RC_INTERNAL;
  }
  if (rc == RC_OK) {
    /* Every model's figures: its schedule (the scheduler's default
     * options, the same for every design compared) or layer by layer. */
    SchedOptions so;
    sched_opts(o, false, &so);
    double E[NAAS_MAX_MODELS], C[NAAS_MAX_MODELS];
    for (int m = 0; m < w->nmodels && rc == RC_OK; m++) {
      NaasModelFigures *f = &r->model[m];
      if (w->module[m]) {
        rc = schedule_model(w, m, a, r->mapping, o->schedule == NAAS_SCHED_FUSED ? &so : NULL, f,
                            r->schedule ? &r->schedule[m] : NULL, d);
      } else if (o->schedule == NAAS_SCHED_FUSED) {
        diag_error(d, w->model_name[m], "a fused schedule needs the model's nests");
        rc = RC_INTERNAL;
      } else {
        memset(f, 0, sizeof *f);
        for (int i = 0; i < n; i++)
          if (w->layers[i].model == m) {
            f->energy_pj += (double)w->layers[i].count * r->cost[i].energy_pj;
            f->cycles += (double)w->layers[i].count * (double)r->cost[i].cycles;
          }
        f->layer_energy_pj = f->energy_pj, f->layer_cycles = f->cycles;
      }
      E[m] = f->energy_pj, C[m] = f->cycles;
    }
    Score s;
    if (rc == RC_OK)
      score_models(w, o, E, C, r->area_um2, &s);
    else
      memset(&s, 0, sizeof s);
    r->score = s.valid ? s.score : INFINITY;
    r->edp = s.edp;
    r->energy_pj = s.energy_pj;
    r->cycles = s.cycles;
  }
  xfree(jobs), xfree(full), xfree(outs);
  return rc;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- equal effort ------------------------------------------------------------ */

static int64_t final_budget_of(const NaasOptions *o) {
  return o->final_map_budget > 0 ? o->final_map_budget : DEFAULT_FINAL_MAP_BUDGET;
}

void naas_effort_of(const NaasOptions *o, NaasEffort *e) {
  MapperOptions mo;
  mapper_opts(o, &mo);
  memset(e, 0, sizeof *e);
  e->map_budget = mo.budget;
  int64_t fb = final_budget_of(o);
  e->final_map_budget = fb > mo.budget ? fb : mo.budget;
  e->seed = mo.seed;
  e->strategy = (int)mo.strategy;
  e->objective = (int)mo.objective;
  e->schedule = (int)o->schedule;
  e->mapper_screen = o->mapper_screen;
  e->early_map_budget = o->early_map_budget;
  e->warm_map = o->warm_map;
  e->map_share = o->map_share;
  e->early_iterations = early_iters_of(o);
  e->prune = !o->no_prune;
}

bool naas_effort_equal(const NaasEffort *a, const NaasEffort *b) {
  return a->map_budget == b->map_budget && a->final_map_budget == b->final_map_budget &&
         a->seed == b->seed && a->strategy == b->strategy && a->objective == b->objective &&
         a->schedule == b->schedule;
}

void naas_effort_json(JsonWriter *j, const NaasEffort *e) {
  json_object(j, NULL);
  json_key(j, "map_budget");
  json_int(j, e->map_budget);
  json_key(j, "final_map_budget");
  json_int(j, e->final_map_budget);
  json_key(j, "seed");
  json_uint(j, e->seed);
  json_key(j, "strategy");
  json_str(j, map_strategy_name((MapStrategy)e->strategy));
  json_key(j, "objective");
  json_str(j, e->objective == MAPOBJ_ENERGY    ? "energy"
              : e->objective == MAPOBJ_LATENCY ? "latency"
                                               : "edp");
  json_key(j, "schedule");
  json_str(j, naas_sched_name((NaasSchedMode)e->schedule));
  json_key(j, "mapper_screen"); /* the run's settings (search.h: not part of the equality) */
  json_str(j, e->mapper_screen ? "on" : "off");
  if (e->early_map_budget > 0) { /* only when set, so results of earlier runs read the same */
    json_key(j, "early_map_budget");
    json_int(j, e->early_map_budget);
    json_key(j, "early_iterations");
    json_int(j, e->early_iterations);
  }
  if (e->warm_map) { /* likewise */
    json_key(j, "warm_map");
    json_str(j, "on");
  }
  if (e->map_share > 0) { /* likewise */
    json_key(j, "map_share");
    json_num(j, "%g", e->map_share);
  }
  json_key(j, "prune");
  json_str(j, e->prune ? "on" : "off");
  json_end(j, NULL);
}

/* Two passes, o's map_budget then its final budget, the better set kept;
 * r->effort records the budgets the passes used. */
Rc naas_map_design(const NaasWorkload *w, const Arch *a, const NaasOptions *o, NaasResult *r,
                   Diag *d) {
  NaasOptions fo = *o;
  fo.cache = NULL;
  Rc rc = eval_full(w, a, &fo, r, d);
  if (rc != RC_OK) return rc;
  int64_t fb = final_budget_of(o);
  if (fb <= r->effort.map_budget) return RC_OK;
  NaasResult r2;
  memset(&r2, 0, sizeof r2);
  fo.map_budget = fb;
  rc = eval_full(w, a, &fo, &r2, d);
  r->evals += r2.evals;
  r->effort.final_map_budget = r2.effort.map_budget;
  if (rc == RC_OK && r2.score < r->score) {
    xfree(r->mapping);
    xfree(r->cost);
    r->mapping = r2.mapping;
    r->cost = r2.cost;
    r->score = r2.score;
    r->edp = r2.edp;
    r->energy_pj = r2.energy_pj;
    r->cycles = r2.cycles;
    memcpy(r->model, r2.model, sizeof r->model);
    xfree(r->schedule);
    r->schedule = r2.schedule;
    r2.mapping = NULL;
    r2.cost = NULL;
    r2.schedule = NULL;
  }
  naas_result_free(&r2);
  return rc;
}

Rc naas_compare(const NaasResult *design, const NaasResult *baseline, NaasRatios *q, Diag *d) {
  memset(q, 0, sizeof *q);
  const NaasEffort *a = &design->effort, *b = &baseline->effort;
  if (a->map_budget <= 0 || b->map_budget <= 0 || !naas_effort_equal(a, b)) {
    diag_error(d, "compare",
               "'%s' and '%s' were not mapped with the same effort (mapper budgets %" PRId64
               " then %" PRId64 ", seed %" PRIu64 ", %s schedule against %" PRId64 " then %" PRId64
               ", seed %" PRIu64 ", %s schedule): a comparison needs both "
               "sides mapped and scheduled by naas_map_design with the same options",
               design->arch.name, baseline->arch.name, a->map_budget, a->final_map_budget, a->seed,
               naas_sched_name((NaasSchedMode)a->schedule), b->map_budget, b->final_map_budget,
               b->seed, naas_sched_name((NaasSchedMode)b->schedule));
    return RC_INTERNAL;
  }
  q->speedup = baseline->cycles / design->cycles;
  q->energy_saving = baseline->energy_pj / design->energy_pj;
  q->edp_gain = baseline->edp / design->edp;
  return RC_OK;
}

Rc naas_eval_fixed(const NaasWorkload *w, const Arch *a, const NaasOptions *o, NaasResult *r,
                   Diag *d) {
  memset(r, 0, sizeof *r);
  double t0 = now_s();
  Rc rc = naas_map_design(w, a, o, r, d);
  r->candidates = 1;
  r->seconds = now_s() - t0;
  return rc;
}

void naas_result_free(NaasResult *r) {
  xfree(r->mapping);
  xfree(r->cost);
  xfree(r->log);
  xfree(r->schedule);
  r->schedule = NULL;
  r->mapping = NULL;
  r->cost = NULL;
  r->log = NULL;
}

/* ---- the log ------------------------------------------------------------------- */

void naas_describe(const Arch *a, NaasCandidate *c) {
  c->pes = a->mac_instances;
  c->naxes = 0;
  for (int l = 0; l < a->nlevels; l++)
    for (int ax = 0; ax < ACCEL_MAX_AXES; ax++)
      if (a->level[l].fanout[ax] > 1 && c->naxes < NAAS_LOG_AXES) {
        c->axis[c->naxes] = a->level[l].fanout[ax];
        c->connectivity[c->naxes] = a->level[l].connectivity[ax];
        c->naxes++;
      }
  c->onchip_bytes = onchip_bits(a) / 8;
  c->inner_words = a->level[a->nlevels - 1].capacity_words;
  c->glb_words = a->nlevels > 1 ? a->level[1].capacity_words : 0;
  c->dram_bw = a->level[0].shared_bw;
}

void naas_conn_string(uint8_t conn, char *buf) {
  int k = 0;
  for (int d = 0; d < NDIMS; d++)
    if (conn & (1u << d)) buf[k++] = accel_dim_letter(d);
  buf[k] = 0;
}

Rc naas_log_write(const char *path, const NaasResult *r, Diag *d) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f) {
    diag_error(d, path, "out of memory");
    return RC_INTERNAL;
  }
  JsonWriter j;
  json_init(&j, f);
  json_object(&j, NULL);
  json_key(&j, "schema");
  json_str(&j, "naasc-search-log/1");
  json_key(&j, "candidates");
  json_array(&j, "\n  ");
  for (int64_t i = 0; i < r->nlog; i++) {
    const NaasCandidate *c = &r->log[i];
    json_object(&j, NULL);
    json_key(&j, "iteration");
    json_int(&j, c->iteration);
    json_key(&j, "index");
    json_int(&j, c->index);
    json_key(&j, "valid");
    json_bool(&j, c->valid);
    if (c->pruned) { /* not mapped: its bound exceeds the scores the optimizer reads */
      json_key(&j, "pruned");
      json_bool(&j, true);
    }
    if (c->screened) { /* scored with the screening budget only */
      json_key(&j, "screened");
      json_bool(&j, true);
    }
    json_key(&j, "score");
    json_num(&j, "%.17g", c->score);
    json_key(&j, "edp");
    json_num(&j, "%.17g", c->edp);
    json_key(&j, "energy_pj");
    json_num(&j, "%.17g", c->energy_pj);
    json_key(&j, "cycles");
    json_num(&j, "%.17g", c->cycles);
    json_key(&j, "area_um2");
    json_num(&j, "%.17g", c->area_um2);
    json_key(&j, "pes");
    json_int(&j, c->pes);
    json_key(&j, "array");
    json_array(&j, NULL);
    for (int k = 0; k < c->naxes; k++) json_int(&j, c->axis[k]);
    json_end(&j, NULL);
    json_key(&j, "connectivity");
    json_array(&j, NULL);
    for (int k = 0; k < c->naxes; k++) {
      char s[NDIMS + 1];
      naas_conn_string(c->connectivity[k], s);
      json_str(&j, s);
    }
    json_end(&j, NULL);
    json_key(&j, "inner_words");
    json_int(&j, c->inner_words);
    json_key(&j, "glb_words");
    json_int(&j, c->glb_words);
    json_key(&j, "onchip_bytes");
    json_int(&j, c->onchip_bytes);
    json_key(&j, "dram_bw");
    json_num(&j, "%.17g", c->dram_bw);
    json_end(&j, NULL);
  }
  json_end(&j, "\n");
  json_end(&j, NULL);
  fputc('\n', f);
  fclose(f);
  Rc rc = file_write_atomic(path, buf, len, d);
  free(buf);
  return rc;
}

/* ---- checkpoints ------------------------------------------------------------------ */

static uint64_t fingerprint(const NaasWorkload *w, const Arch *budget, const NaasOptions *o,
                            int dim) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (int i = 0; i < w->nlayers; i++) {
    h = problem_hash(&w->layers[i].p, h);
    h = fnv(h, &w->layers[i].count, sizeof w->layers[i].count);
    h = fnv(h, &w->layers[i].model, sizeof w->layers[i].model);
  }
  h = arch_hash(budget, h);
  int32_t v[5] = {(int32_t)o->objective, (int32_t)o->optimizer, (int32_t)o->sizing_only, o->popsize,
                  dim};
  h = fnv(h, v, sizeof v);
  h = fnv(h, &o->map_budget, sizeof o->map_budget);
  h = fnv(h, &o->seed, sizeof o->seed);
  h = fnv(h, &o->max_area_um2, sizeof o->max_area_um2);
  h = fnv(h, &o->max_power_mw, sizeof o->max_power_mw);
  h = fnv(h, &o->byte_budget, sizeof o->byte_budget);
  h = fnv(h, &o->schedule, sizeof o->schedule);
  uint8_t sp[2] = {o->mapper_screen, o->no_prune}; /* the log (and with screening the path) */
  h = fnv(h, sp, sizeof sp);
  h = fnv(h, &o->max_cycles, sizeof o->max_cycles);
  if (o->warm_map) h = fnv(h, "warm-map", 8); /* the path; absent when off, as below */
  if (o->map_share > 0) h = fnv(h, &o->map_share, sizeof o->map_share);
  if (o->early_map_budget > 0) { /* the path; absent when off, so older checkpoints resume */
    int64_t eb[2] = {o->early_map_budget, early_iters_of(o)};
    h = fnv(h, eb, sizeof eb);
  }
  return fnv(h, &o->max_energy_pj, sizeof o->max_energy_pj);
}

/* The format, its checks and its checksum: checkpoint.c. */

/* ---- one generation's evaluation ---------------------------------------------------
 * A generation's candidates are scored in waves (eval_cands: the cache,
 * the mapper jobs, the schedule jobs, the scores), for two savings
 * (docs/search.md, "Speed"):
 *
 * Pruning (exact).  cand_bound is a lower bound on a candidate's score
 * that needs no mapping: per model, energy >= every MAC's energy, its
 * weights read once from DRAM and every level's leakage over the cycles
 * below, plus the vector unit's nests; cycles >= per layer the larger of
 * its MACs on all PEs and its weights at the DRAM bandwidth, plus the
 * vector unit's.  (Any mapping, alone or in a fused group, depth-first
 * tiles included, counts every MAC at least once on at most all PEs and
 * reads every weight from DRAM at least once: cost.c, schedule.c; every
 * other term is >= 0.)  Candidates are scored in the order of their bound;
 * CMA-ES's update reads only the ranks of its mu best (opt.c), so once mu
 * are scored, a candidate whose bound exceeds the mu-th best score cannot
 * be among them and is not mapped at all (random search: once its bound
 * exceeds the best score so far).  The optimizer is told the same ranks,
 * so the search's path and result are those of a run without pruning; only
 * the log (`pruned`), the work and the time differ.
 *
 * Screening (changes results; off by default, --mapper-screen on: its
 * quality and time against a run without it are in docs/search.md,
 * "Speed", and did not earn it the default).  Each
 * candidate is first mapped with a fraction of the mapper budget
 * (SCREEN_DIV, at least SCREEN_MIN) and scheduled with layer-by-layer
 * groups only; the best SCREEN_KEEP_DIV-th of the generation by that score
 * is then mapped with the whole budget and scheduled as without screening,
 * and keeps the better of its two scores.  Every score is a real design's
 * cost under real mappings, so the best design and its score stay honest;
 * the final design is mapped again with full effort (naas_map_design). */
#define SCREEN_DIV 8      /* the screening budget: the mapper budget over this */
#define SCREEN_MIN 100    /* and at least this (below it the mapper has no local search) */
#define SCREEN_KEEP_DIV 4 /* a quarter of each generation is mapped again in full */
#define PRUNE_WAVE 2      /* candidates per wave after the first (a constant, not --jobs) */

typedef struct {
  const NaasWorkload *w;
  const NaasOptions *o;
  NaasCache *cache;
  const Arch *archs;
  bool fused;
  Job *jobs;
  JobOut *outs, *souts;
  MapResult *full;
  Mapping *cmaps;
  SchedJob *sjobs;
  int64_t evals;
  /* --warm-map: the incumbent's mappings (warm, one per layer) and their
   * hashes (wkey; wall of all of them), used when warm_on; keep: every
   * mapper job keeps its mappings; fresh[i]: candidate i's mappings are in
   * cmaps, from this generation's jobs. */
  const Mapping *warm;
  const uint64_t *wkey;
  uint64_t wall;
  bool warm_on, keep;
  bool *fresh;
  /* --map-share: each layer's fraction of a generation's mapper budget
   * (share_fracs), NULL until set (every layer the whole budget); lkey: their
   * hash, for the schedule cache's keys (0 when NULL). */
  const double *lfrac;
  uint64_t lkey;
} GenEval;

/* ---- budgets by share (--map-share A) ---------------------------------------
 * A layer that is a small part of a network's cost needs a less exact
 * mapping: a mapping 10% off on a layer of 1% of the energy moves the
 * network's EDP by about 0.1%.  So with A > 0 a generation's candidates map
 * layer j with budget x max(f_j, 1/SHARE_FLOOR_DIV) evaluations (at least
 * SCREEN_MIN, at most the budget), f_j = (s_j / s_max)^A, where s_j is layer
 * j's share of the start design's cost in its model (all its copies: for
 * EDP the mean of its shares of energy and of cycles, for --objective
 * energy or latency that one share) under the start design's mappings at
 * the whole budget, and s_max the largest share in the model.  The shares
 * are fixed for the whole search, the same for every candidate (no
 * candidate is favoured by where it lies), a function of (workload, budget
 * design, options) alone, so a resumed search recomputes them (the cache
 * answers them in a fresh one: the start design's jobs have just run).  The
 * start design, re-ranking and the final mapping keep the whole budget.  A
 * start design that does not map every layer leaves every layer the whole
 * budget. */
#define SHARE_FLOOR_DIV 8 /* the least fraction of the budget a layer gets: an eighth */

static int64_t layer_budget(const GenEval *g, const MapperOptions *mo, int j) {
  if (!g->lfrac) return mo->budget;
  double f = g->lfrac[j] > 1.0 / SHARE_FLOOR_DIV ? g->lfrac[j] : 1.0 / SHARE_FLOOR_DIV;
  int64_t b = llround((double)mo->budget * f),
          lo = mo->budget < SCREEN_MIN ? mo->budget : SCREEN_MIN;
  return b < lo ? lo : b > mo->budget ? mo->budget : b;
}

/* The job of layer j on design a for generation options mo: its budget by
 * share, its keys and its warm start. */
static void gen_job(const GenEval *g, int j, const Arch *a, const MapperOptions *mo, Job *jb) {
  MapperOptions lmo = *mo;
  lmo.budget = layer_budget(g, mo, j);
  jb->p = &g->w->layers[j].p;
  jb->a = a;
  jb->budget = lmo.budget;
  job_keys(&g->w->layers[j], a, &lmo, g->warm_on ? g->wkey[j] : 0, jb);
  if (g->warm_on) jb->warm = &g->warm[j];
}

/* The schedule cache's extra key: the warm starts' and the shares'. */
static uint64_t gen_sched_key(const GenEval *g) {
  uint64_t k = g->warm_on ? g->wall : 0;
  if (g->lkey) k = mix64(k ^ g->lkey) | 1;
  return k;
}

/* Sets lfrac[0..nl) from the start design a mapped with mo (each layer's
 * job from the cache, or run now; its evaluations are not counted: the
 * start's own were).  false: a resource failed; lfrac is left all 1 when a
 * layer did not map or a model costs nothing. */
static bool share_fracs(GenEval *g, const Arch *a, const MapperOptions *mo, double *lfrac) {
  const NaasWorkload *w = g->w;
  int nl = w->nlayers, njobs = 0;
  JobOut *outs = g->outs; /* [0, nl): this design's row */
  for (int j = 0; j < nl; j++) {
    Job probe = {0};
    gen_job(g, j, a, mo, &probe); /* no shares yet, no warm start: the start's job */
    if (cache_find(g->cache, probe.k1, probe.k2, &outs[j])) continue;
    g->jobs[njobs] = probe;
    outs[j].rc = -1 - njobs++;
  }
  if (!pool_run(g->jobs, njobs, mo, g->o->jobs, true)) return false;
  for (int k = 0; k < njobs; k++)
    cache_put(g->cache, g->jobs[k].k1, g->jobs[k].k2, &g->jobs[k].out);
  double E[NAAS_MAX_MODELS] = {0}, C[NAAS_MAX_MODELS] = {0}, smax[NAAS_MAX_MODELS] = {0};
  bool ok = true;
  for (int j = 0; j < nl; j++) {
    if (outs[j].rc < 0) outs[j] = g->jobs[-1 - outs[j].rc].out;
    ok &= outs[j].rc == RC_OK;
    E[w->layers[j].model] += (double)w->layers[j].count * outs[j].energy_pj;
    C[w->layers[j].model] += (double)w->layers[j].count * outs[j].cycles;
  }
  for (int m = 0; m < w->nmodels; m++) ok &= E[m] > 0 && C[m] > 0;
  for (int j = 0; j < nl; j++) {
    int m = w->layers[j].model;
    double n = (double)w->layers[j].count, e = ok ? n * outs[j].energy_pj / E[m] : 1,
           c = ok ? n * outs[j].cycles / C[m] : 1;
    lfrac[j] = g->o->objective == NAAS_OBJ_ENERGY    ? e
               : g->o->objective == NAAS_OBJ_LATENCY ? c
                                                     : (e + c) / 2;
    if (lfrac[j] > smax[m]) smax[m] = lfrac[j];
  }
  for (int j = 0; j < nl; j++) {
    int m = w->layers[j].model;
    lfrac[j] = ok && smax[m] > 0 ? pow(lfrac[j] / smax[m], g->o->map_share) : 1;
  }
  return true;
}

/* Scores candidates sel[0..nsel) of the generation with mapper options mo
 * and schedule options so into sc[candidate]; false if memory ran out. */
static bool eval_cands(GenEval *g, const int *sel, int nsel, const MapperOptions *mo,
                       const SchedOptions *so, Score *sc) {
  const NaasWorkload *w = g->w;
  const NaasOptions *o = g->o;
  NaasCache *cache = g->cache;
  const Arch *archs = g->archs;
  bool fused = g->fused;
  int nl = w->nlayers, nm = w->nmodels;
  Job *jobs = g->jobs;
  JobOut *outs = g->outs, *souts = g->souts;
  MapResult *full = g->full;
  Mapping *cmaps = g->cmaps;
  SchedJob *sjobs = g->sjobs;
  /* Fused: the candidates whose every model's schedule is cached need
   * no mapper run; the others need every layer's mapping (the layer
   * cache keeps figures, not mappings). */
  int nsjobs = 0;
  for (int q = 0; fused && q < nsel; q++) {
    int i = sel[q];
    for (int m = 0; m < nm; m++) {
      SchedJob probe;
      memset(&probe, 0, sizeof probe);
      sched_keys(w, m, &archs[i], mo, so, gen_sched_key(g), &probe);
      JobOut *dst = &souts[(size_t)i * nm + m];
      if (cache_find(cache, probe.k1, probe.k2, dst)) continue;
      int k = 0;
      while (k < nsjobs && !(sjobs[k].k1 == probe.k1 && sjobs[k].k2 == probe.k2)) k++;
      if (k == nsjobs) {
        probe.w = w;
        probe.a = &archs[i];
        probe.maps = cmaps + (size_t)i * nl;
        probe.model = m;
        sjobs[nsjobs++] = probe;
      }
      dst->rc = -1 - k; /* filled from schedule job k below */
    }
  }
  /* The (layer, design) pairs not cached yet, deduplicated in candidate order. */
  int njobs = 0;
  for (int q = 0; q < nsel; q++) {
    int i = sel[q];
    bool maps = false;
    for (int m = 0; fused && m < nm; m++) maps |= souts[(size_t)i * nm + m].rc < 0;
    g->fresh[i] = false;
    if (fused && !maps) continue;
    bool all_jobs = true; /* every layer mapped by a job (none from the cache) */
    for (int j = 0; j < nl; j++) {
      Job probe = {0};
      gen_job(g, j, &archs[i], mo, &probe);
      JobOut got;
      JobOut *dst = &outs[(size_t)i * nl + j];
      if (!maps && cache_find(cache, probe.k1, probe.k2, &got)) {
        *dst = got;
        all_jobs = false;
        continue;
      }
      int k = 0;
      while (k < njobs && !(jobs[k].k1 == probe.k1 && jobs[k].k2 == probe.k2)) k++;
      if (k == njobs) {
        if (maps || g->keep) probe.full = &full[njobs];
        jobs[njobs++] = probe;
      }
      dst->rc = -1 - k; /* filled from job k below */
    }
    g->fresh[i] = all_jobs && (maps || g->keep);
  }
  /* With fused schedules, or warm starts, every rank runs every mapper job:
   * the schedules and the next warm starts need the mappings themselves,
   * which the ranks do not exchange. */
  if (!pool_run(jobs, njobs, mo, o->jobs, !fused && !g->keep)) return false;
  for (int k = 0; k < njobs; k++) {
    g->evals += jobs[k].out.evals;
    cache_put(cache, jobs[k].k1, jobs[k].k2, &jobs[k].out);
  }
  /* Each candidate's mappings (fused schedules, warm starts). */
  for (int q = 0; q < nsel; q++) {
    int i = sel[q];
    if (!g->fresh[i]) continue;
    for (int j = 0; j < nl; j++) {
      const JobOut *jo = &outs[(size_t)i * nl + j];
      cmaps[(size_t)i * nl + j] = jobs[-1 - jo->rc].full->best;
    }
  }
  if (nsjobs) {
    /* Then its models' schedules. */
    for (int k = 0; k < nsjobs; k++) {
      /* A schedule job of a candidate with a layer that did not map: invalid. */
      const JobOut *row = &outs[(size_t)(sjobs[k].maps - cmaps)];
      bool mapped = true;
      for (int j = 0; j < nl; j++) {
        const JobOut *jo = row[j].rc < 0 ? &jobs[-1 - row[j].rc].out : &row[j];
        mapped &= jo->rc == RC_OK;
      }
      sjobs[k].skip = !mapped;
      if (!mapped) sjobs[k].out.rc = RC_BADINPUT;
    }
    sched_pool_run(sjobs, nsjobs, so, o->jobs);
    for (int k = 0; k < nsjobs; k++)
      if (!sjobs[k].skip) cache_put(cache, sjobs[k].k1, sjobs[k].k2, &sjobs[k].out);
  }
  /* The scores. */
  for (int q = 0; q < nsel; q++) {
    int i = sel[q];
    Score *s = &sc[i];
    memset(s, 0, sizeof *s);
    s->score = INFINITY;
    if (fused) {
      JobOut *row = &souts[(size_t)i * nm];
      double E[NAAS_MAX_MODELS], C[NAAS_MAX_MODELS];
      bool all = true;
      for (int m = 0; m < nm; m++) {
        if (row[m].rc < 0) row[m] = sjobs[-1 - row[m].rc].out;
        all &= row[m].rc == RC_OK;
        E[m] = row[m].energy_pj, C[m] = row[m].cycles;
      }
      if (all) score_models(w, o, E, C, arch_area(&archs[i]), s);
    } else {
      JobOut *row = &outs[(size_t)i * nl];
      for (int j = 0; j < nl; j++)
        if (row[j].rc < 0) row[j] = jobs[-1 - row[j].rc].out;
      score_of(w, o, row, &archs[i], s);
    }
    if (!s->valid) s->score = INFINITY;
  }
  return true;
}

/* Maps candidate i again with mo, its every layer by a job, keeping the
 * mappings in its cmaps row (--warm-map: a new incumbent whose figures came
 * from the cache); the scores are left as they are.  false: out of memory. */
static bool map_again(GenEval *g, int i, const MapperOptions *mo) {
  int nl = g->w->nlayers;
  for (int j = 0; j < nl; j++) {
    Job *jb = &g->jobs[j];
    memset(jb, 0, sizeof *jb);
    gen_job(g, j, &g->archs[i], mo, jb);
    jb->full = &g->full[j];
  }
  if (!pool_run(g->jobs, nl, mo, g->o->jobs, false)) return false;
  for (int j = 0; j < nl; j++) {
    g->evals += g->jobs[j].out.evals;
    g->cmaps[(size_t)i * nl + j] = g->full[j].best;
  }
  return true;
}

/* A lower bound on the score of design a (the header above: pruning),
 * less a relative 1e-9 for the rounding of the sums it is compared with. */
static double cand_bound(const NaasWorkload *w, const NaasOptions *o, const Arch *a) {
  const Level *D = &a->level[0];
  double P = (double)(a->mac_instances > 0 ? a->mac_instances : 1);
  double bw = D->shared_bw > 0 ? D->shared_bw : D->read_bw > 0 ? D->read_bw : 0;
  double blk = (double)(D->block_words > 0 ? D->block_words : 1);
  double e_w = D->e_read_pj > 0 ? D->e_read_pj / blk : 0; /* per word read (level_energy) */
  double leak = 0;
  for (int l = 0; l < a->nlevels; l++)
    if (a->level[l].leak_pj_per_cycle > 0) leak += a->level[l].leak_pj_per_cycle;
  double E[NAAS_MAX_MODELS] = {0}, C[NAAS_MAX_MODELS] = {0};
  for (int i = 0; i < w->nlayers; i++) {
    const NaasLayer *l = &w->layers[i];
    const int64_t *x = l->p.dim;
    double macs = (double)problem_macs(&l->p);
    double W = (double)x[DIM_G] * (double)x[DIM_K] * (double)x[DIM_C] * (double)x[DIM_R] *
               (double)x[DIM_S];
    double cc = ceil(macs / P), cw = bw > 0 ? W / bw : 0;
    E[l->model] += (double)l->count * (macs * a->mac_energy_pj + W * e_w + leak * macs / P);
    C[l->model] += (double)l->count * (cc > cw ? cc : cw);
  }
  double le = 0, lc = 0;
  for (int m = 0; m < w->nmodels; m++) {
    int64_t vc;
    double ve;
    if (w->module[m] && vec_totals(a, w->module[m], &vc, &ve)) E[m] += ve, C[m] += (double)vc;
    le += log(E[m]);
    lc += log(C[m]);
  }
  double e = w->nmodels == 1 ? E[0] : exp(le / w->nmodels);
  double c = w->nmodels == 1 ? C[0] : exp(lc / w->nmodels);
  double b = fitness_of(o->objective, e, c);
  return isfinite(b) && b > 0 ? b * (1 - 1e-9) : 0;
}

/* ---- the search ------------------------------------------------------------------ */

/* Keeps the NAAS_TOP_MAX best distinct designs (by key, an arch_hash of
 * the decoded design) in ascending score, ties in the order found: a design
 * already kept keeps its better score.  h->ntop counts them. */
static void top_insert(double *top, uint64_t *key, NaasCkpt *h, double score, const double *x,
                       uint64_t k) {
  int dim = h->dim, n = h->ntop;
  size_t rec = sizeof(double) * (size_t)(1 + dim);
  for (int t = 0; t < n; t++)
    if (key[t] == k) {
      if (!(score < NAAS_TOP_REC(top, dim, t)[0])) return;
      memmove(NAAS_TOP_REC(top, dim, t), NAAS_TOP_REC(top, dim, t + 1), rec * (size_t)(n - 1 - t));
      memmove(key + t, key + t + 1, sizeof *key * (size_t)(n - 1 - t));
      n--;
      break;
    }
  int at = n;
  while (at > 0 && score < NAAS_TOP_REC(top, dim, at - 1)[0]) at--;
  if (at >= NAAS_TOP_MAX) {
    h->ntop = n;
    return;
  }
  int m = n < NAAS_TOP_MAX ? n : NAAS_TOP_MAX - 1; /* records kept after the insert point */
  memmove(NAAS_TOP_REC(top, dim, at + 1), NAAS_TOP_REC(top, dim, at), rec * (size_t)(m - at));
  memmove(key + at + 1, key + at, sizeof *key * (size_t)(m - at));
  NAAS_TOP_REC(top, dim, at)[0] = score;
  memcpy(NAAS_TOP_REC(top, dim, at) + 1, x, sizeof(double) * (size_t)dim);
  key[at] = k;
  h->ntop = m + 1;
}

Rc naas_search(const NaasWorkload *w, const Arch *budget, const NaasOptions *o, NaasResult *r,
               Diag *d) {
  memset(r, 0, sizeof *r);
  double t0 = now_s();
  if (w->nlayers < 1) {
    diag_error(d, "search", "no mappable layer in the workload");
    return RC_BADINPUT;
  }
  Budget bg;
  budget_of(budget, o, &bg);
  double pe_area = pe_area_um2(budget);
  if (bg.area_um2 > 0 && bg.area_um2 < pe_area) {
    diag_error(d, budget->name,
               "an area budget of %g mm^2 is smaller than one PE (%g mm^2: its MAC and storage)",
               bg.area_um2 * 1e-6, pe_area * 1e-6);
    return RC_BADINPUT;
  }
  if (bg.pes < 1 || bg.onchip_bits < 2 * bg.word_bits || budget->nlevels < 1 ||
      !budget->level[0].is_dram) {
    diag_error(d, budget->name,
               "impossible budget: %" PRId64 " PEs and %" PRId64
               " bytes on chip%s; the smallest design "
               "needs 1 PE, one word of register file and one of global buffer (%d %s)",
               bg.pes, bg.onchip_bits / 8,
               budget->nlevels >= 1 && !budget->level[0].is_dram ? " and no DRAM level first" : "",
               bg.word_bits % 4 ? 2 * bg.word_bits : bg.word_bits / 4,
               bg.word_bits % 4 ? "bits" : "bytes");
    return RC_BADINPUT;
  }
  if (o->gradient) return naas_gradient_search(w, budget, o, r, d);
  int rank, nranks;
  mpi_rank(&rank, &nranks);
  int dim = o->sizing_only ? sizing_genes(budget) : TEMPLATE_GENES;
  int lam = o->popsize > 0 ? o->popsize : DEFAULT_POPSIZE;
  int64_t iters = o->iterations > 0 ? o->iterations : DEFAULT_ITERATIONS;
  MapperOptions mo;
  mapper_opts(o, &mo);
  {
    /* The limits of a search (naas.h), before any work. */
    int64_t cands, work,
        fb = o->final_map_budget > 0 ? o->final_map_budget : DEFAULT_FINAL_MAP_BUDGET;
    bool fits = ck_mul_i64(iters, lam, &cands) && ck_add_i64(cands, 1, &cands);
    if (lam < 4 || lam > NAAS_MAX_POPSIZE) {
      diag_error(d, "search", "a population of %d; naasc accepts 4 to %d", lam, NAAS_MAX_POPSIZE);
      return RC_BADINPUT;
    }
    if (!fits || cands > NAAS_MAX_CANDIDATES) {
      diag_error(d, "search",
                 "%" PRId64 " generations of %d candidates are more than the %" PRId64
                 " candidates a search accepts",
                 iters, lam, NAAS_MAX_CANDIDATES);
      return RC_BADINPUT;
    }
    if (o->early_map_budget < 0 || o->early_map_budget > MAPPER_MAX_BUDGET ||
        o->early_iterations < 0) {
      diag_error(d, "search",
                 "an early mapper budget of %" PRId64 " for %" PRId64
                 " generations; naasc accepts 1 to %" PRId64
                 " (0: off) and a generation count >= 0",
                 o->early_map_budget, o->early_iterations, (int64_t)MAPPER_MAX_BUDGET);
      return RC_BADINPUT;
    }
    if (mo.budget > MAPPER_MAX_BUDGET || fb > MAPPER_MAX_BUDGET ||
        !ck_mul_i64(cands, mo.budget > o->early_map_budget ? mo.budget : o->early_map_budget,
                    &work) ||
        work > NAAS_MAX_WORK) {
      diag_error(d, "search",
                 "%" PRId64 " candidates with a mapper budget of %" PRId64 " (final %" PRId64
                 ") are more work than a search accepts: at most %" PRId64
                 " evaluations per layer shape, "
                 "and a budget of at most %" PRId64,
                 cands, mo.budget, fb, NAAS_MAX_WORK, MAPPER_MAX_BUDGET);
      return RC_BADINPUT;
    }
  }
  NaasCache *cache = o->cache ? o->cache : naas_cache_create();
  Optimizer *opt = opt_create(o->optimizer, dim, lam, 0.3, o->seed);
  double *xs = xcalloc((size_t)lam * (size_t)dim, sizeof *xs),
         *fit = xcalloc((size_t)lam, sizeof *fit);
  /* The top table (search.h NAAS_TOP_REC): the best distinct designs, as
   * the checkpoint keeps them; topkey: each one's arch_hash, not saved. */
  double *top = xcalloc((size_t)NAAS_TOP_MAX * (size_t)(1 + dim), sizeof *top),
         *x0 = xcalloc((size_t)dim, sizeof *x0);
  uint64_t topkey[NAAS_TOP_MAX] = {0};
  Arch *archs = xcalloc((size_t)lam, sizeof *archs);
  bool *ok = xcalloc((size_t)lam, sizeof *ok);
  int nl = w->nlayers;
  Job *jobs = xcalloc((size_t)lam * (size_t)nl, sizeof *jobs);
  JobOut *outs = xcalloc((size_t)lam * (size_t)nl, sizeof *outs);
  /* Fused schedules: the mapper's whole results (the mappings), every
   * candidate's mapping per layer, and its models' schedule jobs. */
  bool fused = o->schedule == NAAS_SCHED_FUSED;
  int nm = w->nmodels;
  bool keepmaps = fused || o->warm_map;
  MapResult *full = keepmaps ? xcalloc((size_t)lam * (size_t)nl, sizeof *full) : NULL;
  Mapping *cmaps = keepmaps ? xcalloc((size_t)lam * (size_t)nl, sizeof *cmaps) : NULL;
  /* --warm-map: the incumbent's mappings (search.h NaasCkptWarm) and their keys. */
  Mapping *warm = o->warm_map ? xcalloc((size_t)nl, sizeof *warm) : NULL;
  uint64_t *wkey = o->warm_map ? xcalloc((size_t)nl, sizeof *wkey) : NULL;
  bool *fresh = xcalloc((size_t)lam, sizeof *fresh);
  NaasCkptWarm cw = {o->warm_map ? nl : 0, 0, INFINITY, warm};
  SchedJob *sjobs = fused ? xcalloc((size_t)lam * (size_t)nm, sizeof *sjobs) : NULL;
  JobOut *souts = fused ? xcalloc((size_t)lam * (size_t)nm, sizeof *souts) : NULL;
  SchedOptions cso, sso;
  sched_opts(o, true, &cso);
  sso = cso;
  sso.layer_only = true; /* screening: layer-by-layer groups, no depth-first tiles */
  MapperOptions smo = mo;
  smo.budget = mo.budget / SCREEN_DIV > SCREEN_MIN ? mo.budget / SCREEN_DIV : SCREEN_MIN;
  /* --early-map-budget: the first early_iters generations' budget (emo). */
  MapperOptions emo = mo;
  int64_t early_iters = early_iters_of(o);
  if (early_iters > 0) emo.budget = o->early_map_budget;
  Score *sc = xcalloc((size_t)lam, sizeof *sc), *sc2 = xcalloc((size_t)lam, sizeof *sc2);
  double *lb = xcalloc((size_t)lam, sizeof *lb), *lfrac = xcalloc((size_t)nl, sizeof *lfrac);
  int *order = xcalloc((size_t)lam, sizeof *order), *sel = xcalloc((size_t)lam, sizeof *sel);
  bool *pruned = xcalloc((size_t)lam, sizeof *pruned),
       *screened = xcalloc((size_t)lam, sizeof *screened);
  GenEval ge = {w,     o, cache, archs, fused, jobs,  outs,        souts, full, cmaps,
                sjobs, 0, warm,  wkey,  0,     false, o->warm_map, fresh, NULL, 0};
  Rc rc = RC_OK;
  NaasCandidate *log = NULL;
  int64_t caplog = 0;
  if (!cache || !opt || !xs || !fit || !top || !x0 || !archs || !ok || !jobs || !outs || !sc ||
      !sc2 || !lb || !lfrac || !order || !sel || !pruned || !screened || !fresh ||
      (keepmaps && (!full || !cmaps)) || (fused && (!sjobs || !souts)) ||
      (o->warm_map && (!warm || !wkey))) {
    diag_error(d, "search", "out of memory");
    rc = RC_INTERNAL;
    goto done;
  }
  for (int m = 0; fused && m < nm; m++)
    if (!w->module[m]) {
      diag_error(d, w->model_name[m], "a fused schedule needs the model's nests");
      rc = RC_INTERNAL;
      goto done;
    }
  {
    /* The search starts at the budget design: with --sizing-only the
     * centre of the space (every gene 0.5) but all of the budget's DRAM
     * bandwidth, which is the budget design itself; the template search at
     * the template design nearest it (encode_template), or, if that breaks
     * the budget, at the centre with the budget's whole DRAM bandwidth and
     * a global buffer of every byte the register files leave.  So a search
     * never ends worse than the template's form of its baseline, as scored,
     * nor (re-ranked at the end, below) at final effort (docs/search.md,
     * "The start"). */
    Arch probe;
    bool fits = false;
    if (!o->sizing_only) {
      encode_template(budget, &bg, x0);
      /* The template's global buffer may cost a little more area than the
       * budget's (its banks, its keeps): a smaller one, in steps of half a
       * percent of the gene's range, until the design fits. */
      for (int t = 0; t < 200 && !(fits = decode_template(budget, &bg, x0, &probe)); t++)
        x0[5] = x0[5] > 0.005 ? x0[5] - 0.005 : 0;
    }
    if (!fits) {
      for (int k = 0; k < dim; k++) x0[k] = 0.5;
      x0[o->sizing_only ? 0 : 6] = 1.0;
      if (!o->sizing_only) x0[5] = 1.0;
    }
    opt_set_mean(opt, x0);
  }
  uint64_t fp = fingerprint(w, budget, o, dim);
  NaasCkpt h;
  memset(&h, 0, sizeof h);
  h.fp = fp;
  h.dim = dim;
  h.optlen = opt_save(opt, NULL, 0);
  h.best_score = INFINITY;
  if (o->resume && o->checkpoint) {
    rc = naas_ckpt_read(o->checkpoint, fp, opt, &h, top, &log, &caplog, &cw, d);
    if (rc != RC_OK) goto done;
    for (int j = 0; j < cw.n && cw.have; j++) { /* the incumbent's mappings: this search's layers */
      Diag quiet;
      diag_init(&quiet, NULL, NULL);
      if (!mapping_covers(&warm[j], &w->layers[j].p, NULL, &quiet)) {
        diag_error(d, o->checkpoint,
                   "checkpoint corrupt: its warm-start mapping %d is not a mapping of layer '%s'",
                   j, w->layers[j].p.name);
        rc = RC_BADINPUT;
        goto done;
      }
      wkey[j] = mapping_hash(&warm[j], UINT64_C(0x77617266));
    }
    r->resumed_at = h.iter;
    for (int t = 0; t < h.ntop; t++) { /* the keys the table was kept by */
      Arch a;
      const double *x = NAAS_TOP_REC(top, dim, t) + 1;
      if (!decode_x(o, budget, &bg, x, &a)) {
        diag_error(d, o->checkpoint,
                   "checkpoint corrupt: best design %d is not a design within the budget", t);
        rc = RC_BADINPUT;
        goto done;
      }
      topkey[t] = arch_hash(&a, UINT64_C(0x9e3779b97f4a7c15));
    }
  }
  double tstart = now_s() - h.seconds;
  bool stop = false;
  /* A fresh search first evaluates its starting point (the centre, which for
   * --sizing-only is the budget design itself), outside the optimizer's
   * generations: it is logged with index -1. */
  bool start = h.nlog == 0;
  while (h.iter < iters && !stop) {
    int n = start ? 1 : lam;
    /* Ask: decode, resampling designs over the budget (or --max-area, --max-power). */
    for (int i = 0; i < n; i++) {
      double *x = xs + (size_t)i * dim;
      if (start)
        memcpy(x, x0, sizeof(double) * (size_t)dim);
      else
        opt_ask(opt, i, x);
      ok[i] = false;
      for (int t = 0; t < (start ? 1 : MAX_RESAMPLE) && !ok[i]; t++) {
        if (t) opt_resample(opt, i, x);
        ok[i] = decode_x(o, budget, &bg, x, &archs[i]);
      }
    }
    /* Score the generation: in waves by the bound, pruning what cannot
     * reach the ranks the optimizer reads, screening with a small mapper
     * budget first (the header of eval_cands). */
    int nok = 0;
    for (int i = 0; i < n; i++) {
      pruned[i] = screened[i] = false;
      memset(&sc[i], 0, sizeof sc[i]);
      sc[i].score = INFINITY;
      if (!ok[i]) continue;
      lb[i] = cand_bound(w, o, &archs[i]);
      int q = nok++;
      while (q > 0 && lb[order[q - 1]] > lb[i]) {
        order[q] = order[q - 1];
        q--;
      }
      order[q] = i;
    }
    bool cmaes = o->optimizer == OPT_CMAES;
    if (!start && o->map_share > 0 && !ge.lfrac) {
      /* --map-share: the layers' budgets, from the start design (x0). */
      Arch sa;
      bool sok = decode_x(o, budget, &bg, x0, &sa);
      ge.warm_on = false;
      if (sok && !share_fracs(&ge, &sa, &mo, lfrac)) {
        diag_error(d, "search", "out of memory");
        rc = RC_INTERNAL;
        goto done;
      }
      if (sok) {
        ge.lfrac = lfrac;
        ge.lkey = fnv(0x6d61702d73686172ULL, lfrac, sizeof *lfrac * (size_t)nl);
      }
    }
    ge.warm_on = cw.have != 0;
    ge.wall = 0;
    for (int j = 0; ge.warm_on && j < nl; j++) ge.wall = mix64(ge.wall ^ wkey[j]) + (uint64_t)j;
    const MapperOptions *gmo = !start && h.iter < early_iters ? &emo : &mo;
    bool screen = !start && o->mapper_screen && smo.budget < gmo->budget;
    bool prune = !start && !o->no_prune && (cmaes || o->optimizer == OPT_RANDOM);
    int keep = lam / SCREEN_KEEP_DIV > 0 ? lam / SCREEN_KEEP_DIV : 1;
    /* The rank a pruned candidate must be sure to miss: CMA-ES reads its mu
     * best (opt.c); random search its best, or with screening the best
     * `keep` it maps again. */
    int need = cmaes ? lam / 2 : screen ? keep : 1;
    for (int pos = 0; pos < nok;) {
      if (prune && pos >= need) {
        double T;
        {
          double best[NAAS_MAX_POPSIZE];
          int nt = 0;
          for (int q = 0; q < pos; q++) { /* the need-th smallest score so far */
            double v = sc[order[q]].score;
            int z = nt < need ? nt++ : need;
            if (z == need && !(v < best[need - 1])) continue;
            if (z == need) z = need - 1;
            while (z > 0 && best[z - 1] > v) {
              best[z] = best[z - 1];
              z--;
            }
            best[z] = v;
          }
          T = best[need - 1];
        }
        if (!cmaes && !screen && h.best_score < T) T = h.best_score;
        if (lb[order[pos]] > T) { /* and so are the later ones: sorted by bound */
          for (int q = pos; q < nok; q++) pruned[order[q]] = true;
          break;
        }
      }
      int k = !prune ? nok - pos : pos == 0 ? (need > PRUNE_WAVE ? need : PRUNE_WAVE) : PRUNE_WAVE;
      if (k > nok - pos) k = nok - pos;
      if (!eval_cands(&ge, order + pos, k, screen ? &smo : gmo, screen ? &sso : &cso, sc)) {
        diag_error(d, "search", "out of memory");
        rc = RC_INTERNAL;
        goto done;
      }
      pos += k;
    }
    if (screen) {
      /* The best `keep` by the screening score (ties to the lower index),
       * mapped again with the whole budget; each keeps its better score. */
      int nsel = 0;
      for (int r2 = 0; r2 < keep; r2++) {
        int b = -1;
        for (int i = 0; i < n; i++) {
          if (!ok[i] || pruned[i] || !isfinite(sc[i].score)) continue;
          bool taken = false;
          for (int q = 0; q < nsel; q++) taken |= sel[q] == i;
          if (!taken && (b < 0 || sc[i].score < sc[b].score)) b = i;
        }
        if (b >= 0) sel[nsel++] = b;
      }
      if (!eval_cands(&ge, sel, nsel, gmo, &cso, sc2)) {
        diag_error(d, "search", "out of memory");
        rc = RC_INTERNAL;
        goto done;
      }
      for (int i = 0; i < n; i++) screened[i] = ok[i] && !pruned[i];
      for (int q = 0; q < nsel; q++) {
        int i = sel[q];
        screened[i] = false;
        if (sc2[i].valid && sc2[i].score < sc[i].score) sc[i] = sc2[i];
      }
    }
    h.evals += ge.evals;
    ge.evals = 0;
    if (!start && o->on_generation) o->on_generation(o->on_generation_ctx, h.iter);
    /* Tell: scores in candidate order (a pruned candidate +inf: its rank
     * is beyond those the optimizer reads). */
    /* --warm-map: the generation's best candidate (the first of equal
     * scores), if it beats the incumbent, becomes the incumbent: its
     * mappings are the next generations' warm starts.  A candidate whose
     * figures came from the cache is mapped again for them (the same jobs,
     * so the same mappings): the choice and the mappings are functions of
     * the path alone, whatever the cache holds (a resumed search starts
     * with an empty one). */
    if (o->warm_map) {
      int b = -1;
      for (int i = 0; i < n; i++)
        if (sc[i].valid && sc[i].score < cw.score && (b < 0 || sc[i].score < sc[b].score)) b = i;
      if (b >= 0 && !fresh[b] && !map_again(&ge, b, screened[b] ? &smo : gmo)) {
        diag_error(d, "search", "out of memory");
        rc = RC_INTERNAL;
        goto done;
      }
      if (b >= 0) {
        memcpy(warm, cmaps + (size_t)b * nl, sizeof *warm * (size_t)nl);
        for (int j = 0; j < nl; j++) wkey[j] = mapping_hash(&warm[j], UINT64_C(0x77617266));
        cw.score = sc[b].score;
        cw.have = 1;
      }
      for (int i = 0; i < n; i++) fresh[i] = false;
    }
    double gen_best = INFINITY;
    for (int i = 0; i < n; i++) {
      Score s = sc[i];
      fit[i] = s.valid ? s.score : INFINITY;
      if (fit[i] < gen_best) gen_best = fit[i];
      if (s.valid) {
        top_insert(top, topkey, &h, s.score, xs + (size_t)i * dim,
                   arch_hash(&archs[i], UINT64_C(0x9e3779b97f4a7c15)));
        h.best_score = top[0];
        h.have_best = 1;
      }
      if (h.nlog == caplog) {
        int64_t nc = caplog ? 2 * caplog : 256;
        NaasCandidate *nlg = xrealloc(log, sizeof *nlg * (size_t)nc);
        if (!nlg) {
          diag_error(d, "search", "out of memory");
          rc = RC_INTERNAL;
          goto done;
        }
        log = nlg;
        caplog = nc;
      }
      NaasCandidate *c = &log[h.nlog++];
      memset(c, 0, sizeof *c);
      c->iteration = h.iter;
      c->index = start ? -1 : i;
      c->valid = s.valid;
      c->pruned = pruned[i];
      c->screened = screened[i];
      c->score = fit[i];
      c->edp = s.valid ? s.edp : INFINITY;
      c->energy_pj = s.valid ? s.energy_pj : INFINITY;
      c->cycles = s.valid ? s.cycles : INFINITY;
      c->area_um2 = ok[i] ? arch_area(&archs[i]) : 0;
      if (ok[i]) naas_describe(&archs[i], c);
      h.candidates++;
    }
    if (start) {
      start = false;
      continue;
    }
    opt_tell(opt, fit);
    h.iter++;
    h.seconds = now_s() - tstart;
    if (o->checkpoint && rank == 0) {
      rc = naas_ckpt_write(o->checkpoint, &h, opt, top, log, &cw, d);
      if (rc != RC_OK) goto done;
    }
    if (o->progress && rank == 0) {
      double per = h.seconds / (double)(h.iter - r->resumed_at > 0 ? h.iter - r->resumed_at : 1);
      (void)gen_best;
      fprintf(stderr,
              "\rnaas: iteration %" PRId64 "/%" PRId64 "  best %s %.4g  candidates %" PRId64
              "  ETA %.0f s   ",
              h.iter, iters,
              o->objective == NAAS_OBJ_ENERGY    ? "energy"
              : o->objective == NAAS_OBJ_LATENCY ? "cycles"
                                                 : "EDP",
              h.best_score, h.candidates, per * (double)(iters - h.iter));
      fflush(stderr);
    }
    if (o->stop_after_iteration > 0 && h.iter >= o->stop_after_iteration && h.iter < iters) {
      stop = true;
      r->stopped = true;
    }
  }
  if (o->progress && rank == 0) fputc('\n', stderr);
  r->iterations = h.iter;
  r->candidates = h.candidates;
  r->log = log;
  r->nlog = h.nlog;
  log = NULL;
  if (o->log_json && rank == 0) {
    rc = naas_log_write(o->log_json, r, d);
    if (rc != RC_OK) goto done;
  }
  if (!h.have_best) {
    diag_error(d, budget->name,
               "no valid design found in %" PRId64 " candidates: every one broke a bound "
               "(--max-area, --max-latency, --max-energy) or had a layer without a valid mapping",
               h.candidates);
    rc = RC_BADINPUT;
    goto done;
  }
  {
    /* The final mappings (naas_map_design, as every baseline gets them: a
     * pass with the search's budget, the same mappings it scored, and one
     * with the final budget, the better set kept) of the best `rerank`
     * designs by candidate score, in that order; the best final score is
     * the result.  A design whose lower bound is no better than a final
     * score already found cannot win and is not mapped.  The search's own
     * score is the best logged candidate's.
     * The start design (x0, the budget's form: "The start" above) is
     * re-ranked too, after them, when it is not among them (the same
     * skip rule): candidate scores are cheaper than final ones and rank
     * designs differently, so the start could fall out of the K and the
     * result then lose to the design it started from at equal final
     * effort (U-Net within edgetpu, 0.78x its baseline in docs/results.md
     * before).  x0 is a function of the budget and options, so a resumed
     * search knows it without the checkpoint; its candidate score is the
     * logged start's (index -1). */
    int K = o->rerank > 0 ? o->rerank : NAAS_DEFAULT_RERANK;
    if (K > NAAS_TOP_MAX) K = NAAS_TOP_MAX;
    if (K > h.ntop) K = h.ntop;
    NaasResult keep = *r; /* the search's fields: its log and counters */
    int64_t evals = 0;
    bool have = false;
    Arch sa;
    bool with_start = !o->no_rerank_start && decode_x(o, budget, &bg, x0, &sa);
    uint64_t skey = with_start ? arch_hash(&sa, UINT64_C(0x9e3779b97f4a7c15)) : 0;
    for (int t = 0; t < K + 1 && rc == RC_OK; t++) {
      Arch a;
      bool is_start = t == K;
      if (is_start) {
        if (!with_start) break;
        bool among = false;
        for (int u = 0; u < K; u++) among |= topkey[u] == skey;
        if (among) break;
        a = sa;
      } else {
        const double *x = NAAS_TOP_REC(top, dim, t) + 1;
        if (o->sizing_only)
          decode_sizing(budget, &bg, x, &a);
        else
          decode_template(budget, &bg, x, &a);
      }
      NaasRerank *q = &keep.rerank[keep.nrerank++];
      q->start = with_start && (is_start || topkey[t] == skey);
      q->candidate_score = INFINITY;
      if (!is_start)
        q->candidate_score = NAAS_TOP_REC(top, dim, t)[0];
      else
        for (int64_t i = 0; i < keep.nlog; i++)
          if (keep.log[i].index == -1) {
            q->candidate_score = keep.log[i].score;
            break;
          }
      q->bound = cand_bound(w, o, &a);
      q->final_score = INFINITY;
      if (have && !(q->bound < r->score)) {
        q->skipped = true;
        continue;
      }
      NaasResult rt;
      memset(&rt, 0, sizeof rt);
      /* Only the best candidate's failure is the search's: another one's
       * is this design's alone (it is then not chosen). */
      Diag quiet = {0};
      rc = naas_map_design(w, &a, o, &rt, t == 0 ? d : &quiet);
      evals += rt.evals;
      if (rc != RC_OK && t > 0) rc = RC_OK, rt.score = INFINITY;
      q->final_score = rt.score;
      if (rc == RC_OK && (!have || rt.score < r->score)) {
        if (have) naas_result_free(r);
        *r = rt;
        keep.chosen = t;
        have = true;
      } else {
        naas_result_free(&rt);
      }
    }
    /* r holds the chosen design's figures; the search's fields come back. */
    r->log = keep.log;
    r->nlog = keep.nlog;
    r->iterations = keep.iterations;
    r->resumed_at = keep.resumed_at;
    r->stopped = keep.stopped;
    r->nrerank = keep.nrerank;
    r->chosen = keep.chosen;
    memcpy(r->rerank, keep.rerank, sizeof r->rerank);
    r->search_score = h.best_score;
    h.evals += evals;
    r->evals = h.evals; /* the search's, plus the final mappings' */
    r->candidates = h.candidates;
  }
done:
  r->seconds = now_s() - t0;
  if (log) xfree(log);
  if (!o->cache) naas_cache_destroy(cache);
  opt_destroy(opt);
  xfree(xs), xfree(fit), xfree(top), xfree(x0), xfree(archs), xfree(ok), xfree(jobs), xfree(outs),
      xfree(full), xfree(cmaps), xfree(sjobs), xfree(souts), xfree(sc), xfree(sc2), xfree(lb),
      xfree(order), xfree(lfrac), xfree(sel), xfree(pruned), xfree(screened), xfree(warm),
      xfree(wkey), xfree(fresh);
  return rc;
}
