/*
 * test_api.c: the contract of the C API (api/naasc.h) through libnaasc.so.
 *
 *   test_api ARCH PROBLEM MAPPING SCRATCH_DIR NAASC_OPT NB201_CSV
 *
 * (tests/costmodel/yaml's triple; the naasc-opt executable; the
 * NAS-Bench-201 accuracy table).  Checks: the status codes; the located
 * message of a failure is left in the context and cleared by the next
 * successful call; NULL handles and a NULL context are NAASC_USAGE, not a
 * crash; nothing is printed to stdout or stderr by any call (both are
 * redirected to files that must stay empty); naasc_cost's figures are the
 * cost model's (costmodel.cli_yaml's energy); a compiled zoo network's
 * report is JSON starting with its format line; what the tools call (the
 * diagnostic handler with errors and warnings, the zoo, precision, the cost
 * table, the technology model) works; the command line's compile step by
 * step (naasc_compile_options_*, naasc_compile_file, naasc_module_lower,
 * naasc_module_emit): the pipeline listed, the IR dump through the dump
 * handler, the .nir with its weights file, the command stream, the report
 * with the command line's total cycles and naasc_compile's totals, a bad
 * pass name located in the pipeline text; naasc-opt's run
 * (naasc_ir_run_pipeline, naasc_opt_run): the IR naasc-opt prints, byte
 * for byte, for an ONNX model and a .nir module, a graph dump printed back
 * unchanged, the nest count of a small model, a bad pipeline and a missing
 * file; the network search (naasc_nas_drive): a small run's files and
 * counts, an unmet bound, bad options, a missing table; a command stream
 * run (naasc_stream_*): its inputs' and outputs' descriptions, binding from
 * memory and from a .pb file, the output file byte for byte and the
 * --counts and --moved text equal to the naasc-run executable's (built
 * beside naasc-opt), the per-layer counters' struct against that text, a
 * truncated stream, a stream for another target and a memory cap refused,
 * located in the stream.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/naasc.h"

static int failures;
static FILE *saved; /* the real stdout, for the test's own lines */

#define CHECK(cond)                                                   \
  do {                                                                \
    if (!(cond)) {                                                    \
      fprintf(saved, "%s:%d: FAIL: %s\n", __FILE__, __LINE__, #cond); \
      failures++;                                                     \
    }                                                                 \
  } while (0)

/* What a diagnostic handler received. */
typedef struct {
  char text[4096];
  size_t len;
  int calls;
} Captured;

static void capture(void *user, const char *text, size_t len) {
  Captured *c = user;
  c->calls++;
  if (c->len + len < sizeof c->text) memcpy(c->text + c->len, text, len), c->len += len;
  c->text[c->len] = 0;
}

/* The whole stdout of a shell command (its stderr discarded), or NULL. */
static char *command_output(const char *cmd) {
  char full[8192];
  snprintf(full, sizeof full, "%s 2>/dev/null", cmd);
  FILE *p = popen(full, "r");
  if (!p) return NULL;
  size_t cap = 1 << 16, n = 0, k;
  char *buf = malloc(cap);
  while (buf && (k = fread(buf + n, 1, cap - n - 1, p)) > 0) {
    n += k;
    if (n + 1 == cap) {
      char *b = realloc(buf, cap *= 2);
      if (!b) free(buf);
      buf = b;
    }
  }
  if (buf) buf[n] = 0;
  return pclose(p) == 0 ? buf : (free(buf), NULL);
}

/* Lines of text that begin with prefix. */
static int count_lines(const char *text, const char *prefix) {
  int n = 0;
  size_t k = strlen(prefix);
  for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : "")
    n += strncmp(l, prefix, k) == 0;
  return n;
}

static long file_size(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

int main(int argc, char **argv) {
  if (argc != 7) {
    fprintf(stderr, "usage: test_api ARCH PROBLEM MAPPING SCRATCH_DIR NAASC_OPT NB201_CSV\n");
    return 2;
  }
  const char *arch = argv[1], *problem = argv[2], *mapping = argv[3], *dir = argv[4],
             *naasc_opt = argv[5], *nb201_csv = argv[6];
  char out_path[4096], err_path[4096], bad[4096];
  snprintf(out_path, sizeof out_path, "%s/stdout.txt", dir);
  snprintf(err_path, sizeof err_path, "%s/stderr.txt", dir);
  snprintf(bad, sizeof bad, "%s/bad.mapping.yaml", dir);
  saved = fdopen(dup(1), "w");
  if (!saved || !freopen(out_path, "w", stdout) || !freopen(err_path, "w", stderr)) return 3;

  CHECK(naasc_api_version() == NAASC_API_VERSION);
  CHECK(strcmp(naasc_context_error(NULL), "") == 0);
  NaascTarget *t = NULL;
  CHECK(naasc_target_load(NULL, "eyeriss", &t) == NAASC_USAGE && !t);

  NaascContext *ctx = naasc_context_create();
  CHECK(ctx != NULL);
  CHECK(naasc_target_load(ctx, NULL, &t) == NAASC_USAGE);
  CHECK(strstr(naasc_context_error(ctx), "NULL") != NULL);

  /* a failure leaves its located message; a success clears it */
  CHECK(naasc_target_load(ctx, "no-such-preset", &t) == NAASC_BADINPUT && !t);
  CHECK(strstr(naasc_context_error(ctx), "no-such-preset") != NULL);
  CHECK(naasc_target_load(ctx, "eyeriss", &t) == NAASC_OK && t);
  CHECK(strcmp(naasc_context_error(ctx), "") == 0);
  CHECK(strcmp(naasc_target_name(t), "eyeriss") == 0);
  CHECK(naasc_target_levels(t) == 5 && strcmp(naasc_target_level_name(t, 0), "DRAM") == 0);
  CHECK(naasc_target_level_name(t, 5) == NULL && naasc_target_level_name(t, -1) == NULL);
  char *yaml = NULL;
  CHECK(naasc_target_print(ctx, t, &yaml) == NAASC_OK && yaml && strstr(yaml, "name: eyeriss"));
  NaascTarget *t2 = NULL;
  CHECK(naasc_target_parse(ctx, yaml, strlen(yaml), "printed", &t2) == NAASC_OK);
  char *yaml2 = NULL;
  CHECK(t2 && naasc_target_print(ctx, t2, &yaml2) == NAASC_OK && strcmp(yaml, yaml2) == 0);
  naasc_string_free(yaml);
  naasc_string_free(yaml2);
  naasc_target_destroy(t2);

  /* one layer: the cost model's figures */
  NaascTarget *lt = NULL;
  NaascProblem *lp = NULL;
  NaascMapping *lm = NULL;
  CHECK(naasc_layer_load(ctx, arch, problem, mapping, &lt, &lp, &lm) == NAASC_OK);
  NaascCost c, cf;
  CHECK(naasc_cost(ctx, lt, lp, lm, &c) == NAASC_OK);
  CHECK(c.energy_pj > 5786287778.815 && c.energy_pj < 5786287778.817); /* costmodel.cli_yaml */
  CHECK(c.cycles == 5505024 && c.macs == naasc_problem_macs(lp) && c.nlevels == 6);
  CHECK(strcmp(c.level_name[1], "shared_glb") == 0);
  CHECK(naasc_cost_files(ctx, arch, problem, mapping, &cf) == NAASC_OK);
  CHECK(memcmp(&c, &cf, sizeof c) == 0);
  CHECK(naasc_cost(ctx, lt, NULL, lm, &c) == NAASC_USAGE);

  /* the mapper on the layer: a valid mapping whose cost naasc_cost confirms */
  NaascMapping *mapped = NULL;
  NaascMapOptions mo = {.budget = 2000, .seed = 5};
  NaascCost mc;
  CHECK(naasc_map(ctx, lt, lp, &mo, &mapped, &mc) == NAASC_OK && mapped);
  CHECK(mc.macs == c.macs && mc.edp > 0);
  NaascCost again;
  CHECK(naasc_cost(ctx, lt, lp, mapped, &again) == NAASC_OK && again.edp == mc.edp);
  mo.strategy = "no-such";
  NaascMapping *none = NULL;
  CHECK(naasc_map(ctx, lt, lp, &mo, &none, NULL) == NAASC_USAGE && !none);
  CHECK(strstr(naasc_context_error(ctx), "no-such") != NULL);

  /* a located error from a bad file: FILE: LINE:COL */
  FILE *f = fopen(bad, "w");
  CHECK(f != NULL);
  if (f) {
    fputs("levels:\n  - level: DRAM\n    temporal: {Q: 8, K: 2, C: 32, X: 3}\n", f);
    fclose(f);
  }
  NaascMapping *bm = NULL;
  CHECK(naasc_mapping_load(ctx, bad, lt, &bm) == NAASC_BADINPUT && !bm);
  CHECK(strstr(naasc_context_error(ctx), bad) != NULL);
  CHECK(strstr(naasc_context_error(ctx), ": 2:3: error: 'levels': needs one entry per level") !=
        NULL);

  /* a model compiled and reported */
  NaascModel *m = NULL;
  CHECK(naasc_model_zoo(ctx, "nb201:1", 1, &m) == NAASC_OK && m);
  NaascModule *mod = NULL;
  CHECK(m && naasc_compile(ctx, m, t, NULL, &mod) == NAASC_OK && mod);
  char *json = NULL;
  CHECK(mod && naasc_module_report(ctx, mod, "layer", &json) == NAASC_OK && json);
  CHECK(json && strncmp(json, "{\n  \"format\": \"naasc-report/1\"", 30) == 0);
  naasc_string_free(json);
  CHECK(naasc_module_report(ctx, mod, "/no/such/schedule", &json) == NAASC_BADINPUT);
  CHECK(strstr(naasc_context_error(ctx), "/no/such/schedule") != NULL);
  NaascModule *bad_mod = NULL;
  CHECK(naasc_compile(ctx, m, t, "fold-bn", &bad_mod) == NAASC_BADINPUT && !bad_mod);
  CHECK(strstr(naasc_context_error(ctx), "lower") != NULL);

  /* the command line's compile, step by step (tools/naasc.c is its
   * client): flags, setup (the listing), the file, lowering, the outputs */
  char nb_path[4200], nir_path[4200], w_path[4300], cmd_path[4200], rep_path[4200];
  snprintf(nb_path, sizeof nb_path, "%s/nb201_1.onnx", dir);
  snprintf(nir_path, sizeof nir_path, "%s/nb201_1.nir", dir);
  snprintf(w_path, sizeof w_path, "%s.weights", nir_path);
  snprintf(cmd_path, sizeof cmd_path, "%s/nb201_1.cmd", dir);
  snprintf(rep_path, sizeof rep_path, "%s/nb201_1.report.json", dir);
  CHECK(m && naasc_model_write_onnx(ctx, m, nb_path) == NAASC_OK);
  char *flags[] = {"naasc",
                   "--target",
                   "eyeriss",
                   "--print-pipeline",
                   "--print-ir-after=lower",
                   "--filter-layers=classifier",
                   "--schedule"};
  NaascCompileOptions *co = naasc_compile_options_create();
  Captured listing = {.len = 0}, dumps = {.len = 0};
  int taken = 0;
  for (int i = 1; i < 6; i++) taken += naasc_compile_options_parse_flag(ctx, co, 7, flags, &i);
  CHECK(taken == 4); /* --target eyeriss (one flag, its value), and the three others */
  int k6 = 6;
  CHECK(naasc_compile_options_parse_flag(ctx, co, 7, flags, &k6) == 0); /* not a compile flag */
  naasc_compile_options_set_schedule(co, "layer");
  naasc_compile_options_set_emit(co, "nir", nir_path);
  naasc_compile_options_set_dump_handler(co, capture, &dumps);
  NaascModule *cm = NULL;
  CHECK(naasc_compile_file(ctx, nb_path, co, &cm) == NAASC_USAGE && !cm); /* setup first */
  CHECK(naasc_compile_options_setup(ctx, co, capture, &listing) == NAASC_OK);
  /* a target: -O2's pipeline maps */
  CHECK(strcmp(listing.text, "fold-bn,fuse-act,lower,map,verify\n") == 0);
  CHECK(naasc_compile_options_has_target(co) && naasc_compile_options_lowers(co) &&
        naasc_compile_options_lists(co));
  CHECK(naasc_compile_file(ctx, nb_path, co, &cm) == NAASC_OK && cm);
  char *text = NULL;
  CHECK(naasc_module_emit(ctx, cm, "summary", NULL, &text) == NAASC_OK && text &&
        strstr(text, "classifier"));
  naasc_string_free(text);
  CHECK(naasc_module_emit(ctx, cm, "nir", NULL, &text) == NAASC_USAGE); /* not lowered yet */
  CHECK(naasc_module_lower(ctx, cm) == NAASC_OK);
  /* the dump of `lower`, only the layer asked for */
  CHECK(strncmp(dumps.text, "# *** IR Dump After lower (nest) ***\n", 37) == 0 &&
        strstr(dumps.text, "classifier") && !strstr(dumps.text, "edge02"));
  CHECK(naasc_module_emit(ctx, cm, "nir", nir_path, &text) == NAASC_OK && text &&
        strstr(text, "nb201_1.nir.weights") && file_size(w_path) > 1000);
  naasc_string_free(text);
  CHECK(naasc_module_emit(ctx, cm, "cmd", cmd_path, NULL) == NAASC_OK);
  FILE *cmdf = fopen(cmd_path, "rb");
  char magic[9] = {0};
  CHECK(cmdf && fread(magic, 1, 8, cmdf) == 8 && strcmp(magic, "NAASCCMD") == 0);
  if (cmdf) fclose(cmdf);
  /* the report: the command line's figure (naasc nb201_1.onnx --target
   * eyeriss --schedule=layer --report: total 1240624 cycles), and the JSON
   * of naasc_compile's module byte for byte */
  CHECK(naasc_module_emit(ctx, cm, "report", rep_path, &text) == NAASC_OK && text);
  CHECK(text && strstr(text, "\ntotal                                 1240624 "));
  naasc_string_free(text);
  CHECK(mod && naasc_module_report(ctx, mod, "layer", &json) == NAASC_OK && json);
  FILE *rf = fopen(rep_path, "rb");
  char *rep = calloc(1, 1 << 20);
  size_t rn = rf && rep ? fread(rep, 1, (1 << 20) - 1, rf) : 0;
  if (rf) fclose(rf);
  /* (the layers' order differs: the ONNX file is written in another
   * topological order than the zoo builds) */
  const char *tot1 = json ? strstr(json, "\n  \"total\": ") : NULL,
             *tot2 = strstr(rep, "\n  \"total\": ");
  CHECK(rn > 0 && tot1 && tot2 && strcmp(tot1, tot2) == 0 && strstr(tot2, "\"cycles\": 1240624,"));
  free(rep);
  naasc_string_free(json);
  CHECK(naasc_module_emit(ctx, cm, "bogus", NULL, &text) == NAASC_USAGE);
  naasc_module_destroy(cm);
  naasc_compile_options_destroy(co);
  /* a bad pipeline: located in the pipeline text, a non-zero status */
  char *bad_flags[] = {"naasc", "-p", "fold-bn,bogus-pass"};
  co = naasc_compile_options_create();
  int k1 = 1;
  CHECK(naasc_compile_options_parse_flag(ctx, co, 3, bad_flags, &k1) == 1 && k1 == 2);
  CHECK(naasc_compile_options_setup(ctx, co, NULL, NULL) != NAASC_OK);
  CHECK(strncmp(naasc_context_error(ctx), "naasc: pipeline:9: error: unknown pass 'bogus-pass'",
                51) == 0);
  naasc_compile_options_destroy(co);
  /* a bad flag value, a missing model file */
  char *bad_jobs[] = {"naasc", "--jobs", "zero"};
  co = naasc_compile_options_create();
  k1 = 1;
  CHECK(naasc_compile_options_parse_flag(ctx, co, 3, bad_jobs, &k1) == -1);
  CHECK(strstr(naasc_context_error(ctx), "--jobs") != NULL);
  CHECK(naasc_compile_options_add_input_shape(ctx, co, "nodims") == NAASC_USAGE);
  CHECK(naasc_compile_options_setup(ctx, co, NULL, NULL) == NAASC_OK);
  CHECK(!naasc_compile_options_has_target(co) && !naasc_compile_options_lists(co));
  CHECK(naasc_compile_file(ctx, "/no/such.onnx", co, &cm) == NAASC_BADINPUT && !cm);
  CHECK(strncmp(naasc_context_error(ctx), "/no/such.onnx: ", 15) == 0);
  naasc_compile_options_destroy(co);

  /* naasc-opt's run (tools/naasc_opt.c is its client): the IR is the
   * tool's byte for byte; nb201:1 lowers to 168 nests (`naasc-opt
   * nb201_1.onnx`), the same count naasc's compile emits */
  char *ir = NULL, *tool = NULL, cmd[9000];
  CHECK(naasc_ir_run_pipeline(ctx, nb_path, "fold-bn,fuse-act,lower,verify", NULL, &ir) ==
            NAASC_OK &&
        ir);
  CHECK(strcmp(naasc_context_error(ctx), "") == 0);
  snprintf(cmd, sizeof cmd, "'%s' '%s' -p fold-bn,fuse-act,lower,verify", naasc_opt, nb_path);
  tool = command_output(cmd);
  CHECK(ir && tool && strcmp(ir, tool) == 0);
  free(tool);
  tool = NULL;
  CHECK(count_lines(ir, "nest ") == 168 && count_lines(ir, "module \"nb201:1\"") == 1);
  co = naasc_compile_options_create(); /* naasc's compile of the same file, -O2 */
  CHECK(naasc_compile_options_setup(ctx, co, NULL, NULL) == NAASC_OK);
  cm = NULL;
  char *nir_text = NULL;
  CHECK(naasc_compile_file(ctx, nb_path, co, &cm) == NAASC_OK &&
        naasc_module_lower(ctx, cm) == NAASC_OK);
  CHECK(cm && naasc_module_emit(ctx, cm, "nir", NULL, &nir_text) == NAASC_OK && nir_text);
  CHECK(ir && nir_text && strcmp(ir, nir_text) == 0); /* the default pipeline, -O2, is naasc's */
  naasc_string_free(nir_text);
  char *graph_text = NULL, graph_path[4200];
  naasc_module_destroy(cm);
  cm = NULL;
  naasc_compile_options_destroy(co);
  co = naasc_compile_options_create();
  CHECK(naasc_compile_options_setup(ctx, co, NULL, NULL) == NAASC_OK);
  CHECK(naasc_compile_file(ctx, nb_path, co, &cm) == NAASC_OK && cm);
  CHECK(cm && naasc_module_emit(ctx, cm, "graph", NULL, &graph_text) == NAASC_OK && graph_text);
  naasc_module_destroy(cm);
  naasc_compile_options_destroy(co);
  /* a graph dump with no pipeline: read, checked, printed back unchanged */
  snprintf(graph_path, sizeof graph_path, "%s/nb201_1.graph", dir);
  FILE *gf = fopen(graph_path, "w");
  if (gf) fputs(graph_text ? graph_text : "", gf), fclose(gf);
  char *ir2 = NULL;
  CHECK(naasc_ir_run_pipeline(ctx, graph_path, NULL, NULL, &ir2) == NAASC_OK && ir2 && graph_text &&
        strcmp(ir2, graph_text) == 0);
  naasc_string_free(ir2);
  /* ...and lowered with a pipeline: the same IR as from the model */
  CHECK(naasc_ir_run_pipeline(ctx, graph_path, "lower,verify", NULL, &ir2) == NAASC_OK && ir2 &&
        count_lines(ir2, "nest ") == 168);
  naasc_string_free(ir2);
  naasc_string_free(graph_text);
  /* with -o: a model mapped on a target into a .nir file with its weights
   * file beside it; then that .nir remapped, the tool's text */
  char opt_nir[4200], opt_w[4300];
  snprintf(opt_nir, sizeof opt_nir, "%s/opt.nir", dir);
  snprintf(opt_w, sizeof opt_w, "%s.weights", opt_nir);
  char *map_flags[] = {"naasc-opt", "--target", "eyeriss", "-p",
                       "fold-bn,fuse-act,lower,map{budget=30,seed=1},verify"};
  NaascCompileOptions *oo = naasc_opt_options_create();
  taken = 0;
  for (int i = 1; i < 5; i++) taken += naasc_compile_options_parse_flag(ctx, oo, 5, map_flags, &i);
  CHECK(taken == 2);
  CHECK(naasc_opt_run(ctx, oo, nb_path, opt_nir, NULL, NULL, &ir2) == NAASC_OK && ir2);
  naasc_compile_options_destroy(oo);
  snprintf(cmd, sizeof cmd, "cat '%s'", opt_nir);
  tool = command_output(cmd);
  CHECK(ir2 && tool && strcmp(ir2, tool) == 0 && strstr(ir2, "\"opt.nir.weights\"") &&
        file_size(opt_w) > 1000 && count_lines(ir2, "  map ") > 0);
  naasc_string_free(ir2);
  free(tool);
  CHECK(naasc_ir_run_pipeline(ctx, opt_nir, "map{budget=30,seed=2},verify", "eyeriss", &ir2) ==
            NAASC_OK &&
        ir2);
  snprintf(cmd, sizeof cmd, "'%s' '%s' --target eyeriss -p 'map{budget=30,seed=2},verify'",
           naasc_opt, opt_nir);
  tool = command_output(cmd);
  CHECK(ir2 && tool && strcmp(ir2, tool) == 0 && count_lines(ir2, "nest ") == 168);
  naasc_string_free(ir2);
  free(tool);
  naasc_string_free(ir);
  /* bad input: an unknown pass (usage, located in the pipeline text), a
   * missing file (located in it), a map without a target */
  CHECK(naasc_ir_run_pipeline(ctx, nb_path, "lower,bogus-pass", NULL, &ir) == NAASC_USAGE && !ir);
  CHECK(strncmp(naasc_context_error(ctx), "naasc-opt: pipeline:7: error: unknown pass 'bogus-pass'",
                55) == 0);
  CHECK(naasc_ir_run_pipeline(ctx, "/no/such.nir", NULL, NULL, &ir) == NAASC_BADINPUT && !ir);
  CHECK(strncmp(naasc_context_error(ctx), "/no/such.nir: ", 14) == 0);
  CHECK(naasc_ir_run_pipeline(ctx, nir_path, "map", NULL, &ir) != NAASC_OK && !ir);
  CHECK(strstr(naasc_context_error(ctx), nir_path) != NULL);
  CHECK(naasc_ir_run_pipeline(ctx, NULL, NULL, NULL, &ir) == NAASC_USAGE);
  /* the options form: flags, the listing, once only */
  char *opt_flags[] = {"naasc-opt", "-O2", "--print-pipeline", "--no-fold", "--target", "eyeriss"};
  oo = naasc_opt_options_create();
  taken = 0;
  for (int i = 1; i < 6; i++) taken += naasc_compile_options_parse_flag(ctx, oo, 6, opt_flags, &i);
  CHECK(taken == 3); /* -O2, --print-pipeline, --target eyeriss; --no-fold is naasc's */
  Captured ol = {.len = 0};
  CHECK(naasc_opt_run(ctx, oo, NULL, NULL, capture, &ol, &ir) == NAASC_OK && !ir);
  /* naasc-opt's -O2 is what it names, a target or not */
  CHECK(strcmp(ol.text, "fold-bn,fuse-act,lower,verify\n") == 0 && naasc_compile_options_lists(oo));
  CHECK(naasc_opt_run(ctx, oo, nb_path, NULL, NULL, NULL, &ir) == NAASC_USAGE);
  CHECK(strstr(naasc_context_error(ctx), "once") != NULL);
  CHECK(naasc_compile_options_setup(ctx, oo, NULL, NULL) == NAASC_USAGE);
  naasc_compile_options_destroy(oo);
  CHECK(naasc_opt_run(ctx, NULL, nb_path, NULL, NULL, NULL, &ir) == NAASC_USAGE);

  /* the network search (tools/naasc_nas.c is its client): a small run */
  char nas_dir[4200], hist_path[4300];
  snprintf(nas_dir, sizeof nas_dir, "%s/nas", dir);
  snprintf(hist_path, sizeof hist_path, "%s/history.csv", nas_dir);
  NaascNasDriveOptions no;
  naasc_nas_drive_options_default(&no);
  CHECK(no.cycles == 100 && no.population == 20 && no.map_budget == 400 && no.min_accuracy < 0);
  no.budget = "eyeriss";
  no.dir = nas_dir;
  no.data = nb201_csv;
  no.min_accuracy = 85;
  no.cycles = 2, no.population = 2, no.sample = 1, no.seed = 3;
  no.naas_iterations = 1, no.naas_popsize = 4, no.map_budget = 30, no.no_baselines = 1;
  no.final_map_budget = 300; /* the contract, not the design: kept short under ASan */
  char *summary = NULL;
  CHECK(naasc_nas_drive(ctx, &no, &summary) == NAASC_OK && summary);
  int networks = -1;
  const char *scored = summary ? strstr(summary, " networks scored in ") : NULL;
  while (scored && scored > summary && scored[-1] >= '0' && scored[-1] <= '9') scored--;
  CHECK(summary && strncmp(summary, "network ", 8) == 0 && strstr(summary, "cifar10 accuracy ") &&
        scored && sscanf(scored, "%d", &networks) == 1);
  /* history.csv: a header and one row per network scored */
  char *hist = NULL;
  snprintf(cmd, sizeof cmd, "cat '%s'", hist_path);
  hist = command_output(cmd);
  CHECK(hist && networks >= 1 && networks <= 2 && count_lines(hist, "") == networks + 1);
  free(hist);
  CHECK(file_size(hist_path) > 0);
  snprintf(cmd, sizeof cmd, "%s/network.report.json", nas_dir);
  CHECK(file_size(cmd) > 100);
  snprintf(cmd, sizeof cmd, "%s/network.nir", nas_dir);
  CHECK(file_size(cmd) > 100);
  naasc_string_free(summary);
  /* a bound no network meets: the closest, its line, and NAASC_BADINPUT */
  no.min_accuracy = -1, no.max_edp = 1e-3, no.cycles = 1, no.population = 1;
  CHECK(naasc_nas_drive(ctx, &no, &summary) == NAASC_BADINPUT && summary &&
        strstr(summary, "(the bound was not met: the closest design)"));
  CHECK(strstr(naasc_context_error(ctx),
               "naasc: error: no network scored met the bound (--max-edp 0.001)"));
  naasc_string_free(summary);
  /* bad options: usage, named; a missing table: bad input, located in it */
  no.dataset = "mnist";
  CHECK(naasc_nas_drive(ctx, &no, &summary) == NAASC_USAGE && !summary);
  CHECK(strstr(naasc_context_error(ctx), "'mnist'") != NULL);
  no.dataset = "cifar10";
  no.min_accuracy = 90; /* and max_edp: two bounds */
  CHECK(naasc_nas_drive(ctx, &no, &summary) == NAASC_USAGE);
  CHECK(strstr(naasc_context_error(ctx), "exactly one bound") != NULL);
  no.max_edp = 0;
  no.data = "/no/such.csv";
  CHECK(naasc_nas_drive(ctx, &no, &summary) == NAASC_BADINPUT && !summary);
  CHECK(strstr(naasc_context_error(ctx), "/no/such.csv") != NULL);
  CHECK(naasc_nas_drive(ctx, NULL, &summary) == NAASC_USAGE);

  /* what the tools call (tools/): the diagnostic handler gets errors and
   * the warnings of a call that succeeds; the zoo; precision; the cost
   * table; the technology model */
  Captured cap = {.len = 0};
  naasc_context_set_diagnostic_handler(ctx, capture, &cap);
  NaascTarget *t3 = NULL;
  CHECK(naasc_target_load(ctx, "no-such-preset", &t3) == NAASC_BADINPUT && !t3);
  size_t el = strlen(naasc_context_error(ctx));
  CHECK(el > 0 && cap.len == el + 1 && strncmp(cap.text, naasc_context_error(ctx), el) == 0 &&
        cap.text[el] == '\n');
  cap.len = 0;
  CHECK(naasc_target_set_precision(ctx, lt, "w8a8") == NAASC_OK);
  CHECK(strcmp(naasc_context_error(ctx), "") == 0);
  CHECK(strncmp(cap.text, "eyeriss_like: warning: no technology node", 41) == 0);
  CHECK(naasc_target_set_precision(ctx, lt, "w77") == NAASC_BADINPUT);
  naasc_context_set_diagnostic_handler(ctx, NULL, NULL);
  cap.len = 0;
  CHECK(naasc_target_load(ctx, "no-such-preset", &t3) == NAASC_BADINPUT && cap.len == 0);
  CHECK(naasc_zoo_count() > 10 && strcmp(naasc_zoo_name(0), "vgg16") == 0);
  CHECK(naasc_zoo_description(0) && !naasc_zoo_name(-1) && !naasc_zoo_name(naasc_zoo_count()));
  NaascModel *zs = NULL;
  char onnx_path[4200];
  snprintf(onnx_path, sizeof onnx_path, "%s/squeezenet.onnx", dir);
  CHECK(naasc_model_zoo_shapes(ctx, "squeezenet", &zs) == NAASC_OK && zs);
  CHECK(naasc_model_write_onnx(ctx, zs, onnx_path) == NAASC_OK && file_size(onnx_path) > 1000 &&
        file_size(onnx_path) < 100000); /* no weights: shapes only */
  naasc_model_destroy(zs);
  char *table = NULL;
  CHECK(naasc_cost_table(ctx, lt, lp, lm, &table) == NAASC_OK && table);
  CHECK(table && strncmp(table, "level ", 6) == 0 && strstr(table, "\nenergy_pJ "));
  naasc_string_free(table);
  const char *attrs[] = {"depth=2048", "width=256", "banks=4", "technology=45nm"};
  char *tj = NULL;
  CHECK(naasc_tech(ctx, "sram", attrs, 4, &tj) == NAASC_OK && tj && tj[0] == '{' &&
        strstr(tj, "\"read_pj\": ") && tj[strlen(tj) - 1] == '\n');
  naasc_string_free(tj);
  const char *bad_attrs[] = {"depth"};
  CHECK(naasc_tech(ctx, "sram", bad_attrs, 1, &tj) == NAASC_USAGE);
  CHECK(naasc_tech(ctx, "flux", NULL, 0, &tj) == NAASC_BADINPUT);
  CHECK(strstr(naasc_context_error(ctx), "unknown component kind 'flux'") != NULL);

  /* a command stream run through the API (tools/naasc_run.c is its client):
   * nb201:1's stream (above) with a generated input; its output written as
   * a TensorProto equal byte for byte to naasc-run's, the counts text equal
   * to naasc-run --counts's stdout, the same output from an input bound
   * from the .pb file; a truncated stream refused located in it */
  NaascStream *st = NULL;
  CHECK(naasc_stream_load(ctx, cmd_path, "eyeriss", 0, &st) == NAASC_OK && st);
  CHECK(naasc_stream_input_count(st) == 1 && naasc_stream_output_count(st) == 1);
  NaascTensorInfo ti, to;
  CHECK(naasc_stream_input_info(ctx, st, 0, &ti) == NAASC_OK && strcmp(ti.name, "input") == 0 &&
        ti.dtype == 1 && strcmp(ti.dtype_name, "f32") == 0 && ti.rank == 4 && ti.dims[0] == 1 &&
        ti.dims[1] == 3 && ti.dims[2] == 32 && ti.dims[3] == 32 && ti.numel == 3072 &&
        ti.bytes == 3072 * 4);
  CHECK(naasc_stream_output_info(ctx, st, 0, &to) == NAASC_OK && strcmp(to.name, "output") == 0 &&
        to.rank == 2 && to.dims[1] == 10 && to.bytes == 40);
  CHECK(naasc_stream_input_info(ctx, st, 1, &ti) == NAASC_USAGE);
  float xin[3072], y1[10], y2[10];
  uint32_t lcg = 1;
  for (int i = 0; i < 3072; i++) {
    lcg = lcg * 1664525u + 1013904223u;
    xin[i] = (float)(lcg >> 8) / (float)(1u << 24) * 2.0f - 1.0f;
  }
  int64_t xdims[4] = {1, 3, 32, 32}, short_dims[4] = {1, 2, 32, 32};
  /* not bound yet: the run names the input */
  CHECK(naasc_stream_run(ctx, st, NULL) == NAASC_BADINPUT &&
        strstr(naasc_context_error(ctx), "'input'"));
  CHECK(naasc_stream_bind(ctx, st, "input", 1, 4, short_dims, xin, 2048 * 4) == NAASC_BADINPUT &&
        strstr(naasc_context_error(ctx), "input 'input': expected f32 with 4 dims"));
  CHECK(naasc_stream_bind(ctx, st, "input", 1, 4, xdims, xin, 100) == NAASC_BADINPUT &&
        strstr(naasc_context_error(ctx), "100 bytes given"));
  CHECK(naasc_stream_bind(ctx, st, "nope", 1, 4, xdims, xin, sizeof xin) == NAASC_BADINPUT &&
        strstr(naasc_context_error(ctx), "no input 'nope'"));
  CHECK(naasc_stream_bind(ctx, st, "input", 1, 4, xdims, xin, sizeof xin) == NAASC_OK);
  NaascRunOptions ro = {.count = 1};
  CHECK(naasc_stream_run(ctx, st, &ro) == NAASC_OK);
  CHECK(naasc_stream_read(ctx, st, "output", y1, sizeof y1) == NAASC_OK);
  CHECK(naasc_stream_read(ctx, st, "output", y1, 4) == NAASC_USAGE);
  char in_pb[4300], out_pb[4300], run_dir[4300], run_bin[4300], trunc_path[4300], rcmd[20000];
  snprintf(in_pb, sizeof in_pb, "%s/stream_input.pb", dir);
  snprintf(out_pb, sizeof out_pb, "%s/stream_output.pb", dir);
  snprintf(run_dir, sizeof run_dir, "%s/stream_run", dir);
  snprintf(trunc_path, sizeof trunc_path, "%s/truncated.cmd", dir);
  /* naasc-run is built beside naasc-opt (tools/) */
  snprintf(run_bin, sizeof run_bin, "%s", naasc_opt);
  char *slash = strrchr(run_bin, '/');
  snprintf(slash ? slash + 1 : run_bin, sizeof run_bin - (size_t)(slash ? slash + 1 - run_bin : 0),
           "naasc-run");
  CHECK(naasc_stream_write_output(ctx, st, "input", in_pb) == NAASC_OK);
  CHECK(naasc_stream_write_output(ctx, st, "output", out_pb) == NAASC_OK);
  char *counts = NULL, *host = NULL, *moved = NULL;
  CHECK(naasc_stream_report(ctx, st, "counts", &counts) == NAASC_OK && counts);
  CHECK(naasc_stream_report(ctx, st, "host", &host) == NAASC_OK && host && !*host);
  CHECK(naasc_stream_report(ctx, st, "moved", &moved) == NAASC_OK && moved);
  CHECK(naasc_stream_report(ctx, st, "bogus", &text) == NAASC_USAGE && !text);
  /* the struct form: the counts text's rows are the counted layers' nonzero
   * (level, tensor) triples */
  int rows = 0, nl = naasc_stream_layer_count(st), counted = 0;
  for (int i = 0; i < nl; i++) {
    NaascLayerCounts lc;
    CHECK(naasc_stream_layer_counts(ctx, st, i, &lc) == NAASC_OK);
    counted += lc.counted;
    for (int l = 0; lc.counted && l < lc.nlevels; l++)
      for (int k = 0; k < 3; k++) rows += lc.reads[l][k] || lc.fills[l][k] || lc.updates[l][k];
  }
  CHECK(counted > 0 && rows > 0 && count_lines(counts, "") == rows + 1);
  NaascStreamStats ss;
  CHECK(naasc_stream_stats(ctx, st, &ss) == NAASC_OK && ss.memory > 0 &&
        ss.memory <= ss.memory_unshared && ss.max_memory == (int64_t)4 << 30 && !ss.kernels_used &&
        ss.host_layers == 0);
  snprintf(rcmd, sizeof rcmd, "'%s' '%s' --no-jit --counts --input input='%s' -o '%s'", run_bin,
           cmd_path, in_pb, run_dir);
  tool = command_output(rcmd);
  CHECK(tool && counts && host && strlen(tool) == strlen(counts) + strlen(host) &&
        strncmp(tool, counts, strlen(counts)) == 0);
  free(tool);
  snprintf(rcmd, sizeof rcmd, "cmp -s '%s' '%s/output.pb'", out_pb, run_dir);
  CHECK(system(rcmd) == 0);
  snprintf(rcmd, sizeof rcmd, "'%s' '%s' --no-jit --moved --input input='%s'", run_bin, cmd_path,
           in_pb);
  tool = command_output(rcmd);
  CHECK(tool && moved && strcmp(tool, moved) == 0);
  free(tool);
  tool = NULL;
  naasc_string_free(counts);
  naasc_string_free(host);
  naasc_string_free(moved);
  naasc_stream_destroy(st);
  st = NULL;
  /* the same stream bound from the .pb file, the reference interpreter */
  CHECK(naasc_stream_load(ctx, cmd_path, NULL, 0, &st) == NAASC_OK);
  CHECK(naasc_stream_bind_file(ctx, st, "input", in_pb) == NAASC_OK);
  NaascRunOptions ref = {.reference = 1};
  CHECK(naasc_stream_run(ctx, st, &ref) == NAASC_OK);
  CHECK(naasc_stream_read(ctx, st, "output", y2, sizeof y2) == NAASC_OK);
  float diff = 0, top = 0; /* tiled and untiled sum in different orders */
  for (int i = 0; i < 10; i++) {
    float e = y1[i] > y2[i] ? y1[i] - y2[i] : y2[i] - y1[i];
    diff = e > diff ? e : diff;
    top = y1[i] > top ? y1[i] : -y1[i] > top ? -y1[i] : top;
  }
  CHECK(top > 0 && diff <= 1e-5f * top);
  CHECK(naasc_stream_bind_file(ctx, st, "input", "/no/such.pb") == NAASC_BADINPUT &&
        strncmp(naasc_context_error(ctx), "/no/such.pb: ", 13) == 0);
  naasc_stream_destroy(st);
  st = NULL;
  /* a truncated stream, a stream for another target, a cap too small */
  FILE *sf = fopen(cmd_path, "rb"), *tf = fopen(trunc_path, "wb");
  char head[300];
  CHECK(sf && tf && fread(head, 1, sizeof head, sf) == sizeof head &&
        fwrite(head, 1, sizeof head, tf) == sizeof head);
  if (sf) fclose(sf);
  if (tf) fclose(tf);
  CHECK(naasc_stream_load(ctx, trunc_path, NULL, 0, &st) == NAASC_BADINPUT && !st);
  char want[4400];
  snprintf(want, sizeof want,
           "%s: offset 12: error: the section table does not describe a "
           "300-byte stream",
           trunc_path);
  CHECK(strncmp(naasc_context_error(ctx), want, strlen(want)) == 0);
  CHECK(naasc_stream_load(ctx, cmd_path, "edgetpu", 0, &st) == NAASC_BADINPUT && !st &&
        strstr(naasc_context_error(ctx), "compiled for another architecture") &&
        strstr(naasc_context_error(ctx), "not 'edgetpu'"));
  CHECK(naasc_stream_load(ctx, cmd_path, NULL, 1024, &st) == NAASC_BADINPUT && !st);
  snprintf(want, sizeof want, "%s: ", cmd_path);
  CHECK(strncmp(naasc_context_error(ctx), want, strlen(want)) == 0);
  CHECK(naasc_stream_load(ctx, NULL, NULL, 0, &st) == NAASC_USAGE);
  CHECK(naasc_stream_run(ctx, NULL, NULL) == NAASC_USAGE);
  naasc_kernel_provider_destroy(NULL);

  naasc_module_destroy(mod);
  naasc_model_destroy(m);
  naasc_mapping_destroy(mapped);
  naasc_target_destroy(lt);
  naasc_problem_destroy(lp);
  naasc_mapping_destroy(lm);
  naasc_target_destroy(t);
  naasc_context_destroy(ctx);

  fflush(stdout);
  fflush(stderr);
  long so = file_size(out_path), se = file_size(err_path);
  CHECK(so == 0); /* the library printed nothing */
  CHECK(se == 0);
  fprintf(saved, "test_api: %s (%d failures; library output %ld+%ld bytes)\n",
          failures ? "FAIL" : "ok", failures, so, se);
  fclose(saved);
  return failures ? 1 : 0;
}
