"""The direct 1x1 conv (src/conv1x1.h: the input planes read in place through an L1 stage) gives
the bits of gk_conv_gemm's packed path, at every SIMD level (none at generic: the packed path runs)
and thread count."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.cython_kernels._native import ext

SHAPES = [  # c (K), m, h, w: row tiles of 12 / 6 with remainders, part column tiles, K blocks
    (1, 1, 1, 1),
    (3, 5, 1, 7),
    (8, 12, 4, 8),  # N = 32: one whole column tile
    (16, 13, 5, 7),  # N = 35: a tile and 3 columns
    (64, 64, 8, 9),  # M = 64: five 12-row tiles and one of 4
    (256, 64, 6, 7),  # one K block of 256
    (257, 30, 3, 11),  # 256 + 1: the short last block folded into one of 257
    (520, 24, 5, 5),  # 256 + 264: two K blocks, C read back
    (64, 256, 4, 10),  # more rows than one M block (144)
    (1024, 40, 2, 7),  # four K blocks
]


def _packed_a(a: np.ndarray) -> np.ndarray:
    ap = np.empty(ext().packed_a_size(*a.shape), np.float32)
    ext().pack_a(a, ap, 1)
    return ap


def _conv(ap, x, m, bp, bias, z, lo, hi, clip, threads):
    c, h, w = x.shape
    y = np.full((m, h * w), np.nan, np.float32)
    ext().conv_gemm(ap, x, 1, 1, 1, 1, 1, 1, 0, 0, h, w, bp, y, bias, z, lo, hi, clip, threads)
    return y


@pytest.mark.parametrize("c, m, h, w", SHAPES)
@pytest.mark.parametrize("kind", ["plain", "bias_relu", "residual_clip"])
def test_direct_1x1_gives_the_packed_bits(level, nthreads, c, m, h, w, kind):
    rng = np.random.default_rng(c * 100 + m + h * w)
    x = rng.standard_normal((c, h, w), dtype=np.float32)
    ap = _packed_a(rng.standard_normal((m, c), dtype=np.float32))
    bias = rng.standard_normal(m, dtype=np.float32) if kind != "plain" else None
    z = rng.standard_normal((m, h * w), dtype=np.float32) if kind == "residual_clip" else None
    lo, hi = (0.0, np.inf) if kind == "bias_relu" else (-0.5, 0.7)
    clip = kind != "plain"
    bp = np.empty(ext().packed_b_size(c, h * w), np.float32)
    before, before_b = ext().conv1x1_on(-1), ext().direct_b_on(-1)
    try:
        ext().conv1x1_on(2)
        assert ext().conv1x1_takes(m, h * w, c) == (level != "generic")
        got = _conv(ap, x, m, bp, bias, z, lo, hi, clip, nthreads)
        ext().conv1x1_on(0)
        ext().direct_b_on(0)  # the packed path
        want = _conv(ap, x, m, bp, bias, z, lo, hi, clip, 1)
    finally:
        ext().conv1x1_on(before)
        ext().direct_b_on(before_b)
    np.testing.assert_array_equal(got, want)


def test_the_rule_takes_wide_planes_of_deep_inputs(level):
    before = ext().conv1x1_on(1)
    try:
        direct = level != "generic"
        assert ext().conv1x1_takes(64, 56 * 56, 256) == direct
        assert ext().conv1x1_takes(128, 28 * 28, 512) == direct
        assert not ext().conv1x1_takes(128, 56 * 56, 256)  # C past 1 MiB
        assert not ext().conv1x1_takes(512, 28 * 28, 128)  # C's rows past one M block
        assert not ext().conv1x1_takes(256, 28 * 28, 512)
        assert not ext().conv1x1_takes(256, 56 * 56, 64)  # K = 64: the packed thin rule's
        assert not ext().conv1x1_takes(256, 14 * 14, 1024)
        assert not ext().conv1x1_takes(512, 7 * 7, 2048)
        ext().conv1x1_on(0)
        assert not ext().conv1x1_takes(64, 56 * 56, 256)
    finally:
        ext().conv1x1_on(before)


def test_the_switch_reports_its_previous_setting():
    before = ext().conv1x1_on(0)
    try:
        assert ext().conv1x1_on(2) == 0
        assert ext().conv1x1_on(-1) == 2
    finally:
        ext().conv1x1_on(before)
