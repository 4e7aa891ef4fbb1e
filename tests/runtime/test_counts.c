/*
 * test_counts.c: the runtime's access counts against the cost model's.
 *
 *   test_counts [--no-compute] [--exact] NET[,NET...] PRESET[,PRESET...]
 *
 * For every zoo network and preset named: build the network (random
 * weights), run the default pipeline with the target
 * (fold-bn,fuse-act,lower,map,verify), emit the command stream, load it,
 * run it with counting on, and compare, for every mapped layer, level and
 * tensor, the runtime's reads, fills and updates with cost_eval's
 * CostResult.level[l].total[t] for the same problem, arch and mapping.
 * Every count must be equal.  Prints per network and preset how many
 * layers matched, and every mismatch.  --no-compute runs the tile walk and
 * the counting without the kernels (the counts do not depend on values).
 * --exact counts over every iteration instead of Timeloop's evaluation
 * points: where the two differ, so does the cost model (a finding, not a
 * runtime bug; docs/runtime.md).
 *
 * The counts above come from runtime/count.c, which re-implements the cost
 * model's counting rules: equal counts show two implementations of one set
 * of rules agree.  --moved adds the independent check: the words the
 * executor itself copied into each buffer (RtLayerCounts.moved, runtime/
 * exec.c, which knows nothing of those rules), against cost_eval's fills,
 * on every level the executor held (1 to its compute level) and every
 * tensor the level keeps.  They must be equal exactly, except where they
 * differ by design and the executor may only move more:
 *   - the input of a layer whose windows overlap (a kernel wider than its
 *     stride): the executor copies every new tile whole while the model,
 *     like a line buffer, fills only the slice it lacks (derived by hand
 *     for one layer in golden/run_moved_overlap);
 *   - the output at a level below a spatial loop over a reduction dim: the
 *     executor runs the instances one after another, each adding into the
 *     parent's copy, so each must first read what the others added, while
 *     the model (the array) starts every instance's partial sum at zero and
 *     reduces them on the way up (derived by hand in
 *     golden/run_moved_spatial_reduction).
 * A transposed convolution's scattered output (indexed by a reduction dim)
 * is not compared: the cost model moves it as a convolution's.
 * --moved runs the kernels (the executor moves nothing without them).
 *
 * --fused runs the network under its best schedule for a command stream
 * (schedule_attach "best" for a stream: layer-by-layer groups and
 * depth-first groups of nests the stream runs tile by tile, what
 * naasc --schedule=best -o m.cmd executes) instead of layer by layer:
 * the counts and moved words are
 * compared with the schedule's (schedule_eval's per-nest CostResult, the
 * same rules as above), and every graph output with the layer-by-layer
 * run's, within 1e-6 x max|layer-by-layer| (the same kernels on the same
 * tiles: only where the tensors live changes).  It fails if no layer of
 * any network and preset ran resident.
 *
 * --fused-any is --fused under the best schedule of any groups (what
 * naasc --schedule=best reports; the stream may refuse some).
 *
 * --depth=POLICY (recompute, cache-h, cache-all; implies --fused) runs
 * depth-first groups instead: from the first nest on, each group the
 * longest run of at most four nests that can run depth-first in that
 * policy at some home level and that the stream can run tile by tile
 * (nest_runs_tiled: not a view, for one), over tiles of a third of its last output's
 * rows and columns (so first, middle and last tiles, halos and caches are
 * all exercised), weights from DRAM, or with --weights-home kept at home;
 * the comparisons are those of --fused.  It fails if no depth-first group
 * ran (and, with --attention, if none of them is an attention group: a
 * mac nest reading an activation as W, K^T or V, with a softmax; each
 * depth-first group is printed).  A tile smaller than its layer can
 * compute at a higher level than the layer whole, so reductions may be
 * summed in another order; --inner
 * holds every level in both runs (the kernel at the innermost tile), which
 * makes the order the same.
 * Exit 0 if all equal, 1 otherwise.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"
#include "backend/backend.h"
#include "frontend/frontend.h"
#include "passes/passes.h"
#include "runtime/runtime.h"
#include "stream/stream.h"

static bool exact_mode, moved_mode, fused_mode, weights_home, inner_mode, best_any, want_attention;
static int depth_policy = -1; /* --depth: SchedOverlap */
static long long depth_groups, attn_groups;
static long long fused_layers, fused_groups, fused_outputs;
/* --moved: (level, tensor) pairs compared, [0] exactly, [1] where the
 * executor may only move more (sliding-window inputs, outputs below a
 * spatial reduction); layers not compared (not tiled, scattered outputs);
 * words beyond the model's in class 1. */
static long long mv_cmp[2], mv_ok[2], mv_whole, mv_scatter, mv_extra, mv_model;

/* A transposed convolution's scattered output: indexed by a reduction dim.
 * The cost model sizes and moves its operands as a convolution's (the
 * loader warns when the runtime's slots need more), so its movement is not
 * the model's: such layers are counted apart. */
static bool scattered_output(const Nest *n) {
  for (int a = 0; a < n->nacc; a++) {
    if (n->acc[a].kind != ACC_UPDATE) continue;
    for (int q = 0; q < n->acc[a].rank; q++)
      for (int k = 0; k < n->ndims; k++)
        if (n->dims[k].reduce && n->acc[a].idx[q].coef[k]) return true;
  }
  return false;
}

/* A spatial loop over a reduction dim (C, R, S) above level l: the
 * instances of l add into one output, each in its own buffer. */
static bool spatial_reduction_above(const Mapping *m, int l) {
  static const int red[3] = {DIM_C, DIM_R, DIM_S};
  for (int j = 0; j < l; j++)
    for (int ax = 0; ax < ACCEL_MAX_AXES; ax++)
      for (int k = 0; k < 3; k++)
        if (m->level[j].spatial[ax][red[k]] > 1) return true;
  return false;
}

/* Whether consecutive windows of the input overlap along H or W: a kernel
 * wider than one tap whose span exceeds the stride. */
static bool overlaps(const Problem *p) {
  for (int x = 0; x < 2; x++) {
    int64_t k = p->dim[x ? DIM_S : DIM_R];
    if (k > 1 && p->stride[x] < (k - 1) * p->dilation[x] + 1) return true;
  }
  return false;
}

/* --depth: a schedule of depth-first groups in the policy, set into the
 * program's module (see the file comment). */
static Rc depth_schedule(Program *prog, Diag *d) {
  SchedModel *sm = NULL;
  Schedule *s = xcalloc(1, sizeof *s);
  Rc rc = s ? sched_model_create(prog->mod, prog->arch, &sm, d) : RC_INTERNAL;
  Diag quiet;
  diag_init(&quiet, NULL, NULL);
  uint32_t n = prog->mod->nnests;
  uint8_t homes = rc == RC_OK ? sched_model_homes(sm) : 0;
  for (uint32_t a = 0; rc == RC_OK && a < n && s->ngroups < SCHED_MAX_GROUPS;) {
    uint32_t best = a;
    SchedGroup bg;
    memset(&bg, 0, sizeof bg);
    for (uint32_t b = a + 1; b < n && b <= a + 3; b++) {
      int64_t rows, cols;
      if (!sched_nest_tileable(sm, b, &rows, &cols)) continue;
      bool runs = true; /* the groups the stream can run (cmd_emit refuses others) */
      for (uint32_t k = a; k <= b && runs; k++)
        runs = nest_runs_tiled(prog->mod, &prog->mod->nests[k]);
      if (!runs) break;
      for (int h = 1; h < ACCEL_MAX_LEVELS; h++) {
        if (!(homes >> h & 1)) continue;
        SchedGroup g = {a,
                        b,
                        SCHED_DEPTH,
                        (uint8_t)depth_policy,
                        (uint8_t)h,
                        weights_home,
                        {(rows + 2) / 3, (cols + 2) / 3}};
        if (sched_group_check(sm, &g, "depth", &quiet) == RC_OK) {
          best = b, bg = g;
          break;
        }
      }
    }
    if (best > a) {
      s->group[s->ngroups++] = bg;
      a = best + 1;
    } else {
      a++;
    }
  }
  if (rc == RC_OK) rc = sched_attach(sm, s, prog->mod, d);
  sched_model_destroy(sm);
  xfree(s);
  return rc;
}

static int run_one(const char *net, const char *preset, bool compute, int *layers, int *equal) {
  Diag d;
  diag_init(&d, stderr, net);
  static Arch arch;
  if (arch_preset_load(preset, &arch, &d) != RC_OK) return 1;
  Model *m = NULL;
  if (zoo_build(net, true, 1, &m, &d) != RC_OK) return 1;
  PassRegistry *reg = pass_registry_create();
  Pipeline pl;
  if (!reg || pipeline_parse(reg, PIPELINE_O2_MAP, &pl, &d) != RC_OK) return 1;
  PMOptions pmo;
  pm_options_default(&pmo);
  Program prog = {.graph = m, .arch = &arch, .keep_weights = true, .jobs = 2};
  Rc rc = pm_run(&pl, &prog, &pmo, &d);
  uint8_t *bytes = NULL;
  size_t len = 0;
  CmdStats st;
  /* --fused: the layer-by-layer stream first (the reference outputs), then
   * the schedule's groups and the expected counts under it. */
  RtProgram *ref = NULL;
  CostResult *want = NULL;
  if (rc == RC_OK && fused_mode) {
    rc = cmd_emit(prog.mod, prog.weights, &arch, &bytes, &len, &st, &d);
    if (rc == RC_OK) rc = rt_load(bytes, len, &arch, &ref, &d);
    xfree(bytes);
    bytes = NULL;
    if (rc == RC_OK)
      rc = depth_policy >= 0 ? depth_schedule(&prog, &d)
                             : schedule_attach(&prog, "best", !best_any, &d);
    SchedModel *sm = NULL;
    Schedule *s = xcalloc(1, sizeof *s);
    want = xcalloc(prog.mod->nnests + 1, sizeof *want);
    SchedTotals tot;
    if (rc == RC_OK) rc = s && want ? sched_model_create(prog.mod, &arch, &sm, &d) : RC_INTERNAL;
    if (rc == RC_OK) rc = sched_of_module(sm, prog.mod, s, &d);
    if (rc == RC_OK) rc = schedule_eval(sm, s, want, &tot, &d);
    if (rc == RC_OK) fused_groups += s->ngroups;
    for (uint32_t k = 0; rc == RC_OK && k < s->ngroups; k++) {
      const SchedGroup *g = &s->group[k];
      if (g->mode != SCHED_DEPTH) continue;
      depth_groups++;
      /* An attention group: a mac nest reading an activation as W (K^T,
       * V) and a softmax, run tile by tile over the query rows. */
      bool wact = false, smax = false;
      for (uint32_t j = g->first; j <= g->last; j++) {
        const Nest *n = &prog.mod->nests[j];
        const Access *w = n->kind == NK_MAC ? nest_access(n, ROLE_W) : NULL;
        wact |= w && prog.mod->tensors[w->tensor].role != TR_WEIGHT;
        smax |= n->vop == VOP_SOFTMAX;
      }
      attn_groups += wact && smax;
      printf("  %s/%s depth-first group '%s'..'%s' tile %lldx%lld%s\n", net, preset,
             prog.mod->nests[g->first].name, prog.mod->nests[g->last].name, (long long)g->tile[0],
             (long long)g->tile[1], wact && smax ? " (attention)" : "");
    }
    sched_model_destroy(sm);
    xfree(s);
  }
  if (rc == RC_OK) rc = cmd_emit(prog.mod, prog.weights, &arch, &bytes, &len, &st, &d);
  RtProgram *rp = NULL;
  if (rc == RC_OK) rc = rt_load(bytes, len, &arch, &rp, &d);
  xfree(bytes);
  /* Inputs: a fixed ramp (the counts do not depend on values); integer
   * inputs (token ids, positions) count 0..16. */
  for (int i = 1; rc == RC_OK && i <= rt_ntensors(rp); i++) {
    const RtTensor *t = rt_tensor(rp, i);
    if (t->role != TR_INPUT) continue;
    void *x = xmalloc(sizeof(int64_t) * (size_t)t->numel);
    for (int64_t k = 0; x && k < t->numel; k++) {
      if (t->dtype == DT_I64)
        ((int64_t *)x)[k] = k % 17;
      else if (t->dtype == DT_I32)
        ((int32_t *)x)[k] = (int32_t)(k % 17);
      else
        ((float *)x)[k] = (float)(k % 17) / 17.0f;
    }
    rc = x ? rt_set_input(rp, t->name, t->dtype, t->rank, t->dims, x, &d) : RC_INTERNAL;
    if (rc == RC_OK && ref) rc = rt_set_input(ref, t->name, t->dtype, t->rank, t->dims, x, &d);
    xfree(x);
  }
  RuntimeOptions opt;
  rt_options_default(&opt);
  opt.count = true;
  opt.skip_compute = !compute;
  opt.count_exact = exact_mode;
  opt.inner = inner_mode;
  if (rc == RC_OK) rc = rt_run(rp, &opt, &d);
  if (rc == RC_OK && ref) rc = rt_run(ref, &opt, &d);
  int bad = rc != RC_OK;
  /* --fused: every graph output as the layer-by-layer run's. */
  for (int i = 1; rc == RC_OK && ref && compute && i <= rt_ntensors(rp); i++) {
    const RtTensor *a = rt_tensor(rp, i), *b = rt_tensor(ref, i);
    if (a->role != TR_OUTPUT || a->dtype != DT_F32) continue;
    double most = 0, diff = 0;
    for (int64_t k = 0; k < b->numel; k++) {
      double u = ((const float *)a->data)[k], v = ((const float *)b->data)[k];
      if (fabs(v) > most) most = fabs(v);
      if (fabs(u - v) > diff || u != u) diff = u != u ? INFINITY : fabs(u - v);
    }
    fused_outputs++;
    if (!(diff <= 1e-6 * most)) {
      bad = 1;
      printf("  %s/%s output '%s': fused run differs from layer by layer by %g (max |ref| %g)\n",
             net, preset, a->name, diff, most);
    }
  }
  int nl = 0, ne = 0;
  for (int i = 0; rc == RC_OK && i < rt_nlayers(rp); i++) {
    const Nest *n = &prog.mod->nests[i];
    const RtLayerCounts *c = rt_layer_counts(rp, i);
    if (n->kind != NK_MAC || !n->map) continue;
    nl++;
    Problem p;
    CostResult cr;
    if (want && nest_problem(n, &p) && c->counted) {
      cr = want[i]; /* the schedule's counts for this nest */
      fused_layers += module_group_of(prog.mod, (uint32_t)i) != NULL;
    } else if (!nest_problem(n, &p) || cost_eval(&p, &arch, &n->map->m, &cr) != COST_OK ||
               !c->counted) {
      printf("  %s/%s layer '%s': not evaluated\n", net, preset, n->name);
      bad = 1;
      continue;
    }
    bool same = c->macs == cr.macs;
    for (int l = 0; l < arch.nlevels; l++)
      for (int t = 0; t < NTENSORS; t++) {
        const AccessCounts *g = &c->total[l][t], *w = &cr.level[l].total[t];
        if (g->reads == w->reads && g->fills == w->fills && g->updates == w->updates) continue;
        same = false;
        printf(
            "  %s/%s layer '%s' level %s %c: runtime r/f/u %lld/%lld/%lld, cost model %lld/%lld/%lld\n",
            net, preset, n->name, arch.level[l].name, accel_tensor_letter(t), (long long)g->reads,
            (long long)g->fills, (long long)g->updates, (long long)w->reads, (long long)w->fills,
            (long long)w->updates);
      }
    if (c->macs != cr.macs)
      printf("  %s/%s layer '%s': %lld MACs run, %lld in the problem\n", net, preset, n->name,
             (long long)c->macs, (long long)cr.macs);
    if (moved_mode) {
      /* The executor's own moved words against the model's fills, on every
       * level it held (1 .. its compute level) and every tensor that level
       * keeps (a tensor the level bypasses may get a staging box there,
       * which no level keeps and the model does not count). */
      bool ov = overlaps(&p), scatter = scattered_output(n);
      if (c->held < 1) {
        printf("  %s/%s layer '%s': not tiled (a whole-tensor MatMul): no moved words\n", net,
               preset, n->name);
        mv_whole++;
      } else if (scatter) {
        printf(
            "  %s/%s layer '%s': a transposed convolution's scattered output, which the cost model moves "
            "as a convolution's: not compared\n",
            net, preset, n->name);
        mv_scatter++;
      }
      for (int l = 1; l <= c->held && !scatter; l++)
        for (int t = 0; t < NTENSORS; t++) {
          if (!(n->map->m.level[l].keep >> t & 1)) continue;
          long long mv = c->moved[l][t], f = cr.level[l].total[t].fills;
          bool slide =
              (ov && t == TENSOR_I) || (t == TENSOR_O && spatial_reduction_above(&n->map->m, l));
          mv_cmp[slide]++;
          if (slide ? mv >= f : mv == f) {
            mv_ok[slide]++;
            if (slide) mv_extra += mv - f, mv_model += f;
            continue;
          }
          bad = 1;
          printf(
              "  %s/%s layer '%s' (R%lld S%lld stride %lld,%lld) level %s %c: executor moved %lld, model fills %lld%s\n",
              net, preset, n->name, (long long)p.dim[DIM_R], (long long)p.dim[DIM_S],
              (long long)p.stride[0], (long long)p.stride[1], arch.level[l].name,
              accel_tensor_letter(t), mv, f,
              slide ? " (the executor may only move more here)" : "");
        }
    }
    ne += same;
    if (!same) bad = 1;
  }
  printf(
      "%-12s %-11s %4d/%-4d mac layers with equal counts (stream %zu bytes: commands %zu, weights %zu; %u kernels)\n",
      net, preset, ne, nl, st.bytes, st.cmd_bytes, st.weight_bytes, st.kernels);
  *layers += nl, *equal += ne;
  rt_destroy(rp);
  rt_destroy(ref);
  xfree(want);
  program_free(&prog);
  pipeline_free(&pl);
  pass_registry_destroy(reg);
  return bad;
}

int main(int argc, char **argv) {
  bool compute = true;
  int a = 1;
  for (; a < argc && argv[a][0] == '-'; a++) {
    if (!strcmp(argv[a], "--no-compute"))
      compute = false;
    else if (!strcmp(argv[a], "--exact"))
      exact_mode = true;
    else if (!strcmp(argv[a], "--moved"))
      moved_mode = true;
    else if (!strcmp(argv[a], "--fused"))
      fused_mode = true;
    else if (!strcmp(argv[a], "--fused-any"))
      fused_mode = best_any = true;
    else if (!strcmp(argv[a], "--inner"))
      inner_mode = true;
    else if (!strcmp(argv[a], "--weights-home"))
      weights_home = true;
    else if (!strcmp(argv[a], "--attention"))
      want_attention = true;
    else if (!strncmp(argv[a], "--depth=", 8)) {
      fused_mode = true;
      for (int k = 0; k < 3; k++)
        if (!strcmp(argv[a] + 8, nest_overlap_names[k])) depth_policy = k;
      if (depth_policy < 0) break;
    } else
      break;
  }
  if (argc - a != 2) {
    fprintf(stderr,
            "usage: test_counts [--no-compute] [--exact] [--moved] [--fused] "
            "[--depth=recompute|cache-h|cache-all [--weights-home] [--attention]] NET[,NET...] "
            "PRESET[,PRESET...]\n");
    return 2;
  }
  if (moved_mode) compute = true; /* the executor moves nothing without its tiles */
  int bad = 0, layers = 0, equal = 0;
  char *nets = strdup(argv[a]), *presets = argv[a + 1];
  for (char *s1, *net = strtok_r(nets, ",", &s1); net; net = strtok_r(NULL, ",", &s1)) {
    char *pc = strdup(presets);
    for (char *s2, *pr = strtok_r(pc, ",", &s2); pr; pr = strtok_r(NULL, ",", &s2))
      bad |= run_one(net, pr, compute, &layers, &equal);
    free(pc);
  }
  free(nets);
  printf("%d/%d mac layers: runtime counts equal to the cost model's\n", equal, layers);
  if (moved_mode)
    printf(
        "executor moved words against the model's fills: %lld/%lld (level, tensor) pairs equal; "
        "%lld/%lld at or above the model where the executor may move more (sliding-window inputs, outputs "
        "below a spatial reduction: %lld words beyond the model's %lld); not compared: %lld layers not "
        "tiled, %lld transposed convolutions\n",
        mv_ok[0], mv_cmp[0], mv_ok[1], mv_cmp[1], mv_extra, mv_model, mv_whole, mv_scatter);
  if (fused_mode) {
    printf(
        "fused: %lld groups (%lld depth-first), %lld mac layers in them; %lld graph outputs equal "
        "to the layer-by-layer run's\n",
        fused_groups, depth_groups, fused_layers, fused_outputs);
    if (want_attention)
      printf("attention: %lld depth-first groups hold a mac nest reading an activation as W "
             "and a softmax\n",
             attn_groups);
    if (!fused_layers || (depth_policy >= 0 && !depth_groups) || (want_attention && !attn_groups))
      bad = 1;
  }
  return bad || layers == 0;
}
