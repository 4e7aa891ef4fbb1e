/*
 * naasc_opt.c: naasc-opt, the loop-nest IR driver (in the spirit of
 * mlir-opt): reads .nir text (or lowers an ONNX model), verifies it, and
 * prints it.  print -> parse -> print is byte-identical.
 *
 *   naasc-opt IN.nir [-o OUT.nir]
 *   naasc-opt MODEL.onnx [--input-shape NAME=DIMS]... [-o OUT.nir]
 *
 * Exit codes as naasc: 0 ok, 1 bad input, 2 bad usage, 3 internal error.
 */
#include <stdlib.h>
#include <string.h>

#include "frontend.h"
#include "passes.h"

static const char usage_text[] =
    "usage: naasc-opt IN.nir|MODEL.onnx [options]\n"
    "  -o FILE                   write the result to FILE (atomically)\n"
    "  --input-shape NAME=DIMS   fix a dynamic input of an ONNX model (repeatable)\n"
    "  --help\n";

static bool ends_with(const char *s, const char *suf) {
  size_t n = strlen(s), k = strlen(suf);
  return n >= k && strcmp(s + n - k, suf) == 0;
}

int main(int argc, char **argv) {
  const char *in = NULL, *out = NULL;
  ImportOptions opt;
  import_options_default(&opt);
  Diag d;
  diag_init(&d, stderr, "naasc-opt");
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0) {
      fputs(usage_text, stdout);
      return RC_OK;
    } else if (strcmp(a, "-o") == 0 && i + 1 < argc) {
      out = argv[++i];
    } else if (strncmp(a, "--input-shape", 13) == 0) {
      const char *v = a[13] == '=' ? a + 14 : (i + 1 < argc ? argv[++i] : NULL);
      if (!v || opt.nshapes == NAASC_MAX_BINDINGS || !parse_input_shape(v, &opt.shapes[opt.nshapes++], &d))
        return RC_USAGE;
    } else if (a[0] == '-' && a[1]) {
      fprintf(stderr, "naasc-opt: error: unknown option '%s'\nTry 'naasc-opt --help'.\n", a);
      return RC_USAGE;
    } else if (!in) {
      in = a;
    } else {
      fprintf(stderr, "naasc-opt: error: more than one input ('%s')\n", a);
      return RC_USAGE;
    }
  }
  if (!in) {
    fputs(usage_text, stderr);
    return RC_USAGE;
  }
  d.file = in;
  Module *mod = NULL;
  Rc rc;
  if (ends_with(in, ".onnx")) {
    Model *g = NULL;
    rc = onnx_import(in, &opt, &g, &d);
    if (rc == RC_OK) rc = lower_model(g, &mod, &d);
    model_destroy(g);
  } else {
    uint8_t *buf;
    size_t len;
    rc = file_read_all(in, (size_t)1 << 30, &buf, &len, &d);
    if (rc == RC_OK) {
      rc = module_parse((const char *)buf, len, &mod, &d);
      xfree(buf);
    }
  }
  if (rc == RC_OK) rc = module_verify(mod, &d);
  if (rc == RC_OK) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = out ? open_memstream(&text, &len) : stdout;
    if (!f) rc = RC_INTERNAL;
    else {
      module_print(f, mod);
      if (out) {
        fclose(f);
        d.file = out;
        rc = file_write_atomic(out, text, len, &d);
        free(text);
      }
    }
  }
  module_destroy(mod);
  return rc;
}
