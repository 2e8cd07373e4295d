"""Writes single-op .tflite models of the sequence ops (UNIDIRECTIONAL_SEQUENCE_LSTM / RNN,
BIDIRECTIONAL_SEQUENCE_LSTM) with random float32 weights and `is_variable` state tensors, for
tests/converter/test_tflite_sequence.py; built with tflite_state_models' writer."""

from __future__ import annotations

import numpy as np

from .tflite_state_models import FLOAT32, Op, Sub, T, build

UNIDIRECTIONAL_SEQUENCE_RNN, UNIDIRECTIONAL_SEQUENCE_LSTM, BIDIRECTIONAL_SEQUENCE_LSTM = 35, 44, 52
BIDIRECTIONAL_SEQUENCE_RNN, LSTM, RNN = 46, 16, 24
TANH, RELU = 4, 1
X, Y = "serving_default_x:0", "StatefulPartitionedCall:0"


class _Tensors:
    """Collects the tensors of one model; `add` returns the new tensor's index."""

    def __init__(self, seed: int) -> None:
        self.items: list[T] = []
        self.rng = np.random.default_rng(seed)

    def add(self, name: str, shape: tuple[int, ...], data=None, variable: bool = False) -> int:
        self.items.append(T(name, FLOAT32, shape, data, variable))
        return len(self.items) - 1

    def weight(self, name: str, *shape: int, scale: float = 0.5) -> int:
        data = (self.rng.standard_normal(shape) * scale).astype(np.float32)
        return self.add(name, shape, data)


def _direction(ts: _Tensors, p: str, n_in: int, n_cell: int, n_out: int, *, cifg: bool,
               peephole: bool, projection: bool, proj_bias: bool) -> list[int]:  # fmt: skip
    """The 17 weight inputs of one LSTM direction, -1 where left out (TFLite's order)."""
    gates = ("input", "forget", "cell", "output")
    idx = [-1 if cifg and g == "input" else ts.weight(f"{p}wx_{g}", n_cell, n_in) for g in gates]
    idx += [-1 if cifg and g == "input" else ts.weight(f"{p}wh_{g}", n_cell, n_out) for g in gates]
    for g in ("input", "forget", "output"):
        idx.append(ts.weight(f"{p}peep_{g}", n_cell) if peephole and not (cifg and g == "input")
                   else -1)  # fmt: skip
    idx += [-1 if cifg and g == "input" else ts.weight(f"{p}b_{g}", n_cell) for g in gates]
    idx.append(ts.weight(f"{p}proj", n_out, n_cell) if projection else -1)
    idx.append(ts.weight(f"{p}proj_b", n_out) if projection and proj_bias else -1)
    return idx


def lstm(*, n_in: int = 3, n_cell: int = 4, n_proj: int = 0, batch: int = 2, steps: int = 3,
         time_major: bool = False, peephole: bool = False, cifg: bool = False,
         layer_norm: bool = False, proj_bias: bool = True, cell_clip: float = 0.0,
         proj_clip: float = 0.0, activation: int = TANH, seed: int = 0,
         weights_n_in: int = 0, one_step: bool = False) -> bytes:  # fmt: skip
    """One UNIDIRECTIONAL_SEQUENCE_LSTM: x [B, T, n_in] (time major: [T, B, n_in]) -> y; a
    projection to n_proj outputs when n_proj > 0. weights_n_in: input weights of another width
    (a malformed model). one_step: the one-step LSTM op instead, x [B, n_in] -> y [B, n_out]."""
    ts = _Tensors(seed)
    shape = (steps, batch, n_in) if time_major else (batch, steps, n_in)
    shape = (batch, n_in) if one_step else shape
    x = ts.add(X, shape)
    n_out = n_proj or n_cell
    inputs = [x] + _direction(ts, "", weights_n_in or n_in, n_cell, n_out, cifg=cifg,
                              peephole=peephole, projection=n_proj > 0,
                              proj_bias=proj_bias)  # fmt: skip
    inputs.append(ts.add("output_state", (batch, n_out), variable=True))
    inputs.append(ts.add("cell_state", (batch, n_cell), variable=True))
    if layer_norm:
        gates = ("forget", "cell", "output") if cifg else ("input", "forget", "cell", "output")
        inputs += [-1] if cifg else []
        inputs += [ts.weight(f"ln_{g}", n_cell, scale=1.0) for g in gates]
    out_shape = (steps, batch, n_out) if time_major else (batch, steps, n_out)
    y = ts.add(Y, (batch, n_out) if one_step else out_shape)
    if one_step:
        options = ("LSTMOptions", {"fused_activation_function": activation,
                                   "cell_clip": cell_clip, "proj_clip": proj_clip})  # fmt: skip
        return build([Sub(ts.items, [Op(LSTM, inputs, [y], options)], [x], [y])])
    options = ("UnidirectionalSequenceLSTMOptions", {
        "fused_activation_function": activation, "cell_clip": cell_clip, "proj_clip": proj_clip,
        "time_major": time_major,
    })  # fmt: skip
    return build(
        [Sub(ts.items, [Op(UNIDIRECTIONAL_SEQUENCE_LSTM, inputs, [y], options)], [x], [y])]
    )


def bidirectional_lstm(*, n_in: int = 3, n_cell: int = 4, batch: int = 2, steps: int = 3,
                       time_major: bool = True, merge: bool = False, cell_clip: float = 0.0,
                       peephole: bool = False, seed: int = 0) -> bytes:  # fmt: skip
    """One BIDIRECTIONAL_SEQUENCE_LSTM (no projection, no aux input); merged: one output with
    both directions concatenated on the last axis."""
    ts = _Tensors(seed)
    shape = (steps, batch, n_in) if time_major else (batch, steps, n_in)
    x = ts.add(X, shape)
    kw = dict(cifg=False, peephole=peephole, projection=False, proj_bias=False)
    inputs = [x] + _direction(ts, "fw_", n_in, n_cell, n_cell, **kw)
    inputs += _direction(ts, "bw_", n_in, n_cell, n_cell, **kw)
    for p in ("fw_", "bw_"):
        inputs.append(ts.add(f"{p}output_state", (batch, n_cell), variable=True))
        inputs.append(ts.add(f"{p}cell_state", (batch, n_cell), variable=True))
    inputs += [-1] * 9  # aux input and its weights
    lead = (steps, batch) if time_major else (batch, steps)
    outs = [ts.add("fw_out", (*lead, 2 * n_cell if merge else n_cell))]
    if not merge:
        outs.append(ts.add("bw_out", (*lead, n_cell)))
    options = ("BidirectionalSequenceLSTMOptions", {
        "fused_activation_function": TANH, "merge_outputs": merge, "time_major": time_major,
        "cell_clip": cell_clip,
    })  # fmt: skip
    return build(
        [Sub(ts.items, [Op(BIDIRECTIONAL_SEQUENCE_LSTM, inputs, outs, options)], [x], outs)]
    )


def rnn(*, n_in: int = 3, units: int = 4, batch: int = 2, steps: int = 3,
        time_major: bool = False, activation: int = TANH, seed: int = 0,
        one_step: bool = False) -> bytes:  # fmt: skip
    """One UNIDIRECTIONAL_SEQUENCE_RNN with a kept hidden state (one_step: the one-step RNN op,
    x [B, n_in] -> y [B, units])."""
    ts = _Tensors(seed)
    x = ts.add(X, (steps, batch, n_in) if time_major else (batch, steps, n_in))
    if one_step:
        ts.items[x].shape = (batch, n_in)
    inputs = [x, ts.weight("w", units, n_in), ts.weight("r", units, units), ts.weight("b", units)]
    inputs.append(ts.add("hidden_state", (batch, units), variable=True))
    if one_step:
        y = ts.add(Y, (batch, units))
        options = ("RNNOptions", {"fused_activation_function": activation})
        return build([Sub(ts.items, [Op(RNN, inputs, [y], options)], [x], [y])])
    y = ts.add(Y, (steps, batch, units) if time_major else (batch, steps, units))
    options = ("SequenceRNNOptions", {"time_major": time_major,
                                      "fused_activation_function": activation})  # fmt: skip
    return build([Sub(ts.items, [Op(UNIDIRECTIONAL_SEQUENCE_RNN, inputs, [y], options)], [x], [y])])


def bidirectional_rnn(*, n_in: int = 3, units: int = 4, batch: int = 2, steps: int = 3,
                      time_major: bool = False, merge: bool = False, activation: int = TANH,
                      seed: int = 0) -> bytes:  # fmt: skip
    """One BIDIRECTIONAL_SEQUENCE_RNN (no aux input) with kept forward and backward states."""
    ts = _Tensors(seed)
    x = ts.add(X, (steps, batch, n_in) if time_major else (batch, steps, n_in))
    inputs = [x]
    for p in ("fw_", "bw_"):
        inputs += [ts.weight(f"{p}w", units, n_in), ts.weight(f"{p}r", units, units)]
        inputs += [ts.weight(f"{p}b", units), ts.add(f"{p}hidden_state", (batch, units),
                                                     variable=True)]  # fmt: skip
    inputs += [-1] * 3  # aux input and its weights
    lead = (steps, batch) if time_major else (batch, steps)
    outs = [ts.add("fw_out", (*lead, 2 * units if merge else units))]
    if not merge:
        outs.append(ts.add("bw_out", (*lead, units)))
    options = ("BidirectionalSequenceRNNOptions", {
        "time_major": time_major, "fused_activation_function": activation, "merge_outputs": merge,
    })  # fmt: skip
    op = Op(BIDIRECTIONAL_SEQUENCE_RNN, inputs, outs, options)
    return build([Sub(ts.items, [op], [x], outs)])


def rnn_then_state_read(*, batch: int = 2, steps: int = 3, units: int = 4) -> bytes:
    """A UNIDIRECTIONAL_SEQUENCE_RNN, then an ADD that reads its hidden state tensor (after the
    RNN updated it in place) as a second output."""
    ts = _Tensors(0)
    x = ts.add(X, (batch, steps, 3))
    inputs = [x, ts.weight("w", units, 3), ts.weight("r", units, units), ts.weight("b", units)]
    state = ts.add("hidden_state", (batch, units), variable=True)
    y = ts.add(Y, (batch, steps, units))
    one = ts.add("one", (), np.array(1.0, np.float32))
    z = ts.add("state_plus_one", (batch, units))
    ops = [
        Op(UNIDIRECTIONAL_SEQUENCE_RNN, inputs + [state], [y],
           ("SequenceRNNOptions", {"fused_activation_function": TANH})),
        Op(0, [state, one], [z]),  # ADD
    ]  # fmt: skip
    return build([Sub(ts.items, ops, [x], [y, z])])
