"""The optimiser's pipeline and `optimize` (see the package docstring for the levels)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType

from ...refimpl.errors import GraphValidationError
from ...refimpl.ir import Graph
from ...refimpl.shape_inference import shapes_by_content
from . import (
    activation_fusion,
    batchnorm_folding,
    bias_fusion,
    constant_folding,
    dead_node_elimination,
    gather_pushdown,
    gelu_fusion,
    hardswish_fusion,
    integer_matmul_fusion,
    layernorm_fusion,
    matmul_add_to_gemm,
    matmul_batching,
    matmul_residual_fusion,
    noop_removal,
    qdq_to_qoperator,
    record,
    residual_fusion,
    scale_folding,
    sibling_conv_fusion,
    swish_fusion,
    transpose_reshape_cancellation,
    transpose_sinking,
)
from .report import OptimizationReport, PassResult, op_histogram
from .rewrite import copy_graph, live_value_info

MAX_LEVEL = 3


@dataclass(frozen=True)
class Pass:
    name: str
    level: int
    run: Callable[[Graph], list[str]]
    doc: str


def _pass(module: ModuleType) -> Pass:
    return Pass(module.NAME, module.LEVEL, module.run, module.__doc__ or "")


# The pipeline, in order; a run at level L runs the entries of level <= L. Cleanup passes run
# again at the end because fusions leave dead constants and new no-ops behind.
PIPELINE: list[Pass] = [
    _pass(m)
    for m in (
        qdq_to_qoperator,  # first: constant folding would turn small DQ'd weights into floats
        constant_folding,
        noop_removal,
        dead_node_elimination,
        integer_matmul_fusion,
        transpose_sinking,
        transpose_reshape_cancellation,
        layernorm_fusion,
        gelu_fusion,
        batchnorm_folding,
        gather_pushdown,
        swish_fusion,
        hardswish_fusion,
        matmul_add_to_gemm,
        scale_folding,  # before bias_fusion: a folded Mul exposes the Add after it
        bias_fusion,
        residual_fusion,
        activation_fusion,
        matmul_residual_fusion,  # after activation_fusion: only activation-free products
        sibling_conv_fusion,  # after the activations join their convs
        matmul_batching,
        noop_removal,
        dead_node_elimination,
    )
]
PASSES: dict[str, Pass] = {p.name: p for p in PIPELINE}


def optimize(
    graph: Graph, level: int = MAX_LEVEL, *, passes: Sequence[str] | None = None
) -> tuple[Graph, OptimizationReport]:
    """The optimised copy of `graph` and a report of what each pass changed.

    `passes` runs exactly the named passes, in the given order, instead of the level's pipeline.
    """
    if not 0 <= level <= MAX_LEVEL:
        raise ValueError(f"optimisation level must be 0..{MAX_LEVEL}, got {level}")
    if passes is not None:
        unknown = [p for p in passes if p not in PASSES]
        if unknown:
            raise ValueError(f"unknown pass(es) {unknown}; known: {sorted(PASSES)}")
        chosen = [PASSES[p] for p in passes]
    else:
        chosen = [p for p in PIPELINE if p.level <= level]
    result = copy_graph(graph)
    report = OptimizationReport(level, len(graph.nodes), ops_before=op_histogram(graph))
    with shapes_by_content():  # a pass that finds the graph as the last inference saw it
        for p in chosen:  # reuses that inference (most passes change nothing in a given model)
            start = time.perf_counter()
            changes = p.run(result)
            report.passes.append(PassResult(p.name, p.level, changes, time.perf_counter() - start))
            try:
                result.validate()
            except GraphValidationError as err:
                raise GraphValidationError(
                    f"optimisation pass {p.name!r} left graph {graph.name!r} invalid (a bug in "
                    f"the pass; run with a lower -O level to avoid it): {err}"
                ) from err
    result.nodes[:] = result.topological_nodes()  # a fusion may leave a node before a producer
    result.value_info = live_value_info(result)
    live = result.produced_names()  # quantisation parameters of values the passes removed go
    result.quant = {name: q for name, q in result.quant.items() if name in live}
    report.nodes_after = len(result.nodes)
    report.ops_after = op_histogram(result)
    if chosen:
        result.metadata["gossamer.optimize"] = report.to_json()
    if passes is None and level > 0:  # a level's whole pipeline ran: gossamer.load may skip it
        result.metadata[record.KEY] = record.record(result, level)
    return result, report
