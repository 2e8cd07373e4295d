"""winograd_conv (src/winograd.c) on whole and edge-cut tiles, F(4x4) and F(2x2), at every SIMD
level: against a float64 convolution, bit for bit across chunk sizes and thread counts, and its
residual epilogue bit for bit against the plain output plus the residual, clipped."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.cython_kernels._native import ext

RNG = np.random.default_rng(25)
F32 = np.float32

# (c, m, h, w): whole tiles only (56x56, 28x28 at F(4x4); 8x8 at F(2x2)) and planes whose last
# tile row / column is cut (13x11, 7x7 at F(4x4); 7x7, 9x14 at F(2x2))
# 70 columns: tile rows of 18 (F(4x4)) / 35 tiles, longer than a 16-tile panel (the AVX-512
# gather's runs of 16 tiles, its widest stretch of a row, 66 values)
PLANES = [
    (16, 24, 56, 56),
    (24, 16, 28, 28),
    (8, 12, 13, 11),
    (32, 20, 7, 7),
    (12, 8, 9, 14),
    (4, 6, 9, 70),
]


def _conv(mt, x, u, m, b, lo, hi, clip, chunk, threads, res=None, pads=(1, 1), out=None):
    n, c, h, w = x.shape
    oh, ow = out or (h, w)
    y = np.empty((n, m, oh, ow), F32)
    work = np.empty(ext().winograd_work(mt, c, m, oh, ow, chunk, threads), F32)
    ext().winograd_conv(mt, x, *pads, u, m, b, lo, hi, clip, y, work, chunk, threads, residual=res)
    return y


def _reference(x, w, b, pads=(1, 1), out=None):
    n, c, h, wd = x.shape
    (ph, pw), (oh, ow) = pads, out or (h, wd)
    xp = np.pad(
        x.astype(np.float64), ((0, 0), (0, 0), (ph, oh + 2 - h - ph), (pw, ow + 2 - wd - pw))
    )
    y = np.zeros((n, w.shape[0], oh, ow))
    for i in range(3):
        for j in range(3):
            y += np.einsum("nchw,mc->nmhw", xp[:, :, i : i + oh, j : j + ow], w[:, :, i, j])
    return y + b[None, :, None, None]


@pytest.mark.parametrize("mt", [4, 2])
@pytest.mark.parametrize("plane", PLANES, ids=[f"{p[2]}x{p[3]}" for p in PLANES])
def test_winograd_conv_tiles_and_residual(level, mt, plane):
    from gossamer.cython_kernels.conv_kernels import _Conv

    c, m, h, w = plane
    x = RNG.standard_normal((2, c, h, w)).astype(F32)
    wt = (RNG.standard_normal((m, c, 3, 3)) * 0.2).astype(F32)
    b = RNG.standard_normal(m).astype(F32)
    z = RNG.standard_normal((2, m, h, w)).astype(F32)
    u = _Conv._pack_winograd(wt, mt)
    plain = _conv(mt, x, u, m, b, 0.0, 0.0, False, 32, 1)
    np.testing.assert_allclose(plain, _reference(x, wt, b), rtol=1e-3, atol=1e-3)
    relu = _conv(mt, x, u, m, b, 0.0, np.inf, True, 32, 1)
    assert np.array_equal(relu, np.maximum(plain, 0))
    want = np.clip(plain + z, -0.5, 0.75)  # the residual added to the output, then the clip
    for chunk, threads in [(32, 1), (1000, 1), (64, 2), (1000, 2), (32, 3)]:
        again = _conv(mt, x, u, m, b, 0.0, 0.0, False, chunk, threads)
        assert np.array_equal(again.view(np.uint32), plain.view(np.uint32)), (chunk, threads)
        got = _conv(mt, x, u, m, b, -0.5, 0.75, True, chunk, threads, z)
        assert np.array_equal(got.view(np.uint32), want.view(np.uint32)), (chunk, threads)


# (pads begin, output plane) for a 13x11 input: none, the end only, more than the window's
# reach at the top (rows read as zeros by the gather: no padded copy of the input)
PADS = [((0, 0), (11, 9)), ((0, 1), (12, 11)), ((2, 1), (15, 11))]


@pytest.mark.parametrize("mt", [4, 2])
@pytest.mark.parametrize("pads,out", PADS, ids=["none", "end", "top2"])
def test_winograd_conv_pads(level, mt, pads, out):
    from gossamer.cython_kernels.conv_kernels import _Conv

    x = RNG.standard_normal((1, 8, 13, 11)).astype(F32)
    wt = (RNG.standard_normal((12, 8, 3, 3)) * 0.2).astype(F32)
    b = RNG.standard_normal(12).astype(F32)
    u = _Conv._pack_winograd(wt, mt)
    y = _conv(mt, x, u, 12, b, 0.0, 0.0, False, 32, 1, pads=pads, out=out)
    np.testing.assert_allclose(y, _reference(x, wt, b, pads, out), rtol=1e-3, atol=1e-3)
    again = _conv(mt, x, u, 12, b, 0.0, 0.0, False, 1000, 2, pads=pads, out=out)
    assert np.array_equal(again.view(np.uint32), y.view(np.uint32))


@pytest.mark.parametrize("mt", [4, 2])
def test_winograd_conv_clip_without_residual_is_the_clipped_output(level, mt):
    """The output transform's clip (no residual: clipped before the scatter, in a pass of its own
    since session 27) is the epilogue's: exactly clip(plain), and a NaN stays NaN (not lo / hi)."""
    from gossamer.cython_kernels.conv_kernels import _Conv

    x = RNG.standard_normal((1, 16, 14, 14)).astype(F32)
    x[0, 3, 5, 6] = np.nan  # poisons the tiles whose windows hold it, in every output channel
    wt = (RNG.standard_normal((24, 16, 3, 3)) * 0.3).astype(F32)
    b = RNG.standard_normal(24).astype(F32)
    u = _Conv._pack_winograd(wt, mt)
    for chunk, threads in [(32, 1), (1000, 2)]:
        plain = _conv(mt, x, u, 24, b, 0.0, 0.0, False, chunk, threads)
        got = _conv(mt, x, u, 24, b, -0.5, 0.75, True, chunk, threads)
        nan = np.isnan(plain)
        assert nan.any() and np.array_equal(np.isnan(got), nan)
        want = np.clip(plain, F32(-0.5), F32(0.75))
        assert np.array_equal(got[~nan].view(np.uint32), want[~nan].view(np.uint32))
