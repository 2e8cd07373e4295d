import numpy as np

from ..dtypes import FLOAT
from ..errors import OpArgumentError
from ..registry import reference_op
from ._onnx_types import dtype_from_code
from ._rng import generator


@reference_op("Multinomial", since=7, dtypes=FLOAT)
def multinomial_7(
    x: np.ndarray, *, dtype: int = 6, sample_size: int = 1, seed: float | None = None
) -> np.ndarray:
    """y[b, s] ~ Categorical(softmax(x[b])), i.i.d. class indices (numpy draws: match no engine)"""
    out = dtype_from_code(dtype, frozenset({"int32", "int64"}))
    if x.ndim != 2 or x.shape[1] == 0 or sample_size < 0:
        raise OpArgumentError(
            f"need x of shape [batch, classes > 0] and sample_size >= 0, got {list(x.shape)} "
            f"and {sample_size}"
        )
    logits = x.astype(np.float64)
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    cdf = np.cumsum(probs, axis=1)
    cdf /= cdf[:, -1:]
    u = generator(seed).random(size=(x.shape[0], sample_size))
    classes = (u[:, :, None] >= cdf[:, None, :]).sum(axis=2)
    return np.minimum(classes, x.shape[1] - 1).astype(out)
