"""O2 scale folding: constant Mul after Conv/MatMul/Gemm into the weights, and a constant Mul or
(unpadded) Add before a Conv into its weights and bias; results equal the unfolded graph up to
rounding."""

import numpy as np
import pytest
from gossamer.converter.optimizer import optimize

from ._helpers import graph_of, node, ops, optimized_matches

F32 = np.float32
RNG = np.random.default_rng(5)


def _w(*shape):
    return (RNG.standard_normal(shape) * 0.3).astype(F32)


def _conv_then_mul(s, bias=True, group=1):
    inits = {"W": _w(6, 4 // group, 3, 3), "s": np.asarray(s, F32)}
    conv_in = ["x", "W"]
    if bias:
        inits["B"] = _w(6)
        conv_in.append("B")
    nodes = [node("Conv", conv_in, ["c"], pads=[1, 1, 1, 1], group=group),
             node("Mul", ["s", "c"], ["y"])]  # fmt: skip
    return graph_of(nodes, [("x", [2, 4, 5, 5])], [("y", [2, 6, 5, 5])], inits)


@pytest.mark.parametrize("s", [1.7, [1.7], np.linspace(-2, 2, 6).reshape(6, 1, 1),
                               np.linspace(0.5, 2, 6).reshape(1, 6, 1, 1)])  # fmt: skip
@pytest.mark.parametrize("bias", [True, False])
def test_a_mul_after_a_conv_scales_its_weights_and_bias(s, bias):
    out = optimized_matches(_conv_then_mul(s, bias), ["scale_folding"], rtol=1e-5)
    assert ops(out) == {"Conv": 1}


def test_a_mul_that_is_not_per_output_channel_stays():
    out = optimized_matches(_conv_then_mul(np.linspace(1, 2, 5)), ["scale_folding"])
    assert ops(out) == {"Conv": 1, "Mul": 1}  # (5,) scales the width axis


def test_a_conv_output_read_twice_is_not_folded():
    g = _conv_then_mul(2.0)
    g.outputs.append(type(g.outputs[0])("c"))
    out, _ = optimize(g, passes=["scale_folding"])
    assert ops(out) == {"Conv": 1, "Mul": 1}


@pytest.mark.parametrize("s", [0.5, np.linspace(1, 3, 8)])
def test_a_mul_after_a_matmul_scales_its_columns(s):
    nodes = [node("MatMul", ["x", "B"], ["m"]), node("Mul", ["m", "s"], ["y"])]
    g = graph_of(nodes, [("x", [3, 5])], [("y", [3, 8])], {"B": _w(5, 8), "s": np.asarray(s, F32)})
    assert ops(optimized_matches(g, ["scale_folding"], rtol=1e-5)) == {"MatMul": 1}


@pytest.mark.parametrize("trans_b", [0, 1])
@pytest.mark.parametrize("s", [0.5, np.linspace(1, 3, 8)])
def test_a_mul_after_a_gemm_scales_b_and_c(trans_b, s):
    b = _w(8, 5) if trans_b else _w(5, 8)
    nodes = [node("Gemm", ["x", "B", "C"], ["m"], transB=trans_b, beta=0.5),
             node("Mul", ["m", "s"], ["y"])]  # fmt: skip
    inits = {"B": b, "C": _w(8), "s": np.asarray(s, F32)}
    g = graph_of(nodes, [("x", [3, 5])], [("y", [3, 8])], inits)
    assert ops(optimized_matches(g, ["scale_folding"], rtol=1e-5)) == {"Gemm": 1}


def _affine_then_conv(op, c, pads, group=1):
    inits = {"W": _w(8, 4 // group, 3, 3), "B": _w(8), "c": np.asarray(c, F32)}
    out = 5 if any(pads) else 3
    nodes = [node(op, ["x", "c"], ["a"]),
             node("Conv", ["a", "W", "B"], ["y"], pads=pads, group=group)]  # fmt: skip
    return graph_of(nodes, [("x", [2, 4, 5, 5])], [("y", [2, 8, out, out])], inits)


PER_INPUT = np.linspace(0.5, 2, 4).reshape(1, 4, 1, 1)


@pytest.mark.parametrize("c", [1.5, PER_INPUT])
@pytest.mark.parametrize("group", [1, 2])
@pytest.mark.parametrize("pads", [[0, 0, 0, 0], [1, 1, 1, 1]])
def test_a_mul_before_a_conv_folds_with_any_padding(c, group, pads):
    out = optimized_matches(_affine_then_conv("Mul", c, pads, group), ["scale_folding"], 1e-5)
    assert ops(out) == {"Conv": 1}


@pytest.mark.parametrize("c", [0.75, PER_INPUT])
@pytest.mark.parametrize("group", [1, 2, 4])
def test_an_add_before_an_unpadded_conv_moves_into_its_bias(c, group):
    out = optimized_matches(_affine_then_conv("Add", c, [0, 0, 0, 0], group), ["scale_folding"])
    assert ops(out) == {"Conv": 1}


def test_an_add_before_a_padded_conv_stays():
    out, _ = optimize(_affine_then_conv("Add", 0.75, [1, 1, 1, 1]), passes=["scale_folding"])
    assert ops(out) == {"Add": 1, "Conv": 1}


def test_a_learnable_affine_block_chain_ends_as_fused_convs():
    """Conv, Mul, Add, HardSwish, Mul, Add, Conv (PP-LCNetV3's blocks) at -O2: all folded."""
    inits = {"W1": _w(4, 3, 1, 1), "W2": _w(6, 4, 1, 1), "s1": np.array(1.3, F32),
             "b1": np.array(0.2, F32), "s2": np.array(0.8, F32),
             "b2": np.array(-0.1, F32)}  # fmt: skip
    nodes = [node("Conv", ["x", "W1"], ["c1"]), node("Mul", ["c1", "s1"], ["m1"]),
             node("Add", ["m1", "b1"], ["a1"]), node("HardSwish", ["a1"], ["h"]),
             node("Mul", ["h", "s2"], ["m2"]), node("Add", ["m2", "b2"], ["a2"]),
             node("Conv", ["a2", "W2"], ["y"])]  # fmt: skip
    g = graph_of(nodes, [("x", [1, 3, 4, 4])], [("y", [1, 6, 4, 4])], inits, opset=17)
    feeds = {"x": RNG.standard_normal((1, 3, 4, 4)).astype(F32)}
    import gossamer

    want = gossamer.load(g, optimize=0).run(None, feeds)[0]
    out, _ = optimize(g, 2)
    assert sorted(ops(out)) == ["Conv", "gossamer::FusedConv"]
    np.testing.assert_allclose(gossamer.load(out, optimize=0).run(None, feeds)[0], want,
                               rtol=1e-5, atol=1e-6)  # fmt: skip


@pytest.mark.parametrize("op", ["Mul", "Add"])
def test_a_constant_that_broadcasts_the_conv_input_stays(op):
    """x (1, 1, 5, 5) op c (1, 3, 1, 1) feeds a 3-channel Conv: folding would hand the Conv x."""
    inits = {"W": _w(8, 3, 3, 3), "c": np.linspace(0.5, 1.5, 3).reshape(1, 3, 1, 1).astype(F32)}
    nodes = [node(op, ["x", "c"], ["a"]), node("Conv", ["a", "W"], ["y"])]
    g = graph_of(nodes, [("x", [1, 1, 5, 5])], [("y", [1, 8, 3, 3])], inits)
    out = optimized_matches(g, ["scale_folding"])
    assert ops(out) == {op: 1, "Conv": 1}


def test_a_constant_that_raises_the_rank_stays():
    inits = {"W": _w(2, 4, 3, 3), "c": np.full((1, 1, 1, 1), 2.0, F32)}
    nodes = [node("Mul", ["x", "c"], ["a"]), node("Conv", ["a", "W"], ["y"])]
    g = graph_of(nodes, [("x", [4, 5, 5])], [("y", [1, 2, 3, 3])], inits)
    assert ops(optimized_matches(g, ["scale_folding"])) == {"Mul": 1, "Conv": 1}


def test_an_add_folded_before_a_conv_keeps_its_shared_weights():
    inits = {"W": _w(8, 4, 1, 1), "c": np.array(0.5, F32)}
    nodes = [node("Add", ["x", "c"], ["a"]), node("Conv", ["a", "W"], ["y1"]),
             node("Conv", ["x", "W"], ["y2"])]  # fmt: skip
    g = graph_of(nodes, [("x", [1, 4, 3, 3])], [("y1", [1, 8, 3, 3]), ("y2", [1, 8, 3, 3])], inits)
    out = optimized_matches(g, ["scale_folding"])
    assert ops(out) == {"Conv": 2}
    assert all(n.inputs[1] == "W" for n in out.nodes)
    assert not any(k.startswith("W_") for k in out.initializers)


def test_a_gemm_with_a_run_time_bias_is_left_untouched():
    nodes = [node("Gemm", ["x", "B", "c"], ["m"]), node("Mul", ["m", "s"], ["y"])]
    inits = {"B": _w(5, 8), "s": np.array(2.0, F32)}
    g = graph_of(nodes, [("x", [3, 5]), ("c", [8])], [("y", [3, 8])], inits)
    out, _ = optimize(g, passes=["scale_folding"])
    assert ops(out) == {"Gemm": 1, "Mul": 1} and set(out.initializers) == {"B", "s"}
