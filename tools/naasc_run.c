/*
 * naasc_run.c: executes a command stream.
 *
 *   naasc-run MODEL.cmd --input NAME=x.pb ... -o OUTDIR [--target NAME|FILE]
 *             [--no-jit] [--reference] [--counts] [--moved] [--inner] [--disasm] [--time]
 *             [--max-memory BYTES]
 *
 * Writes OUTDIR/OUTPUT.pb (an ONNX TensorProto) per graph output, each
 * atomically.  --target checks the stream was compiled for that
 * architecture; --counts prints the accesses counted per mac layer, level
 * and tensor, then the layers run on the host (their nodes, output elements
 * and time, apart from the accelerator's counts); --moved the words the executor moved between its buffers;
 * --inner computes at the innermost level; --reference runs every layer
 * through the nest interpreter.  --max-memory caps what the program may
 * take (tensors, packed weights, scratch, tile buffers; default
 * RT_DEFAULT_MAX_MEMORY, 4 GiB): a stream that needs more is refused before
 * its tensors are allocated.
 * Exit codes: 0 ok, 1 bad input (stream, inputs), 2 bad usage, 3 internal.
 *
 * Not a client of the C API (api/naasc.h) by design: it runs streams with
 * runtime/ and the LLVM JIT of codegen/, which libnaasc.so does not link
 * (it stays free of LLVM), and its reports read the runtime's per-layer
 * counters; it calls runtime/runtime.h directly (docs/api.md, "Why
 * naasc-run is not a client", says what an API call would need).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "backend/backend.h"
#include "codegen/codegen.h"
#include "frontend/frontend.h"
#include "runtime/runtime.h"

static const char usage_text[] =
    "usage: naasc-run MODEL.cmd --input NAME=FILE.pb ... -o OUTDIR [options]\n"
    "\n"
    "options:\n"
    "  --input NAME=FILE.pb   bind a graph input to a serialized ONNX TensorProto (repeatable)\n"
    "  -o OUTDIR              write OUTDIR/OUTPUT.pb per graph output (created if missing)\n"
    "  --target NAME|FILE     refuse a stream compiled for another architecture\n"
    "  --no-jit               run compute tiles with the C reference loop (default: LLVM JIT)\n"
    "  --reference            run every layer through the loop-nest interpreter (no tiling)\n"
    "  --counts               print reads/fills/updates per mac layer, level and tensor\n"
    "                         (at Timeloop's evaluation points, as the cost model)\n"
    "  --counts=exact         the same over every iteration of every loop\n"
    "  --moved                print the words the executor moved into (and out of) each\n"
    "                         level's buffers, per mac layer and tensor\n"
    "  --inner                compute at the innermost level, so every storage level is\n"
    "                         held as a buffer (a functional simulation; slower)\n"
    "  --disasm               print the stream's disassembly and exit\n"
    "  --time                 print the run time and the memory the program holds to stderr\n"
    "  --max-memory N[K|M|G]  refuse a stream whose tensors and buffers need more than N\n"
    "                         bytes (default 4G)\n"
    "\n"
    "exit codes: 0 ok, 1 bad input, 2 bad usage, 3 internal error\n";

static int usage_error(const char *msg, const char *arg) {
  fprintf(stderr, "naasc-run: error: %s%s\nTry 'naasc-run --help'.\n", msg, arg ? arg : "");
  return RC_USAGE;
}

/* ---- TensorProto out (fields: dims 1, data_type 2, name 8, raw_data 9) ---- */

typedef struct {
  uint8_t *p;
  size_t n, cap;
} Out;

static bool out_put(Out *o, const void *s, size_t n) {
  if (o->n + n > o->cap) {
    size_t c = o->cap ? o->cap * 2 : 256;
    while (c < o->n + n) c *= 2;
    uint8_t *q = realloc(o->p, c);
    if (!q) return false;
    o->p = q, o->cap = c;
  }
  memcpy(o->p + o->n, s, n);
  o->n += n;
  return true;
}

static bool out_varint(Out *o, uint64_t v) {
  uint8_t b[10];
  int n = 0;
  do {
    b[n] = (uint8_t)(v & 0x7f);
    v >>= 7;
    if (v) b[n] |= 0x80;
    n++;
  } while (v);
  return out_put(o, b, (size_t)n);
}

static bool tensor_proto(Out *o, const RtTensor *t) {
  bool ok = true;
  for (int k = 0; k < t->rank; k++)
    ok &= out_varint(o, 1 << 3 | 0) && out_varint(o, (uint64_t)t->dims[k]);
  ok &= out_varint(o, 2 << 3 | 0) && out_varint(o, (uint64_t)t->dtype);
  size_t nl = strlen(t->name);
  ok &= out_varint(o, 8 << 3 | 2) && out_varint(o, nl) && out_put(o, t->name, nl);
  size_t bytes = (size_t)t->numel * dtype_size(t->dtype);
  ok &= out_varint(o, 9 << 3 | 2) && out_varint(o, bytes) && out_put(o, t->data, bytes);
  return ok;
}

/* "4G", "512M", "65536": bytes (binary suffixes); -1 if malformed or over 2^62. */
static int64_t parse_bytes(const char *v) {
  char *end;
  errno = 0;
  long long n = strtoll(v, &end, 10);
  int shift = 0;
  if (*end == 'K' || *end == 'k')
    shift = 10, end++;
  else if (*end == 'M' || *end == 'm')
    shift = 20, end++;
  else if (*end == 'G' || *end == 'g')
    shift = 30, end++;
  else if (*end == 'T' || *end == 't')
    shift = 40, end++;
  if (end == v || *end || errno || n < 1 || n > (INT64_C(1) << (62 - shift))) return -1;
  return (int64_t)n << shift;
}

/* The kernel provider: the LLVM JIT of codegen/codegen.c. */
static Rc jit_compile(void *ctx, const TileKernel *k, KernelFn *fn, Diag *d) {
  return codegen_kernel(ctx, k, fn, d);
}

static void print_counts(const RtProgram *p) {
  printf("%-32s %-3s %-14s %-2s %14s %14s %14s\n", "layer", "lvl", "", "T", "reads", "fills",
         "updates");
  for (int i = 0; i < rt_nlayers(p); i++) {
    const RtLayerCounts *c = rt_layer_counts(p, i);
    if (!c->counted) continue;
    for (int l = 0; l < c->nlevels; l++)
      for (int t = 0; t < NTENSORS; t++) {
        const AccessCounts *a = &c->total[l][t];
        if (!a->reads && !a->fills && !a->updates) continue;
        printf("%-32.32s %-3d %-14s %-2c %14lld %14lld %14lld\n", c->name, l, "",
               accel_tensor_letter(t), (long long)a->reads, (long long)a->fills,
               (long long)a->updates);
      }
  }
}

/* The layers run on the host, apart: none of their work is in the
 * accelerator's counts.  Nothing is printed for a stream without any. */
static void print_host(FILE *f, const RtProgram *p) {
  int n = 0;
  int64_t nodes = 0, elems = 0;
  double secs = 0;
  for (int i = 0; i < rt_nlayers(p); i++) {
    const RtLayerCounts *c = rt_layer_counts(p, i);
    if (!c->host) continue;
    if (!n++)
      fprintf(f,
              "host layers (run by the host evaluator; not in the accelerator's counts):\n"
              "%-32s %-20s %8s %14s %10s\n",
              "layer", "op", "nodes", "out elements", "seconds");
    fprintf(f, "%-32.32s %-20.20s %8lld %14lld %10.4f\n", c->name, c->host_op,
            (long long)c->host_nodes, (long long)c->host_elements, c->host_seconds);
    nodes += c->host_nodes, elems += c->host_elements, secs += c->host_seconds;
  }
  if (n)
    fprintf(f, "host total: %d layers, %lld nodes, %lld output elements, %.4f s\n", n,
            (long long)nodes, (long long)elems, secs);
}

static void print_moved(const RtProgram *p) {
  printf("%-32s %-3s %-2s %14s %14s\n", "layer", "lvl", "T", "filled", "drained");
  for (int i = 0; i < rt_nlayers(p); i++) {
    const RtLayerCounts *c = rt_layer_counts(p, i);
    if (!c->tiles) continue;
    for (int l = 0; l < ACCEL_MAX_LEVELS; l++)
      for (int t = 0; t < NTENSORS; t++) {
        int64_t out = t == TENSOR_O ? c->drained[l] : 0;
        if (!c->moved[l][t] && !out) continue;
        printf("%-32.32s %-3d %-2c %14lld %14lld\n", c->name, l, accel_tensor_letter(t),
               (long long)c->moved[l][t], (long long)out);
      }
  }
}

int main(int argc, char **argv) {
  const char *model = NULL, *outdir = NULL, *target = NULL;
  const char *in_name[64], *in_path[64];
  int nin = 0;
  bool no_jit = false, reference = false, counts = false, exact = false, disasm = false,
       timing = false;
  bool moved = false, inner = false;
  int64_t max_memory = RT_DEFAULT_MAX_MEMORY;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      fputs(usage_text, stdout);
      return RC_OK;
    } else if (!strcmp(a, "--input") || !strncmp(a, "--input=", 8)) {
      const char *v = a[7] == '=' ? a + 8 : (i + 1 < argc ? argv[++i] : NULL);
      const char *eq = v ? strchr(v, '=') : NULL;
      if (!eq || eq == v || !eq[1]) return usage_error("--input needs NAME=FILE.pb", NULL);
      if (nin == 64) return usage_error("too many --input flags", NULL);
      static char names[64][256]; /* no heap: early returns leak nothing */
      if ((size_t)(eq - v) >= sizeof names[0]) return usage_error("--input name too long: ", v);
      memcpy(names[nin], v, (size_t)(eq - v));
      names[nin][eq - v] = 0;
      in_name[nin] = names[nin], in_path[nin++] = eq + 1;
    } else if (!strcmp(a, "-o")) {
      if (i + 1 >= argc) return usage_error("-o needs a directory", NULL);
      outdir = argv[++i];
    } else if (!strcmp(a, "--target") || !strncmp(a, "--target=", 9)) {
      target = a[8] == '=' ? a + 9 : (i + 1 < argc ? argv[++i] : NULL);
      if (!target || !*target) return usage_error("--target needs a preset or a file", NULL);
    } else if (!strcmp(a, "--no-jit")) {
      no_jit = true;
    } else if (!strcmp(a, "--reference")) {
      reference = true;
    } else if (!strcmp(a, "--counts")) {
      counts = true;
    } else if (!strcmp(a, "--counts=exact")) {
      counts = exact = true;
    } else if (!strcmp(a, "--disasm")) {
      disasm = true;
    } else if (!strcmp(a, "--moved")) {
      moved = true;
    } else if (!strcmp(a, "--inner")) {
      inner = true;
    } else if (!strcmp(a, "--time")) {
      timing = true;
    } else if (!strcmp(a, "--max-memory") || !strncmp(a, "--max-memory=", 13)) {
      const char *v = a[12] == '=' ? a + 13 : (i + 1 < argc ? argv[++i] : NULL);
      if (!v || (max_memory = parse_bytes(v)) < 0)
        return usage_error("--max-memory takes a positive size in bytes, with K, M, G or T, not ",
                           v ? v : "nothing");
    } else if (a[0] == '-' && a[1]) {
      return usage_error("unknown option ", a);
    } else if (!model) {
      model = a;
    } else {
      return usage_error("more than one stream given: ", a);
    }
  }
  if (!model) return usage_error("no command stream given", NULL);
  Diag d;
  diag_init(&d, stderr, model);
  static Arch arch;
  Rc rc = RC_OK;
  if (target) {
    d.file = target;
    rc = arch_resolve(target, &arch, &d);
    if (rc != RC_OK) return rc;
    d.file = model;
  }
  uint8_t *buf = NULL;
  size_t len = 0;
  rc = file_read_all(model, (size_t)1 << 34, &buf, &len, &d);
  if (rc != RC_OK) return rc;
  RtProgram *p = NULL;
  rc = rt_load_capped(buf, len, target ? &arch : NULL, max_memory, &p, &d);
  xfree(buf);
  if (rc != RC_OK) return rc;
  if (disasm) {
    rt_disasm(stdout, p);
    rt_destroy(p);
    return RC_OK;
  }
  Model *scratch = model_create("inputs");
  if (!scratch) rc = RC_INTERNAL;
  for (int i = 0; rc == RC_OK && i < nin; i++) {
    TensorId t;
    d.file = in_path[i];
    rc = onnx_read_tensor_file(in_path[i], scratch, in_name[i], &t, &d);
    if (rc != RC_OK) break;
    const Tensor *T = &scratch->tensors[t];
    d.file = model;
    /* numpy has no bf16: ONNX's own test data stores bf16 inputs as u16 bits. */
    DType dt = T->dtype;
    int id = rt_find_tensor(p, in_name[i]);
    if (dt == DT_U16 && id && rt_tensor(p, id)->dtype == DT_BF16) dt = DT_BF16;
    rc = rt_set_input(p, in_name[i], dt, T->rank, T->dims, T->data, &d);
  }
  RuntimeOptions opt;
  rt_options_default(&opt);
  opt.no_jit = no_jit;
  opt.reference = reference;
  opt.count = counts;
  opt.count_exact = exact;
  opt.inner = inner;
  Codegen *cg = NULL;
  if (rc == RC_OK && !no_jit && !reference) {
    cg = codegen_create(&d);
    if (!cg) rc = RC_INTERNAL;
    opt.compile = jit_compile;
    opt.compile_ctx = cg;
  }
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  if (rc == RC_OK) rc = rt_run(p, &opt, &d);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  if (rc == RC_OK && timing && cg) {
    int64_t nk;
    double secs;
    codegen_stats(cg, &nk, &secs);
    fprintf(stderr, "naasc-run: %lld kernels compiled in %.3f s (included below)\n", (long long)nk,
            secs);
  }
  if (rc == RC_OK && timing)
    fprintf(stderr,
            "naasc-run: %s: %.1f MiB held of the %.1f MiB allowed (--max-memory): %lld bytes, "
            "%lld without the values sharing buffers\n",
            model, (double)rt_memory(p) / (1 << 20), (double)max_memory / (1 << 20),
            (long long)rt_memory(p), (long long)rt_memory_unshared(p));
  int nhost = 0;
  double host_secs = 0;
  for (int i = 0; p && i < rt_nlayers(p); i++)
    if (rt_layer_counts(p, i)->host) nhost++, host_secs += rt_layer_counts(p, i)->host_seconds;
  int nwide = 0; /* mac layers with f16/bf16 operands: run widened to f32 (runtime/exec.c) */
  for (int i = 0; p && i < rt_nlayers(p); i++) {
    const Nest *nt = rt_layer_nest(p, i);
    bool wide = false;
    for (int a = 0; nt->kind == NK_MAC && a < nt->nacc; a++) {
      DType dt = rt_tensor(p, (int)nt->acc[a].tensor)->dtype;
      wide |= dt == DT_F16 || dt == DT_BF16;
    }
    nwide += wide;
  }
  if (rc == RC_OK && (timing || counts) && nwide)
    fprintf(stderr,
            "naasc-run: %s: %d mac layers have f16/bf16 operands: they ran widened to f32, each "
            "result rounded back once\n",
            model, nwide);
  if (rc == RC_OK && timing && nhost)
    fprintf(stderr, "naasc-run: %s: %d layers ran on the host in %.3f s (included below)\n", model,
            nhost, host_secs);
  if (rc == RC_OK && timing)
    fprintf(stderr, "naasc-run: %s: %.3f s (%s)\n", model,
            (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec),
            reference ? "reference interpreter"
            : no_jit  ? "tiled, C reference kernels"
                      : "tiled, JIT kernels");
  if (rc == RC_OK && counts) print_counts(p), print_host(stdout, p);
  if (rc == RC_OK && timing && !counts) print_host(stderr, p);
  if (rc == RC_OK && moved) print_moved(p);
  if (rc == RC_OK && outdir) {
    if (mkdir(outdir, 0777) != 0 && errno != EEXIST) {
      diag_error(&d, NULL, "cannot create output directory '%s': %s", outdir, strerror(errno));
      rc = RC_BADINPUT;
    }
    for (int i = 1; rc == RC_OK && i <= rt_ntensors(p); i++) {
      const RtTensor *t = rt_tensor(p, i);
      if (t->role != TR_OUTPUT) continue;
      char *fname = strdup(t->name);
      for (char *c = fname; c && *c; c++)
        if (*c == '/') *c = '_';
      size_t plen = strlen(outdir) + strlen(fname) + 8;
      char *path = malloc(plen);
      Out o = {0};
      if (!fname || !path || !tensor_proto(&o, t)) {
        rc = RC_INTERNAL;
      } else {
        snprintf(path, plen, "%s/%s.pb", outdir, fname);
        d.file = path;
        rc = file_write_atomic(path, o.p, o.n, &d);
      }
      free(o.p), free(path), free(fname);
    }
  }
  model_destroy(scratch);
  rt_destroy(p);
  codegen_destroy(cg);
  return rc;
}
