"""Model inputs and outputs described as onnxruntime describes them (`NodeArg`).

The declared types and shapes come from the file itself (the ModelProto keeps dims spelt "?"
and -1, which the Graph turns into None); outputs are completed with what shape inference found,
merged as onnx's mergeInShapeInfo merges them, which is what onnxruntime reports.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .refimpl import model_format
from .refimpl.dtypes import ONNX_TYPE_CODES
from .refimpl.ir import Dim, Graph, Value
from .session import read_model

# Gossamer dtype -> onnxruntime's element type name, as in "tensor(float)"
ORT_ELEMENT_TYPES = {
    "float32": "float", "float64": "double", "float16": "float16", "bfloat16": "bfloat16",
    "int8": "int8", "int16": "int16", "int32": "int32", "int64": "int64", "uint8": "uint8",
    "uint16": "uint16", "uint32": "uint32", "uint64": "uint64", "bool": "bool",
    "string": "string", "complex64": "complex64", "complex128": "complex128",
    "float8_e4m3fn": "float8e4m3fn", "float8_e4m3fnuz": "float8e4m3fnuz",
    "float8_e5m2": "float8e5m2", "float8_e5m2fnuz": "float8e5m2fnuz",
    "float8_e8m0fnu": "float8e8m0", "float4_e2m1fn": "float4e2m1",
    "float6_e2m3fn": "float6e2m3", "float6_e3m2fn": "float6e3m2",
    "int4": "int4", "uint4": "uint4", "int2": "int2", "uint2": "uint2",
}  # fmt: skip


class NodeArg:
    """A model input or output as onnxruntime describes it: `type` such as "tensor(float)" or
    "seq(tensor(int64))"; `shape` a list of ints (fixed dims), strings (symbolic dims) and None
    (unknown dims), [] when the rank is unknown."""

    __slots__ = ("_name", "_type", "_shape")

    def __init__(self, name: str, type: str, shape: list[Dim]) -> None:
        self._name, self._type, self._shape = name, type, list(shape)

    @property
    def name(self) -> str:
        return self._name

    @property
    def type(self) -> str:
        return self._type

    @property
    def shape(self) -> list[Dim]:
        return list(self._shape)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NodeArg) and (self._name, self._type, self._shape) == (
            other._name, other._type, other._shape
        )  # fmt: skip

    __hash__ = None  # type: ignore[assignment]

    def __str__(self) -> str:
        return f"NodeArg(name={self._name!r}, type={self._type!r}, shape={self._shape!r})"

    __repr__ = __str__


@dataclass(frozen=True)
class Declared:
    """A graph input or output as the model file declares it: type None (not declared), shape
    None (rank unknown), dims int / symbol / None."""

    name: str
    type: str | None
    shape: list[Dim] | None


@dataclass(frozen=True)
class Signature:
    """A model's declared inputs and outputs, and the inputs an initializer gives a default."""

    inputs: list[Declared]
    outputs: list[Declared]
    initialized: frozenset[str]


def read_with_signature(source: Any) -> tuple[Graph, Signature]:
    """The Graph and, from the file itself, its declared inputs and outputs."""
    if isinstance(source, Graph):
        return source, _graph_signature(source)
    native = isinstance(source, (str, os.PathLike, bytes, bytearray, memoryview))
    if native and _read_as_graph(source):  # .gsm or TFLite: the Graph declares what they do
        graph = read_model(bytes(source) if isinstance(source, (bytearray, memoryview)) else source)
        return graph, _graph_signature(graph)
    if isinstance(source, (str, os.PathLike)) and not Path(source).exists():
        raise FileNotFoundError(f"model file {os.fspath(source)!r} does not exist")
    if not isinstance(source, (str, os.PathLike, bytes, bytearray, memoryview)):
        onnx = sys.modules.get("onnx")  # a ModelProto can exist only once onnx is imported
        if onnx is None or not isinstance(source, onnx.ModelProto):
            raise TypeError(f"Unable to load from type '{type(source)}'")
    from .converter.onnx_import import graph_from_onnx, load_onnx_model

    model = load_onnx_model(
        bytes(source) if isinstance(source, (bytearray, memoryview)) else source
    )
    return graph_from_onnx(model), _proto_signature(model)


def _read_as_graph(source: str | os.PathLike | bytes | bytearray | memoryview) -> bool:
    """Whether the source is a .gsm or a TFLite file (by content): read as a Graph, whose
    inputs and outputs are the declared ones (a TFLite model's state hidden)."""
    magic = model_format.MAGIC
    if isinstance(source, (bytes, bytearray, memoryview)):
        head = bytes(source[:8])
    else:
        path = Path(source)
        if not path.is_file():
            return False
        with open(path, "rb") as f:
            head = f.read(8)
    return head[: len(magic)] == magic or head[4:8] == b"TFL3"


def _graph_signature(graph: Graph) -> Signature:
    state_in, state_out = graph.state_names()  # kept by the session, not the user's
    return Signature(
        [_declared(v) for v in graph.inputs if v.name not in state_in],
        [_declared(v) for v in graph.outputs if v.name not in state_out],
        frozenset(graph.initializers),
    )


def _proto_signature(model: Any) -> Signature:
    """From the ModelProto, which keeps what the Graph does not: dims spelt "?" and the
    declared element types of every input and output."""
    g = model.graph
    initialized = {t.name for t in g.initializer} | {s.values.name for s in g.sparse_initializer}
    return Signature(
        [Declared(v.name, _proto_type(v.type), _proto_shape(v.type)) for v in g.input],
        [Declared(v.name, _proto_type(v.type), _proto_shape(v.type)) for v in g.output],
        frozenset(initialized),
    )


def _proto_type(tp: Any) -> str | None:
    which = tp.WhichOneof("value")
    if which in ("tensor_type", "sparse_tensor_type"):
        elem = ORT_ELEMENT_TYPES.get(ONNX_TYPE_CODES.get(getattr(tp, which).elem_type, ""))
        kind = "tensor" if which == "tensor_type" else "sparse_tensor"
        return f"{kind}({elem})" if elem else None
    if which in ("sequence_type", "optional_type"):
        inner = _proto_type(getattr(tp, which).elem_type)
        return f"{'seq' if which == 'sequence_type' else 'optional'}({inner})" if inner else None
    if which == "map_type":
        key = ORT_ELEMENT_TYPES.get(ONNX_TYPE_CODES.get(tp.map_type.key_type, ""))
        value = _proto_type(tp.map_type.value_type)
        return f"map({key},{value})" if key and value else None
    return None


def _proto_shape(tp: Any) -> list[Dim] | None:
    which = tp.WhichOneof("value")
    if which == "optional_type":  # onnxruntime reports the shape of the tensor inside
        return _proto_shape(tp.optional_type.elem_type)
    if which not in ("tensor_type", "sparse_tensor_type") or not getattr(tp, which).HasField(
        "shape"
    ):
        return None
    return [_proto_dim(d) for d in getattr(tp, which).shape.dim]


def _proto_dim(d: Any) -> Dim:
    """A size, a symbol (kept as written, "?" included) or None (exporters write -1 for unknown,
    which onnxruntime reports as None)."""
    if d.HasField("dim_value"):
        return int(d.dim_value) if d.dim_value >= 0 else None
    return d.dim_param or None


def _declared(v: Value) -> Declared:
    return Declared(v.name, _value_type(v), list(v.shape) if v.shape is not None else None)


def _value_type(v: Value) -> str | None:
    elem = ORT_ELEMENT_TYPES.get(v.dtype or "")
    if elem is None:
        return None
    return {
        "tensor": "tensor({})",
        "sequence": "seq(tensor({}))",
        "optional": "optional(tensor({}))",
    }[v.kind].format(elem)


def node_arg(declared: Declared, inferred: Value | None = None) -> NodeArg:
    """The NodeArg onnxruntime reports: the declared type and shape, merged with what shape
    inference found as onnx's mergeInShapeInfo does (an inferred size replaces a declared
    symbol; a declared symbol stays over an inferred one; an inferred dim fills an unknown one)."""
    type_ = declared.type or (_value_type(inferred) if inferred is not None else None)
    shape = declared.shape
    if inferred is not None and inferred.kind != "sequence" and inferred.shape is not None:
        if shape is None:
            shape = list(inferred.shape)
        elif len(shape) == len(inferred.shape):
            shape = [
                i if isinstance(i, int) or d is None else d for d, i in zip(shape, inferred.shape)
            ]
    if type_ is not None and type_.startswith("seq("):
        shape = None  # onnxruntime gives sequences no shape
    return NodeArg(declared.name, type_ or "tensor(undefined)", shape or [])
