import numpy as np

from ..errors import OpArgumentError
from ..registry import reference_op
from . import _tflite_fixed_point as fp
from .op_tfl_conv_2d import TFLITE_INTS


def mean_or_sum(x, x_scale, x_zero_point, y_scale, y_zero_point, axes: list[int], keepdims: int,
                compute_sum: bool) -> np.ndarray:  # fmt: skip
    """The reference QuantizedMeanOrSum over `axes` (an empty x gives zeros)."""
    rank = x.ndim
    if any(not -rank <= a < rank for a in axes):
        raise OpArgumentError(f"tflite::Mean / Sum axes {axes} are out of range for rank {rank}")
    axes_t = tuple(sorted({a % rank for a in axes}))
    out_shape = np.sum(np.zeros(x.shape, np.int8), axis=axes_t, keepdims=bool(keepdims)).shape
    if x.size == 0:
        return np.zeros(out_shape, x.dtype)
    n = int(np.prod([x.shape[a] for a in axes_t], dtype=np.int64))
    xs, ys = fp.scalar_param(x_scale, "x_scale"), fp.scalar_param(y_scale, "y_scale")
    mult, shift = (int(v) for v in fp.quantize_multiplier(np.float64(xs) / np.float64(ys)))
    if not compute_sum:  # the mean divides the multiplier by n
        k = min(n.bit_length() - 1, 32, 31 + shift)
        mult, shift = ((mult << k) // n), shift - k
    total = x.astype(np.int64).sum(axis=axes_t, keepdims=bool(keepdims))
    shifted = fp.wrap_int32(total - fp.zero_point(x_zero_point, "x_zero_point") * n)
    y = fp.multiply_by_quantized_multiplier(shifted, mult, shift)
    low, high = fp.int_limits(x.dtype)
    return fp.saturate_cast(y + fp.zero_point(y_zero_point, "y_zero_point"), low, high, x.dtype)


@reference_op("Mean", since=1, domain="tflite", dtypes=TFLITE_INTS)
def tfl_mean_1(
    x: np.ndarray,
    x_scale: np.ndarray,
    x_zero_point: np.ndarray,
    y_scale: np.ndarray,
    y_zero_point: np.ndarray,
    *,
    axes: list[int],
    keepdims: int = 0,
) -> np.ndarray:
    """y = clamp(MBQM(int32(sum(x) - x_zp * n), M', S - k) + y_zp) over the n elements of `axes`:
    M, S = QuantizeMultiplier(double(x_s) / y_s), k = min(floor(log2 n), 32, 31 + S), M' =
    (M << k) // n (the reference QuantizedMeanOrSum); an empty x gives zeros"""
    args = (x, x_scale, x_zero_point, y_scale, y_zero_point)
    return mean_or_sum(*args, axes, keepdims, compute_sum=False)
