"""UNIDIRECTIONAL_SEQUENCE_LSTM, BIDIRECTIONAL_SEQUENCE_LSTM and the one-step LSTM (float32) -> one
ONNX LSTM node or an unrolled per-step graph of standard ONNX ops (RNNs: ops_sequence_rnn.py).

As LiteRT's float kernels compute them (lite/kernels/lstm_eval.cc):
each gate is bias + W_x x + W_h h (+ peephole w_c * c for the input and forget gates, with the
previous cell state, and for the output gate, with the new one); a layer-norm LSTM normalises the
gate sum (mean 0, variance 1 with epsilon 1e-8), scales it by its coefficients and then adds the
bias. Input, forget and output gates are sigmoids, the cell gate is the fused activation. CIFG
(no input gate weights): input = 1 - forget. c = f * c + i * g, clipped to +-cell_clip when set;
h = o * act(c), then h = W_p h + b_p clipped to +-proj_clip when there is a projection.

The activation and cell state inputs are `is_variable` tensors that LiteRT updates in place and
keeps across invoke() calls: their final values are named with ops_control.update_variable_tensor,
so they become Graph.state outputs. What ONNX LSTM / RNN express exactly (ops_sequence_onnx.py:
no CIFG, projection, cell clip or layer norm, a TANH activation; an RNN with RELU or TANH) is one
such node; every other variant is unrolled: the input weights are applied to all steps at once
(one MatMul), then each step is one recurrent MatMul and the element-wise gate maths. The number
of steps is the input's static time dimension.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .context import Context, Converter, Unsupported, arity
from .ops_control import update_variable_tensor
from .ops_sequence_onnx import fits_onnx_lstm, onnx_lstm
from .reader import Operator

GATES = ("input", "forget", "cell", "output")


def _optional(ctx: Context, op: Operator, k: int, what: str) -> np.ndarray | None:
    index = op.inputs[k] if k < len(op.inputs) else -1
    if index < 0:
        return None
    value = np.asarray(ctx.const(index, what))
    if value.dtype != np.float32:
        raise Unsupported(f"its {what} is {value.dtype} (only float32 weights are imported)")
    return value


def required_weight(ctx: Context, op: Operator, k: int, what: str) -> np.ndarray:
    value = _optional(ctx, op, k, what)
    if value is None:
        raise Unsupported(f"it has no {what}")
    return value


@dataclass
class Weights:
    """One LSTM direction's constants, per gate (CIFG: no input gate)."""

    gates: tuple[str, ...]
    wx: dict[str, np.ndarray]  # [n_cell, n_input]
    wh: dict[str, np.ndarray]  # [n_cell, n_output]
    bias: dict[str, np.ndarray]  # [n_cell]
    peephole: dict[str, np.ndarray]  # [n_cell], only the gates that have one
    norm: dict[str, np.ndarray]  # layer-norm coefficients [n_cell]; empty when not layer norm
    projection: np.ndarray | None  # [n_output, n_cell]
    projection_bias: np.ndarray | None


def lstm_weights(ctx: Context, op: Operator, base: int, norm_base: int | None) -> Weights:
    """The weights of a direction whose input_to_input_weights is input `base` (TFLite's order:
    4 input weights, 4 recurrent weights, 3 peepholes, 4 biases, projection weights and bias)."""
    cifg = _optional(ctx, op, base, "input-to-input weights") is None
    gates = GATES[1:] if cifg else GATES
    wx, wh, bias, peephole, norm = {}, {}, {}, {}, {}
    for k, gate in enumerate(GATES):
        if gate not in gates:
            continue
        wx[gate] = required_weight(ctx, op, base + k, f"input-to-{gate} weights")
        wh[gate] = required_weight(ctx, op, base + 4 + k, f"recurrent-to-{gate} weights")
        bias[gate] = required_weight(ctx, op, base + 11 + k, f"{gate} gate bias")
        if gate != "cell":
            p = _optional(ctx, op, base + 8 + (k if k < 2 else 2), f"cell-to-{gate} weights")
            if p is not None:
                peephole[gate] = p
        if norm_base is not None:
            c = _optional(ctx, op, norm_base + k, f"{gate} layer-norm coefficients")
            if c is not None:
                norm[gate] = c
    if norm and set(norm) != set(gates):
        raise Unsupported("it has layer-norm coefficients for some gates only")
    if peephole and set(peephole) != set(gates) - {"cell"}:
        raise Unsupported("it has peephole weights for some gates only")
    projection = _optional(ctx, op, base + 15, "projection weights")
    projection_bias = _optional(ctx, op, base + 16, "projection bias")
    w = Weights(gates, wx, wh, bias, peephole, norm, projection, projection_bias)
    _check_shapes(w, ctx.tensor(op.inputs[0]).shape[-1])
    return w


def _check_shapes(w: Weights, n_input: int) -> None:
    """Every weight's shape against the input's width and the cell / output sizes."""
    n_cell = w.wx[w.gates[0]].shape[0] if w.wx[w.gates[0]].ndim == 2 else -1
    n_output = n_cell if w.projection is None else w.projection.shape[0]
    expected = {
        "input-to-gate weights": (w.wx, (n_cell, n_input)),
        "recurrent weights": (w.wh, (n_cell, n_output)),
        "bias": (w.bias, (n_cell,)),
        "peephole weights": (w.peephole, (n_cell,)),
        "layer-norm coefficients": (w.norm, (n_cell,)),
    }
    if w.projection is not None:
        expected["projection"] = ({"": w.projection}, (n_output, n_cell))
    if w.projection_bias is not None:
        expected["projection bias"] = ({"": w.projection_bias}, (n_output,))
    for what, (arrays, shape) in expected.items():
        for gate, value in arrays.items():
            if value.shape != shape or n_cell < 1:
                where = f"{gate} gate's " if gate else ""
                raise Unsupported(f"its {where}{what} has shape {value.shape}, expected {shape}")


def activation(ctx: Context, value: str, code: int) -> str:
    """TFLite's ApplyActivationToVector for a fused activation code."""
    if code == 0:
        return value
    if code == 1:
        return ctx.emit("Relu", [value])
    if code in (2, 3):
        low, high = (-1.0, 1.0) if code == 2 else (0.0, 6.0)
        return ctx.emit("Clip", [value, ctx.scalar(low), ctx.scalar(high)])
    if code == 4:
        return ctx.emit("Tanh", [value])
    raise Unsupported(f"fused activation {code} is not supported by the sequence kernels")


MAX_UNROLLED_STEPS = 4096  # ~14 nodes per step: beyond, import time and graph size explode


def check_unrolled(steps: int) -> None:
    if steps > MAX_UNROLLED_STEPS:
        raise Unsupported(
            f"this variant is unrolled per step and its {steps} steps exceed "
            f"{MAX_UNROLLED_STEPS} (the ONNX LSTM / RNN path has no limit)"
        )


def _clip(ctx: Context, value: str, bound: float) -> str:
    if bound <= 0.0:
        return value
    return ctx.emit("Clip", [value, ctx.scalar(-bound), ctx.scalar(bound)])


def _normalise(ctx: Context, value: str, coefficients: np.ndarray, bias: np.ndarray) -> str:
    """MeanStddevNormalization over the cell units, times the coefficients, plus the bias."""
    axes = ctx.int64s([-1])
    centred = ctx.emit("Sub", [value, ctx.emit("ReduceMean", [value, axes], keepdims=1)])
    variance = ctx.emit("ReduceMean", [ctx.emit("Mul", [centred, centred]), axes], keepdims=1)
    std = ctx.emit("Sqrt", [ctx.emit("Add", [variance, ctx.scalar(1e-8)])])
    normalised = ctx.emit("Mul", [centred, ctx.emit("Div", [ctx.scalar(1.0), std])])
    scaled = ctx.emit("Mul", [normalised, ctx.add_const("ln_coef", coefficients)])
    return ctx.emit("Add", [scaled, ctx.add_const("ln_bias", bias)])


def _stacked(w: Weights, part: dict[str, np.ndarray]) -> np.ndarray:
    """The gates' matrices stacked and transposed: [inner, n_gates * n_cell] for a MatMul."""
    return np.ascontiguousarray(np.concatenate([part[g] for g in w.gates], axis=0).T)


@dataclass
class Options:
    activation: int
    cell_clip: float
    proj_clip: float


def unroll_lstm(
    ctx: Context, w: Weights, x: str, steps: int, h: str, c: str, opts: Options,
    reverse: bool = False,
) -> tuple[list[str], str, str]:  # fmt: skip
    """Runs one direction over the time-major input `x` [T, B, n_input] from state (h, c):
    the per-step outputs [B, n_output] in time order, and the final h and c."""
    check_unrolled(steps)
    n_cell = w.bias[w.gates[0]].shape[0]
    xw = ctx.emit("MatMul", [x, ctx.add_const("lstm_wx", _stacked(w, w.wx))])
    if not w.norm:  # the bias is added before the recurrent term (LiteRT: bias + Wx + Wh)
        bias = np.concatenate([w.bias[g] for g in w.gates])
        xw = ctx.emit("Add", [xw, ctx.add_const("lstm_bias", bias)])
    wh = ctx.add_const("lstm_wh", _stacked(w, w.wh))
    sizes = ctx.int64s([n_cell] * len(w.gates))
    peephole = {g: ctx.add_const(f"lstm_peephole_{g}", p) for g, p in w.peephole.items()}
    outputs: list[str] = [""] * steps
    for t in reversed(range(steps)) if reverse else range(steps):
        xt = ctx.emit("Gather", [xw, ctx.add_const("t", np.array(t, np.int64))], axis=0)
        z = ctx.emit("Add", [xt, ctx.emit("MatMul", [h, wh])])
        names = [ctx.fresh(f"lstm_{g}_gate") for g in w.gates]
        ctx.emit("Split", [z, sizes], names, axis=1)
        pre = dict(zip(w.gates, names))

        def gate(name: str, cell: str, pre: dict[str, str] = pre) -> str:
            value = pre[name]
            if name in peephole:
                value = ctx.emit("Add", [value, ctx.emit("Mul", [peephole[name], cell])])
            if w.norm:
                value = _normalise(ctx, value, w.norm[name], w.bias[name])
            if name == "cell":
                return activation(ctx, value, opts.activation)
            return ctx.emit("Sigmoid", [value])

        forget = gate("forget", c)
        if "input" in w.gates:
            input_gate = gate("input", c)
        else:  # CIFG: the input gate is 1 - forget
            input_gate = ctx.emit("Sub", [ctx.scalar(1.0), forget])
        cell_gate = gate("cell", c)
        c = ctx.emit(
            "Add", [ctx.emit("Mul", [forget, c]), ctx.emit("Mul", [cell_gate, input_gate])]
        )
        c = _clip(ctx, c, opts.cell_clip)
        out = ctx.emit("Mul", [gate("output", c), activation(ctx, c, opts.activation)])
        if w.projection is not None:
            out = ctx.emit("MatMul", [out, ctx.add_const("lstm_proj", w.projection.T.copy())])
            if w.projection_bias is not None:
                out = ctx.emit("Add", [out, ctx.add_const("lstm_proj_bias", w.projection_bias)])
            out = _clip(ctx, out, opts.proj_clip)
        h = out
        outputs[t] = out
    return outputs, h, c


def sequence_input(ctx: Context, op: Operator, time_major: bool) -> tuple[str, int, int]:
    """The float32 rank-3 input's name and its static T and B."""
    t = ctx.tensor(op.inputs[0])
    if t.dtype != "float32":
        raise Unsupported(f"its input is {t.dtype} (only float32 sequence ops are imported)")
    if len(t.shape) != 3:
        raise Unsupported(f"its input has rank {len(t.shape)}, not 3")
    dims = t.shape_signature if t.shape_signature is not None else t.shape
    axis = 0 if time_major else 1
    if dims[axis] < 0:
        raise Unsupported("its input's time dimension is dynamic")
    return ctx.name(op.inputs[0]), int(t.shape[axis]), int(t.shape[1 - axis])


def to_time_major(ctx: Context, x: str, time_major: bool) -> str:
    return x if time_major else ctx.emit("Transpose", [x], perm=[1, 0, 2])


def stack(ctx: Context, outputs: list[str], target: str, time_major: bool) -> None:
    """Per-step [B, n] outputs -> target [T, B, n] (time major) or [B, T, n]."""
    axis = 0 if time_major else 1
    axes = ctx.int64s([axis])
    ctx.emit("Concat", [ctx.emit("Unsqueeze", [o, axes]) for o in outputs], [target], axis=axis)


def state_input(ctx: Context, op: Operator, k: int, shape: tuple[int, int], what: str) -> str:
    index = op.inputs[k] if k < len(op.inputs) else -1
    if index < 0:
        raise Unsupported(f"it has no {what} tensor")
    if tuple(ctx.tensor(index).shape) != shape:
        raise Unsupported(f"its {what} has shape {ctx.tensor(index).shape}, expected {shape}")
    return ctx.name(index)


def _options(op: Operator) -> Options:
    o = op.options
    return Options(
        int(o.get("fused_activation_function", 0)),
        float(o.get("cell_clip", 0.0)),
        float(o.get("proj_clip", 0.0)),
    )


def _direction(
    ctx: Context, op: Operator, base: int, norm: int | None, batch: int, states: tuple[int, int]
) -> tuple[Weights, str, str]:
    """One direction's weights and its (output, cell) state inputs."""
    w = lstm_weights(ctx, op, base, norm)
    n_cell = w.bias[w.gates[-1]].shape[0]
    n_output = w.projection.shape[0] if w.projection is not None else n_cell
    h = state_input(ctx, op, states[0], (batch, n_output), "output state")
    c = state_input(ctx, op, states[1], (batch, n_cell), "cell state")
    return w, h, c


def _keep(ctx: Context, op: Operator, states: tuple[int, int], h: str, c: str) -> None:
    update_variable_tensor(ctx, op.inputs[states[0]], h)
    update_variable_tensor(ctx, op.inputs[states[1]], c)


def unidirectional_sequence_lstm(ctx: Context, op: Operator) -> None:
    if op.options.get("diagonal_recurrent_tensors"):
        raise Unsupported("diagonal recurrent weights are not imported")
    time_major = bool(op.options.get("time_major", False))
    x, steps, batch = sequence_input(ctx, op, time_major)
    norm = 20 if len(op.inputs) > 20 else None
    w, h, c = _direction(ctx, op, 1, norm, batch, (18, 19))
    opts, target = _options(op), ctx.names[op.outputs[0]]
    if fits_onnx_lstm([w], opts):
        y, (h,), (c,) = onnx_lstm(ctx, [w], x, [h], [c], time_major)
        ctx.emit("Squeeze", [y, ctx.int64s([1 if time_major else 2])], [target])
    else:
        outputs, h, c = unroll_lstm(ctx, w, to_time_major(ctx, x, time_major), steps, h, c, opts)
        stack(ctx, outputs, target, time_major)
    _keep(ctx, op, (18, 19), h, c)


def lstm(ctx: Context, op: Operator) -> None:
    """LSTM, the one-step kernel (lstm.cc, kernel_type FULL): x [B, n_input] -> the new output
    state [B, n_output]; the inputs, maths and kept states of one UNIDIRECTIONAL_SEQUENCE_LSTM
    step."""
    if int(op.options.get("kernel_type", 0)) != 0:
        raise Unsupported("the BASIC kernel type is not imported")
    if len(op.outputs) != 1:
        raise Unsupported(f"{len(op.outputs)} outputs (only the one-output form is imported)")
    t = ctx.tensor(op.inputs[0])
    if t.dtype != "float32" or len(t.shape) != 2:
        raise Unsupported(f"its input is {t.dtype} of rank {len(t.shape)}, not float32 [B, n]")
    x = ctx.emit("Unsqueeze", [ctx.name(op.inputs[0]), ctx.int64s([0])])  # [1, B, n_input]
    norm = 20 if len(op.inputs) > 20 else None
    w, h, c = _direction(ctx, op, 1, norm, int(t.shape[0]), (18, 19))
    opts = _options(op)
    if fits_onnx_lstm([w], opts):
        _, (h,), (c,) = onnx_lstm(ctx, [w], x, [h], [c], time_major=True)
    else:
        _, h, c = unroll_lstm(ctx, w, x, 1, h, c, opts)
    ctx.emit("Identity", [h], [ctx.names[op.outputs[0]]])
    _keep(ctx, op, (18, 19), h, c)


def bidirectional_sequence_lstm(ctx: Context, op: Operator) -> None:
    """Forward weights from input 1, backward from 18, states 35-38; the backward direction runs
    from the last step to the first and writes each output at its own step."""
    if len(op.inputs) > 39 and op.inputs[39] >= 0:
        raise Unsupported("its auxiliary input is not imported")
    time_major = bool(op.options.get("time_major", True))
    x, steps, batch = sequence_input(ctx, op, time_major)
    fw, fh, fc = _direction(ctx, op, 1, None, batch, (35, 36))
    bw, bh, bc = _direction(ctx, op, 18, None, batch, (37, 38))
    opts, merge = _options(op), bool(op.options.get("merge_outputs"))
    targets = [ctx.names[o] for o in op.outputs[: 1 if merge else 2]]
    if fits_onnx_lstm([fw, bw], opts):
        y, (fh, bh), (fc, bc) = onnx_lstm(ctx, [fw, bw], x, [fh, bh], [fc, bc], time_major)
        if merge:  # [T, 2, B, H] -> [T, B, 2H]; batch major [B, T, 2, H] -> [B, T, 2H]
            if time_major:
                y = ctx.emit("Transpose", [y], perm=[0, 2, 1, 3])
            ctx.emit("Reshape", [y, ctx.int64s([0, 0, -1])], targets)
        else:
            for k, target in enumerate(targets):
                index = ctx.add_const("direction", np.array(k, np.int64))
                ctx.emit("Gather", [y, index], [target], axis=1 if time_major else 2)
    else:
        xt = to_time_major(ctx, x, time_major)
        fw_out, fh, fc = unroll_lstm(ctx, fw, xt, steps, fh, fc, opts)
        bw_out, bh, bc = unroll_lstm(ctx, bw, xt, steps, bh, bc, opts, reverse=True)
        if merge:
            merged = [ctx.emit("Concat", [f, b], axis=-1) for f, b in zip(fw_out, bw_out)]
            stack(ctx, merged, targets[0], time_major)
        else:
            stack(ctx, fw_out, targets[0], time_major)
            stack(ctx, bw_out, targets[1], time_major)
    _keep(ctx, op, (35, 36), fh, fc)
    _keep(ctx, op, (37, 38), bh, bc)


CONVERTERS: dict[str, Converter] = {  # optional inputs may be -1; the states are checked
    "UNIDIRECTIONAL_SEQUENCE_LSTM": arity(20, required=(0,))(unidirectional_sequence_lstm),
    "LSTM": arity(20, required=(0,))(lstm),
    "BIDIRECTIONAL_SEQUENCE_LSTM": arity(39, 1, (0,))(bidirectional_sequence_lstm),
}
