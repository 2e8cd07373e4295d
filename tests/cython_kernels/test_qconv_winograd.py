"""The int8 Winograd F(2x2, 3x3) convolution (src/qconv_winograd.h): 3x3 stride-1 convolutions
with constant weights give the direct convolution's int32 sums bit for bit, and so the
reference's QLinearConv / ConvInteger outputs, at every SIMD level, 1 and 2 threads; weights
whose sums could leave the exact range are left to im2col."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.cython_kernels._native import ext
from gossamer.cython_kernels._qcommon import epilogue
from gossamer.cython_kernels.qconv_kernels import winograd_weights
from hypothesis import given, settings
from hypothesis import strategies as st

from ._qhelpers import q_model, run_exact
from .test_qconv import _q, _qlinear_conv_consts

TYPES = {"uint8": 0, "int8": 1}


def _direct(x: np.ndarray, zx: int, w: np.ndarray, zw: np.ndarray, ph: int, pw: int, oh: int,
            ow: int) -> np.ndarray:  # fmt: skip
    """int64 sums of the 3x3 stride-1 conv of x - zx (zero padding) with w - zw."""
    c, h, wd = x.shape
    xp = np.zeros((c, oh + 2, ow + 2), np.int64)
    src = x.astype(np.int64) - zx
    rows, cols = min(h, oh + 2 - ph), min(wd, ow + 2 - pw)
    xp[:, ph : ph + rows, pw : pw + cols] = src[:, :rows, :cols]
    g = w.astype(np.int64) - zw.reshape(-1, 1, 1, 1)
    out = np.zeros((w.shape[0], oh, ow), np.int64)
    for ky in range(3):
        for kx in range(3):
            out += np.einsum("mc,chw->mhw", g[:, :, ky, kx], xp[:, ky : ky + oh, kx : kx + ow])
    return out


def _winograd(x, zx, w, zw, ph, pw, oh, ow, threads):  # type: ignore[no-untyped-def]
    up = winograd_weights(w, zw)
    assert up is not None
    m, c = w.shape[0], x.shape[0]
    nb, nw = ext().qwino_sizes(m, c, oh, ow, threads)
    y = np.full((m, oh, ow), 7, np.int32)
    ext().qconv_winograd(x.view(np.uint8), TYPES[x.dtype.name], ph, pw, zx, up, m,
                         epilogue(2, None, 0.0), y, np.empty(nb, np.int16),
                         np.empty(nw, np.int32), threads)  # fmt: skip
    return y


@settings(max_examples=40, deadline=None)
@given(
    c=st.integers(1, 19), m=st.integers(1, 14), h=st.integers(1, 12), w=st.integers(1, 12),
    ph=st.integers(0, 2), pw=st.integers(0, 2), extra=st.integers(-2, 2),
    x_dtype=st.sampled_from(["uint8", "int8"]), w_dtype=st.sampled_from(["int8", "uint8"]),
    seed=st.integers(0, 2**31 - 1),
)  # fmt: skip
def test_winograd_sums_are_the_direct_convolution(level, nthreads, c, m, h, w, ph, pw, extra,
                                                  x_dtype, w_dtype, seed):  # fmt: skip
    rng = np.random.default_rng(seed)
    x, wt = _q(rng, (c, h, w), x_dtype), _q(rng, (m, c, 3, 3), w_dtype)
    zx, zw = int(_q(rng, (), x_dtype)), _q(rng, (m,), w_dtype).astype(np.int32)
    # output sizes from the padding at both ends (extra: the bottom/right padding minus ph/pw)
    oh, ow = h + ph + max(ph + extra, 0) - 2, w + pw + max(pw + extra, 0) - 2
    if oh < 1 or ow < 1:
        return
    got = _winograd(x, zx, wt, zw, ph, pw, oh, ow, nthreads)
    np.testing.assert_array_equal(got, _direct(x, zx, wt, zw, ph, pw, oh, ow))


def test_extreme_values_stay_exact(level, nthreads):
    # every input and weight at the end of its range that maximises |V| and |U'|
    c, m = 24, 9
    x = np.where(np.indices((c, 10, 11)).sum(0) % 2, 255, 0).astype(np.uint8)
    wt = np.full((m, c, 3, 3), -128, np.int8)
    wt[1::2] = 127
    zw = np.array([127, -128] * 4 + [0], np.int32)
    for zx in (0, 255, 128):
        got = _winograd(x, zx, wt, zw, 1, 1, 10, 11, nthreads)
        np.testing.assert_array_equal(got, _direct(x, zx, wt, zw, 1, 1, 10, 11))


def test_weights_whose_sums_could_leave_int30_are_refused():
    c = (1 << 29) // (255 * 255 * 9) + 1  # 255 * sum |w - zw| reaches 2^29
    wt = np.full((2, c, 3, 3), -128, np.int8)
    assert winograd_weights(wt, np.array([127, 127], np.int32)) is None
    assert winograd_weights(wt, np.array([-128, -128], np.int32)) is not None


@pytest.mark.parametrize("pads", [[1, 1, 1, 1], [0, 0, 0, 0], [2, 0, 1, 2]])
@settings(max_examples=8, deadline=None)
@given(
    x_dtype=st.sampled_from(["uint8", "int8"]), w_dtype=st.sampled_from(["int8", "uint8"]),
    y_dtype=st.sampled_from(["uint8", "int8"]), per_channel=st.booleans(),
    with_bias=st.booleans(), hw=st.tuples(st.integers(3, 15), st.integers(3, 15)),
    seed=st.integers(0, 2**31 - 1),
)  # fmt: skip
def test_qlinear_conv_3x3_is_the_reference(level, nthreads, pads, x_dtype, w_dtype, y_dtype,
                                           per_channel, with_bias, hw, seed):  # fmt: skip
    rng = np.random.default_rng(seed)
    x = _q(rng, (2, 12, *hw), x_dtype)
    w = _q(rng, (10, 12, 3, 3), w_dtype)
    consts = _qlinear_conv_consts(rng, w, x_dtype, y_dtype, per_channel, with_bias)
    run_exact(q_model("QLinearConv", {"x": x}, consts, pads=pads), {"x": x}, nthreads)


def test_conv_integer_3x3_is_the_reference(level, nthreads):
    rng = np.random.default_rng(3)
    x, w = _q(rng, (1, 16, 9, 13), "uint8"), _q(rng, (8, 16, 3, 3), "int8")
    consts = {"w": w, "x_zero_point": np.uint8(131), "w_zero_point": np.int8(-3)}
    run_exact(q_model("ConvInteger", {"x": x}, consts, pads=[1, 1, 1, 1]), {"x": x}, nthreads)
