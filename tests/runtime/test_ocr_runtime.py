#!/usr/bin/python3
"""test_ocr_runtime.py: runs published PaddleOCR models end to end through
naasc's command stream and runtime.

Usage: test_ocr_runtime.py NAASC NAASC_RUN CACHE_DIR SCRATCH [--models det,cls]
                           [--presets eyeriss,nvdla-256] [--jit]

The models come from scripts/fetch-ocr-models.sh CACHE_DIR (exit 77, a skip,
when they cannot be fetched).  The input is fixed: a synthetic page, white
with six lines of black "glyphs" (rows 20 + 24k, 12 pixels high), normalised
as PaddleOCR does (ImageNet mean and std), 1x3x160x160 for the detector
(ch_PP-OCRv4_det) and the top 48 rows of a 192-wide page for the direction
classifier (ch_ppocr_mobile_v2.0_cls).

Per model: `naasc-run --reference` (every layer through the loop-nest
interpreter, no tiling, no mapping) gives the reference output; per preset
the model is compiled with the default mapping (`naasc --target PRESET -o
M.cmd`) and run tiled (C reference kernels, or the JIT with --jit); its
output must equal the reference within rtol 1e-3, atol 1e-5.  The detector's
output must also find the text: probability > 0.5 on the centre row of every
line and < 0.1 on the rows half-way between lines.

Exit codes: 0 pass, 1 failure, 2 bad usage, 77 skip.
"""

import argparse
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
FETCH = os.path.join(HERE, "..", "..", "scripts", "fetch-ocr-models.sh")
MODELS = {  # key: file, input name, dims, output name
    "det": ("ch_PP-OCRv4_det_infer.onnx", "x", (1, 3, 160, 160), "sigmoid_0.tmp_0"),
    "cls": ("ch_ppocr_mobile_v2.0_cls_infer.onnx", "x", (1, 3, 48, 192), "softmax_0.tmp_0"),
}
LINES = list(range(20, 150, 24))
RTOL, ATOL = 1e-3, 1e-5


def page(h, w):
    img = np.ones((h, w, 3), np.float32)
    rng = np.random.RandomState(3)
    for r in LINES:
        if r + 12 > h:
            break
        x = 10
        while x < w - 10:
            gw = rng.randint(3, 9)
            img[r:r + 12, x:x + gw] = 0
            x += gw + rng.randint(2, 5)
    mean = np.array([0.485, 0.456, 0.406], np.float32)
    std = np.array([0.229, 0.224, 0.225], np.float32)
    return ((img - mean) / std).transpose(2, 0, 1)[None].astype(np.float32)


def load(path):
    t = onnx.TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return numpy_helper.to_array(t)


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=1800)
    if r.returncode != 0:
        print("FAIL: %s\n  exit %d: %s" % (" ".join(cmd), r.returncode, r.stderr.strip()))
    else:
        for line in r.stderr.strip().splitlines():
            print("  " + line)
    return r.returncode == 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("naasc")
    ap.add_argument("naasc_run")
    ap.add_argument("cache")
    ap.add_argument("scratch")
    ap.add_argument("--models", default="det,cls")
    ap.add_argument("--presets", default="eyeriss,nvdla-256")
    ap.add_argument("--jit", action="store_true")
    args = ap.parse_args()
    r = subprocess.run(["bash", FETCH, args.cache])
    if r.returncode == 77:
        print("SKIP: the OCR models cannot be fetched")
        return 77
    if r.returncode != 0:
        print("FAIL: %s exited %d" % (FETCH, r.returncode))
        return 1
    os.makedirs(args.scratch, exist_ok=True)
    fails = 0
    for key in args.models.split(","):
        fname, iname, dims, oname = MODELS[key]
        model = os.path.join(args.cache, fname)
        x = page(dims[2], dims[3])
        xpb = os.path.join(args.scratch, "%s_x.pb" % key)
        with open(xpb, "wb") as f:
            f.write(numpy_helper.from_array(x, iname).SerializeToString())
        shape = "%s=%s" % (iname, "x".join(str(d) for d in dims))
        ref = None
        for preset in args.presets.split(","):
            cmdf = os.path.join(args.scratch, "%s.%s.cmd" % (key, preset))
            if not run([args.naasc, model, "--input-shape", shape, "--target", preset, "-o", cmdf]):
                fails += 1
                continue
            print("%s on %s: stream %d bytes" % (key, preset, os.path.getsize(cmdf)))
            if ref is None:
                rdir = os.path.join(args.scratch, "%s.ref" % key)
                if not run([args.naasc_run, cmdf, "--input", "%s=%s" % (iname, xpb), "-o", rdir,
                            "--reference", "--time"]):
                    fails += 1
                    break
                ref = load(os.path.join(rdir, oname + ".pb"))
            odir = os.path.join(args.scratch, "%s.%s.out" % (key, preset))
            cmd = [args.naasc_run, cmdf, "--input", "%s=%s" % (iname, xpb), "-o", odir, "--time"]
            if not args.jit:
                cmd.append("--no-jit")
            if not run(cmd):
                fails += 1
                continue
            got = load(os.path.join(odir, oname + ".pb"))
            err = np.abs(got.astype(np.float64) - ref)
            ok = got.shape == ref.shape and bool((err <= ATOL + RTOL * np.abs(ref)).all())
            print("%s %s on %s: output %s, max |tiled - reference| = %.3g"
                  % ("PASS" if ok else "FAIL", key, preset, list(got.shape), float(err.max())))
            fails += not ok
        if key == "det" and ref is not None:
            y = ref[0, 0]
            on = [float(y[r + 6].max()) for r in LINES]
            off = [float(y[r + 18].max()) for r in LINES[:-1]]
            ok = min(on) > 0.5 and max(off) < 0.1
            print("%s det finds the %d text lines: min line centre %.3f, max gap %.3f"
                  % ("PASS" if ok else "FAIL", len(LINES), min(on), max(off)))
            fails += not ok
        if key == "cls" and ref is not None:
            ok = ref.shape == (1, 2) and abs(float(ref.sum()) - 1) < 1e-5
            print("%s cls gives a distribution over 2 directions: %s" % ("PASS" if ok else "FAIL", ref.tolist()))
            fails += not ok
    print("%d failed" % fails)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
