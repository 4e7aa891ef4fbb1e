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
"""
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

DT = {1: "f32", 7: "i64", 6: "i32", 9: "bool"}


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
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
