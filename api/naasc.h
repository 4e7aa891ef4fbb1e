/*
 * naasc.h: the C API of naasc for embedding (included as "api/naasc.h", or
 * as <naasc.h> when installed).  It is the one public header of api/, which
 * builds libnaasc.so; the Python module (python/naasc) is a ctypes client
 * of it (docs/api.md).
 *
 * In the style of the MLIR C API: every object is an opaque handle made by
 * a `naasc_*_create`/`_load`/`_import` function and freed by its
 * `_destroy`; every fallible function returns a NaascStatus (the tools'
 * exit codes) and leaves the located message of its failure in the
 * NaascContext it was given ("m.onnx: node 'conv_3': error: ...",
 * "a.yaml:12:5: error: ..."), read with naasc_context_error.  The library
 * never exits and never prints: what the tools would print to stderr goes
 * to the context (and, as it is reported, to the context's diagnostic
 * handler if one is set: that is how the tools, clients of this header,
 * print their messages).
 *
 * Nouns:
 *   NaascContext  the error message of the last call, the thread count, the
 *                 diagnostic handler;
 *   NaascModel    an imported ONNX model (or a zoo network);
 *   NaascTarget   an accelerator (a preset, naasc's YAML, Timeloop's files);
 *   NaascModule   a model compiled (lowered, every layer mapped) for a target;
 *   NaascProblem, NaascMapping
 *                 one layer's shape and its mapping on a target;
 *   NaascSearch   the NAAS accelerator co-search over one or more models;
 *   NaascStream   a command stream loaded to run (its inputs, outputs,
 *                 counters); NaascKernelProvider what compiles its tiles;
 *   NaascTensor   a dtype, a shape and dense data, owned or borrowed.
 *
 * Strings the library returns through `char **` are heap strings the caller
 * frees with naasc_string_free.  Reports are the JSON the command line
 * writes (naasc-report/1, naasc-search-log/1), byte for byte.
 *
 * Threads: a handle is used by one thread at a time; distinct handles
 * (and distinct contexts) may be used from distinct threads.
 */
#ifndef NAASC_H
#define NAASC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The API's version: calls are added, never changed, within a major.
 * 2: NaascNasDriveOptions grew on_progress (its size changed), and the
 * command-stream calls (naasc_stream_*) and kernel providers came.
 * 3: NaascNasDriveOptions grew on_predictor (its size changed); tensor
 * handles (naasc_tensor_*), .npy files and the counters' JSON came;
 * NaascSearchDriveOptions grew rerank.  Within 3, .npz archives came
 * (naasc_tensor_parse_npz, _load_npz, _list_destroy, naasc_stream_bind_npz):
 * calls added, no struct changed, so the version stays. */
#define NAASC_API_VERSION 3

/* Status codes; the same values as the tools' exit codes. */
typedef enum {
  NAASC_OK = 0,
  NAASC_BADINPUT = 1, /* the input (model, file, value) is wrong: see naasc_context_error */
  NAASC_USAGE = 2,    /* the call is wrong (a NULL handle, an unknown option name) */
  NAASC_INTERNAL = 3  /* a bug or an exhausted resource */
} NaascStatus;

typedef struct NaascContext NaascContext;
typedef struct NaascModel NaascModel;
typedef struct NaascTarget NaascTarget;
typedef struct NaascModule NaascModule;
typedef struct NaascProblem NaascProblem;
typedef struct NaascMapping NaascMapping;
typedef struct NaascSearch NaascSearch;

/* ---- context and strings -------------------------------------------------- */

int naasc_api_version(void);     /* NAASC_API_VERSION of the library */
const char *naasc_version(void); /* "0.1.0" */

NaascContext *naasc_context_create(void); /* NULL if out of memory */
void naasc_context_destroy(NaascContext *ctx);
/* The messages of the last call that failed with this context ("" if the
 * last call succeeded): one or more "FILE: WHERE: error: ..." lines, no
 * trailing newline.  Borrowed: valid until the next call with ctx. */
const char *naasc_context_error(const NaascContext *ctx);
/* Threads the mapper and the search may use (default 1). */
void naasc_context_set_jobs(NaascContext *ctx, int jobs);
/* Receives the text of messages as a call reports them: errors, and the
 * warnings and notes that naasc_context_error does not keep (a call that
 * succeeds may still warn).  text is what the command line prints to
 * stderr, newlines included; len its length.  It is called during the
 * call, from its thread, once or more per message. */
typedef void (*NaascDiagnosticFn)(void *user, const char *text, size_t len);
/* Sets ctx's handler (NULL: none, the default).  A failing call still
 * leaves its errors in naasc_context_error. */
void naasc_context_set_diagnostic_handler(NaascContext *ctx, NaascDiagnosticFn fn, void *user);

void naasc_string_free(char *s);

/* ---- models --------------------------------------------------------------- */

/* Imports an ONNX file.  input_shapes[0..nshapes) fix dynamic inputs, each
 * "NAME=DIMS" as naasc's --input-shape ("x=1x3x224x224"); may be NULL. */
NaascStatus naasc_model_import(NaascContext *ctx, const char *path, const char *const *input_shapes,
                               int nshapes, NaascModel **out);
/* A network of the bundled zoo (naasc zoo --list) with weights from seed. */
NaascStatus naasc_model_zoo(NaascContext *ctx, const char *name, uint64_t seed, NaascModel **out);
/* A network of the zoo without weight values (`naasc zoo NAME
 * --no-weights`): every parameter is a graph input of its shape. */
NaascStatus naasc_model_zoo_shapes(NaascContext *ctx, const char *name, NaascModel **out);
/* The zoo's networks, in a fixed order: i in [0, naasc_zoo_count()); NULL
 * out of range.  Borrowed.  (A name may be a family, e.g. "nb201:ARCH".) */
int naasc_zoo_count(void);
const char *naasc_zoo_name(int i);
const char *naasc_zoo_description(int i);
void naasc_model_destroy(NaascModel *m);
const char *naasc_model_name(const NaascModel *m); /* borrowed */
/* Writes the model as imported as an ONNX file (opset 13), atomically
 * (`naasc zoo NAME -o FILE.onnx`, `naasc MODEL --emit=onnx -o FILE`). */
NaascStatus naasc_model_write_onnx(NaascContext *ctx, const NaascModel *m, const char *path);
/* The summary table of the model as imported (`naasc MODEL --summary --no-fold`). */
NaascStatus naasc_model_summary(NaascContext *ctx, const NaascModel *m, char **text);

/* ---- targets -------------------------------------------------------------- */

/* A preset name, an architecture YAML file (naasc's or Timeloop's), a folder
 * of Timeloop files or a Timeloop validation case: what --target takes. */
NaascStatus naasc_target_load(NaascContext *ctx, const char *name_or_path, NaascTarget **out);
/* naasc's architecture YAML (docs/cost-model.md) from memory; name is what
 * messages call it. */
NaascStatus naasc_target_parse(NaascContext *ctx, const char *yaml, size_t len, const char *name,
                               NaascTarget **out);
void naasc_target_destroy(NaascTarget *t);
const char *naasc_target_name(const NaascTarget *t); /* borrowed */
int naasc_target_levels(const NaascTarget *t);       /* storage levels, DRAM included */
const char *naasc_target_level_name(const NaascTarget *t, int level); /* NULL if out of range */
/* The target at precision `precision` (--precision: "w8a8", "int8",
 * "fp16", ...; docs/technology.md): its word widths and the energies and
 * area that depend on them.  ("model", the model's own, needs a model: use
 * the command line.) */
NaascStatus naasc_target_set_precision(NaascContext *ctx, NaascTarget *t, const char *precision);
/* The target in naasc's YAML (what --print-arch prints; parses back). */
NaascStatus naasc_target_print(NaascContext *ctx, const NaascTarget *t, char **yaml);
/* The preset names, in a fixed order; *n gets their count (borrowed). */
const char *const *naasc_target_presets(int *n);

/* ---- compiling ------------------------------------------------------------ */

/* Compiles m for t: the pass pipeline (NULL: -O2's with mapping,
 * "fold-bn,fuse-act,lower,map,verify"), then the verifier.  m is not
 * consumed (each compile imports the model again). */
NaascStatus naasc_compile(NaascContext *ctx, const NaascModel *m, const NaascTarget *t,
                          const char *pipeline, NaascModule **out);
void naasc_module_destroy(NaascModule *mod);
/* The report of `naasc MODEL --target T --report=FILE.json` as JSON text
 * (naasc-report/1): schedule "best" (NULL: the default, searched), "layer",
 * or the path of a schedule file, as --schedule takes. */
NaascStatus naasc_module_report(NaascContext *ctx, const NaascModule *mod, const char *schedule,
                                char **json);
/* The loop-nest IR with its mappings (--emit=nir; docs/ir.md). */
NaascStatus naasc_module_print(NaascContext *ctx, const NaascModule *mod, char **text);

/* ---- compiling a model file, as `naasc MODEL ...` does ------------------------
 * The command line's compile is these calls (tools/naasc.c is their
 * client): options, then naasc_compile_options_setup (plugins, the
 * pipeline), naasc_compile_file (import, target, the graph passes: what
 * runs before `lower`), the graph's outputs (naasc_module_emit "summary",
 * "graph", "onnx"), naasc_module_lower (the rest of the pipeline, the
 * schedule's groups, the verifier), the module's outputs.  Messages go to
 * the context (and its diagnostic handler) as the command prints them; the
 * IR dumps of the instrumentation go to the dump handler.
 *
 * Strings given to the options (flags, paths) are borrowed: they must live
 * as long as the options.  A module made by naasc_compile_file borrows its
 * options: destroy the module first. */
typedef struct NaascCompileOptions NaascCompileOptions;

/* Input bindings (--input-shape, --input-data) an options object takes. */
#define NAASC_MAX_INPUTS 32

NaascCompileOptions *naasc_compile_options_create(void); /* NULL if out of memory */
void naasc_compile_options_destroy(NaascCompileOptions *o);
/* Parses argv[*i] (advancing *i past its value) if it is a compile flag of
 * the command line that is not an output's: the pass manager's (-O0, -O2,
 * --pass-pipeline/-p, --print-pipeline, --list-passes, --load-pass-plugin,
 * --target, --precision, --assume, --jobs, and the instrumentation:
 * --print-ir-*, --filter-layers, --time-passes, --stats, --stats-json,
 * --debug-only, --debug, --verify-each), --no-fold and --allow-unsupported.
 * Returns 1 if taken, 0 if not a compile flag, -1 if malformed (reported
 * in ctx). */
int naasc_compile_options_parse_flag(NaascContext *ctx, NaascCompileOptions *o, int argc,
                                     char **argv, int *i);
/* An input binding, as --input-shape NAME=DIMS and --input-data NAME=FILE.pb
 * take it; a malformed one or more than NAASC_MAX_INPUTS is NAASC_USAGE. */
NaascStatus naasc_compile_options_add_input_shape(NaascContext *ctx, NaascCompileOptions *o,
                                                  const char *name_dims);
NaascStatus naasc_compile_options_add_input_data(NaascContext *ctx, NaascCompileOptions *o,
                                                 const char *name_file);
/* --schedule=HOW: "best", "layer" or a schedule file (NULL: none given). */
void naasc_compile_options_set_schedule(NaascCompileOptions *o, const char *how);
/* What the caller will emit (naasc_module_emit's kind, NULL for none) and
 * its -o path (NULL for none): the compile keeps the weights a command
 * stream or a .nir file needs, and gives --schedule's groups to the module
 * for "nir", "cmd" and "cmd-text". */
void naasc_compile_options_set_emit(NaascCompileOptions *o, const char *kind, const char *out);
/* Where the instrumentation's IR dumps (--print-ir-before/after...) go: fn
 * gets their text as it is written (NULL: discarded).  The timing, the
 * statistics and the debug output of --time-passes, --stats and
 * --debug-only are the pass manager's and go to stderr. */
void naasc_compile_options_set_dump_handler(NaascCompileOptions *o, NaascDiagnosticFn fn,
                                            void *user);
/* Loads the pass plugins (--load-pass-plugin: they need the symbols of
 * passes/passes.h, which the naasc executables export and libnaasc.so does
 * not), parses the pipeline (with a target, -O0's and -O2's map too), and
 * writes what --list-passes and --print-pipeline print to listing (may be
 * NULL).  Once, before naasc_compile_file. */
NaascStatus naasc_compile_options_setup(NaascContext *ctx, NaascCompileOptions *o,
                                        NaascDiagnosticFn listing, void *user);
int naasc_compile_options_has_target(const NaascCompileOptions *o); /* --target given */
int naasc_compile_options_lowers(const NaascCompileOptions *o);     /* `lower` in the pipeline */
int naasc_compile_options_lists(const NaascCompileOptions *o); /* --print-pipeline/--list-passes */
/* Imports path (an ONNX file, or a .nir loop-nest module with the weights
 * file it names), loads the target, and runs the pipeline's passes before
 * `lower` (none for a .nir module).  Messages are located in path. */
NaascStatus naasc_compile_file(NaascContext *ctx, const char *path, const NaascCompileOptions *o,
                               NaascModule **out);
/* Runs the rest of the pipeline (from `lower`, which a .nir module has
 * had), attaches --schedule's groups when the options' emit kind is "nir",
 * "cmd" or "cmd-text" (only layer-by-layer groups for a command stream),
 * and verifies the IR if the pipeline did not end with `verify`. */
NaascStatus naasc_module_lower(NaascContext *ctx, NaascModule *mod);
/* Emits one output of a module as the command line does:
 *   "summary", "graph"  text: the per-layer table, the graph IR (before lowering);
 *   "onnx"              the graph as ONNX, written to path;
 *   "nir"               text: the loop-nest IR; with path (the .nir file the
 *                       text will go to) the weights go to PATH.weights, named
 *                       in the text;
 *   "cmd"               the binary command stream, written to path;
 *   "cmd-text"          text: its disassembly;
 *   "timeloop"          Timeloop files of the target and each layer, in folder path;
 *   "report"            text: the cost report's table (by the options'
 *                       --schedule, best if none); with path its JSON there
 *                       and an SVG chart beside it;
 *   "schedule"          text: the schedule; with path the report's JSON there.
 * *text (for kinds with text; may be NULL otherwise) gets what was written,
 * also on failure (a partial table); the caller frees it. */
NaascStatus naasc_module_emit(NaascContext *ctx, NaascModule *mod, const char *kind,
                              const char *path, char **text);

/* ---- running a pipeline on IR, as naasc-opt does ------------------------------
 * naasc-opt's run (tools/naasc_opt.c is its client): read IR, run any
 * pipeline on it (where naasc's compile cuts the pipeline at `lower`), print
 * the IR.  Its options are a NaascCompileOptions made by
 * naasc_opt_options_create and filled with naasc_compile_options_parse_flag
 * (the pass manager's flags and the instrumentation; not --no-fold nor
 * --allow-unsupported), naasc_compile_options_add_input_shape and
 * naasc_compile_options_set_dump_handler; messages located in no file are
 * "naasc-opt: ...". */
NaascCompileOptions *naasc_opt_options_create(void); /* NULL if out of memory */
/* Sets o up (the plugins, the pipeline; what --list-passes and
 * --print-pipeline print goes to listing, may be NULL), then, if path is
 * not NULL, reads path: an ONNX model (its name ends in .onnx; imported
 * with the options' input shapes), a graph dump (its first word is
 * `graph`: --emit=graph, *.after.graph) or loop-nest IR (.nir); loads the
 * --target if given; runs the pipeline -- the one given (-p, -O0, -O2: no
 * map added with a target) or the input's default: -O2 for a model,
 * "verify" for loop-nest IR, none for a graph dump (read, checked and
 * printed back) --; verifies the nests; and prints the IR (the graph if
 * not lowered, else the loop-nest IR) into *text (may be NULL).  With out,
 * the text is also written there atomically, and a module's weights go to
 * OUT.weights (a model's) or are named relative to out's folder (a .nir
 * input's).  Once per options object; destroy them after. */
NaascStatus naasc_opt_run(NaascContext *ctx, NaascCompileOptions *o, const char *path,
                          const char *out, NaascDiagnosticFn listing, void *user, char **text);
/* The same in one call: path's IR with pipeline (a pipeline string such as
 * "fold-bn,fuse-act,lower,map{budget=200},verify"; NULL: the input's
 * default) on target (a preset or an architecture file, NULL: none), the
 * IR printed into *text.  A bad pipeline is NAASC_USAGE ("naasc-opt:
 * pipeline:COL: error: ..."); a missing or malformed file NAASC_BADINPUT,
 * located in it. */
NaascStatus naasc_ir_run_pipeline(NaascContext *ctx, const char *path, const char *pipeline,
                                  const char *target, char **text);

/* ---- one layer: problem, mapping, cost ------------------------------------ */

#define NAASC_MAX_LEVELS 8
#define NAASC_NAME_MAX 48 /* names, NUL included */

/* The figures of one mapping (docs/cost-model.md): a summary of the cost
 * model's result, per level in the target's level order. */
typedef struct {
  double energy_pj;     /* MACs + all levels */
  double mac_energy_pj; /* of which the MACs */
  double edp;           /* energy_pj * cycles */
  double utilization;   /* macs / (mac instances * cycles) */
  double seconds;       /* cycles / clock; 0 if the clock is unknown */
  double area_um2;      /* placeholder model */
  int64_t cycles;       /* max of compute and every level's cycles */
  int64_t compute_cycles;
  int64_t macs;
  int64_t mac_utilized_instances;
  int bottleneck; /* -1: compute; else the level setting cycles */
  int nlevels;
  double level_energy_pj[NAASC_MAX_LEVELS];
  int64_t level_cycles[NAASC_MAX_LEVELS];
  char level_name[NAASC_MAX_LEVELS][NAASC_NAME_MAX]; /* the target's level names */
} NaascCost;

/* A layer's problem: naasc's problem YAML or a Timeloop problem file. */
NaascStatus naasc_problem_load(NaascContext *ctx, const char *path, NaascProblem **out);
void naasc_problem_destroy(NaascProblem *p);
const char *naasc_problem_name(const NaascProblem *p); /* borrowed */
int64_t naasc_problem_macs(const NaascProblem *p);
/* A mapping of a layer on t: naasc's mapping YAML (levels matched by name). */
NaascStatus naasc_mapping_load(NaascContext *ctx, const char *path, const NaascTarget *t,
                               NaascMapping **out);
void naasc_mapping_destroy(NaascMapping *m);
/* The triple of `naasc cost --arch A --problem P --mapping M`: each file
 * naasc's YAML or Timeloop's, told apart by content (a Timeloop file among
 * them: the three are read as one Timeloop specification). */
NaascStatus naasc_layer_load(NaascContext *ctx, const char *arch, const char *problem,
                             const char *mapping, NaascTarget **t, NaascProblem **p,
                             NaascMapping **m);
/* Timeloop files or folders (naasc cost --timeloop PATH...): what they hold
 * of a target, a problem and a mapping; an out pointer may be NULL, and
 * the spec must hold what each non-NULL one asks for. */
NaascStatus naasc_timeloop_load(NaascContext *ctx, const char *const *paths, int npaths,
                                NaascTarget **t, NaascProblem **p, NaascMapping **m);
/* Writes Timeloop v0.4 input files into folder dir (it must exist): with p
 * NULL, the architecture (arch.yaml, arch.ERT.yaml, arch.ART.yaml); with
 * p, LAYER.problem.yaml and with m, LAYER.map.yaml (layer NULL: problem.yaml,
 * map.yaml).  What Timeloop cannot express is refused. */
NaascStatus naasc_timeloop_write(NaascContext *ctx, const char *dir, const char *layer,
                                 const NaascTarget *t, const NaascProblem *p,
                                 const NaascMapping *m);

/* Evaluates mapping m of p on t.  An invalid mapping is NAASC_BADINPUT with
 * the reason (which level overflows, which factor is wrong). */
NaascStatus naasc_cost(NaascContext *ctx, const NaascTarget *t, const NaascProblem *p,
                       const NaascMapping *m, NaascCost *out);

/* The figures of naasc_cost as text, as `naasc cost --arch A --problem P
 * --mapping M` prints them after its first line: per level and tensor the
 * reads, fills, updates, tile and energy; per level the cycles; then the
 * totals. */
NaascStatus naasc_cost_table(NaascContext *ctx, const NaascTarget *t, const NaascProblem *p,
                             const NaascMapping *m, char **text);

/* ---- one component: the technology model ---------------------------------- */

/* The technology model's energy per action and area of one component
 * (`naasc tech KIND ATTR=VALUE ...`, docs/technology.md): kind "sram",
 * "regfile", "mac", "dram" or "noc"; attrs[0..nattrs) each "ATTR=VALUE".
 * *json gets the figures as one JSON object on one line, newline included,
 * as the command prints it.  An unknown kind, attribute or value is
 * NAASC_BADINPUT; an item not of the form ATTR=VALUE is NAASC_USAGE. */
NaascStatus naasc_tech(NaascContext *ctx, const char *kind, const char *const *attrs, int nattrs,
                       char **json);

/* The mapper's options (naasc's map{...} pass options); zeroed fields and
 * NULL strings take the defaults. */
typedef struct {
  const char *strategy;  /* "es" (default), "random", "genetic", "exhaustive", "surrogate" */
  const char *objective; /* "edp" (default), "energy", "latency" */
  int64_t budget;        /* cost evaluations; 0: the default */
  uint64_t seed;         /* 0: the default */
} NaascMapOptions;

/* `naasc cost --arch A --problem P --mapping M` in one call:
 * naasc_layer_load, naasc_cost, the handles freed. */
NaascStatus naasc_cost_files(NaascContext *ctx, const char *arch, const char *problem,
                             const char *mapping, NaascCost *out);

/* Searches a mapping of p on t; *out the best found, cost (may be NULL) its figures. */
NaascStatus naasc_map(NaascContext *ctx, const NaascTarget *t, const NaascProblem *p,
                      const NaascMapOptions *o, NaascMapping **out, NaascCost *cost);

/* ---- the accelerator search ----------------------------------------------- */

/* Options of naasc --search; zeroed fields take the defaults. */
typedef struct {
  int64_t iterations;       /* outer generations */
  int popsize;              /* candidates per generation */
  int64_t map_budget;       /* mapper evaluations per layer and candidate */
  int64_t final_map_budget; /* the best design's final mapping, per layer */
  uint64_t seed;
  const char *objective; /* "edp" (default), "energy", "latency" */
} NaascSearchOptions;

/* Called after each generation: generation counts from 1; generations is
 * the count asked for (NaascSearchOptions.iterations), 0 for the default. */
typedef void (*NaascProgressFn)(void *user, int64_t generation, int64_t generations);

/* A search within budget's limits (its PEs, on-chip bytes, bandwidth). */
NaascStatus naasc_search_create(NaascContext *ctx, const NaascTarget *budget,
                                const NaascSearchOptions *o, NaascSearch **out);
void naasc_search_destroy(NaascSearch *s);
/* Adds m's layers (lowered as naasc --search lowers them) as one model of
 * the workload; label names it in the log (NULL: the model's name). */
NaascStatus naasc_search_add_model(NaascContext *ctx, NaascSearch *s, const NaascModel *m,
                                   const char *label);
/* Runs the search; progress (may be NULL) is called after each generation. */
NaascStatus naasc_search_run(NaascContext *ctx, NaascSearch *s, NaascProgressFn progress,
                             void *user);

typedef struct {
  double score; /* the objective (geometric mean over models) */
  double edp, energy_pj, cycles, area_um2;
  int64_t candidates; /* accelerators evaluated */
  int64_t evals;      /* cost-model evaluations */
  int64_t iterations; /* generations done */
  double seconds;
} NaascSearchResult;

/* The figures of the design found (after naasc_search_run). */
NaascStatus naasc_search_result(NaascContext *ctx, const NaascSearch *s, NaascSearchResult *out);
/* The design found, as a target of its own. */
NaascStatus naasc_search_design(NaascContext *ctx, const NaascSearch *s, NaascTarget **out);
/* Every candidate evaluated, as the JSON of --log-json (naasc-search-log/1). */
NaascStatus naasc_search_log(NaascContext *ctx, const NaascSearch *s, char **json);

/* ---- the whole `naasc --search` run ----------------------------------------
 * The run of `naasc --search MODEL... --budget B -o DIR` with its files
 * (docs/search.md; tools/naasc_search.c is its client): the models
 * imported (or built from the zoo) and lowered, the budget resolved (at a
 * precision, under an assumption), the as-built baseline, search/'s driver
 * (naas_drive: the search and its baselines; one search per precision an
 * accuracy table allows), its files (arch.yaml, result.json, search.json,
 * convergence.svg, pareto.svg) and each model's on the design (MODEL.nir,
 * .report.txt/.json/.svg, .schedule, .cmd).  Fill the options with
 * naasc_search_drive_options_default, then set fields; strings are
 * borrowed for the call.  Enumerations are the command line's words. */
typedef struct {
  const char *const *models; /* .onnx files or zoo names (at most 16) */
  int nmodels;
  const char *budget;    /* a preset or an architecture YAML file */
  const char *dir;       /* the output folder ("naasc-search") */
  const char *objective; /* "edp", "energy", "latency" */
  double max_area_um2, max_power_mw, max_cycles, max_energy_pj; /* bounds; 0: none */
  int byte_budget;                                              /* --byte-budget */
  const char *assume;                                           /* "physical" (default) or "naas" */
  const char *precision;      /* --precision P or "model"; NULL: the budget's */
  const char *accuracy_table; /* --search-precision FILE; NULL: none */
  int64_t iterations;         /* 0: the default */
  int popsize;                /* 0: the optimizer's default */
  int64_t map_budget;         /* 0: the default */
  int64_t final_map_budget;   /* 0: the default */
  const char *optimizer;      /* "cmaes" (default), "random", "gradient", "cmaes+gradient" */
  int sizing_only;            /* --sizing-only */
  int mapper_screen;          /* --mapper-screen on: screen candidates with a small mapper budget */
  int no_prune;               /* --prune off: map candidates the lower bound rules out too */
  const char *schedule;       /* "fused" (default) or "layer" */
  int fixed;                  /* --fixed: no search, the budget design */
  int fixed_as_built;         /* --fixed=as-built */
  int no_baseline;            /* --no-baseline */
  uint64_t seed;              /* --seed */
  int jobs;                   /* threads */
  const char *checkpoint;     /* --checkpoint FILE, or NULL */
  int resume;                 /* --resume */
  int64_t stop_after_iteration; /* stop (checkpoint written) after this many; 0: never */
  void (*on_generation)(void *user, int64_t generation); /* after each generation; may be NULL */
  void *on_generation_user;
  int progress;     /* a progress line on stderr (the search's own) */
  int rank, nranks; /* MPI: this rank and the count (0, 1 without); only rank 0 writes */
  int rerank;       /* --rerank K: the best K distinct designs mapped at final effort (0: 3) */
  int64_t
      early_map_budget; /* --early-map-budget N: the first generations' mapper budget (0: off) */
  int64_t early_iterations; /* --early-iterations K: how many generations (0: half of them) */
  int warm_map;             /* --warm-map on: candidates' mappings start from the incumbent's */
  double map_share; /* --map-share A: layers' budgets by their share of the cost (< 0: default) */
} NaascSearchDriveOptions;

void naasc_search_drive_options_default(NaascSearchDriveOptions *o);
/* Runs it.  *summary (may be NULL) gets what the command prints on stdout
 * (the per-precision lines, the design, the baselines, the command
 * streams; "stopped after iteration N" when stopped), also on failure (what
 * was printed before it); "" on a rank other than 0.  A bad option value is
 * NAASC_USAGE. */
NaascStatus naasc_search_drive(NaascContext *ctx, const NaascSearchDriveOptions *o, char **summary);

/* ---- the whole `naasc --search --nas` run ----------------------------------
 * The network level of NAAS (docs/nas.md; tools/naasc_nas.c is its
 * client): regularized evolution over NAS-Bench-201 cells, each cell's
 * network built from the zoo (BN folded, activations fused, lowered) and
 * scored by the accelerator co-search within the budget; search/'s driver
 * (nas_drive) writes result.json, history.csv, pareto.svg, arch.yaml and
 * network.nir into dir, and this call the network's cost report beside
 * them (network.report.txt, .json, .svg; under the schedule the design was
 * scored with).  Fill the options with naasc_nas_drive_options_default,
 * then set fields; strings are borrowed for the call. */

/* A network scored that is the best so far (by the bound, then the
 * objective): what `naasc --search --nas --progress` prints a line for. */
typedef struct {
  int networks;     /* networks scored so far, this one included */
  int64_t proposed; /* cells proposed so far, repeats included */
  int cell;         /* its cell: the 6 ops as a base-5 number, edge 0 lowest (docs/nas.md) */
  const char *arch; /* its arch string ("|nor_conv_3x3~0|+|...|"); borrowed for the call */
  double accuracy;  /* percent, as the search saw it (predicted with labels) */
  double edp, energy_pj, cycles; /* on its accelerator */
  int met;                       /* it meets the bound */
} NaascNasProgress;
/* Called during naasc_nas_drive, from its thread, for each new best. */
typedef void (*NaascNasProgressFn)(void *user, const NaascNasProgress *p);
/* Called during naasc_nas_drive, from its thread, once the accuracy
 * predictor is fit (with labels): the labels it saw and its Kendall tau on
 * the held-out networks, with and without pseudo-labels (what `naasc
 * --search --nas --progress` prints as "nas: predictor on ..."). */
typedef void (*NaascNasPredictorFn)(void *user, int64_t labels, double tau, double tau_plain);

typedef struct {
  const char *space;   /* "nasbench201" (the one space) */
  const char *dataset; /* "cifar10" (default), "cifar100", "imagenet16-120" */
  const char *budget;  /* a preset or an architecture YAML file */
  const char *dir;     /* the output folder ("naasc-nas") */
  /* the bound, exactly one given: least EDP among networks at least min_accuracy
   * accurate (percent; < 0: not given), or best accuracy among designs with EDP
   * (pJ x cycles) <= max_edp (0: not given) */
  double min_accuracy, max_edp;
  int64_t cycles;          /* cells proposed in all (100) */
  int64_t population;      /* aging evolution's population (20) */
  int64_t sample;          /* its tournament size (5; at most population) */
  uint64_t seed;           /* (1) */
  int64_t labels;          /* accuracies the predictor sees; 0: the table's, no predictor */
  int64_t pseudo_rounds;   /* predictor self-training rounds (1) */
  int64_t pseudo_pool;     /* its pool (1000) */
  int64_t verify;          /* with labels: best designs whose measured accuracy is looked up (10) */
  int64_t naas_iterations; /* each network's accelerator search: generations (4) */
  int64_t naas_popsize;    /* its population (8) */
  int64_t map_budget;      /* mapper evaluations per layer and accelerator (400) */
  int jobs;                /* threads of the accelerator search (1) */
  int fixed;               /* every network on the budget design as is */
  int no_baselines;        /* skip the most-accurate-network baselines */
  const char *reference;   /* also compare with this cell (arch string or index), or NULL */
  const char *data;        /* the accuracy table, or NULL: found as data/nasbench201 says */
  int progress;            /* with labels and no on_predictor, the predictor's line (its
                              Kendall tau) to the context's diagnostic handler */
  NaascNasProgressFn on_progress; /* told of each new best network (may be NULL) */
  void *on_progress_user;
  int64_t final_map_budget;         /* every design's final mapping pass, the baselines' too (20000;
                               at least map_budget) */
  NaascNasPredictorFn on_predictor; /* with labels, told of the predictor once fit, before the
                                       search (may be NULL; when set, progress prints no line) */
  void *on_predictor_user;
} NaascNasDriveOptions;

void naasc_nas_drive_options_default(NaascNasDriveOptions *o);
/* Runs it.  *summary (may be NULL) gets the line the command prints on
 * stdout ("network INDEX ARCH: DATASET accuracy ...; EDP ... -> DIR/"),
 * also when no network met the bound: then the call fails with
 * NAASC_BADINPUT ("no network scored met the bound"; dir holds the
 * closest design).  A bad option value is NAASC_USAGE. */
NaascStatus naasc_nas_drive(NaascContext *ctx, const NaascNasDriveOptions *o, char **summary);

/* ---- running a command stream, as naasc-run does ----------------------------
 * A command stream (`naasc MODEL --target T -o M.cmd`, docs/cmd-format.md)
 * loaded, checked completely before anything runs, its inputs bound, run,
 * its outputs read (tools/naasc_run.c is the client of these calls).  A
 * NaascStream owns a copy of everything it needs.  Tensors are described by
 * NaascTensorInfo; their data is dense row-major elements of the dtype,
 * whose values are ONNX's TensorProto.DataType (1 float, 2 uint8, 3 int8,
 * 4 uint16, 5 int16, 6 int32, 7 int64, 9 bool, 10 float16, 11 double, 12
 * uint32, 13 uint64, 16 bfloat16).
 *
 * Compute tiles run through a kernel provider: NULL in the run options is
 * the C reference kernels (naasc-run --no-jit); the LLVM JIT is a provider
 * made by naasc_jit_provider_create, which is in a separate library,
 * libnaasc_jit.so (link -lnaasc_jit), so that libnaasc.so does not link
 * LLVM; this header names no type of the runtime.  Its results are bit-identical to the
 * reference kernels'. */
typedef struct NaascStream NaascStream;
typedef struct NaascKernelProvider NaascKernelProvider;
typedef struct NaascTensor NaascTensor;

#define NAASC_MAX_RANK 8

typedef struct {
  const char *name;       /* borrowed from the stream */
  int dtype;              /* TensorProto.DataType */
  const char *dtype_name; /* "f32", "u8", "bf16", ... (borrowed) */
  int rank;
  int64_t dims[NAASC_MAX_RANK];
  int64_t numel;
  size_t bytes; /* numel times the element size */
} NaascTensorInfo;

/* Loads the stream of file path.  target (may be NULL) is the architecture
 * the caller means to run on, a preset or a file as --target takes it
 * (its errors located in it): a stream compiled for another one is
 * refused (naasc-run --target).  max_memory caps what the program may take
 * (its tensors, packed weights, scratch, each mac layer's tile buffers
 * when it runs; 0: the default, 4 GiB, naasc-run --max-memory): a stream
 * that needs more is refused before its tensors are allocated.  A bad
 * stream is NAASC_BADINPUT, located in path ("m.cmd: offset 120: error:
 * ..."). */
NaascStatus naasc_stream_load(NaascContext *ctx, const char *path, const char *target,
                              int64_t max_memory, NaascStream **out);
void naasc_stream_destroy(NaascStream *s);
/* The stream's disassembly (naasc-run --disasm, naasc --emit=cmd-text). */
NaascStatus naasc_stream_disasm(NaascContext *ctx, const NaascStream *s, char **text);
/* The graph's inputs and outputs, in the stream's order; i in [0, count). */
int naasc_stream_input_count(const NaascStream *s);
int naasc_stream_output_count(const NaascStream *s);
NaascStatus naasc_stream_input_info(NaascContext *ctx, const NaascStream *s, int i,
                                    NaascTensorInfo *out);
NaascStatus naasc_stream_output_info(NaascContext *ctx, const NaascStream *s, int i,
                                     NaascTensorInfo *out);
/* Binds input name to a copy of data: dtype, shape and bytes must be the
 * input's (NAASC_BADINPUT naming it otherwise). */
NaascStatus naasc_stream_bind(NaascContext *ctx, NaascStream *s, const char *name, int dtype,
                              int rank, const int64_t *dims, const void *data, size_t bytes);
/* Binds input name to a file (naasc-run --input NAME=FILE): a NumPy .npy
 * file if path ends in ".npy" (format 1.0, 2.0 or 3.0, C order,
 * little-endian f4 f2 f8 u1 i1 u2 i2 i4 i8 u4 u8 b1), else a serialized
 * ONNX TensorProto; a uint16 tensor binds a bfloat16 input (numpy has no
 * bfloat16; ONNX's test data stores it as its bits).  A bad file is
 * located in it ("x.npy: header 'fortran_order': error: ..."). */
NaascStatus naasc_stream_bind_file(NaascContext *ctx, NaascStream *s, const char *name,
                                   const char *path);
/* Binds every input of s from a NumPy .npz archive (naasc-run --inputs
 * FILE.npz): numpy.savez's ZIP of stored members NAME.npy, each bound to the
 * input NAME as naasc_stream_bind_file binds a .npy file.  The archive must
 * hold exactly the stream's inputs: a member that names no input, and an
 * input without a member, are NAASC_BADINPUT located in the archive
 * ("x.npz: member 'z.npy': error: ..."); nothing is bound then.  A
 * compressed member (numpy.savez_compressed) is refused, named. */
NaascStatus naasc_stream_bind_npz(NaascContext *ctx, NaascStream *s, const char *path);

/* ---- tensors ----
 * A NaascTensor is a dtype, a shape and dense row-major data, which it owns
 * (naasc_tensor_create, _load, _parse_npy, naasc_stream_output_tensor: a
 * copy) or borrows (naasc_tensor_wrap: the caller's buffer, which must
 * outlive it), so that a caller binds and reads tensors without knowing
 * their sizes up front.  Freed by naasc_tensor_destroy (the data too when
 * owned). */

/* A tensor of dtype (TensorProto.DataType) and shape with a copy of data,
 * or zeros if data is NULL.  A non-numeric dtype, a rank over
 * NAASC_MAX_RANK, a negative dim or a size that overflows is
 * NAASC_BADINPUT. */
NaascStatus naasc_tensor_create(NaascContext *ctx, int dtype, int rank, const int64_t *dims,
                                const void *data, NaascTensor **out);
/* The same over the caller's buffer data of bytes bytes (borrowed: not
 * copied, not freed); bytes must be the shape's size. */
NaascStatus naasc_tensor_wrap(NaascContext *ctx, int dtype, int rank, const int64_t *dims,
                              void *data, size_t bytes, NaascTensor **out);
/* The tensor of a file: a NumPy .npy file if path ends in ".npy", else a
 * serialized ONNX TensorProto (its name kept); errors located in it. */
NaascStatus naasc_tensor_load(NaascContext *ctx, const char *path, NaascTensor **out);
/* The tensor of the bytes of a .npy file (copied); file names it in
 * messages ("x.npy: header 'shape': error: ..."; NULL: "<npy>"). */
NaascStatus naasc_tensor_parse_npy(NaascContext *ctx, const void *buf, size_t len, const char *file,
                                   NaascTensor **out);
/* The arrays of the bytes of a NumPy .npz archive (numpy.savez: an
 * uncompressed ZIP of members NAME.npy), copied, in the archive's order:
 * *count tensors in *out (a malloc'd array, freed with its tensors by
 * naasc_tensor_list_destroy), each named NAME (naasc_tensor_info).  A
 * malformed ZIP structure (truncated headers, a bad central directory, a
 * local header that disagrees with it, a CRC-32 that does not match), a
 * compressed, encrypted or duplicate member, a member not named *.npy and a
 * bad .npy member are NAASC_BADINPUT located in file and the member
 * ("x.npz: member 'a.npy': header 'descr': error: ..."; NULL: "<npz>"). */
NaascStatus naasc_tensor_parse_npz(NaascContext *ctx, const void *buf, size_t len, const char *file,
                                   NaascTensor ***out, int *count);
/* The same of the file path. */
NaascStatus naasc_tensor_load_npz(NaascContext *ctx, const char *path, NaascTensor ***out,
                                  int *count);
/* Frees the count tensors of list and list itself (NULL: nothing); a NULL
 * entry is skipped, so a caller keeps a tensor by setting its entry NULL. */
void naasc_tensor_list_destroy(NaascTensor **list, int count);
/* Writes t to path, atomically: .npy if path ends in ".npy" (bfloat16 as
 * '<u2' bits), else a TensorProto. */
NaascStatus naasc_tensor_save(NaascContext *ctx, const NaascTensor *t, const char *path);
/* t's description (name "" unless it came from a TensorProto, a .npz
 * member or a stream's output); zeroed for a NULL t. */
void naasc_tensor_info(const NaascTensor *t, NaascTensorInfo *out);
/* Its data: NaascTensorInfo.bytes of elements (NULL for a NULL t). */
void *naasc_tensor_data(const NaascTensor *t);
void naasc_tensor_destroy(NaascTensor *t);
/* Binds input name to a copy of t's data: dtype and shape must be the
 * input's (a uint16 tensor binds a bfloat16 input). */
NaascStatus naasc_stream_bind_tensor(NaascContext *ctx, NaascStream *s, const char *name,
                                     const NaascTensor *t);
/* Output (or input) name after a run as a new tensor owning a copy. */
NaascStatus naasc_stream_output_tensor(NaascContext *ctx, const NaascStream *s, const char *name,
                                       NaascTensor **out);

/* How naasc_stream_run runs; zeroed fields are the defaults. */
typedef struct {
  NaascKernelProvider *kernels; /* compiles the tiles (not with reference); NULL: C reference */
  int reference;   /* every layer through the loop-nest interpreter, no tiling (--reference) */
  int inner;       /* compute at the innermost level: every level held as a buffer (--inner) */
  int count;       /* count the accesses per level and tensor (--counts) */
  int count_exact; /* ... over every iteration, not at Timeloop's points (--counts=exact) */
} NaascRunOptions;

/* Runs every layer in order (single-threaded: the runtime has no threads).
 * An unbound input, or a gather index out of range, is NAASC_BADINPUT
 * naming it.  May run again, with new inputs. */
NaascStatus naasc_stream_run(NaascContext *ctx, NaascStream *s, const NaascRunOptions *o);
/* Copies output (or input) name after a run into buf, which holds bytes
 * (the tensor's NaascTensorInfo.bytes exactly). */
NaascStatus naasc_stream_read(NaascContext *ctx, const NaascStream *s, const char *name, void *buf,
                              size_t bytes);
/* Writes output (or input) name to path, atomically: a NumPy .npy file
 * (format 1.0, as numpy.save writes it; bfloat16 as '<u2' bits) if path
 * ends in ".npy", else a TensorProto (dims, data_type, name, raw_data). */
NaascStatus naasc_stream_write_output(NaascContext *ctx, const NaascStream *s, const char *name,
                                      const char *path);
/* Writes every output into folder dir (created if missing) as
 * DIR/OUTPUT.pb, a '/' in the name as '_' (naasc-run -o DIR). */
NaascStatus naasc_stream_write_outputs(NaascContext *ctx, const NaascStream *s, const char *dir);

/* One layer's counters after a run (one layer per nest of the module the
 * stream was written from). Levels in the target's order, tensors W, I, O. */
typedef struct {
  const char *name; /* borrowed from the stream */
  int counted;      /* a mapped mac layer that ran with counting on */
  int exact;        /* counted over every iteration */
  int nlevels;      /* the levels of reads, fills and updates (0 if not counted) */
  int64_t reads[NAASC_MAX_LEVELS][3], fills[NAASC_MAX_LEVELS][3], updates[NAASC_MAX_LEVELS][3];
  int64_t macs;  /* MACs the compute tiles performed */
  int64_t tiles; /* compute tiles run */
  /* words the executor filled into each level's slot of each tensor, and
   * output words written back from each level (over all NAASC_MAX_LEVELS) */
  int64_t moved[NAASC_MAX_LEVELS][3];
  int64_t drained[NAASC_MAX_LEVELS];
  int held; /* the deepest level held as buffers; -1: no tiles */
  int wide; /* a mac layer with f16/bf16 operands: run widened to f32 */
  /* a layer run on the host (its op not on the accelerator), apart from the counts: */
  int host;
  const char *host_op; /* its ONNX op type (borrowed), or NULL */
  int64_t host_nodes, host_elements;
  double host_seconds;
} NaascLayerCounts;

int naasc_stream_layer_count(const NaascStream *s);
NaascStatus naasc_stream_layer_counts(NaascContext *ctx, const NaascStream *s, int layer,
                                      NaascLayerCounts *out);
/* The counters as naasc-run prints them: kind "counts" (--counts: reads,
 * fills, updates per counted layer, level and tensor), "moved" (--moved)
 * or "host" (the layers run on the host, "" if none); or all of them as
 * one JSON document, kind "json" (naasc-run --report-json,
 * "naasc-run-report/1": per layer name, counted, exact, macs, tiles, held,
 * wide, levels[] (per level "W", "I", "O" each {reads, fills, updates,
 * moved}, and drained) and host (null, or {op, nodes, elements,
 * seconds}); docs/api.md). */
NaascStatus naasc_stream_report(NaascContext *ctx, const NaascStream *s, const char *kind,
                                char **text);
/* The report of kind written to path, atomically (naasc-run --report-json). */
NaascStatus naasc_stream_write_report(NaascContext *ctx, const NaascStream *s, const char *kind,
                                      const char *path);

/* The figures of the stream and of its last run (naasc-run --time). */
typedef struct {
  int64_t memory;          /* bytes the program holds, values sharing buffers */
  int64_t memory_unshared; /* the same with every value in a buffer of its own */
  int64_t max_memory;      /* the cap it was loaded with */
  double run_seconds;      /* wall time of the last run */
  int host_layers;         /* layers run on the host, and their time */
  double host_seconds;
  int wide_layers;          /* mac layers with f16/bf16 operands */
  int kernels_used;         /* the last run compiled its tiles through a provider */
  int64_t kernels_compiled; /* by that provider so far, and the seconds it took */
  double compile_seconds;
} NaascStreamStats;

NaascStatus naasc_stream_stats(NaascContext *ctx, const NaascStream *s, NaascStreamStats *out);

/* Frees a kernel provider (made by naasc_jit_provider_create); not while a
 * run uses it (each run looks its kernels up again). */
void naasc_kernel_provider_destroy(NaascKernelProvider *p);

/* In libnaasc_jit.so, not libnaasc.so: the LLVM JIT (codegen/) as a
 * provider, compiling each distinct tile kernel once with LLVM's O2 for
 * the host CPU, its results bit-identical to the C reference kernels'.
 * NULL if out of memory.  LLVM starts at the first run that uses it: a host
 * LLVM cannot target fails that run, located in its stream.  Streams may
 * share it (its compiles are serialized). */
NaascKernelProvider *naasc_jit_provider_create(void);

#ifdef __cplusplus
}
#endif

#endif
