#!/usr/bin/env python3
"""Golden test runner.

A test is NAME.test: lines '# RUN: COMMAND' (run in order, in a fresh
scratch folder, through bash with pipefail) and optionally '# EXIT: N' (the
last command's expected exit code, 0 by default) and '# FILTER: COMMAND'
(a shell filter, e.g. sed, that the last command's stdout and stderr each
go through before they are compared; the exit code checked is still the
last command's own, never the filter's).  The last command's stdout must
equal NAME.out byte for byte, and its stderr NAME.err when that file
exists.  In commands, %naasc is the naasc binary and %S the test's folder.

  run.py NAASC TEST.test [--update]    (--update rewrites .out/.err)
"""
import os
import subprocess
import sys
import tempfile


def main():
    if len(sys.argv) < 3:
        print("usage: run.py NAASC TEST.test [--update]", file=sys.stderr)
        return 2
    naasc, test = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    update = "--update" in sys.argv[3:]
    src = os.path.dirname(test)
    base = test[: -len(".test")]
    runs, want_exit, filt = [], 0, None
    with open(test) as f:
        for line in f:
            if line.startswith("# RUN:"):
                runs.append(line[len("# RUN:"):].strip())
            elif line.startswith("# EXIT:"):
                want_exit = int(line.split(":", 1)[1])
            elif line.startswith("# FILTER:"):
                filt = line[len("# FILTER:"):].strip()
    if not runs:
        print(f"{test}: no RUN line", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="naasc-golden-") as tmp:
        for i, cmd in enumerate(runs):
            cmd = cmd.replace("%naasc", naasc).replace("%S", src)
            p = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], cwd=tmp, capture_output=True, timeout=600)
            last = i == len(runs) - 1
            if not last and p.returncode != 0:
                print(f"FAIL {os.path.basename(test)}: setup command failed ({p.returncode}): {cmd}")
                sys.stdout.write(p.stderr.decode(errors="replace"))
                return 1
    out, err = p.stdout, p.stderr
    if filt:
        for name in ("out", "err"):
            q = subprocess.run(["bash", "-o", "pipefail", "-c", filt], input=out if name == "out" else err,
                               capture_output=True, timeout=60)
            if q.returncode != 0:
                print(f"FAIL {os.path.basename(test)}: the filter failed ({q.returncode}): {filt}")
                sys.stdout.write(q.stderr.decode(errors="replace"))
                return 1
            if name == "out":
                out = q.stdout
            else:
                err = q.stdout
    if update:
        with open(base + ".out", "wb") as f:
            f.write(out)
        if err or os.path.exists(base + ".err"):
            with open(base + ".err", "wb") as f:
                f.write(err)
        print(f"updated {os.path.basename(base)}.out")
        return 0
    ok = True
    if p.returncode != want_exit:
        print(f"FAIL: exit code {p.returncode}, expected {want_exit}; stderr:")
        sys.stdout.write(err.decode(errors="replace")[-4000:])
        ok = False
    for suffix, got in ((".out", out), (".err", err)):
        path = base + suffix
        if not os.path.exists(path):
            if suffix == ".out":
                print(f"FAIL: {path} is missing (run with --update to create it)")
                ok = False
            continue
        with open(path, "rb") as f:
            want = f.read()
        if got != want:
            ok = False
            print(f"FAIL: {suffix[1:]} differs from {os.path.basename(path)}")
            gl, wl = got.decode(errors="replace").splitlines(), want.decode(errors="replace").splitlines()
            for k in range(max(len(gl), len(wl))):
                g = gl[k] if k < len(gl) else "<eof>"
                w = wl[k] if k < len(wl) else "<eof>"
                if g != w:
                    print(f"  line {k + 1}:\n    want: {w}\n    got:  {g}")
                    break
    print(("PASS " if ok else "FAIL ") + os.path.basename(test))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
