#!/usr/bin/env python3
"""`naasc --search --nas nasbench201` end to end, checked against the table.

  test_nas_cli.py NAASC WORKDIR TABLE.csv

Small runs (15 to 30 cells, inner budgets small) on the eyeriss budget:
  - min-EDP under an accuracy bound: the design is, among the cells it
    scored (history.csv), the cheapest that meets the bound, and its
    accuracy is the table's (read here, not from naasc);
  - every scored cell's accuracy is the table's; the Pareto front in
    result.json is the front of history.csv, recomputed here;
  - the same seed gives the same search, byte for byte (history.csv of two
    runs that differ only in what follows the search);
  - the cost report of network.nir on arch.yaml totals the same EDP;
  - max-accuracy under an EDP bound respects the bound;
  - equal effort: the design, the own-dataflow and sequential baselines and
    the reference network are all mapped with the same mapper effort
    (result.json's "effort": the --map-budget pass, the --final-map-budget pass, seed);
  - --labels K: the predictor's tau is reported, accuracies stay the table's,
    and this seeded run meets its bound (exit 0; exit 1 would mean it did
    not, and then result.json must say so);
  - bad bounds and flags exit 1 and 2.
"""
import csv
import json
import os
import re
import subprocess
import sys

naasc, work, table = sys.argv[1:4]
os.makedirs(work, exist_ok=True)
acc = {int(r["index"]): float(r["cifar10_test_acc"]) for r in csv.DictReader(open(table))}
arch_of = {r["arch"]: int(r["index"]) for r in csv.DictReader(open(table))}
bad = 0


def check(cond, msg):
    global bad
    if not cond:
        bad += 1
        print("FAIL:", msg)


def run(args, out, cycles=30):
    p = subprocess.run([naasc, "--search", "--nas", "nasbench201", "--budget", "eyeriss",
                        "--cycles", str(cycles), "--map-budget", "200", "--naas-iterations", "2",
                        "--naas-popsize", "4", "--final-map-budget", "1000", "-o", out] + args,
                       capture_output=True, text=True)
    return p


def history(out):
    return list(csv.DictReader(open(os.path.join(out, "history.csv"))))


# 1. min EDP, accuracy >= 93
o1 = os.path.join(work, "min")
p = run(["--min-accuracy", "93.0", "--seed", "3"], o1)
check(p.returncode == 0, "min-accuracy run: %d %s" % (p.returncode, p.stderr))
r = json.load(open(os.path.join(o1, "result.json")))
h = history(o1)
net = r["network"]
check(arch_of[net["arch"]] == net["index"], "index %d is not the table's for the arch" % net["index"])
check(abs(net["accuracy"] - acc[net["index"]]) < 1e-3, "accuracy %.4f, table %.4f" % (net["accuracy"], acc[net["index"]]))
check(net["accuracy"] >= 93.0 and r["bound_met"], "bound not met")
for row in h:
    check(abs(float(row["accuracy"]) - acc[int(row["index"])]) < 1e-3, "history accuracy of %s" % row["index"])
feas = [row for row in h if float(row["accuracy"]) >= 93.0]
want = min(feas, key=lambda x: (float(x["edp"]), -float(x["accuracy"])))
check(int(want["index"]) == net["index"], "design %d, the cheapest feasible scored cell is %s" % (net["index"], want["index"]))
row = next(x for x in h if int(x["index"]) == net["index"])
check(abs(float(row["edp"]) / r["accelerator"]["edp"] - 1) < 1e-5,
      "the design's accelerator, searched again, has EDP %g; during the search %s" % (r["accelerator"]["edp"], row["edp"]))
check(r["search"]["networks_evaluated"] == len(h), "networks_evaluated %d vs %d rows" % (r["search"]["networks_evaluated"], len(h)))
check(r["search"]["proposals"] == 30, "proposals")
# the Pareto front, recomputed
pts = sorted(((float(x["edp"]), -float(x["accuracy"]), int(x["code"])) for x in h))
front, best = [], -1.0
for e, na, c in pts:
    if -na > best:
        best = -na
        front.append(c)
check([x["code"] for x in r["pareto"]] == front, "pareto %s vs %s" % ([x["code"] for x in r["pareto"]], front))
# baselines: the most accurate cell of the table
top = max(acc, key=lambda i: acc[i])
check(r["baselines"]["most_accurate"]["index"] == top, "most accurate cell %d vs %d" % (r["baselines"]["most_accurate"]["index"], top))
check(abs(r["vs_own_dataflow"]["edp_reduction"] - r["baselines"]["own_dataflow"]["edp"] / r["accelerator"]["edp"]) < 1e-3 * r["vs_own_dataflow"]["edp_reduction"], "edp_reduction")
# equal effort on every side of a comparison
effort = {"map_budget": 200, "final_map_budget": 1000, "seed": 3, "strategy": "es", "objective": "edp",
          "schedule": "fused", "mapper_screen": "off", "prune": "on"}
check(r["accelerator"]["effort"] == effort, "design effort %s" % r["accelerator"]["effort"])
for side in ("own_dataflow", "sequential"):
    check(r["baselines"][side]["effort"] == effort, "%s effort %s" % (side, r["baselines"][side]["effort"]))
for f in ("arch.yaml", "network.nir", "pareto.svg", "network.report.txt", "network.report.json"):
    check(os.path.getsize(os.path.join(o1, f)) > 0, f)
check(open(os.path.join(o1, "pareto.svg")).read().count("<circle") >= len(h), "pareto.svg points")
# the report of the mapped network totals the design's EDP
txt = open(os.path.join(o1, "network.report.txt")).read()
m = re.search(r"^total\s.*\s(\S+)\s*$", txt, re.M)
check(m and abs(float(m.group(1)) / r["accelerator"]["edp"] - 1) < 1e-4, "report total EDP %s vs %g" % (m and m.group(1), r["accelerator"]["edp"]))
q = subprocess.run([naasc, "--print-arch", os.path.join(o1, "arch.yaml")], capture_output=True, text=True)
check(q.returncode == 0 and q.stdout == open(os.path.join(o1, "arch.yaml")).read(), "arch.yaml round trip")

# 1b. a reference network: NAS-Bench-201's ResNet cell by index
o1b = os.path.join(work, "ref")
p = run(["--min-accuracy", "93.0", "--seed", "3", "--reference", "11472", "--no-baselines"], o1b)
rr = json.load(open(os.path.join(o1b, "result.json")))
check(p.returncode == 0 and rr["reference"]["index"] == 11472 and abs(rr["reference"]["accuracy"] - acc[11472]) < 1e-3,
      "reference: %s" % p.stderr)
check(abs(rr["vs_reference"]["edp_reduction"] * rr["accelerator"]["edp"] / rr["reference"]["own_dataflow"]["edp"] - 1) < 1e-3,
      "vs_reference edp_reduction")
check(rr["reference"]["own_dataflow"]["effort"] == rr["accelerator"]["effort"] == effort,
      "reference effort %s, design %s" % (rr["reference"]["own_dataflow"]["effort"], rr["accelerator"]["effort"]))
check(abs(rr["vs_reference"]["accuracy_gain"] - (rr["network"]["accuracy"] - acc[11472])) < 1e-3, "vs_reference accuracy_gain")
p = run(["--min-accuracy", "93.0", "--reference", "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"], os.path.join(work, "err"))
check(p.returncode == 1 and "no network" in p.stderr, "disconnected reference: %d %s" % (p.returncode, p.stderr))

# 2. the same seed, the same search: run 1b differs from run 1 only in what is
# done after the search (a reference network scored, no baselines), so its
# history is run 1's, row for row (a second full run would cost two minutes)
check(open(os.path.join(o1, "history.csv")).read() == open(os.path.join(o1b, "history.csv")).read(), "not deterministic")

# 3. max accuracy, EDP <= a bound
bound = sorted(float(x["edp"]) for x in h)[len(h) // 2]
o3 = os.path.join(work, "max")
p = run(["--max-edp", repr(bound), "--no-baselines"], o3, cycles=15)
check(p.returncode == 0, "max-edp run: %s" % p.stderr)
r3 = json.load(open(os.path.join(o3, "result.json")))
h3 = history(o3)
check(r3["accelerator"]["edp"] <= bound * (1 + 1e-6), "edp %g > bound %g" % (r3["accelerator"]["edp"], bound))
feas3 = [x for x in h3 if float(x["edp"]) <= bound]
check(r3["network"]["accuracy"] == max(float(x["accuracy"]) for x in feas3), "not the most accurate feasible cell")

# 4. predictor mode
o4 = os.path.join(work, "pred")
p = run(["--min-accuracy", "93.0", "--labels", "100", "--pseudo-pool", "300", "--no-baselines"], o4, cycles=15)
r4 = json.load(open(os.path.join(o4, "result.json")))
check(p.returncode == (0 if r4["bound_met"] else 1), "labels run: exit %d, bound_met %s: %s" % (p.returncode, r4["bound_met"], p.stderr))
check(r4["bound_met"] and p.returncode == 0, "labels run: the design meets the bound: exit %d %s" % (p.returncode, p.stderr))
tau = r4["predictor"]["kendall_tau"]
check(0.3 < tau < 1, "predictor tau %g" % tau)
check(abs(r4["network"]["accuracy"] - acc[r4["network"]["index"]]) < 1e-3, "predictor mode reports the table's accuracy")
for row in history(o4):
    check(abs(float(row["accuracy"]) - acc[int(row["index"])]) < 1e-3, "history accuracy (predictor mode)")

# 5. errors
p = run(["--min-accuracy", "99"], os.path.join(work, "err"))
check(p.returncode == 1 and "no NAS-Bench-201 network reaches it" in p.stderr, "unreachable bound: %d %s" % (p.returncode, p.stderr))
p = run(["--min-accuracy", "93", "--max-edp", "1e15"], os.path.join(work, "err"))
check(p.returncode == 2, "both bounds: %d" % p.returncode)
p = subprocess.run([naasc, "--search", "--nas", "nasbench201", "--min-accuracy", "93"], capture_output=True, text=True)
check(p.returncode == 2 and "--budget" in p.stderr, "no budget: %d" % p.returncode)
p = run(["--min-accuracy", "93", "--nb201-data", os.path.join(work, "missing.csv")], os.path.join(work, "err"))
check(p.returncode == 1 and "missing.csv" in p.stderr, "missing table: %d %s" % (p.returncode, p.stderr))
p = run(["--min-accuracy", "93", "--population", "4", "--sample", "5"], os.path.join(work, "err"))
check(p.returncode == 2, "sample > population: %d" % p.returncode)

print("%d failures" % bad)
sys.exit(1 if bad else 0)
