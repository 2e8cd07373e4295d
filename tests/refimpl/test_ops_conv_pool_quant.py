"""Reference semantics of the conv, pooling and quantisation ops beyond the ONNX node suite."""

from __future__ import annotations

import time

import numpy as np
import onnxruntime
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper

import gossamer
from gossamer import GraphValidationError, NodeExecutionError, OpArgumentError

RNG = np.random.default_rng(0)


def _model(op, feeds, attrs=None, opset=17, n_out=1):
    node = helper.make_node(op, list(feeds), [f"y{i}" for i in range(n_out)], **(attrs or {}))
    ins = [
        helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(v.dtype), v.shape)
        for n, v in feeds.items()
        if n
    ]
    outs = [helper.make_empty_tensor_value_info(f"y{i}") for i in range(n_out)]
    graph = helper.make_graph([node], "t", ins, outs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 10
    return model.SerializeToString()


def run(op, feeds, attrs=None, opset=17, n_out=1):
    """Runs one node on Gossamer; `feeds` maps input names in ONNX order ('' = absent) to arrays."""
    out = gossamer.load(_model(op, feeds, attrs, opset, n_out)).run(
        None, {k: v for k, v in feeds.items() if k}
    )
    return out if n_out > 1 else out[0]


def run_ort(op, feeds, attrs=None, opset=17, n_out=1):
    sess = onnxruntime.InferenceSession(
        _model(op, feeds, attrs, opset, n_out), providers=["CPUExecutionProvider"]
    )
    out = sess.run(None, {k: v for k, v in feeds.items() if k})
    return out if n_out > 1 else out[0]


def randn(*shape, dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype)


def randint(dtype, *shape):
    info = np.iinfo(dtype)
    return RNG.integers(info.min, info.max, size=shape, endpoint=True).astype(dtype)


def scalar(value, dtype):
    return np.array(value, dtype=dtype)


# ---- Conv ----------------------------------------------------------------------------------------
CONV_CASES = {
    "grouped_dilated_strided": ((2, 4, 9, 10), (6, 2, 3, 3),
                                dict(group=2, dilations=[2, 1], strides=[2, 3], pads=[1, 0, 2, 1])),
    "depthwise_multiplier_2": ((1, 3, 8, 8), (6, 1, 3, 3), dict(group=3, pads=[1, 1, 1, 1])),
    "same_lower_1d": ((1, 2, 7), (3, 2, 4), dict(auto_pad="SAME_LOWER", strides=[2])),
    "same_upper_3d": ((1, 2, 5, 6, 4), (2, 2, 2, 3, 2),
                      dict(auto_pad="SAME_UPPER", strides=[2, 1, 2])),
    "valid_1x1": ((2, 5, 4, 4), (3, 5, 1, 1), dict(auto_pad="VALID")),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(CONV_CASES))
def test_conv_matches_onnxruntime(case):
    x_shape, w_shape, attrs = CONV_CASES[case]
    feeds = {"x": randn(*x_shape), "w": randn(*w_shape), "b": randn(w_shape[0])}
    np.testing.assert_allclose(
        run("Conv", feeds, attrs), run_ort("Conv", feeds, attrs), rtol=1e-5, atol=1e-5
    )


def test_conv_float16_input_stays_float16():
    feeds = {"x": randn(1, 2, 5, 5, dtype=np.float16), "w": randn(3, 2, 3, 3, dtype=np.float16)}
    y = run("Conv", feeds, {"pads": [1, 1, 1, 1]})
    assert y.dtype == np.float16
    np.testing.assert_allclose(
        y, run_ort("Conv", feeds, {"pads": [1, 1, 1, 1]}), rtol=1e-2, atol=1e-2
    )


def test_conv_empty_batch_gives_empty_output():
    y = run("Conv", {"x": np.zeros((0, 2, 5, 5), np.float32), "w": randn(4, 2, 3, 3)})
    assert y.shape == (0, 4, 3, 3)


def test_conv_rejects_channels_not_matching_group():
    with pytest.raises(NodeExecutionError, match="group"):
        run("Conv", {"x": randn(1, 4, 5, 5), "w": randn(4, 3, 3, 3)}, {"group": 2})


def test_conv_rejects_kernel_larger_than_padded_input():
    with pytest.raises(NodeExecutionError, match="does not fit"):
        run("Conv", {"x": randn(1, 1, 2, 2), "w": randn(1, 1, 3, 3)})


def test_conv_resnet_stem_at_224_runs_well_under_a_second():
    x, w = randn(1, 3, 224, 224), randn(64, 3, 7, 7)
    start = time.perf_counter()
    y = run("Conv", {"x": x, "w": w}, {"strides": [2, 2], "pads": [3, 3, 3, 3]})
    assert y.shape == (1, 64, 112, 112)
    assert time.perf_counter() - start < 1.0


# ---- ConvTranspose -------------------------------------------------------------------------------
CONVT_CASES = {
    "output_padding_groups_dilations": ((1, 4, 3, 4), (4, 3, 3, 2),
                                        dict(group=2, strides=[3, 2], dilations=[1, 2],
                                             output_padding=[2, 1], pads=[1, 0, 0, 1])),
    "output_shape": ((2, 2, 3, 3), (2, 3, 3, 3), dict(strides=[2, 2], output_shape=[8, 7])),
    "same_upper": ((1, 2, 4), (2, 1, 3), dict(strides=[2], auto_pad="SAME_UPPER")),
    "same_lower": ((1, 2, 4, 3), (2, 2, 3, 2), dict(strides=[2, 2], auto_pad="SAME_LOWER")),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(CONVT_CASES))
def test_conv_transpose_matches_onnxruntime(case):
    x_shape, w_shape, attrs = CONVT_CASES[case]
    feeds = {"x": randn(*x_shape), "w": randn(*w_shape)}
    got, want = run("ConvTranspose", feeds, attrs), run_ort("ConvTranspose", feeds, attrs)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("opset", [10, 11])
def test_conv_transpose_odd_padding_from_output_shape_goes_to_the_start_at_every_opset(opset):
    # full output is 7x7 and output_shape 6x6 leaves one pad; ORT puts it first at every opset
    feeds = {"x": randn(1, 1, 3, 3), "w": randn(1, 1, 3, 3)}
    shaped = run("ConvTranspose", feeds, {"strides": [2, 2], "output_shape": [6, 6]}, opset=opset)
    padded = run("ConvTranspose", feeds, {"strides": [2, 2], "pads": [1, 1, 0, 0]}, opset=opset)
    np.testing.assert_array_equal(shaped, padded)
    ort = run_ort("ConvTranspose", feeds, {"strides": [2, 2], "output_shape": [6, 6]}, opset=opset)
    np.testing.assert_allclose(shaped, ort, rtol=1e-5, atol=1e-6)


# ---- MaxPool -------------------------------------------------------------------------------------
MAXPOOL_CASES = {
    "ceil_dilated_padded": ((1, 2, 9, 8), dict(kernel_shape=[3, 2], strides=[2, 2],
                                               dilations=[2, 1], pads=[1, 0, 1, 1], ceil_mode=1)),
    "column_major_indices": ((2, 3, 5, 6),
                             dict(kernel_shape=[2, 3], strides=[1, 2], storage_order=1)),
    "same_upper_3d": ((1, 1, 5, 4, 3),
                      dict(kernel_shape=[2, 2, 2], strides=[2, 2, 2], auto_pad="SAME_UPPER")),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(MAXPOOL_CASES))
def test_max_pool_values_and_indices_match_onnxruntime(case):
    shape, attrs = MAXPOOL_CASES[case]
    feeds = {"x": randn(*shape)}
    got = run("MaxPool", feeds, attrs, n_out=2)
    want = run_ort("MaxPool", feeds, attrs, n_out=2)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    assert got[1].dtype == np.int64


def test_max_pool_int8_pads_with_type_minimum():
    x = np.full((1, 1, 3, 3), -128, dtype=np.int8)
    attrs = {"kernel_shape": [2, 2], "pads": [1, 1, 1, 1]}
    y = run("MaxPool", {"x": x}, attrs, opset=12)
    assert y.dtype == np.int8
    np.testing.assert_array_equal(y, np.full((1, 1, 4, 4), -128, np.int8))


def test_max_pool_int8_is_rejected_before_opset_12():
    x = randint(np.int8, 1, 1, 4, 4)
    with pytest.raises(NodeExecutionError, match="dtype int8"):
        run("MaxPool", {"x": x}, {"kernel_shape": [2, 2]}, opset=11)


def test_max_pool_opset_7_has_no_dilations_attribute():
    with pytest.raises(GraphValidationError, match="dilations"):
        run(
            "MaxPool",
            {"x": randn(1, 1, 4, 4)},
            {"kernel_shape": [2, 2], "dilations": [1, 1]},
            opset=7,
        )


def test_max_pool_rejects_negative_pads():
    with pytest.raises(NodeExecutionError, match="pads"):
        run("MaxPool", {"x": randn(1, 1, 4, 4)}, {"kernel_shape": [2, 2], "pads": [-1, 0, 0, 0]})


# ---- AveragePool / LpPool / global pools ---------------------------------------------------------
AVGPOOL_CASES = {
    "ceil_count_pad": (10, dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
                                ceil_mode=1, count_include_pad=1)),
    "ceil_no_count_pad": (10, dict(kernel_shape=[3, 2], strides=[2, 3], pads=[0, 1, 1, 0],
                                   ceil_mode=1)),
    "opset7_count_pad": (7, dict(kernel_shape=[2, 2], pads=[1, 1, 1, 1], count_include_pad=1)),
    "dilated_opset19": (19, dict(kernel_shape=[2, 2], dilations=[2, 2], pads=[1, 0, 1, 0],
                                 count_include_pad=1)),
    "same_lower": (17, dict(kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_LOWER")),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(AVGPOOL_CASES))
def test_average_pool_matches_onnxruntime(case):
    opset, attrs = AVGPOOL_CASES[case]
    feeds = {"x": randn(2, 3, 7, 8)}
    got, want = run("AveragePool", feeds, attrs, opset), run_ort("AveragePool", feeds, attrs, opset)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_lp_pool_p3_with_pads_matches_onnxruntime():
    feeds, attrs = {"x": randn(1, 2, 6, 5)}, {"kernel_shape": [2, 3], "p": 3, "pads": [1, 1, 0, 1]}
    np.testing.assert_allclose(
        run("LpPool", feeds, attrs), run_ort("LpPool", feeds, attrs), rtol=1e-5
    )


@pytest.mark.parametrize("op", ["GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool"])
def test_global_pools_keep_rank_and_match_onnxruntime(op):
    feeds = {"x": randn(2, 3, 4, 5, 2)}
    got = run(op, feeds)
    assert got.shape == (2, 3, 1, 1, 1)
    # a mean of 40 standard normals can sit near 0: float32 sums then differ by ~1e-8 absolute
    np.testing.assert_allclose(got, run_ort(op, feeds), rtol=1e-5, atol=1e-7)


def test_global_average_pool_float16_stays_float16():
    y = run("GlobalAveragePool", {"x": np.full((1, 1, 16, 16), 1000, np.float16)})
    assert y.dtype == np.float16 and y.item() == 1000


# ---- MaxUnpool / Col2Im --------------------------------------------------------------------------
def test_max_unpool_with_output_shape_inverts_max_pool_like_onnxruntime():
    x = randn(1, 2, 5, 5)
    y, idx = run("MaxPool", {"x": x}, {"kernel_shape": [2, 2], "strides": [2, 2]}, n_out=2)
    feeds = {"y": y, "i": idx, "s": np.array(x.shape, np.int64)}
    attrs = {"kernel_shape": [2, 2], "strides": [2, 2]}
    got = run("MaxUnpool", feeds, attrs)
    np.testing.assert_array_equal(got, run_ort("MaxUnpool", feeds, attrs))
    np.testing.assert_array_equal(got[got != 0], x[got != 0])


def test_max_unpool_rejects_indices_out_of_range():
    feeds = {
        "x": randn(1, 1, 2, 2),
        "i": np.array([[[[0, 1, 2, 99]]]], np.int64).reshape(1, 1, 2, 2),
    }
    with pytest.raises(NodeExecutionError, match="indices"):
        run("MaxUnpool", feeds, {"kernel_shape": [2, 2], "strides": [2, 2]})


def test_col2im_with_strides_dilations_pads_matches_onnxruntime():
    image, block = np.array([6, 7], np.int64), np.array([2, 3], np.int64)
    attrs = {"strides": [2, 1], "dilations": [1, 2], "pads": [1, 0, 0, 1]}
    n_blocks = ((6 + 1 - 2) // 2 + 1) * ((7 + 1 - 5) // 1 + 1)
    feeds = {"x": randn(2, 3 * 6, n_blocks), "image": image, "block": block}
    got, want = run("Col2Im", feeds, attrs, opset=18), run_ort("Col2Im", feeds, attrs, opset=18)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


# ---- QuantizeLinear / DequantizeLinear -----------------------------------------------------------
def test_quantize_rounds_half_to_even_before_adding_odd_zero_point():
    feeds = {"x": np.array([0.5, 1.5, 2.5, -0.5, -1.5], np.float32), "s": scalar(1, np.float32),
             "z": scalar(1, np.uint8)}  # fmt: skip
    got = run("QuantizeLinear", feeds, opset=13)
    np.testing.assert_array_equal(got, [1, 3, 3, 1, -1 + 1])
    np.testing.assert_array_equal(got, run_ort("QuantizeLinear", feeds, opset=13))


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16, np.uint16])
def test_quantize_saturates_to_the_type_range(dtype):
    info = np.iinfo(dtype)
    x = np.array([-1e9, float(info.min) - 3, float(info.max) + 3, 1e9], np.float32)
    feeds = {"x": x, "s": scalar(1, np.float32), "z": scalar(0, dtype)}
    got = run("QuantizeLinear", feeds, opset=21)
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, [info.min, info.min, info.max, info.max])


def test_quantize_without_zero_point_defaults_to_uint8():
    got = run(
        "QuantizeLinear",
        {"x": np.array([-3.0, 300.0], np.float32), "s": scalar(1, np.float32)},
        opset=10,
    )
    assert got.dtype == np.uint8
    np.testing.assert_array_equal(got, [0, 255])


def test_quantize_output_dtype_attribute_selects_int4():
    attrs = {"output_dtype": TensorProto.INT4}
    got = run(
        "QuantizeLinear",
        {"x": np.array([-20.0, 3.4, 20.0], np.float32), "s": scalar(1, np.float32)},
        attrs,
        opset=21,
    )
    assert got.dtype.name == "int4"
    np.testing.assert_array_equal(got.astype(np.int8), [-8, 3, 7])


def test_quantize_per_axis_with_negative_axis_matches_onnxruntime():
    feeds = {"x": randn(2, 3, 4) * 50, "s": np.array([0.5, 1, 2, 4], np.float32),
             "z": np.array([0, 10, -10, 3], np.int8)}  # fmt: skip
    got = run("QuantizeLinear", feeds, {"axis": -1}, opset=13)
    np.testing.assert_array_equal(got, run_ort("QuantizeLinear", feeds, {"axis": -1}, opset=13))


def test_quantize_blocked_with_remainder_block_matches_onnxruntime():
    feeds = {"x": randn(3, 7) * 10, "s": np.abs(randn(3, 3)) + 0.1, "z": randint(np.int8, 3, 3)}
    attrs = {"axis": 1, "block_size": 3}
    got = run("QuantizeLinear", feeds, attrs, opset=21)
    np.testing.assert_array_equal(got, run_ort("QuantizeLinear", feeds, attrs, opset=21))


def test_quantize_rejects_scale_with_wrong_block_count():
    feeds = {"x": randn(2, 8), "s": np.ones((2, 3), np.float32)}
    with pytest.raises(NodeExecutionError, match="blocked"):
        run("QuantizeLinear", feeds, {"axis": 1, "block_size": 2}, opset=21)


def test_quantize_opset_10_rejects_per_axis_scale():
    feeds = {"x": randn(2, 3), "s": np.ones(3, np.float32)}
    with pytest.raises(NodeExecutionError, match="scalar"):
        run("QuantizeLinear", feeds, opset=10)


@pytest.mark.parametrize(("saturate", "expected"), [(1, 448.0), (0, np.nan)])
def test_quantize_float8_e4m3fn_overflow_follows_saturate(saturate, expected):
    import ml_dtypes

    zp = np.array(0, ml_dtypes.float8_e4m3fn)
    feeds = {"x": np.array([1000.0, np.inf], np.float32), "s": scalar(1, np.float32), "z": zp}
    got = run("QuantizeLinear", feeds, {"saturate": saturate}, opset=19).astype(np.float32)
    np.testing.assert_array_equal(got, [expected, expected])


def test_quantize_precision_attribute_sets_division_precision():
    feeds = {
        "x": np.array([2049.0], np.float32),
        "s": scalar(1, np.float32),
        "z": scalar(0, np.int16),
    }
    assert run("QuantizeLinear", feeds, opset=23)[0] == 2049
    assert run("QuantizeLinear", feeds, {"precision": TensorProto.FLOAT16}, opset=23)[0] == 2048


def test_dequantize_int32_without_zero_point_is_exact_scaling():
    x = np.array([-(2**20), 7, 2**20], np.int32)
    got = run("DequantizeLinear", {"x": x, "s": scalar(0.5, np.float32)}, opset=10)
    np.testing.assert_array_equal(got, x.astype(np.float32) * 0.5)


def test_dequantize_per_axis_matches_onnxruntime():
    feeds = {"x": randint(np.uint8, 2, 3, 2), "s": np.array([0.1, 0.2, 0.3], np.float32),
             "z": np.array([1, 128, 255], np.uint8)}  # fmt: skip
    got = run("DequantizeLinear", feeds, {"axis": 1}, opset=13)
    np.testing.assert_allclose(
        got, run_ort("DequantizeLinear", feeds, {"axis": 1}, opset=13), rtol=1e-6
    )


def test_dequantize_output_dtype_attribute_selects_float16():
    feeds = {"x": np.array([-128, 0, 127], np.int8), "s": scalar(0.25, np.float32)}
    got = run("DequantizeLinear", feeds, {"output_dtype": TensorProto.FLOAT16}, opset=23)
    assert got.dtype == np.float16
    np.testing.assert_array_equal(got, [-32, 0, 31.75])


def test_dequantize_rejects_zero_point_of_another_type():
    feeds = {"x": np.array([1, 2], np.int8), "s": scalar(1, np.float32), "z": scalar(0, np.uint8)}
    with pytest.raises(NodeExecutionError):
        run("DequantizeLinear", feeds, opset=13)


# ---- DynamicQuantizeLinear / integer matmul and conv ---------------------------------------------
def test_dynamic_quantize_all_negative_input_has_zero_point_255():
    x = np.array([-4.0, -1.0, -2.0], np.float32)
    got = run("DynamicQuantizeLinear", {"x": x}, opset=11, n_out=3)
    want = run_ort("DynamicQuantizeLinear", {"x": x}, opset=11, n_out=3)
    assert got[2] == 255
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


def test_matmul_integer_per_row_and_per_column_zero_points_match_onnxruntime():
    feeds = {"a": randint(np.uint8, 4, 6), "b": randint(np.int8, 6, 3),
             "az": randint(np.uint8, 4), "bz": randint(np.int8, 3)}  # fmt: skip
    got = run("MatMulInteger", feeds, opset=10)
    assert got.dtype == np.int32
    a = feeds["a"].astype(np.int64) - feeds["az"][:, None]
    np.testing.assert_array_equal(got, a @ (feeds["b"].astype(np.int64) - feeds["bz"]))


def test_matmul_integer_batched_matches_onnxruntime():
    feeds = {
        "a": randint(np.uint8, 2, 3, 40),
        "b": randint(np.uint8, 40, 5),
        "az": scalar(12, np.uint8),
    }
    np.testing.assert_array_equal(
        run("MatMulInteger", feeds, opset=10), run_ort("MatMulInteger", feeds, opset=10)
    )


@pytest.mark.parametrize("dtype", [np.uint8, np.int8])
def test_qlinear_matmul_matches_onnxruntime_bit_for_bit(dtype):
    feeds = {"a": randint(dtype, 2, 5, 32), "as": scalar(0.02, np.float32), "az": scalar(3, dtype),
             "b": randint(dtype, 32, 7), "bs": scalar(0.03, np.float32),
             "bz": scalar(-2 if dtype == np.int8 else 9, dtype),
             "ys": scalar(0.7, np.float32), "yz": scalar(5, dtype)}  # fmt: skip
    np.testing.assert_array_equal(
        run("QLinearMatMul", feeds, opset=10), run_ort("QLinearMatMul", feeds, opset=10)
    )


@pytest.mark.parametrize("dtype", [np.uint8, np.int8])
def test_qlinear_conv_per_channel_with_bias_is_the_exact_requantised_conv(dtype):
    # The oracle is the exact math (float64 conv of the dequantised tensors, rounded half to even
    # and saturated): onnxruntime 1.32 gets 19 of these 108 uint8 values wrong by up to 12 units.
    feeds = {"x": randint(dtype, 1, 4, 7, 6), "xs": scalar(0.05, np.float32),
             "xz": scalar(2, dtype),
             "w": randint(np.int8, 6, 2, 3, 3), "ws": np.linspace(0.01, 0.06, 6).astype(np.float32),
             "wz": np.zeros(6, np.int8), "ys": scalar(0.9, np.float32), "yz": scalar(4, dtype),
             "b": randint(np.int16, 6).astype(np.int32)}  # fmt: skip
    attrs = {"group": 2, "pads": [1, 1, 0, 1], "strides": [2, 1]}
    got = run("QLinearConv", feeds, attrs, opset=10)
    assert got.dtype == dtype
    ws = feeds["ws"].astype(np.float64)
    x = (feeds["x"].astype(np.float64) - int(feeds["xz"])) * float(feeds["xs"])
    w = feeds["w"].astype(np.float64) * ws[:, None, None, None]
    b = feeds["b"].astype(np.float64) * float(feeds["xs"]) * ws
    y = run("Conv", {"x": x, "w": w, "b": b}, attrs, opset=10)
    exact = y / float(feeds["ys"])
    info = np.iinfo(dtype)

    def out(v):
        return np.clip(v + int(feeds["yz"]), info.min, info.max).astype(dtype)

    # The reference rounds float32(acc) * float32(xs * ws / ys), onnxruntime's formula, whose error
    # is a few parts in 1e7: these scales put about one exact value in 500 some 1e-8 off a .5 tie
    # (the multiplier is close to a fraction with a small denominator): either neighbour is right.
    near_tie = np.abs(np.abs(exact - np.floor(exact)) - 0.5) <= 4e-7 * np.maximum(1, np.abs(exact))
    assert near_tie.sum() <= 4, "the tie allowance must stay narrow"
    right = (got == out(np.rint(exact))) | (
        near_tie & ((got == out(np.floor(exact))) | (got == out(np.ceil(exact))))
    )
    np.testing.assert_array_equal(got[~right], out(np.rint(exact))[~right])


def test_conv_integer_pads_with_the_zero_point():
    feeds = {"x": np.full((1, 1, 2, 2), 7, np.uint8), "w": np.ones((1, 1, 3, 3), np.uint8),
             "xz": scalar(7, np.uint8)}  # fmt: skip
    got = run("ConvInteger", feeds, {"pads": [1, 1, 1, 1]}, opset=10)
    np.testing.assert_array_equal(got, np.zeros((1, 1, 2, 2), np.int32))


def test_conv_integer_per_channel_weight_zero_point_equals_shifted_float_conv():
    x, w = randint(np.uint8, 1, 2, 5, 5), randint(np.uint8, 3, 2, 3, 3)
    wz = np.array([0, 100, 255], np.uint8)
    feeds = {"x": x, "w": w, "xz": scalar(128, np.uint8), "wz": wz}
    got = run("ConvInteger", feeds, opset=10)
    xs = x.astype(np.float32) - 128
    ws = w.astype(np.float32) - wz[:, None, None, None]
    np.testing.assert_array_equal(got, run("Conv", {"x": xs, "w": ws}).astype(np.int32))


# ---- DeformConv ----------------------------------------------------------------------------------
def test_deform_conv_with_zero_offsets_and_unit_mask_equals_conv():
    x, w, b = randn(2, 4, 6, 5), randn(6, 2, 3, 2), randn(6)
    attrs = {"group": 2, "pads": [1, 0, 1, 1], "strides": [2, 1], "dilations": [1, 2]}
    ref = run("Conv", {"x": x, "w": w, "b": b}, attrs)
    offset = np.zeros((2, 2 * 2 * 6) + ref.shape[2:], np.float32)
    mask = np.ones((2, 2 * 6) + ref.shape[2:], np.float32)
    got = run("DeformConv", {"x": x, "w": w, "o": offset, "b": b, "m": mask},
              {**attrs, "offset_group": 2}, opset=19)  # fmt: skip
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)


def test_deform_conv_half_pixel_offset_interpolates_bilinearly():
    x = np.arange(9, dtype=np.float32).reshape(1, 1, 3, 3)
    offset = np.full((1, 2, 2, 2), 0.5, np.float32)  # 1x1 kernel, sample at (i+0.5, j+0.5)
    got = run("DeformConv", {"x": x, "w": np.ones((1, 1, 1, 1), np.float32), "o": offset},
              {"strides": [2, 2]}, opset=19)  # fmt: skip
    # (0.5, 0.5) averages 0,1,3,4; the other samples reach past the border where x is 0
    np.testing.assert_allclose(got[0, 0, 0, 0], 2.0)
    np.testing.assert_allclose(got[0, 0, 1, 1], 8 / 4)


# ---- pooling skips taps that never reach the input -----------------------------------------------
@settings(max_examples=200)
@given(
    n=st.integers(1, 9), k=st.integers(1, 9), s=st.integers(1, 4), d=st.integers(1, 4),
    b=st.integers(0, 12), e=st.integers(0, 12),
)  # fmt: skip
def test_window_tap_counts_and_useful_taps_match_enumerating_every_tap(n, k, s, d, b, e):
    from gossamer.refimpl.ops._pooling import _counts, _useful_taps
    from gossamer.refimpl.ops._window import window

    try:
        win = window((n,), [k], strides=[s], dilations=[d], pads=[b, e])
    except OpArgumentError:
        return
    o = win.out[0]
    pos = np.arange(o)[:, None] * win.strides[0] + np.arange(k)[None, :] * win.dilations[0]
    inside = (pos >= b) & (pos < b + n)
    np.testing.assert_array_equal(_counts(n, o, k, win.strides[0], win.dilations[0], b, b + n),
                                  inside.sum(axis=1))  # fmt: skip
    (useful,) = _useful_taps(win, (n,))
    assert set(np.flatnonzero(inside.any(axis=0))) <= set(useful)
