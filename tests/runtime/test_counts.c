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
 * Exit 0 if all equal, 1 otherwise.
 */
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"
#include "backend/backend.h"
#include "frontend/frontend.h"
#include "passes/passes.h"
#include "runtime/runtime.h"
#include "stream/stream.h"

static bool exact_mode;

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
  if (rc == RC_OK) rc = cmd_emit(prog.mod, prog.weights, &arch, &bytes, &len, &st, &d);
  RtProgram *rp = NULL;
  if (rc == RC_OK) rc = rt_load(bytes, len, &arch, &rp, &d);
  xfree(bytes);
  /* Inputs: a fixed ramp (the counts do not depend on values). */
  for (int i = 1; rc == RC_OK && i <= rt_ntensors(rp); i++) {
    const RtTensor *t = rt_tensor(rp, i);
    if (t->role != TR_INPUT) continue;
    float *x = xmalloc(sizeof(float) * (size_t)t->numel);
    for (int64_t k = 0; x && k < t->numel; k++) x[k] = (float)(k % 17) / 17.0f;
    rc = x ? rt_set_input(rp, t->name, t->dtype, t->rank, t->dims, x, &d) : RC_INTERNAL;
    xfree(x);
  }
  RuntimeOptions opt;
  rt_options_default(&opt);
  opt.count = true;
  opt.skip_compute = !compute;
  opt.count_exact = exact_mode;
  if (rc == RC_OK) rc = rt_run(rp, &opt, &d);
  int bad = rc != RC_OK;
  int nl = 0, ne = 0;
  for (int i = 0; rc == RC_OK && i < rt_nlayers(rp); i++) {
    const Nest *n = &prog.mod->nests[i];
    const RtLayerCounts *c = rt_layer_counts(rp, i);
    if (n->kind != NK_MAC || !n->map) continue;
    nl++;
    Problem p;
    CostResult cr;
    if (!nest_problem(n, &p) || cost_eval(&p, &arch, &n->map->m, &cr) != COST_OK || !c->counted) {
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
    ne += same;
    if (!same) bad = 1;
  }
  printf(
      "%-12s %-11s %4d/%-4d mac layers with equal counts (stream %zu bytes: commands %zu, weights %zu; %u kernels)\n",
      net, preset, ne, nl, st.bytes, st.cmd_bytes, st.weight_bytes, st.kernels);
  *layers += nl, *equal += ne;
  rt_destroy(rp);
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
    else
      break;
  }
  if (argc - a != 2) {
    fprintf(stderr,
            "usage: test_counts [--no-compute] [--exact] NET[,NET...] PRESET[,PRESET...]\n");
    return 2;
  }
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
  return bad || layers == 0;
}
