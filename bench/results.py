#!/usr/bin/env python3
"""Regenerates the search section of docs/results.md (between
<!-- search:begin --> and <!-- search:end -->) by driving `naasc --search`.

NAAS's five scenarios (shared/NAAS.md): VGG-16, ResNet-50 and UNet within the
edgetpu and nvdla-1024 budgets; MobileNetV2, SqueezeNet and MnasNet within
eyeriss, nvdla-256 and shidiannao.  For each network, three runs:

  naas    the co-search (CMA-ES over the template accelerator); its
          result.json also holds the baseline: the budget design itself,
          mapped with the searched design's effort (naas_eval_fixed)
  sizing  --sizing-only: the budget's own connectivity, sizes searched
  random  --optimizer random: as many candidates (and evaluations) as naas

The table's ratios are against `baseline` (the budget design with the best
mapping its connectivity allows); `EDP vs as built` and the comparison with
NAAS's figures also use `baseline_as_built` (the chip's own dataflow, what
NAAS compared with), from the same result.json and at the same effort.

Equal effort: every side's result.json records the mapper effort its
design's final mappings got (a pass at --map-budget and one at 20,000, the
better kept) and the schedule that scored it; the script stops if the
baselines', the sizing-only's or the random search's differs from the
design's, if the design's schedule is not the one --schedule asked for, if a
search ran under another --assume, or if random search scored a different
number of candidates.

and a roofline bound under the cost model: the compulsory DRAM traffic at
the budget's bandwidth and the MACs on all of the budget's PEs, each MAC
with the least on-chip energy its operands need (docs/search.md).

  bench/results.py NAASC [--quick] [--budgets eyeriss,...] [--networks a,b]
                   [--schedule fused|layer] [--transformers] [--assume physical|naas]
                   [--iterations N --popsize N --map-budget N] [--jobs N]
                   [--work DIR] [--doc docs/results.md] [--no-doc]

--schedule: how every design (searched, baseline, sizing-only, random) is
scored: its best whole-network schedule (fused, naasc's default) or every
layer alone.  --assume: the cost model's mode every run uses (naasc --assume;
physical, naasc's default, or naas: the paper's assumptions, docs/search.md).
Each run's CPU time (user + sys of naasc, all threads) is kept in runs.json
beside its wall time.  Budgets run in the order --budgets names them (the
table keeps NAAS's order); the doc is written after each budget, so a run
stopped early leaves whole budgets and names the command for the rest.  --quick: 8 iterations of 12 candidates, mapper budget 500 (the defaults are
naasc's: 60 x 16, 1000).  Every run's command, time and evaluations are kept
in WORK/runs.json and the table says exactly what was run.
"""
import argparse
import json
import math
import os
import platform
import re
import resource
import subprocess
import sys
import time

SCENARIOS = [
    ("edgetpu", ["vgg16", "resnet50", "unet"]),
    ("nvdla-1024", ["vgg16", "resnet50", "unet"]),
    ("eyeriss", ["mobilenetv2", "squeezenet", "mnasnet"]),
    ("nvdla-256", ["mobilenetv2", "squeezenet", "mnasnet"]),
    ("shidiannao", ["mobilenetv2", "squeezenet", "mnasnet"]),
]
# --transformers: the zoo's BERT-base (128 tokens), GPT-2's decode step and
# ViT-B/16 within the two budgets issue #17 asks for (docs/transformers.md),
# in place of NAAS's scenarios (--networks picks some).
TRANSFORMERS = [
    ("eyeriss", ["bert-base", "gpt2-decode", "vit-b16"]),
    ("nvdla-1024", ["bert-base", "gpt2-decode", "vit-b16"]),
]
# NAAS's reported figures (shared/NAAS.md): speedup, energy saving vs the baseline.
NAAS_REPORTED = {
    "edgetpu": (2.6, 1.1), "nvdla-1024": (2.2, 1.1), "eyeriss": (4.4, 2.1),
    "nvdla-256": (1.7, 1.4), "shidiannao": (4.4, 4.9),
}
NAAS_SIZING = "3.52x (VGG-16) and 1.42x (MobileNetV2) within edgetpu; 2.61x and 1.62x within nvdla-1024"


def geomean(xs):
    xs = [x for x in xs if x and x > 0 and math.isfinite(x)]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")


def run(naasc, work, budget, net, mode, a):
    out = os.path.join(work, f"{budget}.{net}.{mode}")
    cmd = [naasc, "--search", net, "--budget", budget, "-o", out, "--no-progress", "-q",
           "--seed", str(a.seed), "--jobs", str(a.jobs), "--schedule", a.schedule, "--assume", a.assume]
    cmd += ["--iterations", str(a.iterations), "--popsize", str(a.popsize), "--map-budget", str(a.map_budget)]
    if mode == "sizing":
        cmd += ["--sizing-only", "--no-baseline"]
    elif mode == "random":
        cmd += ["--optimizer", "random", "--no-baseline"]
    res = os.path.join(out, "result.json")
    if os.path.exists(res):
        os.remove(res)  # never read a previous run's
    t0 = time.time()
    c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.time() - t0
    c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (c1.ru_utime - c0.ru_utime) + (c1.ru_stime - c0.ru_stime)
    if p.returncode != 0:
        print(f"{' '.join(cmd)}: exit {p.returncode}\n{p.stderr}", file=sys.stderr)
        return {"cmd": " ".join(cmd), "rc": p.returncode, "wall": wall, "cpu": cpu}
    with open(os.path.join(out, "result.json")) as f:
        r = json.load(f)
    r["cmd"] = " ".join(cmd[1:]).replace(work + "/", "")
    r["rc"] = 0
    r["wall"] = wall
    r["cpu"] = cpu
    return r


def check_effort(budget, net, rr, a):
    """Every side (the design, both baselines, sizing-only, random) was mapped
    and scheduled with one effort, the one asked for: the same mapper passes,
    seed, strategy and objective, and the schedule --schedule names (so fused
    designs are never compared with layer-by-layer ones); every search ran
    under the same cost model, and random search scored as many candidates."""
    n = rr.get("naas")
    if not n or n.get("rc") != 0:
        return
    want = n["effort"]
    if want.get("schedule") != a.schedule:
        sys.exit(f"{budget} {net}: the design was scored with the {want.get('schedule')} schedule, "
                 f"not --schedule {a.schedule}")
    sides = [(k, n.get(k)) for k in ("baseline", "baseline_as_built")] + [(m, rr.get(m)) for m in ("sizing", "random")]
    for name, side in sides:
        if side is None or (not name.startswith("baseline") and side.get("rc") != 0):
            continue
        if side.get("effort") != want:
            sys.exit(f"{budget} {net}: unequal effort: {name} {side.get('effort')} against the design's {want}")
        if not name.startswith("baseline") and side.get("assume") != n.get("assume"):
            sys.exit(f"{budget} {net}: {name} ran under --assume {side.get('assume')}, the design under {n.get('assume')}")
    r = rr.get("random")
    if r and r.get("rc") == 0 and r.get("candidates") != n.get("candidates"):
        sys.exit(f"{budget} {net}: random search scored {r.get('candidates')} candidates, the co-search {n.get('candidates')}")


def fmt(x, nd=2):
    return "n/a" if x is None or not math.isfinite(x) else f"{x:.{nd}f}x"


def table(results, a, machine, pending=()):
    """The section's text; `pending`: budgets still to run (the doc is written
    after each budget, so a run stopped early leaves whole budgets only)."""
    lines = []
    mode = "--quick" if a.quick else "default"
    when = time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())
    lines.append(f"<!-- generated by: bench/results.py {' '.join(a.argv)} @ {a.commit} on {when}, {machine} -->")
    lines.append(f"Generated by `bench/results.py {' '.join(a.argv)}` (naasc at commit {a.commit}) on {machine}, "
                 f"{when}.")
    lines.append("")
    lines.append(f"Search settings ({mode}): {a.iterations} iterations x {a.popsize} candidates, "
                 f"mapper budget {a.map_budget} per layer and candidate, seed {a.seed}, cost model `--assume {a.assume}`; random search gets "
                 "the same number of candidates. Every design compared, the baseline (the budget design "
                 "itself: its sizes and connectivity, the best mapping they allow, result.json's `baseline`) included, "
                 f"is scored by the same scheduler (`--schedule {a.schedule}`: "
                 + ("its best whole-network fused schedule" if a.schedule == "fused" else "its layers one after another")
                 + ") with the same final mapping effort: a pass of "
                 f"{a.map_budget} and one of 20,000 mapper evaluations per layer, the better kept "
                 "(result.json's `effort`, checked equal). Ratios are baseline / searched (higher is better for the searched design). "
                 "`bound` is the most any design within the budget could gain in EDP under our cost model: "
                 "baseline EDP / (compulsory DRAM traffic at the budget's bandwidth, MACs on all its PEs, each MAC with the least on-chip energy its operands need (docs/search.md); "
                 + ("compulsory: the network's inputs, outputs and weights" if a.schedule == "fused" else "compulsory: every layer's inputs, outputs and weights") + ").")
    if pending:
        argv = list(a.argv)
        if "--budgets" in argv:
            argv[argv.index("--budgets") + 1] = ",".join(pending)
        else:
            argv += ["--budgets", ",".join(pending)]
        lines.append("")
        lines.append(f"Partial: this run had not yet reached {', '.join(pending)} when this was written; "
                     f"those budgets are measured by `bench/results.py {' '.join(argv)}`.")
    lines.append("")
    lines.append("| budget | network | speedup | energy saving | EDP vs baseline | EDP vs sizing-only | "
                 "EDP vs random | bound on EDP gain | EDP vs as built | searched design | time of the 3 searches (s) | their evaluations |")
    lines.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
    summary = []
    skipped = []  # (budget, net, why): an as-built comparison the search could not make
    for budget, nets in results:
        rows = []
        for net, rr in nets:
            n, s, r = rr.get("naas"), rr.get("sizing"), rr.get("random")
            ok = lambda x: x and x.get("rc") == 0
            f = dict(n["baseline"], rc=0, bound=n.get("bound")) if ok(n) and "baseline" in n else None
            sp = f["cycles"] / n["cycles"] if ok(f) and ok(n) else None
            en = f["energy_pj"] / n["energy_pj"] if ok(f) and ok(n) else None
            edp = f["edp"] / n["edp"] if ok(f) and ok(n) else None
            vs_s = s["edp"] / n["edp"] if ok(s) and ok(n) else None
            vs_r = r["edp"] / n["edp"] if ok(r) and ok(n) else None
            b = f.get("bound") if ok(f) else None
            bg = f["edp"] / b["edp"] if b else None
            ab = n.get("baseline_as_built") if ok(n) else None  # NAAS's baseline: the chip's own dataflow
            if ok(n) and not ab and n.get("baseline_as_built_skipped"):
                skipped.append((budget, net, n["baseline_as_built_skipped"]))
            asb = [ab["cycles"] / n["cycles"], ab["energy_pj"] / n["energy_pj"], ab["edp"] / n["edp"]] if ab else [None] * 3
            design = "-"
            if ok(n):
                lv = n["arch"]["levels"]
                axes = [f"{x}[{c}]" for L in lv for x, c in zip(L["fanout"], L["connectivity"]) if x > 1]
                design = f"{n['arch']['pes']} PEs {' x '.join(axes)}, rf {lv[-1]['capacity_words']} w, glb {lv[1]['capacity_words']} w"
            secs = sum(x["seconds"] for x in (n, s, r) if ok(x))
            evals = sum(x["evals"] for x in (n, s, r) if ok(x))
            lines.append(f"| {budget} | {net} | {fmt(sp)} | {fmt(en)} | {fmt(edp)} | {fmt(vs_s)} | {fmt(vs_r)} | "
                         f"{fmt(bg)} | {fmt(asb[2])} | {design} | {secs:.0f} | {evals:,} |")
            rows.append((sp, en, edp, vs_s, vs_r, bg, *asb))
        if rows:
            g = [geomean([r[k] for r in rows if r[k] is not None]) for k in range(9)]
            lines.append(f"| **{budget}** | **geomean** | **{fmt(g[0])}** | **{fmt(g[1])}** | **{fmt(g[2])}** | "
                         f"**{fmt(g[3])}** | **{fmt(g[4])}** | {fmt(g[5])} | **{fmt(g[8])}** | | | |")
            summary.append((budget, g))
    lines.append("")
    for budget, net, why in skipped:  # a figure left out says so, and why
        lines.append(f"EDP vs as built is n/a for {net} within {budget}, and the geomean leaves it out: "
                     f"the chip's own dataflow cannot map the network (`{why.strip()}`).")
        lines.append("")
    lines.append("Against NAAS's reported figures (speedup / energy saving over the baseline; NAAS used MAESTRO "
                 "and compared with each chip's own dataflow, our `as built`; `baseline` is the same chip "
                 "with the best mapping its connectivity allows):")
    lines.append("")
    lines.append("| budget | NAAS reported | ours vs baseline (geomean) | met? | ours vs as built (geomean) | met? | bound on EDP gain |")
    lines.append("|---|---|---|---|---|---|---|")
    for budget, g in summary:
        ns, ne = NAAS_REPORTED[budget]
        met = "yes" if g[0] >= ns and g[1] >= ne else "no"
        meta = "yes" if g[6] >= ns and g[7] >= ne else "no" if math.isfinite(g[6]) else "n/a"
        lines.append(f"| {budget} | {ns}x / {ne}x | {fmt(g[0])} / {fmt(g[1])} | {met} | "
                     f"{fmt(g[6])} / {fmt(g[7])} | {meta} | {fmt(g[5])} |")
    lines.append("")
    lines.append(f"NAAS against sizing-only: {NAAS_SIZING}.")
    return "\n".join(lines)


def splice(doc, body):
    begin, end = "<!-- search:begin -->", "<!-- search:end -->"
    text = open(doc).read() if os.path.exists(doc) else ""
    if begin not in text or end not in text:
        text = ("# Results\n\n## Accelerator search (naasc --search)\n\n" + begin + "\n" + end +
                "\n\n## Network search\n\n<!-- nas:begin -->\n<!-- nas:end -->\n")
    pre, rest = text.split(begin, 1)
    _, post = rest.split(end, 1)
    tmp = doc + ".tmp"
    with open(tmp, "w") as f:
        f.write(pre + begin + "\n" + body + "\n" + end + post)
    os.replace(tmp, doc)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("naasc")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--budgets")
    ap.add_argument("--networks")
    ap.add_argument("--transformers", action="store_true",
                    help="BERT-base, GPT-2 decode and ViT-B/16 within eyeriss and nvdla-1024 instead of NAAS's scenarios")
    ap.add_argument("--iterations", type=int)
    ap.add_argument("--popsize", type=int)
    ap.add_argument("--map-budget", type=int)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--schedule", choices=("fused", "layer"), default="fused")
    ap.add_argument("--assume", choices=("physical", "naas"), default="physical")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--work", default="results-work")
    ap.add_argument("--doc", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs", "results.md"))
    ap.add_argument("--no-doc", action="store_true")
    a = ap.parse_args()
    a.argv = [x for x in sys.argv[2:]]
    a.iterations = a.iterations or (8 if a.quick else 60)
    a.popsize = a.popsize or (12 if a.quick else 16)
    a.map_budget = a.map_budget or (500 if a.quick else 1000)
    budgets = a.budgets.split(",") if a.budgets else None
    networks = a.networks.split(",") if a.networks else None
    os.makedirs(a.work, exist_ok=True)
    a.work = os.path.abspath(a.work)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    git = lambda *x: subprocess.run(["git", "-C", root] + list(x), capture_output=True, text=True).stdout.strip()
    a.commit = git("rev-parse", "--short", "HEAD") + ("+dirty" if git("status", "--porcelain", "--untracked-files=no") else "")
    cpu = "?"
    try:
        cpu = re.search(r"model name\s*:\s*(.*)", open("/proc/cpuinfo").read()).group(1)
    except (OSError, AttributeError):
        pass
    machine = f"{platform.node()} ({os.cpu_count()} CPUs, {cpu}; shared with other jobs, times are noisy)"
    scen = TRANSFORMERS if a.transformers else SCENARIOS
    order = [b for b, _ in scen]
    todo = [(b, n) for b, n in scen if not budgets or b in budgets]
    if budgets:  # run in the order --budgets gives (the table keeps NAAS's)
        todo.sort(key=lambda x: budgets.index(x[0]))
    results, log = [], []
    for bi, (budget, nets) in enumerate(todo):
        done = []
        for net in nets:
            if networks and net not in networks:
                continue
            rr = {}
            for mode in ("naas", "sizing", "random"):
                rr[mode] = run(a.naasc, a.work, budget, net, mode, a)
                log.append({"budget": budget, "network": net, "mode": mode, **{k: rr[mode].get(k) for k in
                            ("cmd", "rc", "wall", "cpu", "seconds", "evals", "candidates", "edp", "energy_pj", "cycles")}})
                print(f"{budget} {net} {mode}: EDP {rr[mode].get('edp')} in {rr[mode]['wall']:.1f} s "
                      f"({rr[mode]['cpu']:.1f} CPU s)", flush=True)
                with open(os.path.join(a.work, "runs.json"), "w") as f:
                    json.dump(log, f, indent=1)
            check_effort(budget, net, rr, a)
            done.append((net, rr))
        results.append((budget, done))
        results.sort(key=lambda x: order.index(x[0]))
        pending = [b for b, _ in todo[bi + 1:]]
        if pending and not a.no_doc:  # a run stopped early leaves its whole budgets in the doc
            splice(os.path.abspath(a.doc), table(results, a, machine, pending))
    body = table(results, a, machine)
    print(body)
    if not a.no_doc:
        splice(os.path.abspath(a.doc), body)
    return 0 if all(x["rc"] == 0 for x in log) else 1


if __name__ == "__main__":
    sys.exit(main())
