#!/usr/bin/env python3
"""Import speed: naasc's ONNX import (parse, shape inference, constant
folding, BN folding, fusion, summary) against ONNX's own C++ shape inference
(onnx.load + onnx.shape_inference.infer_shapes, timed in-process, so Python's
start-up is not counted against it), side by side on the same models in the
same run.  Prints the best of N runs of each and the ratio.

  bench/bench_import.py [--runs N] NAASC OCR_CACHE_DIR WORKDIR
"""
import argparse
import os
import subprocess
import sys
import time

import onnx
from onnx import shape_inference


def best(fn, runs):
    t = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        t.append(time.perf_counter() - t0)
    return min(t)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("naasc")
    ap.add_argument("ocr")
    ap.add_argument("work")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    models = []
    for name in ("resnet50", "mobilenetv2", "vgg16"):
        path = os.path.join(a.work, name + ".onnx")
        if not os.path.exists(path):
            subprocess.run([a.naasc, "zoo", name, "-o", path], check=True)
        models.append((name, path, []))
    for f, shape in (("ch_PP-OCRv4_det_infer.onnx", "1x3x640x640"),
                     ("ch_PP-OCRv4_rec_infer.onnx", "1x3x48x320"),
                     ("ch_ppocr_mobile_v2.0_cls_infer.onnx", "1x3x48x192")):
        p = os.path.join(a.ocr, f)
        if os.path.exists(p):
            models.append((f, p, ["--input-shape", "x=" + shape]))
    print(f"{'model':40s} {'MB':>6s} {'naasc s':>9s} {'onnx s':>9s} {'ratio':>7s}")
    for name, path, extra in models:
        def run_naasc():
            subprocess.run([a.naasc, path, "--summary"] + extra, check=True, stdout=subprocess.DEVNULL)

        def run_onnx():
            m = onnx.load(path)
            if extra:  # fix the dynamic input dims as naasc's --input-shape does
                dims = [int(x) for x in extra[1].split("=")[1].split("x")]
                for d, v in zip(m.graph.input[0].type.tensor_type.shape.dim, dims):
                    d.dim_value = v
            shape_inference.infer_shapes(m)

        tn, to = best(run_naasc, a.runs), best(run_onnx, a.runs)
        mb = os.path.getsize(path) / 1e6
        print(f"{name:40s} {mb:6.1f} {tn:9.4f} {to:9.4f} {to / tn:6.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
