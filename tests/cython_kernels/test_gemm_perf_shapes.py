"""The packed GEMM on the shapes of the benchmark models (1x1 convolutions with small M or K and
a long N, transformer projections), on every SIMD path, 1 and 2 threads: packing split between
threads, the prefetches of packed-B rows and of C tiles ahead (they must change no result and
write nothing past C), column tails around the prefetch distances."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

native = pytest.importorskip("gossamer.cython_kernels._native")
F32 = np.float32
TOL = {"rtol": 1e-4, "atol": 1e-4}


def _packed_b_reference(b: np.ndarray) -> np.ndarray:
    """src/gemm.h's packed-B layout built with numpy: 16-column panels, K x 16 each, zero past N."""
    k, n = b.shape
    panels = -(-n // 16)
    out = np.zeros((panels, max(k, 1), 16), F32)
    for p in range(panels):
        cols = b[:, p * 16 : (p + 1) * 16]
        out[p, :k, : cols.shape[1]] = cols
    return out.reshape(-1)


def _packed_a_reference(a: np.ndarray) -> np.ndarray:
    m, k = a.shape
    panels = -(-m // 12)
    out = np.zeros((panels, max(k, 1), 12), F32)
    for p in range(panels):
        rows = a[p * 12 : (p + 1) * 12]
        out[p, :k, : rows.shape[0]] = rows.T
    return out.reshape(-1)


def _conv_gemm(w: np.ndarray, x: np.ndarray, bias: np.ndarray | None, clip: bool,
               threads: int) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """The 1x1-convolution path of conv_kernels: pack_a(W), pack_b(X), gemm (bias per row, clip
    to [0, 6]); returns the result and the 64 floats after it in the same buffer."""
    ext = native.ext()
    m, k = w.shape
    n = x.shape[1]
    ap = np.empty(ext.packed_a_size(m, k), F32)
    ext.pack_a(w, ap, threads)
    bp = np.empty(ext.packed_b_size(k, n), F32)
    ext.pack_b(x, bp, threads)
    buf = np.full(m * n + 64, 7.25, F32)
    y = buf[: m * n].reshape(m, n)
    ext.gemm(m, n, k, ap, bp, y, bias, None, 0.0, 6.0, clip, threads)
    return y, buf[m * n :]


def _conv_reference(
    w: np.ndarray, x: np.ndarray, bias: np.ndarray | None, clip: bool
) -> np.ndarray:
    y = w.astype(np.float64) @ x.astype(np.float64)
    if bias is not None:
        y += bias[:, None]
    return np.clip(y, 0.0, 6.0) if clip else y


# (M, K, N): MobileNetV2's 1x1 convolutions, scaled down along N where that keeps every code path
CONV_SHAPES = [(96, 16, 12544), (16, 32, 3136), (24, 144, 3136), (144, 24, 784), (32, 144, 784),
               (192, 32, 196), (160, 960, 49), (960, 160, 49)]  # fmt: skip


@pytest.mark.parametrize("m,k,n", CONV_SHAPES, ids=[f"{m}x{k}x{n}" for m, k, n in CONV_SHAPES])
def test_conv1x1_shapes(level: str, nthreads: int, m: int, k: int, n: int) -> None:
    rng = np.random.default_rng(m * 7 + k * 3 + n)
    w = rng.standard_normal((m, k), F32)
    x = rng.standard_normal((k, n), F32)
    bias = rng.standard_normal(m, F32)
    y, _ = _conv_gemm(w, x, bias, True, nthreads)
    np.testing.assert_allclose(y, _conv_reference(w, x, bias, True), **TOL)


# column counts around the C-tile prefetch (on from 96 columns left in a block) and the B-row
# prefetch in packing (64 columns ahead), with 16/32-column tails
@pytest.mark.parametrize("n", [1, 15, 17, 63, 64, 65, 95, 96, 97, 127, 129, 161, 1000])
def test_column_tails(level: str, nthreads: int, n: int) -> None:
    rng = np.random.default_rng(n)
    m, k = 29, 19
    w = rng.standard_normal((m, k), F32)
    x = rng.standard_normal((k, n), F32)
    y, after = _conv_gemm(w, x, None, False, nthreads)
    np.testing.assert_allclose(y, _conv_reference(w, x, None, False), **TOL)
    assert np.all(after == F32(7.25)), "the GEMM wrote past C"


@pytest.mark.parametrize(
    "k,n",
    [(1, 5000), (32, 12544), (300, 700), (4097, 16), (0, 40), (17, 149), (256, 3136), (40, 127)],
)
def test_pack_b_layout(nthreads: int, k: int, n: int) -> None:
    """pack_b (split between threads from 4096 panel rows; whole panels in groups of 8, K in
    slices of 16, a last partial panel alone) gives the packed layout, from contiguous and from
    strided B (17 x 149: a group of 8, one of 1 and a partial panel; 40 x 127: 7 whole panels and
    a partial one)."""
    ext = native.ext()
    rng = np.random.default_rng(k + n)
    b = rng.standard_normal((k, n), F32)
    for src in (b, np.asfortranarray(b)):
        out = np.full(ext.packed_b_size(k, n), np.nan, F32)
        ext.pack_b(src, out, nthreads)
        if k > 0:
            np.testing.assert_array_equal(out, _packed_b_reference(b))
    if n > 1:  # every other column of a wider array
        wide = rng.standard_normal((k, 2 * n), F32)
        out = np.empty(ext.packed_b_size(k, n), F32)
        ext.pack_b(wide[:, ::2], out, nthreads)
        if k > 0:
            np.testing.assert_array_equal(out, _packed_b_reference(wide[:, ::2]))


@pytest.mark.parametrize("m,k", [(13, 5000), (500, 40), (12, 1), (1, 4100), (29, 1536)])
def test_pack_a_layout(level: str, nthreads: int, m: int, k: int) -> None:
    """Every level's packing (AVX-512: register transposes of 16 K) gives the one layout."""
    ext = native.ext()
    rng = np.random.default_rng(m * k)
    a = rng.standard_normal((m, k), F32)
    wide = np.zeros((m, k + 7), F32)
    wide[:, 3 : k + 3] = a  # rows further apart than K (a Split's or a Slice's view)
    for src in (a, np.asfortranarray(a), wide[:, 3 : k + 3]):
        out = np.full(ext.packed_a_size(m, k), np.nan, F32)
        ext.pack_a(src, out, nthreads)
        np.testing.assert_array_equal(out, _packed_a_reference(a))


# MiniLM's projections (M = 128 tokens), with K and N scaled down: bias, Gelu
@pytest.mark.parametrize("k,n,act", [(384, 1152, ""), (384, 200, "Gelu"), (600, 96, ""),
                                     (96, 384, "Gelu")])  # fmt: skip
def test_transformer_projections(level: str, nthreads: int, k: int, n: int, act: str) -> None:
    from gossamer.cython_kernels import gemm_kernels as gk

    rng = np.random.default_rng(k + n)
    a = rng.standard_normal((128, k), F32) * F32(0.1)
    w = rng.standard_normal((k, n), F32) * F32(0.1)
    bias = rng.standard_normal(n, F32)
    ep = gk.make_epilogue(gk.fused_activation(act, None), bias_col=bias)
    y = np.empty((128, n), F32)
    native.ext().gemm_a(a, gk.pack_weights(w), n, y, ep, nthreads)
    ref = a.astype(np.float64) @ w.astype(np.float64) + bias
    if act == "Gelu":
        from math import erf

        ref = 0.5 * ref * (1.0 + np.vectorize(erf)(ref / np.sqrt(2.0)))
    np.testing.assert_allclose(y, ref, **TOL)


def test_attention_batched(level: str, nthreads: int) -> None:
    """MiniLM's attention products: 12 heads of 128x32 @ 32x128 and 128x128 @ 128x32 (K^T as a
    transposed view: packed by strides)."""
    rng = np.random.default_rng(5)
    q = rng.standard_normal((12, 128, 32), F32)
    kt = rng.standard_normal((12, 128, 32), F32).transpose(0, 2, 1)
    p = rng.standard_normal((12, 128, 128), F32)
    v = rng.standard_normal((12, 128, 32), F32)
    for a, b in ((q, kt), (p, v)):
        y = np.empty((12, a.shape[1], b.shape[2]), F32)
        native.ext().matmul_batched(a, b, y, nthreads)
        np.testing.assert_allclose(y, a.astype(np.float64) @ b.astype(np.float64), **TOL)


@settings(max_examples=25, deadline=None)
@given(
    m=st.integers(1, 40), k=st.integers(0, 40), n=st.integers(1, 700),
    clip=st.booleans(), threads=st.sampled_from([1, 2]),
)  # fmt: skip
def test_random_long_rows(m: int, k: int, n: int, clip: bool, threads: int) -> None:
    rng = np.random.default_rng(m * 1000 + k * 10 + n)
    w = rng.standard_normal((m, k), F32)
    x = rng.standard_normal((k, n), F32)
    bias = rng.standard_normal(m, F32)
    y, after = _conv_gemm(w, x, bias, clip, threads)
    np.testing.assert_allclose(y, _conv_reference(w, x, bias, clip), **TOL)
    assert np.all(after == F32(7.25))
