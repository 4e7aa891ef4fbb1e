/*
 * naasc_opt.c: naasc-opt, the loop-nest IR driver in the spirit of mlir-opt.
 * It reads .nir text, a graph dump (--emit=graph, *.after.graph; its first
 * word is `graph`) or an ONNX model, which it imports, runs a pass pipeline
 * with the pass manager's instrumentation, and prints the result.  print ->
 * parse -> print is byte-identical for both text forms.
 *
 *   naasc-opt IN.nir [-p PIPELINE] [-o OUT.nir] [instrumentation flags]
 *   naasc-opt IN.graph [-p PIPELINE] [-o OUT] [instrumentation flags]
 *   naasc-opt MODEL.onnx [--input-shape NAME=DIMS]... [-O0|-O2|-p PIPELINE] [-o OUT.nir]
 *
 * Default pipelines: "verify" for .nir input, none for a graph dump (it is
 * read, checked as an imported model and printed back), -O2 for ONNX input.
 * Exit codes as naasc: 0 ok, 1 bad input, 2 bad usage, 3 internal error.
 *
 * A client of the C API (api/naasc.h): it parses the flags into naasc-opt's
 * options (naasc_opt_options_create, naasc_compile_options_parse_flag) and
 * prints what naasc_opt_run returns; messages, the instrumentation's IR
 * dumps and the listing of --list-passes/--print-pipeline (with an input)
 * go to stderr through the context's and the options' handlers.  The
 * timing, statistics and debug output of --time-passes, --stats and
 * --debug-only are the pass manager's own (stderr).  It exports its symbols
 * for pass plugins (--load-pass-plugin), which link against passes/passes.h.
 */
#include <stdlib.h>
#include <string.h>

#include "passes/passes.h"
#include "tools/internal.h"

static const char usage_text[] =
    "usage: naasc-opt IN.nir|IN.graph|MODEL.onnx [options]\n"
    "  -o FILE                   write the result to FILE (atomically)\n"
    "  --input-shape NAME=DIMS   fix a dynamic input of an ONNX model (repeatable)\n"
    "  -O0, -O2                  named pipelines: -O0 '" PIPELINE_O0 "', -O2 '" PIPELINE_O2 "'\n"
    "  --pass-pipeline=P, -p P   run pipeline P (default: 'verify' for .nir, none for a graph, -O2 for .onnx)\n"
    "  --print-pipeline  --list-passes  --load-pass-plugin=LIB\n"
    "  --print-ir-before=PASS[,..]  --print-ir-after=PASS[,..]  --print-ir-after-all\n"
    "  --print-ir-after-change  --print-ir-after-failure  --print-ir-tree-dir=DIR\n"
    "  --filter-layers=NAME[,..]  --time-passes  --stats  --stats-json=FILE\n"
    "  --debug-only=COMPONENT[,..]  --debug  --verify-each  --no-verify-each\n"
    "  --help\n"
    "exit codes: 0 ok, 1 bad input, 2 bad usage, 3 internal error\n";

static void write_to(void *user, const char *text, size_t len) { fwrite(text, 1, len, user); }

static int run(NaascContext *ctx, NaascCompileOptions *o, int argc, char **argv) {
  const char *in = NULL, *out = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int r;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      fputs(usage_text, stdout);
      return RC_OK;
    } else if (strcmp(a, "-o") == 0 && i + 1 < argc) {
      out = argv[++i];
    } else if (strncmp(a, "--input-shape", 13) == 0 && (a[13] == '=' || a[13] == 0)) {
      const char *v = a[13] == '=' ? a + 14 : (i + 1 < argc ? argv[++i] : NULL);
      if (!v || naasc_compile_options_add_input_shape(ctx, o, v) != NAASC_OK) return RC_USAGE;
    } else if ((r = naasc_compile_options_parse_flag(ctx, o, argc, argv, &i)) != 0) {
      if (r < 0) return RC_USAGE;
    } else if (a[0] == '-' && a[1]) {
      fprintf(stderr, "naasc-opt: error: unknown option '%s'\nTry 'naasc-opt --help'.\n", a);
      return RC_USAGE;
    } else if (!in) {
      in = a;
    } else {
      fprintf(stderr, "naasc-opt: error: more than one input ('%s')\n", a);
      return RC_USAGE;
    }
  }
  naasc_compile_options_set_dump_handler(o, write_to, stderr);
  char *text = NULL;
  /* the listing of --list-passes and --print-pipeline: on stdout when it is all there is */
  NaascStatus st = naasc_opt_run(ctx, o, in, out, write_to, in ? stderr : stdout, &text);
  if (st == NAASC_OK && !in && !naasc_compile_options_lists(o)) {
    fputs(usage_text, stderr);
    st = NAASC_USAGE;
  }
  if (st == NAASC_OK && text && !out) fputs(text, stdout);
  naasc_string_free(text);
  return (int)st;
}

int main(int argc, char **argv) {
  NaascContext *ctx = cli_context();
  NaascCompileOptions *o = naasc_opt_options_create();
  int rc = ctx && o ? run(ctx, o, argc, argv) : RC_INTERNAL;
  naasc_compile_options_destroy(o);
  naasc_context_destroy(ctx);
  return rc;
}
