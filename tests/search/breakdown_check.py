#!/usr/bin/env python3
"""Checks the `breakdown` objects of a search's result.json (docs/search.md, "Outputs").

  breakdown_check.py OUT_DIR [FRESH.json]

For the design and each baseline it has (best-mapped, as built), per model:
the energy parts (MAC, every level's access + network + leakage, the vector
unit) sum to the model's energy_pj, the DRAM level's reads + fills + updates
are its dram_words, the cycles its nests are bound by (compute, each level,
the vector unit) sum to its cycles, and utilization is macs / (PEs x cycles);
with one model, the model's figures are the side's totals; the design's
vector unit share is per_model's vector_energy_pj and vector_cycles; area and peak
power by component sum to area_um2 and power_mw.  Then the design's energy
per level against the report the search wrote beside it (OUT_DIR/MODEL.report.json,
the report's own sums over the same mappings and schedule).

With FRESH.json, the report of `naasc MODEL --target OUT_DIR/arch.yaml
--report=FRESH.json` (the compiler's own mappings, so not the same counts):
the design's area by component sums to its area, and its MAC energy per MAC
is the report's (arch.yaml read back gives the same technology figures).

Tolerances: 1e-9 relative for sums of figures result.json writes with 17
digits (energy, cycles, DRAM words); 1e-8 for area_um2 and power_mw, which it
writes with 9, and for the report's energies (9 digits too).  Prints one
line per check and a few values; exit 1 if a check fails.
"""
import json
import sys


def close(a, b, tol):
    return abs(a - b) <= tol * max(abs(a), abs(b), 1e-300)


def main():
    out = sys.argv[1]
    r = json.load(open(out + "/result.json"))
    sides = [("design", r)] + [(k, r[k]) for k in ("baseline", "baseline_as_built") if k in r]
    bad = 0

    def check(what, ok):
        nonlocal bad
        bad += not ok
        print(what, "ok" if ok else "FAILED")

    for name, s in sides:
        b = s["breakdown"]
        check(f"{name}: area parts = area_um2", close(sum(b["area_um2"].values()), s["area_um2"], 1e-8))
        check(f"{name}: power parts = power_mw", close(sum(b["power_mw"].values()), s["power_mw"], 1e-8))
        for m in b["per_model"]:
            lv = m["levels"]
            parts = m["mac_energy_pj"] + sum(L["energy_pj"] for L in lv) + m["vector"]["energy_pj"]
            check(f"{name} {m['model']}: energy parts = energy_pj", close(parts, m["energy_pj"], 1e-9))
            split = all(close(L["access_pj"] + L["noc_pj"] + L["leak_pj"], L["energy_pj"], 1e-9) for L in lv)
            check(f"{name} {m['model']}: access + noc + leak = each level's energy", split)
            dram = lv[0]["reads"] + lv[0]["fills"] + lv[0]["updates"]
            check(f"{name} {m['model']}: DRAM reads + fills + updates = dram_words", dram == m["dram_words"])
            check(f"{name} {m['model']}: bound cycles = cycles", sum(m["bound_cycles"].values()) == m["cycles"])
            check(f"{name} {m['model']}: utilization = macs / (PEs x cycles)",
                  close(m["utilization"], m["macs"] / (b["pes"] * m["cycles"]), 1e-8))
            if name == "design":  # the vector unit's share as per_model has it
                f = next(x for x in r["per_model"] if x["model"] == m["model"])
                check(f"{name} {m['model']}: vector unit = per_model's vector share",
                      close(m["vector"]["energy_pj"], f["vector_energy_pj"], 1e-9)
                      and m["vector"]["cycles"] == f["vector_cycles"])
            if len(b["per_model"]) == 1:
                check(f"{name}: the model's figures are the totals",
                      close(m["energy_pj"], s["energy_pj"], 1e-9) and m["cycles"] == s["cycles"])
            print(f"{name} {m['model']}: source {m['source']}, leak_split {m['leak_split']},",
                  "DRAM words %d (reads %d, updates %d)," % (dram, lv[0]["reads"], lv[0]["updates"]),
                  "bound cycles", {k: int(v) for k, v in m["bound_cycles"].items()})
    # The design against its report: the report sums each level's energy over the nests itself.
    for m in r["breakdown"]["per_model"]:
        rep = json.load(open(f"{out}/{m['model']}.report.json"))["total"]["energy_by_level_pj"]
        for L in m["levels"]:
            check(f"design {m['model']} {L['name']}: energy = the report's ({L['energy_pj']:.6g} pJ)",
                  close(L["energy_pj"], rep[L["name"]], 1e-8))
        check(f"design {m['model']} mac: energy = the report's", close(m["mac_energy_pj"], rep["mac"], 1e-8))
    if len(sys.argv) > 2:
        fresh = json.load(open(sys.argv[2]))
        b = r["breakdown"]
        check(f"design: area parts = area_um2 of naasc --target arch.yaml --report ({fresh['area_um2']:.9g} um2)",
              close(sum(b["area_um2"].values()), fresh["area_um2"], 1e-8))
        m = b["per_model"][0]
        t = fresh["total"]
        check("design: MAC energy per MAC = the fresh report's (%.6g pJ)" % (m["mac_energy_pj"] / m["macs"]),
              close(m["mac_energy_pj"] / m["macs"], t["energy_by_level_pj"]["mac"] / t["macs"], 1e-8))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
