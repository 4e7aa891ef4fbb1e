#!/usr/bin/env python3
"""Writes the small models of precision_model.test into the current folder:
q.onnx (a QLinearConv), h.onnx (an f16 Conv), mixed.onnx (a QLinearConv and
a ConvInteger side by side) and d.onnx (an f64 Conv)."""
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def save(name, nodes, inputs, outputs, inits):
    g = helper.make_graph(nodes, name, inputs, outputs, inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, name + ".onnx")


def qconv_nodes(prefix, x, out):
    w = numpy_helper.from_array(np.ones((8, 4, 3, 3), np.int8), prefix + "w")
    consts = [numpy_helper.from_array(np.array(0.5, np.float32), prefix + "s"),
              numpy_helper.from_array(np.array(0, np.uint8), prefix + "zu"),
              numpy_helper.from_array(np.array(0, np.int8), prefix + "zi")]
    node = helper.make_node("QLinearConv", [x, prefix + "s", prefix + "zu", prefix + "w", prefix + "s",
                                            prefix + "zi", prefix + "s", prefix + "zu"], [out],
                            name=prefix + "qconv", pads=[1, 1, 1, 1])
    return [node], [w] + consts


x = helper.make_tensor_value_info("input", TensorProto.UINT8, [1, 4, 16, 16])
nodes, inits = qconv_nodes("a_", "input", "output")
save("q", nodes, [x], [helper.make_tensor_value_info("output", TensorProto.UINT8, [1, 8, 16, 16])], inits)

xh = helper.make_tensor_value_info("input", TensorProto.FLOAT16, [1, 4, 16, 16])
wh = numpy_helper.from_array(np.ones((8, 4, 3, 3), np.float16), "w")
save("h", [helper.make_node("Conv", ["input", "w"], ["output"], name="hconv", pads=[1, 1, 1, 1])], [xh],
     [helper.make_tensor_value_info("output", TensorProto.FLOAT16, [1, 8, 16, 16])], [wh])

nodes, inits = qconv_nodes("a_", "input", "qout")
wi = numpy_helper.from_array(np.ones((8, 4, 3, 3), np.uint8), "wi")
nodes.append(helper.make_node("ConvInteger", ["input", "wi"], ["output"], name="iconv", pads=[1, 1, 1, 1]))
save("mixed", nodes, [x], [helper.make_tensor_value_info("qout", TensorProto.UINT8, [1, 8, 16, 16]),
                           helper.make_tensor_value_info("output", TensorProto.INT32, [1, 8, 16, 16])],
     inits + [wi])

xd = helper.make_tensor_value_info("input", TensorProto.DOUBLE, [1, 4, 16, 16])
wd = numpy_helper.from_array(np.ones((8, 4, 3, 3), np.float64), "w")
save("d", [helper.make_node("Conv", ["input", "w"], ["output"], name="dconv", pads=[1, 1, 1, 1])], [xd],
     [helper.make_tensor_value_info("output", TensorProto.DOUBLE, [1, 8, 16, 16])], [wd])
