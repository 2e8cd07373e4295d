import math

import numpy as np

from ..errors import OpArgumentError
from ..ops._erf import erf
from .contract import gradient_op, like, work

_TANH_K = math.sqrt(2.0 / math.pi)


@gradient_op("Gelu", since=20, takes=("dy", "x0"), wrt=(0,))
def gelu_grad_20(dy: np.ndarray, x: np.ndarray, *, approximate: str = "none") -> tuple[np.ndarray]:
    """dx = dy (Phi(x) + x phi(x)); 'tanh': dy (1/2 (1 + t) + x/2 (1 - t^2) k (1 + 3c x^2))"""
    g, v = work(dy), work(x)
    if approximate == "none":
        cdf = 0.5 * (1.0 + erf(v / math.sqrt(2.0)))
        pdf = np.exp(-0.5 * v * v) / math.sqrt(2.0 * math.pi)
        return (like(g * (cdf + v * pdf), x),)
    if approximate == "tanh":
        t = np.tanh(_TANH_K * (v + 0.044715 * v**3))
        slope = 0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * _TANH_K * (1.0 + 3 * 0.044715 * v * v)
        return (like(g * slope, x),)
    raise OpArgumentError(f"Gelu approximate must be 'none' or 'tanh', got {approximate!r}")
