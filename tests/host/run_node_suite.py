#!/usr/bin/python3
"""run_node_suite.py: ONNX's backend node cases through naasc's frontend and
host/ evaluator (tests/host/eval_case.c), with a table per op family.

Usage: run_node_suite.py EVAL_CASE WORKDIR [-j N] [-v] [-k SUBSTRING] [--table FILE]

For every WORKDIR/node/test_*/ (written by tests/conformance/gen_node_cases.py):
  1. eval_case imports model.onnx with the graph inputs that feed an
     operand naasc needs as a constant (Clip bounds, Resize scales, Pad's
     pads, TopK's k, ...) bound to their test data, feeds the others, runs
     every node through host_eval and compares each output with the
     case's expected output (exact for integers and bool; floats within
     the ONNX backend tests' rtol 1e-3, atol 1e-7; f16 and bf16 looser,
     see eval_case.c);
  2. when the import refuses because an output shape depends on input
     values (NonZero, Unique, NonMaxSuppression, a Loop's trip count, a
     Loop body slicing by the iteration number, ...), the case is imported
     again with every input bound, so the whole graph folds through
     host_eval at import, and compared the same way ("folded").
A case passes when its outputs match.  A case refused by naasc must be
in EXPECTED_REFUSALS with the reason whose pattern its message matches;
anything else (a wrong value, an evaluator error, a crash, a refusal not
listed, a listed case that now passes) fails the run.  The run also fails
if fewer than MIN_FRACTION of all cases pass (the issue's 90%).

With --roundtrip NAASC SCRATCH, each passing case is also written back by
`naasc --emit=onnx` (with the same bindings), checked with onnx.checker
when its opset is one python3-onnx knows, and evaluated again the same way:
the ONNX writer, subgraphs included, must give a model that computes the
same outputs.

Exit codes: 0 all as expected, 1 some failure, 2 bad usage, 77 skip (no cases).
"""

import argparse
import collections
import concurrent.futures
import glob
import os
import re
import subprocess
import sys

import onnx
from onnx import TensorProto

TIMEOUT = 60
MIN_FRACTION = 0.90
ROUNDTRIP = None  # (naasc, scratch dir) with --roundtrip
SCRATCH = "."     # where rewritten test data goes (--scratch)

# Why naasc refuses a case on purpose, and the pattern its message must match.
STRING = "string tensors"
SEQUENCE = "sequence or optional types"
TRAINING_OP = "training op (ai.onnx.preview.training)"
RANDOM = "random op (no reproducible result)"
BN_TRAIN = "BatchNormalization training mode"
DROPOUT_TRAIN = "Dropout training mode"
INDICES = "MaxPool second output Indices"
EMPTY = "empty tensor (a zero dim)"
DYNAMIC = "shape depends on values inside a Loop body"
SCAN8 = "Scan-8 (opset 8, with a batch axis)"
REASONS = {
    STRING: r"string|STRING|to=8",
    SEQUENCE: r"sequence|optional",
    TRAINING_OP: r"training op",
    RANDOM: r"random op",
    BN_TRAIN: r"training_mode",
    DROPOUT_TRAIN: r"Dropout.*training mode",
    INDICES: r"Indices",
    EMPTY: r"zero|empty",
    DYNAMIC: r"must be a constant",
    SCAN8: r"Scan.*opset 8",
}

def _cases(names, reason):
    return {n: reason for n in names.split()}

EXPECTED_REFUSALS = {}
EXPECTED_REFUSALS.update(_cases("""
    test_cast_FLOAT_to_STRING test_cast_STRING_to_FLOAT test_castlike_FLOAT_to_STRING
    test_castlike_FLOAT_to_STRING_expanded test_castlike_STRING_to_FLOAT
    test_castlike_STRING_to_FLOAT_expanded test_strnormalizer_export_monday_casesensintive_lower
    test_strnormalizer_export_monday_casesensintive_nochangecase
    test_strnormalizer_export_monday_casesensintive_upper test_strnormalizer_export_monday_empty_output
    test_strnormalizer_export_monday_insensintive_upper_twodim test_strnormalizer_nostopwords_nochangecase""",
    STRING))

EXPECTED_REFUSALS.update(_cases("""
    test_identity_opt test_identity_sequence test_if_opt test_if_seq test_loop13_seq
    test_loop16_seq_none test_optional_get_element test_optional_get_element_sequence
    test_optional_has_element test_optional_has_element_empty test_sequence_insert_at_back
    test_sequence_insert_at_front test_sequence_map_add_1_sequence_1_tensor
    test_sequence_map_add_1_sequence_1_tensor_expanded test_sequence_map_add_2_sequences
    test_sequence_map_add_2_sequences_expanded test_sequence_map_extract_shapes
    test_sequence_map_extract_shapes_expanded test_sequence_map_identity_1_sequence
    test_sequence_map_identity_1_sequence_1_tensor test_sequence_map_identity_1_sequence_1_tensor_expanded
    test_sequence_map_identity_1_sequence_expanded test_sequence_map_identity_2_sequences
    test_sequence_map_identity_2_sequences_expanded""", SEQUENCE))
EXPECTED_REFUSALS.update(_cases("""
    test_adagrad test_adagrad_multiple test_adam test_adam_multiple test_momentum
    test_momentum_multiple test_nesterov_momentum""", TRAINING_OP))
EXPECTED_REFUSALS.update(_cases("""
    test_bernoulli test_bernoulli_double test_bernoulli_double_expanded test_bernoulli_expanded
    test_bernoulli_seed test_bernoulli_seed_expanded""", RANDOM))
EXPECTED_REFUSALS.update(_cases("""
    test_batchnorm_epsilon_training_mode test_batchnorm_example_training_mode""", BN_TRAIN))
EXPECTED_REFUSALS.update(_cases("""
    test_training_dropout test_training_dropout_default test_training_dropout_default_mask
    test_training_dropout_mask test_training_dropout_zero_ratio test_training_dropout_zero_ratio_mask""",
    DROPOUT_TRAIN))
EXPECTED_REFUSALS.update(_cases("""
    test_maxpool_with_argmax_2d_precomputed_pads test_maxpool_with_argmax_2d_precomputed_strides""", INDICES))
EXPECTED_REFUSALS.update(_cases("""
    test_reshape_allowzero_reordered test_slice_start_out_of_bounds test_split_zero_size_splits
    test_tril_zero test_triu_zero""", EMPTY))
EXPECTED_REFUSALS.update(_cases("test_loop11", DYNAMIC))
EXPECTED_REFUSALS.update(_cases("test_scan_sum", SCAN8))



def load_tensor(path):
    t = TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return t


PARAM_SLOTS = {"Clip": (1, 2), "Resize": (1, 2, 3), "Dropout": (1, 2), "Upsample": (1,),
               "Pad": (1, 2, 3), "Split": (1,), "Expand": (1,), "Tile": (1,), "TopK": (1,),
               "ConstantOfShape": (0,), "Range": (0, 1, 2), "OneHot": (1,), "NonMaxSuppression": (2, 3, 4),
               "MelWeightMatrix": (0, 1, 2, 3, 4), "STFT": (1, 3), "DFT": (1,), "CumSum": (1,),
               "Trilu": (1,), "ReduceSum": (1,), "ReduceMax": (1,), "ReduceMin": (1,), "ReduceMean": (1,),
               "ReduceProd": (1,), "ReduceL1": (1,), "ReduceL2": (1,), "ReduceLogSum": (1,),
               "ReduceLogSumExp": (1,), "ReduceSumSquare": (1,), "Squeeze": (1,), "Unsqueeze": (1,),
               "Reshape": (1,), "Slice": (1, 2, 3, 4), "MaxUnpool": (2,), "HannWindow": (0,),
               "HammingWindow": (0,), "BlackmanWindow": (0,)}

# Op families for the report.
FAMILIES = [
    ("elementwise math", "Abs Neg Exp Log Tanh Erf Sin Cos Tan Asin Acos Atan Sinh Cosh Asinh Acosh Atanh "
     "Floor Ceil Round Sign Reciprocal Sqrt Add Sub Mul Div Pow Max Min Mean Sum Mod BitShift "
     "BitwiseAnd BitwiseOr BitwiseXor BitwiseNot Clip"),
    ("comparison and logic", "Equal Less Greater LessOrEqual GreaterOrEqual Not And Or Xor Where IsNaN IsInf"),
    ("reductions", "ReduceMax ReduceMin ReduceSum ReduceProd ReduceL1 ReduceL2 ReduceLogSum ReduceLogSumExp "
     "ReduceSumSquare ReduceMean ArgMax ArgMin CumSum"),
    ("shape and data movement", "Reshape Flatten Transpose Squeeze Unsqueeze Slice Shape Gather Cast CastLike "
     "Identity Dropout Constant Concat Pad Split Expand Tile ConstantOfShape Range Size NonZero OneHot "
     "DepthToSpace SpaceToDepth GatherElements GatherND ScatterElements Scatter ScatterND Trilu TopK "
     "Upsample Resize Compress Unique EyeLike ReverseSequence"),
    ("normalization", "BatchNormalization LayerNormalization InstanceNormalization GroupNormalization LRN "
     "MeanVarianceNormalization"),
    ("activations", "Relu LeakyRelu Sigmoid HardSigmoid HardSwish PRelu Elu Selu Celu Softplus Softsign Gelu "
     "Mish ThresholdedRelu Shrink Softmax LogSoftmax Hardmax"),
    ("convolution, matmul, pooling", "Conv ConvTranspose Gemm MatMul MaxPool AveragePool GlobalAveragePool "
     "GlobalMaxPool MaxUnpool Einsum Det GridSample RoiAlign"),
    ("recurrent", "LSTM GRU RNN"),
    ("control flow", "If Loop Scan"),
    ("quantization", "QuantizeLinear DequantizeLinear DynamicQuantizeLinear QLinearConv QLinearMatMul "
     "ConvInteger MatMulInteger"),
    ("detection", "NonMaxSuppression"),
    ("signal and text", "DFT STFT HannWindow HammingWindow BlackmanWindow MelWeightMatrix TfIdfVectorizer"),
    ("losses", "NegativeLogLikelihoodLoss SoftmaxCrossEntropyLoss"),
]
FAMILY_OF = {op: fam for fam, ops in FAMILIES for op in ops.split()}


def group_of(name, model):
    """The op a case tests: the op type whose name (lowercase, no '_') is the
    longest prefix of the case name, else the graph's first op."""
    key = name[len("test_"):].replace("_", "").lower()
    types = sorted({n.op_type for n in model.graph.node})
    best = ""
    for t in types:
        if key.startswith(t.lower()) and len(t) > len(best):
            best = t
    aliases = {"sce": "SoftmaxCrossEntropyLoss", "nllloss": "NegativeLogLikelihoodLoss", "mvn": "MeanVarianceNormalization",
               "layernormalization": "LayerNormalization", "instancenorm": "InstanceNormalization",
               "batchnorm": "BatchNormalization", "basicconv": "Conv", "convtranspose": "ConvTranspose",
               "strnorm": "StringNormalizer", "training": "Dropout", "bernoulli": "Bernoulli",
               "gridsample": "GridSample", "averagepool": "AveragePool", "globalaveragepool": "GlobalAveragePool",
               "logsoftmax": "LogSoftmax", "reducelogsumexp": "ReduceLogSumExp", "shrink": "Shrink",
               "simplernn": "RNN", "gru": "GRU", "lstm": "LSTM", "rnn": "RNN", "scan": "Scan", "loop": "Loop",
               "range": "Range", "castlike": "CastLike", "optional": "Optional", "sequence": "SequenceInsert",
               "momentum": "Momentum", "nesterov": "Momentum", "adam": "Adam", "adagrad": "Adagrad",
               "identity": "Identity", "split": "Split", "if": "If", "dynamicquantizelinear": "DynamicQuantizeLinear",
               "quantizelinear": "QuantizeLinear", "dequantizelinear": "DequantizeLinear"}
    for k in sorted(aliases, key=len, reverse=True):
        if key.startswith(k) and (not best or len(k) > len(best)):
            return aliases[k]
    if best:
        return best
    return types[0] if types else "(empty)"


def graph_inputs(model):
    inits = {t.name for t in model.graph.initializer}
    return [i for i in model.graph.input if i.name not in inits]


def run(cmd):
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=TIMEOUT)
        line = (r.stdout.strip().splitlines() or [""])[-1]
        return r.returncode, line, r.stderr
    except subprocess.TimeoutExpired:
        return "timeout", "TIMEOUT after %d s" % TIMEOUT, ""


def check_case(evalc, case_dir):
    """Returns (name, family, op, outcome, detail): outcome is pass, folded,
    refused (expected), or fail."""
    name = os.path.basename(case_dir)
    model_path = os.path.join(case_dir, "model.onnx")
    model = onnx.load(model_path, load_external_data=False)
    op = group_of(name, model)
    fam = FAMILY_OF.get(op, "other (refused)")
    ds = os.path.join(case_dir, "test_data_set_0")
    params = {n.input[i] for n in model.graph.node
              for i in PARAM_SLOTS.get(n.op_type, ()) if i < len(n.input)}
    ins = graph_inputs(model)
    feeds = []
    binds = []
    for k, gi in enumerate(ins):
        pb = os.path.join(ds, "input_%d.pb" % k)
        declared = [d.dim_value if d.HasField("dim_value") else -1 for d in gi.type.tensor_type.shape.dim]
        data = load_tensor(pb) if gi.type.HasField("tensor_type") else None
        mismatch = data is not None and declared and -1 not in declared and list(data.dims) != declared
        if mismatch:
            # the case's data disagrees with the declared shape (CastLike's 'like',
            # which only lends its type): bound at compile time, as the data says
            if gi.type.tensor_type.elem_type == TensorProto.BFLOAT16 and data.data_type == TensorProto.UINT16:
                data.data_type = TensorProto.BFLOAT16  # numpy has no bf16: the data holds its bits as u16
            os.makedirs(os.path.join(SCRATCH, name), exist_ok=True)
            pb = os.path.join(SCRATCH, name, "input_%d.pb" % k)
            with open(pb, "wb") as f:
                f.write(data.SerializeToString())
        arg = "%s=%s" % (gi.name, pb)
        if gi.name in params or mismatch:
            binds += ["--bind", arg]
        else:
            feeds += ["--input", arg]
    expects = []
    for k, go in enumerate(model.graph.output):
        expects += ["--expect", "%s=%s" % (go.name, os.path.join(ds, "output_%d.pb" % k))]
    rc, line, err = run([evalc, model_path] + binds + feeds + expects)
    outcome = "pass"
    every = []
    if line.startswith("REFUSED") and re.search(r"depends on the values|must be a (one-element )?constant|trip count", line):
        for k, gi in enumerate(ins):
            every += ["--bind", "%s=%s" % (gi.name, os.path.join(ds, "input_%d.pb" % k))]
        rc2, line2, err2 = run([evalc, model_path] + every + expects)
        if line2.startswith("PASS"):
            rc, line, err, outcome = rc2, line2, err2, "folded"
        elif not line2.startswith("REFUSED"):
            rc, line, err = rc2, line2, err2
    for mark in ("AddressSanitizer", "runtime error", "LeakSanitizer"):
        if mark in err:
            return name, fam, op, "fail", "CRASH: stderr has %r" % mark
    if rc == "timeout" or (isinstance(rc, int) and rc not in (0, 1)):
        return name, fam, op, "fail", "eval_case exit %s: %s" % (rc, line)
    if line.startswith("PASS") and ROUNDTRIP:
        naasc, scratch = ROUNDTRIP
        out = os.path.join(scratch, name + ".onnx")
        used = binds if outcome == "pass" else every
        rargs = [naasc, model_path, "--no-fold", "--emit=onnx", "-o", out]
        rargs += ["--input-data" if a == "--bind" else a for a in used]
        try:
            r = subprocess.run(rargs, capture_output=True, text=True, errors="replace", timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            return name, fam, op, "fail", "roundtrip: naasc --emit=onnx timed out"
        if r.returncode != 0:
            return name, fam, op, "fail", "roundtrip: naasc --emit=onnx exit %d: %s" % (r.returncode, r.stderr.strip()[:300])
        written = onnx.load(out)
        if written.opset_import[0].version <= onnx.defs.onnx_opset_version():
            try:
                onnx.checker.check_model(written, full_check=True)
            except Exception as ex:  # noqa: BLE001 (the checker raises several kinds)
                return name, fam, op, "fail", "roundtrip: onnx.checker: %s" % str(ex).splitlines()[0]
        feeds2 = [] if outcome != "pass" else feeds
        rc3, line3, err3 = run([evalc, out] + feeds2 + expects)
        if not line3.startswith("PASS"):
            return name, fam, op, "fail", "roundtrip: %s" % line3
    if line.startswith("PASS"):
        if outcome == "pass" and "nodes=0 " in line + " ":
            outcome = "folded"  # every node folded at import (its inputs are parameters)
        if name in EXPECTED_REFUSALS:
            return name, fam, op, "fail", "now passes: take it off EXPECTED_REFUSALS"
        return name, fam, op, outcome, line
    if line.startswith("REFUSED") and name in EXPECTED_REFUSALS:
        reason = EXPECTED_REFUSALS[name]
        if re.search(REASONS[reason], line):
            return name, fam, op, "refused", reason
        return name, fam, op, "fail", "refused, but not for %r: %s" % (reason, line)
    return name, fam, op, "fail", line


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("eval_case")
    ap.add_argument("workdir")
    ap.add_argument("-j", type=int, default=os.cpu_count() or 2)
    ap.add_argument("-v", action="store_true", help="list every case")
    ap.add_argument("-k", default="", help="only cases whose name contains this")
    ap.add_argument("--sample", type=int, default=1, metavar="N",
                    help="every Nth case only, in name order (the sanitizer build's run)")
    ap.add_argument("--table", help="write the per-family table (markdown) here")
    ap.add_argument("--scratch", default=os.path.join(os.getcwd(), "node-suite-scratch"),
                    help="where test data rewritten for naasc goes")
    ap.add_argument("--roundtrip", nargs=2, metavar=("NAASC", "SCRATCH"),
                    help="also write each passing case back with naasc --emit=onnx and evaluate it")
    args = ap.parse_args()
    global ROUNDTRIP, SCRATCH
    SCRATCH = args.scratch
    if args.roundtrip:
        os.makedirs(args.roundtrip[1], exist_ok=True)
        ROUNDTRIP = tuple(args.roundtrip)
    cases = sorted(d for d in glob.glob(os.path.join(args.workdir, "node", "test_*"))
                   if os.path.isfile(os.path.join(d, "model.onnx")) and args.k in d)
    if args.sample < 1:
        ap.error("--sample takes N >= 1")
    partial = bool(args.k) or args.sample > 1  # a subset: no whole-suite checks
    cases = cases[::args.sample]
    if not cases:
        print("SKIP: no cases in %s/node (run gen_node_cases.py first)" % args.workdir)
        return 77
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.j)) as pool:
        results = list(pool.map(lambda c: check_case(args.eval_case, c), cases))

    fams = collections.OrderedDict((f, collections.Counter()) for f, _ in FAMILIES)
    fams["other (refused)"] = collections.Counter()
    reasons = collections.Counter()
    for name, fam, op, outcome, detail in results:
        fams.setdefault(fam, collections.Counter())[outcome] += 1
        if outcome == "refused":
            reasons[detail] += 1
    lines = ["| op family | cases | pass (node by node) | pass (folded at import) | refused by name | fail |",
             "|---|---:|---:|---:|---:|---:|"]
    for fam, c in fams.items():
        tot = sum(c.values())
        if tot:
            lines.append("| %s | %d | %d | %d | %d | %d |" % (fam, tot, c["pass"], c["folded"], c["refused"], c["fail"]))
    tot = collections.Counter()
    for c in fams.values():
        tot.update(c)
    lines.append("| **all** | %d | %d | %d | %d | %d |" % (sum(tot.values()), tot["pass"], tot["folded"], tot["refused"], tot["fail"]))
    lines.append("")
    lines.append("| refused because | cases |")
    lines.append("|---|---:|")
    for r, n in sorted(reasons.items(), key=lambda x: -x[1]):
        lines.append("| %s | %d |" % (r, n))
    print("\n".join(lines))
    if args.table:
        with open(args.table, "w") as f:
            f.write("\n".join(lines) + "\n")
    if args.v:
        for name, fam, op, outcome, detail in results:
            print("%-7s %s [%s]: %s" % (outcome.upper(), name, op, detail))
    failures = [r for r in results if r[3] == "fail"]
    if not partial:
        names = {r[0] for r in results}
        for stale in sorted(set(EXPECTED_REFUSALS) - names):
            failures.append((stale, "", "", "fail", "EXPECTED_REFUSALS names a case that does not exist"))
    if failures:
        print("\nfailures:")
        for name, fam, op, outcome, detail in failures:
            print("FAIL %s [%s]: %s" % (name, op, detail))
    npass = tot["pass"] + tot["folded"]
    ncases = len(results)
    print("\npassed %d of %d cases (%.1f%%: %d node by node, %d folded at import); %d refused by name; %d failed"
          % (npass, ncases, 100.0 * npass / ncases, tot["pass"], tot["folded"], tot["refused"], len(failures)))
    bad = bool(failures)
    if not partial and npass < MIN_FRACTION * ncases:
        print("FAIL: fewer than %.0f%% of the cases pass" % (100 * MIN_FRACTION))
        bad = True
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
