"""MatMul + residual Add fusion (O2).

Rewrite: Add(FusedMatMul(a, B, b), z) (or Add(MatMul(a, B), z)) becomes
gossamer::FusedMatMul(a, B, b, "", z), i.e. a @ B + b + z computed in the product's epilogue (a
transformer's residual connections after the attention's out-projection and the second FFN
product). FusedMatMul adds z after the bias as the Add did, so results are bit-identical.
Preconditions: the product (ai.onnx MatMul, or a gossamer FusedMatMul without activation and
residual) feeds only this Add; z has exactly the product's shape (statically known, no
broadcasting) and dtype, a float; when both Add inputs are such products, the first is fused.
Runs after activation fusion: a fused residual comes after the activation-free product only.
"""

from __future__ import annotations

from ...refimpl.dtypes import FLOAT
from ...refimpl.ir import Graph, Node
from .residual_fusion import fuse_residual_adds
from .rewrite import GOSSAMER_DOMAIN

NAME = "matmul_residual_fusion"
LEVEL = 2


def run(graph: Graph) -> list[str]:
    return fuse_residual_adds(graph, _fusable, _fused_mat_mul, FLOAT.__contains__)


def _fused_mat_mul(product: Node, z: str, out: str) -> Node:
    inputs = (list(product.inputs) + ["", ""])[:2]
    if product.op_type == "FusedMatMul" and len(product.inputs) > 2:
        inputs.append(product.inputs[2])
    inputs += [""] * (4 - len(inputs)) + [z]
    return Node("FusedMatMul", inputs, [out], dict(product.attrs), product.name, GOSSAMER_DOMAIN)


def _fusable(node: Node) -> bool:
    if node.op_type == "MatMul" and node.domain in ("", "ai.onnx"):
        return True
    return (
        node.op_type == "FusedMatMul"
        and node.domain == GOSSAMER_DOMAIN
        and not node.attrs.get("activation")
        and (len(node.inputs) < 4 or not node.inputs[3])
        and (len(node.inputs) < 5 or not node.inputs[4])
    )
