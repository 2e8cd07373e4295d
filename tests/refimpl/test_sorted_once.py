"""The graph's topological order is computed once per load and reused: `Graph.validate` returns
it, shape inference and the Program take it, and a Session's run at a new input shape (its size
checks and its arena plan) sorts nothing again."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.refimpl.ir import Graph, Node, Value
from gossamer.refimpl.memory_plan import plan_memory, with_input_shapes
from gossamer.refimpl.shape_inference import infer_shapes

from gossamer.session import Session


def _graph() -> Graph:
    """y = Relu(x + k) * x, its nodes listed out of order (the sort has work to do)."""
    nodes = [
        Node("Mul", ["r", "x"], ["y"], name="mul"),
        Node("Relu", ["s"], ["r"], name="relu"),
        Node("Add", ["x", "k"], ["s"], name="add"),
    ]
    return Graph(nodes, [Value("x", "float32", ("N", 8))], [Value("y", "float32", ("N", 8))],
                 initializers={"k": np.full(8, 0.25, np.float32)}, name="sorted_once",
                 opsets={"": 17})  # fmt: skip


@pytest.fixture
def sorts(monkeypatch):
    """Counts Graph.topological_nodes calls on top-level graphs named like _graph's."""
    calls: list[str] = []
    real = Graph.topological_nodes

    def counting(self, outer=None):
        if self.name == "sorted_once":
            calls.append(self.name)
        return real(self, outer)

    monkeypatch.setattr(Graph, "topological_nodes", counting)
    return calls


def test_validate_returns_the_topological_order():
    graph = _graph()
    order = graph.validate()
    assert [n.name for n in order] == ["add", "relu", "mul"]
    assert order == graph.topological_nodes()


def test_inference_and_the_plan_take_the_order_instead_of_sorting(sorts):
    graph = _graph()
    order = graph.topological_nodes()
    fixed = with_input_shapes(graph, {"x": (3, 8)})
    sorted_here = infer_shapes(fixed)
    assert len(sorts) == 2  # (the one above, and inference's own)
    given = infer_shapes(fixed, order)
    assert len(sorts) == 2 and given == sorted_here
    assert given["y"].shape == (3, 8)
    plan = plan_memory(graph, {"x": (3, 8)}, order=order)
    assert len(sorts) == 2  # neither the plan nor its inference sorted
    assert repr(plan) == repr(plan_memory(graph, {"x": (3, 8)}))


def test_a_run_at_a_new_input_shape_sorts_nothing(sorts):
    graph = _graph()
    session = Session(graph, threads=1)
    assert session._sized.order == session._program.nodes
    sorts.clear()
    rng = np.random.default_rng(0)
    for n in (3, 5, 3):
        x = rng.standard_normal((n, 8)).astype(np.float32)
        (y,) = session.run(None, {"x": x})
        np.testing.assert_array_equal(y, np.maximum(x + np.float32(0.25), 0) * x)
    assert sorts == []
