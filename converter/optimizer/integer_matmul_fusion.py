"""Dynamic-int8 MatMul fusion (O2): what onnxruntime's quantize_dynamic writes around each MatMul
becomes one com.microsoft node (the ops onnxruntime's own optimiser fuses it into).

Rewrite: with (q, s, zp) = DynamicQuantizeLinear(x),
  Add(Mul(Cast<float>(MatMulInteger(q, B, zp, zb)), Mul(s, sb)), bias)
becomes MatMulIntegerToFloat(q, B, s, sb, zp, zb, bias) (the Add optional), which computes
float32(acc) * float32(s * sb) + bias with the same float32 roundings, in the same order (one
product of the scales, one product, one sum). When that node is the only reader of all three
outputs of its DynamicQuantizeLinear, the two become DynamicQuantizeMatMul(x, B, sb, zb, bias),
whose reference is DynamicQuantizeLinear followed by exactly that product.
Preconditions: B is a 2-D int8/uint8 constant; zb is absent or a constant with one value or one
per column; sb is a float32 constant with one value or shape [N]; s is DynamicQuantizeLinear's
scale output and zp (present) its zero point; bias is a float32 constant of shape [N]; the Cast is
to float32; each intermediate (the integer product, its Cast, the scaled product, the product of
the scales) feeds only the next node of the pattern.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...refimpl.ir import Graph, Node
from .rewrite import GraphView, is_standard, iter_ops, node_named, other_input

NAME = "integer_matmul_fusion"
LEVEL = 2
MS_DOMAIN = "com.microsoft"
_FLOAT = 1  # TensorProto.FLOAT


@dataclass
class _Match:
    matmul: Node
    chain: list[Node]  # the Cast, the scaling Mul, the scales' Mul, the Add (if fused)
    quantizer: Node  # the DynamicQuantizeLinear producing q, s and zp
    b_scale: str
    bias: str
    out: str


def run(graph: Graph) -> list[str]:
    view = GraphView(graph)
    matches = [m for mm in iter_ops(graph, "MatMulInteger") if (m := _match(view, mm))]
    fused: list[str] = []
    for m in matches:
        q, b = m.matmul.inputs[0], m.matmul.inputs[1]
        zp = m.matmul.inputs[2] if len(m.matmul.inputs) > 2 else ""
        zb = m.matmul.inputs[3] if len(m.matmul.inputs) > 3 else ""
        x, _, scale = m.quantizer.inputs[0], *m.quantizer.outputs[:2]
        old = [m.matmul, *m.chain]
        if _alone(view, m):
            node = node_named(view, "DynamicQuantizeMatMul", [x, b, m.b_scale, zb, m.bias],
                              [m.out], m.matmul.name, MS_DOMAIN)  # fmt: skip
            old.append(m.quantizer)
        else:
            node = node_named(view, "MatMulIntegerToFloat",
                              [q, b, scale, m.b_scale, zp, zb, m.bias], [m.out], m.matmul.name,
                              MS_DOMAIN)  # fmt: skip
        while node.inputs and not node.inputs[-1]:
            node.inputs.pop()
        view.replace(old, [node])
        fused.append(f"{m.matmul.name} -> {node.op_type}")
    if fused:
        graph.opsets.setdefault(MS_DOMAIN, 1)
    return fused


def _match(view: GraphView, matmul: Node) -> _Match | None:
    ins = matmul.inputs
    q, b = ins[0], ins[1]
    zp = ins[2] if len(ins) > 2 else ""
    zb = ins[3] if len(ins) > 3 else ""
    quantizer = view.producer_of(q, "DynamicQuantizeLinear")
    if quantizer is None or quantizer.outputs[0] != q or len(quantizer.outputs) < 3:
        return None
    if zp and zp != quantizer.outputs[2]:
        return None
    weights = view.constant(b)
    if weights is None or weights.ndim != 2 or weights.dtype not in (np.int8, np.uint8):
        return None
    n = weights.shape[1]
    if zb and not _per_column(view.constant(zb), n, weights.dtype):
        return None
    cast = _sole(view, matmul.outputs[0], "Cast")
    if cast is None or cast.attrs.get("to") != _FLOAT:
        return None
    mul = _sole(view, cast.outputs[0], "Mul")
    scales = other_input(mul, cast.outputs[0]) if mul else None
    scale_mul = view.producer_of(scales, "Mul") if scales else None
    if mul is None or scale_mul is None or view.sole_consumer(scales) is not mul:
        return None
    b_scale = other_input(scale_mul, quantizer.outputs[1])
    sb = view.constant(b_scale) if b_scale else None
    if sb is None or sb.dtype != np.float32 or not (sb.size == 1 or sb.shape == (n,)):
        return None
    chain, out, bias = [cast, mul, scale_mul], mul.outputs[0], ""
    add = _sole(view, out, "Add")
    c = other_input(add, out) if add else None
    value = view.constant(c) if c else None
    if add is not None and value is not None and value.dtype == np.float32 and value.shape == (n,):
        chain, out, bias = chain + [add], add.outputs[0], c or ""
    return _Match(matmul, chain, quantizer, b_scale or "", bias, out)


def _alone(view: GraphView, m: _Match) -> bool:
    """Whether this match's nodes are the only readers of its DynamicQuantizeLinear's outputs."""
    if len(m.matmul.inputs) < 3 or m.matmul.inputs[2] != m.quantizer.outputs[2]:
        return False  # the product ignores the zero point: DynamicQuantizeMatMul would not
    readers = {id(n) for n in (m.matmul, *m.chain)}
    for out in m.quantizer.outputs:
        if out in view.outputs or out in view.body_reads:
            return False
        if any(id(r) not in readers for r in view.consumers.get(out, [])):
            return False
    return True


def _per_column(value: np.ndarray | None, n: int, dtype: np.dtype) -> bool:
    return value is not None and value.dtype == dtype and (value.size == 1 or value.shape == (n,))


def _sole(view: GraphView, name: str, op_type: str) -> Node | None:
    user = view.sole_consumer(name)
    if user is None or user.op_type != op_type or not is_standard(user):
        return None
    return user
