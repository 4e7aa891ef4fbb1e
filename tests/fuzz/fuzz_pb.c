/*
 * fuzz_pb.c: the reader of serialized ONNX TensorProtos
 * (onnx_read_tensor_file: naasc-run --input NAME=FILE.pb and naasc
 * --input-data), then what is done with an accepted tensor: its elements
 * read as numbers and its type printed.
 */
#include "tests/fuzz/fuzz.h"
#include "frontend/frontend.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  Diag d;
  fuzz_diag(&d, NULL);
  Model *m = model_create("inputs");
  FUZZ_CHECK(m, "model_create");
  TensorId t = 0;
  Rc rc = onnx_read_tensor_file(fuzz_file(0, data, size), m, NULL, &t, &d);
  FUZZ_REPORTED(rc, &d);
  if (rc == RC_OK) {
    const Tensor *T = &m->tensors[t];
    int64_t n = tensor_numel(T);
    FUZZ_CHECK(n >= 0 && T->data, "an accepted tensor without a shape or data");
    double sum = 0;
    for (int64_t i = 0; i < n && i < 4096; i++) sum += tensor_get_f(T, i);
    (void)sum;
    type_print(fuzz_sink(), T);
  }
  model_destroy(m);
  return 0;
}
