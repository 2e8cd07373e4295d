"""com.microsoft QLinearAveragePool and QLinearGlobalAveragePool: exact int32 sums requantised
once; the global pool (and a window covering the whole image) matches onnxruntime bit for bit,
a smaller window within one unit (onnxruntime sums dequantised float32 values there)."""

import numpy as np
import pytest
from gossamer.refimpl.errors import OpArgumentError
from gossamer.refimpl.ops.op_qlinear_average_pool import qlinear_average_pool_1
from gossamer.refimpl.ops.op_qlinear_global_average_pool import qlinear_global_average_pool_1
from hypothesis import given, settings
from hypothesis import strategies as st

from ._ort_oracle import ints, run_both

f32, u8, i8 = np.float32, np.uint8, np.int8
S = np.asarray


def test_global_pool_requantises_the_exact_mean():
    x = S([[[[1, 2], [3, 5]]]], u8)  # sum of (x - 1) = 7 over 4 positions
    y = qlinear_global_average_pool_1(x, S(1.0, f32), S(1, u8), S(0.5, f32), S(3, u8))
    assert y.shape == (1, 1, 1, 1) and y.item() == 7  # rint(7 / 4 / 0.5) + 3 = rint(3.5) + 3


def test_global_pool_channels_last_pools_the_middle_axes():
    x = np.arange(24, dtype=u8).reshape(1, 3, 4, 2)
    y = qlinear_global_average_pool_1(x, S(1.0, f32), S(0, u8), S(1.0, f32), S(0, u8),
                                      channels_last=1)  # fmt: skip
    assert y.shape == (1, 1, 1, 2) and y.ravel().tolist() == [11, 12]  # 132/12, 144/12


def test_average_pool_excludes_padding_unless_counted():
    x = S([[[[4, 8], [12, 16]]]], u8)
    args = (S(1.0, f32), S(0, u8), S(1.0, f32), S(0, u8))
    plain = qlinear_average_pool_1(x, *args, kernel_shape=[2, 2], pads=[1, 1, 0, 0])
    counted = qlinear_average_pool_1(x, *args, kernel_shape=[2, 2], pads=[1, 1, 0, 0],
                                     count_include_pad=1)  # fmt: skip
    assert plain[0, 0].tolist() == [[4, 6], [8, 10]]
    assert counted[0, 0].tolist() == [[1, 3], [4, 10]]


def test_average_pool_saturates_at_the_type_range():
    x = np.full((1, 1, 3, 3), 127, i8)
    y = qlinear_average_pool_1(x, S(1.0, f32), S(-128, i8), S(0.5, f32), S(0, i8),
                               kernel_shape=[3, 3])  # fmt: skip
    assert y.item() == 127


def test_pools_need_spatial_axes():
    with pytest.raises(OpArgumentError, match="spatial"):
        qlinear_global_average_pool_1(S([[1]], u8), S(1.0, f32), S(0, u8), S(1.0, f32))


# ---- against onnxruntime -----------------------------------------------------------------------
_SCALES = st.sampled_from([0.5, 0.1, 0.02, 0.0371, 0.003]) | st.floats(0.001, 1.0)


@st.composite
def _params(draw, dtype):
    info = np.iinfo(dtype)
    zps = st.sampled_from([info.min, info.max, 0]) | st.integers(info.min, info.max)
    return [S(draw(_SCALES), f32), S(draw(zps), dtype), S(draw(_SCALES), f32), S(draw(zps), dtype)]


@settings(max_examples=40)
@given(data=st.data())
def test_global_pool_matches_onnxruntime_bit_for_bit(data):
    dtype = data.draw(st.sampled_from([u8, i8]))
    spatial = data.draw(st.lists(st.integers(1, 9), min_size=1, max_size=3))
    shape = (data.draw(st.integers(1, 2)), data.draw(st.sampled_from([1, 3, 17])), *spatial)
    last = data.draw(st.booleans())
    if last:
        shape = (shape[0], *shape[2:], shape[1])
    x = ints(np.random.default_rng(data.draw(st.integers(0, 2**32 - 1))), dtype, shape)
    ours, theirs = run_both("QLinearGlobalAveragePool", [x, *data.draw(_params(dtype))],
                            {"channels_last": int(last)})  # fmt: skip
    np.testing.assert_array_equal(ours[0], theirs[0])


_WINDOWS = [
    {"kernel_shape": [3, 3]},
    {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]},
    {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1], "count_include_pad": 1},
    {"kernel_shape": [2, 3], "strides": [2, 2]},
    {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1},
    {"kernel_shape": [3, 2], "strides": [2, 1], "auto_pad": "SAME_UPPER"},
]


@settings(max_examples=60)
@given(data=st.data(), window=st.sampled_from(_WINDOWS), last=st.booleans())
def test_average_pool_is_within_one_unit_of_onnxruntime(data, window, last):
    dtype = data.draw(st.sampled_from([u8, i8]))
    shape = (2, data.draw(st.sampled_from([1, 3, 17])), *data.draw(st.tuples(
        st.integers(3, 9), st.integers(3, 9))))  # fmt: skip
    if last:
        shape = (shape[0], *shape[2:], shape[1])
    x = ints(np.random.default_rng(data.draw(st.integers(0, 2**32 - 1))), dtype, shape)
    attrs = {**window, "channels_last": int(last)}
    ours, theirs = run_both("QLinearAveragePool", [x, *data.draw(_params(dtype))], attrs)
    assert np.abs(ours[0].astype(int) - theirs[0].astype(int)).max() <= 1


def test_average_pool_over_the_whole_image_matches_onnxruntime_bit_for_bit():
    rng = np.random.default_rng(0)
    for dtype in (u8, i8):
        x = ints(rng, dtype, (2, 17, 7, 5))
        params = [S(0.0371, f32), S(3, dtype), S(0.013, f32), S(-1 if dtype == i8 else 9, dtype)]
        ours, theirs = run_both("QLinearAveragePool", [x, *params], {"kernel_shape": [7, 5]})
        np.testing.assert_array_equal(ours[0], theirs[0])
