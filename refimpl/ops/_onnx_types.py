"""ONNX TensorProto element-type codes (`dtype`, `output_datatype` attributes) as numpy dtypes,
checked against the element types an op may produce."""

from __future__ import annotations

import numpy as np

from ..dtypes import FLOAT, ONNX_TYPE_CODES, from_onnx_code
from ..errors import OpArgumentError


def dtype_from_code(
    code: int, allowed: frozenset[str] | None = None, what: str = "dtype"
) -> np.dtype:
    """The numpy dtype of a TensorProto type code, checked against the op's allowed names."""
    name = ONNX_TYPE_CODES.get(int(code))
    if name is None or (allowed is not None and name not in allowed):
        choices = sorted(c for c, n in ONNX_TYPE_CODES.items() if allowed is None or n in allowed)
        raise OpArgumentError(
            f"{what}={code} is not an allowed element type here; use one of {choices}"
        )
    return from_onnx_code(int(code))


def float_dtype_from_code(code: int, what: str = "dtype") -> np.dtype:
    """Like dtype_from_code, restricted to the float types random and window ops produce."""
    return dtype_from_code(code, FLOAT, what)
