"""Arenas per input shape, for graphs whose inputs have symbolic dims ("N", "?").

A static memory plan needs every intermediate's size, which a graph with symbolic input dims only
has once the feeds' shapes are known. Such a Program therefore plans its arena per input-shape
signature (the shapes of its symbolic inputs) on the second run at that signature (the first runs
node by node without an arena: Program._sight), and keeps a variant of itself bound to that arena:
the same steps and kernels, its own arena, schedule and segments (refimpl/interpreter.py). A model
run repeatedly at one shape gets what a static model gets (arena, then recorded segments, here
from that second run); another shape plans again.

Bounds: at most MAX_VARIANTS signatures are kept (the least recently used is dropped), their arenas
together within the arena limit (a Session's memory budget); after MAX_PLANS plans a Program stops
planning (its shapes change too often for plans to pay off) and runs node by node, as before. A
signature whose plan fails (shape inference cannot size it) or that has no arena runs node by
node too; that is remembered, so it is not planned again. Such runs use the arena of the declared
shapes (the tensors whose size no symbolic dim decides), which plugins.executor leaves to the
first run that needs it (`Program(plan_later=...)`; a Session plans it at load only where its
bound could pass the memory budget).
"""

from __future__ import annotations

import copy
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from .ir import Graph
from .memory_budget import default_budget, is_static_dim
from .memory_plan import plan_memory

log = logging.getLogger("gossamer.interpreter")

MAX_VARIANTS = 8  # input-shape signatures whose arenas are kept
MAX_PLANS = 64  # plans one Program makes before it stops planning


def symbolic_inputs(graph: Graph) -> list[str]:
    """The graph's fed inputs (not initializers) whose declared shape has a non-numeric dim."""
    return [
        v.name
        for v in graph.inputs
        if v.name not in graph.initializers
        and v.kind == "tensor"
        and v.shape is not None
        and not all(is_static_dim(d) for d in v.shape)
    ]


class ShapeArenas:
    """The per-signature variants of one Program (see the module docstring)."""

    def __init__(self, program: Any, names: list[str]) -> None:
        self.program = program
        self.names = names
        self.limit: int | None = None  # bytes all kept arenas may take (None: default budget)
        self.plans_made = 0
        # shapes -> every tensor's Value at them, or None (then plan_memory infers): a Session
        # hands its RunSizes.values_at, which evaluates the declared shapes without inference
        self.sized_values: Callable[[dict], dict[str, Any] | None] | None = None
        self._variants: OrderedDict[tuple, Any] = OrderedDict()  # signature -> Program or None
        self._lock = threading.Lock()

    def signature(self, feeds: dict[str, Any]) -> tuple | None:
        key = tuple([getattr(feeds.get(n), "shape", None) for n in self.names])
        return None if None in key else key

    def variant(self, feeds: dict[str, Any]) -> Any:
        """The Program bound to the arena for these feeds' shapes, or None (run without one)."""
        key = self.signature(feeds)
        if key is None:
            return None
        with self._lock:
            if key in self._variants:
                self._variants.move_to_end(key)
                return self._variants[key]
            if self.plans_made >= MAX_PLANS:
                return None
            self.plans_made += 1
        made = self._make(key)
        with self._lock:
            self._variants[key] = made
            self._variants.move_to_end(key)
            self._evict()
        return made

    @property
    def variants(self) -> dict[tuple, Any]:
        """signature -> variant Program (None: that signature runs without an arena)."""
        return dict(self._variants)

    def _make(self, key: tuple) -> Any:
        graph = self.program.graph
        try:
            order = self.program.nodes  # the steps' (topological) order: not sorted again
            shapes = dict(zip(self.names, key))
            values = self.sized_values(shapes) if self.sized_values is not None else None
            plan = plan_memory(graph, shapes, order=order, values=values)
        except Exception as err:  # a shape the plan cannot size: no arena, the run still runs
            log.debug("no arena for %s at %s: %s: %s", graph.name, key, type(err).__name__, err)
            return None
        limit = self.limit if self.limit is not None else default_budget()
        if not plan.arena_bytes or plan.arena_bytes > limit:
            return None
        variant = copy.copy(self.program)
        variant._run_starts = None  # the program's own run made the backend's early start
        variant.bind_arena(plan)
        return variant if variant.arena is not None else None

    def _evict(self) -> None:
        limit = self.limit if self.limit is not None else default_budget()
        while len(self._variants) > 1:
            total = sum(v.arena.nbytes for v in self._variants.values() if v is not None)
            if len(self._variants) <= MAX_VARIANTS and total <= limit:
                return
            self._variants.popitem(last=False)
