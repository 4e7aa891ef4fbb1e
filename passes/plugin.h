/*
 * plugin.h: the pass plugin API of naasc.  A plugin is a shared library
 * loaded with --load-pass-plugin=LIB.so.  It exports one function:
 *
 *   const NaascPluginInfo *naasc_plugin_info(void);
 *
 * returning a static description: the API version it was built against
 * (NAASC_PLUGIN_API_VERSION; another value is refused), its name and
 * version, and a function that registers its passes with pass_register().
 * The plugin may call any function of ir.h, nest.h and passes.h: the naasc
 * executables export them (CMake ENABLE_EXPORTS).
 *
 * Example: examples/plugins/intensity.c.
 */
#ifndef NAASC_PLUGIN_H
#define NAASC_PLUGIN_H

#include "passes.h"

#define NAASC_PLUGIN_API_VERSION 1

typedef struct {
  int api_version;
  const char *name;
  const char *version;
  bool (*register_passes)(PassRegistry *r);
} NaascPluginInfo;

typedef const NaascPluginInfo *(*NaascPluginInfoFn)(void);
#define NAASC_PLUGIN_ENTRY "naasc_plugin_info"

#endif
