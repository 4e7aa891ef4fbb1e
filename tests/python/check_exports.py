#!/usr/bin/env python3
"""libnaasc.so exports the C API of api/naasc.h and nothing else.

  check_exports.py LIBNAASC.so

Every dynamic symbol the library defines (nm -D --defined-only) must be a
function declared in api/naasc.h, and every function naasc.h declares must
be defined: exit 1 naming each one that is not.
"""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = subprocess.run(["nm", "-D", "--defined-only", sys.argv[1]], capture_output=True,
                         text=True, check=True).stdout
    defined = {ln.split()[-1].split("@")[0] for ln in out.splitlines() if len(ln.split()) == 3
               and ln.split()[1] in "TtWiD"}
    header = open(os.path.join(ROOT, "api", "naasc.h")).read()
    declared = set(re.findall(r"\b(naasc_\w+)\s*\(", header))
    extra, missing = sorted(defined - declared), sorted(declared - defined)
    for s in extra:
        print(f"{sys.argv[1]}: exports {s}, which api/naasc.h does not declare")
    for s in missing:
        print(f"api/naasc.h declares {s}, which {sys.argv[1]} does not export")
    print(f"check_exports: {len(defined)} exported, {len(declared)} declared")
    return 1 if extra or missing else 0


if __name__ == "__main__":
    sys.exit(main())
