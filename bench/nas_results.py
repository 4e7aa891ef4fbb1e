#!/usr/bin/env python3
"""Regenerates the network-search section of docs/results.md (between
<!-- nas:begin --> and <!-- nas:end -->; the rest of the file is left as is).

  bench/nas_results.py [--naasc build/tools/naasc] [--naasc-commit C] [--quick]
                       [--datasets cifar10,...] [--seeds N] [--jobs N] [--cycles N]
                       [--population P] [--sample S] [--map-budget N] [--labels K,...]
                       [--work DIR] [--reuse] [--results docs/results.md] [--dry-run]

Every figure comes from a `naasc --search --nas nasbench201` run made here;
the section records the exact commands, the commit and the date.  Runs, per
dataset (cifar10, cifar100, imagenet16-120: the table has all three
accuracies), on the eyeriss budget:
  A  --min-accuracy = the most accurate cell's accuracy: EDP reduction at
     equal or better accuracy, against that cell on eyeriss with its own
     dataflow (naas_eval_fixed) and against sequential design (that cell,
     then the accelerator search for it);
  B  --max-edp = that baseline's EDP: accuracy gain at equal or better EDP;
  C  --min-accuracy = the best accuracy - 0.5 (what half a point buys);
  E, F  the same against NAS-Bench-201's ResNet cell (--reference 11472):
     accuracy >= ResNet's (EDP reduction), EDP <= ResNet's (accuracy gain);
  D  --min-accuracy 93.0 (CIFAR-10 only), and with --labels K for K in
     --labels (default 50, 100, 500: the predictor): Kendall tau, and the
     searched design against the full-table one of the same seed.
The bounds come from one tiny seed-1 run per dataset.  Every run A to F and
every predictor run is made for seeds 1..--seeds (default 3); the tables
give each figure's median over the seeds and its min to max (ratios over
the seeds whose design met the bound), the predictor table every seed.
--quick: CIFAR-10 only, 60 cycles, predictor runs at K = 50 and 100.
--jobs N: N naasc runs at a time (each single-threaded; the results do not
depend on it, the wall seconds do).  --naasc-commit: the commit the binary
was built at, for the stamp (default this checkout's HEAD, +dirty if the
tree is).  --reuse: a run whose OUT already holds the result.json and
run.json of this very command and binary is read, not made again (to
regenerate the text, or finish an interrupted invocation).  Seeds go
seed-major and the predictor runs last, so an interrupted invocation has
every dataset at its first seeds.

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
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BEGIN, END = "<!-- nas:begin -->", "<!-- nas:end -->"
# NAS-Bench-201's ResNet cell (Dong and Yang 2020, Table 5's "ResNet" row):
# x -> conv 3x3 -> conv 3x3, plus x.  The analogue of NAAS's "Eyeriss running
# ResNet-50".
RESNET = 11472  # |nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|


def launch(naasc, args, out, reuse):
    """Starts one run (or, with reuse, finds it made); finish() waits for it."""
    cmd = [naasc, "--search", "--nas", "nasbench201", "--budget", "eyeriss", "-o", out] + args
    shown = "naasc " + " ".join(shlex.quote(a) for a in cmd[1:]).replace(out, "OUT")
    res, made = os.path.join(out, "result.json"), os.path.join(out, "run.json")
    if reuse and os.path.exists(res) and os.path.exists(made):
        m = json.load(open(made))
        if m["cmd"] == shown and m["naasc"] == os.path.abspath(naasc):
            return (out, shown, None, m, 0.0)
    for f in (res, made):
        if os.path.exists(f):
            os.remove(f)  # never read a previous run's
    os.makedirs(out, exist_ok=True)
    err = open(os.path.join(out, "stderr.txt"), "w+")
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
    return (out, shown, p, err, time.time())


def finish(job, status, ru, naasc):
    """The run's result.json, checked, with its wall and CPU seconds (_wall, _cpu)."""
    out, shown, p, err, t0 = job
    res = os.path.join(out, "result.json")
    if p is None:  # reused: a run.json written below, for this very command
        r = json.load(open(res))
        r["_wall"], r["_cpu"], r["_cmd"], r["_reused"] = err["wall"], err["cpu"], shown, True
        r["_end"] = os.path.getmtime(os.path.join(out, "run.json"))
        return r
    rc = os.waitstatus_to_exitcode(status)
    wall = time.time() - t0
    err.seek(0)
    stderr = err.read()
    err.close()
    # exit 1 only for a bound not met (result.json then holds the closest design)
    if rc != 0 and not (rc == 1 and os.path.exists(res) and "met the bound" in stderr):
        sys.exit("failed (%d): %s\n%s" % (rc, shown, stderr))
    r = json.load(open(res))
    if (rc == 0) != r["bound_met"]:
        sys.exit("exit %d but bound_met %s: %s" % (rc, r["bound_met"], shown))
    check_effort(r, shown)
    cpu = ru.ru_utime + ru.ru_stime
    with open(os.path.join(out, "run.json"), "w") as f:
        json.dump({"cmd": shown, "naasc": os.path.abspath(naasc), "wall": wall, "cpu": cpu}, f)
    r["_wall"], r["_cpu"], r["_cmd"], r["_end"] = wall, cpu, shown, time.time()
    return r


def run_all(naasc, specs, jobs, log, reuse):
    """Runs specs [(key, args, out)], at most jobs at a time; {key: result}.  The
    commands go into log in the order of specs, whatever order they end in."""
    done, running, todo = {}, {}, list(specs)
    while todo or running:
        while todo and len(running) < jobs:
            key, args, out = todo.pop(0)
            job = launch(naasc, args, out, reuse)
            if job[2] is None:
                done[key] = finish(job, None, None, naasc)
            else:
                running[job[2].pid] = (key, job)
        if not running:
            continue
        pid, status, ru = os.wait4(-1, 0)
        if pid not in running:
            continue
        key, job = running.pop(pid)
        job[2].returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        done[key] = finish(job, status, ru, naasc)
        print("  %s: %.0f s wall, %.0f s CPU" % (key, done[key]["_wall"], done[key]["_cpu"]),
              file=sys.stderr, flush=True)
    log.extend(done[key]["_cmd"] for key, _, _ in specs)
    return done


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


def spread(vals, fmt):
    """The median of vals, then (min to max) when they differ; '-' for none."""
    if not vals:
        return "-"
    med = statistics.median_low(vals) if len(vals) % 2 == 0 else statistics.median(vals)
    if min(vals) == max(vals):
        return fmt(med) if len(vals) == 1 else "%s (every seed)" % fmt(med)
    return "%s (%s to %s)" % (fmt(med), fmt(min(vals)), fmt(max(vals)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--naasc", default=os.path.join(ROOT, "build", "tools", "naasc"))
    ap.add_argument("--naasc-commit", default=None,
                    help="the commit the naasc binary was built at (default: this checkout's HEAD)")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--datasets", default=None)
    ap.add_argument("--work", default="/tmp/naasc-nas-results")
    ap.add_argument("--results", default=os.path.join(ROOT, "docs", "results.md"))
    ap.add_argument("--cycles", type=int, default=None)
    ap.add_argument("--map-budget", type=int, default=None)
    ap.add_argument("--population", type=int, default=None, help="aging evolution's (naasc's default 20)")
    ap.add_argument("--sample", type=int, default=None, help="its tournament size (naasc's default 5)")
    ap.add_argument("--labels", default=None,
                    help="K of the predictor runs, comma-separated, '' for none (default 50,100,500; quick 50,100)")
    ap.add_argument("--seeds", type=int, default=3, help="seeds 1..N of every run (default 3)")
    ap.add_argument("--jobs", type=int, default=1, help="naasc runs at a time (each one thread)")
    ap.add_argument("--reuse", action="store_true",
                    help="keep a run of --work made by this very command and binary")
    ap.add_argument("--dry-run", action="store_true", help="print the section, do not write it")
    a = ap.parse_args()
    datasets = (a.datasets or ("cifar10" if a.quick else "cifar10,cifar100,imagenet16-120")).split(",")
    cycles = a.cycles or (60 if a.quick else 200)
    mapb = a.map_budget or 400
    ks = [50, 100] if a.quick else [50, 100, 500]
    if a.labels is not None:
        ks = [int(k) for k in a.labels.split(",") if k]
    seeds = list(range(1, 1 + a.seeds))
    common = ["--cycles", str(cycles), "--map-budget", str(mapb)]
    if a.population:
        common += ["--population", str(a.population)]
    if a.sample:
        common += ["--sample", str(a.sample)]
    # the commit and tree state when the runs start (the stamp's)
    head = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    commit = a.naasc_commit or head
    if a.naasc_commit:
        dirty = ""  # the binary's tree is not this checkout's
    os.makedirs(a.work, exist_ok=True)
    log = []
    # the baseline figures come with every run; the bounds from a tiny one per dataset
    base = run_all(a.naasc, [(ds, ["--dataset", ds, "--cycles", "1", "--population", "1", "--sample", "1",
                                   "--map-budget", str(mapb), "--seed", "1", "--min-accuracy", "0",
                                   "--reference", str(RESNET)], os.path.join(a.work, "%s-base" % ds))
                             for ds in datasets], a.jobs, log, a.reuse)
    specs = []
    for seed in seeds:  # seed-major: a run cut short has every dataset at the first seeds
        for ds in datasets:
            w = lambda tag: os.path.join(a.work, "%s-%s-s%d" % (ds, tag, seed))
            sb = ["--dataset", ds] + common + ["--seed", str(seed)]
            r0 = base[ds]
            res = r0["reference"]
            top = r0["baselines"]["most_accurate"]
            own = r0["baselines"]["own_dataflow"]["edp"]
            specs += [
                ((ds, "E", seed), sb + ["--min-accuracy", "%.4f" % res["accuracy"], "--reference", str(RESNET),
                                        "--no-baselines"], w("E")),
                ((ds, "F", seed), sb + ["--max-edp", repr(res["own_dataflow"]["edp"]), "--reference",
                                        str(RESNET), "--no-baselines"], w("F")),
                ((ds, "A", seed), sb + ["--min-accuracy", "%.4f" % top["accuracy"]], w("A")),
                ((ds, "B", seed), sb + ["--max-edp", repr(own)], w("B")),
                ((ds, "C", seed), sb + ["--min-accuracy", "%.4f" % (top["accuracy"] - 0.5)], w("C"))]
            if ds == "cifar10":
                specs.append(((ds, "D", seed), sb + ["--min-accuracy", "93.0"], w("D")))
    for seed in seeds:  # the predictor runs last
        for ds in [d for d in datasets if d == "cifar10"]:
            sb = ["--dataset", ds] + common + ["--seed", str(seed)]
            for k in ks:
                specs.append(((ds, "K%d" % k, seed), sb + ["--min-accuracy", "93.0", "--labels", str(k),
                                                           "--no-baselines"],
                              os.path.join(a.work, "%s-K%d-s%d" % (ds, k, seed))))
    got = run_all(a.naasc, specs, a.jobs, log, a.reuse)
    # from the first run's start to the last one's end (the runs' own, reused or not)
    wall_all = max(r["_end"] for r in list(base.values()) + list(got.values())) - \
        min(r["_end"] - r["_wall"] for r in list(base.values()) + list(got.values()))
    allr = list(base.values()) + list(got.values())
    cpu_all = sum(r["_cpu"] for r in allr)
    reused = sum(1 for r in allr if r.get("_reused"))
    tags = [t for t in ("A", "B", "C", "D") if any((ds, t, 1) in got for ds in datasets)]
    rows = [(ds, t, [got[(ds, t, s)] for s in seeds], base[ds]) for ds in datasets for t in tags
            if (ds, t, 1) in got]
    res_rows = [(ds, t, [got[(ds, t, s)] for s in seeds], base[ds]["reference"]) for ds in datasets
                for t in ("E", "F")]
    pred_rows = [(k, s, got[("cifar10", "K%d" % k, s)], got[("cifar10", "D", s)]) for k in ks for s in seeds
                 if ("cifar10", "K%d" % k, s) in got]

    when = datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC")
    # --naasc PATH and --naasc-commit C as separate words: drop their values too
    words = sys.argv[1:]
    kept, skip = [], False
    for x in words:
        if skip:
            skip = False
            continue
        if x in ("--naasc", "--naasc-commit"):
            skip = True
            continue
        if x.startswith("--naasc=") or x.startswith("--naasc-commit=") or x in ("--reuse", "--dry-run"):
            continue
        kept.append(x)
    argv = " ".join(shlex.quote(x) for x in kept)
    x2 = lambda v: "%.2fx" % v
    pct = lambda v: "%.2f" % v
    gain = lambda v: "%+.2f" % v
    sec = lambda v: "%.0f" % v
    num = lambda v: "%d" % v
    L = [BEGIN, "## Network, accelerator and mapping co-search (NAS-Bench-201, #8)", ""]
    L.append("<!-- generated by: bench/nas_results.py %s @ %s%s on %s, %s (%d CPUs) -->"
             % (argv, commit, "+dirty" if dirty else "", when, platform.node(), os.cpu_count() or 0))
    L.append("Generated by `bench/nas_results.py %s` on %s with naasc built at commit %s%s%s; budget "
             "eyeriss; every run made for seeds %s (`--seed S %s`; naasc's defaults otherwise: %s"
             "naas iterations 4 x popsize 8), %d naasc runs %s at "
             "a time (each one thread): %.0f s wall, %.0f s CPU in all%s. Every design and every baseline "
             "is mapped with the same effort: a pass of %d and one of 20,000 mapper evaluations per "
             "layer, the better kept (result.json's `effort`, checked equal). How to read it: docs/nas.md."
             % (argv, when, commit, " (uncommitted changes)" if dirty else "",
                "" if commit == head else " (the script at %s)" % head,
                ", ".join(map(str, seeds)), " ".join(common),
                ("" if a.population else "population 20, ") + ("" if a.sample else "sample 5, "), len(log), a.jobs, wall_all, cpu_all,
                (" (%d of the runs made by an earlier invocation of the same commands and binary, kept "
                 "with --reuse; the wall time is from the first run's start to the last one's end)"
                 % reused) if reused else "", mapb))
    full = (cycles == 200 and not a.population and not a.sample and mapb == 400 and ks == [50, 100, 500]
            and datasets == ["cifar10", "cifar100", "imagenet16-120"] and len(seeds) >= 3)
    if not full:
        L.append("")
        L.append("**A reduced run, not the full table.** The full one (`bench/nas_results.py` without "
                 "options: 200 cycles, population 20, sample 5, --map-budget 400, predictor runs at K = 50, "
                 "100 and 500, all three datasets, 3 seeds) was not run here; its figures may differ.")
    L.append("")
    L.append("Each figure: the median over the seeds (of an even count the lower middle one), then "
             "(min to max). Ratios and accuracy gains only over the seeds whose design met the bound (their count after the bound); network: "
             "the design's cell per seed; search s: wall seconds of the search (with other work on the "
             "machine), CPU s: the whole naasc run's, baselines included.")
    L.append("")
    L.append("| dataset | run | bound (seeds met) | network (index) per seed | accuracy % | EDP (pJ x cycles) | "
             "EDP reduction vs own dataflow | vs sequential | accuracy gain | networks scored | search s | CPU s |")
    L.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
    what = {"A": "acc >= best", "B": "EDP <= own dataflow's", "C": "acc >= best - 0.5", "D": "acc >= 93.0"}
    for ds, tag, rs, r0 in rows:
        r = rs[0]
        bound = ("%.2f%%" % r["bound"]) if "accuracy" in r["goal"].split(" s.t. ")[1] else fmt_edp(r["bound"])
        met = [x for x in rs if x["bound_met"]]
        L.append("| %s | %s: %s | %s (%d of %d) | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            ds, tag, what[tag], bound, len(met), len(rs), ", ".join("%d" % x["network"]["index"] for x in rs),
            spread([x["network"]["accuracy"] for x in rs], pct),
            spread([x["accelerator"]["edp"] for x in rs], fmt_edp),
            spread([x["vs_own_dataflow"]["edp_reduction"] for x in met], x2),
            spread([x["vs_sequential"]["edp_reduction"] for x in met], x2),
            spread([x["vs_own_dataflow"]["accuracy_gain"] for x in met], gain),
            spread([x["search"]["networks_evaluated"] for x in rs], num),
            spread([x["search"]["seconds"] for x in rs], sec), spread([x["_cpu"] for x in rs], sec)))
    L.append("")
    L.append("Baselines: the most accurate cell of the table on each dataset on eyeriss with its "
             "own dataflow (naas_eval_fixed: mapped with the design's effort), and sequential "
             "design (that cell first, then naas_search for it, with the run's seed); run B's bound is "
             "the own-dataflow EDP of the seed-1 run that sets the bounds.")
    for ds in datasets:
        rs = next(x[2] for x in rows if x[0] == ds)
        b = rs[0]["baselines"]
        L.append("- %s: cell %d (%.2f%%): own dataflow EDP %s, sequential EDP %s (over the seeds of run %s)." % (
            ds, b["most_accurate"]["index"], b["most_accurate"]["accuracy"],
            spread([x["baselines"]["own_dataflow"]["edp"] for x in rs], fmt_edp),
            spread([x["baselines"]["sequential"]["edp"] for x in rs], fmt_edp), tags[0]))
    if res_rows:
        L.append("")
        L.append("Against NAS-Bench-201's ResNet cell (index %d; x -> conv 3x3 -> conv 3x3, plus x) on "
                 "eyeriss with its own dataflow, the analogue of NAAS's Eyeriss running ResNet-50 "
                 "(runs E: accuracy >= ResNet's, F: EDP <= ResNet's), the same seeds and figures:" % RESNET)
        L.append("")
        L.append("| dataset | run | ResNet: accuracy %, EDP | seeds met | network (index) per seed | "
                 "accuracy % | EDP | EDP reduction vs ResNet | accuracy gain vs ResNet | networks scored | search s | CPU s |")
        L.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for ds, tag, rs, res in res_rows:
            met = [x for x in rs if x["bound_met"]]
            L.append("| %s | %s | %.2f, %s | %d of %d | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                ds, tag, res["accuracy"], fmt_edp(res["own_dataflow"]["edp"]), len(met), len(rs),
                ", ".join("%d" % x["network"]["index"] for x in rs),
                spread([x["network"]["accuracy"] for x in rs], pct),
                spread([x["accelerator"]["edp"] for x in rs], fmt_edp),
                spread([x["vs_reference"]["edp_reduction"] for x in met], x2),
                spread([x["vs_reference"]["accuracy_gain"] for x in met], gain),
                spread([x["search"]["networks_evaluated"] for x in rs], num),
                spread([x["search"]["seconds"] for x in rs], sec), spread([x["_cpu"] for x in rs], sec)))
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
            L.append("- K = %d over %d seeds: tau %s; the design meets the bound in %d of %d runs%s." % (
                k, len(t), spread(t, lambda v: "%.3f" % v), len(g), len(t),
                (", there at %s the full-table design's EDP (same seed)" % spread(g, x2)) if g else ""))
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
