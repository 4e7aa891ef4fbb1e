/*
 * internal.h: what a NaascKernelProvider (api/naasc.h's opaque handle) is,
 * shared by libnaasc.so (api/naasc.c, which runs a stream with one) and
 * the libraries that make one (api/jit.c, the LLVM JIT of codegen/).  Not
 * installed: the public header names the type only.
 *
 * Invariants:
 *   - a provider is a table of functions over its own state (self); the
 *     library that made it fills it, and destroy frees it whole, so
 *     libnaasc.so calls into the provider's library only through it (it
 *     links neither codegen/ nor LLVM);
 *   - open is called before the first compile of each run, with the run's
 *     Diag: a provider that cannot work on this host (the JIT: LLVM cannot
 *     target it) reports there, located as the run's other messages;
 *   - compile has runtime/'s RuntimeOptions.compile contract.
 *
 * Also NumPy's .npy files (api/npy.c), which the stream calls of
 * api/naasc.c read and write beside TensorProto files.
 */
#ifndef NAASC_API_INTERNAL_H
#define NAASC_API_INTERNAL_H

#include "ir/ir.h"
#include "stream/stream.h"

struct NaascKernelProvider {
  void *self;
  Rc (*open)(void *self, Diag *d);
  Rc (*compile)(void *self, const TileKernel *k, KernelFn *fn, Diag *d);
  /* kernels compiled so far and the seconds it took (may be NULL: none) */
  void (*stats)(const void *self, int64_t *kernels, double *seconds);
  void (*destroy)(struct NaascKernelProvider *p); /* frees self and p */
};

/* ---- .npy files (api/npy.c) ------------------------------------------------ */

/* An array read from a .npy file: data borrows the buffer parsed. */
typedef struct {
  DType dtype;
  int rank;
  int64_t dims[NAASC_MAX_RANK];
  int64_t numel;
  const uint8_t *data;
  size_t bytes; /* numel * dtype_size(dtype), exactly the file's data */
} NpyArray;

/* Whether path names a .npy file (it ends in ".npy"). */
bool npy_path(const char *path);
/* Parses a whole .npy file (versions 1.0, 2.0, 3.0); a malformed header,
 * a big-endian or unknown descr, fortran_order True, or data of another
 * size is RC_BADINPUT located in d's file ("header 'descr'", "data"). */
Rc npy_parse(const uint8_t *buf, size_t len, NpyArray *a, Diag *d);
/* The bytes of a .npy file (version 1.0, as numpy.save writes them) of a
 * dense C-order tensor into *out (malloc'd); bfloat16 as '<u2' bits.
 * RC_BADINPUT for a dtype numpy has no type for. */
Rc npy_encode(DType dt, int rank, const int64_t *dims, const void *data, uint8_t **out,
              size_t *len);
/* npy_encode written atomically to path, errors located in it. */
Rc npy_write_file(const char *path, DType dt, int rank, const int64_t *dims, const void *data,
                  Diag *d);

#endif
