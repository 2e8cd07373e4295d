"""Gossamer's own fused ops (domain `gossamer`): FusedConv, FusedGemm, FusedMatMul with every
activation epilogue, and the Gelu, Swish, HardSwish and LayerNormalization ops the converter emits
for opsets that predate the ONNX versions.

The convolution/GEMM/MatMul shapes come from the `nn` family; the activation (with or without its
`activation_params`) is drawn per example, the PRelu slope input is present exactly when the
activation is PRelu, and FusedConv's residual input z and FusedMatMul's residual in about half
the examples.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
from hypothesis import strategies as st

from ...refimpl.op_geometry import window
from ...refimpl.shape_inference.rules_nn import matmul_shape
from ..case import Arg, Case, Ctx, Example
from ..values import make, shapes
from ._build import F3, F32, FLOATS, unary
from .matmul import _MATMUL_EDGES, _gemm_shapes, _matmul_shapes, gemm_edges
from .nn import CONV_EDGES, _conv_shapes, _inner
from .norm import _AXIS_EDGES, _layer_attrs, _normalized, _optional_bias, _trailing

_PARAMS: dict[str, list[list[float]]] = {
    "": [], "Relu": [], "HardSwish": [], "Sigmoid": [], "PRelu": [], "Gelu": [],
    "Clip": [[-1.0, 2.0], [0.0, 6.0]], "HardSigmoid": [[0.2, 0.5], [0.5, 0.25]],
    "LeakyRelu": [[0.01], [0.3]], "Swish": [[1.0], [1.702]],
}  # fmt: skip
GD = "gossamer"


@st.composite
def _activation(draw: Any) -> dict[str, Any]:
    name = draw(st.sampled_from(sorted(_PARAMS)))
    attrs: dict[str, Any] = {"activation": name} if name or draw(st.booleans()) else {}
    if _PARAMS[name] and draw(st.booleans()):
        attrs["activation_params"] = draw(st.sampled_from(_PARAMS[name]))
    return attrs


def _with_activation(base: st.SearchStrategy[tuple[Any, ...]]) -> st.SearchStrategy[tuple]:
    """Appends the activation to the base case's attribute dict (the last entry)."""
    return st.tuples(base, _activation()).map(lambda t: (*t[0][:-1], {**t[0][-1], **t[1]}))


def _slope(channels: Any) -> Arg:
    """The PRelu slope (only with activation PRelu), per output channel or a single value."""

    def make_slope(ctx: Ctx) -> np.ndarray | None:
        if ctx.attrs.get("activation") != "PRelu":
            return None
        shape = channels(ctx) if ctx.draw(st.booleans()) else (1,)
        return make("any", shape, ctx.dtype, ctx.rng)

    return Arg(make_slope, const=True)


def _residual() -> Arg:
    """FusedConv's residual z (input 4), present in about half the examples: the convolution
    output's shape (computed from x, w and the drawn geometry)."""

    def make_z(ctx: Ctx) -> np.ndarray | None:
        if not (ctx.attrs["_z"] if "_z" in ctx.attrs else ctx.draw(st.booleans())):
            return None
        x, w, a = ctx.inputs[0], ctx.inputs[1], ctx.attrs
        win = window(
            x.shape[2:], a.get("kernel_shape") or w.shape[2:], strides=a.get("strides"),
            dilations=a.get("dilations"), pads=a.get("pads"), auto_pad=a.get("auto_pad", "NOTSET"),
        )  # fmt: skip
        return make("any", (x.shape[0], w.shape[0], *win.out), ctx.dtype, ctx.rng)

    return Arg(make_z)


def _matmul_residual() -> Arg:
    """FusedMatMul's residual (input 4), present in about half the examples: the product's shape
    (numpy matmul of the two operands' shapes)."""

    def make_residual(ctx: Ctx) -> np.ndarray | None:
        if not (ctx.attrs["_z"] if "_z" in ctx.attrs else ctx.draw(st.booleans())):
            return None
        shape = matmul_shape(ctx.inputs[0].shape, ctx.inputs[1].shape)
        return None if shape is None else make("any", shape, ctx.dtype, ctx.rng)

    return Arg(make_residual)


def _attrs_last(shapes_: tuple[Any, ...]) -> st.SearchStrategy[dict[str, Any]]:
    return st.just(dict(shapes_[-1]))


def _conv_channels(ctx: Ctx) -> tuple[int, ...]:
    w = ctx.inputs[1]
    return (w.shape[0], *[1] * (w.ndim - 2))


def _last_dim(ctx: Ctx) -> tuple[int, ...]:
    b, trans = ctx.inputs[1], ctx.attrs.get("transB", 0)
    return (b.shape[0] if trans else b.shape[-1],) if b.ndim else (1,)


@st.composite
def _matmul_bias(draw: Any) -> tuple[Any, ...]:
    a, b = draw(_matmul_shapes())
    n = b[-1] if len(b) > 1 else None
    bias = draw(st.sampled_from([(n,), (1,), None])) if n is not None else None
    return (a, b, bias, None, None, {})


def _k(ex: Example) -> int:
    return max(1, ex.inputs[0].shape[-1])


_ACTS = sorted(_PARAMS)


def _act(k: int) -> dict[str, Any]:
    """The k-th activation of the table (with its first parameter set, if it has one)."""
    name = _ACTS[k % len(_ACTS)]
    params = {"activation_params": _PARAMS[name][0]} if _PARAMS[name] else {}
    return {"activation": name, **params} if name else {}


_FCONV = tuple(
    ((x, w, b, None, None, {**a, **_act(k), "_z": k % 3 == 0}), None)
    for k, ((x, w, b, a), _) in enumerate(CONV_EDGES[::2])
)
_FGEMM = tuple(
    ((a, b, c, None, {**attrs, **_act(k)}), None)
    for k, ((a, b, c, attrs), _) in enumerate(gemm_edges(False)[::3])
)
_FMATMUL = tuple(
    (
        (
            a, b, (b[-1],) if len(b) > 1 else None, None, None,
            {**(_act(k) if len(a) + len(b) > 2 else {}), "_z": k % 3 == 0 and len(a) > 1},
        ),
        None,
    )
    for k, ((a, b), _) in enumerate(_MATMUL_EDGES)
)  # fmt: skip


@st.composite
def _attention_shapes(draw: Any) -> tuple[Any, ...]:
    """PackedAttention: qkv [B, S, 3 N D], a mask of one of the shapes a model adds (per key,
    per batch and key, per query row: the last runs the reference on the cython backend) or
    none, num_heads N and a scale."""
    b, s = draw(st.integers(1, 3)), draw(st.integers(1, 40))
    heads, d = draw(st.integers(1, 4)), draw(st.integers(1, 20))
    mask = draw(st.sampled_from([None, (1, 1, 1, s), (b, 1, 1, s), (s,), (1, s), (b, 1, s, s)]))
    scale = draw(st.sampled_from([1.0, 0.125, 0.17677669]))
    return ((b, s, 3 * heads * d), mask, {"num_heads": heads, "scale": scale})


_ATTENTION_EDGES = tuple(
    (((b, s, 3 * h * d), m, {"num_heads": h, "scale": 0.17677669}), None)
    for b, s, h, d, m in [(1, 128, 12, 32, (1, 1, 1, 128)), (2, 17, 3, 16, (2, 1, 1, 17)),
                          (1, 33, 2, 64, None), (1, 1, 1, 1, (1, 1, 1, 1))]
)  # fmt: skip


@st.composite
def _pair_shapes(draw: Any) -> tuple[Any, ...]:
    """FusedConvPair: x, w1, b1, w2, b2, z (made by _pair_residual) and the two convs' geometry
    and activations (2-D, group 1; the second stride 1)."""
    n, c, h, w = (draw(st.integers(1, 2)), draw(st.integers(1, 5)), draw(st.integers(3, 9)),
                  draw(st.integers(3, 9)))  # fmt: skip
    m1, m2 = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    k1 = draw(st.sampled_from([(1, 1), (3, 3), (1, 3)]))
    k2 = draw(st.sampled_from([(3, 3), (2, 1)]))
    attrs: dict[str, Any] = {"_z": draw(st.booleans())}
    attrs["pads"] = [k1[0] // 2, k1[1] // 2] * 2
    attrs["strides"] = [draw(st.integers(1, 2))] * 2
    attrs["second_pads"] = [k2[0] // 2, k2[1] // 2, draw(st.integers(0, 1)), 0]
    for key in ("activation", "second_activation"):
        name = draw(st.sampled_from(["", "Relu", "Clip"]))
        if name:
            attrs[key] = name
    if attrs.get("activation") == "Clip":
        attrs["activation_params"] = [0.0, 6.0]
    bias = draw(st.booleans())
    return ((n, c, h, w), (m1, c, *k1), (m1,) if bias else None, (m2, m1, *k2),
            (m2,) if bias else None, None, attrs)  # fmt: skip


def _pair_residual() -> Arg:
    """FusedConvPair's residual z (the second conv's output shape), where attrs' _z says."""

    def make_z(ctx: Ctx) -> np.ndarray | None:
        if not ctx.attrs["_z"]:
            return None
        x, w1, w2, a = ctx.inputs[0], ctx.inputs[1], ctx.inputs[3], ctx.attrs
        first = window(x.shape[2:], w1.shape[2:], strides=a.get("strides"), pads=a.get("pads"))
        second = window(first.out, w2.shape[2:], pads=a.get("second_pads"))
        return make("any", (x.shape[0], w2.shape[0], *second.out), ctx.dtype, ctx.rng)

    return Arg(make_z)


# ResNet's basic block as the hand-off runs it (32-channel multiples), and a downsampling one
_FCONV_PAIR = tuple(
    (((1, c, hw, hw), (m, c, 3, 3), (m,), (m, m, 3, 3), (m,), None,
      {"_z": z, "pads": [1, 1, 1, 1], "strides": [s, s], "activation": "Relu",
       "second_pads": [1, 1, 1, 1], "second_activation": "Relu"}), None)
    for c, m, hw, s, z in [(32, 32, 9, 1, True), (16, 64, 10, 2, False)]
)  # fmt: skip

CASES: list[Case] = [
    Case(
        "FusedConvPair",
        tuple(Arg("any", const=i > 0) for i in range(5)) + (_pair_residual(),),
        FLOATS,
        domain=GD,
        shapes=_pair_shapes(),
        attrs=_attrs_last,
        tol="matmul",
        reduced=lambda ex: int(np.prod(ex.inputs[1].shape[1:]) * np.prod(ex.inputs[3].shape[1:])),
        edges=_FCONV_PAIR,
    ),
    Case(
        "FusedConv",
        (
            Arg("any"),
            Arg("any", const=True),
            Arg("any", const=True),
            _slope(_conv_channels),
            _residual(),
        ),
        FLOATS,
        domain=GD,
        shapes=_with_activation(_conv_shapes().map(lambda t: (*t[:3], None, None, t[3]))),
        attrs=_attrs_last,
        tol="matmul",
        reduced=_inner,
        edges=_FCONV,
    ),
    Case(
        "FusedGemm",
        (Arg("any"), Arg("any", const=True), Arg("any", const=True), _slope(_last_dim)),
        FLOATS,
        domain=GD,
        shapes=_with_activation(_gemm_shapes().map(lambda t: (*t[:3], None, t[3]))),
        attrs=_attrs_last,
        tol="matmul",
        reduced=lambda ex: max(1, ex.inputs[0].shape[0 if ex.attrs["transA"] else 1]),
        edges=_FGEMM,
    ),
    Case(
        "FusedMatMul",
        (
            Arg("any"), Arg("any", const=True), Arg("any", const=True), _slope(_last_dim),
            _matmul_residual(),
        ),
        FLOATS,
        domain=GD,
        shapes=_with_activation(_matmul_bias()),
        attrs=_attrs_last,
        tol="matmul",
        reduced=_k,
        edges=_FMATMUL,
    ),
    replace(
        unary(
            "Gelu",
            FLOATS,
            tol="transcendental",
            attrs=lambda s: st.sampled_from([{}, {"approximate": "tanh"}]),
        ),
        domain=GD,
    ),
    replace(unary("HardSwish", FLOATS), domain=GD),
    replace(
        unary(
            "Swish",
            FLOATS,
            tol="transcendental",
            attrs=lambda s: st.sampled_from([{}, {"alpha": 1.702}, {"alpha": 0.5}]),
        ),
        domain=GD,
    ),  # fmt: skip
    Case(
        "LayerNormalization",
        (
            Arg("any"),
            Arg(lambda c: _trailing(c, "any"), const=True),
            Arg(_optional_bias, const=True),
        ),
        FLOATS,
        domain=GD,
        shapes=shapes(min_rank=1, max_rank=4, min_side=1).map(lambda s: (s,)),
        attrs=_layer_attrs,
        tol="reduction",
        reduced=_normalized,
        outputs=3,
        edges=_AXIS_EDGES,
        accumulate=True,
    ),  # fmt: skip
    Case(
        "PackedAttention",
        (Arg("any"), Arg("any")),
        F32,
        domain=GD,
        shapes=_attention_shapes(),
        attrs=_attrs_last,
        tol="matmul",  # two products (the scores over D, then P v over S) and a softmax
        reduced=lambda ex: max(ex.inputs[0].shape[1], ex.inputs[0].shape[2] // 3),
        edges=_ATTENTION_EDGES,
        accumulate=True,
    ),
]
_ = F3
