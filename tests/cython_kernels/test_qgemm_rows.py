"""The int8 GEMM's partial-row tiles (src/qgemm_kernels.inc tile_rows: a panel's first 1-5 rows
only, for an edge of M and for one-row products such as a classifier's QGemm): every row count
around the 6-row panels, int32 and byte outputs, bit-identical to the exact product at every
SIMD level this CPU has, 1 and 2 threads."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.cython_kernels._native import ext
from gossamer.refimpl.ops._quant import requantize

from ._qhelpers import q_model, run_exact
from .test_qgemm import _exact_acc, _operand, _packed_product

F32 = np.float32


@pytest.mark.parametrize("m", [1, 2, 3, 4, 5, 6, 7, 11, 13])
@pytest.mark.parametrize("out", [0, 2])  # uint8 requantised, int32
def test_every_row_count_of_a_panel(level, nthreads, m, out):
    rng = np.random.default_rng(m)
    n, k = 37, 301  # a partial column panel and an odd K too
    a, b = _operand(rng, (m, k), 0), _operand(rng, (k, n), 1)
    za = _operand(rng, (m,), 0).astype(np.int32)
    zb = np.zeros(1, np.int32)
    bias = rng.integers(-(2**20), 2**20, n).astype(np.int32)
    acc = _exact_acc(a, za, b, zb) + bias
    if out == 2:
        ep = ext().QEpilogue(2, None, 0, 0, bias, 0, 1, 0.0)
        got = _packed_product(a, za, b, zb, ep, np.empty((m, n), np.int32), nthreads)
        np.testing.assert_array_equal(got, acc)
        return
    mult = (rng.random(m) * 2e-5).astype(F32)
    ep = ext().QEpilogue(0, mult, 1, 0, bias, 0, 1, 7.0)
    got = _packed_product(a, za, b, zb, ep, np.empty((m, n), np.uint8), nthreads)
    want = requantize(acc, mult.reshape(-1, 1), np.asarray(np.uint8(7)), np.dtype(np.uint8))
    np.testing.assert_array_equal(got, want)


def test_a_one_row_qgemm_is_the_reference(level, nthreads):
    rng = np.random.default_rng(5)
    a = rng.integers(0, 256, (1, 1280)).astype(np.uint8)
    consts = {
        "a_scale": np.array(0.02, F32), "a_zero_point": np.array(3, np.uint8),
        "b": rng.integers(-127, 128, (1280, 100)).astype(np.int8),
        "b_scale": (rng.random(100) * 0.01).astype(F32), "b_zero_point": np.zeros(100, np.int8),
        "c": rng.integers(-5000, 5000, 100).astype(np.int32),
        "y_scale": np.array(0.3, F32), "y_zero_point": np.array(128, np.uint8),
    }  # fmt: skip
    run_exact(q_model("QGemm", {"a": a}, consts, domain="com.microsoft"), {"a": a}, nthreads)
