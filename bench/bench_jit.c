/*
 * bench_jit.c: compute tiles compiled with LLVM (codegen/codegen.c) against
 * the C reference (kernel_ref, stream/kernel.c), side by side in one run.
 *
 * Usage: bench_jit [-n N] [-r ROUNDS]
 *
 *   1. compile time: N distinct conv tiles (an eyeriss-like tile with K =
 *      1..N), each timed around codegen_kernel (IR, O2, machine code,
 *      lookup); median, min and max, and the median of a cache hit;
 *   2. throughput on typical tiles, JIT through libffi vs kernel_ref: each
 *      round times both on the same buffers, a side calibrated to ~40 ms;
 *      the best of ROUNDS rounds per side; ratio = ref time / JIT time;
 *      every tile is also checked bit-identical (memcmp after one call);
 *   3. the cost of the libffi call itself on a one-MAC kernel, against a
 *      direct call of the same function.
 *
 * Tiles (loops outermost first; layouts at conv_tile): eyeriss-like K16 C4 P4 Q4 R3 S3 (a Row
 * Stationary PE set's work, Chen et al. ISSCC 2016) in two loop orders, and
 * nvdla-like C64 K16 over a 16-pixel stripe (the 64x16 atomic operation of
 * NVDLA's convolution core, nvdla.org hw/v1 "Convolution Core") in two.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codegen/codegen.h"
#include "runtime/runtime.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

enum { L_K, L_C, L_P, L_Q, L_R, L_S, L_N };

/* A conv tile over the dims in `order` (a string of "KCPQRS"), stride 1.
 * Layouts: input [C][P+R-1][Q+S-1], weights [K][C][R][S], output [K][P][Q];
 * with channels_last: input [P+R-1][Q+S-1][C], weights [R][S][C][K],
 * output [P][Q][K] (NVDLA packs channels innermost in its feature atoms). */
static TileKernel conv_tile(const char *order, const int64_t dim[L_N], bool channels_last) {
  int64_t h = dim[L_P] + dim[L_R] - 1, w = dim[L_Q] + dim[L_S] - 1;
  int64_t K = dim[L_K], C = dim[L_C];
  int64_t so[L_N] = {dim[L_P] * dim[L_Q], 0, dim[L_Q], 1, 0, 0};
  int64_t si[L_N] = {0, h * w, w, 1, w, 1};
  int64_t sw[L_N] = {C * dim[L_R] * dim[L_S], dim[L_R] * dim[L_S], 0, 0, dim[L_S], 1};
  if (channels_last) {
    int64_t o2[L_N] = {1, 0, dim[L_Q] * K, K, 0, 0};
    int64_t i2[L_N] = {0, 1, w * C, C, w * C, C};
    int64_t w2[L_N] = {1, K, 0, 0, dim[L_S] * C * K, C * K};
    memcpy(so, o2, sizeof so);
    memcpy(si, i2, sizeof si);
    memcpy(sw, w2, sizeof sw);
  }
  TileKernel k;
  memset(&k, 0, sizeof k);
  for (const char *c = order; *c; c++) {
    int d = (int)(strchr("KCPQRS", *c) - "KCPQRS");
    int l = k.nloops++;
    k.bound[l] = dim[d];
    k.stride[KOP_O][l] = so[d];
    k.stride[KOP_I][l] = si[d];
    k.stride[KOP_W][l] = sw[d];
  }
  return k;
}

static int64_t extent(const TileKernel *k, int op) {
  int64_t e = 1;
  for (int l = 0; l < k->nloops; l++) e += (k->bound[l] - 1) * k->stride[op][l];
  return e;
}

static float *buffer(int64_t n, unsigned seed) {
  float *b = malloc((size_t)n * sizeof *b);
  for (int64_t x = 0; x < n; x++) {
    seed = seed * 1103515245u + 12345u;
    b[x] = (float)((seed >> 8) & 0xffff) / 65536.0f - 0.5f;
  }
  return b;
}

static void one_mac(float *o, const float *i, const float *w) { o[0] += i[0] * w[0]; }

int main(int argc, char **argv) {
  int n = 31, rounds = 5;
  for (int a = 1; a < argc; a++) {
    if (!strcmp(argv[a], "-n") && a + 1 < argc) {
      n = atoi(argv[++a]);
    } else if (!strcmp(argv[a], "-r") && a + 1 < argc) {
      rounds = atoi(argv[++a]);
    } else {
      fprintf(stderr, "usage: bench_jit [-n N] [-r ROUNDS]\n");
      return 2;
    }
  }
  if (n < 1 || rounds < 1) return 2;
  Diag d;
  diag_init(&d, stderr, "bench_jit");
  double t0 = now();
  Codegen *cg = codegen_create(&d);
  if (!cg) return 1;
  printf("codegen_create: %.1f ms\n", 1e3 * (now() - t0));

  /* 1. compile time */
  double *ct = malloc((size_t)n * sizeof *ct);
  for (int x = 0; x < n; x++) {
    int64_t dim[L_N] = {1 + x, 4, 4, 4, 3, 3};
    TileKernel k = conv_tile("KCPQRS", dim, false);
    KernelFn fn;
    double t = now();
    if (codegen_kernel(cg, &k, &fn, &d)) return 1;
    ct[x] = now() - t;
  }
  double first = ct[0];
  qsort(ct, (size_t)n, sizeof *ct, cmp_double);
  double hit[64];
  for (int x = 0; x < 64; x++) {
    int64_t dim[L_N] = {1 + x % n, 4, 4, 4, 3, 3};
    TileKernel k = conv_tile("KCPQRS", dim, false);
    KernelFn fn;
    double t = now();
    codegen_kernel(cg, &k, &fn, &d);
    hit[x] = now() - t;
  }
  qsort(hit, 64, sizeof *hit, cmp_double);
  int64_t nk;
  double secs;
  codegen_stats(cg, &nk, &secs);
  printf("compile: %d distinct 6-loop conv tiles: median %.2f ms, min %.2f, max %.2f, first %.2f;"
         " cache hit median %.0f ns; codegen_stats: %lld kernels, %.3f s\n",
         n, 1e3 * ct[n / 2], 1e3 * ct[0], 1e3 * ct[n - 1], 1e3 * first, 1e9 * hit[32],
         (long long)nk, secs);
  free(ct);

  /* 2. throughput */
  static const struct {
    const char *name, *order;
    int64_t dim[L_N];
    bool channels_last;
  } tiles[] = {
      {"eyeriss K16 C4 P4 Q4 R3 S3, order KCPQRS", "KCPQRS", {16, 4, 4, 4, 3, 3}, false},
      {"eyeriss K16 C4 P4 Q4 R3 S3, order KCRSPQ", "KCRSPQ", {16, 4, 4, 4, 3, 3}, false},
      {"nvdla C64 K16 Q16 (channels last), order QKC", "QKC", {16, 64, 1, 16, 1, 1}, true},
      {"nvdla C64 K16 Q16 (channels last), order QCK", "QCK", {16, 64, 1, 16, 1, 1}, true},
  };
  printf("\n%-48s %6s %10s %10s %8s %s\n", "tile", "MACs", "ref GMAC/s", "jit GMAC/s", "jit/ref",
         "bit-identical");
  for (size_t t = 0; t < sizeof tiles / sizeof tiles[0]; t++) {
    TileKernel k = conv_tile(tiles[t].order, tiles[t].dim, tiles[t].channels_last);
    KernelFn fn;
    if (codegen_kernel(cg, &k, &fn, &d)) return 1;
    int64_t no = extent(&k, KOP_O), ni = extent(&k, KOP_I), nw = extent(&k, KOP_W);
    float *o = buffer(no, 1), *o2 = buffer(no, 1), *in = buffer(ni, 2), *w = buffer(nw, 3);
    kernel_ref(&k, o, in, w);
    kernel_call_ffi(fn, o2, in, w);
    bool same = !memcmp(o, o2, (size_t)no * sizeof *o);
    /* calibrate: reps so that one reference run takes ~40 ms */
    int64_t reps = 1;
    for (;;) {
      double s = now();
      for (int64_t r = 0; r < reps; r++) kernel_ref(&k, o, in, w);
      if (now() - s > 0.04) break;
      reps *= 2;
    }
    double best_ref = 1e30, best_jit = 1e30;
    for (int r = 0; r < rounds; r++) {
      double s = now();
      for (int64_t x = 0; x < reps; x++) kernel_ref(&k, o, in, w);
      double e = now() - s;
      if (e < best_ref) best_ref = e;
      s = now();
      for (int64_t x = 0; x < reps; x++) kernel_call_ffi(fn, o2, in, w);
      e = now() - s;
      if (e < best_jit) best_jit = e;
    }
    double macs = (double)kernel_macs(&k) * (double)reps;
    printf("%-48s %6lld %10.2f %10.2f %7.1fx %s\n", tiles[t].name, (long long)kernel_macs(&k),
           macs / best_ref / 1e9, macs / best_jit / 1e9, best_ref / best_jit, same ? "yes" : "NO");
    free(o), free(o2), free(in), free(w);
  }

  /* 3. the libffi call */
  {
    float o = 0, i = 1, w = 1;
    const int64_t reps = 2000000;
    double best_ffi = 1e30, best_direct = 1e30;
    KernelFn volatile direct = one_mac;
    for (int r = 0; r < rounds; r++) {
      double s = now();
      for (int64_t x = 0; x < reps; x++) kernel_call_ffi(one_mac, &o, &i, &w);
      double e = now() - s;
      if (e < best_ffi) best_ffi = e;
      s = now();
      for (int64_t x = 0; x < reps; x++) direct(&o, &i, &w);
      e = now() - s;
      if (e < best_direct) best_direct = e;
    }
    printf("\ncall of a one-MAC function: libffi %.1f ns, direct %.1f ns\n", 1e9 * best_ffi / reps,
           1e9 * best_direct / reps);
  }
  codegen_destroy(cg);
  return 0;
}
