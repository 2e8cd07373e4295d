"""Cast: between bool, the 8/16/32/64-bit integers, float32 and float64 in C (src/cast.h, numpy's
astype semantics: integers wrap, bool is x != 0; recorded for segments), and float32 <->
float16 and float32 -> int32/int64 through numpy's astype (a float out of an integer's range is
left to the hardware there, as in the reference).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..plugins import KernelBackend, RuntimeDecline, kernel, output_array
from ..refimpl.ir import Node, Value
from ..refimpl.op_geometry import cast_target_dtype as dtype_of_code
from ..refimpl.ops.op_cast import cast_6, cast_19, cast_24
from ._common import threads
from ._native import ext
from .segments import traceable

Array = np.ndarray
# numpy dtype -> src/cast.h type code
CODES = {
    np.dtype(name): code
    for code, name in enumerate(
        "bool int8 uint8 int16 uint16 int32 uint32 int64 uint64 float32 float64".split()
    )
}
_FLOATS = {np.dtype(np.float32), np.dtype(np.float64)}
# converted with numpy's astype (not recorded)
_ASTYPE = {
    (np.dtype(a), np.dtype(b))
    for a, b in (
        ("float32", "int64"),
        ("float32", "int32"),
        ("float32", "float16"),
        ("float16", "float32"),
    )  # fmt: skip
}


def in_c(source: np.dtype, target: np.dtype) -> bool:
    """True if src/cast.h converts source -> target (a float goes only to a float or bool)."""
    if source not in CODES or target not in CODES:
        return False
    return source not in _FLOATS or target in _FLOATS or target == np.bool_


def _refusal(node: Node, inputs: list[Value | None]) -> str | None:
    try:
        to = dtype_of_code(node.attrs.get("to"))  # type: ignore[arg-type]
    except Exception:
        return "unknown target type"
    if str(node.attrs.get("round_mode", "up")) not in ("up", "down", "nearest"):
        return "unknown round_mode"
    if inputs[0] is None or inputs[0].dtype is None:
        return "source dtype unknown before running"
    source = np.dtype(inputs[0].dtype)
    if not in_c(source, to) and (source, to) not in _ASTYPE:
        why = "floats go to floats and bool, float32 also to int32/int64, float16 to float32"
        return f"cast {source} -> {to.name} ({why})"
    return None


def _prepare(reference: Callable[..., Any]) -> Callable[..., Any]:
    def prepare(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
        to = dtype_of_code(node.attrs["to"])
        to_code = CODES.get(to, -1)

        def run(x: Array, **_: Any) -> Array:
            if in_c(x.dtype, to):
                y = output_array(x.shape, to)
                if ext().cast(np.ascontiguousarray(x), CODES[x.dtype], y, to_code, threads()):
                    raise RuntimeDecline(f"cast {x.dtype} -> {to}")
                return y
            if (x.dtype, to) not in _ASTYPE:
                raise RuntimeDecline(f"cast {x.dtype} -> {to}")
            return x.astype(to)  # numpy's conversion, as the reference (np.copyto costs 4 us)

        run.__wrapped__ = reference  # type: ignore[attr-defined]
        return traceable(run)  # an astype result is not written by a C call: segments refuse it

    return prepare


def _declare(reference: Callable[..., Any]) -> Any:
    def stub(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("this kernel runs only through its prepare() hook")

    stub.__wrapped__ = reference  # type: ignore[attr-defined]
    dtypes = frozenset(d.name for d in CODES) | {"float16"}
    return kernel(reference, dtypes=dtypes, supports=_refusal, prepare=_prepare(reference))(stub)


class CastKernels(KernelBackend):
    """Cast (mixed into CythonBackend)."""

    cast_6 = _declare(cast_6)
    cast_19 = _declare(cast_19)
    cast_24 = _declare(cast_24)
