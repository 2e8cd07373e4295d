"""ONNX → Gossamer IR.

Reads a ModelProto (path, bytes or object) into a `Graph`: tensors through onnx.numpy_helper
(external data included), nested If/Loop/Scan bodies recursively, model-local functions inlined.
Declared shapes are kept only as hints; nothing here trusts them for execution.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..refimpl.dtypes import name_of
from ..refimpl.errors import GossamerError, ModelFormatError
from ..refimpl.ir import Graph, Node, Value

try:
    import onnx
    from onnx import AttributeProto, numpy_helper
except ImportError as _err:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "reading ONNX models needs the 'onnx' extra: pip install 'gossamer[onnx]'"
    ) from _err


def load_onnx_model(source: str | os.PathLike | bytes | onnx.ModelProto) -> onnx.ModelProto:
    """Parses an ONNX model from a path, bytes or an existing ModelProto (external data loaded)."""
    if isinstance(source, onnx.ModelProto):
        return source
    try:
        if isinstance(source, (bytes, bytearray, memoryview)):
            return onnx.load_model_from_string(bytes(source))
        path = Path(source)
        model = onnx.load(str(path), load_external_data=False)
        if _uses_external_data(model):
            onnx.load_external_data_for_model(model, str(path.parent))
        return model
    except GossamerError:
        raise
    except FileNotFoundError:
        raise
    except Exception as err:  # protobuf DecodeError, missing external files, ...
        raise ModelFormatError(
            f"cannot read ONNX model {'<bytes>' if isinstance(source, bytes) else source}: {err}"
        ) from err


def _uses_external_data(model: onnx.ModelProto) -> bool:
    from onnx.external_data_helper import _get_all_tensors, uses_external_data

    return any(uses_external_data(t) for t in _get_all_tensors(model))


def graph_from_onnx(source: str | os.PathLike | bytes | onnx.ModelProto) -> Graph:
    """Converts an ONNX model into a Gossamer Graph."""
    model = load_onnx_model(source)
    opsets = {
        ("" if o.domain == "ai.onnx" else o.domain): int(o.version) for o in model.opset_import
    }
    if "" not in opsets:
        opsets[""] = 1
    functions = {(f.domain, f.name): f for f in model.functions}
    graph = _graph(model.graph, functions, opsets)
    graph.metadata = {p.key: p.value for p in model.metadata_props}
    if model.producer_name:
        graph.metadata.setdefault(
            "producer", f"{model.producer_name} {model.producer_version}".strip()
        )
    return graph


def _graph(g: onnx.GraphProto, functions: dict, opsets: dict[str, int]) -> Graph:
    initializers = {t.name: _tensor(t) for t in g.initializer}
    for sparse in g.sparse_initializer:
        initializers[sparse.values.name] = _sparse(sparse)
    nodes: list[Node] = []
    fresh = _fresh_names()
    for n in g.node:
        nodes.extend(_expand(n, functions, opsets, fresh))
    _name_unnamed_nodes(nodes)
    # Old models list initializers among the inputs too: those are inputs with a default.
    inputs = [_value(v) for v in g.input]
    return Graph(
        nodes=nodes,
        inputs=inputs,
        outputs=[_value(v) for v in g.output],
        initializers=initializers,
        name=g.name or "graph",
        opsets=dict(opsets),
        value_info={v.name: _value(v) for v in g.value_info},
    )


def _name_unnamed_nodes(nodes: list[Node]) -> None:
    """Gives every unnamed (or duplicately named) node a unique `<OpType>_<index>` name."""
    taken = {n.name for n in nodes if n.name}
    seen: set[str] = set()
    for index, node in enumerate(nodes):
        if not node.name or node.name in seen:
            candidate = f"{node.op_type}_{index}"
            while candidate in taken or candidate in seen:
                candidate += "_"
            node.name = candidate
        seen.add(node.name)


def _fresh_names():
    counter = itertools.count()
    return lambda base: f"{base}__inl{next(counter)}"


def _expand(n: onnx.NodeProto, functions: dict, opsets: dict[str, int], fresh) -> list[Node]:
    key = (n.domain, n.op_type)
    if key not in functions:
        return [_node(n, functions, opsets)]
    fn = functions[key]
    rename: dict[str, str] = {"": ""}
    for formal, actual in zip(fn.input, n.input):
        rename[formal] = actual
    for formal in fn.input[len(n.input) :]:
        rename[formal] = ""
    for formal, actual in zip(fn.output, n.output):
        rename[formal] = actual
    attrs = {a.name: a for a in n.attribute}
    defaults = {a.name: a for a in fn.attribute_proto}
    out: list[Node] = []
    for inner in fn.node:
        inner = _bind_attribute_refs(inner, attrs, defaults)
        for name in list(inner.input) + list(inner.output):
            if name not in rename:
                rename[name] = fresh(name)
        inner.input[:] = [rename[i] for i in inner.input]
        inner.output[:] = [rename[o] for o in inner.output]
        fn_opsets = dict(opsets)
        fn_opsets.update({o.domain: o.version for o in fn.opset_import})
        out.extend(_expand(inner, functions, fn_opsets, fresh))
    return out


def _bind_attribute_refs(inner: onnx.NodeProto, attrs: dict, defaults: dict) -> onnx.NodeProto:
    copy = onnx.NodeProto()
    copy.CopyFrom(inner)
    del copy.attribute[:]
    for a in inner.attribute:
        if a.ref_attr_name:
            source = attrs.get(a.ref_attr_name) or defaults.get(a.ref_attr_name)
            if source is None:
                continue
            bound = onnx.AttributeProto()
            bound.CopyFrom(source)
            bound.name = a.name
            copy.attribute.append(bound)
        else:
            copy.attribute.append(a)
    return copy


def _node(n: onnx.NodeProto, functions: dict, opsets: dict[str, int]) -> Node:
    attrs = {a.name: _attribute(a, functions, opsets) for a in n.attribute}
    return Node(
        op_type=n.op_type,
        inputs=list(n.input),
        outputs=list(n.output),
        attrs=attrs,
        name=n.name,
        domain="" if n.domain == "ai.onnx" else n.domain,
    )


def _attribute(a: onnx.AttributeProto, functions: dict, opsets: dict[str, int]) -> Any:
    t = a.type
    if t == AttributeProto.FLOAT:
        return float(a.f)
    if t == AttributeProto.INT:
        return int(a.i)
    if t == AttributeProto.STRING:
        return a.s.decode("utf-8", errors="surrogateescape")
    if t == AttributeProto.TENSOR:
        return _tensor(a.t)
    if t == AttributeProto.SPARSE_TENSOR:
        return _sparse(a.sparse_tensor)
    if t == AttributeProto.GRAPH:
        return _graph(a.g, functions, opsets)
    if t == AttributeProto.FLOATS:
        return [float(x) for x in a.floats]
    if t == AttributeProto.INTS:
        return [int(x) for x in a.ints]
    if t == AttributeProto.STRINGS:
        return [s.decode("utf-8", errors="surrogateescape") for s in a.strings]
    if t == AttributeProto.TENSORS:
        return [_tensor(x) for x in a.tensors]
    if t == AttributeProto.GRAPHS:
        return [_graph(g, functions, opsets) for g in a.graphs]
    if t == AttributeProto.TYPE_PROTO:
        return _type_name(a.tp)
    if t == AttributeProto.TYPE_PROTOS:
        return [_type_name(tp) for tp in a.type_protos]
    raise ModelFormatError(f"attribute {a.name!r} has unsupported type {t}")


def _tensor(t: onnx.TensorProto) -> np.ndarray:
    try:
        array = numpy_helper.to_array(t)
    except Exception as err:
        raise ModelFormatError(f"tensor {t.name!r} cannot be decoded: {err}") from err
    if array.dtype == object:
        array = np.array(
            [s.decode("utf-8") if isinstance(s, bytes) else s for s in array.flat], dtype=object
        ).reshape(array.shape)
    return array


def _sparse(s: onnx.SparseTensorProto) -> np.ndarray:
    values = _tensor(s.values)
    indices = _tensor(s.indices).astype(np.int64)
    dense = np.zeros(tuple(s.dims), dtype=values.dtype)
    if indices.ndim == 1:
        dense.reshape(-1)[indices] = values
    else:
        dense[tuple(indices.T)] = values
    return dense


def _type_name(tp: onnx.TypeProto) -> str:
    which = tp.WhichOneof("value")
    if which == "tensor_type":
        return _elem(tp.tensor_type.elem_type)
    if which == "sequence_type":
        return "sequence<" + _type_name(tp.sequence_type.elem_type) + ">"
    if which == "optional_type":
        return "optional<" + _type_name(tp.optional_type.elem_type) + ">"
    return "unknown"


def _elem(elem_type: int) -> str | None:
    if elem_type == 0:
        return None
    if elem_type == onnx.TensorProto.STRING:
        return "string"
    try:
        return name_of(onnx.helper.tensor_dtype_to_np_dtype(elem_type))
    except Exception:
        return None


def _value(v: onnx.ValueInfoProto) -> Value:
    tp = v.type
    kind = "tensor"
    while True:
        which = tp.WhichOneof("value")
        if which == "sequence_type":
            kind = "sequence" if kind == "tensor" else kind
            tp = tp.sequence_type.elem_type
        elif which == "optional_type":
            kind = "optional"
            tp = tp.optional_type.elem_type
        else:
            break
    if tp.WhichOneof("value") != "tensor_type":
        return Value(v.name, None, None, kind)
    tt = tp.tensor_type
    shape = None
    if tt.HasField("shape"):
        shape = tuple(_dim(d) for d in tt.shape.dim)
    return Value(v.name, _elem(tt.elem_type), shape, kind)


def _dim(d: onnx.TensorShapeProto.Dimension) -> int | str | None:
    """A fixed size, a named symbol, or None (exporters write -1, 0-less or "?" for "unknown")."""
    if d.HasField("dim_value"):
        return int(d.dim_value) if d.dim_value >= 0 else None
    return d.dim_param if d.dim_param and d.dim_param != "?" else None
