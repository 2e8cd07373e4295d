"""The Gelu epilogue inside the packed GEMM (AVX-512: gelu16 on the tile in registers' reach,
src/gemm_kernels.inc) gives the same bits as the epilogue's loop (epilogue_apply) and as the
unfused Gelu kernel, on every SIMD level, over a wide range of values."""

from __future__ import annotations

import numpy as np
import pytest

native = pytest.importorskip("gossamer.cython_kernels._native")
GK_GELU = 5  # src/elementwise.h: the unary kernel's Gelu (maths.h's gk_geluf)


def _values() -> np.ndarray:
    rng = np.random.default_rng(7)
    special = [np.inf, -np.inf, np.nan, 0.0, 88.0, -88.0, 1e30, -1e30, 0.927734375 * 2**0.5]
    parts = [np.linspace(-12, 12, 20001), rng.standard_normal(20000) * 3,
             -np.logspace(-30, 2, 4000), np.logspace(-30, 2, 4000), special]  # fmt: skip
    return np.concatenate([np.asarray(p, np.float64) for p in parts]).astype(np.float32)


@pytest.mark.parametrize("n", [32, 48, 7])
def test_gemm_gelu_is_the_epilogue_loop_and_the_unfused_kernel_bit_for_bit(level, nthreads, n):
    from gossamer.cython_kernels import gemm_kernels as gk

    x = _values()
    x = np.concatenate([x, np.zeros((-x.size) % n, np.float32)]).reshape(-1, n)
    m = x.shape[0]
    eye = np.eye(n, dtype=np.float32)  # C = x @ I is x itself (every other term adds +0)
    packed = gk.pack_weights(eye)
    plain = np.empty_like(x)
    native.ext().gemm_a(x, packed, n, plain, gk.make_epilogue(gk.Activation()), nthreads)
    finite = np.isfinite(x).all(axis=1)  # (an inf times I's zeros is NaN: NaN rows, also checked)
    assert np.array_equal(plain[finite].view(np.int32), (x[finite] + np.float32(0)).view(np.int32))
    fused = np.empty_like(x)
    gelu = gk.make_epilogue(gk.fused_activation("Gelu", None))
    native.ext().gemm_a(x, packed, n, fused, gelu, nthreads)
    loop = plain.copy()
    native.ext().epilogue_apply(loop, gelu, 1)
    assert np.array_equal(fused.view(np.int32), loop.view(np.int32)), m
    unfused = np.empty(plain.size, np.float32)
    native.ext().unary(GK_GELU, plain.ravel(), unfused, 0.0, 0.0, 1)
    assert np.array_equal(fused.ravel().view(np.int32), unfused.view(np.int32))
