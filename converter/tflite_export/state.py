"""Kept state (Graph.state) as TFLite resource variables, the form the TFLite converter writes
for a streaming model and that LiteRT and TFLite Micro run:

    subgraph 0:  CALL_ONCE(init) ; VAR_HANDLE -> READ_VARIABLE -> <state input> ; ... ops ... ;
                 ASSIGN_VARIABLE(handle, <state output>)
    subgraph 1:  VAR_HANDLE ; ASSIGN_VARIABLE(handle, <initial value constant>)   (the init)

A variable is named by (container "", shared_name = the binding's name). The init subgraph runs
once per interpreter, so the first invoke reads the initial values and later ones what the
previous invoke assigned: the exported model streams as the original one does.
"""

from __future__ import annotations

import numpy as np

from ...refimpl.ir import Graph, StateBinding
from .context import ExportContext, identity
from .flatbuffer import OpSpec, TensorSpec, TFLiteWriter


def _handle(ctx_writer: TFLiteWriter, b: StateBinding) -> int:
    """A VAR_HANDLE of the binding's variable (in `ctx_writer`'s subgraph); its resource tensor."""
    index = ctx_writer.add_tensor(TensorSpec(f"{b.name}/handle", "resource", ()))
    opts = ("VarHandleOptions", {"container": "", "shared_name": b.name})
    ctx_writer.add_op(OpSpec("VAR_HANDLE", [], [index], opts))
    return index


def read_state(ctx: ExportContext, graph: Graph) -> dict[str, int]:
    """The opening operators: CALL_ONCE of the initialiser (when a binding has an initial value),
    then per binding a handle, and a READ_VARIABLE into its state input. Handles by name."""
    init = TFLiteWriter()
    for b in graph.state:
        if b.initial is None or b.input is None:
            continue
        value = np.ascontiguousarray(b.initial)
        quant = ctx.tflite_quant(b.input, identity(value.ndim))
        data = init.add_tensor(
            TensorSpec(f"{b.name}/initial", str(value.dtype), value.shape, None, value, quant)
        )
        init.add_op(OpSpec("ASSIGN_VARIABLE", [_handle(init, b), data], []))
    if init.ops:
        ctx.writer.others.append(init)
        index = len(ctx.writer.others)
        ctx.emit("CALL_ONCE", [], [], ("CallOnceOptions", {"init_subgraph_index": index}))
    handles = {}
    for b in graph.state:
        handles[b.name] = _handle(ctx.writer, b)
        if b.input is not None:
            ctx.emit("READ_VARIABLE", [handles[b.name]], [ctx.define(b.input)])
    return handles


def assign_state(ctx: ExportContext, graph: Graph, handles: dict[str, int]) -> None:
    """The closing operators: each new value into its variable."""
    for b in graph.state:
        if b.output is not None:
            ctx.emit("ASSIGN_VARIABLE", [handles[b.name], ctx.tensor(b.output)], [])
