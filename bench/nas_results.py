#!/usr/bin/env python3
"""Regenerates the network-search section of docs/results.md (between
<!-- nas:begin --> and <!-- nas:end -->; the rest of the file is left as is).

  bench/nas_results.py [--naasc build/tools/naasc] [--quick] [--datasets cifar10,...]
                       [--work DIR] [--results docs/results.md] [--dry-run]

Every figure comes from a `naasc --search --nas nasbench201` run made here;
the section records the exact commands, the commit and the date.  Runs, per
dataset, on the eyeriss budget:
  A  --min-accuracy = the most accurate cell's accuracy: EDP reduction at
     equal or better accuracy, against that cell on eyeriss with its own
     dataflow (naas_eval_fixed) and against sequential design (that cell,
     then the accelerator search for it);
  B  --max-edp = that baseline's EDP: accuracy gain at equal or better EDP;
  C  --min-accuracy = the best accuracy - 0.5 (what half a point buys);
  E, F  the same against NAS-Bench-201's ResNet cell (--reference 11472):
     accuracy >= ResNet's (EDP reduction), EDP <= ResNet's (accuracy gain);
  D  --min-accuracy 93.0 (CIFAR-10 only) with the full table, and with
     --labels 50, 100, 500 (the predictor): Kendall tau, and the searched
     design against the full-table one, each for --seeds seeds (3).
--quick: CIFAR-10 only, fewer cycles, no predictor run at K = 500, one seed.

Equal effort: every result.json records the mapper effort of the design and
of each baseline (naas_map_design: a pass at --map-budget, one at 20,000,
the better kept); this script stops if any two differ, so no ratio in the
section compares designs mapped with different effort.
"""
import argparse
import datetime
import json
import os
import platform
import re
import shlex
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BEGIN, END = "<!-- nas:begin -->", "<!-- nas:end -->"
# NAS-Bench-201's ResNet cell (Dong and Yang 2020, Table 5's "ResNet" row):
# x -> conv 3x3 -> conv 3x3, plus x.  The analogue of NAAS's "Eyeriss running
# ResNet-50".
RESNET = 11472  # |nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|


def run(naasc, args, out, log):
    cmd = [naasc, "--search", "--nas", "nasbench201", "--budget", "eyeriss", "-o", out] + args
    res = os.path.join(out, "result.json")
    if os.path.exists(res):
        os.remove(res)  # never read a previous run's
    t0 = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.time() - t0
    shown = "naasc " + " ".join(shlex.quote(a) for a in cmd[1:]).replace(out, "OUT")
    log.append(shown)
    # exit 1 only for a bound not met (result.json then holds the closest design)
    if p.returncode != 0 and not (p.returncode == 1 and os.path.exists(res) and "met the bound" in p.stderr):
        sys.exit("failed (%d): %s\n%s" % (p.returncode, shown, p.stderr))
    r = json.load(open(res))
    if (p.returncode == 0) != r["bound_met"]:
        sys.exit("exit %d but bound_met %s: %s" % (p.returncode, r["bound_met"], shown))
    check_effort(r, shown)
    r["_wall"] = wall
    r["_cmd"] = shown
    return r


def check_effort(r, shown):
    """Every side of a comparison must carry the design's mapper effort."""
    want = r["accelerator"]["effort"]
    sides = [("own dataflow", r.get("baselines", {}).get("own_dataflow")),
             ("sequential", r.get("baselines", {}).get("sequential")),
             ("reference", r.get("reference", {}).get("own_dataflow"))]
    for name, side in sides:
        if side is not None and side.get("effort") != want:
            sys.exit("unequal effort in %s: %s %s against the design's %s" % (shown, name, side.get("effort"), want))


def fmt_edp(x):
    return "%.3e" % x


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--naasc", default=os.path.join(ROOT, "build", "tools", "naasc"))
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--datasets", default=None)
    ap.add_argument("--work", default="/tmp/naasc-nas-results")
    ap.add_argument("--results", default=os.path.join(ROOT, "docs", "results.md"))
    ap.add_argument("--cycles", type=int, default=None)
    ap.add_argument("--map-budget", type=int, default=None)
    ap.add_argument("--seeds", type=int, default=None, help="seeds of the predictor runs (and run D)")
    ap.add_argument("--dry-run", action="store_true", help="print the section, do not write it")
    a = ap.parse_args()
    datasets = (a.datasets or ("cifar10" if a.quick else "cifar10,cifar100,imagenet16-120")).split(",")
    cycles = a.cycles or (60 if a.quick else 200)
    mapb = a.map_budget or 400
    ks = [50, 100] if a.quick else [50, 100, 500]
    seeds = list(range(1, 1 + (a.seeds or (1 if a.quick else 3))))
    common = ["--cycles", str(cycles), "--map-budget", str(mapb), "--seed", "1"]
    # the commit and tree state when the runs start (the stamp's)
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    os.makedirs(a.work, exist_ok=True)
    log = []
    rows, pred_rows, res_rows = [], [], []
    for ds in datasets:
        w = lambda tag: os.path.join(a.work, "%s-%s" % (ds, tag))
        base = ["--dataset", ds] + common
        # the baseline figures come with every run; take them from a tiny one
        r0 = run(a.naasc, base[:2] + ["--cycles", "1", "--population", "1", "--sample", "1",
                                      "--map-budget", str(mapb), "--seed", "1", "--min-accuracy", "0",
                                      "--reference", str(RESNET)],
                 w("base"), log)
        res = r0["reference"]
        re_ = run(a.naasc, base + ["--min-accuracy", "%.4f" % res["accuracy"], "--reference", str(RESNET),
                                   "--no-baselines"], w("E"), log)
        rf = run(a.naasc, base + ["--max-edp", repr(res["own_dataflow"]["edp"]), "--reference",
                                  str(RESNET), "--no-baselines"], w("F"), log)
        res_rows.append((ds, "E", re_, res))
        res_rows.append((ds, "F", rf, res))
        top = r0["baselines"]["most_accurate"]
        own = r0["baselines"]["own_dataflow"]["edp"]
        ra = run(a.naasc, base + ["--min-accuracy", "%.4f" % top["accuracy"]], w("A"), log)
        rb = run(a.naasc, base + ["--max-edp", repr(own)], w("B"), log)
        rc = run(a.naasc, base + ["--min-accuracy", "%.4f" % (top["accuracy"] - 0.5)], w("C"), log)
        for tag, r in (("A", ra), ("B", rb), ("C", rc)):
            rows.append((ds, tag, r, top, own))
        if ds == "cifar10":
            for seed in seeds:
                sb = [x if x != "1" or base[i - 1] != "--seed" else str(seed) for i, x in enumerate(base)]
                rd = run(a.naasc, sb + ["--min-accuracy", "93.0"], w("D-s%d" % seed), log)
                if seed == 1:
                    rows.append((ds, "D", rd, top, own))
                for k in ks:
                    rp = run(a.naasc, sb + ["--min-accuracy", "93.0", "--labels", str(k), "--no-baselines"],
                             w("K%d-s%d" % (k, seed)), log)
                    pred_rows.append((k, seed, rp, rd))

    when = datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC")
    argv = " ".join(shlex.quote(x) for x in sys.argv[1:] if not x.startswith("--naasc"))
    L = [BEGIN, "## Network, accelerator and mapping co-search (NAS-Bench-201, #8)", ""]
    L.append("<!-- generated by: bench/nas_results.py %s @ %s%s on %s, %s (%d CPUs) -->"
             % (argv, commit, "+dirty" if dirty else "", when, platform.node(), os.cpu_count() or 0))
    L.append("Generated by `bench/nas_results.py %s` on %s from commit %s%s; budget eyeriss; "
             "every run `--seed 1 --cycles %d --map-budget %d` (defaults otherwise: population 20, "
             "sample 5, naas iterations 4 x popsize 8). Every design and every baseline is mapped "
             "with the same effort: a pass of %d and one of 20,000 mapper evaluations per layer, "
             "the better kept (result.json's `effort`, checked equal). How to read it: docs/nas.md."
             % (argv, when, commit, " (uncommitted changes)" if dirty else "", cycles, mapb, mapb))
    L.append("")
    L.append("| dataset | run | bound | network (index) | accuracy % | EDP (pJ x cycles) | "
             "EDP reduction vs own dataflow | vs sequential | accuracy gain | networks scored | proposals | search s |")
    L.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
    what = {"A": "acc >= best", "B": "EDP <= own dataflow's", "C": "acc >= best - 0.5", "D": "acc >= 93.0"}
    for ds, tag, r, top, own in rows:
        bound = ("%.2f%%" % r["bound"]) if "accuracy" in r["goal"].split(" s.t. ")[1] else fmt_edp(r["bound"])
        met = r["bound_met"]
        ratio = lambda x: ("%.2fx" % x) if met else "- (bound not met)"
        L.append("| %s | %s: %s | %s%s | %d | %.2f | %s | %s | %s | %s | %d | %d | %.1f |" % (
            ds, tag, what[tag], bound, "" if met else " (not met)", r["network"]["index"],
            r["network"]["accuracy"], fmt_edp(r["accelerator"]["edp"]),
            ratio(r["vs_own_dataflow"]["edp_reduction"]), ratio(r["vs_sequential"]["edp_reduction"]),
            ("%+.2f" % r["vs_own_dataflow"]["accuracy_gain"]) if met else "-",
            r["search"]["networks_evaluated"], r["search"]["proposals"], r["search"]["seconds"]))
    L.append("")
    L.append("Baselines: the most accurate cell of the table on each dataset on eyeriss with its "
             "own dataflow (naas_eval_fixed: mapped with the design's effort), and sequential "
             "design (that cell first, then naas_search for it).")
    for ds in datasets:
        r = next(x for x in rows if x[0] == ds)[2]
        b = r["baselines"]
        L.append("- %s: cell %d (%.2f%%): own dataflow EDP %s, sequential EDP %s." % (
            ds, b["most_accurate"]["index"], b["most_accurate"]["accuracy"],
            fmt_edp(b["own_dataflow"]["edp"]), fmt_edp(b["sequential"]["edp"])))
    if res_rows:
        L.append("")
        L.append("Against NAS-Bench-201's ResNet cell (index %d; x -> conv 3x3 -> conv 3x3, plus x) on "
                 "eyeriss with its own dataflow, the analogue of NAAS's Eyeriss running ResNet-50 "
                 "(runs E: accuracy >= ResNet's, F: EDP <= ResNet's):" % RESNET)
        L.append("")
        L.append("| dataset | run | ResNet: accuracy %, EDP | network (index) | accuracy % | EDP | "
                 "EDP reduction vs ResNet | accuracy gain vs ResNet | networks scored | search s |")
        L.append("|---|---|---|---|---|---|---|---|---|---|")
        for ds, tag, r, res in res_rows:
            met = r["bound_met"]
            L.append("| %s | %s | %.2f, %s | %d | %.2f | %s | %s | %s | %d | %.1f |" % (
                ds, tag, res["accuracy"], fmt_edp(res["own_dataflow"]["edp"]), r["network"]["index"],
                r["network"]["accuracy"], fmt_edp(r["accelerator"]["edp"]),
                ("%.2fx" % r["vs_reference"]["edp_reduction"]) if met else "- (bound not met)",
                ("%+.2f" % r["vs_reference"]["accuracy_gain"]) if met else "-",
                r["search"]["networks_evaluated"], r["search"]["seconds"]))
    if pred_rows:
        L.append("")
        L.append("Predictor mode (CIFAR-10, acc >= 93.0): K accuracies known, an MLP fitted on them "
                 "and self-trained on 1000 pseudo-labelled cells (SemiNAS); Kendall tau on every "
                 "other network of the space. The design's accuracy is the table's.")
        L.append("")
        L.append("| K | seed | tau | tau without pseudo-labels | by prediction alone: network, true acc %, EDP | "
                 "after looking up the 10 best: network | true accuracy % | bound met | EDP | "
                 "EDP / full-table design's | labels used | networks scored | search s |")
        L.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for k, seed, rp, rd in sorted(pred_rows, key=lambda x: (x[0], x[1])):
            p = rp["predictor"]
            a0 = p["by_prediction_alone"]
            L.append("| %d | %d | %.3f | %.3f | %d, %.2f, %s | %d | %.2f | %s | %s | %.2f | %d | %d | %.1f |" % (
                k, seed, p["kendall_tau"], p["kendall_tau_without_pseudo_labels"], a0["index"], a0["accuracy"],
                fmt_edp(a0["edp"]), rp["network"]["index"], rp["network"]["accuracy"],
                "yes" if rp["bound_met"] else "no", fmt_edp(rp["accelerator"]["edp"]),
                rp["accelerator"]["edp"] / rd["accelerator"]["edp"], p["labels_used"],
                rp["search"]["networks_evaluated"], rp["search"]["seconds"] + p["seconds"]))
        L.append("")
        for seed in seeds:
            rd = next(x[3] for x in pred_rows if x[1] == seed)
            L.append("- full-table design, seed %d (the same search on measured accuracies): cell %d, "
                     "%.2f%%, EDP %s." % (seed, rd["network"]["index"], rd["network"]["accuracy"],
                                          fmt_edp(rd["accelerator"]["edp"])))
        for k in ks:
            t = [x[2]["predictor"]["kendall_tau"] for x in pred_rows if x[0] == k]
            g = [x[2]["accelerator"]["edp"] / x[3]["accelerator"]["edp"] for x in pred_rows
                 if x[0] == k and x[2]["bound_met"]]
            L.append("- K = %d over %d seeds: tau %.3f (%.3f to %.3f); the design meets the bound in %d "
                     "of %d runs%s." % (k, len(t), sum(t) / len(t), min(t), max(t), len(g), len(t),
                                        (", there at %.2fx to %.2fx the full-table design's EDP" % (min(g), max(g)))
                                        if g else ""))
    L.append("")
    L.append("Commands run (OUT = a scratch directory per run):")
    L.append("")
    L.append("```")
    L.extend(log)
    L.append("```")
    L.append(END)
    section = "\n".join(L) + "\n"
    if a.dry_run:
        print(section)
        return 0
    text = open(a.results).read() if os.path.exists(a.results) else "# Results\n\n%s\n%s\n" % (BEGIN, END)
    if BEGIN not in text or END not in text:
        text = text.rstrip("\n") + "\n\n" + BEGIN + "\n" + END + "\n"
    pre, rest = text.split(BEGIN, 1)
    post = rest.split(END, 1)[1]
    tmp = a.results + ".tmp"
    with open(tmp, "w") as f:
        f.write(pre + section.rstrip("\n") + post)
    os.replace(tmp, a.results)
    print("wrote %s (%d runs)" % (a.results, len(log)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
