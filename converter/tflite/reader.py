"""Reads a `.tflite` flatbuffer into plain dataclasses, validating everything a hostile file could
corrupt.

Parsing goes through the maintained `tflite` package (flatbuffers-generated accessors for
TensorFlow Lite's schema). The flatbuffers runtime does not validate: an accessor follows whatever
offset the file holds, and a vector's length is whatever 32-bit number sits before it. So every
access here is wrapped (`_guard`) to turn the runtime's IndexError/struct.error/ValueError into
ModelFormatError, every vector length is checked against the file size before it is iterated (no
hang on a 2^31-element "vector"), every index (buffer, tensor, opcode, subgraph) is checked
against its table, and every tensor's byte size is checked against its buffer and the memory
budget before anything is allocated.
"""

from __future__ import annotations

import functools
import importlib
import math
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from ...refimpl.errors import ModelFormatError, UnsupportedModelError
from ...refimpl.memory_budget import format_bytes, over_budget, parse_budget

FORMAT = "TFLite flatbuffer"
IDENTIFIER = b"TFL3"  # the file_identifier, at bytes 4..8 of every .tflite file
SCHEMA_VERSION = 3

# TensorType -> numpy dtype name (None: not a numeric tensor Gossamer can hold)
DTYPES: dict[int, str | None] = {
    0: "float32",
    1: "float16",
    2: "int32",
    3: "uint8",
    4: "int64",
    5: None,  # STRING
    6: "bool",
    7: "int16",
    8: "complex64",
    9: "int8",
    10: "float64",
    11: "complex128",
    12: "uint64",
    13: None,  # RESOURCE
    14: None,  # VARIANT
    15: "uint32",
    16: "uint16",
    17: None,  # INT4 (packed two per byte)
    18: "bfloat16",
}
TYPE_NAMES = {
    0: "FLOAT32", 1: "FLOAT16", 2: "INT32", 3: "UINT8", 4: "INT64", 5: "STRING", 6: "BOOL",
    7: "INT16", 8: "COMPLEX64", 9: "INT8", 10: "FLOAT64", 11: "COMPLEX128", 12: "UINT64",
    13: "RESOURCE", 14: "VARIANT", 15: "UINT32", 16: "UINT16", 17: "INT4", 18: "BFLOAT16",
}  # fmt: skip
CUSTOM = 32  # BuiltinOperator.CUSTOM
MAX_RANK = 32  # far above any real model; keeps a corrupt rank from sizing loops

T = TypeVar("T")


@dataclass
class Quantization:
    scales: np.ndarray  # float32, one per channel (or one)
    zero_points: np.ndarray  # int64
    quantized_dimension: int = 0


@dataclass
class Tensor:
    index: int
    name: str
    dtype: str  # a numpy name, or the TFLite type name for non-numeric ones (STRING, RESOURCE...)
    shape: tuple[int, ...]
    shape_signature: tuple[int, ...] | None  # -1 for a dynamic dim; None when the file has none
    data: np.ndarray | None  # a read-only view of the file's bytes (constants), else None
    quantization: Quantization | None = None
    sparse: bool = False  # stored sparse (SparsityParameters): `data` is the densified value
    is_variable: bool = False

    @property
    def is_constant(self) -> bool:
        return self.data is not None


@dataclass
class Operator:
    index: int
    opcode: str  # the builtin name (e.g. "CONV_2D"), or the custom code for CUSTOM ops
    custom: bool
    version: int
    inputs: list[int]  # tensor indices; -1 for an optional input left out
    outputs: list[int]
    options: dict[str, Any] = field(default_factory=dict)  # builtin options, by field name
    custom_options: bytes = b""


@dataclass
class Subgraph:
    index: int
    name: str
    tensors: list[Tensor]
    inputs: list[int]
    outputs: list[int]
    operators: list[Operator]


@dataclass
class SignatureDef:
    key: str
    subgraph: int
    inputs: list[tuple[str, int]]  # (signature name, tensor index), in signature order
    outputs: list[tuple[str, int]]


@dataclass
class TFLiteModel:
    version: int
    description: str
    subgraphs: list[Subgraph]
    signatures: list[SignatureDef]
    metadata: dict[str, bytes]

    def op_names(self) -> list[str]:
        """Every distinct op the model uses (builtin names and custom codes), sorted."""
        return sorted({op.opcode for sg in self.subgraphs for op in sg.operators})


def is_tflite(head: bytes) -> bool:
    """Whether these leading bytes carry the TFLite flatbuffer identifier."""
    return len(head) >= 8 and bytes(head[4:8]) == IDENTIFIER


def _tflite_module() -> Any:
    try:
        import tflite
    except ImportError as err:
        raise UnsupportedModelError(
            f"this is a {FORMAT} (.tflite) model; reading it needs the 'tflite' package: "
            "pip install 'gossamer[tflite]'"
        ) from err
    return tflite


def _fail(message: str) -> ModelFormatError:
    return ModelFormatError(f"{FORMAT} is corrupt: {message}")


def _guard(what: str, fn: Callable[[], T]) -> T:
    """Runs one flatbuffer access, turning the runtime's out-of-range failures into a typed
    error that says what was being read."""
    try:
        return fn()
    except ModelFormatError:
        raise
    except (IndexError, struct.error, ValueError, TypeError, OverflowError, AttributeError) as e:
        raise _fail(f"cannot read {what} ({type(e).__name__}: {e})") from None


class _Reader:
    def __init__(self, data: bytes, budget: int, source: str) -> None:
        self.data = data
        self.size = len(data)
        self.budget = budget
        self.source = source
        self.tfl = _tflite_module()

    # ---- primitives ------------------------------------------------------------------------
    def length(self, what: str, fn: Callable[[], int], min_elem: int = 1) -> int:
        """A vector length, checked against what the file could hold (each element takes at
        least min_elem bytes), so a corrupt length cannot drive a huge loop or allocation."""
        n = _guard(f"the length of {what}", fn)
        if not isinstance(n, int) or n < 0 or n * min_elem > self.size:
            raise _fail(f"{what} claims {n} entries, more than a {self.size}-byte file holds")
        return n

    def string(self, what: str, fn: Callable[[], Any]) -> str:
        raw = _guard(what, fn)
        if raw is None:
            return ""
        try:
            return bytes(raw).decode("utf-8")
        except UnicodeDecodeError:
            raise _fail(f"{what} is not valid UTF-8") from None

    def ints(self, what: str, length: Callable[[], int], item: Callable[[int], int]) -> list[int]:
        n = self.length(what, length, 4)
        return [int(_guard(what, functools.partial(item, j))) for j in range(n)]

    def index(self, what: str, i: int, count: int, allow_missing: bool = False) -> int:
        if allow_missing and i == -1:
            return i
        if not 0 <= i < count:
            raise _fail(f"{what} is {i}, outside 0..{count - 1}")
        return i

    # ---- the model -------------------------------------------------------------------------
    def model(self) -> TFLiteModel:
        if self.size < 8 or not is_tflite(self.data[:8]):
            raise ModelFormatError(
                f"{self.source} is not a {FORMAT}: it lacks the 'TFL3' identifier at bytes 4..8"
            )
        root = struct.unpack_from("<I", self.data, 0)[0]
        if not 8 <= root <= self.size - 4:
            raise _fail(f"the root table offset {root} lies outside the {self.size}-byte file")
        m = _guard("the model table", lambda: self.tfl.Model.GetRootAs(self.data, 0))
        version = int(_guard("the schema version", m.Version))
        if version != SCHEMA_VERSION:
            raise ModelFormatError(
                f"{FORMAT} schema version {version} is not supported (expected {SCHEMA_VERSION})"
            )
        description = self.string("the model description", m.Description)
        opcodes = self.opcodes(m)
        buffers = self.buffers(m)
        n_sub = self.length("the subgraphs", m.SubgraphsLength, 4)
        if n_sub == 0:
            raise _fail("the model has no subgraph")
        subgraphs = [self.subgraph(m, s, opcodes, buffers) for s in range(n_sub)]
        signatures = self.signatures(m, subgraphs)
        metadata = self.metadata(m, buffers)
        return TFLiteModel(version, description, subgraphs, signatures, metadata)

    def opcodes(self, m: Any) -> list[tuple[str, bool, int]]:
        names = self.tfl.utils.BUILTIN_OPCODE2NAME
        out = []
        for i in range(self.length("the operator codes", m.OperatorCodesLength, 4)):
            oc = _guard(f"operator code {i}", functools.partial(m.OperatorCodes, i))
            if oc is None:
                raise _fail(f"operator code {i} is missing")
            deprecated = int(_guard(f"operator code {i}", oc.DeprecatedBuiltinCode))
            code = int(_guard(f"operator code {i}", oc.BuiltinCode))
            # files written before the 127th op carry only the deprecated int8 field; newer ones
            # put 127 there and the code in builtin_code (TFLite's GetBuiltinCode takes the max)
            code = max(code, deprecated)
            version = int(_guard(f"operator code {i}", oc.Version))
            if code == CUSTOM:
                name = self.string(f"operator code {i}'s custom code", oc.CustomCode)
                if not name:
                    raise _fail(f"operator code {i} is CUSTOM but has no custom code")
                out.append((name, True, version))
            elif code in names:
                out.append((names[code], False, version))
            else:
                out.append((f"BUILTIN_{code}", False, version))  # newer than this schema
        return out

    def buffers(self, m: Any) -> list[tuple[memoryview | None, int, int]]:
        """(inline bytes or None, external offset, external size) per buffer."""
        out: list[tuple[memoryview | None, int, int]] = []
        for i in range(self.length("the buffers", m.BuffersLength, 4)):
            b = _guard(f"buffer {i}", functools.partial(m.Buffers, i))
            if b is None:
                raise _fail(f"buffer {i} is missing")
            n = self.length(f"buffer {i}'s data", b.DataLength, 1)
            inline = None
            if n:
                arr = _guard(f"buffer {i}'s data", b.DataAsNumpy)
                if not isinstance(arr, np.ndarray) or arr.size != n:
                    raise _fail(f"buffer {i}'s data runs past the end of the file")
                inline = arr.data
            offset = int(_guard(f"buffer {i}", b.Offset))
            size = int(_guard(f"buffer {i}", b.Size))
            if offset > 1 and (offset > self.size or size > self.size - offset):
                raise _fail(
                    f"buffer {i} points at bytes {offset}..{offset + size}, past the end of the "
                    f"{self.size}-byte file"
                )
            out.append((inline, offset, size))
        return out

    def buffer_bytes(self, buffers: list, i: int) -> memoryview | None:
        inline, offset, size = buffers[i]
        if inline is not None:
            return inline
        if offset > 1 and size:  # stored after the flatbuffer (models over 2 GB)
            return memoryview(self.data)[offset : offset + size]
        return None

    def subgraph(self, m: Any, s: int, opcodes: list, buffers: list) -> Subgraph:
        sg = _guard(f"subgraph {s}", functools.partial(m.Subgraphs, s))
        if sg is None:
            raise _fail(f"subgraph {s} is missing")
        name = self.string(f"subgraph {s}'s name", sg.Name)
        n_tensors = self.length(f"subgraph {s}'s tensors", sg.TensorsLength, 4)
        tensors = [self.tensor(sg, s, t, buffers) for t in range(n_tensors)]
        where = f"subgraph {s}"
        inputs = [
            self.index(f"{where}'s input", i, n_tensors)
            for i in self.ints(f"{where}'s inputs", sg.InputsLength, sg.Inputs)
        ]
        outputs = [
            self.index(f"{where}'s output", i, n_tensors)
            for i in self.ints(f"{where}'s outputs", sg.OutputsLength, sg.Outputs)
        ]
        ops = [
            self.operator(sg, s, k, opcodes, n_tensors)
            for k in range(self.length(f"{where}'s operators", sg.OperatorsLength, 4))
        ]
        return Subgraph(s, name, tensors, inputs, outputs, ops)

    def tensor(self, sg: Any, s: int, t: int, buffers: list) -> Tensor:
        where = f"tensor {t} of subgraph {s}"
        x = _guard(where, functools.partial(sg.Tensors, t))
        if x is None:
            raise _fail(f"{where} is missing")
        name = self.string(f"{where}'s name", x.Name)
        where = f"tensor {t} ({name!r}) of subgraph {s}"
        code = int(_guard(f"{where}'s type", x.Type))
        if code not in TYPE_NAMES:
            raise _fail(f"{where} has unknown type {code}")
        dtype = DTYPES[code] or TYPE_NAMES[code]
        shape = tuple(self.ints(f"{where}'s shape", x.ShapeLength, x.Shape))
        if len(shape) > MAX_RANK or any(d < 0 for d in shape):
            raise _fail(f"{where} has shape {list(shape)[:MAX_RANK]}")
        signature = None
        if not _guard(where, x.ShapeSignatureIsNone):
            signature = tuple(self.ints(f"{where}'s shape signature", x.ShapeSignatureLength,
                                        x.ShapeSignature))  # fmt: skip
            if len(signature) != len(shape) or any(
                d != e and d != -1 for d, e in zip(signature, shape)
            ):
                raise _fail(f"{where}'s shape signature {list(signature)} contradicts {shape}")
        buffer = int(_guard(f"{where}'s buffer", x.Buffer))
        self.index(f"{where}'s buffer index", buffer, max(len(buffers), 1))
        data = None
        raw = self.buffer_bytes(buffers, buffer) if buffers else None
        sparse = _guard(where, x.Sparsity) is not None
        if sparse and DTYPES[code] is not None:  # validated and densified (sparsity.py)
            from .sparsity import densify

            np_dtype = np.dtype(_np_dtype(dtype))
            data = densify(self, x, where, dtype, shape, raw, np_dtype, _guard, _fail)
        elif raw is not None:
            data = self.constant(where, dtype, shape, raw)
        elif DTYPES[code] is not None:
            nbytes = math.prod(shape) * np.dtype(_np_dtype(dtype)).itemsize
            if nbytes > self.budget:
                raise over_budget(f"{FORMAT} {self.source}", self.budget, name, nbytes)
        quant = self.quantization(x, where, shape)
        return Tensor(t, name, dtype, shape, signature, data, quant, sparse,
                      bool(_guard(where, x.IsVariable)))  # fmt: skip

    def constant(self, where: str, dtype: str, shape: tuple, raw: memoryview) -> np.ndarray:
        if dtype not in DTYPES.values():
            return np.frombuffer(raw, np.uint8)  # STRING etc.: the raw bytes
        np_dtype = np.dtype(_np_dtype(dtype))
        count = math.prod(shape)
        nbytes = count * np_dtype.itemsize
        if nbytes > self.budget:
            raise over_budget(f"{FORMAT} {self.source}", self.budget, where, nbytes)
        if len(raw) != nbytes:
            raise _fail(
                f"{where} ({dtype}{list(shape)}) needs {format_bytes(nbytes)} but its buffer "
                f"holds {len(raw)} bytes"
            )
        return np.frombuffer(raw, np_dtype, count).reshape(shape)

    def quantization(self, x: Any, where: str, shape: tuple) -> Quantization | None:
        q = _guard(f"{where}'s quantization", x.Quantization)
        if q is None:
            return None
        n_scale = self.length(f"{where}'s quantization scales", q.ScaleLength, 4)
        n_zero = self.length(f"{where}'s quantization zero points", q.ZeroPointLength, 8)
        if n_scale == 0 and n_zero == 0:
            return None  # min/max only, or custom: not a quantized tensor
        scales = _guard(f"{where}'s scales", q.ScaleAsNumpy) if n_scale else np.ones(0)
        zeros = _guard(f"{where}'s zero points", q.ZeroPointAsNumpy) if n_zero else np.zeros(0)
        if not isinstance(scales, np.ndarray) or not isinstance(zeros, np.ndarray):
            raise _fail(f"{where}'s quantization arrays run past the end of the file")
        dim = int(_guard(where, q.QuantizedDimension))
        if n_zero and n_zero != n_scale:
            raise _fail(f"{where} has {n_scale} quantization scales but {n_zero} zero points")
        if n_scale > 1:
            if not 0 <= dim < len(shape) or shape[dim] != n_scale:
                raise _fail(
                    f"{where} has {n_scale} per-channel scales along dimension {dim} of "
                    f"shape {list(shape)}"
                )
        if n_scale and (not np.all(np.isfinite(scales)) or np.any(scales <= 0)):
            raise _fail(f"{where} has a non-positive or non-finite quantization scale")
        if not n_zero:
            zeros = np.zeros(n_scale, np.int64)
        return Quantization(scales.astype(np.float32), zeros.astype(np.int64), dim)

    def operator(self, sg: Any, s: int, k: int, opcodes: list, n_tensors: int) -> Operator:
        where = f"operator {k} of subgraph {s}"
        op = _guard(where, functools.partial(sg.Operators, k))
        if op is None:
            raise _fail(f"{where} is missing")
        code = self.index(f"{where}'s opcode index", int(_guard(where, op.OpcodeIndex)),
                          len(opcodes))  # fmt: skip
        name, custom, version = opcodes[code]
        where = f"{where} ({name})"
        inputs = [
            self.index(f"{where}'s input", i, n_tensors, allow_missing=True)
            for i in self.ints(f"{where}'s inputs", op.InputsLength, op.Inputs)
        ]
        outputs = [
            self.index(f"{where}'s output", i, n_tensors, allow_missing=True)
            for i in self.ints(f"{where}'s outputs", op.OutputsLength, op.Outputs)
        ]
        options = self.options(op, where)
        custom_options = b""
        if custom:
            n = self.length(f"{where}'s custom options", op.CustomOptionsLength, 1)
            if n:
                arr = _guard(f"{where}'s custom options", op.CustomOptionsAsNumpy)
                if not isinstance(arr, np.ndarray) or arr.size != n:
                    raise _fail(f"{where}'s custom options run past the end of the file")
                custom_options = arr.tobytes()
        return Operator(k, name, custom, version, inputs, outputs, options, custom_options)

    def options(self, op: Any, where: str) -> dict[str, Any]:
        kind = int(_guard(f"{where}'s options type", op.BuiltinOptionsType))
        if kind == 0:
            return {}
        names = _enum_names(importlib.import_module("tflite.BuiltinOptions").BuiltinOptions)
        if kind not in names:
            raise _fail(f"{where} has unknown builtin options type {kind}")
        table = _guard(f"{where}'s options", op.BuiltinOptions)
        if table is None:
            return {}
        module = importlib.import_module(f"tflite.{names[kind]}")
        cls = getattr(module, names[kind], None)
        if cls is None:
            return {}
        obj = cls()
        obj.Init(table.Bytes, table.Pos)
        return self.fields(obj, f"{where}'s {names[kind]}")

    def fields(self, obj: Any, where: str) -> dict[str, Any]:
        """Every scalar and vector field of a flatbuffer table, by its schema name."""
        out: dict[str, Any] = {}
        methods = {n for n in dir(type(obj)) if n[:1].isupper() and n != "Init"}
        for n in sorted(methods):
            if n.startswith("GetRootAs") or n.endswith("BufferHasIdentifier"):
                continue
            if n.endswith(("AsNumpy", "Length", "IsNone")):
                continue
            if f"{n}AsNumpy" in methods:  # a vector of scalars
                self.length(f"{where}.{n}", getattr(obj, f"{n}Length"), 1)
                value = _guard(f"{where}.{n}", getattr(obj, f"{n}AsNumpy"))
                out[_snake(n)] = [] if not isinstance(value, np.ndarray) else value.tolist()
                continue
            fn = getattr(obj, n)
            if fn.__code__.co_argcount != 1:
                continue  # a vector of tables: none in the options the importer reads
            value = _guard(f"{where}.{n}", fn)
            if isinstance(value, (int, float, bool)):
                out[_snake(n)] = value
            elif isinstance(value, bytes):
                out[_snake(n)] = value.decode("utf-8", "replace")
        return out

    def signatures(self, m: Any, subgraphs: list[Subgraph]) -> list[SignatureDef]:
        out = []
        for i in range(self.length("the signature defs", m.SignatureDefsLength, 4)):
            sd = _guard(f"signature def {i}", functools.partial(m.SignatureDefs, i))
            if sd is None:
                raise _fail(f"signature def {i} is missing")
            key = self.string(f"signature def {i}'s key", sd.SignatureKey)
            s = self.index(f"signature {key!r}'s subgraph index",
                           int(_guard(f"signature def {i}", sd.SubgraphIndex)),
                           len(subgraphs))  # fmt: skip
            n_tensors = len(subgraphs[s].tensors)
            lists = []
            for side, length, get in (("input", sd.InputsLength, sd.Inputs),
                                      ("output", sd.OutputsLength, sd.Outputs)):  # fmt: skip
                items = []
                for j in range(self.length(f"signature {key!r}'s {side}s", length, 4)):
                    tm = _guard(f"signature {key!r}'s {side} {j}", functools.partial(get, j))
                    if tm is None:
                        raise _fail(f"signature {key!r}'s {side} {j} is missing")
                    name = self.string(f"signature {key!r}'s {side} {j}", tm.Name)
                    t = self.index(f"signature {key!r}'s {side} {name!r} tensor index",
                                   int(_guard(f"signature {key!r}", tm.TensorIndex)),
                                   n_tensors)  # fmt: skip
                    items.append((name, t))
                lists.append(items)
            out.append(SignatureDef(key, s, lists[0], lists[1]))
        return out

    def metadata(self, m: Any, buffers: list) -> dict[str, bytes]:
        out: dict[str, bytes] = {}
        for i in range(self.length("the metadata", m.MetadataLength, 4)):
            md = _guard(f"metadata {i}", functools.partial(m.Metadata, i))
            if md is None:
                raise _fail(f"metadata {i} is missing")
            name = self.string(f"metadata {i}'s name", md.Name)
            b = self.index(f"metadata {name!r}'s buffer index",
                           int(_guard(f"metadata {i}", md.Buffer)), len(buffers))  # fmt: skip
            raw = self.buffer_bytes(buffers, b)
            out[name] = bytes(raw) if raw is not None else b""
        return out


@functools.cache
def _enum_names(enum: type) -> dict[int, str]:
    return {v: k for k, v in vars(enum).items() if not k.startswith("_") and isinstance(v, int)}


def _snake(name: str) -> str:
    out = []
    for i, c in enumerate(name):
        if c.isupper() and i and (not name[i - 1].isupper() or name[i + 1 : i + 2].islower()):
            out.append("_")
        out.append(c.lower())
    return "".join(out)


def _np_dtype(name: str) -> Any:
    if name == "bfloat16":
        import ml_dtypes

        return ml_dtypes.bfloat16
    return name


def read_tflite(source: str | Path | bytes, *, max_memory: int | str | None = None) -> TFLiteModel:
    """Parses a .tflite file (path or bytes) into a TFLiteModel; a corrupt or hostile file raises
    ModelFormatError naming what is wrong, an oversized tensor MemoryBudgetError."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data, name = bytes(source), "model bytes"
    else:
        path = Path(source)
        data, name = path.read_bytes(), repr(str(path))
    return _Reader(data, parse_budget(max_memory), name).model()
