"""sibling_conv_fusion: convolutions reading one input with equal geometry and activation become
one convolution (weights stacked along the output channels) and a channel Split; results equal
the separate convolutions bit for bit, on the reference and on the cython backend."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.converter.optimizer import optimize
from gossamer.converter.optimizer import sibling_conv_fusion as pass_
from gossamer.refimpl.ir import Graph, Node, Value

import gossamer

RNG = np.random.default_rng(0)


def _net(second: dict | None = None, bias2: bool = True, w2_shape=(6, 4, 3, 3)) -> Graph:
    """x -> Relu -> (conv a: 8 channels, conv b: 6 channels, both 3x3 pad 1) -> Add of their
    channel sums' broadcasts; `second`: conv b's attributes (default: conv a's)."""
    attrs = {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1], "activation": "Swish",
             "activation_params": [1.0]}  # fmt: skip
    inits = {
        "wa": RNG.standard_normal((8, 4, 3, 3)).astype(np.float32) * 0.3,
        "ba": RNG.standard_normal(8).astype(np.float32),
        "wb": RNG.standard_normal(w2_shape).astype(np.float32) * 0.3,
        "bb": RNG.standard_normal(w2_shape[0]).astype(np.float32),
        "axes": np.array([1], np.int64),
    }
    b_inputs = ["r", "wb", "bb"] if bias2 else ["r", "wb"]
    if not bias2:
        del inits["bb"]
    nodes = [
        Node("Relu", ["x"], ["r"], name="relu"),
        Node("FusedConv", ["r", "wa", "ba"], ["a"], dict(attrs), "conv_a", "gossamer"),
        Node("FusedConv", b_inputs, ["b"], dict(second or attrs), "conv_b", "gossamer"),
        Node("ReduceSum", ["a", "axes"], ["sa"], {"keepdims": 1}, name="sum_a"),
        Node("ReduceSum", ["b", "axes"], ["sb"], {"keepdims": 1}, name="sum_b"),
        Node("Add", ["sa", "sb"], ["y"], name="add"),
    ]
    return Graph(nodes, [Value("x", "float32", ("N", 4, 7, 9))],
                 [Value("y", "float32", ("N", 1, 7, 9))], initializers=inits, name="siblings",
                 opsets={"": 17, "gossamer": 1})  # fmt: skip


def _ops(graph: Graph) -> list[str]:
    return [n.op_type for n in graph.nodes]


def test_siblings_become_one_conv_and_a_split():
    g = _net()
    changes = pass_.run(g)
    assert len(changes) == 1 and "conv_a" in changes[0] and "conv_b" in changes[0]
    assert _ops(g).count("FusedConv") == 1 and "Split" in _ops(g)
    (conv,) = [n for n in g.nodes if n.op_type == "FusedConv"]
    assert g.initializers[conv.inputs[1]].shape == (14, 4, 3, 3)
    assert g.initializers[conv.inputs[2]].shape == (14,)
    assert not {"wa", "wb", "ba", "bb"} & set(g.initializers)  # the separate weights are gone
    (split,) = [n for n in g.nodes if n.op_type == "Split"]
    assert split.outputs == ["a", "b"] and list(g.initializers[split.inputs[1]]) == [8, 6]
    g.validate()


@pytest.mark.parametrize(
    "change",
    [
        {"second": {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1], "activation": "Relu"}},
        {
            "second": {
                "kernel_shape": [3, 3],
                "pads": [1, 1, 1, 1],
                "activation": "Swish",
                "activation_params": [1.0],
                "strides": [2, 2],
            }
        },  # fmt: skip
        {"bias2": False},
        {
            "w2_shape": (6, 4, 1, 1),
            "second": {"kernel_shape": [1, 1], "activation": "Swish", "activation_params": [1.0]},
        },  # fmt: skip
    ],
)
def test_convs_that_differ_stay_apart(change):
    g = _net(**change)
    assert pass_.run(g) == []
    assert _ops(g).count("FusedConv") == 2


def test_1x1_siblings_stay_apart():
    g = _net(w2_shape=(6, 4, 1, 1), second={"kernel_shape": [1, 1], "activation": "Swish",
                                             "activation_params": [1.0]})  # fmt: skip
    for n in g.nodes:
        if n.name == "conv_a":
            n.attrs = {"kernel_shape": [1, 1], "activation": "Swish", "activation_params": [1.0]}
    g.initializers["wa"] = g.initializers["wa"][:, :, :1, :1].copy()
    assert pass_.run(g) == []


def test_a_graph_output_or_a_group_conv_is_not_merged():
    g = _net()
    g.outputs.append(Value("a", "float32", None))
    assert pass_.run(g) == []
    g = _net()
    for n in g.nodes:
        if n.op_type == "FusedConv":
            n.attrs["group"] = 2
    assert pass_.run(g) == []


@pytest.mark.parametrize("backend", ["reference", "cython"])
def test_merged_equals_separate_bit_for_bit(backend):
    x = RNG.standard_normal((2, 4, 7, 9)).astype(np.float32)
    x1 = x[:1].copy()
    net = _net()  # (optimize works on a copy)
    merged, report = optimize(net, 3)
    assert any(p.name == pass_.NAME and p.changes for p in report.passes)
    separate, _ = optimize(net, 3, passes=[p.name for p in report.passes if p.name != pass_.NAME])
    assert _ops(separate).count("FusedConv") == 2
    a = gossamer.load(merged, backends=[backend], threads=2, optimize=0)
    b = gossamer.load(separate, backends=[backend], threads=2, optimize=0)
    for feed in (x, x1, x1, x1, x):  # batch 1 repeated: its segments; batch 2: the Split copies
        (ya,) = a.run(None, {"x": feed})
        (yb,) = b.run(None, {"x": feed})
        assert ya.tobytes() == yb.tobytes()
