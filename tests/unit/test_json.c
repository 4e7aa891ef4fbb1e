/*
 * test_json.c: the JSON writer (ir/json.c): separators, the caller's
 * layout (indented containers, json_break), string escaping, number
 * formats and null for non-finite numbers, each as the exact bytes written.
 */
#include <math.h>
#include <stdlib.h>

#include "ir/ir.h"
#include "tests/unit/test.h"

/* What f wrote, NUL-terminated, in a static buffer. */
static char out[4096];

static FILE *begin(void) { return fmemopen(out, sizeof out, "w"); }

static void test_inline(void) {
  FILE *f = begin();
  JsonWriter j;
  json_init(&j, f);
  json_object(&j, NULL);
  json_key(&j, "a");
  json_int(&j, -3);
  json_key(&j, "b");
  json_array(&j, NULL);
  json_uint(&j, 18446744073709551615ULL);
  json_bool(&j, true);
  json_num(&j, "%.3f", 0.5);
  json_end(&j, NULL);
  json_key(&j, "c");
  json_object(&j, NULL);
  json_end(&j, NULL);
  json_end(&j, NULL);
  fclose(f);
  CHECK(strcmp(out, "{\"a\": -3, \"b\": [18446744073709551615, true, 0.500], \"c\": {}}") == 0);
}

static void test_layout(void) {
  FILE *f = begin();
  JsonWriter j;
  json_init(&j, f);
  json_object(&j, "\n  ");
  json_key(&j, "x");
  json_array(&j, "\n    ");
  json_int(&j, 1);
  json_int(&j, 2);
  json_end(&j, "\n  ");
  json_key(&j, "y");
  json_object(&j, NULL);
  json_key(&j, "p");
  json_int(&j, 1);
  json_break(&j, "\n     ");
  json_key(&j, "q");
  json_int(&j, 2);
  json_end(&j, NULL);
  json_key(&j, "e");
  json_array(&j, "\n    ");
  json_end(&j, "\n  ");
  json_end(&j, "\n");
  fclose(f);
  CHECK(strcmp(out, "{\n  \"x\": [\n    1,\n    2\n  ],\n  \"y\": {\"p\": 1,\n     \"q\": 2},\n"
                    "  \"e\": [\n  ]\n}") == 0);
}

static void test_escape(void) {
  FILE *f = begin();
  JsonWriter j;
  json_init(&j, f);
  json_array(&j, NULL);
  json_str(&j, "a\"b\\c\n\t\x01\x7f\xc3\xa9");
  json_str(&j, NULL);
  json_end(&j, NULL);
  fclose(f);
  CHECK(strcmp(out, "[\"a\\\"b\\\\c\\u000a\\u0009\\u0001\x7f\xc3\xa9\", \"\"]") == 0);
  f = begin();
  json_init(&j, f);
  json_object(&j, NULL);
  json_key(&j, "k\"");
  json_str(&j, "v");
  json_end(&j, NULL);
  fclose(f);
  CHECK(strcmp(out, "{\"k\\\"\": \"v\"}") == 0);
}

static void test_numbers(void) {
  FILE *f = begin();
  JsonWriter j;
  json_init(&j, f);
  json_array(&j, NULL);
  json_num(&j, "%.17g", 0.1);
  json_num(&j, "%.6g", HUGE_VAL);
  json_num(&j, "%.17g", -INFINITY);
  json_num(&j, "%.4f", NAN);
  json_num(&j, "%.9g", 123456789012.0);
  json_end(&j, NULL);
  fclose(f);
  CHECK(strcmp(out, "[0.10000000000000001, null, null, null, 1.23456789e+11]") == 0);
}

int main(void) {
  RUN(test_inline);
  RUN(test_layout);
  RUN(test_escape);
  RUN(test_numbers);
  TEST_END();
}
