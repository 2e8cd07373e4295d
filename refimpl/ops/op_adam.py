import numpy as np

from ..registry import reference_op
from ..training_op_args import TRAINING, adam_rate, groups, regroup


@reference_op("Adam", since=1, domain=TRAINING, dtypes={"float32", "float64"})
def adam_1(
    r: np.ndarray,
    t: np.ndarray,
    *tensors: np.ndarray,
    alpha: float = 0.9,
    beta: float = 0.999,
    epsilon: float = 1e-6,
    norm_coefficient: float = 0.0,
    norm_coefficient_post: float = 0.0,
) -> tuple[np.ndarray, ...]:
    """v' = αv + (1-α)g; h' = βh + (1-β)g²; x' = (1-λ')(x - R̂ v'/(√h' + ε)), g = λx + ∇

    R̂ = R √(1-β^T) / (1-α^T) when T > 0 (bias correction), else R; per (X, G, V, H) group.
    """
    rate = adam_rate(r, t, alpha, beta)
    results = []
    for x, grad, v, h in groups(tensors, 4, "X, G, V, H"):
        dt = x.dtype.type
        g = dt(norm_coefficient) * x + grad
        v_new = (dt(alpha) * v + dt(1.0 - alpha) * g).astype(v.dtype)
        h_new = (dt(beta) * h + dt(1.0 - beta) * g * g).astype(h.dtype)
        x_new = x - dt(rate) * v_new / (np.sqrt(h_new) + dt(epsilon))
        x_new = dt(1.0 - norm_coefficient_post) * x_new
        results.append((x_new.astype(x.dtype), v_new, h_new))
    return regroup(results)
