#!/usr/bin/python3
"""Integer mac layers: the LLVM JIT's i32 tile kernels against the C
reference kernel_ref_i32, side by side in one sitting.

  bench/qmac_jit.py BUILD_DIR [--presets eyeriss,nvdla-256] [--reps 3]
                    [--work DIR] [--model M.onnx --input NAME=FILE.pb ...]
                    [--realmodel ID]

The network (made here, seed 0; or --model): a statically quantized conv
stack as onnxruntime's QDQ-to-QLinear export writes one, QuantizeLinear ->
QLinearConv 3x3 32->64 -> QLinearConv 3x3 64->64 -> QLinearConv 3x3 64->128
stride 2 -> QLinearConv 1x1 128->128 -> DequantizeLinear on a 1x32x112x112
input (u8 activations, i8 weights, i32 bias); or a real model of
tests/realmodels/registry.py (--realmodel isnet-quint8: its cached file,
the flags that fix its dims and its seed-0 inputs, as the tests make them);
plus, in the made network, a dynamic-quantized
branch as IS-Net quint8 has it, DynamicQuantizeLinear -> ConvInteger 3x3
32->64 (run-time zero point).  For each preset the stream is compiled once
(`naasc M --target PRESET -o M.cmd`) and run REPS times each way,
alternating: `naasc-run M.cmd --time` (the JIT) and `naasc-run M.cmd
--no-jit --time` (kernel_ref_i32).  Printed per preset: the MACs of the
mac layers (`naasc M --summary`); per way the wall-clock seconds of its
fastest run as naasc-run --time reports them, and of those the seconds of
the layers run on the host (QuantizeLinear, DynamicQuantizeLinear,
DequantizeLinear: the same code either way) and, for the JIT, of compiling
its kernels; the ratios reference / JIT of the whole run and of the mac
layers alone (the run less its host layers and compiles: widening, tiles,
kernels, epilogues); and whether the outputs were byte-identical in every
run.

Benchmarks are not tests: this prints a figure for docs/benchmarks.md
(bench/stamp.py adds the stamp).
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "realmodels"))
U8, I8, I32, F32 = TensorProto.UINT8, TensorProto.INT8, TensorProto.INT32, TensorProto.FLOAT


def network(rng):
    x = (rng.standard_normal((1, 32, 112, 112)) * 1.5).astype(np.float32)
    inits = [numpy_helper.from_array(np.float32(0.03), "xs"), numpy_helper.from_array(np.uint8(128), "xz")]
    nodes = [helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["q0"], name="quant")]
    cur, cs, cz, c = "q0", "xs", "xz", 32
    for k, (m, r, st) in enumerate([(64, 3, 1), (64, 3, 1), (128, 3, 2), (128, 1, 1)]):
        n = "conv%d" % k
        w = rng.integers(-128, 128, (m, c, r, r), dtype=np.int8)
        inits += [numpy_helper.from_array(v, n + s) for v, s in (
            (w, "_w"), (np.float32(0.002), "_ws"), (np.int8(0), "_wz"),
            (rng.integers(-3000, 3000, (m,), dtype=np.int32), "_b"),
            (np.float32(0.05 + 0.01 * k), "_ys"), (np.uint8(100 + k), "_yz"))]
        nodes.append(helper.make_node(
            "QLinearConv", [cur, cs, cz, n + "_w", n + "_ws", n + "_wz", n + "_ys", n + "_yz", n + "_b"],
            [n], name=n, pads=[r // 2] * 4, strides=[st, st]))
        cur, cs, cz, c = n, n + "_ys", n + "_yz", m
    nodes.append(helper.make_node("DequantizeLinear", [cur, cs, cz], ["y"], name="dequant"))
    # The dynamic-quantized branch (IS-Net quint8's pattern).
    wd = rng.integers(0, 256, (64, 32, 3, 3), dtype=np.uint8)
    inits += [numpy_helper.from_array(wd, "dw"), numpy_helper.from_array(np.uint8(127), "dwz")]
    nodes += [helper.make_node("DynamicQuantizeLinear", ["x"], ["dq", "dqs", "dqz"], name="dql"),
              helper.make_node("ConvInteger", ["dq", "dw", "dqz", "dwz"], ["acc"], name="convint",
                               pads=[1, 1, 1, 1])]
    g = helper.make_graph(nodes, "qmac_bench", [helper.make_tensor_value_info("x", F32, list(x.shape))],
                          [helper.make_tensor_value_info("y", F32, None),
                           helper.make_tensor_value_info("acc", I32, None)], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    return m, {"x": x}


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
    if p.returncode != 0:
        sys.exit("qmac_jit.py: %s: exit %d: %s" % (" ".join(cmd), p.returncode, p.stderr.strip()))
    return p.stdout, p.stderr


def outputs(d):
    return {f: open(os.path.join(d, f), "rb").read() for f in sorted(os.listdir(d))}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("build")
    ap.add_argument("--presets", default="eyeriss,nvdla-256")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--work")
    ap.add_argument("--model")
    ap.add_argument("--input", action="append", default=[])
    ap.add_argument("--realmodel")
    args = ap.parse_args()
    naasc, naasc_run = (os.path.join(args.build, "tools", t) for t in ("naasc", "naasc-run"))
    work = args.work or tempfile.mkdtemp(prefix="qmac-jit-")
    os.makedirs(work, exist_ok=True)
    flags = []
    if args.realmodel:
        import harness  # noqa: E402  (tests/realmodels)
        import registry  # noqa: E402
        rm = {m.id: m for m in registry.load()}.get(args.realmodel)
        if not rm or not os.path.exists(rm.path):
            sys.exit("qmac_jit.py: no cached model '%s' (scripts/fetch-models.sh)" % args.realmodel)
        paths = harness.write_inputs(rm, os.path.join(work, "inputs"), 0)
        mp, flags, inputs = rm.path, harness.naasc_flags(rm, paths), harness.run_inputs(rm, paths)
    elif args.model:
        mp, inputs = os.path.abspath(args.model), sum((["--input", i] for i in args.input), [])
    else:
        m, feeds = network(np.random.default_rng(0))
        mp = os.path.join(work, "qnet.onnx")
        onnx.save(m, mp)
        inputs = []
        for k, v in feeds.items():
            p = os.path.join(work, "in-%s.pb" % k)
            with open(p, "wb") as f:
                f.write(numpy_helper.from_array(v, k).SerializeToString())
            inputs += ["--input", "%s=%s" % (k, p)]
    print("| preset | mapped MACs | JIT s (host s, compile s) | C reference s (host s) | reference / JIT | "
          "mac layers: reference / JIT | outputs identical |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for preset in args.presets.split(","):
        cmdf = os.path.join(work, preset + ".cmd")
        run([naasc, mp, "--target", preset, "-o", cmdf] + flags)
        out, _ = run([naasc, mp, "--target", preset, "--summary"] + flags)
        mm = re.search(r"macs=([0-9]+)", out)
        best = {"jit": None, "ref": None}  # (seconds, host seconds, compile seconds)
        same, first = True, None
        for _ in range(args.reps):
            for label, extra in (("jit", []), ("ref", ["--no-jit"])):
                od = os.path.join(work, "out-%s-%s" % (preset, label))
                _, err = run([naasc_run, cmdf, "-o", od, "--time"] + inputs + extra)
                t = float(re.search(r": ([0-9.]+) s \(tiled", err).group(1))
                mh = re.search(r"ran on the host in ([0-9.]+) s", err)
                mc = re.search(r"compiled in ([0-9.]+) s", err)
                r = (t, float(mh.group(1)) if mh else 0.0, float(mc.group(1)) if mc else 0.0)
                if best[label] is None or r[0] < best[label][0]:
                    best[label] = r
                o = outputs(od)
                first = first or o
                same &= o == first
        j, r = best["jit"], best["ref"]
        print("| %s | %s | %.3f (%.3f, %.3f) | %.3f (%.3f) | %.2f | %.2f | %s |" % (
            preset, mm.group(1) if mm else "?", j[0], j[1], j[2], r[0], r[1], r[0] / j[0],
            (r[0] - r[1]) / (j[0] - j[1] - j[2]), "yes" if same else "NO"))


if __name__ == "__main__":
    main()
