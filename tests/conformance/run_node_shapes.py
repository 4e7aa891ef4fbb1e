#!/usr/bin/python3
"""run_node_shapes.py: checks naasc's output shapes and dtypes on ONNX's
backend node test cases (written by gen_node_cases.py).

Usage: run_node_shapes.py NAASC WORKDIR [-j N] [-v] [-k SUBSTRING]

For every WORKDIR/node/test_*/ (model.onnx, test_data_set_0/input_K.pb,
output_K.pb) a case is "supported" when its ir_version and default-domain
opset are in naasc's range, it imports no other domain, every node's op_type
is in `naasc --list-ops` (subgraphs included).

Supported case: `naasc model.onnx --emit=graph`, binding every i64/i32 graph
input, and every input feeding an operand naasc needs as a constant (Clip
min/max, Resize roi/scales/sizes, Dropout ratio/training_mode, Pad's pads,
TopK's k, ...), to its input_K.pb with --input-data (so shape tensors fold
and constant operands are constant), must exit 0
and print one `  output %NAME : DTYPE[D0,D1,...]` line per graph output whose
dtype and dims equal output_K.pb's.  A case in EXPECTED_REFUSALS instead must
be refused cleanly for the reason given: exit 1 with `error:` and the reason's
REFUSAL_RE on stderr; it fails if naasc crashes or now accepts it (then take
it off the list).  A case refused because an output shape depends on input
values (NonZero, Unique, Compress, NonMaxSuppression, ...) is run again with
every input bound, so it folds, and checked the same way.

Unsupported case: naasc must refuse it cleanly (exit 1, `error:` on stderr)
and never crash; that is checked too, since a crash is a bug whatever the input.

Exit codes: 0 all pass, 1 some failure, 2 bad usage, 77 skip (no cases).
"""

import argparse
import collections
import concurrent.futures
import glob
import os
import re
import subprocess
import sys
import time

import onnx
from onnx import AttributeProto, TensorProto

IR_MIN, IR_MAX = 3, 10
OPSET_MIN, OPSET_MAX = 1, 21  # below 7 op by op: naasc refuses by name what it does not take
TIMEOUT = 20  # seconds per naasc run

# Supported-op cases that use a feature naasc refuses on purpose: case ->
# reason.  Filled from real runs; keep it minimal: a feature naasc could
# support belongs in a naasc fix, not here.
BN_TRAIN = "BatchNormalization training_mode=1 (running mean/var outputs)"
DROPOUT_TRAIN = "Dropout training_mode bound to true"
STRING = "string tensors"
NOT_TENSOR = "graph input not a tensor (optional/sequence type)"
INDICES = "MaxPool second output Indices"
EMPTY = "empty tensor (a zero dim)"
DYNAMIC = "a Loop body slicing by the iteration number (shape from values)"
SCAN8 = "Scan-8 (opset 8, with a batch axis)"
SEQUENCE = "sequence or optional values in a subgraph"
EXPECTED_REFUSALS = {
    "test_batchnorm_epsilon_training_mode": BN_TRAIN,
    "test_batchnorm_example_training_mode": BN_TRAIN,
    "test_training_dropout": DROPOUT_TRAIN,
    "test_training_dropout_default": DROPOUT_TRAIN,
    "test_training_dropout_default_mask": DROPOUT_TRAIN,
    "test_training_dropout_mask": DROPOUT_TRAIN,
    "test_training_dropout_zero_ratio": DROPOUT_TRAIN,
    "test_training_dropout_zero_ratio_mask": DROPOUT_TRAIN,
    "test_cast_FLOAT_to_STRING": STRING,
    "test_cast_STRING_to_FLOAT": STRING,
    "test_castlike_FLOAT_to_STRING": STRING,
    "test_castlike_FLOAT_to_STRING_expanded": STRING,
    "test_castlike_STRING_to_FLOAT": STRING,
    "test_castlike_STRING_to_FLOAT_expanded": STRING,
    "test_split_zero_size_splits": EMPTY,
    "test_loop11": DYNAMIC,
    "test_scan_sum": SCAN8,
    "test_if_opt": SEQUENCE,
    "test_if_seq": SEQUENCE,
    "test_loop13_seq": SEQUENCE,
    "test_loop16_seq_none": SEQUENCE,
    "test_identity_opt": NOT_TENSOR,
    "test_identity_sequence": NOT_TENSOR,
    "test_maxpool_with_argmax_2d_precomputed_pads": INDICES,
    "test_maxpool_with_argmax_2d_precomputed_strides": INDICES,
    "test_reshape_allowzero_reordered": EMPTY,  # input data is [0,3,4]
    "test_slice_start_out_of_bounds": EMPTY,  # output is [20,0,5]
}
# What naasc's message must say for each reason, so a case refused for some
# other reason (a bug) does not pass as expected.
REFUSAL_RE = {
    BN_TRAIN: r"training_mode",
    DROPOUT_TRAIN: r"Dropout.*training mode",
    STRING: r"STRING|to=8|string",
    DYNAMIC: r"must be a constant",
    SCAN8: r"Scan.*opset 8",
    SEQUENCE: r"sequence|optional",
    NOT_TENSOR: r"only tensor types",
    INDICES: r"MaxPool.*Indices",
    EMPTY: r"zero|empty",
}

DTYPES = {
    TensorProto.FLOAT: "f32", TensorProto.UINT8: "u8", TensorProto.INT8: "i8",
    TensorProto.UINT16: "u16", TensorProto.INT16: "i16", TensorProto.INT32: "i32",
    TensorProto.INT64: "i64", TensorProto.STRING: "string", TensorProto.BOOL: "bool",
    TensorProto.FLOAT16: "f16", TensorProto.DOUBLE: "f64", TensorProto.UINT32: "u32",
    TensorProto.UINT64: "u64", TensorProto.BFLOAT16: "bf16",
}
# Graph inputs bound to their input_K.pb with --input-data: the integer ones
# (shape tensors, indices) and those that feed an operand naasc needs as a
# constant (op type -> input slots): Clip's bounds, Resize's roi/scales/sizes,
# Dropout's ratio and training_mode.  Other inputs stay runtime data.
BOUND_DTYPES = (TensorProto.INT64, TensorProto.INT32)
PARAM_SLOTS = {"Clip": (1, 2), "Resize": (1, 2, 3), "Dropout": (1, 2), "Upsample": (1,),
               "Pad": (1, 2, 3), "NonMaxSuppression": (2, 3, 4), "MelWeightMatrix": (3, 4),
               "OneHot": (1,), "Range": (0, 1, 2)}
OUTPUT_RE = re.compile(r"^  output %(\S+) : (\w+)\[([0-9,]*)\]$")
CRASH_MARKS = ("AddressSanitizer", "runtime error", "Segmentation", "LeakSanitizer")


def list_ops(naasc):
    r = subprocess.run([naasc, "--list-ops"], capture_output=True, text=True, timeout=TIMEOUT)
    if r.returncode != 0:
        sys.exit("run_node_shapes: `%s --list-ops` failed (exit %d): %s"
                 % (naasc, r.returncode, r.stderr.strip()))
    ops = {line.strip() for line in r.stdout.splitlines() if line.strip()}
    if not ops:
        sys.exit("run_node_shapes: `%s --list-ops` printed nothing" % naasc)
    return ops


def unsupported_reason(model, ops):
    """None if the case is supported, else why not."""
    if not IR_MIN <= model.ir_version <= IR_MAX:
        return "ir_version %d" % model.ir_version
    for imp in model.opset_import:
        if imp.domain not in ("", "ai.onnx"):
            return "domain %s" % imp.domain
        if not OPSET_MIN <= imp.version <= OPSET_MAX:
            return "opset %d" % imp.version
    def walk(g):
        for n in g.node:
            if n.domain not in ("", "ai.onnx"):
                return "op %s.%s" % (n.domain, n.op_type)
            if n.op_type not in ops:
                return "op %s" % n.op_type
            for a in n.attribute:
                subs = [a.g] if a.type == AttributeProto.GRAPH else list(a.graphs)
                for sg in subs:
                    why = walk(sg)
                    if why:
                        return why
        return None
    return walk(model.graph)


def group_of(name, model):
    """The op a case tests: the op type whose name (lowercase, no '_') is the
    longest prefix of the case name, else the graph's op types joined."""
    key = name[len("test_"):].replace("_", "").lower()
    types = sorted({n.op_type for n in model.graph.node})
    best = ""
    for t in types:
        if key.startswith(t.lower()) and len(t) > len(best):
            best = t
    if best:
        return best
    return "+".join(types) if types else "(empty)"


def graph_inputs(model):
    inits = {t.name for t in model.graph.initializer}
    return [i for i in model.graph.input if i.name not in inits]


def load_tensor(path):
    t = TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return t


def fmt(typ):
    return "%s[%s]" % (typ[0], ",".join(str(d) for d in typ[1]))


def run_naasc(naasc, args):
    try:
        r = subprocess.run([naasc, *args], capture_output=True, text=True,
                           errors="replace", timeout=TIMEOUT)
        return r.returncode, r.stdout, r.stderr
    except subprocess.TimeoutExpired:
        return "timeout", "", ""


def crashed(rc, err):
    if rc == "timeout":
        return "timed out after %d s" % TIMEOUT
    if rc < 0:
        return "killed by signal %d" % -rc
    if rc >= 3:
        return "exit %d (internal error)" % rc
    for mark in CRASH_MARKS:
        if mark in err:
            return "stderr has %r" % mark
    return None


def clean_refusal(rc, err):
    return rc == 1 and "error:" in err


def check_case(naasc, case_dir, ops):
    """Returns (name, group, supported, ok, detail, stderr)."""
    name = os.path.basename(case_dir)
    model_path = os.path.join(case_dir, "model.onnx")
    model = onnx.load(model_path, load_external_data=False)
    group = group_of(name, model)
    why = unsupported_reason(model, ops)

    if why is not None:
        rc, out, err = run_naasc(naasc, [model_path, "--emit=graph"])
        bad = crashed(rc, err)
        if bad:
            return name, group, False, False, "unsupported (%s): naasc %s" % (why, bad), err
        if not clean_refusal(rc, err):
            return (name, group, False, False,
                    "unsupported (%s): naasc exit %s, expected a clean refusal (exit 1)" % (why, rc),
                    err)
        return name, group, False, True, "unsupported (%s)" % why, err

    ds = os.path.join(case_dir, "test_data_set_0")
    args = [model_path, "--emit=graph"]
    params = {n.input[i] for n in model.graph.node
              for i in PARAM_SLOTS.get(n.op_type, ()) if i < len(n.input)}
    for k, gi in enumerate(graph_inputs(model)):
        if gi.type.tensor_type.elem_type in BOUND_DTYPES or gi.name in params:
            args += ["--input-data", "%s=%s" % (gi.name, os.path.join(ds, "input_%d.pb" % k))]
    rc, out, err = run_naasc(naasc, args)
    if rc == 1 and re.search(r"depends on the values|must be a (one-element )?constant", err) \
            and name not in EXPECTED_REFUSALS:
        args = [model_path, "--emit=graph"]  # fold it: bind every input
        for k, gi in enumerate(graph_inputs(model)):
            args += ["--input-data", "%s=%s" % (gi.name, os.path.join(ds, "input_%d.pb" % k))]
        rc, out, err = run_naasc(naasc, args)
    cmd = "naasc " + " ".join(args)

    bad = crashed(rc, err)
    if bad:
        return name, group, True, False, "CRASH: %s\n    %s" % (bad, cmd), err
    if name in EXPECTED_REFUSALS:
        reason = EXPECTED_REFUSALS[name]
        if clean_refusal(rc, err) and re.search(REFUSAL_RE[reason], err):
            return name, group, True, True, "expected refusal: " + reason, err
        if clean_refusal(rc, err):
            return (name, group, True, False, "refused, but not for %r (no /%s/ on stderr)"
                    % (reason, REFUSAL_RE[reason]), err)
        if rc == 0:
            return (name, group, True, False,
                    "now accepted: take it off EXPECTED_REFUSALS (%s)" % EXPECTED_REFUSALS[name], err)
        return name, group, True, False, "exit %s, expected 1\n    %s" % (rc, cmd), err
    if rc != 0:
        return name, group, True, False, "unexpected refusal (exit %s)\n    %s" % (rc, cmd), err

    got = {}
    for line in out.splitlines():
        m = OUTPUT_RE.match(line)
        if m:
            dims = [int(d) for d in m.group(3).split(",")] if m.group(3) else []
            got[m.group(1)] = (m.group(2), dims)
    problems = []
    for k, go in enumerate(model.graph.output):
        t = load_tensor(os.path.join(ds, "output_%d.pb" % k))
        dtype = t.data_type
        if dtype == TensorProto.UINT16 and \
                go.type.tensor_type.elem_type == TensorProto.BFLOAT16:
            dtype = TensorProto.BFLOAT16  # numpy has no bf16: the .pb holds it as u16
        want = (DTYPES.get(dtype, "dtype%d" % dtype), list(t.dims))
        have = got.get(go.name)
        if have is None:
            problems.append("no output line for %%%s (want %s)" % (go.name, fmt(want)))
        elif have != want:
            problems.append("%%%s: got %s, want %s" % (go.name, fmt(have), fmt(want)))
    extra = set(got) - {go.name for go in model.graph.output}
    if extra:
        problems.append("extra output lines: %s" % ", ".join(sorted(extra)))
    if problems:
        return name, group, True, False, "; ".join(problems) + "\n    " + cmd, err
    return name, group, True, True, "ok", err


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("naasc")
    ap.add_argument("workdir")
    ap.add_argument("-j", type=int, default=os.cpu_count() or 2, help="parallel runs")
    ap.add_argument("-v", action="store_true", help="list every case")
    ap.add_argument("-k", default="", help="only cases whose name contains this")
    ap.add_argument("--sample", type=int, default=1, metavar="N",
                    help="every Nth case only, in name order (the sanitizer build's run)")
    args = ap.parse_args()
    if not os.access(args.naasc, os.X_OK):
        print("run_node_shapes: %s is not an executable" % args.naasc, file=sys.stderr)
        return 2
    cases = sorted(d for d in glob.glob(os.path.join(args.workdir, "node", "test_*"))
                   if os.path.isfile(os.path.join(d, "model.onnx")) and args.k in d)
    if args.sample < 1:
        ap.error("--sample takes N >= 1")
    partial = bool(args.k) or args.sample > 1  # a subset: no whole-suite checks
    cases = cases[::args.sample]
    if not cases:
        print("SKIP: no cases in %s/node (run gen_node_cases.py first)" % args.workdir)
        return 77
    stale = set(EXPECTED_REFUSALS) - {os.path.basename(c) for c in cases}
    t0 = time.monotonic()
    ops = list_ops(args.naasc)
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.j)) as pool:
        results = list(pool.map(lambda c: check_case(args.naasc, c, ops), cases))
    dt = time.monotonic() - t0

    per_op = collections.OrderedDict()
    for name, group, supported, ok, detail, err in results:
        if supported:
            p = per_op.setdefault(group, [0, 0])
            p[1] += 1
            p[0] += ok
    print("per op (supported cases passed/total):")
    for group in sorted(per_op):
        p = per_op[group]
        print("  %-28s %3d/%-3d%s" % (group, p[0], p[1], "" if p[0] == p[1] else "  FAIL"))

    sup = [r for r in results if r[2]]
    unsup = [r for r in results if not r[2]]
    npass = sum(1 for r in sup if r[3])
    nref = sum(1 for r in sup if r[3] and r[0] in EXPECTED_REFUSALS)
    failures = [r for r in results if not r[3]]
    if args.v:
        for name, group, supported, ok, detail, err in results:
            print("%s %s: %s" % ("PASS" if ok else "FAIL", name, detail.split("\n")[0]))
    if failures:
        print("\nfailures:")
        for name, group, supported, ok, detail, err in failures:
            print("FAIL %s [%s]: %s" % (name, group, detail))
            for line in err.strip().splitlines()[:8]:
                print("    | " + line)
    if not partial:
        for name in sorted(stale):
            print("FAIL EXPECTED_REFUSALS names %s, which is not a case" % name)
    nfail = len(failures) + (0 if partial else len(stale))
    print("\nsupported/total: %d/%d cases (%d unsupported, all refused cleanly: %s)"
          % (len(sup), len(results), len(unsup), "yes" if all(r[3] for r in unsup) else "NO"))
    print("supported passed: %d/%d (%d of them expected refusals)" % (npass, len(sup), nref))
    print("run time %.1f s" % dt)
    print("%d passed, %d failed" % (len(results) - len(failures), nfail))
    return 1 if nfail else 0


if __name__ == "__main__":
    sys.exit(main())
