/*
 * fuzz_weights.c: the reader of a .nir's weights file (weights_read:
 * `naasc M.nir --target T -o M.cmd`, docs/ir.md "Weights").  The input is
 * the module's text and the weights file joined by a line "#%%" (fuzz.h).
 * The weights file is read as is, and again with its checksum made to
 * match its content, so that the fuzzer reaches the records.  An accepted
 * file must give every weight of the module its values (a module without
 * weights may have a file of no records).
 */
#include "tests/fuzz/fuzz.h"

#include <string.h>

static uint64_t fnv1a(const uint8_t *p, size_t n) {
  uint64_t h = UINT64_C(0xcbf29ce484222325);
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * UINT64_C(0x100000001b3);
  return h;
}

static void read_one(const Module *m, const uint8_t *w, size_t n) {
  Diag d;
  fuzz_diag(&d, NULL);
  Model *g = NULL;
  Rc rc = weights_read(fuzz_file(1, w, n), m, &g, &d);
  FUZZ_REPORTED(rc, &d);
  if (rc != RC_OK) return;
  /* weights_available also asks for something to write, so a weightless
   * module's empty file (accepted: it lacks nothing) is not "available". */
  bool any = false;
  for (uint32_t t = 1; t < m->ntensors; t++) {
    if (m->tensors[t].role != TR_WEIGHT) continue;
    any = true;
    TensorId gt = model_find_tensor(g, m->tensors[t].name);
    FUZZ_CHECK(gt && g->tensors[gt].data, "a weight of the module has no values");
    FUZZ_CHECK(tensor_numel(&g->tensors[gt]) >= 0, "a weight without a shape");
  }
  FUZZ_CHECK(!any || weights_available(m, g), "an accepted file lacks a weight's values");
  model_destroy(g);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const uint8_t *part[2];
  size_t len[2];
  if (fuzz_parts(data, size, part, len, 2) != 2) return 0;
  Diag d;
  fuzz_diag(&d, NULL);
  Module *m = NULL;
  Rc rc = module_parse((const char *)part[0], len[0], &m, &d);
  FUZZ_REPORTED(rc, &d);
  if (rc != RC_OK) return 0;
  read_one(m, part[1], len[1]);
  if (len[1] >= 8) { /* the same with a matching checksum */
    uint8_t *w = xmalloc(len[1]);
    FUZZ_CHECK(w, "xmalloc");
    memcpy(w, part[1], len[1]);
    uint64_t h = fnv1a(w, len[1] - 8);
    for (int i = 0; i < 8; i++) w[len[1] - 8 + (size_t)i] = (uint8_t)(h >> (8 * i));
    read_one(m, w, len[1]);
    xfree(w);
  }
  module_destroy(m);
  return 0;
}
