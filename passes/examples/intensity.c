/*
 * intensity.c: an example pass plugin.  It adds the nest pass
 * `annotate-intensity`, which writes each mac nest's arithmetic intensity
 * (MACs per word of its operands and result, each counted once) into the
 * nest's note, e.g. `note "intensity=98.00 macs/word"`.
 *
 *   naasc-opt model.onnx --load-pass-plugin=libnaasc_intensity.so \
 *       -p 'fold-bn,fuse-act,lower,annotate-intensity{min=10}'
 *
 * Option min=X: annotate only nests at or above X MACs/word.
 * It uses only the plugin API (passes/passes.h) and the IR (ir/ir.h).
 */
#include <stdlib.h>

#include "passes/passes.h"

static Rc run(Program *p, const PassArgs *a, PassCtx *c, Diag *d) {
  (void)d;
  const char *min_s = pass_arg(a, "min");
  double min = min_s ? strtod(min_s, NULL) : 0;
  Module *m = p->mod;
  for (uint32_t i = 0; i < m->nnests; i++) {
    Nest *n = &m->nests[i];
    if (n->kind != NK_MAC) continue;
    int64_t words = 0;
    for (int k = 0; k < n->nacc; k++) {
      const NTensor *t = &m->tensors[n->acc[k].tensor];
      int64_t e = 1;
      for (int r = 0; r < t->rank; r++) e *= t->dims[r];
      words += e;
    }
    double intensity = words ? (double)nest_macs(n) / (double)words : 0;
    if (intensity < min) continue;
    n->note = arena_printf(&m->arena, "intensity=%.2f macs/word", intensity);
    pass_stat(c, "nests-annotated", 1);
  }
  return RC_OK;
}

static bool register_passes(PassRegistry *r) {
  static const PassInfo info = {"annotate-intensity",
                                "note each mac nest's arithmetic intensity (MACs per word)",
                                PASS_NEST, "min", run};
  return pass_register(r, &info);
}

const NaascPluginInfo *naasc_plugin_info(void) {
  static const NaascPluginInfo info = {NAASC_PLUGIN_API_VERSION, "intensity", "1.0",
                                       register_passes};
  return &info;
}
