"""The int8 depthwise conv's fused plane kernel (src/qdw_q8_kernels.inc: bytes in, bytes out, the
padded plane in column phases filled 8 / 16 values at a time with overlapping last chunks):
bit-identical to the reference over plane widths on each side of its 4-, 8- and 16-byte chunks,
odd and even left pads (which phase an input column lands in at stride 2), strides 1-3,
dilations, windows that leave the last input columns unread, u8/s8 inputs and outputs, at every
SIMD level this CPU has and 1 and 2 threads (the generic level runs the earlier paths)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ._qhelpers import q_model, run_exact
from .test_qconv import _q, _qlinear_conv_consts


def _run(level_threads: int, c: int, h: int, w: int, k: int, stride: int, dilation: int,
         pads: list[int], x_dtype: str, y_dtype: str, seed: int) -> None:  # fmt: skip
    rng = np.random.default_rng(seed)
    x = _q(rng, (1, c, h, w), x_dtype)
    wt = _q(rng, (c, 1, k, k), "int8")
    consts = _qlinear_conv_consts(rng, wt, x_dtype, y_dtype, True, True)
    model = q_model("QLinearConv", {"x": x}, consts, group=c, strides=[stride] * 2,
                    dilations=[dilation] * 2, pads=pads)  # fmt: skip
    run_exact(model, {"x": x}, level_threads)


@pytest.mark.parametrize("w", [1, 3, 4, 7, 8, 9, 15, 16, 17, 31, 33])
@pytest.mark.parametrize("stride, pads", [(1, [1, 1, 1, 1]), (2, [1, 1, 1, 1]),
                                          (2, [0, 0, 1, 1]), (2, [2, 3, 0, 0])])  # fmt: skip
def test_widths_around_the_chunks(level, nthreads, w, stride, pads):
    if w + pads[1] + pads[3] < 3:
        pytest.skip("the window does not fit the padded width")
    _run(nthreads, 9, 5, w, 3, stride, 1, pads, "uint8", "uint8", w * 7 + stride)


def test_a_window_that_leaves_input_columns_unread(level):
    # 3x3 stride 2 without right padding over 10 columns: the last input column is never read
    _run(1, 4, 10, 10, 3, 2, 1, [0, 0, 0, 0], "int8", "int8", 3)


@settings(max_examples=30, deadline=None)
@given(
    c=st.integers(1, 12), h=st.integers(1, 20), w=st.integers(1, 40), k=st.integers(1, 5),
    stride=st.integers(1, 3), dilation=st.integers(1, 2),
    pads=st.lists(st.integers(0, 3), min_size=4, max_size=4),
    x_dtype=st.sampled_from(["uint8", "int8"]), y_dtype=st.sampled_from(["uint8", "int8"]),
    seed=st.integers(0, 2**31 - 1),
)  # fmt: skip
def test_depthwise_geometry(level, nthreads, c, h, w, k, stride, dilation, pads, x_dtype,
                            y_dtype, seed):  # fmt: skip
    span = (k - 1) * dilation + 1
    h, w = max(h, span - pads[0] - pads[2]), max(w, span - pads[1] - pads[3])
    _run(nthreads, c, h, w, k, stride, dilation, pads, x_dtype, y_dtype, seed)
