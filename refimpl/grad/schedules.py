"""Learning-rate schedules: the rate as a function of the optimiser step (0 for the first update).

Every schedule takes an optional linear warm-up: during the first `warmup` steps the rate rises
linearly, lr·(step + 1)/warmup, and the schedule proper then runs on `step - warmup`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import InputError


@dataclass(frozen=True)
class Schedule:
    """kind "constant": lr; "step": lr·γ^⌊s/step_size⌋; "cosine": lr_min + (lr - lr_min)·½(1 +
    cos(π·min(s, T)/T)), T = total_steps - warmup, s the step after warm-up."""

    lr: float
    kind: str = "constant"
    warmup: int = 0
    step_size: int = 1
    gamma: float = 0.1
    total_steps: int = 0
    lr_min: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in ("constant", "step", "cosine"):
            raise InputError(f"unknown schedule {self.kind!r}; use constant, step or cosine")
        if self.lr <= 0 or self.warmup < 0 or self.step_size < 1:
            raise InputError("a schedule needs lr > 0, warmup >= 0 and step_size >= 1")
        if self.kind == "cosine" and self.total_steps <= self.warmup:
            raise InputError(
                f"a cosine schedule needs total_steps > warmup, got {self.total_steps} "
                f"and {self.warmup}"
            )

    def __call__(self, step: int) -> float:
        if step < self.warmup:
            return self.lr * (step + 1) / self.warmup
        s = step - self.warmup
        if self.kind == "step":
            return self.lr * self.gamma ** (s // self.step_size)
        if self.kind == "cosine":
            span = self.total_steps - self.warmup
            return self.lr_min + (self.lr - self.lr_min) * 0.5 * (
                1.0 + math.cos(math.pi * min(s, span) / span)
            )
        return self.lr
