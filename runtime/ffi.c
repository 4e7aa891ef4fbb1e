/*
 * ffi.c: the call of a compiled compute-tile kernel through libffi
 * (kernel_call_ffi, runtime.h); the only file of naasc that includes
 * <ffi.h>.
 *
 * The ffi call interface is prepared once (pthread_once) and only read
 * afterwards, so kernel_call_ffi is safe from any number of threads.
 */
#include <ffi.h>
#include <pthread.h>
#include <stdlib.h>

#include "runtime/runtime.h"

static ffi_cif kernel_cif;
static ffi_type *kernel_arg_types[3] = {&ffi_type_pointer, &ffi_type_pointer, &ffi_type_pointer};
static pthread_once_t kernel_cif_once = PTHREAD_ONCE_INIT;
static ffi_status kernel_cif_status;

static void kernel_cif_prep(void) {
  kernel_cif_status =
      ffi_prep_cif(&kernel_cif, FFI_DEFAULT_ABI, 3, &ffi_type_void, kernel_arg_types);
}

void kernel_call_ffi(KernelFn fn, float *o, const float *i, const float *w) {
  pthread_once(&kernel_cif_once, kernel_cif_prep);
  /* Three pointers and void: ffi_prep_cif can only fail on a broken libffi. */
  if (kernel_cif_status != FFI_OK) abort();
  void *args[3] = {&o, &i, &w};
  ffi_call(&kernel_cif, FFI_FN(fn), NULL, args);
}
