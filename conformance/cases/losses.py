"""Losses: NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss, with and without class weights,
ignore_index (some targets set to it, never all: a mean over no element is 0/0) and every
reduction, on (N, C) and (N, C, d1, ...) inputs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from ..case import Arg, Case, Ctx, Example
from ._build import FLOATS


@st.composite
def _loss_shapes(draw: Any) -> tuple:
    """(scores, target, weight, attrs)."""
    n, c = draw(st.integers(1, 4)), draw(st.integers(1, 5))
    if draw(st.integers(0, 2)) == 0:  # a class count past a SIMD block
        c = draw(st.sampled_from((7, 8, 9, 15, 16, 17, 33)))
    extra = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    attrs: dict[str, Any] = {"reduction": draw(st.sampled_from(["mean", "sum", "none"]))}
    if draw(st.booleans()):
        attrs["ignore_index"] = draw(st.sampled_from([-1, 0, c - 1] if c > 1 else [-1]))
    weight = (c,) if draw(st.booleans()) else None
    return ((n, c, *extra), (n, *extra), weight, attrs)


def _target(ctx: Ctx) -> np.ndarray:
    """Classes in [0, C); with ignore_index, about 30% set to it, the first element never."""
    (_, c, *_), shape = ctx.shapes[0], ctx.shapes[1]
    target = ctx.rng.integers(0, c, size=shape)
    ignore = ctx.attrs.get("ignore_index")
    if ignore is not None:
        target = np.where(ctx.rng.random(shape) < 0.3, ignore, target)
        flat = target.reshape(-1)
        flat[0] = (ignore + 1) % c if 0 <= ignore < c else flat[0]
        if flat[0] == ignore:
            flat[0] = 0
    return target.astype(np.int64)


_EDGES = tuple(
    ((x, (x[0], *x[2:]), w, {"reduction": r, **({"ignore_index": i} if i is not None else {})}),
     None)
    for x, w, r, i in (((3, 17), (17,), "mean", None), ((2, 17, 3), None, "sum", 1),
                       ((4, 9), (9,), "none", -1), ((2, 33), (33,), "mean", 0),
                       ((1, 5, 2, 2), None, "mean", None), ((65, 2), None, "sum", None))
)  # fmt: skip


def _classes(ex: Example) -> int:
    return max(1, ex.inputs[0].shape[1]) * max(1, ex.inputs[1].size)


CASES: list[Case] = [
    Case(
        "NegativeLogLikelihoodLoss",
        (Arg("any"), Arg(_target, dtype="int64"), Arg("positive", const=True)),
        FLOATS,
        shapes=_loss_shapes(),
        attrs=lambda s: st.just(dict(s[-1])),
        tol="reduction",
        reduced=_classes,
        edges=_EDGES,
        accumulate=True,
    ),
    Case(
        "SoftmaxCrossEntropyLoss",
        (Arg("any"), Arg(_target, dtype="int64"), Arg("positive", const=True)),
        FLOATS,
        shapes=_loss_shapes(),
        attrs=lambda s: st.just(dict(s[-1])),
        outputs=2,
        tol="reduction",
        reduced=_classes,
        edges=_EDGES,
        accumulate=True,
    ),
]
