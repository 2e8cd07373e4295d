from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

import numpy as np

from ..dtypes import FLOAT
from ..errors import OpArgumentError
from ..registry import reference_op

if TYPE_CHECKING:
    from ._recurrent import Cell, Direction

# ._recurrent (2 modules, ~0.5 ms) is imported on the first run: a load whose LSTM a kernel runs
# imports this module for its functions' identity alone


def _cell(dn: Direction, p: np.ndarray | None, direction: str, input_forget: int) -> Cell:
    from ._recurrent import num_directions

    dirs, hidden = num_directions(direction), dn.hidden
    if p is not None and p.shape != (dirs, 3 * hidden):
        raise OpArgumentError(f"P has shape {list(p.shape)}, expected {[dirs, 3 * hidden]}")
    peep = np.zeros((3, hidden), dn.dtype) if p is None else p[dn.index].astype(dn.dtype)
    p_i, p_o, p_f = peep.reshape(3, -1)  # peepholes of gates i, o, f
    r_t, rb, clip, (f, g, h_act) = dn.r.T, dn.rb, dn.clip, dn.acts

    def cell(xw: np.ndarray, h: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pre_i, pre_o, pre_f, pre_c = np.split(xw + h @ r_t + rb, 4, axis=1)  # gates i, o, f, c
        i = f(clip(pre_i + p_i * c))
        forget = 1 - i if input_forget else f(clip(pre_f + p_f * c))
        c_new = forget * c + i * g(clip(pre_c))
        o = f(clip(pre_o + p_o * c_new))
        return o * h_act(c_new), c_new

    return cell


@reference_op("LSTM", since=7, dtypes=FLOAT)
def lstm_7(
    x: np.ndarray,
    w: np.ndarray,
    r: np.ndarray,
    b: np.ndarray | None = None,
    sequence_lens: np.ndarray | None = None,
    initial_h: np.ndarray | None = None,
    initial_c: np.ndarray | None = None,
    p: np.ndarray | None = None,
    *,
    activation_alpha: list[float] | None = None,
    activation_beta: list[float] | None = None,
    activations: list[str] | None = None,
    clip: float | None = None,
    direction: str = "forward",
    hidden_size: int | None = None,
    input_forget: int = 0,
) -> tuple[np.ndarray, ...]:
    """i, f, o = f(X·Wᵀ + H·Rᵀ + P⊙C + b); C' = f⊙C + i⊙g(…); H' = o⊙h(C'); outputs Y, Y_h, Y_c"""
    return lstm_14(
        x,
        w,
        r,
        b,
        sequence_lens,
        initial_h,
        initial_c,
        p,
        activation_alpha=activation_alpha,
        activation_beta=activation_beta,
        activations=activations,
        clip=clip,
        direction=direction,
        hidden_size=hidden_size,
        input_forget=input_forget,
        layout=0,
    )


@reference_op("LSTM", since=14, dtypes=FLOAT)
def lstm_14(
    x: np.ndarray,
    w: np.ndarray,
    r: np.ndarray,
    b: np.ndarray | None = None,
    sequence_lens: np.ndarray | None = None,
    initial_h: np.ndarray | None = None,
    initial_c: np.ndarray | None = None,
    p: np.ndarray | None = None,
    *,
    activation_alpha: list[float] | None = None,
    activation_beta: list[float] | None = None,
    activations: list[str] | None = None,
    clip: float | None = None,
    direction: str = "forward",
    hidden_size: int | None = None,
    input_forget: int = 0,
    layout: int = 0,
) -> tuple[np.ndarray, ...]:
    """LSTM 7 where layout=1 means batch-major X [B, T, I], Y [B, T, D, H], Y_h/Y_c [B, D, H]"""
    from ._recurrent import RecurrentAttrs, run_recurrent

    attrs = RecurrentAttrs(
        activation_alpha, activation_beta, activations, clip, direction, hidden_size, layout
    )
    return run_recurrent(
        x,
        w,
        r,
        b,
        sequence_lens,
        [initial_h, initial_c],
        attrs,
        gates=4,
        default_activations=["Sigmoid", "Tanh", "Tanh"],
        make_cell=partial(_cell, p=p, direction=direction, input_forget=input_forget),
    )
