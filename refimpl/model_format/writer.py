"""Writing .gsm: a Graph becomes the JSON graph section and the aligned, deduplicated data."""

from __future__ import annotations

import io
import os
import zlib
from typing import IO, Any

import numpy as np

from ..dtypes import NUMPY_DTYPES, name_of
from ..errors import GraphValidationError
from ..ir import Graph, Node, QuantParams, StateBinding, Value
from .header import FLAG_PACKED, FLAG_STATE, FORMAT_MAJOR, FORMAT_MINOR, align, head
from .layouts import layouts
from .packing import pack_codes, storage_bits
from .prepacked import forms
from .quant import quant_docs, valid_quant
from .schema import INT64, MAX_GRAPH_DEPTH, VALUE_KINDS, float_doc, json_bytes

PathLike = str | os.PathLike


def dump_gsm(graph: Graph) -> bytes:
    """The .gsm bytes of a graph."""
    out = io.BytesIO()
    _write(graph, out)
    return out.getvalue()


def save_gsm(graph: Graph, path_or_file: PathLike | IO[bytes]) -> None:
    """Writes a graph as .gsm to a binary file object, or atomically (write, then rename) to a path.

    The rename keeps readers that still map the old file safe from seeing it change under them.
    """
    if hasattr(path_or_file, "write"):
        _write(graph, path_or_file)  # type: ignore[arg-type]
        return
    path = os.fspath(path_or_file)
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            _write(graph, f)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def pack_gsm(
    document: dict | bytes,
    data: bytes | np.ndarray,
    *,
    major: int = FORMAT_MAJOR,
    minor: int = FORMAT_MINOR,
    flags: int = 0,
) -> bytes:
    """Assembles a file from a graph section (a document, or its exact bytes) and a data section.

    For tools and tests: the header gets consistent offsets and a correct checksum.
    """
    text = document if isinstance(document, bytes) else json_bytes(document)
    return head(text, len(data), major, minor, flags) + bytes(data)


def _write(graph: Graph, out: IO[bytes]) -> None:
    graph.validate()  # refuse to write what load_gsm would refuse to read
    writer = _Writer()
    document = {"schema": FORMAT_MAJOR, "graph": writer.graph(graph, 0), "tensors": writer.table}
    stored = layouts(graph)  # optional (minor 4): the graph as planned for a session, by key
    if stored:
        for planned in stored.values():
            if planned is not None:
                planned.validate()
        document["layouts"] = [
            {"key": key, "graph": None if planned is None else writer.graph(planned, 0)}
            for key, planned in sorted(stored.items())
        ]
    prepacked = writer.prepacked()  # optional (minor 3): forms kernels packed from the tensors
    if prepacked:
        document["prepacked"] = prepacked
    flags = (FLAG_STATE if graph.state else 0) | (FLAG_PACKED if writer.packed else 0)
    out.write(head(json_bytes(document), writer.size, flags=flags))
    written = 0
    for offset, raw in writer.chunks:
        out.write(b"\0" * (offset - written))
        out.write(raw.data)
        written = offset + raw.nbytes
    out.write(b"\0" * (writer.size - written))


class _Writer:
    """Turns a Graph into the JSON document, collecting tensors into the table and data chunks."""

    def __init__(self) -> None:
        self.table: list[dict] = []
        self.chunks: list[tuple[int, np.ndarray]] = []
        self.size = 0
        # id(array) (and packed bits) -> (array, index): dedupe
        self._seen: dict[Any, tuple[np.ndarray, int]] = {}
        self.packed = False  # some tensor is stored bit-packed (FLAG_PACKED)

    def tensor(self, array: np.ndarray, bits: int | None = None) -> int:
        """The table index of `array`, stored once; `bits`: as packed N-bit codes."""
        key = id(array) if bits is None else (id(array), bits)
        if key in self._seen:
            return self._seen[key][1]
        index = len(self.table)
        self._seen[key] = (array, index)
        shape = [int(d) for d in array.shape]
        if array.dtype.kind in "OUS":
            strings = [_as_str(x) for x in array.reshape(-1).tolist()]
            self.table.append({"dtype": "string", "shape": shape, "strings": strings})
            return index
        if array.dtype.byteorder == ">":
            array = array.astype(array.dtype.newbyteorder("<"))
        dtype = name_of(array.dtype)
        if bits is not None:
            raw = pack_codes(array, bits)
            self.packed = True
        else:
            raw = np.ascontiguousarray(array).reshape(-1).view(np.uint8)
        offset = align(self.size)
        self.chunks.append((offset, raw))
        self.size = offset + raw.nbytes
        entry = {"dtype": dtype, "shape": shape, "offset": offset, "nbytes": raw.nbytes}
        self.table.append(entry if bits is None else {**entry, "bits": bits})
        return index

    def prepacked(self) -> list[dict]:
        """The "prepacked" entries of the written tensors' attached forms (see prepacked.py)."""
        docs, done = [], set()
        for array, index in list(self._seen.values()):
            if id(array) in done or array.dtype.kind in "OUS":
                continue
            done.add(id(array))
            attached = forms(array)
            if not attached:
                continue
            crc = zlib.crc32(np.ascontiguousarray(array).reshape(-1).view(np.uint8).data)
            for key in sorted(attached):
                form = np.asarray(attached[key])
                if form.dtype.kind in "OUS":
                    continue
                entry = {"source": index, "key": key, "crc32": crc, "array": self.tensor(form)}
                docs.append(entry)
        return docs

    def graph(self, graph: Graph, depth: int) -> dict:
        if depth > MAX_GRAPH_DEPTH:
            raise GraphValidationError(
                f"graph {graph.name!r} nests subgraphs deeper than {MAX_GRAPH_DEPTH} levels"
            )
        quant = valid_quant(graph)  # what a reader accepts; stale entries are dropped
        return {
            "name": graph.name,
            "opsets": {str(k): int(v) for k, v in graph.opsets.items()},
            "metadata": {str(k): str(v) for k, v in graph.metadata.items()},
            "model_info": {str(k): str(v) for k, v in graph.model_info.items()},
            "inputs": [_value_doc(v.name, v) for v in graph.inputs],
            "outputs": [_value_doc(v.name, v) for v in graph.outputs],
            "value_info": [_value_doc(k, v) for k, v in graph.value_info.items()],
            "initializers": [
                {"name": k, "tensor": self.tensor(np.asarray(a), _packed_bits(quant, k, a))}
                for k, a in graph.initializers.items()
            ],
            "nodes": [self.node(n, depth) for n in graph.nodes],
            **({"state": [self.state(b) for b in graph.state]} if graph.state else {}),
            **({"quant": quant_docs(quant, self.tensor)} if quant else {}),
        }

    def state(self, b: StateBinding) -> dict:
        """A state binding: the runtime value is never written, only the initial one."""
        initial = None if b.initial is None else self.tensor(np.asarray(b.initial))
        return {"name": b.name, "input": b.input, "output": b.output, "initial": initial}

    def node(self, node: Node, depth: int) -> dict:
        attrs = {k: self.attribute(node, k, v, depth) for k, v in node.attrs.items()}
        return {
            "op_type": node.op_type, "domain": node.domain, "name": node.name,
            "inputs": list(node.inputs), "outputs": list(node.outputs), "attrs": attrs,
        }  # fmt: skip

    def attribute(self, node: Node, name: str, value: Any, depth: int) -> dict:
        if isinstance(value, Graph):
            return {"graph": self.graph(value, depth + 1)}
        if isinstance(value, np.ndarray):
            return {"tensor": self.tensor(value)}
        if isinstance(value, str):
            return {"string": value}
        if _is_int(value):
            return {"int": _int64(value, node, name)}
        if isinstance(value, (float, np.floating)):
            return {"float": float_doc(value)}
        if isinstance(value, (list, tuple)):
            items = list(value)
            if all(isinstance(v, Graph) for v in items) and items:
                return {"graphs": [self.graph(g, depth + 1) for g in items]}
            if all(isinstance(v, np.ndarray) for v in items) and items:
                return {"tensors": [self.tensor(a) for a in items]}
            if all(isinstance(v, str) for v in items) and items:
                return {"strings": items}
            if all(_is_int(v) for v in items):
                return {"ints": [_int64(v, node, name) for v in items]}
            if all(_is_int(v) or isinstance(v, (float, np.floating)) for v in items):
                return {"floats": [float_doc(v) for v in items]}
        raise GraphValidationError(
            f"{node.label()}: attribute {name!r} has type {type(value).__name__}, which .gsm "
            "cannot store (it stores ints, floats, strings, arrays, graphs and lists of one kind)"
        )


def _packed_bits(quant: dict[str, QuantParams], name: str, array: Any) -> int | None:
    """N when initializer `name` holds N-bit codes narrower than its container: stored packed."""
    qp, dtype = quant.get(name), np.asarray(array).dtype
    if qp is None or storage_bits(dtype) is None:
        return None
    return qp.bits if qp.bits < dtype.itemsize * 8 else None  # int4 codes take a byte unpacked


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer, np.bool_))


def _int64(value: Any, node: Node, name: str) -> int:
    number = int(value)
    if not INT64[0] <= number <= INT64[1]:
        raise GraphValidationError(
            f"{node.label()}: attribute {name!r} value {number} overflows int64"
        )
    return number


def _as_str(item: Any) -> str:
    if isinstance(item, str):
        return item
    if isinstance(item, bytes):
        return item.decode("utf-8", errors="surrogateescape")
    raise GraphValidationError(f"string tensors may hold only str, found {type(item).__name__}")


def _value_doc(name: str, v: Value) -> dict:
    if v.kind not in VALUE_KINDS or (v.dtype is not None and v.dtype not in NUMPY_DTYPES):
        raise GraphValidationError(
            f"value {name!r} has kind {v.kind!r} and dtype {v.dtype!r}; kinds are "
            f"{list(VALUE_KINDS)}, dtypes those of refimpl/dtypes.py"
        )
    shape = None
    if v.shape is not None:
        shape = [d if isinstance(d, (str, type(None))) else int(d) for d in v.shape]
        if any(isinstance(d, int) and d < 0 for d in shape):
            raise GraphValidationError(f"value {name!r} has a negative dimension: {v.describe()}")
    return {"name": name, "dtype": v.dtype, "shape": shape, "kind": v.kind}
