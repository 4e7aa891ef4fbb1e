/*
 * fold.c: graph rewrites after shape inference.
 *
 * graph_fold_bn: Conv -> BatchNormalization becomes one Conv when the conv's
 *   output feeds only the BN and every weight and BN parameter is an f32
 *   constant with data: W'[m] = W[m] * s[m], b'[m] = (b[m] - mean[m]) * s[m]
 *   + beta[m], s = gamma / sqrt(var + eps).  New tensors are made, since a
 *   weight may be shared.  ConvTranspose folds the same way on its output
 *   channels ([C, M/group, ...] weights).
 * graph_fuse_act: first a MatMul's bias Add (MatMul -> Add of a constant
 *   [K] bias, the Linear of PyTorch's exports) becomes the MatMul's third
 *   input, as Gemm's bias is (fold_bias); then an activation whose input is
 *   a float mac layer's (Conv, ConvTranspose, Gemm, MatMul) only use is kept
 *   with that layer (Node.act); the layer then writes the activation's
 *   output.
 */
#include "passes/passes.h"

#include <math.h>
#include <string.h>

static bool f32_const(const Model *m, TensorId t) {
  return t && m->tensors[t].kind == TK_CONST && m->tensors[t].data && m->tensors[t].dtype == DT_F32;
}

static TensorId new_const(Model *m, const char *name, int rank, const int64_t *dims) {
  TensorId t = model_add_tensor(m, name, DT_F32, rank, dims, TK_CONST);
  if (!t) return 0;
  Tensor *T = &m->tensors[t];
  T->is_param = true;
  T->data = arena_alloc(&m->arena, (size_t)tensor_numel(T) * 4);
  return T->data ? t : 0;
}

static float getf(const Tensor *t, int64_t i) {
  float v;
  memcpy(&v, (const char *)t->data + 4 * i, 4);
  return v;
}

static void setf(Tensor *t, int64_t i, float v) { memcpy((char *)t->data + 4 * i, &v, 4); }

Rc graph_fold_bn(Model *m, Diag *d) {
  int *uses = graph_use_counts(m); /* of the tensors before the pass; kept as BNs die */
  if (!uses) {
    diag_error(d, NULL, "out of memory folding BatchNormalization");
    return RC_INTERNAL;
  }
  Rc rc = RC_OK;
  for (uint32_t i = 1; i < m->nnodes; i++) {
    Node *bn = &m->nodes[i];
    if (bn->dead || bn->op != OP_BATCHNORM) continue;
    TensorId x = bn->in[0];
    NodeId p = m->tensors[x].producer;
    if (!p) continue;
    Node *cv = &m->nodes[p];
    if (cv->dead || (cv->op != OP_CONV && cv->op != OP_CONVTRANSPOSE) || cv->act || cv->bn_folded)
      continue;
    if (m->tensors[x].is_output || uses[x] != 1) continue;
    TensorId w = cv->in[1], b = cv->nin > 2 ? cv->in[2] : 0;
    if (!f32_const(m, w) || (b && !f32_const(m, b))) continue;
    bool ok = true;
    for (int k = 1; k < 5; k++) ok = ok && f32_const(m, bn->in[k]);
    if (!ok) continue;

    const Tensor *W = &m->tensors[w];
    int64_t M = m->tensors[x].dims[1];
    int64_t per = 1; /* elements per (row of W) */
    for (int k = 2; k < W->rank; k++) per *= W->dims[k];
    /* Copies: adding tensors may move the tensor array under W. */
    int64_t wdims[NAASC_MAX_RANK];
    int wrank = W->rank;
    memcpy(wdims, W->dims, sizeof wdims);
    TensorId nw = new_const(m, arena_printf(&m->arena, "%s.bnfold", W->name), wrank, wdims);
    TensorId nb = new_const(m, arena_printf(&m->arena, "%s.bias.bnfold", cv->name), 1, &M);
    if (!nw || !nb) {
      diag_error(d, NULL, "out of memory folding BatchNormalization");
      rc = RC_INTERNAL;
      break;
    }
    /* Pointers after the tensor array may have moved. */
    W = &m->tensors[w];
    bn = &m->nodes[i];
    cv = &m->nodes[p];
    const Tensor *g = &m->tensors[bn->in[1]], *be = &m->tensors[bn->in[2]],
                 *mu = &m->tensors[bn->in[3]], *var = &m->tensors[bn->in[4]];
    Tensor *NW = &m->tensors[nw], *NB = &m->tensors[nb];
    float eps = bn->a.epsilon;
    for (int64_t o = 0; o < M; o++) {
      float s = getf(g, o) / sqrtf(getf(var, o) + eps);
      float bias = b ? getf(&m->tensors[b], o) : 0.0f;
      setf(NB, o, (bias - getf(mu, o)) * s + getf(be, o));
    }
    if (cv->op == OP_CONV) {
      for (int64_t o = 0; o < M; o++) {
        float s = getf(g, o) / sqrtf(getf(var, o) + eps);
        int64_t row = W->dims[1] * per;
        for (int64_t k = 0; k < row; k++) setf(NW, o * row + k, getf(W, o * row + k) * s);
      }
    } else {
      int64_t C = W->dims[0], Mg = W->dims[1], cpg = C / cv->a.group;
      for (int64_t ci = 0; ci < C; ci++)
        for (int64_t j = 0; j < Mg; j++) {
          int64_t o = (ci / cpg) * Mg + j;
          float s = getf(g, o) / sqrtf(getf(var, o) + eps);
          for (int64_t k = 0; k < per; k++) {
            int64_t at = (ci * Mg + j) * per + k;
            setf(NW, at, getf(W, at) * s);
          }
        }
    }
    if (cv->nin < 3) {
      TensorId *in = arena_alloc(&m->arena, sizeof(TensorId) * 3);
      if (!in) {
        diag_error(d, NULL, "out of memory folding BatchNormalization");
        rc = RC_INTERNAL;
        break;
      }
      memcpy(in, cv->in, sizeof(TensorId) * (size_t)cv->nin);
      cv->in = in;
      cv->nin = 3;
    }
    cv->in[1] = nw;
    cv->in[2] = nb;
    cv->out[0] = bn->out[0];
    m->tensors[bn->out[0]].producer = p;
    m->tensors[x].producer = 0;
    cv->bn_folded = true;
    bn->dead = true;
    for (int k = 0; k < bn->nin; k++)
      if (bn->in[k]) uses[bn->in[k]]--;
  }
  xfree(uses);
  return rc;
}

/* A MatMul whose output feeds only an Add of a constant bias along the
 * output's last dim (shape [K], or [1, ..., 1, K], the Add's result the
 * MatMul's shape): the MatMul takes the bias as a third input (lowered as
 * its B access, the output initialised with it) and writes the Add's
 * output.  Only MatMuls that lower with affine accesses (neither operand a
 * vector, at most one output batch dim larger than 1: lower.c), f32 with an
 * f32 bias; the bias's data is not needed (--no-weights folds the same). */
static bool bias_foldable(const Model *m, const Node *mm, TensorId x, TensorId b) {
  const Tensor *A = &m->tensors[mm->in[0]], *B = &m->tensors[mm->in[1]], *o = &m->tensors[x];
  const Tensor *bt = &m->tensors[b];
  if (A->rank < 2 || B->rank < 2 || o->rank < 2 || o->dtype != DT_F32) return false;
  if (bt->kind != TK_CONST || bt->dtype != DT_F32 || bt->rank < 1 || bt->rank > o->rank)
    return false;
  if (bt->dims[bt->rank - 1] != o->dims[o->rank - 1]) return false;
  for (int k = 0; k < bt->rank - 1; k++)
    if (bt->dims[k] != 1) return false;
  int nbig = 0;
  for (int k = 0; k < o->rank - 2; k++) nbig += o->dims[k] > 1;
  return nbig <= 1;
}

static Rc fold_bias(Model *m, int *uses, Diag *d) {
  for (uint32_t i = 1; i < m->nnodes; i++) {
    Node *add = &m->nodes[i];
    if (add->dead || add->op != OP_ADD || add->nin != 2 || add->nout != 1) continue;
    for (int side = 0; side < 2; side++) {
      TensorId x = add->in[side], b = add->in[1 - side];
      NodeId p = x ? m->tensors[x].producer : 0;
      if (!p || !b) continue;
      Node *mm = &m->nodes[p];
      if (mm->dead || mm->op != OP_MATMUL || mm->nin != 2 || mm->act || mm->nout != 1) continue;
      if (m->tensors[x].is_output || uses[x] != 1 || !bias_foldable(m, mm, x, b)) continue;
      const Tensor *o = &m->tensors[x], *y = &m->tensors[add->out[0]];
      if (y->rank != o->rank || memcmp(y->dims, o->dims, sizeof(int64_t) * (size_t)o->rank))
        continue;
      TensorId *in = arena_alloc(&m->arena, sizeof(TensorId) * 3);
      if (!in) {
        diag_error(d, add->name, "out of memory folding a bias into its MatMul");
        return RC_INTERNAL;
      }
      memcpy(in, mm->in, sizeof(TensorId) * 2);
      in[2] = b;
      mm->in = in;
      mm->nin = 3;
      mm->out[0] = add->out[0];
      m->tensors[add->out[0]].producer = p;
      m->tensors[x].producer = 0;
      add->dead = true;
      uses[x]--;
      break;
    }
  }
  return RC_OK;
}

static bool is_activation(Op op) {
  return op == OP_RELU || op == OP_CLIP || op == OP_LEAKYRELU || op == OP_HARDSIGMOID ||
         op == OP_HARDSWISH || op == OP_SIGMOID;
}

Rc graph_fuse_act(Model *m, Diag *d) {
  int *uses = graph_use_counts(m); /* kept as activations die; the pass adds no tensor */
  if (!uses) {
    diag_error(d, NULL, "out of memory fusing activations");
    return RC_INTERNAL;
  }
  if (fold_bias(m, uses, d) != RC_OK) {
    xfree(uses);
    return RC_INTERNAL;
  }
  for (uint32_t i = 1; i < m->nnodes; i++) {
    Node *act = &m->nodes[i];
    if (act->dead || !is_activation(act->op)) continue;
    if (act->op == OP_CLIP && act->nin > 1) continue; /* bounds known only at run time */
    TensorId x = act->in[0];
    NodeId p = m->tensors[x].producer;
    if (!p) continue;
    Node *l = &m->nodes[p];
    /* float mac layers only: the integer ones requantize, and lower as host nests for now */
    bool mac =
        l->op == OP_CONV || l->op == OP_CONVTRANSPOSE || l->op == OP_GEMM || l->op == OP_MATMUL;
    if (l->dead || !mac || l->act || l->nout != 1) continue;
    if ((l->op == OP_CONV || l->op == OP_CONVTRANSPOSE) && l->a.nsp > 2)
      continue; /* a 3-D convolution runs on the host, as the ONNX node it is */
    if (m->tensors[x].is_output || uses[x] != 1) continue;
    l->act = act->op;
    l->act_a = act->a;
    l->out[0] = act->out[0];
    m->tensors[act->out[0]].producer = p;
    m->tensors[x].producer = 0;
    act->dead = true;
    for (int k = 0; k < act->nin; k++)
      if (act->in[k]) uses[act->in[k]]--;
  }
  xfree(uses);
  return RC_OK;
}
