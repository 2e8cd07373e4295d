"""Gossamer IR → ONNX.

`graph_to_onnx(graph)` writes a `Graph` (read from ONNX, a .gsm file or built in code) back as an
ONNX ModelProto: nodes keep their names, order and attributes, initializers go through
onnx.numpy_helper (bfloat16, float8, int4 and string tensors included), nested If/Loop/Scan bodies
recursively. Attribute types follow the Python values; an empty list or an ambiguous value (a string
that stands for a type, a dense array for a sparse attribute) takes its type from the op schema.
Top-level nodes are written in a topological order (ONNX requires one; optimiser rewrites may
leave a node ahead of a producer), stable with respect to the graph's own order.
Gossamer's own ops (domain "gossamer", from the optimiser) become calls of model-local functions
that spell them in standard ops (see onnx_functions), so onnxruntime runs the file as written.
Fused partition nodes have no ONNX meaning and are refused with `OnnxExportError`.
Quantisation parameters (Graph.quant) have no ONNX field: they live in the graph's Quantize /
DequantizeLinear nodes. What the file can keep is the codes' width: codes of 4 bits or fewer in an
int8/uint8 container, read only by DequantizeLinear at opset >= 21, are written as int4/uint4
(half the bytes); other widths stay in their 8/16-bit container (ONNX has no 3-, 5- or 12-bit type,
and onnxruntime no int2), so an N-bit model is larger as ONNX than as .gsm, which packs N bits.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import ml_dtypes
import numpy as np

from ..refimpl.dtypes import ONNX_TYPE_CODES
from ..refimpl.errors import GossamerError, GraphValidationError
from ..refimpl.ir import PARTITION_DOMAIN, Graph, Node, Value
from .onnx_functions import DOMAIN as GOSSAMER_DOMAIN
from .onnx_functions import FunctionExportError, FunctionWriter, attribute_types

try:
    import onnx
    from onnx import AttributeProto, TypeProto, numpy_helper
except ImportError as _err:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "writing ONNX models needs the 'onnx' extra: pip install 'gossamer[onnx]'"
    ) from _err

_TYPE_CODES: dict[str, int] = {name: code for code, name in ONNX_TYPE_CODES.items()}
# The first IR version that knows each newer element type (onnx.proto's IR_VERSION history).
_DTYPE_IR: dict[str, int] = {
    "float8_e4m3fn": 9, "float8_e4m3fnuz": 9, "float8_e5m2": 9, "float8_e5m2fnuz": 9,
    "uint4": 10, "int4": 10, "float4_e2m1fn": 11, "float8_e8m0fnu": 12, "uint2": 13, "int2": 13,
    "float6_e2m3fn": 14, "float6_e3m2fn": 14,
}  # fmt: skip
_MIN_IR = 8  # IR >= 4 lets initializers stay out of the inputs; 8 is what onnx.helper writes today
_LIST_TYPES = {
    AttributeProto.INTS, AttributeProto.FLOATS, AttributeProto.STRINGS, AttributeProto.TENSORS,
    AttributeProto.SPARSE_TENSORS, AttributeProto.GRAPHS, AttributeProto.TYPE_PROTOS,
}  # fmt: skip


class OnnxExportError(GossamerError):
    """The graph holds something ONNX cannot express (a fused partition node, an odd attribute)."""


def graph_to_onnx(graph: Graph) -> onnx.ModelProto:
    """The ONNX ModelProto of a Gossamer Graph, with the same semantics."""
    for _, node in graph.walk():
        if node.domain == PARTITION_DOMAIN:
            raise OnnxExportError(
                f"node {node.label()} is a fused partition ({PARTITION_DOMAIN}); fused partitions "
                "cannot be exported to ONNX: export the model before backends partition it"
            )
    opsets = {("" if d == "ai.onnx" else d): int(v) for d, v in graph.opsets.items()}
    opsets.setdefault("", 1)
    for _, node in graph.walk():
        opsets.setdefault(node.domain, 1)
    exporter = _Exporter(opsets, FunctionWriter(graph, opsets))
    model = onnx.ModelProto()
    try:
        model.graph.CopyFrom(exporter.graph(graph, top=True))
    except (FunctionExportError, GraphValidationError) as err:
        raise OnnxExportError(str(err)) from err
    model.functions.extend(exporter.functions.functions.values())
    for domain, version in sorted(opsets.items()):
        model.opset_import.append(onnx.helper.make_opsetid(domain, version))
    model.ir_version = max(
        _MIN_IR,
        onnx.helper.find_min_ir_version_for(list(model.opset_import), ignore_unknown=True),
        max((_DTYPE_IR.get(d, 0) for d in exporter.dtypes), default=0),
    )
    model.producer_name = "gossamer"
    model.producer_version = _version()
    for key, value in graph.metadata.items():
        model.metadata_props.add(key=str(key), value=str(value))
    return model


def save_onnx(graph: Graph, path: str | os.PathLike) -> onnx.ModelProto:
    """Exports `graph`, checks the result with onnx.checker and writes it to `path`."""
    model = graph_to_onnx(graph)
    Path(path).write_bytes(model.SerializeToString())
    try:
        onnx.checker.check_model(str(path))
    except onnx.checker.ValidationError as err:
        raise OnnxExportError(f"the exported model fails onnx.checker: {err}") from err
    return model


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("gossamer")
    except Exception:  # not installed (running from a checkout)
        return ""


class _Exporter:
    def __init__(self, opsets: dict[str, int], functions: FunctionWriter) -> None:
        self.opsets = opsets
        self.functions = functions
        self.dtypes: set[str] = set()  # element types written, for the IR version

    def graph(self, graph: Graph, top: bool = False) -> onnx.GraphProto:
        g = onnx.GraphProto(name=graph.name)
        g.node.extend(self.node(n) for n in (graph.topological_nodes() if top else graph.nodes))
        g.input.extend(self.value(v) for v in graph.inputs)
        g.output.extend(self.value(v) for v in graph.outputs)
        narrow = _int4_codes(graph, self.opsets.get("", 1))
        g.initializer.extend(
            self.tensor(np.asarray(a).astype(narrow[k]) if k in narrow else np.asarray(a), k)
            for k, a in graph.initializers.items()
        )
        g.value_info.extend(
            self.value(v, name)
            for name, v in graph.value_info.items()
            if v.dtype is not None or v.shape is not None or v.kind != "tensor"
        )
        return g

    def node(self, node: Node) -> onnx.NodeProto:
        proto = onnx.NodeProto(
            op_type=node.op_type, name=node.name, domain=node.domain,
            input=list(node.inputs), output=list(node.outputs),
        )  # fmt: skip
        for name, value in node.attrs.items():
            attr = self.attribute(node, name, value)
            if attr is not None:
                proto.attribute.append(attr)
        if node.domain == GOSSAMER_DOMAIN:
            proto.op_type, n_out = self.functions.call(node)
            proto.output.extend([""] * (n_out - len(proto.output)))  # a call names every output
        return proto

    def tensor(self, array: np.ndarray, name: str = "") -> onnx.TensorProto:
        if array.dtype.kind in "US":
            array = array.astype(object)
        try:
            proto = numpy_helper.from_array(array, name)
        except Exception as err:
            raise OnnxExportError(
                f"tensor {name!r} ({array.dtype}{list(array.shape)}) cannot be written: {err}"
            ) from err
        self.dtypes.add(ONNX_TYPE_CODES.get(proto.data_type, ""))
        return proto

    def sparse(self, array: np.ndarray) -> onnx.SparseTensorProto:
        flat = array.reshape(-1)
        where = np.flatnonzero(flat != 0).astype(np.int64)
        return onnx.helper.make_sparse_tensor(
            self.tensor(flat[where]), self.tensor(where), list(array.shape)
        )

    def value(self, v: Value, name: str | None = None) -> onnx.ValueInfoProto:
        proto = onnx.ValueInfoProto(name=v.name if name is None else name)
        tensor = TypeProto()  # left empty when nothing is known, as ONNX allows in bodies
        if v.dtype is not None or v.shape is not None:
            tensor.tensor_type.elem_type = self.elem(v.dtype)
        if v.shape is not None:
            tensor.tensor_type.shape.SetInParent()
            for d in v.shape:
                dim = tensor.tensor_type.shape.dim.add()
                if isinstance(d, str):
                    dim.dim_param = d
                elif d is not None:
                    dim.dim_value = int(d)
        if v.kind == "sequence":
            proto.type.sequence_type.elem_type.CopyFrom(tensor)
        elif v.kind == "optional":
            proto.type.optional_type.elem_type.CopyFrom(tensor)
        elif tensor.HasField("tensor_type"):
            proto.type.CopyFrom(tensor)
        return proto

    def elem(self, dtype: str | None) -> int:
        if dtype is None:
            return onnx.TensorProto.UNDEFINED
        if dtype not in _TYPE_CODES:
            raise OnnxExportError(f"dtype {dtype!r} has no ONNX element type")
        self.dtypes.add(dtype)
        return _TYPE_CODES[dtype]

    def type_proto(self, text: str | None) -> TypeProto:
        """The TypeProto of a type name as the importer writes it ("float32", "sequence<int64>")."""
        tp = TypeProto()
        text = (text or "").strip()
        for kind in ("sequence", "optional"):
            if text.startswith(kind + "<") and text.endswith(">"):
                inner = self.type_proto(text[len(kind) + 1 : -1])
                getattr(tp, kind + "_type").elem_type.CopyFrom(inner)
                return tp
        tp.tensor_type.elem_type = self.elem(text if text in _TYPE_CODES else None)
        return tp

    def schema_type(self, node: Node, name: str) -> int | None:
        """The attribute's type in the op schema, or None when no schema is known."""
        if node.domain == GOSSAMER_DOMAIN:
            return attribute_types(node.op_type).get(name)
        try:
            schema = onnx.defs.get_schema(
                node.op_type, self.opsets.get(node.domain, 1), node.domain
            )
        except Exception:  # unknown op, custom domain
            return None
        attr = schema.attributes.get(name)
        return None if attr is None else int(attr.type)

    def attribute(self, node: Node, name: str, value: Any) -> AttributeProto | None:
        expected = self.schema_type(node, name)
        a = AttributeProto(name=name)
        if value is None:
            if expected != AttributeProto.TYPE_PROTO:
                return None  # "not given"
            a.type = AttributeProto.TYPE_PROTO
            a.tp.CopyFrom(self.type_proto(None))
        elif isinstance(value, Graph):
            a.type = AttributeProto.GRAPH
            a.g.CopyFrom(self.graph(value))
        elif isinstance(value, np.ndarray):
            if expected == AttributeProto.SPARSE_TENSOR:
                a.type = AttributeProto.SPARSE_TENSOR
                a.sparse_tensor.CopyFrom(self.sparse(value))
            else:
                a.type = AttributeProto.TENSOR
                a.t.CopyFrom(self.tensor(value))
        elif isinstance(value, str):
            if expected == AttributeProto.TYPE_PROTO:
                a.type = AttributeProto.TYPE_PROTO
                a.tp.CopyFrom(self.type_proto(value))
            else:
                a.type = AttributeProto.STRING
                a.s = value.encode("utf-8", errors="surrogateescape")
        elif isinstance(value, (bytes, bytearray)):
            a.type, a.s = AttributeProto.STRING, bytes(value)
        elif _is_int(value) and expected != AttributeProto.FLOAT:
            a.type, a.i = AttributeProto.INT, int(value)
        elif _is_number(value):
            a.type, a.f = AttributeProto.FLOAT, float(value)
        elif isinstance(value, (list, tuple)):
            self.list_attribute(node, a, list(value), expected)
        else:
            raise OnnxExportError(
                f"{node.label()}: attribute {name!r} holds a {type(value).__name__}, which has no "
                "ONNX attribute type"
            )
        return a

    def list_attribute(
        self, node: Node, a: AttributeProto, items: list, expected: int | None
    ) -> None:
        if not items:
            a.type = expected if expected in _LIST_TYPES else AttributeProto.INTS
        elif all(isinstance(v, Graph) for v in items):
            a.type = AttributeProto.GRAPHS
            a.graphs.extend(self.graph(g) for g in items)
        elif all(isinstance(v, np.ndarray) for v in items):
            if expected == AttributeProto.SPARSE_TENSORS:
                a.type = AttributeProto.SPARSE_TENSORS
                a.sparse_tensors.extend(self.sparse(t) for t in items)
            else:
                a.type = AttributeProto.TENSORS
                a.tensors.extend(self.tensor(t) for t in items)
        elif all(isinstance(v, str) or v is None for v in items):
            if expected == AttributeProto.TYPE_PROTOS:
                a.type = AttributeProto.TYPE_PROTOS
                a.type_protos.extend(self.type_proto(t) for t in items)
            else:
                a.type = AttributeProto.STRINGS
                a.strings.extend(s.encode("utf-8", errors="surrogateescape") for s in items)
        elif all(_is_int(v) for v in items) and expected != AttributeProto.FLOATS:
            a.type = AttributeProto.INTS
            a.ints.extend(int(v) for v in items)
        elif all(_is_number(v) for v in items):
            a.type = AttributeProto.FLOATS
            a.floats.extend(float(v) for v in items)
        else:
            kinds = sorted({type(v).__name__ for v in items})
            raise OnnxExportError(
                f"{node.label()}: attribute {a.name!r} mixes {', '.join(kinds)}; ONNX lists hold "
                "one kind"
            )


def _int4_codes(graph: Graph, opset: int) -> dict[str, np.dtype]:
    """Initializers of <= 4-bit codes (Graph.quant) in an 8-bit container that only
    DequantizeLinear reads (as codes, or as their zero point): name -> int4 / uint4."""
    if opset < 21 or not graph.quant:
        return {}
    readers: dict[str, list[tuple[Node, int]]] = {}
    for node in graph.nodes:
        for index, name in enumerate(node.inputs):
            readers.setdefault(name, []).append((node, index))
    kept = {v.name for v in graph.inputs} | {v.name for v in graph.outputs}
    kept |= {n for node in graph.nodes for sub in node.subgraphs() for n in sub.free_names()}
    narrow: dict[str, np.dtype] = {}
    for name, qp in graph.quant.items():
        codes = graph.initializers.get(name)
        if codes is None or qp.bits > 4 or name in kept:
            continue
        dtype = np.asarray(codes).dtype
        uses = readers.get(name, [])
        if dtype not in (np.int8, np.uint8) or not uses:
            continue
        if all(n.op_type == "DequantizeLinear" and n.domain in ("", "ai.onnx") and i == 0
               for n, i in uses):  # fmt: skip
            zero_points = {n.inputs[2] for n, _ in uses if len(n.inputs) > 2 and n.inputs[2]}
            if all(z in graph.initializers and z not in kept and all(
                    n.op_type == "DequantizeLinear" and i == 2 and n.inputs[0] == name
                    for n, i in readers.get(z, [])) for z in zero_points):  # fmt: skip
                four = np.dtype(ml_dtypes.int4 if dtype == np.int8 else ml_dtypes.uint4)
                narrow[name] = four
                narrow.update((z, four) for z in zero_points)
    return narrow


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer, np.bool_))


def _is_number(value: Any) -> bool:
    return _is_int(value) or isinstance(value, (float, np.floating))
