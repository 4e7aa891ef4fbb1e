#!/bin/sh
# bench/tech_modes.sh NAASC WORKDIR: the NAAS search for MobileNetV2 within the
# eyeriss budget in quick settings (8 iterations of 12, mapper budget 500), in
# the physical mode (technology model, area budget) and under --assume naas;
# each searched design against the budget design mapped at the same effort
# (naas_map_design / naas_compare).  Prints one table (docs/benchmarks.md).
set -e
N=$1; W=$2
mkdir -p "$W"
for mode in physical naas; do
  "$N" --search mobilenetv2 --budget eyeriss --assume $mode --iterations 8 --popsize 12 \
       --map-budget 500 --seed 1 -j 2 --no-progress -q -o "$W/$mode" >/dev/null
done
python3 - "$W" <<'PY'
import json, sys
w = sys.argv[1]
print("| mode | design | PEs | area mm^2 | peak mW | energy | cycles | EDP | speedup | energy saving | EDP gain |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for mode in ("physical", "naas"):
    r = json.load(open(f"{w}/{mode}/result.json"))
    b = r["baseline"]
    unit = "pJ" if mode == "physical" else "MAC units"
    print(f"| {mode} | budget {b['name']} | | {b['area_um2']/1e6:.3f} | {b['power_mw']:.1f} | {b['energy_pj']:.4g} {unit} | {b['cycles']:.4g} | {b['edp']:.4g} | 1 | 1 | 1 |")
    print(f"| {mode} | searched {r['arch']['name']} | {r['arch']['pes']} | {r['area_um2']/1e6:.3f} | {r['power_mw']:.1f} | {r['energy_pj']:.4g} {unit} | {r['cycles']:.4g} | {r['edp']:.4g} | {b['speedup']:.3f} | {b['energy_saving']:.3f} | {b['edp_gain']:.3f} |")
    print(f"<!-- {mode}: assume={r['assume']} constraint={json.dumps(r['constraint'])} levels=" +
          ", ".join(f"{L['name']}:{L['capacity_words']}x{L['instances']}" for L in r['arch']['levels']) + " -->")
PY
