"""The int8 depthwise conv's channels-last integer kernel (src/qdw_q8_kernels.inc qdw_block16:
16 channels at a time, the padded input as int16 pairs of horizontal taps, one vpdpwssd per tap
pair, requantised 16 channels per pixel, transposed back to planes), which runs where the 8-bit
GEMM's core is VNNI or AMX (AVX-512 with AVX512_VNNI): bit-identical to the reference over
partial channel blocks, widths on each side of its 16-column transposes, even and odd strides
(even strides keep every other pair column), dilations, odd and even window widths (the last
tap's pair is padded with a zero weight), asymmetric pads, planes wide enough to run in several
row strips, u8/s8 inputs and outputs, per-tensor and per-channel parameters, with and without
bias, 1 and 2 threads. Each case also runs with the core capped below VNNI, which takes the
earlier float32 paths at the same SIMD level, so both stay tested on this CPU."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.cython_kernels._native import ext
from hypothesis import given, settings
from hypothesis import strategies as st

from ._qhelpers import q_model, run_exact
from .test_qconv import _q, _qlinear_conv_consts


@pytest.fixture(scope="module", params=[1, 0], ids=["block16", "capped"])
def dwcore(request: pytest.FixtureRequest, level: str):  # type: ignore[no-untyped-def]
    """1: the 8-bit GEMM's core left at VNNI or better (the 16-channel kernel where this level
    has it); 0: capped at the portable core (the float32 depthwise paths)."""
    got = ext().q8_set_core(2 if request.param else 0)
    try:
        if request.param and got < 1:
            pytest.skip(f"no AVX512_VNNI core at SIMD level {level} on this CPU")
        yield request.param
    finally:
        ext().q8_set_core(-1)


def _run(threads: int, n: int, c: int, h: int, w: int, kh: int, kw: int, stride: tuple[int, int],
         dilation: tuple[int, int], pads: list[int], x_dtype: str, y_dtype: str,
         per_channel: bool, with_bias: bool, seed: int) -> None:  # fmt: skip
    rng = np.random.default_rng(seed)
    x = _q(rng, (n, c, h, w), x_dtype)
    wt = _q(rng, (c, 1, kh, kw), "int8")
    consts = _qlinear_conv_consts(rng, wt, x_dtype, y_dtype, per_channel, with_bias)
    model = q_model("QLinearConv", {"x": x}, consts, group=c, strides=list(stride),
                    dilations=list(dilation), pads=pads)  # fmt: skip
    run_exact(model, {"x": x}, threads)


@pytest.mark.parametrize("c", [1, 15, 16, 17, 40])
@pytest.mark.parametrize("w", [5, 15, 16, 17, 33])
@pytest.mark.parametrize("stride", [1, 2])
def test_channels_widths_strides(dwcore, nthreads, c, w, stride):
    _run(nthreads, 2, c, 9, w, 3, 3, (stride, stride), (1, 1), [1, 1, 1, 1], "uint8", "uint8",
         True, True, c * 100 + w * 3 + stride)  # fmt: skip


@pytest.mark.parametrize(
    "kh, kw, stride, dilation, pads",
    [
        (3, 3, (1, 1), (1, 1), [0, 0, 0, 0]),
        (3, 3, (2, 2), (1, 1), [0, 0, 1, 1]),  # TF-style asymmetric pads
        (5, 5, (1, 1), (2, 2), [4, 4, 4, 4]),  # pads as wide as the window's span
        (2, 4, (1, 3), (1, 1), [1, 2, 0, 1]),  # even window widths, an odd stride of 3
        (1, 1, (1, 1), (1, 1), [0, 0, 0, 0]),
        (3, 1, (2, 1), (3, 1), [3, 0, 2, 0]),
        (1, 7, (1, 2), (1, 2), [0, 6, 0, 5]),
        (7, 7, (4, 4), (1, 1), [3, 3, 3, 3]),
    ],
)  # fmt: skip
@pytest.mark.parametrize("x_dtype, y_dtype", [("uint8", "int8"), ("int8", "uint8")])
def test_windows_and_types(dwcore, nthreads, kh, kw, stride, dilation, pads, x_dtype, y_dtype):
    _run(nthreads, 1, 20, 13, 19, kh, kw, stride, dilation, pads, x_dtype, y_dtype, True, True,
         kh * 10 + kw)  # fmt: skip


@pytest.mark.parametrize("per_channel, with_bias", [(False, False), (False, True), (True, False)])
def test_per_tensor_parameters_and_no_bias(dwcore, per_channel, with_bias):
    _run(1, 1, 24, 14, 14, 3, 3, (1, 1), (1, 1), [1, 1, 1, 1], "uint8", "uint8", per_channel,
         with_bias, 5)  # fmt: skip


@pytest.mark.parametrize("stride", [1, 2])
def test_planes_in_several_strips(dwcore, nthreads, stride):
    # 300 columns of pairs: the strip's 256 KiB hold a few rows, so 40 output rows take several
    _run(nthreads, 1, 18, 40 * stride, 300 * stride, 3, 3, (stride, stride), (1, 1),
         [1, 1, 1, 1], "uint8", "uint8", True, True, 11 + stride)  # fmt: skip


def test_extreme_values_stay_exact(dwcore):
    # x - zx = 255 and w - zw = -255 or 255 over a 16 x 16 window: every product and pair sum at
    # its limit (256 taps: 16.6M in magnitude, beyond float32's exact integers were it float)
    c = 17
    x = np.full((1, c, 20, 20), 255, np.uint8)
    w = np.full((c, 1, 16, 16), -128, np.int8)
    w[1::3] = 127
    w_zp = np.where(np.arange(c) % 3 == 1, -128, 127).astype(np.int8)
    consts = {
        "x_scale": np.float32(1.0), "x_zero_point": np.uint8(0),
        "w": w, "w_scale": np.full(c, 2e-6, np.float32), "w_zero_point": w_zp,
        "y_scale": np.float32(1.0), "y_zero_point": np.uint8(128),
        "b": (np.arange(c, dtype=np.int32) - 8) * 1000000,
    }  # fmt: skip
    run_exact(q_model("QLinearConv", {"x": x}, consts, group=c, pads=[7, 7, 8, 8]), {"x": x}, 1)


@settings(max_examples=40, deadline=None)
@given(
    c=st.integers(1, 36), h=st.integers(1, 24), w=st.integers(1, 40), kh=st.integers(1, 5),
    kw=st.integers(1, 5), sh=st.integers(1, 3), sw=st.integers(1, 3), dh=st.integers(1, 2),
    dw=st.integers(1, 3), pads=st.lists(st.integers(0, 3), min_size=4, max_size=4),
    x_dtype=st.sampled_from(["uint8", "int8"]), y_dtype=st.sampled_from(["uint8", "int8"]),
    seed=st.integers(0, 2**31 - 1),
)  # fmt: skip
def test_depthwise16_geometry(dwcore, c, h, w, kh, kw, sh, sw, dh, dw, pads, x_dtype, y_dtype,
                              seed):  # fmt: skip
    h = max(h, (kh - 1) * dh + 1 - pads[0] - pads[2])
    w = max(w, (kw - 1) * dw + 1 - pads[1] - pads[3])
    _run(1, 1, c, h, w, kh, kw, (sh, sw), (dh, dw), pads, x_dtype, y_dtype, True, True, seed)
