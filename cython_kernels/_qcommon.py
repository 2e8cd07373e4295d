"""Helpers shared by the int8 kernel modules: operand type codes, zero points, and the
requantising epilogue built exactly as refimpl/ops/_quant.py `requantize` defines it.

Every value these kernels cannot run exactly raises RuntimeDecline (the reference then runs the
node, and raises its own typed error where the input is invalid).
"""

from __future__ import annotations

import numpy as np

from ..plugins import RuntimeDecline
from ._native import ext

Array = np.ndarray
F32 = np.float32
Q_U8, Q_S8, Q_I32 = 0, 1, 2
_TYPES = {np.dtype(np.uint8): Q_U8, np.dtype(np.int8): Q_S8}
EIGHT_BIT = ("uint8", "int8")


def qtype(a: Array, what: str) -> int:
    """The src/qgemm.h type code of an 8-bit operand."""
    code = _TYPES.get(a.dtype)
    if code is None:
        raise RuntimeDecline(f"{what} is {a.dtype} (uint8/int8 only)")
    return code


def as_bytes(a: Array) -> Array:
    """An 8-bit array as a C-contiguous uint8 view (what the wrappers take)."""
    return np.ascontiguousarray(a).view(np.uint8)


def zero_points(zp: Array | None, n: int, what: str, like: Array) -> Array:
    """A zero point (absent: 0) as int32, one value or n, of the operand `like`'s type (so every
    shifted value lies in [-255, 255], which the packing and the kernels' bounds assume)."""
    if zp is None:
        return np.zeros(1, np.int32)
    if zp.dtype != like.dtype:
        raise RuntimeDecline(f"{what} is {zp.dtype}, its operand {like.dtype}")
    flat = np.ascontiguousarray(zp, np.int32).reshape(-1)
    if flat.size not in (1, n):
        raise RuntimeDecline(f"{what} has {flat.size} values (1 or {n} here)")
    return flat


def scalar_zero_point(zp: Array | None, what: str, like: Array) -> int:
    flat = zero_points(zp, 1, what, like)
    return int(flat[0])


def output_type(y_zero_point: Array | None, x_dtype: np.dtype) -> tuple[np.dtype, int, float]:
    """(output dtype, its type code, zero point as float32) as the reference chooses them."""
    dtype = np.dtype(x_dtype if y_zero_point is None else y_zero_point.dtype)
    if dtype not in _TYPES:
        raise RuntimeDecline(f"output type {dtype} (uint8/int8 only)")
    if y_zero_point is not None and y_zero_point.size != 1:
        raise RuntimeDecline("a per-channel output zero point")
    zp = 0.0 if y_zero_point is None else float(np.asarray(y_zero_point).astype(F32).reshape(-1)[0])
    return dtype, _TYPES[dtype], zp


def scalar(v: Array, what: str) -> Array:
    if v.size != 1:
        raise RuntimeDecline(f"{what} has {v.size} values (per tensor only)")
    return v.reshape(-1)


def epilogue(
    out_type: int,
    mult: Array | None,
    zp: float,
    bias: Array | None = None,
    rows: int = 1,
    cols: int = 1,
) -> object:
    """ext().QEpilogue for mult/bias shaped (), (rows, 1), (cols,) or (rows, cols) (the
    broadcast of the reference's expression)."""

    def strides(a: Array | None) -> tuple[Array | None, int, int]:
        if a is None:
            return None, 0, 0
        a2 = np.asarray(a)
        shape = a2.shape if a2.ndim == 2 else (1, a2.size)
        a2 = a2.reshape(shape)
        if shape[0] not in (1, rows) or shape[1] not in (1, cols):
            raise RuntimeDecline(f"parameter shape {list(np.shape(a))} on a {rows} x {cols} output")
        rs = shape[1] if shape[0] > 1 else 0
        cs = 1 if shape[1] > 1 else 0
        return np.ascontiguousarray(a2).reshape(-1), rs, cs

    m, mrs, mcs = strides(None if mult is None else np.asarray(mult, F32))
    b, brs, bcs = strides(None if bias is None else np.asarray(bias, np.int32))
    return ext().QEpilogue(out_type, m, mrs, mcs, b, brs, bcs, zp)
