/*
 * precision.c: per-tensor precision (docs/technology.md, "Precision"): the
 * --precision grammar (precision_parse, precision_name), an architecture
 * re-expressed at another precision (arch_set_precision), and the accuracy
 * table that --search-precision chooses under (accuracy_load), and a
 * model's own precision from its layers' element types (precision_of_model).
 *
 * How it works:
 *   1. A precision is the width of the weights (W), the inputs (I), the
 *      stored outputs (O, Timeloop's output data space) and the MAC's
 *      accumulator (P, the partial sums inside the PE), and the operands'
 *      number format: integer (1-bit operands: a binary XNOR-popcount MAC)
 *      or fp16, bf16, fp32.
 *   2. arch_set_precision keeps every level's size in bits and re-counts it
 *      in words of the new width: a level's word is its widest tensor (the
 *      widest it may keep, as arch_load's default), and its capacity, its
 *      words per block and its bandwidths in words per cycle are the same
 *      bits in those words (rounded down; a block is at least one word).
 *      A level whose file gives a word width of its own (not its widest
 *      tensor's, e.g. an accumulator buffer of 32-bit sums) keeps it.
 *      Energies given per block stay (a block is the same bits); an area
 *      given per word and a network energy given per word hop scale with
 *      the word.  Then the technology model recomputes every figure the
 *      file left to it (arch_apply_tech), the MAC's at the new precision.
 *
 * Invariants: the same precision as the arch's is the identity (every
 * field unchanged); a level that would hold less than one word is an error
 * naming it.  No allocation but in accuracy_load (none: a fixed table).
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"

/* ---- the grammar ------------------------------------------------------------ */

static const char precision_grammar[] =
    "expected wN aN [oN] [pN] (e.g. w8a8, w8a8p32, w4a8, w1a1; N from 1 to 32), int4, int8, "
    "int16, binary, fp16, bf16 or fp32";

/* A width of 1-32 at *s, advancing it; -1 if none. */
static int eat_width(const char **s) {
  if (!isdigit((unsigned char)**s)) return -1;
  int v = 0;
  while (isdigit((unsigned char)**s)) {
    if (v > 32) return -1;
    v = v * 10 + (**s - '0');
    (*s)++;
  }
  return v >= 1 && v <= 32 ? v : -1;
}

static void precision_int(Precision *p, int w, int a) {
  memset(p, 0, sizeof *p);
  p->bits[TENSOR_W] = w;
  p->bits[TENSOR_I] = p->bits[TENSOR_O] = a;
  p->number = TECH_INT;
}

Rc precision_parse(const char *s, Precision *p, Diag *d, const char *where) {
  const char *at = s;
  if (!s || !*s) goto fail;
  static const struct {
    const char *name;
    TechNumber number;
    int bits;
  } named[] = {{"int4", TECH_INT, 4},   {"int8", TECH_INT, 8},   {"int16", TECH_INT, 16},
               {"binary", TECH_INT, 1}, {"fp16", TECH_FP16, 16}, {"bf16", TECH_BF16, 16},
               {"fp32", TECH_FP32, 32}};
  for (size_t k = 0; k < sizeof named / sizeof named[0]; k++) {
    size_t n = strlen(named[k].name);
    if (strncmp(s, named[k].name, n) != 0) continue;
    at = s + n;
    precision_int(p, named[k].bits, named[k].bits);
    p->number = named[k].number;
    if (!*at) return RC_OK;
    if (*at == 'p' && named[k].number != TECH_INT) { /* fp16p32: an fp32 accumulator */
      const char *q = at + 1;
      int v = eat_width(&q);
      if (!*q && (v == 32 || v == named[k].bits)) {
        p->psum_bits = v;
        return RC_OK;
      }
    }
    goto fail;
  }
  /* w N a N [o N] [p N]; `at` stays at the start of the part that is wrong */
  const char *q;
  int w, a;
  if (*at != 'w' || (q = at + 1, w = eat_width(&q)) < 0) goto fail;
  at = q;
  if (*at != 'a' || (q = at + 1, a = eat_width(&q)) < 0) goto fail;
  at = q;
  precision_int(p, w, a);
  if (*at == 'o') {
    q = at + 1;
    if ((p->bits[TENSOR_O] = eat_width(&q)) < 0) goto fail;
    at = q;
  }
  if (*at == 'p') {
    q = at + 1;
    if ((p->psum_bits = eat_width(&q)) < 0) goto fail;
    at = q;
  }
  if (*at) goto fail;
  return RC_OK;
fail:
  if (!s || !*s)
    diag_error(d, where, "an empty precision: %s", precision_grammar);
  else if (at > s && *at)
    diag_error(d, where, "'%s' is not a precision (at '%s'): %s", s, at, precision_grammar);
  else
    diag_error(d, where, "'%s' is not a precision: %s", s, precision_grammar);
  return RC_BADINPUT;
}

void precision_of(const Arch *a, Precision *p) {
  memset(p, 0, sizeof *p);
  for (int t = 0; t < NTENSORS; t++) p->bits[t] = arch_tensor_bits(a, t);
  p->psum_bits = a->psum_bits;
  p->number = (TechNumber)a->number;
}

/* The canonical spelling: "w8a8", "w8a8o16p32", "fp16", "binary" is w1a1. */
void precision_name(const Precision *p, char *buf, size_t n) {
  if (p->number != TECH_INT) {
    if (p->psum_bits && p->psum_bits != p->bits[TENSOR_W])
      snprintf(buf, n, "%sp%d", tech_number_name(p->number), p->psum_bits);
    else
      snprintf(buf, n, "%s", tech_number_name(p->number));
    return;
  }
  int len = snprintf(buf, n, "w%da%d", p->bits[TENSOR_W], p->bits[TENSOR_I]);
  if (len < 0 || (size_t)len >= n) return;
  if (p->bits[TENSOR_O] != p->bits[TENSOR_I])
    len += snprintf(buf + len, n - (size_t)len, "o%d", p->bits[TENSOR_O]);
  if (len >= 0 && (size_t)len < n && p->psum_bits)
    snprintf(buf + len, n - (size_t)len, "p%d", p->psum_bits);
}

/* ---- a model's own precision (--precision model) ------------------------------ */

/* The precision of one mac node from its operands' element types; false
 * (why set) if the types have no precision here. */
static bool node_precision(const Model *m, const Node *n, Precision *p, char *why, size_t wl) {
  memset(p, 0, sizeof *p);
  switch (n->op) {
  case OP_QLINEARCONV:
  case OP_QLINEARMATMUL: /* 8-bit operands, 32-bit sums, outputs requantized to 8 bits */
    precision_int(p, 8, 8);
    p->psum_bits = 32;
    return true;
  case OP_CONVINTEGER:
  case OP_MATMULINTEGER: /* 8-bit operands, the i32 sums are the output */
    precision_int(p, 8, 8);
    p->bits[TENSOR_O] = 32;
    return true;
  default: break;
  }
  DType t = n->nin > 0 && n->in[0] ? m->tensors[n->in[0]].dtype : DT_F32;
  DType w = n->nin > 1 && n->in[1] ? m->tensors[n->in[1]].dtype : t;
  if (w != t) {
    snprintf(why, wl, "operands of two types (%s and %s)", dtype_name(t), dtype_name(w));
    return false;
  }
  TechNumber num;
  int bits;
  switch (t) {
  case DT_F16: num = TECH_FP16, bits = 16; break;
  case DT_BF16: num = TECH_BF16, bits = 16; break;
  case DT_F32: num = TECH_FP32, bits = 32; break;
  default:
    snprintf(why, wl, "%s operands: the technology model has int, fp16, bf16 and fp32 MACs",
             dtype_name(t));
    return false;
  }
  precision_int(p, bits, bits);
  p->number = num;
  return true;
}

Rc precision_of_model(const Model *m, Precision *p, Diag *d) {
  const Node *first = NULL;
  char why[160], a[48], b[48];
  for (uint32_t i = 1; i < m->nnodes; i++) {
    const Node *n = &m->nodes[i];
    if (n->dead || op_class(n->op) != 'L') continue;
    Precision q;
    if (!node_precision(m, n, &q, why, sizeof why)) {
      diag_error(d, n->name, "--precision model: %s", why);
      return RC_BADINPUT;
    }
    if (!first) {
      first = n;
      *p = q;
    } else if (memcmp(p, &q, sizeof q) != 0) {
      precision_name(p, a, sizeof a);
      precision_name(&q, b, sizeof b);
      diag_error(d, n->name,
                 "--precision model: the layers differ (node '%s' is %s, this one %s); one "
                 "design runs one precision: give it with --precision",
                 first->name, a, b);
      return RC_BADINPUT;
    }
  }
  if (!first) {
    diag_error(d, NULL, "--precision model: the model has no mac layer to take a precision from");
    return RC_BADINPUT;
  }
  return RC_OK;
}

/* ---- an architecture at another precision ----------------------------------- */

/* The widest tensor level L may keep at widths bits[]. */
static int level_word(const Level *L, const int bits[NTENSORS]) {
  int wb = 0;
  for (int t = 0; t < NTENSORS; t++)
    if (L->keeps_allowed & (1u << t) && bits[t] > wb) wb = bits[t];
  return wb > 0 ? wb : bits[TENSOR_W];
}

/* words of width from bits wide into words of width to (rounded down). */
static int64_t rewords(int64_t words, int from, int to) {
  int64_t bits;
  if (!ck_mul_i64(words, from, &bits)) return (int64_t)((double)words * from / to);
  return bits / to;
}

static double rebw(double bw, int from, int to) { return bw > 0 ? bw * from / to : bw; }

Rc arch_set_precision(Arch *a, const Precision *p, Diag *d) {
  for (int t = 0; t < NTENSORS; t++)
    if (p->bits[t] < 1 || p->bits[t] > 64) {
      diag_error(d, a->name, "a %c width of %d bits: must be 1 to 64", "WIO"[t], p -> bits[t]);
      return RC_BADINPUT;
    }
  Precision now;
  precision_of(a, &now);
  bool explicit_mac = !(a->mac_derived & LEVEL_TECH_ENERGY) && a->tech_nm <= 0;
  if (explicit_mac && memcmp(&now, p, sizeof now) != 0)
    diag_warn(d, a->name,
              "no technology node: the MAC's energy and area stay the file's at the new "
              "precision (give `technology:` for the model's)");
  for (int l = 0; l < a->nlevels; l++) {
    Level *L = &a->level[l];
    int from = L->word_bits, to = level_word(L, p->bits);
    if (from != level_word(L, now.bits)) continue; /* a width of its own (an accumulator) */
    if (from == to) continue;
    int64_t block_bits = (L->block_words > 0 ? L->block_words : 1) * (int64_t)from;
    int64_t block = block_bits / to;
    L->block_words = block >= 1 ? block : 1;
    if (L->capacity_words > 0) {
      L->capacity_words = rewords(L->capacity_words, from, to);
      if (L->capacity_words < 1) {
        diag_error(d, a->name, "level '%s': %d bits of capacity hold no %d-bit word", L->name,
                   (int)(block_bits), to);
        return RC_BADINPUT;
      }
    }
    for (int t = 0; t < NTENSORS; t++)
      if (L->tensor_capacity_words[t] > 0)
        L->tensor_capacity_words[t] = rewords(L->tensor_capacity_words[t], from, to);
    L->read_bw = rebw(L->read_bw, from, to);
    L->write_bw = rebw(L->write_bw, from, to);
    L->shared_bw = rebw(L->shared_bw, from, to);
    if (!(a->tech_nm > 0 && L->derived & LEVEL_TECH_AREA))
      L->area_um2_per_word = L->area_um2_per_word * to / from;
    if (!(a->tech_nm > 0 && L->derived & LEVEL_TECH_NOC))
      L->noc_pj_per_hop = L->noc_pj_per_hop * to / from;
    L->word_bits = to;
  }
  for (int t = 0; t < NTENSORS; t++) a->tensor_bits[t] = p->bits[t];
  a->psum_bits = p->psum_bits;
  a->number = (uint8_t)p->number;
  return arch_apply_tech(a, d);
}

/* ---- the accuracy table ------------------------------------------------------ */

static Rc acc_error(Diag *d, const char *path, int line, int col, const char *fmt, const char *v) {
  char where[4200];
  snprintf(where, sizeof where, "%s:%d:%d", path, line, col);
  diag_error(d, where, fmt, v);
  return RC_BADINPUT;
}

Rc accuracy_load(const char *path, AccuracyTable *t, Diag *d) {
  memset(t, 0, sizeof *t);
  FILE *f = fopen(path, "r");
  if (!f) {
    diag_error(d, path, "cannot read the accuracy table: %s", strerror(errno));
    return RC_BADINPUT;
  }
  char line[512];
  int ln = 0;
  bool have_min = false;
  Rc rc = RC_OK;
  while (rc == RC_OK && fgets(line, sizeof line, f)) {
    ln++;
    if (!strchr(line, '\n') && !feof(f)) {
      rc = acc_error(d, path, ln, 1, "%s", "line longer than 510 characters");
      break;
    }
    char *hash = strchr(line, '#');
    if (hash) *hash = 0;
    char *tok[4];
    int col[4], nt = 0;
    for (char *q = line; *q && nt < 4;) {
      while (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r') q++;
      if (!*q) break;
      tok[nt] = q;
      col[nt++] = (int)(q - line) + 1;
      while (*q && !(*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')) q++;
      if (*q) *q++ = 0;
    }
    if (nt == 0) continue;
    if (nt == 4) {
      rc = acc_error(d, path, ln, col[3],
                     "unexpected '%s': a line is MODEL PRECISION ACCURACY "
                     "or minimum ACCURACY",
                     tok[3]);
      break;
    }
    double v;
    char *end;
    const char *num = tok[nt - 1];
    errno = 0;
    v = strtod(num, &end);
    if (end == num || *end || errno || !isfinite(v) || v < 0 || v > 100) {
      rc = acc_error(d, path, ln, col[nt - 1],
                     "'%s' is not an accuracy (a percentage from 0 to 100)", num);
      break;
    }
    if (strcmp(tok[0], "minimum") == 0) {
      if (nt != 2) {
        rc = acc_error(d, path, ln, col[0], "%s", "'minimum' takes one accuracy");
      } else if (have_min) {
        rc = acc_error(d, path, ln, col[0], "%s", "a second 'minimum' line");
      } else {
        t->minimum = v;
        have_min = true;
      }
      continue;
    }
    if (nt != 3) {
      rc = acc_error(d, path, ln, col[0], "'%s': a line is MODEL PRECISION ACCURACY", tok[0]);
      break;
    }
    if (t->n == ACCURACY_MAX_ROWS) {
      rc = acc_error(d, path, ln, col[0], "more than %s rows", "64");
      break;
    }
    AccuracyRow *row = &t->row[t->n];
    if (strlen(tok[0]) >= sizeof row->model) {
      rc = acc_error(d, path, ln, col[0], "model name '%s' too long", tok[0]);
      break;
    }
    char where[4200];
    snprintf(where, sizeof where, "%s:%d:%d", path, ln, col[1]);
    if ((rc = precision_parse(tok[1], &row->precision, d, where)) != RC_OK) break;
    for (int k = 0; k < t->n; k++)
      if (strcmp(t->row[k].model, tok[0]) == 0 &&
          memcmp(&t->row[k].precision, &row->precision, sizeof row->precision) == 0) {
        rc = acc_error(d, path, ln, col[1], "precision '%s' given twice for this model", tok[1]);
        break;
      }
    if (rc != RC_OK) break;
    snprintf(row->model, sizeof row->model, "%s", tok[0]);
    row->accuracy = v;
    t->n++;
  }
  fclose(f);
  if (rc == RC_OK && !have_min)
    rc = acc_error(d, path, ln ? ln : 1, 1, "%s", "no 'minimum ACCURACY' line");
  if (rc == RC_OK && t->n == 0)
    rc = acc_error(d, path, ln ? ln : 1, 1, "%s", "no MODEL PRECISION ACCURACY row");
  return rc;
}

int accuracy_allowed(const AccuracyTable *t, const char *const *models, int nmodels, Precision *out,
                     int max, char *why, size_t whylen) {
  int n = 0;
  if (why && whylen) why[0] = 0;
  for (int m = 0; m < nmodels; m++) {
    bool any = false;
    for (int j = 0; j < t->n; j++) any |= strcmp(t->row[j].model, models[m]) == 0;
    if (!any) {
      if (why && whylen)
        snprintf(why, whylen, "model '%s' has no row in the accuracy table", models[m]);
      return 0;
    }
  }
  for (int k = 0; k < t->n; k++) {
    const AccuracyRow *r = &t->row[k];
    bool seen = false;
    for (int j = 0; j < n; j++) seen |= memcmp(&out[j], &r->precision, sizeof out[j]) == 0;
    if (seen) continue;
    /* every model must have this precision at or above the minimum */
    bool ok = true;
    for (int m = 0; m < nmodels && ok; m++) {
      bool found = false;
      for (int j = 0; j < t->n; j++)
        if (strcmp(t->row[j].model, models[m]) == 0 &&
            memcmp(&t->row[j].precision, &r->precision, sizeof r->precision) == 0) {
          found = true;
          ok = t->row[j].accuracy >= t->minimum;
        }
      if (!found) ok = false;
    }
    if (ok && n < max) out[n++] = r->precision;
  }
  if (n == 0 && why && whylen) {
    snprintf(why, whylen, "no precision in the table reaches the minimum accuracy %g%% for %s%s",
             t->minimum, nmodels ? models[0] : "the models", nmodels > 1 ? " and the others" : "");
  }
  return n;
}
