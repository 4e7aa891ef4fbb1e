/*
 * test_stream_jit.c: the C API's command-stream run with the LLVM JIT of
 * libnaasc_jit.so as its kernel provider (naasc_jit_provider_create), against
 * the naasc-run executable's JIT run (its default), byte for byte.
 *
 *   test_stream_jit NAASC NAASC_RUN SCRATCH_DIR
 *
 * nb201:1 is compiled with `naasc` for eyeriss; an f32 input of seeded
 * values is made with naasc_tensor_create and saved as .npy.  naasc-run
 * runs the stream with it (-o DIR, --counts, --report-json); the API loads
 * the same stream, binds the same file, runs it with the JIT provider and
 * counting on, and must give: the output file byte for byte, the --counts
 * text equal to naasc-run's stdout, the JSON report equal to its
 * --report-json file, the provider used and kernels compiled; then a second
 * stream sharing the provider, and a run with no provider (the C reference
 * kernels), give the same output bytes (the JIT is bit-identical to the
 * reference).  Every API call runs with stdout and stderr redirected to
 * files that must stay empty (the library never prints).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/naasc.h"

static int failures;
static FILE *saved; /* the real stdout, for the test's own lines */

#define CHECK(cond)                                                   \
  do {                                                                \
    if (!(cond)) {                                                    \
      fprintf(saved, "%s:%d: FAIL: %s\n", __FILE__, __LINE__, #cond); \
      failures++;                                                     \
    }                                                                 \
  } while (0)

/* The whole file path as a heap string (NULL if unreadable); *n its length. */
static char *slurp(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *b = malloc((size_t)len + 1);
  size_t got = b ? fread(b, 1, (size_t)len, f) : 0;
  fclose(f);
  if (!b || got != (size_t)len) {
    free(b);
    return NULL;
  }
  b[len] = 0;
  if (n) *n = (size_t)len;
  return b;
}

static int same_file(const char *a, const char *b) {
  size_t na = 0, nb = 0;
  char *x = slurp(a, &na), *y = slurp(b, &nb);
  int same = x && y && na == nb && memcmp(x, y, na) == 0;
  free(x), free(y);
  return same;
}

/* A command through the shell, its output into files; its exit code. */
static int sh(const char *fmt, const char *a, const char *b, const char *c) {
  char cmd[4096];
  snprintf(cmd, sizeof cmd, fmt, a, b, c);
  int rc = system(cmd);
  if (rc != 0) fprintf(saved, "command failed (%d): %s\n", rc, cmd);
  return rc;
}

int main(int argc, char **argv) {
  saved = fdopen(dup(1), "w");
  setvbuf(saved, NULL, _IONBF, 0);
  if (argc != 4) {
    fprintf(stderr, "usage: test_stream_jit NAASC NAASC_RUN SCRATCH_DIR\n");
    return 2;
  }
  const char *naasc = argv[1], *naasc_run = argv[2], *dir = argv[3];
  char onnx[1024], cmd[1024], x[1024], tool_out[1024], api_out[1024], api_ref[1024];
  char tool_stdout[1024], tool_json[1024], quiet_out[1024], quiet_err[1024], p1[1100], p2[1100];
  mkdir(dir, 0777);
  snprintf(onnx, sizeof onnx, "%s/cell.onnx", dir);
  snprintf(cmd, sizeof cmd, "%s/cell.cmd", dir);
  snprintf(x, sizeof x, "%s/x.npy", dir);
  snprintf(tool_out, sizeof tool_out, "%s/tool", dir);
  snprintf(api_out, sizeof api_out, "%s/api", dir);
  snprintf(api_ref, sizeof api_ref, "%s/api-ref", dir);
  snprintf(tool_stdout, sizeof tool_stdout, "%s/tool.stdout", dir);
  snprintf(tool_json, sizeof tool_json, "%s/tool.json", dir);
  snprintf(quiet_out, sizeof quiet_out, "%s/api.stdout", dir);
  snprintf(quiet_err, sizeof quiet_err, "%s/api.stderr", dir);
  if (sh("'%s' zoo nb201:1 -o '%s'%s", naasc, onnx, "") ||
      sh("'%s' '%s' --target eyeriss -o '%s'", naasc, onnx, cmd))
    return 1;

  /* from here on every API call prints nothing */
  fflush(stdout), fflush(stderr);
  if (!freopen(quiet_out, "w", stdout) || !freopen(quiet_err, "w", stderr)) return 1;
  NaascContext *ctx = naasc_context_create();
  /* the input: 3072 seeded values in [-1, 1), saved as .npy */
  float xin[3 * 32 * 32];
  uint32_t r = 12345;
  for (int i = 0; i < 3 * 32 * 32; i++) {
    r = r * 1664525u + 1013904223u;
    xin[i] = (float)(r >> 8) / (float)(1u << 23) - 1.0f;
  }
  const int64_t xdims[4] = {1, 3, 32, 32};
  NaascTensor *xt = NULL;
  CHECK(naasc_tensor_create(ctx, 1, 4, xdims, xin, &xt) == NAASC_OK);
  CHECK(naasc_tensor_save(ctx, xt, x) == NAASC_OK);
  naasc_tensor_destroy(xt);

  /* naasc-run, with the JIT (its default) */
  fflush(stdout);
  char input[1100];
  snprintf(input, sizeof input, "input=%s", x);
  char tool_cmd[8192];
  snprintf(tool_cmd, sizeof tool_cmd,
           "'%s' '%s' --input '%s' -o '%s' --counts --report-json '%s' > '%s' 2>&1", naasc_run, cmd,
           input, tool_out, tool_json, tool_stdout);
  int rc = system(tool_cmd);
  CHECK(rc == 0);

  /* the API, with the JIT provider of libnaasc_jit.so */
  NaascKernelProvider *jit = naasc_jit_provider_create();
  CHECK(jit != NULL);
  NaascStream *s = NULL;
  CHECK(naasc_stream_load(ctx, cmd, "eyeriss", 0, &s) == NAASC_OK && s);
  CHECK(naasc_stream_bind_file(ctx, s, "input", x) == NAASC_OK);
  NaascRunOptions o = {.kernels = jit, .count = 1};
  CHECK(naasc_stream_run(ctx, s, &o) == NAASC_OK);
  CHECK(naasc_stream_write_outputs(ctx, s, api_out) == NAASC_OK);
  snprintf(p1, sizeof p1, "%s/output.pb", tool_out);
  snprintf(p2, sizeof p2, "%s/output.pb", api_out);
  CHECK(same_file(p1, p2));
  NaascStreamStats st;
  CHECK(naasc_stream_stats(ctx, s, &st) == NAASC_OK && st.kernels_used && st.kernels_compiled > 0);
  char *counts = NULL, *host = NULL, *json = NULL;
  CHECK(naasc_stream_report(ctx, s, "counts", &counts) == NAASC_OK);
  CHECK(naasc_stream_report(ctx, s, "host", &host) == NAASC_OK);
  CHECK(naasc_stream_report(ctx, s, "json", &json) == NAASC_OK);
  char *tool_text = slurp(tool_stdout, NULL), *tool_j = slurp(tool_json, NULL);
  size_t nc = counts ? strlen(counts) : 0;
  CHECK(tool_text && counts && host && strncmp(tool_text, counts, nc) == 0 &&
        strcmp(tool_text + nc, host) == 0);
  CHECK(nc > 200); /* nb201:1 has counted layers */
  CHECK(tool_j && json && strcmp(tool_j, json) == 0);
  free(tool_text), free(tool_j);
  naasc_string_free(counts), naasc_string_free(host), naasc_string_free(json);

  /* a second stream sharing the provider; then no provider: the same bytes */
  NaascStream *s2 = NULL;
  CHECK(naasc_stream_load(ctx, cmd, NULL, 0, &s2) == NAASC_OK);
  CHECK(naasc_stream_bind_file(ctx, s2, "input", x) == NAASC_OK);
  NaascRunOptions o2 = {.kernels = jit};
  CHECK(naasc_stream_run(ctx, s2, &o2) == NAASC_OK);
  NaascTensor *y1 = NULL, *y2 = NULL;
  CHECK(naasc_stream_output_tensor(ctx, s, "output", &y1) == NAASC_OK);
  CHECK(naasc_stream_output_tensor(ctx, s2, "output", &y2) == NAASC_OK);
  NaascTensorInfo i1, i2;
  naasc_tensor_info(y1, &i1), naasc_tensor_info(y2, &i2);
  CHECK(i1.bytes == 40 && i2.bytes == 40 &&
        memcmp(naasc_tensor_data(y1), naasc_tensor_data(y2), 40) == 0);
  CHECK(naasc_stream_run(ctx, s2, NULL) == NAASC_OK);
  CHECK(naasc_stream_stats(ctx, s2, &st) == NAASC_OK && !st.kernels_used);
  CHECK(naasc_stream_write_outputs(ctx, s2, api_ref) == NAASC_OK);
  snprintf(p2, sizeof p2, "%s/output.pb", api_ref);
  CHECK(same_file(p1, p2));
  naasc_tensor_destroy(y1), naasc_tensor_destroy(y2);
  naasc_stream_destroy(s);
  naasc_stream_destroy(s2);
  naasc_kernel_provider_destroy(jit);
  naasc_context_destroy(ctx);

  fflush(stdout), fflush(stderr);
  size_t no = 1, ne = 1;
  char *so = slurp(quiet_out, &no), *se = slurp(quiet_err, &ne);
  CHECK(so && no == 0);
  CHECK(se && ne == 0);
  free(so), free(se);
  fprintf(saved, "%s\n", failures ? "FAILED" : "ok");
  return failures ? 1 : 0;
}
