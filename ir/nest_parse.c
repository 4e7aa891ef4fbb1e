/*
 * nest_parse.c: the parser of the loop-nest IR text form (docs/ir.md), a
 * recursive descent over characters.  Every error names line:col and what
 * was expected.  '#' starts a comment that runs to the end of the line.
 * Ops and operand roles are looked up in their tables (NAASC_VOPS,
 * NAASC_ROLES of ir.h): an unknown op is an error (rule vop-unknown), and
 * so is an unknown role; a parameter the op does not have is a warning
 * (rule vop-param).  A `fused` block (a fused group, NestGroup) holds
 * its residency and its nests.
 */
#include "ir/ir.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  const char *s, *end;
  const char *p;
  int line, col;
  Diag *d;
  Module *m;
  bool failed;
  int tline, tcol; /* where the last token started, for errors about it */
} Parser;

static void advance(Parser *ps) {
  if (*ps->p == '\n') {
    ps->line++;
    ps->col = 1;
  } else {
    ps->col++;
  }
  ps->p++;
}

static int peekc(Parser *ps) { return ps->p < ps->end ? (unsigned char)*ps->p : -1; }

static void skip_ws(Parser *ps) {
  for (;;) {
    int c = peekc(ps);
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      advance(ps);
    } else if (c == '#') {
      while (peekc(ps) != -1 && peekc(ps) != '\n') advance(ps);
    } else {
      return;
    }
  }
}

static bool error_lc(Parser *ps, int line, int col, const char *fmt, const char *what) {
  if (ps->failed) return false;
  ps->failed = true;
  char where[32];
  snprintf(where, sizeof where, "%d:%d", line, col);
  diag_error(ps->d, where, fmt, what);
  return false;
}

/* An error at the current position (what was expected here). */
static bool error_at(Parser *ps, const char *fmt, const char *what) {
  return error_lc(ps, ps->line, ps->col, fmt, what);
}

/* An error about the token just read, at its start. */
static bool error_tok(Parser *ps, const char *fmt, const char *what) {
  return error_lc(ps, ps->tline, ps->tcol, fmt, what);
}

static void mark(Parser *ps) {
  ps->tline = ps->line;
  ps->tcol = ps->col;
}

static bool expect(Parser *ps, char c) {
  skip_ws(ps);
  if (peekc(ps) == c) {
    advance(ps);
    return true;
  }
  char w[4] = {'\'', c, '\'', 0};
  return error_at(ps, "expected %s", w);
}

static bool accept(Parser *ps, char c) {
  skip_ws(ps);
  if (peekc(ps) == c) {
    advance(ps);
    return true;
  }
  return false;
}

static bool is_ident_start(int c) { return isalpha(c) || c == '_'; }
static bool is_ident(int c) { return isalnum(c) || c == '_'; }
static bool bare_char(int c) {
  return isalnum(c) || c == '_' || c == '.' || c == ':' || c == '/' || c == '-' || c == '#' ||
         c == '$';
}

/* An identifier [A-Za-z_][A-Za-z0-9_]* into buf. */
static bool ident(Parser *ps, char *buf, size_t n, const char *what) {
  skip_ws(ps);
  mark(ps);
  size_t k = 0;
  if (!is_ident_start(peekc(ps))) return error_at(ps, "expected %s", what);
  while (is_ident(peekc(ps))) {
    if (k + 1 >= n) return error_tok(ps, "%s is too long", what);
    buf[k++] = (char)peekc(ps);
    advance(ps);
  }
  buf[k] = 0;
  return true;
}

static bool keyword(Parser *ps, const char *kw) {
  char buf[64];
  const char *save = ps->p;
  int line = ps->line, col = ps->col;
  skip_ws(ps);
  if (!is_ident_start(peekc(ps))) return false;
  ident(ps, buf, sizeof buf, kw);
  if (strcmp(buf, kw) == 0) return true;
  ps->p = save;
  ps->line = line;
  ps->col = col;
  return false;
}

static bool expect_keyword(Parser *ps, const char *kw) {
  if (keyword(ps, kw)) return true;
  char w[80];
  snprintf(w, sizeof w, "'%s'", kw);
  skip_ws(ps);
  return error_at(ps, "expected %s", w);
}

/* A quoted string with \" \\ \n escapes, into the arena. */
static const char *string_lit(Parser *ps) {
  skip_ws(ps);
  mark(ps);
  if (peekc(ps) != '"') {
    error_at(ps, "expected %s", "a quoted string");
    return NULL;
  }
  advance(ps);
  size_t cap = 64, k = 0;
  char *buf = xmalloc(cap);
  if (!buf) return NULL;
  for (;;) {
    int c = peekc(ps);
    if (c == -1 || c == '\n') {
      xfree(buf);
      error_tok(ps, "%s", "unterminated string");
      return NULL;
    }
    advance(ps);
    if (c == '"') break;
    if (c == '\\') {
      c = peekc(ps);
      if (c != '"' && c != '\\' && c != 'n') {
        xfree(buf);
        error_at(ps, "%s", "unknown escape in string (\\\", \\\\ and \\n are allowed)");
        return NULL;
      }
      advance(ps);
      if (c == 'n') c = '\n';
    }
    if (k + 2 > cap) {
      char *nb = xrealloc(buf, cap *= 2);
      if (!nb) {
        xfree(buf);
        return NULL;
      }
      buf = nb;
    }
    buf[k++] = (char)c;
  }
  const char *r = arena_strndup(&ps->m->arena, buf, k);
  xfree(buf);
  return r;
}

/* %name or @name (bare or quoted). */
static const char *sigil_name(Parser *ps, char sigil, const char *what) {
  skip_ws(ps);
  mark(ps);
  if (sigil && peekc(ps) != sigil) {
    error_at(ps, "expected %s", what);
    return NULL;
  }
  if (sigil) advance(ps);
  if (peekc(ps) == '"') {
    int l = ps->tline, c = ps->tcol;
    const char *r = string_lit(ps);
    ps->tline = l;
    ps->tcol = c;
    return r;
  }
  const char *start = ps->p;
  while (peekc(ps) != -1 && bare_char(peekc(ps))) advance(ps);
  if (ps->p == start) {
    error_at(ps, "expected %s", what);
    return NULL;
  }
  return arena_strndup(&ps->m->arena, start, (size_t)(ps->p - start));
}

static bool integer(Parser *ps, int64_t *v) {
  skip_ws(ps);
  mark(ps);
  const char *start = ps->p;
  if (peekc(ps) == '-') advance(ps);
  if (!isdigit(peekc(ps))) {
    ps->p = start;
    return error_at(ps, "expected %s", "an integer");
  }
  while (isdigit(peekc(ps))) advance(ps);
  char buf[32];
  size_t n = (size_t)(ps->p - start);
  if (n >= sizeof buf) return error_at(ps, "%s", "integer too long");
  memcpy(buf, start, n);
  buf[n] = 0;
  errno = 0;
  *v = strtoll(buf, NULL, 10);
  if (errno) return error_tok(ps, "%s", "integer out of range");
  return true;
}

static bool number(Parser *ps, float *v) {
  skip_ws(ps);
  const char *start = ps->p;
  bool neg = false;
  if (peekc(ps) == '-') {
    neg = true;
    advance(ps);
  }
  if (keyword(ps, "inf")) {
    *v = neg ? -INFINITY : INFINITY;
    return true;
  }
  while (peekc(ps) != -1 && (isalnum(peekc(ps)) || peekc(ps) == '.' || peekc(ps) == '+' ||
                             (peekc(ps) == '-' && (ps->p[-1] == 'e' || ps->p[-1] == 'E'))))
    advance(ps);
  char buf[64];
  size_t n = (size_t)(ps->p - start);
  if (n == 0 || n >= sizeof buf) return error_at(ps, "expected %s", "a number");
  memcpy(buf, start, n);
  buf[n] = 0;
  char *e;
  double x = strtod(buf, &e);
  if (*e || e == buf) return error_at(ps, "expected %s", "a number");
  *v = (float)x;
  return true;
}

static int find_str(const char *s, const char *const *names, int n) {
  for (int i = 0; i < n; i++)
    if (strcmp(s, names[i]) == 0) return i;
  return -1;
}

static bool parse_tensor(Parser *ps) {
  static const char *const roles[] = {"input", "weight", "value", "output"};
  const char *name = sigil_name(ps, '%', "a tensor name (%name)");
  int nline = ps->tline, ncol = ps->tcol;
  if (!name || !expect(ps, ':')) return false;
  char dt[16];
  if (!ident(ps, dt, sizeof dt, "an element type")) return false;
  DType dtype = DT_UNDEF;
  for (int v = 1; v < 32; v++)
    if (dtype_valid(v) && strcmp(dtype_name((DType)v), dt) == 0) dtype = (DType)v;
  if (!dtype) return error_tok(ps, "unknown element type '%s'", dt);
  if (!expect(ps, '[')) return false;
  int64_t dims[NAASC_MAX_RANK];
  int rank = 0;
  if (!accept(ps, ']')) {
    do {
      if (rank == NAASC_MAX_RANK) return error_at(ps, "%s", "more than 8 dims");
      if (!integer(ps, &dims[rank])) return false;
      if (dims[rank] < 1) return error_tok(ps, "%s", "a dim must be at least 1");
      rank++;
    } while (accept(ps, ','));
    if (!expect(ps, ']')) return false;
  }
  char role[16];
  if (!ident(ps, role, sizeof role, "a tensor role (input, weight, value, output)")) return false;
  int r = find_str(role, roles, 4);
  if (r < 0) return error_tok(ps, "unknown tensor role '%s'", role);
  if (module_find_tensor(ps->m, name))
    return error_lc(ps, nline, ncol, "tensor '%s' is defined twice", name);
  if (!module_add_tensor(ps->m, name, dtype, rank, dims, (TensorRole)r))
    return error_at(ps, "%s", "out of memory");
  return true;
}

static int dim_index(const Nest *n, const char *name) {
  for (int d = 0; d < n->ndims; d++)
    if (strcmp(n->dims[d].name, name) == 0) return d;
  return -1;
}

/* EXPR := TERM {('+'|'-') TERM};  TERM := INT | DIM ['*' INT] */
static bool parse_affine(Parser *ps, const Nest *n, Affine *a) {
  memset(a, 0, sizeof *a);
  int sign = 1;
  skip_ws(ps);
  if (peekc(ps) == '-') {
    advance(ps);
    sign = -1;
  }
  for (;;) {
    skip_ws(ps);
    if (isdigit(peekc(ps))) {
      int64_t v;
      if (!integer(ps, &v)) return false;
      a->cst += sign * v;
    } else {
      char name[32];
      if (!ident(ps, name, sizeof name, "a dim name or an integer")) return false;
      int d = dim_index(n, name);
      if (d < 0) return error_tok(ps, "'%s' is not a dim of this nest", name);
      int64_t c = 1;
      if (accept(ps, '*') && !integer(ps, &c)) return false;
      a->coef[d] += sign * c;
    }
    skip_ws(ps);
    if (peekc(ps) == '+')
      sign = 1;
    else if (peekc(ps) == '-')
      sign = -1;
    else
      return true;
    advance(ps);
  }
}

static bool parse_access(Parser *ps, Nest *n, const char *role) {
  static const char *const kinds[] = {"read", "write", "update"};
  if (n->nacc == NEST_MAX_ACCESS) return error_at(ps, "%s", "too many accesses in one nest");
  Access *a = &n->acc[n->nacc];
  memset(a, 0, sizeof *a);
  int rline = ps->tline, rcol = ps->tcol;
  if (!expect(ps, '=')) return false;
  a->role = role_find(role);
  if (a->role == ROLE_NONE)
    return error_lc(ps, rline, rcol, "unknown operand role '%s' (docs/ir.md, \"Accesses\")", role);
  char k[16];
  if (!ident(ps, k, sizeof k, "read, write or update")) return false;
  int ki = find_str(k, kinds, 3);
  if (ki < 0) return error_tok(ps, "expected read, write or update, not '%s'", k);
  a->kind = (AccessKind)ki;
  const char *tn = sigil_name(ps, '%', "a tensor name (%name)");
  if (!tn) return false;
  a->tensor = module_find_tensor(ps->m, tn);
  if (!a->tensor) return error_tok(ps, "undefined tensor '%s'", tn);
  skip_ws(ps);
  if (peekc(ps) != '[') {
    a->ix = IX_WHOLE;
  } else {
    advance(ps);
    if (keyword(ps, "gather")) {
      a->ix = IX_GATHER;
    } else {
      a->ix = IX_AFFINE;
      if (!accept(ps, ']')) {
        do {
          if (a->rank == NAASC_MAX_RANK) return error_at(ps, "%s", "more than 8 indices");
          if (!parse_affine(ps, n, &a->idx[a->rank++])) return false;
        } while (accept(ps, ','));
      } else {
        n->nacc++;
        return true;
      }
    }
    if (!expect(ps, ']')) return false;
    if (keyword(ps, "pad")) {
      if (!expect(ps, '(')) return false;
      for (int i = 0; i < a->rank; i++) {
        if (i && !expect(ps, ',')) return false;
        if (!integer(ps, &a->pad_lo[i]) || !expect(ps, ':') || !integer(ps, &a->pad_hi[i]))
          return false;
      }
      if (!expect(ps, ')')) return false;
    }
  }
  n->nacc++;
  return true;
}

/* Completes a level's temporal order: the placed dims, then the rest in dim order. */
static void finish_order(LevelMapping *lm, uint8_t *placed, int nplaced) {
  for (int dd = 0; dd < NDIMS; dd++) {
    bool seen = false;
    for (int k = 0; k < nplaced; k++) seen = seen || placed[k] == dd;
    if (!seen) placed[nplaced++] = (uint8_t)dd;
  }
  memcpy(lm->order, placed, NDIMS);
}

/* map "TARGET" { level NAME keep(T,..) {for D in F [rem R]} {spatial A D in F} ... } */
static bool parse_mapping(Parser *ps, Nest *n) {
  if (n->kind != NK_MAC) return error_tok(ps, "%s", "only mac nests have a mapping");
  if (n->map) return error_tok(ps, "%s", "the nest has two mappings");
  NestMapping *nm = arena_alloc(&ps->m->arena, sizeof *nm);
  if (!nm) return error_at(ps, "%s", "out of memory");
  const char *target = string_lit(ps);
  if (!target) return false;
  if (strlen(target) >= ACCEL_NAME_MAX) return error_tok(ps, "%s", "the target name is too long");
  strcpy(nm->target, target);
  if (!expect(ps, '{')) return false;
  int l = -1;
  uint8_t placed[NDIMS]; /* how many temporal loops of this level are ordered */
  int nplaced = 0;
  uint8_t sp_placed[ACCEL_MAX_AXES] = {0};
  for (;;) {
    if (accept(ps, '}')) break;
    char word[16];
    if (!ident(ps, word, sizeof word, "'level', 'for', 'spatial' or '}'")) return false;
    if (strcmp(word, "level") == 0) {
      if (l >= 0) finish_order(&nm->m.level[l], placed, nplaced); /* the previous level */
      if (++l == ACCEL_MAX_LEVELS) return error_tok(ps, "%s", "more than 8 levels");
      skip_ws(ps);
      mark(ps);
      const char *name;
      if (peekc(ps) == '"')
        name = string_lit(ps);
      else {
        const char *start = ps->p;
        while (peekc(ps) != -1 && bare_char(peekc(ps))) advance(ps);
        name = arena_strndup(&ps->m->arena, start, (size_t)(ps->p - start));
        if (name && !*name) return error_at(ps, "expected %s", "a level name");
      }
      if (!name) return false;
      if (strlen(name) >= ACCEL_NAME_MAX) return error_tok(ps, "%s", "the level name is too long");
      strcpy(nm->level[l], name);
      LevelMapping *lm = &nm->m.level[l];
      level_mapping_init(lm, 0);
      nplaced = 0;
      memset(sp_placed, 0, sizeof sp_placed);
      for (int a = 0; a < ACCEL_MAX_AXES; a++)
        for (int k = 0; k < NDIMS; k++) lm->spatial_order[a][k] = 0xFF;
      if (!expect_keyword(ps, "keep") || !expect(ps, '(')) return false;
      if (!accept(ps, ')')) {
        do {
          skip_ws(ps);
          mark(ps);
          int t = accel_tensor_from_letter((char)peekc(ps));
          if (t < 0) return error_at(ps, "expected %s", "a tensor letter (W, I or O)");
          advance(ps);
          if (lm->keep & (1u << t)) return error_tok(ps, "%s", "a tensor is kept twice");
          lm->keep |= (uint8_t)(1u << t);
        } while (accept(ps, ','));
        if (!expect(ps, ')')) return false;
      }
      nm->m.nlevels = l + 1;
      continue;
    }
    if (l < 0) return error_tok(ps, "%s", "a loop before the first 'level'");
    LevelMapping *lm = &nm->m.level[l];
    bool spatial = strcmp(word, "spatial") == 0;
    if (!spatial && strcmp(word, "for") != 0)
      return error_tok(ps, "expected 'level', 'for', 'spatial' or '}', not '%s'", word);
    int axis = 0;
    if (spatial) {
      char ax[4];
      if (!ident(ps, ax, sizeof ax, "an axis (x, y or z)")) return false;
      axis = ax[1] ? -1 : ax[0] == 'x' ? 0 : ax[0] == 'y' ? 1 : ax[0] == 'z' ? 2 : -1;
      if (axis < 0) return error_tok(ps, "unknown axis '%s' (x, y or z)", ax);
    }
    char dn[4];
    if (!ident(ps, dn, sizeof dn, "a dim letter (G N K C P Q R S)")) return false;
    int dd = dn[1] ? -1 : accel_dim_from_letter(dn[0]);
    if (dd < 0 || dn[0] == 'M') return error_tok(ps, "unknown dim '%s' (G N K C P Q R S)", dn);
    if (!expect_keyword(ps, "in")) return false;
    int64_t f, r = 0;
    if (!integer(ps, &f)) return false;
    if (f < 2)
      return error_tok(ps, "%s", "a loop factor must be at least 2 (factor-1 loops are left out)");
    if (spatial) {
      if (lm->spatial[axis][dd] != 1)
        return error_tok(ps, "%s", "the dim is unrolled twice on this axis");
      lm->spatial[axis][dd] = f;
      lm->spatial_order[axis][sp_placed[axis]++] = (uint8_t)dd;
    } else {
      if (lm->factor[dd] != 1) return error_tok(ps, "%s", "the dim has two loops at this level");
      if (keyword(ps, "rem")) {
        if (!integer(ps, &r)) return false;
        if (r < 1 || r >= f)
          return error_tok(ps, "%s", "a remainder must be between 1 and the factor - 1");
      }
      lm->factor[dd] = f;
      lm->remainder[dd] = r;
      placed[nplaced++] = (uint8_t)dd;
    }
  }
  if (l < 0) return error_at(ps, "%s", "a mapping needs at least one level");
  finish_order(&nm->m.level[l], placed, nplaced);
  /* Spatial orders: the unrolled dims as given, then the rest in dim order. */
  for (int k = 0; k <= l; k++)
    for (int a = 0; a < ACCEL_MAX_AXES; a++) {
      LevelMapping *x = &nm->m.level[k];
      int cnt = 0;
      while (cnt < NDIMS && x->spatial_order[a][cnt] != 0xFF) cnt++;
      for (int dd = 0; dd < NDIMS; dd++)
        if (x->spatial[a][dd] == 1) x->spatial_order[a][cnt++] = (uint8_t)dd;
    }
  n->map = nm;
  return true;
}

/* Rule vop-param: the value at line:col, in slot `slot` of f(...) or
 * i(...) (type 'f' or 'i'), is in a slot n's op does not name (NAASC_VOPS),
 * the first such of its group.  A warning, not an error:
 * the slots are kept and printed as they are, so hand-written files round
 * trip whatever they hold. */
static void check_param(Parser *ps, const Nest *n, char type, int slot, int line, int col) {
  int have = vop_nparams(n->vop, type);
  char where[32], op[48];
  snprintf(where, sizeof where, "%d:%d", line, col);
  if (*vop_name(n->vop))
    snprintf(op, sizeof op, "'%s'", vop_name(n->vop));
  else
    snprintf(op, sizeof op, "a %s nest", n->kind == NK_MAC ? "mac" : "view");
  const char *what = type == 'f' ? "float" : "integer";
  if (have)
    diag_warn(ps->d, where, "vop-param: %s has no %s parameter %d: its %s parameters are %s", op,
              what, slot + 1, what, vop_param_names(n->vop, type));
  else
    diag_warn(ps->d, where, "vop-param: %s has no %s parameters", op, what);
}

static bool parse_nest(Parser *ps) {
  static const char *const kinds[] = {"mac", "vec", "move", "view"};
  const char *name = sigil_name(ps, '@', "a nest name (@name)");
  if (!name) return false;
  char kind[16];
  if (!ident(ps, kind, sizeof kind, "a nest kind (mac, vec, move, view)")) return false;
  int k = find_str(kind, kinds, 4);
  if (k < 0) return error_tok(ps, "unknown nest kind '%s'", kind);
  Nest *n = module_add_nest(ps->m, (NestKind)k, name);
  if (!n) return error_at(ps, "%s", "out of memory");
  /* The op (rule vop-unknown): one of the kind's in NAASC_VOPS; mac and
   * view nests have one, unnamed. */
  const char *vop = "";
  int vline = ps->line, vcol = ps->col;
  if (accept(ps, '(')) {
    skip_ws(ps);
    vline = ps->line, vcol = ps->col;
    const char *start = ps->p;
    while (peekc(ps) != -1 && peekc(ps) != ')' && peekc(ps) != '\n' && peekc(ps) != ' ')
      advance(ps);
    vop = arena_strndup(&ps->m->arena, start, (size_t)(ps->p - start));
    if (!vop) return error_at(ps, "%s", "out of memory");
    if (!expect(ps, ')')) return false;
  }
  n->vop = vop_find(n->kind, vop);
  if (n->vop == VOP_NONE) {
    char msg[160];
    if (n->kind == NK_MAC || n->kind == NK_VIEW)
      snprintf(msg, sizeof msg, "vop-unknown: a %s nest has no named op, not '%.80s'", kind, vop);
    else if (!*vop)
      snprintf(msg, sizeof msg, "vop-unknown: a %s nest needs an op: %s(NAME)", kind, kind);
    else
      snprintf(msg, sizeof msg, "vop-unknown: unknown %s op '%.80s'", kind, vop);
    return error_lc(ps, vline, vcol, "%s", msg);
  }
  if (n->vop == VOP_HOST) n->host_op = vop + 5;
  if (!expect_keyword(ps, "loc")) return false;
  if (!(n->loc = string_lit(ps))) return false;
  if (!expect(ps, '{')) return false;
  if (keyword(ps, "dims")) {
    do {
      if (n->ndims == NEST_MAX_DIMS) return error_at(ps, "%s", "more than 8 dims");
      char dn[32];
      if (!ident(ps, dn, sizeof dn, "a dim name")) return false;
      if (dim_index(n, dn) >= 0) return error_tok(ps, "dim '%s' is declared twice", dn);
      NestDim *d = &n->dims[n->ndims];
      d->name = arena_strdup(&ps->m->arena, dn);
      if (!expect(ps, '=') || !integer(ps, &d->bound)) return false;
      d->reduce = keyword(ps, "reduce");
      n->ndims++;
    } while (accept(ps, ','));
    nest_set_dim_ids(n);
  }
  for (;;) {
    skip_ws(ps);
    if (accept(ps, '}')) return true;
    char word[32];
    if (!ident(ps, word, sizeof word,
               "an access (NAME = read|write|update ...), epilogue, params or '}'"))
      return false;
    if (strcmp(word, "epilogue") == 0) {
      if (n->kind != NK_MAC) return error_tok(ps, "%s", "only mac nests have an epilogue");
      for (;;) {
        if (keyword(ps, "bias")) {
          n->has_bias = true;
          continue;
        }
        skip_ws(ps);
        if (!is_ident_start(peekc(ps))) break;
        const char *save = ps->p;
        int line = ps->line, col = ps->col;
        char an[32];
        ident(ps, an, sizeof an, "an activation");
        skip_ws(ps);
        if (peekc(ps) != '(') { /* not an activation: the next statement */
          ps->p = save;
          ps->line = line;
          ps->col = col;
          break;
        }
        Op op = op_find(an);
        if (op != OP_RELU && op != OP_CLIP && op != OP_LEAKYRELU && op != OP_HARDSIGMOID &&
            op != OP_HARDSWISH && op != OP_SIGMOID)
          return error_tok(ps, "unknown activation '%s'", an);
        n->act = op;
        if (!expect(ps, '(') || !number(ps, &n->act_alpha) || !expect(ps, ',') ||
            !number(ps, &n->act_beta) || !expect(ps, ')'))
          return false;
      }
    } else if (strcmp(word, "map") == 0) {
      if (!parse_mapping(ps, n)) return false;
    } else if (strcmp(word, "note") == 0) {
      if (!(n->note = string_lit(ps))) return false;
    } else if (strcmp(word, "params") == 0) {
      for (;;) {
        if (keyword(ps, "f")) {
          if (!expect(ps, '(')) return false;
          int bad = -1, bline = 0, bcol = 0; /* the first value in a slot the op lacks */
          for (int i = 0; i < 4; i++) {
            if (i && !expect(ps, ',')) return false;
            skip_ws(ps);
            int line = ps->line, col = ps->col;
            if (!number(ps, &n->param.f.v[i])) return false;
            if (n->param.f.v[i] != 0 && i >= vop_nparams(n->vop, 'f') && bad < 0)
              bad = i, bline = line, bcol = col;
          }
          if (bad >= 0) check_param(ps, n, 'f', bad, bline, bcol);
          if (!expect(ps, ')')) return false;
        } else if (keyword(ps, "i")) {
          if (!expect(ps, '(')) return false;
          int bad = -1, bline = 0, bcol = 0;
          for (int i = 0; i < 4; i++) {
            if (i && !expect(ps, ',')) return false;
            skip_ws(ps);
            int line = ps->line, col = ps->col;
            if (!integer(ps, &n->param.i.v[i])) return false;
            if (n->param.i.v[i] != 0 && i >= vop_nparams(n->vop, 'i') && bad < 0)
              bad = i, bline = line, bcol = col;
          }
          if (bad >= 0) check_param(ps, n, 'i', bad, bline, bcol);
          if (!expect(ps, ')')) return false;
        } else {
          break;
        }
      }
    } else if (!parse_access(ps, n, word)) {
      return false;
    }
  }
}

/* A word of bare characters (letters, digits, '_', '-') into buf. */
static bool word(Parser *ps, char *buf, size_t n, const char *what) {
  skip_ws(ps);
  mark(ps);
  size_t k = 0;
  while (peekc(ps) != -1 && (is_ident(peekc(ps)) || peekc(ps) == '-')) {
    if (k + 1 >= n) return error_tok(ps, "%s is too long", what);
    buf[k++] = (char)peekc(ps);
    advance(ps);
  }
  buf[k] = 0;
  return k ? true : error_at(ps, "expected %s", what);
}

/* ROWSxCOLS, each at least 1. */
static bool extent2(Parser *ps, int64_t v[2]) {
  if (!integer(ps, &v[0])) return false;
  if (v[0] < 1) return error_tok(ps, "%s", "a tile extent must be at least 1");
  skip_ws(ps);
  if (peekc(ps) != 'x') return error_at(ps, "expected %s", "'x' (ROWSxCOLS)");
  advance(ps);
  if (!isdigit(peekc(ps))) return error_at(ps, "expected %s", "the columns of ROWSxCOLS");
  if (!integer(ps, &v[1])) return false;
  if (v[1] < 1) return error_tok(ps, "%s", "a tile extent must be at least 1");
  return true;
}

/* fused "TARGET" MODE home LEVEL [tile RxC overlap P weights W] { [tiles RxC]
 * (resident|copy-in|copy-out %t, ...)* nest... } (docs/ir.md, "Fused groups"). */
static bool parse_group(Parser *ps, int line, int col) {
  NestGroup g;
  memset(&g, 0, sizeof g);
  g.line = line, g.col = col;
  const char *target = string_lit(ps);
  if (!target) return false;
  if (strlen(target) >= sizeof g.target) return error_tok(ps, "%s", "the target name is too long");
  strcpy(g.target, target);
  char w[64];
  if (!word(ps, w, sizeof w, "a group mode (layer, depth-first)")) return false;
  int mode = find_str(w, nest_group_mode_names, 2);
  if (mode < 0) return error_tok(ps, "unknown group mode '%s' (layer, depth-first)", w);
  g.g.mode = (uint8_t)mode;
  if (!expect_keyword(ps, "home")) return false;
  const char *home = sigil_name(ps, 0, "a level name");
  if (!home) return false;
  if (strlen(home) >= sizeof g.home) return error_tok(ps, "%s", "the level name is too long");
  strcpy(g.home, home);
  if (mode == SCHED_DEPTH) {
    if (!expect_keyword(ps, "tile") || !extent2(ps, g.g.tile)) return false;
    if (!expect_keyword(ps, "overlap") ||
        !word(ps, w, sizeof w, "an overlap policy (recompute, cache-h, cache-all)"))
      return false;
    int ov = find_str(w, nest_overlap_names, 3);
    if (ov < 0)
      return error_tok(ps, "unknown overlap policy '%s' (recompute, cache-h, cache-all)", w);
    g.g.overlap = (uint8_t)ov;
    if (!expect_keyword(ps, "weights") || !word(ps, w, sizeof w, "dram or home")) return false;
    if (strcmp(w, "dram") != 0 && strcmp(w, "home") != 0)
      return error_tok(ps, "weights go to 'dram' or 'home', not '%s'", w);
    g.g.weights_home = strcmp(w, "home") == 0;
  }
  if (!expect(ps, '{')) return false;
  if (mode == SCHED_DEPTH && (!expect_keyword(ps, "tiles") || !extent2(ps, g.ntiles))) return false;
  NestResident res[2 * NEST_MAX_ACCESS * 64];
  g.res = res;
  g.g.first = ps->m->nnests;
  for (;;) {
    skip_ws(ps);
    if (accept(ps, '}')) break;
    if (keyword(ps, "nest")) {
      if (!parse_nest(ps)) return false;
      continue;
    }
    if (!word(ps, w, sizeof w, "resident, copy-in, copy-out, a nest or '}'")) return false;
    int how = find_str(w, nest_residency_names, 3);
    if (how < 0) return error_tok(ps, "expected %s", "resident, copy-in, copy-out, a nest or '}'");
    if (ps->m->nnests > g.g.first)
      return error_tok(ps, "%s", "a group's residency comes before its nests");
    do {
      const char *tn = sigil_name(ps, '%', "a tensor name (%name)");
      if (!tn) return false;
      uint32_t t = module_find_tensor(ps->m, tn);
      if (!t) return error_tok(ps, "unknown tensor '%s'", tn);
      for (int r = 0; r < g.nres; r++)
        if (res[r].tensor == t) return error_tok(ps, "tensor '%s' is listed twice", tn);
      if (g.nres == (int)(sizeof res / sizeof res[0]))
        return error_tok(ps, "%s", "too many resident tensors");
      res[g.nres].tensor = t;
      res[g.nres++].how = (uint8_t)how;
    } while (accept(ps, ','));
  }
  if (ps->m->nnests < g.g.first + 2)
    return error_lc(ps, line, col, "%s", "a fused group needs two or more nests");
  g.g.last = ps->m->nnests - 1;
  if (!module_add_group(ps->m, &g)) return error_at(ps, "%s", "out of memory");
  return true;
}

Rc module_parse(const char *text, size_t len, Module **out, Diag *d) {
  *out = NULL;
  Parser ps = {text, text + len, text, 1, 1, d, NULL, false, 1, 1};
  ps.m = module_create("main");
  if (!ps.m) return RC_INTERNAL;
  for (size_t i = 0; i < len; i++)
    if (text[i] == 0) {
      diag_error(d, NULL, "the file contains a NUL byte at offset %zu", i);
      module_destroy(ps.m);
      return RC_BADINPUT;
    }
  const char *name;
  if (!expect_keyword(&ps, "module") || !(name = string_lit(&ps))) goto fail;
  ps.m->name = name;
  if (keyword(&ps, "weights") && !(ps.m->weights = string_lit(&ps))) goto fail;
  for (;;) {
    skip_ws(&ps);
    if (peekc(&ps) == -1) break;
    if (keyword(&ps, "tensor")) {
      if (!parse_tensor(&ps)) goto fail;
    } else if (keyword(&ps, "nest")) {
      if (!parse_nest(&ps)) goto fail;
    } else if (keyword(&ps, "fused")) {
      if (!parse_group(&ps, ps.tline, ps.tcol)) goto fail;
    } else {
      error_at(&ps, "expected %s", "'tensor', 'nest', 'fused' or the end of the file");
      goto fail;
    }
  }
  *out = ps.m;
  return RC_OK;
fail:
  module_destroy(ps.m);
  return RC_BADINPUT;
}
