#!/usr/bin/env python3
"""cosearch.py: the gradient co-search against CMA-ES on NAAS's five scenarios.

  bench/cosearch.py NAASC [--work DIR] [--budgets eyeriss,...] [--networks a,b] [--jobs N]
                    [--only MODE,...]

For every (budget, network) of NAAS's five scenarios (bench/results.py's
SCENARIOS) it runs, in one go and with the same seed:
  fixed     the budget design, mapper budget 20,000 per layer (the baseline);
  cmaes     naasc --search in results.py's --quick mode (8 x 12 candidates,
            mapper budget 500), the whole NAAS space (connectivity too);
  sizing    the same, --sizing-only (the gradient search's design space);
  gradient  --optimizer gradient, its default 30 roundings, mapper budget 500
            for the starting mappings and the final check (as cmaes).
Every search ends with the same exact check (naas_finish: the best design's
layers mapped with 500 and 20,000 evaluations).  It prints a markdown table:
EDP of each over the fixed design's (lower is better), the search's exact
evaluations (cost_eval calls, the final mapping included) and wall time.
--only reruns the given modes (say, gradient after a change to it) and
reads the others from --work; their time is then the search's own
(result.json "seconds"), not the process's wall time.
A benchmark, not a test: figures go to docs/benchmarks.md with the command.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from results import SCENARIOS  # noqa: E402

MODES = ["fixed", "cmaes", "sizing", "gradient"]


def run(naasc, work, budget, net, mode, jobs, only=None):
    out = os.path.join(work, f"{budget}.{net}.{mode}")
    if only and mode not in only:  # an earlier run's result (--only)
        with open(os.path.join(out, "result.json")) as f:
            r = json.load(f)
        r["wall"] = r["seconds"]
        return r
    cmd = [naasc, "--search", net, "--budget", budget, "-o", out, "--no-progress", "-q",
           "--seed", "1", "--jobs", str(jobs)]
    if mode == "fixed":
        cmd += ["--fixed", "--map-budget", "20000"]
    elif mode == "gradient":
        cmd += ["--optimizer", "gradient", "--map-budget", "500"]
    else:
        cmd += ["--iterations", "8", "--popsize", "12", "--map-budget", "500"]
        if mode == "sizing":
            cmd += ["--sizing-only"]
    t0 = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.time() - t0
    if p.returncode != 0:
        print(f"{' '.join(cmd)}: exit {p.returncode}\n{p.stderr}", file=sys.stderr)
        return None
    with open(os.path.join(out, "result.json")) as f:
        r = json.load(f)
    r["wall"] = wall
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("naasc")
    ap.add_argument("--work", default="cosearch-work")
    ap.add_argument("--budgets")
    ap.add_argument("--networks")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--only", help="run only these modes (comma list); read the others' "
                    "result.json from --work (an earlier run with the same settings)")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    budgets = a.budgets.split(",") if a.budgets else None
    nets = a.networks.split(",") if a.networks else None
    print("| budget | network | cmaes / fixed | sizing / fixed | gradient / fixed | gradient / cmaes "
          "| gradient / sizing | exact evals cmaes | sizing | gradient | time cmaes (s) | sizing "
          "| gradient |")
    print("|---|---|" + "---:|" * 11)
    logs = {m: [] for m in MODES}
    for budget, scen_nets in SCENARIOS:
        if budgets and budget not in budgets:
            continue
        for net in scen_nets:
            if nets and net not in nets:
                continue
            only = a.only.split(",") if a.only else None
            r = {m: run(a.naasc, a.work, budget, net, m, a.jobs, only) for m in MODES}
            if any(v is None for v in r.values()):
                print(f"| {budget} | {net} | failed |" + " |" * 10)
                continue
            f = r["fixed"]["edp"]
            for m in MODES:
                logs[m].append(math.log(r[m]["edp"] / f))
            print(f"| {budget} | {net} | {r['cmaes']['edp'] / f:.3f} | {r['sizing']['edp'] / f:.3f} "
                  f"| {r['gradient']['edp'] / f:.3f} | {r['gradient']['edp'] / r['cmaes']['edp']:.3f} "
                  f"| {r['gradient']['edp'] / r['sizing']['edp']:.3f} "
                  f"| {r['cmaes']['evals']:,} | {r['sizing']['evals']:,} | {r['gradient']['evals']:,} "
                  f"| {r['cmaes']['wall']:.1f} | {r['sizing']['wall']:.1f} | {r['gradient']['wall']:.1f} |",
                  flush=True)
    n = len(logs["fixed"])
    if n:
        g = {m: math.exp(sum(v) / n) for m, v in logs.items()}
        print(f"| **geomean** | {n} pairs | {g['cmaes']:.3f} | {g['sizing']:.3f} | {g['gradient']:.3f} "
              f"| {g['gradient'] / g['cmaes']:.3f} | {g['gradient'] / g['sizing']:.3f} | | | | | | |")


if __name__ == "__main__":
    main()
