import numpy as np

from ..dtypes import FLOAT
from ..errors import OpArgumentError
from ..registry import reference_op
from ._quant_linear import quantize

_X_TYPES = FLOAT | {"int32"}


@reference_op("QuantizeLinear", since=10, dtypes={"float32", "int32"})
def quantize_linear_10(
    x: np.ndarray, y_scale: np.ndarray, y_zero_point: np.ndarray | None = None
) -> np.ndarray:
    """y = saturate(rint(x / y_scale) + y_zero_point), per tensor, uint8 or int8"""
    if np.size(y_scale) != 1:
        raise OpArgumentError("QuantizeLinear before opset 13 takes a scalar y_scale only")
    return quantize(x, y_scale, y_zero_point)


@reference_op("QuantizeLinear", since=13, dtypes={"float32", "int32"})
def quantize_linear_13(
    x: np.ndarray, y_scale: np.ndarray, y_zero_point: np.ndarray | None = None, *, axis: int = 1
) -> np.ndarray:
    """y = saturate(rint(x / y_scale) + y_zero_point), per tensor or per `axis`"""
    return quantize(x, y_scale, y_zero_point, axis=axis)


@reference_op("QuantizeLinear", since=19, dtypes=_X_TYPES)
def quantize_linear_19(
    x: np.ndarray,
    y_scale: np.ndarray,
    y_zero_point: np.ndarray | None = None,
    *,
    axis: int = 1,
    saturate: int = 1,
) -> np.ndarray:
    """y = saturate(rint(x / y_scale) + y_zero_point); float8 targets clip only if `saturate`"""
    return quantize(x, y_scale, y_zero_point, axis=axis, saturate=saturate)


@reference_op("QuantizeLinear", since=21, dtypes=_X_TYPES)
def quantize_linear_21(
    x: np.ndarray,
    y_scale: np.ndarray,
    y_zero_point: np.ndarray | None = None,
    *,
    axis: int = 1,
    block_size: int = 0,
    output_dtype: int = 0,
    saturate: int = 1,
) -> np.ndarray:
    """y = saturate(rint(x / y_scale) + y_zero_point), per tensor, per axis or per block"""
    return quantize_linear_23(
        x,
        y_scale,
        y_zero_point,
        axis=axis,
        block_size=block_size,
        output_dtype=output_dtype,
        precision=0,
        saturate=saturate,
    )


@reference_op("QuantizeLinear", since=23, dtypes=_X_TYPES)
def quantize_linear_23(
    x: np.ndarray,
    y_scale: np.ndarray,
    y_zero_point: np.ndarray | None = None,
    *,
    axis: int = 1,
    block_size: int = 0,
    output_dtype: int = 0,
    precision: int = 0,
    saturate: int = 1,
) -> np.ndarray:
    """y = saturate(rint(x / y_scale) + y_zero_point), dividing in `precision` (or y_scale's)"""
    return quantize(
        x,
        y_scale,
        y_zero_point,
        axis=axis,
        block_size=block_size,
        saturate=saturate,
        output_dtype=output_dtype,
        precision=precision,
    )
