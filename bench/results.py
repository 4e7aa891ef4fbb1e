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
                   [--iterations N --popsize N --map-budget N] [--seeds 1,2,3]
                   [--jobs N] [--parallel N] [--work DIR] [--doc docs/results.md] [--no-doc] [--reuse]

--seeds: every search (naas, sizing-only, random) runs once per seed (each
seed's baselines are the naas run's of that seed); each ratio is the median
over the seeds with their range (min-max) beside it, the geomean row is the
geomean of the medians with the range of the per-seed geomeans, and the
design shown is the seed's whose EDP against the baseline is the median
(the lower middle one for an even count).  --seed N is --seeds N.
--parallel N: up to N naasc processes at once (each with --jobs threads),
each run's CPU time still its own (os.wait4); on two cores `--parallel 2
--jobs 1` keeps both busy through the serial parts of a search that one
process with two threads leaves idle.  The section written is the mode's:
between <!-- search:begin --> and <!-- search:end --> for --assume physical,
<!-- search-naas:begin --> and <!-- search-naas:end --> for --assume naas
(added after the first when missing).
--reuse: each run writes run.json beside its result.json (its command, the
sha256 of the naasc binary, the commit, its wall and CPU time); with --reuse
a run whose run.json has the same command and the same binary is taken as
it is, times included, so a regeneration stopped part way (or over several
sessions) goes on where it stopped; the section says how many runs were
reused and from which commit.

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
import concurrent.futures
import hashlib
import json
import math
import os
import platform
import re
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


def run(naasc, work, budget, net, mode, a, seed):
    out = os.path.join(work, f"{budget}.{net}.{mode}" + (f".s{seed}" if len(a.seeds) > 1 else ""))
    cmd = [naasc, "--search", net, "--budget", budget, "-o", out, "--no-progress", "-q",
           "--seed", str(seed), "--jobs", str(a.jobs), "--schedule", a.schedule, "--assume", a.assume]
    cmd += ["--iterations", str(a.iterations), "--popsize", str(a.popsize), "--map-budget", str(a.map_budget)]
    if mode == "sizing":
        cmd += ["--sizing-only", "--no-baseline"]
    elif mode == "random":
        cmd += ["--optimizer", "random", "--no-baseline"]
    res = os.path.join(out, "result.json")
    side = os.path.join(out, "run.json")  # what made result.json: command, binary, times
    rel = " ".join(cmd[1:]).replace(work + "/", "")
    if a.reuse and os.path.exists(res) and os.path.exists(side):
        with open(side) as f:
            made = json.load(f)
        if made.get("cmd") == rel and made.get("binary_sha256") == a.binary_sha256:
            with open(res) as f:
                r = json.load(f)
            r.update(cmd=rel, rc=0, wall=made["wall"], cpu=made["cpu"], seed=seed,
                     reused=made.get("commit", "?"))
            return r
    for f in (res, side):
        if os.path.exists(f):
            os.remove(f)  # never read a previous run's
    t0 = time.time()
    # This child's own CPU time (user + sys, all its threads), also when
    # other runs go on beside it (--parallel): os.wait4 on its pid.
    with open(os.path.join(work, os.path.basename(out) + ".err"), "w+") as err:
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        stderr = err.read()
    wall = time.time() - t0
    cpu = ru.ru_utime + ru.ru_stime
    if p.returncode != 0:
        print(f"{' '.join(cmd)}: exit {p.returncode}\n{stderr}", file=sys.stderr)
        return {"cmd": " ".join(cmd), "rc": p.returncode, "wall": wall, "cpu": cpu, "seed": seed}
    with open(os.path.join(out, "result.json")) as f:
        r = json.load(f)
    r["cmd"] = rel
    r["rc"] = 0
    r["wall"] = wall
    r["cpu"] = cpu
    r["seed"] = seed
    tmp = side + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"cmd": rel, "binary_sha256": a.binary_sha256, "commit": a.commit,
                   "wall": wall, "cpu": cpu}, f, indent=1)
    os.replace(tmp, side)
    return r


def check_effort(budget, net, rr, a):
    """rr: mode -> one result per seed; each seed's sides are checked together."""
    for si in range(len(a.seeds)):
        check_effort_seed(budget, net, {m: rr[m][si] for m in rr}, a)


def check_effort_seed(budget, net, rr, a):
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


def median(xs):
    xs = sorted(x for x in xs if x is not None and math.isfinite(x))
    if not xs:
        return None
    k = len(xs) // 2
    return xs[k] if len(xs) % 2 else (xs[k - 1] + xs[k]) / 2


def spread(xs):
    xs = [x for x in xs if x is not None and math.isfinite(x)]
    return f" ({min(xs):.2f}-{max(xs):.2f})" if len(xs) > 1 else ""


def cell(xs):
    """One seed: its ratio; several: the median and the range."""
    return fmt(median(xs)) + (spread(xs) if len(xs) > 1 else "")


def table(results, a, machine, pending=()):
    """The section's text; `pending`: budgets still to run (the doc is written
    after each budget, so a run stopped early leaves whole budgets only)."""
    lines = []
    mode = ("--quick" if a.quick else "default") if (a.iterations, a.popsize, a.map_budget) in ((8, 12, 500), (60, 16, 1000)) else "custom"
    when = time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())
    lines.append(f"<!-- generated by: bench/results.py {' '.join(a.argv)} @ {a.commit} on {when}, {machine} -->")
    lines.append(f"Generated by `bench/results.py {' '.join(a.argv)}` (naasc at commit {a.commit}) on {machine}, "
                 f"{when}.")
    reused = sorted({x["reused"] for x in a.log if x.get("reused")})
    if reused:
        n = sum(1 for x in a.log if x.get("reused"))
        lines.append(f"{n} of the {len(a.log)} runs were taken from an earlier invocation (`--reuse`: the same "
                     f"command and the same naasc binary, by sha256), made at commit {', '.join(reused)}; "
                     "their times are that invocation's.")
    lines.append("")
    lines.append(f"Search settings ({mode}): {a.iterations} iterations x {a.popsize} candidates, "
                 f"mapper budget {a.map_budget} per layer and candidate, " + (f"seed {a.seeds[0]}" if len(a.seeds) == 1 else f"seeds {', '.join(map(str, a.seeds))} (each cell: the median over the seeds and their range)") + f", cost model `--assume {a.assume}`; random search gets "
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
    cpu = sum(x.get("cpu") or 0 for x in a.log)
    lines.append("")
    if any(x.get("reused") for x in a.log):  # the wall time is this invocation's only
        lines.append(f"This run: {len(a.log)} searches, {cpu:.0f} CPU s (user + sys of every naasc, the "
                     f"reused ones' as they were measured), {a.parallel} at a time with --jobs {a.jobs}.")
    else:
        lines.append(f"This run: {len(a.log)} searches, {(time.time() - a.t0) / 60:.1f} minutes of wall time, "
                     f"{cpu:.0f} CPU s (user + sys of every naasc), {a.parallel} at a time with --jobs {a.jobs}.")
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
                 "EDP vs random | bound on EDP gain | EDP vs as built | searched design | "
                 f"time of the {3 * len(a.seeds)} searches (s) | their evaluations |")
    lines.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
    summary = []
    skipped = []  # (budget, net, why): an as-built comparison the search could not make
    ok = lambda x: x and x.get("rc") == 0
    nseeds = len(a.seeds)
    for budget, nets in results:
        rows = []  # per network: per seed, the nine ratios
        for net, rr in nets:
            per_seed, designs = [], []
            for si in range(nseeds):
                n, s, r = (rr[m][si] if rr.get(m) else None for m in ("naas", "sizing", "random"))
                f = dict(n["baseline"], rc=0, bound=n.get("bound")) if ok(n) and "baseline" in n else None
                sp = f["cycles"] / n["cycles"] if ok(f) and ok(n) else None
                en = f["energy_pj"] / n["energy_pj"] if ok(f) and ok(n) else None
                edp = f["edp"] / n["edp"] if ok(f) and ok(n) else None
                vs_s = s["edp"] / n["edp"] if ok(s) and ok(n) else None
                vs_r = r["edp"] / n["edp"] if ok(r) and ok(n) else None
                b = f.get("bound") if ok(f) else None
                bg = f["edp"] / b["edp"] if b else None
                ab = n.get("baseline_as_built") if ok(n) else None  # NAAS's baseline: the chip's own dataflow
                if si == 0 and ok(n) and not ab and n.get("baseline_as_built_skipped"):
                    skipped.append((budget, net, n["baseline_as_built_skipped"]))
                asb = [ab["cycles"] / n["cycles"], ab["energy_pj"] / n["energy_pj"], ab["edp"] / n["edp"]] if ab else [None] * 3
                design = "-"
                if ok(n):
                    lv = n["arch"]["levels"]
                    axes = [f"{x}[{c}]" for L in lv for x, c in zip(L["fanout"], L["connectivity"]) if x > 1]
                    design = f"{n['arch']['pes']} PEs {' x '.join(axes)}, rf {lv[-1]['capacity_words']} w, glb {lv[1]['capacity_words']} w"
                secs = sum(x["seconds"] for x in (n, s, r) if ok(x))
                evals = sum(x["evals"] for x in (n, s, r) if ok(x))
                per_seed.append([sp, en, edp, vs_s, vs_r, bg, *asb])
                designs.append((edp, design, secs, evals, a.seeds[si]))
            # the design of the seed whose EDP gain is the median (lower middle)
            ranked = sorted((d for d in designs if d[0] is not None), key=lambda d: d[0])
            med = ranked[(len(ranked) - 1) // 2] if ranked else (None, "-", 0, 0, a.seeds[0])
            cells = [cell([ps[k] for ps in per_seed]) for k in range(9)]
            design = med[1] + (f" (seed {med[4]})" if nseeds > 1 else "")
            secs = sum(d[2] for d in designs)
            evals = sum(d[3] for d in designs)
            lines.append(f"| {budget} | {net} | {cells[0]} | {cells[1]} | {cells[2]} | {cells[3]} | {cells[4]} | "
                         f"{cells[5]} | {cells[8]} | {design} | {secs:.0f} | {evals:,} |")
            rows.append(per_seed)
        if rows:
            # geomean over networks of the per-network medians; the range is
            # that of the per-seed geomeans
            g = [geomean([median([ps[k] for ps in per_seed]) for per_seed in rows]) for k in range(9)]
            gs = [[geomean([per_seed[si][k] for per_seed in rows if per_seed[si][k] is not None])
                   for si in range(nseeds)] for k in range(9)]
            gc = [fmt(g[k]) + (spread(gs[k]) if nseeds > 1 else "") for k in range(9)]
            lines.append(f"| **{budget}** | **geomean** | **{gc[0]}** | **{gc[1]}** | **{gc[2]}** | "
                         f"**{gc[3]}** | **{gc[4]}** | {gc[5]} | **{gc[8]}** | | | |")
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


def splice(doc, body, section="search"):
    begin, end = f"<!-- {section}:begin -->", f"<!-- {section}:end -->"
    text = open(doc).read() if os.path.exists(doc) else ""
    if "<!-- search:begin -->" not in text or "<!-- search:end -->" not in text:
        text = ("# Results\n\n## Accelerator search (naasc --search)\n\n<!-- search:begin -->\n<!-- search:end -->"
                "\n\n## Network search\n\n<!-- nas:begin -->\n<!-- nas:end -->\n")
    if begin not in text or end not in text:  # the --assume naas section: after the first
        text = text.replace("<!-- search:end -->", "<!-- search:end -->\n\n### Under NAAS's assumptions (`--assume naas`)\n\n"
                            + begin + "\n" + end, 1)
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
    ap.add_argument("--seed", type=int)
    ap.add_argument("--seeds", help="comma-separated seeds (default: --seed, or 1)")
    ap.add_argument("--parallel", type=int, default=1, help="naasc processes at once")
    ap.add_argument("--schedule", choices=("fused", "layer"), default="fused")
    ap.add_argument("--assume", choices=("physical", "naas"), default="physical")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--work", default="results-work")
    ap.add_argument("--doc", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs", "results.md"))
    ap.add_argument("--no-doc", action="store_true")
    ap.add_argument("--reuse", action="store_true",
                    help="take a run whose result.json the same command and the same naasc binary "
                         "(sha256) made in --work (its run.json), with that run's times, instead of "
                         "running it again: a stopped regeneration goes on where it stopped")
    a = ap.parse_args()
    a.argv = [x for x in sys.argv[2:]]
    if a.seeds and a.seed is not None:
        ap.error("give --seed or --seeds, not both")
    try:
        a.seeds = [int(x) for x in a.seeds.split(",")] if a.seeds else [a.seed if a.seed is not None else 1]
    except ValueError:
        ap.error(f"--seeds {a.seeds}: give comma-separated integers")
    if len(set(a.seeds)) != len(a.seeds) or a.parallel < 1:
        ap.error("--seeds must be distinct and --parallel at least 1")
    section = "search" if a.assume == "physical" else "search-naas"
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
    with open(a.naasc, "rb") as f:
        a.binary_sha256 = hashlib.sha256(f.read()).hexdigest()
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
    a.log, a.t0 = log, time.time()
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=a.parallel)
    for bi, (budget, nets) in enumerate(todo):
        nets = [n for n in nets if not networks or n in networks]
        # every run of the budget at once (up to --parallel at a time), in
        # the order network, seed, mode; results are taken in that order
        futs = {(net, si, mode): pool.submit(run, a.naasc, a.work, budget, net, mode, a, seed)
                for net in nets for si, seed in enumerate(a.seeds) for mode in ("naas", "sizing", "random")}
        done = []
        for net in nets:
            rr = {m: [] for m in ("naas", "sizing", "random")}
            for si, seed in enumerate(a.seeds):
                for mode in ("naas", "sizing", "random"):
                    x = futs[(net, si, mode)].result()
                    rr[mode].append(x)
                    log.append({"budget": budget, "network": net, "mode": mode, **{k: x.get(k) for k in
                                ("seed", "cmd", "rc", "wall", "cpu", "seconds", "evals", "candidates", "edp", "energy_pj", "cycles", "reused")}})
                    print(f"{budget} {net} {mode} seed {seed}: EDP {x.get('edp')} in {x['wall']:.1f} s "
                          f"({x['cpu']:.1f} CPU s)", flush=True)
                    with open(os.path.join(a.work, "runs.json"), "w") as f:
                        json.dump(log, f, indent=1)
            check_effort(budget, net, rr, a)
            done.append((net, rr))
        results.append((budget, done))
        results.sort(key=lambda x: order.index(x[0]))
        pending = [b for b, _ in todo[bi + 1:]]
        if pending and not a.no_doc:  # a run stopped early leaves its whole budgets in the doc
            splice(os.path.abspath(a.doc), table(results, a, machine, pending), section)
    pool.shutdown()
    body = table(results, a, machine)
    print(body)
    if not a.no_doc:
        splice(os.path.abspath(a.doc), body, section)
    return 0 if all(x["rc"] == 0 for x in log) else 1


if __name__ == "__main__":
    sys.exit(main())
