/*
 * report.c: the cost report of a mapped module (--report).
 *
 * Every mapped mac nest is evaluated on the target with the cost model; the
 * report gives per layer and in total: energy by storage level (and the
 * MACs), cycles, utilization, EDP and MACs per cycle.  Three forms:
 *   - a table (text),
 *   - JSON, schema "naasc-report/1" (docs/cost-model.md, "Reports"),
 *   - an SVG chart: per-layer energy by level as stacked bars, and cycles as
 *     a line on a second axis, drawn with the SVG helper of ir/ (svg.c);
 *     self-contained, it opens in any browser.
 * Layer totals add energies and cycles (the layers run one after another);
 * the total EDP is total energy x total cycles.  Vector-unit nests are
 * costed by backend/vector.c, after the mac layers' total.  Biases are not
 * counted (the cost model's problem is Timeloop's: I, W, O); a line under
 * the total, and `bias_words_uncounted` in the JSON, say how many words.
 *
 * Under a whole-network schedule with groups (report_write_schedule) each
 * layer's figures are its counts under the schedule (backend/schedule.c),
 * and a section per group compares them with the layers run alone; without
 * groups the output is the layer-by-layer report's, byte for byte.
 */
#include "passes/passes.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"

typedef struct {
  const char *name;
  CostResult c;     /* under the schedule (the layer alone without one) */
  CostResult alone; /* the layer alone: cost_eval of its mapping */
  uint32_t nest;
  int64_t macs;
} Row;

/* Every mapped mac nest's row; with per_nest, its cost under a schedule. */
static int collect(const Module *m, const Arch *a, const CostResult *per_nest, Row **rows,
                   int *nvec, int *nhost, Diag *d) {
  *rows = xcalloc(m->nnests + 1, sizeof **rows);
  if (!*rows) return -1;
  int n = 0;
  *nvec = *nhost = 0;
  for (uint32_t i = 0; i < m->nnests; i++) {
    const Nest *nt = &m->nests[i];
    Problem p;
    if (!nest_problem(nt, &p)) {
      *nvec += nt->kind == NK_VEC && nt->vop != VOP_HOST;
      *nhost += nt->vop == VOP_HOST;
      continue;
    }
    if (!nt->map) {
      diag_error(d, nt->name, "report: this mac nest has no mapping (run 'map' first)");
      return -1;
    }
    Row *r = &(*rows)[n];
    r->name = nt->name;
    r->nest = i;
    r->macs = problem_macs(&p);
    int err = cost_eval(&p, a, &nt->map->m, &r->alone);
    if (err != COST_OK) {
      diag_error(d, nt->name, "report: the mapping does not evaluate on '%s' (%s)", a->name,
                 cost_error_name(err));
      return -1;
    }
    r->c = per_nest ? per_nest[i] : r->alone;
    if (per_nest) r->macs = r->c.macs; /* recomputed overlaps included */
    n++;
  }
  return n;
}

static void json_row(JsonWriter *j, const Arch *a, const char *name, int64_t macs, double energy,
                     const double *lev, double mac_e, const double *ten, int64_t cycles,
                     int64_t compute, double util, const char *bottleneck) {
  json_object(j, NULL);
  json_key(j, "name");
  json_str(j, name);
  json_key(j, "macs");
  json_int(j, macs);
  json_key(j, "cycles");
  json_int(j, cycles);
  json_key(j, "compute_cycles");
  json_int(j, compute);
  json_key(j, "utilization");
  json_num(j, "%.6g", util);
  json_key(j, "energy_pj");
  json_num(j, "%.9g", energy);
  json_key(j, "edp_pj_cycles");
  json_num(j, "%.9g", energy * (double)cycles);
  json_key(j, "macs_per_cycle");
  json_num(j, "%.6g", cycles ? (double)macs / (double)cycles : 0);
  json_key(j, "bottleneck");
  json_str(j, bottleneck);
  json_key(j, "energy_by_level_pj");
  json_object(j, NULL);
  for (int l = 0; l < a->nlevels; l++) {
    json_key(j, a->level[l].name);
    json_num(j, "%.9g", lev[l]);
  }
  json_key(j, "mac");
  json_num(j, "%.9g", mac_e);
  json_end(j, NULL);
  json_key(j, "energy_by_tensor_pj");
  json_object(j, NULL);
  static const char *const tname[] = {"W", "I", "O"};
  for (int t = 0; t < 3; t++) {
    json_key(j, tname[t]);
    json_num(j, "%.9g", ten[t]);
  }
  json_end(j, NULL);
  json_end(j, NULL);
}

static const char *const palette[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                      "#edc948", "#b07aa1", "#ff9da7", "#9c755f"};

/* Energy by level as stacked bars on the left axis, cycles as a line on
 * the right one; a layer a category of the x axis, 28 units apart. */
static void svg(FILE *f, const Module *m, const Arch *a, const Row *rows, int n) {
  double emax = 0;
  int64_t cmax = 0;
  for (int i = 0; i < n; i++) {
    emax = fmax(emax, rows[i].c.energy_pj);
    if (rows[i].c.cycles > cmax) cmax = rows[i].c.cycles;
  }
  if (emax <= 0) emax = 1;
  if (cmax <= 0) cmax = 1;
  /* the plot area: x 90..W-90, y 70..370 */
  SvgPlot pe = {f, 190 + 28 * (n > 8 ? n : 8), 500, 90, 90, 70, 130, 0, 1, 0, emax, false, false};
  SvgPlot pc = pe; /* the same area, cycles on the right axis */
  pc.y1 = (double)cmax;
  char title[256];
  snprintf(title, sizeof title, "%s on %s: energy by level (bars, pJ) and cycles (line)", m->name,
           a->name);
  svg_begin(&pe, 11, 20, title);
  svg_axes(&pe, NULL, "energy (pJ)");
  svg_axis_right(&pc, "cycles");
  svg_ticks(&pe, 'y', 4, "%.3g");
  svg_ticks(&pc, 'r', 4, "%.3g");
  for (int i = 0; i < n; i++) {
    double acc = 0, x = pe.left + 8 + 28 * i;
    for (int l = -1; l < a->nlevels; l++) { /* -1: the MACs */
      double e = l < 0 ? rows[i].c.mac_energy_pj : rows[i].c.level[l].energy_pj;
      if (e <= 0) continue;
      char tip[256];
      snprintf(tip, sizeof tip, "%s %s: %.4g pJ", rows[i].name, l < 0 ? "MAC" : a->level[l].name,
               e);
      double top = svg_y(&pe, acc + e);
      svg_rect(&pe, x, top, 20, svg_y(&pe, acc) - top, palette[(l + 1) % 9], NULL, tip);
      acc += e;
    }
    svg_text(&pe, x + 4, pe.height - pe.bottom + 8, NULL, 60, NULL, "%s", rows[i].name);
  }
  svg_series_begin(&pc, "black", 1.5);
  for (int i = 0; i < n; i++)
    svg_series_point(&pc, pc.left + 18 + 28 * i, svg_y(&pc, (double)rows[i].c.cycles));
  svg_series_end(&pc);
  for (int l = -1; l < a->nlevels; l++) { /* the legend */
    double x = pe.left + 110 * ((l + 1) % 6), y = 34 + 14 * ((l + 1) / 6);
    svg_rect(&pe, x, y, 10, 10, palette[(l + 1) % 9], NULL, NULL);
    svg_text(&pe, x + 14, y + 9, NULL, 0, NULL, "%s", l < 0 ? "MAC" : a->level[l].name);
  }
  svg_end(&pe);
}

Rc report_write(const Module *m, const Arch *a, FILE *table, const char *json_path, Diag *d) {
  return report_write_schedule(m, a, NULL, NULL, table, json_path, d);
}

static const char *const mode_label[] = {"layer", "depth-first"};
static const char *const overlap_label[] = {"recompute", "cache-h", "cache-all"};

static int64_t dram_words(const CostResult *c) {
  int64_t w = 0;
  for (int t = 0; t < NTENSORS; t++)
    w += c->level[0].total[t].reads + c->level[0].total[t].fills + c->level[0].total[t].updates;
  return w;
}

/* A group's figures, scheduled and alone: its mac nests' sums. */
typedef struct {
  int64_t dram, dram_alone, cycles, cycles_alone;
  double energy, energy_alone;
} GroupSums;

static void group_sums(const Row *rows, int n, const SchedGroup *g, GroupSums *gs) {
  memset(gs, 0, sizeof *gs);
  for (int i = 0; i < n; i++) {
    if (rows[i].nest < g->first || rows[i].nest > g->last) continue;
    gs->dram += dram_words(&rows[i].c), gs->dram_alone += dram_words(&rows[i].alone);
    gs->energy += rows[i].c.energy_pj, gs->energy_alone += rows[i].alone.energy_pj;
    gs->cycles += rows[i].c.cycles, gs->cycles_alone += rows[i].alone.cycles;
  }
}

static double ratio(double alone, double now) { return now > 0 ? alone / now : 0; }

/* The schedule's part of the table: the network against layer by layer,
 * then per group what it saves. */
static void schedule_table(FILE *f, const Module *m, const Arch *a, const Schedule *s,
                           const Row *rows, int n) {
  int64_t dr = 0, dr0 = 0, cy = 0, cy0 = 0;
  double en = 0, en0 = 0;
  for (int i = 0; i < n; i++) {
    dr += dram_words(&rows[i].c), dr0 += dram_words(&rows[i].alone);
    en += rows[i].c.energy_pj, en0 += rows[i].alone.energy_pj;
    cy += rows[i].c.cycles, cy0 += rows[i].alone.cycles;
  }
  fprintf(f,
          "schedule: %u groups; against layer by layer: DRAM words %" PRId64 " -> %" PRId64
          " (%.2fx), energy %.5g -> %.5g pJ (%.2fx), cycles %" PRId64 " -> %" PRId64
          " (%.2fx), EDP %.5g -> %.5g (%.2fx)\n",
          s->ngroups, dr0, dr, ratio((double)dr0, (double)dr), en0, en, ratio(en0, en), cy0, cy,
          ratio((double)cy0, (double)cy), en0 * (double)cy0, en * (double)cy,
          ratio(en0 * (double)cy0, en * (double)cy));
  fprintf(f, "%-48s %5s %-11s %-12s %-9s %-9s %-7s %12s %12s %12s %12s %12s %12s\n", "group",
          "nests", "mode", "home", "tile", "overlap", "weights", "DRAM_words", "alone", "energy_pJ",
          "alone", "cycles", "alone");
  for (uint32_t g = 0; g < s->ngroups; g++) {
    const SchedGroup *gr = &s->group[g];
    GroupSums gs;
    group_sums(rows, n, gr, &gs);
    char name[512], tile[48];
    snprintf(name, sizeof name, "%s..%s", m->nests[gr->first].name, m->nests[gr->last].name);
    if (gr->mode == SCHED_DEPTH)
      snprintf(tile, sizeof tile, "%" PRId64 "x%" PRId64, gr->tile[0], gr->tile[1]);
    else
      snprintf(tile, sizeof tile, "-");
    fprintf(f,
            "%-48s %5u %-11s %-12.12s %-9s %-9s %-7s %12" PRId64 " %12" PRId64
            " %12.5g %12.5g %12" PRId64 " %12" PRId64 "\n",
            name, gr->last - gr->first + 1, mode_label[gr->mode == SCHED_DEPTH],
            a->level[gr->home].name, tile,
            gr->mode == SCHED_DEPTH ? overlap_label[gr->overlap % 3] : "-",
            gr->mode == SCHED_DEPTH ? (gr->weights_home ? "home" : "dram") : "-", gs.dram,
            gs.dram_alone, gs.energy, gs.energy_alone, gs.cycles, gs.cycles_alone);
  }
}

static void schedule_json(JsonWriter *j, const Module *m, const Arch *a, const Schedule *s,
                          const Row *rows, int n) {
  int64_t dr = 0, dr0 = 0, cy = 0, cy0 = 0;
  double en = 0, en0 = 0;
  for (int i = 0; i < n; i++) {
    dr += dram_words(&rows[i].c), dr0 += dram_words(&rows[i].alone);
    en += rows[i].c.energy_pj, en0 += rows[i].alone.energy_pj;
    cy += rows[i].c.cycles, cy0 += rows[i].alone.cycles;
  }
  json_key(j, "schedule");
  json_object(j, NULL);
  json_key(j, "dram_words");
  json_int(j, dr);
  json_key(j, "energy_pj");
  json_num(j, "%.9g", en);
  json_key(j, "cycles");
  json_int(j, cy);
  json_key(j, "edp_pj_cycles");
  json_num(j, "%.9g", en * (double)cy);
  json_break(j, "\n    ");
  json_key(j, "layer_by_layer");
  json_object(j, NULL);
  json_key(j, "dram_words");
  json_int(j, dr0);
  json_key(j, "energy_pj");
  json_num(j, "%.9g", en0);
  json_key(j, "cycles");
  json_int(j, cy0);
  json_key(j, "edp_pj_cycles");
  json_num(j, "%.9g", en0 * (double)cy0);
  json_end(j, NULL);
  json_break(j, "\n    ");
  json_key(j, "groups");
  json_array(j, "\n      ");
  for (uint32_t g = 0; g < s->ngroups; g++) {
    const SchedGroup *gr = &s->group[g];
    GroupSums gs;
    group_sums(rows, n, gr, &gs);
    json_object(j, NULL);
    json_key(j, "first");
    json_str(j, m->nests[gr->first].name);
    json_key(j, "last");
    json_str(j, m->nests[gr->last].name);
    json_key(j, "nests");
    json_int(j, gr->last - gr->first + 1);
    json_key(j, "mode");
    json_str(j, mode_label[gr->mode == SCHED_DEPTH]);
    json_key(j, "home");
    json_str(j, a->level[gr->home].name);
    if (gr->mode == SCHED_DEPTH) {
      json_key(j, "tile");
      json_array(j, NULL);
      json_int(j, gr->tile[0]);
      json_int(j, gr->tile[1]);
      json_end(j, NULL);
      json_key(j, "overlap");
      json_str(j, overlap_label[gr->overlap % 3]);
      json_key(j, "weights");
      json_str(j, gr->weights_home ? "home" : "dram");
    }
    json_key(j, "dram_words");
    json_int(j, gs.dram);
    json_key(j, "dram_words_alone");
    json_int(j, gs.dram_alone);
    json_key(j, "energy_pj");
    json_num(j, "%.9g", gs.energy);
    json_key(j, "energy_pj_alone");
    json_num(j, "%.9g", gs.energy_alone);
    json_key(j, "cycles");
    json_int(j, gs.cycles);
    json_key(j, "cycles_alone");
    json_int(j, gs.cycles_alone);
    json_end(j, NULL);
  }
  json_end(j, "\n    ");
  json_end(j, NULL);
}

/* The bias words of the mac layers with a bias epilogue (Conv, Gemm, a
 * MatMul + Add folded by fuse-act): the cost model counts I, W and O only,
 * as Timeloop's problem has no bias (so its counts stay Timeloop's count for
 * count), and these words, each read at least once, are left out of the
 * totals; the report says how many. */
static int64_t bias_words(const Module *m, const Row *rows, int n, int *nlayers) {
  int64_t w = 0;
  *nlayers = 0;
  for (int i = 0; i < n; i++) {
    const Nest *nt = &m->nests[rows[i].nest];
    const Access *b = nt->has_bias ? nest_access(nt, ROLE_B) : NULL;
    if (!b || !b->tensor) continue;
    const NTensor *t = &m->tensors[b->tensor];
    int64_t k = 1;
    for (int d = 0; d < t->rank; d++) k *= t->dims[d];
    w += k;
    (*nlayers)++;
  }
  return w;
}

/* The vector nests' costs (backend/vector.c), listed after the mac layers,
 * their total by kind, the total with them, and how many vector and
 * data-movement nests are not costed and why. */
static void vector_table(FILE *f, const Module *m, const Arch *a, int64_t cyc_mac, double e_mac) {
  int64_t cyc = 0, cyc_k[5] = {0};
  double e = 0, e_k[5] = {0};
  int costed = 0, uncosted = 0, moves = 0;
  for (uint32_t i = 0; i < m->nnests; i++) {
    const Nest *nt = &m->nests[i];
    VecCost v;
    moves += nt->kind == NK_MOVE;
    if (nt->kind != NK_VEC) continue;
    if (!vec_cost(a, m, nt, &v)) {
      uncosted++;
      continue;
    }
    if (!costed++)
      fprintf(f, "vector unit (%" PRId64 " lanes):\n%-32s %12s %-13s %12s %12s %12s %12s\n",
              a->vector.lanes, "layer", "cycles", "kind", "points", "energy_pJ", "ops_pJ",
              "memory_pJ");
    fprintf(f, "%-32s %12" PRId64 " %-13s %12" PRId64 " %12.5g %12.5g %12.5g\n", nt->name, v.cycles,
            vec_kind_name(v.kind), v.points, v.energy_pj, v.op_energy_pj, v.mem_energy_pj);
    cyc += v.cycles, e += v.energy_pj;
    cyc_k[v.kind] += v.cycles, e_k[v.kind] += v.energy_pj;
  }
  if (costed) {
    fprintf(f, "%-32s %12" PRId64 " %-13s %12s %12.5g\n", "vector total", cyc, "", "", e);
    for (int k = VK_ELEMENTWISE; k <= VK_REDUCE; k++)
      if (cyc_k[k])
        fprintf(
            f, "  %-30s %12" PRId64 " (%.1f%% of all cycles) %12.5g pJ (%.1f%% of all energy)\n",
            vec_kind_name((VecKind)k), cyc_k[k], 100.0 * (double)cyc_k[k] / (double)(cyc + cyc_mac),
            e_k[k], 100.0 * e_k[k] / (e + e_mac));
    fprintf(f, "%-32s %12" PRId64 " %7s %12.5g   (mac layers %.1f%% of cycles, %.1f%% of energy)\n",
            "total with the vector unit", cyc + cyc_mac, "", e + e_mac,
            100.0 * (double)cyc_mac / (double)(cyc + cyc_mac), 100.0 * e_mac / (e + e_mac));
  }
  if (uncosted)
    fprintf(f, "(%d vector-unit nests are not costed%s)\n", uncosted,
            a->vector.lanes <= 0 ? ": the arch has no vector unit"
                                 : ": host ops the vector unit does not run");
  if (moves)
    fprintf(f, "(%d data-movement nests (transpose, concat, slice, gather) are not costed)\n",
            moves);
}

static void vector_json(JsonWriter *j, const Module *m, const Arch *a) {
  int64_t cyc = 0;
  double e = 0;
  int uncosted = 0, moves = 0;
  json_key(j, "vector");
  json_array(j, "\n    ");
  for (uint32_t i = 0; i < m->nnests; i++) {
    const Nest *nt = &m->nests[i];
    VecCost v;
    moves += nt->kind == NK_MOVE;
    if (nt->kind != NK_VEC) continue;
    if (!vec_cost(a, m, nt, &v)) {
      uncosted++;
      continue;
    }
    json_object(j, NULL);
    json_key(j, "name");
    json_str(j, nt->name);
    json_key(j, "kind");
    json_str(j, vec_kind_name(v.kind));
    json_key(j, "points");
    json_int(j, v.points);
    json_key(j, "adds");
    json_int(j, v.adds);
    json_key(j, "muls");
    json_int(j, v.muls);
    json_key(j, "cycles");
    json_int(j, v.cycles);
    json_key(j, "energy_pj");
    json_num(j, "%.9g", v.energy_pj);
    json_key(j, "op_energy_pj");
    json_num(j, "%.9g", v.op_energy_pj);
    json_key(j, "memory_energy_pj");
    json_num(j, "%.9g", v.mem_energy_pj);
    json_end(j, NULL);
    cyc += v.cycles, e += v.energy_pj;
  }
  json_end(j, "\n  ");
  json_key(j, "vector_cycles");
  json_int(j, cyc);
  json_key(j, "vector_energy_pj");
  json_num(j, "%.9g", e);
  json_key(j, "vector_uncosted");
  json_int(j, uncosted);
  json_key(j, "move_nests_uncosted");
  json_int(j, moves);
}

Rc report_write_schedule(const Module *m, const Arch *a, const Schedule *sch,
                         const CostResult *per_nest, FILE *table, const char *json_path, Diag *d) {
  Row *rows;
  int nvec, nhost;
  bool sched = sch && sch->ngroups && per_nest;
  int n = collect(m, a, sched ? per_nest : NULL, &rows, &nvec, &nhost, d);
  if (n < 0) {
    xfree(rows);
    return d->nerrors ? RC_BADINPUT : RC_INTERNAL;
  }
  double lev_tot[ACCEL_MAX_LEVELS] = {0}, ten_tot[NTENSORS] = {0}, mac_tot = 0, e_tot = 0;
  int64_t cyc_tot = 0, comp_tot = 0, macs_tot = 0;
  for (int i = 0; i < n; i++) {
    for (int l = 0; l < a->nlevels; l++) lev_tot[l] += rows[i].c.level[l].energy_pj;
    for (int t = 0; t < NTENSORS; t++) ten_tot[t] += rows[i].c.tensor_energy_pj[t];
    mac_tot += rows[i].c.mac_energy_pj;
    e_tot += rows[i].c.energy_pj;
    cyc_tot += rows[i].c.cycles;
    comp_tot += rows[i].c.compute_cycles;
    macs_tot += rows[i].macs;
  }
  int nbias;
  int64_t bias_tot = bias_words(m, rows, n, &nbias);
  if (table) {
    fprintf(table, "cost report: %s on %s (%" PRId64 " MAC PEs; --assume %s)\n", m->name, a->name,
            a->mac_instances, arch_assume_name(a->assume));
    fprintf(table, "%-32s %12s %7s %12s %10s", "layer", "cycles", "util", "energy_pJ", "MACs/cyc");
    for (int l = 0; l < a->nlevels; l++) fprintf(table, " %12.12s", a->level[l].name);
    fprintf(table, " %12s %12s\n", "MAC", "EDP");
    for (int i = 0; i < n; i++) {
      const CostResult *c = &rows[i].c;
      fprintf(table, "%-32s %12" PRId64 " %7.3f %12.5g %10.2f", rows[i].name, c->cycles,
              c->utilization, c->energy_pj, (double)rows[i].macs / (double)c->cycles);
      for (int l = 0; l < a->nlevels; l++) fprintf(table, " %12.5g", c->level[l].energy_pj);
      fprintf(table, " %12.5g %12.5g\n", c->mac_energy_pj, c->energy_pj * (double)c->cycles);
    }
    fprintf(table, "%-32s %12" PRId64 " %7.3f %12.5g %10.2f", "total", cyc_tot,
            cyc_tot ? (double)macs_tot / ((double)a->mac_instances * (double)cyc_tot) : 0, e_tot,
            cyc_tot ? (double)macs_tot / (double)cyc_tot : 0);
    for (int l = 0; l < a->nlevels; l++) fprintf(table, " %12.5g", lev_tot[l]);
    fprintf(table, " %12.5g %12.5g\n", mac_tot, e_tot * (double)cyc_tot);
    if (nbias)
      fprintf(table,
              "(the total leaves out the biases of %d mac layer%s: %" PRId64
              " words, not counted by the cost model)\n",
              nbias, nbias == 1 ? "" : "s", bias_tot);
    vector_table(table, m, a, cyc_tot, e_tot);
    if (sched) schedule_table(table, m, a, sch, rows, n);
  }
  Rc rc = RC_OK;
  if (json_path) {
    char *buf = NULL, *sbuf = NULL;
    size_t len = 0, slen = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) {
      xfree(rows);
      return RC_INTERNAL;
    }
    JsonWriter j;
    json_init(&j, f);
    json_object(&j, "\n  ");
    json_key(&j, "format");
    json_str(&j, "naasc-report/1");
    json_key(&j, "model");
    json_str(&j, m->name);
    json_key(&j, "target");
    json_str(&j, a->name);
    json_key(&j, "assume");
    json_str(&j, arch_assume_name(a->assume));
    {
      Precision p;
      char pn[48];
      precision_of(a, &p);
      precision_name(&p, pn, sizeof pn);
      json_key(&j, "precision");
      json_str(&j, pn);
    }
    json_key(&j, "technology_nm");
    json_num(&j, "%.6g", a->tech_nm);
    json_key(&j, "area_um2");
    json_num(&j, "%.9g", arch_area_um2(a));
    json_key(&j, "mac_instances");
    json_int(&j, a->mac_instances);
    json_key(&j, "clock_mhz");
    json_num(&j, "%.6g", a->clock_mhz);
    json_key(&j, "vector_nests");
    json_int(&j, nvec);
    vector_json(&j, m, a);
    if (nbias) { /* present only when there are any, as host_nests */
      json_key(&j, "bias_layers_uncounted");
      json_int(&j, nbias);
      json_key(&j, "bias_words_uncounted");
      json_int(&j, bias_tot);
    }
    if (nhost) { /* present only when there are any (older readers see no change) */
      json_key(&j, "host_nests");
      json_int(&j, nhost);
    }
    json_key(&j, "layers");
    json_array(&j, "\n    ");
    for (int i = 0; i < n; i++) {
      const CostResult *c = &rows[i].c;
      double lev[ACCEL_MAX_LEVELS];
      for (int l = 0; l < a->nlevels; l++) lev[l] = c->level[l].energy_pj;
      json_row(&j, a, rows[i].name, rows[i].macs, c->energy_pj, lev, c->mac_energy_pj,
               c->tensor_energy_pj, c->cycles, c->compute_cycles, c->utilization,
               c->bottleneck < 0 ? "compute" : a->level[c->bottleneck].name);
    }
    json_end(&j, "\n  ");
    json_key(&j, "total");
    json_row(&j, a, "total", macs_tot, e_tot, lev_tot, mac_tot, ten_tot, cyc_tot, comp_tot,
             cyc_tot ? (double)macs_tot / ((double)a->mac_instances * (double)cyc_tot) : 0, "-");
    if (sched) schedule_json(&j, m, a, sch, rows, n);
    json_end(&j, "\n");
    fputc('\n', f);
    fclose(f);
    rc = file_write_atomic(json_path, buf, len, d);
    free(buf);
    /* The chart beside it: FILE.json -> FILE.svg. */
    size_t pl = strlen(json_path);
    char *svg_path = xmalloc(pl + 5);
    FILE *s = open_memstream(&sbuf, &slen);
    if (rc == RC_OK && svg_path && s) {
      strcpy(svg_path, json_path);
      if (pl > 5 && strcmp(svg_path + pl - 5, ".json") == 0) svg_path[pl - 5] = 0;
      strcat(svg_path, ".svg");
      svg(s, m, a, rows, n);
      fclose(s);
      s = NULL;
      rc = file_write_atomic(svg_path, sbuf, slen, d);
    }
    if (s) fclose(s);
    free(sbuf);
    xfree(svg_path);
  }
  xfree(rows);
  return rc;
}
