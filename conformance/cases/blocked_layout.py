"""The blocked channel layout's ops (domain `gossamer`, planned by the channel_blocking pass for
the cython backend): the reorders, NchwcConv (group-1 conv on an NCHW or blocked input and
depthwise conv, with bias, residual z, the fused activation and a scalar or per-channel scale and
shift after it), NchwcGlobalAveragePool, NchwcMaxPool, NchwcConvMaxPool (the two fused) and
NchwcDepthwisePointwise (a depthwise conv and the 1x1 conv of its result, fused; opt-in in the
pass).
Channel counts are multiples of the block (8), as the pass guarantees."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from ...refimpl.op_geometry import window
from ..case import Arg, Case, Ctx
from ..values import make
from ._build import FLOATS
from .pool import DILATED, WINDOWS, _pool_shapes

GD = "gossamer"
B = 8


def _attrs_last(shapes_: tuple[Any, ...]) -> st.SearchStrategy[dict[str, Any]]:
    return st.just(dict(shapes_[-1]))


@st.composite
def _plain(draw: Any) -> tuple[Any, ...]:
    n, cb, h, w = (draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 6)),
                   draw(st.integers(1, 6)))  # fmt: skip
    return ((n, cb * B, h, w),)


@st.composite
def _blocked(draw: Any) -> tuple[Any, ...]:
    n, cb, h, w = (draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 6)),
                   draw(st.integers(1, 6)))  # fmt: skip
    return ((n, cb, h, w, B),)


_ACTS = st.sampled_from([{}, {"activation": "Relu"},
                         {"activation": "Clip", "activation_params": [-0.5, 1.0]},
                         {"activation": "HardSwish"}, {"activation": "Sigmoid"},
                         {"activation": "LeakyRelu", "activation_params": [0.1]},
                         {"activation": "HardSigmoid", "activation_params": [0.2, 0.5]},
                         {"activation": "Swish", "activation_params": [1.5]}])  # fmt: skip


def _affine(draw: Any, m: int) -> tuple[Any, Any]:
    """The shapes of scale and shift: absent, a scalar or one per output channel."""
    shapes = st.sampled_from([None, None, (1,), (1, m, 1, 1), (m, 1, 1)])
    return draw(shapes), draw(shapes)


@st.composite
def _conv(draw: Any) -> tuple[Any, ...]:
    """(x, w, b, z placeholder, attrs): depthwise, or group 1 on a blocked or an NCHW input."""
    n, h, w = draw(st.integers(1, 2)), draw(st.integers(1, 9)), draw(st.integers(1, 9))
    k = draw(st.sampled_from([1, 3]))
    s = draw(st.sampled_from([1, 2]))
    attrs: dict[str, Any] = {"kernel_shape": [k, k], "strides": [s, s]}
    if k == 3 and draw(st.booleans()):
        attrs["pads"] = [1, 1, 1, 1]
    if k > min(h, w):  # the window must fit the padded input
        attrs["pads"] = [1, 1, 1, 1]
    attrs.update(draw(_ACTS))
    kind = draw(st.sampled_from(["depthwise", "blocked", "nchw"]))
    if kind == "depthwise":
        cb = draw(st.integers(1, 3))
        attrs["group"] = cb * B
        return ((n, cb, h, w, B), (cb * B, 1, k, k), (cb * B,), None, *_affine(draw, cb * B),
                attrs)  # fmt: skip
    m = B * draw(st.integers(1, 5))
    if kind == "blocked":
        cb = draw(st.integers(1, 3))
        return ((n, cb, h, w, B), (m, cb * B, k, k), draw(st.sampled_from([(m,), None])), None,
                *_affine(draw, m), attrs)  # fmt: skip
    c = draw(st.integers(1, 5))
    return ((n, c, h, w), (m, c, k, k), (m,), None, *_affine(draw, m), attrs)


def _residual(weights: int = 1) -> Arg:
    """z, laid out as the blocked output (its channels: input `weights`' output channels), in
    about half the examples."""

    def make_z(ctx: Ctx) -> np.ndarray | None:
        if not ctx.draw(st.booleans()):
            return None
        x, w, a = ctx.inputs[0], ctx.inputs[weights], ctx.attrs
        win = window(x.shape[2:4], a["kernel_shape"], strides=a.get("strides"),
                     pads=a.get("pads"))  # fmt: skip
        return make("any", (x.shape[0], w.shape[0] // B, *win.out, B), ctx.dtype, ctx.rng)

    return Arg(make_z)


_CONV_EDGES = (
    ((1, 2, 9, 17, 8), (24, 16, 1, 1), (24,), None, None, None, {"kernel_shape": [1, 1]}),
    ((1, 3, 17, 9), (16, 3, 3, 3), (16,), None, None, None,
     {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1], "activation": "Clip",
      "activation_params": [0.0, 6.0]}),
    ((1, 3, 9, 9, 8), (24, 1, 3, 3), (24,), None, None, None,
     {"kernel_shape": [3, 3], "group": 24, "pads": [1, 1, 1, 1], "activation": "Relu"}),
    # ppocrv4_rec: a 5x5 depthwise conv, HardSwish, then a scalar Mul and Add (learnable affine)
    ((1, 2, 6, 20, 8), (16, 1, 5, 5), (16,), None, (1,), (1,),
     {"kernel_shape": [5, 5], "group": 16, "strides": [2, 1], "pads": [2, 2, 2, 2],
      "activation": "HardSwish"}),
    # squeeze-and-excitation: a 1x1 conv of an NCHW (N, 10, 1, 1) with HardSigmoid, per-channel
    ((1, 10, 1, 1), (40, 10, 1, 1), (40,), None, (1, 40, 1, 1), (40, 1, 1),
     {"kernel_shape": [1, 1], "activation": "HardSigmoid", "activation_params": [0.2, 0.5]}),
)  # fmt: skip


@st.composite
def _conv_max_pool(draw: Any) -> tuple[Any, ...]:
    """(x, w, b, scale, shift, attrs): a group-1 conv (blocked or NCHW input) and a max pool of
    its result whose window fits it (its attributes prefixed pool_)."""
    x, w, b, _, scale, shift, attrs = draw(_conv().filter(lambda t: "group" not in t[-1]))
    a = attrs
    out = window(x[2:4], a["kernel_shape"], strides=a.get("strides"), pads=a.get("pads")).out
    k = draw(st.integers(1, min(3, *out)))
    pool = {"pool_kernel_shape": [k, k], "pool_strides": [draw(st.integers(1, 2))] * 2}
    if k > 1 and draw(st.booleans()):
        pool["pool_pads"] = [1, 1, 1, 1]
    if draw(st.booleans()):
        pool["pool_ceil_mode"] = 1
    return (x, w, b, scale, shift, {**attrs, **pool})


_CONV_MAX_POOL_EDGES = (
    # SqueezeNet 1.1's stem and first pool, on a smaller plane
    ((1, 3, 19, 23), (64, 3, 3, 3), (64,), None, None,
     {"kernel_shape": [3, 3], "strides": [2, 2], "activation": "Relu",
      "pool_kernel_shape": [3, 3], "pool_strides": [2, 2], "pool_ceil_mode": 1}),
    # a blocked input, a padded pool
    ((1, 2, 9, 10, 8), (24, 16, 3, 3), (24,), None, None,
     {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1], "pool_kernel_shape": [3, 3],
      "pool_strides": [2, 2], "pool_pads": [1, 1, 1, 1]}),
)  # fmt: skip


@st.composite
def _depthwise_pointwise(draw: Any) -> tuple[Any, ...]:
    """(x, w, b, pw_w, pw_b, z placeholder, attrs): a depthwise conv (3x3 or 5x5, stride 1 or 2,
    the window centred) of a blocked input, then the 1x1 conv of its result (pw_ activation)."""
    n, h, w = draw(st.integers(1, 2)), draw(st.integers(1, 9)), draw(st.integers(1, 9))
    cb, k, s = draw(st.integers(1, 3)), draw(st.sampled_from([3, 5])), draw(st.sampled_from([1, 2]))
    attrs: dict[str, Any] = {"kernel_shape": [k, k], "strides": [s, s], "pads": [k // 2] * 4,
                             "group": cb * B, **draw(_ACTS)}  # fmt: skip
    attrs.update({f"pw_{key}": v for key, v in draw(_ACTS).items()})
    m = B * draw(st.integers(1, 4))
    return ((n, cb, h, w, B), (cb * B, 1, k, k), (cb * B,), (m, cb * B, 1, 1),
            draw(st.sampled_from([(m,), None])), None, attrs)  # fmt: skip


_DEPTHWISE_POINTWISE_EDGES = (
    # MobileNetV2's block: 3x3 depthwise + Clip(0, 6), the projection without activation
    ((1, 3, 9, 17, 8), (24, 1, 3, 3), (24,), (16, 24, 1, 1), (16,), None,
     {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1], "group": 24, "activation": "Clip",
      "activation_params": [0.0, 6.0]}),
    # stride 2, a 5x5 window, HardSwish after each conv
    ((1, 2, 9, 10, 8), (16, 1, 5, 5), (16,), (32, 16, 1, 1), None, None,
     {"kernel_shape": [5, 5], "strides": [2, 2], "pads": [2, 2, 2, 2], "group": 16,
      "activation": "HardSwish", "pw_activation": "HardSwish"}),
)  # fmt: skip


def _blocked_pool(shape: tuple[int, ...], attrs: dict[str, Any]) -> tuple[Any, ...]:
    """A 2-D pool's NCHW case blocked: its channels as 1-3 blocks of B."""
    n, c, h, w = shape
    return ((n, min(max(c, 1), 3), h, w, B), attrs)


# MaxPool's 2-D windows (conformance/cases/pool.py), ceil_mode both ways where it applies
_MAX_POOL_EDGES = tuple(
    (_blocked_pool(x, {**a, **({"ceil_mode": 1} if ceil else {})}), None)
    for x, a in WINDOWS + DILATED
    if len(x) == 4
    for ceil in ((0, 1) if "auto_pad" not in a else (0,))
)


CASES: list[Case] = [  # fmt: skip
    Case(
        "NchwcReorderInput",
        (Arg("any"),),
        FLOATS,
        domain=GD,
        shapes=_plain(),
        tol="exact",
        edges=((((1, 16, 9, 17),), None), (((2, 8, 1, 1),), None)),
    ),
    Case(
        "NchwcReorderOutput",
        (Arg("any"),),
        FLOATS,
        domain=GD,
        shapes=_blocked(),
        tol="exact",
        edges=((((1, 2, 9, 17, 8),), None), (((1, 1, 1, 1, 8),), None)),
    ),
    Case(
        "NchwcGlobalAveragePool",
        (Arg("any"),),
        FLOATS,
        domain=GD,
        shapes=_blocked(),
        tol="reduction",
        reduced=lambda ex: int(np.prod(ex.inputs[0].shape[2:4])),
        accumulate=True,
        edges=((((1, 3, 9, 9, 8),), None), (((2, 1, 1, 1, 8),), None)),
    ),
    Case(
        "NchwcMaxPool",
        (Arg("any"),),
        FLOATS,
        domain=GD,
        shapes=_pool_shapes(dilations=True, ceil=True, spatial=2).map(
            lambda t: _blocked_pool(*t)
        ),
        attrs=_attrs_last,
        tol="exact",
        edges=_MAX_POOL_EDGES,
    ),
    Case(
        "NchwcConvMaxPool",
        (
            Arg("any"),
            Arg("any", const=True),
            Arg("any", const=True),
            Arg("any", const=True),
            Arg("any", const=True),
        ),
        FLOATS,
        domain=GD,
        shapes=_conv_max_pool(),
        attrs=_attrs_last,
        tol="matmul",
        reduced=lambda ex: int(np.prod(ex.inputs[1].shape[1:])),
        edges=tuple((e, None) for e in _CONV_MAX_POOL_EDGES),
    ),
    Case(
        "NchwcConv",
        (
            Arg("any"),
            Arg("any", const=True),
            Arg("any", const=True),
            _residual(),
            Arg("any", const=True),
            Arg("any", const=True),
        ),  # fmt: skip
        FLOATS,
        domain=GD,
        shapes=_conv(),
        attrs=_attrs_last,
        tol="matmul",
        reduced=lambda ex: int(np.prod(ex.inputs[1].shape[1:])),
        edges=tuple((e, None) for e in _CONV_EDGES),
    ),
    Case(
        "NchwcDepthwisePointwise",
        (
            Arg("any"),
            Arg("any", const=True),
            Arg("any", const=True),
            Arg("any", const=True),
            Arg("any", const=True),
            _residual(weights=3),  # the 1x1 conv's
        ),  # fmt: skip
        FLOATS,
        domain=GD,
        shapes=_depthwise_pointwise(),
        attrs=_attrs_last,
        tol="matmul",
        reduced=lambda ex: int(np.prod(ex.inputs[1].shape[1:])) + ex.inputs[3].shape[1],
        edges=tuple((e, None) for e in _DEPTHWISE_POINTWISE_EDGES),
    ),
]
