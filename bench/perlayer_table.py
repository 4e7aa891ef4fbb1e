#!/usr/bin/env python3
"""perlayer_table.py: one table from bench_mapper --strategy runs.

  bench/perlayer_table.py PRESET:LOG [PRESET:LOG ...]

Each LOG is the output of `bench_mapper PRESET MODEL.onnx --strategy ...`
(one line per unique layer: the EDP of each strategy over the best any of
them found, or over the --ref file's; then a summary with each strategy's
exact and relaxed evaluations and CPU seconds).  Runs of one preset (one
per network, say, run side by side) are merged: per preset and strategy
the geomean of the per-layer ratios over all the preset's layers and per
network, the layers within 5% of the best, and the exact evaluations,
relaxed evaluations and CPU seconds summed over the runs.  Runs of a
preset may list different strategies (a slow one left out of a run): a
strategy's figures are then over the layers it ran on, and a network it did
not run on shows "-".  Prints a markdown table; a strategy that failed on a
layer (ratio inf) is counted in "failed".
"""
import math
import sys


def parse(path):
    strats, rows, summary = None, [], {}
    with open(path) as f:
        lines = f.read().splitlines()
    in_summary = False
    for ln in lines:
        w = ln.split()
        if not w:
            continue
        if w[0] == "model" and w[1] == "layer":
            strats = w[2:]
        elif w[0] == "strategy" and w[1] == "budget":
            in_summary = True
        elif in_summary and len(w) == 8:
            summary[w[0]] = {"evals": int(w[5]), "relaxed": int(w[6]), "cpu": float(w[7])}
        elif strats and len(w) == 2 + len(strats) and not in_summary:
            rows.append((w[0], w[1], dict(zip(strats, (float(x) for x in w[2:])))))
    if strats is None:
        sys.exit(f"{path}: no 'model layer ...' header (not a bench_mapper --strategy output)")
    return strats, rows, summary


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    presets = {}
    for arg in sys.argv[1:]:
        preset, _, path = arg.partition(":")
        strats, rows, summary = parse(path)
        p = presets.setdefault(preset, {"strats": [], "rows": [], "sum": {}, "complete": True})
        p["strats"] += [s for s in strats if s not in p["strats"]]
        p["rows"] += rows
        p["complete"] &= bool(summary)
        for s, v in summary.items():
            acc = p["sum"].setdefault(s, {"evals": 0, "relaxed": 0, "cpu": 0.0})
            for k in acc:
                acc[k] += v[k]
    for preset, p in presets.items():
        nets = []
        for m, _, _ in p["rows"]:
            if m not in nets:
                nets.append(m)
        print(f"{preset}: {len(p['rows'])} layers ("
              + ", ".join(f"{m} {sum(1 for r in p['rows'] if r[0] == m)}" for m in nets)
              + ("" if p["complete"] else "; a run did not finish: no evaluation counts or CPU")
              + ")\n")
        print("| strategy | layers | EDP / best, geomean | " + " | ".join(nets)
              + " | within 5% | failed | exact evals | relaxed evals | CPU s |")
        print("|---|---:|---:|" + "---:|" * len(nets) + "---:|---:|---:|---:|---:|")
        for s in p["strats"]:
            def gm(rows):
                v = [r[2][s] for r in rows if s in r[2] and math.isfinite(r[2][s])]
                if not v:
                    return "-"
                return f"{math.exp(sum(math.log(x) for x in v) / len(v)):.3f}"
            ran = [r for r in p["rows"] if s in r[2]]
            ok = [r for r in ran if math.isfinite(r[2][s])]
            within = sum(1 for r in ok if r[2][s] <= 1.05)
            sm = p["sum"].get(s) if p["complete"] else None  # sums of a partial set mislead
            tail = (f"{sm['evals']:,} | {sm['relaxed']:,} | {sm['cpu']:.1f}" if sm else " | | ")
            print(f"| {s} | {len(ran)} | {gm(p['rows'])} | "
                  + " | ".join(gm([r for r in p['rows'] if r[0] == m]) for m in nets)
                  + f" | {within} | {len(ran) - len(ok)} | {tail} |")
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
