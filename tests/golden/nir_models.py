#!/usr/bin/env python3
"""Small ONNX models for the loop-nest IR golden tests (nir_*.test).

  nir_models.py NAME OUT.onnx      write model NAME to OUT.onnx
  nir_models.py --list             the names

Each model holds one op (or a short chain) with shapes chosen so that the
lowered indices and paddings can be checked by hand: asymmetric pads,
stride and dilation together, a window that runs past the end of the input.
Weights are initializers (role `weight` in the IR); their values do not
matter to the lowering, so they are zeros.  The models in BAD break one
shape rule each (for the error goldens); they are written without the
ONNX checker, which wants shapes on their outputs.
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

F = TensorProto.FLOAT


def inp(name, shape):
    return helper.make_tensor_value_info(name, F, shape)


def out(name):
    return helper.make_tensor_value_info(name, F, None)


def w(name, shape, dtype=np.float32):
    return numpy_helper.from_array(np.zeros(shape, dtype), name)


def c(name, values, dtype):
    return numpy_helper.from_array(np.array(values, dtype), name)


def model(name, nodes, inputs, outputs, inits, opset=13):
    g = helper.make_graph(nodes, name, inputs, [out(o) for o in outputs], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 7
    # Give the outputs their shapes (the checker wants one on every output).
    inferred = onnx.shape_inference.infer_shapes(m, strict_mode=True)
    shapes = {v.name: v.type for v in list(inferred.graph.value_info) + list(inferred.graph.output)}
    for o in m.graph.output:
        o.type.CopyFrom(shapes[o.name])
    return m


def conv():
    # H: 9 + pads 1/1, kernel 3 dilation 2 stride 2 -> 4 rows; last row reads 3*2+2*2-1 = 9 = 8+1.
    # W: 9 + pads 2/0, kernel 3 stride 2 -> 5 cols; last col reads 4*2+2-2 = 8 = 8+0.
    n = helper.make_node("Conv", ["x", "w", "b"], ["y"], name="conv", pads=[1, 2, 1, 0],
                         strides=[2, 2], dilations=[2, 1])
    return model("conv", [n], [inp("x", [1, 4, 9, 9])], ["y"], [w("w", [6, 4, 3, 3]), w("b", [6])])


def conv_depthwise():
    n = helper.make_node("Conv", ["x", "w", "b"], ["y"], name="dw", group=4, pads=[1, 1, 1, 1])
    return model("conv_depthwise", [n], [inp("x", [1, 4, 8, 8])], ["y"],
                 [w("w", [4, 1, 3, 3]), w("b", [4])])


def conv_grouped():
    # 6 input channels in 2 groups of 3, 4 output channels in 2 groups of 2; no bias.
    n = helper.make_node("Conv", ["x", "w"], ["y"], name="gconv", group=2, strides=[1, 2])
    return model("conv_grouped", [n], [inp("x", [2, 6, 5, 7])], ["y"], [w("w", [4, 3, 3, 3])])


def conv_1d():
    # 10 + pads 1/1, kernel 3 dilation 2 -> 8; last reads 7+2*2-1 = 10 = 9+1.
    n = helper.make_node("Conv", ["x", "w"], ["y"], name="conv1d", pads=[1, 1], dilations=[2])
    return model("conv_1d", [n], [inp("x", [1, 3, 10])], ["y"], [w("w", [5, 3, 3])])


def conv_transpose():
    # 5x5 -> (5-1)*2 + 3 - 2*1 = 9 (no output_padding): the last scatter row 4*2+2-1 = 9 = 8+1.
    n = helper.make_node("ConvTranspose", ["x", "w", "b"], ["y"], name="up", strides=[2, 2],
                         pads=[1, 1, 1, 1])
    return model("conv_transpose", [n], [inp("x", [1, 4, 5, 5])], ["y"],
                 [w("w", [4, 3, 3, 3]), w("b", [3])])


def conv_relu():
    n1 = helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", pads=[1, 1, 1, 1])
    n2 = helper.make_node("Relu", ["c"], ["y"], name="relu")
    return model("conv_relu", [n1, n2], [inp("x", [1, 3, 6, 6])], ["y"],
                 [w("w", [8, 3, 3, 3]), w("b", [8])])


def gemm():
    n = helper.make_node("Gemm", ["a", "b", "c"], ["y"], name="fc", transB=1, alpha=0.5, beta=2.0)
    return model("gemm", [n], [inp("a", [2, 8])], ["y"], [w("b", [5, 8]), w("c", [5])])


def conv_patch():
    """A ViT-style patch embedding: 16 x 16 kernel at stride 16 (more filter
    rows than eyeriss's 12-row array: its as-built row-stationary dataflow
    cannot map it)."""
    n = helper.make_node("Conv", ["x", "w"], ["y"], name="patch", strides=[16, 16])
    return model("conv_patch", [n], [inp("x", [1, 3, 32, 32])], ["y"], [w("w", [8, 3, 16, 16])])


def matmul_2d():
    n = helper.make_node("MatMul", ["a", "b"], ["y"], name="mm")
    return model("matmul_2d", [n], [inp("a", [3, 8])], ["y"], [w("b", [8, 4])])


def matmul_batched_w2d():
    # [2,3,8] x [8,4]: the batch folds into the rows (N = 6), A and O are read as [6, 8] / [6, 4].
    n = helper.make_node("MatMul", ["a", "b"], ["y"], name="mm")
    return model("matmul_batched_w2d", [n], [inp("a", [2, 3, 8])], ["y"], [w("b", [8, 4])])


def matmul_batched():
    # [2,3,8] x [2,8,4] and a broadcast A: [1,3,8] x [2,8,4].
    n1 = helper.make_node("MatMul", ["a", "b"], ["y"], name="bmm")
    n2 = helper.make_node("MatMul", ["a1", "b"], ["y1"], name="bmm_bcast")
    return model("matmul_batched", [n1, n2], [inp("a", [2, 3, 8]), inp("a1", [1, 3, 8]),
                                              inp("b", [2, 8, 4])], ["y", "y1"], [])


def matmul_vectors():
    # numpy's 1-D rules: [3,8] x [8] -> [3] (N = 3), [2,3,8] x [8] -> [2,3] (N = 6, A and O
    # whole), [8] x [2,8,4] -> [2,4] (G = 2, N = 1).
    n1 = helper.make_node("MatMul", ["a", "v"], ["y"], name="mv")
    n2 = helper.make_node("MatMul", ["a3", "v"], ["y3"], name="mv_batched")
    n3 = helper.make_node("MatMul", ["v", "b"], ["yb"], name="vm_batched")
    return model("matmul_vectors", [n1, n2, n3],
                 [inp("a", [3, 8]), inp("a3", [2, 3, 8]), inp("v", [8]), inp("b", [2, 8, 4])],
                 ["y", "y3", "yb"], [])


def matmul_batch4d():
    # [5,2,3,8] x [2,8,4] -> [5,2,3,4]: two batch dims, B broadcast along the first; G = 10
    # cannot index B's batch dim of 2, so A, B and O are accessed whole.
    n = helper.make_node("MatMul", ["a", "b"], ["y"], name="bmm4")
    return model("matmul_batch4d", [n], [inp("a", [5, 2, 3, 8]), inp("b", [2, 8, 4])], ["y"], [])


def misc_ops():
    # The element-wise, shape and data ops not covered elsewhere, each lowered once:
    # Sigmoid, HardSigmoid, LeakyRelu, HardSwish, Sqrt, Pow, Div, Sub, Max, Mul, Cast,
    # a Gather with a computed index, Identity, Dropout, Squeeze, Unsqueeze, Flatten.
    nodes = [
        helper.make_node("Sigmoid", ["x"], ["a"], name="sigmoid"),
        helper.make_node("HardSigmoid", ["a"], ["b"], alpha=0.25, beta=0.5, name="hardsigmoid"),
        helper.make_node("LeakyRelu", ["b"], ["c"], alpha=0.1, name="leakyrelu"),
        helper.make_node("HardSwish", ["c"], ["d"], name="hardswish"),
        helper.make_node("Sqrt", ["d"], ["e"], name="sqrt"),
        helper.make_node("Pow", ["e", "two"], ["f"], name="pow"),
        helper.make_node("Div", ["f", "x"], ["g"], name="div"),
        helper.make_node("Sub", ["g", "x"], ["h"], name="sub"),
        helper.make_node("Max", ["h", "x", "a"], ["i"], name="max3"),
        helper.make_node("Mul", ["i", "x"], ["j"], name="mul"),
        helper.make_node("Identity", ["j"], ["k"], name="identity"),
        helper.make_node("Dropout", ["k"], ["l"], name="dropout"),
        helper.make_node("Unsqueeze", ["l", "ax0"], ["m"], name="unsqueeze"),
        helper.make_node("Squeeze", ["m", "ax0"], ["n"], name="squeeze"),
        helper.make_node("Flatten", ["n"], ["o"], axis=1, name="flatten"),
        helper.make_node("Cast", ["idx"], ["idx64"], to=TensorProto.INT64, name="cast"),
        helper.make_node("Gather", ["o", "idx64"], ["y"], axis=1, name="gather"),
    ]
    return model("misc_ops", nodes,
                 [inp("x", [1, 2, 3, 4]), helper.make_tensor_value_info("idx", TensorProto.INT32, [5])],
                 ["y"], [c("two", [2.0], np.float32), c("ax0", [0], np.int64)], opset=14)


def maxpool():
    # 7 + pads 1/1, kernel 3 stride 2 -> 4; last window 3*2+2-1 = 7 = 6+1.
    # ceil_mode, kernel 2 stride 2, no pads: 7 -> 4; last window 3*2+1 = 7 = 6+1.
    n1 = helper.make_node("MaxPool", ["x"], ["y"], name="pool", kernel_shape=[3, 3],
                          strides=[2, 2], pads=[1, 1, 1, 1])
    n2 = helper.make_node("MaxPool", ["x"], ["y2"], name="pool_ceil", kernel_shape=[2, 2],
                          strides=[2, 2], ceil_mode=1)
    return model("maxpool", [n1, n2], [inp("x", [1, 2, 7, 7])], ["y", "y2"], [])


def avgpool():
    n = helper.make_node("AveragePool", ["x"], ["y"], name="avg", kernel_shape=[3, 2],
                         pads=[1, 0, 1, 0], count_include_pad=1)
    return model("avgpool", [n], [inp("x", [1, 2, 5, 6])], ["y"], [])


def globalavgpool():
    n = helper.make_node("GlobalAveragePool", ["x"], ["y"], name="gap")
    return model("globalavgpool", [n], [inp("x", [1, 3, 5, 6])], ["y"], [])


def add_broadcast():
    # [2,3,4,5] + [3,1,1] (a weight) and + [4,1] (an input): size-1 dims index 0.
    n1 = helper.make_node("Add", ["x", "b"], ["s"], name="add_w")
    n2 = helper.make_node("Add", ["s", "z"], ["y"], name="add_in")
    return model("add_broadcast", [n1, n2], [inp("x", [2, 3, 4, 5]), inp("z", [4, 1])], ["y"],
                 [w("b", [3, 1, 1])])


def clip():
    n = helper.make_node("Clip", ["x", "lo", "hi"], ["y"], name="clip")
    return model("clip", [n], [inp("x", [2, 3])], ["y"],
                 [c("lo", -1.0, np.float32), c("hi", 2.5, np.float32)])


def batchnorm():
    n = helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], name="bn",
                         epsilon=1e-3)
    return model("batchnorm", [n], [inp("x", [1, 3, 4, 4])], ["y"],
                 [w("s", [3]), w("b", [3]), w("m", [3]), w("v", [3])])


def softmax():
    # opset 13: one axis (-1 = the last); opset 11: every axis from `axis` on.
    n = helper.make_node("Softmax", ["x"], ["y"], name="softmax", axis=-1)
    return model("softmax", [n], [inp("x", [2, 3, 4])], ["y"], [])


def softmax_opset11():
    n = helper.make_node("Softmax", ["x"], ["y"], name="softmax", axis=1)
    return model("softmax_opset11", [n], [inp("x", [2, 3, 4])], ["y"], [], opset=11)


def reducemean():
    n1 = helper.make_node("ReduceMean", ["x"], ["y"], name="mean_keep", axes=[2, -1], keepdims=1)
    n2 = helper.make_node("ReduceMean", ["x"], ["y2"], name="mean_drop", axes=[1], keepdims=0)
    return model("reducemean", [n1, n2], [inp("x", [1, 3, 4, 5])], ["y", "y2"], [])


def concat():
    n = helper.make_node("Concat", ["a", "b", "c"], ["y"], name="cat", axis=1)
    return model("concat", [n], [inp("a", [1, 2, 4]), inp("b", [1, 3, 4]), inp("c", [1, 1, 4])],
                 ["y"], [])


def slice_():
    # axis 2: 2:8:2 -> 3; axis -1 (3): -1 down to 0 (exclusive) by -2 -> 7, 5, 3, 1.
    n = helper.make_node("Slice", ["x", "st", "en", "ax", "sp"], ["y"], name="slice")
    return model("slice", [n], [inp("x", [1, 2, 10, 8])], ["y"],
                 [c("st", [2, -1], np.int64), c("en", [8, 0], np.int64),
                  c("ax", [2, -1], np.int64), c("sp", [2, -2], np.int64)])


def transpose():
    n = helper.make_node("Transpose", ["x"], ["y"], name="tr", perm=[2, 0, 1])
    return model("transpose", [n], [inp("x", [2, 3, 4])], ["y"], [])


def resize():
    n = helper.make_node("Resize", ["x", "", "sc"], ["y"], name="up", mode="nearest",
                         coordinate_transformation_mode="asymmetric", nearest_mode="floor")
    return model("resize", [n], [inp("x", [1, 2, 3, 4])], ["y"],
                 [c("sc", [1, 1, 2, 2], np.float32)])


def views():
    n1 = helper.make_node("Reshape", ["x", "sh"], ["r"], name="reshape")
    n2 = helper.make_node("Flatten", ["r"], ["y"], name="flatten", axis=1)
    return model("views", [n1, n2], [inp("x", [1, 2, 3, 4])], ["y"],
                 [c("sh", [1, 6, -1], np.int64)])


def chain():
    # Four 3x3 convs in a row: three intermediate values of 16 KiB, the first and the third of
    # disjoint lifetimes (runtime/memplan.c shares their storage).  Seeded weights.
    r = np.random.RandomState(16)
    ws = [numpy_helper.from_array((r.standard_normal((4, 4, 3, 3)) * 0.3).astype(np.float32), "w%d" % k)
          for k in range(4)]
    names = ["x", "c1", "c2", "c3", "y"]
    nodes = [helper.make_node("Conv", [names[k], "w%d" % k], [names[k + 1]], name="conv%d" % k,
                              pads=[1, 1, 1, 1]) for k in range(4)]
    return model("chain", nodes, [inp("x", [1, 4, 32, 32])], ["y"], ws)


def matmul_bias():
    # A Linear as PyTorch exports it, MatMul + Add of a constant [K] bias: the bias folds into
    # the mac nest (B access, epilogue bias), also written b + x and with a Relu after it
    # (fused too).  Not folded: a bias that varies along the rows ([3, 4]), a MatMul output
    # that is also a graph output, an Add of two MatMuls (no constant).
    mk = helper.make_node
    nodes = [
        mk("MatMul", ["a", "w"], ["mm1"], name="lin"), mk("Add", ["mm1", "b"], ["y1"], name="lin.bias"),
        mk("MatMul", ["a", "w"], ["mm2"], name="lin_rev"), mk("Add", ["b1", "mm2"], ["r2"], name="lin_rev.bias"),
        mk("Relu", ["r2"], ["y2"], name="lin_rev.relu"),
        mk("MatMul", ["a", "w"], ["mm3"], name="rows"), mk("Add", ["mm3", "brow"], ["y3"], name="rows.bias"),
        mk("MatMul", ["a", "w"], ["mm4"], name="shown"), mk("Add", ["mm4", "b"], ["y4"], name="shown.bias"),
        mk("MatMul", ["a", "w"], ["mm5"], name="left"), mk("MatMul", ["a", "w"], ["mm6"], name="right"),
        mk("Add", ["mm5", "mm6"], ["y5"], name="two_matmuls"),
    ]
    return model("matmul_bias", nodes, [inp("a", [2, 3, 8])], ["y1", "y2", "y3", "mm4", "y4", "y5"],
                 [w("w", [8, 4]), w("b", [4]), w("b1", [1, 4]), w("brow", [3, 4])])


def qconv_dyn():
    # DynamicQuantizeLinear -> ConvInteger, as onnxruntime's dynamic quantization exports a conv:
    # the input's zero point is computed at run time (operand Xzp), the weights' is one per output
    # channel (operand Wzp); and a QLinearConv with per-channel weight scales (operand Ws).
    n1 = helper.make_node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"], name="dql")
    n2 = helper.make_node("ConvInteger", ["xq", "w", "xz", "wz"], ["y"], name="ci", pads=[1, 1, 1, 1])
    n3 = helper.make_node("QLinearConv", ["xq", "s", "z", "w", "ws", "wz", "s", "z"], ["yq"],
                          name="qc")
    g = helper.make_graph(
        [n1, n2, n3], "qconv_dyn", [inp("x", [1, 4, 16, 16])],
        [helper.make_tensor_value_info("y", TensorProto.INT32, [1, 8, 16, 16]),
         helper.make_tensor_value_info("yq", TensorProto.UINT8, [1, 8, 14, 14])],
        [w("w", [8, 4, 3, 3], np.uint8), c("wz", list(range(120, 128)), np.uint8),
         c("ws", [0.01 * (k + 1) for k in range(8)], np.float32), c("s", 0.05, np.float32),
         c("z", 128, np.uint8)])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 7
    return m


def qconv_xs():
    # Run-time scales of QLinear ops (docs/ir.md "Integer mac nests"): DynamicQuantizeLinear's
    # y_scale feeding a QLinearConv with per-channel weight scales (operands Xs and Ws,
    # params f(0,0,1,y_scale)) and a QLinearMatMul with a constant b_scale (Xs, params
    # f(0,0,b_scale,y_scale)); a QLinearConv whose y_scale and y_zero_point come from a second
    # DynamicQuantizeLinear (Ys, Yzp; params f(0,0,x_scale*w_scale,0)).
    n1 = helper.make_node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"], name="dql")
    n2 = helper.make_node("DynamicQuantizeLinear", ["r"], ["rq", "rs", "rz"], name="dqr")
    n3 = helper.make_node("QLinearConv", ["xq", "xs", "xz", "w", "ws", "wz", "s", "z"], ["yq"],
                          name="qc", pads=[1, 1, 1, 1])
    n4 = helper.make_node("QLinearMatMul", ["a", "xs", "xz", "b", "s", "bz", "s", "z"], ["ym"],
                          name="qmm")
    n5 = helper.make_node("QLinearConv", ["xq", "s", "z", "w", "s", "wz", "rs", "rz"], ["yr"],
                          name="qcr")
    g = helper.make_graph(
        [n1, n2, n3, n4, n5], "qconv_xs",
        [inp("x", [1, 4, 8, 8]), inp("r", [16]), helper.make_tensor_value_info("a", TensorProto.UINT8, [3, 8])],
        [helper.make_tensor_value_info("yq", TensorProto.UINT8, [1, 8, 8, 8]),
         helper.make_tensor_value_info("ym", TensorProto.UINT8, [3, 5]),
         helper.make_tensor_value_info("yr", TensorProto.UINT8, [1, 8, 6, 6])],
        [w("w", [8, 4, 3, 3], np.uint8), c("wz", 128, np.uint8), w("b", [8, 5], np.int8), c("bz", 0, np.int8),
         c("ws", [0.01 * (k + 1) for k in range(8)], np.float32), c("s", 0.05, np.float32),
         c("z", 128, np.uint8)])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 7
    return m


def qconv_xs_input():
    # A QLinearConv whose x_scale is a graph input (operand Xs; no host node, so that its text
    # form compiles to a stream: run_qmac_bad_*).
    n = helper.make_node("QLinearConv", ["x", "xs", "z", "w", "s", "wz", "s", "z"], ["y"], name="qc")
    g = helper.make_graph(
        [n], "qconv_xs_input",
        [helper.make_tensor_value_info("x", TensorProto.UINT8, [1, 2, 5, 5]),
         helper.make_tensor_value_info("xs", TensorProto.FLOAT, [])],
        [helper.make_tensor_value_info("y", TensorProto.UINT8, [1, 3, 3, 3])],
        [c("w", np.arange(54).reshape(3, 2, 3, 3), np.uint8), c("wz", 20, np.uint8), c("s", 0.05, np.float32),
         c("z", 128, np.uint8)])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 7
    return m


def bad_model(name, nodes, inputs, outputs, inits):
    """A model the lowering must refuse: outputs without shapes (no inference)."""
    g = helper.make_graph(nodes, name, inputs, [out(o) for o in outputs], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 7
    return m


def qconv_zp():
    # ConvInteger whose input zero point is a graph input (a run-time scalar, operand Xzp) and whose
    # weight zero point is per output channel (operand Wzp): no host op, so its loop-nest IR
    # compiles to a stream as it is (the loader's golden tests edit it).
    g = helper.make_graph(
        [helper.make_node("ConvInteger", ["x", "w", "xz", "wz"], ["y"], name="ci", pads=[1, 1, 1, 1])],
        "qconv_zp",
        [helper.make_tensor_value_info("x", TensorProto.UINT8, [1, 4, 8, 8]),
         helper.make_tensor_value_info("xz", TensorProto.UINT8, [])],
        [helper.make_tensor_value_info("y", TensorProto.INT32, [1, 8, 8, 8])],
        [w("w", [8, 4, 3, 3], np.uint8), c("wz", list(range(120, 128)), np.uint8)])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 7
    return m


def matmul_no_broadcast():
    # Bad input: [2,3,8] x [5,8,4]: batch dims 2 and 5 do not broadcast.
    n = helper.make_node("MatMul", ["a", "b"], ["y"], name="bmm_bad")
    return bad_model("matmul_no_broadcast", [n], [inp("a", [2, 3, 8]), inp("b", [5, 8, 4])], ["y"], [])


def softmax_dynamic_axis():
    # Bad input: scores [1, seq, seq] with seq a dim_param nobody fixed (no --input-shape).
    n = helper.make_node("Softmax", ["x"], ["y"], name="softmax", axis=-1)
    return bad_model("softmax_dynamic_axis", [n], [inp("x", [1, "seq", "seq"])], ["y"], [])


def attention_mask_rank():
    # Bad input: scores Q K^T [2, 3, 4, 4] (batch 2, 3 heads, 4 tokens) plus a key mask
    # of rank 2, [2, 4], where [2, 1, 1, 4] was meant: right-aligned, the batch 2 meets
    # the query rows 4.
    n1 = helper.make_node("MatMul", ["q", "kt"], ["s"], name="attn.scores")
    n2 = helper.make_node("Add", ["s", "mask"], ["sm"], name="attn.mask")
    n3 = helper.make_node("Softmax", ["sm"], ["y"], name="attn.softmax", axis=-1)
    return bad_model("attention_mask_rank", [n1, n2, n3],
                     [inp("q", [2, 3, 4, 8]), inp("kt", [2, 3, 8, 4]), inp("mask", [2, 4])],
                     ["y"], [])


MODELS = {
    "chain": chain,
    "conv": conv, "conv_depthwise": conv_depthwise, "conv_grouped": conv_grouped,
    "conv_1d": conv_1d, "conv_patch": conv_patch, "conv_transpose": conv_transpose, "conv_relu": conv_relu,
    "gemm": gemm, "matmul_2d": matmul_2d, "matmul_batched_w2d": matmul_batched_w2d,
    "matmul_batched": matmul_batched, "matmul_vectors": matmul_vectors,
    "matmul_batch4d": matmul_batch4d, "matmul_bias": matmul_bias, "misc_ops": misc_ops, "maxpool": maxpool, "avgpool": avgpool,
    "globalavgpool": globalavgpool, "add_broadcast": add_broadcast, "clip": clip,
    "batchnorm": batchnorm, "softmax": softmax, "softmax_opset11": softmax_opset11,
    "reducemean": reducemean, "concat": concat, "slice": slice_, "transpose": transpose,
    "resize": resize, "views": views, "qconv_dyn": qconv_dyn, "qconv_xs": qconv_xs, "qconv_xs_input": qconv_xs_input, "qconv_zp": qconv_zp,
    "matmul_no_broadcast": matmul_no_broadcast, "softmax_dynamic_axis": softmax_dynamic_axis,
    "attention_mask_rank": attention_mask_rank,
}
BAD = {"matmul_no_broadcast", "softmax_dynamic_axis", "attention_mask_rank"}


def main():
    if len(sys.argv) == 2 and sys.argv[1] == "--list":
        print("\n".join(MODELS))
        return 0
    if len(sys.argv) != 3 or sys.argv[1] not in MODELS:
        print("usage: nir_models.py NAME OUT.onnx | --list\nnames: " + " ".join(MODELS),
              file=sys.stderr)
        return 2
    m = MODELS[sys.argv[1]]()
    if sys.argv[1] not in BAD:  # the checker wants output shapes, which the bad ones lack
        onnx.checker.check_model(m)
    onnx.save(m, sys.argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main())
