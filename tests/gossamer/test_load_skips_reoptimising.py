"""gossamer.load does not run the optimiser again on a graph (a .gsm) it already optimised at
>= the requested level; anything else is optimised as before, and every graph is validated."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.converter.optimizer import optimize, pipeline, record
from gossamer.refimpl.errors import GraphValidationError
from gossamer.refimpl.ir import Graph, Node, Value
from gossamer.refimpl.model_format import load_gsm, save_gsm

import gossamer
from tests.conftest import matmul_relu_graph

X = np.random.default_rng(1).standard_normal((2, 4)).astype(np.float32)


@pytest.fixture
def optimizer_calls(monkeypatch) -> list[int]:
    """The levels the optimiser is run at during the test (it still runs)."""
    calls: list[int] = []
    real = pipeline.optimize

    def counting(graph, level=3, **kw):
        calls.append(level)
        return real(graph, level, **kw)

    monkeypatch.setattr(pipeline, "optimize", counting)
    return calls


def expected() -> np.ndarray:
    return gossamer.load(matmul_relu_graph(), optimize=0).run(None, {"x": X})[0]


@pytest.mark.parametrize(("written", "requested"), [(3, 3), (3, 1), (2, 2), (2, 1)])
def test_a_gsm_optimised_at_or_above_the_level_is_not_optimised_again(
    tmp_path, optimizer_calls, written, requested
):
    graph, _ = optimize(matmul_relu_graph(), written)
    save_gsm(graph, tmp_path / "m.gsm")
    optimizer_calls.clear()
    session = gossamer.load(tmp_path / "m.gsm", optimize=requested)
    assert optimizer_calls == []
    np.testing.assert_allclose(session.run(None, {"x": X})[0], expected(), rtol=1e-6)


def test_a_gsm_optimised_below_the_level_is_optimised_at_it(tmp_path, optimizer_calls):
    graph, _ = optimize(matmul_relu_graph(), 1)
    save_gsm(graph, tmp_path / "m.gsm")
    optimizer_calls.clear()
    gossamer.load(tmp_path / "m.gsm", optimize=3)
    assert optimizer_calls == [3]


def test_an_older_gsm_without_the_record_is_optimised_as_before(tmp_path, optimizer_calls):
    graph, _ = optimize(matmul_relu_graph(), 3)
    del graph.metadata[record.KEY]  # what a file written before the record existed holds
    save_gsm(graph, tmp_path / "m.gsm")
    assert "gossamer.optimize" in load_gsm(tmp_path / "m.gsm").metadata
    optimizer_calls.clear()
    session = gossamer.load(tmp_path / "m.gsm")
    assert optimizer_calls == [3]
    np.testing.assert_allclose(session.run(None, {"x": X})[0], expected(), rtol=1e-6)


def test_an_unoptimised_model_is_optimised(optimizer_calls):
    gossamer.load(matmul_relu_graph())
    assert optimizer_calls == [3]


def test_a_graph_edited_after_optimisation_is_optimised_again(optimizer_calls):
    graph, _ = optimize(matmul_relu_graph(), 3)
    graph.nodes.append(Node("Relu", ["y"], ["y2"], {}, "again"))
    graph.outputs = [Value("y2", "float32", (2, 3))]
    optimizer_calls.clear()
    gossamer.load(graph)
    assert optimizer_calls == [3]


def test_a_forged_record_does_not_skip_validation():
    broken = matmul_relu_graph()
    broken.nodes[1].inputs = ["m", "nowhere"]  # an input no one produces
    broken.metadata[record.KEY] = record.record(broken, 3)  # "already optimised"
    assert record.optimized_level(broken) == 3
    with pytest.raises(GraphValidationError, match="nowhere"):
        gossamer.load(broken)


def test_stored_float16_weights_are_still_expanded_and_optimised(optimizer_calls):
    """A record does not stop the load-time expansion (and the passes after it)."""
    # big enough (8 KB) that constant folding keeps the compact weight and its Cast in the file
    w16 = (np.arange(64 * 64).reshape(64, 64) % 7 / 8).astype(np.float16)
    x = np.random.default_rng(2).standard_normal((2, 64)).astype(np.float32)
    graph = Graph(
        nodes=[
            Node("Cast", ["w16"], ["w"], {"to": 1}, "cast"),
            Node("MatMul", ["x", "w"], ["y"], {}, "mm"),
        ],
        inputs=[Value("x", "float32", (2, 64))],
        outputs=[Value("y", "float32", (2, 64))],
        initializers={"w16": w16},
        opsets={"": 17},
    )
    optimized, _ = optimize(graph, 3)
    assert record.optimized_level(optimized) == 3
    assert "Cast" in [n.op_type for n in optimized.nodes]
    optimizer_calls.clear()
    session = gossamer.load(optimized)
    assert optimizer_calls == [3]
    assert "Cast" not in [n.op_type for n in session.graph.nodes]
    np.testing.assert_allclose(
        session.run(None, {"x": x})[0], x @ w16.astype(np.float32), rtol=1e-5, atol=1e-5
    )
