"""Quantisation parameters in .gsm: the graph's "quant" list, checked alike on write and read.

QUANT = {"name": str, "scale": TENSOR_INDEX, "zero_point": TENSOR_INDEX, "axis": INT64 | null,
         "block_size": int >= 0, "bits": 1..16}
An initializer whose QuantParams.bits is below its container's width is stored bit-packed (see
packing.py); the tensor entry then says {"bits": N} and its nbytes is ceil(count * N / 8).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np

from ..ir import Graph, QuantParams
from .packing import MAX_BITS, code_range, codes_problem, is_signed, storage_bits

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from .reader import _Reader
    from .schema import JsonPath


def quant_problem(qp: QuantParams, dtype: np.dtype | None, shape: tuple | None) -> str | None:
    """What is wrong with `qp` for a value of container `dtype` and `shape` (None: unknown), or
    None when it is valid: bits in 1..16 and within the container, finite positive scales, zero
    points in the bit range, parameter shapes that fit the value, the axis and the block size."""
    bits, axis, block = qp.bits, qp.axis, qp.block_size
    if type(bits) is not int or not 1 <= bits <= MAX_BITS:
        return f"has bits {bits!r}, not an integer in 1..{MAX_BITS}"
    width = None if dtype is None else storage_bits(dtype)
    if width is not None and bits > width:
        return f"has {bits}-bit codes, wider than its {dtype} container"
    if axis is not None and type(axis) is not int:
        return f"has axis {axis!r}, not an integer or null"
    if type(block) is not int or block < 0:
        return f"has block_size {block!r}, not an integer >= 0"
    if block and axis is None:
        return f"has block_size {block} but no axis"
    scale, zp = np.asarray(qp.scale), np.asarray(qp.zero_point)
    if scale.dtype.kind != "f" and scale.dtype.name != "bfloat16":
        return f"has a {scale.dtype} scale; scales are floating point"
    if scale.size == 0:
        return "has an empty scale"
    values = scale.astype(np.float64)
    if not np.all(np.isfinite(values)) or not np.all(values > 0):
        return "has a scale that is not finite and positive (NaN, infinite, zero or negative)"
    if zp.shape != scale.shape and not (zp.size == 1 and scale.size == 1):
        return f"has zero_point shape {list(zp.shape)} unlike its scale's {list(scale.shape)}"
    problem = _zero_point_problem(zp, bits, dtype)
    if problem:
        return problem
    return _shape_problem(scale, axis, block, shape) or None


def _zero_point_problem(zp: np.ndarray, bits: int, dtype: np.dtype | None) -> str | None:
    if zp.dtype.kind not in "iu" and storage_bits(zp.dtype) is None:
        if zp.size and np.any(zp.astype(np.float64) != 0):
            return f"has a non-zero {zp.dtype} zero point; only integer zero points may be non-zero"
        return None
    signed = is_signed(dtype) if dtype is not None and storage_bits(dtype) else is_signed(zp.dtype)
    low, high = code_range(bits, signed)
    if signed and bits == 1:
        low = high = 0  # signed 1-bit codes are a sign: -1 and +1 around 0
    values = zp.astype(np.int64)
    if values.size and (values.min() < low or values.max() > high):
        return f"has zero points in [{values.min()}, {values.max()}], outside [{low}, {high}]"
    return None


def _shape_problem(scale: np.ndarray, axis: int | None, block: int, shape: tuple | None) -> str:
    if axis is None:
        return "" if scale.size == 1 else f"is per tensor but has {scale.size} scales"
    if shape is None:
        return "" if block or scale.ndim == 1 else "is per channel but its scale is not 1-D"
    rank = len(shape)
    if not -rank <= axis < rank:
        return f"has axis {axis}, out of range for rank {rank}"
    dims = list(shape)
    if block:
        n = dims[axis % rank]
        if isinstance(n, int):
            dims[axis % rank] = -(-n // block)
        expected = [d if isinstance(d, int) else None for d in dims]
        got = list(scale.shape)
        if len(got) != rank or any(e is not None and e != g for e, g in zip(expected, got)):
            return f"has scale shape {got}; blocks of {block} on axis {axis} of {dims} need that"
        return ""
    n = dims[axis % rank]
    if scale.ndim != 1 or (isinstance(n, int) and scale.shape[0] != n):
        return f"has scale shape {list(scale.shape)}, not [{n}] (axis {axis} of {list(shape)})"
    return ""


def quant_docs(quant: dict[str, QuantParams], tensor: Any) -> list[dict]:
    """The "quant" list of a graph; `tensor(array)` stores an array and returns its index."""
    return [
        {
            "name": name,
            "scale": tensor(np.asarray(qp.scale)),
            "zero_point": tensor(np.asarray(qp.zero_point)),
            "axis": None if qp.axis is None else int(qp.axis),
            "block_size": int(qp.block_size),
            "bits": int(qp.bits),
        }  # fmt: skip
        for name, qp in quant.items()
    ]


def valid_quant(graph: Graph) -> dict[str, QuantParams]:
    """The entries of `graph.quant` (this graph only) that a reader accepts. The others are
    dropped with a warning: quant is an annotation, and a value a pass removed, renamed or
    reshaped without updating it must not make the model unsavable (its codes are then stored
    unpacked, in their container)."""
    if not graph.quant:
        return {}
    known = graph.produced_names() | set(graph.value_info) | graph.free_names()
    kept = {}
    for name, qp in graph.quant.items():
        if name not in known:
            problem: str | None = f"names no value of graph {graph.name!r}"
        elif name in graph.initializers:
            array = np.asarray(graph.initializers[name])
            problem = quant_problem(qp, array.dtype, array.shape)
            if problem is None and storage_bits(array.dtype) is not None:
                problem = codes_problem(array, qp.bits)
        else:
            value = graph.value_info.get(name)
            problem = quant_problem(qp, None, value.shape if value else None)
        if problem:
            log.warning("not saving quant entry %r: it %s", name, problem)
        else:
            kept[name] = qp
    return kept


def read_quant(
    reader: _Reader, obj: dict, path: JsonPath, graph: Graph, packed: dict[int, int]
) -> None:
    """Parses graph `obj`'s optional "quant" list (minor >= 2) into `graph.quant`, checking each
    entry against its value; `packed` maps id(array) -> bits of the tensors stored packed."""
    items = reader.expect(obj.get("quant", []), list, (path, ".quant"))
    if not items:
        return
    known = graph.produced_names() | set(graph.value_info) | graph.free_names()
    for i, item in enumerate(items):
        where = (path, f".quant[{i}]")
        reader.expect(item, dict, where)
        name = reader.key(item, "name", str, where)
        if name in graph.quant:
            raise reader.fail((path, ".quant"), f"lists {name[:80]!r} twice")
        if name not in known:
            raise reader.fail(where, f"names {name[:80]!r}, which is no value of the graph")
        axis = item.get("axis")
        qp = QuantParams(
            scale=reader.tensor_ref(item.get("scale"), (where, ".scale")),
            zero_point=reader.tensor_ref(item.get("zero_point"), (where, ".zero_point")),
            axis=None if axis is None else reader.int64(axis, (where, ".axis")),
            block_size=reader.int64(item.get("block_size"), (where, ".block_size"), low=0),
            bits=reader.int64(item.get("bits"), (where, ".bits"), low=1),
        )
        array = graph.initializers.get(name)
        value = graph.value_info.get(name)
        dtype = None if array is None else array.dtype
        shape = tuple(array.shape) if array is not None else (value.shape if value else None)
        problem = quant_problem(qp, dtype, shape)
        if problem is None and array is not None and storage_bits(array.dtype) is not None:
            stored = packed.get(id(array))
            if stored is not None and stored != qp.bits:
                problem = f"says {qp.bits}-bit codes but its tensor is packed at {stored} bits"
            elif stored is None and qp.bits < storage_bits(array.dtype):  # type: ignore[operator]
                problem = codes_problem(array, qp.bits)  # reads the tensor: rare, unpacked codes
        if problem:
            raise reader.fail(where, problem)
        graph.quant[name] = qp


def quant_of_dequantize(graph: Graph) -> dict[str, QuantParams]:
    """The QuantParams a graph's DequantizeLinear nodes state for constant integer codes (what an
    importer can recover from a QDQ file): codes -> scale, zero point (zeros when absent), axis
    (per channel) or blocks, bits = the container's width. Only valid, unambiguous entries."""
    found: dict[str, QuantParams] = {}
    conflicting: set[str] = set()
    inits = graph.initializers
    for node in graph.nodes:
        if node.op_type != "DequantizeLinear" or node.domain not in ("", "ai.onnx"):
            continue
        names = list(node.inputs) + ["", "", ""]
        codes, scale, zero = (inits.get(n) if n else None for n in names[:3])
        if codes is None or scale is None or (names[2] and zero is None):
            continue
        codes, scale = np.asarray(codes), np.asarray(scale)
        bits = storage_bits(codes.dtype)
        if bits is None or bits > MAX_BITS:
            continue
        zero = np.zeros(scale.shape, codes.dtype) if zero is None else np.asarray(zero)
        block = int(node.attrs.get("block_size", 0))
        axis = int(node.attrs.get("axis", 1)) if scale.size > 1 or block else None
        if axis is not None and codes.ndim:
            axis %= codes.ndim
        qp = QuantParams(scale, zero, axis=axis, block_size=block, bits=bits)
        if quant_problem(qp, codes.dtype, codes.shape) is not None:
            continue
        if names[0] in found and not _same(found[names[0]], qp):
            conflicting.add(names[0])
        found.setdefault(names[0], qp)
    return {k: v for k, v in found.items() if k not in conflicting}


def _same(a: QuantParams, b: QuantParams) -> bool:
    return (a.axis, a.block_size, a.bits) == (b.axis, b.block_size, b.bits) and (
        np.array_equal(a.scale, b.scale) and np.array_equal(a.zero_point, b.zero_point)
    )
