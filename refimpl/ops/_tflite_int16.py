"""TFLite's 16-bit ADD / SUB (kernels/add.cc, sub.cc; reference_ops Add / Sub16 and
AddElementwise): symmetric int16 tensors take the power-of-two-scale path when the op's
`pot_scale_int16` option is set and every scale is a power of two (CheckedLog2), else the
general path of the 8-bit kernels with inputs shifted up by 15 instead of 20."""

from __future__ import annotations

import numpy as np

from ..errors import OpArgumentError
from . import _tflite_fixed_point as fp
from .op_tfl_add import add_sub

GENERAL_LEFT_SHIFT = 15


def checked_log2(scale: np.float32) -> int | None:
    """CheckedLog2: round(log(x) / log(2)) in float32 when within 1e-3 of an integer, else None."""
    with np.errstate(divide="ignore"):
        log2 = np.float32(np.log(np.float64(scale)).astype(np.float32)) * (
            np.float32(1) / np.float32(np.log(np.float64(2)))
        )
    rounded = np.float32(fp.round_half_away(log2))
    return int(rounded) if abs(np.float32(log2 - rounded)) < np.float32(1e-3) else None


def _zero(zp: np.ndarray, what: str) -> None:
    if fp.zero_point(zp, what) != 0:
        raise OpArgumentError(f"TFLite's int16 ADD / SUB need zero points 0, {what} is {zp}")


def add_sub_int16(a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point,
                  activation: str, pot_scale_int16: int, sign: int) -> np.ndarray:  # fmt: skip
    """y = a + sign * b of symmetric int16 tensors, broadcasting like numpy."""
    if a.dtype != np.int16 or b.dtype != np.int16:
        raise OpArgumentError(
            f"TFLite's int16 ADD / SUB take int16 tensors, got {a.dtype}, {b.dtype}"
        )
    scales = [fp.scalar_param(s, w) for s, w in ((a_scale, "a_scale"), (b_scale, "b_scale"),
                                                 (y_scale, "y_scale"))]  # fmt: skip
    logs = [checked_log2(s) for s in scales]
    pot = bool(pot_scale_int16) and None not in logs
    for zp, what in ((a_zero_point, "a_zero_point"), (b_zero_point, "b_zero_point"),
                     (y_zero_point, "y_zero_point")):  # fmt: skip
        _zero(zp, what)
    if not pot:
        args = (a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point)
        return add_sub(*args, activation, sign, left_shift=GENERAL_LEFT_SHIFT)
    shift_a, shift_b = logs[0] - logs[2], logs[1] - logs[2]  # type: ignore[operator]
    if (shift_a and shift_b) or shift_a > 0 or shift_b > 0:
        raise OpArgumentError(
            "TFLite's power-of-two int16 ADD / SUB rescale at most one input, and only down: "
            f"scales 2**{logs[0]}, 2**{logs[1]} -> 2**{logs[2]}"
        )
    ra = fp.rounding_divide_by_pot(a.astype(np.int64), -shift_a)
    rb = fp.rounding_divide_by_pot(b.astype(np.int64), -shift_b)
    total = np.clip(ra + sign * rb, -(2**15), 2**15 - 1)  # gemmlowp's int16 SaturatingAdd / Sub
    low, high = fp.activation_range(activation, y_scale, np.asarray(0), np.dtype(np.int16))
    return fp.saturate_cast(total, low, high, "int16")
