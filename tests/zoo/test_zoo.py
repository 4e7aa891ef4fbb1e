#!/usr/bin/env python3
"""Zoo networks: valid ONNX, and MACs/parameters equal to the published figures.

  test_zoo.py NAASC WORKDIR [NAME ...]

For each network: `naasc zoo NAME -o F.onnx` (with random weights), check F
with onnx.checker (full check), import it with `naasc F --summary`, and
compare the totals with the published figures within 1%.  The summary
counts parameters after BatchNormalization is folded into its conv (the
BN's scale and shift become the conv's bias), so a network with BN reports
its conv biases where torchvision reports BN weight and bias: the
difference is within the 1% the figures are given to.

For U-Net no MAC figure is published at 572x572; it is counted here,
independently of naasc, from the paper's architecture.
"""
import os
import subprocess
import sys

import onnx

# (MACs, params, source).  torchvision figures: the "GFLOPS" (which torchvision
# computes as multiply-accumulates) and "Params" columns of the torchvision
# models documentation, "Classification" weights tables (IMAGENET1K_V1).
PUBLISHED = {
    "vgg16": (15.47e9, 138.357544e6, "torchvision vgg16: 15.47 GFLOPS, 138,357,544 params"),
    "resnet50": (4.09e9, 25.557032e6, "torchvision resnet50 (v1.5): 4.09 GFLOPS, 25,557,032 params"),
    "resnet18": (1.81e9, 11.689512e6, "torchvision resnet18: 1.81 GFLOPS, 11,689,512 params"),
    "resnet18-bnn": (1.81e9, 11.689512e6, "ResNet-18 binarized as Bi-Real Net (Liu et al. ECCV 2018): "
                     "ResNet-18's shapes, so torchvision resnet18's 1.81 GFLOPS, 11,689,512 params"),
    "mobilenetv2": (0.30e9, 3.504872e6, "torchvision mobilenet_v2: 0.30 GFLOPS, 3,504,872 params; Sandler et al. 2018 Table 3: 300M MACs, 3.4M"),
    "squeezenet": (0.82e9, 1.248424e6, "torchvision squeezenet1_0: 0.82 GFLOPS, 1,248,424 params"),
    "mnasnet": (312e6, 3.9e6, "Tan et al., MnasNet, CVPR 2019, Table 1: MnasNet-A1 312M MACs, 3.9M params"),
    "alexnet": (0.71e9, 61.100840e6, "torchvision alexnet: 0.71 GFLOPS, 61,100,840 params"),
    "vit-b16": (17.56e9, 86.567656e6, "torchvision vit_b_16: 17.56 GFLOPS, 86,567,656 params"),
    "bert-base": (11.174215680e9, 110e6, "Devlin et al. 2019: BERT-base 110M params; MACs: the matmul terms of "
                  "Hoffmann et al. 2022 Appendix F (no published MAC figure)"),
    "gpt2-decode": (0.1424064e9, 124e6, "HuggingFace gpt2 model card: 124M params; MACs: Hoffmann et al. 2022 "
                    "Appendix F matmul terms at one token over 1024 keys"),
    "unet": (None, 31.03e6, "U-Net (Ronneberger et al. 2015), 64 base channels, 2 classes: 31.03M params "
             "(as commonly reported for the paper's network); MACs counted below"),
}


def unet_macs():
    """MACs of the paper's U-Net at 572x572x1, valid 3x3 convs, 2x2 up-convs."""
    macs, size, ch_in = 0, 572, 1
    skips = []
    for depth, ch in enumerate([64, 128, 256, 512, 1024]):
        for _ in range(2):
            size -= 2
            macs += size * size * ch * ch_in * 9
            ch_in = ch
        if depth < 4:
            skips.append(size)
            size //= 2
    for ch in [512, 256, 128, 64]:
        # up-conv 2x2 stride 2 halving the channels: every input pixel meets ch*4 weights
        macs += size * size * ch_in * ch * 4
        size *= 2
        ch_in = ch * 2  # concatenated with the cropped skip
        for _ in range(2):
            size -= 2
            macs += size * size * ch * ch_in * 9
            ch_in = ch
    macs += size * size * 2 * ch_in  # final 1x1 conv to 2 classes
    assert size == 388
    return macs


def main():
    naasc, work = sys.argv[1], sys.argv[2]
    names = sys.argv[3:] or list(PUBLISHED)
    os.makedirs(work, exist_ok=True)
    failed = 0
    for name in names:
        path = os.path.join(work, name + ".onnx")
        p = subprocess.run([naasc, "zoo", name, "-o", path], capture_output=True, text=True)
        if p.returncode != 0:
            print(f"FAIL {name}: naasc zoo exited {p.returncode}: {p.stderr}")
            failed += 1
            continue
        try:
            onnx.checker.check_model(onnx.load(path), full_check=True)
        except Exception as e:  # the checker's own exception types vary by version
            print(f"FAIL {name}: onnx.checker: {e}")
            failed += 1
            continue
        p = subprocess.run([naasc, path, "--summary"], capture_output=True, text=True)
        total = [l for l in p.stdout.splitlines() if l.startswith("total ")]
        if p.returncode != 0 or not total:
            print(f"FAIL {name}: naasc --summary exited {p.returncode}: {p.stderr}")
            failed += 1
            continue
        fields = dict(kv.split("=") for kv in total[0].split()[1:])
        macs, params = int(fields["macs"]), int(fields["params"])
        want_macs, want_params, source = PUBLISHED[name]
        if want_macs is None:
            want_macs = unet_macs()
        ok = True
        for what, got, want in (("MACs", macs, want_macs), ("params", params, want_params)):
            rel = abs(got - want) / want
            status = "ok" if rel <= 0.01 else "FAIL"
            ok &= rel <= 0.01
            print(f"{name:12s} {what:6s} naasc {got:>14,d}  published {want:>16,.0f}  diff {rel * 100:5.2f}%  {status}")
        print(f"{'':12s} source: {source}")
        os.remove(path)
        failed += not ok
    print(f"{len(names) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
