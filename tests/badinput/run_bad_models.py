#!/usr/bin/python3
"""run_bad_models.py: checks that naasc refuses malformed ONNX files cleanly.

Usage: run_bad_models.py NAASC OUTDIR

Writes the models of gen_bad_models.py into OUTDIR, then runs
`naasc FILE --emit=graph` on each (20 s limit) and asserts:
  - exit code exactly 1;
  - stderr is not empty, has `error:` and the file's name
    (`FILE: WHERE: error: MESSAGE`);
  - no sanitizer or crash report on stderr;
  - the message names the broken rule: EXPECT[file] (a regex, case-insensitive).
Plus, for unsupported_ops.onnx, one run reports both unknown ops with their
counts (FooOp 2, BarOp 1) (and for unsupported_in_subgraph.onnx the graph's
FooOp with the branch's BazOp), and with --allow-unsupported the same model
imports (exit 0, its output typed); for dynamic_dims.onnx the message names
the input and points to --input-shape.

Exit codes: 0 pass, 1 some failure, 2 bad usage.
"""

import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import gen_bad_models  # noqa: E402

TIMEOUT = 20
CRASH_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error", "Segmentation")

# file -> regex one line of the message must match (case-insensitive): the
# rule broken, and where (the node, input or initializer) when there is one.
EXPECT = {
    "truncated.onnx": r"does not parse",
    "random.onnx": r"does not parse",
    "cycle.onnx": r"node 'relu_[ab]'.*cycle",
    "undefined_input.onnx": r"node 'add_ghost'.*undefined tensor 'ghost'",
    "zero_dim.onnx": r"input 'x'.*dimension 1 is zero",
    "negative_dim.onnx": r"initializer 'W'.*dimension 1 is negative \(-3\)",
    "huge_tensor.onnx": r"initializer 'W'.*more than 2\^31 elements",
    "data_length_mismatch.onnx": r"initializer 'W'.*100 bytes.*432",
    "bad_ir_version.onnx": r"IR version 99",
    "bad_opset.onnx": r"opset 30",
    "unsupported_ops.onnx": r"unsupported.*FooOp",
    "dynamic_dims.onnx": r"input 'x'.*--input-shape",
    "external_escape.onnx": r"'\.\./\.\./etc/passwd'.*inside the model's folder",
    "external_missing.onnx": r"initializer 'W'.*missing_weights\.bin",
    "empty.onnx": r"file is empty",
    "if_branch_outputs.onnx": r"node 'switch'.*then_branch 'then_body' has 2 outputs, but the If has 1",
    "if_branch_shapes.onnx": r"node 'switch'.*output 0 of the If is f32\[2\] in then_branch and f32\[4\] in else_branch",
    "subgraph_undefined.onnx": r"node 'ghost_reader' in then_branch of node 'switch'.*undefined tensor 'ghost'",
    "unsupported_in_subgraph.onnx": r"unsupported op 'BazOp'",
    "loop_body_signature.onnx": r"node 'repeat'.*body 'body' has 2 inputs.*needs 3",
    "float8_initializer.onnx": r"initializer 'W'.*element type 17 \(FLOAT8E4M3FN\)",
    "local_function.onnx": r"'Twice'.*model-local function.*call_twice",
}


def run(naasc, args):
    try:
        r = subprocess.run([naasc, *args], capture_output=True, text=True, errors="replace",
                           timeout=TIMEOUT)
        return r.returncode, r.stdout, r.stderr
    except subprocess.TimeoutExpired:
        return "timeout", "", ""


def check_refusal(naasc, outdir, name):
    """Returns (problems, stderr)."""
    path = os.path.join(outdir, name)
    rc, out, err = run(naasc, [path, "--emit=graph"])
    problems = []
    if rc != 1:
        problems.append("exit %s, want 1" % rc)
    if not err.strip():
        problems.append("empty stderr")
    if "error:" not in err:
        problems.append("no 'error:' in stderr")
    if name not in err:
        problems.append("file name not in stderr")
    for mark in CRASH_MARKS:
        if mark in err:
            problems.append("stderr has %r" % mark)
    if not re.search(EXPECT[name], err, re.I):
        problems.append("stderr does not match /%s/" % EXPECT[name])
    if name == "unsupported_ops.onnx":
        problems += check_op_counts(err)
    if name == "unsupported_in_subgraph.onnx" and "FooOp" not in err:
        problems.append("the graph's FooOp is not reported with the branch's BazOp")
    return problems, err


def op_count(err, op):
    """How many nodes of `op` the message reports: an explicit count next to
    the op name (`FooOp (2 nodes)`, `FooOp x2`, `2 x FooOp`), else the number
    of lines naming it."""
    for pat in (r"\b%s\b\D{0,12}?(\d+)" % op, r"(\d+)\D{0,4}\b%s\b" % op):
        m = re.search(pat, err)
        if m:
            return int(m.group(1))
    return sum(1 for line in err.splitlines() if re.search(r"\b%s\b" % op, line))


def check_op_counts(err):
    problems = []
    for op, want in (("FooOp", 2), ("BarOp", 1)):
        got = op_count(err, op)
        if got != want:
            problems.append("reports %s with count %d, want %d" % (op, got, want))
    return problems


def check_allow_unsupported(naasc, outdir):
    path = os.path.join(outdir, "unsupported_ops.onnx")
    rc, out, err = run(naasc, [path, "--emit=graph", "--allow-unsupported"])
    problems = []
    if rc != 0:
        problems.append("--allow-unsupported: exit %s, want 0" % rc)
    elif "  output %y : f32[1,4,8,8]" not in out.splitlines():
        problems.append("--allow-unsupported: no line '  output %y : f32[1,4,8,8]'")
    return problems, err


def main():
    if len(sys.argv) != 3:
        print("usage: run_bad_models.py NAASC OUTDIR", file=sys.stderr)
        return 2
    naasc, outdir = sys.argv[1], sys.argv[2]
    if not os.access(naasc, os.X_OK):
        print("run_bad_models: %s is not an executable" % naasc, file=sys.stderr)
        return 2
    t0 = time.monotonic()
    sys.argv = [sys.argv[0], outdir]
    if gen_bad_models.main() != 0:
        print("FAIL: gen_bad_models.py")
        return 1
    missing = set(gen_bad_models.MODELS) ^ set(EXPECT)
    if missing:
        print("FAIL: EXPECT and gen_bad_models.MODELS disagree on %s" % sorted(missing))
        return 1

    npass = nfail = 0
    for name in gen_bad_models.MODELS:
        problems, err = check_refusal(naasc, outdir, name)
        first = err.strip().splitlines()[0] if err.strip() else "(no stderr)"
        if problems:
            nfail += 1
            print("FAIL %-26s %s" % (name, "; ".join(problems)))
            for line in err.strip().splitlines()[:10]:
                print("    | " + line)
        else:
            npass += 1
            print("ok   %-26s %s" % (name, first if len(err.splitlines()) == 1 else
                                      first + " (+%d lines)" % (len(err.splitlines()) - 1)))
    problems, err = check_allow_unsupported(naasc, outdir)
    if problems:
        nfail += 1
        print("FAIL unsupported_ops.onnx --allow-unsupported: %s" % "; ".join(problems))
        for line in err.strip().splitlines()[:10]:
            print("    | " + line)
    else:
        npass += 1
        print("ok   unsupported_ops.onnx --allow-unsupported: exit 0, output %y : f32[1,4,8,8]")
    print("run time %.1f s" % (time.monotonic() - t0))
    print("%d passed, %d failed" % (npass, nfail))
    return 1 if nfail else 0


if __name__ == "__main__":
    sys.exit(main())
