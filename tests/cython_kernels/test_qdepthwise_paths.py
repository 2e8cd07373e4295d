"""The int8 depthwise conv's two paths (src/qconv.c): output planes of at most
GK_QDW8_MAX_PIXELS (256) run 8 channels at a time, interleaved; larger ones plane by plane. Both
bit-identical to the reference at every SIMD level this CPU has, 1 and 2 threads, with full and
partial channel blocks, strides, dilations, asymmetric pads and both epilogue paths (finite
multipliers take the integer rounding, an infinite one the float path)."""

from __future__ import annotations

import numpy as np
import pytest

from ._qhelpers import q_model, run_exact
from .test_qconv import _q, _qlinear_conv_consts


@pytest.mark.parametrize(
    "c, hw, k, stride, dilation, pads",
    [
        (20, 14, 3, 1, 1, [1, 1, 1, 1]),  # MobileNetV2's 14x14 blocks: two full blocks + 4
        (16, 7, 3, 1, 1, [1, 1, 1, 1]),
        (24, 28, 3, 2, 1, [0, 0, 1, 1]),  # TF-style asymmetric pads, stride 2
        (9, 13, 5, 2, 2, [2, 3, 1, 0]),
        (8, 16, 3, 1, 1, [1, 1, 1, 1]),  # 256 output pixels: the last of the blocked path
        (11, 17, 3, 1, 1, [1, 1, 1, 1]),  # 289: plane by plane
        (5, 1, 1, 1, 1, [0, 0, 0, 0]),
    ],
)  # fmt: skip
@pytest.mark.parametrize("y_dtype", ["uint8", "int8"])
def test_depthwise_paths_are_the_reference(level, nthreads, c, hw, k, stride, dilation, pads,
                                           y_dtype):  # fmt: skip
    rng = np.random.default_rng(c * hw + k)
    x = _q(rng, (2, c, hw, hw + 1), "uint8")
    w = _q(rng, (c, 1, k, k), "int8")
    consts = _qlinear_conv_consts(rng, w, "uint8", y_dtype, True, True)
    model = q_model("QLinearConv", {"x": x}, consts, group=c, strides=[stride] * 2,
                    dilations=[dilation] * 2, pads=pads)  # fmt: skip
    run_exact(model, {"x": x}, nthreads)


@pytest.mark.parametrize("w_scale", [np.inf, -np.inf, np.nan, 1e30])
def test_non_finite_and_huge_multipliers(level, w_scale):
    rng = np.random.default_rng(1)
    c = 12
    x = _q(rng, (1, c, 9, 9), "uint8")
    w = _q(rng, (c, 1, 3, 3), "int8")
    consts = _qlinear_conv_consts(rng, w, "uint8", "uint8", True, True)
    consts["w_scale"] = consts["w_scale"].copy()
    consts["w_scale"][3] = w_scale
    run_exact(q_model("QLinearConv", {"x": x}, consts, group=c, pads=[1] * 4), {"x": x}, 1)
