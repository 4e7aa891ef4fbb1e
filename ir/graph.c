/*
 * graph.c: building, querying and checking the graph IR (ir.h).
 */
#include "ir/ir.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const struct {
  int v;
  const char *name;
  size_t size;
} dtype_tab[] = {
#define X(e, v, s, sz) {v, s, sz},
    NAASC_DTYPES(X)
#undef X
};

const char *dtype_name(DType t) {
  for (size_t i = 0; i < sizeof dtype_tab / sizeof dtype_tab[0]; i++)
    if (dtype_tab[i].v == (int)t) return dtype_tab[i].name;
  return "?";
}

size_t dtype_size(DType t) {
  for (size_t i = 0; i < sizeof dtype_tab / sizeof dtype_tab[0]; i++)
    if (dtype_tab[i].v == (int)t) return dtype_tab[i].size;
  return 0;
}

bool dtype_valid(int v) {
  for (size_t i = 0; i < sizeof dtype_tab / sizeof dtype_tab[0]; i++)
    if (dtype_tab[i].v == v) return v != 0;
  return false;
}

static const struct {
  const char *name;
  char cls;
  int since;
} op_tab[] = {{"<none>", '?', 0},
#define X(e, s, c, v) {s, c, v},
              NAASC_OPS(X)
#undef X
};

const char *op_name(Op op) { return op < OP_COUNT ? op_tab[op].name : "?"; }
char op_class(Op op) { return op < OP_COUNT ? op_tab[op].cls : '?'; }
int op_since(Op op) { return op < OP_COUNT ? op_tab[op].since : 0; }

Op op_find(const char *s) {
  for (int i = 1; i < OP_COUNT; i++)
    if (i != OP_HOST && strcmp(op_tab[i].name, s) == 0) return (Op)i;
  return OP_NONE;
}

Model *model_create(const char *name) {
  Model *m = xcalloc(1, sizeof *m);
  if (!m) return NULL;
  arena_init(&m->arena);
  m->name = arena_strdup(&m->arena, name ? name : "main");
  m->tensors = xcalloc(16, sizeof *m->tensors);
  m->nodes = xcalloc(16, sizeof *m->nodes);
  if (!m->name || !m->tensors || !m->nodes) {
    model_destroy(m);
    return NULL;
  }
  m->ntensors = m->nnodes = 1;
  m->captensors = m->capnodes = 16;
  return m;
}

/* Frees what m owns, not m itself (a subgraph lives in its owner's array). */
static void model_release(Model *m) {
  for (uint32_t i = 1; i < m->nsubs; i++) model_release(&m->subs[i]);
  xfree(m->subs);
  arena_free(&m->arena);
  xfree(m->tensors);
  xfree(m->nodes);
  xfree(m->inputs);
  xfree(m->outputs);
}

uint32_t model_add_sub(Model *m, Model *sub) {
  uint32_t need = m->nsubs ? m->nsubs + 1 : 2;
  if (!ir_grow((void **)&m->subs, &m->capsubs, need, sizeof(Model))) {
    model_destroy(sub);
    return 0;
  }
  if (!m->nsubs) m->nsubs = 1;
  m->subs[m->nsubs] = *sub;
  xfree(sub);
  return m->nsubs++;
}

void model_destroy(Model *m) {
  if (!m) return;
  model_release(m);
  xfree(m);
}

bool ir_grow(void **p, uint32_t *cap, uint32_t need, size_t elem) {
  if (need <= *cap) return true;
  uint32_t nc = *cap ? *cap : 8;
  while (nc < need) {
    if (nc > UINT32_MAX / 2) return false;
    nc *= 2;
  }
  void *q = xrealloc(*p, (size_t)nc * elem);
  if (!q) return false;
  memset((char *)q + (size_t)*cap * elem, 0, (size_t)(nc - *cap) * elem);
  *p = q;
  *cap = nc;
  return true;
}

TensorId model_add_tensor(Model *m, const char *name, DType dt, int rank, const int64_t *dims,
                          TensorKind kind) {
  if (rank > NAASC_MAX_RANK) return 0;
  if (!ir_grow((void **)&m->tensors, &m->captensors, m->ntensors + 1, sizeof(Tensor))) return 0;
  Tensor *t = &m->tensors[m->ntensors];
  memset(t, 0, sizeof *t);
  t->name = arena_strdup(&m->arena, name);
  if (name && !t->name) return 0;
  t->dtype = dt;
  t->rank = rank;
  for (int i = 0; i < NAASC_MAX_RANK; i++) t->dims[i] = (dims && i < rank) ? dims[i] : -1;
  t->kind = kind;
  return m->ntensors++;
}

void attrs_default(Attrs *a) {
  memset(a, 0, sizeof *a);
  for (int i = 0; i < NAASC_MAX_RANK; i++) a->strides[i] = a->dilations[i] = 1;
  a->group = 1;
  a->alpha = 1.0f;
  a->beta = 1.0f;
  a->epsilon = 1e-5f;
  a->clip_min = -INFINITY;
  a->clip_max = INFINITY;
  a->keepdims = true;
  a->axis = 0;
  a->rz_cubic_a = -0.75f;
  a->shape_end = INT64_MAX;
}

NodeId model_add_node(Model *m, Op op, const char *name, int nin, const TensorId *in, int nout,
                      const TensorId *out) {
  if (nin < 0 || nout < 0) return 0;
  if (!ir_grow((void **)&m->nodes, &m->capnodes, m->nnodes + 1, sizeof(Node))) return 0;
  Node *n = &m->nodes[m->nnodes];
  memset(n, 0, sizeof *n);
  n->op = op;
  n->onnx_op = op_name(op);
  n->name = name ? arena_strdup(&m->arena, name)
                 : arena_printf(&m->arena, "%s_%u", op_name(op), m->nnodes);
  n->nin = nin;
  n->nout = nout;
  n->in = arena_alloc(&m->arena, sizeof(TensorId) * (size_t)(nin ? nin : 1));
  n->out = arena_alloc(&m->arena, sizeof(TensorId) * (size_t)(nout ? nout : 1));
  if (!n->name || !n->in || !n->out) return 0;
  if (in) memcpy(n->in, in, sizeof(TensorId) * (size_t)nin);
  if (out) memcpy(n->out, out, sizeof(TensorId) * (size_t)nout);
  attrs_default(&n->a);
  attrs_spec_defaults(op, &n->a);
  attrs_default(&n->act_a);
  NodeId id = m->nnodes++;
  for (int i = 0; i < nout; i++)
    if (out && out[i] && out[i] < m->ntensors) m->tensors[out[i]].producer = id;
  return id;
}

bool model_add_input(Model *m, TensorId t) {
  if (!ir_grow((void **)&m->inputs, &m->capinputs, m->ninputs + 1, sizeof(TensorId))) return false;
  m->inputs[m->ninputs++] = t;
  return true;
}

bool model_add_output(Model *m, TensorId t) {
  if (!ir_grow((void **)&m->outputs, &m->capoutputs, m->noutputs + 1, sizeof(TensorId)))
    return false;
  m->outputs[m->noutputs++] = t;
  m->tensors[t].is_output = true;
  return true;
}

TensorId model_find_tensor(const Model *m, const char *name) {
  for (uint32_t i = 1; i < m->ntensors; i++)
    if (m->tensors[i].name && strcmp(m->tensors[i].name, name) == 0) return i;
  return 0;
}

bool tensor_shape_known(const Tensor *t) {
  if (t->rank < 0) return false;
  for (int i = 0; i < t->rank; i++)
    if (t->dims[i] < 0) return false;
  return true;
}

int64_t tensor_numel(const Tensor *t) {
  if (!tensor_shape_known(t)) return -1;
  int64_t n = 1;
  for (int i = 0; i < t->rank; i++) {
    if (t->dims[i] && n > NAASC_MAX_ELEMS / t->dims[i]) return -1;
    n *= t->dims[i];
  }
  return n;
}

static float half_to_float(uint16_t h) {
  uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
  float f;
  if (exp == 0)
    f = ldexpf((float)man, -24);
  else if (exp == 31)
    f = man ? NAN : INFINITY;
  else
    f = ldexpf((float)(man | 0x400), (int)exp - 25);
  return sign ? -f : f;
}

/* double -> int64 as C's conversion of the truncated value, saturating, NaN 0. */
static int64_t f2i(double d) {
  if (d != d) return 0;
  if (d >= 9223372036854775807.0) return INT64_MAX;
  if (d <= -9223372036854775808.0) return INT64_MIN;
  return (int64_t)d;
}

double elem_get_f(DType dt, const void *data, int64_t i) {
  const unsigned char *p = data;
  switch (dt) {
  case DT_F32: {
    float v;
    memcpy(&v, p + 4 * i, 4);
    return v;
  }
  case DT_F64: {
    double v;
    memcpy(&v, p + 8 * i, 8);
    return v;
  }
  case DT_F16: {
    uint16_t v;
    memcpy(&v, p + 2 * i, 2);
    return half_to_float(v);
  }
  case DT_BF16: {
    uint16_t v;
    memcpy(&v, p + 2 * i, 2);
    uint32_t w = (uint32_t)v << 16;
    float f;
    memcpy(&f, &w, 4);
    return f;
  }
  case DT_U64: {
    uint64_t v;
    memcpy(&v, p + 8 * i, 8);
    return (double)v;
  }
  default: return (double)elem_get_i(dt, data, i);
  }
}

int64_t elem_get_i(DType dt, const void *data, int64_t i) {
  const unsigned char *p = data;
  switch (dt) {
  case DT_I64: {
    int64_t v;
    memcpy(&v, p + 8 * i, 8);
    return v;
  }
  case DT_U64: {
    uint64_t v;
    memcpy(&v, p + 8 * i, 8);
    return (int64_t)v;
  }
  case DT_I32: {
    int32_t v;
    memcpy(&v, p + 4 * i, 4);
    return v;
  }
  case DT_U32: {
    uint32_t v;
    memcpy(&v, p + 4 * i, 4);
    return v;
  }
  case DT_I16: {
    int16_t v;
    memcpy(&v, p + 2 * i, 2);
    return v;
  }
  case DT_U16: {
    uint16_t v;
    memcpy(&v, p + 2 * i, 2);
    return v;
  }
  case DT_I8: return (int8_t)p[i];
  case DT_U8:
  case DT_BOOL: return p[i];
  default: return f2i(elem_get_f(dt, data, i)); /* the truncated value, saturating; NaN 0 */
  }
}

uint16_t elem_f32_to_f16(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000u, exp = (x >> 23) & 0xffu, man = x & 0x7fffffu;
  if (exp == 0xff) return (uint16_t)(sign | 0x7c00u | (man ? 0x200u : 0));
  int e = (int)exp - 127 + 15;
  if (e >= 31) return (uint16_t)(sign | 0x7c00u);
  if (e <= 0) {
    if (e < -10) return (uint16_t)sign;
    man |= 0x800000u;
    int shift = 14 - e;
    uint32_t h = man >> shift, rem = man & ((1u << shift) - 1), mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (h & 1))) h++;
    return (uint16_t)(sign | h);
  }
  uint32_t h = ((uint32_t)e << 10) | (man >> 13), rem = man & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1))) h++; /* a carry rounds up to inf */
  return (uint16_t)(sign | h);
}

uint16_t elem_f32_to_bf16(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40u); /* quiet NaN */
  x += 0x7fffu + ((x >> 16) & 1u);
  return (uint16_t)(x >> 16);
}

void elem_put_f(DType dt, void *data, int64_t i, double v) {
  unsigned char *p = data;
  switch (dt) {
  case DT_F32: {
    float x = (float)v;
    memcpy(p + 4 * i, &x, 4);
    return;
  }
  case DT_F64: memcpy(p + 8 * i, &v, 8); return;
  case DT_F16: {
    uint16_t x = elem_f32_to_f16((float)v);
    memcpy(p + 2 * i, &x, 2);
    return;
  }
  case DT_BF16: {
    uint16_t x = elem_f32_to_bf16((float)v);
    memcpy(p + 2 * i, &x, 2);
    return;
  }
  case DT_BOOL: p[i] = v != 0; return;
  case DT_U64: {
    uint64_t x = v != v || v <= 0 ? 0 : v >= 18446744073709551615.0 ? UINT64_MAX : (uint64_t)v;
    memcpy(p + 8 * i, &x, 8);
    return;
  }
  default: elem_put_i(dt, data, i, f2i(v)); return;
  }
}

void elem_put_i(DType dt, void *data, int64_t i, int64_t v) {
  unsigned char *p = data;
  switch (dt) {
  case DT_I64: memcpy(p + 8 * i, &v, 8); return;
  case DT_U64: {
    uint64_t x = (uint64_t)v;
    memcpy(p + 8 * i, &x, 8);
    return;
  }
  case DT_I32: {
    int32_t x = (int32_t)(uint32_t)v;
    memcpy(p + 4 * i, &x, 4);
    return;
  }
  case DT_U32: {
    uint32_t x = (uint32_t)v;
    memcpy(p + 4 * i, &x, 4);
    return;
  }
  case DT_I16: {
    int16_t x = (int16_t)(uint16_t)v;
    memcpy(p + 2 * i, &x, 2);
    return;
  }
  case DT_U16: {
    uint16_t x = (uint16_t)v;
    memcpy(p + 2 * i, &x, 2);
    return;
  }
  case DT_I8:
  case DT_U8: p[i] = (unsigned char)v; return;
  case DT_BOOL: p[i] = v != 0; return;
  default: elem_put_f(dt, data, i, (double)v); return;
  }
}

double tensor_get_f(const Tensor *t, int64_t i) { return elem_get_f(t->dtype, t->data, i); }

int64_t tensor_get_i(const Tensor *t, int64_t i) { return elem_get_i(t->dtype, t->data, i); }

int graph_uses(const Model *m, TensorId t) {
  int n = m->tensors[t].is_output ? 1 : 0;
  for (uint32_t i = 1; i < m->nnodes; i++) {
    const Node *nd = &m->nodes[i];
    if (nd->dead) continue;
    for (int j = 0; j < nd->nin; j++) n += nd->in[j] == t;
  }
  return n;
}

Rc graph_check(const Model *m, Diag *d) {
  int before = d ? d->nerrors : 0;
  for (uint32_t i = 1; i < m->nnodes; i++) {
    const Node *n = &m->nodes[i];
    if (n->dead) continue;
    for (int j = 0; j < n->nin; j++)
      if (n->in[j] >= m->ntensors)
        diag_error(d, n->name, "input %d has invalid tensor id %u", j, n->in[j]);
    for (int j = 0; j < n->nout; j++) {
      TensorId t = n->out[j];
      if (!t) continue;
      if (t >= m->ntensors) {
        diag_error(d, n->name, "output %d has invalid tensor id %u", j, t);
        continue;
      }
      if (m->tensors[t].kind != TK_VALUE)
        diag_error(d, n->name, "output '%s' is a graph input or constant", m->tensors[t].name);
      if (m->tensors[t].producer != i)
        diag_error(d, n->name, "output '%s' has another producer", m->tensors[t].name);
    }
  }
  return d && d->nerrors > before ? RC_BADINPUT : RC_OK;
}

Rc graph_toposort(Model *m, Diag *d) {
  uint32_t n = m->nnodes;
  int *pending = xcalloc(n, sizeof *pending);
  NodeId *order = xcalloc(n, sizeof *order);
  NodeId *newid = xcalloc(n, sizeof *newid);
  Node *sorted = xcalloc(n, sizeof *sorted);
  uint32_t *first = xcalloc((size_t)n + 1, sizeof *first), *fill = xcalloc(n, sizeof *fill),
           *cons = NULL;
  Rc rc = RC_INTERNAL;
  if (!pending || !order || !newid || !sorted || !first || !fill) goto fail;
  /* pending[i] = inputs of node i produced by a live node not yet placed;
   * cons[first[u] .. first[u+1]) = the nodes reading an output of u, once per
   * such input, in increasing order (so the order is the same as scanning
   * every node for each u, in O(nodes + edges)). */
  uint32_t norder = 0, head = 0, live = 0;
  size_t nedges = 0;
  for (uint32_t i = 1; i < n; i++) {
    if (m->nodes[i].dead) continue;
    live++;
    for (int j = 0; j < m->nodes[i].nin; j++) {
      TensorId t = m->nodes[i].in[j];
      NodeId p = t ? m->tensors[t].producer : 0;
      if (p && !m->nodes[p].dead) pending[i]++, first[p + 1]++, nedges++;
    }
    if (!pending[i]) order[norder++] = i;
  }
  cons = xcalloc(nedges ? nedges : 1, sizeof *cons);
  if (!cons) goto fail;
  for (uint32_t u = 1; u < n; u++) first[u + 1] += first[u];
  for (uint32_t i = 1; i < n; i++) {
    if (m->nodes[i].dead) continue;
    for (int j = 0; j < m->nodes[i].nin; j++) {
      TensorId t = m->nodes[i].in[j];
      NodeId p = t ? m->tensors[t].producer : 0;
      if (p && !m->nodes[p].dead) cons[first[p] + fill[p]++] = i;
    }
  }
  while (head < norder) {
    NodeId u = order[head++];
    /* Release consumers of u's outputs; a node may read the same tensor twice. */
    for (uint32_t k = first[u]; k < first[u + 1]; k++)
      if (--pending[cons[k]] == 0) order[norder++] = cons[k];
  }
  if (norder != live) {
    for (uint32_t i = 1; i < n; i++)
      if (!m->nodes[i].dead && pending[i]) {
        diag_error(d, arena_printf(&m->arena, "node '%s'", m->nodes[i].name),
                   "the graph has a cycle through this node");
        break;
      }
    rc = RC_BADINPUT;
    goto fail;
  }
  for (uint32_t k = 0; k < norder; k++) {
    sorted[k + 1] = m->nodes[order[k]];
    newid[order[k]] = k + 1;
  }
  memcpy(m->nodes + 1, sorted + 1, sizeof(Node) * norder);
  m->nnodes = norder + 1;
  for (uint32_t t = 1; t < m->ntensors; t++)
    m->tensors[t].producer = m->tensors[t].producer ? newid[m->tensors[t].producer] : 0;
  rc = RC_OK;
fail:
  xfree(pending);
  xfree(order);
  xfree(newid);
  xfree(sorted);
  xfree(first);
  xfree(fill);
  xfree(cons);
  return rc;
}

int *graph_use_counts(const Model *m) {
  int *uses = xcalloc(m->ntensors ? m->ntensors : 1, sizeof *uses);
  if (!uses) return NULL;
  for (uint32_t t = 1; t < m->ntensors; t++) uses[t] = m->tensors[t].is_output ? 1 : 0;
  for (uint32_t i = 1; i < m->nnodes; i++) {
    const Node *nd = &m->nodes[i];
    if (nd->dead) continue;
    for (int j = 0; j < nd->nin; j++)
      if (nd->in[j]) uses[nd->in[j]]++;
  }
  return uses;
}

/* Whether no output of live node i is read (or a graph output). */
static bool node_unused(const Model *m, const int *uses, NodeId i) {
  const Node *n = &m->nodes[i];
  for (int k = 0; k < n->nout; k++)
    if (n->out[k] && uses[n->out[k]] > 0) return false;
  return true;
}

/* Drops nodes whose outputs nothing reads, until none is left: a worklist
 * over use counts, O(nodes + edges). */
void graph_prune(Model *m) {
  if (m->nnodes < 2) return;
  int *uses = graph_use_counts(m);
  NodeId *stack = xcalloc(m->nnodes ? m->nnodes : 1, sizeof *stack);
  bool *queued = xcalloc(m->nnodes ? m->nnodes : 1, sizeof *queued);
  if (!uses || !stack || !queued) { /* out of memory: leave the dead code (it is only dead code) */
    xfree(uses), xfree(stack), xfree(queued);
    return;
  }
  uint32_t top = 0;
  for (uint32_t i = m->nnodes - 1; i >= 1; i--)
    if (!m->nodes[i].dead && node_unused(m, uses, i)) stack[top++] = i, queued[i] = true;
  while (top) {
    Node *n = &m->nodes[stack[--top]];
    n->dead = true;
    for (int k = 0; k < n->nout; k++)
      if (n->out[k]) m->tensors[n->out[k]].producer = 0;
    for (int j = 0; j < n->nin; j++) {
      TensorId t = n->in[j];
      if (!t || --uses[t] > 0) continue;
      NodeId p = m->tensors[t].producer;
      if (p && !m->nodes[p].dead && !queued[p] && node_unused(m, uses, p))
        stack[top++] = p, queued[p] = true;
    }
  }
  xfree(uses), xfree(stack), xfree(queued);
}

bool name_in_lists(const char *name, const char *const *lists, int n) {
  size_t len = strlen(name);
  for (int i = 0; i < n; i++)
    for (const char *s = lists[i]; *s;) {
      const char *c = strchr(s, ',');
      size_t k = c ? (size_t)(c - s) : strlen(s);
      if (k == len && strncmp(s, name, len) == 0) return true;
      s += k + (c ? 1 : 0);
    }
  return false;
}
