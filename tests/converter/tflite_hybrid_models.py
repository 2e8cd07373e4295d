"""Writes hybrid (dynamic-range quantised) UNIDIRECTIONAL_SEQUENCE_LSTM models: float input and
states, int8 symmetric per-tensor weights (in [-127, 127], as TFLite's quantiser writes them),
float biases; for tests/converter/test_tflite_hybrid_lstm.py."""

from __future__ import annotations

import numpy as np

from tests.converter.tflite_models import Op, Spec, T, build_model

FLOAT32, INT8 = 0, 9
UNIDIRECTIONAL_SEQUENCE_LSTM = 44
X, Y = "serving_default_x:0", "StatefulPartitionedCall:0"


def hybrid_lstm(*, n_in: int = 5, n_cell: int = 6, n_proj: int = 0, batch: int = 2,
                steps: int = 4, time_major: bool = False, cifg: bool = False,
                peephole: bool = False, asymmetric: bool = False, cell_clip: float = 0.0,
                proj_clip: float = 0.0, activation: int = 4, seed: int = 0) -> bytes:  # fmt: skip
    rng = np.random.default_rng(seed)
    tensors: list[T] = []

    def add(t: T) -> int:
        tensors.append(t)
        return len(tensors) - 1

    def int8(name: str, *shape: int) -> int:
        data = rng.integers(-127, 128, shape).astype(np.int8)
        return add(T(name, INT8, shape, data, (float(rng.uniform(0.002, 0.01)),), (0,)))

    def floats(name: str, *shape: int) -> int:
        return add(T(name, FLOAT32, shape, (rng.standard_normal(shape) * 0.3).astype(np.float32)))

    n_out = n_proj or n_cell
    x = add(T(X, FLOAT32, (steps, batch, n_in) if time_major else (batch, steps, n_in)))
    gates = ("input", "forget", "cell", "output")
    inputs = [x]
    inputs += [-1 if cifg and g == "input" else int8(f"wx_{g}", n_cell, n_in) for g in gates]
    inputs += [-1 if cifg and g == "input" else int8(f"wh_{g}", n_cell, n_out) for g in gates]
    inputs += [int8(f"peep_{g}", n_cell) if peephole and not (cifg and g == "input") else -1
               for g in ("input", "forget", "output")]  # fmt: skip
    inputs += [-1 if cifg and g == "input" else floats(f"b_{g}", n_cell) for g in gates]
    inputs.append(int8("proj", n_out, n_cell) if n_proj else -1)
    inputs.append(floats("proj_b", n_out) if n_proj else -1)
    inputs.append(add(T("output_state", FLOAT32, (batch, n_out), variable=True)))
    inputs.append(add(T("cell_state", FLOAT32, (batch, n_cell), variable=True)))
    out_shape = (steps, batch, n_out) if time_major else (batch, steps, n_out)
    y = add(T(Y, FLOAT32, out_shape))
    options = ("UnidirectionalSequenceLSTMOptions", {
        "fused_activation_function": activation, "cell_clip": cell_clip, "proj_clip": proj_clip,
        "time_major": time_major, "asymmetric_quantize_inputs": asymmetric,
    })  # fmt: skip
    op = Op(UNIDIRECTIONAL_SEQUENCE_LSTM, inputs, [y], options)
    return build_model(Spec(tensors, [op], [x], [y]))
