"""gk_conv_gemm (ext.conv_gemm): a conv's im2col panels packed by the threads that multiply them
give the same bits as the whole im2col packed first and then multiplied, at any thread count; and
the conv kernel's two paths (conv_kernels.PACK_IN_GEMM) agree bit for bit on whole models."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.cython_kernels import conv_kernels
from gossamer.cython_kernels._native import ext

import gossamer

from ._helpers import one_node

GEOMETRIES = [
    # c, m, h, w, k, stride, pad
    (16, 64, 55, 55, 1, 1, 0),  # 1x1 plain: the plane packed as it is
    (16, 64, 55, 55, 3, 1, 1),  # SqueezeNet's expand 3x3
    (128, 16, 27, 27, 1, 1, 0),
    (7, 30, 13, 17, 3, 2, 1),  # strided, odd sizes
    (512, 100, 13, 13, 1, 1, 0),  # a large A: the rows are split, panels packed first
    (3, 5, 4, 4, 5, 1, 2),  # windows larger than the plane
]


def _old(ap, x, k, s, p, oh, ow, m, bias, z, lo, hi, clip, t):
    c = x.shape[0]
    bp = np.empty(ext().packed_b_size(c * k * k, oh * ow), np.float32)
    y = np.empty((m, oh * ow), np.float32)
    if (k, s, p) == (1, 1, 0):
        ext().pack_b(x.reshape(c, -1), bp, t)
    else:
        ext().pack_b_conv(x, k, k, s, s, 1, 1, p, p, oh, ow, bp, t)
    ep = ext().Epilogue(bias_row=bias, residual=z, clip=clip, lo=lo, hi=hi)
    ext().gemm_ep(m, oh * ow, c * k * k, ap, bp, y, ep, t)
    return y


def _conv_case(geometry, seed, residual):
    """A conv's packed A, input, bias, residual (or None), and NaN-filled bp and y: what
    conv_gemm takes, for a GEOMETRIES entry."""
    c, m, h, w, k, s, p = geometry
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((c, h, w), dtype=np.float32)
    wt = rng.standard_normal((m, c * k * k), dtype=np.float32)
    ap = np.empty(ext().packed_a_size(m, c * k * k), np.float32)
    ext().pack_a(wt, ap, 1)
    oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    bias = rng.standard_normal(m, dtype=np.float32)
    z = rng.standard_normal((m, oh * ow), dtype=np.float32) if residual else None
    bp = np.full(ext().packed_b_size(c * k * k, oh * ow), np.nan, np.float32)
    y = np.full((m, oh * ow), np.nan, np.float32)
    return ap, x, bias, z, bp, y, oh, ow


@pytest.mark.parametrize("geometry", GEOMETRIES)
@pytest.mark.parametrize("residual", [False, True])
def test_conv_gemm_matches_pack_then_gemm_bit_for_bit(simd, threads, geometry, residual):
    c, m, h, w, k, s, p = geometry
    ap, x, bias, z, bp, y, oh, ow = _conv_case(geometry, c * m + k, residual)
    ext().conv_gemm(ap, x, k, k, s, s, 1, 1, p, p, oh, ow, bp, y, bias, z, -1.0, 2.0, True,
                    threads)  # fmt: skip
    ref = _old(ap, x, k, s, p, oh, ow, m, bias, z, -1.0, 2.0, True, threads)
    np.testing.assert_array_equal(y, ref)
    y1 = np.empty_like(y)
    ext().conv_gemm(ap, x, k, k, s, s, 1, 1, p, p, oh, ow, bp, y1, bias, z, -1.0, 2.0, True, 1)
    np.testing.assert_array_equal(y, y1)  # the thread count changes no bit


def test_conv_gemm_checks_its_arguments():
    ap = np.zeros(ext().packed_a_size(4, 9), np.float32)
    x = np.zeros((1, 5, 5), np.float32)
    y = np.zeros((4, 25), np.float32)
    with pytest.raises(ValueError, match="bp"):
        ext().conv_gemm(ap, x, 3, 3, 1, 1, 1, 1, 1, 1, 5, 5, np.zeros(3, np.float32), y, None,
                        None, 0.0, 0.0, False, 1)  # fmt: skip
    with pytest.raises(ValueError, match="columns"):
        ext().conv_gemm(ap, x, 3, 3, 1, 1, 1, 1, 1, 1, 4, 4, np.zeros(999, np.float32), y, None,
                        None, 0.0, 0.0, False, 1)  # fmt: skip


@pytest.mark.parametrize("kernel, stride, pad", [(1, 1, 0), (3, 1, 1), (3, 2, 0)])
def test_both_conv_paths_give_the_same_bits(monkeypatch, threads, kernel, stride, pad):
    rng = np.random.default_rng(kernel)
    x = rng.standard_normal((2, 24, 19, 23), dtype=np.float32)
    w = rng.standard_normal((40, 12, kernel, kernel), dtype=np.float32)
    model = one_node("Conv", {"x": x}, {"w": w}, group=2, strides=[stride, stride],
                     pads=[pad] * 4)  # fmt: skip
    out = {}
    for flag in (True, False):
        monkeypatch.setattr(conv_kernels, "PACK_IN_GEMM", flag)
        sess = gossamer.load(model, backends=["cython"], threads=threads)
        out[flag] = [sess.run(None, {"x": x})[0] for _ in range(3)]  # node by node, then segments
    for a, b in zip(out[True], out[False], strict=True):
        np.testing.assert_array_equal(a, b)


def _packed_im2col(x, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow):
    """The packed B (16-column panels, K x 16 each, zeros past N) of x's im2col, in numpy."""
    c, h, w = x.shape
    xp = np.zeros((c, h + 2 * ph + sh * oh + dh * kh, w + 2 * pw + sw * ow + dw * kw), np.float32)
    xp[:, ph : ph + h, pw : pw + w] = x
    rows = [
        xp[ci, ky * dh : ky * dh + sh * oh : sh, kx * dw : kx * dw + sw * ow : sw][:oh, :ow].ravel()
        for ci in range(c)
        for ky in range(kh)
        for kx in range(kw)
    ]
    b = np.stack(rows)  # K x N
    k, n = b.shape
    panels = -(-n // 16)
    wide = np.zeros((k, panels * 16), np.float32)
    wide[:, :n] = b
    return wide.reshape(k, panels, 16).transpose(1, 0, 2).ravel()


@pytest.mark.parametrize(
    "c, h, w, kh, kw, s, d, p",
    [
        (5, 56, 56, 3, 3, 2, 1, 1),  # ResNet's strided 3x3: gathered lanes, panels across rows
        (4, 28, 28, 1, 1, 2, 1, 0),  # strided 1x1
        (3, 7, 7, 3, 3, 1, 1, 1),  # 7x7 planes: every panel crosses rows, padding lanes
        (2, 13, 17, 3, 5, 1, 2, 2),  # dilated, unequal sides
        (2, 4, 4, 5, 5, 1, 1, 2),  # windows larger than the plane
        (3, 20, 40, 3, 3, 1, 1, 1),  # dense 16-lane runs inside rows
        (2, 14, 14, 3, 3, 2, 1, 1),  # strided, 7 wide: panels across 3-4 rows, padding lanes
        (2, 15, 15, 3, 3, 2, 1, 1),  # strided with the right and bottom edges padded
        (2, 17, 17, 1, 1, 2, 1, 0),  # strided 1x1, odd sides
        (2, 9, 9, 3, 3, 3, 1, 1),  # stride 3
    ],
)
def test_pack_b_conv_layout_at_every_level(level, nthreads, c, h, w, kh, kw, s, d, p):
    """pack_b_conv (AVX-512: masked gathers of the non-dense lanes; elsewhere the per-lane copy)
    gives numpy's packed im2col exactly, zeros in the padding and past N."""
    rng = np.random.default_rng(c * h + kh)
    x = rng.standard_normal((c, h, w), dtype=np.float32)
    oh, ow = (h + 2 * p - d * (kh - 1) - 1) // s + 1, (w + 2 * p - d * (kw - 1) - 1) // s + 1
    bp = np.full(ext().packed_b_size(c * kh * kw, oh * ow), np.nan, np.float32)
    ext().pack_b_conv(x, kh, kw, s, s, d, d, p, p, oh, ow, bp, nthreads)
    np.testing.assert_array_equal(bp, _packed_im2col(x, kh, kw, s, s, d, d, p, p, oh, ow))


@pytest.mark.parametrize(
    "geometry", GEOMETRIES + [(64, 24, 56, 56, 1, 1, 0), (9, 20, 29, 31, 3, 2, 1)]
)
@pytest.mark.parametrize("budget", [0, 1, 40000, 1 << 20])
def test_column_runs_packed_over_each_other_keep_the_bits(level, nthreads, geometry, budget):
    """conv_fill_bytes: a thread's column block packed and multiplied in runs of at most that
    many bytes, each packed over the last (1: one column unit a run; 0: the whole block at once)
    gives the bits of the whole im2col packed first, then multiplied, at every level."""
    c, m, h, w, k, s, p = geometry
    ap, x, bias, z, bp, y, oh, ow = _conv_case(geometry, c * m + k + h, True)
    # the packed path for the 1x1s too (not the direct 1x1 kernel or B read in place)
    old = ext().conv_fill_bytes(budget), ext().conv1x1_on(0), ext().direct_b_on(0)
    deep = ext().conv_fill_deep_bytes(0)  # the budget for every K
    try:
        ext().conv_gemm(ap, x, k, k, s, s, 1, 1, p, p, oh, ow, bp, y, bias, z, -1.0, 2.0, True,
                        nthreads)  # fmt: skip
    finally:
        ext().conv_fill_bytes(old[0]), ext().conv1x1_on(old[1]), ext().direct_b_on(old[2])
        ext().conv_fill_deep_bytes(deep)
    ref = _old(ap, x, k, s, p, oh, ow, m, bias, z, -1.0, 2.0, True, nthreads)
    np.testing.assert_array_equal(y, ref)


@pytest.mark.parametrize("deep", [1 << 18, 40000, 0])
def test_a_deep_convs_runs_keep_the_bits(level, nthreads, deep):
    """conv_fill_deep_bytes: a conv of K >= 576 (ResNet's 64 -> 128 3x3 stride 2 at 56x56,
    cut small: a block's B of ~900 KB, one run at conv_fill_bytes' 1 MiB) in runs of that many
    bytes gives the bits of the whole im2col packed first, at every level."""
    geometry = (64, 24, 56, 56, 3, 2, 1)  # K = 576
    c, m, h, w, k, s, p = geometry
    ap, x, bias, z, bp, y, oh, ow = _conv_case(geometry, 576, True)
    old, was = ext().conv_fill_deep_bytes(deep), ext().conv_fill_bytes(1 << 20)
    try:
        ext().conv_gemm(ap, x, k, k, s, s, 1, 1, p, p, oh, ow, bp, y, bias, z, -1.0, 2.0, True,
                        nthreads)  # fmt: skip
    finally:
        ext().conv_fill_deep_bytes(old), ext().conv_fill_bytes(was)
    ref = _old(ap, x, k, s, p, oh, ow, m, bias, z, -1.0, 2.0, True, nthreads)
    np.testing.assert_array_equal(y, ref)


@pytest.mark.parametrize("geometry", [(128, 256, 28, 28, 1, 2, 0), (100, 260, 27, 27, 1, 2, 0),
                                      (14, 300, 16, 16, 3, 2, 1)])  # fmt: skip
@pytest.mark.parametrize("cols_k", [0, 128, 1 << 20])
def test_thin_im2col_convs_split_by_columns_keep_the_bits(level, nthreads, geometry, cols_k):
    """conv_cols_k: an im2col conv of K <= that which the grid splits by rows (ResNet-18's 128 ->
    256 1x1 stride 2 at 28x28: M 256, N 196) runs by columns instead, each thread packing and
    multiplying its own; every setting gives the bits of the whole im2col packed first, then
    multiplied, at every level."""
    c, m, h, w, k, s, p = geometry
    ap, x, bias, z, bp, y, oh, ow = _conv_case(geometry, c * m + k + 7, True)
    if nthreads > 1:  # the case the rule is for
        assert ext().gemm_grid(m, oh * ow, c * k * k, 2)[1] == 2
    old = ext().conv_cols_k(cols_k)
    try:
        ext().conv_gemm(ap, x, k, k, s, s, 1, 1, p, p, oh, ow, bp, y, bias, z, -1.0, 2.0, True,
                        nthreads)  # fmt: skip
    finally:
        ext().conv_cols_k(old)
    ref = _old(ap, x, k, s, p, oh, ow, m, bias, z, -1.0, 2.0, True, nthreads)
    np.testing.assert_array_equal(y, ref)
