/*
 * test_npz.c: NumPy .npz archives through the C API (naasc_tensor_parse_npz,
 * _load_npz: api/naasc.c's ZIP reader over api/npy.c).
 *
 *   test_npz SCRATCH_DIR
 *
 * The archives are built here, laid out as numpy.savez lays them out
 * (stored members NAME.npy, each local header with a ZIP64 extra field
 * holding the sizes, the central directory without one; tests/golden's
 * run_npz_* read archives numpy itself wrote), then broken one field at a
 * time.  Checks: the members' exact names, dtypes, shapes and bytes, in the
 * archive's order, with and without the ZIP64 extra field, from bytes and
 * from a file, and an empty archive; each refusal's exact located message
 * (a truncated local header, a bad central directory, a ZIP64 end record,
 * a compressed or encrypted member, a duplicate member, a member not .npy,
 * sizes that disagree, a CRC-32 that does not match, a local header naming
 * another member, no end record, a bad .npy member); and, fuzz-style, every
 * truncation of an archive and every byte of it replaced by each of a set
 * of bytes, parsed from a heap copy of exactly its length: NAASC_OK with
 * consistent tensors, or NAASC_BADINPUT with a message located in the file.
 */
#include <stdlib.h>

#include "api/naasc.h"
#include "tests/unit/test.h"

enum { F32 = 1, U8 = 2, I64 = 7 }; /* TensorProto.DataType */

static NaascContext *ctx;
static const char *scratch = "/tmp";
static char msg[4096];

/* An archive being built, and where its parts are. */
typedef struct {
  uint8_t b[4096];
  size_t n;
  size_t local[4], data[4], cdent[4], cd, eocd;
} Zip;

static void put(Zip *z, const void *s, size_t n) {
  memcpy(z->b + z->n, s, n);
  z->n += n;
}
static void put16(Zip *z, uint32_t v) { put(z, (uint8_t[]){v & 0xff, v >> 8 & 0xff}, 2); }
static void put32(Zip *z, uint32_t v) {
  put16(z, v & 0xffff);
  put16(z, v >> 16);
}
static void put64(Zip *z, uint64_t v) {
  put32(z, (uint32_t)v);
  put32(z, (uint32_t)(v >> 32));
}
static void set16(Zip *z, size_t at, uint32_t v) {
  z->b[at] = v & 0xff;
  z->b[at + 1] = v >> 8 & 0xff;
}
static void set32(Zip *z, size_t at, uint32_t v) {
  set16(z, at, v & 0xffff);
  set16(z, at + 2, v >> 16);
}

static uint32_t crc32(const uint8_t *p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++) c = c & 1 ? c >> 1 ^ 0xEDB88320u : c >> 1;
  }
  return ~c;
}

/* Members name[i] (the full member name) holding file[i]; zip64: each local
 * header with numpy.savez's ZIP64 extra field. */
static void zip(Zip *z, int n, const char *const *name, const uint8_t *const *file,
                const size_t *len, int zip64) {
  z->n = 0;
  for (int i = 0; i < n; i++) {
    z->local[i] = z->n;
    put32(z, 0x04034b50);
    put16(z, 45), put16(z, 0), put16(z, 0), put16(z, 0), put16(z, 0x21);
    put32(z, crc32(file[i], len[i])), put32(z, (uint32_t)len[i]), put32(z, (uint32_t)len[i]);
    put16(z, (uint32_t)strlen(name[i])), put16(z, zip64 ? 20 : 0);
    put(z, name[i], strlen(name[i]));
    if (zip64) put16(z, 1), put16(z, 16), put64(z, len[i]), put64(z, len[i]);
    z->data[i] = z->n;
    put(z, file[i], len[i]);
  }
  z->cd = z->n;
  for (int i = 0; i < n; i++) {
    z->cdent[i] = z->n;
    put32(z, 0x02014b50);
    put16(z, 0x314), put16(z, 45), put16(z, 0), put16(z, 0), put16(z, 0), put16(z, 0x21);
    put32(z, crc32(file[i], len[i])), put32(z, (uint32_t)len[i]), put32(z, (uint32_t)len[i]);
    put16(z, (uint32_t)strlen(name[i])), put16(z, 0), put16(z, 0), put16(z, 0), put16(z, 0);
    put32(z, 0x1800000), put32(z, (uint32_t)z->local[i]);
    put(z, name[i], strlen(name[i]));
  }
  z->eocd = z->n;
  put32(z, 0x06054b50), put16(z, 0), put16(z, 0), put16(z, (uint32_t)n), put16(z, (uint32_t)n);
  put32(z, (uint32_t)(z->eocd - z->cd)), put32(z, (uint32_t)z->cd), put16(z, 0);
}

/* The .npy bytes numpy.save writes for a tensor (naasc_tensor_save). */
static size_t npy(int dtype, int rank, const int64_t *dims, const void *data, uint8_t *out) {
  NaascTensor *t = NULL;
  CHECK(naasc_tensor_create(ctx, dtype, rank, dims, data, &t) == NAASC_OK);
  char path[512];
  snprintf(path, sizeof path, "%s/m.npy", scratch);
  CHECK(naasc_tensor_save(ctx, t, path) == NAASC_OK);
  naasc_tensor_destroy(t);
  FILE *f = fopen(path, "rb");
  size_t n = f ? fread(out, 1, 1024, f) : 0;
  if (f) fclose(f);
  return n;
}

/* The three members of the tests: x (f32 2x3), ids (i64 3), a/b (u8 scalar). */
static uint8_t mx[1024], mids[1024], mab[1024];
static const float vx[6] = {0, 0.5f, -1, 2, 3.25f, -4};
static const int64_t vids[3] = {1, -2, (int64_t)1 << 40};
static const uint8_t vab = 7;
static size_t lx, lids, lab;

static void members(void) {
  lx = npy(F32, 2, (const int64_t[]){2, 3}, vx, mx);
  lids = npy(I64, 1, (const int64_t[]){3}, vids, mids);
  lab = npy(U8, 0, NULL, &vab, mab);
  CHECK(lx == 128 + 24 && lids == 128 + 24 && lab == 128 + 1);
}

/* Parses a heap copy of exactly len bytes of b as "x.npz"; its message in
 * msg.  A success must be consistent; a refusal located in the file. */
static NaascStatus parse(const uint8_t *b, size_t len, NaascTensor ***t, int *n) {
  uint8_t *copy = malloc(len ? len : 1);
  if (len) memcpy(copy, b, len);
  *t = NULL, *n = -1;
  NaascStatus st = naasc_tensor_parse_npz(ctx, copy, len, "x.npz", t, n);
  snprintf(msg, sizeof msg, "%s", naasc_context_error(ctx));
  if (st == NAASC_OK) {
    CHECK(*n >= 0 && *t);
    for (int i = 0; i < *n; i++) {
      NaascTensorInfo in;
      naasc_tensor_info((*t)[i], &in);
      int64_t m = 1;
      for (int k = 0; k < in.rank; k++) m *= in.dims[k];
      CHECK(m == in.numel && in.name[0]);
      size_t es = in.dtype == F32 ? 4 : in.dtype == I64 ? 8 : in.dtype == U8 ? 1 : 0;
      CHECK(!es || in.bytes == (size_t)m * es);
    }
  } else {
    CHECK(st == NAASC_BADINPUT && !*t && *n == 0);
    CHECK(strncmp(msg, "x.npz: ", 7) == 0 && strstr(msg, "error: "));
  }
  free(copy);
  return st;
}

static void check_member(NaascTensor *t, const char *name, int dtype, int rank, const int64_t *dims,
                         const void *data, size_t bytes) {
  NaascTensorInfo in;
  naasc_tensor_info(t, &in);
  CHECK(!strcmp(in.name, name));
  CHECK_EQ(in.dtype, dtype);
  CHECK_EQ(in.rank, rank);
  for (int k = 0; k < rank; k++) CHECK_EQ(in.dims[k], dims[k]);
  CHECK_EQ(in.bytes, bytes);
  CHECK(in.bytes == bytes && memcmp(naasc_tensor_data(t), data, bytes) == 0);
}

static void test_members(void) {
  static const char *const names[3] = {"x.npy", "ids.npy", "a/b.npy"};
  const uint8_t *files[3] = {mx, mids, mab};
  const size_t lens[3] = {lx, lids, lab};
  for (int zip64 = 0; zip64 < 2; zip64++) {
    Zip z;
    zip(&z, 3, names, files, lens, zip64);
    NaascTensor **t;
    int n;
    CHECK(parse(z.b, z.n, &t, &n) == NAASC_OK);
    CHECK_EQ(n, 3);
    if (n == 3) {
      check_member(t[0], "x", F32, 2, (const int64_t[]){2, 3}, vx, sizeof vx);
      check_member(t[1], "ids", I64, 1, (const int64_t[]){3}, vids, sizeof vids);
      check_member(t[2], "a/b", U8, 0, NULL, &vab, 1);
    }
    naasc_tensor_list_destroy(t, n);
    if (zip64) { /* from a file too */
      char path[512];
      snprintf(path, sizeof path, "%s/t.npz", scratch);
      FILE *f = fopen(path, "wb");
      CHECK(f && fwrite(z.b, 1, z.n, f) == z.n);
      if (f) fclose(f);
      CHECK(naasc_tensor_load_npz(ctx, path, &t, &n) == NAASC_OK && n == 3);
      if (n == 3) check_member(t[1], "ids", I64, 1, (const int64_t[]){3}, vids, sizeof vids);
      naasc_tensor_list_destroy(t, n);
    }
  }
  Zip z; /* no members: numpy.savez() */
  zip(&z, 0, NULL, NULL, NULL, 1);
  NaascTensor **t;
  int n;
  CHECK(parse(z.b, z.n, &t, &n) == NAASC_OK && n == 0);
  naasc_tensor_list_destroy(t, n);
}

/* Parses z after edit, expecting exactly message want. */
static void refused(const Zip *z, size_t len, const char *want) {
  NaascTensor **t;
  int n;
  CHECK(parse(z->b, len, &t, &n) == NAASC_BADINPUT);
  if (strcmp(msg, want)) {
    fprintf(stderr, "got:    %s\nwanted: %s\n", msg, want);
    CHECK(!strcmp(msg, want));
  }
}

static void test_refusals(void) {
  static const char *const two[2] = {"x.npy", "ids.npy"};
  const uint8_t *files[2] = {mx, mids};
  const size_t lens[2] = {lx, lids};
  Zip z;
  char want[1024];
#define FRESH() zip(&z, 2, two, files, lens, 1)

  /* not a ZIP, and a truncated archive (its end record gone) */
  FRESH();
  refused(&z, 100,
          "x.npz: error: not a ZIP archive (.npz): no end of central directory record "
          "(a truncated archive?)");
  refused(&(Zip){.b = "hello"}, 5,
          "x.npz: error: not a ZIP archive (.npz): no end of central directory record");

  /* ZIP64: the end record's count at its limit; a ZIP64 end record's locator before it */
  FRESH();
  set16(&z, z.eocd + 8, 0xFFFF), set16(&z, z.eocd + 10, 0xFFFF);
  snprintf(want, sizeof want,
           "x.npz: offset %zu (end of central directory): error: a ZIP64 end record (an archive "
           "of 65535 members or more, or over 4 GiB): not read",
           z.eocd);
  refused(&z, z.n, want);
  FRESH();
  memmove(z.b + z.eocd + 20, z.b + z.eocd, 22);
  memcpy(z.b + z.eocd, "PK\6\7", 4);
  memset(z.b + z.eocd + 4, 0, 16);
  snprintf(want, sizeof want,
           "x.npz: offset %zu (end of central directory): error: a ZIP64 end record (an archive "
           "of 65535 members or more, or over 4 GiB): not read",
           z.eocd + 20);
  refused(&z, z.n + 20, want);

  /* truncated local header: member 0's offset 10 bytes before the central directory */
  FRESH();
  set32(&z, z.cdent[0] + 42, (uint32_t)(z.cd - 10));
  snprintf(want, sizeof want,
           "x.npz: member 'x.npy': error: truncated local header at offset %zu: 30 bytes needed "
           "before the central directory at %zu",
           z.cd - 10, z.cd);
  refused(&z, z.n, want);
  /* ... and one whose name and extra field run into the central directory */
  FRESH();
  set16(&z, z.local[1] + 28, 0xfff0);
  snprintf(want, sizeof want,
           "x.npz: member 'ids.npy': error: truncated local header at offset %zu: its name and "
           "extra field run into the central directory",
           z.local[1]);
  refused(&z, z.n, want);

  /* bad central directory: an entry's signature, the directory's offset, its size */
  FRESH();
  z.b[z.cdent[1] + 2] = 9;
  snprintf(want, sizeof want,
           "x.npz: central directory entry 1 (offset %zu): error: bad central directory: no entry "
           "signature (PK\\1\\2)",
           z.cdent[1]);
  refused(&z, z.n, want);
  FRESH();
  set32(&z, z.eocd + 16, (uint32_t)(z.cd + 1));
  snprintf(want, sizeof want,
           "x.npz: offset %zu (end of central directory): error: bad central directory: %zu bytes "
           "at offset %zu do not end where the end record starts",
           z.eocd, z.eocd - z.cd, z.cd + 1);
  refused(&z, z.n, want);
  FRESH();
  set16(&z, z.eocd + 8, 3), set16(&z, z.eocd + 10, 3);
  snprintf(want, sizeof want,
           "x.npz: central directory entry 2 (offset %zu): error: bad central directory: it ends "
           "before its entry",
           z.eocd);
  refused(&z, z.n, want);
  FRESH();
  set16(&z, z.eocd + 8, 1), set16(&z, z.eocd + 10, 1);
  snprintf(want, sizeof want,
           "x.npz: offset %zu (central directory): error: bad central directory: %zu bytes after "
           "its 1 entries",
           z.cdent[1], z.eocd - z.cdent[1]);
  refused(&z, z.n, want);

  /* a compressed member (numpy.savez_compressed), another method, an encrypted one */
  FRESH();
  set16(&z, z.local[1] + 8, 8), set16(&z, z.cdent[1] + 10, 8);
  refused(&z, z.n,
          "x.npz: member 'ids.npy': error: compressed (deflate, as numpy.savez_compressed "
          "writes): only stored members (numpy.savez) are read");
  FRESH();
  set16(&z, z.cdent[0] + 10, 12);
  refused(&z, z.n,
          "x.npz: member 'x.npy': error: compression method 12: only stored members (numpy.savez) "
          "are read");
  FRESH();
  set16(&z, z.cdent[0] + 8, 1);
  refused(&z, z.n, "x.npz: member 'x.npy': error: encrypted: not read");

  /* a duplicate member */
  static const char *const dup[2] = {"x.npy", "x.npy"};
  const uint8_t *dfiles[2] = {mx, mx};
  const size_t dlens[2] = {lx, lx};
  zip(&z, 2, dup, dfiles, dlens, 1);
  refused(&z, z.n,
          "x.npz: member 'x.npy': error: duplicate member (central directory entries 0 and 1)");

  /* a member not .npy */
  static const char *const txt[2] = {"x.npy", "notes.txt"};
  zip(&z, 2, txt, files, lens, 1);
  refused(&z, z.n,
          "x.npz: member 'notes.txt': error: not a .npy array (numpy.savez writes members "
          "NAME.npy)");
  static const char *const bare[1] = {".npy"};
  zip(&z, 1, bare, files, lens, 0);
  refused(&z, z.n,
          "x.npz: member '.npy': error: not a .npy array (numpy.savez writes members NAME.npy)");

  /* sizes: stored but compressed != uncompressed; the local header's against the
   * directory's (its 32-bit field, its ZIP64 extra field); data past the directory */
  FRESH();
  set32(&z, z.cdent[0] + 24, (uint32_t)lx + 1);
  snprintf(want, sizeof want,
           "x.npz: member 'x.npy': error: size mismatch: a stored member of %zu bytes, %zu "
           "uncompressed",
           lx, lx + 1);
  refused(&z, z.n, want);
  FRESH();
  set32(&z, z.local[1] + 18, (uint32_t)lids - 8), set32(&z, z.local[1] + 22, (uint32_t)lids - 8);
  snprintf(want, sizeof want,
           "x.npz: member 'ids.npy': error: size mismatch: the local header says %zu bytes, the "
           "central directory %zu",
           lids - 8, lids);
  refused(&z, z.n, want);
  FRESH();
  set32(&z, z.cdent[1] + 20, (uint32_t)lids + 40), set32(&z, z.cdent[1] + 24, (uint32_t)lids + 40);
  set32(&z, z.local[1] + 18, (uint32_t)lids + 40), set32(&z, z.local[1] + 22, (uint32_t)lids + 40);
  snprintf(want, sizeof want,
           "x.npz: member 'ids.npy': error: size mismatch: %zu bytes of data at offset %zu run "
           "into the central directory at %zu",
           lids + 40, z.data[1], z.cd);
  refused(&z, z.n, want);

  /* CRC-32: a data byte changed; the local header's against the directory's */
  FRESH();
  z.b[z.data[0] + lx - 1] ^= 1;
  snprintf(want, sizeof want,
           "x.npz: member 'x.npy': error: CRC-32 mismatch: the data's is %08x, the directory's "
           "%08x",
           crc32(z.b + z.data[0], lx), crc32(mx, lx));
  refused(&z, z.n, want);
  FRESH();
  set32(&z, z.local[0] + 14, 0x12345678);
  snprintf(want, sizeof want,
           "x.npz: member 'x.npy': error: the local header's CRC-32 12345678 is not the central "
           "directory's %08x",
           crc32(mx, lx));
  refused(&z, z.n, want);

  /* the local header names another member; a control byte in a name */
  FRESH();
  z.b[z.local[1] + 30] = 'j';
  snprintf(want, sizeof want,
           "x.npz: member 'ids.npy': error: the local header at offset %zu names another member",
           z.local[1]);
  refused(&z, z.n, want);
  FRESH();
  z.b[z.cdent[0] + 46] = '\n';
  snprintf(want, sizeof want,
           "x.npz: central directory entry 0 (offset %zu): error: a member name with a control "
           "byte (0x0a at 0)",
           z.cdent[0]);
  refused(&z, z.n, want);

  /* a member that is a bad .npy: located in the archive and the member */
  FRESH();
  uint8_t bad[1024];
  memcpy(bad, mx, lx);
  uint8_t *lt = memchr(bad, '<', lx);
  if (lt) *lt = '>';
  const uint8_t *bfiles[2] = {mx, bad};
  const size_t blens[2] = {lx, lx};
  static const char *const bnames[2] = {"ok.npy", "x.npy"};
  zip(&z, 2, bnames, bfiles, blens, 1);
  refused(&z, z.n,
          "x.npz: member 'x.npy': header 'descr': error: '>f4' is big-endian; only little-endian "
          "arrays are read (convert with a.astype(a.dtype.newbyteorder('<')))");
#undef FRESH
}

/* A local header whose 32-bit sizes are 0xFFFFFFFF takes them from its ZIP64
 * extra field; without one, it is refused. */
static void test_zip64_sizes(void) {
  static const char *const two[2] = {"x.npy", "ids.npy"};
  const uint8_t *files[2] = {mx, mids};
  const size_t lens[2] = {lx, lids};
  Zip z;
  zip(&z, 2, two, files, lens, 1);
  set32(&z, z.local[1] + 18, 0xFFFFFFFFu), set32(&z, z.local[1] + 22, 0xFFFFFFFFu);
  NaascTensor **t;
  int n;
  CHECK(parse(z.b, z.n, &t, &n) == NAASC_OK && n == 2);
  if (n == 2) check_member(t[1], "ids", I64, 1, (const int64_t[]){3}, vids, sizeof vids);
  naasc_tensor_list_destroy(t, n);
  /* without the extra field the sizes are missing */
  zip(&z, 2, two, files, lens, 0);
  set32(&z, z.local[1] + 18, 0xFFFFFFFFu), set32(&z, z.local[1] + 22, 0xFFFFFFFFu);
  refused(&z, z.n,
          "x.npz: member 'ids.npy': error: the local header's ZIP64 extra field is "
          "malformed");
}

static void test_fuzz(void) {
  static const char *const two[2] = {"x.npy", "ids.npy"};
  const uint8_t *files[2] = {mx, mids};
  const size_t lens[2] = {lx, lids};
  Zip z, b;
  zip(&z, 2, two, files, lens, 1);
  NaascTensor **t;
  int n, ok = 0;
  for (size_t len = 0; len <= z.n; len++) {
    ok += parse(z.b, len, &t, &n) == NAASC_OK;
    naasc_tensor_list_destroy(t, n);
  }
  CHECK_EQ(ok, 1); /* only the whole archive */
  static const uint8_t set[] = {0, 0xff, 0xfe, 1, 2, 8, 0x14, 0x20, 'P', 'K', '.', 0x80};
  for (size_t i = 0; i < z.n; i++)
    for (size_t k = 0; k < sizeof set; k++) {
      b = z;
      b.b[i] = set[k];
      parse(b.b, b.n, &t, &n);
      naasc_tensor_list_destroy(t, n);
    }
}

int main(int argc, char **argv) {
  if (argc > 1) scratch = argv[1];
  ctx = naasc_context_create();
  members();
  RUN(test_members);
  RUN(test_refusals);
  RUN(test_zip64_sizes);
  RUN(test_fuzz);
  naasc_context_destroy(ctx);
  TEST_END();
}
