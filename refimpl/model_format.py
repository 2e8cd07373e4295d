"""The .gsm model file: a fixed header, a JSON graph section, 64-byte-aligned raw tensor data.

The exact layout and schema are in docs/gsm-format.md. `load_gsm` checks every field before it
builds anything, maps tensor data without copying (np.memmap of a path, np.frombuffer views of
bytes) and raises ModelFormatError for any corrupt, truncated or hostile file. No pickle, ever.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import struct
import zlib
from collections import Counter
from typing import IO, Any

import numpy as np

from .dtypes import NUMPY_DTYPES, name_of
from .errors import GraphValidationError, ModelFormatError
from .ir import Graph, Node, Value

MAGIC = b"GOSSAMER"
FORMAT_MAJOR = 1  # a reader refuses any other major version
FORMAT_MINOR = 0  # a newer minor only adds things an older reader may ignore
# magic, major, minor, flags, graph offset, graph length, data offset, data length, graph CRC32,
# then 12 reserved bytes (written as zero, ignored on read).
HEADER = struct.Struct("<8sHHIQQQQI12x")
ALIGNMENT = 64
REQUIRED_FLAGS = 0x0000FFFF  # low flag bits name features a reader must know; none exist in 1.0
KNOWN_FLAGS = 0
MAX_GRAPH_DEPTH = 64  # subgraph nesting levels
MAX_RANK = 64  # numpy's own limit
# A node's JSON is longer than MIN_NODE_BYTES, so more nodes than that allows means a hostile file.
MIN_NODE_BYTES = 32
# Python spends ~70 bytes on an empty list or dict: capping their density caps the parse's memory.
MIN_CONTAINER_CHARS = 6  # a valid document has fewer: `"a":{"ints":[]},` is 16 characters for 2
VALUE_KINDS = ("tensor", "sequence", "optional")
_INT64 = (-(2**63), 2**63 - 1)
_MAX_NBYTES = 2**63 - 1  # numpy refuses arrays whose size (zeros counted as 1) exceeds this
_MAX_FLOAT_INT = 2**1023  # larger JSON integers do not fit a float
# A JSON string, or an unterminated one running to the end: always matching keeps re.sub linear.
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*(?:"|\\?\Z)', re.DOTALL)
_NONFINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}

PathLike = str | os.PathLike
JsonPath = str | tuple  # a place in the JSON document: a root name or (parent, suffix)


# ---- writing -------------------------------------------------------------------------------------
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
    text = document if isinstance(document, bytes) else _json_bytes(document)
    return _head(text, len(data), major, minor, flags) + bytes(data)


def _write(graph: Graph, out: IO[bytes]) -> None:
    graph.validate()  # refuse to write what load_gsm would refuse to read
    writer = _Writer()
    document = {"schema": FORMAT_MAJOR, "graph": writer.graph(graph, 0), "tensors": writer.table}
    out.write(_head(_json_bytes(document), writer.size))
    written = 0
    for offset, raw in writer.chunks:
        out.write(b"\0" * (offset - written))
        out.write(raw.data)
        written = offset + raw.nbytes
    out.write(b"\0" * (writer.size - written))


def _head(
    text: bytes,
    data_size: int,
    major: int = FORMAT_MAJOR,
    minor: int = FORMAT_MINOR,
    flags: int = 0,
) -> bytes:
    """Header, graph section and the padding up to the 64-byte-aligned data section."""
    data_offset = _align(HEADER.size + len(text))
    header = HEADER.pack(
        MAGIC, major, minor, flags, HEADER.size, len(text), data_offset, data_size, zlib.crc32(text)
    )
    return header + text + b"\0" * (data_offset - HEADER.size - len(text))


def _json_bytes(document: dict) -> bytes:
    return json.dumps(document, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode()


def _align(n: int) -> int:
    return -(-n // ALIGNMENT) * ALIGNMENT


class _Writer:
    """Turns a Graph into the JSON document, collecting tensors into the table and data chunks."""

    def __init__(self) -> None:
        self.table: list[dict] = []
        self.chunks: list[tuple[int, np.ndarray]] = []
        self.size = 0
        self._seen: dict[int, tuple[np.ndarray, int]] = {}  # id(array) -> (array, index): dedupe

    def tensor(self, array: np.ndarray) -> int:
        if id(array) in self._seen:
            return self._seen[id(array)][1]
        index = len(self.table)
        self._seen[id(array)] = (array, index)
        shape = [int(d) for d in array.shape]
        if array.dtype.kind in "OUS":
            strings = [_as_str(x) for x in array.reshape(-1).tolist()]
            self.table.append({"dtype": "string", "shape": shape, "strings": strings})
            return index
        if array.dtype.byteorder == ">":
            array = array.astype(array.dtype.newbyteorder("<"))
        dtype = name_of(array.dtype)
        raw = np.ascontiguousarray(array).reshape(-1).view(np.uint8)
        offset = _align(self.size)
        self.chunks.append((offset, raw))
        self.size = offset + raw.nbytes
        self.table.append({"dtype": dtype, "shape": shape, "offset": offset, "nbytes": raw.nbytes})
        return index

    def graph(self, graph: Graph, depth: int) -> dict:
        if depth > MAX_GRAPH_DEPTH:
            raise GraphValidationError(
                f"graph {graph.name!r} nests subgraphs deeper than {MAX_GRAPH_DEPTH} levels"
            )
        return {
            "name": graph.name,
            "opsets": {str(k): int(v) for k, v in graph.opsets.items()},
            "metadata": {str(k): str(v) for k, v in graph.metadata.items()},
            "inputs": [_value_doc(v.name, v) for v in graph.inputs],
            "outputs": [_value_doc(v.name, v) for v in graph.outputs],
            "value_info": [_value_doc(k, v) for k, v in graph.value_info.items()],
            "initializers": [
                {"name": k, "tensor": self.tensor(np.asarray(a))}
                for k, a in graph.initializers.items()
            ],
            "nodes": [self.node(n, depth) for n in graph.nodes],
        }

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
            return {"float": _float_doc(value)}
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
                return {"floats": [_float_doc(v) for v in items]}
        raise GraphValidationError(
            f"{node.label()}: attribute {name!r} has type {type(value).__name__}, which .gsm "
            "cannot store (it stores ints, floats, strings, arrays, graphs and lists of one kind)"
        )


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer, np.bool_))


def _int64(value: Any, node: Node, name: str) -> int:
    number = int(value)
    if not _INT64[0] <= number <= _INT64[1]:
        raise GraphValidationError(
            f"{node.label()}: attribute {name!r} value {number} overflows int64"
        )
    return number


def _float_doc(value: Any) -> float | str:
    number = float(value)
    if math.isfinite(number):
        return number
    return "NaN" if math.isnan(number) else ("Infinity" if number > 0 else "-Infinity")


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


# ---- reading -------------------------------------------------------------------------------------
def load_gsm(source: PathLike | bytes | bytearray | memoryview) -> Graph:
    """Reads a .gsm file (path) or buffer; initializers are read-only views of the mapped data.

    Raises ModelFormatError, naming the broken field, for anything but a valid file; OSError when
    the path cannot be opened.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        return _load(np.frombuffer(source, dtype=np.uint8), "<bytes>")
    path = os.fspath(source)
    with open(path, "rb") as f:
        if os.fstat(f.fileno()).st_size < HEADER.size:  # np.memmap refuses an empty file
            return _load(np.frombuffer(f.read(HEADER.size), dtype=np.uint8), repr(path))
    return _load(np.memmap(path, dtype=np.uint8, mode="r").view(np.ndarray), repr(path))


def _load(buf: np.ndarray, where: str) -> Graph:
    size = buf.size
    head = bytes(buf[: HEADER.size])
    if head[: len(MAGIC)] != MAGIC:
        if size < len(MAGIC) and MAGIC.startswith(head):
            raise ModelFormatError(
                f"{where} is truncated: {size} bytes, the header needs {HEADER.size}"
            )
        raise ModelFormatError(
            f"{where} is not a .gsm file: it starts with {head[: len(MAGIC)]!r}, not {MAGIC!r}"
        )
    if size < HEADER.size:
        raise ModelFormatError(
            f"{where} is truncated: {size} bytes, the header needs {HEADER.size}"
        )
    _, major, minor, flags, g_off, g_len, d_off, d_len, crc = HEADER.unpack(head)
    if major != FORMAT_MAJOR:
        raise ModelFormatError(
            f"{where} is .gsm format version {major}.{minor}; this Gossamer reads version "
            f"{FORMAT_MAJOR}.x only (re-export the model with a matching Gossamer)"
        )
    unknown = flags & REQUIRED_FLAGS & ~KNOWN_FLAGS
    if unknown:
        raise ModelFormatError(
            f"{where} needs format features this reader lacks (flag bits {unknown:#06x}); "
            "upgrade Gossamer"
        )
    _check_section(where, "graph", g_off, g_len, size)
    _check_section(where, "data", d_off, d_len, size)
    if d_off % ALIGNMENT:
        raise ModelFormatError(
            f"{where}: data section offset {d_off} is not {ALIGNMENT}-byte aligned"
        )
    if g_off < d_off + d_len and d_off < g_off + g_len:
        raise ModelFormatError(
            f"{where}: graph section [{g_off}, {g_off + g_len}) overlaps data section "
            f"[{d_off}, {d_off + d_len})"
        )
    section = buf[g_off : g_off + g_len].data
    actual = zlib.crc32(section)
    if actual != crc:
        raise ModelFormatError(
            f"{where}: graph section checksum mismatch (header says {crc:#010x}, content has "
            f"{actual:#010x}); the file is corrupt"
        )
    document = _parse_json(where, section)
    reader = _Reader(where, g_len, buf[d_off : d_off + d_len])
    graph = reader.document(document)
    try:
        graph.validate()
    except GraphValidationError as err:
        raise ModelFormatError(f"{where} holds an invalid graph: {err}") from err
    return graph


def _check_section(where: str, name: str, offset: int, length: int, size: int) -> None:
    if offset < HEADER.size:
        raise ModelFormatError(
            f"{where}: {name} section offset {offset} lies inside the {HEADER.size}-byte header"
        )
    if offset > size:
        raise ModelFormatError(
            f"{where}: {name} section offset {offset} is outside the file ({size} bytes)"
        )
    if offset + length > size:
        raise ModelFormatError(
            f"{where} is truncated: the {name} section needs bytes [{offset}, {offset + length}) "
            f"but the file has {size} bytes"
        )


def _parse_json(where: str, raw: memoryview) -> Any:
    try:
        text = str(raw, "utf-8")
    except UnicodeDecodeError as err:
        raise ModelFormatError(f"{where}: graph section is not UTF-8 text: {err}") from None
    containers = text.count("{") + text.count("[")
    if containers * MIN_CONTAINER_CHARS > len(text):  # recount without brackets inside strings
        containers = sum(map(_JSON_STRING.sub("", text).count, "{["))
        if containers * MIN_CONTAINER_CHARS > len(text):
            raise ModelFormatError(
                f"{where}: graph section has {containers} JSON objects and lists in "
                f"{len(text)} characters, denser than any valid graph (hostile file)"
            )
    try:
        return json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constants)
    except RecursionError:
        raise ModelFormatError(f"{where}: graph section JSON nests too deeply") from None
    except ValueError as err:  # JSONDecodeError, duplicate keys, NaN tokens, huge integers
        raise ModelFormatError(f"{where}: graph section is not valid JSON: {err}") from None


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict:
    result = dict(pairs)
    if len(result) != len(pairs):
        counts = Counter(k for k, _ in pairs)
        dupes = sorted(k for k, n in counts.items() if n > 1)
        raise ValueError(f"duplicate key(s) {[d[:40] for d in dupes[:5]]} in one object")
    return result


def _no_constants(token: str) -> Any:
    raise ValueError(f"bare {token} is not plain JSON")


class _Reader:
    """Checks the JSON document against the schema and builds the Graph, tensors as views."""

    def __init__(self, where: str, doc_bytes: int, data: np.ndarray) -> None:
        self.where = where
        self.data = data
        self.max_nodes = doc_bytes // MIN_NODE_BYTES
        self.nodes = 0
        self.tensors: list[np.ndarray] = []

    def fail(self, path: JsonPath, message: str) -> ModelFormatError:
        parts = []
        while isinstance(path, tuple):  # paths are (parent, suffix) pairs: O(1) to extend
            path, suffix = path
            parts.append(suffix)
        return ModelFormatError(f"{self.where}: {path}{''.join(reversed(parts))} {message}")

    def expect(self, value: Any, kind: type, path: JsonPath) -> Any:
        # JSON true/false are Python bools, which are also ints: compare exact types.
        if type(value) is not kind:
            names = {dict: "an object", list: "a list", str: "a string", int: "an integer"}
            raise self.fail(path, f"must be {names[kind]}, got {_json_type(value)}")
        return value

    def key(self, obj: dict, key: str, kind: type, path: JsonPath) -> Any:
        if key not in obj:
            raise self.fail(path, f"lacks the required key {key!r}")
        return self.expect(obj[key], kind, (path, f".{key}"))

    def items(self, items: list, kind: type, path: JsonPath) -> list:
        """Checks every item's type (and ints' int64 range); builds a path only on failure."""
        for i, v in enumerate(items):
            if type(v) is not kind:
                self.expect(v, kind, (path, f"[{i}]"))
            elif kind is int:
                self.int64(v, (path, f"[{i}]"))
        return items

    def int64(self, value: Any, path: JsonPath, low: int = _INT64[0]) -> int:
        self.expect(value, int, path)
        if not low <= value <= _INT64[1]:
            raise self.fail(path, f"is {value}, outside [{low}, {_INT64[1]}]")
        return value

    # -- document and tensors --
    def document(self, doc: Any) -> Graph:
        self.expect(doc, dict, "graph section")
        schema = self.key(doc, "schema", int, "graph section")
        if schema != FORMAT_MAJOR:
            raise self.fail("graph section", f"has schema {schema}, expected {FORMAT_MAJOR}")
        table = self.key(doc, "tensors", list, "graph section")
        self.tensors = [self.tensor(entry, f"tensors[{i}]") for i, entry in enumerate(table)]
        return self.graph(self.key(doc, "graph", dict, "graph section"), "graph", 0)

    def tensor(self, entry: Any, path: JsonPath) -> np.ndarray:
        self.expect(entry, dict, path)
        dtype_name = self.key(entry, "dtype", str, path)
        if dtype_name not in NUMPY_DTYPES:
            raise self.fail(path, f"has unknown dtype {dtype_name[:40]!r}")
        dtype = NUMPY_DTYPES[dtype_name]
        shape = self.key(entry, "shape", list, path)
        if len(shape) > MAX_RANK:
            raise self.fail(path, f"has rank {len(shape)}, more than {MAX_RANK}")
        count, bound = 1, dtype.itemsize
        for axis, dim in enumerate(shape):
            self.int64(dim, (path, f".shape[{axis}]"), low=0)
            count *= dim
            bound *= max(dim, 1)  # checked per step, so the product never grows past ~2**126
            if bound > _MAX_NBYTES:
                raise self.fail(path, f"has shape {shape[: axis + 1]}..., too large for any array")
        if dtype_name == "string":
            strings = self.key(entry, "strings", list, path)
            if len(strings) != count:
                raise self.fail(
                    path, f"has shape {shape} ({count} elements) but {len(strings)} strings"
                )
            self.items(strings, str, (path, ".strings"))
            array = np.empty(count, dtype=object)
            array[:] = strings
            array = array.reshape(shape)
            array.flags.writeable = False
            return array
        offset = self.int64(entry.get("offset"), (path, ".offset"), low=0)
        nbytes = self.int64(entry.get("nbytes"), (path, ".nbytes"), low=0)
        if nbytes != count * dtype.itemsize:
            raise self.fail(
                path,
                f"is {dtype_name}{shape}, {count * dtype.itemsize} bytes, but nbytes says {nbytes}",
            )
        if offset % ALIGNMENT:
            raise self.fail(path, f"offset {offset} is not {ALIGNMENT}-byte aligned")
        if offset + nbytes > self.data.size:
            raise self.fail(
                path, f"needs data bytes [{offset}, {offset + nbytes}) but the data section has "
                f"{self.data.size}"
            )  # fmt: skip
        raw = self.data[offset : offset + nbytes]
        if dtype_name == "bool" and nbytes and raw.max() > 1:
            raise self.fail(path, "is bool but holds bytes other than 0 and 1")
        array = raw.view(dtype).reshape(shape)
        array.flags.writeable = False
        return array

    def tensor_ref(self, value: Any, path: JsonPath) -> np.ndarray:
        index = self.expect(value, int, path)
        if not 0 <= index < len(self.tensors):
            raise self.fail(
                path, f"refers to tensor {index}, but the table has {len(self.tensors)}"
            )
        return self.tensors[index]

    # -- graph structure --
    def graph(self, obj: dict, path: JsonPath, depth: int) -> Graph:
        if depth > MAX_GRAPH_DEPTH:
            raise self.fail(path, f"nests subgraphs deeper than {MAX_GRAPH_DEPTH} levels")
        name = self.key(obj, "name", str, path)
        opsets = self.key(obj, "opsets", dict, path)
        for domain, version in opsets.items():
            self.int64(version, (path, f".opsets[{domain!r}]"), low=0)
        metadata = self.key(obj, "metadata", dict, path)
        for k, v in metadata.items():
            self.expect(v, str, (path, f".metadata[{k!r}]"))
        inputs = self.values(obj, "inputs", path)
        outputs = self.values(obj, "outputs", path)
        value_info: dict[str, Value] = {}
        for v in self.values(obj, "value_info", path):
            if v.name in value_info:
                raise self.fail((path, ".value_info"), f"lists {v.name!r} twice")
            value_info[v.name] = v
        initializers: dict[str, np.ndarray] = {}
        for i, item in enumerate(self.key(obj, "initializers", list, path)):
            where = (path, f".initializers[{i}]")
            self.expect(item, dict, where)
            init_name = self.key(item, "name", str, where)
            if init_name in initializers:
                raise self.fail((path, ".initializers"), f"lists {init_name!r} twice")
            initializers[init_name] = self.tensor_ref(item.get("tensor"), (where, ".tensor"))
        nodes_doc = self.key(obj, "nodes", list, path)
        self.nodes += len(nodes_doc)
        if self.nodes > self.max_nodes:
            raise self.fail(path, "has more nodes than a graph section of its size can hold")
        nodes = []
        for i, n in enumerate(nodes_doc):
            nodes.append(self.node(n, (path, f".nodes[{i}]"), depth))
            nodes_doc[i] = None  # drop the parsed dict now: peak memory holds one copy of a node
        return Graph(
            nodes=nodes, inputs=inputs, outputs=outputs, initializers=initializers, name=name,
            opsets=opsets, value_info=value_info, metadata=metadata,
        )  # fmt: skip

    def values(self, obj: dict, key: str, path: JsonPath) -> list[Value]:
        items = self.key(obj, key, list, path)
        return [self.value(v, (path, f".{key}[{i}]")) for i, v in enumerate(items)]

    def value(self, obj: Any, path: JsonPath) -> Value:
        self.expect(obj, dict, path)
        name = self.key(obj, "name", str, path)
        dtype = obj.get("dtype")
        if dtype is not None and (type(dtype) is not str or dtype not in NUMPY_DTYPES):
            raise self.fail(
                (path, ".dtype"), f"is not a known dtype name or null: {str(dtype)[:40]!r}"
            )
        shape = obj.get("shape")
        if shape is not None:
            self.expect(shape, list, (path, ".shape"))
            if len(shape) > MAX_RANK:
                raise self.fail((path, ".shape"), f"has rank {len(shape)}, more than {MAX_RANK}")
            for axis, dim in enumerate(shape):
                if dim is not None and type(dim) is not str:
                    self.int64(dim, (path, f".shape[{axis}]"), low=0)
            shape = tuple(shape)
        kind = self.key(obj, "kind", str, path)
        if kind not in VALUE_KINDS:
            raise self.fail((path, ".kind"), f"is {kind[:40]!r}, not one of {list(VALUE_KINDS)}")
        return Value(name, dtype, shape, kind)

    def node(self, obj: Any, path: JsonPath, depth: int) -> Node:
        self.expect(obj, dict, path)
        op_type = self.key(obj, "op_type", str, path)
        if not op_type:
            raise self.fail((path, ".op_type"), "is empty")
        names = {}
        for key in ("inputs", "outputs"):
            names[key] = self.items(self.key(obj, key, list, path), str, (path, f".{key}"))
        attrs = {
            k: self.attribute(v, (path, f".attrs[{k!r}]"), depth)
            for k, v in self.key(obj, "attrs", dict, path).items()
        }
        return Node(
            op_type=op_type, inputs=names["inputs"], outputs=names["outputs"],
            attrs=attrs, name=self.key(obj, "name", str, path),
            domain=self.key(obj, "domain", str, path),
        )  # fmt: skip

    def attribute(self, obj: Any, path: JsonPath, depth: int) -> Any:
        self.expect(obj, dict, path)
        if len(obj) != 1:
            raise self.fail(path, f"must have exactly one kind key, got {sorted(obj)[:5]}")
        ((kind, value),) = obj.items()
        if kind == "int":
            return self.int64(value, (path, ".int"))
        if kind == "float":
            return self.float(value, (path, ".float"))
        if kind == "string":
            return self.expect(value, str, (path, ".string"))
        if kind == "tensor":
            return self.tensor_ref(value, (path, ".tensor"))
        if kind == "graph":
            return self.graph(
                self.expect(value, dict, (path, ".graph")), (path, ".graph"), depth + 1
            )
        if kind not in ("ints", "floats", "strings", "tensors", "graphs"):
            raise self.fail(path, f"has unknown attribute kind {kind[:40]!r}")
        items = self.expect(value, list, (path, f".{kind}"))
        where = (path, f".{kind}")
        if kind == "ints":
            return self.items(items, int, where)
        if kind == "floats":
            for i, v in enumerate(items):  # in place: the parsed list becomes the attribute
                if type(v) is not float:
                    items[i] = self.float(v, (where, f"[{i}]"))
            return items
        if kind == "strings":
            return self.items(items, str, where)
        if kind == "tensors":
            return [self.tensor_ref(v, (where, f"[{i}]")) for i, v in enumerate(items)]
        return [
            self.graph(self.expect(v, dict, (where, f"[{i}]")), (where, f"[{i}]"), depth + 1)
            for i, v in enumerate(items)
        ]

    def float(self, value: Any, path: JsonPath) -> float:
        if type(value) is float:
            return value
        if type(value) is int and abs(value) <= _MAX_FLOAT_INT:
            return float(value)
        if type(value) is str and value in _NONFINITE:
            return _NONFINITE[value]
        raise self.fail(
            path, f"must be a number or one of {list(_NONFINITE)}, got {_json_type(value)}"
        )


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", int: "an integer",
             float: "a number", bool: "a boolean", type(None): "null"}  # fmt: skip
    return names.get(type(value), type(value).__name__)
