/*
 * fuzz_stream.c: the command-stream loader (rt_load_capped, as naasc-run
 * reads MODEL.cmd, under a 256 MiB cap), then what naasc-run does with an
 * accepted stream: its disassembly, and, when its layers walk at most 2^20
 * points in all, a run with every input bound to zeros, tiled with the C
 * reference kernels and counting (no JIT), and a run through the
 * loop-nest interpreter (--reference).  A run may refuse (a gather index out
 * of range), with a message.
 */
#include "tests/fuzz/fuzz.h"
#include "runtime/runtime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  Diag d;
  fuzz_diag(&d, "fuzz.cmd");
  RtProgram *p = NULL;
  Rc rc = rt_load_capped(data, size, NULL, (int64_t)256 << 20, &p, &d);
  FUZZ_REPORTED(rc, &d);
  if (rc != RC_OK) return 0;
  rt_disasm(fuzz_sink(), p);
  double points = 0;
  for (int i = 0; i < rt_nlayers(p); i++) {
    const Nest *n = rt_layer_nest(p, i);
    double pts = 1;
    for (int k = 0; k < n->ndims; k++) pts *= (double)n->dims[k].bound;
    points += pts;
  }
  for (int i = 1; rc == RC_OK && i <= rt_ntensors(p); i++) {
    const RtTensor *t = rt_tensor(p, i);
    if (t->role != TR_INPUT) continue;
    void *zeros = calloc((size_t)t->numel, dtype_size(t->dtype));
    FUZZ_CHECK(zeros, "calloc");
    rc = rt_set_input(p, t->name, t->dtype, t->rank, t->dims, zeros, &d);
    FUZZ_CHECK(rc == RC_OK, "an input of the stream's own shape is refused");
    free(zeros);
  }
  if (points <= (1 << 20)) {
    for (int mode = 0; mode < 2; mode++) {
      RuntimeOptions o;
      rt_options_default(&o);
      o.no_jit = true;
      o.count = mode == 0;
      o.reference = mode == 1;
      rc = rt_run(p, &o, &d);
      FUZZ_REPORTED(rc, &d);
    }
  }
  rt_destroy(p);
  return 0;
}
