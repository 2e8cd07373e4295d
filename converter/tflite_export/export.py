"""Graph -> TFLite flatbuffer: the driver. Walks the nodes in topological order and hands each to
its lowering (ops_*.py), collecting every node it cannot express before it raises."""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np

from ...refimpl.errors import GossamerError
from ...refimpl.ir import Graph, Node, QuantParams, Value
from ...refimpl.registry import default_registry
from ...refimpl.shape_inference import infer_shapes
from .context import NHWC, ExportContext, Refused, identity
from .errors import TFLiteExportError
from .lowerings import LOWERINGS
from .qdq import integer_graph, is_quantized_onnx
from .quant_info import collect_quant
from .state import assign_state, read_state

log = logging.getLogger(__name__)

# graph cleanups that make the exported file smaller and its ops TFLite's: none changes an
# integer result (constant folding runs the reference ops; the fusions touch floats only, and
# change them by float32 rounding at most)
PREPARE_PASSES = (
    "constant_folding", "batchnorm_folding", "hardswish_fusion", "matmul_add_to_gemm",
    "noop_removal", "dead_node_elimination",
)  # fmt: skip


def export_graph(
    graph: Graph,
    *,
    nhwc_io: bool = False,
    values: dict[str, Value] | None = None,
    quant: dict[str, QuantParams] | None = None,
    input_shapes: dict[str, tuple[int, ...]] | None = None,
    prepare: bool = True,
    state_as_io: bool = False,
) -> bytes:
    """The TFLite flatbuffer of `graph`: one subgraph, inputs and outputs named and ordered as
    the graph's, with a "serving_default" signature. `nhwc_io`: 4-D inputs and outputs are laid
    out NHWC (an NCHW graph's are transposed at the boundary; default: as the graph has them).
    `values` types values the graph does not (a partition's boundary inputs); `quant` replaces
    `graph.quant` as the annotation of quantised values (the integer ops' own scale and
    zero-point inputs always come first). `input_shapes` fixes the dynamic dims of inputs (ops
    whose TFLite form needs static sizes, such as SAME padding, need them). Kept state
    (`graph.state`) becomes TFLite resource variables (initialised by a CALL_ONCE subgraph), so
    the file streams as the model does; `state_as_io` writes it as plain inputs and outputs
    instead (the caller feeds each run's new state to the next). `prepare` runs the clean-ups first
    (constant folding, batch-norm folding, no-op and dead-node removal); without it every node
    is written as it is and every tensor keeps its value's name (a partition for a compiler that
    reports per tensor). Raises TFLiteExportError (every node it cannot express, with the
    reason)."""
    known = dict(graph.quant if quant is None else quant)
    graph = _typed_boundary(graph, values or {})
    if input_shapes:
        graph = _fixed_shapes(graph, input_shapes)
    if is_quantized_onnx(graph):
        graph = integer_graph(replace(graph, quant=known))
        known = graph.quant
    if prepare:
        graph = _prepared(graph)
    if graph.state and state_as_io:
        graph = replace(graph, state=[])  # kept values become plain inputs and outputs
    inferred = infer_shapes(graph)
    for name, v in (values or {}).items():
        if name not in inferred or inferred[name].shape is None:
            inferred[name] = v
    dtypes = {n: v.dtype for n, v in inferred.items() if v.dtype}
    ctx = ExportContext(graph, inferred, collect_quant(graph, known, dtypes))
    refused: list[dict] = []
    state_inputs, state_outputs = graph.state_names()
    for v in graph.inputs:
        if v.name in graph.initializers or v.name in state_inputs:
            continue
        try:
            perm = _io_perm(ctx, v.name, nhwc_io)
            ctx.writer.inputs.append(ctx.define(v.name, perm))
        except Refused as err:
            refused.append(
                {"node": f"input {v.name}", "op_type": "", "domain": "", "reason": str(err)}
            )
    handles = read_state(ctx, graph)
    failed: set[str] = set()  # values of refused nodes: their readers are not reported again
    for k, node in enumerate(graph.topological_nodes()):
        if id(node) in ctx.done:
            continue
        if failed.intersection(node.inputs):
            failed.update(node.outputs)
            continue
        ctx.node = node
        lower = LOWERINGS.get((node.domain if node.domain != "ai.onnx" else "", node.op_type))
        try:
            if _fold(ctx, node):
                continue
            if lower is None:
                raise Refused("no TFLite lowering for this op")
            lower(ctx, node)
        except (Refused, ValueError, IndexError, KeyError, TypeError) as err:
            # the last four: a node the lowering did not foresee (reported, never a traceback)
            if not isinstance(err, Refused):
                err = Refused(f"cannot be lowered ({type(err).__name__}: {err})")
            failed.update(node.outputs)
            where = f"{node.domain}::{node.op_type}" if node.domain else node.op_type
            refused.append(
                {
                    "node": node.name or f"node {k}",
                    "op_type": node.op_type,
                    "domain": node.domain,
                    "reason": str(err),
                }  # fmt: skip
            )
            log.debug("%s (%s) refused: %s", node.name, where, err)
    ctx.node = None
    if not refused:
        assign_state(ctx, graph, handles)
        _outputs(ctx, graph, nhwc_io, refused, state_outputs)
    if refused:
        lines = [_describe(r) for r in refused]
        more = f"; ... ({len(lines) - 12} more)" if len(lines) > 12 else ""
        raise TFLiteExportError(
            f"cannot export {graph.name!r} to TFLite: {len(refused)} node(s) not expressible: "
            + "; ".join(lines[:12])
            + more,
            refused,
        )
    return ctx.writer.finish()


def _fold(ctx: ExportContext, node: Node) -> bool:
    """A node of constant inputs only is computed here (by its reference op) into a constant."""
    names = [i for i in node.inputs if i]
    if not names or not all(ctx.is_const(i) for i in names) or any(node.subgraphs()):
        return False
    fn = default_registry().resolve(node.domain, node.op_type, ctx.graph.opsets.get(node.domain, 1))
    if fn is None:
        return False
    try:
        out = fn(*[ctx.const(i) if i else None for i in node.inputs], **node.attrs)
    except Exception as err:  # the reference op's verdict on these constants
        raise Refused(f"computing it from its constant inputs failed: {err}") from err
    results = list(out) if isinstance(out, tuple) else [out]
    for name, value in zip(node.outputs, results):
        if name:
            ctx.consts[name] = np.asarray(value)
    return True


def _describe(r: dict) -> str:
    if not r["op_type"]:
        return f"{r['node']}: {r['reason']}"
    op = f"{r['domain']}::{r['op_type']}" if r["domain"] else r["op_type"]
    return f"{r['node']} ({op}): {r['reason']}"


def _io_perm(ctx: ExportContext, name: str, nhwc_io: bool) -> tuple[int, ...]:
    rank = ctx.rank(name)
    return NHWC if nhwc_io and rank == 4 else identity(rank)


def _outputs(ctx: ExportContext, graph: Graph, nhwc_io: bool, refused: list[dict],
             skip: set[str]) -> None:  # fmt: skip
    """Graph outputs in their layout; a tensor that is already an input or output (an Identity,
    a Transpose of one) gets a copy, as TFLite wants each output written by an operator."""
    taken = set(ctx.writer.inputs)
    for v in graph.outputs:
        if v.name in skip:  # a new state value: assigned to its variable
            continue
        try:
            perm = _io_perm(ctx, v.name, nhwc_io)
            if v.name in graph.initializers:
                index = ctx.tensor(v.name, perm)
            else:
                index = ctx.tensor(v.name, perm)
            if index in taken or ctx.writer.tensors[index].data is not None:
                copy = ctx.new_tensor(v.name, perm, suffix="_copy")
                shape = list(ctx.writer.tensors[copy].shape)
                ctx.emit("RESHAPE", [index, ctx.int32s(shape, v.name + "/shape")], [copy],
                         ("ReshapeOptions", {"new_shape": shape}))  # fmt: skip
                index = copy
            _rename(ctx, v.name, index)
            taken.add(index)
            ctx.writer.outputs.append(index)
        except Refused as err:
            refused.append(
                {"node": f"output {v.name}", "op_type": "", "domain": "", "reason": str(err)}
            )


def _rename(ctx: ExportContext, name: str, index: int) -> None:
    """The output tensor carries the value's name; its other layouts a suffix naming theirs."""
    for perm, other in ctx.layouts.get(name, {}).items():
        if other != index and ctx.writer.tensors[other].name == name:
            ctx.writer.tensors[other].name = f"{name}/perm{''.join(map(str, perm))}"
    ctx.writer.tensors[index].name = name


def _typed_boundary(graph: Graph, values: dict[str, Value]) -> Graph:
    """`graph` with its inputs' and outputs' dtype and shape taken from `values` where it lacks
    them (a partition's boundary values are typed in the whole graph, not in the partition)."""
    if not values:
        return graph

    def typed(v: Value) -> Value:
        given = values.get(v.name)
        if given is None or (v.dtype is not None and v.shape is not None):
            return v
        shape = v.shape if v.shape is not None else given.shape
        return Value(v.name, v.dtype or given.dtype, shape, v.kind)

    return replace(graph, inputs=[typed(v) for v in graph.inputs],
                   outputs=[typed(v) for v in graph.outputs])  # fmt: skip


def _fixed_shapes(graph: Graph, shapes: dict[str, tuple[int, ...]]) -> Graph:
    """`graph` with the given inputs' shapes fixed (a dynamic dim takes the given size)."""
    names = {v.name for v in graph.inputs}
    unknown = sorted(set(shapes) - names)
    if unknown:
        raise TFLiteExportError(f"input shape(s) given for {unknown}, not inputs of the graph")
    inputs = []
    for v in graph.inputs:
        if v.name in shapes:
            given = tuple(int(d) for d in shapes[v.name])
            if v.shape is not None and (
                len(v.shape) != len(given)
                or any(isinstance(d, int) and d != g for d, g in zip(v.shape, given))
            ):
                raise TFLiteExportError(
                    f"input {v.name!r} has shape {list(v.shape)}; {list(given)} does not fit it"
                )
            v = Value(v.name, v.dtype, given, v.kind)
        inputs.append(v)
    return replace(graph, inputs=inputs)


def _prepared(graph: Graph) -> Graph:
    from ..optimizer import optimize

    try:
        prepared, _ = optimize(graph, passes=list(PREPARE_PASSES))
    except GossamerError as err:  # a graph the passes do not understand is exported as written
        log.debug("export: graph cleanups skipped: %s", err)
        return graph
    return prepared
