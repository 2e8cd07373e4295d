"""Conversion between element types, shared by Cast and CastLike.

Rules (ONNX Cast, checked against onnx.reference and onnxruntime):
- float8 (e4m3fn, e4m3fnuz, e5m2, e5m2fnuz) with `saturate`: clip to +-max first, so overflow and
  +-inf give +-max; NaN stays NaN; otherwise round to nearest even (ml_dtypes).
- float8e8m0: only the exponent survives; `round_mode` up/down/nearest (ties up) picks the power of
  two, `saturate` clamps out-of-range values to the extremes instead of NaN (sign is ignored).
- everything else is numpy/ml_dtypes `astype` (integers wrap; int4/int2 wrap as ml_dtypes does).
- numbers -> string: shortest round-trip text, "NaN"/"INF"/"-INF", integral floats without ".0",
  bools as "1"/"0".
- string -> number: decimal or scientific text, case-insensitive NaN/INF/+INF/-INF.
"""

from __future__ import annotations

import numpy as np

from ..dtypes import ONNX_TYPE_CODES, DtypeSet, from_onnx_code, to_numpy
from ..errors import OpArgumentError

STRING = np.dtype(object)
# the four float8 types; sets by name, so importing this module does not import ml_dtypes
_SATURATING = DtypeSet({ONNX_TYPE_CODES[code] for code in (17, 18, 19, 20)})
_E8M0 = DtypeSet({"float8_e8m0fnu"})
_ROUND_MODES = ("up", "down", "nearest")
_NUMPY_FLOATS = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))
_SUB_BYTE_INTS = ("int4", "uint4", "int2", "uint2")


def dtype_of_code(to: int | str) -> np.dtype:
    """The numpy dtype of a TensorProto data type code (a dtype name is accepted too)."""
    if isinstance(to, str):
        return to_numpy(to)
    if to not in ONNX_TYPE_CODES:
        raise OpArgumentError(f"'to' = {to} is not a TensorProto data type Gossamer can represent")
    return from_onnx_code(to)


def cast(
    x: np.ndarray, dtype: np.dtype, *, saturate: bool = True, round_mode: str = "up"
) -> np.ndarray:
    """x converted to `dtype` by the rules in the module docstring."""
    if round_mode not in _ROUND_MODES:
        raise OpArgumentError(f"round_mode must be one of {_ROUND_MODES}, got {round_mode!r}")
    if dtype == STRING:
        return x.copy() if x.dtype == STRING else _to_strings(x)
    if x.dtype == STRING or x.dtype.kind in "US":
        x = _from_strings(x, dtype)
    if dtype in _E8M0:
        return _to_e8m0(x, saturate, round_mode)
    if dtype in _SATURATING and saturate and x.dtype.kind != "b":
        import ml_dtypes  # imported already: `dtype` is one of its types

        finfo = ml_dtypes.finfo(dtype)
        wide = x if x.dtype == np.float64 else x.astype(np.float32)
        return np.clip(wide, float(finfo.min), float(finfo.max)).astype(dtype)
    try:
        return x.astype(dtype)
    except TypeError:  # ml_dtypes lacks some direct casts (int4 -> uint2, e8m0 -> int4, ...)
        middle = np.int64 if x.dtype.name in _SUB_BYTE_INTS else np.float32
        return x.astype(middle).astype(dtype)


def _to_strings(x: np.ndarray) -> np.ndarray:
    if x.dtype.kind == "b":
        x = x.astype(np.int8)
    elif x.dtype.kind not in "iu" and x.dtype not in _NUMPY_FLOATS:  # ml_dtypes print as float32
        x = x.astype(np.float32)
    text = x.astype(np.str_)
    if x.dtype.kind in "iu":
        return text.astype(object)
    integral = np.char.endswith(text, ".0")
    text = np.where(integral, np.char.rstrip(np.char.rstrip(text, "0"), "."), text)
    for numpy_text, onnx_text in (("nan", "NaN"), ("inf", "INF"), ("-inf", "-INF")):
        text = np.where(text == numpy_text, onnx_text, text)
    return text.astype(object)


def _from_strings(x: np.ndarray, dtype: np.dtype) -> np.ndarray:
    text = np.char.strip(x.astype(np.str_))
    if dtype.kind in "iu":
        try:
            return text.astype(dtype)
        except ValueError:  # "100.5" -> 100, as onnxruntime does
            pass
    try:
        return text.astype(np.float64)
    except ValueError as err:
        raise OpArgumentError(f"cannot parse a number from the string tensor: {err}") from None


def _to_e8m0(x: np.ndarray, saturate: bool, round_mode: str) -> np.ndarray:
    a = np.abs(x.astype(np.float64))
    frac, exp = np.frexp(a)  # a = frac * 2**exp, frac in [0.5, 1)
    mantissa = 2.0 * frac - 1.0  # a = (1 + mantissa) * 2**(exp - 1)
    bump = {"up": mantissa > 0, "down": np.zeros_like(a, bool), "nearest": mantissa >= 0.5}
    code = (exp - 1 + 127 + bump[round_mode]).astype(np.int64)
    nan_code = 255
    low, high = (0, 254) if saturate else (nan_code, nan_code)
    code = np.where(code < 0, low, np.where(code > 254, high, code))
    code = np.where(a == 0, low, code)
    code = np.where(np.isinf(a), high, code)
    code = np.where(np.isnan(a), nan_code, code)
    return code.astype(np.uint8).view(to_numpy("float8_e8m0fnu"))
