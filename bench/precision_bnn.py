#!/usr/bin/env python3
"""A binarized network on a binary-PE design against int8 and int16 designs of
the same area (docs/results.md, "Precision: a binary network on binary PEs").

  bench/precision_bnn.py NAASC_BUILD_TOOLS_DIR WORKDIR [--network resnet18-bnn]

The designs are one family at 65 nm (an Eyeriss-sized global buffer of
55296 16-bit words, 110592 B, an array of PEs each with one register file,
LPDDR4 at 4 16-bit words per cycle, 200 MHz): the int16 design has 16 x 16
PEs with 64 16-bit words each; its area (the technology model's) is the
budget.  Each other precision gets the largest near-square array (x by x or
x by x-1) that fits that area, in two ways:

  same bits   the int16 design re-expressed with --precision P: every
              buffer keeps its bits (more, narrower words) and only the MAC
              shrinks, so the area freed is the MACs';
  same words  each PE's register file keeps its 64 words at the new width
              (a binary PE's is 64 bits), so PEs shrink with their storage.

Every design runs the same network (default resnet18-bnn, the zoo's binary
ResNet-18) through `naasc NET.onnx --target D.yaml --report=R.json` (the
default mapper effort and the searched whole-network schedule); the table
gives the measured area, energy, cycles and EDP and the ratios to int16.
Vector nests (Sign, pooling, adds) are not costed: the designs have no
vector unit, as the report says.
"""
import json
import os
import re
import subprocess
import sys

NODE, CLOCK = 65, 200
GLB_BITS = 55296 * 16
PE_WORDS = 64
DRAM_BITS_PER_CYCLE = 4 * 16
REF_X, REF_Y = 16, 16


def design(name, prec, bits, pe_words, x, y):
    glb_words = GLB_BITS // bits
    block = max(1, 16 // bits)
    return f"""name: {name}
clock_mhz: {CLOCK}
technology: {NODE}nm
precision: {prec}
levels:
  - name: DRAM
    dram: true
    dram_type: LPDDR4
    block_words: {block}
    bandwidth: {{shared: {DRAM_BITS_PER_CYCLE / bits:g}}}
  - name: glb
    capacity_words: {glb_words}
    block_words: {block}
    bandwidth: {{read: {16 * 16 // bits}, write: {16 * 16 // bits}}}
    fanout: {{x: {x}, y: {y}}}
    memory: sram
  - name: pe_rf
    capacity_words: {pe_words}
    block_words: {block if pe_words * bits >= 16 * block else 1}
    bandwidth: {{read: {2 * 16 // bits}, write: {2 * 16 // bits}}}
    memory: regfile
mac: {{}}
"""


def run(cmd, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr}")
    return p.stdout


def areas(naasc, path, precision=None):
    """(glb area, one PE's area: its register file and MAC), um^2, from --print-arch."""
    cmd = [naasc, "--print-arch", path] + (["--precision", precision] if precision else [])
    text = run(cmd)
    lv = re.findall(r"area ([0-9.e+]+) um\^2", text)
    mac = float(re.search(r"technology model: [0-9.e+-]+ pJ, ([0-9.e+]+) um\^2 per MAC", text).group(1))
    return float(lv[0]), float(lv[1]) + mac, text


def fit(glb, pe, budget):
    """The largest x by x or x by x-1 array within budget."""
    best = (1, 1)
    for x in range(1, 1024):
        for y in (x - 1, x):
            if y >= 1 and glb + x * y * pe <= budget * (1 + 1e-12) and x * y > best[0] * best[1]:
                best = (x, y)
        if glb + x * (x - 1) * pe > budget:
            break
    return best


def main():
    tools, work = sys.argv[1], sys.argv[2]
    net = sys.argv[sys.argv.index("--network") + 1] if "--network" in sys.argv else "resnet18-bnn"
    naasc = os.path.abspath(os.path.join(tools, "naasc"))
    os.makedirs(work, exist_ok=True)
    onnx = os.path.join(work, net + ".onnx")
    run([naasc, "zoo", net, "-o", onnx])
    ref_path = os.path.join(work, "int16.yaml")
    with open(ref_path, "w") as f:
        f.write(design("pe-int16", "w16a16", 16, PE_WORDS, REF_X, REF_Y))
    glb, pe, _ = areas(naasc, ref_path)
    budget = glb + REF_X * REF_Y * pe
    rows = [("int16", "w16a16", "-", ref_path, REF_X, REF_Y)]
    for label, prec, bits in (("int8", "w8a8", 8), ("binary", "w1a1", 1)):
        # same bits: the int16 design at --precision P, resized
        g, p, _ = areas(naasc, ref_path, prec)
        x, y = fit(g, p, budget)
        path = os.path.join(work, f"{label}-bits.yaml")
        with open(path[:-5] + ".in.yaml", "w") as f:
            f.write(design(f"pe-{label}-same-bits", "w16a16", 16, PE_WORDS, x, y))
        with open(path, "w") as f:
            f.write(run([naasc, "--print-arch", path[:-5] + ".in.yaml", "--precision", prec]))
        rows.append((label, prec, "same bits", path, x, y))
        # same words: each PE's register file keeps 64 words at the new width
        path = os.path.join(work, f"{label}-words.yaml")
        with open(path, "w") as f:
            f.write(design(f"pe-{label}-same-words", prec, bits, PE_WORDS, 1, 1))
        g, p, _ = areas(naasc, path)
        x, y = fit(g, p, budget)
        with open(path, "w") as f:
            f.write(design(f"pe-{label}-same-words", prec, bits, PE_WORDS, x, y))
        rows.append((label, prec, "same words", path, x, y))
    results = []
    for label, prec, how, path, x, y in rows:
        rep = os.path.join(work, os.path.basename(path) + ".report.json")
        run([naasc, onnx, "--target", path, f"--report={rep}"], cwd=work)
        r = json.load(open(rep))
        s = r["schedule"]
        results.append((label, prec, how, x * y, r["area_um2"], s["energy_pj"], s["cycles"], s["edp_pj_cycles"],
                        r["total"]["energy_by_level_pj"]["mac"]))
    ref = results[0]
    print(f"{net} on 65 nm designs of the same area (budget: the int16 design's "
          f"{budget / 1e6:.4f} mm^2, the technology model's)")
    print()
    print("| design | precision | PE storage | PEs | area mm^2 | energy uJ | MAC energy uJ | cycles | EDP (pJ x cycles) "
          "| speedup | energy saving | EDP gain |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for label, prec, how, pes, area, e, c, edp, mac in results:
        print(f"| {label} | {prec} | {how} | {pes} | {area / 1e6:.4f} | {e / 1e6:.4g} | {mac / 1e6:.4g} | {c} | "
              f"{edp:.4g} | {ref[6] / c:.2f}x | {ref[5] / e:.2f}x | {ref[7] / edp:.2f}x |")


if __name__ == "__main__":
    main()
