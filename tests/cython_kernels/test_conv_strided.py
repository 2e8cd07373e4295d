"""Strided (or padded) 1x1 convs run as the plain 1x1 conv of their sampled input
(src/conv_strided.h): the bits of the strided im2col's packed path, at every SIMD level and
thread count, whichever plain path (direct 1x1 kernel, unpacked-B GEMM, packed) takes the
sampled plane."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.cython_kernels._native import ext

GEOMETRIES = [  # c, m, h, w, sh, sw, ph, pw
    (64, 128, 56, 56, 2, 2, 0, 0),  # ResNet-18's first downsample (K 64: the unpacked-B GEMM)
    (128, 64, 56, 56, 2, 2, 0, 0),  # K 128, M 64 on a 28x28 plane: the direct 1x1 kernel's rule
    (256, 512, 14, 14, 2, 2, 0, 0),  # M past one M block: packed
    (3, 5, 7, 9, 2, 3, 0, 0),  # odd sizes, unequal strides
    (17, 40, 13, 11, 2, 2, 1, 1),  # padding: the sampled border is zeros
    (33, 7, 9, 8, 3, 2, 2, 0),  # padding on one side, stride 3
    (8, 13, 5, 5, 1, 1, 1, 0),  # stride 1, padded: not the plain 1x1 either
    (300, 24, 10, 9, 2, 2, 0, 0),  # two K blocks (256 + 44)
]


def _out(n: int, pad: int, s: int) -> int:
    return (n + 2 * pad - 1) // s + 1


def _conv(ap, x, m, geo, bp, bias, z, lo, hi, clip, threads):
    sh, sw, ph, pw = geo
    c, h, w = x.shape
    oh, ow = _out(h, ph, sh), _out(w, pw, sw)
    y = np.full((m, oh * ow), np.nan, np.float32)
    ext().conv_gemm(ap, x, 1, 1, sh, sw, 1, 1, ph, pw, oh, ow, bp, y, bias, z, lo, hi, clip,
                    threads)  # fmt: skip
    return y


@pytest.mark.parametrize("c, m, h, w, sh, sw, ph, pw", GEOMETRIES)
@pytest.mark.parametrize("kind", ["plain", "bias_relu", "residual_clip"])
def test_sampled_1x1_gives_the_strided_im2col_bits(level, nthreads, c, m, h, w, sh, sw, ph, pw,
                                                   kind):  # fmt: skip
    rng = np.random.default_rng(c * 1000 + m * 10 + h + sh)
    oh, ow = _out(h, ph, sh), _out(w, pw, sw)
    x = rng.standard_normal((c, h, w), dtype=np.float32)
    wt = rng.standard_normal((m, c), dtype=np.float32)
    ap = np.empty(ext().packed_a_size(m, c), np.float32)
    ext().pack_a(wt, ap, 1)
    bias = rng.standard_normal(m, dtype=np.float32) if kind != "plain" else None
    z = rng.standard_normal((m, oh * ow), dtype=np.float32) if kind == "residual_clip" else None
    lo, hi = (0.0, np.inf) if kind == "bias_relu" else (-0.5, 0.7)
    clip = kind != "plain"
    bp = np.empty(ext().packed_b_size(c, oh * ow), np.float32)
    geo = (sh, sw, ph, pw)
    before = ext().conv_strided_on(-1)
    try:
        ext().conv_strided_on(1)
        got = _conv(ap, x, m, geo, bp, bias, z, lo, hi, clip, nthreads)
        ext().conv_strided_on(0)  # the strided im2col, packed
        want = _conv(ap, x, m, geo, bp, bias, z, lo, hi, clip, 1)
    finally:
        ext().conv_strided_on(before)
    np.testing.assert_array_equal(got, want)
    # and the conv it is meant to be (float64 reference)
    xp = np.zeros((c, h + 2 * ph, w + 2 * pw))
    xp[:, ph : ph + h, pw : pw + w] = x
    ref = wt.astype(np.float64) @ xp[:, : oh * sh : sh, : ow * sw : sw].reshape(c, -1)
    if bias is not None:
        ref += bias[:, None]
    if z is not None:
        ref += z
    if clip:
        ref = np.clip(ref, lo, hi)
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4 * np.sqrt(c))


def test_the_switch_reports_and_restores():
    before = ext().conv_strided_on(-1)
    try:
        assert ext().conv_strided_on(0) == before
        assert ext().conv_strided_on(-1) is False
        assert ext().conv_strided_on(1) is False
        assert ext().conv_strided_on(-1) is True
    finally:
        ext().conv_strided_on(before)
