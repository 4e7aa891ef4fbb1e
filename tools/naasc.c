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
 * Through the C API (api/naasc.h, a context whose messages go to stderr):
 * `naasc zoo` (naasc_zoo_*, naasc_model_zoo, naasc_model_write_onnx),
 * --list-targets and --print-arch [--precision P] (naasc_target_*), and
 * the modes of naasc_cost.c and naasc_tech.c as they say.  Compiling a
 * model stays on the lower-level interfaces: the pass manager with its
 * instrumentation and plugins (passes/passes.h; naasc_compile is its
 * one-call form), the graph's output before lowering, .nir input with its
 * weights file, and the command stream (stream/, runtime/ for cmd-text);
 * docs/design.md, "The tools and the C API".
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/frontend.h"
#include "passes/passes.h"
#include "backend/backend.h"
#include "runtime/runtime.h"
#include "search/search.h"
#include "stream/stream.h"
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

/* The command stream of the lowered, mapped program: written atomically to
 * path (binary), or disassembled to f. */
/* A .nir module and, when want_weights, the weights file it names. */
static Rc nir_load(const char *path, bool want_weights, Module **mod, Model **weights, Diag *d) {
  uint8_t *buf;
  size_t len;
  *mod = NULL, *weights = NULL;
  Rc rc = file_read_all(path, (size_t)1 << 30, &buf, &len, d);
  if (rc != RC_OK) return rc;
  rc = module_parse((const char *)buf, len, mod, d);
  xfree(buf);
  if (rc != RC_OK || !want_weights) return rc;
  char wp[4096];
  bool any = false; /* a module without weights needs no weights file */
  for (uint32_t t = 1; t < (*mod)->ntensors; t++) any |= (*mod)->tensors[t].role == TR_WEIGHT;
  if (!(*mod)->weights && !any) return RC_OK;
  if (!(*mod)->weights) {
    diag_error(d, path,
               "module '%s' names no weights file (`naasc MODEL.onnx --emit=nir -o M.nir` writes "
               "one beside it when the model has weight values)",
               (*mod)->name);
    return RC_BADINPUT;
  }
  if (!weights_resolve(path, (*mod)->weights, wp, sizeof wp)) {
    diag_error(d, path, "the weights file's path is too long");
    return RC_BADINPUT;
  }
  return weights_read(wp, *mod, weights, d);
}

static Rc emit_cmd(const Program *prog, const char *path, FILE *f, Diag *d) {
  uint8_t *bytes = NULL;
  size_t len = 0;
  CmdStats st;
  Rc rc = cmd_emit(prog->mod, prog->weights, prog->arch, &bytes, &len, &st, d);
  if (rc != RC_OK) return rc;
  if (path) {
    const char *file = d->file;
    d->file = path;
    rc = file_write_atomic(path, bytes, len, d);
    d->file = file;
  } else {
    RtProgram *rp = NULL;
    rc = rt_load(bytes, len, prog->arch, &rp, d);
    if (rc != RC_OK) { /* the writer made a stream its own reader refuses */
      diag_error(d, NULL, "internal error: the emitted command stream does not load");
      rc = RC_INTERNAL;
    } else {
      rt_disasm(f, rp);
    }
    rt_destroy(rp);
  }
  xfree(bytes);
  return rc;
}

/* --emit=timeloop: the target and, per mapped layer, its problem and mapping
 * as Timeloop files in dir (docs/timeloop.md); file names are the layer
 * names with characters other than letters, digits, '.', '-' and '_' as '_'.
 * A layer Timeloop cannot express is reported and skipped (exit 1). */
static Rc emit_timeloop(const Program *prog, const char *dir, Diag *d) {
  const char *file = d->file;
  d->file = dir;
  Rc rc = timeloop_write(dir, NULL, prog->arch, NULL, NULL, d);
  int bad = 0;
  uint32_t n = prog->mod->nnests;
  char(*names)[ACCEL_NAME_MAX + 16] = xcalloc(n + 1, sizeof *names);
  if (!names) rc = RC_INTERNAL;
  for (uint32_t i = 0; rc == RC_OK && i < n; i++) {
    const Nest *nt = &prog->mod->nests[i];
    Problem p;
    if (!nest_problem(nt, &p) || !nt->map) continue;
    char *nm = names[i];
    snprintf(nm, ACCEL_NAME_MAX, "%s", nt->name);
    for (char *c = nm; *c; c++)
      if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
            *c == '.' || *c == '-' || *c == '_'))
        *c = '_';
    for (uint32_t k = 0; k < i; k++) /* two layers named alike: number the second */
      if (strcmp(names[k], nm) == 0) snprintf(nm + strlen(nm), 16, "_%u", i);
    /* a layer Timeloop cannot express is reported; the others are written */
    Rc lrc = timeloop_write(dir, nm, prog->arch, &p, &nt->map->m, d);
    if (lrc == RC_INTERNAL) rc = lrc;
    bad += lrc != RC_OK;
  }
  xfree(names);
  d->file = file;
  return rc == RC_OK && bad ? RC_BADINPUT : rc;
}

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

  ImportOptions opt;
  import_options_default(&opt);
  const char *model = NULL, *out = NULL, *emit = NULL, *report = NULL, *schedule = NULL;
  int pmr;
  bool summary = false, list = false, markdown = false;
  DriverOptions drv;
  driver_options_default(&drv, PIPELINE_O2);
  Diag d;
  diag_init(&d, stderr, "naasc");
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
      NaascContext *ctx = cli_context();
      NaascTarget *t = NULL;
      char *yaml = NULL;
      NaascStatus st = ctx ? naasc_target_load(ctx, v, &t) : NAASC_INTERNAL;
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
      naasc_context_destroy(ctx);
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
      if (opt.nshapes == NAASC_MAX_BINDINGS)
        return usage_error("%s", "too many --input-shape flags");
      if (!parse_input_shape(v, &opt.shapes[opt.nshapes++], &d)) return RC_USAGE;
    } else if (cli_is_flag(a, "--input-data")) {
      v = cli_flag_value(argc, argv, &i, "--input-data");
      if (!v) return usage_error("%s", "--input-data needs NAME=FILE.pb");
      if (opt.ndata == NAASC_MAX_BINDINGS) return usage_error("%s", "too many --input-data flags");
      if (!parse_input_data(v, &opt.data[opt.ndata++], &d)) return RC_USAGE;
    } else if (strcmp(a, "--allow-unsupported") == 0) {
      opt.allow_unsupported = true;
    } else if (strcmp(a, "--no-fold") == 0) {
      drv.pipeline = PIPELINE_O0;
    } else if ((pmr = driver_parse_flag(&drv, argc, argv, &i, &d)) != 0) {
      if (pmr < 0) return RC_USAGE;
    } else if (a[0] == '-' && a[1]) {
      return usage_error("unknown option '%s'", a);
    } else if (!model) {
      model = a;
    } else {
      return usage_error("more than one model given ('%s')", a);
    }
  }
  if (list) return list_ops(markdown);
  /* With a target the named pipelines map the layers too. */
  if (drv.target && strcmp(drv.pipeline, PIPELINE_O2) == 0) drv.pipeline = PIPELINE_O2_MAP;
  if (drv.target && strcmp(drv.pipeline, PIPELINE_O0) == 0) drv.pipeline = PIPELINE_O0_MAP;
  PassRegistry *reg;
  Pipeline pl;
  Rc rc = driver_setup(&drv, &reg, &pl, model ? stderr : stdout, &d);
  if (rc != RC_OK) return rc;
  if (!model) {
    pipeline_free(&pl);
    pass_registry_destroy(reg);
    return drv.print_pipeline || drv.list_passes ? RC_OK : usage_error("%s", "no model given");
  }
  /* -o FILE.cmd with a target: the binary command stream. */
  size_t olen = out ? strlen(out) : 0;
  if (!emit && olen > 4 && strcmp(out + olen - 4, ".cmd") == 0) emit = "cmd";
  bool nir = emit && strcmp(emit, "nir") == 0;
  bool cmd_bin = emit && strcmp(emit, "cmd") == 0, cmd_text = emit && strcmp(emit, "cmd-text") == 0;
  bool tl = emit && strcmp(emit, "timeloop") == 0;
  if (tl && (!drv.target || !out)) {
    pipeline_free(&pl);
    pass_registry_destroy(reg);
    return usage_error("%s", "--emit=timeloop needs --target NAME|FILE and -o DIR");
  }
  if ((cmd_bin || cmd_text) && !drv.target) {
    pipeline_free(&pl);
    pass_registry_destroy(reg);
    return usage_error("--emit=%s needs --target NAME|FILE", emit);
  }
  if (cmd_bin && !out) {
    pipeline_free(&pl);
    pass_registry_destroy(reg);
    return usage_error("%s", "--emit=cmd needs -o FILE.cmd");
  }
  if (emit && strcmp(emit, "onnx") == 0 && !out) {
    pipeline_free(&pl);
    pass_registry_destroy(reg);
    return usage_error("%s", "--emit=onnx needs -o FILE");
  }
  if (report && !drv.target) {
    pipeline_free(&pl);
    pass_registry_destroy(reg);
    return usage_error("%s", "--report needs --target NAME|FILE");
  }
  bool emit_sched = emit && strcmp(emit, "schedule") == 0;
  const char *sched_err = NULL;
  if (emit_sched && !drv.target)
    sched_err = "--emit=schedule needs --target NAME|FILE";
  else if (emit_sched && report && strcmp(report, "-") == 0)
    sched_err = "--emit=schedule prints the schedule: give the report a file (--report=FILE.json)";
  else if (schedule && !report && !emit_sched && !nir && !cmd_bin && !cmd_text)
    sched_err =
        "--schedule applies to --report, --emit=schedule, --emit=nir and the command stream";
  else if (schedule && !drv.target)
    sched_err = "--schedule needs --target NAME|FILE";
  if (sched_err) {
    pipeline_free(&pl);
    pass_registry_destroy(reg);
    return usage_error("%s", sched_err);
  }
  /* The graph part of the pipeline runs first (summary, graph, onnx look at
   * the graph); the rest only when nests are wanted (nir, report). */
  int lower_at = pl.n;
  for (int i = 0; i < pl.n; i++)
    if (pl.pass[i]->level == PASS_LOWER) {
      lower_at = i;
      break;
    }
  bool nests = nir || report || cmd_bin || cmd_text || tl || emit_sched;
  if (nests && lower_at == pl.n) {
    pipeline_free(&pl);
    pass_registry_destroy(reg);
    return usage_error("%s", "--emit=nir, --emit=cmd and --report need 'lower' in the pipeline");
  }
  Pipeline rest = pl; /* pl[lower_at..n), shifted */
  rest.n = pl.n - lower_at;
  memmove(rest.pass, pl.pass + lower_at, sizeof(pl.pass[0]) * (size_t)rest.n);
  memmove(rest.args, pl.args + lower_at, sizeof(pl.args[0]) * (size_t)rest.n);
  pl.n = lower_at;

  d.file = model;
  Model *m = NULL;
  /* A loop-nest module (.nir, e.g. from naasc-opt) starts after `lower`: its
   * weights come from the file it names (docs/ir.md, "Weights"). */
  size_t mlen = strlen(model);
  bool from_nir = mlen > 4 && strcmp(model + mlen - 4, ".nir") == 0;
  Module *parsed = NULL;
  if (from_nir) {
    bool graph_out = (emit && (strcmp(emit, "graph") == 0 || strcmp(emit, "onnx") == 0)) || summary;
    if (graph_out || !nests) {
      pipeline_free(&pl);
      pass_registry_destroy(reg);
      return usage_error("%s", "a .nir module has no graph: give it --emit=nir, cmd or cmd-text, "
                               "timeloop, schedule or --report");
    }
    rc = nir_load(model, cmd_bin || cmd_text, &parsed, &m, &d);
    if (rest.n && rest.pass[0]->level == PASS_LOWER) { /* the module is lowered already */
      memmove(rest.pass, rest.pass + 1, sizeof(rest.pass[0]) * (size_t)(rest.n - 1));
      memmove(rest.args, rest.args + 1, sizeof(rest.args[0]) * (size_t)(rest.n - 1));
      rest.n--;
    }
  } else {
    rc = onnx_import(model, &opt, &m, &d);
  }
  Program prog = {.graph = from_nir ? NULL : m,
                  .mod = parsed,
                  .weights = from_nir ? m : NULL,
                  .keep_weights = cmd_bin || cmd_text || (nir && out)};
  static Arch target;
  if (rc == RC_OK && drv.target) {
    rc = driver_load_target(&drv, &target, &d);
    prog.arch = &target;
  }
  if (rc == RC_OK && drv.target && drv.precision && strcmp(drv.precision, "model") == 0) {
    Precision mp; /* the precision of the model's own element types */
    if (from_nir) {
      diag_error(&d, NULL, "--precision model needs the ONNX graph, not a .nir module");
      rc = RC_BADINPUT;
    } else {
      rc = precision_of_model(prog.graph, &mp, &d);
    }
    if (rc == RC_OK) rc = arch_set_precision(&target, &mp, &d);
    if (rc == RC_OK) arch_assume(&target, (ArchAssume)drv.assume);
  }
  prog.jobs = drv.jobs;
  if (rc == RC_OK && !from_nir) rc = pm_run(&pl, &prog, &drv.pm, &d);
  /* Text goes to stdout, or to a buffer written atomically to -o. */
  char *buf = NULL;
  size_t len = 0;
  FILE *f = NULL;
  if (rc == RC_OK && !(emit && strcmp(emit, "onnx") == 0) && !cmd_bin) {
    f = out && !tl ? open_memstream(&buf, &len) : stdout; /* with timeloop, -o is a folder */
    if (!f) rc = RC_INTERNAL;
  }
  if (rc == RC_OK && emit && strcmp(emit, "onnx") == 0) {
    d.file = out;
    rc = onnx_write(prog.graph, out, &d);
  } else if (rc == RC_OK) {
    if (emit && strcmp(emit, "graph") == 0) graph_print(f, prog.graph);
    if (summary || (!emit && !report)) summary_print(f, prog.graph);
    if (nests) {
      rc = pm_run(&rest, &prog, &drv.pm, &d);
      /* --schedule with --emit=nir or a command stream: the schedule's groups
       * go into the module as fused groups; the stream executes
       * layer-by-layer groups only, so "best" searches those for it. */
      if (rc == RC_OK && schedule && (nir || cmd_bin || cmd_text))
        rc = schedule_attach(&prog, schedule, cmd_bin || cmd_text, &d);
      /* The IR is always verified before it is emitted, whatever the pipeline. */
      if (rc == RC_OK) rc = pm_verify_before_emit(reg, &rest, &prog, &d);
      if (rc == RC_OK && nir && out && from_nir && prog.mod->weights)
        prog.mod->weights = weights_rebase(&prog.mod->arena, model, prog.mod->weights, out);
      if (rc == RC_OK && nir && out && !from_nir && weights_available(prog.mod, prog.weights)) {
        /* -o M.nir: the weights go to M.nir.weights, which the text names */
        size_t ol = strlen(out);
        char *wpath = xmalloc(ol + 9);
        const char *slash = strrchr(out, '/');
        if (!wpath) {
          rc = RC_INTERNAL;
        } else {
          snprintf(wpath, ol + 9, "%s.weights", out);
          d.file = wpath;
          rc = weights_write(wpath, prog.mod, prog.weights, &d);
          prog.mod->weights =
              arena_strdup(&prog.mod->arena, slash ? wpath + (slash - out) + 1 : wpath);
          if (!prog.mod->weights && rc == RC_OK) rc = RC_INTERNAL;
          xfree(wpath);
          d.file = model;
        }
      }
      if (rc == RC_OK && nir) module_print(f, prog.mod);
      if (rc == RC_OK && (cmd_bin || cmd_text)) rc = emit_cmd(&prog, cmd_bin ? out : NULL, f, &d);
      if (rc == RC_OK && tl) rc = emit_timeloop(&prog, out, &d);
      bool layer = schedule && strcmp(schedule, "layer") == 0;
      if (rc == RC_OK && report && layer && !emit_sched)
        rc = report_write(prog.mod, prog.arch, f, strcmp(report, "-") ? report : NULL, &d);
      else if (rc == RC_OK && (report || emit_sched))
        rc = schedule_report(&prog, schedule ? schedule : "best", f, emit_sched, report, &d);
    }
  }
  if (f && out && !tl) {
    fclose(f);
    d.file = out;
    if (rc == RC_OK) rc = file_write_atomic(out, buf, len, &d);
    free(buf);
  }
  program_free(&prog);
  pipeline_free(&pl);
  pass_registry_destroy(reg);
  return rc;
}
