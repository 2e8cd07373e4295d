"""Quantised ops: exact against the reference's integer semantics (round half to even,
saturation, int32 accumulation, and each float32 step of a requantisation: the multiplier
x_scale * w_scale / y_scale in float32, float32(acc) * multiplier, rint, + zero point), so an
int8 kernel is checked bit for bit. DynamicQuantizeLinear is exact too: its scale and zero
point are float32 expressions the spec fixes.

QuantizeLinear and DequantizeLinear run at every version: 10 (per tensor), 13 (per axis), 19,
21 (per block), 23. Their edges put values exactly halfway between two quantised levels (x =
(k + 1/2) * scale with a power-of-two scale: half-to-even rounding differs from rounding half
away from zero), far outside the range (saturation at both ends), per-channel scales on a 17-long
axis, negative axes, and blocks that do not divide their axis.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from ..case import Arg, Case, Ctx
from ..values import BLOCK_SIZES, shapes
from ._edges import grid
from .nn import CONV_EDGES, _conv_shapes

Q = ("uint8", "int8")
_SCALES = [0.5, 0.1, 0.02, 1.0]


def _ints(ctx: Ctx, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    info = np.iinfo(dtype)
    return ctx.rng.integers(int(info.min), int(info.max) + 1, size=shape).astype(dtype)


def _scale(ctx: Ctx) -> np.ndarray:
    return np.asarray(ctx.draw(st.sampled_from(_SCALES)), np.float32)


def _zero_point(dtype: str | None = None):
    def make(ctx: Ctx) -> np.ndarray:
        dt = dtype or ctx.dtype
        lo, hi = (0, 255) if dt == "uint8" else (-128, 127)
        return np.asarray(ctx.draw(st.integers(lo, hi)) // 2, dt)

    return Arg(make, dtype=dtype, const=True)


# ---- QuantizeLinear / DequantizeLinear -----------------------------------------------------------
def _param_shape(ctx: Ctx) -> tuple[int, ...]:
    """The shape of scale and zero point: () per tensor, (C,) per axis, blocks along the axis."""
    x, gran = ctx.shapes[0], ctx.attrs.get("_gran", "tensor")
    if gran == "tensor":
        return ()
    axis = ctx.attrs["axis"] % len(x)
    if gran == "axis":
        return (x[axis],)
    bs = ctx.attrs["block_size"]
    return tuple(-(-d // bs) if i == axis else d for i, d in enumerate(x))


def _q_scale(ctx: Ctx) -> np.ndarray:
    shape = _param_shape(ctx)
    if not shape:
        given = ctx.attrs.get("_scale")
        return np.asarray(given if given is not None else ctx.draw(st.sampled_from(_SCALES)),
                          np.float32)  # fmt: skip
    return ctx.rng.choice(np.asarray(_SCALES + [0.25], np.float32), size=shape)


def _q_zero_point(ctx: Ctx) -> np.ndarray | None:
    """Absent (uint8 output), or of the target type: uint8 or int8 (quantize), x's (dequantize)."""
    target = ctx.attrs.get("_zp", "draw")
    if target == "draw":
        target = ctx.draw(st.sampled_from([None, "uint8", "int8"]))
    if target is None:
        return None
    target = ctx.dtype if ctx.inputs[0].dtype.kind in "iu" else target
    info = np.iinfo(target)
    lo, hi = max(int(info.min), -128), min(int(info.max), 255)
    return ctx.rng.integers(lo // 2, hi // 2 + 1, size=_param_shape(ctx)).astype(target)


def _q_x(ctx: Ctx) -> np.ndarray:
    """Float values; with "_halves", exactly halfway between levels of the given scale."""
    x = ctx.shapes[0]
    if ctx.attrs.get("_halves"):
        k = ctx.rng.integers(-300, 300, size=x) + 0.5
        return (k * ctx.attrs["_scale"]).astype(ctx.dtype)
    if ctx.attrs.get("_far"):
        return ctx.rng.choice(np.asarray([-1e4, -300.0, 300.0, 1e4]), size=x).astype(ctx.dtype)
    return ctx.rng.uniform(-100, 100, size=x).astype(ctx.dtype)


def _dq_x(ctx: Ctx) -> np.ndarray:
    return _ints(ctx, ctx.shapes[0], ctx.dtype)


@st.composite
def _q_attrs(draw: Any, shapes_: tuple[Any, ...], since: int) -> dict[str, Any]:
    x = shapes_[0]
    grans = ["tensor"] + (["axis"] if since >= 13 and x else []) + (["block"] if since >= 21
                                                                       and x else [])  # fmt: skip
    gran = draw(st.sampled_from(grans))
    attrs: dict[str, Any] = {"_gran": gran}
    if gran != "tensor":
        attrs["axis"] = draw(st.integers(-len(x), len(x) - 1))
    if gran == "block":
        attrs["block_size"] = draw(st.integers(1, max(1, x[attrs["axis"]])))
    return attrs


def _q_edges(since: int, quantize: bool) -> tuple:
    out: list[Any] = []
    if quantize:
        out += [(((65,),), {"_halves": True, "_scale": s, "_zp": zp})
                for s in (0.5, 1.0) for zp in ("uint8", "int8")]  # fmt: skip
        out += [(((3, 17),), {"_far": True, "_scale": 1.0, "_zp": zp}) for zp in Q]
    out += [(((2, 33),), {"_scale": 0.1, "_zp": None}), (((),), {"_scale": 0.02, "_zp": "int8"})]
    if since >= 13:
        out += grid([((2, 17, 3),)], _gran=["axis"], axis=[1, -1, 0], _zp=["uint8"])
    if since >= 21:
        out += [(((3, 17),), {"_gran": "block", "axis": a, "block_size": b, "_zp": "int8"})
                for a, b in ((1, 4), (0, 2), (-1, 17))]  # fmt: skip
    return tuple(out)


def _linear(op: str, since: int) -> Case:
    quantize = op == "QuantizeLinear"
    newest = since == 23
    return Case(
        op,
        (Arg(_q_x if quantize else _dq_x, special=False),
         Arg(_q_scale, dtype="float32", const=True), Arg(_q_zero_point, const=True)),
        ("float32",) if quantize else Q + ("int32",),
        shapes=shapes(0, 3, min_side=1).map(lambda s: (s,)),
        attrs=lambda s: _q_attrs(s, since),
        tol="exact" if quantize else "default",
        opset=None if newest else since,
        variant="" if newest else f"opset{since}",
        edges=_q_edges(since, quantize),
    )  # fmt: skip


@st.composite
def _mm_shapes(draw: Any) -> tuple[Any, ...]:
    m, k, n = (draw(st.integers(1, 6)) for _ in range(3))
    if draw(st.integers(0, 2)) == 0:
        k = draw(st.sampled_from(BLOCK_SIZES))
    return ((m, k), (k, n))


_MM_EDGES = tuple(((a, b), None) for a, b in (((3, 17), (17, 9)), ((1, 65), (65, 1)),
                                              ((17, 33), (33, 2)), ((4, 16), (16, 8))))  # fmt: skip

CASES: list[Case] = [
    *(_linear("QuantizeLinear", v) for v in (23, 21, 19, 13, 10)),
    *(_linear("DequantizeLinear", v) for v in (23, 21, 19, 13, 10)),
    Case(
        "DynamicQuantizeLinear",
        (Arg("any"),),
        ("float32",),
        outputs=3,
        tol="exact",
        special=False,  # NaN/inf make the range itself undefined
        shapes=shapes(1, 3, min_side=1).map(lambda s: (s,)),
        edges=grid([((65,),), ((3, 17),), ((2, 2, 9),)]),
    ),  # fmt: skip
    Case(
        "MatMulInteger",
        (
            Arg(lambda c: _ints(c, c.shapes[0], c.dtype)),
            Arg(lambda c: _ints(c, c.shapes[1], c.dtype), const=True),
            _zero_point(),
            _zero_point(),
        ),
        Q,
        shapes=_mm_shapes(),
        tol="exact",
        edges=_MM_EDGES,
    ),  # fmt: skip
    Case(
        "QLinearMatMul",
        (
            Arg(lambda c: _ints(c, c.shapes[0], c.dtype)),
            Arg(_scale, dtype="float32", const=True),
            _zero_point(),
            Arg(lambda c: _ints(c, c.shapes[1], c.dtype), const=True),
            Arg(_scale, dtype="float32", const=True),
            _zero_point(),
            Arg(lambda c: np.asarray(4.0, np.float32), dtype="float32", const=True),
            _zero_point(),
        ),
        Q,
        shapes=_mm_shapes(),
        tol="exact",
        edges=_MM_EDGES,
    ),  # fmt: skip
]


def _conv_int(which: int):
    return Arg(lambda c: _ints(c, c.shapes[which], c.dtype), const=which == 1)


def _qconv_shapes() -> st.SearchStrategy[tuple[Any, ...]]:
    return _conv_shapes().map(lambda t: (t[0], t[1], t[3]))


_QCONV = tuple((e[0][0], e[0][1], e[0][3]) for e in CONV_EDGES[::3])

CASES += [
    Case(
        "ConvInteger",
        (_conv_int(0), _conv_int(1), _zero_point(), _zero_point()),
        ("uint8",),
        shapes=_qconv_shapes().map(lambda t: (t[0], t[1], None, None, t[2])),
        attrs=lambda s: st.just(dict(s[-1])),
        tol="exact",
        edges=tuple(((x, w, None, None, a), None) for x, w, a in _QCONV),
    ),  # fmt: skip
    Case(
        "QLinearConv",
        (
            _conv_int(0),
            Arg(_scale, dtype="float32", const=True),
            _zero_point(),
            Arg(lambda c: _ints(c, c.shapes[3], c.dtype), const=True),
            Arg(_scale, dtype="float32", const=True),
            _zero_point(),
            Arg(lambda c: np.asarray(2.0, np.float32), dtype="float32", const=True),
            _zero_point(),
        ),
        Q,
        shapes=_qconv_shapes().map(lambda t: (t[0], None, None, t[1], t[2])),
        attrs=lambda s: st.just(dict(s[-1])),
        tol="exact",
        edges=tuple(((x, None, None, w, a), None) for x, w, a in _QCONV),
    ),  # fmt: skip
]
