#!/usr/bin/env python3
"""NAS-Bench-201 networks of the zoo: MACs and parameters, counted here
independently of naasc from the macro skeleton (NAS-Bench-201, Dong and Yang,
ICLR 2020, Fig. 1; xautodl's TinyNetwork and InferCell), for cells given by
arch string and by the benchmark's index, on all three datasets.

  test_nb201_zoo.py NAASC WORKDIR TABLE.csv

Counting rules (the network naasc builds, docs/nas.md):
  - stem: 3x3 conv 3->16 and BN; cells: 5 per stage, C = 16, 32, 64 at
    H = 32, 16, 8 (16, 8, 4 for ImageNet16-120); a reduction block before
    stages 2 and 3: 3x3 s2 conv + BN, 3x3 conv + BN, 2x2 avg-pool + 1x1 conv;
    lastact BN; global pooling; a linear classifier (10, 100, 120 classes);
  - an edge nor_conv_KxK is ReLU, KxK conv C->C without bias, BN; pooling,
    skip and none carry neither MACs nor parameters;
  - node j is computed iff an edge from a computed node reaches it and it
    reaches node 3; edges out of nodes that are not computed are dropped.
The summary is read with --no-fold (BN kept apart), where naasc counts every
BN input as a parameter: scale, shift, running mean and variance, 4 per
channel.  (PyTorch's count, and NAS-Bench-201's, takes 2 per channel; the
test prints that figure too.)
The NAS-Bench-201 table carries no FLOPs or parameter columns, so there is no
published per-cell figure to compare with (data/nasbench201/README.md).
"""
import csv
import os
import re
import subprocess
import sys

OPS = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]
EDGES = [(0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3)]  # (from, to), the string's order


def parse(arch):
    nodes = arch.split("+")
    ops = []
    for j, node in enumerate(nodes, start=1):
        items = [x for x in node.split("|") if x]
        assert len(items) == j, arch
        for i, it in enumerate(items):
            op, src = it.split("~")
            assert int(src) == i
            ops.append(op)
    return ops


def count(arch, classes=10, side=32):
    ops = parse(arch)
    edge = {EDGES[k]: ops[k] for k in range(6)}
    # forward: node computed; backward: node used by node 3
    comp = {0: True}
    for j in (1, 2, 3):
        comp[j] = any(comp[i] and edge[(i, j)] != "none" for i in range(j))
    live = {3: comp[3]}
    for i in (2, 1, 0):
        live[i] = comp[i] and any(live[j] and edge[(i, j)] != "none" for j in range(i + 1, 4))
    macs = params = 0

    bnc = 0  # BN channels

    def conv(cin, cout, k, hout, bn=True):
        nonlocal macs, params, bnc
        macs += cout * cin * k * k * hout * hout
        params += cout * cin * k * k
        bnc += cout if bn else 0

    conv(3, 16, 3, side)
    c, h = 16, side
    for stage in range(3):
        if stage:
            conv(c, 2 * c, 3, h // 2)
            conv(2 * c, 2 * c, 3, h // 2)
            conv(c, 2 * c, 1, h // 2, bn=False)
            c, h = 2 * c, h // 2
        for _ in range(5):
            for (i, j), op in edge.items():
                if not (live[j] and comp[i]) or op not in ("nor_conv_1x1", "nor_conv_3x3"):
                    continue
                conv(c, c, 1 if op == "nor_conv_1x1" else 3, h)
    bnc += c  # lastact BN
    macs += c * classes
    params += c * classes + classes
    return macs, params + 4 * bnc, params + 2 * bnc


def main():
    naasc, work, table = sys.argv[1:4]
    os.makedirs(work, exist_ok=True)
    rows = {int(r["index"]): r["arch"] for r in csv.DictReader(open(table))}
    cases = [
        ("nb201:|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|", None, 10, 32),
        ("nb201:|nor_conv_1x1~0|+|none~0|avg_pool_3x3~1|+|skip_connect~0|none~1|nor_conv_3x3~2|", None, 10, 32),
        # node 1 is computed but node 3 never reads it (its convs are dropped)
        ("nb201:|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|nor_conv_1x1~0|none~1|nor_conv_3x3~2|", None, 10, 32),
        # node 1 is zero: the 1->2 conv reads only zeros and is dropped
        ("nb201:|none~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|none~0|nor_conv_1x1~1|nor_conv_1x1~2|", None, 10, 32),
        ("nb201:1", 1, 10, 32),
        ("nb201:6111", 6111, 10, 32),
        ("nb201-cifar100:6111", 6111, 100, 32),
        ("nb201-imagenet16:|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|", None, 120, 16),
    ]
    bad = 0
    for k, (name, index, classes, side) in enumerate(cases):
        arch = rows[index] if index is not None else name.split(":", 1)[1]
        want_macs, want_params, torch_params = count(arch, classes, side)
        f = os.path.join(work, "nb201_%d.onnx" % k)
        subprocess.run([naasc, "zoo", name, "--no-weights", "-o", f], check=True)
        out = subprocess.run([naasc, f, "--summary", "--no-fold"], check=True, capture_output=True,
                             text=True).stdout
        m = re.search(r"total layers=\d+ macs=(\d+) params=(\d+)", out)
        got_macs, got_params = int(m.group(1)), int(m.group(2))
        ok = got_macs == want_macs and got_params == want_params
        bad += not ok
        print("%-5s %s: macs %d (counted %d), params %d (counted %d; %d without BN statistics)" % (
            "ok" if ok else "FAIL", name[:60], got_macs, want_macs, got_params, want_params,
            torch_params))
    # the index resolves to the table's arch string
    g1 = subprocess.run([naasc, "zoo", "nb201:6111", "--no-weights", "-o", os.path.join(work, "i.onnx")])
    g2 = subprocess.run([naasc, "zoo", "nb201:15625", "-o", os.path.join(work, "x.onnx")],
                        capture_output=True, text=True)
    if g1.returncode != 0 or g2.returncode != 1 or "no such index" not in g2.stderr:
        print("FAIL: index lookup (%d, %d: %s)" % (g1.returncode, g2.returncode, g2.stderr))
        bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
