#!/usr/bin/python3
"""attention_check.py: inputs and checks for the attention runs of
tests/schedule (run_depth_attention, stream_attention_softmax).

  attention_check.py inputs             writes q.pb, kt.pb, v.pb: sched_model.py
                                        --attention's inputs, uniform in [-1, 1]
                                        from seed 17
  attention_check.py reference DIR...   each DIR's y.pb against numpy's
                                        softmax(q kt / 2) v (the model's scale
                                        0.5): prints whether every element is
                                        within 1e-6 x max|ref|; exit 1 if not
  attention_check.py dram COUNTS...     each file a `naasc-run --counts` table:
                                        prints the words it moves at DRAM
                                        (level 0 reads and updates, all layers)
  attention_check.py same A B           every output .pb of directory B equal
                                        to A's within 1e-6 x max|A|; exit 1 if not
"""
import os
import sys

import numpy as np
from onnx import load_tensor, numpy_helper

SHAPES = {"q": (1, 1, 8, 4), "kt": (1, 1, 4, 8), "v": (1, 1, 8, 4)}


def load(path):
    return numpy_helper.to_array(load_tensor(path))


def within(a, ref):
    scale = float(np.abs(ref).max())
    err = float(np.abs(a.astype(np.float64) - ref).max())
    return err <= 1e-6 * scale, err, scale


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "inputs":
        rng = np.random.RandomState(17)
        for name, shape in SHAPES.items():
            x = rng.uniform(-1, 1, shape).astype(np.float32)
            open(name + ".pb", "wb").write(numpy_helper.from_array(x, name).SerializeToString())
        return 0
    if cmd == "reference":
        q, kt, v = (load(n + ".pb").astype(np.float64) for n in ("q", "kt", "v"))
        s = q @ kt * 0.5
        p = np.exp(s - s.max(-1, keepdims=True))
        ref = (p / p.sum(-1, keepdims=True)) @ v
        bad = 0
        for d in args:
            ok, _err, _scale = within(load(os.path.join(d, "y.pb")), ref)
            print("%s: y within 1e-6 x max|ref| of numpy: %s" % (d, "yes" if ok else "NO"))
            bad += not ok
        return 1 if bad else 0
    if cmd == "dram":
        for f in args:
            words = 0
            for line in open(f):
                c = line.split()
                if len(c) == 6 and c[1] == "0" and c[2] in "WIO":
                    words += int(c[3]) + int(c[5])
            print("%s: DRAM words %d" % (f, words))
        return 0
    if cmd == "same" and len(args) == 2:
        bad = 0
        names = sorted(n for n in os.listdir(args[0]) if n.endswith(".pb"))
        for n in names:
            a, b = load(os.path.join(args[0], n)), load(os.path.join(args[1], n))
            ok = a.shape == b.shape and within(b, a.astype(np.float64))[0]
            print("%s: %s within 1e-6 x max|%s|: %s" % (n, args[1], args[0], "yes" if ok else "NO"))
            bad += not ok
        return 1 if bad or not names else 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
