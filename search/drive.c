/*
 * drive.c: `naasc --search` as a library call (search.h, "drivers"): the
 * NAAS co-search of a workload within a budget (or the budget design alone,
 * --fixed=best, or with its chip's own dataflow, --fixed=as-built), the
 * budget design mapped with the same effort to compare with (both ways when
 * it has an as-built dataflow), and the files of the run (docs/search.md):
 *
 *   arch.yaml        the best accelerator (usable with --target)
 *   result.json      the figures of the best design and of the run, the
 *                    mapper effort its mappings got, and the budget design
 *                    mapped with that same effort (naas_eval_fixed), free
 *                    (`baseline`) and as built (`baseline_as_built`), with
 *                    the design's ratios against each (naas_compare),
 *                    and for each of them where its energy, cycles, area
 *                    and peak power go (`breakdown`, from the per-nest
 *                    counts of the schedule it was scored with)
 *   search.json      every candidate evaluated (not with --fixed)
 *   convergence.svg  best and population score per iteration (not with --fixed)
 *   pareto.svg       score versus area of every valid candidate, with the front
 *
 * Each file is written whole and atomically.  The per-model files (the
 * lowered module, its report and command stream) are the caller's: they
 * need the passes and the stream, which depend on this library; the caller
 * attaches the mappings with naas_attach_mappings.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "backend/backend.h"
#include "search/internal.h"

void naas_drive_options_default(NaasDriveOptions *o) {
  memset(o, 0, sizeof *o);
  naas_options_default(&o->naas);
  o->nranks = 1;
}

NestMapping *nest_mapping_new(Arena *arena, const Arch *a) {
  NestMapping *nm = arena_alloc(arena, sizeof *nm);
  if (!nm) return NULL;
  snprintf(nm->target, sizeof nm->target, "%s", a->name);
  for (int l = 0; l < a->nlevels; l++)
    snprintf(nm->level[l], sizeof nm->level[l], "%s", a->level[l].name);
  nm->m.nlevels = a->nlevels;
  return nm;
}

/* The workload layer of model `model` with p's shape, or w->nlayers. */
static int layer_of(const NaasWorkload *w, int model, const Problem *p) {
  int k = 0;
  while (k < w->nlayers &&
         !(w->layers[k].model == model && memcmp(w->layers[k].p.dim, p->dim, sizeof p->dim) == 0 &&
           memcmp(w->layers[k].p.stride, p->stride, sizeof p->stride) == 0 &&
           memcmp(w->layers[k].p.dilation, p->dilation, sizeof p->dilation) == 0))
    k++;
  return k;
}

Rc naas_attach_mappings(Module *m, int model, const NaasWorkload *w, const NaasResult *r, Diag *d) {
  for (uint32_t i = 0; i < m->nnests; i++) {
    Nest *n = &m->nests[i];
    Problem p;
    if (!nest_problem(n, &p)) continue;
    int k = layer_of(w, model, &p);
    if (k == w->nlayers) {
      diag_error(d, n->name, "no mapping for this layer's shape");
      return RC_INTERNAL;
    }
    NestMapping *nm = nest_mapping_new(&m->arena, &r->arch);
    if (!nm) return RC_INTERNAL;
    nm->m = r->mapping[k];
    n->map = nm;
  }
  return RC_OK;
}

const char *naas_drive_mode(const NaasDriveOptions *o) {
  return o->fixed && o->fixed_as_built     ? "fixed-as-built"
         : o->fixed                        ? "fixed"
         : o->naas.gradient_conn           ? "cmaes+gradient"
         : o->naas.gradient                ? "gradient"
         : o->naas.sizing_only             ? "sizing-only"
         : o->naas.optimizer == OPT_RANDOM ? "random"
                                           : "naas";
}

/* One baseline: a mapped with the design's effort into *base and compared
 * with r into *q; *have says it was.  A baseline that cannot map a layer is
 * a warning (no comparison); other errors are the run's. */
static Rc drive_baseline(const NaasWorkload *w, const Arch *a, const char *what,
                         const NaasDriveOptions *o, const NaasResult *r, NaasResult *base,
                         NaasRatios *q, bool *have, char **skipped, Diag *d) {
  char *buf = NULL;
  size_t len = 0;
  Diag bd;
  Rc rc = RC_OK;
  diag_init(&bd, open_memstream(&buf, &len), "naasc");
  Rc brc = bd.out ? naas_eval_fixed(w, a, &o->naas, base, &bd) : RC_INTERNAL;
  if (brc == RC_OK) brc = naas_compare(r, base, q, &bd);
  if (bd.out) fclose(bd.out);
  if (brc == RC_OK) {
    *have = true;
  } else if (brc == RC_BADINPUT) { /* the budget design cannot map a layer: no comparison */
    diag_warn(d, o->budget, "the budget design (%s) is not compared with: %s", what,
              buf ? buf : "");
    if (buf) /* for result.json: a comparison left out says why */
      for (size_t n = strlen(buf); n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'); n--)
        buf[n - 1] = '\0';
    *skipped = buf;
    buf = NULL;
  } else {
    if (d->out && buf) fputs(buf, d->out); /* the baseline's errors, where d reports */
    rc = brc;
  }
  free(buf);
  return rc;
}

Rc naas_drive(const NaasWorkload *w, const Arch *budget, const NaasDriveOptions *o,
              NaasDriveResult *out, Diag *d) {
  memset(out, 0, sizeof *out);
  if (o->fixed && o->fixed_as_built && !o->as_built) {
    diag_error(d, o->budget, "--fixed=as-built: the budget design has no as-built dataflow");
    return RC_BADINPUT;
  }
  Rc rc = o->fixed
              ? naas_eval_fixed(w, o->fixed_as_built ? o->as_built : budget, &o->naas, &out->r, d)
              : naas_search(w, budget, &o->naas, &out->r, d);
  if (rc != RC_OK || out->r.stopped || o->fixed || o->no_baseline) return rc;
  /* The budget design mapped with the searched design's effort: the same
   * options through naas_eval_fixed -> naas_map_design; free, then as built. */
  rc = drive_baseline(w, budget, "best mapping", o, &out->r, &out->base, &out->q, &out->have_base,
                      &out->base_skipped, d);
  if (rc == RC_OK && o->as_built)
    rc = drive_baseline(w, o->as_built, "as built", o, &out->r, &out->built, &out->qb,
                        &out->have_built, &out->built_skipped, d);
  return rc;
}

void naas_drive_free(NaasDriveResult *r) {
  naas_result_free(&r->r);
  naas_result_free(&r->base);
  naas_result_free(&r->built);
  free(r->base_skipped);
  free(r->built_skipped);
}

/* ---- files ------------------------------------------------------------------ */

typedef struct {
  char *buf;
  size_t len;
  FILE *f;
} Mem;

static bool mem_open(Mem *m) {
  m->buf = NULL;
  m->len = 0;
  m->f = open_memstream(&m->buf, &m->len);
  return m->f != NULL;
}

static Rc mem_commit(Mem *m, const char *dir, const char *name, Diag *d) {
  fclose(m->f);
  size_t n = strlen(dir) + strlen(name) + 2;
  char *p = xmalloc(n);
  Rc rc = RC_INTERNAL;
  if (p) {
    snprintf(p, n, "%s/%s", dir, name);
    rc = file_write_atomic(p, m->buf, m->len, d);
  }
  xfree(p);
  free(m->buf);
  return rc;
}

Rc naas_drive_mkdir(const char *dir, Diag *d) {
  if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
    diag_error(d, dir, "cannot create the output folder: %s", strerror(errno));
    return RC_BADINPUT;
  }
  return RC_OK;
}

/* A roofline bound under the cost model for any design within budget b.
 * Layer by layer (NAAS_SCHED_LAYER): per layer, its compulsory DRAM
 * traffic (every weight, input and output word once) at b's DRAM
 * bandwidth and its MACs on all of b's PEs, summed.  With whole-network
 * schedules an activation need not leave the chip, so the compulsory
 * traffic is the network's: every constant weight tensor once (not an
 * activation a mac nest reads as W: weight_words), the model's
 * inputs read once and its outputs written once; cycles, the larger of
 * that traffic at b's bandwidth and all MACs on all PEs.  Energy: the
 * traffic at b's DRAM read energy plus the MACs, each with the least
 * on-chip energy its operands need (mac_operand_pj).  Geomean over models;
 * *words: the compulsory words, geomean likewise. */
static double io_words(const Module *m) {
  double words = 0;
  for (uint32_t t = 1; m && t < m->ntensors; t++) {
    const NTensor *nt = &m->tensors[t];
    if (nt->role != TR_INPUT && nt->role != TR_OUTPUT) continue;
    double v = 1;
    for (int k = 0; k < nt->rank; k++) v *= (double)nt->dims[k];
    words += v;
  }
  return words;
}

/* The words of the constant tensors the mac nests read as their W operand,
 * each tensor once.  An activation read as W (attention's K^T and V, a
 * decode step's KV cache) is no compulsory traffic of its own: a graph
 * input is in io_words already, an intermediate need not leave the chip. */
static double weight_words(const Module *m) {
  if (!m) return 0;
  bool *seen = xcalloc(m->ntensors ? m->ntensors : 1, sizeof *seen);
  double words = 0;
  for (uint32_t n = 0; n < m->nnests; n++) {
    const Nest *ne = &m->nests[n];
    if (ne->kind != NK_MAC) continue;
    for (int a = 0; a < ne->nacc; a++) {
      uint32_t t = ne->acc[a].tensor;
      if (ne->acc[a].role != ROLE_W || !t || t >= m->ntensors || seen[t]) continue;
      if (m->tensors[t].role != TR_WEIGHT) continue;
      seen[t] = true;
      double v = 1;
      for (int k = 0; k < m->tensors[t].rank; k++) v *= (double)m->tensors[t].dims[k];
      words += v;
    }
  }
  free(seen);
  return words;
}

/* The least on-chip energy a MAC's operands cost in any design within
 * budget b, under the cost model (docs/cost-model.md, sections 4-6): each
 * MAC reads its W and I and updates its O either at the innermost level
 * that keeps the tensor (one access per MAC: nothing fans out below it)
 * or through a network hop (one word per MAC to or from each PE that
 * level's fan-out reaches).  So per tensor at least the cheaper of one
 * access to the smallest array of the technology model (depth 1, the
 * tensor's width; a register file or an SRAM, whichever costs less) and
 * one hop over the shortest wire (a PE that is one MAC wide, the square
 * root of b's MAC area).  Designs that move a block of several words per
 * access could pay less per word; the template's levels move one.  0 for
 * a budget without a technology node (energies given, no model to ask)
 * and under --assume naas, where the relative scheme charges no hop below
 * the outermost fanning level, so a multicast operand's access can be
 * shared by any number of MACs. */
static double mac_operand_pj(const Arch *b) {
  if (b->tech_nm <= 0 || b->assume == ARCH_ASSUME_NAAS) return 0;
  Diag quiet;
  diag_init(&quiet, NULL, NULL);
  double sum = 0;
  for (int t = 0; t < NTENSORS; t++) {
    int bits = arch_tensor_bits(b, t);
    double least = INFINITY;
    TechKind kinds[2] = {TECH_REGFILE, TECH_SRAM};
    for (int k = 0; k < 2; k++) {
      TechComponent c;
      TechCost e;
      tech_init(&c, kinds[k]);
      c.node_nm = b->tech_nm;
      c.depth = 1;
      c.width = bits;
      if (tech_eval(&c, &e, &quiet, "bound") != RC_OK) continue;
      double pj = t == TENSOR_O ? e.update_pj : e.read_pj;
      if (pj < least) least = pj;
    }
    TechComponent c;
    TechCost e;
    tech_init(&c, TECH_NOC);
    c.node_nm = b->tech_nm;
    c.width = bits;
    c.length_mm = sqrt(b->mac_area_um2) * 1e-3;
    if (c.length_mm > 0 && tech_eval(&c, &e, &quiet, "bound") == RC_OK && e.energy_pj < least)
      least = e.energy_pj;
    if (isfinite(least)) sum += least;
  }
  return sum;
}

static void roofline(const NaasWorkload *w, const Arch *b, bool network, double *cyc, double *en,
                     double *edp, double *words) {
  double le = 0, lc = 0, lw = 0, E1 = 0, C1 = 0, T1 = 0;
  double e_mac = b->mac_energy_pj + mac_operand_pj(b);
  const Level *D = &b->level[0];
  double bw = D->shared_bw > 0 ? D->shared_bw
              : D->read_bw > 0 ? D->read_bw + (D->write_bw > 0 ? D->write_bw : 0)
                               : 0;
  for (int m = 0; m < w->nmodels; m++) {
    double E = 0, C = 0, Wn = 0, macs_n = 0, Tl = 0;
    for (int i = 0; i < w->nlayers; i++) {
      const NaasLayer *l = &w->layers[i];
      if (l->model != m) continue;
      const Problem *p = &l->p;
      const int64_t *x = p->dim;
      double W = (double)x[DIM_G] * x[DIM_K] * x[DIM_C] * x[DIM_R] * x[DIM_S];
      double I = (double)x[DIM_N] * x[DIM_G] * x[DIM_C] * problem_input_extent(p, 0) *
                 problem_input_extent(p, 1);
      double O = (double)x[DIM_N] * x[DIM_G] * x[DIM_K] * x[DIM_P] * x[DIM_Q];
      double macs = (double)problem_macs(p), c1 = macs / (double)b->mac_instances,
             c2 = bw > 0 ? (W + I + O) / bw : 0;
      C += (double)l->count * (c1 > c2 ? c1 : c2);
      E += (double)l->count * ((W + I + O) * D->e_read_pj + macs * e_mac);
      Tl += (double)l->count * (W + I + O);
      Wn += (double)l->count * W;
      macs_n += (double)l->count * macs;
    }
    if (network) {
      double T = (w->module[m] ? weight_words(w->module[m]) : Wn) + io_words(w->module[m]);
      double c1 = macs_n / (double)b->mac_instances, c2 = bw > 0 ? T / bw : 0;
      C = c1 > c2 ? c1 : c2;
      E = T * D->e_read_pj + macs_n * e_mac;
      Tl = T;
    }
    le += log(E);
    lc += log(C);
    lw += log(Tl);
    E1 = E, C1 = C, T1 = Tl;
  }
  *en = exp(le / w->nmodels);
  *cyc = exp(lc / w->nmodels);
  *edp = exp((le + lc) / w->nmodels);
  *words = exp(lw / w->nmodels);
  if (w->nmodels == 1) /* exact, not through logarithms */
    *en = E1, *cyc = C1, *edp = E1 * C1, *words = T1;
}

/* ---- where energy and cycles go ---------------------------------------------
 * A result's figures taken apart (result.json `breakdown`, docs/search.md
 * "Outputs"): per model, the per-nest counts of the schedule it was scored
 * with (schedule_eval on its mappings and r->schedule, so fused groups'
 * DRAM traffic is the schedule's, not the layers'), summed by component;
 * the vector unit's nests as backend/vector.c costs them (what the search
 * adds to every figure).  The parts add up to the figures r holds. */
typedef struct {
  const char *source; /* "schedule" (the scored schedule's nests), "layer" (no module) */
  bool leak_split;    /* leak_pj is every level's leakage (see below) */
  double macs;        /* MACs run (a depth-first group's recomputed overlaps included) */
  double compute_cycles;
  double mac_energy_pj;
  double energy[ACCEL_MAX_LEVELS], access[ACCEL_MAX_LEVELS], noc[ACCEL_MAX_LEVELS],
      leak[ACCEL_MAX_LEVELS];
  double tensor[ACCEL_MAX_LEVELS][NTENSORS];
  double reads[ACCEL_MAX_LEVELS], fills[ACCEL_MAX_LEVELS], updates[ACCEL_MAX_LEVELS];
  /* The cycles of the nests each thing bounds: [0] compute, [l + 1] level l. */
  double bound[ACCEL_MAX_LEVELS + 1];
  double vec_energy, vec_cycles, vec_dram;
} ModelBreakdown;

/* Adds count instances of nest result c. */
static void breakdown_add(ModelBreakdown *b, const Arch *a, const CostResult *c, double count) {
  b->macs += count * (double)c->macs;
  b->compute_cycles += count * (double)c->compute_cycles;
  b->mac_energy_pj += count * c->mac_energy_pj;
  for (int l = 0; l < a->nlevels && l < c->nlevels; l++) {
    const LevelCost *lc = &c->level[l];
    b->energy[l] += count * lc->energy_pj;
    b->noc[l] += count * lc->noc_energy_pj;
    b->leak[l] += count * lc->leak_energy_pj;
    b->access[l] += count * (lc->energy_pj - lc->noc_energy_pj - lc->leak_energy_pj);
    for (int t = 0; t < NTENSORS; t++) {
      b->tensor[l][t] += count * lc->tensor_energy_pj[t];
      b->reads[l] += count * (double)lc->total[t].reads;
      b->fills[l] += count * (double)lc->total[t].fills;
      b->updates[l] += count * (double)lc->total[t].updates;
    }
  }
  int k = c->bottleneck >= 0 && c->bottleneck < a->nlevels ? c->bottleneck + 1 : 0;
  b->bound[k] += count * (double)c->cycles;
}

/* Model `model` of r taken apart into *b.  b->leak_split is true: the
 * schedule's cost of a depth-first group (backend/schedule.c) carries its
 * tiles' leakage in leak_energy_pj since commit 081a5c1; before, it was in
 * each level's energy alone, and result.json said so with false. */
static Rc model_breakdown(const NaasWorkload *w, int model, const NaasResult *r, ModelBreakdown *b,
                          Diag *d) {
  const Arch *a = &r->arch;
  const Module *src = w->module[model];
  memset(b, 0, sizeof *b);
  b->leak_split = true;
  if (!src) { /* a workload of layers alone is scored layer by layer (naas.c) */
    b->source = "layer";
    for (int i = 0; i < r->nlayers; i++)
      if (w->layers[i].model == model) breakdown_add(b, a, &r->cost[i], (double)w->layers[i].count);
    return RC_OK;
  }
  b->source = "schedule";
  uint32_t n = src->nnests;
  Module copy = *src;
  Nest *nests = xmalloc(sizeof *nests * (size_t)(n ? n : 1));
  NestMapping *nm = xcalloc(n ? n : 1, sizeof *nm);
  CostResult *per = xcalloc((size_t)n + 1, sizeof *per);
  Schedule *none = xcalloc(1, sizeof *none);
  SchedModel *sm = NULL;
  Rc rc = nests && nm && per && none ? RC_OK : RC_INTERNAL;
  if (rc != RC_OK) diag_error(d, w->model_name[model], "out of memory");
  if (rc == RC_OK) { /* a copy of the nests carrying r's mappings (as naas.c scores them) */
    memcpy(nests, src->nests, sizeof *nests * n);
    for (uint32_t i = 0; i < n && rc == RC_OK; i++) {
      Problem p;
      if (!nest_problem(&nests[i], &p)) continue;
      int k = layer_of(w, model, &p);
      if (k == w->nlayers) {
        diag_error(d, nests[i].name, "no mapping for this layer's shape");
        rc = RC_INTERNAL;
        break;
      }
      snprintf(nm[i].target, sizeof nm[i].target, "%s", a->name);
      for (int l = 0; l < a->nlevels; l++)
        snprintf(nm[i].level[l], sizeof nm[i].level[l], "%s", a->level[l].name);
      nm[i].m = r->mapping[k];
      nests[i].map = &nm[i];
    }
    copy.nests = nests;
  }
  if (rc == RC_OK) rc = sched_model_create(&copy, a, &sm, d);
  const Schedule *s = r->schedule ? &r->schedule[model] : none;
  SchedTotals tot;
  if (rc == RC_OK) rc = schedule_eval(sm, s, per, &tot, d);
  if (rc == RC_OK) {
    for (uint32_t i = 0; i < n; i++)
      if (nests[i].kind == NK_MAC) breakdown_add(b, a, &per[i], 1);
    int64_t vc = 0; /* vec_totals' sums, in its order, and the words it moves */
    for (uint32_t i = 0; i < n; i++) {
      VecCost v;
      if (!vec_cost(a, src, &src->nests[i], &v)) continue;
      vc += v.cycles;
      b->vec_energy += v.energy_pj;
      b->vec_dram += (double)v.dram_words;
    }
    b->vec_cycles = (double)vc;
  }
  sched_model_destroy(sm);
  xfree(none);
  xfree(per);
  xfree(nm);
  xfree(nests);
  return rc;
}

/* Every model of r taken apart: heap, w->nmodels entries (xfree), or NULL
 * (reported). */
static ModelBreakdown *result_breakdown(const NaasWorkload *w, const NaasResult *r, Diag *d) {
  ModelBreakdown *b = xcalloc((size_t)w->nmodels, sizeof *b);
  if (!b) {
    diag_error(d, "result.json", "out of memory");
    return NULL;
  }
  for (int m = 0; m < w->nmodels; m++)
    if (model_breakdown(w, m, r, &b[m], d) != RC_OK) {
      xfree(b);
      return NULL;
    }
  return b;
}

/* The `breakdown` object of result r: area and peak power by component
 * (arch_area_um2's and arch_peak_power_mw's terms: their sums are r's
 * area_um2 and power_mw), then per model energy, DRAM words and cycles by
 * component (their sums are the model's energy_pj, dram_words and
 * cycles). */
static void breakdown_json(JsonWriter *j, const NaasWorkload *w, const NaasResult *r,
                           const ModelBreakdown *mb, const char *indent) {
  const Arch *a = &r->arch;
  char in2[64];
  snprintf(in2, sizeof in2, "%s  ", indent);
  json_key(j, "breakdown");
  json_object(j, indent);
  json_key(j, "pes");
  json_int(j, a->mac_instances);
  json_key(j, "area_um2");
  json_object(j, NULL);
  json_key(j, "pes");
  json_num(j, "%.17g", (double)a->mac_instances * a->mac_area_um2);
  for (int l = 0; l < a->nlevels; l++) {
    const Level *L = &a->level[l];
    if (L->is_dram) continue;
    json_key(j, L->name);
    json_num(j, "%.17g",
             (double)L->instances *
                 ((double)L->capacity_words * L->area_um2_per_word + L->area_um2_fixed));
  }
  json_end(j, NULL);
  /* Peak power: arch_peak_power_mw's terms, each at the clock (pJ/cycle x MHz = uW). */
  double mhz = a->clock_mhz > 0 ? a->clock_mhz : 0;
  json_key(j, "power_mw");
  json_object(j, NULL);
  json_key(j, "pes");
  json_num(j, "%.17g", (double)a->mac_instances * a->mac_energy_pj * mhz * 1e-3);
  for (int l = 0; l < a->nlevels; l++) {
    json_key(j, a->level[l].name);
    json_num(j, "%.17g", arch_level_peak_pj(a, l) * mhz * 1e-3);
  }
  json_end(j, NULL);
  json_key(j, "per_model");
  json_array(j, in2);
  for (int m = 0; m < w->nmodels; m++) {
    const ModelBreakdown *b = &mb[m];
    const NaasModelFigures *f = &r->model[m];
    json_object(j, NULL);
    json_key(j, "model");
    json_str(j, w->model_name[m]);
    json_key(j, "source");
    json_str(j, b->source);
    json_key(j, "leak_split");
    json_bool(j, b->leak_split);
    json_key(j, "energy_pj");
    json_num(j, "%.17g", f->energy_pj);
    json_key(j, "cycles");
    json_num(j, "%.17g", f->cycles);
    json_key(j, "dram_words");
    json_num(j, "%.17g", f->dram_words);
    json_key(j, "macs");
    json_num(j, "%.17g", b->macs);
    json_key(j, "compute_cycles");
    json_num(j, "%.17g", b->compute_cycles);
    json_key(j, "utilization"); /* macs / (PEs x cycles), the vector unit's cycles included */
    json_num(j, "%.9g", f->cycles > 0 ? b->macs / ((double)a->mac_instances * f->cycles) : 0);
    json_break(j, in2);
    json_key(j, "mac_energy_pj");
    json_num(j, "%.17g", b->mac_energy_pj);
    json_key(j, "vector");
    json_object(j, NULL);
    json_key(j, "energy_pj");
    json_num(j, "%.17g", b->vec_energy);
    json_key(j, "cycles");
    json_num(j, "%.17g", b->vec_cycles);
    json_key(j, "dram_words");
    json_num(j, "%.17g", b->vec_dram);
    json_end(j, NULL);
    json_key(j, "bound_cycles");
    json_object(j, NULL);
    json_key(j, "compute");
    json_num(j, "%.17g", b->bound[0]);
    for (int l = 0; l < a->nlevels; l++) {
      json_key(j, a->level[l].name);
      json_num(j, "%.17g", b->bound[l + 1]);
    }
    json_key(j, "vector");
    json_num(j, "%.17g", b->vec_cycles);
    json_end(j, NULL);
    json_key(j, "levels");
    json_array(j, NULL);
    for (int l = 0; l < a->nlevels; l++) {
      json_break(j, in2);
      json_object(j, NULL);
      json_key(j, "name");
      json_str(j, a->level[l].name);
      json_key(j, "instances");
      json_int(j, a->level[l].instances);
      json_key(j, "energy_pj");
      json_num(j, "%.17g", b->energy[l]);
      json_key(j, "access_pj");
      json_num(j, "%.17g", b->access[l]);
      json_key(j, "noc_pj");
      json_num(j, "%.17g", b->noc[l]);
      json_key(j, "leak_pj");
      json_num(j, "%.17g", b->leak[l]);
      json_key(j, "tensor_energy_pj");
      json_array(j, NULL);
      for (int t = 0; t < NTENSORS; t++) json_num(j, "%.17g", b->tensor[l][t]);
      json_end(j, NULL);
      json_key(j, "reads");
      json_num(j, "%.17g", b->reads[l]);
      json_key(j, "fills");
      json_num(j, "%.17g", b->fills[l]);
      json_key(j, "updates");
      json_num(j, "%.17g", b->updates[l]);
      json_end(j, NULL);
    }
    json_end(j, NULL);
    json_end(j, NULL);
  }
  json_end(j, NULL);
  json_end(j, NULL);
}

static void figures(JsonWriter *j, const NaasResult *r, const char *area_fmt) {
  json_key(j, "edp");
  json_num(j, "%.17g", r->edp);
  json_key(j, "energy_pj");
  json_num(j, "%.17g", r->energy_pj);
  json_key(j, "cycles");
  json_num(j, "%.17g", r->cycles);
  json_key(j, "area_um2");
  json_num(j, area_fmt, r->area_um2);
  json_key(j, "power_mw");
  json_num(j, "%.9g", r->power_mw);
}

/* One baseline object of result.json: b mapped with the design's effort and
 * the design's ratios q against it. */
static void baseline_json(JsonWriter *j, const NaasWorkload *w, const char *key, const char *what,
                          const NaasResult *b, const NaasRatios *q, const ModelBreakdown *mb) {
  json_key(j, key);
  json_object(j, NULL);
  json_key(j, "name");
  json_str(j, b->arch.name);
  json_key(j, "what");
  json_str(j, what);
  figures(j, b, "%.9g");
  json_key(j, "groups");
  json_array(j, NULL);
  for (int m = 0; m < w->nmodels; m++) json_int(j, b->model[m].groups);
  json_end(j, NULL);
  json_break(j, "\n               ");
  json_key(j, "effort");
  naas_effort_json(j, &b->effort);
  json_break(j, "\n               ");
  json_key(j, "speedup");
  json_num(j, "%.17g", q->speedup);
  json_key(j, "energy_saving");
  json_num(j, "%.17g", q->energy_saving);
  json_key(j, "edp_gain");
  json_num(j, "%.17g", q->edp_gain);
  json_break(j, "\n               ");
  breakdown_json(j, w, b, mb, "\n                 ");
  json_end(j, NULL);
}

/* mb[0..2]: the breakdowns of res->r, res->base and res->built (those it has). */
static void write_result_json(FILE *f, const Arch *barch, const NaasDriveOptions *o,
                              const NaasWorkload *w, const NaasDriveResult *res,
                              ModelBreakdown *const mb[3]) {
  const NaasResult *r = &res->r;
  JsonWriter j;
  json_init(&j, f);
  json_object(&j, "\n  ");
  json_key(&j, "schema");
  json_str(&j, "naasc-search-result/1");
  json_key(&j, "mode");
  json_str(&j, naas_drive_mode(o));
  json_key(&j, "budget");
  json_str(&j, o->budget);
  json_key(&j, "assume");
  json_str(&j, arch_assume_name(barch->assume));
  {
    Precision p;
    char pn[48];
    precision_of(&r->arch, &p); /* the design's (the budget's, or --search-precision's choice) */
    precision_name(&p, pn, sizeof pn);
    json_key(&j, "precision");
    json_str(&j, pn);
  }
  bool bytes = o->naas.byte_budget || barch->tech_nm <= 0;
  json_key(&j, "constraint");
  json_object(&j, NULL);
  json_key(&j, "bytes");
  json_bool(&j, bytes);
  json_key(&j, "area_um2");
  json_num(&j, "%.9g",
           o->naas.max_area_um2 > 0 ? o->naas.max_area_um2
           : bytes                  ? 0
                                    : arch_area_um2(barch));
  json_key(&j, "power_mw");
  json_num(&j, "%.9g", o->naas.max_power_mw);
  json_end(&j, NULL);
  json_key(&j, "models");
  json_array(&j, NULL);
  for (int m = 0; m < w->nmodels; m++) json_str(&j, w->model_name[m]);
  json_end(&j, NULL);
  json_key(&j, "objective");
  json_str(&j, o->naas.objective == NAAS_OBJ_ENERGY    ? "energy"
               : o->naas.objective == NAAS_OBJ_LATENCY ? "latency"
                                                       : "edp");
  json_key(&j, "seed");
  json_uint(&j, o->naas.seed);
  json_key(&j, "schedule");
  json_str(&j, naas_sched_name(o->naas.schedule));
  json_key(&j, "search_score");
  json_num(&j, "%.17g", o->fixed ? r->score : r->search_score);
  json_key(&j, "score");
  json_num(&j, "%.17g", r->score);
  figures(&j, r, "%.9g");
  if (!o->fixed) {
    /* The designs mapped at final effort before choosing (naas.c): each
     * one's candidate score, final score (null: not mapped, its bound no
     * better than a final score found) and bound; `chosen` indexes them;
     * `start`: the design the search started from, re-ranked whatever its
     * candidate rank.  chosen_is_start: the search found nothing better. */
    json_key(&j, "chosen_is_start");
    json_bool(&j, r->nrerank > 0 && r->rerank[r->chosen].start);
    json_key(&j, "rerank");
    json_array(&j, NULL);
    for (int t = 0; t < r->nrerank; t++) {
      const NaasRerank *q = &r->rerank[t];
      json_object(&j, NULL);
      json_key(&j, "candidate_score");
      json_num(&j, "%.17g", q->candidate_score);
      json_key(&j, "final_score");
      json_num(&j, "%.17g", q->skipped ? NAN : q->final_score); /* null if not mapped */
      json_key(&j, "bound");
      json_num(&j, "%.17g", q->bound);
      json_key(&j, "chosen");
      json_bool(&j, t == r->chosen);
      json_key(&j, "start");
      json_bool(&j, q->start);
      json_end(&j, NULL);
    }
    json_end(&j, NULL);
  }
  json_key(&j, "effort");
  naas_effort_json(&j, &r->effort);
  if (o->fixed) {
    json_key(&j, "dataflow");
    json_str(&j, o->fixed_as_built ? "as-built" : "best");
  }
  if (res->have_base)
    baseline_json(&j, w, "baseline",
                  "the budget design, the best mapping its connectivity allows (--fixed=best), "
                  "mapped with the same effort",
                  &res->base, &res->q, mb[1]);
  if (res->have_built)
    baseline_json(&j, w, "baseline_as_built",
                  "the budget design with its chip's own dataflow (as_built: mapping "
                  "constraints and must_keep; --fixed=as-built), mapped with the same effort",
                  &res->built, &res->qb, mb[2]);
  if (!res->have_base && res->base_skipped) { /* left out, and why */
    json_key(&j, "baseline_skipped");
    json_str(&j, res->base_skipped);
  }
  if (!res->have_built && res->built_skipped) {
    json_key(&j, "baseline_as_built_skipped");
    json_str(&j, res->built_skipped);
  }
  if (res->have_base || res->have_built) {
    json_key(&j, "naas_compares_with");
    json_str(&j, "baseline_as_built"); /* NAAS's baselines are the chips' MAESTRO dataflows */
  }
  const Arch *a = &r->arch;
  json_key(&j, "arch");
  json_object(&j, NULL);
  json_key(&j, "name");
  json_str(&j, a->name);
  json_key(&j, "pes");
  json_int(&j, a->mac_instances);
  json_key(&j, "levels");
  json_array(&j, NULL);
  for (int l = 0; l < a->nlevels; l++) {
    const Level *L = &a->level[l];
    json_object(&j, NULL);
    json_key(&j, "name");
    json_str(&j, L->name);
    json_key(&j, "capacity_words");
    json_int(&j, L->capacity_words);
    json_key(&j, "instances");
    json_int(&j, L->instances);
    json_key(&j, "fanout");
    json_array(&j, NULL);
    for (int ax = 0; ax < ACCEL_MAX_AXES; ax++) json_int(&j, L->fanout[ax]);
    json_end(&j, NULL);
    json_key(&j, "connectivity");
    json_array(&j, NULL);
    for (int ax = 0; ax < ACCEL_MAX_AXES; ax++) {
      char s[NDIMS + 1];
      naas_conn_string(L->fanout[ax] > 1 ? L->connectivity[ax] : 0, s);
      json_str(&j, s);
    }
    json_end(&j, NULL);
    json_key(&j, "bandwidth");
    json_array(&j, NULL);
    json_num(&j, "%.6g", L->read_bw);
    json_num(&j, "%.6g", L->write_bw);
    json_num(&j, "%.6g", L->shared_bw);
    json_end(&j, NULL);
    json_end(&j, NULL);
  }
  json_end(&j, NULL);
  json_end(&j, NULL);
  json_key(&j, "per_model");
  json_array(&j, "\n    ");
  for (int m = 0; m < w->nmodels; m++) {
    /* The scored schedule's figures, and the same mappings layer by layer. */
    const NaasModelFigures *mf = &r->model[m];
    json_object(&j, NULL);
    json_key(&j, "model");
    json_str(&j, w->model_name[m]);
    json_key(&j, "energy_pj");
    json_num(&j, "%.17g", mf->energy_pj);
    json_key(&j, "cycles");
    json_num(&j, "%.17g", mf->cycles);
    json_key(&j, "edp");
    json_num(&j, "%.17g", mf->energy_pj * mf->cycles);
    json_key(&j, "dram_words");
    json_num(&j, "%.17g", mf->dram_words);
    json_key(&j, "groups");
    json_int(&j, mf->groups);
    json_break(&j, "\n     ");
    json_key(&j, "layer_energy_pj");
    json_num(&j, "%.17g", mf->layer_energy_pj);
    json_key(&j, "layer_cycles");
    json_num(&j, "%.17g", mf->layer_cycles);
    json_key(&j, "layer_edp");
    json_num(&j, "%.17g", mf->layer_energy_pj * mf->layer_cycles);
    json_key(&j, "layer_dram_words");
    json_num(&j, "%.17g", mf->layer_dram);
    json_break(&j, "\n     ");
    json_key(&j, "vector_energy_pj");
    json_num(&j, "%.17g", mf->vector_energy_pj);
    json_key(&j, "vector_cycles");
    json_num(&j, "%.17g", mf->vector_cycles);
    json_end(&j, NULL);
  }
  json_end(&j, "\n  ");
  breakdown_json(&j, w, r, mb[0], "\n    ");
  double bc, be, bedp, bw;
  bool network = o->naas.schedule == NAAS_SCHED_FUSED;
  roofline(w, barch, network, &bc, &be, &bedp, &bw);
  json_key(&j, "bound");
  json_object(&j, NULL);
  json_key(&j, "compulsory");
  json_str(&j, network ? "network" : "layer");
  json_key(&j, "dram_words");
  json_num(&j, "%.17g", bw);
  json_key(&j, "cycles");
  json_num(&j, "%.17g", bc);
  json_key(&j, "energy_pj");
  json_num(&j, "%.17g", be);
  json_key(&j, "edp");
  json_num(&j, "%.17g", bedp);
  json_end(&j, NULL);
  json_key(&j, "layer_shapes");
  json_int(&j, w->nlayers);
  json_key(&j, "iterations");
  json_int(&j, r->iterations);
  json_key(&j, "candidates");
  json_int(&j, r->candidates);
  json_key(&j, "evals");
  json_int(&j, r->evals);
  json_key(&j, "seconds");
  json_num(&j, "%.3f", r->seconds);
  json_key(&j, "jobs");
  json_int(&j, o->naas.jobs);
  json_key(&j, "ranks");
  json_int(&j, o->nranks);
  json_end(&j, "\n");
  fputc('\n', f);
}

/* ---- plots ---------------------------------------------------------------------- */

/* The canvas of both plots; y is log10 of the objective (frame_y sets its range). */
static SvgPlot frame(FILE *f, double x0, double x1) {
  return (SvgPlot){f, 640, 400, 70, 20, 30, 50, x0, x1, 0, 1, false, true};
}

/* y: log10 of the valid candidates' scores, padded. */
static void frame_y(const NaasResult *r, SvgPlot *fr) {
  fr->y0 = INFINITY;
  fr->y1 = -INFINITY;
  for (int64_t i = 0; i < r->nlog; i++)
    if (r->log[i].valid) {
      double ly = log10(r->log[i].score);
      if (ly < fr->y0) fr->y0 = ly;
      if (ly > fr->y1) fr->y1 = ly;
    }
  if (!(fr->y0 < fr->y1)) {
    fr->y0 = isfinite(fr->y0) ? fr->y0 - 0.5 : 0;
    fr->y1 = fr->y0 + 1;
  }
  double pad = 0.05 * (fr->y1 - fr->y0);
  fr->y0 -= pad;
  fr->y1 += pad;
}

static void svg_convergence(FILE *f, const NaasResult *r, const char *what) {
  SvgPlot fr = frame(f, 0, (double)(r->iterations > 1 ? r->iterations - 1 : 1));
  frame_y(r, &fr);
  char title[128], yl[64];
  snprintf(title, sizeof title,
           "convergence: %s per iteration (grey: population, blue: best so far)", what);
  snprintf(yl, sizeof yl, "%s (log scale)", what);
  svg_begin(&fr, 12, 18, title);
  svg_axes(&fr, "iteration", yl);
  svg_ticks(&fr, 'x', 4, "%.0f");
  svg_ticks(&fr, 'y', 4, "%.3g");
  for (int64_t i = 0; i < r->nlog; i++)
    if (r->log[i].valid)
      svg_circle(&fr, svg_x(&fr, (double)r->log[i].iteration), svg_y(&fr, r->log[i].score), 2,
                 "#999", NULL);
  svg_series_begin(&fr, "#1f5fbf", 2);
  double best = INFINITY;
  for (int64_t i = 0; i < r->nlog; i++) {
    if (r->log[i].valid && r->log[i].score < best) best = r->log[i].score;
    bool last = i + 1 == r->nlog || r->log[i + 1].iteration != r->log[i].iteration;
    if (last && isfinite(best))
      svg_series_point(&fr, svg_x(&fr, (double)r->log[i].iteration), svg_y(&fr, best));
  }
  svg_series_end(&fr);
  svg_end(&fr);
}

static void svg_pareto(FILE *f, const NaasResult *r, const char *what) {
  SvgPlot fr = frame(f, INFINITY, -INFINITY);
  for (int64_t i = 0; i < r->nlog; i++)
    if (r->log[i].valid) {
      double x = r->log[i].area_um2 / 1e6;
      if (x < fr.x0) fr.x0 = x;
      if (x > fr.x1) fr.x1 = x;
    }
  if (!(fr.x0 < fr.x1)) {
    fr.x0 = isfinite(fr.x0) ? fr.x0 * 0.9 : 0;
    fr.x1 = fr.x0 > 0 ? fr.x0 / 0.9 * 1.1 : 1;
  }
  frame_y(r, &fr);
  char title[128], yl[64];
  snprintf(title, sizeof title, "%s versus area (grey: every valid candidate, red: Pareto front)",
           what);
  snprintf(yl, sizeof yl, "%s (log scale)", what);
  svg_begin(&fr, 12, 18, title);
  svg_axes(&fr, "area (mm^2, placeholder model)", yl);
  svg_ticks(&fr, 'x', 4, "%.3g");
  svg_ticks(&fr, 'y', 4, "%.3g");
  int64_t n = 0;
  for (int64_t i = 0; i < r->nlog; i++)
    if (r->log[i].valid)
      svg_circle(&fr, svg_x(&fr, r->log[i].area_um2 / 1e6), svg_y(&fr, r->log[i].score), 2, "#999",
                 NULL),
          n++;
  /* The front: sort by area (then score), keep each point that beats all smaller ones. */
  int64_t *idx = malloc(sizeof *idx * (size_t)(n + 1));
  if (!idx) {
    svg_end(&fr);
    return;
  }
  int64_t k = 0;
  for (int64_t i = 0; i < r->nlog; i++)
    if (r->log[i].valid) idx[k++] = i;
  for (int64_t i = 1; i < k; i++) {
    int64_t v = idx[i], j = i - 1;
    while (j >= 0 && (r->log[idx[j]].area_um2 > r->log[v].area_um2 ||
                      (r->log[idx[j]].area_um2 == r->log[v].area_um2 &&
                       r->log[idx[j]].score > r->log[v].score))) {
      idx[j + 1] = idx[j];
      j--;
    }
    idx[j + 1] = v;
  }
  svg_series_begin(&fr, "#c0392b", 2);
  double best = INFINITY;
  for (int64_t i = 0; i < k; i++) {
    const NaasCandidate *c = &r->log[idx[i]];
    if (c->score < best) {
      best = c->score;
      svg_series_point(&fr, svg_x(&fr, c->area_um2 / 1e6), svg_y(&fr, c->score));
    }
  }
  svg_series_end(&fr);
  svg_end(&fr);
  free(idx);
}

Rc naas_drive_write(const char *dir, const NaasWorkload *w, const Arch *budget,
                    const NaasDriveOptions *o, const NaasDriveResult *res, Diag *d) {
  const NaasResult *r = &res->r;
  Mem m;
  Rc rc = RC_OK;
  if (!mem_open(&m)) return RC_INTERNAL;
  arch_print(m.f, &r->arch);
  rc = mem_commit(&m, dir, "arch.yaml", d);
  ModelBreakdown *mb[3] = {NULL, NULL, NULL};
  if (rc == RC_OK) {
    mb[0] = result_breakdown(w, r, d);
    if (mb[0] && res->have_base) mb[1] = result_breakdown(w, &res->base, d);
    if (mb[0] && res->have_built && !(res->have_base && !mb[1]))
      mb[2] = result_breakdown(w, &res->built, d);
    if (!mb[0] || (res->have_base && !mb[1]) || (res->have_built && !mb[2])) rc = RC_INTERNAL;
  }
  if (rc == RC_OK && !mem_open(&m)) rc = RC_INTERNAL;
  if (rc == RC_OK) {
    write_result_json(m.f, budget, o, w, res, mb);
    rc = mem_commit(&m, dir, "result.json", d);
  }
  for (int k = 0; k < 3; k++) xfree(mb[k]);
  if (rc != RC_OK || o->fixed) return rc;
  size_t n = strlen(dir) + sizeof "/search.json";
  char *p = xmalloc(n);
  if (!p) return RC_INTERNAL;
  snprintf(p, n, "%s/search.json", dir);
  rc = naas_log_write(p, r, d);
  xfree(p);
  const char *what = naas_objective_label(o->naas.objective);
  if (rc == RC_OK && mem_open(&m)) {
    svg_convergence(m.f, r, what);
    rc = mem_commit(&m, dir, "convergence.svg", d);
  }
  if (rc == RC_OK && mem_open(&m)) {
    svg_pareto(m.f, r, what);
    rc = mem_commit(&m, dir, "pareto.svg", d);
  }
  return rc;
}

const char *naas_objective_label(NaasObjective obj) {
  return obj == NAAS_OBJ_ENERGY    ? "energy (pJ)"
         : obj == NAAS_OBJ_LATENCY ? "cycles"
                                   : "EDP (pJ x cycles)";
}
