import numpy as np

from ..dtypes import FLOAT
from ..registry import reference_op
from ._rd_rnn import (
    RecurrentAttrs,
    clipper,
    hidden_of,
    num_directions,
    run_layer,
    split_bias,
    work_dtype,
)
from ._rd_rnn_act import activations as bind_activations


def _gru(
    x: np.ndarray, w: np.ndarray, r: np.ndarray, b: np.ndarray | None,
    sequence_lens: np.ndarray | None, initial_h: np.ndarray | None, a: RecurrentAttrs,
    linear_before_reset: int,
) -> tuple[np.ndarray, ...]:  # fmt: skip
    dirs = num_directions(a.direction)
    hidden = hidden_of(w, r, dirs, 3, a.hidden_size)
    dtype = work_dtype(x)
    defaults = ["Sigmoid", "Tanh"]
    acts = bind_activations(
        a.activations, a.activation_alpha, a.activation_beta, defaults, dirs, dtype
    )
    bias, clip = split_bias(b, dirs, 3 * hidden, dtype), clipper(a.clip)

    def make_cell(d: int):
        r_zr, r_h = np.split(r[d].astype(dtype), [2 * hidden])  # gates z, r | h
        rb_zr, rb_h = np.split(bias[d, 1], [2 * hidden])
        f, g = acts[d]

        def cell(xw: np.ndarray, h: np.ndarray) -> tuple[np.ndarray]:
            z, reset = np.split(f(clip(xw[:, : 2 * hidden] + h @ r_zr.T + rb_zr)), 2, axis=1)
            if linear_before_reset:
                recur = reset * (h @ r_h.T + rb_h)
            else:
                recur = (reset * h) @ r_h.T + rb_h
            h_tilde = g(clip(xw[:, 2 * hidden :] + recur))
            return ((1 - z) * h_tilde + z * h,)

        return bias[d, 0], cell

    return run_layer(
        x, w, sequence_lens, [initial_h], hidden_size=hidden, direction=a.direction,
        layout=a.layout, make_cell=make_cell,
    )  # fmt: skip


@reference_op("GRU", since=7, dtypes=FLOAT)
def gru_7(
    x: np.ndarray, w: np.ndarray, r: np.ndarray, b: np.ndarray | None = None,
    sequence_lens: np.ndarray | None = None, initial_h: np.ndarray | None = None, *,
    activation_alpha: list[float] | None = None, activation_beta: list[float] | None = None,
    activations: list[str] | None = None, clip: float | None = None,
    direction: str = "forward", hidden_size: int | None = None, linear_before_reset: int = 0,
) -> tuple[np.ndarray, ...]:  # fmt: skip
    """z, r = f(X·Wᵀ + H·Rᵀ + b); h̃ = g(X·Whᵀ + (r⊙H)·Rhᵀ + b); H' = (1-z)⊙h̃ + z⊙H"""
    attrs = RecurrentAttrs(
        activation_alpha, activation_beta, activations, clip, direction, hidden_size
    )
    return _gru(x, w, r, b, sequence_lens, initial_h, attrs, linear_before_reset)


@reference_op("GRU", since=14, dtypes=FLOAT)
def gru_14(
    x: np.ndarray, w: np.ndarray, r: np.ndarray, b: np.ndarray | None = None,
    sequence_lens: np.ndarray | None = None, initial_h: np.ndarray | None = None, *,
    activation_alpha: list[float] | None = None, activation_beta: list[float] | None = None,
    activations: list[str] | None = None, clip: float | None = None,
    direction: str = "forward", hidden_size: int | None = None, layout: int = 0,
    linear_before_reset: int = 0,
) -> tuple[np.ndarray, ...]:  # fmt: skip
    """GRU 7 where layout=1 means batch-major X [B, T, I], Y [B, T, D, H] and Y_h [B, D, H]"""
    attrs = RecurrentAttrs(
        activation_alpha, activation_beta, activations, clip, direction, hidden_size, layout
    )
    return _gru(x, w, r, b, sequence_lens, initial_h, attrs, linear_before_reset)
