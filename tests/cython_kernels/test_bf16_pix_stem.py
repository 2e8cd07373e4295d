"""A stem and a MaxPool on the pixel blocks (src/bf16_pix.h). The pool (gk_bf16_pix_maxpool):
the numpy pool of the rounded image, bit for bit (the window's image pixels only: negative
values, infinities, pads), at every SIMD level and thread count. The stem (gk_bf16_pix_expand):
the expansion written from
the float32 image (each pixel's c * kw channels a row of the kernel) placed as numpy places it,
and the kh x 1 block conv of it giving the bits of the folded pair-plane stem (bf16.h's
gk_bf16_conv_direct_fold: the same folded channels, the same 16-pair blocks in the same order),
within the AMX bound of the exact conv; every SIMD level, 1-3 threads, odd sizes, and a clean
decline without the tiles (the session's stem then runs as before)."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.conformance.bf16_reference import amx_error_bound, to_bf16
from gossamer.cython_kernels._native import ext
from gossamer.cython_kernels.bf16_pix_chain import pix_weights

from .test_bf16_conv_direct import exact, folded_columns, packed_weights, values
from .test_bf16_pix import expected_form, form, from_pix, to_pix

F32 = np.float32
GARBAGE = 0xFFFFFFFF

POOLS = [  # c, h, w, kernel, stride, pads (top, left, bottom, right)
    (64, 112, 112, (3, 3), 2, (1, 1, 1, 1)),  # ResNet's, after its stem
    (70, 13, 9, (3, 3), 2, (1, 1, 1, 1)),  # three blocks, the last partial; odd sizes
    (5, 8, 11, (2, 2), 2, (0, 0, 0, 0)),
    (33, 7, 6, (3, 3), 1, (1, 1, 1, 1)),
    (16, 10, 9, (3, 2), 3, (2, 0, 2, 1)),  # asymmetric
    (1, 1, 1, (1, 1), 1, (0, 0, 0, 0)),
]


def numpy_pool(x, kernel, s, pads):
    c, h, w = x.shape
    (kh, kw), (pt, pl, pb, pr) = kernel, pads
    xp = np.full((c, h + pt + pb, w + pl + pr), -np.inf, F32)
    xp[:, pt : pt + h, pl : pl + w] = to_bf16(x)
    oh, ow = (h + pt + pb - kh) // s + 1, (w + pl + pr - kw) // s + 1
    y = np.full((c, oh, ow), -np.inf, F32)
    for ky in range(kh):
        for kx in range(kw):
            y = np.maximum(y, xp[:, ky : ky + s * (oh - 1) + 1 : s, kx : kx + s * (ow - 1) + 1 : s])
    return y


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("case", POOLS)
def test_the_pool_on_the_blocks_is_numpys(amx: None, case, threads) -> None:
    c, h, w, kernel, s, pads = case
    rng = np.random.default_rng(c * h)
    x = values(rng, (c, h, w), 3) - 1.0  # mostly negative: the grid's zeros must not enter
    x[0, 0, 0], x[-1, -1, -1] = np.inf, -np.inf
    want = numpy_pool(x, kernel, s, pads)
    xf, yf = form(c, h, w, 1, 2, 3, 1), form(c, *want.shape[1:], 2, 1, 1, 2)
    yp = np.full(ext().bf16_pix_size(yf), GARBAGE, np.uint32)
    assert ext().bf16_pix_maxpool(to_pix(x, xf), xf, *kernel, s, *pads[:2], yp, yf, threads)
    np.testing.assert_array_equal(yp, expected_form(want, yf))  # zeros around the image too


def test_the_pools_bits_at_every_simd_level(amx: None, level) -> None:
    c, h, w, kernel, s, pads = POOLS[1]
    x = values(np.random.default_rng(8), (c, h, w), 3)
    want = numpy_pool(x, kernel, s, pads)
    xf, yf = form(c, h, w), form(c, *want.shape[1:])
    yp = np.full(ext().bf16_pix_size(yf), GARBAGE, np.uint32)
    assert ext().bf16_pix_maxpool(to_pix(x, xf), xf, *kernel, s, *pads[:2], yp, yf, 2)
    np.testing.assert_array_equal(from_pix(yp, yf), want)


def test_a_pool_window_of_pads_alone_is_refused(amx: None) -> None:
    xf, yf = form(4, 5, 5), form(4, 4, 4)
    x, yp = (
        np.zeros(ext().bf16_pix_size(xf), np.uint32),
        np.zeros(ext().bf16_pix_size(yf), np.uint32),
    )
    with pytest.raises(ValueError, match="below the kernel"):
        ext().bf16_pix_maxpool(x, xf, 3, 3, 2, 3, 1, yp, yf, 1)
    with pytest.raises(ValueError, match="all pad"):
        ext().bf16_pix_maxpool(x, xf, 3, 3, 2, 1, 1, yp, yf, 1)  # 4 rows: the last reads row 5
    with pytest.raises(ValueError, match="channels"):
        ext().bf16_pix_maxpool(x, xf, 3, 3, 2, 1, 1, yp, form(3, 3, 3), 1)


# c, h, w, kernel, strides (row, column), column dilation, pads (top, left, bottom, right)
STEMS = [
    (3, 40, 45, (7, 7), (2, 2), 1, (3, 3, 3, 3)),  # ResNet's stem, odd sizes
    (3, 224, 224, (7, 7), (2, 2), 1, (3, 3, 3, 3)),  # ResNet's stem itself
    (4, 17, 30, (5, 5), (1, 3), 1, (2, 1, 2, 3)),  # row stride 1: the form; column stride 3
    (2, 20, 26, (3, 8), (2, 1), 2, (1, 0, 2, 4)),  # column dilation, kw 8: 16 channels
    (1, 9, 12, (2, 3), (3, 1), 1, (0, 5, 0, 5)),  # pads wider than the kernel, stride 3
    (8, 19, 33, (3, 4), (4, 2), 1, (1, 2, 1, 1)),  # 32 channels, stride 4
]


def geometry(c, h, w, kernel, strides, dw, pads):
    kh, kw = kernel
    oh = (h + pads[0] + pads[2] - kh) // strides[0] + 1
    ow = (w + pads[1] + pads[3] - dw * (kw - 1) - 1) // strides[1] + 1
    return oh, ow


def expansion(x, kernel, strides, dw, pads, oh, ow):
    """The expansion's form, its buffer (GARBAGE where unwritten) and the kernel's call."""
    c, h, w = x.shape
    (kh, kw), s = kernel, strides[0]
    f = ext().bf16_pix_expand_form(c, h, kh, kw, s, pads[0], oh, ow)
    size = ext().bf16_pix_size(f) if s == 1 else ext().bf16_pix_phases_size(f, s)
    return f, np.full(size, GARBAGE, np.uint32)


def expected_rows(x, kernel, strides, dw, pads, oh, ow, f):
    """The phases (ry, 0) of the expansion's split built in numpy: (s, hq, ow, 32) bf16 bits."""
    kw, (s, sw) = kernel[1], strides
    c, h, w = x.shape
    folded = folded_columns(x, kw, sw, dw, pads[1], ow)  # (c kw, h, ow), channel ci kw + kx
    bits = (to_bf16(folded).view(np.uint32) >> 16).astype(np.uint16)
    top, hq = f[3], f[5] // s
    out = np.zeros((s, hq, ow, 32), np.uint16)
    for ry in range(s):
        for yy in range(hq):
            y = s * yy + ry - top
            if 0 <= y < h:
                out[ry, yy, :, : c * kw] = bits[:, y, :].T
    return out


def phase_rows(p, f, s, ow):
    """The expansion's phases (ry, 0) as (s, hq, ow, 32) bf16 bits, and their tails."""
    hq = f[5] // s
    phase = (hq * (f[6] // s) + 32) if s > 1 else ext().bf16_pix_block(f)
    grid = p.view(np.uint16).reshape(-1, 32)
    rows = np.stack([grid[ry * s * phase : ry * s * phase + hq * ow] for ry in range(s)])
    tails = np.stack([grid[ry * s * phase + hq * ow : (ry * s + 1) * phase] for ry in range(s)])
    return rows.reshape(s, hq, ow, 32), tails


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("case", STEMS)
def test_the_expansion_is_numpys(amx: None, case, threads) -> None:
    c, h, w, kernel, strides, dw, pads = case
    rng = np.random.default_rng(h * w)
    x = values(rng, (c, h, w), 3)
    oh, ow = geometry(*case)
    f, p = expansion(x, kernel, strides, dw, pads, oh, ow)
    assert f[0] == c * kernel[1] and f[3:5] == (pads[0], 0)
    assert ext().bf16_pix_expand(x, *kernel, strides[0], strides[1], dw, pads[0], pads[1], oh,
                                 ow, p, threads)  # fmt: skip
    rows, tails = phase_rows(p, f, strides[0], ow)
    np.testing.assert_array_equal(rows, expected_rows(x, kernel, strides, dw, pads, oh, ow, f))
    assert not tails.any()


def stem(x, wt, kernel, strides, dw, pads, oh, ow, bias, lo, hi, threads):
    """The stem on the blocks: the expansion, then the kh x 1 block conv to float32 (m, oh ow)."""
    (kh, kw), (s, sw) = kernel, strides
    m, c = wt.shape[:2]
    f, p = expansion(x, kernel, strides, dw, pads, oh, ow)
    assert ext().bf16_pix_expand(x, kh, kw, s, sw, dw, pads[0], pads[1], oh, ow, p, threads)
    wf = np.ascontiguousarray(wt.transpose(0, 1, 3, 2)).reshape(m, c * kw, kh, 1)
    y = np.full((m, oh * ow), np.nan, F32)
    assert ext().bf16_pix_conv(p, f, s, kh, 1, pads[0], 0, oh, ow, m, pix_weights(wf), bias,
                               None, None, lo, hi, None, None, y, threads)  # fmt: skip
    return y


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("case", STEMS)
def test_the_stem_gives_the_folded_stems_bits(amx: None, case, threads) -> None:
    """The same bf16 operands summed in the same blocks and order as bf16_conv_direct_fold, the
    same epilogue (bias, clip): the same float32 bits; within the AMX bound of the exact conv."""
    c, h, w, kernel, strides, dw, pads = case
    (kh, kw), (s, sw) = kernel, strides
    rng = np.random.default_rng(c + h)
    x, wt, b = values(rng, (c, h, w), 2), values(rng, (21, c, kh, kw), 2), values(rng, (21,), 2)
    oh, ow = geometry(*case)
    got = stem(x, wt, kernel, strides, dw, pads, oh, ow, b, -1.0, 3.0, threads)
    wf = np.ascontiguousarray(wt.transpose(0, 1, 3, 2)).reshape(21, c * kw, kh, 1)
    planes = np.full(ext().bf16_conv_planes_size(c * kw, kh, 1, s, 1, 1, 1, oh, ow), GARBAGE,
                     np.uint32)  # fmt: skip
    want = np.full((21, oh * ow), np.nan, F32)
    ep = ext().Epilogue(bias_row=b, clip=True, lo=-1.0, hi=3.0)
    assert ext().bf16_conv_direct_fold(x, kh, kw, s, sw, 1, dw, pads[0], pads[1], oh, ow,
                                       packed_weights(wf), planes, want, ep, threads)  # fmt: skip
    np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32))
    plain = stem(x, wt, kernel, strides, dw, pads, oh, ow, b, -np.inf, np.inf, threads)
    exact_y, scale = exact(x, wt, pads, (1, dw), strides)
    exact_y += b[:, None, None]
    err = np.abs(plain.reshape(exact_y.shape).astype(np.float64) - exact_y)
    assert np.all(err <= amx_error_bound(kh * 32) * scale + 2.0**-23 * np.abs(exact_y))


def test_bits_do_not_depend_on_the_simd_level(amx: None, level) -> None:
    """The expansion and the conv are AMX / AVX-512 code of their own at every SIMD level."""
    case = STEMS[0]
    rng = np.random.default_rng(3)
    x, wt, b = values(rng, (3, 40, 45), 2), values(rng, (64, 3, 7, 7), 2), values(rng, (64,), 2)
    oh, ow = geometry(*case)
    args = (x, wt, (7, 7), (2, 2), 1, (3, 3, 3, 3), oh, ow, b, 0.0, np.inf)
    one = stem(*args, 1)
    np.testing.assert_array_equal(stem(*args, 2), one)
    assert one.min() == 0.0 and one.max() > 0.0


def test_special_values_reach_their_outputs(amx: None) -> None:
    """An infinity in the image reaches every output whose window holds it (and no other)."""
    rng = np.random.default_rng(4)
    x, wt = values(rng, (3, 21, 22), 1), np.abs(values(rng, (16, 3, 7, 7), 1)) + 0.25
    x[1, 10, 11] = np.inf
    oh, ow = geometry(3, 21, 22, (7, 7), (2, 2), 1, (3, 3, 3, 3))
    y = stem(x, wt, (7, 7), (2, 2), 1, (3, 3, 3, 3), oh, ow, None, -np.inf, np.inf, 1)
    y = y.reshape(16, oh, ow)
    hit = np.zeros((oh, ow), bool)
    for oy in range(oh):
        for ox in range(ow):
            hit[oy, ox] = 0 <= 10 + 3 - 2 * oy < 7 and 0 <= 11 + 3 - 2 * ox < 7
    assert np.all(np.isposinf(y[:, hit])) and np.isfinite(y[:, ~hit]).all()


@pytest.mark.parametrize("how", ["amx off", "emulated"])
def test_declines_without_the_tiles(level, how) -> None:
    """The expansion needs AVX512_BF16 alone; the conv declines (False, nothing written) with
    the tiles off or the emulated implementation, at any SIMD level."""
    if not ext().bf16_cpu_native():
        pytest.skip("this CPU has no AVX512_BF16")
    before, amx_before = ext().bf16_impl(), ext().bf16_amx_enabled()
    ext().bf16_set_impl("emulated" if how == "emulated" else "native")
    ext().bf16_set_amx(how != "amx off")
    try:
        x = np.ones((3, 16, 16), F32)
        f, p = expansion(x, (7, 7), (2, 2), 1, (3, 3, 3, 3), 8, 8)
        assert ext().bf16_pix_expand(x, 7, 7, 2, 2, 1, 3, 3, 8, 8, p, 1)
        wf = np.ones((4, 21, 7, 1), F32)
        y = np.full((4, 64), 7.0, F32)
        assert not ext().bf16_pix_conv(p, f, 2, 7, 1, 3, 0, 8, 8, 4, pix_weights(wf), None, None,
                                       None, 0.0, 1.0, None, None, y, 1)  # fmt: skip
        assert np.all(y == 7.0)
    finally:
        ext().bf16_set_amx(amx_before)
        ext().bf16_set_impl(before)


def test_bad_geometry_is_refused() -> None:
    x = np.ones((3, 16, 16), F32)
    with pytest.raises(ValueError, match="over 32 channels"):
        ext().bf16_pix_expand_form(5, 16, 7, 7, 2, 3, 8, 8)  # 35 channels
    with pytest.raises(ValueError, match="stride"):
        ext().bf16_pix_expand_form(3, 16, 7, 7, 5, 3, 8, 8)
    f = ext().bf16_pix_expand_form(3, 16, 7, 7, 2, 3, 8, 8)
    small = np.zeros(ext().bf16_pix_phases_size(f, 2) - 1, np.uint32)
    with pytest.raises(ValueError, match="fewer than"):
        ext().bf16_pix_expand(x, 7, 7, 2, 2, 1, 3, 3, 8, 8, small, 1)
    with pytest.raises(ValueError, match="stride or dilation"):
        ext().bf16_pix_expand(x, 7, 7, 2, 0, 1, 3, 3, 8, 8, small, 1)
