"""ONNX → Gossamer IR.

Reads a ModelProto (path, bytes or object) into a `Graph`: tensors through onnx.numpy_helper
(external data included), nested If/Loop/Scan bodies recursively, model-local functions inlined,
except those Gossamer's exporter writes for its own ops (onnx_functions.fused_op_of): a call of
gossamer::FusedConv_Add_Relu is read back as the gossamer::FusedConv node it was written from.
Declared shapes are kept only as hints; nothing here trusts them for execution.
"""

from __future__ import annotations

import itertools
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..refimpl.dtypes import name_of
from ..refimpl.errors import GossamerError, ModelFormatError
from ..refimpl.ir import Graph, Node, Value
from ..refimpl.memory_budget import default_budget, format_bytes, tensor_bytes
from ..refimpl.model_format import MAX_GRAPH_DEPTH
from ..refimpl.model_format.quant import quant_of_dequantize
from .onnx_functions import fused_op_of

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
        _refuse_external_data(source)
        return source
    try:
        if isinstance(source, (bytes, bytearray, memoryview)):
            model = onnx.load_model_from_string(bytes(source))
            _refuse_external_data(model)
            return model
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


def _refuse_external_data(model: onnx.ModelProto) -> None:
    """A model without a path has no folder its external data files could be found in (reading
    them relative to the working directory would read whatever files happen to be there)."""
    if _uses_external_data(model):
        raise ModelFormatError(
            "the ONNX model refers to external data files but was given as bytes or a "
            "ModelProto, which have no folder to find them in: load it from its file path, or "
            "load the data first (onnx.load(path) loads it)"
        )


def _uses_external_data(model: onnx.ModelProto) -> bool:
    from onnx.external_data_helper import _get_all_tensors, uses_external_data

    return any(uses_external_data(t) for t in _get_all_tensors(model))


def graph_from_onnx(source: str | os.PathLike | bytes | onnx.ModelProto) -> Graph:
    """Converts an ONNX model into a Gossamer Graph."""
    model = load_onnx_model(source)
    if not model.HasField("graph"):  # an empty file parses as an empty ModelProto
        name = source if isinstance(source, (str, os.PathLike)) else type(source).__name__
        raise ModelFormatError(f"{name} is not an ONNX model: it has no graph (empty file?)")
    opsets = {
        ("" if o.domain == "ai.onnx" else o.domain): int(o.version) for o in model.opset_import
    }
    if "" not in opsets:
        opsets[""] = 1
    functions = {(f.domain, f.name): f for f in model.functions}
    own = {key: op for key, f in functions.items() if (op := fused_op_of(f)) is not None}
    state = _Import({k: f for k, f in functions.items() if k not in own}, own)
    graph = _graph(model.graph, state, opsets, 0)
    graph.metadata = {p.key: p.value for p in model.metadata_props}
    if model.producer_name:
        graph.metadata.setdefault(
            "producer", f"{model.producer_name} {model.producer_version}".strip()
        )
    graph.model_info = {
        key: value
        for key, value in (
            ("producer_name", model.producer_name),
            ("producer_version", model.producer_version),
            ("domain", model.domain),
            ("doc_string", model.doc_string),
            ("graph_doc_string", model.graph.doc_string),
        )
        if value
    }
    if model.HasField("model_version"):
        graph.model_info["model_version"] = str(model.model_version)
    return graph


# Limits that keep a hostile model from exhausting the stack, memory or time while it is read.
MAX_NODES = 2_000_000  # nodes after inlining functions (the largest real models: ~100,000)
MAX_CALL_DEPTH = 64  # model-local functions calling functions this deep


@dataclass
class _Import:
    """What reading one model shares: its local functions, their inlined sizes, the node count."""

    functions: dict[tuple[str, str], onnx.FunctionProto]
    own_ops: dict[tuple[str, str], str] = field(default_factory=dict)  # function -> gossamer op
    nodes: int = 0
    fresh: Any = field(default_factory=lambda: _fresh_names())
    sizes: dict[tuple[str, str], int] = field(default_factory=dict)

    def reserve(self, graph: str, count: int) -> None:
        """Counts `count` more nodes, refusing the model before it grows past MAX_NODES."""
        self.nodes += count
        if self.nodes > MAX_NODES:
            raise ModelFormatError(
                f"graph {graph!r}: more than {MAX_NODES:,} nodes once model-local functions are "
                "inlined (functions that call each other many times?)"
            )

    def inlined_size(self, key: tuple[str, str], calling: tuple[tuple[str, str], ...]) -> int:
        """Nodes function `key` becomes once inlined (computed without inlining anything);
        refuses recursion and call chains deeper than MAX_CALL_DEPTH."""
        if key in self.sizes:
            return self.sizes[key]
        chain = (*calling, key)
        if key in calling:
            cycle = " -> ".join(f"{d + '::' if d else ''}{name}" for d, name in chain)
            raise ModelFormatError(
                f"model-local function {key[1]!r} calls itself ({cycle}); recursive functions "
                "cannot be inlined"
            )
        if len(chain) > MAX_CALL_DEPTH:
            raise ModelFormatError(
                f"model-local function {key[1]!r} is called through {len(chain)} nested "
                f"functions; at most {MAX_CALL_DEPTH} are accepted"
            )
        total = 0
        for inner in self.functions[key].node:
            callee = (inner.domain, inner.op_type)
            total += self.inlined_size(callee, chain) if callee in self.functions else 1
            total = min(total, MAX_NODES + 1)  # enough to refuse; keeps the integers small
        self.sizes[key] = total
        return total


def _graph(g: onnx.GraphProto, state: _Import, opsets: dict[str, int], depth: int) -> Graph:
    if depth > MAX_GRAPH_DEPTH:
        raise ModelFormatError(
            f"graph {g.name!r} is nested {depth} levels deep in If/Loop/Scan bodies; at most "
            f"{MAX_GRAPH_DEPTH} are accepted"
        )
    initializers = {t.name: _tensor(t) for t in g.initializer}
    for sparse in g.sparse_initializer:
        initializers[sparse.values.name] = _sparse(sparse)
    nodes: list[Node] = []
    for n in g.node:
        nodes.extend(_expand(n, state, opsets, depth, g.name, ()))
    _name_unnamed_nodes(nodes)
    # Old models list initializers among the inputs too: those are inputs with a default.
    inputs = [_value(v) for v in g.input]
    graph = Graph(
        nodes=nodes,
        inputs=inputs,
        outputs=[_value(v) for v in g.output],
        initializers=initializers,
        name=g.name or "graph",
        opsets=dict(opsets),
        value_info={v.name: _value(v) for v in g.value_info},
    )
    # ONNX keeps quantisation parameters in DequantizeLinear nodes: record those of constant codes
    # (so a .gsm file packs int4 weights 2 a byte); codes a feed may replace are not constant
    fed = {v.name for v in inputs}
    recovered = quant_of_dequantize(graph)
    graph.quant.update((k, v) for k, v in recovered.items() if k not in fed)
    return graph


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


def _expand(
    n: onnx.NodeProto,
    state: _Import,
    opsets: dict[str, int],
    depth: int,
    graph: str,
    calling: tuple[tuple[str, str], ...],
) -> list[Node]:
    """The node, or the nodes of the model-local function it calls (inlined, recursively)."""
    key = (n.domain, n.op_type)
    if key not in state.functions:
        if not calling:  # nodes inside a function were counted when it was reserved
            state.reserve(graph, 1)
        return [_node(n, state, opsets, depth)]
    if not calling:
        state.reserve(graph, state.inlined_size(key, ()))
    fn = state.functions[key]
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
                rename[name] = state.fresh(name)
        inner.input[:] = [rename[i] for i in inner.input]
        inner.output[:] = [rename[o] for o in inner.output]
        fn_opsets = dict(opsets)
        fn_opsets.update({o.domain: o.version for o in fn.opset_import})
        out.extend(_expand(inner, state, fn_opsets, depth, graph, (*calling, key)))
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


def _node(n: onnx.NodeProto, state: _Import, opsets: dict[str, int], depth: int) -> Node:
    attrs = {a.name: _attribute(a, state, opsets, depth) for a in n.attribute}
    outputs = list(n.output)
    own_op = state.own_ops.get((n.domain, n.op_type))
    while own_op and len(outputs) > 1 and not outputs[-1]:
        outputs.pop()  # the exporter lists every output of a function call
    return Node(
        op_type=own_op or n.op_type,
        inputs=list(n.input),
        outputs=outputs,
        attrs=attrs,
        name=n.name,
        domain="" if n.domain == "ai.onnx" else n.domain,
    )


def _attribute(a: onnx.AttributeProto, state: _Import, opsets: dict[str, int], depth: int) -> Any:
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
        return _graph(a.g, state, opsets, depth + 1)
    if t == AttributeProto.FLOATS:
        return [float(x) for x in a.floats]
    if t == AttributeProto.INTS:
        return [int(x) for x in a.ints]
    if t == AttributeProto.STRINGS:
        return [s.decode("utf-8", errors="surrogateescape") for s in a.strings]
    if t == AttributeProto.TENSORS:
        return [_tensor(x) for x in a.tensors]
    if t == AttributeProto.GRAPHS:
        return [_graph(g, state, opsets, depth + 1) for g in a.graphs]
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
    """The dense tensor of a sparse initializer; its dims and indices are checked first (the dense
    size against the default memory budget, as nothing else bounds it)."""
    name = s.values.name
    values = _tensor(s.values)
    indices = _tensor(s.indices)
    dims = tuple(int(d) for d in s.dims)
    if any(d < 0 for d in dims):
        raise ModelFormatError(f"sparse tensor {name!r} has negative dims {list(dims)}")
    nbytes = tensor_bytes(name_of(values.dtype), dims) if values.dtype != object else 0
    budget = default_budget()
    if nbytes > budget:
        raise ModelFormatError(
            f"sparse tensor {name!r} of dims {list(dims)} would take {format_bytes(nbytes)} dense, "
            f"over the memory budget of {format_bytes(budget)}"
        )
    size = math.prod(dims)
    flat = indices.ndim == 1
    if indices.dtype.kind not in "iu" or values.ndim != 1:
        raise ModelFormatError(f"sparse tensor {name!r}: indices must be integers, values 1-D")
    if (flat and indices.shape != values.shape) or (
        not flat and indices.shape != (values.size, len(dims))
    ):
        raise ModelFormatError(
            f"sparse tensor {name!r}: indices {list(indices.shape)} do not match "
            f"{values.size} values of a rank-{len(dims)} tensor"
        )
    bounds = np.array([size] if flat else dims, dtype=np.int64)
    if indices.size and ((indices < 0).any() or (indices >= bounds).any()):
        raise ModelFormatError(f"sparse tensor {name!r} has indices outside dims {list(dims)}")
    dense = np.zeros(dims, dtype=values.dtype)
    index = indices.astype(np.int64)
    if flat:
        dense.reshape(-1)[index] = values
    else:
        dense[tuple(index.T)] = values
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
