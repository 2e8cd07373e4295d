import numpy as np

from ..dtypes import ALL, to_numpy
from ..errors import OpArgumentError
from ..registry import reference_op

# TensorProto.DataType codes of the element types EyeLike may produce
_ONNX_DTYPES = {
    1: "float32", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32", 7: "int64",
    9: "bool", 10: "float16", 11: "float64", 12: "uint32", 13: "uint64", 16: "bfloat16",
}  # fmt: skip


@reference_op("EyeLike", since=9, dtypes=ALL)
def eye_like_9(input: np.ndarray, *, dtype: int | None = None, k: int = 0) -> np.ndarray:
    """y[i, j] = 1 if j - i == k else 0, shaped like the 2-D input (dtype attr or input's)"""
    if input.ndim != 2:
        raise OpArgumentError(f"EyeLike needs a 2-D input, got rank {input.ndim}")
    if dtype is not None and dtype not in _ONNX_DTYPES:
        raise OpArgumentError(f"EyeLike dtype {dtype} is not a supported TensorProto type")
    out_dtype = input.dtype if dtype is None else to_numpy(_ONNX_DTYPES[dtype])
    return np.eye(input.shape[0], input.shape[1], k=k).astype(out_dtype)
