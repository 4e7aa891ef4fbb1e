#!/usr/bin/env python3
"""Where a searched design's gain comes from: the `breakdown` objects of
`naasc --search` result.json files (docs/search.md, "Outputs") as Markdown
tables, the design against each budget design it was compared with.

  bench/breakdown.py [--stamp CMD] RESULT...

Each RESULT is a result.json, a search's output folder (DIR/result.json), or
a bench/results.py work folder (WORK/BUDGET.NET.naas/result.json, the
co-search runs; sizing-only and random runs carry no baselines).  One table
per scenario and model: every energy component (the MACs; each storage
level's access energy, i.e. its reads, fills and updates, its network and
its leakage; the vector unit), the cycles by what bounds each nest (compute,
a level's bandwidth, the vector unit), DRAM words, MACs and utilization,
area and peak power by component, for the design, the budget design
best-mapped (`baseline`) and as built (`baseline_as_built`).

`x` is baseline / design (above 1: the design is better).  `of EDP` is the
factor of the EDP gain that a component accounts for: the EDP gain is
energy saving x speedup, and each component gets the share of log(energy
saving) (of log(speedup) for cycles) that its own difference is of the
total difference: (b_k - d_k) / (B - D) x log(B / D), shown as exp of it.
The factors of the energy rows multiply to the energy saving, those of the
cycle rows to the speedup, all of them to the EDP gain; a factor below 1 is
a component the design spends more on.  Components of levels that exist on
one side only (the template's levels against the chip's) count as 0 on the
other.  --stamp CMD prints a stamp line (bench/stamp.py's form) naming CMD,
this checkout's commit and the machine, before the first table.
"""
import datetime
import glob
import json
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stamp  # noqa: E402  (bench/stamp.py: commit() and machine())


def results(paths):
    """(path, result) of every result.json the arguments name, in order."""
    out = []
    for p in paths:
        if os.path.isdir(p) and os.path.exists(os.path.join(p, "result.json")):
            p = os.path.join(p, "result.json")
        if os.path.isdir(p):
            found = sorted(glob.glob(os.path.join(p, "*.naas", "result.json")))
            if not found:
                sys.exit(f"{p}: no result.json, nor WORK/*.naas/result.json in it")
            out += [(f, load(f)) for f in found]
        else:
            out.append((p, load(p)))
    return out


def load(path):
    try:
        with open(path) as f:
            r = json.load(f)
    except (OSError, ValueError) as e:
        sys.exit(f"{path}: {e}")
    if "breakdown" not in r:
        sys.exit(f"{path}: no 'breakdown' (a result.json of a naasc older than the breakdown)")
    return r


def fmt(v):
    if v is None:
        return "-"
    if v == 0:
        return "0"
    a = abs(v)
    return f"{v:.3g}" if 1e-2 <= a < 1e3 else f"{v:.3e}".replace("e+0", "e").replace("e+", "e")


def ratio(b, d):
    if b is None or d is None:
        return "-"
    if d == 0:
        return "-" if b == 0 else "inf"
    return f"{b / d:.2f}"


def rows_of(side, m):
    """Rows (section, label, value) of one side for model m, and its per-model breakdown.
    Sections: energy and cycles (their rows sum to the totals), sub (energy
    subtotals by kind of level, not multiplied in), other."""
    b = side["breakdown"]
    pm = next(x for x in b["per_model"] if x["model"] == m)
    lv = pm["levels"]
    rows = [("energy", "MAC", pm["mac_energy_pj"])]
    for L in lv:
        rows.append(("energy", f"{L['name']} access", L["access_pj"]))
        rows.append(("energy", f"{L['name']} network", L["noc_pj"]))
    rows.append(("energy", "leakage, all levels", sum(L["leak_pj"] for L in lv)))
    rows.append(("energy", "vector unit", pm["vector"]["energy_pj"]))
    # Level 0 is DRAM (the template's and every preset's); the others are shared
    # buffers (one instance) or storage in every PE (many).
    rows.append(("sub", "DRAM, all", lv[0]["energy_pj"]))
    rows.append(("sub", "shared buffers, all", sum(L["energy_pj"] for L in lv[1:] if L.get("instances", 1) == 1)))
    rows.append(("sub", "per-PE storage, all", sum(L["energy_pj"] for L in lv[1:] if L.get("instances", 1) > 1)))
    for k, v in pm["bound_cycles"].items():
        rows.append(("cycles", "vector unit" if k == "vector" else f"bound by {k}", v))
    rows.append(("other", "DRAM words", pm["dram_words"]))
    rows.append(("other", "MACs", pm["macs"]))
    rows.append(("other", "utilization", pm["utilization"]))
    rows.append(("other", "PEs", b["pes"]))
    rows.append(("other", "**area** (mm2)", side["area_um2"] / 1e6))
    for k, v in b["area_um2"].items():
        rows.append(("other", f"area {k} (mm2)", v / 1e6))
    rows.append(("other", "**peak power** (mW)", side["power_mw"]))
    for k, v in b["power_mw"].items():
        rows.append(("other", f"peak power {k} (mW)", v))
    return rows, pm


def factor(bk, dk, B, D):
    """The factor of B / D that component k accounts for (see the header)."""
    if B == D or B <= 0 or D <= 0:
        return 1.0
    return math.exp((bk - dk) / (B - D) * math.log(B / D))


def table(path, r, m):
    sides = [("design", r)] + [(k, r[k]) for k in ("baseline", "baseline_as_built") if k in r]
    names = {"baseline": "best-mapped", "baseline_as_built": "as built"}
    got = {k: rows_of(s, m) for k, s in sides}
    order, seen = [], set()
    for k, _ in sides:  # the union of the rows, the design's first
        for sec, lab, _v in got[k][0]:
            if (sec, lab) not in seen:
                seen.add((sec, lab))
                order.append((sec, lab))
    group = lambda lab: 1 if "area" in lab else 2 if "power" in lab else 0
    order.sort(key=lambda x: group(x[1]) if x[0] == "other" else 0)  # stable: area rows, then power
    val = {k: {(sec, lab): v for sec, lab, v in got[k][0]} for k, _ in sides}
    pm = {k: got[k][1] for k, _ in sides}
    tot = {k: {"energy": pm[k]["energy_pj"], "cycles": pm[k]["cycles"]} for k, _ in sides}
    out = [f"**{m} within {r['budget']}** (`{os.path.relpath(path)}`; {r['assume']} cost model, "
           f"{r['schedule']} schedules)", ""]
    head = "| component | design |"
    sep = "|---|---:|"
    for k, _ in sides[1:]:
        head += f" {names[k]} | x | of EDP |"
        sep += "---:|---:|---:|"
    out += [head, sep]

    def line(label, dv, cells):
        return f"| {label} | {dv} |" + "".join(f" {c[0]} | {c[1]} | {c[2]} |" for c in cells)

    for sec_name, unit in (("energy", "pJ"), ("cycles", "cycles")):
        for sec, lab in order:
            if sec != sec_name:
                continue
            vs = [val[k].get((sec, lab)) for k, _ in sides]
            if all(not v for v in vs):
                continue  # a component nobody spends on
            d = vs[0] or 0
            cells = []
            for k, _ in sides[1:]:
                bv = val[k].get((sec, lab))
                f = factor(bv or 0, d, tot[k][sec], tot["design"][sec])
                cells.append((fmt(bv), ratio(bv, d if (sec, lab) in val["design"] else None), f"{f:.2f}"))
            out.append(line(f"{lab} ({unit})", fmt(vs[0]), cells))
        cells = [(fmt(tot[k][sec_name]), ratio(tot[k][sec_name], tot["design"][sec_name]),
                  ratio(tot[k][sec_name], tot["design"][sec_name])) for k, _ in sides[1:]]
        out.append(line(f"**total {'energy' if sec_name == 'energy' else 'cycles'}**",
                        fmt(tot["design"][sec_name]), cells))
    edp = {k: tot[k]["energy"] * tot[k]["cycles"] for k, _ in sides}
    out.append(line("**EDP** (pJ x cycles)", fmt(edp["design"]),
                    [(fmt(edp[k]), ratio(edp[k], edp["design"]), ratio(edp[k], edp["design"]))
                     for k, _ in sides[1:]]))
    for sec, lab in order:
        if sec != "sub":
            continue
        vs = [val[k].get((sec, lab)) for k, _ in sides]
        if all(not v for v in vs):
            continue
        cells = [(fmt(val[k].get((sec, lab))), ratio(val[k].get((sec, lab)), vs[0]),
                  f"({factor(val[k].get((sec, lab)), vs[0], tot[k]['energy'], tot['design']['energy']):.2f})")
                 for k, _ in sides[1:]]
        out.append(line(f"*{lab} (pJ)*", fmt(vs[0]), cells))
    for sec, lab in order:
        if sec != "other":
            continue
        vs = [val[k].get((sec, lab)) for k, _ in sides]
        cells = [(fmt(val[k].get((sec, lab))), ratio(val[k].get((sec, lab)), vs[0]), "") for k, _ in sides[1:]]
        out.append(line(lab, fmt(vs[0]), cells))
    for k, _ in sides:
        if not pm[k]["leak_split"]:
            out.append("")
            out.append("Leakage inside depth-first groups is counted in their levels' access energy "
                       "(`leak_split` false on some side; docs/search.md).")
            break
    return "\n".join(out)


def main():
    argv = sys.argv[1:]
    cmd = None
    if len(argv) >= 2 and argv[0] == "--stamp":
        cmd, argv = argv[1], argv[2:]
    if not argv or argv[0].startswith("-"):
        sys.exit(__doc__)
    if cmd:
        now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        print(f"<!-- generated by: {cmd} @ {stamp.commit()} on {now}, {stamp.machine()} -->")
    tabs = []
    for path, r in results(argv):
        for m in r["models"]:
            tabs.append(table(path, r, m))
    print("\n\n".join(tabs))


if __name__ == "__main__":
    main()
