"""Pixel blocks (src/bf16_pix.h): bf16 activations pixel-major in 32-channel blocks, their
reorders from and to float32 NCHW, and the direct conv on AMX tiles that reads and writes them:
the bits of the pair-plane direct conv (bf16.h, the same 16-pair blocks in the same order) on
the same bf16 operands, within bf16_reference.amx_error_bound of the exact conv, the same bits
at every SIMD level, thread count and with the overlap knob off, and a clean decline where the
tiles are not in use."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.conformance.bf16_reference import amx_error_bound, to_bf16
from gossamer.cython_kernels._native import ext
from gossamer.cython_kernels.bf16_pix_chain import pix_weights

from .test_bf16_conv_direct import exact, packed_weights, values

F32 = np.float32
GARBAGE = 0xFFFFFFFF  # a NaN pair: what a buffer holds where the kernels must write


def form(c, h, w, top=1, left=1, bottom=1, right=1) -> tuple[int, ...]:
    return (c, h, w, top, left, top + h + bottom, left + w + right)


def to_pix(x: np.ndarray, f: tuple[int, ...], threads: int = 1) -> np.ndarray:
    out = np.full(ext().bf16_pix_size(f), GARBAGE, np.uint32)
    assert ext().bf16_pix_from_nchw(np.ascontiguousarray(x, F32), f, out, threads)
    return out


def from_pix(p: np.ndarray, f: tuple[int, ...], threads: int = 1) -> np.ndarray:
    y = np.full(f[:3], np.nan, F32)
    assert ext().bf16_pix_to_nchw(p, f, y, threads)
    return y


def expected_form(x: np.ndarray, f: tuple[int, ...]) -> np.ndarray:
    """The form built in numpy: zeros, the rounded image at (top, left) of each block's grid."""
    c, h, w, top, left, hp, wp = f
    blocks = (c + 31) // 32
    grid = np.zeros((blocks, hp * wp + 32, 32), np.uint16)
    bits = to_bf16(x).view(np.uint32) >> 16
    for ch in range(c):
        img = grid[ch // 32, : hp * wp].reshape(hp, wp, 32)
        img[top : top + h, left : left + w, ch % 32] = bits[ch]
    return grid.reshape(-1).view(np.uint32)


@pytest.mark.parametrize(
    ("shape", "pads"),
    [((1, 1, 1), (1, 1, 1, 1)), ((3, 5, 7), (0, 0, 0, 0)), ((32, 4, 16), (1, 1, 1, 1)),
     ((70, 9, 33), (2, 0, 1, 3)), ((64, 56, 56), (1, 1, 1, 1))],
)  # fmt: skip
@pytest.mark.parametrize("threads", [1, 2])
def test_reorders_round_and_place_the_image(amx: None, shape, pads, threads) -> None:
    rng = np.random.default_rng(sum(shape))
    x = values(rng, shape, 4)
    f = form(*shape, *pads)
    p = to_pix(x, f, threads)
    np.testing.assert_array_equal(p, expected_form(x, f))
    np.testing.assert_array_equal(from_pix(p, f, threads), to_bf16(x))


def pix_conv(x, w, pads, bias=None, z=None, lo=-np.inf, hi=np.inf, *, out="form", threads=1,
             xpad=None, ypad=(1, 1, 1, 1), s=1):  # fmt: skip
    """The pixel-blocks conv of x (c, h, w) float32 with w (m, c, kh, kw), pads (top, left,
    bottom, right), stride s: float32 (m, oh, ow), read back from the output form where
    out="form"."""
    m, c, kh, kw = w.shape
    _, h, wd = x.shape
    oh, ow = (h + pads[0] + pads[2] - kh) // s + 1, (wd + pads[1] + pads[3] - kw) // s + 1
    xf = form(c, h, wd, *(xpad or pads))
    zf = form(m, oh, ow) if z is not None else None
    zp = to_pix(z, zf) if z is not None else None
    xp = to_pix(x, xf)
    if s > 1:
        split = np.full(ext().bf16_pix_phases_size(xf, s), GARBAGE, np.uint32)
        assert ext().bf16_pix_phases(xp, xf, s, split, threads)
        xp = split
    args = (xp, xf, s, kh, kw, pads[0], pads[1], oh, ow, m, pix_weights(w), bias, zp, zf)
    if out == "form":
        yf = form(m, oh, ow, *ypad)
        yp = np.full(ext().bf16_pix_size(yf), GARBAGE, np.uint32)
        assert ext().bf16_pix_conv(*args, lo, hi, yp, yf, None, threads)
        got = from_pix(yp, yf)
        np.testing.assert_array_equal(yp, expected_form(got, yf))  # zeros around the image
        return got
    y = np.full((m, oh * ow), np.nan, F32)
    assert ext().bf16_pix_conv(*args, lo, hi, None, None, y, threads)
    return y.reshape(m, oh, ow)


def plane_conv(x, w, pads, bias=None, z=None, lo=-np.inf, hi=np.inf, threads=1, s=1):
    """bf16.h's pair-plane direct conv of the same operands (x rounded to bf16 first: its own
    rounding pass then keeps it)."""
    m, c, kh, kw = w.shape
    _, h, wd = x.shape
    oh, ow = (h + pads[0] + pads[2] - kh) // s + 1, (wd + pads[1] + pads[3] - kw) // s + 1
    planes = np.zeros(ext().bf16_conv_planes_size(c, kh, kw, s, s, 1, 1, oh, ow), np.uint32)
    y = np.full((m, oh * ow), np.nan, F32)
    res = None if z is None else to_bf16(z).reshape(m, -1)
    ep = ext().Epilogue(bias_row=bias, residual=res, clip=True, lo=lo, hi=hi)
    assert ext().bf16_conv_direct(to_bf16(x), kh, kw, s, s, 1, 1, pads[0], pads[1], oh, ow,
                                  packed_weights(w), planes, y, ep, threads)  # fmt: skip
    return y.reshape(m, oh, ow)


CASES = [  # m, c, h, w, kernel, pads (top, left, bottom, right)
    (1, 1, 1, 1, (3, 3), (1, 1, 1, 1)),
    (17, 5, 9, 11, (3, 3), (1, 1, 1, 1)),  # odd channel counts: one block, partial tiles
    (24, 32, 14, 14, (3, 3), (1, 1, 1, 1)),
    (30, 70, 7, 7, (3, 3), (1, 1, 1, 1)),  # 3 input blocks; 2 channel tiles, the last partial
    (48, 64, 8, 8, (1, 1), (0, 0, 0, 0)),  # 1x1 (in a padded form)
    (40, 33, 10, 6, (3, 3), (0, 2, 1, 0)),  # asymmetric pads
    (16, 40, 8, 10, (5, 1), (2, 0, 2, 0)),
    (64, 64, 56, 56, (3, 3), (1, 1, 1, 1)),  # ResNet-18's layer1
    (96, 128, 28, 28, (3, 3), (1, 1, 1, 1)),
]


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("case", CASES)
def test_conv_gives_the_pair_plane_convs_bits(amx: None, case, threads) -> None:
    """Bias, residual (bf16, from its form) and clip; the float32 output bit for bit the pair-plane
    conv's, the form's output its rounding, both within the AMX bound of the exact conv."""
    m, c, h, wd, (kh, kw), pads = case
    rng = np.random.default_rng(m * 100 + c)
    x, w = values(rng, (c, h, wd), 3), values(rng, (m, c, kh, kw), 3)
    oh, ow = h + pads[0] + pads[2] - kh + 1, wd + pads[1] + pads[3] - kw + 1
    bias, z = values(rng, (m,), 2), values(rng, (m, oh, ow), 2)
    want = plane_conv(x, w, pads, bias, z, 0.0, np.inf, threads)
    got = pix_conv(x, w, pads, bias, z, 0.0, np.inf, out="float32", threads=threads)
    np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32))
    got_form = pix_conv(x, w, pads, bias, z, 0.0, np.inf, threads=threads)
    np.testing.assert_array_equal(got_form, to_bf16(want))
    raw = pix_conv(x, w, pads, out="float32", threads=threads)
    ex, scale = exact(x, w, pads, (1, 1))
    assert np.all(np.abs(raw.astype(np.float64) - ex) <= amx_error_bound(c * kh * kw) * scale)


STRIDED = [  # m, c, h, w, kernel, pads, stride
    (64, 64, 56, 56, (3, 3), (1, 1, 1, 1), 2),  # ResNet's downsampling 3x3
    (128, 64, 56, 56, (1, 1), (0, 0, 0, 0), 2),  # its 1x1 shortcut: one phase of the padded form
    (40, 48, 15, 13, (3, 3), (1, 1, 1, 1), 2),  # odd sizes
    (20, 36, 7, 7, (1, 1), (0, 0, 0, 0), 2),
    (9, 10, 17, 19, (5, 3), (1, 1, 1, 1), 3),
    (8, 33, 30, 30, (3, 3), (1, 1, 1, 1), 4),  # the largest stride
]


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("case", STRIDED)
def test_strided_conv_on_the_phase_split_gives_the_pair_plane_convs_bits(
    amx: None, case, threads
) -> None:
    m, c, h, wd, (kh, kw), pads, s = case
    rng = np.random.default_rng(m * 10 + c)
    x, w = values(rng, (c, h, wd), 3), values(rng, (m, c, kh, kw), 3)
    bias = values(rng, (m,), 2)
    want = plane_conv(x, w, pads, bias, None, 0.0, np.inf, threads, s)
    got = pix_conv(x, w, pads, bias, None, 0.0, np.inf, out="float32", threads=threads, s=s,
                   xpad=(1, 1, 1, 1))  # fmt: skip
    np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32))
    got = pix_conv(x, w, pads, bias, None, 0.0, np.inf, threads=threads, s=s, xpad=(1, 1, 1, 1))
    np.testing.assert_array_equal(got, to_bf16(want))


def test_the_phase_split_places_every_pixel(amx: None) -> None:
    rng = np.random.default_rng(8)
    x = values(rng, (40, 9, 11), 2)
    f = form(40, 9, 11)
    p = to_pix(x, f)
    for s in (2, 3, 4):
        split = np.full(ext().bf16_pix_phases_size(f, s), GARBAGE, np.uint32)
        assert ext().bf16_pix_phases(p, f, s, split, 2)
        hp, wp = f[5], f[6]
        hq, wq = -(-hp // s), -(-wp // s)
        grid = p.reshape(2, -1, 16)[:, : hp * wp].reshape(2, hp, wp, 16)
        phases = split.reshape(2, s * s, hq * wq + 32, 16)
        assert np.all(phases[:, :, hq * wq :] == 0)  # the tails
        for ry in range(s):
            for rx in range(s):
                got = phases[:, ry * s + rx, : hq * wq].reshape(2, hq, wq, 16)
                want = np.zeros_like(got)
                sub = grid[:, ry::s, rx::s]
                want[:, : sub.shape[1], : sub.shape[2]] = sub
                np.testing.assert_array_equal(got, want)


def test_wider_form_padding_and_other_output_grids(amx: None) -> None:
    """An input form padded beyond the conv's pads, an output form of another grid: the same."""
    rng = np.random.default_rng(7)
    x, w = values(rng, (36, 12, 9), 2), values(rng, (20, 36, 3, 3), 2)
    want = plane_conv(x, w, (1, 1, 1, 1))
    got = pix_conv(x, w, (1, 1, 1, 1), out="float32", xpad=(2, 3, 2, 1))
    np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32))
    got = pix_conv(x, w, (1, 1, 1, 1), xpad=(3, 1, 1, 4), ypad=(0, 2, 3, 0))
    np.testing.assert_array_equal(got, to_bf16(want))


def test_bits_do_not_depend_on_threads_overlap_or_simd_level(amx: None, level) -> None:
    """The conv and the reorders are AMX / AVX-512 code of their own: every SIMD level in force,
    any thread count and the overlap knob give the same bits."""
    rng = np.random.default_rng(5)
    x, w = values(rng, (64, 20, 23), 3), values(rng, (80, 64, 3, 3), 3)
    z = values(rng, (80, 20, 23), 2)
    one = pix_conv(x, w, (1, 1, 1, 1), z=z, threads=1)
    before = ext().bf16_pix_set_overlap(False)
    try:
        np.testing.assert_array_equal(pix_conv(x, w, (1, 1, 1, 1), z=z, threads=2), one)
    finally:
        ext().bf16_pix_set_overlap(before)
    np.testing.assert_array_equal(pix_conv(x, w, (1, 1, 1, 1), z=z, threads=3), one)


def test_special_values_stay(amx: None) -> None:
    """A NaN input reaches every output of its pixel (NaN x 0 is NaN), a residual's infinity
    goes through the clip, NaN through the clip too."""
    rng = np.random.default_rng(6)
    x, w = values(rng, (32, 4, 4), 1), values(rng, (40, 32, 1, 1), 1)
    x[0, 0, 0] = np.nan
    z = np.zeros((40, 4, 4), F32)
    z[3, 3, 3], z[4, 2, 2] = np.inf, -np.inf
    big = 2.0**100
    got = pix_conv(x, w, (0, 0, 0, 0), z=z, lo=-big, hi=big)
    assert np.all(np.isnan(got[:, 0, 0]))
    assert got[3, 3, 3] == big and got[4, 2, 2] == -big
    assert np.isfinite(got[:, 1:, :]).all()


@pytest.mark.parametrize("how", ["amx off", "emulated"])
def test_declines_without_the_tiles(level, how) -> None:
    """With the tiles off (or the emulated implementation) at any SIMD level the conv writes
    nothing and says so (False); the caller keeps its other path."""
    if not ext().bf16_cpu_native():
        pytest.skip("this CPU has no AVX512_BF16")
    before, amx_before = ext().bf16_impl(), ext().bf16_amx_enabled()
    ext().bf16_set_impl("emulated" if how == "emulated" else "native")
    ext().bf16_set_amx(how != "amx off")
    try:
        xf, yf = form(4, 5, 5), form(2, 5, 5)
        x = to_pix(np.ones((4, 5, 5), F32), xf)
        yp = np.full(ext().bf16_pix_size(yf), 7, np.uint32)
        w = pix_weights(np.ones((2, 4, 3, 3), F32))
        args = (x, xf, 1, 3, 3, 1, 1, 5, 5, 2, w, None, None, None, 0.0, 1.0)
        assert not ext().bf16_pix_conv(*args, yp, yf, None, 1)
        assert np.all(yp == 7)
    finally:
        ext().bf16_set_amx(amx_before)
        ext().bf16_set_impl(before)


def test_bad_input_is_refused(amx: None) -> None:
    xf, yf = form(4, 5, 5), form(2, 5, 5)
    x = to_pix(np.ones((4, 5, 5), F32), xf)
    yp = np.zeros(ext().bf16_pix_size(yf), np.uint32)
    w = pix_weights(np.ones((2, 4, 3, 3), F32))
    lo, hi = 0.0, 1.0
    with pytest.raises(ValueError, match="not inside its grid"):
        ext().bf16_pix_size((4, 5, 5, 1, 1, 5, 7))
    with pytest.raises(ValueError, match="wpk"):
        ext().bf16_pix_conv(x, xf, 1, 3, 3, 1, 1, 5, 5, 2, w[:10], None, None, None, lo, hi, yp, yf,
                            None, 1)  # fmt: skip
    with pytest.raises(ValueError, match="yp's image"):
        ext().bf16_pix_conv(x, xf, 1, 3, 3, 1, 1, 5, 4, 2, w, None, None, None, lo, hi, yp, yf,
                            None, 1)  # fmt: skip
    with pytest.raises(ValueError, match="exactly one"):
        ext().bf16_pix_conv(x, xf, 1, 3, 3, 1, 1, 5, 5, 2, w, None, None, None, lo, hi, None, None,
                            None, 1)  # fmt: skip
    # the form's grid does not hold the conv's padding (a pad of 2 on a form padded by 1)
    w5 = pix_weights(np.ones((2, 4, 5, 5), F32))
    with pytest.raises(ValueError, match="geometry|out of range"):
        ext().bf16_pix_conv(x, xf, 1, 5, 5, 2, 2, 5, 5, 2, w5, None, None, None, lo, hi, yp, yf,
                            None, 1)  # fmt: skip


SPLITS = [  # m, c, h, w, kernel, pads, the conv's stride, the split's (its readers') stride
    (64, 64, 56, 56, (3, 3), (1, 1, 1, 1), 1, 2),  # ResNet's stage output, read by the next stage
    (40, 33, 15, 13, (3, 3), (1, 1, 1, 1), 1, 2),  # odd sizes, a partial block
    (20, 36, 9, 11, (1, 1), (0, 0, 0, 0), 2, 2),  # a strided conv writing a split
    (9, 10, 17, 19, (3, 3), (1, 1, 1, 1), 1, 3),
    (8, 33, 10, 10, (3, 3), (1, 1, 1, 1), 1, 4),
]


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("case", SPLITS)
def test_conv_writes_the_next_convs_phase_split(amx: None, case, threads) -> None:
    """ys > 1: the output's phase split, bit for bit the form written then split (the zeros
    around the image, the phases' rows past the grid and the tails included)."""
    m, c, h, wd, (kh, kw), pads, s, ys = case
    rng = np.random.default_rng(m * 7 + c)
    x, w = values(rng, (c, h, wd), 3), values(rng, (m, c, kh, kw), 3)
    bias, z = values(rng, (m,), 2), None
    oh, ow = (h + pads[0] + pads[2] - kh) // s + 1, (wd + pads[1] + pads[3] - kw) // s + 1
    xf, yf = form(c, h, wd), form(m, oh, ow)
    xp = to_pix(x, xf)
    if s > 1:
        split = np.full(ext().bf16_pix_phases_size(xf, s), GARBAGE, np.uint32)
        assert ext().bf16_pix_phases(xp, xf, s, split, threads)
        xp = split
    if s == 1:
        z = values(rng, (m, oh, ow), 2)
    zf = form(m, oh, ow) if z is not None else None
    zp = to_pix(z, zf) if z is not None else None
    args = (xp, xf, s, kh, kw, pads[0], pads[1], oh, ow, m, pix_weights(w), bias, zp, zf, 0.0,
            np.inf)  # fmt: skip
    yp = np.full(ext().bf16_pix_size(yf), GARBAGE, np.uint32)
    assert ext().bf16_pix_conv(*args, yp, yf, None, threads)
    want = np.full(ext().bf16_pix_phases_size(yf, ys), GARBAGE, np.uint32)
    assert ext().bf16_pix_phases(yp, yf, ys, want, 1)
    got = np.full_like(want, GARBAGE)
    assert ext().bf16_pix_conv(*args, got, yf, None, threads, ys)
    np.testing.assert_array_equal(got, want)


def test_a_split_output_needs_its_room(amx: None) -> None:
    xf, yf = form(4, 5, 5), form(2, 5, 5)
    x = to_pix(np.ones((4, 5, 5), F32), xf)
    w = pix_weights(np.ones((2, 4, 3, 3), F32))
    args = (x, xf, 1, 3, 3, 1, 1, 5, 5, 2, w, None, None, None, 0.0, 1.0)
    small = np.zeros(ext().bf16_pix_size(yf), np.uint32)  # the form's room, not the split's
    with pytest.raises(ValueError, match="fewer than"):
        ext().bf16_pix_conv(*args, small, yf, None, 1, 2)
    with pytest.raises(ValueError, match="ys"):
        ext().bf16_pix_conv(*args, small, yf, None, 1, 5)
    with pytest.raises(ValueError, match="needs yp"):
        ext().bf16_pix_conv(*args, None, None, np.zeros((2, 25), F32), 1, 2)


def test_the_split_output_at_every_simd_level(amx: None, level) -> None:
    """The split's epilogue is the conv's AMX / AVX-512 code: every SIMD level in force gives the
    form then split's bits."""
    rng = np.random.default_rng(12)
    x, w = values(rng, (40, 13, 11), 3), values(rng, (36, 40, 3, 3), 3)
    xf, yf = form(40, 13, 11), form(36, 13, 11)
    args = (to_pix(x, xf), xf, 1, 3, 3, 1, 1, 13, 11, 36, pix_weights(w), None, None, None, 0.0,
            np.inf)  # fmt: skip
    yp = np.full(ext().bf16_pix_size(yf), GARBAGE, np.uint32)
    assert ext().bf16_pix_conv(*args, yp, yf, None, 2)
    want = np.full(ext().bf16_pix_phases_size(yf, 2), GARBAGE, np.uint32)
    assert ext().bf16_pix_phases(yp, yf, 2, want, 1)
    got = np.full_like(want, GARBAGE)
    assert ext().bf16_pix_conv(*args, got, yf, None, 2, 2)
    np.testing.assert_array_equal(got, want)


def test_a_prepared_call_is_the_conv_on_its_buffers_contents(amx: None) -> None:
    """bf16_pix_conv_call checks once and holds the buffers; each run() is the conv of what they
    hold then, the bits of bf16_pix_conv."""
    rng = np.random.default_rng(10)
    x0, x1, w = (
        values(rng, (40, 9, 11), 2),
        values(rng, (40, 9, 11), 2),
        values(rng, (24, 40, 3, 3), 2),
    )
    xf, yf = form(40, 9, 11), form(24, 9, 11)
    xp = to_pix(x0, xf)
    y = np.full(ext().bf16_pix_size(yf), GARBAGE, np.uint32)
    args = (xf, 1, 3, 3, 1, 1, 9, 11, 24, pix_weights(w), None, None, None, 0.0, np.inf)
    call = ext().bf16_pix_conv_call(xp, *args, y, yf, None, 2)
    assert call.run()
    want = np.full_like(y, GARBAGE)
    assert ext().bf16_pix_conv(to_pix(x0, xf), *args, want, yf, None, 1)
    np.testing.assert_array_equal(y, want)
    xp[:] = to_pix(x1, xf)  # new contents, the same buffer
    assert call.run()
    assert ext().bf16_pix_conv(to_pix(x1, xf), *args, want, yf, None, 1)
    np.testing.assert_array_equal(y, want)
    with pytest.raises(ValueError, match="fewer than"):
        ext().bf16_pix_conv_call(xp[:-1], *args, y, yf, None, 1)
