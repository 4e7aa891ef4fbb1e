#!/usr/bin/python3
"""run_conv_cases.py: compiles and runs the conv cases of gen_conv_cases.py on presets.

Usage: run_conv_cases.py NAASC NAASC_RUN CASEDIR SCRATCH [--target PRESET ...]
                         [--run-flag FLAG ...]

For every CASEDIR/test_conv_*/ and every preset (default: eyeriss and
nvdla-256):

    NAASC model.onnx --target PRESET -o SCRATCH/PRESET/CASE/model.cmd
    NAASC_RUN model.cmd --input x=test_data_set_0/input_0.pb -o SCRATCH/PRESET/CASE/out/

(with each --run-flag added, e.g. --inner to hold every storage level)
and compares out/y.pb (the model's output name) with output_0.pb: same
shape, float32, and |got - want| <= atol + rtol * |want| everywhere
(rtol 1e-3, atol 1e-7).  Prints pass/total and each failure with its reason.

Exit codes: 0 all pass, 1 a failure, 77 (ctest SKIP) if NAASC_RUN is not
built yet, 2 usage.
"""

import argparse
import os
import subprocess
import sys

import numpy as np

RTOL = 1e-3
ATOL = 1e-7
SKIP = 77


def load_pb(onnx, numpy_helper, path):
    t = onnx.TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return numpy_helper.to_array(t)


def first_line(text):
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return "(no message)"


def run_case(onnx, numpy_helper, args, case_dir, preset):
    """None if the case passes, else the reason it failed."""
    name = os.path.basename(case_dir)
    model_path = os.path.join(case_dir, "model.onnx")
    model = onnx.load(model_path)
    inputs = [i.name for i in model.graph.input
              if i.name not in {t.name for t in model.graph.initializer}]
    outputs = [o.name for o in model.graph.output]
    data = os.path.join(case_dir, "test_data_set_0")
    work = os.path.join(args.scratch, preset, name)
    outdir = os.path.join(work, "out")
    os.makedirs(outdir, exist_ok=True)
    for f in os.listdir(outdir):
        os.remove(os.path.join(outdir, f))
    cmd_path = os.path.join(work, "model.cmd")

    p = subprocess.run([args.naasc, model_path, "--target", preset, "-o", cmd_path],
                       capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        return "naasc exit %d: %s" % (p.returncode, first_line(p.stderr))
    run = [args.naasc_run, cmd_path]
    for k, iname in enumerate(inputs):
        run += ["--input", "%s=%s" % (iname, os.path.join(data, "input_%d.pb" % k))]
    run += ["-o", outdir + "/"] + (args.run_flags or [])
    p = subprocess.run(run, capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        return "naasc-run exit %d: %s" % (p.returncode, first_line(p.stderr))
    for k, oname in enumerate(outputs):
        got_path = os.path.join(outdir, oname + ".pb")
        if not os.path.exists(got_path):
            return "no output %s.pb" % oname
        want = load_pb(onnx, numpy_helper, os.path.join(data, "output_%d.pb" % k))
        got = load_pb(onnx, numpy_helper, got_path)
        if got.dtype != want.dtype:
            return "output %s: dtype %s, expected %s" % (oname, got.dtype, want.dtype)
        if got.shape != want.shape:
            return "output %s: shape %s, expected %s" % (oname, list(got.shape), list(want.shape))
        g64, w64 = got.astype(np.float64), want.astype(np.float64)
        bad = ~(np.abs(g64 - w64) <= ATOL + RTOL * np.abs(w64))  # NaN counts as bad
        if bad.any():
            at = np.unravel_index(np.argmax(bad), bad.shape)
            return ("output %s: %d of %d elements out of tolerance, first at %s: got %.9g, expected %.9g"
                    % (oname, int(bad.sum()), bad.size, list(map(int, at)), got[at], want[at]))
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("naasc")
    ap.add_argument("naasc_run")
    ap.add_argument("casedir")
    ap.add_argument("scratch")
    ap.add_argument("--target", action="append", dest="targets",
                    help="a preset (repeatable; default eyeriss and nvdla-256)")
    ap.add_argument("--run-flag", action="append", dest="run_flags",
                    help="a flag for naasc-run (repeatable)")
    args = ap.parse_args()
    targets = args.targets or ["eyeriss", "nvdla-256"]

    if not (os.path.isfile(args.naasc_run) and os.access(args.naasc_run, os.X_OK)):
        print("naasc-run not built (%s)" % args.naasc_run)
        return SKIP
    import onnx
    from onnx import numpy_helper

    cases = sorted(d for d in os.listdir(args.casedir)
                   if d.startswith("test_conv_") and not d.endswith(".tmp")
                   and os.path.isdir(os.path.join(args.casedir, d)))
    if not cases:
        print("no cases in %s: run gen_conv_cases.py first" % args.casedir)
        return 1
    total = passed = 0
    for preset in targets:
        for c in cases:
            total += 1
            try:
                why = run_case(onnx, numpy_helper, args, os.path.join(args.casedir, c), preset)
            except subprocess.TimeoutExpired as e:
                why = "timeout: %s" % " ".join(e.cmd[:2])
            if why is None:
                passed += 1
            else:
                print("FAIL %s on %s: %s" % (c, preset, why))
    print("conv cases: %d/%d pass (rtol %g, atol %g; presets %s%s)"
          % (passed, total, RTOL, ATOL, ", ".join(targets),
             "; naasc-run " + " ".join(args.run_flags) if args.run_flags else ""))
    return 0 if passed == total else 1


if __name__ == "__main__":
    sys.exit(main())
