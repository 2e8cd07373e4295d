"""UNIDIRECTIONAL_SEQUENCE_RNN, BIDIRECTIONAL_SEQUENCE_RNN and the one-step RNN (float32; lite/
kernels/unidirectional_sequence_rnn.cc, bidirectional_sequence_rnn.cc, basic_rnn.cc): per step
h = act(bias + W x + R h); the output is h at every step. The hidden state inputs are
`is_variable` tensors LiteRT keeps across invoke() calls: their final values become Graph.state
outputs (ops_control.update_variable_tensor). With a RELU or TANH activation the op is one ONNX
RNN node (ops_sequence_onnx.py); NONE, RELU6 and RELU_N1_TO_1 are unrolled per step. The
backward direction runs from the last step to the first and writes each output at its own step.
"""

from __future__ import annotations

import numpy as np

from .context import Context, Converter, Unsupported, arity
from .ops_control import update_variable_tensor
from .ops_sequence import (
    activation,
    check_unrolled,
    required_weight,
    sequence_input,
    stack,
    state_input,
    to_time_major,
)
from .ops_sequence_onnx import RNN_ACTIVATIONS, onnx_rnn
from .reader import Operator

Weights = tuple[np.ndarray, np.ndarray, np.ndarray]  # input weights, recurrent weights, bias


def _weights(ctx: Context, op: Operator, base: int) -> Weights:
    w = required_weight(ctx, op, base, "input weights")
    r = required_weight(ctx, op, base + 1, "recurrent weights")
    b = required_weight(ctx, op, base + 2, "bias")
    units, n_input = r.shape[0] if r.ndim else 0, ctx.tensor(op.inputs[0]).shape[-1]
    if units < 1 or (w.shape, r.shape, b.shape) != ((units, n_input), (units, units), (units,)):
        raise Unsupported(f"weights {w.shape}, recurrent weights {r.shape} and bias {b.shape} "
                          f"for {n_input} inputs")  # fmt: skip
    return w, r, b


def unroll_rnn(
    ctx: Context, w: Weights, x: str, steps: int, h: str, code: int, reverse: bool = False
) -> tuple[list[str], str]:
    """One direction over the time-major x [T, B, I] from h: per-step outputs in time order and
    the final h."""
    check_unrolled(steps)
    xw = ctx.emit("MatMul", [x, ctx.add_const("rnn_w", w[0].T.copy())])
    xw = ctx.emit("Add", [xw, ctx.add_const("rnn_bias", w[2])])
    wh = ctx.add_const("rnn_r", w[1].T.copy())
    outputs = [""] * steps
    for t in reversed(range(steps)) if reverse else range(steps):
        xt = ctx.emit("Gather", [xw, ctx.add_const("t", np.array(t, np.int64))], axis=0)
        h = activation(ctx, ctx.emit("Add", [xt, ctx.emit("MatMul", [h, wh])]), code)
        outputs[t] = h
    return outputs, h


def _direction_axis(time_major: bool) -> int:
    return 1 if time_major else 2  # of ONNX RNN's Y


def unidirectional_sequence_rnn(ctx: Context, op: Operator) -> None:
    time_major = bool(op.options.get("time_major", False))
    x, steps, batch = sequence_input(ctx, op, time_major)
    w = _weights(ctx, op, 1)
    h = state_input(ctx, op, 4, (batch, w[1].shape[0]), "hidden state")
    code = int(op.options.get("fused_activation_function", 0))
    target = ctx.names[op.outputs[0]]
    if code in RNN_ACTIVATIONS:
        y, (h,) = onnx_rnn(ctx, [w], x, [h], time_major, code)
        ctx.emit("Squeeze", [y, ctx.int64s([_direction_axis(time_major)])], [target])
    else:
        outputs, h = unroll_rnn(ctx, w, to_time_major(ctx, x, time_major), steps, h, code)
        stack(ctx, outputs, target, time_major)
    update_variable_tensor(ctx, op.inputs[4], h)


def rnn(ctx: Context, op: Operator) -> None:
    """RNN, the one-step kernel (basic_rnn.cc): x [B, n_input] -> the new hidden state."""
    t = ctx.tensor(op.inputs[0])
    if t.dtype != "float32" or len(t.shape) != 2:
        raise Unsupported(f"its input is {t.dtype} of rank {len(t.shape)}, not float32 [B, n]")
    x = ctx.emit("Unsqueeze", [ctx.name(op.inputs[0]), ctx.int64s([0])])  # [1, B, n_input]
    w = _weights(ctx, op, 1)
    h = state_input(ctx, op, 4, (int(t.shape[0]), w[1].shape[0]), "hidden state")
    code = int(op.options.get("fused_activation_function", 0))
    if code in RNN_ACTIVATIONS:
        _, (h,) = onnx_rnn(ctx, [w], x, [h], True, code)
    else:
        _, h = unroll_rnn(ctx, w, x, 1, h, code)
    ctx.emit("Identity", [h], [ctx.names[op.outputs[0]]])
    update_variable_tensor(ctx, op.inputs[4], h)


def bidirectional_sequence_rnn(ctx: Context, op: Operator) -> None:
    """Forward weights, bias and state at inputs 1-4, backward at 5-8; 9-11: auxiliary input."""
    if len(op.inputs) > 9 and op.inputs[9] >= 0:
        raise Unsupported("its auxiliary input is not imported")
    time_major = bool(op.options.get("time_major", False))
    x, steps, batch = sequence_input(ctx, op, time_major)
    fw, bw = _weights(ctx, op, 1), _weights(ctx, op, 5)
    fh = state_input(ctx, op, 4, (batch, fw[1].shape[0]), "forward hidden state")
    bh = state_input(ctx, op, 8, (batch, bw[1].shape[0]), "backward hidden state")
    code = int(op.options.get("fused_activation_function", 0))
    merge = bool(op.options.get("merge_outputs"))
    targets = [ctx.names[o] for o in op.outputs[: 1 if merge else 2]]
    if code in RNN_ACTIVATIONS and fw[1].shape == bw[1].shape:
        y, (fh, bh) = onnx_rnn(ctx, [fw, bw], x, [fh, bh], time_major, code)
        if merge:  # [T, 2, B, H] -> [T, B, 2H]; batch major [B, T, 2, H] -> [B, T, 2H]
            if time_major:
                y = ctx.emit("Transpose", [y], perm=[0, 2, 1, 3])
            ctx.emit("Reshape", [y, ctx.int64s([0, 0, -1])], targets)
        else:
            for k, target in enumerate(targets):
                index = ctx.add_const("direction", np.array(k, np.int64))
                ctx.emit("Gather", [y, index], [target], axis=_direction_axis(time_major))
    else:
        xt = to_time_major(ctx, x, time_major)
        fw_out, fh = unroll_rnn(ctx, fw, xt, steps, fh, code)
        bw_out, bh = unroll_rnn(ctx, bw, xt, steps, bh, code, reverse=True)
        if merge:
            merged = [ctx.emit("Concat", [f, b], axis=-1) for f, b in zip(fw_out, bw_out)]
            stack(ctx, merged, targets[0], time_major)
        else:
            stack(ctx, fw_out, targets[0], time_major)
            stack(ctx, bw_out, targets[1], time_major)
    update_variable_tensor(ctx, op.inputs[4], fh)
    update_variable_tensor(ctx, op.inputs[8], bh)


CONVERTERS: dict[str, Converter] = {
    "UNIDIRECTIONAL_SEQUENCE_RNN": arity(5)(unidirectional_sequence_rnn),
    "BIDIRECTIONAL_SEQUENCE_RNN": arity(9)(bidirectional_sequence_rnn),
    "RNN": arity(5)(rnn),
}
