/*
 * fuzz_npy.c: NumPy's tensor files, as naasc-run reads them, through the C
 * API (api/naasc.h): the .npy reader (naasc_tensor_parse_npy over api/npy.c:
 * --input NAME=x.npy, naasc_tensor_load) and the .npz archive reader
 * (naasc_tensor_parse_npz, api/naasc.c's ZIP reader: --inputs x.npz,
 * naasc_stream_bind_npz), each on every input; an input ending in a ZIP end
 * record is read again with its members' CRC-32s made to match (as a forger
 * would), so that the fuzzer reaches the checks behind them.
 *
 * Beyond "refused with a message, else no crash", what is accepted holds:
 *   .npy: the shape's element count times the item size is the data's
 *     bytes, which are the file's last bytes; written back
 *     (naasc_tensor_save: numpy.save's format 1.0) and read again, it is the
 *     same dtype, shape and bytes, and written again, the same file byte for
 *     byte;
 *   .npz: each member a tensor whose bytes are its element count times its
 *     item size, its name non-empty and no other member's; the members
 *     written back as a stored ZIP of their .npy files (the harness's own
 *     ZIP writer and CRC-32) and read again are the same names, dtypes,
 *     shapes and bytes, in the same order.
 */
#include "tests/fuzz/fuzz.h" /* first: it asks for _GNU_SOURCE */

#include "api/naasc.h"

static NaascContext *ctx;
static size_t said; /* the bytes of messages the calls gave the handler */

static void on_diag(void *user, const char *text, size_t len) {
  (void)user;
  said += len;
  fwrite(text, 1, len, fuzz_sink()); /* formatted in full; seen with NAASC_FUZZ_VERBOSE=1 */
}

static char dir[64];

/* Removes the scratch folder at exit. */
static void scratch_remove(void) {
  char path[128];
  for (int slot = 0; slot < 2; slot++) {
    snprintf(path, sizeof path, "%s/t%d.npy", dir, slot);
    unlink(path);
  }
  rmdir(dir);
}

/* A folder for the files written back (on tmpfs when there is one: the
 * writes are atomic, with an fsync), removed at exit. */
static const char *scratch(void) {
  if (!dir[0]) {
    snprintf(dir, sizeof dir, "%s/naasc-fuzz-npy-XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    FUZZ_CHECK(mkdtemp(dir), "mkdtemp");
    atexit(scratch_remove);
  }
  return dir;
}

static void setup(void) {
  if (ctx) return;
  fuzz_sink();
  ctx = naasc_context_create();
  FUZZ_CHECK(ctx, "naasc_context_create");
  naasc_context_set_diagnostic_handler(ctx, on_diag, NULL);
}

/* A call's refusal must come with a message (NAASC_INTERNAL may be an
 * allocation refused). */
#define API_REPORTED(st) \
  FUZZ_CHECK((st) == NAASC_OK || (st) == NAASC_INTERNAL || said > 0, "refused without a message")

/* t saved as .npy file slot of the scratch folder (naasc_tensor_save:
 * numpy.save's format 1.0), its bytes into *out (malloc'd). */
static size_t save(const NaascTensor *t, int slot, uint8_t **out) {
  char path[128];
  snprintf(path, sizeof path, "%s/t%d.npy", scratch(), slot);
  FUZZ_CHECK(naasc_tensor_save(ctx, t, path) == NAASC_OK, "naasc_tensor_save");
  FILE *f = fopen(path, "rb");
  FUZZ_CHECK(f && fseek(f, 0, SEEK_END) == 0, "the saved file");
  long n = ftell(f);
  FUZZ_CHECK(n >= 0 && fseek(f, 0, SEEK_SET) == 0, "the saved file");
  *out = malloc((size_t)n + 1);
  FUZZ_CHECK(*out && fread(*out, 1, (size_t)n, f) == (size_t)n, "the saved file");
  fclose(f);
  return (size_t)n;
}

/* Whether a and b are the same dtype, shape and bytes (and name). */
static bool same(const NaascTensor *a, const NaascTensor *b) {
  NaascTensorInfo x, y;
  naasc_tensor_info(a, &x);
  naasc_tensor_info(b, &y);
  return !strcmp(x.name, y.name) && x.dtype == y.dtype && x.rank == y.rank &&
         !memcmp(x.dims, y.dims, sizeof x.dims[0] * (size_t)x.rank) && x.bytes == y.bytes &&
         (!x.bytes || !memcmp(naasc_tensor_data(a), naasc_tensor_data(b), x.bytes));
}

/* The rules every tensor read holds: its element count is the product of
 * its dims, and times the item size its bytes. */
static void check_info(const NaascTensor *t) {
  NaascTensorInfo in;
  naasc_tensor_info(t, &in);
  int64_t n = 1;
  for (int k = 0; k < in.rank; k++) n *= in.dims[k];
  FUZZ_CHECK(in.rank >= 0 && in.rank <= NAASC_MAX_RANK && n == in.numel,
             "the shape and the element count disagree");
  FUZZ_CHECK((uint64_t)n * dtype_size((DType)in.dtype) == in.bytes,
             "the element count times the item size is not the bytes");
}

static void check_npy(const uint8_t *data, size_t size) {
  NaascTensor *t = NULL, *u = NULL;
  said = 0;
  NaascStatus st = naasc_tensor_parse_npy(ctx, data, size, "x.npy", &t);
  API_REPORTED(st);
  if (st != NAASC_OK) {
    FUZZ_CHECK(!t, "a refusal with a tensor");
    return;
  }
  check_info(t);
  NaascTensorInfo in;
  naasc_tensor_info(t, &in);
  FUZZ_CHECK(in.bytes <= size &&
                 (!in.bytes || !memcmp(naasc_tensor_data(t), data + size - in.bytes, in.bytes)),
             "the data read is not the file's last bytes");
  /* written (format 1.0), read, written again: the same array, the same file */
  uint8_t *f1 = NULL, *f2 = NULL;
  size_t n1 = save(t, 0, &f1);
  FUZZ_CHECK(naasc_tensor_parse_npy(ctx, f1, n1, "t.npy", &u) == NAASC_OK,
             "what naasc_tensor_save wrote does not read");
  FUZZ_CHECK(same(t, u), "write then read is another array");
  size_t n2 = save(u, 0, &f2);
  FUZZ_CHECK(n2 == n1 && !memcmp(f1, f2, n1), "written twice, two files");
  free(f1);
  free(f2);
  naasc_tensor_destroy(t);
  naasc_tensor_destroy(u);
}

/* ---- a stored ZIP writer (APPNOTE.TXT 4.3), to round-trip what was read ---- */

typedef struct {
  uint8_t *p;
  size_t n, cap;
} Out;

static void put(Out *o, const void *s, size_t n) {
  if (o->n + n > o->cap) {
    o->cap = (o->n + n) * 2;
    o->p = realloc(o->p, o->cap);
    FUZZ_CHECK(o->p, "realloc");
  }
  if (n) memcpy(o->p + o->n, s, n);
  o->n += n;
}

static void put16(Out *o, uint32_t v) { put(o, (uint8_t[]){v & 0xff, v >> 8 & 0xff}, 2); }
static void put32(Out *o, uint32_t v) {
  put16(o, v & 0xffff);
  put16(o, v >> 16);
}

static uint32_t crc32_bitwise(const uint8_t *p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++) c = c & 1 ? c >> 1 ^ 0xEDB88320u : c >> 1;
  }
  return ~c;
}

/* The archive of members name[i] + ".npy" holding file[i] (len[i] bytes). */
static void zip_write(Out *o, int n, char **name, uint8_t **file, size_t *len) {
  uint32_t *off = calloc((size_t)n + 1, sizeof *off);
  FUZZ_CHECK(off, "calloc");
  for (int pass = 0; pass < 2; pass++) {
    size_t cd = o->n;
    for (int i = 0; i < n; i++) {
      size_t nl = strlen(name[i]) + 4;
      uint32_t crc = crc32_bitwise(file[i], len[i]);
      if (pass == 0) off[i] = (uint32_t)o->n;
      put32(o, pass ? 0x02014b50 : 0x04034b50);
      if (pass) put16(o, 20);
      put16(o, 20), put16(o, 0), put16(o, 0), put16(o, 0), put16(o, 0x21);
      put32(o, crc), put32(o, (uint32_t)len[i]), put32(o, (uint32_t)len[i]);
      put16(o, (uint32_t)nl), put16(o, 0);
      if (pass) put16(o, 0), put16(o, 0), put16(o, 0), put32(o, 0), put32(o, off[i]);
      put(o, name[i], nl - 4);
      put(o, ".npy", 4);
      if (!pass) put(o, file[i], len[i]);
    }
    if (pass) {
      put32(o, 0x06054b50), put16(o, 0), put16(o, 0), put16(o, (uint32_t)n), put16(o, (uint32_t)n);
      put32(o, (uint32_t)(o->n - 12 - cd)), put32(o, (uint32_t)cd), put16(o, 0);
    }
  }
  free(off);
}

static uint32_t rd16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t rd32(const uint8_t *p) { return rd16(p) | rd16(p + 2) << 16; }
static void wr32(uint8_t *p, uint32_t v) {
  for (int k = 0; k < 4; k++) p[k] = (uint8_t)(v >> 8 * k);
}

/* The archive with each member's CRC-32 (in its central directory entry and
 * its local header) made to match the bytes the entry points at, as a forger
 * would, so that the fuzzer reaches the checks behind the CRC.  Only for an
 * end record at the very end (no comment), 32-bit sizes. */
static void forge_crcs(uint8_t *b, size_t n) {
  if (n < 22 || memcmp(b + n - 22, "PK\5\6", 4)) return;
  size_t e = n - 22, p = rd32(b + e + 16), count = rd16(b + e + 10);
  for (size_t i = 0; i < count && p <= e && e - p >= 46 && !memcmp(b + p, "PK\1\2", 4); i++) {
    size_t csize = rd32(b + p + 20), loff = rd32(b + p + 42);
    if (loff < n && n - loff >= 30) {
      size_t data = loff + 30 + rd16(b + loff + 26) + rd16(b + loff + 28);
      if (data <= n && csize <= n - data) {
        uint32_t c = crc32_bitwise(b + data, csize);
        wr32(b + p + 16, c);
        wr32(b + loff + 14, c);
      }
    }
    p += 46 + rd16(b + p + 28) + rd16(b + p + 30) + rd16(b + p + 32);
  }
}

static void check_npz(const uint8_t *data, size_t size) {
  NaascTensor **t = NULL;
  int n = -1;
  said = 0;
  NaascStatus st = naasc_tensor_parse_npz(ctx, data, size, "x.npz", &t, &n);
  API_REPORTED(st);
  if (st != NAASC_OK) {
    FUZZ_CHECK(!t && n == 0, "a refusal with tensors");
    return;
  }
  FUZZ_CHECK(n >= 0 && t, "accepted without the tensors");
  char **name = calloc((size_t)n + 1, sizeof *name);
  uint8_t **file = calloc((size_t)n + 1, sizeof *file);
  size_t *len = calloc((size_t)n + 1, sizeof *len);
  FUZZ_CHECK(name && file && len, "calloc");
  for (int i = 0; i < n; i++) {
    check_info(t[i]);
    NaascTensorInfo in;
    naasc_tensor_info(t[i], &in);
    FUZZ_CHECK(in.name && in.name[0], "a member without a name");
    for (int j = 0; j < i; j++) FUZZ_CHECK(strcmp(name[j], in.name), "two members of one name");
    name[i] = strdup(in.name);
    FUZZ_CHECK(name[i], "strdup");
    len[i] = save(t[i], 1, &file[i]);
  }
  /* the members written back as numpy.savez would, read again */
  Out o = {0};
  zip_write(&o, n, name, file, len);
  NaascTensor **u = NULL;
  int m = -1;
  said = 0;
  st = naasc_tensor_parse_npz(ctx, o.p, o.n, "rewritten.npz", &u, &m);
  FUZZ_CHECK(st == NAASC_OK && m == n, "the archive written back does not read");
  for (int i = 0; i < n; i++) {
    FUZZ_CHECK(same(t[i], u[i]), "write then read is another member");
    free(name[i]);
    free(file[i]);
  }
  free(name);
  free(file);
  free(len);
  free(o.p);
  naasc_tensor_list_destroy(u, m);
  naasc_tensor_list_destroy(t, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  setup();
  check_npy(data, size);
  check_npz(data, size);
  if (size >= 22 && !memcmp(data + size - 22, "PK\5\6", 4)) { /* again, its CRCs forged */
    uint8_t *b = malloc(size);
    FUZZ_CHECK(b, "malloc");
    memcpy(b, data, size);
    forge_crcs(b, size);
    if (memcmp(b, data, size)) check_npz(b, size);
    free(b);
  }
  return 0;
}
