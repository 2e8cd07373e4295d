import numpy as np

from ..dtypes import FLOAT
from ..errors import OpArgumentError
from ..registry import reference_op
from ._fourier import from_complex, scalar_int, to_complex


@reference_op("STFT", since=17, dtypes=FLOAT)
def stft_17(
    signal: np.ndarray,
    frame_step: np.ndarray,
    window: np.ndarray | None = None,
    frame_length: np.ndarray | None = None,
    *,
    onesided: int = 1,
) -> np.ndarray:
    """y[b, f, k] = Σ_n w[n] x[b, f·step + n] e^(-2πjkn/L), frames f of length L

    onesided keeps k ≤ L/2; for a complex signal (where ONNX calls onesided impossible) that is
    the same truncation of the full spectrum, not an error.
    """
    if signal.ndim != 3:
        raise OpArgumentError(f"signal must have rank 3 [batch, length, 1|2], got {signal.shape}")
    samples = to_complex(signal, "signal")  # [batch, length]
    step = scalar_int(frame_step, "frame_step", 0)
    default_length = window.shape[0] if window is not None else samples.shape[1]
    length = scalar_int(frame_length, "frame_length", default_length)
    if window is not None and (window.ndim != 1 or window.shape[0] != length):
        raise OpArgumentError(
            f"window must be 1-D of frame_length {length}, got shape {list(window.shape)}"
        )
    if step < 1 or length < 1 or length > samples.shape[1]:
        raise OpArgumentError(
            f"need frame_step >= 1 and 1 <= frame_length <= signal length {samples.shape[1]}, "
            f"got frame_step={step}, frame_length={length}"
        )
    frames = np.lib.stride_tricks.sliding_window_view(samples, length, axis=1)[:, ::step]
    if window is not None:
        frames = frames * window.astype(frames.real.dtype)
    spectrum = np.fft.fft(frames, axis=-1)
    if onesided:  # conjugate symmetry of a real signal: keep bins 0 .. L//2
        spectrum = spectrum[..., : length // 2 + 1]
    return from_complex(spectrum, signal.dtype)
