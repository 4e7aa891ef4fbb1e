/*
 * fuzz.h: what the libFuzzer harnesses of tests/fuzz share (README.md).
 *
 * A harness is one file fuzz_NAME.c defining LLVMFuzzerTestOneInput; it
 * feeds the input to one reader of outside input the way the tools do, and
 * then to whatever the tools do with what the reader accepted.  It checks
 * the project's rules on every input, and abort()s (a finding) when one
 * breaks:
 *   - a reader that refuses an input has said why (RC_BADINPUT with at least
 *     one error through its Diag);
 *   - what a reader accepts, the rest of the tool does not crash on (the
 *     sanitizers find the rest);
 *   - round trips the docs promise hold (print -> parse -> print).
 * Allocation is capped per request (xalloc_limit), so a huge but legal size
 * is an "out of memory" error of the code under test, not libFuzzer's
 * malloc limit, and the out-of-memory paths are fuzzed too.
 *
 * Built two ways (CMakeLists.txt): with libFuzzer (clang, NAASC_FUZZ) for
 * campaigns and the bounded regression runs, and with replay.c's main()
 * under the normal builds (gcc, release and ASan), which runs every file of
 * the corpus and regressions once.
 */
#ifndef NAASC_FUZZ_H
#define NAASC_FUZZ_H

#define _GNU_SOURCE /* memfd_create */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "backend/backend.h"
#include "ir/ir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The per-request cap on allocations under fuzzing (well below libFuzzer's
 * default -rss_limit_mb of 2048). */
#define FUZZ_MAX_ALLOC ((size_t)256 << 20)

/* A finding: says which rule broke and stops (libFuzzer saves the input). */
#define FUZZ_CHECK(cond, what)                                                    \
  do {                                                                            \
    if (!(cond)) {                                                                \
      fprintf(stderr, "fuzz: %s:%d: %s (%s)\n", __FILE__, __LINE__, what, #cond); \
      abort();                                                                    \
    }                                                                             \
  } while (0)

/* Where diagnostics go: formatted in full (so a bad format argument is
 * found) and thrown away.  Set NAASC_FUZZ_VERBOSE=1 to see them. */
static inline FILE *fuzz_sink(void) {
  static FILE *f;
  if (!f) {
    const char *v = getenv("NAASC_FUZZ_VERBOSE");
    f = v && *v == '1' ? stderr : fopen("/dev/null", "w");
    xalloc_limit(FUZZ_MAX_ALLOC);
  }
  return f;
}

static inline void fuzz_diag(Diag *d, const char *file) { diag_init(d, fuzz_sink(), file); }

/* A refusal must be reported: RC_OK, or an error in d (RC_INTERNAL may be
 * an allocation the cap refused, which reports too). */
#define FUZZ_REPORTED(rc, d) \
  FUZZ_CHECK((rc) == RC_OK || (d)->nerrors > 0, "refused without an error message")

/* The input as a file, for readers that take a path: an in-memory file
 * (memfd) rewritten for each input, named "/proc/self/fd/N".  slot picks one
 * of 4 files, for harnesses that need several at once. */
static inline const char *fuzz_file(int slot, const uint8_t *data, size_t size) {
  static int fd[4] = {-1, -1, -1, -1};
  static char name[4][40];
  if (fd[slot] < 0) {
    fd[slot] = memfd_create("naasc-fuzz", 0);
    if (fd[slot] < 0) {
      perror("memfd_create");
      abort();
    }
    snprintf(name[slot], sizeof name[slot], "/proc/self/fd/%d", fd[slot]);
  }
  if (ftruncate(fd[slot], 0) != 0 || (size && pwrite(fd[slot], data, size, 0) != (ssize_t)size)) {
    perror("memfd write");
    abort();
  }
  return name[slot];
}

/* Splits data at the lines "#%%" (a YAML comment) into at most max parts;
 * returns how many.  Parts point into data. */
static inline int fuzz_parts(const uint8_t *data, size_t size, const uint8_t **part, size_t *len,
                             int max) {
  static const char sep[] = "\n#%%\n";
  int n = 0;
  size_t start = 0;
  for (size_t i = 0; n < max - 1 && i + sizeof sep - 1 <= size; i++)
    if (memcmp(data + i, sep, sizeof sep - 1) == 0) {
      part[n] = data + start, len[n] = i + 1 - start, n++;
      start = i + sizeof sep - 1;
      i = start - 1;
    }
  part[n] = data + start, len[n] = size - start, n++;
  return n;
}

/* The opening of a harness whose input is three parts, the first an
 * architecture file: splits them, starts d and loads part 0 into a.  false
 * if there are not three parts or the arch is refused (with its error). */
static inline bool fuzz_arch_and_parts(const uint8_t *data, size_t size, const uint8_t *part[3],
                                       size_t len[3], Arch *a, Diag *d) {
  if (fuzz_parts(data, size, part, len, 3) != 3) return false;
  fuzz_diag(d, NULL);
  Rc rc = arch_load(fuzz_file(0, part[0], len[0]), a, d);
  FUZZ_REPORTED(rc, d);
  return rc == RC_OK;
}

#endif
