import numpy as np

from ..registry import reference_op
from ..training_op_args import TRAINING, groups, regroup, scalar


@reference_op("Adagrad", since=1, domain=TRAINING, dtypes={"float32", "float64"})
def adagrad_1(
    r: np.ndarray,
    t: np.ndarray,
    *tensors: np.ndarray,
    decay_factor: float = 0.0,
    epsilon: float = 1e-6,
    norm_coefficient: float = 0.0,
) -> tuple[np.ndarray, ...]:
    """g = λx + ∇; h' = h + g²; x' = x - R/(1 + T·decay) · g/(√h' + ε), for each (X, G, H) group"""
    rate = scalar(r, "R") / (1.0 + scalar(t, "T") * decay_factor)
    results = []
    for x, grad, h in groups(tensors, 3, "X, G, H"):
        dt = x.dtype.type
        g = dt(norm_coefficient) * x + grad
        h_new = (h + g * g).astype(h.dtype)
        x_new = x - dt(rate) * g / (np.sqrt(h_new) + dt(epsilon))
        results.append((x_new.astype(x.dtype), h_new))
    return regroup(results)
