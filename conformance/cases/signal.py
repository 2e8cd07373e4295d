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
    shape = tuple(draw(st.integers(1, 6)) for _ in range(rank - 1)) + (2 if complex_ else 1,)
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


CASES: list[Case] = [
    Case("DFT", (Arg("any"), _scalar("_length"), _scalar("_axis")), F3, shapes=_dft_shapes(20),
         attrs=_attrs_last, tol="matmul", reduced=lambda ex: 8),  # fmt: skip
    Case("DFT", (Arg("any"), _scalar("_length")), F3, shapes=_dft_shapes(17), opset=17,
         variant="opset17", attrs=_attrs_last, tol="matmul", reduced=lambda ex: 8),  # fmt: skip
    Case("STFT", (Arg("any"), _scalar("_step"), Arg("prob"), _scalar("_frame")), F3,
         shapes=_stft_shapes(), attrs=_attrs_last, tol="matmul", reduced=lambda ex: 16),
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
    return Case(op, (_scalar("_size", "int64", const=False),), ("int64",), shapes=st.just(((),)),
                attrs=lambda s: _window_attrs(s), tol="transcendental")  # fmt: skip


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
    ),
]
