#!/usr/bin/python3
"""gen_bad_models.py: writes malformed ONNX inputs for naasc's error paths.

Usage: gen_bad_models.py OUTDIR

Each file is named after the one rule it breaks (see MODELS below); every
other part of it is valid, so the message naasc gives can only be about that
rule.  Most are built with onnx.helper without running the checker (which
would refuse them); the ones protobuf itself cannot express are written as
raw bytes.  Output is deterministic (seeded), so reruns write identical files.

Exit codes: 0 ok, 1 failure.
"""

import os
import random
import sys

import onnx
from onnx import TensorProto, helper

IR_VERSION = 8
OPSET = 13
SEED = 20210705  # any fixed value: random.onnx must be the same on every run


def conv_model(w=None, extra_inits=(), x_dims=(1, 3, 8, 8), ir_version=IR_VERSION,
               opset=OPSET):
    """A valid 1-layer conv model: y = Conv(x, W, B), 3x3, 3 -> 4 channels."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x_dims))
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [x_dims[0], 4, *x_dims[2:]])
    if w is None:
        w = helper.make_tensor("W", TensorProto.FLOAT, [4, 3, 3, 3],
                               [0.01 * i for i in range(4 * 3 * 3 * 3)])
    b = helper.make_tensor("B", TensorProto.FLOAT, [4], [0.0, 1.0, 2.0, 3.0])
    conv = helper.make_node("Conv", ["x", w.name, "B"], ["y"], name="conv_0",
                            kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    g = helper.make_graph([conv], "conv", [x], [y], initializer=[w, b, *extra_inits])
    return helper.make_model(g, ir_version=ir_version,
                             opset_imports=[helper.make_opsetid("", opset)],
                             producer_name="naasc-badinput")


def relu_model(nodes, inputs, outputs, inits=()):
    g = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(inits))
    return helper.make_model(g, ir_version=IR_VERSION,
                             opset_imports=[helper.make_opsetid("", OPSET)],
                             producer_name="naasc-badinput")


def fvi(name, dims):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, dims)


def raw_tensor(name, dims, nbytes, dtype=TensorProto.FLOAT):
    t = TensorProto()
    t.name = name
    t.data_type = dtype
    t.dims.extend(dims)
    t.raw_data = bytes((i * 7) & 0xFF for i in range(nbytes))
    return t


def external_tensor(name, dims, location, length):
    t = TensorProto()
    t.name = name
    t.data_type = TensorProto.FLOAT
    t.dims.extend(dims)
    t.data_location = TensorProto.EXTERNAL
    for k, v in (("location", location), ("offset", "0"), ("length", str(length))):
        e = t.external_data.add()
        e.key = k
        e.value = v
    return t


def gen_truncated():
    data = conv_model().SerializeToString()
    cut = len(data) // 2
    # Half of a valid model: make sure protobuf itself refuses it (a cut that
    # lands on a field boundary would parse; move it until it does not).
    while cut > 1:
        try:
            onnx.load_model_from_string(data[:cut])
        except Exception:
            break
        cut -= 1
    return data[:cut]


def gen_random():
    rng = random.Random(SEED)
    return bytes(rng.getrandbits(8) for _ in range(4096))


def gen_cycle():
    # a = Relu(b); b = Relu(a): no order can run them.
    n1 = helper.make_node("Relu", ["b"], ["a"], name="relu_a")
    n2 = helper.make_node("Relu", ["a"], ["b"], name="relu_b")
    return relu_model([n1, n2], [fvi("x", [1, 4])], [fvi("b", [1, 4])])


def gen_undefined_input():
    n1 = helper.make_node("Relu", ["x"], ["a"], name="relu_a")
    n2 = helper.make_node("Add", ["a", "ghost"], ["y"], name="add_ghost")
    return relu_model([n1, n2], [fvi("x", [1, 4])], [fvi("y", [1, 4])])


def gen_zero_dim():
    n = helper.make_node("Relu", ["x"], ["y"], name="relu_0")
    return relu_model([n], [fvi("x", [1, 0, 4, 4])], [fvi("y", [1, 0, 4, 4])])


def gen_negative_dim():
    t = raw_tensor("W", [4, -3, 3, 3], 4 * 3 * 3 * 3 * 4)
    return conv_model(w=t)


def gen_huge_tensor():
    # 2^40 float elements declared, 16 bytes given.
    t = raw_tensor("W", [1048576, 1048576], 16)
    x = fvi("x", [1, 1048576])
    n = helper.make_node("MatMul", ["x", "W"], ["y"], name="matmul_0")
    return relu_model([n], [x], [fvi("y", [1, 1048576])], inits=[t])


def gen_data_length_mismatch():
    t = raw_tensor("W", [4, 3, 3, 3], 100)  # needs 4*3*3*3*4 = 432 bytes
    return conv_model(w=t)


def gen_bad_ir_version():
    return conv_model(ir_version=99)


def gen_bad_opset():
    return conv_model(opset=30)


def gen_unsupported_ops():
    # Conv (supported) -> FooOp -> FooOp -> BarOp.  value_info and the graph
    # output give every host node's output type, so with --allow-unsupported
    # the model is fully static.
    w = helper.make_tensor("W", TensorProto.FLOAT, [4, 3, 3, 3],
                           [0.01 * i for i in range(4 * 3 * 3 * 3)])
    nodes = [
        helper.make_node("Conv", ["x", "W"], ["c"], name="conv_0",
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("FooOp", ["c"], ["f1"], name="foo_1", alpha=0.5),
        helper.make_node("FooOp", ["f1"], ["f2"], name="foo_2", alpha=0.25),
        helper.make_node("BarOp", ["f2"], ["y"], name="bar_3"),
    ]
    g = helper.make_graph(nodes, "unsupported", [fvi("x", [1, 3, 8, 8])],
                          [fvi("y", [1, 4, 8, 8])], initializer=[w],
                          value_info=[fvi("c", [1, 4, 8, 8]), fvi("f1", [1, 4, 8, 8]),
                                      fvi("f2", [1, 4, 8, 8])])
    return helper.make_model(g, ir_version=IR_VERSION,
                             opset_imports=[helper.make_opsetid("", OPSET)],
                             producer_name="naasc-badinput")


def gen_dynamic_dims():
    return conv_model(x_dims=("batch", 3, 8, 8))


def gen_external_escape():
    return conv_model(w=external_tensor("W", [4, 3, 3, 3], "../../etc/passwd", 432))


def gen_external_missing():
    return conv_model(w=external_tensor("W", [4, 3, 3, 3], "missing_weights.bin", 432))


def gen_empty():
    return b""


def if_model(then_outputs=1, then_dims=(2,), else_dims=(2,), then_reads="x", else_nodes=None):
    """y = If(cond) over x: f32[2]; each branch a small graph."""
    tn = [helper.make_node("Relu", [then_reads], ["t"], name="ghost_reader" if then_reads != "x" else "relu_t")]
    touts = [fvi("t", list(then_dims))]
    if then_outputs == 2:
        tn.append(helper.make_node("Neg", ["x"], ["t2"], name="neg_t"))
        touts.append(fvi("t2", [2]))
    then_g = helper.make_graph(tn, "then_body", [], touts)
    en = else_nodes or [helper.make_node("Relu", ["x"], ["e"], name="relu_e")]
    else_g = helper.make_graph(en, "else_body", [], [fvi("e", list(else_dims))])
    ifn = helper.make_node("If", ["cond"], ["y"], name="switch", then_branch=then_g, else_branch=else_g)
    g = helper.make_graph([ifn], "if", [helper.make_tensor_value_info("cond", TensorProto.BOOL, []), fvi("x", [2])],
                          [fvi("y", [2])])
    return helper.make_model(g, ir_version=IR_VERSION, opset_imports=[helper.make_opsetid("", OPSET)],
                             producer_name="naasc-badinput")


def gen_if_branch_outputs():
    return if_model(then_outputs=2)


def gen_if_branch_shapes():
    return if_model(then_dims=(2,), else_nodes=[helper.make_node("Concat", ["x", "x"], ["e"], name="cat_e", axis=0)],
                    else_dims=(4,))


def gen_subgraph_undefined():
    return if_model(then_reads="ghost")


def gen_unsupported_in_subgraph():
    m = if_model(else_nodes=[helper.make_node("BazOp", ["x"], ["e"], name="baz_e")])
    m.graph.node.insert(0, helper.make_node("FooOp", ["x"], ["unused"], name="foo_main"))
    return m


def gen_loop_body_signature():
    body = helper.make_graph([helper.make_node("Identity", ["c_in"], ["c_out"], name="keep"),
                              helper.make_node("Relu", ["c_in"], ["s_out"], name="bad")], "body",
                             [helper.make_tensor_value_info("i", TensorProto.INT64, []),
                              helper.make_tensor_value_info("c_in", TensorProto.BOOL, [])],
                             [helper.make_tensor_value_info("c_out", TensorProto.BOOL, []), fvi("s_out", [2])])
    m = helper.make_tensor("trips", TensorProto.INT64, [], [3])
    loop = helper.make_node("Loop", ["trips", "", "s0"], ["s"], name="repeat", body=body)
    g = helper.make_graph([loop], "loop", [fvi("s0", [2])], [fvi("s", [2])], initializer=[m])
    return helper.make_model(g, ir_version=IR_VERSION, opset_imports=[helper.make_opsetid("", OPSET)],
                             producer_name="naasc-badinput")


def gen_float8_initializer():
    w = TensorProto()
    w.name = "W"
    w.data_type = 17  # FLOAT8E4M3FN (IR 9)
    w.dims.extend([4, 3, 3, 3])
    w.raw_data = bytes(108)
    return conv_model(w=w, ir_version=9)


def gen_local_function():
    f = helper.make_function("custom.fn", "Twice", ["a"], ["b"], [helper.make_node("Add", ["a", "a"], ["b"])],
                             [helper.make_opsetid("", OPSET)])
    node = helper.make_node("Twice", ["x"], ["y"], name="call_twice", domain="custom.fn")
    g = helper.make_graph([node], "fn", [fvi("x", [2])], [fvi("y", [2])])
    m = helper.make_model(g, ir_version=IR_VERSION, producer_name="naasc-badinput",
                          opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid("custom.fn", 1)])
    m.functions.append(f)
    return m


# file name -> (generator, the rule it breaks)
MODELS = {
    "truncated.onnx": (gen_truncated, "a valid conv model cut in half"),
    "random.onnx": (gen_random, "4 KiB of seeded random bytes"),
    "cycle.onnx": (gen_cycle, "two nodes read each other's outputs"),
    "undefined_input.onnx": (gen_undefined_input, "a node reads a tensor nobody defines"),
    "zero_dim.onnx": (gen_zero_dim, "graph input with a 0 dim"),
    "negative_dim.onnx": (gen_negative_dim, "initializer with a -3 dim"),
    "huge_tensor.onnx": (gen_huge_tensor, "initializer declaring 2^40 elements, 16 bytes of data"),
    "data_length_mismatch.onnx": (gen_data_length_mismatch, "raw_data 100 bytes for 432"),
    "bad_ir_version.onnx": (gen_bad_ir_version, "ir_version 99"),
    "bad_opset.onnx": (gen_bad_opset, "default-domain opset 30"),
    "unsupported_ops.onnx": (gen_unsupported_ops, "FooOp x2, BarOp x1 after a Conv"),
    "dynamic_dims.onnx": (gen_dynamic_dims, "input dim_param 'batch'"),
    "external_escape.onnx": (gen_external_escape, "external data at ../../etc/passwd"),
    "external_missing.onnx": (gen_external_missing, "external data file that does not exist"),
    "empty.onnx": (gen_empty, "0 bytes"),
    "if_branch_outputs.onnx": (gen_if_branch_outputs, "then_branch with 2 outputs for a 1-output If"),
    "if_branch_shapes.onnx": (gen_if_branch_shapes, "branches give f32[2] and f32[4], condition an input"),
    "subgraph_undefined.onnx": (gen_subgraph_undefined, "a then_branch node reads a name defined nowhere"),
    "unsupported_in_subgraph.onnx": (gen_unsupported_in_subgraph, "FooOp in the graph, BazOp in a branch"),
    "loop_body_signature.onnx": (gen_loop_body_signature, "a Loop body without its carried value input"),
    "float8_initializer.onnx": (gen_float8_initializer, "a FLOAT8E4M3FN initializer (IR 9)"),
    "local_function.onnx": (gen_local_function, "a node calling a model-local function"),
}


def main():
    if len(sys.argv) != 2:
        print("usage: gen_bad_models.py OUTDIR", file=sys.stderr)
        return 2
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    for name, (gen, rule) in MODELS.items():
        obj = gen()
        data = obj if isinstance(obj, bytes) else obj.SerializeToString()
        tmp = os.path.join(outdir, name + ".tmp")
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, os.path.join(outdir, name))
        print("%-28s %6d bytes  %s" % (name, len(data), rule))
    print("gen_bad_models: wrote %d files to %s" % (len(MODELS), outdir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
