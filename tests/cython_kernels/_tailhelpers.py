"""One-node IR graphs run on the cython backend and on the reference (the tail-kernel tests)."""

from __future__ import annotations

from typing import Any

import numpy as np
from gossamer.refimpl.ir import Graph, Node, Value

import gossamer


def one_node_graph(
    op: str,
    feeds: dict[str, np.ndarray],
    inits: dict[str, np.ndarray] | None = None,
    inputs: list[str] | None = None,
    opset: int = 18,
    symbolic: bool = False,
    **attrs: Any,
) -> Graph:
    """A graph of one `op` node (named "n") reading `inputs` (default: feeds then inits)."""
    inits = inits or {}
    names = inputs if inputs is not None else list(feeds) + list(inits)

    def shape(k: str, v: np.ndarray) -> tuple:
        return tuple(f"{k}{i}" for i in range(v.ndim)) if symbolic else v.shape

    return Graph(
        [Node(op, names, ["y"], name="n", attrs=attrs)],
        [Value(k, v.dtype.name, shape(k, v)) for k, v in feeds.items()],
        [Value("y", None, None)],
        initializers=dict(inits), name=op.lower(), opsets={"": opset},
    )  # fmt: skip


def run_both(graph: Graph, feeds: dict[str, np.ndarray], threads: int = 1) -> tuple:
    """(cython output, reference output, cython session), the graph as written (optimize=0)."""
    ours = gossamer.load(graph, backends=["cython"], threads=threads, optimize=0)
    ref = gossamer.load(graph, backends=[], optimize=0)
    return ours.run(None, feeds)[0], ref.run(None, feeds)[0], ours


def assert_same(got: np.ndarray, want: np.ndarray) -> None:
    """Equal bit for bit (NaN payloads aside), dtype and shape included."""
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)
