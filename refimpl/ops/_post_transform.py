"""Score post-transforms of ai.onnx.ml ops: NONE, SOFTMAX, LOGISTIC, SOFTMAX_ZERO, PROBIT."""

from __future__ import annotations

import numpy as np

from ..errors import OpArgumentError

# Giles (2010), "Approximating the erfinv function": single-precision polynomials in w.
# fmt: skip keeps each coefficient table packed and aligned as a block, as in the paper.
_ERFINV_CENTRAL = [2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087,
                   -0.00125372503, -0.00417768164, 0.246640727, 1.50140941]  # fmt: skip
_ERFINV_TAIL = [-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773,
                -0.0076224613, 0.00943887047, 1.00167406, 2.83297682]  # fmt: skip


def erfinv(x: np.ndarray) -> np.ndarray:
    """erf⁻¹(x) for |x| < 1, to about float32 precision (±inf at ±1)"""
    w = -np.log((1.0 - x) * (1.0 + x))
    central = np.polyval(_ERFINV_CENTRAL, w - 2.5)
    tail = np.polyval(_ERFINV_TAIL, np.sqrt(np.maximum(w, 0.0)) - 3.0)
    return np.where(np.abs(x) < 1, np.where(w < 5.0, central, tail) * x, np.copysign(np.inf, x))


def _softmax(s: np.ndarray) -> np.ndarray:
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _softmax_zero(s: np.ndarray) -> np.ndarray:
    """softmax over the non-zero scores of a row; zero scores stay zero"""
    e = np.where(s != 0, np.exp(s - s.max(axis=-1, keepdims=True)), 0.0)
    total = e.sum(axis=-1, keepdims=True)
    return e / np.where(total == 0, 1.0, total)


def post_transform(scores: np.ndarray, code: int) -> np.ndarray:
    """Applies post_transform `code` (0..4) to float64 scores [N, targets]."""
    if code == 0:
        return scores
    if code == 1:
        return _softmax(scores)
    if code == 2:
        return 1.0 / (1.0 + np.exp(-scores))
    if code == 3:
        return _softmax_zero(scores)
    if code == 4:
        return np.sqrt(2.0) * erfinv(2.0 * scores - 1.0)
    raise OpArgumentError(
        "post_transform must be 0 NONE, 1 SOFTMAX, 2 LOGISTIC, 3 SOFTMAX_ZERO or 4 PROBIT, "
        f"got {code}"
    )
