"""MatMul + Add -> Gemm (O2).

Rewrite: Add(MatMul(a, B), c) becomes Gemm(a, B, c) (alpha = beta = 1), which computes the same
a @ B + c with the same float32 roundings.
Preconditions: a has static rank 2; B is a 2-D constant of a float dtype; c is a constant that
broadcasts one way to the [M, N] result (shape [N], [1, N] or a scalar); the MatMul's output feeds
only this Add.
"""

from __future__ import annotations

from ...refimpl.ir import Graph, Node
from ...refimpl.shape_inference import infer_shapes
from .rewrite import GraphView, iter_ops, other_input

NAME = "matmul_add_to_gemm"
LEVEL = 2


def run(graph: Graph) -> list[str]:
    view = GraphView(graph)
    shapes = infer_shapes(graph)
    fused: list[str] = []
    for matmul in iter_ops(graph, "MatMul"):
        a, b, y = matmul.inputs[0], matmul.inputs[1], matmul.outputs[0]
        weight = view.constant(b)
        a_shape = shapes[a].shape if a in shapes else None
        if weight is None or weight.ndim != 2 or weight.dtype.kind != "f":
            continue
        if a_shape is None or len(a_shape) != 2:
            continue
        add = view.sole_consumer(y)
        if add is None or add.op_type != "Add" or add.domain not in ("", "ai.onnx"):
            continue
        c_name = other_input(add, y)
        c = view.constant(c_name) if c_name else None
        n = weight.shape[1]
        if c is None or c.dtype != weight.dtype or c.ndim > 2 or c.size not in (1, n):
            continue
        if c.size == n and n != 1 and c.shape[-1] != n:
            continue
        gemm = Node("Gemm", [a, b, c_name], [add.outputs[0]], {}, matmul.name)
        view.replace([matmul, add], [gemm])
        fused.append(f"{matmul.name} + {add.name}")
    return fused
