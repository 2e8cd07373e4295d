import numpy as np

from ..dtypes import FLOAT
from ..errors import OpArgumentError
from ..registry import reference_op


@reference_op("CausalConvWithState", since=27, dtypes=FLOAT)
def causal_conv_with_state_27(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    past_state: np.ndarray | None = None,
    *,
    activation: str = "none",
) -> tuple[np.ndarray, np.ndarray]:
    """y[..t] = act(b + sum_i w[:, 0, i] * p[..t+i]), p = concat(state, x); state' = p[.., -k+1:]"""
    if activation not in ("none", "silu", "swish"):
        raise OpArgumentError(f"activation must be 'none', 'silu' or 'swish', got {activation!r}")
    if x.ndim != 3 or weight.ndim != 3 or weight.shape[:2] != (x.shape[1], 1):
        raise OpArgumentError(
            f"CausalConvWithState needs input (B, C, L) and weight (C, 1, k), got {x.shape} "
            f"and {weight.shape}"
        )
    batch, channels, length = x.shape
    k = weight.shape[2]
    if past_state is None:
        past_state = np.zeros((batch, channels, k - 1), dtype=x.dtype)
    elif past_state.shape != (batch, channels, k - 1):
        raise OpArgumentError(
            f"past_state must be {(batch, channels, k - 1)}, got {past_state.shape}"
        )
    padded = np.concatenate([past_state.astype(np.float32), x.astype(np.float32)], axis=2)
    w = weight[:, 0, :].astype(np.float32)[None, :, :, None]  # (1, C, k, 1)
    # windows[b, c, i, t] = padded[b, c, t + i]: a loop over the k taps, not over time
    y = sum(w[:, :, i] * padded[:, :, i : i + length] for i in range(k))
    if bias is not None:
        y = y + bias.astype(np.float32)[:, None]
    if activation != "none":
        y = y / (1 + np.exp(-y))
    present = padded[:, :, padded.shape[2] - (k - 1) :]
    return y.astype(x.dtype), present.astype(past_state.dtype)
