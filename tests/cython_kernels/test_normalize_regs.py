"""Softmax rows held in registers (AVX-512, n a multiple of 16 up to 256: softmax_regs, and two
rows side by side, softmax_regs2, in src/normalize_kernels.inc) give the same bits as the row
loops (the AVX2 level runs them, with the same operations; the generic level's exp has no FMA),
for the unfused Softmax (37 rows: the last one alone) and for the attention's scaled, masked
rows."""

from __future__ import annotations

import numpy as np
import pytest

native = pytest.importorskip("gossamer.cython_kernels._native")


def _at(level: str, fn, *args):
    from gossamer.cython_kernels import set_simd_level

    before = native.simd_level()
    if set_simd_level(level) != level:
        set_simd_level(before)
        pytest.skip(f"this CPU has no {level}")
    try:
        return fn(*args)
    finally:
        set_simd_level(before)


def _rows(rows: int, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    spread = rng.choice([0.1, 3.0, 40.0], (rows, 1))
    x = (rng.standard_normal((rows, n)) * spread).astype(np.float32)
    x[0, n // 2] = np.nan
    x[1, :] = -np.inf
    x[2, 0] = np.inf
    x[3, :] = np.float32(-100.0) + np.arange(n, dtype=np.float32) * np.float32(0.01)
    x[4, 1] = np.float32(-1e30)
    return x


def _softmax(x: np.ndarray, threads: int) -> np.ndarray:
    y = np.empty_like(x)
    native.ext().softmax_rows(x, y, threads)
    return y


@pytest.mark.parametrize("n", [16, 64, 128, 256, 48, 272, 100])
def test_softmax_rows_in_registers_are_the_loops_bit_for_bit(n, nthreads):
    if not native.ext().cpu_has_avx512f():
        pytest.skip("this CPU has no AVX-512F")
    x = _rows(37, n, n)
    a = _at("avx512f", _softmax, x, nthreads)
    b = _at("avx2+fma", _softmax, x, nthreads)
    assert np.array_equal(a.view(np.int32), b.view(np.int32))
    assert np.isnan(a[0]).all() and np.isnan(a[1]).all()


def _attention(qkv: np.ndarray, mask: np.ndarray | None, threads: int) -> np.ndarray:
    b, s, e3 = qkv.shape
    y = np.empty((b, s, e3 // 3), np.float32)
    native.ext().attention(qkv, mask, y, 4, 0.1767767, threads)
    return y


@pytest.mark.parametrize("s", [128, 64, 256, 40, 41, 97])
@pytest.mark.parametrize("masked", [True, False])
def test_attention_rows_in_registers_are_the_loops_bit_for_bit(s, masked, nthreads):
    if not native.ext().cpu_has_avx512f():
        pytest.skip("this CPU has no AVX-512F")
    rng = np.random.default_rng(s)
    qkv = (rng.standard_normal((2, s, 3 * 64)) * 2).astype(np.float32)
    mask = None
    if masked:
        mask = np.zeros((2, s), np.float32)
        mask[0, s - 5 :] = -10000.0
        mask[1, :3] = -np.inf
    a = _at("avx512f", _attention, qkv, mask, nthreads)
    b = _at("avx2+fma", _attention, qkv, mask, nthreads)
    assert np.array_equal(a.view(np.int32), b.view(np.int32))


def _layernorm(x: np.ndarray, scale: np.ndarray, bias: np.ndarray | None, threads: int):
    rows, n = x.shape
    y = np.empty_like(x)
    mean, inv = np.empty(rows, np.float32), np.empty(rows, np.float32)
    native.ext().layernorm_rows(x, scale, bias, y, mean, inv, np.float32(1e-12), threads)
    return y, mean, inv


@pytest.mark.parametrize("rows, n", [(128, 384), (7, 383), (33, 13), (5, 1), (2, 768)])
@pytest.mark.parametrize("with_bias", [True, False])
def test_layernorm_two_rows_at_a_time_are_the_row_loop_bit_for_bit(rows, n, with_bias, nthreads):
    """AVX-512 runs rows in pairs (row_moments2: two chains of double sums side by side), AVX2
    one row at a time; each row's sums in the same order."""
    if not native.ext().cpu_has_avx512f():
        pytest.skip("this CPU has no AVX-512F")
    rng = np.random.default_rng(rows * n)
    shift = rng.standard_normal((rows, 1)) * 50
    x = (rng.standard_normal((rows, n)) * 3 + shift).astype(np.float32)
    scale = rng.standard_normal(n).astype(np.float32)
    bias = rng.standard_normal(n).astype(np.float32) if with_bias else None
    a = _at("avx512f", _layernorm, x, scale, bias, nthreads)
    b = _at("avx2+fma", _layernorm, x, scale, bias, nthreads)
    for u, v in zip(a, b):
        assert np.array_equal(u.view(np.int32), v.view(np.int32))
