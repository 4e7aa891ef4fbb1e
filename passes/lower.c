/*
 * lower.c: graph IR -> loop-nest IR.  One nest per live node (Concat gives
 * one move nest per input).  The shapes are static after import, so every
 * bound and index here is a number.
 *
 *   Conv           mac  N G K C P Q R S   I[N, G*Cg+C, P*s+R*d-p, Q*s+S*d-p] (padded)
 *                                         W[G*Kg+K, C, R, S]  O[N, G*Kg+K, P, Q] +=
 *   ConvTranspose  mac  P Q run over the input: O[.., P*s+R*d-p, ..] += I[.., P, Q] * W
 *   Gemm/MatMul    mac  N=rows K=cols C=inner, G=the one batch dim > 1 (heads,
 *                       tokens' batch); several batch dims > 1: whole views
 *   ConvInteger, QLinearConv, MatMulInteger, QLinearMatMul   the same mac nests over 8-bit
 *                       operands, zero points and requantization in params
 *                       (constant scalar ones; others run on the host)
 *   pools          vec  N C P Q R S with the window as reduce dims
 *   element-wise   vec  over the output dims, broadcast inputs index 0 on size-1 dims
 *   softmax, reducemean, batchnorm, cast, resize (gather)    vec
 *   concat, slice, transpose, gather                          move
 *   reshape, flatten, squeeze, unsqueeze, identity, dropout   view
 *   every other op (unknown ops run on the host, the ops not lowered yet,
 *   Resize cubic or tf_crop_and_resize)   one "host:OP" vec nest reading
 *   and writing whole tensors: not costed, for host/ to evaluate
 * 1-D convolutions and pools lower with Q = S = 1; 3-D ones run on the host.
 */
#include "frontend/frontend.h"
#include "passes/passes.h"

#include <inttypes.h>
#include <string.h>

typedef struct {
  const Model *g;
  Module *m;
  uint32_t *tmap; /* graph tensor id -> module tensor id */
  Diag *d;
} Lower;

static uint32_t mt(Lower *L, TensorId t) {
  if (!t) return 0;
  if (L->tmap[t]) return L->tmap[t];
  const Tensor *T = &L->g->tensors[t];
  TensorRole role = T->kind == TK_INPUT   ? (T->is_param ? TR_WEIGHT : TR_INPUT)
                    : T->kind == TK_CONST ? TR_WEIGHT
                    : T->is_output        ? TR_OUTPUT
                                          : TR_VALUE;
  return L->tmap[t] = module_add_tensor(L->m, T->name, T->dtype, T->rank, T->dims, role);
}

static void dim(Nest *n, const char *name, int64_t bound, bool reduce) {
  NestDim *d = &n->dims[n->ndims++];
  d->name = name;
  d->bound = bound;
  d->reduce = reduce;
  d->dim = -1;
}

/* The eight loops of a mac nest in the default order (nest_mac_order),
 * bound[DIM_*] each, C R S reducing; pos[DIM_*] gets each one's position,
 * which the index expressions below use. */
static void mac_dims(Nest *n, const int64_t bound[NDIMS], int pos[NDIMS]) {
  for (int i = 0; i < NDIMS; i++) {
    int d = nest_mac_order[i];
    pos[d] = n->ndims;
    dim(n, accel_dim_name(d), bound[d], d == DIM_C || d == DIM_R || d == DIM_S);
    n->dims[pos[d]].dim = (int8_t)d;
  }
}

static Access *acc(Nest *n, Role role, AccessKind k, uint32_t t, int rank) {
  Access *a = &n->acc[n->nacc++];
  memset(a, 0, sizeof *a);
  a->role = role;
  a->kind = k;
  a->tensor = t;
  a->rank = rank;
  a->ix = IX_AFFINE;
  return a;
}

/* idx = c0*d0 + c1*d1 + cst (dims by index; -1 for none). */
static void ix(Access *a, int k, int d0, int64_t c0, int d1, int64_t c1, int64_t cst) {
  memset(&a->idx[k], 0, sizeof a->idx[k]);
  if (d0 >= 0) a->idx[k].coef[d0] += c0;
  if (d1 >= 0) a->idx[k].coef[d1] += c1;
  a->idx[k].cst = cst;
}

static Nest *new_nest(Lower *L, NestKind k, const Node *nd, const char *suffix) {
  const char *name = suffix ? arena_printf(&L->m->arena, "%s%s", nd->name, suffix) : nd->name;
  Nest *n = name ? module_add_nest(L->m, k, name) : NULL;
  if (n)
    n->loc = arena_printf(&L->m->arena, "%s:node '%s'", L->g->source ? L->g->source : "", nd->name);
  return n;
}

static bool lower_whole(Lower *L, const Node *nd, NestKind kind, const char *host_op);

static void epilogue(Nest *n, const Node *nd) {
  n->act = nd->act;
  if (nd->act == OP_CLIP) {
    n->act_alpha = nd->act_a.clip_min;
    n->act_beta = nd->act_a.clip_max;
  } else if (nd->act == OP_LEAKYRELU || nd->act == OP_HARDSIGMOID) {
    n->act_alpha = nd->act_a.alpha;
    n->act_beta = nd->act == OP_HARDSIGMOID ? nd->act_a.beta : 0;
  }
}

static bool lower_conv(Lower *L, const Node *nd) {
  const Tensor *x = &L->g->tensors[nd->in[0]], *w = &L->g->tensors[nd->in[1]];
  const Tensor *o = &L->g->tensors[nd->out[0]];
  const Attrs *a = &nd->a;
  bool tr = nd->op == OP_CONVTRANSPOSE;
  if (a->nsp > 2) /* the PE array's nest has two spatial dims: on the host */
    return lower_whole(L, nd, NK_VEC, op_name(nd->op));
  Nest *n = new_nest(L, NK_MAC, nd, NULL);
  if (!n) return false;
  int64_t G = a->group, Cg = tr ? x->dims[1] / G : w->dims[1],
          Kg = tr ? w->dims[1] : w->dims[0] / G;
  bool two = a->nsp == 2;
  int64_t sp_in[2] = {x->dims[2], two ? x->dims[3] : 1};
  int64_t sp_out[2] = {o->dims[2], two ? o->dims[3] : 1};
  int64_t kr[2] = {a->kernel[0], two ? a->kernel[1] : 1};
  int64_t st[2] = {a->strides[0], two ? a->strides[1] : 1};
  int64_t dl[2] = {a->dilations[0], two ? a->dilations[1] : 1};
  int64_t pb[2] = {a->pads[0], two ? a->pads[1] : 0};
  const int64_t *it = tr ? sp_in : sp_out; /* P, Q iterate over these */
  int64_t bound[NDIMS];
  bound[DIM_N] = x->dims[0], bound[DIM_G] = G, bound[DIM_K] = Kg, bound[DIM_C] = Cg;
  bound[DIM_P] = it[0], bound[DIM_Q] = it[1], bound[DIM_R] = kr[0], bound[DIM_S] = kr[1];
  int pos[NDIMS];
  mac_dims(n, bound, pos);
  int nsp = x->rank - 2;
  /* The windowed tensor (I for conv, O for transposed conv) and the plain one. */
  Access *win = tr ? NULL : acc(n, ROLE_I, ACC_READ, mt(L, nd->in[0]), x->rank);
  Access *I = win;
  if (tr) {
    I = acc(n, ROLE_I, ACC_READ, mt(L, nd->in[0]), x->rank);
    ix(I, 0, pos[DIM_N], 1, -1, 0, 0);
    ix(I, 1, pos[DIM_G], Cg, pos[DIM_C], 1, 0);
    ix(I, 2, pos[DIM_P], 1, -1, 0, 0);
    if (nsp == 2) ix(I, 3, pos[DIM_Q], 1, -1, 0, 0);
  } else {
    ix(I, 0, pos[DIM_N], 1, -1, 0, 0);
    ix(I, 1, pos[DIM_G], Cg, pos[DIM_C], 1, 0);
  }
  Access *W = acc(n, ROLE_W, ACC_READ, mt(L, nd->in[1]), w->rank);
  if (tr) {
    ix(W, 0, pos[DIM_G], Cg, pos[DIM_C], 1, 0);
    ix(W, 1, pos[DIM_K], 1, -1, 0, 0);
  } else {
    ix(W, 0, pos[DIM_G], Kg, pos[DIM_K], 1, 0);
    ix(W, 1, pos[DIM_C], 1, -1, 0, 0);
  }
  ix(W, 2, pos[DIM_R], 1, -1, 0, 0);
  if (nsp == 2) ix(W, 3, pos[DIM_S], 1, -1, 0, 0);
  if (nd->nin > 2 && nd->in[2]) {
    Access *B = acc(n, ROLE_B, ACC_READ, mt(L, nd->in[2]), 1);
    ix(B, 0, pos[DIM_G], Kg, pos[DIM_K], 1, 0);
    n->has_bias = true;
  }
  Access *O = acc(n, ROLE_O, ACC_UPDATE, mt(L, nd->out[0]), o->rank);
  ix(O, 0, pos[DIM_N], 1, -1, 0, 0);
  ix(O, 1, pos[DIM_G], Kg, pos[DIM_K], 1, 0);
  if (!tr) {
    ix(O, 2, pos[DIM_P], 1, -1, 0, 0);
    if (nsp == 2) ix(O, 3, pos[DIM_Q], 1, -1, 0, 0);
    win = I;
  } else {
    win = O;
  }
  /* Windowed index: P*s + R*d - pad, and how far it leaves the tensor. */
  const Tensor *wt = tr ? o : x;
  for (int k = 0; k < nsp; k++) {
    ix(win, 2 + k, k ? pos[DIM_Q] : pos[DIM_P], st[k], k ? pos[DIM_S] : pos[DIM_R], dl[k], -pb[k]);
    int64_t hi = (it[k] - 1) * st[k] + (kr[k] - 1) * dl[k] - pb[k];
    win->pad_lo[2 + k] = pb[k] > 0 ? pb[k] : 0;
    win->pad_hi[2 + k] = hi > wt->dims[2 + k] - 1 ? hi - (wt->dims[2 + k] - 1) : 0;
  }
  epilogue(n, nd);
  return true;
}

static bool lower_gemm(Lower *L, const Node *nd) {
  const Tensor *A = &L->g->tensors[nd->in[0]], *B = &L->g->tensors[nd->in[1]];
  const Tensor *o = &L->g->tensors[nd->out[0]];
  Nest *n = new_nest(L, NK_MAC, nd, NULL);
  if (!n) return false;
  bool gemm = nd->op == OP_GEMM;
  int orank = o->rank;
  /* MatMul (numpy semantics): a 1-D A or B is a vector; the output's batch
   * dims (all but its last two, or one for a vector operand) become G when
   * at most one of them is larger than 1 (attention's [1, heads, M, C] x
   * [1, heads, C, K], tokens [B, T, C] x [C, K]): every operand indexes that
   * dim with G, or 0 where it broadcasts.  With several batch dims larger
   * than 1 the operands are accessed whole, as views, the batch folded into
   * G (B batched) or into the rows N. */
  bool avec = !gemm && A->rank == 1, bvec = !gemm && B->rank == 1;
  int obatch = gemm ? 0 : orank - (avec ? 0 : 1) - (bvec ? 0 : 1); /* output batch dims */
  int nbig = 0, gdim = -1;
  for (int k = 0; k < obatch; k++)
    if (o->dims[k] > 1) nbig++, gdim = k;
  bool affine = gemm || nbig <= 1;
  bool batched_b = !gemm && B->rank > 2;
  int64_t batch = 1;
  if (affine)
    batch = gdim >= 0 ? o->dims[gdim] : 1;
  else if (batched_b)
    for (int k = 0; k < obatch; k++) batch *= o->dims[k];
  int64_t cols = bvec ? 1 : o->dims[orank - 1];
  int64_t rows = avec ? 1 : tensor_numel(o) / cols / batch;
  int64_t Kin = gemm ? (nd->a.trans_a ? A->dims[0] : A->dims[1]) : A->dims[A->rank - 1];
  int64_t bound[NDIMS] = {[DIM_N] = rows, [DIM_G] = batch, [DIM_K] = cols, [DIM_C] = Kin,
                          [DIM_P] = 1,    [DIM_Q] = 1,     [DIM_R] = 1,    [DIM_S] = 1};
  int pos[NDIMS];
  mac_dims(n, bound, pos);
  Access *I = acc(n, ROLE_I, ACC_READ, mt(L, nd->in[0]), A->rank);
  if (gemm) {
    ix(I, nd->a.trans_a ? 1 : 0, pos[DIM_N], 1, -1, 0, 0);
    ix(I, nd->a.trans_a ? 0 : 1, pos[DIM_C], 1, -1, 0, 0);
  } else if (avec) {
    ix(I, 0, pos[DIM_C], 1, -1, 0, 0);
  } else if (!affine) {
    I->ix = IX_WHOLE;
  } else {
    for (int k = 0; k < A->rank - 2; k++) {
      int od = obatch - (A->rank - 2) + k; /* the output batch dim it aligns with */
      ix(I, k, od == gdim && A->dims[k] > 1 ? pos[DIM_G] : -1, 1, -1, 0, 0);
    }
    ix(I, A->rank - 2, pos[DIM_N], 1, -1, 0, 0);
    ix(I, A->rank - 1, pos[DIM_C], 1, -1, 0, 0);
  }
  Access *W = acc(n, ROLE_W, ACC_READ, mt(L, nd->in[1]), B->rank);
  if (gemm) {
    ix(W, nd->a.trans_b ? 1 : 0, pos[DIM_C], 1, -1, 0, 0);
    ix(W, nd->a.trans_b ? 0 : 1, pos[DIM_K], 1, -1, 0, 0);
  } else if (bvec) {
    ix(W, 0, pos[DIM_C], 1, -1, 0, 0);
  } else if (!affine) {
    W->ix = IX_WHOLE;
  } else {
    for (int k = 0; k < B->rank - 2; k++) {
      int od = obatch - (B->rank - 2) + k;
      ix(W, k, od == gdim && B->dims[k] > 1 ? pos[DIM_G] : -1, 1, -1, 0, 0);
    }
    ix(W, B->rank - 2, pos[DIM_C], 1, -1, 0, 0);
    ix(W, B->rank - 1, pos[DIM_K], 1, -1, 0, 0);
  }
  if (gemm && nd->nin > 2 && nd->in[2]) {
    const Tensor *C = &L->g->tensors[nd->in[2]];
    Access *Bi = acc(n, ROLE_B, ACC_READ, mt(L, nd->in[2]), C->rank);
    for (int k = 0; k < C->rank; k++) {
      int od = 2 - C->rank + k; /* which output dim this broadcasts against */
      ix(Bi, k, C->dims[k] == 1 ? -1 : (od == 0 ? pos[DIM_N] : pos[DIM_K]), 1, -1, 0, 0);
    }
    n->has_bias = true;
    n->param.f.mac.alpha = nd->a.alpha;
    n->param.f.mac.beta = nd->a.beta;
  } else if (gemm) {
    n->param.f.mac.alpha = nd->a.alpha;
  } else if (nd->nin > 2 && nd->in[2]) {
    /* A bias folded by fuse-act (fold.c): [K] or [1, ..., 1, K], indexed
     * by K as the output's last dim is; affine by fold_bias's conditions. */
    const Tensor *C = &L->g->tensors[nd->in[2]];
    Access *Bi = acc(n, ROLE_B, ACC_READ, mt(L, nd->in[2]), C->rank);
    for (int k = 0; k < C->rank; k++) ix(Bi, k, k == C->rank - 1 ? pos[DIM_K] : -1, 1, -1, 0, 0);
    n->has_bias = true;
  }
  /* An operand that broadcasts over the batch G (a Linear's W on a batch of
   * token sequences, or an A of batch 1) is indexed without G, but the cost
   * model's problem has conv projections, where G indexes every tensor: it
   * counts such an operand's tiles per batch, an upper bound on its traffic
   * and buffer use (the runtime moves it once: golden
   * run_moved_matmul_batched).  Said, not silent. */
  if (!gemm && affine && gdim >= 0)
    for (int op = 0; op < 2; op++) {
      const Tensor *T = op ? B : A;
      bool vec = op ? bvec : avec;
      int k = vec ? -1 : gdim - obatch + (T->rank - 2); /* its dim aligned with G, if any */
      if (k < 0 || T->dims[k] == 1)
        diag_warn(L->d, nd->name,
                  "MatMul operand '%s' broadcasts over the batch (G = %" PRId64
                  "): the cost model counts its traffic and buffer use as if each batch read "
                  "its own copy, an upper bound (docs/transformers.md, \"Broadcast operands\")",
                  T->name, batch);
    }
  Access *O = acc(n, ROLE_O, ACC_UPDATE, mt(L, nd->out[0]), orank);
  if (gemm) {
    ix(O, 0, pos[DIM_N], 1, -1, 0, 0);
    ix(O, 1, pos[DIM_K], 1, -1, 0, 0);
  } else if (affine) {
    for (int k = 0; k < obatch; k++) ix(O, k, k == gdim ? pos[DIM_G] : -1, 1, -1, 0, 0);
    if (!avec) ix(O, obatch, pos[DIM_N], 1, -1, 0, 0);
    if (!bvec) ix(O, orank - 1, pos[DIM_K], 1, -1, 0, 0);
  } else {
    O->ix = IX_WHOLE; /* [batch..., M, N] viewed as [rows, N] or [G, rows, N] */
  }
  epilogue(n, nd);
  return true;
}

/* A vec nest over the output's dims, reading each input with broadcasting. */
static bool lower_elementwise(Lower *L, const Node *nd, VecOp vop) {
  const Tensor *o = &L->g->tensors[nd->out[0]];
  Nest *n = new_nest(L, NK_VEC, nd, NULL);
  if (!n) return false;
  n->vop = vop;
  static const char *const dn[] = {"d0", "d1", "d2", "d3", "d4", "d5", "d6", "d7"};
  for (int k = 0; k < o->rank; k++) dim(n, dn[k], o->dims[k], false);
  static const Role roles[] = {ROLE_X, ROLE_Y, ROLE_Z, ROLE_U, ROLE_V, ROLE_A};
  for (int i = 0; i < nd->nin && i < 6; i++) {
    if (!nd->in[i]) continue;
    const Tensor *t = &L->g->tensors[nd->in[i]];
    Access *a = acc(n, roles[i], ACC_READ, mt(L, nd->in[i]), t->rank);
    for (int k = 0; k < t->rank; k++) {
      int od = o->rank - t->rank + k;
      ix(a, k, t->dims[k] == 1 && o->dims[od] != 1 ? -1 : od, 1, -1, 0, 0);
    }
  }
  Access *y = acc(n, ROLE_O, ACC_WRITE, mt(L, nd->out[0]), o->rank);
  for (int k = 0; k < o->rank; k++) ix(y, k, k, 1, -1, 0, 0);
  return true;
}

static bool lower_pool(Lower *L, const Node *nd) {
  const Tensor *x = &L->g->tensors[nd->in[0]], *o = &L->g->tensors[nd->out[0]];
  const Attrs *a = &nd->a;
  if (x->rank > 4) /* the vector nest has two window dims: on the host */
    return lower_whole(L, nd, NK_VEC, op_name(nd->op));
  Nest *n = new_nest(L, NK_VEC, nd, NULL);
  if (!n) return false;
  bool global = nd->op == OP_GLOBALAVGPOOL, two = x->rank == 4;
  n->vop = nd->op == OP_MAXPOOL ? VOP_MAXPOOL : global ? VOP_GLOBALAVGPOOL : VOP_AVGPOOL;
  dim(n, "N", x->dims[0], false);
  dim(n, "C", x->dims[1], false);
  dim(n, "P", o->dims[2], false);
  dim(n, "Q", two ? o->dims[3] : 1, false);
  int64_t kr[2] = {global ? x->dims[2] : a->kernel[0],
                   global ? (two ? x->dims[3] : 1) : (two ? a->kernel[1] : 1)};
  dim(n, "R", kr[0], true);
  dim(n, "S", kr[1], true);
  Access *X = acc(n, ROLE_X, ACC_READ, mt(L, nd->in[0]), x->rank);
  ix(X, 0, 0, 1, -1, 0, 0);
  ix(X, 1, 1, 1, -1, 0, 0);
  for (int k = 0; k < x->rank - 2; k++) {
    int64_t s = global ? 1 : a->strides[k], dl = global ? 1 : a->dilations[k];
    int64_t pb = global ? 0 : a->pads[k];
    ix(X, 2 + k, global ? -1 : 2 + k, s, 4 + k, dl, -pb);
    int64_t hi = (o->dims[2 + k] - 1) * (global ? 0 : s) + (kr[k] - 1) * dl - pb;
    X->pad_lo[2 + k] = pb;
    X->pad_hi[2 + k] = hi > x->dims[2 + k] - 1 ? hi - (x->dims[2 + k] - 1) : 0;
  }
  Access *Y = acc(n, ROLE_O, ACC_UPDATE, mt(L, nd->out[0]), o->rank);
  ix(Y, 0, 0, 1, -1, 0, 0);
  ix(Y, 1, 1, 1, -1, 0, 0);
  for (int k = 0; k < o->rank - 2; k++) ix(Y, 2 + k, 2 + k, 1, -1, 0, 0);
  n->param.i.pool.count_include_pad = a->count_include_pad;
  return true;
}

/* vec/move nests over the input's dims with some dims reduced (softmax, reducemean). */
static bool lower_reduce(Lower *L, const Node *nd, VecOp vop) {
  const Tensor *x = &L->g->tensors[nd->in[0]], *o = &L->g->tensors[nd->out[0]];
  Nest *n = new_nest(L, NK_VEC, nd, NULL);
  if (!n) return false;
  n->vop = vop;
  static const char *const dn[] = {"d0", "d1", "d2", "d3", "d4", "d5", "d6", "d7"};
  bool red[NAASC_MAX_RANK] = {0};
  if (nd->op == OP_SOFTMAX) {
    /* opset 13: one axis; before it, every axis from `axis` on (a 2-D coercion). */
    for (int k = 0; k < x->rank; k++)
      red[k] = L->g->opset >= 13 ? k == nd->a.axis : k >= nd->a.axis;
    n->param.i.softmax.axis = nd->a.axis;
  } else {
    for (int i = 0; i < nd->a.naxes; i++) red[nd->a.axes[i]] = true;
  }
  for (int k = 0; k < x->rank; k++) dim(n, dn[k], x->dims[k], red[k]);
  Access *X = acc(n, ROLE_X, ACC_READ, mt(L, nd->in[0]), x->rank);
  for (int k = 0; k < x->rank; k++) ix(X, k, k, 1, -1, 0, 0);
  Access *Y =
      acc(n, ROLE_O, nd->op == OP_SOFTMAX ? ACC_WRITE : ACC_UPDATE, mt(L, nd->out[0]), o->rank);
  for (int k = 0, j = 0; k < x->rank; k++) {
    if (nd->op == OP_SOFTMAX)
      ix(Y, j++, k, 1, -1, 0, 0);
    else if (!red[k])
      ix(Y, j++, k, 1, -1, 0, 0);
    else if (nd->a.keepdims)
      ix(Y, j++, -1, 0, -1, 0, 0);
  }
  return true;
}

static bool lower_move(Lower *L, const Node *nd) {
  const Tensor *o = &L->g->tensors[nd->out[0]];
  static const char *const dn[] = {"d0", "d1", "d2", "d3", "d4", "d5", "d6", "d7"};
  const Attrs *a = &nd->a;
  if (nd->op == OP_CONCAT) {
    int64_t off = 0;
    for (int i = 0; i < nd->nin; i++) {
      const Tensor *t = &L->g->tensors[nd->in[i]];
      if (tensor_numel(t) == 0) continue; /* an empty input (a constant) adds nothing */
      Nest *n = new_nest(L, NK_MOVE, nd, arena_printf(&L->m->arena, ".%d", i));
      if (!n) return false;
      n->vop = VOP_COPY;
      for (int k = 0; k < t->rank; k++) dim(n, dn[k], t->dims[k], false);
      Access *X = acc(n, ROLE_X, ACC_READ, mt(L, nd->in[i]), t->rank);
      Access *Y = acc(n, ROLE_O, ACC_WRITE, mt(L, nd->out[0]), o->rank);
      for (int k = 0; k < t->rank; k++) {
        ix(X, k, k, 1, -1, 0, 0);
        ix(Y, k, k, 1, -1, 0, k == a->axis ? off : 0);
      }
      off += t->dims[a->axis];
    }
    return true;
  }
  Nest *n = new_nest(L, NK_MOVE, nd, NULL);
  if (!n) return false;
  const Tensor *x = &L->g->tensors[nd->in[0]];
  for (int k = 0; k < o->rank; k++) dim(n, dn[k], o->dims[k], false);
  Access *X = acc(n, ROLE_X, ACC_READ, mt(L, nd->in[0]), x->rank);
  if (nd->op == OP_TRANSPOSE) {
    n->vop = VOP_TRANSPOSE;
    for (int k = 0; k < o->rank; k++) ix(X, (int)a->axes[k], k, 1, -1, 0, 0);
  } else if (nd->op == OP_SLICE) {
    n->vop = VOP_SLICE;
    for (int k = 0; k < x->rank; k++) ix(X, k, k, 1, -1, 0, 0);
    for (int i = 0; i < a->naxes; i++)
      ix(X, (int)a->axes[i], (int)a->axes[i], a->steps[i], -1, 0, a->starts[i]);
  } else { /* gather with a computed index */
    n->vop = VOP_GATHER;
    n->param.i.gather.axis = a->axis;
    X->ix = IX_GATHER;
    const Tensor *t = &L->g->tensors[nd->in[1]];
    Access *I = acc(n, ROLE_IDX, ACC_READ, mt(L, nd->in[1]), t->rank);
    I->ix = IX_GATHER;
  }
  Access *Y = acc(n, ROLE_O, ACC_WRITE, mt(L, nd->out[0]), o->rank);
  for (int k = 0; k < o->rank; k++) ix(Y, k, k, 1, -1, 0, 0);
  return true;
}

/* A nest of whole accesses: a view (host_op NULL), or an op run on the
 * host (VOP_HOST, host_op its ONNX op type). */
static bool lower_whole(Lower *L, const Node *nd, NestKind kind, const char *host_op) {
  Nest *n = new_nest(L, kind, nd, NULL);
  if (!n) return false;
  if (host_op) {
    n->vop = VOP_HOST;
    if (!(n->host_op = arena_strdup(&L->m->arena, host_op))) return false;
    /* The node itself, for the runtime's host evaluator; a node the ONNX
     * writer refuses (an unknown op) gets none, and the runtime says so. */
    uint8_t *blob = NULL;
    size_t len = 0;
    Diag quiet;
    diag_init(&quiet, NULL, NULL);
    if (nd->op != OP_HOST && onnx_encode_node(L->g, nd, &blob, &len, &quiet) == RC_OK) {
      uint8_t *copy = arena_alloc(&L->m->arena, len ? len : 1);
      if (!copy) {
        xfree(blob);
        return false;
      }
      memcpy(copy, blob, len);
      n->host_blob = copy;
      n->host_blob_len = len;
    }
    xfree(blob);
  }
  static const Role roles[] = {ROLE_X, ROLE_Y, ROLE_Z, ROLE_U, ROLE_V, ROLE_A, ROLE_B, ROLE_C};
  int nres = 0; /* the results get their accesses first; reads take what is left */
  for (int i = 0; i < nd->nout; i++) nres += nd->out[i] != 0;
  int max_reads = NEST_MAX_ACCESS - (nres < 1 ? 1 : nres);
  for (int i = 0; i < nd->nin && n->nacc < max_reads; i++) {
    if (!nd->in[i]) continue;
    /* A host node's constants travel inside its blob: no weight of the
     * stream unless another layer reads it. */
    const Tensor *T = &L->g->tensors[nd->in[i]];
    if (n->host_blob && T->kind == TK_CONST && (T->data || tensor_numel(T) == 0))
      continue; /* (an empty one, ReduceSum's axes [], has no data to carry) */
    Access *a = acc(n, roles[n->nacc], ACC_READ, mt(L, nd->in[i]), 0);
    a->ix = IX_WHOLE;
  }
  for (int i = 0; i < nd->nout && n->nacc < NEST_MAX_ACCESS; i++) {
    if (!nd->out[i]) continue;
    Access *a = acc(n, i ? (Role)(ROLE_O1 + i - 1) : ROLE_O, ACC_WRITE, mt(L, nd->out[i]), 0);
    a->ix = IX_WHOLE;
  }
  return true;
}

/* ---- integer mac layers ---------------------------------------------------- */

/* The one value of a constant scalar (or one-element) tensor t of a
 * numeric type: false if t is not one (computed at run time, per channel). */
static bool const_scalar(const Model *g, TensorId t, double *f, int64_t *i) {
  const Tensor *T = &g->tensors[t];
  if (T->kind != TK_CONST || !T->data || tensor_numel(T) != 1 || !dtype_size(T->dtype))
    return false;
  if (f) *f = elem_get_f(T->dtype, T->data, 0);
  if (i) *i = elem_get_i(T->dtype, T->data, 0);
  return true;
}

static bool int8(DType t) { return t == DT_U8 || t == DT_I8; }

/* How an integer mac layer gets one of its zero points or its weight scale
 * (lower_qmac): a constant scalar goes into the nest's parameters; a
 * tensor of one element (computed at run time, DynamicQuantizeLinear's
 * y_zero_point) or a 1-D tensor of `len` elements (per output channel, per
 * row of a matmul's A or per column of its B) is read as an operand. */
typedef enum { QP_ABSENT, QP_PARAM, QP_OPERAND, QP_NO } QParam;

static QParam qparam(const Model *g, const Node *nd, int k, DType want, int64_t len, double *f,
                     int64_t *i) {
  if (nd->nin <= k || !nd->in[k]) return QP_ABSENT;
  TensorId t = nd->in[k];
  const Tensor *T = &g->tensors[t];
  if (T->dtype != want) return QP_NO;
  if (const_scalar(g, t, f, i)) return QP_PARAM;
  /* not I, W or O as well: qmac.c widens those in place */
  int wi = nd->op == OP_QLINEARCONV || nd->op == OP_QLINEARMATMUL ? 3 : 1;
  if (t == nd->in[0] || (nd->nin > wi && t == nd->in[wi]) || t == nd->out[0]) return QP_NO;
  int64_t numel = tensor_numel(T);
  if (numel == 1) return QP_OPERAND;
  return T->rank == 1 && len > 1 && T->dims[0] == len ? QP_OPERAND : QP_NO;
}

/* Adds the read of tensor t as the nest's operand `role` before its result
 * (the result access stays the last): index 0 in every dim of a
 * one-element tensor, else (a 1-D one) the index `like` of the operand the
 * values belong to. */
static void qoperand(Lower *L, Nest *n, TensorId t, Role role, const Affine *like) {
  const Tensor *T = &L->g->tensors[t];
  Access o = n->acc[--n->nacc];
  Access *a = acc(n, role, ACC_READ, mt(L, t), T->rank);
  if (tensor_numel(T) != 1 && like) a->idx[0] = *like;
  n->acc[n->nacc++] = o;
}

/* ConvInteger, QLinearConv, MatMulInteger and QLinearMatMul as a mac nest of 8-bit
 * operands summed in i32 (the PE array's 8-bit MACs, docs/ir.md "Integer
 * mac nests").  Constant scalar zero points (and the QLinear ops'
 * requantization multiplier, x_scale * w_scale / y_scale in f32 as ONNX
 * Runtime computes it) go into the nest's parameters; a zero point of one
 * element computed at run time, or one per channel (W's per output
 * channel, B's per column, A's per row), is read as an operand (Xzp, Wzp,
 * Yzp), and so is a per-channel or run-time weight scale (Ws) and a
 * run-time scalar x_scale (Xs, DynamicQuantizeLinear's y_scale) or y_scale
 * (Ys); the constant scales go into the parameters (NestParams mac.scale,
 * mac.yscale).  A per-row x_scale or y_scale, more operands than a nest
 * holds (NEST_MAX_ACCESS = 8: I, W, O and a bias with a run-time x_scale
 * and x_zero_point and a per-channel w_scale and w_zero_point fill it, a
 * run-time y_scale as well is one too many), a 3-D convolution or a matmul
 * of several batch dims run on the host instead, as the ONNX node. */
static bool lower_qmac(Lower *L, const Node *nd) {
  const Model *g = L->g;
  bool qc = nd->op == OP_QLINEARCONV || nd->op == OP_QLINEARMATMUL; /* requantized */
  bool conv = nd->op == OP_QLINEARCONV || nd->op == OP_CONVINTEGER;
  int xi = 0, wi = qc ? 3 : 1, xzi = 2, wzi = qc ? 5 : 3;
  TensorId in[3] = {nd->in[xi], nd->nin > wi ? nd->in[wi] : 0, qc && nd->nin > 8 ? nd->in[8] : 0};
  int64_t xzp = 0, wzp = 0, yzp = 0;
  double xs = 0, ws = 0, ys = 0;
  bool ok = in[0] && in[1] && int8(g->tensors[in[0]].dtype) && int8(g->tensors[in[1]].dtype) &&
            (!qc || int8(g->tensors[nd->out[0]].dtype));
  const Tensor *A = ok ? &g->tensors[in[0]] : NULL, *B = ok ? &g->tensors[in[1]] : NULL;
  /* The lengths a per-channel vector may have: A's rows, W's output
   * channels (B's columns); 0 where there are none. */
  int64_t rows = ok && !conv && A->rank >= 2 ? A->dims[A->rank - 2] : 0;
  int64_t chans = !ok ? 0 : conv ? B->dims[0] : B->rank >= 2 ? B->dims[B->rank - 1] : 0;
  QParam qx = QP_ABSENT, qw = QP_ABSENT, qy = QP_ABSENT, qs = QP_ABSENT, qxs = QP_ABSENT,
         qys = QP_ABSENT;
  if (ok) {
    qx = qparam(g, nd, xzi, A->dtype, conv ? 0 : rows, NULL, &xzp);
    qw = qparam(g, nd, wzi, B->dtype, chans, NULL, &wzp);
    ok = qx != QP_NO && qw != QP_NO;
  }
  if (ok && qc) { /* x_scale and y_scale: a constant or a run-time scalar (Xs, Ys) */
    qxs = qparam(g, nd, 1, DT_F32, 0, &xs, NULL);
    qys = qparam(g, nd, 6, DT_F32, 0, &ys, NULL);
    qs = qparam(g, nd, 4, DT_F32, chans, &ws, NULL);
    qy = qparam(g, nd, 7, g->tensors[nd->out[0]].dtype, 0, NULL, &yzp);
    ok = (qxs == QP_PARAM || qxs == QP_OPERAND) && (qys == QP_PARAM || qys == QP_OPERAND) &&
         (qs == QP_PARAM || qs == QP_OPERAND) && qy != QP_NO;
  }
  if (ok) { /* the operands must fit in one nest beside I, W, B and O */
    int nops = 3 + (in[2] != 0);
    QParam all[6] = {qx, qw, qy, qs, qxs, qys};
    for (int k = 0; k < 6; k++) nops += all[k] == QP_OPERAND;
    ok = nops <= NEST_MAX_ACCESS;
  }
  if (ok && conv) ok = nd->a.nsp <= 2;
  if (ok && !conv) { /* lower_gemm's affine form: at most one batch dim larger than 1 */
    const Tensor *o = &g->tensors[nd->out[0]];
    int obatch = o->rank - (A->rank == 1 ? 0 : 1) - (B->rank == 1 ? 0 : 1), nbig = 0;
    for (int k = 0; k < obatch; k++) nbig += o->dims[k] > 1;
    ok = nbig <= 1;
  }
  if (!ok) return lower_whole(L, nd, NK_VEC, op_name(nd->op));
  Node tmp = *nd;
  tmp.op = conv ? OP_CONV : OP_MATMUL;
  tmp.in = in;
  tmp.nin = in[2] ? 3 : 2;
  tmp.act = OP_NONE;
  if (!(conv ? lower_conv(L, &tmp) : lower_gemm(L, &tmp))) return false;
  Nest *n = &L->m->nests[L->m->nnests - 1];
  const Access *I = nest_access(n, ROLE_I), *W = nest_access(n, ROLE_W),
               *O = nest_access(n, ROLE_O);
  /* The index a vector operand follows: A's row, W's output channel (B's
   * column), O's channel (column). */
  Affine irow = I->idx[I->rank >= 2 ? I->rank - 2 : 0];
  Affine wch = W->idx[conv ? 0 : W->rank - 1], och = O->idx[conv ? 1 : O->rank - 1];
  if (qx == QP_OPERAND) qoperand(L, n, nd->in[xzi], ROLE_XZP, &irow);
  if (qw == QP_OPERAND) qoperand(L, n, nd->in[wzi], ROLE_WZP, &wch);
  if (qy == QP_OPERAND) qoperand(L, n, nd->in[7], ROLE_YZP, &och);
  if (qs == QP_OPERAND) qoperand(L, n, nd->in[4], ROLE_WS, &och);
  if (qxs == QP_OPERAND) qoperand(L, n, nd->in[1], ROLE_XS, NULL);
  if (qys == QP_OPERAND) qoperand(L, n, nd->in[6], ROLE_YS, NULL);
  n->param.i.mac.xzp = xzp;
  n->param.i.mac.wzp = wzp;
  n->param.i.mac.yzp = yzp;
  if (!qc) return true;
  /* The multiplier is ONNX Runtime's, (x_scale * w_scale[c]) / y_scale in
   * f32, left to right (QLinearConv and QLinearMatMul compute their
   * output_scales so).  All constants: computed here, in f32 (float
   * operands: C evaluates float * float and float / float in float on
   * FLT_EVAL_METHOD 0 targets).  Else the runtime computes (scale * Xs *
   * Ws[c]) / y (runtime/qmac.c), which is the same f32 value: scale holds
   * the constant factor of x_scale * w_scale, and f32 multiplication is
   * commutative and exact by 1, so scale * Xs with scale = w_scale is
   * x_scale * w_scale, 1 * Xs * Ws[c] is x_scale * w_scale[c], and a
   * constant product x_scale * w_scale is rounded once, here, as ONNX
   * Runtime rounds it before it divides by a run-time y_scale. */
  float fx = (float)xs, fw = (float)ws, fy = (float)ys;
  if (qs == QP_PARAM && qxs == QP_PARAM && qys == QP_PARAM) {
    n->param.f.mac.scale = fx * fw / fy;
    return true;
  }
  n->param.f.mac.scale = qs == QP_PARAM && qxs == QP_PARAM ? fx * fw
                         : qs == QP_PARAM                  ? fw
                         : qxs == QP_PARAM                 ? fx
                                                           : 1.0f;
  n->param.f.mac.yscale = qys == QP_PARAM ? fy : 0.0f;
  return true;
}

static VecOp vec_op(Op op) {
  switch (op) {
  case OP_RELU: return VOP_RELU;
  case OP_CLIP: return VOP_CLIP;
  case OP_LEAKYRELU: return VOP_LEAKYRELU;
  case OP_HARDSIGMOID: return VOP_HARDSIGMOID;
  case OP_HARDSWISH: return VOP_HARDSWISH;
  case OP_SIGMOID: return VOP_SIGMOID;
  case OP_SQRT: return VOP_SQRT;
  case OP_ADD: return VOP_ADD;
  case OP_SUB: return VOP_SUB;
  case OP_MUL: return VOP_MUL;
  case OP_DIV: return VOP_DIV;
  case OP_MAX: return VOP_MAX;
  case OP_POW: return VOP_POW;
  case OP_CAST: return VOP_CAST;
  case OP_BATCHNORM: return VOP_BATCHNORM;
  default: return VOP_NONE;
  }
}

const char *lower_target(Op op) {
  switch (op) {
  case OP_CONV:
  case OP_CONVTRANSPOSE:
  case OP_GEMM:
  case OP_MATMUL:
  case OP_CONVINTEGER:
  case OP_QLINEARCONV:
  case OP_MATMULINTEGER:
  case OP_QLINEARMATMUL: return "mac nest (PE array)";
  case OP_MAXPOOL:
  case OP_AVGPOOL:
  case OP_GLOBALAVGPOOL:
  case OP_SOFTMAX:
  case OP_REDUCEMEAN:
  case OP_CONCAT:
  case OP_TRANSPOSE:
  case OP_SLICE:
  case OP_GATHER:
  case OP_RESIZE: return "vector nest";
  case OP_RESHAPE:
  case OP_FLATTEN:
  case OP_SQUEEZE:
  case OP_UNSQUEEZE:
  case OP_IDENTITY:
  case OP_DROPOUT:
  case OP_CONSTANT: return "view";
  default: return vec_op(op) ? "vector nest" : "host nest";
  }
}

/* A dim of bound 1 takes only the value 0, so its coefficients are
 * immaterial: one past the command stream's range (+-2^31, docs/cmd-format.md;
 * a Slice step or a stride along an axis of one output) becomes 1. */
static void unit_dim_coefs(Module *m) {
  for (uint32_t i = 0; i < m->nnests; i++) {
    Nest *n = &m->nests[i];
    for (int a = 0; a < n->nacc; a++)
      for (int q = 0; q < n->acc[a].rank; q++)
        for (int d = 0; d < n->ndims; d++) {
          int64_t *c = &n->acc[a].idx[q].coef[d];
          if (n->dims[d].bound == 1 && (*c > (INT64_C(1) << 31) || *c < -(INT64_C(1) << 31)))
            *c = 1;
        }
  }
}

Rc lower_model(const Model *g, Module **out, Diag *d) {
  *out = NULL;
  Lower L = {g, module_create(g->name), xcalloc(g->ntensors + 1, sizeof(uint32_t)), d};
  if (!L.m || !L.tmap) goto oom;
  /* Graph inputs and outputs first, in order, so the module lists them at the top. */
  for (uint32_t i = 0; i < g->ninputs; i++) {
    const Tensor *T = &g->tensors[g->inputs[i]];
    if ((T->kind == TK_CONST || T->is_param) && tensor_numel(T) == 0)
      continue; /* an empty bound input (ReduceSum's axes []): declared if a nest reads it */
    if (!mt(&L, g->inputs[i])) goto oom;
  }
  for (uint32_t i = 1; i < g->nnodes; i++) {
    const Node *nd = &g->nodes[i];
    if (nd->dead) continue;
    bool ok;
    VecOp v;
    switch (nd->op) {
    case OP_CONV:
    case OP_CONVTRANSPOSE: ok = lower_conv(&L, nd); break;
    case OP_GEMM:
    case OP_MATMUL: ok = lower_gemm(&L, nd); break;
    case OP_CONVINTEGER:
    case OP_QLINEARCONV:
    case OP_MATMULINTEGER:
    case OP_QLINEARMATMUL: ok = lower_qmac(&L, nd); break;
    case OP_MAXPOOL:
    case OP_AVGPOOL:
    case OP_GLOBALAVGPOOL: ok = lower_pool(&L, nd); break;
    case OP_SOFTMAX: ok = lower_reduce(&L, nd, VOP_SOFTMAX); break;
    case OP_REDUCEMEAN: ok = lower_reduce(&L, nd, VOP_REDUCEMEAN); break;
    case OP_CONCAT:
    case OP_TRANSPOSE:
    case OP_SLICE:
    case OP_GATHER: ok = lower_move(&L, nd); break;
    case OP_RESIZE: {
      if (nd->a.rz_mode == RZ_CUBIC ||
          nd->a.rz_coord == RZC_TF_CROP_AND_RESIZE) { /* not on the vector unit */
        ok = lower_whole(&L, nd, NK_VEC, "Resize");
        break;
      }
      ok = lower_elementwise(&L, nd, VOP_RESIZE);
      if (ok) {
        Nest *n = &L.m->nests[L.m->nnests - 1];
        n->acc[0].ix = IX_GATHER;
        n->param.i.resize.mode = nd->a.rz_mode;
        n->param.i.resize.coord = nd->a.rz_coord;
        n->param.i.resize.nearest = nd->a.rz_nearest;
        for (int k = 0; k < 4 && k < g->tensors[nd->in[0]].rank; k++)
          n->param.f.resize.scale[k] = nd->a.rz_scales[k];
      }
      break;
    }
    case OP_RESHAPE:
    case OP_FLATTEN:
    case OP_SQUEEZE:
    case OP_UNSQUEEZE:
    case OP_IDENTITY:
    case OP_DROPOUT: ok = lower_whole(&L, nd, NK_VIEW, NULL); break;
    case OP_HOST: ok = lower_whole(&L, nd, NK_VEC, nd->onnx_op); break;
    case OP_CLIP:
      if (nd->nin > 1) { /* bounds computed at run time (infer.c): on the host */
        ok = lower_whole(&L, nd, NK_VEC, "Clip");
        break;
      }
      /* fall through */
    default:
      if (!(v = vec_op(nd->op))) { /* not lowered yet: run on the host, as OP_HOST */
        ok = lower_whole(&L, nd, NK_VEC, op_name(nd->op));
        break;
      }
      ok = lower_elementwise(&L, nd, v);
      if (ok) {
        Nest *n = &L.m->nests[L.m->nnests - 1];
        const Attrs *a = &nd->a;
        if (nd->op == OP_CLIP) {
          n->param.f.clip.min = a->clip_min;
          n->param.f.clip.max = a->clip_max;
        }
        if (nd->op == OP_LEAKYRELU) n->param.f.leakyrelu.alpha = a->alpha;
        if (nd->op == OP_HARDSIGMOID) {
          n->param.f.hardsigmoid.alpha = a->alpha;
          n->param.f.hardsigmoid.beta = a->beta;
        }
        if (nd->op == OP_BATCHNORM) {
          n->param.f.batchnorm.epsilon = a->epsilon;
          for (int k = 1; k < n->nacc - 1; k++) { /* per-channel vectors index dim 1 */
            Access *ac = &n->acc[k];
            memset(ac->idx, 0, sizeof ac->idx);
            ac->idx[0].coef[1] = 1;
          }
        }
        if (nd->op == OP_CAST) n->param.i.cast.to = a->to;
      }
    }
    if (!ok) {
      if (d->nerrors) goto fail;
      goto oom;
    }
  }
  xfree(L.tmap);
  unit_dim_coefs(L.m);
  *out = L.m;
  return RC_OK;
oom:
  diag_error(d, NULL, "out of memory lowering the model");
fail:
  xfree(L.tmap);
  module_destroy(L.m);
  return d->nerrors ? RC_BADINPUT : RC_INTERNAL;
}
