"""Shape and dtype inference: per-op rules, symbolic dims, shape-value propagation, real models."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from gossamer.converter.onnx_import import graph_from_onnx
from gossamer.refimpl.ir import Graph, Node, Value
from gossamer.refimpl.shape_inference import infer_shapes
from gossamer.refimpl.shape_inference.symbolic import broadcast_dim
from hypothesis import given
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

from tests.conftest import MODELS_DIR, ONNX_MODELS, make_model, tensor_info

ort = pytest.importorskip("onnxruntime")


def infer(nodes, inputs, outputs=("y",), inits=(), opset=17, **kwargs):
    """Inferred Values of a model built from onnx.helper nodes; outputs declared without types."""
    outs = [helper.make_empty_tensor_value_info(o) for o in outputs]
    model = make_model(nodes, inputs, outs, inits, opset=opset, **kwargs)
    return infer_shapes(graph_from_onnx(model))


def const(name, values, dtype=np.int64):
    return numpy_helper.from_array(np.asarray(values, dtype=dtype), name)


def ort_shapes(nodes, inputs, feeds, outputs=("y",), inits=(), opset=17):
    outs = [helper.make_empty_tensor_value_info(o) for o in outputs]
    model = make_model(nodes, inputs, outs, inits, opset=opset)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return [tuple(r.shape) for r in sess.run(None, feeds)]


# ---- element-wise and broadcasting -----------------------------------------------------------
def test_add_broadcasts_multidirectionally_with_symbols():
    n = helper.make_node("Add", ["a", "b"], ["y"])
    v = infer([n], [tensor_info("a", shape=["N", 1, 4]), tensor_info("b", shape=[3, 1])])
    assert v["y"].shape == ("N", 3, 4) and v["y"].dtype == "float32"


@pytest.mark.parametrize(
    ("a", "b", "out"),
    [(1, "N", "N"), ("N", "N", "N"), ("N", "M", None), (5, "N", 5), (None, 1, None), (None, 4, 4)],
)
def test_broadcast_dim_rules(a, b, out):
    assert broadcast_dim(a, b) == out


def test_comparison_outputs_bool():
    n = helper.make_node("Less", ["a", "b"], ["y"])
    v = infer([n], [tensor_info("a", shape=[2, 3]), tensor_info("b", shape=[3])])
    assert v["y"].dtype == "bool" and v["y"].shape == (2, 3)


def test_cast_takes_dtype_from_to_attribute():
    n = helper.make_node("Cast", ["x"], ["y"], to=TensorProto.FLOAT16)
    v = infer([n], [tensor_info("x", np.int32, ["N"])])
    assert v["y"].dtype == "float16" and v["y"].shape == ("N",)


def test_castlike_takes_dtype_of_second_input():
    n = helper.make_node("CastLike", ["x", "t"], ["y"])
    v = infer([n], [tensor_info("x", shape=[2]), tensor_info("t", np.int8, [1])])
    assert v["y"].dtype == "int8"


def test_where_takes_dtype_from_x_and_broadcasts_all_three():
    n = helper.make_node("Where", ["c", "x", "z"], ["y"])
    ins = [
        tensor_info("c", np.bool_, [4, 1]),
        tensor_info("x", np.int64, [1, 3]),
        tensor_info("z", np.int64, [1]),
    ]
    assert infer([n], ins)["y"].shape == (4, 3) and infer([n], ins)["y"].dtype == "int64"


def test_dropout_mask_is_bool_of_input_shape():
    n = helper.make_node("Dropout", ["x"], ["y", "mask"])
    v = infer([n], [tensor_info("x", shape=[2, "T"])], outputs=("y", "mask"))
    assert v["mask"].dtype == "bool" and v["mask"].shape == (2, "T")


# ---- convolution and pooling (checked against onnxruntime) -----------------------------------
CONV_CASES = [
    dict(strides=[2, 2], pads=[1, 1, 1, 1]),
    dict(strides=[1, 2], dilations=[2, 1], pads=[0, 2, 1, 0]),
    dict(auto_pad="SAME_UPPER", strides=[2, 2]),
    dict(auto_pad="VALID", strides=[3, 2]),
    dict(group=2, pads=[1, 1, 1, 1]),
]


@pytest.mark.parametrize("attrs", CONV_CASES)
def test_conv_output_shape_matches_onnxruntime(attrs):
    w = const("w", np.ones((6, 4 // attrs.get("group", 1), 3, 3)), np.float32)
    n = helper.make_node("Conv", ["x", "w"], ["y"], **attrs)
    ins = [tensor_info("x", shape=[1, 4, 11, 13])]
    expected = ort_shapes([n], ins, {"x": np.zeros((1, 4, 11, 13), np.float32)}, inits=[w])[0]
    assert infer([n], ins, inits=[w])["y"].shape == expected


@pytest.mark.parametrize(
    "attrs",
    [
        dict(strides=[2, 2]),
        dict(strides=[2, 3], pads=[1, 0, 1, 2], output_padding=[1, 0]),
        dict(group=2, dilations=[2, 2]),
    ],
)
def test_conv_transpose_output_shape_matches_onnxruntime(attrs):
    w = const("w", np.ones((4, 3, 3, 3)), np.float32)
    n = helper.make_node("ConvTranspose", ["x", "w"], ["y"], **attrs)
    ins = [tensor_info("x", shape=[1, 4, 5, 7])]
    expected = ort_shapes([n], ins, {"x": np.zeros((1, 4, 5, 7), np.float32)}, inits=[w])[0]
    assert infer([n], ins, inits=[w])["y"].shape == expected


@pytest.mark.parametrize("size", [4, 5, 7, 8])
@pytest.mark.parametrize("op", ["MaxPool", "AveragePool"])
def test_pool_ceil_mode_matches_onnxruntime(op, size):
    n = helper.make_node(
        op, ["x"], ["y"], kernel_shape=[2, 3], strides=[2, 2], pads=[0, 0, 1, 1], ceil_mode=1
    )
    ins = [tensor_info("x", shape=[1, 2, size, size + 1])]
    x = np.zeros((1, 2, size, size + 1), np.float32)
    assert infer([n], ins, opset=19)["y"].shape == ort_shapes([n], ins, {"x": x}, opset=19)[0]


def test_conv_same_upper_with_symbolic_size_gives_expression():
    w = const("w", np.ones((8, 3, 3, 3)), np.float32)
    n = helper.make_node("Conv", ["x", "w"], ["y"], auto_pad="SAME_UPPER", strides=[2, 1])
    v = infer([n], [tensor_info("x", shape=["N", 3, "H", "W"])], inits=[w])
    assert v["y"].shape == ("N", 8, "ceil(H/2)", "W")


@given(st.integers(3, 60), st.integers(1, 3), st.integers(0, 2), st.integers(1, 3))
def test_symbolic_conv_dim_evaluates_to_static_result(h, stride, pad, kernel):
    w = np.ones((2, 1, kernel, 1), np.float32)

    def graph(dim):
        node = Node("Conv", ["x", "w"], ["y"], {"strides": [stride, 1], "pads": [pad, 0, pad, 0]})
        return Graph([node], [Value("x", "float32", (1, 1, dim, 1))], [Value("y")], {"w": w})

    symbolic = infer_shapes(graph("H"))["y"].shape[2]
    static = infer_shapes(graph(h))["y"].shape[2]
    assert (
        eval(str(symbolic), {"H": h, "ceil": math.ceil})
        == static
        == ((h + 2 * pad - kernel) // stride + 1)
    )


def test_global_pool_keeps_batch_and_channels():
    n = helper.make_node("GlobalAveragePool", ["x"], ["y"])
    assert infer([n], [tensor_info("x", shape=["N", 16, 7, 9])])["y"].shape == ("N", 16, 1, 1)


def test_maxpool_indices_are_int64():
    n = helper.make_node("MaxPool", ["x"], ["y", "i"], kernel_shape=[2, 2], strides=[2, 2])
    v = infer([n], [tensor_info("x", shape=[1, 1, 4, 4])], outputs=("y", "i"))
    assert v["i"].dtype == "int64" and v["i"].shape == (1, 1, 2, 2)


# ---- linear algebra --------------------------------------------------------------------------
def test_matmul_broadcasts_batch_dims():
    n = helper.make_node("MatMul", ["a", "b"], ["y"])
    ins = [tensor_info("a", shape=[2, 1, "M", 5]), tensor_info("b", shape=[3, 5, 7])]
    assert infer([n], ins)["y"].shape == (2, 3, "M", 7)


def test_matmul_drops_promoted_dims_of_vectors():
    n = helper.make_node("MatMul", ["a", "b"], ["y"])
    ins = [tensor_info("a", shape=[5]), tensor_info("b", shape=[4, 5, 7])]
    assert infer([n], ins)["y"].shape == (4, 7)


def test_gemm_honours_transposes():
    n = helper.make_node("Gemm", ["a", "b"], ["y"], transA=1, transB=1)
    ins = [tensor_info("a", shape=[5, "M"]), tensor_info("b", shape=[7, 5])]
    assert infer([n], ins)["y"].shape == ("M", 7)


@pytest.mark.parametrize(
    ("eq", "out"),
    [("bij,bjk->bik", (2, 3, 5)), ("bij,bjk", (3, 5)), ("...ij,...jk->...ik", (2, 3, 5))],
)
def test_einsum_output_shape(eq, out):
    n = helper.make_node("Einsum", ["a", "b"], ["y"], equation=eq)
    ins = [tensor_info("a", shape=[2, 3, 4]), tensor_info("b", shape=[2, 4, 5])]
    assert infer([n], ins)["y"].shape == out


# ---- reductions ------------------------------------------------------------------------------
def test_reduce_with_axes_attribute_and_no_keepdims():
    n = helper.make_node("ReduceMean", ["x"], ["y"], axes=[1, -1], keepdims=0)
    assert infer([n], [tensor_info("x", shape=["N", 3, 4, 5])], opset=11)["y"].shape == ("N", 4)


def test_reduce_sum_13_reads_axes_input():
    n = helper.make_node("ReduceSum", ["x", "axes"], ["y"])
    v = infer([n], [tensor_info("x", shape=[2, 3, 4])], inits=[const("axes", [1])], opset=13)
    assert v["y"].shape == (2, 1, 4)


def test_reduce_without_axes_reduces_everything_unless_noop():
    n = helper.make_node("ReduceSum", ["x"], ["y"], keepdims=0)
    noop = helper.make_node("ReduceSum", ["x"], ["y"], noop_with_empty_axes=1)
    assert infer([n], [tensor_info("x", shape=[2, 3])], opset=13)["y"].shape == ()
    assert infer([noop], [tensor_info("x", shape=[2, 3])], opset=13)["y"].shape == (2, 3)


def test_argmax_is_int64_and_keeps_dims_by_default():
    n = helper.make_node("ArgMax", ["x"], ["y"], axis=1)
    v = infer([n], [tensor_info("x", shape=[2, 3, 4])])
    assert v["y"].dtype == "int64" and v["y"].shape == (2, 1, 4)


def test_topk_uses_constant_k():
    n = helper.make_node("TopK", ["x", "k"], ["v", "i"], axis=1)
    v = infer([n], [tensor_info("x", shape=["N", 10])], ("v", "i"), [const("k", [3])])
    assert v["v"].shape == ("N", 3) and v["i"].dtype == "int64"


# ---- shape manipulation ----------------------------------------------------------------------
def test_reshape_resolves_zero_and_minus_one_symbolically():
    n = helper.make_node("Reshape", ["x", "s"], ["y"])
    v = infer([n], [tensor_info("x", shape=["N", 3, 4])], inits=[const("s", [0, -1])])
    assert v["y"].shape == ("N", 12)


def test_reshape_minus_one_cancels_symbols():
    n = helper.make_node("Reshape", ["x", "s"], ["y"])
    v = infer([n], [tensor_info("x", shape=["B", "S", 384])], inits=[const("s", [0, 0, -1, 32])])
    assert v["y"].shape == ("B", "S", 12, 32)


def test_reshape_of_shape_arithmetic_infers():
    """Reshape(x, Concat(Unsqueeze(Shape(x)[0] * Shape(x)[1]), [-1])): the flatten-batch idiom."""
    nodes = [
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node("Gather", ["s", "i0"], ["d0"]),
        helper.make_node("Gather", ["s", "i1"], ["d1"]),
        helper.make_node("Mul", ["d0", "d1"], ["nm"]),
        helper.make_node("Unsqueeze", ["nm", "ax"], ["nm1"]),
        helper.make_node("Concat", ["nm1", "minus1"], ["target"], axis=0),
        helper.make_node("Reshape", ["x", "target"], ["y"]),
    ]
    inits = [const("i0", 0), const("i1", 1), const("ax", [0]), const("minus1", [-1])]
    v = infer(nodes, [tensor_info("x", shape=["N", "T", 4, 5])], inits=inits)
    assert v["y"].shape == ("N*T", 20)
    assert v["nm"].shape == () and v["target"].shape == (2,)


def test_constant_of_shape_follows_shape_values():
    nodes = [
        helper.make_node("Shape", ["x"], ["s"], start=1),
        helper.make_node(
            "ConstantOfShape", ["s"], ["y"], value=numpy_helper.from_array(np.array([1], np.int32))
        ),
    ]
    v = infer(nodes, [tensor_info("x", shape=["N", 3, "W"])], opset=15)
    assert v["y"].shape == (3, "W") and v["y"].dtype == "int32"


def test_size_is_int64_scalar():
    assert infer([helper.make_node("Size", ["x"], ["y"])], [tensor_info("x", shape=[2])])[
        "y"
    ] == Value("y", "int64", ())


def test_transpose_default_reverses():
    n = helper.make_node("Transpose", ["x"], ["y"])
    assert infer([n], [tensor_info("x", shape=[1, "N", 3])])["y"].shape == (3, "N", 1)


def test_concat_adds_axis_dims_symbolically():
    n = helper.make_node("Concat", ["a", "b"], ["y"], axis=1)
    ins = [tensor_info("a", shape=["N", "T"]), tensor_info("b", shape=["N", 5])]
    assert infer([n], ins)["y"].shape == ("N", "T+5")


def test_concat_keeps_the_shorter_of_two_expressions_for_an_off_axis_dim():
    # the YOLO neck: an upsampled map's height ((H-1)//2+1)*2 against a skip's H: equal on every
    # feed the Concat accepts, so either names the dim; numbers that differ stay a contradiction
    n = helper.make_node("Concat", ["a", "b"], ["y"], axis=1)
    ins = [tensor_info("a", shape=[1, 2, "((H-1)//2+1)*2"]), tensor_info("b", shape=[1, 3, "H"])]
    assert infer([n], ins)["y"].shape == (1, 5, "H")
    clash = [tensor_info("a", shape=[1, 2, 4]), tensor_info("b", shape=[1, 3, 5])]
    assert infer([n], clash)["y"].shape == (1, 5, None)


@pytest.mark.parametrize(
    ("kwargs", "inits", "opset", "sizes"),
    [
        ({}, [const("split", [2, 4])], 13, [2, 4]),
        ({"split": [1, 5]}, [], 11, [1, 5]),
        ({}, [], 13, [3, 3]),
        ({"num_outputs": 2}, [], 18, [3, 3]),
    ],
)
def test_split_sizes(kwargs, inits, opset, sizes):
    ins = ["x", "split"] if inits else ["x"]
    n = helper.make_node("Split", ins, ["a", "b"], axis=1, **kwargs)
    v = infer([n], [tensor_info("x", shape=[2, 6])], ("a", "b"), inits, opset=opset)
    assert [v["a"].shape[1], v["b"].shape[1]] == sizes


@pytest.mark.parametrize(
    ("starts", "ends", "axes", "steps"),
    [
        ([1], [-1], [1], [1]),
        ([0, 10], [2, 0], [0, 1], [1, -2]),
        ([-3], [2**62], [-1], [2]),
        ([5], [-100], [2], [-1]),
    ],
)
def test_slice_matches_numpy(starts, ends, axes, steps):
    n = helper.make_node("Slice", ["x", "st", "en", "ax", "sp"], ["y"])
    inits = [const("st", starts), const("en", ends), const("ax", axes), const("sp", steps)]
    x = np.zeros((4, 12, 7))
    index = [slice(None)] * 3
    for s, e, a, p in zip(starts, ends, axes, steps):
        index[a] = slice(s, e, p)
    assert infer([n], [tensor_info("x", shape=[4, 12, 7])], inits=inits)["y"].shape == (
        x[tuple(index)].shape
    )


def test_slice_9_reads_attributes():
    n = helper.make_node("Slice", ["x"], ["y"], starts=[1], ends=[3], axes=[1])
    assert infer([n], [tensor_info("x", shape=["N", 5])], opset=9)["y"].shape == ("N", 2)


def test_slice_to_symbolic_end_of_longer_buffer():
    """position_ids[:, :seq]: the idiom of transformer exports."""
    nodes = [
        helper.make_node("Shape", ["ids"], ["s"], start=1, end=2),
        helper.make_node("Slice", ["pos", "zero", "s", "one"], ["y"]),
    ]
    inits = [const("pos", np.zeros((1, 512))), const("zero", [0]), const("one", [1])]
    v = infer(nodes, [tensor_info("ids", np.int64, ["B", "S"])], inits=inits, opset=15)
    assert v["y"].shape == (1, "S")


def test_gather_inserts_index_shape():
    n = helper.make_node("Gather", ["x", "i"], ["y"], axis=1)
    ins = [tensor_info("x", shape=["N", 10, 3]), tensor_info("i", np.int64, [2, 4])]
    assert infer([n], ins)["y"].shape == ("N", 2, 4, 3)


def test_squeeze_11_attribute_and_13_input():
    old = helper.make_node("Squeeze", ["x"], ["y"], axes=[0])
    new = helper.make_node("Squeeze", ["x", "ax"], ["y"])
    ins = [tensor_info("x", shape=[1, "N", 1])]
    assert infer([old], ins, opset=11)["y"].shape == ("N", 1)
    assert infer([new], ins, inits=[const("ax", [-1])], opset=13)["y"].shape == (1, "N")


def test_unsqueeze_with_negative_axes():
    n = helper.make_node("Unsqueeze", ["x", "ax"], ["y"])
    v = infer([n], [tensor_info("x", shape=["N", 3])], inits=[const("ax", [0, -1])])
    assert v["y"].shape == (1, "N", 3, 1)


def test_flatten_multiplies_symbols():
    n = helper.make_node("Flatten", ["x"], ["y"], axis=2)
    assert infer([n], [tensor_info("x", shape=["N", 2, 3, 4])])["y"].shape == ("N*2", 12)


def test_expand_broadcasts_with_constant_shape():
    n = helper.make_node("Expand", ["x", "s"], ["y"])
    v = infer([n], [tensor_info("x", shape=[3, 1])], inits=[const("s", [2, 1, 6])])
    assert v["y"].shape == (2, 3, 6)


def test_tile_multiplies_dims():
    n = helper.make_node("Tile", ["x", "r"], ["y"])
    v = infer([n], [tensor_info("x", shape=["N", 3])], inits=[const("r", [2, 2])])
    assert v["y"].shape == ("N*2", 6)


def test_pad_11_input_and_2_attribute():
    new = helper.make_node("Pad", ["x", "p"], ["y"])
    old = helper.make_node("Pad", ["x"], ["y"], pads=[0, 1, 0, 2])
    ins = [tensor_info("x", shape=["N", 4])]
    assert infer([new], ins, inits=[const("p", [0, 1, 0, 2])], opset=11)["y"].shape == ("N", 7)
    assert infer([old], ins, opset=2)["y"].shape == ("N", 7)


def test_resize_with_scales_and_with_sizes():
    by_scale = helper.make_node("Resize", ["x", "", "sc"], ["y"])
    by_size = helper.make_node("Resize", ["x", "", "", "sz"], ["y"])
    ins = [tensor_info("x", shape=["N", 3, "H", 10])]
    sc = const("sc", [1, 1, 2, 1.5], np.float32)
    assert infer([by_scale], ins, inits=[sc])["y"].shape == ("N", 3, "H*2", 15)
    assert infer([by_size], ins, inits=[const("sz", [1, 3, 8, 8])])["y"].shape == (1, 3, 8, 8)


def test_resize_lengths_are_the_references_floor_of_the_float32_scale():
    """10 * float32(0.7) = 6.99999988: the reference's length is 6, and so is the inferred one"""
    from gossamer.refimpl.ops.op_resize import resize_13

    node = helper.make_node("Resize", ["x", "", "sc"], ["y"])
    scales = np.array([1, 1, 0.7, 0.7], np.float32)
    inferred = infer(
        [node], [tensor_info("x", shape=[1, 1, 10, 10])], inits=[const("sc", scales, np.float32)]
    )
    ran = resize_13(np.zeros((1, 1, 10, 10), np.float32), None, scales)
    assert inferred["y"].shape == ran.shape == (1, 1, 6, 6)


def test_constant_value_ints_is_int64_vector():
    n = helper.make_node("Constant", [], ["y"], value_ints=[1, 2, 3])
    assert infer([n], [])["y"] == Value("y", "int64", (3,))


# ---- recurrent and quantised -----------------------------------------------------------------
def test_lstm_output_shapes():
    w, r = (
        const("w", np.ones((2, 4 * 8, 5)), np.float32),
        const("r", np.ones((2, 32, 8)), np.float32),
    )
    n = helper.make_node(
        "LSTM", ["x", "w", "r"], ["y", "h", "c"], hidden_size=8, direction="bidirectional"
    )
    v = infer([n], [tensor_info("x", shape=["T", "B", 5])], ("y", "h", "c"), [w, r])
    assert v["y"].shape == ("T", 2, "B", 8) and v["h"].shape == v["c"].shape == (2, "B", 8)


def test_gru_layout_1_is_batch_first():
    w, r = (
        const("w", np.ones((1, 3 * 4, 5)), np.float32),
        const("r", np.ones((1, 12, 4)), np.float32),
    )
    n = helper.make_node("GRU", ["x", "w", "r"], ["y", "h"], hidden_size=4, layout=1)
    v = infer([n], [tensor_info("x", shape=["B", "T", 5])], ("y", "h"), [w, r], opset=14)
    assert v["y"].shape == ("B", "T", 1, 4) and v["h"].shape == ("B", 1, 4)


def test_quantize_dequantize_dtypes():
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "s", "zp"], ["q"]),
        helper.make_node("DequantizeLinear", ["q", "s", "zp"], ["y"]),
    ]
    inits = [const("s", 0.1, np.float32), const("zp", 0, np.int8)]
    v = infer(nodes, [tensor_info("x", shape=["N", 4])], ("y",), inits)
    assert (v["q"].dtype, v["y"].dtype, v["y"].shape) == ("int8", "float32", ("N", 4))


def test_qlinear_conv_output_dtype_is_that_of_output_zero_point():
    w = const("w", np.ones((4, 2, 1, 1)), np.uint8)
    inits = [
        const("xs", 0.1, np.float32),
        const("xz", 0, np.uint8),
        w,
        const("ws", 0.1, np.float32),
        const("wz", 0, np.uint8),
        const("ys", 0.1, np.float32),
        const("yz", 0, np.int8),
    ]
    n = helper.make_node("QLinearConv", ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz"], ["y"])
    v = infer([n], [tensor_info("x", np.uint8, [1, 2, 5, 5])], inits=inits)
    assert v["y"].dtype == "int8" and v["y"].shape == (1, 4, 5, 5)


# ---- robustness ------------------------------------------------------------------------------
def test_unknown_op_gives_unknown_value_without_raising():
    n = helper.make_node("Frobnicate", ["x"], ["y"], domain="com.example")
    v = infer(
        [n], [tensor_info("x", shape=[2])], extra_opsets=[helper.make_opsetid("com.example", 1)]
    )
    assert v["y"] == Value("y")


def test_declared_output_shape_is_not_trusted():
    n = helper.make_node("Relu", ["x"], ["y"])
    model = make_model([n], [tensor_info("x", shape=[2, 3])], [tensor_info("y", shape=[9, 9])])
    assert infer_shapes(graph_from_onnx(model))["y"].shape == (2, 3)


def test_unknown_and_negative_input_dims_become_none():
    n = helper.make_node("Relu", ["x"], ["y"])
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [-1, "?", 3])
    assert infer([n], [x])["y"].shape == (None, None, 3)


def test_cyclic_or_dangling_graph_does_not_raise():
    nodes = [Node("Relu", ["b"], ["a"]), Node("Relu", ["a"], ["b"]), Node("Relu", ["zz"], ["c"])]
    values = infer_shapes(Graph(nodes, [], [Value("c")]))
    assert values["c"].shape is None


def test_bad_attribute_gives_unknown_not_an_error():
    n = Node("Transpose", ["x"], ["y"], {"perm": [5, 0]})
    values = infer_shapes(Graph([n], [Value("x", "float32", (2, 3))], [Value("y")]))
    assert values["y"].shape is None and values["y"].name == "y"


def test_if_merges_branch_shapes():
    def branch(name, shape):
        out = helper.make_tensor_value_info(f"{name}_out", TensorProto.FLOAT, None)
        node = helper.make_node("Reshape", ["x", f"{name}_s"], [f"{name}_out"])
        init = const(f"{name}_s", shape)
        return helper.make_graph([node], name, [], [out], [init])

    n = helper.make_node(
        "If", ["c"], ["y"], then_branch=branch("t", [2, 6]), else_branch=branch("e", [2, -1])
    )
    v = infer([n], [tensor_info("c", np.bool_, []), tensor_info("x", shape=[3, 4])])
    assert v["y"].shape == (2, 6) and v["t_out"].shape == (2, 6)


def test_loop_stacks_scan_outputs_over_constant_trip_count():
    body = helper.make_graph(
        [
            helper.make_node("Identity", ["cond_in"], ["cond_out"]),
            helper.make_node("Add", ["acc_in", "x"], ["acc_out"]),
            helper.make_node("Identity", ["acc_out"], ["scan_out"]),
        ],
        "body",
        [
            tensor_info("i", np.int64, []),
            tensor_info("cond_in", np.bool_, []),
            tensor_info("acc_in", shape=None),
        ],
        [
            tensor_info("cond_out", np.bool_, []),
            tensor_info("acc_out", shape=None),
            tensor_info("scan_out", shape=None),
        ],
    )
    n = helper.make_node("Loop", ["trips", "", "acc0"], ["acc", "stacked"], body=body)
    ins = [tensor_info("acc0", shape=[3]), tensor_info("x", shape=[3])]
    v = infer([n], ins, ("acc", "stacked"), [const("trips", 5)])
    assert v["acc"].shape == (3,) and v["stacked"].shape == (5, 3)


def test_300_node_graph_infers_in_under_100_ms():
    nodes, name = [], "x"
    for i in range(100):
        w = f"w{i}"
        nodes += [
            Node("Conv", [name, w], [f"c{i}"], {"pads": [1, 1, 1, 1]}),
            Node("Relu", [f"c{i}"], [f"r{i}"]),
            Node("Add", [f"r{i}", name], [f"a{i}"]),
        ]
        name = f"a{i}"
    inits = {f"w{i}": np.zeros((8, 8, 3, 3), np.float32) for i in range(100)}
    graph = Graph(nodes, [Value("x", "float32", ("N", 8, 32, 32))], [Value(name)], inits)
    infer_shapes(graph)  # warm up imports
    start = time.perf_counter()
    values = infer_shapes(graph)
    assert time.perf_counter() - start < 0.1
    assert values[name].shape == ("N", 8, 32, 32)


# ---- real models -----------------------------------------------------------------------------
def _real_model(name):
    path = MODELS_DIR / name
    if not path.exists():
        pytest.skip(f"shared model {name} not in {MODELS_DIR}")
    return path


def _onnx_static_shapes(model):
    from onnx import shape_inference

    inferred = shape_inference.infer_shapes(model)
    out = {}
    for v in list(inferred.graph.value_info) + list(inferred.graph.output):
        tt = v.type.tensor_type
        if tt.HasField("shape") and all(
            d.HasField("dim_value") and d.dim_value >= 0 for d in tt.shape.dim
        ):
            out[v.name] = tuple(int(d.dim_value) for d in tt.shape.dim)
    return out


@pytest.mark.models
@pytest.mark.parametrize("name", ONNX_MODELS)
def test_real_model_agrees_with_onnx_static_shapes(name):
    import onnx

    model = onnx.load(str(_real_model(name)))
    ours = infer_shapes(graph_from_onnx(model))
    theirs = _onnx_static_shapes(model)
    differ = {n: (s, ours[n].shape) for n, s in theirs.items() if ours[n].shape != s}
    assert not differ


# concrete sizes for every input dim that is not fixed (by name, or by position for "?" dims)
REAL_SIZES = {
    "minilm_l6_int8.onnx": {"batch": 2, "sequence": 7},
    "mtcnn_pnet.onnx": {"N": 1, "M1": 37, "M2": 53},
    "nudenet_320n_yolov8n.onnx": {"batch": 1, "height": 320, "width": 256},
    "ppocr_mobile_v2_cls.onnx": {0: 1, 2: 48, 3: 192},
    "silero_vad_v6_16k_sequence.onnx": {"sequence_length": 3},
}


@pytest.mark.models
@pytest.mark.parametrize("name", sorted(REAL_SIZES))
def test_real_model_shapes_equal_onnxruntime_outputs(name):
    import onnx

    model = onnx.load(str(_real_model(name)))
    graph = graph_from_onnx(model)
    sizes, feeds, symbols = REAL_SIZES[name], {}, {}
    for v in graph.inputs:
        shape = [
            d if isinstance(d, int) and d >= 0 else sizes.get(d, sizes.get(i))
            for i, d in enumerate(v.shape)
        ]
        symbols.update({d: s for d, s in zip(v.shape, shape) if isinstance(d, str)})
        feeds[v.name] = (np.ones if v.dtype == "int64" else np.zeros)(shape, dtype=v.dtype)
    symbolic = infer_shapes(graph)
    graph.inputs = [Value(v.name, v.dtype, feeds[v.name].shape) for v in graph.inputs]
    static = infer_shapes(graph)
    names = [o for n in model.graph.node for o in n.output if o]
    del model.graph.output[:]
    model.graph.output.extend(helper.make_empty_tensor_value_info(n) for n in names)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    for name_, actual in zip(names, sess.run(None, feeds)):
        assert static[name_].shape == actual.shape, name_
        dims = symbolic[name_].shape
        if dims is not None:  # every known symbolic dim evaluates to the real size
            for d, real in zip(dims, actual.shape):
                if isinstance(d, str) and "unk__" not in d:
                    expr = d
                    for sym in sorted(symbols, key=len, reverse=True):
                        expr = expr.replace(sym, str(symbols[sym]))
                    assert eval(expr, {"ceil": math.ceil}) == real, (name_, d)
                elif d is not None:
                    assert d == real, name_


def test_models_folder_missing_is_a_skip_not_a_failure(monkeypatch, tmp_path):
    import tests.refimpl.test_shape_inference as me

    monkeypatch.setattr(me, "MODELS_DIR", tmp_path)
    with pytest.raises(pytest.skip.Exception):
        _real_model("minilm_l6_int8.onnx")


def test_gossamer_fused_ops_infer_like_the_op_they_extend():
    from gossamer.refimpl.ir import Graph, Node, Value

    w = np.zeros((8, 3, 3, 3), np.float32)
    g = Graph(
        [Node("FusedConv", ["x", "w"], ["y"], {"pads": [1, 1, 1, 1], "activation": "Relu"},
              name="fc", domain="gossamer"),
         Node("Gelu", ["y"], ["z"], name="g", domain="gossamer")],
        [Value("x", "float32", ("N", 3, 16, 16))], [Value("z")], {"w": w},
        opsets={"": 17, "gossamer": 1},
    )  # fmt: skip
    types = infer_shapes(g)
    assert types["y"].shape == ("N", 8, 16, 16) and types["z"].shape == ("N", 8, 16, 16)
    assert types["z"].dtype == "float32"
