"""Rewrites a model for training: BatchNormalization and Dropout in training mode, and weights
turned from initializers into graph inputs, so one compiled program runs every step with the
current weights fed in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

import numpy as np

from ..dtypes import name_of
from ..ir import Graph, Node, Value

TRAINING_FLAG = "train/training_mode"


def training_mode(graph: Graph) -> tuple[Graph, dict[str, str]]:
    """`graph` with BatchNormalization (opset >= 14) in training mode, its running statistics as
    extra outputs, and Dropout (opset >= 12) fed training_mode = true; also returns
    {running-statistic output: the initializer it updates}. Older versions stay in inference
    mode (their ONNX definitions have no training switch the reference runs)."""
    opset = graph.opsets.get("", graph.opsets.get("ai.onnx", 21))
    nodes: list[Node] = []
    stats: dict[str, str] = {}
    inits = dict(graph.initializers)
    for node in graph.nodes:
        if node.domain not in ("", "ai.onnx"):
            nodes.append(node)
        elif node.op_type == "BatchNormalization" and opset >= 14:
            outs = [node.outputs[0]] + [
                f"{node.name or node.outputs[0]}@running_{k}" for k in ("mean", "var")
            ]
            for out, source in zip(outs[1:], node.inputs[3:5]):
                if source in graph.initializers:
                    stats[out] = source
            nodes.append(replace(node, outputs=outs, attrs={**node.attrs, "training_mode": 1}))
        elif node.op_type == "Dropout" and opset >= 12:
            inputs = list(node.inputs) + [""] * (3 - len(node.inputs))
            inputs[2] = TRAINING_FLAG
            inits[TRAINING_FLAG] = np.array(True)
            nodes.append(replace(node, inputs=inputs))
        else:
            nodes.append(node)
    outputs = list(graph.outputs) + [Value(o) for o in stats]
    return replace(graph, nodes=nodes, outputs=outputs, initializers=inits), stats


def weights_as_inputs(graph: Graph, names: Iterable[str]) -> Graph:
    """`graph` with the initializers `names` removed and declared as inputs of their dtype and
    shape instead (fed at every run)."""
    names = [n for n in names if n in graph.initializers]
    declared = {v.name for v in graph.inputs}
    inputs = [v for v in graph.inputs]
    for n in names:
        if n not in declared:
            w = np.asarray(graph.initializers[n])
            inputs.append(Value(n, name_of(w.dtype), tuple(w.shape)))
    inits = {k: v for k, v in graph.initializers.items() if k not in set(names)}
    return replace(graph, inputs=inputs, initializers=inits)
