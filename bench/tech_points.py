#!/usr/bin/env python3
"""Regenerates the measured part of docs/technology.md (between
<!-- tech:begin --> and <!-- tech:end -->): the technology model
(`naasc tech`) against every published point it uses or is checked
against, and the components of the three dense example designs of
timeloop-accelergy-exercises beside Accelergy's energy and area tables.

  bench/tech_points.py NAASC [--exercises DIR] [--doc docs/technology.md] [--no-doc]

NAASC is the naasc binary; every model figure in the tables is what
`naasc tech ...` printed (the query is shown).  DIR defaults to
../shared/validation/timeloop-exercises beside the repository.  The table
is stamped with the commit and this command.  Errors are model / published
- 1, in percent.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
DESIGNS = ["eyeriss_like", "simple_weight_stationary", "simple_output_stationary"]


class Naasc:
    def __init__(self, path):
        self.path = path
        self.cache = {}

    def tech(self, query):
        if query not in self.cache:
            p = subprocess.run([self.path, "tech"] + query.split(), capture_output=True, text=True)
            if p.returncode != 0:
                raise SystemExit(f"naasc tech {query}: exit {p.returncode}: {p.stderr.strip()}")
            self.cache[query] = json.loads(p.stdout)
        return self.cache[query]


def err(model, pub):
    if pub == 0:
        return "n/a (published 0)"
    return "%+.1f%%" % ((model / pub - 1) * 100)


def num(x):
    if x == 0:
        return "0"
    if abs(x) >= 1e5 or abs(x) < 1e-3:
        return "%.4g" % x
    return "%.4g" % x


# ---- published points -------------------------------------------------------

# (source, what, query, field, published value, role)
HZ = "Horowitz ISSCC 2014 (45 nm, 0.9 V)"
POINTS = [
    (HZ, "8-bit add, energy (pJ)", "mac op=add bits=8 technology=45nm", "energy_pj", 0.03, "fit"),
    (HZ, "32-bit add, energy (pJ)", "mac op=add bits=32 technology=45nm", "energy_pj", 0.1, "fit"),
    (HZ, "8-bit multiply, energy (pJ)", "mac op=mul bits=8 technology=45nm", "energy_pj", 0.2, "fit"),
    (HZ, "32-bit multiply, energy (pJ)", "mac op=mul bits=32 technology=45nm", "energy_pj", 3.1, "fit"),
    (HZ, "fp16 add, energy (pJ)", "mac op=add type=fp16 technology=45nm", "energy_pj", 0.4, "fit"),
    (HZ, "fp32 add, energy (pJ)", "mac op=add type=fp32 technology=45nm", "energy_pj", 0.9, "fit"),
    (HZ, "fp16 multiply, energy (pJ)", "mac op=mul type=fp16 technology=45nm", "energy_pj", 1.1, "fit"),
    (HZ, "fp32 multiply, energy (pJ)", "mac op=mul type=fp32 technology=45nm", "energy_pj", 3.7, "fit"),
    (HZ, "8-bit add, area (um^2)", "mac op=add bits=8 technology=45nm", "area_um2", 36, "fit"),
    (HZ, "32-bit add, area (um^2)", "mac op=add bits=32 technology=45nm", "area_um2", 137, "fit"),
    (HZ, "8-bit multiply, area (um^2)", "mac op=mul bits=8 technology=45nm", "area_um2", 282, "fit"),
    (HZ, "32-bit multiply, area (um^2)", "mac op=mul bits=32 technology=45nm", "area_um2", 3495, "fit"),
    (HZ, "fp16 add, area (um^2)", "mac op=add type=fp16 technology=45nm", "area_um2", 1360, "fit"),
    (HZ, "fp32 add, area (um^2)", "mac op=add type=fp32 technology=45nm", "area_um2", 4184, "fit"),
    (HZ, "fp16 multiply, area (um^2)", "mac op=mul type=fp16 technology=45nm", "area_um2", 1640, "fit"),
    (HZ, "fp32 multiply, area (um^2)", "mac op=mul type=fp32 technology=45nm", "area_um2", 7700, "fit"),
    (HZ, "8 KB cache, 64-bit read (pJ)", "sram depth=1024 width=64 technology=45nm", "read_pj", 10, "check"),
    (HZ, "32 KB cache, 64-bit read (pJ)", "sram depth=4096 width=64 technology=45nm", "read_pj", 20, "check"),
    (HZ, "1 MB cache, 64-bit read (pJ)", "sram depth=131072 width=64 technology=45nm", "read_pj", 100,
     "check"),
    ("Aladdin (Shao et al. ISCA 2014), 40 nm", "1-bit register, access energy (pJ)",
     "regfile depth=1 width=1 technology=40nm", "read_pj", 0.009, "fit"),
    ("Aladdin (Shao et al. ISCA 2014), 40 nm", "1-bit register, area (um^2)",
     "regfile depth=1 width=1 technology=40nm", "area_um2", 5.98, "fit"),
    ("Aladdin (Shao et al. ISCA 2014), 40 nm", "1-bit register, leakage (pJ/cycle at 1 ns)",
     "regfile depth=1 width=1 technology=40nm", "leak_pj_per_cycle", 7e-5, "fit"),
    ("Accelergy CACTI plug-in DRAM table", "LPDDR4, 64-bit access (pJ)", "dram type=LPDDR4 width=64",
     "read_pj", 8 * 64, "fit"),
    ("Accelergy CACTI plug-in DRAM table", "HBM2, 64-bit access (pJ)", "dram type=HBM2 width=64",
     "read_pj", 3.9 * 64, "fit"),
    ("Accelergy CACTI plug-in DRAM table", "GDDR5, 64-bit access (pJ)", "dram type=GDDR5 width=64",
     "read_pj", 14 * 64, "fit"),
]

# Ratios: (source, what, numerator query/field, denominator query/field, published, role)
EY = "Eyeriss ISCA 2016 Table IV (65 nm, 16 bit)"
MAC16_65 = ("mac bits=16 technology=65nm", "energy_pj")
RATIOS = [
    (EY, "RF (0.5 kB) read / MAC", ("regfile depth=256 width=16 technology=65nm", "read_pj"), MAC16_65, 1,
     "fit"),
    (EY, "inter-PE hop (1 mm assumed) / MAC", ("noc width=16 length_mm=1 technology=65nm", "energy_pj"),
     MAC16_65, 2, "check"),
    (EY, "global buffer (108 kB, 27 banks) read / MAC",
     ("sram depth=55296 width=16 banks=27 technology=65nm", "read_pj"), MAC16_65, 6, "check"),
    (EY, "DRAM (LPDDR4) / MAC", ("dram type=LPDDR4 width=16", "read_pj"), MAC16_65, 200, "check"),
    (EY, "DRAM (DDR4) / MAC", ("dram type=DDR4 width=16", "read_pj"), MAC16_65, 200, "check"),
    ("Google Cloud, bfloat16 (2019)", "bf16 / fp16 multiplier area",
     ("mac op=mul type=bf16 technology=45nm", "area_um2"), ("mac op=mul type=fp16 technology=45nm", "area_um2"),
     0.5, "check"),
    ("Google Cloud, bfloat16 (2019)", "bf16 / fp32 multiplier area",
     ("mac op=mul type=bf16 technology=45nm", "area_um2"), ("mac op=mul type=fp32 technology=45nm", "area_um2"),
     0.125, "check"),
]


def read_cacti(path):
    rows = []
    for line in open(path):
        if line[:1].isdigit():
            v = line.strip().split(",")
            rows.append(tuple(int(x) for x in v[:5]) + tuple(float(x) for x in v[5:]))
    return rows


def cacti_query(r):
    node, depth, width, banks, ports = r[:5]
    return f"sram depth={depth} width={width} banks={banks} ports={ports} technology={node}nm"


CACTI_FIELDS = [("read_pj", 5), ("write_pj", 6), ("leak_pj_per_cycle", 7), ("area_um2", 8)]


def cacti_errors(nx, rows):
    out = []
    for r in rows:
        m = nx.tech(cacti_query(r))
        out.append([m[f] / r[i] - 1 for f, i in CACTI_FIELDS])
    return out


def summary(errs, k):
    a = [abs(e[k]) * 100 for e in errs]
    return statistics.median(a), max(a)


# ---- the exercise designs ------------------------------------------------------


def parse_flat(path):
    """The components of a timeloop-mapper.flattened_architecture.yaml: name ->
    {class, subclass, attrs}."""
    comps, cur, in_attrs = {}, None, False
    for line in open(path):
        m = re.match(r"\s*- name: (\S+)", line)
        if m and line.startswith("      - name:"):
            cur = {"class": None, "subclass": None, "attrs": {}}
            comps[m.group(1)] = cur
            in_attrs = False
            continue
        if cur is None:
            continue
        m = re.match(r"\s{8}(class|subclass): (\S+)", line)
        if m:
            cur[m.group(1)] = m.group(2)
            in_attrs = False
            continue
        if re.match(r"\s{8}attributes:", line):
            in_attrs = True
            continue
        if re.match(r"\s{8}\S", line):
            in_attrs = False
            continue
        m = re.match(r"\s{12}(\w+): (.*)", line)
        if m and in_attrs:
            cur["attrs"][m.group(1)] = m.group(2).strip().strip('"')
    return comps


def parse_ert(path):
    """name -> {action: energy} of a timeloop-mapper.ERT_summary.yaml."""
    out, cur, act = {}, None, None
    for line in open(path):
        m = re.match(r"      - name: (\S+)", line)
        if m:
            cur = out.setdefault(m.group(1), {})
            continue
        m = re.match(r"          - name: (\S+)", line)
        if m and cur is not None:
            act = m.group(1)
            continue
        m = re.match(r"            energy: (\S+)", line)
        if m and cur is not None and act:
            cur[act] = float(m.group(1))
            act = None
        if re.match(r"        primitive_estimation", line):
            cur = cur  # estimator list follows; actions are done
    return out


def parse_art(path):
    out, cur = {}, None
    for line in open(path):
        m = re.match(r"      - name: (\S+)", line)
        if m:
            cur = m.group(1)
            continue
        m = re.match(r"        area: (\S+)", line)
        if m and cur:
            out[cur] = float(m.group(1))
    return out


def parse_stats(path):
    """Per component: block size, instances and per-dataspace (utilized
    instances, reads, fills, updates); computes; cycles; total energy (uJ)."""
    comps, cur, ds = {}, None, None
    cycles = energy = None
    text = open(path).read()
    for line in text.splitlines():
        m = re.match(r"=== (\S+) ===", line)
        if m:
            cur = comps.setdefault(m.group(1), {"block": 1, "instances": 1, "ds": {}, "computes": 0})
            ds = None
            continue
        if cur is None:
            continue
        m = re.match(r"\s+Block size\s+: (\d+)", line)
        if m:
            cur["block"] = int(m.group(1))
        m = re.match(r"\s+Instances\s+: (\d+)", line)
        if m:
            cur["instances"] = int(m.group(1))
        m = re.match(r"\s+Computes \(total\)\s+: (\d+)", line)
        if m:
            cur["computes"] = int(m.group(1))
        m = re.match(r"    (Weights|Inputs|Outputs):$", line)
        if m:
            ds = cur["ds"].setdefault(m.group(1), {})
            continue
        if ds is not None:
            m = re.match(r"\s+(Utilized instances \(max\)|Scalar reads \(per-instance\)|"
                         r"Scalar fills \(per-instance\)|Scalar updates \(per-instance\))\s+: (\d+)", line)
            if m:
                ds[m.group(1).split(" (")[0]] = int(m.group(2))
        if line.startswith("Summary Stats"):
            cur = None
    m = re.search(r"^Cycles: (\d+)", text, re.M)
    cycles = int(m.group(1))
    m = re.search(r"^Energy: ([\d.]+) uJ", text, re.M)
    energy = float(m.group(1))
    return comps, cycles, energy


def short(name):
    return re.sub(r"^system_top_level\.|\[.*\]$", "", name)


def model_query(comp):
    """The `naasc tech` query for a component as Accelergy costed it, or None."""
    cls, sub, a = comp["class"], comp["subclass"], comp["attrs"]
    tech = a.get("technology", "")
    if cls == "DRAM":
        return f"dram type={a['type']} width={a['width']}"
    if cls == "smartbuffer_SRAM":
        # the storage subcomponent is given width, depth and ports, not n_banks
        return f"sram depth={a['depth']} width={a['width']} technology={tech}"
    if cls == "smartbuffer_RF" or (cls == "storage" and sub == "aladdin_register"):
        return f"regfile depth={a['depth']} width={a['width']} technology={tech}"
    if cls == "intmac":
        return f"mac bits={a['multiplier_width']} acc=int{a['adder_width']} technology={tech}"
    return None


def design_tables(nx, exdir):
    out = []
    all_rows = []
    totals = []
    for design in DESIGNS:
        ref = os.path.join(exdir, design, "ref_outputs", "default_problem")
        flat = parse_flat(os.path.join(ref, "timeloop-mapper.flattened_architecture.yaml"))
        ert = parse_ert(os.path.join(ref, "timeloop-mapper.ERT_summary.yaml"))
        art = parse_art(os.path.join(ref, "timeloop-mapper.ART_summary.yaml"))
        stats, cycles, energy_uj = parse_stats(os.path.join(ref, "timeloop-mapper.stats.txt"))
        out.append(f"\n#### {design}\n")
        out.append("| component | Accelergy class | model query (`naasc tech ...`) | figure | Accelergy | model | error |")
        out.append("|---|---|---|---|---|---|---|")
        acc_total = mod_total = 0.0
        per_comp = []
        for name, comp in flat.items():
            q = model_query(comp)
            if q is None or name not in ert:
                continue
            m = nx.tech(q)
            e = ert[name]
            cls = comp["class"] + (f" ({comp['subclass']})" if comp["subclass"] else "")
            if comp["class"] == "intmac":
                figs = [("compute (pJ)", e.get("compute", 0), m["energy_pj"]),
                        ("leak (pJ/cycle)", e.get("leak", 0), m["leak_pj_per_cycle"])]
            elif comp["class"] == "DRAM":
                figs = [("read (pJ)", e.get("read", 0), m["read_pj"]), ("write (pJ)", e.get("write", 0), m["write_pj"])]
            else:
                figs = [("read (pJ)", e.get("read", 0), m["read_pj"]), ("write (pJ)", e.get("write", 0), m["write_pj"]),
                        ("leak (pJ/cycle)", e.get("leak", 0), m["leak_pj_per_cycle"])]
            if comp["class"] != "DRAM":
                figs.append(("area (um^2)", art.get(name, 0), m["area_um2"]))
            for i, (fig, pub, mod) in enumerate(figs):
                first = i == 0
                out.append("| %s | %s | %s | %s | %s | %s | %s |" % (
                    short(name) if first else "", cls if first else "", f"`{q}`" if first else "", fig,
                    num(pub), num(mod), err(mod, pub)))
                all_rows.append((design, short(name), fig, pub, mod))
            # this component's energy over the mapping, with Timeloop's counts
            sname = short(name)
            st = stats.get(sname)
            if st is None:
                continue
            inst = int(re.search(r"\[1\.\.(\d+)\]", name).group(1))
            if comp["class"] == "intmac":
                a = st["computes"] * e.get("compute", 0) + e.get("leak", 0) * inst * cycles
                b = st["computes"] * m["energy_pj"] + m["leak_pj_per_cycle"] * inst * cycles
            else:
                blk = st["block"]
                a = b = 0.0
                for dsv in st["ds"].values():
                    u = dsv.get("Utilized instances", 0)
                    r, f, up = dsv.get("Scalar reads", 0), dsv.get("Scalar fills", 0), dsv.get("Scalar updates", 0)
                    a += u * (r * e.get("read", 0) + f * e.get("write", 0) + up * e.get("update", 0)) / blk
                    b += u * (r * m["read_pj"] + f * m["write_pj"] + up * m["update_pj"]) / blk
                a += e.get("leak", 0) * inst * cycles
                b += m.get("leak_pj_per_cycle", 0) * inst * cycles
            acc_total += a
            mod_total += b
            per_comp.append((sname, a, b))
        totals.append((design, energy_uj, acc_total / 1e6, mod_total / 1e6, per_comp))
    return out, all_rows, totals


def git_stamp():
    try:
        c = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                           text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        return c + ("+uncommitted changes" if dirty else "")
    except OSError:
        return "unknown"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("naasc")
    ap.add_argument("--exercises", default=os.path.join(ROOT, "..", "shared", "validation", "timeloop-exercises"))
    ap.add_argument("--doc", default=os.path.join(ROOT, "docs", "technology.md"))
    ap.add_argument("--no-doc", action="store_true")
    a = ap.parse_args()
    nx = Naasc(a.naasc)
    L = []
    cmd = "bench/tech_points.py " + " ".join(
        os.path.relpath(x, ROOT) if os.path.exists(x) else x for x in sys.argv[1:])
    L.append(f"Generated by `{cmd}` at commit {git_stamp()}; every model figure is what "
             "`naasc tech` printed for the query shown. Error = model / published - 1.\n")

    # 1. single published points and ratios
    L.append("### Published points\n")
    L.append("\"fit\": the model is built through this point (its error shows the fit is exact); "
             "\"check\": an independent point the model was not fitted to.\n")
    L.append("| source | figure | model query (`naasc tech ...`) | published | model | error | role |")
    L.append("|---|---|---|---|---|---|---|")
    for src, what, q, field, pub, role in POINTS:
        m = nx.tech(q)[field]
        L.append(f"| {src} | {what} | `{q}` | {num(pub)} | {num(m)} | {err(m, pub)} | {role} |")
    for src, what, (qn, fn), (qd, fd), pub, role in RATIOS:
        m = nx.tech(qn)[fn] / nx.tech(qd)[fd]
        L.append(f"| {src} | {what} | `{qn}` / `{qd}` | {num(pub)} | {num(m)} | {err(m, pub)} | {role} |")

    # 2. CACTI
    grid = read_cacti(os.path.join(ROOT, "data", "tech", "cacti_sram.csv"))
    check = read_cacti(os.path.join(ROOT, "data", "tech", "cacti_sram_check.csv"))
    ge = cacti_errors(nx, grid)
    ce = cacti_errors(nx, check)
    L.append("\n### CACTI points\n")
    L.append(f"The model against its {len(grid)} CACTI points (data/tech/cacti_sram.csv; single-bank "
             "single-port grid plus the banked and multi-ported arrays it takes its bank and port "
             "factors from), and against the "
             f"{len(check)} held-out CACTI points of data/tech/cacti_sram_check.csv (depths and widths "
             "off the grid, nodes between CACTI's technology files, banks and ports at sizes not in "
             "the file), which the model was not fitted to.\n")
    L.append("| points | read: median / max abs error | write | leakage | area |")
    L.append("|---|---|---|---|---|")
    for label, errs in (("grid (fit)", ge), ("held out (check)", ce)):
        cells = ["%.1f%% / %.1f%%" % summary(errs, k) for k in range(4)]
        L.append(f"| {label}, {len(errs)} | " + " | ".join(cells) + " |")
    L.append("\nEvery held-out point:\n")
    L.append("| node (nm) | depth | width | banks | ports | CACTI read (pJ) | model | error | CACTI write | model | error "
             "| CACTI leak (mW) | error | CACTI area (um^2) | model | error |")
    L.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in check:
        m = nx.tech(cacti_query(r))
        L.append("| %d | %d | %d | %d | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            r[0], r[1], r[2], r[3], r[4], num(r[5]), num(m["read_pj"]), err(m["read_pj"], r[5]), num(r[6]),
            num(m["write_pj"]), err(m["write_pj"], r[6]), num(r[7]), err(m["leak_pj_per_cycle"], r[7]),
            num(r[8]), num(m["area_um2"]), err(m["area_um2"], r[8])))

    # 3. the exercise designs
    L.append("\n### The dense example designs of timeloop-accelergy-exercises\n")
    L.append("Each component of eyeriss_like, simple_weight_stationary and simple_output_stationary "
             "(`ref_outputs/default_problem`: attributes from `timeloop-mapper.flattened_architecture.yaml`, "
             "Accelergy's figures from `timeloop-mapper.ERT_summary.yaml` and `ART_summary.yaml`), with the "
             "attributes Accelergy's estimators received, beside the model's figures.")
    if os.path.isdir(a.exercises):
        rows, all_rows, totals = design_tables(nx, a.exercises)
        L += rows
        q1 = "sram depth=16384 width=64 technology=32nm"
        q32 = "sram depth=16384 width=64 banks=32 technology=32nm"
        m1, m32 = nx.tech(q1), nx.tech(q32)
        L.append("\neyeriss_like's arch gives shared_glb `n_banks: 32`, which Accelergy's smartbuffer_SRAM does "
                 "not pass on to CACTI; with the banks the model gives (`%s`): read %s pJ (%s against one bank), "
                 "area %s um^2 (%s)." % (q32, num(m32["read_pj"]), err(m32["read_pj"], m1["read_pj"]),
                                          num(m32["area_um2"]), err(m32["area_um2"], m1["area_um2"])))
        L.append("\n#### Energy of each design's mapping\n")
        L.append("Timeloop's access counts of the stored mapping (`timeloop-mapper.stats.txt`: reads, fills "
                 "and updates per level and tensor, MACs, cycles) priced with Accelergy's table and with the "
                 "model's. The first column is Timeloop's own total; the second recomputes it from the counts "
                 "and Accelergy's table, as a check of the recomputation.\n")
        L.append("| design | Timeloop total (uJ) | counts x Accelergy (uJ) | counts x model (uJ) | model error |")
        L.append("|---|---|---|---|---|")
        for design, tl, acc, mod, _ in totals:
            L.append(f"| {design} | {tl:.2f} | {acc:.2f} | {mod:.2f} | {err(mod, acc)} |")
        L.append("\nPer component (uJ over the mapping), the largest absolute differences first:\n")
        L.append("| design | component | Accelergy | model | difference | error |")
        L.append("|---|---|---|---|---|---|")
        for design, _, _, _, per in totals:
            for sname, x, y in sorted(per, key=lambda t: -abs(t[2] - t[1])):
                L.append(f"| {design} | {sname} | {x / 1e6:.3f} | {y / 1e6:.3f} | {(y - x) / 1e6:+.3f} | {err(y, x)} |")
    else:
        L.append(f"\n(skipped: {a.exercises} not found)\n")
    text = "\n".join(L) + "\n"
    if a.no_doc:
        sys.stdout.write(text)
        return 0
    doc = open(a.doc).read()
    begin, end = "<!-- tech:begin -->", "<!-- tech:end -->"
    i, j = doc.index(begin) + len(begin), doc.index(end)
    open(a.doc, "w").write(doc[:i] + "\n" + text + doc[j:])
    print(f"wrote {os.path.relpath(a.doc)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
