"""LayerNorm fusion from its hand-written pattern (O3).

Rewrite: the chain exported by PaddlePaddle/TF-style code,
    m = ReduceMean(x, axes); d = Sub(x, m); v = ReduceMean(Pow(d, 2), axes)
    y = Add(Mul(Div(d, Sqrt(Add(v, eps))), gamma), beta)          (the final Add is optional)
becomes LayerNormalization(x, gamma, beta; axis=-k, epsilon=eps) over the k trailing axes: ai.onnx
when the model's opset is at least 17, else gossamer::LayerNormalization (the same function).
Equal up to rounding (the mean and variance are reduced in one place instead of two).
Preconditions: both reductions keep dims and cover the same k trailing axes (negative axes, or
positive ones of a statically known rank); Pow's exponent is 2 (or Mul(d, d)); eps is a constant
scalar; gamma (and beta) are float constants of rank <= k; every intermediate feeds only the next
node of the chain (d feeds exactly the Pow and the Div).
"""

from __future__ import annotations

from ...refimpl.ir import Graph, Node
from ...refimpl.shape_inference import infer_shapes
from .rewrite import (
    GOSSAMER_DOMAIN,
    GraphView,
    default_opset,
    iter_ops,
    other_input,
    use_gossamer_domain,
)

NAME = "layernorm_fusion"
LEVEL = 3


def run(graph: Graph) -> list[str]:
    view = GraphView(graph)
    shapes = infer_shapes(graph)
    standard = default_opset(graph) >= 17
    fused: list[str] = []
    for mean in iter_ops(graph, "ReduceMean"):
        if not view.alive(mean):
            continue
        x = mean.inputs[0]
        rank = shapes[x].shape if x in shapes and shapes[x].shape is not None else None
        k = _trailing_axes(view, mean, None if rank is None else len(rank))
        match = _match(view, mean, x) if k else None
        if match is None:
            continue
        chain, var_mean, eps, gamma, beta, out = match
        if _trailing_axes(view, var_mean, None if rank is None else len(rank)) != k:
            continue
        scale = view.constant(gamma)
        if scale is None or scale.dtype.kind != "f" or scale.ndim > k:
            continue
        bias = view.constant(beta) if beta else None
        if beta and (bias is None or bias.ndim > k):
            continue
        inputs = [x, gamma] + ([beta] if beta else [])
        attrs = {"axis": -k, "epsilon": eps}
        domain = "" if standard else GOSSAMER_DOMAIN
        node = Node("LayerNormalization", inputs, [out], attrs, mean.name, domain)
        view.replace(chain, [node])
        fused.append(f"{mean.name} ({len(chain)} nodes)")
    if fused and not standard:
        use_gossamer_domain(graph)
    return fused


def _trailing_axes(view: GraphView, node: Node, rank: int | None) -> int | None:
    """k when `node` reduces the k trailing axes keeping dims, else None."""
    if not node.attrs.get("keepdims", 1):
        return None
    axes = node.attrs.get("axes")
    if axes is None and len(node.inputs) > 1:
        value = view.constant(node.inputs[1])
        axes = None if value is None else [int(a) for a in value.reshape(-1)]
    if not axes:
        return None
    if all(a < 0 for a in axes):
        axes = sorted(axes)
        return len(axes) if axes == list(range(-len(axes), 0)) else None
    if rank is None:
        return None
    axes = sorted(a % rank for a in axes)
    return len(axes) if axes == list(range(rank - len(axes), rank)) else None


def _match(view: GraphView, mean: Node, x: str) -> tuple | None:
    sub = view.sole_consumer(mean.outputs[0])
    if sub is None or sub.op_type != "Sub" or sub.inputs != [x, mean.outputs[0]]:
        return None
    d = sub.outputs[0]
    users = view.consumers.get(d, [])
    if len(users) != 2 or d in view.outputs or d in view.body_reads:
        return None
    square = next((u for u in users if _is_square(view, u, d)), None)
    div = next((u for u in users if u.op_type == "Div" and u.inputs[0] == d), None)
    if square is None or div is None:
        return None
    var_mean = _next(view, square, "ReduceMean")
    add_eps = _next(view, var_mean, "Add") if var_mean else None
    eps_name = other_input(add_eps, var_mean.outputs[0]) if add_eps else None
    eps = view.scalar(eps_name) if eps_name else None
    sqrt = _next(view, add_eps, "Sqrt") if eps is not None else None
    if (
        sqrt is None
        or view.sole_consumer(sqrt.outputs[0]) is not div
        or div.inputs[1] != sqrt.outputs[0]
    ):
        return None
    mul = _next(view, div, "Mul")
    gamma = other_input(mul, div.outputs[0]) if mul else None
    if gamma is None:
        return None
    add = _next(view, mul, "Add")
    beta = other_input(add, mul.outputs[0]) if add else None
    if beta is not None and view.constant(beta) is None:
        add, beta = None, None
    chain = [mean, sub, square, var_mean, add_eps, sqrt, div, mul] + ([add] if add else [])
    out = (add or mul).outputs[0]
    return chain, var_mean, eps, gamma, beta or "", out


def _is_square(view: GraphView, node: Node, d: str) -> bool:
    if node.op_type == "Mul":
        return node.inputs == [d, d]
    return node.op_type == "Pow" and node.inputs[0] == d and view.scalar(node.inputs[1]) == 2.0


def _next(view: GraphView, node: Node, op_type: str) -> Node | None:
    """The sole consumer of node's first output, if it is a standard `op_type` node."""
    user = view.sole_consumer(node.outputs[0])
    if user is None or user.op_type != op_type or user.domain not in ("", "ai.onnx"):
        return None
    return user
