/*
 * control.c: host evaluators of If, Loop and Scan: each runs a subgraph
 * (a Model in the holding graph's subs) node by node through host_eval.
 *
 * A subgraph's values: its constants as they are, its TK_OUTER tensors
 * bound to the owning node's inputs (the importer made every captured
 * outer value an input of the owner), its formal inputs given by the
 * caller; each node's outputs take the subgraph's inferred types as their
 * expected types, so a body whose shapes change between iterations fails
 * loudly instead of computing garbage.
 *
 * Memory: a Loop or Scan iteration runs in its own arena; the carried
 * values are copied out of it before it is freed, and each iteration's
 * scan outputs are copied into the caller's arena, so memory stays the
 * size of the outputs whatever the trip count.
 */
#include "host/internal.h"

#include <string.h>

/* Trip counts beyond this are refused (an infinite Loop is a bad model). */
#define MAX_TRIPS (INT64_C(1) << 31)

static HostTensor clone(Arena *a, const HostTensor *t, bool *ok) {
  HostTensor c = *t;
  size_t n = (size_t)host_numel(t) * dtype_size(t->dtype);
  c.data = arena_alloc(a, n ? n : 1);
  if (!c.data)
    *ok = false;
  else if (n)
    memcpy(c.data, t->data, n);
  return c;
}

/* Runs subgraph g with formal inputs fin[0..g->ninputs); its outputs go to
 * res[0..g->noutputs), allocated from a. */
static Rc run_graph(Ev *e, const Model *g, const HostTensor *fin, HostTensor *res, Arena *a) {
  HostTensor *v = arena_alloc(a, sizeof(HostTensor) * g->ntensors);
  if (!v) EOOM();
  for (uint32_t t = 1; t < g->ntensors; t++) {
    const Tensor *T = &g->tensors[t];
    if (T->kind == TK_CONST) {
      v[t] = host_view(T);
    } else if (T->kind == TK_OUTER) {
      if ((int)T->outer >= e->nin || !ev_in(e, (int)T->outer))
        EFAIL("subgraph '%s' reads outer value '%s', which is not bound", g->name, T->name);
      v[t] = e->in[T->outer];
    }
  }
  for (uint32_t i = 0; i < g->ninputs; i++) v[g->inputs[i]] = fin[i];
  for (uint32_t i = 1; i < g->nnodes; i++) {
    const Node *n = &g->nodes[i];
    if (n->dead) continue;
    HostTensor in[64], out[NAASC_MAX_OUTPUTS];
    if (n->nin > 64 || n->nout > NAASC_MAX_OUTPUTS)
      EFAIL("subgraph node '%s' has too many inputs or outputs", n->name);
    for (int k = 0; k < n->nin; k++) {
      memset(&in[k], 0, sizeof in[k]);
      if (!n->in[k]) continue;
      in[k] = v[n->in[k]];
      if (in[k].dtype == DT_UNDEF)
        EFAIL("subgraph '%s': node '%s' reads '%s' before it has a value", g->name, n->name,
              g->tensors[n->in[k]].name);
    }
    for (int k = 0; k < n->nout; k++) {
      memset(&out[k], 0, sizeof out[k]);
      if (!n->out[k]) continue;
      out[k] = host_view(&g->tensors[n->out[k]]);
      out[k].data = NULL;
      if (!tensor_shape_known(&g->tensors[n->out[k]])) out[k].rank = -1;
    }
    Rc rc = host_eval(g, n, in, n->nin, out, n->nout, a, e->d);
    if (rc != RC_OK) return rc;
    for (int k = 0; k < n->nout; k++)
      if (n->out[k]) v[n->out[k]] = out[k];
  }
  for (uint32_t i = 0; i < g->noutputs; i++) {
    res[i] = v[g->outputs[i]];
    if (res[i].dtype == DT_UNDEF) EFAIL("subgraph '%s' output %u has no value", g->name, i);
  }
  return RC_OK;
}

static const Model *sub_of(Ev *e, int k) {
  uint32_t id = e->n->sub[k];
  return id && id < e->m->nsubs ? &e->m->subs[id] : NULL;
}

static Rc eval_if(Ev *e) {
  const HostTensor *c = ev_in(e, 0);
  if (!c || host_numel(c) != 1) EFAIL("If needs a one-element condition");
  const Model *g = sub_of(e, host_get_i(c, 0) ? 0 : 1);
  if (!g) EFAIL("If has no %s branch", host_get_i(c, 0) ? "then" : "else");
  if ((int)g->noutputs != e->nout)
    EFAIL("the branch has %u outputs, the If %d", g->noutputs, e->nout);
  HostTensor *res = ev_alloc(e, sizeof(HostTensor) * g->noutputs);
  if (!res) EOOM();
  ETRY(run_graph(e, g, NULL, res, e->a));
  for (int k = 0; k < e->nout; k++) {
    ETRY(ev_out(e, k, res[k].dtype, res[k].rank, res[k].dims));
    if (ev_want(e, k) && host_numel(&res[k]))
      memcpy(e->out[k].data, res[k].data, (size_t)host_numel(&res[k]) * dtype_size(res[k].dtype));
  }
  return RC_OK;
}

/* Stacks n slices of type t (each `slice` elements) along axis `ax` into
 * output k; slices[i] is the i-th (already ordered). */
static Rc stack(Ev *e, int k, const HostTensor *t, HostTensor *const *slices, int64_t n,
                int64_t ax) {
  int64_t od[NAASC_MAX_RANK];
  int r = t->rank + 1;
  if (r > NAASC_MAX_RANK) EFAIL("a scan output would have rank %d", r);
  if (ax < 0) ax += r;
  if (ax < 0 || ax >= r) EFAIL("scan output axis is out of range");
  for (int q = 0, j = 0; q < r; q++) od[q] = q == ax ? n : t->dims[j++];
  ETRY(ev_out(e, k, t->dtype, r, od));
  if (!ev_want(e, k)) return RC_OK;
  int64_t outer = prod(t->dims, 0, (int)ax), inner = prod(t->dims, (int)ax, t->rank);
  size_t es = dtype_size(t->dtype);
  for (int64_t i = 0; i < n; i++)
    for (int64_t p = 0; p < outer; p++)
      memcpy((char *)e->out[k].data + (size_t)((p * n + i) * inner) * es,
             (const char *)slices[i]->data + (size_t)(p * inner) * es, (size_t)inner * es);
  return RC_OK;
}

static Rc eval_loop(Ev *e) {
  const Model *g = sub_of(e, 0);
  if (!g) EFAIL("Loop has no body");
  int ncarry = e->nin - e->n->ncap - 2;
  if (ncarry < 0) EFAIL("Loop needs M and cond inputs (possibly empty)");
  int nscan = (int)g->noutputs - 1 - ncarry;
  if ((int)g->ninputs != 2 + ncarry || nscan < 0 || e->nout != ncarry + nscan)
    EFAIL("the Loop body's signature does not match the node");
  const HostTensor *M = ev_in(e, 0), *C = ev_in(e, 1);
  int64_t trips = M ? host_get_i(M, 0) : MAX_TRIPS;
  if (!M && !C) EFAIL("a Loop without trip count and condition never ends");
  bool cond = C ? host_get_i(C, 0) != 0 : true;
  Arena keep[2];
  arena_init(&keep[0]);
  arena_init(&keep[1]);
  HostTensor fin[2 + 64], *res = NULL;
  HostTensor **scans = NULL;
  int64_t nit = 0, capit = 0;
  Rc rc = RC_OK;
  bool ok = true;
  if (ncarry > 64) {
    diag_error(e->d, e->where, "Loop carries more than 64 values");
    return RC_BADINPUT;
  }
  res = ev_alloc(e, sizeof(HostTensor) * (g->noutputs ? g->noutputs : 1));
  if (!res) EOOM();
  fin[0].dtype = DT_I64;
  fin[0].rank = 0;
  fin[1].dtype = DT_BOOL;
  fin[1].rank = 0;
  int cur = 0;
  for (int i = 0; i < ncarry; i++) {
    const HostTensor *vi = ev_in(e, 2 + i);
    if (!vi) EFAIL("Loop carried value %d is absent", i);
    fin[2 + i] = clone(&keep[cur], vi, &ok);
  }
  while (ok && rc == RC_OK && cond && nit < trips) {
    if (nit >= MAX_TRIPS) {
      diag_error(e->d, e->where, "Loop did not end within 2^31 iterations");
      rc = RC_BADINPUT;
      break;
    }
    Arena it;
    arena_init(&it);
    int64_t *itp = arena_alloc(&it, 8);
    bool *cp = arena_alloc(&it, 1);
    if (!itp || !cp) {
      arena_free(&it);
      ok = false;
      break;
    }
    *itp = nit;
    *cp = cond;
    fin[0].data = itp;
    fin[1].data = cp;
    rc = run_graph(e, g, fin, res, &it);
    if (rc == RC_OK) {
      cond = host_get_i(&res[0], 0) != 0;
      int nxt = 1 - cur;
      arena_free(&keep[nxt]);
      arena_init(&keep[nxt]);
      for (int i = 0; i < ncarry; i++) fin[2 + i] = clone(&keep[nxt], &res[1 + i], &ok);
      arena_free(&keep[cur]);
      arena_init(&keep[cur]);
      cur = nxt;
      if (nscan) {
        if (nit == capit) {
          int64_t nc = capit ? 2 * capit : 16;
          HostTensor **p = xrealloc(scans, sizeof *p * (size_t)(nc * nscan));
          if (!p)
            ok = false;
          else
            scans = p, capit = nc;
        }
        for (int s = 0; ok && s < nscan; s++) {
          HostTensor *c = arena_alloc(e->a, sizeof *c);
          if (!c) {
            ok = false;
            break;
          }
          *c = clone(e->a, &res[1 + ncarry + s], &ok);
          scans[nit * nscan + s] = c;
        }
      }
      nit++;
    }
    arena_free(&it);
  }
  if (ok && rc == RC_OK) {
    for (int i = 0; i < ncarry && rc == RC_OK; i++) {
      rc = ev_out(e, i, fin[2 + i].dtype, fin[2 + i].rank, fin[2 + i].dims);
      if (rc == RC_OK && ev_want(e, i) && host_numel(&fin[2 + i]))
        memcpy(e->out[i].data, fin[2 + i].data,
               (size_t)host_numel(&fin[2 + i]) * dtype_size(fin[2 + i].dtype));
    }
    for (int s = 0; s < nscan && rc == RC_OK; s++) {
      HostTensor **col = ev_alloc(e, sizeof *col * (size_t)(nit ? nit : 1));
      if (!col) {
        ok = false;
        break;
      }
      for (int64_t i = 0; i < nit; i++) col[i] = scans[i * nscan + s];
      HostTensor proto;
      if (nit) {
        proto = *col[0];
      } else { /* no iteration: the body's inferred slice type */
        proto = host_view(&g->tensors[g->outputs[1 + ncarry + s]]);
      }
      for (int64_t i = 1; i < nit && rc == RC_OK; i++)
        if (col[i]->rank != proto.rank ||
            memcmp(col[i]->dims, proto.dims, sizeof(int64_t) * (size_t)proto.rank)) {
          diag_error(e->d, e->where, "scan output %d changes shape between iterations", s);
          rc = RC_BADINPUT;
        }
      if (rc == RC_OK) rc = stack(e, ncarry + s, &proto, col, nit, 0);
    }
  }
  xfree(scans);
  arena_free(&keep[0]);
  arena_free(&keep[1]);
  if (!ok) EOOM();
  return rc;
}

static Rc eval_scan(Ev *e) {
  const Attrs *a = &e->n->a;
  const Model *g = sub_of(e, 0);
  if (!g) EFAIL("Scan has no body");
  int nin = e->nin - e->n->ncap, nsi = (int)a->num_scan_inputs, nst = nin - nsi;
  int nso = (int)g->noutputs - nst;
  if (nsi < 1 || nst < 0 || nso < 0 || (int)g->ninputs != nin || e->nout != nst + nso)
    EFAIL("the Scan body's signature does not match the node");
  if (nst + nsi > 64) EFAIL("Scan has more than 64 inputs");
  int64_t T = -1;
  const HostTensor *si[64];
  int64_t sax[64], sdir[64];
  for (int i = 0; i < nsi; i++) {
    si[i] = ev_in(e, nst + i);
    if (!si[i]) EFAIL("scan input %d is absent", i);
    sax[i] = i < a->nscan_in_axes ? a->scan_in_axes[i] : 0;
    if (sax[i] < 0) sax[i] += si[i]->rank;
    if (sax[i] < 0 || sax[i] >= si[i]->rank) EFAIL("scan input axis is out of range");
    sdir[i] = i < a->nscan_in_dirs ? a->scan_in_dirs[i] : 0;
    if (T >= 0 && si[i]->dims[sax[i]] != T) EFAIL("scan inputs differ in length");
    T = si[i]->dims[sax[i]];
  }
  Arena keep[2];
  arena_init(&keep[0]);
  arena_init(&keep[1]);
  HostTensor fin[64], *res = ev_alloc(e, sizeof(HostTensor) * (g->noutputs ? g->noutputs : 1));
  HostTensor **scans = ev_alloc(e, sizeof(HostTensor *) * (size_t)((T ? T : 1) * (nso ? nso : 1)));
  if (!res || !scans) EOOM();
  bool ok = true;
  Rc rc = RC_OK;
  int cur = 0;
  for (int i = 0; i < nst; i++) {
    const HostTensor *vi = ev_in(e, i);
    if (!vi) EFAIL("Scan state %d is absent", i);
    fin[i] = clone(&keep[cur], vi, &ok);
  }
  for (int64_t t = 0; t < T && ok && rc == RC_OK; t++) {
    Arena it;
    arena_init(&it);
    for (int i = 0; i < nsi && ok; i++) { /* slice t (or T-1-t) of scan input i along its axis */
      const HostTensor *x = si[i];
      int64_t tt = sdir[i] ? T - 1 - t : t, ax = sax[i];
      HostTensor s;
      memset(&s, 0, sizeof s);
      s.dtype = x->dtype;
      s.rank = x->rank - 1;
      for (int q = 0, j = 0; q < x->rank; q++)
        if (q != ax) s.dims[j++] = x->dims[q];
      int64_t outer = prod(x->dims, 0, (int)ax), inner = prod(x->dims, (int)ax + 1, x->rank);
      size_t es = dtype_size(x->dtype);
      s.data = arena_alloc(&it, (size_t)(outer * inner) * es + 1);
      if (!s.data) {
        ok = false;
        break;
      }
      for (int64_t p = 0; p < outer; p++)
        memcpy((char *)s.data + (size_t)(p * inner) * es,
               (const char *)x->data + (size_t)((p * T + tt) * inner) * es, (size_t)inner * es);
      fin[nst + i] = s;
    }
    if (ok) rc = run_graph(e, g, fin, res, &it);
    if (ok && rc == RC_OK) {
      int nxt = 1 - cur;
      arena_free(&keep[nxt]);
      arena_init(&keep[nxt]);
      for (int i = 0; i < nst; i++) fin[i] = clone(&keep[nxt], &res[i], &ok);
      arena_free(&keep[cur]);
      arena_init(&keep[cur]);
      cur = nxt;
      for (int s = 0; s < nso && ok; s++) {
        HostTensor *c = arena_alloc(e->a, sizeof *c);
        if (!c) {
          ok = false;
          break;
        }
        *c = clone(e->a, &res[nst + s], &ok);
        scans[t * nso + s] = c;
      }
    }
    arena_free(&it);
  }
  if (ok && rc == RC_OK) {
    for (int i = 0; i < nst && rc == RC_OK; i++) {
      rc = ev_out(e, i, fin[i].dtype, fin[i].rank, fin[i].dims);
      if (rc == RC_OK && ev_want(e, i) && host_numel(&fin[i]))
        memcpy(e->out[i].data, fin[i].data, (size_t)host_numel(&fin[i]) * dtype_size(fin[i].dtype));
    }
    for (int s = 0; s < nso && rc == RC_OK; s++) {
      HostTensor **col = ev_alloc(e, sizeof *col * (size_t)(T ? T : 1));
      if (!col) {
        ok = false;
        break;
      }
      bool rev = s < a->nscan_out_dirs && a->scan_out_dirs[s];
      for (int64_t t = 0; t < T; t++) col[t] = scans[(rev ? T - 1 - t : t) * nso + s];
      HostTensor proto = T ? *col[0] : host_view(&g->tensors[g->outputs[nst + s]]);
      int64_t ax = s < a->nscan_out_axes ? a->scan_out_axes[s] : 0;
      rc = stack(e, nst + s, &proto, col, T, ax);
    }
  }
  arena_free(&keep[0]);
  arena_free(&keep[1]);
  if (!ok) EOOM();
  return rc;
}

Rc ev_control(Ev *e) {
  switch (e->n->op) {
  case OP_IF: return eval_if(e);
  case OP_LOOP: return eval_loop(e);
  case OP_SCAN: return eval_scan(e);
  default:
    diag_error(e->d, e->where, "internal: %s is not a control-flow op", op_name(e->n->op));
    return RC_INTERNAL;
  }
}
