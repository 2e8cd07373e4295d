import numpy as np

from ..dtypes import FLOAT
from ..errors import OpArgumentError
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


def _lstm(
    x: np.ndarray, w: np.ndarray, r: np.ndarray, b: np.ndarray | None,
    sequence_lens: np.ndarray | None, initial_h: np.ndarray | None,
    initial_c: np.ndarray | None, p: np.ndarray | None, a: RecurrentAttrs, input_forget: int,
) -> tuple[np.ndarray, ...]:  # fmt: skip
    dirs = num_directions(a.direction)
    hidden = hidden_of(w, r, dirs, 4, a.hidden_size)
    dtype = work_dtype(x)
    defaults = ["Sigmoid", "Tanh", "Tanh"]
    acts = bind_activations(
        a.activations, a.activation_alpha, a.activation_beta, defaults, dirs, dtype
    )
    bias, clip = split_bias(b, dirs, 4 * hidden, dtype), clipper(a.clip)
    if p is not None and p.shape != (dirs, 3 * hidden):
        raise OpArgumentError(f"P has shape {list(p.shape)}, expected {[dirs, 3 * hidden]}")
    peep = np.zeros((dirs, 3, hidden), dtype) if p is None else p.astype(dtype).reshape(dirs, 3, -1)

    def make_cell(d: int):
        r_t, rb, (f, g, h_act) = r[d].astype(dtype).T, bias[d, 1], acts[d]
        p_i, p_o, p_f = peep[d]

        def cell(xw: np.ndarray, h: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            pre_i, pre_o, pre_f, pre_c = np.split(xw + h @ r_t + rb, 4, axis=1)  # gates i, o, f, c
            i = f(clip(pre_i + p_i * c))
            forget = 1 - i if input_forget else f(clip(pre_f + p_f * c))
            c_new = forget * c + i * g(clip(pre_c))
            o = f(clip(pre_o + p_o * c_new))
            return o * h_act(c_new), c_new

        return bias[d, 0], cell

    return run_layer(
        x, w, sequence_lens, [initial_h, initial_c], hidden_size=hidden, direction=a.direction,
        layout=a.layout, make_cell=make_cell,
    )  # fmt: skip


@reference_op("LSTM", since=7, dtypes=FLOAT)
def lstm_7(
    x: np.ndarray, w: np.ndarray, r: np.ndarray, b: np.ndarray | None = None,
    sequence_lens: np.ndarray | None = None, initial_h: np.ndarray | None = None,
    initial_c: np.ndarray | None = None, p: np.ndarray | None = None, *,
    activation_alpha: list[float] | None = None, activation_beta: list[float] | None = None,
    activations: list[str] | None = None, clip: float | None = None,
    direction: str = "forward", hidden_size: int | None = None, input_forget: int = 0,
) -> tuple[np.ndarray, ...]:  # fmt: skip
    """i, f, o = f(X·Wᵀ + H·Rᵀ + P⊙C + b); C' = f⊙C + i⊙g(…); H' = o⊙h(C'); outputs Y, Y_h, Y_c"""
    attrs = RecurrentAttrs(
        activation_alpha, activation_beta, activations, clip, direction, hidden_size
    )
    return _lstm(x, w, r, b, sequence_lens, initial_h, initial_c, p, attrs, input_forget)


@reference_op("LSTM", since=14, dtypes=FLOAT)
def lstm_14(
    x: np.ndarray, w: np.ndarray, r: np.ndarray, b: np.ndarray | None = None,
    sequence_lens: np.ndarray | None = None, initial_h: np.ndarray | None = None,
    initial_c: np.ndarray | None = None, p: np.ndarray | None = None, *,
    activation_alpha: list[float] | None = None, activation_beta: list[float] | None = None,
    activations: list[str] | None = None, clip: float | None = None,
    direction: str = "forward", hidden_size: int | None = None, input_forget: int = 0,
    layout: int = 0,
) -> tuple[np.ndarray, ...]:  # fmt: skip
    """LSTM 7 where layout=1 means batch-major X [B, T, I], Y [B, T, D, H], Y_h/Y_c [B, D, H]"""
    attrs = RecurrentAttrs(
        activation_alpha, activation_beta, activations, clip, direction, hidden_size, layout
    )
    return _lstm(x, w, r, b, sequence_lens, initial_h, initial_c, p, attrs, input_forget)
