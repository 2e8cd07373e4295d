"""The packed product's prefetches of packed A into L2 (gemm_tune_pfa: the next (K, M) block's
panels during a block's later column sweeps; the narrow blocks' distance in panels) change no
arithmetic: the same bits at every setting, every SIMD level (avx2 and generic have no such
prefetch: the knob is a no-op there), 1 and 2 threads, odd sizes, several K and M blocks."""

from __future__ import annotations

import numpy as np
import pytest

native = pytest.importorskip("gossamer.cython_kernels._native")

# (block, dist): off, the block prefetch, and the narrow distances 0 (none) / 1 / 2 / 5
SETTINGS = [(0, 1), (1, 1), (1, 2), (0, 0), (1, 5), (0, 2)]


def _each_setting(run):
    """run() under every prefetch setting; the knobs put back afterwards."""
    old = native.ext().gemm_tune_pfa(-1, -1)
    try:
        outs = []
        for block, dist in SETTINGS:
            native.ext().gemm_tune_pfa(block, dist)
            outs.append(run())
    finally:
        native.ext().gemm_tune_pfa(*old)
    assert native.ext().gemm_tune_pfa(-1, -1) == old
    return outs


def _same_bits(outs):
    for y in outs[1:]:
        assert np.array_equal(y.view(np.int32), outs[0].view(np.int32))


@pytest.mark.parametrize(
    "m, n, k, kc, mc",
    [
        (128, 784, 576, 0, 0),  # ResNet-18's 64 -> 128 3x3 s2 as a product: 3 K blocks
        (157, 301, 611, 64, 36),  # odd: partial panels, tiles, K and M blocks (the M wrap)
        (40, 97, 130, 32, 24),  # a few tiles per sweep: fewer later tiles than next panels
        (256, 196, 1152, 0, 0),  # narrow (A panel outer): 128 -> 256 3x3 s2
        (61, 49, 700, 96, 0),  # narrow, odd: the next K block's panels past the last one
        (13, 33, 300, 0, 0),  # one panel, two tiles
        (30, 20, 75, 0, 0),  # one column sweep: no later sweep to fetch from
    ],
)
def test_prefetch_settings_keep_the_bits(m, n, k, kc, mc, level, nthreads):
    rng = np.random.default_rng(m * n + k)
    a = rng.standard_normal((m, k), dtype=np.float32)
    b = rng.standard_normal((k, n), dtype=np.float32)
    bias = rng.standard_normal(m, dtype=np.float32)
    ap = np.empty(native.ext().packed_a_size(m, k), np.float32)
    native.ext().pack_a(a, ap, 1)
    bp = np.empty(native.ext().packed_b_size(k, n), np.float32)
    native.ext().pack_b(b, bp, 1)

    def run():
        y = np.full((m, n), np.nan, np.float32)
        native.ext().gemm(m, n, k, ap, bp, y, bias, None, -2.0, 3.0, True, nthreads)
        return y

    old = native.ext().gemm_tune(kc, mc)
    try:
        outs = _each_setting(run)
    finally:
        native.ext().gemm_tune(*old)
    _same_bits(outs)
    want = np.clip(a.astype(np.float64) @ b + bias[:, None], -2.0, 3.0)
    np.testing.assert_allclose(outs[0], want, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize(
    "c, m, h",
    [(64, 128, 56), (128, 256, 28), (256, 512, 14), (19, 37, 23)],  # ResNet-18's 3x3 s2, odd
)
def test_strided_convs_keep_the_bits(c, m, h, level, nthreads):
    """ResNet-18's 3x3 stride-2 convs (and an odd one) through conv_gemm with a bias and a
    residual: the same bits at every prefetch setting."""
    rng = np.random.default_rng(c * m + h)
    w = rng.standard_normal((m, c * 9), dtype=np.float32) * 0.1
    x = rng.standard_normal((c, h, h), dtype=np.float32)
    oh = (h + 2 - 3) // 2 + 1
    bias = rng.standard_normal(m, dtype=np.float32)
    res = rng.standard_normal((m, oh * oh), dtype=np.float32)
    ap = np.empty(native.ext().packed_a_size(m, c * 9), np.float32)
    native.ext().pack_a(w, ap, 1)
    bp = np.empty(native.ext().packed_b_size(c * 9, oh * oh), np.float32)

    def run():
        y = np.full((m, oh * oh), np.nan, np.float32)
        native.ext().conv_gemm(ap, x, 3, 3, 2, 2, 1, 1, 1, 1, oh, oh, bp, y, bias, res,
                               0.0, 6.0, True, nthreads)  # fmt: skip
        return y

    outs = _each_setting(run)
    _same_bits(outs)
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1)))
    cols = np.stack(
        [xp[:, dy : dy + 2 * oh : 2, dx : dx + 2 * oh : 2] for dy in range(3) for dx in range(3)],
        axis=1,
    ).reshape(c * 9, oh * oh)
    want = np.clip(w.astype(np.float64) @ cols + bias[:, None] + res, 0.0, 6.0)
    np.testing.assert_allclose(outs[0], want, rtol=1e-4, atol=1e-3)


def test_knob_reads_back():
    old = native.ext().gemm_tune_pfa(-1, -1)
    try:
        assert native.ext().gemm_tune_pfa(1, 3) == old
        assert native.ext().gemm_tune_pfa(-1, -1) == (1, 3)
        assert native.ext().gemm_tune_pfa(0, -1) == (1, 3)
        assert native.ext().gemm_tune_pfa(-1, -1) == (0, 3)
    finally:
        native.ext().gemm_tune_pfa(*old)
