"""Resize inside segments (wrappers/upsample.pxi records resize2d): a Conv -> Resize -> Relu chain
is one segment and equals node by node bit for bit, for nearest, linear and tf_crop_and_resize
with an extrapolation value (passed to the replayed call unrounded)."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.cython_kernels import segments
from gossamer.refimpl.ir import Graph, Node, Value

import gossamer

CASES = {
    "nearest": (
        {
            "mode": "nearest",
            "coordinate_transformation_mode": "asymmetric",
            "nearest_mode": "floor",
        },
        None,
    ),  # fmt: skip
    "linear": ({"mode": "linear"}, None),
    "crop": (
        {
            "mode": "linear",
            "coordinate_transformation_mode": "tf_crop_and_resize",
            "extrapolation_value": 0.1234567890123,
        },
        [0, 0, -0.2, -0.1, 1, 1, 1.3, 1.2],
    ),  # fmt: skip
}


def _net(attrs: dict, roi: list[float] | None) -> Graph:
    rng = np.random.default_rng(0)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32) * 0.3
    inits = {"w": w, "scales": np.array([1, 1, 2, 1.5], np.float32)}
    if roi is not None:
        inits["roi"] = np.array(roi, np.float32)
    nodes = [
        Node("Conv", ["x", "w"], ["c"], name="conv", attrs={"pads": [1, 1, 1, 1]}),
        Node(
            "Resize",
            ["c", "roi" if roi is not None else "", "scales"],
            ["r"],
            name="resize",
            attrs=attrs,
        ),  # fmt: skip
        Node("Relu", ["r"], ["y"], name="relu"),
    ]
    return Graph(nodes, [Value("x", "float32", (1, 3, 6, 8))], [Value("y", "float32", None)],
                 initializers=inits, name="resize_net", opsets={"": 13})  # fmt: skip


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("threads", [1, 2])
def test_resize_runs_inside_one_segment(case, threads, monkeypatch):
    attrs, roi = CASES[case]
    xs = [np.random.default_rng(i).standard_normal((1, 3, 6, 8)).astype(np.float32)
          for i in range(4)]  # fmt: skip
    with monkeypatch.context() as m:
        m.setenv("GOSSAMER_SEGMENTS", "0")
        slow = gossamer.load(_net(attrs, roi), backends=["cython"], threads=threads, optimize=0)
        want = [slow.run(None, {"x": x})[0] for x in xs]
    fast = gossamer.load(_net(attrs, roi), backends=["cython"], threads=threads, optimize=0)
    assert fast.placement.backend_of["resize"] == "cython"
    for _ in range(2):
        for x, b in zip(xs, want):
            (a,) = fast.run(None, {"x": x})
            assert a.tobytes() == b.tobytes()
    program = fast._program
    assert segments.split_reasons(program) == {}
    segs = [seg for _, _, seg, _ in program.schedule or () if seg is not None]
    assert [(s.start, s.stop) for s in segs] == [(0, 3)]
