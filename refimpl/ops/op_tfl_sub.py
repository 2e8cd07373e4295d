import numpy as np

from ..registry import reference_op
from .op_tfl_add import add_sub
from .op_tfl_conv_2d import TFLITE_INTS


@reference_op("Sub", since=1, domain="tflite", dtypes=TFLITE_INTS - {"int16"})
def tfl_sub_1(
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
) -> np.ndarray:
    """y = clamp(MBQM(MBQM((a - a_zp) << 20, Ma) - MBQM((b - b_zp) << 20, Mb), My) + y_zp), the
    multipliers of tflite::Add"""
    args = (a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point)
    return add_sub(*args, activation, -1)
