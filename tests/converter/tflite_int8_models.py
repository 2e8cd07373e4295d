"""Single-operator quantised .tflite models for the int8 importer tests, and LiteRT runners.

`q_model(code, tensors, output, options)` writes one operator whose inputs are `tensors` (those
with data are constants, the rest become model inputs, in order) and whose outputs are `output`.
`run_litert(model, feeds, kernels)` runs it on LiteRT's reference kernels, its optimised builtin
ones, or its default (the XNNPACK delegate, then the builtins); `check` compares Gossamer's result
with all three (bit-exact against the reference).
"""

from __future__ import annotations

import numpy as np
import pytest

import gossamer
from tests.converter.tflite_models import Op, Spec, T, build_model

FLOAT32, INT32, UINT8, INT64, INT16, INT8 = 0, 2, 3, 4, 7, 9
CODES = {
    "int8": INT8,
    "uint8": UINT8,
    "int16": INT16,
    "int32": INT32,
    "int64": INT64,
    "float32": FLOAT32,
}

litert = pytest.importorskip("ai_edge_litert.interpreter")


def qt(name: str, dtype: str, shape, scale=None, zero_point=0, data=None, axis=0) -> T:
    """A tensor; scale (one float or a per-channel list) and zero point make it quantised."""
    if scale is None:
        return T(name, CODES[dtype], tuple(shape), data)
    scales = tuple(float(s) for s in np.atleast_1d(scale))
    zps = tuple(int(z) for z in np.broadcast_to(zero_point, (len(scales),)))
    return T(name, CODES[dtype], tuple(shape), data, scales, zps, axis)


def q_model(code: int, tensors: list[T], outputs: list[T], options=None, version: int = 1) -> bytes:
    inputs = [i for i, t in enumerate(tensors) if t.data is None]
    named = []
    for t in tensors:
        if t.data is None:
            t = T(f"serving_default_{t.name}:0", *_rest(t))
        named.append(t)
    outs = list(range(len(tensors), len(tensors) + len(outputs)))
    spec = Spec(
        tensors=named + outputs,
        ops=[Op(code, list(range(len(tensors))), outs, options, version)],
        inputs=inputs,
        outputs=outs,
    )
    return build_model(spec)


def _rest(t: T) -> tuple:
    return (t.type, t.shape, t.data, t.scales, t.zero_points, t.quantized_dimension)


KERNELS = {
    "reference": "BUILTIN_REF",  # the reference kernels
    "builtin": "BUILTIN_WITHOUT_DEFAULT_DELEGATES",  # the optimised builtin kernels
    "default": "AUTO",  # what LiteRT runs by default: the XNNPACK delegate, then the builtins
}


def run_litert(model: bytes, feeds: list[np.ndarray], kernels: str) -> list[np.ndarray]:
    kind = getattr(litert.OpResolverType, KERNELS[kernels])
    it = litert.Interpreter(model_content=model, experimental_op_resolver_type=kind)
    it.allocate_tensors()
    for d, value in zip(it.get_input_details(), feeds):
        it.set_tensor(d["index"], value)
    it.invoke()
    return [it.get_tensor(d["index"]) for d in it.get_output_details()]


def ints(rng: np.random.Generator, shape, dtype: str = "int8") -> np.ndarray:
    info = np.iinfo(dtype)
    return rng.integers(int(info.min), int(info.max) + 1, size=shape).astype(dtype)


# TFLite BuiltinOperator codes and option values the tests use
RELU, RELU_N1_TO_1, RELU6 = 1, 2, 3
SAME, VALID = 0, 1
ADD, AVG_POOL, CONCAT, CONV, DWCONV, DEQUANTIZE, FC, LOGISTIC = 0, 1, 2, 3, 4, 6, 9, 14
MAX_POOL, MUL, RELU_OP, RELU1_OP, RELU6_OP, RESHAPE, TANH, PAD = 17, 18, 19, 20, 21, 22, 28, 34
SUB, STRIDED_SLICE, SPLIT_V, QUANTIZE = 41, 45, 102, 114


def ours(model: bytes, feeds: list[np.ndarray], optimize: int = 0) -> list[np.ndarray]:
    session = gossamer.load(model, optimize=optimize, backends=["reference"])
    names = [v.name for v in session.get_inputs()]
    return [np.asarray(y) for y in session.run(None, dict(zip(names, feeds)))]


# LiteRT's optimised builtin kernels round a requantisation differently now and then (CONV_2D /
# DEPTHWISE_CONV_2D: <= 0.5 % of values here); its default, XNNPACK, computes
# ADD / SUB and int8 -> int8 QUANTIZE in its own fixed point (off by one on up to ~30 % of values)
SHARE_OFF_BY_ONE = {"builtin": 0.01, "default": 0.35}


def check(model: bytes, feeds: list[np.ndarray]) -> None:
    """Bit-exact against LiteRT's reference kernels; within one unit of its optimised ones."""
    got = ours(model, feeds)
    for a, b in zip(got, run_litert(model, feeds, "reference")):
        assert a.dtype == b.dtype and a.shape == b.shape
        assert np.array_equal(a, b), f"{int((a != b).sum())} of {a.size} values differ"
    for kernels, share in SHARE_OFF_BY_ONE.items():
        for a, b in zip(got, run_litert(model, feeds, kernels)):
            off = np.abs(a.astype(np.int64) - b.astype(np.int64))
            assert off.max(initial=0) <= 1 and (off > 0).mean() <= share, (kernels, off.max())


def exact(model: bytes, feeds: list[np.ndarray]) -> None:
    for a, b in zip(ours(model, feeds), run_litert(model, feeds, "reference")):
        assert a.dtype == b.dtype and np.array_equal(a, b)


def i32(*values) -> np.ndarray:
    return np.array(values, np.int32)
