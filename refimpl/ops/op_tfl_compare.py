import numpy as np

from ..errors import OpArgumentError
from ..registry import reference_op
from . import _tflite_fixed_point as fp

LEFT_SHIFT = 8  # inputs are scaled up by 2**8 before rescaling
COMPARISONS = {
    "LESS": np.less,
    "LESS_EQUAL": np.less_equal,
    "EQUAL": np.equal,
    "NOT_EQUAL": np.not_equal,
}


def _rescaled(x: np.ndarray, scale: np.ndarray, zero_point: np.ndarray, what: str) -> np.ndarray:
    """MultiplyByQuantizedMultiplierSmallerThanOneExp((x - zp) << 8, QuantizeMultiplier(scale))."""
    s = fp.scalar_param(scale, f"{what}_scale")
    if s >= 1:  # the kernel would round-divide by a negative power of two
        raise OpArgumentError(f"tflite::Compare needs {what}_scale < 1, got {s}")
    mult, shift = fp.quantize_multiplier(np.float64(s))
    shifted = (x.astype(np.int64) - fp.zero_point(zero_point, f"{what}_zero_point")) << LEFT_SHIFT
    return fp.multiply_by_quantized_multiplier(shifted, mult, shift)


@reference_op("Compare", since=1, domain="tflite", dtypes={"int8", "uint8", "int16"})
def tfl_compare_1(
    a: np.ndarray,
    a_scale: np.ndarray,
    a_zero_point: np.ndarray,
    b: np.ndarray,
    b_scale: np.ndarray,
    b_zero_point: np.ndarray,
    *,
    comparison: str = "LESS",
) -> np.ndarray:
    """y = cmp(MBQM((a - a_zp) << 8, QM(a_s)), MBQM((b - b_zp) << 8, QM(b_s))), cmp one of LESS,
    LESS_EQUAL, EQUAL, NOT_EQUAL (ComparisonWithScaling: each side at its own scale times 2**8 in
    fixed point); broadcasting like numpy"""
    if comparison not in COMPARISONS:
        raise OpArgumentError(
            f"tflite::Compare: unknown comparison {comparison!r}; known: {sorted(COMPARISONS)}"
        )
    if a.dtype != b.dtype:
        raise OpArgumentError(f"tflite::Compare needs one dtype, got {a.dtype} and {b.dtype}")
    fn = COMPARISONS[comparison]
    return np.asarray(
        fn(_rescaled(a, a_scale, a_zero_point, "a"), _rescaled(b, b_scale, b_zero_point, "b"))
    )
