#!/usr/bin/env python3
"""The Python module's call overhead over the C API for `cost` on one layer
(docs/benchmarks.md, "C API and Python module").

  bench_api.py BUILD_DIR [N]

Loads BUILD_DIR/bench/libbench_api.so (the C calls, bench/bench_api.c) and
`import naasc` (BUILD_DIR/python) into this process and times `cost` on
tests/costmodel/yaml's layer (VGG-16 conv3_1 on eyeriss_like with
timeloop-mapper's mapping) in 11 rounds, each a C loop then the same
Python loop, for one way then the other, in one process, so that each pair
sees the same load (thread CPU time).  Prints the best microseconds per call of each side and the
median over rounds of each pair's overhead, for both ways of calling `cost`:
  handles  naasc.cost(target, problem, mapping) on loaded handles, against
           naasc_cost (the cost model alone is about a microsecond, so this
           is ctypes' fixed price per call);
  files    naasc.cost(arch_path, problem_path, mapping_path), against
           naasc_cost_files (`naasc cost --arch ...`).
"""
import ctypes
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
Y = os.path.join(ROOT, "tests", "costmodel", "yaml")
FILES = [os.path.join(Y, f) for f in ("eyeriss_like.arch.yaml", "vgg16_conv3_1.problem.yaml",
                                      "vgg16_conv3_1.eyeriss_like.mapping.yaml")]


def timed(fn, n):
    t0 = time.thread_time()
    for _ in range(n):
        fn()
    return (time.thread_time() - t0) / n * 1e6


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    build = os.path.abspath(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) == 3 else 20000
    sys.path.insert(0, os.path.join(build, "python"))
    import naasc
    t, p, m = naasc.load_layer(*FILES)
    lib = ctypes.CDLL(os.path.join(build, "bench", "libbench_api.so"))
    ctx = ctypes.c_void_p(naasc._ctx)
    d = ctypes.c_double
    lib.bench_api_round.argtypes = [ctypes.c_void_p] + [ctypes.c_char_p] * 3 + [ctypes.c_long] * 2 + \
        [ctypes.POINTER(d)] * 2
    files = [f.encode() for f in FILES]
    nf = max(1, n // 100)
    rounds = []  # (C handles, C files, Python handles, Python files)
    for _ in range(11):
        h, f, unused = d(), d(), d()
        if lib.bench_api_round(ctx, *files, n, 0, ctypes.byref(h), ctypes.byref(unused)):
            sys.exit("bench_api: " + naasc._lib.naasc_context_error(naasc._ctx).decode())
        py_h = timed(lambda: naasc.cost(t, p, m), n)
        if lib.bench_api_round(ctx, *files, 0, nf, ctypes.byref(unused), ctypes.byref(f)):
            sys.exit("bench_api: " + naasc._lib.naasc_context_error(naasc._ctx).decode())
        py_f = timed(lambda: naasc.cost(*FILES), nf)
        rounds.append((h.value, f.value, py_h, py_f))
    c_h, c_f, py_h, py_f = (min(r[k] for r in rounds) for k in range(4))
    # the overhead of each round's pair (same load), then the median over rounds
    over_h = statistics.median(r[2] / r[0] - 1 for r in rounds)
    over_f = statistics.median(r[3] / r[1] - 1 for r in rounds)
    print("| cost on one layer | C API (us/call, best) | Python (us/call, best) | overhead (median of paired rounds) |")
    print("|---|---:|---:|---:|")
    for name, cv, pv, o in (("files: load the three YAML files, evaluate", c_f, py_f, over_f),
                            ("handles: evaluate loaded handles", c_h, py_h, over_h)):
        print(f"| {name} | {cv:.2f} | {pv:.2f} | {100 * o:+.1f}% |")


if __name__ == "__main__":
    main()
