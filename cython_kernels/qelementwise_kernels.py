"""com.microsoft QLinearAdd, QLinearMul and QLinearGlobalAveragePool, DynamicQuantizeLinear and
per-tensor QuantizeLinear / DequantizeLinear (8-bit) on the exact int8 kernels
(src/qelementwise.h). The float32 parameters are computed here with the reference's own numpy
expressions, so the C kernels only repeat its per-element float32 steps (no FMA contraction).

Same-shape operands or a one-value operand run here; other broadcasts decline at run time (the
reference runs them), as do parameters the reference rejects (it raises its own error).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..plugins import KernelBackend, RuntimeDecline, kernel, output_array
from ..refimpl.ops import op_dequantize_linear as dqlin
from ..refimpl.ops import op_quantize_linear as qlin
from ..refimpl.ops.op_dynamic_quantize_linear import dynamic_quantize_linear_11
from ..refimpl.ops.op_qlinear_add import qlinear_add_1
from ..refimpl.ops.op_qlinear_global_average_pool import qlinear_global_average_pool_1
from ..refimpl.ops.op_qlinear_mul import qlinear_mul_1
from ._common import threads
from ._native import ext
from ._qcommon import EIGHT_BIT, F32, as_bytes, qtype
from .elementwise_kernels import _as_prepared, _declare
from .segments import traceable

Array = np.ndarray


def scalar(param: Array | None, name: str, default: float = 0) -> Array:
    """A per-tensor parameter as a 0-d array (absent: default); else a run-time decline."""
    if param is None:
        return np.asarray(default)
    if param.size != 1:
        raise RuntimeDecline(f"{name} is not per tensor")
    return param.reshape(())


def zero_point_of(zp: Array | None, x: Array, name: str) -> int:
    """An optional per-tensor zero point of x's type (absent: 0); else a run-time decline."""
    if zp is not None and zp.dtype != x.dtype:
        raise RuntimeDecline(f"{name} is {zp.dtype}, x is {x.dtype}")
    return int(scalar(zp, name))


def plane_size(x: Array) -> int:
    """The pixels per plane of an NCHW(-like) x (the product of the axes after the second), for
    the element-wise kernels' pixel split (src/qelementwise.h); 0 (flat runs) below 3 axes."""
    return math.prod(x.shape[2:]) if x.ndim >= 3 else 0


def _add_params(a, a_scale, a_zp, b, b_scale, b_zp, c_scale, c_zp):  # type: ignore[no-untyped-def]
    """(ra, rb, fixed, 0, 0) exactly as op_qlinear_add computes them."""
    za = zero_point_of(a_zp, a, "A_zero_point")
    zb = zero_point_of(b_zp, b, "B_zero_point")
    zc = zero_point_of(c_zp, a, "C_zero_point")
    sc = F32(scalar(c_scale, "C_scale"))
    ra, rb = F32(scalar(a_scale, "A_scale")) / sc, F32(scalar(b_scale, "B_scale")) / sc
    fixed = F32(zc) - (ra * F32(za) + rb * F32(zb))
    return float(ra), float(rb), float(fixed), 0, 0


def _mul_params(a, a_scale, a_zp, b, b_scale, b_zp, c_scale, c_zp):  # type: ignore[no-untyped-def]
    """(ratio, 0, c_zp, a_zp, b_zp) exactly as op_qlinear_mul computes them."""
    za = zero_point_of(a_zp, a, "A_zero_point")
    zb = zero_point_of(b_zp, b, "B_zero_point")
    zc = zero_point_of(c_zp, a, "C_zero_point")
    ratio = F32(scalar(a_scale, "A_scale")) * F32(scalar(b_scale, "B_scale"))
    ratio = ratio / F32(scalar(c_scale, "C_scale"))
    return float(ratio), 0.0, float(F32(zc)), za, zb


def _binary(op: int, params: Callable[..., Any], commutes: bool) -> Callable[..., Array]:
    def run(
        a: Array, a_scale: Array, a_zero_point: Array | None, b: Array, b_scale: Array,
        b_zero_point: Array | None, c_scale: Array, c_zero_point: Array | None = None,
    ) -> Array:  # fmt: skip
        if a.dtype != b.dtype:
            raise RuntimeDecline(f"A is {a.dtype}, B is {b.dtype}")
        args = [a, a_scale, a_zero_point, b, b_scale, b_zero_point]
        if a.shape != b.shape and b.size != 1:
            if not (commutes and a.size == 1):
                raise RuntimeDecline(f"broadcast of {list(a.shape)} with {list(b.shape)}")
            args = args[3:] + args[:3]  # the one-value operand second: the product is symmetric
        ra, rb, fixed, za, zb = params(*args, c_scale, c_zero_point)
        x, other = args[0], args[3]
        y = output_array(np.broadcast_shapes(a.shape, b.shape), a.dtype)
        ext().qbinary(op, as_bytes(x).reshape(-1), as_bytes(other).reshape(-1), qtype(x, "A"),
                      ra, rb, fixed, za, zb, y.reshape(-1).view(np.uint8), threads(),
                      plane_size(x))  # fmt: skip
        return y

    return run


_qlinear_add = _binary(0, _add_params, commutes=False)
_qlinear_mul = _binary(1, _mul_params, commutes=True)


class QElementwiseKernels(KernelBackend):
    """The int8 element-wise and pooling kernels (mixed into CythonBackend)."""

    @kernel(qlinear_add_1, dtypes=set(EIGHT_BIT))
    @traceable
    def qlinear_add(
        a: Array, a_scale: Array, a_zero_point: Array | None, b: Array, b_scale: Array,
        b_zero_point: Array | None, c_scale: Array, c_zero_point: Array | None = None,
    ) -> Array:  # fmt: skip
        return _qlinear_add(a, a_scale, a_zero_point, b, b_scale, b_zero_point, c_scale,
                            c_zero_point)  # fmt: skip

    @kernel(qlinear_mul_1, dtypes=set(EIGHT_BIT))
    @traceable
    def qlinear_mul(
        a: Array, a_scale: Array, a_zero_point: Array | None, b: Array, b_scale: Array,
        b_zero_point: Array | None, c_scale: Array, c_zero_point: Array | None = None,
    ) -> Array:  # fmt: skip
        return _qlinear_mul(a, a_scale, a_zero_point, b, b_scale, b_zero_point, c_scale,
                            c_zero_point)  # fmt: skip

    @kernel(qlinear_global_average_pool_1, dtypes=set(EIGHT_BIT))
    @traceable
    def qlinear_global_average_pool(
        x: Array, x_scale: Array, x_zero_point: Array | None, y_scale: Array,
        y_zero_point: Array | None = None, *, channels_last: int = 0,
    ) -> Array:  # fmt: skip
        if channels_last or x.ndim < 3 or math.prod(x.shape[2:]) == 0:
            raise RuntimeDecline("channels_last, fewer than 3 axes or an empty window")
        zx = zero_point_of(x_zero_point, x, "x_zero_point")
        zy = zero_point_of(y_zero_point, x, "y_zero_point")
        count = math.prod(x.shape[2:])
        sx, sy = scalar(x_scale, "x_scale"), scalar(y_scale, "y_scale")
        m = F32(sx) / (F32(sy) * np.asarray(count).astype(F32))  # as requantize_sum
        y = output_array((*x.shape[:2],) + (1,) * (x.ndim - 2), x.dtype)
        rows = x.shape[0] * x.shape[1]
        ext().qrow_mean(as_bytes(x).reshape(rows, count), qtype(x, "x"), zx, float(m),
                        float(zy), y.reshape(-1).view(np.uint8), threads())  # fmt: skip
        return y

    @kernel(dynamic_quantize_linear_11, dtypes={"float32"})
    @traceable
    def dynamic_quantize_linear(x: Array) -> tuple[Array, Array, Array]:
        return dynamic_quantize(x, output_array(x.shape, np.uint8))


def dynamic_quantize(x: Array, y: Array) -> tuple[Array, Array, Array]:
    """DynamicQuantizeLinear of float32 x into y (uint8, x's size): (y, scale, zero point), one
    C call (src/qdynamic.h) that computes the scale and zero point as the reference does and
    writes them through pointers (so a segment replays it)."""
    if x.size == 0:
        raise RuntimeDecline("an empty input")
    scale, zero_point = output_array((), F32, 1), output_array((), np.uint8, 2)
    flat = np.ascontiguousarray(x, F32).reshape(-1)
    ext().qdyn_quantize(flat, y.reshape(-1), scale.reshape(1), zero_point.reshape(1), threads())
    return y, scale, zero_point


def _quantize(x: Array, y_scale: Array, y_zero_point: Array | None = None, **attrs: Any) -> Array:
    """QuantizeLinear, per tensor, float32 -> uint8/int8 (other forms decline)."""
    if x.dtype != F32 or y_scale.dtype != F32 or y_scale.size != 1:
        raise RuntimeDecline("per-tensor float32 quantisation only")
    if attrs.get("block_size") or attrs.get("precision"):
        raise RuntimeDecline("block_size / precision")
    if y_zero_point is None and attrs.get("output_dtype"):
        raise RuntimeDecline("output_dtype without a zero point")
    if y_zero_point is not None and (
        y_zero_point.size != 1 or y_zero_point.dtype.name not in EIGHT_BIT
    ):
        raise RuntimeDecline("a zero point other than one uint8/int8 value")
    dtype = np.dtype(np.uint8) if y_zero_point is None else y_zero_point.dtype
    zp = 0.0 if y_zero_point is None else float(y_zero_point.reshape(-1)[0])
    y = output_array(x.shape, dtype)
    ext().qquantize(np.ascontiguousarray(x).reshape(-1), float(y_scale.reshape(-1)[0]), zp,
                    qtype(y, "y"), y.reshape(-1).view(np.uint8), threads(),
                    plane_size(x))  # fmt: skip
    return y


def _dequantize(x: Array, x_scale: Array, x_zero_point: Array | None = None, **attrs: Any) -> Array:
    """DequantizeLinear, per tensor, uint8/int8 -> float32 (other forms decline)."""
    if x_scale.dtype != F32 or x_scale.size != 1 or attrs.get("block_size"):
        raise RuntimeDecline("per-tensor float32 scale only")
    if attrs.get("output_dtype") not in (None, 0, 1):
        raise RuntimeDecline("an output_dtype other than float32")
    if x_zero_point is not None and (x_zero_point.size != 1 or x_zero_point.dtype != x.dtype):
        raise RuntimeDecline("a zero point other than one value of x's type")
    zp = 0 if x_zero_point is None else int(x_zero_point.reshape(-1)[0])
    y = output_array(x.shape, F32)
    ext().qdequantize(as_bytes(x).reshape(-1), qtype(x, "x"), zp, float(x_scale.reshape(-1)[0]),
                      y.reshape(-1), threads(), plane_size(x))  # fmt: skip
    return y


def _prepare(reference: Callable[..., Any], run: Callable[..., Array]) -> Callable[..., Any]:
    def prepare(node: Any, constants: dict[int, Array]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Array:
            return run(*args, **kwargs)

        return _as_prepared(reference, call)

    return prepare


for _ref in (qlin.quantize_linear_10, qlin.quantize_linear_13, qlin.quantize_linear_19,
             qlin.quantize_linear_21, qlin.quantize_linear_23):  # fmt: skip
    QElementwiseKernels.kernels[_ref] = _declare(
        _ref, None, _prepare(_ref, _quantize), frozenset({"float32"})
    )
for _ref in (dqlin.dequantize_linear_10, dqlin.dequantize_linear_13, dqlin.dequantize_linear_19,
             dqlin.dequantize_linear_21, dqlin.dequantize_linear_23):  # fmt: skip
    QElementwiseKernels.kernels[_ref] = _declare(
        _ref, None, _prepare(_ref, _dequantize), frozenset(EIGHT_BIT)
    )
