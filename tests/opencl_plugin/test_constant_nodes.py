"""Constant subexpressions computed once at compile time (constant_nodes.py) and the regions the
backend claims (regions.py): an LSTM whose weights are Slices + Concat of one packed constant (as
in silero's OpenVINO export) runs on the device in one partition with its producers; branches
from separate inputs that meet merge into one partition; a non-convex merge is refused."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.opencl_plugin.constant_nodes import fold
from gossamer.refimpl.ir import Graph, Node, Value

import gossamer

from .conftest import check_against_reference
from .test_kernels import rand

pytestmark = pytest.mark.usefixtures("device")
I64 = np.int64


def packed_lstm_graph(hidden: int = 8, inputs: int = 5) -> Graph:
    """X -> LSTM whose W and R are Slices of one packed tensor, Unsqueezed (constant nodes)."""
    packed = rand(4 * hidden, inputs + hidden)
    init = {
        "packed": packed,
        "s0": np.array([0], I64),
        "si": np.array([inputs], I64),
        "send": np.array([inputs + hidden], I64),
        "ax1": np.array([1], I64),
        "ax0": np.array([0], I64),
        "b": rand(1, 8 * hidden),
    }
    nodes = [
        Node("Slice", ["packed", "s0", "si", "ax1"], ["w2"], name="slice_w"),
        Node("Slice", ["packed", "si", "send", "ax1"], ["r2"], name="slice_r"),
        Node("Unsqueeze", ["w2", "ax0"], ["w"], name="unsq_w"),
        Node("Unsqueeze", ["r2", "ax0"], ["r"], name="unsq_r"),
        Node("LSTM", ["x", "w", "r", "b"], ["y", "yh"], {"hidden_size": hidden}, name="lstm"),
        Node("Relu", ["yh"], ["out"], name="relu"),
    ]
    return Graph(
        nodes=nodes,
        inputs=[Value("x", "float32", (4, 2, inputs))],
        outputs=[Value("y"), Value("out")],
        initializers=init,
        opsets={"": 17},
    )


def test_an_lstm_with_computed_weights_runs_on_the_device_in_one_partition():
    graph = packed_lstm_graph()
    sess = check_against_reference(graph, {"x": rand(4, 2, 5)}, rtol=1e-5, atol=1e-6)
    assert len(sess.placement.partitions) == 1
    ((_, claim),) = sess.placement.partitions
    assert "4 constant node(s) computed once at compile time (Slice, Unsqueeze)" in claim.note
    part = next(o.impl for o in sess._program.overrides.values() if o.partition)  # noqa: SLF001
    assert [n.op_type for n in part.nodes] == ["LSTM", "Relu"]  # the constants are folded


def test_fold_skips_what_depends_on_an_input_and_nondeterministic_ops():
    graph = packed_lstm_graph()
    graph.nodes.insert(0, Node("RandomNormalLike", ["packed"], ["noise"], name="rnd"))
    folded = fold(graph.nodes, graph.initializers, graph.opsets)
    assert [n.name for n in folded.nodes] == ["slice_w", "slice_r", "unsq_w", "unsq_r"]
    np.testing.assert_array_equal(folded.values["w"][0], graph.initializers["packed"][:, :5])


def test_a_constant_returned_by_the_graph_comes_back_with_its_dtype():
    graph = Graph(
        nodes=[
            Node("Slice", ["c", "s0", "s1"], ["k"], name="slice"),
            Node("Add", ["x", "k"], ["y"], name="add"),
        ],
        inputs=[Value("x", "float32", (3,))],
        outputs=[Value("y"), Value("k")],
        initializers={
            "c": np.arange(5, dtype=np.float32),
            "s0": np.array([1], I64),
            "s1": np.array([4], I64),
        },
        opsets={"": 17},
    )
    sess = check_against_reference(graph, {"x": rand(3)})
    y, k = sess.run(None, {"x": np.zeros(3, np.float32)})
    np.testing.assert_array_equal(k, [1, 2, 3])
    assert k.dtype == np.float32


def test_branches_from_separate_inputs_merge_into_one_partition():
    nodes = [
        Node("Relu", ["a"], ["ra"], name="ra"),
        Node("Sigmoid", ["b"], ["sb"], name="sb"),
        Node("MatMul", ["ra", "sb"], ["y"], name="mm"),
    ]
    graph = Graph(
        nodes=nodes,
        inputs=[Value("a", "float32", (4, 8)), Value("b", "float32", (8, 3))],
        outputs=[Value("y")],
        opsets={"": 17},
    )
    sess = check_against_reference(graph, {"a": rand(4, 8), "b": rand(8, 3)})
    assert len(sess.placement.partitions) == 1


def test_regions_are_not_merged_across_a_node_the_backend_does_not_run():
    # a -> Relu -> (reference-only op) -> Add <- Relu(a): merging would leave and re-enter
    nodes = [
        Node("Relu", ["a"], ["r"], name="relu"),
        Node("Cos", ["r"], ["c"], name="cos"),  # no opencl kernel
        Node("Add", ["r", "c"], ["y"], name="add"),
    ]
    graph = Graph(
        nodes=nodes,
        inputs=[Value("a", "float32", (16,))],
        outputs=[Value("y")],
        opsets={"": 17},
    )
    sess = gossamer.load(graph, backends=["opencl"], optimize=0)
    assert sess.placement.backend_of["cos"] == "reference"
    assert sess.placement.backend_of["relu"] == sess.placement.backend_of["add"] == "opencl"
    assert len(sess.placement.partitions) == 2
    a = rand(16)
    want = gossamer.load(graph, backends=[], optimize=0).run(None, {"a": a})[0]
    np.testing.assert_allclose(sess.run(None, {"a": a})[0], want, rtol=1e-6)
