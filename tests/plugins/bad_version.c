/* A plugin built against a future API version: naasc must refuse it. */
#include "passes/passes.h"

static bool reg(PassRegistry *r) {
  (void)r;
  return true;
}

const NaascPluginInfo *naasc_plugin_info(void) {
  static const NaascPluginInfo info = {NAASC_PLUGIN_API_VERSION + 98, "future", "9.9", reg};
  return &info;
}
