"""The ai.onnx.preview.training optimisers (Adam, Momentum, Adagrad): one and two parameter groups,
the learning rate R and step count T as scalar initializers (T = 0 takes the ops' first-step
branches), attributes drawn over their valid ranges. The squared-gradient accumulators H are
non-negative (as an optimiser keeps them); X, G and V take special values (NaN, ±inf propagate
element-wise).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from ..case import Arg, Case, Ctx
from ..values import shapes
from ._build import F3, fixed

TRAINING = "ai.onnx.preview.training"


def _rate(ctx: Ctx) -> np.ndarray:
    return np.array(ctx.draw(st.sampled_from((0.0, 1e-3, 0.1, 1.0))), ctx.dtype)


def _step(ctx: Ctx) -> np.ndarray:
    return np.array(ctx.draw(st.sampled_from((0, 1, 7))), np.int64)


def _groups(slots: int, groups: int) -> st.SearchStrategy[tuple[Any, ...]]:
    """(R, T, then `slots` blocks of `groups` shapes: X1..Xn, G1..Gn, ...)."""
    return st.lists(shapes(max_rank=3), min_size=groups, max_size=groups).map(
        lambda each: ((), (), *(s for _ in range(slots) for s in each))
    )


def _case(op: str, slots: tuple[str, ...], groups: int, attrs: Any, edge_attrs: dict) -> Case:
    args = [Arg(_rate, const=True), Arg(_step, dtype="int64", const=True)]
    for domain in slots:
        args += [Arg(domain, special=domain != "nonneg") for _ in range(groups)]
    edge = ((), (), *[(3, 17) for _ in range(len(slots) * groups)])
    return Case(op, tuple(args), F3, shapes=_groups(len(slots), groups), attrs=attrs,
                domain=TRAINING, variant="" if groups == 1 else f"{groups}groups",
                outputs=(len(slots) - 1) * groups, edges=((edge, edge_attrs),))  # fmt: skip


_unit = st.floats(0.0, 0.99)
_ADAM = fixed(
    alpha=_unit,
    beta=st.floats(0.0, 0.999),
    epsilon=st.sampled_from((1e-8, 1e-6, 1e-2)),
    norm_coefficient=st.floats(0.0, 0.1),
    norm_coefficient_post=st.floats(0.0, 0.1),
)
_MOMENTUM = fixed(
    alpha=_unit,
    beta=st.floats(0.0, 1.0),
    mode=st.sampled_from(("standard", "nesterov")),
    norm_coefficient=st.floats(0.0, 0.1),
)
_ADAGRAD = fixed(
    decay_factor=st.floats(0.0, 0.5),
    epsilon=st.sampled_from((1e-6, 1e-2)),
    norm_coefficient=st.floats(0.0, 0.1),
)
_ADAM_EDGE = {"alpha": 0.9, "beta": 0.999, "epsilon": 1e-8, "norm_coefficient": 0.01,
              "norm_coefficient_post": 0.0}  # fmt: skip
_MOMENTUM_EDGE = {"alpha": 0.9, "beta": 1.0, "mode": "nesterov", "norm_coefficient": 1e-4}
_ADAGRAD_EDGE = {"decay_factor": 0.1, "epsilon": 1e-6, "norm_coefficient": 0.0}

CASES: list[Case] = [
    case
    for groups in (1, 2)
    for case in (
        _case("Adam", ("any", "any", "any", "nonneg"), groups, _ADAM, _ADAM_EDGE),
        _case("Momentum", ("any", "any", "any"), groups, _MOMENTUM, _MOMENTUM_EDGE),
        _case("Adagrad", ("any", "any", "nonneg"), groups, _ADAGRAD, _ADAGRAD_EDGE),
    )
]
