"""The split of C between threads (gemm.c's grid_nt: the grid whose greedy claim by nt threads
finishes first) and the transposing B panel packer (pack_bt16), on every SIMD level."""

from __future__ import annotations

import numpy as np
import pytest

native = pytest.importorskip("gossamer.cython_kernels._native")


def test_grid_pairs_blocks_up_for_two_threads():
    """MiniLM's 128 x 1152 x 384 product at 2 threads with 4 blocks a thread: 1 x 8 would
    alternate 4- and 5-unit column blocks (one thread idle for a block's difference), 2 x 4 pairs
    them up."""
    from gossamer.cython_kernels import set_simd_level

    before = native.simd_level()
    if not native.ext().cpu_has_avx512f():
        pytest.skip("this CPU has no AVX-512F (the 32-column unit)")
    set_simd_level("avx512f")
    old = native.ext().gemm_tune_grid(4, 0)
    try:
        assert native.ext().gemm_grid(128, 1152, 384, 2) == (8, 2, 4)
        assert native.ext().gemm_grid(128, 1536, 384, 2) == (8, 1, 8)  # 6 units each: even
        assert native.ext().gemm_grid(128, 1152, 384, 1) == (1, 1, 1)
        blocks, pm, pn = native.ext().gemm_grid(512, 49, 4608, 2)
        assert pm * pn == blocks
    finally:
        native.ext().gemm_tune_grid(*old)
        set_simd_level(before)


def test_two_threads_take_one_block_each():
    """At 2 threads the grid is one block a thread (ResNet-50's 64 -> 256 1x1 at 56x56: 2 column
    blocks of 1568, wide enough for the thin products' M rule; 8 blocks of 384 before), the same
    grid for the fill-B, packed and direct drivers (gemm_grid shows it)."""
    from gossamer.cython_kernels import set_simd_level

    before = native.simd_level()
    if not native.ext().cpu_has_avx512f():
        pytest.skip("this CPU has no AVX-512F (the 32-column unit)")
    set_simd_level("avx512f")
    try:
        assert native.ext().gemm_grid(256, 3136, 64, 2) == (2, 1, 2)
        assert native.ext().gemm_grid(128, 1152, 384, 2) == (2, 1, 2)
        assert native.ext().gemm_grid(512, 49, 2048, 2) == (2, 2, 1)
        assert native.ext().gemm_grid(256, 3136, 64, 4)[0] == 16  # more threads: 4 a thread
    finally:
        set_simd_level(before)
    with pytest.raises(ValueError):
        native.ext().gemm_grid(0, 4, 4, 2)


def test_grid_leaves_no_block_empty():
    """ResNet-50's 2048 -> 512 1x1 conv at 7x7 (M 512, N 49: 2 column units) at 4 threads: 16
    blocks would be 1 x 16 with 14 empty; the rule takes fewer blocks, every one of them with rows
    and columns."""
    from gossamer.cython_kernels import set_simd_level

    before = native.simd_level()
    if not native.ext().cpu_has_avx512f():
        pytest.skip("this CPU has no AVX-512F (the 32-column unit)")
    set_simd_level("avx512f")
    try:
        for m, n, k in [(512, 49, 2048), (512, 49, 4608), (1000, 1, 2048), (256, 196, 1024)]:
            blocks, pm, pn = native.ext().gemm_grid(m, n, k, 4)
            assert pm * pn == blocks and blocks >= 4
            assert pm <= -(-m // 12) and pn <= -(-n // 32), (m, n, k, blocks, pm, pn)
        assert native.ext().gemm_grid(512, 49, 2048, 4) == (4, 4, 1)
    finally:
        set_simd_level(before)


def test_forced_grids_keep_the_one_thread_bits(level):
    """gemm_tune_grid (blocks per thread, rows-only / columns-only grids) moves only which thread
    computes a block: a conv's result keeps its bits under each setting."""
    rng = np.random.default_rng(7)
    m, c, h = 160, 72, 9  # M past one M block: the packed path, not B read in place
    a = rng.standard_normal((m, c), dtype=np.float32)
    x = rng.standard_normal((c, h, h), dtype=np.float32)
    ap = np.empty(native.ext().packed_a_size(m, c), np.float32)
    native.ext().pack_a(a, ap, 1)
    bp = np.empty(native.ext().packed_b_size(c, h * h), np.float32)
    ys = []
    old = native.ext().gemm_tune_grid(-1, -1)
    try:
        for per, shape, t in [(0, 0, 1), (0, 0, 2), (1, 1, 2), (3, 2, 2), (2, 1, 3)]:
            native.ext().gemm_tune_grid(per, shape)
            y = np.empty((m, h * h), np.float32)
            native.ext().conv_gemm(ap, x, 1, 1, 1, 1, 1, 1, 0, 0, h, h, bp, y, None, None,
                                   0.0, 0.0, False, t)  # fmt: skip
            ys.append(y)
        native.ext().gemm_tune_grid(1, 1)
        assert native.ext().gemm_grid(m, h * h, c, 2) == (2, 2, 1)
    finally:
        native.ext().gemm_tune_grid(*old)
    assert native.ext().gemm_tune_grid(-1, -1) == old
    for y in ys[1:]:
        assert np.array_equal(y.view(np.int32), ys[0].view(np.int32))
    np.testing.assert_allclose(ys[0], (a @ x.reshape(c, -1)), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    "m, n, k", [(128, 1152, 384), (128, 1152, 40), (60, 1152, 33), (512, 49, 300)]
)
def test_every_grid_gives_the_one_thread_bits(m, n, k, level):
    from gossamer.cython_kernels import gemm_kernels as gk

    rng = np.random.default_rng(m + n + k)
    a = rng.standard_normal((m, k), dtype=np.float32)
    b = rng.standard_normal((k, n), dtype=np.float32)
    packed = gk.pack_weights(b)
    ys = []
    for t in (1, 2, 3):
        y = np.empty((m, n), np.float32)
        native.ext().gemm_a(a, packed, n, y, gk.make_epilogue(gk.Activation()), t)
        ys.append(y)
    for y in ys[1:]:
        assert np.array_equal(y.view(np.int32), ys[0].view(np.int32))
    np.testing.assert_allclose(ys[0], a @ b, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("k, n", [(32, 128), (40, 37), (5, 16), (16, 33)])
def test_pack_b_of_a_transposed_operand_is_the_plain_copy(k, n, level):
    rng = np.random.default_rng(k * n)
    x = rng.standard_normal((n + 3, k + 5), dtype=np.float32)[:n, :k]  # rows n x k, strided
    bt = x.T  # B = X^T: unit stride along K, columns a row of x apart
    size = native.ext().packed_b_size(k, n)
    got, want = np.full(size, np.nan, np.float32), np.full(size, np.nan, np.float32)
    native.ext().pack_b(bt, got, 1)
    native.ext().pack_b(np.ascontiguousarray(bt), want, 1)
    assert np.array_equal(got.view(np.int32), want.view(np.int32))


@pytest.mark.parametrize("m, n, k", [(60, 49, 600), (256, 196, 300), (40, 100, 64), (13, 256, 20)])
def test_narrow_blocks_keep_the_bits(m, n, k, level):
    """The AVX-512 kernel's A-panel-outer order for narrow blocks (gemm_tune_narrow: 7x7 and
    14x14 planes, up to 256 columns; K past one block, bias and clip) gives the bits of the
    column-sweep order, at 1 and 2 threads."""
    rng = np.random.default_rng(m * n + k)
    a = rng.standard_normal((m, k), dtype=np.float32)
    b = rng.standard_normal((k, n), dtype=np.float32)
    ap = np.empty(native.ext().packed_a_size(m, k), np.float32)
    native.ext().pack_a(a, ap, 1)
    bp = np.empty(native.ext().packed_b_size(k, n), np.float32)
    native.ext().pack_b(b, bp, 1)
    bias = rng.standard_normal(m, dtype=np.float32)
    old = native.ext().gemm_tune_narrow(-1)
    ys = []
    try:
        for narrow, t in [(0, 1), (256, 1), (256, 2), (0, 2)]:
            native.ext().gemm_tune_narrow(narrow)
            y = np.empty((m, n), np.float32)
            native.ext().gemm(m, n, k, ap, bp, y, bias, None, -1.0, 2.0, True, t)
            ys.append(y)
    finally:
        native.ext().gemm_tune_narrow(old)
    for y in ys[1:]:
        assert np.array_equal(y.view(np.int32), ys[0].view(np.int32))
    np.testing.assert_allclose(ys[0], np.clip(a @ b + bias[:, None], -1.0, 2.0), rtol=1e-4,
                               atol=1e-3)  # fmt: skip


@pytest.mark.parametrize(
    "m, n, k", [(128, 384, 1536), (100, 70, 1400), (30, 33, 4500), (130, 40, 1100), (25, 17, 6000)]
)
@pytest.mark.parametrize("epilogue", ["col", "row"])
def test_own_row_blocks_keep_the_bits(m, n, k, epilogue, level):
    """gk_gemm (gemm_a) splits C by rows where A is large (MiniLM's FFN-down, A 128 x 1536: each
    thread packs its own rows' panels in the product's call) or the grid is forced to rows; the
    bits are the one-thread product's and the shared pack's (forced columns or blocks per
    thread), with a bias, a residual and a clip (or a row bias and a PRelu slope per row: the
    vectors a row block reads from its first row), at both row cuts (gemm_tune_rows: even to 4
    rows, the blocks' panels starting mid-panel of the whole; or whole panels), partial panels
    included (128 rows at 2 threads: 64 = 5 panels + 4 rows each; 100 rows: 8 whole + 4; 130
    rows at 3 threads: 44 / 44 / 42; 30 and 25 rows at 3 threads: at most one panel each)."""
    from gossamer.cython_kernels import gemm_kernels as gk

    rng = np.random.default_rng(m * n + k)
    a = rng.standard_normal((m, k), dtype=np.float32)
    b = rng.standard_normal((k, n), dtype=np.float32)
    res = rng.standard_normal((m, n), dtype=np.float32)
    packed = gk.pack_weights(b)
    if epilogue == "col":
        bias = rng.standard_normal(n, dtype=np.float32)
        ep = gk.make_epilogue(gk.Activation(clip=True, lo=-3.0, hi=3.0), bias_col=bias,
                              residual=res)  # fmt: skip
        want = np.clip(a.astype(np.float64) @ b + bias + res, -3.0, 3.0)
    else:
        bias = rng.standard_normal(m, dtype=np.float32)
        slope = rng.uniform(0.1, 0.5, m).astype(np.float32)
        ep = gk.make_epilogue(gk.Activation(act=gk.ACT_CODES["PRelu"]), bias_row=bias,
                              residual=res, slope=slope, slope_axis="row")  # fmt: skip
        z = a.astype(np.float64) @ b + bias[:, None] + res
        want = np.where(z < 0, z * slope[:, None], z)
    old = native.ext().gemm_tune_grid(-1, -1)
    old_rows = native.ext().gemm_tune_rows(-1)
    ys = []
    try:
        for by_panels in (0, 1):
            native.ext().gemm_tune_rows(by_panels)
            for per, shape, t in [(0, 0, 1), (0, 0, 2), (0, 2, 2), (1, 2, 2), (0, 1, 2),
                                  (1, 0, 2), (0, 0, 3), (0, 1, 3)]:  # fmt: skip
                native.ext().gemm_tune_grid(per, shape)
                y = np.empty((m, n), np.float32)
                native.ext().gemm_a(a, packed, n, y, ep, t)
                ys.append(y)
    finally:
        native.ext().gemm_tune_grid(*old)
        native.ext().gemm_tune_rows(old_rows)
    for y in ys[1:]:
        assert np.array_equal(y.view(np.int32), ys[0].view(np.int32))
    np.testing.assert_allclose(ys[0], want, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize(
    "m, n, k",
    [
        (128, 1152, 384),
        (128, 384, 384),
        (37, 1000, 300),
        (13, 70, 1100),
        (128, 384, 1536),
        (25, 2000, 600),
        (60, 33, 520),
    ],  # fmt: skip
)
def test_b_prefetch_spread_keeps_the_bits(m, n, k, level):
    """The AVX-512 kernel's B prefetch (gemm_tune_pfb 0: one line a k-step from each tile's
    start; 1: spread over the tile and across K blocks in MatMul's products, gemm_a; 2: in every
    product, gemm_ep's with A packed beforehand too) moves no arithmetic: the bits of 0 at 1 thread,
    at 1-3 threads and 2 blocks a thread, K 1100 and 1536 in blocks of 256 and 520 in 256 + 264,
    partial panels and columns included (avx2 / generic: the switch is not read)."""
    from gossamer.cython_kernels import gemm_kernels as gk

    rng = np.random.default_rng(m * n + k)
    a = rng.standard_normal((m, k), dtype=np.float32)
    b = rng.standard_normal((k, n), dtype=np.float32)
    res = rng.standard_normal((m, n), dtype=np.float32)
    bias = rng.standard_normal(n, dtype=np.float32)
    packed = gk.pack_weights(b)
    ap = np.empty(native.ext().packed_a_size(m, k), np.float32)
    native.ext().pack_a(a, ap, 1)
    ep = gk.make_epilogue(gk.Activation(clip=True, lo=-3.0, hi=3.0), bias_col=bias, residual=res)
    want = np.clip(a.astype(np.float64) @ b + bias + res, -3.0, 3.0)
    old = native.ext().gemm_tune_grid(-1, -1)
    old_pfb = native.ext().gemm_tune_pfb(-1)
    ys = []
    try:
        for pfb in (0, 1, 2):
            native.ext().gemm_tune_pfb(pfb)
            for per, shape, t in [(0, 0, 1), (0, 0, 2), (2, 2, 2), (0, 0, 3), (0, 2, 3)]:
                native.ext().gemm_tune_grid(per, shape)
                y = np.empty((m, n), np.float32)
                native.ext().gemm_a(a, packed, n, y, ep, t)
                ys.append(y)
                y = np.empty((m, n), np.float32)
                native.ext().gemm_ep(m, n, k, ap, packed, y, ep, t)
                ys.append(y)
    finally:
        native.ext().gemm_tune_grid(*old)
        native.ext().gemm_tune_pfb(old_pfb)
    for y in ys[1:]:
        assert np.array_equal(y.view(np.int32), ys[0].view(np.int32))
    np.testing.assert_allclose(ys[0], want, rtol=1e-4, atol=1e-3)
