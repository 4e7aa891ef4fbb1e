/*
 * cmd_emit.c: the command stream writer (docs/cmd-format.md).  From a
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
 * get CMD_VECOP.  So the stream grows with the number of loops, never with
 * the number of iterations.
 *
 * Invariants: the output is deterministic (same inputs, same bytes);
 * nothing is written through d unless the call fails.
 */
#include <stdlib.h>
#include <string.h>

#include "nest.h"
#include "backend.h"
#include "cmdfmt.h"
#include "kernel.h"

typedef struct {
  uint8_t *p;
  size_t n, cap;
  bool oom;
} Buf;

static void put(Buf *b, const void *src, size_t n) {
  if (b->oom) return;
  if (b->n + n > b->cap) {
    size_t c = b->cap ? b->cap : 4096;
    while (c < b->n + n) c *= 2;
    uint8_t *q = xrealloc(b->p, c);
    if (!q) {
      b->oom = true;
      return;
    }
    b->p = q, b->cap = c;
  }
  memcpy(b->p + b->n, src, n);
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

static void put_nest(Buf *b, const Nest *n) {
  putstr(b, n->name);
  putstr(b, n->vop);
  put8(b, (uint8_t)n->kind);
  put8(b, (uint8_t)n->ndims);
  put8(b, (uint8_t)n->nacc);
  put8(b, n->has_bias);
  put8(b, (uint8_t)n->act);
  put8(b, n->map != NULL);
  put16(b, 0);
  putf(b, n->act_alpha);
  putf(b, n->act_beta);
  for (int i = 0; i < 4; i++) putf(b, n->fparam[i]);
  for (int i = 0; i < 4; i++) put64(b, (uint64_t)n->iparam[i]);
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
    put8(b, (uint8_t)ac->rank);
    size_t len = ac->role ? strlen(ac->role) : 0;
    if (len > 31) len = 31;
    put8(b, (uint8_t)len);
    put(b, ac->role, len);
    if (ac->ix != IX_AFFINE) continue;
    for (int k = 0; k < ac->rank; k++) {
      for (int d = 0; d < NEST_MAX_DIMS; d++) put64(b, (uint64_t)ac->idx[k].coef[d]);
      put64(b, (uint64_t)ac->idx[k].cst);
      put64(b, (uint64_t)ac->pad_lo[k]);
      put64(b, (uint64_t)ac->pad_hi[k]);
    }
  }
}

/* Nest dim index (N G K C P Q R S order of the IR) of an accel DIM_*. */
static const int nest_dim_of[NDIMS] = {1, 0, 2, 3, 4, 5, 6, 7}; /* G N K C P Q R S -> nest */

/* The access of a mac nest for an accel tensor, or NULL. */
static const Access *mac_access(const Nest *n, int t) {
  const char *role = t == TENSOR_W ? "W" : t == TENSOR_I ? "I" : "O";
  for (int a = 0; a < n->nacc; a++)
    if (n->acc[a].role && strcmp(n->acc[a].role, role) == 0) return &n->acc[a];
  return NULL;
}

/* Extents of level l's tile per accel dim (the product of the factors at
 * levels >= l, and of the spatial factors below l). */
static void tile_extent(const Mapping *m, int l, int64_t ext[NDIMS]) {
  for (int d = 0; d < NDIMS; d++) {
    ext[d] = 1;
    for (int k = l; k < m->nlevels; k++) {
      ext[d] *= m->level[k].factor[d];
      for (int x = 0; x < ACCEL_MAX_AXES; x++) ext[d] *= m->level[k].spatial[x][d];
    }
  }
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
      for (int dd = 0; dd < NDIMS; dd++) {
        int64_t c = ac->idx[k].coef[nest_dim_of[dd]];
        size += (c < 0 ? -c : c) * (ext[dd] - 1);
      }
    }
    put64(b, (uint64_t)size);
    put64(b, (uint64_t)strides[k]);
    put64(b, (uint64_t)(ac->ix == IX_AFFINE ? ac->pad_lo[k] : 0));
    put64(b, (uint64_t)(ac->ix == IX_AFFINE ? ac->pad_hi[k] : 0));
  }
  rec_end(b, r);
}

/* The kernel of a compute tile of extents ext: one loop per accel dim of
 * extent > 1 in the order C R S G N K P Q, element strides of the dense
 * local tiles (outputs O[n,g,k,p,q], inputs I[n,g,c,h,w], weights W[g,k,c,r,s]
 * in the bounding-box layout of docs/cmd-format.md). */
static void put_kernel(Buf *b, const Nest *n, const Mapping *m, int l, const int64_t ext[NDIMS],
                       const Module *mod, uint32_t *nkernels) {
  TileKernel k;
  memset(&k, 0, sizeof k);
  int64_t lstride[KOP_N][NDIMS];
  memset(lstride, 0, sizeof lstride);
  static const int tens[KOP_N] = {TENSOR_O, TENSOR_I, TENSOR_W};
  for (int op = 0; op < KOP_N; op++) {
    const Access *ac = mac_access(n, tens[op]);
    if (!ac || ac->ix != IX_AFFINE) continue;
    int rank = mod->tensors[ac->tensor].rank;
    int64_t size[NAASC_MAX_RANK], s = 1;
    for (int q = 0; q < rank; q++) {
      size[q] = 1;
      for (int dd = 0; dd < NDIMS; dd++) {
        int64_t c = ac->idx[q].coef[nest_dim_of[dd]];
        size[q] += (c < 0 ? -c : c) * (ext[dd] - 1);
      }
    }
    for (int q = rank - 1; q >= 0; q--) {
      for (int dd = 0; dd < NDIMS; dd++) lstride[op][dd] += ac->idx[q].coef[nest_dim_of[dd]] * s;
      s *= size[q];
    }
  }
  /* Loop order: the reduction dims outermost, the output dims inside them
   * with Q (unit stride in O) innermost, so the innermost loop runs across
   * outputs and vectorizes (the runtime derives the same order). */
  static const uint8_t order[NDIMS] = {DIM_C, DIM_R, DIM_S, DIM_G, DIM_N, DIM_K, DIM_P, DIM_Q};
  (void)m;
  for (int i = 0; i < NDIMS; i++) {
    int dd = order[i];
    if (ext[dd] <= 1) continue;
    k.bound[k.nloops] = ext[dd];
    for (int op = 0; op < KOP_N; op++) k.stride[op][k.nloops] = lstride[op][dd];
    k.nloops++;
  }
  if (k.nloops == 0) k.bound[k.nloops++] = 1;
  size_t r = rec_begin(b, CMD_KERNEL);
  put32(b, (uint32_t)k.nloops);
  for (int i = 0; i < k.nloops; i++) {
    put64(b, (uint64_t)k.bound[i]);
    for (int op = 0; op < KOP_N; op++) put64(b, (uint64_t)k.stride[op][i]);
  }
  rec_end(b, r);
  size_t c = rec_begin(b, CMD_COMPUTE);
  put8(b, (uint8_t)l);
  put8(b, 0);
  put16(b, 0);
  put32(b, (*nkernels)++);
  rec_end(b, c);
}

static void emit_mapping(Buf *b, const Nest *n, const Module *mod, const Mapping *m, CmdStats *st) {
  /* Loops, outermost first: level temporal (in order), then spatial z, y, x. */
  for (int l = 0; l < m->nlevels; l++) {
    const LevelMapping *lm = &m->level[l];
    for (int i = 0; i < NDIMS; i++) {
      int dd = lm->order[i];
      if (lm->factor[dd] <= 1) continue;
      size_t r = rec_begin(b, CMD_LOOP);
      put8(b, (uint8_t)l);
      put8(b, 0);
      put8(b, (uint8_t)dd);
      put8(b, 0);
      put64(b, (uint64_t)lm->factor[dd]);
      put64(b, (uint64_t)mapping_residual(lm, dd));
      rec_end(b, r);
      st->commands++;
    }
    for (int x = ACCEL_MAX_AXES - 1; x >= 0; x--)
      for (int i = 0; i < NDIMS; i++) {
        int dd = lm->spatial_order[x][i];
        if (lm->spatial[x][dd] <= 1) continue;
        size_t r = rec_begin(b, CMD_LOOP);
        put8(b, (uint8_t)l);
        put8(b, (uint8_t)(1 + x));
        put8(b, (uint8_t)dd);
        put8(b, 0);
        put64(b, (uint64_t)lm->spatial[x][dd]);
        put64(b, (uint64_t)lm->spatial[x][dd]);
        rec_end(b, r);
        st->commands++;
      }
  }
  /* Tiles: the loads of every kept tensor at every level below DRAM, and
   * the stores of outputs back. */
  for (int l = 1; l < m->nlevels; l++) {
    int64_t ext[NDIMS];
    tile_extent(m, l, ext);
    for (int t = 0; t < NTENSORS; t++) {
      if (!(m->level[l].keep >> t & 1)) continue;
      put_tile(b, CMD_LOAD, l, t, n, mod, ext);
      st->commands++;
      if (t == TENSOR_O) {
        put_tile(b, CMD_STORE, l, t, n, mod, ext);
        st->commands++;
      }
    }
  }
  /* The compute tile: level 1's (the first on-chip level), or the whole
   * layer on a one-level arch. */
  int lc = m->nlevels > 1 ? 1 : 0;
  int64_t ext[NDIMS];
  tile_extent(m, lc, ext);
  put_kernel(b, n, m, lc, ext, mod, &st->kernels);
  st->commands += 2;
}

Rc cmd_emit(const Module *mod, const Model *g, const Arch *a, uint8_t **out, size_t *outlen,
            CmdStats *st, Diag *d) {
  Buf b = {0};
  TensorId *extra = NULL;
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
  if (!wdata || !woff) goto oom;
  for (uint32_t t = 1; t < mod->ntensors; t++) {
    const NTensor *T = &mod->tensors[t];
    if (T->role != TR_WEIGHT) continue;
    TensorId gt = g ? model_find_tensor(g, T->name) : 0;
    if (!gt || !g->tensors[gt].data) {
      diag_error(d, NULL, "weight '%s' has no data (a model without weights, or --no-weights)",
                 T->name);
      xfree(wdata);
      xfree(woff);
      return RC_BADINPUT;
    }
    if (!dtype_size(T->dtype)) {
      diag_error(d, NULL, "weight '%s' has element type %s, which the runtime cannot hold",
                 T->name, dtype_name(T->dtype));
      xfree(wdata);
      xfree(woff);
      return RC_BADINPUT;
    }
    wdata[t] = g->tensors[gt].data;
  }
  for (uint32_t i = 0; i < mod->nnests; i++) {
    const Nest *n = &mod->nests[i];
    if (n->map && strcmp(n->map->target, a->name) != 0) {
      diag_error(d, n->loc, "layer '%s' is mapped on '%s', the stream is for '%s'", n->name,
                 n->map->target, a->name);
      xfree(wdata);
      xfree(woff);
      return RC_BADINPUT;
    }
  }

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
    put8(&b, 0);
    int64_t numel = 1;
    for (int k = 0; k < T->rank; k++) put64(&b, (uint64_t)T->dims[k]), numel *= T->dims[k];
    uint64_t len = wdata[t] ? (uint64_t)numel * dtype_size(T->dtype) : 0;
    woff[t] = wbytes;
    put64(&b, wdata[t] ? wbytes : 0);
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
  for (uint32_t i = 0; i < mod->nnests; i++) {
    const Nest *n = &mod->nests[i];
    size_t r = rec_begin(&b, CMD_LAYER);
    put_nest(&b, n);
    rec_end(&b, r);
    st->layers++;
    st->commands += 3;
    if (n->kind == NK_MAC && n->map) {
      st->mac_layers++;
      emit_mapping(&b, n, mod, &n->map->m, st);
    } else {
      size_t v = rec_begin(&b, CMD_VECOP);
      rec_end(&b, v);
    }
    size_t s = rec_begin(&b, CMD_SYNC);
    rec_end(&b, s);
    size_t e = rec_begin(&b, CMD_END);
    rec_end(&b, e);
  }
  size_t cmds_len = b.n - cmds_off;
  /* Weights, 64-byte aligned within their section. */
  size_t wstart = b.n;
  for (uint32_t t = 1; t < mod->ntensors; t++) {
    if (!wdata[t]) continue;
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
  if (b.oom) goto oom;
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
  xfree(extra);
  *out = b.p;
  *outlen = b.n;
  return RC_OK;
oom:
  xfree(wdata);
  xfree(woff);
  xfree(extra);
  xfree(b.p);
  diag_error(d, NULL, "out of memory writing the command stream");
  return RC_INTERNAL;
}
