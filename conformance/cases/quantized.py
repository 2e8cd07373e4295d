"""Quantised ops: exact against the reference's integer semantics (round half to even,
saturation, int32 accumulation), or within one unit (tol "quant1") where the spec allows
rounding freedom (requantisation of a float intermediate in QLinear*)."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from ..case import Arg, Case, Ctx
from ..values import nchw, shapes
from .nn import _conv_shapes

Q = ("uint8", "int8")
_ANY = shapes(0, 4).map(lambda s: (s,))


def _ints(ctx: Ctx, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    info = np.iinfo(dtype)
    return ctx.rng.integers(int(info.min), int(info.max) + 1, size=shape).astype(dtype)


def _scale(ctx: Ctx) -> np.ndarray:
    return np.asarray(ctx.draw(st.sampled_from([0.5, 0.1, 0.02, 1.0])), np.float32)


def _zero_point(dtype: str | None = None):
    def make(ctx: Ctx) -> np.ndarray:
        dt = dtype or ctx.dtype
        lo, hi = (0, 255) if dt == "uint8" else (-128, 127)
        return np.asarray(ctx.draw(st.integers(lo, hi)) // 2, dt)

    return Arg(make, dtype=dtype, const=True)


def _int_input(ctx_shape_index: int):
    return Arg(lambda c: _ints(c, c.shapes[ctx_shape_index], c.dtype))


def _float_zero_point(ctx: Ctx) -> np.ndarray:
    target = ctx.draw(st.sampled_from(Q))
    return np.asarray(3 if target == "uint8" else -3, target)


@st.composite
def _mm_shapes(draw: Any) -> tuple[Any, ...]:
    m, k, n = (draw(st.integers(1, 6)) for _ in range(3))
    return ((m, k), (k, n))


CASES: list[Case] = [
    # float -> int: x/scale rounded half to even, plus zero point, saturated
    Case(
        "QuantizeLinear",
        (Arg("wide"), Arg(_scale, dtype="float32", const=True), Arg(_float_zero_point, const=True)),
        ("float32",),
        shapes=_ANY,
        tol="exact",
        special=False,
    ),  # fmt: skip
    Case(
        "QuantizeLinear",
        (Arg("wide"), Arg(_scale, dtype="float32", const=True)),
        ("float32",),
        shapes=_ANY,
        tol="exact",
        variant="no_zero_point",
    ),  # fmt: skip
    Case(
        "DequantizeLinear",
        (
            Arg(lambda c: _ints(c, c.shapes[0], c.dtype)),
            Arg(_scale, dtype="float32", const=True),
            _zero_point(),
        ),
        Q + ("int32",),
        shapes=_ANY,
        tol="default",
    ),  # fmt: skip
    Case(
        "DynamicQuantizeLinear",
        (Arg("any"),),
        ("float32",),
        outputs=3,
        tol="quant1",
        shapes=shapes(1, 3, min_side=1).map(lambda s: (s,)),
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
        tol="quant1",
    ),  # fmt: skip
]


def _conv_int(which: int):
    return Arg(lambda c: _ints(c, c.shapes[which], c.dtype), const=which == 1)


def _qconv_shapes() -> st.SearchStrategy[tuple[Any, ...]]:
    return _conv_shapes().map(lambda t: (t[0], t[1], t[3]))


CASES += [
    Case(
        "ConvInteger",
        (_conv_int(0), _conv_int(1), _zero_point(), _zero_point()),
        ("uint8",),
        shapes=_qconv_shapes().map(lambda t: (t[0], t[1], None, None, t[2])),
        attrs=lambda s: st.just(dict(s[-1])),
        tol="exact",
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
        tol="quant1",
    ),  # fmt: skip
]
_ = nchw
