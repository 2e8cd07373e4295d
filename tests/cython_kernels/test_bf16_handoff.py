"""The bf16 hand-off between two direct convs (src/bf16.h, gk_bf16_conv_direct_ex): a producer
writing its output as the next conv's pair planes gives the bits the next conv's own rounding
pass writes, and a consumer reading those planes gives the bits of the conv of the float32
tensor; bad forms are refused with a ValueError."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.cython_kernels._native import ext

from .test_bf16_conv_direct import geometry, packed_weights, values

F32 = np.float32


def _direct_with_planes(x, w, pads, st=(1, 1), **epilogue) -> tuple[np.ndarray, np.ndarray]:
    """The direct conv of float32 x, and the pair planes its rounding pass wrote."""
    m, c, kh, kw = w.shape
    oh, ow = geometry(x, w, pads, (1, 1), st)
    planes = np.full(ext().bf16_conv_planes_size(c, kh, kw, *st, 1, 1, oh, ow), 7, np.uint32)
    y = np.full((m, oh * ow), np.nan, F32)
    ep = ext().Epilogue(**epilogue)
    assert ext().bf16_conv_direct(x, kh, kw, *st, 1, 1, pads[0], pads[1], oh, ow,
                                  packed_weights(w), planes, y, ep, 1)  # fmt: skip
    return y.reshape(m, oh, ow), planes


def _handed_off(x, w1, st1, w2, pad2, threads=1, **epilogue) -> np.ndarray:
    """conv1 (3x3, pads 1, strides st1) of x written as conv2's input form (pads pad2)."""
    m, c, kh, kw = w1.shape
    oh, ow = geometry(x, w1, (1, 1, 1, 1), (1, 1), st1)
    k2h, k2w = w2.shape[2:]
    hq, wq = oh + 2 * pad2[0], ow + 2 * pad2[1]
    oh2, ow2 = hq - k2h + 1, wq - k2w + 1
    size = ext().bf16_conv_planes_size(m, k2h, k2w, 1, 1, 1, 1, oh2, ow2)
    assert size == m // 2 * ext().bf16_conv_form_plane(hq, wq)
    yp = np.full(size, 0xDEADBEEF, np.uint32)  # garbage where nothing would be written
    planes = np.zeros(ext().bf16_conv_planes_size(c, kh, kw, *st1, 1, 1, oh, ow), np.uint32)
    ep = ext().Epilogue(**epilogue)
    assert ext().bf16_conv_direct_ex(x, c, *x.shape[1:], kh, kw, *st1, 1, 1, 1, 1, oh, ow, m,
                                     packed_weights(w1), planes, None, yp, *pad2, hq, wq, ep,
                                     threads)  # fmt: skip
    return yp


@pytest.mark.parametrize(
    "m, c, h, w, st1, k2, pad2",
    [
        (64, 32, 20, 19, (1, 1), (3, 3), (1, 1)),  # ResNet's conv1 -> conv2
        (32, 48, 15, 13, (2, 2), (3, 3), (1, 1)),  # a downsampling conv1
        (96, 64, 7, 7, (1, 1), (5, 3), (2, 1)),  # another consumer kernel
    ],
)
def test_handed_off_planes_are_the_consumers_own_and_give_its_bits(
    amx: None, m, c, h, w, st1, k2, pad2
) -> None:
    rng = np.random.default_rng(m + c)
    x, w1 = values(rng, (c, h, w), 4), values(rng, (m, c, 3, 3), 2)
    w2, b1 = values(rng, (m, m, *k2), 2), values(rng, (m,), 2)
    z = values(rng, (m, *geometry(x, w1, (1, 1, 1, 1), (1, 1), st1)), 3)
    epilogue = dict(bias_row=b1, residual=z.reshape(m, -1), clip=True, lo=0.0)
    y1, _ = _direct_with_planes(x, w1, (1, 1, 1, 1), st1, **epilogue)
    pads2 = (pad2[0], pad2[1], pad2[0], pad2[1])
    y2, own = _direct_with_planes(y1, w2, pads2)
    for threads in (1, 2):
        yp = _handed_off(x, w1, st1, w2, pad2, threads, **epilogue)
        np.testing.assert_array_equal(yp, own)
    # the consumer reading the planes as they are
    oh2, ow2 = y2.shape[1:]
    out = np.full((m, oh2 * ow2), np.nan, F32)
    assert ext().bf16_conv_direct_ex(None, m, *y1.shape[1:], *k2, 1, 1, 1, 1, *pad2, oh2, ow2, m,
                                     packed_weights(w2), yp, out, None, 0, 0, 0, 0,
                                     ext().Epilogue(), 2)  # fmt: skip
    np.testing.assert_array_equal(out.reshape(y2.shape), y2)


def test_the_form_keeps_nan_inf_and_flushes_what_rounds_below_the_normals(amx: None) -> None:
    rng = np.random.default_rng(3)
    x, w1 = values(rng, (32, 6, 6), 2), values(rng, (32, 32, 3, 3), 2)
    below = float.fromhex("0x1.fffffep-127")  # a denormal that rounds up to 2^-126
    specials = np.array([np.nan, np.inf, -np.inf, 1e-39, -1e-39, below, 3e38], F32)
    w1[:2] = 0  # channels 0 and 1 are their residual: +0 + z
    z = values(rng, (32, 36), 1)
    z[0, : specials.size], z[1, : specials.size] = specials, -specials
    w2 = values(rng, (32, 32, 3, 3), 2)
    y1, _ = _direct_with_planes(x, w1, (1, 1, 1, 1), residual=z)
    _, own = _direct_with_planes(y1, w2, (1, 1, 1, 1))
    yp = _handed_off(x, w1, (1, 1), w2, (1, 1), residual=z)
    np.testing.assert_array_equal(yp, own)


def test_bad_forms_are_refused(amx: None) -> None:
    x, w1 = np.ones((32, 4, 4), F32), np.ones((48, 32, 3, 3), F32)
    wpk = packed_weights(w1)
    planes = np.zeros(ext().bf16_conv_planes_size(32, 3, 3, 1, 1, 1, 1, 4, 4), np.uint32)
    ep = ext().Epilogue()
    yp = np.zeros(1 << 14, np.uint32)
    args = (32, 4, 4, 3, 3, 1, 1, 1, 1, 1, 1, 4, 4)
    with pytest.raises(ValueError, match="in 32s"):  # 48 output channels
        ext().bf16_conv_direct_ex(x, *args, 48, wpk, planes, None, yp, 1, 1, 6, 6, ep, 1)
    wpk = packed_weights(np.ones((32, 32, 3, 3), F32))
    with pytest.raises(ValueError, match="does not hold"):
        ext().bf16_conv_direct_ex(x, *args, 32, wpk, planes, None, yp, 1, 1, 4, 6, ep, 1)
    with pytest.raises(ValueError, match="exactly one"):
        ext().bf16_conv_direct_ex(x, *args, 32, wpk, planes, None, None, 1, 1, 6, 6, ep, 1)
    with pytest.raises(ValueError, match="no activation"):
        ext().bf16_conv_direct_ex(x, *args, 32, wpk, planes, None, yp, 1, 1, 6, 6,
                                  ext().Epilogue(act=1), 1)  # fmt: skip
    with pytest.raises(ValueError, match="yp holds fewer"):
        ext().bf16_conv_direct_ex(x, *args, 32, wpk, planes, None, yp[:100], 1, 1, 6, 6, ep, 1)
    with pytest.raises(ValueError, match="stride 1"):
        ext().bf16_conv_direct_ex(None, 32, 8, 8, 3, 3, 2, 2, 1, 1, 1, 1, 4, 4, 32, wpk, planes,
                                  np.zeros((32, 16), F32), None, 0, 0, 0, 0, ep, 1)  # fmt: skip


# ---- the pass (bf16_handoff.py) and the FusedConvPair node --------------------------------------


def _block(m1=32, s2=1, shared=False, act="Relu", cin=32, hw=(12, 10)):
    """conv1 (3x3, cin -> m1, ReLU) -> conv2 (3x3 stride s2) + x (x + x where the shapes differ)
    -> ReLU; `shared`: conv1's result is a graph output too."""
    from tests.converter.optimizer._helpers import graph_of, node

    rng = np.random.default_rng(1)
    nodes = [
        node("Conv", ["x", "w1", "b1"], ["a"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        node(act, ["a"], ["a1"]),
        node("Conv", ["a1", "w2", "b2"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1],
             strides=[s2, s2]),
        node("Add", ["c", "x"] if s2 == 1 and cin == 32 else ["c", "c"], ["s"]),
        node("Relu", ["s"], ["y"]),
    ]  # fmt: skip
    inits = {"w1": values(rng, (m1, cin, 3, 3), 1) * 0.1, "b1": values(rng, (m1,), 1),
             "w2": values(rng, (32, m1, 3, 3), 1) * 0.1, "b2": values(rng, (32,), 1)}  # fmt: skip
    outputs = [("y", None)] + ([("a1", None)] if shared else [])
    return graph_of(nodes, [("x", [1, cin, *hw])], outputs, inits)


def _session(graph, monkeypatch, handoff: bool):
    import gossamer

    monkeypatch.setenv("GOSSAMER_BF16_HANDOFF", "1" if handoff else "0")
    # no pixel-block chain (bf16_pix_chain.py): the unpaired convs would form one, whose bf16
    # residual is not the pair's float32 one; these tests compare the hand-off with its convs
    monkeypatch.setenv("GOSSAMER_BF16_PIX", "0")
    return gossamer.load(graph, precision="bf16")


def _pairs(session) -> list:
    return [n for n in session.graph.nodes if n.op_type == "FusedConvPair"]


def test_a_block_pairs_and_gives_the_bits_of_its_two_convs(amx: None, monkeypatch) -> None:
    import json

    from gossamer.converter.optimizer.bf16_handoff import METADATA_KEY

    x = values(np.random.default_rng(2), (1, 32, 12, 10), 1)
    paired, plain = _session(_block(), monkeypatch, True), _session(_block(), monkeypatch, False)
    (pair,) = _pairs(paired)
    assert not _pairs(plain)
    assert pair.attrs["activation"] == "Relu" and pair.attrs["second_activation"] == "Relu"
    assert len(pair.inputs) == 6  # the residual Add fused into the second conv: z
    assert json.loads(paired.graph.metadata[METADATA_KEY])["pairs"] == 1
    assert paired.placement.backend_of[pair.name] == "cython-bf16"
    np.testing.assert_array_equal(paired.run(None, {"x": x})[0], plain.run(None, {"x": x})[0])


@pytest.mark.parametrize(
    "kwargs",
    [{"m1": 48}, {"s2": 2}, {"shared": True}, {"act": "Sigmoid"}, {"cin": 3, "hw": (64, 64)}],
    ids=[
        "channels-not-in-32s",
        "strided-second",
        "first-read-elsewhere",
        "other-activation",
        "a-stem-cython-bf16-declines",
    ],  # fmt: skip
)
def test_what_is_not_paired(amx: None, monkeypatch, kwargs) -> None:
    assert not _pairs(_session(_block(**kwargs), monkeypatch, True))


def test_no_pairs_without_the_tiles(monkeypatch) -> None:
    """AMX off (vdpbf16ps, which has no direct conv) or no bf16 at all: the convs stay as they
    are."""
    from gossamer.cython_kernels.bf16_mode import bf16_unavailable

    before = ext().bf16_amx_enabled()
    ext().bf16_set_amx(False)
    try:
        session = _session(_block(), monkeypatch, True)
    finally:
        ext().bf16_set_amx(before)
    assert not _pairs(session)
    assert bf16_unavailable() is not None or session.precision == "bf16"


def test_the_pair_falls_back_to_its_two_convs_where_the_hand_off_does_not_apply(
    amx: None,
) -> None:
    """A weight of another shape than the prepared one (no hand-off): the two convs in turn."""
    from gossamer.cython_kernels.bf16_conv_pair import prepare_fused_conv_pair
    from gossamer.refimpl.ir import Node
    from gossamer.refimpl.ops.op_fused_conv_pair import fused_conv_pair_1

    rng = np.random.default_rng(4)
    x, w1 = values(rng, (1, 8, 6, 6), 1), values(rng, (8, 8, 3, 3), 1)
    w2 = values(rng, (4, 8, 3, 3), 1)
    attrs = {"pads": [1, 1, 1, 1], "second_pads": [1, 1, 1, 1], "activation": "Relu"}
    node = Node("FusedConvPair", ["x", "w1", "", "w2"], ["y"], attrs, "p", "gossamer")
    run = prepare_fused_conv_pair(node, {})
    got = run(x, w1, None, w2, None, None, **attrs)
    want = fused_conv_pair_1(x, w1, None, w2, None, None, **attrs)
    assert got.shape == want.shape == (1, 4, 6, 6)
    np.testing.assert_allclose(got, want, rtol=0.05, atol=0.05 * np.abs(want).max())
