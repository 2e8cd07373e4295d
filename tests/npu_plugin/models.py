"""Small int8 .tflite models for the ethos-u tests (written with tests/converter's builders).

`split_cnn`: float in -> QUANTIZE -> CONV 3x3 RELU -> DEPTHWISE 3x3 -> GATHER (a channel
permutation: an op Vela maps to the Ethos-U85, not to the U55/U65) -> CONV 3x3 stride 2 -> CONV
1x1 -> ADD (with itself) -> AVERAGE_POOL 2x2 -> DEQUANTIZE -> float out. On a U55, two NPU islands
around the GATHER; the float QUANTIZE / DEQUANTIZE stay on the CPU.
"""

from __future__ import annotations

import numpy as np

from tests.converter.tflite_int8_models import qt
from tests.converter.tflite_models import FLOAT32, Op, Spec, T, build_model

ADD, AVG_POOL, CONV, DWCONV, DEQUANTIZE, GATHER, QUANTIZE = 0, 1, 3, 4, 6, 36, 114
SAME, VALID, RELU = 0, 1, 1


def _w(rng: np.random.Generator, shape, axis: int, name: str):
    channels = shape[axis]
    scales = rng.uniform(0.003, 0.02, channels)
    return qt(name, "int8", shape, scales, 0, rng.integers(-127, 128, shape).astype(np.int8), axis)


def _b(rng: np.random.Generator, x_scale: float, w: T, name: str) -> T:
    scales = np.float32(x_scale) * np.float32(w.scales)
    data = rng.integers(-2000, 2000, len(w.scales)).astype(np.int32)
    return qt(name, "int32", (len(w.scales),), scales, 0, data=data)


def _conv(padding=SAME, stride=1, act=0, **extra) -> dict:
    return {"padding": padding, "stride_h": stride, "stride_w": stride,
            "fused_activation_function": act, **extra}  # fmt: skip


def split_cnn(seed: int = 0, size: int = 16) -> bytes:
    rng = np.random.default_rng(seed)
    a = 0.02
    w1, w2 = _w(rng, (8, 3, 3, 3), 0, "w1"), _w(rng, (1, 3, 3, 8), 3, "w2")
    w3, w4 = _w(rng, (8, 3, 3, 8), 0, "w3"), _w(rng, (8, 1, 1, 8), 0, "w4")
    q = size // 2
    t = [
        T("serving_default_x:0", FLOAT32, (1, size, size, 3)),  # 0
        qt("xq", "int8", (1, size, size, 3), 0.01, 3),  # 1
        w1, _b(rng, 0.01, w1, "b1"), qt("c1", "int8", (1, size, size, 8), a, -128),  # 2 3 4
        w2, _b(rng, a, w2, "b2"), qt("d1", "int8", (1, size, size, 8), a, -128),  # 5 6 7
        qt("perm", "int8", (1, size, size, 8), a, -128),  # 8
        T("order", 2, (8,), np.array([7, 5, 3, 1, 0, 2, 4, 6], np.int32)),  # 9
        w3, _b(rng, a, w3, "b3"), qt("s2", "int8", (1, q, q, 8), 0.03, 1),  # 10 11 12
        w4, _b(rng, 0.03, w4, "b4"), qt("c4", "int8", (1, q, q, 8), 0.03, 5),  # 13 14 15
        qt("sum", "int8", (1, q, q, 8), 0.05, -7),  # 16
        qt("pool", "int8", (1, q // 2, q // 2, 8), 0.05, -7),  # 17
        T("StatefulPartitionedCall:0", FLOAT32, (1, q // 2, q // 2, 8)),  # 18
    ]  # fmt: skip
    ops = [
        Op(QUANTIZE, [0], [1], version=2),
        Op(CONV, [1, 2, 3], [4], ("Conv2DOptions", _conv(act=RELU)), 3),
        Op(DWCONV, [4, 5, 6], [7], ("DepthwiseConv2DOptions", _conv(depth_multiplier=1)), 3),
        Op(GATHER, [7, 9], [8], ("GatherOptions", {"axis": 3}), 1),
        Op(CONV, [8, 10, 11], [12], ("Conv2DOptions", _conv(SAME, stride=2)), 3),
        Op(CONV, [12, 13, 14], [15], ("Conv2DOptions", _conv(VALID)), 3),
        Op(ADD, [15, 15], [16], ("AddOptions", {"fused_activation_function": 0}), 2),
        Op(AVG_POOL, [16], [17], ("Pool2DOptions", {"padding": VALID, "stride_h": 2,
           "stride_w": 2, "filter_height": 2, "filter_width": 2}), 2),
        Op(DEQUANTIZE, [17], [18], version=2),
    ]  # fmt: skip
    return build_model(Spec(t, ops, inputs=[0], outputs=[18]))
