/*
 * npy.c: NumPy's .npy files (format versions 1.0, 2.0 and 3.0), read and
 * written for the command-stream calls of api/naasc.c (naasc_stream_
 * bind_file, naasc_stream_write_output, naasc_tensor_load: a path ending in
 * ".npy" is one, any other a TensorProto).
 *
 * The format (numpy/lib/format.py, NEP 1): the magic "\x93NUMPY", a major
 * and a minor version byte, the header's length (2 bytes little-endian in
 * 1.0, 4 in 2.0 and 3.0), then the header, a Python dict literal of the
 * keys 'descr', 'fortran_order' and 'shape' (ASCII in 1.0 and 2.0, UTF-8 in
 * 3.0) padded with spaces to a multiple of 64 bytes and ended by '\n', then
 * the elements, C order unless 'fortran_order' is True.
 *
 * Invariants:
 *   - the parser trusts nothing: every length is checked against the bytes
 *     there are before it is used, every product of dims is checked for
 *     overflow, and any malformed header is NAASC_BADINPUT located in the
 *     file and the header field ("x.npy: header 'descr': error: ..."),
 *     never a crash (tests/api/test_npy.c mutates headers byte by byte);
 *   - only what the runtime holds as it is is read: little-endian (or
 *     byte-sized) elements of a type naasc has (DType), in C order; a
 *     big-endian descr and fortran_order True are refused, named, rather
 *     than converted;
 *   - writing is the inverse: version 1.0 (a header of at most 8 dims is
 *     far below its 65535 bytes), laid out and padded to 64 bytes as
 *     numpy 1.24's numpy.save lays it out, so numpy.load reads it and
 *     numpy.save of the same array writes the same bytes.  bfloat16, which numpy does not have, is written as its
 *     bits, '<u2' (as ONNX's test data stores it); binding such a file to a
 *     bfloat16 input takes the bits back.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"

static const uint8_t npy_magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

bool npy_path(const char *path) {
  size_t n = path ? strlen(path) : 0;
  return n >= 4 && !strcmp(path + n - 4, ".npy");
}

/* The descr of each DType numpy has (byte order '<', or '|' for one byte). */
static const struct {
  DType dt;
  const char *descr;
} npy_types[] = {
    {DT_F32, "<f4"}, {DT_F16, "<f2"}, {DT_F64, "<f8"}, {DT_U8, "|u1"},
    {DT_I8, "|i1"},  {DT_U16, "<u2"}, {DT_I16, "<i2"}, {DT_I32, "<i4"},
    {DT_I64, "<i8"}, {DT_U32, "<u4"}, {DT_U64, "<u8"}, {DT_BOOL, "|b1"},
};

/* The header cursor: p in [s, e), the file's name and the field for errors. */
typedef struct {
  const char *s, *p, *e;
  Diag *d;
} Hdr;

static void skip_space(Hdr *h) {
  while (h->p < h->e && (*h->p == ' ' || *h->p == '\t' || *h->p == '\n' || *h->p == '\r')) h->p++;
}

static bool accept(Hdr *h, char c) {
  skip_space(h);
  if (h->p < h->e && *h->p == c) {
    h->p++;
    return true;
  }
  return false;
}

/* The field's name as a location: "header 'descr'", or "header offset N". */
static void hdr_error(Hdr *h, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void hdr_error(Hdr *h, const char *field, const char *fmt, ...) {
  char where[64];
  if (field)
    snprintf(where, sizeof where, "header '%s'", field);
  else
    snprintf(where, sizeof where, "header offset %td", h->p - h->s);
  va_list ap;
  va_start(ap, fmt);
  h->d->nerrors++; /* as diag_error counts */
  diag_verror(h->d, "error", where, fmt, ap);
  va_end(ap);
}

/* A quoted string ('...' or "...", no escapes: numpy writes none in these
 * keys and values) into out (at most cap - 1 bytes). */
static bool parse_string(Hdr *h, char *out, size_t cap) {
  skip_space(h);
  if (h->p >= h->e || (*h->p != '\'' && *h->p != '"')) return false;
  char q = *h->p++;
  const char *b = h->p;
  while (h->p < h->e && *h->p != q && *h->p != '\\') h->p++;
  if (h->p >= h->e || *h->p != q) return false;
  size_t n = (size_t)(h->p - b);
  h->p++;
  if (n >= cap) n = cap - 1; /* a longer value cannot match: compared truncated, then refused */
  memcpy(out, b, n);
  out[n] = 0;
  return true;
}

static bool parse_word(Hdr *h, const char *w) {
  skip_space(h);
  size_t n = strlen(w);
  if ((size_t)(h->e - h->p) < n || memcmp(h->p, w, n)) return false;
  h->p += n;
  return true;
}

/* A tuple of non-negative integers: "()", "(5,)", "(2, 3)", "(2, 3,)". */
static Rc parse_shape(Hdr *h, int *rank, int64_t *dims) {
  *rank = 0;
  if (!accept(h, '(')) {
    hdr_error(h, "shape", "expected a tuple of dims, as (2, 3)");
    return RC_BADINPUT;
  }
  if (accept(h, ')')) return RC_OK;
  for (;;) {
    skip_space(h);
    if (h->p >= h->e || *h->p < '0' || *h->p > '9') {
      hdr_error(h, "shape", "expected a non-negative integer dim");
      return RC_BADINPUT;
    }
    int64_t v = 0;
    while (h->p < h->e && *h->p >= '0' && *h->p <= '9') {
      if (!ck_mul_i64(v, 10, &v) || !ck_add_i64(v, *h->p - '0', &v)) {
        hdr_error(h, "shape", "dim %d does not fit 64 bits", *rank);
        return RC_BADINPUT;
      }
      h->p++;
    }
    if (h->p < h->e && *h->p == 'L') h->p++; /* Python 2's long, as numpy still accepts */
    if (*rank == NAASC_MAX_RANK) {
      hdr_error(h, "shape", "more than %d dims", NAASC_MAX_RANK);
      return RC_BADINPUT;
    }
    dims[(*rank)++] = v;
    bool comma = accept(h, ',');
    if (accept(h, ')')) return RC_OK;
    if (!comma) {
      hdr_error(h, "shape", "expected ',' or ')' after dim %d", *rank - 1);
      return RC_BADINPUT;
    }
  }
}

Rc npy_parse(const uint8_t *buf, size_t len, NpyArray *a, Diag *d) {
  memset(a, 0, sizeof *a);
  if (len < 10 || memcmp(buf, npy_magic, sizeof npy_magic)) {
    diag_error(d, "offset 0", "not a NumPy .npy file (no \\x93NUMPY magic)");
    return RC_BADINPUT;
  }
  int major = buf[6], minor = buf[7];
  if (major < 1 || major > 3 || minor != 0) {
    diag_error(d, "offset 6", "format version %d.%d: only 1.0, 2.0 and 3.0 are read", major, minor);
    return RC_BADINPUT;
  }
  size_t hlen, start;
  if (major == 1) {
    hlen = (size_t)buf[8] | (size_t)buf[9] << 8;
    start = 10;
  } else {
    if (len < 12) {
      diag_error(d, "offset 8", "the file ends inside the header's length");
      return RC_BADINPUT;
    }
    hlen = (size_t)buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 | (size_t)buf[11] << 24;
    start = 12;
  }
  if (hlen > len - start) {
    diag_error(d, "offset 8", "a header of %zu bytes, but only %zu follow", hlen, len - start);
    return RC_BADINPUT;
  }
  Hdr h = {(const char *)buf + start, (const char *)buf + start, (const char *)buf + start + hlen,
           d};
  /* ASCII (latin-1 in 1.0 and 2.0; UTF-8 in 3.0): a NUL byte is refused so
   * that nothing is read as a C string past it */
  if (memchr(h.s, 0, hlen)) {
    h.p = memchr(h.s, 0, hlen);
    hdr_error(&h, NULL, "a NUL byte in the header");
    return RC_BADINPUT;
  }
  if (!hlen || h.e[-1] != '\n') {
    h.p = h.e;
    hdr_error(&h, NULL, "the header does not end with a newline");
    return RC_BADINPUT;
  }
  char descr[16] = {0};
  bool have_descr = false, have_fortran = false, have_shape = false;
  if (!accept(&h, '{')) {
    hdr_error(&h, NULL, "expected a dict literal '{'");
    return RC_BADINPUT;
  }
  while (!accept(&h, '}')) {
    char key[32];
    skip_space(&h);
    const char *at = h.p;
    if (!parse_string(&h, key, sizeof key)) {
      hdr_error(&h, NULL, "expected a quoted key or '}'");
      return RC_BADINPUT;
    }
    if (!accept(&h, ':')) {
      hdr_error(&h, NULL, "expected ':' after key '%s'", key);
      return RC_BADINPUT;
    }
    if (!strcmp(key, "descr")) {
      if (have_descr || !parse_string(&h, descr, sizeof descr)) {
        hdr_error(&h, "descr", have_descr ? "given twice" : "expected a quoted type, as '<f4'");
        return RC_BADINPUT;
      }
      have_descr = true;
    } else if (!strcmp(key, "fortran_order")) {
      bool t = parse_word(&h, "True");
      if (have_fortran || (!t && !parse_word(&h, "False"))) {
        hdr_error(&h, "fortran_order", have_fortran ? "given twice" : "expected True or False");
        return RC_BADINPUT;
      }
      if (t) {
        hdr_error(&h, "fortran_order",
                  "True: the array is in Fortran (column-major) order; only C order is read "
                  "(write it with numpy.ascontiguousarray)");
        return RC_BADINPUT;
      }
      have_fortran = true;
    } else if (!strcmp(key, "shape")) {
      if (have_shape) {
        hdr_error(&h, "shape", "given twice");
        return RC_BADINPUT;
      }
      Rc rc = parse_shape(&h, &a->rank, a->dims);
      if (rc != RC_OK) return rc;
      have_shape = true;
    } else {
      h.p = at;
      hdr_error(&h, NULL, "unknown key '%s' (descr, fortran_order, shape)", key);
      return RC_BADINPUT;
    }
    if (!accept(&h, ',')) {
      if (accept(&h, '}')) break;
      hdr_error(&h, NULL, "expected ',' or '}'");
      return RC_BADINPUT;
    }
  }
  skip_space(&h);
  if (h.p != h.e) {
    hdr_error(&h, NULL, "text after the dict");
    return RC_BADINPUT;
  }
  const char *missing = !have_descr ? "descr" : !have_fortran ? "fortran_order" : "shape";
  if (!have_descr || !have_fortran || !have_shape) {
    diag_error(d, "header", "no '%s' key", missing);
    return RC_BADINPUT;
  }
  /* descr: '<' or '=' (little-endian, as this host), '|' (not applicable) */
  char canon[16]; /* descr is at most 15 characters (descr[16] above) */
  snprintf(canon, sizeof canon, "%s", descr);
  if (canon[0] == '=') canon[0] = '<';
  if (canon[0] == '<' && canon[1] && canon[2] == '1' && !canon[3]) canon[0] = '|';
  if (canon[0] == '|' && canon[1] && canon[2] && canon[2] != '1') canon[0] = '<';
  if (descr[0] == '>' || descr[0] == '!') {
    diag_error(d, "header 'descr'",
               "'%s' is big-endian; only little-endian arrays are read (convert with "
               "a.astype(a.dtype.newbyteorder('<')))",
               descr);
    return RC_BADINPUT;
  }
  a->dtype = DT_UNDEF;
  for (size_t i = 0; i < sizeof npy_types / sizeof npy_types[0]; i++)
    if (!strcmp(canon, npy_types[i].descr)) a->dtype = npy_types[i].dt;
  if (a->dtype == DT_UNDEF) {
    diag_error(d, "header 'descr'",
               "'%s' is not a type naasc runs (f4, f2, f8, u1, i1, u2, i2, i4, i8, u4, u8, b1; "
               "little-endian)",
               descr);
    return RC_BADINPUT;
  }
  int64_t numel = 1;
  for (int k = 0; k < a->rank; k++)
    if (!ck_mul_i64(numel, a->dims[k], &numel)) {
      diag_error(d, "header 'shape'", "the element count overflows 64 bits");
      return RC_BADINPUT;
    }
  size_t have = len - start - hlen;
  int64_t need;
  if (!ck_mul_i64(numel, (int64_t)dtype_size(a->dtype), &need)) need = -1;
  if (need < 0 || (uint64_t)need != have) {
    diag_error(d, "data",
               "%zu bytes of data, but %" PRId64 " elements of '%s' ('shape', 'descr') "
               "need %s%" PRId64,
               have, numel, descr, need < 0 ? "over " : "", need < 0 ? INT64_MAX : need);
    return RC_BADINPUT;
  }
  a->numel = numel;
  a->data = buf + start + hlen;
  a->bytes = (size_t)need;
  return RC_OK;
}

Rc npy_encode(DType dt, int rank, const int64_t *dims, const void *data, uint8_t **out,
              size_t *out_len) {
  if (dt == DT_BF16) dt = DT_U16; /* numpy has no bfloat16: its bits */
  const char *descr = NULL;
  for (size_t i = 0; i < sizeof npy_types / sizeof npy_types[0]; i++)
    if (npy_types[i].dt == dt) descr = npy_types[i].descr;
  if (!descr || rank < 0 || rank > NAASC_MAX_RANK) return RC_BADINPUT;
  /* the dict as numpy writes it (format.py _write_array_header) */
  char hdr[320];
  int n = snprintf(hdr, sizeof hdr, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
  int64_t numel = 1;
  for (int k = 0; k < rank; k++) {
    n += snprintf(hdr + n, sizeof hdr - (size_t)n, k ? ", %" PRId64 : "%" PRId64, dims[k]);
    if (!ck_mul_i64(numel, dims[k], &numel)) return RC_BADINPUT;
  }
  n += snprintf(hdr + n, sizeof hdr - (size_t)n, "%s), }", rank == 1 ? "," : "");
  /* numpy (1.24) leaves room for the first dim to grow to 21 digits */
  if (rank) {
    int digits = snprintf(NULL, 0, "%" PRId64, dims[0]);
    for (int k = digits; k < 21; k++) hdr[n++] = ' ';
  }
  size_t bytes = (size_t)numel * dtype_size(dt);
  /* padded with spaces and a final '\n' so that magic + length + header is
   * a multiple of 64 bytes */
  size_t total = 10 + (size_t)n + 1;
  size_t hlen = (size_t)n + 1 + (64 - total % 64) % 64;
  uint8_t *b = malloc(10 + hlen + bytes);
  if (!b) return RC_INTERNAL;
  memcpy(b, npy_magic, 6);
  b[6] = 1, b[7] = 0;
  b[8] = (uint8_t)(hlen & 0xff), b[9] = (uint8_t)(hlen >> 8);
  memcpy(b + 10, hdr, (size_t)n);
  memset(b + 10 + n, ' ', hlen - (size_t)n - 1);
  b[10 + hlen - 1] = '\n';
  if (bytes) memcpy(b + 10 + hlen, data, bytes);
  *out = b;
  *out_len = 10 + hlen + bytes;
  return RC_OK;
}

Rc npy_write_file(const char *path, DType dt, int rank, const int64_t *dims, const void *data,
                  Diag *d) {
  uint8_t *b = NULL;
  size_t n = 0;
  Rc rc = npy_encode(dt, rank, dims, data, &b, &n);
  const char *file = d->file;
  d->file = path;
  if (rc == RC_BADINPUT)
    diag_error(d, NULL, "a %s tensor cannot be written as .npy", dtype_name(dt));
  else if (rc == RC_OK)
    rc = file_write_atomic(path, b, n, d);
  d->file = file;
  free(b);
  return rc;
}
