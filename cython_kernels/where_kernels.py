"""Where and IsNaN (src/where.h), recorded for segments: the masks of attention blocks
(Where(IsNaN(p), 0, p), Where(mask, scores, -inf)).

Where runs for every fixed-size dtype when each of its three inputs is either the output's full
shape or a single element; any other broadcast is declined per call (the reference runs it).
Two tables (WhereKernels, IsNanKernels), each importing its reference op when first accessed
(lazy_tables.tables_on_access).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..plugins import RuntimeDecline, output_array
from ..plugins.backend import Kernel
from ..refimpl.ir import Node, Value
from ._common import F32, all_float32, known_shape, threads
from ._native import ext
from .layout_kernels import _as_prepared, _declare, _raw
from .lazy_tables import tables_on_access

Array = np.ndarray


def _where_refusal(node: Node, inputs: list[Value | None]) -> str | None:
    shapes = [known_shape(v) for v in inputs]
    if any(s is None for s in shapes):
        return None  # checked per call
    try:
        out = tuple(np.broadcast_shapes(*shapes))  # type: ignore[arg-type]
    except ValueError:
        return None  # the reference names the error
    for i, s in enumerate(shapes):
        if s != out and math.prod(s) != 1:  # type: ignore[arg-type]
            return f"input {i} of shape {list(s)} broadcasts partly onto {list(out)}"  # type: ignore[arg-type]
    return None


def _prepare_where(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
    from ..refimpl.ops.op_where import where_9  # imported by its table

    shapes: dict[Any, tuple[int, ...]] = {}

    def run(condition: Array, x: Array, y: Array) -> Array:
        key = (condition.shape, x.shape, y.shape)
        out = shapes.get(key)
        if out is None:
            try:
                out = tuple(np.broadcast_shapes(*key))
            except ValueError:
                raise RuntimeDecline(f"shapes {list(key)} do not broadcast") from None
            if any(s != out and math.prod(s) != 1 for s in key):
                raise RuntimeDecline(f"shapes {list(key)} broadcast partly")
            if len(shapes) >= 64:
                shapes.clear()
            shapes[key] = out
        if x.dtype != y.dtype or condition.dtype != np.bool_:
            raise RuntimeDecline(f"x {x.dtype}, y {y.dtype}, condition {condition.dtype}")
        z = output_array(out, x.dtype)
        c, a, b = (np.ascontiguousarray(v) for v in (condition, x, y))
        ext().where(c.view(np.uint8), _raw(a), _raw(b), _raw(z), threads())
        return z

    return _as_prepared(where_9, run)


def _prepare_isnan(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
    from ..refimpl.ops.op_is_nan import is_nan_9  # imported by its table

    def run(x: Array) -> Array:
        if x.dtype != F32:
            raise RuntimeDecline(f"input is {x.dtype} (float32 only)")
        y = output_array(x.shape, np.dtype(np.bool_))
        ext().isnan_f32(np.ascontiguousarray(x).reshape(-1), y.reshape(-1).view(np.uint8))
        return y

    return _as_prepared(is_nan_9, run)


def _where() -> dict[str, Kernel]:
    from ..refimpl.ops.op_where import where_9

    return {"where": _declare(where_9, _prepare_where, _where_refusal, frozenset({"bool"}))}


def _is_nan() -> dict[str, Kernel]:
    from ..refimpl.ops.op_is_nan import is_nan_9

    return {"is_nan": _declare(is_nan_9, _prepare_isnan, _isnan_refusal, frozenset({"float32"}))}


def _isnan_refusal(node: Node, inputs: list[Value | None]) -> str | None:
    return all_float32(inputs)


__getattr__ = tables_on_access(__name__, {"WhereKernels": _where, "IsNanKernels": _is_nan})
