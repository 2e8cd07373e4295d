import numpy as np

from ..errors import OpArgumentError
from ..registry import reference_op
from ..training_op_args import TRAINING, groups, momentum_beta, regroup, scalar


@reference_op("Momentum", since=1, domain=TRAINING, dtypes={"float32", "float64"})
def momentum_1(
    r: np.ndarray,
    t: np.ndarray,
    *tensors: np.ndarray,
    alpha: float,
    beta: float,
    mode: str,
    norm_coefficient: float,
) -> tuple[np.ndarray, ...]:
    """v' = αv + β̂g, g = λx + ∇, β̂ = β if T > 0 else 1; x' = x - R·v' (standard) or
    x' = x - R(g + αv') (nesterov), for each (X, G, V) group"""
    if mode not in ("standard", "nesterov"):
        raise OpArgumentError(f"mode must be 'standard' or 'nesterov', got {mode!r}")
    rate = scalar(r, "R")
    beta_adjusted = momentum_beta(t, beta)
    results = []
    for x, grad, v in groups(tensors, 3, "X, G, V"):
        dt = x.dtype.type
        g = dt(norm_coefficient) * x + grad
        v_new = (dt(alpha) * v + dt(beta_adjusted) * g).astype(v.dtype)
        direction = v_new if mode == "standard" else g + dt(alpha) * v_new
        results.append(((x - dt(rate) * direction).astype(x.dtype), v_new))
    return regroup(results)
