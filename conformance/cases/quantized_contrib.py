"""The com.microsoft quantised ops onnxruntime's quantizer emits: QGemm, QLinearAdd, QLinearMul,
QLinearSigmoid, QLinearLeakyRelu, QLinearSoftmax, QLinearConcat, QLinearAveragePool,
QLinearGlobalAveragePool, MatMulIntegerToFloat, DynamicQuantizeMatMul, DynamicQuantizeLSTM.

Every integer op is exact: the reference fixes each float32 step of its requantisation. Only
QLinearSigmoid and QLinearSoftmax keep one unit ("quant1"): they go through a transcendental
(sigmoid, exp) whose result a backend may round differently by an ulp, crossing a rounding tie.
The LSTM's float outputs pass through sigmoid and tanh ("transcendental"). Zero points are drawn
over the whole type (extremes included), scales include non-powers of two and a tiny output
scale that saturates, per-column weight parameters and channels-last layouts are drawn, and the
edges cross the SIMD block widths.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from ..case import Arg, Case, Ctx
from ..values import broadcast, nchw, shapes
from .nn import _attrs_last
from .pool import _pool_shapes, pool_edges

MS = "com.microsoft"
Q = ("uint8", "int8")
_SCALES = [0.5, 0.1, 0.02, 0.0371, 0.3, 0.003]  # 0.003 as an output scale saturates


def _ints(ctx: Ctx, shape: tuple[int, ...] | None, dtype: str) -> np.ndarray | None:
    if shape is None:
        return None
    info = np.iinfo(dtype)
    return ctx.rng.integers(int(info.min), int(info.max) + 1, size=shape).astype(dtype)


def _x(i: int, dtype: str | None = None, const: bool = False) -> Arg:
    """Input i: integers over the whole type (dtype: the case's, or an "_<name>" attribute)."""
    return Arg(lambda c: _ints(c, c.shapes[i], c.attrs.get(dtype, c.dtype) if dtype else c.dtype),
               const=const)  # fmt: skip


def _scale_value(ctx: Ctx) -> np.ndarray:
    return np.asarray(ctx.draw(st.sampled_from(_SCALES)), np.float32)


SCALE = Arg(_scale_value, dtype="float32", const=True)


def _zero_point(dtype: str | None = None) -> Arg:
    """A per-tensor zero point: the type's extremes, 0, or any value."""

    def make(ctx: Ctx) -> np.ndarray:
        dt = ctx.attrs.get(dtype, ctx.dtype) if dtype else ctx.dtype
        info = np.iinfo(dt)
        pick = ctx.draw(st.sampled_from(["min", "max", "zero", "any", "any"]))
        value = {"min": info.min, "max": info.max, "zero": 0}.get(pick)
        value = ctx.draw(st.integers(int(info.min), int(info.max))) if value is None else value
        return np.asarray(value, dt)

    return Arg(make, const=True)


def _binary(op: str) -> Case:
    return Case(
        op,
        (_x(0), SCALE, _zero_point(), _x(1), SCALE, _zero_point(), SCALE, _zero_point()),
        Q,
        shapes=broadcast(2, min_rank=1, min_side=1),
        domain=MS,
        tol="exact",
        edges=tuple((s, None) for s in (((3, 17), (17,)), ((2, 33), (1,)), ((65,), (65,)),
                                        ((1,), (4, 9)), ((2, 1, 9), (3, 1)))),  # fmt: skip
    )  # fmt: skip


def _every_code(ctx: Ctx) -> np.ndarray:
    """X: random codes, or (attribute "_codes") every code of the type, so the whole table shows."""
    if ctx.attrs.get("_codes"):
        info = np.iinfo(ctx.dtype)
        return np.arange(int(info.min), int(info.max) + 1).astype(ctx.dtype).reshape(2, -1)
    return _ints(ctx, ctx.shapes[0], ctx.dtype)  # type: ignore[return-value]


_OUT_SCALE = Arg(lambda c: np.asarray(c.draw(st.sampled_from([1 / 256, 1 / 255, 0.002, 0.0371])),
                                      np.float32), dtype="float32", const=True)  # fmt: skip
_LOOKUP_EDGES = ((((2, 128),), {"_codes": True}), (((3, 17),), None), (((65,),), None))


def _lookup(op: str, attrs: dict[str, list[Any]], tol: str) -> Case:
    def attrs_of(shapes_: tuple[Any, ...]) -> st.SearchStrategy[dict[str, Any]]:
        return st.fixed_dictionaries({k: st.sampled_from(v) for k, v in attrs.items()})

    return Case(op, (Arg(_every_code), SCALE, _zero_point(), _OUT_SCALE, _zero_point()), Q,
                shapes=shapes(1, 4, min_side=1).map(lambda s: (s,)), attrs=attrs_of, domain=MS,
                tol=tol, edges=_LOOKUP_EDGES)  # fmt: skip


@st.composite
def _softmax_shapes(draw: Any) -> tuple[Any, ...]:
    """(X, attrs): opset 13 (one axis) or 12 (the axes from `axis` on), axis given or not."""
    x = draw(shapes(1, 4, min_side=1))
    attrs: dict[str, Any] = {"opset": draw(st.sampled_from([13, 12]))}
    if draw(st.booleans()):  # absent: -1 at every opset
        attrs["axis"] = draw(st.integers(-len(x), len(x) - 1))
    return (x, attrs)


_SOFTMAX_EDGES = tuple(((x, a), None) for x, a in (
    ((3, 17), {"opset": 13}), ((2, 65), {"opset": 13, "axis": 1}),
    ((2, 9, 3), {"opset": 12, "axis": 1}), ((2, 9, 3), {"opset": 13, "axis": 1}),
    ((2, 3, 9), {"opset": 12})))  # fmt: skip


# ---- QLinearConcat: Y_scale, Y_zero_point, then (tensor, scale, zero point) per input ------------
@st.composite
def _concat_shapes(draw: Any) -> tuple[Any, ...]:
    base = list(draw(shapes(1, 3, min_side=1, max_side=4)))
    axis = draw(st.integers(-len(base), len(base) - 1))
    parts: list[Any] = []
    for _ in range(draw(st.integers(1, 3))):
        part = list(base)
        part[axis] = draw(st.integers(1, 4))
        parts.append(tuple(part))
    parts += [None] * (3 - len(parts))
    return (*parts, {"axis": axis})


def _in_scale(k: int) -> Arg:
    """Input k's scale: often the output's own (then the input is copied), else drawn."""

    def make(ctx: Ctx) -> np.ndarray | None:
        if ctx.shapes[k] is None:
            return None
        return ctx.inputs[0] if ctx.draw(st.booleans()) else _scale_value(ctx)

    return Arg(make, dtype="float32", const=True)


def _in_zero_point(k: int) -> Arg:
    def make(ctx: Ctx) -> np.ndarray | None:
        if ctx.shapes[k] is None:
            return None
        same = ctx.inputs[-1] is ctx.inputs[0]  # the scale is the output's: copy its zero point
        return ctx.inputs[1] if same else _zero_point().domain(ctx)  # type: ignore[operator]

    return Arg(make, const=True)


_CONCAT_ARGS = (SCALE, _zero_point()) + tuple(
    a for k in range(3) for a in (_x(k), _in_scale(k), _in_zero_point(k))
)
_CONCAT_EDGES = (
    (((2, 17), (2, 3), (2, 9), {"axis": 1}), None),
    (((1, 33), (2, 33), None, {"axis": 0}), None),
    (((2, 3, 4), (2, 3, 1), (2, 3, 65), {"axis": -1}), None),
)


# ---- pooling ----------------------------------------------------------------------------------
@st.composite
def _qpool_shapes(draw: Any) -> tuple[Any, ...]:
    x, attrs = draw(_pool_shapes(dilations=False, ceil=True))
    if draw(st.booleans()):
        attrs["channels_last"] = 1
        x = (x[0], *x[2:], x[1])
    return (x, attrs)


def _channels_last(edge: Any) -> Any:
    (x, attrs), _ = edge
    return (((x[0], *x[2:], x[1]), {**attrs, "channels_last": 1}), None)


_AVG_EDGES = pool_edges("AveragePool", 10)
_QPOOL_EDGES = _AVG_EDGES + tuple(_channels_last(e) for e in _AVG_EDGES[::4])


@st.composite
def _global_shapes(draw: Any) -> tuple[Any, ...]:
    x = draw(nchw(spatial=draw(st.integers(1, 3)), max_hw=5))
    if draw(st.booleans()):
        return ((x[0], *x[2:], x[1]), {"channels_last": 1})
    return (x, {})


_GLOBAL_EDGES = tuple(((x, a), None) for x, a in (
    ((1, 17, 3, 3), {}), ((2, 3, 9, 9), {}), ((1, 5, 5, 33), {"channels_last": 1}),
    ((1, 65, 7), {}), ((1, 1, 17, 17), {}), ((2, 4, 4, 9), {"channels_last": 1})))  # fmt: skip
_POOL_ARGS = (_x(0), SCALE, _zero_point(), SCALE, _zero_point())


# ---- QGemm, MatMulIntegerToFloat, DynamicQuantizeMatMul ---------------------------------------
@st.composite
def _gemm_shapes(draw: Any) -> tuple[Any, ...]:
    """(A, B, C, attrs): transposes, alpha, C as (N,), (M, N), (M, 1) or absent, B's type, per
    column scales, quantised or float output."""
    m, k, n = (draw(st.sampled_from([1, 2, 3, 5, 9, 17])) for _ in range(3))
    ta, tb = draw(st.booleans()), draw(st.booleans())
    c = draw(st.sampled_from([None, (n,), (m, n), (m, 1), (1, n)]))
    attrs = {"transA": int(ta), "transB": int(tb), "alpha": draw(st.sampled_from([1.0, 0.5, 3.0])),
             "_per_col": draw(st.booleans()), "_qout": draw(st.booleans())}  # fmt: skip
    return ((k, m) if ta else (m, k), (n, k) if tb else (k, n), c, attrs)


def _b_type(ctx: Ctx) -> str:
    """B's type: int8 under int8 A; int8 or uint8 under uint8 A (as onnxruntime accepts)."""
    if ctx.dtype == "int8":
        return "int8"
    if "_b" not in ctx.attrs:
        ctx.attrs["_b"] = ctx.draw(st.sampled_from(Q))
    return ctx.attrs["_b"]


def _columns(ctx: Ctx) -> int:
    b, tb = ctx.shapes[1], ctx.attrs.get("transB", 0)
    return b[0] if tb else b[-1]


def _col_scale(ctx: Ctx) -> np.ndarray:
    if ctx.attrs.get("_per_col"):
        return ctx.rng.choice(np.asarray(_SCALES[:-1], np.float32), size=_columns(ctx))
    return _scale_value(ctx)


def _col_zero_point(ctx: Ctx) -> np.ndarray:
    info = np.iinfo(_b_type(ctx))
    size = _columns(ctx) if ctx.attrs.get("_per_col") else ()
    return ctx.rng.integers(int(info.min), int(info.max) + 1, size=size).astype(info.dtype)


def _gemm_b(ctx: Ctx) -> np.ndarray | None:
    return _ints(ctx, ctx.shapes[1], _b_type(ctx))


def _gemm_c(ctx: Ctx) -> np.ndarray | None:
    c = ctx.shapes[2]
    return None if c is None else ctx.rng.integers(-(2**20), 2**20, size=c).astype(np.int32)


def _if_quantised(arg: Arg) -> Arg:
    return Arg(lambda c: arg.domain(c) if c.attrs.get("_qout") else None,  # type: ignore[operator]
               dtype=arg.dtype, const=True)  # fmt: skip


_GEMM_EDGES = tuple(((a, b, c, attrs), None) for a, b, c, attrs in (
    ((3, 17), (17, 9), (9,), {"_qout": True}),
    ((17, 2), (33, 17), (2, 33), {"transA": 1, "transB": 1, "_qout": True, "_per_col": True}),
    ((1, 65), (65, 4), None, {"alpha": 0.5}),
    ((5, 8), (8, 17), (5, 1), {"_per_col": True, "_qout": True, "_b": "uint8"}),
))  # fmt: skip


@st.composite
def _mm_shapes(draw: Any) -> tuple[Any, ...]:
    """(A, B, bias, attrs): A with up to two batch dims, 2-D B (weights)."""
    m, k, n = (draw(st.sampled_from([1, 2, 3, 4, 9, 17])) for _ in range(3))
    batch = draw(st.sampled_from([(), (2,), (2, 1)]))
    bias = draw(st.sampled_from([None, (n,)]))
    return ((*batch, m, k), (k, n), bias, {"_per_col": draw(st.booleans())})


_MM_EDGES = tuple(((a, b, bias, attrs), None) for a, b, bias, attrs in (
    ((3, 17), (17, 9), (9,), {"_per_col": True}), ((2, 1, 33), (33, 4), None, {}),
    ((65, 3), (3, 2), (2,), {"_per_col": False, "_b": "uint8"})))  # fmt: skip
_BIAS = Arg(lambda c: None if c.shapes[2] is None else c.rng.normal(size=c.shapes[2]).astype(
    np.float32), dtype="float32", const=True)  # fmt: skip
_B = Arg(_gemm_b, const=True)
_B_SCALE = Arg(_col_scale, dtype="float32", const=True)
_B_ZERO = Arg(_col_zero_point, const=True)


def _float_a(ctx: Ctx) -> np.ndarray:
    return (ctx.rng.normal(size=ctx.shapes[0]) * ctx.draw(st.sampled_from([0.1, 3.0, 100.0]))
            + ctx.draw(st.sampled_from([0.0, 5.0, -2.0]))).astype(np.float32)  # fmt: skip


# ---- DynamicQuantizeLSTM -----------------------------------------------------------------------
@st.composite
def _lstm_shapes(draw: Any) -> tuple[Any, ...]:
    """(X, W, R, B, sequence_lens, initial_h, initial_c, P, 4 weight parameters, attrs)."""
    t, b, i, h = (draw(st.sampled_from([1, 2, 3, 4, 9])) for _ in range(4))
    direction = draw(st.sampled_from(["forward", "reverse", "bidirectional"]))
    d = 2 if direction == "bidirectional" else 1
    per_col = draw(st.booleans())
    attrs = {"hidden_size": h, "direction": direction, "_w": draw(st.sampled_from(Q)),
             "_per_col": per_col}  # fmt: skip
    if draw(st.integers(0, 4)) == 0:
        attrs["input_forget"] = 1
    if draw(st.integers(0, 4)) == 0:
        attrs["clip"] = 0.5

    def maybe(shape: tuple[int, ...]) -> tuple[int, ...] | None:
        return shape if draw(st.booleans()) else None

    param = (d, 4 * h) if per_col else (d,)
    return ((t, b, i), (d, i, 4 * h), (d, h, 4 * h), maybe((d, 8 * h)), maybe((b,)),
            maybe((d, b, h)), maybe((d, b, h)), maybe((d, 3 * h)), param, param, param, param,
            attrs)  # fmt: skip


def _lstm_lens(ctx: Ctx) -> np.ndarray | None:
    if ctx.shapes[4] is None:
        return None
    return ctx.rng.integers(1, ctx.shapes[0][0] + 1, size=ctx.shapes[4]).astype(np.int32)


def _small(i: int) -> Arg:
    def make(ctx: Ctx) -> np.ndarray | None:
        shape = ctx.shapes[i]
        return None if shape is None else ctx.rng.uniform(-1, 1, size=shape).astype(np.float32)

    return Arg(make, dtype="float32")


def _w_scale(i: int) -> Arg:
    return Arg(lambda c: c.rng.uniform(0.002, 0.02, size=c.shapes[i]).astype(np.float32),
               dtype="float32", const=True)  # fmt: skip


def _w_zero_point(i: int) -> Arg:
    """0 for int8 weights; one value repeated for uint8 (onnxruntime requires both)."""

    def make(ctx: Ctx) -> np.ndarray:
        dt = ctx.attrs["_w"]
        value = 0 if dt == "int8" else ctx.draw(st.sampled_from([0, 128, 113, 255]))
        return np.full(ctx.shapes[i], value, dt)

    return Arg(make, const=True)


_LSTM_ARGS = (Arg(_float_a, special=False), _x(1, "_w", const=True), _x(2, "_w", const=True),
              _small(3), Arg(_lstm_lens, dtype="int32"), _small(5), _small(6), _small(7),
              _w_scale(8), _w_zero_point(9), _w_scale(10), _w_zero_point(11))  # fmt: skip


def _lstm_edge(t: int, b: int, i: int, h: int, direction: str, w: str, per_col: bool) -> Any:
    d = 2 if direction == "bidirectional" else 1
    param = (d, 4 * h) if per_col else (d,)
    attrs = {"hidden_size": h, "direction": direction, "_w": w, "_per_col": per_col}
    return (((t, b, i), (d, i, 4 * h), (d, h, 4 * h), (d, 8 * h), (b,), (d, b, h), (d, b, h),
             (d, 3 * h), param, param, param, param, attrs), None)  # fmt: skip


CASES: list[Case] = [
    _binary("QLinearAdd"),
    _binary("QLinearMul"),
    _lookup("QLinearSigmoid", {}, "quant1"),
    _lookup("QLinearLeakyRelu", {"alpha": [0.01, 0.1, 0.5, 1.7]}, "exact"),
    Case("QLinearSoftmax", (_x(0), SCALE, _zero_point(), _OUT_SCALE, _zero_point()), Q,
         shapes=_softmax_shapes(), attrs=_attrs_last, domain=MS, tol="quant1",
         edges=_SOFTMAX_EDGES),
    Case("QLinearConcat", _CONCAT_ARGS, Q, shapes=_concat_shapes(), attrs=_attrs_last,
         domain=MS, tol="exact", edges=_CONCAT_EDGES),
    Case("QLinearAveragePool", _POOL_ARGS, Q, shapes=_qpool_shapes(), attrs=_attrs_last,
         domain=MS, tol="exact", edges=_QPOOL_EDGES),
    Case("QLinearGlobalAveragePool", _POOL_ARGS, Q, shapes=_global_shapes(), attrs=_attrs_last,
         domain=MS, tol="exact", edges=_GLOBAL_EDGES),
    Case("QGemm", (_x(0), SCALE, _zero_point(), _B, _B_SCALE, _B_ZERO, Arg(_gemm_c, const=True),
                   _if_quantised(SCALE), _if_quantised(_zero_point())),
         Q, shapes=_gemm_shapes(), attrs=_attrs_last, domain=MS, tol="exact", edges=_GEMM_EDGES),
    Case("MatMulIntegerToFloat", (_x(0), _B, SCALE, _B_SCALE, _zero_point(), _B_ZERO, _BIAS),
         Q, shapes=_mm_shapes(), attrs=_attrs_last, domain=MS, tol="exact", edges=_MM_EDGES),
    Case("DynamicQuantizeMatMul", (Arg(_float_a, special=False), _B, _B_SCALE, _B_ZERO, _BIAS),
         ("float32",), shapes=_mm_shapes(), attrs=_attrs_last, domain=MS, tol="exact",
         special=False, edges=_MM_EDGES),
    Case("DynamicQuantizeLSTM", _LSTM_ARGS, ("float32",), shapes=_lstm_shapes(),
         attrs=_attrs_last, domain=MS, outputs=3, tol="transcendental", special=False,
         edges=(_lstm_edge(3, 2, 17, 9, "forward", "int8", False),
                _lstm_edge(2, 3, 4, 17, "bidirectional", "uint8", True),
                _lstm_edge(4, 1, 9, 8, "reverse", "int8", True))),
]  # fmt: skip
