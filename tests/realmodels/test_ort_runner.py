#!/usr/bin/python3
"""test_ort_runner.py: checks tests/realmodels/ort_run.js, the onnxruntime
reference runner, on small models made here.

Usage: test_ort_runner.py SCRATCH [--ort DIR]

Installs onnxruntime-node with scripts/setup-ort.sh (exit 77, a skip, when
the npm registry cannot be reached and nothing is installed) unless --ort
names its directory, then:

  - a model whose outputs are Identity of inputs of every numeric type that
    TensorProto stores (f32, f64, f16, i8, u8, i16, u16, i32, i64, u32, u64,
    bool), each input written once with raw_data and once with the typed
    field ONNX keeps that type in (float_data, int32_data, int64_data,
    double_data, uint64_data): every output must equal its input exactly,
    with the same dtype and shape, including a scalar and an empty tensor;
  - an f32 Add with broadcasting against numpy, exactly, and an output name
    with '/' written as a file with '_' (as naasc-run names it);
  - errors: an unbound input, an unknown input name, a truncated .pb and a
    string tensor exit 1 naming the problem; a bad option exits 2; a
    directory without onnxruntime-node exits 77.

Exit codes: 0 pass, 1 failure, 77 skip.
"""

import argparse
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import registry  # noqa: E402

TYPES = [  # ONNX type, numpy type, typed field
    (TensorProto.FLOAT, np.float32, "float_data"),
    (TensorProto.DOUBLE, np.float64, "double_data"),
    (TensorProto.FLOAT16, np.float16, "int32_data"),
    (TensorProto.INT8, np.int8, "int32_data"),
    (TensorProto.UINT8, np.uint8, "int32_data"),
    (TensorProto.INT16, np.int16, "int32_data"),
    (TensorProto.UINT16, np.uint16, "int32_data"),
    (TensorProto.INT32, np.int32, "int32_data"),
    (TensorProto.INT64, np.int64, "int64_data"),
    (TensorProto.UINT32, np.uint32, "uint64_data"),
    (TensorProto.UINT64, np.uint64, "uint64_data"),
    (TensorProto.BOOL, np.bool_, "int32_data"),
]
SHAPES = [(2, 3), (), (0, 4), (3,)]


def typed_proto(name, a, onnx_type, field):
    """A TensorProto holding `a` in the typed field instead of raw_data."""
    t = TensorProto()
    t.name = name
    t.data_type = onnx_type
    t.dims.extend(a.shape)
    flat = a.reshape(-1)
    if a.dtype == np.float16:
        vals = [int(v) for v in flat.view(np.uint16)]
    elif a.dtype == np.bool_:
        vals = [int(v) for v in flat]
    elif a.dtype.kind == "f":
        vals = [float(v) for v in flat]
    else:
        vals = [int(v) for v in flat]
    getattr(t, field).extend(vals)
    return t


def sample(np_type, shape, rng):
    if np_type == np.bool_:
        return rng.integers(0, 2, shape).astype(np.bool_)
    if np.issubdtype(np_type, np.floating):
        return (rng.standard_normal(shape) * 100).astype(np_type)
    info = np.iinfo(np_type)
    return rng.integers(info.min, info.max, shape, dtype=np_type, endpoint=True)


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=300)
    return r.returncode, r.stdout, r.stderr


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scratch")
    ap.add_argument("--ort", default=None)
    args = ap.parse_args()
    os.makedirs(args.scratch, exist_ok=True)
    if args.ort is None:
        r = subprocess.run(["bash", registry.SETUP_ORT, registry.ORT_DIR], capture_output=True, text=True)
        sys.stdout.write(r.stdout)
        if r.returncode != 0:
            sys.stdout.write(r.stderr)
            return 77 if r.returncode == 77 else 1
        args.ort = r.stdout.strip().splitlines()[-1]

    fails = 0
    passed = 0

    def check(ok, what):
        nonlocal fails, passed
        print("%s %s" % ("PASS" if ok else "FAIL", what))
        if ok:
            passed += 1
        else:
            fails += 1

    rng = np.random.default_rng(7)
    # 1. Identity of every type, every shape, both encodings.
    inputs, outputs, nodes, files, want = [], [], [], [], {}
    for onnx_type, np_type, field in TYPES:
        for si, shape in enumerate(SHAPES):
            for enc in ("raw", "typed"):
                name = "%s_%d_%s" % (TensorProto.DataType.Name(onnx_type).lower(), si, enc)
                a = sample(np_type, shape, rng)
                inputs.append(helper.make_tensor_value_info("in_" + name, onnx_type, shape))
                outputs.append(helper.make_tensor_value_info("out/" + name, onnx_type, shape))
                nodes.append(helper.make_node("Identity", ["in_" + name], ["out/" + name]))
                p = os.path.join(args.scratch, "in_%s.pb" % name)
                t = numpy_helper.from_array(a, "in_" + name) if enc == "raw" else typed_proto("in_" + name, a, onnx_type, field)
                with open(p, "wb") as f:
                    f.write(t.SerializeToString())
                files.append(("in_" + name, p))
                want["out/" + name] = a
    g = helper.make_graph(nodes, "types", inputs, outputs)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 7
    mp = os.path.join(args.scratch, "types.onnx")
    onnx.save(m, mp)
    out = os.path.join(args.scratch, "types.out")
    cmd = ["node", registry.ORT_RUN, mp, "--ort", args.ort, "-o", out]
    for n, p in files:
        cmd += ["--input", "%s=%s" % (n, p)]
    rc, so, se = run(cmd)
    check(rc == 0, "identity model of %d inputs runs (exit %d) %s" % (len(files), rc, se.strip()[-300:] if rc else ""))
    if rc == 0:
        bad = []
        for name, a in want.items():
            p = os.path.join(out, name.replace("/", "_") + ".pb")
            if not os.path.exists(p):
                bad.append("%s: no file %s" % (name, os.path.basename(p)))
                continue
            t = onnx.TensorProto()
            with open(p, "rb") as f:
                t.ParseFromString(f.read())
            got = numpy_helper.to_array(t)
            if t.name != name or got.dtype != a.dtype or got.shape != a.shape or \
                    got.tobytes() != a.tobytes():
                bad.append("%s: got %s %s %s" % (name, t.name, got.dtype, list(got.shape)))
        check(not bad, "%d outputs equal their inputs, bit for bit, dtype and shape%s"
              % (len(want), "" if not bad else ": " + "; ".join(bad[:5])))
        check(len(so.strip().splitlines()) == len(want), "one JSON line per output (%d)" % len(so.strip().splitlines()))

    # 2. Add with broadcasting.
    g = helper.make_graph([helper.make_node("Add", ["a", "b"], ["y"])], "add",
                          [helper.make_tensor_value_info("a", TensorProto.FLOAT, [2, 3, 4]),
                           helper.make_tensor_value_info("b", TensorProto.FLOAT, [4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3, 4])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 7
    mp = os.path.join(args.scratch, "add.onnx")
    onnx.save(m, mp)
    a = rng.standard_normal((2, 3, 4)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    pa, pb = os.path.join(args.scratch, "a.pb"), os.path.join(args.scratch, "b.pb")
    registry.write_pb(pa, "a", a)
    registry.write_pb(pb, "b", b)
    out = os.path.join(args.scratch, "add.out")
    rc, so, se = run(["node", registry.ORT_RUN, mp, "--ort", args.ort, "-o", out, "--input", "a=" + pa, "--input", "b=" + pb])
    ok = rc == 0 and np.array_equal(registry.read_pb(os.path.join(out, "y.pb")), a + b)
    check(ok, "Add with broadcasting equals numpy exactly")

    # 3. Errors.
    def err_case(what, cmd, want_rc, want_text):
        rc, so, se = run(cmd)
        check(rc == want_rc and want_text in (se + so), "%s: exit %d (want %d), %s" % (what, rc, want_rc, (se + so).strip().splitlines()[0] if (se + so).strip() else ""))

    base = ["node", registry.ORT_RUN, mp, "--ort", args.ort, "-o", out]
    err_case("unbound input", base + ["--input", "a=" + pa], 1, "input 'b' is not bound")
    err_case("unknown input", base + ["--input", "a=" + pa, "--input", "b=" + pb, "--input", "c=" + pb], 1, "has no input 'c'")
    trunc = os.path.join(args.scratch, "trunc.pb")
    with open(pa, "rb") as f:
        data = f.read()
    with open(trunc, "wb") as f:
        f.write(data[:len(data) // 2])
    err_case("truncated .pb", base + ["--input", "a=" + trunc, "--input", "b=" + pb], 1, trunc)
    sp = os.path.join(args.scratch, "str.pb")
    with open(sp, "wb") as f:
        f.write(helper.make_tensor("a", TensorProto.STRING, [1], [b"x"]).SerializeToString())
    err_case("string tensor", base + ["--input", "a=" + sp, "--input", "b=" + pb], 1, "string tensors are not supported")
    err_case("bad option", base + ["--frobnicate"], 2, "unknown option '--frobnicate'")
    err_case("no onnxruntime-node", ["node", registry.ORT_RUN, mp, "--ort", args.scratch, "-o", out], 77, "SKIP:")

    print("%d passed, %d failed" % (passed, fails))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
