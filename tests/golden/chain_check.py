#!/usr/bin/python3
"""chain_check.py: nir_models.py's chain (four 3x3 convs, pads 1, no bias) in
numpy from the model's weights and input, against naasc-run's output.

Usage: chain_check.py M.onnx X.pb Y.pb   (prints the max abs error; exit 1 over 1e-5)
"""
import sys

import numpy as np
import onnx
from onnx import numpy_helper


def conv3(x, w):
    n, c, h, wd = x.shape
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (1, 1), (1, 1)))
    y = np.zeros((n, w.shape[0], h, wd))
    for r in range(3):
        for s in range(3):
            y += np.einsum("nchw,kc->nkhw", xp[:, :, r:r + h, s:s + wd], w[:, :, r, s].astype(np.float64))
    return y


def main():
    m = onnx.load(sys.argv[1])
    ws = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    x = numpy_helper.to_array(onnx.load_tensor(sys.argv[2]))
    for k in range(4):
        x = conv3(x, ws["w%d" % k])
    got = numpy_helper.to_array(onnx.load_tensor(sys.argv[3]))
    err = float(np.max(np.abs(got - x)))
    ok = got.shape == x.shape and err <= 1e-5
    print("chain: y %s numpy's (max |error| %s 1e-5)" % ("within 1e-5 of" if ok else "NOT within 1e-5 of",
                                                          "<=" if ok else ">"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
