"""Two backends: per-op kernels (Relu, Add) and a subgraph backend fusing MatMul->Add.

Both are numpy here; a real backend calls its device or SDK where the numpy lines are, imports that
SDK inside `is_available()` checks (cheaply) and `compile()` (lazily), never at module level.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gossamer.plugins import (
    Backend,
    Claim,
    Decline,
    Graph,
    KernelBackend,
    Node,
    Value,
    infer_shapes,
    kernel,
    output_array,
)
from gossamer.refimpl.ops.op_add import add_7
from gossamer.refimpl.ops.op_relu import relu_6


def _at_most_4d(node: Node, inputs: list[Value | None]) -> bool | str:
    """`supports` predicate: True to claim the node, or the reason shown by `gossamer explain`."""
    x = inputs[0]
    if x is None or x.shape is None:
        return "rank unknown before running"
    return True if len(x.shape) <= 4 else f"rank {len(x.shape)} > 4"


def _same_shapes(node: Node, inputs: list[Value | None]) -> bool | str:
    a, b = inputs
    if a is None or b is None or a.shape != b.shape or None in a.shape:
        return "broadcasting or unknown shapes not supported"
    return True


class ExampleKernels(KernelBackend):
    """Overrides Relu and Add for float32; every other node falls back, with the reason shown."""

    name = "example"
    priority = 10

    # The kernel's signature must equal the reference function's (relu_6(x), add_7(a, b)).
    # Outputs come from output_array: the host's planned arena slice (static shapes), else a new
    # array. The slice may be the input's own bytes (in place): element-wise loops are fine.
    @kernel(relu_6, dtypes=["float32"], supports=_at_most_4d)
    def relu(x: np.ndarray) -> np.ndarray:
        return np.maximum(x, np.float32(0), out=output_array(x.shape, x.dtype))

    @kernel(add_7, dtypes=["float32"], supports=_same_shapes)
    def add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.add(a, b, out=output_array(a.shape, a.dtype))

    def is_available(self) -> str | None:
        return None  # e.g. "no device found": cheap, no side effects


class ExampleFusedBackend(Backend):
    """Claims each float32 MatMul -> Add chain (the bias any other value) as one partition."""

    name = "example_fused"
    priority = 20  # above `example`, so the fused Add is not taken as a single kernel first
    min_partition_size = 2

    def get_capability(self, graph: Graph) -> list[Claim | Decline]:
        types = infer_shapes(graph)
        readers: dict[str, list[Node]] = {}
        for node in graph.nodes:
            for name in node.inputs:
                readers.setdefault(name, []).append(node)
        answers: list[Claim | Decline] = []
        for node in graph.nodes:
            if node.op_type != "MatMul" or node.domain not in ("", "ai.onnx"):
                continue
            dtype = types[node.inputs[0]].dtype if node.inputs[0] in types else None
            after = readers.get(node.outputs[0], [])
            if dtype != "float32":
                answers.append(Decline(node.name, f"dtype {dtype} not supported (float32 only)"))
            elif len(after) != 1 or after[0].op_type != "Add" or len(set(after[0].inputs)) != 2:
                answers.append(Decline(node.name, "not followed by exactly one Add"))
            elif node.outputs[0] in {v.name for v in graph.outputs}:
                answers.append(Decline(node.name, "MatMul result is a graph output"))
            else:
                answers.append(Claim((node.name, after[0].name), note="matmul+add"))
        return answers

    def compile(self, graph: Graph, claim: Claim) -> Any:
        matmul = next(n for n in graph.nodes if n.op_type == "MatMul")
        add = next(n for n in graph.nodes if n.op_type == "Add")
        a, b = matmul.inputs
        (bias,) = [i for i in add.inputs if i != matmul.outputs[0]]
        if [v.name for v in graph.outputs] != [add.outputs[0]]:
            raise ValueError("the MatMul result is read outside the partition")  # -> fallback
        names = [v.name for v in graph.inputs]  # the order the partition's inputs arrive in
        constants = dict(graph.initializers)  # copy what is needed; never keep `graph`

        def run(*values: np.ndarray) -> np.ndarray:
            env = constants | dict(zip(names, values))
            return np.add(np.matmul(env[a], env[b]), env[bias])

        return run
