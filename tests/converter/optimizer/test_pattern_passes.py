"""O3 passes: LayerNorm and GELU fusion, MatMul batching, Transpose/Reshape cancellation."""

import math

import numpy as np
import pytest
from gossamer.converter.optimizer import optimize

from ._helpers import graph_of, node, ops, optimized_matches

F32 = np.float32
RNG = np.random.default_rng(1)


def _layernorm(opset=12, axes=(-1,), square="Pow", beta=True, extra=()):
    reduce = {"axes": list(axes)}
    nodes = [
        node("ReduceMean", ["x"], ["mean"], **reduce),
        node("Sub", ["x", "mean"], ["d"]),
        node("Pow", ["d", "two"], ["sq"]) if square == "Pow" else node("Mul", ["d", "d"], ["sq"]),
        node("ReduceMean", ["sq"], ["var"], **reduce),
        node("Add", ["var", "eps"], ["ve"]),
        node("Sqrt", ["ve"], ["std"]),
        node("Div", ["d", "std"], ["n"]),
        node("Mul", ["n", "gamma"], ["y" if not beta else "m"]),
    ] + ([node("Add", ["m", "beta"], ["y"])] if beta else [])
    inits = {
        "two": np.array(2, F32),
        "eps": np.array(1e-5, F32),
        "gamma": RNG.standard_normal(8).astype(F32),
        "beta": RNG.standard_normal(8).astype(F32),
    }
    outputs = [("y", [2, 3, 8])] + list(extra)
    return graph_of(nodes, [("x", [2, 3, 8])], outputs, inits, opset=opset)


@pytest.mark.parametrize("opset,domain", [(12, "gossamer::"), (17, "")])
def test_layernorm_pattern_becomes_layer_normalization(opset, domain):
    out = optimized_matches(_layernorm(opset), ["layernorm_fusion", "dead_node_elimination"])
    assert ops(out) == {f"{domain}LayerNormalization": 1}
    assert out.nodes[0].attrs == {"axis": -1, "epsilon": pytest.approx(1e-5)}


def test_layernorm_pattern_with_mul_square_and_no_beta_fuses():
    out = optimized_matches(_layernorm(square="Mul", beta=False), ["layernorm_fusion"])
    assert ops(out) == {"gossamer::LayerNormalization": 1}


def test_layernorm_pattern_over_a_leading_axis_is_not_fused():
    out, report = optimize(_layernorm(axes=(1,)), passes=["layernorm_fusion"])
    assert report.changed("layernorm_fusion") == 0


def test_layernorm_pattern_with_an_intermediate_graph_output_is_not_fused():
    g = _layernorm(extra=[("d", [2, 3, 8])])
    out, report = optimize(g, passes=["layernorm_fusion"])
    assert report.changed("layernorm_fusion") == 0


def _gelu(order):
    x_div = node("Div", ["x", "sqrt2"], ["t"])
    erf = node("Erf", ["t"], ["e"])
    add = node("Add", ["e", "one"], ["u"])
    if order == "x_u_half":
        tail = [node("Mul", ["x", "u"], ["w"]), node("Mul", ["w", "half"], ["y"])]
    elif order == "half_x_u":
        tail = [node("Mul", ["half", "x"], ["h"]), node("Mul", ["h", "u"], ["y"])]
    else:  # x * (u * 0.5), as torch.onnx exports it
        tail = [node("Mul", ["half", "u"], ["w"]), node("Mul", ["x", "w"], ["y"])]
    inits = {
        "sqrt2": np.array(math.sqrt(2), F32),
        "one": np.array(1, F32),
        "half": np.array(0.5, F32),
    }
    return [x_div, erf, add] + tail, inits


@pytest.mark.parametrize("order", ["x_u_half", "half_x_u", "x_u_times_half"])
@pytest.mark.parametrize("opset,domain", [(17, "gossamer::"), (20, "")])
def test_erf_gelu_pattern_becomes_gelu(order, opset, domain):
    nodes, inits = _gelu(order)
    g = graph_of(nodes, [("x", [4, 6])], [("y", [4, 6])], inits, opset=opset)
    out = optimized_matches(g, ["gelu_fusion", "dead_node_elimination"])
    assert ops(out) == {f"{domain}Gelu": 1}


def test_erf_pattern_with_a_wrong_constant_is_not_gelu():
    nodes, inits = _gelu("x_u_half")
    inits["half"] = np.array(0.25, F32)
    g = graph_of(nodes, [("x", [4])], [("y", [4])], inits)
    out, report = optimize(g, passes=["gelu_fusion"])
    assert report.changed("gelu_fusion") == 0 and ops(out)["Erf"] == 1


def test_matmuls_sharing_an_input_are_batched_into_one_matmul_and_split():
    ws = {f"w{i}": RNG.standard_normal((5, n)).astype(F32) for i, n in enumerate((3, 4, 2))}
    g = graph_of(
        [node("MatMul", ["x", f"w{i}"], [f"y{i}"]) for i in range(3)],
        [("x", [2, 7, 5])],
        [("y0", [2, 7, 3]), ("y1", [2, 7, 4]), ("y2", [2, 7, 2])],
        ws,
    )
    out = optimized_matches(g, ["matmul_batching"])
    assert ops(out) == {"MatMul": 1, "Split": 1}


def test_fused_matmuls_with_biases_are_batched_and_old_opsets_get_a_split_attribute():
    inits = {}
    nodes = []
    for i in range(2):
        inits[f"w{i}"] = RNG.standard_normal((5, 3)).astype(F32)
        inits[f"b{i}"] = RNG.standard_normal(3).astype(F32)
        nodes += [
            node("MatMul", ["x", f"w{i}"], [f"m{i}"]),
            node("Add", [f"m{i}", f"b{i}"], [f"y{i}"]),
        ]
    g = graph_of(nodes, [("x", [1, 4, 5])], [("y0", [1, 4, 3]), ("y1", [1, 4, 3])], inits, opset=12)
    out = optimized_matches(g, ["bias_fusion", "matmul_batching"])
    assert ops(out) == {"gossamer::FusedMatMul": 1, "Split": 1}
    assert [n.attrs.get("split") for n in out.nodes if n.op_type == "Split"] == [[3, 3]]


def test_matmuls_with_a_computed_weight_are_not_batched():
    g = graph_of(
        [node("MatMul", ["x", "w"], ["y0"]), node("MatMul", ["x", "v"], ["y1"])],
        [("x", [2, 5]), ("v", [5, 3])],
        [("y0", [2, 3]), ("y1", [2, 3])],
        {"w": RNG.standard_normal((5, 3)).astype(F32)},
    )
    out, _ = optimize(g, passes=["matmul_batching"])
    assert ops(out) == {"MatMul": 2}


def test_inverse_transposes_cancel():
    g = graph_of(
        [
            node("Transpose", ["x"], ["t"], perm=[0, 2, 1]),
            node("Transpose", ["t"], ["u"], perm=[0, 2, 1]),
            node("Relu", ["u"], ["y"]),
        ],
        [("x", [2, 3, 4])],
        [("y", [2, 3, 4])],
    )
    out = optimized_matches(g, ["transpose_reshape_cancellation"])
    assert ops(out) == {"Relu": 1}


def test_two_transposes_compose_into_one():
    g = graph_of(
        [
            node("Transpose", ["x"], ["t"], perm=[1, 2, 0]),
            node("Transpose", ["t"], ["y"], perm=[0, 2, 1]),
        ],
        [("x", [2, 3, 4])],
        [("y", [3, 2, 4])],
    )
    out = optimized_matches(g, ["transpose_reshape_cancellation"])
    assert ops(out) == {"Transpose": 1} and out.nodes[0].attrs["perm"] == [1, 0, 2]


def test_reshape_of_a_reshape_reads_the_original():
    g = graph_of(
        [node("Reshape", ["x", "s1"], ["r"]), node("Reshape", ["r", "s2"], ["y"])],
        [("x", [2, 3, 4])],
        [("y", [4, 6])],
        {"s1": np.array([6, 4], np.int64), "s2": np.array([4, -1], np.int64)},
    )
    out = optimized_matches(g, ["transpose_reshape_cancellation"])
    assert ops(out) == {"Reshape": 1} and out.nodes[0].inputs[0] == "x"


def test_reshape_with_a_zero_dim_is_not_merged():
    g = graph_of(
        [node("Reshape", ["x", "s1"], ["r"]), node("Reshape", ["r", "s2"], ["y"])],
        [("x", [2, 3, 4])],
        [("y", [6, 4])],
        {"s1": np.array([6, 4], np.int64), "s2": np.array([0, 4], np.int64)},
    )
    out, _ = optimize(g, passes=["transpose_reshape_cancellation"])
    assert ops(out) == {"Reshape": 2}
