import numpy as np

from ..errors import OpArgumentError
from ..registry import reference_op
from . import _tflite_fixed_point as fp
from . import _tflite_hybrid as hy

CELL_ACTIVATIONS = ("NONE", "RELU", "RELU6", "RELU_N1_TO_1", "TANH")


def _act(v: np.ndarray, kind: str) -> np.ndarray:
    if kind == "TANH":
        return np.tanh(v.astype(np.float64)).astype(np.float32)
    return hy.clamp(v, kind)


def _sigmoid(v: np.ndarray) -> np.ndarray:
    return (1.0 / (1.0 + np.exp(-v.astype(np.float64)))).astype(np.float32)


def _quantized(rows: np.ndarray, asym: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if asym:
        return hy.asymmetric_quantize(rows)
    q, factor = hy.symmetric_quantize(rows)
    return q, factor, np.zeros(rows.shape[0], np.int64)


def _accumulate(gate, quantized, w, w_scale) -> np.ndarray:
    """gate += float32(sum w (q - zp)) * float32(s * w_scale): one MatrixBatchVectorMultiply-
    Accumulate of the hybrid kernels (the row sums times the zero point taken off in int32)."""
    q, factor, zp = quantized
    acc = fp.int_dot(q, w.T) - np.asarray(w, np.int64).sum(axis=1)[None, :] * zp[:, None]
    scale = (factor * np.float32(w_scale)).astype(np.float32)[:, None]
    return (gate + (fp.wrap_int32(acc).astype(np.float32) * scale).astype(np.float32)).astype(
        np.float32
    )


@reference_op("HybridSequenceLSTM", since=1, domain="tflite", dtypes={"float32"})
def tfl_hybrid_sequence_lstm_1(
    x: np.ndarray,
    h0: np.ndarray,
    c0: np.ndarray,
    wx: np.ndarray,
    wx_scale: np.ndarray,
    wh: np.ndarray,
    wh_scale: np.ndarray,
    bias: np.ndarray,
    peephole: np.ndarray | None = None,
    peephole_scale: np.ndarray | None = None,
    projection: np.ndarray | None = None,
    projection_scale: np.ndarray | None = None,
    projection_bias: np.ndarray | None = None,
    *,
    activation: str = "TANH",
    cell_clip: float = 0.0,
    proj_clip: float = 0.0,
    asymmetric_quantize_inputs: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """LiteRT's hybrid LSTM (LstmStepHybrid) over time-major x [T, B, I]: per step, x and h
    quantised per batch row (skipped when all zero), each gate bias + Wx q_x + Wh q_h (+ peephole
    w_c c) in int32 scaled back to float32; gates (i, f, c, o) or CIFG (f, c, o: i = 1 - f);
    sigmoid gates, the cell gate and output through `activation`; c = f c + i g clipped;
    h = o act(c), projected (quantised again) and clipped; returns (y [T, B, O], h, c)"""
    gates = wx.shape[0]
    if x.ndim != 3 or wx.ndim != 3 or wh.ndim != 3 or gates not in (3, 4) or wx.dtype != np.int8:
        raise OpArgumentError(
            f"tflite::HybridSequenceLSTM needs x [T, B, I] and int8 [G, N, I] / [G, N, O] gate "
            f"weights (G = 4, or 3 with CIFG), got {list(x.shape)}, {list(wx.shape)}"
        )
    if activation not in CELL_ACTIVATIONS:
        raise OpArgumentError(f"unknown LSTM activation {activation!r}")
    names = ("input", "forget", "cell", "output")[4 - gates :]
    ws = dict(zip(names, zip(wx, np.asarray(wx_scale, np.float32).reshape(-1), strict=True)))
    hs = dict(zip(names, zip(wh, np.asarray(wh_scale, np.float32).reshape(-1), strict=True)))
    biases = dict(zip(names, np.asarray(bias, np.float32).reshape(gates, -1)))
    peep: dict[str, np.ndarray] = {}
    if peephole is not None:
        p_names = ("input", "forget", "output")[3 - peephole.shape[0] :]
        p_scales = np.asarray(peephole_scale, np.float32).reshape(-1)
        for k, name in enumerate(p_names):
            peep[name] = (p_scales[k] * peephole[k].astype(np.float32)).astype(np.float32)
    h, c = np.asarray(h0, np.float32).copy(), np.asarray(c0, np.float32).copy()
    outputs = []
    for t in range(x.shape[0]):
        xt = np.asarray(x[t], np.float32)
        qx = None if not np.any(xt) else _quantized(xt, asymmetric_quantize_inputs)
        qh = None if not np.any(h) else _quantized(h, asymmetric_quantize_inputs)

        def gate(name: str, cell: np.ndarray, qx=qx, qh=qh) -> np.ndarray:
            value = np.broadcast_to(biases[name], cell.shape).astype(np.float32)
            if qx is not None:
                value = _accumulate(value, qx, *ws[name])
            if qh is not None:
                value = _accumulate(value, qh, *hs[name])
            if name in peep:
                value = (value + (peep[name] * cell).astype(np.float32)).astype(np.float32)
            return _act(value, activation) if name == "cell" else _sigmoid(value)

        forget = gate("forget", c)
        input_gate = gate("input", c) if "input" in names else None
        cell_gate = gate("cell", c)
        c = (forget * c).astype(np.float32)
        if input_gate is None:
            input_gate = (np.float32(1) - forget).astype(np.float32)
        c = (c + (cell_gate * input_gate).astype(np.float32)).astype(np.float32)
        if cell_clip > 0:
            c = np.clip(c, np.float32(-cell_clip), np.float32(cell_clip))
        out = (gate("output", c) * _act(c, activation)).astype(np.float32)
        if projection is not None:
            proj = np.zeros((out.shape[0], projection.shape[0]), np.float32)
            if projection_bias is not None:
                proj = proj + np.asarray(projection_bias, np.float32)
            if np.any(out):
                scale = np.float32(np.asarray(projection_scale, np.float32).reshape(-1)[0])
                proj = _accumulate(proj, _quantized(out, asymmetric_quantize_inputs),
                                   projection, scale)  # fmt: skip
            if proj_clip > 0:
                proj = np.clip(proj, np.float32(-proj_clip), np.float32(proj_clip))
            out = proj.astype(np.float32)
        h = out
        outputs.append(h)
    y = np.stack(outputs) if outputs else np.zeros((0, *h.shape), np.float32)
    return y, h, c
