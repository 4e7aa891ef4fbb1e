/*
 * checkpoint.c: the file a search writes after every generation
 * (--checkpoint) and reads back to resume (--resume); naas.h.
 *
 * Format 3, in host byte order (a search resumes on the machine that wrote
 * it, or one alike):
 *      0  magic "NAASCKPT"
 *      8  u32 format version (NAAS_CKPT_VERSION)     12  u32 0
 *     16  u64 the file's length in bytes
 *     24  NaasCkpt: the fingerprint of the search and its counters
 *         the optimizer's state (opt_save, optlen bytes)
 *         the top table: ntop records of (score, dim genes), the search's
 *         best distinct designs, best first (what --rerank maps again)
 *         the candidate log (nlog NaasCandidate records)
 *  end-8  u64 checksum: FNV-1a, 64 bits, of every byte before it
 *
 * Invariants of the reader, in this order, so that no field is trusted
 * before it is checked:
 *   - the magic, the version and the length are checked, then the checksum
 *     over the whole file; only then is any other field read;
 *   - the fingerprint and the dimension must be this search's;
 *   - every count (optlen, dim, nlog) is checked, with the checked
 *     arithmetic of ir.h, against the file's length before it sizes
 *     anything, and nlog must be 1 + generations x popsize, the records a
 *     search writes (its starting point, then every candidate);
 *   - every value the search goes on from is checked for range: the
 *     optimizer's state (opt_load), the top table (ntop within 1..
 *     NAAS_TOP_MAX exactly when have_best, scores finite and ascending,
 *     the first the best score, genes in [0,1]), each record's flag, axis
 *     count, generation and index.
 *
 * Format 2 (one best vector, no table) is refused with a message that says
 * so: a search resumed from it could not re-rank what it never kept.
 *
 * Why FNV-1a: the checksum guards against accidental damage (a torn copy, a
 * flipped bit or byte, a truncation), not against a forger, who can
 * recompute any unkeyed checksum (which is why the counts are checked as
 * well).  FNV-1a is the hash the tree already uses (ir/cmdfmt.h); it always
 * detects a change confined to one byte (each step h -> (h ^ b) * P is a
 * bijection of h, P being odd), passes other damage with a chance of about
 * 2^-64, and a test recomputes it in one line of Python.  A CRC-64 would
 * add guaranteed detection of longer bursts, which a file that is written
 * atomically (file_write_atomic) and read whole does not need.
 */
#include "search/search.h"

#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

#define CKPT_MAGIC "NAASCKPT"
#define CKPT_HEAD 24 /* magic, version, 0, length */
#define CKPT_TAIL 8  /* checksum */

static uint64_t fnv1a(const uint8_t *p, size_t n) {
  uint64_t h = UINT64_C(0xcbf29ce484222325);
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * UINT64_C(0x100000001b3);
  return h;
}

Rc naas_ckpt_write(const char *path, const NaasCkpt *h, Optimizer *opt, const double *top,
                   const NaasCandidate *log, Diag *d) {
  size_t olen = (size_t)h->optlen, xlen = sizeof(double) * (size_t)h->ntop * (size_t)(1 + h->dim),
         llen, len;
  if (!ck_mul_size(sizeof *log, (size_t)h->nlog, &llen) ||
      !ck_add_size(CKPT_HEAD + sizeof *h + CKPT_TAIL, olen, &len) ||
      !ck_add_size(len, xlen, &len) || !ck_add_size(len, llen, &len) || len > NAAS_CKPT_MAX_BYTES) {
    diag_error(d, path, "the checkpoint would be larger than the %zu bytes a resume reads",
               NAAS_CKPT_MAX_BYTES);
    return RC_BADINPUT;
  }
  uint8_t *buf = xcalloc(1, len), *p = buf;
  if (!buf) {
    diag_error(d, path, "out of memory writing the checkpoint");
    return RC_INTERNAL;
  }
  uint32_t ver[2] = {NAAS_CKPT_VERSION, 0};
  uint64_t total = len;
  memcpy(p, CKPT_MAGIC, 8), p += 8;
  memcpy(p, ver, 8), p += 8;
  memcpy(p, &total, 8), p += 8;
  memcpy(p, h, sizeof *h), p += sizeof *h;
  opt_save(opt, p, olen), p += olen;
  if (xlen) memcpy(p, top, xlen), p += xlen;
  if (llen) memcpy(p, log, llen), p += llen;
  uint64_t sum = fnv1a(buf, len - CKPT_TAIL);
  memcpy(p, &sum, 8);
  Rc rc = file_write_atomic(path, buf, len, d);
  xfree(buf);
  return rc;
}

/* A log record as the search wrote it: its flag a bool, its axes within the
 * record, its generation and index within the search. */
static bool record_ok(const uint8_t *rec, int64_t iter, int lam) {
  NaasCandidate c;
  uint8_t valid = rec[offsetof(NaasCandidate, valid)]; /* a bool's byte, before it is read as one */
  if (valid > 1) return false;
  memcpy(&c, rec, sizeof c);
  return c.naxes >= 0 && c.naxes <= NAAS_LOG_AXES && c.iteration >= 0 && c.iteration <= iter &&
         c.index >= -1 && c.index < lam;
}

Rc naas_ckpt_decode(const uint8_t *buf, size_t len, const char *name, uint64_t fp, Optimizer *opt,
                    NaasCkpt *h, double *top, NaasCandidate **log, int64_t *caplog, Diag *d) {
  int dim = opt_dim(opt), lam = opt_popsize(opt);
  /* 1. Magic, version, length, checksum: nothing else is read before these hold. */
  if (len < CKPT_HEAD + sizeof *h + CKPT_TAIL || memcmp(buf, CKPT_MAGIC, 8) != 0) {
    if (len >= 8 && memcmp(buf, "NAASCKP1", 8) == 0)
      diag_error(d, name,
                 "a checkpoint of format 1 (an older naasc); this naasc reads format %d: "
                 "start the search again without --resume",
                 NAAS_CKPT_VERSION);
    else
      diag_error(d, name, "not a naasc search checkpoint (bad magic or truncated)");
    return RC_BADINPUT;
  }
  uint32_t ver[2];
  uint64_t total, sum;
  memcpy(ver, buf + 8, 8);
  memcpy(&total, buf + 16, 8);
  if (ver[0] == 2) {
    diag_error(d, name,
               "a checkpoint of format 2 (an older naasc, without the table of best designs a "
               "search re-ranks); this naasc reads format %d: start the search again without "
               "--resume",
               NAAS_CKPT_VERSION);
    return RC_BADINPUT;
  }
  if (ver[0] != NAAS_CKPT_VERSION) {
    diag_error(d, name, "checkpoint format %" PRIu32 ", this naasc reads format %d", ver[0],
               NAAS_CKPT_VERSION);
    return RC_BADINPUT;
  }
  if (total != len) {
    diag_error(d, name, "checkpoint truncated or extended: %zu bytes, it was written with %" PRIu64,
               len, total);
    return RC_BADINPUT;
  }
  memcpy(&sum, buf + len - CKPT_TAIL, 8);
  if (fnv1a(buf, len - CKPT_TAIL) != sum) {
    diag_error(d, name, "checkpoint damaged: its checksum does not match its content");
    return RC_BADINPUT;
  }
  /* 2. The same search. */
  memcpy(h, buf + CKPT_HEAD, sizeof *h);
  if (h->fp != fp || h->dim != dim) {
    diag_error(d, name,
               "this checkpoint is from another search (different models, budget or options); "
               "resume with the same command line");
    return RC_BADINPUT;
  }
  /* 3. Counts, against overflow and the file's length. */
  size_t body = len - CKPT_HEAD - sizeof *h - CKPT_TAIL, xlen, llen, need;
  int64_t want_log;
  if (h->ntop < 0 || h->ntop > NAAS_TOP_MAX || h->pad_ != 0) {
    diag_error(d, name, "checkpoint corrupt: a table of %" PRId32 " best designs (at most %d)",
               h->ntop, NAAS_TOP_MAX);
    return RC_BADINPUT;
  }
  xlen = sizeof(double) * (size_t)h->ntop * (size_t)(1 + dim);
  if (h->optlen != opt_save(opt, NULL, 0) || h->iter < 0 || h->nlog < 0 ||
      h->candidates != h->nlog || h->evals < 0 || !ck_mul_i64(h->iter, lam, &want_log) ||
      !ck_add_i64(want_log, 1, &want_log) || h->nlog != want_log ||
      !ck_mul_size(sizeof **log, (size_t)h->nlog, &llen) ||
      !ck_add_size((size_t)h->optlen, xlen, &need) || !ck_add_size(need, llen, &need) ||
      need != body) {
    diag_error(d, name,
               "checkpoint corrupt: its counts (%" PRId64 " generations, %" PRId64 " records) "
               "do not match its %zu bytes",
               h->iter, h->nlog, len);
    return RC_BADINPUT;
  }
  /* 4. Values. */
  const uint8_t *p = buf + CKPT_HEAD + sizeof *h;
  if (!(h->have_best == 0 || h->have_best == 1) || !isfinite(h->seconds) || h->seconds < 0 ||
      (h->have_best && !isfinite(h->best_score)) || (h->have_best != 0) != (h->ntop > 0)) {
    diag_error(d, name, "checkpoint corrupt: bad counters");
    return RC_BADINPUT;
  }
  if (!opt_load(opt, p, (size_t)h->optlen)) {
    diag_error(d, name,
               "checkpoint's optimizer state does not match this search or is out of range");
    return RC_BADINPUT;
  }
  p += h->optlen;
  if (xlen) memcpy(top, p, xlen);
  for (int t = 0; t < h->ntop; t++) {
    const double *rec = NAAS_TOP_REC(top, dim, t);
    if (!isfinite(rec[0]) || (t == 0 && rec[0] != h->best_score) ||
        (t > 0 && !(rec[0] >= NAAS_TOP_REC(top, dim, t - 1)[0]))) {
      diag_error(d, name,
                 "checkpoint corrupt: best design %d's score %g is not finite, or out of order", t,
                 rec[0]);
      return RC_BADINPUT;
    }
    for (int k = 0; k < dim; k++)
      if (!(rec[1 + k] >= 0 && rec[1 + k] <= 1)) {
        diag_error(d, name, "checkpoint corrupt: best design %d's gene %d is %g, outside [0,1]", t,
                   k, rec[1 + k]);
        return RC_BADINPUT;
      }
  }
  p += xlen;
  for (int64_t i = 0; i < h->nlog; i++)
    if (!record_ok(p + (size_t)i * sizeof **log, h->iter, lam)) {
      diag_error(d, name, "checkpoint corrupt: candidate record %" PRId64 " is out of range", i);
      return RC_BADINPUT;
    }
  if (h->nlog > *caplog) {
    NaasCandidate *nl = xrealloc(*log, llen);
    if (!nl) {
      diag_error(d, name, "out of memory reading the checkpoint (%zu bytes of candidates)", llen);
      return RC_INTERNAL;
    }
    *log = nl;
    *caplog = h->nlog;
  }
  if (llen) memcpy(*log, p, llen);
  return RC_OK;
}

Rc naas_ckpt_read(const char *path, uint64_t fp, Optimizer *opt, NaasCkpt *h, double *top,
                  NaasCandidate **log, int64_t *caplog, Diag *d) {
  uint8_t *buf = NULL;
  size_t len = 0;
  Diag fd = *d;
  fd.file = path;
  Rc rc = file_read_all(path, NAAS_CKPT_MAX_BYTES, &buf, &len, &fd);
  d->nerrors = fd.nerrors;
  if (rc != RC_OK) return rc == RC_INTERNAL ? rc : RC_BADINPUT;
  rc = naas_ckpt_decode(buf, len, path, fp, opt, h, top, log, caplog, d);
  xfree(buf);
  return rc;
}
