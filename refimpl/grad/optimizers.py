"""Optimisers: SGD (momentum, Nesterov, weight decay), Adam and AdamW, with PyTorch's update rules,
plus global-norm gradient clipping.

An optimiser keeps its state per parameter name and updates a dict of parameters from a dict of
gradients: `params = opt.step(params, grads, lr)`. The updates are the reference's ONNX training
ops (`ai.onnx.preview.training` Momentum and Adam), called with the arguments that make their math
PyTorch's; only AdamW's decoupled decay is applied here first, since ONNX's `norm_coefficient_post`
decays after the update instead. `ops` maps a training op to the function that runs it (empty:
the reference's): gossamer.train fills it with the session's backends' kernels for those ops.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ..errors import InputError
from ..ops.op_adam import adam_1
from ..ops.op_momentum import momentum_1

Params = Mapping[str, np.ndarray]


class Optimizer:
    """Base: per-parameter state and the step count (`steps`, optimiser steps taken so far)."""

    def __init__(self) -> None:
        self.steps = 0
        self.state: dict[str, dict[str, np.ndarray]] = {}
        # training op (adam_1, momentum_1) -> what runs it, with the op's signature
        self.ops: dict[Callable[..., Any], Callable[..., Any]] = {}

    def _op(self, reference: Callable[..., Any]) -> Callable[..., Any]:
        return self.ops.get(reference, reference)

    def step(self, params: Params, grads: Params, lr: float) -> dict[str, np.ndarray]:
        """The parameters after one update with learning rate `lr` (the inputs are not changed)."""
        missing = [n for n in params if n not in grads]
        if missing:
            raise InputError(f"no gradient for parameter(s) {missing}")
        out = {
            n: self._update(n, np.asarray(p), np.asarray(grads[n]), float(lr))
            for n, p in params.items()
        }
        self.steps += 1
        return out

    def _update(self, name: str, x: np.ndarray, g: np.ndarray, lr: float) -> np.ndarray:
        raise NotImplementedError

    def state_arrays(self) -> dict[str, np.ndarray]:
        """The whole state as flat arrays: "steps" and "<param>/<slot>" (for checkpoints)."""
        out = {"steps": np.array(self.steps, np.int64)}
        for name, slots in self.state.items():
            out.update({f"{name}/{k}": np.array(v) for k, v in slots.items()})
        return out

    def load_state_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        """Restores what `state_arrays` returned."""
        self.steps = int(arrays["steps"])
        self.state = {}
        for key, value in arrays.items():
            if key != "steps":
                name, slot = key.rsplit("/", 1)
                self.state.setdefault(name, {})[slot] = np.array(value)


class SGD(Optimizer):
    """g ← g + λx; b ← μb + g (b = g on the first step); x ← x - lr·(g + μb if nesterov else b)"""

    def __init__(self, momentum: float = 0.0, nesterov: bool = False, weight_decay: float = 0.0):
        super().__init__()
        if momentum < 0 or weight_decay < 0:
            raise InputError("momentum and weight_decay must be >= 0")
        if nesterov and momentum <= 0:
            raise InputError("Nesterov momentum needs momentum > 0")
        self.momentum, self.nesterov, self.weight_decay = momentum, nesterov, weight_decay

    def _update(self, name: str, x: np.ndarray, g: np.ndarray, lr: float) -> np.ndarray:
        s = self.state.setdefault(name, {"buf": np.zeros_like(x)})
        x_new, s["buf"] = self._op(momentum_1)(
            np.array(lr),
            np.array(self.steps),
            x,
            g.astype(x.dtype),
            s["buf"],
            alpha=self.momentum,
            beta=1.0,
            norm_coefficient=self.weight_decay,
            mode="nesterov" if self.nesterov else "standard",
        )
        return x_new


class Adam(Optimizer):
    """m ← β₁m + (1-β₁)g; v ← β₂v + (1-β₂)g²; x ← x - lr·m̂/(√v̂ + ε), hats: bias-corrected;
    g ← g + λx (L2 weight decay); AdamW (`decoupled=True`): x ← x(1 - lr·λ) before the update"""

    def __init__(
        self,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        *,
        decoupled: bool = False,
    ) -> None:
        super().__init__()
        if not (0 <= betas[0] < 1 and 0 <= betas[1] < 1) or eps <= 0 or weight_decay < 0:
            raise InputError(
                f"Adam needs betas in [0, 1), eps > 0, weight_decay >= 0; got "
                f"{betas}, {eps}, {weight_decay}"
            )
        self.betas, self.eps, self.weight_decay, self.decoupled = (
            betas,
            eps,
            weight_decay,
            decoupled,
        )

    def _update(self, name: str, x: np.ndarray, g: np.ndarray, lr: float) -> np.ndarray:
        s = self.state.setdefault(name, {"m": np.zeros_like(x), "v": np.zeros_like(x)})
        t = self.steps + 1
        b1, b2 = self.betas
        if self.decoupled:
            x = (x * x.dtype.type(1.0 - lr * self.weight_decay)).astype(x.dtype)
        # ONNX Adam divides by √v + ε with a bias-corrected rate; PyTorch by √v̂ + ε, which is the
        # same with ε scaled by √(1 - β₂ᵗ)
        x_new, s["m"], s["v"] = self._op(adam_1)(
            np.array(lr),
            np.array(t),
            x,
            g.astype(x.dtype),
            s["m"],
            s["v"],
            alpha=b1,
            beta=b2,
            epsilon=self.eps * float(np.sqrt(1.0 - b2**t)),
            norm_coefficient=0.0 if self.decoupled else self.weight_decay,
        )
        return x_new


def AdamW(
    betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.01
) -> Adam:
    """Adam with decoupled weight decay (PyTorch's AdamW, default weight_decay 0.01)."""
    return Adam(betas, eps, weight_decay, decoupled=True)


def make_optimizer(name: str, **options: Any) -> Optimizer:
    """An optimiser by name: "sgd", "adam" or "adamw"."""
    makers = {"sgd": SGD, "adam": Adam, "adamw": AdamW}
    if name not in makers:
        raise InputError(f"unknown optimizer {name!r}; choose one of {', '.join(makers)}")
    return makers[name](**options)  # type: ignore[no-any-return, operator]


def clip_by_global_norm(
    grads: Params, max_norm: float, eps: float = 1e-6
) -> tuple[dict[str, np.ndarray], float]:
    """(grads · min(1, max_norm / (‖g‖ + eps)), ‖g‖), ‖g‖ the 2-norm of all gradients together
    (PyTorch's clip_grad_norm_)."""
    if max_norm <= 0:
        raise InputError(f"max_norm must be positive, got {max_norm}")
    norm = float(
        np.sqrt(sum(float(np.sum(np.square(g, dtype=np.float64))) for g in grads.values()))
    )
    coef = max_norm / (norm + eps)
    if coef >= 1.0:
        return dict(grads), norm
    return {n: (g * g.dtype.type(coef)).astype(g.dtype) for n, g in grads.items()}, norm
