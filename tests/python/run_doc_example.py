#!/usr/bin/env python3
"""Runs the Python example of the user guide, as a reader would paste it.

  PYTHONPATH=build/python NAASC_BIN=build/tools/naasc run_doc_example.py docs/user-guide.md SCRATCH

The example is the fenced ```python block that follows the line
`<!-- tested: tests/python/run_doc_example.py -->` in the guide.  It runs
in SCRATCH (it writes its files there) with the project's root in the
environment as NAASC_ROOT; its output must end with the line `ok`, which
the example prints after its own assertions.
"""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    text = open(sys.argv[1]).read()
    m = re.search(r"<!-- tested: tests/python/run_doc_example\.py -->\s*\n```python\n(.*?)\n```", text, re.S)
    if not m:
        print(f"{sys.argv[1]}: no ```python block after the tested marker")
        return 1
    os.makedirs(sys.argv[2], exist_ok=True)
    env = dict(os.environ, NAASC_ROOT=ROOT)
    p = subprocess.run([sys.executable, "-c", m.group(1)], cwd=sys.argv[2], env=env,
                       capture_output=True, text=True)
    sys.stdout.write(p.stdout)
    sys.stderr.write(p.stderr)
    if p.returncode != 0 or not p.stdout.rstrip().endswith("ok"):
        print(f"the user guide's example failed (exit {p.returncode})")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
