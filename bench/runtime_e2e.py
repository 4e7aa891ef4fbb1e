#!/usr/bin/env python3
"""End-to-end run time of compiled models on the runtime, side by side.

For each zoo network and preset: compile the network with the default
pipeline and mapper (`naasc NET.onnx --target PRESET -o NET.cmd`), then run
the stream on one fixed random input with every executor in the same
sitting, and print the CPU seconds (user + sys of the child) of each:

  jit        naasc-run (the default: compute tiles through the LLVM JIT)
  c-ref      naasc-run --no-jit (kernel_ref)
  inner      naasc-run --inner (every storage level held; JIT kernels)
  interp     naasc-run --reference (the loop-nest interpreter; only with --interp)
  base-jit   the same stream format and run by another build's naasc/naasc-run
             (--baseline DIR: its tools/ directory), e.g. an older commit

It also prints the stream size and checks that every executor's output is
within 1e-3 relative of the default's (max abs difference / max abs value).

Equal work: the executors of this build run one stream.  The baseline build
compiles its own, with its own default mapper; the column "base mapping"
says whether it mapped every layer the same (the two compiles' cost reports
give the same total cycles, energy and EDP) or not, in which case its time
is for other work and the column says so: not like for like.

  bench/runtime_e2e.py BUILD_DIR [--nets resnet50,mobilenetv2]
                       [--presets eyeriss,nvdla-256] [--interp] [--baseline DIR]
                       [--work DIR]

Benchmarks are not tests: this prints figures for docs/benchmarks.md.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np
import onnx
from onnx import numpy_helper


def run(cmd):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        sys.stderr.write(p.stderr.decode(errors="replace"))
        raise SystemExit(f"failed ({p.returncode}): {' '.join(cmd)}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall, p.stdout.decode(errors="replace")


def output(d):
    files = sorted(f for f in os.listdir(d) if f.endswith(".pb"))
    return numpy_helper.to_array(onnx.load_tensor(os.path.join(d, files[0])))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--nets", default="resnet50,mobilenetv2")
    ap.add_argument("--presets", default="eyeriss,nvdla-256")
    ap.add_argument("--interp", action="store_true")
    ap.add_argument("--baseline", help="another build's tools/ directory")
    ap.add_argument("--work", default="bench-runtime")
    a = ap.parse_args()
    tools = os.path.join(os.path.abspath(a.build), "tools")
    naasc, nrun = os.path.join(tools, "naasc"), os.path.join(tools, "naasc-run")
    os.makedirs(a.work, exist_ok=True)
    os.chdir(a.work)
    x = np.random.RandomState(1).rand(1, 3, 224, 224).astype(np.float32)
    with open("in.pb", "wb") as f:
        f.write(numpy_helper.from_array(x, "input").SerializeToString())
    print("| network | preset | stream bytes | commands | weights | jit | c-ref | inner |"
          + (" interp |" if a.interp else "") + (" base-jit | base mapping |" if a.baseline else "") + " max rel diff |")
    print("|---|---|---:|---:|---:|---:|---:|---:|" + ("---:|" if a.interp else "")
          + ("---:|---|" if a.baseline else "") + "---:|")
    for net in a.nets.split(","):
        if not os.path.exists(f"{net}.onnx"):
            run([naasc, "zoo", net, "-o", f"{net}.onnx"])
        for preset in a.presets.split(","):
            cmd = f"{net}.{preset}.cmd"
            run([naasc, f"{net}.onnx", "--target", preset, "-o", cmd, f"--report={net}.{preset}.json"])
            head = run([nrun, cmd, "--disasm"])[2].splitlines()[0]
            # "; naasc command stream v2: N bytes (commands C, weights W)"
            nums = [int(t.strip(",()")) for t in head.split(":")[1].split() if t.strip(",()").isdigit()]
            modes = [("jit", []), ("c-ref", ["--no-jit"]), ("inner", ["--inner"])]
            if a.interp:
                modes.append(("interp", ["--reference"]))
            cpu, outs = {}, {}
            for name, flags in modes:
                od = f"out.{net}.{preset}.{name}"
                cpu[name] = run([nrun, cmd, "--input", "input=in.pb", "-o", od] + flags)[0]
                outs[name] = output(od)
            if a.baseline:
                bcmd = f"{net}.{preset}.base.cmd"
                run([os.path.join(a.baseline, "naasc"), f"{net}.onnx", "--target", preset, "-o", bcmd,
                     f"--report={net}.{preset}.base.json"])
                tot = [json.load(open(f"{net}.{preset}{x}.json"))["total"] for x in ("", ".base")]
                keys = ("cycles", "energy_pj", "edp_pj_cycles")
                same = all(abs(tot[0][k] - tot[1][k]) <= 1e-9 * abs(tot[0][k]) for k in keys)
                base_map = "same" if same else "DIFFERENT (EDP %.4g vs %.4g): not like for like" % (
                    tot[1]["edp_pj_cycles"], tot[0]["edp_pj_cycles"])
                od = f"out.{net}.{preset}.base"
                cpu["base-jit"] = run([os.path.join(a.baseline, "naasc-run"), bcmd, "--input", "input=in.pb",
                                       "-o", od])[0]
                outs["base-jit"] = output(od)
            ref = outs["jit"]
            scale = float(np.abs(ref).max()) or 1.0
            diff = max(float(np.abs(o - ref).max()) / scale for o in outs.values())
            cols = [f"{cpu[m]:.2f}" for m, _ in modes] + ([f"{cpu['base-jit']:.2f}", base_map] if a.baseline else [])
            print(f"| {net} | {preset} | {nums[0]:,} | {nums[1]:,} | {nums[2]:,} | " + " | ".join(cols)
                  + f" | {diff:.1e} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
