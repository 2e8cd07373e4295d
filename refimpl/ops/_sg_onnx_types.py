"""ONNX TensorProto element-type codes (`dtype`, `output_datatype` attributes) as numpy dtypes."""

from __future__ import annotations

import numpy as np

from ..dtypes import FLOAT, to_numpy
from ..errors import OpArgumentError

# TensorProto.DataType enum value -> Gossamer dtype name.
TENSOR_TYPE_NAMES: dict[int, str] = {
    1: "float32", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32", 7: "int64",
    8: "string", 9: "bool", 10: "float16", 11: "float64", 12: "uint32", 13: "uint64",
    14: "complex64", 15: "complex128", 16: "bfloat16", 17: "float8_e4m3fn",
    18: "float8_e4m3fnuz", 19: "float8_e5m2", 20: "float8_e5m2fnuz", 21: "uint4", 22: "int4",
    23: "float4_e2m1fn", 24: "float8_e8m0fnu", 25: "uint2", 26: "int2",
}  # fmt: skip


def dtype_from_code(
    code: int, allowed: frozenset[str] | None = None, what: str = "dtype"
) -> np.dtype:
    """The numpy dtype of a TensorProto type code, checked against the op's allowed names."""
    name = TENSOR_TYPE_NAMES.get(int(code))
    if name is None or (allowed is not None and name not in allowed):
        choices = sorted(c for c, n in TENSOR_TYPE_NAMES.items() if allowed is None or n in allowed)
        raise OpArgumentError(
            f"{what}={code} is not an allowed element type here; use one of {choices}"
        )
    return to_numpy(name)


def float_dtype_from_code(code: int, what: str = "dtype") -> np.dtype:
    """Like dtype_from_code, restricted to the float types random and window ops produce."""
    return dtype_from_code(code, FLOAT, what)
