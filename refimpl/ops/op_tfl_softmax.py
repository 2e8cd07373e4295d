import numpy as np

from ..registry import reference_op
from . import _tflite_fixed_point as fp
from . import _tflite_gemmlowp as gl

SCALED_DIFF_BITS, ACCUMULATION_BITS = 5, 12


@reference_op("Softmax", since=1, domain="tflite", dtypes={"int8", "uint8"})
def tfl_softmax_1(x: np.ndarray, x_scale: np.ndarray, *, beta: float = 1.0) -> np.ndarray:
    """y = exp(beta x_s (x - max x)) / sum(...) over the last axis, in gemmlowp fixed point (the
    reference kernel): diffs beyond -radius give the type's minimum; the output has scale 1/256
    and zero point = the type's minimum"""
    xs = fp.scalar_param(x_scale, "x_scale")
    real = min(float(beta) * float(xs) * 2.0 ** (31 - SCALED_DIFF_BITS), 2.0**31 - 1.0)
    mult, shift = (int(v) for v in fp.quantize_multiplier(real))
    diff_min = -int(
        np.floor(((1 << SCALED_DIFF_BITS) - 1) * 2.0 ** (31 - SCALED_DIFF_BITS) / 2.0**shift)
    )
    low, high = fp.int_limits(x.dtype)
    if x.size == 0:
        return x.copy()
    v = x.astype(np.int64)
    diff = v - v.max(axis=-1, keepdims=True)
    inside = diff >= diff_min
    scaled = fp.multiply_by_quantized_multiplier(diff, mult, shift)
    exps = gl.exp_on_negative_values(scaled, SCALED_DIFF_BITS)
    terms = np.where(inside, gl.rescale(exps, 0, ACCUMULATION_BITS), 0)
    total = fp.wrap_int32(terms.sum(axis=-1, keepdims=True))
    headroom = 32 - np.frexp(np.maximum(total, 1).astype(np.float64))[1].astype(np.int64)  # clz
    bits_over_unit = ACCUMULATION_BITS - headroom
    shifted_minus_one = fp.wrap_int32(((total << headroom) & 0xFFFFFFFF) - 2**31)
    scale = gl.one_over_one_plus_x_for_x_in_0_1(shifted_minus_one)
    exponent = bits_over_unit + 31 - 8 * x.dtype.itemsize
    out = fp.rounding_divide_by_pot(gl.mul(scale, exps), exponent) + low
    return np.where(inside, np.clip(out, low, high), low).astype(x.dtype)
