/*
 * test_kernel_i32.c: integer mac layers' compute tiles compiled by
 * codegen_kernel_i32 (codegen/codegen.c) against the definition of
 * kernel_ref_i32 (runtime/qmac.c): o[oi] += i[ii] * w[wi] on int32 words,
 * wrapping modulo 2^32, loops in the kernel's order.
 *
 *   - a hand-computed 1-D convolution whose products and sums wrap (exact
 *     values), called directly and through libffi (kernel_call_ffi, as the
 *     runtime calls it);
 *   - 300 random kernels (1-8 loops, random bounds, strides including 0)
 *     on random words over the whole int32 range: the JIT's output equals
 *     this file's own walk of the nest (in uint32_t) word for word;
 *   - the cache: the i32 and the float kernel of one TileKernel are two
 *     functions (two compiles), a repeat of either is a hit;
 *   - an invalid kernel is refused with RC_BADINPUT.
 * Exit 0 when every check passes; each failure is printed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/codegen.h"
#include "runtime/runtime.h"

static int fails, checks;

#define CHECK(c)                                                                    \
  do {                                                                              \
    checks++;                                                                       \
    if (!(c)) fails++, fprintf(stderr, "%s:%d: FAIL %s\n", __FILE__, __LINE__, #c); \
  } while (0)

static uint64_t rng_state = 0x243f6a8885a308d3u;

static uint64_t rng(void) { /* xorshift64* */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 2685821657736338717u;
}

static int64_t rnd(int64_t lo, int64_t hi) {
  return lo + (int64_t)(rng() % (uint64_t)(hi - lo + 1));
}

/* Elements operand op touches: 1 + its largest index. */
static int64_t extent(const TileKernel *k, int op) {
  int64_t e = 1;
  for (int l = 0; l < k->nloops; l++) e += (k->bound[l] - 1) * k->stride[op][l];
  return e;
}

/* The definition, walked recursively: loop l at offsets oi, ii, wi. */
static void walk(const TileKernel *k, int l, int64_t oi, int64_t ii, int64_t wi, uint32_t *o,
                 const uint32_t *i, const uint32_t *w) {
  if (l == k->nloops) {
    o[oi] += i[ii] * w[wi];
    return;
  }
  for (int64_t x = 0; x < k->bound[l]; x++)
    walk(k, l + 1, oi + x * k->stride[KOP_O][l], ii + x * k->stride[KOP_I][l],
         wi + x * k->stride[KOP_W][l], o, i, w);
}

typedef void (*KernelI32)(int32_t *o, const int32_t *i, const int32_t *w);

static Diag quiet;

static void test_hand_conv(Codegen *cg) {
  /* o[p] += i[2p + r] * w[r], P = 3, R = 3, stride 2 (loops p, r). */
  TileKernel k = {.nloops = 2, .bound = {3, 3}};
  k.stride[KOP_O][0] = 1;
  k.stride[KOP_I][0] = 2;
  k.stride[KOP_I][1] = 1;
  k.stride[KOP_W][1] = 1;
  const int32_t in[7] = {65536, 1, 3, -7, 5, 2, INT32_MAX}, w[3] = {65536, 2, -1};
  /* p=0: 65536*65536 (2^32: 0) + 1*2 + 3*-1 = -1;
   * p=1: 3*65536 + -7*2 + 5*-1 = 196589;
   * p=2: 5*65536 + 2*2 + INT32_MAX*-1 = 327684 - 2147483647 = -2147155963;
   * plus o's initial INT32_MAX (wraps: INT32_MAX - 1), 0, INT32_MIN (wraps) */
  const int32_t want[3] = {INT32_MAX - 1, 196589, (int32_t)(0x80000000u + (uint32_t)-2147155963)};
  int32_t a[3] = {INT32_MAX, 0, INT32_MIN}, b[3] = {INT32_MAX, 0, INT32_MIN};
  KernelFn fn = NULL;
  CHECK(codegen_kernel_i32(cg, &k, &fn, &quiet) == RC_OK && fn);
  if (!fn) return;
  ((KernelI32)(uintptr_t)fn)(a, in, w);
  kernel_call_ffi(fn, (float *)b, (const float *)in, (const float *)w);
  CHECK(memcmp(a, want, sizeof want) == 0);
  CHECK(memcmp(b, want, sizeof want) == 0);
}

static void test_random(Codegen *cg) {
  int ok = 0;
  for (int n = 0; n < 300; n++) {
    TileKernel k = {.nloops = (int)rnd(1, KERNEL_MAX_LOOPS)};
    int64_t macs = 1;
    for (int l = 0; l < k.nloops; l++) {
      k.bound[l] = rnd(1, macs > 4096 ? 1 : 6);
      macs *= k.bound[l];
      for (int op = 0; op < KOP_N; op++) k.stride[op][l] = rng() % 4 ? rnd(0, 9) : 0;
    }
    int64_t e[KOP_N];
    uint32_t *buf[KOP_N], *want;
    for (int op = 0; op < KOP_N; op++) {
      e[op] = extent(&k, op);
      buf[op] = malloc((size_t)e[op] * sizeof(uint32_t));
      for (int64_t x = 0; x < e[op]; x++) buf[op][x] = (uint32_t)rng();
    }
    want = malloc((size_t)e[KOP_O] * sizeof(uint32_t));
    memcpy(want, buf[KOP_O], (size_t)e[KOP_O] * sizeof(uint32_t));
    walk(&k, 0, 0, 0, 0, want, buf[KOP_I], buf[KOP_W]);
    KernelFn fn = NULL;
    if (codegen_kernel_i32(cg, &k, &fn, &quiet) == RC_OK && fn) {
      kernel_call_ffi(fn, (float *)buf[KOP_O], (const float *)buf[KOP_I],
                      (const float *)buf[KOP_W]);
      ok += memcmp(buf[KOP_O], want, (size_t)e[KOP_O] * sizeof(uint32_t)) == 0;
    }
    for (int op = 0; op < KOP_N; op++) free(buf[op]);
    free(want);
  }
  printf("random i32 kernels: %d of 300 equal the definition\n", ok);
  CHECK(ok == 300);
}

static void test_cache(void) {
  Codegen *cg = codegen_create(&quiet);
  CHECK(cg != NULL);
  if (!cg) return;
  TileKernel k = {.nloops = 1, .bound = {5}};
  k.stride[KOP_I][0] = k.stride[KOP_W][0] = 1;
  KernelFn fi = NULL, ff = NULL, fi2 = NULL, ff2 = NULL;
  CHECK(codegen_kernel_i32(cg, &k, &fi, &quiet) == RC_OK);
  CHECK(codegen_kernel(cg, &k, &ff, &quiet) == RC_OK);
  CHECK(codegen_kernel_i32(cg, &k, &fi2, &quiet) == RC_OK);
  CHECK(codegen_kernel(cg, &k, &ff2, &quiet) == RC_OK);
  int64_t nk = -1;
  codegen_stats(cg, &nk, NULL);
  CHECK(nk == 2);
  CHECK(fi && ff && fi != ff && fi == fi2 && ff == ff2);
  /* the float kernel sums floats: 1.5 * 2 five times on 0.25 */
  float o = 0.25f, fi5[5] = {1.5f, 1.5f, 1.5f, 1.5f, 1.5f}, fw5[5] = {2, 2, 2, 2, 2};
  if (ff) kernel_call_ffi(ff, &o, fi5, fw5);
  CHECK(o == 15.25f);
  TileKernel bad = {.nloops = 0};
  KernelFn fb = NULL;
  CHECK(codegen_kernel_i32(cg, &bad, &fb, &quiet) == RC_BADINPUT && fb == NULL);
  codegen_destroy(cg);
}

int main(void) {
  Codegen *cg = codegen_create(&quiet);
  CHECK(cg != NULL);
  if (cg) {
    test_hand_conv(cg);
    test_random(cg);
    codegen_destroy(cg);
  }
  test_cache();
  printf("%d checks, %d failed\n", checks, fails);
  return fails != 0;
}
