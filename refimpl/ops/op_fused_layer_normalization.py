import numpy as np

from ..dtypes import FLOAT
from ..registry import reference_op
from .op_layer_normalization import layer_normalization_17


@reference_op("LayerNormalization", since=1, domain="gossamer", dtypes=FLOAT)
def layer_normalization_1(
    x: np.ndarray,
    scale: np.ndarray,
    b: np.ndarray | None = None,
    *,
    axis: int = -1,
    epsilon: float = 1e-5,
    stash_type: int = 1,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """y = (x - mean) * inv_std * scale + b: ai.onnx LayerNormalization-17, for older opsets"""
    return layer_normalization_17(x, scale, b, axis=axis, epsilon=epsilon, stash_type=stash_type)
