"""The layout a session plans at -O3 (gossamer/layout_planning.py), planned once by `gossamer
convert --pack` and stored in the .gsm (refimpl/model_format/layouts.py), so that a load skips the
blocked-layout pass's shape inference and rewrites.

The key names everything the plan depends on: the selected backends (a precision="bf16" session
selects cython-bf16, whose convs stay NCHW), the cython backend's wide flag (its AVX-512 kernels:
another machine or GOSSAMER_SIMD level plans again), what a selected backend says its part of the
planning reads (its `layout_planning_state()`: cython-bf16's AMX tiles in use, and the checksum of
its rules' sources), the environment switches of the passes, the
sources of the optimiser (which holds the passes) and of the planner, and the fingerprint of the
graph it was planned from (from the optimiser's record, which load checks against the graph).
Any difference finds no stored layout and the session plans as it always did: a stored layout is
never used for a graph or a machine it was not planned for."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from functools import lru_cache

from .refimpl.ir import Graph
from .refimpl.model_format.layouts import find_keyed
from .refimpl.model_format.prepacked import MAX_KEY_CHARS

# the environment switches the planning reads (channel_blocking, layout_planning)
_SWITCHES = ("GOSSAMER_BLOCKED_LAYOUT", "GOSSAMER_BLOCKED_WIDE", "GOSSAMER_ATTENTION")
LEVEL = 3  # the optimisation level that plans layouts (session.prepared_for_running)


def layout_key(graph: Graph, backends: Sequence[str] | None) -> str | None:
    """The key of `graph`'s layout for a session with `backends` (None: the default selection),
    or None where none is stored or used: a graph this optimiser has not optimised at LEVEL."""
    from .converter.optimizer.record import KEY, optimized_level, optimizer_version
    from .plugins.manager import select_backends

    if optimized_level(graph) < LEVEL:  # (also checks the record's fingerprint is this graph's)
        return None
    fingerprint = json.loads(graph.metadata[KEY])["graph"]
    chosen, _ = select_backends(list(backends) if backends is not None else None)
    cython = next((b for b in chosen if b.name == "cython"), None)
    wide = cython is not None and bool(getattr(cython, "blocked_layout_wide", lambda: False)())
    states = _backend_states(chosen)
    if states is None:
        return None
    switches = ",".join(os.environ.get(name, "").strip() for name in _SWITCHES)
    planner = _planner_version()
    if planner is None:
        return None
    key = (
        f"layout/v1;backends={','.join(b.name for b in chosen)};wide={int(wide)};states={states};"
        f"switches={switches};optimizer={optimizer_version()};planner={planner};"
        f"graph={fingerprint}"
    )
    return key if len(key) <= MAX_KEY_CHARS else None


def stored_layout(graph: Graph, backends: Sequence[str] | None) -> Graph | None | object:
    """The stored layout of `graph` for these backends: the planned graph, None (planning
    changes nothing), or MISSING (plan at load)."""
    # (the key is made only for a graph with layouts: not for one read from an .onnx file)
    return find_keyed(graph, lambda: layout_key(graph, backends))


def _backend_states(chosen: Sequence) -> str | None:
    """The selected backends' planning states with their rules' checksums (None where a source
    cannot be read: no key, plan at load)."""
    from .converter.optimizer.record import folder_version

    parts = []
    for backend in chosen:
        state = getattr(backend, "layout_planning_state", None)
        if not callable(state):
            continue
        text, sources = state()
        folders = {os.path.dirname(s) for s in sources}
        if len(folders) > 1:
            return None
        rules = (
            folder_version(folders.pop(), [os.path.basename(s) for s in sources]) if folders else ""
        )
        if rules is None:
            return None
        parts.append(f"{backend.name}:{text},rules={rules}")
    return ",".join(parts)


@lru_cache(maxsize=1)
def _planner_version() -> str | None:
    from .converter.optimizer.record import folder_version

    # stat-cached: the sources are read again only when one changed (~0.1 ms a process)
    here = os.path.dirname(os.path.abspath(__file__))
    return folder_version(here, ["layout_planning.py", "stored_layouts.py"])
