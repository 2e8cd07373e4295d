import numpy as np

from ..errors import OpArgumentError
from ..registry import reference_op


@reference_op(
    "ArrayFeatureExtractor",
    since=1,
    domain="ai.onnx.ml",
    dtypes={"float32", "float64", "int32", "int64", "string"},
)
def array_feature_extractor_1(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """z[..., j] = x[..., y[j]] (y flattened; a 1-D x gives z of shape [1, len(y)])"""
    indices = np.asarray(y, dtype=np.int64).reshape(-1)
    if x.ndim == 0:
        raise OpArgumentError("X must have rank >= 1")
    size = x.shape[-1]
    bad = indices[(indices < 0) | (indices >= size)]
    if bad.size:
        raise OpArgumentError(f"index {int(bad[0])} is out of range [0, {size}) of X's last axis")
    z = np.take(x, indices, axis=-1)
    return z.reshape(1, -1) if x.ndim == 1 else z
