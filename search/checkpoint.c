/*
 * checkpoint.c: the file a search writes after every generation
 * (--checkpoint) and reads back to resume (--resume); naas.h.
 *
 * Format 4, in host byte order (a search resumes on the machine that wrote
 * it, or one alike):
 *      0  magic "NAASCKPT"
 *      8  u32 format version (NAAS_CKPT_VERSION)     12  u32 0
 *     16  u64 the file's length in bytes
 *     24  NaasCkpt: the fingerprint of the search and its counters
 *         the optimizer's state (opt_save, optlen bytes)
 *         the top table: ntop records of (score, dim genes), the search's
 *         best distinct designs, best first (what --rerank maps again)
 *         the candidate log (nlog NaasCandidate records)
 *         the warm-start block (--warm-map; search.h NaasCkptWarm): i32 n
 *         (the search's layers, > 0), i32 have, f64 score, then if have n
 *         mapping records (WREC bytes each: i32 levels, then for each of
 *         ACCEL_MAX_LEVELS levels, zero past the mapping's, the temporal
 *         factors and remainders as i64, the order as u8, the spatial
 *         factors as i64 and orders as u8 per axis, the keep bits as u8)
 *  end-8  u64 checksum: FNV-1a, 64 bits, of every byte before it
 *
 * A search without warm starts writes format 3, which is format 4 without
 * the warm-start block (the format of naasc before --warm-map, still read).
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
 *     count, generation and index; the warm-start block's layer count (the
 *     search's), have (have_best), score (the best score) and each mapping's
 *     levels, factors (1..2^40), remainders (0..factor), orders
 *     (permutations) and keep bits; the caller then checks each mapping
 *     against its layer (mapping_covers).
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
#define WHEAD 16     /* the warm-start block's n, have, score */
#define WLEVEL (NDIMS * 8 * 2 + NDIMS + ACCEL_MAX_AXES * NDIMS * 9 + 1)
#define WREC (4 + ACCEL_MAX_LEVELS * WLEVEL)
#define WMAX_FACTOR (INT64_C(1) << 40)

/* A mapping's record, field by field (no padding); levels past its own zero. */
static void wrec_put(uint8_t *p, const Mapping *m) {
  memset(p, 0, WREC);
  int32_t nl = m->nlevels;
  memcpy(p, &nl, 4);
  p += 4;
  for (int l = 0; l < ACCEL_MAX_LEVELS; l++, p += WLEVEL) {
    if (l >= m->nlevels) continue;
    const LevelMapping *lm = &m->level[l];
    uint8_t *q = p;
    memcpy(q, lm->factor, NDIMS * 8), q += NDIMS * 8;
    memcpy(q, lm->remainder, NDIMS * 8), q += NDIMS * 8;
    memcpy(q, lm->order, NDIMS), q += NDIMS;
    for (int x = 0; x < ACCEL_MAX_AXES; x++) {
      memcpy(q, lm->spatial[x], NDIMS * 8), q += NDIMS * 8;
      memcpy(q, lm->spatial_order[x], NDIMS), q += NDIMS;
    }
    *q = lm->keep;
  }
}

static bool perm_ok(const uint8_t *o) {
  uint32_t seen = 0;
  for (int k = 0; k < NDIMS; k++) seen |= o[k] < NDIMS ? 1u << o[k] : 0;
  return seen == (1u << NDIMS) - 1;
}

/* The record at p into *m; false if a value is out of range. */
static bool wrec_get(const uint8_t *p, Mapping *m) {
  memset(m, 0, sizeof *m);
  int32_t nl;
  memcpy(&nl, p, 4);
  if (nl < 1 || nl > ACCEL_MAX_LEVELS) return false;
  m->nlevels = nl;
  p += 4;
  for (int l = 0; l < nl; l++, p += WLEVEL) {
    LevelMapping *lm = &m->level[l];
    const uint8_t *q = p;
    memcpy(lm->factor, q, NDIMS * 8), q += NDIMS * 8;
    memcpy(lm->remainder, q, NDIMS * 8), q += NDIMS * 8;
    memcpy(lm->order, q, NDIMS), q += NDIMS;
    for (int x = 0; x < ACCEL_MAX_AXES; x++) {
      memcpy(lm->spatial[x], q, NDIMS * 8), q += NDIMS * 8;
      memcpy(lm->spatial_order[x], q, NDIMS), q += NDIMS;
      for (int d = 0; d < NDIMS; d++)
        if (lm->spatial[x][d] < 1 || lm->spatial[x][d] > WMAX_FACTOR) return false;
      if (!perm_ok(lm->spatial_order[x])) return false;
    }
    lm->keep = *q;
    for (int d = 0; d < NDIMS; d++)
      if (lm->factor[d] < 1 || lm->factor[d] > WMAX_FACTOR || lm->remainder[d] < 0 ||
          lm->remainder[d] > lm->factor[d])
        return false;
    if (!perm_ok(lm->order) || lm->keep >> NTENSORS) return false;
  }
  return true;
}

static uint64_t fnv1a(const uint8_t *p, size_t n) {
  uint64_t h = UINT64_C(0xcbf29ce484222325);
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * UINT64_C(0x100000001b3);
  return h;
}

Rc naas_ckpt_write(const char *path, const NaasCkpt *h, Optimizer *opt, const double *top,
                   const NaasCandidate *log, const NaasCkptWarm *warm, Diag *d) {
  size_t olen = (size_t)h->optlen, xlen = sizeof(double) * (size_t)h->ntop * (size_t)(1 + h->dim),
         llen, len, wlen = 0;
  bool wb = warm && warm->n > 0;
  if ((wb && (!ck_mul_size(WREC, warm->have ? (size_t)warm->n : 0, &wlen) ||
              !ck_add_size(wlen, WHEAD, &wlen))) ||
      !ck_mul_size(sizeof *log, (size_t)h->nlog, &llen) || !ck_add_size(llen, wlen, &llen) ||
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
  uint32_t ver[2] = {wb ? NAAS_CKPT_VERSION : 3, 0};
  uint64_t total = len;
  memcpy(p, CKPT_MAGIC, 8), p += 8;
  memcpy(p, ver, 8), p += 8;
  memcpy(p, &total, 8), p += 8;
  memcpy(p, h, sizeof *h), p += sizeof *h;
  opt_save(opt, p, olen), p += olen;
  if (xlen) memcpy(p, top, xlen), p += xlen;
  if (llen - wlen) memcpy(p, log, llen - wlen), p += llen - wlen;
  if (wb) {
    int32_t nh[2] = {warm->n, warm->have};
    memcpy(p, nh, 8), p += 8;
    memcpy(p, &warm->score, 8), p += 8;
    for (int j = 0; warm->have && j < warm->n; j++) wrec_put(p, &warm->maps[j]), p += WREC;
  }
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
                    NaasCkpt *h, double *top, NaasCandidate **log, int64_t *caplog,
                    NaasCkptWarm *warm, Diag *d) {
  int32_t wn = warm ? warm->n : 0; /* the warm mappings this search keeps */
  int dim = opt_dim(opt), lam = opt_popsize(opt);
  /* 1. Magic, version, length, checksum: nothing else is read before these hold. */
  if (len < CKPT_HEAD + sizeof *h + CKPT_TAIL || memcmp(buf, CKPT_MAGIC, 8) != 0) {
    if (len >= 8 && memcmp(buf, "NAASCKP1", 8) == 0)
      diag_error(d, name,
                 "a checkpoint of format 1 (an older naasc); this naasc reads formats 3 and %d: "
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
    diag_error(
        d, name,
        "a checkpoint of format 2 (an older naasc, without the table of best designs a "
        "search re-ranks); this naasc reads formats 3 and %d: start the search again without "
        "--resume",
        NAAS_CKPT_VERSION);
    return RC_BADINPUT;
  }
  if (ver[0] != NAAS_CKPT_VERSION && ver[0] != 3) {
    diag_error(d, name, "checkpoint format %" PRIu32 ", this naasc reads formats 3 and %d", ver[0],
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
      (ver[0] == 3 ? need != body : need > body)) {
    diag_error(d, name,
               "checkpoint corrupt: its counts (%" PRId64 " generations, %" PRId64 " records) "
               "do not match its %zu bytes",
               h->iter, h->nlog, len);
    return RC_BADINPUT;
  }
  /* The warm-start block (format 4 only, and only of a search that keeps one). */
  const uint8_t *wp = buf + CKPT_HEAD + sizeof *h + need;
  int32_t nh[2] = {0, 0};
  double wscore = INFINITY;
  if (ver[0] != 3) {
    size_t wlen = 0;
    if (body - need < WHEAD) {
      diag_error(d, name, "checkpoint corrupt: its warm-start block is truncated");
      return RC_BADINPUT;
    }
    memcpy(nh, wp, 8);
    memcpy(&wscore, wp + 8, 8);
    if (nh[0] != wn || wn <= 0 || !(nh[1] == 0 || nh[1] == 1) ||
        !ck_mul_size(WREC, nh[1] ? (size_t)nh[0] : 0, &wlen) || body - need - WHEAD != wlen) {
      diag_error(d, name,
                 "checkpoint corrupt: a warm-start block of %" PRId32 " mappings (this search "
                 "keeps %" PRId32 ") that does not match its %zu bytes",
                 nh[0], wn, len);
      return RC_BADINPUT;
    }
  } else if (wn > 0) {
    diag_error(d, name,
               "checkpoint corrupt: format 3 has no warm-start block, this search keeps one");
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
  if (wn > 0) {
    if (nh[1] != h->have_best || (nh[1] && wscore != h->best_score) ||
        (!nh[1] && wscore != INFINITY)) {
      diag_error(d, name,
                 "checkpoint corrupt: the warm-start block's incumbent is not the best design");
      return RC_BADINPUT;
    }
    for (int32_t j = 0; nh[1] && j < wn; j++)
      if (!wrec_get(wp + WHEAD + (size_t)j * WREC, &warm->maps[j])) {
        diag_error(d, name, "checkpoint corrupt: warm-start mapping %" PRId32 " is out of range",
                   j);
        return RC_BADINPUT;
      }
    warm->have = nh[1];
    warm->score = wscore;
  }
  if (llen) memcpy(*log, p, llen);
  return RC_OK;
}

Rc naas_ckpt_read(const char *path, uint64_t fp, Optimizer *opt, NaasCkpt *h, double *top,
                  NaasCandidate **log, int64_t *caplog, NaasCkptWarm *warm, Diag *d) {
  uint8_t *buf = NULL;
  size_t len = 0;
  Diag fd = *d;
  fd.file = path;
  Rc rc = file_read_all(path, NAAS_CKPT_MAX_BYTES, &buf, &len, &fd);
  d->nerrors = fd.nerrors;
  if (rc != RC_OK) return rc == RC_INTERNAL ? rc : RC_BADINPUT;
  rc = naas_ckpt_decode(buf, len, path, fp, opt, h, top, log, caplog, warm, d);
  xfree(buf);
  return rc;
}
