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
forms are bound to their arrays): a graph the optimiser copied or edited has none.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from functools import partial

from ..ir import Graph

# the stored form of one layout: the planned graph (None: planning changes nothing), or a
# builder that makes it from the file on first use
Layout = Graph | None | Callable[[], Graph | None]
MISSING = object()  # what find() returns when no layout is filed under the key

# id(graph) -> (weak reference to the graph, {key: layout})
_LAYOUTS: dict[int, tuple[weakref.ref, dict[str, Layout]]] = {}
_LOCK = threading.Lock()


def attach(graph: Graph, key: str, layout: Layout) -> None:
    """Files `layout` (a planned Graph, None, or a builder of either) for `graph` under `key`."""
    ident = id(graph)
    with _LOCK:
        entry = _LAYOUTS.get(ident)
        if entry is None or entry[0]() is not graph:
            entry = (weakref.ref(graph, partial(_forget, ident)), {})
            _LAYOUTS[ident] = entry
        entry[1][key] = layout


def find(graph: Graph, key: str) -> Graph | None | object:
    """The layout of `graph` filed under exactly `key` (built on first use: a file's raises
    ModelFormatError if broken), or MISSING."""
    entry = _LAYOUTS.get(id(graph))
    if entry is None or entry[0]() is not graph:
        return MISSING
    layout = entry[1].get(key, MISSING)
    if callable(layout):
        layout = layout()
        entry[1][key] = layout
    return layout


def any_layout(graph: Graph) -> bool:
    """Whether `graph` has a layout filed under any key."""
    entry = _LAYOUTS.get(id(graph))
    return entry is not None and entry[0]() is graph and bool(entry[1])


def layouts(graph: Graph) -> dict[str, Graph | None]:
    """Every layout of `graph`, by key, built (what save_gsm writes)."""
    entry = _LAYOUTS.get(id(graph))
    if entry is None or entry[0]() is not graph:
        return {}
    return {key: find(graph, key) for key in list(entry[1])}  # type: ignore[misc]


def _forget(ident: int, ref: weakref.ref) -> None:
    with _LOCK:
        entry = _LAYOUTS.get(ident)
        if entry is not None and entry[0] is ref:
            del _LAYOUTS[ident]
