"""float16 conversion: weights stored as float16 (half the size), optionally float16 compute.

`activations=False` (the default): each float32 initializer of at least `min_elements` elements
(smaller ones save less than the Cast node costs) is stored as float16 and a Cast back to float32
takes its name, so the graph computes in float32 exactly as before, from rounded weights.
`gossamer.load` folds those Casts once in memory (converter/optimizer/weight_expansion.py), so
kernels see float32 weights and no run pays for them; the file keeps float16.
`activations=True`: the graph computes in float16. Every node of an op in FP16_OPS works on
float16 tensors (its float32 initializers are stored as float16, Constant / ConstantOfShape
values converted, Cast-to-float32 becomes Cast-to-float16); other ops (and nodes with bodies)
stay float32, with Casts at the borders. Inputs and outputs stay float32 (Casts after the inputs
and before the outputs) unless keep_io_types=False.
Unsafe weights: a weight with values beyond float16's range (|w| > 65504) or whose relative
rounding error ||fp16(w) - w|| / ||w|| exceeds `max_rel_error` (default 1e-3, about 7x what
rounding alone gives; more means many values underflow to zero or to subnormals) stays float32 by
default (`keep_unsafe=True`) and is listed in the report; with keep_unsafe=False it is converted
anyway, out-of-range values clipped to +-65504. Either way the counts are reported.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np

from ...refimpl.errors import InputError
from ...refimpl.ir import Graph
from .fp16_activations import convert_activations
from .weight_only import copy_top_level

log = logging.getLogger(__name__)
FP16_MAX = 65504.0
FP16_TINY = 2.0**-24  # the smallest subnormal: anything below rounds to zero
DEFAULT_MIN_ELEMENTS = 128
DEFAULT_MAX_REL_ERROR = 1e-3


@dataclass
class Fp16Weight:
    name: str
    elements: int
    clipped: int  # |w| > 65504
    underflowed: int  # non-zero, |w| < 2**-24: becomes 0
    rel_error: float
    converted: bool


@dataclass
class Fp16Report:
    """Per float32 weight considered: its float16 error and whether it was converted."""

    weights: list[Fp16Weight] = field(default_factory=list)
    original_bytes: int = 0  # of the weights considered
    stored_bytes: int = 0

    @property
    def kept_float32(self) -> list[str]:
        return [w.name for w in self.weights if not w.converted]

    @property
    def clipped(self) -> int:
        return sum(w.clipped for w in self.weights if w.converted)

    def to_json(self) -> dict:
        return {
            "original_bytes": self.original_bytes, "stored_bytes": self.stored_bytes,
            "kept_float32": self.kept_float32, "clipped": self.clipped,
            "weights": [vars(w) for w in self.weights],
        }  # fmt: skip

    def format(self) -> str:
        lines = [
            f"{sum(w.converted for w in self.weights)} weights to float16: "
            f"{self.original_bytes:,} -> {self.stored_bytes:,} bytes"
        ]
        for w in self.weights:
            if not w.converted or w.clipped or w.underflowed:
                state = "converted" if w.converted else "kept float32"
                lines.append(
                    f"  {w.name}: {state}; {w.clipped} clipped, {w.underflowed} underflowed, "
                    f"relative error {w.rel_error:.2e}"
                )
        return "\n".join(lines)


def quantize_fp16(
    graph: Graph, *, keep_io_types: bool = True, activations: bool = False,
    min_elements: int = DEFAULT_MIN_ELEMENTS, keep_unsafe: bool = True,
    max_rel_error: float = DEFAULT_MAX_REL_ERROR,
) -> Graph:  # fmt: skip
    """The float16 copy of `graph` (see the module docstring); unsafe weights are logged."""
    result, report = quantize_fp16_report(
        graph, keep_io_types=keep_io_types, activations=activations, min_elements=min_elements,
        keep_unsafe=keep_unsafe, max_rel_error=max_rel_error,
    )  # fmt: skip
    for w in report.weights:
        if not w.converted:
            log.warning(
                "weight %r stays float32: %d values beyond float16's range, relative error %.2e",
                w.name, w.clipped, w.rel_error,
            )  # fmt: skip
    return result


def quantize_fp16_report(
    graph: Graph, *, keep_io_types: bool = True, activations: bool = False,
    min_elements: int = DEFAULT_MIN_ELEMENTS, keep_unsafe: bool = True,
    max_rel_error: float = DEFAULT_MAX_REL_ERROR,
) -> tuple[Graph, Fp16Report]:  # fmt: skip
    """quantize_fp16, and the report of every float32 weight it considered."""
    if isinstance(min_elements, bool) or not isinstance(min_elements, int) or min_elements < 1:
        raise InputError(f"min_elements must be a positive integer, got {min_elements!r}")
    if not (isinstance(max_rel_error, (int, float)) and max_rel_error > 0):
        raise InputError(f"max_rel_error must be a positive number, got {max_rel_error!r}")
    result = copy_top_level(graph)
    report = Fp16Report()
    fed = {v.name for v in graph.inputs}

    def convert(name: str, w: np.ndarray) -> np.ndarray | None:
        """w as float16, or None when it stays float32 (unsafe, or a feed may replace it)."""
        if name in fed:
            return None
        half, stats = _to_half(name, w, keep_unsafe, max_rel_error)
        report.weights.append(stats)
        report.original_bytes += w.nbytes
        report.stored_bytes += w.nbytes if half is None else half.nbytes
        return half

    if activations:
        convert_activations(result, convert, keep_io_types=keep_io_types)
    else:
        _convert_weights(result, convert, min_elements)
    return result, report


def _to_half(
    name: str, w: np.ndarray, keep_unsafe: bool, max_rel_error: float
) -> tuple[np.ndarray | None, Fp16Weight]:
    w64 = w.astype(np.float64)
    finite = np.isfinite(w64)
    clipped = int(np.count_nonzero(finite & (np.abs(w64) > FP16_MAX)))
    underflowed = int(np.count_nonzero((w64 != 0) & (np.abs(w64) < FP16_TINY)))
    half = np.asarray(np.clip(w, -FP16_MAX, FP16_MAX), dtype=np.float16)
    norm = float(np.linalg.norm(w64[finite])) if w.size else 0.0
    diff = half.astype(np.float64)[finite] - w64[finite]
    rel = float(np.linalg.norm(diff)) / norm if norm else 0.0
    unsafe = clipped > 0 or rel > max_rel_error
    converted = not (unsafe and keep_unsafe)
    stats = Fp16Weight(name, int(w.size), clipped, underflowed, rel if math.isfinite(rel) else 0.0,
                       converted)  # fmt: skip
    return (half if converted else None), stats


def _convert_weights(graph: Graph, convert, min_elements: int) -> None:  # noqa: ANN001
    """Weights mode: float16 initializer + Cast(to float32) under the weight's old name."""
    from ...refimpl.ir import Node

    taken = graph.produced_names() | set(graph.value_info) | {n.name for n in graph.nodes}
    casts = []
    for name, w in list(graph.initializers.items()):
        w = np.asarray(w)
        if w.dtype != np.float32 or w.size < min_elements:
            continue
        half = convert(name, w)
        if half is None:
            continue
        stored = _fresh(taken, f"{name}_fp16")
        del graph.initializers[name]
        graph.initializers[stored] = half
        casts.append(Node("Cast", [stored], [name], {"to": 1}, _fresh(taken, f"{name}_to_fp32")))
    graph.nodes[:0] = casts


def _fresh(taken: set[str], base: str) -> str:
    name, i = base, 1
    while name in taken:
        name, i = f"{base}_{i}", i + 1
    taken.add(name)
    return name
