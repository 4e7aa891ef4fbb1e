/*
 * exec.c: runs a loaded program.  Vector, move and view layers go to the
 * reference interpreter (interp.c).  A mac layer runs tiled, on buffers
 * sized by the architecture (the tile plan of stream/stream.h):
 *
 *   - every on-chip level from 1 down to the layer's compute level holds a
 *     slot for each tensor it keeps, inside one buffer of the level's
 *     capacity per instance the mapping uses (every PE below a spatial
 *     fan-out has its own, as on the array); the loops of the mapping walk
 *     the layer (remainders included: a loop runs r iterations when every
 *     enclosing loop over its dim is last), and on entering a level's tile each of its slots is
 *     filled from the nearest level above that keeps the tensor (DRAM: the
 *     tensor, padding read as zeros, or for packed weights the cell that
 *     holds the tile); outputs go back the same way when the tile is left.
 *     An input or weight slot whose tile did not change is not refilled,
 *     nor is an output slot whose tile did not change when no other
 *     instance can have added to it since (no spatial loop over a reduction
 *     dim above it); an output slot whose tile starts the reduction (every
 *     reduction dim at 0) is zeroed instead of filled;
 *   - the compute tile (the compute level's, with every loop inside it) runs
 *     one kernel, compiled by the injected provider and called through
 *     libffi, or kernel_ref (stream/stream.h), reading each operand in
 *     place from the innermost slot that holds it, or from a staging box if
 *     no level at or above the compute level keeps it;
 *   - the epilogue (bias, Gemm's alpha/beta, activation) runs once all
 *     tiles are done.
 * An integer mac layer (qmac.c) comes here with its operands widened to
 * i32 words; its tiles run the provider's i32 kernel (asked for with
 * RT_KERNEL_I32, runtime.h) or kernel_ref_i32, and its epilogue is qmac.c's.
 *
 * The levels below the compute level are not held: their loops run inside
 * the kernel (docs/runtime.md, "Execution").  RuntimeOptions.inner moves
 * the compute level to the innermost level, so every level is held, at the
 * price of a kernel call per innermost tile.  Counting (count.c) replays
 * the same loops with the cost model's rules; the words the executor moved
 * are recorded beside them (RtLayerCounts.moved).  A layer of a fused
 * group (CMD_RESIDE) keeps its resident tensors in its home level: the
 * program's copy of such a tensor stands for the home level's, its slot at
 * home is laid out from it and written back to it, and neither is a move.
 *
 * Invariants: the program passed rt_load, so every tile stays inside its
 * tensor or padding, every slot inside its level's buffer (the capacity,
 * or more where the loader warned that an operand's slots exceed it), and
 * every kernel index inside its slot.
 */
#include <inttypes.h>
#include <string.h>

#include "host/host.h"
#include "runtime/internal.h"

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
               name, dtype_name(t->dtype), t->rank, t->rank ? t->dims[0] : 0,
               t->rank > 1 ? ",..." : "", dtype_name(dt), rank);
    return RC_BADINPUT;
  }
  memcpy(t->data, data, (size_t)t->numel * dtype_size(t->dtype));
  p->bound[id] = true;
  return RC_OK;
}

/* Kernel by value and element type (i32: an integer layer's): compiled once
 * per run of a program (the cache is emptied by rt_run: its functions are
 * the run's provider's), or the reference (fn NULL). */
static Rc kernel_get(RtProgram *p, const TileKernel *k, bool i32, const RuntimeOptions *o,
                     KernelFn *fn, Diag *d) {
  for (int i = 0; i < p->nk; i++)
    if (p->kcache[i].i32 == i32 && kernel_equal(&p->kcache[i].k, k)) {
      *fn = p->kcache[i].fn;
      return RC_OK;
    }
  KernelFn f = NULL;
  if (o->compile && !o->no_jit) {
    TileKernel kt = *k; /* an integer layer's kernel is asked for tagged (runtime.h) */
    if (i32) kt.nloops += RT_KERNEL_I32;
    Rc rc = o->compile(o->compile_ctx, &kt, &f, d);
    if (rc != RC_OK) return rc;
  }
  if (!ir_grow((void **)&p->kcache, (uint32_t *)&p->capk, (uint32_t)p->nk + 1, sizeof *p->kcache)) {
    diag_error(d, NULL, "out of memory");
    return RC_INTERNAL;
  }
  p->kcache[p->nk].k = *k;
  p->kcache[p->nk].i32 = i32;
  p->kcache[p->nk++].fn = f;
  *fn = f;
  return RC_OK;
}

/* One instance's copy of a slot. */
typedef struct {
  float *buf;
  int64_t org[NDIMS], ext[NDIMS]; /* the tile it holds */
  bool valid;
  int64_t wext[NDIMS], words; /* the words of the last tile's extents */
} Inst;

typedef struct {
  bool on;    /* the level holds a slot of the tensor */
  int parent; /* the level it is filled from; -1: DRAM */
  TpSlot lay; /* the layout of the full tile */
  Inst *in;   /* per instance of the level the mapping uses */
  Inst *cur;  /* the instance the walk is in */
} Slot;

typedef struct {
  bool have;
  TileKernel k;
  KernelFn fn;
} KSlot;

typedef struct {
  RtProgram *p;
  RtLayer *L;
  const RuntimeOptions *o;
  Diag *d;
  const Access *acc[NTENSORS]; /* W, I, O */
  TpAcc ta[NTENSORS];
  RtTensor *ten[NTENSORS];
  int lc, l0; /* compute level; first level holding slots */
  int64_t full[ACCEL_MAX_LEVELS + 1][NDIMS], resid[ACCEL_MAX_LEVELS + 1][NDIMS];
  int64_t bound[NDIMS];
  int first[ACCEL_MAX_LEVELS + 1]; /* first loop of level >= l */
  uint8_t rel[NTENSORS];           /* dims each tensor's index depends on */
  uint8_t ragged;                  /* dims whose compute tile can be cut short */
  uint8_t red;                     /* reduction dims */
  bool sred[ACCEL_MAX_LEVELS];     /* a spatial loop over a reduction dim above the level */
  Slot s[ACCEL_MAX_LEVELS][NTENSORS];
  int src[NTENSORS];
  float *mem[ACCEL_MAX_LEVELS];
  Inst *inst[ACCEL_MAX_LEVELS];
  int64_t ninst[ACCEL_MAX_LEVELS]; /* instances held per level (1: one shared) */
  KSlot *kc;                       /* [256]: the kernel per last-mask & ragged */
  Rc rc;
} Exec;

static const int kop_tensor[KOP_N] = {TENSOR_O, TENSOR_I, TENSOR_W};

#define RT_INST_BYTES (INT64_C(256) << 20)

static bool same_tile(const Inst *S, const int64_t o[NDIMS], const int64_t e[NDIMS], uint8_t rel) {
  if (!S->valid) return false;
  for (int d = 0; d < NDIMS; d++)
    if ((rel >> d & 1) && (S->org[d] != o[d] || S->ext[d] != e[d])) return false;
  return true;
}

static int64_t tile_words(const TpAcc *ac, Inst *S, const int64_t e[NDIMS]) {
  if (S->words && memcmp(S->wext, e, sizeof S->wext) == 0) return S->words;
  TpSlot t;
  tp_slot(ac, e, &t);
  memcpy(S->wext, e, sizeof S->wext);
  return S->words = t.words;
}

/* Whether tensor t of the layer lives in its fused group's home level
 * (CMD_RESIDE): the program's copy of the tensor is then the home level's,
 * and the layer's slot of t at home is a view of it. */
static bool resident(const RtLayer *L, int t) {
  return (t == TENSOR_I && (L->res & CMD_RES_I)) || (t == TENSOR_O && (L->res & CMD_RES_O)) ||
         (t == TENSOR_W && (L->res & CMD_RES_W));
}

/* A tile layer's rectangle of its rank-4 output: rows [lo[0], hi[0]),
 * columns [lo[1], hi[1]). */
static void tile_box(const RtLayer *L, int64_t lo[2], int64_t hi[2]) {
  lo[0] = L->org[0], hi[0] = L->org[0] + L->nest.dims[L->rdim].bound;
  lo[1] = L->org[1], hi[1] = L->org[1] + L->nest.dims[L->cdim].bound;
}

/* Zeroes rows [lo[0], hi[0]) x columns [lo[1], hi[1]) of rank-4 t. */
static void zero_box(RtTensor *t, const int64_t lo[2], const int64_t hi[2]) {
  float *o = t->data;
  for (int64_t pl = 0; pl < t->dims[0] * t->dims[1]; pl++)
    for (int64_t r = lo[0]; r < hi[0]; r++)
      memset(o + (pl * t->dims[2] + r) * t->dims[3] + lo[1], 0,
             sizeof(float) * (size_t)(hi[1] - lo[1]));
}

/* Fills slot (l, t) of the current instance with the tile at o of
 * extents e from its parent.  The slot at home of a resident tensor is
 * laid out from the resident copy, inside the home level: no words cross
 * between levels, so none are counted as moved (the cost model counts no
 * fill there either: docs/cost-model.md, "Whole-network schedules"). */
static void fill(Exec *E, int l, int t, const int64_t o[NDIMS], const int64_t e[NDIMS]) {
  Slot *S = &E->s[l][t];
  Inst *I = S->cur;
  const TpAcc *ac = &E->ta[t];
  RtLayer *L = E->L;
  if (t != TENSOR_O && same_tile(I, o, e, E->rel[t])) return;
  /* Outputs indexed by no reduction dim (not a transposed conv's scatter)
   * are first touched by the tile whose reduction dims all start at 0. */
  bool first = t == TENSOR_O && !(E->rel[TENSOR_O] & E->red);
  for (int d = 0; first && d < NDIMS; d++) first = !(E->red >> d & 1) || o[d] == 0;
  /* An output tile entered again unchanged keeps its partial sums, as a
   * real buffer does (the cost model counts no fill for it), when nothing
   * can have added to the parent's copy since it was drained: outputs
   * indexed by no reduction dim, and either one buffer shared by every
   * instance (whoever added went through it) or no spatial loop over a
   * reduction dim above this level (instances hold disjoint outputs). */
  if (t == TENSOR_O && !first && !(E->rel[TENSOR_O] & E->red) &&
      (E->ninst[l] == 1 || !E->sred[l]) && same_tile(I, o, e, E->rel[t]))
    return;
  if (first) {
    memset(I->buf, 0, sizeof(float) * (size_t)S->lay.words);
  } else if (S->parent >= 0) {
    const Inst *P = E->s[S->parent][t].cur;
    tp_slot_slot(ac, P->buf, &E->s[S->parent][t].lay, P->org, I->buf, &S->lay, o, e, false);
  } else if (t == TENSOR_W && L->wp_cells) {
    int64_t i = tp_pack_index(&L->wp, o), co[NDIMS], ce[NDIMS];
    tp_pack_cell(&L->wp, E->bound, i, co, ce);
    TpSlot cl;
    tp_slot(ac, ce, &cl);
    tp_slot_slot(ac, L->wp_data + L->wp_cells[i], &cl, co, I->buf, &S->lay, o, e, false);
  } else {
    RtTensor *T = E->ten[t];
    tp_slot_tensor(ac, T->rank, T->dims, T->data, I->buf, &S->lay, o, e, false);
  }
  memcpy(I->org, o, sizeof I->org);
  memcpy(I->ext, e, sizeof I->ext);
  I->valid = true;
  if (!first && !(S->parent < 0 && l == L->home && resident(L, t)))
    L->counts.moved[l][t] += tile_words(ac, I, e);
}

/* Writes slot (l, O)'s tile back to its parent. */
static void drain(Exec *E, int l, const int64_t o[NDIMS], const int64_t e[NDIMS]) {
  Slot *S = &E->s[l][TENSOR_O];
  Inst *I = S->cur;
  const TpAcc *ac = &E->ta[TENSOR_O];
  if (S->parent >= 0) {
    Inst *P = E->s[S->parent][TENSOR_O].cur;
    tp_slot_slot(ac, P->buf, &E->s[S->parent][TENSOR_O].lay, P->org, I->buf, &S->lay, o, e, true);
  } else {
    RtTensor *T = E->ten[TENSOR_O];
    tp_slot_tensor(ac, T->rank, T->dims, T->data, I->buf, &S->lay, o, e, true);
    if (l == E->L->home && resident(E->L, TENSOR_O)) return; /* back into the resident copy */
  }
  E->L->counts.drained[l] += tile_words(ac, I, e);
}

static void run_tile(Exec *E, const int64_t origin[NDIMS], uint8_t last) {
  int lc = E->lc;
  int64_t ext[NDIMS];
  for (int dd = 0; dd < NDIMS; dd++)
    ext[dd] = (last >> dd & 1) ? E->resid[lc][dd] : E->full[lc][dd];
  KSlot *ks = &E->kc[last & E->ragged];
  bool qint = E->ten[TENSOR_I]->dtype == DT_I32; /* an integer layer's words (qmac.c) */
  if (!ks->have) {
    rt_tile_kernel(E->L, lc, E->full, ext, &ks->k);
    Rc rc = kernel_get(E->p, &ks->k, qint, E->o, &ks->fn, E->d);
    if (rc != RC_OK) {
      E->rc = rc;
      return;
    }
    ks->have = true;
  }
  float *ptr[KOP_N];
  for (int op = 0; op < KOP_N; op++) {
    const Slot *S = &E->s[E->src[kop_tensor[op]]][kop_tensor[op]];
    int64_t off = 0;
    for (int d = 0; d < NDIMS; d++) off += (origin[d] - S->cur->org[d]) * S->lay.lstride[d];
    ptr[op] = S->cur->buf + off;
  }
  if (ks->fn) /* the compiled kernel, of either type: its operands are pointers */
    kernel_call_ffi(ks->fn, ptr[KOP_O], ptr[KOP_I], ptr[KOP_W]);
  else if (qint)
    kernel_ref_i32(&ks->k, (int32_t *)ptr[KOP_O], (const int32_t *)ptr[KOP_I],
                   (const int32_t *)ptr[KOP_W]);
  else
    kernel_ref(&ks->k, ptr[KOP_O], ptr[KOP_I], ptr[KOP_W]);
  E->L->counts.macs += kernel_macs(&ks->k);
  E->L->counts.tiles++;
}

/* Walks loops j.. with levels l.. still to enter; last: dims whose
 * enclosing loops are all in their last iteration; inst: the instance
 * (the mixed-radix index of the spatial loops walked so far). */
static void walk(Exec *E, int j, int l, int64_t origin[NDIMS], uint8_t last, int64_t inst) {
  if (E->rc != RC_OK) return;
  if (l <= E->lc && E->first[l] == j) {
    if (E->o->skip_compute) {
      walk(E, j, l + 1, origin, last, inst);
      return;
    }
    int64_t ext[NDIMS];
    for (int dd = 0; dd < NDIMS; dd++)
      ext[dd] = (last >> dd & 1) ? E->resid[l][dd] : E->full[l][dd];
    Inst *in = E->inst[l] + (E->ninst[l] > 1 ? inst * NTENSORS : 0);
    for (int t = 0; t < NTENSORS; t++)
      if (E->s[l][t].on) {
        E->s[l][t].cur = &in[t];
        fill(E, l, t, origin, ext);
      }
    walk(E, j, l + 1, origin, last, inst);
    if (E->s[l][TENSOR_O].on && E->rc == RC_OK) drain(E, l, origin, ext);
    return;
  }
  if (l > E->lc) {
    if (E->o->skip_compute) {
      int64_t macs = 1;
      for (int dd = 0; dd < NDIMS; dd++)
        macs *= (last >> dd & 1) ? E->resid[E->lc][dd] : E->full[E->lc][dd];
      E->L->counts.macs += macs;
      E->L->counts.tiles++;
    } else {
      run_tile(E, origin, last);
    }
    return;
  }
  const RtLoop *lp = &E->L->loop[j];
  int dd = lp->dim;
  bool is_last = last >> dd & 1;
  int64_t n = is_last ? lp->r : lp->f, o0 = origin[dd];
  for (int64_t i = 0; i < n; i++) {
    origin[dd] = o0 + i * lp->stride;
    uint8_t l2 = (is_last && i == n - 1) ? last : (uint8_t)(last & ~(1u << dd));
    walk(E, j + 1, l, origin, l2, lp->axis ? inst * lp->f + i : inst);
  }
  origin[dd] = o0;
}

/* The slots of a layer: which levels hold which tensors, their parents,
 * layouts and memory (one buffer per level, of its capacity). */
static bool plan_slots(Exec *E) {
  RtLayer *L = E->L;
  const Arch *a = &E->p->arch;
  for (int t = 0; t < NTENSORS; t++) {
    int parent = -1;
    for (int l = E->l0; l <= E->lc; l++) {
      bool keeps = l >= 1 && (L->keep[l] >> t & 1);
      if (!keeps && !(l == E->lc && E->src[t] == l)) continue;
      Slot *S = &E->s[l][t];
      S->on = true;
      S->parent = parent;
      tp_slot(&E->ta[t], E->full[l], &S->lay);
      parent = l;
    }
  }
  /* Each instance of a level the mapping uses (the product of the spatial
   * factors above it) has its own buffer, as on the array, unless that
   * would take more than RT_INST_BYTES: then one buffer is shared. */
  int64_t words[ACCEL_MAX_LEVELS] = {0}, spat[ACCEL_MAX_LEVELS], total = 0, shared_total = 0, bytes;
  bool fits =
      true; /* every sum and product below in int64 (the loader bounds each factor, not all) */
  for (int l = E->l0; l <= E->lc; l++) {
    for (int t = 0; t < NTENSORS; t++)
      if (E->s[l][t].on) fits &= ck_add_i64(words[l], E->s[l][t].lay.words, &words[l]);
    if (l >= 1 && a->level[l].capacity_words > words[l]) words[l] = a->level[l].capacity_words;
    spat[l] = 1;
    for (int j = 0; j < L->nloops; j++)
      if (L->loop[j].axis && L->loop[j].level < l) {
        fits &= ck_mul_i64(spat[l], L->loop[j].f, &spat[l]);
        if (L->loop[j].f > 1 && (E->red >> L->loop[j].dim & 1)) E->sred[l] = true;
      }
    int64_t w;
    fits &= ck_mul_i64(spat[l], words[l] ? words[l] : 1, &w) && ck_add_i64(total, w, &total) &&
            ck_add_i64(shared_total, words[l] ? words[l] : 1, &shared_total);
  }
  bool shared = !fits || total > RT_INST_BYTES / (int64_t)sizeof(float);
  /* The buffers count against the program's memory cap (rt_load_capped). */
  if (!fits || !ck_mul_i64(shared ? shared_total : total, (int64_t)sizeof(float), &bytes) ||
      bytes > E->p->max_memory - E->p->mem_bytes) {
    diag_error(E->d, L->nest.name,
               "the tile buffers need %s%" PRId64 " bytes beside the program's %" PRId64
               ", more than the %" PRId64 " allowed (naasc-run --max-memory)",
               fits ? "" : "over ", fits ? bytes : INT64_MAX, E->p->mem_bytes, E->p->max_memory);
    E->rc = RC_BADINPUT;
    return false;
  }
  for (int l = E->l0; l <= E->lc; l++) {
    E->ninst[l] = shared ? 1 : spat[l];
    int64_t cap = words[l] ? words[l] : 1;
    E->mem[l] = xmalloc(sizeof(float) * (size_t)(cap * E->ninst[l]));
    E->inst[l] = xcalloc((size_t)(E->ninst[l] * NTENSORS), sizeof(Inst));
    if (!E->mem[l] || !E->inst[l]) {
      diag_error(E->d, L->nest.name,
                 "out of memory for level %d's buffers (%" PRId64 " x %" PRId64 " words)", l,
                 E->ninst[l], cap);
      return false;
    }
    for (int64_t i = 0; i < E->ninst[l]; i++) {
      int64_t at = i * cap;
      for (int t = 0; t < NTENSORS; t++)
        if (E->s[l][t].on)
          E->inst[l][i * NTENSORS + t].buf = E->mem[l] + at, at += E->s[l][t].lay.words;
    }
  }
  return true;
}

Rc rt_exec_mac(RtProgram *p, RtLayer *L, const RuntimeOptions *o, Diag *d) {
  const Nest *n = &L->nest;
  Exec *E = xcalloc(1, sizeof *E);
  KSlot *kc = xcalloc(256, sizeof *kc);
  if (!E || !kc) {
    xfree(E);
    xfree(kc);
    diag_error(d, n->name, "out of memory");
    return RC_INTERNAL;
  }
  E->p = p, E->L = L, E->o = o, E->d = d, E->kc = kc;
  for (int t = 0; t < NTENSORS; t++) {
    E->acc[t] = rt_mac_access(n, t);
    tp_acc(n, E->acc[t], &E->ta[t]);
    E->ten[t] = &p->t[E->acc[t]->tensor];
  }
  L->counts.macs = L->counts.tiles = 0;
  L->counts.held = -1;
  memset(L->counts.moved, 0, sizeof L->counts.moved);
  memset(L->counts.drained, 0, sizeof L->counts.drained);
  float *out = E->ten[TENSOR_O]->data;
  if (E->acc[TENSOR_I]->ix != IX_AFFINE || E->acc[TENSOR_W]->ix != IX_AFFINE ||
      E->acc[TENSOR_O]->ix != IX_AFFINE) {
    rt_matmul_whole(E->ten[TENSOR_I], E->ten[TENSOR_W], out);
    int64_t macs = 1;
    for (int k = 0; k < n->ndims; k++) macs *= n->dims[k].bound;
    L->counts.macs = macs, L->counts.tiles = 1;
  } else {
    /* A tile layer (CMD_TILE) computes its rectangle only: the rest of
     * the output holds other tiles' results.  Its copies between DRAM and
     * home move within the program's copy of each tensor (which stands for
     * both): they are counted as moved into home, nothing else. */
    if (L->dft) {
      int64_t lo[2], hi[2];
      tile_box(L, lo, hi);
      zero_box(E->ten[TENSOR_O], lo, hi);
      L->counts.moved[L->home][TENSOR_I] += L->copy_in;
      L->counts.moved[L->home][TENSOR_W] += L->copy_w;
    } else {
      memset(out, 0, sizeof(float) * (size_t)E->ten[TENSOR_O]->numel);
    }
    for (int i = 0; i < n->ndims; i++) {
      int dd = n->dims[i].dim;
      E->bound[dd] = n->dims[i].bound;
      if (n->dims[i].reduce) E->red |= (uint8_t)(1u << dd);
    }
    if (L->mapped) {
      int nl = p->arch.nlevels;
      rt_loop_extents(L, nl, E->full, E->resid);
      E->lc = o->inner && nl > 1 ? nl - 1 : L->compute_level;
      E->l0 = E->lc >= 1 ? 1 : 0;
    } else { /* one tile: the whole layer, staged */
      E->lc = E->l0 = 0;
      for (int dd = 0; dd < NDIMS; dd++) E->full[0][dd] = E->resid[0][dd] = E->bound[dd];
    }
    for (int l = 0, j = 0; l <= E->lc; l++) {
      while (j < L->nloops && L->loop[j].level < l) j++;
      E->first[l] = j;
    }
    for (int t = 0; t < NTENSORS; t++) {
      E->src[t] = E->lc >= 1 ? tp_source(L->keep, E->lc, t) : 0;
      for (int q = 0; q < E->acc[t]->rank; q++)
        for (int i = 0; i < n->ndims; i++)
          if (E->acc[t]->idx[q].coef[i]) E->rel[t] |= (uint8_t)(1u << n->dims[i].dim);
    }
    for (int dd = 0; dd < NDIMS; dd++)
      if (E->resid[E->lc][dd] != E->full[E->lc][dd]) E->ragged |= (uint8_t)(1u << dd);
    L->counts.held = E->lc;
    if (!plan_slots(E) && E->rc == RC_OK) E->rc = RC_INTERNAL;
    int64_t origin[NDIMS] = {0};
    if (E->rc == RC_OK) walk(E, 0, E->l0, origin, ACCEL_ALL_DIMS, 0);
  }
  Rc rc = E->rc;
  bool E_int = E->ten[TENSOR_I]->dtype == DT_I32;
  for (int l = 0; l < ACCEL_MAX_LEVELS; l++) xfree(E->mem[l]), xfree(E->inst[l]);
  xfree(kc);
  xfree(E);
  if (rc != RC_OK) return rc;
  if (E_int) return RC_OK; /* an integer layer's epilogue is rt_qmac_run's */
  if (L->dft) {
    int64_t lo[2], hi[2];
    tile_box(L, lo, hi);
    rt_mac_epilogue_box(n, p->t, lo, hi);
  } else {
    rt_mac_epilogue(n, p->t);
  }
  return RC_OK;
}

/* Adds tile layer T's counts to its layer's (what rt_layer_counts shows). */
static void add_counts(RtLayerCounts *o, const RtLayerCounts *t) {
  o->exact = t->exact;
  o->nlevels = t->nlevels;
  for (int l = 0; l < ACCEL_MAX_LEVELS; l++) {
    for (int k = 0; k < NTENSORS; k++) {
      o->total[l][k].reads += t->total[l][k].reads;
      o->total[l][k].fills += t->total[l][k].fills;
      o->total[l][k].updates += t->total[l][k].updates;
      o->moved[l][k] += t->moved[l][k];
    }
    o->drained[l] += t->drained[l];
  }
  o->macs += t->macs;
  o->tiles += t->tiles;
  /* The levels every tile layer held (a smaller tile may compute higher
   * up: moved words below its compute level are not its executor's). */
  if (!o->counted || t->held < o->held) o->held = t->held;
  o->counted |= t->counted;
}

/* f16 and bf16 operands of a mac layer are widened to f32 for the layer
 * (the PE array computes in f32, docs/runtime.md "Element types"); its
 * result is rounded back to its type once, at the end. */
typedef struct {
  int id;
  void *data; /* the tensor's own buffer */
  DType dt;   /* its own type */
} Widened;

static int widen(RtProgram *p, const Nest *n, Widened *w, Diag *d) {
  int nw = 0;
  for (int a = 0; a < n->nacc; a++) {
    int id = (int)n->acc[a].tensor;
    RtTensor *T = &p->t[id];
    if (T->dtype != DT_F16 && T->dtype != DT_BF16) continue;
    float *f = xmalloc(sizeof(float) * (size_t)(T->numel ? T->numel : 1));
    if (!f) {
      diag_error(d, n->name, "out of memory widening '%s' to f32", T->name);
      return -1;
    }
    const uint16_t *h = T->data;
    for (int64_t i = 0; i < T->numel; i++)
      f[i] = T->dtype == DT_F16 ? host_f16_to_f32(h[i]) : host_bf16_to_f32(h[i]);
    w[nw].id = id, w[nw].data = T->data, w[nw].dt = T->dtype;
    nw++;
    T->data = f, T->dtype = DT_F32;
  }
  return nw;
}

static void narrow(RtProgram *p, const Nest *n, const Widened *w, int nw, bool keep) {
  for (int k = nw - 1; k >= 0; k--) {
    RtTensor *T = &p->t[w[k].id];
    const float *f = T->data;
    bool written = false;
    for (int a = 0; a < n->nacc; a++)
      written |= (int)n->acc[a].tensor == w[k].id && n->acc[a].kind != ACC_READ;
    uint16_t *h = w[k].data;
    if (written && keep)
      for (int64_t i = 0; i < T->numel; i++)
        h[i] = w[k].dt == DT_F16 ? host_f32_to_f16(f[i]) : host_f32_to_bf16(f[i]);
    xfree(T->data);
    T->data = w[k].data, T->dtype = w[k].dt;
  }
}

Rc rt_run(RtProgram *p, const RuntimeOptions *o, Diag *d) {
  RuntimeOptions def;
  if (!o) rt_options_default(&def), o = &def;
  for (int i = 1; i <= p->ntensors; i++)
    if (p->t[i].role == TR_INPUT && !p->bound[i]) {
      diag_error(d, NULL, "input '%s' is not bound (--input %s=FILE.pb)", p->t[i].name,
                 p->t[i].name);
      return RC_BADINPUT;
    }
  /* The kernels of an earlier run came from its options' provider (or were
   * the reference): this run's provider may be another one, or be gone. */
  p->nk = 0;
  /* The layers of depth-first groups sum their tile layers' counts. */
  for (int i = 0; i < p->nlayers; i++) {
    RtLayerCounts *c = &p->layers[i].counts;
    if (!(p->layers[i].res & CMD_RES_DEPTH)) continue;
    memset(c->total, 0, sizeof c->total);
    memset(c->moved, 0, sizeof c->moved);
    memset(c->drained, 0, sizeof c->drained);
    c->macs = c->tiles = 0, c->held = -1, c->counted = false;
  }
  for (int i = 0; i < p->nlayers; i++) {
    RtLayer *L = &p->layers[i];
    Rc rc;
    /* A depth-first group runs as its tile layers; the reference
     * interpreter runs its layers whole instead. */
    bool skip = o->reference ? L->dft : (L->res & CMD_RES_DEPTH) != 0;
    /* The values this layer touches first: zeroed, as a buffer of their
     * own would be (their storage is shared, memplan.c). */
    for (int z = p->plan.zstart[i]; z < p->plan.zstart[i + 1]; z++) {
      RtTensor *T = &p->t[p->plan.zlist[z]];
      memset(T->data, 0, (size_t)T->numel * dtype_size(T->dtype));
    }
    if (skip) continue;
    Widened w[NEST_MAX_ACCESS];
    int nw = L->nest.kind == NK_MAC ? widen(p, &L->nest, w, d) : 0;
    if (nw < 0) return RC_INTERNAL;
    if (L->nest.vop == VOP_HOST) {
      rc = rt_exec_host(p, L, d);
    } else if (L->nest.kind == NK_MAC && rt_mac_int(&L->nest, p->t)) {
      rc = rt_qmac_run(p, L, o, d); /* 8-bit operands summed in i32 (qmac.c) */
    } else if (o->reference) {
      rc = rt_interpret_nest(&L->nest, p->t, p->ntensors, d);
    } else if (L->nest.kind == NK_MAC) {
      Problem pr;
      if (!L->mapped && !nest_problem(&L->nest, &pr)) {
        /* An unmapped mac nest of another shape: the interpreter runs it. */
        rc = rt_interpret_nest(&L->nest, p->t, p->ntensors, d);
      } else {
        rc = rt_exec_mac(p, L, o, d);
      }
      if (rc == RC_OK && o->count && L->mapped) rt_count_layer(p, L, o->count_exact);
      if (rc == RC_OK && L->dft) add_counts(&p->layers[L->owner].counts, &L->counts);
    } else {
      rc = rt_interpret_nest(&L->nest, p->t, p->ntensors, d);
    }
    narrow(p, &L->nest, w, nw, rc == RC_OK);
    if (rc != RC_OK) return rc;
  }
  return RC_OK;
}
