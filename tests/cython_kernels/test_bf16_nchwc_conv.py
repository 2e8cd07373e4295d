"""The blocked-layout 1x1 conv on AMX tiles (src/bf16_nchwc.h, bf16_nchwc_conv.py): against the
exact conv of the bf16 operands at bf16_reference.amx_error_bound, with channel counts that pad
to pairs and tiles, every epilogue (bias, residual, Relu, Clip), 1 and 2 threads; which
NchwcConv nodes cython-bf16 claims; AMX switched off (the float32 blocked kernel runs it); and a
bf16 session whose blocked chain keeps its 1x1s on the tiles."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.conformance.bf16_reference import amx_error_bound, to_bf16
from gossamer.cython_kernels._native import ext
from gossamer.refimpl.ir import Node, Value

F32 = np.float32


def values(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return (rng.standard_normal(shape) * np.exp2(rng.uniform(-2, 2, shape))).astype(F32)


def block(v: np.ndarray) -> np.ndarray:
    """(n, c, h, w) as NCHW8c (n, c/8, h, w, 8)."""
    n, c, h, w = v.shape
    return np.ascontiguousarray(v.reshape(n, c // 8, 8, h, w).transpose(0, 1, 3, 4, 2))


def unblock(v: np.ndarray) -> np.ndarray:
    n, cb, h, w, b = v.shape
    return v.transpose(0, 1, 4, 2, 3).reshape(n, cb * b, h, w)


def exact(x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The 1x1 conv of the bf16-rounded operands in float64 (NCHW), and sum |products|."""
    x64, w64 = to_bf16(x).astype(np.float64), to_bf16(w[:, :, 0, 0]).astype(np.float64)
    return (np.einsum("mc,nchw->nmhw", w64, x64),
            np.einsum("mc,nchw->nmhw", np.abs(w64), np.abs(x64)))  # fmt: skip


def run(x, w, b=None, z=None, lo=-np.inf, hi=np.inf, threads=1) -> np.ndarray:
    from gossamer.cython_kernels.bf16_nchwc_conv import pack_nchwc_1x1

    n, c, h, wd = x.shape
    m = w.shape[0]
    y = np.full((n, m // 8, h, wd, 8), np.nan, F32)
    zb = None if z is None else block(z).reshape(-1)
    assert ext().bf16_nchwc_conv1x1(block(x).reshape(-1), n, c, h * wd, pack_nchwc_1x1(w), m, b,
                                    zb, lo, hi, y.reshape(-1), threads)  # fmt: skip
    return unblock(y)


CASES = [  # n, c, m, h, w: channels padding to pairs of 16 and to 16-column tiles, pixel tails
    (1, 8, 8, 1, 1),
    (1, 16, 96, 7, 9),
    (2, 24, 40, 5, 7),
    (1, 40, 24, 6, 6),
    (1, 96, 16, 4, 8),
    (1, 144, 24, 5, 5),
    (1, 320, 56, 3, 11),
    (1, 64, 384, 8, 8),
]


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("case", CASES)
def test_blocked_1x1_is_within_the_amx_bound(amx: None, case, threads) -> None:
    n, c, m, h, wd = case
    rng = np.random.default_rng(c * 1000 + m)
    x, w = values(rng, (n, c, h, wd)), values(rng, (m, c, 1, 1))
    b, z = values(rng, (m,)), values(rng, (n, m, h, wd))
    want, scale = exact(x, w)
    bound = amx_error_bound(c) * scale
    for kw, ref in [
        ({}, want),
        ({"b": b}, want + b[:, None, None]),
        ({"b": b, "z": z}, want + b[:, None, None] + z),
        ({"b": b, "lo": 0.0}, np.maximum(want + b[:, None, None], 0)),
        ({"z": z, "lo": 0.0, "hi": 6.0}, np.clip(want + z, 0, 6)),
    ]:
        got = run(x, w, threads=threads, **kw)
        err = np.abs(got.astype(np.float64) - ref)
        assert np.all(err <= bound + 2.0**-23 * np.abs(ref)), kw


@pytest.mark.parametrize(("n", "c", "m", "side"), [(2, 64, 96, 28), (1, 160, 960, 7)])
def test_blocked_1x1_bits_do_not_depend_on_the_thread_count(amx: None, n, c, m, side) -> None:
    """Many strips (split by strip) and few (7 x 7: the threads split the output channels)."""
    rng = np.random.default_rng(3)
    x, w, b = values(rng, (n, c, side, side)), values(rng, (m, c, 1, 1)), values(rng, (m,))
    assert np.array_equal(run(x, w, b, threads=1), run(x, w, b, threads=2))


def test_blocked_1x1_rounds_the_activations_as_gk_bf16_round(amx: None) -> None:
    """Identity weights: each output is one activation times 1, so the output is the activation
    as packed (vcvtneps2bf16), which must be gk_bf16_round's bits for normal floats (ties to
    even included); float32 denormals are read as zero."""
    rng = np.random.default_rng(8)
    x = values(rng, (1, 16, 9, 7))
    x.reshape(-1)[:64] = (1 + np.arange(64) * 2.0**-8 + 2.0**-9).astype(F32)  # ties: to even
    x.reshape(-1)[64] = -0.0
    x.reshape(-1)[65] = 2.0**-126 - 2.0**-135  # a denormal that gk_bf16_round rounds up
    got = run(x, np.eye(16, dtype=F32).reshape(16, 16, 1, 1))
    bits = np.empty(x.size, np.uint16)
    ext().bf16_round(x.reshape(-1), bits)
    want = (bits.astype(np.uint32) << 16).view(F32).reshape(x.shape)
    normal = np.abs(x) >= 2.0**-126
    assert np.array_equal(got[normal].view(np.uint32), want[normal].view(np.uint32))
    assert np.all(got[~normal] == 0) and want.reshape(-1)[65] == 2.0**-126


def test_blocked_1x1_keeps_nan_and_refuses_bad_sizes(amx: None) -> None:
    x = np.ones((1, 8, 2, 2), F32)
    x[0, 3, 1, 1] = np.nan
    got = run(x, np.ones((8, 8, 1, 1), F32), lo=0.0, hi=6.0)
    assert np.all(np.isnan(got[0, :, 1, 1])) and np.all(got[0, :, 0, 0] == 6.0)
    with pytest.raises(ValueError, match="multiples of 8"):
        ext().bf16_nchwc_conv1x1(np.ones(12, F32), 1, 12, 1, np.zeros(4096, np.uint32), 8, None,
                                 None, 0.0, 1.0, np.ones(8, F32), 1)  # fmt: skip
    with pytest.raises(ValueError, match="pairs"):
        ext().bf16_nchwc_conv1x1(np.ones(8, F32), 1, 8, 1, np.zeros(4, np.uint32), 8, None,
                                 None, 0.0, 1.0, np.ones(8, F32), 1)  # fmt: skip


def nchwc_node(c: int, m: int, k: int = 1, **attrs) -> tuple[Node, list[Value]]:
    node = Node("NchwcConv", ["x", "w", "b", "z"], ["y"], attrs, domain="gossamer", name="c")
    inputs = [Value("x", "float32", (1, c // 8, 8, 8, 8)),
              Value("w", "float32", (m, c, k, k)), Value("b", "float32", (m,)),
              Value("z", "float32", (1, m // 8, 8, 8, 8))]  # fmt: skip
    return node, inputs


@pytest.mark.parametrize(
    ("attrs", "k", "rank", "claimed"),
    [
        ({}, 1, 5, True),
        ({"activation": "Clip", "activation_params": [0.0, 6.0]}, 1, 5, True),
        ({"activation": "Relu"}, 1, 5, True),
        ({"activation": "HardSwish"}, 1, 5, False),
        ({"strides": [2, 2]}, 1, 5, False),
        ({"pads": [1, 1, 1, 1]}, 3, 5, False),
        ({}, 3, 5, False),
        ({}, 1, 4, False),  # an NCHW input (a chain's first conv)
    ],
)
def test_which_nchwc_convs_bf16_claims(amx: None, attrs, k, rank, claimed) -> None:
    from gossamer.cython_kernels.bf16_nchwc_conv import nchwc_1x1_refusal

    node, inputs = nchwc_node(32, 48, k, **attrs)
    if rank == 4:
        inputs[0] = Value("x", "float32", (1, 32, 8, 8))
    assert (nchwc_1x1_refusal(node, inputs) is None) is claimed


def test_scale_and_shift_and_amx_off_are_declined(amx: None) -> None:
    from gossamer.cython_kernels.bf16_nchwc_conv import nchwc_1x1_refusal

    node, inputs = nchwc_node(32, 48)
    assert "scale" in nchwc_1x1_refusal(node, [*inputs, Value("s", "float32", (1, 48, 1, 1))])
    ext().bf16_set_amx(False)
    try:
        assert "AMX" in nchwc_1x1_refusal(node, inputs)
    finally:
        ext().bf16_set_amx(True)


def test_a_call_without_the_tiles_runs_the_float32_blocked_kernel(amx: None) -> None:
    """Claimed at load, AMX switched off at run: the float32 NchwcConv's result, bit for bit."""
    from gossamer.cython_kernels.bf16_nchwc_conv import prepare_nchwc_1x1
    from gossamer.cython_kernels.nchwc_conv import _prepare_conv

    rng = np.random.default_rng(5)
    x, w = block(values(rng, (1, 24, 6, 6))), values(rng, (40, 24, 1, 1))
    b, z = values(rng, (40,)), block(values(rng, (1, 40, 6, 6)))
    attrs = {"activation": "Clip", "activation_params": [0.0, 6.0]}
    node = Node("NchwcConv", ["x", "w", "b", "z"], ["y"], attrs, domain="gossamer", name="c")
    tiles = prepare_nchwc_1x1(node, {1: w, 2: b})(x, w, b, z, **attrs)
    fp32 = _prepare_conv(node, {1: w, 2: b})(x, w, b, z, **attrs)
    assert not np.array_equal(tiles, fp32)  # bf16 operands: not the float32 result
    ext().bf16_set_amx(False)
    try:
        off = prepare_nchwc_1x1(node, {1: w, 2: b})(x, w, b, z, **attrs)
    finally:
        ext().bf16_set_amx(True)
    assert np.array_equal(off, fp32)


def test_keep_nchw_lets_plain_1x1s_join_the_chain_on_the_tiles(amx: None, monkeypatch) -> None:
    from gossamer.cython_kernels import bf16_conv

    node = Node("FusedConv", ["x", "w"], ["y"], {"activation": "Relu"}, name="c")
    values = {"x": Value("x", "float32", (1, 96, 14, 14)),
              "w": Value("w", "float32", (576, 96, 1, 1))}  # fmt: skip
    assert bf16_conv.keep_nchw(node, values) is False
    strided = Node("FusedConv", ["x", "w"], ["y"], {"strides": [2, 2]}, name="s")
    assert bf16_conv.keep_nchw(strided, values) is True
    monkeypatch.setattr(bf16_conv, "BLOCKED_1X1_AMX", False)
    assert bf16_conv.keep_nchw(node, values) is True


def test_a_bf16_session_runs_the_chains_1x1s_on_the_tiles(amx: None) -> None:
    """stem 3x3 3 -> 16 (Relu), 1x1 expand 16 -> 96 (Relu6), depthwise 3x3, 1x1 project 96 -> 16
    (+ the stem's output): one blocked chain in a bf16 session, its 1x1s on cython-bf16 (the
    NchwcConv reading the blocked layout), close to fp32."""
    from gossamer.refimpl.ir import Graph

    import gossamer

    rng = np.random.default_rng(11)
    six = {"activation": "Clip", "activation_params": [0.0, 6.0]}
    dw = {"group": 96, "kernel_shape": [3, 3], "pads": [1, 1, 1, 1]}
    nodes = [
        Node("Conv", ["x", "ws"], ["s0"], {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]},
             name="stem"),
        Node("Relu", ["s0"], ["s"], name="relu"),
        Node("FusedConv", ["s", "w0", "b0"], ["a"], {"kernel_shape": [1, 1], **six},
             name="expand", domain="gossamer"),
        Node("Conv", ["a", "w1"], ["d"], dw, name="dw"),
        Node("Conv", ["d", "w2", "b2"], ["p"], {"kernel_shape": [1, 1]}, name="project"),
        Node("Add", ["p", "s"], ["y"], name="residual"),
    ]  # fmt: skip
    inits = {"ws": values(rng, (16, 3, 3, 3)) * 0.3,
             "w0": values(rng, (96, 16, 1, 1)) * 0.3, "b0": values(rng, (96,)),
             "w1": values(rng, (96, 1, 3, 3)) * 0.3, "w2": values(rng, (16, 96, 1, 1)) * 0.1,
             "b2": values(rng, (16,))}  # fmt: skip

    def graph() -> Graph:
        return Graph(nodes=[Node(n.op_type, list(n.inputs), list(n.outputs), dict(n.attrs),
                                 name=n.name, domain=n.domain) for n in nodes],
                     inputs=[Value("x", "float32", (1, 3, 64, 64))], outputs=[Value("y")],
                     initializers=dict(inits), name="block",
                     opsets={"": 17, "gossamer": 1})  # fmt: skip

    bf16 = gossamer.load(graph(), precision="bf16", optimize=3, backends=["cython"])
    ops = {n.name: n.op_type for n in bf16.graph.nodes}
    placed = bf16.placement.backend_of
    for name in ("expand", "project"):
        assert ops[name] == "NchwcConv" and placed[name] == "cython-bf16", (name, ops, placed)
    x = rng.standard_normal((1, 3, 64, 64)).astype(F32)
    (got,) = bf16.run(None, {"x": x})
    (want,) = gossamer.load(graph(), optimize=3, backends=["cython"]).run(None, {"x": x})
    assert not np.array_equal(got, want)
    np.testing.assert_allclose(got, want, rtol=0.05, atol=0.02 * np.abs(want).max())
