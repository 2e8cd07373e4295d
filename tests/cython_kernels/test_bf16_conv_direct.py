"""The direct bf16 conv on AMX tiles (src/bf16.h, gk_bf16_conv_direct: one group, no im2col,
strides through phase planes) against the exact conv of the bf16 operands at
bf16_reference.amx_error_bound, its epilogue, its thread independence, its bad-input errors, and
the Conv node taking it (bf16_conv.py)."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.conformance.bf16_reference import amx_error_bound, to_bf16
from gossamer.cython_kernels._native import ext
from gossamer.refimpl.ir import Value

F32 = np.float32


def values(rng: np.random.Generator, shape: tuple[int, ...], spread: float) -> np.ndarray:
    scale = np.exp2(rng.uniform(-spread, spread, shape))
    return (rng.standard_normal(shape) * scale).astype(F32)


def packed_weights(w: np.ndarray) -> np.ndarray:
    m, c, kh, kw = w.shape
    wr = np.zeros((m, kh, kw, ext().bf16_conv_cpad(c)), F32)
    wr[..., :c] = w.transpose(0, 2, 3, 1)
    wr = wr.reshape(m, -1)
    out = np.zeros(ext().bf16_packed_a_size(*wr.shape), np.uint32)
    ext().bf16_pack_a(wr, out, 1)
    return out


def geometry(x: np.ndarray, w: np.ndarray, pads, dil, st=(1, 1)) -> tuple[int, int]:
    (_, h, wd), (_, _, kh, kw) = x.shape, w.shape
    oh = (h + pads[0] + pads[2] - (kh - 1) * dil[0] - 1) // st[0] + 1
    ow = (wd + pads[1] + pads[3] - (kw - 1) * dil[1] - 1) // st[1] + 1
    return oh, ow


def direct(x, w, pads=(1, 1, 1, 1), dil=(1, 1), threads=1, st=(1, 1), **epilogue) -> np.ndarray:
    m, c, kh, kw = w.shape
    oh, ow = geometry(x, w, pads, dil, st)
    size = ext().bf16_conv_planes_size(c, kh, kw, *st, *dil, oh, ow)
    planes = np.full(size, 0xFFFFFFFF, np.uint32)  # garbage where the padding is not written
    y = np.full((m, oh * ow), np.nan, F32)
    ep = ext().Epilogue(**epilogue)
    assert ext().bf16_conv_direct(x, kh, kw, *st, *dil, pads[0], pads[1], oh, ow,
                                  packed_weights(w), planes, y, ep, threads)  # fmt: skip
    return y.reshape(m, oh, ow)


def exact(x, w, pads=(1, 1, 1, 1), dil=(1, 1), st=(1, 1)) -> tuple[np.ndarray, np.ndarray]:
    """The conv of the bf16-rounded operands in float64, and the sum of |products| per output."""
    m, c, kh, kw = w.shape
    oh, ow = geometry(x, w, pads, dil, st)
    xp = np.pad(to_bf16(x).astype(np.float64), ((0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
    w64 = to_bf16(w).astype(np.float64)
    y, s = np.zeros((m, oh, ow)), np.zeros((m, oh, ow))
    for ky in range(kh):
        for kx in range(kw):
            y0, x0 = ky * dil[0], kx * dil[1]
            win = xp[
                :, y0 : y0 + st[0] * (oh - 1) + 1 : st[0], x0 : x0 + st[1] * (ow - 1) + 1 : st[1]
            ]
            y += np.einsum("mc,chw->mhw", w64[:, :, ky, kx], win)
            s += np.einsum("mc,chw->mhw", np.abs(w64[:, :, ky, kx]), np.abs(win))
    return y, s


CASES = [  # m, c, h, w, kernel, pads, dilations[, strides]
    (1, 1, 1, 1, (3, 3), (1, 1, 1, 1), (1, 1)),
    (8, 3, 9, 7, (3, 3), (1, 1, 1, 1), (1, 1)),
    (24, 32, 14, 14, (3, 3), (1, 1, 1, 1), (1, 1)),
    (30, 70, 7, 7, (3, 3), (1, 1, 1, 1), (1, 1)),
    (64, 64, 20, 19, (3, 3), (1, 1, 1, 1), (1, 1)),
    (13, 33, 11, 5, (3, 3), (0, 2, 1, 0), (1, 1)),  # asymmetric pads
    (17, 20, 12, 12, (3, 3), (2, 2, 2, 2), (2, 2)),  # dilated
    (9, 40, 8, 10, (5, 1), (2, 0, 2, 0), (1, 1)),
    (50, 16, 6, 40, (1, 7), (0, 3, 0, 3), (1, 1)),
    (5, 7, 4, 4, (3, 3), (0, 0, 0, 0), (1, 1)),  # valid: 2 x 2 out
    (12, 20, 56, 56, (3, 3), (1, 1, 1, 1), (1, 1)),  # planes' rows 58 -> 64 pixels
    (64, 64, 56, 56, (3, 3), (1, 1, 1, 1), (1, 1), (2, 2)),  # ResNet's downsampling 3x3
    (40, 48, 15, 13, (3, 3), (1, 1, 1, 1), (1, 1), (2, 2)),  # odd sizes
    (20, 64, 14, 14, (1, 1), (0, 0, 0, 0), (1, 1), (2, 2)),  # its 1x1 shortcut: one phase
    (9, 10, 17, 19, (5, 3), (2, 1, 0, 2), (2, 1), (3, 2)),  # every mix
    (8, 8, 30, 30, (7, 7), (3, 3, 3, 3), (1, 1), (4, 4)),  # the largest stride
    (6, 5, 9, 9, (2, 2), (0, 0, 0, 0), (1, 1), (1, 3)),
]


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("case", CASES)
def test_direct_conv_is_within_the_amx_bound_of_the_exact_conv(amx: None, case, threads) -> None:
    m, c, h, wd, (kh, kw), pads, dil, *st = case
    st = tuple(st[0]) if st else (1, 1)
    rng = np.random.default_rng(m * 1000 + c)
    x, w = values(rng, (c, h, wd), 5), values(rng, (m, c, kh, kw), 5)
    got = direct(x, w, pads, dil, threads, st)
    want, scale = exact(x, w, pads, dil, st)
    err = np.abs(got.astype(np.float64) - want)
    bound = amx_error_bound(c * kh * kw) * scale
    assert np.all(err <= bound), (case, float(np.max(err - bound)))


def test_direct_conv_bits_do_not_depend_on_the_thread_count(amx: None) -> None:
    rng = np.random.default_rng(3)
    x, w = values(rng, (40, 30, 33), 3), values(rng, (50, 40, 3, 3), 3)
    for st in ((1, 1), (2, 2)):
        one = direct(x, w, threads=1, st=st).view(np.uint32)
        for threads in (2, 3):
            got = direct(x, w, threads=threads, st=st).view(np.uint32)
            np.testing.assert_array_equal(got, one)


def test_direct_conv_epilogue_is_the_float32_one(amx: None) -> None:
    rng = np.random.default_rng(4)
    x, w = values(rng, (20, 9, 11), 2), values(rng, (29, 20, 3, 3), 2)
    row, res = values(rng, (29,), 2), values(rng, (29, 9 * 11), 2)
    raw = direct(x, w)
    got = direct(x, w, bias_row=row, residual=res, clip=True, lo=0.0, hi=np.inf)
    want = np.maximum(raw.reshape(29, -1) + row[:, None] + res, 0).reshape(raw.shape)
    np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32))


def test_direct_conv_refuses_bad_input(amx: None) -> None:
    x, w = np.zeros((4, 5, 5), F32), np.zeros((2, 4, 3, 3), F32)
    wp = packed_weights(w)
    planes = np.zeros(ext().bf16_conv_planes_size(4, 3, 3, 1, 1, 1, 1, 5, 5), np.uint32)
    y, ep = np.zeros((2, 25), F32), ext().Epilogue()
    with pytest.raises(ValueError, match="planes"):
        ext().bf16_conv_direct(x, 3, 3, 1, 1, 1, 1, 1, 1, 5, 5, wp, planes[:10], y, ep, 1)
    with pytest.raises(ValueError, match="wpk"):
        ext().bf16_conv_direct(x, 3, 3, 1, 1, 1, 1, 1, 1, 5, 5, wp[:10], planes, y, ep, 1)
    with pytest.raises(ValueError, match="columns"):
        ext().bf16_conv_direct(x, 3, 3, 1, 1, 1, 1, 1, 1, 5, 4, wp, planes, y, ep, 1)
    with pytest.raises(ValueError, match="pads"):
        ext().bf16_conv_direct(x, 3, 3, 1, 1, 1, 1, -1, 1, 5, 5, wp, planes, y, ep, 1)
    with pytest.raises(ValueError, match="strides over"):
        y1 = np.zeros((2, 1), F32)
        ext().bf16_conv_direct(x, 3, 3, 5, 1, 1, 1, 1, 1, 1, 1, wp, planes, y1, ep, 1)
    assert ext().bf16_conv_planes_size(4, 3, 3, 5, 1, 1, 1, 1, 1) == 0
    with pytest.raises(ValueError, match="kernel"):
        ext().bf16_conv_direct(x, 0, 3, 1, 1, 1, 1, 1, 1, 5, 5, wp, planes, y, ep, 1)


def test_direct_conv_declines_without_the_tiles() -> None:
    if not ext().bf16_cpu_native():
        pytest.skip("this CPU has no AVX512_BF16")
    before, amx_before = ext().bf16_impl(), ext().bf16_amx_enabled()
    ext().bf16_set_impl("native")
    ext().bf16_set_amx(False)
    try:
        x, w = np.ones((4, 5, 5), F32), np.ones((2, 4, 3, 3), F32)
        planes = np.zeros(ext().bf16_conv_planes_size(4, 3, 3, 1, 1, 1, 1, 5, 5), np.uint32)
        y = np.full((2, 25), 7.0, F32)
        wp, ep = packed_weights(w), ext().Epilogue()
        assert not ext().bf16_conv_direct(x, 3, 3, 1, 1, 1, 1, 1, 1, 5, 5, wp, planes, y, ep, 1)
        assert np.all(y == 7.0)
    finally:
        ext().bf16_set_amx(amx_before)
        ext().bf16_set_impl(before)


def test_conv_node_on_amx_takes_the_direct_conv(amx: None, monkeypatch) -> None:
    """A FusedConv (bias, residual, Relu) of stride 1 through bf16_conv runs the direct conv, per
    image, within the AMX bound of the exact conv (then the float32 epilogue)."""
    from gossamer.cython_kernels import bf16_conv
    from gossamer.refimpl.ir import Node

    rng = np.random.default_rng(9)
    x, w = values(rng, (2, 48, 10, 10), 2), values(rng, (40, 48, 3, 3), 2)
    b, z = values(rng, (40,), 2), values(rng, (2, 40, 10, 10), 2)
    node = Node("FusedConv", ["x", "w", "b", "", "z"], ["y"],
                {"pads": [1, 1, 1, 1], "activation": "Relu"}, name="c")  # fmt: skip
    calls = []
    real = ext().bf16_conv_direct

    def spy(*args):
        calls.append(args[0].shape)
        return real(*args)

    monkeypatch.setattr(ext(), "bf16_conv_direct", spy)
    conv = bf16_conv.prepare_fused_conv(node, {1: w, 2: b})
    got = conv(x, w, b, None, z, pads=[1, 1, 1, 1])
    assert calls == [(48, 10, 10)] * 2
    for i in range(2):
        want, scale = exact(x[i], w)
        want = np.maximum(want + b[:, None, None] + z[i], 0)
        err = np.abs(got[i].astype(np.float64) - want)
        assert np.all(err <= amx_error_bound(48 * 9) * scale + 2.0**-23 * np.abs(want))


@pytest.mark.parametrize(
    ("kernel", "strides", "taken"),
    [((3, 3), (1, 1), True), ((3, 3), (2, 2), True), ((1, 1), (2, 2), False),
     ((1, 1), (1, 1), False), ((3, 3), (5, 5), False)],
)  # fmt: skip
def test_which_convs_take_the_direct_conv(amx: None, monkeypatch, kernel, strides, taken) -> None:
    """More than one tap and strides up to bf16_conv_max_stride(); 1x1s keep their im2col (no
    expansion there); either way the result is the conv's."""
    from gossamer.cython_kernels import bf16_conv
    from gossamer.refimpl.ir import Node

    calls = []
    real = ext().bf16_conv_direct

    def spy(*args):
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(ext(), "bf16_conv_direct", spy)
    rng = np.random.default_rng(10)
    kh, kw = kernel
    x, w = values(rng, (1, 24, 11, 11), 2), values(rng, (16, 24, kh, kw), 2)
    pads = [kh // 2, kw // 2] * 2
    attrs = {"pads": pads, "strides": list(strides)}
    conv = bf16_conv.prepare_conv(Node("Conv", ["x", "w"], ["y"], attrs, name="c"), {1: w})
    got = conv(x, w, pads=pads, strides=list(strides))
    assert bool(calls) == taken
    want, scale = exact(x[0], w, tuple(pads), (1, 1), strides)
    err = np.abs(got[0].astype(np.float64) - want)
    assert np.all(err <= amx_error_bound(24 * kh * kw) * scale)


@pytest.mark.parametrize(
    ("c", "kernel", "strides", "dilations", "pads"),
    [(3, (7, 7), (2, 2), (1, 1), (3, 3, 3, 3)),  # ResNet's stem
     (4, (5, 5), (1, 3), (1, 1), (2, 1, 2, 3)),  # asymmetric strides and pads
     (2, (3, 8), (2, 1), (2, 2), (1, 0, 2, 4))],  # dilated; kw 8: 16 channels folded
)  # fmt: skip
def test_a_stem_runs_as_the_direct_conv_of_its_folded_columns(
    amx: None, monkeypatch, c, kernel, strides, dilations, pads
) -> None:
    """A stem (few channels, a large plane) with c * kw in [FOLD_MIN, 32] runs on the tiles as the
    direct conv of its columns folded into c * kw channels (a kh x 1 kernel, column stride 1),
    within the AMX bound of the exact conv (the folded K: kh taps of 32 channels)."""
    from gossamer.cython_kernels import bf16_conv
    from gossamer.refimpl.ir import Node

    calls = []
    real = ext().bf16_conv_direct_fold

    def spy(*args):
        calls.append((args[0].shape, args[1:3]))
        return real(*args)

    monkeypatch.setattr(ext(), "bf16_conv_direct_fold", spy)
    rng = np.random.default_rng(11)
    kh, kw = kernel
    x, w = values(rng, (1, c, 66, 70), 2), values(rng, (20, c, kh, kw), 2)
    b = values(rng, (20,), 2)
    attrs = {"pads": list(pads), "strides": list(strides), "dilations": list(dilations)}
    node = Node("Conv", ["x", "w", "b"], ["y"], attrs, name="stem")
    x_value = Value("x", "float32", x.shape)
    assert bf16_conv.conv_refusal(node, [x_value, Value("w", "float32", w.shape)]) is None
    conv = bf16_conv.prepare_conv(node, {1: w, 2: b})
    got = conv(x, w, b, **attrs)
    oh, ow = got.shape[2:]
    assert calls == [((c, 66, 70), (kh, kw))]
    want, scale = exact(x[0], w, pads, dilations, strides)
    want += b[:, None, None]
    err = np.abs(got[0].astype(np.float64) - want)
    assert np.all(err <= amx_error_bound(kh * 32) * scale + 2.0**-23 * np.abs(want))


def folded_columns(x: np.ndarray, kw: int, sw: int, dw: int, pw: int, ow: int) -> np.ndarray:
    """x (c, h, w) as (c * kw, h, ow): channel ci * kw + kx, pixel (y, xo) is the left/right
    padded image at (y, sw * xo + kx * dw), zero in the padding."""
    c, h, wd = x.shape
    xp = np.zeros((c, h, max(sw * (ow - 1) + (kw - 1) * dw + 1, wd + pw)), F32)
    xp[:, :, pw : pw + wd] = x
    out = np.empty((c, kw, h, ow), F32)
    for kx in range(kw):
        out[:, kx] = xp[:, :, kx * dw : kx * dw + sw * (ow - 1) + 1 : sw]
    return out.reshape(c * kw, h, ow)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize(
    ("c", "h", "w", "kernel", "strides", "dilations", "pads"),
    [(3, 40, 45, (7, 7), (2, 2), (1, 1), (3, 3, 3, 3)),
     (4, 17, 30, (5, 5), (1, 3), (1, 1), (2, 1, 2, 3)),  # asymmetric strides and pads
     (2, 20, 26, (3, 8), (2, 1), (2, 2), (1, 0, 2, 4)),  # dilated
     (1, 9, 12, (2, 3), (1, 1), (1, 1), (0, 5, 0, 5))],  # pads wider than the kernel
)  # fmt: skip
def test_the_fold_in_c_gives_the_bits_of_the_direct_conv_of_the_folded_image(
    amx: None, threads, c, h, w, kernel, strides, dilations, pads
) -> None:
    """bf16_conv_direct_fold (the fold gathered while the pair planes are rounded) gives the bits
    of bf16_conv_direct on the image folded in numpy, its epilogue included."""
    rng = np.random.default_rng(12)
    kh, kw = kernel
    (sh, sw), (dh, dw) = strides, dilations
    x, wt = values(rng, (c, h, w), 2), values(rng, (21, c, kh, kw), 2)
    oh, ow = geometry(x, wt, pads, dilations, strides)
    xf = folded_columns(x, kw, sw, dw, pads[1], ow)
    wf = np.ascontiguousarray(wt.transpose(0, 1, 3, 2)).reshape(21, c * kw, kh, 1)
    wpk = packed_weights(wf)
    size = ext().bf16_conv_planes_size(c * kw, kh, 1, sh, 1, dh, 1, oh, ow)
    row, z = values(rng, (21,), 2), values(rng, (21, oh * ow), 2)
    got, want = np.full((21, oh * ow), np.nan, F32), np.full((21, oh * ow), np.nan, F32)
    ep = ext().Epilogue(bias_row=row, residual=z, clip=True, lo=-1.0, hi=3.0)
    planes = np.full(size, 0xFFFFFFFF, np.uint32)
    assert ext().bf16_conv_direct_fold(x, kh, kw, sh, sw, dh, dw, pads[0], pads[1], oh, ow,
                                       wpk, planes, got, ep, threads)  # fmt: skip
    planes = np.full(size, 0xFFFFFFFF, np.uint32)
    assert ext().bf16_conv_direct(xf, kh, 1, sh, 1, dh, 1, pads[0], 0, oh, ow, wpk, planes, want,
                                  ep, threads)  # fmt: skip
    np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32))


def test_the_fold_refuses_planes_too_small_for_its_folded_channels(amx: None) -> None:
    x, w = np.ones((3, 16, 16), F32), np.ones((8, 3, 7, 7), F32)
    wf = np.ascontiguousarray(w.transpose(0, 1, 3, 2)).reshape(8, 21, 7, 1)
    small = np.zeros(ext().bf16_conv_planes_size(21, 7, 1, 2, 1, 1, 1, 8, 8) - 1, np.uint32)
    with pytest.raises(ValueError, match="planes"):
        ext().bf16_conv_direct_fold(x, 7, 7, 2, 2, 1, 1, 3, 3, 8, 8, packed_weights(wf), small,
                                    np.empty((8, 64), F32), ext().Epilogue(), 1)  # fmt: skip


def test_a_stem_with_few_folded_channels_or_without_the_fold_is_declined(amx: None) -> None:
    """MobileNetV2's 3x3 stem (9 channels folded, under FOLD_MIN) stays float32, as does every
    stem with FOLD_STEMS off; ResNet's 7x7 is taken."""
    from gossamer.cython_kernels import bf16_conv
    from gossamer.refimpl.ir import Node

    def refusal(kernel: tuple[int, int]) -> str | None:
        node = Node("Conv", ["x", "w"], ["y"], {"pads": [1, 1, 1, 1]}, name="stem")
        x, w = Value("x", "float32", (1, 3, 224, 224)), Value("w", "float32", (32, 3, *kernel))
        return bf16_conv.conv_refusal(node, [x, w])

    assert refusal((7, 7)) is None
    assert "direct conv" in (refusal((3, 3)) or "")
    before = bf16_conv.FOLD_STEMS
    bf16_conv.FOLD_STEMS = False
    try:
        assert "direct conv" in (refusal((7, 7)) or "")
    finally:
        bf16_conv.FOLD_STEMS = before


def test_the_reused_planes_give_the_bits_of_fresh_ones(amx: None) -> None:
    """The direct conv's pair planes from bf16_conv._planes (one 2 MB-aligned buffer per thread,
    reused: it holds the last call's planes) give the bits of a fresh buffer, conv after conv."""
    from gossamer.cython_kernels import bf16_conv
    from gossamer.refimpl.ir import Node

    rng = np.random.default_rng(12)
    nodes = []
    for c, hw in ((16, 20), (40, 9)):
        x, w = values(rng, (1, c, hw, hw), 2), values(rng, (24, c, 3, 3), 2)
        node = Node("Conv", ["x", "w"], ["y"], {"pads": [1, 1, 1, 1]}, name=f"c{c}")
        nodes.append((bf16_conv.prepare_conv(node, {1: w}), x, w))
    before = bf16_conv.REUSE_PLANES
    try:
        outs = {}
        for reuse in (False, True, True):
            bf16_conv.REUSE_PLANES = reuse
            outs.setdefault(reuse, []).append([f(x, w, pads=[1, 1, 1, 1]) for f, x, w in nodes])
    finally:
        bf16_conv.REUSE_PLANES = before
    for fresh, *reused in zip(outs[False][0], *outs[True], strict=True):
        for r in reused:
            assert np.array_equal(r, fresh)
    planes = bf16_conv._planes(10)
    assert planes.ctypes.data % (2 << 20) == 0 and planes.dtype == np.uint32


def _switch_keeps_the_bits(switch, seed: int, threads: int) -> None:  # noqa: ANN001 - ext()'s
    """The direct conv's outputs with `switch(False)` and `switch(True)` (the default) are the same
    bits: every CASES geometry (rows narrower than a tile, strides, padded widths), with no
    epilogue, with bias, residual and clip, and with a column bias; the switch is left on."""
    assert switch() is True  # the default
    rng = np.random.default_rng(seed)
    try:
        for case in CASES:
            m, c, h, wd, (kh, kw), pads, dil, *st = case
            st = tuple(st[0]) if st else (1, 1)
            x, w = values(rng, (c, h, wd), 4), values(rng, (m, c, kh, kw), 4)
            oh, ow = geometry(x, w, pads, dil, st)
            res = values(rng, (m, oh * ow), 4)
            res[0, -1] = np.nan  # a NaN residual stays NaN through the clip either way
            for epilogue in (
                {},
                {"bias_row": values(rng, (m,), 3), "residual": res, "clip": True, "lo": 0.0,
                 "hi": np.inf},
                {"bias_col": values(rng, (oh * ow,), 3), "clip": True, "lo": -0.5, "hi": 0.25},
            ):  # fmt: skip
                outs = []
                for on in (False, True):
                    switch(on)
                    outs.append(direct(x, w, pads, dil, threads, st, **epilogue).view(np.uint32))
                np.testing.assert_array_equal(outs[1], outs[0], err_msg=str((case, epilogue)))
    finally:
        switch(True)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_tiles_storing_the_output_give_the_bits_of_the_copy_and_epilogue_pass(
    amx: None, threads: int
) -> None:
    """The tiles writing y with the epilogue themselves (bf16_conv_set_fused(True): each
    16-column tile split into the valid runs of the output rows it crosses) give the bits of the
    tile buffer + copy of the valid columns + the float32 epilogue's pass, at 1-3 threads."""
    _switch_keeps_the_bits(ext().bf16_conv_set_fused, 21, threads)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_storing_a_tile_during_the_next_ones_products_gives_the_same_bits(
    amx: None, threads: int
) -> None:
    """The tiles storing each tile's output while the next tile multiplies
    (bf16_conv_set_overlap(True)) give the bits of storing it after each tile, at 1-3 threads."""
    _switch_keeps_the_bits(ext().bf16_conv_set_overlap, 22, threads)
