"""The int8 GEMM's packers (src/qgemm.h, src/qconv.h) write exactly the documented layout at every
SIMD level: zero-point-shifted int16 pairs, A in panels of QMR rows, B in panels of QNR columns,
pair-major, zeros past the matrix. The vectorised paths (contiguous rows, byte im2col) and the
scalar ones (strided operands, per-column zero points, zero points outside the type) must agree."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.cython_kernels._native import ext
from hypothesis import given, settings
from hypothesis import strategies as st

TYPES = {0: np.uint8, 1: np.int8}


def _layout(lines_by_k: np.ndarray, width: int) -> np.ndarray:
    """The packed form of an (L x K) int matrix of shifted values, panels of `width` lines."""
    lines, k = lines_by_k.shape
    k2, panels = max((k + 1) // 2, 1), -(-lines // width)
    full = np.zeros((panels * width, 2 * k2), np.int64)
    full[:lines, :k] = lines_by_k
    # panel p, pair q, line l, half h  <-  full[p * width + l, 2 q + h]
    out = full.reshape(panels, width, k2, 2).transpose(0, 2, 1, 3)
    return out.astype(np.int16).reshape(-1)


def _operand(rng: np.random.Generator, shape: tuple[int, ...], code: int) -> np.ndarray:
    info = np.iinfo(TYPES[code])
    return rng.integers(info.min, info.max + 1, shape).astype(TYPES[code])


@settings(max_examples=30, deadline=None)
@given(
    m=st.integers(1, 20), k=st.integers(1, 60), code=st.sampled_from([0, 1]),
    per_row=st.booleans(), strided=st.booleans(), seed=st.integers(0, 2**31 - 1),
)  # fmt: skip
def test_packed_a_is_the_documented_layout(level, nthreads, m, k, code, per_row, strided, seed):
    rng = np.random.default_rng(seed)
    a = _operand(rng, (k, m) if strided else (m, k), code)
    a = a.T if strided else a
    za = _operand(rng, (m if per_row else 1,), code).astype(np.int32)
    out = np.full(ext().qpacked_a_size(m, k), 12345, np.int16)
    ext().qpack_a(a.view(np.uint8), code, za, out, nthreads)
    want = _layout(a.astype(np.int64) - za.reshape(-1, 1), ext().QMR)
    np.testing.assert_array_equal(out[: want.size], want)


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(1, 70), k=st.integers(1, 40), code=st.sampled_from([0, 1]),
    per_col=st.booleans(), strided=st.booleans(), seed=st.integers(0, 2**31 - 1),
)  # fmt: skip
def test_packed_b_is_the_documented_layout(level, nthreads, n, k, code, per_col, strided, seed):
    rng = np.random.default_rng(seed)
    b = _operand(rng, (n, k) if strided else (k, n), code)
    b = b.T if strided else b
    zb = _operand(rng, (n if per_col else 1,), code).astype(np.int32)
    out = np.full(ext().qpacked_b_size(k, n), 12345, np.int16)
    ext().qpack_b(b.view(np.uint8), code, zb, out, nthreads)
    want = _layout((b.astype(np.int64) - zb.reshape(1, -1)).T, ext().QNR)
    np.testing.assert_array_equal(out[: want.size], want)


def _im2col(x: np.ndarray, kh: int, kw: int, s: int, d: int, p: int, oh: int, ow: int, z: int):
    c, h, w = x.shape
    xp = np.full((c, h + 2 * p + s * oh + d * kh, w + 2 * p + s * ow + d * kw), z, np.int64)
    xp[:, p : p + h, p : p + w] = x
    cols = np.empty((c, kh, kw, oh, ow), np.int64)
    for ky in range(kh):
        for kx in range(kw):
            cols[:, ky, kx] = xp[:, ky * d : ky * d + s * oh : s, kx * d : kx * d + s * ow : s]
    return cols.reshape(c * kh * kw, oh * ow) - z


@pytest.mark.parametrize("zx", [None, 300])  # None: a value of the type (the byte path)
@pytest.mark.parametrize(
    "c, h, w, k, s, d, p",
    [(3, 9, 11, 3, 1, 1, 1), (5, 7, 7, 1, 1, 1, 0), (4, 10, 9, 3, 2, 1, 1), (2, 6, 40, 2, 1, 2, 0),
     (7, 13, 5, 5, 2, 1, 2), (1, 4, 4, 1, 1, 1, 0), (6, 5, 5, 3, 1, 1, 2)],
)  # fmt: skip
def test_conv_im2col_packing_is_the_documented_layout(level, nthreads, c, h, w, k, s, d, p, zx):
    rng = np.random.default_rng(c * h + w)
    for code in (0, 1):
        x = _operand(rng, (c, h, w), code)
        z = int(_operand(rng, (1,), code)[0]) if zx is None else zx
        oh, ow = (h + 2 * p - d * (k - 1) - 1) // s + 1, (w + 2 * p - d * (k - 1) - 1) // s + 1
        out = np.full(ext().qpacked_b_size(c * k * k, oh * ow), 12345, np.int16)
        ext().qpack_b_conv(x.view(np.uint8), code, k, k, s, s, d, d, p, p, oh, ow, z, out, nthreads)
        want = _layout(_im2col(x, k, k, s, d, p, oh, ow, z).T, ext().QNR)
        np.testing.assert_array_equal(out[: want.size], want)
