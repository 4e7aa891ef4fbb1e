/*
 * eval_case.c: imports an ONNX model with the frontend, evaluates every
 * live node in order with host_eval, and compares the graph outputs with
 * expected tensors within a tolerance per element type.
 *
 *   eval_case MODEL.onnx [--bind NAME=FILE.pb]... [--input NAME=FILE.pb]...
 *             [--expect NAME=FILE.pb]...
 *
 * --bind binds a graph input to a constant before shape inference (as
 * naasc's --input-data does); --input feeds an unbound graph input at
 * evaluation time; --expect names a graph output and its expected value.
 *
 * Prints one line: "PASS nodes=N folded=F", "FAIL <what>" (a wrong value
 * or shape), "REFUSED <the import's first error>" or "ERROR <the
 * evaluator's error>".  Exit 0 for PASS, 1 otherwise, 2 bad usage.
 *
 * Tolerances: integers and bool exact; f64 and f32 |got - want| <= 1e-7 +
 * 1e-3 |want| (the ONNX backend tests' defaults); f16 <= 1e-3 + 2e-3
 * |want| (an f16 ulp is 2^-10); bf16 <= 1e-2 + 1e-2 |want| (an ulp is
 * 2^-7; ONNX 1.12's data truncates where naasc rounds to nearest even).
 * NaN matches NaN, an infinity only itself.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/frontend.h"
#include "host/host.h"

#define MAXN 64

typedef struct {
  const char *name, *path;
} Pair;

static bool split_pair(const char *arg, Pair *p) {
  const char *eq = strchr(arg, '=');
  if (!eq || eq == arg || !eq[1]) return false;
  p->name = strndup(arg, (size_t)(eq - arg));
  p->path = eq + 1;
  return p->name != NULL;
}

/* The first error line a Diag wrote into a memory stream. */
static void first_line(const char *buf, char *out, size_t n) {
  const char *e = buf ? strstr(buf, "error: ") : NULL;
  const char *s = e ? e + 7 : (buf ? buf : "");
  size_t k = strcspn(s, "\n");
  if (k >= n) k = n - 1;
  memcpy(out, s, k);
  out[k] = 0;
}

static bool close_enough(DType dt, double got, double want) {
  if (isnan(want)) return isnan(got);
  if (isinf(want)) return got == want;
  double atol, rtol;
  switch (dt) {
  case DT_F16: atol = 1e-3, rtol = 2e-3; break;
  case DT_BF16: atol = 1e-2, rtol = 1e-2; break;
  default: atol = 1e-7, rtol = 1e-3; break;
  }
  return fabs(got - want) <= atol + rtol * fabs(want);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr,
            "usage: eval_case MODEL.onnx [--bind N=F]... [--input N=F]... [--expect N=F]...\n");
    return 2;
  }
  Pair binds[MAXN], inputs[MAXN], expects[MAXN];
  int nb = 0, ni = 0, ne = 0;
  for (int i = 2; i < argc; i++) {
    Pair *p = NULL;
    if (strcmp(argv[i], "--bind") == 0 && i + 1 < argc && nb < MAXN)
      p = &binds[nb++];
    else if (strcmp(argv[i], "--input") == 0 && i + 1 < argc && ni < MAXN)
      p = &inputs[ni++];
    else if (strcmp(argv[i], "--expect") == 0 && i + 1 < argc && ne < MAXN)
      p = &expects[ne++];
    if (!p || !split_pair(argv[++i], p)) {
      fprintf(stderr, "eval_case: bad argument '%s'\n", argv[i]);
      return 2;
    }
  }
  ImportOptions o;
  import_options_default(&o);
  for (int i = 0; i < nb; i++) {
    if (strlen(binds[i].name) >= NAASC_MAX_NAME) return 2;
    strcpy(o.data[o.ndata].name, binds[i].name);
    o.data[o.ndata++].path = binds[i].path;
  }
  char *ebuf = NULL;
  size_t elen = 0;
  FILE *ef = open_memstream(&ebuf, &elen);
  Diag d;
  diag_init(&d, ef, argv[1]);
  Model *m = NULL;
  char msg[400];
  Rc rc = onnx_import(argv[1], &o, &m, &d);
  fflush(ef);
  int status = 1, nodes = 0, folded = 0;
  HostTensor *v = NULL;
  Arena a;
  arena_init(&a);
  if (rc != RC_OK) {
    first_line(ebuf, msg, sizeof msg);
    printf("REFUSED %s\n", msg);
    goto done;
  }
  for (uint32_t i = 1; i < m->nnodes; i++) folded += m->nodes[i].dead;
  v = calloc(m->ntensors + 2 * MAXN, sizeof *v);
  if (!v) {
    printf("ERROR out of memory\n");
    goto done;
  }
  uint32_t nt0 = m->ntensors;
  for (uint32_t t = 1; t < nt0; t++)
    if (m->tensors[t].kind == TK_CONST) v[t] = host_view(&m->tensors[t]);
  for (int i = 0; i < ni; i++) {
    TensorId t = model_find_tensor(m, inputs[i].name), c;
    if (!t || m->tensors[t].kind != TK_INPUT) {
      if (t && m->tensors[t].kind == TK_CONST) continue; /* bound, or an initializer */
      printf("FAIL no graph input '%s'\n", inputs[i].name);
      goto done;
    }
    if (onnx_read_tensor_file(inputs[i].path, m, NULL, &c, &d) != RC_OK) {
      fflush(ef);
      first_line(ebuf, msg, sizeof msg);
      printf("FAIL input '%s': %s\n", inputs[i].name, msg);
      goto done;
    }
    const Tensor *T = &m->tensors[t];
    Tensor *C = &m->tensors[c];
    if (C->dtype == DT_U16 && T->dtype == DT_BF16) C->dtype = DT_BF16; /* numpy has no bf16 */
    if (C->dtype != T->dtype || C->rank != T->rank ||
        memcmp(C->dims, T->dims, sizeof(int64_t) * (size_t)T->rank)) {
      printf("FAIL input '%s' does not match its declared type\n", inputs[i].name);
      goto done;
    }
    v[t] = host_view(C);
  }
  for (uint32_t i = 1; i < m->nnodes; i++) {
    const Node *n = &m->nodes[i];
    if (n->dead) continue;
    HostTensor in[256], out[NAASC_MAX_OUTPUTS];
    if (n->nin > 256 || n->nout > NAASC_MAX_OUTPUTS) {
      printf("ERROR node '%s' has too many inputs or outputs\n", n->name);
      goto done;
    }
    for (int k = 0; k < n->nin; k++) {
      memset(&in[k], 0, sizeof in[k]);
      if (!n->in[k]) continue;
      in[k] = v[n->in[k]];
      if (in[k].dtype == DT_UNDEF) {
        printf("ERROR node '%s' reads '%s', which has no value\n", n->name,
               m->tensors[n->in[k]].name);
        goto done;
      }
    }
    for (int k = 0; k < n->nout; k++) {
      memset(&out[k], 0, sizeof out[k]);
      if (!n->out[k]) continue;
      out[k] = host_view(&m->tensors[n->out[k]]);
      out[k].data = NULL;
    }
    if (host_eval(m, n, in, n->nin, out, n->nout, &a, &d) != RC_OK) {
      fflush(ef);
      first_line(ebuf, msg, sizeof msg);
      printf("ERROR %s\n", msg);
      goto done;
    }
    for (int k = 0; k < n->nout; k++)
      if (n->out[k]) v[n->out[k]] = out[k];
    nodes++;
  }
  for (int i = 0; i < ne; i++) {
    TensorId t = model_find_tensor(m, expects[i].name), c;
    if (!t || !m->tensors[t].is_output) {
      printf("FAIL no graph output '%s'\n", expects[i].name);
      goto done;
    }
    HostTensor got = v[t];
    if (got.dtype == DT_UNDEF) {
      printf("FAIL output '%s' has no value\n", expects[i].name);
      goto done;
    }
    if (onnx_read_tensor_file(expects[i].path, m, NULL, &c, &d) != RC_OK) {
      fflush(ef);
      first_line(ebuf, msg, sizeof msg);
      printf("FAIL expected '%s': %s\n", expects[i].name, msg);
      goto done;
    }
    HostTensor want = host_view(&m->tensors[c]);
    if (want.dtype == DT_U16 && got.dtype == DT_BF16) want.dtype = DT_BF16; /* numpy has no bf16 */
    bool shape_ok = want.rank == got.rank;
    for (int q = 0; shape_ok && q < got.rank; q++) shape_ok = want.dims[q] == got.dims[q];
    if (want.dtype != got.dtype || !shape_ok) {
      char gs[120] = "", ws[120] = "";
      size_t k1 = (size_t)snprintf(gs, sizeof gs, "%s[", dtype_name(got.dtype));
      for (int q = 0; q < got.rank && k1 < sizeof gs; q++)
        k1 +=
            (size_t)snprintf(gs + k1, sizeof gs - k1, q ? ",%lld" : "%lld", (long long)got.dims[q]);
      size_t k2 = (size_t)snprintf(ws, sizeof ws, "%s[", dtype_name(want.dtype));
      for (int q = 0; q < want.rank && k2 < sizeof ws; q++)
        k2 += (size_t)snprintf(ws + k2, sizeof ws - k2, q ? ",%lld" : "%lld",
                               (long long)want.dims[q]);
      printf("FAIL output '%s' is %s], expected %s]\n", expects[i].name, gs, ws);
      goto done;
    }
    int64_t cnt = host_numel(&got), bad = 0, first = -1;
    bool fl =
        got.dtype == DT_F32 || got.dtype == DT_F64 || got.dtype == DT_F16 || got.dtype == DT_BF16;
    for (int64_t k = 0; k < cnt; k++) {
      bool ok = fl ? close_enough(got.dtype, host_get_f(&got, k), host_get_f(&want, k))
                   : host_get_i(&got, k) == host_get_i(&want, k);
      if (!ok && bad++ == 0) first = k;
    }
    if (bad) {
      printf(
          "FAIL output '%s': %lld of %lld elements differ; first at %lld: got %.9g, expected %.9g\n",
          expects[i].name, (long long)bad, (long long)cnt, (long long)first,
          host_get_f(&got, first), host_get_f(&want, first));
      goto done;
    }
  }
  printf("PASS nodes=%d folded=%d\n", nodes, folded);
  status = 0;
done:
  fflush(stdout);
  arena_free(&a);
  free(v);
  model_destroy(m);
  fclose(ef);
  free(ebuf);
  for (int i = 0; i < nb; i++) free((void *)binds[i].name);
  for (int i = 0; i < ni; i++) free((void *)inputs[i].name);
  for (int i = 0; i < ne; i++) free((void *)expects[i].name);
  return status;
}
