/*
 * builtin.c: the built-in passes and their registration.
 *
 *   fold-bn    graph  fold BatchNormalization into the conv before it
 *   fuse-act   graph  keep activations with their producing layer
 *   prune      graph  drop nodes nothing reads
 *   lower      graph->nest  one loop nest per layer
 *   verify     nest   run the verifier (also after every pass with --verify-each)
 */
#include "passes/internal.h"

#include <string.h>

#include "backend/backend.h"

static int live_nodes(const Model *m, Op op) {
  int n = 0;
  for (uint32_t i = 1; i < m->nnodes; i++)
    n += !m->nodes[i].dead && (op == OP_NONE || m->nodes[i].op == op);
  return n;
}

static Rc run_fold_bn(Program *p, const PassArgs *a, PassCtx *c, Diag *d) {
  (void)a;
  int before = live_nodes(p->graph, OP_BATCHNORM);
  Rc rc = graph_fold_bn(p->graph, d);
  int folded = before - live_nodes(p->graph, OP_BATCHNORM);
  pass_stat(c, "bn-folded", folded);
  pass_stat(c, "bn-kept", before - folded);
  pass_debug(c, "fold-bn", "folded %d of %d BatchNormalization nodes", folded, before);
  return rc;
}

static Rc run_fuse_act(Program *p, const PassArgs *a, PassCtx *c, Diag *d) {
  (void)a;
  int before = live_nodes(p->graph, OP_NONE), adds = live_nodes(p->graph, OP_ADD);
  Rc rc = graph_fuse_act(p->graph, d);
  int biases = adds - live_nodes(p->graph, OP_ADD);
  if (biases) pass_stat(c, "biases-folded", biases); /* only models with MatMul biases */
  pass_stat(c, "activations-fused", before - live_nodes(p->graph, OP_NONE) - biases);
  return rc;
}

static Rc run_prune(Program *p, const PassArgs *a, PassCtx *c, Diag *d) {
  (void)a;
  (void)d;
  int before = live_nodes(p->graph, OP_NONE);
  graph_prune(p->graph);
  pass_stat(c, "nodes-removed", before - live_nodes(p->graph, OP_NONE));
  return RC_OK;
}

static Rc run_lower(Program *p, const PassArgs *a, PassCtx *c, Diag *d) {
  (void)a;
  Module *mod = NULL;
  Rc rc = lower_model(p->graph, &mod, d);
  if (rc != RC_OK) return rc;
  int mac = 0;
  for (uint32_t i = 0; i < mod->nnests; i++) {
    mac += mod->nests[i].kind == NK_MAC;
    pass_debug(c, "lower", "nest '%s': %d dims, %d accesses", mod->nests[i].name,
               mod->nests[i].ndims, mod->nests[i].nacc);
  }
  pass_stat(c, "nests", mod->nnests);
  pass_stat(c, "mac-nests", mac);
  pass_stat(c, "tensors", mod->ntensors - 1);
  if (p->keep_weights) { /* the command stream needs the weight values */
    model_destroy(p->weights);
    p->weights = p->graph;
  } else {
    model_destroy(p->graph);
  }
  p->graph = NULL;
  p->mod = mod;
  return RC_OK;
}

/* The IR invariants, and every mapping and fused group against the target
 * when there is one. */
static Rc run_verify(Program *p, const PassArgs *a, PassCtx *c, Diag *d) {
  (void)a;
  Rc rc = module_verify(p->mod, d);
  int mapped = 0;
  for (uint32_t i = 0; i < p->mod->nnests && rc == RC_OK; i++) {
    const Nest *n = &p->mod->nests[i];
    Problem pr;
    if (!n->map || !nest_problem(n, &pr)) continue;
    mapped++;
    if (!p->arch) continue;
    if (strcmp(n->map->target, p->arch->name) != 0) {
      diag_error(d, arena_printf(&p->mod->arena, "nest '%s'", n->name),
                 "map-target: mapped for '%s', the target is '%s'", n->map->target, p->arch->name);
      rc = RC_BADINPUT;
      break;
    }
    Diag sub = *d;
    if (cost_check_mapping(&pr, p->arch, &n->map->m, &sub) != RC_OK) {
      d->nerrors = sub.nerrors;
      diag_note(d, arena_printf(&p->mod->arena, "nest '%s'", n->name),
                "its mapping breaks the rules above");
      rc = RC_BADINPUT;
    }
  }
  /* Fused groups against the target: home level, residency and fit. */
  if (rc == RC_OK && p->arch && p->mod->ngroups) {
    SchedModel *sm = NULL;
    Schedule *s = xcalloc(1, sizeof *s);
    rc = s ? sched_model_create(p->mod, p->arch, &sm, d) : RC_INTERNAL;
    if (rc == RC_OK) rc = sched_of_module(sm, p->mod, s, d);
    sched_model_destroy(sm);
    xfree(s);
  }
  pass_stat(c, "nests-verified", p->mod->nnests);
  pass_stat(c, "mappings-checked", p->arch ? mapped : 0);
  return rc;
}

void builtin_passes_register(PassRegistry *r) {
  static const PassInfo passes[] = {
      {"fold-bn", "fold BatchNormalization into the preceding conv", PASS_GRAPH, NULL, run_fold_bn},
      {"fuse-act", "keep MatMul bias adds and activations with their producing layer", PASS_GRAPH,
       NULL, run_fuse_act},
      {"prune", "drop nodes nothing reads", PASS_GRAPH, NULL, run_prune},
      {"lower", "lower the graph to loop nests, one per layer", PASS_LOWER, NULL, run_lower},
      {"verify", "check the loop-nest IR invariants", PASS_NEST, NULL, run_verify},
  };
  for (size_t i = 0; i < sizeof passes / sizeof passes[0]; i++) pass_register(r, &passes[i]);
  map_passes_register(r);
}
