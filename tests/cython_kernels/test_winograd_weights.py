"""The Winograd weight transform in C (src/winograd.c gk_winograd_weights) against the float64
einsum it replaced: within 1 ulp, for both tile sizes, odd channel counts, 1 and 2 threads."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.cython_kernels._native import ext
from gossamer.cython_kernels.conv_kernels import _G


@pytest.mark.parametrize("mt", [4, 2])
@pytest.mark.parametrize("m,c", [(1, 1), (3, 5), (70, 33)])
def test_transform_matches_the_float64_einsum(mt, m, c, threads):
    w = np.random.default_rng(m * c).standard_normal((m, c, 3, 3)).astype(np.float32)
    a2 = (mt + 2) ** 2
    want = np.einsum("ai,mcij,bj->abmc", _G[mt], w.astype(np.float64), _G[mt])
    want = want.reshape(a2, m, c).astype(np.float32)
    got = np.empty((a2, m, c), np.float32)
    ext().winograd_weights(w, _G[mt], got, threads)
    ulps = np.abs(got.view(np.int32).astype(np.int64) - want.view(np.int32).astype(np.int64))
    assert ulps.max() <= 1


def test_bad_shapes_raise():
    w = np.zeros((2, 2, 3, 3), np.float32)
    with pytest.raises(ValueError, match="u must be"):
        ext().winograd_weights(w, _G[4], np.zeros((36, 2, 3), np.float32), 1)
    with pytest.raises(ValueError, match="w must be"):
        ext().winograd_weights(
            np.zeros((2, 2, 5, 5), np.float32), _G[4], np.zeros((36, 2, 2), np.float32), 1
        )
