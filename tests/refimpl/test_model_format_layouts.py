"""Stored layouts in .gsm (minor 4): filed per graph object and key, written, read back unbuilt and
built on the first `find`, and a typed error for every hostile entry."""

from __future__ import annotations

import gc
import json

import numpy as np
import pytest
from gossamer.refimpl import model_format as mf
from gossamer.refimpl.errors import ModelFormatError
from gossamer.refimpl.ir import Graph, Node, Value
from gossamer.refimpl.model_format import layouts

KEY = "layout/test;backends=cython,reference;wide=1"


def relu_graph(w: np.ndarray | None = None) -> Graph:
    w = np.arange(6, dtype=np.float32).reshape(2, 3) if w is None else w
    return Graph(
        nodes=[Node("MatMul", ["x", "w"], ["m"], name="mm"), Node("Relu", ["m"], ["y"], name="r")],
        inputs=[Value("x", "float32", (4, 2))],
        outputs=[Value("y", "float32", (4, 3))],
        initializers={"w": w},
    )


def planned_of(graph: Graph) -> Graph:
    """A stand-in for a planned layout: other nodes, the same weight plus a new one."""
    return Graph(
        nodes=[
            Node("MatMul", ["x", "w"], ["m"], name="mm"),
            Node("Add", ["m", "b"], ["a"], name="add"),
            Node("Relu", ["a"], ["y"], name="r"),
        ],
        inputs=list(graph.inputs),
        outputs=list(graph.outputs),
        initializers={"w": graph.initializers["w"], "b": np.zeros(3, np.float32)},
        metadata={"gossamer.layout": "{}"},
    )


def split_file(data: bytes) -> tuple[dict, bytes]:
    header = mf.HEADER.unpack(data[: mf.HEADER.size])
    g_off, g_len, d_off, d_len = header[4:8]
    return json.loads(data[g_off : g_off + g_len]), data[d_off : d_off + d_len]


def with_layout(planned: bool = True) -> bytes:
    graph = relu_graph()
    layouts.attach(graph, KEY, planned_of(graph) if planned else None)
    return mf.dump_gsm(graph)


def test_a_layout_round_trips_and_is_built_on_first_find() -> None:
    data = with_layout()
    document, _ = split_file(data)
    (entry,) = document["layouts"]
    assert entry["key"] == KEY and [n["op_type"] for n in entry["graph"]["nodes"]] == [
        "MatMul", "Add", "Relu"
    ]  # fmt: skip
    assert len(document["tensors"]) == 2  # the shared weight is stored once
    graph = mf.load_gsm(data)
    assert [n.op_type for n in graph.nodes] == ["MatMul", "Relu"]  # the main graph as written
    assert layouts.any_layout(graph)
    built = layouts.find(graph, KEY)
    assert isinstance(built, Graph) and [n.op_type for n in built.nodes] == [
        "MatMul",
        "Add",
        "Relu",
    ]
    assert built.initializers["w"] is graph.initializers["w"]  # one view of the file's tensor
    assert layouts.find(graph, KEY) is built  # built once
    assert layouts.find(graph, KEY + "x") is layouts.MISSING  # keys match exactly


def test_planning_that_changes_nothing_is_stored_as_null() -> None:
    data = with_layout(planned=False)
    assert split_file(data)[0]["layouts"] == [{"key": KEY, "graph": None}]
    assert layouts.find(mf.load_gsm(data), KEY) is None


def test_layouts_belong_to_the_graph_object() -> None:
    graph = relu_graph()
    layouts.attach(graph, KEY, None)
    copy = Graph(graph.nodes, graph.inputs, graph.outputs, dict(graph.initializers))
    assert layouts.find(copy, KEY) is layouts.MISSING and not layouts.any_layout(copy)
    assert "layouts" not in split_file(mf.dump_gsm(copy))[0]  # a file without any: as before
    ident = id(graph)
    del graph
    gc.collect()
    assert ident not in layouts._LAYOUTS


def test_a_layout_survives_a_second_save() -> None:
    again = mf.dump_gsm(mf.load_gsm(with_layout()))
    built = layouts.find(mf.load_gsm(again), KEY)
    assert isinstance(built, Graph) and len(built.nodes) == 3


def _rewritten(mutate) -> bytes:  # noqa: ANN001
    document, data = split_file(with_layout())
    mutate(document)
    return mf.pack_gsm(document, data)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(layouts={}), "layouts must be a list"),
        (lambda d: d["layouts"].append(3), r"layouts\[1\] must be an object"),
        (lambda d: d["layouts"][0].pop("key"), "lacks the required key 'key'"),
        (lambda d: d["layouts"][0].update(key=""), "not 1..512"),
        (lambda d: d["layouts"][0].update(key="k" * 513), "not 1..512"),
        (lambda d: d["layouts"].append(dict(d["layouts"][0])), "repeats key"),
        (lambda d: d["layouts"][0].pop("graph"), "lacks the required key 'graph'"),
        (lambda d: d["layouts"][0].update(graph=[]), "graph must be an object"),
    ],
)
def test_a_hostile_entry_is_refused_at_load(mutate, message) -> None:  # noqa: ANN001
    with pytest.raises(ModelFormatError, match=message):
        mf.load_gsm(_rewritten(mutate))


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["layouts"][0]["graph"]["nodes"][0].update(inputs=[3]), "must be a string"),
        (lambda d: d["layouts"][0]["graph"]["initializers"][0].update(tensor=99), "refers to"),
        (lambda d: d["layouts"][0]["graph"]["nodes"].pop(1), "invalid graph"),  # 'a' unproduced
    ],
)
def test_a_broken_layout_graph_is_refused_when_built(mutate, message) -> None:  # noqa: ANN001
    graph = mf.load_gsm(_rewritten(mutate))  # the main graph is fine
    with pytest.raises(ModelFormatError, match=message):
        layouts.find(graph, KEY)


@pytest.mark.parametrize(
    "edit",
    [
        lambda g: g.initializers.update(w=np.ones((2, 3), np.float32)),  # new weights
        lambda g: g.inputs.__setitem__(0, Value("x", "float32", ("N", 2))),  # a new declaration
        lambda g: g.nodes.__setitem__(1, Node("Relu", ["m"], ["y"], name="r")),  # a new node
    ],
)
def test_a_graph_edited_in_place_finds_no_layout(edit) -> None:  # noqa: ANN001
    graph = mf.load_gsm(with_layout())
    assert isinstance(layouts.find(graph, KEY), Graph)
    edit(graph)
    assert layouts.find(graph, KEY) is layouts.MISSING and not layouts.any_layout(graph)
    assert layouts.layouts(graph) == {}  # nor written again
