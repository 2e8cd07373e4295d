"""TFLite's integer arithmetic for backends: the reference's own helpers (refimpl/ops/
_tflite_fixed_point.py, _tflite_window.py) under public names, so a backend that reproduces the
`tflite::*` ops bit for bit derives its multipliers, shifts, activation ranges and padding with
the very code the reference runs (and keeps working when those private modules move)."""

from __future__ import annotations

from ._tflite_fixed_point import (
    activation_range,
    multiply_by_quantized_multiplier,
    product_multipliers,
    quantize_multiplier,
    zero_point,
)
from ._tflite_int16 import checked_log2
from ._tflite_window import out_and_pad

__all__ = [
    "activation_range",
    "checked_log2",
    "multiply_by_quantized_multiplier",
    "out_and_pad",
    "product_multipliers",
    "quantize_multiplier",
    "zero_point",
]
