#!/usr/bin/python3
"""gen_conv_cases.py: writes grouped, depthwise and dilated Conv cases into WORKDIR.

Usage: gen_conv_cases.py WORKDIR

ONNX's backend node suite has no grouped, depthwise or dilated convolutions,
so these cases are built here with onnx.helper, in the node suite's layout:
WORKDIR/test_conv_NAME/model.onnx and test_data_set_0/{input_0,output_0}.pb.
Each model is one Conv node: float32 input `x`, weights `W` and (in most
cases) bias `B` as initializers drawn with a fixed numpy seed, output `y`.

The expected outputs come from this file's own reference convolution
(conv_loops: explicit loops over a zero-padded input, float64), which is
checked against a second, independent formulation (conv_im2col: gathered
columns times the weight matrix, per group), against a hand-computed case,
and against ONNX's shape inference for the output shape.  Any disagreement
is an error (exit 1) and nothing is written for that case, so the expected
outputs can be trusted.

Pads are ONNX's [top, left, bottom, right]; every case also passes
onnx.checker.  Exit codes: 0 ok, 1 failure.
"""

import argparse
import os
import shutil
import sys

import numpy as np

SEED = 20261128

# name: x shape (N, C, H, W), out channels M, kernel (kh, kw), group,
#       strides, dilations, pads [top, left, bottom, right], bias
CASES = [
    ("depthwise_3x3_s1", (1, 8, 10, 10), 8, (3, 3), 8, (1, 1), (1, 1), [1, 1, 1, 1], True),
    ("depthwise_3x3_s2", (1, 8, 11, 11), 8, (3, 3), 8, (2, 2), (1, 1), [1, 1, 1, 1], True),
    ("depthwise_3x3_s2_nopad", (1, 6, 9, 8), 6, (3, 3), 6, (2, 2), (1, 1), [0, 0, 0, 0], False),
    ("depthwise_mult2", (1, 4, 8, 8), 8, (3, 3), 4, (1, 1), (1, 1), [1, 1, 1, 1], True),
    ("group4", (1, 8, 9, 9), 12, (3, 3), 4, (1, 1), (1, 1), [1, 1, 1, 1], True),
    ("dilation2", (1, 3, 12, 12), 4, (3, 3), 1, (1, 1), (2, 2), [2, 2, 2, 2], True),
    ("dilation2_nopad", (1, 4, 11, 10), 5, (3, 3), 1, (1, 1), (2, 2), [0, 0, 0, 0], False),
    ("asym_pads", (1, 3, 7, 9), 5, (3, 3), 1, (1, 1), (1, 1), [0, 1, 2, 1], True),
    ("group4_dil2_s2_asym", (1, 8, 13, 13), 8, (3, 3), 4, (2, 2), (2, 2), [1, 2, 0, 1], True),
    ("depthwise_dil2_s2", (1, 6, 14, 12), 6, (3, 3), 6, (2, 2), (2, 2), [2, 2, 2, 2], True),
    ("rect_3x2_s21_batch2", (2, 4, 8, 7), 6, (3, 2), 2, (2, 1), (1, 2), [1, 0, 1, 1], True),
    ("pointwise_1x1", (1, 16, 5, 5), 8, (1, 1), 1, (1, 1), (1, 1), [0, 0, 0, 0], True),
]


def out_size(n, k, s, d, pb, pe):
    return (n + pb + pe - ((k - 1) * d + 1)) // s + 1


def conv_loops(x, w, b, group, strides, dils, pads):
    """The reference: explicit loops over a zero-padded input, float64."""
    n_, c_, h_, w_ = x.shape
    m_, cg, kh, kw = w.shape
    mg = m_ // group
    sh, sw = strides
    dh, dw = dils
    xp = np.zeros((n_, c_, h_ + pads[0] + pads[2], w_ + pads[1] + pads[3]))
    xp[:, :, pads[0]:pads[0] + h_, pads[1]:pads[1] + w_] = x
    oh = out_size(h_, kh, sh, dh, pads[0], pads[2])
    ow = out_size(w_, kw, sw, dw, pads[1], pads[3])
    y = np.zeros((n_, m_, oh, ow))
    for n in range(n_):
        for m in range(m_):
            g = m // mg
            for p in range(oh):
                for q in range(ow):
                    acc = 0.0 if b is None else float(b[m])
                    for c in range(cg):
                        for r in range(kh):
                            for s in range(kw):
                                acc += xp[n, g * cg + c, p * sh + r * dh, q * sw + s * dw] * w[m, c, r, s]
                    y[n, m, p, q] = acc
    return y


def conv_im2col(x, w, b, group, strides, dils, pads):
    """A second formulation: gathered columns (with explicit bounds masks
    instead of a padded copy) times the weight matrix, per group."""
    n_, c_, h_, w_ = x.shape
    m_, cg, kh, kw = w.shape
    mg = m_ // group
    oh = out_size(h_, kh, strides[0], dils[0], pads[0], pads[2])
    ow = out_size(w_, kw, strides[1], dils[1], pads[1], pads[3])
    # input row/col of (output position, filter tap); out of range -> padding
    rows = np.arange(oh)[:, None] * strides[0] + np.arange(kh)[None, :] * dils[0] - pads[0]
    cols = np.arange(ow)[:, None] * strides[1] + np.arange(kw)[None, :] * dils[1] - pads[1]
    rv = (rows >= 0) & (rows < h_)
    cv = (cols >= 0) & (cols < w_)
    rc = np.clip(rows, 0, h_ - 1)
    cc = np.clip(cols, 0, w_ - 1)
    # cols5[n, c, p, r, q, s]
    g5 = x.astype(np.float64)[:, :, rc[:, :, None, None], cc[None, None, :, :]]
    mask = (rv[:, :, None, None] & cv[None, None, :, :]).astype(np.float64)
    g5 = g5 * mask
    y = np.zeros((n_, m_, oh * ow))
    for g in range(group):
        xs = g5[:, g * cg:(g + 1) * cg]                        # n, c, p, r, q, s
        colm = xs.transpose(0, 1, 3, 5, 2, 4).reshape(n_, cg * kh * kw, oh * ow)
        wm = w[g * mg:(g + 1) * mg].reshape(mg, cg * kh * kw).astype(np.float64)
        y[:, g * mg:(g + 1) * mg] = np.matmul(wm[None], colm)
    if b is not None:
        y += b.astype(np.float64)[None, :, None]
    return y.reshape(n_, m_, oh, ow)


def self_check():
    """A case small enough to do by hand: ones * ones, 3x3, pads 1."""
    x = np.ones((1, 1, 3, 3))
    w = np.ones((1, 1, 3, 3))
    want = np.array([[4, 6, 4], [6, 9, 6], [4, 6, 4]], dtype=np.float64)
    for f in (conv_loops, conv_im2col):
        got = f(x, w, None, 1, (1, 1), (1, 1), [1, 1, 1, 1])[0, 0]
        if not np.array_equal(got, want):
            raise SystemExit("gen_conv_cases: %s fails the hand-computed case:\n%s" % (f.__name__, got))
    # a dilated, strided, asymmetric one by hand: x = 0..24 (5x5), w = 1 at
    # tap (1,1) only, dil 2, stride 2, pads [0,1,2,1]: the padded input is
    # 7x7, the output 2x2, and y[p,q] = x[2p+2, 2q+2-1] = x[2,1], x[2,3],
    # x[4,1], x[4,3]
    x = np.arange(25, dtype=np.float64).reshape(1, 1, 5, 5)
    w = np.zeros((1, 1, 3, 3))
    w[0, 0, 1, 1] = 1
    want = np.array([[11, 13], [21, 23]], dtype=np.float64)
    for f in (conv_loops, conv_im2col):
        got = f(x, w, None, 1, (2, 2), (2, 2), [0, 1, 2, 1])[0, 0]
        if got.shape != want.shape or not np.array_equal(got, want):
            raise SystemExit("gen_conv_cases: %s fails the hand-computed strided case:\n%s" % (f.__name__, got))


def make_case(onnx, helper, numpy_helper, rng, spec):
    name, xs, m, (kh, kw), group, strides, dils, pads, has_bias = spec
    n_, c_, h_, w_ = xs
    assert c_ % group == 0 and m % group == 0, name
    x = rng.standard_normal(xs).astype(np.float32)
    w = (rng.standard_normal((m, c_ // group, kh, kw)) / np.sqrt(c_ // group * kh * kw)).astype(np.float32)
    b = rng.standard_normal(m).astype(np.float32) if has_bias else None

    y1 = conv_loops(x.astype(np.float64), w.astype(np.float64), b, group, strides, dils, pads)
    y2 = conv_im2col(x, w, b, group, strides, dils, pads)
    if y1.shape != y2.shape:
        raise SystemExit("gen_conv_cases: %s: the two references disagree on the shape: %s vs %s"
                         % (name, y1.shape, y2.shape))
    err = np.max(np.abs(y1 - y2)) if y1.size else 0.0
    if not err <= 1e-12 * max(1.0, np.max(np.abs(y1))):
        raise SystemExit("gen_conv_cases: %s: the two references differ by %g" % (name, err))

    inputs = ["x", "W"] + (["B"] if has_bias else [])
    node = helper.make_node("Conv", inputs, ["y"], name="conv", kernel_shape=[kh, kw],
                            group=group, strides=list(strides), dilations=list(dils), pads=pads)
    inits = [numpy_helper.from_array(w, "W")]
    if has_bias:
        inits.append(numpy_helper.from_array(b, "B"))
    graph = helper.make_graph(
        [node], "test_conv_" + name,
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, list(xs))],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None)],
        initializer=inits)
    model = helper.make_model(graph, producer_name="naasc gen_conv_cases",
                              opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 7
    # ONNX's shape inference on the undeclared output, as a third opinion
    inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    dims = [d.dim_value for d in inferred.graph.output[0].type.tensor_type.shape.dim]
    if tuple(dims) != y1.shape:
        raise SystemExit("gen_conv_cases: %s: ONNX infers shape %s, the reference gives %s"
                         % (name, dims, y1.shape))
    model.graph.output[0].CopyFrom(helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, dims))
    onnx.checker.check_model(model)
    return model, x, y1.astype(np.float32)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workdir")
    args = ap.parse_args()
    import onnx
    from onnx import helper, numpy_helper

    self_check()
    rng = np.random.default_rng(SEED)
    os.makedirs(args.workdir, exist_ok=True)
    for spec in CASES:
        model, x, y = make_case(onnx, helper, numpy_helper, rng, spec)
        final = os.path.join(args.workdir, "test_conv_" + spec[0])
        tmp = final + ".tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(os.path.join(tmp, "test_data_set_0"))
        onnx.save(model, os.path.join(tmp, "model.onnx"))
        for fname, arr, tname in (("input_0.pb", x, "x"), ("output_0.pb", y, "y")):
            with open(os.path.join(tmp, "test_data_set_0", fname), "wb") as f:
                f.write(numpy_helper.from_array(arr, tname).SerializeToString())
        shutil.rmtree(final, ignore_errors=True)
        os.rename(tmp, final)
        print("test_conv_%-24s x%s -> y%s" % (spec[0], list(x.shape), list(y.shape)))
    print("%d conv cases in %s; loops and im2col references agree" % (len(CASES), args.workdir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
