"""Normalisations: Batch (7, 9, 14) / Instance / Layer / Group (18, 21) / RMS normalisation, LRN,
MVN. The edges: channel counts around the SIMD blocks, every normalised axis (negative too),
group counts, LRN window sizes against the channel count."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from ..case import Arg, Case, Ctx, Example
from ..values import make, nchw, shapes
from ._build import F3, FLOATS
from ._edges import grid

_EPS = st.sampled_from([1e-5, 1e-3])


@st.composite
def _channels(draw: Any, min_rank: int = 2) -> tuple[Any, ...]:
    x = draw(st.sampled_from([0, 1, 2]).flatmap(lambda s: nchw(spatial=s)))
    if len(x) < min_rank:
        x = (*x, 2)
    c = (x[1],)
    return (x, c, c, c, c)


def _spatial(ex: Example) -> int:
    return max(1, int(np.prod(ex.inputs[0].shape[2:])))


def _per_channel(domain: str) -> Arg:
    return Arg(domain, const=True)


def _layer_attrs(shapes_: tuple[Any, ...]) -> st.SearchStrategy[dict[str, Any]]:
    rank = len(shapes_[0])
    return st.fixed_dictionaries({"axis": st.integers(-rank, rank - 1), "epsilon": _EPS})


def _trailing(ctx: Ctx, domain: str) -> np.ndarray | None:
    x = ctx.shapes[0]
    axis = ctx.attrs["axis"] % len(x)
    return make(domain, tuple(x[axis:]), ctx.dtype, ctx.rng)


def _optional_bias(ctx: Ctx) -> np.ndarray | None:
    return _trailing(ctx, "any") if ctx.draw(st.booleans()) else None


def _normalized(ex: Example) -> int:
    x = ex.inputs[0]
    return max(1, int(np.prod(x.shape[ex.attrs["axis"] % x.ndim :])))


_RANKED = shapes(min_rank=1, max_rank=4, min_side=1).map(lambda s: (s,))


@st.composite
def _groups(draw: Any) -> tuple[Any, ...]:
    groups = draw(st.integers(1, 3))
    x = draw(nchw(spatial=draw(st.integers(0, 2)), max_c=1))
    x = (x[0], groups * draw(st.integers(1, 2)), *x[2:])
    return (x, {"num_groups": groups, "epsilon": draw(_EPS)})


def _group_param(per: str) -> Arg:
    def param(ctx: Ctx) -> np.ndarray:
        x, attrs = ctx.shapes
        n = attrs["num_groups"] if per == "group" else x[1]
        return make("any", (n,), ctx.dtype, ctx.rng)

    return Arg(param, const=True)


_CHANNEL_X = ((2, 17, 3), (1, 33, 2, 2), (3, 65), (2, 8, 1, 1, 2), (1, 9, 7))
_CHANNEL_EDGES = tuple(
    ((x, (x[1],), (x[1],), (x[1],), (x[1],)), {"epsilon": eps})
    for x, eps in zip(_CHANNEL_X, (1e-5, 1e-3, 0.1, 1e-5, 1e-3))
)
_AXIS_EDGES = grid([((2, 3, 17),)], axis=[0, 1, 2, -1, -2, -3]) + grid([((65,),), ((3, 33),)],
                                                                        axis=[-1])  # fmt: skip
_GROUP_EDGES = tuple(((x, {"num_groups": g, "epsilon": 1e-5}), None)
                     for x, g in (((2, 16, 3), 4), ((1, 33, 2), 3), ((1, 8, 2, 2), 8),
                                  ((1, 8, 2, 2), 1), ((2, 4, 17), 2)))  # fmt: skip
CASES: list[Case] = [
    Case("BatchNormalization",
         (Arg("any"), _per_channel("any"), _per_channel("any"), _per_channel("any"),
          _per_channel("positive")),
         FLOATS, shapes=_channels(), tol="default", edges=_CHANNEL_EDGES,
         attrs=lambda s: st.fixed_dictionaries({"epsilon": _EPS})),  # fmt: skip
    *(Case("BatchNormalization",
           (Arg("any"), _per_channel("any"), _per_channel("any"), _per_channel("any"),
            _per_channel("positive")),
           F3, shapes=_channels(), opset=v, variant=f"opset{v}", edges=_CHANNEL_EDGES)
      for v in (9, 7)),  # fmt: skip
    # training mode (opset 14+): batch moments, running statistics as outputs 1 and 2
    Case("BatchNormalization",
         (Arg("any"), _per_channel("any"), _per_channel("any"), _per_channel("any"),
          _per_channel("positive")),
         F3, shapes=_channels(), outputs=3, variant="training", tol="reduction",
         reduced=lambda ex: max(1, ex.inputs[0].size // max(1, ex.inputs[0].shape[1])),
         edges=tuple((s, {**a, "training_mode": 1}) for s, a in _CHANNEL_EDGES),
         attrs=lambda s: st.fixed_dictionaries(
             {"epsilon": _EPS, "momentum": st.sampled_from([0.9, 0.1]),
              "training_mode": st.just(1)})),  # fmt: skip
    Case("InstanceNormalization", (Arg("any"), _per_channel("any"), _per_channel("any")), FLOATS,
         shapes=st.sampled_from([1, 2]).flatmap(lambda s: _channels()).filter(
             lambda t: len(t[0]) >= 3),
         attrs=lambda s: st.fixed_dictionaries({"epsilon": _EPS}), tol="reduction",
         reduced=_spatial, edges=tuple(((x, (x[1],), (x[1],)), None) for x in _CHANNEL_X
                                       if len(x) >= 3)),  # fmt: skip
    Case("LayerNormalization",
         (Arg("any"), Arg(lambda c: _trailing(c, "any"), const=True),
          Arg(_optional_bias, const=True)),
         FLOATS, shapes=_RANKED, attrs=_layer_attrs, tol="reduction", reduced=_normalized,
         edges=_AXIS_EDGES),
    Case("LayerNormalization",
         (Arg("any"), Arg(lambda c: _trailing(c, "any"), const=True)),
         F3, shapes=_RANKED, attrs=_layer_attrs, tol="reduction", reduced=_normalized,
         outputs=3, variant="mean_invstd", edges=_AXIS_EDGES, accumulate=True),  # fmt: skip
    Case("RMSNormalization", (Arg("any"), Arg(lambda c: _trailing(c, "any"), const=True)),
         FLOATS, shapes=_RANKED, attrs=_layer_attrs, tol="reduction", reduced=_normalized,
         edges=_AXIS_EDGES),
    Case("GroupNormalization", (Arg("any"), _group_param("channel"), _group_param("channel")),
         FLOATS, shapes=_groups(), attrs=lambda s: st.just(dict(s[1])), tol="reduction",
         reduced=lambda ex: max(1, ex.inputs[0].size // ex.attrs["num_groups"]),
         edges=_GROUP_EDGES),  # fmt: skip
    Case("GroupNormalization", (Arg("any"), _group_param("group"), _group_param("group")),
         F3, shapes=_groups(), attrs=lambda s: st.just(dict(s[1])), tol="reduction",
         opset=18, variant="opset18", edges=_GROUP_EDGES,
         reduced=lambda ex: max(1, ex.inputs[0].size // ex.attrs["num_groups"])),  # fmt: skip
    Case("LRN", (Arg("any"),), FLOATS, shapes=nchw().map(lambda x: (x,)), tol="transcendental",
         attrs=lambda s: st.fixed_dictionaries({
             "size": st.sampled_from([1, 3, 5]), "alpha": st.sampled_from([1e-4, 0.1]),
             "beta": st.sampled_from([0.75, 0.5]), "bias": st.sampled_from([1.0, 2.0])}),
         edges=grid([((1, 17, 2, 2),), ((2, 3, 1, 4),)], size=[1, 3, 5])
         + grid([((1, 33, 1, 2),)], size=[3], alpha=[0.1], beta=[0.5], bias=[2.0])),
    Case("MeanVarianceNormalization", (Arg("any"),), F3, shapes=nchw().map(lambda x: (x,)),
         tol="reduction", reduced=lambda ex: max(1, ex.inputs[0].size),
         attrs=lambda s: st.sampled_from([{}, {"axes": [2, 3]}, {"axes": [1]}]),
         edges=grid([((2, 17, 3, 2),)], axes=[None, [2, 3], [1], [0, 1, 2, 3]])
         + grid([((1, 3, 1, 33),)], axes=[None])),
]  # fmt: skip
