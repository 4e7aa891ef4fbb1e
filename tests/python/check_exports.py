#!/usr/bin/env python3
"""libnaasc.so exports the C API of api/naasc.h and nothing else.

  check_exports.py LIBNAASC.so

Every dynamic symbol the library defines (nm -D --defined-only) must be a
function declared in api/naasc.h, and every function naasc.h declares must
be defined: exit 1 naming each one that is not.  The naasc_jit_* functions
naasc.h declares are libnaasc_jit.so's (the LLVM JIT, apart so that
libnaasc.so links no LLVM): libnaasc.so must not define them, and
libnaasc_jit.so beside it must export exactly them (and must be there).
"""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    header = open(os.path.join(ROOT, "api", "naasc.h")).read()
    names = set(re.findall(r"\b(naasc_\w+)\s*\(", header))
    jit = {n for n in names if n.startswith("naasc_jit_")}
    lib = sys.argv[1]
    jit_lib = os.path.join(os.path.dirname(lib), "libnaasc_jit.so")
    bad = 0
    for path, declared in ((lib, names - jit), (jit_lib, jit)):
        if not os.path.exists(path):
            print(f"{path}: missing")
            bad += 1
            continue
        defined = exported(path)
        extra, missing = sorted(defined - declared), sorted(declared - defined)
        for s in extra:
            print(f"{path}: exports {s}, which api/naasc.h does not declare for it")
        for s in missing:
            print(f"api/naasc.h declares {s}, which {path} does not export")
        bad += len(extra) + len(missing)
        print(f"check_exports: {os.path.basename(path)}: {len(defined)} exported, "
              f"{len(declared)} declared")
    return 1 if bad else 0


def exported(path):
    out = subprocess.run(["nm", "-D", "--defined-only", path], capture_output=True,
                         text=True, check=True).stdout
    return {ln.split()[-1].split("@")[0] for ln in out.splitlines() if len(ln.split()) == 3
            and ln.split()[1] in "TtWiD"}


if __name__ == "__main__":
    sys.exit(main())
