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
 * Not a client of the C API (api/naasc.h): it runs any pipeline on IR text
 * (the graph and loop-nest parsers and printers of ir/) with the pass
 * manager (passes/passes.h) and prints the IR, where the API's compile
 * (naasc_compile_file, naasc_module_lower) runs the passes before `lower`
 * on a graph and the rest on a module; a "parse IR, run a pipeline, print"
 * call is not in the API yet (docs/design.md, "The tools and the C API").
 */
#include <stdlib.h>
#include <string.h>

#include "frontend/frontend.h"
#include "passes/passes.h"

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

static bool ends_with(const char *s, const char *suf) {
  size_t n = strlen(s), k = strlen(suf);
  return n >= k && strcmp(s + n - k, suf) == 0;
}

/* Whether text is a graph dump: its first word, after blank and '#' lines, is `graph`. */
static bool is_graph_text(const char *s, size_t n) {
  size_t i = 0;
  for (;;) {
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')) i++;
    if (i < n && s[i] == '#') {
      while (i < n && s[i] != '\n') i++;
      continue;
    }
    return n - i >= 6 && memcmp(s + i, "graph", 5) == 0 && (s[i + 5] == ' ' || s[i + 5] == '"');
  }
}

int main(int argc, char **argv) {
  const char *in = NULL, *out = NULL;
  ImportOptions opt;
  import_options_default(&opt);
  DriverOptions drv;
  driver_options_default(&drv, NULL);
  Diag d;
  diag_init(&d, stderr, "naasc-opt");
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
      if (!v || opt.nshapes == NAASC_MAX_BINDINGS ||
          !parse_input_shape(v, &opt.shapes[opt.nshapes++], &d))
        return RC_USAGE;
    } else if ((r = driver_parse_flag(&drv, argc, argv, &i, &d)) != 0) {
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
  bool onnx = in && ends_with(in, ".onnx");
  /* a graph dump without -p: no pass runs, it is read (and checked as an
   * imported model) and printed back; the registry and the default pipeline
   * are still made for --list-passes, plugins and their errors */
  bool given = drv.pipeline != NULL;
  if (!drv.pipeline) drv.pipeline = onnx ? PIPELINE_O2 : "verify";
  PassRegistry *reg;
  Pipeline pl;
  Rc rc = driver_setup(&drv, &reg, &pl, in ? stderr : stdout, &d);
  if (rc != RC_OK) return rc;
  if (!in) {
    pipeline_free(&pl);
    pass_registry_destroy(reg);
    if (drv.print_pipeline || drv.list_passes) return RC_OK;
    fputs(usage_text, stderr);
    return RC_USAGE;
  }
  d.file = in;
  uint8_t *buf = NULL;
  size_t len = 0;
  bool graph = false; /* a graph dump (its first word is `graph`), else .nir */
  if (!onnx) {
    rc = file_read_all(in, (size_t)1 << 30, &buf, &len, &d);
    if (rc != RC_OK) {
      pipeline_free(&pl);
      pass_registry_destroy(reg);
      return rc;
    }
    graph = is_graph_text((const char *)buf, len);
  }
  bool run = given || !graph;
  Program prog = {.graph = NULL, .keep_weights = onnx && out};
  if (onnx) {
    rc = onnx_import(in, &opt, &prog.graph, &d);
  } else if (graph) {
    rc = graph_import_text((const char *)buf, len, &prog.graph, &d);
  } else {
    rc = module_parse((const char *)buf, len, &prog.mod, &d);
  }
  xfree(buf);
  static Arch target;
  if (rc == RC_OK && drv.target) {
    rc = driver_load_target(&drv, &target, &d);
    prog.arch = &target;
  }
  prog.jobs = drv.jobs;
  if (rc == RC_OK && run) rc = pm_run(&pl, &prog, &drv.pm, &d);
  /* Nests are always verified before they are printed, whatever the pipeline. */
  if (rc == RC_OK) rc = pm_verify_before_emit(reg, &pl, &prog, &d);
  if (rc == RC_OK) {
    char *text = NULL;
    size_t tlen = 0;
    /* the weights file the module names: from the folder of -o, or written
     * beside it for a model (docs/ir.md, "Weights") */
    if (prog.mod && out && !onnx && prog.mod->weights)
      prog.mod->weights = weights_rebase(&prog.mod->arena, in, prog.mod->weights, out);
    if (prog.mod && out && onnx && prog.weights) {
      bool all = weights_available(prog.mod, prog.weights);
      size_t ol = strlen(out);
      char *wpath = all ? xmalloc(ol + 9) : NULL;
      if (wpath) {
        snprintf(wpath, ol + 9, "%s.weights", out);
        const char *slash = strrchr(wpath, '/');
        d.file = wpath;
        rc = weights_write(wpath, prog.mod, prog.weights, &d);
        prog.mod->weights = arena_strdup(&prog.mod->arena, slash ? slash + 1 : wpath);
        xfree(wpath);
        if (!prog.mod->weights && rc == RC_OK) rc = RC_INTERNAL;
      }
    }
    FILE *f = rc != RC_OK ? NULL : out ? open_memstream(&text, &tlen) : stdout;
    if (!f)
      rc = rc != RC_OK ? rc : RC_INTERNAL;
    else {
      program_print(f, &prog, NULL, 0);
      if (out) {
        fclose(f);
        d.file = out;
        rc = file_write_atomic(out, text, tlen, &d);
        free(text);
      }
    }
  }
  program_free(&prog);
  pipeline_free(&pl);
  pass_registry_destroy(reg);
  return rc;
}
