"""Graph-level autodiff: the backward program's weight gradients equal finite differences of the
forward graph's loss; unsupported ops are all reported at once; frozen weights are left out."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from gossamer.refimpl.grad.backward_graph import (
    GradientNotDefinedError,
    build_backward,
    trainable_names,
)
from gossamer.refimpl.interpreter import Program
from gossamer.refimpl.ir import Graph, Node, Value

H = 1e-6


def _graph(nodes, inputs, weights, loss="loss") -> Graph:
    return Graph(
        nodes=nodes,
        inputs=[Value(n, "float64", v.shape) for n, v in inputs.items()],
        outputs=[Value(loss)],
        initializers=weights,
        name="net",
        opsets={"": 17},
    )


def _loss(graph: Graph, feeds, weights) -> float:
    env = Program(replace(graph, initializers=weights)).run(feeds)
    return float(np.sum(env["loss"]))


def _check(graph: Graph, feeds, trainable=None) -> dict[str, np.ndarray]:
    backward = build_backward(graph, "loss", trainable)
    env = Program(backward.graph).run(feeds)
    assert float(np.sum(env["loss"])) == pytest.approx(_loss(graph, feeds, graph.initializers))
    got = {}
    for name, out in backward.gradients.items():
        w = graph.initializers[name]
        fd = np.zeros_like(w)
        for j in np.ndindex(w.shape):
            for sign in (1, -1):
                bumped = dict(graph.initializers)
                bumped[name] = w.copy()
                bumped[name][j] += sign * H
                fd[j] += sign * _loss(graph, feeds, bumped)
        np.testing.assert_allclose(env[out], fd / (2 * H), rtol=1e-5, atol=1e-6, err_msg=name)
        got[name] = env[out]
    return got


def test_an_mlp_with_a_log_softmax_loss():
    rng = np.random.default_rng(0)
    weights = {
        "w1": rng.standard_normal((4, 5)),
        "b1": rng.standard_normal(5),
        "w2": rng.standard_normal((3, 5)),
        "b2": rng.standard_normal(3),
    }
    nodes = [
        Node("MatMul", ["x", "w1"], ["h0"], name="mm"),
        Node("Add", ["h0", "b1"], ["h1"], name="add"),
        Node("Relu", ["h1"], ["h2"], name="relu"),
        Node("Gemm", ["h2", "w2", "b2"], ["z"], {"transB": 1}, name="fc"),
        Node("LogSoftmax", ["z"], ["lp"], {"axis": -1}, name="lsm"),
        Node("ReduceMean", ["lp"], ["loss"], {"keepdims": 0}, name="mean"),
    ]
    x = rng.standard_normal((6, 4))
    got = _check(_graph(nodes, {"x": x}, weights), {"x": x})
    assert set(got) == set(weights)


def test_a_conv_net_with_a_residual_and_a_shared_value():
    rng = np.random.default_rng(1)
    weights = {
        "wc": rng.standard_normal((2, 1, 3, 3)) * 0.5,
        "bc": rng.standard_normal(2),
        "s": rng.uniform(0.5, 1.5, 2),
        "bb": rng.standard_normal(2),
        "m": rng.standard_normal(2) * 0.1,
        "v": rng.uniform(0.5, 1.5, 2),
        "wf": rng.standard_normal((3, 8)),
    }
    nodes = [
        Node("Conv", ["x", "wc", "bc"], ["c"], {"pads": [1, 1, 1, 1]}, name="conv"),
        Node("BatchNormalization", ["c", "s", "bb", "m", "v"], ["n"], name="bn"),
        Node("Tanh", ["n"], ["t"], name="tanh"),
        Node("Mul", ["t", "t"], ["tt"], name="square"),  # one value read twice by one node
        Node("Add", ["tt", "n"], ["r"], name="residual"),  # n read by two nodes
        Node("MaxPool", ["r"], ["p"], {"kernel_shape": [2, 2], "strides": [2, 2]}, name="pool"),
        Node("Flatten", ["p"], ["f"], name="flat"),
        Node("Gemm", ["f", "wf"], ["z"], {"transB": 1}, name="fc"),
        Node("ReduceSum", ["z"], ["loss"], {"keepdims": 0}, name="sum"),
    ]
    x = rng.standard_normal((2, 1, 4, 4))
    _check(_graph(nodes, {"x": x}, weights), {"x": x})


def test_an_unused_split_part_gets_a_zero_cotangent_and_dropout_names_its_mask():
    rng = np.random.default_rng(2)
    weights = {"w": rng.standard_normal((2, 6))}
    nodes = [
        Node("Mul", ["x", "w"], ["h"], name="mul"),
        Node("Split", ["h"], ["a", "b"], {"axis": 1, "num_outputs": 2}, name="split"),
        Node("Dropout", ["a", "ratio", "training"], ["d"], {"seed": 3}, name="drop"),
        Node("ReduceSum", ["d"], ["loss"], {"keepdims": 0}, name="sum"),
    ]
    graph = _graph(nodes, {"x": np.ones((2, 6))}, weights)
    graph.initializers.update({"ratio": np.array(0.5), "training": np.array(True)})
    got = _check(graph, {"x": rng.standard_normal((2, 6))}, trainable=["w"])
    assert (got["w"][:, 3:] == 0).all()


def test_every_op_without_a_gradient_is_listed_in_one_error():
    nodes = [
        Node("Mul", ["x", "w"], ["h"], name="mul"),
        Node("Erf", ["h"], ["e"], name="erf"),
        Node("Cos", ["e"], ["c"], name="cos"),
        Node("ReduceSum", ["c"], ["loss"], name="sum"),
    ]
    graph = _graph(nodes, {"x": np.ones(3)}, {"w": np.ones(3)})
    with pytest.raises(GradientNotDefinedError, match=r"Cos \(cos\); Erf \(erf\)") as err:
        build_backward(graph, "loss")
    assert [i["op_type"] for i in err.value.unsupported] == ["Cos", "Erf"]


def test_ops_before_the_trainable_weights_need_no_gradient():
    nodes = [
        Node("Erf", ["x"], ["e"], name="erf"),  # frozen feature extractor
        Node("Mul", ["e", "w"], ["h"], name="mul"),
        Node("ReduceSum", ["h"], ["loss"], {"keepdims": 0}, name="sum"),
    ]
    x = np.linspace(-1, 1, 3)
    _check(_graph(nodes, {"x": x}, {"w": np.ones(3)}), {"x": x})


def test_trainable_names_by_pattern_with_frozen_patterns():
    graph = _graph([], {}, {"backbone.w": np.ones(1), "head.w": np.ones(1), "idx": np.ones(1, int)})
    assert trainable_names(graph) == ["backbone.w", "head.w"]
    assert trainable_names(graph, frozen=["backbone.*"]) == ["head.w"]
