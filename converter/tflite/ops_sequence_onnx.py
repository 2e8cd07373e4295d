"""The TFLite LSTM variants that ONNX LSTM expresses exactly, as one LSTM node (which the cython
backend runs in C), instead of ops_sequence's unrolled per-step graph.

ONNX LSTM fits when every direction has an input gate (no CIFG: ONNX's coupled gate is
forget = 1 - input, TFLite's is input = 1 - forget), no projection, no layer norm, no cell clip
(ONNX's `clip` clips the gate inputs, not the cell state) and the fused activation is TANH. Then
the gates are the same sums in the same order: the input weights and bias over all steps first
(ONNX W and Wb; Rb is zero, so adding it changes nothing), then + R h, then + P * c; the output
gate's peephole reads the new cell state in both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .context import Context

if TYPE_CHECKING:
    from .ops_sequence import Options, Weights

ONNX_ORDER = ("input", "output", "forget", "cell")  # ONNX LSTM's gate order (W, R, B)
PEEPHOLE_ORDER = ("input", "output", "forget")  # ONNX LSTM's P
TANH = 4


def fits_onnx_lstm(directions: list[Weights], opts: Options) -> bool:
    return (
        opts.activation == TANH
        and opts.cell_clip <= 0.0
        and all("input" in w.gates and not w.norm and w.projection is None for w in directions)
    )


def onnx_lstm(
    ctx: Context, directions: list[Weights], x: str, hs: list[str], cs: list[str],
    time_major: bool,
) -> tuple[str, list[str], list[str]]:  # fmt: skip
    """One LSTM node over x ([T, B, I] when time major, else [B, T, I]: layout 1) from the states
    ([B, H] per direction; two directions: forward and reverse). Returns Y ([T, D, B, H] or
    [B, T, D, H]) and the final h and c of each direction ([B, H])."""
    n = len(directions)
    hidden = directions[0].bias["input"].shape[0]
    w = np.stack([np.concatenate([d.wx[g] for g in ONNX_ORDER]) for d in directions])
    r = np.stack([np.concatenate([d.wh[g] for g in ONNX_ORDER]) for d in directions])
    zeros = np.zeros(4 * hidden, np.float32)
    b = np.stack([np.concatenate([d.bias[g] for g in ONNX_ORDER] + [zeros]) for d in directions])
    inputs = [x, ctx.add_const("lstm_w", w), ctx.add_const("lstm_r", r)]
    inputs += [ctx.add_const("lstm_b", b), ""]
    axis = 0 if time_major else 1  # the direction axis of the states
    for states in (hs, cs):
        parts = [ctx.emit("Unsqueeze", [s, ctx.int64s([axis])]) for s in states]
        inputs.append(parts[0] if n == 1 else ctx.emit("Concat", parts, axis=axis))
    if any(d.peephole for d in directions):
        none = np.zeros(hidden, np.float32)
        p = [np.concatenate([d.peephole.get(g, none) for g in PEEPHOLE_ORDER]) for d in directions]
        inputs.append(ctx.add_const("lstm_p", np.stack(p)))
    label = f"lstm_{ctx.op.index}" if ctx.op is not None else "lstm"
    outs = [ctx.fresh(f"{label}_y"), ctx.fresh(f"{label}_h"), ctx.fresh(f"{label}_c")]
    ctx.emit(
        "LSTM", inputs, outs, hidden_size=hidden, layout=0 if time_major else 1,
        direction="forward" if n == 1 else "bidirectional",
    )  # fmt: skip
    finals: list[list[str]] = [[], []]
    for k in range(n):
        index = ctx.add_const("direction", np.array(k, np.int64))
        for final, state in zip(finals, outs[1:]):
            final.append(ctx.emit("Gather", [state, index], axis=axis))
    return outs[0], finals[0], finals[1]


RNN_ACTIVATIONS = {1: "Relu", 4: "Tanh"}  # fused activation code -> ONNX RNN activation


def onnx_rnn(
    ctx: Context, directions: list[tuple[np.ndarray, np.ndarray, np.ndarray]], x: str,
    hs: list[str], time_major: bool, code: int,
) -> tuple[str, list[str]]:  # fmt: skip
    """The sequence RNN ops with a RELU or TANH activation as one ONNX RNN node: act(x W + Wb +
    h R + 0) per step, the same sums in the same order as RnnBatchStep. `directions`: (input
    weights, recurrent weights, bias) of the forward (and reverse) direction; hs their states
    [B, H]. Returns Y ([T, D, B, H] or [B, T, D, H]) and each direction's final h [B, H]."""
    units = directions[0][1].shape[0]
    zeros = np.zeros(units, np.float32)
    w = np.stack([d[0] for d in directions])
    r = np.stack([d[1] for d in directions])
    b = np.stack([np.concatenate([d[2], zeros]) for d in directions])
    axis = 0 if time_major else 1  # the direction axis of the states
    inputs = [x, ctx.add_const("rnn_w", w), ctx.add_const("rnn_r", r), ctx.add_const("rnn_b", b)]
    parts = [ctx.emit("Unsqueeze", [h, ctx.int64s([axis])]) for h in hs]
    inputs += ["", parts[0] if len(parts) == 1 else ctx.emit("Concat", parts, axis=axis)]
    label = f"rnn_{ctx.op.index}" if ctx.op is not None else "rnn"
    outs = [ctx.fresh(f"{label}_y"), ctx.fresh(f"{label}_h")]
    ctx.emit(
        "RNN", inputs, outs, hidden_size=units, layout=0 if time_major else 1,
        direction="forward" if len(directions) == 1 else "bidirectional",
        activations=[RNN_ACTIVATIONS[code]] * len(directions),
    )  # fmt: skip
    finals = []
    for k in range(len(directions)):
        index = ctx.add_const("direction", np.array(k, np.int64))
        finals.append(ctx.emit("Gather", [outs[1], index], axis=axis))
    return outs[0], finals
