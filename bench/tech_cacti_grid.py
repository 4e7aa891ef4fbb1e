#!/usr/bin/env python3
"""tech_cacti_grid.py: regenerates data/tech/cacti_sram.csv, the SRAM points
the technology model (backend/tech.c) interpolates, by running CACTI.

    bench/tech_cacti_grid.py CACTI_DIR [-o data/tech/cacti_sram.csv] [-j 2]

CACTI_DIR holds a built CACTI 7 executable `cacti` (HewlettPackard/cacti;
it is not part of naasc and this script does not build it).  Every point is
one CACTI run of a scratch RAM ("ram" cache type, no tag) with the settings
Accelergy's CACTI plug-in uses for its SRAM estimates (its default_cfg.cfg:
ITRS low-standby-power cells and peripherals, 300 K, "fast" access mode,
objective weights 0:0:1000000:0:0 with deviations 20:10:100000:100:100,
ED^2, semi-global wires; block size = one word, I/O bus = one word), so a
point is what Timeloop+Accelergy's CactiSRAM estimator would report for the
same array (before the plug-in's own interpolation below 64 words or 32
bits, and before address generators).

The grid: nodes 22/32/45/65/90 nm (CACTI's technology files), depth 2^6 to
2^17 words, width 2^3 to 2^10 bits, capacity up to 16 MiB; 1 bank, 1 port.
Then, at every node, the same arrays with 2 and 4 read-write ports and with
2 to 32 banks (at least 32 words a bank) for a set of sizes, which the model uses to fit its port and
bank factors.  Each output row: node_nm, depth, width, banks, ports,
read_pj, write_pj, leak_mw, area_um2.  The file's header records the CACTI
commit (from CACTI_DIR/.git, or --cacti-version) and the command.
"""
import argparse
import concurrent.futures
import csv
import datetime
import io
import os
import subprocess
import sys
import tempfile

# CACTI input settings shared by every run (CACTI's cfg syntax; the values
# are those of accelergy-cacti-plug-in default_cfg.cfg, see above).
BASE_CFG = """\
-Array Power Gating - "false"
-WL Power Gating - "false"
-CL Power Gating - "false"
-Bitline floating - "false"
-Interconnect Power Gating - "false"
-Power Gating Performance Loss "default"
-exclusive read port 0
-exclusive write port 0
-single ended read ports 0
-page size (bits) 0
-burst length 8
-internal prefetch width 8
-Data array cell type - "itrs-lstp"
-Data array peripheral type - "itrs-lstp"
-Tag array cell type - "itrs-lstp"
-Tag array peripheral type - "itrs-lstp
-operating temperature (K) 300
-access mode (normal, sequential, fast) - "fast"
-design objective (weight delay, dynamic power, leakage power, cycle time, area) 0:0:1000000:0:0
-deviate (delay, dynamic power, leakage power, cycle time, area) 20:10:100000:100:100
-NUCAdesign objective (weight delay, dynamic power, leakage power, cycle time, area) 100:100:0:0:100
-NUCAdeviate (delay, dynamic power, leakage power, cycle time, area) 10:10000:10000:10000:10000
-Optimize ED or ED^2 (ED, ED^2, NONE): "ED^2"
-Cache model (NUCA, UCA)  - "UCA"
-NUCA bank count 0
-Wire signaling (fullswing, lowswing, default) - "Global_30"
-Wire inside mat - "semi-global"
-Wire outside mat - "semi-global"
-Interconnect projection - "normal"
-Core count 1
-Add ECC - "false"
-Print level (DETAILED, CONCISE) - "CONCISE"
-Print input parameters - "false"
-Force cache config - "false"
-Ndwl 1
-Ndbl 1
-Nspd 0
-Ndcm 1
-Ndsam1 0
-Ndsam2 0
-dram_type "DDR3"
-io state "WRITE"
-addr_timing 1.0
-mem_density 4 Gb
-bus_freq 800 MHz
-duty_cycle 1.0
-activity_dq 1.0
-activity_ca 0.5
-num_dq 72
-num_dqs 18
-num_ca 25
-num_clk  2
-num_mem_dq 2
-mem_data_width 8
-rtt_value 10000
-ron_value 34
-tflight_value
-num_bobs 1
-capacity 80
-num_channels_per_bob 1
-first metric "Cost"
-second metric "Bandwidth"
-third metric "Energy"
-DIMM model "ALL"
-mirror_in_bob "F"
"""

NODES = [22, 32, 45, 65, 90]
MAX_BYTES = 16 << 20


def point_cfg(node, depth, width, banks, ports):
    size = depth * width // 8
    block = width // 8
    return BASE_CFG + (
        f"-size (bytes) {size}\n"
        f"-read-write port {ports}\n"
        f"-block size (bytes) {block}\n"
        f"-technology (u) {node / 1000:.3f}\n"
        f"-output/input bus width {width}\n"
        f"-UCA bank count {banks}\n"
        f'-cache type "ram"\n'
        f"-tag size (b) 0\n"
        f"-associativity 1\n")


def run_point(cacti_dir, p):
    node, depth, width, banks, ports = p
    with tempfile.TemporaryDirectory() as tmp:
        cfg = os.path.join(tmp, "p.cfg")
        with open(cfg, "w") as f:
            f.write(point_cfg(node, depth, width, banks, ports))
        r = subprocess.run([os.path.join(cacti_dir, "cacti"), "-infile", cfg], cwd=cacti_dir,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=1800)
        out = cfg + ".out"
        if r.returncode != 0 or not os.path.exists(out):
            return p, None
        rows = list(csv.reader(open(out)))
    head = [h.strip() for h in rows[0]]
    last = [v.strip() for v in rows[-1]]
    v = dict(zip(head, last))
    try:
        return p, (float(v["Dynamic read energy (nJ)"]) * 1e3,
                   float(v["Dynamic write energy (nJ)"]) * 1e3,
                   float(v["Standby leakage per bank(mW)"]) * banks,
                   float(v["Area (mm2)"]) * 1e6)
    except (KeyError, ValueError):
        return p, None


def grid():
    pts = []
    for node in NODES:
        for d in range(6, 18):
            for w in range(3, 11):
                depth, width = 1 << d, 1 << w
                if depth * width // 8 <= MAX_BYTES:
                    pts.append((node, depth, width, 1, 1))
        # ports and banks: a cross of sizes at every node
        for depth in (256, 1024, 4096, 16384):
            for width in (16, 64, 256):
                for ports in (2, 4):
                    pts.append((node, depth, width, 1, ports))
                for banks in (2, 4, 8, 16, 32):
                    if depth // banks >= 32:
                        pts.append((node, depth, width, banks, 1))
    return pts


def check_points():
    """Arrays off the grid (depths and widths not powers of two, nodes
    between CACTI's technology files, which CACTI interpolates itself),
    for measuring the model's interpolation error; never used to fit."""
    pts = []
    sizes = [(100, 24), (192, 16), (192, 32), (700, 48), (3000, 48), (12000, 96),
             (55296, 16), (20000, 200), (1500, 512)]
    for node in (22, 28, 32, 40, 45, 55, 65, 90):
        for depth, width in sizes:
            pts.append((node, depth, width, 1, 1))
    for node in (40, 65):
        pts += [(node, 12000, 96, 4, 1), (node, 3000, 48, 8, 1), (node, 3000, 48, 1, 2),
                (node, 55296, 16, 32, 1)]
    return pts


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("cacti_dir")
    ap.add_argument("-o", default="data/tech/cacti_sram.csv")
    ap.add_argument("-j", type=int, default=2)
    ap.add_argument("--check", action="store_true",
                    help="compute the held-out check points instead of the grid")
    ap.add_argument("--cacti-version", default=None,
                    help="what to record as the CACTI version (default: git HEAD of CACTI_DIR)")
    a = ap.parse_args()
    version = a.cacti_version
    if version is None:
        try:
            version = subprocess.run(["git", "-C", a.cacti_dir, "rev-parse", "HEAD"],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True).stdout.strip() or "unknown"
        except OSError:
            version = "unknown"
    pts = check_points() if a.check else grid()
    res = {}
    with concurrent.futures.ThreadPoolExecutor(a.j) as ex:
        for p, r in ex.map(lambda p: run_point(a.cacti_dir, p), pts):
            res[p] = r
            if r is None:
                print(f"cacti failed for node={p[0]} depth={p[1]} width={p[2]} banks={p[3]} ports={p[4]}",
                      file=sys.stderr)
    buf = io.StringIO()
    buf.write("# SRAM energy, leakage and area computed by CACTI 7 (HewlettPackard/cacti %s)\n" % version)
    buf.write("# with Accelergy's CACTI plug-in settings (bench/tech_cacti_grid.py, which wrote this file:\n")
    buf.write("#   bench/tech_cacti_grid.py CACTI_DIR%s -o %s, %s).\n" %
              (" --check" if a.check else "", a.o, datetime.date.today().isoformat()))
    if a.check:
        buf.write("# Held-out points (off the grid of cacti_sram.csv), for measuring the model only.\n")
    buf.write("# One scratch RAM per row, one word per access; read_pj/write_pj per access,\n")
    buf.write("# leak_mw the standby leakage of all banks, area_um2 the whole array.\n")
    buf.write("# node_nm,depth,width,banks,ports,read_pj,write_pj,leak_mw,area_um2\n")
    n = 0
    for p in pts:
        r = res.get(p)
        if r is None:
            continue
        buf.write("%d,%d,%d,%d,%d,%.6g,%.6g,%.6g,%.6g\n" % (p + r))
        n += 1
    os.makedirs(os.path.dirname(os.path.abspath(a.o)), exist_ok=True)
    with open(a.o, "w") as f:
        f.write(buf.getvalue())
    print(f"{n} of {len(pts)} points written to {a.o}")
    return 0 if n == len(pts) else 1


if __name__ == "__main__":
    sys.exit(main())
