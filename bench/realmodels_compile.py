#!/usr/bin/env python3
"""Compile time of every real model (tests/realmodels/registry.py): per
model, `naasc M FLAGS --target PRESET -o M.cmd` with the flags that fix its
dynamic dims and bind its constant inputs (harness.naasc_flags), timed
once: wall-clock seconds and the CPU seconds (user + system) of naasc.
Prints a markdown table for docs/benchmarks.md ("Compile time of the real
models"); the models must be fetched (scripts/fetch-models.sh,
scripts/fetch-ocr-models.sh; test_ort_reference.py does both).

  bench/realmodels_compile.py NAASC SCRATCH [--presets eyeriss,nvdla-256] [--models ID,...]

Exit codes: 0 ok, 1 a model missing or a compile that failed, 2 bad usage.
"""
import argparse
import os
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "realmodels"))
import harness  # noqa: E402
import registry  # noqa: E402


def timed(cmd):
    """(exit status, wall seconds, CPU seconds of the child, first stderr line)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return r.returncode, wall, cpu, (r.stderr.strip().splitlines() or [""])[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("naasc")
    ap.add_argument("scratch")
    ap.add_argument("--presets", default="eyeriss,nvdla-256")
    ap.add_argument("--models", default="")
    args = ap.parse_args()
    zoo_dir = os.path.join(os.path.abspath(args.scratch), "zoo")
    os.makedirs(zoo_dir, exist_ok=True)
    models = registry.load(zoo_dir=zoo_dir)
    if args.models:
        models = [m for m in models if m.id in args.models.split(",")]
    presets = args.presets.split(",")
    print("| model | MACs | " + " | ".join("%s wall s | %s CPU s" % (p, p) for p in presets) + " |")
    print("|---|---:|" + "---:|---:|" * len(presets))
    bad = 0
    for m in models:
        if m.id in dict(registry.ZOO) and not os.path.exists(m.path):
            subprocess.run(registry.zoo_command(args.naasc, m), check=True, capture_output=True)
        if not os.path.exists(m.path):
            print("%s: missing (fetch the models first)" % m.path, file=sys.stderr)
            return 1
        d = os.path.join(args.scratch, m.id)
        inputs = harness.write_inputs(m, os.path.join(d, "inputs"), 0)
        flags = harness.naasc_flags(m, inputs)
        s = subprocess.run([args.naasc, m.path, "--summary"] + flags, capture_output=True, text=True)
        macs = next((w[5:] for w in s.stdout.split() if w.startswith("macs=")), "?")
        cells = []
        for p in presets:
            rc, wall, cpu, err = timed([args.naasc, m.path] + flags + ["--target", p, "-o", os.path.join(d, p + ".cmd")])
            if rc != 0:
                print("%s on %s: exit %d: %s" % (m.id, p, rc, err), file=sys.stderr)
                bad += 1
                cells += ["exit %d" % rc, "-"]
            else:
                cells += ["%.1f" % wall, "%.1f" % cpu]
        print("| %s | %s | %s |" % (m.id, macs, " | ".join(cells)), flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
