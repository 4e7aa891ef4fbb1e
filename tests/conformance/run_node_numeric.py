#!/usr/bin/python3
"""run_node_numeric.py: runs ONNX's backend node cases end to end through
naasc's command stream and runtime, and compares the outputs with ONNX's.

Usage: run_node_numeric.py NAASC NAASC_RUN WORKDIR SCRATCH [--presets eyeriss,nvdla-256]
                           [-j N] [-k SUBSTRING] [-v] [--no-jit] [--table FILE]

A case is supported as in run_node_shapes.py (opsets, refusals; cases naasc
refuses on purpose are skipped here, run_node_shapes checks the refusal),
over every op naasc knows (`naasc --list-ops`): those mapped to the
accelerator, those run on the vector unit, and those naasc-run runs on the
host (runtime/host.c).  Per supported case and preset:

  naasc model.onnx --target PRESET -o SCRATCH/.../model.cmd [--input-data ...]
  naasc-run model.cmd --input NAME=input_K.pb ... -o SCRATCH/.../out [--no-jit]

(compute tiles compiled by the LLVM JIT, or with --no-jit the C reference)

Cases in KNOWN_REFUSALS must instead be refused cleanly (exit 1, the reason
on stderr); they count as passed and are listed.  (the same inputs are bound as constants with --input-data as in
run_node_shapes.py: integer inputs and operands naasc needs as constants;
also an input whose data contradicts its declared shape),
then every output_K.pb must equal SCRATCH/.../out/NAME.pb: same element type
and shape, values within rtol 1e-3 and atol 1e-7 (|got - want| <= atol +
rtol * |want|; NaN matches NaN; integers and bools exactly).

Prints pass/total per op and preset and every failing case with its reason.
The whole suite must match on at least MIN_FRACTION (90%) of all its cases
per preset; --table FILE writes the per-family table (docs/runtime.md).
Exit codes: 0 all pass, 1 some failure, 2 bad usage, 77 skip (no cases).
"""

import argparse
import collections
import concurrent.futures
import glob
import os
import subprocess
import sys
import time

import numpy as np
import onnx
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "host"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "bench"))
import run_node_shapes as shapes  # noqa: E402
import run_node_suite as families  # noqa: E402  (the op families of host.node_suite's table)
import stamp  # noqa: E402

RTOL, ATOL = 1e-3, 1e-7
# Supported-op cases the compiler refuses on purpose (before the runtime sees
# them): case -> reason.  The refusal itself is checked by run_node_shapes.py
# or here (a clean exit 1 naming the reason).
STRING = "string tensors (the runtime holds numeric types only)"
KNOWN_REFUSALS = {
    "test_cast_STRING_to_FLOAT": (STRING, "element type 8"),
    "test_castlike_STRING_to_FLOAT_expanded": (STRING, "element type 8"),
}
# Cases naasc refuses by name, by what the refusal says (exit 1, the text on
# stderr): (reason, fragment of the message).  They count as refused, not
# as passed.
REFUSAL_PATTERNS = [
    ("an output size that depends on the data (naasc needs static shapes)", "depends on the values of input"),
    ("a tensor with a zero-size dim (the command stream holds none)", "is 0"),
]
# Cases that run and differ from ONNX 1.12's expected data for a stated
# reason: listed, counted neither as passed nor as failed.
KNOWN_DIFFERENCES = {
    "test_castlike_FLOAT_to_BFLOAT16": "ONNX 1.12's expected data truncates f32 to bf16; the host evaluator "
                                       "rounds to nearest even, as the ONNX spec says",
}
TIMEOUT = 60
NO_JIT = False
# The whole suite (no -k, no --sample) fails below this fraction of all its
# cases matching ONNX numerically on a preset (issue 16: at least 90%).
MIN_FRACTION = 0.90


def known_ops(naasc):
    """Every op naasc knows (`--list-ops --format=markdown`): mapped to the
    accelerator, run on the vector unit, or run on the host by naasc-run."""
    r = subprocess.run([naasc, "--list-ops", "--format=markdown"], capture_output=True, text=True,
                       timeout=TIMEOUT)
    if r.returncode != 0:
        sys.exit("run_node_numeric: naasc --list-ops --format=markdown failed: %s" % r.stderr.strip())
    ops = set()
    for line in r.stdout.splitlines()[2:]:
        cols = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cols) == 3 and cols[0]:
            ops.add(cols[0])
    if not ops:
        sys.exit("run_node_numeric: no ops in naasc --list-ops --format=markdown")
    return ops


def run(cmd):
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=TIMEOUT)
        return r.returncode, r.stdout, r.stderr
    except subprocess.TimeoutExpired:
        return "timeout", "", "timed out after %d s" % TIMEOUT
    except OSError as e:  # a missing binary is this case's failure, not the runner's
        return "oserror", "", str(e)


def to_array(t, elem_type):
    if t.data_type == onnx.TensorProto.UINT16 and elem_type == onnx.TensorProto.BFLOAT16:
        # numpy has no bf16: widen the stored halves to f32
        a = numpy_helper.to_array(t).astype(np.uint32) << 16
        return a.view(np.float32)
    if t.data_type == onnx.TensorProto.BFLOAT16:
        raw = np.frombuffer(t.raw_data, dtype=np.uint16) if t.raw_data else np.array(t.int32_data, dtype=np.uint16)
        return (raw.astype(np.uint32) << 16).view(np.float32).reshape(list(t.dims))
    return numpy_helper.to_array(t)


def compare(got, want):
    """None if equal within tolerance, else why not."""
    if got.shape != want.shape:
        return "shape %s, want %s" % (list(got.shape), list(want.shape))
    if want.dtype.kind in "fc":
        g = got.astype(np.float64)
        w = want.astype(np.float64)
        both_nan = np.isnan(g) & np.isnan(w)
        same_inf = np.isinf(w) & (g == w)
        with np.errstate(invalid="ignore"):
            err = np.abs(g - w)
        ok = both_nan | same_inf | (err <= ATOL + RTOL * np.abs(w))
        if not ok.all():
            i = int(np.argmax(~ok.reshape(-1)))
            return "%d of %d values differ; first at flat index %d: got %r, want %r" % (
                int((~ok).sum()), ok.size, i, g.reshape(-1)[i], w.reshape(-1)[i])
        return None
    if not np.array_equal(got, want):
        i = int(np.argmax((got != want).reshape(-1)))
        return "%d values differ; first at flat index %d: got %r, want %r" % (
            int((got != want).sum()), i, got.reshape(-1)[i], want.reshape(-1)[i])
    return None


def check(naasc, nrun, case_dir, preset, scratch):
    name = os.path.basename(case_dir)
    model_path = os.path.join(case_dir, "model.onnx")
    model = onnx.load(model_path, load_external_data=False)
    ds = os.path.join(case_dir, "test_data_set_0")
    work = os.path.join(scratch, preset, name)
    os.makedirs(work, exist_ok=True)
    cmdf = os.path.join(work, "model.cmd")
    outdir = os.path.join(work, "out")
    args = [naasc, model_path, "--target", preset, "-o", cmdf]
    runargs = [nrun, cmdf, "-o", outdir] + (["--no-jit"] if NO_JIT else [])
    params = {n.input[i] for n in model.graph.node
              for i in shapes.PARAM_SLOTS.get(n.op_type, ()) if i < len(n.input)}
    for k, gi in enumerate(shapes.graph_inputs(model)):
        pb = os.path.join(ds, "input_%d.pb" % k)
        if gi.type.tensor_type.elem_type == onnx.TensorProto.BFLOAT16:
            # numpy has no bf16: the test data holds the bits as u16; say bf16
            t = shapes.load_tensor(pb)
            if t.data_type == onnx.TensorProto.UINT16:
                t.data_type = onnx.TensorProto.BFLOAT16
                pb = os.path.join(work, "input_%d.bf16.pb" % k)
                with open(pb, "wb") as f:
                    f.write(t.SerializeToString())
        declared = [d.dim_value if d.HasField("dim_value") else -1
                    for d in gi.type.tensor_type.shape.dim]
        mismatch = declared and list(shapes.load_tensor(pb).dims) != declared and -1 not in declared
        # A declared shape the data does not have (CastLike's 'like', which
        # only lends its type) is bound at compile time, as the data says.
        if gi.type.tensor_type.elem_type in shapes.BOUND_DTYPES or gi.name in params or mismatch:
            args += ["--input-data", "%s=%s" % (gi.name, pb)]
        else:
            runargs += ["--input", "%s=%s" % (gi.name, pb)]
    known = KNOWN_REFUSALS.get(name)
    rc, out, err = run(args)
    if rc == 1 and known and known[1] in err:
        return None
    for why, frag in REFUSAL_PATTERNS:
        if rc == 1 and frag in err:
            return "REFUSED: " + why
    if rc != 0:
        return "compile failed (exit %s): %s" % (rc, err.strip().splitlines()[-1] if err.strip() else "")
    rc, out, err = run(runargs)
    if rc == 1 and known and known[1] in err:
        return None
    for why, frag in REFUSAL_PATTERNS:
        if rc == 1 and frag in err:
            return "REFUSED: " + why
    if rc != 0:
        return "run failed (exit %s): %s" % (rc, err.strip().splitlines()[-1] if err.strip() else "")
    if known:
        return "now runs: take it off KNOWN_REFUSALS (%s)" % known[0]
    for k, go in enumerate(model.graph.output):
        want = to_array(shapes.load_tensor(os.path.join(ds, "output_%d.pb" % k)),
                        go.type.tensor_type.elem_type)
        path = os.path.join(outdir, go.name.replace("/", "_") + ".pb")
        if not os.path.isfile(path):
            return "no output file for '%s'" % go.name
        got = to_array(shapes.load_tensor(path), go.type.tensor_type.elem_type)
        why = compare(got, want)
        if why and name in KNOWN_DIFFERENCES:
            return "DIFFERS: %s (%s)" % (KNOWN_DIFFERENCES[name], why)
        if why:
            return "output '%s': %s" % (go.name, why)
    return None


def reason_of(why):
    """The reason a refusal is counted under in the table."""
    if why.startswith("op ai.onnx.preview.training") or why.startswith("domain ai.onnx.preview.training"):
        return "training op (ai.onnx.preview.training)"
    if why.startswith("op Sequence") or why.startswith("op Optional") or "optional/sequence" in why:
        return "sequence or optional types"
    if why in ("op StringNormalizer",) or "string" in why:
        return "string tensors"
    if why in ("op Bernoulli", "op RandomUniformLike"):
        return "random op (no reproducible result)"
    return why


def write_table(path, presets, res, ruled, family, ncases):
    """The whole suite per op family and preset: passed numerically, refused
    by name (here or by run_node_shapes.py's rules), known differences,
    failures; then the refusals by reason (cases, not case x preset)."""
    fams = collections.OrderedDict((f, collections.Counter()) for f, _ in families.FAMILIES)
    fams["other (refused)"] = collections.Counter()
    reasons = collections.Counter()
    for name, why in ruled.items():
        c = fams.setdefault(family[name], collections.Counter())
        c["cases"] += 1
        c["refused"] += 1
        reasons[reason_of(why)] += 1
    seen = set()
    for (cdir, name, group, p), why in res:
        c = fams.setdefault(family[name], collections.Counter())
        if name not in seen:
            seen.add(name)
            c["cases"] += 1
            if why is None and name in KNOWN_REFUSALS:
                reasons[KNOWN_REFUSALS[name][0]] += 1
            elif why is not None and why.startswith("REFUSED: "):
                reasons[why[len("REFUSED: "):]] += 1
            elif why is not None and why.startswith("DIFFERS: "):
                reasons["known difference: " + KNOWN_DIFFERENCES.get(name, "?")] += 1
        if why is None and name not in KNOWN_REFUSALS:
            c["pass " + p] += 1
        elif (why is None or why.startswith("REFUSED: ")) and p == presets[0]:
            c["refused"] += 1
        elif why is not None and why.startswith("DIFFERS: ") and p == presets[0]:
            c["differs"] += 1
        elif why is not None and not why.startswith(("REFUSED: ", "DIFFERS: ")):
            c["fail " + p] += 1
    head = "| op family | cases | " + " | ".join("pass %s" % p for p in presets) + \
        " | refused by name | known difference | fail |"
    lines = [head, "|---|---:|" + "---:|" * len(presets) + "---:|---:|---:|"]
    tot = collections.Counter()
    for fam, c in fams.items():
        if not c["cases"]:
            continue
        tot.update(c)
        fail = sum(c["fail " + p] for p in presets)
        lines.append("| %s | %d | %s | %d | %d | %d |" % (fam, c["cases"], " | ".join(
            str(c["pass " + p]) for p in presets), c["refused"], c["differs"], fail))
    lines.append("| **all** | %d | %s | %d | %d | %d |" % (tot["cases"], " | ".join(
        "%d (%.1f%%)" % (tot["pass " + p], 100.0 * tot["pass " + p] / ncases) for p in presets),
        tot["refused"], tot["differs"], sum(tot["fail " + p] for p in presets)))
    lines += ["", "| refused because | cases |", "|---|---:|"]
    for r, n in sorted(reasons.items(), key=lambda x: (-x[1], x[0])):
        lines.append("| %s | %d |" % (r, n))
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    cmd = "tests/conformance/run_node_numeric.py NAASC NAASC_RUN WORKDIR SCRATCH --table FILE"
    with open(path, "w") as f:
        f.write("<!-- generated by: %s @ %s on %s, %s -->\n" % (cmd, stamp.commit(), when, stamp.machine()))
        f.write("\n".join(lines) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("naasc")
    ap.add_argument("naasc_run")
    ap.add_argument("workdir")
    ap.add_argument("scratch")
    ap.add_argument("--presets", default="eyeriss,nvdla-256")
    ap.add_argument("-j", type=int, default=2)
    ap.add_argument("-k", default="")
    ap.add_argument("--sample", type=int, default=1, metavar="N",
                    help="every Nth case only, in name order (the sanitizer build's run)")
    ap.add_argument("-v", action="store_true")
    ap.add_argument("--no-jit", action="store_true", help="C reference kernels instead of the JIT")
    ap.add_argument("--table", metavar="FILE",
                    help="write the per-family table of the whole suite (markdown, stamped) here")
    args = ap.parse_args()
    global NO_JIT
    NO_JIT = args.no_jit
    cases = sorted(d for d in glob.glob(os.path.join(args.workdir, "node", "test_*"))
                   if os.path.isfile(os.path.join(d, "model.onnx")) and args.k in d)
    if args.sample < 1:
        ap.error("--sample takes N >= 1")
    partial = bool(args.k) or args.sample > 1  # a subset: no whole-suite checks
    cases = cases[::args.sample]
    if not cases:
        print("SKIP: no cases in %s/node (run gen_node_cases.py first)" % args.workdir)
        return 77
    ops = known_ops(args.naasc)
    todo = []
    ruled = {}  # case -> (family, why run_node_shapes.py's rules refuse it)
    family = {}
    for c in cases:
        name = os.path.basename(c)
        model = onnx.load(os.path.join(c, "model.onnx"), load_external_data=False)
        family[name] = families.FAMILY_OF.get(families.group_of(name, model), "other (refused)")
        why = shapes.unsupported_reason(model, ops) or shapes.EXPECTED_REFUSALS.get(name)
        if why is not None:
            ruled[name] = why
            continue
        group = shapes.group_of(name, model)
        for p in args.presets.split(","):
            todo.append((c, name, group, p))
    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.j)) as pool:
        res = list(pool.map(lambda x: (x, check(args.naasc, args.naasc_run, x[0], x[3], args.scratch)), todo))
    dt = time.monotonic() - t0
    per = collections.OrderedDict()
    for (c, name, group, p), why in res:
        s = per.setdefault((group, p), [0, 0])
        s[1] += 1
        s[0] += why is None
    presets = args.presets.split(",")
    print("per op (passed/total per preset): " + "  ".join(presets))
    for group in sorted({g for g, _ in per}):
        cells = []
        for p in presets:
            s = per.get((group, p), [0, 0])
            cells.append("%3d/%-3d" % (s[0], s[1]))
        fail = any(per.get((group, p), [0, 0])[0] != per.get((group, p), [0, 0])[1] for p in presets)
        print("  %-28s %s%s" % (group, "  ".join(cells), "  FAIL" if fail else ""))
    refusals = [(x, why) for x, why in res if why is not None and why.startswith("REFUSED: ")]
    diffs = [(x, why) for x, why in res if why is not None and why.startswith("DIFFERS: ")]
    fails = [(x, why) for x, why in res if why is not None and not why.startswith(("REFUSED: ", "DIFFERS: "))]
    if args.v:
        for (c, name, group, p), why in res:
            print("%s %s [%s]" % ("PASS" if why is None else "FAIL", name, p))
    if fails:
        print("\nfailures:")
        for (c, name, group, p), why in fails:
            print("FAIL %s [%s, %s]: %s" % (name, group, p, why))
    if refusals:
        print("\nrefused by name (not counted as passed):")
        for (c, name, group, p), why in refusals:
            print("REFUSED %s [%s]: %s" % (name, p, why[len("REFUSED: "):]))
    if diffs:
        print("\nknown differences (not counted as passed):")
        for (c, name, group, p), why in diffs:
            print("DIFFERS %s [%s]: %s" % (name, p, why[len("DIFFERS: "):]))
    refused = sorted({x[1] for x, why in res if why is None and x[1] in KNOWN_REFUSALS})
    if refused:
        print("\nrefused on purpose (counted as passed): " + ", ".join(
            "%s (%s)" % (n, KNOWN_REFUSALS[n][0]) for n in refused))
    for p in presets:
        n = sum(1 for x, _ in res if x[3] == p)
        ok = sum(1 for x, why in res if x[3] == p and why is None)
        print("%s: %d/%d supported cases match ONNX's outputs" % (p, ok, n))
    if not partial:  # the whole suite: what passed of every case, supported or not
        for p in presets:
            ok = sum(1 for x, why in res if x[3] == p and why is None and x[1] not in KNOWN_REFUSALS)
            ref = sum(1 for x, why in res if x[3] == p and (why is None and x[1] in KNOWN_REFUSALS or
                                                            why is not None and why.startswith("REFUSED: ")))
            print("%s: %d/%d of all cases match ONNX numerically (%.1f%%); %d refused by name here, "
                  "%d refused by run_node_shapes.py's rules (%s)" % (
                      p, ok, len(cases), 100.0 * ok / len(cases), ref, len(cases) - len(todo) // len(presets),
                      "unsupported ops, opsets, training ops, string tensors, ..."))
    if args.table and not partial:
        write_table(args.table, presets, res, ruled, family, len(cases))
    print("run time %.1f s" % dt)
    print("%d passed, %d refused by name, %d known differences, %d failed" % (
        len(res) - len(fails) - len(refusals) - len(diffs), len(refusals), len(diffs), len(fails)))
    low = []
    for p in presets if not partial else []:
        ok = sum(1 for x, why in res if x[3] == p and why is None and x[1] not in KNOWN_REFUSALS)
        if ok < MIN_FRACTION * len(cases):
            low.append(p)
            print("FAIL: %s: %d of %d cases match, fewer than %.0f%%" % (p, ok, len(cases), 100 * MIN_FRACTION))
    return 1 if fails or low else 0


if __name__ == "__main__":
    sys.exit(main())
