"""Reading .gsm: every field checked, then the Graph built over zero-copy views of the data.

A path is mapped read-only with mmap (a file of at most READ_BELOW bytes is read into an
aligned buffer instead), a buffer viewed with np.frombuffer; initializers and tensor attributes are
read-only views into it. Anything but a valid file raises ModelFormatError.
"""

from __future__ import annotations

import os
from functools import partial
from typing import Any, BinaryIO

import numpy as np

from ..dtypes import NUMPY_DTYPES
from ..errors import GraphValidationError, ModelFormatError
from ..ir import Graph, Node, StateBinding, Value
from .header import ALIGNMENT, FORMAT_MAJOR, HEADER, sections
from .layouts import attach as attach_layout
from .packing import packed_nbytes, padding_is_zero, storage_bits, unpack_codes
from .prepacked import MAX_KEY_CHARS, attach
from .quant import read_quant
from .schema import (
    INT64,
    MAX_FLOAT_INT,
    MAX_GRAPH_DEPTH,
    MAX_NBYTES,
    MAX_RANK,
    MIN_NODE_BYTES,
    NONFINITE,
    VALUE_KINDS,
    JsonPath,
    json_type,
    parse_json,
)

PathLike = str | os.PathLike
_ABSENT = object()  # a key missing from a JSON object


def load_gsm(source: PathLike | bytes | bytearray | memoryview) -> Graph:
    """Reads a .gsm file (path) or buffer; initializers are read-only views of the mapped data.

    Raises ModelFormatError, naming the broken field, for anything but a valid file; OSError when
    the path cannot be opened.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        return _load(np.frombuffer(source, dtype=np.uint8), "<bytes>")
    path = os.fspath(source)
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size < HEADER.size:  # mmap refuses an empty file
            return _load(np.frombuffer(f.read(HEADER.size), dtype=np.uint8), repr(path))
        if size <= READ_BELOW:
            return _load(_read_aligned(f, size), repr(path))
        import mmap  # (what np.memmap does, without its Python subclass: ~0.1 ms less)

        mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    return _load(np.frombuffer(mapped, dtype=np.uint8), repr(path))


# files up to this size are read into memory instead of mapped: mapping costs a process ~0.3 ms
# (its first `import mmap` ~0.2 ms), reading 256 KiB about as much
READ_BELOW = 256 * 1024


def _read_aligned(f: BinaryIO, size: int) -> np.ndarray:
    """The file's `size` bytes in a read-only buffer that starts ALIGNMENT-aligned, as a mapping
    does (the tensors' offsets in the file are aligned, and the kernels rely on it)."""
    raw = np.empty(size + ALIGNMENT, dtype=np.uint8)
    start = -raw.ctypes.data % ALIGNMENT
    buf = raw[start : start + size]
    view, got = memoryview(buf), 0
    while got < size:  # short reads: a file shrinking meanwhile ends it early (then checked)
        n = f.readinto(view[got:])
        if not n:
            break
        got += n
    buf = buf[:got]
    buf.flags.writeable = False
    return buf


def _load(buf: np.ndarray, where: str) -> Graph:
    section, data = sections(buf, where)
    document = parse_json(where, section)
    reader = _Reader(where, section.nbytes, data)
    graph = reader.document(document)
    try:
        graph.validate()
    except GraphValidationError as err:
        raise ModelFormatError(f"{where} holds an invalid graph: {err}") from err
    for source, key, form in reader.prepacked:  # only once the whole file is known valid
        attach(source, key, form)
    for key, obj in reader.layouts:  # built (and checked) only when a session asks for one
        attach_layout(graph, key, None if obj is None else partial(reader.layout, obj, key))
    return graph


class _Reader:
    """Checks the JSON document against the schema and builds the Graph, tensors as views."""

    def __init__(self, where: str, doc_bytes: int, data: np.ndarray) -> None:
        self.where = where
        self.data = data
        self.max_nodes = doc_bytes // MIN_NODE_BYTES
        self.nodes = 0
        self.tensors: list[np.ndarray] = []
        self.packed: dict[int, int] = {}  # id(array) -> bits, for tensors stored bit-packed
        self.prepacked: list[tuple[np.ndarray, str, np.ndarray]] = []  # (weight, key, form)
        self.layouts: list[tuple[str, dict | None]] = []  # (key, GRAPH document or null)

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
            raise self.fail(path, f"must be {names[kind]}, got {json_type(value)}")
        return value

    def key(self, obj: dict, key: str, kind: type, path: JsonPath) -> Any:
        value = obj.get(key, _ABSENT)
        if type(value) is kind:  # (the usual case: no path built)
            return value
        if value is _ABSENT:
            raise self.fail(path, f"lacks the required key {key!r}")
        return self.expect(value, kind, (path, f".{key}"))

    def items(self, items: list, kind: type, path: JsonPath) -> list:
        """Checks every item's type (and ints' int64 range); builds a path only on failure."""
        for i, v in enumerate(items):
            if type(v) is not kind:
                self.expect(v, kind, (path, f"[{i}]"))
            elif kind is int:
                self.int64(v, (path, f"[{i}]"))
        return items

    def int64(self, value: Any, path: JsonPath, low: int = INT64[0]) -> int:
        if type(value) is int and low <= value <= INT64[1]:
            return value
        self.expect(value, int, path)
        if not low <= value <= INT64[1]:
            raise self.fail(path, f"is {value}, outside [{low}, {INT64[1]}]")
        return value

    # -- document and tensors --
    def document(self, doc: Any) -> Graph:
        self.expect(doc, dict, "graph section")
        schema = self.key(doc, "schema", int, "graph section")
        if schema != FORMAT_MAJOR:
            raise self.fail("graph section", f"has schema {schema}, expected {FORMAT_MAJOR}")
        table = self.key(doc, "tensors", list, "graph section")
        self.tensors = [self.tensor(entry, f"tensors[{i}]") for i, entry in enumerate(table)]
        graph = self.graph(self.key(doc, "graph", dict, "graph section"), "graph", 0)
        entries = self.expect(doc.get("prepacked", []), list, "prepacked")  # optional, minor 3
        seen: set[tuple[int, str]] = set()
        for i, entry in enumerate(entries):
            self.prepacked_entry(entry, f"prepacked[{i}]", seen)
        keys: set[str] = set()
        for i, entry in enumerate(self.expect(doc.get("layouts", []), list, "layouts")):
            self.layout_entry(entry, f"layouts[{i}]", keys)  # optional, minor 4
        return graph

    def layout_entry(self, entry: Any, path: str, keys: set[str]) -> None:
        """One stored layout: {"key": str, "graph": GRAPH | null}; the graph is checked when a
        session builds it (layout()), the rest here."""
        self.expect(entry, dict, path)
        key = self.key(entry, "key", str, path)
        if not 0 < len(key) <= MAX_KEY_CHARS:
            raise self.fail((path, ".key"), f"has {len(key)} characters, not 1..{MAX_KEY_CHARS}")
        if key in keys:
            raise self.fail((path, ".key"), f"repeats key {key[:60]!r}")
        keys.add(key)
        if "graph" not in entry:
            raise self.fail(path, "lacks the required key 'graph'")
        obj = entry["graph"]
        if obj is not None:
            self.expect(obj, dict, (path, ".graph"))
        self.layouts.append((key, obj))

    def layout(self, obj: dict, key: str) -> Graph:
        """The stored layout's graph, checked as the main graph is (ModelFormatError)."""
        path = f"layouts[{key[:60]!r}].graph"
        graph = self.graph(obj, path, 0)
        try:
            graph.validate()
        except GraphValidationError as err:
            raise ModelFormatError(f"{self.where} holds an invalid graph at {path}: {err}") from err
        return graph

    def prepacked_entry(self, entry: Any, path: str, seen: set[tuple[int, str]]) -> None:
        """One pre-packed form: {"source": TENSOR_INDEX, "key": str, "crc32": u32,
        "array": TENSOR_INDEX}, both tensors raw (not strings, not bit-packed)."""
        self.expect(entry, dict, path)
        arrays = {}
        for name in ("source", "array"):
            if name not in entry:
                raise self.fail(path, f"lacks the required key {name!r}")
            arrays[name] = array = self.tensor_ref(entry[name], (path, f".{name}"))
            if array.dtype == object:
                raise self.fail((path, f".{name}"), "is a string tensor; forms are numeric")
            if name == "array" and id(array) in self.packed:
                raise self.fail((path, ".array"), "is stored bit-packed; forms are raw tensors")
        key = self.key(entry, "key", str, path)
        if not 0 < len(key) <= MAX_KEY_CHARS:
            raise self.fail((path, ".key"), f"has {len(key)} characters, not 1..{MAX_KEY_CHARS}")
        crc = self.key(entry, "crc32", int, path)
        if not 0 <= crc < 2**32:
            raise self.fail((path, ".crc32"), f"is {crc}, not an unsigned 32-bit checksum")
        pair = (entry["source"], key)
        if pair in seen:
            raise self.fail((path, ".key"), f"repeats key {key[:60]!r} for tensor {pair[0]}")
        seen.add(pair)
        self.prepacked.append((arrays["source"], key, arrays["array"]))

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
            if type(dim) is not int or not 0 <= dim <= INT64[1]:  # (a path only to fail)
                self.int64(dim, (path, f".shape[{axis}]"), low=0)
            count *= dim
            bound *= max(dim, 1)  # checked per step, so the product never grows past ~2**126
            if bound > MAX_NBYTES:
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
        bits = entry.get("bits")  # optional (minor 2, FLAG_PACKED): bit-packed N-bit codes
        if bits is not None:
            width = storage_bits(dtype) and dtype.itemsize * 8  # the unpacked bits per code
            if self.int64(bits, (path, ".bits"), low=1) >= (width or 1):
                raise self.fail(
                    (path, ".bits"), f"is {bits}: packed codes must be narrower than an integer "
                    f"container, and {dtype_name} takes {width or 'no integer'} bits unpacked"
                )  # fmt: skip
        size = count * dtype.itemsize if bits is None else packed_nbytes(count, bits)
        if nbytes != size:
            packing = "" if bits is None else f" packed at {bits} bits"
            raise self.fail(
                path, f"is {dtype_name}{shape}{packing}, {size} bytes, but nbytes says {nbytes}"
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
        if bits is not None:  # unpacked into memory: a copy, not a view of the file
            if not padding_is_zero(raw, count, bits):
                raise self.fail(path, "has non-zero padding bits after its last packed code")
            array = unpack_codes(raw, tuple(shape), dtype, bits)
            self.packed[id(array)] = bits
            array.flags.writeable = False
            return array
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
        model_info = obj.get("model_info", {})  # optional: added in minor 1
        self.expect(model_info, dict, (path, ".model_info"))
        for k, v in model_info.items():
            self.expect(v, str, (path, f".model_info[{k!r}]"))
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
        state = [  # optional (header flag FLAG_STATE): values kept between runs, top level only
            self.state(item, (path, f".state[{i}]"))
            for i, item in enumerate(self.expect(obj.get("state", []), list, (path, ".state")))
        ]
        if state and depth:
            raise self.fail((path, ".state"), "is allowed on the top-level graph only")
        graph = Graph(
            nodes=nodes, inputs=inputs, outputs=outputs, initializers=initializers, name=name,
            opsets=opsets, value_info=value_info, metadata=metadata, model_info=model_info,
            state=state,
        )  # fmt: skip
        read_quant(self, obj, path, graph, self.packed)  # optional "quant" list (minor 2)
        return graph

    def state(self, obj: Any, path: JsonPath) -> StateBinding:
        self.expect(obj, dict, path)
        ends = {}
        for key in ("input", "output"):
            value = obj.get(key)
            ends[key] = None if value is None else self.expect(value, str, (path, f".{key}"))
        initial = obj.get("initial")
        return StateBinding(
            name=self.key(obj, "name", str, path), input=ends["input"], output=ends["output"],
            initial=None if initial is None else self.tensor_ref(initial, (path, ".initial")),
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
                if dim is not None and type(dim) is not str and (
                    type(dim) is not int or not 0 <= dim <= INT64[1]
                ):
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
        if type(value) is int and abs(value) <= MAX_FLOAT_INT:
            return float(value)
        if type(value) is str and value in NONFINITE:
            return NONFINITE[value]
        raise self.fail(
            path, f"must be a number or one of {list(NONFINITE)}, got {json_type(value)}"
        )
