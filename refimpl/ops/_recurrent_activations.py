"""The activation functions of RNN, GRU and LSTM, by their ONNX names (case-insensitive).

activation_alpha / activation_beta are consumed in order by the functions that take them; a function
whose value is not listed uses its default (as ONNX Runtime does).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np

from ..errors import OpArgumentError

Activation = Callable[[np.ndarray], np.ndarray]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0, -x)).astype(x.dtype, copy=False)  # no overflow for large |x|


# name -> (f(x, alpha, beta), default alpha, default beta, how many of alpha, beta it takes)
_TABLE: dict[str, tuple[Callable[..., np.ndarray], float, float, int]] = {
    "relu": (lambda x, a, b: np.maximum(x, 0), 0.0, 0.0, 0),
    "tanh": (lambda x, a, b: np.tanh(x), 0.0, 0.0, 0),
    "sigmoid": (lambda x, a, b: _sigmoid(x), 0.0, 0.0, 0),
    "affine": (lambda x, a, b: a * x + b, 1.0, 0.0, 2),
    "leakyrelu": (lambda x, a, b: np.where(x >= 0, x, a * x), 0.01, 0.0, 1),
    "thresholdedrelu": (lambda x, a, b: np.where(x > a, x, 0), 1.0, 0.0, 1),
    "scaledtanh": (lambda x, a, b: a * np.tanh(b * x), 1.0, 1.0, 2),
    "hardsigmoid": (lambda x, a, b: np.clip(a * x + b, 0, 1), 0.2, 0.5, 2),
    "elu": (lambda x, a, b: np.where(x >= 0, x, a * (np.exp(x) - 1)), 1.0, 0.0, 1),
    "softsign": (lambda x, a, b: x / (1 + np.abs(x)), 0.0, 0.0, 0),
    "softplus": (lambda x, a, b: np.logaddexp(0, x), 0.0, 0.0, 0),
}


def _apply(
    fn: Callable[..., np.ndarray], a: np.generic, b: np.generic, x: np.ndarray
) -> np.ndarray:
    return fn(x, a, b).astype(x.dtype, copy=False)


def activations(
    names: list[str] | None,
    alphas: list[float] | None,
    betas: list[float] | None,
    defaults: list[str],
    num_directions: int,
    dtype: np.dtype,
) -> list[list[Activation]]:
    """Per direction, the len(defaults) activation functions (f, g, h) with alpha/beta bound."""
    names = list(names) if names else defaults * num_directions
    if len(names) == len(defaults) and num_directions == 2:
        names = names * 2
    if len(names) != len(defaults) * num_directions:
        raise OpArgumentError(
            f"activations {names} must list {len(defaults)} function(s) per direction "
            f"({num_directions} direction(s))"
        )
    alpha_iter, beta_iter = iter(alphas or []), iter(betas or [])
    bound: list[Activation] = []
    for name in names:
        entry = _TABLE.get(name.lower())
        if entry is None:
            raise OpArgumentError(f"unknown activation {name!r}; known: {sorted(_TABLE)}")
        fn, alpha, beta, takes = entry
        alpha = next(alpha_iter, alpha) if takes >= 1 else alpha
        beta = next(beta_iter, beta) if takes >= 2 else beta
        a, b = dtype.type(alpha), dtype.type(beta)
        bound.append(partial(_apply, fn, a, b))
    k = len(defaults)
    return [bound[d * k : (d + 1) * k] for d in range(num_directions)]
