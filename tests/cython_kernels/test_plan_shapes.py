"""Segments for graphs with symbolic input dims (refimpl/shape_arenas.py + segments.py): each input
shape gets its arena and its segments; results equal node by node bit for bit at every shape."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.cython_kernels import segments
from gossamer.refimpl.ir import Graph, Node, Value

import gossamer
from tests.conftest import MODELS_DIR


def _net() -> Graph:
    """x[N, 8, 6, 6] -> 3x3 Conv -> Relu -> 1x1 Conv (pack_b + gemm) -> Flatten -> Gemm -> y."""
    rng = np.random.default_rng(0)
    w1 = rng.standard_normal((8, 8, 3, 3)).astype(np.float32) * 0.2
    w2 = rng.standard_normal((4, 8, 1, 1)).astype(np.float32) * 0.2
    wg = rng.standard_normal((4 * 6 * 6, 5)).astype(np.float32) * 0.1
    bg = rng.standard_normal(5).astype(np.float32)
    nodes = [
        Node("Conv", ["x", "w1"], ["c1"], name="conv1", attrs={"pads": [1, 1, 1, 1]}),
        Node("Relu", ["c1"], ["r1"], name="relu1"),
        Node("Conv", ["r1", "w2"], ["c2"], name="conv2"),
        Node("Flatten", ["c2"], ["f"], name="flat"),
        Node("Gemm", ["f", "wg", "bg"], ["y"], name="gemm"),
    ]
    return Graph(nodes, [Value("x", "float32", ("N", 8, 6, 6))], [Value("y", "float32", ("N", 5))],
                 initializers={"w1": w1, "w2": w2, "wg": wg, "bg": bg}, name="symnet",
                 opsets={"": 17})  # fmt: skip


def _variant_segments(session: gossamer.Session, n: int) -> list:
    variant = session._program.shape_arenas.variants[((n, 8, 6, 6),)]
    return [seg for _, _, seg, _ in variant.schedule or () if seg is not None]


def test_each_input_shape_gets_its_segments_and_equals_node_by_node(monkeypatch):
    fast = gossamer.load(_net(), backends=["cython"], threads=1, optimize=0)
    assert set(fast.placement.backend_of.values()) == {"cython"}  # Gemm with a symbolic M too
    rng = np.random.default_rng(1)
    xs = [rng.standard_normal((n, 8, 6, 6)).astype(np.float32) for n in (1, 3, 1, 3, 1, 3, 2)]
    with monkeypatch.context() as m:
        m.setenv("GOSSAMER_SEGMENTS", "0")
        slow = gossamer.load(_net(), backends=["cython"], threads=1, optimize=0)
        want = [slow.run(None, {"x": x})[0] for x in xs]
    assert not any(v.schedule for v in slow._program.shape_arenas.variants.values())
    for x, b in zip(xs, want):
        (a,) = fast.run(None, {"x": x})
        assert a.tobytes() == b.tobytes()
    for n in (1, 3):
        (seg,) = _variant_segments(fast, n)
        assert (seg.start, seg.stop) == (0, 5)
        assert segments.split_reasons(fast._program.shape_arenas.variants[((n, 8, 6, 6),)]) == {}
    # run once: no arena yet (planned, and its segments recorded, on its second run)
    assert ((2, 8, 6, 6),) not in fast._program.shape_arenas.variants


@pytest.mark.parametrize(
    ("name", "shape"),
    [("mtcnn_pnet.onnx", (1, 48, 64, 3)), ("mtcnn_rnet.onnx", (2, 24, 24, 3)),
     ("mtcnn_onet.onnx", (1, 48, 48, 3))],
)  # fmt: skip
def test_mtcnn_runs_as_one_segment(name, shape, monkeypatch):
    path = MODELS_DIR / name
    if not path.exists():
        pytest.skip(f"{name} not in the model cache")
    x = np.random.default_rng(2).random(shape, dtype=np.float32)
    with monkeypatch.context() as m:
        m.setenv("GOSSAMER_SEGMENTS", "0")
        slow = gossamer.load(path, backends=["cython"], threads=1)
        want = [slow.run(None, {slow.inputs[0].name: x}) for _ in range(3)]
    fast = gossamer.load(path, backends=["cython"], threads=1)
    for outs in want:
        for a, b in zip(fast.run(None, {fast.inputs[0].name: x}), outs):
            assert a.tobytes() == b.tobytes()
    (variant,) = fast._program.shape_arenas.variants.values()
    segs = [seg for _, _, seg, _ in variant.schedule or () if seg is not None]
    assert [(s.start, s.stop) for s in segs] == [(0, len(variant.nodes))]
