/*
 * summary.c: MACs and parameters per layer, and the --summary table.
 *
 * MACs (multiply-accumulates) count the PE-array work only (the mac layers,
 * op class 'L'):
 *   Conv, ConvInteger, QLinearConv   N * M * prod(output spatial) * (C/group) * prod(kernel)
 *   ConvTranspose                    N * C * prod(input spatial) * (M/group) * prod(kernel)
 *   Gemm                             M * N * K
 *   MatMul, MatMulInteger, QLinearMatMul   prod(batch) * M * K * N
 * Parameters are the elements of a layer's weight operands (those no node
 * computes: initializers, or graph inputs standing in for them): W and B of
 * Conv/ConvTranspose/Gemm/MatMul and of their integer forms (QLinearConv's
 * W and B are inputs 3 and 8), and the four vectors of a BatchNormalization
 * that could not be folded; and, when they are initializers or zoo
 * parameters (not graph inputs fed at run time, like a KV cache), the
 * tables a Gather or Slice reads (embeddings), the scale and bias of a
 * LayerNormalization, and the non-scalar operands of Add, Mul and Concat (a MatMul's bias, a transformer's position embedding
 * and class token).  The total counts a tensor read by several layers once
 * (GPT-2's token embedding, tied to its output layer).  The op column marks
 * host-class ops "(host)".
 */
#include "frontend/frontend.h"

#include <inttypes.h>

static int64_t numel_of(const Model *m, TensorId t) { return t ? tensor_numel(&m->tensors[t]) : 0; }

/* A weight is an operand no node computes: an initializer, or a graph
 * input standing in for one (zoo --no-weights). */
static bool is_weight(const Model *m, TensorId t) { return t && m->tensors[t].kind != TK_VALUE; }

/* A parameter of the other ops: in a zoo model built in memory (which
 * marks them), a marked tensor; else an initializer (not a graph input fed
 * at run time, such as a KV cache).  A zoo model read back from ONNX counts
 * its constants too (GPT-2's causal mask). */
static bool is_const(const Model *m, TensorId t) {
  for (uint32_t i = 1; i < m->ntensors; i++)
    if (m->tensors[i].is_param) return m->tensors[t].is_param;
  return m->tensors[t].kind == TK_CONST;
}

int64_t node_macs(const Model *m, const Node *n) {
  if (n->dead) return 0;
  const Tensor *x = n->nin ? &m->tensors[n->in[0]] : NULL;
  const Tensor *o = n->nout && n->out[0] ? &m->tensors[n->out[0]] : NULL;
  if (!x || !o) return 0;
  switch (n->op) {
  case OP_CONV: {
    const Tensor *w = &m->tensors[n->in[1]];
    return tensor_numel(o) * tensor_numel(w) / w->dims[0];
  }
  case OP_CONVTRANSPOSE: {
    const Tensor *w = &m->tensors[n->in[1]];
    /* each input element meets (M/group) * prod(kernel) weights */
    return tensor_numel(x) * (tensor_numel(w) / w->dims[0]);
  }
  case OP_GEMM: {
    int64_t K = n->a.trans_a ? x->dims[0] : x->dims[1];
    return tensor_numel(o) * K;
  }
  case OP_MATMUL:
  case OP_MATMULINTEGER:
  case OP_QLINEARMATMUL: return tensor_numel(o) * x->dims[x->rank - 1];
  case OP_CONVINTEGER:
  case OP_QLINEARCONV: {
    const Tensor *w = &m->tensors[n->in[n->op == OP_QLINEARCONV ? 3 : 1]];
    return tensor_numel(o) * tensor_numel(w) / w->dims[0];
  }
  default: return 0;
  }
}

/* Whether input k of n is one of its parameters (the rules above). */
static bool param_input(const Model *m, const Node *n, int k) {
  TensorId t = n->in[k];
  if (!is_weight(m, t)) return false;
  switch (n->op) {
  case OP_CONV:
  case OP_CONVTRANSPOSE:
  case OP_GEMM:
  case OP_MATMUL: return k == 1 || k == 2;
  case OP_CONVINTEGER:
  case OP_MATMULINTEGER: return k == 1;
  case OP_QLINEARCONV:
  case OP_QLINEARMATMUL: return k == 3 || k == 8; /* W (3), and QLinearConv's B (8) */
  case OP_BATCHNORM: return k >= 1 && k < 5;
  case OP_GATHER:
  case OP_SLICE: return k == 0 && is_const(m, t);
  case OP_LAYERNORM: return (k == 1 || k == 2) && is_const(m, t);
  case OP_ADD:
  case OP_MUL:
  case OP_CONCAT: return is_const(m, t) && numel_of(m, t) > 1;
  default: return false;
  }
}

int64_t node_params(const Model *m, const Node *n) {
  if (n->dead) return 0;
  int64_t p = 0;
  for (int k = 0; k < n->nin; k++)
    if (param_input(m, n, k)) p += numel_of(m, n->in[k]);
  return p;
}

static void shape_str(char *buf, size_t n, const Tensor *t) {
  FILE *f = fmemopen(buf, n, "w");
  if (!f) {
    buf[0] = 0;
    return;
  }
  type_print(f, t);
  fclose(f);
}

void summary_print(FILE *f, const Model *m) {
  char ib[96], ob[96], opb[64];
  int64_t macs = 0, params = 0;
  int layers = 0, nodes = 0;
  bool *seen = xcalloc(m->ntensors + 1, sizeof *seen); /* NULL: count shared tensors twice */
  fprintf(f, "%-36s %-26s %-24s %-24s %14s %11s\n", "layer", "op", "input", "output", "MACs",
          "params");
  for (uint32_t i = 1; i < m->nnodes; i++) {
    const Node *n = &m->nodes[i];
    if (n->dead) continue;
    const Tensor *x = n->nin && n->in[0] ? &m->tensors[n->in[0]] : NULL;
    const Tensor *o = n->nout && n->out[0] ? &m->tensors[n->out[0]] : NULL;
    if (x)
      shape_str(ib, sizeof ib, x);
    else
      snprintf(ib, sizeof ib, "-");
    if (o)
      shape_str(ob, sizeof ob, o);
    else
      snprintf(ob, sizeof ob, "-");
    snprintf(opb, sizeof opb, "%s%s%s%s%s", n->op == OP_HOST ? n->onnx_op : op_name(n->op),
             n->bn_folded ? "+BN" : "", n->act ? "+" : "", n->act ? op_name(n->act) : "",
             n->host_only || op_class(n->op) == 'H' ? " (host)" : "");
    int64_t mc = node_macs(m, n), pc = node_params(m, n);
    fprintf(f, "%-36s %-26s %-24s %-24s %14" PRId64 " %11" PRId64 "\n", n->name, opb, ib, ob, mc,
            pc);
    macs += mc;
    params += pc;
    for (int k = 0; seen && pc && k < n->nin; k++) { /* a tensor already counted */
      if (!param_input(m, n, k)) continue;
      if (seen[n->in[k]]) params -= numel_of(m, n->in[k]);
      seen[n->in[k]] = true;
    }
    nodes++;
    layers += op_class(n->op) == 'L';
  }
  xfree(seen);
  fprintf(f, "nodes=%d\n", nodes);
  fprintf(f, "total layers=%d macs=%" PRId64 " params=%" PRId64 "\n", layers, macs, params);
}
