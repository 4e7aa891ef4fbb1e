#!/usr/bin/env python3
"""The forms real ONNX files come in, each imported and checked.

  test_onnx_variants.py NAASC WORKDIR

Each case builds a model with python3-onnx, imports it with naasc, and
compares every graph output's dtype and shape with onnx's own shape
inference (or a figure computed here), plus case-specific checks:
  ir3_opset7        IR version 3 with initializers listed as graph inputs, opset 7
  typed_fields      initializers in float_data/int64_data/int32_data, Constant
                    value_floats/value_ints/value_float, int64 shape data
  external_data     weights in a separate file (location/offset/length)
  opset9_attrs      Slice/Squeeze/Unsqueeze/Clip with attribute forms (opset 9)
  shape_subgraph    Shape->Gather->Unsqueeze->Concat->Reshape folds away
  dynamic_dims      dim_param inputs fixed with --input-shape
  opset17_forms     Squeeze/Unsqueeze/ReduceMean/Resize/Clip with input forms
  ir9_opset19, ir10_opset21   the conv model at the newest IR versions and opsets
  opset18_forms     ReduceMax/Pad with axes as inputs, Split num_outputs, Mish,
                    GroupNormalization with per-group scale (opset 18)
  opset21_forms     GroupNormalization with per-channel scale, Gelu (opset 20+)
  unknown_fields    fields newer than the build's onnx.proto (NodeProto overload
                    and metadata_props, GraphProto and TensorProto metadata_props)
                    are skipped
  block_quant       a feature naasc cannot honour (QuantizeLinear block_size) is
                    refused by name
"""
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

DT = {1: "f32", 7: "i64", 6: "i32", 9: "bool", 2: "u8"}


def run(naasc, args):
    return subprocess.run([naasc] + args, capture_output=True, text=True, timeout=120)


def outputs_of(text):
    res = {}
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("output %"):
            name, typ = line[len("output %"):].split(" : ")
            res[name] = typ
    return res


def type_str(vi):
    tt = vi.type.tensor_type
    return "%s[%s]" % (DT[tt.elem_type], ",".join(str(d.dim_value) for d in tt.shape.dim))


def conv_model(opset, ir):
    w = numpy_helper.from_array(np.random.RandomState(0).randn(8, 3, 3, 3).astype(np.float32), "w")
    b = numpy_helper.from_array(np.zeros(8, np.float32), "b")
    shape = numpy_helper.from_array(np.array([1, -1], np.int64), "shape")
    fcw = numpy_helper.from_array(np.ones((8 * 16 * 16, 10), np.float32), "fcw")
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1], name="conv"),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("Reshape", ["r", "shape"], ["f"], name="flat"),
        helper.make_node("MatMul", ["f", "fcw"], ["y"], name="fc"),
    ]
    inits = [w, b, shape, fcw]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 16, 16])]
    if ir < 4:  # IR 3 lists every initializer as a graph input too
        inputs += [helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)) for t in inits]
    g = helper.make_graph(nodes, "conv", inputs,
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = ir
    return m, {"y": "f32[1,10]"}, 8 * 3 * 9 + 8 + 2048 * 10


def typed_fields():
    w = helper.make_tensor("w", TensorProto.FLOAT, [4, 2, 1, 1], [float(i) for i in range(8)])
    shape = helper.make_tensor("shape", TensorProto.INT64, [2], [0, -1])  # int64_data
    idx = helper.make_tensor("idx", TensorProto.INT32, [2], [1, 0])        # int32_data
    nodes = [
        helper.make_node("Constant", [], ["bias"], value_floats=[0.5, 0.5, 0.5, 0.5], name="cb"),
        helper.make_node("Constant", [], ["axes"], value_ints=[0], name="ca"),
        helper.make_node("Constant", [], ["two"], value_float=2.0, name="c2"),
        helper.make_node("Conv", ["x", "w", "bias"], ["c"], name="conv"),
        helper.make_node("Mul", ["c", "two"], ["m"], name="mul"),
        helper.make_node("Reshape", ["m", "shape"], ["r"], name="reshape"),
        helper.make_node("Gather", ["r", "idx"], ["g"], axis=1, name="gather"),
        helper.make_node("Unsqueeze", ["g", "axes"], ["y"], name="unsq"),
    ]
    g = helper.make_graph(nodes, "typed", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 3, 3])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [w, shape, idx])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    return m, {"y": "f32[1,1,2]"}, 8 + 4


def opset9_attrs():
    nodes = [
        helper.make_node("Slice", ["x"], ["s"], starts=[1, -3], ends=[1000, -1], axes=[1, 3], name="slice"),
        helper.make_node("Clip", ["s"], ["c"], min=0.0, max=6.0, name="clip"),
        helper.make_node("Unsqueeze", ["c"], ["u"], axes=[0], name="unsq"),
        helper.make_node("Squeeze", ["u"], ["y"], axes=[0, 1], name="sq"),
    ]
    g = helper.make_graph(nodes, "o9", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 5, 4, 7])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 9)])
    m.ir_version = 4
    return m, {"y": "f32[4,4,2]"}, 0


def shape_subgraph():
    nodes = [
        helper.make_node("Shape", ["x"], ["sh"], name="shape"),
        helper.make_node("Gather", ["sh", "zero"], ["n"], axis=0, name="gather"),
        helper.make_node("Unsqueeze", ["n", "axes"], ["n1"], name="unsq"),
        helper.make_node("Concat", ["n1", "minus1"], ["newshape"], axis=0, name="concat"),
        helper.make_node("Reshape", ["x", "newshape"], ["y"], name="reshape"),
    ]
    inits = [numpy_helper.from_array(np.array(0, np.int64), "zero"),
             numpy_helper.from_array(np.array([0], np.int64), "axes"),
             numpy_helper.from_array(np.array([-1], np.int64), "minus1")]
    g = helper.make_graph(nodes, "ss", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 4, 5])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), {"y": "f32[2,60]"}, 0


def dynamic_dims():
    w = numpy_helper.from_array(np.ones((4, 3, 3, 3), np.float32), "w")
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"], strides=[2, 2], auto_pad="SAME_UPPER", name="conv")]
    g = helper.make_graph(nodes, "dyn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, "H", "W"])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [w])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 11)]), {"y": "f32[2,4,33,50]"}, 108


def opset17_forms():
    nodes = [
        helper.make_node("Clip", ["x", "lo", "hi"], ["c"], name="clip"),
        helper.make_node("Resize", ["c", "", "scales"], ["r"], mode="nearest", name="resize"),
        helper.make_node("ReduceMean", ["r"], ["m"], axes=[1], keepdims=0, name="mean"),
        helper.make_node("Unsqueeze", ["m", "axes"], ["u"], name="unsq"),
        helper.make_node("Squeeze", ["u", "axes"], ["s"], name="sq"),
        helper.make_node("Transpose", ["s"], ["y"], name="tr"),
        helper.make_node("HardSwish", ["y"], ["z"], name="hs"),
    ]
    inits = [numpy_helper.from_array(np.array(0, np.float32), "lo"),
             numpy_helper.from_array(np.array(6, np.float32), "hi"),
             numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales"),
             numpy_helper.from_array(np.array([1], np.int64), "axes")]
    g = helper.make_graph(nodes, "o17", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 5, 6])],
                          [helper.make_tensor_value_info("z", TensorProto.FLOAT, None)], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), {"z": "f32[12,10,1]"}, 0


def opset18_forms():
    nodes = [
        helper.make_node("ReduceMax", ["x", "ax2"], ["r"], keepdims=1, name="rmax"),
        helper.make_node("Pad", ["r", "pads", "", "ax3"], ["p"], name="pad"),
        helper.make_node("Split", ["p"], ["s0", "s1"], axis=3, num_outputs=2, name="split"),
        helper.make_node("Mish", ["s0"], ["m"], name="mish"),
        helper.make_node("Add", ["m", "s1"], ["y"], name="add"),
        helper.make_node("GroupNormalization", ["x", "gs", "gb"], ["g"], num_groups=2, name="gn"),
    ]
    inits = [numpy_helper.from_array(np.array([2], np.int64), "ax2"),
             numpy_helper.from_array(np.array([1, 1], np.int64), "pads"),
             numpy_helper.from_array(np.array([3], np.int64), "ax3"),
             numpy_helper.from_array(np.ones(2, np.float32), "gs"),
             numpy_helper.from_array(np.zeros(2, np.float32), "gb")]
    g = helper.make_graph(nodes, "o18", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 6, 6])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None),
                           helper.make_tensor_value_info("g", TensorProto.FLOAT, None)], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)])
    m.ir_version = 8
    return m, {"y": "f32[1,4,1,4]", "g": "f32[1,4,6,6]"}, 0


def opset21_forms():
    nodes = [
        helper.make_node("GroupNormalization", ["x", "gs", "gb"], ["g"], num_groups=2, name="gn"),
        helper.make_node("Gelu", ["g"], ["y"], approximate="tanh", name="gelu"),
    ]
    inits = [numpy_helper.from_array(np.ones(4, np.float32), "gs"),
             numpy_helper.from_array(np.zeros(4, np.float32), "gb")]
    g = helper.make_graph(nodes, "o21", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 3, 3])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 21)])
    m.ir_version = 10
    return m, {"y": "f32[1,4,3,3]"}, 0


def with_unknown(msg, fields):
    """msg re-parsed with extra fields appended (unknown to python3-onnx 1.12
    too, so protobuf keeps them as unknown fields and writes them back)."""
    def field(num, payload):
        out, tag, n = bytearray(), (num << 3) | 2, len(payload)
        for v in (tag, n):
            while True:
                b = v & 0x7F
                v >>= 7
                out.append(b | (0x80 if v else 0))
                if not v:
                    break
        return bytes(out) + payload
    data = msg.SerializeToString() + b"".join(field(num, payload) for num, payload in fields)
    return type(msg).FromString(data)


def unknown_fields():
    m, want, params = conv_model(21, 10)
    kv = b"\x0a\x01k\x12\x01v"  # StringStringEntryProto{key: "k", value: "v"}
    nodes = [with_unknown(n, [(8, b"overload-1"), (9, kv)]) for n in m.graph.node]
    del m.graph.node[:]
    m.graph.node.extend(nodes)
    inits = [with_unknown(t, [(16, kv)]) for t in m.graph.initializer]
    del m.graph.initializer[:]
    m.graph.initializer.extend(inits)
    g = with_unknown(m.graph, [(16, kv)])
    m.graph.CopyFrom(g)
    return m, want, params


def block_quant():
    nodes = [helper.make_node("QuantizeLinear", ["x", "s"], ["y"], axis=1, block_size=2, name="q")]
    g = helper.make_graph(nodes, "bq", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.UINT8, None)],
                          [numpy_helper.from_array(np.ones((2, 2), np.float32), "s")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 21)])
    m.ir_version = 10
    return m


def main():
    naasc, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    cases = [
        ("ir3_opset7",) + conv_model(7, 3),
        ("ir8_opset13",) + conv_model(13, 8),
        ("typed_fields",) + typed_fields(),
        ("opset9_attrs",) + opset9_attrs(),
        ("shape_subgraph",) + shape_subgraph(),
        ("dynamic_dims",) + dynamic_dims(),
        ("opset17_forms",) + opset17_forms(),
        ("ir9_opset19",) + conv_model(19, 9),
        ("ir10_opset21",) + conv_model(21, 10),
        ("opset18_forms",) + opset18_forms(),
        ("opset21_forms",) + opset21_forms(),
        ("unknown_fields",) + unknown_fields(),
    ]
    extra = {"dynamic_dims": ["--input-shape", "x=2x3x65x100"]}
    passed = failed = 0

    def check(name, cond, msg):
        nonlocal passed, failed
        if cond:
            passed += 1
        else:
            failed += 1
            print(f"FAIL {name}: {msg}")

    for name, model, want, params in cases:
        path = os.path.join(work, name + ".onnx")

        onnx.save(model, path)
        p = run(naasc, [path, "--emit=graph", "--summary"] + extra.get(name, []))
        check(name, p.returncode == 0, f"exit {p.returncode}: {p.stderr}")
        if p.returncode:
            continue
        got = outputs_of(p.stdout)
        check(name, got == want, f"outputs {got}, expected {want}")
        total = [l for l in p.stdout.splitlines() if l.startswith("total ")][0]
        got_params = int(total.split("params=")[1])
        check(name, got_params == params, f"params {got_params}, expected {params}")
        if name == "unknown_fields":
            with open(path, "rb") as f:
                raw = f.read()
            check(name, raw.count(b"overload-1") == len(model.graph.node), "the unknown fields were not written")
        if name == "shape_subgraph":
            check(name, "Shape(" not in p.stdout and "Gather(" not in p.stdout, "shape ops left:\n" + p.stdout)
        if name == "dynamic_dims":
            q = run(naasc, [path])
            check(name, q.returncode == 1 and "input 'x'" in q.stderr and "N,3,H,W" in q.stderr,
                  f"without --input-shape: exit {q.returncode}: {q.stderr}")
        print(f"{name}: ok" if not failed else f"{name}: checked")

    # External data: the same conv model with its weights in a side file.
    m, want, params = conv_model(13, 8)
    ext_dir = os.path.join(work, "ext")
    os.makedirs(ext_dir, exist_ok=True)
    path = os.path.join(ext_dir, "model.onnx")
    onnx.save_model(m, path, save_as_external_data=True, all_tensors_to_one_file=True,
                    location="weights.bin", size_threshold=0)
    has_ext = any(t.data_location == TensorProto.EXTERNAL for t in onnx.load(path, load_external_data=False).graph.initializer)
    check("external_data", has_ext, "the model does not use external data")
    p = run(naasc, [path, "--emit=graph", "--summary"])
    check("external_data", p.returncode == 0 and outputs_of(p.stdout) == want, f"exit {p.returncode}: {p.stderr}")
    if p.returncode == 0:
        got_params = int([l for l in p.stdout.splitlines() if l.startswith("total ")][0].split("params=")[1])
        check("external_data", got_params == params, f"params {got_params} != {params}")
    # A truncated weights file is an error naming the file.
    with open(os.path.join(ext_dir, "weights.bin"), "r+b") as f:
        f.truncate(100)
    p = run(naasc, [path, "--summary"])
    check("external_data", p.returncode == 1 and "weights.bin" in p.stderr and "too short" in p.stderr,
          f"truncated weights: exit {p.returncode}: {p.stderr}")
    print("external_data: checked")
    # A feature naasc cannot honour is refused by name.
    path = os.path.join(work, "block_quant.onnx")
    onnx.save(block_quant(), path)
    p = run(naasc, [path, "--emit=graph"])
    check("block_quant", p.returncode == 1 and "QuantizeLinear attribute block_size=2" in p.stderr,
          f"exit {p.returncode}: {p.stderr}")
    # IR 11 is past what naasc reads.
    m, _, _ = conv_model(21, 10)
    m.ir_version = 11
    path = os.path.join(work, "ir11.onnx")
    onnx.save(m, path)
    p = run(naasc, [path, "--emit=graph"])
    check("ir11", p.returncode == 1 and "IR version 11 is not supported (naasc reads 3 to 10)" in p.stderr,
          f"exit {p.returncode}: {p.stderr}")
    print("block_quant, ir11: checked")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
