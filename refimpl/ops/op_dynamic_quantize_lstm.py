"""DynamicQuantizeLSTM (com.microsoft): ONNX LSTM whose two matrix products use 8-bit weights
(W [D, I, 4H] and R [D, H, 4H], per-tensor [D] or per-column [D, 4H] scales and zero points) and
operands quantised on the fly to uint8 as DynamicQuantizeLinear does: X once per direction over
the steps some batch item reads (max(sequence_lens)), H once per step over the whole batch.
Products are exact in int32 and scaled in float32.

onnxruntime computes the same products, but its gates use approximations of sigmoid and tanh
(float outputs agree to about 1e-6), it uses only the first zero point of each weight (it
requires them equal), with more than one thread it splits the batch and quantises H per
slice, and with sequence_lens it quantises the H of finished batch items as zeros when Y is an
output (here they keep their last state, as in LSTM). Its x86 uint8 x int8 products saturate
pairs at int16 (vpmaddubsw) unless the int8 weights stay within +-63; the reference is exact."""

from functools import partial

import numpy as np

from ..errors import OpArgumentError
from ..registry import reference_op
from ._qlinear import F32
from ._quant_lstm import lstm_cell, project, steps_read, weight_params
from ._recurrent import RecurrentAttrs, num_directions, run_recurrent


@reference_op("DynamicQuantizeLSTM", since=1, domain="com.microsoft", dtypes={"float32"})
def dynamic_quantize_lstm_1(
    x: np.ndarray,
    w: np.ndarray,
    r: np.ndarray,
    b: np.ndarray | None,
    sequence_lens: np.ndarray | None,
    initial_h: np.ndarray | None,
    initial_c: np.ndarray | None,
    p: np.ndarray | None,
    w_scale: np.ndarray,
    w_zero_point: np.ndarray,
    r_scale: np.ndarray,
    r_zero_point: np.ndarray,
    *,
    activation_alpha: list[float] | None = None,
    activation_beta: list[float] | None = None,
    activations: list[str] | None = None,
    clip: float | None = None,
    direction: str = "forward",
    hidden_size: int | None = None,
    input_forget: int = 0,
) -> tuple[np.ndarray, ...]:
    """LSTM with X·W and H·R replaced by float32(DynamicQuantizeLinear products in int32) * scales;
    outputs Y, Y_h, Y_c"""
    dirs = num_directions(direction)
    if w.ndim != 3 or r.ndim != 3 or w.shape[0] != dirs or r.shape[0] != dirs:
        raise OpArgumentError(f"W {list(w.shape)} and R {list(r.shape)} must be [{dirs}, *, 4H]")
    gates = r.shape[2]
    if p is not None and p.shape != (dirs, 3 * (gates // 4)):
        raise OpArgumentError(f"P has shape {list(p.shape)}, expected {[dirs, 3 * (gates // 4)]}")
    w_q = weight_params(w_scale, w_zero_point, dirs, gates, "W")
    r_q = weight_params(r_scale, r_zero_point, dirs, gates, "R")
    attrs = RecurrentAttrs(
        activation_alpha, activation_beta, activations, clip, direction, hidden_size, 0
    )
    return run_recurrent(
        x.astype(F32),
        np.swapaxes(w, 1, 2),  # the ONNX LSTM layout [D, 4H, I] the driver checks
        np.swapaxes(r, 1, 2),
        b,
        sequence_lens,
        [initial_h, initial_c],
        attrs,
        gates=4,
        default_activations=["Sigmoid", "Tanh", "Tanh"],
        make_cell=partial(lstm_cell, r=r, r_q=r_q, p=p, input_forget=input_forget),
        project=partial(project, w=w, w_q=w_q, steps=steps_read(x, sequence_lens)),
    )
