#!/usr/bin/python3
"""control_models.py: writes the small control-flow models the ctrl_* golden
tests import.

Usage: control_models.py OUTDIR

  if_input.onnx   y = If(cond) with cond a graph input; then_branch adds the
                  outer x to itself (a captured value), else_branch negates x
  if_const.onnx   the usual export of a sample-rate switch: cond = Equal(
                  Gather(Shape(x), 1), 16), so it folds; the taken branch
                  makes ConstantOfShape(Shape(x)) + x and is inlined
  loop.onnx       a Loop with a constant trip count 3: carries s (f32[2]),
                  adds the outer w each iteration, scans out s * 2
  scan.onnx       a Scan summing the rows of x (f32[3,2]), scanning out the
                  running sums
  true.pb         a bool[] true, for --input-data cond=true.pb

Deterministic: the same files on every run.
"""
import os
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper


def model(g, opset=13):
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], producer_name="naasc-golden")
    m.ir_version = 8
    return m


def if_input():
    then_g = helper.make_graph([helper.make_node("Add", ["x", "x"], ["t"], name="twice")], "then_body", [],
                               [helper.make_tensor_value_info("t", TensorProto.FLOAT, [2, 3])])
    else_g = helper.make_graph([helper.make_node("Neg", ["x"], ["e"], name="negate")], "else_body", [],
                               [helper.make_tensor_value_info("e", TensorProto.FLOAT, [2, 3])])
    nodes = [helper.make_node("If", ["cond"], ["y"], name="switch", then_branch=then_g, else_branch=else_g)]
    g = helper.make_graph(nodes, "if_input",
                          [helper.make_tensor_value_info("cond", TensorProto.BOOL, []),
                           helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])])
    return model(g)


def if_const():
    one = numpy_helper.from_array(np.array([1], np.int64), "one")
    sr = numpy_helper.from_array(np.array(16, np.int64), "rate")
    then_g = helper.make_graph([
        helper.make_node("Shape", ["x"], ["xs"], name="shape_in_branch"),
        helper.make_node("ConstantOfShape", ["xs"], ["ones"], name="fill",
                         value=numpy_helper.from_array(np.array([1.5], np.float32))),
        helper.make_node("Add", ["ones", "x"], ["t"], name="add_fill")], "rate16", [],
        [helper.make_tensor_value_info("t", TensorProto.FLOAT, [2, 16])])
    else_g = helper.make_graph([helper.make_node("Neg", ["x"], ["e"], name="other_rate")], "other", [],
                               [helper.make_tensor_value_info("e", TensorProto.FLOAT, [2, 16])])
    nodes = [
        helper.make_node("Shape", ["x"], ["s"], name="shape"),
        helper.make_node("Gather", ["s", "one"], ["d1"], name="dim1", axis=0),
        helper.make_node("Squeeze", ["d1"], ["d"], name="scalar"),
        helper.make_node("Equal", ["d", "rate"], ["is16"], name="is_16k"),
        helper.make_node("If", ["is16"], ["y"], name="rate_switch", then_branch=then_g, else_branch=else_g),
    ]
    g = helper.make_graph(nodes, "if_const", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 16])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 16])], initializer=[one, sr])
    return model(g)


def loop():
    w = numpy_helper.from_array(np.array([0.5, -1.0], np.float32), "w")
    m = numpy_helper.from_array(np.array(3, np.int64), "trips")
    body = helper.make_graph([
        helper.make_node("Add", ["s_in", "w"], ["s_out"], name="accumulate"),
        helper.make_node("Mul", ["s_out", "two"], ["scan"], name="double"),
        helper.make_node("Identity", ["c_in"], ["c_out"], name="keep_going")], "body",
        [helper.make_tensor_value_info("i", TensorProto.INT64, []),
         helper.make_tensor_value_info("c_in", TensorProto.BOOL, []),
         helper.make_tensor_value_info("s_in", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("c_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("s_out", TensorProto.FLOAT, [2]),
         helper.make_tensor_value_info("scan", TensorProto.FLOAT, [2])],
        initializer=[numpy_helper.from_array(np.array(2.0, np.float32), "two")])
    nodes = [helper.make_node("Loop", ["trips", "", "s0"], ["s", "all"], name="repeat", body=body)]
    g = helper.make_graph(nodes, "loop", [helper.make_tensor_value_info("s0", TensorProto.FLOAT, [2])],
                          [helper.make_tensor_value_info("s", TensorProto.FLOAT, [2]),
                           helper.make_tensor_value_info("all", TensorProto.FLOAT, [3, 2])], initializer=[w, m])
    return model(g)


def scan():
    body = helper.make_graph([
        helper.make_node("Add", ["sum_in", "row"], ["sum_out"], name="add_row"),
        helper.make_node("Identity", ["sum_out"], ["running"], name="emit")], "scan_body",
        [helper.make_tensor_value_info("sum_in", TensorProto.FLOAT, [2]),
         helper.make_tensor_value_info("row", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("sum_out", TensorProto.FLOAT, [2]),
         helper.make_tensor_value_info("running", TensorProto.FLOAT, [2])])
    nodes = [helper.make_node("Scan", ["init", "x"], ["total", "sums"], name="rows", body=body, num_scan_inputs=1)]
    g = helper.make_graph(nodes, "scan", [helper.make_tensor_value_info("init", TensorProto.FLOAT, [2]),
                                          helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 2])],
                          [helper.make_tensor_value_info("total", TensorProto.FLOAT, [2]),
                           helper.make_tensor_value_info("sums", TensorProto.FLOAT, [3, 2])])
    return model(g, 11)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "."
    for name, gen in (("if_input", if_input), ("if_const", if_const), ("loop", loop), ("scan", scan)):
        with open(os.path.join(out, name + ".onnx"), "wb") as f:
            f.write(gen().SerializeToString())
    with open(os.path.join(out, "true.pb"), "wb") as f:
        f.write(numpy_helper.from_array(np.array(True)).SerializeToString())
    return 0


if __name__ == "__main__":
    sys.exit(main())
