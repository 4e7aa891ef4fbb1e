/*
 * onnx.c: ONNX ModelProto <-> graph IR.  The only file that includes the
 * protobuf-c generated header.
 *
 * Import (onnx_import): unpack, check IR version (3-10) and opset (7-21,
 * older op by op), make tensors for graph inputs (with --input-shape
 * applied), initializers and Constant nodes, make nodes with typed
 * attributes (the first 37 ops by hand, the others from the AttrSpec rows
 * of ir/attrs.c), import If/Loop/Scan subgraphs recursively (a name a
 * subgraph does not define resolves outwards and becomes an input of the
 * owning node), check their signatures, then sort, infer shapes and fold
 * constants (infer.c).  Fields newer than the build's onnx.proto stay in
 * protobuf-c's unknown fields and are ignored.  Every problem is reported
 * with the file and the place in it; unsupported ops and attribute values
 * are gathered over the whole model, subgraphs included, and reported at
 * once, grouped by (op, what) with a count.
 *
 * Export (onnx_write): IR version 8 and opset 13, or the opset the model's
 * ops need (and at least the model's own, up to 21), with
 * attribute-carried values (Clip bounds, Slice ranges, Squeeze axes, Pad's
 * pads, ...) turned back into the constant inputs that opset wants, and
 * subgraphs as graph attributes (their captured values by the outer name).
 */
#include "frontend/frontend.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gen/onnx/onnx.pb-c.h"
#include "host/host.h"

/* A model file larger than protobuf's own 2 GiB limit cannot be valid. */
#define MAX_MODEL_BYTES ((size_t)2 << 30)

void import_options_default(ImportOptions *o) { memset(o, 0, sizeof *o); }

bool parse_input_shape(const char *arg, InputShape *s, Diag *d) {
  const char *eq = strrchr(arg, '=');
  if (!eq || eq == arg || !eq[1]) {
    diag_error(d, NULL, "--input-shape '%s': expected NAME=D0xD1x..., e.g. x=1x3x640x640", arg);
    return false;
  }
  size_t n = (size_t)(eq - arg);
  if (n >= NAASC_MAX_NAME) {
    diag_error(d, NULL, "--input-shape '%s': the name is longer than %d bytes", arg,
               NAASC_MAX_NAME - 1);
    return false;
  }
  memcpy(s->name, arg, n);
  s->name[n] = 0;
  s->rank = 0;
  const char *p = eq + 1;
  while (*p) {
    char *end;
    long long v = strtoll(p, &end, 10);
    if (end == p || v <= 0 || v > (1LL << 31) || (*end && *end != 'x')) {
      diag_error(d, NULL, "--input-shape '%s': dims must be positive integers separated by 'x'",
                 arg);
      return false;
    }
    if (s->rank == NAASC_MAX_RANK) {
      diag_error(d, NULL, "--input-shape '%s': more than %d dims", arg, NAASC_MAX_RANK);
      return false;
    }
    s->dims[s->rank++] = v;
    p = *end ? end + 1 : end;
    if (*end == 'x' && !*p) {
      diag_error(d, NULL, "--input-shape '%s': trailing 'x'", arg);
      return false;
    }
  }
  return true;
}

bool parse_input_data(const char *arg, InputData *b, Diag *d) {
  const char *eq = strchr(arg, '=');
  size_t n = eq ? (size_t)(eq - arg) : 0;
  if (!eq || n == 0 || !eq[1] || n >= NAASC_MAX_NAME) {
    diag_error(d, NULL, "--input-data '%s': expected NAME=FILE.pb", arg);
    return false;
  }
  memcpy(b->name, arg, n);
  b->name[n] = 0;
  b->path = eq + 1;
  return true;
}

/* ---- the importer's state -------------------------------------------- */

typedef struct {
  const char *op;   /* ONNX op_type */
  const char *what; /* "op", or "attribute 'mode'='cubic'" */
  int count;
  const char *names[4];
} Unsupported;

/* One graph being imported: the main graph, or a subgraph (then its
 * parent is the importer of the enclosing graph and owner the node there
 * that holds it; names it does not define resolve outwards, and each one
 * found outside becomes a TK_OUTER tensor bound to a new input of owner). */
typedef struct Importer {
  Model *m;
  Diag *d;
  const ImportOptions *o;
  const char *dir; /* for external data; NULL refuses it */
  TensorId *slots; /* name -> tensor id, open addressing */
  uint32_t nslots, nbound;
  Unsupported *unsup; /* the main graph's importer holds the list */
  int nunsup, capunsup;
  int64_t opset;
  struct Importer *root, *parent;
  NodeId owner;
  const Onnx__ModelProto *mp;
} Importer;

static uint32_t hash_str(const char *s) {
  uint32_t h = 2166136261u;
  while (*s) h = (h ^ (unsigned char)*s++) * 16777619u;
  return h;
}

static TensorId name_find(Importer *im, const char *name) {
  uint32_t mask = im->nslots - 1;
  for (uint32_t i = hash_str(name) & mask;; i = (i + 1) & mask) {
    TensorId t = im->slots[i];
    if (!t) return 0;
    if (strcmp(im->m->tensors[t].name, name) == 0) return t;
  }
}

/* Doubles the name table. */
static bool name_grow(Importer *im) {
  uint32_t ns = im->nslots * 2;
  TensorId *sl = xcalloc(ns, sizeof *sl);
  if (!sl) return false;
  for (uint32_t i = 0; i < im->nslots; i++) {
    TensorId t = im->slots[i];
    if (!t) continue;
    for (uint32_t j = hash_str(im->m->tensors[t].name) & (ns - 1);; j = (j + 1) & (ns - 1))
      if (!sl[j]) {
        sl[j] = t;
        break;
      }
  }
  xfree(im->slots);
  im->slots = sl;
  im->nslots = ns;
  return true;
}

/* Binds a name; returns false if it is already bound (or on allocation
 * failure, with im->nslots 0). */
static bool name_bind(Importer *im, TensorId t) {
  if (2 * (im->nbound + 1) > im->nslots && !name_grow(im)) return false;
  uint32_t mask = im->nslots - 1;
  const char *name = im->m->tensors[t].name;
  for (uint32_t i = hash_str(name) & mask;; i = (i + 1) & mask) {
    TensorId u = im->slots[i];
    if (!u) {
      im->slots[i] = t;
      im->nbound++;
      return true;
    }
    if (strcmp(im->m->tensors[u].name, name) == 0) return false;
  }
}

/* A name defined in an enclosing graph, captured: a TK_OUTER tensor of
 * this graph bound to a new (or the same) trailing input of the owner. */
static TensorId name_resolve(Importer *im, const char *name) {
  TensorId t = name_find(im, name);
  if (t || !im->parent) return t;
  TensorId pt = name_resolve(im->parent, name);
  if (!pt) return 0;
  Model *pm = im->parent->m;
  Node *own = &pm->nodes[im->owner];
  int idx = -1;
  for (int k = own->nin - own->ncap; k < own->nin; k++)
    if (own->in[k] == pt) idx = k;
  if (idx < 0) {
    TensorId *ni = arena_alloc(&pm->arena, sizeof(TensorId) * (size_t)(own->nin + 1));
    if (!ni) return 0;
    memcpy(ni, own->in, sizeof(TensorId) * (size_t)own->nin);
    ni[own->nin] = pt;
    own->in = ni;
    idx = own->nin++;
    own->ncap++;
  }
  t = model_add_tensor(im->m, name, DT_UNDEF, -1, NULL, TK_OUTER);
  if (!t) return 0;
  im->m->tensors[t].outer = (uint32_t)idx;
  return name_bind(im, t) ? t : 0;
}

static const char *where_node(Importer *im, const char *name) {
  return im->m->scope ? arena_printf(&im->m->arena, "node '%s' in %s", name, im->m->scope)
                      : arena_printf(&im->m->arena, "node '%s'", name);
}

static void unsupported(Importer *im, const char *op, const char *what, const char *node) {
  if (im->root) im = im->root;
  for (int i = 0; i < im->nunsup; i++) {
    Unsupported *u = &im->unsup[i];
    if (strcmp(u->op, op) == 0 && strcmp(u->what, what) == 0) {
      if (u->count < 4) u->names[u->count] = node;
      u->count++;
      return;
    }
  }
  if (im->nunsup == im->capunsup) {
    int nc = im->capunsup ? 2 * im->capunsup : 8;
    Unsupported *p = xrealloc(im->unsup, sizeof *p * (size_t)nc);
    if (!p) return;
    im->unsup = p;
    im->capunsup = nc;
  }
  Unsupported *u = &im->unsup[im->nunsup++];
  memset(u, 0, sizeof *u);
  u->op = arena_strdup(&im->m->arena, op);
  u->what = arena_strdup(&im->m->arena, what);
  u->names[0] = node;
  u->count = 1;
}

/* ---- tensors ---------------------------------------------------------- */

/* Constants may be empty (a Resize's unused roi is a [0] tensor); graph
 * inputs and computed values may not. */
static bool check_dims_ex(Importer *im, const char *where, int n, const int64_t *dims,
                          bool allow_empty) {
  if (n > NAASC_MAX_RANK) {
    diag_error(im->d, where, "rank %d is more than the %d supported", n, NAASC_MAX_RANK);
    return false;
  }
  int64_t numel = 1;
  for (int i = 0; i < n; i++) {
    if (dims[i] < 0) {
      diag_error(im->d, where, "dimension %d is negative (%" PRId64 ")", i, dims[i]);
      return false;
    }
    if (dims[i] == 0 && !allow_empty) {
      diag_error(im->d, where, "dimension %d is zero: empty tensors are not supported", i);
      return false;
    }
    if (!ck_mul_i64(numel, dims[i], &numel) || numel > NAASC_MAX_ELEMS) {
      diag_error(im->d, where,
                 "has more than 2^31 elements (dims product overflows the accepted size)");
      return false;
    }
  }
  return true;
}

static bool check_dims(Importer *im, const char *where, int n, const int64_t *dims) {
  return check_dims_ex(im, where, n, dims, false);
}

/* Is `loc` a plain relative path that stays below the model's folder? */
static bool safe_relative_path(const char *loc) {
  if (!*loc || loc[0] == '/') return false;
  const char *p = loc;
  while (*p) {
    const char *q = strchr(p, '/');
    size_t n = q ? (size_t)(q - p) : strlen(p);
    if ((n == 2 && p[0] == '.' && p[1] == '.') || n == 0) return false;
    p = q ? q + 1 : p + n;
  }
  return true;
}

static bool read_external(Importer *im, const char *where, const Onnx__TensorProto *tp, void *dst,
                          size_t nbytes) {
  const char *loc = NULL;
  long long off = 0, len = -1;
  for (size_t i = 0; i < tp->n_external_data; i++) {
    const char *k = tp->external_data[i]->key, *v = tp->external_data[i]->value;
    if (!k || !v) continue;
    char *end;
    if (strcmp(k, "location") == 0)
      loc = v;
    else if (strcmp(k, "offset") == 0) {
      off = strtoll(v, &end, 10);
      if (*end || off < 0) {
        diag_error(im->d, where, "external data offset '%s' is not a non-negative integer", v);
        return false;
      }
    } else if (strcmp(k, "length") == 0) {
      len = strtoll(v, &end, 10);
      if (*end || len < 0) {
        diag_error(im->d, where, "external data length '%s' is not a non-negative integer", v);
        return false;
      }
    }
  }
  if (!loc) {
    diag_error(im->d, where, "external data has no 'location'");
    return false;
  }
  if (!im->dir) {
    diag_error(im->d, where, "external data '%s' cannot be read when the model is not a file", loc);
    return false;
  }
  if (!safe_relative_path(loc)) {
    diag_error(im->d, where,
               "external data location '%s' must be a relative path inside the model's folder",
               loc);
    return false;
  }
  if (len >= 0 && (size_t)len != nbytes) {
    diag_error(im->d, where, "external data length %lld disagrees with its dims (%zu bytes)", len,
               nbytes);
    return false;
  }
  char *path = arena_printf(&im->m->arena, "%s/%s", im->dir, loc);
  FILE *f = path ? fopen(path, "rb") : NULL;
  if (!f) {
    diag_error(im->d, where, "cannot open external data file '%s'", path ? path : loc);
    return false;
  }
  bool ok = fseek(f, off, SEEK_SET) == 0 && fread(dst, 1, nbytes, f) == nbytes;
  fclose(f);
  if (!ok)
    diag_error(im->d, where, "external data file '%s' is too short for %zu bytes at offset %lld",
               path, nbytes, off);
  return ok;
}

/* Copies a TensorProto's payload into dst (numel elements of dt). */
static bool tensor_payload(Importer *im, const char *where, const Onnx__TensorProto *tp, DType dt,
                           int64_t numel, void *dst) {
  size_t es = dtype_size(dt), nbytes;
  if (numel < 0 || !ck_mul_size((size_t)numel, es, &nbytes)) {
    diag_error(im->d, where, "%" PRId64 " elements of %zu bytes do not fit in memory", numel, es);
    return false;
  }
  if (tp->segment) {
    diag_error(im->d, where, "segmented tensors are not supported");
    return false;
  }
  if (tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
    return read_external(im, where, tp, dst, nbytes);
  if (tp->has_raw_data) {
    if (tp->raw_data.len != nbytes) {
      diag_error(im->d, where, "raw_data has %zu bytes but its dims and type need %zu",
                 tp->raw_data.len, nbytes);
      return false;
    }
    if (nbytes) memcpy(dst, tp->raw_data.data, nbytes);
    return true;
  }
  size_t have;
  const char *field;
  unsigned char *o = dst;
  switch (dt) {
  case DT_F32:
    have = tp->n_float_data;
    field = "float_data";
    break;
  case DT_F64:
    have = tp->n_double_data;
    field = "double_data";
    break;
  case DT_I64:
    have = tp->n_int64_data;
    field = "int64_data";
    break;
  case DT_U32:
  case DT_U64:
    have = tp->n_uint64_data;
    field = "uint64_data";
    break;
  default:
    have = tp->n_int32_data;
    field = "int32_data";
    break;
  }
  if (have != (size_t)numel) {
    diag_error(im->d, where, "%s has %zu values but its dims need %" PRId64, field, have, numel);
    return false;
  }
  for (int64_t i = 0; i < numel; i++) {
    switch (dt) {
    case DT_F32: memcpy(o + 4 * i, &tp->float_data[i], 4); break;
    case DT_F64: memcpy(o + 8 * i, &tp->double_data[i], 8); break;
    case DT_I64: memcpy(o + 8 * i, &tp->int64_data[i], 8); break;
    case DT_U64: memcpy(o + 8 * i, &tp->uint64_data[i], 8); break;
    case DT_U32: {
      uint32_t v = (uint32_t)tp->uint64_data[i];
      memcpy(o + 4 * i, &v, 4);
      break;
    }
    case DT_I32: memcpy(o + 4 * i, &tp->int32_data[i], 4); break;
    case DT_I16:
    case DT_U16:
    case DT_F16:
    case DT_BF16: {
      uint16_t v = (uint16_t)tp->int32_data[i];
      memcpy(o + 2 * i, &v, 2);
      break;
    }
    default: o[i] = (unsigned char)tp->int32_data[i]; break;
    }
  }
  return true;
}

/* The ONNX name of an element type naasc does not hold. */
static const char *elem_type_name(int v) {
  switch (v) {
  case 8: return "STRING";
  case 14: return "COMPLEX64";
  case 15: return "COMPLEX128";
  case 17: return "FLOAT8E4M3FN";
  case 18: return "FLOAT8E4M3FNUZ";
  case 19: return "FLOAT8E5M2";
  case 20: return "FLOAT8E5M2FNUZ";
  case 21: return "UINT4";
  case 22: return "INT4";
  case 23: return "FLOAT4E2M1";
  default: return dtype_valid(v) ? dtype_name((DType)v) : "unknown";
  }
}

/* Payloads of at least this many bytes are taken from the unpacked proto
 * rather than copied (arena_adopt): a copy costs more than the arena's
 * record of the block there (arena.c gives such a request its own chunk anyway). */
#define TAKE_MIN_BYTES ((size_t)16 << 10)

/* Moves tp's raw_data into T (numel elements of dt) when it is a plain
 * payload of the right length, at least TAKE_MIN_BYTES, and 16-byte aligned:
 * the block protobuf-c malloc'd becomes the model arena's, and tp is left
 * without raw_data (free_unpacked then frees nothing of it).  False, and tp
 * untouched, otherwise: the caller copies.  Every TensorProto reaching here
 * is one naasc unpacked itself (onnx_import_buffer, onnx_read_tensor_file)
 * and imports once, so taking its payload is safe. */
static bool take_raw_data(Importer *im, Onnx__TensorProto *tp, Tensor *T, int64_t numel) {
  size_t nbytes;
  if (tp->segment || !tp->has_raw_data || !tp->raw_data.data || numel < 0 ||
      !ck_mul_size((size_t)numel, dtype_size(T->dtype), &nbytes) || tp->raw_data.len != nbytes ||
      nbytes < TAKE_MIN_BYTES ||
      (tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL))
    return false;
  if (!arena_adopt(&im->m->arena, tp->raw_data.data, nbytes)) return false;
  T->data = tp->raw_data.data;
  tp->raw_data.data = NULL;
  tp->raw_data.len = 0;
  tp->has_raw_data = 0;
  return true;
}

/* A constant tensor from a TensorProto; 0 on error (reported).  A large
 * raw_data payload is taken from tp, not copied (take_raw_data). */
static TensorId tensor_from_proto(Importer *im, Onnx__TensorProto *tp, const char *name,
                                  const char *where) {
  int dtv = tp->has_data_type ? tp->data_type : 0;
  if (!dtype_valid(dtv) || dtype_size((DType)dtv) == 0) {
    diag_error(im->d, where, "element type %d (%s) is not supported", dtv, elem_type_name(dtv));
    return 0;
  }
  if (!check_dims_ex(im, where, (int)tp->n_dims, tp->dims, true)) return 0;
  DType dt = (DType)dtv;
  TensorId t = model_add_tensor(im->m, name, dt, (int)tp->n_dims, tp->dims, TK_CONST);
  if (!t) goto oom;
  Tensor *T = &im->m->tensors[t];
  int64_t numel = tensor_numel(T);
  if (take_raw_data(im, tp, T, numel)) return t;
  T->data = arena_alloc(&im->m->arena, (size_t)numel * dtype_size(dt));
  if (!T->data) goto oom;
  if (!tensor_payload(im, where, tp, dt, numel, T->data)) return 0;
  return t;
oom:
  diag_error(im->d, where, "out of memory");
  return 0;
}

/* ---- attributes -------------------------------------------------------- */

static const Onnx__AttributeProto *attr_find(const Onnx__NodeProto *np, const char *name) {
  for (size_t i = 0; i < np->n_attribute; i++)
    if (np->attribute[i]->name && strcmp(np->attribute[i]->name, name) == 0)
      return np->attribute[i];
  return NULL;
}

static int64_t attr_int(const Onnx__NodeProto *np, const char *name, int64_t def) {
  const Onnx__AttributeProto *a = attr_find(np, name);
  return a && a->has_i ? a->i : def;
}

static float attr_float(const Onnx__NodeProto *np, const char *name, float def) {
  const Onnx__AttributeProto *a = attr_find(np, name);
  return a && a->has_f ? a->f : def;
}

/* The string attribute as a NUL-terminated arena copy, or def.  An empty
 * one (protobuf-c gives it no data) is "", not NULL (a fuzzed Resize's
 * empty mode reached strcmp with NULL). */
static const char *attr_str(Importer *im, const Onnx__NodeProto *np, const char *name,
                            const char *def) {
  const Onnx__AttributeProto *a = attr_find(np, name);
  if (!a || !a->has_s) return def;
  if (!a->s.data || a->s.len == 0) return "";
  return arena_strndup(&im->m->arena, (const char *)a->s.data, a->s.len);
}

/* Reads an ints attribute into v[max]; returns its length, or -1 if too long. */
static int attr_ints(const Onnx__NodeProto *np, const char *name, int64_t *v, int max) {
  const Onnx__AttributeProto *a = attr_find(np, name);
  if (!a) return 0;
  if (a->n_ints > (size_t)max) return -1;
  for (size_t i = 0; i < a->n_ints; i++) v[i] = a->ints[i];
  return (int)a->n_ints;
}

/* Attributes naasc understands per op, as a comma-separated list. */
static const char *known_attrs(Op op) {
  switch (op) {
  case OP_CONV:
  case OP_QLINEARCONV:
  case OP_CONVINTEGER: return "kernel_shape,strides,pads,dilations,group,auto_pad";
  case OP_MAXUNPOOL: return "kernel_shape,strides,pads";
  case OP_IF: return "then_branch,else_branch";
  case OP_LOOP: return "body";
  case OP_CONVTRANSPOSE:
    return "kernel_shape,strides,pads,dilations,group,auto_pad,output_padding,output_shape";
  case OP_MAXPOOL: return "kernel_shape,strides,pads,dilations,auto_pad,ceil_mode,storage_order";
  case OP_AVGPOOL: return "kernel_shape,strides,pads,auto_pad,ceil_mode,count_include_pad";
  case OP_GEMM: return "alpha,beta,transA,transB";
  case OP_LEAKYRELU: return "alpha";
  case OP_HARDSIGMOID: return "alpha,beta";
  case OP_CLIP: return "min,max";
  case OP_BATCHNORM: return "epsilon,momentum,spatial,training_mode";
  case OP_CONCAT:
  case OP_FLATTEN:
  case OP_GATHER:
  case OP_SOFTMAX: return "axis";
  case OP_TRANSPOSE: return "perm";
  case OP_SQUEEZE:
  case OP_UNSQUEEZE: return "axes";
  case OP_REDUCEMEAN: return "axes,keepdims,noop_with_empty_axes";
  case OP_CAST: return "to,saturate";
  case OP_RESIZE:
    return "mode,coordinate_transformation_mode,nearest_mode,cubic_coeff_a,exclude_outside,"
           "extrapolation_value";
  case OP_SLICE: return "starts,ends,axes";
  case OP_SHAPE: return "start,end";
  case OP_RESHAPE: return "allowzero";
  case OP_DROPOUT: return "ratio,seed";
  default: return "";
  }
}

static bool list_has(const char *list, const char *name) {
  size_t n = strlen(name);
  for (const char *p = list; *p;) {
    const char *c = strchr(p, ',');
    size_t k = c ? (size_t)(c - p) : strlen(p);
    if (k == n && strncmp(p, name, n) == 0) return true;
    p += k + (c ? 1 : 0);
  }
  return false;
}

static int str_index(const char *s, const char *const *names, int n) {
  for (int i = 0; i < n; i++)
    if (strcmp(s, names[i]) == 0) return i;
  return -1;
}

/* Fills n->a from the AttrSpec rows of n's op (ir/attrs.c), then applies
 * what depends on the opset.  Unsupported values are recorded; false when
 * the node cannot be taken as is. */
static bool parse_spec_attrs(Importer *im, const Onnx__NodeProto *np, Node *n, const AttrSpec *spec,
                             int nspec) {
  Attrs *a = &n->a;
  const char *op = np->op_type;
  bool ok = true;
  char buf[200];
#define UNSUP(...)                          \
  do {                                      \
    snprintf(buf, sizeof buf, __VA_ARGS__); \
    unsupported(im, op, buf, n->name);      \
    ok = false;                             \
  } while (0)
  for (int r = 0; r < nspec; r++) {
    const AttrSpec *sp = &spec[r];
    const Onnx__AttributeProto *at = attr_find(np, sp->name);
    void *p = (char *)a + sp->off;
    bool as_input = sp->input >= 0 && im->opset >= sp->input_since;
    if (at && (as_input || (sp->until && im->opset >= sp->until))) {
      UNSUP("attribute '%s' (opset %" PRId64 " passes it as an input)", sp->name, im->opset);
      continue;
    }
    if (!at) {
      if (sp->required && !as_input) {
        diag_error(im->d, where_node(im, n->name), "%s needs the attribute %s", op, sp->name);
        return false;
      }
      continue;
    }
    if (sp->has_off) *(bool *)((char *)a + sp->has_off - 1) = true;
    switch (sp->kind) {
    case AK_INT: *(int64_t *)p = at->i; break;
    case AK_BOOL: *(bool *)p = at->i != 0; break;
    case AK_FLOAT: *(float *)p = at->f; break;
    case AK_DTYPE:
      if (!dtype_valid((int)at->i) || dtype_size((DType)at->i) == 0)
        UNSUP("attribute %s=%" PRId64 " (%s)", sp->name, at->i, elem_type_name((int)at->i));
      else
        *(int *)p = (int)at->i;
      break;
    case AK_ENUM: {
      char *v = arena_strndup(&im->m->arena, at->has_s ? (const char *)at->s.data : "",
                              at->has_s ? at->s.len : 0);
      int k = v ? str_index(v, sp->names, sp->nnames) : -1;
      if (k < 0)
        UNSUP("attribute %s='%s'", sp->name, v ? v : "");
      else
        *(int *)p = k;
      break;
    }
    case AK_INTS:
    case AK_FLOATS: {
      size_t cnt = sp->kind == AK_INTS ? at->n_ints : at->n_floats;
      if (cnt > (size_t)sp->max) {
        UNSUP("attribute %s with more than %d values", sp->name, sp->max);
        break;
      }
      for (size_t i = 0; i < cnt; i++) {
        if (sp->kind == AK_INTS)
          ((int64_t *)p)[i] = at->ints[i];
        else
          ((float *)p)[i] = at->floats[i];
      }
      *(int *)((char *)a + sp->count_off) = (int)cnt;
      break;
    }
    case AK_ENUMS: {
      if (at->n_strings > (size_t)sp->max) {
        UNSUP("attribute %s with more than %d values", sp->name, sp->max);
        break;
      }
      for (size_t i = 0; i < at->n_strings; i++) {
        char *v =
            arena_strndup(&im->m->arena, (const char *)at->strings[i].data, at->strings[i].len);
        int k = v ? str_index(v, sp->names, sp->nnames) : -1;
        if (k < 0)
          UNSUP("attribute %s value '%s'", sp->name, v ? v : "");
        else
          ((int *)p)[i] = k;
      }
      *(int *)((char *)a + sp->count_off) = (int)at->n_strings;
      break;
    }
    case AK_LIST_I:
    case AK_LIST_F: {
      size_t cnt = sp->kind == AK_LIST_I ? at->n_ints : at->n_floats,
             es = sp->kind == AK_LIST_I ? 8 : 4;
      void *v = arena_alloc(&im->m->arena, cnt * es + 1);
      if (!v) return false;
      if (cnt)
        memcpy(v, sp->kind == AK_LIST_I ? (const void *)at->ints : (const void *)at->floats,
               cnt * es);
      *(void **)p = v;
      *(int *)((char *)a + sp->count_off) = (int)cnt;
      break;
    }
    case AK_STRING:
      *(const char **)p = arena_strndup(&im->m->arena, at->has_s ? (const char *)at->s.data : "",
                                        at->has_s ? at->s.len : 0);
      break;
    case AK_TENSOR: { /* a one-element tensor */
      const Onnx__TensorProto *tp = at->t;
      int dtv = tp && tp->has_data_type ? tp->data_type : 0;
      int64_t cnt = 1;
      for (size_t i = 0; tp && i < tp->n_dims; i++) cnt *= tp->dims[i];
      if (!tp || !dtype_valid(dtv) || dtype_size((DType)dtv) == 0 || cnt != 1) {
        UNSUP("attribute %s (not a one-element numeric tensor)", sp->name);
        break;
      }
      Tensor tmp;
      memset(&tmp, 0, sizeof tmp);
      uint64_t raw[2] = {0, 0};
      tmp.dtype = (DType)dtv;
      tmp.data = raw;
      if (!tensor_payload(im, where_node(im, n->name), tp, (DType)dtv, 1, raw)) return false;
      a->value_dtype = (DType)dtv;
      a->value_f = tensor_get_f(&tmp, 0);
      a->value_i = tensor_get_i(&tmp, 0);
      break;
    }
    }
  }
  /* what depends on the opset, and values naasc cannot honour */
  switch (n->op) {
  case OP_LOGSOFTMAX:
  case OP_HARDMAX:
    if (!attr_find(np, "axis") && im->opset < 13) a->axis = 1;
    a->coerce2d = im->opset < 13;
    break;
  case OP_ROIALIGN:
    if (!attr_find(np, "coordinate_transformation_mode") && im->opset < 16)
      a->roi_coord = ROIC_OUTPUT_HALF_PIXEL;
    break;
  case OP_GROUPNORM: a->per_channel = im->opset >= 21; break;
  case OP_GRIDSAMPLE:
    if ((int)a->gs_mode == 3) a->gs_mode = GS_BILINEAR; /* opset 20's "linear" */
    if ((int)a->gs_mode == 4) a->gs_mode = GS_BICUBIC;  /* and "cubic" */
    break;
  case OP_UPSAMPLE:
    if ((int)a->rz_mode == 2) a->rz_mode = RZ_LINEAR; /* "bilinear" */
    if (im->opset < 9 && a->naxes == 0) {
      diag_error(im->d, where_node(im, n->name),
                 "Upsample needs the attribute scales before opset 9");
      return false;
    }
    break;
  case OP_QUANTIZELINEAR:
  case OP_DEQUANTIZELINEAR:
    if (a->block_size)
      UNSUP("attribute block_size=%" PRId64 " (blocked quantization)", a->block_size);
    break;
  case OP_SCAN:
    if (im->opset < 9) UNSUP("before opset 9 (Scan-8 has a batch axis)");
    break;
  default: break;
  }
#undef UNSUP
  return ok;
}

/* Fills n->a from the node's attributes; unsupported values are recorded.
 * Returns false when the node cannot be taken as is. */
static bool parse_attrs(Importer *im, const Onnx__NodeProto *np, Node *n) {
  Attrs *a = &n->a;
  const char *op = np->op_type;
  bool ok = true;
  char buf[160];
#define UNSUP(...)                          \
  do {                                      \
    snprintf(buf, sizeof buf, __VA_ARGS__); \
    unsupported(im, op, buf, n->name);      \
    ok = false;                             \
  } while (0)

  int nspec;
  const AttrSpec *spec = op_attr_specs(n->op, &nspec);
  for (size_t i = 0; i < np->n_attribute; i++) {
    const char *an = np->attribute[i]->name ? np->attribute[i]->name : "";
    bool graph_attr = n->op == OP_IF || n->op == OP_LOOP || n->op == OP_SCAN;
    bool known = list_has(known_attrs(n->op), an) || (n->op == OP_SCAN && strcmp(an, "body") == 0);
    for (int k = 0; k < nspec && !known; k++) known = strcmp(spec[k].name, an) == 0;
    if ((np->attribute[i]->g || np->attribute[i]->n_graphs) && !(graph_attr && known))
      UNSUP("attribute '%s' (a subgraph)", an);
    else if (!known)
      UNSUP("attribute '%s'", an);
  }
  switch (n->op) {
  case OP_CONV:
  case OP_QLINEARCONV:
  case OP_CONVINTEGER:
  case OP_CONVTRANSPOSE:
  case OP_MAXPOOL:
  case OP_MAXUNPOOL:
  case OP_AVGPOOL: {
    int k = attr_ints(np, "kernel_shape", a->kernel, NAASC_MAX_RANK);
    int s = attr_ints(np, "strides", a->strides, NAASC_MAX_RANK);
    int p = attr_ints(np, "pads", a->pads, 2 * NAASC_MAX_RANK);
    int dl = attr_ints(np, "dilations", a->dilations, NAASC_MAX_RANK);
    if (k < 0 || s < 0 || p < 0 || dl < 0) UNSUP("more than %d spatial dims", NAASC_MAX_RANK);
    a->nsp = k; /* 0: taken from the weights in infer.c */
    if ((p > 0 && p % 2) || (p > 0 && k > 0 && p != 2 * k)) {
      if (p % 2 == 0)
        diag_error(im->d, where_node(im, n->name),
                   "pads has %d values; a window of %d spatial dims needs %d (a begin and an end "
                   "per dim)",
                   p, k, 2 * k);
      else
        diag_error(im->d, where_node(im, n->name), "pads has %d values, not 2 per spatial dim", p);
      return false;
    }
    static const char *const ap[] = {"NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"};
    const char *aps = attr_str(im, np, "auto_pad", "NOTSET");
    int api = str_index(aps, ap, 4);
    if (api < 0)
      UNSUP("attribute auto_pad='%s'", aps);
    else
      a->auto_pad = (AutoPad)api;
    a->group = attr_int(np, "group", 1);
    a->ceil_mode = attr_int(np, "ceil_mode", 0) != 0;
    a->count_include_pad = attr_int(np, "count_include_pad", 0) != 0;
    if (n->op == OP_CONVTRANSPOSE) {
      if (attr_ints(np, "output_padding", a->out_pad, NAASC_MAX_RANK) < 0) UNSUP("output_padding");
      int os = attr_ints(np, "output_shape", a->out_shape, NAASC_MAX_RANK);
      if (os < 0) UNSUP("output_shape");
      a->has_out_shape = os > 0;
    }
    if ((n->op == OP_MAXPOOL || n->op == OP_AVGPOOL || n->op == OP_MAXUNPOOL) && k == 0) {
      diag_error(im->d, where_node(im, n->name), "%s needs the attribute kernel_shape", op);
      return false;
    }
    break;
  }
  case OP_GEMM:
    a->alpha = attr_float(np, "alpha", 1.0f);
    a->beta = attr_float(np, "beta", 1.0f);
    a->trans_a = attr_int(np, "transA", 0) != 0;
    a->trans_b = attr_int(np, "transB", 0) != 0;
    break;
  case OP_LEAKYRELU: a->alpha = attr_float(np, "alpha", 0.01f); break;
  case OP_HARDSIGMOID:
    a->alpha = attr_float(np, "alpha", 0.2f);
    a->beta = attr_float(np, "beta", 0.5f);
    break;
  case OP_CLIP:
    a->clip_min = attr_float(np, "min", -INFINITY);
    a->clip_max = attr_float(np, "max", INFINITY);
    break;
  case OP_BATCHNORM:
    a->epsilon = attr_float(np, "epsilon", 1e-5f);
    if (attr_int(np, "training_mode", 0)) UNSUP("attribute training_mode=1");
    if (attr_int(np, "spatial", 1) != 1) UNSUP("attribute spatial=0");
    if (np->n_output > 1) UNSUP("training outputs (running mean/var)");
    break;
  case OP_SOFTMAX:
    a->axis = attr_int(np, "axis", im->opset >= 13 ? -1 : 1);
    a->coerce2d = im->opset < 13; /* before opset 13: softmax over the flattened tail */
    break;
  case OP_FLATTEN: a->axis = attr_int(np, "axis", 1); break;
  case OP_GATHER: a->axis = attr_int(np, "axis", 0); break;
  case OP_CONCAT:
    if (!attr_find(np, "axis")) {
      diag_error(im->d, where_node(im, n->name), "Concat needs the attribute axis");
      return false;
    }
    a->axis = attr_int(np, "axis", 0);
    break;
  case OP_TRANSPOSE:
  case OP_SQUEEZE:
  case OP_UNSQUEEZE:
  case OP_REDUCEMEAN:
    a->naxes = attr_ints(np, n->op == OP_TRANSPOSE ? "perm" : "axes", a->axes, NAASC_MAX_RANK);
    if (a->naxes < 0) UNSUP("more than %d axes", NAASC_MAX_RANK);
    a->keepdims = attr_int(np, "keepdims", 1) != 0;
    a->noop_empty = attr_int(np, "noop_with_empty_axes", 0) != 0;
    /* naxes = -2 marks "axes come from an input" (opset 13 Squeeze/Unsqueeze). */
    if (!attr_find(np, n->op == OP_TRANSPOSE ? "perm" : "axes")) a->naxes = -1;
    break;
  case OP_CAST: {
    int64_t to = attr_int(np, "to", 0);
    if (!dtype_valid((int)to) || dtype_size((DType)to) == 0)
      UNSUP("attribute to=%" PRId64, to);
    else
      a->to = (DType)to;
    break;
  }
  case OP_RESIZE: {
    static const char *const modes[] = {"nearest", "linear", "cubic"};
    static const char *const coords[] = {"half_pixel",           "asymmetric",
                                         "align_corners",        "pytorch_half_pixel",
                                         "tf_half_pixel_for_nn", "tf_crop_and_resize"};
    static const char *const nears[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
    const char *m = attr_str(im, np, "mode", "nearest");
    const char *c = attr_str(im, np, "coordinate_transformation_mode",
                             im->opset >= 11 ? "half_pixel" : "asymmetric");
    const char *nm = attr_str(im, np, "nearest_mode", "round_prefer_floor");
    int mi = str_index(m, modes, 3), ci = str_index(c, coords, 6), ni = str_index(nm, nears, 4);
    if (mi < 0) UNSUP("attribute mode='%s'", m);
    if (ci < 0) UNSUP("attribute coordinate_transformation_mode='%s'", c);
    if (ni < 0) UNSUP("attribute nearest_mode='%s'", nm);
    a->rz_exclude_outside = attr_int(np, "exclude_outside", 0) != 0;
    a->rz_cubic_a = attr_float(np, "cubic_coeff_a", -0.75f);
    a->rz_extrapolation = attr_float(np, "extrapolation_value", 0.0f);
    if (mi >= 0) a->rz_mode = (ResizeMode)mi;
    if (ci >= 0) a->rz_coord = (ResizeCoord)ci;
    if (ni >= 0) a->rz_nearest = (ResizeNearest)ni;
    break;
  }
  case OP_SLICE:
    if (im->opset < 10) {
      int ns = attr_ints(np, "starts", a->starts, NAASC_MAX_RANK);
      int ne = attr_ints(np, "ends", a->ends, NAASC_MAX_RANK);
      int na = attr_ints(np, "axes", a->axes, NAASC_MAX_RANK);
      if (ns < 0 || ne < 0 || na < 0 || ns != ne || (na && na != ns)) {
        diag_error(im->d, where_node(im, n->name), "Slice starts/ends/axes lengths disagree");
        return false;
      }
      a->naxes = ns;
      for (int i = 0; i < ns; i++) {
        if (!na) a->axes[i] = i;
        a->steps[i] = 1;
      }
    } else {
      a->naxes = -1; /* from inputs */
    }
    break;
  case OP_SHAPE:
    a->shape_start = attr_int(np, "start", 0);
    a->shape_end = attr_int(np, "end", INT64_MAX);
    break;
  case OP_RESHAPE: a->allowzero = attr_int(np, "allowzero", 0) != 0; break;
  default:
    if (!parse_spec_attrs(im, np, n, spec, nspec)) ok = false;
    break;
  }
  if (n->op == OP_MAXPOOL && np->n_output > 1 && np->output[1] && np->output[1][0])
    UNSUP("output Indices");
#undef UNSUP
  return ok;
}

/* ---- graph ------------------------------------------------------------ */

/* A graph input or output's declared element type and shape. */
static bool value_info_type(Importer *im, const Onnx__ValueInfoProto *vi, const char *where,
                            DType *dt, int *rank, int64_t *dims, const char **params) {
  const Onnx__TypeProto *tp = vi->type;
  if (!tp && im->parent) { /* a subgraph input may leave its type to the op */
    *dt = DT_UNDEF;
    *rank = -1;
    return true;
  }
  if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type) {
    const char *kind =
        !tp                                                            ? "no type"
        : tp->value_case == ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE      ? "a sequence type"
        : tp->value_case == ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE      ? "an optional type"
        : tp->value_case == ONNX__TYPE_PROTO__VALUE_MAP_TYPE           ? "a map type"
        : tp->value_case == ONNX__TYPE_PROTO__VALUE_SPARSE_TENSOR_TYPE ? "a sparse tensor type"
                                                                       : "an unknown type";
    diag_error(im->d, where, "only tensor types are supported (this is %s)", kind);
    return false;
  }
  int et = tp->tensor_type->has_elem_type ? tp->tensor_type->elem_type : 0;
  if (et == 0 && im->parent) {
    *dt = DT_UNDEF;
  } else if (!dtype_valid(et) || dtype_size((DType)et) == 0) {
    diag_error(im->d, where, "element type %d (%s) is not supported", et, elem_type_name(et));
    return false;
  }
  if (et) *dt = (DType)et;
  const Onnx__TensorShapeProto *sh = tp->tensor_type->shape;
  if (!sh) {
    *rank = -1;
    return true;
  }
  if (sh->n_dim > NAASC_MAX_RANK) {
    diag_error(im->d, where, "rank %zu is more than the %d supported", sh->n_dim, NAASC_MAX_RANK);
    return false;
  }
  *rank = (int)sh->n_dim;
  for (size_t i = 0; i < sh->n_dim; i++) {
    const Onnx__TensorShapeProto__Dimension *dm = sh->dim[i];
    dims[i] = -1;
    params[i] = NULL;
    if (dm->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE)
      dims[i] = dm->dim_value;
    else if (dm->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM)
      params[i] = arena_strdup(&im->m->arena, dm->dim_param);
  }
  return true;
}

static bool add_graph_input(Importer *im, const Onnx__ValueInfoProto *vi) {
  const char *where = arena_printf(&im->m->arena, "input '%s'", vi->name);
  DType dt;
  int rank;
  int64_t dims[NAASC_MAX_RANK];
  const char *params[NAASC_MAX_RANK] = {0};
  if (!value_info_type(im, vi, where, &dt, &rank, dims, params)) return false;
  const InputShape *fix = NULL;
  for (int i = 0; i < im->o->nshapes && !im->parent; i++)
    if (strcmp(im->o->shapes[i].name, vi->name) == 0) fix = &im->o->shapes[i];
  if (fix) {
    if (rank >= 0 && fix->rank != rank) {
      diag_error(im->d, where, "--input-shape gives %d dims but the input has rank %d", fix->rank,
                 rank);
      return false;
    }
    for (int i = 0; i < fix->rank; i++) {
      if (rank >= 0 && dims[i] > 0 && dims[i] != fix->dims[i]) {
        diag_error(im->d, where,
                   "--input-shape gives dim %d = %" PRId64 " but the model fixes it to %" PRId64, i,
                   fix->dims[i], dims[i]);
        return false;
      }
      dims[i] = fix->dims[i];
    }
    rank = fix->rank;
  }
  TensorId t = model_add_tensor(im->m, vi->name, dt, rank, dims, TK_INPUT);
  if (!t) return false;
  Tensor *T = &im->m->tensors[t];
  for (int i = 0; i < rank && !fix; i++) T->dim_param[i] = params[i];
  if (!name_bind(im, t)) {
    diag_error(im->d, where, "the name is defined twice");
    return false;
  }
  return model_add_input(im->m, t);
}

/* A dynamic input is an error unless --input-shape fixed it. */
static bool check_static_inputs(Importer *im) {
  bool ok = true;
  for (uint32_t i = 0; i < im->m->ninputs; i++) {
    Tensor *T = &im->m->tensors[im->m->inputs[i]];
    if (T->kind != TK_INPUT) continue;
    if (tensor_shape_known(T)) {
      const char *where = arena_printf(&im->m->arena, "input '%s'", T->name);
      if (!check_dims(im, where, T->rank, T->dims)) ok = false;
      continue;
    }
    char dims[256] = "";
    size_t k = 0;
    for (int j = 0; j < T->rank && k < sizeof dims - 40; j++) {
      if (T->dims[j] >= 0)
        k += (size_t)snprintf(dims + k, sizeof dims - k, "%s%" PRId64, j ? "," : "", T->dims[j]);
      else
        k += (size_t)snprintf(dims + k, sizeof dims - k, "%s%s", j ? "," : "",
                              T->dim_param[j] ? T->dim_param[j] : "?");
    }
    diag_error(im->d, arena_printf(&im->m->arena, "input '%s'", T->name),
               "has dynamic dims [%s]; fix them with --input-shape %s=D0x...",
               T->rank < 0 ? "*" : dims, T->name);
    ok = false;
  }
  return ok;
}

/* Binds an input to a constant TensorProto file (--input-data). */
static bool bind_input_data(Importer *im, const InputData *b) {
  TensorId t = name_find(im, b->name);
  if (!t || im->m->tensors[t].kind != TK_INPUT) {
    diag_error(im->d, NULL, "--input-data %s: the model has no graph input named '%s'", b->name,
               b->name);
    return false;
  }
  TensorId c;
  Diag sub = *im->d;
  sub.file = b->path;
  if (onnx_read_tensor_file(b->path, im->m, NULL, &c, &sub) != RC_OK) {
    im->d->nerrors += sub.nerrors - im->d->nerrors;
    return false;
  }
  Tensor *T = &im->m->tensors[t], *C = &im->m->tensors[c];
  if (C->dtype != T->dtype) {
    diag_error(im->d, b->path, "has type %s but input '%s' is %s", dtype_name(C->dtype), T->name,
               dtype_name(T->dtype));
    return false;
  }
  T->kind = TK_CONST;
  T->rank = C->rank;
  memcpy(T->dims, C->dims, sizeof T->dims);
  T->data = C->data;
  return true;
}

/* Default-domain ops naasc refuses on purpose, with the reason. */
static const char *refused_op_reason(const char *op) {
  static const struct {
    const char *ops, *why;
  } tab[] = {
      {"RandomUniform,RandomNormal,RandomUniformLike,RandomNormalLike,Bernoulli,Multinomial",
       "a random op: its result is not reproducible"},
      {"SequenceAt,SequenceConstruct,SequenceEmpty,SequenceErase,SequenceInsert,SequenceLength,"
       "SequenceMap,SplitToSequence,ConcatFromSequence",
       "a sequence op: sequence types are not supported"},
      {"Optional,OptionalGetElement,OptionalHasElement",
       "an optional op: optional types are not supported"},
      {"StringNormalizer,StringConcat,StringSplit,RegexFullMatch",
       "a string op: string tensors are not supported"},
  };
  for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
    if (list_has(tab[i].ops, op)) return tab[i].why;
  return NULL;
}

static bool is_local_function(const Importer *im, const char *domain, const char *op) {
  const Onnx__ModelProto *mp = im->mp;
  for (size_t i = 0; mp && i < mp->n_functions; i++) {
    const Onnx__FunctionProto *f = mp->functions[i];
    if (f->name && strcmp(f->name, op) == 0 &&
        strcmp(f->domain ? f->domain : "", domain ? domain : "") == 0)
      return true;
  }
  return false;
}

static Rc import_graph(Importer *im, const Onnx__GraphProto *g);

/* Imports the graph attribute `attr` of node `owner` as its subgraph slot. */
static Rc import_sub(Importer *im, NodeId owner, const Onnx__NodeProto *np, const char *attr,
                     int slot) {
  const char *nname = im->m->nodes[owner].name;
  const Onnx__AttributeProto *at = attr_find(np, attr);
  if (!at || !at->g) {
    diag_error(im->d, where_node(im, nname), "%s needs the graph attribute %s", np->op_type, attr);
    return RC_BADINPUT;
  }
  Model *sub = model_create(at->g->name && *at->g->name ? at->g->name : attr);
  if (!sub) return RC_INTERNAL;
  sub->source = im->m->source;
  sub->ir_version = im->m->ir_version;
  sub->opset = im->m->opset;
  sub->producer = im->m->producer;
  sub->scope = im->m->scope
                   ? arena_printf(&sub->arena, "%s of node '%s' in %s", attr, nname, im->m->scope)
                   : arena_printf(&sub->arena, "%s of node '%s'", attr, nname);
  Importer child;
  memset(&child, 0, sizeof child);
  child.m = sub;
  child.d = im->d;
  child.o = im->o;
  child.dir = im->dir;
  child.opset = im->opset;
  child.root = im->root ? im->root : im;
  child.parent = im;
  child.owner = owner;
  child.mp = im->mp;
  Rc rc = sub->scope ? import_graph(&child, at->g) : RC_INTERNAL;
  xfree(child.slots);
  if (rc != RC_OK) {
    model_destroy(sub);
    return rc;
  }
  uint32_t id = model_add_sub(im->m, sub);
  if (!id) return RC_INTERNAL;
  im->m->nodes[owner].sub[slot] = id;
  return RC_OK;
}

/* The subgraphs' signatures against the node (located errors). */
static bool check_subs(Importer *im, const Node *n, const Onnx__NodeProto *np) {
  const char *where = where_node(im, n->name);
  int nin = (int)np->n_input, nout = (int)np->n_output;
  if (n->op == OP_IF) {
    for (int s = 0; s < 2; s++) {
      const Model *g = &im->m->subs[n->sub[s]];
      const char *b = s ? "else_branch" : "then_branch";
      if (g->ninputs) {
        diag_error(im->d, where, "%s '%s' has %u inputs; an If branch takes none", b, g->name,
                   g->ninputs);
        return false;
      }
      if ((int)g->noutputs != nout) {
        diag_error(im->d, where, "%s '%s' has %u outputs, but the If has %d", b, g->name,
                   g->noutputs, nout);
        return false;
      }
    }
  } else if (n->op == OP_LOOP) {
    const Model *g = &im->m->subs[n->sub[0]];
    int ncarry = nin - 2;
    if (nin < 2) {
      diag_error(im->d, where,
                 "a Loop has inputs M and cond (either may be empty), then its carried values");
      return false;
    }
    if ((int)g->ninputs != 2 + ncarry) {
      diag_error(
          im->d, where,
          "body '%s' has %u inputs; a Loop with %d carried value%s needs %d (iteration number, "
          "condition, carried values)",
          g->name, g->ninputs, ncarry, ncarry == 1 ? "" : "s", 2 + ncarry);
      return false;
    }
    if ((int)g->noutputs < 1 + ncarry || (int)g->noutputs - 1 != nout) {
      diag_error(im->d, where,
                 "body '%s' has %u outputs; a Loop with %d carried value%s and %d outputs needs %d "
                 "(condition, carried values, scan outputs)",
                 g->name, g->noutputs, ncarry, ncarry == 1 ? "" : "s", nout, nout + 1);
      return false;
    }
  } else if (n->op == OP_SCAN) {
    const Model *g = &im->m->subs[n->sub[0]];
    if ((int)g->ninputs != nin || (int)g->noutputs != nout) {
      diag_error(
          im->d, where,
          "body '%s' has %u inputs and %u outputs; this Scan needs %d and %d (state and scan "
          "values)",
          g->name, g->ninputs, g->noutputs, nin, nout);
      return false;
    }
    if (n->a.num_scan_inputs < 1 || n->a.num_scan_inputs > nin) {
      diag_error(im->d, where, "num_scan_inputs is %" PRId64 " for %d inputs", n->a.num_scan_inputs,
                 nin);
      return false;
    }
  }
  return true;
}

static void mark_host(Model *m) {
  for (uint32_t i = 1; i < m->nnodes; i++)
    if (m->nodes[i].host_only) m->nodes[i].op = OP_HOST;
  for (uint32_t i = 1; i < m->nsubs; i++) mark_host(&m->subs[i]);
}

static Rc import_graph(Importer *im, const Onnx__GraphProto *g) {
  Model *m = im->m;
  Diag *d = im->d;
  bool is_main = !im->parent;
  if (g->name && *g->name) m->name = arena_strdup(&m->arena, g->name);
  if (g->n_sparse_initializer) {
    diag_error(d, m->scope, "sparse initializers are not supported");
    return RC_BADINPUT;
  }

  /* Name table sized for every name the graph defines (it grows for captures). */
  if (g->n_node > NAASC_MAX_NODES) {
    diag_error(d, m->scope, "the graph has %zu nodes, more than the %" PRIu32 " naasc accepts",
               g->n_node, NAASC_MAX_NODES);
    return RC_BADINPUT;
  }
  size_t names = g->n_input + g->n_initializer + 1;
  for (size_t i = 0; i < g->n_node; i++) names += g->node[i]->n_output;
  if (names > NAASC_MAX_VALUES) {
    diag_error(d, m->scope, "the graph defines %zu names, more than the %" PRIu32 " naasc accepts",
               names, NAASC_MAX_VALUES);
    return RC_BADINPUT;
  }
  im->nslots = 16;
  while (im->nslots < 2 * names) im->nslots *= 2;
  im->slots = xcalloc(im->nslots, sizeof(TensorId));
  if (!im->slots) return RC_INTERNAL;

  /* Initializers first: an input with an initializer of the same name (IR < 4) is a constant. */
  for (size_t i = 0; i < g->n_initializer; i++) {
    Onnx__TensorProto *tp = g->initializer[i];
    const char *name = tp->name ? tp->name : "";
    const char *where = m->scope ? arena_printf(&m->arena, "initializer '%s' in %s", name, m->scope)
                                 : arena_printf(&m->arena, "initializer '%s'", name);
    if (!*name) {
      diag_error(d, where, "an initializer has no name");
      return RC_BADINPUT;
    }
    TensorId t = tensor_from_proto(im, tp, name, where);
    if (!t) return d->nerrors ? RC_BADINPUT : RC_INTERNAL;
    if (!name_bind(im, t)) {
      diag_error(d, where, "the name is defined twice");
      return RC_BADINPUT;
    }
  }
  for (size_t i = 0; i < g->n_input; i++) {
    const Onnx__ValueInfoProto *vi = g->input[i];
    if (!vi->name || !*vi->name) {
      diag_error(d, m->scope, "graph input %zu has no name", i);
      return RC_BADINPUT;
    }
    if (is_main && name_find(im, vi->name)) continue; /* an initializer (IR < 4 style) */
    if (!add_graph_input(im, vi)) return d->nerrors ? RC_BADINPUT : RC_INTERNAL;
  }
  if (is_main) {
    for (int i = 0; i < im->o->nshapes; i++) {
      TensorId t = name_find(im, im->o->shapes[i].name);
      if (!t || m->tensors[t].kind != TK_INPUT) {
        diag_error(d, NULL, "--input-shape %s: the model has no graph input named '%s'",
                   im->o->shapes[i].name, im->o->shapes[i].name);
        return RC_BADINPUT;
      }
    }
    for (int i = 0; i < im->o->ndata; i++)
      if (!bind_input_data(im, &im->o->data[i])) return RC_BADINPUT;
    if (!check_static_inputs(im)) return RC_BADINPUT;
  }

  /* Nodes: outputs first (so any order resolves), then inputs and subgraphs. */
  NodeId *ids = xcalloc(g->n_node + 1, sizeof *ids);
  if (!ids) return RC_INTERNAL;
  Rc rc = RC_BADINPUT;
  for (size_t i = 0; i < g->n_node; i++) {
    const Onnx__NodeProto *np = g->node[i];
    const char *opt = np->op_type ? np->op_type : "";
    const char *name = np->name && *np->name
                           ? np->name
                           : arena_printf(&m->arena, "%s_%zu", *opt ? opt : "node", i);
    const char *where = where_node(im, name);
    bool default_domain = !np->domain || !*np->domain || strcmp(np->domain, "ai.onnx") == 0;
    Op op = default_domain ? op_find(opt) : OP_NONE;
    if (op == OP_CONSTANT) {
      const Onnx__AttributeProto *av = np->n_attribute == 1 ? np->attribute[0] : NULL;
      const char *outname = np->n_output == 1 ? np->output[0] : NULL;
      if (!outname || !*outname) {
        diag_error(d, where, "Constant needs exactly one output");
        goto fail;
      }
      TensorId t = 0;
      if (av && av->t && strcmp(av->name, "value") == 0) {
        t = tensor_from_proto(im, av->t, outname, where);
      } else if (av &&
                 (strcmp(av->name, "value_float") == 0 || strcmp(av->name, "value_int") == 0 ||
                  strcmp(av->name, "value_floats") == 0 || strcmp(av->name, "value_ints") == 0)) {
        bool isf = av->name[6] == 'f';
        bool list = av->name[strlen(av->name) - 1] == 's';
        int64_t n = list ? (int64_t)(isf ? av->n_floats : av->n_ints) : 1;
        t = model_add_tensor(m, outname, isf ? DT_F32 : DT_I64, list ? 1 : 0, &n, TK_CONST);
        if (t) {
          Tensor *T = &m->tensors[t];
          T->data = arena_alloc(&m->arena, (size_t)(n ? n : 1) * (isf ? 4 : 8));
          if (!T->data) goto oom;
          if (list && isf)
            memcpy(T->data, av->floats, (size_t)n * 4);
          else if (list)
            memcpy(T->data, av->ints, (size_t)n * 8);
          else if (isf)
            memcpy(T->data, &av->f, 4);
          else
            memcpy(T->data, &av->i, 8);
        }
      } else {
        unsupported(im, "Constant",
                    av ? arena_printf(&m->arena, "attribute '%s'", av->name)
                       : "without exactly one value attribute",
                    name);
        continue;
      }
      if (!t) goto fail;
      if (!name_bind(im, t)) {
        diag_error(d, where, "output '%s' is defined twice", outname);
        goto fail;
      }
      continue;
    }
    TensorId outs[NAASC_MAX_OUTPUTS];
    if (np->n_output == 0 || np->n_output > NAASC_MAX_OUTPUTS) {
      diag_error(d, where, "has %zu outputs", np->n_output);
      goto fail;
    }
    for (size_t j = 0; j < np->n_output; j++) {
      outs[j] = 0;
      if (!np->output[j] || !*np->output[j]) continue; /* an omitted optional output */
      outs[j] = model_add_tensor(m, np->output[j], DT_UNDEF, -1, NULL, TK_VALUE);
      if (!outs[j]) goto oom;
      if (!name_bind(im, outs[j])) {
        diag_error(d, where, "output '%s' is defined twice", np->output[j]);
        goto fail;
      }
    }
    NodeId id =
        model_add_node(m, op ? op : OP_HOST, name, (int)np->n_input, NULL, (int)np->n_output, outs);
    if (!id) goto oom;
    Node *n = &m->nodes[id];
    n->onnx_op = arena_strdup(&m->arena, opt);
    ids[i] = id;
    const char *why = default_domain && !op ? refused_op_reason(opt) : NULL;
    if (!op && is_local_function(im, np->domain, opt)) {
      unsupported(im, opt, "op:a model-local function, which naasc does not inline", n->name);
      n->host_only = true;
    } else if (!op && !default_domain && strcmp(np->domain, "ai.onnx.preview.training") == 0) {
      unsupported(im, opt, "op:a training op (domain ai.onnx.preview.training)", n->name);
      n->host_only = true;
    } else if (!op) {
      unsupported(im, opt,
                  why              ? arena_printf(&m->arena, "op:%s", why)
                  : default_domain ? "op"
                                   : arena_printf(&m->arena, "op of domain '%s'", np->domain),
                  n->name);
      n->host_only = true;
    } else if (op_since(op) > im->opset) {
      unsupported(im, opt,
                  arena_printf(&m->arena,
                               "op:at opset %" PRId64
                               " (naasc implements its definition of opset %d on)",
                               im->opset, op_since(op)),
                  n->name);
      n->host_only = true;
    } else if (!parse_attrs(im, np, n)) {
      if (d->nerrors) goto fail;
      n->host_only = true;
    }
  }
  for (size_t i = 0; i < g->n_node; i++) {
    if (!ids[i]) continue;
    const Onnx__NodeProto *np = g->node[i];
    Node *n = &m->nodes[ids[i]];
    for (size_t j = 0; j < np->n_input; j++) {
      const char *in = np->input[j];
      if (!in || !*in) continue; /* omitted optional input */
      TensorId t = name_resolve(im, in);
      n = &m->nodes[ids[i]];
      if (!t) {
        if (!im->nslots) goto oom;
        diag_error(d, where_node(im, n->name), "reads undefined tensor '%s'", in);
        goto fail;
      }
      n->in[j] = t;
    }
    if (n->host_only || (n->op != OP_IF && n->op != OP_LOOP && n->op != OP_SCAN)) continue;
    if (n->op == OP_IF) {
      if ((rc = import_sub(im, ids[i], np, "then_branch", 0)) != RC_OK) goto fail;
      if ((rc = import_sub(im, ids[i], np, "else_branch", 1)) != RC_OK) goto fail;
    } else if ((rc = import_sub(im, ids[i], np, "body", 0)) != RC_OK) {
      goto fail;
    }
    rc = RC_BADINPUT;
    if (!check_subs(im, &m->nodes[ids[i]], np)) goto fail;
  }
  for (size_t i = 0; i < g->n_output; i++) {
    const char *on = g->output[i]->name;
    TensorId t = on ? name_resolve(im, on) : 0;
    if (!t) {
      diag_error(d, m->scope, "graph output '%s' is not defined by any node, input or initializer",
                 on ? on : "");
      goto fail;
    }
    if (!model_add_output(m, t)) goto oom;
  }
  if (g->n_output == 0) {
    diag_error(d, m->scope, "the graph has no outputs");
    goto fail;
  }

  if (im->o->allow_unsupported) {
    /* Host-only outputs take the types the model declares for them. */
    for (size_t i = 0; i < g->n_value_info + g->n_output; i++) {
      const Onnx__ValueInfoProto *vi =
          i < g->n_value_info ? g->value_info[i] : g->output[i - g->n_value_info];
      TensorId t = vi->name ? name_find(im, vi->name) : 0;
      if (!t || m->tensors[t].kind != TK_VALUE || m->tensors[t].rank >= 0) continue;
      NodeId p = m->tensors[t].producer;
      if (!p || !m->nodes[p].host_only) continue;
      Tensor *T = &m->tensors[t];
      const char *params[NAASC_MAX_RANK];
      if (!value_info_type(im, vi, vi->name, &T->dtype, &T->rank, T->dims, params)) goto fail;
    }
  }
  if (is_main && im->nunsup) {
    for (int i = 0; i < im->nunsup; i++) {
      Unsupported *u = &im->unsup[i];
      char list[200] = "";
      size_t k = 0;
      for (int j = 0; j < u->count && j < 4 && k < sizeof list; j++)
        k += (size_t)snprintf(list + k, sizeof list - k, "%s'%s'", j ? ", " : "", u->names[j]);
      if (u->count > 4 && k < sizeof list) snprintf(list + k, sizeof list - k, ", ...");
      /* "unsupported op 'FooOp' (...)", "unsupported op 'Bernoulli', a random op ... (...)"
       * or "unsupported Resize attribute mode='cubic' (...)" */
      const char *what = strcmp(u->what, "op") == 0 ? arena_printf(&m->arena, "op '%s'", u->op)
                         : strncmp(u->what, "op:", 3) == 0
                             ? arena_printf(&m->arena, "op '%s', %s", u->op, u->what + 3)
                             : arena_printf(&m->arena, "%s %s", u->op, u->what);
      if (im->o->allow_unsupported)
        diag_warn(d, NULL, "unsupported %s (%d node%s: %s); running on the host", what, u->count,
                  u->count == 1 ? "" : "s", list);
      else
        diag_error(d, NULL, "unsupported %s (%d node%s: %s)", what, u->count,
                   u->count == 1 ? "" : "s", list);
    }
    if (!im->o->allow_unsupported) {
      diag_note(d, NULL, "--allow-unsupported runs these nodes on the host");
      goto fail;
    }
    mark_host(m);
  }
  xfree(ids);
  ids = NULL;

  if ((rc = graph_toposort(m, d)) != RC_OK) return rc;
  if ((rc = graph_check(m, d)) != RC_OK) return rc;
  if (!is_main) return RC_OK; /* inferred with its owner */
  if ((rc = graph_infer(m, d)) != RC_OK) return rc;
  graph_prune(m);
  return RC_OK;
oom:
  diag_error(d, NULL, "out of memory");
  rc = RC_INTERNAL;
fail:
  xfree(ids);
  return rc;
}

static Rc import_model(Importer *im, const Onnx__ModelProto *mp) {
  Model *m = im->m;
  Diag *d = im->d;
  if (!mp->has_ir_version || mp->ir_version < NAASC_IR_VERSION_MIN ||
      mp->ir_version > NAASC_IR_VERSION_MAX) {
    diag_error(d, NULL, "IR version %" PRId64 " is not supported (naasc reads %d to %d)",
               mp->has_ir_version ? mp->ir_version : (int64_t)0, NAASC_IR_VERSION_MIN,
               NAASC_IR_VERSION_MAX);
    return RC_BADINPUT;
  }
  m->ir_version = mp->ir_version;
  im->opset = -1;
  for (size_t i = 0; i < mp->n_opset_import; i++) {
    const char *dom = mp->opset_import[i]->domain;
    if (!dom || !*dom || strcmp(dom, "ai.onnx") == 0) im->opset = mp->opset_import[i]->version;
  }
  if (im->opset < NAASC_OPSET_OLDEST || im->opset > NAASC_OPSET_MAX) {
    if (im->opset < 0 && mp->n_opset_import && mp->opset_import[0]->domain &&
        strcmp(mp->opset_import[0]->domain, "ai.onnx.preview.training") == 0)
      diag_error(d, NULL,
                 "the model imports only the domain ai.onnx.preview.training: training ops "
                 "are not supported");
    else if (im->opset < 0)
      diag_error(d, NULL, "the model imports no version of the default ONNX opset");
    else
      diag_error(d, NULL, "opset %" PRId64 " is not supported (naasc reads opsets %d to %d)",
                 im->opset, NAASC_OPSET_MIN, NAASC_OPSET_MAX);
    return RC_BADINPUT;
  }
  m->opset = im->opset;
  m->producer = arena_strdup(&m->arena, mp->producer_name ? mp->producer_name : "");
  im->mp = mp;
  if (!mp->graph) {
    diag_error(d, NULL, "the model has no graph");
    return RC_BADINPUT;
  }
  return import_graph(im, mp->graph);
}

Rc onnx_import_buffer(const uint8_t *buf, size_t len, const char *dir, const ImportOptions *o,
                      Model **out, Diag *d) {
  *out = NULL;
  ImportOptions def;
  if (!o) {
    import_options_default(&def);
    o = &def;
  }
  if (len == 0) {
    diag_error(d, NULL, "the file is empty, not an ONNX model");
    return RC_BADINPUT;
  }
  Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, len, buf);
  if (!mp) {
    diag_error(d, NULL,
               "not a valid ONNX model: the protobuf does not parse (truncated or not "
               "ONNX)");
    return RC_BADINPUT;
  }
  Importer im = {0};
  im.d = d;
  im.o = o;
  im.dir = dir;
  im.m = model_create("main");
  Rc rc = RC_INTERNAL;
  if (!im.m) goto done;
  im.m->source = arena_strdup(&im.m->arena, d ? d->file : NULL);
  int before = d ? d->nerrors : 0;
  rc = import_model(&im, mp);
  if (rc == RC_OK && d && d->nerrors > before) rc = RC_BADINPUT;
done:
  onnx__model_proto__free_unpacked(mp, NULL);
  xfree(im.slots);
  xfree(im.unsup);
  if (rc != RC_OK) {
    model_destroy(im.m);
    return rc;
  }
  *out = im.m;
  return RC_OK;
}

Rc onnx_import(const char *path, const ImportOptions *o, Model **out, Diag *d) {
  const uint8_t *buf;
  size_t len;
  *out = NULL;
  /* Mapped, not read: protobuf-c copies each payload out of the mapping,
   * and the model takes that copy (take_raw_data): one copy in all. */
  Rc rc = file_map(path, MAX_MODEL_BYTES, &buf, &len, d);
  if (rc != RC_OK) return rc;
  char *dir = strdup(path);
  char *slash = dir ? strrchr(dir, '/') : NULL;
  if (slash)
    *slash = 0;
  else if (dir) {
    free(dir);
    dir = strdup(".");
  }
  rc = dir ? onnx_import_buffer(buf, len, dir, o, out, d) : RC_INTERNAL;
  free(dir);
  file_unmap(buf, len);
  return rc;
}

Rc onnx_read_tensor_file(const char *path, Model *m, const char *name, TensorId *out, Diag *d) {
  uint8_t *buf;
  size_t len;
  *out = 0;
  Rc rc = file_read_all(path, MAX_MODEL_BYTES, &buf, &len, d);
  if (rc != RC_OK) return rc;
  Onnx__TensorProto *tp = len ? onnx__tensor_proto__unpack(NULL, len, buf) : NULL;
  xfree(buf);
  if (!tp) {
    diag_error(d, NULL, "not a serialized ONNX TensorProto");
    return RC_BADINPUT;
  }
  Importer im = {0};
  im.m = m;
  im.d = d;
  im.dir = NULL;
  const char *tname = name ? name : (tp->name && *tp->name ? tp->name : "tensor");
  *out = tensor_from_proto(&im, tp, tname, arena_printf(&m->arena, "tensor '%s'", tname));
  xfree(im.unsup);
  onnx__tensor_proto__free_unpacked(tp, NULL);
  return *out ? RC_OK : RC_BADINPUT;
}

/* ---- export ------------------------------------------------------------ */

/* The graphs being written, innermost last: a subgraph's TK_OUTER tensor
 * is named by its owner's input in the enclosing graph. */
typedef struct {
  const Model *g;
  const Node *owner; /* in the enclosing frame's graph; NULL for the main graph */
} WFrame;

typedef struct {
  Arena a; /* everything the ModelProto points to */
  Onnx__TensorProto **inits;
  size_t ninits, capinits;
  const Model *m;
  int64_t opset; /* the opset written */
  WFrame frames[16];
  int nframes;
  bool oom;
  const char *err; /* a node that cannot be written, and why */
} Writer;

/* The written name of tensor t of the innermost graph. */
static const char *w_name(const Writer *w, int frame, TensorId t) {
  const Model *g = w->frames[frame].g;
  const Tensor *T = &g->tensors[t];
  if (T->kind != TK_OUTER || frame == 0) return T->name;
  const Node *own = w->frames[frame].owner;
  if ((int)T->outer >= own->nin || !own->in[T->outer]) return T->name;
  return w_name(w, frame - 1, own->in[T->outer]);
}

static void *wnew(Writer *w, size_t n) {
  void *p = arena_alloc(&w->a, n);
  if (!p) w->oom = true;
  return p;
}

static Onnx__TensorProto *w_tensor(Writer *w, const char *name, DType dt, int rank,
                                   const int64_t *dims, const void *data) {
  Onnx__TensorProto *tp = wnew(w, sizeof *tp);
  if (!tp) return NULL;
  onnx__tensor_proto__init(tp);
  tp->name = arena_strdup(&w->a, name);
  tp->has_data_type = 1;
  tp->data_type = dt;
  tp->n_dims = (size_t)rank;
  tp->dims = wnew(w, sizeof(int64_t) * (size_t)(rank ? rank : 1));
  int64_t numel = 1;
  for (int i = 0; i < rank && tp->dims; i++) {
    tp->dims[i] = dims[i];
    numel *= dims[i];
  }
  tp->has_raw_data = 1;
  tp->raw_data.len = (size_t)numel * dtype_size(dt);
  tp->raw_data.data = (uint8_t *)data;
  return tp;
}

static bool w_add_init(Writer *w, Onnx__TensorProto *tp) {
  if (!tp) return false;
  if (w->ninits == w->capinits) {
    size_t nc = w->capinits ? 2 * w->capinits : 64;
    Onnx__TensorProto **p = xrealloc(w->inits, nc * sizeof *p);
    if (!p) return w->oom = true, false;
    w->inits = p;
    w->capinits = nc;
  }
  w->inits[w->ninits++] = tp;
  return true;
}

/* A small i64 or f32 constant input made for the exporter. */
static const char *w_const(Writer *w, const char *node, const char *what, DType dt, int64_t n,
                           const void *vals) {
  const char *name = arena_printf(&w->a, "%s.%s", node, what);
  void *data = wnew(w, (size_t)(n ? n : 1) * dtype_size(dt));
  if (!name || !data) return NULL;
  memcpy(data, vals, (size_t)n * dtype_size(dt));
  w_add_init(w, w_tensor(w, name, dt, 1, &n, data));
  return name;
}

static Onnx__ValueInfoProto *w_value_info(Writer *w, const Tensor *t) {
  Onnx__ValueInfoProto *vi = wnew(w, sizeof *vi);
  Onnx__TypeProto *tp = wnew(w, sizeof *tp);
  Onnx__TypeProto__Tensor *tt = wnew(w, sizeof *tt);
  Onnx__TensorShapeProto *sh = wnew(w, sizeof *sh);
  if (!vi || !tp || !tt || !sh) return NULL;
  onnx__value_info_proto__init(vi);
  onnx__type_proto__init(tp);
  onnx__type_proto__tensor__init(tt);
  onnx__tensor_shape_proto__init(sh);
  vi->name = (char *)t->name;
  vi->type = tp;
  tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  tp->tensor_type = tt;
  tt->has_elem_type = 1;
  tt->elem_type = t->dtype;
  tt->shape = sh;
  sh->n_dim = (size_t)(t->rank > 0 ? t->rank : 0);
  sh->dim = wnew(w, sizeof(void *) * (sh->n_dim ? sh->n_dim : 1));
  for (size_t i = 0; i < sh->n_dim && sh->dim; i++) {
    Onnx__TensorShapeProto__Dimension *dm = wnew(w, sizeof *dm);
    if (!dm) return NULL;
    onnx__tensor_shape_proto__dimension__init(dm);
    if (t->dims[i] >= 0) {
      dm->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
      dm->dim_value = t->dims[i];
    } else {
      dm->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
      dm->dim_param = (char *)(t->dim_param[i] ? t->dim_param[i] : "?");
    }
    sh->dim[i] = dm;
  }
  return vi;
}

typedef struct {
  Onnx__AttributeProto **v;
  size_t n;
} AttrList;

static Onnx__AttributeProto *w_attr(Writer *w, AttrList *l, const char *name) {
  Onnx__AttributeProto *a = wnew(w, sizeof *a);
  if (!a) return NULL;
  onnx__attribute_proto__init(a);
  a->name = (char *)name;
  l->v[l->n++] = a;
  return a;
}

static void w_ints(Writer *w, AttrList *l, const char *name, const int64_t *v, int n) {
  Onnx__AttributeProto *a = w_attr(w, l, name);
  if (!a) return;
  a->has_type = 1;
  a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
  a->n_ints = (size_t)n;
  a->ints = wnew(w, sizeof(int64_t) * (size_t)(n ? n : 1));
  if (a->ints) memcpy(a->ints, v, sizeof(int64_t) * (size_t)n);
}

static void w_int(Writer *w, AttrList *l, const char *name, int64_t v) {
  Onnx__AttributeProto *a = w_attr(w, l, name);
  if (!a) return;
  a->has_type = 1;
  a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
  a->has_i = 1;
  a->i = v;
}

static void w_float(Writer *w, AttrList *l, const char *name, float v) {
  Onnx__AttributeProto *a = w_attr(w, l, name);
  if (!a) return;
  a->has_type = 1;
  a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
  a->has_f = 1;
  a->f = v;
}

static void w_string(Writer *w, AttrList *l, const char *name, const char *s) {
  Onnx__AttributeProto *a = w_attr(w, l, name);
  if (!a) return;
  a->has_type = 1;
  a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
  a->has_s = 1;
  a->s.data = (uint8_t *)s;
  a->s.len = strlen(s);
}

static Onnx__GraphProto *w_graph(Writer *w, const Model *g, const Node *owner);

/* A one-value (rank 0, or [1] when one) i64 or f32 constant input. */
static const char *w_scalar(Writer *w, const char *node, const char *what, DType dt, double v,
                            bool one_d) {
  const char *name = arena_printf(&w->a, "%s.%s", node, what);
  void *data = wnew(w, 8);
  if (!name || !data) return NULL;
  if (dt == DT_F32) {
    float f = (float)v;
    memcpy(data, &f, 4);
  } else {
    int64_t i = (int64_t)v;
    memcpy(data, &i, 8);
  }
  int64_t one = 1;
  w_add_init(w, w_tensor(w, name, dt, one_d ? 1 : 0, &one, data));
  return name;
}

/* The AttrSpec rows of a node: attributes, or constant inputs in their
 * slots from the written opset on.  Returns the inputs needed. */
static int w_spec(Writer *w, const Node *n, Onnx__NodeProto *np, AttrList *al) {
  int ns, need = (int)np->n_input;
  const AttrSpec *s = op_attr_specs(n->op, &ns);
  const Attrs *a = &n->a;
  for (int r = 0; r < ns; r++) {
    const AttrSpec *sp = &s[r];
    const void *p = (const char *)a + sp->off;
    int cnt = sp->count_off ? *(const int *)((const char *)a + sp->count_off) : 0;
    if (sp->has_off && !*(const bool *)((const char *)a + sp->has_off - 1)) continue;
    if (sp->until && w->opset >= sp->until) continue; /* Pad's value: constant_value is an input */
    if (sp->input >= 0 && w->opset >= sp->input_since) {
      const char *nm = NULL;
      /* an optional input at its default stays absent */
      if (!sp->required && ((sp->kind == AK_INT && *(const int64_t *)p == (int64_t)sp->def) ||
                            (sp->kind == AK_FLOAT && *(const float *)p == (float)sp->def)))
        continue;
      if (sp->kind == AK_INT)
        nm = w_scalar(w, n->name, sp->name, DT_I64, (double)*(const int64_t *)p, n->op == OP_TOPK);
      else if (sp->kind == AK_FLOAT)
        nm = w_scalar(w, n->name, sp->name, DT_F32, *(const float *)p, false);
      else if (sp->kind == AK_INTS &&
               (cnt || (strcmp(sp->name, "axes") && strcmp(sp->name, "split"))))
        nm = w_const(w, n->name, sp->name, DT_I64, cnt,
                     p); /* an empty shape or repeats is a value */
      if (!nm) continue; /* an empty list: the input stays absent */
      np->input[sp->input] = (char *)nm;
      if (sp->input + 1 > need) need = sp->input + 1;
      continue;
    }
    if (n->op == OP_ROIALIGN && strcmp(sp->name, "coordinate_transformation_mode") == 0 &&
        w->opset < 16)
      continue; /* before opset 16 the behaviour is output_half_pixel, without the attribute */
    /* attributes added to an op after its first version are written only
     * when not their default, so an older written opset never sees them */
    bool later =
        list_has("layout,noop_with_empty_axes,select_last_index,stash_type,saturate,block_size,"
                 "output_dtype,num_outputs,batch_dims,reduction,coordinate_transformation_mode",
                 sp->name);
    if (later && !sp->has_off &&
        ((sp->kind == AK_INT && *(const int64_t *)p == (int64_t)sp->def) ||
         (sp->kind == AK_BOOL && *(const bool *)p == (sp->def != 0)) ||
         (sp->kind == AK_FLOAT && *(const float *)p == (float)sp->def) ||
         ((sp->kind == AK_ENUM || sp->kind == AK_DTYPE) && *(const int *)p == (int)sp->def)))
      continue;
    switch (sp->kind) {
    case AK_INT: w_int(w, al, sp->name, *(const int64_t *)p); break;
    case AK_BOOL: w_int(w, al, sp->name, *(const bool *)p); break;
    case AK_FLOAT: w_float(w, al, sp->name, *(const float *)p); break;
    case AK_DTYPE:
      if (*(const int *)p) w_int(w, al, sp->name, *(const int *)p);
      break;
    case AK_ENUM: w_string(w, al, sp->name, sp->names[*(const int *)p]); break;
    case AK_INTS:
      if (cnt) w_ints(w, al, sp->name, p, cnt);
      break;
    case AK_LIST_I:
      if (cnt) w_ints(w, al, sp->name, *(const int64_t *const *)p, cnt);
      break;
    case AK_STRING: w_string(w, al, sp->name, *(const char *const *)p); break;
    case AK_FLOATS:
    case AK_LIST_F: {
      if (!cnt) break;
      Onnx__AttributeProto *at = w_attr(w, al, sp->name);
      if (!at) break;
      at->has_type = 1;
      at->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS;
      at->n_floats = (size_t)cnt;
      at->floats = wnew(w, sizeof(float) * (size_t)cnt);
      if (at->floats)
        memcpy(at->floats, sp->kind == AK_FLOATS ? p : *(const float *const *)p,
               sizeof(float) * (size_t)cnt);
      break;
    }
    case AK_ENUMS: {
      if (!cnt) break;
      Onnx__AttributeProto *at = w_attr(w, al, sp->name);
      if (!at) break;
      at->has_type = 1;
      at->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS;
      at->n_strings = (size_t)cnt;
      at->strings = wnew(w, sizeof(ProtobufCBinaryData) * (size_t)cnt);
      for (int i = 0; i < cnt && at->strings; i++) {
        const char *v = sp->names[((const int *)p)[i]];
        at->strings[i].data = (uint8_t *)v;
        at->strings[i].len = strlen(v);
      }
      break;
    }
    case AK_TENSOR: {
      Onnx__AttributeProto *at = w_attr(w, al, sp->name);
      void *data = wnew(w, 8);
      if (!at || !data) break;
      Tensor tmp;
      memset(&tmp, 0, sizeof tmp);
      tmp.dtype = a->value_dtype;
      tmp.rank = 1;
      tmp.dims[0] = 1;
      tmp.data = data;
      int64_t one = 1;
      /* the value in its type, through the element writers of the IR */
      if (a->value_dtype == DT_F32) {
        float f = (float)a->value_f;
        memcpy(data, &f, 4);
      } else if (a->value_dtype == DT_F64)
        memcpy(data, &a->value_f, 8);
      else if (a->value_dtype == DT_I64)
        memcpy(data, &a->value_i, 8);
      else if (a->value_dtype == DT_I32) {
        int32_t v = (int32_t)a->value_i;
        memcpy(data, &v, 4);
      } else if (dtype_size(a->value_dtype) == 1)
        *(uint8_t *)data = (uint8_t)a->value_i;
      else {
        uint16_t v = (uint16_t)a->value_i;
        memcpy(data, &v, 2);
      } /* i16/u16; f16/bf16 keep their bits */
      at->has_type = 1;
      at->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
      at->t = w_tensor(w, arena_printf(&w->a, "%s.value", n->name), a->value_dtype, 1, &one, data);
      break;
    }
    }
  }
  return need;
}

static Onnx__NodeProto *w_node(Writer *w, const Node *n) {
  int fr = w->nframes - 1;
  const Model *m = w->frames[fr].g;
  Onnx__NodeProto *np = wnew(w, sizeof *np);
  if (!np) return NULL;
  onnx__node_proto__init(np);
  np->name = (char *)n->name;
  np->op_type = (char *)(n->op == OP_HOST ? n->onnx_op : op_name(n->op));
  int nin = n->nin - n->ncap; /* captured outer values are not ONNX inputs */
  np->input = wnew(w, sizeof(char *) * (size_t)(n->nin + 8));
  np->output = wnew(w, sizeof(char *) * (size_t)(n->nout ? n->nout : 1));
  AttrList al = {wnew(w, sizeof(void *) * 32), 0};
  if (!np->input || !np->output || !al.v) return NULL;
  for (int i = 0; i < nin + 8; i++) np->input[i] = (char *)"";
  for (int i = 0; i < nin; i++) np->input[i] = (char *)(n->in[i] ? w_name(w, fr, n->in[i]) : "");
  np->n_input = (size_t)nin;
  for (int i = 0; i < n->nout; i++)
    np->output[i] = (char *)(n->out[i] ? m->tensors[n->out[i]].name : "");
  np->n_output = (size_t)n->nout;
  const Attrs *a = &n->a;
  if ((n->op == OP_SOFTMAX || n->op == OP_LOGSOFTMAX || n->op == OP_HARDMAX) && a->coerce2d &&
      n->in[0] && a->axis != m->tensors[n->in[0]].rank - 1) {
    w->err = arena_printf(&w->a,
                          "node '%s': %s of opset %" PRId64 " over axes %" PRId64
                          ".. cannot be written at opset %" PRId64,
                          n->name, op_name(n->op), m->opset, a->axis, w->opset);
    return NULL;
  }
  switch (n->op) {
  case OP_UPSAMPLE: { /* Resize with the Upsample rules: asymmetric, nearest floor */
    const Tensor *x = &m->tensors[n->in[0]];
    np->op_type = (char *)"Resize";
    w_string(w, &al, "mode", a->rz_mode == RZ_LINEAR ? "linear" : "nearest");
    w_string(w, &al, "coordinate_transformation_mode", "asymmetric");
    if (a->rz_mode == RZ_NEAREST) w_string(w, &al, "nearest_mode", "floor");
    np->input[1] = (char *)"";
    np->input[2] = (char *)w_const(w, n->name, "scales", DT_F32, x->rank, a->rz_scales);
    np->n_input = 3;
    break;
  }
  case OP_QLINEARCONV:
  case OP_CONVINTEGER:
    w_ints(w, &al, "kernel_shape", a->kernel, a->nsp);
    w_ints(w, &al, "strides", a->strides, a->nsp);
    w_ints(w, &al, "pads", a->pads, 2 * a->nsp);
    w_ints(w, &al, "dilations", a->dilations, a->nsp);
    w_int(w, &al, "group", a->group);
    break;
  case OP_MAXUNPOOL:
    w_ints(w, &al, "kernel_shape", a->kernel, a->nsp);
    w_ints(w, &al, "strides", a->strides, a->nsp);
    w_ints(w, &al, "pads", a->pads, 2 * a->nsp);
    if (a->nshape) {
      np->input[2] = (char *)w_const(w, n->name, "output_shape", DT_I64, a->nshape, a->shape);
      np->n_input = 3;
    }
    break;
  case OP_PAD:
    if (!(n->nin > 2 && n->in[2]) && a->pad_value != 0) { /* the attribute value of opset < 11 */
      const Tensor *x = &m->tensors[n->in[0]];
      void *v = wnew(w, 8);
      if (!v) return NULL;
      Tensor tmp;
      memset(&tmp, 0, sizeof tmp);
      tmp.dtype = x->dtype;
      if (x->dtype == DT_F32) {
        float f = a->pad_value;
        memcpy(v, &f, 4);
      } else if (x->dtype == DT_F64) {
        double f = a->pad_value;
        memcpy(v, &f, 8);
      } else {
        int64_t i = (int64_t)a->pad_value;
        memcpy(v, &i, dtype_size(x->dtype));
      }
      const char *nm = arena_printf(&w->a, "%s.constant_value", n->name);
      w_add_init(w, w_tensor(w, nm, x->dtype, 0, NULL, v));
      np->input[2] = (char *)nm;
      if (np->n_input < 3) np->n_input = 3;
    }
    break;
  default: break;
  }
  if (n->op == OP_SCATTER)
    np->op_type = (char *)"ScatterElements";     /* Scatter is deprecated at 11 */
  if (n->op > OP_HOST && n->op != OP_UPSAMPLE) { /* Upsample is written as a Resize above */
    int need = w_spec(w, n, np, &al);
    if (need > (int)np->n_input) np->n_input = (size_t)need;
  }
  for (int s = 0; s < 2; s++) {
    if (!n->sub[s]) continue;
    Onnx__AttributeProto *at =
        w_attr(w, &al, n->op == OP_IF ? (s ? "else_branch" : "then_branch") : "body");
    if (!at) return NULL;
    at->has_type = 1;
    at->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH;
    at->g = w_graph(w, &m->subs[n->sub[s]], n);
    if (!at->g) return NULL;
  }
  switch (n->op) {
  case OP_CONV:
  case OP_CONVTRANSPOSE:
  case OP_MAXPOOL:
  case OP_AVGPOOL:
    w_ints(w, &al, "kernel_shape", a->kernel, a->nsp);
    w_ints(w, &al, "strides", a->strides, a->nsp);
    w_ints(w, &al, "pads", a->pads, 2 * a->nsp);
    if (n->op != OP_AVGPOOL) w_ints(w, &al, "dilations", a->dilations, a->nsp);
    if (n->op == OP_CONV || n->op == OP_CONVTRANSPOSE) w_int(w, &al, "group", a->group);
    if (n->op == OP_CONVTRANSPOSE) w_ints(w, &al, "output_padding", a->out_pad, a->nsp);
    if (n->op == OP_AVGPOOL) w_int(w, &al, "count_include_pad", a->count_include_pad);
    if ((n->op == OP_MAXPOOL || n->op == OP_AVGPOOL) && a->ceil_mode) w_int(w, &al, "ceil_mode", 1);
    break;
  case OP_GEMM:
    w_float(w, &al, "alpha", a->alpha);
    w_float(w, &al, "beta", a->beta);
    w_int(w, &al, "transA", a->trans_a);
    w_int(w, &al, "transB", a->trans_b);
    break;
  case OP_LEAKYRELU: w_float(w, &al, "alpha", a->alpha); break;
  case OP_HARDSIGMOID:
    w_float(w, &al, "alpha", a->alpha);
    w_float(w, &al, "beta", a->beta);
    break;
  case OP_BATCHNORM: w_float(w, &al, "epsilon", a->epsilon); break;
  case OP_CONCAT:
  case OP_FLATTEN:
  case OP_GATHER:
  case OP_SOFTMAX: w_int(w, &al, "axis", a->axis); break;
  case OP_TRANSPOSE: w_ints(w, &al, "perm", a->axes, a->naxes); break;
  case OP_REDUCEMEAN:
    if (w->opset >= 18) {
      if (a->naxes > 0) {
        np->input[1] = (char *)w_const(w, n->name, "axes", DT_I64, a->naxes, a->axes);
        np->n_input = 2;
      }
    } else {
      w_ints(w, &al, "axes", a->axes, a->naxes);
    }
    w_int(w, &al, "keepdims", a->keepdims);
    if (a->noop_empty) w_int(w, &al, "noop_with_empty_axes", 1);
    break;
  case OP_CAST: w_int(w, &al, "to", a->to); break;
  case OP_CLIP: {
    if (n->nin - n->ncap > 1) break; /* bounds computed at run time: the inputs as they are */
    /* opset 13: the bounds are rank-0 inputs. */
    const char *lo = arena_printf(&w->a, "%s.min", n->name);
    const char *hi = arena_printf(&w->a, "%s.max", n->name);
    DType xt = m->tensors[n->in[0]].dtype; /* the bounds in the input's type */
    size_t es = dtype_size(xt);
    void *v = wnew(w, 2 * es);
    if (!lo || !hi || !v) return NULL;
    HostTensor ht;
    memset(&ht, 0, sizeof ht);
    ht.dtype = xt;
    ht.rank = 1;
    ht.dims[0] = 2;
    ht.data = v;
    for (int k = 0; k < 2; k++) {
      double b = k ? a->clip_max : a->clip_min;
      bool fl = xt == DT_F32 || xt == DT_F64 || xt == DT_F16 || xt == DT_BF16;
      if (!fl) { /* saturated to the integer type */
        bool uns = xt == DT_U8 || xt == DT_U16 || xt == DT_U32 || xt == DT_U64 || xt == DT_BOOL;
        double lo_t = uns ? 0 : es == 8 ? -9.2e18 : -ldexp(1, 8 * (int)es - 1);
        double hi_t = es == 8 ? 9.2e18
                      : uns   ? ldexp(1, 8 * (int)es) - 1
                              : ldexp(1, 8 * (int)es - 1) - 1;
        b = b < lo_t ? lo_t : b > hi_t ? hi_t : b;
      }
      host_put_f(&ht, k, b);
    }
    w_add_init(w, w_tensor(w, lo, xt, 0, NULL, v));
    w_add_init(w, w_tensor(w, hi, xt, 0, NULL, (char *)v + es));
    np->input[1] = (char *)lo;
    np->input[2] = (char *)hi;
    np->n_input = 3;
    break;
  }
  case OP_SLICE:
    np->input[1] = (char *)w_const(w, n->name, "starts", DT_I64, a->naxes, a->starts);
    np->input[2] = (char *)w_const(w, n->name, "ends", DT_I64, a->naxes, a->ends);
    np->input[3] = (char *)w_const(w, n->name, "axes", DT_I64, a->naxes, a->axes);
    np->input[4] = (char *)w_const(w, n->name, "steps", DT_I64, a->naxes, a->steps);
    np->n_input = 5;
    break;
  case OP_SQUEEZE:
  case OP_UNSQUEEZE:
    np->input[1] = (char *)w_const(w, n->name, "axes", DT_I64, a->naxes, a->axes);
    np->n_input = 2;
    break;
  case OP_RESHAPE: {
    const Tensor *o = &m->tensors[n->out[0]];
    np->input[1] = (char *)w_const(w, n->name, "shape", DT_I64, o->rank, o->dims);
    np->n_input = 2;
    break;
  }
  case OP_RESIZE: {
    static const char *const modes[] = {"nearest", "linear", "cubic"};
    static const char *const coords[] = {"half_pixel",           "asymmetric",
                                         "align_corners",        "pytorch_half_pixel",
                                         "tf_half_pixel_for_nn", "tf_crop_and_resize"};
    static const char *const nears[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
    w_string(w, &al, "mode", modes[a->rz_mode]);
    if (a->rz_mode == RZ_NEAREST) w_string(w, &al, "nearest_mode", nears[a->rz_nearest]);
    w_string(w, &al, "coordinate_transformation_mode", coords[a->rz_coord]);
    if (a->rz_mode == RZ_CUBIC) {
      w_float(w, &al, "cubic_coeff_a", a->rz_cubic_a);
      if (a->rz_exclude_outside) w_int(w, &al, "exclude_outside", 1);
    }
    const Tensor *x = &m->tensors[n->in[0]];
    np->input[1] = (char *)"";
    if (a->rz_coord == RZC_TF_CROP_AND_RESIZE) {
      w_float(w, &al, "extrapolation_value", a->rz_extrapolation);
      np->input[1] = (char *)w_const(w, n->name, "roi", DT_F32, 2 * x->rank, a->rz_roi);
    }
    if (a->rz_from_sizes) {
      np->input[2] = (char *)"";
      np->input[3] =
          (char *)w_const(w, n->name, "sizes", DT_I64, x->rank, m->tensors[n->out[0]].dims);
      np->n_input = 4;
      break;
    }
    np->input[2] = (char *)w_const(w, n->name, "scales", DT_F32, x->rank, a->rz_scales);
    np->n_input = 3;
    break;
  }
  default: break;
  }
  np->attribute = al.v;
  np->n_attribute = al.n;
  return np;
}

/* A graph as a GraphProto, its constants as its initializers.  NULL (with
 * w->err set, or w->oom) if it cannot be written. */
static Onnx__GraphProto *w_graph(Writer *w, const Model *m, const Node *owner) {
  if (w->nframes == (int)(sizeof w->frames / sizeof w->frames[0])) {
    w->err = "subgraphs nest too deep to write";
    return NULL;
  }
  w->frames[w->nframes].g = m;
  w->frames[w->nframes].owner = owner;
  w->nframes++;
  Onnx__TensorProto **saved = w->inits; /* a subgraph's initializers are its own */
  size_t nsaved = w->ninits, csaved = w->capinits;
  w->inits = NULL;
  w->ninits = w->capinits = 0;
  Onnx__GraphProto *g = wnew(w, sizeof *g);
  if (!g) goto out;
  onnx__graph_proto__init(g);
  g->name = (char *)m->name;
  for (uint32_t i = 1; i < m->ntensors; i++) {
    const Tensor *t = &m->tensors[i];
    if (t->kind != TK_CONST || (graph_uses(m, i) == 0 && !t->is_output)) continue;
    if (!t->data) {
      w->err = arena_printf(&w->a, "constant '%s' has no data to write", t->name);
      g = NULL;
      goto out;
    }
    w_add_init(w, w_tensor(w, t->name, t->dtype, t->rank, t->dims, t->data));
  }
  g->input = wnew(w, sizeof(void *) * (m->ninputs + 1));
  for (uint32_t i = 0; i < m->ninputs && g->input;
       i++) /* an input bound to a constant is an initializer */
    if (m->tensors[m->inputs[i]].kind == TK_INPUT)
      g->input[g->n_input++] = w_value_info(w, &m->tensors[m->inputs[i]]);
  g->node = wnew(w, sizeof(void *) * (m->nnodes + m->noutputs));
  g->n_output = m->noutputs;
  g->output = wnew(w, sizeof(void *) * (m->noutputs + 1));
  for (uint32_t i = 0; i < m->noutputs && g->output && g->node; i++) {
    const Tensor *t = &m->tensors[m->outputs[i]];
    Onnx__ValueInfoProto *vi = w_value_info(w, t);
    if (vi && t->kind == TK_OUTER && owner) { /* an outer value as a result: through an Identity */
      Onnx__NodeProto *np = wnew(w, sizeof *np);
      char **io = wnew(w, 2 * sizeof(char *));
      if (!np || !io) break;
      onnx__node_proto__init(np);
      vi->name = arena_printf(&w->a, "%s.out%u", t->name, i);
      io[0] = (char *)w_name(w, w->nframes - 1, m->outputs[i]);
      io[1] = vi->name;
      np->op_type = (char *)"Identity";
      np->name = vi->name;
      np->input = io;
      np->n_input = 1;
      np->output = io + 1;
      np->n_output = 1;
      g->node[g->n_node++] = np;
    }
    g->output[i] = vi;
  }
  for (uint32_t i = 1; i < m->nnodes && g->node; i++) {
    const Node *n = &m->nodes[i];
    if (n->dead) continue;
    if (n->act || n->bn_folded) {
      w->err = arena_printf(&w->a, "node '%s': fused nodes cannot be written as ONNX", n->name);
      g = NULL;
      goto out;
    }
    Onnx__NodeProto *np = w_node(w, n);
    if (!np) {
      g = NULL;
      goto out;
    }
    g->node[g->n_node++] = np;
  }
  g->initializer = w->inits;
  g->n_initializer = w->ninits;
  if (owner) { /* the subgraph's list lives in the arena; the main one is the caller's */
    Onnx__TensorProto **v = wnew(w, sizeof(void *) * (w->ninits + 1));
    if (v && w->ninits) memcpy(v, w->inits, sizeof(void *) * w->ninits);
    g->initializer = v;
    xfree(w->inits);
    w->inits = NULL;
  }
out:
  if (owner || !g) {
    xfree(w->inits);
    w->inits = saved;
    w->ninits = nsaved;
    w->capinits = csaved;
  } else {
    xfree(saved);
  }
  w->nframes--;
  return g;
}

/* The opset a model needs: 13, or the newest `since` of its ops. */
static int64_t needed_opset(const Model *m) {
  int64_t v = 13;
  for (uint32_t i = 1; i < m->nnodes; i++) {
    const Node *n = &m->nodes[i];
    if (n->dead) continue;
    int64_t s = n->op == OP_HOST ? 0 : op_since(n->op);
    if (n->op == OP_GROUPNORM && n->a.per_channel) s = 21;
    if ((n->op == OP_LSTM || n->op == OP_GRU || n->op == OP_RNN) && n->a.layout && s < 14) s = 14;
    if ((n->op == OP_SCATTERELEMENTS || n->op == OP_SCATTERND) && n->a.reduction)
      s = n->a.reduction >= SRED_MAX ? 18 : 16;
    if (n->op == OP_PAD && n->a.pad_mode == PADM_WRAP) s = 19;
    if (n->op == OP_REDUCEMEAN && n->a.noop_empty) s = 18;
    if (n->op == OP_ROIALIGN && n->a.roi_coord == ROIC_HALF_PIXEL) s = 16;
    if (s > v) v = s;
    for (int k = 0; k < 2; k++)
      if (n->sub[k] && n->sub[k] < m->nsubs) {
        int64_t u = needed_opset(&m->subs[n->sub[k]]);
        if (u > v) v = u;
      }
  }
  return v;
}

/* The ModelProto of m packed into a heap buffer (*buf, *len; xfree);
 * `what` names the destination in errors. */
static Rc write_model(const Model *m, const char *what, uint8_t **out, size_t *outlen, Diag *d) {
  Writer w = {0};
  arena_init(&w.a);
  w.m = m;
  w.opset =
      needed_opset(m); /* and at least the model's own: types allowed only later (u8 Add, ...) */
  if (m->opset > w.opset && m->opset <= NAASC_OPSET_MAX) w.opset = m->opset;
  Rc rc = RC_INTERNAL;
  uint8_t *buf = NULL;
  Onnx__ModelProto mp;
  Onnx__OperatorSetIdProto opset;
  Onnx__OperatorSetIdProto *opsets[1] = {&opset};
  onnx__model_proto__init(&mp);
  onnx__operator_set_id_proto__init(&opset);
  mp.has_ir_version = 1;
  mp.ir_version = w.opset >= 21 ? 10 : w.opset >= 19 ? 9 : 8;
  mp.producer_name = (char *)"naasc";
  mp.producer_version = (char *)"0.1";
  opset.domain = (char *)"";
  opset.has_version = 1;
  opset.version = w.opset;
  mp.n_opset_import = 1;
  mp.opset_import = opsets;
  mp.graph = w_graph(&w, m, NULL);
  if (!mp.graph) {
    if (w.err) {
      diag_error(d, NULL, "cannot write %s: %s", what, w.err);
      rc = RC_BADINPUT;
    }
    goto done;
  }
  if (w.oom) goto done;
  size_t len = onnx__model_proto__get_packed_size(&mp);
  buf = xmalloc(len ? len : 1);
  if (!buf) goto done;
  onnx__model_proto__pack(&mp, buf);
  *out = buf;
  *outlen = len;
  buf = NULL;
  rc = RC_OK;
done:
  if (rc == RC_INTERNAL) diag_error(d, NULL, "out of memory writing %s", what);
  xfree(buf);
  xfree(w.inits);
  arena_free(&w.a);
  return rc;
}

Rc onnx_write(const Model *m, const char *path, Diag *d) {
  uint8_t *buf = NULL;
  size_t len = 0;
  Arena a;
  arena_init(&a);
  const char *what = arena_printf(&a, "'%s'", path);
  Rc rc = what ? write_model(m, what, &buf, &len, d) : RC_INTERNAL;
  if (!what) diag_error(d, NULL, "out of memory writing '%s'", path);
  if (rc == RC_OK) rc = file_write_atomic(path, buf, len, d);
  xfree(buf);
  arena_free(&a);
  return rc;
}

Rc onnx_encode_node(const Model *g, const Node *n, uint8_t **out, size_t *outlen, Diag *d) {
  *out = NULL;
  *outlen = 0;
  Model *mini = model_create(n->name);
  TensorId *map = xcalloc(g->ntensors + 1, sizeof *map);
  TensorId *ins = xcalloc((size_t)n->nin + 1, sizeof *ins);
  TensorId *outs = xcalloc((size_t)n->nout + 1, sizeof *outs);
  Rc rc = RC_INTERNAL;
  if (!mini || !map || !ins || !outs) goto oom;
  mini->opset = g->opset;
  mini->ir_version = g->ir_version;
  for (int k = 0; k < n->nin; k++) {
    TensorId t = n->in[k];
    if (!t) continue;
    if (!map[t]) {
      const Tensor *T = &g->tensors[t];
      bool cst = T->kind == TK_CONST && T->data;
      map[t] =
          model_add_tensor(mini, T->name, T->dtype, T->rank, T->dims, cst ? TK_CONST : TK_INPUT);
      if (!map[t]) goto oom;
      if (cst) mini->tensors[map[t]].data = T->data; /* g's payload, not copied */
      if (!cst && !model_add_input(mini, map[t])) goto oom;
    }
    ins[k] = map[t];
  }
  for (int k = 0; k < n->nout; k++) {
    TensorId t = n->out[k];
    if (!t) continue;
    const Tensor *T = &g->tensors[t];
    if (!map[t]) map[t] = model_add_tensor(mini, T->name, T->dtype, T->rank, T->dims, TK_VALUE);
    if (!map[t] || !model_add_output(mini, map[t])) goto oom;
    outs[k] = map[t];
  }
  NodeId id = model_add_node(mini, n->op, n->name, n->nin, ins, n->nout, outs);
  if (!id) goto oom;
  Node *c = &mini->nodes[id];
  c->onnx_op = n->onnx_op;
  c->a = n->a;
  c->act = n->act;
  c->act_a = n->act_a;
  c->bn_folded = n->bn_folded;
  c->ncap = n->ncap;
  c->sub[0] = n->sub[0];
  c->sub[1] = n->sub[1];
  /* The subgraphs are g's, lent for the write (ids unchanged). */
  mini->subs = g->subs;
  mini->nsubs = g->nsubs;
  const char *what = arena_printf(&mini->arena, "host node '%s'", n->name);
  rc = what ? write_model(mini, what, out, outlen, d) : RC_INTERNAL;
  mini->subs = NULL;
  mini->nsubs = 0;
  if (!what) goto oom;
  model_destroy(mini);
  xfree(map), xfree(ins), xfree(outs);
  return rc;
oom:
  if (mini) mini->subs = NULL, mini->nsubs = 0;
  model_destroy(mini);
  xfree(map), xfree(ins), xfree(outs);
  diag_error(d, n->name, "out of memory encoding the host node");
  return RC_INTERNAL;
}
