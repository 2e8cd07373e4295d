"""Pre-packed weights for any backend: look up, and record for saving, the packed forms of weights.

A kernel's prepare hook (or its first call) packs a constant weight into its own layout. With
`packed_form(weight, key, shape, build)` it first asks whether that weight array carries a form
under exactly `key` (read from a .gsm file, refimpl/model_format/prepacked.py) of the expected
float32 `shape`, and packs with `build` only when not. The key must name everything the layout
depends on (backend, layout version, SIMD level, parameters): a different key is a miss, and a
miss repacks, so a stale form is never used. A weight packed here gives back its pages of a
mapped .gsm (refimpl/model_format/mapped_pages.py: the kernel reads the packed copy). While
`recording()` is active every form packed is attached to its weight, and save_gsm then stores it
(`gossamer convert --pack BACKEND`).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np

from ..refimpl.model_format.mapped_pages import release
from ..refimpl.model_format.prepacked import attach, find, forms

__all__ = ["forms", "packed_form", "recording", "stats"]

log = logging.getLogger(__name__)

# "reused": forms taken from a file; "packed": forms packed here (tests and benchmarks read them)
stats: Counter[str] = Counter()
_recorders: list[list[str]] = []  # one list of recorded keys per active recording()
_lock = threading.Lock()


def packed_form(
    weight: np.ndarray | None,
    key: str,
    shape: tuple[int, ...],
    build: Callable[[], np.ndarray],
    dtype: type = np.float32,
    place: Callable[[np.ndarray], np.ndarray] | None = None,
) -> np.ndarray:
    """The form of `weight` filed under `key` when it is a C-contiguous array of exactly `dtype`
    and `shape`; else `build()` (attached to `weight` while recording). `place(form)`, where
    given, is where a form read from a file runs from: the array it returns (the backend's own
    memory, e.g. in large pages, as `build` would have packed into) replaces the file's, whose
    mapped pages are given back as a packed weight's are."""
    if weight is None:
        return build()
    found = find(weight, key)
    if found is not None:
        if found.dtype == dtype and found.shape == shape and found.flags.c_contiguous:
            stats["reused"] += 1
            if place is None:
                return found
            placed = place(found)
            if placed is not found:
                release(found)
            return placed
        log.warning(
            "pre-packed %s has dtype %s and shape %s, expected %s %s: packing it again",
            key, found.dtype, list(found.shape), np.dtype(dtype), list(shape),
        )  # fmt: skip
    packed = build()
    stats["packed"] += 1
    release(weight)  # its mapped pages: the kernel reads the packed form from now on
    if _recorders:
        attach(weight, key, packed)
        with _lock:
            for keys in _recorders:
                keys.append(key)
    return packed


@contextmanager
def recording() -> Iterator[list[str]]:
    """Attaches every form packed meanwhile to its weight, for save_gsm to store; yields the list
    of their keys, filled as they are packed."""
    keys: list[str] = []
    with _lock:
        _recorders.append(keys)
    try:
        yield keys
    finally:
        with _lock:
            _recorders.remove(keys)
