/*
 * naasc.c: the C API of api/naasc.h over the libraries (frontend, passes,
 * search, backend, stream and runtime for the command stream, its
 * disassembly and its run, ir; not codegen: no LLVM).  It adds no model of its own: each call is what a
 * naasc command does, with the same library functions, so its results are
 * the command line's (the tests compare them byte for byte); where the
 * tools are its clients (docs/design.md, "The tools and the C API") the
 * text they print is made here (the cost table, the technology figures).
 *
 * Invariants:
 *   - nothing prints and nothing exits: every call runs with a Diag that
 *     writes into a memory stream, and a failing call leaves that text in
 *     its context (ctx->error); a successful call empties it; with a
 *     diagnostic handler, the Diag writes to a stream (fopencookie, line
 *     buffered) that passes each line to the handler and to the memory
 *     stream;
 *   - every handle owns what it points to (a target is a copy of its Arch;
 *     a module owns its Program and the copy of its target the Program
 *     points to), so handles can be destroyed in any order;
 *   - a module of naasc_compile_file is the command line's compile, step
 *     by step (tools/naasc.c is its client): it borrows its options (the
 *     pipeline cut at `lower`, the schedule, what will be emitted); the one
 *     place the schedule's groups reach the module is naasc_module_lower's
 *     schedule_attach (for a command stream: only groups the stream runs);
 *   - naasc_search_drive is the whole `naasc --search` run (tools/
 *     naasc_search.c is its client): search/'s driver plus what needs
 *     passes/ and stream/ (lowering the models, each model's files); what
 *     it prints goes into a memory stream returned to the caller;
 *     naasc_nas_drive likewise is the whole `naasc --search --nas` run
 *     (tools/naasc_nas.c): search/'s nas_drive given the cell builder
 *     (frontend/'s zoo, passes/' folding and lowering) plus the network's
 *     report; the search's new bests reach the caller's on_progress;
 *   - naasc_opt_run is naasc-opt's run (tools/naasc_opt.c): options of
 *     naasc_opt_options_create (opt set: messages named "naasc-opt", the
 *     pipeline not cut at `lower` and chosen by the input when not given),
 *     set up by the run itself, once;
 *   - a NaascStream is naasc-run's stream (tools/naasc_run.c is its
 *     client): runtime/'s RtProgram with its file's name, which locates
 *     the messages of its calls; a run's kernels come from a
 *     NaascKernelProvider (api/internal.h), whose functions its own
 *     library fills (the JIT: api/jit.c, libnaasc_jit.so), so this file
 *     calls no LLVM and naasc.h names no runtime type;
 *   - a NaascTensor owns its data or borrows the caller's (wrap); every
 *     file a stream or tensor call reads or writes is a NumPy .npy file
 *     (api/npy.c) when its name ends in ".npy", else a TensorProto; a
 *     NumPy .npz archive (a ZIP of .npy members, read by the ZIP reader
 *     here, ".npz archives") has calls of its own (naasc_tensor_parse_npz,
 *     _load_npz, naasc_stream_bind_npz);
 *   - reports are written by the existing writers (report_write_schedule,
 *     naas_log_write), which write files: the API has them write into a
 *     private temporary folder and reads the file back, so the JSON is the
 *     command line's byte for byte.
 */
#define _GNU_SOURCE /* fopencookie: the diagnostic handler's stream */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/naasc.h"
#include "api/internal.h"
#include "backend/backend.h"
#include "frontend/frontend.h"
#include "ir/ir.h"
#include "passes/passes.h"
#include "runtime/runtime.h"
#include "stream/stream.h"
#include "search/search.h"

#ifndef NAASC_VERSION
#define NAASC_VERSION "0.0.0"
#endif

_Static_assert(NAASC_MAX_LEVELS == ACCEL_MAX_LEVELS && NAASC_NAME_MAX == ACCEL_NAME_MAX,
               "NaascCost's level arrays");
_Static_assert(NAASC_MAX_INPUTS == NAASC_MAX_BINDINGS, "the import's input bindings");
_Static_assert((int)NAASC_OK == (int)RC_OK && (int)NAASC_BADINPUT == (int)RC_BADINPUT &&
                   (int)NAASC_USAGE == (int)RC_USAGE && (int)NAASC_INTERNAL == (int)RC_INTERNAL,
               "NaascStatus values are Rc's");

struct NaascContext {
  char *error; /* heap; the messages of the last failing call, or NULL */
  int jobs;
  NaascDiagnosticFn on_diag; /* may be NULL */
  void *on_diag_user;
};

struct NaascModel {
  char *path;       /* the ONNX file, or NULL for a zoo network */
  char *zoo;        /* the zoo name, or NULL */
  uint64_t seed;    /* zoo weights */
  bool no_weights;  /* a zoo network with its parameters as inputs */
  ImportOptions io; /* shapes as given (their names point into shape_text) */
  char *shape_text[NAASC_MAX_BINDINGS];
  Model *graph; /* the imported graph (name, summary) */
};

struct NaascTarget {
  Arch a;
};

struct NaascModule {
  Arch a;       /* prog.arch points here */
  Program prog; /* owns the nests */
  /* a module of naasc_compile_file: */
  const NaascCompileOptions *o; /* borrowed; NULL for naasc_compile */
  const char *path;             /* the model file (borrowed from the caller) */
  bool from_nir;                /* a .nir module: lowered already */
};

/* The command line's compile (naasc_compile_options_*): the pass manager's
 * options, the import's, what will be emitted; after setup, the registry
 * and the pipeline cut at `lower` into its graph part and the rest. */
struct NaascCompileOptions {
  DriverOptions drv;
  ImportOptions io;
  const char *schedule, *emit, *out;
  NaascDiagnosticFn on_dump;
  void *on_dump_user;
  FILE *dump; /* the dump handler's stream (fopencookie), or NULL */
  PassRegistry *reg;
  Pipeline pl;      /* pl's passes before `lower` */
  Pipeline rest;    /* a shallow copy: the passes from `lower` on (pl owns the arena) */
  bool ready;       /* setup done */
  bool opt;         /* naasc-opt's (naasc_opt_options_create): for naasc_opt_run only */
  const char *prog; /* names messages located in no file: "naasc" or "naasc-opt" */
};

struct NaascProblem {
  Problem p;
};

struct NaascMapping {
  Mapping m;
};

struct NaascSearch {
  Arch budget;
  NaasOptions o;
  NaasWorkload w;
  NaasResult r;
  Module *mods[NAAS_MAX_MODELS]; /* the workload's models (it borrows them for schedules) */
  bool done;                     /* r holds a design */
};

/* ---- calls: a Diag into memory, the message kept on failure ---------------- */

typedef struct {
  NaascContext *ctx;
  Diag d;
  char *buf;
  size_t len;
  FILE *mem; /* the memory stream behind d.out (d.out is a tee with a handler) */
} Call;

/* The stream of a call with a diagnostic handler: each write goes to the
 * handler and to the memory stream. */
static ssize_t tee_write(void *cookie, const char *b, size_t n) {
  Call *c = cookie;
  c->ctx->on_diag(c->ctx->on_diag_user, b, n);
  return (ssize_t)fwrite(b, 1, n, c->mem);
}

static int tee_close(void *cookie) {
  (void)cookie;
  return 0;
}

static bool call_begin(Call *c, NaascContext *ctx, const char *file) {
  c->ctx = ctx;
  c->buf = NULL;
  c->len = 0;
  c->mem = NULL;
  diag_init(&c->d, NULL, file);
  if (!ctx) return false;
  free(ctx->error);
  ctx->error = NULL;
  c->mem = open_memstream(&c->buf, &c->len);
  if (!c->mem) return false;
  c->d.out = c->mem;
  if (ctx->on_diag) {
    cookie_io_functions_t io = {.write = tee_write, .close = tee_close};
    FILE *tee = fopencookie(c, "w", io);
    if (!tee) return false;
    setvbuf(tee, NULL, _IOLBF, 0); /* a message reaches the handler when its line ends */
    c->d.out = tee;
  }
  return true;
}

/* Ends a call begun with call_begin: on failure its messages become the
 * context's error (a generic one if nothing was reported). */
static NaascStatus call_end(Call *c, Rc rc) {
  if (!c->ctx) return NAASC_USAGE;
  if (c->d.out && c->d.out != c->mem) fclose(c->d.out); /* the tee: flushed into mem */
  if (c->mem) fclose(c->mem);
  if (rc != RC_OK) {
    if (c->buf && c->len) {
      while (c->len && c->buf[c->len - 1] == '\n') c->buf[--c->len] = 0;
      c->ctx->error = c->buf;
      c->buf = NULL;
    } else {
      c->ctx->error = strdup(rc == RC_INTERNAL ? "naasc: error: internal error (out of memory?)"
                                               : "naasc: error: invalid input");
    }
  }
  free(c->buf);
  return (NaascStatus)rc;
}

/* A failure of the call itself (NULL handle, bad option): reported in ctx. */
static NaascStatus call_usage(Call *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static NaascStatus call_usage(Call *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  diag_verror(&c->d, "error", NULL, fmt, ap);
  va_end(ap);
  return call_end(c, RC_USAGE);
}

/* The text written to a memory stream by print(f, arg), as a heap string. */
static Rc print_to_string(void (*print)(FILE *, const void *), const void *arg, char **out) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f) return RC_INTERNAL;
  print(f, arg);
  fclose(f);
  *out = buf;
  return buf ? RC_OK : RC_INTERNAL;
}

/* A private temporary folder for the report writers, and removing it. */
static Rc tmp_dir(char dir[64], Diag *d) {
  const char *t = getenv("TMPDIR");
  snprintf(dir, 64, "%s/naasc-api-XXXXXX", t && *t && strlen(t) < 40 ? t : "/tmp");
  if (!mkdtemp(dir)) {
    diag_error(d, dir, "cannot create a temporary folder: %s", strerror(errno));
    return RC_INTERNAL;
  }
  return RC_OK;
}

/* Reads dir/name into *out (a heap string) and removes the files named. */
static Rc take_file(const char *dir, const char *name, const char *also, char **out, Diag *d) {
  char path[128];
  uint8_t *buf = NULL;
  size_t len = 0;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  Rc rc = file_read_all(path, (size_t)1 << 30, &buf, &len, d);
  unlink(path);
  if (also) {
    snprintf(path, sizeof path, "%s/%s", dir, also);
    unlink(path);
  }
  rmdir(dir);
  if (rc != RC_OK) return rc;
  *out = malloc(len + 1);
  if (*out) {
    memcpy(*out, buf, len);
    (*out)[len] = 0;
  }
  xfree(buf);
  return *out ? RC_OK : RC_INTERNAL;
}

/* ---- context ---------------------------------------------------------------- */

int naasc_api_version(void) { return NAASC_API_VERSION; }
const char *naasc_version(void) { return NAASC_VERSION; }

NaascContext *naasc_context_create(void) {
  NaascContext *c = calloc(1, sizeof *c);
  if (c) c->jobs = 1;
  return c;
}

void naasc_context_destroy(NaascContext *ctx) {
  if (!ctx) return;
  free(ctx->error);
  free(ctx);
}

const char *naasc_context_error(const NaascContext *ctx) {
  return ctx && ctx->error ? ctx->error : "";
}

void naasc_context_set_jobs(NaascContext *ctx, int jobs) {
  if (ctx) ctx->jobs = jobs > 0 ? jobs : 1;
}

void naasc_context_set_diagnostic_handler(NaascContext *ctx, NaascDiagnosticFn fn, void *user) {
  if (!ctx) return;
  ctx->on_diag = fn;
  ctx->on_diag_user = user;
}

void naasc_string_free(char *s) { free(s); }

/* ---- models ----------------------------------------------------------------- */

/* A fresh graph of m: imported again (or rebuilt from the zoo). */
/* The graph a search scores, lowered as the compiler's default pipeline
 * lowers it (PIPELINE_O2: BatchNorm folded into the convolution before it,
 * activations and constant biases fused into the mac layer), so a design
 * is scored on the work its command stream does.  Before, a search lowered
 * the graph unfolded, and every BatchNorm, ReLU and bias add was a vector
 * nest with a DRAM round trip of its activation. */
static Rc search_lower(Model *g, Module **out, Diag *d) {
  Rc rc = graph_fold_bn(g, d);
  if (rc == RC_OK) rc = graph_fuse_act(g, d);
  if (rc == RC_OK) rc = lower_model(g, out, d);
  return rc;
}

static Rc model_graph(const NaascModel *m, Model **out, Diag *d) {
  if (m->zoo) {
    d->file = "naasc zoo";
    return zoo_build(m->zoo, !m->no_weights, m->seed, out, d);
  }
  d->file = m->path;
  return onnx_import(m->path, &m->io, out, d);
}

void naasc_model_destroy(NaascModel *m) {
  if (!m) return;
  free(m->path);
  free(m->zoo);
  for (int i = 0; i < NAASC_MAX_BINDINGS; i++) free(m->shape_text[i]);
  model_destroy(m->graph);
  free(m);
}

NaascStatus naasc_model_import(NaascContext *ctx, const char *path, const char *const *input_shapes,
                               int nshapes, NaascModel **out) {
  Call c;
  if (!call_begin(&c, ctx, path)) return call_end(&c, RC_INTERNAL);
  if (!path || !out) return call_usage(&c, "naasc_model_import: path and out must not be NULL");
  if (nshapes < 0 || nshapes > NAASC_MAX_BINDINGS)
    return call_usage(&c, "naasc_model_import: at most %d input shapes", NAASC_MAX_BINDINGS);
  *out = NULL;
  NaascModel *m = calloc(1, sizeof *m);
  Rc rc = m && (m->path = strdup(path)) ? RC_OK : RC_INTERNAL;
  if (rc == RC_OK) import_options_default(&m->io);
  for (int i = 0; rc == RC_OK && i < nshapes; i++) {
    /* parse_input_shape keeps pointers into its argument: a copy of our own */
    m->shape_text[i] = strdup(input_shapes[i] ? input_shapes[i] : "");
    if (!m->shape_text[i])
      rc = RC_INTERNAL;
    else if (!parse_input_shape(m->shape_text[i], &m->io.shapes[m->io.nshapes++], &c.d))
      rc = RC_BADINPUT;
  }
  if (rc == RC_OK) rc = model_graph(m, &m->graph, &c.d);
  if (rc == RC_OK)
    *out = m;
  else
    naasc_model_destroy(m);
  return call_end(&c, rc);
}

static NaascStatus model_zoo(NaascContext *ctx, const char *name, uint64_t seed, bool weights,
                             NaascModel **out) {
  Call c;
  if (!call_begin(&c, ctx, "naasc zoo")) return call_end(&c, RC_INTERNAL);
  if (!name || !out) return call_usage(&c, "naasc_model_zoo: name and out must not be NULL");
  *out = NULL;
  NaascModel *m = calloc(1, sizeof *m);
  Rc rc = m && (m->zoo = strdup(name)) ? RC_OK : RC_INTERNAL;
  if (rc == RC_OK) {
    m->seed = seed;
    m->no_weights = !weights;
    import_options_default(&m->io);
    rc = model_graph(m, &m->graph, &c.d);
  }
  if (rc == RC_OK)
    *out = m;
  else
    naasc_model_destroy(m);
  return call_end(&c, rc);
}

NaascStatus naasc_model_zoo(NaascContext *ctx, const char *name, uint64_t seed, NaascModel **out) {
  return model_zoo(ctx, name, seed, true, out);
}

NaascStatus naasc_model_zoo_shapes(NaascContext *ctx, const char *name, NaascModel **out) {
  return model_zoo(ctx, name, 1, false, out);
}

int naasc_zoo_count(void) {
  int n;
  zoo_list(&n);
  return n;
}

const char *naasc_zoo_name(int i) {
  int n;
  const ZooEntry *z = zoo_list(&n);
  return i >= 0 && i < n ? z[i].name : NULL;
}

const char *naasc_zoo_description(int i) {
  int n;
  const ZooEntry *z = zoo_list(&n);
  return i >= 0 && i < n ? z[i].desc : NULL;
}

NaascStatus naasc_model_write_onnx(NaascContext *ctx, const NaascModel *m, const char *path) {
  Call c;
  if (!call_begin(&c, ctx, path)) return call_end(&c, RC_INTERNAL);
  if (!m || !path) return call_usage(&c, "naasc_model_write_onnx: NULL argument");
  return call_end(&c, onnx_write(m->graph, path, &c.d));
}

const char *naasc_model_name(const NaascModel *m) {
  return m && m->graph && m->graph->name ? m->graph->name : "";
}

static void print_summary(FILE *f, const void *m) { summary_print(f, m); }

NaascStatus naasc_model_summary(NaascContext *ctx, const NaascModel *m, char **text) {
  Call c;
  if (!call_begin(&c, ctx, NULL)) return call_end(&c, RC_INTERNAL);
  if (!m || !text) return call_usage(&c, "naasc_model_summary: NULL argument");
  return call_end(&c, print_to_string(print_summary, m->graph, text));
}

/* ---- targets ----------------------------------------------------------------- */

NaascStatus naasc_target_load(NaascContext *ctx, const char *name_or_path, NaascTarget **out) {
  Call c;
  if (!call_begin(&c, ctx, NULL)) return call_end(&c, RC_INTERNAL);
  if (!name_or_path || !out) return call_usage(&c, "naasc_target_load: NULL argument");
  *out = NULL;
  NaascTarget *t = calloc(1, sizeof *t);
  Rc rc = t ? arch_resolve(name_or_path, &t->a, &c.d) : RC_INTERNAL;
  if (rc == RC_OK)
    *out = t;
  else
    free(t);
  return call_end(&c, rc);
}

NaascStatus naasc_target_parse(NaascContext *ctx, const char *yaml, size_t len, const char *name,
                               NaascTarget **out) {
  Call c;
  if (!call_begin(&c, ctx, name)) return call_end(&c, RC_INTERNAL);
  if (!yaml || !out) return call_usage(&c, "naasc_target_parse: NULL argument");
  *out = NULL;
  NaascTarget *t = calloc(1, sizeof *t);
  Rc rc = t ? arch_load_text(yaml, len, name ? name : "<target>", &t->a, &c.d) : RC_INTERNAL;
  if (rc == RC_OK)
    *out = t;
  else
    free(t);
  return call_end(&c, rc);
}

void naasc_target_destroy(NaascTarget *t) { free(t); }

const char *naasc_target_name(const NaascTarget *t) { return t ? t->a.name : ""; }

int naasc_target_levels(const NaascTarget *t) { return t ? t->a.nlevels : 0; }

const char *naasc_target_level_name(const NaascTarget *t, int level) {
  return t && level >= 0 && level < t->a.nlevels ? t->a.level[level].name : NULL;
}

NaascStatus naasc_target_set_precision(NaascContext *ctx, NaascTarget *t, const char *precision) {
  Call c;
  if (!call_begin(&c, ctx, NULL)) return call_end(&c, RC_INTERNAL);
  if (!t || !precision) return call_usage(&c, "naasc_target_set_precision: NULL argument");
  Precision p;
  Rc rc = precision_parse(precision, &p, &c.d, "--precision");
  if (rc == RC_OK) rc = arch_set_precision(&t->a, &p, &c.d);
  return call_end(&c, rc);
}

static void print_arch(FILE *f, const void *a) { arch_print(f, a); }

NaascStatus naasc_target_print(NaascContext *ctx, const NaascTarget *t, char **yaml) {
  Call c;
  if (!call_begin(&c, ctx, NULL)) return call_end(&c, RC_INTERNAL);
  if (!t || !yaml) return call_usage(&c, "naasc_target_print: NULL argument");
  return call_end(&c, print_to_string(print_arch, &t->a, yaml));
}

const char *const *naasc_target_presets(int *n) { return arch_preset_names(n); }

/* ---- compiling ------------------------------------------------------------------ */

void naasc_module_destroy(NaascModule *mod) {
  if (!mod) return;
  program_free(&mod->prog);
  free(mod);
}

NaascStatus naasc_compile(NaascContext *ctx, const NaascModel *m, const NaascTarget *t,
                          const char *pipeline, NaascModule **out) {
  Call c;
  if (!call_begin(&c, ctx, "naasc")) return call_end(&c, RC_INTERNAL);
  if (!m || !t || !out) return call_usage(&c, "naasc_compile: NULL argument");
  *out = NULL;
  DriverOptions drv;
  driver_options_default(&drv, pipeline ? pipeline : PIPELINE_O2_MAP);
  PassRegistry *reg = NULL;
  Pipeline pl;
  Rc rc = driver_setup(&drv, &reg, &pl, c.d.out, &c.d);
  if (rc != RC_OK) return call_end(&c, rc);
  NaascModule *mod = calloc(1, sizeof *mod);
  if (!mod) rc = RC_INTERNAL;
  if (rc == RC_OK) {
    mod->a = t->a;
    mod->prog.arch = &mod->a;
    mod->prog.jobs = ctx->jobs;
    rc = model_graph(m, &mod->prog.graph, &c.d);
  }
  if (rc == RC_OK) rc = pm_run(&pl, &mod->prog, &drv.pm, &c.d);
  if (rc == RC_OK && !mod->prog.mod) {
    diag_error(&c.d, NULL, "the pipeline '%s' does not lower the model ('lower' is missing)",
               drv.pipeline);
    rc = RC_BADINPUT;
  }
  /* the IR is verified before anything reads it, whatever the pipeline */
  if (rc == RC_OK) rc = pm_verify_before_emit(reg, &pl, &mod->prog, &c.d);
  pipeline_free(&pl);
  pass_registry_destroy(reg);
  if (rc == RC_OK)
    *out = mod;
  else
    naasc_module_destroy(mod);
  return call_end(&c, rc);
}

/* The report of `naasc ... --report=FILE.json [--schedule=...]` into
 * json_path, as tools/naasc.c makes it. */
static Rc write_report(const Program *prog, const char *how, const char *json_path, Diag *d) {
  if (strcmp(how, "layer") == 0) return report_write(prog->mod, prog->arch, NULL, json_path, d);
  return schedule_report(prog, how, NULL, false, json_path, d);
}

NaascStatus naasc_module_report(NaascContext *ctx, const NaascModule *mod, const char *schedule,
                                char **json) {
  Call c;
  if (!call_begin(&c, ctx, "naasc")) return call_end(&c, RC_INTERNAL);
  if (!mod || !json) return call_usage(&c, "naasc_module_report: NULL argument");
  char dir[64], path[128];
  Rc rc = tmp_dir(dir, &c.d);
  if (rc != RC_OK) return call_end(&c, rc);
  snprintf(path, sizeof path, "%s/report.json", dir);
  rc = write_report(&mod->prog, schedule ? schedule : "best", path, &c.d);
  if (rc == RC_OK) {
    rc = take_file(dir, "report.json", "report.svg", json, &c.d);
  } else {
    unlink(path);
    snprintf(path, sizeof path, "%s/report.svg", dir);
    unlink(path);
    rmdir(dir);
  }
  return call_end(&c, rc);
}

static void print_module(FILE *f, const void *m) { module_print(f, m); }

NaascStatus naasc_module_print(NaascContext *ctx, const NaascModule *mod, char **text) {
  Call c;
  if (!call_begin(&c, ctx, NULL)) return call_end(&c, RC_INTERNAL);
  if (!mod || !text) return call_usage(&c, "naasc_module_print: NULL argument");
  return call_end(&c, print_to_string(print_module, mod->prog.mod, text));
}

/* ---- compiling a model file, as the command line does ------------------------ */

NaascCompileOptions *naasc_compile_options_create(void) {
  NaascCompileOptions *o = calloc(1, sizeof *o);
  if (!o) return NULL;
  driver_options_default(&o->drv, PIPELINE_O2);
  import_options_default(&o->io);
  o->prog = "naasc";
  return o;
}

NaascCompileOptions *naasc_opt_options_create(void) {
  NaascCompileOptions *o = naasc_compile_options_create();
  if (!o) return NULL;
  o->drv.pipeline = NULL; /* naasc_opt_run picks the input's default */
  o->opt = true;
  o->prog = "naasc-opt";
  return o;
}

void naasc_compile_options_destroy(NaascCompileOptions *o) {
  if (!o) return;
  if (o->ready) {
    pipeline_free(&o->pl);
    pass_registry_destroy(o->reg);
  }
  if (o->dump) fclose(o->dump);
  free(o);
}

int naasc_compile_options_parse_flag(NaascContext *ctx, NaascCompileOptions *o, int argc,
                                     char **argv, int *i) {
  Call c;
  if (!call_begin(&c, ctx, o ? o->prog : "naasc")) return call_end(&c, RC_INTERNAL), -1;
  if (!o || !argv || !i || *i < 0 || *i >= argc) {
    call_usage(&c, "naasc_compile_options_parse_flag: bad argument");
    return -1;
  }
  int r = 1;
  if (o->opt &&
      (strcmp(argv[*i], "--allow-unsupported") == 0 || strcmp(argv[*i], "--no-fold") == 0))
    r = 0; /* naasc's, not naasc-opt's */
  else if (strcmp(argv[*i], "--allow-unsupported") == 0)
    o->io.allow_unsupported = true;
  else if (strcmp(argv[*i], "--no-fold") == 0)
    o->drv.pipeline = PIPELINE_O0;
  else
    r = driver_parse_flag(&o->drv, argc, argv, i, &c.d);
  call_end(&c, r < 0 ? RC_USAGE : RC_OK);
  return r;
}

static NaascStatus add_binding(NaascContext *ctx, NaascCompileOptions *o, const char *arg,
                               bool shape) {
  Call c;
  if (!call_begin(&c, ctx, o ? o->prog : "naasc")) return call_end(&c, RC_INTERNAL);
  if (!o || !arg) return call_usage(&c, "naasc_compile_options_add_input_*: NULL argument");
  int *n = shape ? &o->io.nshapes : &o->io.ndata;
  if (*n == NAASC_MAX_BINDINGS)
    return call_usage(&c, "too many --input-%s flags", shape ? "shape" : "data");
  bool ok = shape ? parse_input_shape(arg, &o->io.shapes[*n], &c.d)
                  : parse_input_data(arg, &o->io.data[*n], &c.d);
  (*n)++; /* as the command line counted them */
  return call_end(&c, ok ? RC_OK : RC_USAGE);
}

NaascStatus naasc_compile_options_add_input_shape(NaascContext *ctx, NaascCompileOptions *o,
                                                  const char *name_dims) {
  return add_binding(ctx, o, name_dims, true);
}

NaascStatus naasc_compile_options_add_input_data(NaascContext *ctx, NaascCompileOptions *o,
                                                 const char *name_file) {
  return add_binding(ctx, o, name_file, false);
}

void naasc_compile_options_set_schedule(NaascCompileOptions *o, const char *how) {
  if (o) o->schedule = how;
}

void naasc_compile_options_set_emit(NaascCompileOptions *o, const char *kind, const char *out) {
  if (!o) return;
  o->emit = kind;
  o->out = out;
}

static ssize_t dump_write(void *cookie, const char *b, size_t n) {
  const NaascCompileOptions *o = cookie;
  if (o->on_dump) o->on_dump(o->on_dump_user, b, n);
  return (ssize_t)n;
}

void naasc_compile_options_set_dump_handler(NaascCompileOptions *o, NaascDiagnosticFn fn,
                                            void *user) {
  if (!o) return;
  o->on_dump = fn;
  o->on_dump_user = user;
}

/* A writer of text to a NaascDiagnosticFn, for driver_setup's listing. */
typedef struct {
  NaascDiagnosticFn fn;
  void *user;
} TextSink;

static ssize_t sink_write(void *cookie, const char *b, size_t n) {
  TextSink *s = cookie;
  if (s->fn) s->fn(s->user, b, n);
  return (ssize_t)n;
}

static int no_close(void *cookie) {
  (void)cookie;
  return 0;
}

/* The registry and the pipeline of o (naasc_compile_options_setup), with
 * the listing to `listing`; naasc's options have the pipeline cut at
 * `lower`, naasc-opt's keep it whole in pl. */
static Rc options_setup(Call *cp, NaascCompileOptions *o, NaascDiagnosticFn listing, void *user) {
  /* The IR dumps go to the dump handler, unbuffered: in order with the
   * messages, which reach the diagnostic handler line by line. */
  cookie_io_functions_t dio = {.write = dump_write, .close = no_close};
  o->dump = fopencookie(o, "w", dio);
  if (!o->dump) return RC_INTERNAL;
  setvbuf(o->dump, NULL, _IONBF, 0);
  o->drv.pm.dump = o->dump;
  /* With a target naasc's named pipelines map the layers too (naasc-opt's
   * -O0 and -O2 are what they name); a pipeline given with -p runs as
   * written, even when it reads as a named one ('lower,verify' on a mapped
   * .nir keeps its mappings). */
  if (!o->opt && o->drv.target && !o->drv.pipeline_given &&
      strcmp(o->drv.pipeline, PIPELINE_O2) == 0)
    o->drv.pipeline = PIPELINE_O2_MAP;
  if (!o->opt && o->drv.target && !o->drv.pipeline_given &&
      strcmp(o->drv.pipeline, PIPELINE_O0) == 0)
    o->drv.pipeline = PIPELINE_O0_MAP;
  TextSink sink = {listing, user};
  cookie_io_functions_t lio = {.write = sink_write, .close = no_close};
  FILE *lf = fopencookie(&sink, "w", lio);
  if (!lf) return RC_INTERNAL;
  setvbuf(lf, NULL, _IONBF, 0); /* the listing before any error that follows it */
  Rc rc = driver_setup(&o->drv, &o->reg, &o->pl, lf, &cp->d);
  fclose(lf);
  if (rc != RC_OK) return rc;
  if (o->opt) { /* naasc_opt_run runs the whole pipeline */
    o->ready = true;
    return RC_OK;
  }
  /* The graph part of the pipeline runs in naasc_compile_file (summary,
   * graph, onnx look at the graph); the rest in naasc_module_lower. */
  int lower_at = o->pl.n;
  for (int i = 0; i < o->pl.n; i++)
    if (o->pl.pass[i]->level == PASS_LOWER) {
      lower_at = i;
      break;
    }
  o->rest = o->pl; /* pl[lower_at..n), shifted */
  o->rest.n = o->pl.n - lower_at;
  memmove(o->rest.pass, o->pl.pass + lower_at, sizeof(o->pl.pass[0]) * (size_t)o->rest.n);
  memmove(o->rest.args, o->pl.args + lower_at, sizeof(o->pl.args[0]) * (size_t)o->rest.n);
  o->pl.n = lower_at;
  o->ready = true;
  return RC_OK;
}

NaascStatus naasc_compile_options_setup(NaascContext *ctx, NaascCompileOptions *o,
                                        NaascDiagnosticFn listing, void *user) {
  Call c;
  if (!call_begin(&c, ctx, "naasc")) return call_end(&c, RC_INTERNAL);
  if (!o || o->ready) return call_usage(&c, "naasc_compile_options_setup: NULL or set up already");
  if (o->opt)
    return call_usage(
        &c, "naasc_compile_options_setup: naasc-opt's options (naasc_opt_run sets them up)");
  return call_end(&c, options_setup(&c, o, listing, user));
}

int naasc_compile_options_has_target(const NaascCompileOptions *o) {
  return o && o->drv.target != NULL;
}

int naasc_compile_options_lowers(const NaascCompileOptions *o) {
  return o && o->ready && o->rest.n > 0;
}

int naasc_compile_options_lists(const NaascCompileOptions *o) {
  return o && (o->drv.print_pipeline || o->drv.list_passes);
}

static bool emit_is(const NaascCompileOptions *o, const char *kind) {
  return o->emit && strcmp(o->emit, kind) == 0;
}

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

NaascStatus naasc_compile_file(NaascContext *ctx, const char *path, const NaascCompileOptions *o,
                               NaascModule **out) {
  Call c;
  if (!call_begin(&c, ctx, path)) return call_end(&c, RC_INTERNAL);
  if (!path || !o || !out) return call_usage(&c, "naasc_compile_file: NULL argument");
  if (!o->ready || o->opt)
    return call_usage(&c, "naasc_compile_file: naasc_compile_options_setup first");
  *out = NULL;
  NaascModule *mod = calloc(1, sizeof *mod);
  if (!mod) return call_end(&c, RC_INTERNAL);
  mod->o = o;
  mod->path = path;
  /* A loop-nest module (.nir, e.g. from naasc-opt) starts after `lower`: its
   * weights come from the file it names (docs/ir.md, "Weights"). */
  size_t plen = strlen(path);
  mod->from_nir = plen > 4 && strcmp(path + plen - 4, ".nir") == 0;
  bool stream = emit_is(o, "cmd") || emit_is(o, "cmd-text");
  Model *m = NULL;
  Module *parsed = NULL;
  Rc rc = mod->from_nir ? nir_load(path, stream, &parsed, &m, &c.d)
                        : onnx_import(path, &o->io, &m, &c.d);
  mod->prog = (Program){.graph = mod->from_nir ? NULL : m,
                        .mod = parsed,
                        .weights = mod->from_nir ? m : NULL,
                        .keep_weights = stream || (emit_is(o, "nir") && o->out)};
  if (rc == RC_OK && o->drv.target) {
    rc = driver_load_target(&o->drv, &mod->a, &c.d);
    mod->prog.arch = &mod->a;
  }
  if (rc == RC_OK && o->drv.target && o->drv.precision && strcmp(o->drv.precision, "model") == 0) {
    Precision mp; /* the precision of the model's own element types */
    if (mod->from_nir) {
      diag_error(&c.d, NULL, "--precision model needs the ONNX graph, not a .nir module");
      rc = RC_BADINPUT;
    } else {
      rc = precision_of_model(mod->prog.graph, &mp, &c.d);
    }
    if (rc == RC_OK) rc = arch_set_precision(&mod->a, &mp, &c.d);
    if (rc == RC_OK) arch_assume(&mod->a, (ArchAssume)o->drv.assume);
  }
  mod->prog.jobs = o->drv.jobs;
  if (rc == RC_OK && !mod->from_nir) rc = pm_run(&o->pl, &mod->prog, &o->drv.pm, &c.d);
  if (rc == RC_OK)
    *out = mod;
  else
    naasc_module_destroy(mod);
  return call_end(&c, rc);
}

NaascStatus naasc_module_lower(NaascContext *ctx, NaascModule *mod) {
  Call c;
  if (!call_begin(&c, ctx, mod ? mod->path : NULL)) return call_end(&c, RC_INTERNAL);
  if (!mod || !mod->o)
    return call_usage(&c, "naasc_module_lower: not a module of naasc_compile_file");
  const NaascCompileOptions *o = mod->o;
  Pipeline rest = o->rest;
  if (mod->from_nir && rest.n && rest.pass[0]->level == PASS_LOWER) { /* lowered already */
    memmove(rest.pass, rest.pass + 1, sizeof(rest.pass[0]) * (size_t)(rest.n - 1));
    memmove(rest.args, rest.args + 1, sizeof(rest.args[0]) * (size_t)(rest.n - 1));
    rest.n--;
  }
  Rc rc = pm_run(&rest, &mod->prog, &o->drv.pm, &c.d);
  /* --schedule with --emit=nir or a command stream: the schedule's groups
   * go into the module as fused groups; for a stream, "best" searches only
   * the groups it runs (depth-first ones of nests it runs tiled). */
  bool stream = emit_is(o, "cmd") || emit_is(o, "cmd-text");
  if (rc == RC_OK && o->schedule && (emit_is(o, "nir") || stream))
    rc = schedule_attach(&mod->prog, o->schedule, /*stream=*/stream, &c.d);
  /* The IR is always verified before it is emitted, whatever the pipeline. */
  if (rc == RC_OK) rc = pm_verify_before_emit(o->reg, &rest, &mod->prog, &c.d);
  return call_end(&c, rc);
}

/* -o M.nir: the weights go to M.nir.weights, which the text names; a .nir
 * input's reference is rebased from its folder to out's. */
static Rc nir_weights(NaascModule *mod, const char *out, Diag *d) {
  Program *p = &mod->prog;
  if (mod->from_nir && p->mod->weights)
    p->mod->weights = weights_rebase(&p->mod->arena, mod->path, p->mod->weights, out);
  if (mod->from_nir || !weights_available(p->mod, p->weights)) return RC_OK;
  size_t ol = strlen(out);
  char *wpath = xmalloc(ol + 9);
  const char *slash = strrchr(out, '/');
  if (!wpath) return RC_INTERNAL;
  snprintf(wpath, ol + 9, "%s.weights", out);
  const char *file = d->file;
  d->file = wpath;
  Rc rc = weights_write(wpath, p->mod, p->weights, d);
  p->mod->weights = arena_strdup(&p->mod->arena, slash ? wpath + (slash - out) + 1 : wpath);
  if (!p->mod->weights && rc == RC_OK) rc = RC_INTERNAL;
  xfree(wpath);
  d->file = file;
  return rc;
}

/* The command stream of the lowered, mapped program: written atomically to
 * path (binary), or disassembled to f. */
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

/* "timeloop": the target and, per mapped layer, its problem and mapping as
 * Timeloop files in dir (docs/timeloop.md); file names are the layer names
 * with characters other than letters, digits, '.', '-' and '_' as '_'.  A
 * layer Timeloop cannot express is reported and skipped (exit 1). */
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

NaascStatus naasc_module_emit(NaascContext *ctx, NaascModule *mod, const char *kind,
                              const char *path, char **text) {
  Call c;
  if (text) *text = NULL;
  if (!call_begin(&c, ctx, mod ? mod->path : NULL)) return call_end(&c, RC_INTERNAL);
  if (!mod || !kind) return call_usage(&c, "naasc_module_emit: NULL argument");
  Program *p = &mod->prog;
  const char *how = mod->o && mod->o->schedule ? mod->o->schedule : "best";
  bool graph =
      strcmp(kind, "summary") == 0 || strcmp(kind, "graph") == 0 || strcmp(kind, "onnx") == 0;
  bool needs_path =
      strcmp(kind, "onnx") == 0 || strcmp(kind, "cmd") == 0 || strcmp(kind, "timeloop") == 0;
  bool has_text = !needs_path;
  if (graph && !p->graph)
    return call_usage(&c, "naasc_module_emit: '%s' needs the graph (not a .nir module)", kind);
  if (!graph && !p->mod)
    return call_usage(&c, "naasc_module_emit: '%s' needs the lowered module", kind);
  if (needs_path && !path) return call_usage(&c, "naasc_module_emit: '%s' needs a path", kind);
  if (has_text && !text) return call_usage(&c, "naasc_module_emit: '%s' gives text", kind);
  if (!graph && strcmp(kind, "nir") != 0 && !p->arch)
    return call_usage(&c, "naasc_module_emit: '%s' needs a target", kind);
  char *buf = NULL;
  size_t len = 0;
  FILE *f = has_text ? open_memstream(&buf, &len) : NULL;
  if (has_text && !f) return call_end(&c, RC_INTERNAL);
  Rc rc = RC_OK;
  if (strcmp(kind, "summary") == 0) {
    summary_print(f, p->graph);
  } else if (strcmp(kind, "graph") == 0) {
    graph_print(f, p->graph);
  } else if (strcmp(kind, "onnx") == 0) {
    c.d.file = path;
    rc = onnx_write(p->graph, path, &c.d);
  } else if (strcmp(kind, "nir") == 0) {
    if (path) rc = nir_weights(mod, path, &c.d);
    if (rc == RC_OK) module_print(f, p->mod);
  } else if (strcmp(kind, "cmd") == 0 || strcmp(kind, "cmd-text") == 0) {
    rc = emit_cmd(p, f ? NULL : path, f, &c.d);
  } else if (strcmp(kind, "timeloop") == 0) {
    rc = emit_timeloop(p, path, &c.d);
  } else if (strcmp(kind, "report") == 0 && strcmp(how, "layer") == 0) {
    rc = report_write(p->mod, p->arch, f, path, &c.d);
  } else if (strcmp(kind, "report") == 0) {
    rc = schedule_report(p, how, f, false, path ? path : "-", &c.d);
  } else if (strcmp(kind, "schedule") == 0) {
    rc = schedule_report(p, how, f, true, path, &c.d);
  } else {
    if (f) fclose(f);
    free(buf);
    return call_usage(&c, "naasc_module_emit: unknown kind '%s'", kind);
  }
  if (f) {
    if (fclose(f) != 0 && rc == RC_OK) rc = RC_INTERNAL;
    *text = buf;
  }
  return call_end(&c, rc);
}

/* ---- one layer ---------------------------------------------------------------- */

void naasc_problem_destroy(NaascProblem *p) { free(p); }
void naasc_mapping_destroy(NaascMapping *m) { free(m); }
const char *naasc_problem_name(const NaascProblem *p) { return p ? p->p.name : ""; }

int64_t naasc_problem_macs(const NaascProblem *p) {
  if (!p) return 0;
  int64_t n = 1;
  for (int d = 0; d < NDIMS; d++) n *= p->p.dim[d];
  return n;
}

/* Copies what a TimeloopSpec holds into the handles asked for. */
static Rc take_spec(const TimeloopSpec *s, NaascTarget **t, NaascProblem **p, NaascMapping **m) {
  NaascTarget *nt = t ? calloc(1, sizeof *nt) : NULL;
  NaascProblem *np = p ? calloc(1, sizeof *np) : NULL;
  NaascMapping *nm = m ? calloc(1, sizeof *nm) : NULL;
  if ((t && !nt) || (p && !np) || (m && !nm)) {
    free(nt);
    free(np);
    free(nm);
    return RC_INTERNAL;
  }
  if (t) nt->a = s->arch, *t = nt;
  if (p) np->p = s->problem, *p = np;
  if (m) nm->m = s->mapping, *m = nm;
  return RC_OK;
}

NaascStatus naasc_timeloop_load(NaascContext *ctx, const char *const *paths, int npaths,
                                NaascTarget **t, NaascProblem **p, NaascMapping **m) {
  Call c;
  if (!call_begin(&c, ctx, NULL)) return call_end(&c, RC_INTERNAL);
  if (!paths || npaths < 1) return call_usage(&c, "naasc_timeloop_load: no paths");
  for (int i = 0; i < npaths; i++)
    if (!paths[i]) return call_usage(&c, "naasc_timeloop_load: a NULL path");
  unsigned need = (t ? TL_HAVE_ARCH : 0) | (p ? TL_HAVE_PROBLEM : 0) | (m ? TL_HAVE_MAPPING : 0);
  TimeloopSpec *s = calloc(1, sizeof *s);
  Rc rc = s ? timeloop_load(paths, npaths, need, s, &c.d) : RC_INTERNAL;
  if (rc == RC_OK && m) {
    c.d.file = paths[0];
    rc = cost_check_mapping(&s->problem, &s->arch, &s->mapping, &c.d);
  }
  if (rc == RC_OK) rc = take_spec(s, t, p, m);
  free(s);
  return call_end(&c, rc);
}

NaascStatus naasc_problem_load(NaascContext *ctx, const char *path, NaascProblem **out) {
  Call c;
  if (!call_begin(&c, ctx, NULL)) return call_end(&c, RC_INTERNAL);
  if (!path || !out) return call_usage(&c, "naasc_problem_load: NULL argument");
  *out = NULL;
  if (spec_file_kind(path) == SPEC_TIMELOOP) {
    call_end(&c, RC_OK);
    return naasc_timeloop_load(ctx, &path, 1, NULL, out, NULL);
  }
  NaascProblem *p = calloc(1, sizeof *p);
  Rc rc = p ? problem_load(path, &p->p, &c.d) : RC_INTERNAL;
  if (rc == RC_OK)
    *out = p;
  else
    free(p);
  return call_end(&c, rc);
}

NaascStatus naasc_mapping_load(NaascContext *ctx, const char *path, const NaascTarget *t,
                               NaascMapping **out) {
  Call c;
  if (!call_begin(&c, ctx, NULL)) return call_end(&c, RC_INTERNAL);
  if (!path || !t || !out) return call_usage(&c, "naasc_mapping_load: NULL argument");
  *out = NULL;
  NaascMapping *m = calloc(1, sizeof *m);
  Rc rc = m ? mapping_load(path, &t->a, &m->m, &c.d) : RC_INTERNAL;
  if (rc == RC_OK)
    *out = m;
  else
    free(m);
  return call_end(&c, rc);
}

NaascStatus naasc_layer_load(NaascContext *ctx, const char *arch, const char *problem,
                             const char *mapping, NaascTarget **t, NaascProblem **p,
                             NaascMapping **m) {
  Call c;
  if (!call_begin(&c, ctx, NULL)) return call_end(&c, RC_INTERNAL);
  if (!arch || !problem || !mapping || !t || !p || !m)
    return call_usage(&c, "naasc_layer_load: NULL argument");
  *t = NULL, *p = NULL, *m = NULL;
  const char *paths[3] = {arch, problem, mapping};
  static const char *const what[3] = {"architecture", "problem", "mapping"};
  SpecKind k[3];
  for (int i = 0; i < 3; i++) {
    k[i] = spec_file_kind(paths[i]);
    if (k[i] == SPEC_OTHER) { /* an unreadable one: its loader says why */
      c.d.file = paths[i];
      diag_error(&c.d, NULL,
                 "neither a naasc %s file (docs/cost-model.md) nor a Timeloop specification "
                 "(docs/timeloop.md)",
                 what[i]);
      return call_end(&c, RC_BADINPUT);
    }
  }
  if (k[0] == SPEC_TIMELOOP || k[1] == SPEC_TIMELOOP || k[2] == SPEC_TIMELOOP) {
    call_end(&c, RC_OK);
    return naasc_timeloop_load(ctx, paths, 3, t, p, m);
  }
  NaascTarget *nt = calloc(1, sizeof *nt);
  NaascProblem *np = calloc(1, sizeof *np);
  NaascMapping *nm = calloc(1, sizeof *nm);
  Rc rc = nt && np && nm ? RC_OK : RC_INTERNAL;
  if (rc == RC_OK) rc = arch_load(arch, &nt->a, &c.d);
  if (rc == RC_OK) rc = problem_load(problem, &np->p, &c.d);
  if (rc == RC_OK) rc = mapping_load(mapping, &nt->a, &nm->m, &c.d);
  if (rc == RC_OK) {
    c.d.file = mapping;
    rc = cost_check_mapping(&np->p, &nt->a, &nm->m, &c.d);
  }
  if (rc == RC_OK) {
    *t = nt, *p = np, *m = nm;
  } else {
    free(nt);
    free(np);
    free(nm);
  }
  return call_end(&c, rc);
}

NaascStatus naasc_timeloop_write(NaascContext *ctx, const char *dir, const char *layer,
                                 const NaascTarget *t, const NaascProblem *p,
                                 const NaascMapping *m) {
  Call c;
  if (!call_begin(&c, ctx, dir)) return call_end(&c, RC_INTERNAL);
  if (!dir || !t) return call_usage(&c, "naasc_timeloop_write: dir and target must not be NULL");
  if (m && !p) return call_usage(&c, "naasc_timeloop_write: a mapping needs its problem");
  return call_end(&c, timeloop_write(dir, layer, &t->a, p ? &p->p : NULL, m ? &m->m : NULL, &c.d));
}

static void cost_out(const CostResult *r, const Arch *a, NaascCost *o) {
  memset(o, 0, sizeof *o);
  o->energy_pj = r->energy_pj;
  o->mac_energy_pj = r->mac_energy_pj;
  o->edp = r->edp;
  o->utilization = r->utilization;
  o->seconds = r->seconds;
  o->area_um2 = r->area_um2;
  o->cycles = r->cycles;
  o->compute_cycles = r->compute_cycles;
  o->macs = r->macs;
  o->mac_utilized_instances = r->mac_utilized_instances;
  o->bottleneck = r->bottleneck;
  o->nlevels = r->nlevels;
  for (int l = 0; l < r->nlevels && l < NAASC_MAX_LEVELS; l++) {
    o->level_energy_pj[l] = r->level[l].energy_pj;
    o->level_cycles[l] = r->level[l].cycles;
    memcpy(o->level_name[l], a->level[l].name, NAASC_NAME_MAX);
  }
}

NaascStatus naasc_cost(NaascContext *ctx, const NaascTarget *t, const NaascProblem *p,
                       const NaascMapping *m, NaascCost *out) {
  if (ctx && ctx->error) { /* the fast path: no Diag unless it fails */
    free(ctx->error);
    ctx->error = NULL;
  }
  if (!ctx || !t || !p || !m || !out) {
    Call c;
    if (!call_begin(&c, ctx, NULL)) return call_end(&c, RC_INTERNAL);
    return call_usage(&c, "naasc_cost: NULL argument");
  }
  CostResult r;
  int err = cost_eval(&p->p, &t->a, &m->m, &r);
  if (err == COST_OK) {
    cost_out(&r, &t->a, out);
    return NAASC_OK;
  }
  Call c;
  if (!call_begin(&c, ctx, "mapping")) return call_end(&c, RC_INTERNAL);
  if (cost_check_mapping(&p->p, &t->a, &m->m, &c.d) == RC_OK)
    diag_error(&c.d, NULL, "the mapping cannot be evaluated (%s)", cost_error_name(err));
  return call_end(&c, RC_BADINPUT);
}

NaascStatus naasc_cost_files(NaascContext *ctx, const char *arch, const char *problem,
                             const char *mapping, NaascCost *out) {
  NaascTarget *t;
  NaascProblem *p;
  NaascMapping *m;
  NaascStatus st = naasc_layer_load(ctx, arch, problem, mapping, &t, &p, &m);
  if (st != NAASC_OK) return st;
  st = naasc_cost(ctx, t, p, m, out);
  naasc_target_destroy(t);
  naasc_problem_destroy(p);
  naasc_mapping_destroy(m);
  return st;
}

typedef struct {
  const Arch *a;
  const CostResult *r;
} CostTable;

/* The figures as `naasc cost --arch/--problem/--mapping` prints them. */
static void print_cost_table(FILE *f, const void *arg) {
  const Arch *a = ((const CostTable *)arg)->a;
  const CostResult *r = ((const CostTable *)arg)->r;
  static const char *const kinds[3] = {"reads", "fills", "updates"};
  fprintf(f, "%-24s %-3s %16s %16s %16s %12s %16s\n", "level", "T", kinds[0], kinds[1], kinds[2],
          "tile_words", "energy_pJ");
  for (int l = 0; l < r->nlevels; l++) {
    const LevelCost *lc = &r->level[l];
    for (int t = 0; t < NTENSORS; t++)
      fprintf(f, "%-24s %-3c %16lld %16lld %16lld %12lld %16.6g\n", a->level[l].name,
              accel_tensor_letter(t), (long long)lc->total[t].reads, (long long)lc->total[t].fills,
              (long long)lc->total[t].updates, (long long)lc->tile_words[t],
              lc->tensor_energy_pj[t]);
  }
  fprintf(f, "\n%-24s %16s %12s\n", "level", "cycles", "slowdown");
  for (int l = 0; l < r->nlevels; l++)
    fprintf(f, "%-24s %16lld %12.4f\n", a->level[l].name, (long long)r->level[l].cycles,
            r->level[l].slowdown);
  fprintf(f, "\nmacs              %lld on %lld of %lld MACs\n", (long long)r->macs,
          (long long)r->mac_utilized_instances, (long long)a->mac_instances);
  fprintf(f, "compute_cycles    %lld\n", (long long)r->compute_cycles);
  fprintf(f, "cycles            %lld (bound by %s)\n", (long long)r->cycles,
          r->bottleneck < 0 ? "compute" : a->level[r->bottleneck].name);
  if (r->seconds > 0)
    fprintf(f, "time              %.6g s at %.6g MHz\n", r->seconds, a->clock_mhz);
  fprintf(f, "utilization       %.6f\n", r->utilization);
  fprintf(f, "energy_pJ         %.6f (MAC %.6f)\n", r->energy_pj, r->mac_energy_pj);
  fprintf(f, "energy_pJ/MAC     %.6f\n", r->energy_pj / (double)r->macs);
  fprintf(f, "edp               %.6e pJ*cycles\n", r->edp);
  if (r->area_um2 > 0)
    fprintf(f, "area              %.6g mm^2 (placeholder model)\n", r->area_um2 * 1e-6);
}

NaascStatus naasc_cost_table(NaascContext *ctx, const NaascTarget *t, const NaascProblem *p,
                             const NaascMapping *m, char **text) {
  Call c;
  if (!call_begin(&c, ctx, "mapping")) return call_end(&c, RC_INTERNAL);
  if (!t || !p || !m || !text) return call_usage(&c, "naasc_cost_table: NULL argument");
  CostResult r;
  int err = cost_eval(&p->p, &t->a, &m->m, &r);
  if (err != COST_OK) {
    if (cost_check_mapping(&p->p, &t->a, &m->m, &c.d) == RC_OK)
      diag_error(&c.d, NULL, "the mapping cannot be evaluated (%s)", cost_error_name(err));
    return call_end(&c, RC_BADINPUT);
  }
  CostTable ct = {&t->a, &r};
  return call_end(&c, print_to_string(print_cost_table, &ct, text));
}

/* ---- one component ------------------------------------------------------------ */

typedef struct {
  const TechComponent *c;
  const TechCost *r;
} TechFigures;

static void tech_field(JsonWriter *j, const char *name, double v) {
  json_key(j, name);
  json_num(j, "%.6g", v);
}

/* The figures of `naasc tech` as one JSON line. */
static void print_tech(FILE *f, const void *arg) {
  const TechComponent *c = ((const TechFigures *)arg)->c;
  const TechCost *r = ((const TechFigures *)arg)->r;
  JsonWriter j;
  json_init(&j, f);
  json_object(&j, NULL);
  if (c->kind == TECH_SRAM || c->kind == TECH_REGFILE || c->kind == TECH_DRAM) {
    tech_field(&j, "read_pj", r->read_pj);
    tech_field(&j, "write_pj", r->write_pj);
    tech_field(&j, "update_pj", r->update_pj);
  } else {
    tech_field(&j, "energy_pj", r->energy_pj);
  }
  if (c->kind != TECH_DRAM && c->kind != TECH_NOC) {
    tech_field(&j, "leak_pj_per_cycle", r->leak_pj_per_cycle);
    tech_field(&j, "area_um2", r->area_um2);
  }
  if (r->extrapolated) {
    json_key(&j, "extrapolated");
    json_bool(&j, true);
  }
  json_end(&j, NULL);
  fputc('\n', f);
}

NaascStatus naasc_tech(NaascContext *ctx, const char *kind, const char *const *attrs, int nattrs,
                       char **json) {
  Call c;
  if (!call_begin(&c, ctx, "naasc tech")) return call_end(&c, RC_INTERNAL);
  if (!kind || (nattrs > 0 && !attrs) || nattrs < 0 || !json)
    return call_usage(&c, "naasc_tech: NULL argument");
  TechKind k = tech_kind_find(kind);
  if (k == TECH_NONE) {
    diag_error(&c.d, NULL, "unknown component kind '%s' (expected sram, regfile, mac, dram or noc)",
               kind);
    return call_end(&c, RC_BADINPUT);
  }
  TechComponent tc;
  tech_init(&tc, k);
  const char *where = tech_kind_name(k);
  for (int i = 0; i < nattrs; i++) {
    const char *eq = attrs[i] ? strchr(attrs[i], '=') : NULL;
    if (!eq || eq == attrs[i]) { /* a usage error, as on the command line */
      diag_error(&c.d, NULL, "expected ATTR=VALUE, not '%s'", attrs[i] ? attrs[i] : "(null)");
      return call_end(&c, RC_USAGE);
    }
    char attr[64];
    size_t n = (size_t)(eq - attrs[i]);
    if (n >= sizeof attr) n = sizeof attr - 1;
    memcpy(attr, attrs[i], n);
    attr[n] = 0;
    Rc rc = tech_set(&tc, attr, eq + 1, &c.d, where);
    if (rc != RC_OK) return call_end(&c, rc);
  }
  TechCost r;
  Rc rc = tech_eval(&tc, &r, &c.d, where);
  if (rc != RC_OK) return call_end(&c, rc);
  TechFigures tf = {&tc, &r};
  return call_end(&c, print_to_string(print_tech, &tf, json));
}

static bool map_objective(const char *s, MapObjective *o) {
  static const char *const names[] = {"edp", "energy", "latency"};
  for (int i = 0; i < 3; i++)
    if (strcmp(s, names[i]) == 0) {
      *o = (MapObjective)i;
      return true;
    }
  return false;
}

NaascStatus naasc_map(NaascContext *ctx, const NaascTarget *t, const NaascProblem *p,
                      const NaascMapOptions *o, NaascMapping **out, NaascCost *cost) {
  Call c;
  if (!call_begin(&c, ctx, p ? p->p.name : NULL)) return call_end(&c, RC_INTERNAL);
  if (!t || !p || !out) return call_usage(&c, "naasc_map: NULL argument");
  *out = NULL;
  MapperOptions mo;
  mapper_options_default(&mo);
  if (o && o->strategy && !map_strategy_parse(o->strategy, &mo.strategy))
    return call_usage(&c, "naasc_map: unknown strategy '%s'", o->strategy);
  if (o && o->objective && !map_objective(o->objective, &mo.objective))
    return call_usage(&c, "naasc_map: unknown objective '%s' (edp, energy, latency)", o->objective);
  if (o && (o->budget < 0 || o->budget > MAPPER_MAX_BUDGET))
    return call_usage(&c, "naasc_map: the budget must be 1..%" PRId64, MAPPER_MAX_BUDGET);
  if (o && o->budget) mo.budget = o->budget;
  if (o && o->seed) mo.seed = o->seed;
  MapResult *res = calloc(1, sizeof *res);
  NaascMapping *m = calloc(1, sizeof *m);
  Rc rc = res && m ? mapper_run(&p->p, &t->a, &mo, res, &c.d) : RC_INTERNAL;
  if (rc == RC_OK) {
    m->m = res->best;
    if (cost) cost_out(&res->cost, &t->a, cost);
    *out = m;
  } else {
    free(m);
  }
  free(res);
  return call_end(&c, rc);
}

/* ---- the accelerator search ---------------------------------------------------- */

NaascStatus naasc_search_create(NaascContext *ctx, const NaascTarget *budget,
                                const NaascSearchOptions *o, NaascSearch **out) {
  Call c;
  if (!call_begin(&c, ctx, "naasc")) return call_end(&c, RC_INTERNAL);
  if (!budget || !out) return call_usage(&c, "naasc_search_create: NULL argument");
  *out = NULL;
  NaascSearch *s = calloc(1, sizeof *s);
  if (!s) return call_end(&c, RC_INTERNAL);
  s->budget = budget->a;
  naas_options_default(&s->o);
  if (o) {
    if (o->objective) {
      static const char *const names[] = {"edp", "energy", "latency"};
      int k = 0;
      while (k < 3 && strcmp(o->objective, names[k]) != 0) k++;
      if (k == 3) {
        free(s);
        return call_usage(&c, "naasc_search_create: unknown objective '%s' (edp, energy, latency)",
                          o->objective);
      }
      s->o.objective = (NaasObjective)k;
    }
    if (o->iterations < 0 || o->popsize < 0 || o->map_budget < 0 || o->final_map_budget < 0) {
      free(s);
      return call_usage(&c, "naasc_search_create: negative option");
    }
    s->o.iterations = o->iterations;
    s->o.popsize = o->popsize;
    s->o.map_budget = o->map_budget;
    s->o.final_map_budget = o->final_map_budget;
    if (o->seed) s->o.seed = o->seed;
  }
  *out = s;
  return call_end(&c, RC_OK);
}

void naasc_search_destroy(NaascSearch *s) {
  if (!s) return;
  for (int k = 0; k < s->w.nmodels; k++) module_destroy(s->mods[k]);
  naas_workload_free(&s->w);
  naas_result_free(&s->r);
  free(s);
}

NaascStatus naasc_search_add_model(NaascContext *ctx, NaascSearch *s, const NaascModel *m,
                                   const char *label) {
  Call c;
  if (!call_begin(&c, ctx, "naasc")) return call_end(&c, RC_INTERNAL);
  if (!s || !m) return call_usage(&c, "naasc_search_add_model: NULL argument");
  if (s->w.nmodels == NAAS_MAX_MODELS)
    return call_usage(&c, "naasc_search_add_model: at most %d models", NAAS_MAX_MODELS);
  Model *g = NULL;
  Module *mod = NULL;
  Rc rc = model_graph(m, &g, &c.d);
  if (rc == RC_OK) rc = search_lower(g, &mod, &c.d); /* as naasc --search lowers */
  if (rc == RC_OK) {
    const char *name = label ? label : naasc_model_name(m);
    mod->name = arena_strdup(&mod->arena, name);
    if (!mod->name) rc = RC_INTERNAL;
  }
  int k = s->w.nmodels;
  if (rc == RC_OK) rc = naas_workload_add_module(&s->w, mod, &c.d);
  if (rc == RC_OK)
    s->mods[k] = mod; /* destroyed with the search */
  else
    module_destroy(mod);
  model_destroy(g);
  return call_end(&c, rc);
}

typedef struct {
  NaascProgressFn fn;
  void *user;
  int64_t generations;
} Progress;

static void on_generation(void *ctx, int64_t iteration) {
  const Progress *p = ctx;
  p->fn(p->user, iteration + 1, p->generations);
}

NaascStatus naasc_search_run(NaascContext *ctx, NaascSearch *s, NaascProgressFn progress,
                             void *user) {
  Call c;
  if (!call_begin(&c, ctx, "naasc")) return call_end(&c, RC_INTERNAL);
  if (!s) return call_usage(&c, "naasc_search_run: NULL argument");
  if (!s->w.nmodels) return call_usage(&c, "naasc_search_run: no model added");
  naas_result_free(&s->r);
  memset(&s->r, 0, sizeof s->r);
  s->done = false;
  Progress pr = {progress, user, s->o.iterations};
  NaasOptions o = s->o;
  o.jobs = ctx->jobs;
  if (progress) {
    o.on_generation = on_generation;
    o.on_generation_ctx = &pr;
  }
  Rc rc = naas_search(&s->w, &s->budget, &o, &s->r, &c.d);
  s->done = rc == RC_OK && !s->r.stopped;
  return call_end(&c, rc);
}

NaascStatus naasc_search_result(NaascContext *ctx, const NaascSearch *s, NaascSearchResult *out) {
  Call c;
  if (!call_begin(&c, ctx, "naasc")) return call_end(&c, RC_INTERNAL);
  if (!s || !out) return call_usage(&c, "naasc_search_result: NULL argument");
  if (!s->done) return call_usage(&c, "naasc_search_result: the search has not run");
  memset(out, 0, sizeof *out);
  out->score = s->r.score;
  out->edp = s->r.edp;
  out->energy_pj = s->r.energy_pj;
  out->cycles = s->r.cycles;
  out->area_um2 = s->r.area_um2;
  out->candidates = s->r.candidates;
  out->evals = s->r.evals;
  out->iterations = s->r.iterations;
  out->seconds = s->r.seconds;
  return call_end(&c, RC_OK);
}

NaascStatus naasc_search_design(NaascContext *ctx, const NaascSearch *s, NaascTarget **out) {
  Call c;
  if (!call_begin(&c, ctx, "naasc")) return call_end(&c, RC_INTERNAL);
  if (!s || !out) return call_usage(&c, "naasc_search_design: NULL argument");
  if (!s->done) return call_usage(&c, "naasc_search_design: the search has not run");
  NaascTarget *t = calloc(1, sizeof *t);
  if (!t) return call_end(&c, RC_INTERNAL);
  t->a = s->r.arch;
  *out = t;
  return call_end(&c, RC_OK);
}

NaascStatus naasc_search_log(NaascContext *ctx, const NaascSearch *s, char **json) {
  Call c;
  if (!call_begin(&c, ctx, "naasc")) return call_end(&c, RC_INTERNAL);
  if (!s || !json) return call_usage(&c, "naasc_search_log: NULL argument");
  if (!s->done) return call_usage(&c, "naasc_search_log: the search has not run");
  char dir[64], path[128];
  Rc rc = tmp_dir(dir, &c.d);
  if (rc != RC_OK) return call_end(&c, rc);
  snprintf(path, sizeof path, "%s/log.json", dir);
  rc = naas_log_write(path, &s->r, &c.d);
  if (rc == RC_OK) {
    rc = take_file(dir, "log.json", NULL, json, &c.d);
  } else {
    unlink(path);
    rmdir(dir);
  }
  return call_end(&c, rc);
}

/* ---- the whole naasc --search run (tools/naasc_search.c is its client) ------- */

/* The model's label: file name without folder and .onnx, or the zoo name. */
static char *label_of(const char *arg) {
  const char *b = strrchr(arg, '/');
  b = b ? b + 1 : arg;
  size_t n = strlen(b);
  if (n > 5 && strcmp(b + n - 5, ".onnx") == 0) n -= 5;
  char *s = malloc(n + 1);
  if (!s) return NULL;
  for (size_t i = 0; i < n; i++) s[i] = (b[i] == ':' || b[i] == '|' || b[i] == ' ') ? '_' : b[i];
  s[n] = 0;
  return s;
}

static bool is_zoo_name(const char *s) {
  int n;
  const ZooEntry *z = zoo_list(&n);
  for (int k = 0; k < n; k++)
    if (strcmp(z[k].name, s) == 0) return true;
  return strncmp(s, "nb201:", 6) == 0;
}

/* Imports (or builds from the zoo) and lowers one model, as search_lower
 * does; *graph keeps the graph for its weights (the command stream of the
 * best design), the caller destroys it. */
static Rc load_module(const char *arg, const char *label, Module **out, Model **graph, Diag *d) {
  Model *g = NULL;
  Rc rc;
  if (access(arg, F_OK) != 0 && is_zoo_name(arg)) {
    d->file = "naasc zoo";
    rc = zoo_build(arg, true, 1, &g, d); /* weights (seed 1): the stream carries them */
  } else {
    ImportOptions io;
    import_options_default(&io);
    d->file = arg;
    rc = onnx_import(arg, &io, &g, d);
  }
  if (rc != RC_OK) return rc;
  rc = search_lower(g, out, d);
  if (rc != RC_OK) {
    model_destroy(g);
    return rc;
  }
  *graph = g;
  (*out)->name = arena_strdup(&(*out)->arena, label);
  return (*out)->name ? RC_OK : RC_INTERNAL;
}

static char *join(const char *dir, const char *name, const char *suffix) {
  size_t n = strlen(dir) + strlen(name) + strlen(suffix) + 2;
  char *s = malloc(n);
  if (s) snprintf(s, n, "%s/%s%s", dir, name, suffix);
  return s;
}

/* The files of model k on the design: its module with the mappings
 * (MODEL.nir), its cost report (.report.txt, .json, .svg) and its command
 * stream (.cmd); cst gets the stream's sizes. */
static Rc write_model(const char *dir, const char *label, Module *mod, const Model *graph, int k,
                      const NaasWorkload *w, const NaasResult *r, CmdStats *cst, Diag *d) {
  Rc rc = naas_attach_mappings(mod, k, w, r, d);
  char *nir = join(dir, label, ".nir"), *txt = join(dir, label, ".report.txt"),
       *js = join(dir, label, ".report.json"), *cmd = join(dir, label, ".cmd");
  char *buf = NULL;
  size_t len = 0;
  FILE *f;
  if (rc == RC_OK && (!nir || !txt || !js || !cmd)) rc = RC_INTERNAL;
  if (rc == RC_OK) rc = module_verify(mod, d);
  if (rc == RC_OK && (f = open_memstream(&buf, &len))) {
    module_print(f, mod);
    fclose(f);
    rc = file_write_atomic(nir, buf, len, d);
    free(buf);
    buf = NULL;
  }
  if (rc == RC_OK && r->schedule) {
    /* The report of the schedule the design was scored with, and the
     * schedule itself (MODEL.schedule, --schedule=FILE reads it). */
    SchedModel *sm = NULL;
    CostResult *per = xcalloc((size_t)mod->nnests + 1, sizeof *per);
    SchedTotals tot;
    char *sch = join(dir, label, ".schedule");
    rc = per && sch ? sched_model_create(mod, &r->arch, &sm, d) : RC_INTERNAL;
    if (rc == RC_OK) rc = schedule_eval(sm, &r->schedule[k], per, &tot, d);
    if (rc == RC_OK && (f = open_memstream(&buf, &len))) {
      rc = report_write_schedule(mod, &r->arch, &r->schedule[k], per, f, js, d);
      fclose(f);
      if (rc == RC_OK) rc = file_write_atomic(txt, buf, len, d);
      free(buf);
      buf = NULL;
    }
    if (rc == RC_OK && (f = open_memstream(&buf, &len))) {
      schedule_print(f, mod, &r->arch, &r->schedule[k]);
      fclose(f);
      rc = file_write_atomic(sch, buf, len, d);
      free(buf);
      buf = NULL;
    }
    sched_model_destroy(sm);
    xfree(per);
    free(sch);
  } else if (rc == RC_OK && (f = open_memstream(&buf, &len))) {
    rc = report_write(mod, &r->arch, f, js, d);
    fclose(f);
    if (rc == RC_OK) rc = file_write_atomic(txt, buf, len, d);
    free(buf);
  }
  if (rc == RC_OK) { /* the compiled model on the design: naasc-run runs it */
    uint8_t *bytes = NULL;
    rc = cmd_emit(mod, graph, &r->arch, &bytes, &len, cst, d);
    if (rc == RC_OK) rc = file_write_atomic(cmd, bytes, len, d);
    xfree(bytes);
  }
  free(nir), free(txt), free(js), free(cmd);
  return rc;
}

void naasc_search_drive_options_default(NaascSearchDriveOptions *o) {
  if (!o) return;
  memset(o, 0, sizeof *o);
  NaasDriveOptions d;
  naas_drive_options_default(&d);
  o->dir = "naasc-search";
  o->seed = d.naas.seed;
  o->jobs = 1;
  o->nranks = 1;
  o->map_share = d.naas.map_share;
}

/* What a run keeps off the stack (architectures, results, the table). */
typedef struct {
  Arch barch, bbuilt, base_arch, pa;
  NaasDriveResult pres;
  AccuracyTable table;
} SearchRun;

/* The public options as the driver's; false (reported) if a value is not
 * one the command line takes. */
static bool search_options(const NaascSearchDriveOptions *p, NaasDriveOptions *o,
                           ArchAssume *assume, Diag *d) {
  naas_drive_options_default(o);
  const char *bad = NULL, *what = NULL;
  o->budget = p->budget;
  if (!p->objective || strcmp(p->objective, "edp") == 0)
    o->naas.objective = NAAS_OBJ_EDP;
  else if (strcmp(p->objective, "energy") == 0)
    o->naas.objective = NAAS_OBJ_ENERGY;
  else if (strcmp(p->objective, "latency") == 0)
    o->naas.objective = NAAS_OBJ_LATENCY;
  else
    bad = p->objective, what = "objective";
  o->naas.max_area_um2 = p->max_area_um2;
  o->naas.max_power_mw = p->max_power_mw;
  o->naas.max_cycles = p->max_cycles;
  o->naas.max_energy_pj = p->max_energy_pj;
  o->naas.byte_budget = p->byte_budget != 0;
  *assume = ARCH_PHYSICAL;
  if (p->assume && !arch_assume_parse(p->assume, assume)) bad = p->assume, what = "assume";
  o->naas.iterations = p->iterations;
  o->naas.popsize = p->popsize;
  o->naas.map_budget = p->map_budget;
  o->naas.final_map_budget = p->final_map_budget;
  o->naas.rerank = p->rerank;
  o->naas.early_map_budget = p->early_map_budget;
  o->naas.early_iterations = p->early_iterations;
  if (!p->optimizer || strcmp(p->optimizer, "cmaes") == 0) {
    o->naas.optimizer = OPT_CMAES;
  } else if (strcmp(p->optimizer, "gradient") == 0) {
    o->naas.gradient = true, o->naas.optimizer = OPT_CMAES;
  } else if (strcmp(p->optimizer, "cmaes+gradient") == 0) {
    o->naas.gradient = o->naas.gradient_conn = true, o->naas.optimizer = OPT_CMAES;
  } else if (!opt_parse(p->optimizer, &o->naas.optimizer) || o->naas.optimizer == OPT_GENETIC) {
    bad = p->optimizer, what = "optimizer";
  }
  o->naas.sizing_only = p->sizing_only != 0;
  o->naas.mapper_screen = p->mapper_screen != 0;
  o->naas.warm_map = p->warm_map != 0;
  if (p->map_share >= 0) o->naas.map_share = p->map_share;
  o->naas.no_prune = p->no_prune != 0;
  if (!p->schedule || strcmp(p->schedule, "fused") == 0)
    o->naas.schedule = NAAS_SCHED_FUSED;
  else if (strcmp(p->schedule, "layer") == 0)
    o->naas.schedule = NAAS_SCHED_LAYER;
  else
    bad = p->schedule, what = "schedule";
  o->fixed = p->fixed != 0;
  o->fixed_as_built = p->fixed_as_built != 0;
  o->no_baseline = p->no_baseline != 0;
  o->naas.seed = p->seed;
  o->naas.jobs = p->jobs;
  o->naas.checkpoint = p->checkpoint;
  o->naas.resume = p->resume != 0;
  o->naas.stop_after_iteration = p->stop_after_iteration;
  o->naas.on_generation = p->on_generation;
  o->naas.on_generation_ctx = p->on_generation_user;
  o->naas.progress = p->progress != 0;
  o->nranks = p->nranks > 0 ? p->nranks : 1;
  if (bad)
    diag_error(d, NULL, "naasc_search_drive: %s '%s' is not one naasc --search takes", what, bad);
  else if (p->rerank < 0 || p->rerank > NAAS_TOP_MAX)
    diag_error(d, NULL,
               "naasc_search_drive: rerank %d; naasc --search takes 0 (the default, %d) to %d",
               p->rerank, NAAS_DEFAULT_RERANK, NAAS_TOP_MAX);
  else if (p->rerank && (p->fixed || o->naas.gradient))
    diag_error(d, NULL,
               "naasc_search_drive: rerank goes with the CMA-ES and random searches, not "
               "with fixed or the gradient optimizers");
  else if (!p->budget || p->nmodels < 1 || p->nmodels > NAAS_MAX_MODELS || !p->models)
    diag_error(d, NULL, "naasc_search_drive: give a budget and 1 to %d models", NAAS_MAX_MODELS);
  else
    return true;
  return false;
}

NaascStatus naasc_search_drive(NaascContext *ctx, const NaascSearchDriveOptions *po,
                               char **summary) {
  Call c;
  if (summary) *summary = NULL;
  if (!call_begin(&c, ctx, "naasc")) return call_end(&c, RC_INTERNAL);
  if (!po) return call_usage(&c, "naasc_search_drive: NULL options");
  NaasDriveOptions o;
  ArchAssume assume;
  if (!search_options(po, &o, &assume, &c.d)) return call_end(&c, RC_USAGE);
  const char *const *models = po->models;
  const int nmodels = po->nmodels, rank = po->rank;
  const char *dir = po->dir ? po->dir : "naasc-search", *precision = po->precision,
             *accuracy_file = po->accuracy_table;
  const bool quiet = false; /* the caller prints the summary or not */
  char *sbuf = NULL;
  size_t slen = 0;
  FILE *f = open_memstream(&sbuf, &slen);
  SearchRun *S = calloc(1, sizeof *S);
  if (!f || !S) {
    if (f) fclose(f);
    free(sbuf);
    free(S);
    return call_end(&c, RC_INTERNAL);
  }
  NaasWorkload w = {0};
  Module *mods[NAAS_MAX_MODELS] = {0};
  Model *graphs[NAAS_MAX_MODELS] = {0};
  char *labels[NAAS_MAX_MODELS] = {0};
  CmdStats cst[NAAS_MAX_MODELS] = {{0}};
  NaasDriveResult res = {0};
  const NaasResult *r = &res.r;
  Precision cand[ACCURACY_MAX_ROWS];
  int ncand = 0;
  Rc rc = arch_resolve(o.budget, &S->barch, &c.d);
  if (rc == RC_OK && precision && strcmp(precision, "model") != 0) {
    Precision p;
    rc = precision_parse(precision, &p, &c.d, "--precision");
    if (rc == RC_OK) rc = arch_set_precision(&S->barch, &p, &c.d);
  }
  S->base_arch = S->barch;
  if (rc == RC_OK) arch_assume(&S->barch, assume);
  /* The as-built baseline: the budget's own dataflow, when it has one (a
   * preset, or an arch file with `as_built:`); --fixed=as-built needs it. */
  if (rc == RC_OK && (o.fixed_as_built || (!o.fixed && !o.no_baseline))) {
    Diag qd;
    diag_init(&qd, o.fixed_as_built ? c.d.out : NULL, "naasc");
    if (arch_resolve_as_built(o.budget, &S->bbuilt, &qd) == RC_OK) {
      arch_assume(&S->bbuilt, assume);
      o.as_built = &S->bbuilt;
    } else if (o.fixed_as_built) {
      rc = RC_BADINPUT; /* reported through qd */
    }
  }
  for (int k = 0; k < nmodels && rc == RC_OK; k++) {
    labels[k] = label_of(models[k]);
    if (!labels[k]) rc = RC_INTERNAL;
    for (int j = 0; j < k && rc == RC_OK; j++)
      if (strcmp(labels[j], labels[k]) == 0) {
        diag_error(&c.d, models[k], "two models named '%s'; give each model once", labels[k]);
        rc = RC_BADINPUT;
      }
    if (rc == RC_OK) rc = load_module(models[k], labels[k], &mods[k], &graphs[k], &c.d);
    c.d.file = models[k];
    if (rc == RC_OK) rc = naas_workload_add_module(&w, mods[k], &c.d);
  }
  c.d.file = "naasc";
  if (rc == RC_OK && precision && strcmp(precision, "model") == 0) {
    /* the models' own precision: every model's layers must agree */
    Precision mp, first;
    for (int k = 0; k < nmodels && rc == RC_OK; k++) {
      c.d.file = models[k];
      if (!graphs[k]) {
        diag_error(&c.d, NULL, "--precision model needs the ONNX graph of every model");
        rc = RC_BADINPUT;
      }
      if (rc == RC_OK) rc = precision_of_model(graphs[k], &mp, &c.d);
      if (rc == RC_OK && k == 0) first = mp;
      if (rc == RC_OK && memcmp(&first, &mp, sizeof mp) != 0) {
        char a[48], b[48];
        precision_name(&first, a, sizeof a);
        precision_name(&mp, b, sizeof b);
        diag_error(&c.d, NULL, "--precision model: this model is %s, '%s' %s; give --precision", b,
                   models[0], a);
        rc = RC_BADINPUT;
      }
    }
    c.d.file = "naasc";
    S->barch = S->base_arch;
    if (rc == RC_OK) rc = arch_set_precision(&S->barch, &first, &c.d);
    S->base_arch = S->barch;
    if (rc == RC_OK) arch_assume(&S->barch, assume);
  }
  if (rc == RC_OK && accuracy_file) {
    char why[256];
    rc = accuracy_load(accuracy_file, &S->table, &c.d);
    if (rc == RC_OK) {
      ncand = accuracy_allowed(&S->table, (const char *const *)labels, nmodels, cand,
                               ACCURACY_MAX_ROWS, why, sizeof why);
      if (ncand == 0) {
        diag_error(&c.d, accuracy_file, "%s", why);
        rc = RC_BADINPUT;
      }
    }
  }
  if (rc == RC_OK && rank == 0) rc = naas_drive_mkdir(dir, &c.d);
  /* --search-precision: one search per precision the table allows, the best kept. */
  for (int k = 0; k < ncand && rc == RC_OK; k++) {
    char name[48];
    S->pa = S->base_arch;
    precision_name(&cand[k], name, sizeof name);
    rc = arch_set_precision(&S->pa, &cand[k], &c.d);
    if (rc != RC_OK) break;
    arch_assume(&S->pa, assume);
    memset(&S->pres, 0, sizeof S->pres);
    rc = naas_drive(&w, &S->pa, &o, &S->pres, &c.d);
    if (rc == RC_OK && rank == 0 && !quiet)
      fprintf(
          f,
          "precision %s: score %.6g (EDP %.6g pJ x cycles, energy %.6g pJ, %.6g cycles), %" PRId64
          " PEs, area %.4g mm^2\n",
          name, S->pres.r.score, S->pres.r.edp, S->pres.r.energy_pj, S->pres.r.cycles,
          S->pres.r.arch.mac_instances, S->pres.r.area_um2 / 1e6);
    if (rc == RC_OK && (k == 0 || S->pres.r.score < res.r.score)) {
      naas_drive_free(&res);
      res = S->pres;
      S->barch = S->pa;
    } else {
      naas_drive_free(&S->pres);
    }
  }
  if (rc == RC_OK && ncand && rank == 0 && !quiet) {
    char name[48];
    Precision chosen;
    precision_of(&S->barch, &chosen);
    precision_name(&chosen, name, sizeof name);
    fprintf(f, "chosen precision: %s (of %d the accuracy table allows)\n", name, ncand);
  }
  if (rc == RC_OK && !ncand) {
    rc = naas_drive(&w, &S->barch, &o, &res, &c.d);
    if (rc == RC_OK && r->stopped) {
      if (rank == 0 && !quiet)
        fprintf(f, "stopped after iteration %" PRId64 " (checkpoint %s)\n", r->iterations,
                o.naas.checkpoint ? o.naas.checkpoint : "none");
      goto done;
    }
  }
  if (rc == RC_OK && rank == 0) rc = naas_drive_write(dir, &w, &S->barch, &o, &res, &c.d);
  for (int k = 0; k < w.nmodels && rc == RC_OK && rank == 0; k++)
    rc = write_model(dir, labels[k], mods[k], graphs[k], k, &w, r, &cst[k], &c.d);
  const char *what = naas_objective_label(o.naas.objective);
  if (rc == RC_OK && rank == 0 && !quiet) {
    fprintf(
        f,
        "%s within %s: %s %.6g (EDP %.6g pJ x cycles, energy %.6g pJ, %.6g cycles; geomean over %d model%s)\n",
        naas_drive_mode(&o), o.budget, o.naas.objective == NAAS_OBJ_EDP ? "EDP" : what, r->score,
        r->edp, r->energy_pj, r->cycles, w.nmodels, w.nmodels > 1 ? "s" : "");
    const Arch *a = &r->arch;
    fprintf(f, "design %s: %" PRId64 " PEs", a->name, a->mac_instances);
    for (int l = 0; l < a->nlevels; l++)
      for (int ax = 0; ax < ACCEL_MAX_AXES; ax++)
        if (a->level[l].fanout[ax] > 1) {
          char s[NDIMS + 1];
          naas_conn_string(a->level[l].connectivity[ax], s);
          fprintf(f, ", %s %c=%" PRId64 " [%s]", a->level[l].name, "xyz"[ax],
                  a -> level[l].fanout[ax], s);
        }
    for (int l = 1; l < a->nlevels; l++)
      fprintf(f, ", %s %" PRId64 " words", a->level[l].name, a->level[l].capacity_words);
    fprintf(f, ", DRAM %.4g words/cycle, area %.4g mm^2\n", a->level[0].shared_bw,
            r->area_um2 / 1e6);
    fprintf(f, "%" PRId64 " candidates, %" PRId64 " cost evaluations, %.1f s; outputs in %s/\n",
            r->candidates, r->evals, r->seconds, dir);
    fprintf(f,
            "mapper effort per layer: %" PRId64 " evaluations, then %" PRId64
            ", the better kept (seed %" PRIu64 ")\n",
            r->effort.map_budget, r->effort.final_map_budget, r->effort.seed);
    if (!o.fixed && r->nrerank > 0 && r->rerank[r->chosen].start)
      fprintf(f, "the design is the search's start (the budget's form, docs/search.md \"The "
                 "start\"): the search found nothing better at final effort\n");
    if (res.have_base)
      fprintf(f,
              "against %s itself, best mapping (--fixed=best; mapped with the same effort: EDP "
              "%.6g, energy %.6g pJ, %.6g cycles): speedup %.3fx, energy saving %.3fx, EDP %.3fx\n",
              res.base.arch.name, res.base.edp, res.base.energy_pj, res.base.cycles, res.q.speedup,
              res.q.energy_saving, res.q.edp_gain);
    if (res.have_built)
      fprintf(
          f,
          "against %s as built, its own dataflow (--fixed=as-built; the kind of baseline NAAS's "
          "figures are against; same effort: EDP %.6g, energy %.6g pJ, %.6g cycles): speedup "
          "%.3fx, energy saving %.3fx, EDP %.3fx\n",
          res.built.arch.name, res.built.edp, res.built.energy_pj, res.built.cycles, res.qb.speedup,
          res.qb.energy_saving, res.qb.edp_gain);
    for (int k = 0; k < w.nmodels; k++)
      fprintf(
          f,
          "command stream: %s/%s.cmd (%zu bytes: %zu of commands, %zu of weights; run it with naasc-run)\n",
          dir, labels[k], cst[k].bytes, cst[k].cmd_bytes, cst[k].weight_bytes);
  }
done:
  naas_drive_free(&res);
  naas_workload_free(&w);
  for (int k = 0; k < nmodels; k++) {
    if (mods[k]) module_destroy(mods[k]);
    if (graphs[k]) model_destroy(graphs[k]);
    free(labels[k]);
  }
  fclose(f);
  free(S);
  if (summary)
    *summary = sbuf;
  else
    free(sbuf);
  return call_end(&c, rc);
}

/* ---- the whole `naasc --search --nas` run -------------------------------------- */

void naasc_nas_drive_options_default(NaascNasDriveOptions *o) {
  if (!o) return;
  memset(o, 0, sizeof *o);
  NasDriveOptions d;
  nas_drive_options_default(&d);
  o->space = "nasbench201";
  o->dataset = "cifar10";
  o->dir = "naasc-nas";
  o->min_accuracy = -1;
  o->cycles = d.cycles;
  o->population = d.population;
  o->sample = d.sample;
  o->seed = (uint64_t)d.seed;
  o->pseudo_rounds = d.rounds;
  o->pseudo_pool = d.pool;
  o->verify = d.verify;
  o->naas_iterations = d.naas_iterations;
  o->naas_popsize = d.naas_popsize;
  o->map_budget = d.map_budget;
  o->final_map_budget = 20000; /* the map pass's default, as NaasOptions' */
  o->jobs = (int)d.jobs;
}

static const char *nb201_zoo_prefix(Nb201Dataset k) {
  return k == NB201_CIFAR10    ? "nb201:"
         : k == NB201_CIFAR100 ? "nb201-cifar100:"
                               : "nb201-imagenet16:";
}

/* Builds and lowers the network of a cell (NasDriveOptions.build): the
 * zoo's network of the dataset, BN folded, activations fused, lowered. */
static Rc nas_cell_module(void *ctx, int code, Module **mod, Diag *d) {
  const Nb201Dataset *dataset = ctx;
  uint8_t ops[NB201_EDGES];
  char name[NB201_ARCH_MAX + 32], arch[NB201_ARCH_MAX];
  nb201_decode(code, ops);
  nb201_format(ops, arch, sizeof arch);
  snprintf(name, sizeof name, "%s%s", nb201_zoo_prefix(*dataset), arch);
  Model *m = NULL;
  *mod = NULL;
  Rc rc = zoo_build(name, false, 1, &m, d);
  if (rc == RC_OK) rc = graph_fold_bn(m, d);
  if (rc == RC_OK) rc = graph_fuse_act(m, d);
  if (rc == RC_OK) rc = lower_model(m, mod, d);
  model_destroy(m);
  return rc;
}

/* The public options as the driver's; false (reported) if a value is not
 * one the command line takes. */
static bool nas_options(const NaascNasDriveOptions *p, NasDriveOptions *o, Nb201Dataset *dataset,
                        Diag *d) {
  nas_drive_options_default(o);
  bool have_min = p->min_accuracy >= 0, have_max = p->max_edp > 0;
  const char *err = NULL, *arg = NULL;
  if (!p->space || strcmp(p->space, "nasbench201") != 0)
    err = "the space is not nasbench201", arg = p->space;
  else if (!p->dataset || !nb201_dataset_parse(p->dataset, dataset))
    err = "the dataset is not cifar10, cifar100 or imagenet16-120", arg = p->dataset;
  else if (!p->budget)
    err = "give a budget";
  else if (have_min == have_max || p->min_accuracy > 100 || p->max_edp < 0)
    err = "give exactly one bound: min_accuracy (0 to 100) or max_edp (> 0)";
  else if (p->cycles < 1 || p->population < 1 || p->sample < 1 || p->sample > p->population ||
           p->population > 100000 || p->cycles > 10000000 || p->seed > INT64_MAX)
    err = "cycles, population, sample or seed out of range (1 <= sample <= population)";
  else if ((p->labels != 0 && p->labels < 2) || p->labels < 0 || p->pseudo_rounds < 0 ||
           p->pseudo_pool < 0 || p->verify < 0 || p->naas_iterations < 1 || p->naas_popsize < 2 ||
           p->map_budget < 10 || p->jobs < 1 || p->final_map_budget < p->map_budget ||
           p->final_map_budget > MAPPER_MAX_BUDGET)
    err = "labels, pseudo_rounds, pseudo_pool, verify, naas_iterations, naas_popsize, map_budget, "
          "final_map_budget (at least map_budget) or jobs out of range (naasc --search --nas "
          "--help gives the ranges)";
  if (err) {
    diag_error(d, NULL, "naasc_nas_drive: %s%s%s%s", err, arg ? " ('" : "", arg ? arg : "",
               arg ? "')" : "");
    return false;
  }
  o->dataset = (int)*dataset;
  o->data = p->data;
  o->reference = p->reference;
  o->min_edp = have_min;
  o->min_accuracy = have_min ? p->min_accuracy : 0;
  o->max_edp = have_max ? p->max_edp : 0;
  o->cycles = p->cycles, o->population = p->population, o->sample = p->sample;
  o->seed = (int64_t)p->seed;
  o->labels = p->labels, o->rounds = p->pseudo_rounds, o->pool = p->pseudo_pool;
  o->verify = p->verify;
  o->naas_iterations = p->naas_iterations, o->naas_popsize = p->naas_popsize;
  o->map_budget = p->map_budget, o->jobs = p->jobs;
  o->final_map_budget = p->final_map_budget;
  o->baselines = !p->no_baselines, o->fixed = p->fixed != 0, o->progress = p->progress != 0;
  o->on_predictor = p->on_predictor; /* the same signature */
  o->on_predictor_user = p->on_predictor_user;
  o->build = nas_cell_module;
  o->build_ctx = dataset;
  return true;
}

/* The network's cost report into dir (network.report.txt, .json, .svg):
 * under the schedule the design was scored with, if it has one. */
static Rc nas_report(const char *dir, const NasDriveResult *r, Diag *d) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  size_t n = strlen(dir) + sizeof "/network.report.json";
  char *js = xmalloc(n), *txt = xmalloc(n);
  Rc rc = RC_OK;
  if (f && js && txt) {
    snprintf(js, n, "%s/network.report.json", dir);
    snprintf(txt, n, "%s/network.report.txt", dir);
    if (r->best.schedule) { /* the schedule the design was scored with (docs/search.md) */
      SchedModel *sm = NULL;
      CostResult *per = xcalloc((size_t)r->mod->nnests + 1, sizeof *per);
      SchedTotals tot;
      rc = per ? sched_model_create(r->mod, &r->best.arch, &sm, d) : RC_INTERNAL;
      if (rc == RC_OK) rc = schedule_eval(sm, &r->best.schedule[0], per, &tot, d);
      if (rc == RC_OK)
        rc = report_write_schedule(r->mod, &r->best.arch, &r->best.schedule[0], per, f, js, d);
      sched_model_destroy(sm);
      xfree(per);
    } else {
      rc = report_write(r->mod, &r->best.arch, f, js, d);
    }
    fclose(f);
    Rc wrc = file_write_atomic(txt, buf, len, d);
    if (rc == RC_OK) rc = wrc;
  } else {
    if (f) fclose(f);
    rc = RC_INTERNAL;
  }
  free(buf);
  xfree(js), xfree(txt);
  return rc;
}

/* The caller's progress callback (NaascNasDriveOptions.on_progress). */
typedef struct {
  NaascNasProgressFn fn;
  void *user;
} NasProgressTo;

/* The driver's new bests (NasDriveOptions.on_best) as the API tells them. */
static void nas_progress(void *user, int scored, int64_t proposals, const NasPoint *best,
                         bool met) {
  const NasProgressTo *to = user;
  uint8_t ops[NB201_EDGES];
  char arch[NB201_ARCH_MAX];
  nb201_decode(best->code, ops);
  nb201_format(ops, arch, sizeof arch);
  NaascNasProgress e = {scored,    proposals,       best->code,   arch, best->acc,
                        best->edp, best->energy_pj, best->cycles, met};
  to->fn(to->user, &e);
}

NaascStatus naasc_nas_drive(NaascContext *ctx, const NaascNasDriveOptions *po, char **summary) {
  Call c;
  if (summary) *summary = NULL;
  if (!call_begin(&c, ctx, "naasc")) return call_end(&c, RC_INTERNAL);
  if (!po) return call_usage(&c, "naasc_nas_drive: NULL options");
  NasDriveOptions o;
  Nb201Dataset dataset = NB201_CIFAR10;
  if (!nas_options(po, &o, &dataset, &c.d)) return call_end(&c, RC_USAGE);
  NasProgressTo to = {po->on_progress, po->on_progress_user};
  if (to.fn) o.on_best = nas_progress, o.on_best_user = &to;
  const char *dir = po->dir ? po->dir : "naasc-nas";
  Arch *budget = calloc(1, sizeof *budget);
  if (!budget) return call_end(&c, RC_INTERNAL);
  NasDriveResult r;
  memset(&r, 0, sizeof r);
  Rc rc = arch_resolve(po->budget, budget, &c.d);
  if (rc == RC_OK) {
    rc = nas_drive(&o, budget, dir, &r, &c.d);
    if (rc == RC_OK) rc = nas_report(dir, &r, &c.d);
    if (rc == RC_OK && summary) {
      char *s = NULL;
      size_t n = 0;
      FILE *f = open_memstream(&s, &n);
      if (!f) {
        rc = RC_INTERNAL;
      } else {
        fprintf(f,
                "network %d %s: %s accuracy %.2f%%%s; EDP %.4e pJ x cycles on %s; %d networks "
                "scored in %.1f s -> %s/\n",
                r.index, r.arch, nb201_dataset_name(dataset), r.accuracy,
                r.met ? "" : " (the bound was not met: the closest design)", r.best.edp,
                r.best.arch.name, r.networks, r.seconds, dir);
        fclose(f);
        *summary = s;
      }
    }
    if (rc == RC_OK && !r.met) {
      diag_error(&c.d, NULL, "no network scored met the bound (%s %g); %s/ holds the closest",
                 o.min_edp ? "--min-accuracy" : "--max-edp", o.min_edp ? o.min_accuracy : o.max_edp,
                 dir);
      rc = RC_BADINPUT;
    }
    nas_drive_free(&r);
  }
  free(budget);
  return call_end(&c, rc);
}

/* ---- running a pipeline on IR, as naasc-opt does ------------------------------- */

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

/* With out, a .nir module's weights: a .nir input's reference rebased from
 * its folder to out's; a model's weights written to OUT.weights, which the
 * text names (docs/ir.md, "Weights"). */
static Rc opt_weights(Program *prog, const char *in, bool onnx, const char *out, Diag *d) {
  if (!onnx && prog->mod->weights)
    prog->mod->weights = weights_rebase(&prog->mod->arena, in, prog->mod->weights, out);
  if (!onnx || !prog->weights || !weights_available(prog->mod, prog->weights)) return RC_OK;
  size_t ol = strlen(out);
  char *wpath = xmalloc(ol + 9);
  if (!wpath) return RC_OK; /* as naasc-opt always did: the text then names no weights */
  snprintf(wpath, ol + 9, "%s.weights", out);
  const char *slash = strrchr(wpath, '/');
  d->file = wpath;
  Rc rc = weights_write(wpath, prog->mod, prog->weights, d);
  prog->mod->weights = arena_strdup(&prog->mod->arena, slash ? slash + 1 : wpath);
  xfree(wpath);
  if (!prog->mod->weights && rc == RC_OK) rc = RC_INTERNAL;
  return rc;
}

NaascStatus naasc_opt_run(NaascContext *ctx, NaascCompileOptions *o, const char *path,
                          const char *out, NaascDiagnosticFn listing, void *user, char **text) {
  Call c;
  if (text) *text = NULL;
  if (!call_begin(&c, ctx, "naasc-opt")) return call_end(&c, RC_INTERNAL);
  if (!o || !o->opt) return call_usage(&c, "naasc_opt_run: options of naasc_opt_options_create");
  if (o->ready) return call_usage(&c, "naasc_opt_run: these options have run once already");
  size_t plen = path ? strlen(path) : 0;
  bool onnx = plen >= 5 && strcmp(path + plen - 5, ".onnx") == 0;
  /* A graph dump without a pipeline runs no pass: it is read (and checked
   * as an imported model) and printed back; the registry and the default
   * pipeline are still made for --list-passes, plugins and their errors. */
  bool given = o->drv.pipeline != NULL;
  if (!given) o->drv.pipeline = onnx ? PIPELINE_O2 : "verify";
  Rc rc = options_setup(&c, o, listing, user);
  if (rc != RC_OK || !path) return call_end(&c, rc);
  c.d.file = path;
  uint8_t *buf = NULL;
  size_t len = 0;
  bool graph = false; /* a graph dump (its first word is `graph`), else .nir */
  if (!onnx) {
    rc = file_read_all(path, (size_t)1 << 30, &buf, &len, &c.d);
    if (rc != RC_OK) return call_end(&c, rc);
    graph = is_graph_text((const char *)buf, len);
  }
  Program prog = {.graph = NULL, .keep_weights = onnx && out};
  if (onnx)
    rc = onnx_import(path, &o->io, &prog.graph, &c.d);
  else if (graph)
    rc = graph_import_text((const char *)buf, len, &prog.graph, &c.d);
  else
    rc = module_parse((const char *)buf, len, &prog.mod, &c.d);
  xfree(buf);
  Arch *target = NULL;
  if (rc == RC_OK && o->drv.target) {
    target = calloc(1, sizeof *target);
    rc = target ? driver_load_target(&o->drv, target, &c.d) : RC_INTERNAL;
    prog.arch = target;
  }
  prog.jobs = o->drv.jobs;
  if (rc == RC_OK && (given || !graph)) rc = pm_run(&o->pl, &prog, &o->drv.pm, &c.d);
  /* Nests are always verified before they are printed, whatever the pipeline. */
  if (rc == RC_OK) rc = pm_verify_before_emit(o->reg, &o->pl, &prog, &c.d);
  if (rc == RC_OK && prog.mod && out) rc = opt_weights(&prog, path, onnx, out, &c.d);
  char *s = NULL;
  size_t slen = 0;
  FILE *f = rc == RC_OK ? open_memstream(&s, &slen) : NULL;
  if (rc == RC_OK && !f) rc = RC_INTERNAL;
  if (f) {
    program_print(f, &prog, NULL, 0);
    fclose(f);
    if (out) {
      c.d.file = out;
      rc = file_write_atomic(out, s, slen, &c.d);
    }
  }
  if (rc == RC_OK && text)
    *text = s;
  else
    free(s);
  program_free(&prog);
  free(target);
  return call_end(&c, rc);
}

NaascStatus naasc_ir_run_pipeline(NaascContext *ctx, const char *path, const char *pipeline,
                                  const char *target, char **text) {
  if (text) *text = NULL;
  if (!path || !text) {
    Call c;
    if (!call_begin(&c, ctx, "naasc-opt")) return call_end(&c, RC_INTERNAL);
    return call_usage(&c, "naasc_ir_run_pipeline: NULL argument");
  }
  NaascCompileOptions *o = naasc_opt_options_create();
  if (!o) {
    Call c;
    if (!call_begin(&c, ctx, "naasc-opt")) return call_end(&c, RC_INTERNAL);
    return call_end(&c, RC_INTERNAL);
  }
  o->drv.pipeline = pipeline;
  o->drv.target = target;
  NaascStatus st = naasc_opt_run(ctx, o, path, NULL, NULL, NULL, text);
  naasc_compile_options_destroy(o);
  return st;
}

/* ---- running a command stream, as naasc-run does ------------------------------ */

struct NaascStream {
  RtProgram *p;
  char *path;         /* the stream's file: messages of its calls are located in it */
  int64_t max_memory; /* the cap it was loaded with */
  int nin, nout;
  int *in, *out; /* the inputs' and outputs' tensor ids, in id order */
  /* the last run: */
  double run_seconds;
  bool kernels_used;
  int64_t kernels;
  double compile_seconds;
};

void naasc_stream_destroy(NaascStream *s) {
  if (!s) return;
  rt_destroy(s->p);
  free(s->path);
  free(s->in);
  free(s->out);
  free(s);
}

NaascStatus naasc_stream_load(NaascContext *ctx, const char *path, const char *target,
                              int64_t max_memory, NaascStream **out) {
  Call c;
  if (!call_begin(&c, ctx, path)) return call_end(&c, RC_INTERNAL);
  if (!path || !out) return call_usage(&c, "naasc_stream_load: NULL argument");
  *out = NULL;
  if (max_memory < 0) return call_usage(&c, "naasc_stream_load: max_memory < 0");
  if (!max_memory) max_memory = RT_DEFAULT_MAX_MEMORY;
  Arch *arch = NULL;
  Rc rc = RC_OK;
  if (target) {
    arch = calloc(1, sizeof *arch);
    c.d.file = target;
    rc = arch ? arch_resolve(target, arch, &c.d) : RC_INTERNAL;
    c.d.file = path;
  }
  uint8_t *buf = NULL;
  size_t len = 0;
  if (rc == RC_OK) rc = file_read_all(path, (size_t)1 << 34, &buf, &len, &c.d);
  NaascStream *s = rc == RC_OK ? calloc(1, sizeof *s) : NULL;
  if (rc == RC_OK) rc = s ? rt_load_capped(buf, len, arch, max_memory, &s->p, &c.d) : RC_INTERNAL;
  xfree(buf);
  free(arch);
  int n = rc == RC_OK ? rt_ntensors(s->p) : 0;
  if (rc == RC_OK) {
    s->max_memory = max_memory;
    s->path = strdup(path);
    s->in = calloc((size_t)n + 1, sizeof *s->in);
    s->out = calloc((size_t)n + 1, sizeof *s->out);
    if (!s->path || !s->in || !s->out) rc = RC_INTERNAL;
  }
  for (int i = 1; rc == RC_OK && i <= n; i++) {
    TensorRole r = rt_tensor(s->p, i)->role;
    if (r == TR_INPUT) s->in[s->nin++] = i;
    if (r == TR_OUTPUT) s->out[s->nout++] = i;
  }
  if (rc == RC_OK)
    *out = s;
  else
    naasc_stream_destroy(s);
  return call_end(&c, rc);
}

static void print_disasm(FILE *f, const void *p) { rt_disasm(f, p); }

NaascStatus naasc_stream_disasm(NaascContext *ctx, const NaascStream *s, char **text) {
  Call c;
  if (!call_begin(&c, ctx, s ? s->path : NULL)) return call_end(&c, RC_INTERNAL);
  if (!s || !text) return call_usage(&c, "naasc_stream_disasm: NULL argument");
  return call_end(&c, print_to_string(print_disasm, s->p, text));
}

int naasc_stream_input_count(const NaascStream *s) { return s ? s->nin : 0; }
int naasc_stream_output_count(const NaascStream *s) { return s ? s->nout : 0; }

static void tensor_info(const RtTensor *t, NaascTensorInfo *o) {
  memset(o, 0, sizeof *o);
  o->name = t->name;
  o->dtype = (int)t->dtype;
  o->dtype_name = dtype_name(t->dtype);
  o->rank = t->rank;
  for (int k = 0; k < t->rank && k < NAASC_MAX_RANK; k++) o->dims[k] = t->dims[k];
  o->numel = t->numel;
  o->bytes = (size_t)t->numel * dtype_size(t->dtype);
}

static NaascStatus stream_info(NaascContext *ctx, const NaascStream *s, int i, bool input,
                               NaascTensorInfo *out) {
  Call c;
  const char *fn = input ? "naasc_stream_input_info" : "naasc_stream_output_info";
  if (!call_begin(&c, ctx, s ? s->path : NULL)) return call_end(&c, RC_INTERNAL);
  if (!s || !out) return call_usage(&c, "%s: NULL argument", fn);
  int n = input ? s->nin : s->nout;
  if (i < 0 || i >= n) return call_usage(&c, "%s: index %d not in [0, %d)", fn, i, n);
  tensor_info(rt_tensor(s->p, input ? s->in[i] : s->out[i]), out);
  return call_end(&c, RC_OK);
}

NaascStatus naasc_stream_input_info(NaascContext *ctx, const NaascStream *s, int i,
                                    NaascTensorInfo *out) {
  return stream_info(ctx, s, i, true, out);
}

NaascStatus naasc_stream_output_info(NaascContext *ctx, const NaascStream *s, int i,
                                     NaascTensorInfo *out) {
  return stream_info(ctx, s, i, false, out);
}

NaascStatus naasc_stream_bind(NaascContext *ctx, NaascStream *s, const char *name, int dtype,
                              int rank, const int64_t *dims, const void *data, size_t bytes) {
  Call c;
  if (!call_begin(&c, ctx, s ? s->path : NULL)) return call_end(&c, RC_INTERNAL);
  if (!s || !name || (!dims && rank) || !data)
    return call_usage(&c, "naasc_stream_bind: NULL argument");
  if (rank < 0 || rank > NAASC_MAX_RANK)
    return call_usage(&c, "naasc_stream_bind: rank %d not in [0, %d]", rank, NAASC_MAX_RANK);
  if (!dtype_valid(dtype) || !dtype_size((DType)dtype)) {
    diag_error(&c.d, NULL, "input '%s': %d is not a numeric TensorProto data type", name, dtype);
    return call_end(&c, RC_BADINPUT);
  }
  /* the shape is checked by rt_set_input, which copies the tensor's bytes:
   * their count is checked first, where the shape is right */
  int id = rt_find_tensor(s->p, name);
  const RtTensor *t = id ? rt_tensor(s->p, id) : NULL;
  bool same = t && t->role == TR_INPUT && rank == t->rank && dtype == (int)t->dtype;
  for (int k = 0; same && k < rank; k++) same = dims[k] == t->dims[k];
  if (same && bytes != (size_t)t->numel * dtype_size(t->dtype)) {
    diag_error(&c.d, NULL,
               "input '%s': %zu bytes given, its %s tensor of %" PRId64 " elements has %zu", name,
               bytes, dtype_name(t->dtype), t->numel, (size_t)t->numel * dtype_size(t->dtype));
    return call_end(&c, RC_BADINPUT);
  }
  return call_end(&c, rt_set_input(s->p, name, (DType)dtype, rank, dims, data, &c.d));
}

NaascStatus naasc_stream_run(NaascContext *ctx, NaascStream *s, const NaascRunOptions *o) {
  Call c;
  if (!call_begin(&c, ctx, s ? s->path : NULL)) return call_end(&c, RC_INTERNAL);
  if (!s) return call_usage(&c, "naasc_stream_run: NULL argument");
  NaascRunOptions none = {0};
  if (!o) o = &none;
  RuntimeOptions opt;
  rt_options_default(&opt);
  opt.reference = o->reference;
  opt.inner = o->inner;
  opt.count = o->count || o->count_exact;
  opt.count_exact = o->count_exact;
  opt.no_jit = !o->kernels;
  NaascKernelProvider *kp = o->reference ? NULL : o->kernels;
  Rc rc = RC_OK;
  s->kernels_used = kp != NULL;
  s->kernels = 0, s->compile_seconds = 0, s->run_seconds = 0;
  if (kp) {
    rc = kp->open ? kp->open(kp->self, &c.d) : RC_OK;
    opt.compile = kp->compile;
    opt.compile_ctx = kp->self;
  }
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  if (rc == RC_OK) rc = rt_run(s->p, &opt, &c.d);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  s->run_seconds = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
  if (kp && kp->stats) kp->stats(kp->self, &s->kernels, &s->compile_seconds);
  return call_end(&c, rc);
}

/* Output (or input) name of s, reported if there is none. */
static const RtTensor *stream_tensor(const NaascStream *s, const char *name, Diag *d) {
  int id = rt_find_tensor(s->p, name);
  const RtTensor *t = id ? rt_tensor(s->p, id) : NULL;
  if (!t || (t->role != TR_OUTPUT && t->role != TR_INPUT)) {
    diag_error(d, NULL, "the model has no output or input '%s'", name);
    return NULL;
  }
  return t;
}

NaascStatus naasc_stream_read(NaascContext *ctx, const NaascStream *s, const char *name, void *buf,
                              size_t bytes) {
  Call c;
  if (!call_begin(&c, ctx, s ? s->path : NULL)) return call_end(&c, RC_INTERNAL);
  if (!s || !name || !buf) return call_usage(&c, "naasc_stream_read: NULL argument");
  const RtTensor *t = stream_tensor(s, name, &c.d);
  if (!t) return call_end(&c, RC_BADINPUT);
  size_t n = (size_t)t->numel * dtype_size(t->dtype);
  if (bytes != n)
    return call_usage(&c, "naasc_stream_read: '%s' has %zu bytes, the buffer %zu", name, n, bytes);
  memcpy(buf, t->data, n);
  return call_end(&c, RC_OK);
}

/* TensorProto out (fields: dims 1, data_type 2, name 8, raw_data 9). */
typedef struct {
  uint8_t *p;
  size_t n, cap;
} PbOut;

static bool pb_put(PbOut *o, const void *s, size_t n) {
  if (o->n + n > o->cap) {
    size_t c = o->cap ? o->cap * 2 : 256;
    while (c < o->n + n) c *= 2;
    uint8_t *q = realloc(o->p, c);
    if (!q) return false;
    o->p = q, o->cap = c;
  }
  memcpy(o->p + o->n, s, n);
  o->n += n;
  return true;
}

static bool pb_varint(PbOut *o, uint64_t v) {
  uint8_t b[10];
  int n = 0;
  do {
    b[n] = (uint8_t)(v & 0x7f);
    v >>= 7;
    if (v) b[n] |= 0x80;
    n++;
  } while (v);
  return pb_put(o, b, (size_t)n);
}

/* A dense tensor's fields, as the writers take them. */
typedef struct {
  const char *name;
  DType dtype;
  int rank;
  const int64_t *dims;
  int64_t numel;
  const void *data;
} DenseRef;

static bool tensor_proto(PbOut *o, const DenseRef *t) {
  bool ok = true;
  for (int k = 0; k < t->rank; k++)
    ok &= pb_varint(o, 1 << 3 | 0) && pb_varint(o, (uint64_t)t->dims[k]);
  ok &= pb_varint(o, 2 << 3 | 0) && pb_varint(o, (uint64_t)t->dtype);
  size_t nl = strlen(t->name);
  ok &= pb_varint(o, 8 << 3 | 2) && pb_varint(o, nl) && pb_put(o, t->name, nl);
  size_t bytes = (size_t)t->numel * dtype_size(t->dtype);
  ok &= pb_varint(o, 9 << 3 | 2) && pb_varint(o, bytes) && pb_put(o, t->data, bytes);
  return ok;
}

/* t written to path: a .npy file if path ends in ".npy", else a TensorProto. */
static Rc write_dense(const DenseRef *t, const char *path, Diag *d) {
  if (npy_path(path)) return npy_write_file(path, t->dtype, t->rank, t->dims, t->data, d);
  PbOut o = {0};
  Rc rc = RC_INTERNAL;
  if (tensor_proto(&o, t)) {
    const char *file = d->file;
    d->file = path;
    rc = file_write_atomic(path, o.p, o.n, d);
    d->file = file;
  }
  free(o.p);
  return rc;
}

static Rc write_tensor(const RtTensor *t, const char *path, Diag *d) {
  DenseRef r = {t->name, t->dtype, t->rank, t->dims, t->numel, t->data};
  return write_dense(&r, path, d);
}

/* ---- tensors: dtype, shape, data owned or borrowed ----------------------------- */

struct NaascTensor {
  DType dtype;
  int rank;
  int64_t dims[NAASC_MAX_RANK];
  int64_t numel;
  size_t bytes; /* numel * dtype_size(dtype) */
  void *data;   /* bytes of dense row-major elements (NULL when bytes is 0 and not owned) */
  bool owned;   /* data is the tensor's own (freed with it), else the caller's */
  char *name;   /* a TensorProto's name, the output's; "" if none */
};

void naasc_tensor_destroy(NaascTensor *t) {
  if (!t) return;
  if (t->owned) free(t->data);
  free(t->name);
  free(t);
}

/* A new tensor of dtype and shape, checked (each failure reported in d);
 * data copied (copy), borrowed, or zeroed (data NULL, copy). */
static Rc tensor_make(DType dt, int rank, const int64_t *dims, const void *data, bool copy,
                      const char *name, NaascTensor **out, Diag *d) {
  *out = NULL;
  if (!dtype_valid((int)dt) || !dtype_size(dt)) {
    diag_error(d, NULL, "%d is not a numeric TensorProto data type", (int)dt);
    return RC_BADINPUT;
  }
  if (rank < 0 || rank > NAASC_MAX_RANK) {
    diag_error(d, NULL, "rank %d not in [0, %d]", rank, NAASC_MAX_RANK);
    return RC_BADINPUT;
  }
  int64_t numel = 1, bytes;
  for (int k = 0; k < rank; k++) {
    if (dims[k] < 0) {
      diag_error(d, NULL, "dim %d is %" PRId64 ", negative", k, dims[k]);
      return RC_BADINPUT;
    }
    if (!ck_mul_i64(numel, dims[k], &numel)) numel = -1;
    if (numel < 0) {
      diag_error(d, NULL, "the element count overflows 64 bits");
      return RC_BADINPUT;
    }
  }
  if (!ck_mul_i64(numel, (int64_t)dtype_size(dt), &bytes) || (uint64_t)bytes > SIZE_MAX / 2) {
    diag_error(d, NULL, "%" PRId64 " elements of %s do not fit in memory", numel, dtype_name(dt));
    return RC_BADINPUT;
  }
  NaascTensor *t = calloc(1, sizeof *t);
  if (!t) return RC_INTERNAL;
  t->dtype = dt, t->rank = rank, t->numel = numel, t->bytes = (size_t)bytes;
  for (int k = 0; k < rank; k++) t->dims[k] = dims[k];
  t->name = strdup(name ? name : "");
  t->owned = copy;
  if (copy) {
    t->data = calloc(1, t->bytes ? t->bytes : 1);
    if (t->data && data && t->bytes) memcpy(t->data, data, t->bytes);
  } else {
    t->data = (void *)data;
  }
  if (!t->name || (copy && !t->data)) {
    naasc_tensor_destroy(t);
    return RC_INTERNAL;
  }
  *out = t;
  return RC_OK;
}

NaascStatus naasc_tensor_create(NaascContext *ctx, int dtype, int rank, const int64_t *dims,
                                const void *data, NaascTensor **out) {
  Call c;
  if (!call_begin(&c, ctx, "naasc_tensor_create")) return call_end(&c, RC_INTERNAL);
  if (!out || (!dims && rank > 0)) return call_usage(&c, "NULL argument");
  return call_end(&c, tensor_make((DType)dtype, rank, dims, data, true, NULL, out, &c.d));
}

NaascStatus naasc_tensor_wrap(NaascContext *ctx, int dtype, int rank, const int64_t *dims,
                              void *data, size_t bytes, NaascTensor **out) {
  Call c;
  if (!call_begin(&c, ctx, "naasc_tensor_wrap")) return call_end(&c, RC_INTERNAL);
  if (!out || (!dims && rank > 0) || (!data && bytes)) return call_usage(&c, "NULL argument");
  Rc rc = tensor_make((DType)dtype, rank, dims, data, false, NULL, out, &c.d);
  if (rc == RC_OK && (*out)->bytes != bytes) {
    diag_error(&c.d, NULL, "%zu bytes given, the %s tensor of %" PRId64 " elements has %zu", bytes,
               dtype_name((*out)->dtype), (*out)->numel, (*out)->bytes);
    naasc_tensor_destroy(*out);
    *out = NULL;
    rc = RC_BADINPUT;
  }
  return call_end(&c, rc);
}

/* The tensor of a .npy file's bytes (copied), its errors located in d's file. */
static Rc tensor_from_npy(const uint8_t *buf, size_t len, NaascTensor **out, Diag *d) {
  NpyArray a;
  Rc rc = npy_parse(buf, len, &a, d);
  return rc == RC_OK ? tensor_make(a.dtype, a.rank, a.dims, a.data, true, NULL, out, d) : rc;
}

/* The tensor of file path: .npy by its extension, else a TensorProto
 * (named name in its messages, NULL: by its own name); a .npz archive is
 * refused, pointing at the calls that read one. */
static Rc tensor_load(const char *path, const char *name, NaascTensor **out, Diag *d) {
  *out = NULL;
  const char *file = d->file;
  d->file = path;
  Rc rc;
  size_t plen = strlen(path);
  if (plen >= 4 && !strcmp(path + plen - 4, ".npz")) {
    diag_error(d, NULL,
               "a .npz archive holds several arrays: bind it whole (naasc_stream_bind_npz, "
               "naasc-run --inputs FILE.npz) or read it with naasc_tensor_load_npz");
    rc = RC_BADINPUT;
  } else if (npy_path(path)) {
    uint8_t *buf = NULL;
    size_t len = 0;
    rc = file_read_all(path, (size_t)1 << 34, &buf, &len, d);
    if (rc == RC_OK) rc = tensor_from_npy(buf, len, out, d);
    xfree(buf);
  } else {
    Model *scratch = model_create("inputs");
    TensorId id;
    rc = scratch ? onnx_read_tensor_file(path, scratch, name, &id, d) : RC_INTERNAL;
    if (rc == RC_OK) {
      const Tensor *T = &scratch->tensors[id];
      rc = tensor_make(T->dtype, T->rank, T->dims, T->data, true, T->name, out, d);
    }
    model_destroy(scratch);
  }
  d->file = file;
  return rc;
}

NaascStatus naasc_tensor_load(NaascContext *ctx, const char *path, NaascTensor **out) {
  Call c;
  if (!call_begin(&c, ctx, path)) return call_end(&c, RC_INTERNAL);
  if (!path || !out) return call_usage(&c, "naasc_tensor_load: NULL argument");
  return call_end(&c, tensor_load(path, NULL, out, &c.d));
}

NaascStatus naasc_tensor_parse_npy(NaascContext *ctx, const void *buf, size_t len, const char *file,
                                   NaascTensor **out) {
  Call c;
  if (!call_begin(&c, ctx, file ? file : "<npy>")) return call_end(&c, RC_INTERNAL);
  if ((!buf && len) || !out) return call_usage(&c, "naasc_tensor_parse_npy: NULL argument");
  *out = NULL;
  return call_end(&c, tensor_from_npy(buf, len, out, &c.d));
}

/* ---- .npz archives: numpy.savez's ZIP of stored NAME.npy members -------------
 * The ZIP format (PKWARE's APPNOTE.TXT 6.3.10, sections 4.3 and 4.4): each
 * member is a local header (30 bytes, its name, an extra field) followed by
 * its data; then the central directory, one 46-byte entry (with the name,
 * an extra field and a comment) per member giving its sizes, CRC-32 and
 * local header's offset; then the end of central directory record (EOCD,
 * 22 bytes and a comment) at the end.  numpy.savez (numpy/lib/npyio.py,
 * _savez) writes with Python's zipfile, ZIP_STORED, force_zip64: each local
 * header carries a ZIP64 extra field (header id 1, APPNOTE 4.5.3) besides
 * its 32-bit sizes; the central directory has the 32-bit sizes.
 * Read: stored (method 0), unencrypted members of one disk, without a ZIP64
 * end record (fewer than 65535 members, under 4 GiB); every offset and size
 * checked against the bytes there are before it is used; the central
 * directory exactly before the EOCD; each local header agreeing with its
 * entry (name, method, sizes, CRC-32); each member's data inside the bytes
 * before the central directory, its CRC-32 checked.  A compressed member
 * (numpy.savez_compressed, deflate) is refused by name: naasc links no
 * zlib. */

static uint32_t zip_rd16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t zip_rd32(const uint8_t *p) { return zip_rd16(p) | zip_rd16(p + 2) << 16; }
static uint64_t zip_rd64(const uint8_t *p) { return zip_rd32(p) | (uint64_t)zip_rd32(p + 4) << 32; }

/* The CRC-32 of ZIP (APPNOTE 4.4.7: polynomial 0xEDB88320, reflected), a
 * nibble at a time. */
static uint32_t zip_crc32(const uint8_t *p, size_t n) {
  static const uint32_t t[16] = {0x00000000, 0x1DB71064, 0x3B6E20C8, 0x26D930AC,
                                 0x76DC4190, 0x6B6B51F4, 0x4DB26158, 0x5005713C,
                                 0xEDB88320, 0xF00F9344, 0xD6D6A3E8, 0xCB61B38C,
                                 0x9B64C2B0, 0x86D3D2D4, 0xA00AE278, 0xBDBDF21C};
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    c = c >> 4 ^ t[c & 15];
    c = c >> 4 ^ t[c & 15];
  }
  return ~c;
}

/* The ZIP64 extended information (header id 1) of extra field x: each of
 * usize, csize, off (NULL: not there) that is 0xFFFFFFFF, in that order,
 * takes its next 8 bytes.  False if the field's blocks are malformed or a
 * value needed is missing. */
static bool zip64_extra(const uint8_t *x, size_t xlen, uint64_t *usize, uint64_t *csize,
                        uint64_t *off) {
  uint64_t *want[3] = {usize, csize, off};
  size_t i = 0;
  while (xlen - i >= 4) {
    uint32_t id = zip_rd16(x + i), n = zip_rd16(x + i + 2);
    if (n > xlen - i - 4) return false;
    if (id == 1) {
      size_t k = i + 4, end = i + 4 + n;
      for (int j = 0; j < 3; j++)
        if (want[j] && *want[j] == 0xFFFFFFFFu) {
          if (end - k < 8) return false;
          *want[j] = zip_rd64(x + k);
          k += 8;
        }
      return true;
    }
    i += 4 + n;
  }
  for (int j = 0; j < 3; j++)
    if (want[j] && *want[j] == 0xFFFFFFFFu) return false;
  return true;
}

typedef struct {
  const char *name; /* in the archive's central directory, not NUL-terminated */
  size_t nlen;
  const uint8_t *data;
  size_t len;
  int entry; /* its place in the central directory */
} ZipMember;

static int zip_member_cmp(const void *a, const void *b) {
  const ZipMember *x = a, *y = b;
  size_t n = x->nlen < y->nlen ? x->nlen : y->nlen;
  int c = memcmp(x->name, y->name, n);
  if (c) return c;
  if (x->nlen != y->nlen) return x->nlen < y->nlen ? -1 : 1;
  return x->entry - y->entry;
}

/* A member's name as a location ("member 'a.npy'"), at most 200 bytes of it. */
static void zip_where(char *where, size_t cap, const char *name, size_t nlen) {
  snprintf(where, cap, "member '%.*s%s'", (int)(nlen > 200 ? 200 : nlen), name,
           nlen > 200 ? "..." : "");
}

void naasc_tensor_list_destroy(NaascTensor **list, int count) {
  if (!list) return;
  for (int i = 0; i < count; i++) naasc_tensor_destroy(list[i]);
  free(list);
}

/* The members of .npz archive b (len bytes) as *count tensors named by the
 * members without ".npy", in the archive's order; errors located in d's
 * file, a member's .npy errors in "FILE: member 'NAME.npy'". */
static Rc npz_read(const uint8_t *b, size_t len, NaascTensor ***out, int *count, Diag *d) {
  *out = NULL, *count = 0;
  char where[320];
  /* the EOCD: its signature where its comment ends the file */
  size_t eocd = SIZE_MAX;
  if (len >= 22) {
    size_t lo = len - 22 > 65535 ? len - 22 - 65535 : 0;
    for (size_t i = len - 22;; i--) {
      if (!memcmp(b + i, "PK\5\6", 4) && zip_rd16(b + i + 20) == len - 22 - i) {
        eocd = i;
        break;
      }
      if (i == lo) break;
    }
  }
  if (eocd == SIZE_MAX) {
    diag_error(d, NULL, "not a ZIP archive (.npz): no end of central directory record%s",
               len >= 4 && !memcmp(b, "PK\3\4", 4) ? " (a truncated archive?)" : "");
    return RC_BADINPUT;
  }
  snprintf(where, sizeof where, "offset %zu (end of central directory)", eocd);
  uint32_t disk = zip_rd16(b + eocd + 4), cd_disk = zip_rd16(b + eocd + 6);
  uint32_t n_here = zip_rd16(b + eocd + 8), n = zip_rd16(b + eocd + 10);
  uint64_t cd_size = zip_rd32(b + eocd + 12), cd_off = zip_rd32(b + eocd + 16);
  if (n == 0xFFFF || cd_size == 0xFFFFFFFFu || cd_off == 0xFFFFFFFFu ||
      (eocd >= 20 && !memcmp(b + eocd - 20, "PK\6\7", 4))) { /* a ZIP64 end record's locator */
    diag_error(d, where,
               "a ZIP64 end record (an archive of 65535 members or more, or over 4 GiB): not read");
    return RC_BADINPUT;
  }
  if (disk || cd_disk || n_here != n) {
    diag_error(d, where, "a multi-volume archive (disk %u, %u of %u entries here) is not read",
               disk, n_here, n);
    return RC_BADINPUT;
  }
  if (cd_off > eocd || cd_size != eocd - cd_off) {
    diag_error(d, where,
               "bad central directory: %" PRIu64 " bytes at offset %" PRIu64
               " do not end where the end record starts",
               cd_size, cd_off);
    return RC_BADINPUT;
  }
  ZipMember *m = calloc(n ? n : 1, sizeof *m);
  NaascTensor **t = calloc(n ? n : 1, sizeof *t);
  char *mfile = NULL;
  Rc rc = RC_BADINPUT;
  if (!m || !t) {
    rc = RC_INTERNAL;
    goto done;
  }
  size_t p = (size_t)cd_off, cd_end = (size_t)(cd_off + cd_size);
  for (uint32_t i = 0; i < n; i++) {
    snprintf(where, sizeof where, "central directory entry %u (offset %zu)", i, p);
    if (cd_end - p < 46 || memcmp(b + p, "PK\1\2", 4)) {
      diag_error(d, where, "bad central directory: %s",
                 cd_end - p < 46 ? "it ends before its entry" : "no entry signature (PK\\1\\2)");
      goto done;
    }
    const uint8_t *e = b + p;
    uint32_t flags = zip_rd16(e + 8), method = zip_rd16(e + 10), crc = zip_rd32(e + 16);
    uint64_t csize = zip_rd32(e + 20), usize = zip_rd32(e + 24), loff = zip_rd32(e + 42);
    size_t nlen = zip_rd16(e + 28), xlen = zip_rd16(e + 30), clen = zip_rd16(e + 32);
    if (nlen + xlen + clen > cd_end - p - 46) {
      diag_error(d, where,
                 "bad central directory: the entry's name, extra field and comment (%zu bytes) "
                 "run past its end",
                 nlen + xlen + clen);
      goto done;
    }
    const char *name = (const char *)e + 46;
    for (size_t k = 0; k < nlen; k++)
      if ((uint8_t)name[k] < 0x20 || name[k] == 0x7F) {
        diag_error(d, where, "a member name with a control byte (0x%02x at %zu)",
                   (unsigned)(uint8_t)name[k], k);
        goto done;
      }
    zip_where(where, sizeof where, name, nlen);
    if (!zip64_extra(e + 46 + nlen, xlen, &usize, &csize, &loff)) {
      diag_error(d, where, "bad central directory: a malformed ZIP64 extra field");
      goto done;
    }
    if (flags & 1) {
      diag_error(d, where, "encrypted: not read");
      goto done;
    }
    if (method != 0) {
      if (method == 8)
        diag_error(d, where,
                   "compressed (deflate, as numpy.savez_compressed writes): only stored members "
                   "(numpy.savez) are read");
      else
        diag_error(d, where, "compression method %u: only stored members (numpy.savez) are read",
                   method);
      goto done;
    }
    if (nlen <= 4 || memcmp(name + nlen - 4, ".npy", 4)) {
      diag_error(d, where, "not a .npy array (numpy.savez writes members NAME.npy)");
      goto done;
    }
    if (csize != usize) {
      diag_error(d, where,
                 "size mismatch: a stored member of %" PRIu64 " bytes, %" PRIu64 " uncompressed",
                 csize, usize);
      goto done;
    }
    /* its local header, before the central directory */
    if (loff > cd_off || cd_off - loff < 30) {
      diag_error(d, where,
                 "truncated local header at offset %" PRIu64
                 ": 30 bytes needed before the central directory at %" PRIu64,
                 loff, cd_off);
      goto done;
    }
    const uint8_t *l = b + loff;
    if (memcmp(l, "PK\3\4", 4)) {
      diag_error(d, where, "no local header at offset %" PRIu64 " (no signature PK\\3\\4)", loff);
      goto done;
    }
    uint32_t lflags = zip_rd16(l + 6), lmethod = zip_rd16(l + 8), lcrc = zip_rd32(l + 14);
    uint64_t lcsize = zip_rd32(l + 18), lusize = zip_rd32(l + 22);
    size_t lnlen = zip_rd16(l + 26), lxlen = zip_rd16(l + 28);
    if (lnlen + lxlen > cd_off - loff - 30) {
      diag_error(d, where,
                 "truncated local header at offset %" PRIu64
                 ": its name and extra field run into the central directory",
                 loff);
      goto done;
    }
    if (lnlen != nlen || memcmp(l + 30, name, nlen)) {
      diag_error(d, where, "the local header at offset %" PRIu64 " names another member", loff);
      goto done;
    }
    if (lmethod != method || (lflags & 1) != (flags & 1)) {
      diag_error(d, where,
                 "the local header at offset %" PRIu64
                 " has another method or encryption than the central directory",
                 loff);
      goto done;
    }
    if (!(lflags & 8)) { /* else its sizes and CRC-32 follow the data: the directory's hold */
      if (!zip64_extra(l + 30 + lnlen, lxlen, &lusize, &lcsize, NULL)) {
        diag_error(d, where, "the local header's ZIP64 extra field is malformed");
        goto done;
      }
      if (lcsize != csize || lusize != usize) {
        diag_error(d, where,
                   "size mismatch: the local header says %" PRIu64
                   " bytes, the central directory %" PRIu64,
                   lcsize, csize);
        goto done;
      }
      if (lcrc != crc) {
        diag_error(d, where, "the local header's CRC-32 %08x is not the central directory's %08x",
                   lcrc, crc);
        goto done;
      }
    }
    uint64_t data = loff + 30 + lnlen + lxlen;
    if (csize > cd_off - data) {
      diag_error(d, where,
                 "size mismatch: %" PRIu64 " bytes of data at offset %" PRIu64
                 " run into the central directory at %" PRIu64,
                 csize, data, cd_off);
      goto done;
    }
    uint32_t got = zip_crc32(b + data, (size_t)csize);
    if (got != crc) {
      diag_error(d, where, "CRC-32 mismatch: the data's is %08x, the directory's %08x", got, crc);
      goto done;
    }
    m[i] = (ZipMember){name, nlen, b + data, (size_t)csize, (int)i};
    p += 46 + nlen + xlen + clen;
  }
  if (p != cd_end) {
    snprintf(where, sizeof where, "offset %zu (central directory)", p);
    diag_error(d, where, "bad central directory: %zu bytes after its %u entries", cd_end - p, n);
    goto done;
  }
  /* each name once: sorted copies side by side */
  ZipMember *sorted = malloc((n ? n : 1) * sizeof *sorted);
  if (!sorted) {
    rc = RC_INTERNAL;
    goto done;
  }
  if (n) memcpy(sorted, m, n * sizeof *m);
  qsort(sorted, n, sizeof *sorted, zip_member_cmp);
  for (uint32_t i = 1; i < n; i++)
    if (sorted[i].nlen == sorted[i - 1].nlen &&
        !memcmp(sorted[i].name, sorted[i - 1].name, sorted[i].nlen)) {
      zip_where(where, sizeof where, sorted[i].name, sorted[i].nlen);
      diag_error(d, where, "duplicate member (central directory entries %d and %d)",
                 sorted[i - 1].entry, sorted[i].entry);
      free(sorted);
      goto done;
    }
  free(sorted);
  /* each member a .npy array, its errors located in "FILE: member 'NAME.npy'" */
  const char *file = d->file ? d->file : "<npz>";
  for (uint32_t i = 0; i < n; i++) {
    free(mfile);
    zip_where(where, sizeof where, m[i].name, m[i].nlen);
    size_t flen = strlen(file) + strlen(where) + 3;
    char *tname = malloc(m[i].nlen - 3);
    mfile = malloc(flen);
    if (!mfile || !tname) {
      free(tname);
      rc = RC_INTERNAL;
      goto done;
    }
    snprintf(mfile, flen, "%s: %s", file, where);
    memcpy(tname, m[i].name, m[i].nlen - 4);
    tname[m[i].nlen - 4] = 0;
    const char *f0 = d->file;
    d->file = mfile;
    NpyArray a;
    Rc r = npy_parse(m[i].data, m[i].len, &a, d);
    if (r == RC_OK) r = tensor_make(a.dtype, a.rank, a.dims, a.data, true, tname, &t[i], d);
    d->file = f0;
    free(tname);
    if (r != RC_OK) {
      rc = r;
      goto done;
    }
  }
  *out = t, *count = (int)n;
  t = NULL;
  rc = RC_OK;
done:
  free(mfile);
  free(m);
  naasc_tensor_list_destroy(t, (int)n);
  return rc;
}

/* The members of .npz file path (npz_read), errors located in it. */
static Rc npz_load(const char *path, NaascTensor ***out, int *count, Diag *d) {
  *out = NULL, *count = 0;
  const char *file = d->file;
  d->file = path;
  uint8_t *buf = NULL;
  size_t len = 0;
  Rc rc = file_read_all(path, (size_t)1 << 34, &buf, &len, d);
  if (rc == RC_OK) rc = npz_read(buf, len, out, count, d);
  xfree(buf);
  d->file = file;
  return rc;
}

NaascStatus naasc_tensor_parse_npz(NaascContext *ctx, const void *buf, size_t len, const char *file,
                                   NaascTensor ***out, int *count) {
  Call c;
  if (!call_begin(&c, ctx, file ? file : "<npz>")) return call_end(&c, RC_INTERNAL);
  if ((!buf && len) || !out || !count)
    return call_usage(&c, "naasc_tensor_parse_npz: NULL argument");
  return call_end(&c, npz_read(buf, len, out, count, &c.d));
}

NaascStatus naasc_tensor_load_npz(NaascContext *ctx, const char *path, NaascTensor ***out,
                                  int *count) {
  Call c;
  if (!call_begin(&c, ctx, path)) return call_end(&c, RC_INTERNAL);
  if (!path || !out || !count) return call_usage(&c, "naasc_tensor_load_npz: NULL argument");
  return call_end(&c, npz_load(path, out, count, &c.d));
}

NaascStatus naasc_tensor_save(NaascContext *ctx, const NaascTensor *t, const char *path) {
  Call c;
  if (!call_begin(&c, ctx, path)) return call_end(&c, RC_INTERNAL);
  if (!t || !path) return call_usage(&c, "naasc_tensor_save: NULL argument");
  DenseRef r = {t->name, t->dtype, t->rank, t->dims, t->numel, t->data};
  return call_end(&c, write_dense(&r, path, &c.d));
}

void naasc_tensor_info(const NaascTensor *t, NaascTensorInfo *out) {
  if (!out) return;
  memset(out, 0, sizeof *out);
  if (!t) return;
  out->name = t->name;
  out->dtype = (int)t->dtype;
  out->dtype_name = dtype_name(t->dtype);
  out->rank = t->rank;
  for (int k = 0; k < t->rank; k++) out->dims[k] = t->dims[k];
  out->numel = t->numel;
  out->bytes = t->bytes;
}

void *naasc_tensor_data(const NaascTensor *t) { return t ? t->data : NULL; }

/* Binds input name of s to t's data (copied); a u16 tensor binds a bf16
 * input (numpy has no bf16: ONNX's test data stores its bits). */
static Rc bind_tensor(NaascStream *s, const char *name, const NaascTensor *t, Diag *d) {
  DType dt = t->dtype;
  int id = rt_find_tensor(s->p, name);
  if (dt == DT_U16 && id && rt_tensor(s->p, id)->dtype == DT_BF16) dt = DT_BF16;
  return rt_set_input(s->p, name, dt, t->rank, t->dims, t->data, d);
}

NaascStatus naasc_stream_bind_tensor(NaascContext *ctx, NaascStream *s, const char *name,
                                     const NaascTensor *t) {
  Call c;
  if (!call_begin(&c, ctx, s ? s->path : NULL)) return call_end(&c, RC_INTERNAL);
  if (!s || !name || !t) return call_usage(&c, "naasc_stream_bind_tensor: NULL argument");
  return call_end(&c, bind_tensor(s, name, t, &c.d));
}

NaascStatus naasc_stream_bind_file(NaascContext *ctx, NaascStream *s, const char *name,
                                   const char *path) {
  Call c;
  if (!call_begin(&c, ctx, path)) return call_end(&c, RC_INTERNAL);
  if (!s || !name || !path) return call_usage(&c, "naasc_stream_bind_file: NULL argument");
  NaascTensor *t = NULL;
  Rc rc = tensor_load(path, name, &t, &c.d);
  if (rc == RC_OK) {
    c.d.file = s->path; /* a tensor that does not fit the input: located in the stream */
    rc = bind_tensor(s, name, t, &c.d);
  }
  naasc_tensor_destroy(t);
  return call_end(&c, rc);
}

NaascStatus naasc_stream_bind_npz(NaascContext *ctx, NaascStream *s, const char *path) {
  Call c;
  if (!call_begin(&c, ctx, path)) return call_end(&c, RC_INTERNAL);
  if (!s || !path) return call_usage(&c, "naasc_stream_bind_npz: NULL argument");
  NaascTensor **t = NULL;
  int n = 0;
  Rc rc = npz_load(path, &t, &n, &c.d);
  if (rc == RC_OK) {
    c.d.file = path;
    char names[512] = "", where[320];
    size_t used = 0;
    for (int j = 0; j < s->nin && used < sizeof names; j++)
      used += (size_t)snprintf(names + used, sizeof names - used, "%s%s", j ? ", " : "",
                               rt_tensor(s->p, s->in[j])->name);
    if (used >= sizeof names) snprintf(names + sizeof names - 5, 5, "...");
    for (int i = 0; i < n; i++) {
      bool found = false;
      for (int j = 0; j < s->nin && !found; j++)
        found = !strcmp(rt_tensor(s->p, s->in[j])->name, t[i]->name);
      if (!found) {
        snprintf(where, sizeof where, "member '%.200s.npy'", t[i]->name);
        diag_error(&c.d, where, "the stream has no input '%.200s' (its inputs: %s)", t[i]->name,
                   names);
        rc = RC_BADINPUT;
      }
    }
    for (int j = 0; j < s->nin; j++) {
      const char *in = rt_tensor(s->p, s->in[j])->name;
      bool found = false;
      for (int i = 0; i < n && !found; i++) found = !strcmp(t[i]->name, in);
      if (!found) {
        diag_error(&c.d, NULL, "no member '%s.npy' for the stream's input '%s'", in, in);
        rc = RC_BADINPUT;
      }
    }
  }
  c.d.file = s->path; /* a tensor that does not fit its input: located in the stream */
  for (int i = 0; rc == RC_OK && i < n; i++) rc = bind_tensor(s, t[i]->name, t[i], &c.d);
  naasc_tensor_list_destroy(t, n);
  return call_end(&c, rc);
}

NaascStatus naasc_stream_output_tensor(NaascContext *ctx, const NaascStream *s, const char *name,
                                       NaascTensor **out) {
  Call c;
  if (!call_begin(&c, ctx, s ? s->path : NULL)) return call_end(&c, RC_INTERNAL);
  if (!s || !name || !out) return call_usage(&c, "naasc_stream_output_tensor: NULL argument");
  *out = NULL;
  const RtTensor *t = stream_tensor(s, name, &c.d);
  if (!t) return call_end(&c, RC_BADINPUT);
  return call_end(&c, tensor_make(t->dtype, t->rank, t->dims, t->data, true, t->name, out, &c.d));
}

NaascStatus naasc_stream_write_output(NaascContext *ctx, const NaascStream *s, const char *name,
                                      const char *path) {
  Call c;
  if (!call_begin(&c, ctx, s ? s->path : NULL)) return call_end(&c, RC_INTERNAL);
  if (!s || !name || !path) return call_usage(&c, "naasc_stream_write_output: NULL argument");
  const RtTensor *t = stream_tensor(s, name, &c.d);
  return call_end(&c, t ? write_tensor(t, path, &c.d) : RC_BADINPUT);
}

NaascStatus naasc_stream_write_outputs(NaascContext *ctx, const NaascStream *s, const char *dir) {
  Call c;
  if (!call_begin(&c, ctx, s ? s->path : NULL)) return call_end(&c, RC_INTERNAL);
  if (!s || !dir) return call_usage(&c, "naasc_stream_write_outputs: NULL argument");
  Rc rc = RC_OK;
  if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
    diag_error(&c.d, NULL, "cannot create output directory '%s': %s", dir, strerror(errno));
    rc = RC_BADINPUT;
  }
  for (int i = 0; rc == RC_OK && i < s->nout; i++) {
    const RtTensor *t = rt_tensor(s->p, s->out[i]);
    char *fname = strdup(t->name);
    for (char *q = fname; q && *q; q++)
      if (*q == '/') *q = '_';
    size_t plen = strlen(dir) + (fname ? strlen(fname) : 0) + 8;
    char *path = malloc(plen);
    if (!fname || !path) {
      rc = RC_INTERNAL;
    } else {
      snprintf(path, plen, "%s/%s.pb", dir, fname);
      rc = write_tensor(t, path, &c.d);
    }
    free(path), free(fname);
  }
  return call_end(&c, rc);
}

/* A mac layer with f16/bf16 operands: run widened to f32 (runtime/exec.c). */
static bool layer_wide(const RtProgram *p, int i) {
  const Nest *nt = rt_layer_nest(p, i);
  bool wide = false;
  for (int a = 0; nt->kind == NK_MAC && a < nt->nacc; a++) {
    DType dt = rt_tensor(p, (int)nt->acc[a].tensor)->dtype;
    wide |= dt == DT_F16 || dt == DT_BF16;
  }
  return wide;
}

int naasc_stream_layer_count(const NaascStream *s) { return s ? rt_nlayers(s->p) : 0; }

NaascStatus naasc_stream_layer_counts(NaascContext *ctx, const NaascStream *s, int layer,
                                      NaascLayerCounts *out) {
  Call c;
  if (!call_begin(&c, ctx, s ? s->path : NULL)) return call_end(&c, RC_INTERNAL);
  if (!s || !out) return call_usage(&c, "naasc_stream_layer_counts: NULL argument");
  int n = rt_nlayers(s->p);
  if (layer < 0 || layer >= n)
    return call_usage(&c, "naasc_stream_layer_counts: layer %d not in [0, %d)", layer, n);
  const RtLayerCounts *r = rt_layer_counts(s->p, layer);
  memset(out, 0, sizeof *out);
  out->name = r->name;
  out->counted = r->counted, out->exact = r->exact, out->nlevels = r->nlevels;
  for (int l = 0; l < ACCEL_MAX_LEVELS; l++) {
    for (int t = 0; t < NTENSORS; t++) {
      out->reads[l][t] = r->total[l][t].reads;
      out->fills[l][t] = r->total[l][t].fills;
      out->updates[l][t] = r->total[l][t].updates;
      out->moved[l][t] = r->moved[l][t];
    }
    out->drained[l] = r->drained[l];
  }
  out->macs = r->macs, out->tiles = r->tiles, out->held = r->held;
  out->wide = layer_wide(s->p, layer);
  out->host = r->host, out->host_op = r->host_op;
  out->host_nodes = r->host_nodes, out->host_elements = r->host_elements;
  out->host_seconds = r->host_seconds;
  return call_end(&c, RC_OK);
}

static void print_counts(FILE *f, const void *arg) {
  const RtProgram *p = arg;
  fprintf(f, "%-32s %-3s %-14s %-2s %14s %14s %14s\n", "layer", "lvl", "", "T", "reads", "fills",
          "updates");
  for (int i = 0; i < rt_nlayers(p); i++) {
    const RtLayerCounts *c = rt_layer_counts(p, i);
    if (!c->counted) continue;
    for (int l = 0; l < c->nlevels; l++)
      for (int t = 0; t < NTENSORS; t++) {
        const AccessCounts *a = &c->total[l][t];
        if (!a->reads && !a->fills && !a->updates) continue;
        fprintf(f, "%-32.32s %-3d %-14s %-2c %14lld %14lld %14lld\n", c->name, l, "",
                accel_tensor_letter(t), (long long)a->reads, (long long)a->fills,
                (long long)a->updates);
      }
  }
}

/* The layers run on the host, apart: none of their work is in the
 * accelerator's counts.  Nothing is printed for a stream without any. */
static void print_host(FILE *f, const void *arg) {
  const RtProgram *p = arg;
  int n = 0;
  int64_t nodes = 0, elems = 0;
  double secs = 0;
  for (int i = 0; i < rt_nlayers(p); i++) {
    const RtLayerCounts *c = rt_layer_counts(p, i);
    if (!c->host) continue;
    if (!n++)
      fprintf(f,
              "host layers (run by the host evaluator; not in the accelerator's counts):\n"
              "%-32s %-20s %8s %14s %10s\n",
              "layer", "op", "nodes", "out elements", "seconds");
    fprintf(f, "%-32.32s %-20.20s %8lld %14lld %10.4f\n", c->name, c->host_op,
            (long long)c->host_nodes, (long long)c->host_elements, c->host_seconds);
    nodes += c->host_nodes, elems += c->host_elements, secs += c->host_seconds;
  }
  if (n)
    fprintf(f, "host total: %d layers, %lld nodes, %lld output elements, %.4f s\n", n,
            (long long)nodes, (long long)elems, secs);
}

static void print_moved(FILE *f, const void *arg) {
  const RtProgram *p = arg;
  fprintf(f, "%-32s %-3s %-2s %14s %14s\n", "layer", "lvl", "T", "filled", "drained");
  for (int i = 0; i < rt_nlayers(p); i++) {
    const RtLayerCounts *c = rt_layer_counts(p, i);
    if (!c->tiles) continue;
    for (int l = 0; l < ACCEL_MAX_LEVELS; l++)
      for (int t = 0; t < NTENSORS; t++) {
        int64_t out = t == TENSOR_O ? c->drained[l] : 0;
        if (!c->moved[l][t] && !out) continue;
        fprintf(f, "%-32.32s %-3d %-2c %14lld %14lld\n", c->name, l, accel_tensor_letter(t),
                (long long)c->moved[l][t], (long long)out);
      }
  }
}

/* The counters of print_counts, print_moved and print_host as one JSON
 * document (naasc-run-report/1, docs/api.md): per layer its flags, and per
 * level up to the deepest with a nonzero counter (at least the counted
 * levels) each tensor's reads, fills, updates and words moved, the words
 * drained, and a host layer's op, nodes, elements and seconds. */
static void print_json(FILE *f, const void *arg) {
  const NaascStream *s = arg;
  const RtProgram *p = s->p;
  JsonWriter j;
  json_init(&j, f);
  json_object(&j, "\n  ");
  json_key(&j, "format");
  json_str(&j, "naasc-run-report/1");
  json_key(&j, "stream");
  json_str(&j, s->path);
  json_key(&j, "layers");
  json_array(&j, "\n    ");
  for (int i = 0; i < rt_nlayers(p); i++) {
    const RtLayerCounts *c = rt_layer_counts(p, i);
    json_object(&j, NULL);
    json_key(&j, "name");
    json_str(&j, c->name);
    json_key(&j, "counted");
    json_bool(&j, c->counted);
    json_key(&j, "exact");
    json_bool(&j, c->exact);
    json_key(&j, "macs");
    json_int(&j, c->macs);
    json_key(&j, "tiles");
    json_int(&j, c->tiles);
    json_key(&j, "held");
    json_int(&j, c->held);
    json_key(&j, "wide");
    json_bool(&j, layer_wide(p, i));
    int nl = c->counted ? c->nlevels : 0;
    for (int l = nl; l < ACCEL_MAX_LEVELS; l++) {
      bool any = c->drained[l] != 0;
      for (int t = 0; t < NTENSORS; t++)
        any |= c->moved[l][t] || c->total[l][t].reads || c->total[l][t].fills ||
               c->total[l][t].updates;
      if (any) nl = l + 1;
    }
    json_key(&j, "levels");
    json_array(&j, NULL);
    for (int l = 0; l < nl; l++) {
      json_object(&j, NULL);
      json_key(&j, "level");
      json_int(&j, l);
      for (int t = 0; t < NTENSORS; t++) {
        char key[2] = {accel_tensor_letter(t), 0};
        const AccessCounts *a = &c->total[l][t];
        json_key(&j, key);
        json_object(&j, NULL);
        json_key(&j, "reads");
        json_int(&j, a->reads);
        json_key(&j, "fills");
        json_int(&j, a->fills);
        json_key(&j, "updates");
        json_int(&j, a->updates);
        json_key(&j, "moved");
        json_int(&j, c->moved[l][t]);
        json_end(&j, NULL);
      }
      json_key(&j, "drained");
      json_int(&j, c->drained[l]);
      json_end(&j, NULL);
    }
    json_end(&j, NULL);
    json_key(&j, "host");
    if (c->host) {
      json_object(&j, NULL);
      json_key(&j, "op");
      json_str(&j, c->host_op ? c->host_op : "");
      json_key(&j, "nodes");
      json_int(&j, c->host_nodes);
      json_key(&j, "elements");
      json_int(&j, c->host_elements);
      json_key(&j, "seconds");
      json_num(&j, "%.17g", c->host_seconds);
      json_end(&j, NULL);
    } else {
      json_num(&j, "%g", NAN); /* null */
    }
    json_end(&j, NULL);
  }
  json_end(&j, "\n  ");
  json_end(&j, "\n");
  fputc('\n', f);
}

/* The printer of report kind, or NULL if there is no such kind. */
typedef void (*ReportPrinter)(FILE *, const void *);
static ReportPrinter stream_printer(const char *kind, bool *whole) {
  *whole = !strcmp(kind, "json"); /* its printer takes the stream, the others the program */
  return *whole                    ? print_json
         : !strcmp(kind, "counts") ? print_counts
         : !strcmp(kind, "moved")  ? print_moved
         : !strcmp(kind, "host")   ? print_host
                                   : NULL;
}

NaascStatus naasc_stream_report(NaascContext *ctx, const NaascStream *s, const char *kind,
                                char **text) {
  Call c;
  if (!call_begin(&c, ctx, s ? s->path : NULL)) return call_end(&c, RC_INTERNAL);
  if (text) *text = NULL;
  if (!s || !kind || !text) return call_usage(&c, "naasc_stream_report: NULL argument");
  bool whole;
  ReportPrinter print = stream_printer(kind, &whole);
  if (!print)
    return call_usage(&c, "naasc_stream_report: unknown kind '%s' (counts, moved, host, json)",
                      kind);
  return call_end(&c, print_to_string(print, whole ? (const void *)s : s->p, text));
}

NaascStatus naasc_stream_write_report(NaascContext *ctx, const NaascStream *s, const char *kind,
                                      const char *path) {
  Call c;
  if (!call_begin(&c, ctx, s ? s->path : NULL)) return call_end(&c, RC_INTERNAL);
  if (!s || !kind || !path) return call_usage(&c, "naasc_stream_write_report: NULL argument");
  bool whole;
  ReportPrinter print = stream_printer(kind, &whole);
  if (!print)
    return call_usage(
        &c, "naasc_stream_write_report: unknown kind '%s' (counts, moved, host, json)", kind);
  char *text = NULL;
  Rc rc = print_to_string(print, whole ? (const void *)s : s->p, &text);
  if (rc == RC_OK) {
    c.d.file = path;
    rc = file_write_atomic(path, text, strlen(text), &c.d);
  }
  free(text);
  return call_end(&c, rc);
}

NaascStatus naasc_stream_stats(NaascContext *ctx, const NaascStream *s, NaascStreamStats *out) {
  Call c;
  if (!call_begin(&c, ctx, s ? s->path : NULL)) return call_end(&c, RC_INTERNAL);
  if (!s || !out) return call_usage(&c, "naasc_stream_stats: NULL argument");
  memset(out, 0, sizeof *out);
  out->memory = rt_memory(s->p);
  out->memory_unshared = rt_memory_unshared(s->p);
  out->max_memory = s->max_memory;
  out->run_seconds = s->run_seconds;
  for (int i = 0; i < rt_nlayers(s->p); i++) {
    const RtLayerCounts *r = rt_layer_counts(s->p, i);
    if (r->host) out->host_layers++, out->host_seconds += r->host_seconds;
    out->wide_layers += layer_wide(s->p, i);
  }
  out->kernels_used = s->kernels_used;
  out->kernels_compiled = s->kernels;
  out->compile_seconds = s->compile_seconds;
  return call_end(&c, RC_OK);
}

void naasc_kernel_provider_destroy(NaascKernelProvider *p) {
  if (p && p->destroy) p->destroy(p);
}
