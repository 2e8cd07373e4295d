"""Shape inference of `<Op>Grad` nodes: output i, the cotangent of forward input i, has the dtype
and shape of forward input i, which the node reads (its GradSpec's `takes` says where). Outputs
whose forward input the node does not read get dy's dtype and an unknown shape (Transpose's,
Softmax's), or stay unknown where the node takes several cotangents (Split's)."""

from __future__ import annotations

from typing import Any

from ..ir import Node
from .contract import GRAD_DOMAIN, grad_spec_of


def infer_gradient(scope: Any, node: Node) -> None:
    """Sets each cotangent output's dtype and shape to its forward input's."""
    from ..registry import default_registry

    opset = scope.graph.opsets.get(GRAD_DOMAIN, 10_000)
    vjp = default_registry().resolve(GRAD_DOMAIN, node.op_type, opset)
    if vjp is None:
        return
    sources: dict[int, str] = {}
    for j, token in enumerate(grad_spec_of(vjp).takes):
        if token == "xs":  # every forward input, after the tokens before it
            sources.update({i: name for i, name in enumerate(node.inputs[j:])})
            break
        if token == "dys":  # an unknown number of inputs: the positions after it are unknown
            break
        if token.startswith("x") and j < len(node.inputs):
            sources[int(token[1:])] = node.inputs[j]
    one_dy = grad_spec_of(vjp).takes[:1] == ("dy",) and node.inputs and node.inputs[0]
    dy = scope.value(node.inputs[0]) if one_dy else None
    for i, out in enumerate(node.outputs):
        name = sources.get(i)
        if out and name:
            value = scope.value(name)
            scope.set(out, value.dtype, value.shape)
        elif out and dy is not None and dy.dtype is not None:
            # a forward input the node does not read (Transpose's, Softmax's): of dy's dtype (each
            # such op's output has its input's dtype), shape unknown
            scope.set(out, dy.dtype, None)
