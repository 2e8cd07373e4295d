"""Packed weights in 2 MiB pages: the buffers the kernels stream weights from every run.

A run of MiniLM reads all its 42 MB of packed weights (from L3: they do not fit L2), in 4 KiB
pages that is ~10,700 pages, five times what the second-level TLB maps, so the B panels of every
product miss the TLB page after page, and the hardware prefetchers stop at each 4 KiB page's
end. In 2 MiB pages the same products run as with B warm in L2 (benchmarks/results/
fp32_minilm_2t.md "Session 30 (mlm)").

Linux only (transparent huge pages, `madvise` mode or `always`): large weights are cut from
chunks of a few MiB allocated by numpy and advised MADV_HUGEPAGE before anything touches them;
each weight is a 64-byte aligned view of its chunk, so the chunk (a plain ndarray) stays alive
while any weight cut from it does, and segments.py finds its owner as for any array. Smaller
weights, and any system without the advice, get `_common.aligned_empty`'s buffers.
"""

from __future__ import annotations

import ctypes
import mmap
import sys
import threading

import numpy as np

from ._common import F32, aligned_empty

_HUGE_PAGE = 2 << 20
# chunks are at least this large: a weight does not get a 2 MiB page to itself, and the unused
# end of a chunk is never touched (so never resident)
_CHUNK = 16 << 20
# smaller weights stay in 4 KiB pages (a few pages each: the TLB covers them)
MIN_BYTES = 256 << 10
# False: every weight from aligned_empty (the A/B switch of benchmarks and tests)
ENABLED = True


def _madvise_fn():  # -> the C library's madvise, or None
    advice = getattr(mmap, "MADV_HUGEPAGE", None)
    if not sys.platform.startswith("linux") or advice is None:
        return None
    try:
        fn = ctypes.CDLL(None, use_errno=True).madvise
    except (OSError, AttributeError):
        return None
    fn.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
    fn.restype = ctypes.c_int
    return lambda addr, size: fn(addr, size, advice) == 0


_madvise = _madvise_fn()
_lock = threading.Lock()
_chunk: list = [None, 0, 0]  # the current chunk, its next free byte, its end


def _new_chunk(nbytes: int) -> bool:
    """A chunk of at least nbytes in advised 2 MiB pages as the current one; False where the
    advice failed (the chunk is then not used)."""
    size = max(_CHUNK, -(-nbytes // _HUGE_PAGE) * _HUGE_PAGE)
    raw = np.empty(size + _HUGE_PAGE, np.uint8)
    start = (-raw.ctypes.data) % _HUGE_PAGE
    if not _madvise(raw.ctypes.data + start, size):
        return False
    _chunk[:] = [raw, start, start + size]
    return True


def weight_empty(size: int, dtype: type = F32) -> np.ndarray:
    """An uninitialised 1-D array of `size` elements for packed weights, 64-byte aligned (as
    aligned_empty), in 2 MiB pages where it is at least MIN_BYTES and the system allows."""
    nbytes = size * np.dtype(dtype).itemsize
    if not ENABLED or _madvise is None or nbytes < MIN_BYTES:
        return aligned_empty(size, dtype)
    with _lock:
        raw, at, end = _chunk
        if raw is None or at + nbytes > end:
            if not _new_chunk(nbytes):
                return aligned_empty(size, dtype)
            raw, at, end = _chunk
        _chunk[1] = at + -(-nbytes // 64) * 64
    return raw[at : at + nbytes].view(dtype)


def in_weight_pages(form: np.ndarray) -> np.ndarray:
    """A packed form read from a .gsm file (mapped: 4 KiB pages of the page cache) as the packing
    would have placed it: a copy in 2 MiB pages where weight_empty gives those (the form's mapped
    pages are then given back: plugins/prepacked.py), else the form itself."""
    if not ENABLED or _madvise is None or form.nbytes < MIN_BYTES:
        return form
    placed = weight_empty(form.size, form.dtype.type)
    np.copyto(placed, form.reshape(-1))
    return placed.reshape(form.shape)
