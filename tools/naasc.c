/*
 * naasc.c: the naasc command line.
 *
 *   naasc MODEL.onnx [--summary | --emit=graph | --emit=onnx -o FILE] [options]
 *   naasc zoo NAME -o FILE.onnx [--no-weights] [--seed N]
 *   naasc zoo --list
 *   naasc --list-ops [--format=markdown]
 *
 * Exit codes: 0 ok, 1 bad input, 2 bad usage, 3 internal error
 * (docs/user-guide.md).  Every error names the file and the place in it.
 *
 * A client of the C API (api/naasc.h, a context whose messages go to
 * stderr as they are reported): `naasc zoo` (naasc_zoo_*, naasc_model_zoo,
 * naasc_model_write_onnx), --list-targets and --print-arch [--precision P]
 * (naasc_target_*), compiling a model (naasc_compile_options_* for the
 * flags the pass manager and the import take, naasc_compile_file,
 * naasc_module_lower, naasc_module_emit for each output; the IR dumps go
 * to stderr through the options' dump handler), and the modes of
 * naasc_cost.c and naasc_tech.c as they say.  What stays here: the flags,
 * their usage errors, and where text goes (stdout, or -o written
 * atomically).  --list-ops prints the op tables of ir/ and passes/.
 * docs/design.md, "The tools and the C API".
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/frontend.h"
#include "passes/passes.h"
#include "tools/internal.h"

#ifndef NAASC_VERSION
#define NAASC_VERSION "0.0.0"
#endif

static const char usage_text[] =
    "usage: naasc MODEL.onnx [options]        compile a model (default: print its summary)\n"
    "       naasc zoo NAME -o FILE.onnx [--no-weights] [--seed N]\n"
    "       naasc zoo --list\n"
    "       naasc cost --check CASE.json ... | --arch A.yaml --problem P.yaml --mapping M.yaml\n"
    "       naasc tech KIND ATTR=VALUE ...      energy and area of one component (naasc tech --help)\n"
    "       naasc cost --timeloop PATH... [--emit=timeloop -o DIR]   (docs/timeloop.md)\n"
    "       naasc --search MODEL.onnx|ZOO-NAME ... --budget NAME|FILE.yaml [-o DIR]  (naasc --search --help)\n"
    "       naasc --list-ops [--format=markdown]\n"
    "       naasc --search --nas nasbench201 --budget NAME (--min-accuracy P | --max-edp X) [-o DIR]\n"
    "\n"
    "options:\n"
    "  --summary                 per-layer table: op, shapes, MACs, parameters; then totals\n"
    "  --emit=graph              print the graph IR (one op a line)\n"
    "  --emit=nir                print the loop-nest IR (docs/ir.md)\n"
    "  --emit=cmd                write the binary command stream (needs --target and -o;\n"
    "                            implied by -o FILE.cmd); run it with naasc-run\n"
    "  --emit=cmd-text           print the command stream's disassembly (docs/cmd-format.md)\n"
    "  --emit=timeloop           write the target and each layer's problem and mapping as\n"
    "                            Timeloop v0.4 files (needs --target and -o DIR; docs/timeloop.md)\n"
    "  --target NAME|FILE        the accelerator: a preset, an architecture YAML file (naasc's\n"
    "                            or Timeloop's), a folder of Timeloop files, or a Timeloop\n"
    "                            validation case (.json); the pipeline then maps\n"
    "  --precision P             the target at precision P: w8a8, w8a8p32, w4a8, w1a1 (binary\n"
    "                            XNOR-popcount PEs), int8, fp16, bf16, ... (docs/technology.md);\n"
    "                            'model': the model's own (QLinearConv: w8a8p32, f16: fp16, ...)\n"
    "  --report[=FILE.json]      cost report per layer (table); with a file also JSON and\n"
    "                            an SVG chart (FILE.svg)\n"
    "  --schedule=best|layer|FILE  the whole-network schedule the report uses: searched\n"
    "                            (best, the default), layer by layer, or read from FILE;\n"
    "                            with --emit=nir or -o M.cmd its groups go into the IR\n"
    "                            (fused blocks) and the stream (layer-by-layer groups only)\n"
    "  --emit=schedule           write the schedule (text, docs/cost-model.md); needs --target\n"
    "  --jobs N, -j N            threads for the mapper\n"
    "  --print-arch NAME|FILE    print an architecture in the YAML format (round-trips; at\n"
    "                            --precision P if given)\n"
    "  --list-targets            the preset architectures\n"
    "  --emit=onnx               write the imported graph back as ONNX (needs -o, --no-fold)\n"
    "  -o FILE                   output file (written atomically)\n"
    "  --input-shape NAME=DIMS   fix a dynamic input, e.g. x=1x3x640x640 (repeatable)\n"
    "  --input-data NAME=FILE.pb bind an input to a constant TensorProto (repeatable)\n"
    "  --allow-unsupported       run unsupported nodes on the host instead of failing\n"
    "  -O0, -O2                  named pipelines: -O0 '" PIPELINE_O0 "', -O2 '" PIPELINE_O2
    "' (default)\n"
    "  --no-fold                 the same as -O0: keep BatchNormalization and activations apart\n"
    "  --pass-pipeline=P, -p P   run pipeline P, e.g. 'fold-bn,fuse-act,lower'\n"
    "  --print-pipeline          print the expanded pipeline\n"
    "  --list-passes             list the passes (built-in and from plugins)\n"
    "  --load-pass-plugin=LIB    load a pass plugin (repeatable)\n"
    "\n"
    "pass instrumentation:\n"
    "  --print-ir-before=PASS[,..]  --print-ir-after=PASS[,..]  --print-ir-after-all\n"
    "  --print-ir-after-change  --print-ir-after-failure  --print-ir-tree-dir=DIR\n"
    "  --filter-layers=NAME[,..]  --time-passes  --stats  --stats-json=FILE\n"
    "  --debug-only=COMPONENT[,..]  --debug  --verify-each  --no-verify-each\n"
    "  --help, --version\n"
    "\n"
    "exit codes: 0 ok, 1 bad input, 2 bad usage, 3 internal error\n";

static int usage_error(const char *fmt, const char *arg) {
  return cli_usage_error("naasc --help", fmt, arg);
}

static int list_ops(bool markdown) {
  static const char *const cls[] = {
      "L", "accelerator (mac layer on the PE array)", "V", "vector unit",
      "S", "data movement (folded when constant)",    "H", "host"};
  if (markdown) printf("| ONNX op | runs on | lowered today as |\n|---|---|---|\n");
  for (int op = 1; op < OP_COUNT; op++) {
    if (op == OP_HOST) continue;
    if (!markdown) {
      printf("%s\n", op_name((Op)op));
      continue;
    }
    const char *kind = "?";
    for (int k = 0; k < 8; k += 2)
      if (cls[k][0] == op_class((Op)op)) kind = cls[k + 1];
    printf("| %s | %s | %s |\n", op_name((Op)op), kind, lower_target((Op)op));
  }
  return RC_OK;
}

static int cmd_zoo(int argc, char **argv) {
  const char *name = NULL, *out = NULL;
  bool weights = true;
  uint64_t seed = 1;
  for (int i = 2; i < argc; i++) {
    const char *v;
    if (strcmp(argv[i], "--list") == 0) {
      for (int k = 0; k < naasc_zoo_count(); k++)
        printf("%-14s %s\n", naasc_zoo_name(k), naasc_zoo_description(k));
      return RC_OK;
    } else if (strcmp(argv[i], "--no-weights") == 0) {
      weights = false;
    } else if ((v = cli_flag_value(argc, argv, &i, "--seed"))) {
      char *end;
      seed = strtoull(v, &end, 10);
      if (*end || !*v) return usage_error("--seed takes a non-negative integer, not '%s'", v);
    } else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc) {
      out = argv[++i];
    } else if (argv[i][0] == '-') {
      return usage_error("unknown option '%s' for 'naasc zoo'", argv[i]);
    } else if (!name) {
      name = argv[i];
    } else {
      return usage_error("unexpected argument '%s'", argv[i]);
    }
  }
  if (!name) return usage_error("%s", "naasc zoo needs a network name (naasc zoo --list)");
  if (!out) return usage_error("%s", "naasc zoo needs -o FILE.onnx");
  NaascContext *ctx = cli_context();
  if (!ctx) return RC_INTERNAL;
  NaascModel *m = NULL;
  NaascStatus st =
      weights ? naasc_model_zoo(ctx, name, seed, &m) : naasc_model_zoo_shapes(ctx, name, &m);
  if (st == NAASC_OK) st = naasc_model_write_onnx(ctx, m, out);
  naasc_model_destroy(m);
  naasc_context_destroy(ctx);
  return (int)st;
}

static void write_stdout(void *user, const char *text, size_t len) {
  (void)user;
  fwrite(text, 1, len, stdout);
}

/* Appends an output's text to f (and frees it). */
static void put(FILE *f, char *text) {
  if (text && f) fputs(text, f);
  naasc_string_free(text);
}

static int compile_main(NaascContext *ctx, NaascCompileOptions *co, int argc, char **argv);

int main(int argc, char **argv) {
  if (argc < 2) {
    fputs(usage_text, stderr);
    return RC_USAGE;
  }
  if (strcmp(argv[1], "zoo") == 0) return cmd_zoo(argc, argv);
  if (strcmp(argv[1], "cost") == 0) return naasc_cost_main(argc - 1, argv + 1);
  if (strcmp(argv[1], "tech") == 0) return naasc_tech_main(argc - 1, argv + 1);
  for (int i = 1; i < argc; i++) /* before --search: the network level takes it */
    if (strcmp(argv[i], "--nas") == 0 || strncmp(argv[i], "--nas=", 6) == 0)
      return naasc_nas_main(argc, argv);
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "--search") == 0) return naasc_search_main(argc, argv);

  NaascContext *ctx = cli_context();
  NaascCompileOptions *co = naasc_compile_options_create();
  int rc = ctx && co ? compile_main(ctx, co, argc, argv) : RC_INTERNAL;
  naasc_compile_options_destroy(co);
  naasc_context_destroy(ctx);
  return rc;
}

/* `naasc MODEL ...`: the flags, then the C API's compile (naasc_compile_*,
 * naasc_module_*), its texts to stdout or to -o. */
static int compile_main(NaascContext *ctx, NaascCompileOptions *co, int argc, char **argv) {
  const char *model = NULL, *out = NULL, *emit = NULL, *report = NULL, *schedule = NULL;
  int pmr, nshapes = 0, ndata = 0;
  bool summary = false, list = false, markdown = false;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      fputs(usage_text, stdout);
      return RC_OK;
    } else if (strcmp(a, "--version") == 0) {
      printf("naasc %s (ONNX IR %d-%d, opsets %d-%d)\n", NAASC_VERSION, NAASC_IR_VERSION_MIN,
             NAASC_IR_VERSION_MAX, NAASC_OPSET_MIN, NAASC_OPSET_MAX);
      return RC_OK;
    } else if (strcmp(a, "--list-ops") == 0) {
      list = true;
    } else if (cli_is_flag(a, "--print-arch")) {
      v = cli_flag_value(argc, argv, &i, "--print-arch");
      if (!v) return usage_error("%s", "--print-arch needs a preset name or a file");
      NaascTarget *t = NULL;
      char *yaml = NULL;
      NaascStatus st = naasc_target_load(ctx, v, &t);
      for (int k = 1; k < argc && st == NAASC_OK; k++) { /* --precision anywhere on the line */
        const char *pv = strncmp(argv[k], "--precision=", 12) == 0             ? argv[k] + 12
                         : strcmp(argv[k], "--precision") == 0 && k + 1 < argc ? argv[k + 1]
                                                                               : NULL;
        if (pv) st = naasc_target_set_precision(ctx, t, pv);
      }
      if (st == NAASC_OK) st = naasc_target_print(ctx, t, &yaml);
      if (st == NAASC_OK) fputs(yaml, stdout);
      naasc_string_free(yaml);
      naasc_target_destroy(t);
      return (int)st;
    } else if (strcmp(a, "--list-targets") == 0) {
      int np;
      const char *const *names = naasc_target_presets(&np);
      for (int k = 0; k < np; k++) printf("%s\n", names[k]);
      return RC_OK;
    } else if (cli_is_flag(a, "--format")) {
      v = cli_flag_value(argc, argv, &i, "--format");
      if (!v || strcmp(v, "markdown") != 0) return usage_error("--format takes 'markdown'%s", "");
      markdown = true;
    } else if (strcmp(a, "--summary") == 0) {
      summary = true;
    } else if (strcmp(a, "--report") == 0) {
      report = "-";
    } else if (strncmp(a, "--report=", 9) == 0 && a[9]) {
      report = a + 9;
    } else if (cli_is_flag(a, "--emit")) {
      emit = cli_flag_value(argc, argv, &i, "--emit");
      if (!emit ||
          (strcmp(emit, "graph") != 0 && strcmp(emit, "onnx") != 0 && strcmp(emit, "nir") != 0 &&
           strcmp(emit, "cmd") != 0 && strcmp(emit, "cmd-text") != 0 &&
           strcmp(emit, "timeloop") != 0 && strcmp(emit, "schedule") != 0))
        return usage_error(
            "--emit takes 'graph', 'nir', 'onnx', 'cmd', 'cmd-text', 'timeloop' or 'schedule', not '%s'",
            emit ? emit : "");
    } else if (cli_is_flag(a, "--schedule")) {
      schedule = cli_flag_value(argc, argv, &i, "--schedule");
      if (!schedule || !*schedule)
        return usage_error("%s", "--schedule takes best, layer or a schedule file");
    } else if (strcmp(a, "-o") == 0) {
      if (i + 1 >= argc) return usage_error("%s", "-o needs a file name");
      out = argv[++i];
    } else if (cli_is_flag(a, "--input-shape")) {
      v = cli_flag_value(argc, argv, &i, "--input-shape");
      if (!v) return usage_error("%s", "--input-shape needs NAME=DIMS");
      if (nshapes++ == NAASC_MAX_INPUTS) return usage_error("%s", "too many --input-shape flags");
      if (naasc_compile_options_add_input_shape(ctx, co, v) != NAASC_OK) return RC_USAGE;
    } else if (cli_is_flag(a, "--input-data")) {
      v = cli_flag_value(argc, argv, &i, "--input-data");
      if (!v) return usage_error("%s", "--input-data needs NAME=FILE.pb");
      if (ndata++ == NAASC_MAX_INPUTS) return usage_error("%s", "too many --input-data flags");
      if (naasc_compile_options_add_input_data(ctx, co, v) != NAASC_OK) return RC_USAGE;
    } else if ((pmr = naasc_compile_options_parse_flag(ctx, co, argc, argv, &i)) != 0) {
      if (pmr < 0) return RC_USAGE; /* --allow-unsupported, --no-fold, the pass manager's */
    } else if (a[0] == '-' && a[1]) {
      return usage_error("unknown option '%s'", a);
    } else if (!model) {
      model = a;
    } else {
      return usage_error("more than one model given ('%s')", a);
    }
  }
  if (list) return list_ops(markdown);
  /* --list-passes and --print-pipeline print to stdout, or with a model to stderr */
  NaascStatus st =
      naasc_compile_options_setup(ctx, co, model ? cli_diag_stderr : write_stdout, NULL);
  if (st != NAASC_OK) return (int)st;
  if (!model) {
    return naasc_compile_options_lists(co) ? RC_OK : usage_error("%s", "no model given");
  }
  bool target = naasc_compile_options_has_target(co);
  /* -o FILE.cmd with a target: the binary command stream. */
  size_t olen = out ? strlen(out) : 0;
  if (!emit && olen > 4 && strcmp(out + olen - 4, ".cmd") == 0) emit = "cmd";
  bool nir = emit && strcmp(emit, "nir") == 0;
  bool cmd_bin = emit && strcmp(emit, "cmd") == 0, cmd_text = emit && strcmp(emit, "cmd-text") == 0;
  bool tl = emit && strcmp(emit, "timeloop") == 0;
  bool onnx = emit && strcmp(emit, "onnx") == 0;
  if (tl && (!target || !out))
    return usage_error("%s", "--emit=timeloop needs --target NAME|FILE and -o DIR");
  if ((cmd_bin || cmd_text) && !target)
    return usage_error("--emit=%s needs --target NAME|FILE", emit);
  if (cmd_bin && !out) return usage_error("%s", "--emit=cmd needs -o FILE.cmd");
  if (onnx && !out) return usage_error("%s", "--emit=onnx needs -o FILE");
  if (report && !target) return usage_error("%s", "--report needs --target NAME|FILE");
  bool emit_sched = emit && strcmp(emit, "schedule") == 0;
  const char *sched_err = NULL;
  if (emit_sched && !target)
    sched_err = "--emit=schedule needs --target NAME|FILE";
  else if (emit_sched && report && strcmp(report, "-") == 0)
    sched_err = "--emit=schedule prints the schedule: give the report a file (--report=FILE.json)";
  else if (schedule && !report && !emit_sched && !nir && !cmd_bin && !cmd_text)
    sched_err =
        "--schedule applies to --report, --emit=schedule, --emit=nir and the command stream";
  else if (schedule && !target)
    sched_err = "--schedule needs --target NAME|FILE";
  if (sched_err) return usage_error("%s", sched_err);
  bool nests = nir || report || cmd_bin || cmd_text || tl || emit_sched;
  if (nests && !naasc_compile_options_lowers(co))
    return usage_error("%s", "--emit=nir, --emit=cmd and --report need 'lower' in the pipeline");
  size_t mlen = strlen(model);
  if (mlen > 4 && strcmp(model + mlen - 4, ".nir") == 0) {
    bool graph_out = (emit && strcmp(emit, "graph") == 0) || onnx || summary;
    if (graph_out || !nests)
      return usage_error("%s", "a .nir module has no graph: give it --emit=nir, cmd or cmd-text, "
                               "timeloop, schedule or --report");
  }
  naasc_compile_options_set_schedule(co, schedule);
  naasc_compile_options_set_emit(co, emit, out);
  naasc_compile_options_set_dump_handler(co, cli_diag_stderr, NULL); /* IR dumps to stderr */

  NaascModule *mod = NULL;
  st = naasc_compile_file(ctx, model, co, &mod);
  /* Text goes to stdout, or to a buffer written atomically to -o. */
  char *buf = NULL, *text = NULL;
  size_t len = 0;
  FILE *f = NULL;
  if (st == NAASC_OK && !onnx && !cmd_bin) {
    f = out && !tl ? open_memstream(&buf, &len) : stdout; /* with timeloop, -o is a folder */
    if (!f) st = NAASC_INTERNAL;
  }
  if (st == NAASC_OK && onnx) {
    st = naasc_module_emit(ctx, mod, "onnx", out, NULL);
  } else if (st == NAASC_OK) {
    if (emit && strcmp(emit, "graph") == 0) {
      st = naasc_module_emit(ctx, mod, "graph", NULL, &text);
      put(f, text);
    }
    if (st == NAASC_OK && (summary || (!emit && !report))) {
      st = naasc_module_emit(ctx, mod, "summary", NULL, &text);
      put(f, text);
    }
    if (st == NAASC_OK && nests) {
      st = naasc_module_lower(ctx, mod);
      if (st == NAASC_OK && nir) {
        st = naasc_module_emit(ctx, mod, "nir", out, &text);
        put(f, text);
      }
      if (st == NAASC_OK && cmd_bin) st = naasc_module_emit(ctx, mod, "cmd", out, NULL);
      if (st == NAASC_OK && cmd_text) {
        st = naasc_module_emit(ctx, mod, "cmd-text", NULL, &text);
        put(f, text);
      }
      if (st == NAASC_OK && tl) st = naasc_module_emit(ctx, mod, "timeloop", out, NULL);
      if (st == NAASC_OK && (report || emit_sched)) {
        const char *json = report && strcmp(report, "-") ? report : NULL;
        st = naasc_module_emit(ctx, mod, emit_sched ? "schedule" : "report", json, &text);
        put(f, text);
      }
    }
  }
  if (f && out && !tl) {
    fclose(f);
    Diag d;
    diag_init(&d, stderr, out);
    if (st == NAASC_OK) st = (NaascStatus)file_write_atomic(out, buf, len, &d);
    free(buf);
  }
  naasc_module_destroy(mod);
  return (int)st;
}
