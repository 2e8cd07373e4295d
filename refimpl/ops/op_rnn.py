import numpy as np

from ..dtypes import FLOAT
from ..registry import reference_op
from ._recurrent import Cell, Direction, RecurrentAttrs, run_recurrent


def _cell(dn: Direction) -> Cell:
    r_t, rb, clip, f = dn.r.T, dn.rb, dn.clip, dn.acts[0]
    return lambda xw, h: (f(clip(xw + h @ r_t + rb)),)


@reference_op("RNN", since=7, dtypes=FLOAT)
def rnn_7(
    x: np.ndarray,
    w: np.ndarray,
    r: np.ndarray,
    b: np.ndarray | None = None,
    sequence_lens: np.ndarray | None = None,
    initial_h: np.ndarray | None = None,
    *,
    activation_alpha: list[float] | None = None,
    activation_beta: list[float] | None = None,
    activations: list[str] | None = None,
    clip: float | None = None,
    direction: str = "forward",
    hidden_size: int | None = None,
) -> tuple[np.ndarray, ...]:
    """H_t = f(X_t·Wᵀ + H_{t-1}·Rᵀ + Wb + Rb); outputs Y [T, D, B, H] and Y_h [D, B, H]"""
    return rnn_14(
        x,
        w,
        r,
        b,
        sequence_lens,
        initial_h,
        activation_alpha=activation_alpha,
        activation_beta=activation_beta,
        activations=activations,
        clip=clip,
        direction=direction,
        hidden_size=hidden_size,
        layout=0,
    )


@reference_op("RNN", since=14, dtypes=FLOAT)
def rnn_14(
    x: np.ndarray,
    w: np.ndarray,
    r: np.ndarray,
    b: np.ndarray | None = None,
    sequence_lens: np.ndarray | None = None,
    initial_h: np.ndarray | None = None,
    *,
    activation_alpha: list[float] | None = None,
    activation_beta: list[float] | None = None,
    activations: list[str] | None = None,
    clip: float | None = None,
    direction: str = "forward",
    hidden_size: int | None = None,
    layout: int = 0,
) -> tuple[np.ndarray, ...]:
    """RNN 7 where layout=1 means batch-major X [B, T, I], Y [B, T, D, H] and Y_h [B, D, H]"""
    attrs = RecurrentAttrs(
        activation_alpha, activation_beta, activations, clip, direction, hidden_size, layout
    )
    return run_recurrent(
        x,
        w,
        r,
        b,
        sequence_lens,
        [initial_h],
        attrs,
        gates=1,
        default_activations=["Tanh"],
        make_cell=_cell,
    )
