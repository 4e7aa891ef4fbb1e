/*
 * naasc.c: the C API of api/naasc.h over the libraries (frontend, passes,
 * search, backend, ir).  It adds no model of its own: each call is what a
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
 *   - reports are written by the existing writers (report_write_schedule,
 *     naas_log_write), which write files: the API has them write into a
 *     private temporary folder and reads the file back, so the JSON is the
 *     command line's byte for byte.
 */
#define _GNU_SOURCE /* fopencookie: the diagnostic handler's stream */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/naasc.h"
#include "backend/backend.h"
#include "frontend/frontend.h"
#include "ir/ir.h"
#include "passes/passes.h"
#include "search/search.h"

#ifndef NAASC_VERSION
#define NAASC_VERSION "0.0.0"
#endif

_Static_assert(NAASC_MAX_LEVELS == ACCEL_MAX_LEVELS && NAASC_NAME_MAX == ACCEL_NAME_MAX,
               "NaascCost's level arrays");
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
  if (rc == RC_OK) rc = lower_model(g, &mod, &c.d); /* as naasc --search lowers */
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
