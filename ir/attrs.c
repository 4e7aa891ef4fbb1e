/*
 * attrs.c: the attribute rows of the ops beyond the first 37 (ir.h's
 * AttrSpec): for each (op, ONNX attribute) the Attrs field that holds it,
 * its kind, default, ONNX spellings of enum values, and the opset from
 * which the value is a constant input instead of an attribute.
 *
 * One table serves three readers: the importer parses attributes from it
 * (frontend/onnx.c), graph_print prints them, and the ONNX writer writes
 * them back (as attributes, or as constant inputs for the writer's opset).
 * Rows of one op are contiguous and in the order they print.
 *
 * Enum fields are stored as C enums; the static asserts below keep them the
 * size of an int, which the generic readers and writers assume.
 */
#include "ir/ir.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

_Static_assert(sizeof(PadMode) == sizeof(int) && sizeof(ScatterReduction) == sizeof(int) &&
                   sizeof(LossReduction) == sizeof(int) && sizeof(RnnAct) == sizeof(int) &&
                   sizeof(DType) == sizeof(int) && sizeof(GridSampleMode) == sizeof(int),
               "enum fields must be int-sized");

static const char *const pad_modes[] = {"constant", "reflect", "edge", "wrap"};
static const char *const scatter_reds[] = {"none", "add", "mul", "max", "min"};
static const char *const loss_reds[] = {"none", "sum", "mean"};
static const char *const shift_dirs[] = {"RIGHT", "LEFT"};
static const char *const gelu_approx[] = {"none", "tanh"};
static const char *const d2s_modes[] = {"DCR", "CRD"};
static const char *const rnn_dirs[] = {"forward", "reverse", "bidirectional"};
static const char *const rnn_acts[] = {
    "Relu",       "Tanh",        "Sigmoid", "Affine",   "LeakyRelu", "ThresholdedRelu",
    "ScaledTanh", "HardSigmoid", "Elu",     "Softsign", "Softplus"};
/* "linear" and "cubic" are opset 20's names of bilinear and bicubic;
 * the importer maps them onto the first three. */
static const char *const gs_modes[] = {"bilinear", "nearest", "bicubic", "linear", "cubic"};
static const char *const gs_pads[] = {"zeros", "border", "reflection"};
static const char *const roi_modes[] = {"avg", "max"};
static const char *const roi_coords[] = {"half_pixel", "output_half_pixel"};
static const char *const tfidf_modes[] = {"TF", "IDF", "TFIDF"};
/* Upsample-7 also spells linear "bilinear"; mapped onto linear on import. */
static const char *const up_modes[] = {"nearest", "linear", "bilinear"};

#define OFF(f) ((uint16_t)offsetof(Attrs, f))
#define NM(arr) arr, (int)(sizeof arr / sizeof *arr)
/* op, name, kind, field, count field, capacity, names, default, required,
 * presence flag, input slot, input since, attribute until */
#define ROW(o, n, k, f, cnt, mx, nm, d, req, has, in, since, until) \
  { o, n, k, OFF(f), cnt, mx, nm, d, req, has, in, since, until }
#define NONAMES NULL, 0
#define INT(o, n, f, d) ROW(o, n, AK_INT, f, 0, 0, NONAMES, d, false, 0, -1, 0, 0)
#define INT_REQ(o, n, f) ROW(o, n, AK_INT, f, 0, 0, NONAMES, 0, true, 0, -1, 0, 0)
#define INT_HAS(o, n, f, has) ROW(o, n, AK_INT, f, 0, 0, NONAMES, 0, false, OFF(has) + 1, -1, 0, 0)
#define INT_IN(o, n, f, d, in, since) ROW(o, n, AK_INT, f, 0, 0, NONAMES, d, false, 0, in, since, 0)
/* a required input (or, before input_since, a required attribute) */
#define INT_IN_REQ(o, n, f, in, since) ROW(o, n, AK_INT, f, 0, 0, NONAMES, 0, true, 0, in, since, 0)
#define BOOL(o, n, f, d) ROW(o, n, AK_BOOL, f, 0, 0, NONAMES, d, false, 0, -1, 0, 0)
#define FLT(o, n, f, d) ROW(o, n, AK_FLOAT, f, 0, 0, NONAMES, d, false, 0, -1, 0, 0)
#define FLT_UNTIL(o, n, f, d, until) \
  ROW(o, n, AK_FLOAT, f, 0, 0, NONAMES, d, false, 0, -1, 0, until)
#define FLT_IN(o, n, f, d, in, since) \
  ROW(o, n, AK_FLOAT, f, 0, 0, NONAMES, d, false, 0, in, since, 0)
#define ENUM(o, n, f, names, d) ROW(o, n, AK_ENUM, f, 0, 0, NM(names), d, false, 0, -1, 0, 0)
#define ENUM_REQ(o, n, f, names) ROW(o, n, AK_ENUM, f, 0, 0, NM(names), 0, true, 0, -1, 0, 0)
#define DTYPE(o, n, f, d) ROW(o, n, AK_DTYPE, f, 0, 0, NONAMES, d, false, 0, -1, 0, 0)
#define INTS(o, n, f, cnt, mx) ROW(o, n, AK_INTS, f, OFF(cnt), mx, NONAMES, 0, false, 0, -1, 0, 0)
#define INTS_IN(o, n, f, cnt, mx, in, since) \
  ROW(o, n, AK_INTS, f, OFF(cnt), mx, NONAMES, 0, false, 0, in, since, 0)
#define INTS_IN_REQ(o, n, f, cnt, mx, in, since) \
  ROW(o, n, AK_INTS, f, OFF(cnt), mx, NONAMES, 0, true, 0, in, since, 0)
#define FLTS(o, n, f, cnt, mx) ROW(o, n, AK_FLOATS, f, OFF(cnt), mx, NONAMES, 0, false, 0, -1, 0, 0)
#define ENUMS(o, n, f, cnt, mx, names) \
  ROW(o, n, AK_ENUMS, f, OFF(cnt), mx, NM(names), 0, false, 0, -1, 0, 0)
#define LIST_I(o, n, f, cnt) ROW(o, n, AK_LIST_I, f, OFF(cnt), 0, NONAMES, 0, false, 0, -1, 0, 0)
#define LIST_F(o, n, f, cnt) ROW(o, n, AK_LIST_F, f, OFF(cnt), 0, NONAMES, 0, false, 0, -1, 0, 0)

/* Reduce* ops: axes an attribute until opset 18 (ReduceSum: 13). */
#define REDUCE(o, since)                                                                       \
  INTS_IN(o, "axes", axes, naxes, NAASC_MAX_RANK, 1, since), BOOL(o, "keepdims", keepdims, 1), \
      BOOL(o, "noop_with_empty_axes", noop_empty, 0)
#define RNN_COMMON(o)                                                            \
  FLTS(o, "activation_alpha", act_alpha, nact_alpha, NAASC_MAX_RNN_ACTS),        \
      FLTS(o, "activation_beta", act_beta, nact_beta, NAASC_MAX_RNN_ACTS),       \
      ENUMS(o, "activations", acts, nacts, NAASC_MAX_RNN_ACTS, rnn_acts),        \
      FLT(o, "clip", rnn_clip, 0), ENUM(o, "direction", direction, rnn_dirs, 0), \
      INT(o, "hidden_size", hidden_size, 0), INT(o, "layout", layout, 0)

static const AttrSpec specs[] = {
    BOOL(OP_MOD, "fmod", fmod, 0),
    ENUM_REQ(OP_BITSHIFT, "direction", shift, shift_dirs),
    BOOL(OP_ISINF, "detect_negative", detect_neg, 1),
    BOOL(OP_ISINF, "detect_positive", detect_pos, 1),
    FLT(OP_ELU, "alpha", alpha, 1.0),
    FLT(OP_SELU, "alpha", alpha, 1.67326319217681884765625),
    FLT(OP_SELU, "gamma", gamma, 1.05070102214813232421875),
    FLT(OP_CELU, "alpha", alpha, 1.0),
    FLT(OP_THRESHOLDEDRELU, "alpha", alpha, 1.0),
    ENUM(OP_GELU, "approximate", gelu, gelu_approx, 0),
    FLT(OP_SHRINK, "bias", bias, 0.0),
    FLT(OP_SHRINK, "lambd", lambd, 0.5),
    INT(OP_LOGSOFTMAX, "axis", axis, -1),
    INT(OP_HARDMAX, "axis", axis, -1),
    REDUCE(OP_REDUCEMAX, 18),
    REDUCE(OP_REDUCEMIN, 18),
    REDUCE(OP_REDUCESUM, 13),
    REDUCE(OP_REDUCEPROD, 18),
    REDUCE(OP_REDUCEL1, 18),
    REDUCE(OP_REDUCEL2, 18),
    REDUCE(OP_REDUCELOGSUM, 18),
    REDUCE(OP_REDUCELOGSUMEXP, 18),
    REDUCE(OP_REDUCESUMSQUARE, 18),
    INT(OP_ARGMAX, "axis", axis, 0),
    BOOL(OP_ARGMAX, "keepdims", keepdims, 1),
    BOOL(OP_ARGMAX, "select_last_index", select_last, 0),
    INT(OP_ARGMIN, "axis", axis, 0),
    BOOL(OP_ARGMIN, "keepdims", keepdims, 1),
    BOOL(OP_ARGMIN, "select_last_index", select_last, 0),
    INT_IN_REQ(OP_CUMSUM, "axis", axis, 1, 11),
    BOOL(OP_CUMSUM, "exclusive", exclusive, 0),
    BOOL(OP_CUMSUM, "reverse", reverse, 0),
    INT(OP_LAYERNORM, "axis", axis, -1),
    FLT(OP_LAYERNORM, "epsilon", epsilon, 1e-5),
    INT(OP_LAYERNORM, "stash_type", stash_type, 1),
    FLT(OP_INSTANCENORM, "epsilon", epsilon, 1e-5),
    FLT(OP_GROUPNORM, "epsilon", epsilon, 1e-5),
    INT_REQ(OP_GROUPNORM, "num_groups", num_groups),
    INT(OP_GROUPNORM, "stash_type", stash_type, 1),
    FLT(OP_LRN, "alpha", alpha, 1e-4),
    FLT(OP_LRN, "beta", beta, 0.75),
    FLT(OP_LRN, "bias", bias, 1.0),
    INT_REQ(OP_LRN, "size", size),
    INTS(OP_MVN, "axes", axes, naxes, NAASC_MAX_RANK),
    INT(OP_QUANTIZELINEAR, "axis", axis, 1),
    BOOL(OP_QUANTIZELINEAR, "saturate", saturate, 1),
    INT(OP_QUANTIZELINEAR, "block_size", block_size, 0),
    DTYPE(OP_QUANTIZELINEAR, "output_dtype", to, 0),
    INT(OP_DEQUANTIZELINEAR, "axis", axis, 1),
    INT(OP_DEQUANTIZELINEAR, "block_size", block_size, 0),
    ENUM(OP_UPSAMPLE, "mode", rz_mode, up_modes, 0),
    ROW(OP_UPSAMPLE, "scales", AK_FLOATS, rz_scales, OFF(naxes), NAASC_MAX_RANK, NONAMES, 0, false,
        0, 1, 9, 0),
    BOOL(OP_CASTLIKE, "saturate", saturate, 1),
    ENUM(OP_PAD, "mode", pad_mode, pad_modes, 0),
    INTS_IN_REQ(OP_PAD, "pads", pads, npads, 2 * NAASC_MAX_RANK, 1, 11),
    FLT_UNTIL(OP_PAD, "value", pad_value, 0.0, 11),
    INTS_IN(OP_PAD, "axes", axes, naxes, NAASC_MAX_RANK, 3, 18),
    INT(OP_SPLIT, "axis", axis, 0),
    INTS_IN(OP_SPLIT, "split", split, nsplit, NAASC_MAX_OUTPUTS, 1, 13),
    INT(OP_SPLIT, "num_outputs", num_outputs, 0),
    INTS_IN_REQ(OP_EXPAND, "shape", shape, nshape, NAASC_MAX_RANK, 1, 8),
    INTS_IN_REQ(OP_TILE, "repeats", reps, nreps, NAASC_MAX_RANK, 1, 6),
    ROW(OP_CONSTANTOFSHAPE, "value", AK_TENSOR, value_f, 0, 0, NONAMES, 0, false, 0, -1, 0, 0),
    INTS_IN_REQ(OP_CONSTANTOFSHAPE, "shape", shape, nshape, NAASC_MAX_RANK, 0, 9),
    INT(OP_ONEHOT, "axis", axis, -1),
    INT_IN_REQ(OP_ONEHOT, "depth", depth, 1, 9),
    DTYPE(OP_EYELIKE, "dtype", to, 0),
    INT(OP_EYELIKE, "k", k, 0),
    BOOL(OP_TRILU, "upper", upper, 1),
    INT_IN(OP_TRILU, "k", k, 0, 1, 14),
    INT_REQ(OP_DEPTHTOSPACE, "blocksize", blocksize),
    ENUM(OP_DEPTHTOSPACE, "mode", d2s_mode, d2s_modes, 0),
    INT_REQ(OP_SPACETODEPTH, "blocksize", blocksize),
    INT(OP_GATHERELEMENTS, "axis", axis, 0),
    INT(OP_GATHERND, "batch_dims", batch_dims, 0),
    INT(OP_SCATTER, "axis", axis, 0),
    INT(OP_SCATTERELEMENTS, "axis", axis, 0),
    ENUM(OP_SCATTERELEMENTS, "reduction", reduction, scatter_reds, 0),
    ENUM(OP_SCATTERND, "reduction", reduction, scatter_reds, 0),
    INT(OP_REVERSESEQUENCE, "batch_axis", batch_axis, 1),
    INT(OP_REVERSESEQUENCE, "time_axis", time_axis, 0),
    INT_HAS(OP_UNIQUE, "axis", axis, has_axis),
    BOOL(OP_UNIQUE, "sorted", sorted, 1),
    INT_HAS(OP_COMPRESS, "axis", axis, has_axis),
    INT(OP_TOPK, "axis", axis, -1),
    BOOL(OP_TOPK, "largest", largest, 1),
    BOOL(OP_TOPK, "sorted", sorted, 1),
    INT_IN_REQ(OP_TOPK, "k", k, 1, 10),
    BOOL(OP_NMS, "center_point_box", center_point_box, 0),
    INT_IN(OP_NMS, "max_output_boxes_per_class", max_boxes, 0, 2, 10),
    FLT_IN(OP_NMS, "iou_threshold", iou_threshold, 0.0, 3, 10),
    FLT_IN(OP_NMS, "score_threshold", score_threshold, -INFINITY, 4, 10),
    RNN_COMMON(OP_LSTM),
    BOOL(OP_LSTM, "input_forget", input_forget, 0),
    RNN_COMMON(OP_GRU),
    BOOL(OP_GRU, "linear_before_reset", linear_before_reset, 0),
    RNN_COMMON(OP_RNN),
    INT_REQ(OP_SCAN, "num_scan_inputs", num_scan_inputs),
    INTS(OP_SCAN, "scan_input_axes", scan_in_axes, nscan_in_axes, NAASC_MAX_OUTPUTS),
    INTS(OP_SCAN, "scan_input_directions", scan_in_dirs, nscan_in_dirs, NAASC_MAX_OUTPUTS),
    INTS(OP_SCAN, "scan_output_axes", scan_out_axes, nscan_out_axes, NAASC_MAX_OUTPUTS),
    INTS(OP_SCAN, "scan_output_directions", scan_out_dirs, nscan_out_dirs, NAASC_MAX_OUTPUTS),
    ROW(OP_EINSUM, "equation", AK_STRING, equation, 0, 0, NONAMES, 0, true, 0, -1, 0, 0),
    BOOL(OP_GRIDSAMPLE, "align_corners", align_corners, 0),
    ENUM(OP_GRIDSAMPLE, "mode", gs_mode, gs_modes, 0),
    ENUM(OP_GRIDSAMPLE, "padding_mode", gs_pad, gs_pads, 0),
    ENUM(OP_ROIALIGN, "coordinate_transformation_mode", roi_coord, roi_coords, 0),
    ENUM(OP_ROIALIGN, "mode", roi_mode, roi_modes, 0),
    INT(OP_ROIALIGN, "output_height", out_h, 1),
    INT(OP_ROIALIGN, "output_width", out_w, 1),
    INT(OP_ROIALIGN, "sampling_ratio", sampling_ratio, 0),
    FLT(OP_ROIALIGN, "spatial_scale", spatial_scale, 1.0),
    BOOL(OP_DFT, "inverse", inverse, 0),
    BOOL(OP_DFT, "onesided", onesided, 0),
    INT_IN(OP_DFT, "axis", axis, 1, 2, 20),
    INT_IN(OP_DFT, "dft_length", dft_length, 0, 1, 17),
    BOOL(OP_STFT, "onesided", onesided, 1),
    INT_IN_REQ(OP_STFT, "frame_step", frame_step, 1, 17),
    INT_IN(OP_STFT, "frame_length", frame_length, 0, 3, 17),
    DTYPE(OP_HANNWINDOW, "output_datatype", to, 1),
    BOOL(OP_HANNWINDOW, "periodic", periodic, 1),
    INT_IN_REQ(OP_HANNWINDOW, "size", size, 0, 17),
    DTYPE(OP_HAMMINGWINDOW, "output_datatype", to, 1),
    BOOL(OP_HAMMINGWINDOW, "periodic", periodic, 1),
    INT_IN_REQ(OP_HAMMINGWINDOW, "size", size, 0, 17),
    DTYPE(OP_BLACKMANWINDOW, "output_datatype", to, 1),
    BOOL(OP_BLACKMANWINDOW, "periodic", periodic, 1),
    INT_IN_REQ(OP_BLACKMANWINDOW, "size", size, 0, 17),
    DTYPE(OP_MELWEIGHTMATRIX, "output_datatype", to, 1),
    INT_REQ(OP_TFIDF, "max_gram_length", max_gram),
    INT_REQ(OP_TFIDF, "max_skip_count", max_skip),
    INT_REQ(OP_TFIDF, "min_gram_length", min_gram),
    ENUM_REQ(OP_TFIDF, "mode", tfidf_mode, tfidf_modes),
    LIST_I(OP_TFIDF, "ngram_counts", ngram_counts, nngram_counts),
    LIST_I(OP_TFIDF, "ngram_indexes", ngram_indexes, nngram_indexes),
    LIST_I(OP_TFIDF, "pool_int64s", pool, npool),
    LIST_F(OP_TFIDF, "weights", tfidf_weights, ntfidf_weights),
    INT_HAS(OP_NLLLOSS, "ignore_index", ignore_index, has_ignore),
    ENUM(OP_NLLLOSS, "reduction", loss_reduction, loss_reds, 2),
    INT_HAS(OP_SCELOSS, "ignore_index", ignore_index, has_ignore),
    ENUM(OP_SCELOSS, "reduction", loss_reduction, loss_reds, 2),
};

const AttrSpec *op_attr_specs(Op op, int *n) {
  int nspecs = (int)(sizeof specs / sizeof specs[0]);
  int lo = 0;
  while (lo < nspecs && specs[lo].op != op) lo++;
  int hi = lo;
  while (hi < nspecs && specs[hi].op == op) hi++;
  *n = hi - lo;
  return lo < nspecs ? &specs[lo] : NULL;
}

void attrs_spec_defaults(Op op, Attrs *a) {
  int n;
  const AttrSpec *s = op_attr_specs(op, &n);
  for (int i = 0; i < n; i++) {
    void *p = (char *)a + s[i].off;
    switch (s[i].kind) {
    case AK_INT: *(int64_t *)p = (int64_t)s[i].def; break;
    case AK_BOOL: *(bool *)p = s[i].def != 0; break;
    case AK_FLOAT: *(float *)p = (float)s[i].def; break;
    case AK_ENUM:
    case AK_DTYPE: *(int *)p = (int)s[i].def; break;
    case AK_TENSOR: /* ConstantOfShape: a float 0 */
      a->value_dtype = DT_F32;
      a->value_f = 0;
      a->value_i = 0;
      break;
    default: break; /* lists start empty */
    }
  }
}
