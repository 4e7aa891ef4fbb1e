/*
 * test.h: a minimal unit-test harness.  Each test file defines test
 * functions, lists them in main with RUN(), and ends with TEST_END(), which
 * prints "N passed, M failed" (the closing line ctest logs) and sets the
 * exit code.  A check that fails prints file:line and the values.
 * Environment: NAASC_TEST_TIMES=1 prints each test function's CPU seconds;
 * NAASC_TEST_SKIP=fn,fn,... skips those functions and says so, and the
 * closing line counts them (for local runs; ctest sets neither).
 */
#ifndef NAASC_TEST_H
#define NAASC_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int test_failed_checks;
static int test_npassed, test_nfailed, test_nskipped;

/* Whether name is in the comma-separated list NAASC_TEST_SKIP. */
static inline int test_skipped(const char *name) {
  const char *l = getenv("NAASC_TEST_SKIP");
  size_t n = strlen(name);
  while (l && *l) {
    const char *e = strchr(l, ',');
    size_t m = e ? (size_t)(e - l) : strlen(l);
    if (m == n && !strncmp(l, name, n)) return 1;
    l = e ? e + 1 : NULL;
  }
  return 0;
}

#define CHECK(c)                                                            \
  do {                                                                      \
    if (!(c)) {                                                             \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
      test_failed_checks++;                                                 \
    }                                                                       \
  } while (0)

#define CHECK_EQ(a, b)                                                                           \
  do {                                                                                           \
    long long va_ = (long long)(a), vb_ = (long long)(b);                                        \
    if (va_ != vb_) {                                                                            \
      fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", __FILE__, __LINE__, #a, #b, va_, \
              vb_);                                                                              \
      test_failed_checks++;                                                                      \
    }                                                                                            \
  } while (0)

#define CHECK_NEAR(a, b, tol)                                                                   \
  do {                                                                                          \
    double va_ = (a), vb_ = (b);                                                                \
    if (!(va_ - vb_ <= (tol) && vb_ - va_ <= (tol))) {                                          \
      fprintf(stderr, "%s:%d: %s ~ %s failed: %.9g vs %.9g\n", __FILE__, __LINE__, #a, #b, va_, \
              vb_);                                                                             \
      test_failed_checks++;                                                                     \
    }                                                                                           \
  } while (0)

#define CHECK_STR_HAS(s, sub)                                                    \
  do {                                                                           \
    const char *vs_ = (s);                                                       \
    if (!vs_ || !strstr(vs_, (sub))) {                                           \
      fprintf(stderr, "%s:%d: '%s' does not contain '%s'\n", __FILE__, __LINE__, \
              vs_ ? vs_ : "(null)", (sub));                                      \
      test_failed_checks++;                                                      \
    }                                                                            \
  } while (0)

#define RUN(fn)                                                                       \
  do {                                                                                \
    if (test_skipped(#fn)) {                                                          \
      printf("skipped: %s (NAASC_TEST_SKIP)\n", #fn);                                 \
      test_nskipped++;                                                                \
      break;                                                                          \
    }                                                                                 \
    int before_ = test_failed_checks;                                                 \
    clock_t t0_ = clock();                                                            \
    fn();                                                                             \
    if (getenv("NAASC_TEST_TIMES"))                                                   \
      printf("time: %s %.2f CPU s\n", #fn, (double)(clock() - t0_) / CLOCKS_PER_SEC); \
    if (test_failed_checks == before_) {                                              \
      test_npassed++;                                                                 \
    } else {                                                                          \
      test_nfailed++;                                                                 \
      fprintf(stderr, "FAIL: %s\n", #fn);                                             \
    }                                                                                 \
  } while (0)

#define TEST_END()                                              \
  do {                                                          \
    printf("%d passed, %d failed", test_npassed, test_nfailed); \
    if (test_nskipped) printf(", %d skipped", test_nskipped);   \
    printf("\n");                                               \
    return test_nfailed ? 1 : 0;                                \
  } while (0)

#endif
