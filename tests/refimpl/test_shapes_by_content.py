"""infer_shapes inside shapes_by_content: an unchanged graph reuses its inference, any edit that
can change a shape (a node's input, attribute or op, an initializer replaced, a graph input's
shape) infers again."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.refimpl.ir import Graph, Node, Value
from gossamer.refimpl.shape_inference import core, infer_shapes, shapes_by_content


def _graph() -> Graph:
    """x [N, 6] -> Reshape(x, [-1, 3]) -> Transpose -> y"""
    return Graph(
        nodes=[
            Node("Reshape", ["x", "shape"], ["r"], name="reshape"),
            Node("Transpose", ["r"], ["y"], {"perm": [1, 0]}, name="transpose"),
        ],
        inputs=[Value("x", "float32", ("N", 6))],
        outputs=[Value("y")],
        initializers={"shape": np.array([-1, 3], np.int64)},
    )


@pytest.fixture
def counted(monkeypatch):
    calls = []
    real = core.infer_graph

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(core, "infer_graph", counting)
    return calls


def _edit_reshape_target(g: Graph) -> None:
    g.initializers["shape"] = np.array([-1, 2], np.int64)  # replaced, as the passes do


def _edit_reshape_target_in_place(g: Graph) -> None:
    g.initializers["shape"][1] = 2  # small arrays are keyed by value: even this is seen


def _edit_perm(g: Graph) -> None:
    g.nodes[1].attrs["perm"] = [0, 1]


def _edit_input_shape(g: Graph) -> None:
    g.inputs[0] = Value("x", "float32", ("N", 12))


def _edit_op(g: Graph) -> None:
    g.nodes[1] = Node("Identity", ["r"], ["y"], name="transpose")


def _edit_wiring(g: Graph) -> None:
    g.nodes[1].inputs[0] = "x"


def test_an_unchanged_graph_is_inferred_once(counted):
    g = _graph()
    with shapes_by_content():
        first = infer_shapes(g)
        again = infer_shapes(g)
    assert first == again and first["y"].shape == (3, "N*2")
    assert len(counted) == 1
    infer_shapes(g)  # outside the block: inferred every time
    assert len(counted) == 2


@pytest.mark.parametrize(
    "edit,y",
    [
        (_edit_reshape_target, (2, "N*3")),
        (_edit_reshape_target_in_place, (2, "N*3")),
        (_edit_perm, ("N*2", 3)),
        (_edit_input_shape, (3, "N*4")),
        (_edit_op, ("N*2", 3)),
        (_edit_wiring, (6, "N")),
    ],
)
def test_an_edit_that_can_change_a_shape_infers_again(counted, edit, y):
    g = _graph()
    with shapes_by_content():
        assert infer_shapes(g)["y"].shape == (3, "N*2")
        edit(g)
        assert infer_shapes(g)["y"].shape == y
    assert len(counted) == 2
    assert infer_shapes(g)["y"].shape == y  # the same as inferring it afresh


def test_the_memo_keeps_a_few_graphs_and_ends_with_its_block(counted):
    graphs = [_graph() for _ in range(core.CONTENT_MEMO_SIZE + 1)]
    for i, g in enumerate(graphs):
        g.inputs[0] = Value("x", "float32", (f"N{i}", 6))
    with shapes_by_content():
        for g in graphs:
            infer_shapes(g)
        infer_shapes(graphs[-1])  # still held
        assert len(counted) == len(graphs)
        infer_shapes(graphs[0])  # the oldest went when the last came
        assert len(counted) == len(graphs) + 1
    assert core._memo.by_content is None
