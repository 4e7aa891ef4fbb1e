#!/usr/bin/env python3
"""The searched design against its budget design both ways, side by side:
as built (the chip's own dataflow: the preset's `as_built:` constraints and
must_keep, --fixed=as-built; the kind of baseline NAAS's figures are
against) and best-mapped (the best mapping the budget's connectivity allows,
--fixed=best).  One `naasc --search` run per model gives all three designs
mapped with the same effort (result.json's `baseline` and
`baseline_as_built`); this prints a markdown table of the ratios (baseline
over searched design) with NAAS's reported figures for the budget.

  bench/asbuilt.py NAASC [--budget eyeriss] [--models mobilenetv2,resnet50]
                   [--assume naas|physical] [--quick] [--seeds 1,2,3] [--jobs N] [--work DIR]

--quick: 8 iterations of 12 candidates, mapper budget 500 (bench/results.py's
quick mode); otherwise naasc's defaults (60 x 16, 1000).
--seeds: one search per model and seed (default 1); with more than one, a row
per seed and a geometric-mean row per model, with the seeds' spread (the
largest over the smallest ratio).
"""
import argparse
import json
import math
import os
import subprocess
import sys
import time

# NAAS's reported speedup and energy saving per budget (shared/NAAS.md).
NAAS_REPORTED = {
    "edgetpu": (2.6, 1.1), "nvdla-1024": (2.2, 1.1), "eyeriss": (4.4, 2.1),
    "nvdla-256": (1.7, 1.4), "shidiannao": (4.4, 4.9),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("naasc")
    ap.add_argument("--budget", default="eyeriss")
    ap.add_argument("--models", default="mobilenetv2,resnet50")
    ap.add_argument("--assume", default="naas")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seeds", default="1")
    ap.add_argument("--jobs", type=int, default=0)
    ap.add_argument("--work", default="build/bench-asbuilt")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    try:
        seeds = [int(x) for x in a.seeds.split(",")]
    except ValueError:
        sys.exit(f"--seeds {a.seeds}: give comma-separated integers")
    rows = []
    for m in a.models.split(","):
        for seed in seeds:
            out = os.path.join(a.work, f"{a.budget}-{m}" + (f"-s{seed}" if len(seeds) > 1 else ""))
            cmd = [a.naasc, "--search", m, "--budget", a.budget, "--assume", a.assume,
                   "--seed", str(seed), "--no-progress", "-q", "-o", out]
            if a.quick:
                cmd += ["--iterations", "8", "--popsize", "12", "--map-budget", "500"]
            if a.jobs:
                cmd += ["-j", str(a.jobs)]
            t = time.time()
            p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            if p.returncode != 0:
                sys.exit(f"{' '.join(cmd)} failed:\n{p.stderr}")
            r = json.load(open(os.path.join(out, "result.json")))
            b, ab = r.get("baseline"), r.get("baseline_as_built")
            if not b or not ab:
                sys.exit(f"{out}/result.json lacks a baseline: {p.stderr}")
            for x in (b, ab):  # equal effort, as naas_compare enforces
                if x["effort"] != r["effort"]:
                    sys.exit(f"{m}: a baseline's effort {x['effort']} differs from {r['effort']}")
            rows.append((m, seed, r, b, ab, time.time() - t))
    mode = "quick (8 x 12 candidates, mapper budget 500)" if a.quick else "default (60 x 16, 1000)"
    eff = rows[0][2]["effort"]  # the run's settings, as result.json records them
    mode += f", --mapper-screen {eff.get('mapper_screen', '?')}, --prune {eff.get('prune', '?')}"
    seed_s = f"seed {seeds[0]}" if len(seeds) == 1 else "seeds " + ", ".join(map(str, seeds))
    print(f"Within {a.budget}, --assume {a.assume}, search {mode}, {seed_s}; ratios are baseline / "
          "searched design (higher is better for the design), every design mapped with the same "
          "effort.\n")
    many = len(seeds) > 1
    print(f"| model{' | seed' if many else ''} | vs as built: speedup | energy saving | EDP | "
          "vs best-mapped: speedup | energy saving | EDP | as built / best-mapped cycles | run s |")
    print(f"|---{'|---:' if many else ''}|---:|---:|---:|---:|---:|---:|---:|---:|")
    keys = (("ab", "speedup"), ("ab", "energy_saving"), ("ab", "edp_gain"),
            ("b", "speedup"), ("b", "energy_saving"), ("b", "edp_gain"))

    def vals(b, ab):
        return [(ab if w == "ab" else b)[k] for w, k in keys] + [ab["cycles"] / b["cycles"]]

    for m in a.models.split(","):
        mine = [x for x in rows if x[0] == m]
        for _, seed, r, b, ab, s in mine:
            v = vals(b, ab)
            print(f"| {m}{f' | {seed}' if many else ''} | " +
                  " | ".join(f"{x:.2f}x" for x in v[:6]) + f" | {v[6]:.2f} | {s:.0f} |")
        if many:
            cols = list(zip(*[vals(b, ab) for _, _, _, b, ab, _ in mine]))
            gm = [math.exp(sum(math.log(x) for x in c) / len(c)) for c in cols]
            spread = [max(c) / min(c) for c in cols]
            print(f"| {m} | geomean (spread) | " +
                  " | ".join(f"{g:.2f}x ({sp:.2f})" for g, sp in zip(gm[:6], spread[:6])) +
                  f" | {gm[6]:.2f} | {sum(x[5] for x in mine):.0f} |")
    rep = NAAS_REPORTED.get(a.budget)
    if rep:
        print(f"\nNAAS reports {rep[0]}x speedup and {rep[1]}x energy saving within {a.budget} "
              "(against the chip with its own dataflow, under MAESTRO).")


if __name__ == "__main__":
    main()
