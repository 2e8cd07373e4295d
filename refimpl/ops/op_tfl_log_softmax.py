import numpy as np

from ..errors import OpArgumentError
from ..registry import reference_op
from . import _tflite_fixed_point as fp
from . import _tflite_gemmlowp as gl
from ._tflite_log import log_x_for_x_ge_1

INPUT_BITS, ACCUMULATION_BITS, OUTPUT_BITS = 5, 12, 4


def log_softmax_params(x_scale: np.ndarray) -> tuple[int, int, int, int, int]:
    """PreprocessLogSoftmaxScalingExp (beta 1) and CalculateInputRadius: the input multiplier
    and left shift of x_s * 2**26 (capped at 2**31 - 1), the reverse divisor and shift of
    2**(31 - shift) / multiplier, and the smallest diff that counts,
    -floor(31 * 2**26 / 2**shift)."""
    xs = fp.scalar_param(x_scale, "x_scale")
    real = min(float(xs) * 2.0 ** (31 - INPUT_BITS), 2.0**31 - 1.0)
    if real <= 1.0:
        raise OpArgumentError(f"tflite::LogSoftmax needs x_scale > 2**-26, got {xs}")
    mult, shift = (int(v) for v in fp.quantize_multiplier(real))
    reverse = 2.0 ** (31 - shift) / mult
    if not 0.0 < reverse < 1.0:
        raise OpArgumentError(f"tflite::LogSoftmax cannot invert the input scale {xs}")
    rev_mult, rev_shift = (int(v) for v in fp.quantize_multiplier(reverse))
    radius = int(np.floor(((1 << INPUT_BITS) - 1) * 2.0 ** (31 - INPUT_BITS) / 2.0**shift))
    return mult, shift, rev_mult, rev_shift, -radius


@reference_op("LogSoftmax", since=1, domain="tflite", dtypes={"int8", "uint8"})
def tfl_log_softmax_1(x: np.ndarray, x_scale: np.ndarray) -> np.ndarray:
    """y = x_s (x - max x) - log(sum exp(x_s (x - max x))) over the last axis, in fixed point
    (the reference kernel: diffs in Q5.26, the sum of exps in Q12.19, its log in Q5.26); the
    output has scale 16/256 and zero point = the type's maximum, diffs too small give its minimum"""
    mult, shift, rev_mult, rev_shift, diff_min = log_softmax_params(x_scale)
    low, high = fp.int_limits(x.dtype)
    if x.size == 0:
        return x.copy()
    v = x.astype(np.int64)
    diff = v - v.max(axis=-1, keepdims=True)
    scaled = fp.multiply_by_quantized_multiplier(diff, mult, shift)  # Q5.26
    exps = gl.rescale(gl.exp_on_negative_values(scaled, INPUT_BITS), 0, ACCUMULATION_BITS)
    total = fp.wrap_int32(np.where(diff >= diff_min, exps, 0).sum(axis=-1, keepdims=True))
    log_sum = log_x_for_x_ge_1(total, ACCUMULATION_BITS, INPUT_BITS)
    shifted_log_sum = fp.wrap_int32(log_sum + fp.INT32_MIN)
    adjusted_min = np.maximum(
        diff_min - 1, fp.multiply_by_quantized_multiplier(shifted_log_sum, rev_mult, rev_shift)
    )
    out = (
        fp.rounding_divide_by_pot(fp.wrap_int32(scaled - log_sum), 31 - INPUT_BITS - OUTPUT_BITS)
        + high
    )
    return np.where(diff > adjusted_min, np.clip(out, low, high), low).astype(x.dtype)
