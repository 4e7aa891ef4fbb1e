/*
 * fuzz_ckpt.c: the search checkpoint reader (naas_ckpt_decode, as
 * `naasc --search ... --checkpoint FILE --resume` reads FILE).  The search
 * it resumes is the one the file names: an optimizer of the kind, dimension
 * and population in the file's optimizer state (when they are plausible:
 * dimension 1..64, population 4..64) and the file's own fingerprint, so the
 * reader's later checks are reached.  Each input is decoded twice: as it is,
 * and with its length and checksum fields made to match (as a forger would),
 * so the fuzzer also reaches the checks behind the checksum.  A file of
 * format 4 is read as a search that keeps as many warm-start mappings as
 * its block says (1..64), one of format 3 as a search that keeps none.  A
 * decoded state is then used as the search would: two generations asked
 * and told.
 */
#include "tests/fuzz/fuzz.h"
#include "search/search.h"

#include <math.h>

#define HEAD 24 /* checkpoint.c: magic, version, 0, length */

static void decode(const uint8_t *data, size_t size) {
  NaasCkpt h;
  if (size < HEAD + sizeof h + 8 + 12) return;
  memcpy(&h, data + HEAD, sizeof h);
  int hdr[3]; /* opt_save: kind, n, lambda */
  memcpy(hdr, data + HEAD + sizeof h, sizeof hdr);
  if (hdr[0] < OPT_RANDOM || hdr[0] > OPT_GENETIC || hdr[1] < 1 || hdr[1] > 64 || hdr[2] < 4 ||
      hdr[2] > 64)
    return;
  Optimizer *opt = opt_create((OptKind)hdr[0], hdr[1], hdr[2], 0.3, 1);
  FUZZ_CHECK(opt, "opt_create");
  double best[NAAS_TOP_MAX * 65];
  NaasCandidate *log = NULL;
  int64_t caplog = 0;
  /* Format 4: the warm-start block's layer count, where the counts place it. */
  uint32_t ver;
  memcpy(&ver, data + 8, 4);
  int32_t wn = 0;
  size_t at = HEAD + sizeof h, xlen, llen;
  if (ver == 4 && h.ntop >= 0 && h.ntop <= NAAS_TOP_MAX && h.nlog >= 0 &&
      ck_add_size(at, (size_t)h.optlen, &at) &&
      ck_mul_size(sizeof(double) * (size_t)(1 + hdr[1]), (size_t)h.ntop, &xlen) &&
      ck_add_size(at, xlen, &at) && ck_mul_size(sizeof *log, (size_t)h.nlog, &llen) &&
      ck_add_size(at, llen, &at) && at <= size - 4)
    memcpy(&wn, data + at, 4);
  if (wn < 1 || wn > 64) wn = 0;
  Mapping *maps = wn ? calloc((size_t)wn, sizeof *maps) : NULL;
  FUZZ_CHECK(!wn || maps, "calloc");
  NaasCkptWarm warm = {wn, 0, INFINITY, maps};
  Diag d;
  fuzz_diag(&d, "naasc");
  Rc rc = naas_ckpt_decode(data, size, "fuzz.ckpt", h.fp, opt, &h, best, &log, &caplog, &warm, &d);
  FUZZ_REPORTED(rc, &d);
  if (rc == RC_OK) {
    FUZZ_CHECK(caplog >= h.nlog && (h.nlog == 0 || log), "the log does not hold the records");
    for (int64_t i = 0; i < h.nlog; i++) {
      char conn[NDIMS + 1];
      for (int k = 0; k < log[i].naxes; k++) naas_conn_string(log[i].connectivity[k], conn);
    }
    double x[64], fit[64];
    for (int g = 0; g < 2; g++) {
      for (int i = 0; i < hdr[2]; i++) {
        opt_ask(opt, i, x);
        fit[i] = 0;
        for (int k = 0; k < hdr[1]; k++) {
          FUZZ_CHECK(x[k] >= 0 && x[k] <= 1, "a resumed optimizer proposes a point outside [0,1]");
          fit[i] += (x[k] - 0.25) * (x[k] - 0.25);
        }
      }
      opt_tell(opt, fit);
    }
  }
  if (rc == RC_OK && warm.have)
    for (int32_t j = 0; j < wn; j++) {
      FUZZ_CHECK(maps[j].nlevels >= 1 && maps[j].nlevels <= ACCEL_MAX_LEVELS,
                 "a warm mapping with a level count out of range");
      Diag q;
      diag_init(&q, NULL, NULL);
      Problem p;
      memset(&p, 0, sizeof p);
      for (int k = 0; k < NDIMS; k++) p.dim[k] = 1, p.stride[k % 2] = p.dilation[k % 2] = 1;
      (void)mapping_covers(&maps[j], &p, NULL, &q); /* what the search checks next */
    }
  free(maps);
  xfree(log);
  opt_destroy(opt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  (void)fuzz_sink();
  decode(data, size);
  if (size < HEAD + 8) return 0;
  uint8_t *fixed = malloc(size);
  FUZZ_CHECK(fixed, "malloc");
  memcpy(fixed, data, size);
  uint64_t len = size, sum = UINT64_C(0xcbf29ce484222325);
  memcpy(fixed + 16, &len, 8);
  for (size_t i = 0; i < size - 8; i++) sum = (sum ^ fixed[i]) * UINT64_C(0x100000001b3);
  memcpy(fixed + size - 8, &sum, 8);
  decode(fixed, size);
  free(fixed);
  return 0;
}
