"""TFLite model -> Gossamer Graph of standard ONNX ops.

`graph_from_tflite` reads and validates the file (reader.py), then converts the first subgraph
operator by operator with the converters of ops_conv.py, ops_elementwise.py, ops_shape.py,
ops_misc.py and ops_control.py (resource variables, CALL_ONCE, IF, WHILE: the other subgraphs);
the sequence ops (ops_sequence*.py) and the less common builtins (ops_array.py, ops_scatter.py,
ops_generate.py, ops_accumulate.py, ops_math.py, ops_nms.py).
Tensors keep their TFLite names (made unique where the file repeats one); the graph's inputs and
outputs are the subgraph's, in the order of its serving signature when it has one (else the
subgraph's order, which is what LiteRT's get_input_details() lists), so feeds keyed by LiteRT's
tensor names work unchanged. A model using any op (or op variant) not mapped yet is refused with
one UnsupportedModelError listing every such op at once. See docs/tflite-import.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...refimpl.errors import UnsupportedModelError
from ...refimpl.ir import Graph, Value
from . import (
    ops_accumulate,
    ops_array,
    ops_control,
    ops_control_flow,
    ops_conv,
    ops_custom,
    ops_elementwise,
    ops_generate,
    ops_math,
    ops_misc,
    ops_nms,
    ops_quantized,
    ops_scatter,
    ops_sequence,
    ops_sequence_rnn,
    ops_shape,
    ops_sparse,
    ops_unique_bucketize,
)
from .context import Context, Converter, Unsupported
from .reader import DTYPES, FORMAT, Operator, Subgraph, TFLiteModel, read_tflite

CONVERTERS: dict[str, Converter] = {
    **ops_conv.CONVERTERS,
    **ops_elementwise.CONVERTERS,
    **ops_shape.CONVERTERS,
    **ops_misc.CONVERTERS,
    **ops_control.CONVERTERS,
    **ops_control_flow.CONVERTERS,
    **ops_sparse.CONVERTERS,
    **ops_sequence.CONVERTERS,
    **ops_sequence_rnn.CONVERTERS,
    **ops_array.CONVERTERS,
    **ops_generate.CONVERTERS,
    **ops_accumulate.CONVERTERS,
    **ops_scatter.CONVERTERS,
    **ops_math.CONVERTERS,
    **ops_nms.CONVERTERS,
    **ops_unique_bucketize.CONVERTERS,
}
# TFLite operators the importer maps, by builtin name
IMPORTED_OPS: frozenset[str] = frozenset(CONVERTERS) | frozenset(ops_quantized.CONVERTERS)


def mapped(op: Operator) -> bool:
    """Whether the importer has a converter for op (a custom op by its custom code)."""
    return op.opcode in (ops_custom.CONVERTERS if op.custom else IMPORTED_OPS)


def unsupported_ops(model: TFLiteModel) -> list[dict[str, Any]]:
    """One entry per op the model uses that is not imported: its name, whether it is a custom op,
    how many operators use it and where ("subgraph S op K")."""
    found: dict[str, dict[str, Any]] = {}
    for sg in model.subgraphs:
        for op in sg.operators:
            if mapped(op):
                continue
            _note(found, op.opcode, op.custom, f"subgraph {sg.index} op {op.index}")
    return _items(found)


def _note(found: dict, name: str, custom: bool, where: str, reason: str = "") -> None:
    item = found.setdefault(
        name, {"domain": "tflite", "op_type": name, "custom": custom, "nodes": [], "reasons": []}
    )
    item["nodes"].append(where)
    if reason and reason not in item["reasons"]:
        item["reasons"].append(reason)


def _items(found: dict) -> list[dict[str, Any]]:
    items = [found[k] for k in sorted(found)]
    for item in items:
        item["count"] = len(item["nodes"])
    return items


def _refuse(items: list[dict[str, Any]]) -> UnsupportedModelError:
    lines = []
    for it in items:
        line = (
            f"  {'custom op' if it['custom'] else 'builtin'} {it['op_type']}: {it['count']} "
            "operator(s), e.g. " + ", ".join(it["nodes"][:3])
        )
        if it["reasons"]:
            line += " (" + "; ".join(it["reasons"][:3]) + ")"
        lines.append(line)
    return UnsupportedModelError(
        f"{FORMAT} model uses {len(items)} op(s) the TFLite importer does not map yet:\n"
        + "\n".join(lines)
        + "\nConvert the model to ONNX (e.g. with tf2onnx) to run it today; see "
        "docs/tflite-import.md for the ops being added.",
        items,
    )


def graph_from_tflite(source: str | Path | bytes, *, max_memory: int | str | None = None) -> Graph:
    """Converts a .tflite model (path or bytes) into a Gossamer Graph."""
    model = read_tflite(source, max_memory=max_memory)
    # every op not mapped, in every subgraph (bodies of IF/WHILE/CALL_ONCE, not mapped yet) ...
    found = {it["op_type"]: it for it in unsupported_ops(model)}
    sg = model.subgraphs[0]
    ctx = Context(sg)
    # variables and other subgraphs (IF/WHILE bodies, CALL_ONCE) are reached through ctx.control
    ctx.control = ops_control.Control(model, lambda body: convert_ops(body, found), found=found)
    convert_ops(ctx, found)
    if found:
        raise _refuse(_items(found))
    inputs, outputs = _signature_order(model, sg)
    for i in outputs:  # an output that is a constant (or folded at import) is an initializer
        ctx.name(i)
    graph = Graph(
        nodes=ctx.nodes,
        inputs=[_value(ctx, sg, i) for i in inputs],
        outputs=[_value(ctx, sg, i) for i in outputs],
        initializers=ctx.initializers,
        name=sg.name or "tflite",
    )
    graph.metadata = {
        k: v.rstrip(b"\0").decode("utf-8", "replace")
        for k, v in model.metadata.items()
        if len(v) < 4096 and v.rstrip(b"\0").isascii()
    }
    graph.model_info = {"producer_name": "TFLite", "doc_string": model.description}
    graph.model_info = {k: v for k, v in graph.model_info.items() if v}
    ops_quantized.annotate(ctx, graph)  # Graph.quant, the tflite opset
    ops_control.add_state(ctx, graph)  # resource variables become Graph.state (and their quant)
    return graph


def convert_ops(ctx: Context, found: dict) -> None:
    """Converts every operator of ctx's subgraph; each mapped op whose variant is not handled is
    noted in `found` (so all are listed at once)."""
    sg = ctx.subgraph
    for op in sg.operators:
        if not mapped(op):
            continue
        ctx.op = op
        try:
            # quantised integer operators go to ops_quantized's converters
            if op.custom:  # MediaPipe's, by custom code
                ops_custom.CONVERTERS[op.opcode](ctx, op)
            else:
                ops_quantized.pick(sg, op, CONVERTERS.get(op.opcode))(ctx, op)
        except Unsupported as why:
            _note(found, op.opcode, op.custom, f"subgraph {sg.index} op {op.index}", str(why))


def _signature_order(model: TFLiteModel, sg: Subgraph) -> tuple[list[int], list[int]]:
    for sig in model.signatures:
        if sig.subgraph == sg.index:
            ins, outs = [i for _, i in sig.inputs], [i for _, i in sig.outputs]
            if sorted(ins) == sorted(sg.inputs) and sorted(outs) == sorted(sg.outputs):
                return ins, outs
    return list(sg.inputs), list(sg.outputs)


def _value(ctx: Context, sg: Subgraph, index: int) -> Value:
    t = sg.tensors[index]
    dims = t.shape_signature if t.shape_signature is not None else t.shape
    shape = tuple(None if d < 0 else int(d) for d in dims)
    return Value(ctx.names[index], DTYPES.get(_code(t.dtype)) or t.dtype, shape)


def _code(dtype: str) -> int:
    for code, name in DTYPES.items():
        if name == dtype:
            return code
    return -1
