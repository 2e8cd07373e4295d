"""Scales and zero points, as onnxruntime's quantiser computes them.

Activations: asymmetric over a range that includes 0, uint8 (codes 0..255) or int8 (-128..127):
scale = (high - low) / 255, zero_point = qmin - round(low / scale). Weights: symmetric int8 over
[-127, 127] (scale = max|w| / 127, zero point 0), per tensor or per channel along `axis`.
Biases: int32, scale = x_scale * w_scale (per channel where the weight is), zero point 0.
"""

from __future__ import annotations

import numpy as np

from ...refimpl.ir import QuantParams

ACTIVATION_TYPES = {"uint8": (np.uint8, 0, 255), "int8": (np.int8, -128, 127)}
# 16-bit codes for the most sensitive tensors (--target-cosine's step before float): same
# signedness as the 8-bit type; standard QuantizeLinear/DequantizeLinear from opset 21
WIDE_TYPES = {"uint8": "uint16", "int8": "int16"}
CODE_TYPES = {
    **ACTIVATION_TYPES,
    "uint16": (np.uint16, 0, 65535),
    "int16": (np.int16, -32768, 32767),
}
WIDE_OPSET = 21
_TINY = np.float32(1e-12)  # a tensor that is all zeros still gets a usable scale


def activation_params(low: float, high: float, dtype: str = "uint8") -> QuantParams:
    """Asymmetric per-tensor parameters for a float range (widened to include 0); `dtype` one
    of CODE_TYPES (8- or 16-bit codes)."""
    np_type, qmin, qmax = CODE_TYPES[dtype]
    low, high = min(float(low), 0.0), max(float(high), 0.0)
    scale = np.float32((high - low) / (qmax - qmin))
    if not scale > _TINY:
        scale = np.float32(1.0)
    zero_point = np.clip(np.rint(qmin - low / float(scale)), qmin, qmax)
    bits = 8 * np.dtype(np_type).itemsize
    return QuantParams(np.asarray(scale, np.float32), np.asarray(zero_point, np_type), bits=bits)


def weight_params(w: np.ndarray, axis: int | None, bits: int = 8) -> QuantParams:
    """Symmetric parameters of a weight (codes +-(2**(bits-1) - 1): int8 up to 8 bits, else
    int16), per tensor (axis None) or per channel."""
    qmax = 2 ** (bits - 1) - 1
    if axis is None:
        peak = np.asarray(np.max(np.abs(w)) if w.size else 0.0, np.float32)
    else:
        other = tuple(i for i in range(w.ndim) if i != axis % w.ndim)
        peak = np.max(np.abs(w), axis=other).astype(np.float32)
    scale = (peak / np.float32(qmax)).astype(np.float32)
    scale = np.where(scale > _TINY, scale, np.float32(1.0)).astype(np.float32)
    zero = np.zeros(scale.shape, np.int8 if bits <= 8 else np.int16)
    return QuantParams(scale, zero, axis=None if axis is None else axis % w.ndim, bits=bits)


def quantize_array(
    x: np.ndarray, params: QuantParams, dtype: type, *, symmetric: bool = False
) -> np.ndarray:
    """x in the integer codes of `params` (round half to even, saturate), as QuantizeLinear;
    symmetric codes stop at -(2**(bits-1) - 1), as the weights' do."""
    scale, zero = _broadcast(params, x.ndim)
    info = np.iinfo(dtype)
    low, high = int(info.min), int(info.max)
    if symmetric:
        high = 2 ** (params.bits - 1) - 1
        low = -high
    q = np.rint(x.astype(np.float64) / scale.astype(np.float64)) + zero.astype(np.float64)
    return np.clip(q, low, high).astype(dtype)


def dequantize_array(q: np.ndarray, params: QuantParams) -> np.ndarray:
    scale, zero = _broadcast(params, q.ndim)
    return ((q.astype(np.float32) - zero.astype(np.float32)) * scale).astype(np.float32)


def fake_quantize(
    x: np.ndarray, params: QuantParams, dtype: type | None = None, *, symmetric: bool = False
) -> np.ndarray:
    """x rounded to the nearest representable value (what Q then DQ gives); the code type is
    the zero point's unless `dtype` is given."""
    dtype = np.asarray(params.zero_point).dtype.type if dtype is None else dtype
    return dequantize_array(quantize_array(x, params, dtype, symmetric=symmetric), params)


def code_type(params: QuantParams) -> type:
    """The integer type of a value's codes (its zero point's)."""
    return np.asarray(params.zero_point).dtype.type


def bias_params(x_scale: np.ndarray, w: QuantParams) -> QuantParams:
    """int32 parameters of a bias: scale x_scale * w_scale, zero point 0."""
    scale = (np.float32(x_scale) * w.scale).astype(np.float32)
    axis = None if scale.ndim == 0 else 0
    return QuantParams(scale, np.zeros(scale.shape, np.int32), axis=axis, bits=32)


def quantize_bias(b: np.ndarray, params: QuantParams) -> np.ndarray:
    q = np.rint(b.astype(np.float64) / params.scale.astype(np.float64))
    info = np.iinfo(np.int32)
    return np.clip(q, info.min, info.max).astype(np.int32)


def _broadcast(params: QuantParams, rank: int) -> tuple[np.ndarray, np.ndarray]:
    scale, zero = np.asarray(params.scale), np.asarray(params.zero_point)
    if params.axis is None or scale.ndim == 0:
        return scale.reshape(()), zero.reshape(())
    shape = [1] * rank
    shape[params.axis] = -1
    return scale.reshape(shape), zero.reshape(shape)
