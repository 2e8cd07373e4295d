"""Packed weights start on a 64-byte boundary: the kernels stream them with 64-byte vector loads,
and at numpy's 16-byte alignment every load would cross a cache line (the LSTM's recurrent
weights at a 16- or 48-byte offset took 1.45x the time per run)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from gossamer.cython_kernels import rnn_kernels
from gossamer.cython_kernels._common import aligned_empty
from gossamer.cython_kernels.gemm_kernels import pack_weights

import gossamer

from .test_rnn import rnn_model


@pytest.mark.parametrize("dtype", [np.float32, np.uint8, np.int32])
@pytest.mark.parametrize("size", [0, 1, 15, 16, 17, 1000, 65537])
def test_aligned_empty(size, dtype):
    for _ in range(8):  # fresh allocations at whatever offsets the heap gives
        a = aligned_empty(size, dtype)
        assert size == 0 or a.ctypes.data % 64 == 0  # (an empty array has no bytes to load)
        assert a.shape == (size,) and a.dtype == dtype and a.flags.writeable
        a[:] = 1
        assert (a == 1).all()


@pytest.mark.parametrize("k,n", [(3, 5), (64, 16), (384, 1536)])
def test_packed_gemm_weights_are_aligned(k, n):
    assert pack_weights(np.ones((k, n), np.float32)).ctypes.data % 64 == 0


class _Spy:
    """ext() with its lstm / gru calls' packed recurrent weights recorded."""

    def __init__(self, real: Any, seen: list[np.ndarray]) -> None:
        self._real, self._seen = real, seen

    def __getattr__(self, name: str) -> Any:
        fn = getattr(self._real, name)
        if name not in ("lstm", "gru"):
            return fn

        def call(*args: Any) -> Any:
            self._seen.extend(a for a in args[-7:] if isinstance(a, np.ndarray) and a.size > 1)
            return fn(*args)

        return call


@pytest.mark.parametrize("op", ["LSTM", "GRU"])
def test_packed_recurrent_weights_are_aligned(op, monkeypatch):
    real, seen = rnn_kernels.ext(), []
    monkeypatch.setattr(rnn_kernels, "ext", lambda: _Spy(real, seen))
    model, feeds = rnn_model(op, 4, 2, 3, 37, direction="bidirectional")
    sess = gossamer.load(model, backends=["cython"], threads=1)
    sess.run(None, feeds)
    packed = [a for a in seen if a.dtype == np.float32 and a.size >= 37 * 37]
    assert packed, "no packed recurrent weights reached the kernel"
    assert all(a.ctypes.data % 64 == 0 for a in packed)
