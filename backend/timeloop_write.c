/*
 * timeloop_write.c: writes naasc's nouns as Timeloop input files
 * (--emit=timeloop), so a naasc result can be checked in Timeloop itself:
 *
 *   timeloop-model arch.yaml arch.ERT.yaml arch.ART.yaml problem.yaml map.yaml
 *
 * The architecture is written in the v0.4 form Timeloop's front end feeds
 * timeloop-model (the tree of parsed-processed-input.yaml: one subtree, each
 * component named NAME[1..instances] with its meshX and meshY), with
 * naasc's keep/bypass and connectivity, and the arch's own mapping
 * constraints (factor bounds, orders, min_parallelism), as
 * architecture_constraints; the energies per action (random_read,
 * random_fill, random_update, leak, mac_random) as an Accelergy ERT, the
 * areas as an ART.  The problem is
 * Timeloop's cnn_layer shape (with a G dimension when the layer has groups);
 * the mapping has per level a temporal directive (all dimensions, the
 * permutation innermost first), a spatial one where the level fans out (X
 * dimensions first, then `split`), and a datatype one.
 *
 * Invariants: timeloop.c reads every file written here back to the same
 * figures (tests/timeloop); what Timeloop cannot express is refused (a third
 * array axis, one dimension unrolled on both axes of a level), and naasc
 * terms Timeloop lacks but that change no count (network energy per hop,
 * per-tensor capacities) go into naasc_* attributes, which Timeloop ignores,
 * with a warning that Timeloop's own figures will not include them.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/backend.h"

/* The shortest decimal that reads back as x. */
static void put_num(FILE *f, double x) {
  char buf[64];
  for (int prec = 6; prec <= 17; prec++) {
    snprintf(buf, sizeof buf, "%.*g", prec, x);
    if (strtod(buf, NULL) == x) break;
  }
  fputs(buf, f);
}

/* Timeloop's name of dim d (K is M). */
static char dim_char(int d) { return "GNMCPQRS"[d & 7]; }

static const char *const tensor_names[NTENSORS] = {"Weights", "Inputs", "Outputs"};

/* Dimensions of the written shape, in Timeloop's usual order (C M R S N P Q),
 * G first when the layer has groups. */
static int shape_dims(const Problem *p, int out[NDIMS]) {
  static const int order[] = {DIM_C, DIM_K, DIM_R, DIM_S, DIM_N, DIM_P, DIM_Q};
  int n = 0;
  if (p && p->dim[DIM_G] > 1) out[n++] = DIM_G;
  for (int i = 0; i < 7; i++) out[n++] = order[i];
  return n;
}

static void put_tensors(FILE *f, unsigned mask) {
  fputc('[', f);
  bool first = true;
  for (int t = 0; t < NTENSORS; t++)
    if (mask >> t & 1) {
      fprintf(f, "%s%s", first ? "" : ", ", tensor_names[t]);
      first = false;
    }
  fputc(']', f);
}

static const char *mac_name(const Arch *a) {
  for (int l = 0; l < a->nlevels; l++)
    if (strcmp(a->level[l].name, "mac") == 0) return "mac_units";
  return "mac";
}

/* Timeloop's view of arch a for mapping m (m may be NULL), in v and vm.  A
 * Timeloop spatial directive puts each dimension on one axis, so a level
 * where m unrolls dimensions on both axes (the set D) gets a level of its
 * own below it, NAME_x, that keeps nothing (as timeloopfe adds for a fanning
 * container) and takes over part of the fan-out:
 *   mode 'x': D's X unrolling (the level keeps the rest: sliding windows
 *             stay whole), when D's X factors divide the X fan-out;
 *   mode 'y': likewise D's Y unrolling;
 *   mode 'a': all of the X unrolling.
 * The network energy moves to NAME_x, where naasc charges the last hop.
 * pos[l] is level l's index in v; *split tells whether a level was split.
 * A level that keeps nothing is written as timeloopfe's dummy_storage (one
 * 1-bit word), an area as one number per instance.  false (reported) if the
 * view does not exist; same_figures then checks it counts as naasc does. */
static bool view(const Arch *a, const Mapping *m, char mode, Arch *v, Mapping *vm,
                 int pos[ACCEL_MAX_LEVELS], bool *split_any, Diag *d) {
  *v = *a;
  v->nlevels = 0;
  memset(&v->cons.level, 0, sizeof v->cons.level); /* re-indexed below with the levels */
  if (m) vm->nlevels = 0;
  *split_any = false;
  for (int l = 0; l < a->nlevels; l++) {
    const Level *L = &a->level[l];
    const LevelMapping *lm = m ? &m->level[l] : NULL;
    uint8_t dup = 0;
    for (int dd = 0; lm && dd < NDIMS; dd++)
      if (lm->spatial[AXIS_X][dd] > 1 && lm->spatial[AXIS_Y][dd] > 1) dup |= (uint8_t)(1u << dd);
    /* the axis handed to the new level, and which of its dims */
    int ax = mode == 'y' ? AXIS_Y : AXIS_X;
    uint8_t moved = mode == 'a' ? ACCEL_ALL_DIMS : dup;
    int64_t q = 1, rest = 1;
    for (int dd = 0; dup && dd < NDIMS; dd++) {
      if (moved >> dd & 1)
        q *= lm->spatial[ax][dd];
      else
        rest *= lm->spatial[ax][dd];
    }
    if (dup && mode == 'a') q = L->fanout[AXIS_X];
    if (dup && (L->fanout[ax] % q || rest > L->fanout[ax] / q)) {
      diag_error(d, NULL, "level '%s': the unrolling on both axes does not divide the fan-out",
                 L->name);
      return false;
    }
    if (v->nlevels + 1 + (dup != 0) > ACCEL_MAX_LEVELS) {
      diag_error(d, NULL,
                 "level '%s' unrolls a dimension on both axes, which needs a level of its own in "
                 "Timeloop: more than %d levels",
                 L->name, ACCEL_MAX_LEVELS);
      return false;
    }
    pos[l] = v->nlevels;
    Level *V = &v->level[v->nlevels];
    *V = *L;
    LevelConstraints *VC = &v->cons.level[v->nlevels];
    *VC = a->cons.level[l];
    if (dup) { /* the fan-out is shared with NAME_x: its spatial constraints do not carry over */
      bool had = false;
      for (int dd = 0; dd < NDIMS; dd++)
        had |= VC->lo[MAPCONS_SPATIAL][dd] || VC->hi[MAPCONS_SPATIAL][dd];
      had |= VC->ninner[MAPCONS_SPATIAL] || VC->nouter[MAPCONS_SPATIAL];
      if (had)
        diag_warn(d, NULL,
                  "level '%s': its spatial constraints are not written for a layer whose "
                  "mapping splits it for Timeloop (NAME_x below it)",
                  L->name);
      memset(VC->lo[MAPCONS_SPATIAL], 0, sizeof VC->lo[MAPCONS_SPATIAL]);
      memset(VC->hi[MAPCONS_SPATIAL], 0, sizeof VC->hi[MAPCONS_SPATIAL]);
      VC->ninner[MAPCONS_SPATIAL] = VC->nouter[MAPCONS_SPATIAL] = 0;
    }
    if (!L->is_dram) V->area_um2_fixed += (double)L->capacity_words * L->area_um2_per_word;
    V->area_um2_per_word = 0;
    if (!V->keeps_allowed) {
      V->capacity_words = 1, V->word_bits = 1, V->block_words = 1;
      V->e_read_pj = V->e_fill_pj = V->e_update_pj = V->leak_pj_per_cycle = 0;
    }
    if (m) vm->level[v->nlevels] = *lm;
    v->nlevels++;
    if (!dup) continue;
    *split_any = true;
    Level *X = &v->level[v->nlevels];
    memset(X, 0, sizeof *X);
    if (strlen(L->name) + 3 > sizeof X->name) {
      diag_error(d, NULL, "level name '%s' too long", L->name);
      return false;
    }
    snprintf(X->name, sizeof X->name, "%.*s_x", (int)sizeof X->name - 3, L->name);
    for (int k = 0; k < a->nlevels; k++)
      if (strcmp(a->level[k].name, X->name) == 0) {
        diag_error(d, NULL, "level '%s' must be split for Timeloop, and '%s' is taken", L->name,
                   X->name);
        return false;
      }
    V->fanout[ax] = L->fanout[ax] / q;
    X->fanout[AXIS_X] = X->fanout[AXIS_Y] = X->fanout[AXIS_Z] = 1;
    X->fanout[ax] = q;
    X->instances = L->instances * V->fanout[AXIS_X] * V->fanout[AXIS_Y];
    X->mesh_x = L->mesh_x * V->fanout[AXIS_X], X->mesh_y = L->mesh_y * V->fanout[AXIS_Y];
    for (int x = 0; x < ACCEL_MAX_AXES; x++) X->connectivity[x] = ACCEL_ALL_DIMS;
    X->connectivity[ax] = L->connectivity[ax];
    if (V->fanout[ax] == 1) V->connectivity[ax] = ACCEL_ALL_DIMS;
    X->word_bits = 1, X->block_words = 1, X->capacity_words = 1, X->multiple_buffering = 1;
    X->noc_pj_per_hop = L->noc_pj_per_hop;
    X->no_multicast = L->no_multicast, X->no_reduction = L->no_reduction;
    V->noc_pj_per_hop = 0;
    LevelMapping *XM = &vm->level[v->nlevels], *VM = &vm->level[v->nlevels - 1];
    level_mapping_init(XM, 0);
    for (int dd = 0; dd < NDIMS; dd++)
      if (moved >> dd & 1) XM->spatial[ax][dd] = VM->spatial[ax][dd], VM->spatial[ax][dd] = 1;
    memcpy(XM->spatial_order[ax], VM->spatial_order[ax], NDIMS);
    v->nlevels++;
  }
  if (m) vm->nlevels = v->nlevels;
  return true;
}

/* Whether the view gives naasc's figures (every count, cycles, energy). */
static bool same_figures(const Problem *p, const Arch *a, const Mapping *m, const Arch *v,
                         const Mapping *vm, const int *pos, bool report, Diag *d) {
  CostResult r, q;
  int e = cost_eval(p, a, m, &r);
  if (e != COST_OK) {
    diag_error(d, NULL, "the mapping of '%s' does not evaluate on '%s' (%s)", p->name, a->name,
               cost_error_name(e));
    return false;
  }
  bool ok = cost_eval(p, v, vm, &q) == COST_OK && r.cycles == q.cycles &&
            fabs(r.energy_pj - q.energy_pj) <= 1e-9 * fabs(r.energy_pj);
  for (int l = 0; ok && l < a->nlevels; l++)
    for (int t = 0; t < NTENSORS; t++) {
      const AccessCounts *x = &r.level[l].total[t], *y = &q.level[pos[l]].total[t];
      ok &= x->reads == y->reads && x->fills == y->fills && x->updates == y->updates;
    }
  if (!ok && report)
    diag_error(
        d, NULL,
        "the mapping of '%s' unrolls a dimension on both axes of a level, which Timeloop expresses "
        "only as two levels, and there the figures differ (inputs shared diagonally across the "
        "axes are counted once per axis): not written",
        p->name);
  return ok;
}

/* Timeloop's mesh of every level from the fan-outs; false (reported) when
 * the arch does not fit Timeloop's two-axis meshes. */
static bool meshes(const Arch *a, int64_t mx[ACCEL_MAX_LEVELS + 1],
                   int64_t my[ACCEL_MAX_LEVELS + 1], Diag *d) {
  mx[0] = my[0] = 1;
  for (int l = 0; l < a->nlevels; l++) {
    const Level *L = &a->level[l];
    if (L->fanout[AXIS_Z] > 1) {
      diag_error(d, NULL,
                 "level '%s' fans out on a third axis (z: %lld): Timeloop's meshes have two",
                 L->name, (long long)L->fanout[AXIS_Z]);
      return false;
    }
    if (L->instances != mx[l] * my[l]) {
      diag_error(d, NULL,
                 "level '%s' has %lld instances, not the %lld its parents' fan-outs give: Timeloop "
                 "cannot express it",
                 L->name, (long long)L->instances, (long long)(mx[l] * my[l]));
      return false;
    }
    mx[l + 1] = mx[l] * L->fanout[AXIS_X];
    my[l + 1] = my[l] * L->fanout[AXIS_Y];
  }
  if (a->mac_instances != mx[a->nlevels] * my[a->nlevels]) {
    diag_error(d, NULL,
               "the arch has %lld MACs, not the %lld the fan-outs give: Timeloop cannot express it",
               (long long)a->mac_instances, (long long)(mx[a->nlevels] * my[a->nlevels]));
    return false;
  }
  return true;
}

/* The factor bounds of one kind of c as Timeloop's constraint factors
 * (" K=4 C<=2 P>=2", D=0 the whole dim), dims in skip left out, and G left
 * out (the problem written for Timeloop has G only for grouped layers). */
static void put_cons_factors(FILE *f, const LevelConstraints *c, int kind, uint8_t skip) {
  for (int dd = 0; dd < NDIMS; dd++) {
    int64_t lo = c->lo[kind][dd], hi = c->hi[kind][dd];
    if ((!lo && !hi) || (skip >> dd & 1)) continue;
    if (dd == DIM_G) continue; /* warned about by write_arch */
    char ch = dim_char(dd);
    if (lo == MAPCONS_WHOLE)
      fprintf(f, " %c=0", ch);
    else if (lo && lo == hi)
      fprintf(f, " %c=%lld", ch, (long long)lo);
    else {
      if (lo > 1) fprintf(f, " %c>=%lld", ch, (long long)lo);
      if (hi > 0) fprintf(f, " %c<=%lld", ch, (long long)hi);
    }
  }
}

/* Whether c bounds a factor of this kind outside skip and G. */
static bool has_cons_factors(const LevelConstraints *c, int kind, uint8_t skip) {
  for (int dd = DIM_N; dd < NDIMS; dd++)
    if ((c->lo[kind][dd] > 1 || c->lo[kind][dd] == MAPCONS_WHOLE || c->hi[kind][dd]) &&
        !(skip >> dd & 1))
      return true;
  return false;
}

/* An order constraint as Timeloop's permutation: the inner dims innermost
 * first, '_', the outer dims innermost first (G left out: see above). */
static void put_cons_perm(FILE *f, const LevelConstraints *c, int kind) {
  fputs("    permutation: ", f);
  for (int i = c->ninner[kind] - 1; i >= 0; i--)
    if (c->inner[kind][i] != DIM_G) fputc(dim_char(c->inner[kind][i]), f);
  if (c->nouter[kind]) {
    fputc('_', f);
    for (int i = c->nouter[kind] - 1; i >= 0; i--)
      if (c->outer[kind][i] != DIM_G) fputc(dim_char(c->outer[kind][i]), f);
  }
  fputc('\n', f);
}

static void write_arch(FILE *f, const Arch *a, const int64_t *mx, const int64_t *my, Diag *d) {
  fprintf(f, "# Timeloop v0.4 architecture written by naasc (--emit=timeloop) from '%s'.\n",
          a->name);
  fprintf(f, "# Energies: arch.ERT.yaml; areas: arch.ART.yaml. Run, e.g.:\n");
  fprintf(f, "#   timeloop-model arch.yaml arch.ERT.yaml arch.ART.yaml problem.yaml map.yaml\n");
  fprintf(f, "architecture:\n  version: '0.4'\n  subtree:\n  - name: %s\n", a->name);
  if (a->clock_mhz > 0) {
    fprintf(f, "    attributes:\n      global_cycle_seconds: ");
    put_num(f, 1 / (a->clock_mhz * 1e6));
    fputc('\n', f);
  }
  fprintf(f, "    local:\n");
  for (int l = 0; l < a->nlevels; l++) {
    const Level *L = &a->level[l];
    fprintf(f, "    - name: %s[1..%lld]\n", L->name, (long long)L->instances);
    if (!L->keeps_allowed) { /* keeps nothing: timeloopfe's dummy level */
      fprintf(
          f,
          "      class: dummy_storage\n      attributes: {width: 1, depth: 1, datawidth: 1, meshX: %lld, "
          "meshY: %lld",
          (long long)mx[l], (long long)my[l]);
      if (L->noc_pj_per_hop != 0) {
        fprintf(f, ", naasc_noc_energy_pj_per_hop: "), put_num(f, L->noc_pj_per_hop);
        diag_warn(
            d, NULL,
            "level '%s': naasc's network energy (%g pJ per word and hop) has no Timeloop "
            "counterpart; it is kept as naasc_noc_energy_pj_per_hop, which Timeloop ignores, so "
            "Timeloop's energy will lack it",
            L->name, L->noc_pj_per_hop);
      }
      if (L->no_multicast) fprintf(f, ", naasc_no_multicast: true");
      if (L->no_reduction) fprintf(f, ", naasc_no_reduction: true");
      fprintf(f, "}\n");
      continue;
    }
    fprintf(f, "      class: %s\n", L->is_dram ? "DRAM" : "SRAM");
    fprintf(f, "      attributes:\n");
    fprintf(f, "        datawidth: %d\n", L->word_bits);
    fprintf(f, "        block_size: %lld\n", (long long)L->block_words);
    fprintf(f, "        width: %lld\n", (long long)L->block_words * L->word_bits);
    if (!L->is_dram && L->capacity_words > 0)
      fprintf(f, "        entries: %lld\n", (long long)L->capacity_words);
    fprintf(f, "        meshX: %lld\n        meshY: %lld\n", (long long)mx[l], (long long)my[l]);
    if (L->read_bw > 0)
      fprintf(f, "        read_bandwidth: "), put_num(f, L->read_bw), fputc('\n', f);
    if (L->write_bw > 0)
      fprintf(f, "        write_bandwidth: "), put_num(f, L->write_bw), fputc('\n', f);
    if (L->shared_bw > 0)
      fprintf(f, "        shared_bandwidth: "), put_num(f, L->shared_bw), fputc('\n', f);
    if (L->multiple_buffering != 1)
      fprintf(f, "        multiple_buffering: "), put_num(f, L->multiple_buffering), fputc('\n', f);
    if (L->noc_pj_per_hop != 0) {
      fprintf(f, "        naasc_noc_energy_pj_per_hop: "), put_num(f, L->noc_pj_per_hop),
          fputc('\n', f);
      diag_warn(
          d, NULL,
          "level '%s': naasc's network energy (%g pJ per word and hop) has no Timeloop "
          "counterpart; it is kept as naasc_noc_energy_pj_per_hop, which Timeloop ignores, so "
          "Timeloop's energy will lack it",
          L->name, L->noc_pj_per_hop);
    }
    if (L->no_multicast) fprintf(f, "        naasc_no_multicast: true\n");
    if (L->no_reduction) fprintf(f, "        naasc_no_reduction: true\n");
    if (L->tensor_capacity_words[0] || L->tensor_capacity_words[1] || L->tensor_capacity_words[2]) {
      fprintf(f, "        naasc_tensor_capacity_words: [%lld, %lld, %lld]\n",
              (long long)L->tensor_capacity_words[0], (long long)L->tensor_capacity_words[1],
              (long long)L->tensor_capacity_words[2]);
      diag_warn(d, NULL,
                "level '%s': per-tensor capacities have no Timeloop counterpart; kept as "
                "naasc_tensor_capacity_words, which Timeloop ignores (counts are unchanged)",
                L->name);
    }
  }
  fprintf(f, "    - name: %s[1..%lld]\n      class: intmac\n      attributes:\n", mac_name(a),
          (long long)a->mac_instances);
  fprintf(f, "        meshX: %lld\n        meshY: %lld\n", (long long)mx[a->nlevels],
          (long long)my[a->nlevels]);
  /* naasc's dataflow as Timeloop's constraints (for timeloop-mapper). */
  char *cbuf = NULL;
  size_t clen = 0;
  FILE *out = f;
  f = open_memstream(&cbuf, &clen);
  if (!f) f = out; /* no memory: written in place, possibly as an empty list */
  for (int l = 0; l < a->nlevels; l++) {
    const Level *L = &a->level[l];
    const LevelConstraints *lc = &a->cons.level[l];
    unsigned byp = ACCEL_ALL_TENSORS & ~L->keeps_allowed, keep = L->keeps_required;
    if (byp || keep) {
      fprintf(f, "  - target: %s\n    type: bypass\n    keep: ", L->name);
      put_tensors(f, keep);
      fprintf(f, "\n    bypass: ");
      put_tensors(f, byp);
      fputc('\n', f);
    }
    /* the arch's own mapping constraints (ir/mapcons.c): temporal here, spatial below */
    bool gcons = false;
    for (int k = 0; k < 2; k++) { /* G = 1 says nothing: without groups G is 1 */
      gcons |= (lc->lo[k][DIM_G] > 1 || lc->lo[k][DIM_G] == MAPCONS_WHOLE) || lc->hi[k][DIM_G] > 1;
      for (int i = 0; i < lc->ninner[k]; i++) gcons |= lc->inner[k][i] == DIM_G;
      for (int i = 0; i < lc->nouter[k]; i++) gcons |= lc->outer[k][i] == DIM_G;
    }
    if (gcons)
      diag_warn(d, NULL,
                "level '%s': its constraints on G are not written (the problem Timeloop reads "
                "has G only for grouped layers)",
                L->name);
    bool torder = lc->ninner[MAPCONS_TEMPORAL] || lc->nouter[MAPCONS_TEMPORAL];
    if (has_cons_factors(lc, MAPCONS_TEMPORAL, 0) || torder) {
      fprintf(f, "  - target: %s\n    type: temporal\n", L->name);
      if (has_cons_factors(lc, MAPCONS_TEMPORAL, 0)) {
        fprintf(f, "    factors:");
        put_cons_factors(f, lc, MAPCONS_TEMPORAL, 0);
        fputc('\n', f);
      }
      if (torder) put_cons_perm(f, lc, MAPCONS_TEMPORAL);
    }
    bool fx = L->fanout[AXIS_X] > 1, fy = L->fanout[AXIS_Y] > 1;
    bool sorder = lc->ninner[MAPCONS_SPATIAL] || lc->nouter[MAPCONS_SPATIAL];
    if (!fx && !fy) continue;
    uint8_t any =
        (uint8_t)((fx ? L->connectivity[AXIS_X] : 0) | (fy ? L->connectivity[AXIS_Y] : 0));
    uint8_t cx = fx ? L->connectivity[AXIS_X] : 0, cy = fy ? L->connectivity[AXIS_Y] : 0;
    bool split =
        fx && fy && cx != cy && !(cx & cy); /* disjoint sets: a permutation and split say it */
    bool held = false;
    uint8_t heldmask = 1u << DIM_G;
    for (int dd = DIM_N; dd < NDIMS; dd++)
      if (!(any >> dd & 1)) held = true, heldmask |= (uint8_t)(1u << dd);
    bool sfac = has_cons_factors(lc, MAPCONS_SPATIAL, heldmask);
    if (!held && !split && !sfac && !sorder) continue;
    fprintf(f, "  - target: %s\n    type: spatial\n", L->name);
    if (held || sfac) {
      fprintf(f, "    factors:");
      for (int dd = DIM_N; dd < NDIMS; dd++)
        if (!(any >> dd & 1)) fprintf(f, " %c=1", dim_char(dd));
      put_cons_factors(f, lc, MAPCONS_SPATIAL, heldmask);
      fputc('\n', f);
    }
    if (sorder && split)
      diag_warn(d, NULL,
                "level '%s': its spatial order constraint is not written (the permutation says "
                "which dims unroll on X: Timeloop takes one permutation per constraint)",
                L->name);
    else if (sorder)
      put_cons_perm(f, lc, MAPCONS_SPATIAL);
    if (split) {
      int nx = 0;
      fprintf(f, "    permutation: ");
      for (int dd = DIM_N; dd < NDIMS; dd++)
        if (cx >> dd & 1) fputc(dim_char(dd), f), nx++;
      for (int dd = DIM_N; dd < NDIMS; dd++)
        if (!(cx >> dd & 1)) fputc(dim_char(dd), f);
      fprintf(f, "\n    split: %d\n", nx);
    }
  }
  if (a->cons.min_parallelism > 0) {
    fprintf(f, "  - target: %s\n    type: utilization\n    min: ", a->level[a->nlevels - 1].name);
    put_num(f, a->cons.min_parallelism);
    fputc('\n', f);
  }
  if (f != out) {
    fclose(f);
    fprintf(out, "architecture_constraints:\n  targets:%s\n%s", clen ? "" : " []",
            clen ? cbuf : "");
    free(cbuf);
  }
}

static void write_tables(FILE *ert, FILE *art, const Arch *a) {
  fprintf(ert, "# Accelergy energy reference table written by naasc (--emit=timeloop) from '%s':\n",
          a->name);
  fprintf(
      ert,
      "# pJ per access of one block (Timeloop's vector access), per MAC, per instance-cycle (leak).\n");
  fprintf(ert, "ERT:\n  version: '0.4'\n  tables:\n");
  fprintf(
      art,
      "# Accelergy area reference table written by naasc (--emit=timeloop) from '%s': um^2 per instance.\n",
      a->name);
  fprintf(art, "ART:\n  version: '0.4'\n  tables:\n");
  for (int l = 0; l < a->nlevels; l++) {
    const Level *L = &a->level[l];
    fprintf(ert, "  - name: %s.%s[1..%lld]\n    actions:\n", a->name, L->name,
            (long long)L->instances);
    const char *acts[4] = {"random_read", "random_fill", "random_update", "leak"};
    double e[4] = {L->e_read_pj, L->e_fill_pj, L->e_update_pj, L->leak_pj_per_cycle};
    for (int k = 0; k < 4; k++) {
      if (k == 3 && e[k] == 0) continue;
      fprintf(ert, "    - name: %s\n      arguments: {}\n      energy: ", acts[k]);
      put_num(ert, e[k]);
      fputc('\n', ert);
    }
    fprintf(art, "  - name: %s.%s[1..%lld]\n    area: ", a->name, L->name, (long long)L->instances);
    put_num(art, L->is_dram ? 0 : L->area_um2_fixed);
    fputc('\n', art);
  }
  fprintf(
      ert,
      "  - name: %s.%s[1..%lld]\n    actions:\n    - name: mac_random\n      arguments: {}\n      energy: ",
      a->name, mac_name(a), (long long)a->mac_instances);
  put_num(ert, a->mac_energy_pj);
  fputc('\n', ert);
  fprintf(art, "  - name: %s.%s[1..%lld]\n    area: ", a->name, mac_name(a),
          (long long)a->mac_instances);
  put_num(art, a->mac_area_um2);
  fputc('\n', art);
}

static void write_problem(FILE *f, const Problem *p) {
  int dims[NDIMS], n = shape_dims(p, dims);
  bool g = p->dim[DIM_G] > 1;
  fprintf(
      f,
      "# Timeloop v0.4 problem written by naasc (--emit=timeloop): Timeloop's cnn_layer shape%s.\n",
      g ? " with a group dimension G" : "");
  fprintf(f, "problem:\n  version: '0.4'\n  shape:\n    name: %s\n    dimensions: [",
          p->name[0] ? p->name : "CNN_Layer");
  for (int i = 0; i < n; i++) fprintf(f, "%s%c", i ? ", " : "", dim_char(dims[i]));
  fprintf(f, "]\n    coefficients:\n");
  fprintf(f, "    - {name: Wstride, default: 1}\n    - {name: Hstride, default: 1}\n");
  fprintf(f, "    - {name: Wdilation, default: 1}\n    - {name: Hdilation, default: 1}\n");
  fprintf(f, "    data_spaces:\n");
  fprintf(f, "    - name: Weights\n      projection: [%s[[C]], [[M]], [[R]], [[S]]]\n",
          g ? "[[G]], " : "");
  fprintf(f,
          "    - name: Inputs\n      projection: [[[N]], %s[[C]], [[R, Wdilation], [P, Wstride]], "
          "[[S, Hdilation], [Q, Hstride]]]\n",
          g ? "[[G]], " : "");
  fprintf(
      f,
      "    - name: Outputs\n      projection: [[[N]], %s[[M]], [[Q]], [[P]]]\n      read_write: true\n",
      g ? "[[G]], " : "");
  fprintf(f, "  instance: {");
  for (int i = 0; i < n; i++)
    fprintf(f, "%c: %lld, ", dim_char(dims[i]), (long long)p->dim[dims[i]]);
  fprintf(f, "Wstride: %lld, Hstride: %lld, Wdilation: %lld, Hdilation: %lld}\n",
          (long long)p->stride[0], (long long)p->stride[1], (long long)p->dilation[0],
          (long long)p->dilation[1]);
}

/* One factor list: every shape dim, "Q=5,2" for a remainder. */
static void put_factors(FILE *f, const int *dims, int n, const int64_t *fac, const int64_t *rem) {
  fprintf(f, "  factors:");
  for (int i = 0; i < n; i++) {
    int dd = dims[i];
    fprintf(f, " %c=%lld", dim_char(dd), (long long)fac[dd]);
    if (rem && rem[dd] > 0 && rem[dd] < fac[dd]) fprintf(f, ",%lld", (long long)rem[dd]);
  }
  fputc('\n', f);
}

static bool write_mapping(FILE *f, const Arch *a, const Problem *p, const Mapping *m, Diag *d) {
  int dims[NDIMS], n = shape_dims(p, dims);
  bool in_shape[NDIMS] = {0};
  for (int i = 0; i < n; i++) in_shape[dims[i]] = true;
  if (m->nlevels != a->nlevels) {
    diag_error(d, NULL, "the mapping has %d levels, the arch %d", m->nlevels, a->nlevels);
    return false;
  }
  fprintf(f, "# Timeloop v0.4 mapping written by naasc (--emit=timeloop) for '%s' on '%s'.\n",
          p->name, a->name);
  fprintf(
      f,
      "# Permutations list the innermost loop first; in a spatial directive the first `split`\n");
  fprintf(f, "# dimensions go on the X axis.\nmapping:\n");
  for (int l = 0; l < a->nlevels; l++) {
    const LevelMapping *lm = &m->level[l];
    const Level *L = &a->level[l];
    for (int dd = 0; dd < NDIMS; dd++) {
      if (!in_shape[dd] &&
          (lm->factor[dd] != 1 || lm->spatial[AXIS_X][dd] != 1 || lm->spatial[AXIS_Y][dd] != 1)) {
        diag_error(d, NULL, "level '%s' tiles G, which this layer does not have", L->name);
        return false;
      }
      if (lm->spatial[AXIS_Z][dd] != 1) {
        diag_error(d, NULL,
                   "level '%s' unrolls %c on a third array axis: Timeloop's meshes have two",
                   L->name, accel_dim_letter(dd));
        return false;
      }
      if (lm->spatial[AXIS_X][dd] > 1 && lm->spatial[AXIS_Y][dd] > 1) {
        diag_error(d, NULL,
                   "level '%s' unrolls %c on both axes: a Timeloop spatial directive places each "
                   "dimension on one",
                   L->name, accel_dim_letter(dd));
        return false;
      }
    }
    fprintf(f, "- target: %s\n  type: temporal\n", L->name);
    put_factors(f, dims, n, lm->factor, lm->remainder);
    fprintf(f, "  permutation: ");
    for (int k = NDIMS - 1; k >= 0; k--)
      if (in_shape[lm->order[k]]) fputc(dim_char(lm->order[k]), f);
    fputc('\n', f);
    if (L->fanout[AXIS_X] * L->fanout[AXIS_Y] > 1) {
      fprintf(f, "- target: %s\n  type: spatial\n", L->name);
      int64_t fac[NDIMS];
      for (int dd = 0; dd < NDIMS; dd++)
        fac[dd] = lm->spatial[AXIS_X][dd] * lm->spatial[AXIS_Y][dd];
      put_factors(f, dims, n, fac, NULL);
      fprintf(f, "  permutation: ");
      bool put[NDIMS] = {0};
      int nx = 0;
      for (int ax = AXIS_X; ax <= AXIS_Y; ax++)
        for (int k = NDIMS - 1; k >= 0; k--) {
          int dd = lm->spatial_order[ax][k];
          if (lm->spatial[ax][dd] > 1 && !put[dd])
            fputc(dim_char(dd), f), put[dd] = true, nx += ax == AXIS_X;
        }
      for (int i = 0; i < n; i++)
        if (!put[dims[i]]) fputc(dim_char(dims[i]), f);
      fprintf(f, "\n  split: %d\n", nx);
      if (L->no_multicast || L->no_reduction) {
        fprintf(f, "  no_multicast_no_reduction: ");
        put_tensors(f, (L->no_multicast ? 3u : 0u) | (L->no_reduction ? 4u : 0u));
        fputc('\n', f);
      }
    }
    fprintf(f, "- target: %s\n  type: datatype\n  keep: ", L->name);
    put_tensors(f, lm->keep);
    fprintf(f, "\n  bypass: ");
    put_tensors(f, ACCEL_ALL_TENSORS & ~lm->keep);
    fputc('\n', f);
  }
  return true;
}

Rc timeloop_print_mapping(FILE *f, const Arch *a, const Problem *p, const Mapping *m, Diag *d) {
  return write_mapping(f, a, p, m, d) ? RC_OK : RC_BADINPUT;
}

/* A file being written: its text in memory, then dir/name atomically. */
typedef struct {
  FILE *f;
  char *buf;
  size_t len;
} Out;

static bool out_open(Out *o) {
  o->buf = NULL, o->len = 0;
  o->f = open_memstream(&o->buf, &o->len);
  return o->f != NULL;
}

static Rc out_close(Out *o, const char *dir, const char *name, bool write, Diag *d) {
  Rc rc = RC_OK;
  if (o->f) fclose(o->f);
  o->f = NULL;
  if (write) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    const char *saved = d->file;
    d->file = path;
    rc = file_write_atomic(path, o->buf, o->len, d);
    d->file = saved;
  }
  free(o->buf);
  o->buf = NULL;
  return rc;
}

/* timeloop_write with its views (large) on the heap. */
static Rc write_all(const char *dir, const char *layer, const Arch *a, const Problem *p,
                    const Mapping *m, Arch *vp, Mapping *vmp, Diag *d) {
  int pos[ACCEL_MAX_LEVELS];
  bool split = false;
  int64_t mx[ACCEL_MAX_LEVELS + 1], my[ACCEL_MAX_LEVELS + 1];
  if (m && !(a && p)) {
    diag_error(d, NULL, "internal error: a mapping is written with its arch and problem");
    return RC_INTERNAL;
  }
  if (a && !m && (!view(a, NULL, 'a', vp, NULL, pos, &split, d) || !meshes(vp, mx, my, d)))
    return RC_BADINPUT;
  if (m) { /* the first view that counts as naasc does */
    static const char modes[] = "xya";
    Diag quiet;
    diag_init(&quiet, NULL, NULL);
    bool found = false;
    for (int i = 0; !found && modes[i]; i++)
      found = view(a, m, modes[i], vp, vmp, pos, &split, &quiet) && meshes(vp, mx, my, &quiet) &&
              same_figures(p, a, m, vp, vmp, pos, false, &quiet);
    if (!found) { /* say why, with the last view tried */
      if (view(a, m, 'a', vp, vmp, pos, &split, d) && meshes(vp, mx, my, d))
        same_figures(p, a, m, vp, vmp, pos, true, d);
      return RC_BADINPUT;
    }
  }
  if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
    diag_error(d, NULL, "cannot create the folder: %s", strerror(errno));
    return RC_BADINPUT;
  }
  char name[ACCEL_NAME_MAX + 32];
  const char *pre = layer ? layer : "", *dot = layer ? "." : "";
  Out o;
  Rc rc = RC_OK;
  if (m) {
    if (!out_open(&o)) return RC_INTERNAL;
    bool ok = write_mapping(o.f, vp, p, vmp, d);
    snprintf(name, sizeof name, "%s%smap.yaml", pre, dot);
    rc = out_close(&o, dir, name, ok, d);
    if (!ok) return RC_BADINPUT;
  }
  if (rc == RC_OK && p) {
    if (!out_open(&o)) return RC_INTERNAL;
    write_problem(o.f, p);
    snprintf(name, sizeof name, "%s%sproblem.yaml", pre, dot);
    rc = out_close(&o, dir, name, true, d);
  }
  /* The arch: arch.yaml with its tables; for a layer whose mapping split a
   * level, LAYER.arch.yaml (the tables of arch.yaml serve it). */
  if (rc == RC_OK && a && (!layer || split)) {
    if (!out_open(&o)) return RC_INTERNAL;
    write_arch(o.f, vp, mx, my, d);
    snprintf(name, sizeof name, "%s%sarch.yaml", pre, dot);
    rc = out_close(&o, dir, name, true, d);
  } else if (rc == RC_OK && a && layer) {
    /* no split: a LAYER.arch.yaml from an earlier run into dir would be read
     * instead of arch.yaml (docs/timeloop.md), so it goes */
    char path[4096];
    snprintf(name, sizeof name, "%s%sarch.yaml", pre, dot);
    int n = snprintf(path, sizeof path, "%s/%s", dir, name);
    if (n > 0 && (size_t)n < sizeof path && unlink(path) != 0 && errno != ENOENT) {
      diag_error(d, path, "cannot remove the stale split architecture: %s", strerror(errno));
      rc = RC_BADINPUT;
    }
  }
  if (rc == RC_OK && a && !layer) {
    Out e, r;
    if (!out_open(&e)) return RC_INTERNAL;
    if (!out_open(&r)) return out_close(&e, dir, "", false, d), RC_INTERNAL;
    write_tables(e.f, r.f, vp);
    rc = out_close(&e, dir, "arch.ERT.yaml", true, d);
    Rc rc2 = out_close(&r, dir, "arch.ART.yaml", rc == RC_OK, d);
    rc = rc != RC_OK ? rc : rc2;
  }
  return rc;
}

Rc timeloop_write(const char *dir, const char *layer, const Arch *a, const Problem *p,
                  const Mapping *m, Diag *d) {
  Arch *vp = xmalloc(sizeof *vp);
  Mapping *vmp = xmalloc(sizeof *vmp);
  Rc rc = vp && vmp ? write_all(dir, layer, a, p, m, vp, vmp, d) : RC_INTERNAL;
  if (rc == RC_INTERNAL && !(vp && vmp)) diag_error(d, NULL, "out of memory");
  xfree(vp);
  xfree(vmp);
  return rc;
}
