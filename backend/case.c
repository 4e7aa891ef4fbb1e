/*
 * case.c: the readers of backend/: Timeloop validation cases (format
 * "dnn-accel-costmodel-validation/1", documented in section 3 of
 * tests/data/timeloop/README.md) into a CostCase, and naasc's YAML
 * architecture, problem and mapping files (docs/cost-model.md, "Input
 * files").  Both go through libyaml's document loader (JSON is YAML's flow
 * style), which gives every node a line and column for the messages.
 *
 * Invariants: every error names the file, the line:column of the offending
 * node and the key path ("arch.levels[2].instances"); in a case file, keys
 * the model does not use (descriptions, Timeloop's inputs, network
 * statistics) are skipped, while in naasc's own YAML files an unknown key is
 * an error; the structs filled are plain data and own nothing.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#include "backend/backend.h"

typedef struct {
  yaml_document_t doc;
  Diag *d;
  int nerr;
} Reader;

/* Reports an error at node n (or at no line if n is NULL). */
static void rd_error(Reader *r, const yaml_node_t *n, const char *ctx, const char *key,
                     const char *msg) {
  char where[32];
  if (n) snprintf(where, sizeof where, "%zu:%zu", n->start_mark.line + 1, n->start_mark.column + 1);
  diag_error(r->d, n ? where : NULL, "'%s%s%s': %s", ctx,
             (ctx[0] && key[0] && key[0] != '[') ? "." : "", key, msg);
  r->nerr++;
}

static const char *scalar(const yaml_node_t *n) {
  return (n && n->type == YAML_SCALAR_NODE) ? (const char *)n->data.scalar.value : NULL;
}

static bool is_null(const yaml_node_t *n) {
  const char *s = scalar(n);
  return s && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
         (strcmp(s, "null") == 0 || strcmp(s, "~") == 0 || s[0] == 0);
}

/* Value of key in mapping m, or NULL (reported unless optional). */
static yaml_node_t *get(Reader *r, yaml_node_t *m, const char *ctx, const char *key,
                        bool optional) {
  if (!m || m->type != YAML_MAPPING_NODE) return NULL;
  for (yaml_node_pair_t *pr = m->data.mapping.pairs.start; pr < m->data.mapping.pairs.top; pr++) {
    const char *k = scalar(yaml_document_get_node(&r->doc, pr->key));
    if (k && strcmp(k, key) == 0) return yaml_document_get_node(&r->doc, pr->value);
  }
  if (!optional) rd_error(r, m, ctx, key, "missing");
  return NULL;
}

static yaml_node_t *get_kind(Reader *r, yaml_node_t *m, const char *ctx, const char *key,
                             yaml_node_type_t kind, bool optional) {
  yaml_node_t *n = get(r, m, ctx, key, optional);
  if (n && n->type != kind) {
    rd_error(r, n, ctx, key,
             kind == YAML_MAPPING_NODE    ? "expected an object"
             : kind == YAML_SEQUENCE_NODE ? "expected a list"
                                          : "expected a scalar");
    return NULL;
  }
  return n;
}

static int seq_len(const yaml_node_t *n) {
  return n ? (int)(n->data.sequence.items.top - n->data.sequence.items.start) : 0;
}

static yaml_node_t *seq_at(Reader *r, const yaml_node_t *n, int i) {
  return yaml_document_get_node(&r->doc, n->data.sequence.items.start[i]);
}

/* Parses an integer scalar (integral floats such as 1.0 accepted). */
static bool parse_int(const yaml_node_t *n, int64_t *out) {
  const char *s = scalar(n);
  if (!s || !*s || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return false;
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (!*end && !errno) return *out = v, true;
  double dv = strtod(s, &end);
  if (*end || !isfinite(dv) || dv != floor(dv) || fabs(dv) > 9e18) return false;
  *out = (int64_t)dv;
  return true;
}

static bool parse_num(const yaml_node_t *n, double *out) {
  const char *s = scalar(n);
  if (!s || !*s || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return false;
  char *end;
  double v = strtod(s, &end);
  if (*end || !isfinite(v)) return false;
  *out = v;
  return true;
}

/* An integer field; with null_ok a JSON null reads as 0. */
static int64_t get_int(Reader *r, yaml_node_t *m, const char *ctx, const char *key, bool null_ok) {
  yaml_node_t *n = get(r, m, ctx, key, false);
  int64_t v = 0;
  if (!n) return 0;
  if (null_ok && is_null(n)) return 0;
  if (!parse_int(n, &v)) rd_error(r, n, ctx, key, "expected an integer");
  return v;
}

static double get_num(Reader *r, yaml_node_t *m, const char *ctx, const char *key, bool null_ok) {
  yaml_node_t *n = get(r, m, ctx, key, false);
  double v = 0;
  if (!n) return 0;
  if (null_ok && is_null(n)) return 0;
  if (!parse_num(n, &v)) rd_error(r, n, ctx, key, "expected a number");
  return v;
}

static void get_str(Reader *r, yaml_node_t *m, const char *ctx, const char *key, char *buf,
                    size_t size) {
  yaml_node_t *n = get(r, m, ctx, key, false);
  buf[0] = 0;
  if (!n) return;
  const char *s = scalar(n);
  if (!s) {
    rd_error(r, n, ctx, key, "expected a string");
    return;
  }
  if (strlen(s) >= size) {
    rd_error(r, n, ctx, key, "too long");
    return;
  }
  memcpy(buf, s, strlen(s) + 1);
}

/* A list of tensor letters ["W","I"] as a mask. */
static uint8_t get_tensors(Reader *r, yaml_node_t *m, const char *ctx, const char *key) {
  yaml_node_t *n = get_kind(r, m, ctx, key, YAML_SEQUENCE_NODE, false);
  uint8_t mask = 0;
  for (int i = 0; n && i < seq_len(n); i++) {
    yaml_node_t *e = seq_at(r, n, i);
    const char *s = scalar(e);
    int t = (s && s[0] && !s[1]) ? accel_tensor_from_letter(s[0]) : -1;
    if (t < 0)
      rd_error(r, e, ctx, key, "expected tensor letters W, I, O");
    else
      mask |= (uint8_t)(1u << t);
  }
  return mask;
}

/* An order string such as "GQNSRKCP" (all eight, or with only_some the
 * dims with factor > 1, the rest following in GNKCPQRS order). */
static void get_order(Reader *r, yaml_node_t *m, const char *ctx, const char *key, bool only_some,
                      uint8_t order[NDIMS]) {
  for (int i = 0; i < NDIMS; i++) order[i] = (uint8_t)i;
  yaml_node_t *n = get(r, m, ctx, key, false);
  const char *s = scalar(n);
  if (!n) return;
  if (!s) {
    rd_error(r, n, ctx, key, "expected a string of dimension letters");
    return;
  }
  uint8_t seen = 0;
  int k = 0;
  for (; s[k]; k++) {
    int dd = accel_dim_from_letter(s[k]);
    if (dd < 0 || (seen >> dd & 1) || k >= NDIMS) {
      rd_error(r, n, ctx, key, "not a permutation of dimension letters GNKCPQRS");
      return;
    }
    seen |= (uint8_t)(1u << dd);
    order[k] = (uint8_t)dd;
  }
  if (!only_some && k != NDIMS) {
    rd_error(r, n, ctx, key, "must list all eight dimensions");
    return;
  }
  for (int dd = 0; dd < NDIMS; dd++)
    if (!(seen >> dd & 1)) order[k++] = (uint8_t)dd;
}

/* Per-dim factors: {"G":1, ..., "Q":[5,2]}; missing dims are 1 unless
 * all_dims, where every dim must be there. */
static void get_factors(Reader *r, yaml_node_t *m, const char *ctx, const char *key, bool all_dims,
                        bool allow_rem, int64_t f[NDIMS], int64_t rem[NDIMS]) {
  for (int i = 0; i < NDIMS; i++) f[i] = 1, rem[i] = 0;
  yaml_node_t *n = get_kind(r, m, ctx, key, YAML_MAPPING_NODE, false);
  if (!n) return;
  char sub[96];
  snprintf(sub, sizeof sub, "%s%s%s", ctx, ctx[0] ? "." : "", key);
  uint8_t seen = 0;
  for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
    yaml_node_t *kn = yaml_document_get_node(&r->doc, pr->key);
    yaml_node_t *vn = yaml_document_get_node(&r->doc, pr->value);
    const char *k = scalar(kn);
    int dd = (k && k[0] && !k[1]) ? accel_dim_from_letter(k[0]) : -1;
    if (dd < 0) {
      rd_error(r, kn, sub, k ? k : "?", "not a dimension letter (GNKCPQRS)");
      continue;
    }
    seen |= (uint8_t)(1u << dd);
    if (vn->type == YAML_SEQUENCE_NODE && allow_rem && seq_len(vn) == 2 &&
        parse_int(seq_at(r, vn, 0), &f[dd]) && parse_int(seq_at(r, vn, 1), &rem[dd]))
      continue;
    if (!parse_int(vn, &f[dd]))
      rd_error(r, vn, sub, k,
               allow_rem ? "expected an integer or [factor, remainder]" : "expected an integer");
  }
  if (all_dims && seen != ACCEL_ALL_DIMS)
    rd_error(r, n, ctx, key, "must give all eight dimensions");
}

static int level_index(const Arch *a, const char *name) {
  for (int l = 0; l < a->nlevels; l++)
    if (strcmp(a->level[l].name, name) == 0) return l;
  return -1;
}

static void read_problem(Reader *r, yaml_node_t *root, Problem *p) {
  yaml_node_t *pn = get_kind(r, root, "", "problem", YAML_MAPPING_NODE, false);
  if (!pn) return;
  get_str(r, pn, "problem", "name", p->name, sizeof p->name);
  yaml_node_t *dims = get_kind(r, pn, "problem", "dims", YAML_MAPPING_NODE, false);
  for (int dd = 0; dims && dd < NDIMS; dd++) {
    char k[2] = {accel_dim_letter(dd), 0};
    p->dim[dd] = get_int(r, dims, "problem.dims", k, false);
  }
  const char *pairs[2] = {"stride", "dilation"};
  for (int i = 0; i < 2; i++) {
    yaml_node_t *s = get_kind(r, pn, "problem", pairs[i], YAML_SEQUENCE_NODE, false);
    int64_t *dst = i ? p->dilation : p->stride;
    if (s && seq_len(s) == 2) {
      for (int k = 0; k < 2; k++)
        if (!parse_int(seq_at(r, s, k), &dst[k]))
          rd_error(r, seq_at(r, s, k), "problem", pairs[i], "expected an integer");
    } else if (s) {
      rd_error(r, s, "problem", pairs[i], "expected [along P/R, along Q/S]");
    }
  }
}

static void read_arch(Reader *r, yaml_node_t *root, Arch *a) {
  yaml_node_t *an = get_kind(r, root, "", "arch", YAML_MAPPING_NODE, false);
  if (!an) return;
  get_str(r, an, "arch", "name", a->name, sizeof a->name);
  yaml_node_t *lv = get_kind(r, an, "arch", "levels", YAML_SEQUENCE_NODE, false);
  if (lv && (seq_len(lv) < 1 || seq_len(lv) > ACCEL_MAX_LEVELS)) {
    rd_error(r, lv, "arch", "levels", "expected 1 to 8 storage levels");
    lv = NULL;
  }
  a->nlevels = seq_len(lv);
  for (int l = 0; l < a->nlevels; l++) {
    yaml_node_t *n = seq_at(r, lv, l);
    Level *L = &a->level[l];
    char ctx[48];
    snprintf(ctx, sizeof ctx, "arch.levels[%d]", l);
    if (n->type != YAML_MAPPING_NODE) {
      rd_error(r, n, ctx, "", "expected an object");
      continue;
    }
    get_str(r, n, ctx, "name", L->name, sizeof L->name);
    char tech[32];
    get_str(r, n, ctx, "technology", tech, sizeof tech);
    L->is_dram = strcmp(tech, "DRAM") == 0;
    L->instances = get_int(r, n, ctx, "instances", false);
    L->mesh_x = get_int(r, n, ctx, "mesh_x", false);
    L->mesh_y = get_int(r, n, ctx, "mesh_y", false);
    L->fanout[AXIS_X] = get_int(r, n, ctx, "fanout_x", false);
    L->fanout[AXIS_Y] = get_int(r, n, ctx, "fanout_y", false);
    L->fanout[AXIS_Z] = 1;
    for (int x = 0; x < ACCEL_MAX_AXES; x++) L->connectivity[x] = ACCEL_ALL_DIMS;
    L->word_bits = (int)get_int(r, n, ctx, "word_bits", false);
    L->block_words = get_int(r, n, ctx, "block_size_words", false);
    L->capacity_words = get_int(r, n, ctx, "capacity_words", true);
    L->multiple_buffering = get_num(r, n, ctx, "multiple_buffering", false);
    L->keeps_allowed = get_tensors(r, n, ctx, "keeps_allowed");
    L->read_bw = get_num(r, n, ctx, "read_bandwidth_words_per_cycle", true);
    L->write_bw = get_num(r, n, ctx, "write_bandwidth_words_per_cycle", true);
    L->shared_bw = get_num(r, n, ctx, "shared_bandwidth_words_per_cycle", true);
    yaml_node_t *e = get_kind(r, n, ctx, "energy_pJ_per_block_access", YAML_MAPPING_NODE, false);
    if (e) {
      char ectx[80];
      snprintf(ectx, sizeof ectx, "%s.energy_pJ_per_block_access", ctx);
      L->e_read_pj = get_num(r, e, ectx, "read", false);
      L->e_fill_pj = get_num(r, e, ectx, "fill", false);
      L->e_update_pj = get_num(r, e, ectx, "update", false);
    }
  }
  yaml_node_t *mac = get_kind(r, an, "arch", "mac", YAML_MAPPING_NODE, false);
  if (mac) {
    a->mac_instances = get_int(r, mac, "arch.mac", "instances", false);
    a->mac_mesh_x = get_int(r, mac, "arch.mac", "mesh_x", false);
    a->mac_mesh_y = get_int(r, mac, "arch.mac", "mesh_y", false);
    a->mac_energy_pj = get_num(r, mac, "arch.mac", "energy_pJ_per_mac", false);
  }
}

static void read_mapping(Reader *r, yaml_node_t *root, const Arch *a, Mapping *m) {
  yaml_node_t *mn = get_kind(r, root, "", "mapping", YAML_SEQUENCE_NODE, false);
  if (!mn) return;
  if (seq_len(mn) != a->nlevels) {
    rd_error(r, mn, "", "mapping", "needs one entry per storage level of the arch");
    return;
  }
  m->nlevels = a->nlevels;
  for (int l = 0; l < m->nlevels; l++) {
    yaml_node_t *n = seq_at(r, mn, l);
    LevelMapping *lm = &m->level[l];
    char ctx[40];
    snprintf(ctx, sizeof ctx, "mapping[%d]", l);
    level_mapping_init(lm, 0);
    if (n->type != YAML_MAPPING_NODE) {
      rd_error(r, n, ctx, "", "expected an object");
      continue;
    }
    char name[ACCEL_NAME_MAX];
    get_str(r, n, ctx, "level", name, sizeof name);
    if (name[0] && strcmp(name, a->level[l].name) != 0)
      rd_error(r, get(r, n, ctx, "level", true), ctx, "level",
               "levels must follow arch.levels, outermost first");
    get_factors(r, n, ctx, "temporal", true, true, lm->factor, lm->remainder);
    get_order(r, n, ctx, "temporal_order", false, lm->order);
    int64_t rem[NDIMS];
    get_factors(r, n, ctx, "spatial_x", false, false, lm->spatial[AXIS_X], rem);
    get_factors(r, n, ctx, "spatial_y", false, false, lm->spatial[AXIS_Y], rem);
    get_order(r, n, ctx, "spatial_x_order", true, lm->spatial_order[AXIS_X]);
    get_order(r, n, ctx, "spatial_y_order", true, lm->spatial_order[AXIS_Y]);
    lm->keep = get_tensors(r, n, ctx, "keep");
  }
}

static void read_counts(Reader *r, yaml_node_t *n, const char *ctx, AccessCounts *c) {
  c->reads = get_int(r, n, ctx, "reads", false);
  c->fills = get_int(r, n, ctx, "fills", false);
  c->updates = get_int(r, n, ctx, "updates", false);
}

static void read_expected(Reader *r, yaml_node_t *root, const Arch *a, CostResult *e) {
  yaml_node_t *en = get_kind(r, root, "", "expected", YAML_MAPPING_NODE, false);
  if (!en) return;
  e->nlevels = a->nlevels;
  e->macs = get_int(r, en, "expected", "macs", false);
  e->cycles = get_int(r, en, "expected", "cycles", false);
  e->compute_cycles = get_int(r, en, "expected", "compute_cycles", false);
  e->mac_utilized_instances = get_int(r, en, "expected", "mac_utilized_instances", false);
  e->utilization = get_num(r, en, "expected", "utilization", false);
  e->energy_pj = get_num(r, en, "expected", "energy_pJ_total", false);
  char bn[ACCEL_NAME_MAX];
  get_str(r, en, "expected", "bottleneck", bn, sizeof bn);
  e->bottleneck = strcmp(bn, "compute") == 0 ? -1 : level_index(a, bn);
  yaml_node_t *bl = get_kind(r, en, "expected", "energy_pJ_by_level", YAML_MAPPING_NODE, false);
  if (bl) e->mac_energy_pj = get_num(r, bl, "expected.energy_pJ_by_level", "mac", false);
  yaml_node_t *acc = get_kind(r, en, "expected", "accesses", YAML_MAPPING_NODE, false);
  yaml_node_t *lvs = get_kind(r, en, "expected", "levels", YAML_MAPPING_NODE, false);
  for (int l = 0; l < a->nlevels; l++) {
    const char *ln = a->level[l].name;
    LevelCost *lc = &e->level[l];
    char ctx[96];
    snprintf(ctx, sizeof ctx, "expected.accesses");
    yaml_node_t *al = get_kind(r, acc, ctx, ln, YAML_MAPPING_NODE, false);
    snprintf(ctx, sizeof ctx, "expected.levels");
    yaml_node_t *ll = get_kind(r, lvs, ctx, ln, YAML_MAPPING_NODE, false);
    snprintf(ctx, sizeof ctx, "expected.levels.%s", ln);
    if (ll) {
      lc->cycles = get_int(r, ll, ctx, "cycles", false);
      lc->slowdown = get_num(r, ll, ctx, "slowdown", false);
      lc->energy_pj = get_num(r, ll, ctx, "energy_pJ", false);
    }
    yaml_node_t *ts = get_kind(r, ll, ctx, "tensors", YAML_MAPPING_NODE, false);
    for (int t = 0; t < NTENSORS; t++) {
      char k[2] = {accel_tensor_letter(t), 0}, tctx[128];
      snprintf(tctx, sizeof tctx, "expected.accesses.%s", ln);
      yaml_node_t *c = get_kind(r, al, tctx, k, YAML_MAPPING_NODE, false);
      if (c) {
        snprintf(tctx, sizeof tctx, "expected.accesses.%s.%s", ln, k);
        read_counts(r, c, tctx, &lc->total[t]);
      }
      yaml_node_t *tn = get_kind(r, ts, ctx, k, YAML_MAPPING_NODE, false);
      if (!tn) continue;
      snprintf(tctx, sizeof tctx, "%s.tensors.%s", ctx, k);
      lc->per_instance[t].reads = get_int(r, tn, tctx, "reads_per_instance", false);
      lc->per_instance[t].fills = get_int(r, tn, tctx, "fills_per_instance", false);
      lc->per_instance[t].updates = get_int(r, tn, tctx, "updates_per_instance", false);
      lc->tile_words[t] = get_int(r, tn, tctx, "utilized_capacity", false);
      lc->partition_words[t] = get_int(r, tn, tctx, "partition_size", false);
      lc->utilized_instances = get_int(r, tn, tctx, "utilized_instances", false);
      lc->tensor_energy_pj[t] = get_num(r, tn, tctx, "energy_pJ", false);
      e->tensor_energy_pj[t] += lc->tensor_energy_pj[t];
    }
  }
}

/* Loads the document at path (or, when text is not NULL, the len bytes at
 * text, which path only names) into r; the root node, or NULL (reported). */
static yaml_node_t *doc_open(Reader *r, const char *path, const char *text, size_t len, Diag *d,
                             bool *loaded) {
  FILE *f = text ? NULL : fopen(path, "rb");
  yaml_parser_t parser;
  yaml_node_t *root = NULL;
  memset(r, 0, sizeof *r);
  r->d = d;
  *loaded = false;
  if (!text && !f) {
    diag_error(d, NULL, "cannot open: %s", strerror(errno));
    return NULL;
  }
  if (!yaml_parser_initialize(&parser)) {
    diag_error(d, NULL, "cannot initialise the YAML parser");
    if (f) fclose(f);
    return NULL;
  }
  if (text)
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
  else
    yaml_parser_set_input_file(&parser, f);
  if (!yaml_parser_load(&parser, &r->doc)) {
    char where[32];
    snprintf(where, sizeof where, "%zu:%zu", parser.problem_mark.line + 1,
             parser.problem_mark.column + 1);
    diag_error(d, where, "not valid YAML/JSON: %s%s%s", parser.problem ? parser.problem : "?",
               parser.context ? " " : "", parser.context ? parser.context : "");
  } else {
    *loaded = true;
    root = yaml_document_get_root_node(&r->doc);
    if (!root || root->type != YAML_MAPPING_NODE) {
      diag_error(d, root ? "1:1" : NULL, "expected a mapping of keys at the top");
      root = NULL;
    }
  }
  yaml_parser_delete(&parser);
  if (f) fclose(f);
  return root;
}

Rc case_load(const char *path, CostCase *c, Diag *d) {
  const char *saved_file = d->file;
  Reader r;
  bool loaded;
  memset(c, 0, sizeof *c);
  d->file = path;
  yaml_node_t *root = doc_open(&r, path, NULL, 0, d, &loaded);
  if (root) {
    char fmt[64];
    get_str(&r, root, "", "format", fmt, sizeof fmt);
    if (!r.nerr && strcmp(fmt, "dnn-accel-costmodel-validation/1") != 0)
      rd_error(&r, get(&r, root, "", "format", true), "", "format",
               "expected \"dnn-accel-costmodel-validation/1\"");
    if (!r.nerr) {
      get_str(&r, root, "", "name", c->name, sizeof c->name);
      read_problem(&r, root, &c->problem);
      read_arch(&r, root, &c->arch);
      if (!r.nerr) read_mapping(&r, root, &c->arch, &c->mapping);
      if (!r.nerr) read_expected(&r, root, &c->arch, &c->expected);
    }
  }
  if (loaded) yaml_document_delete(&r.doc);
  d->file = saved_file;
  return (root && !r.nerr) ? RC_OK : RC_BADINPUT;
}

/* ---- naasc's YAML files ---------------------------------------------------- */

/* Reports every key of m not in allowed (NULL-terminated). */
static void check_keys(Reader *r, yaml_node_t *m, const char *ctx, const char *const *allowed) {
  if (!m || m->type != YAML_MAPPING_NODE) return;
  for (yaml_node_pair_t *pr = m->data.mapping.pairs.start; pr < m->data.mapping.pairs.top; pr++) {
    yaml_node_t *kn = yaml_document_get_node(&r->doc, pr->key);
    const char *k = scalar(kn);
    bool ok = false;
    for (int i = 0; k && allowed[i]; i++)
      if (strcmp(k, allowed[i]) == 0) ok = true;
    if (!ok) rd_error(r, kn, ctx, k ? k : "?", "unknown key");
  }
}

static int64_t opt_int(Reader *r, yaml_node_t *m, const char *ctx, const char *key, int64_t dflt) {
  yaml_node_t *n = get(r, m, ctx, key, true);
  int64_t v = dflt;
  if (n && !parse_int(n, &v)) rd_error(r, n, ctx, key, "expected an integer");
  return v;
}

static double opt_num(Reader *r, yaml_node_t *m, const char *ctx, const char *key, double dflt) {
  yaml_node_t *n = get(r, m, ctx, key, true);
  double v = dflt;
  if (n && !parse_num(n, &v)) rd_error(r, n, ctx, key, "expected a number");
  return v;
}

static bool opt_bool(Reader *r, yaml_node_t *m, const char *ctx, const char *key, bool dflt) {
  yaml_node_t *n = get(r, m, ctx, key, true);
  const char *s = scalar(n);
  if (!n) return dflt;
  if (s && (strcmp(s, "true") == 0 || strcmp(s, "yes") == 0)) return true;
  if (s && (strcmp(s, "false") == 0 || strcmp(s, "no") == 0)) return false;
  rd_error(r, n, ctx, key, "expected true or false");
  return dflt;
}

/* A string of dimension letters as a mask ("KC"). */
static uint8_t dims_mask(Reader *r, yaml_node_t *n, const char *ctx, const char *key) {
  const char *s = scalar(n);
  uint8_t mask = 0;
  if (!s) {
    rd_error(r, n, ctx, key, "expected dimension letters such as KC");
    return 0;
  }
  for (; *s; s++) {
    int dd = accel_dim_from_letter(*s);
    if (dd < 0) {
      rd_error(r, n, ctx, key, "not a dimension letter (GNKCPQRS)");
      return 0;
    }
    mask |= (uint8_t)(1u << dd);
  }
  return mask;
}

/* {x: .., y: .., z: ..} of integers into v[3] (missing axes keep v). */
static void axes_int(Reader *r, yaml_node_t *m, const char *ctx, const char *key,
                     int64_t v[ACCEL_MAX_AXES]) {
  static const char *const axes[] = {"x", "y", "z", NULL};
  yaml_node_t *n = get_kind(r, m, ctx, key, YAML_MAPPING_NODE, true);
  if (!n) return;
  char sub[96];
  snprintf(sub, sizeof sub, "%s.%s", ctx, key);
  check_keys(r, n, sub, axes);
  for (int x = 0; x < ACCEL_MAX_AXES; x++) v[x] = opt_int(r, n, sub, axes[x], v[x]);
}

/* ---- value checks of arch files ------------------------------------------------
 * Run once an arch file has read without errors: every count, size and energy
 * the cost model relies on is in range, reported at the offending key. */

/* A factor constraint: n (exact), `all` (the whole dim), or bounds ">=n",
 * "<=n", ">=n <=m" (docs/cost-model.md, "Mapping constraints"). */
static void get_bound(Reader *r, yaml_node_t *n, const char *ctx, const char *key, int64_t *lo,
                      int64_t *hi) {
  const char *s = scalar(n);
  int64_t v;
  *lo = *hi = 0;
  if (s && strcmp(s, "all") == 0) {
    *lo = *hi = MAPCONS_WHOLE;
    return;
  }
  if (parse_int(n, &v)) {
    if (v < 1) rd_error(r, n, ctx, key, "a factor must be at least 1 (or `all`)");
    *lo = *hi = v;
    return;
  }
  for (const char *p = s; p && *p;) {
    if (*p == ' ') {
      p++;
      continue;
    }
    bool ge = p[0] == '>' && p[1] == '=', le = p[0] == '<' && p[1] == '=';
    char *end;
    errno = 0;
    long long b = (ge || le) ? strtoll(p + 2, &end, 10) : 0;
    if (!(ge || le) || end == p + 2 || errno || b < 1 || (*end && *end != ' ')) {
      s = NULL;
      break;
    }
    if (ge) *lo = b;
    if (le) *hi = b;
    p = end;
  }
  if (!s || (!*lo && !*hi)) {
    rd_error(r, n, ctx, key, "expected a factor n, `all`, or bounds such as \">=2 <=8\"");
    *lo = *hi = 0;
  } else if (*lo && *hi && *lo > *hi) {
    rd_error(r, n, ctx, key, "contradictory bounds: the lower one exceeds the upper one");
  }
}

/* An order constraint {outer: LETTERS, inner: LETTERS}, both outermost first. */
static void get_order_cons(Reader *r, yaml_node_t *n, const char *ctx, uint8_t *outer,
                           uint8_t *nouter, uint8_t *inner, uint8_t *ninner) {
  static const char *const keys[] = {"outer", "inner", NULL};
  check_keys(r, n, ctx, keys);
  uint8_t seen = 0;
  for (int k = 0; k < 2; k++) {
    yaml_node_t *v = get(r, n, ctx, keys[k], true);
    if (!v) continue;
    const char *s = scalar(v);
    uint8_t *dst = k ? inner : outer, *cnt = k ? ninner : nouter;
    if (!s) {
      rd_error(r, v, ctx, keys[k], "expected dimension letters such as NK");
      continue;
    }
    for (; *s; s++) {
      int dd = accel_dim_from_letter(*s);
      if (dd < 0 || (seen >> dd & 1)) {
        rd_error(r, v, ctx, keys[k],
                 dd < 0 ? "not a dimension letter (GNKCPQRS)"
                        : "a dimension named twice (in outer and inner, or repeated)");
        break;
      }
      seen |= (uint8_t)(1u << dd);
      dst[(*cnt)++] = (uint8_t)dd;
    }
  }
}

/* A level's `constraints:` (docs/cost-model.md, "Mapping constraints"). */
static void get_level_cons(Reader *r, yaml_node_t *n, const char *ctx, LevelConstraints *c) {
  static const char *const keys[] = {"temporal",      "spatial",  "order",
                                     "spatial_order", "one_axis", NULL};
  check_keys(r, n, ctx, keys);
  c->one_axis = opt_bool(r, n, ctx, "one_axis", false);
  for (int k = 0; k < 2; k++) {
    yaml_node_t *f = get_kind(r, n, ctx, keys[k], YAML_MAPPING_NODE, true);
    char sub[112];
    snprintf(sub, sizeof sub, "%s.%s", ctx, keys[k]);
    for (yaml_node_pair_t *pr = f ? f->data.mapping.pairs.start : NULL;
         f && pr < f->data.mapping.pairs.top; pr++) {
      yaml_node_t *kn = yaml_document_get_node(&r->doc, pr->key);
      yaml_node_t *vn = yaml_document_get_node(&r->doc, pr->value);
      const char *key = scalar(kn);
      int dd = (key && key[0] && !key[1]) ? accel_dim_from_letter(key[0]) : -1;
      if (dd < 0) {
        rd_error(r, kn, sub, key ? key : "?", "not a dimension letter (GNKCPQRS)");
        continue;
      }
      get_bound(r, vn, sub, key, &c->lo[k][dd], &c->hi[k][dd]);
    }
    yaml_node_t *o = get_kind(r, n, ctx, keys[2 + k], YAML_MAPPING_NODE, true);
    snprintf(sub, sizeof sub, "%s.%s", ctx, keys[2 + k]);
    if (o) get_order_cons(r, o, sub, c->outer[k], &c->nouter[k], c->inner[k], &c->ninner[k]);
  }
}

/* Unless ok, reports key of mapping m.  Values the file does not give are
 * defaults, or derived from fan-outs whose own errors are reported. */
static void want(Reader *r, yaml_node_t *m, const char *ctx, const char *key, bool ok,
                 const char *msg) {
  yaml_node_t *n = ok ? NULL : get(r, m, ctx, key, true);
  if (n) rd_error(r, n, ctx, key, msg);
}

/* technology: NODE (a number of nm, "65nm" or 65) and precision: {W, I, O}
 * bits (16 each by default), P (the partial sums) and format (int, fp16,
 * bf16, fp32), or a precision in the --precision grammar (w8a8p32).  A node outside the model's data or a width of
 * 0 is an error naming the value. */
static void read_technology(Reader *r, yaml_node_t *root, Arch *a) {
  static const char *const tensors[] = {"W", "I", "O", "P", "format", NULL};
  char msg[160];
  yaml_node_t *n = get(r, root, "", "technology", true);
  if (n) {
    const char *s = scalar(n);
    char *end = NULL;
    double v = s ? strtod(s, &end) : 0;
    if (end && strcmp(end, "nm") == 0) end += 2;
    if (!s || !end || end == s || *end || !isfinite(v)) {
      snprintf(msg, sizeof msg, "'%.40s' is not a technology node (e.g. 65nm)", s ? s : "");
      rd_error(r, n, "", "technology", msg);
    } else if (v < TECH_NODE_MIN_NM || v > TECH_NODE_MAX_NM) {
      snprintf(msg, sizeof msg, "%.40s is outside the technology model's data (%g-%g nm)", s,
               TECH_NODE_MIN_NM, TECH_NODE_MAX_NM);
      rd_error(r, n, "", "technology", msg);
    } else {
      a->tech_nm = v;
    }
  }
  yaml_node_t *pr = get(r, root, "", "precision", true);
  if (pr && pr->type == YAML_SCALAR_NODE) { /* the --precision grammar: precision: w8a8p32 */
    Precision p;
    Diag quiet;
    diag_init(&quiet, NULL, NULL);
    if (precision_parse(scalar(pr), &p, &quiet, "precision") == RC_OK) {
      for (int t = 0; t < NTENSORS; t++) a->tensor_bits[t] = p.bits[t];
      a->psum_bits = p.psum_bits;
      a->number = (uint8_t)p.number;
    } else {
      snprintf(msg, sizeof msg, "'%.40s' is not a precision (e.g. w8a8, w8a8p32, w1a1, fp16)",
               scalar(pr) ? scalar(pr) : "");
      rd_error(r, pr, "", "precision", msg);
    }
    return;
  }
  pr = get_kind(r, root, "", "precision", YAML_MAPPING_NODE, true);
  if (pr) {
    check_keys(r, pr, "precision", tensors);
    for (int t = 0; t < NTENSORS; t++) {
      a->tensor_bits[t] = (int)opt_int(r, pr, "precision", tensors[t], 16);
      if (a->tensor_bits[t] < 1 || a->tensor_bits[t] > 64) {
        snprintf(msg, sizeof msg, "a width of %d bits: must be 1 to 64", a->tensor_bits[t]);
        rd_error(r, get(r, pr, "precision", tensors[t], false), "precision", tensors[t], msg);
        a->tensor_bits[t] = 16;
      }
    }
    a->psum_bits = (int)opt_int(r, pr, "precision", "P", 0);
    if (a->psum_bits < 0 || a->psum_bits > 64) {
      snprintf(msg, sizeof msg, "a width of %d bits: must be 1 to 64", a->psum_bits);
      rd_error(r, get(r, pr, "precision", "P", false), "precision", "P", msg);
      a->psum_bits = 0;
    }
    yaml_node_t *fm = get(r, pr, "precision", "format", true);
    if (fm) {
      const char *s = scalar(fm);
      int k = TECH_INT;
      while (k <= TECH_FP32 && !(s && strcmp(s, tech_number_name((TechNumber)k)) == 0)) k++;
      if (k > TECH_FP32 || k == TECH_BINARY) {
        snprintf(msg, sizeof msg, "'%.40s' is no number format (int, fp16, bf16, fp32)",
                 s ? s : "");
        rd_error(r, fm, "precision", "format", msg);
      } else {
        a->number = (uint8_t)k;
      }
    }
  }
}

/* A level's memory, banks, ports and dram_type, and which of its figures
 * the technology model is to supply (those the file leaves out). */
static void read_level_technology(Reader *r, yaml_node_t *n, const char *ctx, Arch *a, Level *L,
                                  yaml_node_t *noc) {
  char msg[160];
  L->banks = (int)opt_int(r, n, ctx, "banks", 0); /* 0: not given, one */
  L->ports = (int)opt_int(r, n, ctx, "ports", 0);
  yaml_node_t *mem = get(r, n, ctx, "memory", true);
  if (mem) {
    const char *s = scalar(mem);
    if (s && strcmp(s, "sram") == 0)
      L->memory = LEVEL_MEM_SRAM;
    else if (s && strcmp(s, "regfile") == 0)
      L->memory = LEVEL_MEM_REGFILE;
    else if (!s || strcmp(s, "auto") != 0)
      rd_error(r, mem, ctx, "memory", "expected sram, regfile or auto");
  }
  yaml_node_t *dt = get(r, n, ctx, "dram_type", true);
  if (dt) {
    const char *s = scalar(dt);
    int k = 0;
    while (k < TECH_NDRAM && !(s && strcasecmp(s, tech_dram_name((TechDram)k)) == 0)) k++;
    if (k == TECH_NDRAM) {
      snprintf(msg, sizeof msg,
               "'%.40s' is no DRAM type the model knows (LPDDR4, DDR4, HBM2, GDDR5)", s ? s : "");
      rd_error(r, dt, ctx, "dram_type", msg);
    } else {
      L->dram_type = (uint8_t)k;
    }
  }
  if (a->tech_nm <= 0) return;
  if (!get(r, n, ctx, "leak_pj_per_cycle", true)) L->derived |= LEVEL_TECH_LEAK;
  if (!get(r, n, ctx, "area_um2_per_word", true) && !get(r, n, ctx, "area_um2", true))
    L->derived |= LEVEL_TECH_AREA;
  if (!noc || !get(r, noc, ctx, "energy_pj_per_hop", true)) L->derived |= LEVEL_TECH_NOC;
}

static void arch_check_values(Reader *r, yaml_node_t *root, const Arch *a) {
  static const char *const axes[] = {"x", "y", "z"};
  static const char *const tensors[] = {"W", "I", "O"};
  static const char *const at_least_1 = "must be at least 1";
  static const char *const not_negative = "must not be negative";
  yaml_node_t *lv = get(r, root, "", "levels", true);
  want(r, root, "", "clock_mhz", a->clock_mhz >= 0, "must not be negative (0 = unknown)");
  for (int l = 0; lv && l < a->nlevels; l++) {
    const Level *L = &a->level[l];
    yaml_node_t *n = seq_at(r, lv, l), *sub;
    char ctx[48], sctx[80];
    snprintf(ctx, sizeof ctx, "levels[%d]", l);
    want(r, n, ctx, "instances", L->instances >= 1, at_least_1);
    snprintf(sctx, sizeof sctx, "%s.mesh", ctx);
    sub = get(r, n, ctx, "mesh", true);
    want(r, sub, sctx, "x", L->mesh_x >= 1, at_least_1);
    want(r, sub, sctx, "y", L->mesh_y >= 1, at_least_1);
    snprintf(sctx, sizeof sctx, "%s.fanout", ctx);
    sub = get(r, n, ctx, "fanout", true);
    for (int x = 0; x < ACCEL_MAX_AXES; x++)
      want(r, sub, sctx, axes[x], L->fanout[x] >= 1, at_least_1);
    snprintf(sctx, sizeof sctx, "%s.connectivity", ctx);
    sub = get(r, n, ctx, "connectivity", true);
    for (int x = 0; x < ACCEL_MAX_AXES; x++)
      want(r, sub, sctx, axes[x], L->connectivity[x] != 0,
           "names no dimension (give letters of GNKCPQRS)");
    if (L->word_bits < 1) {
      char msg[80];
      snprintf(msg, sizeof msg, "a width of %d bits: must be at least 1", L->word_bits);
      want(r, n, ctx, "word_bits", false, msg);
    }
    want(r, n, ctx, "block_words", L->block_words >= 1, at_least_1);
    want(r, n, ctx, "capacity_words", L->capacity_words >= 0,
         "must not be negative (0 = unbounded)");
    snprintf(sctx, sizeof sctx, "%s.tensor_capacity_words", ctx);
    sub = get(r, n, ctx, "tensor_capacity_words", true);
    for (int t = 0; t < NTENSORS; t++)
      want(r, sub, sctx, tensors[t], L->tensor_capacity_words[t] >= 0,
           "must not be negative (0 = no limit)");
    want(r, n, ctx, "multiple_buffering", L->multiple_buffering >= 1,
         "must be at least 1 (1 = single buffering)");
    snprintf(sctx, sizeof sctx, "%s.energy_pj", ctx);
    sub = get(r, n, ctx, "energy_pj", true);
    want(r, sub, sctx, "read", L->e_read_pj >= 0, not_negative);
    want(r, sub, sctx, "fill", L->e_fill_pj >= 0, not_negative);
    want(r, sub, sctx, "update", L->e_update_pj >= 0, not_negative);
    want(r, n, ctx, "leak_pj_per_cycle", L->leak_pj_per_cycle >= 0, not_negative);
    want(r, n, ctx, "area_um2_per_word", L->area_um2_per_word >= 0, not_negative);
    want(r, n, ctx, "area_um2", L->area_um2_fixed >= 0, not_negative);
    want(r, n, ctx, "banks", L->banks >= 1 && L->banks <= 32, "must be 1 to 32");
    want(r, n, ctx, "ports", L->ports >= 1 && L->ports <= 4, "must be 1 to 4");
  }
  yaml_node_t *mac = get(r, root, "", "mac", true), *mesh = get(r, mac, "mac", "mesh", true);
  want(r, mac, "mac", "instances", a->mac_instances >= 1,
       "must be at least 1 (an arch needs MACs)");
  want(r, mesh, "mac.mesh", "x", a->mac_mesh_x >= 1, at_least_1);
  want(r, mesh, "mac.mesh", "y", a->mac_mesh_y >= 1, at_least_1);
  want(r, mac, "mac", "energy_pj", a->mac_energy_pj >= 0, not_negative);
  want(r, mac, "mac", "area_um2", a->mac_area_um2 >= 0, not_negative);
  yaml_node_t *vec = get(r, root, "", "vector_unit", true);
  want(r, vec, "vector_unit", "lanes", a->vector.lanes >= 0, not_negative);
  want(r, vec, "vector_unit", "energy_pj_per_op", a->vector.energy_pj_per_op >= 0, not_negative);
  want(r, vec, "vector_unit", "area_um2", a->vector.area_um2 >= 0, not_negative);
}

/* The levels of an as_built section (where: "as_built.levels" or
 * "as_built.classifier.levels"): each named level's must_keep (unless
 * cons_only) and constraints into must[] and lc[]. */
static void read_as_built_levels(Reader *r, yaml_node_t *lv, const char *where, bool cons_only,
                                 const Arch *a, uint8_t *must, LevelConstraints *lc) {
  static const char *const lkeys[] = {"must_keep", "constraints", NULL};
  static const char *const ckeys[] = {"constraints", NULL};
  bool given[ACCEL_MAX_LEVELS] = {false};
  for (yaml_node_pair_t *pr = lv ? lv->data.mapping.pairs.start : NULL;
       lv && pr < lv->data.mapping.pairs.top; pr++) {
    yaml_node_t *kn = yaml_document_get_node(&r->doc, pr->key);
    yaml_node_t *vn = yaml_document_get_node(&r->doc, pr->value);
    const char *name = scalar(kn);
    int l = name ? level_index(a, name) : -1;
    if (l < 0) {
      rd_error(r, kn, where, name ? name : "?", "no storage level of that name");
      continue;
    }
    char ctx[112];
    snprintf(ctx, sizeof ctx, "%s.%s", where, name);
    if (vn->type != YAML_MAPPING_NODE) {
      rd_error(r, vn, where, name, "expected a mapping of keys");
      continue;
    }
    if (given[l]) rd_error(r, kn, where, name, "a level named twice");
    given[l] = true;
    check_keys(r, vn, ctx, cons_only ? ckeys : lkeys);
    if (!cons_only && get(r, vn, ctx, "must_keep", true)) {
      must[l] = get_tensors(r, vn, ctx, "must_keep");
      if (must[l] & ~a->level[l].keeps_allowed)
        rd_error(r, get(r, vn, ctx, "must_keep", true), ctx, "must_keep",
                 "every tensor listed must be in the level's keeps");
    }
    yaml_node_t *cons = get_kind(r, vn, ctx, "constraints", YAML_MAPPING_NODE, true);
    if (cons) {
      char sub[128];
      snprintf(sub, sizeof sub, "%s.constraints", ctx);
      memset(&lc[l], 0, sizeof lc[l]);
      get_level_cons(r, cons, sub, &lc[l]);
    }
  }
}

/* Whether b's constraints are consistent; if not, an error at the level's
 * entry of lv (where names it) or at node at (the section's). */
static bool as_built_valid(Reader *r, const Arch *b, yaml_node_t *lv, yaml_node_t *at,
                           const char *where, const char *section) {
  int bl, bd;
  char why[256];
  if (mapcons_valid(b, &bl, &bd, why, sizeof why)) return true;
  char ctx[128];
  snprintf(ctx, sizeof ctx, "%s.%s", where, bl >= 0 ? b->level[bl].name : "?");
  yaml_node_t *n = bl >= 0 && lv ? get(r, lv, where, b->level[bl].name, true) : NULL;
  rd_error(r, n ? n : at, bl >= 0 ? ctx : section, "constraints", why);
  return false;
}

/* The chip's own dataflow (`as_built:`, docs/cost-model.md, "As built"):
 * {min_parallelism: F, levels: {NAME: {must_keep: [..], constraints: {..}}},
 *  classifier: {levels: {NAME: {constraints: {..}}}}}.
 * Read and checked whether or not it is applied; with apply, each named
 * level's must_keep and constraints replace its own (the min_parallelism
 * too, when given), and a file without the section is an error.  The
 * optional `classifier:` names the levels whose constraints differ for
 * classifier layers (problem_is_classifier: one output position), starting
 * from the as-built ones; they become Arch.cons_classifier. */
static void read_as_built(Reader *r, yaml_node_t *root, bool apply, const char *path, Arch *a) {
  static const char *const keys[] = {"levels", "min_parallelism", "classifier", NULL};
  static const char *const clkeys[] = {"levels", NULL};
  yaml_node_t *ab = get_kind(r, root, "", "as_built", YAML_MAPPING_NODE, true);
  if (!ab) {
    if (apply) {
      diag_error(r->d, NULL,
                 "architecture '%s' has no `as_built:` dataflow (the chip's own mapping "
                 "constraints, docs/cost-model.md \"As built\")",
                 a->name[0] ? a->name : (path ? path : "?"));
      r->nerr++;
    }
    return;
  }
  check_keys(r, ab, "as_built", keys);
  double minpar = opt_num(r, ab, "as_built", "min_parallelism", a->cons.min_parallelism);
  if (!(minpar >= 0 && minpar <= 1))
    rd_error(r, get(r, ab, "as_built", "min_parallelism", true), "as_built", "min_parallelism",
             "expected a share of the MACs from 0 to 1");
  yaml_node_t *lv = get_kind(r, ab, "as_built", "levels", YAML_MAPPING_NODE, false);
  uint8_t must[ACCEL_MAX_LEVELS];
  LevelConstraints lc[ACCEL_MAX_LEVELS], lcc[ACCEL_MAX_LEVELS];
  for (int l = 0; l < a->nlevels; l++)
    must[l] = a->level[l].keeps_required, lc[l] = a->cons.level[l];
  read_as_built_levels(r, lv, "as_built.levels", false, a, must, lc);
  yaml_node_t *cl = get_kind(r, ab, "as_built", "classifier", YAML_MAPPING_NODE, true);
  yaml_node_t *clv = NULL;
  if (cl) {
    check_keys(r, cl, "as_built.classifier", clkeys);
    clv = get_kind(r, cl, "as_built.classifier", "levels", YAML_MAPPING_NODE, false);
    for (int l = 0; l < a->nlevels; l++) lcc[l] = lc[l];
    read_as_built_levels(r, clv, "as_built.classifier.levels", true, a, must, lcc);
  }
  if (r->nerr) return;
  /* Checked on a copy, so that the plain load stays as it was. */
  Arch *b = xmalloc(sizeof *b);
  if (!b) {
    diag_error(r->d, NULL, "out of memory");
    r->nerr++;
    return;
  }
  *b = *a;
  for (int l = 0; l < a->nlevels; l++)
    b->level[l].keeps_required = must[l], b->cons.level[l] = lc[l];
  b->cons.min_parallelism = minpar;
  bool ok = as_built_valid(r, b, lv, ab, "as_built.levels", "as_built");
  if (ok && cl) {
    MapConstraints conv = b->cons;
    for (int l = 0; l < a->nlevels; l++) b->cons.level[l] = lcc[l];
    ok = as_built_valid(r, b, clv, cl, "as_built.classifier.levels", "as_built.classifier");
    b->cons_classifier = b->cons;
    b->classifier_cons = true;
    b->cons = conv;
  }
  if (ok && apply) *a = *b;
  xfree(b);
}

/* arch_load and arch_load_text: the file at path, or the len bytes at text
 * (named path in messages). */
static Rc arch_read(const char *path, const char *text, size_t len, bool as_built, Arch *a,
                    Diag *d) {
  static const char *const top_keys[] = {"name",     "clock_mhz", "technology",  "precision",
                                         "levels",   "mac",       "vector_unit", "min_parallelism",
                                         "as_built", NULL};
  static const char *const level_keys[] = {"name",
                                           "dram",
                                           "instances",
                                           "mesh",
                                           "fanout",
                                           "connectivity",
                                           "word_bits",
                                           "block_words",
                                           "capacity_words",
                                           "tensor_capacity_words",
                                           "multiple_buffering",
                                           "keeps",
                                           "must_keep",
                                           "bandwidth",
                                           "energy_pj",
                                           "leak_pj_per_cycle",
                                           "area_um2_per_word",
                                           "area_um2",
                                           "noc",
                                           "memory",
                                           "banks",
                                           "ports",
                                           "dram_type",
                                           "constraints",
                                           NULL};
  static const char *const noc_keys[] = {"energy_pj_per_hop", "multicast", "reduction", NULL};
  static const char *const mac_keys[] = {"instances", "mesh", "energy_pj", "area_um2", NULL};
  static const char *const vec_keys[] = {"lanes", "energy_pj_per_op", "area_um2", NULL};
  static const char *const bw_keys[] = {"read", "write", "shared", NULL};
  static const char *const e_keys[] = {"read", "fill", "update", NULL};
  static const char *const mesh_keys[] = {"x", "y", NULL};
  static const char *const axes[] = {"x", "y", "z", NULL};
  static const char *const tensors[] = {"W", "I", "O", NULL};
  const char *saved_file = d->file;
  Reader r;
  bool loaded;
  memset(a, 0, sizeof *a);
  d->file = path;
  yaml_node_t *root = doc_open(&r, path, text, len, d, &loaded);
  if (!root) goto done;
  check_keys(&r, root, "", top_keys);
  get_str(&r, root, "", "name", a->name, sizeof a->name);
  a->clock_mhz = opt_num(&r, root, "", "clock_mhz", 0);
  read_technology(&r, root, a);
  bool tech = get(&r, root, "", "technology", true) != NULL; /* figures may be left out */
  a->cons.min_parallelism = opt_num(&r, root, "", "min_parallelism", 0);
  yaml_node_t *lv = get_kind(&r, root, "", "levels", YAML_SEQUENCE_NODE, false);
  if (lv && (seq_len(lv) < 1 || seq_len(lv) > ACCEL_MAX_LEVELS)) {
    rd_error(&r, lv, "", "levels", "expected 1 to 8 storage levels, outermost first");
    lv = NULL;
  }
  a->nlevels = seq_len(lv);
  int64_t above = 1, above_x = 1, above_y = 1; /* instances from the fanouts above */
  for (int l = 0; l < a->nlevels; l++) {
    yaml_node_t *n = seq_at(&r, lv, l);
    Level *L = &a->level[l];
    char ctx[48], sub[80];
    snprintf(ctx, sizeof ctx, "levels[%d]", l);
    if (n->type != YAML_MAPPING_NODE) {
      rd_error(&r, n, ctx, "", "expected a mapping of keys");
      continue;
    }
    check_keys(&r, n, ctx, level_keys);
    get_str(&r, n, ctx, "name", L->name, sizeof L->name);
    L->is_dram = opt_bool(&r, n, ctx, "dram", false);
    L->instances = opt_int(&r, n, ctx, "instances", above);
    L->mesh_x = above_x, L->mesh_y = above_y;
    yaml_node_t *mesh = get_kind(&r, n, ctx, "mesh", YAML_MAPPING_NODE, true);
    if (mesh) {
      snprintf(sub, sizeof sub, "%s.mesh", ctx);
      check_keys(&r, mesh, sub, mesh_keys);
      L->mesh_x = opt_int(&r, mesh, sub, "x", L->mesh_x);
      L->mesh_y = opt_int(&r, mesh, sub, "y", L->mesh_y);
    }
    for (int x = 0; x < ACCEL_MAX_AXES; x++) L->fanout[x] = 1, L->connectivity[x] = ACCEL_ALL_DIMS;
    axes_int(&r, n, ctx, "fanout", L->fanout);
    yaml_node_t *conn = get_kind(&r, n, ctx, "connectivity", YAML_MAPPING_NODE, true);
    if (conn) {
      snprintf(sub, sizeof sub, "%s.connectivity", ctx);
      check_keys(&r, conn, sub, axes);
      for (int x = 0; x < ACCEL_MAX_AXES; x++) {
        yaml_node_t *cn = get(&r, conn, sub, axes[x], true);
        if (cn) L->connectivity[x] = dims_mask(&r, cn, sub, axes[x]);
      }
    }
    L->keeps_allowed =
        get(&r, n, ctx, "keeps", true) ? get_tensors(&r, n, ctx, "keeps") : ACCEL_ALL_TENSORS;
    int wb = 0; /* default: the widest tensor the level may keep */
    for (int t = 0; t < NTENSORS; t++)
      if (L->keeps_allowed & (1u << t) && arch_tensor_bits(a, t) > wb) wb = arch_tensor_bits(a, t);
    L->word_bits = (int)opt_int(&r, n, ctx, "word_bits", wb);
    L->block_words = opt_int(&r, n, ctx, "block_words", 1);
    L->capacity_words = opt_int(&r, n, ctx, "capacity_words", 0);
    yaml_node_t *tc = get_kind(&r, n, ctx, "tensor_capacity_words", YAML_MAPPING_NODE, true);
    if (tc) {
      snprintf(sub, sizeof sub, "%s.tensor_capacity_words", ctx);
      check_keys(&r, tc, sub, tensors);
      for (int t = 0; t < NTENSORS; t++)
        L->tensor_capacity_words[t] = opt_int(&r, tc, sub, tensors[t], 0);
    }
    L->multiple_buffering = opt_num(&r, n, ctx, "multiple_buffering", 1);
    L->keeps_required =
        get(&r, n, ctx, "must_keep", true) ? get_tensors(&r, n, ctx, "must_keep") : 0;
    if (L->keeps_required & ~L->keeps_allowed)
      rd_error(&r, get(&r, n, ctx, "must_keep", true), ctx, "must_keep",
               "every tensor listed must also be in keeps");
    yaml_node_t *bw = get_kind(&r, n, ctx, "bandwidth", YAML_MAPPING_NODE, true);
    if (bw) {
      snprintf(sub, sizeof sub, "%s.bandwidth", ctx);
      check_keys(&r, bw, sub, bw_keys);
      L->read_bw = opt_num(&r, bw, sub, "read", 0);
      L->write_bw = opt_num(&r, bw, sub, "write", 0);
      L->shared_bw = opt_num(&r, bw, sub, "shared", 0);
    }
    yaml_node_t *e = get_kind(&r, n, ctx, "energy_pj", YAML_MAPPING_NODE, tech);
    if (!e) L->derived |= LEVEL_TECH_ENERGY;
    if (e) {
      snprintf(sub, sizeof sub, "%s.energy_pj", ctx);
      check_keys(&r, e, sub, e_keys);
      L->e_read_pj = get_num(&r, e, sub, "read", false);
      L->e_fill_pj = opt_num(&r, e, sub, "fill", L->e_read_pj);
      L->e_update_pj = opt_num(&r, e, sub, "update", L->e_fill_pj);
    }
    yaml_node_t *noc = get_kind(&r, n, ctx, "noc", YAML_MAPPING_NODE, true);
    if (noc) {
      snprintf(sub, sizeof sub, "%s.noc", ctx);
      check_keys(&r, noc, sub, noc_keys);
      L->noc_pj_per_hop = opt_num(&r, noc, sub, "energy_pj_per_hop", 0);
      L->no_multicast = !opt_bool(&r, noc, sub, "multicast", true);
      L->no_reduction = !opt_bool(&r, noc, sub, "reduction", true);
    }
    yaml_node_t *cons = get_kind(&r, n, ctx, "constraints", YAML_MAPPING_NODE, true);
    if (cons) {
      snprintf(sub, sizeof sub, "%s.constraints", ctx);
      get_level_cons(&r, cons, sub, &a->cons.level[l]);
    }
    L->leak_pj_per_cycle = opt_num(&r, n, ctx, "leak_pj_per_cycle", 0);
    L->area_um2_per_word = opt_num(&r, n, ctx, "area_um2_per_word", 0);
    L->area_um2_fixed = opt_num(&r, n, ctx, "area_um2", 0);
    read_level_technology(&r, n, ctx, a, L, noc);
    /* The next level's defaults; from counts of the file, so checked for overflow. */
    if (!ck_mul_i64(L->instances, L->fanout[0], &above) ||
        !ck_mul_i64(above, L->fanout[1], &above) || !ck_mul_i64(above, L->fanout[2], &above) ||
        !ck_mul_i64(L->mesh_x, L->fanout[AXIS_X], &above_x) ||
        !ck_mul_i64(L->mesh_y, L->fanout[AXIS_Y], &above_y) ||
        !ck_mul_i64(above_y, L->fanout[AXIS_Z], &above_y)) {
      rd_error(&r, n, ctx, "fanout", "the instances (or mesh) times the fan-outs overflow 64 bits");
      above = above_x = above_y = 1;
    }
  }
  yaml_node_t *mac = get_kind(&r, root, "", "mac", YAML_MAPPING_NODE, false);
  if (mac) {
    check_keys(&r, mac, "mac", mac_keys);
    a->mac_instances = opt_int(&r, mac, "mac", "instances", above);
    a->mac_mesh_x = above_x, a->mac_mesh_y = above_y;
    yaml_node_t *mesh = get_kind(&r, mac, "mac", "mesh", YAML_MAPPING_NODE, true);
    if (mesh) {
      check_keys(&r, mesh, "mac.mesh", mesh_keys);
      a->mac_mesh_x = opt_int(&r, mesh, "mac.mesh", "x", a->mac_mesh_x);
      a->mac_mesh_y = opt_int(&r, mesh, "mac.mesh", "y", a->mac_mesh_y);
    }
    if (tech && !get(&r, mac, "mac", "energy_pj", true))
      a->mac_derived |= LEVEL_TECH_ENERGY;
    else
      a->mac_energy_pj = get_num(&r, mac, "mac", "energy_pj", false);
    if (a->tech_nm > 0 && !get(&r, mac, "mac", "area_um2", true)) a->mac_derived |= LEVEL_TECH_AREA;
    a->mac_area_um2 = opt_num(&r, mac, "mac", "area_um2", 0);
  }
  yaml_node_t *vec = get_kind(&r, root, "", "vector_unit", YAML_MAPPING_NODE, true);
  if (vec) {
    check_keys(&r, vec, "vector_unit", vec_keys);
    a->vector.lanes = opt_int(&r, vec, "vector_unit", "lanes", 0);
    a->vector.energy_pj_per_op = opt_num(&r, vec, "vector_unit", "energy_pj_per_op", 0);
    a->vector.area_um2 = opt_num(&r, vec, "vector_unit", "area_um2", 0);
  }
  if (!r.nerr) arch_check_values(&r, root, a);
  if (!r.nerr) read_as_built(&r, root, as_built, path, a);
  if (!r.nerr) {
    int bl, bd;
    char why[256];
    if (!mapcons_valid(a, &bl, &bd, why, sizeof why)) {
      char ctx[48];
      snprintf(ctx, sizeof ctx, "levels[%d]", bl);
      yaml_node_t *at = bl >= 0 ? get(&r, seq_at(&r, lv, bl), ctx, "constraints", true) : NULL;
      if (!at && bl >= 0) at = seq_at(&r, lv, bl);
      if (bl < 0) at = get(&r, root, "", "min_parallelism", true);
      rd_error(&r, at, bl >= 0 ? ctx : "", bl >= 0 ? "constraints" : "min_parallelism", why);
    }
  }
  if (!r.nerr && a->tech_nm > 0 && arch_apply_tech(a, d) != RC_OK) r.nerr++;
done:
  if (loaded) yaml_document_delete(&r.doc);
  d->file = saved_file;
  return (root && !r.nerr) ? RC_OK : RC_BADINPUT;
}

Rc arch_load(const char *path, Arch *a, Diag *d) { return arch_read(path, NULL, 0, false, a, d); }

Rc arch_load_text(const char *text, size_t len, const char *name, Arch *a, Diag *d) {
  return arch_read(name, text, len, false, a, d);
}

Rc arch_load_as_built(const char *path, const char *text, size_t len, Arch *a, Diag *d) {
  return arch_read(path, text, len, true, a, d);
}

Rc problem_load(const char *path, Problem *p, Diag *d) {
  static const char *const keys[] = {"name", "dims", "stride", "dilation", NULL};
  static const char *const dims[] = {"G", "N", "K", "C", "P", "Q", "R", "S", NULL};
  const char *saved_file = d->file;
  Reader r;
  bool loaded;
  memset(p, 0, sizeof *p);
  d->file = path;
  yaml_node_t *root = doc_open(&r, path, NULL, 0, d, &loaded);
  if (!root) goto done;
  check_keys(&r, root, "", keys);
  get_str(&r, root, "", "name", p->name, sizeof p->name);
  yaml_node_t *dn = get_kind(&r, root, "", "dims", YAML_MAPPING_NODE, false);
  check_keys(&r, dn, "dims", dims);
  for (int i = 0; i < NDIMS; i++) p->dim[i] = opt_int(&r, dn, "dims", dims[i], 1);
  const char *pairs[2] = {"stride", "dilation"};
  for (int i = 0; i < 2; i++) {
    int64_t *dst = i ? p->dilation : p->stride;
    dst[0] = dst[1] = 1;
    yaml_node_t *sn = get_kind(&r, root, "", pairs[i], YAML_SEQUENCE_NODE, true);
    if (sn && seq_len(sn) != 2)
      rd_error(&r, sn, "", pairs[i], "expected [along P/R, along Q/S]");
    else if (sn)
      for (int k = 0; k < 2; k++)
        if (!parse_int(seq_at(&r, sn, k), &dst[k]))
          rd_error(&r, seq_at(&r, sn, k), "", pairs[i], "expected an integer");
  }
done:
  if (loaded) yaml_document_delete(&r.doc);
  d->file = saved_file;
  return (root && !r.nerr) ? RC_OK : RC_BADINPUT;
}

Rc mapping_load(const char *path, const Arch *a, Mapping *m, Diag *d) {
  static const char *const top_keys[] = {"levels", NULL};
  static const char *const level_keys[] = {"level",         "temporal", "order", "spatial",
                                           "spatial_order", "keep",     NULL};
  static const char *const axes[] = {"x", "y", "z", NULL};
  const char *saved_file = d->file;
  Reader r;
  bool loaded;
  memset(m, 0, sizeof *m);
  d->file = path;
  yaml_node_t *root = doc_open(&r, path, NULL, 0, d, &loaded);
  if (!root) goto done;
  check_keys(&r, root, "", top_keys);
  yaml_node_t *lv = get_kind(&r, root, "", "levels", YAML_SEQUENCE_NODE, false);
  if (lv && seq_len(lv) != a->nlevels) {
    char msg[96];
    snprintf(msg, sizeof msg, "needs one entry per level of arch '%s' (%d)", a->name, a->nlevels);
    rd_error(&r, lv, "", "levels", msg);
    lv = NULL;
  }
  m->nlevels = a->nlevels;
  for (int l = 0; lv && l < m->nlevels; l++) {
    yaml_node_t *n = seq_at(&r, lv, l);
    LevelMapping *lm = &m->level[l];
    char ctx[40], sub[72];
    snprintf(ctx, sizeof ctx, "levels[%d]", l);
    level_mapping_init(lm, a->level[l].keeps_allowed);
    if (n->type != YAML_MAPPING_NODE) {
      rd_error(&r, n, ctx, "", "expected a mapping of keys");
      continue;
    }
    check_keys(&r, n, ctx, level_keys);
    char name[ACCEL_NAME_MAX];
    get_str(&r, n, ctx, "level", name, sizeof name);
    if (name[0] && strcmp(name, a->level[l].name) != 0) {
      char msg[2 * ACCEL_NAME_MAX + 48];
      snprintf(msg, sizeof msg, "expected '%s' (the arch's level %d)", a->level[l].name, l);
      rd_error(&r, get(&r, n, ctx, "level", true), ctx, "level", msg);
    }
    if (get(&r, n, ctx, "temporal", true))
      get_factors(&r, n, ctx, "temporal", false, true, lm->factor, lm->remainder);
    if (get(&r, n, ctx, "order", true)) get_order(&r, n, ctx, "order", true, lm->order);
    yaml_node_t *sp = get_kind(&r, n, ctx, "spatial", YAML_MAPPING_NODE, true);
    if (sp) {
      snprintf(sub, sizeof sub, "%s.spatial", ctx);
      check_keys(&r, sp, sub, axes);
      int64_t rem[NDIMS];
      for (int x = 0; x < ACCEL_MAX_AXES; x++)
        if (get(&r, sp, sub, axes[x], true))
          get_factors(&r, sp, sub, axes[x], false, false, lm->spatial[x], rem);
    }
    yaml_node_t *so = get_kind(&r, n, ctx, "spatial_order", YAML_MAPPING_NODE, true);
    if (so) {
      snprintf(sub, sizeof sub, "%s.spatial_order", ctx);
      check_keys(&r, so, sub, axes);
      for (int x = 0; x < ACCEL_MAX_AXES; x++)
        if (get(&r, so, sub, axes[x], true))
          get_order(&r, so, sub, axes[x], true, lm->spatial_order[x]);
    }
    if (get(&r, n, ctx, "keep", true)) lm->keep = get_tensors(&r, n, ctx, "keep");
  }
done:
  if (loaded) yaml_document_delete(&r.doc);
  d->file = saved_file;
  return (root && !r.nerr) ? RC_OK : RC_BADINPUT;
}
