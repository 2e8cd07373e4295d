import numpy as np

from ..registry import reference_op
from ._tflite_int16 import add_sub_int16


@reference_op("SubInt16", since=1, domain="tflite", dtypes={"int16"})
def tfl_sub_int16_1(
    a: np.ndarray,
    a_scale: np.ndarray,
    a_zero_point: np.ndarray,
    b: np.ndarray,
    b_scale: np.ndarray,
    b_zero_point: np.ndarray,
    y_scale: np.ndarray,
    y_zero_point: np.ndarray,
    *,
    activation: str = "NONE",
    pot_scale_int16: int = 1,
) -> np.ndarray:
    """y = a - b of symmetric int16 tensors: with pot_scale_int16 and power-of-two scales,
    clamp(sat16(RDBPOT(a, log2(y_s / a_s)) - RDBPOT(b, log2(y_s / b_s)))); else tflite::Sub's
    fixed point with the inputs shifted up by 15"""
    args = (a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point)
    return add_sub_int16(*args, activation, pot_scale_int16, -1)
