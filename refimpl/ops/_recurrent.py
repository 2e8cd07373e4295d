"""The recurrence driver shared by RNN, GRU and LSTM.

run_recurrent does the setup the three share (hidden size, activations, biases, clip) and asks the
op for one cell per direction. A cell sees one time step: cell(xw_t, *states) -> new states (hidden
state first), where xw_t = X_t · Wᵀ + Wb is precomputed for all steps at once. The driver handles
directions, layouts, sequence_lens (steps past a batch item's length keep its state and write zeros
to Y), initial states and half-precision inputs (computed in float32).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..errors import OpArgumentError
from ._recurrent_activations import Activation
from ._recurrent_activations import activations as bind_activations

Cell = Callable[..., tuple[np.ndarray, ...]]
DIRECTIONS = ("forward", "reverse", "bidirectional")


class RecurrentAttrs:
    """The attributes RNN, GRU and LSTM share (a plain class: a dataclass costs ~0.5 ms to
    define, in the first load of a recurrent model)."""

    __slots__ = ("activation_alpha", "activation_beta", "activations", "clip", "direction",
                 "hidden_size", "layout")  # fmt: skip

    def __init__(
        self,
        activation_alpha: list[float] | None,
        activation_beta: list[float] | None,
        activations: list[str] | None,
        clip: float | None,
        direction: str,
        hidden_size: int | None,
        layout: int = 0,
    ) -> None:
        self.activation_alpha, self.activation_beta = activation_alpha, activation_beta
        self.activations, self.clip, self.direction = activations, clip, direction
        self.hidden_size, self.layout = hidden_size, layout


class Direction:
    """What the cell of direction `index` closes over; arrays are in the working dtype (a plain
    class, as RecurrentAttrs)."""

    __slots__ = ("index", "hidden", "dtype", "r", "rb", "acts", "clip")

    def __init__(
        self,
        index: int,
        hidden: int,
        dtype: np.dtype,
        r: np.ndarray,  # this direction's R, [gates * hidden, hidden]
        rb: np.ndarray,  # this direction's R bias, [gates * hidden]
        acts: list[Activation],  # the op's activations (f, g, h), alpha/beta bound
        clip: Callable[[np.ndarray], np.ndarray],
    ) -> None:
        self.index, self.hidden, self.dtype, self.r, self.rb = index, hidden, dtype, r, rb
        self.acts, self.clip = acts, clip


def run_recurrent(
    x: np.ndarray,
    w: np.ndarray,
    r: np.ndarray,
    b: np.ndarray | None,
    sequence_lens: np.ndarray | None,
    initial: Sequence[np.ndarray | None],
    a: RecurrentAttrs,
    *,
    gates: int,
    default_activations: list[str],
    make_cell: Callable[[Direction], Cell],
    project: Callable[[np.ndarray, int], np.ndarray] | None = None,
) -> tuple[np.ndarray, ...]:
    """(Y, *final states) of a layer whose W/R stack `gates` gates; make_cell builds each cell;
    project(X, d) replaces X · W[d]ᵀ (quantised weights)."""
    dirs = num_directions(a.direction)
    hidden = hidden_of(w, r, dirs, gates, a.hidden_size)
    dtype = work_dtype(x)
    acts = bind_activations(
        a.activations, a.activation_alpha, a.activation_beta, default_activations, dirs, dtype
    )
    bias, clip = split_bias(b, dirs, gates * hidden, dtype), clipper(a.clip)
    cells = [
        make_cell(Direction(d, hidden, dtype, r[d].astype(dtype), bias[d, 1], acts[d], clip))
        for d in range(dirs)
    ]
    return run_layer(
        x,
        w,
        sequence_lens,
        initial,
        hidden_size=hidden,
        direction=a.direction,
        layout=a.layout,
        make_cell=lambda d: (bias[d, 0], cells[d]),
        project=project,
    )


def num_directions(direction: str) -> int:
    if direction not in DIRECTIONS:
        raise OpArgumentError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
    return 2 if direction == "bidirectional" else 1


def work_dtype(x: np.ndarray) -> np.dtype:
    return np.dtype(np.float32) if x.dtype.name in ("float16", "bfloat16") else x.dtype


def split_bias(b: np.ndarray | None, dirs: int, width: int, dtype: np.dtype) -> np.ndarray:
    """[dirs, 2, width]: the W bias and the R bias of each direction (zeros when B is absent)."""
    if b is None:
        return np.zeros((dirs, 2, width), dtype)
    if b.shape != (dirs, 2 * width):
        raise OpArgumentError(f"B has shape {list(b.shape)}, expected {[dirs, 2 * width]}")
    return b.astype(dtype).reshape(dirs, 2, width)


def run_layer(
    x: np.ndarray,
    w: np.ndarray,
    sequence_lens: np.ndarray | None,
    initial: Sequence[np.ndarray | None],
    *,
    hidden_size: int,
    direction: str,
    layout: int,
    make_cell: Callable[[int], tuple[np.ndarray, Cell]],
    project: Callable[[np.ndarray, int], np.ndarray] | None = None,
) -> tuple[np.ndarray, ...]:
    """(Y, *final states) for every state; make_cell(d) -> (W bias of direction d, its cell);
    project(X, d) -> X · W[d]ᵀ (default: the float matmul)."""
    if layout not in (0, 1):
        raise OpArgumentError(f"layout must be 0 or 1, got {layout}")
    dirs = num_directions(direction)
    dtype = work_dtype(x)
    xs = (np.swapaxes(x, 0, 1) if layout else x).astype(dtype)  # [T, B, I]
    steps, batch, _ = xs.shape
    if w.shape[0] != dirs or w.shape[2] != xs.shape[2]:
        raise OpArgumentError(f"W has shape {list(w.shape)}; expected [{dirs}, *, {xs.shape[2]}]")
    lens = (
        np.full(batch, steps, np.int64) if sequence_lens is None else sequence_lens.astype(np.int64)
    )
    if lens.shape != (batch,) or (lens < 0).any() or (lens > steps).any():
        raise OpArgumentError(
            f"sequence_lens {lens.tolist()} must be {batch} values in [0, {steps}]"
        )
    inits = [_initial(s, dirs, batch, hidden_size, layout, dtype) for s in initial]
    ys, finals = [], []
    for d in range(dirs):
        reverse = direction == "reverse" or d == 1
        wb, cell = make_cell(d)
        xd = _reverse_valid(xs, lens) if reverse else xs
        xw = xd @ w[d].astype(dtype).T if project is None else project(xd, d)
        y, states = _recur(xw + wb, lens, cell, [s[d] for s in inits])
        ys.append(_reverse_valid(y, lens) if reverse else y)
        finals.append(states)
    y = np.stack(ys, axis=1)  # [T, D, B, H]
    outs = [np.stack([f[k] for f in finals]) for k in range(len(inits))]  # each [D, B, H]
    if layout:
        y, outs = np.transpose(y, (2, 0, 1, 3)), [np.swapaxes(o, 0, 1) for o in outs]
    return tuple(a.astype(x.dtype, copy=False) for a in (y, *outs))


def _recur(
    xw: np.ndarray, lens: np.ndarray, cell: Cell, states: list[np.ndarray]
) -> tuple[np.ndarray, list[np.ndarray]]:
    steps, batch = xw.shape[:2]
    y = np.zeros((steps, batch, states[0].shape[-1]), states[0].dtype)
    for t in range(steps):
        new = cell(xw[t], *states)
        live = (t < lens)[:, None]
        states = [np.where(live, n, s) for n, s in zip(new, states, strict=True)]
        y[t] = np.where(live, new[0], 0)
    return y, states


def _reverse_valid(x: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """Reverses each batch item's first lens[b] steps (axis 0), leaving the padding in place."""
    t = np.arange(x.shape[0])[:, None]
    src = np.where(t < lens[None, :], lens[None, :] - 1 - t, t)
    return x[src, np.arange(x.shape[1])[None, :]]


def _initial(
    s: np.ndarray | None, dirs: int, batch: int, hidden: int, layout: int, dtype: np.dtype
) -> np.ndarray:
    if s is None:
        return np.zeros((dirs, batch, hidden), dtype)
    s = np.swapaxes(s, 0, 1) if layout else s
    if s.shape != (dirs, batch, hidden):
        raise OpArgumentError(
            f"an initial state has shape {list(s.shape)}; expected "
            f"{[batch, dirs, hidden] if layout else [dirs, batch, hidden]}"
        )
    return s.astype(dtype)


def clipper(clip: float | None) -> Callable[[np.ndarray], np.ndarray]:
    """Clips gate pre-activations to [-clip, clip] when clip is set."""
    if clip is None:
        return lambda v: v
    if clip <= 0:
        raise OpArgumentError(f"clip must be positive, got {clip}")
    return lambda v: np.clip(v, -clip, clip)


def hidden_of(w: np.ndarray, r: np.ndarray, dirs: int, gates: int, hidden_size: int | None) -> int:
    """The hidden size (from the attribute or R), after checking W and R agree with it."""
    hidden = hidden_size if hidden_size is not None else r.shape[-1]
    if w.ndim != 3 or w.shape[:2] != (dirs, gates * hidden):
        raise OpArgumentError(
            f"W has shape {list(w.shape)}; expected [{dirs}, {gates * hidden}, *]"
        )
    if r.shape != (dirs, gates * hidden, hidden):
        raise OpArgumentError(
            f"R has shape {list(r.shape)}; expected {[dirs, gates * hidden, hidden]}"
        )
    return hidden
