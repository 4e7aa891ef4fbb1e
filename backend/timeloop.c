/*
 * timeloop.c: reads Timeloop specifications (formats v0.3 and v0.4) and
 * Accelergy's energy and area tables into naasc's nouns (docs/timeloop.md).
 *
 * Input: any number of YAML files (or folders of them), whose top-level keys
 * are Timeloop's: `architecture`, `architecture_constraints`, `problem`,
 * `mapping`, `ERT`, `ART`, `variables`, ...  Two architecture forms:
 *   - the tree (v0.3, and v0.4 as Timeloop's front end writes it in
 *     parsed-processed-input.yaml): `subtree`/`local`, instance ranges in
 *     names (`PE[0..167]`), meshX/meshY attributes;
 *   - the v0.4 node list (`nodes:` of !Container, !Component, !Parallel,
 *     !Hierarchical, !Pipelined, !Nothing), flattened exactly as timeloopfe's
 *     v4_to_v3 transpiler does: a container or component with a spatial
 *     fan-out gets a bypass-everything level `inter_NAME_spatial` above it.
 * The problem is a Timeloop problem shape; naasc accepts a shape whose data
 * spaces project like a convolution (roles found from the projections, not
 * from the names), Timeloop's cnn_layer among them.
 *
 * Constraints (the nodes' and the target lists') become the levels' keeps
 * and connectivity and the arch's MapConstraints (factor bounds, partial
 * permutations, min parallelism, one axis per dim), which the mapper keeps
 * (src/mapping/constraints.cpp, src/mapspaces/uber.cpp); a v0.4 node list's
 * get timeloopfe's processing (PermutationOptimizer, Dataspace2Branch).
 * Contradictory constraints, and constraints the problem cannot keep, are
 * errors at the constraint's file:line:column.
 *
 * Semantics follow NVlabs/timeloop (src/model/buffer.cpp ParseSpecs,
 * src/model/topology.cpp ParseTreeSpecs and ParseAccelergyERT,
 * src/mapping/parser.cpp, src/workload/workload.cpp): block = width /
 * word bits, size = depth x block, fill <- write, update <- write, the most
 * expensive argument variant of each ERT action, permutations innermost
 * first, spatial loops before `split` on X.
 *
 * Invariants: every error names file:line:column of the node at fault
 * (Diag), and a file is never partly accepted; sparse specifications
 * (densities below 1, sparse_optimizations) are refused by name, never
 * evaluated as dense; the structs filled are plain data and own nothing.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <yaml.h>

#include "backend/backend.h"

#define TL_MAX_FILES 64
#define TL_MAX_COMPS 16 /* storage levels + the compute level */
#define TL_MAX_DIMS 16  /* dimensions of a problem shape */
#define TL_MAX_CONS 128 /* constraint directives */
#define TL_MAX_SCOPE 12 /* attribute maps a component sees */

/* ---- YAML files and nodes -------------------------------------------------- */

typedef struct {
  char *path;
  yaml_document_t doc;
  bool loaded;
} TlFile;

/* A node and the file it is in (f NULL: none). */
typedef struct {
  TlFile *f;
  yaml_node_t *n;
} Ref;

typedef struct {
  Ref map[TL_MAX_SCOPE]; /* attribute maps, searched first to last */
  int n;
} Scope;

typedef struct {
  char name[ACCEL_NAME_MAX];
  char cls[64];
  Ref node; /* the component (f NULL for a level timeloopfe would add) */
  Scope sc; /* its attributes, then inherited ones */
  int64_t instances, mesh_x, mesh_y;
  bool compute, dummy;
  bool added;  /* a level timeloopfe adds for a fan-out (inter_NAME_spatial) */
  bool branch; /* a branch of a !Parallel: keeps only what its keep lists name */
} Comp;

typedef struct {
  int level;   /* index into the storage levels */
  char type;   /* 't' temporal, 's' spatial, 'b' keep/bypass, 'p' parallelism, 'o' overbooking */
  Ref node;    /* mapping with factors, permutation, split, keep, bypass */
  bool listed; /* from a list of targets (has target and type), not a v0.4 node */
} Cons;

typedef struct {
  Diag *d;
  int nerr;
  TlFile *files;
  int nfiles;
  const char *where; /* names the inputs in messages without a file */
  /* sections */
  Ref arch, problem, mapping, ert, art, variables;
  Ref cons_lists[TL_MAX_FILES];
  int ncons_lists;
  /* the architecture */
  Comp comp[TL_MAX_COMPS];
  int ncomp;
  Cons cons[TL_MAX_CONS];
  int ncons;
  Scope top; /* the top container's attributes (global_cycle_seconds) */
  /* the problem */
  char dname[TL_MAX_DIMS][16];
  int drole[TL_MAX_DIMS]; /* DIM_* or -1 (a dimension of bound 1 with no role) */
  int64_t dbound[TL_MAX_DIMS];
  int ndims;
  char tname[NTENSORS][ACCEL_NAME_MAX];
  bool v4; /* the node-list architecture: timeloopfe processes its constraints */
  TimeloopSpec *s;
} Tl;

static const char *scal(Ref r) {
  return (r.n && r.n->type == YAML_SCALAR_NODE) ? (const char *)r.n->data.scalar.value : NULL;
}

static bool is_map(Ref r) { return r.n && r.n->type == YAML_MAPPING_NODE; }
static bool is_seq(Ref r) { return r.n && r.n->type == YAML_SEQUENCE_NODE; }

static bool is_null(Ref r) {
  const char *s = scal(r);
  return !r.n || (s && r.n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
                  (!*s || strcmp(s, "null") == 0 || strcmp(s, "~") == 0 || strcmp(s, "None") == 0));
}

static int seq_len(Ref r) {
  return is_seq(r) ? (int)(r.n->data.sequence.items.top - r.n->data.sequence.items.start) : 0;
}

static Ref seq_at(Ref r, int i) {
  Ref e = {r.f, yaml_document_get_node(&r.f->doc, r.n->data.sequence.items.start[i])};
  return e;
}

/* Reports an error at node r (file:line:col), or with no place. */
static void err_at(Tl *t, Ref r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void err_at(Tl *t, Ref r, const char *fmt, ...) {
  char where[32], msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  const char *saved = t->d->file;
  if (r.f && r.n) {
    t->d->file = r.f->path;
    snprintf(where, sizeof where, "%zu:%zu", r.n->start_mark.line + 1, r.n->start_mark.column + 1);
    diag_error(t->d, where, "%s", msg);
  } else {
    if (t->where) t->d->file = t->where;
    diag_error(t->d, NULL, "%s", msg);
  }
  t->d->file = saved;
  t->nerr++;
}

/* Keys compare with '-' and '_' alike (Timeloop's hyphens-to-underscores). */
static bool key_eq(const char *a, const char *b) {
  for (; *a && *b; a++, b++)
    if (*a != *b && !((*a == '-' || *a == '_') && (*b == '-' || *b == '_'))) return false;
  return *a == *b;
}

/* The value of key in mapping m, looking through YAML merge keys (<<). */
static Ref get_depth(Ref m, const char *key, Ref *keynode, int depth) {
  Ref none = {NULL, NULL};
  if (!is_map(m) || !key || depth > 8) return none;
  yaml_node_pair_t *pr;
  for (pr = m.n->data.mapping.pairs.start; pr < m.n->data.mapping.pairs.top; pr++) {
    Ref k = {m.f, yaml_document_get_node(&m.f->doc, pr->key)};
    const char *ks = scal(k);
    if (ks && key_eq(ks, key)) {
      if (keynode) *keynode = k;
      Ref v = {m.f, yaml_document_get_node(&m.f->doc, pr->value)};
      return v;
    }
  }
  for (pr = m.n->data.mapping.pairs.start; pr < m.n->data.mapping.pairs.top; pr++) {
    Ref k = {m.f, yaml_document_get_node(&m.f->doc, pr->key)};
    const char *ks = scal(k);
    if (!ks || strcmp(ks, "<<") != 0) continue;
    Ref v = {m.f, yaml_document_get_node(&m.f->doc, pr->value)};
    if (is_map(v)) {
      Ref r = get_depth(v, key, keynode, depth + 1);
      if (r.n) return r;
    }
    for (int i = 0; i < seq_len(v); i++) {
      Ref r = get_depth(seq_at(v, i), key, keynode, depth + 1);
      if (r.n) return r;
    }
  }
  return none;
}

static Ref get(Ref m, const char *key) { return get_depth(m, key, NULL, 0); }

/* A present, non-null value of key. */
static Ref getv(Ref m, const char *key) {
  Ref r = get(m, key);
  if (is_null(r)) r.n = NULL;
  return r;
}

/* ---- expressions -------------------------------------------------------------
 * Attribute values may be numbers, names of other attributes or variables,
 * or arithmetic over them (timeloopfe evaluates the same Python-like
 * expressions): + - * / // % **, parentheses, min max ceil floor round abs
 * log2 log sqrt int. */

typedef struct {
  Tl *t;
  const Scope *sc;
  const char *p;
  int depth;
  const char *bad; /* why it failed, NULL if ok */
  char name[64];
} Ex;

static bool resolve(Tl *t, const Scope *sc, const char *name, int depth, double *out,
                    const char **why);
static double ex_sum(Ex *e);

static void ex_ws(Ex *e) {
  while (*e->p == ' ' || *e->p == '\t') e->p++;
}

static double ex_primary(Ex *e) {
  ex_ws(e);
  if (e->bad) return 0;
  if (*e->p == '(') {
    e->p++;
    double v = ex_sum(e);
    ex_ws(e);
    if (*e->p != ')')
      e->bad = "expected ')'";
    else
      e->p++;
    return v;
  }
  if (*e->p == '-' || *e->p == '+') {
    bool neg = *e->p++ == '-';
    double v = ex_primary(e);
    return neg ? -v : v;
  }
  if (isdigit((unsigned char)*e->p) || *e->p == '.') {
    char *end;
    double v = strtod(e->p, &end);
    if (end == e->p) e->bad = "not a number";
    e->p = end;
    return v;
  }
  if (isalpha((unsigned char)*e->p) || *e->p == '_') {
    size_t n = 0;
    while (isalnum((unsigned char)e->p[n]) || e->p[n] == '_') n++;
    if (n >= sizeof e->name) {
      e->bad = "name too long";
      return 0;
    }
    char id[64];
    memcpy(id, e->p, n);
    id[n] = 0;
    e->p += n;
    ex_ws(e);
    if (*e->p == '(') { /* a function */
      static const char *const fns[] = {"min",  "max", "ceil", "floor", "round", "abs",
                                        "log2", "log", "sqrt", "int",   NULL};
      int fi = -1;
      for (int i = 0; fns[i]; i++)
        if (strcmp(id, fns[i]) == 0) fi = i;
      if (fi < 0) {
        snprintf(e->name, sizeof e->name, "%s", id);
        e->bad = "unknown function";
        return 0;
      }
      e->p++;
      double a[8];
      int na = 0;
      for (;;) {
        double v = ex_sum(e);
        if (e->bad) return 0;
        if (na < 8) a[na++] = v;
        ex_ws(e);
        if (*e->p == ',') {
          e->p++;
          continue;
        }
        if (*e->p == ')') {
          e->p++;
          break;
        }
        e->bad = "expected ',' or ')'";
        return 0;
      }
      if (fi > 1 && na != 1) {
        e->bad = "a function of one argument";
        return 0;
      }
      double v = a[0];
      switch (fi) {
      case 0:
        for (int i = 1; i < na; i++) v = fmin(v, a[i]);
        return v;
      case 1:
        for (int i = 1; i < na; i++) v = fmax(v, a[i]);
        return v;
      case 2: return ceil(v);
      case 3: return floor(v);
      case 4: return round(v);
      case 5: return fabs(v);
      case 6: return log2(v);
      case 7: return log(v);
      case 8: return sqrt(v);
      default: return trunc(v);
      }
    }
    if (strcmp(id, "True") == 0 || strcmp(id, "true") == 0) return 1;
    if (strcmp(id, "False") == 0 || strcmp(id, "false") == 0) return 0;
    double v = 0;
    const char *why = NULL;
    if (!resolve(e->t, e->sc, id, e->depth + 1, &v, &why)) {
      snprintf(e->name, sizeof e->name, "%s", id);
      e->bad = why ? why : "unknown name";
    }
    return v;
  }
  e->bad = "not a number or an expression naasc reads";
  return 0;
}

static double ex_power(Ex *e) {
  double v = ex_primary(e);
  ex_ws(e);
  if (!e->bad && e->p[0] == '*' && e->p[1] == '*') {
    e->p += 2;
    v = pow(v, ex_power(e));
  }
  return v;
}

static double ex_term(Ex *e) {
  double v = ex_power(e);
  for (;;) {
    ex_ws(e);
    if (e->bad) return v;
    if (e->p[0] == '/' && e->p[1] == '/') {
      e->p += 2;
      double r = ex_power(e);
      v = r ? floor(v / r) : (e->bad = "division by zero", 0);
    } else if (*e->p == '*' && e->p[1] != '*') {
      e->p++;
      v *= ex_power(e);
    } else if (*e->p == '/') {
      e->p++;
      double r = ex_power(e);
      v = r ? v / r : (e->bad = "division by zero", 0);
    } else if (*e->p == '%') {
      e->p++;
      double r = ex_power(e);
      v = r ? fmod(v, r) : (e->bad = "division by zero", 0);
    } else {
      return v;
    }
  }
}

static double ex_sum(Ex *e) {
  double v = ex_term(e);
  for (;;) {
    ex_ws(e);
    if (e->bad) return v;
    if (*e->p == '+')
      e->p++, v += ex_term(e);
    else if (*e->p == '-')
      e->p++, v -= ex_term(e);
    else
      return v;
  }
}

/* Evaluates scalar text s; false (with *why) if it is not a number. */
static bool eval_text(Tl *t, const Scope *sc, const char *s, int depth, double *out,
                      const char **why, char *name, size_t namesz) {
  Ex e = {t, sc, s, depth, NULL, ""};
  if (depth > 16) {
    *why = "names refer to each other in a cycle";
    return false;
  }
  double v = ex_sum(&e);
  ex_ws(&e);
  if (!e.bad && *e.p) e.bad = "not a number or an expression naasc reads";
  if (e.bad) {
    *why = e.bad;
    if (name && e.name[0]) snprintf(name, namesz, "%s", e.name);
    return false;
  }
  if (!isfinite(v)) {
    *why = "not finite";
    return false;
  }
  *out = v;
  return true;
}

/* The value of name in scope sc (then the top-level variables). */
static bool resolve(Tl *t, const Scope *sc, const char *name, int depth, double *out,
                    const char **why) {
  for (int i = 0; sc && i <= sc->n; i++) {
    Ref m = i < sc->n ? sc->map[i] : t->variables;
    Ref v = getv(m, name);
    const char *s = scal(v);
    if (!v.n) continue;
    if (!s) {
      *why = "names a value that is not a number";
      return false;
    }
    /* the rest of the scope for the value: a name refers outwards only from
     * the map it is found in onwards */
    Scope rest = {{{0}}, 0};
    for (int k = i; sc && k < sc->n; k++) rest.map[rest.n++] = sc->map[k];
    return eval_text(t, &rest, s, depth, out, why, NULL, 0);
  }
  *why = "unknown name";
  return false;
}

/* A number at r (a scalar or an expression); reported unless ok. */
static bool num_at(Tl *t, Ref r, const Scope *sc, const char *what, double *out) {
  const char *s = scal(r), *why = NULL;
  char name[64] = "";
  if (!s) {
    err_at(t, r, "'%s': expected a number", what);
    return false;
  }
  if (eval_text(t, sc, s, 0, out, &why, name, sizeof name)) return true;
  if (name[0])
    err_at(t, r, "'%s': '%s': %s '%s'", what, s, why, name);
  else
    err_at(t, r, "'%s': '%s': %s", what, s, why);
  return false;
}

static bool int_at(Tl *t, Ref r, const Scope *sc, const char *what, int64_t *out) {
  double v;
  if (!num_at(t, r, sc, what, &v)) return false;
  if (v != floor(v) || fabs(v) > 9e15) {
    err_at(t, r, "'%s': expected an integer, not %g", what, v);
    return false;
  }
  *out = (int64_t)v;
  return true;
}

static bool is_true(const char *s) {
  return s && (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 || strcmp(s, "yes") == 0 ||
               strcmp(s, "1") == 0);
}

/* ---- files ------------------------------------------------------------------- */

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && strcmp(s + n - k, suffix) == 0;
}

static bool is_dir(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Tags a v0.4 architecture may carry; any other explicit tag is refused. */
static const char *const arch_tags[] = {"!Container", "!Component", "!Parallel", "!Hierarchical",
                                        "!Pipelined", "!Nothing",   NULL};

static bool custom_tag(const yaml_node_t *n) {
  return n->tag && strncmp((const char *)n->tag, "tag:yaml.org,2002:", 18) != 0;
}

/* Loads path as one more file; reports YAML errors and unsupported tags. */
static TlFile *file_load(Tl *t, const char *path) {
  if (t->nfiles >= TL_MAX_FILES) {
    err_at(t, (Ref){0}, "more than %d Timeloop input files", TL_MAX_FILES);
    return NULL;
  }
  TlFile *f = &t->files[t->nfiles];
  memset(f, 0, sizeof *f);
  size_t n = strlen(path);
  f->path = xmalloc(n + 1);
  if (!f->path) {
    err_at(t, (Ref){0}, "out of memory");
    return NULL;
  }
  memcpy(f->path, path, n + 1);
  t->nfiles++;
  const char *saved = t->d->file;
  t->d->file = f->path;
  FILE *in = fopen(path, "rb");
  yaml_parser_t parser;
  if (!in) {
    diag_error(t->d, NULL, "cannot open: %s", strerror(errno));
    t->nerr++;
    t->d->file = saved;
    return NULL;
  }
  if (!yaml_parser_initialize(&parser)) {
    fclose(in);
    diag_error(t->d, NULL, "cannot initialise the YAML parser");
    t->nerr++;
    t->d->file = saved;
    return NULL;
  }
  yaml_parser_set_input_file(&parser, in);
  if (!yaml_parser_load(&parser, &f->doc)) {
    char where[32];
    snprintf(where, sizeof where, "%zu:%zu", parser.problem_mark.line + 1,
             parser.problem_mark.column + 1);
    diag_error(t->d, where, "not valid YAML: %s%s%s", parser.problem ? parser.problem : "?",
               parser.context ? " " : "", parser.context ? parser.context : "");
    t->nerr++;
  } else {
    f->loaded = true;
  }
  yaml_parser_delete(&parser);
  fclose(in);
  t->d->file = saved;
  if (!f->loaded) return NULL;
  yaml_node_t *root = yaml_document_get_root_node(&f->doc);
  if (!root || root->type != YAML_MAPPING_NODE) {
    Ref r = {f, root};
    err_at(
        t, r,
        "expected a mapping of Timeloop sections (architecture, problem, mapping, ...) at the top");
    return NULL;
  }
  for (yaml_node_t *nd = f->doc.nodes.start; nd < f->doc.nodes.top; nd++) {
    if (nd->type ==
        YAML_MAPPING_NODE) /* a key given twice: YAML forbids it, timeloopfe refuses it */
      for (yaml_node_pair_t *a = nd->data.mapping.pairs.start; a < nd->data.mapping.pairs.top; a++)
        for (yaml_node_pair_t *b = nd->data.mapping.pairs.start; b < a; b++) {
          Ref ka = {f, yaml_document_get_node(&f->doc, a->key)},
              kb = {f, yaml_document_get_node(&f->doc, b->key)};
          if (scal(ka) && scal(kb) && key_eq(scal(ka), scal(kb)) && strcmp(scal(ka), "<<") != 0) {
            err_at(t, ka, "key '%s' given twice in one mapping (first at line %zu)", scal(ka),
                   kb.n->start_mark.line + 1);
            break;
          }
        }
    if (!custom_tag(nd)) continue;
    bool ok = false;
    for (int i = 0; arch_tags[i]; i++)
      if (strcmp((const char *)nd->tag, arch_tags[i]) == 0) ok = true;
    if (!ok) {
      Ref r = {f, nd};
      err_at(t, r,
             "unsupported YAML tag '%s' (a Timeloop v0.4 architecture uses !Container, "
             "!Component, !Parallel, !Hierarchical, !Pipelined and !Nothing)",
             (const char *)nd->tag);
    }
  }
  return f;
}

static void files_free(Tl *t) {
  for (int i = 0; i < t->nfiles; i++) {
    if (t->files[i].loaded) yaml_document_delete(&t->files[i].doc);
    xfree(t->files[i].path);
  }
  xfree(t->files);
  t->files = NULL;
  t->nfiles = 0;
}

/* Sets *slot to the section v of file f, unless another file gave it. */
static void section(Tl *t, Ref *slot, Ref key, Ref v, const char *name) {
  if (slot->n) {
    err_at(t, key, "'%s' is given twice (also at %s:%zu)", name, slot->f->path,
           slot->n->start_mark.line + 1);
    return;
  }
  *slot = v;
}

/* Files given as a folder: its Timeloop inputs, in name order. */
static int name_cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

typedef struct {
  char *p[TL_MAX_FILES];
  int n;
} PathList;

static void paths_free(PathList *pl) {
  for (int i = 0; i < pl->n; i++) xfree(pl->p[i]);
  pl->n = 0;
}

static bool paths_add(Tl *t, PathList *pl, const char *dir, const char *name) {
  if (pl->n >= TL_MAX_FILES) {
    err_at(t, (Ref){0}, "more than %d Timeloop input files", TL_MAX_FILES);
    return false;
  }
  size_t n = strlen(dir) + strlen(name) + 2;
  char *s = xmalloc(n);
  if (!s) return false;
  if (dir[0])
    snprintf(s, n, "%s%s%s", dir, ends_with(dir, "/") ? "" : "/", name);
  else
    snprintf(s, n, "%s", name);
  pl->p[pl->n++] = s;
  return true;
}

/* Timeloop writes these beside its inputs; a folder's listing skips them. */
static bool is_output_yaml(const char *name) {
  return ends_with(name, "_summary.yaml") || ends_with(name, ".flattened_architecture.yaml") ||
         ends_with(name, ".accelergy.log");
}

/* The names in dir, sorted (caller frees). */
static int list_dir(Tl *t, const char *dir, char ***names) {
  DIR *dh = opendir(dir);
  *names = NULL;
  if (!dh) {
    err_at(t, (Ref){0}, "%s: cannot open the folder: %s", dir, strerror(errno));
    return -1;
  }
  int n = 0, cap = 0;
  struct dirent *de;
  while ((de = readdir(dh))) {
    if (de->d_name[0] == '.') continue;
    if (n == cap) {
      cap = cap ? 2 * cap : 32;
      char **g = xrealloc(*names, (size_t)cap * sizeof *g);
      if (!g) break;
      *names = g;
    }
    size_t k = strlen(de->d_name);
    (*names)[n] = xmalloc(k + 1);
    if (!(*names)[n]) break;
    memcpy((*names)[n++], de->d_name, k + 1);
  }
  closedir(dh);
  if (n) qsort(*names, (size_t)n, sizeof **names, name_cmp);
  return n;
}

static void names_free(char **names, int n) {
  for (int i = 0; i < n; i++) xfree(names[i]);
  xfree(names);
}

/* Expands a folder: with Timeloop's parsed-processed-input.yaml, that file and
 * the one *.map.yaml, *.ERT.yaml, *.ART.yaml and *.stats.txt beside it;
 * otherwise every YAML file (.yaml, .yml) that is not a Timeloop output,
 * and the *.stats.txt. */
static bool expand_dir(Tl *t, const char *dir, PathList *pl, char *stats, size_t statsz) {
  char **names;
  int n = list_dir(t, dir, &names);
  if (n < 0) return false;
  bool processed = false, ok = true;
  for (int i = 0; i < n; i++)
    if (strcmp(names[i], "parsed-processed-input.yaml") == 0) processed = true;
  static const char *const one_of[] = {".map.yaml", ".ERT.yaml", ".ART.yaml", ".stats.txt"};
  const char *seen[4] = {NULL, NULL, NULL, NULL};
  for (int i = 0; i < n && ok; i++) {
    const char *nm = names[i];
    int kind = -1;
    for (int k = 0; k < 4; k++)
      if (ends_with(nm, one_of[k])) kind = k;
    if (kind >= 0) {
      if (seen[kind]) {
        err_at(t, (Ref){0}, "%s: two *%s files (%s and %s): name the one to read", dir,
               one_of[kind], seen[kind], nm);
        ok = false;
        break;
      }
      seen[kind] = nm;
      if (kind == 3) {
        snprintf(stats, statsz, "%s%s%s", dir, ends_with(dir, "/") ? "" : "/", nm);
        continue;
      }
      if (processed || !is_output_yaml(nm)) ok = paths_add(t, pl, dir, nm);
      continue;
    }
    bool yaml = ends_with(nm, ".yaml") || ends_with(nm, ".yml");
    if (!yaml || is_output_yaml(nm)) continue;
    if (processed && strcmp(nm, "parsed-processed-input.yaml") != 0) continue;
    char full[4096];
    snprintf(full, sizeof full, "%s/%s", dir, nm);
    if (is_dir(full)) continue;
    ok = paths_add(t, pl, dir, nm);
  }
  names_free(names, n);
  return ok;
}

/* Reads the top-level sections of every loaded file. */
static void read_sections(Tl *t, TlFile *f) {
  static const char *const ignored[] = {"compound_components",
                                        "components",
                                        "mapper",
                                        "mapspace",
                                        "globals",
                                        "dumped_by_timeloop_front_end",
                                        "ERT_summary",
                                        "ART_summary",
                                        "model",
                                        "version",
                                        "environment_variables",
                                        "mapper_constraints",
                                        "timeloop_front_end",
                                        NULL};
  Ref root = {f, yaml_document_get_root_node(&f->doc)};
  Ref nk = {NULL, NULL};
  if (get_depth(root, "levels", &nk, 0).n ||
      get_depth(root, "dims", &nk, 0).n) { /* naasc's own formats */
    bool prob = key_eq(scal(nk), "dims");
    err_at(t, nk, "'%s': this is a naasc %s file, not a Timeloop specification (give it with %s)",
           scal(nk), prob ? "problem" : "architecture or mapping",
           prob ? "--problem" : "--arch or --mapping");
    return;
  }
  for (yaml_node_pair_t *pr = root.n->data.mapping.pairs.start; pr < root.n->data.mapping.pairs.top;
       pr++) {
    Ref k = {f, yaml_document_get_node(&f->doc, pr->key)};
    Ref v = {f, yaml_document_get_node(&f->doc, pr->value)};
    const char *ks = scal(k);
    if (!ks) {
      err_at(t, k, "expected a section name");
      continue;
    }
    bool skip = false;
    for (int i = 0; ignored[i]; i++)
      if (key_eq(ks, ignored[i])) skip = true;
    if (skip) continue;
    if (key_eq(ks, "architecture")) {
      section(t, &t->arch, k, v, ks);
    } else if (key_eq(ks, "problem")) {
      section(t, &t->problem, k, v, ks);
    } else if (key_eq(ks, "mapping")) {
      if (seq_len(v) == 0 && (is_seq(v) || is_null(v))) continue; /* `mapping: []` */
      section(t, &t->mapping, k, v, ks);
    } else if (strcmp(ks, "ERT") == 0) {
      section(t, &t->ert, k, v, ks);
    } else if (strcmp(ks, "ART") == 0) {
      section(t, &t->art, k, v, ks);
    } else if (key_eq(ks, "variables")) {
      section(t, &t->variables, k, v, ks);
    } else if (key_eq(ks, "architecture_constraints") || key_eq(ks, "mapspace_constraints") ||
               key_eq(ks, "constraints") || key_eq(ks, "extra_mapping_constraints")) {
      if (t->ncons_lists < TL_MAX_FILES) t->cons_lists[t->ncons_lists++] = v;
    } else if (key_eq(ks, "sparse_optimizations")) {
      Ref tg = getv(v, "targets");
      if (seq_len(tg) > 0 || (is_seq(v) && seq_len(v) > 0))
        err_at(t, k,
               "'sparse_optimizations': a sparse (Sparseloop) specification: naasc's cost model is "
               "dense and does not model sparsity, gating, skipping or compressed formats");
    } else {
      err_at(t, k,
             "unknown Timeloop section '%s' (naasc reads architecture, "
             "architecture_constraints, problem, mapping, variables, ERT and ART)",
             ks);
    }
  }
}

/* ---- names ------------------------------------------------------------------- */

/* "PE[0..167]" -> 168 (and "PE" into base); 1 without a range; 0 if malformed. */
static int64_t name_range(const char *name, char *base, size_t basesz) {
  const char *lb = strchr(name, '[');
  size_t n = lb ? (size_t)(lb - name) : strlen(name);
  while (n > 0 && name[n - 1] == ' ') n--;
  if (n >= basesz) n = basesz - 1;
  memcpy(base, name, n);
  base[n] = 0;
  if (!lb) return 1;
  char *end;
  long long lo = strtoll(lb + 1, &end, 10);
  if (end[0] != '.' || end[1] != '.') return 0;
  long long hi = strtoll(end + 2, &end, 10);
  if (*end != ']' || hi < lo) return 0;
  return hi - lo + 1;
}

/* The component name an ERT/ART entry is about ("system.PE[0..3].mac" -> "mac"). */
static void table_component(const char *full, char *out, size_t n) {
  char tmp[256];
  snprintf(tmp, sizeof tmp, "%s", full);
  size_t len = strlen(tmp);
  if (len && tmp[len - 1] == ']') { /* strip a trailing range */
    char *lb = strrchr(tmp, '[');
    if (lb) *lb = 0;
  }
  const char *dot = strrchr(tmp, '.');
  snprintf(out, n, "%s", dot ? dot + 1 : tmp);
}

/* ---- problem ------------------------------------------------------------------- */

typedef struct {
  int dim[2];  /* indices into Tl's dims; -1 none */
  Ref coef[2]; /* coefficient names (scalar) or none */
  int nterms;
  Ref node;
} Term;

typedef struct {
  char name[ACCEL_NAME_MAX];
  bool rw;
  Term e[8];
  int n;
  Ref node;
} Space;

static int dim_index(Tl *t, const char *name) {
  for (int i = 0; i < t->ndims; i++)
    if (strcmp(t->dname[i], name) == 0) return i;
  return -1;
}

/* Timeloop's cnn_layer shape (problem-shapes/cnn_layer.yaml), built in. */
static const char cnn_layer_yaml[] =
    "shape:\n"
    "  name: CNN_Layer\n"
    "  dimensions: [C, M, R, S, N, P, Q]\n"
    "  coefficients:\n"
    "  - {name: Wstride, default: 1}\n"
    "  - {name: Hstride, default: 1}\n"
    "  - {name: Wdilation, default: 1}\n"
    "  - {name: Hdilation, default: 1}\n"
    "  data_spaces:\n"
    "  - name: Weights\n"
    "    projection: [[[C]], [[M]], [[R]], [[S]]]\n"
    "  - name: Inputs\n"
    "    projection: [[[N]], [[C]], [[R, Wdilation], [P, Wstride]], [[S, Hdilation], [Q, Hstride]]]\n"
    "  - name: Outputs\n"
    "    projection: [[[N]], [[M]], [[Q]], [[P]]]\n"
    "    read_write: true\n";

/* Loads the built-in shape as one more file named "<built-in cnn_layer>". */
static Ref builtin_shape(Tl *t) {
  Ref none = {NULL, NULL};
  if (t->nfiles >= TL_MAX_FILES) return none;
  TlFile *f = &t->files[t->nfiles];
  memset(f, 0, sizeof *f);
  const char *nm = "<Timeloop's cnn_layer shape>";
  f->path = xmalloc(strlen(nm) + 1);
  if (!f->path) return none;
  strcpy(f->path, nm);
  t->nfiles++;
  yaml_parser_t parser;
  if (!yaml_parser_initialize(&parser)) return none;
  yaml_parser_set_input_string(&parser, (const unsigned char *)cnn_layer_yaml,
                               sizeof cnn_layer_yaml - 1);
  f->loaded = yaml_parser_load(&parser, &f->doc);
  yaml_parser_delete(&parser);
  if (!f->loaded) return none;
  Ref root = {f, yaml_document_get_root_node(&f->doc)};
  return get(root, "shape");
}

/* Reads one data space's projection: a list of dimensions, each a list of
 * terms [dim] or [dim, coefficient]. */
static bool read_space(Tl *t, Ref ds, Space *sp, Ref coefs) {
  memset(sp, 0, sizeof *sp);
  sp->node = ds;
  const char *nm = scal(getv(ds, "name"));
  if (!is_map(ds) || !nm) {
    err_at(t, ds, "'data_spaces': each entry needs a name and a projection");
    return false;
  }
  snprintf(sp->name, sizeof sp->name, "%s", nm);
  sp->rw = is_true(scal(getv(ds, "read_write")));
  Ref pj = getv(ds, "projection");
  if (!is_seq(pj)) {
    err_at(t, pj.n ? pj : ds, "data space '%s': 'projection' must be a list of dimensions", nm);
    return false;
  }
  if (seq_len(pj) > 8) {
    err_at(t, pj, "data space '%s': more than 8 dimensions", nm);
    return false;
  }
  for (int i = 0; i < seq_len(pj); i++) {
    Ref dim = seq_at(pj, i);
    Term *e = &sp->e[sp->n++];
    e->node = dim;
    e->dim[0] = e->dim[1] = -1;
    if (!is_seq(dim) || seq_len(dim) < 1 || seq_len(dim) > 2) {
      err_at(t, dim,
             "data space '%s': a projected dimension is a list of one or two terms such as "
             "[[R, Wdilation], [P, Wstride]]",
             nm);
      return false;
    }
    e->nterms = seq_len(dim);
    for (int k = 0; k < e->nterms; k++) {
      Ref term = seq_at(dim, k);
      if (!is_seq(term) || seq_len(term) < 1 || seq_len(term) > 2 || !scal(seq_at(term, 0))) {
        err_at(t, term, "data space '%s': a term is [DIMENSION] or [DIMENSION, COEFFICIENT]", nm);
        return false;
      }
      const char *dn = scal(seq_at(term, 0));
      e->dim[k] = dim_index(t, dn);
      if (e->dim[k] < 0) {
        err_at(t, seq_at(term, 0), "data space '%s': '%s' is not one of the shape's dimensions", nm,
               dn);
        return false;
      }
      if (seq_len(term) == 2) {
        Ref c = seq_at(term, 1);
        const char *cn = scal(c);
        if (!cn) {
          err_at(t, c, "data space '%s': a coefficient is a name from 'coefficients' or a number",
                 nm);
          return false;
        }
        bool known = false;
        for (int j = 0; j < seq_len(coefs); j++) {
          const char *dn2 = scal(getv(seq_at(coefs, j), "name"));
          known |= dn2 && strcmp(cn, dn2) == 0;
        }
        char *end;
        if (!known) { /* else a literal number */
          strtod(cn, &end);
          if (*end || end == cn) {
            err_at(t, c, "data space '%s': coefficient '%s' is not declared in 'coefficients'", nm,
                   cn);
            return false;
          }
        }
        e->coef[k] = c;
      }
    }
  }
  return true;
}

/* The value of a coefficient (a name from `coefficients`, set in the instance
 * or by its default, or a literal number); 1 without one. */
static bool coef_value(Tl *t, Ref c, Ref coefs, Ref inst, int64_t *out) {
  *out = 1;
  const char *cn = scal(c);
  if (!c.n) return true;
  if (!cn) return int_at(t, c, NULL, "coefficient", out); /* not a scalar: its error */
  Ref v = getv(inst, cn);
  if (v.n) return int_at(t, v, NULL, cn, out);
  for (int j = 0; j < seq_len(coefs); j++) {
    Ref cj = seq_at(coefs, j);
    const char *nj = scal(getv(cj, "name"));
    if (nj && strcmp(nj, cn) == 0) {
      Ref dv = getv(cj, "default");
      return dv.n ? int_at(t, dv, NULL, cn, out) : true;
    }
  }
  return int_at(t, c, NULL, "coefficient", out);
}

/* Assigns convolution roles to the shape's dimensions, with w and i the
 * read-only spaces taken as weights and inputs.  0 on success, else a
 * static reason (and *at the node it is about). */
static const char *match_conv(Tl *t, const Space *w, const Space *in, const Space *o, int role[],
                              Ref *at, int axis_pair[2][2]) {
  bool inW[TL_MAX_DIMS] = {0}, inO[TL_MAX_DIMS] = {0}, inI[TL_MAX_DIMS] = {0},
       slid[TL_MAX_DIMS] = {0};
  for (int i = 0; i < t->ndims; i++) role[i] = -1;
  const Space *wo[2] = {w, o};
  for (int k = 0; k < 2; k++)
    for (int j = 0; j < wo[k]->n; j++) {
      const Term *e = &wo[k]->e[j];
      if (e->nterms != 1 || e->coef[0].n) {
        *at = e->node;
        return k ? "an output is indexed by one dimension per axis, without coefficients"
                 : "a weight is indexed by one dimension per axis, without coefficients";
      }
      (k ? inO : inW)[e->dim[0]] = true;
    }
  int npairs = 0;
  for (int j = 0; j < in->n; j++) {
    const Term *e = &in->e[j];
    if (e->nterms == 1) {
      if (e->coef[0].n) {
        *at = e->node;
        return "an input axis of one term has a coefficient (naasc reads strides only in sliding windows)";
      }
      inI[e->dim[0]] = true;
      continue;
    }
    if (npairs == 2) {
      *at = e->node;
      return "more than two sliding-window axes";
    }
    int a = e->dim[0], b = e->dim[1];
    /* the filter-like term is in the weights, the output-like one in the outputs */
    int r = (inW[a] && !inO[a] && inO[b] && !inW[b])   ? 0
            : (inW[b] && !inO[b] && inO[a] && !inW[a]) ? 1
                                                       : -1;
    if (r < 0) {
      *at = e->node;
      return "a sliding-window axis must add a weight dimension and an output dimension";
    }
    axis_pair[npairs][0] = r ? 1 : 0; /* which term is the filter (R-like) one */
    axis_pair[npairs][1] = j;
    slid[a] = slid[b] = true;
    role[e->dim[r]] = npairs ? DIM_S : DIM_R;
    role[e->dim[1 - r]] = npairs ? DIM_Q : DIM_P;
    npairs++;
  }
  for (int j = npairs; j < 2; j++) axis_pair[j][1] = -1;
  bool taken[NDIMS] = {0};
  for (int d = 0; d < t->ndims; d++)
    if (role[d] >= 0) taken[role[d]] = true;
  for (int d = 0; d < t->ndims; d++) {
    if (slid[d]) {
      if (inI[d]) {
        *at = in->node;
        return "a sliding-window dimension also indexes the input alone";
      }
      continue;
    }
    int r = -1;
    if (inW[d] && inI[d] && inO[d])
      r = DIM_G;
    else if (inW[d] && inO[d] && !inI[d])
      r = DIM_K;
    else if (inW[d] && inI[d] && !inO[d])
      r = DIM_C;
    else if (inI[d] && inO[d] && !inW[d])
      r = DIM_N;
    if (r >= 0 && !taken[r]) {
      role[d] = r;
      taken[r] = true;
    } else if (t->dbound[d] != 1) {
      *at = o->node;
      static char why[160];
      snprintf(why, sizeof why,
               r < 0 ? "dimension %s (bound %lld) has no place in a convolution"
                     : "dimension %s (bound %lld) repeats the role of another dimension",
               t->dname[d], (long long)t->dbound[d]);
      return why;
    }
  }
  return NULL;
}

static void read_problem(Tl *t) {
  Ref p = t->problem;
  Problem *pr = &t->s->problem;
  if (!is_map(p)) {
    err_at(t, p, "'problem' must be a mapping with shape and instance");
    return;
  }
  Ref ver = getv(p, "version");
  if (ver.n && scal(ver) && strcmp(scal(ver), "0.3") != 0 && strcmp(scal(ver), "0.4") != 0) {
    err_at(t, ver, "'problem.version': %s: naasc reads Timeloop specifications v0.3 and v0.4",
           scal(ver));
    return;
  }
  Ref shape = getv(p, "shape");
  const char *sname = scal(shape);
  if (!shape.n || (sname && (key_eq(sname, "cnn_layer") || key_eq(sname, "cnn-layer") ||
                             strcmp(sname, "CNN-Layer") == 0))) {
    shape = builtin_shape(t);
  } else if (sname) {
    err_at(
        t, shape,
        "problem shape '%s': naasc knows only Timeloop's cnn_layer by name; give the shape inline "
        "(dimensions, coefficients, data_spaces)",
        sname);
    return;
  }
  if (!is_map(shape)) {
    err_at(t, shape, "'problem.shape': expected a mapping (dimensions, coefficients, data_spaces)");
    return;
  }
  const char *nm = scal(getv(shape, "name"));
  snprintf(pr->name, sizeof pr->name, "%s", nm ? nm : "problem");
  Ref dims = getv(shape, "dimensions");
  if (!is_seq(dims) || seq_len(dims) < 1 || seq_len(dims) > TL_MAX_DIMS) {
    err_at(t, dims.n ? dims : shape, "'problem.shape.dimensions': expected a list of 1 to %d names",
           TL_MAX_DIMS);
    return;
  }
  t->ndims = seq_len(dims);
  for (int i = 0; i < t->ndims; i++) {
    const char *dn = scal(seq_at(dims, i));
    if (!dn || !*dn || strlen(dn) >= sizeof t->dname[i] || dim_index(t, dn) >= 0) {
      err_at(t, seq_at(dims, i), "'problem.shape.dimensions': expected distinct names");
      return;
    }
    snprintf(t->dname[i], sizeof t->dname[i], "%s", dn);
  }
  /* Bounds: under `instance`, or (older files) directly under `problem`. */
  Ref inst = getv(p, "instance");
  if (!inst.n) inst = p;
  for (int i = 0; i < t->ndims; i++) {
    Ref b = getv(inst, t->dname[i]);
    if (!b.n) {
      err_at(t, inst, "problem instance: missing the bound of dimension '%s'", t->dname[i]);
      return;
    }
    if (!int_at(t, b, NULL, t->dname[i], &t->dbound[i])) return;
    if (t->dbound[i] < 1) {
      err_at(t, b, "problem instance: dimension '%s' must be at least 1", t->dname[i]);
      return;
    }
  }
  /* Sparsity: a density below 1 is a sparse workload. */
  Ref dens = getv(inst, "densities"), common = getv(inst, "commonDensity");
  if (common.n) {
    double v = 1;
    Ref dv = is_map(common) ? getv(common, "density") : common;
    if (!dv.n || !num_at(t, dv, NULL, "commonDensity", &v) || v < 1) {
      err_at(t, common,
             "'commonDensity': a sparse workload: naasc's cost model is dense and does not model "
             "sparsity");
      return;
    }
  }
  if (is_map(dens))
    for (yaml_node_pair_t *pr2 = dens.n->data.mapping.pairs.start;
         pr2 < dens.n->data.mapping.pairs.top; pr2++) {
      Ref k = {dens.f, yaml_document_get_node(&dens.f->doc, pr2->key)};
      Ref v = {dens.f, yaml_document_get_node(&dens.f->doc, pr2->value)};
      Ref dv = is_map(v) ? getv(v, "density") : v;
      double x = 1;
      if (dv.n && scal(dv) && !num_at(t, dv, NULL, "density", &x)) return;
      if (x < 1) {
        err_at(
            t, k,
            "'densities': data space '%s' has density %g: a sparse workload; naasc's cost model is "
            "dense and does not model sparsity",
            scal(k) ? scal(k) : "?", x);
        return;
      }
    }
  Ref coefs = getv(shape, "coefficients");
  Ref dss = getv(shape, "data_spaces");
  if (!is_seq(dss) || seq_len(dss) != 3) {
    err_at(t, dss.n ? dss : shape,
           "problem shape '%s': naasc reads shapes of three data spaces (weights, "
           "inputs, outputs), this one has %d",
           pr->name, seq_len(dss));
    return;
  }
  Space sp[3];
  int out = -1, ro[2], nro = 0;
  for (int i = 0; i < 3; i++) {
    if (!read_space(t, seq_at(dss, i), &sp[i], coefs)) return;
    if (sp[i].rw) {
      if (out >= 0) {
        err_at(t, sp[i].node,
               "problem shape '%s': two read-write data spaces ('%s' and '%s'); a "
               "convolution has one output",
               pr->name, sp[out].name, sp[i].name);
        return;
      }
      out = i;
    } else if (nro < 2) {
      ro[nro++] = i;
    }
  }
  if (out < 0) {
    err_at(t, dss, "problem shape '%s': no data space is read_write (the output)", pr->name);
    return;
  }
  int role[2][TL_MAX_DIMS], pairs[2][2][2];
  Ref at[2] = {{0}, {0}};
  const char *why[2];
  why[0] = match_conv(t, &sp[ro[0]], &sp[ro[1]], &sp[out], role[0], &at[0], pairs[0]);
  why[1] = match_conv(t, &sp[ro[1]], &sp[ro[0]], &sp[out], role[1], &at[1], pairs[1]);
  int pick = !why[0] ? 0 : !why[1] ? 1 : -1;
  /* both fit (a matmul, or a 1x1 shape): the one with the sliding window in
   * the inputs, else the first listed as the weights */
  if (!why[0] && !why[1] && pairs[0][0][1] < 0 && pairs[1][0][1] >= 0) pick = 1;
  if (pick < 0) {
    err_at(t, at[0].n ? at[0] : dss,
           "problem shape '%s' is not a convolution naasc can evaluate: %s", pr->name, why[0]);
    return;
  }
  const Space *W = &sp[ro[pick]], *I = &sp[ro[1 - pick]], *O = &sp[out];
  snprintf(t->tname[TENSOR_W], sizeof t->tname[0], "%s", W->name);
  snprintf(t->tname[TENSOR_I], sizeof t->tname[0], "%s", I->name);
  snprintf(t->tname[TENSOR_O], sizeof t->tname[0], "%s", O->name);
  for (int d = 0; d < NDIMS; d++) pr->dim[d] = 1;
  for (int i = 0; i < t->ndims; i++) {
    t->drole[i] = role[pick][i];
    if (t->drole[i] >= 0) {
      pr->dim[t->drole[i]] = t->dbound[i];
      snprintf(t->s->dim_name[t->drole[i]], sizeof t->s->dim_name[0], "%s", t->dname[i]);
    }
  }
  pr->stride[0] = pr->stride[1] = pr->dilation[0] = pr->dilation[1] = 1;
  for (int a = 0; a < 2; a++) {
    int j = pairs[pick][a][1];
    if (j < 0) continue;
    const Term *e = &I->e[j];
    int r = pairs[pick][a][0];
    if (!coef_value(t, e->coef[r], coefs, inst, &pr->dilation[a]) ||
        !coef_value(t, e->coef[1 - r], coefs, inst, &pr->stride[a]))
      return;
    if (pr->dilation[a] < 1 || pr->stride[a] < 1) {
      err_at(t, e->node, "problem shape '%s': strides and dilations must be at least 1", pr->name);
      return;
    }
  }
  t->s->have |= TL_HAVE_PROBLEM;
}

/* ---- architecture: the component list ------------------------------------------ */

typedef enum { CLS_STORAGE, CLS_COMPUTE, CLS_NETWORK, CLS_NOTHING, CLS_UNKNOWN } ClassKind;

/* Timeloop's (and timeloopfe's) classification: a class naming one of these
 * words is storage, compute, ... (model/topology.hpp). */
static ClassKind class_kind(const char *cls) {
  static const char *const storage[] = {"DRAM", "SRAM", "regfile", "smartbuffer", "storage", NULL};
  static const char *const compute[] = {"mac", "intmac", "fpmac", "compute", NULL};
  static const char *const network[] = {"XY_NoC", "Legacy", "ReductionTree", "SimpleMulticast",
                                        NULL};
  if (!cls) return CLS_UNKNOWN;
  for (int i = 0; storage[i]; i++)
    if (strstr(cls, storage[i])) return CLS_STORAGE;
  for (int i = 0; compute[i]; i++)
    if (strstr(cls, compute[i])) return CLS_COMPUTE;
  for (int i = 0; network[i]; i++)
    if (strstr(cls, network[i])) return CLS_NETWORK;
  if (strstr(cls, "nothing") || strstr(cls, "Nothing")) return CLS_NOTHING;
  return CLS_UNKNOWN;
}

static Comp *comp_add(Tl *t, Ref at) {
  if (t->ncomp >= TL_MAX_COMPS) {
    err_at(t, at, "more than %d architecture levels", TL_MAX_COMPS);
    return NULL;
  }
  Comp *c = &t->comp[t->ncomp++];
  memset(c, 0, sizeof *c);
  return c;
}

static bool scope_push(Scope *sc, Ref m) {
  if (!is_map(m)) return true;
  if (sc->n >= TL_MAX_SCOPE) return false;
  memmove(&sc->map[1], &sc->map[0], (size_t)sc->n * sizeof sc->map[0]);
  sc->map[0] = m;
  sc->n++;
  return true;
}

/* Classifies component n (class, subclass); NULL-reports what is refused. */
static bool component_class(Tl *t, Ref n, Comp *c) {
  Ref cl = getv(n, "class");
  const char *cls = scal(cl);
  const char *name = scal(getv(n, "name"));
  if (!cls) {
    err_at(t, n, "component '%s': missing attribute 'class'", name ? name : "?");
    return false;
  }
  snprintf(c->cls, sizeof c->cls, "%s", cls);
  ClassKind k = class_kind(cls);
  if (k == CLS_NETWORK) {
    err_at(t, cl,
           "component '%s': class '%s' is a network; naasc does not model Timeloop's networks",
           name ? name : "?", cls);
    return false;
  }
  if (k == CLS_UNKNOWN) {
    err_at(
        t, cl,
        "component '%s': unknown class '%s' (a Timeloop class names storage: DRAM, SRAM, regfile, "
        "smartbuffer, storage; or compute: mac, intmac, fpmac, compute)",
        name ? name : "?", cls);
    return false;
  }
  c->compute = k == CLS_COMPUTE;
  c->dummy = strcmp(cls, "dummy_storage") == 0;
  return k != CLS_NOTHING;
}

/* The tree form: subtree/local, instances from name ranges (ParseTreeSpecs). */
static void walk_tree(Tl *t, Ref node, int64_t mult, Scope sc, int depth) {
  if (!is_map(node)) {
    err_at(t, node, "'architecture.subtree': expected a mapping with name, local, subtree");
    return;
  }
  char base[ACCEL_NAME_MAX];
  const char *nm = scal(getv(node, "name"));
  if (nm) {
    int64_t k = name_range(nm, base, sizeof base);
    if (k < 1) {
      err_at(t, getv(node, "name"), "'%s': malformed instance range (expected NAME[LO..HI])", nm);
      return;
    }
    mult *= k;
    if (depth == 0) { /* timeloopfe names the top "NAME_top_level" */
      size_t bl = strlen(base);
      if (bl > 10 && strcmp(base + bl - 10, "_top_level") == 0) base[bl - 10] = 0;
      snprintf(t->s->design, sizeof t->s->design, "%s", base);
    }
  }
  if (!scope_push(&sc, getv(node, "attributes"))) {
    err_at(t, node, "architecture nested too deep");
    return;
  }
  if (depth == 0) t->top = sc;
  Ref loc = getv(node, "local");
  if (loc.n && !is_seq(loc)) err_at(t, loc, "'local': expected a list of components");
  for (int i = 0; i < seq_len(loc); i++) {
    Ref c = seq_at(loc, i);
    Comp tmp;
    memset(&tmp, 0, sizeof tmp);
    const char *cn = scal(getv(c, "name"));
    if (!is_map(c) || !cn) {
      err_at(t, c, "'local': each component needs a name and a class");
      continue;
    }
    if (getv(c, "enabled").n && !is_true(scal(getv(c, "enabled")))) continue;
    if (!component_class(t, c, &tmp)) continue;
    int64_t k = name_range(cn, tmp.name, sizeof tmp.name);
    if (k < 1) {
      err_at(t, getv(c, "name"), "'%s': malformed instance range (expected NAME[LO..HI])", cn);
      continue;
    }
    Comp *cc = comp_add(t, c);
    if (!cc) return;
    *cc = tmp;
    cc->node = c;
    cc->sc = sc;
    scope_push(&cc->sc, getv(c, "attributes"));
    cc->instances = mult * k;
  }
  Ref sub = getv(node, "subtree");
  if (sub.n && (!is_seq(sub) || seq_len(sub) > 1)) {
    err_at(t, sub, "'subtree': Timeloop reads one subtree per level");
    return;
  }
  if (seq_len(sub) == 1) walk_tree(t, seq_at(sub, 0), mult, sc, depth + 1);
}

/* Adds the constraints of a v0.4 node (constraints: {dataspace, temporal,
 * spatial}) for level `level`; spatial ones only when `spatial`. */
static void node_constraints(Tl *t, Ref node, int level, bool spatial, bool others) {
  Ref cs = getv(node, "constraints");
  if (!cs.n) return;
  if (!is_map(cs)) {
    err_at(t, cs, "'constraints': expected a mapping (dataspace, temporal, spatial)");
    return;
  }
  for (yaml_node_pair_t *pr = cs.n->data.mapping.pairs.start; pr < cs.n->data.mapping.pairs.top;
       pr++) {
    Ref k = {cs.f, yaml_document_get_node(&cs.f->doc, pr->key)};
    Ref v = {cs.f, yaml_document_get_node(&cs.f->doc, pr->value)};
    const char *ks = scal(k);
    char type = !ks                       ? 0
                : key_eq(ks, "dataspace") ? 'b'
                : key_eq(ks, "temporal")  ? 't'
                : key_eq(ks, "spatial")   ? 's'
                                          : 0;
    if (!type) {
      err_at(t, k, "unknown constraint '%s' (dataspace, temporal, spatial)", ks ? ks : "?");
      continue;
    }
    if (type == 's' ? !spatial : !others) continue;
    if (t->ncons >= TL_MAX_CONS) {
      err_at(t, k, "more than %d constraints", TL_MAX_CONS);
      return;
    }
    t->cons[t->ncons++] = (Cons){level, type, v, false};
  }
}

static int64_t spatial_mesh(Tl *t, Ref node, const char *axis, const Scope *sc) {
  Ref sp = getv(node, "spatial");
  Ref v = getv(sp, axis);
  int64_t m = 1;
  if (v.n && (!int_at(t, v, sc, axis, &m) || m < 1)) {
    if (m < 1) err_at(t, v, "'spatial.%s' must be at least 1", axis);
    return -1;
  }
  return m;
}

/* The v0.4 node list, flattened as timeloopfe's v4_to_v3 transpile does. */
static void walk_nodes(Tl *t, Ref list) {
  Ref stack[256];
  bool par[256];
  int sp = 0;
  for (int i = seq_len(list) - 1; i >= 0 && sp < 256; i--)
    stack[sp] = seq_at(list, i), par[sp++] = false;
  int64_t mx = 1, my = 1;
  Scope sc = {{{0}}, 0};
  bool first = true, after_compute = false;
  while (sp > 0 && t->nerr == 0) {
    Ref n = stack[--sp];
    bool in_par = par[sp];
    const char *tag = n.n->tag ? (const char *)n.n->tag : "";
    if (!custom_tag(n.n)) {
      err_at(
          t, n,
          "an architecture node needs a tag: !Component, !Container, !Parallel, !Hierarchical or "
          "!Nothing");
      return;
    }
    if (strcmp(tag, "!Nothing") == 0) continue;
    if (strcmp(tag, "!Parallel") == 0 || strcmp(tag, "!Hierarchical") == 0 ||
        strcmp(tag, "!Pipelined") == 0) {
      Ref kids = getv(n, "nodes");
      if (!is_seq(kids)) {
        err_at(t, n, "'%s' needs 'nodes', a list", tag);
        return;
      }
      for (int i = seq_len(kids) - 1; i >= 0; i--) {
        if (sp >= 256) {
          err_at(t, n, "architecture too large");
          return;
        }
        stack[sp] = seq_at(kids, i), par[sp++] = strcmp(tag, "!Parallel") == 0;
      }
      continue;
    }
    if (!is_map(n)) {
      err_at(t, n, "'%s': expected a mapping", tag);
      return;
    }
    const char *nm = scal(getv(n, "name"));
    if (!nm) {
      err_at(t, n, "'%s': missing attribute 'name'", tag);
      return;
    }
    if (getv(n, "enabled").n && !is_true(scal(getv(n, "enabled")))) continue;
    if (getv(n, "sparse_optimizations").n && !is_null(getv(n, "sparse_optimizations"))) {
      err_at(t, getv(n, "sparse_optimizations"),
             "'%s': sparse_optimizations: a sparse (Sparseloop) "
             "specification; naasc's cost model is dense",
             nm);
      return;
    }
    bool container = strcmp(tag, "!Container") == 0;
    if (container) {
      if (in_par) {
        err_at(t, n, "container '%s' under a !Parallel: not supported (as in timeloopfe)", nm);
        return;
      }
      if (!scope_push(&sc, getv(n, "attributes"))) {
        err_at(t, n, "too many containers");
        return;
      }
      if (first) {
        snprintf(t->s->design, sizeof t->s->design, "%s", nm);
        t->top = sc;
      }
    }
    first = false;
    Comp tmp;
    memset(&tmp, 0, sizeof tmp);
    if (!container) {
      if (!component_class(t, n, &tmp)) {
        if (t->nerr) return;
        continue; /* a class of nothing */
      }
      if (after_compute) {
        err_at(t, n,
               "component '%s' after the compute component: the compute level is the innermost",
               nm);
        return;
      }
    }
    Scope own = sc;
    scope_push(&own, getv(n, "attributes"));
    int64_t fx = spatial_mesh(t, n, "meshX", &own), fy = spatial_mesh(t, n, "meshY", &own);
    if (fx < 0 || fy < 0) return;
    bool fan = fx * fy != 1;
    if (fan && in_par) {
      err_at(t, n,
             "component '%s' with a fan-out under a !Parallel: not supported (as in timeloopfe)",
             nm);
      return;
    }
    if (fan) { /* the level timeloopfe adds: keeps nothing, carries the spatial constraints */
      Comp *dc = comp_add(t, n);
      if (!dc) return;
      snprintf(dc->name, sizeof dc->name, "inter_%s_spatial", nm);
      if (strlen(nm) + 14 >= sizeof dc->name) {
        err_at(t, n, "name '%s' too long", nm);
        return;
      }
      snprintf(dc->cls, sizeof dc->cls, "dummy_storage");
      dc->dummy = true;
      dc->added = true;
      dc->node = n;
      dc->sc = sc;
      dc->instances = mx * my, dc->mesh_x = mx, dc->mesh_y = my;
      node_constraints(t, n, t->ncomp - 1, true, false);
      mx *= fx, my *= fy;
    }
    if (container) continue;
    Comp *cc = comp_add(t, n);
    if (!cc) return;
    *cc = tmp;
    if (strlen(nm) >= sizeof cc->name) {
      err_at(t, n, "name '%s' too long", nm);
      return;
    }
    snprintf(cc->name, sizeof cc->name, "%s", nm);
    cc->node = n;
    cc->sc = own;
    cc->instances = mx * my, cc->mesh_x = mx, cc->mesh_y = my;
    cc->branch = in_par;
    if (!cc->compute) node_constraints(t, n, t->ncomp - 1, !fan, true);
    if (cc->compute) after_compute = true;
  }
}

/* ---- architecture: levels ---------------------------------------------------------- */

/* The first present attribute of names[] in c's own attributes. */
static Ref attr(const Comp *c, const char *const *names) {
  Ref none = {NULL, NULL};
  if (!c->sc.n || !c->node.n) return none;
  Ref own = getv(c->node, "attributes");
  for (int i = 0; names[i]; i++) {
    Ref v = getv(own, names[i]);
    if (v.n) return v;
  }
  return none;
}

/* Like attr, inherited attributes included (technology, global_cycle_seconds). */
static Ref attr_inh(const Comp *c, const char *name) {
  for (int i = 0; i < c->sc.n; i++) {
    Ref v = getv(c->sc.map[i], name);
    if (v.n) return v;
  }
  Ref none = {NULL, NULL};
  return none;
}

static bool attr_int(Tl *t, const Comp *c, const char *const *names, int64_t *out) {
  Ref v = attr(c, names);
  return v.n && int_at(t, v, &c->sc, names[0], out);
}

static bool attr_num(Tl *t, const Comp *c, const char *const *names, double *out) {
  Ref v = attr(c, names);
  return v.n && num_at(t, v, &c->sc, names[0], out);
}

/* Energy per action from the ERT: the most expensive argument variant of the
 * first action found in order (Timeloop's storageOperationMappings). */
typedef struct {
  char comp[ACCEL_NAME_MAX];
  Ref actions;
  Ref node;
  bool used;
} ErtEntry;

static bool ert_action(Tl *t, Ref actions, const char *const *names, double *out) {
  for (int k = 0; names[k]; k++) {
    bool found = false;
    double best = 0;
    for (int i = 0; i < seq_len(actions); i++) {
      Ref a = seq_at(actions, i);
      const char *an = scal(getv(a, "name"));
      if (!an || strcmp(an, names[k]) != 0) continue;
      Ref e = getv(a, "energy");
      double v;
      if (!e.n) {
        err_at(t, a, "ERT action '%s': missing 'energy'", an);
        return false;
      }
      if (!num_at(t, e, NULL, "energy", &v)) return false;
      if (v < 0) {
        err_at(t, e, "ERT action '%s': negative energy", an);
        return false;
      }
      best = found ? fmax(best, v) : v;
      found = true;
    }
    if (found) {
      *out = best;
      return true;
    }
  }
  return false;
}

static Ref table_find(Tl *t, Ref tables, const char *comp, const char *what) {
  Ref none = {NULL, NULL}, hit = none;
  for (int i = 0; i < seq_len(tables); i++) {
    Ref e = seq_at(tables, i);
    const char *full = scal(getv(e, "name"));
    if (!full) {
      err_at(t, e, "%s entry without a name", what);
      continue;
    }
    char c[256];
    table_component(full, c, sizeof c);
    if (strcmp(c, comp) == 0) hit = e; /* the last one wins, as in Timeloop */
  }
  return hit;
}

static Ref table_list(Tl *t, Ref sec, const char *what) {
  Ref none = {NULL, NULL};
  if (!sec.n) return none;
  Ref ver = getv(sec, "version");
  if (ver.n && scal(ver) && strcmp(scal(ver), "0.3") != 0 && strcmp(scal(ver), "0.4") != 0) {
    err_at(t, ver, "'%s.version' %s: naasc reads Accelergy tables v0.3 and v0.4", what, scal(ver));
    return none;
  }
  Ref tables = getv(sec, "tables");
  if (!is_seq(tables)) {
    err_at(t, tables.n ? tables : sec, "'%s.tables': expected a list of components", what);
    return none;
  }
  return tables;
}

static void build_arch(Tl *t) {
  Arch *a = &t->s->arch;
  memset(a, 0, sizeof *a);
  int nst = 0;
  const Comp *mac = NULL;
  /* The tree form lists the MAC among the innermost `local` components in
   * any place (the validation cases' simple_ws puts it before its
   * registers); Timeloop takes the storage levels in their order and the
   * arithmetic apart (ParseTreeSpecs).  So the MAC moves to the end; the
   * node list (timeloopfe) requires it last. */
  for (int i = 0; !t->v4 && i + 1 < t->ncomp; i++)
    if (t->comp[i].compute && !t->comp[i + 1].compute) {
      Comp c = t->comp[i];
      memmove(&t->comp[i], &t->comp[i + 1], sizeof c * (size_t)(t->ncomp - 1 - i));
      t->comp[t->ncomp - 1] = c;
      break;
    }
  for (int i = 0; i < t->ncomp; i++) {
    if (t->comp[i].compute) {
      if (i != t->ncomp - 1) {
        err_at(t, t->comp[i + 1].node,
               "component '%s' after the compute component '%s': the compute level is the "
               "innermost",
               t->comp[i + 1].name, t->comp[i].name);
        return;
      }
      mac = &t->comp[i];
    } else {
      nst++;
    }
  }
  if (!mac) {
    err_at(t, t->arch,
           "the architecture has no compute component (class mac, intmac, fpmac or compute)");
    return;
  }
  if (nst < 1 || nst > ACCEL_MAX_LEVELS) {
    err_at(t, t->arch, "the architecture has %d storage levels; naasc models 1 to %d", nst,
           ACCEL_MAX_LEVELS);
    return;
  }
  snprintf(a->name, sizeof a->name, "%s", t->s->design[0] ? t->s->design : "timeloop");
  a->nlevels = nst;
  Ref ert = table_list(t, t->ert, "ERT"), art = table_list(t, t->art, "ART");
  static const char *const wb_names[] = {"word_bits", "word_width", "datawidth", NULL};
  static const char *const nb_names[] = {"n_banks", "banks", NULL};
  static const char *const bs_names[] = {"block_size", "n_words", NULL};
  static const char *const w_names[] = {"width", "memory_width", "data_storage_width", NULL};
  static const char *const cs_names[] = {"cluster_size", NULL};
  static const char *const ent_names[] = {"entries", NULL};
  static const char *const dep_names[] = {"depth", "memory_depth", "data_storage_depth", NULL};
  static const char *const kb_names[] = {"sizeKB", NULL};
  static const char *const mb_names[] = {"multiple_buffering", NULL};
  static const char *const rbw[] = {"read_bandwidth", NULL},
                           *const wbw[] = {"write_bandwidth", NULL},
                           *const sbw[] = {"shared_bandwidth", NULL},
                           *const bw[] = {"bandwidth", NULL};
  static const char *const inst_names[] = {"instances", NULL}, *const mx_names[] = {"meshX", NULL},
                           *const my_names[] = {"meshY", NULL};
  static const char *const vae[] = {"vector_access_energy", NULL}, *const mac_e[] = {"energy",
                                                                                     NULL};
  static const char *const rd_act[] = {"random_read", "read", NULL};
  static const char *const fill_act[] = {"random_fill", "random_write", "fill", "write", NULL};
  static const char *const upd_act[] = {"random_update", "random_write", "update", "write", NULL};
  static const char *const leak_act[] = {"leak", NULL};
  static const char *const mac_act[] = {"mac_random", "mult_random", "mac",
                                        "mult",       "compute",     NULL};
  for (int i = 0; i < t->ncomp; i++) {
    Comp *c = &t->comp[i];
    int64_t v;
    /* Instances and mesh: explicit, else from the names (ValidateTopology). */
    if (attr_int(t, c, inst_names, &v)) c->instances = v;
    int64_t mx = 0, my = 0;
    bool hx = attr_int(t, c, mx_names, &mx), hy = attr_int(t, c, my_names, &my);
    if (!c->mesh_x || hx || hy) {
      if (hx && !hy)
        my = mx > 0 && c->instances % mx == 0 ? c->instances / mx : -1;
      else if (hy && !hx)
        mx = my > 0 && c->instances % my == 0 ? c->instances / my : -1;
      else if (!hx && !hy)
        mx = c->instances, my = 1;
      if (mx < 1 || my < 1 || mx * my != c->instances) {
        err_at(t, c->node, "'%s': meshX x meshY must equal its %lld instances", c->name,
               (long long)c->instances);
        return;
      }
      c->mesh_x = mx, c->mesh_y = my;
    }
    if (t->nerr) return;
  }
  for (int l = 0; l < nst; l++) {
    Comp *c = &t->comp[l], *child = &t->comp[l + 1];
    Level *L = &a->level[l];
    int64_t v;
    snprintf(L->name, sizeof L->name, "%s", c->name);
    for (int k = 0; k < l; k++)
      if (strcmp(a->level[k].name, L->name) == 0) {
        err_at(t, c->node, "two storage levels are named '%s'", L->name);
        return;
      }
    Ref tech = attr_inh(c, "technology");
    L->is_dram = strstr(c->cls, "DRAM") || (scal(tech) && strcmp(scal(tech), "DRAM") == 0);
    L->instances = c->instances, L->mesh_x = c->mesh_x, L->mesh_y = c->mesh_y;
    if (child->mesh_x % c->mesh_x || child->mesh_y % c->mesh_y ||
        child->instances !=
            c->instances * (child->mesh_x / c->mesh_x) * (child->mesh_y / c->mesh_y)) {
      err_at(
          t, child->node,
          "'%s' (%lld instances, mesh %lld x %lld) is not a fan-out of '%s' (%lld, mesh %lld x %lld)",
          child->name, (long long)child->instances, (long long)child->mesh_x,
          (long long)child->mesh_y, c->name, (long long)c->instances, (long long)c->mesh_x,
          (long long)c->mesh_y);
      return;
    }
    L->fanout[AXIS_X] = child->mesh_x / c->mesh_x;
    L->fanout[AXIS_Y] = child->mesh_y / c->mesh_y;
    L->fanout[AXIS_Z] = 1;
    for (int x = 0; x < ACCEL_MAX_AXES; x++) L->connectivity[x] = ACCEL_ALL_DIMS;
    L->keeps_allowed = c->dummy ? 0 : ACCEL_ALL_TENSORS;
    /* for timeloop_tech_arch: the class, the banks, the node ("32nm") */
    snprintf(t->s->level_class[l], sizeof t->s->level_class[l], "%s", c->cls);
    t->s->level_banks[l] = 1;
    if (!c->dummy && attr_int(t, c, nb_names, &v) && v >= 1 && v <= 1024)
      t->s->level_banks[l] = (int)v;
    if (scal(tech) && !L->is_dram && !c->dummy && !t->s->tech_nm) {
      char *end;
      double nm = strtod(scal(tech), &end);
      if (end != scal(tech) && strcmp(end, "nm") == 0 && nm > 0) t->s->tech_nm = nm;
    }
    /* Word bits, block, size (BufferLevel::ParseSpecs). */
    int64_t wbits = 16, block = 1, width = 0, cluster = 1, size = 0;
    if (c->dummy) wbits = 1, width = 1;
    bool has_block = attr_int(t, c, bs_names, &block),
         has_cluster = attr_int(t, c, cs_names, &cluster);
    if (!c->dummy) attr_int(t, c, wb_names, &wbits);
    if (!c->dummy && attr_int(t, c, w_names, &width)) {
      if (wbits < 1 || block < 1 || cluster < 1 || width % (wbits * block) != 0) {
        err_at(t, attr(c, w_names),
               "'%s': width %lld is not a multiple of block_size x word bits (%lld x %lld)",
               c->name, (long long)width, (long long)block, (long long)wbits);
        return;
      }
      if (has_block && has_cluster && block * wbits * cluster != width) {
        err_at(t, attr(c, w_names), "'%s': block_size x word bits x cluster_size != width",
               c->name);
        return;
      }
      if (has_cluster && !has_block)
        block = width / cluster / wbits;
      else if (!has_cluster)
        cluster = width / (wbits * block), block = has_block ? block : width / wbits,
        cluster = has_block ? cluster : 1;
    }
    if (t->nerr) return;
    if (cluster != 1) {
      err_at(t, c->node, "'%s': cluster_size %lld: naasc models clusters of 1 block", c->name,
             (long long)cluster);
      return;
    }
    if (wbits < 1 || block < 1) {
      err_at(t, c->node, "'%s': word bits and block size must be at least 1", c->name);
      return;
    }
    if (attr_int(t, c, ent_names, &v))
      size = v;
    else if (attr_int(t, c, dep_names, &v))
      size = v * block;
    else if (attr_int(t, c, kb_names, &v))
      size = v * 1024 * 8 / wbits;
    if (c->dummy) size = 1;
    if (t->nerr) return;
    if (size < 0) {
      err_at(t, c->node, "'%s': negative size", c->name);
      return;
    }
    L->word_bits = (int)wbits;
    L->block_words = block;
    L->capacity_words = L->is_dram ? 0 : size;
    double x = 1;
    L->multiple_buffering = attr_num(t, c, mb_names, &x) ? x : 1;
    if (L->multiple_buffering < 1) {
      err_at(t, attr(c, mb_names), "'%s': multiple_buffering must be at least 1", c->name);
      return;
    }
    if (attr_num(t, c, bw, &x)) L->read_bw = L->write_bw = x / 2;
    if (attr_num(t, c, sbw, &x)) L->shared_bw = x;
    if (attr_num(t, c, rbw, &x)) L->read_bw = x;
    if (attr_num(t, c, wbw, &x)) L->write_bw = x;
    /* What naasc does not model is refused, not ignored. */
    static const char *const ovb[] = {"allow_overbooking", NULL},
                             *const mu[] = {"min_utilization", NULL},
                             *const nfl[] = {"network_fill_latency", NULL},
                             *const ndl[] = {"network_drain_latency", NULL},
                             *const bcs[] = {"per_dataspace_bandwidth_consumption_scale", NULL};
    Ref r;
    if ((r = attr(c, ovb)).n && is_true(scal(r))) {
      err_at(t, r, "'%s': allow_overbooking: not modelled", c->name);
      return;
    }
    if (attr_num(t, c, mu, &x) && x != 0) {
      err_at(t, attr(c, mu), "'%s': min_utilization %g: not modelled", c->name, x);
      return;
    }
    if ((attr_num(t, c, nfl, &x) && x != 0) || (attr_num(t, c, ndl, &x) && x != 0)) {
      err_at(t, c->node, "'%s': network fill/drain latencies: not modelled", c->name);
      return;
    }
    if ((r = attr(c, bcs)).n) {
      err_at(t, r, "'%s': per_dataspace_bandwidth_consumption_scale: not modelled", c->name);
      return;
    }
    /* naasc's own terms, which Timeloop ignores (written by --emit=timeloop). */
    static const char *const noc[] = {"naasc_noc_energy_pj_per_hop", NULL},
                             *const nmc[] = {"naasc_no_multicast", NULL},
                             *const nrd[] = {"naasc_no_reduction", NULL},
                             *const tcw[] = {"naasc_tensor_capacity_words", NULL};
    if (attr_num(t, c, noc, &x)) L->noc_pj_per_hop = x;
    if ((r = attr(c, nmc)).n) L->no_multicast = is_true(scal(r));
    if ((r = attr(c, nrd)).n) L->no_reduction = is_true(scal(r));
    if ((r = attr(c, tcw)).n) {
      if (!is_seq(r) || seq_len(r) != NTENSORS) {
        err_at(t, r, "'naasc_tensor_capacity_words': expected [W, I, O]");
        return;
      }
      for (int k = 0; k < NTENSORS; k++)
        if (!int_at(t, seq_at(r, k), NULL, "naasc_tensor_capacity_words",
                    &L->tensor_capacity_words[k]))
          return;
    }
    /* Energies: the ERT, else the vector_access_energy attribute. */
    Ref e = ert.n ? table_find(t, ert, L->name, "ERT") : (Ref){0};
    Ref acts = getv(e, "actions");
    double ev = 0;
    bool user = attr_num(t, c, vae, &ev);
    if (t->nerr) return;
    double er, ef, eu;
    bool hr = ert_action(t, acts, rd_act, &er), hf = ert_action(t, acts, fill_act, &ef),
         hu = ert_action(t, acts, upd_act, &eu);
    if (t->nerr) return;
    if (!(hr && hf && hu) && !user && !c->dummy && L->keeps_allowed) {
      if (!e.n)
        err_at(t, c->node,
               "'%s': no energy: no Accelergy ERT entry for it (give the *.ERT.yaml of a Timeloop "
               "run with the specification, or put it beside the architecture file) and no "
               "vector_access_energy attribute",
               c->name);
      else
        err_at(t, e, "'%s': the ERT has no %s action (and no vector_access_energy attribute)",
               c->name,
               !hr   ? "read"
               : !hf ? "write (or fill)"
                     : "update (or write)");
      return;
    }
    L->e_read_pj = hr ? er : ev;
    L->e_fill_pj = hf ? ef : ev;
    L->e_update_pj = hu ? eu : ev;
    double lk = 0;
    if (ert_action(t, acts, leak_act, &lk)) L->leak_pj_per_cycle = lk;
    Ref ar = art.n ? table_find(t, art, L->name, "ART") : (Ref){0};
    if (ar.n) {
      Ref av = getv(ar, "area");
      if (!av.n || !num_at(t, av, NULL, "area", &L->area_um2_fixed)) {
        if (!av.n) err_at(t, ar, "ART entry '%s': missing 'area'", L->name);
        return;
      }
    }
  }
  for (int l = 1; l < nst; l++)
    if (a->level[l].is_dram) {
      err_at(t, t->comp[l].node, "'%s': only the outermost level may be DRAM", a->level[l].name);
      return;
    }
  a->mac_instances = mac->instances, a->mac_mesh_x = mac->mesh_x, a->mac_mesh_y = mac->mesh_y;
  snprintf(t->s->mac_name, sizeof t->s->mac_name, "%s", mac->name);
  { /* the operand and accumulator widths, for timeloop_tech_arch */
    static const char *const mw[] = {"multiplier_width", "datawidth", NULL};
    static const char *const aw[] = {"adder_width", NULL};
    int64_t x;
    t->s->mac_bits[0] =
        attr(mac, mw).n && attr_int(t, mac, mw, &x) && x > 0 && x <= 64 ? (int)x : 0;
    t->s->mac_bits[1] =
        attr(mac, aw).n && attr_int(t, mac, aw, &x) && x > 0 && x <= 64 ? (int)x : 0;
  }
  Ref e = ert.n ? table_find(t, ert, mac->name, "ERT") : (Ref){0};
  double ev;
  if (ert_action(t, getv(e, "actions"), mac_act, &ev))
    a->mac_energy_pj = ev;
  else if (attr_num(t, mac, mac_e, &ev))
    a->mac_energy_pj = ev;
  else if (!t->nerr) {
    err_at(t, mac->node,
           "'%s': no energy: the ERT has no compute action for it (mac_random, mac, compute, ...) "
           "and it has no energy attribute",
           mac->name);
    return;
  }
  Ref ar = art.n ? table_find(t, art, mac->name, "ART") : (Ref){0};
  if (ar.n && !num_at(t, getv(ar, "area"), NULL, "area", &a->mac_area_um2)) return;
  /* The clock: global_cycle_seconds (Accelergy's variable), if given. */
  Ref gcs = getv(t->variables, "global_cycle_seconds");
  for (int i = 0; !gcs.n && i < t->top.n; i++) gcs = getv(t->top.map[i], "global_cycle_seconds");
  double sec;
  if (gcs.n && num_at(t, gcs, &t->top, "global_cycle_seconds", &sec) && sec > 0) {
    char buf[32]; /* 1e-6 / 1e-9 is 999.9999999999999 in binary: keep 12 digits */
    snprintf(buf, sizeof buf, "%.12g", 1e-6 / sec);
    a->clock_mhz = strtod(buf, NULL);
  }
  if (!t->nerr) t->s->have |= TL_HAVE_ARCH;
}

/* ---- constraints ------------------------------------------------------------------ */

static int level_by_name(const Arch *a, const char *name) {
  char base[ACCEL_NAME_MAX];
  name_range(name, base, sizeof base);
  for (int l = 0; l < a->nlevels; l++)
    if (strcmp(a->level[l].name, base) == 0) return l;
  return -1;
}

static int tensor_by_name(Tl *t, const char *name) {
  for (int k = 0; k < NTENSORS; k++)
    if (strcmp(t->tname[k], name) == 0) return k;
  return -1;
}

/* A list of data-space names as a tensor mask; -1 (reported) if one is unknown. */
static int tensor_list(Tl *t, Ref lst, const char *what) {
  int mask = 0;
  if (!lst.n || is_null(lst)) return 0;
  if (scal(lst)) { /* one name */
    int k = tensor_by_name(t, scal(lst));
    if (k < 0) {
      err_at(t, lst, "'%s': '%s' is not a data space of the problem (%s, %s, %s)", what, scal(lst),
             t->tname[0], t->tname[1], t->tname[2]);
      return -1;
    }
    return 1 << k;
  }
  if (!is_seq(lst)) {
    err_at(t, lst, "'%s': expected a list of data spaces", what);
    return -1;
  }
  for (int i = 0; i < seq_len(lst); i++) {
    const char *nm = scal(seq_at(lst, i));
    int k = nm ? tensor_by_name(t, nm) : -1;
    if (k < 0) {
      err_at(t, seq_at(lst, i), "'%s': '%s' is not a data space of the problem (%s, %s, %s)", what,
             nm ? nm : "?", t->tname[0], t->tname[1], t->tname[2]);
      return -1;
    }
    mask |= 1 << k;
  }
  return mask;
}

/* The problem dimension named nm: its DIM_*, -2 for a dimension of bound 1
 * with no convolution role, -1 (not reported) if there is none. */
static int dim_by_name(Tl *t, const char *nm, size_t n) {
  for (int i = 0; i < t->ndims; i++)
    if (strlen(t->dname[i]) == n && strncmp(t->dname[i], nm, n) == 0)
      return t->drole[i] >= 0 ? t->drole[i] : -2;
  return -1;
}

/* The text of a factors entry (a string, or a list of strings joined by
 * spaces) into buf, cut at a '#' comment.  Returns false (reported) if it is
 * neither, or longer than buf. */
static bool factors_text(Tl *t, Ref r, char *buf, size_t cap, const char *what,
                         const char *example) {
  size_t used = 0;
  buf[0] = 0;
  if (scal(r)) {
    used = (size_t)snprintf(buf, cap, "%s", scal(r));
  } else if (is_seq(r)) {
    for (int i = 0; i < seq_len(r) && used < cap; i++) {
      const char *s = scal(seq_at(r, i));
      if (!s) {
        err_at(t, seq_at(r, i), "'%s': expected factors such as M=8", what);
        return false;
      }
      used += (size_t)snprintf(buf + used, cap - used, "%s ", s);
    }
  } else {
    err_at(t, r, "'%s': expected factors such as %s or a list of them", what, example);
    return false;
  }
  if (used >= cap) {
    err_at(t, r, "'%s': factors longer than %zu characters", what, cap - 1);
    return false;
  }
  char *hash = strchr(buf, '#');
  if (hash) *hash = 0;
  return true;
}

/* Parses Timeloop factors ("C1 M8", "C=1 M=8", "Q=5,2", a list of them):
 * f[d], residual r[d] (0 = none); factors of no-role dims go to *extra.
 * Missing dims keep their values.  Returns false (reported) on an error. */
static bool parse_factors(Tl *t, Ref r, int64_t f[NDIMS], int64_t rem[NDIMS], bool *given,
                          const char *what) {
  char buf[1024];
  if (!factors_text(t, r, buf, sizeof buf, what, "'C=1 M=8'")) return false;
  for (const char *p = buf; *p;) {
    if (!isalpha((unsigned char)*p)) {
      if (*p == ' ' || *p == ',' || *p == '\t') {
        p++;
        continue;
      }
      err_at(t, r, "'%s': cannot read the factors at '%s'", what, p);
      return false;
    }
    const char *nm = p;
    while (isalpha((unsigned char)*p)) p++;
    size_t nl = (size_t)(p - nm);
    while (*p == ' ') p++;
    while (*p == '=') p++;
    while (*p == ' ') p++;
    if (!isdigit((unsigned char)*p)) {
      err_at(t, r, "'%s': cannot read the factors at '%s' (expected DIM=N)", what, nm);
      return false;
    }
    long long v = strtoll(p, (char **)&p, 10), res = -1;
    if (*p == ',' && isdigit((unsigned char)p[1])) res = strtoll(p + 1, (char **)&p, 10);
    int d = dim_by_name(t, nm, nl);
    if (d == -1) {
      err_at(t, r, "'%s': '%.*s' is not a dimension of the problem", what, (int)nl, nm);
      return false;
    }
    if (d == -2) {
      if (v > 1) {
        err_at(t, r, "'%s': factor %lld of '%.*s', a dimension of bound 1", what, v, (int)nl, nm);
        return false;
      }
      continue;
    }
    if (v == 0) { /* Timeloop: 0 means the whole dimension */
      v = t->s->problem.dim[d];
    }
    if (v < 1 || res == 0 || res > v) {
      err_at(t, r, "'%s': factor '%.*s' must be at least 1 (and a residual 1..factor)", what,
             (int)nl, nm);
      return false;
    }
    f[d] = v;
    if (rem)
      rem[d] = (res > 0 && res < v) ? res : 0;
    else if (res > 0 && res < v) {
      err_at(t, r, "'%s': a residual on a spatial factor ('%.*s'): not modelled", what, (int)nl,
             nm);
      return false;
    }
    if (given) given[d] = true;
  }
  return true;
}

/* Parses a permutation (a string of one-letter dims, spaces ignored, or a
 * list of names), innermost first, into perm[] (DIM_*; no-role dims
 * dropped); *n its length.  Repeats are errors. */
static bool parse_perm(Tl *t, Ref r, int perm[NDIMS], int *n, int *ntl, const char *what) {
  *n = 0;
  *ntl = 0;
  bool seen[NDIMS] = {0};
  char names[TL_MAX_DIMS][16];
  int k = 0;
  if (scal(r)) {
    for (const char *p = scal(r); *p && k < TL_MAX_DIMS; p++)
      if (*p != ' ' && *p != ',' && *p != '\t') names[k][0] = *p, names[k++][1] = 0;
  } else if (is_seq(r)) {
    for (int i = 0; i < seq_len(r) && k < TL_MAX_DIMS; i++) {
      const char *s = scal(seq_at(r, i));
      if (!s || strlen(s) >= 16) {
        err_at(t, seq_at(r, i), "'%s': expected dimension names", what);
        return false;
      }
      snprintf(names[k++], 16, "%s", s);
    }
  } else {
    err_at(t, r, "'%s': expected a permutation such as 'MCRSNPQ'", what);
    return false;
  }
  for (int i = 0; i < k; i++) {
    int d = dim_by_name(t, names[i], strlen(names[i]));
    if (d == -1) {
      err_at(t, r, "'%s': '%s' is not a dimension of the problem", what, names[i]);
      return false;
    }
    (*ntl)++;
    if (d == -2) continue;
    if (seen[d]) {
      err_at(t, r, "'%s': dimension '%s' appears twice", what, names[i]);
      return false;
    }
    seen[d] = true;
    perm[(*n)++] = d;
  }
  return true;
}

/* Timeloop's constraint factors (src/mapping/constraints.cpp ParseFactors,
 * ParseMaxFactors, ParseMinFactors): "C=1 M=8", "M8", "N=1,C=1", "C<=4",
 * "C>=2", or a list of them, a '#' starting a comment; D=0 is the whole dim
 * (MAPCONS_WHOLE).  Per dim: ex (exact), mx (at most), mn (at least), 0 when
 * not given.  Factors of dims with no convolution role (bound 1) must be 1. */
static bool parse_bounds(Tl *t, Ref r, int64_t ex[NDIMS], int64_t mx[NDIMS], int64_t mn[NDIMS],
                         const char *what) {
  char buf[1024];
  if (!factors_text(t, r, buf, sizeof buf, what, "'C=1 M<=8'")) return false;
  for (const char *p = buf; *p;) {
    if (*p == ' ' || *p == ',' || *p == '\t') {
      p++;
      continue;
    }
    if (!isalpha((unsigned char)*p)) {
      err_at(t, r, "'%s': cannot read the factors at '%s'", what, p);
      return false;
    }
    const char *nm = p;
    while (isalnum((unsigned char)*p) || *p == '_') p++;
    size_t nl = (size_t)(p - nm);
    while (*p == ' ') p++;
    char op = '=';
    if ((p[0] == '<' || p[0] == '>') && p[1] == '=')
      op = p[0], p += 2;
    else
      while (*p == '=') p++;
    while (*p == ' ') p++;
    if (!isdigit((unsigned char)*p)) {
      err_at(t, r, "'%s': cannot read the factors at '%s' (expected D=N, D<=N or D>=N)", what, nm);
      return false;
    }
    errno = 0;
    long long v = strtoll(p, (char **)&p, 10);
    if (errno || v > INT64_C(1) << 40) {
      err_at(t, r, "'%s': factor of '%.*s' out of range", what, (int)nl, nm);
      return false;
    }
    int d = dim_by_name(t, nm, nl);
    if (d == -1) {
      err_at(t, r, "'%s': '%.*s' is not a dimension of the problem", what, (int)nl, nm);
      return false;
    }
    if (op != '=' && v < 1) {
      err_at(t, r, "'%s': a %s factor of '%.*s' must be at least 1", what,
             op == '<' ? "maximum" : "minimum", (int)nl, nm);
      return false;
    }
    if (d == -2) { /* a dimension of bound 1 with no role */
      if ((op == '=' && v > 1) || (op == '>' && v > 1)) {
        err_at(t, r, "'%s': factor %lld of '%.*s', a dimension of bound 1", what, v, (int)nl, nm);
        return false;
      }
      continue;
    }
    int64_t *slot = op == '=' ? &ex[d] : op == '<' ? &mx[d] : &mn[d];
    if (*slot) {
      err_at(t, r, "'%s': '%.*s' %s given twice", what, (int)nl, nm,
             op == '='   ? "factor"
             : op == '<' ? "maximum"
                         : "minimum");
      return false;
    }
    *slot = (op == '=' && v == 0) ? MAPCONS_WHOLE : v; /* Timeloop: 0 is the whole dimension */
  }
  return true;
}

/* A constraint permutation (ParsePermutations): a string of one-letter
 * dims or a list of names, innermost first; a '_' separates the prefix (the
 * innermost loops) from the suffix (the outermost).  pre/suf get the
 * DIM_*s (no-role dims dropped), *npre_tl and *nsuf_tl count Timeloop's dims
 * (no-role ones included); pos[d] is d's place in the prefix, or -1 - its
 * place in the suffix, or INT_MIN when d is not listed (for the split). */
static bool parse_cons_perm(Tl *t, Ref r, int *pre, int *npre, int *suf, int *nsuf, int *npre_tl,
                            int *nsuf_tl, int pos[NDIMS], char seen_tl[TL_MAX_DIMS],
                            const char *what) {
  char names[2 * TL_MAX_DIMS][16];
  int k = 0;
  *npre = *nsuf = *npre_tl = *nsuf_tl = 0;
  if (scal(r)) {
    const char *s = scal(r);
    const char *hash = strchr(s, '#');
    for (const char *p = s; *p && (!hash || p < hash) && k < 2 * TL_MAX_DIMS; p++)
      if (!isspace((unsigned char)*p)) names[k][0] = *p, names[k++][1] = 0;
  } else if (is_seq(r)) {
    for (int i = 0; i < seq_len(r) && k < 2 * TL_MAX_DIMS; i++) {
      const char *s = scal(seq_at(r, i));
      if (!s || strlen(s) >= 16) {
        err_at(t, seq_at(r, i), "'%s': expected dimension names", what);
        return false;
      }
      snprintf(names[k++], 16, "%s", s);
    }
  } else {
    err_at(t, r, "'%s': expected a permutation such as 'MCRSNPQ' or a list of names", what);
    return false;
  }
  bool sep = false;
  memset(seen_tl, 0, TL_MAX_DIMS);
  for (int d = 0; d < NDIMS; d++) pos[d] = INT_MIN;
  for (int i = 0; i < k; i++) {
    if (strcmp(names[i], "_") == 0) {
      if (sep) {
        err_at(t, r, "'%s': two '_' separators", what);
        return false;
      }
      sep = true;
      continue;
    }
    int ti = -1;
    for (int j = 0; j < t->ndims; j++)
      if (strcmp(t->dname[j], names[i]) == 0) ti = j;
    if (ti < 0) {
      err_at(t, r, "'%s': '%s' is not a dimension of the problem", what, names[i]);
      return false;
    }
    if (seen_tl[ti]) {
      err_at(t, r, "'%s': dimension '%s' appears twice", what, names[i]);
      return false;
    }
    seen_tl[ti] = 1;
    int at = sep ? -1 - *nsuf_tl : *npre_tl;
    (*(sep ? nsuf_tl : npre_tl))++;
    int d = t->drole[ti];
    if (d < 0) continue;
    pos[d] = at;
    if (sep)
      suf[(*nsuf)++] = d;
    else
      pre[(*npre)++] = d;
  }
  return true;
}

/* Where the constraints came from, for located errors. */
typedef struct {
  Ref factor[ACCEL_MAX_LEVELS][2][NDIMS]; /* the `factors` that bound each loop */
  Ref first[ACCEL_MAX_LEVELS];            /* the level's first constraint */
  int64_t ex[ACCEL_MAX_LEVELS][2][NDIMS], mx[ACCEL_MAX_LEVELS][2][NDIMS],
      mn[ACCEL_MAX_LEVELS][2][NDIMS];
  bool perm[ACCEL_MAX_LEVELS][2], split[ACCEL_MAX_LEVELS], parallelism, reuse[ACCEL_MAX_LEVELS];
  Ref util;                            /* the utilization constraint's `min` */
  uint8_t dataspace[ACCEL_MAX_LEVELS]; /* tensors a keep or bypass has named */
} ConsSrc;

/* Checks a constraint's keys: what naasc reads, and what it refuses by name. */
static bool cons_keys(Tl *t, const Cons *c, const char *lname) {
  static const char *const common[] = {"target", "type", "name", NULL};
  static const char *const iter[] = {"factors", "permutation", "default_max_factor",
                                     "default_min_factor", NULL};
  static const char *const spat[] = {"split", "no_multicast_no_reduction", "no_reuse",
                                     "no_link_transfer", NULL};
  static const char *const data[] = {"keep", "bypass", NULL};
  static const struct {
    const char *key, *why;
  } refused[] = {
      {"remainders", "imperfect factors are outside naasc's mapper's space"},
      {"no_temporal_reuse", "naasc's cost model always reuses a tile that stays"},
      {"rmw_first_update", "naasc counts Timeloop v3's read-modify-write (docs/cost-model.md)"},
      {"no_coalesce", "not modelled"},
      {"attributes", "give the constraint's keys directly (Timeloop v0.4 form)"},
  };
  if (!is_map(c->node)) {
    err_at(t, c->node, "constraint on '%s': expected a mapping of keys", lname);
    return false;
  }
  for (yaml_node_pair_t *pr = c->node.n->data.mapping.pairs.start;
       pr < c->node.n->data.mapping.pairs.top; pr++) {
    Ref k = {c->node.f, yaml_document_get_node(&c->node.f->doc, pr->key)};
    const char *ks = scal(k);
    bool ok = false;
    for (int i = 0; ks && c->listed && common[i]; i++) ok |= key_eq(ks, common[i]);
    for (int i = 0; ks && (c->type == 't' || c->type == 's') && iter[i]; i++)
      ok |= key_eq(ks, iter[i]);
    for (int i = 0; ks && c->type == 's' && spat[i]; i++) ok |= key_eq(ks, spat[i]);
    for (int i = 0; ks && c->type == 'b' && data[i]; i++) ok |= key_eq(ks, data[i]);
    ok |= ks && c->type == 'p' && key_eq(ks, "min");
    ok |= ks && c->type == 'o' && key_eq(ks, "proportion");
    if (ok) continue;
    if (ks && c->type == 't' && key_eq(ks, "no_reuse")) {
      err_at(t, k, "constraint on '%s': temporal no_reuse is not modelled (%s)", lname,
             "naasc's cost model always reuses a tile that stays");
      return false;
    }
    for (size_t i = 0; ks && i < sizeof refused / sizeof *refused; i++)
      if (key_eq(ks, refused[i].key)) {
        err_at(t, k, "constraint on '%s': '%s' is not modelled (%s)", lname, ks, refused[i].why);
        return false;
      }
    err_at(t, k, "constraint on '%s': '%s' is not a key of a %s constraint naasc reads", lname,
           ks ? ks : "?",
           c->type == 't'   ? "temporal"
           : c->type == 's' ? "spatial"
           : c->type == 'b' ? "dataspace"
           : c->type == 'p' ? "utilization"
                            : "max_overbooked_proportion");
    return false;
  }
  return true;
}

/* A constraint's factors, merged into src (a second exact, maximum or
 * minimum of one dim at one level is an error, as in Timeloop). */
static bool cons_factors(Tl *t, const Cons *c, int kind, ConsSrc *src, const char *lname) {
  int64_t ex[NDIMS] = {0}, mx[NDIMS] = {0}, mn[NDIMS] = {0};
  Ref fr = getv(c->node, "factors");
  if (fr.n && !parse_bounds(t, fr, ex, mx, mn, "factors")) return false;
  static const char *const dflt[2] = {"default_max_factor", "default_min_factor"};
  for (int k = 0; k < 2; k++) {
    Ref dr = getv(c->node, dflt[k]);
    int64_t v;
    if (!dr.n) continue;
    if (!int_at(t, dr, NULL, dflt[k], &v)) return false;
    if (v < 1) {
      err_at(t, dr, "'%s' must be at least 1", dflt[k]);
      return false;
    }
    for (int d = 0; d < NDIMS; d++)
      if (!(k ? mn : mx)[d]) (k ? mn : mx)[d] = v;
  }
  int l = c->level;
  for (int d = 0; d < NDIMS; d++) {
    int64_t *have[3] = {&src->ex[l][kind][d], &src->mx[l][kind][d], &src->mn[l][kind][d]};
    int64_t got[3] = {ex[d], mx[d], mn[d]};
    static const char *const what[3] = {"factor", "maximum factor", "minimum factor"};
    for (int k = 0; k < 3; k++) {
      if (!got[k]) continue;
      if (*have[k]) {
        err_at(t, fr.n ? fr : c->node,
               "constraint on '%s': a second %s %s of %s (Timeloop refuses re-specification)",
               lname, kind ? "spatial" : "temporal", what[k], t->s->dim_name[d]);
        return false;
      }
      *have[k] = got[k];
      src->factor[l][kind][d] = fr.n ? fr : c->node;
    }
  }
  return true;
}

/* A constraint's permutation into s->arch.cons, and for a spatial one with a
 * `split`, the axis each dimension may unroll on. */
static bool cons_perm(Tl *t, const Cons *c, int kind, ConsSrc *src, const char *lname) {
  Arch *a = &t->s->arch;
  Level *L = &a->level[c->level];
  LevelConstraints *lc = &a->cons.level[c->level];
  Ref pr = getv(c->node, "permutation"), sr = getv(c->node, "split");
  int pre[NDIMS], suf[NDIMS], npre = 0, nsuf = 0, npre_tl = 0, nsuf_tl = 0, pos[NDIMS];
  char listed[TL_MAX_DIMS] = {0};
  for (int d = 0; d < NDIMS; d++) pos[d] = INT_MIN;
  if (pr.n) {
    if (!parse_cons_perm(t, pr, pre, &npre, suf, &nsuf, &npre_tl, &nsuf_tl, pos, listed,
                         "permutation"))
      return false;
    if (src->perm[c->level][kind]) {
      err_at(t, pr,
             "constraint on '%s': a second %s permutation (Timeloop refuses re-specification)",
             lname, kind ? "spatial" : "temporal");
      return false;
    }
    src->perm[c->level][kind] = true;
    /* naasc lists orders outermost first: inner = the prefix reversed,
     * outer = the suffix reversed. */
    for (int i = 0; i < npre; i++) lc->inner[kind][i] = (uint8_t)pre[npre - 1 - i];
    for (int i = 0; i < nsuf; i++) lc->outer[kind][i] = (uint8_t)suf[nsuf - 1 - i];
    lc->ninner[kind] = (uint8_t)npre, lc->nouter[kind] = (uint8_t)nsuf;
  }
  if (kind != MAPCONS_SPATIAL || !sr.n) return true;
  int64_t split;
  if (!int_at(t, sr, NULL, "split", &split)) return false;
  if (src->split[c->level]) {
    err_at(t, sr, "constraint on '%s': a second spatial split (Timeloop refuses re-specification)",
           lname);
    return false;
  }
  src->split[c->level] = true;
  if (t->v4) {
    /* timeloopfe (PermutationOptimizerProcessor) inserts, innermost, every
     * dimension the permutation leaves out whose factor here is 1 or whose
     * bound is 1, and keeps `split`: they take the first places on X. */
    int ins = 0;
    for (int i = 0; i < t->ndims; i++) {
      if (listed[i]) continue;
      int d = t->drole[i];
      ins += d < 0 || t->dbound[i] == 1 || src->ex[c->level][kind][d] == 1;
    }
    for (int d = 0; d < NDIMS; d++)
      if (pos[d] >= 0) pos[d] += ins;
    npre_tl += ins;
  }
  /* Timeloop lays a level's spatial loops out innermost first as the
   * prefix, the free dims, the suffix, and puts the first `split` on X
   * (uber.cpp, AssignSpatialTilingDirections). */
  int free_lo = npre_tl, free_hi = t->ndims - nsuf_tl;
  uint8_t xm = 0, ym = 0, freem = 0;
  for (int d = 0; d < NDIMS; d++) {
    if (pos[d] == INT_MIN) {
      /* free: it matters only if it may unroll here */
      if (t->s->dim_name[d][0] && src->ex[c->level][kind][d] != 1 &&
          src->mx[c->level][kind][d] != 1 &&
          (!(t->s->have & TL_HAVE_PROBLEM) || t->s->problem.dim[d] > 1))
        freem |= (uint8_t)(1u << d);
      continue;
    }
    int at = pos[d] >= 0 ? pos[d] : free_hi + (-1 - pos[d]);
    if (at < split)
      xm |= (uint8_t)(1u << d);
    else
      ym |= (uint8_t)(1u << d);
  }
  if (split <= free_lo)
    ym |= freem;
  else if (split >= free_hi)
    xm |= freem;
  else if (freem) {
    err_at(t, sr,
           "constraint on '%s': split %lld falls among the dimensions the permutation leaves "
           "free, so Timeloop leaves how many of them unroll on X to its search: not modelled "
           "(list them in the permutation)",
           lname, (long long)split);
    return false;
  }
  /* G when the problem has none: a grouped layer of a network may unroll it anywhere */
  uint8_t g = t->s->dim_name[DIM_G][0] ? 0 : (uint8_t)(1u << DIM_G);
  L->connectivity[AXIS_X] &= (uint8_t)(xm | g);
  L->connectivity[AXIS_Y] &= (uint8_t)(ym | g);
  return true;
}

static void apply_constraints(Tl *t) {
  Arch *a = &t->s->arch;
  /* target lists: architecture_constraints and the like */
  for (int i = 0; i < t->ncons_lists; i++) {
    Ref v = t->cons_lists[i];
    Ref lst = is_seq(v) ? v : getv(v, "targets");
    if (!is_seq(lst)) {
      if (!is_null(v) && !(is_map(v) && is_null(get(v, "targets"))))
        err_at(t, v, "constraints: expected 'targets', a list of directives");
      continue;
    }
    for (int j = 0; j < seq_len(lst); j++) {
      Ref c = seq_at(lst, j);
      Ref tg = getv(c, "target");
      if (!tg.n) tg = getv(c, "name");
      const char *tn = scal(tg), *ty = scal(getv(c, "type"));
      if (!tn || !ty) {
        err_at(t, c, "constraint: needs 'target' and 'type'");
        continue;
      }
      char *end;
      long id = strtol(tn, &end, 10);
      int l = (*tn && !*end) ? ((id >= 0 && id < a->nlevels) ? a->nlevels - 1 - (int)id : -1)
                             : level_by_name(a, tn);
      if (l < 0) {
        err_at(t, tg, "constraint: target '%s' is not a storage level of the architecture", tn);
        continue;
      }
      char type = key_eq(ty, "temporal")  ? 't'
                  : key_eq(ty, "spatial") ? 's'
                  : (key_eq(ty, "bypass") || key_eq(ty, "bypassing") || key_eq(ty, "dataspace") ||
                     key_eq(ty, "datatype"))
                      ? 'b'
                  : (key_eq(ty, "utilization") || key_eq(ty, "parallelism")) ? 'p'
                  : key_eq(ty, "max_overbooked_proportion")                  ? 'o'
                                                                             : 0;
      if (!type) {
        err_at(t, getv(c, "type"),
               "constraint: unknown type '%s' (temporal, spatial, bypass, dataspace, utilization, "
               "max_overbooked_proportion)",
               ty);
        continue;
      }
      if (t->ncons >= TL_MAX_CONS) {
        err_at(t, c, "more than %d constraints", TL_MAX_CONS);
        return;
      }
      t->cons[t->ncons++] = (Cons){l, type, c, true};
    }
  }
  if (t->nerr) return;
  ConsSrc *src = xcalloc(1, sizeof *src);
  if (!src) {
    err_at(t, (Ref){0}, "out of memory");
    return;
  }
  for (int i = 0; i < t->ncons && !t->nerr; i++) {
    Cons *c = &t->cons[i];
    Level *L = &a->level[c->level];
    if (!src->first[c->level].n) src->first[c->level] = c->node;
    if (!cons_keys(t, c, L->name)) break;
    if (c->type == 'b') {
      int keep = tensor_list(t, getv(c->node, "keep"), "keep"),
          byp = tensor_list(t, getv(c->node, "bypass"), "bypass");
      if (keep < 0 || byp < 0) break;
      if (keep & byp) {
        err_at(t, c->node, "constraint on '%s': a data space both kept and bypassed", L->name);
        break;
      }
      if ((keep | byp) & src->dataspace[c->level] && c->level > 0) {
        err_at(t, c->node,
               "constraint on '%s': a second keep or bypass of one data space (Timeloop refuses "
               "re-specification)",
               L->name);
        break;
      }
      src->dataspace[c->level] |= (uint8_t)(keep | byp);
      L->keeps_allowed &= (uint8_t)~byp;
      L->keeps_required |= (uint8_t)keep;
      if (L->keeps_required & ~L->keeps_allowed) {
        err_at(t, c->node, "constraint on '%s': keeps a data space the level may not hold",
               L->name);
        break;
      }
    } else if (c->type == 'p') {
      double v;
      Ref mr = getv(c->node, "min");
      if (c->level != a->nlevels - 1) {
        err_at(t, c->node,
               "constraint: a %s constraint must target the innermost storage level ('%s'), as "
               "in Timeloop",
               scal(getv(c->node, "type")), a->level[a->nlevels - 1].name);
        break;
      }
      if (src->parallelism) {
        err_at(t, c->node, "constraint: a second utilization constraint");
        break;
      }
      src->parallelism = true;
      src->util = getv(c->node, "min");
      if (!mr.n) {
        err_at(t, c->node, "constraint: a utilization constraint needs 'min'");
        break;
      }
      if (!num_at(t, mr, NULL, "min", &v)) break;
      if (v < 0 || v > 1) {
        err_at(t, mr, "'min': %g is not a fraction of the MACs (0 to 1)", v);
        break;
      }
      a->cons.min_parallelism = v;
    } else if (c->type == 'o') {
      /* Overbooking allowed: naasc never overbooks, which keeps the constraint. */
    } else {
      int kind = c->type == 's' ? MAPCONS_SPATIAL : MAPCONS_TEMPORAL;
      if (kind == MAPCONS_SPATIAL &&
          L->fanout[AXIS_X] * L->fanout[AXIS_Y] * L->fanout[AXIS_Z] <= 1) {
        /* Timeloop: no spatial tiling level below a level without fan-out */
        bool any = false;
        Ref fr = getv(c->node, "factors");
        int64_t ex[NDIMS] = {0}, mx[NDIMS] = {0}, mn[NDIMS] = {0};
        if (fr.n && !parse_bounds(t, fr, ex, mx, mn, "factors")) break;
        for (int d = 0; d < NDIMS; d++) any |= (ex[d] != 0 && ex[d] != 1) || mn[d] > 1;
        if (any) {
          err_at(t, c->node,
                 "constraint on '%s': spatial factors, but the level has no fan-out (Timeloop: no "
                 "spatial tiling level)",
                 L->name);
          break;
        }
        continue;
      }
      if (!cons_factors(t, c, kind, src, L->name)) break;
      if (!cons_perm(t, c, kind, src, L->name)) break;
      if (kind == MAPCONS_SPATIAL) {
        Ref nm = getv(c->node, "no_multicast_no_reduction");
        if (!nm.n) nm = getv(c->node, "no_reuse");
        if (nm.n) {
          int mask = tensor_list(t, nm, "no_multicast_no_reduction");
          if (mask < 0) break;
          bool mc = mask & ((1 << TENSOR_W) | (1 << TENSOR_I));
          if (mc &&
              (mask & ((1 << TENSOR_W) | (1 << TENSOR_I))) != ((1 << TENSOR_W) | (1 << TENSOR_I))) {
            err_at(t, nm,
                   "constraint on '%s': no multicast of one of the weights and inputs: naasc "
                   "models multicast of both together (the level's naasc_no_multicast)",
                   L->name);
            break;
          }
          if (src->reuse[c->level]) {
            err_at(t, nm, "constraint on '%s': a second no_multicast_no_reduction", L->name);
            break;
          }
          src->reuse[c->level] = true;
          if (mc) L->no_multicast = true;
          if (mask >> TENSOR_O & 1) L->no_reduction = true;
        }
      }
    }
  }
  /* The bounds, from what each level's constraints say. */
  for (int l = 0; l < a->nlevels && !t->nerr; l++) {
    LevelConstraints *lc = &a->cons.level[l];
    for (int k = 0; k < 2; k++)
      for (int d = 0; d < NDIMS; d++) {
        int64_t ex = src->ex[l][k][d], mx = src->mx[l][k][d], mn = src->mn[l][k][d];
        if (ex &&
            ((mx && ex != MAPCONS_WHOLE && ex > mx) || (mn && ex != MAPCONS_WHOLE && ex < mn))) {
          err_at(t, src->factor[l][k][d],
                 "constraint on '%s': the %s factor of %s is %lld, outside its bounds "
                 "(contradictory constraints)",
                 a->level[l].name, k ? "spatial" : "temporal", t->s->dim_name[d], (long long)ex);
          break;
        }
        lc->lo[k][d] = ex ? ex : mn;
        lc->hi[k][d] = ex ? ex : mx;
        /* A spatial factor held to 1 takes the dim off both axes. */
        if (k == MAPCONS_SPATIAL && lc->hi[k][d] == 1)
          for (int x = 0; x < ACCEL_MAX_AXES; x++)
            a->level[l].connectivity[x] &= (uint8_t) ~(1u << d);
      }
    /* Timeloop unrolls a dim on X or on Y of a fan-out, never on both
     * (uber.cpp, AssignSpatialTilingDirections) */
    int naxes = 0;
    for (int x = 0; x < ACCEL_MAX_AXES; x++) naxes += a->level[l].fanout[x] > 1;
    if (naxes > 1) lc->one_axis = true;
    /* timeloopfe (Dataspace2BranchProcessor): a branch of a !Parallel
     * bypasses every data space it does not keep */
    if (t->comp[l].branch) a->level[l].keeps_allowed &= a->level[l].keeps_required;
    /* timeloopfe holds the temporal loops of the levels it adds to 1 */
    if (t->comp[l].added)
      for (int d = 0; d < NDIMS; d++)
        if (!lc->lo[MAPCONS_TEMPORAL][d] && !lc->hi[MAPCONS_TEMPORAL][d])
          lc->lo[MAPCONS_TEMPORAL][d] = lc->hi[MAPCONS_TEMPORAL][d] = 1;
  }
  if (t->nerr) {
    xfree(src);
    return;
  }
  /* An axis without fan-out keeps every dimension (nothing unrolls there);
   * an axis with fan-out and no dimension left still names G, which the
   * problem holds at 1 when the shape has no groups. */
  for (int l = 0; l < a->nlevels; l++)
    for (int x = 0; x < ACCEL_MAX_AXES; x++) {
      Level *L = &a->level[l];
      if (L->fanout[x] <= 1 || !L->connectivity[x])
        L->connectivity[x] = L->fanout[x] <= 1 ? ACCEL_ALL_DIMS : (uint8_t)(1u << DIM_G);
    }
  if (a->level[0].keeps_allowed != ACCEL_ALL_TENSORS) {
    err_at(t, t->comp[0].node, "constraint: the outermost level '%s' must keep every data space",
           a->level[0].name);
    xfree(src);
    return;
  }
  int bl, bd, bk;
  char why[512];
  if (!mapcons_valid(a, &bl, &bd, why, sizeof why)) {
    Ref at = bl >= 0 ? src->first[bl] : (Ref){0};
    if (bl >= 0 && bd >= 0)
      for (int k = 0; k < 2; k++)
        if (src->factor[bl][k][bd].n) at = src->factor[bl][k][bd];
    if (!at.n && bl >= 0) at = t->comp[bl].node;
    char nm[64] = "";
    if (bd >= 0 && t->s->dim_name[bd][0] &&
        (t->s->dim_name[bd][0] != accel_dim_letter(bd) || t->s->dim_name[bd][1]))
      snprintf(nm, sizeof nm, " (%c: the problem's '%s')", accel_dim_letter(bd),
               t->s->dim_name[bd]);
    err_at(t, at, "contradictory constraints: %s%s", why, nm);
  } else if ((t->s->have & TL_HAVE_PROBLEM) &&
             !mapcons_feasible(a, &t->s->problem, &bl, &bk, &bd, why, sizeof why)) {
    Ref at = bl >= 0 && bd >= 0 ? src->factor[bl][bk][bd] : (Ref){0};
    for (int l = 0; !at.n && bd >= 0 && l < a->nlevels; l++)
      for (int k = 0; k < 2 && !at.n; k++) at = src->factor[l][k][bd];
    if (!at.n && bd < 0 && src->util.n) at = src->util; /* min parallelism */
    if (!at.n) at = t->problem;
    char nm[64] = "";
    if (bd >= 0 && t->s->dim_name[bd][0] &&
        (t->s->dim_name[bd][0] != accel_dim_letter(bd) || t->s->dim_name[bd][1]))
      snprintf(nm, sizeof nm, " (%c: the problem's '%s')", accel_dim_letter(bd),
               t->s->dim_name[bd]);
    err_at(t, at, "constraints on the problem: %s%s", why, nm);
  }
  xfree(src);
}

/* ---- mapping ------------------------------------------------------------------------ */

static void read_mapping(Tl *t) {
  const Arch *a = &t->s->arch;
  Mapping *m = &t->s->mapping;
  Ref lst = t->mapping;
  if (is_map(lst) && getv(lst, "targets").n) lst = getv(lst, "targets");
  if (!is_seq(lst)) {
    err_at(t, lst,
           "'mapping': expected a list of directives (target, type, factors, permutation, ...)");
    return;
  }
  m->nlevels = a->nlevels;
  bool has[ACCEL_MAX_LEVELS][3] = {{0}};
  /* A level without a datatype directive keeps what its constraints allow
   * (timeloopfe hands the constraints to timeloop-model as directives). */
  for (int l = 0; l < a->nlevels; l++) level_mapping_init(&m->level[l], a->level[l].keeps_allowed);
  for (int i = 0; i < seq_len(lst); i++) {
    Ref c = seq_at(lst, i);
    Ref tg = getv(c, "target"), ty = getv(c, "type");
    if (!is_map(c) || !tg.n || !scal(ty)) {
      err_at(t, c, "mapping directive: needs 'target' and 'type'");
      return;
    }
    int l = -1;
    const char *tn = scal(tg);
    char *end;
    long id = tn ? strtol(tn, &end, 10) : -1;
    if (tn && *tn && !*end) { /* a storage level id, 0 innermost */
      l = (id >= 0 && id < a->nlevels) ? a->nlevels - 1 - (int)id : -1;
    } else if (tn) {
      l = level_by_name(a, tn);
    }
    if (l < 0) {
      char names[512];
      size_t u = 0;
      names[0] = 0;
      for (int k = 0; k < a->nlevels && u < sizeof names; k++)
        u += (size_t)snprintf(names + u, sizeof names - u, "%s%s", k ? ", " : "", a->level[k].name);
      err_at(t, tg, "mapping: target '%s' is not a storage level of the architecture (%s)",
             tn ? tn : "?", names);
      return;
    }
    const char *tys = scal(ty);
    int kind = key_eq(tys, "temporal")  ? 0
               : key_eq(tys, "spatial") ? 1
               : (key_eq(tys, "datatype") || key_eq(tys, "bypass") || key_eq(tys, "dataspace"))
                   ? 2
                   : -1;
    if (kind < 0) {
      err_at(t, ty,
             "mapping: directive type '%s' is not modelled (temporal, spatial, datatype/bypass)",
             tys);
      return;
    }
    if (has[l][kind]) {
      err_at(t, c, "mapping: a second %s directive for '%s'", tys, a->level[l].name);
      return;
    }
    has[l][kind] = true;
    LevelMapping *lm = &m->level[l];
    if (kind == 2) {
      int keep = tensor_list(t, getv(c, "keep"), "keep"),
          byp = tensor_list(t, getv(c, "bypass"), "bypass");
      if (keep < 0 || byp < 0) return;
      if (keep & byp) {
        err_at(t, c, "mapping: '%s' both keeps and bypasses a data space", a->level[l].name);
        return;
      }
      lm->keep = (uint8_t)((lm->keep | keep) & ~byp);
      continue;
    }
    static const char *const dir_keys[] = {
        "target",   "type", "factors", "permutation",
        "split",    "keep", "bypass",  "no_multicast_no_reduction",
        "no_reuse", NULL};
    for (yaml_node_pair_t *pr = c.n->data.mapping.pairs.start; pr < c.n->data.mapping.pairs.top;
         pr++) {
      Ref k = {c.f, yaml_document_get_node(&c.f->doc, pr->key)};
      bool ok = false;
      for (int q = 0; scal(k) && dir_keys[q]; q++) ok |= key_eq(scal(k), dir_keys[q]);
      if (!ok) {
        err_at(t, k, "mapping directive: '%s' is not modelled", scal(k) ? scal(k) : "?");
        return;
      }
    }
    int64_t f[NDIMS], rem[NDIMS];
    for (int d = 0; d < NDIMS; d++) f[d] = 1, rem[d] = 0;
    Ref fr = getv(c, "factors");
    if (fr.n && !parse_factors(t, fr, f, kind == 0 ? rem : NULL, NULL, "factors")) return;
    int perm[NDIMS], np = 0, ntl;
    Ref pr = getv(c, "permutation");
    if (pr.n && !parse_perm(t, pr, perm, &np, &ntl, "permutation")) return;
    /* Missing dims follow the listed ones (outwards), as Timeloop pads them. */
    bool in[NDIMS] = {0};
    for (int k = 0; k < np; k++) in[perm[k]] = true;
    int full[NDIMS], nf = np;
    memcpy(full, perm, sizeof(int) * (size_t)np);
    for (int i2 = 0; i2 < t->ndims; i2++)
      if (t->drole[i2] >= 0 && !in[t->drole[i2]])
        full[nf++] = t->drole[i2], in[t->drole[i2]] = true;
    for (int d = 0; d < NDIMS; d++)
      if (!in[d]) full[nf++] = d;
    if (kind == 0) {
      for (int d = 0; d < NDIMS; d++) lm->factor[d] = f[d], lm->remainder[d] = rem[d];
      for (int k = 0; k < NDIMS; k++) lm->order[k] = (uint8_t)full[NDIMS - 1 - k];
    } else {
      /* Spatial: the first `split` of Timeloop's (innermost-first)
       * permutation go on X, the rest on Y; with no split, all on X. */
      int64_t split = t->ndims;
      Ref sr = getv(c, "split");
      if (sr.n && !int_at(t, sr, NULL, "split", &split)) return;
      if (a->level[l].fanout[AXIS_X] * a->level[l].fanout[AXIS_Y] <= 1) {
        err_at(t, c, "mapping: a spatial directive for '%s', which has no fan-out",
               a->level[l].name);
        return;
      }
      /* positions counted over Timeloop's dims, no-role ones included */
      int tl_pos[NDIMS];
      for (int d = 0; d < NDIMS; d++) tl_pos[d] = 1000;
      if (pr.n) {
        int pos = 0;
        char names[TL_MAX_DIMS][16];
        int k = 0;
        if (scal(pr)) {
          for (const char *p = scal(pr); *p && k < TL_MAX_DIMS; p++)
            if (*p != ' ' && *p != ',' && *p != '\t') names[k][0] = *p, names[k++][1] = 0;
        } else {
          for (int q = 0; q < seq_len(pr) && k < TL_MAX_DIMS; q++)
            snprintf(names[k++], 16, "%s", scal(seq_at(pr, q)));
        }
        for (int q = 0; q < k; q++, pos++) {
          int d = dim_by_name(t, names[q], strlen(names[q]));
          if (d >= 0) tl_pos[d] = pos;
        }
      }
      int xs[NDIMS], ys[NDIMS], nx = 0, ny = 0;
      for (int k = 0; k < nf; k++) {
        int d = full[k];
        int pos =
            tl_pos[d] < 1000 ? tl_pos[d] : 100 + k; /* padded dims come after the listed ones */
        if (pos < split)
          xs[nx++] = d;
        else
          ys[ny++] = d;
      }
      for (int d = 0; d < NDIMS; d++) lm->spatial[AXIS_X][d] = lm->spatial[AXIS_Y][d] = 1;
      for (int k = 0; k < nx; k++) lm->spatial[AXIS_X][xs[k]] = f[xs[k]];
      for (int k = 0; k < ny; k++) lm->spatial[AXIS_Y][ys[k]] = f[ys[k]];
      /* naasc's spatial order is outermost first */
      uint8_t ox[NDIMS], oy[NDIMS];
      for (int k = 0; k < nx; k++) ox[k] = (uint8_t)xs[nx - 1 - k];
      for (int k = 0; k < ny; k++) oy[k] = (uint8_t)ys[ny - 1 - k];
      int kx = nx, ky = ny;
      for (int k = 0; k < ny; k++) ox[kx++] = (uint8_t)ys[ny - 1 - k];
      for (int k = 0; k < nx; k++) oy[ky++] = (uint8_t)xs[nx - 1 - k];
      memcpy(lm->spatial_order[AXIS_X], ox, NDIMS);
      memcpy(lm->spatial_order[AXIS_Y], oy, NDIMS);
      Ref nm = getv(c, "no_multicast_no_reduction");
      if (!nm.n) nm = getv(c, "no_reuse");
      if (nm.n) {
        int mask = tensor_list(t, nm, "no_multicast_no_reduction");
        if (mask < 0) return;
        const Level *L = &a->level[l];
        bool want_mc = (mask >> TENSOR_W & 1) && (mask >> TENSOR_I & 1),
             any_mc = mask & ((1 << TENSOR_W) | (1 << TENSOR_I));
        if ((any_mc && !want_mc) || want_mc != L->no_multicast ||
            (bool)(mask >> TENSOR_O & 1) != L->no_reduction) {
          err_at(
              t, nm,
              "mapping: no_multicast_no_reduction at '%s': naasc models multicast (weights and inputs "
              "together) and reduction per level, as the architecture's naasc_no_multicast and "
              "naasc_no_reduction attributes",
              L->name);
          return;
        }
      }
    }
  }
  if (!t->nerr) t->s->have |= TL_HAVE_MAPPING;
}

/* ---- the load ------------------------------------------------------------------------- */

/* Looks beside path for one *.ERT.yaml / ERT.yaml and *.ART.yaml / ART.yaml. */
static bool add_tables_beside(Tl *t, const char *path, PathList *pl, bool ert, bool art) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash)
    *slash = 0;
  else
    snprintf(dir, sizeof dir, ".");
  char **names;
  int n = list_dir(t, dir, &names);
  if (n < 0) return false;
  const char *hit[2] = {NULL, NULL};
  bool ok = true;
  for (int i = 0; i < n; i++) {
    for (int k = 0; k < 2; k++) {
      const char *suf = k ? "ART.yaml" : "ERT.yaml";
      if (!(k ? art : ert) || !ends_with(names[i], suf)) continue;
      size_t len = strlen(names[i]);
      if (len > 8 && names[i][len - 9] != '.') continue;
      if (hit[k]) {
        err_at(
            t, (Ref){0},
            "%s: two Accelergy %s tables beside the architecture (%s and %s): give the one to read",
            dir, k ? "ART" : "ERT", hit[k], names[i]);
        ok = false;
      }
      hit[k] = names[i];
    }
  }
  for (int k = 0; ok && k < 2; k++)
    if (hit[k]) ok = paths_add(t, pl, strcmp(dir, ".") ? dir : "", hit[k]);
  names_free(names, n);
  return ok;
}

Rc timeloop_load(const char *const *paths, int npaths, unsigned need, TimeloopSpec *s, Diag *d) {
  memset(s, 0, sizeof *s);
  Tl *t = xcalloc(1, sizeof *t); /* large: on the heap, so that threads may load at once */
  if (!t || !(t->files = xcalloc(TL_MAX_FILES, sizeof *t->files))) {
    xfree(t);
    diag_error(d, NULL, "out of memory");
    return RC_INTERNAL;
  }
  t->d = d;
  t->s = s;
  PathList pl = {{0}, 0};
  t->where = npaths ? paths[0] : NULL;
  for (int i = 0; i < npaths && !t->nerr; i++) {
    if (is_dir(paths[i])) {
      expand_dir(t, paths[i], &pl, s->stats_path, sizeof s->stats_path);
    } else if (ends_with(paths[i], ".stats.txt") || ends_with(paths[i], "stats.txt")) {
      if (s->stats_path[0])
        err_at(t, (Ref){0}, "%s: a second statistics file (also %s)", paths[i], s->stats_path);
      snprintf(s->stats_path, sizeof s->stats_path, "%s", paths[i]);
    } else {
      paths_add(t, &pl, "", paths[i]);
    }
  }
  for (int i = 0; i < pl.n && !t->nerr; i++) {
    TlFile *f = file_load(t, pl.p[i]);
    if (f) read_sections(t, f);
  }
  /* An architecture file given alone: its energy and area tables beside it. */
  if (!t->nerr && t->arch.n && !t->ert.n) {
    PathList more = {{0}, 0};
    if (add_tables_beside(t, t->arch.f->path, &more, true, !t->art.n))
      for (int i = 0; i < more.n && !t->nerr; i++) {
        TlFile *f = file_load(t, more.p[i]);
        if (f) read_sections(t, f);
      }
    paths_free(&more);
  }
  if (!t->nerr) {
    if (!t->arch.n && (need & (TL_HAVE_ARCH | TL_HAVE_MAPPING)))
      err_at(t, (Ref){0}, "no Timeloop architecture in the inputs (a file with 'architecture:')");
    else if (!t->problem.n && (need & (TL_HAVE_PROBLEM | TL_HAVE_MAPPING)))
      err_at(t, (Ref){0}, "no Timeloop problem in the inputs (a file with 'problem:')");
    else if (!t->mapping.n && (need & TL_HAVE_MAPPING))
      err_at(t, (Ref){0}, "no mapping in the inputs (a *.map.yaml, or a file with 'mapping:')");
  }
  if (!t->nerr && t->problem.n) read_problem(t);
  if (!t->nerr && !t->problem.n) { /* an architecture alone: Timeloop's usual data-space names */
    snprintf(t->tname[TENSOR_W], sizeof t->tname[0], "Weights");
    snprintf(t->tname[TENSOR_I], sizeof t->tname[0], "Inputs");
    snprintf(t->tname[TENSOR_O], sizeof t->tname[0], "Outputs");
    static const char *const std[NDIMS] = {"", "N", "M", "C", "P", "Q", "R", "S"};
    static const char *const names[] = {"C", "M", "R", "S", "N", "P", "Q"};
    static const int roles[] = {DIM_C, DIM_K, DIM_R, DIM_S, DIM_N, DIM_P, DIM_Q};
    t->ndims = 7;
    for (int i = 0; i < 7; i++)
      snprintf(t->dname[i], sizeof t->dname[i], "%s", names[i]), t->drole[i] = roles[i];
    for (int dd = 0; dd < NDIMS; dd++)
      snprintf(s->dim_name[dd], sizeof s->dim_name[0], "%s", std[dd]);
  }
  if (!t->nerr && t->arch.n) {
    Ref ver = getv(t->arch, "version");
    const char *vs = scal(ver);
    if (vs && strcmp(vs, "0.2") != 0 && strcmp(vs, "0.3") != 0 && strcmp(vs, "0.4") != 0)
      err_at(t, ver, "'architecture.version' %s: naasc reads Timeloop specifications v0.2 to v0.4",
             vs);
    else if (getv(t->arch, "nodes").n)
      t->v4 = true, walk_nodes(t, getv(t->arch, "nodes"));
    else if (getv(t->arch, "subtree").n) {
      Ref sub = getv(t->arch, "subtree");
      if (!is_seq(sub) || seq_len(sub) != 1)
        err_at(t, sub, "'architecture.subtree': Timeloop reads one subtree per level");
      else
        walk_tree(t, seq_at(sub, 0), 1, (Scope){{{0}}, 0}, 0);
    } else
      err_at(t, t->arch, "'architecture': expected 'nodes' (v0.4) or 'subtree' (the tree form)");
    if (!t->nerr) build_arch(t);
    if (!t->nerr) apply_constraints(t);
  }
  if (!t->nerr && t->mapping.n && (s->have & TL_HAVE_ARCH) && (s->have & TL_HAVE_PROBLEM))
    read_mapping(t);
  for (int dd = 0; dd < NTENSORS; dd++)
    snprintf(s->tensor_name[dd], sizeof s->tensor_name[0], "%s", t->tname[dd]);
  paths_free(&pl);
  files_free(t);
  int nerr = t->nerr;
  xfree(t);
  if (nerr) {
    s->have = 0;
    return RC_BADINPUT;
  }
  return RC_OK;
}

/* ---- telling the formats apart --------------------------------------------------------- */

SpecKind spec_file_kind(const char *path) {
  FILE *in = fopen(path, "rb");
  if (!in) return SPEC_UNREADABLE;
  yaml_parser_t parser;
  yaml_document_t doc;
  SpecKind k = SPEC_UNREADABLE;
  if (!yaml_parser_initialize(&parser)) {
    fclose(in);
    return k;
  }
  yaml_parser_set_input_file(&parser, in);
  if (yaml_parser_load(&parser, &doc)) {
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (root && root->type == YAML_MAPPING_NODE) {
      static const char *const tl[] = {"architecture",
                                       "architecture_constraints",
                                       "mapspace_constraints",
                                       "problem",
                                       "mapping",
                                       "ERT",
                                       "ART",
                                       "compound_components",
                                       "components",
                                       "variables",
                                       "mapper",
                                       "globals",
                                       "sparse_optimizations",
                                       NULL};
      static const char *const nc[] = {"levels",    "dims",   "mac",      "vector_unit",
                                       "clock_mhz", "stride", "dilation", NULL};
      bool is_tl = false, is_nc = false;
      for (yaml_node_pair_t *pr = root->data.mapping.pairs.start; pr < root->data.mapping.pairs.top;
           pr++) {
        yaml_node_t *kn = yaml_document_get_node(&doc, pr->key);
        const char *ks =
            kn && kn->type == YAML_SCALAR_NODE ? (const char *)kn->data.scalar.value : "";
        for (int i = 0; tl[i]; i++) is_tl |= key_eq(ks, tl[i]);
        for (int i = 0; nc[i]; i++) is_nc |= strcmp(ks, nc[i]) == 0;
      }
      k = is_tl ? SPEC_TIMELOOP : is_nc ? SPEC_NAASC : SPEC_OTHER;
    } else {
      k = SPEC_OTHER;
    }
    yaml_document_delete(&doc);
  }
  yaml_parser_delete(&parser);
  fclose(in);
  return k;
}

/* ---- statistics ------------------------------------------------------------------------- */

/* The number after the last ':' of line (0 if none). */
static double stat_value(const char *line) {
  const char *c = strrchr(line, ':');
  return c ? strtod(c + 1, NULL) : 0;
}

/* A count of a statistics line: a whole number from 0 to 2^62 (a larger
 * one, or a negative one, is no count of any run naasc can compare with);
 * else an error at where, *bad set, and 0. */
static int64_t stat_count(const char *line, const char *where, Diag *d, bool *bad) {
  double v = stat_value(line);
  if (v >= 0 && v <= 0x1p62 && v == floor(v)) return (int64_t)v;
  if (!*bad) {
    const char *c = strrchr(line, ':');
    diag_error(d, where, "'%s' is not a count (a whole number from 0 to 2^62)", c ? c + 1 : line);
  }
  *bad = true;
  return 0;
}

static bool stat_is(const char *line, const char *key) {
  while (*line == ' ') line++;
  size_t n = strlen(key);
  if (strncmp(line, key, n) != 0) return false;
  line += n;
  while (*line == ' ') line++;
  return *line == ':';
}

Rc timeloop_stats_load(const char *path, const TimeloopSpec *s, CostResult *want,
                       bool stated[ACCEL_MAX_LEVELS], Diag *d) {
  const Arch *a = &s->arch;
  FILE *in = fopen(path, "r");
  const char *saved = d->file;
  d->file = path;
  memset(want, 0, sizeof *want);
  for (int l = 0; l < ACCEL_MAX_LEVELS; l++) stated[l] = false;
  if (!in) {
    diag_error(d, NULL, "cannot open: %s", strerror(errno));
    d->file = saved;
    return RC_BADINPUT;
  }
  want->nlevels = a->nlevels;
  want->bottleneck = -1;
  char line[1024];
  int lno = 0, level = -2, tensor = -1; /* level -1: the MACs, -2: none */
  bool summary = false, tail = false, in_stats = false, mac_seen = false, bad = false;
  double total_uj = -1;
  int64_t per[NTENSORS][3];
  int64_t util[NTENSORS];
  Rc rc = RC_OK;
  memset(per, 0, sizeof per);
  memset(util, 0, sizeof util);
  while (fgets(line, sizeof line, in)) {
    if (bad) { /* a line of the last iteration was not a count (reported) */
      rc = RC_BADINPUT;
      break;
    }
    lno++;
    char where[32];
    snprintf(where, sizeof where, "%d:1", lno);
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
    if (strncmp(line, "=== ", 4) == 0 && n > 8 && strcmp(line + n - 4, " ===") == 0) {
      char nm[ACCEL_NAME_MAX + 8];
      snprintf(nm, sizeof nm, "%.*s", (int)(n - 8), line + 4);
      if (tail) { /* the per-level lines of the operational-intensity section */
        level = -2;
        continue;
      }
      level = -2;
      for (int l = 0; l < a->nlevels; l++)
        if (strcmp(a->level[l].name, nm) == 0) level = l;
      if (level >= 0) {
        stated[level] = true;
      } else if (strcmp(nm, s->mac_name) == 0) {
        level = -1;
        mac_seen = true;
      } else {
        diag_error(d, where, "'%s' is not a level of the architecture", nm);
        rc = RC_BADINPUT;
        break;
      }
      tensor = -1;
      in_stats = false;
      continue;
    }
    if (strncmp(line, "Summary Stats", 13) == 0 || strncmp(line, "Networks", 8) == 0 ||
        strncmp(line, "Operational Intensity Stats", 27) == 0) {
      summary = summary || strncmp(line, "Summary Stats", 13) == 0;
      tail = true;
      level = -2;
      continue;
    }
    if (summary) {
      if (strncmp(line, "Cycles:", 7) == 0)
        want->cycles = stat_count(line, where, d, &bad);
      else if (strncmp(line, "Energy:", 7) == 0)
        total_uj = strtod(line + 7, NULL);
      else if (strncmp(line, "Utilization:", 12) == 0)
        want->utilization = strtod(line + 12, NULL) / 100;
      continue;
    }
    if (level == -1) {
      if (stat_is(line, "Utilized instances"))
        want->mac_utilized_instances = stat_count(line, where, d, &bad);
      else if (stat_is(line, "Computes (total)"))
        want->macs = stat_count(line, where, d, &bad);
      else if (stat_is(line, "Cycles"))
        want->compute_cycles = stat_count(line, where, d, &bad);
      else if (stat_is(line, "Energy (total)"))
        want->mac_energy_pj = stat_value(line);
      continue;
    }
    if (level < 0) continue;
    LevelCost *lc = &want->level[level];
    if (strncmp(line, "    STATS", 9) == 0) {
      in_stats = true;
      continue;
    }
    if (stat_is(line, "Leakage energy (total)")) {
      lc->energy_pj += stat_value(line);
      continue;
    }
    if (!in_stats) continue;
    if (stat_is(line, "Cycles")) {
      lc->cycles = stat_count(line, where, d, &bad);
      continue;
    }
    if (stat_is(line, "Bandwidth throttling")) {
      lc->slowdown = stat_value(line);
      continue;
    }
    /* "    Weights:" opens a data space's block */
    if (n > 5 && strncmp(line, "    ", 4) == 0 && line[4] != ' ' && line[n - 1] == ':') {
      char nm[ACCEL_NAME_MAX];
      snprintf(nm, sizeof nm, "%.*s", (int)(n - 5), line + 4);
      tensor = -1;
      for (int k = 0; k < NTENSORS; k++)
        if (strcmp(s->tensor_name[k], nm) == 0) tensor = k;
      if (tensor < 0) {
        diag_error(d, where, "'%s' is not a data space of the problem", nm);
        rc = RC_BADINPUT;
        break;
      }
      continue;
    }
    if (tensor < 0) continue;
    if (stat_is(line, "Partition size"))
      lc->partition_words[tensor] = stat_count(line, where, d, &bad);
    else if (stat_is(line, "Utilized capacity"))
      lc->tile_words[tensor] = stat_count(line, where, d, &bad);
    else if (stat_is(line, "Utilized instances (max)"))
      lc->utilized_instances = util[tensor] = stat_count(line, where, d, &bad);
    else if (stat_is(line, "Scalar reads (per-instance)"))
      lc->per_instance[tensor].reads = stat_count(line, where, d, &bad);
    else if (stat_is(line, "Scalar fills (per-instance)"))
      lc->per_instance[tensor].fills = stat_count(line, where, d, &bad);
    else if (stat_is(line, "Scalar updates (per-instance)"))
      lc->per_instance[tensor].updates = stat_count(line, where, d, &bad);
    else if (stat_is(line, "Energy (total)")) {
      double e = stat_value(line);
      lc->tensor_energy_pj[tensor] = e;
      lc->energy_pj += e;
      want->tensor_energy_pj[tensor] += e;
      const AccessCounts *p = &lc->per_instance[tensor];
      int64_t u = util[tensor];
      AccessCounts *tot = &lc->total[tensor];
      if (!ck_mul_i64(p->reads, u, &tot->reads) || !ck_mul_i64(p->fills, u, &tot->fills) ||
          !ck_mul_i64(p->updates, u, &tot->updates)) {
        diag_error(d, where, "data space '%s': its counts times its %lld instances pass 2^63",
                   s->tensor_name[tensor], (long long)u);
        rc = RC_BADINPUT;
        break;
      }
      util[tensor] = 0;
    }
  }
  fclose(in);
  if (bad) rc = RC_BADINPUT;
  if (rc == RC_OK && (!mac_seen || !want->cycles || total_uj < 0)) {
    diag_error(d, NULL, "not Timeloop statistics: %s missing",
               !mac_seen       ? "the compute level"
               : !want->cycles ? "'Cycles:' of the summary"
                               : "'Energy:' of the summary");
    rc = RC_BADINPUT;
  }
  if (rc == RC_OK) {
    want->energy_pj = want->mac_energy_pj;
    for (int l = 0; l < a->nlevels; l++) want->energy_pj += want->level[l].energy_pj;
    /* The parts must add up to the printed total (2 decimals in uJ): a level
     * missed by the parser would show here. */
    if (fabs(want->energy_pj * 1e-6 - total_uj) > 0.0051 + 1e-4 * total_uj) {
      diag_error(d, NULL, "the levels' energies add up to %.4f uJ, the summary says %.2f uJ",
                 want->energy_pj * 1e-6, total_uj);
      rc = RC_BADINPUT;
    }
  }
  d->file = saved;
  return rc;
}

/* ---- printing in Timeloop's terms ---------------------------------------------------------- */

void timeloop_print_result(FILE *f, const TimeloopSpec *s, const CostResult *r) {
  const Arch *a = &s->arch;
  const Problem *p = &s->problem;
  fprintf(f, "problem %s:", p->name);
  for (int d = 0; d < NDIMS; d++)
    if (s->dim_name[d][0]) fprintf(f, " %s=%lld", s->dim_name[d], (long long)p->dim[d]);
  fprintf(f, ", strides %lld %lld, dilations %lld %lld\n", (long long)p->stride[0],
          (long long)p->stride[1], (long long)p->dilation[0], (long long)p->dilation[1]);
  fprintf(f, "architecture %s: %d storage levels, %lld MACs\n\n", a->name, a->nlevels,
          (long long)a->mac_instances);
  fprintf(f, "=== %s ===\n", s->mac_name);
  fprintf(f, "    Utilized instances      : %lld\n", (long long)r->mac_utilized_instances);
  fprintf(f, "    Computes (total)        : %lld\n", (long long)r->macs);
  fprintf(f, "    Cycles                  : %lld\n", (long long)r->compute_cycles);
  fprintf(f, "    Energy (total)          : %.2f pJ\n", r->mac_energy_pj);
  for (int l = a->nlevels - 1; l >= 0; l--) {
    const Level *L = &a->level[l];
    const LevelCost *lc = &r->level[l];
    bool any = false;
    for (int t = 0; t < NTENSORS; t++) any |= lc->tile_words[t] > 0;
    fprintf(f, "\n=== %s ===\n", L->name);
    fprintf(f, "    Instances            : %lld (%lld*%lld)\n", (long long)L->instances,
            (long long)L->mesh_x, (long long)L->mesh_y);
    if (!any) {
      fprintf(f, "    (keeps no data space)\n");
      continue;
    }
    fprintf(f, "    Cycles               : %lld\n", (long long)lc->cycles);
    fprintf(f, "    Bandwidth throttling : %.2f\n", lc->slowdown);
    if (L->leak_pj_per_cycle > 0)
      fprintf(f, "    Leakage energy (total) : %.2f pJ\n",
              lc->energy_pj - lc->tensor_energy_pj[0] - lc->tensor_energy_pj[1] -
                  lc->tensor_energy_pj[2]);
    for (int t = 0; t < NTENSORS; t++) {
      if (!lc->tile_words[t]) continue;
      fprintf(f, "    %s:\n", s->tensor_name[t]);
      fprintf(f, "        Partition size                : %lld\n",
              (long long)lc->partition_words[t]);
      fprintf(f, "        Utilized capacity             : %lld\n", (long long)lc->tile_words[t]);
      fprintf(f, "        Utilized instances (max)      : %lld\n",
              (long long)lc->utilized_instances);
      fprintf(f, "        Scalar reads (per-instance)   : %lld\n",
              (long long)lc->per_instance[t].reads);
      fprintf(f, "        Scalar fills (per-instance)   : %lld\n",
              (long long)lc->per_instance[t].fills);
      fprintf(f, "        Scalar updates (per-instance) : %lld\n",
              (long long)lc->per_instance[t].updates);
      fprintf(f, "        Energy (total)                : %.2f pJ\n", lc->tensor_energy_pj[t]);
    }
  }
  fprintf(f, "\nSummary Stats\n-------------\n");
  fprintf(f, "Utilization: %.2f%%\n", 100 * r->utilization);
  fprintf(f, "Cycles: %lld\n", (long long)r->cycles);
  fprintf(f, "Energy: %.2f uJ\n", r->energy_pj * 1e-6);
  fprintf(f, "EDP(J*cycle): %.2e\n", r->energy_pj * 1e-12 * (double)r->cycles);
  if (r->area_um2 > 0)
    fprintf(f, "Area: %.2f mm^2 (Accelergy's ART x instances)\n", r->area_um2 * 1e-6);
  fprintf(f, "\nComputes = %lld\nfJ/Compute\n", (long long)r->macs);
  fprintf(f, "    %-45s = %.2f\n", s->mac_name, r->mac_energy_pj * 1000 / (double)r->macs);
  for (int l = a->nlevels - 1; l >= 0; l--)
    if (r->level[l].energy_pj > 0)
      fprintf(f, "    %-45s = %.2f\n", a->level[l].name,
              r->level[l].energy_pj * 1000 / (double)r->macs);
  fprintf(f, "    %-45s = %.2f\n", "Total", r->energy_pj * 1000 / (double)r->macs);
}

Rc timeloop_tech_arch(const TimeloopSpec *s, double nm, Arch *out, Diag *d) {
  *out = s->arch;
  Arch *a = out;
  a->tech_nm = nm > 0 ? nm : s->tech_nm;
  if (a->tech_nm <= 0) {
    diag_error(d, NULL,
               "design '%s' names no technology node (a component's `technology: 45nm`): give one",
               s->design);
    return RC_BADINPUT;
  }
  for (int t = 0; t < NTENSORS; t++) { /* each operand's width: the MAC's multiplier (W, I) */
    a->tensor_bits[t] = 16;            /* and adder (O) widths, else its innermost level's word */
    for (int l = 0; l < a->nlevels; l++)
      if ((a->level[l].keeps_allowed >> t & 1) && !a->level[l].is_dram)
        a->tensor_bits[t] = a->level[l].word_bits;
    int mb = s->mac_bits[t == TENSOR_O ? 1 : 0];
    if (mb > 0) a->tensor_bits[t] = mb;
  }
  for (int l = 0; l < a->nlevels; l++) {
    Level *L = &a->level[l];
    if (!L->keeps_allowed) continue; /* timeloopfe's dummy levels cost nothing */
    const char *cls = s->level_class[l];
    L->derived = LEVEL_TECH_ENERGY | LEVEL_TECH_LEAK | LEVEL_TECH_AREA;
    L->e_read_pj = L->e_fill_pj = L->e_update_pj = L->leak_pj_per_cycle = 0;
    L->area_um2_per_word = L->area_um2_fixed = 0;
    if (L->is_dram) {
      L->dram_type = TECH_LPDDR4;
      continue;
    }
    L->memory = strstr(cls, "RF") || strstr(cls, "regfile") || strstr(cls, "reg_file")
                    ? LEVEL_MEM_REGFILE
                    : LEVEL_MEM_SRAM;
    /* n_banks as given, at most one bank a row and 32 (the model's range:
     * timeloopfe's exercises give 2 banks to one-row registers) */
    int64_t rows = L->block_words > 0 ? L->capacity_words / L->block_words : 1;
    int64_t banks = s->level_banks[l];
    if (banks > rows) banks = rows > 0 ? rows : 1;
    L->banks = (int)(banks > 32 ? 32 : banks);
  }
  a->mac_derived = LEVEL_TECH_ENERGY | LEVEL_TECH_AREA;
  a->mac_energy_pj = a->mac_area_um2 = 0;
  return arch_apply_tech(a, d);
}
