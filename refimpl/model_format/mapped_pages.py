"""Giving back the resident pages of a mapped .gsm's weight once a backend has packed it.

A .gsm path is mapped (reader.py), so a weight's pages become resident when they are first read,
which an accelerated backend does once: to pack the weight into its own layout. From then on the
process holds the weight twice, the packed copy and the mapped original, and the original counts
in its resident set for as long as the file stays mapped (ResNet-50: 97 MB beside ~190 MB of
packed and Winograd-transformed weights). `release(weight)` tells the kernel (madvise
MADV_DONTNEED) that the process does not need those pages now. They are clean pages of a
read-only file mapping: they leave the process's resident set at once, the page cache keeps them
until the system needs the memory, and a later read (the reference interpreter, an observer, a
repack for another input shape) maps them in again from the file. No result can change; a range
is released once per mapping, so a weight read on every run is not faulted in on every run.

Only whole pages inside the array are released (a neighbour sharing its first or last page keeps
it); anything that is not a contiguous view of a mapped file (an .onnx model's arrays, a .gsm read
into memory, a weight the optimiser computed) is left as it is.
"""

from __future__ import annotations

import mmap
import threading
import weakref

import numpy as np

# (Python has no madvise on Windows: nothing is released there)
_ADVICE = getattr(mmap, "MADV_DONTNEED", None)
_released: weakref.WeakKeyDictionary[mmap.mmap, set[int]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def release(weight: np.ndarray) -> int:
    """Releases the whole pages of `weight`'s mapped bytes; returns how many bytes (0 if it is
    not a contiguous view of a mapping, or was released before)."""
    mapping = _mapping_of(weight)
    if _ADVICE is None or mapping is None or not weight.flags.c_contiguous or weight.nbytes == 0:
        return 0
    start = weight.ctypes.data - np.frombuffer(mapping, np.uint8, count=1).ctypes.data
    page = mmap.PAGESIZE
    lo = -(-start // page) * page
    hi = (start + weight.nbytes) // page * page
    if hi <= lo:
        return 0
    with _lock:
        done = _released.setdefault(mapping, set())
        if lo in done:
            return 0
        done.add(lo)
    try:
        mapping.madvise(_ADVICE, lo, hi - lo)
    except OSError:  # a kernel that refuses the advice: the pages stay, nothing else changes
        return 0
    return hi - lo


def _mapping_of(array: np.ndarray) -> mmap.mmap | None:
    """The mmap `array` views (through numpy views and np.frombuffer's memoryview), or None."""
    owner: object = array
    while isinstance(owner, np.ndarray):
        owner = owner.base
    if isinstance(owner, memoryview):
        owner = owner.obj
    return owner if isinstance(owner, mmap.mmap) and not owner.closed else None
