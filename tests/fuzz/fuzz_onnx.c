/*
 * fuzz_onnx.c: the ONNX importer (onnx_import_buffer: protobuf, graph,
 * shape inference, constant folding), then what `naasc MODEL.onnx` prints
 * of an accepted model (the summary, the graph IR) and the graph rewrites
 * of the default pipeline (fold-bn, fuse-act).  Odd-sized inputs are
 * imported with --allow-unsupported, even-sized ones without.
 */
#include "tests/fuzz/fuzz.h"
#include "frontend/frontend.h"
#include "passes/passes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  Diag d;
  fuzz_diag(&d, "fuzz.onnx");
  ImportOptions o;
  import_options_default(&o);
  o.allow_unsupported = size & 1;
  Model *m = NULL;
  Rc rc = onnx_import_buffer(data, size, NULL, &o, &m, &d);
  FUZZ_REPORTED(rc, &d);
  if (rc != RC_OK) return 0;
  FUZZ_CHECK(graph_check(m, &d) == RC_OK, "an imported model breaks the graph invariants");
  summary_print(fuzz_sink(), m);
  graph_print(fuzz_sink(), m);
  rc = graph_fold_bn(m, &d);
  FUZZ_REPORTED(rc, &d);
  if (rc == RC_OK) {
    rc = graph_fuse_act(m, &d);
    FUZZ_REPORTED(rc, &d);
  }
  if (rc == RC_OK) graph_print(fuzz_sink(), m);
  model_destroy(m);
  return 0;
}
