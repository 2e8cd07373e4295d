"""Graph optimisation: rewrite passes over the Gossamer IR, run at a level -O0 .. -O3.

    graph, report = optimize(graph, level=3)
    print(report.format())

-O0 changes nothing; -O1 folds constants and removes no-ops and dead nodes; -O2 adds
QDQ -> integer QOperator rewriting (first, before folding), dynamic-int8 MatMul fusion into
com.microsoft MatMulIntegerToFloat / DynamicQuantizeMatMul, BatchNormalization folding, Gather
push-down into dequantized tables, Swish and hard-swish pattern fusion, constant scale folding
into Conv/Gemm/MatMul weights, Conv/Gemm/MatMul bias fusion, Conv + residual Add fusion and
activation fusion into gossamer::Fused* ops; -O3 adds
Transpose sinking, LayerNorm and GELU fusion, MatMul batching, sibling convolution fusion (convs
reading one input merged into one and a channel Split) and Transpose/Reshape cancellation.
Every pass is one module (`run(graph) -> list of changes`) whose docstring states its rewrite and
its preconditions; passes rewrite the top-level graph only (If/Loop/Scan bodies stay as they are).
The result's nodes are in a topological order (stable with respect to the input's order), as ONNX
requires of a file. No pass makes the model file larger by materialising weights: constant folding
keeps quantised (int8, int4) and float16 weights and their dequantisation as they are.
The input graph is never modified: optimize works on a copy that shares the weight arrays.
Importing this package imports no pass: `optimize`, `PIPELINE`, `PASSES`, ... load the pipeline
(pipeline.py) on first use, so `gossamer.load` of an already optimised .gsm never pays for it
(record.py says whether a graph is one).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .pipeline import (
        MAX_LEVEL,
        PASSES,
        PIPELINE,
        OptimizationReport,
        Pass,
        PassResult,
        optimize,
    )

_LAZY = {"PASSES", "PIPELINE", "MAX_LEVEL", "OptimizationReport", "Pass", "PassResult", "optimize"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from . import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "MAX_LEVEL",
    "PASSES",
    "PIPELINE",
    "OptimizationReport",
    "Pass",
    "PassResult",
    "optimize",
]
