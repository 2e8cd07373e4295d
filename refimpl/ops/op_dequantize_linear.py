import numpy as np

from ..errors import OpArgumentError
from ..registry import reference_op
from ._quant import QUANTIZED
from ._quant_linear import dequantize

_BEFORE_19 = {"int8", "uint8", "int32"}


@reference_op("DequantizeLinear", since=10, dtypes=_BEFORE_19)
def dequantize_linear_10(
    x: np.ndarray, x_scale: np.ndarray, x_zero_point: np.ndarray | None = None
) -> np.ndarray:
    """y = (x - x_zero_point) * x_scale, per tensor, float32"""
    if np.size(x_scale) != 1:
        raise OpArgumentError("DequantizeLinear before opset 13 takes a scalar x_scale only")
    return dequantize(x, x_scale, x_zero_point)


@reference_op("DequantizeLinear", since=13, dtypes=_BEFORE_19)
def dequantize_linear_13(
    x: np.ndarray, x_scale: np.ndarray, x_zero_point: np.ndarray | None = None, *, axis: int = 1
) -> np.ndarray:
    """y = (x - x_zero_point) * x_scale, per tensor or per `axis`"""
    return dequantize(x, x_scale, x_zero_point, axis=axis)


@reference_op("DequantizeLinear", since=19, dtypes=QUANTIZED)
def dequantize_linear_19(
    x: np.ndarray, x_scale: np.ndarray, x_zero_point: np.ndarray | None = None, *, axis: int = 1
) -> np.ndarray:
    """y = (x - x_zero_point) * x_scale in x_scale's dtype (float8 inputs allowed)"""
    return dequantize(x, x_scale, x_zero_point, axis=axis)


@reference_op("DequantizeLinear", since=21, dtypes=QUANTIZED)
def dequantize_linear_21(
    x: np.ndarray,
    x_scale: np.ndarray,
    x_zero_point: np.ndarray | None = None,
    *,
    axis: int = 1,
    block_size: int = 0,
) -> np.ndarray:
    """y = (x - x_zero_point) * x_scale, per tensor, per axis or per block"""
    return dequantize(x, x_scale, x_zero_point, axis=axis, block_size=block_size)


@reference_op("DequantizeLinear", since=23, dtypes=QUANTIZED)
def dequantize_linear_23(
    x: np.ndarray,
    x_scale: np.ndarray,
    x_zero_point: np.ndarray | None = None,
    *,
    axis: int = 1,
    block_size: int = 0,
    output_dtype: int = 0,
) -> np.ndarray:
    """y = (x - x_zero_point) * x_scale in output_dtype (default x_scale's dtype)"""
    return dequantize(
        x, x_scale, x_zero_point, axis=axis, block_size=block_size, output_dtype=output_dtype
    )
