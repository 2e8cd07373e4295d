"""Multi-head attention over a packed q|k|v tensor as one gossamer::PackedAttention node.

Rewrite (the BERT-style block that matmul_batching leaves: one product gives q, k and v side by
side):

    Split(qkv, axis=-1, 3 equal parts) -> q, k, v
    Reshape(q|k|v, [B, S, N, D]); Transpose perm (0,2,1,3) for q and v, (0,2,3,1) for k
    MatMul(q_t, k_t) -> [Mul(., scale)] -> [Add(., mask)] -> Softmax(axis=-1)
    MatMul(p, v_t) -> Transpose (0,2,1,3) -> Reshape [B, S, N * D]

becomes PackedAttention(qkv, mask; num_heads=N, scale) with the last Reshape's output. The fused
op's reference (refimpl/ops/op_packed_attention.py) runs the same ops in the same order, so the
rewrite changes no value; the cython kernel computes it per head in cache, reading q, k and v in
place (no Split, no Transpose copies) and writing each head's columns of the output.
Preconditions: every intermediate value has one reader and is no graph output; qkv's shape
[B, S, 3E] and the output's [B, S, E] are known; scale is a float scalar constant.

Not in the optimiser's pipeline: gossamer/layout_planning.py runs it at load when the cython
backend is selected (other backends run the unfused ops; a .gsm file keeps them).
"""

from __future__ import annotations

from ...refimpl.ir import Graph, Node
from ...refimpl.shape_inference import infer_shapes
from .rewrite import GraphView, iter_ops, other_input, use_gossamer_domain

NAME = "attention_fusion"
OP = "PackedAttention"


def run(graph: Graph) -> list[str]:
    """Fuses every matching block in place; returns the fused Softmax nodes' names."""
    if not any(n.op_type == "Softmax" for n in graph.nodes):
        return []
    view = GraphView(graph)
    shapes = infer_shapes(graph)
    fused: list[str] = []
    for softmax in list(iter_ops(graph, "Softmax")):
        if view.alive(softmax) and _fuse(view, shapes, softmax):
            fused.append(softmax.name)
    if fused:
        use_gossamer_domain(graph)
    return fused


def _only(view: GraphView, name: str, op_type: str) -> Node | None:
    """The standard-domain producer of `name` of this type, when `name` has one reader."""
    node = view.producer_of(name, op_type)
    if node is None or view.sole_consumer(name) is None:
        return None
    return node


def _perm(node: Node | None) -> tuple[int, ...] | None:
    if node is None:
        return None
    return tuple(int(p) for p in node.attrs.get("perm", ()))


def _fuse(view: GraphView, shapes: dict, softmax: Node) -> bool:  # noqa: C901 (one pattern)
    if int(softmax.attrs.get("axis", -1)) not in (-1, 3):
        return False
    chain = [softmax]
    x = softmax.inputs[0]
    mask = None
    add = _only(view, x, "Add")
    if add is not None:
        for cand in add.inputs:
            if view.producer_of(cand, "Mul") or view.producer_of(cand, "MatMul"):
                mask = other_input(add, cand)
                x = cand
                break
        if mask is None:
            return False
        chain.append(add)
    scale = 1.0
    mul = _only(view, x, "Mul")
    if mul is not None:
        for cand in mul.inputs:
            s = view.scalar(other_input(mul, cand) or "")
            if s is not None and view.producer_of(cand, "MatMul"):
                c = view.constant(other_input(mul, cand) or "")
                if c is None or c.dtype.kind != "f":
                    return False
                scale, x = s, cand
                break
        else:
            return False
        chain.append(mul)
    qk = _only(view, x, "MatMul")
    out_users = view.consumers.get(softmax.outputs[0], [])
    if qk is None or len(out_users) != 1 or softmax.outputs[0] in view.outputs:
        return False
    pv = out_users[0]
    if pv.op_type != "MatMul" or pv.domain not in ("", "ai.onnx"):
        return False
    if pv.inputs[0] != softmax.outputs[0]:
        return False
    out_t = view.sole_consumer(pv.outputs[0])
    if out_t is None or out_t.op_type != "Transpose" or _perm(out_t) != (0, 2, 1, 3):
        return False
    out_r = view.sole_consumer(out_t.outputs[0])
    if out_r is None or out_r.op_type != "Reshape":
        return False
    heads = []
    for name, perm in ((qk.inputs[0], (0, 2, 1, 3)), (qk.inputs[1], (0, 2, 3, 1)),
                       (pv.inputs[1], (0, 2, 1, 3))):  # fmt: skip
        t = _only(view, name, "Transpose")
        r = _only(view, t.inputs[0], "Reshape") if t is not None and _perm(t) == perm else None
        if r is None:
            return False
        heads.append((t, r))
    split = view.producer_of(heads[0][1].inputs[0], "Split")
    if split is None or [r.inputs[0] for _, r in heads] != split.outputs:
        return False
    if any(view.sole_consumer(o) is None for o in split.outputs):
        return False
    qkv = split.inputs[0]
    qkv_shape, y_shape, q4 = (_shape(shapes, n) for n in (qkv, out_r.outputs[0],
                                                          heads[0][1].outputs[0]))  # fmt: skip
    if not all(_static(s) for s in (qkv_shape, y_shape, q4)) or len(qkv_shape) != 3:
        return False
    b, s, e3 = qkv_shape
    if e3 % 3 or tuple(y_shape) != (b, s, e3 // 3) or len(q4) != 4 or tuple(q4[:2]) != (b, s):
        return False
    n_heads, d = q4[2], q4[3]
    if n_heads * d != e3 // 3:
        return False
    axis = int(split.attrs.get("axis", 0))
    if axis not in (-1, 2):
        return False
    sizes = view.constant(split.inputs[1]) if len(split.inputs) > 1 and split.inputs[1] else None
    if sizes is not None and [int(v) for v in sizes.reshape(-1)] != [e3 // 3] * 3:
        return False
    if sizes is None and "split" in split.attrs and list(split.attrs["split"]) != [e3 // 3] * 3:
        return False
    if mask and mask in view.producer:  # the fused node stands where the Split stood
        order = {id(n): i for i, n in enumerate(view.graph.nodes)}
        if order[id(view.producer[mask])] > order[id(split)]:
            return False
    inputs = [qkv] + ([mask] if mask else [])
    node = Node(OP, inputs, [out_r.outputs[0]], {"num_heads": int(n_heads), "scale": float(scale)},
                view.fresh(f"{softmax.name}_attention"), "gossamer")  # fmt: skip
    old = [split] + [n for pair in heads for n in pair] + [qk, *chain[::-1], pv, out_t, out_r]
    view.replace(old, [node])
    return True


def _shape(shapes: dict, name: str) -> tuple | None:
    value = shapes.get(name)
    return None if value is None else value.shape


def _static(shape: object) -> bool:
    return shape is not None and all(isinstance(v, int) and v > 0 for v in shape)  # type: ignore[union-attr]


def fused(graph: Graph) -> Graph:
    """`graph`, or a copy with the attention blocks fused (the original is left as it is)."""
    if not any(n.op_type == "Softmax" for n in graph.nodes):
        return graph
    from .rewrite import copy_graph

    work = copy_graph(graph)
    return work if run(work) else graph
