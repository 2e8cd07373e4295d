"""Shared pieces of the optimiser tests: build small ONNX graphs, run before/after, compare."""

from __future__ import annotations

from collections import Counter

import numpy as np
from gossamer.converter.onnx_import import graph_from_onnx
from gossamer.converter.optimizer import optimize
from gossamer.refimpl.ir import Graph
from onnx import helper, numpy_helper

import gossamer
from tests.conftest import make_model, tensor_info

F32 = np.float32


def graph_of(nodes, inputs, outputs, inits=None, opset=17) -> Graph:
    """A Gossamer graph from onnx.helper nodes; inputs/outputs are (name, shape) pairs (float32)."""
    tensors = [numpy_helper.from_array(np.asarray(v), k) for k, v in (inits or {}).items()]
    model = make_model(
        nodes,
        [tensor_info(n, np.float32, s) for n, s in inputs],
        [tensor_info(n, np.float32, s) for n, s in outputs],
        tensors,
        opset=opset,
    )
    return graph_from_onnx(model)


def node(op, inputs, outputs, **attrs):
    return helper.make_node(op, inputs, outputs, name=f"{op}_{outputs[0]}", **attrs)


def ops(graph: Graph) -> Counter:
    return Counter(
        (f"{n.domain}::" if n.domain not in ("", "ai.onnx") else "") + n.op_type
        for n in graph.nodes
    )


def feeds_for(graph: Graph, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    init = set(graph.initializers)
    return {
        v.name: rng.standard_normal([d if isinstance(d, int) else 1 for d in v.shape]).astype(F32)
        for v in graph.inputs
        if v.name not in init
    }


def run(graph: Graph, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    """The graph's outputs as written (optimize=0: the load's own optimiser would run the passes
    under test on the "before" side too)."""
    return gossamer.load(graph, optimize=0).run(None, feeds)


def assert_same_outputs(before: list, after: list, rtol: float = 1e-4) -> None:
    assert len(before) == len(after)
    for b, a in zip(before, after):
        assert a.shape == b.shape and a.dtype == b.dtype
        if b.dtype.kind in "fc":
            scale = float(np.max(np.abs(b))) if b.size else 0.0
            np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * (scale + 1e-6))
        else:
            np.testing.assert_array_equal(a, b)


def optimized_matches(graph: Graph, passes: list[str], rtol: float = 1e-4) -> Graph:
    """Runs `passes` on graph, checks the outputs on seeded feeds agree, returns the result."""
    feeds = feeds_for(graph)
    out, _ = optimize(graph, passes=passes)
    assert_same_outputs(run(graph, feeds), run(out, feeds), rtol)
    return out
