#!/usr/bin/env python3
"""A small network for the schedule golden tests (tests/schedule/*.test).

  sched_model.py OUT.onnx [--resnet|--chain|--qchain|--attention|--attention=TOKENS]

x[1,8,32,32] -> expand (1x1 conv, 8 -> 32, Relu) -> dw (3x3 depthwise, pad 1,
Relu) -> project (1x1 conv, 32 -> 8) -> add (+ x) -> down (3x3 conv, stride 2,
pad 1, 8 -> 16, Relu) -> y[1,16,16,16]: an inverted residual block and a
strided conv, so groups can be layer by layer or depth-first and one of them
holds a residual branch.  Weights are zeros (their values do not matter to
counts).

With --resnet, a ResNet basic block instead: x[1,16,16,16] -> conv1 (3x3,
pad 1, Relu) -> conv2 (3x3, pad 1) -> add (+ x) -> Relu -> y[1,16,16,16].

With --chain, a two-layer chain: x[1,4,8,8] -> conv1 (3x3, pad 1, Relu) ->
conv2 (3x3, pad 1) -> y[1,4,8,8], the depth-first goldens' smallest case.
With --qchain, the same chain quantized: two QLinearConv on u8 tensors
(integer mac layers), which the command stream cannot run depth-first yet.

With --attention, one head of attention, 8 tokens, d = 4: q[1,1,8,4] x
kt[1,1,4,8] -> scores -> scale (x 0.5) -> softmax (over the 8 keys) -> x
v[1,1,8,4] -> context y[1,1,8,4] (q, kt and v graph inputs: activations).
With --attention=TOKENS, the same with TOKENS tokens and d = 64.
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def w(name, shape):
    return numpy_helper.from_array(np.zeros(shape, np.float32), name)


def resnet(out):
    F = TensorProto.FLOAT
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c1"], name="conv1", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("Conv", ["r1", "w2"], ["c2"], name="conv2", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Add", ["c2", "x"], ["s"], name="add"),
        helper.make_node("Relu", ["s"], ["y"], name="relu2"),
    ]
    inits = [w("w1", (16, 16, 3, 3)), w("w2", (16, 16, 3, 3))]
    g = helper.make_graph(nodes, "resblock", [helper.make_tensor_value_info("x", F, [1, 16, 16, 16])],
                          [helper.make_tensor_value_info("y", F, [1, 16, 16, 16])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 7
    onnx.checker.check_model(m)
    onnx.save(m, out)
    return 0


def chain(out):
    F = TensorProto.FLOAT
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c1"], name="conv1", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("Conv", ["r1", "w2"], ["y"], name="conv2", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
    ]
    inits = [w("w1", (4, 4, 3, 3)), w("w2", (4, 4, 3, 3))]
    g = helper.make_graph(nodes, "chain", [helper.make_tensor_value_info("x", F, [1, 4, 8, 8])],
                          [helper.make_tensor_value_info("y", F, [1, 4, 8, 8])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 7
    onnx.checker.check_model(m)
    onnx.save(m, out)
    return 0


def qchain(out):
    U8 = TensorProto.UINT8

    def c(name, v, dt=np.uint8):
        return numpy_helper.from_array(np.array(v, dt), name)

    nodes = [
        helper.make_node("QLinearConv", ["x", "xs", "xz", "w1", "ws", "wz", "ys", "yz"], ["c1"], name="conv1",
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("QLinearConv", ["c1", "ys", "yz", "w2", "ws", "wz", "ys", "yz"], ["y"], name="conv2",
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
    ]
    inits = [c("xs", 0.05, np.float32), c("xz", 128), c("ws", 0.01, np.float32), c("wz", 128),
             c("ys", 0.1, np.float32), c("yz", 128), c("w1", np.full((4, 4, 3, 3), 130)),
             c("w2", np.full((4, 4, 3, 3), 126))]
    g = helper.make_graph(nodes, "qchain", [helper.make_tensor_value_info("x", U8, [1, 4, 8, 8])],
                          [helper.make_tensor_value_info("y", U8, [1, 4, 8, 8])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 7
    onnx.checker.check_model(m)
    onnx.save(m, out)
    return 0


def attention(out, tokens=8, d=4):
    F = TensorProto.FLOAT
    nodes = [
        helper.make_node("MatMul", ["q", "kt"], ["s"], name="scores"),
        helper.make_node("Mul", ["s", "scale"], ["ss"], name="scale"),
        helper.make_node("Softmax", ["ss"], ["p"], name="softmax", axis=-1),
        helper.make_node("MatMul", ["p", "v"], ["y"], name="context"),
    ]
    inits = [numpy_helper.from_array(np.array(0.5, np.float32), "scale")]
    ins = [helper.make_tensor_value_info("q", F, [1, 1, tokens, d]),
           helper.make_tensor_value_info("kt", F, [1, 1, d, tokens]),
           helper.make_tensor_value_info("v", F, [1, 1, tokens, d])]
    g = helper.make_graph(nodes, "attention", ins, [helper.make_tensor_value_info("y", F, [1, 1, tokens, d])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 7
    onnx.checker.check_model(m)
    onnx.save(m, out)
    return 0


def main():
    if len(sys.argv) == 3 and sys.argv[2] == "--resnet":
        return resnet(sys.argv[1])
    if len(sys.argv) == 3 and sys.argv[2] == "--attention":
        return attention(sys.argv[1])
    if len(sys.argv) == 3 and sys.argv[2].startswith("--attention="):
        return attention(sys.argv[1], int(sys.argv[2].split("=", 1)[1]), 64)
    if len(sys.argv) == 3 and sys.argv[2] == "--chain":
        return chain(sys.argv[1])
    if len(sys.argv) == 3 and sys.argv[2] == "--qchain":
        return qchain(sys.argv[1])
    if len(sys.argv) != 2:
        print("usage: sched_model.py OUT.onnx [--resnet|--chain|--qchain|--attention|--attention=TOKENS]",
              file=sys.stderr)
        return 2
    F = TensorProto.FLOAT
    nodes = [
        helper.make_node("Conv", ["x", "w_expand"], ["e"], name="expand", kernel_shape=[1, 1]),
        helper.make_node("Relu", ["e"], ["e_relu"], name="expand_relu"),
        helper.make_node("Conv", ["e_relu", "w_dw"], ["d"], name="dw", kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                         group=32),
        helper.make_node("Relu", ["d"], ["d_relu"], name="dw_relu"),
        helper.make_node("Conv", ["d_relu", "w_project"], ["p"], name="project", kernel_shape=[1, 1]),
        helper.make_node("Add", ["p", "x"], ["s"], name="add"),
        helper.make_node("Conv", ["s", "w_down"], ["o"], name="down", kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                         strides=[2, 2]),
        helper.make_node("Relu", ["o"], ["y"], name="down_relu"),
    ]
    inits = [w("w_expand", (32, 8, 1, 1)), w("w_dw", (32, 1, 3, 3)), w("w_project", (8, 32, 1, 1)),
             w("w_down", (16, 8, 3, 3))]
    g = helper.make_graph(nodes, "block", [helper.make_tensor_value_info("x", F, [1, 8, 32, 32])],
                          [helper.make_tensor_value_info("y", F, [1, 16, 16, 16])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 7
    onnx.checker.check_model(m)
    onnx.save(m, sys.argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
