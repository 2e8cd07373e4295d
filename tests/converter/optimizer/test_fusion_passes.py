"""O2 passes: BatchNormalization folding, bias and activation fusion, MatMul+Add -> Gemm, Swish."""

import numpy as np
import pytest
from gossamer.converter.optimizer import optimize

from ._helpers import graph_of, node, ops, optimized_matches

F32 = np.float32
RNG = np.random.default_rng(0)


def _conv_inits(cin=3, cout=4, bias=True):
    inits = {"w": RNG.standard_normal((cout, cin, 3, 3)).astype(F32)}
    if bias:
        inits["b"] = RNG.standard_normal(cout).astype(F32)
    return inits


def _bn_inits(c=4):
    return {
        "s": (1 + 0.1 * RNG.standard_normal(c)).astype(F32),
        "bb": RNG.standard_normal(c).astype(F32),
        "m": RNG.standard_normal(c).astype(F32),
        "v": (1 + RNG.random(c)).astype(F32),
    }


def _conv_bn(bias=True, extra=None, outputs=(("y", [1, 4, 6, 6]),)):
    conv = node("Conv", ["x", "w", "b"] if bias else ["x", "w"], ["c"], pads=[1, 1, 1, 1])
    bn = node("BatchNormalization", ["c", "s", "bb", "m", "v"], ["y"], epsilon=1e-3)
    inits = _conv_inits(bias=bias) | _bn_inits()
    return graph_of([conv, bn] + (extra or []), [("x", [1, 3, 6, 6])], list(outputs), inits)


@pytest.mark.parametrize("bias", [True, False])
def test_batchnorm_folds_into_the_preceding_conv(bias):
    out = optimized_matches(_conv_bn(bias), ["batchnorm_folding"])
    assert ops(out) == {"Conv": 1}


def test_batchnorm_with_a_non_constant_parameter_is_not_folded():
    g = _conv_bn()
    g.inputs.append(type(g.inputs[0])("m", "float32", (4,)))  # the mean becomes feedable
    out, report = optimize(g, passes=["batchnorm_folding"])
    assert report.changed("batchnorm_folding") == 0 and ops(out)["BatchNormalization"] == 1


def test_batchnorm_is_not_folded_when_the_conv_output_is_read_twice():
    g = _conv_bn(
        extra=[node("Relu", ["c"], ["r"])], outputs=(("y", [1, 4, 6, 6]), ("r", [1, 4, 6, 6]))
    )
    out, _ = optimize(g, passes=["batchnorm_folding"])
    assert ops(out)["BatchNormalization"] == 1


def test_conv_bias_add_folds_into_the_conv_bias():
    g = graph_of(
        [node("Conv", ["x", "w"], ["c"]), node("Add", ["d", "c"], ["y"])],
        [("x", [1, 3, 5, 5])],
        [("y", [1, 4, 3, 3])],
        _conv_inits(bias=False) | {"d": RNG.standard_normal((1, 4, 1, 1)).astype(F32)},
    )
    assert ops(optimized_matches(g, ["bias_fusion"])) == {"Conv": 1}


def test_conv_add_of_a_full_tensor_is_not_a_bias():
    g = graph_of(
        [node("Conv", ["x", "w"], ["c"]), node("Add", ["c", "d"], ["y"])],
        [("x", [1, 3, 5, 5])],
        [("y", [1, 4, 3, 3])],
        _conv_inits(bias=False) | {"d": RNG.standard_normal((4, 3, 3)).astype(F32)},
    )
    out, _ = optimize(g, passes=["bias_fusion"])
    assert ops(out) == {"Conv": 1, "Add": 1}


def test_matmul_bias_add_becomes_fused_matmul():
    g = graph_of(
        [node("MatMul", ["x", "w"], ["m"]), node("Add", ["m", "d"], ["y"])],
        [("x", [2, 5, 3])],
        [("y", [2, 5, 4])],
        {"w": RNG.standard_normal((3, 4)).astype(F32), "d": RNG.standard_normal(4).astype(F32)},
    )
    assert ops(optimized_matches(g, ["bias_fusion"])) == {"gossamer::FusedMatMul": 1}


def test_gemm_bias_add_folds_into_c():
    g = graph_of(
        [node("Gemm", ["x", "w", "c"], ["m"], transB=1, beta=0.5), node("Add", ["m", "d"], ["y"])],
        [("x", [2, 3])],
        [("y", [2, 4])],
        {
            "w": RNG.standard_normal((4, 3)).astype(F32),
            "c": RNG.standard_normal(4).astype(F32),
            "d": RNG.standard_normal((1, 4)).astype(F32),
        },
    )
    assert ops(optimized_matches(g, ["bias_fusion"])) == {"Gemm": 1}


def test_matmul_add_on_rank_two_becomes_gemm():
    g = graph_of(
        [node("MatMul", ["x", "w"], ["m"]), node("Add", ["m", "d"], ["y"])],
        [("x", [2, 3])],
        [("y", [2, 4])],
        {"w": RNG.standard_normal((3, 4)).astype(F32), "d": RNG.standard_normal(4).astype(F32)},
    )
    assert ops(optimized_matches(g, ["matmul_add_to_gemm"])) == {"Gemm": 1}


def test_matmul_add_on_rank_three_is_not_a_gemm():
    g = graph_of(
        [node("MatMul", ["x", "w"], ["m"]), node("Add", ["m", "d"], ["y"])],
        [("x", [2, 2, 3])],
        [("y", [2, 2, 4])],
        {"w": RNG.standard_normal((3, 4)).astype(F32), "d": RNG.standard_normal(4).astype(F32)},
    )
    out, _ = optimize(g, passes=["matmul_add_to_gemm"])
    assert ops(out) == {"MatMul": 1, "Add": 1}


ACTIVATIONS = [
    ("Relu", [], {}, {}),
    ("Clip", ["lo", "hi"], {}, {"lo": np.array(0, F32), "hi": np.array(6, F32)}),
    ("Clip", ["", "hi"], {}, {"hi": np.array(0.5, F32)}),
    ("HardSigmoid", [], {"alpha": 0.3, "beta": 0.4}, {}),
    ("HardSwish", [], {}, {}),
    ("Sigmoid", [], {}, {}),
    ("LeakyRelu", [], {"alpha": 0.2}, {}),
    ("PRelu", ["slope"], {}, {"slope": RNG.random((4, 1, 1)).astype(F32)}),
]


@pytest.mark.parametrize("act,extra,attrs,inits", ACTIVATIONS, ids=lambda a: str(a)[:12])
def test_conv_activation_becomes_fused_conv_with_identical_results(act, extra, attrs, inits):
    g = graph_of(
        [node("Conv", ["x", "w", "b"], ["c"]), node(act, ["c"] + extra, ["y"], **attrs)],
        [("x", [1, 3, 5, 5])],
        [("y", [1, 4, 3, 3])],
        _conv_inits() | inits,
    )
    out = optimized_matches(g, ["activation_fusion"], rtol=0)  # bit for bit
    assert ops(out) == {"gossamer::FusedConv": 1}
    assert out.nodes[0].attrs["activation"] == act
    assert out.opsets["gossamer"] == 1


def test_clip_attributes_of_old_opsets_become_activation_params():
    g = graph_of(
        [node("Conv", ["x", "w"], ["c"]), node("Clip", ["c"], ["y"], min=0.0, max=6.0)],
        [("x", [1, 3, 5, 5])],
        [("y", [1, 4, 3, 3])],
        _conv_inits(bias=False),
        opset=10,
    )
    out = optimized_matches(g, ["activation_fusion"], rtol=0)
    assert out.nodes[0].attrs["activation_params"] == [0.0, 6.0]


def test_gemm_and_matmul_activations_become_fused_gemm_and_fused_matmul():
    w = RNG.standard_normal((3, 3)).astype(F32)
    g = graph_of(
        [
            node("Gemm", ["x", "w"], ["g"]),
            node("Relu", ["g"], ["r"]),
            node("MatMul", ["r", "w"], ["m"]),
            node("Sigmoid", ["m"], ["y"]),
        ],
        [("x", [2, 3])],
        [("y", [2, 3])],
        {"w": w},
    )
    out = optimized_matches(g, ["activation_fusion"], rtol=0)
    assert ops(out) == {"gossamer::FusedGemm": 1, "gossamer::FusedMatMul": 1}


def test_conv_read_twice_is_not_fused_with_one_readers_activation():
    g = graph_of(
        [
            node("Conv", ["x", "w", "b"], ["c"]),
            node("Relu", ["c"], ["y"]),
            node("Neg", ["c"], ["z"]),
        ],
        [("x", [1, 3, 5, 5])],
        [("y", [1, 4, 3, 3]), ("z", [1, 4, 3, 3])],
        _conv_inits(),
    )
    out, report = optimize(g, passes=["activation_fusion"])
    assert report.changed("activation_fusion") == 0 and ops(out)["Conv"] == 1


def test_conv_that_is_a_graph_output_is_not_fused():
    g = graph_of(
        [node("Conv", ["x", "w", "b"], ["c"]), node("Relu", ["c"], ["y"])],
        [("x", [1, 3, 5, 5])],
        [("y", [1, 4, 3, 3]), ("c", [1, 4, 3, 3])],
        _conv_inits(),
    )
    out, _ = optimize(g, passes=["activation_fusion"])
    assert ops(out) == {"Conv": 1, "Relu": 1}


def test_clip_with_a_computed_bound_is_not_fused():
    g = graph_of(
        [node("Conv", ["x", "w", "b"], ["c"]), node("Clip", ["c", "lo"], ["y"])],
        [("x", [1, 3, 5, 5]), ("lo", [])],
        [("y", [1, 4, 3, 3])],
        _conv_inits(),
    )
    out, _ = optimize(g, passes=["activation_fusion"])
    assert ops(out) == {"Conv": 1, "Clip": 1}


@pytest.mark.parametrize("order", [["x", "s"], ["s", "x"]])
def test_sigmoid_times_its_input_becomes_swish(order):
    g = graph_of(
        [node("Sigmoid", ["x"], ["s"]), node("Mul", order, ["y"])], [("x", [2, 5])], [("y", [2, 5])]
    )
    out = optimized_matches(g, ["swish_fusion"], rtol=0)  # gossamer::Swish is x * Sigmoid(x)
    assert ops(out) == {"gossamer::Swish": 1}


def test_sigmoid_times_another_tensor_is_not_swish():
    g = graph_of(
        [node("Sigmoid", ["x"], ["s"]), node("Mul", ["s", "z"], ["y"])],
        [("x", [2]), ("z", [2])],
        [("y", [2])],
    )
    out, _ = optimize(g, passes=["swish_fusion"])
    assert ops(out) == {"Sigmoid": 1, "Mul": 1}


def test_conv_swish_fuses_into_fused_conv_after_swish_fusion():
    g = graph_of(
        [
            node("Conv", ["x", "w", "b"], ["c"]),
            node("Sigmoid", ["c"], ["s"]),
            node("Mul", ["c", "s"], ["y"]),
        ],  # fmt: skip
        [("x", [1, 3, 5, 5])],
        [("y", [1, 4, 3, 3])],
        _conv_inits(),
    )
    out = optimized_matches(g, ["swish_fusion", "activation_fusion"], rtol=0)
    assert ops(out) == {"gossamer::FusedConv": 1}
    assert out.nodes[0].attrs["activation"] == "Swish"


def test_standard_swish_is_used_from_opset_24():
    g = graph_of(
        [node("Sigmoid", ["x"], ["s"]), node("Mul", ["x", "s"], ["y"])],
        [("x", [3])],
        [("y", [3])],
        opset=24,
    )
    out = optimized_matches(g, ["swish_fusion"])
    assert ops(out) == {"Swish": 1}
