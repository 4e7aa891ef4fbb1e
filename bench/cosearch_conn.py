#!/usr/bin/env python3
"""cosearch_conn.py: --optimizer cmaes+gradient (CMA-ES over connectivity
around short gradient searches) against --optimizer gradient (the budget's
connectivity kept) and the CMA-ES search, at a small scale.

  bench/cosearch_conn.py NAASC [--work DIR] [--budget eyeriss] [--network squeezenet]
                         [--map-budget 100] [--final-map-budget 2000]

Runs, with seed 1 and one thread, on one budget and one network:
  fixed           the budget design (--fixed);
  gradient        --optimizer gradient (30 roundings);
  cmaes+gradient  --optimizer cmaes+gradient, 3 generations of 4;
  cmaes           the NAAS search, 4 generations of 8;
every one with the same --map-budget and --final-map-budget, so every
design's final mapping gets the same effort (naas_map_design).  Prints a
markdown table: EDP over fixed's, exact evaluations, the design's array
axes with their parallel dims, and the process's CPU time.  A benchmark,
not a test.
"""
import argparse
import json
import os
import resource
import subprocess
import sys

MODES = [("fixed", ["--fixed"]),
         ("gradient", ["--optimizer", "gradient"]),
         ("cmaes+gradient", ["--optimizer", "cmaes+gradient", "--iterations", "3", "--popsize", "4"]),
         ("cmaes", ["--iterations", "4", "--popsize", "8"])]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("naasc")
    ap.add_argument("--work", default="cosearch-conn-work")
    ap.add_argument("--budget", default="eyeriss")
    ap.add_argument("--network", default="squeezenet")
    ap.add_argument("--map-budget", default="100")
    ap.add_argument("--final-map-budget", default="2000")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    rows = []
    for mode, extra in MODES:
        out = os.path.join(a.work, f"{a.budget}.{a.network}.{mode}")
        cmd = [a.naasc, "--search", a.network, "--budget", a.budget, "-o", out, "--no-progress",
               "--no-baseline", "--seed", "1", "--jobs", "1", "--map-budget", a.map_budget,
               "--final-map-budget", a.final_map_budget] + extra
        c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        p = subprocess.run(cmd, capture_output=True, text=True)
        c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        if p.returncode != 0:
            print(f"{' '.join(cmd)}: exit {p.returncode}\n{p.stderr}", file=sys.stderr)
            return 1
        with open(os.path.join(out, "result.json")) as f:
            r = json.load(f)
        design = next((ln.split(": ", 1)[1] for ln in p.stdout.splitlines()
                       if ln.startswith("design ")), "?")
        arr = ", ".join(part.strip() for part in design.split(",") if "[" in part)
        cpu = (c1.ru_utime + c1.ru_stime) - (c0.ru_utime + c0.ru_stime)
        rows.append((mode, r["edp"], r["evals"], arr, cpu))
    fixed = rows[0][1]
    print(f"| {a.budget}, {a.network} | EDP | EDP / fixed | exact evals | array axes [parallel dims] "
          "| CPU s |")
    print("|---|---:|---:|---:|---|---:|")
    for mode, edp, ev, arr, cpu in rows:
        print(f"| {mode} | {edp:.4g} | {edp / fixed:.3f} | {ev:,} | {arr} | {cpu:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
