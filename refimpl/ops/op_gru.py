from functools import partial

import numpy as np

from ..dtypes import FLOAT
from ..registry import reference_op
from ._recurrent import Cell, Direction, RecurrentAttrs, run_recurrent


def _cell(dn: Direction, linear_before_reset: int) -> Cell:
    hidden, clip, (f, g) = dn.hidden, dn.clip, dn.acts
    r_zr, r_h = np.split(dn.r, [2 * hidden])  # gates z, r | h
    rb_zr, rb_h = np.split(dn.rb, [2 * hidden])

    def cell(xw: np.ndarray, h: np.ndarray) -> tuple[np.ndarray]:
        z, reset = np.split(f(clip(xw[:, : 2 * hidden] + h @ r_zr.T + rb_zr)), 2, axis=1)
        if linear_before_reset:
            recur = reset * (h @ r_h.T + rb_h)
        else:
            recur = (reset * h) @ r_h.T + rb_h
        h_tilde = g(clip(xw[:, 2 * hidden :] + recur))
        return ((1 - z) * h_tilde + z * h,)

    return cell


@reference_op("GRU", since=7, dtypes=FLOAT)
def gru_7(
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
    linear_before_reset: int = 0,
) -> tuple[np.ndarray, ...]:
    """z, r = f(X·Wᵀ + H·Rᵀ + b); h̃ = g(X·Whᵀ + (r⊙H)·Rhᵀ + b); H' = (1-z)⊙h̃ + z⊙H"""
    return gru_14(
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
        linear_before_reset=linear_before_reset,
    )


@reference_op("GRU", since=14, dtypes=FLOAT)
def gru_14(
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
    linear_before_reset: int = 0,
) -> tuple[np.ndarray, ...]:
    """GRU 7 where layout=1 means batch-major X [B, T, I], Y [B, T, D, H] and Y_h [B, D, H]"""
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
        gates=3,
        default_activations=["Sigmoid", "Tanh"],
        make_cell=partial(_cell, linear_before_reset=linear_before_reset),
    )
