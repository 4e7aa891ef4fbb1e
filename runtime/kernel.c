/*
 * kernel.c: the plain C reference of a compute tile and the libffi call of
 * a compiled one (kernel.h).
 *
 * kernel_ref runs the innermost loop as a plain for loop and walks the
 * outer ones with an odometer: idx[] counts them, the last fastest, and
 * the three operand offsets are kept up to date incrementally (a carry out
 * of loop l rewinds that loop's contribution).
 * The arithmetic in the body is the contract codegen.c reproduces bit for
 * bit: p = i*w rounded to float, then o = o + p rounded to float.  The
 * file is compiled with -ffp-contract=off (runtime/CMakeLists.txt) so the
 * compiler may not fuse the two into an FMA.
 *
 * The ffi call interface is prepared once (pthread_once) and only read
 * afterwards, so kernel_call_ffi is safe from any number of threads.
 */
#include <assert.h>
#include <ffi.h>
#include <pthread.h>
#include <stdlib.h>

#include "kernel.h"

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

static ffi_cif kernel_cif;
static ffi_type *kernel_arg_types[3] = {&ffi_type_pointer, &ffi_type_pointer, &ffi_type_pointer};
static pthread_once_t kernel_cif_once = PTHREAD_ONCE_INIT;
static ffi_status kernel_cif_status;

static void kernel_cif_prep(void) {
  kernel_cif_status = ffi_prep_cif(&kernel_cif, FFI_DEFAULT_ABI, 3, &ffi_type_void, kernel_arg_types);
}

void kernel_call_ffi(KernelFn fn, float *o, const float *i, const float *w) {
  pthread_once(&kernel_cif_once, kernel_cif_prep);
  /* Three pointers and void: ffi_prep_cif can only fail on a broken libffi. */
  if (kernel_cif_status != FFI_OK) abort();
  void *args[3] = {&o, &i, &w};
  ffi_call(&kernel_cif, FFI_FN(fn), NULL, args);
}
