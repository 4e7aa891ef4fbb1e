#!/usr/bin/env python3
"""mapper_sweep.py: the mapper's quality at one budget over stored designs,
networks and seeds, against stored best-known mappings.

    bench/mapper_sweep.py BENCH_MAPPER NAASC [--data DIR] [--budget N]
                          [--seeds 1,2,3,4] [--chains C] [--label L] [--work DIR]

For every design of DIR (each ref-NAME.txt: a preset NAME, or NAME.yaml in
DIR) and every seed it runs `bench_mapper DESIGN mobilenetv2.onnx
resnet50.onnx --ref DIR/ref-NAME.txt --strategy es@N --seed S` (the zoo
networks, built with `NAASC zoo NET --no-weights`) and prints one row: per
design the geomean over seeds of bench_mapper's geomean over layers of EDP
over the best known, the geomean of those over the designs (ALL), and the
mapper's CPU seconds (bench_mapper's own column: its thread's CPU time).
1.000 is the best known; lower is better.  A benchmark, not a test: rows
go to docs/benchmarks.md with the command that made them.  Two mapper
builds are compared by running it once with each BENCH_MAPPER; --chains C
runs the mapper with C independent chains sharing the budget (default:
the mapper's own choice, 2 from 8,000 evaluations).
"""
import argparse
import math
import os
import subprocess
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bench_mapper")
    ap.add_argument("naasc")
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--data", default=os.path.join(here, "data", "mapper-2026-12-07"))
    ap.add_argument("--budget", type=int, default=1000)
    ap.add_argument("--seeds", default="1,2,3,4")
    ap.add_argument("--chains", type=int, default=0)
    ap.add_argument("--label", default="")
    ap.add_argument("--work", default="/tmp/naasc-mapper-sweep")
    a = ap.parse_args()
    seeds = [int(s) for s in a.seeds.split(",") if s]
    os.makedirs(a.work, exist_ok=True)
    nets = []
    for n in ("mobilenetv2", "resnet50"):
        path = os.path.join(a.work, n + ".onnx")
        if not os.path.exists(path):
            subprocess.run([a.naasc, "zoo", n, "--no-weights", "-o", path], check=True)
        nets.append(path)
    designs = sorted(f[4:-4] for f in os.listdir(a.data) if f.startswith("ref-") and f.endswith(".txt"))
    if not designs:
        sys.exit(f"mapper_sweep.py: no ref-NAME.txt in {a.data}")
    per, cpu = {}, 0.0
    for d in designs:
        yaml = os.path.join(a.data, d + ".yaml")
        target = yaml if os.path.exists(yaml) else d
        logs = []
        for s in seeds:
            cmd = [a.bench_mapper, target, *nets, "--ref", os.path.join(a.data, f"ref-{d}.txt"),
                   "--strategy", f"es@{a.budget}" + (f"x{a.chains}" if a.chains else ""),
                   "--seed", str(s)]
            out = subprocess.run(cmd, capture_output=True, text=True)
            row = [l.split() for l in out.stdout.splitlines() if l.startswith("es@")]
            if out.returncode != 0 or not row:
                sys.exit(f"mapper_sweep.py: {' '.join(cmd)} failed:\n{out.stderr}")
            # strategy budget geomean within5 layers exact relaxed cpu
            logs.append(math.log(float(row[-1][2])))
            cpu += float(row[-1][-1])
        per[d] = math.exp(sum(logs) / len(logs))
    allg = math.exp(sum(math.log(v) for v in per.values()) / len(per))
    print("| mapper | budget | " + " | ".join(designs) + " | ALL | CPU s |")
    print("|---|---:|" + "---:|" * len(designs) + "---:|---:|")
    print(f"| {a.label or a.bench_mapper} | {a.budget} | " +
          " | ".join(f"{per[d]:.3f}" for d in designs) + f" | {allg:.3f} | {cpu:.1f} |")


if __name__ == "__main__":
    main()
