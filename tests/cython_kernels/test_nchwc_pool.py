"""The blocked MaxPool (gossamer::NchwcMaxPool: nchwc_kernels.py, src/nchwc.c gk_nchwc_max_pool)
against the reference and against the NCHW MaxPool kernel, bit for bit, at every SIMD level and
1 and 2 threads; its bad inputs."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.refimpl.ir import Graph, Node, Value

import gossamer
from gossamer.cython_kernels import _native as native

RNG = np.random.default_rng(20)
F32 = np.float32
OPSETS = {"": 17, "gossamer": 1}


def _blocked(x: np.ndarray) -> np.ndarray:
    n, c, h, w = x.shape
    return np.ascontiguousarray(x.reshape(n, c // 8, 8, h, w).transpose(0, 1, 3, 4, 2))


def _pool_graph(op: str, x: np.ndarray, domain: str, **attrs) -> Graph:
    node = Node(op, ["x"], ["y"], attrs, "n", domain)
    return Graph([node], [Value("x", "float32", x.shape)], [Value("y", "float32")], {},
                 opsets=OPSETS)  # fmt: skip


def _run(graph: Graph, x: np.ndarray, backends: list[str], threads: int = 1) -> np.ndarray:
    sess = gossamer.Session(graph, backends=backends, threads=threads)
    if backends:
        assert set(sess.placement.backend_of.values()) == {"cython"}, sess.placement.declined
    return sess.run(None, {"x": x})[0]


# (NCHW shape, attributes): SqueezeNet's 3x3 s2 ceil_mode, YOLOv8's SPPF 5x5 s1 pad 2, pads,
# dilations, SAME padding, a window larger than the plane's remainder, a 1x1 plane
WINDOWS = [
    ((1, 64, 111, 111), {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1}),
    ((1, 16, 20, 20), {"kernel_shape": [5, 5], "strides": [1, 1], "pads": [2, 2, 2, 2]}),
    ((2, 24, 9, 12), {"kernel_shape": [3, 2], "strides": [2, 3], "pads": [1, 0, 0, 1]}),
    ((1, 8, 11, 9), {"kernel_shape": [3, 3], "strides": [2, 1], "dilations": [2, 3]}),
    ((1, 16, 7, 6), {"kernel_shape": [3, 3], "strides": [2, 2], "auto_pad": "SAME_UPPER"}),
    ((1, 8, 6, 7), {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1,
                    "pads": [1, 1, 1, 1]}),
    ((1, 8, 1, 1), {"kernel_shape": [2, 2], "pads": [1, 1, 0, 0]}),
    ((1, 16, 9, 10), {"kernel_shape": [3, 3], "strides": [1, 1], "pads": [1, 1, 1, 1]}),
    ((1, 8, 3, 3), {"kernel_shape": [3, 3], "strides": [2, 2]}),
]  # fmt: skip
IDS = ["squeezenet_ceil", "sppf_5x5", "pads_strides", "dilated", "same_upper", "ceil_pads",
       "one_pixel", "3x3_s1_pad1", "one_window"]  # fmt: skip


@pytest.mark.parametrize("shape,attrs", WINDOWS, ids=IDS)
def test_blocked_max_pool_matches_the_reference_and_nchw_bit_for_bit(level, threads, shape, attrs):
    x = RNG.standard_normal(shape).astype(F32)
    xb = _blocked(x)
    blocked = _pool_graph("NchwcMaxPool", xb, "gossamer", **attrs)
    ours = _run(blocked, xb, ["cython"], threads)
    ref = _run(blocked, xb, [])
    nchw = _run(_pool_graph("MaxPool", x, "", **attrs), x, ["cython"], threads)
    assert ours.shape == ref.shape
    assert np.array_equal(ours, ref)
    assert np.array_equal(ours, _blocked(nchw))


def test_nan_and_infinities_propagate_as_in_the_reference(level):
    x = RNG.standard_normal((1, 16, 6, 6)).astype(F32)
    x[0, 3, 1, 1] = np.nan
    x[0, 9, 4, 4] = np.inf
    x[0, 10, :, :] = -np.inf
    xb = _blocked(x)
    graph = _pool_graph("NchwcMaxPool", xb, "gossamer", kernel_shape=[3, 3], strides=[2, 2],
                        pads=[1, 1, 1, 1])  # fmt: skip
    ours, ref = _run(graph, xb, ["cython"]), _run(graph, xb, [])
    assert np.isnan(ours).sum() == np.isnan(ref).sum() > 0
    assert np.array_equal(ours, ref, equal_nan=True)


@pytest.mark.parametrize("stride", [1, 2])
def test_a_nan_anywhere_in_a_3x3_window_wins(level, stride):
    # the 3x3 rows' column maxima: a NaN in each of the nine taps of an inside window in turn
    for dy in range(3):
        for dx in range(3):
            x = RNG.standard_normal((1, 8, 9, 11)).astype(F32)
            x[0, 5, 2 + dy, 4 + dx] = np.nan
            xb = _blocked(x)
            graph = _pool_graph("NchwcMaxPool", xb, "gossamer", kernel_shape=[3, 3],
                                strides=[stride, stride])  # fmt: skip
            ours, ref = _run(graph, xb, ["cython"]), _run(graph, xb, [])
            assert np.isnan(ours).sum() == np.isnan(ref).sum() > 0
            assert np.array_equal(ours, ref, equal_nan=True)


def test_results_do_not_depend_on_the_thread_count():
    xb = _blocked(RNG.standard_normal((1, 128, 55, 55)).astype(F32))
    graph = _pool_graph("NchwcMaxPool", xb, "gossamer", kernel_shape=[3, 3], strides=[2, 2],
                        ceil_mode=1)  # fmt: skip
    runs = [_run(graph, xb, ["cython"], t) for t in (1, 2, 3)]
    assert all(np.array_equal(runs[0], r) for r in runs[1:])


def test_a_block_other_than_eight_is_declined():
    x = RNG.standard_normal((1, 1, 5, 5, 16)).astype(F32)
    graph = _pool_graph("NchwcMaxPool", x, "gossamer", kernel_shape=[2, 2])
    sess = gossamer.Session(graph, backends=["cython"])
    assert sess.placement.backend_of["n"] == "reference"
    assert "block 16" in sess.placement.declined["n"]["cython"]


def test_the_wrapper_rejects_bad_arguments_with_a_value_error():
    ext = native.ext()
    x = np.zeros(2 * 8 * 5 * 5, F32)
    y = np.zeros(2 * 8 * 2 * 2, F32)
    good = dict(n=2, c=8, h=5, w=5, kh=3, kw=3, sh=2, sw=2, dh=1, dw=1, ph=0, pw=0, oh=2, ow=2)

    def call(**over):
        a = {**good, **over}
        ext.nchwc_max_pool(x, a["n"], a["c"], a["h"], a["w"], a["kh"], a["kw"], a["sh"], a["sw"],
                           a["dh"], a["dw"], a["ph"], a["pw"], a["oh"], a["ow"], y, 1)  # fmt: skip

    call()
    bad_args = (({"c": 12}, "multiple of 8"), ({"sh": 0}, "stride"), ({"ph": -1}, "pads"),
                ({"oh": 3}, "y has"), ({"h": 6}, "x has"), ({"ow": 0}, "empty"))  # fmt: skip
    for bad, match in bad_args:
        with pytest.raises(ValueError, match=match):
            call(**bad)


def test_the_blocked_reference_rejects_an_unblocked_input():
    from gossamer.refimpl.errors import OpArgumentError
    from gossamer.refimpl.ops.op_nchwc_max_pool import nchwc_max_pool_1

    with pytest.raises(OpArgumentError, match="NchwcMaxPool"):
        nchwc_max_pool_1(np.zeros((1, 8, 4), F32), kernel_shape=[2, 2])


# (NCHW shape, attributes): SqueezeNet's 128 x 55 x 55 -> 27 x 27 and 64 x 111 x 111 -> 55 x 55,
# a padded 5x5 s1 window over 30 rows, two images (no parts), a short output (no parts)
PARTS = [
    ((1, 128, 55, 55), {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1}),
    ((1, 16, 111, 111), {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1}),
    ((1, 24, 30, 17), {"kernel_shape": [5, 5], "strides": [1, 1], "pads": [2, 2, 2, 2]}),
    ((2, 16, 29, 29), {"kernel_shape": [3, 3], "strides": [2, 2]}),
    ((1, 16, 28, 9), {"kernel_shape": [3, 3], "strides": [9, 2]}),
]  # fmt: skip


@pytest.mark.parametrize("shape,attrs", PARTS, ids=lambda v: "x".join(map(str, v))
                         if isinstance(v, tuple) else None)  # fmt: skip
def test_row_parts_of_a_tall_input_change_no_bit(level, shape, attrs):
    """nchwc_pool_parts 1: a max pool of one image whose input has at least nchwc_parts_h rows
    pools its output rows in static parts (part p's pieces on seat p first); 0: dynamic ranges.
    The same bits at 1, 2 and 3 threads, 1, 4 and 16 pieces, parts_h 28 and 0 (never), and the
    reference's."""
    x = _blocked(RNG.standard_normal(shape).astype(F32))
    graph = _pool_graph("NchwcMaxPool", x, "gossamer", **attrs)
    ext = native.ext()
    old, old_split, old_h = ext.nchwc_pool_parts(), ext.nchwc_split_mode(), ext.nchwc_parts_h()
    try:
        runs = []
        for on, pieces, rows in ((0, 4, 28), (1, 4, 28), (1, 1, 28), (1, 16, 28), (1, 4, 0)):
            ext.nchwc_pool_parts(on)
            ext.nchwc_split_mode(0, pieces)
            ext.nchwc_parts_h(rows)
            runs += [_run(graph, x, ["cython"], t) for t in (1, 2, 3)]
    finally:
        ext.nchwc_pool_parts(old)
        ext.nchwc_split_mode(*old_split)
        ext.nchwc_parts_h(old_h)
    assert all(np.array_equal(runs[0], r) for r in runs[1:])
    assert np.array_equal(runs[0], _run(graph, x, []))
