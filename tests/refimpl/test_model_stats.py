"""model_stats: op histogram, parameters, FLOP estimates and the printed table."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.converter.onnx_import import graph_from_onnx
from gossamer.refimpl.model_stats import format_stats, model_stats
from onnx import TensorProto, helper, numpy_helper

from tests.conftest import MODELS_DIR, ONNX_MODELS, make_model, tensor_info


def stats_of(nodes, inputs, inits=(), outputs=("y",), opset=17, **kwargs):
    outs = [helper.make_empty_tensor_value_info(o) for o in outputs]
    return model_stats(
        graph_from_onnx(make_model(nodes, inputs, outs, inits, opset=opset)), **kwargs
    )


def init(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def test_conv_flops_equal_formula():
    n, cin, cout, group, k, h, w = 2, 8, 12, 4, 3, 10, 9
    weight = init("w", np.zeros((cout, cin // group, k, k), np.float32))
    node = helper.make_node("Conv", ["x", "w"], ["y"], group=group, strides=[2, 1], pads=[1] * 4)
    s = stats_of([node], [tensor_info("x", shape=[n, cin, h, w])], [weight])
    hout, wout = (h + 2 - k) // 2 + 1, (w + 2 - k) + 1
    assert s.total_flops == 2 * n * cout * hout * wout * (cin // group) * k * k


def test_conv_transpose_flops_count_every_input_pixel_times_kernel():
    weight = init("w", np.zeros((4, 3, 2, 2), np.float32))
    node = helper.make_node("ConvTranspose", ["x", "w"], ["y"], strides=[2, 2])
    s = stats_of([node], [tensor_info("x", shape=[1, 4, 5, 5])], [weight])
    assert s.total_flops == 2 * (1 * 4 * 5 * 5) * (3 * 2 * 2)


def test_batched_matmul_flops():
    node = helper.make_node("MatMul", ["a", "b"], ["y"])
    s = stats_of([node], [tensor_info("a", shape=[3, 4, 5]), tensor_info("b", shape=[5, 6])])
    assert s.total_flops == 2 * 3 * 4 * 6 * 5


def test_gemm_flops_ignore_bias():
    node = helper.make_node("Gemm", ["a", "b", "c"], ["y"], transB=1)
    inits = [init("b", np.zeros((7, 5), np.float32)), init("c", np.zeros(7, np.float32))]
    s = stats_of([node], [tensor_info("a", shape=[4, 5])], inits)
    assert s.total_flops == 2 * 4 * 7 * 5


def test_elementwise_costs_one_per_output_element():
    node = helper.make_node("Add", ["a", "b"], ["y"])
    s = stats_of([node], [tensor_info("a", shape=[2, 3, 4]), tensor_info("b", shape=[4])])
    assert s.total_flops == 24


def test_pool_costs_one_per_window_element():
    node = helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2, 2], strides=[2, 2])
    s = stats_of([node], [tensor_info("x", shape=[1, 3, 8, 8])])
    assert s.total_flops == 3 * 4 * 4 * 4


def test_data_movement_is_free_but_estimated():
    node = helper.make_node("Transpose", ["x"], ["y"])
    s = stats_of([node], [tensor_info("x", shape=[2, 3])])
    assert s.total_flops == 0 and s.nodes_without_flops == 0


def test_unknown_shapes_are_counted_as_without_estimate():
    nodes = [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Neg", ["k"], ["y"])]
    ins = [tensor_info("x", shape=["N", 3]), tensor_info("k", shape=[2, 2])]
    s = stats_of(nodes, ins, outputs=("r", "y"))
    assert s.nodes_without_flops == 1 and s.total_flops == 4
    assert [f.flops for f in s.node_flops] == [None, 4]


def test_input_shapes_fix_symbolic_dims():
    node = helper.make_node("Relu", ["x"], ["y"])
    s = stats_of([node], [tensor_info("x", shape=["N", 3])], input_shapes={"x": (5, 3)})
    assert s.total_flops == 15 and s.nodes_without_flops == 0


def test_parameter_bytes_equal_initializer_and_constant_nbytes():
    a, b = np.zeros((3, 4), np.float32), np.zeros(5, np.int8)
    nodes = [
        helper.make_node("Constant", [], ["c"], value_ints=[1, 2]),
        helper.make_node("Add", ["x", "a"], ["y"]),
    ]
    s = stats_of(nodes, [tensor_info("x", shape=[3, 4])], [init("a", a), init("b", b)])
    assert s.param_count == a.size + b.size + 2
    assert s.param_bytes == a.nbytes + b.nbytes + 2 * 8


def test_histogram_counts_subgraph_nodes_separately():
    out = helper.make_tensor_value_info("t", TensorProto.FLOAT, None)
    then = helper.make_graph([helper.make_node("Relu", ["x"], ["t"])], "then", [], [out])
    other = helper.make_graph(
        [helper.make_node("Neg", ["x"], ["e"])],
        "else",
        [],
        [helper.make_tensor_value_info("e", TensorProto.FLOAT, None)],
    )
    nodes = [
        helper.make_node("Relu", ["x"], ["r"]),
        helper.make_node("If", ["c"], ["y"], then_branch=then, else_branch=other),
    ]
    ins = [tensor_info("c", np.bool_, []), tensor_info("x", shape=[2])]
    s = stats_of(nodes, ins)
    assert s.op_histogram == {"Relu": 2, "If": 1, "Neg": 1}
    assert s.num_nodes == 2 and s.num_subgraph_nodes == 2
    assert s.total_flops == 2 and s.nodes_without_flops == 1  # the If itself


def test_custom_domain_ops_are_keyed_with_their_domain():
    node = helper.make_node("Gelu", ["x"], ["y"], domain="com.microsoft")
    outs = [helper.make_empty_tensor_value_info("y")]
    model = make_model(
        [node],
        [tensor_info("x", shape=[2])],
        outs,
        extra_opsets=[helper.make_opsetid("com.microsoft", 1)],
    )
    assert model_stats(graph_from_onnx(model)).op_histogram == {"com.microsoft::Gelu": 1}


def test_format_stats_lists_ops_and_totals():
    weight = init("w", np.zeros((4, 3, 3, 3), np.float32))
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"]), helper.make_node("Relu", ["c"], ["y"])]
    s = stats_of(nodes, [tensor_info("x", shape=[1, 3, 10, 10])], [weight])
    text = format_stats(s)
    assert "Conv" in text and "Relu" in text
    assert f"{s.total_flops:,}" in text and "108" in text  # 108 parameters


def test_format_stats_names_ops_without_estimate():
    node = helper.make_node("Relu", ["x"], ["y"])
    assert "no FLOP estimate for: Relu" in format_stats(stats_of([node], [tensor_info("x")]))


@pytest.mark.models
@pytest.mark.parametrize("name", ONNX_MODELS)
def test_real_models_have_stats(name):
    path = MODELS_DIR / name
    if not path.exists():
        pytest.skip(f"shared model {name} not in {MODELS_DIR}")
    graph = graph_from_onnx(path)
    s = model_stats(graph)
    assert s.param_bytes == sum(int(a.nbytes) for a in graph.initializers.values()) + sum(
        int(n.attrs["value"].nbytes) for _, n in graph.walk() if n.op_type == "Constant"
    )
    assert sum(s.op_histogram.values()) == s.num_nodes + s.num_subgraph_nodes
    assert format_stats(s)


@pytest.mark.models
def test_yolo_flops_at_320_are_about_a_quarter_of_the_published_640_figure():
    path = MODELS_DIR / "nudenet_320n_yolov8n.onnx"
    if not path.exists():
        pytest.skip("shared model missing")
    s = model_stats(graph_from_onnx(path), input_shapes={"images": (1, 3, 320, 320)})
    assert s.nodes_without_flops == 0
    assert 1.9e9 < s.total_flops < 2.4e9  # YOLOv8n: 8.7 GFLOPs at 640x640
