"""TFLite's integer ops (domain `tflite`, refimpl/ops/op_tfl_*.py): exact, as TFLite's kernels are.

Every op takes its tensors' scales (float32) and zero points (int32) as constant inputs; the
makers draw them per example: per-channel filter scales for int8 convolutions and fully connected
layers (one scale for uint8, whose kernels are per tensor), zero points anywhere in the type's range
(0 for int8 filters, as TFLite requires), and output scales that keep the requantisation multiplier
in the range TFLite's converters produce. NHWC activations, OHWI / [1, KH, KW, C*M] filters.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from ..case import Arg, Case, Ctx
from ..values import shapes
from ._edges import BINARY_SHAPES, grid

TD = "tflite"
Q8 = ("int8", "uint8")
ACTS = ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"]


def _ints(ctx: Ctx, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    info = np.iinfo(dtype)
    return ctx.rng.integers(int(info.min), int(info.max) + 1, size=shape).astype(dtype)


def _data(i: int, const: bool = False) -> Arg:
    return Arg(lambda c: _ints(c, c.shapes[i], c.dtype), const=const, special=False)


def _scale(*choices: float) -> Arg:
    return Arg(lambda c: np.float32(c.draw(st.sampled_from(choices))), dtype="float32", const=True)


def _zero_point(zero: bool = False) -> Arg:
    def make(ctx: Ctx) -> np.ndarray:
        info = np.iinfo(ctx.dtype)
        return np.int32(0 if zero else ctx.draw(st.integers(int(info.min), int(info.max))))

    return Arg(make, dtype="int32", const=True)


# ---- convolutions and fully connected ------------------------------------------------------------
def _channels(ctx: Ctx) -> int:
    w = ctx.shapes[1]
    return w[0] if len(w) != 4 or ctx.attrs.get("_depthwise") is None else w[3]


def _w_scale(ctx: Ctx) -> np.ndarray:
    n = _channels(ctx)
    if ctx.dtype == "uint8":  # TFLite's uint8 kernels are per tensor
        return np.float32(ctx.draw(st.sampled_from([0.004, 0.01])))
    return ctx.rng.uniform(0.002, 0.02, n).astype(np.float32)


def _w_zero_point(ctx: Ctx) -> np.ndarray:
    return np.int32(0 if ctx.dtype == "int8" else ctx.draw(st.integers(100, 150)))


def _bias(ctx: Ctx) -> np.ndarray | None:
    if not ctx.draw(st.booleans()) and ctx.attrs.get("_bias") is None:
        return None
    return ctx.rng.integers(-5000, 5000, _channels(ctx)).astype(np.int32)


_PRODUCT_ARGS = (
    _data(0), _scale(0.05, 0.1, 0.02), _zero_point(),
    _data(1, const=True), Arg(_w_scale, dtype="float32", const=True),
    Arg(_w_zero_point, dtype="int32", const=True),
    _scale(0.08, 0.2, 0.5), _zero_point(), Arg(_bias, dtype="int32", const=True),
)  # fmt: skip


@st.composite
def _conv_shapes(draw: Any, depthwise: bool) -> tuple:
    n, h, w = draw(st.integers(1, 2)), draw(st.integers(1, 7)), draw(st.integers(1, 7))
    c = draw(st.sampled_from([1, 2, 3, 4, 9]))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    if depthwise:
        return ((n, h, w, c), (1, kh, kw, c * draw(st.integers(1, 2))))
    groups = draw(st.sampled_from([1, 1, c]))
    return ((n, h, w, c), (groups * draw(st.integers(1, 3)), kh, kw, c // groups))


@st.composite
def _conv_attrs(draw: Any, shapes_: tuple, depthwise: bool) -> dict:
    (_, h, w, _), (_, kh, kw, _) = shapes_
    strides = [draw(st.integers(1, 2)), draw(st.integers(1, 2))]
    dilations = [draw(st.integers(1, 2)), draw(st.integers(1, 2))]
    fits = (kh - 1) * dilations[0] < h and (kw - 1) * dilations[1] < w
    attrs = {"strides": strides, "dilations": dilations, "activation": draw(st.sampled_from(ACTS))}
    attrs["padding"] = draw(st.sampled_from(["SAME", "VALID"] if fits else ["SAME"]))
    if depthwise:
        attrs["_depthwise"] = True
    return attrs


def _conv_case(op: str, depthwise: bool) -> Case:
    edge_shapes = (
        [((1, 9, 9, 3), (1, 3, 3, 6)), ((1, 17, 1, 33), (1, 17, 1, 33))]
        if depthwise
        else [((1, 9, 9, 3), (8, 3, 3, 3)), ((1, 5, 1, 40), (65, 5, 1, 40))]
    )
    extra = {"_depthwise": True} if depthwise else {}
    return Case(
        op,
        _PRODUCT_ARGS,
        Q8,
        shapes=_conv_shapes(depthwise),
        attrs=lambda s: _conv_attrs(s, depthwise),
        domain=TD,
        tol="exact",
        edges=grid(
            edge_shapes,
            padding=["SAME", "VALID"],
            activation=["NONE", "RELU6"],
            _bias=[True],
            **{k: [v] for k, v in extra.items()},
        ),  # fmt: skip
    )


@st.composite
def _tconv_attrs(draw: Any, shapes_: tuple) -> dict:
    (n, h, w, _), (o, kh, kw, _) = shapes_
    strides = [draw(st.integers(1, 2)), draw(st.integers(1, 2))]
    padding = draw(st.sampled_from(["SAME", "VALID"]))
    if padding == "SAME":
        out = [h * strides[0], w * strides[1]]
    else:
        out = [(h - 1) * strides[0] + kh, (w - 1) * strides[1] + kw]
    return {"output_shape": [n, *out, o], "strides": strides, "padding": padding,
            "activation": draw(st.sampled_from(ACTS))}  # fmt: skip


@st.composite
def _tconv_shapes(draw: Any) -> tuple:
    n, h, w = draw(st.integers(1, 2)), draw(st.integers(1, 5)), draw(st.integers(1, 5))
    c, o = draw(st.sampled_from([1, 2, 3, 9])), draw(st.integers(1, 5))
    return ((n, h, w, c), (o, draw(st.integers(1, 3)), draw(st.integers(1, 3)), c))


@st.composite
def _bmm_shapes(draw: Any) -> tuple:
    batch = draw(st.sampled_from([(), (2,), (1, 3)]))
    m, k, n = draw(st.integers(1, 5)), draw(st.sampled_from([1, 3, 9, 17])), draw(st.integers(1, 5))
    return ((*batch, m, k), (*batch[-1:], k, n))


@st.composite
def _fc_shapes(draw: Any) -> tuple:
    k, n = draw(st.sampled_from([1, 3, 9, 17, 33])), draw(st.integers(1, 9))
    return ((draw(st.integers(1, 3)), k), (n, k))


# ---- element-wise --------------------------------------------------------------------------------
def _binary_case(op: str, scales: tuple[float, ...]) -> Case:
    return Case(
        op,
        (
            _data(0),
            _scale(*scales),
            _zero_point(),
            _data(1),
            _scale(*scales),
            _zero_point(),
            _scale(*(2 * s for s in scales)),
            _zero_point(),
        ),  # fmt: skip
        Q8,
        shapes=st.sampled_from(BINARY_SHAPES),
        attrs=lambda s: st.fixed_dictionaries({"activation": st.sampled_from(ACTS)}),
        domain=TD,
        tol="exact",
        edges=grid(BINARY_SHAPES[:5], activation=["NONE", "RELU"]),
    )


def _nhwc(draw: Any) -> tuple[int, ...]:
    return tuple(draw(st.integers(1, m)) for m in (2, 7, 7, 9))


@st.composite
def _pool_attrs(draw: Any, shapes_: tuple) -> dict:
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    fits = kh <= shapes_[0][1] and kw <= shapes_[0][2]
    return {
        "kernel_shape": [kh, kw],
        "strides": [draw(st.integers(1, 2)), draw(st.integers(1, 2))],
        "padding": draw(st.sampled_from(["SAME", "VALID"] if fits else ["SAME"])),
        "activation": draw(st.sampled_from(ACTS)),
    }


def _pool_case(op: str) -> Case:
    return Case(
        op,
        (_data(0), _scale(0.05, 0.1), _zero_point()),
        Q8 + ("int16",),
        shapes=st.composite(lambda draw: (_nhwc(draw),))(),
        attrs=_pool_attrs,
        domain=TD,
        tol="exact",
        edges=grid([((1, 9, 9, 17),), ((2, 5, 33, 3),)], kernel_shape=[[3, 3]],
                   strides=[[2, 2]], padding=["SAME", "VALID"], activation=["NONE", "RELU"]),
    )  # fmt: skip


def _unary_case(op: str, y_scales: tuple[float, ...], dtypes=Q8, **attrs: Any) -> Case:
    return Case(
        op,
        (_data(0), _scale(0.02, 0.1, 0.0947), _zero_point(), _scale(*y_scales), _zero_point()),
        dtypes,
        shapes=shapes(0, 3, min_side=1).map(lambda s: (s,)),
        attrs=lambda s: st.just(dict(attrs)),
        domain=TD,
        tol="exact",
        edges=grid([((256,),), ((3, 17),), ((65,),)], **{k: [v] for k, v in attrs.items()}),
    )


@st.composite
def _mean_attrs(draw: Any, shapes_: tuple) -> dict:
    rank = len(shapes_[0])
    axes = draw(st.lists(st.integers(-rank, rank - 1), min_size=1, max_size=rank, unique=True))
    return {"axes": axes, "keepdims": draw(st.integers(0, 1))}


@st.composite
def _resize_attrs(draw: Any, shapes_: tuple) -> dict:
    mode = draw(st.sampled_from(["plain", "align", "half"]))
    return {
        "size": [draw(st.integers(1, 9)), draw(st.integers(1, 9))],
        "align_corners": int(mode == "align"),
        "half_pixel_centers": int(mode == "half"),
    }


def _float_x(ctx: Ctx) -> np.ndarray:
    x = ctx.rng.uniform(-20, 20, ctx.shapes[0]).astype(np.float32)
    if x.size:  # ties at the output scale, which std::round takes away from zero
        x.reshape(-1)[0] = np.float32(2.5 * 0.0625)
    return x


def _channel_count(ctx: Ctx) -> int:
    """The number of channels along the `axis` attribute of the drawn shape."""
    x = ctx.shapes[0]
    return int(x[int(ctx.attrs["axis"]) % len(x)])


def _pc_scale(ctx: Ctx) -> np.ndarray:
    return ctx.rng.uniform(0.01, 0.1, _channel_count(ctx)).astype(np.float32)


def _pc_zero_point(ctx: Ctx) -> np.ndarray:
    zps = ctx.rng.integers(-5, 5, _channel_count(ctx)).astype(np.int32)
    return zps + np.int32(128 if ctx.attrs["to"] == "uint8" else 0)


@st.composite
def _axis_attrs(draw: Any, shapes_: tuple) -> dict:
    rank = len(shapes_[0])
    return {"axis": draw(st.integers(-rank, rank - 1)),
            "to": draw(st.sampled_from(["int8", "uint8", "int16"]))}  # fmt: skip


_COMPARE_SCALE = _scale(0.05, 0.0501, 0.1, 0.3)
_SQUARED_DIFFERENCE_ARGS = (
    _data(0), _scale(0.05, 0.1, 0.3), _zero_point(), _data(1), _scale(0.05, 0.1, 0.3),
    _zero_point(), _scale(0.01, 0.1, 0.5), _zero_point(),
)  # fmt: skip


_P = 2.0**-10  # a power-of-two scale
_INT16_ARITH_ARGS = (
    _data(0), _scale(_P, 0.0003), _zero_point(zero=True), _data(1), _scale(_P, _P / 2, 0.0007),
    _zero_point(zero=True), _scale(_P), _zero_point(zero=True),
)  # fmt: skip
_INT16_MUL_ARGS = (
    _data(0), _scale(_P, 0.0003), _zero_point(zero=True), _data(1), _scale(_P, 0.0007),
    _zero_point(zero=True), _scale(_P / 64, 0.00001), _zero_point(zero=True),
)  # fmt: skip


def _int16_arith_case(op: str, variant: str = "") -> Case:
    mul = op == "Mul"
    return Case(
        op,
        _INT16_MUL_ARGS if mul else _INT16_ARITH_ARGS,
        ("int16",),
        shapes=st.sampled_from(BINARY_SHAPES),
        attrs=lambda s: st.fixed_dictionaries(
            {"activation": st.sampled_from(ACTS)}
            | ({} if mul else {"pot_scale_int16": st.integers(0, 1)})
        ),
        domain=TD,
        variant=variant,
        tol="exact",
        edges=grid(BINARY_SHAPES[:5], activation=["NONE", "RELU"]),
    )


def _bmm16_b(ctx: Ctx) -> np.ndarray:
    dtype = "int8" if ctx.attrs.get("_int8_b") else "int16"
    return _ints(ctx, ctx.shapes[1], dtype)


def _normal_x(ctx: Ctx) -> np.ndarray:
    shift = ctx.draw(st.sampled_from([0.0, 0.5, -2.0]))
    return (ctx.rng.normal(size=ctx.shapes[0]) * 3 + shift).astype(np.float32)


def _hybrid_w(ctx: Ctx) -> np.ndarray:
    return np.clip(_ints(ctx, ctx.shapes[1], "int8"), -127, 127).astype(np.int8)


def _hybrid_w_scale(ctx: Ctx) -> np.ndarray:
    n = _channels(ctx)
    if ctx.draw(st.booleans()) and not ctx.attrs.get("_depthwise") and not ctx.attrs.get("_groups"):
        return np.float32(0.01)
    return ctx.rng.uniform(0.002, 0.02, n).astype(np.float32)


def _float_bias(ctx: Ctx) -> np.ndarray | None:
    if not ctx.draw(st.booleans()) and ctx.attrs.get("_bias") is None:
        return None
    return ctx.rng.normal(size=_channels(ctx)).astype(np.float32)


_HYBRID_ARGS = (
    Arg(_normal_x, special=False), Arg(_hybrid_w, dtype="int8", const=True),
    Arg(_hybrid_w_scale, dtype="float32", const=True),
    Arg(_float_bias, dtype="float32", const=True),
)  # fmt: skip


@st.composite
def _hybrid_conv_attrs(draw: Any, shapes_: tuple, depthwise: bool) -> dict:
    attrs = draw(_conv_attrs(shapes_, depthwise))
    (_, _, _, c), (_, _, _, i) = shapes_
    if not depthwise and c != i:
        attrs["_groups"] = True
    return attrs


def _hybrid_conv_case(op: str, depthwise: bool) -> Case:
    edge_shapes = (
        [((1, 9, 9, 3), (1, 3, 3, 6)), ((2, 7, 6, 4), (1, 3, 3, 8))]
        if depthwise
        else [((1, 9, 9, 3), (8, 3, 3, 3)), ((2, 7, 6, 3), (8, 3, 3, 3))]
    )
    extra = {"_depthwise": True} if depthwise else {}
    return Case(
        op,
        _HYBRID_ARGS,
        ("float32",),
        shapes=_conv_shapes(depthwise),
        attrs=lambda s: _hybrid_conv_attrs(s, depthwise),
        domain=TD,
        tol="exact",
        edges=grid(edge_shapes, padding=["SAME", "VALID"], activation=["NONE", "RELU6"],
                   _bias=[True], **{k: [v] for k, v in extra.items()}),
    )  # fmt: skip


def _hybrid_bmm_b(ctx: Ctx) -> np.ndarray:
    return np.clip(_ints(ctx, ctx.shapes[1], "int8"), -127, 127).astype(np.int8)


def _hybrid_bmm_scale(ctx: Ctx) -> np.ndarray:
    n = ctx.shapes[1][-2] if ctx.attrs.get("adj_y") else ctx.shapes[1][-1]
    if ctx.draw(st.booleans()):
        return np.float32(0.01)
    return ctx.rng.uniform(0.002, 0.02, n).astype(np.float32)


@st.composite
def _lstm_shapes(draw: Any) -> tuple:
    t, b, i = draw(st.integers(0, 4)), draw(st.integers(1, 3)), draw(st.integers(1, 9))
    n, g = draw(st.integers(1, 9)), draw(st.sampled_from([3, 4]))
    return ((t, b, i), (b, n), (b, n), (g, n, i), (g,), (g, n, n), (g,), (g, n))


def _lstm_scale(k: int) -> Arg:
    return Arg(lambda c: c.rng.uniform(0.002, 0.01, c.shapes[k]).astype(np.float32),
               dtype="float32", const=True)  # fmt: skip


def _lstm_int8(k: int) -> Arg:
    return Arg(lambda c: np.clip(_ints(c, c.shapes[k], "int8"), -127, 127).astype(np.int8),
               dtype="int8", const=True)  # fmt: skip


def _lstm_float(k: int, const: bool = False) -> Arg:
    return Arg(lambda c: (c.rng.normal(size=c.shapes[k]) * 0.5).astype(np.float32),
               dtype="float32", const=const, special=False)  # fmt: skip


CASES: list[Case] = [
    _conv_case("Conv2D", depthwise=False),
    _conv_case("DepthwiseConv2D", depthwise=True),
    Case(
        "TransposeConv2D",
        _PRODUCT_ARGS,
        Q8,
        shapes=_tconv_shapes(),
        attrs=_tconv_attrs,
        domain=TD,
        tol="exact",
        edges=(
            (
                ((1, 4, 4, 9), (17, 3, 3, 9)),
                {
                    "output_shape": [1, 8, 8, 17],
                    "strides": [2, 2],
                    "padding": "SAME",
                    "_bias": True,
                },
            ),
            (
                ((2, 3, 5, 2), (3, 3, 2, 2)),
                {
                    "output_shape": [2, 7, 10, 3],
                    "strides": [2, 2],
                    "padding": "VALID",
                    "activation": "RELU",
                },
            ),
        ),  # fmt: skip
    ),
    Case(
        "FullyConnected",
        _PRODUCT_ARGS,
        Q8,
        shapes=_fc_shapes(),
        attrs=lambda s: st.fixed_dictionaries({"activation": st.sampled_from(ACTS)}),
        domain=TD,
        tol="exact",
        edges=grid(
            [((1, 65), (9, 65)), ((3, 17), (33, 17))], activation=["NONE", "RELU"], _bias=[True]
        ),  # fmt: skip
    ),
    _binary_case("Add", (0.05, 0.1, 0.3)),
    _binary_case("Sub", (0.05, 0.1, 0.3)),
    _binary_case("Mul", (0.05, 0.1, 0.3)),
    Case(
        "PRelu",
        (
            _data(0),
            _scale(0.05, 0.1),
            _zero_point(),
            _data(1, const=True),
            _scale(0.004, 0.01),
            _zero_point(),
            _scale(0.04, 0.1),
            _zero_point(),
        ),
        Q8,
        shapes=st.sampled_from(BINARY_SHAPES),
        domain=TD,
        tol="exact",
        edges=grid(BINARY_SHAPES[:5]),
    ),  # fmt: skip
    Case(
        "BatchMatMul",
        (
            _data(0),
            _scale(0.05, 0.1),
            _zero_point(),
            _data(1),
            _scale(0.02, 0.1),
            _zero_point(),
            _scale(0.3, 1.0),
            _zero_point(),
        ),
        ("int8",),
        shapes=_bmm_shapes(),
        domain=TD,
        tol="exact",
        edges=(
            (((2, 3, 17), (2, 17, 5)), {}),
            (((3, 9, 33), (3, 4, 33)), {"adj_y": 1}),
            (((2, 9, 7), (2, 9, 65)), {"adj_x": 1}),
        ),
    ),  # fmt: skip
    _pool_case("AveragePool2D"),
    _pool_case("MaxPool2D"),
    _unary_case("Logistic", (1 / 256,)),
    _unary_case("Tanh", (1 / 128,)),
    _unary_case("Relu", (0.05, 0.1), Q8 + ("int16",), low=0.0, high=6.0),
    _unary_case("HardSwish", (0.03, 0.1, 0.5)),
    _unary_case("ConcatenationRescale", (0.05, 0.0947), ("uint8",)),
    _unary_case("LeakyRelu", (0.05, 0.1), Q8 + ("int16",), alpha=0.2),
    Case(
        "Mean",
        (_data(0), _scale(0.05, 0.1), _zero_point(), _scale(0.02, 0.1), _zero_point()),
        Q8 + ("int16",),
        shapes=shapes(1, 4, min_side=1).map(lambda s: (s,)),
        attrs=_mean_attrs,
        domain=TD,
        tol="exact",
        edges=grid([((1, 7, 7, 17),), ((2, 5, 33),)], axes=[[1, 2], [-1]], keepdims=[0, 1]),
    ),
    Case(
        "Sum",
        (_data(0), _scale(0.05, 0.1), _zero_point(), _scale(0.02, 0.1), _zero_point()),
        Q8 + ("int16",),
        shapes=shapes(1, 4, min_side=1).map(lambda s: (s,)),
        attrs=_mean_attrs,
        domain=TD,
        tol="exact",
        edges=grid([((1, 7, 7, 17),), ((2, 5, 33),)], axes=[[1, 2], [-1]], keepdims=[0, 1]),
    ),
    Case(
        "Softmax",
        (_data(0), _scale(0.02, 0.1, 0.5, 5.0)),
        Q8,
        shapes=shapes(1, 3, min_side=1).map(lambda s: (s,)),
        attrs=lambda s: st.fixed_dictionaries({"beta": st.sampled_from([1.0, 0.5, 2.0])}),
        domain=TD,
        tol="exact",
        edges=grid([((3, 17),), ((2, 65),), ((1, 1001),)], beta=[1.0]),
    ),
    Case(
        "ResizeBilinear",
        (_data(0),),
        ("int8", "int16"),
        shapes=st.composite(lambda draw: (_nhwc(draw),))(),
        attrs=_resize_attrs,
        domain=TD,
        tol="exact",
        edges=grid(
            [((1, 4, 5, 17),), ((2, 3, 3, 9),)], size=[[8, 10], [3, 2]], align_corners=[0, 1]
        ),
    ),  # fmt: skip
    _unary_case("Requantize", (0.05, 0.3), Q8 + ("int16",), to="int8"),
    Case(
        "Quantize",
        (Arg(_float_x, special=False), _scale(0.0625, 0.1), Arg(lambda c: np.int32(3), const=True)),
        ("float32",),
        shapes=shapes(0, 3, min_side=1).map(lambda s: (s,)),
        attrs=lambda s: st.fixed_dictionaries({"to": st.sampled_from(["int8", "uint8"])}),
        domain=TD,
        tol="exact",
        edges=grid([((65,),), ((3, 17),)], to=["int8", "uint8", "int16"]),
    ),
    Case(
        "Dequantize",
        (_data(0), _scale(0.0625, 0.101960786), _zero_point()),
        Q8 + ("int16",),
        shapes=shapes(0, 3, min_side=1).map(lambda s: (s,)),
        domain=TD,
        tol="exact",
        edges=grid([((65,),), ((3, 17),)]),
    ),
    Case(
        "LogSoftmax",
        (_data(0), _scale(0.0037, 0.02, 0.1, 0.5, 5.0)),
        Q8,
        shapes=shapes(1, 3, min_side=1).map(lambda s: (s,)),
        domain=TD,
        tol="exact",
        edges=grid([((3, 17),), ((2, 65),), ((1, 1001),)]),
    ),
    Case(
        "SquaredDifference",
        _SQUARED_DIFFERENCE_ARGS,
        ("int8",),
        shapes=st.sampled_from(BINARY_SHAPES),
        domain=TD,
        tol="exact",
        edges=grid(BINARY_SHAPES[:5]),
    ),
    Case(
        "Compare",
        (_data(0), _COMPARE_SCALE, _zero_point(), _data(1), _COMPARE_SCALE, _zero_point()),
        Q8 + ("int16",),
        shapes=st.sampled_from(BINARY_SHAPES),
        attrs=lambda s: st.fixed_dictionaries(
            {"comparison": st.sampled_from(["LESS", "LESS_EQUAL", "EQUAL", "NOT_EQUAL"])}
        ),
        domain=TD,
        tol="exact",
        edges=grid(BINARY_SHAPES[:5], comparison=["LESS", "EQUAL"]),
    ),
    Case(
        "QuantizePerChannel",
        (
            Arg(_float_x, special=False),
            Arg(_pc_scale, dtype="float32", const=True),
            Arg(_pc_zero_point, dtype="int32", const=True),
        ),
        ("float32",),
        shapes=shapes(1, 3, min_side=1).map(lambda s: (s,)),
        attrs=_axis_attrs,
        domain=TD,
        tol="exact",
        edges=grid([((4, 17),), ((2, 3, 5),)], axis=[0, -1], to=["int8", "uint8", "int16"]),
    ),  # fmt: skip
    _int16_arith_case("AddInt16"),
    _int16_arith_case("SubInt16"),
    _int16_arith_case("Mul", variant="int16"),
    Case(
        "BatchMatMulInt16",
        (
            _data(0),
            _scale(0.001, 0.01),
            _zero_point(zero=True),
            Arg(_bmm16_b, special=False),
            _scale(0.002, 0.02),
            _zero_point(zero=True),
            _scale(0.05, 1.0),
            _zero_point(zero=True),
        ),
        ("int16",),
        shapes=_bmm_shapes(),
        attrs=lambda s: st.fixed_dictionaries({"_int8_b": st.booleans()}),
        domain=TD,
        tol="exact",
        edges=(
            (((2, 3, 17), (2, 17, 5)), {}),
            (((3, 9, 33), (3, 4, 33)), {"adj_y": 1, "_int8_b": True}),
            (((2, 9, 7), (2, 9, 65)), {"adj_x": 1}),
        ),
    ),
    Case(
        "ResizeBilinearUint8",
        (_data(0),),
        ("uint8",),
        shapes=st.composite(lambda draw: (_nhwc(draw),))(),
        attrs=_resize_attrs,
        domain=TD,
        tol="exact",
        edges=grid(
            [((1, 4, 5, 17),), ((2, 3, 3, 9),)], size=[[8, 10], [3, 2]], align_corners=[0, 1]
        ),
    ),
    _hybrid_conv_case("HybridConv2D", depthwise=False),
    _hybrid_conv_case("HybridDepthwiseConv2D", depthwise=True),
    Case(
        "HybridFullyConnected",
        _HYBRID_ARGS,
        ("float32",),
        shapes=_fc_shapes(),
        attrs=lambda s: st.fixed_dictionaries(
            {"activation": st.sampled_from(ACTS), "asymmetric_quantize_inputs": st.integers(0, 1)}
        ),
        domain=TD,
        tol="exact",
        edges=grid(
            [((1, 65), (9, 65)), ((3, 17), (33, 17))],
            asymmetric_quantize_inputs=[0, 1],
            _bias=[True],
        ),
    ),
    Case(
        "RequantizeInt32",
        (
            Arg(lambda c: _ints(c, c.shapes[0], c.dtype), special=False),
            _scale(0.001, 0.00002),
            _zero_point(),
            _scale(0.0001, 0.05),
            Arg(lambda c: np.int32(c.draw(st.integers(-5, 5))), dtype="int32", const=True),
        ),
        ("int16", "int32"),
        shapes=shapes(0, 3, min_side=1).map(lambda s: (s,)),
        attrs=lambda s: st.fixed_dictionaries({"to": st.sampled_from(["int8", "int16"])}),
        domain=TD,
        tol="exact",
        edges=grid([((65,),), ((3, 17),)], to=["int8", "int16"]),
    ),
    Case(
        "HybridBatchMatMul",
        (
            Arg(_normal_x, special=False),
            Arg(_hybrid_bmm_b, dtype="int8", const=True),
            Arg(_hybrid_bmm_scale, dtype="float32", const=True),
        ),
        ("float32",),
        shapes=_bmm_shapes(),
        attrs=lambda s: st.fixed_dictionaries({"asymmetric_quantize_inputs": st.integers(0, 1)}),
        domain=TD,
        tol="exact",
        edges=(
            (((2, 3, 17), (2, 17, 5)), {"asymmetric_quantize_inputs": 1}),
            (((3, 9, 33), (3, 4, 33)), {"adj_y": 1}),
            (((2, 9, 7), (2, 9, 65)), {"adj_x": 1, "asymmetric_quantize_inputs": 1}),
        ),
    ),
    Case(
        "HybridSequenceLSTM",
        (
            _lstm_float(0),
            _lstm_float(1),
            _lstm_float(2),
            _lstm_int8(3),
            _lstm_scale(4),
            _lstm_int8(5),
            _lstm_scale(6),
            _lstm_float(7, const=True),
        ),
        ("float32",),
        shapes=_lstm_shapes(),
        attrs=lambda s: st.fixed_dictionaries(
            {
                "activation": st.sampled_from(["TANH", "RELU"]),
                "asymmetric_quantize_inputs": st.integers(0, 1),
                "cell_clip": st.sampled_from([0.0, 0.5]),
            }
        ),
        outputs=3,
        domain=TD,
        tol="exact",
        edges=(
            (((4, 2, 5), (2, 6), (2, 6), (4, 6, 5), (4,), (4, 6, 6), (4,), (4, 6)), {}),
            (
                ((3, 1, 9), (1, 4), (1, 4), (3, 4, 9), (3,), (3, 4, 4), (3,), (3, 4)),
                {"asymmetric_quantize_inputs": 1},
            ),
        ),
    ),
]
