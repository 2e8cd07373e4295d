"""The LiteRT side of `gossamer compare`: every intermediate tensor of a .tflite model.

The model runs once on LiteRT's builtin CPU kernels (`ai_edge_litert`, no default delegate, so
XNNPACK does not fuse operators away) with `experimental_preserve_all_tensors=True`, and every
tensor an operator of the main subgraph writes is read back with `get_tensor`.

Matching the importer's values (converter/tflite/): each TFLite tensor keeps its name as a value of
the imported graph (made unique exactly as `converter.tflite.context.Context` does, which is reused
here), and a tensor an operator writes is written, in TFLite's own layout (NHWC stays NHWC: the
importer puts the NCHW Transposes around a convolution *inside* the operator), by the last node the
importer emits for that operator, after its fused activation. Those values correspond one-to-one
and are returned under their graph names. The values the importer synthesizes inside an operator
(the NCHW transposes, a convolution's output before its fused activation, shape constants) have no
LiteRT tensor and are skipped by `compare`, like any value only one side has.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

import numpy as np

from ..plugins.partition import extract_partition
from ..refimpl.dtypes import name_of
from ..refimpl.errors import InputError
from ..refimpl.ir import Graph, Node, Value
from ..session import Session
from .tensor_diff import TensorDiff, diff_values, merge_diffs

IDENTIFIER = b"TFL3"  # a .tflite flatbuffer's file_identifier, at bytes 4..8


def tflite_bytes(model: Any) -> bytes:
    """The bytes of a .tflite model given as a path or bytes; InputError for anything else."""
    data: bytes | None = None
    if isinstance(model, (bytes, bytearray, memoryview)):
        data = bytes(model)
    elif isinstance(model, (str, Path)):
        with open(model, "rb") as f:
            data = f.read()
    if data is None or data[4:8] != IDENTIFIER:
        what = "an in-memory graph" if isinstance(model, Graph) else f"{_label(model)}"
        raise InputError(
            f"--against litert needs a TFLite (.tflite) model; {what} is not one "
            "(use --against reference or onnxruntime)"
        )
    return data


def _label(model: Any) -> str:
    return "the model bytes" if isinstance(model, (bytes, bytearray, memoryview)) else str(model)


def _interpreter_module() -> Any:
    try:
        from ai_edge_litert import interpreter
    except ImportError as err:
        raise InputError(
            f"--against litert needs the ai_edge_litert package ({err}); pip install ai-edge-litert"
        ) from None
    return interpreter


def run_litert(model: Any, feeds: dict[str, Any]) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Runs a .tflite model (path or bytes) on LiteRT's builtin kernels, fed `feeds` (keyed by
    the imported graph's input names). Returns every tensor an operator of the main subgraph
    wrote, keyed by the imported graph's value name for that tensor, and the TFLite operator
    that wrote each (e.g. "CONV_2D")."""
    data = tflite_bytes(model)
    litert = _interpreter_module()
    from ..converter.tflite.context import Context
    from ..converter.tflite.reader import read_tflite

    subgraph = read_tflite(data).subgraphs[0]
    names = Context(subgraph).names  # TFLite tensor index -> the imported graph's value name
    try:
        interp = litert.Interpreter(
            model_content=data,
            experimental_op_resolver_type=litert.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
            experimental_preserve_all_tensors=True,
        )
    except Exception as err:
        raise InputError(f"LiteRT cannot load the model: {_first_line(err)}") from None
    details = interp.get_input_details()
    for d in details:  # a feed of another shape than declared (a dynamic dim) resizes the input
        name = names[d["index"]]
        if name not in feeds:
            raise InputError(f"LiteRT input {d['name']!r} (graph input {name!r}) has no feed")
        shape = np.shape(feeds[name])
        if tuple(shape) != tuple(d["shape"]):
            interp.resize_tensor_input(d["index"], list(shape), strict=False)
    try:
        interp.allocate_tensors()
        for d in details:
            interp.set_tensor(d["index"], np.asarray(feeds[names[d["index"]]], d["dtype"]))
        interp.invoke()
    except Exception as err:
        raise InputError(f"LiteRT failed to run the model: {_first_line(err)}") from None
    values: dict[str, np.ndarray] = {}
    opcodes: dict[str, str] = {}
    for op in subgraph.operators:
        for index in op.outputs:
            if index < 0 or names[index] in values:
                continue
            try:
                values[names[index]] = np.array(interp.get_tensor(index))  # a copy
            except ValueError:  # a tensor LiteRT did not keep (no data): not comparable
                continue
            opcodes[names[index]] = op.opcode
    return values, opcodes


def _first_line(err: Exception) -> str:
    lines = str(err).strip().splitlines()
    return lines[0][:300] if lines else type(err).__name__


def check_litert(model: Any) -> None:
    """InputError unless `model` is a .tflite model and ai_edge_litert is importable."""
    tflite_bytes(model)
    _interpreter_module()


def operator_nodes(graph: Graph, node: Node, visible: Collection[str]) -> list[Node]:
    """The nodes the importer emitted for the TFLite operator whose output `node` writes: `node`
    and, upstream, every node whose output has no LiteRT tensor (the layout transposes, the
    result before a fused activation), stopping at LiteRT tensors, constants and graph inputs.
    In graph order."""
    producer = {o: n for n in graph.nodes for o in n.outputs if o}
    group = {node.name}
    stack = [node]
    while stack:
        for name in stack.pop().inputs:
            up = producer.get(name) if name and name not in visible else None
            if up is not None and up.name not in group:
                group.add(up.name)
                stack.append(up)
    return [n for n in graph.nodes if n.name in group]


def replay_operator(
    graph: Graph,
    sess: Session,
    group: list[Node],
    outputs: list[str],
    env_b: dict[str, Any],
    *,
    rtol: float,
    atol: float,
) -> tuple[TensorDiff | None, str]:
    """Runs the nodes of one TFLite operator alone, each on the backend side A ran it on, fed
    LiteRT's inputs, and diffs `outputs` with LiteRT's: does the operator itself compute
    differently, or does it only carry in a difference its inputs already had?"""
    backend_of = sess.placement.backend_of
    if any(n.name not in backend_of for n in group):
        return None, "not replayed: side A ran this operator's nodes fused with others"
    unit = extract_partition(graph, tuple(n.name for n in group), "operator")
    missing = [v.name for v in unit.inputs if not isinstance(env_b.get(v.name), np.ndarray)]
    if missing:
        return None, f"not replayed: input {missing[0]!r} has no LiteRT tensor"
    unit.inputs = [Value(v.name, name_of(env_b[v.name].dtype), env_b[v.name].shape)
                   for v in unit.inputs]  # fmt: skip
    unit.outputs = [Value(o) for o in outputs]
    wanted = {n.name: backend_of[n.name] for n in group}
    try:
        alone = Session(unit, backends=sorted(set(wanted.values()) - {"reference"}))
        ran = {n.name: alone.placement.backend_of.get(n.name, "reference") for n in unit.nodes}
        if ran != wanted:
            return None, "not replayed: the operator's nodes land on other backends alone"
        got = alone.run(outputs, {v.name: env_b[v.name] for v in unit.inputs})
    except Exception as err:  # a replay is a diagnosis: its failure must not hide the report
        return None, f"not replayed: {type(err).__name__}: {_first_line(err)[:200]}"
    parts = [diff_values(g, env_b[n], rtol=rtol, atol=atol) for n, g in zip(outputs, got)]
    return merge_diffs(parts), ""
