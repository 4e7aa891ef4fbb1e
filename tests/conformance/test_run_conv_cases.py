#!/usr/bin/python3
"""test_run_conv_cases.py: run_conv_cases.py against a fake naasc and naasc-run.

Usage: test_run_conv_cases.py CASEDIR SCRATCH

Until the real naasc-run exists, this shows that the runner can fail: the
fake compiler writes the model's path as the "command stream", and the fake
naasc-run writes the case's expected output as its result, exactly (the
runner must pass every case and exit 0), perturbed by 1% in one element of
one case (it must exit 1 and name that case on both presets, with the
element), with the wrong shape (exit 1, "shape"), or not at all (exit 1,
"no output").  A missing naasc-run must give 77 (ctest SKIP).

Exit codes: 0 ok, 1 failure.
"""

import os
import stat
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

FAKE_NAASC = """#!/bin/sh
# fake naasc MODEL --target P -o OUT: the "command stream" names the model
m="$1"; out=""
while [ $# -gt 0 ]; do [ "$1" = "-o" ] && out="$2"; shift; done
echo "$m" > "$out"
"""

FAKE_RUN = """#!/usr/bin/python3
# fake naasc-run CMD --input x=PB -o DIR/: writes DIR/y.pb per FAKE_MODE
# (onnx is imported only for the one case it alters: start-up is the cost)
import os, shutil, sys
model = open(sys.argv[1]).read().strip()
out = sys.argv[sys.argv.index("-o") + 1]
want = os.path.join(os.path.dirname(model), "test_data_set_0", "output_0.pb")
mode = os.environ["FAKE_MODE"]
alter = ((mode == "perturb" and "test_conv_group4/" in model)
         or (mode == "shape" and "pointwise" in model))
if mode == "missing":
    sys.exit(0)
if not alter:
    shutil.copyfile(want, os.path.join(out, "y.pb"))
    sys.exit(0)
import onnx
from onnx import numpy_helper
t = onnx.TensorProto()
with open(want, "rb") as f:
    t.ParseFromString(f.read())
y = numpy_helper.to_array(t).copy()
if mode == "perturb":
    y.flat[5] *= 1.01
else:
    y = y[:, :1]
with open(os.path.join(out, "y.pb"), "wb") as f:
    f.write(numpy_helper.from_array(y, "y").SerializeToString())
"""


def write_exe(path, text):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def main():
    casedir, scratch = sys.argv[1], sys.argv[2]
    os.makedirs(scratch, exist_ok=True)
    naasc = os.path.join(scratch, "naasc")
    run = os.path.join(scratch, "naasc-run")
    write_exe(naasc, FAKE_NAASC)
    write_exe(run, FAKE_RUN)
    ncases = sum(1 for d in os.listdir(casedir) if d.startswith("test_conv_") and not d.endswith(".tmp"))
    failures = 0

    def check(mode, runner_bin, want_rc, want_text, extra=()):
        nonlocal failures
        env = dict(os.environ, FAKE_MODE=mode)
        p = subprocess.run([sys.executable, os.path.join(HERE, "run_conv_cases.py"), naasc, runner_bin,
                            casedir, os.path.join(scratch, "work")] + list(extra),
                           capture_output=True, text=True, env=env, timeout=600)
        ok = p.returncode == want_rc and all(t in p.stdout for t in want_text)
        print("%s %s: exit %d" % ("ok  " if ok else "FAIL", mode, p.returncode))
        if not ok:
            print("  expected exit %d and %s in:\n%s%s" % (want_rc, want_text, p.stdout, p.stderr))
            failures += 1

    check("exact", run, 0, ["conv cases: %d/%d pass" % (2 * ncases, 2 * ncases)])
    check("perturb", run, 1, ["FAIL test_conv_group4 on eyeriss: output y: 1 of 972 elements",
                              "FAIL test_conv_group4 on nvdla-256",
                              "first at [0, 0, 0, 5]",
                              "conv cases: %d/%d pass" % (2 * ncases - 2, 2 * ncases)])
    one = ["--target", "eyeriss"]
    check("shape", run, 1, ["FAIL test_conv_pointwise_1x1 on eyeriss: output y: shape [1, 1, 5, 5], expected [1, 8, 5, 5]",
                            "conv cases: %d/%d pass" % (ncases - 1, ncases)], one)
    check("missing", run, 1, ["no output y.pb", "conv cases: 0/%d pass" % ncases], one)
    check("exact", os.path.join(scratch, "absent"), 77, ["naasc-run not built"])
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
