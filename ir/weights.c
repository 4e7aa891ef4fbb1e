/*
 * weights.c: the weights file of a loop-nest module (docs/ir.md, "Weights"),
 * so that a .nir file references the values its text leaves out and
 * `naasc M.nir --target T -o M.cmd` makes the stream compiling the ONNX
 * file makes.
 *
 * Format (little-endian):
 *   "NAASCWT\0"  u32 version (1)  u32 count
 *   count records: u32 name length, the name (no NUL), u8 dtype (ONNX's
 *     values, NAASC_DTYPES), u8 kind (0 a weight of the module, 1 a graph
 *     output that is a constant no nest writes), u8 rank, u8 0, i64 dims
 *     [rank], u64 byte length (= elements x dtype size), the bytes
 *   u64 FNV-1a 64 of every byte before it.
 *
 * Invariants: the reader checks the checksum before it reads a field, every
 * length against what is left of the file (checked arithmetic), and each
 * record against the module (type and shape of the tensor of that name);
 * names are unique.  Library code: errors go through Diag.
 */
#define _DEFAULT_SOURCE /* realpath */
#include "ir/ir.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define WT_MAGIC "NAASCWT"
#define WT_VERSION 1u
#define WT_MAX_BYTES ((size_t)1 << 36) /* 64 GiB: more than any model's weights */

typedef struct {
  uint8_t *p;
  size_t n, cap;
  bool oom;
} WBuf;

static void wput(WBuf *b, const void *src, size_t n) {
  if (b->oom) return;
  if (b->n + n > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->n + n) {
      if (cap > SIZE_MAX / 2) {
        b->oom = true;
        return;
      }
      cap *= 2;
    }
    uint8_t *q = xrealloc(b->p, cap);
    if (!q) {
      b->oom = true;
      return;
    }
    b->p = q, b->cap = cap;
  }
  memcpy(b->p + b->n, src, n);
  b->n += n;
}

static void wput_u64(WBuf *b, uint64_t v) {
  uint8_t x[8];
  for (int i = 0; i < 8; i++) x[i] = (uint8_t)(v >> (8 * i));
  wput(b, x, 8);
}

static void wput_u32(WBuf *b, uint32_t v) {
  uint8_t x[4];
  for (int i = 0; i < 4; i++) x[i] = (uint8_t)(v >> (8 * i));
  wput(b, x, 4);
}

static uint64_t fnv1a(const uint8_t *p, size_t n) {
  uint64_t h = UINT64_C(0xcbf29ce484222325);
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * UINT64_C(0x100000001b3);
  return h;
}

static void put_record(WBuf *b, const char *name, DType dt, uint8_t kind, int rank,
                       const int64_t *dims, const void *data, size_t bytes) {
  size_t nl = strlen(name);
  wput_u32(b, (uint32_t)nl);
  wput(b, name, nl);
  uint8_t h[4] = {(uint8_t)dt, kind, (uint8_t)rank, 0};
  wput(b, h, 4);
  for (int k = 0; k < rank; k++) wput_u64(b, (uint64_t)dims[k]);
  wput_u64(b, bytes);
  wput(b, data, bytes);
}

Rc weights_write(const char *path, const Module *m, const Model *g, Diag *d) {
  WBuf b = {0};
  uint32_t count = 0;
  wput(&b, WT_MAGIC, 8); /* with its NUL */
  wput_u32(&b, WT_VERSION);
  wput_u32(&b, 0); /* the count, set below */
  for (uint32_t t = 1; t < m->ntensors; t++) {
    const NTensor *T = &m->tensors[t];
    if (T->role != TR_WEIGHT) continue;
    TensorId gt = g ? model_find_tensor(g, T->name) : 0;
    if (!gt || !g->tensors[gt].data) {
      diag_error(d, path, "weight '%s' has no data (a model without weights, or --no-weights)",
                 T->name);
      xfree(b.p);
      return RC_BADINPUT;
    }
    size_t es = dtype_size(T->dtype);
    int64_t numel = 1;
    bool ok = es > 0;
    for (int k = 0; ok && k < T->rank; k++) ok = ck_mul_i64(numel, T->dims[k], &numel);
    size_t bytes;
    if (!ok || numel < 0 || !ck_mul_size((size_t)numel, es, &bytes)) {
      diag_error(d, path, "weight '%s' (%s) cannot be written: no fixed-size element type", T->name,
                 dtype_name(T->dtype));
      xfree(b.p);
      return RC_BADINPUT;
    }
    put_record(&b, T->name, T->dtype, 0, T->rank, T->dims, g->tensors[gt].data, bytes);
    count++;
  }
  /* graph outputs folded to constants at import: in no nest (cmd_emit) */
  for (uint32_t i = 0; g && i < g->noutputs; i++) {
    const Tensor *T = &g->tensors[g->outputs[i]];
    if (T->kind != TK_CONST || !T->data || !dtype_size(T->dtype) || module_find_tensor(m, T->name))
      continue;
    int64_t numel = tensor_numel(T);
    size_t bytes;
    if (numel < 0 || !ck_mul_size((size_t)numel, dtype_size(T->dtype), &bytes)) continue;
    put_record(&b, T->name, T->dtype, 1, T->rank, T->dims, T->data, bytes);
    count++;
  }
  if (!b.oom) {
    for (int i = 0; i < 4; i++) b.p[12 + i] = (uint8_t)(count >> (8 * i));
    wput_u64(&b, fnv1a(b.p, b.n));
  }
  if (b.oom) {
    xfree(b.p);
    diag_error(d, path, "out of memory writing the weights");
    return RC_INTERNAL;
  }
  Rc rc = file_write_atomic(path, b.p, b.n, d);
  xfree(b.p);
  return rc;
}

typedef struct {
  const uint8_t *p;
  size_t at, end;
} RBuf;

static bool rtake(RBuf *r, size_t n, const uint8_t **out) {
  if (n > r->end - r->at) return false;
  *out = r->p + r->at;
  r->at += n;
  return true;
}

static bool rget_u64(RBuf *r, uint64_t *v) {
  const uint8_t *q;
  if (!rtake(r, 8, &q)) return false;
  *v = 0;
  for (int i = 0; i < 8; i++) *v |= (uint64_t)q[i] << (8 * i);
  return true;
}

static bool rget_u32(RBuf *r, uint32_t *v) {
  const uint8_t *q;
  if (!rtake(r, 4, &q)) return false;
  *v = 0;
  for (int i = 0; i < 4; i++) *v |= (uint32_t)q[i] << (8 * i);
  return true;
}

/* An error at byte offset `at` of the weights file. */
static Rc bad(Diag *d, const char *path, size_t at, const char *what) {
  diag_error(d, path, "offset %zu: %s", at, what);
  return RC_BADINPUT;
}

Rc weights_read(const char *path, const Module *m, Model **out, Diag *d) {
  *out = NULL;
  const uint8_t *buf = NULL; /* mapped, not read: each value is copied once, into g */
  size_t len = 0;
  Rc rc = file_map(path, WT_MAX_BYTES, &buf, &len, d);
  if (rc != RC_OK) return rc;
  if (len < 8 + 4 + 4 + 8 || memcmp(buf, WT_MAGIC, 8) != 0) {
    file_unmap(buf, len);
    return bad(d, path, 0, "not a naasc weights file (no NAASCWT header)");
  }
  uint64_t sum = 0;
  for (int i = 0; i < 8; i++) sum |= (uint64_t)buf[len - 8 + (size_t)i] << (8 * i);
  if (sum != fnv1a(buf, len - 8)) {
    file_unmap(buf, len);
    return bad(d, path, len - 8,
               "the checksum does not match the content (a truncated or altered file)");
  }
  RBuf r = {buf, 8, len - 8};
  uint32_t version, count;
  rget_u32(&r, &version);
  rget_u32(&r, &count);
  if (version != WT_VERSION) {
    char why[96];
    snprintf(why, sizeof why, "format version %u, this naasc reads version %u", version,
             WT_VERSION);
    file_unmap(buf, len);
    return bad(d, path, 8, why);
  }
  Model *g = model_create(m->name);
  if (!g) {
    file_unmap(buf, len);
    diag_error(d, path, "out of memory");
    return RC_INTERNAL;
  }
  rc = RC_OK;
  char why[512];
  for (uint32_t k = 0; k < count && rc == RC_OK; k++) {
    size_t at = r.at;
    uint32_t nl;
    const uint8_t *name, *h;
    if (!rget_u32(&r, &nl) || nl == 0 || nl > 4096 || !rtake(&r, nl, &name) || !rtake(&r, 4, &h)) {
      snprintf(why, sizeof why, "record %u: the file ends inside it, or its name is empty", k);
      rc = bad(d, path, at, why);
      break;
    }
    char nm[4097];
    memcpy(nm, name, nl);
    nm[nl] = 0;
    if (strlen(nm) != nl) {
      snprintf(why, sizeof why, "record %u: its name holds a NUL byte", k);
      rc = bad(d, path, at, why);
      break;
    }
    int dt = h[0], kind = h[1], rank = h[2];
    if (!dtype_valid(dt) || !dtype_size((DType)dt) || kind > 1 || rank > NAASC_MAX_RANK) {
      snprintf(why, sizeof why,
               "record %u ('%.200s'): element type %d, kind %d or rank %d is not one naasc reads",
               k, nm, dt, kind, rank);
      rc = bad(d, path, at, why);
      break;
    }
    int64_t dims[NAASC_MAX_RANK], numel = 1;
    bool ok = true;
    for (int i = 0; i < rank && ok; i++) {
      uint64_t v;
      ok = rget_u64(&r, &v) && v <= INT64_MAX && ck_mul_i64(numel, (int64_t)v, &numel);
      dims[i] = ok ? (int64_t)v : 0;
    }
    uint64_t bytes;
    size_t want;
    ok = ok && rget_u64(&r, &bytes) && ck_mul_size((size_t)numel, dtype_size((DType)dt), &want) &&
         bytes == want && bytes <= r.end - r.at;
    if (!ok) {
      snprintf(why, sizeof why,
               "record %u ('%.200s'): its dims or byte length disagree with each other or with the "
               "file's size",
               k, nm);
      rc = bad(d, path, at, why);
      break;
    }
    const uint8_t *data;
    rtake(&r, (size_t)bytes, &data);
    if (model_find_tensor(g, nm)) {
      snprintf(why, sizeof why, "record %u: tensor '%.200s' appears twice", k, nm);
      rc = bad(d, path, at, why);
      break;
    }
    uint32_t mt = module_find_tensor(m, nm);
    if (kind == 0) {
      const NTensor *T = mt ? &m->tensors[mt] : NULL;
      bool same = T && T->role == TR_WEIGHT && (int)T->dtype == dt && T->rank == rank;
      for (int i = 0; same && i < rank; i++) same = T->dims[i] == dims[i];
      if (!same) {
        snprintf(
            why, sizeof why,
            "record %u: tensor '%.200s' (%s, rank %d) is not a weight of that type and shape in "
            "module '%.200s'",
            k, nm, dtype_name((DType)dt), rank, m->name);
        rc = bad(d, path, at, why);
        break;
      }
    }
    TensorId t = model_add_tensor(g, nm, (DType)dt, rank, dims, TK_CONST);
    void *copy = t ? arena_alloc(&g->arena, bytes ? (size_t)bytes : 1) : NULL;
    if (!copy || (kind == 1 && !model_add_output(g, t))) {
      diag_error(d, path, "out of memory");
      rc = RC_INTERNAL;
      break;
    }
    memcpy(copy, data, (size_t)bytes);
    g->tensors[t].data = copy;
    g->tensors[t].is_param = kind == 0;
  }
  if (rc == RC_OK && r.at != r.end)
    rc = bad(d, path, r.at, "bytes after the last record (the count says fewer records)");
  for (uint32_t t = 1; rc == RC_OK && t < m->ntensors; t++)
    if (m->tensors[t].role == TR_WEIGHT && !model_find_tensor(g, m->tensors[t].name)) {
      diag_error(d, path, "the weights file has no values for weight '%s' of module '%s'",
                 m->tensors[t].name, m->name);
      rc = RC_BADINPUT;
    }
  file_unmap(buf, len);
  if (rc != RC_OK) {
    model_destroy(g);
    return rc;
  }
  *out = g;
  return RC_OK;
}

bool weights_available(const Module *m, const Model *g) {
  int n = 0;
  for (uint32_t t = 1; g && t < m->ntensors; t++) {
    if (m->tensors[t].role != TR_WEIGHT) continue;
    TensorId gt = model_find_tensor(g, m->tensors[t].name);
    if (!gt || !g->tensors[gt].data) return false;
    n++;
  }
  for (uint32_t i = 0; g && i < g->noutputs; i++) { /* constant outputs (weights_write) */
    const Tensor *T = &g->tensors[g->outputs[i]];
    n += T->kind == TK_CONST && T->data && dtype_size(T->dtype) && !module_find_tensor(m, T->name);
  }
  return n > 0;
}

/* The folder part of path ("" for a bare name), into dir[n]. */
static void dir_of(const char *path, char *dir, size_t n) {
  const char *slash = path ? strrchr(path, '/') : NULL;
  size_t k = slash ? (size_t)(slash - path) + 1 : 0;
  if (k >= n) k = n - 1;
  memcpy(dir, path, k);
  dir[k] = 0;
}

bool weights_resolve(const char *nir_path, const char *ref, char *out, size_t n) {
  char dir[4096];
  if (ref[0] == '/' || !nir_path || strcmp(nir_path, "-") == 0)
    dir[0] = 0;
  else
    dir_of(nir_path, dir, sizeof dir);
  int k = snprintf(out, n, "%s%s", dir, ref);
  return k >= 0 && (size_t)k < n;
}

const char *weights_rebase(Arena *a, const char *from_nir, const char *ref, const char *to_nir) {
  char fd[4096], td[4096], path[4096];
  dir_of(from_nir && strcmp(from_nir, "-") ? from_nir : "", fd, sizeof fd);
  dir_of(to_nir && strcmp(to_nir, "-") ? to_nir : "", td, sizeof td);
  if (ref[0] == '/' || strcmp(fd, td) == 0) return ref;
  if (!weights_resolve(from_nir, ref, path, sizeof path)) return ref;
  char *abs = realpath(path, NULL);
  const char *r = abs ? arena_strdup(a, abs) : ref;
  free(abs);
  return r ? r : ref;
}
