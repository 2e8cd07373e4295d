"""Per-run settings that kernels read without changing their (reference) signatures.

A Session sets them around each run (`using_threads`); a kernel asks `current_threads()`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_threads: ContextVar[int | None] = ContextVar("gossamer_threads", default=None)


def default_threads() -> int:
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def current_threads() -> int:
    """Threads a kernel may use in the current run."""
    return _threads.get() or default_threads()


@contextmanager
def using_threads(threads: int | None) -> Iterator[None]:
    token = _threads.set(threads)
    try:
        yield
    finally:
        _threads.reset(token)
