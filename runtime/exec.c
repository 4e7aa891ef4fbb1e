/*
 * exec.c: runs a loaded program.  Vector, move and view layers go to the
 * reference interpreter (interp.c).  A mac layer runs tiled: the loops
 * outside its compute level walk the layer (remainders included: a loop
 * runs r iterations when every enclosing loop over its dim is last), and
 * each compute tile gathers its I, W and O tiles from DRAM into dense local
 * buffers (the bounding box of each access over the tile, padding read as
 * zeros), runs the tile's kernel (compiled by the injected provider and
 * called through libffi, or kernel_ref, runtime/kernel.h), and writes the
 * in-bounds part of O back.  The
 * epilogue (bias, Gemm's alpha/beta, activation) runs once all tiles are
 * done.  Counting (count.c) follows the same loops level by level.
 *
 * Invariants: the program passed rt_load, so every tile stays inside its
 * tensor or padding and every kernel index inside its local buffer.
 */
#include <inttypes.h>
#include <string.h>

#include "kernel.h" /* runtime/kernel.h: kernel_ref, kernel_call_ffi */
#include "rt.h"

void rt_matmul_whole(const RtTensor *a, const RtTensor *b, float *o); /* interp.c */
void rt_mac_epilogue(const Nest *n, RtTensor *T);                     /* interp.c */

void rt_options_default(RuntimeOptions *o) {
  memset(o, 0, sizeof *o);
  o->count = true;
}

Rc rt_set_input(RtProgram *p, const char *name, DType dt, int rank, const int64_t *dims,
                const void *data, Diag *d) {
  int id = rt_find_tensor(p, name);
  if (!id || p->t[id].role != TR_INPUT) {
    diag_error(d, NULL, "the model has no input '%s'", name);
    return RC_BADINPUT;
  }
  RtTensor *t = &p->t[id];
  bool same = rank == t->rank && dt == t->dtype;
  for (int k = 0; same && k < rank; k++) same = dims[k] == t->dims[k];
  if (!same) {
    diag_error(d, NULL, "input '%s': expected %s with %d dims [%" PRId64 "%s], got %s with %d dims",
               name, dtype_name(t->dtype), t->rank, t->rank ? t->dims[0] : 0, t->rank > 1 ? ",..." : "",
               dtype_name(dt), rank);
    return RC_BADINPUT;
  }
  memcpy(t->data, data, (size_t)t->numel * dtype_size(t->dtype));
  p->bound[id] = true;
  return RC_OK;
}

/* Kernel by value: compiled once per program, or the reference (fn NULL). */
static Rc kernel_get(RtProgram *p, const TileKernel *k, const RuntimeOptions *o, KernelFn *fn, Diag *d) {
  for (int i = 0; i < p->nk; i++)
    if (kernel_equal(&p->kcache[i].k, k)) {
      *fn = p->kcache[i].fn;
      return RC_OK;
    }
  KernelFn f = NULL;
  if (o->compile && !o->no_jit) {
    Rc rc = o->compile(o->compile_ctx, k, &f, d);
    if (rc != RC_OK) return rc;
  }
  if (!ir_grow((void **)&p->kcache, (uint32_t *)&p->capk, (uint32_t)p->nk + 1, sizeof *p->kcache)) {
    diag_error(d, NULL, "out of memory");
    return RC_INTERNAL;
  }
  p->kcache[p->nk].k = *k;
  p->kcache[p->nk++].fn = f;
  *fn = f;
  return RC_OK;
}

typedef struct {
  RtProgram *p;
  RtLayer *L;
  const RuntimeOptions *o;
  Diag *d;
  const Access *acc[3]; /* O, I, W (KOP_* order) */
  RtTensor *ten[3];
  float *buf[3];
  size_t cap[3];
  int64_t full[ACCEL_MAX_LEVELS + 1][NDIMS], resid[ACCEL_MAX_LEVELS + 1][NDIMS];
  int nouter; /* loops outside the compute level */
  Rc rc;
} Exec;

/* Copies the box [base, base+size) of t between DRAM and a dense local
 * buffer; positions outside t read as 0 and are not written back. */
static void box_copy(float *local, RtTensor *t, const int64_t *base, const int64_t *size, bool store) {
  float *src = t->data;
  int r = t->rank;
  if (r == 0) {
    if (store) src[0] = local[0];
    else local[0] = src[0];
    return;
  }
  int64_t x[NAASC_MAX_RANK] = {0};
  int64_t inner = size[r - 1], b = base[r - 1], dim = t->dims[r - 1];
  int64_t lo = b < 0 ? -b : 0, hi = b + inner > dim ? dim - b : inner; /* valid j in [lo, hi) */
  float *lp = local;
  for (;;) {
    bool in = true;
    int64_t off = 0;
    for (int q = 0; q < r - 1; q++) {
      int64_t v = base[q] + x[q];
      if (v < 0 || v >= t->dims[q]) in = false;
      off = off * t->dims[q] + v;
    }
    if (!in || hi <= lo) {
      if (!store) memset(lp, 0, sizeof(float) * (size_t)inner);
    } else {
      float *row = src + off * dim + b;
      if (store) {
        memcpy(row + lo, lp + lo, sizeof(float) * (size_t)(hi - lo));
      } else {
        if (lo) memset(lp, 0, sizeof(float) * (size_t)lo);
        memcpy(lp + lo, row + lo, sizeof(float) * (size_t)(hi - lo));
        if (hi < inner) memset(lp + hi, 0, sizeof(float) * (size_t)(inner - hi));
      }
    }
    lp += inner;
    int q = r - 2;
    for (; q >= 0; q--) {
      if (++x[q] < size[q]) break;
      x[q] = 0;
    }
    if (q < 0) return;
  }
}

static void run_tile(Exec *E, const int64_t origin[NDIMS], const int64_t ext[NDIMS]) {
  if (E->rc != RC_OK) return;
  if (E->o->skip_compute) {
    int64_t macs = 1;
    for (int dd = 0; dd < NDIMS; dd++) macs *= ext[dd];
    E->L->counts.macs += macs;
    E->L->counts.tiles++;
    return;
  }
  int64_t base[3][NAASC_MAX_RANK], size[3][NAASC_MAX_RANK];
  for (int op = 0; op < 3; op++) {
    const Access *ac = E->acc[op];
    size_t words = 1;
    for (int q = 0; q < ac->rank; q++) {
      base[op][q] = ac->idx[q].cst;
      size[op][q] = 1;
      for (int dd = 0; dd < NDIMS; dd++) {
        int64_t c = ac->idx[q].coef[rt_nest_dim[dd]];
        base[op][q] += c * origin[dd];
        size[op][q] += c * (ext[dd] - 1);
      }
      words *= (size_t)size[op][q];
    }
    if (words > E->cap[op]) {
      float *nb = xrealloc(E->buf[op], words * sizeof(float));
      if (!nb) {
        diag_error(E->d, E->L->nest.name, "out of memory for a %zu-word tile", words);
        E->rc = RC_INTERNAL;
        return;
      }
      E->buf[op] = nb, E->cap[op] = words;
    }
    box_copy(E->buf[op], E->ten[op], base[op], size[op], false);
  }
  TileKernel k;
  rt_tile_kernel(E->L, E->p->t, ext, &k);
  KernelFn fn;
  Rc rc = kernel_get(E->p, &k, E->o, &fn, E->d);
  if (rc != RC_OK) {
    E->rc = rc;
    return;
  }
  if (fn) kernel_call_ffi(fn, E->buf[KOP_O], E->buf[KOP_I], E->buf[KOP_W]);
  else kernel_ref(&k, E->buf[KOP_O], E->buf[KOP_I], E->buf[KOP_W]);
  box_copy(E->buf[KOP_O], E->ten[KOP_O], base[KOP_O], size[KOP_O], true);
  E->L->counts.macs += kernel_macs(&k);
  E->L->counts.tiles++;
}

/* Walks loops j.. outside the compute level; last: dims whose enclosing
 * loops are all in their last iteration. */
static void walk(Exec *E, int j, int64_t origin[NDIMS], uint8_t last) {
  if (E->rc != RC_OK) return;
  if (j == E->nouter) {
    int64_t ext[NDIMS];
    int lc = E->L->compute_level;
    for (int dd = 0; dd < NDIMS; dd++) ext[dd] = (last >> dd & 1) ? E->resid[lc][dd] : E->full[lc][dd];
    run_tile(E, origin, ext);
    return;
  }
  const RtLoop *lp = &E->L->loop[j];
  int dd = lp->dim;
  bool is_last = last >> dd & 1;
  int64_t n = is_last ? lp->r : lp->f, o0 = origin[dd];
  for (int64_t i = 0; i < n; i++) {
    origin[dd] = o0 + i * lp->stride;
    uint8_t l2 = (is_last && i == n - 1) ? last : (uint8_t)(last & ~(1u << dd));
    walk(E, j + 1, origin, l2);
  }
  origin[dd] = o0;
}

Rc rt_exec_mac(RtProgram *p, RtLayer *L, const RuntimeOptions *o, Diag *d) {
  const Nest *n = &L->nest;
  Exec E;
  memset(&E, 0, sizeof E);
  E.p = p, E.L = L, E.o = o, E.d = d;
  static const int tens[3] = {TENSOR_O, TENSOR_I, TENSOR_W};
  for (int op = 0; op < 3; op++) {
    E.acc[op] = rt_mac_access(n, tens[op]);
    E.ten[op] = &p->t[E.acc[op]->tensor];
  }
  L->counts.macs = L->counts.tiles = 0;
  float *out = E.ten[KOP_O]->data;
  if (E.acc[KOP_I]->ix != IX_AFFINE || E.acc[KOP_W]->ix != IX_AFFINE || E.acc[KOP_O]->ix != IX_AFFINE) {
    rt_matmul_whole(E.ten[KOP_I], E.ten[KOP_W], out);
    int64_t macs = 1;
    for (int k = 0; k < n->ndims; k++) macs *= n->dims[k].bound;
    L->counts.macs = macs, L->counts.tiles = 1;
  } else {
    memset(out, 0, sizeof(float) * (size_t)E.ten[KOP_O]->numel);
    int64_t origin[NDIMS] = {0};
    if (L->mapped) {
      rt_loop_extents(L, p->arch.nlevels, E.full, E.resid);
      while (E.nouter < L->nloops && L->loop[E.nouter].level < L->compute_level) E.nouter++;
    } else { /* one tile: the whole layer */
      L->compute_level = 0;
      for (int dd = 0; dd < NDIMS; dd++) E.full[0][dd] = E.resid[0][dd] = 1;
      for (int k = 0; k < n->ndims && k < NDIMS; k++) {
        int dd = -1;
        for (int a = 0; a < NDIMS; a++)
          if (rt_nest_dim[a] == k) dd = a;
        E.full[0][dd] = E.resid[0][dd] = n->dims[k].bound;
      }
    }
    walk(&E, 0, origin, ACCEL_ALL_DIMS);
  }
  for (int op = 0; op < 3; op++) xfree(E.buf[op]);
  if (E.rc != RC_OK) return E.rc;
  rt_mac_epilogue(n, p->t);
  return RC_OK;
}

Rc rt_run(RtProgram *p, const RuntimeOptions *o, Diag *d) {
  RuntimeOptions def;
  if (!o) rt_options_default(&def), o = &def;
  for (int i = 1; i <= p->ntensors; i++)
    if (p->t[i].role == TR_INPUT && !p->bound[i]) {
      diag_error(d, NULL, "input '%s' is not bound (--input %s=FILE.pb)", p->t[i].name, p->t[i].name);
      return RC_BADINPUT;
    }
  for (int i = 0; i < p->nlayers; i++) {
    RtLayer *L = &p->layers[i];
    Rc rc;
    if (o->reference) {
      rc = rt_interpret_nest(&L->nest, p->t, p->ntensors, d);
    } else if (L->nest.kind == NK_MAC) {
      bool unmapped_ok = L->mapped || L->nest.ndims == 8;
      if (!unmapped_ok) {
        /* An unmapped mac nest of another shape: the interpreter runs it. */
        rc = rt_interpret_nest(&L->nest, p->t, p->ntensors, d);
      } else {
        rc = rt_exec_mac(p, L, o, d);
      }
      if (rc == RC_OK && o->count && L->mapped) rt_count_layer(p, L, o->count_exact);
    } else {
      rc = rt_interpret_nest(&L->nest, p->t, p->ntensors, d);
    }
    if (rc != RC_OK) return rc;
  }
  return RC_OK;
}
