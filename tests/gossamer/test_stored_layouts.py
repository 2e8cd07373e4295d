"""`gossamer convert --pack cython` stores the session's planned layout in the .gsm; a load with
the same backends on the same machine uses it instead of planning, any other load plans."""

from __future__ import annotations

import json

import numpy as np
import pytest
from gossamer.refimpl import model_format as mf
from gossamer.refimpl.ir import Graph, Node, Value
from gossamer.refimpl.model_format import layouts

import gossamer
from gossamer import layout_planning
from gossamer.cli import main
from gossamer.session import prepared_for_running, read_model
from gossamer.stored_layouts import layout_key

native = pytest.importorskip("gossamer.cython_kernels._native")
if native.IMPORT_ERROR:  # pragma: no cover - only where the extension could not be built
    pytest.skip(native.IMPORT_ERROR, allow_module_level=True)

RNG = np.random.default_rng(3)


def _w(*shape: int) -> np.ndarray:
    return (RNG.standard_normal(shape) * 0.3).astype(np.float32)


def mobile_chain() -> Graph:
    """stem 3x3 s2 -> (depthwise 3x3 -> 1x1) x 2 -> global pool: a chain the pass blocks."""

    def conv(x: str, w: str, y: str, **attrs: object) -> Node:
        return Node("Conv", [x, w], [y], {"pads": [1, 1, 1, 1], **attrs}, name=y)

    return Graph(
        nodes=[
            conv("x", "w0", "a", kernel_shape=[3, 3], strides=[2, 2]),
            Node("Relu", ["a"], ["a1"], name="r0"),
            conv("a1", "d1", "b", kernel_shape=[3, 3], group=16),
            Node("Conv", ["b", "p1"], ["c"], {"kernel_shape": [1, 1]}, name="c"),
            Node("Relu", ["c"], ["c1"], name="r1"),
            conv("c1", "d2", "e", kernel_shape=[3, 3], group=16),
            Node("Conv", ["e", "p2"], ["f"], {"kernel_shape": [1, 1]}, name="f"),
            Node("GlobalAveragePool", ["f"], ["y"], name="gap"),
        ],
        inputs=[Value("x", "float32", (1, 3, 32, 32))],
        outputs=[Value("y", "float32", None)],
        initializers={
            "w0": _w(16, 3, 3, 3),
            "d1": _w(16, 1, 3, 3),
            "p1": _w(16, 16, 1, 1),
            "d2": _w(16, 1, 3, 3),
            "p2": _w(16, 16, 1, 1),
        },  # fmt: skip
    )


FEEDS = {"x": RNG.random((1, 3, 32, 32), dtype=np.float32)}


@pytest.fixture(autouse=True)
def default_cython(monkeypatch):  # noqa: ANN001, ANN201
    """The default selection includes the cython backend (the suite's is the reference alone)."""
    monkeypatch.setenv("GOSSAMER_BACKENDS", "cython")


@pytest.fixture
def packed(tmp_path, capsys):  # noqa: ANN001, ANN201
    source = tmp_path / "in.gsm"
    mf.save_gsm(mobile_chain(), source)
    out = tmp_path / "packed.gsm"
    assert main(["convert", str(source), "-o", str(out), "--pack", "cython"]) == 0
    assert "and the session's layout" in capsys.readouterr().out
    return out


def _document(path) -> dict:  # noqa: ANN001
    data = path.read_bytes()
    header = mf.HEADER.unpack(data[: mf.HEADER.size])
    return json.loads(data[header[4] : header[4] + header[5]])


def test_convert_pack_stores_the_layout_a_default_load_plans(packed) -> None:  # noqa: ANN001
    (entry,) = _document(packed)["layouts"]
    graph = read_model(packed)
    assert entry["key"] == layout_key(graph, None)
    planned = layout_planning.plan_for_backends(graph, None)
    assert planned is not graph  # (the chain is blocked)
    assert [(n.op_type, n.inputs, n.outputs) for n in planned.nodes] == [
        (n["op_type"], n["inputs"], n["outputs"]) for n in entry["graph"]["nodes"]
    ]


def test_a_load_uses_the_stored_layout_without_planning(packed, monkeypatch) -> None:  # noqa: ANN001
    planned = read_model(packed)
    want = gossamer.Session(layout_planning.plan_for_backends(planned, None), threads=1)

    def no_planning(*args: object) -> Graph:
        raise AssertionError("planned at load")

    monkeypatch.setattr(layout_planning, "plan_for_backends", no_planning)
    session = gossamer.load(packed, threads=1)
    assert layout_planning.LAYOUT_KEY in session.graph.metadata
    assert [n.op_type for n in session.graph.nodes] == [n.op_type for n in want.graph.nodes]
    for _ in range(3):  # node by node, recording, segments: the same bytes as a planned load
        assert session.run(None, FEEDS)[0].tobytes() == want.run(None, FEEDS)[0].tobytes()


@pytest.mark.parametrize(
    ("env", "backends"),
    [
        ({"GOSSAMER_BLOCKED_WIDE": "0"}, None),  # a narrow plan (the AVX2 kernels' choice)
        ({"GOSSAMER_BLOCKED_LAYOUT": "0"}, None),  # the pass switched off
        ({}, []),  # the reference alone: nothing planned
    ],
)
def test_another_session_plans_instead(packed, monkeypatch, env, backends) -> None:  # noqa: ANN001
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    graph = read_model(packed)
    assert layouts.any_layout(graph)
    want = layout_planning.plan_for_backends(graph, backends)
    plan, calls = layout_planning.plan_for_backends, []
    monkeypatch.setattr(layout_planning, "plan_for_backends",
                        lambda *args: calls.append(args) or plan(*args))  # fmt: skip
    got = prepared_for_running(graph, 3, backends)
    assert len(calls) == 1  # planned at load, the stored layout left alone
    assert [n.op_type for n in got.nodes] == [n.op_type for n in want.nodes]


def test_a_stored_layout_is_not_used_below_o3(packed) -> None:  # noqa: ANN001
    graph = read_model(packed)
    assert prepared_for_running(graph, 2) is graph


def test_no_key_for_a_graph_this_optimiser_did_not_optimise() -> None:
    graph = mobile_chain()
    assert layout_key(graph, None) is None
    assert prepared_for_running(graph, 3) is not graph  # optimised and planned at load


def test_a_loaded_graph_given_new_weights_runs_them(packed) -> None:  # noqa: ANN001
    before = gossamer.load(packed, threads=1).run(None, FEEDS)[0]
    graph = read_model(packed)
    name = next(iter(graph.initializers))
    graph.initializers[name] = np.asarray(graph.initializers[name]) * np.float32(2)
    edited = gossamer.load(graph, threads=1)  # (the stored layout holds the old weights)
    want = gossamer.Session(layout_planning.plan_for_backends(graph, None), threads=1)
    got = edited.run(None, FEEDS)[0]
    assert got.tobytes() == want.run(None, FEEDS)[0].tobytes()
    assert got.tobytes() != before.tobytes()


def test_the_blocked_convs_weights_are_stored_and_reused(packed) -> None:  # noqa: ANN001
    from gossamer.plugins import prepacked

    document = _document(packed)
    blocked = [n for n in document["layouts"][0]["graph"]["nodes"] if n["op_type"] == "NchwcConv"]
    assert blocked  # (the chain's convs run blocked)
    kinds = [e["key"].split("/")[1] for e in document["prepacked"]]
    assert kinds.count("nchwc.conv") == len(blocked)
    before = dict(prepacked.stats)
    session = gossamer.load(packed, threads=1)
    got = session.run(None, FEEDS)[0]
    assert prepacked.stats["packed"] == before.get("packed", 0)  # nothing packed at load
    assert prepacked.stats["reused"] - before.get("reused", 0) == len(kinds)
    want = gossamer.Session(layout_planning.plan_for_backends(read_model(packed), None), threads=1)
    assert got.tobytes() == want.run(None, FEEDS)[0].tobytes()


def test_a_bf16_layout_is_keyed_by_the_amx_tiles_in_use(packed) -> None:  # noqa: ANN001
    """cython-bf16 blocks its 1x1s only where the AMX tiles run them (bf16_conv.keep_nchw): a
    layout stored with the tiles in use is not the one a load without them plans."""
    from gossamer.cython_kernels._native import ext
    from gossamer.cython_kernels.bf16_mode import select_bf16_impl

    if select_bf16_impl() != "native" or not ext().bf16_amx():
        pytest.skip("needs cython-bf16 on the AMX tiles")
    graph = read_model(packed)
    backends = ["cython-bf16", "cython"]
    with_tiles = layout_key(graph, backends)
    before = ext().bf16_amx_enabled()
    ext().bf16_set_amx(False)
    try:
        without_tiles = layout_key(graph, backends)
    finally:
        ext().bf16_set_amx(before)
    assert with_tiles is not None and without_tiles is not None
    assert with_tiles != without_tiles
    assert layout_key(graph, backends) == with_tiles
