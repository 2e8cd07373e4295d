"""O2 hard-swish fusion: x * Clip(x + 3, 0, 6) / 6 -> HardSwish, Clip(x + 3, 0, 6) / 6 ->
HardSigmoid, then fused into the preceding Conv."""

import numpy as np
import pytest
from gossamer.converter.optimizer import optimize

from ._helpers import graph_of, node, ops, optimized_matches

F32 = np.float32
RNG = np.random.default_rng(3)
CONSTS = {
    "three": np.array(3, F32),
    "zero": np.array(0, F32),
    "six": np.array(6, F32),
    "sixth": np.array(1 / 6, F32),
}


def _pattern(order="x_first", scale="div", opset=17, with_mul=True):
    add_in = ["x", "three"] if order == "x_first" else ["three", "x"]
    nodes = [
        node("Add", add_in, ["a"]),
        node("Clip", ["a", "zero", "six"], ["c"]),
    ]
    last = "c"
    if with_mul:
        nodes.append(node("Mul", ["c", "x"] if order == "x_first" else ["x", "c"], ["m"]))
        last = "m"
    if scale == "div":
        nodes.append(node("Div", [last, "six"], ["y"]))
    else:
        nodes.append(node("Mul", ["sixth", last], ["y"]))
    return graph_of(nodes, [("x", [2, 3, 4])], [("y", [2, 3, 4])], CONSTS, opset=opset)


@pytest.mark.parametrize("order", ["x_first", "x_second"])
@pytest.mark.parametrize("scale", ["div", "mul"])
def test_hardswish_pattern_becomes_hardswish(order, scale):
    out = optimized_matches(_pattern(order, scale), ["hardswish_fusion"], rtol=1e-6)
    assert ops(out) == {"HardSwish": 1}


def test_below_opset_14_it_is_gossamer_hardswish():
    out = optimized_matches(_pattern(opset=12), ["hardswish_fusion"], rtol=1e-6)
    assert ops(out) == {"gossamer::HardSwish": 1} and out.opsets["gossamer"] == 1


def test_clip_over_six_becomes_hardsigmoid():
    out = optimized_matches(_pattern(with_mul=False), ["hardswish_fusion"], rtol=1e-6)
    assert ops(out) == {"HardSigmoid": 1}
    assert out.nodes[0].attrs["alpha"] == pytest.approx(1 / 6) and out.nodes[0].attrs["beta"] == 0.5


def test_other_constants_are_left_alone():
    g = _pattern()
    g.initializers["three"] = np.array(2.5, F32)
    out, report = optimize(g, passes=["hardswish_fusion"])
    assert report.changed("hardswish_fusion") == 0 and ops(out)["Clip"] == 1


def test_an_intermediate_read_elsewhere_is_left_alone():
    g = graph_of(
        [
            node("Add", ["x", "three"], ["a"]),
            node("Clip", ["a", "zero", "six"], ["c"]),
            node("Mul", ["c", "x"], ["m"]),
            node("Div", ["m", "six"], ["y"]),
        ],
        [("x", [2, 3])],
        [("y", [2, 3]), ("c", [2, 3])],
        CONSTS,
    )
    out, report = optimize(g, passes=["hardswish_fusion"])
    assert report.changed("hardswish_fusion") == 0


def test_conv_then_hardswish_pattern_becomes_one_fused_conv():
    w = RNG.standard_normal((4, 3, 3, 3)).astype(F32)
    g = graph_of(
        [
            node("Conv", ["img", "w"], ["x"], pads=[1, 1, 1, 1]),
            node("Add", ["x", "three"], ["a"]),
            node("Clip", ["a", "zero", "six"], ["c"]),
            node("Mul", ["x", "c"], ["m"]),
            node("Div", ["m", "six"], ["y"]),
        ],
        [("img", [1, 3, 6, 6])],
        [("y", [1, 4, 6, 6])],
        CONSTS | {"w": w},
        opset=12,
    )
    out = optimized_matches(g, ["hardswish_fusion", "activation_fusion"], rtol=1e-5)
    assert ops(out) == {"gossamer::FusedConv": 1}
    assert out.nodes[0].attrs["activation"] == "HardSwish"
