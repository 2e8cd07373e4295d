"""Shared plumbing of the ai.onnx.preview.training optimizer ops (Adagrad, Adam, Momentum in
ops/op_*.py) and of backends' kernels for them: the variadic [X1..Xn, G1..Gn, ...] groups and the
scalar inputs, and the step-dependent factors each op derives from R and T."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .errors import OpArgumentError

TRAINING = "ai.onnx.preview.training"


def groups(tensors: tuple[np.ndarray, ...], count: int, names: str) -> list[tuple[np.ndarray, ...]]:
    """Splits the variadic inputs [X1..Xn, G1..Gn, ...] into n tuples (Xi, Gi, ...)."""
    if not tensors or len(tensors) % count:
        raise OpArgumentError(
            f"expected the inputs R, T and then {count} equally long groups ({names}), "
            f"got {len(tensors)} tensors after R and T"
        )
    n = len(tensors) // count
    return [tuple(tensors[k * n + i] for k in range(count)) for i in range(n)]


def scalar(value: np.ndarray, name: str) -> float:
    if np.size(value) != 1:
        raise OpArgumentError(f"{name} must be a scalar, got shape {list(np.shape(value))}")
    return float(np.asarray(value).reshape(-1)[0])


def regroup(results: Sequence[tuple[np.ndarray, ...]]) -> tuple[np.ndarray, ...]:
    """[(X1', V1'), (X2', V2')] -> (X1', X2', V1', V2'): the outputs' order."""
    return tuple(out for column in zip(*results) for out in column)


def adam_rate(r: np.ndarray, t: np.ndarray, alpha: float, beta: float) -> float:
    """Adam's step size: R, bias-corrected to R sqrt(1 - beta^T) / (1 - alpha^T) when T > 0."""
    step, rate = scalar(t, "T"), scalar(r, "R")
    if step > 0:
        rate *= np.sqrt(1.0 - beta**step) / (1.0 - alpha**step)
    return float(rate)


def momentum_beta(t: np.ndarray, beta: float) -> float:
    """Momentum's gradient coefficient: beta once T > 0, 1 on the first step (T = 0)."""
    return beta if scalar(t, "T") > 0 else 1.0
