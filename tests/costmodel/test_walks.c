/*
 * test_walks.c: the closed forms and the shortcut walks of cost.c against
 * the general extrapolated walk (cost_eval_reference) on random mappings.
 *
 * For each architecture and layer of the validation cases it draws seeded
 * random mappings (random splits of every dim over the levels and array
 * axes, random loop orders, random bypass, and in half of them one or two
 * dims with a remainder) and asserts that cost_eval and cost_eval_reference
 * agree on every figure.  Capacities are lifted so that every draw counts.
 *
 * Usage: test_walks DIR [DRAWS_PER_CASE].  Prints "N passed, M failed".
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"

static uint64_t rng = 0x9E3779B97F4A7C15u;

static uint64_t next(void) { /* xorshift64* */
  rng ^= rng >> 12, rng ^= rng << 25, rng ^= rng >> 27;
  return rng * 0x2545F4914F6CDD1Du;
}

static int64_t pick(int64_t n) { return (int64_t)(next() % (uint64_t)n); }

/* A random divisor of n that is <= cap (1 if none but 1). */
static int64_t divisor(int64_t n, int64_t cap) {
  int64_t ds[64];
  int k = 0;
  for (int64_t v = 1; v <= n && v <= cap && k < 64; v++)
    if (n % v == 0) ds[k++] = v;
  return ds[pick(k)];
}

static void shuffle(uint8_t *a, int n) {
  for (int i = n - 1; i > 0; i--) {
    int j = (int)pick(i + 1);
    uint8_t t = a[i];
    a[i] = a[j], a[j] = t;
  }
}

/* Gives dim d a remainder: a loop [f, r] at level li under a loop at level
 * o < li, all other temporal factors of d 1.  False if it does not fit. */
static bool make_ragged(const Problem *p, Mapping *m, int d) {
  int nl = m->nlevels;
  if (nl < 2) return false;
  int li = 1 + (int)pick(nl - 1), o = (int)pick(li);
  int64_t sp = 1;
  for (int l = 0; l < nl; l++)
    for (int x = 0; x < ACCEL_MAX_AXES; x++) {
      if (m->level[l].spatial[x][d] > 1 && l < li) return false;
      sp *= m->level[l].spatial[x][d];
    }
  int64_t need = p->dim[d] / sp;
  if (need < 3) return false;
  int64_t f = 2 + pick(need - 2); /* 2..need-1 */
  int64_t outer = (need + f - 1) / f, r = need - (outer - 1) * f;
  if (r <= 0 || r >= f) return false;
  for (int l = 0; l < nl; l++) m->level[l].factor[d] = 1, m->level[l].remainder[d] = 0;
  m->level[o].factor[d] = outer;
  m->level[li].factor[d] = f, m->level[li].remainder[d] = r;
  return true;
}

static void random_mapping(const Problem *p, const Arch *a, Mapping *m) {
  int nl = a->nlevels;
  int64_t room[ACCEL_MAX_LEVELS][ACCEL_MAX_AXES];
  m->nlevels = nl;
  for (int l = 0; l < nl; l++) {
    uint8_t keep = l == 0 ? ACCEL_ALL_TENSORS : (uint8_t)(a->level[l].keeps_allowed & next());
    level_mapping_init(&m->level[l], keep);
    shuffle(m->level[l].order, NDIMS);
    for (int x = 0; x < ACCEL_MAX_AXES; x++) {
      room[l][x] = a->level[l].fanout[x];
      shuffle(m->level[l].spatial_order[x], NDIMS);
    }
  }
  for (int d = 0; d < NDIMS; d++) {
    int64_t rest = p->dim[d];
    for (int l = 0; l < nl; l++)
      for (int x = 0; x < ACCEL_MAX_AXES; x++)
        if (room[l][x] > 1 && pick(4) == 0) {
          int64_t v = divisor(rest, room[l][x]);
          m->level[l].spatial[x][d] = v, room[l][x] /= v, rest /= v;
        }
    for (int l = nl - 1; l > 0; l--)
      if (pick(2)) {
        int64_t v = divisor(rest, rest);
        m->level[l].factor[d] = v, rest /= v;
      }
    m->level[0].factor[d] = rest;
  }
  if (pick(2)) {
    int n = 1 + (int)pick(2);
    for (int i = 0; i < n; i++) make_ragged(p, m, (int)pick(NDIMS));
  }
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: test_walks DIR [DRAWS_PER_CASE]\n");
    return 2;
  }
  int draws = argc > 2 ? atoi(argv[2]) : 40;
  DIR *dp = opendir(argv[1]);
  if (!dp) {
    fprintf(stderr, "test_walks: cannot open %s\n", argv[1]);
    return 1;
  }
  static CostCase c;
  int npass = 0, nfail = 0, ninvalid = 0, nragged = 0;
  struct dirent *e;
  while ((e = readdir(dp))) {
    size_t len = strlen(e->d_name);
    if (len < 6 || strcmp(e->d_name + len - 5, ".json") || !strcmp(e->d_name, "index.json"))
      continue;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", argv[1], e->d_name);
    Diag d;
    diag_init(&d, stderr, path);
    if (case_load(path, &c, &d) != RC_OK) {
      nfail++;
      continue;
    }
    for (int l = 0; l < c.arch.nlevels; l++) c.arch.level[l].capacity_words = 0;
    for (int k = 0; k < draws; k++) {
      Mapping m;
      random_mapping(&c.problem, &c.arch, &m);
      CostResult fast, ref;
      int e1 = cost_eval(&c.problem, &c.arch, &m, &fast);
      int e2 = cost_eval_reference(&c.problem, &c.arch, &m, &ref);
      if (e1 != e2) {
        printf("FAIL %s draw %d: cost_eval %s, reference %s\n", c.name, k, cost_error_name(e1),
               cost_error_name(e2));
        nfail++;
        continue;
      }
      if (e1) {
        ninvalid++;
        continue;
      }
      for (int l = 0; l < m.nlevels; l++)
        for (int dd = 0; dd < NDIMS; dd++)
          if (m.level[l].remainder[dd]) nragged++, l = m.nlevels, dd = NDIMS;
      if (cost_compare(&fast, &ref, &c.arch, NULL, true)) {
        printf("FAIL %s draw %d: closed form and walk differ\n", c.name, k);
        cost_compare(&fast, &ref, &c.arch, stdout, true);
        nfail++;
      } else {
        npass++;
      }
    }
  }
  closedir(dp);
  printf("%d passed, %d failed (%d with remainders; %d draws invalid, skipped)\n", npass, nfail,
         nragged, ninvalid);
  return nfail == 0 && npass > 0 ? 0 : 1;
}
