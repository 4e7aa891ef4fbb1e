/*
 * pm.c: the pass registry, pipeline strings, plugins and the pass manager.
 *
 * Pipeline grammar:  PIPELINE := PASS {',' PASS};  PASS := NAME ['{' OPT {',' OPT} '}'];
 *                    OPT := KEY '=' VALUE  (VALUE: any characters but ',', '{', '}')
 * Instrumentation follows LLVM/MLIR: --print-ir-before/after=PASS,
 * --print-ir-after-all, --print-ir-after-change, --print-ir-after-failure,
 * --print-ir-tree-dir=DIR, --filter-layers=NAME,..., --time-passes,
 * --stats, --stats-json=FILE, --debug-only=COMPONENT,..., --verify-each.
 */
#include "passes/internal.h"

#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "backend/backend.h"

#define MAX_PASSES 128
#define MAX_STATS 16

struct PassRegistry {
  PassInfo pass[MAX_PASSES];
  int n;
  void *handles[16]; /* dlopen'ed plugins, closed with the registry */
  int nhandles;
};

typedef struct {
  char name[48];
  int64_t value;
} Stat;

struct PassCtx {
  const PMOptions *o;
  const char *pass;
  Stat *stats;
  int *nstats;
};

void program_free(Program *p) {
  model_destroy(p->graph);
  model_destroy(p->weights);
  module_destroy(p->mod);
  p->graph = NULL;
  p->weights = NULL;
  p->mod = NULL;
}

const char *pass_arg(const PassArgs *a, const char *key) {
  for (int i = 0; a && i < a->n; i++)
    if (strcmp(a->v[i].key, key) == 0) return a->v[i].value;
  return NULL;
}

void pass_stat(PassCtx *c, const char *name, int64_t delta) {
  if (!c || !c->stats) return;
  for (int i = 0; i < *c->nstats; i++)
    if (strcmp(c->stats[i].name, name) == 0) {
      c->stats[i].value += delta;
      return;
    }
  if (*c->nstats == MAX_STATS) return;
  Stat *s = &c->stats[(*c->nstats)++];
  snprintf(s->name, sizeof s->name, "%s", name);
  s->value = delta;
}

bool pass_debug_enabled(const PassCtx *c, const char *component) {
  if (!c || !c->o) return false;
  if (c->o->debug_all) return true;
  for (int i = 0; i < c->o->ndebug; i++)
    if (strcmp(c->o->debug_only[i], component) == 0) return true;
  return false;
}

void pass_debug(const PassCtx *c, const char *component, const char *fmt, ...) {
  if (!pass_debug_enabled(c, component)) return;
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "[%s] ", component);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

/* ---- registry ------------------------------------------------------------ */

PassRegistry *pass_registry_create(void) {
  PassRegistry *r = xcalloc(1, sizeof *r);
  if (r) builtin_passes_register(r);
  return r;
}

void pass_registry_destroy(PassRegistry *r) {
  if (!r) return;
  /* Plugins stay loaded: pass names and functions of theirs may still be referenced. */
  xfree(r);
}

bool pass_register(PassRegistry *r, const PassInfo *info) {
  if (!info || !info->name || !info->run || r->n == MAX_PASSES || pass_find(r, info->name))
    return false;
  r->pass[r->n++] = *info;
  return true;
}

const PassInfo *pass_find(const PassRegistry *r, const char *name) {
  for (int i = 0; i < r->n; i++)
    if (strcmp(r->pass[i].name, name) == 0) return &r->pass[i];
  return NULL;
}

void pass_list(FILE *f, const PassRegistry *r) {
  static const char *const lv[] = {"graph", "nest", "graph->nest"};
  for (int i = 0; i < r->n; i++)
    fprintf(f, "  %-20s %-12s %s%s%s%s\n", r->pass[i].name, lv[r->pass[i].level],
            r->pass[i].summary, r->pass[i].options ? " {" : "",
            r->pass[i].options ? r->pass[i].options : "", r->pass[i].options ? "}" : "");
}

Rc pass_load_plugin(PassRegistry *r, const char *path, Diag *d) {
  void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    diag_error(d, path, "cannot load pass plugin: %s", dlerror());
    return RC_BADINPUT;
  }
  NaascPluginInfoFn fn;
  void *sym = dlsym(h, NAASC_PLUGIN_ENTRY);
  memcpy(&fn, &sym, sizeof fn);
  if (!sym) {
    diag_error(d, path, "not a naasc pass plugin: it has no entry point '%s'", NAASC_PLUGIN_ENTRY);
    dlclose(h);
    return RC_BADINPUT;
  }
  const NaascPluginInfo *info = fn();
  if (!info || info->api_version != NAASC_PLUGIN_API_VERSION) {
    diag_error(d, path, "plugin API version %d, naasc needs %d", info ? info->api_version : -1,
               NAASC_PLUGIN_API_VERSION);
    dlclose(h);
    return RC_BADINPUT;
  }
  if (!info->register_passes || !info->register_passes(r)) {
    diag_error(d, path, "plugin '%s' failed to register its passes (a name already taken?)",
               info->name ? info->name : "?");
    dlclose(h);
    return RC_BADINPUT;
  }
  if (r->nhandles < 16) r->handles[r->nhandles++] = h;
  return RC_OK;
}

/* ---- pipelines -------------------------------------------------------------- */

static bool opt_allowed(const PassInfo *p, const char *key) {
  if (!p->options) return false;
  if (strcmp(p->options, "*") == 0) return true;
  size_t n = strlen(key);
  for (const char *s = p->options; *s;) {
    const char *c = strchr(s, ',');
    size_t k = c ? (size_t)(c - s) : strlen(s);
    if (k == n && strncmp(s, key, n) == 0) return true;
    s += k + (c ? 1 : 0);
  }
  return false;
}

static Rc parse_pipeline(const PassRegistry *r, const char *text, Pipeline *pl, Diag *d);

Rc pipeline_parse(const PassRegistry *r, const char *text, Pipeline *pl, Diag *d) {
  Rc rc = parse_pipeline(r, text, pl, d);
  if (rc != RC_OK) pipeline_free(pl); /* a refused pipeline holds nothing */
  return rc;
}

static Rc parse_pipeline(const PassRegistry *r, const char *text, Pipeline *pl, Diag *d) {
  memset(pl, 0, sizeof *pl);
  arena_init(&pl->arena);
  const char *s = text;
  char where[64];
  while (*s == ' ') s++;
  if (!*s) {
    diag_error(d, "pipeline", "the pipeline is empty");
    return RC_USAGE;
  }
  for (;;) {
    const char *start = s;
    while (*s && *s != ',' && *s != '{' && *s != ' ') s++;
    char *name = arena_strndup(&pl->arena, start, (size_t)(s - start));
    snprintf(where, sizeof where, "pipeline:%d", (int)(start - text) + 1);
    if (!name) return RC_INTERNAL;
    if (!*name) {
      diag_error(d, where, "expected a pass name");
      return RC_USAGE;
    }
    const PassInfo *p = pass_find(r, name);
    if (!p) {
      char known[1024] = "";
      size_t k = 0;
      for (int i = 0; i < r->n && k < sizeof known - 64; i++)
        k += (size_t)snprintf(known + k, sizeof known - k, "%s%s", i ? ", " : "", r->pass[i].name);
      diag_error(d, where, "unknown pass '%s' (known: %s)", name, known);
      return RC_USAGE;
    }
    if (pl->n == PIPELINE_MAX) {
      diag_error(d, where, "more than %d passes", PIPELINE_MAX);
      return RC_USAGE;
    }
    PassArgs *a = &pl->args[pl->n];
    pl->pass[pl->n++] = p;
    if (*s == '{') {
      s++;
      for (;;) {
        const char *ks = s;
        while (*s && *s != '=' && *s != ',' && *s != '}') s++;
        snprintf(where, sizeof where, "pipeline:%d", (int)(ks - text) + 1);
        if (*s != '=' || s == ks) {
          diag_error(d, where, "expected KEY=VALUE in the options of '%s'", name);
          return RC_USAGE;
        }
        for (const char *q = ks; q < s; q++)
          if (!isalnum((unsigned char)*q) && *q != '_' && *q != '-') {
            snprintf(where, sizeof where, "pipeline:%d", (int)(q - text) + 1);
            if (isprint((unsigned char)*q))
              diag_error(d, where,
                         "an option name of '%s' is letters, digits, '_' and '-', not '%c'", name,
                         *q);
            else
              diag_error(d, where,
                         "an option name of '%s' is letters, digits, '_' and '-', not byte 0x%02x",
                         name, (unsigned char)*q);
            return RC_USAGE;
          }
        char *key = arena_strndup(&pl->arena, ks, (size_t)(s - ks));
        const char *vs = ++s;
        while (*s && *s != ',' && *s != '}' && *s != '{' && (unsigned char)*s >= ' ') s++;
        char *val = arena_strndup(&pl->arena, vs, (size_t)(s - vs));
        if (!key || !val) return RC_INTERNAL;
        if (!opt_allowed(p, key)) {
          if (p->options)
            diag_error(d, where, "pass '%s' has no option '%s' (options: %s)", name, key,
                       p->options);
          else
            diag_error(d, where, "pass '%s' takes no options, got '%s'", name, key);
          return RC_USAGE;
        }
        if (a->n == PASS_MAX_OPTS) {
          diag_error(d, where, "too many options for '%s'", name);
          return RC_USAGE;
        }
        a->v[a->n].key = key;
        a->v[a->n].value = val;
        a->n++;
        if (*s == ',') {
          s++;
          continue;
        }
        if (*s == '}') {
          s++;
          break;
        }
        snprintf(where, sizeof where, "pipeline:%d", (int)(s - text) + 1);
        diag_error(d, where, "expected ',' or '}' in the options of '%s'", name);
        return RC_USAGE;
      }
    }
    while (*s == ' ') s++;
    if (!*s) break;
    if (*s != ',') {
      snprintf(where, sizeof where, "pipeline:%d", (int)(s - text) + 1);
      diag_error(d, where, "expected ',' between passes");
      return RC_USAGE;
    }
    s++;
    while (*s == ' ') s++;
  }
  /* Levels must follow the IR: graph passes, then lower, then nest passes. */
  bool lowered = false;
  for (int i = 0; i < pl->n; i++) {
    const PassInfo *p = pl->pass[i];
    if ((p->level == PASS_GRAPH || p->level == PASS_LOWER) && lowered) {
      diag_error(d, "pipeline", "pass '%s' works on the graph IR but comes after 'lower'", p->name);
      return RC_USAGE;
    }
    if (p->level == PASS_LOWER) lowered = true;
  }
  return RC_OK;
}

void pipeline_print(FILE *f, const Pipeline *pl) {
  for (int i = 0; i < pl->n; i++) {
    fprintf(f, "%s%s", i ? "," : "", pl->pass[i]->name);
    if (pl->args[i].n) {
      fputc('{', f);
      for (int k = 0; k < pl->args[i].n; k++)
        fprintf(f, "%s%s=%s", k ? "," : "", pl->args[i].v[k].key, pl->args[i].v[k].value);
      fputc('}', f);
    }
  }
  fputc('\n', f);
}

void pipeline_free(Pipeline *pl) { arena_free(&pl->arena); }

/* ---- instrumentation -------------------------------------------------------- */

void pm_options_default(PMOptions *o) {
  memset(o, 0, sizeof *o);
#ifndef NDEBUG
  o->verify_each = true;
#endif
  o->dump = stderr;
}

/* Keeps "a,b,c" as given (argv outlives the options); names match with in_list. */
static bool add_list(const char *v, const char **list, int *n, Diag *d, const char *flag) {
  if (*n == PM_MAX_NAMES) {
    diag_error(d, NULL, "%s given more than %d times", flag, PM_MAX_NAMES);
    return false;
  }
  list[(*n)++] = v;
  return true;
}

static const char *flag_val(const char *arg, const char *flag) {
  size_t n = strlen(flag);
  return strncmp(arg, flag, n) == 0 && arg[n] == '=' ? arg + n + 1 : NULL;
}

int pm_parse_flag(PMOptions *o, const char *arg, Diag *d) {
  const char *v = NULL;
  if (strcmp(arg, "--print-ir-after-all") == 0)
    o->print_after_all = true;
  else if (strcmp(arg, "--print-ir-after-change") == 0)
    o->print_after_change = true;
  else if (strcmp(arg, "--print-ir-after-failure") == 0)
    o->print_after_failure = true;
  else if (strcmp(arg, "--time-passes") == 0)
    o->time_passes = true;
  else if (strcmp(arg, "--stats") == 0)
    o->stats = true;
  else if (strcmp(arg, "--verify-each") == 0)
    o->verify_each = true;
  else if (strcmp(arg, "--no-verify-each") == 0)
    o->verify_each = false;
  else if (strcmp(arg, "--debug") == 0)
    o->debug_all = true;
  else if ((v = flag_val(arg, "--stats-json")))
    o->stats_json = v;
  else if ((v = flag_val(arg, "--print-ir-tree-dir")))
    o->tree_dir = v;
  else if ((v = flag_val(arg, "--print-ir-before")))
    return add_list(v, o->print_before, &o->nprint_before, d, "--print-ir-before") ? 1 : -1;
  else if ((v = flag_val(arg, "--print-ir-after")))
    return add_list(v, o->print_after, &o->nprint_after, d, "--print-ir-after") ? 1 : -1;
  else if ((v = flag_val(arg, "--filter-layers")))
    return add_list(v, o->filter, &o->nfilter, d, "--filter-layers") ? 1 : -1;
  else if ((v = flag_val(arg, "--debug-only")))
    return add_list(v, o->debug_only, &o->ndebug, d, "--debug-only") ? 1 : -1;
  else
    return 0;
  if (v && !*v) {
    diag_error(d, NULL, "%s needs a value", arg);
    return -1;
  }
  return 1;
}

static bool in_list(const char *name, const char *const *list, int n) {
  return name_in_lists(name, list, n);
}

void program_print(FILE *f, const Program *p, const char *const *filter, int nfilter) {
  if (p->mod) {
    module_print_filtered(f, p->mod, filter, nfilter);
    return;
  }
  if (!p->graph) return;
  if (!nfilter) {
    graph_print(f, p->graph);
    return;
  }
  /* Graph lines end in "# NODE": keep the header, inputs, outputs, the selected nodes and
   * the closing brace; constants only clutter a filtered dump. */
  char *buf = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&buf, &len);
  if (!m) return;
  graph_print(m, p->graph);
  fclose(m);
  for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
    char *hash = strstr(line, "  # ");
    if (strncmp(line, "  const ", 8) == 0) continue;
    if (!hash || in_list(hash + 4, filter, nfilter) || line[0] != ' ') fprintf(f, "%s\n", line);
  }
  free(buf);
}

static char *program_text(const Program *p, const PMOptions *o, size_t *len) {
  char *buf = NULL;
  FILE *m = open_memstream(&buf, len);
  if (!m) return NULL;
  program_print(m, p, o->filter, o->nfilter);
  fclose(m);
  return buf;
}

static void dump(const PMOptions *o, const char *when, const PassInfo *pass, const Program *p) {
  fprintf(o->dump, "# *** IR Dump %s %s (%s) ***\n", when, pass->name, p->mod ? "nest" : "graph");
  program_print(o->dump, p, o->filter, o->nfilter);
  fflush(o->dump);
}

static double now_wall(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double now_user(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec;
}

static Rc verify_program(const Program *p, Diag *d) {
  if (p->mod) return module_verify(p->mod, d);
  return p->graph ? graph_check(p->graph, d) : RC_OK;
}

static Rc write_tree_file(const PMOptions *o, int index, const PassInfo *pass, const Program *p,
                          Diag *d) {
  if (mkdir(o->tree_dir, 0777) != 0 && errno != EEXIST) {
    diag_error(d, o->tree_dir, "cannot create the IR tree folder: %s", strerror(errno));
    return RC_BADINPUT;
  }
  char path[4096];
  snprintf(path, sizeof path, "%s/%02d-%s.after.%s", o->tree_dir, index, pass->name,
           p->mod ? "nir" : "graph");
  size_t len;
  char *text = program_text(p, o, &len);
  if (!text) return RC_INTERNAL;
  Rc rc = file_write_atomic(path, text, len, d);
  free(text);
  return rc;
}

Rc pm_run(const Pipeline *pl, Program *p, const PMOptions *o, Diag *d) {
  Stat stats[PIPELINE_MAX][MAX_STATS];
  int nstats[PIPELINE_MAX] = {0};
  double wall[PIPELINE_MAX] = {0}, user[PIPELINE_MAX] = {0};
  Rc rc = RC_OK;
  int ran = 0;
  for (int i = 0; i < pl->n; i++) {
    const PassInfo *pass = pl->pass[i];
    if (pass->level == PASS_NEST && !p->mod) {
      diag_error(d, "pipeline", "pass '%s' works on loop nests: put 'lower' before it", pass->name);
      rc = RC_USAGE;
      break;
    }
    if ((pass->level == PASS_GRAPH || pass->level == PASS_LOWER) && !p->graph) {
      diag_error(d, "pipeline", "pass '%s' works on the graph IR, which is gone after 'lower'",
                 pass->name);
      rc = RC_USAGE;
      break;
    }
    if (in_list(pass->name, o->print_before, o->nprint_before)) dump(o, "Before", pass, p);
    char *before = NULL;
    size_t blen = 0;
    if (o->print_after_change) before = program_text(p, o, &blen);
    PassCtx ctx = {o, pass->name, stats[i], &nstats[i]};
    double w0 = now_wall(), u0 = now_user();
    rc = pass->run(p, &pl->args[i], &ctx, d);
    wall[i] = now_wall() - w0;
    user[i] = now_user() - u0;
    ran = i + 1;
    if (rc == RC_OK && o->verify_each) {
      rc = verify_program(p, d);
      if (rc != RC_OK) diag_note(d, NULL, "the IR fails verification after pass '%s'", pass->name);
    }
    if (rc != RC_OK) {
      if (o->print_after_failure) dump(o, "After failure of", pass, p);
      free(before);
      break;
    }
    bool show = o->print_after_all || in_list(pass->name, o->print_after, o->nprint_after);
    if (o->print_after_change) {
      size_t alen;
      char *after = program_text(p, o, &alen);
      if (after && (!before || alen != blen || memcmp(after, before, alen) != 0)) show = true;
      free(after);
    }
    free(before);
    if (show) dump(o, "After", pass, p);
    if (o->tree_dir && (rc = write_tree_file(o, i + 1, pass, p, d)) != RC_OK) break;
  }
  if (o->time_passes) {
    double tw = 0, tu = 0;
    for (int i = 0; i < ran; i++) {
      tw += wall[i];
      tu += user[i];
    }
    fprintf(stderr,
            "===-------------------------------------------------------------------------===\n"
            "                      ... Pass execution timing report ...\n"
            "===-------------------------------------------------------------------------===\n"
            "  Total Execution Time: %.4f seconds (%.4f wall clock)\n\n"
            "   ---User Time---   --Wall Time--  --- Name ---\n",
            tu, tw);
    for (int i = 0; i < ran; i++)
      fprintf(stderr, "   %7.4f (%5.1f%%)  %7.4f (%5.1f%%)  %s\n", user[i],
              tu > 0 ? 100 * user[i] / tu : 0, wall[i], tw > 0 ? 100 * wall[i] / tw : 0,
              pl->pass[i]->name);
    fprintf(stderr, "   %7.4f (100.0%%)  %7.4f (100.0%%)  Total\n", tu, tw);
  }
  if (o->stats) {
    fprintf(stderr,
            "===-------------------------------------------------------------------------===\n"
            "                          ... Statistics Collected ...\n"
            "===-------------------------------------------------------------------------===\n");
    for (int i = 0; i < ran; i++)
      for (int k = 0; k < nstats[i]; k++)
        fprintf(stderr, "%12" PRId64 " %s - %s\n", stats[i][k].value, pl->pass[i]->name,
                stats[i][k].name);
  }
  if (o->stats_json) {
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (m) {
      JsonWriter j;
      json_init(&j, m);
      json_object(&j, "\n  ");
      json_key(&j, "passes");
      json_array(&j, "\n    ");
      for (int i = 0; i < ran; i++) {
        json_object(&j, NULL);
        json_key(&j, "pass");
        json_str(&j, pl->pass[i]->name);
        json_key(&j, "wall_s");
        json_num(&j, "%.6f", wall[i]);
        json_key(&j, "user_s");
        json_num(&j, "%.6f", user[i]);
        json_key(&j, "stats");
        json_object(&j, NULL);
        for (int k = 0; k < nstats[i]; k++) {
          json_key(&j, stats[i][k].name);
          json_int(&j, stats[i][k].value);
        }
        json_end(&j, NULL);
        json_end(&j, NULL);
      }
      json_end(&j, "\n  ");
      json_end(&j, "\n");
      fputc('\n', m);
      fclose(m);
      Rc wrc = file_write_atomic(o->stats_json, buf, len, d);
      if (rc == RC_OK) rc = wrc;
      free(buf);
    }
  }
  return rc;
}

/* ---- the tools' shared flags ------------------------------------------------ */

void driver_options_default(DriverOptions *o, const char *pipeline) {
  memset(o, 0, sizeof *o);
  o->pipeline = pipeline;
  pm_options_default(&o->pm);
}

int driver_parse_flag(DriverOptions *o, int argc, char **argv, int *i, Diag *d) {
  const char *a = argv[*i];
  if (strcmp(a, "-O0") == 0)
    o->pipeline = PIPELINE_O0, o->pipeline_given = false;
  else if (strcmp(a, "-O2") == 0)
    o->pipeline = PIPELINE_O2, o->pipeline_given = false;
  else if (strcmp(a, "--print-pipeline") == 0)
    o->print_pipeline = true;
  else if (strcmp(a, "--list-passes") == 0)
    o->list_passes = true;
  else if (strcmp(a, "-p") == 0 || strcmp(a, "--pass-pipeline") == 0 ||
           strcmp(a, "--load-pass-plugin") == 0) {
    if (*i + 1 >= argc) {
      diag_error(d, NULL, "%s needs a value", a);
      return -1;
    }
    const char *v = argv[++*i];
    if (a[2] == 'l') {
      if (o->nplugins == 16) return -1;
      o->plugins[o->nplugins++] = v;
    } else {
      o->pipeline = v;
      o->pipeline_given = true;
    }
  } else if (strcmp(a, "--target") == 0 || strcmp(a, "--jobs") == 0 || strcmp(a, "-j") == 0) {
    if (*i + 1 >= argc) {
      diag_error(d, NULL, "%s needs a value", a);
      return -1;
    }
    const char *v = argv[++*i];
    if (a[2] == 't')
      o->target = v;
    else if ((o->jobs = atoi(v)) < 1 || o->jobs > 64) {
      diag_error(d, NULL, "%s takes 1 to 64 threads, not '%s'", a, v);
      return -1;
    }
  } else if ((a = flag_val(argv[*i], "--target"))) {
    o->target = a;
  } else if (strcmp(argv[*i], "--assume") == 0 || (a = flag_val(argv[*i], "--assume"))) {
    const char *v = strcmp(argv[*i], "--assume") == 0 ? (*i + 1 < argc ? argv[++*i] : NULL) : a;
    ArchAssume m;
    if (!v || !arch_assume_parse(v, &m)) {
      diag_error(d, NULL, "--assume takes physical or naas, not '%s'", v ? v : "");
      return -1;
    }
    o->assume = (int)m;
  } else if (strcmp(argv[*i], "--precision") == 0 || (a = flag_val(argv[*i], "--precision"))) {
    const char *v = strcmp(argv[*i], "--precision") == 0 ? (*i + 1 < argc ? argv[++*i] : NULL) : a;
    Precision p;
    if (!v) {
      diag_error(d, NULL, "--precision needs a value (e.g. w8a8, w1a1, fp16)");
      return -1;
    }
    if (strcmp(v, "model") != 0 && precision_parse(v, &p, d, "--precision") != RC_OK) return -1;
    o->precision = v;
  } else if ((a = flag_val(argv[*i], "--jobs"))) {
    if ((o->jobs = atoi(a)) < 1 || o->jobs > 64) {
      diag_error(d, NULL, "--jobs takes 1 to 64 threads, not '%s'", a);
      return -1;
    }
  } else if ((a = flag_val(argv[*i], "--pass-pipeline"))) {
    o->pipeline = a;
    o->pipeline_given = true;
  } else if ((a = flag_val(argv[*i], "--load-pass-plugin"))) {
    if (o->nplugins == 16) {
      diag_error(d, NULL, "more than 16 plugins");
      return -1;
    }
    o->plugins[o->nplugins++] = a;
  } else
    return pm_parse_flag(&o->pm, argv[*i], d);
  return 1;
}

Rc driver_setup(const DriverOptions *o, PassRegistry **reg, Pipeline *pl, FILE *out, Diag *d) {
  memset(pl, 0, sizeof *pl);
  *reg = pass_registry_create();
  if (!*reg) return RC_INTERNAL;
  Rc rc = RC_OK;
  for (int i = 0; i < o->nplugins && rc == RC_OK; i++)
    rc = pass_load_plugin(*reg, o->plugins[i], d);
  if (rc == RC_OK && o->list_passes) pass_list(out, *reg);
  if (rc == RC_OK) rc = pipeline_parse(*reg, o->pipeline, pl, d);
  if (rc == RC_OK && o->print_pipeline) pipeline_print(out, pl);
  if (rc != RC_OK) {
    pipeline_free(pl);
    pass_registry_destroy(*reg);
    *reg = NULL;
  }
  return rc;
}

Rc driver_load_target(const DriverOptions *o, Arch *a, Diag *d) {
  if (!o->target) return RC_OK;
  Rc rc = arch_resolve(o->target, a, d); /* a preset, a YAML file, or a validation case */
  if (rc == RC_OK && o->precision && strcmp(o->precision, "model") != 0) {
    Precision p;
    rc = precision_parse(o->precision, &p, d, "--precision");
    if (rc == RC_OK) rc = arch_set_precision(a, &p, d);
  }
  if (rc == RC_OK) arch_assume(a, (ArchAssume)o->assume);
  return rc;
}

Rc pm_verify_before_emit(const PassRegistry *r, const Pipeline *ran, Program *p, Diag *d) {
  if (!p->mod || (ran->n && strcmp(ran->pass[ran->n - 1]->name, "verify") == 0)) return RC_OK;
  Pipeline v;
  Rc rc = pipeline_parse(r, "verify", &v, d);
  PMOptions quiet; /* an implicit check: no instrumentation output of its own */
  pm_options_default(&quiet);
  if (rc == RC_OK) rc = pm_run(&v, p, &quiet, d);
  pipeline_free(&v);
  return rc;
}
