"""Per-run settings that kernels read without changing their (reference) signatures.

A Session sets them around each run (`using_threads`, `using_memory_budget`); a kernel asks
`current_threads()`, and calls `check_allocation()` before it allocates a work buffer whose size
the model decides.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from ..refimpl.memory_budget import default_budget, format_bytes, over_budget

_threads: ContextVar[int | None] = ContextVar("gossamer_threads", default=None)
_budget: ContextVar[int | None] = ContextVar("gossamer_memory_budget", default=None)


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
    """Kernels see `threads`; numpy's BLAS (used by reference ops) is capped to it too when the
    optional `threadpoolctl` is installed (`pip install 'gossamer[threads]'`)."""
    token = _threads.set(threads)
    try:
        controller = _blas_controller() if threads is not None else None
        if controller is None:
            yield
        else:
            with controller.limit(limits=threads, user_api="blas"):
                yield
    finally:
        _threads.reset(token)


_controller: list[Any] = []


def _blas_controller() -> Any:
    """A cached threadpoolctl controller, or None without threadpoolctl (then BLAS keeps its
    own thread count, e.g. OPENBLAS_NUM_THREADS)."""
    if not _controller:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            _controller.append(None)
        else:
            _controller.append(ThreadpoolController())
    return _controller[0]


def enter_run(threads: int | None, budget: int | None) -> tuple[Any, Any]:
    """Sets what `using_threads(threads)` (without its BLAS cap) and `using_memory_budget(budget)`
    set, in one cheap call a Session makes per run; pass the result to `leave_run`."""
    return _threads.set(threads), _budget.set(budget)


def leave_run(tokens: tuple[Any, Any]) -> None:
    """Undoes `enter_run`."""
    _budget.reset(tokens[1])
    _threads.reset(tokens[0])


@contextmanager
def using_memory_budget(budget: int | None) -> Iterator[None]:
    """Kernels' `check_allocation` compares with `budget` bytes (None: the default budget)."""
    token = _budget.set(budget)
    try:
        yield
    finally:
        _budget.reset(token)


def check_allocation(nbytes: int, what: str) -> None:
    """Raises MemoryBudgetError when a buffer of `nbytes` (exact: pass a Python int computed from
    the shapes) would exceed the session's memory budget; `what` names the buffer and its kernel.
    Call it before allocating anything whose size a model or a feed decides."""
    budget = _budget.get()
    if budget is None:
        budget = default_budget()
    if nbytes > budget:
        raise over_budget(
            f"{what} would take {format_bytes(nbytes)}", budget, tensor=what, nbytes=nbytes
        )
