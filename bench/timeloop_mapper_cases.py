#!/usr/bin/python3
"""timeloop_mapper_cases.py: naasc's mapper against timeloop-mapper, like for like.

Usage: bench/timeloop_mapper_cases.py NAASC [CASES_DIR] [--budget N] [--check]

For every validation case of CASES_DIR (default tests/data/timeloop/cases)
whose mapping came from timeloop-mapper (*__mapper.json), writes the case's
Timeloop inputs (arch.yaml, prob.yaml, map.yaml, ERT.yaml) and the constraints
timeloop-mapper searched under (mapping_source.constraints, as JSON, which is
YAML) into a scratch folder and runs

    naasc cost --timeloop arch.yaml prob.yaml map.yaml ERT.yaml constraints.yaml --map

so that naasc's mapper searches under the same constraints and its result is
compared with timeloop-mapper's mapping (map.yaml), both evaluated by naasc's
cost model, which agrees with Timeloop count for count on these cases
(tests/costmodel).  Prints a markdown table (EDP, energy and cycles ratios,
whether timeloop-mapper's mapping keeps the constraints as naasc reads them,
naasc's wall time) and the geomean EDP ratio.  Exit 1 if a case fails to run,
or with --check (the ctest timeloop.mapper_cases) if a timeloop-mapper mapping
breaks the constraints as naasc reads them.
"""

import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time


def main(argv):
    args = [a for a in argv[1:]]
    budget = None
    check = "--check" in args
    if check:
        args.remove("--check")
    if "--budget" in args:
        i = args.index("--budget")
        budget = args[i + 1]
        del args[i : i + 2]
    if not args:
        print(__doc__, file=sys.stderr)
        return 2
    naasc = os.path.abspath(args[0])
    root = args[1] if len(args) > 1 else "tests/data/timeloop/cases"
    cases = sorted(f for f in os.listdir(root) if f.endswith("__mapper.json"))
    print("| case | naasc EDP / timeloop-mapper's | energy ratio | cycles ratio | "
          "timeloop-mapper's mapping keeps the constraints | naasc's time |")
    print("|---|---:|---:|---:|---|---:|")
    logs, failed, kept = [], 0, 0
    for c in cases:
        with open(os.path.join(root, c)) as f:
            d = json.load(f)
        with tempfile.TemporaryDirectory() as tmp:
            ti = d["timeloop_inputs"]
            for k, v in ti.items():
                if k.endswith(".yaml"):
                    with open(os.path.join(tmp, k), "w") as f:
                        f.write(v)
            with open(os.path.join(tmp, "constraints.yaml"), "w") as f:
                json.dump(d["mapping_source"]["constraints"], f, indent=1)
            cmd = [naasc, "cost", "--timeloop", "arch.yaml", "prob.yaml", "map.yaml", "ERT.yaml",
                   "constraints.yaml", "--map"]
            if budget:
                cmd += ["--budget", budget]
            t0 = time.monotonic()
            p = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True)
            dt = time.monotonic() - t0
        name = c[: -len("__mapper.json")]
        m = re.search(r"^naasc / given:\s+energy (\S+), cycles (\S+), EDP (\S+)$", p.stdout, re.M)
        k = re.search(r"^the given mapping keeps the constraints: (.*)$", p.stdout, re.M)
        if p.returncode != 0 or not m:
            failed += 1
            msg = (p.stderr.strip().splitlines() or ["exit %d" % p.returncode])[-1]
            print("| `%s` | | | | failed: %s | |" % (name, msg.replace("|", "\\|")))
            continue
        e, cy, edp = (float(x) for x in m.groups())
        kept += k.group(1) == "yes"
        logs.append(math.log(edp))
        print("| `%s` | %.3f | %.3f | %.3f | %s | %.2f s |" % (name, edp, e, cy, k.group(1), dt))
    if logs:
        print("\ngeomean over %d cases: naasc EDP / timeloop-mapper's %.3f; timeloop-mapper's "
              "mapping keeps the constraints in %d" % (len(logs), math.exp(sum(logs) / len(logs)), kept))
    if check and kept != len(cases):
        print("FAIL: %d of %d timeloop-mapper mappings keep the constraints" % (kept, len(cases)))
        return 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
