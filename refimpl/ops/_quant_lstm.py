"""The quantised products of DynamicQuantizeLSTM: dynamic uint8 quantisation of X and H, int32
products with 8-bit weights, float32 scaling; and the LSTM cell that uses them."""

from __future__ import annotations

import numpy as np

from ..errors import OpArgumentError
from ._qlinear import F32
from ._quant import int_matmul, shifted
from ._recurrent import Cell, Direction
from .op_dynamic_quantize_linear import dynamic_quantize_linear_11


def weight_params(scale: np.ndarray, zp: np.ndarray, dirs: int, n: int, name: str) -> tuple:
    """(scales, zero points) of a weight, each [D, 1] (per tensor) or [D, 4H] (per column)."""
    if scale.shape not in ((dirs,), (dirs, n)) or zp.shape != scale.shape:
        raise OpArgumentError(
            f"{name}_scale {list(scale.shape)} and {name}_zero_point {list(zp.shape)} must both "
            f"be [{dirs}] (per tensor) or [{dirs}, {n}] (per column)"
        )
    return scale.reshape(dirs, -1).astype(F32), zp.reshape(dirs, -1)


def qmatmul(x: np.ndarray, w: np.ndarray, w_scale: np.ndarray, w_zp: np.ndarray) -> np.ndarray:
    """float32((q - zp) @ (w - w_zp)) * (s * w_scale), (q, s, zp) = DynamicQuantizeLinear(x)"""
    q, s, zp = dynamic_quantize_linear_11(x.astype(F32))
    acc = int_matmul(shifted(q, zp), shifted(w, w_zp))
    return acc.astype(F32) * (s * w_scale).astype(F32)


def lstm_cell(
    dn: Direction, r: np.ndarray, r_q: tuple, p: np.ndarray | None, input_forget: int
) -> Cell:
    hidden, d = dn.hidden, dn.index
    peep = np.zeros((3, hidden), F32) if p is None else p[d].astype(F32).reshape(3, hidden)
    p_i, p_o, p_f = peep
    rb, clip, (f, g, h_act) = dn.rb, dn.clip, dn.acts

    def cell(xw: np.ndarray, h: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        hr = qmatmul(h, r[d], r_q[0][d], r_q[1][d])
        pre_i, pre_o, pre_f, pre_c = np.split(xw + hr + rb, 4, axis=1)  # gates i, o, f, c
        i = f(clip(pre_i + p_i * c))
        forget = 1 - i if input_forget else f(clip(pre_f + p_f * c))
        c_new = forget * c + i * g(clip(pre_c))
        o = f(clip(pre_o + p_o * c_new))
        return o * h_act(c_new), c_new

    return cell


def steps_read(x: np.ndarray, sequence_lens: np.ndarray | None) -> int:
    """How many leading steps of X some batch item reads: max(sequence_lens), else all."""
    if sequence_lens is None or sequence_lens.size == 0:
        return x.shape[0]
    return int(np.clip(sequence_lens.max(), 0, x.shape[0]))


def project(xd: np.ndarray, d: int, *, w: np.ndarray, w_q: tuple, steps: int) -> np.ndarray:
    """X · W[d] over the steps read (quantised over those alone); zeros for the steps after."""
    read = qmatmul(xd[:steps], w[d], w_q[0][d], w_q[1][d])
    return np.concatenate([read, np.zeros((xd.shape[0] - steps, *read.shape[1:]), F32)])
