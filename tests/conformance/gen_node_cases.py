#!/usr/bin/python3
"""gen_node_cases.py: writes ONNX's backend node test cases into WORKDIR.

Usage: gen_node_cases.py WORKDIR

The equivalent of `backend-test-tools generate-data -o WORKDIR` with the
installed onnx (Debian's python3-onnx ships the generators but not the data).
Those generators still use numpy aliases that numpy 1.24 removed (np.float,
np.int, np.bool, np.object, ...), so the aliases are put back before
onnx.backend.test is imported.

Invariants: WORKDIR/node/test_*/ each hold model.onnx and test_data_set_N/;
WORKDIR/node/.stamp is written last and names the onnx version and the case
count, so a run that finds a matching stamp does nothing (idempotent), and a
run that was cut short leaves no stamp and is redone.  Cases are generated
into a temporary directory and moved into place, so a reader never sees a
half-written tree.

Exit codes: 0 ok, 1 failure.
"""

import argparse
import os
import shutil
import sys
import time
import warnings

STAMP = ".stamp"


def shim_numpy(np):
    """Restores the numpy aliases removed in numpy 1.24 that onnx 1.12's
    test-case generators still use.  Returns the names it added."""
    aliases = {
        "float": float,
        "int": int,
        "bool": bool,
        "object": object,
        "str": str,
        "long": int,
        "unicode": str,
        "complex": complex,
    }
    added = []
    for name, typ in aliases.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "np.bool will be the numpy scalar"
            present = hasattr(np, name)
        if not present:
            setattr(np, name, typ)
            added.append(name)
    return added


def stamp_text(onnx_version, ncases):
    return "onnx %s node-cases %d\n" % (onnx_version, ncases)


def count_cases(node_dir):
    if not os.path.isdir(node_dir):
        return 0
    return sum(1 for d in os.listdir(node_dir)
               if d.startswith("test_") and os.path.isdir(os.path.join(node_dir, d)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workdir")
    ap.add_argument("--force", action="store_true", help="regenerate even if stamped")
    args = ap.parse_args()

    import numpy as np
    added = shim_numpy(np)
    import onnx
    from onnx.backend.test import cmd_tools

    workdir = os.path.abspath(args.workdir)
    node_dir = os.path.join(workdir, "node")
    stamp_path = os.path.join(node_dir, STAMP)
    if not args.force and os.path.isfile(stamp_path):
        with open(stamp_path) as f:
            want = f.read()
        if want == stamp_text(onnx.__version__, count_cases(node_dir)):
            print("gen_node_cases: %s up to date (%s)" % (node_dir, want.strip()))
            return 0
        print("gen_node_cases: stale stamp (%r), regenerating" % want.strip())

    t0 = time.monotonic()
    os.makedirs(workdir, exist_ok=True)
    tmp = os.path.join(workdir, ".gen-%d" % os.getpid())
    if os.path.exists(tmp):
        shutil.rmtree(tmp)
    try:
        cmd_tools.generate_data(argparse.Namespace(output=tmp, op_type=None))
        ncases = count_cases(os.path.join(tmp, "node"))
        if ncases == 0:
            print("gen_node_cases: FAIL: onnx %s generated no node cases" % onnx.__version__)
            return 1
        with open(os.path.join(tmp, "node", STAMP), "w") as f:
            f.write(stamp_text(onnx.__version__, ncases))
        # Move each kind (node, simple, real) into place, replacing the old one;
        # node last, since its stamp is what marks the tree complete.
        kinds = sorted(os.listdir(tmp), key=lambda k: (k == "node", k))
        for kind in kinds:
            dst = os.path.join(workdir, kind)
            if os.path.exists(dst):
                shutil.rmtree(dst)
            os.rename(os.path.join(tmp, kind), dst)
    finally:
        if os.path.exists(tmp):
            shutil.rmtree(tmp)
    dt = time.monotonic() - t0
    print("gen_node_cases: onnx %s, numpy %s (shimmed: %s): %d node cases in %s (%.1f s)"
          % (onnx.__version__, np.__version__, ",".join(added) or "none", ncases,
             node_dir, dt))
    return 0


if __name__ == "__main__":
    sys.exit(main())
