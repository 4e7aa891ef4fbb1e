#!/usr/bin/env python3
"""Multi-head self-attention executed by naasc-run against numpy.

  test_transformer_numeric.py NAASC NAASC_RUN SCRATCH

A transformer's attention block as PyTorch exports it (opset 13): x [1, T,
D] -> Q K V Linears (MatMul + Add) -> Reshape/Transpose to [1, H, T, dh]
(K to [1, H, dh, T]) -> batched MatMul Q K^T -> Mul by 1/sqrt(dh) -> Add a
causal mask -> Softmax -> batched MatMul by V -> Transpose/Reshape -> output
Linear -> residual Add.  naasc lowers the batched MatMuls to mac layers with
G = H (affine accesses, tiled by the mapping); the command stream runs for
eyeriss and nvdla-1024 with naasc-run (C path, then JIT) and its output is
compared with numpy (float64): |naasc - numpy| <= 1e-5 + 1e-4 |numpy|.

The zoo's full transformers are not run here: their LayerNormalization,
Erf and Tanh are host ops, which the runtime does not execute yet
(docs/transformers.md).
"""
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto

RTOL, ATOL = 1e-4, 1e-5
T, D, H = 24, 32, 4
DH = D // H


def model(rng):
    w = {}
    nodes, inits = [], []

    def init(name, arr):
        w[name] = arr
        inits.append(numpy_helper.from_array(arr.astype(np.float32), name))

    def linear(name, x):
        init(name + ".weight", rng.uniform(-0.3, 0.3, (D, D)))
        init(name + ".bias", rng.uniform(-0.1, 0.1, (D,)))
        nodes.append(helper.make_node("MatMul", [x, name + ".weight"], [name + ".mm"], name + ".mm"))
        nodes.append(helper.make_node("Add", [name + ".mm", name + ".bias"], [name], name))
        return name

    inits.append(numpy_helper.from_array(np.array([1, T, H, DH], np.int64), "split_shape"))
    inits.append(numpy_helper.from_array(np.array([1, T, D], np.int64), "merge_shape"))
    inits.append(numpy_helper.from_array(np.array(1 / np.sqrt(DH), np.float32), "scale"))
    mask = np.triu(np.full((T, T), -1e9), 1)
    w["mask"] = mask
    inits.append(numpy_helper.from_array(mask.astype(np.float32), "mask"))
    heads = {}
    for p, perm in (("q", [0, 2, 1, 3]), ("k", [0, 2, 3, 1]), ("v", [0, 2, 1, 3])):
        y = linear(p, "x")
        nodes.append(helper.make_node("Reshape", [y, "split_shape"], [p + ".split"], p + ".split"))
        nodes.append(helper.make_node("Transpose", [p + ".split"], [p + ".heads"], p + ".heads",
                                      perm=perm))
        heads[p] = p + ".heads"
    nodes += [
        helper.make_node("MatMul", [heads["q"], heads["k"]], ["scores"], "scores"),
        helper.make_node("Mul", ["scores", "scale"], ["scaled"], "scaled"),
        helper.make_node("Add", ["scaled", "mask"], ["masked"], "masked"),
        helper.make_node("Softmax", ["masked"], ["probs"], "probs", axis=-1),
        helper.make_node("MatMul", ["probs", heads["v"]], ["context"], "context"),
        helper.make_node("Transpose", ["context"], ["ctx.t"], "ctx.t", perm=[0, 2, 1, 3]),
        helper.make_node("Reshape", ["ctx.t", "merge_shape"], ["ctx"], "ctx"),
    ]
    o = linear("o", "ctx")
    nodes.append(helper.make_node("Add", [o, "x"], ["y"], "residual"))
    g = helper.make_graph(nodes, "attention",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, T, D])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, T, D])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    return m, w


def reference(w, x):
    def lin(n, a):
        return a @ w[n + ".weight"] + w[n + ".bias"]
    x2 = x[0]
    q = lin("q", x2).reshape(T, H, DH).transpose(1, 0, 2)
    k = lin("k", x2).reshape(T, H, DH).transpose(1, 2, 0)
    v = lin("v", x2).reshape(T, H, DH).transpose(1, 0, 2)
    s = q @ k / np.sqrt(DH) + w["mask"]
    e = np.exp(s - s.max(-1, keepdims=True))
    p = e / e.sum(-1, keepdims=True)
    c = (p @ v).transpose(1, 0, 2).reshape(T, D)
    return (lin("o", c) + x2)[None]


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=600)
    if r.returncode != 0:
        print("FAIL: %s\n  exit %d: %s" % (" ".join(cmd), r.returncode, r.stderr.strip()))
    return r.returncode == 0


def main():
    naasc, naasc_run, work = sys.argv[1:4]
    os.makedirs(work, exist_ok=True)
    rng = np.random.RandomState(7)
    m, w = model(rng)
    onnxf, xpb = os.path.join(work, "attention.onnx"), os.path.join(work, "x.pb")
    onnx.save(m, onnxf)
    x = rng.uniform(-1, 1, (1, T, D))
    with open(xpb, "wb") as f:
        f.write(numpy_helper.from_array(x.astype(np.float32), "x").SerializeToString())
    ref = reference(w, x.astype(np.float32).astype(np.float64))
    # The batched MatMuls are mac layers with G = H, accesses affine.
    p = subprocess.run([naasc, onnxf, "--emit=nir"], capture_output=True, text=True)
    want = "dims N=%d, G=%d, K=%d, C=%d reduce" % (T, H, T, DH)
    if p.returncode != 0 or want not in p.stdout:
        print("FAIL: the scores MatMul is not lowered to '%s'" % want)
        return 1
    fails = 0
    for preset in ("eyeriss", "nvdla-1024"):
        cmdf = os.path.join(work, "attention.%s.cmd" % preset)
        if not run([naasc, onnxf, "--target", preset, "-o", cmdf]):
            fails += 1
            continue
        for jit in (False, True):
            odir = os.path.join(work, "out.%s.%s" % (preset, "jit" if jit else "c"))
            cmd = [naasc_run, cmdf, "--input", "x=" + xpb, "-o", odir] + ([] if jit else ["--no-jit"])
            if not run(cmd):
                fails += 1
                continue
            t = onnx.TensorProto()
            with open(os.path.join(odir, "y.pb"), "rb") as f:
                t.ParseFromString(f.read())
            got = numpy_helper.to_array(t).astype(np.float64)
            err = np.abs(got - ref)
            ok = got.shape == ref.shape and bool((err <= ATOL + RTOL * np.abs(ref)).all())
            print("%s attention on %s (%s): output %s, max |naasc - numpy| = %.3g"
                  % ("PASS" if ok else "FAIL", preset, "JIT" if jit else "C", list(got.shape),
                     float(err.max())))
            fails += not ok
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
