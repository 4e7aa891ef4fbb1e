#!/usr/bin/python3
"""test_qmac.py: integer mac layers (ConvInteger, QLinearConv, MatMulInteger,
QLinearMatMul lowered to the PE array as 8-bit mac nests with 32-bit sums) end to end,
bit-exact against the ONNX definition.

Usage: test_qmac.py NAASC NAASC_RUN ONNX_NODE_DIR SCRATCH [--presets eyeriss,nvdla-256]

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
  qnet         a small quantized network: QuantizeLinear, QLinearConv (i8
               weights, i32 bias, pads), QLinearConv (u8 weights with a zero
               point, stride 2, saturating), DequantizeLinear, against numpy
               written from the ONNX definitions (f32 scale products, round
               half to even, saturation); both the u8 and the f32 output

Each case's report (`naasc M --target PRESET --report --schedule=layer`)
must show every integer node as a costed mac layer (a row with MACs); `naasc-run --reference` (the loop-nest
walk) must give the same bits as the tiled run on the first preset; qnet
with `--precision model` must be costed at w8a8p32.

Exit codes: 0 pass, 1 failure, 2 bad usage, 77 skip (no node cases).
"""

import argparse
import os
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
    args = ap.parse_args()
    if not all(os.path.isdir(os.path.join(args.node_dir, "node", c)) for c in NODE_CASES):
        print("SKIP: no node cases in %s/node (run gen_node_cases.py first)" % args.node_dir)
        return 77
    rng = np.random.default_rng(16)
    cases = [("node_" + c[len("test_"):],) + node_case(args.node_dir, c) for c in NODE_CASES]
    cases.append(("big_sums",) + big_sums(rng))
    cases.append(("qnet",) + qnet(rng))
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
            nmac = sum(1 for n in m.graph.node if n.op_type in ("ConvInteger", "QLinearConv", "MatMulInteger", "QLinearMatMul"))
            verdict(rc == 0 and len(macs) == nmac, "%s on %s: %d of %d integer layers costed as mac layers %s" % (
                name, preset, len(macs), nmac, macs))
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
    mp = os.path.join(args.scratch, "qnet", "model.onnx")
    reps = [run([args.naasc, mp, "--target", presets[0], "--report", "--schedule=layer"] + p)
            for p in (["--precision", "model"], ["--precision", "w8a8p32"], [])]
    verdict(all(r[0] == 0 for r in reps) and reps[0][1] == reps[1][1] and reps[0][1] != reps[2][1],
            "qnet --precision model: the report of --precision w8a8p32 (8-bit words), not the preset's "
            "(exits %s)" % [r[0] for r in reps])
    print("%d passed, %d failed" % (passes, fails))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
