/*
 * passes.h: the public interface of passes/ (included as "passes/passes.h";
 * passes/ depends on search/, backend/ and ir/): lowering the graph IR to
 * the loop-nest IR, the passes, the pass manager that runs pipelines of
 * them with MLIR/LLVM-style instrumentation (IR printing, timing,
 * statistics, debug output, verification after each pass), the cost report,
 * and the pass plugin API.
 *
 * A pipeline is a string: "fold-bn,fuse-act,lower,verify" or with options
 * "tile{level=glb,K=16}".  A pass acts on one IR level: the graph (before
 * `lower`), the loop nests (after it), or it is `lower` itself.  Plugins
 * add passes through one entry point (the last section).
 */
#ifndef NAASC_PASSES_H
#define NAASC_PASSES_H

#include "ir/ir.h"

/* Folds BatchNormalization into the Conv (or ConvTranspose) before it. */
Rc graph_fold_bn(Model *m, Diag *d);
/* Keeps an activation with its producing layer (Node.act). */
Rc graph_fuse_act(Model *m, Diag *d);

/* Graph IR -> loop-nest IR: one nest per live node (Concat: one per input). */
Rc lower_model(const Model *g, Module **out, Diag *d);
/* What lower_model makes of op today: "mac nest (PE array)", "vector nest",
 * "view" or "host nest" (an op the accelerator does not run yet: one nest
 * reading and writing whole tensors, not costed, for host/ to evaluate). */
const char *lower_target(Op op);

/* What a pipeline transforms: the graph until `lower`, then the nests. */
typedef struct {
  Model *graph;      /* owned; NULL once lowered */
  Module *mod;       /* owned; NULL before `lower` */
  const Arch *arch;  /* the target accelerator (--target), or NULL */
  int jobs;          /* threads passes may use (--jobs); 0 or 1: one */
  bool keep_weights; /* `lower` keeps the graph in `weights` instead of freeing it */
  Model *weights;    /* owned; the lowered graph, for its weight data (cmd_emit) */
} Program;

void program_free(Program *p);

typedef enum { PASS_GRAPH = 0, PASS_NEST, PASS_LOWER } PassLevel;

#define PASS_MAX_OPTS 16
typedef struct {
  int n;
  struct {
    const char *key, *value;
  } v[PASS_MAX_OPTS];
} PassArgs;

/* The value of option `key`, or NULL. */
const char *pass_arg(const PassArgs *a, const char *key);

typedef struct PassCtx PassCtx;
/* Adds delta to the counter `name` of the running pass (--stats). */
void pass_stat(PassCtx *c, const char *name, int64_t delta);
/* Whether --debug-only names `component` (or --debug was given). */
bool pass_debug_enabled(const PassCtx *c, const char *component);
void pass_debug(const PassCtx *c, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

typedef Rc (*PassFn)(Program *p, const PassArgs *args, PassCtx *ctx, Diag *d);

typedef struct {
  const char *name;    /* as written in pipelines */
  const char *summary; /* one line, for --list-passes */
  PassLevel level;
  const char *options; /* accepted option keys, comma-separated; "*" any; NULL none */
  PassFn run;
} PassInfo;

typedef struct PassRegistry PassRegistry;
PassRegistry *pass_registry_create(void); /* with the built-in passes */
void pass_registry_destroy(PassRegistry *r);
bool pass_register(PassRegistry *r, const PassInfo *info); /* false: name taken or full */
const PassInfo *pass_find(const PassRegistry *r, const char *name);
void pass_list(FILE *f, const PassRegistry *r);
/* Loads a plugin (the last section) and registers its passes. */
Rc pass_load_plugin(PassRegistry *r, const char *path, Diag *d);

/* Named pipelines. */
#define PIPELINE_O0 "lower,verify"
#define PIPELINE_O2 "fold-bn,fuse-act,lower,verify"
/* The same when a target is given: the layers are mapped too. */
#define PIPELINE_O0_MAP "lower,map,verify"
#define PIPELINE_O2_MAP "fold-bn,fuse-act,lower,map,verify"

#define PIPELINE_MAX 64
typedef struct {
  int n;
  const PassInfo *pass[PIPELINE_MAX];
  PassArgs args[PIPELINE_MAX];
  Arena arena; /* option strings */
} Pipeline;

/* Parses text ("pass{key=value,...},pass,..."); free *out with pipeline_free
 * after RC_OK.  A refusal (reported through d) leaves nothing to free, and
 * pipeline_free of it is harmless. */
Rc pipeline_parse(const PassRegistry *r, const char *text, Pipeline *out, Diag *d);
void pipeline_print(FILE *f, const Pipeline *pl); /* the expanded pipeline, reparseable */
void pipeline_free(Pipeline *pl);

#define PM_MAX_NAMES 32
typedef struct {
  const char *print_before[PM_MAX_NAMES];
  int nprint_before;
  const char *print_after[PM_MAX_NAMES];
  int nprint_after;
  bool print_after_all, print_after_change, print_after_failure;
  const char *tree_dir;             /* --print-ir-tree-dir */
  const char *filter[PM_MAX_NAMES]; /* --filter-layers; each entry a comma-separated list */
  int nfilter;
  bool time_passes, stats;
  const char *stats_json;               /* --stats-json=FILE */
  const char *debug_only[PM_MAX_NAMES]; /* --debug-only */
  int ndebug;
  bool debug_all; /* --debug */
  bool verify_each;
  FILE *dump; /* where IR dumps go (stderr) */
} PMOptions;

void pm_options_default(PMOptions *o); /* verify_each on in builds without NDEBUG */
/* Parses one instrumentation flag; returns 1 if taken, 0 if not ours, -1 if malformed. */
int pm_parse_flag(PMOptions *o, const char *arg, Diag *d);
/* Runs the pipeline on p.  Stops at the first failing pass. */
Rc pm_run(const Pipeline *pl, Program *p, const PMOptions *o, Diag *d);

/* The pipeline flags shared by naasc and naasc-opt: -O0, -O2,
 * --pass-pipeline=P (-p P), --print-pipeline, --list-passes,
 * --load-pass-plugin=LIB, --target=NAME|FILE, --assume=MODE, --precision=P,
 * --jobs=N, and every pm_parse_flag instrumentation flag. */
typedef struct {
  const char *pipeline;
  bool pipeline_given; /* -p/--pass-pipeline: run as written (a named one may gain map) */
  const char *target;  /* --target NAME|FILE */
  int assume;          /* --assume physical|naas: ArchAssume applied to the target */
  int jobs;            /* --jobs N */
  bool print_pipeline, list_passes;
  const char *plugins[16];
  int nplugins;
  PMOptions pm;
  const char *precision; /* --precision P (precision_parse): the target re-expressed at it;
                            "model": the caller applies the model's (precision_of_model) */
} DriverOptions;

void driver_options_default(DriverOptions *o, const char *pipeline);
/* Parses argv[*i] (and its value); 1 taken, 0 not a pipeline flag, -1 malformed (reported). */
int driver_parse_flag(DriverOptions *o, int argc, char **argv, int *i, Diag *d);
/* Makes the registry (built-ins and plugins) and parses the pipeline; handles
 * --list-passes and --print-pipeline (printing to out).  On failure nothing
 * is left to free. */
Rc driver_setup(const DriverOptions *o, PassRegistry **reg, Pipeline *pl, FILE *out, Diag *d);

/* Loads the --target architecture: a preset name, an architecture YAML file,
 * or a Timeloop validation case (*.json, its arch), at --precision if given
 * (arch_set_precision), under --assume.  No target: RC_OK. */
Rc driver_load_target(const DriverOptions *o, Arch *a, Diag *d);

/* The cost report of a mapped module (report.c): a table to `table` (may be
 * NULL) and, with json_path, JSON there and an SVG chart beside it. */
Rc report_write(const Module *m, const Arch *a, FILE *table, const char *json_path, Diag *d);

/* Verifies the nests (and mappings against the target) unless the pipeline
 * that ran ended with `verify`: nothing is emitted unverified. */
Rc pm_verify_before_emit(const PassRegistry *r, const Pipeline *ran, Program *p, Diag *d);

/* Prints the current IR (graph or nests), restricted to the named layers if any. */
void program_print(FILE *f, const Program *p, const char *const *filter, int nfilter);

/* ---- pass plugins ---------------------------------------------------------
 * A plugin is a shared library loaded with --load-pass-plugin=LIB.so.  It
 * includes this header and defines one function, naasc_plugin_info,
 * returning a static description: the API version it was built against
 * (NAASC_PLUGIN_API_VERSION; another value is refused), its name and
 * version, and a function that registers its passes with pass_register().
 * The plugin may call any function of ir/ir.h and of this header: the naasc
 * executables export them (CMake ENABLE_EXPORTS).
 *
 * Example: passes/examples/intensity.c. */

#define NAASC_PLUGIN_API_VERSION 1

typedef struct {
  int api_version;
  const char *name;
  const char *version;
  bool (*register_passes)(PassRegistry *r);
} NaascPluginInfo;

/* The entry point every plugin defines (naasc itself does not). */
const NaascPluginInfo *naasc_plugin_info(void);
typedef const NaascPluginInfo *(*NaascPluginInfoFn)(void);
#define NAASC_PLUGIN_ENTRY "naasc_plugin_info"

/* ---- the report of a whole-network schedule (report.c) ----------------------
 * report_write with every mac nest's cost taken from per_nest (schedule_eval's
 * results for s) and, when s has groups, a section per group: its DRAM
 * words, energy and cycles against its layers run alone, and the network's
 * against layer by layer (in JSON under "schedule").  Without groups it is
 * report_write, byte for byte. */
Rc report_write_schedule(const Module *m, const Arch *a, const Schedule *s,
                         const CostResult *per_nest, FILE *table, const char *json_path, Diag *d);

/* The schedule of a mapped program and its report (schedule_report.c), as
 * --schedule=HOW with --report and/or --emit=schedule: HOW "best" (searched,
 * kept only if the evaluation confirms it beats layer by layer), "layer",
 * or a schedule file.  With emit_sched the schedule's text goes to f;
 * with report, report_write_schedule's table goes to f (unless emit_sched;
 * f may be NULL) and its JSON to the file report (none if "-"). */
Rc schedule_report(const Program *p, const char *how, FILE *f, bool emit_sched, const char *report,
                   Diag *d);
/* Sets p->mod's fused groups (NestGroup, ir/ir.h) to the schedule HOW
 * names, as schedule_report gets it ("best" searched, with stream only
 * among the groups a command stream runs (SchedOptions.stream); "layer":
 * none; else a schedule file). */
Rc schedule_attach(Program *p, const char *how, bool stream, Diag *d);

#endif
