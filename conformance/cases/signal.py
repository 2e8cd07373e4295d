"""Signal ops: DFT (17 and 20), STFT, the Hann/Hamming/Blackman windows, MelWeightMatrix.

Complex tensors use ONNX's layout: a last dimension of 2 (real, imaginary); a last dimension of 1
is a real signal. `onesided` is drawn only for real, forward transforms (ONNX leaves the other
combinations undefined). Scalar inputs (dft_length, axis, frame_step, window sizes) are 0-d.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from ..case import Arg, Case, Ctx
from ._build import F3


def _attrs_last(shapes_: tuple[Any, ...]) -> st.SearchStrategy[dict[str, Any]]:
    return st.just(dict(shapes_[-1]))


def _scalar(key: str, dtype: str = "int64", const: bool = True) -> Arg:
    """A 0-d input whose value the shapes strategy put under `key` in the attrs (popped)."""

    def make(ctx: Ctx) -> np.ndarray | None:
        value = ctx.attrs.pop(key, None)
        return None if value is None else np.asarray(value).astype(dtype)

    return Arg(make, dtype=dtype, const=const)


@st.composite
def _dft_shapes(draw: Any, opset: int) -> tuple:
    rank = draw(st.sampled_from([3, 3, 4]))
    complex_ = draw(st.booleans())
    sides = [draw(st.integers(1, 6)) for _ in range(rank - 1)]
    if draw(st.integers(0, 2)) == 0:  # a transform length past a SIMD block (and odd)
        sides[-1] = draw(st.sampled_from((7, 9, 15, 16, 17, 33)))
    shape = tuple(sides) + (2 if complex_ else 1,)
    axis = draw(st.integers(1, rank - 2))
    attrs: dict[str, Any] = {"inverse": draw(st.sampled_from([0, 1]))}
    if not complex_ and not attrs["inverse"]:
        attrs["onesided"] = draw(st.sampled_from([0, 1]))
    if draw(st.booleans()):
        attrs["_length"] = draw(st.integers(1, 8))
    if opset >= 20:
        attrs["_axis"] = draw(st.sampled_from([axis, axis - rank]))
    else:
        attrs["axis"] = axis
    return (shape, attrs)


@st.composite
def _stft_shapes(draw: Any) -> tuple:
    b, length = draw(st.integers(1, 2)), draw(st.integers(1, 16))
    complex_ = draw(st.booleans())
    frame = draw(st.integers(1, length))
    attrs: dict[str, Any] = {"_step": draw(st.integers(1, 4))}
    if complex_:
        attrs["onesided"] = 0
    elif draw(st.booleans()):
        attrs["onesided"] = draw(st.sampled_from([0, 1]))
    kind = draw(st.sampled_from(["window", "length", "both"]))
    if kind != "window":
        attrs["_frame"] = frame
    window = (frame,) if kind != "length" else None
    return ((b, length, 2 if complex_ else 1), None, window, None, attrs)


def _dft_edges(opset: int) -> tuple:
    """Odd and block lengths, real and complex, onesided, inverse, every axis."""
    out = []
    for shape, axis, attrs in (((2, 17, 1), 1, {"onesided": 1}), ((1, 9, 2), 1, {"inverse": 1}),
                               ((3, 16, 1), 1, {"_length": 9}), ((2, 5, 7, 2), 2, {}),
                               ((1, 33, 2), 1, {"_length": 40})):  # fmt: skip
        key = {"_axis": axis - len(shape) if opset >= 20 else axis} if opset >= 20 else {
            "axis": axis}  # fmt: skip
        out.append(((shape, {"inverse": 0, **attrs, **key}), None))
    return tuple(out)


_STFT_EDGES = tuple(((x, None, w, None, a), None) for x, w, a in (
    ((1, 33, 1), (8,), {"_step": 3}), ((2, 17, 2), (5,), {"_step": 2, "onesided": 0}),
    ((1, 16, 1), None, {"_step": 4, "_frame": 7, "onesided": 1})))  # fmt: skip
CASES: list[Case] = [
    Case("DFT", (Arg("any"), _scalar("_length"), _scalar("_axis")), F3, shapes=_dft_shapes(20),
         attrs=_attrs_last, tol="matmul", reduced=lambda ex: 40, edges=_dft_edges(20)),
    Case("DFT", (Arg("any"), _scalar("_length")), F3, shapes=_dft_shapes(17), opset=17,
         variant="opset17", attrs=_attrs_last, tol="matmul", reduced=lambda ex: 40,
         edges=_dft_edges(17)),
    Case("STFT", (Arg("any"), _scalar("_step"), Arg("prob"), _scalar("_frame")), F3,
         shapes=_stft_shapes(), attrs=_attrs_last, tol="matmul", reduced=lambda ex: 16,
         edges=_STFT_EDGES),
]  # fmt: skip


# ---- windows, MelWeightMatrix --------------------------------------------------------------------
@st.composite
def _window_attrs(draw: Any, shapes_: tuple[Any, ...]) -> dict[str, Any]:
    attrs: dict[str, Any] = {"_size": draw(st.integers(1, 12))}
    if draw(st.booleans()):
        attrs["periodic"] = draw(st.sampled_from([0, 1]))
    if draw(st.booleans()):
        attrs["output_datatype"] = draw(st.sampled_from([1, 11, 10, 7]))  # f32, f64, f16, i64
    return attrs


def _window(op: str) -> Case:
    return Case(
        op,
        (_scalar("_size", "int64", const=False),),
        ("int64",),
        shapes=st.just(((),)),
        attrs=lambda s: _window_attrs(s),
        tol="transcendental",
        edges=tuple(
            (((),), {"_size": n, "periodic": p, "output_datatype": t})
            for n, p, t in ((17, 1, 1), (16, 0, 1), (1, 1, 11), (33, 0, 10))
        ),
    )


@st.composite
def _mel_attrs(draw: Any, shapes_: tuple[Any, ...]) -> dict[str, Any]:
    rate = draw(st.sampled_from([8000, 16000]))
    low = draw(st.sampled_from([0.0, 100.0, 300.0]))
    attrs = {
        "_bins": draw(st.integers(1, 8)),
        "_dft": draw(st.integers(4, 32)),
        "_rate": rate,
        "_low": low,
        "_high": draw(st.sampled_from([rate / 4, 3 * rate / 8])),  # ORT rejects bands at Nyquist
    }
    if draw(st.booleans()):
        attrs["output_datatype"] = draw(st.sampled_from([1, 11]))
    return attrs


CASES += [
    _window("HannWindow"),
    _window("HammingWindow"),
    _window("BlackmanWindow"),
    Case(
        "MelWeightMatrix",
        (
            _scalar("_bins"),
            _scalar("_dft"),
            _scalar("_rate"),
            _scalar("_low", "float32"),
            _scalar("_high", "float32"),
        ),
        ("int64",),
        shapes=st.just(((),) * 5),
        attrs=lambda s: _mel_attrs(s),
        tol="transcendental",
        edges=tuple(
            (((),) * 5, {"_bins": b, "_dft": d, "_rate": 16000, "_low": lo, "_high": 4000.0})
            for b, d, lo in ((8, 32, 0.0), (3, 17, 300.0))
        ),
    ),
]
