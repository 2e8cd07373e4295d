"""Quantised TFLite convolutions and matrix products against LiteRT (bit-exact against its
reference kernels, within one unit of its optimised ones), and what the importer records and
refuses: graph.quant, inferred shapes, FLOPs, bad scales, hybrid ops, unmapped integer ops."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("tflite")

import gossamer  # noqa: E402
from tests.converter.tflite_int8_models import (  # noqa: E402
    ADD,
    AVG_POOL,
    CONV,
    DEQUANTIZE,
    DWCONV,
    FC,
    FLOAT32,
    INT32,
    LOGISTIC,
    QUANTIZE,
    RELU,
    RELU6,
    RELU_N1_TO_1,
    SAME,
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


def _conv_model(code, x_shape, w_shape, out_shape, *, dtype="int8", per_channel=True, act=0,
                padding=SAME, strides=(1, 1), dilation=(1, 1), seed=0, bias=True):  # fmt: skip
    rng = np.random.default_rng(seed)
    channels = w_shape[0] if code == CONV else w_shape[3]
    axis = 0 if code == CONV else 3
    w_scale = rng.uniform(0.002, 0.02, channels) if per_channel else 0.01
    w_zp = 0 if dtype == "int8" else 128
    x_scale, x_zp = 0.05, (-3 if dtype == "int8" else 131)
    w = ints(rng, w_shape, dtype)
    tensors = [
        qt("x", dtype, x_shape, x_scale, x_zp),
        qt("w", dtype, w_shape, w_scale, w_zp, data=w, axis=axis),
    ]
    if bias:
        b_scale = np.float32(x_scale) * np.atleast_1d(np.float32(w_scale))
        b = rng.integers(-3000, 3000, channels).astype(np.int32)
        tensors.append(qt("b", "int32", (channels,), b_scale, 0, data=b))
    options = {"padding": padding, "stride_h": strides[0], "stride_w": strides[1],
               "dilation_h_factor": dilation[0], "dilation_w_factor": dilation[1],
               "fused_activation_function": act}  # fmt: skip
    if code == CONV:
        kind = "Conv2DOptions"
    else:
        kind = "DepthwiseConv2DOptions"
        options["depth_multiplier"] = w_shape[3] // x_shape[3]
    out = qt("y", dtype, out_shape, 0.08, -5 if dtype == "int8" else 120)
    return q_model(code, tensors, [out], (kind, options), version=3), rng


@pytest.mark.parametrize(
    "x_shape, w_shape, out_shape, kwargs",
    [
        ((1, 9, 9, 3), (8, 3, 3, 3), (1, 9, 9, 8), {}),
        ((2, 9, 7, 3), (8, 3, 3, 3), (2, 4, 3, 8), {"padding": VALID, "strides": (2, 2)}),
        ((1, 10, 10, 4), (5, 3, 3, 4), (1, 5, 5, 5), {"strides": (2, 2), "act": RELU}),
        ((1, 11, 11, 2), (4, 3, 3, 2), (1, 7, 7, 4), {"padding": VALID, "dilation": (2, 2)}),
        ((1, 6, 6, 17), (33, 1, 1, 17), (1, 6, 6, 33), {"act": RELU6}),
        ((1, 5, 1, 40), (64, 5, 1, 40), (1, 1, 1, 64), {"padding": VALID, "strides": (3, 1)}),
        ((1, 8, 8, 3), (6, 3, 3, 3), (1, 8, 8, 6), {"dtype": "uint8", "per_channel": False}),
        ((1, 8, 8, 4), (6, 3, 3, 2), (1, 8, 8, 6), {"act": RELU_N1_TO_1}),  # 2 groups
    ],
)
def test_conv_2d_matches_litert(x_shape, w_shape, out_shape, kwargs):
    model, rng = _conv_model(CONV, x_shape, w_shape, out_shape, **kwargs)
    check(model, [ints(rng, x_shape, kwargs.get("dtype", "int8"))])


@pytest.mark.parametrize(
    "x_shape, w_shape, out_shape, kwargs",
    [
        ((1, 9, 9, 8), (1, 3, 3, 8), (1, 9, 9, 8), {}),
        ((1, 9, 9, 4), (1, 3, 3, 8), (1, 5, 5, 8), {"strides": (2, 2), "act": RELU}),
        ((1, 17, 1, 64), (1, 17, 1, 64), (1, 1, 1, 64), {"padding": VALID}),
        ((1, 9, 9, 3), (1, 3, 3, 3), (1, 5, 5, 3), {"padding": VALID, "dilation": (2, 2)}),
        ((1, 8, 8, 3), (1, 3, 3, 3), (1, 8, 8, 3), {"dtype": "uint8", "per_channel": False}),
    ],
)
def test_depthwise_conv_2d_matches_litert(x_shape, w_shape, out_shape, kwargs):
    model, rng = _conv_model(DWCONV, x_shape, w_shape, out_shape, **kwargs)
    check(model, [ints(rng, x_shape, kwargs.get("dtype", "int8"))])


@pytest.mark.parametrize(
    "dtype, per_channel, x_shape, n, keep, act",
    [
        ("int8", False, (1, 64), 1, False, 0),
        ("int8", True, (3, 33), 17, False, RELU),
        ("int8", False, (1, 1, 1, 64), 5, False, 0),
        ("int8", False, (2, 3, 16), 9, True, RELU6),
        ("uint8", False, (4, 20), 7, False, 0),
    ],
)
def test_fully_connected_matches_litert(dtype, per_channel, x_shape, n, keep, act):
    rng = np.random.default_rng(1)
    k = x_shape[-1]
    w_scale = rng.uniform(0.002, 0.02, n) if per_channel else 0.0042525157
    w_zp = 0 if dtype == "int8" else 127
    x_scale, x_zp = 0.021382147, (-128 if dtype == "int8" else 3)
    b_scale = np.float32(x_scale) * np.atleast_1d(np.float32(w_scale))
    out_shape = (*x_shape[:-1], n) if keep else (int(np.prod(x_shape)) // k, n)
    tensors = [
        qt("x", dtype, x_shape, x_scale, x_zp),
        qt("w", dtype, (n, k), w_scale, w_zp, data=ints(rng, (n, k), dtype)),
        qt("b", "int32", (n,), b_scale, 0, data=rng.integers(-900, 900, n).astype(np.int32)),
    ]
    out = qt("y", dtype, out_shape, 0.09474028, 36 if dtype == "int8" else 140)
    options = ("FullyConnectedOptions", {"fused_activation_function": act, "keep_num_dims": keep})
    model = q_model(FC, tensors, [out], options, version=4 if per_channel else 3)
    check(model, [ints(rng, x_shape, dtype)])


@pytest.mark.parametrize(
    "dtype, x_shape, w_shape, out_shape, strides, padding, act",
    [
        ("int8", (1, 4, 4, 3), (5, 3, 3, 3), (1, 8, 8, 5), (2, 2), SAME, 0),
        ("int8", (2, 5, 3, 4), (6, 3, 2, 4), (2, 11, 6, 6), (2, 2), VALID, RELU),
        ("int8", (1, 3, 3, 9), (17, 4, 4, 9), (1, 6, 6, 17), (2, 2), SAME, RELU6),
        ("int8", (1, 5, 5, 2), (3, 3, 3, 2), (1, 5, 5, 3), (1, 1), SAME, 0),
        ("uint8", (1, 4, 4, 3), (5, 3, 3, 3), (1, 8, 8, 5), (2, 2), SAME, 0),
    ],
)
def test_transpose_conv_matches_litert(dtype, x_shape, w_shape, out_shape, strides, padding, act):
    rng = np.random.default_rng(16)
    per_channel = dtype == "int8"
    w_scale = rng.uniform(0.002, 0.02, w_shape[0]) if per_channel else 0.01
    x_scale, x_zp = 0.05, (-3 if dtype == "int8" else 130)
    b_scale = np.float32(x_scale) * np.atleast_1d(np.float32(w_scale))
    tensors = [
        T("shape", INT32, (4,), np.array(out_shape, np.int32)),
        qt("w", dtype, w_shape, w_scale, 0 if dtype == "int8" else 128,
           data=ints(rng, w_shape, dtype), axis=0),
        qt("x", dtype, x_shape, x_scale, x_zp),
        qt("b", "int32", (w_shape[0],), b_scale, 0,
           data=rng.integers(-3000, 3000, w_shape[0]).astype(np.int32)),
    ]  # fmt: skip
    options = {"padding": padding, "stride_h": strides[0], "stride_w": strides[1],
               "fused_activation_function": act}  # fmt: skip
    out = qt("y", dtype, out_shape, 0.1, -5 if dtype == "int8" else 120)
    model = q_model(67, tensors, [out], ("TransposeConvOptions", options), version=4)
    check(model, [ints(rng, x_shape, dtype)])


@pytest.mark.parametrize(
    "a_shape, b_shape, out_shape, adj_x, adj_y",
    [((2, 3, 17), (2, 17, 5), (2, 3, 5), False, False),
     ((3, 9, 33), (3, 4, 33), (3, 9, 4), False, True),
     ((2, 1, 7, 9), (3, 9, 4), (2, 3, 7, 4), False, False),
     ((2, 9, 7), (2, 9, 5), (2, 7, 5), True, False)],
)  # fmt: skip
def test_batch_matmul_matches_litert(a_shape, b_shape, out_shape, adj_x, adj_y):
    rng = np.random.default_rng(22)
    tensors = [qt("a", "int8", a_shape, 0.05, -4), qt("b", "int8", b_shape, 0.02, 7)]
    out = qt("y", "int8", out_shape, 0.3, 2)
    options = ("BatchMatMulOptions", {"adj_x": adj_x, "adj_y": adj_y})
    check(q_model(126, tensors, [out], options, version=2),
          [ints(rng, a_shape), ints(rng, b_shape)])  # fmt: skip


@pytest.mark.parametrize("code", [CONV, DWCONV, FC])
@pytest.mark.parametrize("bias_type", ["int64", "int32"])
def test_16x8_convolutions_and_fully_connected_match_litert(code, bias_type):
    """int16 activations, int8 weights: the accumulator is the bias's type (int64: one rounding
    with a 16-bit multiplier; int32: the usual double rounding; FULLY_CONNECTED rescales in
    double). LiteRT's 16x8 DEPTHWISE_CONV_2D takes an int64 bias only."""
    if code == DWCONV and bias_type == "int32":
        pytest.skip("LiteRT refuses an int32 bias in a 16x8 DEPTHWISE_CONV_2D")
    rng = np.random.default_rng(19)
    shapes = {CONV: ((1, 7, 7, 5), (8, 3, 3, 5), (1, 7, 7, 8)),
              DWCONV: ((1, 7, 7, 4), (1, 3, 3, 8), (1, 7, 7, 8)),
              FC: ((3, 33), (8, 33), (3, 8))}[code]  # fmt: skip
    x_shape, w_shape, out_shape = shapes
    channels = w_shape[3] if code == DWCONV else w_shape[0]
    w_scale = rng.uniform(0.002, 0.02, channels).astype(np.float32)
    bias = rng.integers(-300000, 300000, channels).astype(bias_type)
    axis = 3 if code == DWCONV else 0
    tensors = [
        qt("x", "int16", x_shape, 0.001, 0),
        qt("w", "int8", w_shape, w_scale, 0, data=ints(rng, w_shape), axis=axis),
        qt("b", bias_type, (channels,), w_scale * np.float32(0.001), 0, data=bias),
    ]
    bias_code = {"int32": INT32, "int64": 4}[bias_type]
    options = {"fused_activation_function": RELU, "quantized_bias_type": bias_code}
    if code == FC:
        kind = "FullyConnectedOptions"
    else:
        options.update(padding=SAME, stride_h=1, stride_w=1)
        kind = "Conv2DOptions" if code == CONV else "DepthwiseConv2DOptions"
        if code == DWCONV:
            options["depth_multiplier"] = 2
            del options["quantized_bias_type"]
    model = q_model(code, tensors, [qt("y", "int16", out_shape, 0.002, 0)], (kind, options),
                    version=5)  # fmt: skip
    check(model, [ints(rng, x_shape, "int16")])


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_conv_2d_matches_litert_reference_on_drawn_shapes_and_params(data):
    from gossamer.refimpl.ops._tflite_window import out_and_pad

    d = data.draw
    h, w, c, o = (
        d(st.integers(1, 8)),
        d(st.integers(1, 8)),
        d(st.integers(1, 5)),
        d(st.integers(1, 6)),
    )
    kh, kw, stride = d(st.integers(1, 3)), d(st.integers(1, 3)), d(st.integers(1, 2))
    padding = d(st.sampled_from([SAME, VALID] if kh <= h and kw <= w else [SAME]))
    pad_name = "SAME" if padding == SAME else "VALID"
    oh = out_and_pad(h, kh, stride, 1, pad_name)[0]
    ow = out_and_pad(w, kw, stride, 1, pad_name)[0]
    rng = np.random.default_rng(d(st.integers(0, 2**16)))
    x_scale, y_scale = d(st.floats(0.001, 1.0)), d(st.floats(0.001, 1.0))
    x_zp, y_zp = d(st.integers(-128, 127)), d(st.integers(-128, 127))
    w_scales = rng.uniform(1e-4, 0.05, o)
    b_scale = np.float32(x_scale) * w_scales.astype(np.float32)
    tensors = [
        qt("x", "int8", (1, h, w, c), x_scale, x_zp),
        qt("w", "int8", (o, kh, kw, c), w_scales, 0, data=ints(rng, (o, kh, kw, c)), axis=0),
        qt("b", "int32", (o,), b_scale, 0, data=rng.integers(-20000, 20000, o).astype(np.int32)),
    ]
    options = {
        "padding": padding,
        "stride_h": stride,
        "stride_w": stride,
        "fused_activation_function": d(st.sampled_from([0, RELU, RELU6, RELU_N1_TO_1])),
    }
    out = qt("y", "int8", (1, oh, ow, o), y_scale, y_zp)
    model = q_model(CONV, tensors, [out], ("Conv2DOptions", options), version=3)  # fmt: skip
    exact(model, [ints(rng, (1, h, w, c))])


def test_imported_graph_records_quantisation_params():
    model, _ = _conv_model(CONV, (1, 9, 9, 3), (8, 3, 3, 3), (1, 9, 9, 8))
    from gossamer.converter.tflite.import_graph import graph_from_tflite

    graph = graph_from_tflite(model)
    x = graph.quant["serving_default_x:0"]
    assert x.axis is None and float(x.scale) == np.float32(0.05) and int(x.zero_point) == -3
    w = graph.quant["w"]
    assert w.axis == 0 and w.scale.shape == (8,) and w.bits == 8
    assert graph.opsets["tflite"] == 1
    assert [n.op_type for n in graph.nodes] == ["Conv2D"] and graph.nodes[0].domain == "tflite"


def test_shape_inference_knows_the_dtype_and_shape_of_every_tflite_op():
    rng = np.random.default_rng(10)
    q = dict(scale=0.05, zero_point=-3)
    conv, _ = _conv_model(CONV, (1, 9, 7, 3), (8, 3, 3, 3), (1, 5, 4, 8), strides=(2, 2))
    dw, _ = _conv_model(DWCONV, (1, 9, 9, 4), (1, 3, 3, 8), (1, 7, 7, 8), padding=VALID)
    pool = q_model(
        AVG_POOL,
        [qt("x", "int8", (2, 9, 9, 3), **q)],
        [qt("y", "int8", (2, 5, 5, 3), **q)],
        (
            "Pool2DOptions",
            {"padding": SAME, "stride_h": 2, "stride_w": 2, "filter_height": 3, "filter_width": 3},
        ),
        version=2,
    )
    add = q_model(
        ADD,
        [qt("a", "int8", (3, 1, 8), **q), qt("b", "int8", (1, 5, 1), **q)],
        [qt("y", "int8", (3, 5, 8), **q)],
        ("AddOptions", {}),
        version=2,
    )
    mean = q_model(
        40,
        [qt("x", "int8", (2, 4, 4, 3), **q), T("axes", INT32, (2,), np.array([1, 2], np.int32))],
        [qt("y", "int8", (2, 3), **q)],
        ("ReducerOptions", {"keep_dims": False}),
        version=2,
    )
    quant = q_model(
        QUANTIZE, [qt("x", "int8", (4, 9), **q)], [qt("y", "uint8", (4, 9), **q)], version=2
    )
    deq = q_model(DEQUANTIZE, [qt("x", "int8", (4, 9), **q)], [T("y", FLOAT32, (4, 9))], version=2)
    for model in (conv, dw, pool, add, mean, quant, deq):
        session = gossamer.load(model, optimize=0)
        feeds = [ints(rng, v.shape) for v in session.get_inputs()]
        (got,) = ours(model, feeds)
        out = session.get_outputs()[0]
        assert (out.dtype, out.shape) == (str(got.dtype), got.shape)


def test_model_stats_count_the_flops_of_the_integer_convolutions():
    from gossamer.converter.tflite.import_graph import graph_from_tflite
    from gossamer.refimpl.model_stats import model_stats

    conv, _ = _conv_model(CONV, (1, 9, 7, 3), (8, 3, 3, 3), (1, 5, 4, 8), strides=(2, 2))
    dw, _ = _conv_model(DWCONV, (1, 9, 9, 4), (1, 3, 3, 8), (1, 7, 7, 8), padding=VALID)
    assert model_stats(graph_from_tflite(conv)).total_flops == 2 * (5 * 4 * 8) * (3 * 3 * 3)
    assert model_stats(graph_from_tflite(dw)).total_flops == 2 * (7 * 7 * 8) * (3 * 3)


def test_dequantize_of_per_channel_int8_weights_is_folded_into_a_float_conv():
    """int8 weights + DEQUANTIZE feeding a float CONV_2D: folded at import, as LiteRT does."""
    from tests.converter.tflite_models import Op, Spec, build_model

    rng = np.random.default_rng(14)
    w = ints(rng, (4, 3, 3, 2))
    scales = rng.uniform(0.01, 0.05, 4)
    spec = Spec(
        [T("serving_default_x:0", FLOAT32, (1, 5, 5, 2)), qt("wq", "int8", (4, 3, 3, 2), scales, 0,
                                                             data=w, axis=0),
         T("w", FLOAT32, (4, 3, 3, 2)), T("b", FLOAT32, (4,), np.zeros(4, np.float32)),
         T("y", FLOAT32, (1, 5, 5, 4))],
        [Op(DEQUANTIZE, [1], [2], version=2),
         Op(CONV, [0, 2, 3], [4], ("Conv2DOptions", {"padding": SAME, "stride_h": 1,
                                                     "stride_w": 1}))], [0], [4],
    )  # fmt: skip
    model = build_model(spec)
    x = rng.uniform(-1, 1, (1, 5, 5, 2)).astype(np.float32)
    got = ours(model, [x])[0]
    theirs = run_litert(model, [x], "reference")[0]
    np.testing.assert_allclose(got, theirs, rtol=1e-5, atol=1e-6)
    from gossamer.converter.tflite.import_graph import graph_from_tflite

    assert [n.op_type for n in graph_from_tflite(model).nodes].count("Dequantize") == 0


def test_hybrid_ops_with_an_approximate_activation_are_refused_with_the_reason():
    """(Hybrid ops themselves are imported: tests/converter/test_tflite_hybrid.py.)"""
    rng = np.random.default_rng(15)
    tensors = [T("x", FLOAT32, (1, 8)), qt("w", "int8", (3, 8), 0.02, 0, data=ints(rng, (3, 8))),
               T("b", FLOAT32, (3,), np.zeros(3, np.float32))]  # fmt: skip
    options = ("FullyConnectedOptions", {"fused_activation_function": 4})  # TANH
    model = q_model(FC, tensors, [T("y", FLOAT32, (1, 3))], options)
    with pytest.raises(gossamer.UnsupportedModelError, match="hybrid FULLY_CONNECTED.*TANH"):
        gossamer.load(model)


@pytest.mark.parametrize("scale", [0.0, float("nan"), -0.5, float("inf")])
def test_a_quantised_tensor_with_a_bad_scale_is_refused(scale):
    model = q_model(LOGISTIC, [qt("x", "int8", (1, 4), scale, 0)],
                    [qt("y", "int8", (1, 4), 1 / 256, -128)], version=2)  # fmt: skip
    with pytest.raises(gossamer.ModelFormatError, match="scale"):
        gossamer.load(model)


def test_per_channel_scales_that_do_not_match_the_channel_dim_are_refused():
    rng = np.random.default_rng(7)
    tensors = [
        qt("x", "int8", (1, 4, 4, 3), 0.05, 0),
        qt("w", "int8", (8, 3, 3, 3), [0.01] * 5, 0, data=ints(rng, (8, 3, 3, 3)), axis=0),
        qt("b", "int32", (8,), 0.0005, 0, data=np.zeros(8, np.int32)),
    ]
    model = q_model(CONV, tensors, [qt("y", "int8", (1, 4, 4, 8), 0.1, 0)],
                    ("Conv2DOptions", {"padding": SAME}), version=3)  # fmt: skip
    with pytest.raises(gossamer.ModelFormatError):
        gossamer.load(model)


def test_an_int8_op_without_an_integer_kernel_is_listed_with_the_reason():
    model = q_model(47, [qt("x", "int8", (1, 4), 0.1, 0)], [qt("y", "int8", (1, 4), 0.1, 0)])
    with pytest.raises(gossamer.UnsupportedModelError, match="EXP.*quantized int8"):
        gossamer.load(model)


def test_per_channel_scales_along_another_axis_than_the_output_channels_are_refused():
    rng = np.random.default_rng(24)
    tensors = [
        qt("x", "int8", (1, 4, 4, 8), 0.05, 0),
        qt("w", "int8", (8, 3, 3, 8), [0.01] * 8, 0, data=ints(rng, (8, 3, 3, 8)), axis=3),
        qt("b", "int32", (8,), 0.0005, 0, data=np.zeros(8, np.int32)),
    ]
    model = q_model(CONV, tensors, [qt("y", "int8", (1, 4, 4, 8), 0.1, 0)],
                    ("Conv2DOptions", {"padding": SAME}), version=3)  # fmt: skip
    with pytest.raises(gossamer.UnsupportedModelError, match="along axis 3"):
        gossamer.load(model)
