"""Fixed owners for the conv drivers' blocks (src/threadpool_owned.h gk_parallel_owned,
ext().pool_fixed_owners): every chunk still runs once, a worker that has not started leaves its
part to the caller, and every conv path that hands its blocks out this way gives the bits of the
claimed order and of one thread, at every level."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.cython_kernels._native import ext

from .test_conv_gemm_fill import _conv_case

F32 = np.float32


@pytest.fixture
def owners():
    """pool_fixed_owners as it was, put back after the test"""
    before = ext().pool_fixed_owners()
    yield
    ext().pool_fixed_owners(before)


@pytest.mark.parametrize("on", [0, 1])
@pytest.mark.parametrize("threads", [1, 2, 4])
@pytest.mark.parametrize("chunks", [1, 2, 7, 1000])  # 1000: past the owned parts' pieces
def test_every_owned_chunk_runs_once_on_a_seat_below_the_thread_count(owners, on, threads, chunks):
    ext().pool_fixed_owners(on)
    bad, by_caller, by_workers, _, max_seat = ext().pool_check(chunks, threads, 2, owned=True)
    assert bad == 0
    assert by_caller + by_workers == chunks
    assert 0 <= max_seat < threads


def test_the_caller_takes_the_part_of_a_worker_that_has_not_started(owners):
    ext().pool_fixed_owners(1)
    ext().threads_start(2)
    stall_us = 1_000_000  # every worker naps 1 s after it sees the call, before it may claim
    bad, by_caller, by_workers, elapsed_us, _ = ext().pool_check(8, 2, 200, stall_us, owned=True)
    assert bad == 0
    assert (by_caller, by_workers) == (8, 0)
    assert elapsed_us < stall_us // 2  # its 4 chunks taken from the back: no wait for the nap


# c, m, h, w, kernel, stride, pad, conv_fill_bytes: the driver each reaches at 2 threads
CONVS = [
    (16, 64, 55, 55, 3, 1, 1, 1 << 20),  # columns split, panels packed per block (gemm.c)
    (64, 24, 56, 56, 3, 2, 1, 1 << 14),  # columns split in runs (conv.c conv_fill_blocks)
    (512, 100, 13, 13, 1, 1, 0, 1 << 20),  # rows split, the panels packed first (gemm.c)
    (256, 1024, 14, 14, 1, 1, 0, 1 << 20),  # ResNet-50's 256 -> 1024 at 14x14: rows split
    (128, 64, 28, 28, 1, 1, 0, 1 << 20),  # the direct 1x1 (conv1x1.c), where the level has it
    (7, 30, 13, 17, 3, 2, 1, 1 << 20),  # odd sizes
]


@pytest.mark.parametrize("conv", CONVS)
def test_conv_gemm_gives_the_same_bits_with_fixed_owners(level, nthreads, owners, conv):
    c, m, h, w, k, s, p, fill = conv
    ap, x, bias, z, bp, _, oh, ow = _conv_case((c, m, h, w, k, s, p), c + m + k, True)
    old_fill, old_deep = ext().conv_fill_bytes(fill), ext().conv_fill_deep_bytes(fill)
    out = {}
    try:
        for name, on, t in (("claimed", 0, nthreads), ("owned", 1, nthreads), ("one", 1, 1)):
            ext().pool_fixed_owners(on)
            y = np.full((m, oh * ow), np.nan, F32)
            ext().conv_gemm(ap, x, k, k, s, s, 1, 1, p, p, oh, ow, bp, y, bias, z, -1.0, 2.0,
                            True, t)  # fmt: skip
            out[name] = y
    finally:
        ext().conv_fill_bytes(old_fill), ext().conv_fill_deep_bytes(old_deep)
    np.testing.assert_array_equal(out["owned"], out["claimed"])
    np.testing.assert_array_equal(out["owned"], out["one"])


@pytest.mark.parametrize("c, m, hw", [(256, 1024, 14), (1024, 256, 14), (512, 192, 7)])
def test_cvec_1x1_gives_the_same_bits_with_fixed_owners(level, nthreads, owners, c, m, hw):
    rng = np.random.default_rng(c + m)
    x = rng.standard_normal((c, hw * hw), dtype=F32)
    wt = rng.standard_normal((m, c), dtype=F32)
    bias = rng.standard_normal(m, dtype=F32)
    z = rng.standard_normal((m, hw * hw), dtype=F32)
    wp = np.empty(ext().conv1x1_cvec_size(m, c), F32)
    ext().conv1x1_cvec_pack(wt, wp)
    out = {}
    for name, on, t in (("claimed", 0, nthreads), ("owned", 1, nthreads), ("one", 1, 1)):
        ext().pool_fixed_owners(on)
        y = np.full((m, hw * hw), np.nan, F32)
        done = ext().conv1x1_cvec(wp, x, y, bias, z, -0.5, 0.7, True, t)
        assert done == (level == "avx512f")  # elsewhere it declines (the GEMM runs)
        out[name] = y
    np.testing.assert_array_equal(out["owned"], out["claimed"])
    np.testing.assert_array_equal(out["owned"], out["one"])
