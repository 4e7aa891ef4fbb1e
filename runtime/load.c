/*
 * load.c: reads and validates a command stream (docs/cmd-format.md), and
 * disassembles it.  Built to be fuzzed: one cursor does every read and
 * refuses to step past its section; every count is bounded before it sizes
 * anything (products and sums through ir.h's checked arithmetic); every
 * index a layer can form is checked against its tensor, and every loop,
 * tile and kernel against what the runtime derives itself from the layer
 * and the architecture.  The memory the program needs is counted against
 * its cap (rt_load_capped) while the stream is read, and the tensors are
 * allocated only once all of it has been checked.  An error names the byte
 * offset and the layer.
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/internal.h"

#define LIM31 (INT64_C(1) << 31)

typedef struct {
  const uint8_t *p;
  size_t n, off, base; /* base: offset of p in the file, for messages */
  bool bad;
} Cur;

static uint64_t get_n(Cur *c, int bytes) {
  if (c->bad || c->n - c->off < (size_t)bytes) {
    c->bad = true;
    return 0;
  }
  uint64_t v = 0;
  for (int i = 0; i < bytes; i++) v |= (uint64_t)c->p[c->off + (size_t)i] << (8 * i);
  c->off += (size_t)bytes;
  return v;
}
static uint8_t get8(Cur *c) { return (uint8_t)get_n(c, 1); }
static uint32_t get32(Cur *c) { return (uint32_t)get_n(c, 4); }
static int64_t get64(Cur *c) { return (int64_t)get_n(c, 8); }
static float getf(Cur *c) {
  uint32_t u = get32(c);
  float f;
  memcpy(&f, &u, 4);
  return f;
}
/* A string of len bytes into the arena (NUL-terminated); NULL on overrun. */
static const char *getstr_n(Cur *c, Arena *a, size_t len) {
  if (c->bad || c->n - c->off < len) {
    c->bad = true;
    return NULL;
  }
  const char *s = arena_strndup(a, (const char *)c->p + c->off, len);
  c->off += len;
  if (!s) c->bad = true;
  return s;
}
static const char *getstr(Cur *c, Arena *a, size_t max) {
  uint32_t len = get32(c);
  if (len > max) {
    c->bad = true;
    return NULL;
  }
  return getstr_n(c, a, len);
}

typedef struct {
  RtProgram *p;
  Diag *d;
  char where[160];
  const uint8_t *w; /* the weight section */
  uint64_t wlen;
  uint64_t *doff,
      *dlen;       /* per tensor: its data in the weight section (copied once all is checked) */
  int64_t scratch; /* the largest scratch of a layer (bytes) */
  const char *scratch_of; /* that layer's name */
  size_t scratch_at;      /* and its offset in the stream */
  int64_t floor; /* the largest intermediate value (bytes), counted with the tensor table */
  /* The fused group being read (checked whole at its end, end_group). */
  uint32_t grp, last_grp; /* its number (0: none), the largest number seen */
  int gfirst, glast;      /* its layers (CMD_RESIDE) */
  bool gdepth;            /* depth-first: tile layers follow its layers */
  uint8_t ghome;
  int gtiles;         /* tile layers read */
  int64_t gtile;      /* the current tile's number */
  uint8_t **cells;    /* depth-first: per tensor, per (row, column): CELL_* */
  int64_t *tbox;      /* depth-first: per tensor, the current tile's box: r0 r1 c0 c1 */
  int64_t tile_words; /* the current tile's words at home so far */
  /* Depth-first: the group's steps (tile layers) in stream order and the
   * boxes of rows x columns each copies in, reads, writes and copies out at
   * home, for the occupancy check at the group's end (check_kept). */
  struct DStep {
    int layer;   /* the tile layer's index */
    size_t at;   /* its offset in the stream */
    int box0;    /* its first box */
    double base; /* check_tile_capacity's words (-1: not counted) */
  } * steps;
  int nsteps, capsteps;
  struct DBox {
    uint32_t tensor;
    uint8_t kind; /* BOX_* */
    int64_t b[4];
  } * boxes;
  int nboxes, capboxes;
  size_t at; /* the offset set_where last named */
} Ld;

/* Cells: at home (computed or copied in), copied out; for check_kept, live
 * (its value is read by a later step) and counted (scratch). */
enum { CELL_VALID = 1, CELL_OUT = 2, CELL_LIVE = 4, CELL_SEEN = 8 };
/* A step's boxes, in the order it touches home: copy-in, reads, write,
 * copy-out. */
enum { BOX_CIN, BOX_READ, BOX_WRITE, BOX_COUT };

/* "12.0 GiB"-style sizes for messages. */
static const char *mem_str(char *buf, size_t n, int64_t bytes) {
  if (bytes >= (INT64_C(1) << 30))
    snprintf(buf, n, "%.1f GiB", (double)bytes / (double)(INT64_C(1) << 30));
  else if (bytes >= (INT64_C(1) << 20))
    snprintf(buf, n, "%.1f MiB", (double)bytes / (double)(INT64_C(1) << 20));
  else
    snprintf(buf, n, "%" PRId64 " bytes", bytes);
  return buf;
}

/* Adds bytes to the program's memory need; false (reported as `what`
 * needing more than the cap) once the need passes p->max_memory. */
static bool need_memory(Ld *L, int64_t bytes, const char *what) {
  RtProgram *p = L->p;
  int64_t need;
  char b1[32], b2[32];
  if (ck_add_i64(p->mem_bytes, bytes, &need) && need <= p->max_memory) {
    p->mem_bytes = need;
    return true;
  }
  diag_error(L->d, L->where[0] ? L->where : NULL,
             "%s: the stream needs %s of memory, more than the %s allowed "
             "(raise it with naasc-run --max-memory)",
             what,
             ck_add_i64(p->mem_bytes, bytes, &need) ? mem_str(b1, sizeof b1, need) : "over 8 EiB",
             mem_str(b2, sizeof b2, p->max_memory));
  return false;
}

#define FAIL(...)                                                 \
  do {                                                            \
    diag_error(L->d, L->where[0] ? L->where : NULL, __VA_ARGS__); \
    return false;                                                 \
  } while (0)

static void set_where(Ld *L, size_t off, const char *layer) {
  L->at = off;
  if (layer)
    snprintf(L->where, sizeof L->where, "offset %zu (layer '%.80s')", off, layer);
  else
    snprintf(L->where, sizeof L->where, "offset %zu", off);
}

/* ---- architecture ---------------------------------------------------------- */

static bool read_arch(Ld *L, Cur *c) {
  Arch *a = &L->p->arch;
  memset(a, 0, sizeof *a);
  int64_t nl = get64(c);
  if (c->bad || nl < 1 || nl > ACCEL_MAX_LEVELS)
    FAIL("architecture: %" PRId64 " levels, expected 1..%d", nl, ACCEL_MAX_LEVELS);
  a->nlevels = (int)nl;
  for (int l = 0; l < a->nlevels; l++) {
    Level *lv = &a->level[l];
    if (c->n - c->off < ACCEL_NAME_MAX) FAIL("architecture section truncated");
    memcpy(lv->name, c->p + c->off, ACCEL_NAME_MAX);
    lv->name[ACCEL_NAME_MAX - 1] = 0;
    c->off += ACCEL_NAME_MAX;
    lv->is_dram = get8(c);
    lv->keeps_allowed = get8(c);
    lv->no_multicast = get8(c);
    lv->no_reduction = get8(c);
    get32(c);
    lv->instances = get64(c);
    for (int x = 0; x < ACCEL_MAX_AXES; x++) lv->fanout[x] = get64(c);
    lv->capacity_words = get64(c);
    lv->block_words = get64(c);
    if (c->bad) FAIL("architecture section truncated");
    if (lv->instances < 1 || lv->instances > LIM31 || lv->capacity_words < 0 ||
        lv->capacity_words > RT_MAX_CAPACITY || lv->block_words < 1 || lv->block_words > LIM31)
      FAIL("architecture: level '%s' has a bad instance count, capacity or block size", lv->name);
    for (int x = 0; x < ACCEL_MAX_AXES; x++)
      if (lv->fanout[x] < 1 || lv->fanout[x] > LIM31)
        FAIL("architecture: level '%s' has a bad fan-out", lv->name);
    if (lv->keeps_allowed & ~ACCEL_ALL_TENSORS)
      FAIL("architecture: level '%s' keeps unknown tensors", lv->name);
  }
  a->mac_instances = get64(c);
  if (c->bad || a->mac_instances < 1 || a->mac_instances > LIM31)
    FAIL("architecture: bad MAC count");
  if (c->off != c->n) FAIL("architecture section has %zu bytes left over", c->n - c->off);
  snprintf(a->name, sizeof a->name, "%s", "stream");
  return true;
}

/* ---- tensors ----------------------------------------------------------------- */

static int cmp_tensor_name(const void *a, const void *b) {
  const RtTensor *const *x = a, *const *y = b;
  return strcmp((*x)->name, (*y)->name);
}

/* Inputs and outputs are bound by name (rt_set_input, rt_find_tensor: the
 * first tensor of the name): no other tensor may have an input's or an
 * output's name.  Sorted, so a table of 2^20 tensors stays fast. */
static bool io_names_unique(Ld *L) {
  RtProgram *p = L->p;
  RtTensor **v = xmalloc(sizeof *v * ((size_t)p->ntensors + 1));
  if (!v) FAIL("out of memory");
  for (int i = 1; i <= p->ntensors; i++) v[i - 1] = &p->t[i];
  qsort(v, (size_t)p->ntensors, sizeof *v, cmp_tensor_name);
  for (int k = 1; k < p->ntensors; k++) {
    const RtTensor *a = v[k - 1], *b = v[k];
    bool io =
        a->role == TR_INPUT || a->role == TR_OUTPUT || b->role == TR_INPUT || b->role == TR_OUTPUT;
    if (io && strcmp(a->name, b->name) == 0) {
      const char *name = a->name;
      xfree(v);
      FAIL("tensor table: two tensors are named '%s', and inputs and outputs are bound by name",
           name);
    }
  }
  xfree(v);
  return true;
}

static bool read_tensors(Ld *L, Cur *c, uint64_t wlen) {
  RtProgram *p = L->p;
  uint32_t n = get32(c);
  if (c->bad || n > (1u << 20) || (uint64_t)n * 12 > c->n) FAIL("tensor table: bad count %u", n);
  p->ntensors = (int)n;
  p->t = arena_alloc(&p->arena, sizeof(RtTensor) * (n + 1));
  p->bound = arena_alloc(&p->arena, n + 1);
  p->packed = arena_alloc(&p->arena, n + 1);
  L->doff = arena_alloc(&p->arena, sizeof(uint64_t) * (n + 1));
  L->dlen = arena_alloc(&p->arena, sizeof(uint64_t) * (n + 1));
  if (!p->t || !p->bound || !p->packed || !L->doff || !L->dlen) FAIL("out of memory");
  memset(p->packed, 0, n + 1);
  /* Counted now: the buffers of their own (inputs, weights, outputs) and
   * the largest intermediate value, a floor of the values' shared pool
   * (memplan.c), whose rest is counted once the layers are read. */
  int64_t total_bytes = 0;
  for (uint32_t i = 1; i <= n; i++) {
    RtTensor *t = &p->t[i];
    set_where(L, c->base + c->off, NULL);
    t->name = getstr(c, &p->arena, 4096);
    int dt = get8(c), role = get8(c), rank = get8(c), packed = get8(c);
    if (c->bad) FAIL("tensor table truncated");
    if (!dtype_valid(dt) || !dtype_size((DType)dt))
      FAIL("tensor '%s': element type %d is not supported", t->name, dt);
    if (role > TR_OUTPUT) FAIL("tensor '%s': bad role %d", t->name, role);
    if (rank > NAASC_MAX_RANK) FAIL("tensor '%s': rank %d", t->name, rank);
    t->dtype = (DType)dt;
    t->role = (TensorRole)role;
    t->rank = rank;
    t->numel = 1;
    for (int k = 0; k < rank; k++) {
      t->dims[k] = get64(c);
      if (t->dims[k] < 1 || t->dims[k] > NAASC_MAX_ELEMS)
        FAIL("tensor '%s': dim %d is %" PRId64, t->name, k, t->dims[k]);
      if (!ck_mul_i64(t->numel, t->dims[k], &t->numel) || t->numel > NAASC_MAX_ELEMS)
        FAIL("tensor '%s' has more than 2^31 elements", t->name);
    }
    uint64_t off = (uint64_t)get64(c), len = (uint64_t)get64(c);
    if (c->bad) FAIL("tensor table truncated");
    uint64_t bytes = (uint64_t)t->numel * dtype_size(t->dtype);
    if (packed) {
      if (packed != 1 || t->role != TR_WEIGHT || t->dtype != DT_F32 || len || off)
        FAIL("tensor '%s': only float32 weights without data of their own may be packed", t->name);
      p->packed[i] = 1;
    } else if (t->role == TR_WEIGHT) {
      if (len != bytes)
        FAIL("weight '%s': %" PRIu64 " bytes of data, its shape needs %" PRIu64, t->name, len,
             bytes);
      if (off > wlen || len > wlen - off)
        FAIL("weight '%s': data at %" PRIu64 "+%" PRIu64 " is outside the weight section (%" PRIu64
             " bytes)",
             t->name, off, len, wlen);
    } else if (len != 0 &&
               (t->role != TR_OUTPUT || len != bytes || off > wlen || len > wlen - off)) {
      FAIL(
          "tensor '%s': data where none belongs (only weights, and outputs that are constants, carry data)",
          t->name);
    }
    if (t->role == TR_VALUE) {
      if ((int64_t)bytes > L->floor) L->floor = (int64_t)bytes;
    } else if (!ck_add_i64(total_bytes, (int64_t)bytes, &total_bytes)) {
      FAIL("the tensors' sizes overflow");
    }
    L->doff[i] = off, L->dlen[i] = len;
  }
  if (c->off != c->n) FAIL("tensor table has %zu bytes left over", c->n - c->off);
  if (!io_names_unique(L)) return false;
  /* Sized, not allocated: the tensors are allocated once the whole stream is checked. */
  set_where(L, c->base, NULL);
  return need_memory(L, total_bytes + L->floor, "tensor table");
}

/* Once the whole stream is checked: the tensors, the weights' data, and the
 * packed weights unpacked into their dense tensors (for the reference paths). */
static bool fill_tensors(Ld *L) {
  RtProgram *p = L->p;
  if (p->plan.bytes) {
    p->pool = xcalloc((size_t)p->plan.bytes, 1);
    if (!p->pool) FAIL("out of memory for the values' buffers (%" PRId64 " bytes)", p->plan.bytes);
  }
  for (int i = 1; i <= p->ntensors; i++) {
    RtTensor *t = &p->t[i];
    size_t bytes = (size_t)t->numel * dtype_size(t->dtype);
    if (p->plan.off[i] >= 0) {
      t->data = p->pool + p->plan.off[i];
      continue;
    }
    t->data = xcalloc(bytes, 1);
    if (!t->data) FAIL("out of memory for tensor '%s' (%zu bytes)", t->name, bytes);
    if (L->dlen[i]) memcpy(t->data, L->w + L->doff[i], (size_t)L->dlen[i]);
  }
  for (int i = 0; i < p->nlayers; i++) {
    RtLayer *ly = &p->layers[i];
    if (!ly->has_wpack) continue;
    TpAcc wa;
    tp_acc(&ly->nest, rt_mac_access(&ly->nest, TENSOR_W), &wa);
    int64_t bound[NDIMS];
    for (int d = 0; d < NDIMS; d++) bound[d] = ly->prob.dim[d];
    RtTensor *T = &p->t[ly->wp_tensor];
    tp_pack_copy(&wa, &ly->wp, bound, ly->wp_cells, ly->wp_data, T->rank, T->dims, T->data, true);
  }
  return true;
}

/* ---- layers ------------------------------------------------------------------ */

/* The bytes of a host layer's imported node model: its constants' data
 * (with its subgraphs') into *held, its results of known shape into *eval
 * (what rt_exec_host's arena holds while the node runs; subgraphs' values
 * are not known before they run and are not counted). */
static void host_model_bytes(const Model *m, int64_t *held, int64_t *eval) {
  for (uint32_t t = 1; t < m->ntensors; t++) {
    const Tensor *T = &m->tensors[t];
    int64_t n = tensor_numel(T), b = n > 0 ? n * (int64_t)dtype_size(T->dtype) : 0;
    int64_t *to = T->kind == TK_CONST && T->data ? held : T->kind == TK_VALUE ? eval : NULL;
    if (to && !ck_add_i64(*to, b, to)) *to = INT64_MAX / 4; /* refused by need_memory */
  }
  for (uint32_t k = 1; k < m->nsubs; k++) host_model_bytes(&m->subs[k], held, NULL);
}

static bool read_nest(Ld *L, Cur *c, Nest *n) {
  Arena *a = &L->p->arena;
  memset(n, 0, sizeof *n);
  n->name = getstr(c, a, 4096);
  const char *vop = getstr(c, a, 4096);
  n->kind = (NestKind)get8(c);
  n->ndims = get8(c);
  n->nacc = get8(c);
  n->has_bias = get8(c) != 0;
  n->act = (Op)get8(c);
  get8(c); /* mapped: implied by the loop commands */
  get_n(c, 2);
  n->act_alpha = getf(c);
  n->act_beta = getf(c);
  for (int i = 0; i < 4; i++) n->param.f.v[i] = getf(c);
  for (int i = 0; i < 4; i++) n->param.i.v[i] = get64(c);
  if (c->bad) FAIL("layer record truncated");
  if (n->kind > NK_VIEW) FAIL("layer '%s': bad kind %d", n->name, (int)n->kind);
  n->vop = vop_find(n->kind, vop);
  if (n->vop == VOP_NONE) FAIL("layer '%s': unknown vector op '%s'", n->name, vop);
  if (n->vop == VOP_HOST) n->host_op = vop + 5;
  if (n->ndims > NEST_MAX_DIMS || n->nacc > NEST_MAX_ACCESS)
    FAIL("layer '%s': %d dims, %d accesses", n->name, n->ndims, n->nacc);
  if (n->act != OP_NONE && (n->act >= OP_COUNT || op_class(n->act) != 'V'))
    FAIL("layer '%s': bad activation %d", n->name, (int)n->act);
  int64_t points = 1;
  for (int i = 0; i < n->ndims; i++) {
    NestDim *d = &n->dims[i];
    d->bound = get64(c);
    d->reduce = get8(c) != 0;
    uint8_t len = get8(c);
    if (len > 31) c->bad = true;
    d->name = getstr_n(c, a, len);
    if (c->bad) FAIL("layer record truncated");
    if (d->bound < 1 || d->bound > LIM31)
      FAIL("layer '%s': dim %d bound %" PRId64, n->name, i, d->bound);
    if (!ck_mul_i64(points, d->bound, &points) || points > RT_MAX_POINTS)
      FAIL("layer '%s': more than 2^40 points", n->name);
  }
  nest_set_dim_ids(n);
  for (int k = 0; k < n->nacc; k++) {
    Access *ac = &n->acc[k];
    ac->tensor = get32(c);
    ac->kind = (AccessKind)get8(c);
    ac->ix = (IndexKind)get8(c);
    ac->rank = get8(c);
    uint8_t len = get8(c);
    if (len > 31) c->bad = true;
    const char *role = getstr_n(c, a, len);
    if (c->bad) FAIL("layer record truncated");
    ac->role = role_find(role);
    if (ac->role == ROLE_NONE)
      FAIL("layer '%s': access %d has an unknown role '%s'", n->name, k, role);
    if (ac->tensor < 1 || ac->tensor > (uint32_t)L->p->ntensors)
      FAIL("layer '%s': access %d names tensor %u, the stream has %d", n->name, k, ac->tensor,
           L->p->ntensors);
    if (ac->kind > ACC_UPDATE || ac->ix > IX_WHOLE)
      FAIL("layer '%s': access %d has a bad kind", n->name, k);
    if (ac->ix != IX_AFFINE) continue;
    const RtTensor *T = &L->p->t[ac->tensor];
    if (ac->rank != T->rank)
      FAIL("layer '%s': access %d has %d indices, tensor '%s' has rank %d", n->name, k, ac->rank,
           T->name, T->rank);
    for (int q = 0; q < ac->rank; q++) {
      Affine *e = &ac->idx[q];
      for (int dd = 0; dd < NEST_MAX_DIMS; dd++) e->coef[dd] = get64(c);
      e->cst = get64(c);
      ac->pad_lo[q] = get64(c);
      ac->pad_hi[q] = get64(c);
      if (c->bad) FAIL("layer record truncated");
      /* Every index this access forms lies in the tensor or its padding. */
      int64_t lo = e->cst, hi = e->cst;
      if (lo < -LIM31 || lo > LIM31)
        FAIL("layer '%s': access %d index %d offset out of range", n->name, k, q);
      for (int dd = 0; dd < NEST_MAX_DIMS; dd++) {
        int64_t cf = e->coef[dd];
        if (cf == 0) continue;
        if (dd >= n->ndims || cf < -LIM31 || cf > LIM31)
          FAIL("layer '%s': access %d index %d has a bad coefficient", n->name, k, q);
        int64_t span = cf * (n->dims[dd].bound - 1); /* |span| < 2^62 */
        if (__builtin_add_overflow(span < 0 ? lo : hi, span, span < 0 ? &lo : &hi))
          FAIL("layer '%s': access %d index %d overflows", n->name, k, q);
      }
      if (ac->pad_lo[q] < 0 || ac->pad_hi[q] < 0 || ac->pad_lo[q] > LIM31 || ac->pad_hi[q] > LIM31)
        FAIL("layer '%s': access %d index %d has bad padding", n->name, k, q);
      if (lo < -ac->pad_lo[q] || hi > T->dims[q] - 1 + ac->pad_hi[q])
        FAIL("layer '%s': access %d (%s) reaches index %" PRId64 "..%" PRId64
             " of dim %d of '%s' (size %" PRId64 ", padding %" PRId64 ":%" PRId64 ")",
             n->name, k, role_name(ac->role), lo, hi, q, T->name, T->dims[q], ac->pad_lo[q],
             ac->pad_hi[q]);
    }
  }
  return true;
}

/* Bounds the work a layer can ask for, so no stream can make the runtime
 * spin: every dim indexes some affine access, and the points are at most
 * numel(result) x numel(largest operand) (a conv's MACs are O x W, a pool's
 * O x window, an element-wise op's O). */
static bool check_work(Ld *L, const Nest *n) {
  if (n->kind == NK_VIEW) return true;
  int64_t out = 1, in = 1;
  bool gathers = false;
  for (int k = 0; k < n->nacc; k++) {
    const RtTensor *t = &L->p->t[n->acc[k].tensor];
    if (n->acc[k].kind == ACC_READ)
      in = t->numel > in ? t->numel : in;
    else
      out = t->numel > out ? t->numel : out;
    gathers |= n->acc[k].ix != IX_AFFINE;
  }
  double points = 1;
  for (int dd = 0; dd < n->ndims; dd++) {
    points *= (double)n->dims[dd].bound;
    bool used = false;
    for (int k = 0; k < n->nacc; k++)
      if (n->acc[k].ix == IX_AFFINE)
        for (int q = 0; q < n->acc[k].rank; q++) used |= n->acc[k].idx[q].coef[dd] != 0;
    if (!used && !gathers && n->dims[dd].bound > 1)
      FAIL("layer '%s': dim %s indexes no operand", n->name, n->dims[dd].name);
  }
  if (points > (double)out * (double)in)
    FAIL("layer '%s': %.0f points for a %" PRId64 "-element result", n->name, points, out);
  return true;
}

/* The bytes of scratch the interpreter takes for a layer (interp.c): a
 * pooling or mean keeps a double and a count per result element, a softmax
 * two doubles per group; an integer mac layer its operands widened to i32
 * (qmac.c).  The points are at most 2^40 (read_nest). */
static int64_t layer_scratch(const RtProgram *p, const Nest *n) {
  if (n->kind == NK_MAC && rt_mac_int(n, p->t)) return rt_qmac_scratch(n, p->t);
  if (n->kind != NK_VEC || n->nacc < 1) return 0;
  switch (n->vop) {
  case VOP_SOFTMAX: {
    int64_t groups = 1;
    for (int k = 0; k < n->ndims; k++)
      if (!n->dims[k].reduce) groups *= n->dims[k].bound;
    return 16 * groups;
  }
  case VOP_MAXPOOL:
  case VOP_AVGPOOL:
  case VOP_GLOBALAVGPOOL:
  case VOP_REDUCEMEAN: return 16 * p->t[n->acc[n->nacc - 1].tensor].numel;
  default: return 0;
  }
}

static bool is_identity_write(const Nest *n, const Access *o) {
  (void)n;
  if (o->ix != IX_AFFINE) return false;
  for (int q = 0; q < o->rank; q++)
    if (o->pad_lo[q] || o->pad_hi[q]) return false;
  return true;
}

/* What the interpreter needs of each kind of layer (interp.c follows it). */
static bool check_layer_ops(Ld *L, const Nest *n) {
  RtTensor *T = L->p->t;
  const Access *last = n->nacc ? &n->acc[n->nacc - 1] : NULL;
  if (n->kind == NK_VIEW) {
    const Access *x = n->nacc ? &n->acc[0] : NULL;
    if (!x || x->kind != ACC_READ || n->nacc < 2)
      FAIL("layer '%s': a view needs a read and a write", n->name);
    for (int k = 1; k < n->nacc; k++) {
      const Access *o = &n->acc[k];
      if (o->kind == ACC_READ) continue;
      const RtTensor *to = &T[o->tensor], *tx = &T[x->tensor];
      bool copy = to->numel == tx->numel && to->dtype == tx->dtype;
      if (!copy && to->dtype != DT_BOOL)
        FAIL("layer '%s': view of %" PRId64 " %s elements as %" PRId64 " %s", n->name, tx->numel,
             dtype_name(tx->dtype), to->numel, dtype_name(to->dtype));
      if (to->role == TR_WEIGHT || to->role == TR_INPUT)
        FAIL("layer '%s' writes a constant or input", n->name);
    }
    return true;
  }
  if (!last || last->kind == ACC_READ) FAIL("layer '%s': no result access", n->name);
  if (T[last->tensor].role == TR_WEIGHT || T[last->tensor].role == TR_INPUT)
    FAIL("layer '%s' writes a constant or input", n->name);
  if (n->kind == NK_MAC) {
    const Access *I = nest_access(n, ROLE_I), *W = nest_access(n, ROLE_W),
                 *O = nest_access(n, ROLE_O);
    if (!I || !W || !O || O->kind != ACC_UPDATE)
      FAIL("layer '%s': a mac layer needs I, W and an O update", n->name);
    const Access *ops[4] = {I, W, O, n->has_bias ? nest_access(n, ROLE_B) : NULL};
    if (n->has_bias && !ops[3]) FAIL("layer '%s': bias without a B access", n->name);
    const char *qwhy = rt_mac_int(n, T) ? rt_qmac_check(n, T) : NULL;
    if (qwhy) FAIL("layer '%s': %s", n->name, qwhy);
    for (int k = 0; k < 4 && !rt_mac_int(n, T); k++)
      if (ops[k] && T[ops[k]->tensor].dtype != DT_F32 && T[ops[k]->tensor].dtype != DT_F16 &&
          T[ops[k]->tensor].dtype != DT_BF16)
        FAIL("layer '%s': mac operands must be f32, f16 or bf16 (f16 and bf16 are widened to "
             "f32)",
             n->name);
    bool whole = I->ix == IX_WHOLE || W->ix == IX_WHOLE || O->ix == IX_WHOLE;
    if (I->ix == IX_GATHER || W->ix == IX_GATHER || O->ix == IX_GATHER)
      FAIL("layer '%s': gather in a mac layer", n->name);
    if (whole) {
      /* numpy matmul of whole operands: A[..., M, C] x B[..., C, K]. */
      const RtTensor *a = &T[I->tensor], *b = &T[W->tensor], *o = &T[O->tensor];
      if (a->rank < 1 || b->rank < 1) FAIL("layer '%s': matmul of a scalar", n->name);
      int64_t ca = a->dims[a->rank - 1], cb = b->rank == 1 ? b->dims[0] : b->dims[b->rank - 2];
      if (ca != cb)
        FAIL("layer '%s': matmul inner dims %" PRId64 " and %" PRId64 " differ", n->name, ca, cb);
      int rb = a->rank > b->rank ? a->rank : b->rank;
      int64_t numel =
          (a->rank > 1 ? a->dims[a->rank - 2] : 1) * (b->rank > 1 ? b->dims[b->rank - 1] : 1);
      for (int k = 0; k < rb - 2; k++) {
        int ia = a->rank - 3 - k, ib = b->rank - 3 - k;
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        if (da != db && da != 1 && db != 1)
          FAIL("layer '%s': matmul batch dims do not broadcast", n->name);
        numel *= da > db ? da : db;
      }
      if (numel != o->numel)
        FAIL("layer '%s': matmul output has %" PRId64 " elements, expected %" PRId64, n->name,
             o->numel, numel);
      if (n->has_bias) FAIL("layer '%s': bias on a whole-tensor matmul", n->name);
      return true;
    }
    if (n->has_bias) {
      /* Each bias index is a constant within its dim or equals one output
       * index whose whole extent the bias dim covers: the epilogue adds the
       * bias to every element of the output tensor (interp.c, epilogue). */
      const Access *B = ops[3];
      if (B->ix != IX_AFFINE) FAIL("layer '%s': bias not affine", n->name);
      const RtTensor *tb = &T[B->tensor], *tout = &T[O->tensor];
      if (B->rank != tb->rank)
        FAIL("layer '%s': bias access of rank %d on a tensor of rank %d", n->name, B->rank,
             tb->rank);
      for (int j = 0; j < B->rank; j++) {
        bool cst = true, found = false;
        for (int dd = 0; dd < NEST_MAX_DIMS; dd++) cst &= B->idx[j].coef[dd] == 0;
        if (cst && (B->idx[j].cst < 0 || B->idx[j].cst >= tb->dims[j]))
          FAIL("layer '%s': bias index %d is the constant %" PRId64 ", outside its dim of %" PRId64,
               n->name, j, B->idx[j].cst, tb->dims[j]);
        for (int q = 0; q < O->rank && !cst; q++)
          if (memcmp(&B->idx[j], &O->idx[q], sizeof(Affine)) == 0) {
            found = true;
            if (q >= tout->rank || tout->dims[q] > tb->dims[j])
              FAIL("layer '%s': bias dim %d (%" PRId64 ") is shorter than the output dim %d it "
                   "follows (%" PRId64 ")",
                   n->name, j, tb->dims[j], q, q < tout->rank ? tout->dims[q] : 0);
          }
        if (!cst && !found) FAIL("layer '%s': bias index %d follows no output index", n->name, j);
      }
    }
    for (int k = 0; k < 3; k++)
      for (int q = 0; q < ops[k]->rank; q++)
        for (int dd = 0; dd < NEST_MAX_DIMS; dd++)
          if (ops[k]->idx[q].coef[dd] < 0)
            FAIL("layer '%s': negative coefficient in a mac operand", n->name);
    return true;
  }
  /* vec and move layers */
  VecOp v = n->vop;
  int rmin, rmax;
  Role roles[VOP_MAX_ROLES];
  vop_reads(v, &rmin, &rmax, roles);
  if (v == VOP_HOST) return true; /* its node is checked when its CMD_VECOP is read (host.c) */
  if (vop_class(v) == VC_POINT || vop_class(v) == VC_MOVE) {
    bool elementwise = n->kind == NK_VEC;
    int reads = 0;
    for (int k = 0; k < n->nacc - 1; k++) {
      if (n->acc[k].kind != ACC_READ || n->acc[k].ix != IX_AFFINE)
        FAIL("layer '%s': operand %d is not an affine read", n->name, k);
      reads++;
    }
    if (reads < rmin || reads > rmax)
      FAIL("layer '%s' (%s): %d operands", n->name, vop_name(v), reads);
    if (last->kind != ACC_WRITE || !is_identity_write(n, last))
      FAIL("layer '%s': result must be a plain write", n->name);
    if (!elementwise && T[n->acc[0].tensor].dtype != T[last->tensor].dtype)
      FAIL("layer '%s': a move changes the element type", n->name);
    if (v == VOP_CAST && (!dtype_valid((int)n->param.i.cast.to) ||
                          (DType)n->param.i.cast.to != T[last->tensor].dtype))
      FAIL("layer '%s': cast target", n->name);
    return true;
  }
  switch (v) {
  case VOP_MAXPOOL:
  case VOP_AVGPOOL:
  case VOP_GLOBALAVGPOOL:
  case VOP_REDUCEMEAN:
  case VOP_SOFTMAX: {
    if (n->nacc != 2 || n->acc[0].kind != ACC_READ || n->acc[0].ix != IX_AFFINE)
      FAIL("layer '%s' (%s): needs one affine read", n->name, vop_name(v));
    AccessKind want_k = v != VOP_SOFTMAX ? ACC_UPDATE : ACC_WRITE;
    if (last->kind != want_k || !is_identity_write(n, last))
      FAIL("layer '%s': bad result access", n->name);
    return true;
  }
  case VOP_RESIZE: {
    const RtTensor *x = &T[n->acc[0].tensor], *o = &T[last->tensor];
    if (n->acc[0].ix != IX_GATHER || !is_identity_write(n, last) || last->kind != ACC_WRITE)
      FAIL("layer '%s': resize needs a gather read and a plain write", n->name);
    if (x->rank != o->rank || x->rank > 4 || n->param.i.resize.mode < 0 ||
        n->param.i.resize.mode > 1 || n->param.i.resize.coord < 0 || n->param.i.resize.coord > 4 ||
        n->param.i.resize.nearest < 0 || n->param.i.resize.nearest > 3)
      FAIL("layer '%s': resize parameters", n->name);
    return true;
  }
  case VOP_GATHER: {
    if (n->nacc != 3) FAIL("layer '%s': gather needs X, Idx and O", n->name);
    const RtTensor *x = &T[n->acc[0].tensor], *ix = &T[n->acc[1].tensor], *o = &T[last->tensor];
    int64_t ax = n->param.i.gather.axis;
    if (ax < 0 || ax >= x->rank || o->rank != x->rank - 1 + ix->rank || x->dtype != o->dtype)
      FAIL("layer '%s': gather shapes", n->name);
    if (ix->dtype != DT_I64 && ix->dtype != DT_I32)
      FAIL("layer '%s': gather indices must be i32 or i64", n->name);
    for (int k = 0; k < o->rank; k++) {
      int64_t want_d = k < ax              ? x->dims[k]
                       : k < ax + ix->rank ? ix->dims[k - ax]
                                           : x->dims[k - ix->rank + 1];
      if (o->dims[k] != want_d) FAIL("layer '%s': gather output shape", n->name);
    }
    if (!is_identity_write(n, last)) FAIL("layer '%s': gather result", n->name);
    return true;
  }
  default: FAIL("layer '%s': unknown vector op '%s'", n->name, vop_name(v));
  }
}

const Access *rt_mac_access(const Nest *n, int t) {
  return nest_access(n, t == TENSOR_W ? ROLE_W : t == TENSOR_I ? ROLE_I : ROLE_O);
}

void rt_loop_extents(RtLayer *L, int nl, int64_t full[ACCEL_MAX_LEVELS + 1][NDIMS],
                     int64_t resid[ACCEL_MAX_LEVELS + 1][NDIMS]) {
  tp_extents(L->loop, L->nloops, nl, full, resid);
}

bool rt_tile_kernel(const RtLayer *L, int lc, int64_t full[ACCEL_MAX_LEVELS + 1][NDIMS],
                    const int64_t ext[NDIMS], TileKernel *k) {
  const Access *acc[KOP_N] = {rt_mac_access(&L->nest, TENSOR_O), rt_mac_access(&L->nest, TENSOR_I),
                              rt_mac_access(&L->nest, TENSOR_W)};
  for (int op = 0; op < KOP_N; op++)
    if (!acc[op] || acc[op]->ix != IX_AFFINE) return false;
  tp_layer_kernel(&L->nest, acc, L->keep, lc, full, ext, k);
  return true;
}

/* The packed weights of a layer: the cell plan the runtime derives, the
 * length of the cells, then the dense tensor rebuilt from them (for the
 * reference paths) and the cells kept for the tiled executor. */
static bool check_wpack(Ld *L, RtLayer *ly, int64_t full[ACCEL_MAX_LEVELS + 1][NDIMS]) {
  RtProgram *p = L->p;
  const Nest *n = &ly->nest;
  const Access *wacc = rt_mac_access(n, TENSOR_W);
  TpAcc wa_, *wa = &wa_;
  tp_acc(n, wacc, wa);
  if (wacc->ix != IX_AFFINE || wacc->tensor != ly->wp_tensor || ly->wp_tensor < 1 ||
      ly->wp_tensor > (uint32_t)p->ntensors)
    FAIL("layer '%s': packs tensor %%%u, its weights are %%%u", n->name, ly->wp_tensor,
         wacc->tensor);
  RtTensor *T = &p->t[ly->wp_tensor];
  if (p->packed[ly->wp_tensor] != 1)
    FAIL("layer '%s': weight '%s' is not declared packed, or is packed twice", n->name, T->name);
  int pw = tp_wfetch_level(ly->keep, ly->compute_level);
  if (ly->wp.level != pw)
    FAIL("layer '%s': weights packed at level %d, they are fetched at level %d", n->name,
         ly->wp.level, pw);
  int64_t bound[NDIMS];
  for (int d = 0; d < NDIMS; d++) bound[d] = ly->prob.dim[d];
  TpPack pk;
  if (!tp_pack_plan(wa, ly->loop, ly->nloops, pw, full, bound, T->numel, &pk))
    FAIL("layer '%s': more weight cells than weights", n->name);
  if (pk.n != ly->wp.n || memcmp(pk.order, ly->wp.order, (size_t)pk.n) != 0)
    FAIL("layer '%s': the weight cells are not in the order of the loops", n->name);
  if (!need_memory(L, (int64_t)sizeof(int64_t) * (pk.ncells + 1), "weight cells")) return false;
  int64_t *cells = xmalloc(sizeof(int64_t) * (size_t)(pk.ncells + 1));
  if (!cells) FAIL("out of memory");
  int64_t words = tp_pack_offsets(wa, &pk, bound, cells, T->numel * 64);
  if (words < 0) {
    xfree(cells);
    FAIL("layer '%s': the weight cells hold over 64 times the weights", n->name);
  }
  if ((uint64_t)words * 4 != ly->wp_len || ly->wp_off > L->wlen ||
      ly->wp_len > L->wlen - ly->wp_off) {
    xfree(cells);
    FAIL("layer '%s': %" PRIu64 " bytes of weight cells at %" PRIu64 ", the plan needs %" PRId64
         " inside a %" PRIu64 "-byte section",
         n->name, ly->wp_len, ly->wp_off, words * 4, L->wlen);
  }
  if (!need_memory(L, (int64_t)ly->wp_len + 4, "packed weights")) {
    xfree(cells);
    return false;
  }
  float *data = xmalloc((size_t)ly->wp_len + 4);
  if (!data) {
    xfree(cells);
    FAIL("out of memory");
  }
  memcpy(data, L->w + ly->wp_off, (size_t)ly->wp_len);
  ly->wp = pk; /* unpacked into T by fill_tensors */
  ly->wp_data = data;
  ly->wp_cells = cells;
  p->packed[ly->wp_tensor] = 2;
  return true;
}

/* The mapping of a mac layer: loops, tiles, kernel, checked against the
 * arch and the layer. */
/* A layer of a layer-by-layer fused group (CMD_RESIDE): its home is an
 * on-chip level of one instance that no spatial loop above it fans out to,
 * no level between DRAM and home keeps a resident tensor, and home holds
 * the resident tensors whole beside the tiles it keeps of the others. */
static bool check_reside(Ld *L, RtLayer *ly, int64_t full[ACCEL_MAX_LEVELS + 1][NDIMS]) {
  const Arch *a = &L->p->arch;
  const Nest *n = &ly->nest;
  int h = ly->home, nl = a->nlevels;
  if (ly->res & ~(CMD_RES_I | CMD_RES_O | CMD_RES_COPY_OUT | CMD_RES_W | CMD_RES_DEPTH) ||
      ((ly->res & CMD_RES_COPY_OUT) && !(ly->res & CMD_RES_O)) ||
      ((ly->res & CMD_RES_W) && !ly->dft))
    FAIL("layer '%s': residency flags %#x", n->name, ly->res);
  if (h < 1 || h >= nl || a->level[h].is_dram || a->level[h].instances != 1)
    FAIL("layer '%s': home level %d is not an on-chip level of one instance", n->name, h);
  for (int i = 0; i < ly->nloops; i++)
    if (ly->loop[i].axis && ly->loop[i].level < h)
      FAIL("layer '%s': a spatial loop above home level '%s'", n->name, a->level[h].name);
  double words = 0, other = 0;
  for (int t = 0; t < NTENSORS; t++) {
    bool res = (t == TENSOR_I && (ly->res & CMD_RES_I)) ||
               (t == TENSOR_O && (ly->res & CMD_RES_O)) || (t == TENSOR_W && (ly->res & CMD_RES_W));
    for (int l = 1; res && l < h; l++)
      if (ly->keep[l] >> t & 1)
        FAIL("layer '%s': level '%s', above home level '%s', keeps resident %c", n->name,
             a->level[l].name, a->level[h].name, accel_tensor_letter(t));
    const Access *ac = rt_mac_access(n, t);
    if (res) {
      words += (double)L->p->t[ac->tensor].numel;
    } else if (ly->keep[h] >> t & 1) {
      double w = 1;
      const RtTensor *T = &L->p->t[ac->tensor];
      for (int q = 0; q < T->rank; q++) {
        double size = (double)T->dims[q];
        if (ac->ix == IX_AFFINE) {
          size = 1;
          for (int k = 0; k < n->ndims; k++)
            size += (double)ac->idx[q].coef[k] * (double)(full[h][n->dims[k].dim] - 1);
        }
        w *= size;
      }
      words += w, other += w;
    }
  }
  ly->home_other = other > (double)INT64_MAX / 2 ? INT64_MAX / 2 : (int64_t)other;
  /* A depth-first group's layers and tiles are held by the tile (end_tile). */
  if (ly->dft || (ly->res & CMD_RES_DEPTH)) return true;
  if (a->level[h].capacity_words && words > (double)a->level[h].capacity_words)
    FAIL("layer '%s': home level '%s' holds %" PRId64
         " words, its resident tensors and the tiles of the others need %.0f",
         n->name, a->level[h].name, a->level[h].capacity_words, words);
  return true;
}

static bool check_mapping(Ld *L, RtLayer *ly) {
  const Arch *a = &L->p->arch;
  const Nest *n = &ly->nest;
  int nl = a->nlevels;
  if (!nest_problem(n, &ly->prob))
    FAIL("layer '%s': a mapped layer needs dims N G K C P Q R S", n->name);
  for (int t = 0; t < NTENSORS; t++) {
    const Access *ac = rt_mac_access(n, t);
    if (!ac) FAIL("layer '%s': a mapped layer needs operands W, I and O", n->name);
    for (int q = 0; ac->ix == IX_AFFINE && q < ac->rank; q++)
      for (int k = 0; k < n->ndims; k++)
        if (ac->idx[q].coef[k] < 0)
          FAIL("layer '%s': operand %s has a negative coefficient", n->name, role_name(ac->role));
  }
  /* Loops: levels in order; per level temporal first then spatial z, y, x. */
  int prev_key = -1;
  uint32_t seen[ACCEL_MAX_LEVELS][4] = {{0}};
  int64_t spat[ACCEL_MAX_LEVELS][ACCEL_MAX_AXES];
  for (int l = 0; l < nl; l++)
    for (int x = 0; x < ACCEL_MAX_AXES; x++) spat[l][x] = 1;
  for (int i = 0; i < ly->nloops; i++) {
    const RtLoop *lp = &ly->loop[i];
    if (lp->level >= nl || lp->axis > 3 || lp->dim >= NDIMS)
      FAIL("layer '%s': loop %d: level %d, axis %d, dim %d out of range (the arch has %d levels)",
           n->name, i, lp->level, lp->axis, lp->dim, nl);
    int key = lp->level * 4 + (lp->axis ? 4 - lp->axis : 0);
    if (key < prev_key) FAIL("layer '%s': loop %d is out of nesting order", n->name, i);
    prev_key = key;
    if (seen[lp->level][lp->axis] >> lp->dim & 1)
      FAIL("layer '%s': loop %d repeats dim %c at its level", n->name, i,
           accel_dim_letter(lp->dim));
    seen[lp->level][lp->axis] |= 1u << lp->dim;
    if (lp->f < 2 || lp->f > LIM31 || lp->r < 1 || lp->r > lp->f)
      FAIL("layer '%s': loop %d has factor %" PRId64 " rem %" PRId64, n->name, i, lp->f, lp->r);
    if (lp->axis) {
      if (lp->r != lp->f) FAIL("layer '%s': loop %d: a spatial loop with a remainder", n->name, i);
      spat[lp->level][lp->axis - 1] *= lp->f;
      if (spat[lp->level][lp->axis - 1] > a->level[lp->level].fanout[lp->axis - 1])
        FAIL("layer '%s': level '%s' unrolls %" PRId64 " on axis %c, its fan-out is %" PRId64,
             n->name, a->level[lp->level].name, spat[lp->level][lp->axis - 1], "xyz"[lp->axis - 1],
             a -> level[lp->level].fanout[lp->axis - 1]);
    }
  }
  int64_t full[ACCEL_MAX_LEVELS + 1][NDIMS], resid[ACCEL_MAX_LEVELS + 1][NDIMS];
  /* Coverage before extents, so no product can overflow. */
  for (int dd = 0; dd < NDIMS; dd++) {
    double prod = 1;
    for (int i = 0; i < ly->nloops; i++)
      if (ly->loop[i].dim == dd) prod *= (double)ly->loop[i].f;
    if (prod > (double)LIM31 * 4)
      FAIL("layer '%s': the loops over %c multiply to more than 2^33", n->name,
           accel_dim_letter(dd));
  }
  rt_loop_extents(ly, nl, full, resid);
  uint8_t ragged_inside = 0;
  for (int i = ly->nloops - 1; i >= 0; i--) {
    const RtLoop *lp = &ly->loop[i];
    if (lp->axis && (ragged_inside >> lp->dim & 1))
      FAIL("layer '%s': a spatial loop over %c encloses a remainder", n->name,
           accel_dim_letter(lp->dim));
    if (!lp->axis && lp->r != lp->f) ragged_inside |= (uint8_t)(1u << lp->dim);
  }
  double padded = 1, real = 1;
  for (int dd = 0; dd < NDIMS; dd++) {
    if (resid[0][dd] != ly->prob.dim[dd])
      FAIL("layer '%s': the loops over %c cover %" PRId64 ", the layer has %" PRId64, n->name,
           accel_dim_letter(dd), resid[0][dd], ly->prob.dim[dd]);
    padded *= (double)full[0][dd], real *= (double)ly->prob.dim[dd];
  }
  if (padded > 256 * real)
    FAIL("layer '%s': the loops walk %.0f points for %.0f MACs", n->name, padded, real);
  /* Instances and MACs used. */
  int64_t util = 1;
  for (int l = 0; l < nl; l++) {
    bool fits = true;
    for (int x = 0; x < ACCEL_MAX_AXES; x++) fits &= ck_mul_i64(util, spat[l][x], &util);
    int64_t have = l + 1 < nl ? a->level[l + 1].instances : a->mac_instances;
    if (!fits)
      FAIL("layer '%s': the mapping's spatial factors below level '%s' overflow", n->name,
           a->level[l].name);
    if (util > have)
      FAIL("layer '%s': the mapping uses %" PRId64
           " instances below level '%s', the arch has %" PRId64,
           n->name, util, a->level[l].name, have);
  }
  /* Tiles: a load per kept tensor and level, sizes as the runtime derives
   * them, kept tiles within capacity. */
  for (int l = 0; l < nl; l++) ly->keep[l] = l == 0 ? ACCEL_ALL_TENSORS : 0;
  for (int i = 0; i < ly->ntiles; i++) {
    const RtTile *tl = &ly->tile[i];
    if (tl->level < 1 || tl->level >= nl || tl->tensor >= NTENSORS)
      FAIL("layer '%s': tile %d at level %d, tensor %d", n->name, i, tl->level, tl->tensor);
    if (tl->store && tl->tensor != TENSOR_O)
      FAIL("layer '%s': a store of a tensor other than O", n->name);
    if (!tl->store) {
      if (ly->keep[tl->level] >> tl->tensor & 1)
        FAIL("layer '%s': two loads of %c at level %d", n->name, accel_tensor_letter(tl->tensor),
             tl->level);
      ly->keep[tl->level] |= (uint8_t)(1u << tl->tensor);
    }
    const Access *ac = rt_mac_access(n, tl->tensor);
    const RtTensor *T = &L->p->t[ac->tensor];
    if (tl->rank != T->rank || tl->affine != (ac->ix == IX_AFFINE))
      FAIL("layer '%s': tile %d does not match tensor '%s'", n->name, i, T->name);
    int64_t stride = 1;
    for (int q = T->rank - 1; q >= 0; q--) {
      int64_t size = T->dims[q];
      if (ac->ix == IX_AFFINE) {
        double dsize = 1;
        for (int k = 0; k < n->ndims; k++)
          dsize += (double)ac->idx[q].coef[k] * (double)(full[tl->level][n->dims[k].dim] - 1);
        if (dsize > (double)LIM31 * 4)
          FAIL("layer '%s': tile %d of '%s' is too large", n->name, i, T->name);
        size = 1;
        for (int k = 0; k < n->ndims; k++)
          size += ac->idx[q].coef[k] * (full[tl->level][n->dims[k].dim] - 1);
      }
      if (tl->size[q] != size || tl->stride[q] != stride ||
          tl->pad_lo[q] != (ac->ix == IX_AFFINE ? ac->pad_lo[q] : 0) ||
          tl->pad_hi[q] != (ac->ix == IX_AFFINE ? ac->pad_hi[q] : 0))
        FAIL("layer '%s': tile %d of '%s' at level '%s': dim %d has size %" PRId64
             " stride %" PRId64 ", the mapping gives %" PRId64 " and %" PRId64,
             n->name, i, T->name, a->level[tl->level].name, q, tl->size[q], tl->stride[q], size,
             stride);
      stride *= T->dims[q];
    }
  }
  for (int i = 0; i < ly->ntiles; i++)
    if (ly->tile[i].store && !(ly->keep[ly->tile[i].level] >> TENSOR_O & 1))
      FAIL("layer '%s': a store without a load at level %d", n->name, ly->tile[i].level);
  for (int l = 1; l < nl; l++) {
    const Level *lv = &a->level[l];
    if (ly->keep[l] & ~lv->keeps_allowed)
      FAIL("layer '%s': level '%s' may not keep what the stream loads into it", n->name, lv->name);
    bool want_store = ly->keep[l] >> TENSOR_O & 1, has_store = false;
    for (int i = 0; i < ly->ntiles; i++) has_store |= ly->tile[i].store && ly->tile[i].level == l;
    if (want_store != has_store)
      FAIL("layer '%s': level '%s' loads outputs without storing them", n->name, lv->name);
    if (lv->is_dram || !lv->capacity_words) continue;
    double words = 0, e[NDIMS]; /* in double: a tampered tile must not overflow */
    for (int dd = 0; dd < NDIMS; dd++) e[dd] = (double)full[l][dd];
    const Problem *pb = &ly->prob;
    if (ly->keep[l] >> TENSOR_W & 1) words += e[DIM_G] * e[DIM_K] * e[DIM_C] * e[DIM_R] * e[DIM_S];
    if (ly->keep[l] >> TENSOR_O & 1) words += e[DIM_G] * e[DIM_N] * e[DIM_K] * e[DIM_P] * e[DIM_Q];
    if (ly->keep[l] >> TENSOR_I & 1)
      words +=
          e[DIM_G] * e[DIM_N] * e[DIM_C] *
          ((e[DIM_P] - 1) * (double)pb->stride[0] + (e[DIM_R] - 1) * (double)pb->dilation[0] + 1) *
          ((e[DIM_Q] - 1) * (double)pb->stride[1] + (e[DIM_S] - 1) * (double)pb->dilation[1] + 1);
    if (words > (double)lv->capacity_words)
      FAIL("layer '%s': level '%s' holds %" PRId64 " words, its tiles need %.0f", n->name, lv->name,
           lv->capacity_words, words);
    /* The slots the runtime holds (the tile plan) fit too, except for operands
     * the cost model sizes as a convolution's that are not indexed as one
     * (a transposed conv's scattered output): those are reported. */
    int64_t slots = 0;
    for (int t = 0; t < NTENSORS; t++) {
      const Access *ac = rt_mac_access(n, t);
      if (!(ly->keep[l] >> t & 1) || ac->ix != IX_AFFINE) continue;
      TpSlot s;
      TpAcc ta;
      tp_acc(n, ac, &ta);
      tp_slot(&ta, full[l], &s);
      slots += s.words;
    }
    if (slots > lv->capacity_words)
      diag_warn(
          L->d, L->where,
          "layer '%s': level '%s' holds %" PRId64
          " words, but the runtime's slots of its tiles need %" PRId64
          ": an operand is not indexed as a convolution's, whose tile the cost model sizes; the runtime gives this layer a larger buffer there",
          n->name, lv->name, lv->capacity_words, slots);
  }
  if (ly->res && !check_reside(L, ly, full)) return false;
  /* The compute level and its kernel must be the ones the runtime derives. */
  int lc = tp_compute_level(full, nl);
  if (ly->compute_level != lc)
    FAIL("layer '%s': compute at level %d, expected %d", n->name, ly->compute_level, lc);
  TileKernel k;
  if (rt_tile_kernel(ly, lc, full, full[lc], &k) && !kernel_equal(&k, &ly->kernel))
    FAIL("layer '%s': the kernel does not match the compute tile", n->name);
  if (ly->has_wpack && !check_wpack(L, ly, full)) return false;
  return true;
}

/* ---- fused groups ------------------------------------------------------------------ */

/* The rows x columns of rank-4 tensor t (0 if it has another rank). */
static int64_t plane(const RtTensor *T) { return T->rank == 4 ? T->dims[2] * T->dims[3] : 0; }

/* The cells of rank-4 tensor t, allocated zeroed on first use (loader
 * scratch no larger than the tensor itself, freed with the group); NULL if
 * t has another rank or out of memory (*oom). */
static uint8_t *cells_of(Ld *L, uint32_t t, bool *oom) {
  RtProgram *p = L->p;
  if (!L->cells && !(L->cells = xcalloc((size_t)p->ntensors + 1, sizeof *L->cells))) {
    *oom = true;
    return NULL;
  }
  if (!L->cells[t] && plane(&p->t[t]) > 0 && !(L->cells[t] = xcalloc((size_t)plane(&p->t[t]), 1)))
    *oom = true;
  return L->cells[t];
}

/* The rows and columns access ac reaches over nest n, clipped to rank-4
 * tensor T: b = {row lo, row hi, column lo, column hi} ([lo, hi)). */
static void access_box(const Access *ac, const Nest *n, const RtTensor *T, int64_t b[4]) {
  for (int x = 0; x < 2; x++) {
    const Affine *e = &ac->idx[2 + x];
    double lo = (double)e->cst, hi = (double)e->cst;
    for (int k = 0; k < n->ndims; k++) {
      double v = (double)e->coef[k] * (double)(n->dims[k].bound - 1);
      if (v < 0)
        lo += v;
      else
        hi += v;
    }
    double lim = (double)T->dims[2 + x];
    b[2 * x] = lo < 0 ? 0 : lo > lim ? T->dims[2 + x] : (int64_t)lo;
    b[2 * x + 1] = hi + 1 > lim ? T->dims[2 + x] : hi + 1 < 0 ? 0 : (int64_t)(hi + 1);
  }
}

/* The first cell of box b (row lo, hi, column lo, hi) of T's cells c that
 * lacks bit (its row and column in *r, *cc); false if none does. */
static bool missing(const uint8_t *c, const RtTensor *T, const int64_t b[4], uint8_t bit,
                    int64_t *r, int64_t *cc) {
  for (int64_t i = b[0]; i < b[1]; i++)
    for (int64_t j = b[2]; j < b[3]; j++)
      if (!(c[i * T->dims[3] + j] & bit)) {
        *r = i, *cc = j;
        return true;
      }
  return false;
}

static void mark(uint8_t *c, const RtTensor *T, const int64_t b[4], uint8_t bit) {
  for (int64_t i = b[0]; i < b[1]; i++)
    for (int64_t j = b[2]; j < b[3]; j++) c[i * T->dims[3] + j] |= bit;
}

static int64_t box_words(const RtTensor *T, const int64_t b[4]) {
  int64_t r = b[1] > b[0] ? b[1] - b[0] : 0, c = b[3] > b[2] ? b[3] - b[2] : 0;
  return T->dims[0] * T->dims[1] * r * c;
}

/* The tensor a layer writes (its last access; check_layer_ops). */
static uint32_t written(const Nest *n) {
  for (int a = 0; a < n->nacc; a++)
    if (n->acc[a].kind != ACC_READ) return n->acc[a].tensor;
  return 0;
}

static bool reads(const Nest *n, uint32_t t) {
  for (int a = 0; a < n->nacc; a++)
    if (n->acc[a].kind == ACC_READ && n->acc[a].tensor == t) return true;
  return false;
}

/* Records a depth-first step (tile layer `layer`, at L->at) or a box of
 * the current step; false when out of memory. */
static bool push_step(Ld *L, int layer) {
  if (L->nsteps == L->capsteps) {
    int cap = L->capsteps ? L->capsteps * 2 : 64;
    struct DStep *v = cap > (1 << 24) ? NULL : xrealloc(L->steps, sizeof *v * (size_t)cap);
    if (!v) return false;
    L->steps = v, L->capsteps = cap;
  }
  L->steps[L->nsteps++] = (struct DStep){layer, L->at, L->nboxes, -1};
  return true;
}

static bool push_box(Ld *L, uint32_t t, int kind, const int64_t b[4]) {
  if (b[1] <= b[0] || b[3] <= b[2]) return true;
  if (L->nboxes == L->capboxes) {
    int cap = L->capboxes ? L->capboxes * 2 : 256;
    struct DBox *v = cap > (1 << 26) ? NULL : xrealloc(L->boxes, sizeof *v * (size_t)cap);
    if (!v) return false;
    L->boxes = v, L->capboxes = cap;
  }
  struct DBox *x = &L->boxes[L->nboxes++];
  x->tensor = t, x->kind = (uint8_t)kind;
  memcpy(x->b, b, sizeof x->b);
  return true;
}

static void free_steps(Ld *L) {
  xfree(L->steps), xfree(L->boxes);
  L->steps = NULL, L->boxes = NULL;
  L->nsteps = L->capsteps = L->nboxes = L->capboxes = 0;
}

/* Sets (on) or clears bit CELL_LIVE over box x; returns the words whose
 * bit changed. */
static int64_t set_live(Ld *L, const struct DBox *x, bool on) {
  const RtTensor *T = &L->p->t[x->tensor];
  uint8_t *c = L->cells[x->tensor];
  int64_t n = 0;
  for (int64_t i = x->b[0]; i < x->b[1]; i++)
    for (int64_t j = x->b[2]; j < x->b[3]; j++) {
      uint8_t *v = &c[i * T->dims[3] + j];
      if (((*v & CELL_LIVE) != 0) == on) continue;
      *v = on ? *v | CELL_LIVE : *v & ~CELL_LIVE;
      n++;
    }
  return n * T->dims[0] * T->dims[1];
}

/* What home holds at each step of the depth-first group just read (its
 * tile layers, in order): check_tile_capacity's count (what the step reads
 * and writes at home, its other tiles, the group's weights with flag 8) plus
 * every value at home from an earlier step that a later step reads before
 * it is computed or copied in again: what the group keeps between its
 * layers in a tile and, under cache-h or cache-all, what the overlap policy
 * keeps for later tiles (the columns the next tile shares, the rows the next
 * row of tiles shares), as the tiles' copies and halos say -- the stream
 * does not name the policy, its steps show what is kept.  Found walking the
 * steps backwards with a live bit per cell: live after step j are the cells
 * a later step reads (or copies out) before one writes (or copies in) them.
 * This is the cost model's occupancy (backend/schedule.c, slot_live and
 * occ_fits) counted exactly per step instead of bounded: the model counts a
 * slot's region (its largest rows x its largest columns over the tiles)
 * from its writer to its last reader in the tile, and at every step its
 * cache: depth x largest rows x largest column overlap under cache-h, plus
 * depth x largest row overlap x all columns under cache-all (the last
 * layer's output too); the cells counted here at a step are a subset of
 * those, so a group the model says fits passes. */
static bool check_kept(Ld *L) {
  RtProgram *p = L->p;
  const Level *hl = &p->arch.level[L->ghome];
  int bad = -1;
  double bad_words = 0;
  int64_t bad_kept = 0, live = 0; /* live: words of the cells live after the step */
  for (int s = L->nsteps - 1; s >= 0; s--) {
    const struct DStep *st = &L->steps[s];
    int e = s + 1 < L->nsteps ? L->steps[s + 1].box0 : L->nboxes;
    /* Live values the step neither reads nor writes: kept at home across it. */
    int64_t in = 0;
    for (int pass = 0; pass < 2; pass++)
      for (int k = st->box0; k < e; k++) {
        const struct DBox *x = &L->boxes[k];
        if (x->kind != BOX_READ && x->kind != BOX_WRITE) continue;
        const RtTensor *T = &p->t[x->tensor];
        uint8_t *c = L->cells[x->tensor];
        for (int64_t i = x->b[0]; i < x->b[1]; i++)
          for (int64_t j = x->b[2]; j < x->b[3]; j++) {
            uint8_t *v = &c[i * T->dims[3] + j];
            if (pass) {
              *v &= (uint8_t)~CELL_SEEN;
            } else if ((*v & (CELL_LIVE | CELL_SEEN)) == CELL_LIVE) {
              *v |= CELL_SEEN;
              in += T->dims[0] * T->dims[1];
            }
          }
      }
    double words = st->base + (double)(live - in);
    if (st->base >= 0 && hl->capacity_words && words > (double)hl->capacity_words)
      bad = s, bad_words = words, bad_kept = live - in; /* the first such step, reported below */
    /* Backwards over the step: copy-out reads, the write and copy-in give new
     * values, the reads need the old ones. */
    for (int kind = BOX_COUT; kind >= BOX_CIN; kind--)
      for (int k = st->box0; k < e; k++)
        if (L->boxes[k].kind == kind) {
          bool on = kind == BOX_COUT || kind == BOX_READ;
          int64_t n = set_live(L, &L->boxes[k], on);
          live += on ? n : -n;
        }
  }
  if (bad < 0) return true;
  const RtLayer *ly = &p->layers[L->steps[bad].layer];
  set_where(L, L->steps[bad].at, ly->nest.name);
  diag_error(L->d, L->where,
             "depth-first group %u ('%s'..'%s'): at tile layer '%s' (tile %" PRId64
             ") home level '%s' holds %" PRId64 " words, the tile's regions there and what the "
             "group keeps at home for later steps (%" PRId64 " words: its overlap policy's cache "
             "and values between its layers) need %.0f",
             L->grp, p->layers[L->gfirst].nest.name, p->layers[L->glast].nest.name, ly->nest.name,
             ly->tile_no, hl->name, hl->capacity_words, bad_kept, bad_words);
  return false;
}

/* The end of the group being read.  A layer-by-layer group: at each of its
 * layers, the home level holds every tensor written in the group and still
 * read by a later layer of it, whole, beside the layer's tiles of its other
 * tensors (the cost model's occupancy, docs/cost-model.md).  A depth-first
 * group: its tiles computed all of its last layer's output, and copied out
 * every output read after the group whole, each word once. */
static bool end_group(Ld *L) {
  RtProgram *p = L->p;
  const Arch *a = &p->arch;
  bool ok = true;
  if (!L->grp) return true;
  const char *f = p->layers[L->gfirst].nest.name, *z = p->layers[L->glast].nest.name;
  if (!L->gdepth) {
    for (int k = L->gfirst; ok && k <= L->glast; k++) {
      double words = (double)p->layers[k].home_other;
      for (int j = L->gfirst; j <= k; j++) {
        uint32_t t = written(&p->layers[j].nest);
        bool first = true, live = false;
        for (int i = L->gfirst; i < j; i++) first &= written(&p->layers[i].nest) != t;
        for (int m = k; m <= L->glast && first; m++) live |= m > j && reads(&p->layers[m].nest, t);
        if (live) words += (double)p->t[t].numel;
      }
      int64_t cap = a->level[L->ghome].capacity_words;
      if (cap && words > (double)cap) {
        diag_error(L->d, L->where[0] ? L->where : NULL,
                   "fused group %u ('%s'..'%s'): at layer '%s' home level '%s' holds %" PRId64
                   " words, the group's live resident tensors and the layer's other tiles need "
                   "%.0f",
                   L->grp, f, z, p->layers[k].nest.name, a->level[L->ghome].name, cap, words);
        ok = false;
      }
    }
  } else {
    bool oom = false;
    for (int k = L->gfirst; ok && k <= L->glast; k++) {
      const RtLayer *ly = &p->layers[k];
      uint32_t t = written(&ly->nest);
      bool last = k == L->glast, out = (ly->res & CMD_RES_COPY_OUT) != 0;
      if (!last && !out) continue;
      const RtTensor *T = &p->t[t];
      uint8_t *c = cells_of(L, t, &oom);
      if (!c) continue; /* not rank 4: the tile layers were refused */
      int64_t b[4] = {0, T->dims[2], 0, T->dims[3]}, r, cc;
      if (last && missing(c, T, b, CELL_VALID, &r, &cc)) {
        diag_error(L->d, L->where[0] ? L->where : NULL,
                   "depth-first group %u ('%s'..'%s'): no tile computes row %" PRId64
                   ", column %" PRId64 " of '%s'",
                   L->grp, f, z, r, cc, T->name);
        ok = false;
      } else if (out && missing(c, T, b, CELL_OUT, &r, &cc)) {
        diag_error(L->d, L->where[0] ? L->where : NULL,
                   "depth-first group %u ('%s'..'%s'): row %" PRId64 ", column %" PRId64
                   " of '%s', read after the group, is never copied out",
                   L->grp, f, z, r, cc, T->name);
        ok = false;
      }
    }
    if (oom) {
      diag_error(L->d, NULL, "out of memory");
      ok = false;
    }
    if (ok && !L->gtiles) {
      diag_error(L->d, L->where[0] ? L->where : NULL,
                 "depth-first group %u ('%s'..'%s') has no tile layers", L->grp, f, z);
      ok = false;
    }
    if (ok && !check_kept(L)) ok = false;
  }
  for (int t = 0; L->cells && t <= p->ntensors; t++) xfree(L->cells[t]);
  xfree(L->cells);
  L->cells = NULL;
  L->grp = 0, L->gtiles = 0;
  free_steps(L);
  return ok;
}

/* CMD_RESIDE of layer ly (index i): joins the open group or opens one. */
static bool join_group(Ld *L, RtLayer *ly, int i, uint32_t grp) {
  if (!grp) FAIL("layer '%s': a residency record without its group's number", ly->nest.name);
  bool depth = (ly->res & CMD_RES_DEPTH) != 0;
  if (grp != L->grp) {
    if (!end_group(L)) return false;
    if (grp <= L->last_grp)
      FAIL("layer '%s': fused group %u again, after other layers (a group's layers are "
           "consecutive, numbered in stream order)",
           ly->nest.name, grp);
    L->grp = L->last_grp = grp, L->gfirst = i, L->gdepth = depth, L->ghome = ly->home;
    L->gtiles = 0, L->gtile = -1;
  } else if (L->glast != i - 1) {
    FAIL("layer '%s': a layer of fused group %u after the group's tile layers", ly->nest.name, grp);
  }
  if (depth != L->gdepth || ly->home != L->ghome)
    FAIL("layer '%s': fused group %u's layers differ in their mode or home level", ly->nest.name,
         grp);
  L->glast = i;
  return true;
}

/* Whether tile layer t's nest is layer o's cut down to its rectangle. */
static bool same_cut(const Nest *t, const Nest *o, int64_t r0, int64_t c0) {
  int rd, cd;
  Nest want;
  if (t->ndims != o->ndims || !tp_row_col_dims(o, &rd, &cd) ||
      !tp_tile_nest(o, r0, t->dims[rd].bound, c0, t->dims[cd].bound, &want))
    return false;
  if (t->kind != want.kind || t->vop != want.vop || t->nacc != want.nacc ||
      t->has_bias != want.has_bias || t->act != want.act)
    return false;
  for (int k = 0; k < t->ndims; k++)
    if (t->dims[k].bound != want.dims[k].bound || t->dims[k].reduce != want.dims[k].reduce)
      return false;
  for (int a = 0; a < t->nacc; a++) {
    const Access *x = &t->acc[a], *y = &want.acc[a];
    if (x->tensor != y->tensor || x->kind != y->kind || x->ix != y->ix || x->role != y->role ||
        x->rank != y->rank)
      return false;
    for (int q = 0; x->ix == IX_AFFINE && q < x->rank; q++)
      if (memcmp(&x->idx[q], &y->idx[q], sizeof(Affine)) || x->pad_lo[q] != y->pad_lo[q] ||
          x->pad_hi[q] != y->pad_hi[q])
        return false;
  }
  return true;
}

/* CMD_TILE of tile layer ly: it belongs to the open depth-first group, is
 * its layer cut down to a rectangle, its copies lie inside their tensors,
 * and (the halo) every row and column it reads of a tensor at home was
 * computed or copied in by an earlier step, and every one it copies out
 * was computed and is copied out once. */
static bool check_tile(Ld *L, RtLayer *ly, int i) {
  RtProgram *p = L->p;
  const Nest *n = &ly->nest;
  if (!L->grp || !L->gdepth || ly->owner < L->gfirst || ly->owner > L->glast || ly->owner >= i)
    FAIL("tile layer '%s' (tile %" PRId64 "): layer %d is not a layer of the depth-first group "
         "being read",
         n->name, ly->tile_no, ly->owner);
  const RtLayer *ow = &p->layers[ly->owner];
  if (strcmp(ow->nest.name, n->name) != 0)
    FAIL("tile layer '%s' (tile %" PRId64 "): it runs for layer %d, '%s'", n->name, ly->tile_no,
         ly->owner, ow->nest.name);
  if (ly->tile_no < L->gtile)
    FAIL("tile layer '%s': tile %" PRId64 " after tile %" PRId64, n->name, ly->tile_no, L->gtile);
  L->gtile = ly->tile_no;
  L->gtiles++;
  bool mac = ow->nest.kind == NK_MAC && (ow->res & (CMD_RES_I | CMD_RES_O));
  uint8_t want = mac ? CMD_RES_I | CMD_RES_O : 0;
  if (ly->home != L->ghome || (ly->res & ~CMD_RES_W) != want || (!mac && (ly->res || ly->wcopy)) ||
      (ly->wcopy && !(ly->res & CMD_RES_W)))
    FAIL("tile layer '%s' (tile %" PRId64 "): home %d and flags %#x, its group's are %d and %#x",
         n->name, ly->tile_no, ly->home, ly->res, L->ghome, want);
  if (!tp_row_col_dims(&ow->nest, &ly->rdim, &ly->cdim) ||
      !same_cut(n, &ow->nest, ly->org[0], ly->org[1]))
    FAIL("tile layer '%s' (tile %" PRId64 "): its nest is not its layer's cut down to a "
         "rectangle at row %" PRId64 ", column %" PRId64,
         n->name, ly->tile_no, ly->org[0], ly->org[1]);
  /* A layer reducing over its output's rows or columns (a softmax over the
   * key axis: each output needs its whole row) is exact only on tiles that
   * span them whole (the cost model's rule, docs/cost-model.md). */
  for (int x = 0; x < 2; x++) {
    const NestDim *od = &ow->nest.dims[x ? ly->cdim : ly->rdim];
    int64_t got = n->dims[x ? ly->cdim : ly->rdim].bound;
    if (od->reduce && got != od->bound)
      FAIL("tile layer '%s' (tile %" PRId64
           "): it reduces over its output's %s but computes %" PRId64 " of its %" PRId64
           ": its tiles must span them whole",
           n->name, ly->tile_no, x ? "columns" : "rows", got, od->bound);
  }
  bool oom = !push_step(L, i);
  const Access *ia = mac ? rt_mac_access(n, TENSOR_I) : NULL;
  /* Copies in: inside I, at home from now on. */
  int64_t cin[4] = {ly->cin[0][0], ly->cin[0][1], ly->cin[1][0], ly->cin[1][1]};
  int64_t cout[4] = {ly->cout[0][0], ly->cout[0][1], ly->cout[1][0], ly->cout[1][1]};
  for (int k = 0; k < 2; k++) {
    const int64_t *b = k ? cout : cin;
    if (b[1] <= b[0] && b[3] <= b[2]) continue; /* none */
    const Access *ac = k ? rt_mac_access(n, TENSOR_O) : ia;
    const RtTensor *T = ac ? &p->t[ac->tensor] : NULL;
    if (!T || T->rank != 4 || b[0] < 0 || b[1] <= b[0] || b[1] > T->dims[2] || b[2] < 0 ||
        b[3] <= b[2] || b[3] > T->dims[3])
      FAIL("tile layer '%s' (tile %" PRId64 "): its copy-%s of rows %" PRId64 "..%" PRId64
           ", columns %" PRId64 "..%" PRId64 " is not inside %s",
           n->name, ly->tile_no, k ? "out" : "in", b[0], b[1], b[2], b[3],
           T ? T->name : "a rank-4 operand");
  }
  if (ia && cin[1] > cin[0]) {
    const RtTensor *T = &p->t[ia->tensor];
    uint8_t *c = cells_of(L, ia->tensor, &oom);
    if (c) mark(c, T, cin, CELL_VALID);
    if (c && !push_box(L, ia->tensor, BOX_CIN, cin)) oom = true;
    ly->copy_in = box_words(T, cin);
  }
  /* The reads: every cell of a tensor at home must be there. */
  int64_t words = 0;
  for (int a = 0; a < n->nacc && !oom; a++) {
    const Access *ac = &n->acc[a];
    const RtTensor *T = &p->t[ac->tensor];
    if (ac->kind != ACC_READ || T->role == TR_WEIGHT || ac->ix != IX_AFFINE || ac->rank != 4 ||
        T->rank != 4 || !L->cells || !L->cells[ac->tensor])
      continue; /* not at home: read from DRAM */
    int64_t b[4], r, cc;
    access_box(ac, n, T, b);
    if (missing(L->cells[ac->tensor], T, b, CELL_VALID, &r, &cc))
      FAIL("tile layer '%s' (tile %" PRId64 "): it reads row %" PRId64 ", column %" PRId64
           " of '%s', which no earlier step of its group computed or copied in (rows %" PRId64
           "..%" PRId64 ", columns %" PRId64 "..%" PRId64 " are read)",
           n->name, ly->tile_no, r, cc, T->name, b[0], b[1], b[2], b[3]);
    words += box_words(T, b);
    if (!push_box(L, ac->tensor, BOX_READ, b)) oom = true;
  }
  if (oom) FAIL("out of memory");
  /* The write: computed, at home from now on. */
  uint32_t ot = written(n);
  const RtTensor *TO = &p->t[ot];
  int64_t ob[4];
  const Access *oa = NULL;
  for (int a = 0; a < n->nacc; a++)
    if (n->acc[a].kind != ACC_READ) oa = &n->acc[a];
  uint8_t *c = oa && oa->ix == IX_AFFINE && oa->rank == 4 ? cells_of(L, ot, &oom) : NULL;
  if (!c) {
    if (oom) FAIL("out of memory");
    FAIL("tile layer '%s' (tile %" PRId64 "): its output is not cut into rows and columns", n->name,
         ly->tile_no);
  }
  access_box(oa, n, TO, ob);
  mark(c, TO, ob, CELL_VALID);
  words += box_words(TO, ob);
  if (!push_box(L, ot, BOX_WRITE, ob)) FAIL("out of memory");
  if (cout[1] > cout[0]) {
    int64_t r, cc;
    if (missing(c, TO, cout, CELL_VALID, &r, &cc))
      FAIL("tile layer '%s' (tile %" PRId64 "): it copies out row %" PRId64 ", column %" PRId64
           " of '%s', which no step computed",
           n->name, ly->tile_no, r, cc, TO->name);
    for (int64_t r2 = cout[0]; r2 < cout[1]; r2++)
      for (int64_t c2 = cout[2]; c2 < cout[3]; c2++)
        if (c[r2 * TO->dims[3] + c2] & CELL_OUT)
          FAIL("tile layer '%s' (tile %" PRId64 "): row %" PRId64 ", column %" PRId64
               " of '%s' is copied out twice",
               n->name, ly->tile_no, r2, c2, TO->name);
    mark(c, TO, cout, CELL_OUT);
    ly->copy_out = box_words(TO, cout);
    if (!push_box(L, ot, BOX_COUT, cout)) FAIL("out of memory");
  }
  L->tile_words = words;
  return true;
}

/* At a tile layer's sync (its mapping checked): home holds, at once, what
 * the layer reads and writes there, its other tiles at home and, kept at
 * home, every weight of the group.  What earlier steps leave at home for
 * later ones (the overlap policy's cache) is added at the group's end,
 * when the later steps are known (check_kept). */
static bool check_tile_capacity(Ld *L, RtLayer *ly) {
  RtProgram *p = L->p;
  const Level *hl = &p->arch.level[ly->home];
  double words = (double)L->tile_words + (double)ly->home_other;
  if (ly->res & CMD_RES_W)
    for (int k = L->gfirst; k <= L->glast; k++) {
      const Problem *pb = &p->layers[k].prob;
      if (p->layers[k].mapped)
        words += (double)pb->dim[DIM_G] * (double)pb->dim[DIM_K] * (double)pb->dim[DIM_C] *
                 (double)pb->dim[DIM_R] * (double)pb->dim[DIM_S];
    }
  int i = (int)(ly - p->layers);
  if (L->nsteps && L->steps[L->nsteps - 1].layer == i) L->steps[L->nsteps - 1].base = words;
  if (hl->capacity_words && words > (double)hl->capacity_words)
    FAIL("tile layer '%s' (tile %" PRId64 "): home level '%s' holds %" PRId64
         " words, the tile's regions there need %.0f",
         ly->nest.name, ly->tile_no, hl->name, hl->capacity_words, words);
  if (ly->wcopy) { /* all of its layer's weights: a tile cutting K (an attention
                      * matmul's columns) reads only part of them */
    const Problem *pb = &p->layers[ly->owner].prob;
    ly->copy_w = pb->dim[DIM_G] * pb->dim[DIM_K] * pb->dim[DIM_C] * pb->dim[DIM_R] * pb->dim[DIM_S];
  }
  return true;
}

static bool read_commands(Ld *L, Cur *c) {
  RtProgram *p = L->p;
  int cap = 0;
  RtLayer *ly = NULL;
  enum { S_OUT, S_IN, S_SYNCED } st = S_OUT;
  bool has_compute = false, has_kernel = false, has_vec = false;
  while (c->off < c->n) {
    size_t at = c->base + c->off;
    set_where(L, at, ly ? ly->nest.name : NULL);
    uint8_t op = get8(c);
    get8(c);
    get_n(c, 2);
    uint32_t len = get32(c);
    if (c->bad) FAIL("command header truncated");
    if (len > CMDF_MAX_PAYLOAD || len > c->n - c->off)
      FAIL("command %u: payload of %u bytes runs past the command section", op, len);
    Cur r = {c->p + c->off, len, 0, c->base + c->off, false};
    c->off += len;
    if (ly && st == S_IN && op != CMD_RESIDE && op != CMD_TILE && !ly->group && !ly->dft &&
        L->grp && !end_group(L))
      return false;
    if (op == CMD_LAYER) {
      if (st != S_OUT) FAIL("a layer begins inside another");
      if (p->nlayers == cap) {
        cap = cap ? cap * 2 : 64;
        if (cap > (1 << 20)) FAIL("too many layers");
        RtLayer *nl2 = xrealloc(p->layers, sizeof(RtLayer) * (size_t)cap);
        if (!nl2) FAIL("out of memory");
        p->layers = nl2;
      }
      ly = &p->layers[p->nlayers++];
      memset(ly, 0, sizeof *ly);
      if (!read_nest(L, &r, &ly->nest)) return false;
      set_where(L, at, ly->nest.name);
      ly->counts.name = ly->nest.name;
      if (!check_layer_ops(L, &ly->nest) || !check_work(L, &ly->nest)) return false;
      int64_t scratch = layer_scratch(p, &ly->nest);
      if (scratch > L->scratch)
        L->scratch = scratch, L->scratch_of = ly->nest.name, L->scratch_at = at;
      st = S_IN;
      has_compute = has_kernel = has_vec = false;
    } else if (!ly || st == S_OUT) {
      FAIL("command %u outside a layer", op);
    } else if (op == CMD_RESIDE) {
      if (st != S_IN || ly->res || ly->group || ly->dft || ly->nloops || ly->ntiles || ly->mapped ||
          has_vec)
        FAIL("%s", "a residency record not right after a layer's");
      ly->home = get8(&r);
      ly->res = get8(&r);
      get_n(&r, 2);
      ly->group = get32(&r);
      if (r.bad) FAIL("command %u: payload truncated", op);
      if (ly->nest.kind != NK_MAC && (ly->res & ~CMD_RES_DEPTH))
        FAIL("layer '%s': residency flags %#x for a layer that is not a mac layer", ly->nest.name,
             ly->res);
      if (!join_group(L, ly, p->nlayers - 1, ly->group)) return false;
    } else if (op == CMD_TILE) {
      if (st != S_IN || ly->res || ly->group || ly->dft || ly->nloops || ly->ntiles || ly->mapped ||
          has_vec)
        FAIL("%s", "a tile record not right after a layer's");
      ly->dft = true;
      uint32_t ow = get32(&r);
      ly->owner = ow > (uint32_t)p->nlayers ? -1 : (int)ow;
      ly->home = get8(&r);
      ly->res = get8(&r);
      get_n(&r, 2);
      ly->tile_no = get64(&r);
      ly->org[0] = get64(&r);
      ly->org[1] = get64(&r);
      for (int x = 0; x < 2; x++) ly->cin[x][0] = get64(&r), ly->cin[x][1] = get64(&r);
      for (int x = 0; x < 2; x++) ly->cout[x][0] = get64(&r), ly->cout[x][1] = get64(&r);
      uint8_t wc = get8(&r);
      get_n(&r, 7);
      if (r.bad) FAIL("command %u: payload truncated", op);
      if (wc > 1) FAIL("tile layer '%s': weight copy flag %u", ly->nest.name, wc);
      ly->wcopy = wc;
      if (!check_tile(L, ly, p->nlayers - 1)) return false;
    } else if (op == CMD_LOOP) {
      if (st != S_IN || ly->ntiles || ly->has_wpack || has_kernel || has_vec)
        FAIL("a loop after the layer's tiles");
      if (ly->nloops == RT_MAX_LOOPS) FAIL("too many loops");
      RtLoop *lp = &ly->loop[ly->nloops++];
      lp->level = get8(&r);
      lp->axis = get8(&r);
      lp->dim = get8(&r);
      get8(&r);
      lp->f = get64(&r);
      lp->r = get64(&r);
      ly->mapped = true;
    } else if (op == CMD_LOAD || op == CMD_STORE) {
      if (st != S_IN || ly->has_wpack || has_kernel || has_vec) FAIL("a tile outside the mapping");
      if (ly->ntiles == RT_MAX_TILES) FAIL("too many tiles");
      RtTile *tl = &ly->tile[ly->ntiles++];
      tl->store = op == CMD_STORE;
      tl->level = get8(&r);
      tl->tensor = get8(&r);
      tl->rank = get8(&r);
      tl->affine = get8(&r);
      if (tl->rank > NAASC_MAX_RANK) FAIL("tile rank %d", tl->rank);
      for (int q = 0; q < tl->rank; q++) {
        tl->size[q] = get64(&r);
        tl->stride[q] = get64(&r);
        tl->pad_lo[q] = get64(&r);
        tl->pad_hi[q] = get64(&r);
      }
      ly->mapped = true;
    } else if (op == CMD_WPACK) {
      if (st != S_IN || ly->has_wpack || has_kernel || has_vec || !ly->mapped)
        FAIL("a misplaced weight pack");
      ly->wp.level = get8(&r);
      ly->wp.n = get8(&r);
      get_n(&r, 2);
      ly->wp_tensor = get32(&r);
      ly->wp_off = (uint64_t)get64(&r);
      ly->wp_len = (uint64_t)get64(&r);
      for (int j = 0; j < NDIMS; j++) ly->wp.order[j] = get8(&r);
      if (ly->wp.n > NDIMS) FAIL("a weight pack over %d dims", ly->wp.n);
      ly->has_wpack = true;
    } else if (op == CMD_KERNEL) {
      if (st != S_IN || has_kernel || has_vec) FAIL("a misplaced kernel");
      TileKernel *k = &ly->kernel;
      memset(k, 0, sizeof *k);
      uint32_t nloops = get32(&r);
      if (nloops < 1 || nloops > KERNEL_MAX_LOOPS) FAIL("kernel with %u loops", nloops);
      k->nloops = (int)nloops;
      for (int i = 0; i < k->nloops; i++) {
        k->bound[i] = get64(&r);
        for (int o = 0; o < KOP_N; o++) k->stride[o][i] = get64(&r);
      }
      has_kernel = true;
      ly->mapped = true;
    } else if (op == CMD_COMPUTE) {
      if (st != S_IN || !has_kernel || has_compute) FAIL("compute without its kernel");
      ly->compute_level = get8(&r);
      get8(&r);
      get_n(&r, 2);
      ly->kernel_id = get32(&r);
      has_compute = true;
    } else if (op == CMD_VECOP) {
      if (st != S_IN || ly->mapped || has_vec) FAIL("a vector op in a mapped layer");
      has_vec = true;
      if (ly->nest.vop == VOP_HOST) {
        if (r.n == 0)
          FAIL("layer '%s' is an op run on the host (%s), and the stream carries no node for it "
               "(an op naasc does not know: --allow-unsupported)",
               ly->nest.name, ly->nest.host_op);
        uint64_t off = (uint64_t)get64(&r), blen = (uint64_t)get64(&r);
        if (r.bad || off > L->wlen || blen > L->wlen - off || blen == 0)
          FAIL("layer '%s': its host node at %" PRIu64 "+%" PRIu64
               " is outside the weight section (%" PRIu64 " bytes)",
               ly->nest.name, off, blen, L->wlen);
        if (!rt_host_prepare(p, ly, L->w + off, (size_t)blen, L->where, L->d)) return false;
        /* The imported node's constants are held; what its evaluation
         * allocates (its results, of known shape) is scratch. */
        int64_t held = 0, eval = 0;
        host_model_bytes(ly->host, &held, &eval);
        if (!need_memory(L, held, "the host nodes' constants")) return false;
        if (eval > L->scratch) L->scratch = eval, L->scratch_of = ly->nest.name, L->scratch_at = at;
      }
    } else if (op == CMD_SYNC) {
      if (st != S_IN) FAIL("two syncs");
      if (ly->mapped && (!has_compute || ly->nest.kind != NK_MAC))
        FAIL("a mapped layer without compute");
      if (!ly->mapped && !has_vec) FAIL("a layer without compute or vector op");
      if (ly->mapped && !check_mapping(L, ly)) return false;
      if ((ly->res & ~CMD_RES_DEPTH) && !ly->mapped)
        FAIL("layer '%s': residency without a mapping", ly->nest.name);
      if (ly->dft && !check_tile_capacity(L, ly)) return false;
      st = S_SYNCED;
    } else if (op == CMD_END) {
      if (st != S_SYNCED) FAIL("a layer ends before its sync");
      st = S_OUT;
    } else {
      FAIL("unknown command %u", op);
    }
    if (r.bad) FAIL("command %u: payload truncated", op);
    if (r.off != r.n) FAIL("command %u: %zu bytes of payload left over", op, r.n - r.off);
  }
  if (st != S_OUT) FAIL("the stream ends inside layer '%s'", ly ? ly->nest.name : "?");
  return end_group(L);
}

/* A packed weight is filled by exactly one layer and read by no other. */
static bool check_packed_uses(Ld *L) {
  RtProgram *p = L->p;
  set_where(L, 0, NULL);
  L->where[0] = 0;
  for (int i = 1; i <= p->ntensors; i++) {
    if (!p->packed[i]) continue;
    if (p->packed[i] != 2)
      FAIL("weight '%s' is declared packed, but no layer packs it", p->t[i].name);
    int uses = 0;
    for (int k = 0; k < p->nlayers; k++)
      for (int a = 0; a < p->layers[k].nest.nacc; a++)
        uses += p->layers[k].nest.acc[a].tensor == (uint32_t)i;
    if (uses != 1)
      FAIL("weight '%s' is packed for one layer but read %d times", p->t[i].name, uses);
  }
  return true;
}

Rc rt_load(const uint8_t *buf, size_t len, const Arch *expect, RtProgram **out, Diag *d) {
  return rt_load_capped(buf, len, expect, RT_DEFAULT_MAX_MEMORY, out, d);
}

Rc rt_load_capped(const uint8_t *buf, size_t len, const Arch *expect, int64_t max_memory,
                  RtProgram **out, Diag *d) {
  *out = NULL;
  RtProgram *p = xcalloc(1, sizeof *p);
  if (!p) {
    diag_error(d, NULL, "out of memory");
    return RC_INTERNAL;
  }
  arena_init(&p->arena);
  p->max_memory = max_memory;
  Ld Ls = {.p = p, .d = d}, *L = &Ls;
  Cur h = {buf, len, 0, 0, false};
  if (len < CMDF_HEADER_BYTES) {
    diag_error(d, NULL, "not a command stream: %zu bytes, the header alone is %d", len,
               CMDF_HEADER_BYTES);
    goto fail;
  }
  if (memcmp(buf, CMDF_MAGIC, 8) != 0) {
    diag_error(d, "offset 0", "not a naasc command stream (bad magic)");
    goto fail;
  }
  h.off = 8;
  uint32_t ver = get32(&h), hb = get32(&h);
  uint64_t hash = (uint64_t)get64(&h);
  uint64_t sec[7];
  for (int i = 0; i < 7; i++) sec[i] = (uint64_t)get64(&h);
  if (ver != CMDF_VERSION) {
    diag_error(d, "offset 8", "command stream version %u, this runtime reads version %d", ver,
               CMDF_VERSION);
    goto fail;
  }
  /* Sections: arch, tensors, commands, weights, back to back to the end. */
  uint64_t arch_off = sec[0], arch_len = sec[1], t_off = sec[2], t_len = sec[3], c_off = sec[4],
           c_len = sec[5], w_len = sec[6];
  if (hb != CMDF_HEADER_BYTES || arch_off != CMDF_HEADER_BYTES || arch_len > len ||
      t_off != arch_off + arch_len || t_len > len || c_off != t_off + t_len || c_len > len ||
      c_off + c_len > len || w_len != len - (c_off + c_len)) {
    diag_error(d, "offset 12",
               "the section table does not describe a %zu-byte stream (truncated or tampered)",
               len);
    goto fail;
  }
  if (cmdf_hash(buf + arch_off, (size_t)arch_len) != hash) {
    diag_error(d, "offset 16", "the architecture section does not match its hash (tampered)");
    goto fail;
  }
  Cur ac = {buf + arch_off, (size_t)arch_len, 0, (size_t)arch_off, false};
  set_where(L, (size_t)arch_off, NULL);
  if (!read_arch(L, &ac)) goto fail;
  p->arch_hash = hash;
  if (expect) {
    uint64_t want = cmdf_arch_hash(expect);
    if (want != hash) {
      diag_error(d, NULL,
                 "the stream was compiled for another architecture (levels %s...; hash %016" PRIx64
                 "), not '%s' (hash %016" PRIx64 ")",
                 p->arch.level[p->arch.nlevels > 1 ? 1 : 0].name, hash, expect->name, want);
      goto fail;
    }
    snprintf(p->arch.name, sizeof p->arch.name, "%s", expect->name);
  }
  Cur tc = {buf + t_off, (size_t)t_len, 0, (size_t)t_off, false};
  if (!read_tensors(L, &tc, w_len)) goto fail;
  Cur cc = {buf + c_off, (size_t)c_len, 0, (size_t)c_off, false};
  L->w = buf + c_off + c_len, L->wlen = w_len;
  if (!read_commands(L, &cc)) {
    for (int t = 0; L->cells && t <= p->ntensors; t++) xfree(L->cells[t]);
    xfree(L->cells);
    free_steps(L);
    goto fail;
  }
  /* What rt_nlayers shows: every layer but the tile layers. */
  p->pub = xcalloc((size_t)p->nlayers + 1, sizeof *p->pub);
  if (!p->pub) {
    diag_error(d, NULL, "out of memory");
    goto fail;
  }
  for (int i = 0; i < p->nlayers; i++)
    if (!p->layers[i].dft) p->pub[p->npub++] = i;
  if (!check_packed_uses(L)) goto fail;
  if (!rt_plan_buffers(p, &p->plan)) {
    diag_error(d, NULL, "out of memory");
    goto fail;
  }
  if (!need_memory(L, p->plan.bytes - L->floor, "the intermediate values' shared buffers"))
    goto fail;
  if (L->scratch_of) set_where(L, L->scratch_at, L->scratch_of); /* the layer that needs it */
  if (!need_memory(L, L->scratch, "the largest layer's scratch")) goto fail;
  if (!fill_tensors(L)) goto fail;
  p->stream_bytes = len, p->cmd_bytes = (size_t)c_len, p->weight_bytes = (size_t)w_len;
  *out = p;
  return RC_OK;
fail:
  rt_destroy(p);
  return d->nerrors ? RC_BADINPUT : RC_INTERNAL;
}

void rt_destroy(RtProgram *p) {
  if (!p) return;
  for (int i = 1; p->t && i <= p->ntensors; i++)
    if (!p->plan.off || p->plan.off[i] < 0) xfree(p->t[i].data);
  xfree(p->pool);
  for (int i = 0; p->layers && i < p->nlayers; i++) {
    xfree(p->layers[i].wp_data);
    xfree(p->layers[i].wp_cells);
    model_destroy(p->layers[i].host);
  }
  xfree(p->layers);
  xfree(p->pub);
  xfree(p->kcache);
  arena_free(&p->arena);
  xfree(p);
}

int rt_ntensors(const RtProgram *p) { return p->ntensors; }
const RtTensor *rt_tensor(const RtProgram *p, int id) {
  return id >= 1 && id <= p->ntensors ? &p->t[id] : NULL;
}
int rt_find_tensor(const RtProgram *p, const char *name) {
  for (int i = 1; i <= p->ntensors; i++)
    if (strcmp(p->t[i].name, name) == 0) return i;
  return 0;
}
const char *rt_arch_name(const RtProgram *p) { return p->arch.name; }
int rt_nlayers(const RtProgram *p) { return p->npub; }
int64_t rt_memory(const RtProgram *p) { return p->mem_bytes; }
int64_t rt_memory_unshared(const RtProgram *p) {
  return p->mem_bytes - p->plan.bytes + p->plan.unshared;
}
const RtLayerCounts *rt_layer_counts(const RtProgram *p, int i) {
  return i >= 0 && i < p->npub ? &p->layers[p->pub[i]].counts : NULL;
}
const Nest *rt_layer_nest(const RtProgram *p, int i) {
  return i >= 0 && i < p->npub ? &p->layers[p->pub[i]].nest : NULL;
}

/* ---- disassembly ----------------------------------------------------------------- */

static const char *const role_names[] = {"input", "weight", "value", "output"};
static const char *const kind_names[] = {"mac", "vec", "move", "view"};

static void print_affine(FILE *f, const Nest *n, const Affine *e) {
  bool any = false;
  for (int dd = 0; dd < n->ndims; dd++) {
    if (!e->coef[dd]) continue;
    if (any && e->coef[dd] > 0) fputc('+', f);
    if (e->coef[dd] == -1) fputc('-', f);
    fputs(n->dims[dd].name, f);
    if (e->coef[dd] != 1 && e->coef[dd] != -1) fprintf(f, "*%" PRId64, e->coef[dd]);
    any = true;
  }
  if (e->cst || !any) fprintf(f, any ? "%+" PRId64 : "%" PRId64, e->cst);
}

void rt_disasm(FILE *f, const RtProgram *p) {
  const Arch *a = &p->arch;
  fprintf(f, "; naasc command stream v%d: %zu bytes (commands %zu, weights %zu)\n", CMDF_VERSION,
          p->stream_bytes, p->cmd_bytes, p->weight_bytes);
  fprintf(f, "arch hash %016" PRIx64 " macs %" PRId64 "\n", p->arch_hash, a->mac_instances);
  for (int l = 0; l < a->nlevels; l++) {
    const Level *lv = &a->level[l];
    fprintf(f,
            "  level %d %s%s instances %" PRId64 " fanout %" PRId64 "x%" PRId64 "x%" PRId64
            " capacity %" PRId64 " keeps ",
            l, lv->name, lv->is_dram ? " dram" : "", lv->instances, lv->fanout[0], lv->fanout[1],
            lv->fanout[2], lv->capacity_words);
    for (int t = 0; t < NTENSORS; t++)
      if (lv->keeps_allowed >> t & 1) fputc(accel_tensor_letter(t), f);
    fputc('\n', f);
  }
  for (int i = 1; i <= p->ntensors; i++) {
    const RtTensor *t = &p->t[i];
    fprintf(f, "tensor %%%d \"%s\" %s[", i, t->name, dtype_name(t->dtype));
    for (int k = 0; k < t->rank; k++) fprintf(f, "%s%" PRId64, k ? "," : "", t->dims[k]);
    fprintf(f, "] %s\n", role_names[t->role]);
  }
  for (int i = 0; i < p->nlayers; i++) {
    const RtLayer *ly = &p->layers[i];
    const Nest *n = &ly->nest;
    fprintf(f, "layer \"%s\" %s", n->name, kind_names[n->kind]);
    if (n->vop == VOP_HOST)
      fprintf(f, "(host:%s)", n->host_op);
    else if (*vop_name(n->vop))
      fprintf(f, "(%s)", vop_name(n->vop));
    fputs(" dims", f);
    for (int k = 0; k < n->ndims; k++)
      fprintf(f, " %s=%" PRId64 "%s", n->dims[k].name, n->dims[k].bound,
              n->dims[k].reduce ? "r" : "");
    fputc('\n', f);
    for (int k = 0; k < n->nacc; k++) {
      const Access *ac = &n->acc[k];
      static const char *const akind[] = {"read", "write", "update"};
      fprintf(f, "  %s = %s %%%u", role_name(ac->role), akind[ac->kind], ac->tensor);
      if (ac->ix == IX_GATHER)
        fputs("[gather]", f);
      else if (ac->ix == IX_WHOLE)
        fputs("[]", f);
      else {
        fputc('[', f);
        for (int q = 0; q < ac->rank; q++) {
          if (q) fputc(',', f);
          print_affine(f, n, &ac->idx[q]);
        }
        fputc(']', f);
      }
      fputc('\n', f);
    }
    if (n->has_bias || n->act)
      fprintf(f, "  epilogue%s %s(%g,%g)\n", n->has_bias ? " bias" : "",
              n->act ? op_name(n->act) : "none", n->act_alpha, n->act_beta);
    if (ly->group)
      fprintf(f, "  reside group %u home %s%s%s%s%s\n", ly->group, a->level[ly->home].name,
              ly->res & CMD_RES_DEPTH ? " depth-first" : "", ly->res & CMD_RES_I ? " I" : "",
              ly->res & CMD_RES_O ? " O" : "", ly->res & CMD_RES_COPY_OUT ? " copy-out" : "");
    if (ly->dft) {
      fprintf(f,
              "  tile %" PRId64 " of layer %d at row %" PRId64 " column %" PRId64 " home %s%s%s%s",
              ly->tile_no, ly->owner, ly->org[0], ly->org[1], a->level[ly->home].name,
              ly->res & CMD_RES_I ? " I" : "", ly->res & CMD_RES_O ? " O" : "",
              ly->res & CMD_RES_W ? " W" : "");
      for (int k = 0; k < 2; k++) {
        const int64_t(*b)[2] = k ? ly->cout : ly->cin;
        if (b[0][1] > b[0][0])
          fprintf(f, "; copy-%s rows %" PRId64 "..%" PRId64 " columns %" PRId64 "..%" PRId64,
                  k ? "out" : "in", b[0][0], b[0][1], b[1][0], b[1][1]);
      }
      fprintf(f, "%s\n", ly->wcopy ? "; weights copied in" : "");
    }
    for (int k = 0; k < ly->nloops; k++) {
      const RtLoop *lp = &ly->loop[k];
      if (lp->axis)
        fprintf(f, "  loop L%d spatial.%c %c in %" PRId64 "\n", lp->level, "xyz"[lp->axis - 1],
                accel_dim_letter(lp->dim), lp -> f);
      else if (lp->r != lp->f)
        fprintf(f, "  loop L%d %c in %" PRId64 " rem %" PRId64 "\n", lp->level,
                accel_dim_letter(lp->dim), lp->f, lp->r);
      else
        fprintf(f, "  loop L%d %c in %" PRId64 "\n", lp->level, accel_dim_letter(lp->dim), lp->f);
    }
    for (int k = 0; k < ly->ntiles; k++) {
      const RtTile *tl = &ly->tile[k];
      fprintf(f, "  %s L%d %c size [", tl->store ? "store" : "load", tl->level,
              accel_tensor_letter(tl->tensor));
      for (int q = 0; q < tl->rank; q++) fprintf(f, "%s%" PRId64, q ? "," : "", tl->size[q]);
      fputs("] stride [", f);
      for (int q = 0; q < tl->rank; q++) fprintf(f, "%s%" PRId64, q ? "," : "", tl->stride[q]);
      fputs("] pad [", f);
      for (int q = 0; q < tl->rank; q++)
        fprintf(f, "%s%" PRId64 ":%" PRId64, q ? "," : "", tl->pad_lo[q], tl->pad_hi[q]);
      fputs("]\n", f);
    }
    if (ly->has_wpack) {
      fprintf(f, "  wpack L%d W %%%u cells %" PRId64 " order ", ly->wp.level, ly->wp_tensor,
              ly->wp.ncells);
      if (!ly->wp.n) fputc('-', f);
      for (int j = 0; j < ly->wp.n; j++) fputc(accel_dim_letter(ly->wp.order[j]), f);
      fprintf(f, " bytes %" PRIu64 " at %" PRIu64 "\n", ly->wp_len, ly->wp_off);
    }
    if (ly->mapped) {
      const TileKernel *k = &ly->kernel;
      fprintf(f, "  kernel #%u loops", ly->kernel_id);
      for (int j = 0; j < k->nloops; j++)
        fprintf(f, " %" PRId64 "(o%" PRId64 ",i%" PRId64 ",w%" PRId64 ")", k->bound[j],
                k->stride[KOP_O][j], k->stride[KOP_I][j], k->stride[KOP_W][j]);
      fprintf(f, "\n  compute L%d kernel #%u\n", ly->compute_level, ly->kernel_id);
    } else {
      fputs("  vecop\n", f);
    }
    fputs("  sync\nend\n", f);
  }
}
