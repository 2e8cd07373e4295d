"""Kernels recorded for segments (segments.py): constant Pad (a C fill + the strided copy),
AveragePool (its divisor tables kept per shape), the 1x1 Conv (pack_b + gemm) and Gemm replay
inside one segment, bit for bit; the recording stops past its byte limit."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.cython_kernels import segments
from gossamer.refimpl.ir import Graph, Node, Value

import gossamer


def _net(fill: float | None, dtype: str = "float32") -> Graph:
    """x[1, 4, 6, 6] -> Pad(fill) -> AveragePool 3x3 -> 1x1 Conv -> Flatten -> Gemm -> y."""
    rng = np.random.default_rng(0)
    inits = {
        "pads": np.array([0, 0, 1, 2, 0, 0, 2, 1], np.int64),
        "w": rng.standard_normal((3, 4, 1, 1)).astype(np.float32),
        "wg": rng.standard_normal((3 * 9 * 9, 5)).astype(np.float32) * 0.1,
        "bg": rng.standard_normal(5).astype(np.float32),
    }
    pad_inputs = ["x", "pads"]
    if fill is not None:
        inits["fill"] = np.array(fill, np.float32)
        pad_inputs.append("fill")
    nodes = [
        Node("Pad", pad_inputs, ["p"], name="pad"),
        Node(
            "AveragePool",
            ["p"],
            ["a"],
            name="pool",
            attrs={"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]},
        ),  # fmt: skip
        Node("Conv", ["a", "w"], ["c"], name="conv"),
        Node("Flatten", ["c"], ["f"], name="flat"),
        Node("Gemm", ["f", "wg", "bg"], ["y"], name="gemm"),
    ]
    return Graph(nodes, [Value("x", dtype, (1, 4, 6, 6))], [Value("y", "float32", (1, 5))],
                 initializers=inits, name="kernels", opsets={"": 17})  # fmt: skip


def _segments(session: gossamer.Session) -> list:
    return [seg for _, _, seg, _ in session._program.schedule or () if seg is not None]


@pytest.mark.parametrize("fill", [None, 1.5, -0.0])
def test_pad_pool_conv_gemm_replay_as_one_segment(fill):
    fast = gossamer.load(_net(fill), backends=["cython"], threads=1, optimize=0)
    slow = gossamer.load(_net(fill), backends=["cython"], threads=1, optimize=0)
    slow._program.use_segments = False
    assert set(fast.placement.backend_of.values()) == {"cython"}
    rng = np.random.default_rng(1)
    for _ in range(5):
        x = rng.standard_normal((1, 4, 6, 6)).astype(np.float32)
        (a,), (b,) = fast.run(None, {"x": x}), slow.run(None, {"x": x})
        assert a.tobytes() == b.tobytes()
    (seg,) = _segments(fast)
    assert (seg.start, seg.stop) == (0, 5)
    assert segments.split_reasons(fast._program) == {}


def test_pad_fills_with_the_value_of_any_dtype():
    x = np.arange(6, dtype=np.int16).reshape(2, 3)
    graph = Graph(
        [Node("Pad", ["x", "pads", "v"], ["y"], name="pad")],
        [Value("x", "int16", (2, 3))],
        [Value("y", "int16", (4, 4))],
        initializers={"pads": np.array([1, 0, 1, 1], np.int64), "v": np.array(-2, np.int16)},
        name="pad16",
        opsets={"": 17},
    )
    s = gossamer.load(graph, backends=["cython"], threads=1, optimize=0)
    assert s.placement.backend_of["pad"] == "cython"
    want = np.pad(x, ((1, 1), (0, 1)), constant_values=-2)
    for _ in range(3):
        np.testing.assert_array_equal(s.run(None, {"x": x})[0], want)


def test_recording_stops_past_its_byte_limit(monkeypatch):
    monkeypatch.setattr(segments, "RECORD_LIMIT", 256)
    fast = gossamer.load(_net(None), backends=["cython"], threads=1, optimize=0)
    x = np.ones((1, 4, 6, 6), np.float32)
    want = fast.run(None, {"x": x})[0]
    for _ in range(3):
        assert fast.run(None, {"x": x})[0].tobytes() == want.tobytes()
    assert not _segments(fast)
    reasons = segments.split_reasons(fast._program)
    assert len(reasons) == 5 and all("not recorded" in r for r in reasons.values())


def test_a_zero_dim_value_from_outside_enters_a_segment():
    """ReduceL2 (reference, keepdims=0) hands a 0-d array to the segment Sub -> Max -> Relu."""
    graph = Graph(
        [
            Node("ReduceL2", ["x"], ["r"], name="rl2", attrs={"keepdims": 0}),
            Node("Sub", ["r", "c"], ["s"], name="sub"),
            Node("Max", ["x", "s"], ["m"], name="max"),
            Node("Relu", ["m"], ["y"], name="relu"),
        ],
        [Value("x", "float32", (4, 8))],
        [Value("y", "float32", (4, 8))],
        initializers={"c": np.array(1.5, np.float32)},
        name="zero_dim",
        opsets={"": 17},
    )
    fast = gossamer.load(graph, backends=["cython"], threads=1, optimize=0)
    slow = gossamer.load(graph, backends=["cython"], threads=1, optimize=0)
    slow._program.use_segments = False
    rng = np.random.default_rng(4)
    for _ in range(4):
        x = rng.standard_normal((4, 8)).astype(np.float32)
        assert fast.run(None, {"x": x})[0].tobytes() == slow.run(None, {"x": x})[0].tobytes()
    (seg,) = _segments(fast)
    assert (seg.start, seg.stop) == (1, 4)


def test_gather_replays_inside_a_segment():
    table = np.random.default_rng(5).standard_normal((10, 6)).astype(np.float32)
    graph = Graph(
        [
            Node("Relu", ["x"], ["r"], name="relu"),
            Node("Gather", ["r", "idx"], ["g"], name="gather", attrs={"axis": 0}),
            Node("Add", ["g", "g"], ["y"], name="add"),
        ],
        [Value("x", "float32", (10, 6)), Value("idx", "int64", (4,))],
        [Value("y", "float32", (4, 6))],
        name="gather",
        opsets={"": 17},
    )
    fast = gossamer.load(graph, backends=["cython"], threads=1, optimize=0)
    assert fast.placement.backend_of["gather"] == "cython"
    for k in range(4):
        idx = np.array([k, 9 - k, -1, 3], np.int64)
        want = 2 * np.maximum(table, 0)[idx]
        assert fast.run(None, {"x": table, "idx": idx})[0].tobytes() == want.tobytes()
    (seg,) = _segments(fast)
    assert (seg.start, seg.stop) == (0, 3)


def test_depthwise_conv_with_a_residual_replays_inside_a_segment():
    """Conv (depthwise) + Add(x) + Clip fuse to a FusedConv with a residual, which the depthwise
    kernel adds with the C element-wise kernels (no numpy work: one segment)."""
    rng = np.random.default_rng(6)
    graph = Graph(
        [
            Node(
                "Conv", ["x", "w", "b"], ["c"], name="dw", attrs={"group": 8, "pads": [1, 1, 1, 1]}
            ),  # fmt: skip
            Node("Add", ["c", "x"], ["s"], name="res"),
            Node("Clip", ["s", "lo", "hi"], ["y"], name="clip"),
        ],
        [Value("x", "float32", (1, 8, 5, 5))],
        [Value("y", "float32", (1, 8, 5, 5))],
        initializers={
            "w": rng.standard_normal((8, 1, 3, 3)).astype(np.float32),
            "b": rng.standard_normal(8).astype(np.float32),
            "lo": np.array(0.0, np.float32),
            "hi": np.array(6.0, np.float32),
        },
        name="dw_residual",
        opsets={"": 17},
    )
    fast = gossamer.load(graph, backends=["cython"], threads=1)
    ref = gossamer.load(graph, backends=["reference"], optimize=0)
    assert set(fast.placement.backend_of.values()) == {"cython"}
    for _ in range(4):
        x = rng.standard_normal((1, 8, 5, 5)).astype(np.float32) * 4
        x[0, 0, 0, :2] = [np.nan, -0.0]
        got, want = fast.run(None, {"x": x})[0], ref.run(None, {"x": x})[0]
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    assert sum(seg.stop - seg.start for seg in _segments(fast)) == len(fast._program.nodes)
