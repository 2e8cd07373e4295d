import numpy as np

from ..dtypes import NUMERIC
from ..errors import OpArgumentError
from ..registry import reference_op
from ._onnx_types import dtype_from_code


def _hz_to_mel(hz: float) -> float:
    return 2595.0 * np.log10(1.0 + hz / 700.0)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)


@reference_op("MelWeightMatrix", since=17, dtypes={"int32", "int64"})
def mel_weight_matrix_17(
    num_mel_bins: np.ndarray,
    dft_length: np.ndarray,
    sample_rate: np.ndarray,
    lower_edge_hertz: np.ndarray,
    upper_edge_hertz: np.ndarray,
    *,
    output_datatype: int = 1,
) -> np.ndarray:
    """W[k, m] = triangle of mel band m (peak 1) at spectrogram bin k, bands evenly spaced in mel"""
    dtype = dtype_from_code(output_datatype, NUMERIC, "output_datatype")
    bands, n_fft, rate = int(num_mel_bins), int(dft_length), int(sample_rate)
    if bands < 1 or n_fft < 1 or rate < 1:
        raise OpArgumentError(
            f"num_mel_bins, dft_length and sample_rate must be >= 1, got {bands}, {n_fft}, {rate}"
        )
    low, high = _hz_to_mel(float(lower_edge_hertz)), _hz_to_mel(float(upper_edge_hertz))
    # bands + 2 edges; ONNX (and onnxruntime) divide the mel range into bands + 2 steps.
    edges_mel = low + np.arange(bands + 2) * ((high - low) / (bands + 2))
    edges = np.floor((n_fft + 1) * _mel_to_hz(edges_mel) / rate).astype(np.int64)
    left, center, right = edges[None, :-2], edges[None, 1:-1], edges[None, 2:]
    k = np.arange(n_fft // 2 + 1)[:, None]
    rising = np.where(center > left, (k - left) / np.maximum(center - left, 1), 1.0)
    falling = (right - k) / np.maximum(right - center, 1)
    weights = np.where((k >= left) & (k <= center), rising, 0.0)
    weights = np.where((k >= center) & (k < right), falling, weights)
    return weights.astype(dtype)
