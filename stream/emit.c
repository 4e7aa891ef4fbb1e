/*
 * emit.c: the command stream writer (cmd_emit) (docs/cmd-format.md).  From a
 * lowered (and, with a target, mapped) Module, the graph Model that holds
 * the weight values, and the Arch, it writes one binary stream: a header,
 * the architecture section (hashed), the tensor table, the commands of every
 * layer in module order, and the weights.
 *
 * Per layer: CMD_LAYER (the nest: dims, accesses, epilogue, params); a
 * mapped mac nest then gets its mapping as loop commands (one CMD_LOOP per
 * loop of factor > 1, outermost first, Timeloop's nesting), one CMD_LOAD per
 * level and kept tensor (the full tile: sizes, element strides in the
 * tensor, padding), a CMD_STORE per level keeping outputs, one CMD_COMPUTE
 * naming the kernel of the compute tile, CMD_SYNC and CMD_END.  Other nests
 * get CMD_VECOP; a host layer's names where the weight section holds its
 * node (Nest.host_blob, an ONNX model of the node alone).  So the stream grows with the number of loops, never with
 * the number of iterations.  Every nest of a fused group (Module.groups)
 * gets CMD_RESIDE right after CMD_LAYER: its group's number and home level
 * and, for a mac nest, which of its tensors live there.  A depth-first
 * group's nests are marked CMD_RES_DEPTH and, after its last nest, its tile
 * layers follow (emit_depth_group): each a nest cut to one tile's
 * rectangle with CMD_TILE, in the plan's order (stream/dfplan.c), so such a
 * group grows the stream with its tiles.  Weights packed in their layer's
 * cells are only laid out while the commands are written (Pk) and written
 * once, straight into the stream, at its end (pk_fill): each value is
 * copied once from the model.
 *
 * Invariants: the output is deterministic (same inputs, same bytes);
 * nothing is written through d unless the call fails.
 */
#include <stdlib.h>
#include <string.h>

#include "stream/stream.h"

typedef struct {
  uint8_t *p;
  size_t n, cap;
  bool oom;
} Buf;

/* Room for n more bytes at b->p + b->n (not yet counted in b->n, not
 * zeroed); NULL when out of memory (b->oom set). */
static uint8_t *reserve(Buf *b, size_t n) {
  if (b->oom) return NULL;
  if (n > SIZE_MAX / 2 - b->n) {
    b->oom = true;
    return NULL;
  }
  if (b->n + n > b->cap) {
    size_t c = b->cap ? b->cap : 4096;
    while (c < b->n + n) c *= 2;
    uint8_t *q = xrealloc(b->p, c);
    if (!q) {
      b->oom = true;
      return NULL;
    }
    b->p = q, b->cap = c;
  }
  return b->p + b->n;
}

static void put(Buf *b, const void *src, size_t n) {
  if (n == 0) return;
  uint8_t *q = reserve(b, n);
  if (!q) return;
  memcpy(q, src, n);
  b->n += n;
}
static void put8(Buf *b, uint8_t v) { put(b, &v, 1); }
static void put16(Buf *b, uint16_t v) {
  uint8_t x[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
  put(b, x, 2);
}
static void put32(Buf *b, uint32_t v) {
  uint8_t x[4];
  for (int i = 0; i < 4; i++) x[i] = (uint8_t)(v >> (8 * i));
  put(b, x, 4);
}
static void put64(Buf *b, uint64_t v) {
  uint8_t x[8];
  for (int i = 0; i < 8; i++) x[i] = (uint8_t)(v >> (8 * i));
  put(b, x, 8);
}
static void putf(Buf *b, float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  put32(b, u);
}
static void putstr(Buf *b, const char *s) {
  size_t n = s ? strlen(s) : 0;
  put32(b, (uint32_t)n);
  put(b, s, n);
}
static void set64(Buf *b, size_t at, uint64_t v) {
  if (b->oom) return;
  for (int i = 0; i < 8; i++) b->p[at + i] = (uint8_t)(v >> (8 * i));
}

/* A record: header now, payload length patched by rec_end. */
static size_t rec_begin(Buf *b, CmdOp op) {
  put8(b, (uint8_t)op);
  put8(b, 0);
  put16(b, 0);
  put32(b, 0);
  return b->n;
}
static void rec_end(Buf *b, size_t start) {
  if (b->oom) return;
  uint32_t len = (uint32_t)(b->n - start);
  for (int i = 0; i < 4; i++) b->p[start - 4 + i] = (uint8_t)(len >> (8 * i));
}

/* A nest's op as the stream names it: its name in the text form
 * ("relu"; "" for mac and view nests; "host:OPTYPE"). */
static void put_vop(Buf *b, const Nest *n) {
  const char *name = vop_name(n->vop), *host = n->vop == VOP_HOST && n->host_op ? n->host_op : NULL;
  size_t len = strlen(name), hlen = host ? strlen(host) : 0;
  put32(b, (uint32_t)(host ? len + 1 + hlen : len));
  put(b, name, len);
  if (host) {
    put8(b, ':');
    put(b, host, hlen);
  }
}

static void put_nest(Buf *b, const Nest *n) {
  putstr(b, n->name);
  put_vop(b, n);
  put8(b, (uint8_t)n->kind);
  put8(b, (uint8_t)n->ndims);
  put8(b, (uint8_t)n->nacc);
  put8(b, n->has_bias);
  put8(b, (uint8_t)n->act);
  put8(b, n->map != NULL);
  put16(b, 0);
  putf(b, n->act_alpha);
  putf(b, n->act_beta);
  for (int i = 0; i < 4; i++) putf(b, n->param.f.v[i]);
  for (int i = 0; i < 4; i++) put64(b, (uint64_t)n->param.i.v[i]);
  for (int i = 0; i < n->ndims; i++) {
    put64(b, (uint64_t)n->dims[i].bound);
    put8(b, n->dims[i].reduce);
    size_t len = strlen(n->dims[i].name);
    if (len > 31) len = 31;
    put8(b, (uint8_t)len);
    put(b, n->dims[i].name, len);
  }
  for (int a = 0; a < n->nacc; a++) {
    const Access *ac = &n->acc[a];
    put32(b, ac->tensor);
    put8(b, (uint8_t)ac->kind);
    put8(b, (uint8_t)ac->ix);
    put8(b, (uint8_t)(ac->ix == IX_AFFINE ? ac->rank : 0)); /* indices: affine accesses only */
    const char *role = role_name(ac->role);
    size_t len = strlen(role);
    put8(b, (uint8_t)len);
    put(b, role, len);
    if (ac->ix != IX_AFFINE) continue;
    for (int k = 0; k < ac->rank; k++) {
      for (int d = 0; d < NEST_MAX_DIMS; d++) put64(b, (uint64_t)ac->idx[k].coef[d]);
      put64(b, (uint64_t)ac->idx[k].cst);
      put64(b, (uint64_t)ac->pad_lo[k]);
      put64(b, (uint64_t)ac->pad_hi[k]);
    }
  }
}

/* The access of a mac nest for an accel tensor, or NULL. */
static const Access *mac_access(const Nest *n, int t) {
  return nest_access(n, t == TENSOR_W ? ROLE_W : t == TENSOR_I ? ROLE_I : ROLE_O);
}

/* The load (or store) of tensor t's tile at level l: per tensor dim the
 * extent of the access over the tile, the element stride in the tensor and
 * the padding.  Accesses that are not affine (whole-tensor MatMul
 * operands) describe the whole tensor. */
static void put_tile(Buf *b, CmdOp op, int l, int t, const Nest *n, const Module *mod,
                     const int64_t ext[NDIMS]) {
  const Access *ac = mac_access(n, t);
  size_t r = rec_begin(b, op);
  put8(b, (uint8_t)l);
  put8(b, (uint8_t)t);
  if (!ac) {
    put8(b, 0);
    put8(b, 0);
    rec_end(b, r);
    return;
  }
  const NTensor *T = &mod->tensors[ac->tensor];
  put8(b, (uint8_t)T->rank);
  put8(b, ac->ix == IX_AFFINE);
  int64_t stride = 1, strides[NAASC_MAX_RANK];
  for (int k = T->rank - 1; k >= 0; k--) strides[k] = stride, stride *= T->dims[k];
  for (int k = 0; k < T->rank; k++) {
    int64_t size = T->dims[k];
    if (ac->ix == IX_AFFINE && k < ac->rank) {
      size = 1;
      for (int i = 0; i < n->ndims; i++) {
        int64_t c = ac->idx[k].coef[i];
        if (n->dims[i].dim >= 0) size += (c < 0 ? -c : c) * (ext[n->dims[i].dim] - 1);
      }
    }
    put64(b, (uint64_t)size);
    put64(b, (uint64_t)strides[k]);
    put64(b, (uint64_t)(ac->ix == IX_AFFINE ? ac->pad_lo[k] : 0));
    put64(b, (uint64_t)(ac->ix == IX_AFFINE ? ac->pad_hi[k] : 0));
  }
  rec_end(b, r);
}

/* The kernel of the compute tile (the tile plan): operands read from the
 * slots of their source levels, then the COMPUTE command. */
static void put_kernel(Buf *b, const Nest *n, int lc, const uint8_t keep[ACCEL_MAX_LEVELS],
                       int64_t full[ACCEL_MAX_LEVELS + 1][NDIMS], uint32_t *nkernels) {
  TileKernel k;
  static const int tens[KOP_N] = {TENSOR_O, TENSOR_I, TENSOR_W};
  const Access *acc[KOP_N];
  bool affine = true;
  for (int op = 0; op < KOP_N; op++) {
    acc[op] = mac_access(n, tens[op]);
    affine &= acc[op] && acc[op]->ix == IX_AFFINE;
  }
  if (affine) {
    tp_layer_kernel(n, acc, keep, lc, full, full[lc], &k);
  } else { /* whole-tensor operands: the runtime multiplies them whole */
    memset(&k, 0, sizeof k);
    k.nloops = 1, k.bound[0] = 1;
  }
  size_t r = rec_begin(b, CMD_KERNEL);
  put32(b, (uint32_t)k.nloops);
  for (int i = 0; i < k.nloops; i++) {
    put64(b, (uint64_t)k.bound[i]);
    for (int op = 0; op < KOP_N; op++) put64(b, (uint64_t)k.stride[op][i]);
  }
  rec_end(b, r);
  size_t c = rec_begin(b, CMD_COMPUTE);
  put8(b, (uint8_t)lc);
  put8(b, 0);
  put16(b, 0);
  put32(b, (*nkernels)++);
  rec_end(b, c);
}

/* The packed section (after the dense weights).  While the commands are
 * written only its layout is fixed: each piece, 64-byte aligned, gets its
 * place (PkJob); pk_fill then writes every piece straight into the stream,
 * so a layer's weights are copied once, from the model into their cells. */
typedef struct {
  uint64_t at;         /* offset within the section */
  size_t bytes;        /* the piece's length */
  const uint8_t *blob; /* a host node's blob (Nest.host_blob), or NULL: weight cells */
  const float *w;      /* the cells' source, dense (a weight of the model) */
  TpAcc wa;            /* the layer's W access, plan and bounds (put_wpack) */
  TpPack pp;
  int64_t bound[NDIMS];
  int rank;
  const int64_t *dims;
} PkJob;

typedef struct {
  PkJob *job;
  size_t n, cap;
  uint64_t size; /* the section's bytes so far */
  bool oom;
} Pk;

/* A piece of the given length at the end of the section; NULL if out of memory. */
static PkJob *pk_add(Pk *pk, size_t bytes) {
  if (pk->oom) return NULL;
  if (pk->n == pk->cap) {
    size_t c = pk->cap ? 2 * pk->cap : 64;
    PkJob *q = xrealloc(pk->job, c * sizeof *q);
    if (!q) {
      pk->oom = true;
      return NULL;
    }
    pk->job = q, pk->cap = c;
  }
  PkJob *j = &pk->job[pk->n++];
  memset(j, 0, sizeof *j);
  j->at = (pk->size + 63) / 64 * 64;
  j->bytes = bytes;
  pk->size = j->at + bytes;
  return j;
}

/* Writes the section's pk->size bytes at dst (the padding zero); false if
 * out of memory.  Cells are packed in place when dst is aligned for floats
 * (the section's offset in the stream need not be), else through one
 * scratch buffer the size of the largest piece. */
static bool pk_fill(const Pk *pk, uint8_t *dst) {
  uint64_t done = 0;
  float *scratch = NULL;
  size_t scratch_bytes = 0;
  bool ok = true;
  for (size_t i = 0; i < pk->n && ok; i++) {
    const PkJob *j = &pk->job[i];
    memset(dst + done, 0, (size_t)(j->at - done));
    done = j->at + j->bytes;
    if (j->blob) {
      if (j->bytes) memcpy(dst + j->at, j->blob, j->bytes);
      continue;
    }
    int64_t *offsets = xmalloc(sizeof(int64_t) * (size_t)(j->pp.ncells + 1));
    if (!offsets) {
      ok = false;
      break;
    }
    tp_pack_offsets(&j->wa, &j->pp, j->bound, offsets, INT64_MAX);
    float *cells = (float *)(void *)(dst + j->at);
    bool direct = (uintptr_t)cells % _Alignof(float) == 0;
    if (!direct && scratch_bytes < j->bytes + sizeof(float)) {
      xfree(scratch);
      scratch_bytes = j->bytes + sizeof(float);
      scratch = xmalloc(scratch_bytes);
      if (!scratch) ok = false;
    }
    if (ok) {
      tp_pack_copy(&j->wa, &j->pp, j->bound, offsets, direct ? cells : scratch, j->rank, j->dims,
                   (float *)j->w, false);
      if (!direct) memcpy(dst + j->at, scratch, j->bytes);
    }
    xfree(offsets);
  }
  if (ok) memset(dst + done, 0, (size_t)(pk->size - done));
  xfree(scratch);
  return ok;
}

static void pk_free(Pk *pk) {
  xfree(pk->job);
  pk->job = NULL;
  pk->n = pk->cap = 0;
}

/* Plans the packing of the weights w (float32, dense) of a mapped layer as
 * the cells of the tile plan, a piece of pk (written by pk_fill), and writes
 * the WPACK command; false if out of memory or the cells would outnumber
 * the weights. */
static bool put_wpack(Buf *b, Pk *pk, uint64_t pk_base, const Nest *n, const Module *mod,
                      uint32_t tensor, const float *w, const TpLoop *loop, int nloops, int pw,
                      int64_t full[ACCEL_MAX_LEVELS + 1][NDIMS]) {
  TpAcc wa_, *wa = &wa_;
  tp_acc(n, mac_access(n, TENSOR_W), wa);
  const NTensor *T = &mod->tensors[tensor];
  Problem pr;
  if (!nest_problem(n, &pr)) return false; /* choose_packed checked it */
  const int64_t *bound = pr.dim;
  int64_t numel = 1;
  for (int k = 0; k < T->rank; k++) numel *= T->dims[k];
  TpPack pp;
  if (!tp_pack_plan(wa, loop, nloops, pw, full, bound, numel, &pp)) return false;
  int64_t *offsets = xmalloc(sizeof(int64_t) * (size_t)(pp.ncells + 1));
  int64_t words = offsets ? tp_pack_offsets(wa, &pp, bound, offsets, INT64_MAX) : -1;
  xfree(offsets);
  PkJob *j = words >= 0 ? pk_add(pk, sizeof(float) * (size_t)words) : NULL;
  if (!j) return false;
  j->w = w;
  j->wa = *wa;
  j->pp = pp;
  memcpy(j->bound, bound, sizeof j->bound);
  j->rank = T->rank;
  j->dims = T->dims;
  size_t r = rec_begin(b, CMD_WPACK);
  put8(b, (uint8_t)pw);
  put8(b, (uint8_t)pp.n);
  put16(b, 0);
  put32(b, tensor);
  put64(b, pk_base + j->at);
  put64(b, (uint64_t)j->bytes);
  for (int j2 = 0; j2 < NDIMS; j2++) put8(b, j2 < pp.n ? pp.order[j2] : 0);
  rec_end(b, r);
  return true;
}

/* The mapping of one mac nest: loops, tiles, the weight cells (when its
 * weights are packed: w not NULL), the kernel. */
static bool emit_mapping(Buf *b, Pk *pk, uint64_t pk_base, const Nest *n, const Module *mod,
                         const Mapping *m, const float *w, CmdStats *st) {
  TpLoop loop[TP_MAX_LOOPS];
  int nloops = 0;
  /* Loops, outermost first: level temporal (in order), then spatial z, y, x. */
  for (int l = 0; l < m->nlevels; l++) {
    const LevelMapping *lm = &m->level[l];
    for (int i = 0; i < NDIMS; i++) {
      int dd = lm->order[i];
      if (lm->factor[dd] <= 1) continue;
      loop[nloops++] =
          (TpLoop){(uint8_t)l, 0, (uint8_t)dd, lm->factor[dd], mapping_residual(lm, dd), 0};
    }
    for (int x = ACCEL_MAX_AXES - 1; x >= 0; x--)
      for (int i = 0; i < NDIMS; i++) {
        int dd = lm->spatial_order[x][i];
        if (lm->spatial[x][dd] <= 1) continue;
        loop[nloops++] = (TpLoop){(uint8_t)l,         (uint8_t)(1 + x),   (uint8_t)dd,
                                  lm->spatial[x][dd], lm->spatial[x][dd], 0};
      }
  }
  for (int i = 0; i < nloops; i++) {
    size_t r = rec_begin(b, CMD_LOOP);
    put8(b, loop[i].level);
    put8(b, loop[i].axis);
    put8(b, loop[i].dim);
    put8(b, 0);
    put64(b, (uint64_t)loop[i].f);
    put64(b, (uint64_t)loop[i].r);
    rec_end(b, r);
    st->commands++;
  }
  int64_t full[ACCEL_MAX_LEVELS + 1][NDIMS], resid[ACCEL_MAX_LEVELS + 1][NDIMS];
  tp_extents(loop, nloops, m->nlevels, full, resid);
  uint8_t keep[ACCEL_MAX_LEVELS] = {0};
  /* Tiles: the loads of every kept tensor at every level below DRAM, and
   * the stores of outputs back. */
  for (int l = 1; l < m->nlevels; l++) {
    keep[l] = m->level[l].keep;
    for (int t = 0; t < NTENSORS; t++) {
      if (!(m->level[l].keep >> t & 1)) continue;
      put_tile(b, CMD_LOAD, l, t, n, mod, full[l]);
      st->commands++;
      if (t == TENSOR_O) {
        put_tile(b, CMD_STORE, l, t, n, mod, full[l]);
        st->commands++;
      }
    }
  }
  int lc = tp_compute_level(full, m->nlevels);
  if (w) {
    const Access *wa = mac_access(n, TENSOR_W);
    if (!put_wpack(b, pk, pk_base, n, mod, wa->tensor, w, loop, nloops, tp_wfetch_level(keep, lc),
                   full))
      return false;
    st->commands++;
  }
  put_kernel(b, n, lc, keep, full, &st->kernels);
  st->commands += 2;
  return true;
}

/* Weights packed in their layer's cells: float32 weights read by exactly
 * one access of the module, the W operand of a mapped mac nest on an arch
 * with on-chip levels.  Sets packed[t]. */
static void choose_packed(const Module *mod, const Arch *a, bool *packed) {
  uint32_t *uses = xcalloc(mod->ntensors + 1, sizeof *uses);
  if (!uses) return; /* nothing packed: the dense layout is always valid */
  for (uint32_t i = 0; i < mod->nnests; i++)
    for (int k = 0; k < mod->nests[i].nacc; k++) uses[mod->nests[i].acc[k].tensor]++;
  for (uint32_t i = 0; i < mod->nnests && a->nlevels > 1; i++) {
    const Nest *n = &mod->nests[i];
    Problem pr;
    if (!n->map || !nest_problem(n, &pr)) continue;
    const NestGroup *fg = module_group_of(mod, i);
    if (fg && fg->g.mode == SCHED_DEPTH) continue; /* its tile layers read the weights too */
    const Access *wa = mac_access(n, TENSOR_W);
    if (!wa || wa->ix != IX_AFFINE || wa->tensor >= mod->ntensors) continue;
    const NTensor *T = &mod->tensors[wa->tensor];
    if (T->role == TR_WEIGHT && T->dtype == DT_F32 && uses[wa->tensor] == 1)
      packed[wa->tensor] = true;
  }
  xfree(uses);
}

/* The home level of fused group fg on a: its index, or 0 (reported). */
static int group_home(const Module *mod, const NestGroup *fg, const Arch *a, Diag *d) {
  const char *w = nest_group_where(mod, fg);
  for (int l = 1; l < a->nlevels; l++)
    if (!a->level[l].is_dram && strcmp(a->level[l].name, fg->home) == 0) return l;
  diag_error(d, w, "'%s' has no on-chip level '%s'", a->name, fg->home);
  return 0;
}

/* CMD_RESIDE's flags for nest n of group fg: a mac nest's resident I and
 * O; every nest of a depth-first group CMD_RES_DEPTH (its tile layers run
 * in its place). */
static uint8_t reside_flags(const NestGroup *fg, const Nest *n) {
  uint8_t f = fg->g.mode == SCHED_DEPTH ? CMD_RES_DEPTH : 0;
  if (n->kind != NK_MAC || !n->map) return f;
  const Access *ia = mac_access(n, TENSOR_I), *oa = mac_access(n, TENSOR_O);
  for (int r = 0; r < fg->nres; r++) {
    if (ia && fg->res[r].tensor == ia->tensor) f |= CMD_RES_I;
    if (oa && fg->res[r].tensor == oa->tensor)
      f |= CMD_RES_O | (fg->res[r].how == RES_COPY_OUT ? CMD_RES_COPY_OUT : 0);
  }
  return f;
}

static void put_iv(Buf *b, TpIv v) {
  put64(b, (uint64_t)v.lo);
  put64(b, (uint64_t)v.hi);
}

/* The tile layers of depth-first group fg (docs/cmd-format.md, "Depth-first
 * groups"): per step of its plan (tp_depth_plan), the nest cut down to the
 * step's rectangle, CMD_TILE, and the nest's mapping shrunk to it (weights
 * dense: a depth-first nest's weights are never packed).  owner[k - first]
 * is the stream index of nest k's own layer; *nlayer counts the layers. */
static Rc emit_depth_group(Buf *b, Pk *pk, uint64_t pk_base, const Module *mod, const NestGroup *fg,
                           int home, const int *owner, int *nlayer, CmdStats *st, Diag *d) {
  TpDfStep *steps = NULL;
  int64_t ns = 0;
  const char *why = NULL;
  Rc rc = tp_depth_plan(mod, fg, &steps, &ns, &why);
  if (rc != RC_OK) {
    diag_error(d, nest_group_where(mod, fg), "this depth-first group cannot run tile by tile: %s",
               why);
    return rc;
  }
  for (int64_t i = 0; i < ns; i++) {
    const TpDfStep *s = &steps[i];
    const Nest *n = &mod->nests[s->nest];
    Nest tn;
    int64_t rows = s->comp[0].hi - s->comp[0].lo, cols = s->comp[1].hi - s->comp[1].lo;
    if (rows <= 0 || cols <= 0 || !tp_tile_nest(n, s->comp[0].lo, rows, s->comp[1].lo, cols, &tn)) {
      /* The cost model can give a tile copies but nothing new to compute
       * (a cached policy); the stream has no layer to carry them yet. */
      diag_error(d, nest_group_where(mod, fg),
                 "nest '%s', tile %lld: copies without anything to compute, which the command "
                 "stream does not carry yet",
                 n->name, (long long)s->tile);
      rc = RC_BADINPUT;
      break;
    }
    /* ir's rule (nest_runs_tiled), the one the schedule search follows for
     * a command stream: refused here by name all the same. */
    if (!nest_runs_tiled(mod, n)) {
      if (n->kind == NK_MAC && n->map) /* rt_qmac_run widens and requantizes whole tensors */
        diag_error(d, nest_group_where(mod, fg),
                   "nest '%s' (an integer mac layer) cannot run tile by tile in a depth-first "
                   "group yet: the runtime requantizes its whole output",
                   n->name);
      else
        diag_error(d, nest_group_where(mod, fg),
                   "nest '%s' (%s) cannot run tile by tile in a depth-first group: the runtime "
                   "runs tiles of mapped mac nests, element-wise ops, moves, pooling and "
                   "whole-dim reductions such as a softmax",
                   n->name, n->kind == NK_MAC ? "an unmapped mac nest" : vop_name(n->vop));
      rc = RC_BADINPUT;
      break;
    }
    bool mac = n->kind == NK_MAC && n->map;
    size_t r = rec_begin(b, CMD_LAYER);
    put_nest(b, &tn);
    rec_end(b, r);
    size_t q = rec_begin(b, CMD_TILE);
    put32(b, (uint32_t)owner[s->nest - fg->g.first]);
    put8(b, (uint8_t)home);
    put8(b, mac ? (uint8_t)(CMD_RES_I | CMD_RES_O | (fg->g.weights_home ? CMD_RES_W : 0)) : 0);
    put16(b, 0);
    put64(b, (uint64_t)s->tile);
    put64(b, (uint64_t)s->comp[0].lo);
    put64(b, (uint64_t)s->comp[1].lo);
    put_iv(b, s->cin[0]);
    put_iv(b, s->cin[1]);
    put_iv(b, s->cout[0]);
    put_iv(b, s->cout[1]);
    put8(b, s->wcopy);
    for (int k = 0; k < 7; k++) put8(b, 0);
    rec_end(b, q);
    (*nlayer)++;
    st->layers++;
    st->commands += 4;
    if (mac) {
      /* The problem dims of its output's rows and columns: P and Q, or an
       * attention matmul's N (query rows) and K (the cost model's tdim). */
      Mapping mp;
      int rd, cd;
      tp_row_col_dims(n, &rd, &cd);
      mapping_shrink_dims(&n->map->m, (Dim)n->dims[rd].dim, rows, (Dim)n->dims[cd].dim, cols, &mp);
      st->mac_layers++;
      if (!emit_mapping(b, pk, pk_base, &tn, mod, &mp, NULL, st)) {
        rc = RC_INTERNAL;
        break;
      }
    } else {
      size_t v = rec_begin(b, CMD_VECOP);
      rec_end(b, v);
    }
    size_t sy = rec_begin(b, CMD_SYNC);
    rec_end(b, sy);
    size_t e = rec_begin(b, CMD_END);
    rec_end(b, e);
  }
  xfree(steps);
  if (rc == RC_INTERNAL) diag_error(d, NULL, "out of memory writing the command stream");
  return rc;
}

Rc cmd_emit(const Module *mod, const Model *g, const Arch *a, uint8_t **out, size_t *outlen,
            CmdStats *st, Diag *d) {
  Buf b = {0};
  for (uint32_t k = 0; k < mod->ngroups; k++)
    if (!group_home(mod, &mod->groups[k], a, d)) return RC_BADINPUT;
  TensorId *extra = NULL;
  int *owner = NULL;
  CmdStats local;
  if (!st) st = &local;
  memset(st, 0, sizeof *st);
  *out = NULL;
  *outlen = 0;
  uint8_t archb[CMDF_ARCH_MAX];
  size_t archn = cmdf_arch_bytes(a, archb, sizeof archb);
  if (!archn) {
    diag_error(d, NULL, "architecture '%s' cannot be written to a command stream", a->name);
    return RC_BADINPUT;
  }
  /* Weight data by module tensor: found in the graph by name. */
  const void **wdata = xcalloc(mod->ntensors + 1, sizeof *wdata);
  uint64_t *woff = xcalloc(mod->ntensors + 1, sizeof *woff);
  bool *packed = xcalloc(mod->ntensors + 1, sizeof *packed);
  Pk pk = {0};
  if (!wdata || !woff || !packed) goto oom;
  for (uint32_t t = 1; t < mod->ntensors; t++) {
    const NTensor *T = &mod->tensors[t];
    if (T->role != TR_WEIGHT) continue;
    TensorId gt = g ? model_find_tensor(g, T->name) : 0;
    if (!gt || !g->tensors[gt].data) {
      diag_error(d, NULL, "weight '%s' has no data (a model without weights, or --no-weights)",
                 T->name);
      xfree(wdata);
      xfree(woff);
      xfree(packed);
      return RC_BADINPUT;
    }
    if (!dtype_size(T->dtype)) {
      diag_error(d, NULL, "weight '%s' has element type %s, which the runtime cannot hold", T->name,
                 dtype_name(T->dtype));
      xfree(wdata);
      xfree(woff);
      xfree(packed);
      return RC_BADINPUT;
    }
    wdata[t] = g->tensors[gt].data;
  }
  for (uint32_t i = 0; i < mod->nnests; i++) {
    const Nest *n = &mod->nests[i];
    double points = 1; /* the runtime refuses a layer of more (docs/cmd-format.md) */
    for (int k = 0; k < n->ndims; k++) points *= (double)n->dims[k].bound;
    if (points > (double)(INT64_C(1) << 40)) {
      diag_error(d, n->loc,
                 "layer '%s' walks %.3g points, more than the 2^40 a command stream may hold",
                 n->name, points);
      xfree(wdata);
      xfree(woff);
      xfree(packed);
      return RC_BADINPUT;
    }
    /* What the runtime executes of a mac layer (runtime/load.c): f32, f16
     * or bf16 operands, or an integer mac layer (nest_mac_int_types). */
    static const Role mac_roles[] = {ROLE_I, ROLE_W, ROLE_O, ROLE_B};
    for (int k = 0; n->kind == NK_MAC && k < 4 && !nest_mac_int_types(mod, n); k++) {
      const Access *ac = nest_access(n, mac_roles[k]);
      DType t = ac ? mod->tensors[ac->tensor].dtype : DT_F32;
      if (t != DT_F32 && t != DT_F16 && t != DT_BF16) {
        diag_error(d, n->loc,
                   "layer '%s': a mac layer with %s operands; the command stream carries f32, f16 "
                   "or bf16 ones, or u8/i8 inputs and weights summed into i32 (or requantized to "
                   "u8/i8) with an i32 bias",
                   n->name, dtype_name(t));
        xfree(wdata);
        xfree(woff);
        xfree(packed);
        return RC_BADINPUT;
      }
    }
    if (n->map && strcmp(n->map->target, a->name) != 0) {
      diag_error(d, n->loc, "layer '%s' is mapped on '%s', the stream is for '%s'", n->name,
                 n->map->target, a->name);
      xfree(wdata);
      xfree(woff);
      xfree(packed);
      return RC_BADINPUT;
    }
  }
  choose_packed(mod, a, packed);

  /* Graph outputs the import folded to constants are in no nest: they go
   * into the stream as outputs with their values. */
  uint32_t nextra = 0;
  extra = g ? xcalloc(g->noutputs + 1, sizeof *extra) : NULL;
  for (uint32_t i = 0; g && extra && i < g->noutputs; i++) {
    const Tensor *T = &g->tensors[g->outputs[i]];
    if (T->kind == TK_CONST && T->data && dtype_size(T->dtype) && !module_find_tensor(mod, T->name))
      extra[nextra++] = g->outputs[i];
  }
  if (g && !extra) goto oom;

  /* Header (patched at the end), arch. */
  for (int i = 0; i < CMDF_HEADER_BYTES; i++) put8(&b, 0);
  size_t arch_off = b.n;
  put(&b, archb, archn);
  /* Tensors. */
  size_t tens_off = b.n;
  put32(&b, mod->ntensors - 1 + nextra);
  uint64_t wbytes = 0;
  for (uint32_t t = 1; t < mod->ntensors; t++) {
    const NTensor *T = &mod->tensors[t];
    putstr(&b, T->name);
    put8(&b, (uint8_t)T->dtype);
    put8(&b, (uint8_t)T->role);
    put8(&b, (uint8_t)T->rank);
    put8(&b, packed[t]);
    int64_t numel = 1;
    for (int k = 0; k < T->rank; k++) put64(&b, (uint64_t)T->dims[k]), numel *= T->dims[k];
    uint64_t len = wdata[t] && !packed[t] ? (uint64_t)numel * dtype_size(T->dtype) : 0;
    woff[t] = wbytes;
    put64(&b, len ? wbytes : 0);
    put64(&b, len);
    wbytes += (len + 63) / 64 * 64;
  }
  for (uint32_t i = 0; i < nextra; i++) {
    const Tensor *T = &g->tensors[extra[i]];
    putstr(&b, T->name);
    put8(&b, (uint8_t)T->dtype);
    put8(&b, (uint8_t)TR_OUTPUT);
    put8(&b, (uint8_t)T->rank);
    put8(&b, 0);
    for (int k = 0; k < T->rank; k++) put64(&b, (uint64_t)T->dims[k]);
    uint64_t len = (uint64_t)tensor_numel(T) * dtype_size(T->dtype);
    put64(&b, wbytes);
    put64(&b, len);
    wbytes += (len + 63) / 64 * 64;
  }
  size_t tens_len = b.n - tens_off;
  /* Commands. */
  size_t cmds_off = b.n;
  int nlayer = 0;    /* layers written so far: the next one's index */
  uint32_t most = 1; /* the largest group's nests */
  for (uint32_t k = 0; k < mod->ngroups; k++)
    if (mod->groups[k].g.last - mod->groups[k].g.first + 1 > most)
      most = mod->groups[k].g.last - mod->groups[k].g.first + 1;
  owner = xcalloc(most, sizeof *owner); /* a depth-first group's nests' layers */
  if (!owner) goto oom;
  for (uint32_t i = 0; i < mod->nnests; i++) {
    const Nest *n = &mod->nests[i];
    size_t r = rec_begin(&b, CMD_LAYER);
    put_nest(&b, n);
    rec_end(&b, r);
    st->layers++;
    st->commands += 3;
    const NestGroup *fg = module_group_of(mod, i);
    int home = fg ? group_home(mod, fg, a, d) : 0;
    if (fg) {
      size_t q = rec_begin(&b, CMD_RESIDE);
      put8(&b, (uint8_t)home);
      put8(&b, reside_flags(fg, n));
      put16(&b, 0);
      put32(&b, (uint32_t)(fg - mod->groups) + 1);
      rec_end(&b, q);
      st->commands++;
      if (fg->g.mode == SCHED_DEPTH) owner[i - fg->g.first] = nlayer;
    }
    nlayer++;
    if (n->kind == NK_MAC && n->map) {
      st->mac_layers++;
      const Access *wa = mac_access(n, TENSOR_W);
      const float *w = wa && packed[wa->tensor] ? wdata[wa->tensor] : NULL;
      if (!emit_mapping(&b, &pk, wbytes, n, mod, &n->map->m, w, st)) goto oom;
    } else {
      size_t v = rec_begin(&b, CMD_VECOP);
      if (n->vop == VOP_HOST && n->host_blob) { /* the node, in the weight section */
        PkJob *j = pk_add(&pk, n->host_blob_len);
        if (!j) goto oom;
        j->blob = n->host_blob;
        put64(&b, wbytes + j->at);
        put64(&b, n->host_blob_len);
      }
      rec_end(&b, v);
    }
    size_t s = rec_begin(&b, CMD_SYNC);
    rec_end(&b, s);
    size_t e = rec_begin(&b, CMD_END);
    rec_end(&b, e);
    if (fg && fg->g.mode == SCHED_DEPTH && i == fg->g.last) {
      Rc rc = emit_depth_group(&b, &pk, wbytes, mod, fg, home, owner, &nlayer, st, d);
      if (rc != RC_OK) {
        xfree(wdata);
        xfree(woff);
        xfree(packed);
        pk_free(&pk);
        xfree(extra);
        xfree(b.p);
        xfree(owner);
        return rc;
      }
    }
  }
  size_t cmds_len = b.n - cmds_off;
  /* Weights, 64-byte aligned within their section. */
  size_t wstart = b.n;
  for (uint32_t t = 1; t < mod->ntensors; t++) {
    if (!wdata[t] || packed[t]) continue;
    const NTensor *T = &mod->tensors[t];
    int64_t numel = 1;
    for (int k = 0; k < T->rank; k++) numel *= T->dims[k];
    size_t len = (size_t)numel * dtype_size(T->dtype);
    while (b.n - wstart < woff[t]) put8(&b, 0);
    put(&b, wdata[t], len);
  }
  for (uint32_t i = 0; i < nextra; i++) {
    const Tensor *T = &g->tensors[extra[i]];
    while ((b.n - wstart) % 64) put8(&b, 0);
    put(&b, T->data, (size_t)tensor_numel(T) * dtype_size(T->dtype));
  }
  while (b.n - wstart < wbytes) put8(&b, 0);
  /* The packed weights follow, their offsets counted from wbytes. */
  uint8_t *pdst = reserve(&b, (size_t)pk.size + 1);
  if (!pdst || !pk_fill(&pk, pdst)) goto oom;
  b.n += (size_t)pk.size;
  wbytes += pk.size;
  if (b.oom || pk.oom) goto oom;
  memcpy(b.p, CMDF_MAGIC, 8);
  b.p[8] = CMDF_VERSION, b.p[9] = b.p[10] = b.p[11] = 0;
  b.p[12] = CMDF_HEADER_BYTES, b.p[13] = b.p[14] = b.p[15] = 0;
  set64(&b, 16, cmdf_hash(archb, archn));
  set64(&b, 24, arch_off);
  set64(&b, 32, archn);
  set64(&b, 40, tens_off);
  set64(&b, 48, tens_len);
  set64(&b, 56, cmds_off);
  set64(&b, 64, cmds_len);
  set64(&b, 72, wbytes);
  st->bytes = b.n;
  st->cmd_bytes = cmds_len;
  st->weight_bytes = wbytes;
  xfree(wdata);
  xfree(woff);
  xfree(packed);
  pk_free(&pk);
  xfree(extra);
  xfree(owner);
  *out = b.p;
  *outlen = b.n;
  return RC_OK;
oom:
  xfree(owner);
  xfree(wdata);
  xfree(woff);
  xfree(packed);
  pk_free(&pk);
  xfree(extra);
  xfree(b.p);
  diag_error(d, NULL, "out of memory writing the command stream");
  return RC_INTERNAL;
}
