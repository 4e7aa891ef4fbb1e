/*
 * test_frontend.c: unit tests of the graph IR and the frontend passes
 * (shape inference, constant folding, BN folding, fusion, ONNX round trip,
 * allocation failure).  Graphs are built with the IR builders, so each test
 * states its input exactly.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frontend/frontend.h"
#include "passes/passes.h"
#include "tests/unit/test.h"

/* A Diag that captures its messages. */
typedef struct {
  Diag d;
  char *buf;
  size_t len;
} Capture;

static void cap_open(Capture *c) {
  c->buf = NULL;
  c->len = 0;
  diag_init(&c->d, open_memstream(&c->buf, &c->len), "t.onnx");
}

static const char *cap_text(Capture *c) {
  fflush(c->d.out);
  return c->buf ? c->buf : "";
}

static void cap_close(Capture *c) {
  fclose(c->d.out);
  free(c->buf);
}

static TensorId act(Model *m, const char *name, int rank, const int64_t *dims) {
  return model_add_tensor(m, name, DT_F32, rank, dims, TK_INPUT);
}

static TensorId value(Model *m, const char *name) {
  return model_add_tensor(m, name, DT_UNDEF, -1, NULL, TK_VALUE);
}

static TensorId const_i64(Model *m, const char *name, int n, const int64_t *v) {
  int64_t dims[1] = {n};
  TensorId t = model_add_tensor(m, name, DT_I64, 1, dims, TK_CONST);
  m->tensors[t].data = arena_alloc(&m->arena, 8 * (size_t)(n ? n : 1));
  memcpy(m->tensors[t].data, v, 8 * (size_t)n);
  return t;
}

static TensorId const_f32(Model *m, const char *name, int rank, const int64_t *dims,
                          const float *v) {
  TensorId t = model_add_tensor(m, name, DT_F32, rank, dims, TK_CONST);
  int64_t n = tensor_numel(&m->tensors[t]);
  m->tensors[t].data = arena_alloc(&m->arena, 4 * (size_t)n);
  memcpy(m->tensors[t].data, v, 4 * (size_t)n);
  return t;
}

static void test_parse_input_shape(void) {
  Capture c;
  cap_open(&c);
  InputShape s;
  CHECK(parse_input_shape("x=1x3x640x640", &s, &c.d));
  CHECK_EQ(s.rank, 4);
  CHECK_EQ(s.dims[3], 640);
  CHECK(strcmp(s.name, "x") == 0);
  CHECK(!parse_input_shape("x=1x0x3", &s, &c.d));
  CHECK(!parse_input_shape("x=1x", &s, &c.d));
  CHECK(!parse_input_shape("=1x2", &s, &c.d));
  CHECK(!parse_input_shape("x", &s, &c.d));
  CHECK(!parse_input_shape("x=1x-2", &s, &c.d));
  CHECK_EQ(c.d.nerrors, 5);
  CHECK_STR_HAS(cap_text(&c), "--input-shape");
  cap_close(&c);
}

/* Shape -> Gather -> Unsqueeze -> Concat -> Reshape folds away completely. */
static void test_fold_shape_subgraph(void) {
  Model *m = model_create("t");
  int64_t xd[4] = {2, 3, 4, 5};
  TensorId x = act(m, "x", 4, xd);
  model_add_input(m, x);
  TensorId sh = value(m, "sh"), g = value(m, "g"), u = value(m, "u"), cat = value(m, "cat"),
           y = value(m, "y");
  int64_t zero = 0, minus1 = -1;
  TensorId idx = model_add_tensor(m, "idx", DT_I64, 0, NULL, TK_CONST);
  m->tensors[idx].data = arena_alloc(&m->arena, 8);
  memcpy(m->tensors[idx].data, &zero, 8);
  TensorId ax = const_i64(m, "ax", 1, &zero), rest = const_i64(m, "rest", 1, &minus1);
  model_add_node(m, OP_SHAPE, "shape", 1, &x, 1, &sh);
  NodeId ng = model_add_node(m, OP_GATHER, "gather", 2, (TensorId[]){sh, idx}, 1, &g);
  m->nodes[ng].a.axis = 0;
  NodeId nu = model_add_node(m, OP_UNSQUEEZE, "unsq", 2, (TensorId[]){g, ax}, 1, &u);
  m->nodes[nu].a.naxes = -1;
  NodeId nc = model_add_node(m, OP_CONCAT, "concat", 2, (TensorId[]){u, rest}, 1, &cat);
  m->nodes[nc].a.axis = 0;
  model_add_node(m, OP_RESHAPE, "reshape", 2, (TensorId[]){x, cat}, 1, &y);
  model_add_output(m, y);
  Capture c;
  cap_open(&c);
  CHECK_EQ(graph_toposort(m, &c.d), RC_OK);
  CHECK_EQ(graph_infer(m, &c.d), RC_OK);
  graph_prune(m);
  const Tensor *Y = &m->tensors[y];
  CHECK_EQ(Y->rank, 2);
  CHECK_EQ(Y->dims[0], 2);
  CHECK_EQ(Y->dims[1], 60);
  int live = 0;
  for (uint32_t i = 1; i < m->nnodes; i++) live += !m->nodes[i].dead;
  CHECK_EQ(live, 1); /* only the Reshape is left */
  CHECK_EQ(m->tensors[cat].kind, TK_CONST);
  CHECK_EQ(tensor_get_i(&m->tensors[cat], 0), 2);
  CHECK_EQ(tensor_get_i(&m->tensors[cat], 1), -1);
  CHECK_EQ(c.d.nerrors, 0);
  cap_close(&c);
  model_destroy(m);
}

static Node *conv_case(Model *m, int64_t in, int64_t k, int64_t s, AutoPad ap, TensorId *y) {
  int64_t xd[4] = {1, 2, in, in}, wd[4] = {4, 2, k, k};
  TensorId x = act(m, "x", 4, xd);
  model_add_input(m, x);
  float *w = calloc((size_t)(4 * 2 * k * k), sizeof *w);
  TensorId W = const_f32(m, "w", 4, wd, w);
  free(w);
  *y = value(m, "y");
  NodeId n = model_add_node(m, OP_CONV, "conv", 2, (TensorId[]){x, W}, 1, y);
  Node *N = &m->nodes[n];
  N->a.auto_pad = ap;
  N->a.strides[0] = N->a.strides[1] = s;
  model_add_output(m, *y);
  return N;
}

static void test_conv_auto_pad(void) {
  struct {
    int64_t in, k, s;
    AutoPad ap;
    int64_t out, pb, pe;
  } cases[] = {
      {7, 3, 2, PAD_SAME_UPPER, 4, 1, 1}, {8, 3, 2, PAD_SAME_UPPER, 4, 0, 1},
      {8, 3, 2, PAD_SAME_LOWER, 4, 1, 0}, {8, 3, 2, PAD_VALID, 3, 0, 0},
      {8, 3, 1, PAD_NOTSET, 6, 0, 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    Model *m = model_create("t");
    TensorId y;
    conv_case(m, cases[i].in, cases[i].k, cases[i].s, cases[i].ap, &y);
    Capture c;
    cap_open(&c);
    CHECK_EQ(graph_infer(m, &c.d), RC_OK);
    Node *N = &m->nodes[1];
    CHECK_EQ(m->tensors[y].dims[1], 4);
    CHECK_EQ(m->tensors[y].dims[2], cases[i].out);
    CHECK_EQ(N->a.pads[0], cases[i].pb);
    CHECK_EQ(N->a.pads[2], cases[i].pe);
    CHECK_EQ(N->a.auto_pad, PAD_NOTSET);
    cap_close(&c);
    model_destroy(m);
  }
}

static void test_conv_group_mismatch(void) {
  Model *m = model_create("t");
  TensorId y;
  Node *N = conv_case(m, 8, 3, 1, PAD_NOTSET, &y);
  N->a.group = 2; /* weight says 2 in-channels per group, input has 2 in total */
  Capture c;
  cap_open(&c);
  CHECK_EQ(graph_infer(m, &c.d), RC_BADINPUT);
  CHECK_STR_HAS(cap_text(&c), "t.onnx: node 'conv': error:");
  CHECK_STR_HAS(cap_text(&c), "input channels per group");
  cap_close(&c);
  model_destroy(m);
}

static void test_broadcast(void) {
  Model *m = model_create("t");
  int64_t ad[3] = {2, 1, 4}, bd[2] = {3, 1}, cd[1] = {5};
  TensorId a = act(m, "a", 3, ad), b = act(m, "b", 2, bd), cc = act(m, "c", 1, cd);
  TensorId y = value(m, "y"), z = value(m, "z");
  model_add_node(m, OP_ADD, "add", 2, (TensorId[]){a, b}, 1, &y);
  model_add_node(m, OP_MUL, "bad", 2, (TensorId[]){y, cc}, 1, &z);
  Capture c;
  cap_open(&c);
  CHECK_EQ(graph_infer(m, &c.d), RC_BADINPUT);
  CHECK_EQ(m->tensors[y].rank, 3);
  CHECK_EQ(m->tensors[y].dims[0], 2);
  CHECK_EQ(m->tensors[y].dims[1], 3);
  CHECK_EQ(m->tensors[y].dims[2], 4);
  CHECK_STR_HAS(cap_text(&c), "node 'bad': error: cannot broadcast");
  cap_close(&c);
  model_destroy(m);
}

/* Slice with negative and huge bounds and a negative step, then folded. */
static void test_slice_clamp_and_fold(void) {
  Model *m = model_create("t");
  int64_t v[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  TensorId x = const_i64(m, "x", 10, v);
  int64_t st[1] = {-1}, en[1] = {INT64_MIN}, axs[1] = {0}, sp[1] = {-3};
  TensorId y = value(m, "y");
  NodeId n = model_add_node(m, OP_SLICE, "slice", 5,
                            (TensorId[]){x, const_i64(m, "s", 1, st), const_i64(m, "e", 1, en),
                                         const_i64(m, "a", 1, axs), const_i64(m, "p", 1, sp)},
                            1, &y);
  m->nodes[n].a.naxes = -1;
  model_add_output(m, y);
  Capture c;
  cap_open(&c);
  CHECK_EQ(graph_infer(m, &c.d), RC_OK);
  const Tensor *Y = &m->tensors[y];
  CHECK_EQ(Y->dims[0], 4); /* 9, 6, 3, 0 */
  CHECK_EQ(Y->kind, TK_CONST);
  CHECK_EQ(tensor_get_i(Y, 0), 9);
  CHECK_EQ(tensor_get_i(Y, 3), 0);
  cap_close(&c);
  model_destroy(m);
}

/* Conv(bias) -> BN folds to one conv with the expected weights and bias. */
static void test_fold_bn_numbers(void) {
  Model *m = model_create("t");
  int64_t xd[4] = {1, 1, 2, 2}, wd[4] = {2, 1, 1, 1}, vd[1] = {2};
  TensorId x = act(m, "x", 4, xd);
  model_add_input(m, x);
  TensorId W = const_f32(m, "w", 4, wd, (float[]){2, 3});
  TensorId B = const_f32(m, "b", 1, vd, (float[]){1, -1});
  TensorId g = const_f32(m, "g", 1, vd, (float[]){0.5f, 2});
  TensorId be = const_f32(m, "be", 1, vd, (float[]){0.25f, 0});
  TensorId mu = const_f32(m, "mu", 1, vd, (float[]){1, 1});
  TensorId var = const_f32(m, "var", 1, vd, (float[]){4, 0.25f});
  TensorId t = value(m, "t"), y = value(m, "y"), r = value(m, "r");
  model_add_node(m, OP_CONV, "conv", 3, (TensorId[]){x, W, B}, 1, &t);
  NodeId bn = model_add_node(m, OP_BATCHNORM, "bn", 5, (TensorId[]){t, g, be, mu, var}, 1, &y);
  m->nodes[bn].a.epsilon = 0;
  model_add_node(m, OP_RELU, "relu", 1, &y, 1, &r);
  model_add_output(m, r);
  Capture c;
  cap_open(&c);
  CHECK_EQ(graph_infer(m, &c.d), RC_OK);
  CHECK_EQ(graph_fold_bn(m, &c.d), RC_OK);
  CHECK_EQ(graph_fuse_act(m, &c.d), RC_OK);
  graph_prune(m);
  const Node *cv = &m->nodes[1];
  CHECK(cv->bn_folded);
  CHECK_EQ(cv->act, OP_RELU);
  CHECK_EQ(cv->out[0], r);
  CHECK(m->nodes[2].dead && m->nodes[3].dead);
  /* s = g / sqrt(var): 0.25, 4.  W' = W*s = 0.5, 12.  b' = (b-mu)*s + beta = 0.25, -8. */
  const Tensor *NW = &m->tensors[cv->in[1]], *NB = &m->tensors[cv->in[2]];
  CHECK_NEAR(tensor_get_f(NW, 0), 0.5, 1e-6);
  CHECK_NEAR(tensor_get_f(NW, 1), 12, 1e-6);
  CHECK_NEAR(tensor_get_f(NB, 0), 0.25, 1e-6);
  CHECK_NEAR(tensor_get_f(NB, 1), -8, 1e-6);
  /* the original weights are untouched (they may be shared) */
  CHECK_NEAR(tensor_get_f(&m->tensors[W], 1), 3, 0);
  cap_close(&c);
  model_destroy(m);
}

static void test_cycle(void) {
  Model *m = model_create("t");
  TensorId a = value(m, "a"), b = value(m, "b");
  model_add_node(m, OP_RELU, "n1", 1, &b, 1, &a);
  model_add_node(m, OP_RELU, "n2", 1, &a, 1, &b);
  model_add_output(m, b);
  Capture c;
  cap_open(&c);
  CHECK_EQ(graph_toposort(m, &c.d), RC_BADINPUT);
  CHECK_STR_HAS(cap_text(&c), "cycle");
  cap_close(&c);
  model_destroy(m);
}

/* zoo -> ONNX file -> import (unfolded) gives the same nodes and shapes. */
static void test_onnx_round_trip(void) {
  Model *z = NULL;
  Capture c;
  cap_open(&c);
  CHECK_EQ(zoo_build("resnet18", true, 7, &z, &c.d), RC_OK);
  if (!z) return;
  char path[] = "/tmp/naasc-rt-XXXXXX";
  int fd = mkstemp(path);
  close(fd);
  CHECK_EQ(onnx_write(z, path, &c.d), RC_OK);
  Model *m = NULL;
  CHECK_EQ(onnx_import(path, NULL, &m, &c.d), RC_OK); /* import does not fold */
  unlink(path);
  if (m) {
    uint32_t live = 0, zl = 0;
    for (uint32_t i = 1; i < m->nnodes; i++) live += !m->nodes[i].dead;
    for (uint32_t i = 1; i < z->nnodes; i++) zl += !z->nodes[i].dead;
    CHECK_EQ(live, zl);
    for (uint32_t i = 1; i < z->nnodes; i++) {
      const Tensor *zt = &z->tensors[z->nodes[i].out[0]];
      TensorId t = model_find_tensor(m, zt->name);
      CHECK(t != 0);
      if (!t) break;
      CHECK_EQ(m->tensors[t].rank, zt->rank);
      for (int k = 0; k < zt->rank; k++) CHECK_EQ(m->tensors[t].dims[k], zt->dims[k]);
    }
    int64_t macs = 0;
    for (uint32_t i = 1; i < m->nnodes; i++) macs += node_macs(m, &m->nodes[i]);
    /* ResNet-18 at 224 by hand: conv1 112*112*64*3*49 = 118013952; layer1 4 x 56*56*64*64*9
     * = 462422016; layers 2-4 each 57802752 + 3*115605504 + 6422528 (downsample) = 411041792;
     * fc 512*1000.  Sum 1814073344 (torchvision docs round it to 1.81 G). */
    CHECK_EQ(macs, 118013952LL + 462422016LL + 3 * 411041792LL + 512000LL);
  }
  CHECK_EQ(c.d.nerrors, 0);
  model_destroy(m);
  model_destroy(z);
  cap_close(&c);
}

/* The import takes each large raw_data payload from the unpacked proto
 * instead of copying it (frontend/onnx.c take_raw_data, ir/arena.c
 * arena_adopt): with naasc's allocator capped at 1 MiB per request, ResNet-18
 * (conv weights of 9.4 MB) still imports, where a copy into the arena needs
 * one such request; every constant's bytes equal the written model's, and
 * each payload is 16-byte aligned as arena memory is. */
static void test_onnx_take_payload(void) {
  Model *z = NULL;
  Capture c;
  cap_open(&c);
  CHECK_EQ(zoo_build("resnet18", true, 3, &z, &c.d), RC_OK);
  if (!z) return;
  char path[] = "/tmp/naasc-tk-XXXXXX";
  int fd = mkstemp(path);
  close(fd);
  CHECK_EQ(onnx_write(z, path, &c.d), RC_OK);
  Model *m = NULL;
  xalloc_limit((size_t)1 << 20);
  Rc rc = onnx_import(path, NULL, &m, &c.d);
  xalloc_limit(0);
  unlink(path);
  CHECK_EQ(rc, RC_OK);
  int consts = 0, big = 0;
  for (uint32_t t = 1; m && t < z->ntensors; t++) {
    const Tensor *zt = &z->tensors[t];
    if (zt->kind != TK_CONST || !zt->data) continue;
    TensorId u = model_find_tensor(m, zt->name);
    CHECK(u != 0);
    if (!u) break;
    const Tensor *mt = &m->tensors[u];
    size_t bytes = (size_t)tensor_numel(zt) * dtype_size(zt->dtype);
    CHECK(mt->data != NULL);
    CHECK_EQ((uintptr_t)mt->data % 16, (uintptr_t)0);
    CHECK(mt->data && memcmp(mt->data, zt->data, bytes) == 0);
    consts++;
    big += bytes > ((size_t)1 << 20);
  }
  /* 20 conv weights (no biases: each conv feeds a BN), 4 x 20 BN parameters, fc's W and b */
  CHECK_EQ(consts, 102);
  /* Past 1 MiB: layer3's 3x3 convs (256x128x9, 3 of 256x256x9 floats), layer4's (512x256x9,
   * 3 of 512x512x9) and fc (1000x512); layer2's 128x128x9 (576 KiB) and the 1x1 downsamples not */
  CHECK_EQ(big, 9);
  CHECK_EQ(c.d.nerrors, 0);
  model_destroy(m);
  model_destroy(z);
  cap_close(&c);
}

/* Every allocation failure during an import is an error, never a crash. */
static void test_alloc_failure(void) {
  Model *z = NULL;
  Capture c;
  cap_open(&c);
  CHECK_EQ(zoo_build("squeezenet", true, 1, &z, &c.d), RC_OK);
  char path[] = "/tmp/naasc-af-XXXXXX";
  int fd = mkstemp(path);
  close(fd);
  CHECK_EQ(onnx_write(z, path, &c.d), RC_OK);
  model_destroy(z);
  fclose(c.d.out);
  c.d.out = NULL; /* silence: the messages of injected failures are not the point */
  int ok = 0, failed = 0;
  for (long k = 0; k < 4000; k += 3) {
    Model *m = NULL;
    xalloc_fail_after(k);
    Rc rc = onnx_import(path, NULL, &m, &c.d);
    xalloc_fail_after(-1);
    if (rc == RC_OK) {
      ok++;
      CHECK(m != NULL);
    } else {
      failed++;
      CHECK(m == NULL);
      CHECK(rc == RC_INTERNAL || rc == RC_BADINPUT);
    }
    model_destroy(m);
    if (rc == RC_OK) break; /* past the last allocation */
  }
  unlink(path);
  CHECK(failed > 10);
  CHECK_EQ(ok, 1);
  free(c.buf);
}

int main(void) {
  RUN(test_parse_input_shape);
  RUN(test_fold_shape_subgraph);
  RUN(test_conv_auto_pad);
  RUN(test_conv_group_mismatch);
  RUN(test_broadcast);
  RUN(test_slice_clamp_and_fold);
  RUN(test_fold_bn_numbers);
  RUN(test_cycle);
  RUN(test_onnx_round_trip);
  RUN(test_onnx_take_payload);
  RUN(test_alloc_failure);
  TEST_END();
}
