"""Graph-level cases: what only shows when a backend claims part of a graph.

- `chain`: Conv -> Relu -> Add -> Sigmoid -> Mul -> Softmax; a backend claiming some of these ops
  creates partition boundaries inside the chain (and again after a reference node).
- `shared_input`: one tensor consumed by two branches (two partitions, or a partition and the
  reference), joined again.
- `intermediate_output`: graph outputs that are also read by later nodes.
- `diamond_constant`: an initializer read by nodes on both sides of a boundary.
A graph counts as claimed when at least one of its nodes runs on the backend.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from ..refimpl.dtypes import name_of
from ..refimpl.ir import Graph, Node, Value
from .runner import NOT_CLAIMED, PASS, CellResult, run_graph
from .tolerances import Tolerance, tolerance

Builder = Callable[[np.random.Generator], tuple[Graph, dict[str, np.ndarray]]]


def _graph(nodes: list[Node], inputs: list[str], outputs: list[str], feeds: dict, inits=None):
    values = [Value(n, name_of(feeds[n].dtype), tuple(feeds[n].shape)) for n in inputs]
    graph = Graph(
        nodes, values, [Value(o) for o in outputs], dict(inits or {}), "conformance_graph"
    )
    return graph, feeds


def chain(rng: np.random.Generator) -> tuple[Graph, dict[str, np.ndarray]]:
    x = rng.uniform(-2, 2, (1, 2, 5, 5)).astype(np.float32)
    w = rng.uniform(-1, 1, (3, 2, 3, 3)).astype(np.float32)
    bias = rng.uniform(-1, 1, (1, 3, 1, 1)).astype(np.float32)
    nodes = [
        Node("Conv", ["x", "w"], ["c"], {"pads": [1, 1, 1, 1]}, name="conv"),
        Node("Relu", ["c"], ["r"], name="relu"),
        Node("Add", ["r", "bias"], ["a"], name="add"),
        Node("Sigmoid", ["a"], ["s"], name="sigmoid"),
        Node("Mul", ["s", "r"], ["m"], name="mul"),
        Node("Softmax", ["m"], ["y"], {"axis": 1}, name="softmax"),
    ]
    return _graph(nodes, ["x"], ["y"], {"x": x}, {"w": w, "bias": bias})


def shared_input(rng: np.random.Generator) -> tuple[Graph, dict[str, np.ndarray]]:
    x = rng.uniform(-3, 3, (2, 3, 4)).astype(np.float32)
    nodes = [
        Node("Relu", ["x"], ["t"], name="relu"),
        Node("Sigmoid", ["t"], ["left"], name="sigmoid"),
        Node("Tanh", ["t"], ["right"], name="tanh"),
        Node("Exp", ["x"], ["e"], name="exp"),
        Node("Add", ["left", "right"], ["sum"], name="add"),
        Node("Mul", ["sum", "e"], ["y"], name="mul"),
    ]
    return _graph(nodes, ["x"], ["y", "left"], {"x": x})


def intermediate_output(rng: np.random.Generator) -> tuple[Graph, dict[str, np.ndarray]]:
    a = rng.uniform(-2, 2, (4, 6)).astype(np.float32)
    b = rng.uniform(-2, 2, (6, 3)).astype(np.float32)
    nodes = [
        Node("MatMul", ["a", "b"], ["mm"], name="matmul"),
        Node("Relu", ["mm"], ["act"], name="relu"),
        Node("ReduceSum", ["act"], ["total"], {"keepdims": 0}, name="reduce"),
        Node("Neg", ["act"], ["neg"], name="neg"),
    ]
    return _graph(nodes, ["a", "b"], ["mm", "act", "total", "neg"], {"a": a, "b": b})


def diamond_constant(rng: np.random.Generator) -> tuple[Graph, dict[str, np.ndarray]]:
    x = rng.uniform(-2, 2, (3, 4)).astype(np.float32)
    k = rng.uniform(0.5, 2, (4,)).astype(np.float32)
    nodes = [
        Node("Mul", ["x", "k"], ["p"], name="mul"),
        Node("Relu", ["p"], ["r"], name="relu"),
        Node("Add", ["r", "k"], ["q"], name="add"),
        Node("Abs", ["q"], ["y"], name="abs"),
    ]
    return _graph(nodes, ["x"], ["y", "p"], {"x": x}, {"k": k})


def mlp(rng: np.random.Generator) -> tuple[Graph, dict[str, np.ndarray]]:
    """Two linear layers (MatMul + Add with constant weights) around a Relu: the pattern subgraph
    backends fuse, with the activation possibly left to another backend."""
    x = rng.uniform(-1, 1, (4, 8)).astype(np.float32)
    w1 = rng.uniform(-1, 1, (8, 16)).astype(np.float32)
    b1 = rng.uniform(-1, 1, (16,)).astype(np.float32)
    w2 = rng.uniform(-1, 1, (16, 3)).astype(np.float32)
    b2 = rng.uniform(-1, 1, (3,)).astype(np.float32)
    nodes = [
        Node("MatMul", ["x", "w1"], ["h"], name="matmul1"),
        Node("Add", ["h", "b1"], ["hb"], name="add1"),
        Node("Relu", ["hb"], ["r"], name="relu"),
        Node("MatMul", ["r", "w2"], ["o"], name="matmul2"),
        Node("Add", ["o", "b2"], ["y"], name="add2"),
    ]
    inits = {"w1": w1, "b1": b1, "w2": w2, "b2": b2}
    return _graph(nodes, ["x"], ["y", "hb"], {"x": x}, inits)


GRAPH_CASES: dict[str, Builder] = {
    "chain": chain,
    "shared_input": shared_input,
    "intermediate_output": intermediate_output,
    "diamond_constant": diamond_constant,
    "mlp": mlp,
}


def run_graph_cases(
    backend: str, seeds: tuple[int, ...] = (0, 1, 2), names: tuple[str, ...] | None = None
) -> list[CellResult]:
    """One cell per graph case (dtype float32), each run with a few seeded inputs."""
    cells = []
    for name, build in GRAPH_CASES.items():
        if names is not None and name not in names:
            continue
        cell = CellResult(f"graph:{name}", "graph", "", "float32", backend, PASS)
        start = time.perf_counter()
        for seed in seeds:
            graph, feeds = build(np.random.default_rng(seed))

            def tol_of(dtype: str, name: str = name) -> Tolerance:
                return tolerance(dtype or "float32", "matmul", 64, backend, f"graph:{name}")

            result = run_graph(graph, feeds, backend, tol_of, f"graph {name} on {backend}")
            cell.examples += 1
            if result.status == NOT_CLAIMED:
                continue
            cell.claimed += 1
            if result.status != PASS:
                cell.status, cell.message, cell.repro = result.status, result.message, result.repro
                break
        if cell.claimed == 0:
            cell.status = NOT_CLAIMED
        cell.seconds = time.perf_counter() - start
        cells.append(cell)
    return cells
