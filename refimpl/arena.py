"""Arena execution: the intermediates of a static-shape graph written into one preallocated buffer.

`memory_plan.plan_memory` gives every intermediate tensor an offset in one arena. A `Program` built
with that plan allocates the arena on its first run and, around each node, hands the node's planned
output arrays to whatever runs it. A kernel that can write into a given array asks for its output
with `output_array(shape, dtype, index)` instead of allocating: it gets the planned array when shape
and dtype match, else a fresh one, so a kernel never depends on the plan being there. Reference ops
simply allocate. After the first run, a graph whose kernels all write into the arena allocates
nothing but its outputs.

What keeps this safe:
- graph outputs never get an arena array (they are handed to the caller), and an output that
  aliases the arena anyway (a view of an intermediate) is copied before it is returned;
- an op that returns a view of an arena tensor the plan does not know about (a reference
  Transpose or Slice returns a numpy view) gets that view copied, so the buffer can be reused;
- runs with observers or `keep_all` (tools that keep intermediates) and nested runs (If/Loop
  bodies) do not use the arena; neither does a second thread running the same Program while the
  arena is in use.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from .memory_plan import MemoryPlan

running = threading.local()  # .outs: the planned outputs of the node running on this thread


def output_array(shape: tuple[int, ...], dtype: Any = np.float32, index: int = 0) -> np.ndarray:
    """The array to write output `index` of the running node into: its planned arena slice when
    the node runs inside an arena and the shape and dtype are the planned ones, else a new array.
    Ask only for the arrays returned as the node's outputs: a scratch array taken from here would
    share the output's bytes."""
    outs = getattr(running, "outs", None)
    if outs is not None and index < len(outs):
        planned = outs[index]
        if planned is not None and planned.shape == shape and planned.dtype == dtype:
            return planned
    return np.empty(shape, dtype)


def output_is_view(index: int = 0) -> bool:
    """Whether the plan makes output `index` of the running node a view of its input (a block of
    it, for a Split or Slice): the kernel should return that view, not a copy."""
    outs = getattr(running, "outs", None)
    return isinstance(outs, ViewOutputs) and index < len(outs.views) and outs.views[index]


class ViewOutputs(tuple):  # type: ignore[type-arg]
    """A step's planned output arrays (None at each output the plan makes a view of an input),
    with `views`: per output, whether it is such a view."""

    views: tuple[bool, ...] = ()


def set_outputs(outs: tuple[np.ndarray | None, ...] | None) -> tuple[np.ndarray | None, ...] | None:
    """Makes `outs` the running node's planned outputs; returns the previous ones (to restore)."""
    previous = getattr(running, "outs", None)
    running.outs = outs
    return previous


class Arena:
    """One arena for one program: the buffer (allocated on first use) and the planned output
    arrays of each step."""

    def __init__(self, plan: MemoryPlan, step_outputs: list[list[str]], graph_outputs: set[str]):
        self.plan = plan
        self._step_outputs = step_outputs
        self._graph_outputs = graph_outputs
        self.buffer: np.ndarray | None = None
        self.step_views: list[tuple[np.ndarray | None, ...] | None] = []
        # per step and output: the plan makes it a view of an input (aliasing it is expected)
        self.step_aliased: list[tuple[bool, ...]] = [
            tuple(bool(n) and n in plan.tensors and plan.tensors[n].how == "view" for n in names)
            for names in step_outputs
        ]
        self.lock = threading.Lock()

    @property
    def nbytes(self) -> int:
        return self.plan.arena_bytes

    def bind(self) -> None:
        """Allocates the buffer and the per-step output arrays (once)."""
        if self.buffer is not None:
            return
        buffer = self.plan.allocate()
        views: list[tuple[np.ndarray | None, ...] | None] = []
        for names, aliased in zip(self._step_outputs, self.step_aliased):
            outs = tuple(self._planned(buffer, name) for name in names)
            if any(aliased):  # a Split's or Slice's blocks: its kernel asks output_is_view
                marked = ViewOutputs(outs)
                marked.views = aliased
                views.append(marked)
            else:
                views.append(outs if any(o is not None for o in outs) else None)
        self.step_views = views
        self.buffer = buffer

    def _planned(self, buffer: np.ndarray, name: str) -> np.ndarray | None:
        t = self.plan.tensors.get(name) if name else None
        if t is None or t.how == "view" or name in self._graph_outputs or t.nbytes == 0:
            return None
        return self.plan.view(buffer, name)

    def keep_out(self, index: int, results: list[Any]) -> None:
        """Copies results of step `index` that alias the arena where the plan does not expect it
        (a reference op returned a view of an arena tensor): into their own planned array when
        there is one."""
        planned, aliased = self.step_views[index], self.step_aliased[index]
        for i, value in enumerate(results):
            mine = planned[i] if planned is not None and i < len(planned) else None
            if value is mine or (i < len(aliased) and aliased[i]) or not self.aliases(value):
                continue
            if mine is not None and mine.shape == value.shape and mine.dtype == value.dtype:
                np.copyto(mine, value)
                results[i] = mine
            else:
                results[i] = value.copy()

    def aliases(self, value: Any) -> bool:
        """Whether `value` is an array over this arena's bytes."""
        return (
            isinstance(value, np.ndarray)
            and self.buffer is not None
            and np.may_share_memory(value, self.buffer)
        )
