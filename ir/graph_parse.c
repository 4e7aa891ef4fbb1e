/*
 * graph_parse.c: the parser of the graph IR text form that graph_print
 * writes (--emit=graph, the graph-level dumps of --print-ir-* and
 * --print-ir-tree-dir; docs/ir.md, "The graph text form").  A line-oriented
 * recursive descent: every statement is one line (a subgraph opens with
 * `LABEL "NAME" {` on the line after its node and closes with `}`), and
 * every error names line:col and what was expected there.  A line whose
 * first character (after indentation) is '#' is a comment, so the dumps of
 * --print-ir-after-all, headed `# *** IR Dump ...`, parse as they are; on a
 * node line `  # NAME` is the node's name.
 *
 * Attributes are read back through the same tables that print them: the
 * hand-printed ones of the first ops (their keys listed in hand_keys) and
 * the AttrSpec rows of the others.  A dump prints a constant's values only
 * when it has at most 8 elements; a larger constant with data is read back
 * without its values and marked `data_elided` (it prints the same, and
 * whatever needs the values, the command stream, refuses it by name).
 * The parser checks syntax, names and arities; the checks of an imported
 * model (shapes, attributes against shapes) are graph_infer's, which
 * graph_import_text (frontend/) runs after it.
 */
#include "ir/internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  const char *p, *end;
  int line, col;
  Diag *d;
  bool failed;
} GP;

static int gp_peek(const GP *g) { return g->p < g->end ? (unsigned char)*g->p : -1; }

static void gp_adv(GP *g) {
  if (g->p >= g->end) return;
  if (*g->p == '\n') {
    g->line++;
    g->col = 1;
  } else {
    g->col++;
  }
  g->p++;
}

static void gp_spaces(GP *g) {
  while (gp_peek(g) == ' ' || gp_peek(g) == '\t' || gp_peek(g) == '\r') gp_adv(g);
}

static bool gp_err(GP *g, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static bool gp_err(GP *g, int line, int col, const char *fmt, ...) {
  if (g->failed) return false;
  g->failed = true;
  char where[32];
  snprintf(where, sizeof where, "%d:%d", line, col);
  va_list ap;
  va_start(ap, fmt);
  if (g->d) g->d->nerrors++;
  diag_verror(g->d, "error", where, fmt, ap);
  va_end(ap);
  return false;
}

#define GP_ERR(g, ...) gp_err((g), (g)->line, (g)->col, __VA_ARGS__)

/* What is at the cursor, for "expected X, found Y" messages. */
static const char *gp_found(const GP *g) {
  int c = gp_peek(g);
  return c == -1 ? "the end of the file" : c == '\n' ? "the end of the line" : "something else";
}

static bool gp_char(GP *g, char c) {
  gp_spaces(g);
  if (gp_peek(g) == c) {
    gp_adv(g);
    return true;
  }
  return GP_ERR(g, "expected '%c', found %s", c, gp_found(g));
}

static bool gp_accept(GP *g, char c) {
  gp_spaces(g);
  if (gp_peek(g) != c) return false;
  gp_adv(g);
  return true;
}

/* The end of a statement: spaces, then a newline (or the end of the file). */
static bool gp_eol(GP *g) {
  gp_spaces(g);
  if (gp_peek(g) == -1) return true;
  if (gp_peek(g) == '\n') {
    gp_adv(g);
    return true;
  }
  return GP_ERR(g, "expected the end of the line");
}

/* Blank lines and comment lines, up to the next statement's first character. */
static void gp_skip_lines(GP *g) {
  for (;;) {
    gp_spaces(g);
    int c = gp_peek(g);
    if (c == '\n') {
      gp_adv(g);
    } else if (c == '#') {
      while (gp_peek(g) != -1 && gp_peek(g) != '\n') gp_adv(g);
    } else {
      return;
    }
  }
}

/* A bare word (keyword, op, attribute key, enum name) into buf. */
static bool gp_word(GP *g, char *buf, size_t n, const char *what) {
  gp_spaces(g);
  size_t k = 0;
  int line = g->line, col = g->col;
  while (graph_word_char(gp_peek(g))) {
    if (k + 1 >= n) return gp_err(g, line, col, "%s is too long", what);
    buf[k++] = (char)gp_peek(g);
    gp_adv(g);
  }
  buf[k] = 0;
  return k ? true : GP_ERR(g, "expected %s, found %s", what, gp_found(g));
}

/* "TEXT": graph_print quotes strings and the names that are not bare words,
 * escaping '"', '\\', newline, carriage return and tab as \" \\ \n \r \t and
 * any other control byte as \xHH. */
static const char *gp_string(GP *g, Arena *a) {
  gp_spaces(g);
  if (gp_peek(g) != '"') {
    GP_ERR(g, "expected a quoted string");
    return NULL;
  }
  int line = g->line, col = g->col;
  gp_adv(g);
  size_t cap = 32, k = 0;
  char *buf = xmalloc(cap);
  if (!buf) {
    GP_ERR(g, "out of memory");
    return NULL;
  }
  for (;;) {
    int c = gp_peek(g);
    if (c == -1 || c == '\n') {
      xfree(buf);
      gp_err(g, line, col, "unterminated string");
      return NULL;
    }
    gp_adv(g);
    if (c == '"') break;
    if (c == '\\') {
      int eline = g->line, ecol = g->col - 1, e = gp_peek(g);
      const char *esc = e > 0 ? strchr("\"\\nrtx", e) : NULL;
      if (!esc) {
        xfree(buf);
        gp_err(g, eline, ecol, "unknown escape (known: \\\" \\\\ \\n \\r \\t \\xHH)");
        return NULL;
      }
      gp_adv(g);
      c = e == 'n' ? '\n' : e == 'r' ? '\r' : e == 't' ? '\t' : e;
      if (e == 'x') {
        c = 0;
        for (int d = 0; d < 2; d++) {
          int h = gp_peek(g), x = -1;
          if (h >= '0' && h <= '9') x = h - '0';
          if (h >= 'a' && h <= 'f') x = h - 'a' + 10;
          if (h >= 'A' && h <= 'F') x = h - 'A' + 10;
          if (x < 0) {
            xfree(buf);
            gp_err(g, eline, ecol, "'\\x' needs two hex digits");
            return NULL;
          }
          c = c * 16 + x;
          gp_adv(g);
        }
        if (!c) {
          xfree(buf);
          gp_err(g, eline, ecol, "'\\x00' cannot be in a name or a string");
          return NULL;
        }
      }
    }
    if (k + 1 >= cap) {
      char *nb = cap > SIZE_MAX / 2 ? NULL : xrealloc(buf, cap * 2);
      if (!nb) {
        xfree(buf);
        GP_ERR(g, "out of memory");
        return NULL;
      }
      buf = nb;
      cap *= 2;
    }
    buf[k++] = (char)c;
  }
  const char *r = arena_strndup(a, buf, k);
  xfree(buf);
  if (!r) GP_ERR(g, "out of memory");
  return r;
}

/* %NAME: up to a space, ',', ')' or the end of the line; or %"NAME" (a
 * name with one of those characters, or empty, prints quoted). */
static const char *gp_value_name(GP *g, Arena *a) {
  gp_spaces(g);
  if (gp_peek(g) != '%') {
    GP_ERR(g, "expected a value name ('%%NAME'), found %s", gp_found(g));
    return NULL;
  }
  gp_adv(g);
  if (gp_peek(g) == '"') return gp_string(g, a);
  const char *s = g->p;
  for (int c = gp_peek(g);
       c != -1 && c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != ',' && c != ')';
       c = gp_peek(g))
    gp_adv(g);
  if (g->p == s) {
    GP_ERR(g, "expected a value name after '%%'");
    return NULL;
  }
  const char *r = arena_strndup(a, s, (size_t)(g->p - s));
  if (!r) GP_ERR(g, "out of memory");
  return r;
}

/* A number token: up to a space, ',', ']' or the end of the line. */
static bool gp_numtok(GP *g, char *buf, size_t n, int *line, int *col) {
  gp_spaces(g);
  *line = g->line;
  *col = g->col;
  size_t k = 0;
  for (int c = gp_peek(g);
       c != -1 && c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != ',' && c != ']';
       c = gp_peek(g)) {
    if (k + 1 >= n) return gp_err(g, *line, *col, "number too long");
    buf[k++] = (char)c;
    gp_adv(g);
  }
  buf[k] = 0;
  return k ? true : GP_ERR(g, "expected a number, found %s", gp_found(g));
}

static bool gp_int(GP *g, int64_t *v) {
  char buf[48], *e;
  int line, col;
  if (!gp_numtok(g, buf, sizeof buf, &line, &col)) return false;
  errno = 0;
  long long x = strtoll(buf, &e, 10);
  if (*e || errno) return gp_err(g, line, col, "expected an integer, found '%s'", buf);
  *v = x;
  return true;
}

static bool gp_double(GP *g, double *v, bool as_float) {
  char buf[64], *e;
  int line, col;
  if (!gp_numtok(g, buf, sizeof buf, &line, &col)) return false;
  errno = 0;
  double x = as_float ? (double)strtof(buf, &e) : strtod(buf, &e);
  if (*e || (buf[0] != '-' && buf[0] != '.' && (buf[0] < '0' || buf[0] > '9') &&
             strcmp(buf, "inf") != 0 && strcmp(buf, "nan") != 0))
    return gp_err(g, line, col, "expected a number, found '%s'", buf);
  *v = x;
  return true;
}

static bool gp_float(GP *g, float *v) {
  double x;
  if (!gp_double(g, &x, true)) return false;
  *v = (float)x;
  return true;
}

static bool gp_bool(GP *g, bool *v) {
  int line = g->line, col = g->col;
  int64_t x;
  if (!gp_int(g, &x)) return false;
  if (x != 0 && x != 1) return gp_err(g, line, col, "expected 0 or 1");
  *v = x != 0;
  return true;
}

static bool gp_dtype(GP *g, DType *t, bool none_ok) {
  char w[16];
  int line = g->line, col = g->col;
  if (!gp_word(g, w, sizeof w, "an element type")) return false;
  if (none_ok && strcmp(w, "none") == 0) {
    *t = DT_UNDEF;
    return true;
  }
  for (int v = 0; v < 32; v++)
    if (dtype_valid(v) && strcmp(w, dtype_name((DType)v)) == 0) {
      *t = (DType)v;
      return true;
    }
  return gp_err(g, line, col, "unknown element type '%s'", w);
}

/* [v,v,...] of at most max integers (max < 0: any number, into the arena). */
static bool gp_int_list(GP *g, int64_t *v, int max, int *n) {
  if (!gp_char(g, '[')) return false;
  *n = 0;
  if (gp_accept(g, ']')) return true;
  do {
    int line = g->line, col = g->col;
    int64_t x;
    if (!gp_int(g, &x)) return false;
    if (*n >= max) return gp_err(g, line, col, "more than %d values", max);
    v[(*n)++] = x;
  } while (gp_accept(g, ','));
  return gp_char(g, ']');
}

static bool gp_float_list(GP *g, float *v, int max, int *n) {
  if (!gp_char(g, '[')) return false;
  *n = 0;
  if (gp_accept(g, ']')) return true;
  do {
    int line = g->line, col = g->col;
    float x;
    if (!gp_float(g, &x)) return false;
    if (*n >= max) return gp_err(g, line, col, "more than %d values", max);
    v[(*n)++] = x;
  } while (gp_accept(g, ','));
  return gp_char(g, ']');
}

static int name_index(const char *const *names, int n, const char *w) {
  for (int i = 0; i < n; i++)
    if (strcmp(names[i], w) == 0) return i;
  return -1;
}

static bool gp_enum(GP *g, const char *const *names, int nnames, int *v) {
  char w[64];
  int line = g->line, col = g->col;
  if (!gp_word(g, w, sizeof w, "a name")) return false;
  int k = name_index(names, nnames, w);
  if (k < 0) return gp_err(g, line, col, "unknown value '%s'", w);
  *v = k;
  return true;
}

/* ---- types ---------------------------------------------------------------- */

/* DTYPE[D,D,...] or DTYPE[*]; a dim is a number, '?' or a symbolic name. */
static bool gp_type(GP *g, Arena *a, DType *dt, int *rank, int64_t *dims, const char **params) {
  if (!gp_dtype(g, dt, false) || !gp_char(g, '[')) return false;
  if (gp_accept(g, '*')) {
    *rank = -1;
    return gp_char(g, ']');
  }
  *rank = 0;
  if (gp_accept(g, ']')) return true;
  do {
    gp_spaces(g);
    if (*rank >= NAASC_MAX_RANK) return GP_ERR(g, "more than %d dims", NAASC_MAX_RANK);
    int k = (*rank)++;
    params[k] = NULL;
    dims[k] = -1;
    int c = gp_peek(g);
    if (c == '?') {
      gp_adv(g);
    } else if (c >= '0' && c <= '9') {
      if (!gp_int(g, &dims[k])) return false;
    } else if (c == '"') {
      if (!(params[k] = gp_string(g, a))) return false;
    } else {
      const char *s = g->p;
      while (gp_peek(g) != -1 && gp_peek(g) != ',' && gp_peek(g) != ']' && gp_peek(g) != '\n')
        gp_adv(g);
      if (g->p == s) return GP_ERR(g, "expected a dim");
      if (!(params[k] = arena_strndup(a, s, (size_t)(g->p - s)))) return GP_ERR(g, "out of memory");
    }
  } while (gp_accept(g, ','));
  return gp_char(g, ']');
}

/* A new tensor NAME : TYPE of this kind (a name defined twice is an error). */
static TensorId gp_define(GP *g, Model *m, TensorKind kind) {
  int line = g->line, col = g->col + 1;
  gp_spaces(g);
  line = g->line;
  col = g->col;
  const char *name = gp_value_name(g, &m->arena);
  if (!name || !gp_char(g, ':')) return 0;
  if (model_find_tensor(m, name)) {
    gp_err(g, line, col, "value '%%%s' is defined twice", name);
    return 0;
  }
  DType dt;
  int rank;
  int64_t dims[NAASC_MAX_RANK];
  const char *params[NAASC_MAX_RANK];
  if (!gp_type(g, &m->arena, &dt, &rank, dims, params)) return 0;
  TensorId t = model_add_tensor(m, name, dt, rank, rank > 0 ? dims : NULL, kind);
  if (!t) {
    GP_ERR(g, "out of memory");
    return 0;
  }
  for (int i = 0; i < rank; i++) m->tensors[t].dim_param[i] = params[i];
  return t;
}

/* ---- attributes ----------------------------------------------------------- */

/* The keys graph_print writes by hand for op (NULL: the op prints its AttrSpec rows). */
static const char *hand_keys(Op op) {
  switch (op) {
  case OP_QLINEARCONV:
  case OP_CONVINTEGER:
  case OP_CONV: return " group kernel strides pads dilations ";
  case OP_CONVTRANSPOSE: return " group kernel strides pads dilations output_padding ";
  case OP_MAXUNPOOL: return " kernel strides pads output_shape ";
  case OP_MAXPOOL: return " kernel strides pads dilations ceil_mode ";
  case OP_AVGPOOL: return " kernel strides pads ceil_mode count_include_pad ";
  case OP_GEMM: return " transA transB alpha beta ";
  case OP_LEAKYRELU: return " alpha ";
  case OP_HARDSIGMOID: return " alpha beta ";
  case OP_CLIP: return " min max ";
  case OP_BATCHNORM: return " epsilon ";
  case OP_CONCAT:
  case OP_FLATTEN:
  case OP_GATHER:
  case OP_SOFTMAX: return " axis coerce2d ";
  case OP_TRANSPOSE: return " perm ";
  case OP_SQUEEZE:
  case OP_UNSQUEEZE: return " axes ";
  case OP_REDUCEMEAN: return " axes keepdims noop_with_empty_axes ";
  case OP_CAST: return " to ";
  case OP_RESIZE:
    return " mode coord nearest cubic_a exclude_outside scales from_sizes roi extrapolation ";
  case OP_SLICE: return " starts ends axes steps ";
  case OP_RESHAPE: return " allowzero ";
  default: return NULL;
  }
}

/* A spatial list of `per` * nsp values (kernel sets nsp). */
static bool gp_spatial(GP *g, int64_t *v, int per, int nsp, bool first, int *nout) {
  int line = g->line, col = g->col;
  int n;
  if (!gp_int_list(g, v, per * NAASC_MAX_RANK, &n)) return false;
  if (first) {
    *nout = n;
    return true;
  }
  if (n != per * nsp)
    return gp_err(g, line, col, "expected %d values (the kernel has %d dims), found %d", per * nsp,
                  nsp, n);
  return true;
}

static bool set_hand(GP *g, Op op, Attrs *a, const char *key) {
  int n;
  bool b = false;
  if (!strcmp(key, "group")) return gp_int(g, &a->group);
  if (!strcmp(key, "kernel")) return gp_spatial(g, a->kernel, 1, 0, true, &a->nsp);
  if (!strcmp(key, "strides")) return gp_spatial(g, a->strides, 1, a->nsp, false, &n);
  if (!strcmp(key, "pads")) return gp_spatial(g, a->pads, 2, a->nsp, false, &n);
  if (!strcmp(key, "dilations")) return gp_spatial(g, a->dilations, 1, a->nsp, false, &n);
  if (!strcmp(key, "output_padding")) return gp_spatial(g, a->out_pad, 1, a->nsp, false, &n);
  if (!strcmp(key, "output_shape")) return gp_int_list(g, a->shape, NAASC_MAX_RANK, &a->nshape);
  if (!strcmp(key, "ceil_mode")) return gp_bool(g, &a->ceil_mode);
  if (!strcmp(key, "count_include_pad")) return gp_bool(g, &a->count_include_pad);
  if (!strcmp(key, "transA")) return gp_bool(g, &a->trans_a);
  if (!strcmp(key, "transB")) return gp_bool(g, &a->trans_b);
  if (!strcmp(key, "alpha")) return gp_float(g, &a->alpha);
  if (!strcmp(key, "beta")) return gp_float(g, &a->beta);
  if (!strcmp(key, "min")) return gp_float(g, &a->clip_min);
  if (!strcmp(key, "max")) return gp_float(g, &a->clip_max);
  if (!strcmp(key, "epsilon")) return gp_float(g, &a->epsilon);
  if (!strcmp(key, "axis")) return gp_int(g, &a->axis);
  if (!strcmp(key, "coerce2d")) return gp_bool(g, &a->coerce2d);
  if (op != OP_SLICE && (!strcmp(key, "perm") || !strcmp(key, "axes")))
    return gp_int_list(g, a->axes, NAASC_MAX_RANK, &a->naxes);
  if (!strcmp(key, "keepdims")) return gp_bool(g, &a->keepdims);
  if (!strcmp(key, "noop_with_empty_axes")) return gp_bool(g, &a->noop_empty);
  if (!strcmp(key, "to")) return gp_dtype(g, &a->to, false);
  if (!strcmp(key, "mode")) {
    int v;
    if (!gp_enum(g, rz_mode_names, 3, &v)) return false;
    a->rz_mode = (ResizeMode)v;
    return true;
  }
  if (!strcmp(key, "coord")) {
    int v;
    if (!gp_enum(g, rz_coord_names, 6, &v)) return false;
    a->rz_coord = (ResizeCoord)v;
    return true;
  }
  if (!strcmp(key, "nearest")) {
    int v;
    if (!gp_enum(g, rz_near_names, 4, &v)) return false;
    a->rz_nearest = (ResizeNearest)v;
    return true;
  }
  if (!strcmp(key, "cubic_a")) return gp_float(g, &a->rz_cubic_a);
  if (!strcmp(key, "scales")) return gp_float_list(g, a->rz_scales, NAASC_MAX_RANK, &n);
  if (!strcmp(key, "from_sizes")) return gp_bool(g, &a->rz_from_sizes);
  if (!strcmp(key, "roi")) return gp_float_list(g, a->rz_roi, 2 * NAASC_MAX_RANK, &n);
  if (!strcmp(key, "extrapolation")) return gp_float(g, &a->rz_extrapolation);
  if (!strcmp(key, "allowzero")) return gp_bool(g, &a->allowzero);
  if (op == OP_SLICE) { /* its lists, as many as starts has */
    int64_t *v = !strcmp(key, "starts") ? a->starts
                 : !strcmp(key, "ends") ? a->ends
                 : !strcmp(key, "axes") ? a->axes
                                        : a->steps;
    int line = g->line, col = g->col;
    if (!gp_int_list(g, v, NAASC_MAX_RANK, &n)) return false;
    if (v == a->starts) {
      a->naxes = n;
    } else if (n != a->naxes) {
      return gp_err(g, line, col, "expected %d values (as starts), found %d", a->naxes, n);
    }
    return true;
  }
  if (!strcmp(key, "exclude_outside")) {
    if (!gp_bool(g, &b)) return false;
    a->rz_exclude_outside = b;
    return true;
  }
  (void)op;
  return GP_ERR(g, "internal: key '%s' has no reader", key);
}

/* One AttrSpec row's value (the inverse of graph_print's spec_print). */
static bool set_spec(GP *g, Arena *ar, const AttrSpec *sp, Attrs *a) {
  char *p = (char *)a + sp->off;
  int *cnt = sp->count_off ? (int *)((char *)a + sp->count_off) : NULL;
  if (sp->has_off) *((bool *)((char *)a + sp->has_off - 1)) = true;
  switch (sp->kind) {
  case AK_INT: return gp_int(g, (int64_t *)p);
  case AK_BOOL: return gp_bool(g, (bool *)p);
  case AK_FLOAT: return gp_float(g, (float *)p);
  case AK_ENUM: return gp_enum(g, sp->names, sp->nnames, (int *)p);
  case AK_DTYPE: return gp_dtype(g, (DType *)p, true);
  case AK_INTS: return gp_int_list(g, (int64_t *)p, sp->max, cnt);
  case AK_FLOATS: return gp_float_list(g, (float *)p, sp->max, cnt);
  case AK_ENUMS: {
    if (!gp_char(g, '[')) return false;
    *cnt = 0;
    if (gp_accept(g, ']')) return true;
    do {
      if (*cnt >= sp->max) return GP_ERR(g, "more than %d values", sp->max);
      if (!gp_enum(g, sp->names, sp->nnames, (int *)p + *cnt)) return false;
      (*cnt)++;
    } while (gp_accept(g, ','));
    return gp_char(g, ']');
  }
  case AK_LIST_I:
  case AK_LIST_F: {
    /* into a scratch buffer of the largest list a line can hold, then the arena */
    int cap = 64, n = 0;
    size_t es = sp->kind == AK_LIST_I ? sizeof(int64_t) : sizeof(float);
    if (!gp_char(g, '[')) return false;
    char *buf = xmalloc(es * (size_t)cap);
    if (!buf) return GP_ERR(g, "out of memory");
    bool ok = true;
    if (!gp_accept(g, ']')) {
      do {
        if (n == cap) {
          char *nb = cap < (1 << 24) ? xrealloc(buf, es * (size_t)(cap *= 2)) : NULL;
          if (!nb) {
            ok = GP_ERR(g, "list too long");
            break;
          }
          buf = nb;
        }
        if (sp->kind == AK_LIST_I)
          ok = gp_int(g, (int64_t *)buf + n);
        else
          ok = gp_float(g, (float *)buf + n);
        n++;
      } while (ok && gp_accept(g, ','));
      ok = ok && gp_char(g, ']');
    }
    void *arr = ok ? arena_alloc(ar, es * (size_t)(n ? n : 1)) : NULL;
    if (arr) memcpy(arr, buf, es * (size_t)n);
    xfree(buf);
    if (!ok) return false;
    if (!arr) return GP_ERR(g, "out of memory");
    *(void **)p = arr;
    *cnt = n;
    return true;
  }
  case AK_STRING: {
    const char *s = gp_string(g, ar);
    *(const char **)p = s;
    return s != NULL;
  }
  case AK_TENSOR: {
    if (!gp_dtype(g, &a->value_dtype, false) || !gp_char(g, ':')) return false;
    DType t = a->value_dtype;
    if (t == DT_F32 || t == DT_F64 || t == DT_F16 || t == DT_BF16)
      return gp_double(g, &a->value_f, false);
    return gp_int(g, &a->value_i);
  }
  }
  return GP_ERR(g, "internal: attribute kind %d", (int)sp->kind);
}

/* KEY=VALUE ... of op into a, up to a '+', 'host', '#' or the end of the line. */
static bool gp_attrs(GP *g, Arena *ar, Op op, Attrs *a) {
  for (;;) {
    gp_spaces(g);
    int c = gp_peek(g);
    if (c == '+' || c == '#' || c == '\n' || c == -1) return true;
    const char *save = g->p;
    int line = g->line, col = g->col;
    char key[64];
    if (!gp_word(g, key, sizeof key, "an attribute")) return false;
    if (strcmp(key, "host") == 0 && gp_peek(g) != '=') {
      g->p = save;
      g->line = line;
      g->col = col;
      return true;
    }
    if (gp_peek(g) != '=') return GP_ERR(g, "expected '=' after attribute '%s'", key);
    gp_adv(g);
    const char *keys = hand_keys(op);
    if (keys) {
      char pat[70];
      snprintf(pat, sizeof pat, " %s ", key);
      if (!strstr(keys, pat))
        return gp_err(g, line, col, "%s has no attribute '%s'", op_name(op), key);
      if (!set_hand(g, op, a, key)) return false;
      continue;
    }
    if ((op == OP_LOGSOFTMAX || op == OP_HARDMAX) && strcmp(key, "coerce2d") == 0) {
      if (!gp_bool(g, &a->coerce2d)) return false;
      continue;
    }
    int n;
    const AttrSpec *s = op_attr_specs(op, &n);
    int r = 0;
    while (r < n && strcmp(s[r].name, key) != 0) r++;
    if (r == n)
      return gp_err(g, line, col, "%s has no attribute '%s'",
                    op == OP_HOST ? "a host op" : op_name(op), key);
    if (!set_spec(g, ar, &s[r], a)) return false;
  }
}

/* ---- constants' values ---------------------------------------------------- */

/* = [v,...]: exactly numel values of t's type into a new payload. */
static bool gp_const_values(GP *g, Model *m, Tensor *t) {
  int line = g->line, col = g->col;
  int64_t n = tensor_numel(t);
  size_t es = dtype_size(t->dtype);
  if (n < 0 || n > 8 || es == 0)
    return gp_err(g, line, col,
                  "a dump prints the values of a constant of at most 8 numeric "
                  "elements; '%%%s' is not one",
                  t->name);
  t->data = arena_alloc(&m->arena, es * (size_t)(n ? n : 1));
  if (!t->data) return GP_ERR(g, "out of memory");
  bool fl = t->dtype == DT_F32 || t->dtype == DT_F64 || t->dtype == DT_F16 || t->dtype == DT_BF16;
  if (!gp_char(g, '[')) return false;
  int64_t k = 0;
  if (!gp_accept(g, ']')) {
    do {
      int l = g->line, c = g->col;
      if (k == n) return gp_err(g, l, c, "more values than the %lld of its type", (long long)n);
      if (fl) {
        double v;
        if (!gp_double(g, &v, t->dtype != DT_F64)) return false;
        elem_put_f(t->dtype, t->data, k, v);
      } else {
        int64_t v;
        if (!gp_int(g, &v)) return false;
        elem_put_i(t->dtype, t->data, k, v);
      }
      k++;
    } while (gp_accept(g, ','));
    if (!gp_char(g, ']')) return false;
  }
  if (k != n)
    return gp_err(g, line, col, "%lld values for %lld elements", (long long)k, (long long)n);
  return true;
}

/* ---- statements ----------------------------------------------------------- */

typedef struct Scope {
  Model *m;
  const struct Scope *parent; /* the enclosing graph, or NULL */
  const Node *owner;          /* in parent->m: the node owning this subgraph */
} Scope;

static bool gp_body(GP *g, const Scope *sc);

static TensorId gp_use(GP *g, Model *m) {
  gp_spaces(g);
  int line = g->line, col = g->col;
  if (gp_peek(g) == '_') {
    gp_adv(g);
    return 0;
  }
  const char *name = gp_value_name(g, &m->arena);
  if (!name) return (TensorId)-1;
  TensorId t = model_find_tensor(m, name);
  if (!t) {
    gp_err(g, line, col, "value '%%%s' is not defined before its use", name);
    return (TensorId)-1;
  }
  return t;
}

/* LABEL "NAME" { BODY } after a node; slot by label. */
static bool gp_sub(GP *g, const Scope *sc, NodeId nid) {
  int line = g->line, col = g->col;
  char label[32];
  if (!gp_word(g, label, sizeof label, "a subgraph label")) return false;
  Node *n = &sc->m->nodes[nid];
  int s = !strcmp(label, "then_branch") ? 0 : !strcmp(label, "else_branch") ? 1 : 0;
  bool ok = n->op == OP_IF ? strcmp(label, "body") != 0
                           : (n->op == OP_LOOP || n->op == OP_SCAN) && !strcmp(label, "body");
  if (!ok)
    return gp_err(g, line, col, "node '%s' (%s) has no subgraph '%s'", n->name,
                  n->op == OP_HOST ? n->onnx_op : op_name(n->op), label);
  if (n->sub[s]) return gp_err(g, line, col, "node '%s' has two '%s'", n->name, label);
  const char *name = gp_string(g, &sc->m->arena);
  if (!name || !gp_char(g, '{') || !gp_eol(g)) return false;
  Model *sub = model_create(name);
  if (!sub) return GP_ERR(g, "out of memory");
  sub->source = sc->m->source;
  sub->ir_version = sc->m->ir_version;
  sub->opset = sc->m->opset;
  sub->scope = sc->m->scope ? arena_printf(&sub->arena, "%s of node '%s' in %s", label, n->name,
                                           sc->m->scope)
                            : arena_printf(&sub->arena, "%s of node '%s'", label, n->name);
  Scope child = {sub, sc, n};
  bool body = sub->scope && gp_body(g, &child);
  /* each outer value: bound to the owner's capture input of its name */
  for (uint32_t i = 1; body && i < sub->ntensors; i++) {
    Tensor *t = &sub->tensors[i];
    if (t->kind != TK_OUTER) continue;
    int k = n->nin - n->ncap;
    while (k < n->nin && !(n->in[k] && !strcmp(sc->m->tensors[n->in[k]].name, t->name))) k++;
    if (k == n->nin)
      body =
          gp_err(g, line, col, "outer value '%%%s' of this subgraph is not captured by node '%s'",
                 t->name, n->name);
    t->outer = (uint32_t)k;
  }
  gp_skip_lines(g);
  if (!body || !gp_char(g, '}') || !gp_eol(g)) {
    model_destroy(sub);
    return false;
  }
  uint32_t id = model_add_sub(sc->m, sub);
  if (!id) return GP_ERR(g, "out of memory");
  sc->m->nodes[nid].sub[s] = id;
  return true;
}

static bool gp_node(GP *g, const Scope *sc) {
  Model *m = sc->m;
  TensorId outs[NAASC_MAX_OUTPUTS], ins[1024];
  int nout = 0, nin = 0, ncap = -1;
  int line = g->line, col = g->col;
  if (gp_peek(g) != '=') {
    do {
      if (nout == NAASC_MAX_OUTPUTS) return GP_ERR(g, "more than %d outputs", NAASC_MAX_OUTPUTS);
      if (gp_accept(g, '_')) { /* an absent output */
        outs[nout++] = 0;
        continue;
      }
      TensorId t = gp_define(g, m, TK_VALUE);
      if (!t) return false;
      outs[nout++] = t;
    } while (gp_accept(g, ','));
  }
  if (!gp_char(g, '=')) return false;
  char opname[128];
  int oline, ocol;
  gp_spaces(g);
  oline = g->line;
  ocol = g->col;
  if (gp_peek(g) == '"') { /* a host op whose name is not a bare word */
    const char *q = gp_string(g, &m->arena);
    if (!q) return false;
    if (strlen(q) >= sizeof opname) return gp_err(g, oline, ocol, "an op name is too long");
    strcpy(opname, q);
  } else if (!gp_word(g, opname, sizeof opname, "an op")) {
    return false;
  }
  Op op = op_find(opname);
  if (!gp_char(g, '(')) return false;
  gp_spaces(g);
  if (gp_accept(g, '|')) ncap = 0;
  if (!gp_accept(g, ')')) {
    for (;;) {
      if (nin == (int)(sizeof ins / sizeof ins[0])) return GP_ERR(g, "too many inputs");
      gp_spaces(g);
      int uline = g->line, ucol = g->col;
      TensorId t = gp_use(g, m);
      if (t == (TensorId)-1) return false;
      for (int k = 0; t && k < nout; k++) /* defined on this line: not before its use */
        if (outs[k] == t)
          return gp_err(g, uline, ucol, "value '%%%s' is an input of the node that defines it",
                        m->tensors[t].name);
      ins[nin++] = t;
      if (ncap >= 0) ncap++;
      if (gp_accept(g, ',')) continue;
      if (ncap < 0 && gp_accept(g, '|')) {
        ncap = 0;
        continue;
      }
      if (!gp_char(g, ')')) return false;
      break;
    }
  }
  if (ncap == 0) return GP_ERR(g, "expected a captured value after '|'");
  NodeId id = model_add_node(m, op ? op : OP_HOST, NULL, nin, ins, nout, outs);
  if (!id) return GP_ERR(g, "out of memory");
  Node *n = &m->nodes[id];
  n->ncap = ncap < 0 ? 0 : ncap;
  if (!(n->onnx_op = arena_strdup(&m->arena, opname))) return GP_ERR(g, "out of memory");
  if (op == OP_HOST) return gp_err(g, oline, ocol, "unknown op '%s'", opname);
  if (n->ncap && n->op != OP_IF && n->op != OP_LOOP && n->op != OP_SCAN)
    return gp_err(g, line, col, "only If, Loop and Scan capture values ('|')");
  if (!gp_attrs(g, &m->arena, n->op, &n->a)) return false;
  gp_spaces(g);
  if (gp_peek(g) == '+') {
    gp_adv(g);
    char w[64];
    int l = g->line, c = g->col;
    if (!gp_word(g, w, sizeof w, "a fused op")) return false;
    if (!strcmp(w, "BatchNormalization")) {
      n->bn_folded = true;
      gp_spaces(g);
      if (gp_peek(g) == '+') {
        gp_adv(g);
        l = g->line;
        c = g->col;
        if (!gp_word(g, w, sizeof w, "a fused activation")) return false;
      } else {
        w[0] = 0;
      }
    }
    if (w[0]) {
      n->act = op_find(w);
      if (!n->act || n->act == OP_HOST) return gp_err(g, l, c, "unknown fused op '%s'", w);
      if (!gp_attrs(g, &m->arena, n->act, &n->act_a)) return false;
    }
  }
  char w[8];
  gp_spaces(g);
  if (gp_peek(g) == 'h') {
    if (!gp_word(g, w, sizeof w, "'host'")) return false;
    if (strcmp(w, "host") != 0) return GP_ERR(g, "expected 'host' or '#'");
    /* a node the host runs: its op as written (graph_print writes no attributes) */
    n->host_only = true;
    n->op = OP_HOST;
  } else if (!op) {
    return gp_err(g, oline, ocol, "unknown op '%s' (an op the host runs is marked 'host')", opname);
  }
  gp_spaces(g);
  if (gp_peek(g) != '#') return GP_ERR(g, "expected '# NODE-NAME', found %s", gp_found(g));
  gp_adv(g);
  if (gp_peek(g) == ' ') gp_adv(g);
  if (gp_peek(g) == '"') { /* a name with a control character, or starting with '"' */
    if (!(n->name = gp_string(g, &m->arena))) return false;
  } else {
    const char *s = g->p;
    while (gp_peek(g) != -1 && gp_peek(g) != '\n') gp_adv(g);
    size_t len = (size_t)(g->p - s);
    if (len && s[len - 1] == '\r') len--;
    if (!(n->name = arena_strndup(&m->arena, s, len))) return GP_ERR(g, "out of memory");
  }
  if (!gp_eol(g)) return false;
  /* its subgraphs, on the lines that follow */
  for (;;) {
    gp_skip_lines(g);
    char lab[16];
    size_t k = 0;
    while (k + 1 < sizeof lab && g->p + k < g->end && graph_word_char((unsigned char)g->p[k])) {
      lab[k] = g->p[k];
      k++;
    }
    lab[k] = 0;
    if (strcmp(lab, "then_branch") && strcmp(lab, "else_branch") && strcmp(lab, "body")) break;
    if (!gp_sub(g, sc, id)) return false;
  }
  n = &m->nodes[id];
  if (n->op == OP_IF && (!n->sub[0] || !n->sub[1]))
    return gp_err(g, line, col, "If node '%s' needs a then_branch and an else_branch", n->name);
  if ((n->op == OP_LOOP || n->op == OP_SCAN) && !n->sub[0])
    return gp_err(g, line, col, "%s node '%s' needs a body", op_name(n->op), n->name);
  return true;
}

/* Statements up to a '}' (left for the caller) or the end of the file. */
static bool gp_body(GP *g, const Scope *sc) {
  Model *m = sc->m;
  for (;;) {
    gp_skip_lines(g);
    int c = gp_peek(g);
    if (c == -1 || c == '}') return true;
    if (c == '%' || c == '=' || c == '_') {
      if (!gp_node(g, sc)) return false;
      continue;
    }
    int line = g->line, col = g->col;
    char kw[16];
    if (!gp_word(g, kw, sizeof kw, "a statement (input, outer, const, a node or output)"))
      return false;
    if (!strcmp(kw, "input")) {
      TensorId t = gp_define(g, m, TK_INPUT);
      if (!t || !gp_eol(g)) return false;
      if (!model_add_input(m, t)) return GP_ERR(g, "out of memory");
    } else if (!strcmp(kw, "outer")) {
      if (!sc->parent) return gp_err(g, line, col, "'outer' outside a subgraph");
      if (!gp_define(g, m, TK_OUTER) || !gp_eol(g)) return false;
    } else if (!strcmp(kw, "const")) {
      TensorId t = gp_define(g, m, TK_CONST);
      if (!t) return false;
      Tensor *tt = &m->tensors[t];
      gp_spaces(g);
      if (gp_peek(g) == '(') {
        char w[16];
        gp_adv(g);
        if (!gp_word(g, w, sizeof w, "'no'") || strcmp(w, "no") ||
            !gp_word(g, w, sizeof w, "'data'") || strcmp(w, "data") || !gp_char(g, ')'))
          return gp_err(g, line, col, "expected '(no data)'");
      } else if (gp_accept(g, '=')) {
        if (!gp_const_values(g, m, tt)) return false;
      } else {
        tt->data_elided = true; /* values the dump does not print */
      }
      if (!gp_eol(g)) return false;
    } else if (!strcmp(kw, "output")) {
      int l = g->line, c2 = g->col;
      gp_spaces(g);
      l = g->line;
      c2 = g->col;
      const char *name = gp_value_name(g, &m->arena);
      if (!name || !gp_char(g, ':')) return false;
      TensorId t = model_find_tensor(m, name);
      if (!t) return gp_err(g, l, c2, "output '%%%s' is not defined", name);
      DType dt;
      int rank;
      int64_t dims[NAASC_MAX_RANK];
      const char *params[NAASC_MAX_RANK];
      int tl = g->line, tc = g->col + 1;
      if (!gp_type(g, &m->arena, &dt, &rank, dims, params) || !gp_eol(g)) return false;
      const Tensor *tt = &m->tensors[t];
      bool same = dt == tt->dtype && rank == tt->rank;
      for (int i = 0; same && i < rank; i++) same = dims[i] == tt->dims[i];
      if (!same)
        return gp_err(g, tl, tc, "output '%%%s' has another type where it is defined", name);
      m->tensors[t].is_output = true;
      if (!model_add_output(m, t)) return GP_ERR(g, "out of memory");
    } else {
      return gp_err(g, line, col,
                    "expected a statement (input, outer, const, a node or output), "
                    "found '%s'",
                    kw);
    }
  }
}

Rc graph_parse(const char *text, size_t len, Model **out, Diag *d) {
  *out = NULL;
  GP g = {text, text + len, 1, 1, d, false};
  if (memchr(text, 0, len)) {
    const char *z = memchr(text, 0, len);
    while (g.p < z) gp_adv(&g);
    GP_ERR(&g, "a NUL byte in the text");
    return RC_BADINPUT;
  }
  gp_skip_lines(&g);
  char kw[16];
  if (!gp_word(&g, kw, sizeof kw, "'graph'") || strcmp(kw, "graph") != 0) {
    if (!g.failed) gp_err(&g, 1, 1, "expected 'graph'");
    return RC_BADINPUT;
  }
  Model *m = model_create(NULL);
  if (!m) return RC_INTERNAL;
  m->source = d ? d->file : NULL;
  const char *name = gp_string(&g, &m->arena);
  char w[16];
  bool ok = name != NULL;
  if (ok) m->name = name;
  ok = ok && gp_word(&g, w, sizeof w, "'ir'") && !strcmp(w, "ir") && gp_char(&g, '=') &&
       gp_int(&g, &m->ir_version);
  ok = ok && gp_word(&g, w, sizeof w, "'opset'") && !strcmp(w, "opset") && gp_char(&g, '=') &&
       gp_int(&g, &m->opset);
  if (!ok && !g.failed) GP_ERR(&g, "expected 'ir=N opset=N'");
  ok = ok && gp_char(&g, '{') && gp_eol(&g);
  Scope sc = {m, NULL, NULL};
  ok = ok && gp_body(&g, &sc);
  gp_skip_lines(&g);
  ok = ok && gp_char(&g, '}') && gp_eol(&g);
  gp_skip_lines(&g);
  if (ok && gp_peek(&g) != -1)
    ok = GP_ERR(&g, "expected the end of the file after the graph's '}'");
  if (!ok) {
    model_destroy(m);
    return g.failed ? RC_BADINPUT : RC_INTERNAL;
  }
  *out = m;
  return RC_OK;
}
