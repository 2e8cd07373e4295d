"""Rules for control flow (If, Loop, Scan: subgraphs inferred in a nested scope), sequences and
optionals.
"""

from __future__ import annotations

from typing import Any

from ..ir import Dim, Graph, Node, Value
from .scope import Rule, Scope, dtype_from_onnx, in_name, norm_axis, out_name, rule_table
from .symbolic import Shape, join_shapes

RULES: dict[str, Rule] = {}
rule = rule_table(RULES)


def _body_outputs(s: Scope, body: Any, bound: list[Value]) -> list[Value] | None:
    """Infers a subgraph whose inputs take the given Values; returns its output Values."""
    if not isinstance(body, Graph):
        return None
    binding = {v.name: Value(v.name, b.dtype, b.shape, b.kind) for v, b in zip(body.inputs, bound)}
    inner = s.infer_subgraph(body, binding)
    return [inner.value(v.name) for v in body.outputs]


@rule("If")
def _if(s: Scope, n: Node) -> None:
    then = _body_outputs(s, n.attrs.get("then_branch"), [])
    other = _body_outputs(s, n.attrs.get("else_branch"), [])
    for i, name in enumerate(n.outputs):
        a = then[i] if then and i < len(then) else Value(name)
        b = other[i] if other and i < len(other) else Value(name)
        dtype = a.dtype if a.dtype == b.dtype else (a.dtype or b.dtype)
        s.set(name, dtype, join_shapes(a.shape, b.shape), a.kind)


@rule("Loop")
def _loop(s: Scope, n: Node) -> None:
    carried = [s.value(i) for i in n.inputs[2:]]
    bound = [Value("", "int64", ()), Value("", "bool", ())] + [
        Value("", v.dtype, v.shape, v.kind) for v in carried
    ]
    outs = _body_outputs(s, n.attrs.get("body"), bound) or []
    trips = s.ints(in_name(n, 0)) if in_name(n, 0) else None
    for i, name in enumerate(n.outputs):
        body_out = outs[i + 1] if i + 1 < len(outs) else Value(name)  # outs[0] is the condition
        if i < len(carried):
            shape = join_shapes(carried[i].shape, body_out.shape)
            s.set(name, carried[i].dtype or body_out.dtype, shape, carried[i].kind)
        else:
            count: Dim = trips[0] if trips and not in_name(n, 1) else None
            s.set(
                name, body_out.dtype, None if body_out.shape is None else (count, *body_out.shape)
            )


@rule("Scan")
def _scan(s: Scope, n: Node) -> None:
    if s.opset < 9:
        return
    num_scan = n.attrs.get("num_scan_inputs", 0)
    states = [s.value(i) for i in n.inputs[: len(n.inputs) - num_scan]]
    scans = [s.value(i) for i in n.inputs[len(n.inputs) - num_scan :]]
    in_axes = n.attrs.get("scan_input_axes") or [0] * num_scan
    steps: Dim = None
    bound = [Value("", v.dtype, v.shape, v.kind) for v in states]
    for v, ax in zip(scans, in_axes):
        if v.shape is None:
            bound.append(Value("", v.dtype, None))
            continue
        a = norm_axis(ax, len(v.shape)) or 0
        steps = steps if steps is not None else v.shape[a]
        bound.append(Value("", v.dtype, v.shape[:a] + v.shape[a + 1 :]))
    outs = _body_outputs(s, n.attrs.get("body"), bound) or []
    out_axes = n.attrs.get("scan_output_axes") or [0] * (len(n.outputs) - len(states))
    for i, name in enumerate(n.outputs):
        body_out = outs[i] if i < len(outs) else Value(name)
        if i < len(states):
            s.set(
                name,
                states[i].dtype or body_out.dtype,
                join_shapes(states[i].shape, body_out.shape),
            )
        elif body_out.shape is None:
            s.set(name, body_out.dtype, None)
        else:
            j = i - len(states)
            ax = norm_axis(out_axes[j] if j < len(out_axes) else 0, len(body_out.shape) + 1) or 0
            shape = list(body_out.shape)
            shape.insert(ax, steps)
            s.set(name, body_out.dtype, tuple(shape))


# ---- sequences and optionals -----------------------------------------------------------------
@rule("SequenceConstruct")
def _sequence_construct(s: Scope, n: Node) -> None:
    values = [s.value(i) for i in n.inputs if i]
    shape = values[0].shape if values else None
    for v in values[1:]:
        shape = join_shapes(shape, v.shape)
    s.set(out_name(n), values[0].dtype if values else None, shape, "sequence")


@rule("SequenceEmpty")
def _sequence_empty(s: Scope, n: Node) -> None:
    s.set(out_name(n), dtype_from_onnx(n.attrs.get("dtype", 1)), None, "sequence")


@rule("SequenceAt")
def _sequence_at(s: Scope, n: Node) -> None:
    seq = s.value(in_name(n, 0))
    s.set(out_name(n), seq.dtype, seq.shape)


@rule("SequenceInsert", "SequenceErase")
def _sequence_update(s: Scope, n: Node) -> None:
    seq = s.value(in_name(n, 0))
    shape = seq.shape
    if n.op_type == "SequenceInsert":
        shape = join_shapes(shape, s.shape(in_name(n, 1)))
    s.set(out_name(n), seq.dtype, shape, "sequence")


@rule("SequenceLength")
def _sequence_length(s: Scope, n: Node) -> None:
    s.set(out_name(n), "int64", ())


@rule("SplitToSequence")
def _split_to_sequence(s: Scope, n: Node) -> None:
    s.set(out_name(n), s.dtype(in_name(n, 0)), None, "sequence")


@rule("ConcatFromSequence")
def _concat_from_sequence(s: Scope, n: Node) -> None:
    seq = s.value(in_name(n, 0))
    shape: Shape = None
    if seq.shape is not None:
        rank = len(seq.shape) + (1 if n.attrs.get("new_axis", 0) else 0)
        axis = norm_axis(n.attrs.get("axis", 0), rank)
        shape = tuple(None if i == axis else d for i, d in enumerate(seq.shape))
        if n.attrs.get("new_axis", 0):
            shape = (
                (None,) * rank if axis is None else seq.shape[:axis] + (None,) + seq.shape[axis:]
            )
    s.set(out_name(n), seq.dtype, shape)


@rule("Optional")
def _optional(s: Scope, n: Node) -> None:
    if in_name(n, 0):
        x = s.value(in_name(n, 0))
        s.set(out_name(n), x.dtype, x.shape, "optional")
    else:
        s.set(out_name(n), None, None, "optional")


@rule("OptionalGetElement")
def _optional_get(s: Scope, n: Node) -> None:
    x = s.value(in_name(n, 0))
    s.set(out_name(n), x.dtype, x.shape, "tensor" if x.kind == "optional" else x.kind)


@rule("OptionalHasElement")
def _optional_has(s: Scope, n: Node) -> None:
    s.set(out_name(n), "bool", ())
