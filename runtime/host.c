/*
 * host.c: the layers run on the host, the ops the accelerator does not run
 * (VOP_HOST: the H class of the op table, and the ops not lowered to the
 * vector unit yet).
 *
 * A host layer's node travels in the stream as a self-contained ONNX model
 * (onnx_encode_node: the node, its subgraphs, its constant inputs).  The
 * loader imports it with frontend/'s importer, so the node gets the same
 * checks and shape inference as any model, and then checks every graph
 * input and output of that model against the program's tensor of the same
 * name: same element type and shape, an input the layer reads, an output
 * the layer writes and not a weight or graph input.  rt_exec_host evaluates
 * the model's nodes in order with host/'s reference evaluator (host_eval;
 * If, Loop and Scan run their subgraphs there, LSTM/GRU/RNN step by step)
 * on the program's tensors, and copies the results into the output tensors.
 *
 * Nothing here is counted as accelerator work: RtLayerCounts records the
 * nodes evaluated, the output elements and the wall time, apart.
 */
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "frontend/frontend.h"
#include "host/host.h"
#include "runtime/internal.h"

/* Whether layer L's nest has an access of kind k to tensor id. */
static bool nest_touches(const Nest *n, int id, AccessKind k) {
  for (int a = 0; a < n->nacc; a++)
    if ((int)n->acc[a].tensor == id && n->acc[a].kind == k) return true;
  return false;
}

static bool same_type(const Tensor *T, const RtTensor *R) {
  if (T->dtype != R->dtype || T->rank != R->rank) return false;
  for (int k = 0; k < T->rank; k++)
    if (T->dims[k] != R->dims[k]) return false;
  return true;
}

bool rt_host_prepare(RtProgram *p, RtLayer *L, const uint8_t *blob, size_t len, const char *where,
                     Diag *d) {
  const Nest *n = &L->nest;
  ImportOptions o;
  import_options_default(&o);
  Model *m = NULL;
  /* The importer's messages name its own input; say which layer it was. */
  Diag sub;
  diag_init(&sub, d->out, where);
  if (onnx_import_buffer(blob, len, NULL, &o, &m, &sub) != RC_OK || !m) {
    d->nerrors += sub.nerrors ? sub.nerrors : 1;
    diag_error(d, where, "layer '%s': its host node (%s) does not import", n->name, n->host_op);
    return false;
  }
  L->host = m;
  L->host_in = arena_alloc(&p->arena, sizeof(int) * (m->ninputs + 1));
  L->host_out = arena_alloc(&p->arena, sizeof(int) * (m->noutputs + 1));
  if (!L->host_in || !L->host_out) {
    diag_error(d, where, "out of memory");
    return false;
  }
  for (uint32_t i = 0; i < m->ninputs; i++) {
    const Tensor *T = &m->tensors[m->inputs[i]];
    int id = rt_find_tensor(p, T->name);
    /* A node of more inputs than a nest has accesses (an If capturing
     * many values) reads some beyond them: any input, weight, or value an
     * earlier layer writes (L is the last layer read so far). */
    bool ok = id && same_type(T, &p->t[id]);
    if (ok && !nest_touches(n, id, ACC_READ) && p->t[id].role != TR_INPUT &&
        p->t[id].role != TR_WEIGHT) {
      ok = false;
      for (int k = 0; k < p->nlayers - 1 && !ok; k++)
        ok = nest_touches(&p->layers[k].nest, id, ACC_WRITE);
    }
    if (!ok) {
      diag_error(d, where,
                 "layer '%s': its host node reads '%s', which is no tensor of that type the "
                 "layer reads or an earlier layer writes",
                 n->name, T->name);
      return false;
    }
    L->host_in[i] = id;
  }
  for (uint32_t i = 0; i < m->noutputs; i++) {
    const Tensor *T = &m->tensors[m->outputs[i]];
    int id = rt_find_tensor(p, T->name);
    if (!id || !nest_touches(n, id, ACC_WRITE) || !same_type(T, &p->t[id]) ||
        p->t[id].role == TR_INPUT || p->t[id].role == TR_WEIGHT) {
      diag_error(d, where,
                 "layer '%s': its host node writes '%s', which is not a result of the layer of "
                 "that type",
                 n->name, T->name);
      return false;
    }
    L->host_out[i] = id;
  }
  /* Every result the layer declares comes from the node. */
  for (int a = 0; a < n->nacc; a++) {
    if (n->acc[a].kind != ACC_WRITE) continue;
    bool found = false;
    for (uint32_t i = 0; i < m->noutputs && !found; i++)
      found = L->host_out[i] == (int)n->acc[a].tensor;
    if (!found) {
      diag_error(d, where, "layer '%s' writes '%s', which its host node does not compute", n->name,
                 p->t[n->acc[a].tensor].name);
      return false;
    }
  }
  L->counts.host = true;
  L->counts.host_op = n->host_op;
  return true;
}

Rc rt_exec_host(RtProgram *p, RtLayer *L, Diag *d) {
  const Model *m = L->host;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  Arena a;
  arena_init(&a);
  Rc rc = RC_OK;
  int64_t nodes = 0, elems = 0;
  HostTensor *v = arena_alloc(&a, sizeof(HostTensor) * m->ntensors);
  if (!v) {
    diag_error(d, L->nest.name, "out of memory");
    rc = RC_INTERNAL;
    goto out;
  }
  for (uint32_t t = 1; t < m->ntensors; t++)
    if (m->tensors[t].kind == TK_CONST) v[t] = host_view(&m->tensors[t]);
  for (uint32_t i = 0; i < m->ninputs; i++) {
    const RtTensor *R = &p->t[L->host_in[i]];
    HostTensor *h = &v[m->inputs[i]];
    h->dtype = R->dtype;
    h->rank = R->rank;
    memcpy(h->dims, R->dims, sizeof h->dims);
    h->data = R->data;
  }
  for (uint32_t i = 1; i < m->nnodes && rc == RC_OK; i++) {
    const Node *nd = &m->nodes[i];
    if (nd->dead) continue;
    HostTensor *in = arena_alloc(&a, sizeof(HostTensor) * (size_t)(nd->nin + 1));
    HostTensor *out = arena_alloc(&a, sizeof(HostTensor) * (size_t)(nd->nout + 1));
    if (!in || !out) {
      diag_error(d, L->nest.name, "out of memory");
      rc = RC_INTERNAL;
      break;
    }
    for (int k = 0; k < nd->nin; k++)
      if (nd->in[k]) in[k] = v[nd->in[k]];
    for (int k = 0; k < nd->nout; k++) {
      if (!nd->out[k]) continue;
      out[k] = host_view(&m->tensors[nd->out[k]]);
      out[k].data = NULL;
      if (!tensor_shape_known(&m->tensors[nd->out[k]])) out[k].rank = -1;
    }
    rc = host_eval(m, nd, in, nd->nin, out, nd->nout, &a, d);
    for (int k = 0; rc == RC_OK && k < nd->nout; k++)
      if (nd->out[k]) v[nd->out[k]] = out[k];
    nodes++;
  }
  for (uint32_t i = 0; rc == RC_OK && i < m->noutputs; i++) {
    RtTensor *R = &p->t[L->host_out[i]];
    const HostTensor *h = &v[m->outputs[i]];
    if (h->dtype != R->dtype || host_numel(h) != R->numel || (R->numel && !h->data)) {
      diag_error(d, L->nest.name, "the host evaluator's '%s' is not of the type the stream says",
                 R->name);
      rc = RC_INTERNAL;
      break;
    }
    memcpy(R->data, h->data, (size_t)R->numel * dtype_size(R->dtype));
    elems += R->numel;
  }
out:
  arena_free(&a);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  L->counts.host_nodes = nodes;
  L->counts.host_elements = elems;
  L->counts.host_seconds =
      (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
  return rc;
}
