/*
 * shapes.c: shape inference of the ops beyond the first 37 (infer.c has
 * those and the walk), control flow included, needing no value_info.
 *
 *   - take_param_inputs moves the constant inputs that carry attributes
 *     (Pad's pads, TopK's k, Reduce axes, ..., the AttrSpec rows with an
 *     input slot) into the node's attributes and clears those inputs;
 *   - infer_op sets the output types by the ONNX rules;
 *   - If, Loop and Scan infer their subgraphs: outer values take their
 *     owners' input types (and values, when constant), formal inputs the
 *     types the op defines; branch and body results must be static and
 *     agree (an If's branches, a Loop's carried values across iterations);
 *   - a node whose output shape depends on input values (NonZero, Unique,
 *     NonMaxSuppression, Compress with a variable condition, a Loop with
 *     scan outputs and no static trip count) is folded when its inputs are
 *     constant and refused otherwise, by name (graph_infer says which
 *     input); naasc keeps static shapes rather than upper bounds;
 *   - inline_if splices the taken branch of an If with a constant
 *     condition into the graph.
 */
#include "frontend/internal.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

static bool same(Ctx *c, DType dt) {
  Tensor *x = inf_in(c, 0);
  inf_set_out(c, 0, dt, x->rank, x->dims);
  return true;
}

/* ---- parameters carried by constant inputs ----------------------------- */

bool take_param_inputs(Ctx *c) {
  Node *n = c->n;
  int ns;
  const AttrSpec *s = op_attr_specs(n->op, &ns);
  bool took = false;
  for (int r = 0; r < ns; r++) {
    if (s[r].input < 0 || c->m->opset < s[r].input_since) continue;
    int slot = s[r].input;
    Tensor *t = inf_in(c, slot);
    if (!t) continue;
    if (!tensor_is_const(t))
      FAIL("input %d ('%s') of %s gives its %s and must be a constant (naasc needs static shapes)",
           slot, t->name, op_name(n->op), s[r].name);
    int64_t k = tensor_numel(t);
    void *p = (char *)&n->a + s[r].off;
    switch (s[r].kind) {
    case AK_INT:
      if (k != 1) FAIL("%s input '%s' must hold one value, not %" PRId64, s[r].name, t->name, k);
      *(int64_t *)p = tensor_get_i(t, 0);
      break;
    case AK_FLOAT:
      if (k != 1) FAIL("%s input '%s' must hold one value, not %" PRId64, s[r].name, t->name, k);
      *(float *)p = (float)tensor_get_f(t, 0);
      break;
    case AK_INTS:
    case AK_FLOATS:
      if (k > s[r].max)
        FAIL("%s input '%s' has %" PRId64 " values, more than %d", s[r].name, t->name, k, s[r].max);
      for (int64_t i = 0; i < k; i++) {
        if (s[r].kind == AK_INTS)
          ((int64_t *)p)[i] = tensor_get_i(t, i);
        else
          ((float *)p)[i] = (float)tensor_get_f(t, i);
      }
      *(int *)((char *)&n->a + s[r].count_off) = (int)k;
      break;
    default:
      FAIL("internal: attribute row %s of %s cannot come from an input", s[r].name, op_name(n->op));
    }
    n->in[slot] = 0;
    took = true;
  }
  if (took)
    while (n->nin > 0 && !n->in[n->nin - 1]) n->nin--;
  return true;
}

bool shape_from_data(Ctx *c) {
  switch (c->n->op) {
  case OP_NONZERO:
  case OP_UNIQUE:
  case OP_NMS: return true;
  case OP_COMPRESS: return inf_in(c, 1) && !tensor_is_const(inf_in(c, 1));
  default: return false;
  }
}

/* ---- elementwise -------------------------------------------------------- */

static bool is_bool_result(Op op) {
  return op == OP_EQUAL || op == OP_LESS || op == OP_GREATER || op == OP_LESSOREQUAL ||
         op == OP_GREATEROREQUAL || op == OP_AND || op == OP_OR || op == OP_XOR;
}

static bool nary(Ctx *c, int lo, int hi) {
  int rank;
  int64_t dims[NAASC_MAX_RANK];
  if (!inf_need(c, lo, hi)) return false;
  Tensor *x = inf_in(c, 0);
  for (int i = 1; i < c->n->nin; i++) {
    Tensor *t = inf_in(c, i);
    if (t && t->dtype != x->dtype && c->n->op != OP_POW)
      FAIL("%s inputs differ in type: %s and %s", op_name(c->n->op), dtype_name(x->dtype),
           dtype_name(t->dtype));
  }
  if (!inf_broadcast(c, 0, c->n->nin - 1, &rank, dims)) return false;
  inf_set_out(c, 0, is_bool_result(c->n->op) ? DT_BOOL : x->dtype, rank, dims);
  return true;
}

static bool reduce_axes(Ctx *c, bool keep) {
  Attrs *a = &c->n->a;
  Tensor *x = inf_in(c, 0);
  int64_t dims[NAASC_MAX_RANK];
  if (a->naxes <= 0 && a->noop_empty) return same(c, x->dtype);
  bool red[NAASC_MAX_RANK] = {0};
  if (a->naxes <= 0) {
    a->naxes = x->rank;
    for (int i = 0; i < x->rank; i++) a->axes[i] = i;
  }
  for (int i = 0; i < a->naxes; i++) {
    if (!inf_axis_ok(c, &a->axes[i], x->rank, "axis")) return false;
    red[a->axes[i]] = true;
  }
  int rank = 0;
  for (int i = 0; i < x->rank; i++) {
    if (!red[i])
      dims[rank++] = x->dims[i];
    else if (keep)
      dims[rank++] = 1;
  }
  inf_set_out(c, 0, x->dtype, rank, dims);
  return true;
}

/* ---- Einsum ------------------------------------------------------------- */

static int ein_label(char ch) {
  if (ch >= 'a' && ch <= 'z') return ch - 'a';
  if (ch >= 'A' && ch <= 'Z') return 26 + ch - 'A';
  return -1;
}

/* Parses the equation against the operand ranks, expanding '...' into
 * labels 52 + k (k-th broadcast dim, right-aligned). */
static bool einsum_parse(Ctx *c) {
  Attrs *a = &c->n->a;
  const char *p = a->equation;
  if (!p) FAIL("Einsum needs an equation");
  int nops = 0, ell_rank = 0;
  a->ein_explicit = strstr(p, "->") != NULL;
  int8_t raw[NAASC_MAX_EINSUM][2 * NAASC_MAX_RANK];
  int nraw[NAASC_MAX_EINSUM] = {0};
  for (;; p++) { /* the operands */
    if (nops == NAASC_MAX_EINSUM) FAIL("Einsum has more than %d operands", NAASC_MAX_EINSUM);
    int k = 0;
    a->ein_ell[nops] = -1;
    for (; *p && *p != ',' && *p != '-'; p++) {
      if (*p == ' ') continue;
      if (*p == '.') {
        if (strncmp(p, "...", 3) || a->ein_ell[nops] >= 0)
          FAIL("Einsum equation '%s' is malformed", a->equation);
        a->ein_ell[nops] = (int8_t)k;
        p += 2;
        continue;
      }
      int l = ein_label(*p);
      if (l < 0 || k >= 2 * NAASC_MAX_RANK) FAIL("Einsum equation '%s' is malformed", a->equation);
      raw[nops][k++] = (int8_t)l;
    }
    nraw[nops++] = k;
    if (*p != ',') break;
  }
  if (nops != c->n->nin)
    FAIL("Einsum equation '%s' has %d operands but the node has %d inputs", a->equation, nops,
         c->n->nin);
  int extra[NAASC_MAX_EINSUM];
  for (int k = 0; k < nops; k++) {
    Tensor *t = inf_in(c, k);
    if (!t) FAIL("Einsum input %d is missing", k);
    extra[k] = t->rank - nraw[k];
    if (a->ein_ell[k] < 0 ? extra[k] != 0 : extra[k] < 0)
      FAIL("Einsum operand %d has rank %d but the equation gives it %d labels", k, t->rank,
           nraw[k]);
    if (extra[k] > ell_rank) ell_rank = extra[k];
  }
  /* broadcast dims line up from the right: operand k's e-th is label 52 + ell_rank - extra + e */
  for (int k = 0; k < nops; k++) {
    int o = 0, base = 52 + ell_rank - extra[k];
    for (int q = 0; q <= nraw[k]; q++) {
      if (q == a->ein_ell[k])
        for (int e = 0; e < extra[k]; e++) a->ein_in[k][o++] = (int8_t)(base + e);
      if (q < nraw[k]) a->ein_in[k][o++] = raw[k][q];
    }
    a->ein_rank[k] = (int8_t)(nraw[k] + extra[k]);
  }
  a->ein_nops = nops;
  a->ein_nout = 0;
  a->ein_out_ell = -1;
  if (a->ein_explicit) {
    p += 2; /* "->" */
    for (; *p; p++) {
      if (*p == ' ') continue;
      if (*p == '.') {
        if (strncmp(p, "...", 3) || a->ein_out_ell >= 0)
          FAIL("Einsum equation '%s' is malformed", a->equation);
        a->ein_out_ell = a->ein_nout;
        for (int e = 0; e < ell_rank && a->ein_nout < NAASC_MAX_RANK; e++)
          a->ein_out[a->ein_nout++] = (int8_t)(52 + e);
        p += 2;
        continue;
      }
      int l = ein_label(*p);
      if (l < 0 || a->ein_nout >= NAASC_MAX_RANK)
        FAIL("Einsum equation '%s' is malformed or its output rank is over %d", a->equation,
             NAASC_MAX_RANK);
      a->ein_out[a->ein_nout++] = (int8_t)l;
    }
  } else { /* implicit: the broadcast dims, then the labels seen once, in alphabetical order */
    int count[52] = {0};
    for (int k = 0; k < nops; k++)
      for (int q = 0; q < nraw[k]; q++) count[raw[k][q]]++;
    for (int e = 0; e < ell_rank; e++) a->ein_out[a->ein_nout++] = (int8_t)(52 + e);
    for (int l = 0; l < 52; l++)
      if (count[l] == 1) {
        if (a->ein_nout >= NAASC_MAX_RANK) FAIL("Einsum output rank is over %d", NAASC_MAX_RANK);
        a->ein_out[a->ein_nout++] = (int8_t)l;
      }
  }
  return true;
}

static bool infer_einsum(Ctx *c) {
  Attrs *a = &c->n->a;
  if (!einsum_parse(c)) return false;
  int64_t size[64];
  for (int i = 0; i < 64; i++) size[i] = -1;
  for (int k = 0; k < a->ein_nops; k++) {
    Tensor *t = inf_in(c, k);
    for (int q = 0; q < t->rank; q++) {
      int l = a->ein_in[k][q];
      int64_t dv = t->dims[q];
      if (size[l] < 0 || size[l] == 1)
        size[l] = dv;
      else if (dv != 1 && dv != size[l])
        FAIL("Einsum dims of label %d disagree: %" PRId64 " and %" PRId64, l, size[l], dv);
    }
  }
  int64_t dims[NAASC_MAX_RANK];
  for (int q = 0; q < a->ein_nout; q++) {
    int l = a->ein_out[q];
    if (size[l] < 0) FAIL("Einsum output label is not in any input");
    dims[q] = size[l];
  }
  inf_set_out(c, 0, inf_in(c, 0)->dtype, a->ein_nout, dims);
  return true;
}

/* ---- subgraphs ---------------------------------------------------------- */

static bool same_type(const Tensor *a, const Tensor *b) {
  if (a->dtype != b->dtype || a->rank != b->rank) return false;
  for (int i = 0; i < a->rank; i++)
    if (a->dims[i] != b->dims[i]) return false;
  return true;
}

static const char *type_str(Model *m, const Tensor *t) {
  char buf[160];
  FILE *f = fmemopen(buf, sizeof buf, "w");
  if (!f) return "?";
  type_print(f, t);
  fclose(f);
  return arena_strdup(&m->arena, buf);
}

/* Infers subgraph id of c's node: outer values take the owner's input
 * types (and data), formal inputs the types in formal[]. */
static bool infer_sub(Ctx *c, uint32_t id, const Tensor *formal, int nformal) {
  if (!id || id >= c->m->nsubs) FAIL("internal: %s has no subgraph %u", op_name(c->n->op), id);
  Model *g = &c->m->subs[id];
  if ((int)g->ninputs != nformal)
    FAIL("%s has %u inputs, expected %d", g->scope, g->ninputs, nformal);
  for (uint32_t t = 1; t < g->ntensors; t++) {
    Tensor *T = &g->tensors[t];
    if (T->kind != TK_OUTER) continue;
    if ((int)T->outer >= c->n->nin || !c->n->in[T->outer])
      FAIL("internal: outer value '%s' of %s is unbound", T->name, g->scope);
    const Tensor *o = &c->m->tensors[c->n->in[T->outer]];
    T->dtype = o->dtype;
    T->rank = o->rank;
    memcpy(T->dims, o->dims, sizeof T->dims);
    T->data = tensor_is_const(o) ? o->data : NULL;
  }
  for (int i = 0; i < nformal; i++) {
    Tensor *T = &g->tensors[g->inputs[i]];
    const Tensor *f = &formal[i];
    if (T->dtype != DT_UNDEF && T->dtype != f->dtype)
      FAIL("input '%s' of %s is declared %s but receives %s", T->name, g->scope,
           dtype_name(T->dtype), dtype_name(f->dtype));
    T->dtype = f->dtype;
    T->rank = f->rank;
    memcpy(T->dims, f->dims, sizeof T->dims);
  }
  if (graph_infer(g, c->d) != RC_OK) return false;
  for (uint32_t i = 0; i < g->noutputs; i++)
    if (!tensor_shape_known(&g->tensors[g->outputs[i]]))
      FAIL("output '%s' of %s has no static shape", g->tensors[g->outputs[i]].name, g->scope);
  return true;
}

static bool infer_if(Ctx *c) {
  Node *n = c->n;
  Tensor *cond = inf_in(c, 0);
  if (!cond || tensor_numel(cond) != 1) FAIL("If needs a condition with one element");
  if (!infer_sub(c, n->sub[0], NULL, 0) || !infer_sub(c, n->sub[1], NULL, 0)) return false;
  Model *t = &c->m->subs[n->sub[0]], *e = &c->m->subs[n->sub[1]];
  if ((int)t->noutputs != n->nout || (int)e->noutputs != n->nout)
    FAIL("the If has %d outputs, its then branch %u and its else branch %u", n->nout, t->noutputs,
         e->noutputs);
  for (int k = 0; k < n->nout; k++) {
    const Tensor *a = &t->tensors[t->outputs[k]], *b = &e->tensors[e->outputs[k]];
    if (!same_type(a, b))
      FAIL(
          "output %d of the If is %s in then_branch and %s in else_branch, and the condition is not "
          "a constant: naasc needs one static shape (bind the inputs it depends on with --input-data)",
          k, type_str(c->m, a), type_str(c->m, b));
    inf_set_out(c, k, a->dtype, a->rank, a->dims);
  }
  return true;
}

/* Whether a Loop body's condition output is always true: a constant true,
 * or the condition input passed through (possibly by Identity). */
static bool body_cond_true(const Model *g) {
  TensorId t = g->outputs[0];
  for (int hops = 0; hops < 64; hops++) {
    const Tensor *T = &g->tensors[t];
    if (T->kind == TK_CONST && T->data) return tensor_get_i(T, 0) != 0;
    if (t == g->inputs[1]) return true;
    if (!T->producer || g->nodes[T->producer].op != OP_IDENTITY) return false;
    t = g->nodes[T->producer].in[0];
  }
  return false;
}

static bool infer_loop(Ctx *c) {
  Node *n = c->n;
  int ncarry = n->nin - n->ncap - 2;
  if (ncarry < 0) FAIL("Loop needs its M and cond inputs (either may be empty)");
  Tensor *M = inf_in(c, 0), *C = inf_in(c, 1);
  if (M && (M->dtype != DT_I64 || tensor_numel(M) != 1)) FAIL("Loop's M must be one i64");
  if (C && (C->dtype != DT_BOOL || tensor_numel(C) != 1)) FAIL("Loop's cond must be one bool");
  Tensor formal[2 + NAASC_MAX_OUTPUTS];
  if (ncarry > NAASC_MAX_OUTPUTS) FAIL("Loop carries more than %d values", NAASC_MAX_OUTPUTS);
  memset(formal, 0, sizeof formal);
  formal[0].dtype = DT_I64;
  formal[1].dtype = DT_BOOL;
  for (int i = 0; i < ncarry; i++) {
    Tensor *v = inf_in(c, 2 + i);
    if (!v) FAIL("Loop carried value %d is missing", i);
    formal[2 + i] = *v;
  }
  if (!infer_sub(c, n->sub[0], formal, 2 + ncarry)) return false;
  Model *g = &c->m->subs[n->sub[0]];
  int nscan = (int)g->noutputs - 1 - ncarry;
  if (nscan < 0 || n->nout != ncarry + nscan)
    FAIL("the Loop body has %u outputs for a condition, %d carried values and %d Loop outputs",
         g->noutputs, ncarry, n->nout);
  for (int i = 0; i < ncarry; i++) {
    const Tensor *o = &g->tensors[g->outputs[1 + i]];
    if (!same_type(o, &formal[2 + i]))
      FAIL("Loop-carried value %d changes from %s to %s in an iteration: naasc needs static shapes",
           i, type_str(c->m, &formal[2 + i]), type_str(c->m, o));
    inf_set_out(c, i, o->dtype, o->rank, o->dims);
  }
  if (!nscan) return true;
  /* scan outputs stack the iterations: the trip count must be static */
  int64_t trips = -1;
  bool cond0 = !C || (tensor_is_const(C) && tensor_get_i(C, 0));
  if (C && tensor_is_const(C) && !tensor_get_i(C, 0))
    trips = 0;
  else if (M && tensor_is_const(M) && cond0 && body_cond_true(g))
    trips = tensor_get_i(M, 0) < 0 ? 0 : tensor_get_i(M, 0);
  for (int s = 0; s < nscan; s++) {
    const Tensor *o = &g->tensors[g->outputs[1 + ncarry + s]];
    if (trips < 0) { /* from the data: folded when every input is constant */
      for (int k = 0; k < n->nin; k++)
        if (n->in[k] && !tensor_is_const(&c->m->tensors[n->in[k]]))
          FAIL(
              "the Loop's trip count depends on the values of input '%s', which are not known when "
              "compiling, so its scan output %d has no static shape; naasc needs static shapes",
              c->m->tensors[n->in[k]].name, s);
      if (!M || tensor_get_i(M, 0) > 65536)
        FAIL("a Loop on constants with more than 65536 trips (or none given) is not folded");
      Tensor *t = inf_out(c, ncarry + s);
      if (t) {
        t->dtype = o->dtype;
        t->rank = -1;
      }
      continue;
    }
    if (o->rank + 1 > NAASC_MAX_RANK) FAIL("scan output %d would have rank %d", s, o->rank + 1);
    int64_t dims[NAASC_MAX_RANK];
    dims[0] = trips;
    for (int q = 0; q < o->rank; q++) dims[q + 1] = o->dims[q];
    inf_set_out(c, ncarry + s, o->dtype, o->rank + 1, dims);
  }
  return true;
}

static bool infer_scan(Ctx *c) {
  Node *n = c->n;
  Attrs *a = &n->a;
  int nin = n->nin - n->ncap, nsi = (int)a->num_scan_inputs, nst = nin - nsi;
  if (nsi < 1 || nst < 0) FAIL("Scan has %d inputs but num_scan_inputs is %d", nin, nsi);
  if (nin > NAASC_MAX_OUTPUTS) FAIL("Scan has more than %d inputs", NAASC_MAX_OUTPUTS);
  Tensor formal[NAASC_MAX_OUTPUTS];
  memset(formal, 0, sizeof formal);
  int64_t T = -1;
  for (int i = 0; i < nin; i++) {
    Tensor *v = inf_in(c, i);
    if (!v) FAIL("Scan input %d is missing", i);
    formal[i] = *v;
    if (i < nst) continue;
    int k = i - nst;
    int64_t ax = k < a->nscan_in_axes ? a->scan_in_axes[k] : 0;
    if (!inf_axis_ok(c, &ax, v->rank, "scan_input_axes entry")) return false;
    if (T >= 0 && v->dims[ax] != T) FAIL("scan inputs differ in length along their axes");
    T = v->dims[ax];
    formal[i].rank = v->rank - 1;
    for (int q = 0, j = 0; q < v->rank; q++)
      if (q != ax) formal[i].dims[j++] = v->dims[q];
    for (int q = formal[i].rank; q < NAASC_MAX_RANK; q++) formal[i].dims[q] = -1;
  }
  if (!infer_sub(c, n->sub[0], formal, nin)) return false;
  Model *g = &c->m->subs[n->sub[0]];
  int nso = (int)g->noutputs - nst;
  if (nso < 0 || n->nout != nst + nso)
    FAIL("the Scan body has %u outputs for %d states and %d outputs", g->noutputs, nst, n->nout);
  for (int i = 0; i < nst; i++) {
    const Tensor *o = &g->tensors[g->outputs[i]];
    if (!same_type(o, &formal[i]))
      FAIL("Scan state %d changes from %s to %s in an iteration: naasc needs static shapes", i,
           type_str(c->m, &formal[i]), type_str(c->m, o));
    inf_set_out(c, i, o->dtype, o->rank, o->dims);
  }
  for (int s = 0; s < nso; s++) {
    const Tensor *o = &g->tensors[g->outputs[nst + s]];
    int r = o->rank + 1;
    if (r > NAASC_MAX_RANK) FAIL("scan output %d would have rank %d", s, r);
    int64_t ax = s < a->nscan_out_axes ? a->scan_out_axes[s] : 0;
    if (!inf_axis_ok(c, &ax, r, "scan_output_axes entry")) return false;
    int64_t dims[NAASC_MAX_RANK];
    for (int q = 0, j = 0; q < r; q++) dims[q] = q == ax ? T : o->dims[j++];
    inf_set_out(c, nst + s, o->dtype, r, dims);
  }
  return true;
}

/* ---- If inlining --------------------------------------------------------- */

static const char *unique_name(Model *m, const char *base, const char *owner) {
  if (!model_find_tensor(m, base)) return base;
  for (int k = 0;; k++) {
    const char *nm = k ? arena_printf(&m->arena, "%s/%s.%d", owner, base, k)
                       : arena_printf(&m->arena, "%s/%s", owner, base);
    if (!nm || !model_find_tensor(m, nm)) return nm;
  }
}

bool inline_if(Ctx *c) {
  Model *m = c->m;
  NodeId at = c->id;
  Node *n = &m->nodes[at];
  Tensor *cond = inf_in(c, 0);
  if (tensor_numel(cond) != 1) FAIL("If needs a condition with one element");
  bool taken = tensor_get_i(cond, 0) != 0;
  uint32_t gid = n->sub[taken ? 0 : 1];
  if (!gid || gid >= m->nsubs) FAIL("internal: If has no %s branch", taken ? "then" : "else");
  Model *g = &m->subs[gid];
  if ((int)g->noutputs != n->nout)
    FAIL("the %s branch has %u outputs, the If %d", taken ? "then" : "else", g->noutputs, n->nout);
  const char *ifname = n->name;
  TensorId *map = xcalloc(g->ntensors, sizeof *map);
  bool *redirected = xcalloc((size_t)(n->nout ? n->nout : 1), sizeof *redirected);
  bool ok = false;
  if (!map || !redirected) goto oom;
  /* a branch output made by a branch node, not repeated, becomes the If's output tensor itself */
  for (int k = 0; k < n->nout; k++) {
    TensorId bo = g->outputs[k];
    if (!n->out[k] || g->tensors[bo].kind != TK_VALUE || !g->tensors[bo].producer || map[bo])
      continue;
    map[bo] = n->out[k];
    redirected[k] = true;
  }
  for (uint32_t t = 1; t < g->ntensors; t++) {
    const Tensor *T = &g->tensors[t];
    if (map[t]) continue;
    if (T->kind == TK_OUTER) {
      if ((int)T->outer >= n->nin || !n->in[T->outer])
        FAIL("internal: outer value '%s' is unbound", T->name);
      map[t] = n->in[T->outer];
      continue;
    }
    if (T->kind == TK_INPUT)
      FAIL("the %s branch of an If has formal inputs", taken ? "then" : "else");
    const char *nm = unique_name(m, T->name, ifname);
    if (!nm) goto oom;
    TensorId id = model_add_tensor(m, nm, T->dtype, T->rank, T->dims, T->kind);
    if (!id) goto oom;
    Tensor *U = &m->tensors[id];
    T = &g->tensors[t];
    U->data = T->data;
    U->is_param = T->is_param;
    if (T->kind == TK_VALUE) { /* inferred again in place */
      U->rank = -1;
      for (int q = 0; q < NAASC_MAX_RANK; q++) U->dims[q] = -1;
    }
    map[t] = id;
  }
  uint32_t first = m->nnodes;
  for (uint32_t i = 1; i < g->nnodes; i++) {
    const Node *gn = &g->nodes[i];
    if (gn->dead) continue;
    TensorId ins[256], outs[NAASC_MAX_OUTPUTS];
    if (gn->nin > 256 || gn->nout > NAASC_MAX_OUTPUTS)
      FAIL("branch node '%s' has too many inputs or outputs", gn->name);
    for (int j = 0; j < gn->nin; j++) ins[j] = gn->in[j] ? map[gn->in[j]] : 0;
    for (int j = 0; j < gn->nout; j++) outs[j] = gn->out[j] ? map[gn->out[j]] : 0;
    NodeId id = model_add_node(m, gn->op, gn->name, gn->nin, ins, gn->nout, outs);
    if (!id) goto oom;
    gn = &g->nodes[i];
    Node *nn = &m->nodes[id];
    nn->onnx_op = gn->onnx_op;
    nn->a = gn->a;
    nn->act = gn->act;
    nn->act_a = gn->act_a;
    nn->ncap = gn->ncap;
    nn->host_only = gn->host_only;
    for (int s = 0; s < 2; s++) {
      if (!gn->sub[s]) continue;
      Model *shell = xmalloc(sizeof *shell);
      if (!shell) goto oom;
      *shell = g->subs[gn->sub[s]];
      memset(&g->subs[gn->sub[s]], 0, sizeof(Model)); /* adopted: the branch no longer owns it */
      uint32_t sid = model_add_sub(m, shell);
      if (!sid) goto oom;
      g = &m->subs[gid];
      m->nodes[id].sub[s] = sid;
    }
  }
  n = &m->nodes[at];                  /* model_add_node may have moved the node array */
  for (int k = 0; k < n->nout; k++) { /* outputs not made by a branch node: an Identity */
    n = &m->nodes[at];
    if (!n->out[k] || redirected[k]) continue;
    TensorId src = map[g->outputs[k]], dst = n->out[k];
    const char *nm = arena_printf(&m->arena, "%s/output_%d", ifname, k);
    if (!nm || !model_add_node(m, OP_IDENTITY, nm, 1, &src, 1, &dst)) goto oom;
  }
  /* move the new nodes right after the If, then renumber producers */
  uint32_t cnt = m->nnodes - first;
  Node *tmp = xmalloc(sizeof(Node) * (cnt ? cnt : 1));
  if (!tmp) goto oom;
  memcpy(tmp, &m->nodes[first], sizeof(Node) * cnt);
  memmove(&m->nodes[at + 1 + cnt], &m->nodes[at + 1], sizeof(Node) * (first - at - 1));
  memcpy(&m->nodes[at + 1], tmp, sizeof(Node) * cnt);
  xfree(tmp);
  for (uint32_t t = 1; t < m->ntensors; t++) m->tensors[t].producer = 0;
  for (uint32_t i = 1; i < m->nnodes; i++) {
    if (m->nodes[i].dead || i == at) continue;
    for (int k = 0; k < m->nodes[i].nout; k++)
      if (m->nodes[i].out[k]) m->tensors[m->nodes[i].out[k]].producer = i;
  }
  m->nodes[at].dead = true;
  ok = true;
  goto done;
oom:
  diag_error(c->d, c->where, "out of memory inlining the If");
done:
  xfree(map);
  xfree(redirected);
  return ok;
}

/* ---- the shape rules ------------------------------------------------------ */

static bool recurrent(Ctx *c) {
  Node *n = c->n;
  Attrs *a = &n->a;
  int ng = n->op == OP_LSTM ? 4 : n->op == OP_GRU ? 3 : 1;
  if (!inf_need(c, 3, n->op == OP_LSTM ? 8 : 6)) return false;
  Tensor *X = inf_in(c, 0), *W = inf_in(c, 1), *R = inf_in(c, 2);
  if (X->rank != 3 || W->rank != 3 || R->rank != 3) FAIL("%s needs 3-D X, W and R", op_name(n->op));
  int64_t D = a->direction == RNN_BIDIRECTIONAL ? 2 : 1, H = R->dims[2];
  if (a->hidden_size && a->hidden_size != H)
    FAIL("hidden_size %" PRId64 " disagrees with R's %" PRId64, a->hidden_size, H);
  if (W->dims[0] != D || W->dims[1] != ng * H || W->dims[2] != X->dims[2] || R->dims[0] != D ||
      R->dims[1] != ng * H)
    FAIL("%s weights do not match: W %s, R %s for %" PRId64 " direction(s), hidden size %" PRId64,
         op_name(n->op), type_str(c->m, W), type_str(c->m, R), D, H);
  int per = n->op == OP_LSTM ? 3 : n->op == OP_GRU ? 2 : 1;
  if (a->nacts && a->nacts != per * D)
    FAIL("%s has %d activations, needs %" PRId64, op_name(n->op), a->nacts, per * D);
  bool l1 = a->layout == 1;
  int64_t T = l1 ? X->dims[1] : X->dims[0], B = l1 ? X->dims[0] : X->dims[1];
  int64_t y[4] = {T, D, B, H}, h[3] = {D, B, H};
  if (l1) y[0] = B, y[1] = T, y[2] = D, h[0] = B, h[1] = D;
  inf_set_out(c, 0, X->dtype, 4, y);
  inf_set_out(c, 1, X->dtype, 3, h);
  inf_set_out(c, 2, X->dtype, 3, h);
  return true;
}

static bool pad_shape(Ctx *c) {
  Attrs *a = &c->n->a;
  Tensor *x = inf_in(c, 0);
  int64_t full[2 * NAASC_MAX_RANK] = {0}, dims[NAASC_MAX_RANK];
  if (a->naxes > 0) {
    if (a->npads != 2 * a->naxes) FAIL("Pad has %d pads for %d axes", a->npads, a->naxes);
    for (int i = 0; i < a->naxes; i++) {
      int64_t ax = a->axes[i];
      if (!inf_axis_ok(c, &ax, x->rank, "Pad axis")) return false;
      full[ax] = a->pads[i];
      full[x->rank + ax] = a->pads[a->naxes + i];
    }
  } else {
    if (a->npads != 2 * x->rank) FAIL("Pad has %d pads for rank %d", a->npads, x->rank);
    memcpy(full, a->pads, sizeof(int64_t) * (size_t)a->npads);
  }
  memcpy(a->pads, full, sizeof full);
  a->npads = 2 * x->rank;
  a->naxes = 0;
  for (int i = 0; i < x->rank; i++) { /* checked: pads are the file's int64s */
    if (!ck_add_i64(x->dims[i], full[i], &dims[i]) ||
        !ck_add_i64(dims[i], full[x->rank + i], &dims[i]))
      FAIL("Pad's pads %" PRId64 " and %" PRId64 " overflow dim %d", full[i], full[x->rank + i], i);
    if (dims[i] < 0) FAIL("Pad makes dim %d negative", i);
  }
  Tensor *cv = inf_in(c, 2);
  if (cv && (cv->dtype != x->dtype || tensor_numel(cv) > 1))
    FAIL("Pad's constant_value must be one value of the data's type");
  inf_set_out(c, 0, x->dtype, x->rank, dims);
  return true;
}

static bool split_shape(Ctx *c) {
  Attrs *a = &c->n->a;
  Tensor *x = inf_in(c, 0);
  if (!inf_axis_ok(c, &a->axis, x->rank, "Split axis")) return false;
  int k = c->n->nout;
  int64_t n = x->dims[a->axis], dims[NAASC_MAX_RANK];
  if (a->num_outputs && a->num_outputs != k)
    FAIL("Split num_outputs is %" PRId64 " but the node has %d outputs", a->num_outputs, k);
  if (a->nsplit) {
    int64_t tot = 0;
    if (a->nsplit != k) FAIL("Split has %d sizes for %d outputs", a->nsplit, k);
    for (int i = 0; i < k; i++) {
      if (a->split[i] < 0) FAIL("Split sizes must not be negative");
      tot += a->split[i];
    }
    if (tot != n) FAIL("Split sizes add up to %" PRId64 ", not %" PRId64, tot, n);
  } else {
    if (k > NAASC_MAX_OUTPUTS) FAIL("Split into more than %d outputs", NAASC_MAX_OUTPUTS);
    int64_t ch = (n + k - 1) / k;
    for (int i = 0; i < k; i++)
      a->split[i] = ch < n - i * ch ? ch : (n - i * ch > 0 ? n - i * ch : 0);
    a->nsplit = k;
  }
  for (int i = 0; i < k; i++) {
    memcpy(dims, x->dims, sizeof dims);
    dims[a->axis] = a->split[i];
    inf_set_out(c, i, x->dtype, x->rank, dims);
  }
  return true;
}

static bool window_len(Ctx *c, int64_t n) {
  if (n < 0) FAIL("the window size must not be negative");
  DType dt = c->n->a.to ? c->n->a.to : DT_F32;
  if (!(dt == DT_F32 || dt == DT_F64 || dt == DT_F16 || dt == DT_BF16))
    FAIL("output_datatype must be a float type");
  inf_set_out(c, 0, dt, 1, &n);
  return true;
}

static bool const_scalar(Ctx *c, int i, int64_t *v) {
  Tensor *t = inf_in(c, i);
  if (!t || !tensor_is_const(t) || tensor_numel(t) != 1)
    FAIL("input %d of %s must be a one-element constant (naasc needs static shapes)", i,
         op_name(c->n->op));
  *v = tensor_get_i(t, 0);
  return true;
}

bool infer_op(Ctx *c) {
  Node *n = c->n;
  Attrs *a = &n->a;
  Op op = n->op;
  Tensor *x = inf_in(c, 0);
  int64_t dims[NAASC_MAX_RANK];
  int rank;
  switch (op) {
  case OP_ABS:
  case OP_NEG:
  case OP_EXP:
  case OP_LOG:
  case OP_TANH:
  case OP_ERF:
  case OP_SIN:
  case OP_COS:
  case OP_TAN:
  case OP_ASIN:
  case OP_ACOS:
  case OP_ATAN:
  case OP_SINH:
  case OP_COSH:
  case OP_ASINH:
  case OP_ACOSH:
  case OP_ATANH:
  case OP_FLOOR:
  case OP_CEIL:
  case OP_ROUND:
  case OP_SIGN:
  case OP_RECIPROCAL:
  case OP_BITWISENOT:
  case OP_ELU:
  case OP_SELU:
  case OP_CELU:
  case OP_SOFTPLUS:
  case OP_SOFTSIGN:
  case OP_GELU:
  case OP_MISH:
  case OP_THRESHOLDEDRELU:
  case OP_SHRINK:
    if (!inf_need(c, 1, 1)) return false;
    return same(c, x->dtype);
  case OP_NOT:
  case OP_ISNAN:
  case OP_ISINF:
    if (!inf_need(c, 1, 1)) return false;
    return same(c, DT_BOOL);
  case OP_MIN:
  case OP_MEAN:
  case OP_SUM: return nary(c, 1, -1);
  case OP_MOD:
  case OP_BITSHIFT:
  case OP_BITWISEAND:
  case OP_BITWISEOR:
  case OP_BITWISEXOR:
  case OP_EQUAL:
  case OP_LESS:
  case OP_GREATER:
  case OP_LESSOREQUAL:
  case OP_GREATEROREQUAL:
  case OP_AND:
  case OP_OR:
  case OP_XOR: return nary(c, 2, 2);
  case OP_PRELU: {
    if (!inf_need(c, 2, 2)) return false;
    if (!inf_broadcast(c, 0, 1, &rank, dims)) return false;
    if (rank != x->rank || memcmp(dims, x->dims, sizeof(int64_t) * (size_t)rank))
      FAIL("PRelu slope '%s' does not broadcast to X", inf_in(c, 1)->name);
    return same(c, x->dtype);
  }
  case OP_WHERE: {
    if (!inf_need(c, 3, 3)) return false;
    if (x->dtype != DT_BOOL) FAIL("Where's condition must be bool");
    if (inf_in(c, 1)->dtype != inf_in(c, 2)->dtype) FAIL("Where's X and Y differ in type");
    if (!inf_broadcast(c, 0, 2, &rank, dims)) return false;
    inf_set_out(c, 0, inf_in(c, 1)->dtype, rank, dims);
    return true;
  }
  case OP_LOGSOFTMAX:
  case OP_HARDMAX:
  case OP_CUMSUM:
    if (!inf_need(c, 1, 1)) return false;
    if (!inf_axis_ok(c, &a->axis, x->rank ? x->rank : 1, "axis")) return false;
    return same(c, x->dtype);
  case OP_REDUCEMAX:
  case OP_REDUCEMIN:
  case OP_REDUCESUM:
  case OP_REDUCEPROD:
  case OP_REDUCEL1:
  case OP_REDUCEL2:
  case OP_REDUCELOGSUM:
  case OP_REDUCELOGSUMEXP:
  case OP_REDUCESUMSQUARE:
    if (!inf_need(c, 1, 1)) return false;
    return reduce_axes(c, a->keepdims);
  case OP_ARGMAX:
  case OP_ARGMIN:
    if (!inf_need(c, 1, 1)) return false;
    if (!inf_axis_ok(c, &a->axis, x->rank, "axis")) return false;
    rank = 0;
    for (int i = 0; i < x->rank; i++)
      if (i != a->axis)
        dims[rank++] = x->dims[i];
      else if (a->keepdims)
        dims[rank++] = 1;
    inf_set_out(c, 0, DT_I64, rank, dims);
    return true;
  case OP_GLOBALMAXPOOL:
    if (!inf_need(c, 1, 1)) return false;
    if (x->rank < 3) FAIL("input '%s' has rank %d; needs N, C and spatial dims", x->name, x->rank);
    memcpy(dims, x->dims, sizeof dims);
    for (int i = 2; i < x->rank; i++) dims[i] = 1;
    inf_set_out(c, 0, x->dtype, x->rank, dims);
    return true;
  case OP_LAYERNORM: {
    if (!inf_need(c, 2, 3)) return false;
    if (!inf_axis_ok(c, &a->axis, x->rank, "axis")) return false;
    for (int i = 0; i < x->rank; i++) dims[i] = i < a->axis ? x->dims[i] : 1;
    DType st = a->stash_type == DT_F64 ? DT_F64 : DT_F32;
    same(c, x->dtype);
    inf_set_out(c, 1, st, x->rank, dims);
    inf_set_out(c, 2, st, x->rank, dims);
    return true;
  }
  case OP_INSTANCENORM:
  case OP_GROUPNORM: {
    if (!inf_need(c, 3, 3)) return false;
    if (x->rank < 3) FAIL("input '%s' has rank %d; needs N, C and spatial dims", x->name, x->rank);
    int64_t C = x->dims[1], G = op == OP_GROUPNORM ? a->num_groups : C;
    if (G <= 0 || C % G) FAIL("num_groups %" PRId64 " does not divide %" PRId64 " channels", G, C);
    for (int i = 1; i <= 2; i++) {
      int64_t k = tensor_numel(inf_in(c, i));
      if (k != C && k != G)
        FAIL("input %d ('%s') must have %" PRId64 " values", i, inf_in(c, i)->name, C);
    }
    return same(c, x->dtype);
  }
  case OP_LRN:
    if (!inf_need(c, 1, 1)) return false;
    if (x->rank < 3) FAIL("LRN needs an input of rank 3 or more");
    if (a->size <= 0) FAIL("LRN size must be positive");
    return same(c, x->dtype);
  case OP_MVN:
    if (!inf_need(c, 1, 1)) return false;
    if (a->naxes == 0) { /* default axes [0, 2, 3] */
      a->naxes = 3;
      a->axes[0] = 0, a->axes[1] = 2, a->axes[2] = 3;
    }
    for (int i = 0; i < a->naxes; i++)
      if (!inf_axis_ok(c, &a->axes[i], x->rank, "axis")) return false;
    return same(c, x->dtype);
  case OP_QUANTIZELINEAR: {
    if (!inf_need(c, 2, 3)) return false;
    Tensor *z = inf_in(c, 2);
    DType yt = z ? z->dtype : a->to ? a->to : DT_U8;
    if (a->to && z && a->to != z->dtype)
      FAIL("output_dtype %s disagrees with the zero point's %s", dtype_name(a->to),
           dtype_name(z->dtype));
    if (yt != DT_U8 && yt != DT_I8 && yt != DT_U16 && yt != DT_I16)
      FAIL("cannot quantize to %s", dtype_name(yt));
    return same(c, yt);
  }
  case OP_DEQUANTIZELINEAR: {
    if (!inf_need(c, 2, 3)) return false;
    Tensor *s = inf_in(c, 1);
    if (!(s->dtype == DT_F32 || s->dtype == DT_F16 || s->dtype == DT_BF16 || s->dtype == DT_F64))
      FAIL("the scale must be a float type");
    return same(c, s->dtype);
  }
  case OP_DYNQUANTIZELINEAR:
    if (!inf_need(c, 1, 1)) return false;
    if (x->dtype != DT_F32) FAIL("DynamicQuantizeLinear needs an f32 input");
    same(c, DT_U8);
    inf_set_out(c, 1, DT_F32, 0, NULL);
    inf_set_out(c, 2, DT_U8, 0, NULL);
    return true;
  case OP_QLINEARCONV:
  case OP_CONVINTEGER: {
    bool q = op == OP_QLINEARCONV;
    if (!inf_need(c, q ? 8 : 2, q ? 9 : 4)) return false;
    Tensor *w = inf_in(c, q ? 3 : 1), *b = q ? inf_in(c, 8) : NULL;
    if (b && b->dtype != DT_I32) FAIL("QLinearConv's bias must be i32");
    if (!inf_window_op(c, x, w, b)) return false;
    Tensor *yz = q ? inf_in(c, 7) : NULL;
    Tensor *o = inf_out(c, 0);
    if (o) o->dtype = q ? (yz ? yz->dtype : DT_U8) : DT_I32;
    return true;
  }
  case OP_QLINEARMATMUL:
  case OP_MATMULINTEGER: {
    bool q = op == OP_QLINEARMATMUL;
    if (!inf_need(c, q ? 8 : 2, q ? 8 : 4)) return false;
    if (!inf_matmul(c, x, inf_in(c, q ? 3 : 1), &rank, dims)) return false;
    Tensor *yz = q ? inf_in(c, 7) : NULL;
    inf_set_out(c, 0, q ? (yz ? yz->dtype : DT_U8) : DT_I32, rank, dims);
    return true;
  }
  case OP_UPSAMPLE:
    if (!inf_need(c, 1, 1)) return false;
    if (a->naxes != x->rank) FAIL("Upsample has %d scales for rank %d", a->naxes, x->rank);
    for (int i = 0; i < x->rank; i++) {
      if (!(a->rz_scales[i] >= 1)) FAIL("Upsample scales must be at least 1");
      dims[i] = (int64_t)floor((double)x->dims[i] * a->rz_scales[i]);
    }
    inf_set_out(c, 0, x->dtype, x->rank, dims);
    return true;
  case OP_CASTLIKE:
    if (!inf_need(c, 2, 2)) return false;
    a->to = inf_in(c, 1)->dtype;
    return same(c, a->to);
  case OP_PAD:
    if (!inf_need(c, 1, 3)) return false;
    return pad_shape(c);
  case OP_SPLIT:
    if (!inf_need(c, 1, 1)) return false;
    return split_shape(c);
  case OP_EXPAND: {
    if (!inf_need(c, 1, 1)) return false;
    rank = a->nshape > x->rank ? a->nshape : x->rank;
    for (int i = 0; i < rank; i++) {
      int ix = i - (rank - x->rank), is = i - (rank - a->nshape);
      int64_t u = ix >= 0 ? x->dims[ix] : 1, v = is >= 0 ? a->shape[is] : 1;
      if (u != v && u != 1 && v != 1)
        FAIL("Expand: dim %d of the input (%" PRId64 ") does not broadcast to %" PRId64, i, u, v);
      dims[i] = u == 1 ? v : u;
    }
    inf_set_out(c, 0, x->dtype, rank, dims);
    return true;
  }
  case OP_TILE:
    if (!inf_need(c, 1, 1)) return false;
    if (a->nreps != x->rank) FAIL("Tile has %d repeats for rank %d", a->nreps, x->rank);
    for (int i = 0; i < x->rank; i++) {
      if (a->reps[i] < 0) FAIL("Tile repeats must not be negative");
      dims[i] = x->dims[i] * a->reps[i];
    }
    inf_set_out(c, 0, x->dtype, x->rank, dims);
    return true;
  case OP_CONSTANTOFSHAPE:
    if (n->nin != 0) FAIL("ConstantOfShape needs its shape input");
    for (int i = 0; i < a->nshape; i++)
      if (a->shape[i] < 0) FAIL("ConstantOfShape dims must not be negative");
    inf_set_out(c, 0, a->value_dtype, a->nshape, a->shape);
    return true;
  case OP_RANGE: {
    if (!inf_need(c, 3, 3)) return false;
    for (int i = 0; i < 3; i++) {
      Tensor *t = inf_in(c, i);
      if (!tensor_is_const(t) || tensor_numel(t) != 1)
        FAIL("Range's %s must be a one-element constant (naasc needs static shapes)",
             i == 0   ? "start"
             : i == 1 ? "limit"
                      : "delta");
      if (t->dtype != x->dtype) FAIL("Range's inputs differ in type");
    }
    double s = tensor_get_f(x, 0), l = tensor_get_f(inf_in(c, 1), 0),
           dl = tensor_get_f(inf_in(c, 2), 0);
    if (dl == 0) FAIL("Range delta must not be 0");
    double k = ceil((l - s) / dl);
    dims[0] = k > 0 ? (int64_t)k : 0;
    if (dims[0] > NAASC_MAX_ELEMS) FAIL("Range gives more than 2^31 elements");
    inf_set_out(c, 0, x->dtype, 1, dims);
    return true;
  }
  case OP_SIZE:
    if (!inf_need(c, 1, 1)) return false;
    inf_set_out(c, 0, DT_I64, 0, NULL);
    return true;
  case OP_ONEHOT: {
    if (n->nin != 3 || !x || !inf_in(c, 2)) FAIL("OneHot needs indices, depth and values");
    rank = x->rank + 1;
    if (rank > NAASC_MAX_RANK) FAIL("OneHot gives rank %d", rank);
    if (!inf_axis_ok(c, &a->axis, rank, "OneHot axis")) return false;
    if (a->depth < 1) FAIL("OneHot depth must be positive");
    if (tensor_numel(inf_in(c, 2)) != 2) FAIL("OneHot values must have two elements");
    for (int i = 0, j = 0; i < rank; i++) dims[i] = i == a->axis ? a->depth : x->dims[j++];
    inf_set_out(c, 0, inf_in(c, 2)->dtype, rank, dims);
    return true;
  }
  case OP_EYELIKE:
    if (!inf_need(c, 1, 1)) return false;
    if (x->rank != 2) FAIL("EyeLike needs a 2-D input");
    return same(c, a->to ? a->to : x->dtype);
  case OP_TRILU:
    if (!inf_need(c, 1, 1)) return false;
    if (x->rank < 2) FAIL("Trilu needs an input of rank 2 or more");
    return same(c, x->dtype);
  case OP_DEPTHTOSPACE:
  case OP_SPACETODEPTH: {
    if (!inf_need(c, 1, 1)) return false;
    int64_t b = a->blocksize;
    if (x->rank != 4 || b < 1) FAIL("%s needs a 4-D input and a positive blocksize", op_name(op));
    memcpy(dims, x->dims, sizeof dims);
    if (op == OP_DEPTHTOSPACE) {
      if (x->dims[1] % (b * b))
        FAIL("%" PRId64 " channels do not divide by blocksize^2", x->dims[1]);
      dims[1] /= b * b, dims[2] *= b, dims[3] *= b;
    } else {
      if (x->dims[2] % b || x->dims[3] % b) FAIL("the spatial dims do not divide by the blocksize");
      dims[1] *= b * b, dims[2] /= b, dims[3] /= b;
    }
    inf_set_out(c, 0, x->dtype, 4, dims);
    return true;
  }
  case OP_GATHERELEMENTS: {
    if (!inf_need(c, 2, 2)) return false;
    Tensor *ix = inf_in(c, 1);
    if (ix->rank != x->rank) FAIL("GatherElements indices must have the data's rank");
    if (!inf_axis_ok(c, &a->axis, x->rank, "axis")) return false;
    inf_set_out(c, 0, x->dtype, ix->rank, ix->dims);
    return true;
  }
  case OP_GATHERND: {
    if (!inf_need(c, 2, 2)) return false;
    Tensor *ix = inf_in(c, 1);
    int64_t b = a->batch_dims, m = ix->rank ? ix->dims[ix->rank - 1] : 0;
    if (ix->rank < 1 || b < 0 || b >= ix->rank || b >= x->rank || m < 1 || m > x->rank - b)
      FAIL("GatherND indices do not fit the data");
    rank = 0;
    for (int i = 0; i < ix->rank - 1; i++) dims[rank++] = ix->dims[i];
    for (int i = (int)(b + m); i < x->rank; i++) dims[rank++] = x->dims[i];
    if (rank > NAASC_MAX_RANK) FAIL("GatherND gives rank %d", rank);
    inf_set_out(c, 0, x->dtype, rank, dims);
    return true;
  }
  case OP_SCATTER:
  case OP_SCATTERELEMENTS:
  case OP_SCATTERND:
    if (!inf_need(c, 3, 3)) return false;
    if (op != OP_SCATTERND && !inf_axis_ok(c, &a->axis, x->rank, "axis")) return false;
    if (inf_in(c, 2)->dtype != x->dtype) FAIL("the updates' type differs from the data's");
    return same(c, x->dtype);
  case OP_REVERSESEQUENCE:
    if (!inf_need(c, 2, 2)) return false;
    if (x->rank < 2) FAIL("ReverseSequence needs an input of rank 2 or more");
    return same(c, x->dtype);
  case OP_TOPK:
    if (!inf_need(c, 1, 1)) return false;
    if (!inf_axis_ok(c, &a->axis, x->rank, "axis")) return false;
    if (a->k < 0 || a->k > x->dims[a->axis])
      FAIL("TopK k = %" PRId64 " is out of range for a dim of %" PRId64, a->k, x->dims[a->axis]);
    memcpy(dims, x->dims, sizeof dims);
    dims[a->axis] = a->k;
    inf_set_out(c, 0, x->dtype, x->rank, dims);
    inf_set_out(c, 1, DT_I64, x->rank, dims);
    return true;
  case OP_COMPRESS: { /* the condition is a constant here (else shape_from_data) */
    if (!inf_need(c, 2, 2)) return false;
    Tensor *cond = inf_in(c, 1);
    int64_t keep = 0, nc = tensor_numel(cond);
    for (int64_t i = 0; i < nc; i++) keep += tensor_get_i(cond, i) != 0;
    if (a->has_axis) {
      if (!inf_axis_ok(c, &a->axis, x->rank, "axis")) return false;
      if (nc > x->dims[a->axis]) FAIL("the condition is longer than the axis");
      memcpy(dims, x->dims, sizeof dims);
      dims[a->axis] = keep;
      inf_set_out(c, 0, x->dtype, x->rank, dims);
    } else {
      if (nc > tensor_numel(x)) FAIL("the condition is longer than the input");
      inf_set_out(c, 0, x->dtype, 1, &keep);
    }
    return true;
  }
  case OP_LSTM:
  case OP_GRU:
  case OP_RNN: return recurrent(c);
  case OP_IF: return infer_if(c);
  case OP_LOOP: return infer_loop(c);
  case OP_SCAN: return infer_scan(c);
  case OP_EINSUM:
    if (!inf_need(c, 1, NAASC_MAX_EINSUM)) return false;
    return infer_einsum(c);
  case OP_GRIDSAMPLE: {
    if (!inf_need(c, 2, 2)) return false;
    Tensor *g = inf_in(c, 1);
    if (x->rank != 4 || g->rank != 4 || g->dims[3] != 2 || g->dims[0] != x->dims[0])
      FAIL("GridSample supports 2-D sampling: X [N,C,H,W] and grid [N,Ho,Wo,2]");
    int64_t d4[4] = {x->dims[0], x->dims[1], g->dims[1], g->dims[2]};
    inf_set_out(c, 0, x->dtype, 4, d4);
    return true;
  }
  case OP_ROIALIGN: {
    if (!inf_need(c, 3, 3)) return false;
    Tensor *r = inf_in(c, 1);
    if (x->rank != 4 || r->rank != 2 || r->dims[1] != 4)
      FAIL("RoiAlign needs X [N,C,H,W] and rois [R,4]");
    int64_t d4[4] = {r->dims[0], x->dims[1], a->out_h, a->out_w};
    inf_set_out(c, 0, x->dtype, 4, d4);
    return true;
  }
  case OP_MAXUNPOOL: {
    if (!inf_need(c, 2, 3)) return false;
    if (n->nin > 2 && n->in[2]) {
      int k;
      if (!inf_const_ints(c, 2, a->shape, NAASC_MAX_RANK, &k)) return false;
      a->nshape = k;
      inf_keep(c, 2);
    }
    int nsp = x->rank - 2;
    if (nsp < 1 || a->nsp != nsp)
      FAIL("MaxUnpool kernel_shape has %d dims for %d spatial dims", a->nsp, nsp);
    if (a->nshape && a->nshape != x->rank)
      FAIL("MaxUnpool output_shape must have rank %d", x->rank);
    dims[0] = x->dims[0], dims[1] = x->dims[1];
    for (int i = 0; i < nsp; i++)
      dims[i + 2] = a->nshape ? a->shape[i + 2]
                              : (x->dims[i + 2] - 1) * a->strides[i] - a->pads[i] -
                                    a->pads[i + nsp] + a->kernel[i];
    inf_set_out(c, 0, x->dtype, x->rank, dims);
    return true;
  }
  case OP_DET:
    if (!inf_need(c, 1, 1)) return false;
    if (x->rank < 2 || x->dims[x->rank - 1] != x->dims[x->rank - 2])
      FAIL("Det needs square matrices");
    inf_set_out(c, 0, x->dtype, x->rank - 2, x->dims);
    return true;
  case OP_DFT: {
    if (!inf_need(c, 1, 1)) return false;
    if (x->rank < 3 || (x->dims[x->rank - 1] != 1 && x->dims[x->rank - 1] != 2))
      FAIL("DFT needs a [batch, ..., 1 or 2] input");
    int64_t ax = a->axis < 0 ? a->axis + x->rank : a->axis;
    if (ax < 1 || ax >= x->rank - 1) FAIL("DFT axis %" PRId64 " is out of range", a->axis);
    a->axis = ax;
    if (a->onesided && x->dims[x->rank - 1] == 2) FAIL("a one-sided DFT needs a real input");
    int64_t L = a->dft_length > 0 ? a->dft_length : x->dims[ax];
    memcpy(dims, x->dims, sizeof dims);
    dims[ax] = a->onesided ? L / 2 + 1 : L;
    dims[x->rank - 1] = 2;
    inf_set_out(c, 0, x->dtype, x->rank, dims);
    return true;
  }
  case OP_STFT: {
    if (!inf_need(c, 1, 3)) return false;
    Tensor *w = inf_in(c, 2);
    int64_t len = a->frame_length > 0 ? a->frame_length : w ? tensor_numel(w) : 0;
    if (x->rank != 3 || (x->dims[2] != 1 && x->dims[2] != 2))
      FAIL("STFT needs a [batch, length, 1 or 2] signal");
    if (len <= 0 || a->frame_step <= 0)
      FAIL("STFT needs a positive frame_step and a frame length or window");
    if (x->dims[1] < len) FAIL("the signal is shorter than a frame");
    int64_t d4[4] = {x->dims[0], (x->dims[1] - len) / a->frame_step + 1,
                     a->onesided ? len / 2 + 1 : len, 2};
    inf_set_out(c, 0, x->dtype, 4, d4);
    return true;
  }
  case OP_HANNWINDOW:
  case OP_HAMMINGWINDOW:
  case OP_BLACKMANWINDOW:
    if (n->nin != 0) FAIL("%s needs its size input", op_name(op));
    return window_len(c, a->size);
  case OP_MELWEIGHTMATRIX: {
    if (!inf_need(c, 5, 5)) return false;
    int64_t nmel, dftl;
    if (!const_scalar(c, 0, &nmel) || !const_scalar(c, 1, &dftl)) return false;
    if (nmel <= 0 || dftl <= 0) FAIL("num_mel_bins and dft_length must be positive");
    int64_t d2[2] = {dftl / 2 + 1, nmel};
    inf_set_out(c, 0, a->to ? a->to : DT_F32, 2, d2);
    return true;
  }
  case OP_TFIDF: {
    if (!inf_need(c, 1, 1)) return false;
    if (x->rank < 1 || x->rank > 2 || (x->dtype != DT_I32 && x->dtype != DT_I64))
      FAIL("TfIdfVectorizer needs a 1-D or 2-D i32 or i64 input");
    int64_t w = 0;
    for (int i = 0; i < a->nngram_indexes; i++)
      if (a->ngram_indexes[i] + 1 > w) w = a->ngram_indexes[i] + 1;
    if (x->rank == 1)
      dims[0] = w;
    else
      dims[0] = x->dims[0], dims[1] = w;
    inf_set_out(c, 0, DT_F32, x->rank, dims);
    return true;
  }
  case OP_NLLLOSS:
  case OP_SCELOSS: {
    if (!inf_need(c, 2, 3)) return false;
    Tensor *t = inf_in(c, 1);
    if (x->rank < 2 || t->rank != x->rank - 1 || t->dims[0] != x->dims[0])
      FAIL("%s needs input [N,C,...] and target [N,...]", op_name(op));
    for (int i = 1; i < t->rank; i++)
      if (t->dims[i] != x->dims[i + 1]) FAIL("the target's dims do not match the input's");
    if (a->loss_reduction == LRED_NONE)
      inf_set_out(c, 0, x->dtype, t->rank, t->dims);
    else
      inf_set_out(c, 0, x->dtype, 0, NULL);
    if (op == OP_SCELOSS) inf_set_out(c, 1, x->dtype, x->rank, x->dims);
    return true;
  }
  case OP_NONZERO:
  case OP_UNIQUE:
  case OP_NMS: FAIL("internal: %s reached shape inference", op_name(op));
  default: FAIL("no shape inference for %s", op_name(op));
  }
}

/* ---- folding budget --------------------------------------------------------- */

int64_t fold_work(const Model *m, const Node *n) {
  int64_t w = 0;
  for (int k = 0; k < n->nin; k++)
    if (n->in[k])
      w += tensor_numel(&m->tensors[n->in[k]]) > 0 ? tensor_numel(&m->tensors[n->in[k]]) : 0;
  for (int k = 0; k < n->nout; k++)
    if (n->out[k])
      w += tensor_numel(&m->tensors[n->out[k]]) > 0 ? tensor_numel(&m->tensors[n->out[k]]) : 0;
  switch (n->op) {
  case OP_CONV:
  case OP_CONVTRANSPOSE:
  case OP_GEMM:
  case OP_MATMUL:
  case OP_QLINEARCONV:
  case OP_CONVINTEGER:
  case OP_QLINEARMATMUL:
  case OP_MATMULINTEGER: return w + node_macs(m, n);
  case OP_LSTM:
  case OP_GRU:
  case OP_RNN: {
    const Tensor *X = &m->tensors[n->in[0]], *W = &m->tensors[n->in[1]], *R = &m->tensors[n->in[2]];
    return w + X->dims[0] * X->dims[1] * (tensor_numel(W) + tensor_numel(R));
  }
  case OP_LOOP:
  case OP_SCAN: {
    int64_t trips = 1 << 16, body = 0;
    if (n->op == OP_LOOP && n->in[0] && tensor_is_const(&m->tensors[n->in[0]]))
      trips = tensor_get_i(&m->tensors[n->in[0]], 0);
    if (n->sub[0] && n->sub[0] < m->nsubs) body = m->subs[n->sub[0]].nnodes;
    return w + trips * body * 1024;
  }
  case OP_NMS: {
    const Tensor *s = &m->tensors[n->in[1]];
    return w + (s->rank == 3 ? s->dims[0] * s->dims[1] * s->dims[2] * s->dims[2] : 0);
  }
  case OP_DFT:
  case OP_STFT:
  case OP_EINSUM:
  case OP_TFIDF: return w * 64;
  default: return w;
  }
}
