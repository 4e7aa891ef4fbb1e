#!/usr/bin/python3
"""test_host_runtime.py: the layers naasc-run runs on the host, and the
element types it widens, end to end against numpy.

Usage: test_host_runtime.py NAASC NAASC_RUN SCRATCH [--presets eyeriss,nvdla-256]

Each case is a small ONNX model built here with onnx.helper and a numpy
reference written from the ONNX definition.  Per preset the model is
compiled (`naasc M --target PRESET -o M.cmd`) and run (`naasc-run M.cmd`);
every output must have the reference's type and shape and equal it within
the case's stated tolerance (0 for the integer and control-flow cases:
bit-exact).  The cases:

  pad_conv       Pad (reflect; a host layer) feeding a Conv (a mac layer)
  if_data        If whose condition is computed at run time (ReduceSum > 0),
                 run on inputs that take each branch
  loop_data      Loop whose condition is computed in its body (halve until
                 the max is <= 1): the trip count depends on the data
  lstm           LSTM (forward, with bias and initial state) against a numpy
                 LSTM of the ONNX equations
  clip_dynamic   Clip whose bounds are computed at run time (ReduceMin + 1,
                 ReduceMax - 1)
  matmulinteger  MatMulInteger u8 x u8 with zero points: i32, bit-exact
  convinteger    ConvInteger u8 with a zero point: i32, bit-exact
  convinteger_window  the same with groups, strides, dilations, asymmetric
                 pads and a per-channel weight zero point: i32, bit-exact
  qlinearconv    QLinearConv u8/i8 per-channel: requantized u8, bit-exact
                 (round half to even, saturate)
  conv_fp16      an f16 Conv (a mac layer widened to f32, rounded once to
                 f16): within one f16 ulp of numpy's f32 result rounded to f16
  matmul_bf16    a bf16 MatMul (widened the same way): within one bf16 ulp

Also: `naasc-run --counts` on pad_conv lists the host layer apart ("host
total: 1 layers"), `--time` on the f16 and bf16 cases says the mac layer
ran widened to f32, and a stream whose host node was tampered with is
refused at load (exit 1) naming the layer.

Exit codes: 0 pass, 1 failure, 2 bad usage.
"""

import argparse
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

F32, F16, BF16, U8, I8, I32, I64, BOOL = (TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.BFLOAT16,
                                          TensorProto.UINT8, TensorProto.INT8, TensorProto.INT32,
                                          TensorProto.INT64, TensorProto.BOOL)


def model(nodes, inputs, outputs, inits=(), opset=17):
    g = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def vi(name, t, shape):
    return helper.make_tensor_value_info(name, t, shape)


def conv2d(x, w, pads=(0, 0, 0, 0), acc=np.float64):
    """NCHW conv, stride 1, group 1, in acc."""
    x = np.pad(x.astype(acc), ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
    n, c, h, wd = x.shape
    k, _, r, s = w.shape
    oh, ow = h - r + 1, wd - s + 1
    y = np.zeros((n, k, oh, ow), acc)
    for i in range(r):
        for j in range(s):
            y += np.einsum("nchw,kc->nkhw", x[:, :, i:i + oh, j:j + ow], w[:, :, i, j].astype(acc))
    return y


def sigmoid(v):
    return 1 / (1 + np.exp(-v))


def bf16_bits(a):
    """f32 -> bf16 bits, round to nearest even."""
    u = a.astype(np.float32).view(np.uint32).astype(np.uint64)
    u = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    return u.astype(np.uint16)


def bf16_value(bits):
    return (bits.astype(np.uint32) << 16).view(np.float32)


def cases(rng):
    out = []
    # -- Pad (host) -> Conv (mac)
    x = rng.standard_normal((1, 3, 9, 9)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    pads = np.array([0, 0, 2, 1, 0, 0, 1, 2], np.int64)
    m = model([helper.make_node("Pad", ["x", "pads"], ["p"], mode="reflect"),
               helper.make_node("Conv", ["p", "w"], ["y"])],
              [vi("x", F32, [1, 3, 9, 9])], [vi("y", F32, None)],
              [numpy_helper.from_array(w, "w"), numpy_helper.from_array(pads, "pads")])
    p = np.pad(x, ((0, 0), (0, 0), (2, 1), (1, 2)), mode="reflect")
    out.append(("pad_conv", m, [{"x": x}], [[conv2d(p, w).astype(np.float32)]], 1e-5))

    # -- If on a condition computed at run time
    then_g = helper.make_graph([helper.make_node("Mul", ["x", "two"], ["t"])], "then", [],
                               [vi("t", F32, [2, 3])], [numpy_helper.from_array(np.float32(2), "two")])
    else_g = helper.make_graph([helper.make_node("Neg", ["x"], ["e"])], "else", [], [vi("e", F32, [2, 3])])
    m = model([helper.make_node("ReduceSum", ["x"], ["s"], keepdims=0),
               helper.make_node("Greater", ["s", "zero"], ["c"]),
               helper.make_node("If", ["c"], ["y"], then_branch=then_g, else_branch=else_g)],
              [vi("x", F32, [2, 3])], [vi("y", F32, [2, 3])], [numpy_helper.from_array(np.float32(0), "zero")])
    xp = np.abs(rng.standard_normal((2, 3))).astype(np.float32)
    out.append(("if_data", m, [{"x": xp}, {"x": -xp}], [[xp * 2], [xp]], 0))

    # -- Loop whose condition comes from its body
    body = helper.make_graph(
        [helper.make_node("Mul", ["v_in", "half"], ["v_out"]),
         helper.make_node("ReduceMax", ["v_out"], ["mx"], keepdims=0),
         helper.make_node("Greater", ["mx", "one"], ["c_out"])],
        "body", [vi("i", I64, []), vi("c_in", BOOL, []), vi("v_in", F32, [4])],
        [vi("c_out", BOOL, []), vi("v_out", F32, [4])],
        [numpy_helper.from_array(np.float32(0.5), "half"), numpy_helper.from_array(np.float32(1), "one")])
    m = model([helper.make_node("Loop", ["trips", "cond", "x"], ["y"], body=body)],
              [vi("x", F32, [4])], [vi("y", F32, [4])],
              [numpy_helper.from_array(np.int64(100), "trips"), numpy_helper.from_array(np.bool_(True), "cond")])
    xl = np.array([3.0, -20.5, 7.25, 0.5], np.float32)
    v = xl.copy()
    while True:
        v = (v * np.float32(0.5)).astype(np.float32)
        if not v.max() > 1:
            break
    out.append(("loop_data", m, [{"x": xl}], [[v]], 0))

    # -- LSTM, forward, bias and initial state
    T, B, I, H = 5, 2, 3, 4
    X = rng.standard_normal((T, B, I)).astype(np.float32)
    W = (rng.standard_normal((1, 4 * H, I)) * 0.5).astype(np.float32)
    R = (rng.standard_normal((1, 4 * H, H)) * 0.5).astype(np.float32)
    Bb = (rng.standard_normal((1, 8 * H)) * 0.1).astype(np.float32)
    h0 = rng.standard_normal((1, B, H)).astype(np.float32)
    c0 = rng.standard_normal((1, B, H)).astype(np.float32)
    m = model([helper.make_node("LSTM", ["X", "W", "R", "B", "", "h0", "c0"], ["Y", "Yh", "Yc"], hidden_size=H)],
              [vi("X", F32, [T, B, I]), vi("h0", F32, [1, B, H]), vi("c0", F32, [1, B, H])],
              [vi("Y", F32, None), vi("Yh", F32, None), vi("Yc", F32, None)],
              [numpy_helper.from_array(W, "W"), numpy_helper.from_array(R, "R"), numpy_helper.from_array(Bb, "B")])
    h, c = h0[0].astype(np.float64), c0[0].astype(np.float64)
    ys = []
    Wd, Rd, bd = W[0].astype(np.float64), R[0].astype(np.float64), Bb[0].astype(np.float64)
    for t in range(T):  # gates in ONNX order i, o, f, c
        g = X[t] @ Wd.T + h @ Rd.T + bd[:4 * H] + bd[4 * H:]
        i_, o_, f_, c_ = np.split(g, 4, axis=1)
        c = sigmoid(f_) * c + sigmoid(i_) * np.tanh(c_)
        h = sigmoid(o_) * np.tanh(c)
        ys.append(h)
    Y = np.stack(ys)[:, None].astype(np.float32)
    out.append(("lstm", m, [{"X": X, "h0": h0, "c0": c0}],
                [[Y, h[None].astype(np.float32), c[None].astype(np.float32)]], 1e-5))

    # -- Clip with bounds computed at run time
    m = model([helper.make_node("ReduceMin", ["x"], ["lo0"], keepdims=0),
               helper.make_node("ReduceMax", ["x"], ["hi0"], keepdims=0),
               helper.make_node("Add", ["lo0", "one"], ["lo"]),
               helper.make_node("Sub", ["hi0", "one"], ["hi"]),
               helper.make_node("Clip", ["x", "lo", "hi"], ["y"])],
              [vi("x", F32, [3, 5])], [vi("y", F32, [3, 5])], [numpy_helper.from_array(np.float32(1), "one")])
    xc = (rng.standard_normal((3, 5)) * 3).astype(np.float32)
    out.append(("clip_dynamic", m, [{"x": xc}], [[np.clip(xc, xc.min() + 1, xc.max() - 1)]], 0))

    # -- MatMulInteger
    a = rng.integers(0, 256, (3, 7), dtype=np.uint8)
    b = rng.integers(0, 256, (7, 5), dtype=np.uint8)
    m = model([helper.make_node("MatMulInteger", ["a", "b", "az", "bz"], ["y"])],
              [vi("a", U8, [3, 7])], [vi("y", I32, [3, 5])],
              [numpy_helper.from_array(b, "b"), numpy_helper.from_array(np.uint8(12), "az"),
               numpy_helper.from_array(np.uint8(200), "bz")])
    ref = (a.astype(np.int32) - 12) @ (b.astype(np.int32) - 200)
    out.append(("matmulinteger", m, [{"a": a}], [[ref.astype(np.int32)]], 0))

    # -- ConvInteger
    xi = rng.integers(0, 256, (1, 2, 6, 6), dtype=np.uint8)
    wi = rng.integers(0, 256, (3, 2, 3, 3), dtype=np.uint8)
    m = model([helper.make_node("ConvInteger", ["x", "w", "xz"], ["y"], pads=[1, 1, 1, 1])],
              [vi("x", U8, [1, 2, 6, 6])], [vi("y", I32, [1, 3, 6, 6])],
              [numpy_helper.from_array(wi, "w"), numpy_helper.from_array(np.uint8(128), "xz")])
    # padding is with the zero point: pad x - xz with zeros
    ref = conv2d(xi.astype(np.int64) - 128, wi.astype(np.int64), (1, 1, 1, 1), acc=np.int64)
    out.append(("convinteger", m, [{"x": xi}], [[ref.astype(np.int32)]], 0))

    # -- ConvInteger over a general window: groups, strides, dilations, asymmetric pads and a
    # per-channel weight zero point (host/nn.c's 2-D integer path clips each tap's rows and columns)
    xg = rng.integers(0, 256, (1, 4, 9, 11), dtype=np.uint8)
    wg = rng.integers(0, 256, (6, 2, 3, 2), dtype=np.uint8)
    wzg = rng.integers(0, 256, (6,), dtype=np.uint8)
    m = model([helper.make_node("ConvInteger", ["x", "w", "xz", "wz"], ["y"], group=2, strides=[2, 3],
                                dilations=[2, 1], pads=[2, 0, 1, 3])],
              [vi("x", U8, [1, 4, 9, 11])], [vi("y", I32, [1, 6, 4, 5])],
              [numpy_helper.from_array(wg, "w"), numpy_helper.from_array(np.uint8(37), "xz"),
               numpy_helper.from_array(wzg, "wz")])
    xp = np.pad(xg.astype(np.int64) - 37, ((0, 0), (0, 0), (2, 1), (0, 3)))
    wd = wg.astype(np.int64) - wzg.astype(np.int64)[:, None, None, None]
    ref = np.zeros((1, 6, 4, 5), np.int64)
    for mo in range(6):
        grp = mo // 3
        for r in range(3):
            for s_ in range(2):
                patch = xp[0, 2 * grp:2 * grp + 2, 2 * r:2 * r + 2 * 3 + 1:2, s_:s_ + 3 * 4 + 1:3]
                ref[0, mo] += np.einsum("chw,c->hw", patch, wd[mo, :, r, s_])
    out.append(("convinteger_window", m, [{"x": xg}], [[ref.astype(np.int32)]], 0))

    # -- QLinearConv, u8 activations, i8 per-channel weights, i32 bias
    xq = rng.integers(0, 256, (1, 2, 5, 5), dtype=np.uint8)
    wq = rng.integers(-128, 128, (3, 2, 3, 3), dtype=np.int8)
    xs, xz = np.float32(0.02), np.uint8(100)
    ws = np.array([0.01, 0.03, 0.005], np.float32)
    wz = np.zeros(3, np.int8)
    ys_, yz = np.float32(0.15), np.uint8(90)
    bq = rng.integers(-500, 500, (3,), dtype=np.int32)
    m = model([helper.make_node("QLinearConv", ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz", "b"], ["y"])],
              [vi("x", U8, [1, 2, 5, 5])], [vi("y", U8, [1, 3, 3, 3])],
              [numpy_helper.from_array(a_, n_) for a_, n_ in
               ((xs, "xs"), (xz, "xz"), (wq, "w"), (ws, "ws"), (wz, "wz"), (ys_, "ys"), (yz, "yz"), (bq, "b"))])
    acc = conv2d(xq.astype(np.int64) - 100, wq.astype(np.int64), acc=np.int64) + bq[None, :, None, None]
    # ONNX: the i32 accumulator rescaled by xs*ws/ys (computed in float32, as the
    # reference implementation does), rounded half to even, plus yz, saturated
    scale = (xs * ws / ys_).astype(np.float32)[None, :, None, None]
    real = (acc.astype(np.float32) * scale).astype(np.float32)
    ref = np.clip(np.rint(real) + 90, 0, 255).astype(np.uint8)
    out.append(("qlinearconv", m, [{"x": xq}], [[ref]], 0))

    # -- f16 Conv: a mac layer widened to f32
    xh = rng.standard_normal((1, 3, 8, 8)).astype(np.float16)
    wh = (rng.standard_normal((5, 3, 3, 3)) * 0.3).astype(np.float16)
    m = model([helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1])],
              [vi("x", F16, [1, 3, 8, 8])], [vi("y", F16, [1, 5, 8, 8])], [numpy_helper.from_array(wh, "w")])
    ref = conv2d(xh.astype(np.float32), wh.astype(np.float32), (1, 1, 1, 1)).astype(np.float16)
    out.append(("conv_fp16", m, [{"x": xh}], [[ref]], "ulp16"))

    # -- bf16 MatMul: the same widening
    abits = bf16_bits(rng.standard_normal((4, 6)).astype(np.float32))
    bbits = bf16_bits(rng.standard_normal((6, 3)).astype(np.float32))
    bt = helper.make_tensor("b", BF16, [6, 3], bbits.tobytes(), raw=True)
    m = model([helper.make_node("MatMul", ["a", "b"], ["y"])],
              [vi("a", BF16, [4, 6])], [vi("y", BF16, [4, 3])], [bt])
    refv = bf16_value(abits).astype(np.float64) @ bf16_value(bbits).astype(np.float64)
    out.append(("matmul_bf16", m, [{"a": ("bf16", abits)}], [[("bf16", refv)]], "ulpbf16"))
    return out


def write_pb(path, name, v):
    if isinstance(v, tuple) and v[0] == "bf16":
        t = helper.make_tensor(name, BF16, list(v[1].shape), v[1].tobytes(), raw=True)
    else:
        t = numpy_helper.from_array(v, name)
    with open(path, "wb") as f:
        f.write(t.SerializeToString())


def read_pb(path):
    t = TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    if t.data_type == BF16:
        return "bf16", np.frombuffer(t.raw_data, np.uint16).reshape(list(t.dims))
    return None, numpy_helper.to_array(t)


def check(got_path, want, tol):
    kind, got = read_pb(got_path)
    if isinstance(want, tuple):  # bf16: compare values, within one bf16 ulp of the exact result
        if kind != "bf16" or got.shape != want[1].shape:
            return "want bf16 %s, got %s %s" % (list(want[1].shape), kind or got.dtype, list(got.shape))
        g = bf16_value(got).astype(np.float64)
        ulp = np.abs(bf16_value(bf16_bits(want[1].astype(np.float32)))) * 2.0 ** -7
        err = np.abs(g - want[1])
        return None if (err <= ulp + 1e-30).all() else "max err %g exceeds a bf16 ulp" % err.max()
    if got.dtype != want.dtype or got.shape != want.shape:
        return "want %s %s, got %s %s" % (want.dtype, list(want.shape), got.dtype, list(got.shape))
    if tol == "ulp16":
        g, w = got.astype(np.float64), want.astype(np.float64)
        ulp = np.maximum(np.abs(w), 2.0 ** -14) * 2.0 ** -10
        err = np.abs(g - w)
        return None if (err <= ulp).all() else "max err %g exceeds an f16 ulp" % err.max()
    if tol == 0:
        return None if np.array_equal(got, want) else "not bit-exact: %d of %d differ" % (
            int((got != want).sum()), got.size)
    err = np.abs(got.astype(np.float64) - want.astype(np.float64))
    bound = tol * (1 + np.abs(want.astype(np.float64)))
    return None if (err <= bound).all() else "max err %g > %g x (1 + |want|)" % (err.max(), tol)


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=300)
    return r.returncode, r.stdout, r.stderr


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("naasc")
    ap.add_argument("naasc_run")
    ap.add_argument("scratch")
    ap.add_argument("--presets", default="eyeriss,nvdla-256")
    args = ap.parse_args()
    rng = np.random.default_rng(16)
    fails = passes = 0

    def verdict(ok, text):
        nonlocal fails, passes
        print("%s %s" % ("PASS" if ok else "FAIL", text), flush=True)
        passes += ok
        fails += not ok

    for name, m, feeds, wants, tol in cases(rng):
        d = os.path.join(args.scratch, name)
        os.makedirs(d, exist_ok=True)
        mp = os.path.join(d, "model.onnx")
        onnx.save(m, mp)
        for preset in args.presets.split(","):
            cmdf = os.path.join(d, preset + ".cmd")
            rc, _, err = run([args.naasc, mp, "--target", preset, "-o", cmdf])
            if rc != 0:
                verdict(False, "%s on %s: naasc exit %d: %s" % (name, preset, rc, err.strip()))
                continue
            for k, (feed, want) in enumerate(zip(feeds, wants)):
                cmd = [args.naasc_run, cmdf, "-o", os.path.join(d, "out%d-%s" % (k, preset))]
                for iname, v in feed.items():
                    p = os.path.join(d, "in%d-%s.pb" % (k, iname))
                    write_pb(p, iname, v)
                    cmd += ["--input", "%s=%s" % (iname, p)]
                wide = name in ("conv_fp16", "matmul_bf16")
                rc, out, err = run(cmd + (["--counts"] if name == "pad_conv" else []) + (["--time"] if wide else []))
                if rc != 0:
                    verdict(False, "%s on %s: naasc-run exit %d: %s" % (name, preset, rc, err.strip()))
                    continue
                whys = []
                for o, w in zip(m.graph.output, want):
                    why = check(os.path.join(d, "out%d-%s" % (k, preset), o.name + ".pb"), w, tol)
                    if why:
                        whys.append("%s: %s" % (o.name, why))
                if wide and "1 mac layers have f16/bf16 operands: they ran widened to f32" not in err:
                    whys.append("--time does not say the mac layer was widened: %r" % err[-300:])
                if name == "pad_conv" and "host total: 1 layers" not in out:
                    whys.append("--counts does not list the host layer apart: %r" % out[-300:])
                verdict(not whys, "%s on %s, input %d%s" % (name, preset, k, ": " + "; ".join(whys) if whys else ""))

    # A tampered host node is refused at load, naming the layer.
    d = os.path.join(args.scratch, "pad_conv")
    data = bytearray(open(os.path.join(d, "eyeriss.cmd"), "rb").read())
    at = data.rfind(b"\x22\x03Pad")  # NodeProto.op_type of the node blob (the last "Pad")
    if at < 0:
        verdict(False, "tamper: the host node of pad_conv is not in the stream")
    else:
        data[at + 2:at + 5] = b"Pxd"
        bad = os.path.join(d, "tampered.cmd")
        open(bad, "wb").write(bytes(data))
        write_pb(os.path.join(d, "x.pb"), "x", np.zeros((1, 3, 9, 9), np.float32))
        rc, _, err = run([args.naasc_run, bad, "--input", "x=" + os.path.join(d, "x.pb"), "-o", os.path.join(d, "bad")])
        ok = rc == 1 and "layer 'Pad" in err and "does not import" in err
        verdict(ok, "tampered host node: exit %d: %s" % (rc, err.strip().splitlines()[-1] if err.strip() else ""))
    print("%d passed, %d failed" % (passes, fails))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
