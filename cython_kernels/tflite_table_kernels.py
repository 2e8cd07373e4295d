"""tflite::Logistic, Tanh and Requantize (8-bit input) as a 256-entry table lookup; tflite::Add,
Sub and Mul (8-bit operands) as a 65536-entry table indexed by the pair of bytes.

Each is element-wise in its 8-bit operand(s) with constant parameters, so the table is the
reference op itself applied once to every input value (or pair, broadcast like numpy) when the
node first runs: exact by construction, whatever the op's fixed-point arithmetic. A run is one
gather. Declined: parameters that are not constants (the table would change per call), operands
wider than 8 bits or of two different types.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..plugins import KernelBackend, RuntimeDecline, kernel, output_array
from ..refimpl.errors import OpArgumentError
from ..refimpl.ir import Node
from ..refimpl.ops.op_tfl_add import tfl_add_1
from ..refimpl.ops.op_tfl_logistic import tfl_logistic_1
from ..refimpl.ops.op_tfl_mul import tfl_mul_1
from ..refimpl.ops.op_tfl_requantize import tfl_requantize_1
from ..refimpl.ops.op_tfl_sub import tfl_sub_1
from ..refimpl.ops.op_tfl_tanh import tfl_tanh_1
from ._native import ext
from ._qcommon import EIGHT_BIT
from .segments import traceable

Array = np.ndarray
_BYTES = np.arange(256, dtype=np.uint8)


class _Table:
    """The lookup through a table built by `reference` on every 8-bit input value (once per
    input dtype; the parameters must be constants)."""

    def __init__(self, reference: Callable[..., Array], node: Node, constants: dict[int, Array]):
        self.reference = reference
        self.fixed = all(i in constants for i in range(1, len(node.inputs)))
        self.tables: dict[np.dtype, Array] = {}

    def __call__(self, x: Array, params: tuple[Array, ...], attrs: dict[str, Any]) -> Array:
        if not self.fixed:
            raise RuntimeDecline("parameters that are not constants")
        if x.dtype.itemsize != 1:
            raise RuntimeDecline(f"a {x.dtype} input (8-bit only)")
        table = self.tables.get(x.dtype)
        if table is None:
            try:
                table = np.asarray(self.reference(_BYTES.view(x.dtype), *params, **attrs))
            except OpArgumentError as err:
                raise RuntimeDecline(str(err)) from None
            if table.shape != (256,):
                raise RuntimeDecline(f"the op gave {list(table.shape)} values for 256")
            self.tables[x.dtype] = table
        y = output_array(x.shape, table.dtype)
        if table.dtype.itemsize <= 2 and y.flags.c_contiguous:  # the C lookup (segments replay it)
            ext().lut8(np.asarray(x).view(np.uint8).reshape(-1), None, table, y)
        else:
            np.take(table, np.asarray(x).view(np.uint8), out=y, mode="clip")  # 0..255
        return y


class _PairTable:
    """The lookup through a table built by `reference` on every pair of 8-bit values: entry
    (a_byte << 8) | b_byte (parameters constants, a and b of one 8-bit type)."""

    def __init__(self, reference: Callable[..., Array], node: Node, constants: dict[int, Array]):
        self.reference = reference
        self.fixed = all(i in constants for i in (1, 2, 4, 5, 6, 7))
        self.tables: dict[np.dtype, Array] = {}

    def __call__(self, a: Array, b: Array, params: tuple[Array, ...], activation: str) -> Array:
        if not self.fixed:
            raise RuntimeDecline("parameters that are not constants")
        if a.dtype.itemsize != 1 or b.dtype != a.dtype:
            raise RuntimeDecline(f"operands {a.dtype} and {b.dtype} (one 8-bit type)")
        table = self.tables.get(a.dtype)
        if table is None:
            firsts, seconds = np.repeat(_BYTES, 256), np.tile(_BYTES, 256)
            sa, za, sb, zb, sy, zy = params
            try:
                table = np.asarray(self.reference(
                    firsts.view(a.dtype), sa, za, seconds.view(a.dtype), sb, zb, sy, zy,
                    activation=activation))  # fmt: skip
            except OpArgumentError as err:
                raise RuntimeDecline(str(err)) from None
            if table.shape != (65536,):
                raise RuntimeDecline(f"the op gave {list(table.shape)} values for 65536")
            self.tables[a.dtype] = table
        if a.shape == b.shape and table.dtype.itemsize <= 2:  # the C lookup (segments replay it)
            y = output_array(a.shape, table.dtype)
            if y.flags.c_contiguous:
                ext().lut8(np.asarray(a).view(np.uint8).reshape(-1),
                           np.asarray(b).view(np.uint8).reshape(-1), table, y)  # fmt: skip
                return y
        index = (np.asarray(a).view(np.uint8).astype(np.uint16) << 8) | np.asarray(b).view(np.uint8)
        y = output_array(index.shape, table.dtype)
        np.take(table, index, out=y, mode="clip")  # 0..65535
        return y


def _prepare_pair(reference: Callable[..., Array]) -> Callable[..., Any]:
    def prepare(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
        table = _PairTable(reference, node, constants)

        def binary(
            a: Array, a_scale: Array, a_zero_point: Array, b: Array, b_scale: Array,
            b_zero_point: Array, y_scale: Array, y_zero_point: Array, *, activation: str = "NONE",
        ) -> Array:  # fmt: skip
            params = (a_scale, a_zero_point, b_scale, b_zero_point, y_scale, y_zero_point)
            return table(a, b, params, activation)

        return traceable(binary)  # a lookup np.take does is not written by C: segments refuse it

    return prepare


def _prepare_unary(reference: Callable[..., Any]) -> Callable[..., Any]:
    """The prepare hook of a one-input table op (Logistic, Tanh: no attributes)."""

    def prepare(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
        table = _Table(reference, node, constants)

        def unary(
            x: Array, x_scale: Array, x_zero_point: Array, y_scale: Array, y_zero_point: Array
        ) -> Array:
            return table(x, (x_scale, x_zero_point, y_scale, y_zero_point), {})

        return traceable(unary)

    return prepare


def _prepare_requantize(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
    table = _Table(tfl_requantize_1, node, constants)

    def requantize(
        x: Array, x_scale: Array, x_zero_point: Array, y_scale: Array, y_zero_point: Array, *,
        to: str = "int8",
    ) -> Array:  # fmt: skip
        return table(x, (x_scale, x_zero_point, y_scale, y_zero_point), {"to": to})

    return traceable(requantize)


def _unprepared(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("this kernel runs only through its prepare() hook")


class TFLiteTableKernels(KernelBackend):
    """The table-lookup tflite::* kernels (mixed into CythonBackend)."""

    @kernel(tfl_logistic_1, dtypes=set(EIGHT_BIT), prepare=_prepare_unary(tfl_logistic_1))
    def tfl_logistic(
        x: Array, x_scale: Array, x_zero_point: Array, y_scale: Array, y_zero_point: Array
    ) -> Array:
        return _unprepared()

    @kernel(tfl_tanh_1, dtypes=set(EIGHT_BIT), prepare=_prepare_unary(tfl_tanh_1))
    def tfl_tanh(
        x: Array, x_scale: Array, x_zero_point: Array, y_scale: Array, y_zero_point: Array
    ) -> Array:
        return _unprepared()

    @kernel(tfl_requantize_1, dtypes=set(EIGHT_BIT), prepare=_prepare_requantize)
    def tfl_requantize(
        x: Array, x_scale: Array, x_zero_point: Array, y_scale: Array, y_zero_point: Array, *,
        to: str = "int8",
    ) -> Array:  # fmt: skip
        return _unprepared()

    @kernel(tfl_add_1, dtypes=set(EIGHT_BIT), prepare=_prepare_pair(tfl_add_1))
    def tfl_add(
        a: Array, a_scale: Array, a_zero_point: Array, b: Array, b_scale: Array,
        b_zero_point: Array, y_scale: Array, y_zero_point: Array, *, activation: str = "NONE",
    ) -> Array:  # fmt: skip
        return _unprepared()

    @kernel(tfl_sub_1, dtypes=set(EIGHT_BIT), prepare=_prepare_pair(tfl_sub_1))
    def tfl_sub(
        a: Array, a_scale: Array, a_zero_point: Array, b: Array, b_scale: Array,
        b_zero_point: Array, y_scale: Array, y_zero_point: Array, *, activation: str = "NONE",
    ) -> Array:  # fmt: skip
        return _unprepared()

    @kernel(tfl_mul_1, dtypes=set(EIGHT_BIT), prepare=_prepare_pair(tfl_mul_1))
    def tfl_mul(
        a: Array, a_scale: Array, a_zero_point: Array, b: Array, b_scale: Array,
        b_zero_point: Array, y_scale: Array, y_zero_point: Array, *, activation: str = "NONE",
    ) -> Array:  # fmt: skip
        return _unprepared()
