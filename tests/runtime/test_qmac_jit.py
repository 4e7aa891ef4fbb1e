#!/usr/bin/python3
"""test_qmac_jit.py: integer mac layers run with the LLVM JIT's i32 tile kernels
(codegen_kernel_i32) give the same bits and the same counts as with the C
reference kernel (kernel_ref_i32, naasc-run --no-jit).

Usage: test_qmac_jit.py NAASC NAASC_RUN SCRATCH [--presets eyeriss,nvdla-256]
                        [--model M.onnx --input NAME=FILE.pb ...]
                        [--realmodel ID [--only]]

Cases: test_qmac.py's quantized models that need no ONNX node case
(big_sums: sums past 2^24; qnet: QuantizeLinear, two QLinearConv,
DequantizeLinear; qconv_pc, mmi_pc, qmm_pc: per-channel zero points and
scales; dyn_mm, dyn_conv: DynamicQuantizeLinear's run-time zero point;
dyn_qconv, dyn_qmm, dyn_yscale: run-time x_scale, y_scale and w_scale, the
requantization multiplier computed per run), and qstack: three QLinearConv
layers of odd sizes (ragged tiles, stride 2, a 1x1), checked against numpy
written from the ONNX definitions.  --model
adds a model of your own with its inputs; --realmodel a real model of
tests/realmodels/registry.py (isnet-quint8: its cached file, the flags that
fix its dims, its seed-0 inputs), and --only runs that model alone (exit 77
if it is not cached).

For each case and preset, the stream (`naasc M --target PRESET -o M.cmd`)
is run twice, `naasc-run M.cmd --counts --moved --time` (the JIT) and the
same with --no-jit; it passes when
  - every output file is byte-identical between the two runs,
  - the counts and moved words (stdout) are identical, the host layers'
    seconds column aside,
  - the JIT run compiled exactly as many kernels as the stream's
    disassembly names distinct kernels (every mac layer of these models is
    an integer one, so each is an i32 kernel; the old runtime compiled 0;
    for --model and --realmodel: at least one),
  - the outputs equal the case's numpy reference bit for bit (for --model:
    not checked, the two runs are compared only).

Exit codes: 0 pass, 1 failure, 2 bad usage, 77 skip (--only: no cached model).
"""

import argparse
import os
import re
import subprocess
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "realmodels"))
import test_qmac as q  # noqa: E402  (the case generators)


def qstack(rng):
    """Three QLinearConv layers (u8 activations, i8 weights) of odd sizes."""
    x = rng.integers(0, 256, (1, 13, 23, 19), dtype=np.uint8)
    xs, xz = np.float32(0.021), np.uint8(117)
    specs = [(29, 3, 1, 1), (17, 3, 2, 1), (11, 1, 1, 0)]  # out channels, kernel, stride, pad
    nodes, inits, want, c, a, a_s, a_z = [], [], None, 13, x.astype(np.int64), xs, 117
    name_in, scale_in, zp_in = "x", "xs", "xz"
    inits += [numpy_helper.from_array(xs, "xs"), numpy_helper.from_array(xz, "xz")]
    for k, (m, r, st, pad) in enumerate(specs):
        w = rng.integers(-128, 128, (m, c, r, r), dtype=np.int8)
        ws, wz = np.float32(0.003 + 0.001 * k), np.int8(0)
        b = rng.integers(-4000, 4000, (m,), dtype=np.int32)
        ys, yz = np.float32(0.06 + 0.02 * k), np.uint8(110 + k)
        n = "c%d" % k
        inits += [numpy_helper.from_array(v, n + s) for v, s in (
            (w, "w"), (ws, "ws"), (wz, "wz"), (b, "b"), (ys, "ys"), (yz, "yz"))]
        out = "y" if k == len(specs) - 1 else n + "o"
        nodes.append(helper.make_node(
            "QLinearConv", [name_in, scale_in, zp_in, n + "w", n + "ws", n + "wz", n + "ys", n + "yz", n + "b"],
            [out], name=n, pads=[pad] * 4, strides=[st, st]))
        acc = q.conv_int(a - a_z, w.astype(np.int64), stride=st, pad=pad) + b.astype(np.int64)[None, :, None, None]
        want = q.requant(acc, a_s, ws, ys, int(yz), 0, 255).astype(np.uint8)
        a, a_s, a_z, c = want.astype(np.int64), ys, int(yz), m
        name_in, scale_in, zp_in = out, n + "ys", n + "yz"
    mdl = q.model(nodes, [helper.make_tensor_value_info("x", q.U8, list(x.shape))],
                  [helper.make_tensor_value_info("y", q.U8, list(want.shape))], inits)
    return mdl, {"x": x}, {"y": want}


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=3600)
    return r.returncode, r.stdout, r.stderr


def counts_text(out):
    """naasc-run's stdout with the host layers' seconds (a time) dropped."""
    lines, host = [], False
    for ln in out.splitlines():
        host |= ln.startswith("host layers")
        lines.append(re.sub(r"\s+[0-9.]+( s)?$", "", ln) if host else ln)
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("naasc")
    ap.add_argument("naasc_run")
    ap.add_argument("scratch")
    ap.add_argument("--presets", default="eyeriss,nvdla-256")
    ap.add_argument("--model")
    ap.add_argument("--input", action="append", default=[])
    ap.add_argument("--realmodel")
    ap.add_argument("--only", action="store_true")
    args = ap.parse_args()
    rng = np.random.default_rng(16)
    cases = [] if args.only else [(name, gen(rng)) for name, gen in (
        ("big_sums", q.big_sums), ("qnet", q.qnet), ("qconv_pc", q.qconv_pc), ("mmi_pc", q.mmi_pc),
        ("dyn_mm", q.dyn_mm), ("qmm_pc", q.qmm_pc), ("dyn_conv", q.dyn_conv), ("qstack", qstack),
        ("dyn_qconv", q.dyn_qconv), ("dyn_qmm", q.dyn_qmm), ("dyn_yscale", q.dyn_yscale))]
    fails = passes = 0

    def verdict(ok, text):
        nonlocal fails, passes
        print("%s %s" % ("PASS" if ok else "FAIL", text), flush=True)
        passes += ok
        fails += not ok

    work = []
    for name, (m, feeds, wants) in cases:
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
        work.append((name, d, mp, inputs, wants, []))
    if args.model:
        name = os.path.splitext(os.path.basename(args.model))[0]
        d = os.path.join(args.scratch, name)
        os.makedirs(d, exist_ok=True)
        work.append((name, d, os.path.abspath(args.model), sum((["--input", i] for i in args.input), []), None,
                     []))
    if args.realmodel:
        import harness  # noqa: E402  (tests/realmodels)
        import registry  # noqa: E402
        rm = {m.id: m for m in registry.load()}.get(args.realmodel)
        if not rm or not os.path.exists(rm.path):
            print("SKIP: no cached model '%s' (scripts/fetch-models.sh)" % args.realmodel)
            return 77 if args.only else 1
        d = os.path.join(args.scratch, rm.id)
        paths = harness.write_inputs(rm, os.path.join(d, "inputs"), 0)
        work.append((rm.id, d, rm.path, harness.run_inputs(rm, paths), None, harness.naasc_flags(rm, paths)))

    for name, d, mp, inputs, wants, flags in work:
        for preset in args.presets.split(","):
            cmdf = os.path.join(d, preset + ".cmd")
            rc, _, err = run([args.naasc, mp, "--target", preset, "-o", cmdf] + flags)
            if rc != 0:
                verdict(False, "%s on %s: naasc exit %d: %s" % (name, preset, rc, err.strip()))
                continue
            res = {}
            for label, extra in (("jit", []), ("ref", ["--no-jit"])):
                od = os.path.join(d, "out-%s-%s" % (preset, label))
                rc, out, err = run([args.naasc_run, cmdf, "-o", od, "--counts", "--moved", "--time"] + inputs + extra)
                res[label] = (rc, od, out, err)
                if rc != 0:
                    verdict(False, "%s on %s --%s: naasc-run exit %d: %s" % (name, preset, label, rc, err.strip()))
            if res["jit"][0] or res["ref"][0]:
                continue
            files = sorted(os.listdir(res["ref"][1]))
            same = files == sorted(os.listdir(res["jit"][1])) and len(files) > 0
            for f in files if same else []:
                with open(os.path.join(res["ref"][1], f), "rb") as a, open(os.path.join(res["jit"][1], f), "rb") as b:
                    same &= a.read() == b.read()
            verdict(same, "%s on %s: %d outputs byte-identical with the JIT and --no-jit" % (name, preset, len(files)))
            cj, cr = counts_text(res["jit"][2]), counts_text(res["ref"][2])
            diff = [(a, b) for a, b in zip(cj, cr) if a != b]
            verdict(cj == cr and len(cj) > 2, "%s on %s: counts identical (%d lines)%s" % (
                name, preset, len(cj), "" if cj == cr else ": first difference %r vs %r" % (diff[:1] or len(cj) - len(cr))))
            mk = re.search(r"(\d+) kernels compiled", res["jit"][3])
            _, dis, _ = run([args.naasc_run, cmdf, "--disasm"])
            nk = len(set(re.findall(r"^\s*kernel #\d+ (.*)$", dis, re.M)))
            got = int(mk.group(1)) if mk else -1
            ok = got == nk and nk > 0 if wants is not None else got >= 1
            verdict(ok, "%s on %s: the JIT compiled %d kernels, the stream names %d" % (name, preset, got, nk))
            for oname, want in (wants or {}).items():
                g = numpy_helper.to_array(q.load_pb(os.path.join(res["jit"][1], oname + ".pb")))
                ok = g.dtype == want.dtype and g.shape == want.shape and np.array_equal(g, want)
                verdict(ok, "%s on %s: '%s' equals the numpy reference" % (name, preset, oname))
    print("%d passed, %d failed" % (passes, fails))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
