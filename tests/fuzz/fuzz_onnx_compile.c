/*
 * fuzz_onnx_compile.c: an ONNX model through the whole compiler, as
 * `naasc MODEL.onnx --target eyeriss -o MODEL.cmd` runs it but with a small
 * mapper budget: import, fold-bn, fuse-act, lower, map{budget=16}, verify,
 * then the command stream, which the runtime's own loader must accept
 * (rt_load of what cmd_emit wrote: a refusal is a finding), and its
 * disassembly.  Models whose layers would take long to map or emit (over
 * 2^24 MACs in a layer, or 64 layers) are skipped after lowering.
 */
#include "tests/fuzz/fuzz.h"
#include "ir/ir.h"
#include "backend/backend.h"
#include "frontend/frontend.h"
#include "passes/passes.h"
#include "runtime/runtime.h"

#define PIPELINE "fold-bn,fuse-act,lower,map{budget=16,seed=1},verify"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static Arch arch;
  static PassRegistry *reg;
  static Pipeline pre, post; /* up to and including lower; the rest */
  Diag d;
  fuzz_diag(&d, "fuzz.onnx");
  if (!reg) {
    reg = pass_registry_create();
    FUZZ_CHECK(reg && arch_preset_load("eyeriss", &arch, &d) == RC_OK, "setup");
    FUZZ_CHECK(pipeline_parse(reg, "fold-bn,fuse-act,lower", &pre, &d) == RC_OK, "setup");
    FUZZ_CHECK(pipeline_parse(reg, "map{budget=16,seed=1},verify", &post, &d) == RC_OK, "setup");
  }
  ImportOptions o;
  import_options_default(&o);
  Model *m = NULL;
  Rc rc = onnx_import_buffer(data, size, NULL, &o, &m, &d);
  FUZZ_REPORTED(rc, &d);
  if (rc != RC_OK) return 0;
  PMOptions pm;
  pm_options_default(&pm);
  pm.verify_each = true;
  Program prog = {.graph = m, .arch = &arch, .keep_weights = true};
  rc = pm_run(&pre, &prog, &pm, &d);
  FUZZ_REPORTED(rc, &d);
  bool small = rc == RC_OK && prog.mod->nnests <= 64;
  for (uint32_t i = 0; small && i < prog.mod->nnests; i++)
    small = nest_macs(&prog.mod->nests[i]) <= (1 << 24);
  if (small) {
    rc = pm_run(&post, &prog, &pm, &d);
    FUZZ_REPORTED(rc, &d);
  }
  if (small && rc == RC_OK) {
    module_print(fuzz_sink(), prog.mod);
    uint8_t *bytes = NULL;
    size_t len = 0;
    rc = cmd_emit(prog.mod, prog.weights, &arch, &bytes, &len, NULL, &d);
    FUZZ_REPORTED(rc, &d);
    if (rc == RC_OK) {
      RtProgram *rp = NULL;
      Diag ld;
      fuzz_diag(&ld, "emitted.cmd");
      char *msg = NULL;
      size_t mlen = 0;
      FILE *mf = open_memstream(&msg, &mlen);
      FUZZ_CHECK(mf, "open_memstream");
      ld.out = mf;
      rc = rt_load_capped(bytes, len, &arch, (int64_t)1 << 30, &rp, &ld);
      fclose(mf);
      /* A refusal is a finding, but for the documented memory cap (a model
       * whose tensors need more than the harness's 1 GiB: naasc-run says
       * how to raise it). */
      bool over_cap = rc == RC_BADINPUT && msg && strstr(msg, "naasc-run --max-memory)");
      bool ok = rc == RC_OK || over_cap || (rc == RC_INTERNAL && ld.nerrors);
      if (!ok && msg) fputs(msg, stderr); /* show why */
      free(msg);
      FUZZ_CHECK(ok, "the runtime refuses the stream the compiler emitted");
      if (rp) rt_disasm(fuzz_sink(), rp);
      rt_destroy(rp);
    }
    xfree(bytes);
  }
  program_free(&prog);
  return 0;
}
