/*
 * test.h: a minimal unit-test harness.  Each test file defines test
 * functions, lists them in main with RUN(), and ends with TEST_END(), which
 * prints "N passed, M failed" (the closing line ctest logs) and sets the
 * exit code.  A check that fails prints file:line and the values.
 */
#ifndef NAASC_TEST_H
#define NAASC_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int test_failed_checks;
static int test_npassed, test_nfailed;

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

#define RUN(fn)                           \
  do {                                    \
    int before_ = test_failed_checks;     \
    fn();                                 \
    if (test_failed_checks == before_) {  \
      test_npassed++;                     \
    } else {                              \
      test_nfailed++;                     \
      fprintf(stderr, "FAIL: %s\n", #fn); \
    }                                     \
  } while (0)

#define TEST_END()                                                \
  do {                                                            \
    printf("%d passed, %d failed\n", test_npassed, test_nfailed); \
    return test_nfailed ? 1 : 0;                                  \
  } while (0)

#endif
