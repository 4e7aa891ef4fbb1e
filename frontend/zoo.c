/*
 * zoo.c: the model zoo (frontend.h: zoo_list, zoo_build).  Published
 * networks built directly in the graph IR, ready for onnx_write or for the
 * rest of the compiler without an ONNX file.
 *
 * Every model built here keeps these invariants:
 *   - CNNs: NCHW, batch 1, f32, opset 13; transformers: batch 1, opset 17
 *     (LayerNormalization; GELU of Erf or Tanh, as PyTorch exports it), token ids "input" i64 [1, T] (ViT: an
 *     f32 image); ir_version 8; the model is named after the zoo name;
 *   - graph input "input" comes first; without weights every parameter
 *     follows it as a further graph input (TK_INPUT, no data);
 *   - one graph output, "output"; every other tensor is named after the
 *     node producing it, or "<node>.weight" etc. for its parameters, so
 *     node names and tensor names are each unique;
 *   - nodes are added in topological order, and every tensor has its full
 *     static shape, computed here with the ONNX conv/pool formulas;
 *   - parameters (conv/gemm W and B, BN scale/bias/mean/var) are is_param;
 *     with weights they are TK_CONST, filled from a splitmix64 stream of
 *     `seed` in creation order, so (name, seed) always gives the same model.
 *
 * Sources of the layer shapes and of the published figures (MACs, params;
 * torchvision's "GFLOPS" column counts multiply-accumulates, its params
 * count BN scale+bias but not the running statistics):
 *   vgg16       Simonyan & Zisserman, ICLR 2015, Table 1 config D;
 *               torchvision vgg16 docs: 15.47 G MACs, 138.36 M params.
 *   resnet50    He et al., CVPR 2016, Table 1; v1.5 layout (stride on the
 *               3x3 conv) of torchvision resnet50 docs: 4.09 G, 25.557 M.
 *   resnet18    He et al., CVPR 2016, Table 1; torchvision resnet18 docs:
 *               1.81 G, 11.69 M.
 *   resnet18-bnn  ResNet-18 binarized as Bi-Real Net (Liu et al., ECCV
 *               2018, section 3 and Fig. 1: Sign activations before each
 *               3x3 conv of the basic blocks, BN after it, real-valued
 *               shortcuts; the first conv, the downsampling 1x1 convs and
 *               the fc stay real-valued, as in XNOR-Net, Rastegari et al.,
 *               ECCV 2016, section 4).  The shapes are ResNet-18's, so the
 *               figures are too: 1.81 G MACs, 11.69 M params (torchvision);
 *               Sign adds neither.  ReLU is left out (the sign follows).
 *   unet        Ronneberger et al., MICCAI 2015, Fig. 1 (572x572 in,
 *               388x388x2 out); about 31.03 M params; no published MACs.
 *   mobilenetv2 Sandler et al., CVPR 2018, Table 2; torchvision
 *               mobilenet_v2 docs: 0.30 G, 3.504 M.
 *   squeezenet  Iandola et al., arXiv:1602.07360, Table 1 (v1.0);
 *               torchvision squeezenet1_0 docs: 0.82 G, 1.248 M.
 *   mnasnet     Tan et al., CVPR 2019, Fig. 7(a) and Table 1 (MnasNet-A1:
 *               312 M MACs, 3.9 M params); block list of the authors' TF
 *               reference (tensorflow/tpu mnasnet_models.py, mnasnet_a1):
 *               SE reduces to input_filters * 0.25, ReLU, then Sigmoid.
 *   alexnet     Krizhevsky et al., NIPS 2012, one-tower torchvision layout;
 *               torchvision alexnet docs: 0.71 G, 61.1 M.
 *   bert-base   Devlin et al., NAACL 2019, section 3 (L=12, H=768, A=12,
 *               110 M params); HuggingFace bert-base-uncased BertModel
 *               (109,482,240 params with the pooler); no MAC figure is
 *               published, counted by hand in tests/unit/test_zoo_tf.c.
 *               -512: the same at 512 tokens.
 *   vit-b16     Dosovitskiy et al., ICLR 2021, Table 1 (ViT-Base: 12
 *               layers, 768, MLP 3072, 12 heads, 86 M); torchvision
 *               vit_b_16 docs: 17.56 GFLOPS (MACs), 86,567,656 params.
 *   gpt2-*      Radford et al. 2019 (GPT-2 small: 12 layers, 768, 1024
 *               context); HuggingFace gpt2 model card: 124 M params
 *               (124,439,808; the output layer is tied to the token table).
 *               Linear layers are MatMul + Add of a bias (as PyTorch
 *               exports them); GPT-2's fused c_attn is three Linears of the
 *               same total size.  Attention is computed in full, masked
 *               (prefill), as the reference implementations do.
 *   nb201:ARCH  Dong & Yang, ICLR 2020, Fig. 1 (NAS-Bench-201), layer by
 *               layer as the benchmark's TinyNetwork / InferCell
 *               (xautodl); /work/shared/data/nasbench201/README.md.
 *
 * AdaptiveAvgPool2d of VGG (7x7) and AlexNet (6x6) is the identity at 224x224
 * and is left out; Dropout is the identity at inference and is left out.
 */
#include "frontend/frontend.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ZOO_NAME 160 /* longest node or tensor name built here, with room to spare */

/* NAS-Bench-201 cell: op[j][i] is the op of edge i -> j (i < j <= 3). */
enum { NB_NONE = NB201_NONE, NB_SKIP, NB_CONV1, NB_CONV3, NB_POOL, NB_NOPS };

typedef struct {
  int op[4][4];
  bool use[4]; /* node j is built: it is nonzero and node 3 reads it */
} Nb201Arch;

typedef struct {
  Model *m;
  bool weights;          /* parameters are TK_CONST with data, else TK_INPUT */
  uint64_t rng;          /* splitmix64 state */
  const Nb201Arch *arch; /* the cell of an nb201 network, else NULL */
  int64_t classes;       /* nb201: 10, 100 or 120 by dataset */
  bool binary;           /* resnet18-bnn: binarized basic blocks */
} ZooCtx;

typedef TensorId (*ZooBuildFn)(ZooCtx *z, TensorId x);

typedef enum { INIT_HE, INIT_BIAS, INIT_BN_SCALE, INIT_BN_SHIFT, INIT_BN_VAR } ZooInit;

static const char *zoo_name(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static const char *zoo_name(char *buf, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, ZOO_NAME, fmt, ap);
  va_end(ap);
  return buf;
}

/* splitmix64 (Steele et al., OOPSLA 2014), then 24 bits to [lo, hi). */
static float zoo_uniform(ZooCtx *z, float lo, float hi) {
  uint64_t r = (z->rng += UINT64_C(0x9e3779b97f4a7c15));
  r = (r ^ (r >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
  r = (r ^ (r >> 27)) * UINT64_C(0x94d049bb133111eb);
  r ^= r >> 31;
  return lo + (hi - lo) * (float)(r >> 40) * (1.0f / 16777216.0f);
}

/* A parameter "<owner>.<what>"; fan_in sets the He-uniform bound of INIT_HE. */
static TensorId zoo_param(ZooCtx *z, const char *owner, const char *what, int rank,
                          const int64_t *dims, ZooInit init, int64_t fan_in) {
  char name[ZOO_NAME];
  Model *m = z->m;
  TensorId t = model_add_tensor(m, zoo_name(name, "%s.%s", owner, what), DT_F32, rank, dims,
                                z->weights ? TK_CONST : TK_INPUT);
  if (!t) return 0;
  m->tensors[t].is_param = true;
  if (!z->weights) return model_add_input(m, t) ? t : 0;
  int64_t n = tensor_numel(&m->tensors[t]);
  float *p = n > 0 ? arena_alloc(&m->arena, (size_t)n * sizeof *p) : NULL;
  if (!p) return 0;
  float lo = 0.5f, hi = 1.5f; /* INIT_BN_SCALE, INIT_BN_VAR */
  if (init == INIT_HE) {
    hi = sqrtf(6.0f / (float)(fan_in > 0 ? fan_in : 1));
    lo = -hi;
  } else if (init == INIT_BIAS) {
    lo = -0.01f, hi = 0.01f;
  } else if (init == INIT_BN_SHIFT) {
    lo = -0.1f, hi = 0.1f;
  }
  for (int64_t i = 0; i < n; i++) p[i] = zoo_uniform(z, lo, hi);
  m->tensors[t].data = p;
  return t;
}

/* A node reading in[0..nin) and writing a new tensor named like the node;
 * the node is returned for its attributes (NULL if an input is missing or
 * an allocation failed) and its output stored in *y. */
static Node *zoo_node(ZooCtx *z, Op op, const char *name, int nin, const TensorId *in, int rank,
                      const int64_t *dims, TensorId *y) {
  *y = 0;
  for (int i = 0; i < nin; i++)
    if (!in[i]) return NULL;
  TensorId t = model_add_tensor(z->m, name, DT_F32, rank, dims, TK_VALUE);
  NodeId n = t ? model_add_node(z->m, op, name, nin, in, 1, &t) : 0;
  if (!n) return NULL;
  *y = t;
  return &z->m->nodes[n];
}

static void zoo_shape(const ZooCtx *z, TensorId x, int64_t d[NAASC_MAX_RANK]) {
  memcpy(d, z->m->tensors[x].dims, sizeof z->m->tensors[x].dims);
}

static void zoo_window(Attrs *a, int64_t k, int64_t s, int64_t p) {
  a->nsp = 2;
  for (int i = 0; i < 2; i++) {
    a->kernel[i] = k;
    a->strides[i] = s;
    a->pads[i] = a->pads[i + 2] = p;
  }
}

/* Conv with a k x k kernel, stride s and padding p on every side. */
static TensorId zoo_conv(ZooCtx *z, const char *name, TensorId x, int64_t M, int64_t k, int64_t s,
                         int64_t p, int64_t group, bool bias) {
  if (!x) return 0;
  int64_t d[NAASC_MAX_RANK];
  zoo_shape(z, x, d);
  int64_t wd[4] = {M, d[1] / group, k, k}, bd[1] = {M};
  int64_t od[4] = {d[0], M, (d[2] + 2 * p - k) / s + 1, (d[3] + 2 * p - k) / s + 1};
  TensorId in[3] = {x, zoo_param(z, name, "weight", 4, wd, INIT_HE, wd[1] * k * k), 0};
  if (bias) in[2] = zoo_param(z, name, "bias", 1, bd, INIT_BIAS, 0);
  TensorId y;
  Node *n = zoo_node(z, OP_CONV, name, bias ? 3 : 2, in, 4, od, &y);
  if (!n) return 0;
  zoo_window(&n->a, k, s, p);
  n->a.group = group;
  return y;
}

/* ConvTranspose with a k x k kernel, stride s, no padding, with bias. */
static TensorId zoo_convt(ZooCtx *z, const char *name, TensorId x, int64_t M, int64_t k,
                          int64_t s) {
  if (!x) return 0;
  int64_t d[NAASC_MAX_RANK];
  zoo_shape(z, x, d);
  int64_t wd[4] = {d[1], M, k, k}, bd[1] = {M};
  int64_t od[4] = {d[0], M, (d[2] - 1) * s + k, (d[3] - 1) * s + k};
  /* Each output pixel sees C * k*k / s^2 inputs. */
  int64_t fan_in = d[1] * k * k / (s * s);
  TensorId in[3] = {x, zoo_param(z, name, "weight", 4, wd, INIT_HE, fan_in),
                    zoo_param(z, name, "bias", 1, bd, INIT_BIAS, 0)};
  TensorId y;
  Node *n = zoo_node(z, OP_CONVTRANSPOSE, name, 3, in, 4, od, &y);
  if (!n) return 0;
  zoo_window(&n->a, k, s, 0);
  return y;
}

static TensorId zoo_bn(ZooCtx *z, const char *name, TensorId x) {
  if (!x) return 0;
  int64_t d[NAASC_MAX_RANK];
  zoo_shape(z, x, d);
  int64_t cd[1] = {d[1]};
  TensorId in[5] = {x, zoo_param(z, name, "weight", 1, cd, INIT_BN_SCALE, 0),
                    zoo_param(z, name, "bias", 1, cd, INIT_BN_SHIFT, 0),
                    zoo_param(z, name, "running_mean", 1, cd, INIT_BN_SHIFT, 0),
                    zoo_param(z, name, "running_var", 1, cd, INIT_BN_VAR, 0)};
  TensorId y;
  Node *n = zoo_node(z, OP_BATCHNORM, name, 5, in, 4, d, &y);
  if (!n) return 0;
  n->a.epsilon = 1e-5f;
  return y;
}

/* Relu, Sigmoid, or Clip to [0, 6] (ReLU6); OP_NONE passes x through. */
static TensorId zoo_act(ZooCtx *z, Op op, const char *name, TensorId x) {
  if (!x || op == OP_NONE) return x;
  int64_t d[NAASC_MAX_RANK];
  zoo_shape(z, x, d);
  TensorId y;
  Node *n = zoo_node(z, op, name, 1, &x, z->m->tensors[x].rank, d, &y);
  if (!n) return 0;
  if (op == OP_CLIP) {
    n->a.clip_min = 0.0f;
    n->a.clip_max = 6.0f;
  }
  return y;
}

/* Add or Mul; b is a or broadcasts to it. */
static TensorId zoo_binary(ZooCtx *z, Op op, const char *name, TensorId a, TensorId b) {
  if (!a || !b) return 0;
  int64_t d[NAASC_MAX_RANK];
  zoo_shape(z, a, d);
  TensorId in[2] = {a, b}, y;
  return zoo_node(z, op, name, 2, in, 4, d, &y) ? y : 0;
}

/* MaxPool or AveragePool (count_include_pad=0); ceil_mode as in PyTorch,
 * where the last window must start inside the input. */
static TensorId zoo_pool(ZooCtx *z, Op op, const char *name, TensorId x, int64_t k, int64_t s,
                         int64_t p, bool ceil_mode) {
  if (!x) return 0;
  int64_t d[NAASC_MAX_RANK];
  zoo_shape(z, x, d);
  for (int i = 2; i < 4; i++) {
    int64_t span = d[i] + 2 * p - k, o = (ceil_mode ? span + s - 1 : span) / s + 1;
    if (ceil_mode && (o - 1) * s >= d[i] + p) o--;
    d[i] = o;
  }
  TensorId y;
  Node *n = zoo_node(z, op, name, 1, &x, 4, d, &y);
  if (!n) return 0;
  zoo_window(&n->a, k, s, p);
  n->a.ceil_mode = ceil_mode;
  return y;
}

static TensorId zoo_concat(ZooCtx *z, const char *name, TensorId a, TensorId b) {
  if (!a || !b) return 0;
  int64_t d[NAASC_MAX_RANK];
  zoo_shape(z, a, d);
  d[1] += z->m->tensors[b].dims[1];
  TensorId in[2] = {a, b}, y;
  Node *n = zoo_node(z, OP_CONCAT, name, 2, in, 4, d, &y);
  if (!n) return 0;
  n->a.axis = 1;
  return y;
}

/* Slice the centre h x w window out of x (U-Net's skip crop). */
static TensorId zoo_crop(ZooCtx *z, const char *name, TensorId x, int64_t h, int64_t w) {
  if (!x) return 0;
  int64_t d[NAASC_MAX_RANK];
  zoo_shape(z, x, d);
  int64_t t = (d[2] - h) / 2, l = (d[3] - w) / 2;
  d[2] = h;
  d[3] = w;
  TensorId y;
  Node *n = zoo_node(z, OP_SLICE, name, 1, &x, 4, d, &y);
  if (!n) return 0;
  n->a.naxes = 2;
  n->a.axes[0] = 2, n->a.starts[0] = t, n->a.ends[0] = t + h, n->a.steps[0] = 1;
  n->a.axes[1] = 3, n->a.starts[1] = l, n->a.ends[1] = l + w, n->a.steps[1] = 1;
  return y;
}

static TensorId zoo_gap(ZooCtx *z, const char *name, TensorId x) {
  if (!x) return 0;
  int64_t d[NAASC_MAX_RANK];
  zoo_shape(z, x, d);
  d[2] = d[3] = 1;
  TensorId y;
  return zoo_node(z, OP_GLOBALAVGPOOL, name, 1, &x, 4, d, &y) ? y : 0;
}

static TensorId zoo_flatten(ZooCtx *z, const char *name, TensorId x) {
  if (!x) return 0;
  int64_t d[NAASC_MAX_RANK];
  zoo_shape(z, x, d);
  int64_t od[2] = {d[0], d[1] * d[2] * d[3]};
  TensorId y;
  Node *n = zoo_node(z, OP_FLATTEN, name, 1, &x, 2, od, &y);
  if (!n) return 0;
  n->a.axis = 1;
  return y;
}

/* Gemm y = x * W^T + B with W [N, K], as torch.nn.Linear. */
static TensorId zoo_gemm(ZooCtx *z, const char *name, TensorId x, int64_t N) {
  if (!x) return 0;
  int64_t d[NAASC_MAX_RANK];
  zoo_shape(z, x, d);
  int64_t wd[2] = {N, d[1]}, bd[1] = {N}, od[2] = {d[0], N};
  TensorId in[3] = {x, zoo_param(z, name, "weight", 2, wd, INIT_HE, d[1]),
                    zoo_param(z, name, "bias", 1, bd, INIT_BIAS, 0)};
  TensorId y;
  Node *n = zoo_node(z, OP_GEMM, name, 3, in, 2, od, &y);
  if (!n) return 0;
  n->a.trans_b = true;
  n->a.alpha = n->a.beta = 1.0f;
  return y;
}

/* Conv (no bias, padding k/2) -> BatchNormalization -> act, named
 * pfx+cn, pfx+bn, pfx+an. */
static TensorId zoo_cba(ZooCtx *z, TensorId x, const char *pfx, const char *cn, const char *bn,
                        const char *an, int64_t M, int64_t k, int64_t s, int64_t group, Op act) {
  char b[ZOO_NAME];
  x = zoo_conv(z, zoo_name(b, "%s%s", pfx, cn), x, M, k, s, k / 2, group, false);
  x = zoo_bn(z, zoo_name(b, "%s%s", pfx, bn), x);
  return act == OP_NONE ? x : zoo_act(z, act, zoo_name(b, "%s%s", pfx, an), x);
}

/* Conv (with bias) -> Relu, named pfx+cn and pfx+an. */
static TensorId zoo_cr(ZooCtx *z, TensorId x, const char *pfx, const char *cn, const char *an,
                       int64_t M, int64_t k, int64_t s, int64_t p) {
  char b[ZOO_NAME];
  x = zoo_conv(z, zoo_name(b, "%s%s", pfx, cn), x, M, k, s, p, 1, true);
  return zoo_act(z, OP_RELU, zoo_name(b, "%s%s", pfx, an), x);
}

/* GlobalAveragePool -> Flatten -> Gemm to `classes`. */
static TensorId zoo_head(ZooCtx *z, TensorId x, const char *pool, const char *fc, int64_t classes) {
  x = zoo_gap(z, pool, x);
  x = zoo_flatten(z, "flatten", x);
  return zoo_gemm(z, fc, x, classes);
}

/* The 4096-4096-classes MLP of VGG and AlexNet; idx = torchvision indices
 * of classifier fc1, relu1, fc2, relu2, fc3. */
static TensorId zoo_mlp(ZooCtx *z, TensorId x, const int idx[5]) {
  char b[ZOO_NAME];
  x = zoo_flatten(z, "flatten", x);
  for (int i = 0; i < 2; i++) {
    x = zoo_gemm(z, zoo_name(b, "classifier.%d", idx[2 * i]), x, 4096);
    x = zoo_act(z, OP_RELU, zoo_name(b, "classifier.%d", idx[2 * i + 1]), x);
  }
  return zoo_gemm(z, zoo_name(b, "classifier.%d", idx[4]), x, 1000);
}

static TensorId zoo_vgg16(ZooCtx *z, TensorId x) {
  static const int cfg[] = {64, 64,  0,   128, 128, 0,   256, 256, 256,
                            0,  512, 512, 512, 0,   512, 512, 512, 0}; /* 0 = max pool */
  static const int idx[5] = {0, 1, 3, 4, 6};
  char b[ZOO_NAME], c[ZOO_NAME];
  int f = 0;
  for (size_t i = 0; i < sizeof cfg / sizeof cfg[0]; i++, f++) {
    zoo_name(b, "%d", f);
    if (cfg[i])
      x = zoo_cr(z, x, "features.", b, zoo_name(c, "%d", ++f), cfg[i], 3, 1, 1);
    else
      x = zoo_pool(z, OP_MAXPOOL, zoo_name(c, "features.%d", f), x, 2, 2, 0, false);
  }
  return zoo_mlp(z, x, idx);
}

static TensorId zoo_alexnet(ZooCtx *z, TensorId x) {
  static const struct {
    int m, k, s, p;
    bool pool;
  } cfg[] = {{64, 11, 4, 2, true},
             {192, 5, 1, 2, true},
             {384, 3, 1, 1, false},
             {256, 3, 1, 1, false},
             {256, 3, 1, 1, true}};
  static const int idx[5] = {1, 2, 4, 5, 6};
  char b[ZOO_NAME], c[ZOO_NAME];
  int f = 0;
  for (size_t i = 0; i < sizeof cfg / sizeof cfg[0]; i++) {
    zoo_name(b, "%d", f);
    x = zoo_cr(z, x, "features.", b, zoo_name(c, "%d", f + 1), cfg[i].m, cfg[i].k, cfg[i].s,
               cfg[i].p);
    f += 2;
    if (cfg[i].pool)
      x = zoo_pool(z, OP_MAXPOOL, zoo_name(b, "features.%d", f++), x, 3, 2, 0, false);
  }
  return zoo_mlp(z, x, idx);
}

/* torchvision ResNet: BasicBlock (resnet18) or Bottleneck v1.5 (resnet50). */
static TensorId zoo_resnet(ZooCtx *z, TensorId x, const int blocks[4], bool bottleneck) {
  char b[ZOO_NAME], p[ZOO_NAME];
  int64_t expansion = bottleneck ? 4 : 1, inplanes = 64;
  x = zoo_cba(z, x, "", "conv1", "bn1", "relu", 64, 7, 2, 1, OP_RELU);
  x = zoo_pool(z, OP_MAXPOOL, "maxpool", x, 3, 2, 1, false);
  for (int l = 0; l < 4; l++) {
    int64_t planes = INT64_C(64) << l;
    for (int i = 0; i < blocks[l]; i++) {
      int64_t s = l > 0 && i == 0 ? 2 : 1;
      TensorId y, sc = x;
      zoo_name(p, "layer%d.%d.", l + 1, i);
      if (bottleneck) {
        y = zoo_cba(z, x, p, "conv1", "bn1", "relu1", planes, 1, 1, 1, OP_RELU);
        y = zoo_cba(z, y, p, "conv2", "bn2", "relu2", planes, 3, s, 1, OP_RELU);
        y = zoo_cba(z, y, p, "conv3", "bn3", "", planes * 4, 1, 1, 1, OP_NONE);
      } else if (z->binary) { /* Sign -> binary conv -> BN, twice; real-valued shortcut */
        y = zoo_act(z, OP_SIGN, zoo_name(b, "%ssign1", p), x);
        y = zoo_cba(z, y, p, "conv1", "bn1", "", planes, 3, s, 1, OP_NONE);
        y = zoo_act(z, OP_SIGN, zoo_name(b, "%ssign2", p), y);
        y = zoo_cba(z, y, p, "conv2", "bn2", "", planes, 3, 1, 1, OP_NONE);
      } else {
        y = zoo_cba(z, x, p, "conv1", "bn1", "relu1", planes, 3, s, 1, OP_RELU);
        y = zoo_cba(z, y, p, "conv2", "bn2", "", planes, 3, 1, 1, OP_NONE);
      }
      if (s != 1 || inplanes != planes * expansion)
        sc = zoo_cba(z, x, p, "downsample.0", "downsample.1", "", planes * expansion, 1, s, 1,
                     OP_NONE);
      x = zoo_binary(z, OP_ADD, zoo_name(b, "%sadd", p), y, sc);
      if (!z->binary) x = zoo_act(z, OP_RELU, zoo_name(b, "%srelu", p), x);
      inplanes = planes * expansion;
    }
  }
  return zoo_head(z, x, "avgpool", "fc", 1000);
}

static TensorId zoo_resnet18(ZooCtx *z, TensorId x) {
  static const int blocks[4] = {2, 2, 2, 2};
  return zoo_resnet(z, x, blocks, false);
}

/* ResNet-18 with binarized basic blocks (Bi-Real Net's layout). */
static TensorId zoo_resnet18_bnn(ZooCtx *z, TensorId x) {
  static const int blocks[4] = {2, 2, 2, 2};
  z->binary = true;
  return zoo_resnet(z, x, blocks, false);
}

static TensorId zoo_resnet50(ZooCtx *z, TensorId x) {
  static const int blocks[4] = {3, 4, 6, 3};
  return zoo_resnet(z, x, blocks, true);
}

/* U-Net: enc1..enc5 (two valid 3x3 conv + ReLU, 2x2 max pool before
 * enc2..enc5), dec4..dec1 (2x2 up-conv halving channels, centre crop of the
 * encoder output, concat [crop, up], two valid 3x3 conv + ReLU), head 1x1. */
static TensorId zoo_unet(ZooCtx *z, TensorId x) {
  char b[ZOO_NAME], p[ZOO_NAME];
  TensorId skip[4] = {0};
  for (int l = 0; l < 5; l++) {
    int64_t c = INT64_C(64) << l;
    if (l) x = zoo_pool(z, OP_MAXPOOL, zoo_name(b, "pool%d", l), x, 2, 2, 0, false);
    zoo_name(p, "enc%d.", l + 1);
    x = zoo_cr(z, x, p, "conv1", "relu1", c, 3, 1, 0);
    x = zoo_cr(z, x, p, "conv2", "relu2", c, 3, 1, 0);
    if (l < 4) skip[l] = x;
  }
  for (int l = 3; l >= 0 && x; l--) {
    int64_t c = INT64_C(64) << l;
    zoo_name(p, "dec%d.", l + 1);
    TensorId up = zoo_convt(z, zoo_name(b, "%supconv", p), x, c, 2, 2);
    if (!up) return 0;
    int64_t h = z->m->tensors[up].dims[2], w = z->m->tensors[up].dims[3];
    x = zoo_crop(z, zoo_name(b, "%scrop", p), skip[l], h, w);
    x = zoo_concat(z, zoo_name(b, "%sconcat", p), x, up);
    x = zoo_cr(z, x, p, "conv1", "relu1", c, 3, 1, 0);
    x = zoo_cr(z, x, p, "conv2", "relu2", c, 3, 1, 0);
  }
  return zoo_conv(z, "head", x, 2, 1, 1, 0, 1, true);
}

/* torchvision MobileNetV2 1.0, ReLU6 as Clip(0, 6). */
static TensorId zoo_mobilenetv2(ZooCtx *z, TensorId x) {
  static const int cfg[][4] = {{1, 16, 1, 1}, {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                               {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}}; /* t, c, n, s */
  char b[ZOO_NAME], p[ZOO_NAME];
  int64_t in = 32;
  int f = 1;
  x = zoo_cba(z, x, "features.0.", "0", "1", "2", 32, 3, 2, 1, OP_CLIP);
  for (size_t r = 0; r < sizeof cfg / sizeof cfg[0]; r++) {
    int64_t t = cfg[r][0], c = cfg[r][1];
    for (int i = 0; i < cfg[r][2]; i++, f++) {
      int64_t s = i ? 1 : cfg[r][3], hidden = in * t;
      TensorId y = x;
      if (t != 1)
        y = zoo_cba(z, y, zoo_name(p, "features.%d.conv.0.", f), "0", "1", "2", hidden, 1, 1, 1,
                    OP_CLIP);
      y = zoo_cba(z, y, zoo_name(p, "features.%d.conv.%d.", f, t != 1), "0", "1", "2", hidden, 3, s,
                  hidden, OP_CLIP);
      y = zoo_cba(z, y, zoo_name(p, "features.%d.conv.", f), t != 1 ? "2" : "1", t != 1 ? "3" : "2",
                  "", c, 1, 1, 1, OP_NONE);
      if (s == 1 && in == c) y = zoo_binary(z, OP_ADD, zoo_name(b, "features.%d.add", f), x, y);
      x = y;
      in = c;
    }
  }
  x = zoo_cba(z, x, zoo_name(p, "features.%d.", f), "0", "1", "2", 1280, 1, 1, 1, OP_CLIP);
  return zoo_head(z, x, "avgpool", "classifier.1", 1000);
}

/* SqueezeNet 1.0 fire module: squeeze 1x1, expand 1x1 and 3x3, concat. */
static TensorId zoo_fire(ZooCtx *z, TensorId x, int f, int64_t sq, int64_t e1, int64_t e3) {
  char b[ZOO_NAME], p[ZOO_NAME];
  zoo_name(p, "features.%d.", f);
  x = zoo_cr(z, x, p, "squeeze", "squeeze_activation", sq, 1, 1, 0);
  TensorId a = zoo_cr(z, x, p, "expand1x1", "expand1x1_activation", e1, 1, 1, 0);
  TensorId c = zoo_cr(z, x, p, "expand3x3", "expand3x3_activation", e3, 3, 1, 1);
  return zoo_concat(z, zoo_name(b, "%sconcat", p), a, c);
}

static TensorId zoo_squeezenet(ZooCtx *z, TensorId x) {
  static const int fire[][3] = {{16, 64, 64},   {16, 64, 64},   {32, 128, 128},
                                {32, 128, 128}, {48, 192, 192}, {48, 192, 192},
                                {64, 256, 256}, {64, 256, 256}}; /* squeeze, e1x1, e3x3 */
  char b[ZOO_NAME];
  int k = 0;
  x = zoo_cr(z, x, "features.", "0", "1", 96, 7, 2, 0);
  for (int f = 2; f <= 12; f++) {
    if (f == 2 || f == 6 || f == 11) {
      x = zoo_pool(z, OP_MAXPOOL, zoo_name(b, "features.%d", f), x, 3, 2, 0, true);
    } else {
      x = zoo_fire(z, x, f, fire[k][0], fire[k][1], fire[k][2]);
      k++;
    }
  }
  x = zoo_cr(z, x, "classifier.", "1", "2", 1000, 1, 1, 0);
  x = zoo_gap(z, "classifier.3", x);
  return zoo_flatten(z, "flatten", x);
}

/* Squeeze-and-excitation: GlobalAveragePool -> 1x1 conv to rd -> Relu ->
 * 1x1 conv back -> Sigmoid -> Mul with x. */
static TensorId zoo_se(ZooCtx *z, TensorId x, const char *pfx, int64_t rd) {
  if (!x) return 0;
  char b[ZOO_NAME];
  int64_t c = z->m->tensors[x].dims[1];
  TensorId s = zoo_gap(z, zoo_name(b, "%sse.pool", pfx), x);
  s = zoo_cr(z, s, pfx, "se.reduce", "se.relu", rd, 1, 1, 0);
  s = zoo_conv(z, zoo_name(b, "%sse.expand", pfx), s, c, 1, 1, 0, 1, true);
  s = zoo_act(z, OP_SIGMOID, zoo_name(b, "%sse.gate", pfx), s);
  return zoo_binary(z, OP_MUL, zoo_name(b, "%sse.mul", pfx), x, s);
}

/* MnasNet-A1: stem, 7 stages of MBConv (the first a SepConv, e = 1), head. */
static TensorId zoo_mnasnet(ZooCtx *z, TensorId x) {
  static const struct {
    int r, k, s, e, c;
    bool se;
  } cfg[] = {{1, 3, 1, 1, 16, false}, {2, 3, 2, 6, 24, false}, {3, 5, 2, 3, 40, true},
             {4, 3, 2, 6, 80, false}, {2, 3, 1, 6, 112, true}, {3, 5, 2, 6, 160, true},
             {1, 3, 1, 6, 320, false}};
  char b[ZOO_NAME], p[ZOO_NAME];
  int64_t in = 32;
  x = zoo_cba(z, x, "stem.", "conv", "bn", "relu", 32, 3, 2, 1, OP_RELU);
  for (int st = 0; st < (int)(sizeof cfg / sizeof cfg[0]); st++) {
    for (int i = 0; i < cfg[st].r; i++) {
      int64_t s = i ? 1 : cfg[st].s, c = cfg[st].c, hidden = in * cfg[st].e;
      TensorId y = x;
      zoo_name(p, "blocks.%d.%d.", st, i);
      if (cfg[st].e != 1)
        y = zoo_cba(z, y, p, "expand", "expand_bn", "expand_relu", hidden, 1, 1, 1, OP_RELU);
      y = zoo_cba(z, y, p, "dw", "dw_bn", "dw_relu", hidden, cfg[st].k, s, hidden, OP_RELU);
      if (cfg[st].se) y = zoo_se(z, y, p, in / 4 > 1 ? in / 4 : 1);
      y = zoo_cba(z, y, p, "project", "project_bn", "", c, 1, 1, 1, OP_NONE);
      if (s == 1 && in == c) y = zoo_binary(z, OP_ADD, zoo_name(b, "%sadd", p), x, y);
      x = y;
      in = c;
    }
  }
  x = zoo_cba(z, x, "head.", "conv", "bn", "relu", 1280, 1, 1, 1, OP_RELU);
  return zoo_head(z, x, "avgpool", "classifier", 1000);
}

/* ---- NAS-Bench-201 ------------------------------------------------------ */

static const char *const nb201_ops[NB_NOPS] = {"none", "skip_connect", "nor_conv_1x1",
                                               "nor_conv_3x3", "avg_pool_3x3"};

static Rc nb201_fail(Diag *d, const char *arch, const char *at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static Rc nb201_fail(Diag *d, const char *arch, const char *at, const char *fmt, ...) {
  char msg[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  diag_error(d, NULL,
             "nb201 arch '%s': %s at offset %d (expected "
             "|op~0|+|op~0|op~1|+|op~0|op~1|op~2| with op one of none, skip_connect, "
             "nor_conv_1x1, nor_conv_3x3, avg_pool_3x3)",
             arch, msg, (int)(at - arch));
  return RC_BADINPUT;
}

static bool nb201_eat(const char **s, char c) {
  if (**s != c) return false;
  (*s)++;
  return true;
}

/* Parses the syntax of an arch string into a->op (connected or not). */
static Rc nb201_parse_ops(const char *arch, Nb201Arch *a, Diag *d) {
  const char *s = arch;
  memset(a, 0, sizeof *a);
  for (int j = 1; j <= 3; j++) {
    bool seen[3] = {false, false, false};
    if (j > 1 && !nb201_eat(&s, '+'))
      return nb201_fail(d, arch, s, "expected '+' before node %d", j);
    if (!nb201_eat(&s, '|')) return nb201_fail(d, arch, s, "expected '|'");
    for (int k = 0; k < j; k++) {
      size_t len = strcspn(s, "~|+");
      if (len == 0 && (*s == '\0' || *s == '+'))
        return nb201_fail(d, arch, s, "node %d has %d input edges, not %d", j, k, j);
      int op = NB_NOPS;
      for (int o = 0; o < NB_NOPS; o++)
        if (strlen(nb201_ops[o]) == len && strncmp(s, nb201_ops[o], len) == 0) op = o;
      if (op == NB_NOPS)
        return nb201_fail(d, arch, s, "node %d: unknown op '%.*s'", j, (int)len, s);
      s += len;
      if (!nb201_eat(&s, '~')) return nb201_fail(d, arch, s, "expected '~' after the op");
      if (*s < '0' || *s > '9') return nb201_fail(d, arch, s, "expected an input node number");
      int i = *s - '0';
      if (i >= j || (s[1] >= '0' && s[1] <= '9'))
        return nb201_fail(d, arch, s, "node %d cannot read node %.*s (only 0..%d)", j,
                          (int)strspn(s, "0123456789"), s, j - 1);
      if (seen[i]) return nb201_fail(d, arch, s, "node %d lists input %d twice", j, i);
      seen[i] = true;
      a->op[j][i] = op;
      s++;
      if (!nb201_eat(&s, '|')) return nb201_fail(d, arch, s, "expected '|'");
    }
  }
  if (*s) return nb201_fail(d, arch, s, "unexpected text after node 3");
  return RC_OK;
}

Rc nb201_parse(const char *arch, uint8_t ops[NB201_EDGES], Diag *d) {
  Nb201Arch a;
  Rc rc = nb201_parse_ops(arch, &a, d);
  if (rc != RC_OK) return rc;
  static const int to[NB201_EDGES] = {1, 2, 2, 3, 3, 3}, from[NB201_EDGES] = {0, 0, 1, 0, 1, 2};
  for (int e = 0; e < NB201_EDGES; e++) ops[e] = (uint8_t)a.op[to[e]][from[e]];
  return RC_OK;
}

/* Parses an arch string into a; a node whose every input edge is none (or
 * reads a zero node) is zero and dropped, as is a node node 3 does not read. */
static Rc nb201_parse_cell(const char *arch, Nb201Arch *a, Diag *d) {
  Rc rc = nb201_parse_ops(arch, a, d);
  if (rc != RC_OK) return rc;
  bool zero[4] = {false, true, true, true}, live[4] = {false, false, false, true};
  for (int j = 1; j <= 3; j++)
    for (int i = 0; i < j; i++)
      if (a->op[j][i] != NB_NONE && !zero[i]) zero[j] = false;
  if (zero[3]) {
    diag_error(d, NULL,
               "nb201 arch '%s': the cell is disconnected: no path of non-'none' edges "
               "leads from node 0 to node 3",
               arch);
    return RC_BADINPUT;
  }
  for (int j = 3; j >= 1; j--)
    for (int i = 0; i < j; i++)
      if (live[j] && !zero[j] && a->op[j][i] != NB_NONE && !zero[i]) live[i] = true;
  for (int j = 0; j <= 3; j++) a->use[j] = live[j] && !zero[j];
  return RC_OK;
}

/* One edge's op applied to x (skip_connect is x itself). */
static TensorId nb201_edge(ZooCtx *z, TensorId x, int op, const char *pfx) {
  char b[ZOO_NAME];
  if (!x) return 0;
  int64_t c = z->m->tensors[x].dims[1];
  switch (op) {
  case NB_CONV1:
  case NB_CONV3:
    x = zoo_act(z, OP_RELU, zoo_name(b, "%srelu", pfx), x);
    return zoo_cba(z, x, pfx, "conv", "bn", "", c, op == NB_CONV1 ? 1 : 3, 1, 1, OP_NONE);
  case NB_POOL: return zoo_pool(z, OP_AVGPOOL, zoo_name(b, "%spool", pfx), x, 3, 1, 1, false);
  default: return x;
  }
}

/* Cell n: node j = sum over used i < j of op(i -> j)(node i); edge names
 * "cells.N.edgeIJ.*" for the edge from node I to node J. */
static TensorId nb201_cell(ZooCtx *z, TensorId x, int n) {
  const Nb201Arch *a = z->arch;
  char b[ZOO_NAME], p[ZOO_NAME];
  TensorId node[4] = {x, 0, 0, 0};
  for (int j = 1; j <= 3; j++) {
    if (!a->use[j]) continue;
    int terms = 0;
    for (int i = 0; i < j; i++) {
      if (!a->use[i] || a->op[j][i] == NB_NONE) continue;
      TensorId e = nb201_edge(z, node[i], a->op[j][i], zoo_name(p, "cells.%d.edge%d%d.", n, i, j));
      if (terms++)
        e = zoo_binary(z, OP_ADD, zoo_name(b, "cells.%d.node%d.add%d", n, j, terms - 1), node[j],
                       e);
      node[j] = e;
    }
  }
  return node[3];
}

/* Residual reduction block between stages: ReLUConvBN 3x3 s2, ReLUConvBN
 * 3x3, plus 2x2 avg-pool s2 -> 1x1 conv shortcut. */
static TensorId nb201_reduce(ZooCtx *z, TensorId x, int n, int64_t c) {
  char b[ZOO_NAME], p[ZOO_NAME];
  TensorId y = zoo_act(z, OP_RELU, zoo_name(b, "cells.%d.conv_a.relu", n), x);
  y = zoo_cba(z, y, zoo_name(p, "cells.%d.conv_a.", n), "conv", "bn", "", c, 3, 2, 1, OP_NONE);
  y = zoo_act(z, OP_RELU, zoo_name(b, "cells.%d.conv_b.relu", n), y);
  y = zoo_cba(z, y, zoo_name(p, "cells.%d.conv_b.", n), "conv", "bn", "", c, 3, 1, 1, OP_NONE);
  TensorId sc =
      zoo_pool(z, OP_AVGPOOL, zoo_name(b, "cells.%d.downsample.pool", n), x, 2, 2, 0, false);
  sc = zoo_conv(z, zoo_name(b, "cells.%d.downsample.conv", n), sc, c, 1, 1, 0, 1, false);
  return zoo_binary(z, OP_ADD, zoo_name(b, "cells.%d.add", n), y, sc);
}

static TensorId zoo_nb201(ZooCtx *z, TensorId x) {
  int n = 0;
  x = zoo_cba(z, x, "stem.", "conv", "bn", "", 16, 3, 1, 1, OP_NONE);
  for (int st = 0; st < 3; st++) {
    if (st) x = nb201_reduce(z, x, n++, INT64_C(16) << st);
    for (int i = 0; i < 5; i++) x = nb201_cell(z, x, n++);
  }
  x = zoo_bn(z, "lastact.bn", x);
  x = zoo_act(z, OP_RELU, "lastact.relu", x);
  return zoo_head(z, x, "global_pooling", "classifier", z->classes);
}

/* ---- transformers ------------------------------------------------------- */

/* An encoder or decoder stack (sizes of the original papers). */
typedef enum { TF_BERT, TF_VIT, TF_GPT2 } TfKind;

typedef struct {
  TfKind kind;
  int64_t layers, d, heads, ff; /* blocks, model width, heads, FFN width */
  int64_t seq;                  /* tokens (ViT: from the image); decode: keys incl. the new one */
  int64_t vocab, positions;     /* token and position tables (BERT, GPT-2) */
  bool decode;                  /* GPT-2: one new token over a KV cache of seq - 1 past tokens */
} TfConfig;

static const TfConfig tf_bert128 = {TF_BERT, 12, 768, 12, 3072, 128, 30522, 512, false};
static const TfConfig tf_bert512 = {TF_BERT, 12, 768, 12, 3072, 512, 30522, 512, false};
static const TfConfig tf_vitb16 = {TF_VIT, 12, 768, 12, 3072, 197, 0, 0, false};
static const TfConfig tf_gpt2_prefill = {TF_GPT2, 12, 768, 12, 3072, 1024, 50257, 1024, false};
static const TfConfig tf_bert_tiny = {TF_BERT, 2, 64, 2, 256, 16, 512, 64, false};
static const TfConfig tf_gpt2_tiny = {TF_GPT2, 2, 64, 2, 256, 16, 512, 64, false};
static const TfConfig tf_gpt2_decode = {TF_GPT2, 12, 768, 12, 3072, 1024, 50257, 1024, true};

/* A node of one input and one output of the given shape (dims may point
 * into the model's tensors: it is copied before any tensor is added). */
static Node *tf_node1(ZooCtx *z, Op op, const char *name, TensorId x, int rank, const int64_t *dims,
                      TensorId *y) {
  if (!x) return NULL;
  int64_t d[NAASC_MAX_RANK];
  memcpy(d, dims, (size_t)rank * sizeof *d);
  return zoo_node(z, op, name, 1, &x, rank, d, y);
}

/* Add or Mul; b broadcasts to a. */
static TensorId tf_binary(ZooCtx *z, Op op, const char *name, TensorId a, TensorId b) {
  if (!a || !b) return 0;
  int64_t d[NAASC_MAX_RANK];
  zoo_shape(z, a, d); /* a copy: zoo_node adds a tensor, which may move the array */
  TensorId in[2] = {a, b}, y;
  return zoo_node(z, op, name, 2, in, z->m->tensors[a].rank, d, &y) ? y : 0;
}

/* A constant (not a parameter, always with data): a scalar or a mask. */
static TensorId tf_const(ZooCtx *z, const char *name, int rank, const int64_t *dims,
                         const float *vals) {
  TensorId t = model_add_tensor(z->m, name, DT_F32, rank, dims, TK_CONST);
  if (!t) return 0;
  int64_t n = tensor_numel(&z->m->tensors[t]);
  float *p = arena_alloc(&z->m->arena, (size_t)n * sizeof *p);
  if (!p) return 0;
  memcpy(p, vals, (size_t)n * sizeof *p);
  z->m->tensors[t].data = p;
  return t;
}

/* numpy matmul of a [..., M, C] and b [..., C, K] (equal batch dims, or b 2-D). */
static TensorId tf_matmul(ZooCtx *z, const char *name, TensorId a, TensorId b) {
  if (!a || !b) return 0;
  const Tensor *A = &z->m->tensors[a], *B = &z->m->tensors[b];
  int64_t d[NAASC_MAX_RANK];
  memcpy(d, A->dims, sizeof d);
  d[A->rank - 1] = B->dims[B->rank - 1];
  TensorId in[2] = {a, b}, y;
  return zoo_node(z, OP_MATMUL, name, 2, in, A->rank, d, &y) ? y : 0;
}

/* Linear layer: MatMul by W [C, N] ("<name>.weight"), then Add of the bias
 * [N] (the node `name`), as PyTorch exports nn.Linear on tokens. */
static TensorId tf_linear(ZooCtx *z, const char *name, TensorId x, int64_t N) {
  if (!x) return 0;
  char b[ZOO_NAME];
  int64_t C = z->m->tensors[x].dims[z->m->tensors[x].rank - 1];
  int64_t wd[2] = {C, N}, bd[1] = {N};
  TensorId w = zoo_param(z, name, "weight", 2, wd, INIT_HE, C);
  TensorId y = tf_matmul(z, zoo_name(b, "%s.matmul", name), x, w);
  return tf_binary(z, OP_ADD, name, y, zoo_param(z, name, "bias", 1, bd, INIT_BIAS, 0));
}

static TensorId tf_layernorm(ZooCtx *z, const char *name, TensorId x, float eps) {
  if (!x) return 0;
  int rank = z->m->tensors[x].rank;
  int64_t d[NAASC_MAX_RANK];
  zoo_shape(z, x, d);
  int64_t cd[1] = {d[rank - 1]};
  TensorId in[3] = {x, zoo_param(z, name, "weight", 1, cd, INIT_BN_SCALE, 0),
                    zoo_param(z, name, "bias", 1, cd, INIT_BN_SHIFT, 0)},
           y;
  Node *n = zoo_node(z, OP_LAYERNORM, name, 3, in, rank, d, &y);
  if (!n) return 0;
  n->a.axis = rank - 1;
  n->a.epsilon = eps;
  n->a.stash_type = 1;
  return y;
}

static TensorId tf_reshape(ZooCtx *z, const char *name, TensorId x, int rank, const int64_t *dims) {
  TensorId y;
  return tf_node1(z, OP_RESHAPE, name, x, rank, dims, &y) ? y : 0;
}

static TensorId tf_transpose(ZooCtx *z, const char *name, TensorId x, int rank, const int *perm) {
  if (!x) return 0;
  int64_t d[NAASC_MAX_RANK] = {0};
  for (int k = 0; k < rank; k++) d[k] = z->m->tensors[x].dims[perm[k]];
  TensorId y;
  Node *n = tf_node1(z, OP_TRANSPOSE, name, x, rank, d, &y);
  if (!n) return 0;
  n->a.naxes = rank;
  for (int k = 0; k < rank; k++) n->a.axes[k] = perm[k];
  return y;
}

/* x[start:end] along axis. */
static TensorId tf_slice(ZooCtx *z, const char *name, TensorId x, int axis, int64_t start,
                         int64_t end) {
  if (!x) return 0;
  int64_t d[NAASC_MAX_RANK];
  zoo_shape(z, x, d);
  d[axis] = end - start;
  TensorId y;
  Node *n = tf_node1(z, OP_SLICE, name, x, z->m->tensors[x].rank, d, &y);
  if (!n) return 0;
  n->a.naxes = 1;
  n->a.axes[0] = axis, n->a.starts[0] = start, n->a.ends[0] = end, n->a.steps[0] = 1;
  return y;
}

static TensorId tf_concat(ZooCtx *z, const char *name, TensorId a, TensorId b, int axis) {
  if (!a || !b) return 0;
  int64_t d[NAASC_MAX_RANK];
  zoo_shape(z, a, d);
  d[axis] += z->m->tensors[b].dims[axis];
  TensorId in[2] = {a, b}, y;
  Node *n = zoo_node(z, OP_CONCAT, name, 2, in, z->m->tensors[a].rank, d, &y);
  if (!n) return 0;
  n->a.axis = axis;
  return y;
}

/* Multi-head self-attention over x [1, T, d]: Q K V projections, per head
 * softmax(Q K^T / sqrt(dh) + mask) V as batched MatMuls over [1, heads, ...],
 * the output projection.  past_k [1, H, dh, P] (keys kept transposed) and
 * past_v [1, H, P, dh] are the KV cache of a decode step, or 0. */
static TensorId tf_attention(ZooCtx *z, const TfConfig *c, const char *pfx, TensorId x,
                             TensorId mask, TensorId past_k, TensorId past_v) {
  if (!x) return 0;
  char b[ZOO_NAME];
  int64_t T = z->m->tensors[x].dims[1], H = c->heads, dh = c->d / c->heads;
  int64_t split[4] = {1, T, H, dh}, merged[3] = {1, T, c->d};
  static const int qv_perm[4] = {0, 2, 1, 3}, k_perm[4] = {0, 2, 3, 1};
  TensorId q = tf_linear(z, zoo_name(b, "%s.query", pfx), x, c->d);
  q = tf_reshape(z, zoo_name(b, "%s.query.split", pfx), q, 4, split);
  q = tf_transpose(z, zoo_name(b, "%s.query.heads", pfx), q, 4, qv_perm);
  TensorId k = tf_linear(z, zoo_name(b, "%s.key", pfx), x, c->d);
  k = tf_reshape(z, zoo_name(b, "%s.key.split", pfx), k, 4, split);
  k = tf_transpose(z, zoo_name(b, "%s.key.heads", pfx), k, 4, k_perm);
  TensorId v = tf_linear(z, zoo_name(b, "%s.value", pfx), x, c->d);
  v = tf_reshape(z, zoo_name(b, "%s.value.split", pfx), v, 4, split);
  v = tf_transpose(z, zoo_name(b, "%s.value.heads", pfx), v, 4, qv_perm);
  if (past_k) {
    k = tf_concat(z, zoo_name(b, "%s.key.cache", pfx), past_k, k, 3);
    v = tf_concat(z, zoo_name(b, "%s.value.cache", pfx), past_v, v, 2);
  }
  TensorId s = tf_matmul(z, zoo_name(b, "%s.scores", pfx), q, k);
  float scale = 1.0f / sqrtf((float)dh);
  s = tf_binary(z, OP_MUL, zoo_name(b, "%s.scale", pfx), s,
                tf_const(z, zoo_name(b, "%s.scale.value", pfx), 0, NULL, &scale));
  if (mask) s = tf_binary(z, OP_ADD, zoo_name(b, "%s.mask", pfx), s, mask);
  TensorId p;
  Node *n =
      s ? tf_node1(z, OP_SOFTMAX, zoo_name(b, "%s.softmax", pfx), s, 4, z->m->tensors[s].dims, &p)
        : NULL;
  if (!n) return 0;
  n->a.axis = 3;
  TensorId o = tf_matmul(z, zoo_name(b, "%s.context", pfx), p, v);
  o = tf_transpose(z, zoo_name(b, "%s.context.tokens", pfx), o, 4, qv_perm);
  o = tf_reshape(z, zoo_name(b, "%s.context.merge", pfx), o, 3, merged);
  return tf_linear(z, zoo_name(b, "%s.output", pfx), o, c->d);
}

/* x op c for a scalar constant c (named "<name>.value"). */
static TensorId tf_scalar(ZooCtx *z, Op op, const char *name, TensorId x, float c) {
  char b[ZOO_NAME];
  return tf_binary(z, op, name, x, tf_const(z, zoo_name(b, "%s.value", name), 0, NULL, &c));
}

/* GELU as PyTorch exports it at opset 17: exact, x * 0.5 * (1 + erf(x /
 * sqrt 2)) (BERT, ViT); or GPT-2's tanh form, 0.5 x (1 + tanh(sqrt(2/pi)
 * (x + 0.044715 x^3))). */
static TensorId tf_gelu(ZooCtx *z, const TfConfig *c, const char *pfx, TensorId x) {
  char b[ZOO_NAME];
  TensorId y;
  if (c->kind != TF_GPT2) {
    y = tf_scalar(z, OP_DIV, zoo_name(b, "%s.div", pfx), x, 1.41421356f);
    if (!tf_node1(z, OP_ERF, zoo_name(b, "%s.erf", pfx), y, 3, z->m->tensors[x].dims, &y)) return 0;
  } else {
    y = tf_scalar(z, OP_POW, zoo_name(b, "%s.cube", pfx), x, 3.0f);
    y = tf_scalar(z, OP_MUL, zoo_name(b, "%s.cube_scale", pfx), y, 0.044715f);
    y = tf_binary(z, OP_ADD, zoo_name(b, "%s.inner", pfx), x, y);
    y = tf_scalar(z, OP_MUL, zoo_name(b, "%s.inner_scale", pfx), y, 0.7978845608f);
    if (!y || !tf_node1(z, OP_TANH, zoo_name(b, "%s.tanh", pfx), y, 3, z->m->tensors[x].dims, &y))
      return 0;
  }
  y = tf_scalar(z, OP_ADD, zoo_name(b, "%s.one_plus", pfx), y, 1.0f);
  y = tf_binary(z, OP_MUL, zoo_name(b, "%s.times_x", pfx), x, y);
  return tf_scalar(z, OP_MUL, pfx, y, 0.5f);
}

/* The MLP: Linear to ff, GELU, Linear back. */
static TensorId tf_mlp(ZooCtx *z, const TfConfig *c, const char *pfx, TensorId x) {
  char b[ZOO_NAME];
  x = tf_linear(z, zoo_name(b, "%s.fc1", pfx), x, c->ff);
  x = tf_gelu(z, c, zoo_name(b, "%s.gelu", pfx), x);
  return tf_linear(z, zoo_name(b, "%s.fc2", pfx), x, c->d);
}

/* One block: post-LN (BERT: x = LN(x + attn(x)); x = LN(x + mlp(x))) or
 * pre-LN (ViT, GPT-2: x += attn(LN(x)); x += mlp(LN(x))). */
static TensorId tf_block(ZooCtx *z, const TfConfig *c, int l, TensorId x, TensorId mask,
                         TensorId past_k, TensorId past_v) {
  char p[ZOO_NAME], b[ZOO_NAME];
  zoo_name(p, "layer.%d", l);
  float eps = c->kind == TF_BERT ? 1e-12f : c->kind == TF_VIT ? 1e-6f : 1e-5f;
  if (c->kind == TF_BERT) {
    TensorId a = tf_attention(z, c, zoo_name(b, "%s.attention", p), x, mask, 0, 0);
    x = tf_layernorm(z, zoo_name(b, "%s.attention.norm", p),
                     tf_binary(z, OP_ADD, zoo_name(b, "%s.attention.residual", p), a, x), eps);
    TensorId f = tf_mlp(z, c, zoo_name(b, "%s.mlp", p), x);
    return tf_layernorm(z, zoo_name(b, "%s.mlp.norm", p),
                        tf_binary(z, OP_ADD, zoo_name(b, "%s.mlp.residual", p), f, x), eps);
  }
  TensorId h = tf_layernorm(z, zoo_name(b, "%s.ln_1", p), x, eps);
  h = tf_attention(z, c, zoo_name(b, "%s.attention", p), h, mask, past_k, past_v);
  x = tf_binary(z, OP_ADD, zoo_name(b, "%s.attention.residual", p), h, x);
  h = tf_layernorm(z, zoo_name(b, "%s.ln_2", p), x, eps);
  h = tf_mlp(z, c, zoo_name(b, "%s.mlp", p), h);
  return tf_binary(z, OP_ADD, zoo_name(b, "%s.mlp.residual", p), h, x);
}

/* Token ids [1, T] (the graph input) -> embeddings [1, T, d]: the token
 * table gathered, plus the rows [pos, pos + T) of the position table (and
 * BERT's token-type row 0), as HuggingFace's BertEmbeddings / GPT2Model. */
static TensorId tf_embed(ZooCtx *z, const TfConfig *c, TensorId ids, int64_t pos, TensorId *wte) {
  int64_t T = z->m->tensors[ids].dims[1];
  int64_t vd[2] = {c->vocab, c->d}, pd[2] = {c->positions, c->d}, td[2] = {2, c->d};
  int64_t ed[3] = {1, T, c->d};
  bool bert = c->kind == TF_BERT;
  *wte = zoo_param(z, bert ? "embeddings.word" : "wte", "weight", 2, vd, INIT_BN_SHIFT, 0);
  TensorId in[2] = {*wte, ids}, x;
  if (!zoo_node(z, OP_GATHER, bert ? "embeddings.word" : "wte", 2, in, 3, ed, &x)) return 0;
  TensorId pt =
      zoo_param(z, bert ? "embeddings.position" : "wpe", "weight", 2, pd, INIT_BN_SHIFT, 0);
  pt = tf_slice(z, bert ? "embeddings.position" : "wpe", pt, 0, pos, pos + T);
  x = tf_binary(z, OP_ADD, bert ? "embeddings.add_position" : "embed.add_position", x, pt);
  if (!bert) return x;
  TensorId tt = zoo_param(z, "embeddings.token_type", "weight", 2, td, INIT_BN_SHIFT, 0);
  tt = tf_slice(z, "embeddings.token_type", tt, 0, 0, 1);
  x = tf_binary(z, OP_ADD, "embeddings.add_token_type", x, tt);
  return tf_layernorm(z, "embeddings.norm", x, 1e-12f);
}

/* BERT (Devlin et al. 2019): embeddings, 12 post-LN blocks, the pooler
 * (token 0 -> Linear -> Tanh) as the output [1, d]. */
static TensorId tf_bert(ZooCtx *z, const TfConfig *c, TensorId ids) {
  TensorId wte, x = tf_embed(z, c, ids, 0, &wte);
  for (int l = 0; l < c->layers; l++) x = tf_block(z, c, l, x, 0, 0, 0);
  x = tf_slice(z, "pooler.first_token", x, 1, 0, 1);
  x = tf_linear(z, "pooler.dense", x, c->d);
  int64_t od[2] = {1, c->d};
  x = zoo_act(z, OP_TANH, "pooler.tanh", x);
  return tf_reshape(z, "pooler.flatten", x, 2, od);
}

/* ViT-B/16 (Dosovitskiy et al. 2021; torchvision vit_b_16): 16x16 patches
 * by a stride-16 conv, the class token, position embeddings, 12 pre-LN
 * blocks, LN, the class token's head to 1000 classes. */
static TensorId tf_vit(ZooCtx *z, const TfConfig *c, TensorId img) {
  TensorId x = zoo_conv(z, "conv_proj", img, c->d, 16, 16, 0, 1, true);
  int64_t np = c->seq - 1, fd[3] = {1, c->d, np}, cd[3] = {1, 1, c->d}, pd[3] = {1, c->seq, c->d};
  static const int perm[3] = {0, 2, 1};
  x = tf_reshape(z, "conv_proj.flatten", x, 3, fd);
  x = tf_transpose(z, "conv_proj.tokens", x, 3, perm);
  x = tf_concat(z, "class_token.concat", zoo_param(z, "class_token", "weight", 3, cd, INIT_BIAS, 0),
                x, 1);
  x = tf_binary(z, OP_ADD, "encoder.pos_embedding", x,
                zoo_param(z, "encoder.pos_embedding", "weight", 3, pd, INIT_BIAS, 0));
  for (int l = 0; l < c->layers; l++) x = tf_block(z, c, l, x, 0, 0, 0);
  x = tf_layernorm(z, "encoder.ln", x, 1e-6f);
  int64_t od[2] = {1, c->d};
  x = tf_slice(z, "class_token.select", x, 1, 0, 1);
  x = tf_reshape(z, "class_token.flatten", x, 2, od);
  return zoo_gemm(z, "heads.head", x, 1000);
}

/* GPT-2 small (Radford et al. 2019; HuggingFace gpt2): prefill of seq
 * tokens with a causal mask, or one decode step at position seq - 1 over
 * graph inputs past.L.key [1, H, dh, seq-1] and past.L.value [1, H, seq-1,
 * dh]; 12 pre-LN blocks, ln_f, logits by the token table (tied). */
static TensorId tf_gpt2(ZooCtx *z, const TfConfig *c, TensorId ids) {
  int64_t T = z->m->tensors[ids].dims[1], P = c->decode ? c->seq - 1 : 0, dh = c->d / c->heads;
  TensorId wte, x = tf_embed(z, c, ids, P, &wte), mask = 0;
  if (!c->decode) {
    int64_t md[2] = {T, T};
    float *mv = xmalloc((size_t)(T * T) * sizeof *mv);
    if (!mv) return 0;
    for (int64_t i = 0; i < T; i++) /* -1e10 above the diagonal, as GPT-2's attn() */
      for (int64_t j = 0; j < T; j++) mv[i * T + j] = j > i ? -1e10f : 0.0f;
    mask = tf_const(z, "causal_mask", 2, md, mv);
    xfree(mv);
  }
  for (int l = 0; l < c->layers; l++) {
    TensorId pk = 0, pv = 0;
    if (c->decode) {
      char b[ZOO_NAME];
      int64_t kd[4] = {1, c->heads, dh, P}, vd[4] = {1, c->heads, P, dh};
      pk = model_add_tensor(z->m, zoo_name(b, "past.%d.key", l), DT_F32, 4, kd, TK_INPUT);
      if (!pk || !model_add_input(z->m, pk)) return 0;
      pv = model_add_tensor(z->m, zoo_name(b, "past.%d.value", l), DT_F32, 4, vd, TK_INPUT);
      if (!pv || !model_add_input(z->m, pv)) return 0;
    }
    x = tf_block(z, c, l, x, mask, pk, pv);
  }
  x = tf_layernorm(z, "ln_f", x, 1e-5f);
  int64_t hd[2] = {T, c->d}, ld[2] = {T, c->vocab};
  x = tf_reshape(z, "ln_f.flatten", x, 2, hd);
  TensorId in[2] = {x, wte}, y;
  Node *n = x ? zoo_node(z, OP_GEMM, "lm_head", 2, in, 2, ld, &y) : NULL;
  if (!n) return 0;
  n->a.trans_b = true;
  n->a.alpha = n->a.beta = 1.0f;
  return y;
}

static TensorId tf_build(ZooCtx *z, const TfConfig *c, TensorId x) {
  return c->kind == TF_BERT  ? tf_bert(z, c, x)
         : c->kind == TF_VIT ? tf_vit(z, c, x)
                             : tf_gpt2(z, c, x);
}

/* ---- the table ---------------------------------------------------------- */

/* name, builder, input channels and side, description */
#define ZOO_NETS(X)                                                                                \
  X("vgg16", zoo_vgg16, 3, 224, "VGG-16 (config D, no BN), 1x3x224x224 -> 1000")                   \
  X("resnet50", zoo_resnet50, 3, 224, "ResNet-50 v1.5 (torchvision), 1x3x224x224 -> 1000")         \
  X("resnet18", zoo_resnet18, 3, 224, "ResNet-18 (torchvision), 1x3x224x224 -> 1000")              \
  X("resnet18-bnn", zoo_resnet18_bnn, 3, 224,                                                      \
    "binary ResNet-18 (Bi-Real Net layout: Sign before each 3x3 conv of the basic blocks; first "  \
    "conv, downsampling 1x1 convs and fc real-valued), 1x3x224x224 -> 1000; "                      \
    "run it with --precision w1a1")                                                                \
  X("unet", zoo_unet, 1, 572, "U-Net (Ronneberger 2015), valid convs, 1x1x572x572 -> 1x2x388x388") \
  X("mobilenetv2", zoo_mobilenetv2, 3, 224, "MobileNetV2 1.0 (torchvision), 1x3x224x224 -> 1000")  \
  X("squeezenet", zoo_squeezenet, 3, 224, "SqueezeNet 1.0 (torchvision), 1x3x224x224 -> 1000")     \
  X("mnasnet", zoo_mnasnet, 3, 224, "MnasNet-A1 1.0 with SE, 1x3x224x224 -> 1000")                 \
  X("alexnet", zoo_alexnet, 3, 224, "AlexNet (torchvision), 1x3x224x224 -> 1000")

/* name, config, description */
#define ZOO_TRANSFORMERS(X)                                                                      \
  X("bert-base", &tf_bert128,                                                                    \
    "BERT-base (12 layers, 768 wide, 12 heads), 1x128 token ids -> pooled 1x768")                \
  X("bert-base-512", &tf_bert512, "BERT-base, 1x512 token ids -> pooled 1x768")                  \
  X("vit-b16", &tf_vitb16, "ViT-B/16 (torchvision vit_b_16), 1x3x224x224 -> 1000")               \
  X("gpt2-prefill", &tf_gpt2_prefill,                                                            \
    "GPT-2 small, prefill: 1x1024 token ids -> 1024x50257 logits")                               \
  X("gpt2-decode", &tf_gpt2_decode,                                                              \
    "GPT-2 small, one decode step: 1x1 token id at position 1023 and a KV cache of 1023 tokens " \
    "(past.L.key 1x12x64x1023, past.L.value 1x12x1023x64) -> 1x50257 logits")                    \
  X("bert-tiny", &tf_bert_tiny,                                                                  \
    "BERT of 2 layers, 64 wide, 2 heads, FFN 256, vocabulary 512, 1x16 "                         \
    "token ids -> pooled 1x64 (for tests)")                                                      \
  X("gpt2-tiny", &tf_gpt2_tiny,                                                                  \
    "GPT-2 of 2 layers, 64 wide, 2 heads, FFN 256, vocabulary 512, "                             \
    "prefill of 1x16 token ids -> 16x512 logits (for tests)")

static const TfConfig *const tf_nets[] = {
#define X(name, cfg, desc) cfg,
    ZOO_TRANSFORMERS(X)
#undef X
};

static const ZooEntry zoo_entries[] = {
#define X(name, fn, c, hw, desc) {name, desc},
    ZOO_NETS(X)
#undef X
#define X(name, cfg, desc) {name, desc},
        ZOO_TRANSFORMERS(X)
#undef X
            {"nb201:ARCH", "NAS-Bench-201 CIFAR-10 network, 1x3x32x32 -> 10; ARCH is "
                           "|op~0|+|op~0|op~1|+|op~0|op~1|op~2|, op one of none, skip_connect, "
                           "nor_conv_1x1, nor_conv_3x3, avg_pool_3x3, or the benchmark's index "
                           "(nb201:123, from data/nasbench201)"},
    {"nb201-cifar100:ARCH", "the same for CIFAR-100, 1x3x32x32 -> 100"},
    {"nb201-imagenet16:ARCH", "the same for ImageNet16-120, 1x3x16x16 -> 120"},
};

static const struct {
  ZooBuildFn fn;
  int64_t c, hw;
} zoo_nets[] = {
#define X(name, fn, c, hw, desc) {fn, c, hw},
    ZOO_NETS(X)
#undef X
};

const ZooEntry *zoo_list(int *n) {
  if (n) *n = (int)(sizeof zoo_entries / sizeof zoo_entries[0]);
  return zoo_entries;
}

/* An nb201 cell given as an arch string (copied) or as the benchmark's
 * index (looked up in the table nb201_table_locate finds). */
static Rc nb201_resolve(const char *cell, char *text, size_t n, Diag *d) {
  if (!*cell || cell[strspn(cell, "0123456789")] != 0) {
    snprintf(text, n, "%s", cell);
    return RC_OK;
  }
  char path[4096];
  if (!nb201_table_locate(NULL, path, sizeof path)) {
    diag_error(d, NULL,
               "nb201:%s: the NAS-Bench-201 table (data/nasbench201/accuracy.csv) was not "
               "found; set NAASC_NB201_CSV",
               cell);
    return RC_BADINPUT;
  }
  Nb201Table *t = xmalloc(sizeof *t);
  if (!t) return RC_INTERNAL;
  Rc rc = nb201_table_load(path, t, d);
  if (rc == RC_OK) {
    int r = nb201_table_find_index(t, strtol(cell, NULL, 10));
    if (r < 0) {
      diag_error(d, NULL, "nb201:%s: no such index (the benchmark's are 0..%d)", cell,
                 NB201_CELLS - 1);
      rc = RC_BADINPUT;
    } else {
      nb201_format(t->ops[r], text, n);
    }
    nb201_table_free(t);
  }
  xfree(t);
  return rc;
}

Rc zoo_build(const char *name, bool weights, uint64_t seed, Model **out, Diag *d) {
  size_t nfixed = sizeof zoo_nets / sizeof zoo_nets[0], ntf = sizeof tf_nets / sizeof tf_nets[0];
  const TfConfig *tf = NULL;
  Nb201Arch arch;
  ZooCtx z = {NULL, weights, seed, NULL, 0, false};
  ZooBuildFn fn = NULL;
  int64_t in_dims[4] = {1, 3, 32, 32};
  if (!out) return RC_INTERNAL;
  *out = NULL;
  const char *cell = NULL;
  if (name && strncmp(name, "nb201:", 6) == 0) {
    cell = name + 6, z.classes = 10;
  } else if (name && strncmp(name, "nb201-cifar100:", 15) == 0) {
    cell = name + 15, z.classes = 100;
  } else if (name && strncmp(name, "nb201-imagenet16:", 17) == 0) {
    cell = name + 17, z.classes = 120, in_dims[2] = in_dims[3] = 16;
  }
  if (cell) {
    char text[NB201_ARCH_MAX];
    Rc rc = nb201_resolve(cell, text, sizeof text, d);
    if (rc == RC_OK) rc = nb201_parse_cell(text, &arch, d);
    if (rc != RC_OK) return rc;
    fn = zoo_nb201;
    z.arch = &arch;
  }
  for (size_t i = 0; name && !fn && i < nfixed; i++)
    if (strcmp(name, zoo_entries[i].name) == 0) {
      fn = zoo_nets[i].fn;
      in_dims[1] = zoo_nets[i].c;
      in_dims[2] = in_dims[3] = zoo_nets[i].hw;
    }
  for (size_t i = 0; name && !fn && !tf && i < ntf; i++)
    if (strcmp(name, zoo_entries[nfixed + i].name) == 0) tf = tf_nets[i];
  if (!fn && !tf) {
    char list[512] = "";
    for (size_t i = 0, len = 0; i <= nfixed + ntf && len < sizeof list; i++)
      len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "",
                              zoo_entries[i].name);
    diag_error(d, NULL, "unknown zoo network '%s' (valid: %s)", name ? name : "(null)", list);
    return RC_BADINPUT;
  }
  Model *m = z.m = model_create(name);
  if (!m) goto fail;
  m->ir_version = 8;
  m->opset = tf ? 17 : 13; /* LayerNormalization */
  m->producer = arena_strdup(&m->arena, "naasc zoo");
  int64_t ids[2] = {1, tf ? (tf->decode ? 1 : tf->seq) : 0};
  bool tokens = tf && tf->kind != TF_VIT;
  if (tf && tf->kind == TF_VIT) in_dims[2] = in_dims[3] = 224;
  TensorId x = tokens ? model_add_tensor(m, "input", DT_I64, 2, ids, TK_INPUT)
                      : model_add_tensor(m, "input", DT_F32, 4, in_dims, TK_INPUT);
  if (!m->producer || !x || !model_add_input(m, x)) goto fail;
  TensorId y = tf ? tf_build(&z, tf, x) : fn(&z, x);
  if (!y || !(m->tensors[y].name = arena_strdup(&m->arena, "output"))) goto fail;
  if (!model_add_output(m, y)) goto fail;
  *out = m;
  return RC_OK;
fail:
  diag_error(d, NULL, "zoo network '%s': out of memory", name);
  model_destroy(m);
  return RC_INTERNAL;
}
