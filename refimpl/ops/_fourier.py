"""Complex values stored as a trailing [real] or [real, imag] axis, as DFT and STFT carry them."""

from __future__ import annotations

import numpy as np

from ..errors import OpArgumentError


def to_complex(x: np.ndarray, what: str = "input") -> np.ndarray:
    """[..., 1] (real) or [..., 2] (real, imag) -> complex [...] (complex128 for float64 input,
    else complex64: float16/bfloat16 are computed in float32, as numpy's FFT lacks them)"""
    if x.ndim < 1 or x.shape[-1] not in (1, 2):
        raise OpArgumentError(
            f"{what} must end in a dimension of 1 (real) or 2 (complex), got shape {list(x.shape)}"
        )
    z = np.zeros(x.shape[:-1], dtype=np.complex128 if x.dtype == np.float64 else np.complex64)
    z.real = x[..., 0].astype(z.real.dtype)
    if x.shape[-1] == 2:
        z.imag = x[..., 1].astype(z.real.dtype)
    return z


def from_complex(z: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """complex [...] -> [..., 2] (real, imag) of dtype"""
    return np.stack([z.real, z.imag], axis=-1).astype(dtype)


def scalar_int(value: np.ndarray | None, what: str, default: int) -> int:
    """An optional scalar (or one-element) integer input as a Python int."""
    if value is None:
        return default
    if np.size(value) != 1:
        raise OpArgumentError(f"{what} must be a scalar, got shape {list(np.shape(value))}")
    return int(np.asarray(value).reshape(-1)[0])
