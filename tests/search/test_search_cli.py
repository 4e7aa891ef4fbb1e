#!/usr/bin/env python3
"""naasc --search end to end (docs/search.md), on a small search.

  test_search_cli.py NAASC SCRATCH MPI(ON|OFF) [MPIEXEC]

Checks, each against an uninterrupted single-threaded run of the same
command (the reference):
  - --jobs 2 gives byte-identical outputs;
  - a run stopped after iteration 1 (--stop-after-iteration) and one killed
    with SIGKILL once its checkpoint holds 2 iterations both resume to the
    same outputs;
  - under `mpirun -np 2` (when built with NAASC_MPI) the outputs are the same;
  - the outputs are consistent: the design is within the budget, result.json's
    EDP equals its per-model energy x cycles and the cost report's total,
    search.json has every candidate and the best of them is the result, the
    mapped IR names the searched design.
"""
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import time

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
    if len(head) < 40 or head[:8] != b"NAASCKPT":  # format 2 (search/checkpoint.c)
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
    onchip = sum(l["capacity_words"] * l["instances"] * 2 for l in r["arch"]["levels"][1:])
    check(onchip <= 55296 * 2 + 168 * (12 + 224 + 24) * 2, f"on-chip bytes {onchip} within eyeriss's")
    m = r["per_model"][0]
    check(abs(m["energy_pj"] * m["cycles"] - r["edp"]) <= 1e-9 * r["edp"], "EDP = energy x cycles")
    check(rep["total"]["cycles"] == r["cycles"], "report cycles = search cycles")
    check(abs(rep["total"]["edp_pj_cycles"] - r["edp"]) <= 1e-8 * r["edp"], "report total EDP = search EDP")
    check(abs(rep["total"]["energy_pj"] - r["energy_pj"]) <= 1e-8 * r["energy_pj"], "report energy = search energy")
    check(len(log) == 1 + 4 * 6 == r["candidates"], "every candidate logged (the start, then 4 x 6)")
    best = min(c["score"] for c in log if c["valid"])
    check(abs(best - r["search_score"]) <= 1e-9 * best, "the search's best is the best logged candidate")
    check(r["score"] <= r["search_score"], "the final mapping is no worse than the search's")
    nir = open(os.path.join(SCRATCH, "ref", "squeezenet.nir")).read()
    check(("target " + r["arch"]["name"]) in nir or r["arch"]["name"] in nir, "mapped IR names the design")
    arch = subprocess.run([NAASC, "--print-arch", os.path.join(SCRATCH, "ref", "arch.yaml")],
                          capture_output=True, text=True)
    check(arch.returncode == 0 and arch.stdout == open(os.path.join(SCRATCH, "ref", "arch.yaml")).read(),
          "arch.yaml loads back (usable with --target) and prints the same")

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

    # A real kill: SIGKILL once the checkpoint holds 2 iterations.
    ck = os.path.join(SCRATCH, "kill.ckpt")
    cmd = [NAASC] + ARGS + ["-o", os.path.join(SCRATCH, "kill"), "--checkpoint", ck, "-j", "1"]
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t0 = time.time()
    while ckpt_iterations(ck) < 2 and p.poll() is None and time.time() - t0 < 300:
        time.sleep(0.005)
    killed = p.poll() is None
    if killed:
        p.send_signal(signal.SIGKILL)
    p.wait()
    print(f"killed: {killed} at {ckpt_iterations(ck)} iterations")
    check(0 < ckpt_iterations(ck) <= 4, "checkpoint written before the kill")
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
