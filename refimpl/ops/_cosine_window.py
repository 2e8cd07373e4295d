"""Generalised cosine windows shared by BlackmanWindow, HammingWindow and HannWindow."""

from __future__ import annotations

import numpy as np

from ..dtypes import NUMERIC
from ..errors import OpArgumentError
from ._onnx_types import dtype_from_code


def cosine_window(
    size: np.ndarray, coefficients: tuple[float, ...], periodic: int, output_datatype: int
) -> np.ndarray:
    """w[n] = Σ_k (-1)^k a_k cos(2πkn/N), N = size (periodic) or size - 1 (symmetric)"""
    dtype = dtype_from_code(output_datatype, NUMERIC, "output_datatype")
    if np.ndim(size) != 0:
        raise OpArgumentError(f"size must be a scalar, got shape {list(np.shape(size))}")
    length = int(size)
    if length < 0:
        raise OpArgumentError(f"size must be >= 0, got {length}")
    # A symmetric window of one point would divide by zero; it is the periodic one then.
    period = length if periodic else max(length - 1, 1)
    phase = 2.0 * np.pi * np.arange(length, dtype=np.float64) / period
    window = np.zeros(length, dtype=np.float64)
    for k, a in enumerate(coefficients):
        window += (-1) ** k * a * np.cos(k * phase)
    return window.astype(dtype)
