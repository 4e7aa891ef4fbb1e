#!/usr/bin/env python3
"""search_settings.py: a search setting against the default, side by side.

    bench/search_settings.py NAASC [--scenarios NET:BUDGET,...] [--seeds 1,2,3]
                             [--config NAME='ARGS' ...] [--raw FILE]

Runs `naasc --search NET --budget BUDGET --seed S --jobs 1 --no-baseline -q`
for every scenario and seed under each configuration (the first is the
reference, by default the default settings: --config default=''), one run
at a time, the configurations of one (scenario, seed) one after the other
in an order that alternates, so load changes on a shared machine fall on
all alike.  Prints each run's EDP (the final design's, after re-ranking),
its search score and CPU time (user + sys, /usr/bin/time), then per
configuration and scenario the geomean over seeds of EDP / reference EDP
and reference CPU / CPU.  Issue 14 item 8: a cheaper search must keep its
quality; docs/results.md "Search speed" records the runs.
"""
import argparse
import json
import math
import os
import shlex
import subprocess
import sys
import tempfile

DEFAULT_SCENARIOS = "mobilenetv2:eyeriss,squeezenet:nvdla-256,mnasnet:shidiannao"


def run(naasc, net, budget, seed, args, work):
    out = os.path.join(work, "out")
    tfile = os.path.join(work, "time")
    cmd = ["/usr/bin/time", "-f", "%U %S", "-o", tfile, naasc, "--search", net, "--budget", budget,
           "--seed", str(seed), "--jobs", "1", "--no-baseline", "--no-progress", "-q", "-o", out]
    cmd += shlex.split(args)
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.exit(f"search_settings.py: {' '.join(cmd)} failed ({p.returncode}):\n{p.stderr}")
    with open(tfile) as f:
        u, s = f.read().split()[-2:]
    with open(os.path.join(out, "result.json")) as f:
        r = json.load(f)
    return r["edp"], r["search_score"], float(u) + float(s)


def geomean(v):
    return math.exp(sum(math.log(x) for x in v) / len(v))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("naasc")
    ap.add_argument("--scenarios", default=DEFAULT_SCENARIOS)
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--config", action="append", default=[],
                    help="NAME='ARGS' (repeatable; the first is the reference)")
    ap.add_argument("--raw", help="also write every run as JSON lines here")
    a = ap.parse_args()
    naasc = os.path.abspath(a.naasc)
    configs = []
    for c in a.config or ["default="]:
        if "=" not in c:
            sys.exit(f"search_settings.py: --config takes NAME='ARGS', not '{c}'")
        name, args = c.split("=", 1)
        configs.append((name, args))
    if len(configs) == 1 and configs[0][0] != "default":
        configs.insert(0, ("default", ""))
    scen = []
    for s in a.scenarios.split(","):
        if ":" not in s:
            sys.exit(f"search_settings.py: a scenario is NET:BUDGET, not '{s}'")
        scen.append(tuple(s.split(":", 1)))
    seeds = [int(s) for s in a.seeds.split(",")]
    rows = []
    raw = open(a.raw, "w") if a.raw else None
    print("# " + " | ".join(f"{n}: '{g}'" for n, g in configs))
    print(f"{'network':12} {'budget':11} {'seed':>4} {'config':>14} {'edp':>22} {'search_score':>22} {'cpu_s':>8}")
    k = 0
    with tempfile.TemporaryDirectory(prefix="naasc-settings.") as work:
        for net, budget in scen:
            for seed in seeds:
                order = list(range(len(configs)))
                if k % 2:
                    order.reverse()
                k += 1
                for ci in order:
                    name, args = configs[ci]
                    edp, ss, cpu = run(naasc, net, budget, seed, args, work)
                    rows.append((net, budget, seed, name, edp, ss, cpu))
                    print(f"{net:12} {budget:11} {seed:4} {name:>14} {edp:22.0f} {ss:22.0f} {cpu:8.2f}",
                          flush=True)
                    if raw:
                        raw.write(json.dumps({"network": net, "budget": budget, "seed": seed,
                                              "config": name, "args": args, "edp": edp,
                                              "search_score": ss, "cpu_s": cpu}) + "\n")
                        raw.flush()
    ref = configs[0][0]
    print(f"\n# per scenario, geomean over seeds {a.seeds}: EDP / {ref}'s EDP (below 1 is better), "
          f"{ref}'s CPU / CPU")
    print(f"{'config':>14} {'scenario':26} {'edp_ratio':>9} {'speedup':>8}")
    for name, _ in configs[1:]:
        er_all, sp_all = [], []
        for net, budget in scen:
            er, sp = [], []
            for seed in seeds:
                r0 = next(r for r in rows if r[:4] == (net, budget, seed, ref))
                r1 = next(r for r in rows if r[:4] == (net, budget, seed, name))
                er.append(r1[4] / r0[4])
                sp.append(r0[6] / r1[6])
            er_all += er
            sp_all += sp
            print(f"{name:>14} {net + ' within ' + budget:26} {geomean(er):9.3f} {geomean(sp):8.2f}")
        print(f"{name:>14} {'all':26} {geomean(er_all):9.3f} {geomean(sp_all):8.2f}")


if __name__ == "__main__":
    main()
