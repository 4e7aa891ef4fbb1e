/*
 * naasc_run.c: executes a command stream.
 *
 *   naasc-run MODEL.cmd (--input NAME=x.pb|x.npy ... | --inputs x.npz) -o OUTDIR
 *             [--output NAME=FILE] [--target NAME|FILE] [--no-jit] [--reference] [--counts]
 *             [--moved] [--inner]
 *             [--disasm] [--time] [--max-memory BYTES] [--report-json FILE]
 *
 * Inputs are ONNX TensorProto files or NumPy .npy files, told apart by
 * their extension, or every input at once from a NumPy .npz archive
 * (--inputs, numpy.savez: one member NAME.npy per input NAME; not with
 * --input).  Writes OUTDIR/OUTPUT.pb (an ONNX TensorProto) per
 * graph output, and each --output NAME=FILE (.npy or TensorProto by the
 * extension), each atomically; --report-json the per-layer counters as
 * JSON (naasc-run-report/1), atomically too.  --target checks the stream was compiled for that
 * architecture; --counts prints the accesses counted per mac layer, level
 * and tensor, then the layers run on the host (their nodes, output elements
 * and time, apart from the accelerator's counts); --moved the words the executor moved between its buffers;
 * --inner computes at the innermost level; --reference runs every layer
 * through the nest interpreter.  --max-memory caps what the program may
 * take (tensors, packed weights, scratch, tile buffers; default
 * 4 GiB): a stream that needs more is refused before
 * its tensors are allocated.
 * Exit codes: 0 ok, 1 bad input (stream, inputs), 2 bad usage, 3 internal.
 *
 * A client of the C API (api/naasc.h; docs/api.md, "Running a command
 * stream"): it parses the flags, and loads, binds, runs and writes through
 * the naasc_stream_* calls, with the LLVM JIT as the kernel provider
 * (naasc_jit_provider_create, from the static naasc_jit library;
 * libnaasc.so links no LLVM).  Messages go to stderr through the context's diagnostic handler as
 * they are reported; the reports are the API's text forms, printed here.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/naasc.h"

static const char usage_text[] =
    "usage: naasc-run MODEL.cmd --input NAME=FILE.pb ... -o OUTDIR [options]\n"
    "\n"
    "options:\n"
    "  --input NAME=FILE.pb   bind a graph input to a serialized ONNX TensorProto, or to a\n"
    "                         NumPy array if FILE ends in .npy (repeatable)\n"
    "  --inputs FILE.npz      bind every graph input from a NumPy .npz archive (numpy.savez:\n"
    "                         a member NAME.npy per input NAME; not with --input)\n"
    "  -o OUTDIR              write OUTDIR/OUTPUT.pb per graph output (created if missing)\n"
    "  --output NAME=FILE     write output NAME to FILE: .npy if it ends in .npy, else a\n"
    "                         TensorProto (repeatable)\n"
    "  --report-json FILE     write the per-layer counters (those of --counts, --moved and\n"
    "                         the host table) as JSON to FILE\n"
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
  return NAASC_USAGE;
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

static void to_stderr(void *user, const char *text, size_t len) {
  (void)user;
  fwrite(text, 1, len, stderr);
}

/* Prints the text of naasc_stream_report kind to f. */
static NaascStatus report(NaascContext *ctx, const NaascStream *s, const char *kind, FILE *f) {
  char *text = NULL;
  NaascStatus st = naasc_stream_report(ctx, s, kind, &text);
  if (st == NAASC_OK) fputs(text, f);
  naasc_string_free(text);
  return st;
}

static int run(NaascContext *ctx, int argc, char **argv) {
  const char *model = NULL, *outdir = NULL, *target = NULL;
  const char *in_name[64], *in_path[64], *out_name[64], *out_path[64];
  const char *report_json = NULL, *npz = NULL;
  int nin = 0, nout = 0;
  bool no_jit = false, reference = false, counts = false, exact = false, disasm = false,
       timing = false;
  bool moved = false, inner = false;
  int64_t max_memory = 0; /* the default, 4 GiB */
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      fputs(usage_text, stdout);
      return NAASC_OK;
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
    } else if (!strcmp(a, "--inputs") || !strncmp(a, "--inputs=", 9)) {
      if (npz) return usage_error("--inputs given twice", NULL);
      npz = a[8] == '=' ? a + 9 : (i + 1 < argc ? argv[++i] : NULL);
      if (!npz || !*npz) return usage_error("--inputs needs a .npz archive", NULL);
    } else if (!strcmp(a, "--output") || !strncmp(a, "--output=", 9)) {
      const char *v = a[8] == '=' ? a + 9 : (i + 1 < argc ? argv[++i] : NULL);
      const char *eq = v ? strchr(v, '=') : NULL;
      if (!eq || eq == v || !eq[1]) return usage_error("--output needs NAME=FILE", NULL);
      if (nout == 64) return usage_error("too many --output flags", NULL);
      static char onames[64][256];
      if ((size_t)(eq - v) >= sizeof onames[0]) return usage_error("--output name too long: ", v);
      memcpy(onames[nout], v, (size_t)(eq - v));
      onames[nout][eq - v] = 0;
      out_name[nout] = onames[nout], out_path[nout++] = eq + 1;
    } else if (!strcmp(a, "--report-json") || !strncmp(a, "--report-json=", 14)) {
      report_json = a[13] == '=' ? a + 14 : (i + 1 < argc ? argv[++i] : NULL);
      if (!report_json || !*report_json) return usage_error("--report-json needs a file", NULL);
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
  if (npz && nin)
    return usage_error("--inputs binds every input from the archive: no --input with it", NULL);
  NaascStream *s = NULL;
  NaascStatus st = naasc_stream_load(ctx, model, target, max_memory, &s);
  if (st != NAASC_OK) return st;
  if (disasm) {
    char *text = NULL;
    st = naasc_stream_disasm(ctx, s, &text);
    if (st == NAASC_OK) fputs(text, stdout);
    naasc_string_free(text);
    naasc_stream_destroy(s);
    return st;
  }
  for (int i = 0; st == NAASC_OK && i < nin; i++)
    st = naasc_stream_bind_file(ctx, s, in_name[i], in_path[i]);
  if (st == NAASC_OK && npz) st = naasc_stream_bind_npz(ctx, s, npz);
  NaascRunOptions opt = {
      .reference = reference, .inner = inner, .count = counts, .count_exact = exact};
  if (st == NAASC_OK && !no_jit && !reference) {
    opt.kernels = naasc_jit_provider_create();
    if (!opt.kernels) st = NAASC_INTERNAL;
  }
  if (st == NAASC_OK) st = naasc_stream_run(ctx, s, &opt);
  NaascStreamStats ss;
  if (st == NAASC_OK) st = naasc_stream_stats(ctx, s, &ss);
  if (st == NAASC_OK && timing && ss.kernels_used)
    fprintf(stderr, "naasc-run: %lld kernels compiled in %.3f s (included below)\n",
            (long long)ss.kernels_compiled, ss.compile_seconds);
  if (st == NAASC_OK && timing)
    fprintf(stderr,
            "naasc-run: %s: %.1f MiB held of the %.1f MiB allowed (--max-memory): %lld bytes, "
            "%lld without the values sharing buffers\n",
            model, (double)ss.memory / (1 << 20), (double)ss.max_memory / (1 << 20),
            (long long)ss.memory, (long long)ss.memory_unshared);
  if (st == NAASC_OK && (timing || counts) && ss.wide_layers)
    fprintf(stderr,
            "naasc-run: %s: %d mac layers have f16/bf16 operands: they ran widened to f32, each "
            "result rounded back once\n",
            model, ss.wide_layers);
  if (st == NAASC_OK && timing && ss.host_layers)
    fprintf(stderr, "naasc-run: %s: %d layers ran on the host in %.3f s (included below)\n", model,
            ss.host_layers, ss.host_seconds);
  if (st == NAASC_OK && timing)
    fprintf(stderr, "naasc-run: %s: %.3f s (%s)\n", model, ss.run_seconds,
            reference ? "reference interpreter"
            : no_jit  ? "tiled, C reference kernels"
                      : "tiled, JIT kernels");
  if (st == NAASC_OK && counts) {
    st = report(ctx, s, "counts", stdout);
    if (st == NAASC_OK) st = report(ctx, s, "host", stdout);
  }
  if (st == NAASC_OK && timing && !counts) st = report(ctx, s, "host", stderr);
  if (st == NAASC_OK && moved) st = report(ctx, s, "moved", stdout);
  if (st == NAASC_OK && outdir) st = naasc_stream_write_outputs(ctx, s, outdir);
  for (int i = 0; st == NAASC_OK && i < nout; i++)
    st = naasc_stream_write_output(ctx, s, out_name[i], out_path[i]);
  if (st == NAASC_OK && report_json) st = naasc_stream_write_report(ctx, s, "json", report_json);
  naasc_stream_destroy(s);
  naasc_kernel_provider_destroy(opt.kernels);
  return st;
}

int main(int argc, char **argv) {
  NaascContext *ctx = naasc_context_create();
  if (!ctx) {
    fputs("naasc-run: error: out of memory\n", stderr);
    return NAASC_INTERNAL;
  }
  naasc_context_set_diagnostic_handler(ctx, to_stderr, NULL);
  int rc = run(ctx, argc, argv);
  naasc_context_destroy(ctx);
  return rc;
}
