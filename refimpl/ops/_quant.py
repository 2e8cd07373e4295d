"""Exact integer and low-precision quantisation semantics shared by the Quantize/QLinear ops.

Rounding is half to even (np.rint), saturation clips to the target type's range, integer
products accumulate exactly (int32 semantics), and requantisation multiplies the float32
accumulator by a float32 multiplier, as ONNX Runtime does.
"""

from __future__ import annotations

import numpy as np

from ..dtypes import FLOAT, DtypeSet
from ..errors import OpArgumentError
from ._im2col import conv
from ._onnx_types import dtype_from_code
from ._window import Window

# sets by name: importing this module does not import ml_dtypes (int4/float8 are its types)
INTEGER_TARGETS = DtypeSet({"uint8", "int8", "uint16", "int16", "uint4", "int4", "uint2", "int2"})
FLOAT_TARGETS = DtypeSet(
    {"float8_e4m3fn", "float8_e4m3fnuz", "float8_e5m2", "float8_e5m2fnuz", "float4_e2m1fn"}
)
# dtype names of every quantised type (input 0 of DequantizeLinear)
QUANTIZED = frozenset(
    {"int8", "uint8", "int16", "uint16", "int32", "int4", "uint4", "int2", "uint2"}
    | {"float8_e4m3fn", "float8_e4m3fnuz", "float8_e5m2", "float8_e5m2fnuz", "float4_e2m1fn"}
)


# element types the output_dtype / precision attributes may name
_ATTR_TYPES = QUANTIZED | FLOAT | {"int64", "float8_e8m0fnu"}


def dtype_of_code(code: int, attr: str) -> np.dtype:
    """The numpy dtype of a TensorProto code given as an output_dtype / precision attribute."""
    return dtype_from_code(code, _ATTR_TYPES, attr)


def int_range(dtype: np.dtype) -> tuple[int, int]:
    if np.dtype(dtype).kind in "iu":
        return int(np.iinfo(dtype).min), int(np.iinfo(dtype).max)
    import ml_dtypes  # int4/int2: its own types, so it is imported already

    info = ml_dtypes.iinfo(dtype)
    return int(info.min), int(info.max)


def broadcast_param(
    param: np.ndarray, x_shape: tuple[int, ...], axis: int, block_size: int, name: str
) -> np.ndarray:
    """A scale or zero point reshaped to broadcast against x: per tensor, per axis or blocked."""
    param = np.asarray(param)
    if param.size == 1 and param.ndim <= 1:
        return param.reshape(())
    rank = len(x_shape)
    if not -rank <= axis < rank:
        raise OpArgumentError(f"axis {axis} is out of range for input of rank {rank}")
    axis %= rank
    if block_size > 0:
        n = x_shape[axis]
        expected = x_shape[:axis] + (-(-n // block_size),) + x_shape[axis + 1 :]
        if param.shape != expected:
            raise OpArgumentError(
                f"{name} shape {list(param.shape)} does not fit blocked quantisation of "
                f"{list(x_shape)} with axis={axis}, block_size={block_size}: "
                f"expected {list(expected)}"
            )
        return np.repeat(param, block_size, axis=axis).take(np.arange(n), axis=axis)
    if block_size < 0:
        raise OpArgumentError(f"block_size must be >= 0, got {block_size}")
    if param.ndim != 1 or param.shape[0] != x_shape[axis]:
        raise OpArgumentError(
            f"{name} of shape {list(param.shape)} must be a scalar or 1-D of length "
            f"{x_shape[axis]} (axis {axis} of input {list(x_shape)})"
        )
    return param.reshape((-1,) + (1,) * (rank - 1 - axis))


def saturate_to(values: np.ndarray, dtype: np.dtype, saturate: int = 1) -> np.ndarray:
    """Rounded float values -> dtype: integers round half to even and clip; float8/float4 round
    to nearest even and clip to +-max finite when `saturate` (NaN stays NaN)."""
    if dtype in INTEGER_TARGETS:
        low, high = int_range(dtype)
        exact = np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0)
        clipped = np.clip(np.rint(exact), low, high)
        return clipped.astype(np.int64).astype(dtype)
    if saturate:
        import ml_dtypes  # float8/float4: its own types, so it is imported already

        top = float(ml_dtypes.finfo(dtype).max)
        values = np.clip(values, -top, top)
    return values.astype(dtype)


def requantize(
    acc: np.ndarray, multiplier: np.ndarray, zero_point: np.ndarray | None, dtype: np.dtype
) -> np.ndarray:
    """y = saturate(rint(float32(acc) * multiplier) + zero_point) in dtype. A product past float32's
    range is +-inf, which saturates: the defined result, so numpy's overflow warning is silenced."""
    with np.errstate(over="ignore"):
        scaled = np.rint(acc.astype(np.float32) * multiplier.astype(np.float32))
    zp = 0 if zero_point is None else zero_point.astype(np.float32)
    return saturate_to(scaled + zp, dtype)


def shifted(x: np.ndarray, zero_point: np.ndarray | None) -> np.ndarray:
    """x - zero_point as float64: exact for 8/16-bit data, and the BLAS matmul on it is exact
    while partial sums stay below 2**53 (int32 accumulation never gets near)."""
    out = x.astype(np.float64)
    return out if zero_point is None else out - zero_point.astype(np.float64)


def to_int32(exact: np.ndarray) -> np.ndarray:
    """Exact integer-valued float64 -> int32 with two's-complement wrap, like int32 accumulation."""
    return exact.astype(np.int64).astype(np.int32)


def int_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """int32 matmul of zero-point-shifted operands (see `shifted`)."""
    return to_int32(np.matmul(a, b))


def int_conv(x: np.ndarray, w: np.ndarray, win: Window, group: int) -> np.ndarray:
    """int32 convolution of zero-point-shifted operands (padding contributes 0)."""
    return to_int32(conv(x, w, win, group))


def channel_param(param: np.ndarray | None, rank: int, channels: int, name: str) -> np.ndarray:
    """A per-tensor or per-output-channel parameter shaped to broadcast over (N, M, *spatial)."""
    p = np.asarray(0 if param is None else param)
    if p.size == 1:
        return p.reshape(())
    if p.ndim != 1 or p.shape[0] != channels:
        raise OpArgumentError(f"{name} must be a scalar or 1-D of length {channels}, got {p.shape}")
    return p.reshape((channels,) + (1,) * rank)
