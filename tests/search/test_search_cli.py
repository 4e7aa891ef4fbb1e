#!/usr/bin/env python3
"""naasc --search end to end (docs/search.md), on a small search.

  test_search_cli.py NAASC SCRATCH MPI(ON|OFF) [MPIEXEC]

Checks, each against an uninterrupted single-threaded run of the same
command (the reference):
  - --jobs 2 gives byte-identical outputs;
  - a run stopped after iteration 1 (--stop-after-iteration) and one killed
    with SIGKILL in the middle of iteration 3 (the hidden --kill-in-iteration
    2 raises it once that iteration's mapper jobs ran, before its checkpoint,
    so the kill always lands and the checkpoint holds exactly 2 iterations)
    both resume to the same outputs;
  - under `mpirun -np 2` (when built with NAASC_MPI) the outputs are the same;
  - the outputs are consistent: the design is within the budget, result.json's
    EDP equals its per-model energy x cycles and the cost report's total,
    search.json has every candidate and the best of them is the result, the
    mapped IR names the searched design;
  - re-ranking (--rerank, default 3): the designs mapped again at final
    effort are the best distinct candidates, best first, then the start
    design when not among them (one entry says `start`, with the logged
    start's score), the result is the best of their final scores, one not
    mapped has a bound no better than it, and the first one's final score
    is that of --rerank 1's first, whose result is the better of it and the
    start's;
  - equal effort: result.json records the mapper effort of the design and of
    the budget design it is compared with, and they are the same (the flags'
    budgets and seed); the baseline's figures are those of `--fixed` with
    the same flags, the as-built baseline's those of `--fixed=as-built`, and
    their ratios are recomputed here; `--fixed` with another --map-budget or
    --seed records another effort.
"""
import json
import os
import shutil
import signal
import struct
import subprocess
import sys

NAASC, SCRATCH, MPI = sys.argv[1], sys.argv[2], sys.argv[3] == "ON"
MPIEXEC = sys.argv[4] if len(sys.argv) > 4 else "mpirun"
ARGS = ["--search", "squeezenet", "--budget", "eyeriss", "--iterations", "4", "--popsize", "6",
        "--map-budget", "300", "--seed", "3", "--no-progress", "-q"]
SAME = ["arch.yaml", "search.json", "squeezenet.nir", "squeezenet.report.txt",
        "squeezenet.report.json", "convergence.svg", "pareto.svg"]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def run(out, extra=(), prefix=(), env=None):
    cmd = list(prefix) + [NAASC] + ARGS + ["-o", os.path.join(SCRATCH, out)] + list(extra)
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    if p.returncode != 0:
        print(" ".join(cmd), "->", p.returncode, p.stderr)
    return p.returncode


def result(out):
    with open(os.path.join(SCRATCH, out, "result.json")) as f:
        r = json.load(f)
    for k in ("seconds", "jobs", "ranks"):
        r.pop(k)
    return r


def same_as_ref(out, what):
    for name in SAME:
        with open(os.path.join(SCRATCH, "ref", name), "rb") as a, open(os.path.join(SCRATCH, out, name), "rb") as b:
            check(a.read() == b.read(), f"{what}: {name} differs from the reference")
    ra, rb = result("ref"), result(out)
    if what.startswith("resume"):  # work redone after a resume may differ in count, nothing else
        ra.pop("evals"), rb.pop("evals")
    check(ra == rb, f"{what}: result.json differs from the reference")


def ckpt_iterations(path):
    try:
        with open(path, "rb") as f:
            head = f.read(40)
    except OSError:
        return 0
    if len(head) < 40 or head[:8] != b"NAASCKPT":  # format 3 (search/checkpoint.c)
        return 0
    return struct.unpack("<q", head[32:40])[0]


def main():
    shutil.rmtree(SCRATCH, ignore_errors=True)
    os.makedirs(SCRATCH)
    check(run("ref", ["-j", "1"]) == 0, "reference run")

    # Consistency of the outputs.
    r = json.load(open(os.path.join(SCRATCH, "ref", "result.json")))
    log = json.load(open(os.path.join(SCRATCH, "ref", "search.json")))["candidates"]
    rep = json.load(open(os.path.join(SCRATCH, "ref", "squeezenet.report.json")))
    check(r["arch"]["pes"] <= 168 and r["arch"]["pes"] >= 8, "PEs within eyeriss's 168")
    # A preset names its node: the budget is its area (docs/search.md, "Budgets").
    check(r["assume"] == "physical" and not r["constraint"]["bytes"], "physical mode, area budget")
    # The precision is named in result.json and the report (eyeriss is a 16-bit chip).
    check(r["precision"] == "w16a16" and rep["precision"] == "w16a16",
          f"precision named: {r.get('precision')} / {rep.get('precision')}")
    check(0 < r["area_um2"] <= r["constraint"]["area_um2"],
          f"area {r['area_um2']} within eyeriss's {r['constraint']['area_um2']}")
    m = r["per_model"][0]
    check(abs(m["energy_pj"] * m["cycles"] - r["edp"]) <= 1e-9 * r["edp"], "EDP = energy x cycles")
    check(rep["total"]["cycles"] == r["cycles"], "report cycles = search cycles")
    check(abs(rep["total"]["edp_pj_cycles"] - r["edp"]) <= 1e-8 * r["edp"], "report total EDP = search EDP")
    check(abs(rep["total"]["energy_pj"] - r["energy_pj"]) <= 1e-8 * r["energy_pj"], "report energy = search energy")
    check(len(log) == 1 + 4 * 6 == r["candidates"], "every candidate logged (the start, then 4 x 6)")
    best = min(c["score"] for c in log if c["valid"])
    check(abs(best - r["search_score"]) <= 1e-9 * best, "the search's best is the best logged candidate")
    check(r["score"] <= r["search_score"], "the final mapping is no worse than the search's")
    # Re-ranking: the best 3 distinct designs (distinct designs: the k-th is
    # no better than the k-th best logged score), best first, the first the
    # search's best; the result is the best final score among them.
    # Then the start design (the logged start, index -1), when it is not
    # among the three, and exactly one entry says it is the start.
    rk = r.get("rerank", [])
    scores = sorted(c["score"] for c in log if c["valid"])
    start_among = any(q.get("start") for q in rk[:3])
    check(len(rk) == (3 if start_among else 4), f"three designs re-ranked, then the start if not among them ({len(rk)})")
    check(sum(1 for q in rk if q.get("start")) == 1, "one re-ranked design is the start")
    check(log[0]["index"] == -1 and [q["candidate_score"] for q in rk if q.get("start")] == [log[0]["score"]],
          "the start's entry has the logged start's candidate score")
    check(r.get("chosen_is_start") == any(q["chosen"] and q.get("start") for q in rk), "chosen_is_start")
    check(rk and rk[0]["candidate_score"] == r["search_score"], "the first re-ranked is the search's best")
    for k, q in enumerate(rk[:3]):
        check(q["candidate_score"] >= scores[k] and q["candidate_score"] in scores,
              f"re-ranked design {k}'s candidate score {q['candidate_score']} is a logged score, "
              f"no better than the {k}-th best")
        if k:
            check(q["candidate_score"] >= rk[k - 1]["candidate_score"], "re-ranked in candidate order")
        if q["final_score"] is None:
            check(q["bound"] >= r["score"], f"design {k} not mapped: its bound is no better than the result")
        else:
            check(q["final_score"] <= q["candidate_score"], f"design {k}: final mapping no worse")
    for q in rk[3:]:
        if q["final_score"] is None:
            check(q["bound"] >= r["score"], "the start not mapped: its bound is no better than the result")
    finals = [q["final_score"] for q in rk if q["final_score"] is not None]
    chosen = [k for k, q in enumerate(rk) if q["chosen"]]
    check(finals and r["score"] == min(finals) and len(chosen) == 1 and rk[chosen[0]]["final_score"] == r["score"],
          f"the result ({r['score']}) is the best final score of the re-ranked ({finals}), and the one chosen")
    nir = open(os.path.join(SCRATCH, "ref", "squeezenet.nir")).read()
    check(("target " + r["arch"]["name"]) in nir or r["arch"]["name"] in nir, "mapped IR names the design")
    arch = subprocess.run([NAASC, "--print-arch", os.path.join(SCRATCH, "ref", "arch.yaml")],
                          capture_output=True, text=True)
    check(arch.returncode == 0 and arch.stdout == open(os.path.join(SCRATCH, "ref", "arch.yaml")).read(),
          "arch.yaml loads back (usable with --target) and prints the same")

    # Equal effort: the design and the budget design it is compared with.
    want = {"map_budget": 300, "final_map_budget": 20000, "seed": 3, "strategy": "es", "objective": "edp",
            "schedule": "fused", "mapper_screen": "off", "prune": "on"}
    check(r.get("effort") == want, f"the design's effort {r.get('effort')} is the flags' {want}")
    b = r.get("baseline", {})
    check(b.get("effort") == r.get("effort"), f"baseline effort {b.get('effort')} == design effort {r.get('effort')}")
    check(b.get("name") == "eyeriss", "the baseline is the budget design")
    for key, field in (("speedup", "cycles"), ("energy_saving", "energy_pj"), ("edp_gain", "edp")):
        check(abs(b.get(key, 0) - b.get(field, 0) / r[field]) <= 1e-12 * b.get(key, 1), f"baseline {key}")
    fixed_args = ["--fixed", "-j", "1"]
    check(run("fixed", fixed_args) == 0, "--fixed run")
    f = json.load(open(os.path.join(SCRATCH, "fixed", "result.json")))
    check(f["effort"] == r["effort"], "--fixed with the same flags has the search's effort")
    check(f["edp"] == b.get("edp") and f["cycles"] == b.get("cycles") and f["energy_pj"] == b.get("energy_pj"),
          f"the baseline in result.json ({b.get('edp')}) is --fixed with the same flags ({f['edp']})")
    # The as-built baseline (the preset's as_built: dataflow): the same effort,
    # the figures of --fixed=as-built with the same flags, never better than
    # the best-mapped one's cycles by more than the mappers' luck (it maps a
    # subset of the same mapspace), and NAAS's figures are said to be against it.
    ab = r.get("baseline_as_built", {})
    check(ab.get("effort") == r.get("effort"), f"as-built baseline effort {ab.get('effort')} == design's")
    check(ab.get("name") == "eyeriss", "the as-built baseline is the budget design")
    check(r.get("naas_compares_with") == "baseline_as_built", "result.json says what NAAS compares with")
    for key, field in (("speedup", "cycles"), ("energy_saving", "energy_pj"), ("edp_gain", "edp")):
        check(abs(ab.get(key, 0) - ab.get(field, 0) / r[field]) <= 1e-12 * ab.get(key, 1),
              f"as-built baseline {key}")
    check(run("fixed-ab", ["--fixed=as-built", "-j", "1"]) == 0, "--fixed=as-built run")
    fa = json.load(open(os.path.join(SCRATCH, "fixed-ab", "result.json")))
    check(fa["mode"] == "fixed-as-built" and fa.get("dataflow") == "as-built", "--fixed=as-built's mode")
    check(fa["effort"] == r["effort"], "--fixed=as-built with the same flags has the search's effort")
    check(fa["edp"] == ab.get("edp") and fa["cycles"] == ab.get("cycles"),
          f"the as-built baseline ({ab.get('edp')}) is --fixed=as-built with the same flags ({fa['edp']})")
    check(fa["cycles"] > f["cycles"], f"as built ({fa['cycles']} cycles) is slower than best-mapped "
          f"({f['cycles']}): row stationary leaves PEs idle")
    for out, extra in (("fixed-mb", ["--map-budget", "301"]), ("fixed-seed", ["--seed", "4"])):
        check(run(out, fixed_args + extra) == 0, f"--fixed {extra}")
        g = json.load(open(os.path.join(SCRATCH, out, "result.json")))
        check(g["effort"] != r["effort"], f"--fixed {extra} records another effort: {g['effort']}")
    check(run("nobase", ["-j", "1", "--no-baseline", "--rerank", "1"]) == 0, "--no-baseline --rerank 1 run")
    nb = json.load(open(os.path.join(SCRATCH, "nobase", "result.json")))
    check("baseline" not in nb and "baseline_as_built" not in nb, "--no-baseline: no baseline in result.json")
    nbf = [q["final_score"] for q in nb["rerank"] if q["final_score"] is not None]
    check(len(nb["rerank"]) == (1 if nb["rerank"][0].get("start") else 2) and rk
          and nb["rerank"][0]["final_score"] == rk[0]["final_score"] and nb["score"] == min(nbf),
          f"--rerank 1 maps the search's best candidate as the re-ranking mapped it "
          f"({nb['rerank'][0]['final_score']} against {rk[0]['final_score'] if rk else None}), then the start, "
          f"and keeps the better ({nb['score']} of {nbf})")

    # Threads.
    check(run("j2", ["-j", "2"]) == 0, "run with -j 2")
    same_as_ref("j2", "--jobs 2")

    # Stop after iteration 1, resume.
    ck = os.path.join(SCRATCH, "stop.ckpt")
    check(run("stop", ["--checkpoint", ck, "--stop-after-iteration", "1"]) == 0, "stopped run")
    check(ckpt_iterations(ck) == 1, "checkpoint after 1 iteration")
    check(not os.path.exists(os.path.join(SCRATCH, "stop", "arch.yaml")), "a stopped run writes no design")
    check(run("stop", ["--checkpoint", ck, "--resume"]) == 0, "resumed run")
    same_as_ref("stop", "resume after --stop-after-iteration")

    # A real kill at a known point: SIGKILL in the middle of iteration 3.
    ck = os.path.join(SCRATCH, "kill.ckpt")
    cmd = [NAASC] + ARGS + ["-o", os.path.join(SCRATCH, "kill"), "--checkpoint", ck, "-j", "1",
                            "--kill-in-iteration", "2"]
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=600)
    check(p.returncode == -signal.SIGKILL, f"the run died of SIGKILL (exit {p.returncode})")
    check(ckpt_iterations(ck) == 2, f"the checkpoint holds the 2 iterations before the kill ({ckpt_iterations(ck)})")
    check(not os.path.exists(os.path.join(SCRATCH, "kill", "arch.yaml")), "a killed run writes no design")
    check(run("kill", ["--checkpoint", ck, "--resume"]) == 0, "resumed after SIGKILL")
    same_as_ref("kill", "resume after SIGKILL")

    # MPI ranks.
    if MPI:
        # Open MPI keeps memory until exit: LeakSanitizer (ASan builds) would report it as ours.
        asan = os.environ.get("ASAN_OPTIONS", "")
        env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
                   OMPI_MCA_rmaps_base_oversubscribe="1",
                   ASAN_OPTIONS=(asan + ":" if asan else "") + "detect_leaks=0")
        rc = run("mpi", ["-j", "1"], prefix=[MPIEXEC, "-np", "2", "--oversubscribe"], env=env)
        check(rc == 0, "mpirun -np 2")
        if rc == 0:
            same_as_ref("mpi", "mpirun -np 2")
            rr = json.load(open(os.path.join(SCRATCH, "mpi", "result.json")))
            check(rr["ranks"] == 2, "two ranks took part")
    else:
        print("MPI: not built (NAASC_MPI off); skipped")

    print(f"{len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
