#!/usr/bin/env python3
"""Shares of cycles and energy in a transformer's report: attention matmuls,
FFN matmuls, other mac layers, and the vector unit by kind.

  bench/transformer_shares.py NAASC MODEL.onnx TARGET [TARGET ...]

Runs `naasc MODEL --target T --report=J` and sorts the report's mac layers
by name (the zoo's: ".attention." for Q K V O and the two batched MatMuls,
".mlp." for the FFN) and its vector nests by kind.  The vector unit's
cycles are added to the mac layers' (no overlap), as the report's "total
with the vector unit" line does.
"""
import json
import os
import subprocess
import sys
import tempfile


def main():
    naasc, model, targets = sys.argv[1], sys.argv[2], sys.argv[3:]
    print("%-11s %-26s %14s %7s %14s %7s" % ("target", "part", "cycles", "share", "energy_pJ", "share"))
    for t in targets:
        with tempfile.TemporaryDirectory() as d:
            j = os.path.join(d, "r.json")
            subprocess.run([naasc, model, "--target", t, "--report=" + j], check=True,
                           stdout=subprocess.DEVNULL)
            r = json.load(open(j))
        parts = {}
        for l in r["layers"]:
            k = ("attention matmuls" if ".attention." in l["name"] else
                 "FFN matmuls" if ".mlp." in l["name"] else "other mac layers")
            c, e = parts.get(k, (0, 0))
            parts[k] = (c + l["cycles"], e + l["energy_pj"])
        for v in r["vector"]:
            k = "vector: " + v["kind"]
            c, e = parts.get(k, (0, 0))
            parts[k] = (c + v["cycles"], e + v["energy_pj"])
        tc = sum(c for c, _ in parts.values())
        te = sum(e for _, e in parts.values())
        for k in sorted(parts):
            c, e = parts[k]
            print("%-11s %-26s %14d %6.1f%% %14.4g %6.1f%%" % (t, k, c, 100 * c / tc, e, 100 * e / te))
        print("%-11s %-26s %14d %7s %14.4g   (%d vector nests not costed)"
              % (t, "total", tc, "", te, r["vector_uncosted"]))


if __name__ == "__main__":
    sys.exit(main())
