/*
 * test_kernel.c: compute tiles compiled by codegen/codegen.c against the C
 * reference kernel_ref of stream/kernel.c.
 *
 *   - a hand-computed 1-D convolution (exact values) through both paths;
 *   - 400 random kernels (1-8 loops, random bounds, strides including 0,
 *     conv windows p*stride + r*dilation): the JIT output called through
 *     libffi equals kernel_ref's bit for bit (memcmp), and so does a direct
 *     call; data span 2^-8..2^8 with random signs, so a reordered sum would
 *     differ (checked: reversing the reduction loop changes the bits of
 *     some of these kernels, i.e. the memcmp can fail);
 *   - 80 realistic conv tiles (eyeriss- and nvdla-like, strided, dilated)
 *     in random loop orders and two layouts, bit for bit as well;
 *   - the cache: each distinct kernel compiles exactly once, a repeat is a
 *     hit returning the same function, fields beyond nloops are ignored,
 *     and two threads sharing one Codegen agree with the counts;
 *   - invalid kernels are refused with RC_BADINPUT and a message, and
 *     change nothing.
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/codegen.h"
#include "tests/unit/test.h"
#include "runtime/runtime.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rng(void) { /* xorshift64* */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 2685821657736338717u;
}

static int64_t rnd(int64_t lo, int64_t hi) {
  return lo + (int64_t)(rng() % (uint64_t)(hi - lo + 1));
}

/* A float in +-[2^-8, 2^8) with a random mantissa: sums of these round. */
static float rnd_float(void) {
  float m = 1.0f + (float)(rng() >> 40) / (float)(1 << 24);
  float v = ldexpf(m, (int)rnd(-8, 7));
  return rng() & 1 ? -v : v;
}

/* Elements operand op touches: 1 + its largest index. */
static int64_t extent(const TileKernel *k, int op) {
  int64_t e = 1;
  for (int l = 0; l < k->nloops; l++) e += (k->bound[l] - 1) * k->stride[op][l];
  return e;
}

static float *rnd_buffer(int64_t n) {
  float *b = malloc((size_t)n * sizeof *b);
  for (int64_t x = 0; x < n; x++) b[x] = rnd_float();
  return b;
}

static Diag quiet;

static void test_hand_conv(void) {
  /* o[p] += i[2p + r] * w[r], P = 3, R = 3, stride 2 (loops p, r). */
  TileKernel k = {.nloops = 2, .bound = {3, 3}};
  k.stride[KOP_O][0] = 1;
  k.stride[KOP_I][0] = 2;
  k.stride[KOP_I][1] = 1;
  k.stride[KOP_W][1] = 1;
  const float in[7] = {1, 2, 3, 4, 5, 6, 7}, w[3] = {1, -1, 2};
  /* p=0: 1-2+6 = 5; p=1: 3-4+10 = 9; p=2: 5-6+14 = 13; plus o's initial 1, 0, -1 */
  const float want[3] = {6, 9, 12};
  float ref[3] = {1, 0, -1}, jit[3] = {1, 0, -1};
  kernel_ref(&k, ref, in, w);
  for (int x = 0; x < 3; x++) CHECK_EQ(ref[x], want[x]);
  Codegen *cg = codegen_create(&quiet);
  CHECK(cg);
  if (!cg) return;
  KernelFn fn;
  CHECK_EQ(codegen_kernel(cg, &k, &fn, &quiet), RC_OK);
  kernel_call_ffi(fn, jit, in, w);
  for (int x = 0; x < 3; x++) CHECK_EQ(jit[x], want[x]);
  codegen_destroy(cg);
}

static float twice_first(float *o, const float *i, const float *w) {
  return o[0] = 2 * i[0] + w[0];
}
static void kernel_twice(float *o, const float *i, const float *w) { twice_first(o, i, w); }

static void test_ffi_call(void) {
  /* libffi passes the three pointers in order, whatever the callee. */
  float o = 0, i = 3, w = 0.5f;
  kernel_call_ffi(kernel_twice, &o, &i, &w);
  CHECK_EQ(o * 2, 13);
}

/* A random kernel: 1-8 loops, at most ~4096 MACs; strides 0 to 40; in
 * about half, two loops form a conv window (i stride p*s and r*dil). */
static void rnd_kernel(TileKernel *k) {
  memset(k, 0, sizeof *k);
  k->nloops = (int)rnd(1, KERNEL_MAX_LOOPS);
  int64_t macs = 1;
  for (int l = 0; l < k->nloops; l++) {
    int64_t b = rnd(1, k->nloops <= 3 ? 24 : 6);
    while (b > 1 && macs * b > 4096) b /= 2;
    k->bound[l] = b;
    macs *= b;
    for (int op = 0; op < KOP_N; op++) {
      int64_t r = rnd(0, 9);
      k->stride[op][l] = r < 4 ? 0 : r < 7 ? rnd(1, 3) : rnd(4, 40);
    }
  }
  if (k->nloops >= 2 && rng() % 2) {
    int a = (int)rnd(0, k->nloops - 1), b = (int)rnd(0, k->nloops - 1);
    if (a == b) b = (a + 1) % k->nloops;
    int64_t row = rnd(1, 20);
    k->stride[KOP_I][a] = rnd(1, 3) * row; /* p * stride */
    k->stride[KOP_I][b] = rnd(1, 3) * row; /* r * dilation */
    k->stride[KOP_O][b] = 0;               /* r reduces into o */
    k->stride[KOP_W][a] = 0;               /* the weights do not move with p */
  }
}

/* kernel_ref with the innermost reduction loop run backwards: a different
 * summation order, to show the bit comparison can tell orders apart. */
static void ref_reversed(const TileKernel *k, float *o, const float *i, const float *w) {
  TileKernel r = *k;
  int l = k->nloops - 1;
  const float *ib = i + (k->bound[l] - 1) * k->stride[KOP_I][l];
  const float *wb = w + (k->bound[l] - 1) * k->stride[KOP_W][l];
  /* negative strides: outside the TileKernel contract, fine for kernel_ref's odometer */
  r.stride[KOP_I][l] = -k->stride[KOP_I][l];
  r.stride[KOP_W][l] = -k->stride[KOP_W][l];
  kernel_ref(&r, o, ib, wb);
}

#define NRANDOM 400

static TileKernel rk[NRANDOM];
static KernelFn rfn[NRANDOM];

static void test_random_bit_identical(void) {
  Codegen *cg = codegen_create(&quiet);
  CHECK(cg);
  if (!cg) return;
  int same = 0, direct_same = 0, reorder_differs = 0, reductions = 0, distinct = 0;
  for (int n = 0; n < NRANDOM; n++) {
    rnd_kernel(&rk[n]);
    bool seen = false;
    for (int m = 0; m < n && !seen; m++) seen = kernel_equal(&rk[m], &rk[n]);
    distinct += !seen;
    Rc rc = codegen_kernel(cg, &rk[n], &rfn[n], &quiet);
    CHECK_EQ(rc, RC_OK);
    if (rc) continue;
    const TileKernel *k = &rk[n];
    int64_t no = extent(k, KOP_O), ni = extent(k, KOP_I), nw = extent(k, KOP_W);
    float *o0 = rnd_buffer(no), *in = rnd_buffer(ni), *w = rnd_buffer(nw);
    size_t ob = (size_t)no * sizeof(float);
    float *ref = malloc(ob), *jit = malloc(ob), *dir = malloc(ob), *rev = malloc(ob);
    memcpy(ref, o0, ob);
    memcpy(jit, o0, ob);
    memcpy(dir, o0, ob);
    memcpy(rev, o0, ob);
    kernel_ref(k, ref, in, w);
    kernel_call_ffi(rfn[n], jit, in, w);
    rfn[n](dir, in, w);
    if (!memcmp(ref, jit, ob)) {
      same++;
    } else {
      for (int64_t x = 0; x < no; x++)
        if (memcmp(&ref[x], &jit[x], sizeof(float))) {
          fprintf(stderr, "kernel %d (%d loops): o[%lld] ref %.9g jit %.9g\n", n, k->nloops,
                  (long long)x, ref[x], jit[x]);
          break;
        }
    }
    direct_same += !memcmp(ref, dir, ob);
    int l = k->nloops - 1;
    if (k->stride[KOP_O][l] == 0 && k->bound[l] > 2 && k->stride[KOP_I][l] + k->stride[KOP_W][l]) {
      reductions++;
      ref_reversed(k, rev, in, w);
      reorder_differs += memcmp(ref, rev, ob) != 0;
    }
    free(o0), free(in), free(w), free(ref), free(jit), free(dir), free(rev);
  }
  CHECK_EQ(same, NRANDOM);
  CHECK_EQ(direct_same, NRANDOM);
  printf("random kernels: %d/%d bit-identical through ffi, %d/%d direct; %d distinct; "
         "reversed reduction differs in %d of %d\n",
         same, NRANDOM, direct_same, NRANDOM, distinct, reorder_differs, reductions);
  CHECK(reductions > 20);
  CHECK(reorder_differs > reductions / 4); /* the comparison is sensitive to order */

  int64_t nk;
  double secs;
  codegen_stats(cg, &nk, &secs);
  CHECK_EQ(nk, distinct);
  CHECK(secs > 0);
  /* Again: every kernel is a hit, with the same function. */
  for (int n = 0; n < NRANDOM; n++) {
    KernelFn fn;
    CHECK_EQ(codegen_kernel(cg, &rk[n], &fn, &quiet), RC_OK);
    CHECK(fn == rfn[n]);
  }
  int64_t nk2;
  codegen_stats(cg, &nk2, NULL);
  CHECK_EQ(nk2, distinct);
  codegen_destroy(cg);
}

/* A conv tile with loops in `order` (a permutation of "KCPQRS"), stride st
 * and dilation dl; layouts [C][H][W], [K][C][R][S], [K][P][Q], or with
 * channels_last [H][W][C], [R][S][C][K], [P][Q][K]. */
static TileKernel conv_tile(const char *order, const int64_t dim[6], int64_t st, int64_t dl,
                            bool channels_last) {
  enum { K, C, P, Q, R, S };
  int64_t h = (dim[P] - 1) * st + (dim[R] - 1) * dl + 1;
  int64_t wd = (dim[Q] - 1) * st + (dim[S] - 1) * dl + 1;
  int64_t so[6], si[6], sw[6];
  if (!channels_last) {
    int64_t o[6] = {dim[P] * dim[Q], 0, dim[Q], 1, 0, 0};
    int64_t in[6] = {0, h * wd, st * wd, st, dl * wd, dl};
    int64_t w[6] = {dim[C] * dim[R] * dim[S], dim[R] * dim[S], 0, 0, dim[S], 1};
    memcpy(so, o, sizeof so), memcpy(si, in, sizeof si), memcpy(sw, w, sizeof sw);
  } else {
    int64_t o[6] = {1, 0, dim[Q] * dim[K], dim[K], 0, 0};
    int64_t in[6] = {0, 1, st * wd * dim[C], st * dim[C], dl * wd * dim[C], dl * dim[C]};
    int64_t w[6] = {1, dim[K], 0, 0, dim[S] * dim[C] * dim[K], dim[C] * dim[K]};
    memcpy(so, o, sizeof so), memcpy(si, in, sizeof si), memcpy(sw, w, sizeof sw);
  }
  TileKernel k;
  memset(&k, 0, sizeof k);
  for (const char *c = order; *c; c++) {
    int d = (int)(strchr("KCPQRS", *c) - "KCPQRS"), l = k.nloops++;
    k.bound[l] = dim[d];
    k.stride[KOP_O][l] = so[d];
    k.stride[KOP_I][l] = si[d];
    k.stride[KOP_W][l] = sw[d];
  }
  return k;
}

/* JIT through ffi vs kernel_ref on k with random data: bit-identical? */
static bool same_bits(Codegen *cg, const TileKernel *k) {
  KernelFn fn;
  if (codegen_kernel(cg, k, &fn, &quiet)) return false;
  int64_t no = extent(k, KOP_O), ni = extent(k, KOP_I), nw = extent(k, KOP_W);
  float *ref = rnd_buffer(no), *in = rnd_buffer(ni), *w = rnd_buffer(nw);
  float *jit = malloc((size_t)no * sizeof *jit);
  memcpy(jit, ref, (size_t)no * sizeof *jit);
  kernel_ref(k, ref, in, w);
  kernel_call_ffi(fn, jit, in, w);
  bool same = !memcmp(ref, jit, (size_t)no * sizeof *jit);
  free(ref), free(in), free(w), free(jit);
  return same;
}

static void test_conv_tiles(void) {
  /* Realistic tiles (eyeriss- and nvdla-like, strided and dilated) in 8
   * random loop orders each, both layouts: where O2 vectorizes (SLP,
   * gathers, interleaving) the bits must still match. */
  static const struct {
    int64_t dim[6], st, dl;
  } shapes[] = {
      {{16, 4, 4, 4, 3, 3}, 1, 1}, {{16, 64, 1, 16, 1, 1}, 1, 1}, {{8, 8, 3, 5, 3, 3}, 2, 1},
      {{4, 6, 4, 4, 3, 3}, 1, 2},  {{32, 3, 2, 7, 3, 3}, 2, 2},
  };
  Codegen *cg = codegen_create(&quiet);
  CHECK(cg);
  if (!cg) return;
  int same = 0, total = 0;
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
    for (int perm = 0; perm < 8; perm++) {
      char order[7] = "KCPQRS";
      for (int x = 5; x > 0; x--) { /* Fisher-Yates */
        int y = (int)rnd(0, x);
        char t = order[x];
        order[x] = order[y], order[y] = t;
      }
      for (int cl = 0; cl < 2; cl++) {
        TileKernel k = conv_tile(order, shapes[s].dim, shapes[s].st, shapes[s].dl, cl);
        total++;
        if (same_bits(cg, &k)) {
          same++;
        } else {
          fprintf(stderr, "conv tile %zu order %s layout %d differs\n", s, order, cl);
        }
      }
    }
  printf("conv tiles: %d/%d bit-identical\n", same, total);
  CHECK_EQ(same, total);
  codegen_destroy(cg);
}

static void test_cache_exact(void) {
  Codegen *cg = codegen_create(&quiet);
  CHECK(cg);
  if (!cg) return;
  TileKernel a = {.nloops = 3, .bound = {4, 3, 3}};
  a.stride[KOP_O][0] = 1;
  a.stride[KOP_I][1] = 1;
  a.stride[KOP_I][2] = 1;
  a.stride[KOP_W][1] = 3;
  a.stride[KOP_W][2] = 1;
  TileKernel b = a; /* the same kernel with garbage beyond nloops */
  b.bound[5] = 77;
  b.stride[KOP_I][7] = 5;
  TileKernel c = a; /* a different one */
  c.stride[KOP_W][2] = 2;
  KernelFn fa, fb, fc, fa2;
  CHECK_EQ(codegen_kernel(cg, &a, &fa, &quiet), RC_OK);
  CHECK_EQ(codegen_kernel(cg, &a, &fa2, &quiet), RC_OK);
  int64_t nk;
  codegen_stats(cg, &nk, NULL);
  CHECK_EQ(nk, 1);
  CHECK(fa == fa2);
  CHECK_EQ(codegen_kernel(cg, &b, &fb, &quiet), RC_OK);
  codegen_stats(cg, &nk, NULL);
  CHECK_EQ(nk, 1);
  CHECK(fb == fa);
  CHECK_EQ(codegen_kernel(cg, &c, &fc, &quiet), RC_OK);
  codegen_stats(cg, &nk, NULL);
  CHECK_EQ(nk, 2);
  CHECK(fc != fa);
  codegen_destroy(cg);
}

typedef struct {
  Codegen *cg;
  int first, fails;
} Worker;

static void *worker(void *arg) {
  Worker *wk = arg;
  for (int n = 0; n < 80; n++) {
    KernelFn fn;
    const TileKernel *k = &rk[(wk->first + n) % 120];
    if (codegen_kernel(wk->cg, k, &fn, &quiet) || !fn) wk->fails++;
  }
  return NULL;
}

static void test_threads(void) {
  /* Two threads over kernels 0..119 (0..79 and 40..119, 40 shared): each
   * distinct one compiled once. */
  Codegen *cg = codegen_create(&quiet);
  CHECK(cg);
  if (!cg) return;
  Worker w[2] = {{cg, 0, 0}, {cg, 40, 0}};
  pthread_t t[2];
  for (int x = 0; x < 2; x++) pthread_create(&t[x], NULL, worker, &w[x]);
  for (int x = 0; x < 2; x++) pthread_join(t[x], NULL);
  CHECK_EQ(w[0].fails + w[1].fails, 0);
  int distinct = 0;
  for (int n = 0; n < 120; n++) {
    bool seen = false;
    for (int m = 0; m < n && !seen; m++) seen = kernel_equal(&rk[m], &rk[n]);
    distinct += !seen;
  }
  int64_t nk;
  codegen_stats(cg, &nk, NULL);
  CHECK_EQ(nk, distinct);
  codegen_destroy(cg);
}

/* codegen_kernel on k must fail with RC_BADINPUT and a message with `want`. */
static void check_refused(Codegen *cg, const TileKernel *k, const char *want) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  Diag d;
  diag_init(&d, f, "test");
  KernelFn fn = kernel_twice;
  CHECK_EQ(codegen_kernel(cg, k, &fn, &d), RC_BADINPUT);
  CHECK(fn == NULL);
  CHECK_EQ(d.nerrors, 1);
  fclose(f);
  CHECK_STR_HAS(text, want);
  free(text);
}

static void test_invalid(void) {
  Codegen *cg = codegen_create(&quiet);
  CHECK(cg);
  if (!cg) return;
  TileKernel k = {.nloops = 2, .bound = {2, 2}};
  TileKernel bad = k;
  bad.nloops = 0;
  check_refused(cg, &bad, "has 0 loops, expected 1 to 8");
  bad.nloops = 9;
  check_refused(cg, &bad, "has 9 loops, expected 1 to 8");
  bad.nloops = -1;
  check_refused(cg, &bad, "has -1 loops");
  bad = k;
  bad.bound[1] = 0;
  check_refused(cg, &bad, "loop 1 has bound 0, expected >= 1");
  bad.bound[1] = -4;
  check_refused(cg, &bad, "loop 1 has bound -4");
  bad = k;
  bad.stride[KOP_W][0] = -1;
  check_refused(cg, &bad, "loop 0 has w stride -1");
  bad = k;
  bad.bound[0] = (int64_t)1 << 40;
  bad.stride[KOP_I][0] = (int64_t)1 << 40;
  check_refused(cg, &bad, "index of operand i overflows");
  bad = k;
  bad.bound[0] = (int64_t)1 << 40;
  bad.bound[1] = (int64_t)1 << 40;
  check_refused(cg, &bad, "MAC count overflows");
  int64_t nk;
  codegen_stats(cg, &nk, NULL);
  CHECK_EQ(nk, 0);
  /* still usable afterwards */
  KernelFn fn;
  CHECK_EQ(codegen_kernel(cg, &k, &fn, &quiet), RC_OK);
  codegen_stats(cg, &nk, NULL);
  CHECK_EQ(nk, 1);
  codegen_destroy(cg);
}

int main(void) {
  diag_init(&quiet, stderr, "test_kernel");
  RUN(test_hand_conv);
  RUN(test_ffi_call);
  RUN(test_random_bit_identical);
  RUN(test_conv_tiles);
  RUN(test_cache_exact);
  RUN(test_threads);
  RUN(test_invalid);
  TEST_END();
}
