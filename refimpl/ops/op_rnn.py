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


def _rnn(
    x: np.ndarray, w: np.ndarray, r: np.ndarray, b: np.ndarray | None,
    sequence_lens: np.ndarray | None, initial_h: np.ndarray | None, a: RecurrentAttrs,
) -> tuple[np.ndarray, ...]:  # fmt: skip
    dirs = num_directions(a.direction)
    hidden = hidden_of(w, r, dirs, 1, a.hidden_size)
    dtype = work_dtype(x)
    acts = bind_activations(
        a.activations, a.activation_alpha, a.activation_beta, ["Tanh"], dirs, dtype
    )
    bias, clip = split_bias(b, dirs, hidden, dtype), clipper(a.clip)

    def make_cell(d: int):
        r_t, rb, f = r[d].astype(dtype).T, bias[d, 1], acts[d][0]
        return bias[d, 0], lambda xw, h: (f(clip(xw + h @ r_t + rb)),)

    return run_layer(
        x, w, sequence_lens, [initial_h], hidden_size=hidden, direction=a.direction,
        layout=a.layout, make_cell=make_cell,
    )  # fmt: skip


@reference_op("RNN", since=7, dtypes=FLOAT)
def rnn_7(
    x: np.ndarray, w: np.ndarray, r: np.ndarray, b: np.ndarray | None = None,
    sequence_lens: np.ndarray | None = None, initial_h: np.ndarray | None = None, *,
    activation_alpha: list[float] | None = None, activation_beta: list[float] | None = None,
    activations: list[str] | None = None, clip: float | None = None,
    direction: str = "forward", hidden_size: int | None = None,
) -> tuple[np.ndarray, ...]:  # fmt: skip
    """H_t = f(X_t·Wᵀ + H_{t-1}·Rᵀ + Wb + Rb); outputs Y [T, D, B, H] and Y_h [D, B, H]"""
    attrs = RecurrentAttrs(
        activation_alpha, activation_beta, activations, clip, direction, hidden_size
    )
    return _rnn(x, w, r, b, sequence_lens, initial_h, attrs)


@reference_op("RNN", since=14, dtypes=FLOAT)
def rnn_14(
    x: np.ndarray, w: np.ndarray, r: np.ndarray, b: np.ndarray | None = None,
    sequence_lens: np.ndarray | None = None, initial_h: np.ndarray | None = None, *,
    activation_alpha: list[float] | None = None, activation_beta: list[float] | None = None,
    activations: list[str] | None = None, clip: float | None = None,
    direction: str = "forward", hidden_size: int | None = None, layout: int = 0,
) -> tuple[np.ndarray, ...]:  # fmt: skip
    """RNN 7 where layout=1 means batch-major X [B, T, I], Y [B, T, D, H] and Y_h [B, D, H]"""
    attrs = RecurrentAttrs(
        activation_alpha, activation_beta, activations, clip, direction, hidden_size, layout
    )
    return _rnn(x, w, r, b, sequence_lens, initial_h, attrs)
