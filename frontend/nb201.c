/*
 * nb201.c: the NAS-Bench-201 cell space and its accuracy table
 * (frontend.h: nb201_*).  A cell is 6 edge ops, in the order the
 * benchmark's arch string lists them: 0->1, 0->2, 1->2, 0->3, 1->3, 2->3;
 * ops are NB201_NONE..NB201_POOL.  A cell's code is its ops read as a
 * base-5 number, edge 0 least significant, so codes are 0..15624 and every
 * cell has exactly one.
 *
 * The table (data/nasbench201/accuracy.csv, README there) is read whole;
 * rows keep the file's order, and by_code maps a code to its row.  A table
 * that lacks a cell, lists one twice, or has a malformed row is refused with
 * the line that is wrong.
 */
#include "frontend/frontend.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const op_names[NB201_NOPS] = {"none", "skip_connect", "nor_conv_1x1",
                                                 "nor_conv_3x3", "avg_pool_3x3"};
static const char edge_from[NB201_EDGES] = {0, 0, 1, 0, 1, 2};

const char *nb201_op_name(int op) { return op >= 0 && op < NB201_NOPS ? op_names[op] : "?"; }

int nb201_code(const uint8_t ops[NB201_EDGES]) {
  int c = 0;
  for (int e = NB201_EDGES - 1; e >= 0; e--) c = c * NB201_NOPS + ops[e];
  return c;
}

void nb201_decode(int code, uint8_t ops[NB201_EDGES]) {
  for (int e = 0; e < NB201_EDGES; e++) {
    ops[e] = (uint8_t)(code % NB201_NOPS);
    code /= NB201_NOPS;
  }
}

void nb201_format(const uint8_t ops[NB201_EDGES], char *buf, size_t n) {
  size_t len = 0;
  buf[0] = 0;
  for (int e = 0; e < NB201_EDGES && len < n; e++) {
    const char *pre = e == 0 ? "|" : (e == 1 || e == 3) ? "+|" : "";
    len += (size_t)snprintf(buf + len, n - len, "%s%s~%d|", pre, op_names[ops[e]], edge_from[e]);
  }
}

bool nb201_connected(const uint8_t ops[NB201_EDGES]) {
  bool reach[4] = {true, false, false, false};
  for (int e = 0; e < NB201_EDGES; e++) {
    int to = e == 0 ? 1 : e < 3 ? 2 : 3;
    if (ops[e] != NB201_NONE && reach[(int)edge_from[e]]) reach[to] = true;
  }
  return reach[3];
}

bool nb201_table_locate(const char *given, char *buf, size_t n) {
  const char *cand[4] = {given, getenv("NAASC_NB201_CSV"), NULL, NULL};
  for (int i = 0; i < 2; i++)
    if (cand[i] && *cand[i]) {
      snprintf(buf, n, "%s", cand[i]);
      return true; /* named explicitly: the caller reports if it is missing */
    }
  char exe[4096];
  ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (len > 0) {
    exe[len] = 0;
    char *slash = strrchr(exe, '/');
    if (slash) *slash = 0;
    const char *rel[2] = {"/../data/nasbench201/accuracy.csv",
                          "/../share/naasc/nasbench201/accuracy.csv"};
    for (int i = 0; i < 2; i++) {
      snprintf(buf, n, "%s%s", exe, rel[i]);
      if (access(buf, R_OK) == 0) return true;
    }
  }
#ifdef NAASC_SOURCE_DIR
  snprintf(buf, n, "%s/data/nasbench201/accuracy.csv", NAASC_SOURCE_DIR);
  if (access(buf, R_OK) == 0) return true;
#endif
  buf[0] = 0;
  return false;
}

static Rc row_fail(Diag *d, int line, const char *msg) {
  char where[32];
  snprintf(where, sizeof where, "line %d", line);
  diag_error(d, where, "%s (expected index,arch,cifar10,cifar100,imagenet16_120)", msg);
  return RC_BADINPUT;
}

Rc nb201_table_load(const char *path, Nb201Table *t, Diag *d) {
  memset(t, 0, sizeof *t);
  uint8_t *buf = NULL;
  size_t len = 0;
  const char *saved = d->file;
  d->file = path;
  Rc rc = file_read_all(path, (size_t)64 << 20, &buf, &len, d);
  if (rc != RC_OK) goto done;
  t->index = xmalloc(sizeof *t->index * NB201_CELLS);
  t->ops = xmalloc(sizeof *t->ops * NB201_CELLS);
  t->acc = xmalloc(sizeof *t->acc * NB201_CELLS);
  if (!t->index || !t->ops || !t->acc) {
    diag_error(d, NULL, "out of memory reading the table");
    rc = RC_INTERNAL;
    goto done;
  }
  for (int c = 0; c < NB201_CELLS; c++) t->by_code[c] = -1;
  char *s = (char *)buf, *end = s + len;
  int line = 0;
  while (s < end) {
    char *nl = memchr(s, '\n', (size_t)(end - s));
    char *eol = nl ? nl : end;
    line++;
    if (eol > s && eol[-1] == '\r') eol[-1] = 0;
    *eol = 0; /* at the end, file_read_all's NUL */
    if (line == 1) {
      if (strncmp(s, "index,arch,", 11) != 0) {
        rc = row_fail(d, line, "not the NAS-Bench-201 table header");
        goto done;
      }
    } else if (*s) {
      if (t->n == NB201_CELLS) {
        rc = row_fail(d, line, "more than 15625 cells");
        goto done;
      }
      char *p = s, *q;
      long idx = strtol(p, &q, 10);
      if (q == p || *q != ',' || idx < 0) {
        rc = row_fail(d, line, "bad index");
        goto done;
      }
      p = q + 1;
      q = strchr(p, ',');
      if (!q) {
        rc = row_fail(d, line, "no arch");
        goto done;
      }
      *q = 0;
      uint8_t ops[NB201_EDGES];
      Diag quiet;
      diag_init(&quiet, NULL, NULL);
      if (nb201_parse(p, ops, &quiet) != RC_OK) {
        rc = row_fail(d, line, "malformed arch string");
        goto done;
      }
      p = q + 1;
      for (int k = 0; k < NB201_NDATASETS; k++) {
        double v = strtod(p, &q);
        if (q == p || (k < NB201_NDATASETS - 1 ? *q != ',' : *q != 0) || v < 0 || v > 100) {
          rc = row_fail(d, line, "bad accuracy");
          goto done;
        }
        t->acc[t->n][k] = v;
        p = q + 1;
      }
      int code = nb201_code(ops);
      if (t->by_code[code] >= 0) {
        rc = row_fail(d, line, "a cell listed twice");
        goto done;
      }
      t->by_code[code] = t->n;
      t->index[t->n] = (int32_t)idx;
      memcpy(t->ops[t->n], ops, NB201_EDGES);
      t->n++;
    }
    s = eol + 1;
  }
  if (t->n != NB201_CELLS) {
    char msg[64];
    snprintf(msg, sizeof msg, "%d cells, not 15625", t->n);
    rc = row_fail(d, line, msg);
  }
done:
  xfree(buf);
  d->file = saved;
  if (rc != RC_OK) nb201_table_free(t);
  return rc;
}

void nb201_table_free(Nb201Table *t) {
  xfree(t->index);
  xfree(t->ops);
  xfree(t->acc);
  t->index = NULL;
  t->ops = NULL;
  t->acc = NULL;
  t->n = 0;
}

int nb201_table_find_index(const Nb201Table *t, long index) {
  for (int r = 0; r < t->n; r++)
    if (t->index[r] == index) return r;
  return -1;
}

bool nb201_dataset_parse(const char *s, Nb201Dataset *out) {
  static const char *const names[NB201_NDATASETS] = {"cifar10", "cifar100", "imagenet16"};
  for (int k = 0; k < NB201_NDATASETS; k++)
    if (strcmp(s, names[k]) == 0 || (k == NB201_IMAGENET16 && strcmp(s, "imagenet16-120") == 0)) {
      *out = (Nb201Dataset)k;
      return true;
    }
  return false;
}

const char *nb201_dataset_name(Nb201Dataset k) {
  return k == NB201_CIFAR10 ? "cifar10" : k == NB201_CIFAR100 ? "cifar100" : "imagenet16-120";
}
