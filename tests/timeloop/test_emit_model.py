#!/usr/bin/python3
"""test_emit_model.py: `naasc MODEL --target T --emit=timeloop -o DIR` end to end.

Usage: test_emit_model.py NAASC SCRATCH_DIR

For ResNet-18 (the zoo's, no weights) on the eyeriss, shidiannao and
nvdla-256 presets: compiles with a small mapper budget, writing the cost
report (JSON, layer by layer: `--schedule=layer`, since Timeloop has no
cross-layer schedule and each layer's files describe it run alone) and the
Timeloop files in one run, then reads every layer back
with `naasc cost --timeloop DIR/ARCH DIR/LAYER.problem.yaml
DIR/LAYER.map.yaml` and asserts, per mapped layer:
  - its files are there (LAYER.arch.yaml where the mapping split a level);
  - the read-back cycles equal the report's;
  - the read-back energy equals the report's to the printed precision
    (fJ per MAC to 0.01).
Exit codes: 0 pass, 1 failure, 2 bad usage.
"""

import json
import os
import re
import subprocess
import sys

PIPELINE = "fold-bn,fuse-act,lower,map{budget=300,seed=1},verify"


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    naasc, scratch = sys.argv[1], sys.argv[2]
    os.makedirs(scratch, exist_ok=True)
    model = os.path.join(scratch, "resnet18.onnx")
    subprocess.run([naasc, "zoo", "resnet18", "--no-weights", "-o", model], check=True)
    failures, layers = 0, 0
    for target in ("eyeriss", "shidiannao", "nvdla-256"):
        out = os.path.join(scratch, "tl-" + target)
        report = os.path.join(scratch, target + ".json")
        p = subprocess.run([naasc, model, "--target", target, "-p", PIPELINE, "--schedule=layer",
                            "--report=" + report,
                            "--emit=timeloop", "-o", out], capture_output=True, text=True)
        if p.returncode != 0:
            print(f"FAIL {target}: naasc exit {p.returncode}\n{p.stderr[-3000:]}")
            failures += 1
            continue
        rows = json.load(open(report))["layers"]
        for row in rows:
            name = re.sub(r"[^A-Za-z0-9._-]", "_", row["name"])
            arch = os.path.join(out, name + ".arch.yaml")
            files = [arch if os.path.exists(arch) else os.path.join(out, "arch.yaml"),
                     os.path.join(out, name + ".problem.yaml"), os.path.join(out, name + ".map.yaml")]
            missing = [f for f in files if not os.path.exists(f)]
            if missing:
                print(f"FAIL {target} {name}: missing {missing}")
                failures += 1
                continue
            q = subprocess.run([naasc, "cost", "--timeloop", *files], capture_output=True, text=True)
            m_cyc = re.search(r"^Cycles: (\d+)$", q.stdout, re.M)
            m_fj = re.search(r"^    Total\s+= ([\d.]+)$", q.stdout, re.M)
            if q.returncode != 0 or not m_cyc or not m_fj:
                print(f"FAIL {target} {name}: read back exit {q.returncode}\n{q.stderr[-2000:]}")
                failures += 1
                continue
            layers += 1
            fj = row["energy_pj"] * 1000 / row["macs"]
            if int(m_cyc.group(1)) != row["cycles"] or abs(float(m_fj.group(1)) - fj) > 0.0051:
                print(f"FAIL {target} {name}: read back {m_cyc.group(1)} cycles, {m_fj.group(1)} fJ/MAC; "
                      f"the report {row['cycles']} cycles, {fj:.4f} fJ/MAC")
                failures += 1
    print(f"{layers} layers written and read back, {failures} failures")
    return 1 if failures or layers < 60 else 0


if __name__ == "__main__":
    sys.exit(main())
