#!/usr/bin/python3
"""test_quant_arith.py: the f32 arithmetic that a dynamic-quantized model's
output depends on (issue 16, isnet-quint8): DynamicQuantizeLinear's scale
and zero point, and linear Resize, bit for bit against numpy written from
the definitions in f32 and, when it is installed, against onnxruntime-node.

Usage: test_quant_arith.py NAASC NAASC_RUN SCRATCH [--presets eyeriss,nvdla-256] [--ort DIR]

Why bit for bit: in a dynamic-quantized network every DynamicQuantizeLinear
rounds its input to u8 at a step of its own scale, so a result that is one
f32 ulp off (a sum taken in double and rounded once, where onnxruntime
rounds each f32 product and sum) flips the u8 value now and then, and the
flips spread through the next ConvInteger layers: IS-Net quint8's mask
differed from onnxruntime's by 0.106 that way.  Tolerance here: 0 (every
element's bits equal).

Cases (each compiled with `naasc M --target PRESET -o M.cmd`, run with
`naasc-run M.cmd`):

  dql_neg     DynamicQuantizeLinear on data with a negative minimum:
              scale = f32(f32(max - min) / 255) (ONNX's definition,
              onnx/reference/ops/op_dynamic_quantize_linear.py, and
              onnxruntime's GetQuantizationParameter); the case is chosen so
              that (max - min) / 255 taken in double and rounded once gives
              another scale (the old code's), so it fails on that code
  dql_zero    all zeros: scale 1 (max == min), zero point 0
  dql_conv    the IS-Net pattern: DynamicQuantizeLinear -> ConvInteger
              (run-time x zero point, a w zero point, pads) ->
              Cast -> Mul by x_scale * w_scale -> Add bias: the f32 result
  resize_*    Resize linear half_pixel (sizes) on NCHW as onnxruntime's
              bilinear kernel computes it in f32: per output point the
              coordinate ((x + 0.5) / scale - 0.5), weights |c - x1| and
              |c - x2| (0.5 each at a clamped edge), and
              dx2*dy2*X11 + dx1*dy2*X21 + dx2*dy1*X12 + dx1*dy1*X22
              summed left to right in f32: 2x, 32x (IS-Net's side outputs)
              and a non-integer ratio
  resize_dql  Resize 2x -> DynamicQuantizeLinear: the u8 values; the case
              is chosen so that the Resize taken in double (the old code)
              flips some of them

Exit codes: 0 pass, 1 failure, 2 bad usage.
"""

import argparse
import os
import shutil
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
ORT_RUN = os.path.join(HERE, "..", "realmodels", "ort_run.js")
U8, I32, F32 = TensorProto.UINT8, TensorProto.INT32, TensorProto.FLOAT
f32 = np.float32


def model(nodes, inputs, outputs, inits=()):
    g = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    return m


def dyn_quant(x):
    """DynamicQuantizeLinear in f32 (the ONNX reference implementation):
    the u8 data, the scale, the zero point."""
    hi = f32(max(f32(0), x.max()))
    lo = f32(min(f32(0), x.min()))
    scale = f32(1) if hi == lo else f32(f32(hi - lo) / f32(255))
    izp = f32(f32(0) - f32(lo / scale))
    zp = np.rint(min(f32(255), max(f32(0), izp)))
    q = np.clip(np.rint((x / scale).astype(f32)) + f32(zp), 0, 255).astype(np.uint8)
    return q, scale, np.uint8(zp)


def dyn_scale_double(x):
    """The scale as the old code took it: (max - min) / 255 in double, rounded once."""
    hi, lo = max(0.0, float(x.max())), min(0.0, float(x.min()))
    return f32((hi - lo) / 255.0)


def resize_axis(n_in, n_out):
    """onnxruntime's SetupUpsampleBilinear along one axis, half_pixel, in f32."""
    s = f32(n_out) / f32(n_in)
    o = np.arange(n_out, dtype=f32)
    c = o if n_in == n_out else ((o + f32(0.5)) / s - f32(0.5)).astype(f32)
    c = np.clip(c, f32(0), f32(n_in - 1)).astype(f32)
    i1 = np.minimum(c.astype(np.int64), n_in - 1)
    i2 = np.minimum(i1 + 1, n_in - 1)
    d1 = np.abs(c - i1.astype(f32)).astype(f32)
    d2 = np.abs(c - i2.astype(f32)).astype(f32)
    edge = i1 == i2
    d1[edge], d2[edge] = f32(0.5), f32(0.5)
    return i1, i2, d1, d2


def resize_f32(x, oh, ow):
    """Resize linear half_pixel of NCHW x to [oh, ow], in f32 as onnxruntime."""
    y1, y2, dy1, dy2 = resize_axis(x.shape[2], oh)
    x1, x2, dx1, dx2 = resize_axis(x.shape[3], ow)

    def tap(ys, xs):
        return x[:, :, ys][:, :, :, xs]

    def w(dx, dy):
        return (dx[None, :] * dy[:, None]).astype(f32)

    t = (w(dx2, dy2) * tap(y1, x1)).astype(f32)
    t = (t + (w(dx1, dy2) * tap(y1, x2)).astype(f32)).astype(f32)
    t = (t + (w(dx2, dy1) * tap(y2, x1)).astype(f32)).astype(f32)
    return (t + (w(dx1, dy1) * tap(y2, x2)).astype(f32)).astype(f32)


def resize_double(x, oh, ow):
    """The same Resize with its weights and sum in double, rounded once (the old code)."""
    y1, y2, dy1, dy2 = resize_axis(x.shape[2], oh)
    x1, x2, dx1, dx2 = resize_axis(x.shape[3], ow)
    xd = x.astype(np.float64)

    def tap(ys, xs):
        return xd[:, :, ys][:, :, :, xs]

    def w(dx, dy):
        return dx.astype(np.float64)[None, :] * dy.astype(np.float64)[:, None]

    return (w(dx2, dy2) * tap(y1, x1) + w(dx1, dy2) * tap(y1, x2) + w(dx2, dy1) * tap(y2, x1)
            + w(dx1, dy1) * tap(y2, x2)).astype(f32)


def resize_model(shape, oh, ow, then_dql=False):
    out = [shape[0], shape[1], oh, ow]
    nodes = [helper.make_node("Resize", ["x", "", "", "sz"], ["y"], name="rz", mode="linear",
                              coordinate_transformation_mode="half_pixel")]
    outs = [helper.make_tensor_value_info("y", F32, out)]
    if then_dql:
        nodes.append(helper.make_node("DynamicQuantizeLinear", ["y"], ["q", "qs", "qz"], name="dql"))
        outs = [helper.make_tensor_value_info("q", U8, out), helper.make_tensor_value_info("qs", F32, []),
                helper.make_tensor_value_info("qz", U8, [])]
    return model(nodes, [helper.make_tensor_value_info("x", F32, shape)], outs,
                 [numpy_helper.from_array(np.array(out, np.int64), "sz")])


def dql_model(shape):
    return model([helper.make_node("DynamicQuantizeLinear", ["x"], ["q", "qs", "qz"], name="dql")],
                 [helper.make_tensor_value_info("x", F32, shape)],
                 [helper.make_tensor_value_info("q", U8, shape), helper.make_tensor_value_info("qs", F32, []),
                  helper.make_tensor_value_info("qz", U8, [])])


def dql_neg(rng):
    # The first draw whose scale in f32 differs from the scale in double.
    for _ in range(1000):
        x = (rng.standard_normal((1, 3, 8, 8)) * rng.uniform(0.2, 3) + rng.uniform(-0.5, 0.5)).astype(f32)
        q, s, z = dyn_quant(x)
        if s != dyn_scale_double(x):
            return dql_model(list(x.shape)), {"x": x}, {"q": q, "qs": s, "qz": z}
    raise AssertionError("no draw with another scale in double")


def dql_zero(rng):
    x = np.zeros((2, 5), f32)
    q, s, z = dyn_quant(x)
    assert s == 1 and z == 0
    return dql_model([2, 5]), {"x": x}, {"q": q, "qs": s, "qz": z}


def conv_int(x, w, pad):
    x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    n, c, h, wd = x.shape
    m, _, r, s = w.shape
    p, q = h - r + 1, wd - s + 1
    y = np.zeros((n, m, p, q), np.int64)
    for i in range(r):
        for j in range(s):
            y += np.einsum("nchw,mc->nmhw", x[:, :, i:i + p, j:j + q], w[:, :, i, j])
    return y


def dql_conv(rng):
    x = (rng.standard_normal((1, 4, 6, 6)) - 0.3).astype(f32)
    w = rng.integers(0, 256, (3, 4, 3, 3), dtype=np.uint8)
    wz = np.uint8(131)  # per tensor: onnxruntime 1.30's ConvInteger takes no other
    ws = f32(0.0037)
    b = rng.standard_normal((1, 3, 1, 1)).astype(f32)
    nodes = [helper.make_node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"], name="dql"),
             helper.make_node("Mul", ["xs", "ws"], ["s"], name="smul"),
             helper.make_node("ConvInteger", ["xq", "w", "xz", "wz"], ["acc"], name="ci", pads=[1, 1, 1, 1]),
             helper.make_node("Cast", ["acc"], ["accf"], name="cast", to=F32),
             helper.make_node("Mul", ["accf", "s"], ["ys"], name="ymul"),
             helper.make_node("Add", ["ys", "b"], ["y"], name="badd")]
    m = model(nodes, [helper.make_tensor_value_info("x", F32, [1, 4, 6, 6])],
              [helper.make_tensor_value_info("y", F32, [1, 3, 6, 6])],
              [numpy_helper.from_array(v, k) for v, k in ((w, "w"), (wz, "wz"), (ws, "ws"), (b, "b"))])
    q, xs, xz = dyn_quant(x)
    acc = conv_int(q.astype(np.int64) - int(xz), w.astype(np.int64) - int(wz), 1)
    y = ((acc.astype(np.int32).astype(f32) * f32(xs * ws)).astype(f32) + b).astype(f32)
    return m, {"x": x}, {"y": y}


def resize_case(rng, shape, oh, ow):
    x = rng.standard_normal(shape).astype(f32)
    y = resize_f32(x, oh, ow)
    assert (y != resize_double(x, oh, ow)).any(), "the case should tell f32 from double"
    return resize_model(shape, oh, ow), {"x": x}, {"y": y}


def resize_dql(rng):
    # Nonnegative (after a Relu, as in IS-Net); the first draw where the
    # Resize taken in double flips a u8 value after DynamicQuantizeLinear.
    for _ in range(100):
        x = np.maximum(rng.standard_normal((1, 8, 32, 32)), 0).astype(f32)
        q, s, z = dyn_quant(resize_f32(x, 64, 64))
        if (dyn_quant(resize_double(x, 64, 64))[0] != q).any():
            return resize_model([1, 8, 32, 32], 64, 64, True), {"x": x}, {"q": q, "qs": s, "qz": z}
    raise AssertionError("no draw where double flips a u8 value")


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=300)
    return r.returncode, r.stdout, r.stderr


def load_pb(path):
    t = TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return numpy_helper.to_array(t)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("naasc")
    ap.add_argument("naasc_run")
    ap.add_argument("scratch")
    ap.add_argument("--presets", default="eyeriss,nvdla-256")
    ap.add_argument("--ort", default=os.environ.get("NAASC_ORT_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "naasc", "ort-1.30.0"))
    args = ap.parse_args()
    rng = np.random.default_rng(16)
    cases = [("dql_neg",) + dql_neg(rng), ("dql_zero",) + dql_zero(rng), ("dql_conv",) + dql_conv(rng),
             ("resize_2x",) + resize_case(rng, [1, 3, 9, 7], 18, 14),
             ("resize_32x",) + resize_case(rng, [1, 2, 8, 8], 256, 256),
             ("resize_odd",) + resize_case(rng, [1, 3, 7, 9], 12, 20),
             ("resize_dql",) + resize_dql(rng)]
    have_ort = os.path.isdir(os.path.join(args.ort, "node_modules", "onnxruntime-node")) and shutil.which("node")
    if not have_ort:
        print("note: onnxruntime-node is not installed in %s (or no node): compared with numpy only" % args.ort)
    fails = passes = 0

    def verdict(ok, text):
        nonlocal fails, passes
        print("%s %s" % ("PASS" if ok else "FAIL", text), flush=True)
        passes += ok
        fails += not ok

    def same(got, want):
        if got.dtype != want.dtype or got.shape != want.shape:
            return False, "got %s %s, want %s %s" % (got.dtype, list(got.shape), want.dtype, list(want.shape))
        bad = got.view(np.uint8) != want.view(np.uint8) if got.dtype == np.uint8 else \
            got.view(np.uint32) != want.view(np.uint32)
        if not bad.any():
            return True, ""
        d = np.abs(got.astype(np.float64) - want.astype(np.float64))
        return False, "%d of %d elements differ, max |diff| %.3g" % (int(bad.sum()), bad.size, d.max())

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
        if have_ort:
            od = os.path.join(d, "out-ort")
            rc, out, err = run(["node", ORT_RUN, mp, "--ort", args.ort, "-o", od] + inputs)
            if rc != 0:
                verdict(False, "%s: onnxruntime exit %d: %s" % (name, rc, err.strip()))
            for oname, want in wants.items():
                if rc == 0:
                    ok, why = same(load_pb(os.path.join(od, oname + ".pb")), np.asarray(want))
                    verdict(ok, "%s: onnxruntime's '%s' equals numpy's bit for bit %s" % (name, oname, why))
        for preset in args.presets.split(","):
            cmdf = os.path.join(d, preset + ".cmd")
            rc, _, err = run([args.naasc, mp, "--target", preset, "-o", cmdf])
            if rc != 0:
                verdict(False, "%s on %s: naasc exit %d: %s" % (name, preset, rc, err.strip()))
                continue
            od = os.path.join(d, "out-" + preset)
            rc, _, err = run([args.naasc_run, cmdf, "-o", od] + inputs)
            if rc != 0:
                verdict(False, "%s on %s: naasc-run exit %d: %s" % (name, preset, rc, err.strip()))
                continue
            for oname, want in wants.items():
                ok, why = same(load_pb(os.path.join(od, oname + ".pb")), np.asarray(want))
                verdict(ok, "%s on %s: '%s' bit for bit %s" % (name, preset, oname, why))
    print("%d passed, %d failed" % (passes, fails))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
