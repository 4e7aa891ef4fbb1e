/*
 * kernel.c: kernel_ref, the plain C reference of a compute tile and the
 * definition of what a TileKernel computes (stream.h).
 *
 * kernel_ref runs the innermost loop as a plain for loop and walks the
 * outer ones with an odometer: idx[] counts them, the last fastest, and
 * the three operand offsets are kept up to date incrementally (a carry out
 * of loop l rewinds that loop's contribution).
 * The arithmetic in the body is the contract codegen/codegen.c reproduces
 * bit for bit: p = i*w rounded to float, then o = o + p rounded to float.
 * The file is compiled with -ffp-contract=off (stream/CMakeLists.txt) so
 * the compiler may not fuse the two into an FMA.
 */
#include <assert.h>

#include "stream/stream.h"

void kernel_ref(const TileKernel *k, float *o, const float *i, const float *w) {
  int n = k->nloops;
  assert(n >= 1 && n <= KERNEL_MAX_LOOPS);
  int in = n - 1; /* the innermost loop runs as a plain for loop */
  int64_t nb = k->bound[in];
  int64_t so = k->stride[KOP_O][in], si = k->stride[KOP_I][in], sw = k->stride[KOP_W][in];
  int64_t idx[KERNEL_MAX_LOOPS] = {0};
  int64_t oi = 0, ii = 0, wi = 0;
  for (;;) {
    for (int64_t x = 0; x < nb; x++) {
      float p = i[ii + x * si] * w[wi + x * sw];
      o[oi + x * so] = o[oi + x * so] + p;
    }
    int l = in - 1;
    for (; l >= 0; l--) {
      if (++idx[l] < k->bound[l]) {
        oi += k->stride[KOP_O][l];
        ii += k->stride[KOP_I][l];
        wi += k->stride[KOP_W][l];
        break;
      }
      /* carry: loop l wraps to 0, remove what its bound-1 steps added */
      idx[l] = 0;
      oi -= (k->bound[l] - 1) * k->stride[KOP_O][l];
      ii -= (k->bound[l] - 1) * k->stride[KOP_I][l];
      wi -= (k->bound[l] - 1) * k->stride[KOP_W][l];
    }
    if (l < 0) return;
  }
}
