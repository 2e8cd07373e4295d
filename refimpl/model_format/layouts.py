"""Stored layouts: a graph's session-specific rewrite, planned once and kept in the .gsm.

At -O3 a session rewrites the graph it runs for the backends it uses (gossamer/layout_planning.py:
the cython backend's blocked channel layout, its attention kernel): a shape inference and a
rewrite of every chain at each load. `gossamer convert --pack` plans it once and files the result
with the graph under a key naming everything the plan depends on (the backends, the SIMD width,
the optimiser's and planner's sources, the graph's fingerprint): `attach(graph, key, planned)`.
save_gsm stores the layouts of the graph it writes (the document's optional "layouts" list,
minor 4); load_gsm files them again, unbuilt: `find(graph, key)` builds the one a session asks
for (checked like the main graph) and nothing else. `planned` None records "planning changes
nothing". A key that differs (another machine, another selection, another version) finds
nothing: the session plans as before.

Layouts are bound to the graph object (an id-keyed table of weak references, as the pre-packed
forms are bound to their arrays): a graph the optimiser copied has none, and a graph edited in
place after its layouts were filed (an initializer, a node, a declared input or output replaced,
here or in a subgraph) finds none: a layout is for the graph as it was when filed (its planned
graph holds the weights of then).
"""

from __future__ import annotations

import operator
import threading
import weakref
from collections.abc import Callable
from functools import partial
from itertools import chain
from typing import Any

import numpy as np

from ..ir import Graph

# the stored form of one layout: the planned graph (None: planning changes nothing), or a
# builder that makes it from the file on first use
Layout = Graph | None | Callable[[], Graph | None]
MISSING = object()  # what find() returns when no layout is filed under the key

# id(graph) -> (weak reference to the graph, {key: layout}, the graph's parts when filed)
_LAYOUTS: dict[int, tuple[weakref.ref, dict[str, Layout], list[Any]]] = {}
# reentrant: a weak reference's callback (_forget) runs in whichever thread frees the object,
# which may be this module's own, holding the lock, when an allocation in it starts a collection
_LOCK = threading.RLock()


def attach(graph: Graph, key: str, layout: Layout) -> None:
    """Files `layout` (a planned Graph, None, or a builder of either) for `graph` under `key`."""
    ident = id(graph)
    with _LOCK:
        entry = _LAYOUTS.get(ident)
        if entry is None or entry[0]() is not graph or not _unchanged(graph, entry[2]):
            entry = (weakref.ref(graph, partial(_forget, ident)), {}, _parts(graph))
            _LAYOUTS[ident] = entry
        entry[1][key] = layout


def find(graph: Graph, key: str) -> Graph | None | object:
    """The layout of `graph` filed under exactly `key` (built on first use: a file's raises
    ModelFormatError if broken), or MISSING."""
    return find_keyed(graph, lambda: key)


def find_keyed(graph: Graph, key_of: Callable[[], str | None]) -> Graph | None | object:
    """find(graph, key_of()), where `key_of` (None: no key applies) is asked only when `graph`
    has layouts filed: a graph without any (read from an .onnx file) costs no key."""
    entry = _filed(graph)
    if entry is None:
        return MISSING
    key = key_of()
    layout = MISSING if key is None else entry[1].get(key, MISSING)
    if callable(layout):
        layout = layout()
        entry[1][key] = layout
    return layout


def any_layout(graph: Graph) -> bool:
    """Whether `graph` has a layout filed under any key."""
    return _filed(graph) is not None


def layouts(graph: Graph) -> dict[str, Graph | None]:
    """Every layout of `graph`, by key, built (what save_gsm writes)."""
    entry = _filed(graph)
    if entry is None:
        return {}
    return {key: find(graph, key) for key in list(entry[1])}  # type: ignore[misc]


def _filed(graph: Graph) -> tuple[weakref.ref, dict[str, Layout], list[Any]] | None:
    """`graph`'s entry, where it has layouts filed and is still the graph they were filed for
    (the same object, none of its parts replaced since)."""
    entry = _LAYOUTS.get(id(graph))
    if entry is None or not entry[1] or entry[0]() is not graph:  # (the cheap tests first)
        return None
    return entry if _unchanged(graph, entry[2]) else None


def _parts(graph: Graph, into: list[Any] | None = None) -> list[Any]:
    """The objects an edit in place would replace: the initializers (and their names), the
    declared inputs and outputs, the nodes and their array attributes, through every subgraph."""
    parts: list[Any] = [] if into is None else into
    parts.extend(chain.from_iterable(graph.initializers.items()))
    parts.extend(graph.inputs)
    parts.extend(graph.outputs)
    for node in graph.nodes:
        parts.append(node)
        for value in node.attrs.values():
            kind = type(value)
            if kind is int or kind is float or kind is str or kind is bytes:
                continue  # (most attributes: nothing to walk)
            if isinstance(value, Graph):
                _parts(value, parts)
            elif isinstance(value, np.ndarray):
                parts.append(value)
            elif isinstance(value, (list, tuple)):
                for item in value:
                    if isinstance(item, Graph):
                        _parts(item, parts)
                    elif isinstance(item, np.ndarray):
                        parts.append(item)
    return parts


def _unchanged(graph: Graph, filed: list[Any]) -> bool:
    """Whether `graph` still consists of exactly the objects it had when its layouts were filed
    (the node structure itself is the key's fingerprint: stored_layouts)."""
    now = _parts(graph)
    return len(now) == len(filed) and all(map(operator.is_, now, filed))


def _forget(ident: int, ref: weakref.ref) -> None:
    with _LOCK:
        entry = _LAYOUTS.get(ident)
        if entry is not None and entry[0] is ref:
            del _LAYOUTS[ident]
