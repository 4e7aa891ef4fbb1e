#!/usr/bin/python3
"""run_bad_timeloop.py: checks that naasc refuses broken Timeloop specifications cleanly.

Usage: run_bad_timeloop.py NAASC SPEC.yaml OUTDIR [COUNT] [--map BASE.yaml]

From SPEC.yaml (a valid one-file Timeloop specification, tests/golden/
tl_spec.yaml) writes COUNT (default 240) mutants into OUTDIR, each made by one
seeded edit: the file cut at some byte, a line deleted, a line repeated, or a
value replaced by a wrong one (negative, zero, huge, a word, a list, a map,
an unknown tag, an expression of unknown names).  Runs
`naasc cost --timeloop MUTANT` on each (20 s limit) and asserts:
  - exit code 0 or 1 (a mutant may still be a valid spec), never a crash;
  - with exit 1, stderr names the mutant file and has 'error:';
  - no sanitizer or crash report on stderr.
With --map BASE.yaml, SPEC.yaml is a constraints file for the specification
BASE.yaml (tests/golden/tl_cons_constraints.yaml for tl_spec.yaml), and each
mutant runs `naasc cost --timeloop BASE.yaml MUTANT --map --budget 300`: the
constraint reader, the checks and the mapper under broken constraints; an
error may then name either file (the mapper names the layer of BASE.yaml).
The rules themselves are checked message by message by tests/golden/tl_*.test.

Exit codes: 0 pass, 1 some failure, 2 bad usage.
"""

import os
import random
import re
import subprocess
import sys

TIMEOUT = 20
CRASH_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error", "Segmentation", "Assertion")
BAD_VALUES = ["-1", "0", "99999999999999999999", "1e400", "abc", "[]", "{}", "[1, [2]]", "!Foo x",
              "GHOST * 2", "(1", "''", "null", "0.5", "2 ** 70"]


def mutate(text, rng):
    lines = text.split("\n")
    kind = rng.randrange(4)
    if kind == 0:  # cut
        return text[: rng.randrange(len(text))], "cut"
    i = rng.randrange(len(lines))
    if kind == 1:
        return "\n".join(lines[:i] + lines[i + 1:]), f"line {i + 1} deleted"
    if kind == 2:
        return "\n".join(lines[: i + 1] + lines[i:]), f"line {i + 1} repeated"
    # a value replaced: the text after one ': ' or one '=' on some line
    cands = [k for k, ln in enumerate(lines) if re.search(r"(: |=)[^\s]", ln) and not ln.lstrip().startswith("#")]
    k = rng.choice(cands)
    marks = [m.end() for m in re.finditer(r"(: |=)", lines[k])]
    at = rng.choice(marks)
    rest = lines[k][at:]
    m = re.match(r"[^,}\]\s]+", rest)
    old = m.group(0) if m else ""
    new = rng.choice(BAD_VALUES)
    lines[k] = lines[k][:at] + new + rest[len(old):]
    return "\n".join(lines), f"line {k + 1}: '{old}' -> '{new}'"


def main():
    args = sys.argv[1:]
    base = None
    if "--map" in args:
        i = args.index("--map")
        if i + 1 >= len(args):
            print(__doc__, file=sys.stderr)
            return 2
        base = os.path.abspath(args[i + 1])
        del args[i : i + 2]
    if len(args) not in (3, 4):
        print(__doc__, file=sys.stderr)
        return 2
    naasc, spec, outdir = args[:3]
    count = int(args[3]) if len(args) == 4 else 240
    os.makedirs(outdir, exist_ok=True)
    text = open(spec).read()
    rng = random.Random(18)
    failures, refused = 0, 0
    for i in range(count):
        mutant, what = mutate(text, rng)
        name = f"mutant{i:03d}.yaml"
        path = os.path.join(outdir, name)
        with open(path, "w") as f:
            f.write(mutant)
        try:
            cmd = ([naasc, "cost", "--timeloop", base, path, "--map", "--budget", "300"] if base
                   else [naasc, "cost", "--timeloop", path, "-q"])
            r = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=TIMEOUT)
            rc, err = r.returncode, r.stderr
        except subprocess.TimeoutExpired:
            rc, err = "timeout", ""
        problems = []
        if rc not in (0, 1):
            problems.append(f"exit {rc}")
        if rc == 1:
            refused += 1
            named = name in err or (base is not None and os.path.basename(base) in err)
            if "error:" not in err or not named:
                problems.append("stderr lacks 'error:' or the file name")
        for mark in CRASH_MARKS:
            if mark in err:
                problems.append(f"stderr has {mark!r}")
        if problems:
            failures += 1
            print(f"FAIL {name} ({what}): {'; '.join(problems)}\n{err[-2000:]}")
    print(f"{count} mutants: {refused} refused with an error, {count - refused} still valid, {failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
