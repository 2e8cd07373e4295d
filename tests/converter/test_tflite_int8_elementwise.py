"""Quantised TFLite element-wise ops, pooling, reductions, activations and (de)quantisation against
LiteRT: bit-exact against its reference kernels, within one unit of its optimised ones."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("tflite")

from tests.converter.tflite_int8_models import (  # noqa: E402
    ADD,
    AVG_POOL,
    DEQUANTIZE,
    FLOAT32,
    INT32,
    LOGISTIC,
    MAX_POOL,
    MUL,
    QUANTIZE,
    RELU,
    RELU1_OP,
    RELU6,
    RELU6_OP,
    RELU_OP,
    SAME,
    SHARE_OFF_BY_ONE,
    SUB,
    TANH,
    VALID,
    T,
    check,
    exact,
    ints,
    ours,
    q_model,
    qt,
    run_litert,
)


@pytest.mark.parametrize("code", [ADD, SUB, MUL])
@pytest.mark.parametrize(
    "dtype, a_shape, b_shape, scales, act",
    [
        ("int8", (2, 5, 17), (2, 5, 17), (0.05, 0.02, 0.07), 0),
        ("int8", (1, 4, 4, 9), (9,), (0.1, 0.3, 0.25), RELU),
        ("int8", (3, 1, 8), (1, 5, 1), (0.01, 0.01, 0.004), RELU6),
        ("uint8", (2, 33), (2, 33), (0.2, 0.05, 0.1), 0),
    ],
)
def test_add_sub_mul_match_litert(code, dtype, a_shape, b_shape, scales, act):
    rng = np.random.default_rng(2)
    out_shape = np.broadcast_shapes(a_shape, b_shape)
    zp = (-7, 11, 3) if dtype == "int8" else (120, 131, 128)
    tensors = [qt("a", dtype, a_shape, scales[0], zp[0]), qt("b", dtype, b_shape, scales[1], zp[1])]
    out = qt("y", dtype, out_shape, scales[2] * (3 if code == MUL else 1), zp[2])
    kind = {ADD: "AddOptions", SUB: "SubOptions", MUL: "MulOptions"}[code]
    model = q_model(code, tensors, [out], (kind, {"fused_activation_function": act}), version=2)
    check(model, [ints(rng, a_shape, dtype), ints(rng, b_shape, dtype)])


@settings(max_examples=25, deadline=None)
@given(
    code=st.sampled_from([ADD, SUB, MUL]),
    dtype=st.sampled_from(["int8", "uint8"]),
    scales=st.tuples(*[st.floats(0.001, 2.0)] * 3),
    zps=st.tuples(*[st.integers(0, 255)] * 3),
    seed=st.integers(0, 2**16),
)
def test_add_sub_mul_match_litert_reference_on_drawn_params(code, dtype, scales, zps, seed):
    rng = np.random.default_rng(seed)
    zps = [z - 128 if dtype == "int8" else z for z in zps]
    y_scale = scales[2] * (scales[0] * scales[1] if code == MUL else max(scales[:2]))
    tensors = [qt("a", dtype, (3, 17), scales[0], zps[0]), qt("b", dtype, (17,), scales[1], zps[1])]
    kind = {ADD: "AddOptions", SUB: "SubOptions", MUL: "MulOptions"}[code]
    model = q_model(code, tensors, [qt("y", dtype, (3, 17), y_scale, zps[2])], (kind, {}),
                    version=2)  # fmt: skip
    exact(model, [ints(rng, (3, 17), dtype), ints(rng, (17,), dtype)])


@pytest.mark.parametrize("code", [AVG_POOL, MAX_POOL])
@pytest.mark.parametrize(
    "dtype, x_shape, kernel, strides, padding, act",
    [
        ("int8", (1, 9, 9, 3), (3, 3), (2, 2), SAME, 0),
        ("int8", (2, 8, 6, 17), (2, 2), (2, 2), VALID, RELU),
        ("int8", (1, 7, 7, 4), (7, 7), (1, 1), VALID, 0),
        ("uint8", (1, 10, 10, 2), (3, 3), (1, 1), SAME, RELU6),
    ],
)
def test_pooling_matches_litert(code, dtype, x_shape, kernel, strides, padding, act):
    from gossamer.refimpl.ops._tflite_window import out_and_pad

    rng = np.random.default_rng(3)
    oh = out_and_pad(x_shape[1], kernel[0], strides[0], 1, "SAME" if padding == SAME else "VALID")
    ow = out_and_pad(x_shape[2], kernel[1], strides[1], 1, "SAME" if padding == SAME else "VALID")
    scale, zp = 0.05, (-10 if dtype == "int8" else 128)
    options = {"padding": padding, "stride_h": strides[0], "stride_w": strides[1],
               "filter_height": kernel[0], "filter_width": kernel[1],
               "fused_activation_function": act}  # fmt: skip
    out = qt("y", dtype, (x_shape[0], oh[0], ow[0], x_shape[3]), scale, zp)
    model = q_model(code, [qt("x", dtype, x_shape, scale, zp)], [out], ("Pool2DOptions", options),
                    version=2)  # fmt: skip
    check(model, [ints(rng, x_shape, dtype)])


@pytest.mark.parametrize(
    "dtype, x_shape, axes, keep, scales",
    [
        ("int8", (1, 7, 7, 17), [1, 2], True, (0.05, 0.02)),
        ("int8", (2, 5, 33), [-1], False, (0.1, 0.1)),
        ("int8", (3, 9), [0, 1], False, (0.02, 0.05)),
        ("uint8", (2, 4, 4, 3), [1, 2], False, (0.1, 0.03)),
    ],
)
@pytest.mark.parametrize("code", [40, 74])  # MEAN, SUM
def test_mean_and_sum_match_litert(code, dtype, x_shape, axes, keep, scales):
    """SUM's int8 reference kernel reads the int8 data as uint8 (reduce.cc hands
    reference_ops::QuantizedMeanOrSum GetTensorData<uint8_t>), so int8 SUM is checked against
    the optimised kernels only: the reference's algorithm on the right type."""
    rng = np.random.default_rng(8)
    if code == 74:
        scales = (scales[0], scales[1] * 10)
    out_shape = np.sum(np.zeros(x_shape), axis=tuple(axes), keepdims=keep).shape
    zps = (-12, 7) if dtype == "int8" else (130, 100)
    tensors = [qt("x", dtype, x_shape, scales[0], zps[0]),
               T("axes", INT32, (len(axes),), np.array(axes, np.int32))]  # fmt: skip
    model = q_model(code, tensors, [qt("y", dtype, out_shape, scales[1], zps[1])],
                    ("ReducerOptions", {"keep_dims": keep}), version=2)  # fmt: skip
    x = ints(rng, x_shape, dtype)
    if code == 40:
        check(model, [x])
        return
    got = ours(model, [x])[0]
    if dtype == "uint8":
        assert np.array_equal(got, run_litert(model, [x], "reference")[0])
    for kernels in ("builtin", "default"):  # they rescale the sum their own way
        off = np.abs(got.astype(int) - run_litert(model, [x], kernels)[0].astype(int))
        assert off.max() <= 1 and (off > 0).mean() <= SHARE_OFF_BY_ONE["default"]


@pytest.mark.parametrize(
    "dtype, x_shape, x_scale, zp, beta",
    [("int8", (3, 17), 0.1, -5, 1.0), ("int8", (2, 65), 0.02, 0, 1.0),
     ("int8", (1, 1001), 0.3, 40, 1.0), ("uint8", (4, 9), 0.05, 128, 1.0),
     ("int8", (2, 3, 33), 0.5, 0, 0.5), ("int8", (2, 9), 5.0, 0, 2.0)],
)  # fmt: skip
def test_softmax_matches_litert_reference(dtype, x_shape, x_scale, zp, beta):
    """The reference kernel computes in gemmlowp fixed point; the optimised one from a float table
    (equal within one unit here)."""
    rng = np.random.default_rng(9)
    low = int(np.iinfo(dtype).min)
    model = q_model(25, [qt("x", dtype, x_shape, x_scale, zp)],
                    [qt("y", dtype, x_shape, 1 / 256, low)], ("SoftmaxOptions", {"beta": beta}),
                    version=2)  # fmt: skip
    check(model, [ints(rng, x_shape, dtype)])


@pytest.mark.parametrize("code", [LOGISTIC, TANH])
@pytest.mark.parametrize(
    "dtype, x_scale, x_zp", [("int8", 0.09474028, 36), ("int8", 0.02, -128), ("uint8", 0.1, 128)]
)
def test_logistic_tanh_match_litert_on_every_input(code, dtype, x_scale, x_zp):
    low = np.iinfo(dtype).min
    if code == LOGISTIC:
        y_scale, y_zp = 1 / 256, low
    else:
        y_scale, y_zp = 1 / 128, (0 if dtype == "int8" else 128)
    every = np.arange(low, low + 256).astype(dtype).reshape(1, 256)
    model = q_model(code, [qt("x", dtype, (1, 256), x_scale, x_zp)],
                    [qt("y", dtype, (1, 256), y_scale, y_zp)], version=2)  # fmt: skip
    check(model, [every])


@pytest.mark.parametrize(
    "dtype, x_scale, x_zp, y_scale, y_zp",
    [("int8", 0.05, -10, 0.03, -100), ("int8", 0.2, 40, 0.1, -128), ("int8", 0.004, 0, 0.5, 3),
     ("uint8", 0.1, 128, 0.05, 20), ("int8", 2.0, 0, 0.8, -20)],
)  # fmt: skip
def test_hard_swish_matches_litert_on_every_input(dtype, x_scale, x_zp, y_scale, y_zp):
    low = np.iinfo(dtype).min
    every = np.arange(low, low + 256).astype(dtype).reshape(1, 256)
    model = q_model(117, [qt("x", dtype, (1, 256), x_scale, x_zp)],
                    [qt("y", dtype, (1, 256), y_scale, y_zp)])  # fmt: skip
    check(model, [every])


@pytest.mark.parametrize("alpha", [0.2, 0.01, 1.5, -0.3])
@pytest.mark.parametrize("dtype, scales, zps", [("int8", (0.05, 0.04), (-3, 10)),
                                                ("uint8", (0.1, 0.1), (128, 100))])  # fmt: skip
def test_leaky_relu_matches_litert_on_every_input(alpha, dtype, scales, zps):
    low = np.iinfo(dtype).min
    every = np.arange(low, low + 256).astype(dtype).reshape(1, 256)
    model = q_model(98, [qt("x", dtype, (1, 256), scales[0], zps[0])],
                    [qt("y", dtype, (1, 256), scales[1], zps[1])],
                    ("LeakyReluOptions", {"alpha": alpha}), version=2)  # fmt: skip
    check(model, [every])


@pytest.mark.parametrize(
    "dtype, alpha_shape, scales, zps",
    [("int8", (9,), (0.05, 0.01, 0.04), (-3, 0, 10)), ("int8", (1, 1, 9), (0.1, 0.003, 0.1),
                                                                     (20, -5, -20)),
     ("uint8", (9,), (0.1, 0.004, 0.08), (128, 100, 120))],
)  # fmt: skip
def test_prelu_matches_litert(dtype, alpha_shape, scales, zps):
    rng = np.random.default_rng(18)
    tensors = [qt("x", dtype, (2, 4, 5, 9), scales[0], zps[0]),
               qt("alpha", dtype, alpha_shape, scales[1], zps[1],
                  data=ints(rng, alpha_shape, dtype))]  # fmt: skip
    model = q_model(54, tensors, [qt("y", dtype, (2, 4, 5, 9), scales[2], zps[2])])
    check(model, [ints(rng, (2, 4, 5, 9), dtype)])


@pytest.mark.parametrize("code", [RELU_OP, RELU6_OP, RELU1_OP])
@pytest.mark.parametrize("dtype, scales", [("int8", (0.05, 0.03)), ("uint8", (0.1, 0.1))])
def test_relus_match_litert(code, dtype, scales):
    rng = np.random.default_rng(4)
    zp = (-20, -100) if dtype == "int8" else (128, 10)
    model = q_model(code, [qt("x", dtype, (3, 65), scales[0], zp[0])],
                    [qt("y", dtype, (3, 65), scales[1], zp[1])],
                    version=1 if code == RELU1_OP else 2)  # fmt: skip
    check(model, [ints(rng, (3, 65), dtype)])


@pytest.mark.parametrize(
    "x_shape, size, align, half",
    [((1, 4, 5, 3), (8, 10), False, False), ((2, 5, 3, 9), (9, 7), False, True),
     ((1, 4, 4, 2), (7, 9), True, False), ((1, 6, 6, 3), (3, 4), False, True),
     ((1, 3, 3, 17), (3, 3), False, False)],
)  # fmt: skip
def test_resize_bilinear_matches_litert(x_shape, size, align, half):
    rng = np.random.default_rng(17)
    q = dict(scale=0.05, zero_point=-7)
    out = (x_shape[0], *size, x_shape[3])
    tensors = [qt("x", "int8", x_shape, **q), T("size", INT32, (2,), np.array(size, np.int32))]
    options = ("ResizeBilinearOptions", {"align_corners": align, "half_pixel_centers": half})
    model = q_model(23, tensors, [qt("y", "int8", out, **q)], options, version=3)
    check(model, [ints(rng, x_shape)])


@pytest.mark.parametrize(
    "src, dst", [("int8", "uint8"), ("int8", "int8"), ("uint8", "int8"), ("float32", "int8"),
                 ("float32", "uint8")],
)  # fmt: skip
def test_quantize_matches_litert(src, dst):
    rng = np.random.default_rng(5)
    if src == "float32":
        x = rng.uniform(-8, 8, (4, 33)).astype(np.float32)
        x[0, :2] = [1e3, -1e3]  # saturation
        src_t = T("x", FLOAT32, (4, 33))
    else:
        x = ints(rng, (4, 33), src)
        src_t = qt("x", src, (4, 33), 0.00390625, -128 if src == "int8" else 0)
    scale = 0.0625 if src == "float32" else (0.00390625 if dst != src else 0.01)
    zp = {"int8": 3, "uint8": 0 if src == "int8" else 130}[dst]
    model = q_model(QUANTIZE, [src_t], [qt("y", dst, (4, 33), scale, zp)], version=2)
    check(model, [x])


def test_quantize_beyond_int32_gives_the_type_minimum_as_litert_on_x86():
    """float -> int32 of NaN or of a quotient beyond int32 is undefined in C++; LiteRT's reference
    and builtin kernels (x86 cvttss2si) give INT32_MIN, i.e. the type's minimum after clamping
    (XNNPACK saturates instead)."""
    x = np.array([[1e9, -1e9, np.nan, np.inf, 3e9 * 0.0625, 100.0]], np.float32)
    model = q_model(QUANTIZE, [T("x", FLOAT32, (1, 6))], [qt("y", "int8", (1, 6), 0.0625, 3)],
                    version=2)  # fmt: skip
    got = ours(model, [x])[0]
    assert got.tolist() == [[-128, -128, -128, -128, -128, 127]]
    for kernels in ("reference", "builtin"):
        assert np.array_equal(got, run_litert(model, [x], kernels)[0])


def test_quantize_rounds_ties_away_from_zero_as_the_reference_kernel():
    """AffineQuantize rounds with std::round; the optimised builtin rounds ties to even."""
    x = (np.arange(-8, 8) + 0.5).astype(np.float32) * np.float32(0.0625)
    model = q_model(QUANTIZE, [T("x", FLOAT32, (16,))], [qt("y", "int8", (16,), 0.0625, 0)],
                    version=2)  # fmt: skip
    got = ours(model, [x])[0]
    assert got.tolist() == [-8, -7, -6, -5, -4, -3, -2, -1, 1, 2, 3, 4, 5, 6, 7, 8]
    assert np.array_equal(got, run_litert(model, [x], "reference")[0])


@pytest.mark.parametrize("dtype, zp", [("int8", -128), ("uint8", 7), ("int8", 36)])
def test_dequantize_matches_litert(dtype, zp):
    every = np.arange(np.iinfo(dtype).min, np.iinfo(dtype).min + 256).astype(dtype)
    model = q_model(DEQUANTIZE, [qt("x", dtype, (256,), 0.101960786, zp)],
                    [T("y", FLOAT32, (256,))], version=2)  # fmt: skip
    got = ours(model, [every])[0]
    assert np.array_equal(got, run_litert(model, [every], "reference")[0])


_I16 = dict(scale=0.001, zero_point=0)
_POOL = {"padding": SAME, "stride_h": 2, "stride_w": 2, "filter_height": 3, "filter_width": 3}


@pytest.mark.parametrize(
    "code, extra, out_shape, out_scale, options, version",
    [
        (AVG_POOL, [], (1, 5, 5, 17), 0.001, ("Pool2DOptions", _POOL), 3),
        (MAX_POOL, [], (1, 5, 5, 17), 0.001, ("Pool2DOptions", _POOL), 3),
        (40, [T("axes", INT32, (2,), np.array([1, 2], np.int32))], (1, 17), 0.0007,
         ("ReducerOptions", {"keep_dims": False}), 3),
        (RELU_OP, [], (1, 9, 9, 17), 0.0005, None, 3),
        (98, [], (1, 9, 9, 17), 0.0005, ("LeakyReluOptions", {"alpha": 0.2}), 2),
        (QUANTIZE, [], (1, 9, 9, 17), 0.0007, None, 3),
        (23, [T("size", INT32, (2,), np.array([13, 5], np.int32))], (1, 13, 5, 17), 0.001,
         ("ResizeBilinearOptions", {"half_pixel_centers": True}), 4),
    ],
)  # fmt: skip
def test_int16_ops_match_litert(code, extra, out_shape, out_scale, options, version):
    rng = np.random.default_rng(20)
    tensors = [qt("x", "int16", (1, 9, 9, 17), **_I16), *extra]
    out = qt("y", "int16", out_shape, out_scale, 0)
    check(
        q_model(code, tensors, [out], options, version=version), [ints(rng, (1, 9, 9, 17), "int16")]
    )
