"""harness.py: runs a real model through naasc, naasc-run and onnxruntime
(tests/realmodels/ort_run.js) and compares the outputs; used by survey.py
and test_ort_reference.py.

Comparison: per output, err = |naasc-run - onnxruntime| elementwise (in f64)
and scale = max |onnxruntime| over the output.  An output passes when every
element has err <= ATOL_REL * scale + RTOL * |onnxruntime| (and the shapes
and dtypes agree): a relative tolerance, with an absolute floor relative to
the output's own magnitude, so outputs near zero (a softmax tail, a
background mask) do not need relative agreement they cannot have when the
two sum in different orders.

A model computed in f16 (registry SPECS fp16=True), and any f16 output, is
compared at f16's precision: ATOL_REL and RTOL become 4 and 8 units of
f16's epsilon (2^-10), FP16_ATOL_REL and FP16_RTOL.  There every layer
rounds its result to f16 (onnxruntime and naasc-run, which widens mac
layers to f32 and rounds once per layer, round at different points), so
the outputs agree to a few f16 ulps of their scale, not to 1e-3.
"""

import os
import subprocess
import time

import numpy as np

import registry

RTOL = 1e-3
ATOL_REL = 1e-4
FP16_ATOL_REL = 4 * 2.0 ** -10
FP16_RTOL = 8 * 2.0 ** -10
TIMEOUT = 900


class Result:
    def __init__(self, cmd, rc, out, err, secs):
        self.cmd, self.rc, self.out, self.err, self.secs = cmd, rc, out, err, secs

    @property
    def ok(self):
        return self.rc == 0

    def first_error(self):
        """The first line of stderr that says error (else the first line, else
        the exit code)."""
        lines = [ln for ln in self.err.splitlines() if ln.strip()]
        for ln in lines:
            if "error" in ln:
                return ln.strip()
        if self.rc == -9:
            return "timed out after %d s" % TIMEOUT
        return lines[0].strip() if lines else "exit %d" % self.rc

    def total_line(self):
        for ln in self.out.splitlines():
            if ln.startswith("total "):
                return ln.strip()
        return None


def run(cmd, timeout=TIMEOUT, cwd=None):
    t0 = time.monotonic()
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=timeout, cwd=cwd)
        rc, out, err = r.returncode, r.stdout, r.stderr
    except subprocess.TimeoutExpired as e:
        rc = -9
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        err = e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
    return Result(cmd, rc, out, err, time.monotonic() - t0)


def write_inputs(model, outdir, seed=0):
    """Writes every input as outdir/NAME.pb; returns {name: path}."""
    os.makedirs(outdir, exist_ok=True)
    paths = {}
    for name, value in registry.make_inputs(model.id, seed).items():
        p = os.path.join(outdir, registry.out_file(name))
        registry.write_pb(p, name, value)
        paths[name] = p
    return paths


def naasc_flags(model, inputs):
    """The flags that fix the model's dynamic dims and bind its constant inputs."""
    flags = registry.input_shape_flags(model.id)
    for name in model.spec.get("const", []):
        flags += ["--input-data", "%s=%s" % (name, inputs[name])]
    return flags


def run_inputs(model, inputs):
    """naasc-run's --input flags: every input not bound at compile time."""
    flags = []
    for name, path in inputs.items():
        if name not in model.spec.get("const", []):
            flags += ["--input", "%s=%s" % (name, path)]
    return flags


def ort(ort_dir, model, inputs, outdir):
    """Runs onnxruntime; returns (Result, {output name: array})."""
    cmd = ["node", registry.ORT_RUN, model.path, "--ort", ort_dir, "-o", outdir]
    for name, path in inputs.items():
        cmd += ["--input", "%s=%s" % (name, path)]
    r = run(cmd)
    outs = {}
    if r.ok:
        import json
        for ln in r.out.splitlines():
            o = json.loads(ln)
            outs[o["name"]] = registry.read_pb(os.path.join(outdir, registry.out_file(o["name"])))
    return r, outs


def compare(got_dir, ref, fp16=False):
    """[(name, ok, max_err, scale, max_rel, note)] per reference output:
    max_err = max |got - ref|, scale = max |ref|, max_rel = max |got - ref| /
    |ref| over the elements with |ref| >= 1% of scale."""
    rows = []
    for name, want in ref.items():
        p = os.path.join(got_dir, registry.out_file(name))
        if not os.path.exists(p):
            rows.append((name, False, float("nan"), float("nan"), float("nan"),
                         "naasc-run wrote no %s" % registry.out_file(name)))
            continue
        got = registry.read_pb(p)
        if got.shape != want.shape or got.dtype != want.dtype:
            rows.append((name, False, float("nan"), float("nan"), float("nan"),
                         "naasc-run %s %s, onnxruntime %s %s" % (got.dtype, list(got.shape), want.dtype, list(want.shape))))
            continue
        w = want.astype(np.float64)
        g = got.astype(np.float64)
        err = np.abs(g - w)
        scale = float(np.abs(w).max()) if w.size else 0.0
        f16 = fp16 or want.dtype == np.float16
        atol, rtol = (FP16_ATOL_REL, FP16_RTOL) if f16 else (ATOL_REL, RTOL)
        bad = ~(err <= atol * scale + rtol * np.abs(w))  # NaN counts as bad
        max_err = float(err.max()) if err.size else 0.0
        big = np.abs(w) >= 0.01 * scale
        max_rel = float((err[big] / np.abs(w[big])).max()) if big.any() and scale > 0 else 0.0
        note = "" if not bad.any() else "%d of %d elements outside tolerance" % (int(bad.sum()), bad.size)
        rows.append((name, not bad.any(), max_err, scale, max_rel, note))
    return rows
