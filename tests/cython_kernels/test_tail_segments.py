"""The tail kernels (Pad reflect, Pow, Sqrt, Log, Reduce*, Expand, Tile, Cast) record their C
calls, so a chain of them replays as one segment, bit for bit equal to node-by-node runs."""

from __future__ import annotations

import numpy as np
from gossamer.cython_kernels import segments
from gossamer.refimpl.ir import Graph, Node, Value

import gossamer


def _chain() -> Graph:
    i64 = lambda *v: np.array(v, np.int64)  # noqa: E731
    nodes = [
        Node("Pad", ["x", "pads"], ["p"], name="pad", attrs={"mode": "reflect"}),
        Node("Pow", ["p", "two"], ["q"], name="pow"),
        Node("Sqrt", ["q"], ["r"], name="sqrt"),
        Node("Log", ["r"], ["l"], name="log"),
        Node("ReduceMax", ["l", "ax1"], ["m"], name="rmax"),
        Node("Expand", ["m", "shape"], ["e"], name="expand"),
        Node("Tile", ["e", "reps"], ["t"], name="tile"),
        Node("ReduceMean", ["t", "ax0"], ["u"], name="rmean", attrs={"keepdims": 0}),
        Node("Cast", ["u"], ["d"], name="to64", attrs={"to": 11}),
        Node("Cast", ["d"], ["y"], name="to32", attrs={"to": 1}),
    ]
    inits = {"pads": i64(0, 3, 0, 3), "two": np.array(2.0, np.float32), "ax1": i64(1),
             "shape": i64(4, 5), "reps": i64(2, 2), "ax0": i64(0)}  # fmt: skip
    return Graph(nodes, [Value("x", "float32", (4, 16))], [Value("y", "float32", (10,))],
                 initializers=inits, name="tails", opsets={"": 18})  # fmt: skip


def test_a_chain_of_tail_kernels_is_one_segment():
    fast = gossamer.load(_chain(), backends=["cython"], threads=1, optimize=0)
    slow = gossamer.load(_chain(), backends=["cython"], threads=1, optimize=0)
    slow._program.use_segments = False
    ref = gossamer.load(_chain(), backends=[], optimize=0)
    assert set(fast.placement.backend_of.values()) == {"cython"}
    rng = np.random.default_rng(0)
    for _ in range(4):
        x = rng.standard_normal((4, 16)).astype(np.float32)
        (a,), (b,), (c,) = (s.run(None, {"x": x}) for s in (fast, slow, ref))
        assert a.tobytes() == b.tobytes()
        np.testing.assert_allclose(a, c, rtol=1e-6)
    segs = [seg for _, _, seg, _ in fast._program.schedule or () if seg is not None]
    assert [(s.start, s.stop) for s in segs] == [(0, 10)]
    assert segments.split_reasons(fast._program) == {}
