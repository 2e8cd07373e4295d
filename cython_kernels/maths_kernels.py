"""Sqrt, Log and Pow (scalar exponent) on float32: the unary C kernel (src/elementwise.h), each
value computed in double and rounded once, as the reference computes them.

Pow claims a float32 base with a one-element exponent (an initializer or a run-time value) whose
value is exactly a float32 (any float32 exponent, and integers up to 2^24); an exponent tensor
that broadcasts element by element is declined (at load when its shape is known, else per
call). x ** 0.5 is sqrt(x) (-0 -> -0, -inf -> NaN), as
numpy's power with a scalar exponent computes it in the reference.

Three tables (SqrtKernels, LogKernels, PowKernels), each importing its reference op when first
accessed (lazy_tables.tables_on_access).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..plugins import RuntimeDecline, output_array
from ..plugins.backend import Kernel
from ..refimpl.ir import Node, Value
from ._common import F32, UNARY_OPS, all_float32, known_shape, threads
from ._native import ext
from .elementwise_kernels import _as_prepared, _declare
from .lazy_tables import tables_on_access

Array = np.ndarray
SQRT, LOG, POW = UNARY_OPS["Sqrt"], UNARY_OPS["Log"], UNARY_OPS["Pow"]
_EXPONENT_DTYPES = frozenset({"float32", "float64", "int8", "int16", "int32", "int64"})


def _unary(x: Array, op: int, param: float = 0.0) -> Array:
    if x.dtype != F32:
        raise RuntimeDecline(f"input is {x.dtype} (float32 only)")
    y = output_array(x.shape, F32)
    ext().unary(op, np.ascontiguousarray(x).reshape(-1), y.reshape(-1), param, 0.0, threads())
    return y


def _prepare_sqrt(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
    from ..refimpl.ops.op_sqrt import sqrt_6  # imported by its table

    return _as_prepared(sqrt_6, lambda x: _unary(x, SQRT))


def _prepare_log(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
    from ..refimpl.ops.op_log import log_6  # imported by its table

    return _as_prepared(log_6, lambda x: _unary(x, LOG))


def exponent_value(e: Array) -> float:
    """The one-element exponent as the float32 value the kernel takes; RuntimeDecline when it is
    not one element or not exactly a float32."""
    e = np.asarray(e)
    if e.size != 1 or e.dtype.name not in _EXPONENT_DTYPES:
        raise RuntimeDecline(f"exponent of shape {e.shape} and dtype {e.dtype} (a scalar only)")
    value = e.reshape(()).item()
    exact = float(F32(value))
    if not (exact == value or (math.isnan(exact) and math.isnan(float(value)))):
        raise RuntimeDecline(f"exponent {value!r} is not exactly a float32")
    return exact


def _pow_refusal(node: Node, inputs: list[Value | None]) -> str | None:
    bad = all_float32(inputs[:1])
    if bad:
        return bad
    e = inputs[1]
    if e is not None and e.dtype is not None and e.dtype not in _EXPONENT_DTYPES:
        return f"exponent dtype {e.dtype}"
    shape = known_shape(e)
    if shape is not None and math.prod(shape) != 1:
        return "exponent not a scalar (an element-wise exponent is not supported)"
    return None  # a dynamic exponent shape is checked per call


def _prepare_pow(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
    from ..refimpl.ops.op_pow import pow_7  # imported by its table

    fixed = exponent_value(constants[1]) if 1 in constants else None

    def run(x: Array, y: Array) -> Array:
        e = fixed if fixed is not None else exponent_value(y)
        if np.ndim(y) > x.ndim:
            raise RuntimeDecline(f"exponent rank {np.ndim(y)} exceeds the base's {x.ndim}")
        if e == 0.5 and x.size <= 1:  # numpy's power is pow() here, sqrt() on longer arrays
            raise RuntimeDecline("x ** 0.5 of one element")
        return _unary(x, POW, e)

    return _as_prepared(pow_7, run)


# ---- the tables: one per op, built on first access -------------------------------------------


def _sqrt() -> dict[str, Kernel]:
    from ..refimpl.ops.op_sqrt import sqrt_6

    return {"sqrt": _declare(sqrt_6, None, _prepare_sqrt)}


def _log() -> dict[str, Kernel]:
    from ..refimpl.ops.op_log import log_6

    return {"log": _declare(log_6, None, _prepare_log)}


def _pow() -> dict[str, Kernel]:
    from ..refimpl.ops.op_pow import pow_7

    return {"pow_": _declare(pow_7, _pow_refusal, _prepare_pow)}


__getattr__ = tables_on_access(
    __name__, {"SqrtKernels": _sqrt, "LogKernels": _log, "PowKernels": _pow}
)
