/*
 * nest.c: building and printing the loop-nest IR (ir.h).  The printer
 * writes everything needed to rebuild the module except constant payloads
 * (weights stay in the model, or in the weights file the module names:
 * weights.c); nest_parse.c reads the same grammar
 * (docs/ir.md), and print -> parse -> print is byte-identical.  Fused
 * groups (NestGroup) print as a `fused` block around their nests.  Also the
 * mapping helpers every library shares: mapping_covers and
 * mapping_shrink_tile (a layer's mapping cut to a depth-first tile),
 * affine_plain_dim (the one loop an index walks), and
 * the rules of which nests the command stream runs as integer layers and
 * tile by tile (nest_mac_int_types, nest_runs_tiled), shared by the
 * emitter (stream/) and the schedule search (search/).
 */
#include "ir/ir.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

Module *module_create(const char *name) {
  Module *m = xcalloc(1, sizeof *m);
  if (!m) return NULL;
  arena_init(&m->arena);
  m->name = arena_strdup(&m->arena, name ? name : "main");
  if (!m->name || !ir_grow((void **)&m->tensors, &m->captensors, 16, sizeof(NTensor))) {
    module_destroy(m);
    return NULL;
  }
  m->ntensors = 1;
  return m;
}

void module_destroy(Module *m) {
  if (!m) return;
  arena_free(&m->arena);
  xfree(m->tensors);
  xfree(m->nests);
  xfree(m->groups);
  xfree(m);
}

uint32_t module_add_tensor(Module *m, const char *name, DType dt, int rank, const int64_t *dims,
                           TensorRole role) {
  if (rank < 0 || rank > NAASC_MAX_RANK) return 0;
  if (!ir_grow((void **)&m->tensors, &m->captensors, m->ntensors + 1, sizeof(NTensor))) return 0;
  NTensor *t = &m->tensors[m->ntensors];
  memset(t, 0, sizeof *t);
  t->name = arena_strdup(&m->arena, name);
  if (!t->name) return 0;
  t->dtype = dt;
  t->rank = rank;
  for (int i = 0; i < rank; i++) t->dims[i] = dims[i];
  t->role = role;
  return m->ntensors++;
}

NestGroup *module_add_group(Module *m, const NestGroup *g) {
  if (!ir_grow((void **)&m->groups, &m->capgroups, m->ngroups + 1, sizeof(NestGroup))) return NULL;
  NestGroup *ng = &m->groups[m->ngroups];
  *ng = *g;
  ng->res = NULL;
  if (g->nres > 0) {
    ng->res = arena_alloc(&m->arena, sizeof(NestResident) * (size_t)g->nres);
    if (!ng->res) return NULL;
    memcpy(ng->res, g->res, sizeof(NestResident) * (size_t)g->nres);
  }
  m->ngroups++;
  return ng;
}

const NestGroup *module_group_of(const Module *m, uint32_t i) {
  for (uint32_t k = 0; k < m->ngroups; k++)
    if (i >= m->groups[k].g.first && i <= m->groups[k].g.last) return &m->groups[k];
  return NULL;
}

uint32_t module_find_tensor(const Module *m, const char *name) {
  for (uint32_t i = 1; i < m->ntensors; i++)
    if (strcmp(m->tensors[i].name, name) == 0) return i;
  return 0;
}

Nest *module_add_nest(Module *m, NestKind kind, const char *name) {
  if (!ir_grow((void **)&m->nests, &m->capnests, m->nnests + 1, sizeof(Nest))) return NULL;
  Nest *n = &m->nests[m->nnests];
  memset(n, 0, sizeof *n);
  n->kind = kind;
  n->name = arena_strdup(&m->arena, name);
  if (!n->name) return NULL;
  n->vop = kind == NK_MAC ? VOP_MAC : kind == NK_VIEW ? VOP_VIEW : VOP_NONE;
  n->loc = "";
  m->nnests++;
  return n;
}

const Access *nest_access(const Nest *n, Role r) {
  for (int a = 0; a < n->nacc; a++)
    if (n->acc[a].role == r) return &n->acc[a];
  return NULL;
}

/* ---- the op and role tables ------------------------------------------------ */

static const struct {
  const char *name;
  NestKind kind;
  VopClass cls;
  int rmin, rmax;
  const char *roles, *fparams, *iparams;
} vops[VOP_COUNT] = {[VOP_NONE] = {"", NK_VEC, VC_NONE, 0, 0, "", "", ""},
#define X(e, s, k, c, rmin, rmax, roles, fp, ip) [e] = {s, k, c, rmin, rmax, roles, fp, ip},
                     NAASC_VOPS(X)
#undef X
};

static const char *const role_names[ROLE_COUNT] = {[ROLE_NONE] = "",
#define X(e, s) [e] = s,
                                                   NAASC_ROLES(X)
#undef X
};

const char *vop_name(VecOp op) { return op > VOP_NONE && op < VOP_COUNT ? vops[op].name : ""; }

NestKind vop_kind(VecOp op) { return op > VOP_NONE && op < VOP_COUNT ? vops[op].kind : NK_VEC; }

VopClass vop_class(VecOp op) { return op > VOP_NONE && op < VOP_COUNT ? vops[op].cls : VC_NONE; }

VecOp vop_find(NestKind k, const char *name) {
  if (k == NK_VEC && strncmp(name, "host:", 5) == 0 && name[5]) return VOP_HOST;
  for (int op = VOP_NONE + 1; op < VOP_COUNT; op++)
    if (op != VOP_HOST && vops[op].kind == k && strcmp(vops[op].name, name) == 0) return (VecOp)op;
  return VOP_NONE;
}

/* The number of space-separated words of s. */
static int words(const char *s) {
  int n = 0;
  for (const char *p = s; *p; p++) n += *p != ' ' && (p == s || p[-1] == ' ');
  return n;
}

int vop_reads(VecOp op, int *min, int *max, Role roles[VOP_MAX_ROLES]) {
  if (op <= VOP_NONE || op >= VOP_COUNT) op = VOP_NONE;
  *min = vops[op].rmin, *max = vops[op].rmax;
  int n = 0;
  for (const char *p = vops[op].roles; *p && n < VOP_MAX_ROLES;) {
    char word[8];
    size_t k = 0;
    while (*p && *p != ' ' && k + 1 < sizeof word) word[k++] = *p++;
    word[k] = 0;
    while (*p == ' ') p++;
    roles[n++] = role_find(word);
  }
  return n;
}

int vop_nparams(VecOp op, char type) { return words(vop_param_names(op, type)); }

const char *vop_param_names(VecOp op, char type) {
  if (op <= VOP_NONE || op >= VOP_COUNT) return "";
  return type == 'f' ? vops[op].fparams : vops[op].iparams;
}

const char *role_name(Role r) { return r > ROLE_NONE && r < ROLE_COUNT ? role_names[r] : ""; }

Role role_find(const char *name) {
  for (int r = ROLE_NONE + 1; r < ROLE_COUNT; r++)
    if (strcmp(role_names[r], name) == 0) return (Role)r;
  return ROLE_NONE;
}

int64_t nest_macs(const Nest *n) {
  if (n->kind != NK_MAC) return 0;
  int64_t p = 1;
  for (int i = 0; i < n->ndims; i++) /* saturates: a parsed nest's bounds may multiply past int64 */
    if (!ck_mul_i64(p, n->dims[i].bound, &p)) return INT64_MAX;
  return p;
}

/* ---- printing ---------------------------------------------------------- */

/* Names print bare when made of these characters, quoted otherwise. */
static bool bare_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == ':' || c == '/' || c == '-' || c == '#' || c == '$';
}

static void print_string(FILE *f, const char *s) {
  fputc('"', f);
  for (const char *p = s; *p; p++) {
    if (*p == '"' || *p == '\\') fputc('\\', f);
    if (*p == '\n')
      fputs("\\n", f);
    else
      fputc(*p, f);
  }
  fputc('"', f);
}

static void print_name(FILE *f, char sigil, const char *s) {
  bool bare = *s != 0;
  for (const char *p = s; *p; p++) bare = bare && bare_char(*p);
  if (sigil) fputc(sigil, f);
  if (bare)
    fputs(s, f);
  else
    print_string(f, s);
}

static const char *const tensor_role_names[] = {"input", "weight", "value", "output"};
static const char *const kind_names[] = {"mac", "vec", "move", "view"};
static const char *const acc_names[] = {"read", "write", "update"};

static void print_affine(FILE *f, const Nest *n, const Affine *a) {
  bool any = false;
  for (int d = 0; d < n->ndims; d++) {
    int64_t c = a->coef[d];
    if (!c) continue;
    if (c < 0)
      fputc('-', f);
    else if (any)
      fputc('+', f);
    fputs(n->dims[d].name, f);
    if (c != 1 && c != -1) fprintf(f, "*%" PRId64, c < 0 ? -c : c);
    any = true;
  }
  if (a->cst || !any) {
    if (any && a->cst > 0) fputc('+', f);
    fprintf(f, "%" PRId64, a->cst);
  }
}

static void print_floats(FILE *f, const float *v, int n) {
  for (int i = 0; i < n; i++) {
    if (i) fputc(',', f);
    if (isinf(v[i]))
      fputs(v[i] < 0 ? "-inf" : "inf", f);
    else
      fprintf(f, "%.9g", v[i]);
  }
}

static bool selected(const char *name, const char *const *names, int n) {
  return n == 0 || name_in_lists(name, names, n);
}

void module_print(FILE *f, const Module *m) { module_print_filtered(f, m, NULL, 0); }

/* The mapping as a tiled loop nest, outermost level first: its temporal
 * loops with factor > 1 in order, then its spatial loops (axes z, y, x).
 * Factor-1 loops are left out: where they sit changes nothing. */
static void print_mapping(FILE *f, const NestMapping *nm) {
  static const char axis[] = "xyz";
  fputs("  map ", f);
  print_string(f, nm->target);
  fputs(" {\n", f);
  for (int l = 0; l < nm->m.nlevels; l++) {
    const LevelMapping *lm = &nm->m.level[l];
    fputs("    level ", f);
    print_name(f, 0, nm->level[l]);
    fputs(" keep(", f);
    bool first = true;
    for (int t = 0; t < NTENSORS; t++)
      if (lm->keep & (1u << t)) {
        fprintf(f, "%s%c", first ? "" : ",", accel_tensor_letter(t));
        first = false;
      }
    fputs(")\n", f);
    for (int k = 0; k < NDIMS; k++) {
      int dd = lm->order[k];
      if (lm->factor[dd] <= 1) continue;
      fprintf(f, "      for %c in %" PRId64, accel_dim_letter(dd), lm->factor[dd]);
      if (lm->remainder[dd] > 0 && lm->remainder[dd] < lm->factor[dd])
        fprintf(f, " rem %" PRId64, lm->remainder[dd]);
      fputc('\n', f);
    }
    for (int a = ACCEL_MAX_AXES - 1; a >= 0; a--)
      for (int k = 0; k < NDIMS; k++) {
        int dd = lm->spatial_order[a][k];
        if (lm->spatial[a][dd] <= 1) continue;
        fprintf(f, "      spatial %c %c in %" PRId64 "\n", axis[a], accel_dim_letter(dd),
                lm->spatial[a][dd]);
      }
  }
  fputs("  }\n", f);
}

const uint8_t nest_mac_order[NDIMS] = {DIM_N, DIM_G, DIM_K, DIM_C, DIM_P, DIM_Q, DIM_R, DIM_S};

void nest_set_dim_ids(Nest *n) {
  for (int i = 0; i < n->ndims; i++) {
    const char *name = n->dims[i].name;
    int d = -1;
    for (int k = 0; k < NDIMS && n->kind == NK_MAC && name && name[0] && !name[1]; k++)
      if (accel_dim_letter(k) == name[0]) d = k;
    n->dims[i].dim = (int8_t)d;
  }
}

int nest_dim_pos(const Nest *n, int d) {
  for (int i = 0; i < n->ndims; i++)
    if (n->dims[i].dim == d) return i;
  return -1;
}

bool nest_problem(const Nest *n, Problem *p) {
  if (n->kind != NK_MAC || n->ndims != NDIMS) return false;
  memset(p, 0, sizeof *p);
  unsigned seen = 0;
  for (int i = 0; i < NDIMS; i++) {
    int d = n->dims[i].dim;
    if (d < 0 || d >= NDIMS || (seen >> d & 1)) return false;
    seen |= 1u << d;
    p->dim[d] = n->dims[i].bound;
  }
  snprintf(p->name, sizeof p->name, "%s", n->name);
  p->stride[0] = p->stride[1] = p->dilation[0] = p->dilation[1] = 1;
  /* The windowed access (I of a conv) indexes rows with P*stride + R*dilation. */
  for (int a = 0; a < n->nacc; a++) {
    const Access *ac = &n->acc[a];
    if (ac->role != ROLE_I || ac->ix != IX_AFFINE || ac->rank < 3) continue;
    for (int k = 0; k < 2 && 2 + k < ac->rank; k++) {
      const Affine *e = &ac->idx[2 + k];
      int64_t cs = e->coef[nest_dim_pos(n, k ? DIM_Q : DIM_P)],
              cd = e->coef[nest_dim_pos(n, k ? DIM_S : DIM_R)];
      if (cs > 0) p->stride[k] = cs;
      if (cd > 0) p->dilation[k] = cd;
    }
  }
  return true;
}

bool mapping_covers(const Mapping *m, const Problem *p, const char *where, Diag *d) {
  bool ok = true;
  for (int dd = 0; dd < NDIMS; dd++) {
    /* Loops of dd from the outermost: level temporal, then spatial z, y, x.
     * bound = (((r_n - 1) f_{n-1} + (r_{n-1} - 1)) f_{n-2} + ...) f_0 + r_0. */
    int64_t f[ACCEL_MAX_LEVELS * (1 + ACCEL_MAX_AXES)], r[ACCEL_MAX_LEVELS * (1 + ACCEL_MAX_AXES)];
    int n = 0;
    for (int l = 0; l < m->nlevels; l++) {
      const LevelMapping *lm = &m->level[l];
      if (lm->factor[dd] < 1) {
        diag_error(d, where, "map-coverage: factor %" PRId64 " of %c at level %d is not positive",
                   lm->factor[dd], accel_dim_letter(dd), l);
        return false;
      }
      f[n] = lm->factor[dd];
      r[n++] = mapping_residual(lm, dd);
      for (int a = ACCEL_MAX_AXES - 1; a >= 0; a--) {
        if (lm->spatial[a][dd] < 1) {
          diag_error(d, where, "map-coverage: spatial factor of %c at level %d is not positive",
                     accel_dim_letter(dd), l);
          return false;
        }
        f[n] = r[n] = lm->spatial[a][dd];
        n++;
      }
    }
    /* Checked: a mapping from a file (a .nir, a checkpoint's warm starts)
     * may hold factors whose product overflows (a fuzzed checkpoint's did). */
    int64_t acc = 0;
    bool over = false;
    for (int k = 0; k < n && !over; k++) {
      if (k == 0)
        acc = r[0] - 1;
      else
        over = !ck_mul_i64(acc, f[k], &acc) || !ck_add_i64(acc, r[k] - 1, &acc);
      over = over || acc > INT64_C(1) << 40;
    }
    acc += 1;
    if (over) {
      diag_error(d, where,
                 "map-coverage: the loops over %c cover more than 2^40, its bound is %" PRId64,
                 accel_dim_letter(dd), p->dim[dd]);
      ok = false;
    } else if (acc != p->dim[dd]) {
      diag_error(d, where,
                 "map-coverage: the loops over %c cover %" PRId64 ", its bound is %" PRId64,
                 accel_dim_letter(dd), acc, p->dim[dd]);
      ok = false;
    }
  }
  return ok;
}

/* Cuts the loops over dim d down to bound b: innermost first, each factor
 * becomes the largest divisor of what is left that does not exceed it; the
 * outermost (DRAM) temporal loop takes the rest.  Remainders of d are
 * dropped.  For b equal to the mapped bound the mapping is unchanged (each
 * factor divides what is left).  Tiles only shrink, so every capacity and
 * fan-out the mapping met still holds. */
static void shrink_dim(Mapping *m, int d, int64_t b) {
  int64_t rem = b;
  for (int l = m->nlevels - 1; l >= 0; l--) {
    LevelMapping *lm = &m->level[l];
    for (int x = 0; x < ACCEL_MAX_AXES; x++) { /* x is innermost */
      int64_t f = lm->spatial[x][d], g = f < rem ? f : rem;
      while (rem % g) g--;
      lm->spatial[x][d] = g;
      rem /= g;
    }
    lm->remainder[d] = 0;
    if (l == 0) {
      lm->factor[d] = rem;
    } else {
      int64_t f = lm->factor[d], g = f < rem ? f : rem;
      while (rem % g) g--;
      lm->factor[d] = g;
      rem /= g;
    }
  }
}

int affine_plain_dim(const Affine *e, int ndims) {
  int dim = -1;
  for (int k = 0; k < ndims; k++) {
    if (!e->coef[k]) continue;
    if (e->coef[k] != 1 || dim >= 0) return -1;
    dim = k;
  }
  return e->cst == 0 ? dim : -1;
}

void mapping_shrink_tile(const Mapping *full, int64_t rows, int64_t cols, Mapping *out) {
  mapping_shrink_dims(full, DIM_P, rows, DIM_Q, cols, out);
}

void mapping_shrink_dims(const Mapping *full, Dim rd, int64_t rows, Dim cd, int64_t cols,
                         Mapping *out) {
  *out = *full;
  shrink_dim(out, rd, rows);
  shrink_dim(out, cd, cols);
}

static void print_nest(FILE *f, const Module *m, const Nest *n);

const char *const nest_group_mode_names[2] = {"layer", "depth-first"};
const char *const nest_overlap_names[3] = {"recompute", "cache-h", "cache-all"};
const char *const nest_residency_names[3] = {"resident", "copy-in", "copy-out"};

/* `fused "TARGET" MODE home LEVEL [tile RxC overlap P weights W] {`, the
 * tile loop of a depth-first group, then its residency, one line per kind. */
static void print_group_head(FILE *f, const Module *m, const NestGroup *g) {
  fputs("\nfused ", f);
  print_string(f, g->target);
  fprintf(f, " %s home ", nest_group_mode_names[g->g.mode == SCHED_DEPTH]);
  print_name(f, 0, g->home);
  if (g->g.mode == SCHED_DEPTH)
    fprintf(f, " tile %" PRId64 "x%" PRId64 " overlap %s weights %s", g->g.tile[0], g->g.tile[1],
            nest_overlap_names[g->g.overlap < 3 ? g->g.overlap : 0],
            g->g.weights_home ? "home" : "dram");
  fputs(" {\n", f);
  if (g->g.mode == SCHED_DEPTH)
    fprintf(f, "  tiles %" PRId64 "x%" PRId64 "\n", g->ntiles[0], g->ntiles[1]);
  for (int how = RES_KEEP; how <= RES_COPY_OUT; how++) {
    bool any = false;
    for (int r = 0; r < g->nres; r++) {
      if (g->res[r].how != how || g->res[r].tensor >= m->ntensors) continue;
      fputs(any ? ", " : "  ", f);
      if (!any) fprintf(f, "%s ", nest_residency_names[how]);
      print_name(f, '%', m->tensors[g->res[r].tensor].name);
      any = true;
    }
    if (any) fputc('\n', f);
  }
}

void module_print_filtered(FILE *f, const Module *m, const char *const *names, int nnames) {
  fputs("module ", f);
  print_string(f, m->name);
  if (m->weights) {
    fputs("\nweights ", f);
    print_string(f, m->weights);
  }
  fputs("\n\n", f);
  for (uint32_t i = 1; i < m->ntensors; i++) {
    const NTensor *t = &m->tensors[i];
    if (nnames) { /* a filtered dump shows the tensors of the selected nests only */
      bool used = false;
      for (uint32_t k = 0; k < m->nnests && !used; k++)
        if (selected(m->nests[k].name, names, nnames))
          for (int a = 0; a < m->nests[k].nacc; a++) used = used || m->nests[k].acc[a].tensor == i;
      if (!used) continue;
    }
    fputs("tensor ", f);
    print_name(f, '%', t->name);
    fprintf(f, " : %s[", dtype_name(t->dtype));
    for (int k = 0; k < t->rank; k++) fprintf(f, k ? ",%" PRId64 : "%" PRId64, t->dims[k]);
    fprintf(f, "] %s\n", tensor_role_names[t->role]);
  }
  for (uint32_t i = 0; i < m->nnests; i++) {
    const Nest *n = &m->nests[i];
    if (!selected(n->name, names, nnames)) continue;
    const NestGroup *g = nnames ? NULL : module_group_of(m, i);
    if (g && i == g->g.first) print_group_head(f, m, g);
    if (!g) {
      fputc('\n', f);
      print_nest(f, m, n);
      continue;
    }
    /* A nest of a group prints indented inside its block. */
    char *buf = NULL;
    size_t len = 0;
    FILE *mf = open_memstream(&buf, &len);
    if (mf) {
      print_nest(mf, m, n);
      fclose(mf);
    }
    fputc('\n', f);
    for (size_t k = 0; buf && k < len; k++) {
      if (k == 0 || buf[k - 1] == '\n') fputs("  ", f);
      fputc(buf[k], f);
    }
    free(buf);
    if (i == g->g.last) fputs("}\n", f);
  }
}

static void print_nest(FILE *f, const Module *m, const Nest *n) {
  {
    fputs("nest ", f);
    print_name(f, '@', n->name);
    fprintf(f, " %s", kind_names[n->kind]);
    if (n->vop == VOP_HOST)
      fprintf(f, "(host:%s)", n->host_op ? n->host_op : "");
    else if (*vop_name(n->vop))
      fprintf(f, "(%s)", vop_name(n->vop));
    fputs(" loc ", f);
    print_string(f, n->loc ? n->loc : "");
    fputs(" {\n", f);
    if (n->ndims) {
      fputs("  dims", f);
      for (int d = 0; d < n->ndims; d++)
        fprintf(f, "%s %s=%" PRId64 "%s", d ? "," : "", n->dims[d].name, n->dims[d].bound,
                n->dims[d].reduce ? " reduce" : "");
      fputc('\n', f);
    }
    for (int a = 0; a < n->nacc; a++) {
      const Access *ac = &n->acc[a];
      fprintf(f, "  %s = %s ", role_name(ac->role), acc_names[ac->kind]);
      print_name(f, '%', m->tensors[ac->tensor].name);
      if (ac->ix == IX_GATHER) {
        fputs("[gather]", f);
      } else if (ac->ix == IX_AFFINE) {
        fputc('[', f);
        for (int k = 0; k < ac->rank; k++) {
          if (k) fputs(", ", f);
          print_affine(f, n, &ac->idx[k]);
        }
        fputc(']', f);
        bool padded = false;
        for (int k = 0; k < ac->rank; k++) padded = padded || ac->pad_lo[k] || ac->pad_hi[k];
        if (padded) {
          fputs(" pad(", f);
          for (int k = 0; k < ac->rank; k++)
            fprintf(f, "%s%" PRId64 ":%" PRId64, k ? "," : "", ac->pad_lo[k], ac->pad_hi[k]);
          fputc(')', f);
        }
      }
      fputc('\n', f);
    }
    if (n->has_bias || n->act) {
      fputs("  epilogue", f);
      if (n->has_bias) fputs(" bias", f);
      if (n->act) {
        float ab[2] = {n->act_alpha, n->act_beta};
        fprintf(f, " %s(", op_name(n->act));
        print_floats(f, ab, 2);
        fputc(')', f);
      }
      fputc('\n', f);
    }
    bool fp = false, ip = false;
    for (int k = 0; k < 4; k++) {
      fp = fp || n->param.f.v[k] != 0;
      ip = ip || n->param.i.v[k] != 0;
    }
    if (fp || ip) {
      fputs("  params", f);
      if (fp) {
        fputs(" f(", f);
        print_floats(f, n->param.f.v, 4);
        fputc(')', f);
      }
      if (ip) {
        fputs(" i(", f);
        for (int k = 0; k < 4; k++) fprintf(f, k ? ",%" PRId64 : "%" PRId64, n->param.i.v[k]);
        fputc(')', f);
      }
      fputc('\n', f);
    }
    if (n->note) {
      fputs("  note ", f);
      print_string(f, n->note);
      fputc('\n', f);
    }
    if (n->map) print_mapping(f, n->map);
    fputs("}\n", f);
  }
}

bool nest_mac_int_types(const Module *mod, const Nest *n) {
  const Access *I = nest_access(n, ROLE_I), *W = nest_access(n, ROLE_W),
               *O = nest_access(n, ROLE_O), *B = n->has_bias ? nest_access(n, ROLE_B) : NULL;
  if (n->kind != NK_MAC || !I || !W || !O || (n->has_bias && !B)) return false;
  DType i = mod->tensors[I->tensor].dtype, w = mod->tensors[W->tensor].dtype,
        o = mod->tensors[O->tensor].dtype;
  bool i8 = (i == DT_U8 || i == DT_I8) && (w == DT_U8 || w == DT_I8);
  bool o8 = o == DT_U8 || o == DT_I8;
  return i8 && (o == DT_I32 || o8) && (!B || mod->tensors[B->tensor].dtype == DT_I32) &&
         I->ix == IX_AFFINE && W->ix == IX_AFFINE && O->ix == IX_AFFINE;
}

/* The vector ops whose interpreter writes only its nest's points and
 * computes each from its nest alone (runtime/interp.c: element-wise,
 * moves, pooling, and reductions over whole dims such as softmax: exact on
 * a tile that spans its reduce dims whole, which the cost model requires of
 * a depth-first group and the loader checks). */
static bool tile_vop(VecOp v) {
  VopClass c = vop_class(v);
  return c == VC_POINT || c == VC_WINDOW || c == VC_MOVE || c == VC_REDUCE;
}

bool nest_runs_tiled(const Module *m, const Nest *n) {
  /* A W computed by the network (attention's K^T and V) is read as
   * weights are: whole by every tile, from DRAM or from home. */
  if (n->kind == NK_MAC) return n->map && !nest_mac_int_types(m, n);
  return n->kind != NK_VIEW && tile_vop(n->vop);
}
