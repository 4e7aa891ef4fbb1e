#!/usr/bin/python3
"""Writes the seed corpora of the fuzz harnesses (tests/fuzz/NAME/corpus)
from real inputs of the tree, so that where every seed came from is
reproducible.

  gen_seeds.py BUILD     (BUILD: a release build dir with tools/naasc)
  gen_seeds.py BUILD schedule timeloop options   (only these corpora)

Seeds are small (the largest, a search checkpoint, is 30 KB) and named
after what they are; the script removes the seeds it wrote before
(seed-*) and leaves every other file of a corpus alone.  Needs numpy and
python3-onnx (Debian's), and ../shared/validation/timeloop for the three
cost-case seeds (copied: the MIT-licensed Timeloop cases of the shared
validation set, see its README).  The NumPy seeds alone (no build needed):

  cd tests/fuzz && python3 -c 'import gen_seeds; gen_seeds.npy_seeds()'
"""
import glob
import io
import os
import shutil
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "golden"))
import nir_models  # noqa: E402  (the small models of the IR golden tests)

import numpy as np  # noqa: E402
from numpy.lib import format as npformat  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

SEP = b"\n#%%\n"  # fuzz.h: fuzz_parts


def corpus(name):
    d = os.path.join(HERE, name, "corpus")
    os.makedirs(d, exist_ok=True)
    for f in glob.glob(os.path.join(d, "seed-*")):
        os.remove(f)
    os.makedirs(os.path.join(HERE, name, "regressions"), exist_ok=True)
    keep = os.path.join(HERE, name, "regressions", ".gitkeep")
    if not os.path.exists(keep):
        open(keep, "w").close()
    return d


def put(d, name, data):
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def run(*cmd, cwd=None):
    subprocess.run(list(cmd), check=True, cwd=cwd, stdout=subprocess.DEVNULL)


def npy_seeds():
    """NumPy files (fuzz_npy.c): a .npy of every dtype naasc reads, format 1.0, 2.0 and 3.0
    headers, the refused ones (Fortran order, big-endian, another type, short data, a
    malformed header), and .npz archives as numpy.savez writes them, with their refusals
    (numpy.savez_compressed, a member not .npy, a duplicate, a truncated one)."""
    import zipfile
    d = corpus("npy")

    def npy(a, version=None):
        b = io.BytesIO()
        if version:
            npformat.write_array(b, a, version=version)
        else:
            np.save(b, a)
        return b.getvalue()

    for code in ("<f4", "<f2", "<f8", "u1", "i1", "<u2", "<i2", "<i4", "<i8", "<u4", "<u8", "?"):
        a = (np.arange(6) % 3).astype(code).reshape(2, 3)
        put(d, "%s.npy" % np.dtype(code).name, npy(a))
    x = np.arange(4, dtype=np.float32)
    put(d, "v2.npy", npy(x, (2, 0)))
    put(d, "v3.npy", npy(x, (3, 0)))
    put(d, "scalar.npy", npy(np.array(1.5, np.float32)))
    put(d, "empty.npy", npy(np.zeros((0, 3), np.int32)))
    put(d, "rank8.npy", npy(np.zeros((1,) * 8, np.uint8)))
    put(d, "fortran.npy", npy(np.asfortranarray(np.ones((2, 3), np.float32))))
    put(d, "big_endian.npy", npy(np.ones(3, ">f4")))
    put(d, "complex.npy", npy(np.ones(2, np.complex64)))
    put(d, "short_data.npy", npy(x)[:-2])
    bad = bytearray(npy(x))
    bad[bad.index(b"(4,")] = ord("[")
    put(d, "bad_header.npy", bytes(bad))

    def npz(members, compressed=False):
        b = io.BytesIO()
        (np.savez_compressed if compressed else np.savez)(b, **members)
        return b.getvalue()

    two = {"x": np.arange(6, dtype=np.float32).reshape(2, 3), "ids": np.array([1, 2, 3], np.int64)}
    put(d, "savez.npz", npz(two))
    put(d, "savez_one.npz", npz({"input": np.ones((1, 2, 2), np.float16)}))
    put(d, "savez_empty.npz", npz({}))
    put(d, "savez_compressed.npz", npz(two, compressed=True))
    put(d, "savez_truncated.npz", npz(two)[:-30])
    for tag, names in (("not_npy", ("x.npy", "notes.txt")), ("duplicate", ("x.npy", "x.npy"))):
        b = io.BytesIO()
        with zipfile.ZipFile(b, "w") as z:
            for n in names:
                z.writestr(n, npy(x))
        put(d, tag + ".npz", b.getvalue())


def timeloop_seeds():
    """Timeloop and Accelergy files (fuzz_timeloop.c: up to three YAML files and a
    *.stats.txt joined by "#%%"): the tutorial-layout spec of tests/timeloop (v0.3 tree,
    variables, constraints), the exercises' processed inputs with their mapping, ERT, ART
    and statistics (v0.4), and the spec goldens of tests/golden, good and bad."""
    d = corpus("timeloop")

    def rd(*p):
        return open(os.path.join(ROOT, *p), "rb").read()

    tut = ("tests", "timeloop", "tutorial")
    put(d, "tutorial.yaml", rd(*tut, "arch.yaml") + b"\n" + rd(*tut, "constraints.yaml") + SEP +
        rd(*tut, "conv1d+oc.prob.yaml") + SEP + rd(*tut, "conv1d+oc.map.yaml"))
    put(d, "tutorial_arch.yaml", rd(*tut, "arch.yaml"))
    for ex in ("simple_weight_stationary", "simple_output_stationary", "eyeriss_like"):
        ref = ("tests", "data", "timeloop-exercises", ex, "ref_outputs", "default_problem")
        spec = rd(*ref, "parsed-processed-input.yaml")
        tables = rd(*ref, "timeloop-mapper.ERT.yaml") + b"\n" + rd(*ref, "timeloop-mapper.ART.yaml")
        mapping = rd(*ref, "timeloop-mapper.map.yaml")
        put(d, ex + ".yaml", spec + SEP + mapping + SEP + tables + SEP + rd(*ref, "timeloop-mapper.stats.txt"))
        put(d, ex + ".nomap.yaml", spec + SEP + tables)
    for f in sorted(glob.glob(os.path.join(ROOT, "tests", "golden", "tl_*.yaml"))):
        put(d, os.path.basename(f), open(f, "rb").read())


def options_seeds():
    """The options harness (fuzz_options.c: a first line naming the reader, then its
    text): the accuracy tables of tests/golden/search_precision*.test, every form of
    the precision grammar, the pass pipelines of the golden tests, the `naasc tech`
    examples of docs/technology.md, the --assume modes, the NAS-Bench-201 table's
    head and network names."""
    d = corpus("options")
    tables = {
        "table": b"minimum 80\nnb201_123 w16a16 90.1\nnb201_123 w8a8 89.9\nnb201_123 w1a1 70.2  # BNN\n"
                 b"nb201_123 w4a4 85.0\n",
        "table_bad": b"minimum 80\nnb201_123 w16a16 90.1\nnb201_123 w8y8 89.9\n",
        "table_low": b"minimum 95\nnb201_123 w16a16 90.1\nnb201_123 w8a8 89.9\n",
        "table_models": b"# two models\nminimum 70.5\nresnet18 fp32 71.2\nresnet18 int8 70.9\n"
                        b"mobilenet_v2 bf16 71.8\nmobilenet_v2 w4a8p32 69.0\n",
    }
    for n, t in tables.items():
        put(d, "accuracy_" + n, b"accuracy\n" + t)
    for i, p in enumerate((b"w8a8", b"w16a16", b"w4a8o32p32", b"w1a1", b"binary", b"int4", b"int8",
                           b"int16", b"fp16", b"bf16", b"fp32", b"fp16p32", b"w8a8p32", b"model")):
        put(d, "precision_%d" % i, b"precision\n" + p)
    for i, p in enumerate((b"fold-bn,fuse-act,lower,map{budget=50,seed=1},verify",
                           b"fold-bn,fuse-act,lower,tile{level=GLB,K=2,P=3},bind{level=GLB,x=K:4,y=C:3},"
                           b"reorder{level=GLB,order=PK},verify",
                           b"lower{min}", b"lower,map{strategy=gradient,lr=1.5}",
                           b"map{strategy=es,budget=2000,seed=1}", b"prune,fold-bn,fuse-act,lower,verify",
                           b"fold-bn,fuse-act,lower,annotate-intensity")):
        put(d, "pipeline_%d" % i, b"pipeline\n" + p)
    for i, t in enumerate((b"sram depth=2048 width=256 banks=4 ports=2 technology=45nm",
                           b"regfile depth=16 width=16 technology=65nm", b"mac bits=8 technology=45nm",
                           b"mac type=fp16 acc=fp32 technology=7nm", b"dram type=LPDDR4 width=64",
                           b"noc width=16 length_mm=1 technology=45nm",
                           b"sram depth=8388608 width=8 technology=28nm cycle_ns=2")):
        put(d, "tech_%d" % i, b"tech\n" + t)
    for m in (b"naas", b"physical"):
        put(d, "assume_" + m.decode(), b"assume\n" + m)
    # The NAS-Bench-201 table's head (refused whole: cells missing; every line is read first)
    # and the network names (frontend/zoo.c, ZOO_NETS and ZOO_TRANSFORMERS; nb201 cells).
    with open(os.path.join(ROOT, "data", "nasbench201", "accuracy.csv"), "rb") as f:
        head = b"".join(f.readline() for _ in range(24))
    put(d, "nb201_head", b"nb201\n" + head)
    cell = b"|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
    for n in (b"squeezenet", b"resnet18-bnn", b"bert-tiny", b"gpt2-tiny", b"nb201:" + cell,
              b"nb201-cifar100:" + cell, b"nb201-imagenet16:" + cell.replace(b"avg_pool_3x3", b"none"),
              b"nb201:123"):
        put(d, "model_" + n.split(b":")[0].decode() + ("_cell" if b"|" in n else ""), b"model\n" + n)


def schedule_seeds(naasc, tmp):
    """Schedules (fuzz_schedule.c: an arch file, a mapped .nir and a schedule joined by
    "#%%"): the ResNet and inverted-residual blocks of tests/schedule mapped on eyeriss,
    with every schedule file of tests/schedule that names their nests, and each block's
    searched schedule (--emit=schedule)."""
    d = corpus("schedule")
    sched = os.path.join(ROOT, "tests", "schedule")
    arch = open(os.path.join(ROOT, "backend", "presets", "eyeriss.yaml"), "rb").read()
    flow = "fold-bn,fuse-act,lower,map{budget=50,seed=1},verify"
    for name, extra in (("resnet_block", ["--resnet"]), ("mbv2_block", [])):
        path = os.path.join(tmp, name + ".onnx")
        run("/usr/bin/python3", os.path.join(sched, "sched_model.py"), path, *extra)
        nir = subprocess.run([naasc, path, "--emit=nir", "--target", "eyeriss", "-p", flow],
                             capture_output=True, check=True).stdout
        best = subprocess.run([naasc, path, "--target", "eyeriss", "-p", flow, "--emit=schedule"],
                              capture_output=True, check=True).stdout
        put(d, name + ".best.sched", arch + SEP + nir + SEP + best)
        model = nir.split(b"\n", 1)[0].split(b" ", 1)[1].strip(b'"')  # module "NAME"
        for f in sorted(glob.glob(os.path.join(sched, "*.sched"))):
            text = open(f, "rb").read()
            ok = subprocess.run([naasc, path, "--target", "eyeriss", "-p", flow, "--schedule=" + f,
                                 "--emit=schedule"], capture_output=True).returncode == 0
            # the files of this model: accepted ones, and refused ones that name it
            if ok or (b"schedule " + model + b" ") in text:
                put(d, name + "." + os.path.basename(f), arch + SEP + nir + SEP + text)


def main():
    build = os.path.abspath(sys.argv[1])
    naasc = os.path.join(build, "tools", "naasc")
    tmp = tempfile.mkdtemp(prefix="naasc-seeds-")
    only = sys.argv[2:]
    try:
        if only:
            for c in only:
                {"schedule": lambda: schedule_seeds(naasc, tmp), "timeloop": timeloop_seeds,
                 "npy": npy_seeds, "options": options_seeds}[c]()
            return
        # ONNX models: every small model of the IR golden tests (one op or a short chain).
        onnx_d, comp_d, nir_d, cmd_d = corpus("onnx"), corpus("onnx_compile"), corpus("nir"), corpus("stream")
        for name in sorted(nir_models.MODELS):
            path = os.path.join(tmp, name + ".onnx")
            m = nir_models.MODELS[name]()
            with open(path, "wb") as f:
                f.write(m.SerializeToString())
            data = open(path, "rb").read()
            put(onnx_d, name + ".onnx", data)
            put(comp_d, name + ".onnx", data)
            if name in nir_models.BAD:  # refused by the compiler (its golden): no IR, no stream
                continue
            # Its loop-nest IR, lowered and mapped on eyeriss.
            out = subprocess.run([naasc, path, "--emit=nir", "--target", "eyeriss", "-p",
                                  "fold-bn,fuse-act,lower,map{budget=50,seed=1},verify"],
                                 capture_output=True, check=True).stdout
            put(nir_d, name + ".mapped.nir", out)
            # Its command stream on eyeriss (and nvdla-256 for the convolutions).
            for target in ("eyeriss", "nvdla-256") if name.startswith("conv") else ("eyeriss",):
                cmd = os.path.join(tmp, name + "." + target + ".cmd")
                run(naasc, path, "--target", target, "-p", "fold-bn,fuse-act,lower,map{budget=50,seed=1},verify",
                    "-o", cmd)
                put(cmd_d, name + "." + target + ".cmd", open(cmd, "rb").read())
        # Fused groups (tests/schedule): a ResNet block's stream with a layer-by-layer
        # group (CMD_RESIDE records), the inverted residual block's with a depth-first
        # group (tile layers, CMD_TILE records) and the IR of both blocks with fused groups.
        sched = os.path.join(ROOT, "tests", "schedule")
        flow = "fold-bn,fuse-act,lower,map{budget=50,seed=1},verify"
        for name, extra, sfile in (("resnet_block", ["--resnet"], "resnet_layer.sched"),
                                   ("mbv2_block", [], "block_depth.sched")):
            path = os.path.join(tmp, name + ".onnx")
            run("/usr/bin/python3", os.path.join(sched, "sched_model.py"), path, *extra)
            s = os.path.join(sched, sfile)
            out = subprocess.run([naasc, path, "--emit=nir", "--target", "eyeriss", "-p", flow,
                                  "--schedule=" + s], capture_output=True, check=True).stdout
            put(nir_d, name + ".fused.nir", out)
            if True:  # both: the layer-by-layer group and the depth-first one
                cmd = os.path.join(tmp, name + ".fused.eyeriss.cmd")
                run(naasc, path, "--target", "eyeriss", "-p", flow, "--schedule=" + s, "-o", cmd)
                put(cmd_d, name + ".fused.eyeriss.cmd", open(cmd, "rb").read())
        # The IR golden inputs, good and bad.
        for f in sorted(glob.glob(os.path.join(ROOT, "tests", "golden", "*.nir"))):
            put(nir_d, os.path.basename(f), open(f, "rb").read())
        # Graph dumps (fuzz_graph.c): every small model's --emit=graph, the
        # control-flow goldens' graphs, and the graph parser's bad inputs.
        graph_d = corpus("graph")
        for name in sorted(set(nir_models.MODELS) - nir_models.BAD):
            out = subprocess.run([naasc, os.path.join(tmp, name + ".onnx"), "--emit=graph"],
                                 capture_output=True, check=True).stdout
            put(graph_d, name + ".graph", out)
        for f in sorted(glob.glob(os.path.join(ROOT, "tests", "golden", "ctrl_*_graph.out")) +
                        glob.glob(os.path.join(ROOT, "tests", "golden", "graph_parse_*.graph"))):
            put(graph_d, os.path.basename(f), open(f, "rb").read())

        # Architecture files: the presets, the cost model's test arch, the refused ones.
        arch_d = corpus("arch")
        for f in sorted(glob.glob(os.path.join(ROOT, "backend", "presets", "*.yaml")) +
                        glob.glob(os.path.join(ROOT, "tests", "costmodel", "yaml", "*.arch.yaml")) +
                        glob.glob(os.path.join(ROOT, "tests", "presets", "bad", "*.yaml")) +
                        glob.glob(os.path.join(ROOT, "tests", "costmodel", "bad", "arch_*.yaml")) +
                        glob.glob(os.path.join(ROOT, "tests", "golden", "*arch*.yaml"))):
            put(arch_d, os.path.basename(os.path.dirname(f)) + "." + os.path.basename(f), open(f, "rb").read())

        # naasc cost: arch, problem and mapping joined by "#%%" lines.
        y = os.path.join(ROOT, "tests", "costmodel", "yaml")
        arch = open(os.path.join(y, "eyeriss_like.arch.yaml"), "rb").read()
        prob = open(os.path.join(y, "vgg16_conv3_1.problem.yaml"), "rb").read()
        mapg = open(os.path.join(y, "vgg16_conv3_1.eyeriss_like.mapping.yaml"), "rb").read()
        cost_d = corpus("cost_yaml")
        put(cost_d, "vgg16_conv3_1.eyeriss_like.yaml", arch + SEP + prob + SEP + mapg)
        for f in sorted(glob.glob(os.path.join(ROOT, "tests", "costmodel", "bad", "*.yaml"))):
            b, data = os.path.basename(f), open(f, "rb").read()
            if b.startswith("problem_"):
                put(cost_d, b, arch + SEP + data + SEP + mapg)
            elif b.startswith("mapping_"):
                put(cost_d, b, arch + SEP + prob + SEP + data)

        # Timeloop validation cases: three of the shared set, and the refused ones of the tree.
        case_d = corpus("case")
        shared = os.path.join(ROOT, "..", "shared", "validation", "timeloop", "cases")
        for n in ("alexnet_conv1__eyeriss_like__mapper", "alexnet_conv4_g2__toy_flex__rand1",
                  "resnet50_res5b_branch2b__toy_flex__imperfect"):
            put(case_d, n + ".json", open(os.path.join(shared, n + ".json"), "rb").read())
        for f in sorted(glob.glob(os.path.join(ROOT, "tests", "costmodel", "bad", "case_*.json"))):
            put(case_d, os.path.basename(f), open(f, "rb").read())

        # TensorProtos: raw and typed payloads of several types, an empty one, and refused ones.
        pb_d = corpus("pb")
        arrays = {"f32": np.arange(6, dtype=np.float32).reshape(2, 3) / 4, "i64": np.array([1, -2, 3, 1 << 40]),
                  "i32": np.array([[7], [-8]], np.int32), "f16": np.array([0.5, -1, 65504], np.float16),
                  "u8": np.array([0, 255], np.uint8), "bool": np.array([True, False, True]),
                  "f64": np.array([1e300, -0.0]), "scalar": np.array(3.5, np.float32),
                  "empty": np.zeros((0, 3), np.float32)}
        for k, a in arrays.items():
            put(pb_d, k + ".raw.pb", numpy_helper.from_array(a, "x_" + k).SerializeToString())
        put(pb_d, "f32.typed.pb", helper.make_tensor("t", TensorProto.FLOAT, [2, 2], [1, 2, 3, 4]).SerializeToString())
        put(pb_d, "i64.typed.pb", helper.make_tensor("t", TensorProto.INT64, [3], [5, 6, 7]).SerializeToString())
        put(pb_d, "string.pb", helper.make_tensor("s", TensorProto.STRING, [1], [b"abc"]).SerializeToString())
        ext = TensorProto(name="e", dims=[4], data_type=TensorProto.FLOAT, data_location=TensorProto.EXTERNAL)
        for k, v in (("location", "w.bin"), ("offset", "0"), ("length", "16")):
            e = ext.external_data.add()
            e.key, e.value = k, v
        put(pb_d, "external.pb", ext.SerializeToString())

        # Search checkpoints: a short search of a one-conv model, CMA-ES and random, sizing only,
        # and with warm starts (format 4, its warm-start block).
        ck_d = corpus("ckpt")
        conv = os.path.join(tmp, "conv.onnx")
        with open(conv, "wb") as f:
            f.write(nir_models.MODELS["conv"]().SerializeToString())
        for tag, extra in (("cmaes", []), ("random", ["--optimizer", "random"]), ("sizing", ["--sizing-only"]),
                           ("warm", ["--warm-map", "on"])):
            ck = os.path.join(tmp, tag + ".ckpt")
            run(naasc, "--search", conv, "--budget", "eyeriss", "--iterations", "2", "--popsize", "4",
                "--map-budget", "20", "-q", "--no-progress", "-o", os.path.join(tmp, tag), "--checkpoint", ck,
                "--stop-after-iteration", "1", *extra)
            put(ck_d, tag + ".ckpt", open(ck, "rb").read())

        # A .nir's weights file (fuzz_weights.c): the module's text, "#%%", the weights file.
        wt_d = corpus("weights")
        for name in ("conv", "gemm", "conv_relu"):
            onnx_path = os.path.join(tmp, name + ".onnx")
            with open(onnx_path, "wb") as f:
                f.write(nir_models.MODELS[name]().SerializeToString())
            nir = os.path.join(tmp, name + ".nir")
            run(naasc, onnx_path, "--emit=nir", "-o", nir)
            put(wt_d, name + ".nirw", open(nir, "rb").read() + SEP + open(nir + ".weights", "rb").read())

        schedule_seeds(naasc, tmp)
        timeloop_seeds()
        options_seeds()
        npy_seeds()
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
