"""`--pack BACKEND` of convert/optimize: pack a graph's weights once, so save_gsm stores them.

The graph runs on the backend while its packing is recorded (cython_kernels/prepacked.py): the
kernels pack with their own functions, exactly what a load would otherwise do on the first run,
and attach each form to its weight array; save_gsm then writes them (docs/gsm-format.md,
"Pre-packed forms"). Forms packed only on a first run (a conv's Winograd or GEMM panels, chosen
by the spatial size) need static input shapes; with symbolic dims only what kernels pack at load
is stored.
"""

from __future__ import annotations

import numpy as np

from ..plugins.prepacked import recording
from ..refimpl.cropped_build import has_optimizer
from ..refimpl.errors import GossamerError, InputError
from ..refimpl.ir import Graph
from ..refimpl.model_format.layouts import attach as attach_layout
from ..session import WEIGHT_REBUILDERS, Session
from ..stored_layouts import layout_key
from .inputs import random_input

PACKERS = ("cython",)  # backends whose kernels record their packed weights


def prepack(graph: Graph, backend: str, shapes: dict[str, tuple[int, ...]] | None = None) -> str:
    """Packs `graph`'s weights as `backend` runs them (attached to the arrays, for save_gsm) on
    one trial run with seeded random inputs, of `shapes` (by input name) where given: needed for
    inputs with symbolic dims. The line that says what was packed."""
    shapes = shapes or {}
    if backend not in PACKERS:
        raise InputError(f"--pack {backend}: weights can be pre-packed for {', '.join(PACKERS)}")
    planned, key = _layout(graph)
    with recording() as keys:
        session = Session(planned, backends=[backend])  # the graph a load runs: its forms
        if session.placement.summary().get(backend, 0) == 0:
            raise InputError(f"--pack {backend}: the backend runs no node of this model here")
        unknown = sorted(set(shapes) - {v.name for v in session.inputs})
        if unknown:
            raise InputError(f"--shape names no input of this model: {', '.join(unknown)}")
        static = all(v.name in shapes or _static(v.shape) for v in session.inputs)
        note = "" if static else " (symbolic input dims, see --shape: only forms packed at load)"
        if static:
            rng = np.random.default_rng(0)
            try:
                feeds = {v.name: random_input(v, shapes.get(v.name), rng) for v in session.inputs}
                session.run(None, feeds)
            except GossamerError as err:  # keep what was packed at load
                note = f" (a trial run failed, only the forms packed at load: {err})"[:300]
    levels = sorted({part[5:] for k in keys for part in k.split("/") if part[:5] == "simd="})
    at = f" at SIMD level {', '.join(levels)}" if levels else ""
    if key is not None:  # save_gsm stores it: a load on this machine skips the planning
        attach_layout(graph, key, None if planned is graph else planned)
        note += " and the session's layout"
    return f"pre-packed {len(keys)} weight form(s) for {backend}{at}{note}"


def _layout(graph: Graph) -> tuple[Graph, str | None]:
    """The graph a default load of `graph` runs on this machine (its blocked layout planned, as
    session.prepared_for_running does at -O3) and the key it is stored under (None: the load
    plans it: a graph not optimised at -O3 by this optimiser, or one whose stored weights the
    load expands first)."""
    if not has_optimizer():
        return graph, None
    key = layout_key(graph, None)
    if key is None:
        return graph, None
    if any(n.op_type in WEIGHT_REBUILDERS for n in graph.nodes):
        from ..converter.optimizer.weight_expansion import expand_stored_weights

        if expand_stored_weights(graph) is not graph:
            return graph, None
    from ..layout_planning import plan_for_backends

    return plan_for_backends(graph, None), key


def _static(shape: tuple | None) -> bool:
    return shape is not None and all(isinstance(d, int) for d in shape)
