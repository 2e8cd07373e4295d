import numpy as np

from ..registry import reference_op


@reference_op(
    "Binarizer", since=1, domain="ai.onnx.ml", dtypes={"float32", "float64", "int32", "int64"}
)
def binarizer_1(x: np.ndarray, *, threshold: float = 0.0) -> np.ndarray:
    """y = 1 if x > threshold else 0 (NaN gives 0)"""
    return (x > threshold).astype(x.dtype)
