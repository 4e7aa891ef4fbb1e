/*
 * test_npy.c: NumPy .npy files through the C API (api/naasc.h's
 * naasc_tensor_* calls over api/npy.c, the reader and writer the stream
 * calls use).
 *
 *   test_npy SCRATCH_DIR
 *
 * Checks: every dtype saved by naasc_tensor_save parses back to the same
 * dtype, shape and bytes; the header numpy 1.24 writes for a
 * (2, 3) f4 array, byte for byte; versions 2.0 and 3.0; each rule's
 * located message (fortran_order True, big-endian, unknown descr, a
 * missing or repeated key, too many dims, a dim count that overflows,
 * data too short or too long, a bad magic or version, a header longer
 * than the file); and, fuzz-style, that no malformed header crashes or
 * reads past the buffer (run under ASan in the sanitizer build): every
 * truncation of a valid file, every header byte replaced by each of a set
 * of meaningful bytes, and 20000 seeded random multi-byte mutations, each
 * parsed from a heap copy of exactly its length, must give NAASC_OK with a
 * consistent tensor or NAASC_BADINPUT with a message located in the file.
 */
#include <stdlib.h>

#include "api/naasc.h"
#include "tests/unit/test.h"

enum {
  F32 = 1,
  U8 = 2,
  I8 = 3,
  U16 = 4,
  I16 = 5,
  I32 = 6,
  I64 = 7,
  STRING = 8,
  BOOL = 9,
  F16 = 10,
  F64 = 11,
  U32 = 12,
  U64 = 13,
  BF16 = 16
}; /* TensorProto.DataType */

static NaascContext *ctx;
static const char *scratch = "/tmp";
static char msg[4096];

static size_t elem_size(int dt) {
  switch (dt) {
  case U8:
  case I8:
  case BOOL: return 1;
  case U16:
  case I16:
  case F16:
  case BF16: return 2;
  case F32:
  case I32:
  case U32: return 4;
  default: return 8;
  }
}

/* Parses a heap copy of exactly len bytes of b into a->info (the tensor is
 * freed; on success its data must be the file's last bytes); the message
 * (if any) in msg. */
typedef struct {
  NaascTensorInfo info;
} Parsed;

static NaascStatus parse(const uint8_t *b, size_t len, Parsed *a) {
  uint8_t *copy = malloc(len ? len : 1);
  if (len) memcpy(copy, b, len);
  NaascTensor *t = NULL;
  NaascStatus st = naasc_tensor_parse_npy(ctx, copy, len, "x.npy", &t);
  snprintf(msg, sizeof msg, "%s", naasc_context_error(ctx));
  naasc_tensor_info(t, &a->info);
  if (st == NAASC_OK) {
    const NaascTensorInfo *i = &a->info;
    int64_t n = 1;
    for (int k = 0; k < i->rank; k++) n *= i->dims[k];
    CHECK(n == i->numel);
    CHECK(i->bytes == (size_t)n * elem_size(i->dtype));
    CHECK(i->bytes <= len &&
          (i->bytes == 0 || memcmp(naasc_tensor_data(t), copy + len - i->bytes, i->bytes) == 0));
  } else {
    CHECK(st == NAASC_BADINPUT && !t);
    CHECK(strncmp(msg, "x.npy: ", 7) == 0 && strstr(msg, "error: "));
  }
  naasc_tensor_destroy(t);
  free(copy);
  return st;
}

/* The bytes of file path into buf (at most cap); their count. */
static size_t slurp(const char *path, uint8_t *buf, size_t cap) {
  FILE *f = fopen(path, "rb");
  size_t n = f ? fread(buf, 1, cap, f) : 0;
  if (f) fclose(f);
  return n;
}

/* t saved as .npy in the scratch folder, its bytes read back into buf. */
static size_t save(NaascTensor *t, uint8_t *buf, size_t cap) {
  char path[512];
  snprintf(path, sizeof path, "%s/t.npy", scratch);
  CHECK(naasc_tensor_save(ctx, t, path) == NAASC_OK);
  return slurp(path, buf, cap);
}

/* A .npy file of header text hdr (padded as numpy pads it) and n data bytes. */
static size_t make(uint8_t *out, int major, const char *hdr, size_t ndata) {
  size_t pre = major == 1 ? 10 : 12, h = strlen(hdr) + 1;
  h += (64 - (pre + h) % 64) % 64;
  memcpy(out, "\x93NUMPY", 6);
  out[6] = (uint8_t)major, out[7] = 0;
  if (major == 1) {
    out[8] = (uint8_t)h, out[9] = (uint8_t)(h >> 8);
  } else {
    out[8] = (uint8_t)h, out[9] = (uint8_t)(h >> 8), out[10] = 0, out[11] = 0;
  }
  memset(out + pre, ' ', h);
  memcpy(out + pre, hdr, strlen(hdr));
  out[pre + h - 1] = '\n';
  for (size_t i = 0; i < ndata; i++) out[pre + h + i] = (uint8_t)i;
  return pre + h + ndata;
}

static void test_round_trip(void) {
  static const int types[] = {F32, F16, F64, U8, I8, U16, I16, I32, I64, U32, U64, BOOL, BF16};
  const int64_t dims[3] = {2, 1, 3};
  uint8_t data[6 * 8], b[1024];
  for (size_t i = 0; i < sizeof data; i++) data[i] = (uint8_t)(i * 7 + 1) & (i % 2 ? 0xff : 1);
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
    NaascTensor *t = NULL;
    CHECK(naasc_tensor_create(ctx, types[i], 3, dims, data, &t) == NAASC_OK && t);
    size_t n = save(t, b, sizeof b);
    naasc_tensor_destroy(t);
    CHECK((n - 6 * elem_size(types[i])) % 64 == 0); /* the header padded to 64 bytes */
    Parsed a;
    CHECK(parse(b, n, &a) == NAASC_OK);
    CHECK(a.info.dtype == (types[i] == BF16 ? U16 : types[i])); /* bf16 as its bits */
    CHECK(a.info.rank == 3 && a.info.dims[0] == 2 && a.info.dims[1] == 1 && a.info.dims[2] == 3);
    CHECK(a.info.bytes == 6 * elem_size(types[i]) &&
          memcmp(b + n - a.info.bytes, data, a.info.bytes) == 0);
  }
  /* a scalar and an empty array */
  NaascTensor *t = NULL;
  Parsed a;
  CHECK(naasc_tensor_create(ctx, I64, 0, NULL, data, &t) == NAASC_OK);
  size_t n = save(t, b, sizeof b);
  naasc_tensor_destroy(t);
  CHECK(n == 128 + 8 && parse(b, n, &a) == NAASC_OK && a.info.rank == 0 && a.info.numel == 1);
  const int64_t empty[2] = {4, 0};
  CHECK(naasc_tensor_create(ctx, F32, 2, empty, NULL, &t) == NAASC_OK);
  n = save(t, b, sizeof b);
  naasc_tensor_destroy(t);
  CHECK(n == 128 && parse(b, n, &a) == NAASC_OK && a.info.rank == 2 && a.info.numel == 0);
  /* numpy 1.24's bytes for np.save of a (2, 3) float32 array (the header:
   * the dict, 21 - 1 spaces for the first dim to grow, padding, '\n') */
  const int64_t d23[2] = {2, 3};
  CHECK(naasc_tensor_wrap(ctx, F32, 2, d23, data, 24, &t) == NAASC_OK);
  n = save(t, b, sizeof b);
  naasc_tensor_destroy(t);
  CHECK(n == 128 + 24 && memcmp(b + 128, data, 24) == 0);
  const char *want = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  CHECK(memcmp(b, "\x93NUMPY\x01\x00\x76\x00", 10) == 0);
  CHECK(memcmp(b + 10, want, strlen(want)) == 0);
  for (size_t i = 10 + strlen(want); i < 127; i++) CHECK(b[i] == ' ');
  CHECK(b[127] == '\n');
  /* what is not a numeric tensor, or does not fit its buffer */
  CHECK(naasc_tensor_create(ctx, STRING, 2, d23, data, &t) == NAASC_BADINPUT && !t);
  CHECK(strcmp(naasc_context_error(ctx),
               "naasc_tensor_create: error: 8 is not a numeric TensorProto data type") == 0);
  CHECK(naasc_tensor_wrap(ctx, F32, 2, d23, data, 20, &t) == NAASC_BADINPUT && !t);
  CHECK(strcmp(naasc_context_error(ctx), "naasc_tensor_wrap: error: 20 bytes given, the f32 "
                                         "tensor of 6 elements has 24") == 0);
  const int64_t neg[2] = {2, -3};
  CHECK(naasc_tensor_create(ctx, F32, 2, neg, NULL, &t) == NAASC_BADINPUT && !t);
  CHECK(naasc_tensor_create(ctx, F32, 9, d23, NULL, &t) == NAASC_BADINPUT && !t);
  CHECK(naasc_tensor_parse_npy(ctx, NULL, 10, "x.npy", &t) == NAASC_USAGE);
}

static void test_versions(void) {
  uint8_t b[512];
  Parsed a;
  const char *h = "{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }";
  for (int v = 1; v <= 3; v++) {
    size_t n = make(b, v, h, 12);
    CHECK(parse(b, n, &a) == NAASC_OK && a.info.dtype == I32 && a.info.rank == 1 &&
          a.info.dims[0] == 3);
  }
  /* keys in any order, double quotes, '=' and '|' byte orders, a 1-d tuple without comma */
  size_t n = make(b, 1, "{\"shape\": (2,3), \"fortran_order\": False, \"descr\": \"=u2\"}", 12);
  CHECK(parse(b, n, &a) == NAASC_OK && a.info.dtype == U16 && a.info.numel == 6);
  n = make(b, 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (5) }", 5);
  CHECK(parse(b, n, &a) == NAASC_OK && a.info.dtype == U8 && a.info.rank == 1 &&
        a.info.dims[0] == 5);
}

/* The message of parsing header h with nd data bytes (version 1.0). */
static const char *error_of(const char *h, size_t nd) {
  static uint8_t b[1024];
  Parsed a;
  size_t n = make(b, 1, h, nd);
  msg[0] = 0;
  CHECK(parse(b, n, &a) == NAASC_BADINPUT);
  return msg;
}

#define CHECK_MSG(got, want)                                                                   \
  do {                                                                                         \
    const char *g_ = (got);                                                                    \
    if (strcmp(g_, want)) {                                                                    \
      fprintf(stderr, "%s:%d: message\n  %s\nexpected\n  %s\n", __FILE__, __LINE__, g_, want); \
      test_failed_checks++;                                                                    \
    }                                                                                          \
  } while (0)

static void test_errors(void) {
  CHECK_MSG(error_of("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", 24),
            "x.npy: header 'fortran_order': error: True: the array is in Fortran (column-major) "
            "order; only C order is read (write it with numpy.ascontiguousarray)");
  CHECK_MSG(error_of("{'descr': '>i8', 'fortran_order': False, 'shape': (2,), }", 16),
            "x.npy: header 'descr': error: '>i8' is big-endian; only little-endian arrays are "
            "read (convert with a.astype(a.dtype.newbyteorder('<')))");
  CHECK_MSG(error_of("{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", 16),
            "x.npy: header 'descr': error: '<c8' is not a type naasc runs (f4, f2, f8, u1, i1, "
            "u2, i2, i4, i8, u4, u8, b1; little-endian)");
  CHECK_MSG(error_of("{'descr': '<f4', 'shape': (2,), }", 8),
            "x.npy: header: error: no 'fortran_order' key");
  CHECK_MSG(
      error_of("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 8),
      "x.npy: header 'descr': error: given twice");
  CHECK_MSG(error_of("{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }", 4),
            "x.npy: header 'shape': error: more than 8 dims");
  CHECK_MSG(
      error_of("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", 4),
      "x.npy: header 'shape': error: dim 0 does not fit 64 bits");
  CHECK_MSG(error_of("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), "
                     "}",
                     4),
            "x.npy: header 'shape': error: the element count overflows 64 bits");
  CHECK_MSG(
      error_of("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904,), }", 4),
      "x.npy: data: error: 4 bytes of data, but 4611686018427387904 elements of '<f4' "
      "('shape', 'descr') need over 9223372036854775807");
  CHECK_MSG(error_of("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 20),
            "x.npy: data: error: 20 bytes of data, but 6 elements of '<f4' ('shape', 'descr') "
            "need 24");
  CHECK_MSG(error_of("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 28),
            "x.npy: data: error: 28 bytes of data, but 6 elements of '<f4' ('shape', 'descr') "
            "need 24");
  CHECK_MSG(error_of("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': 1}", 24),
            "x.npy: header offset 58: error: unknown key 'x' (descr, fortran_order, shape)");
  CHECK_MSG(error_of("{'descr': '<f4', 'fortran_order': False, 'shape': [2, 3], }", 24),
            "x.npy: header 'shape': error: expected a tuple of dims, as (2, 3)");
  CHECK_MSG(error_of("{'descr': '<f4', 'fortran_order': False, 'shape': (-2, 3), }", 24),
            "x.npy: header 'shape': error: expected a non-negative integer dim");
  CHECK_MSG(error_of("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } x", 24),
            "x.npy: header offset 60: error: text after the dict");
  /* the preamble */
  uint8_t b[256];
  Parsed a;
  size_t n = make(b, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", 4);
  b[6] = 4;
  CHECK(parse(b, n, &a) == NAASC_BADINPUT);
  CHECK_MSG(msg, "x.npy: offset 6: error: format version 4.0: only 1.0, 2.0 and 3.0 are read");
  b[6] = 1, b[8] = 0xff;
  CHECK(parse(b, n, &a) == NAASC_BADINPUT);
  CHECK_MSG(msg, "x.npy: offset 8: error: a header of 255 bytes, but only 122 follow");
  b[8] = 118, b[0] = 'P';
  CHECK(parse(b, n, &a) == NAASC_BADINPUT);
  CHECK_MSG(msg, "x.npy: offset 0: error: not a NumPy .npy file (no \\x93NUMPY magic)");
  b[0] = 0x93, b[20] = 0;
  CHECK(parse(b, n, &a) == NAASC_BADINPUT);
  CHECK_MSG(msg, "x.npy: header offset 10: error: a NUL byte in the header");
}

static uint64_t rng = 88172645463325252ull;
static uint64_t next(void) {
  rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
  return rng;
}

static void test_fuzz(void) {
  uint8_t base[512], b[512];
  Parsed a;
  size_t n = make(base, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 24);
  size_t n2 = make(base + 256, 2, "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }", 24);
  int ok = 0;
  /* every truncation: only the whole file parses */
  for (size_t len = 0; len <= n; len++) ok += parse(base, len, &a) == NAASC_OK;
  CHECK_EQ(ok, 1);
  /* every byte of the preamble and header replaced by each byte of a set */
  static const uint8_t set[] = {0,   0xff, '(', ')', ',', '\'', '"', '9', '0', ' ', '\n', 'L',
                                '{', '}',  ':', '<', '>', '|',  'T', 'F', 'f', 'i', 0x80, 1};
  for (int v = 0; v < 2; v++) {
    const uint8_t *src = v ? base + 256 : base;
    size_t len = v ? n2 : n;
    size_t data = len - 24;
    for (size_t i = 0; i < data; i++)
      for (size_t k = 0; k < sizeof set; k++) {
        memcpy(b, src, len);
        b[i] = set[k];
        parse(b, len, &a);
      }
  }
  /* random mutations: 1 to 8 bytes replaced, sometimes the length cut */
  for (int r = 0; r < 20000; r++) {
    int v = (int)(next() % 2);
    size_t len = v ? n2 : n;
    memcpy(b, v ? base + 256 : base, len);
    int m = 1 + (int)(next() % 8);
    for (int k = 0; k < m; k++) {
      size_t at = next() % len;
      b[at] = next() % 3 ? set[next() % sizeof set] : (uint8_t)next();
    }
    if (next() % 4 == 0) len = next() % (len + 1);
    parse(b, len, &a);
  }
}

int main(int argc, char **argv) {
  if (argc > 1) scratch = argv[1];
  ctx = naasc_context_create();
  RUN(test_round_trip);
  RUN(test_versions);
  RUN(test_errors);
  RUN(test_fuzz);
  naasc_context_destroy(ctx);
  TEST_END();
}
