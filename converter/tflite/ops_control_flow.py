"""TFLite IF and WHILE -> ONNX If and Loop with nested Graph bodies (the reference runs both).

LiteRT's semantics (lite/kernels/if.cc, while.cc): IF's first input is the condition (a bool tensor
of one element, else the op is refused at prepare); the other inputs are copied into the chosen
branch subgraph's inputs, its outputs are copied out. WHILE carries its inputs through
`cond_subgraph` (inputs -> one bool) and `body_subgraph` (inputs -> the same number of values):
`while cond(v): v = body(v)`; the outputs are the last v (the inputs when cond is false at once).
Resource variables are the interpreter's, so a branch or a loop body reads and assigns the same
variables as the main subgraph, in execution order.

An ONNX If branch reads outer names instead of taking inputs, so each branch starts with Identity
nodes from the IF's inputs to its own input tensors. WHILE becomes
`Loop(M="", cond=cond(v0), v0)` whose body computes `v' = body(v)` and `cond(v')`: the condition
is evaluated before every iteration, exactly as LiteRT does. A variable a branch assigns becomes
an extra If output (the other branch passes the incoming value through); one the loop assigns
becomes an extra loop-carried value; one they only read is an outer-scope name. Names stay unique
across all scopes.
"""

from __future__ import annotations

import numpy as np

from ...refimpl.ir import Graph, Node, Value
from .context import Context, Converter, Unsupported
from .ops_control import (
    BODY,
    Variable,
    convert_subgraph,
    current_value,
    set_value,
    subgraph,
    value_of,
)
from .reader import Operator, Subgraph


def _check_cond(ctx: Context, index: int, what: str) -> None:
    t = ctx.tensor(index)
    if t.dtype != "bool" or int(np.prod(t.shape)) != 1:
        raise Unsupported(f"its {what} is {t.dtype}{list(t.shape)}, not a bool of one element")


def _check_arity(sg: Subgraph, inputs: int, outputs: int, what: str) -> None:
    if len(sg.inputs) != inputs or len(sg.outputs) != outputs:
        raise Unsupported(
            f"its {what} (subgraph {sg.index}) takes {len(sg.inputs)} inputs and gives "
            f"{len(sg.outputs)} outputs, the op {inputs} and {outputs} (LiteRT refuses it)"
        )


def _inlined(
    host: Context, sg: Subgraph, sources: list[str], preset: dict[str, str] | None = None
) -> tuple[Context, list[str]] | None:
    """`sg` converted inside `host` with its inputs bound to the names `sources` (Identity nodes
    first): its Context and its output names (fresh: a graph output may not repeat a name)."""
    for t in sg.inputs:
        if sg.tensors[t].dtype == "RESOURCE":
            raise Unsupported("a resource (variable handle) is passed into a subgraph")
    body = convert_subgraph(host, sg, BODY, preset)
    if body is None:
        return None
    binds = [
        Node("Identity", [src], [body.names[t]], {}, body.fresh("bind"))
        for src, t in zip(sources, sg.inputs)
    ]
    body.nodes[:0] = binds
    return body, [_result(body, body.name(t), body.names[t]) for t in sg.outputs]


def _result(body: Context, name: str, base: str) -> str:
    out = body.fresh(f"{base}_out")
    body.nodes.append(Node("Identity", [name], [out], {}, body.fresh("result")))
    return out


def _variables(ctx: Context, *indices: int) -> list[Variable]:
    found = {id(v): v for i in indices for v in ctx.control.assigned_in(i)}
    return sorted(found.values(), key=lambda v: v.name)


def if_(ctx: Context, op: Operator) -> None:
    """outputs = then_subgraph(*inputs[1:]) if inputs[0] else else_subgraph(*inputs[1:])"""
    _check_cond(ctx, op.inputs[0], "condition")
    sources = [ctx.name(i) for i in op.inputs[1:]]
    keys = ("then_subgraph_index", "else_subgraph_index")
    sgs = [subgraph(ctx, op.options.get(key), key) for key in keys]
    for sg, key in zip(sgs, keys):
        _check_arity(sg, len(sources), len(op.outputs), key.replace("_index", ""))
    assigned = _variables(ctx, *(sg.index for sg in sgs))
    branches = {}
    for sg, key in zip(sgs, keys):
        made = _inlined(ctx, sg, sources)
        if made is None:
            return  # the unmapped ops of the branch are listed; the importer refuses the model
        body, outs = made
        values = [value_of(body, t, name) for t, name in zip(sg.outputs, outs)]
        for var in assigned:  # its value after the branch (the incoming one if not assigned)
            out = _result(body, current_value(body, var), var.name)
            values.append(Value(out, var.dtype, None))
        branches[key.split("_")[0] + "_branch"] = Graph(
            body.nodes, [], values, body.initializers, name=f"{sg.name or 'subgraph'}_{sg.index}"
        )
    after = [ctx.fresh(f"{var.name}/if") for var in assigned]
    ctx.emit("If", [ctx.name(op.inputs[0])], [ctx.names[o] for o in op.outputs] + after, **branches)
    for var, name in zip(assigned, after):
        set_value(ctx, var, name)


def while_(ctx: Context, op: Operator) -> None:
    """v = inputs; while cond_subgraph(*v): v = body_subgraph(*v); outputs = v"""
    n = len(op.inputs)
    if len(op.outputs) != n:
        raise Unsupported(f"it has {n} inputs but {len(op.outputs)} outputs")
    cond_sg = subgraph(ctx, op.options.get("cond_subgraph_index"), "cond_subgraph_index")
    body_sg = subgraph(ctx, op.options.get("body_subgraph_index"), "body_subgraph_index")
    _check_arity(cond_sg, n, 1, "cond subgraph")
    _check_arity(body_sg, n, n, "body subgraph")
    first = _inlined(ctx, cond_sg, [ctx.name(i) for i in op.inputs])
    if first is None:
        return
    cond0, (cond0_out,) = first  # the first test runs in the host graph, before the Loop
    _check_cond(cond0, cond_sg.outputs[0], "cond subgraph's output")
    ctx.nodes.extend(cond0.nodes)
    ctx.initializers.update(cond0.initializers)
    for name in cond0.control.assigned:  # a test that assigns a variable does so in the host
        var = next(v for v in ctx.control.variables.values() if v.name == name)
        set_value(ctx, var, cond0.control.current[name])
    # loop-carried values: a shape the body keeps is declared, one it changes is left unknown
    carried = [
        value_of(ctx, i, ctx.fresh(f"{ctx.names[i]}_v"), shape=_same_shape(ctx, i, body_sg, k))
        for k, i in enumerate(op.inputs)
    ]
    assigned = _variables(ctx, cond_sg.index, body_sg.index)
    kept_in = [ctx.fresh(f"{var.name}_v") for var in assigned]
    start = [current_value(ctx, var) for var in assigned]
    preset = {var.name: name for var, name in zip(assigned, kept_in)}
    stepped = _inlined(ctx, body_sg, [v.name for v in carried], preset)
    if stepped is None:
        return
    body, body_outs = stepped
    test = _inlined(body, cond_sg, body_outs)  # inside the body: sees the body's assignments
    if test is None:
        return
    cond_ctx, (cond_out,) = test
    body.nodes.extend(cond_ctx.nodes)
    body.initializers.update(cond_ctx.initializers)
    kept_out = [_result(body, current_value(cond_ctx, var), var.name) for var in assigned]
    kept = [Value(name, var.dtype, None) for name, var in zip(kept_in, assigned)]
    loop_body = Graph(
        body.nodes,
        [Value(ctx.fresh("iteration"), "int64", ()), Value(ctx.fresh("cond_in"), "bool", ())]
        + carried
        + kept,
        [Value(cond_out, "bool", None)]
        + [Value(o, v.dtype, v.shape) for o, v in zip(body_outs, carried)]
        + [Value(o, v.dtype, None) for o, v in zip(kept_out, kept)],
        body.initializers,
        name=f"{body_sg.name or 'while_body'}_{body_sg.index}",
    )
    after = [ctx.fresh(f"{var.name}/while") for var in assigned]
    inputs = ["", cond0_out, *[ctx.name(i) for i in op.inputs], *start]
    ctx.emit("Loop", inputs, [ctx.names[o] for o in op.outputs] + after, body=loop_body)
    for var, name in zip(assigned, after):
        set_value(ctx, var, name)


def _same_shape(ctx: Context, index: int, body_sg: Subgraph, k: int) -> bool:
    t_in = ctx.tensor(index)
    t_out = body_sg.tensors[body_sg.outputs[k]]
    return tuple(t_in.shape) == tuple(t_out.shape) and t_in.shape_signature == t_out.shape_signature


CONVERTERS: dict[str, Converter] = {"IF": if_, "WHILE": while_}
