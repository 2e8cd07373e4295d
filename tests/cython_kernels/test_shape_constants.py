"""Shape constants in segments (cython_kernels/segments.py): a subgraph computed from tensor shapes
alone (Shape, Gather, Cast, Range, ConstantOfShape, Concat, Expand: a detector head's anchor grid)
is the same on every run at one input-shape signature, so its reference steps are kept inside
segments as recorded constants, and kernels may read its values in Python (Expand's shape)."""

from __future__ import annotations

import numpy as np
from gossamer.cython_kernels import segments
from gossamer.refimpl.ir import Graph, Node, Value

import gossamer


def _anchor_net() -> Graph:
    """x[1, 4, H, W] -> Conv -> Relu (c); anchors from Shape(c): Range over W, + 0.5, Expand to
    [H, W], ConstantOfShape [H*W] added; y = Flatten(c) + anchors (broadcast over channels)."""
    rng = np.random.default_rng(0)
    w = rng.standard_normal((4, 4, 3, 3)).astype(np.float32) * 0.2
    i64 = np.int64
    inits = {
        "w": w,
        "i2": np.array(2, i64),
        "i3": np.array(3, i64),
        "zero": np.array(0.0, np.float32),
        "one": np.array(1.0, np.float32),
        "half": np.array(0.5, np.float32),
        "ax0": np.array([0], i64),
        "minus1": np.array([-1], i64),
        "shape3": np.array([1, 4, -1], i64),
    }
    nodes = [
        Node("Conv", ["x", "w"], ["c0"], name="conv", attrs={"pads": [1, 1, 1, 1]}),
        Node("Relu", ["c0"], ["c"], name="relu"),
        Node("Shape", ["c"], ["s"], name="shape"),
        Node("Gather", ["s", "i2"], ["h"], name="gather_h", attrs={"axis": 0}),
        Node("Gather", ["s", "i3"], ["wd"], name="gather_w", attrs={"axis": 0}),
        Node("Cast", ["wd"], ["wf"], name="cast_w", attrs={"to": 1}),
        Node("Range", ["zero", "wf", "one"], ["r"], name="range"),
        Node("Add", ["r", "half"], ["rh"], name="add_half"),
        Node("Unsqueeze", ["h", "ax0"], ["h1"], name="unsq_h"),
        Node("Unsqueeze", ["wd", "ax0"], ["w1"], name="unsq_w"),
        Node("Concat", ["h1", "w1"], ["hw"], name="concat_hw", attrs={"axis": 0}),
        Node("Expand", ["rh", "hw"], ["grid"], name="expand"),
        Node("Mul", ["h", "wd"], ["n"], name="mul_hw"),
        Node("Unsqueeze", ["n", "ax0"], ["n1"], name="unsq_n"),
        Node(
            "ConstantOfShape",
            ["n1"],
            ["ones"],
            name="cos",
            attrs={"value": np.array([1.0], np.float32)},
        ),  # fmt: skip
        Node("Reshape", ["grid", "minus1"], ["flat_grid"], name="reshape_grid"),
        Node("Add", ["flat_grid", "ones"], ["anchors"], name="add_ones"),
        Node("Reshape", ["c", "shape3"], ["cf"], name="reshape_c"),
        Node("Add", ["cf", "anchors"], ["y"], name="add_anchors"),
    ]
    return Graph(nodes, [Value("x", "float32", (1, 4, "H", "W"))],
                 [Value("y", "float32", (1, 4, None))], initializers=inits, name="anchors",
                 opsets={"": 17})  # fmt: skip


def _variant(session: gossamer.Session, shape: tuple[int, ...]):  # type: ignore[no-untyped-def]
    return session._program.shape_arenas.variants[(shape,)]


def test_shape_only_steps_are_found():
    g = _anchor_net()
    known, steps = segments.shape_constants(
        g.nodes, set(g.initializers), {"c", "x", *g.initializers}, {"y"}
    )
    names = {g.nodes[i].name for i in steps}
    assert names == {"shape", "gather_h", "gather_w", "cast_w", "range", "add_half", "unsq_h",
                     "unsq_w", "concat_hw", "expand", "mul_hw", "unsq_n", "cos", "reshape_grid",
                     "add_ones"}  # fmt: skip
    assert "y" not in known and "cf" not in known and "anchors" in known
    # a Shape of a value whose size is not fixed (not planned) is no constant
    known, steps = segments.shape_constants(g.nodes, set(g.initializers), {"x"}, {"y"})
    assert not steps and not known


def test_anchor_subgraph_runs_inside_segments_at_each_shape(monkeypatch):
    rng = np.random.default_rng(1)
    shapes = [(1, 4, 5, 7), (1, 4, 6, 3), (1, 4, 5, 7), (1, 4, 6, 3), (1, 4, 5, 7), (1, 4, 6, 3)]
    xs = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    with monkeypatch.context() as m:
        m.setenv("GOSSAMER_SEGMENTS", "0")
        slow = gossamer.load(_anchor_net(), backends=["cython"], threads=1, optimize=0)
        want = [slow.run(None, {"x": x})[0] for x in xs]
    fast = gossamer.load(_anchor_net(), backends=["cython"], threads=1, optimize=0)
    for _ in range(2):
        for x, b in zip(xs, want):
            (a,) = fast.run(None, {"x": x})
            assert a.shape == b.shape and a.tobytes() == b.tobytes()
    for shape in ((1, 4, 5, 7), (1, 4, 6, 3)):
        variant = _variant(fast, shape)
        reasons = segments.split_reasons(variant)
        assert reasons == {}, reasons
        segs = [seg for _, _, seg, _ in variant.schedule or () if seg is not None]
        assert sum(len(s) for s in segs) == len(variant.nodes)


def test_kept_constants_are_not_shared_across_shapes():
    """The anchors of one shape never leak into another's run: each shape has its own segments."""
    fast = gossamer.load(_anchor_net(), backends=["cython"], threads=1, optimize=0)
    ref = gossamer.load(_anchor_net(), backends=["reference"], optimize=0)
    rng = np.random.default_rng(2)
    for shape in [(1, 4, 3, 4)] * 3 + [(1, 4, 4, 3)] * 3 + [(1, 4, 3, 4)]:
        x = rng.standard_normal(shape).astype(np.float32)
        (a,) = fast.run(None, {"x": x})
        (b,) = ref.run(None, {"x": x})
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_yolov8_head_runs_inside_segments(monkeypatch):
    """nudenet_320n_yolov8n's anchor grid (Shape, Range, ConstantOfShape, Expand of its head) runs
    inside segments, and the outputs equal node by node bit for bit."""
    import pytest

    from tests.conftest import MODELS_DIR

    path = MODELS_DIR / "nudenet_320n_yolov8n.onnx"
    if not path.exists():
        pytest.skip("nudenet_320n_yolov8n.onnx not in the model cache")
    x = np.random.default_rng(3).random((1, 3, 320, 320), dtype=np.float32)
    with monkeypatch.context() as m:
        m.setenv("GOSSAMER_SEGMENTS", "0")
        slow = gossamer.load(path, backends=["cython"], threads=1)
        (want,) = slow.run(None, {"images": x})
    fast = gossamer.load(path, backends=["cython"], threads=1)
    for _ in range(3):
        (got,) = fast.run(None, {"images": x})
        assert got.tobytes() == want.tobytes()
    (variant,) = fast._program.shape_arenas.variants.values()
    ops = {label.rsplit("(", 1)[1] for label in segments.split_reasons(variant)}
    assert not ops & {"Shape)", "Range)", "ConstantOfShape)", "Expand)", "Reshape)", "Mul)"}, ops
