"""How the quantiser runs a model: a `Runner` builds, for a graph, a function that runs one feed
with observers and returns the graph outputs.

The converter layer knows only the reference interpreter (`reference_runner`); the session layer
passes a runner on the fastest available backend (gossamer.quantization). Observers must see
every node's outputs, so a runner must not fuse nodes into opaque partitions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ...refimpl.interpreter import NodeObserver, Program
from ...refimpl.ir import Graph

if TYPE_CHECKING:
    from .calibration_data import CalibrationData

RunFeed = Callable[[dict[str, np.ndarray], Sequence[NodeObserver]], list[Any]]
Runner = Callable[[Graph], RunFeed]


def reference_runner(graph: Graph) -> RunFeed:
    """Runs `graph` on the reference interpreter, node by node."""
    program = Program(graph)
    names = [v.name for v in graph.outputs]

    def run(feeds: dict[str, np.ndarray], observers: Sequence[NodeObserver] = ()) -> list[Any]:
        env = program.run(feeds, observers=observers)
        return [env[n] for n in names]

    return run


class OutputTap:
    """An observer that hands each watched value to `sink(name, array)` as nodes produce it."""

    def __init__(self, names: set[str], sink: Callable[[str, np.ndarray], None]) -> None:
        self.names = names
        self.sink = sink

    def before_node(self, node: Any, inputs: Sequence[Any]) -> None:
        pass

    def after_node(self, node: Any, inputs: Sequence[Any], outputs: Sequence[Any]) -> None:
        for name, value in zip(node.outputs, outputs):
            if name in self.names and isinstance(value, np.ndarray):
                self.sink(name, value)


def progress_bar(total: int, desc: str, enabled: bool) -> Any:
    """A tqdm bar counting samples (samples/s shown), or None where disabled or tqdm is absent
    (the `progress` extra: it is never a runtime dependency)."""
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=desc, unit="sample", leave=False, dynamic_ncols=True)


def feeds_with_progress(
    data: CalibrationData, batch: int, label: str, enabled: bool
) -> Iterator[dict[str, np.ndarray]]:
    """data's feeds, `batch` samples at a time, counted on a progress bar (closed at the end)."""
    bar = progress_bar(data.count, label, enabled)
    try:
        for feed, samples in data.feeds(batch):
            yield feed
            if bar is not None:
                bar.update(samples)
    finally:
        if bar is not None:
            bar.close()
