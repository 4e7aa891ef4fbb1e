/*
 * test_host.c: host/'s arithmetic where the ONNX definition is exact and the
 * node suite's data does not reach: every f16 and bf16 value through the
 * conversions, rounding ties to even, quantization's round-half-even and
 * saturation, integer wrap-around, and the errors a definition asks for
 * (integer division by zero, an index out of range) instead of undefined
 * behaviour.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "host/host.h"

static int failures;
#define CHECK(c, ...)                             \
  do {                                            \
    if (!(c)) {                                   \
      printf("FAIL %s:%d: ", __FILE__, __LINE__); \
      printf(__VA_ARGS__);                        \
      printf("\n");                               \
      failures++;                                 \
    }                                             \
  } while (0)

static void test_half(void) {
  int bad = 0;
  for (uint32_t h = 0; h < 65536; h++) { /* every f16 back and forth */
    float f = host_f16_to_f32((uint16_t)h);
    uint16_t back = host_f32_to_f16(f);
    bool nan = ((h >> 10) & 0x1f) == 0x1f && (h & 0x3ff);
    if (nan ? !isnan(f) : back != h) bad++;
  }
  CHECK(bad == 0, "%d f16 values do not survive f16 -> f32 -> f16", bad);
  /* ties to even: 1 + 2^-11 is halfway between 1 and 1 + 2^-10 */
  CHECK(host_f32_to_f16(1.0f + ldexpf(1, -11)) == 0x3c00, "1+2^-11 must round down to 1");
  CHECK(host_f32_to_f16(1.0f + 3 * ldexpf(1, -11)) == 0x3c02, "1+3*2^-11 must round up to even");
  CHECK(host_f32_to_f16(65520.0f) == 0x7c00, "65520 rounds to inf");
  CHECK(host_f32_to_f16(65519.0f) == 0x7bff, "65519 rounds to 65504");
  CHECK(host_f32_to_f16(ldexpf(1, -25)) == 0, "2^-25 (half the smallest subnormal) rounds to 0");
  CHECK(host_f32_to_f16(ldexpf(3, -26)) == 1, "3*2^-26 rounds to the smallest subnormal");
  bad = 0;
  for (uint32_t h = 0; h < 65536; h++) {
    float f = host_bf16_to_f32((uint16_t)h);
    bool nan = ((h >> 7) & 0xff) == 0xff && (h & 0x7f);
    if (nan ? !isnan(f) : host_f32_to_bf16(f) != h) bad++;
  }
  CHECK(bad == 0, "%d bf16 values do not survive bf16 -> f32 -> bf16", bad);
  float tie = host_bf16_to_f32(0x3f80) + ldexpf(1, -8); /* halfway between 1 and the next bf16 */
  CHECK(host_f32_to_bf16(tie) == 0x3f80, "bf16 tie must round to even");
}

/* One node over small tensors: in[k] given as f32/i64 values. */
static Rc eval1(Op op, const Attrs *a, HostTensor *in, int nin, HostTensor *out, int nout) {
  Model *m = model_create("t");
  TensorId ins[4] = {0}, outs[2] = {0};
  NodeId id = model_add_node(m, op, "n", nin, ins, nout, outs);
  if (a) m->nodes[id].a = *a;
  Arena ar;
  arena_init(&ar);
  Diag d;
  diag_init(&d, stdout, "test");
  d.max_errors = 0;
  FILE *null = fopen("/dev/null", "w");
  d.out = null;
  Rc rc = host_eval(m, &m->nodes[id], in, nin, out, nout, &ar, &d);
  /* the outputs' data lives in ar: copy it out for the caller */
  static unsigned char keep[4][256];
  for (int k = 0; k < nout && rc == RC_OK; k++) {
    size_t bytes = (size_t)host_numel(&out[k]) * dtype_size(out[k].dtype);
    if (bytes <= sizeof keep[k]) memcpy(keep[k], out[k].data, bytes);
    out[k].data = keep[k];
  }
  arena_free(&ar);
  fclose(null);
  model_destroy(m);
  return rc;
}

static HostTensor ht(DType dt, int n, void *data) {
  HostTensor t;
  memset(&t, 0, sizeof t);
  t.dtype = dt;
  t.rank = 1;
  t.dims[0] = n;
  t.data = data;
  return t;
}

static void test_quantize(void) {
  float x[8] = {2.5f, 3.5f, -2.5f, 0.5f, 1000.f, -1000.f, 1.5f, -0.5f};
  float s = 1.0f;
  uint8_t zu = 10;
  int8_t zi = 0;
  HostTensor in[3] = {ht(DT_F32, 8, x), ht(DT_F32, 1, &s), ht(DT_U8, 1, &zu)};
  in[1].rank = 0;
  in[2].rank = 0;
  HostTensor out = {DT_U8, -1, {0}, NULL};
  Attrs a;
  attrs_default(&a);
  attrs_spec_defaults(OP_QUANTIZELINEAR, &a);
  CHECK(eval1(OP_QUANTIZELINEAR, &a, in, 3, &out, 1) == RC_OK, "QuantizeLinear u8");
  const uint8_t want_u[8] = {12,  14, 8,  10,
                             255, 0,  12, 10}; /* round half to even, then + 10, saturate */
  CHECK(memcmp(out.data, want_u, 8) == 0, "QuantizeLinear u8: got %u %u %u %u %u %u %u %u",
        ((uint8_t *)out.data)[0], ((uint8_t *)out.data)[1], ((uint8_t *)out.data)[2],
        ((uint8_t *)out.data)[3], ((uint8_t *)out.data)[4], ((uint8_t *)out.data)[5],
        ((uint8_t *)out.data)[6], ((uint8_t *)out.data)[7]);
  in[2] = ht(DT_I8, 1, &zi);
  in[2].rank = 0;
  HostTensor out2 = {DT_I8, -1, {0}, NULL};
  CHECK(eval1(OP_QUANTIZELINEAR, &a, in, 3, &out2, 1) == RC_OK, "QuantizeLinear i8");
  const int8_t want_i[8] = {2, 4, -2, 0, 127, -128, 2, 0};
  CHECK(memcmp(out2.data, want_i, 8) == 0, "QuantizeLinear i8 saturates and rounds half to even");
}

static void test_integers(void) {
  int8_t a[3] = {127, -128, 100}, b[3] = {1, -1, 100};
  HostTensor in[2] = {ht(DT_I8, 3, a), ht(DT_I8, 3, b)};
  HostTensor out = {DT_I8, -1, {0}, NULL};
  CHECK(eval1(OP_ADD, NULL, in, 2, &out, 1) == RC_OK, "i8 Add");
  const int8_t want[3] = {-128, 127, -56}; /* two's complement wrap, as numpy */
  CHECK(memcmp(out.data, want, 3) == 0, "i8 Add wraps");
  int32_t x[2] = {7, -7}, z[2] = {2, 0};
  HostTensor din[2] = {ht(DT_I32, 2, x), ht(DT_I32, 2, z)};
  HostTensor dout = {DT_I32, -1, {0}, NULL};
  CHECK(eval1(OP_DIV, NULL, din, 2, &dout, 1) == RC_BADINPUT, "integer Div by zero is an error");
  int32_t y[2] = {2, -2};
  din[1] = ht(DT_I32, 2, y);
  CHECK(eval1(OP_DIV, NULL, din, 2, &dout, 1) == RC_OK && ((int32_t *)dout.data)[0] == 3 &&
            ((int32_t *)dout.data)[1] == 3,
        "integer Div truncates toward zero");
  Attrs am;
  attrs_default(&am);
  attrs_spec_defaults(OP_MOD, &am);
  int32_t mx[2] = {-7, 7}, my[2] = {3, -3};
  HostTensor min[2] = {ht(DT_I32, 2, mx), ht(DT_I32, 2, my)};
  CHECK(eval1(OP_MOD, &am, min, 2, &dout, 1) == RC_OK && ((int32_t *)dout.data)[0] == 2 &&
            ((int32_t *)dout.data)[1] == -2,
        "Mod (fmod=0) takes the divisor's sign");
  float data[4] = {1, 2, 3, 4};
  int64_t idx[1] = {4};
  HostTensor gin[2] = {ht(DT_F32, 4, data), ht(DT_I64, 1, idx)};
  HostTensor gout = {DT_F32, -1, {0}, NULL};
  Attrs ag;
  attrs_default(&ag);
  CHECK(eval1(OP_GATHER, &ag, gin, 2, &gout, 1) == RC_BADINPUT, "Gather index 4 of 4 is an error");
  idx[0] = -1;
  CHECK(eval1(OP_GATHER, &ag, gin, 2, &gout, 1) == RC_OK && ((float *)gout.data)[0] == 4,
        "Gather index -1 is the last");
}

static void test_expected_type(void) {
  float x[2] = {1, 2};
  HostTensor in[1] = {ht(DT_F32, 2, x)};
  HostTensor out = {DT_F32, 1, {3}, NULL}; /* the caller expects 3 elements: a bug somewhere */
  CHECK(eval1(OP_RELU, NULL, in, 1, &out, 1) == RC_INTERNAL,
        "a computed type unlike the expected one is internal");
}

int main(void) {
  test_half();
  test_quantize();
  test_integers();
  test_expected_type();
  printf("%s\n", failures ? "FAILED" : "ok");
  return failures != 0;
}
