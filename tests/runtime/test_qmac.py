#!/usr/bin/python3
"""test_qmac.py: integer mac layers (ConvInteger, QLinearConv, MatMulInteger,
QLinearMatMul lowered to the PE array as 8-bit mac nests with 32-bit sums) end to end,
bit-exact against the ONNX definition.

Usage: test_qmac.py NAASC NAASC_RUN ONNX_NODE_DIR SCRATCH [--presets eyeriss,nvdla-256]
                   [--ort DIR]

Cases (each compiled with `naasc M --target PRESET --report -o M.cmd` and
run with `naasc-run M.cmd`; every output must equal the reference bit for
bit, with its type and shape):

  node_*       ONNX's backend node cases test_convinteger_with_padding,
               test_convinteger_without_padding, test_qlinearconv,
               test_matmulinteger, test_qlinearmatmul_2D and _3D
               (ONNX_NODE_DIR/node, gen_node_cases.py),
               their operands other than the first made initializers (so
               the zero points and scales are constants and the node maps
               to the array), against the case's own expected output
  big_sums     ConvInteger u8 x u8, 64 input channels, 3x3: sums above 2^24
               (a float accumulator would round them), against numpy int64
  qconv_pc     QLinearConv with per-channel w_scale and w_zero_point (u8
               weights, one scale and zero point per output channel), bias,
               pads, against numpy (x_scale * w_scale[c] / y_scale in f32)
  mmi_pc       MatMulInteger with a per-column b_zero_point and a per-row
               a_zero_point (ONNX's 1-D forms), against numpy int64
  qmm_pc       QLinearMatMul with per-column b_scale and b_zero_point, against numpy
  dyn_mm       DynamicQuantizeLinear -> MatMulInteger (its run-time a_zero_point)
               -> Cast -> Mul by a_scale * b_scale, as onnxruntime's dynamic
               quantization exports it, against numpy written from the ONNX
               definitions: the i32 sums and the f32 result
  dyn_conv     DynamicQuantizeLinear -> ConvInteger (run-time x_zero_point,
               per-channel w_zero_point), the IS-Net quint8 pattern
  qnet         a small quantized network: QuantizeLinear, QLinearConv (i8
               weights, i32 bias, pads), QLinearConv (u8 weights with a zero
               point, stride 2, saturating), DequantizeLinear, against numpy
               written from the ONNX definitions (f32 scale products, round
               half to even, saturation); both the u8 and the f32 output

  dyn_qconv    DynamicQuantizeLinear -> QLinearConv: run-time x_scale (operand
               Xs) and x_zero_point, per-channel w_scale, i8 weights, bias
  dyn_qmm      DynamicQuantizeLinear -> QLinearMatMul: run-time a_scale and
               a_zero_point, constant scalar b_scale, i8 weights, saturating
  dyn_yscale   QLinearConv with run-time x_scale, x_zero_point, y_scale and
               y_zero_point (two DynamicQuantizeLinear; the eight accesses a
               nest holds), and QLinearMatMul with a b_scale given as a graph
               input and the run-time y_scale: the multiplier computed per
               run as ONNX Runtime does, (x_scale * w_scale) / y_scale in f32

Each case's report (`naasc M --target PRESET --report --schedule=layer`)
must show every integer node as a costed mac layer (a row with MACs), and
its JSON form (`--report=FILE.json`) each one's exact MACs (output elements
times the reduction) and no host nest but the quantize and dequantize
nodes; `naasc-run --reference` (the loop-nest
walk) must give the same bits as the tiled run on the first preset; qnet
and dyn_qconv with `--precision model` must be costed at w8a8p32.

When onnxruntime-node is installed (scripts/setup-ort.sh; --ort DIR, default
~/.cache/naasc/ort-1.30.0), each case's numpy reference must also equal
onnxruntime's output bit for bit, except the cases of NO_ORT (onnxruntime
1.30 takes no per-channel ConvInteger or MatMulInteger zero point, and sums
u8 x i8 products of the whole i8 range in saturating i16 pairs on AVX2,
unlike the definition; the new cases keep i8 weights in [-64, 64)).

Exit codes: 0 pass, 1 failure, 2 bad usage, 77 skip (no node cases).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

U8, I8, I32, F32 = TensorProto.UINT8, TensorProto.INT8, TensorProto.INT32, TensorProto.FLOAT
NODE_CASES = ["test_convinteger_with_padding", "test_convinteger_without_padding", "test_qlinearconv",
              "test_matmulinteger", "test_qlinearmatmul_2D", "test_qlinearmatmul_3D"]


def load_pb(path):
    t = TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return t


def node_case(node_dir, name):
    """The case's model with every input but the first made an initializer;
    its first input's data and its expected output."""
    d = os.path.join(node_dir, "node", name)
    m = onnx.load(os.path.join(d, "model.onnx"))
    ds = os.path.join(d, "test_data_set_0")
    g = m.graph
    keep = [g.input[0]]
    for k, gi in enumerate(list(g.input)[1:], start=1):
        t = load_pb(os.path.join(ds, "input_%d.pb" % k))
        t.name = gi.name
        g.initializer.append(t)
    del g.input[:]
    g.input.extend(keep)
    x = numpy_helper.to_array(load_pb(os.path.join(ds, "input_0.pb")))
    want = numpy_helper.to_array(load_pb(os.path.join(ds, "output_0.pb")))
    return m, {keep[0].name: x}, {g.output[0].name: want}


def model(nodes, inputs, outputs, inits):
    g = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    return m


def conv_int(x, w, stride=1, pad=0):
    """ONNX Conv on int64 operands whose zero points are already subtracted
    (padding is 0, i.e. the zero point): NCHW, OIHW."""
    x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    N, C, H, W = x.shape
    M, _, R, S = w.shape
    P, Q = (H - R) // stride + 1, (W - S) // stride + 1
    y = np.zeros((N, M, P, Q), np.int64)
    for r in range(R):
        for s in range(S):
            patch = x[:, :, r:r + stride * (P - 1) + 1:stride, s:s + stride * (Q - 1) + 1:stride]
            y += np.einsum("nchw,mc->nmhw", patch, w[:, :, r, s])
    return y


def requant(acc, xs, ws, ys, yz, lo, hi):
    """QLinearConv's output: (f32) acc times (f32) xs*ws/ys, rounded half to even, + yz, saturated."""
    mult = np.float32(np.float32(xs) * np.float32(ws)) / np.float32(ys)
    v = np.rint(acc.astype(np.int32).astype(np.float32) * np.float32(mult)) + np.float32(yz)
    return np.clip(v, lo, hi)


def big_sums(rng):
    x = rng.integers(200, 256, (1, 64, 6, 6), dtype=np.uint8)
    w = rng.integers(200, 256, (4, 64, 3, 3), dtype=np.uint8)
    m = model([helper.make_node("ConvInteger", ["x", "w"], ["y"], name="ci")],
              [helper.make_tensor_value_info("x", U8, [1, 64, 6, 6])],
              [helper.make_tensor_value_info("y", I32, [1, 4, 4, 4])], [numpy_helper.from_array(w, "w")])
    ref = conv_int(x.astype(np.int64), w.astype(np.int64))
    assert ref.max() > 2 ** 24
    return m, {"x": x}, {"y": ref.astype(np.int32)}


def qconv_pc(rng):
    x = rng.integers(0, 256, (1, 6, 7, 7), dtype=np.uint8)
    xs, xz = np.float32(0.02), np.uint8(121)
    w = rng.integers(0, 256, (5, 6, 3, 3), dtype=np.uint8)
    ws = (rng.random(5) * 0.01 + 0.001).astype(np.float32)
    wz = rng.integers(100, 156, (5,), dtype=np.uint8)
    b = rng.integers(-3000, 3000, (5,), dtype=np.int32)
    ys, yz = np.float32(0.07), np.uint8(90)
    inits = [numpy_helper.from_array(v, n) for v, n in (
        (xs, "xs"), (xz, "xz"), (w, "w"), (ws, "ws"), (wz, "wz"), (ys, "ys"), (yz, "yz"), (b, "b"))]
    m = model([helper.make_node("QLinearConv", ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz", "b"], ["y"],
                                name="qcpc", pads=[1, 1, 1, 1])],
              [helper.make_tensor_value_info("x", U8, [1, 6, 7, 7])],
              [helper.make_tensor_value_info("y", U8, [1, 5, 7, 7])], inits)
    acc = conv_int(x.astype(np.int64) - 121, w.astype(np.int64) - wz.astype(np.int64)[:, None, None, None], pad=1)
    acc += b.astype(np.int64)[None, :, None, None]
    y = requant(acc, xs, ws[None, :, None, None], ys, 90, 0, 255).astype(np.uint8)
    assert (y == 0).any() or (y == 255).any(), "the case should saturate somewhere"
    return m, {"x": x}, {"y": y}


def mmi_pc(rng):
    a = rng.integers(0, 256, (6, 20), dtype=np.uint8)
    az = rng.integers(0, 256, (6,), dtype=np.uint8)
    b = rng.integers(-128, 128, (20, 7), dtype=np.int8)
    bz = rng.integers(-20, 20, (7,), dtype=np.int8)
    m = model([helper.make_node("MatMulInteger", ["a", "b", "az", "bz"], ["y"], name="mmipc")],
              [helper.make_tensor_value_info("a", U8, [6, 20])],
              [helper.make_tensor_value_info("y", I32, [6, 7])],
              [numpy_helper.from_array(v, n) for v, n in ((b, "b"), (az, "az"), (bz, "bz"))])
    y = (a.astype(np.int64) - az.astype(np.int64)[:, None]) @ (b.astype(np.int64) - bz.astype(np.int64)[None, :])
    return m, {"a": a}, {"y": y.astype(np.int32)}


def qmm_pc(rng):
    a = rng.integers(0, 256, (4, 16), dtype=np.uint8)
    as_, az = np.float32(0.03), np.uint8(118)
    b = rng.integers(-128, 128, (16, 6), dtype=np.int8)
    bs = (rng.random(6) * 0.02 + 0.002).astype(np.float32)
    bz = rng.integers(-10, 10, (6,), dtype=np.int8)
    ys, yz = np.float32(0.04), np.uint8(128)
    inits = [numpy_helper.from_array(v, n) for v, n in (
        (as_, "as"), (az, "az"), (b, "b"), (bs, "bs"), (bz, "bz"), (ys, "ys"), (yz, "yz"))]
    m = model([helper.make_node("QLinearMatMul", ["a", "as", "az", "b", "bs", "bz", "ys", "yz"], ["y"],
                                name="qmmpc")],
              [helper.make_tensor_value_info("a", U8, [4, 16])],
              [helper.make_tensor_value_info("y", U8, [4, 6])], inits)
    acc = (a.astype(np.int64) - 118) @ (b.astype(np.int64) - bz.astype(np.int64)[None, :])
    y = requant(acc, as_, bs[None, :], ys, 128, 0, 255).astype(np.uint8)
    return m, {"a": a}, {"y": y}


def dyn_quant(x):
    """DynamicQuantizeLinear in f32, as ONNX's reference implementation
    (onnx/reference/ops/op_dynamic_quantize_linear.py) and onnxruntime compute
    it: scale = (max - min) / 255 (1 when max == min), zero point =
    round(saturate(0 - min / scale)), x / scale, round half to even.  The u8
    data, scale, zero point (test_quant_arith.py checks the f32 rounding)."""
    f32 = np.float32
    hi, lo = f32(max(f32(0), x.max())), f32(min(f32(0), x.min()))
    scale = f32(1) if hi == lo else f32(f32(hi - lo) / f32(255))
    zp = np.uint8(np.rint(np.clip(f32(f32(0) - f32(lo / scale)), 0, 255)))
    q = np.clip(np.rint(x / scale) + np.float32(zp), 0, 255).astype(np.uint8)
    return q, scale, zp


def dyn_mm(rng):
    x = (rng.standard_normal((5, 24)) + 0.7).astype(np.float32)
    w = rng.integers(-128, 128, (24, 9), dtype=np.int8)
    ws = np.float32(0.0125)
    nodes = [helper.make_node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"], name="dql"),
             helper.make_node("MatMulInteger", ["xq", "w", "xz"], ["acc"], name="mmi"),
             helper.make_node("Cast", ["acc"], ["accf"], name="cast", to=F32),
             helper.make_node("Mul", ["xs", "ws"], ["s"], name="smul"),
             helper.make_node("Mul", ["accf", "s"], ["y"], name="ymul")]
    m = model(nodes, [helper.make_tensor_value_info("x", F32, [5, 24])],
              [helper.make_tensor_value_info("acc", I32, [5, 9]), helper.make_tensor_value_info("y", F32, [5, 9])],
              [numpy_helper.from_array(w, "w"), numpy_helper.from_array(ws, "ws")])
    q, xs, xz = dyn_quant(x)
    assert xz != 0, "the run-time zero point should matter"
    acc = ((q.astype(np.int64) - int(xz)) @ w.astype(np.int64)).astype(np.int32)
    y = acc.astype(np.float32) * np.float32(xs * ws)
    return m, {"x": x}, {"acc": acc, "y": y}


def dyn_conv(rng):
    x = (rng.standard_normal((1, 4, 6, 6)) - 0.5).astype(np.float32)
    w = rng.integers(0, 256, (3, 4, 3, 3), dtype=np.uint8)
    wz = np.array([127, 130, 0], np.uint8)
    nodes = [helper.make_node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"], name="dql"),
             helper.make_node("ConvInteger", ["xq", "w", "xz", "wz"], ["y"], name="ci", pads=[1, 1, 1, 1])]
    m = model(nodes, [helper.make_tensor_value_info("x", F32, [1, 4, 6, 6])],
              [helper.make_tensor_value_info("y", I32, [1, 3, 6, 6])],
              [numpy_helper.from_array(w, "w"), numpy_helper.from_array(wz, "wz")])
    q, _, xz = dyn_quant(x)
    assert xz != 0, "the run-time zero point should matter"
    y = conv_int(q.astype(np.int64) - int(xz), w.astype(np.int64) - wz.astype(np.int64)[:, None, None, None], pad=1)
    return m, {"x": x}, {"y": y.astype(np.int32)}


ORDERS = ("x*(w/y)", "(x/y)*w", "double")  # the orders pin_order tells from onnxruntime's


def multipliers(xs, ws, ys):
    """The requantization multiplier in the order onnxruntime computes it,
    (x_scale * w_scale) / y_scale in f32, and in three other orders."""
    x, w, y = np.float32(xs), np.float32(ws), np.float32(ys)
    return {"ort": np.float32(x * w) / y, "x*(w/y)": x * np.float32(w / y), "(x/y)*w": np.float32(x / y) * w,
            "double": np.float32(float(x) * float(w) / float(y))}


def order_sum(xs, ws, ys, other, zp):
    """A sum s whose requantized value round_half_even(f32(s) * m) + zp,
    inside 1..254 (u8, not saturated), differs between onnxruntime's
    multiplier m and the one of order `other`; None if there is none."""
    ms = multipliers(xs, ws, ys)
    if ms["ort"] == ms[other]:
        return None
    s = np.arange(int((1 - zp) / ms["ort"]), int((254 - zp) / ms["ort"]), dtype=np.float32)
    bad = np.nonzero(np.rint(s * ms["ort"]) != np.rint(s * ms[other]))[0]
    return int(s[bad[0]]) if len(bad) else None


def pin_order(acc, xs, ws, ys, zp):
    """Per channel c < 3, nudges ws[c] (by f32 ulps) until the multiplier's
    order matters (onnxruntime's against x*(w/y), (x/y)*w and the quotient
    taken in double, one per channel) and returns biases that put output
    element 0 of those channels on a sum where it changes the result; 0
    for the other channels.  acc[c]: element 0's sum before the bias."""
    b = np.zeros(len(ws), np.int64)
    for c, other in enumerate(ORDERS):
        for _ in range(10000):
            s = order_sum(xs, ws[c], ys, other, zp)
            if s is not None:
                break
            ws[c] = np.nextafter(ws[c], np.float32(1))
        assert s is not None, "no sum tells the orders apart"
        b[c] = s - acc[c]
    return b


def check_orders(acc, y, xs, ws, ys, zp):
    """That output element 0 of channel c < 3 differs, saturated, under
    the multiplier of order ORDERS[c]: the case can tell the orders apart."""
    for c, other in enumerate(ORDERS):
        v = np.clip(np.rint(np.float32(acc[0, c, 0, 0]) * multipliers(xs, ws[c], ys)[other]) + zp, 0, 255)
        assert v != y[0, c, 0, 0], "channel %d should tell onnxruntime's order from %s" % (c, other)


def dyn_qconv(rng):
    """DynamicQuantizeLinear -> QLinearConv: x_scale and x_zero_point of run
    time (operands Xs, Xzp), per-channel w_scale (Ws), i8 weights, bias.
    The weights lie in [-64, 64), so that onnxruntime's u8 x i8 kernel
    (which on AVX2 adds pairs of products in saturating i16) computes the
    definition's sums; the biases of channels 0-2 make one output each
    depend on the order the multiplier is computed in (pin_order)."""
    x = (rng.standard_normal((1, 6, 9, 9)) * 1.5 + 0.3).astype(np.float32)
    w = rng.integers(-64, 64, (10, 6, 3, 3), dtype=np.int8)
    ws = (rng.random(10) * 0.004 + 0.001).astype(np.float32)
    wz = np.zeros(10, np.int8)
    b = rng.integers(-3000, 3000, (10,), dtype=np.int64)
    ys, yz = np.float32(0.02), np.uint8(125)
    q, xs, xz = dyn_quant(x)
    assert xz != 0, "the run-time zero point should matter"
    acc = conv_int(q.astype(np.int64) - int(xz), w.astype(np.int64), pad=1)
    b[:3] = pin_order(acc[0, :3, 0, 0], xs, ws, ys, int(yz))[:3]
    b = b.astype(np.int32)
    acc += b.astype(np.int64)[None, :, None, None]
    y = requant(acc, xs, ws[None, :, None, None], ys, int(yz), 0, 255).astype(np.uint8)
    assert (y == 0).any() or (y == 255).any(), "the case should saturate somewhere"
    check_orders(acc, y, xs, ws, ys, int(yz))
    nodes = [helper.make_node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"], name="dql"),
             helper.make_node("QLinearConv", ["xq", "xs", "xz", "w", "ws", "wz", "ys", "yz", "b"], ["y"],
                              name="qc", pads=[1, 1, 1, 1])]
    m = model(nodes, [helper.make_tensor_value_info("x", F32, [1, 6, 9, 9])],
              [helper.make_tensor_value_info("y", U8, [1, 10, 9, 9])],
              [numpy_helper.from_array(v, n) for v, n in ((w, "w"), (ws, "ws"), (wz, "wz"), (ys, "ys"),
                                                          (yz, "yz"), (b, "b"))])
    return m, {"x": x}, {"y": y}


def dyn_qmm(rng):
    """DynamicQuantizeLinear -> QLinearMatMul: run-time a_scale (Xs) and
    a_zero_point, a constant scalar b_scale (the multiplier b_scale * Xs / y_scale),
    i8 weights."""
    x = (rng.standard_normal((7, 32)) - 0.4).astype(np.float32)
    b = rng.integers(-64, 64, (32, 12), dtype=np.int8)  # no i16 saturation in onnxruntime (dyn_qconv)
    bs, bz = np.float32(0.0071), np.int8(0)
    ys, yz = np.float32(0.02), np.uint8(123)
    nodes = [helper.make_node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"], name="dql"),
             helper.make_node("QLinearMatMul", ["xq", "xs", "xz", "b", "bs", "bz", "ys", "yz"], ["y"], name="qmm")]
    m = model(nodes, [helper.make_tensor_value_info("x", F32, [7, 32])],
              [helper.make_tensor_value_info("y", U8, [7, 12])],
              [numpy_helper.from_array(v, n) for v, n in ((b, "b"), (bs, "bs"), (bz, "bz"), (ys, "ys"), (yz, "yz"))])
    q, xs, xz = dyn_quant(x)
    assert xz != 0, "the run-time zero point should matter"
    acc = (q.astype(np.int64) - int(xz)) @ b.astype(np.int64)
    y = requant(acc, xs, bs, ys, int(yz), 0, 255).astype(np.uint8)
    assert (y == 0).any() or (y == 255).any(), "the case should saturate somewhere"
    return m, {"x": x}, {"y": y}


def dyn_yscale(rng):
    """QLinearConv whose x_scale, x_zero_point, y_scale and y_zero_point all
    come at run time (two DynamicQuantizeLinear: the input's, and one of a
    second input standing for the output's range), u8 weights with a zero
    point: I, W, B, Xzp, Yzp, Xs, Ys and O, the eight accesses a nest holds;
    its w_scale nudged and the biases of channels 0-2 set so that one output
    each depends on the multiplier's order (as dyn_qconv's); and
    QLinearMatMul whose b_scale is a graph input (Ws of run time) and whose
    y_scale comes from the second DynamicQuantizeLinear (Ys)."""
    x = (rng.standard_normal((1, 5, 8, 8)) + 0.2).astype(np.float32)
    r = (rng.standard_normal((16,)) * 40 - 10).astype(np.float32)
    w = rng.integers(0, 256, (7, 5, 3, 3), dtype=np.uint8)
    ws, wz = np.float32(0.03), np.uint8(129)
    b = rng.integers(-2000, 2000, (7,), dtype=np.int64)
    a = rng.integers(0, 256, (4, 18), dtype=np.uint8)
    az = np.uint8(131)
    bm = rng.integers(-64, 64, (18, 5), dtype=np.int8)  # (as dyn_qconv's)
    bmz = np.int8(0)
    bms = np.float32(0.021)
    asc = np.float32(0.05)
    q, xs, xz = dyn_quant(x)
    _, rs, rz = dyn_quant(r)
    assert xz != 0 and rz != 0, "the run-time zero points should matter"
    acc = conv_int(q.astype(np.int64) - int(xz), w.astype(np.int64) - 129, stride=2, pad=1)
    for _ in range(10000):  # one w_scale for all channels: nudged until every order tells
        sums = [order_sum(xs, ws, rs, o, int(rz)) for o in ORDERS]
        if None not in sums:
            break
        ws = np.nextafter(ws, np.float32(1))
    assert None not in sums, "no w_scale tells the orders apart"
    b[:3] = np.array(sums) - acc[0, :3, 0, 0]
    b = b.astype(np.int32)
    acc += b.astype(np.int64)[None, :, None, None]
    y = requant(acc, xs, ws, rs, int(rz), 0, 255).astype(np.uint8)
    check_orders(acc, y, xs, np.full(3, ws), rs, int(rz))
    accm = (a.astype(np.int64) - 131) @ bm.astype(np.int64)
    ym = requant(accm, asc, bms, rs, int(rz), 0, 255).astype(np.uint8)
    assert len(np.unique(y)) > 20 and len(np.unique(ym)) > 5, "the outputs should vary"
    nodes = [helper.make_node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"], name="dqx"),
             helper.make_node("DynamicQuantizeLinear", ["r"], ["rq", "rs", "rz"], name="dqr"),
             helper.make_node("QLinearConv", ["xq", "xs", "xz", "w", "ws", "wz", "rs", "rz", "b"], ["y"],
                              name="qcy", strides=[2, 2], pads=[1, 1, 1, 1]),
             helper.make_node("QLinearMatMul", ["a", "as", "az", "bm", "bms", "bmz", "rs", "rz"], ["ym"],
                              name="qmmy")]
    m = model(nodes, [helper.make_tensor_value_info("x", F32, [1, 5, 8, 8]),
                      helper.make_tensor_value_info("r", F32, [16]),
                      helper.make_tensor_value_info("a", U8, [4, 18]),
                      helper.make_tensor_value_info("bms", F32, [])],
              [helper.make_tensor_value_info("y", U8, [1, 7, 4, 4]),
               helper.make_tensor_value_info("ym", U8, [4, 5])],
              [numpy_helper.from_array(v, n) for v, n in ((w, "w"), (ws, "ws"), (wz, "wz"), (b, "b"),
                                                          (asc, "as"), (az, "az"), (bm, "bm"), (bmz, "bmz"))])
    return m, {"x": x, "r": r, "a": a, "bms": bms}, {"y": y, "ym": ym}


def qnet(rng):
    x = (rng.standard_normal((1, 8, 10, 10)) * 2).astype(np.float32)
    xs, xz = np.float32(0.03), np.uint8(128)
    w1 = rng.integers(-128, 128, (16, 8, 3, 3), dtype=np.int8)
    w1s, w1z = np.float32(0.004), np.int8(0)
    b1 = rng.integers(-2000, 2000, (16,), dtype=np.int32)
    y1s, y1z = np.float32(0.05), np.uint8(100)
    w2 = rng.integers(0, 256, (8, 16, 3, 3), dtype=np.uint8)
    w2s, w2z = np.float32(0.002), np.uint8(131)
    y2s, y2z = np.float32(0.02), np.uint8(120)  # tight: some outputs saturate
    inits = [numpy_helper.from_array(v, n) for v, n in (
        (xs, "xs"), (xz, "xz"), (w1, "w1"), (w1s, "w1s"), (w1z, "w1z"), (b1, "b1"), (y1s, "y1s"),
        (y1z, "y1z"), (w2, "w2"), (w2s, "w2s"), (w2z, "w2z"), (y2s, "y2s"), (y2z, "y2z"))]
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"], name="q"),
        helper.make_node("QLinearConv", ["xq", "xs", "xz", "w1", "w1s", "w1z", "y1s", "y1z", "b1"], ["h"],
                         name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("QLinearConv", ["h", "y1s", "y1z", "w2", "w2s", "w2z", "y2s", "y2z"], ["yq"],
                         name="conv2", strides=[2, 2]),
        helper.make_node("DequantizeLinear", ["yq", "y2s", "y2z"], ["y"], name="dq"),
    ]
    m = model(nodes, [helper.make_tensor_value_info("x", F32, [1, 8, 10, 10])],
              [helper.make_tensor_value_info("yq", U8, [1, 8, 4, 4]),
               helper.make_tensor_value_info("y", F32, [1, 8, 4, 4])], inits)
    # QuantizeLinear: x / scale in f32, round half to even, + zero point, saturate
    xq = np.clip(np.rint(x / xs) + 128, 0, 255).astype(np.int64)
    acc1 = conv_int(xq - 128, w1.astype(np.int64), pad=1) + b1.astype(np.int64)[None, :, None, None]
    h = requant(acc1, xs, w1s, y1s, 100, 0, 255).astype(np.int64)
    acc2 = conv_int(h - 100, w2.astype(np.int64) - 131, stride=2)
    yq = requant(acc2, y1s, w2s, y2s, 120, 0, 255).astype(np.uint8)
    assert (yq == 0).any() or (yq == 255).any(), "the case should saturate somewhere"
    y = ((yq.astype(np.int32) - 120).astype(np.float32) * y2s).astype(np.float32)
    return m, {"x": x}, {"yq": yq, "y": y}


INT_OPS = ("ConvInteger", "QLinearConv", "MatMulInteger", "QLinearMatMul")
ORT_RUN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "realmodels", "ort_run.js")
# Cases whose reference is not compared with onnxruntime 1.30's outputs:
# per-channel zero points of ConvInteger and MatMulInteger (it takes
# per-tensor ones only), and u8 x i8 products over the whole i8 range (its
# AVX2 kernel, vpmaddubsw, adds pairs of them in saturating i16, which the
# ONNX definition does not: dyn_mm's sums from onnxruntime equal numpy's with
# each pair clipped to i16, and 10 of 45 differ from the definition's).
NO_ORT = ("dyn_conv", "mmi_pc", "qnet", "dyn_mm", "qmm_pc")
HOST_OPS = ("DynamicQuantizeLinear", "QuantizeLinear", "DequantizeLinear")  # the cases' host nodes


def int_macs(m):
    """The MACs of every integer mac node of m, by name: a convolution's
    output elements times W's C/group x kernel, a matmul's times A's inner dim."""
    g = onnx.shape_inference.infer_shapes(m, strict_mode=True).graph
    dims = {t.name: list(t.dims) for t in g.initializer}
    for vi in list(g.input) + list(g.value_info) + list(g.output):
        dims[vi.name] = [d.dim_value for d in vi.type.tensor_type.shape.dim]
    out = {}
    for k, n in enumerate(g.node):
        if n.op_type not in INT_OPS:
            continue
        y, a = np.prod(dims[n.output[0]], dtype=np.int64), dims[n.input[0]]
        w = dims[n.input[3 if n.op_type.startswith("QLinear") else 1]]
        inner = np.prod(w[1:], dtype=np.int64) if "Conv" in n.op_type else a[-1]
        out[n.name or "%s_%d" % (n.op_type, k)] = int(y * inner)
    return out


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=300)
    return r.returncode, r.stdout, r.stderr


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("naasc")
    ap.add_argument("naasc_run")
    ap.add_argument("node_dir")
    ap.add_argument("scratch")
    ap.add_argument("--presets", default="eyeriss,nvdla-256")
    ap.add_argument("--ort", default=os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "naasc", "ort-1.30.0"))
    args = ap.parse_args()
    have_ort = os.path.isdir(os.path.join(args.ort, "node_modules", "onnxruntime-node")) and shutil.which("node")
    if not have_ort:
        print("note: onnxruntime-node is not installed in %s (or no node): references checked against numpy only"
              % args.ort)
    if not all(os.path.isdir(os.path.join(args.node_dir, "node", c)) for c in NODE_CASES):
        print("SKIP: no node cases in %s/node (run gen_node_cases.py first)" % args.node_dir)
        return 77
    rng = np.random.default_rng(16)
    cases = [("node_" + c[len("test_"):],) + node_case(args.node_dir, c) for c in NODE_CASES]
    cases.append(("big_sums",) + big_sums(rng))
    cases.append(("qnet",) + qnet(rng))
    cases.append(("qconv_pc",) + qconv_pc(rng))
    cases.append(("mmi_pc",) + mmi_pc(rng))
    cases.append(("dyn_mm",) + dyn_mm(rng))
    cases.append(("qmm_pc",) + qmm_pc(rng))
    cases.append(("dyn_conv",) + dyn_conv(rng))
    cases.append(("dyn_qconv",) + dyn_qconv(rng))
    cases.append(("dyn_qmm",) + dyn_qmm(rng))
    cases.append(("dyn_yscale",) + dyn_yscale(rng))
    fails = passes = 0

    def verdict(ok, text):
        nonlocal fails, passes
        print("%s %s" % ("PASS" if ok else "FAIL", text), flush=True)
        passes += ok
        fails += not ok

    presets = args.presets.split(",")
    for name, m, feeds, wants in cases:
        d = os.path.join(args.scratch, name)
        os.makedirs(d, exist_ok=True)
        mp = os.path.join(d, "model.onnx")
        onnx.save(m, mp)
        inputs = []
        for iname, v in feeds.items():
            p = os.path.join(d, "in-%s.pb" % iname)
            with open(p, "wb") as f:
                f.write(numpy_helper.from_array(v, iname).SerializeToString())
            inputs += ["--input", "%s=%s" % (iname, p)]
        if have_ort and name not in NO_ORT:
            od = os.path.join(d, "out-ort")
            rc, _, err = run(["node", ORT_RUN, mp, "--ort", args.ort, "-o", od] + inputs)
            if rc != 0:
                verdict(False, "%s: onnxruntime exit %d: %s" % (name, rc, err.strip()))
            for oname, want in wants.items() if rc == 0 else ():
                got = numpy_helper.to_array(load_pb(os.path.join(od, oname + ".pb")))
                same = got.dtype == want.dtype and got.shape == want.shape and np.array_equal(got, want)
                verdict(same, "%s: onnxruntime's '%s' equals the numpy reference bit for bit" % (name, oname))
        for pi, preset in enumerate(presets):
            cmdf = os.path.join(d, preset + ".cmd")
            rc, _, err = run([args.naasc, mp, "--target", preset, "-o", cmdf])
            if rc != 0:
                verdict(False, "%s on %s: naasc exit %d: %s" % (name, preset, rc, err.strip()))
                continue
            rc, out, err = run([args.naasc, mp, "--target", preset, "--report", "--schedule=layer"])
            macs = [ln.split()[0] for ln in out.splitlines() if len(ln.split()) > 4 and
                    ln.split()[0] not in ("layer", "total") and ln.split()[4].replace(".", "").isdigit()
                    and float(ln.split()[4]) > 0]
            inodes = [n.name or "%s_%d" % (n.op_type, k) for k, n in enumerate(m.graph.node)
                      if n.op_type in INT_OPS]
            macs = [x for x in macs if x in inodes]  # (a vector op may have a row with work too)
            nmac = len(inodes)
            verdict(rc == 0 and len(macs) == nmac, "%s on %s: %d of %d integer layers costed as mac layers %s" % (
                name, preset, len(macs), nmac, macs))
            # The exact MACs of each integer layer in the JSON report, and
            # no host nest but the (Dynamic)QuantizeLinear and
            # DequantizeLinear nodes.
            jp = os.path.join(d, preset + "-report.json")
            rc, _, err = run([args.naasc, mp, "--target", preset, "--report=" + jp, "--schedule=layer"])
            rep = json.load(open(jp)) if rc == 0 else {"layers": []}
            got = {r["name"]: r["macs"] for r in rep["layers"] if r["name"] in inodes}
            want = int_macs(m)
            ndq = sum(n.op_type in HOST_OPS for n in m.graph.node)
            verdict(rc == 0 and got == want and rep.get("host_nests", 0) == ndq,
                    "%s on %s: report MACs %s, want %s; %d host nests, want %d" % (
                        name, preset, got, want, rep.get("host_nests", 0), ndq))
            runs = [("", [])] + ([("--reference", ["--reference"])] if pi == 0 else [])
            for label, extra in runs:
                od = os.path.join(d, "out-%s%s" % (preset, label))
                rc, _, err = run([args.naasc_run, cmdf, "-o", od] + inputs + extra)
                if rc != 0:
                    verdict(False, "%s on %s %s: naasc-run exit %d: %s" % (name, preset, label, rc, err.strip()))
                    continue
                for oname, want in wants.items():
                    got = numpy_helper.to_array(load_pb(os.path.join(od, oname + ".pb")))
                    same = got.dtype == want.dtype and got.shape == want.shape and np.array_equal(got, want)
                    why = "" if same else ": got %s %s, want %s %s, %d differ" % (
                        got.dtype, list(got.shape), want.dtype, list(want.shape),
                        int((got != want).sum()) if got.shape == want.shape else -1)
                    verdict(same, "%s on %s%s: '%s' bit-exact%s" % (name, preset, " " + label if label else "",
                                                                     oname, why))
    # The precision of the model's own layers: w8a8p32 for QLinearConv, the
    # same report as --precision w8a8p32, another than the preset's own.
    for name in ("qnet", "dyn_qconv"):
        mp = os.path.join(args.scratch, name, "model.onnx")
        reps = [run([args.naasc, mp, "--target", presets[0], "--report", "--schedule=layer"] + p)
                for p in (["--precision", "model"], ["--precision", "w8a8p32"], [])]
        verdict(all(r[0] == 0 for r in reps) and reps[0][1] == reps[1][1] and reps[0][1] != reps[2][1],
                "%s --precision model: the report of --precision w8a8p32 (8-bit words), not the preset's "
                "(exits %s)" % (name, [r[0] for r in reps]))
    print("%d passed, %d failed" % (passes, fails))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
