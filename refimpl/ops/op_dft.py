import numpy as np

from ..dtypes import FLOAT
from ..errors import OpArgumentError
from ..registry import reference_op
from ._fourier import from_complex, scalar_int, to_complex


def _dft(x: np.ndarray, dft_length: np.ndarray | None, axis: int, inverse: int, onesided: int):
    rank = x.ndim
    if not (-rank <= axis <= -2 or 0 <= axis <= rank - 2):
        raise OpArgumentError(
            f"axis {axis} is outside [-{rank}, -2] ∪ [0, {rank - 2}] for an input of rank {rank} "
            "(the last dimension holds the real/imaginary parts)"
        )
    axis = axis % rank
    signal = to_complex(x)
    if inverse and onesided:  # IRFFT: a one-sided spectrum back to a full real signal
        n = scalar_int(dft_length, "dft_length", 2 * (x.shape[axis] - 1))
        if n < 1:
            raise OpArgumentError(f"dft_length must be >= 1, got {n}")
        return np.fft.irfft(signal, n=n, axis=axis)[..., None].astype(x.dtype)
    n = scalar_int(dft_length, "dft_length", x.shape[axis])
    if n < 1:
        raise OpArgumentError(f"dft_length must be >= 1, got {n}")
    spectrum = (
        np.fft.ifft(signal, n=n, axis=axis) if inverse else np.fft.fft(signal, n=n, axis=axis)
    )
    if (
        onesided
    ):  # conjugate symmetry of a real signal: keep bins 0 .. n//2 (complex: truncated too)
        spectrum = np.take(spectrum, np.arange(n // 2 + 1), axis=axis)
    return from_complex(spectrum, x.dtype)


@reference_op("DFT", since=17, dtypes=FLOAT)
def dft_17(
    x: np.ndarray,
    dft_length: np.ndarray | None = None,
    *,
    axis: int = 1,
    inverse: int = 0,
    onesided: int = 0,
) -> np.ndarray:
    """y[k] = Σ_n x[n] e^(∓2πjkn/N) along axis (1/N and + when inverse); onesided keeps k ≤ N/2"""
    return _dft(x, dft_length, axis, inverse, onesided)


@reference_op("DFT", since=20, dtypes=FLOAT)
def dft_20(
    x: np.ndarray,
    dft_length: np.ndarray | None = None,
    axis: np.ndarray | None = None,
    *,
    inverse: int = 0,
    onesided: int = 0,
) -> np.ndarray:
    """y[k] = Σ_n x[n] e^(∓2πjkn/N) along the axis input (default -2); as DFT-17 otherwise"""
    return _dft(x, dft_length, scalar_int(axis, "axis", -2), inverse, onesided)
