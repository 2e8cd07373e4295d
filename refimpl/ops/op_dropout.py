import numpy as np

from ..errors import OpArgumentError
from ..registry import reference_op
from ._float_math import FLOAT_AND_FLOAT8


@reference_op("Dropout", since=7, dtypes=FLOAT_AND_FLOAT8)
def dropout_7(data: np.ndarray, *, ratio: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """(output, mask) = (data, ones of data's type): inference only before opset 12"""
    return data.copy(), np.ones(data.shape, dtype=data.dtype)


@reference_op("Dropout", since=10, dtypes=FLOAT_AND_FLOAT8)
def dropout_10(data: np.ndarray, *, ratio: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """(output, mask) = (data, all True): inference only before opset 12"""
    return data.copy(), np.ones(data.shape, dtype=np.bool_)


@reference_op("Dropout", since=12, dtypes=FLOAT_AND_FLOAT8)
def dropout_12(
    data: np.ndarray,
    ratio: np.ndarray | None = None,
    training_mode: np.ndarray | None = None,
    *,
    seed: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """training: mask = U(0,1) >= ratio, output = data * mask / (1 - ratio); else (data, all True)

    The mask is numpy's legacy MT19937 stream, `RandomState(seed).uniform(0, 1, shape)`, the
    generator onnx's own test data uses: with `seed` the result is reproducible across runs and
    machines; without it the generator is seeded from OS entropy, so every run differs.
    """
    p = 0.5 if ratio is None else float(ratio)
    if training_mode is None or not bool(training_mode) or p == 0.0:
        return data.copy(), np.ones(data.shape, dtype=np.bool_)
    if not 0.0 <= p < 1.0:
        raise OpArgumentError(f"Dropout ratio must be in [0, 1), got {p}")
    rng = np.random.RandomState(None if seed is None else seed % 2**32)
    mask = rng.uniform(0.0, 1.0, data.shape) >= p
    output = (data.astype(np.float32) if data.dtype.itemsize < 4 else data) * mask * (1 / (1 - p))
    return output.astype(data.dtype, copy=False), mask
