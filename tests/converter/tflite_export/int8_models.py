"""Small multi-operator int8 .tflite models (the `tflite` package's builders, via
tests/converter/tflite_models.py) covering the integer ops the exporter writes back."""

from __future__ import annotations

import numpy as np

from tests.converter.tflite_int8_models import qt
from tests.converter.tflite_models import FLOAT32, Op, Spec, T, build_model

(ADD, AVG_POOL, CONCAT, CONV, DWCONV, DEQUANTIZE, FC, LOGISTIC, MAX_POOL, MUL, RESHAPE, SOFTMAX,
 PAD, MEAN, QUANTIZE, TRANSPOSE, STRIDED_SLICE, HARD_SWISH, LEAKY_RELU, RELU6) = (
    0, 1, 2, 3, 4, 6, 9, 14, 17, 18, 22, 25, 34, 40, 114, 39, 45, 117, 98, 21)  # fmt: skip
SAME, VALID, RELU, ACT_RELU6 = 0, 1, 1, 3


def _w(rng, shape, channels, axis, name):
    scales = rng.uniform(0.003, 0.02, channels)
    data = rng.integers(-127, 128, shape).astype(np.int8)
    return qt(name, "int8", shape, scales, 0, data=data, axis=axis), scales


def _b(rng, x_scale, w_scales, name):
    scales = np.float32(x_scale) * np.float32(w_scales)
    data = rng.integers(-2000, 2000, len(w_scales)).astype(np.int32)
    return qt(name, "int32", (len(w_scales),), scales, 0, data=data)


def _conv_opts(padding=SAME, stride=1, act=0, **extra):
    return {"padding": padding, "stride_h": stride, "stride_w": stride,
            "fused_activation_function": act, **extra}  # fmt: skip


def cnn_model(seed: int = 0) -> bytes:
    """float [1,8,8,3] -> QUANTIZE -> CONV 3x3 RELU -> DEPTHWISE 3x3/2 RELU6 -> CONV 1x1 -> ADD
    (residual) -> AVERAGE_POOL 2x2 -> RESHAPE -> FULLY_CONNECTED -> SOFTMAX -> DEQUANTIZE."""
    rng = np.random.default_rng(seed)
    a = 0.02  # activation scale
    w1, s1 = _w(rng, (8, 3, 3, 3), 8, 0, "w1")
    w2, s2 = _w(rng, (1, 3, 3, 8), 8, 3, "w2")
    w3, s3 = _w(rng, (8, 1, 1, 8), 8, 0, "w3")
    w4, s4 = _w(rng, (10, 32), 10, 0, "w4")
    t = [
        T("serving_default_x:0", FLOAT32, (1, 8, 8, 3)),  # 0
        qt("xq", "int8", (1, 8, 8, 3), 0.01, 3),  # 1
        w1,
        _b(rng, 0.01, s1, "b1"),
        qt("c1", "int8", (1, 8, 8, 8), a, -128),  # 2 3 4
        w2,
        _b(rng, a, s2, "b2"),
        qt("c2", "int8", (1, 4, 4, 8), a, -128),  # 5 6 7
        w3,
        _b(rng, a, s3, "b3"),
        qt("c3", "int8", (1, 4, 4, 8), 0.03, 5),  # 8 9 10
        qt("sum", "int8", (1, 4, 4, 8), 0.04, -7),  # 11
        qt("pool", "int8", (1, 2, 2, 8), 0.04, -7),  # 12
        T("shape", 2, (2,), np.array([1, 32], np.int32)),  # 13
        qt("flat", "int8", (1, 32), 0.04, -7),  # 14
        w4,
        _b(rng, 0.04, s4, "b4"),
        qt("logits", "int8", (1, 10), 0.1, 2),  # 15 16 17
        qt("probs", "int8", (1, 10), 1 / 256, -128),  # 18
        T("StatefulPartitionedCall:0", FLOAT32, (1, 10)),  # 19
    ]
    ops = [
        Op(QUANTIZE, [0], [1], version=2),
        Op(CONV, [1, 2, 3], [4], ("Conv2DOptions", _conv_opts(act=RELU)), 3),
        Op(DWCONV, [4, 5, 6], [7],
           ("DepthwiseConv2DOptions", _conv_opts(stride=2, act=ACT_RELU6, depth_multiplier=1)), 3),
        Op(CONV, [7, 8, 9], [10], ("Conv2DOptions", _conv_opts(VALID)), 3),
        Op(ADD, [10, 7], [11], ("AddOptions", {"fused_activation_function": 0}), 2),
        Op(AVG_POOL, [11], [12], ("Pool2DOptions", {"padding": VALID, "stride_h": 2,
           "stride_w": 2, "filter_height": 2, "filter_width": 2}), 2),
        Op(RESHAPE, [12, 13], [14]),
        Op(FC, [14, 15, 16], [17], ("FullyConnectedOptions", {}), 4),
        Op(SOFTMAX, [17], [18], ("SoftmaxOptions", {"beta": 1.0}), 2),
        Op(DEQUANTIZE, [18], [19], version=2),
    ]  # fmt: skip
    return build_model(Spec(t, ops, inputs=[0], outputs=[19]))


def branchy_model(seed: int = 1) -> bytes:
    """int8 [1,6,6,4] in and out: PAD -> MAX_POOL 3x3/1 and LOGISTIC / HARD_SWISH / LEAKY_RELU
    / MUL branches -> CONCATENATION -> MEAN over H, W (keep dims) and a STRIDED_SLICE +
    TRANSPOSE output."""
    rng = np.random.default_rng(seed)
    s, z = 0.05, -2
    t = [
        qt("serving_default_x:0", "int8", (1, 6, 6, 4), s, z),  # 0
        T("pads", 2, (4, 2), np.array([[0, 0], [1, 1], [1, 1], [0, 0]], np.int32)),  # 1
        qt("padded", "int8", (1, 8, 8, 4), s, z),  # 2
        qt("pooled", "int8", (1, 6, 6, 4), s, z),  # 3
        qt("sig", "int8", (1, 6, 6, 4), 1 / 256, -128),  # 4
        qt("hs", "int8", (1, 6, 6, 4), 0.03, -40),  # 5
        qt("lr", "int8", (1, 6, 6, 4), 0.04, 10),  # 6
        qt("prod", "int8", (1, 6, 6, 4), 0.06, 3),  # 7
        qt(
            "k",
            "int8",
            (1, 1, 1, 4),
            0.02,
            0,
            data=rng.integers(-100, 100, (1, 1, 1, 4)).astype(np.int8),
        ),  # 8
        qt("c_in0", "int8", (1, 6, 6, 4), 0.06, 3),  # 9  (requantised copies below)
        qt("cat", "int8", (1, 6, 6, 8), 0.06, 3),  # 10
        T("axes", 2, (2,), np.array([1, 2], np.int32)),  # 11
        qt("serving_default_mean:0", "int8", (1, 1, 1, 8), 0.01, -1),  # 12
        T("begin", 2, (4,), np.array([0, 1, 0, 2], np.int32)),  # 13
        T("end", 2, (4,), np.array([1, 6, 5, 8], np.int32)),  # 14
        T("strides", 2, (4,), np.array([1, 2, 1, 3], np.int32)),  # 15
        qt("sliced", "int8", (1, 3, 5, 2), 0.06, 3),  # 16
        T("perm", 2, (4,), np.array([0, 3, 1, 2], np.int32)),  # 17
        qt("serving_default_nchw:0", "int8", (1, 2, 3, 5), 0.06, 3),  # 18
    ]
    pool = {"padding": VALID, "stride_h": 1, "stride_w": 1, "filter_height": 3, "filter_width": 3}
    ops = [
        Op(PAD, [0, 1], [2], version=2),
        Op(MAX_POOL, [2], [3], ("Pool2DOptions", pool), 2),
        Op(LOGISTIC, [3], [4], version=2),
        Op(HARD_SWISH, [0], [5]),
        Op(LEAKY_RELU, [5], [6], ("LeakyReluOptions", {"alpha": 0.3}), 2),
        Op(MUL, [6, 8], [7], ("MulOptions", {"fused_activation_function": 0}), 2),
        Op(QUANTIZE, [4], [9], version=2),
        Op(CONCAT, [9, 7], [10], ("ConcatenationOptions", {"axis": 3}), 2),
        Op(MEAN, [10, 11], [12], ("ReducerOptions", {"keep_dims": True}), 2),
        Op(STRIDED_SLICE, [10, 13, 14, 15], [16], ("StridedSliceOptions", {}), 2),
        Op(TRANSPOSE, [16, 17], [18], version=2),
    ]
    return build_model(Spec(t, ops, inputs=[0], outputs=[12, 18]))
