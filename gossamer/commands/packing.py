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
from ..refimpl.errors import GossamerError, InputError
from ..refimpl.ir import Graph
from ..session import Session
from .inputs import random_input

PACKERS = ("cython",)  # backends whose kernels record their packed weights


def prepack(graph: Graph, backend: str, shapes: dict[str, tuple[int, ...]] | None = None) -> str:
    """Packs `graph`'s weights as `backend` runs them (attached to the arrays, for save_gsm) on
    one trial run with seeded random inputs, of `shapes` (by input name) where given: needed for
    inputs with symbolic dims. The line that says what was packed."""
    shapes = shapes or {}
    if backend not in PACKERS:
        raise InputError(f"--pack {backend}: weights can be pre-packed for {', '.join(PACKERS)}")
    with recording() as keys:
        session = Session(graph, backends=[backend])
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
    levels = sorted({part[5:] for key in keys for part in key.split("/") if part[:5] == "simd="})
    at = f" at SIMD level {', '.join(levels)}" if levels else ""
    return f"pre-packed {len(keys)} weight form(s) for {backend}{at}{note}"


def _static(shape: tuple | None) -> bool:
    return shape is not None and all(isinstance(d, int) for d in shape)
