"""Saving an optimised model whose stored weights the load expands: the graph optimised as the
load would optimise it, its new float32 weights stored compactly again.

A model that stores its weights as int8 codes (Cast(codes) * scale) is optimised on that compact
form when saved, but a load expands the weights to float32 first (weight_expansion.py) and the
passes then find more to do on plain weights (bias fusion, activation fusion, Q/K/V joining), so
every load of such a file ran the whole optimiser again (minilm_l6_int8: ~50 ms of a ~300 ms
load). `optimize_for_saving` optimises the expanded graph instead, as the load would, and stores
each float32 weight the passes made from codes (a folded weight, a joined Q/K/V weight) as int8
codes and column scales again: Cast(codes) * scale, the codes annotated as per-column quantised
(graph.quant), which the expansion folds back wherever they are read. Its record says the graph
is optimised once its weights are expanded (record.record(..., expanded=True)), so a load expands
it and runs it as it is; the expansion also files each weight's codes (refimpl/int8_codes.py), so
the int8 kernels take them as stored instead of searching the floats.

The compacted graph is kept only where it is exact and small: expanding it gives the optimised
graph's nodes and every weight's bits (checked here, once, when saving), and its initializers
take no more bytes than the compact form optimised as before (plus SLACK). Otherwise (float16
weights, codes with zero points, N-bit codes a compaction to int8 would double, a float32 weight
that is no longer codes times a column scale) the compact form optimised as before is saved, and
the load optimises again, as it always did.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ...refimpl.int8_codes import int8_form
from ...refimpl.ir import Graph, Node, QuantParams
from . import record
from .pipeline import optimize
from .report import OptimizationReport
from .weight_expansion import expand_stored_weights

SLACK = 1.02  # the compacted graph's initializers may take 2 % more bytes than the old form's
SMALL = 64 * 1024  # new float32 arrays up to this size stay float32 (a joined bias, a scale)


def optimize_for_saving(graph: Graph, level: int) -> tuple[Graph, OptimizationReport]:
    """The graph `gossamer convert -O` / `gossamer optimize` write for `graph` at `level`, and
    the optimiser's report (see the module docstring)."""
    expanded = expand_stored_weights(graph) if level > 0 else graph
    plain, report = optimize(graph, level)
    if expanded is graph:
        return plain, report
    optimized, expanded_report = optimize(expanded, level)
    compacted = compact_weights(optimized, graph, level)
    if compacted is None or _bytes(compacted) > SLACK * _bytes(plain):
        return plain, report
    return compacted, expanded_report


def compact_weights(optimized: Graph, stored: Graph, level: int) -> Graph | None:
    """`optimized` (the expansion of `stored`, optimised at `level`) with every float32 array it
    has and `stored` had not stored as Cast(int8 codes) * column scales, recorded as optimised
    once expanded; None where such an array of more than SMALL bytes is not int8 codes times column
    scales, or where expanding the result would not give `optimized` back bit for bit."""
    kept = {id(arr) for arr in stored.initializers.values()}
    taken = optimized.produced_names() | {v.name for v in optimized.outputs}
    rebuilds: list[Node] = []
    initializers = dict(optimized.initializers)
    quant = dict(optimized.quant)
    for name, arr in optimized.initializers.items():
        if id(arr) in kept or not isinstance(arr, np.ndarray) or arr.dtype != np.float32:
            continue
        form = int8_form(arr) if arr.ndim == 2 else None
        if form is None:
            if arr.nbytes > SMALL:
                return None
            continue
        codes, scale = form
        q_name, s_name, f_name = (_fresh(f"{name}_{part}", taken) for part in ("q", "s", "qf"))
        del initializers[name]
        initializers[q_name], initializers[s_name] = codes, scale
        quant[q_name] = QuantParams(scale, np.zeros(scale.shape, np.int8), axis=1)
        rebuilds += [
            Node("Cast", [q_name], [f_name], {"to": 1}, name=f"{name}_widen"),
            Node("Mul", [f_name, s_name], [name], name=f"{name}_scale"),
        ]
    if not rebuilds:
        return None
    metadata = {k: v for k, v in optimized.metadata.items() if k != record.KEY}
    compacted = dataclasses.replace(
        optimized, nodes=rebuilds + list(optimized.nodes), initializers=initializers,
        quant=quant, metadata=metadata,
    )  # fmt: skip
    if not _expands_to(compacted, optimized):
        return None
    compacted.metadata[record.KEY] = record.record(compacted, level, expanded=True)
    return compacted


def _expands_to(compacted: Graph, optimized: Graph) -> bool:
    """Whether the load's expansion of `compacted` is `optimized`: the same nodes in the same
    order and the same initializers, bit for bit."""
    back = expand_stored_weights(compacted)
    if [id(n) for n in back.nodes] != [id(n) for n in optimized.nodes]:
        return False
    if back.initializers.keys() != optimized.initializers.keys():
        return False
    for name, arr in optimized.initializers.items():
        got = np.asarray(back.initializers[name])
        arr = np.asarray(arr)
        if got.dtype != arr.dtype or got.shape != arr.shape or got.tobytes() != arr.tobytes():
            return False
    return True


def _bytes(graph: Graph) -> int:
    return sum(np.asarray(arr).nbytes for arr in graph.initializers.values())


def _fresh(base: str, taken: set[str]) -> str:
    name, i = base, 1
    while name in taken:
        name, i = f"{base}{i}", i + 1
    taken.add(name)
    return name
