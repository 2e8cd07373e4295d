"""LSTM and GRU (float32): the input projection of all steps as one GEMM, then the recurrence in C.

prepare() packs each node's weights once: W of every direction as one GEMM right operand, so
X W^T + Wb + Rb for all steps and directions is one packed GEMM with the biases in its epilogue,
and R of each direction in 16-unit panels for the recurrence (src/rnn.c: per step a GEMV over
each thread's own panels fused with the gates and the state update, all steps in one thread-pool
call). Runs both layouts, all directions, sequence_lens, initial states, peepholes, clip,
input_forget and linear_before_reset; declines activation lists other than the defaults. A call
outside the op's contract (shapes, sequence_lens out of range) raises RuntimeDecline, so the
reference runs it and reports the error.

The kernels are traceable (segments.py): with constant weights, no sequence_lens and contiguous
float32 X and states, a call is the GEMM and the recurrence, both recorded C calls, so an LSTM
step replays inside its segment; a call that packs weights given as values, reads
sequence_lens or copies an input says so (segments.numpy_work) and runs outside segments.

Two tables (LstmKernels, GruKernels), each importing its reference op when first accessed
(lazy_tables.tables_on_access): an LSTM model does not import GRU's reference module.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..plugins import RuntimeDecline, kernel, output_array
from ..plugins.backend import Kernel
from ..refimpl.ir import Node, Value
from ._common import F32, aligned_empty, all_float32, scratch, threads
from ._native import ext
from .gemm_kernels import make_epilogue, pack_weights
from .lazy_tables import tables_on_access
from .prepacked import packed_form
from .segments import numpy_work, traceable

Array = np.ndarray
INF = float("inf")
GATES = {"LSTM": 4, "GRU": 3}
DEFAULT_ACTIVATIONS = {"LSTM": ["sigmoid", "tanh", "tanh"], "GRU": ["sigmoid", "tanh"]}
DIRECTIONS = {"forward": 1, "reverse": 1, "bidirectional": 2}


def _text(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def _rnn_refusal(node: Node, inputs: list[Value | None]) -> str | None:
    bad = all_float32([v if i != 4 else None for i, v in enumerate(inputs)])
    if bad:
        return bad
    a = node.attrs
    direction = _text(a.get("direction", "forward"))
    if direction not in DIRECTIONS:
        return f"direction {direction!r}"
    if a.get("layout", 0) not in (0, 1):
        return f"layout {a.get('layout')}"
    if a.get("clip") is not None and not float(a["clip"]) > 0:
        return "clip must be positive"
    if a.get("hidden_size") is not None and int(a["hidden_size"]) <= 0:
        return "hidden_size below 1"
    names = [_text(n).lower() for n in a.get("activations") or []]
    default = DEFAULT_ACTIVATIONS[node.op_type]
    if names and names not in (default, default * DIRECTIONS[direction]):
        return (
            f"activations {[_text(n) for n in a['activations']]}: only the defaults "
            f"({', '.join(default)}) run here"
        )
    return None


class _Weights:
    """One node's weights, packed: W of all directions for the GEMM, R in panels per direction
    (a plain class: a dataclass costs ~1 ms to define, on a first load's path)."""

    __slots__ = ("hidden", "inputs", "packed_w", "ep", "bias_col", "rp", "rh", "extra")

    def __init__(
        self, hidden: int, inputs: int, packed_w: Array | None, ep: Any, bias_col: Array,
        rp: Array, rh: Array, extra: Array,
    ) -> None:  # fmt: skip
        self.hidden = hidden
        self.inputs = inputs
        self.packed_w = packed_w  # [I, D*G*H] packed (None when I = 0)
        self.ep = ep  # epilogue adding bias_col
        self.bias_col = bias_col  # Wb + Rb per direction and gate (GRU linear_before_reset: Wb)
        self.rp = rp  # LSTM: packed R (4 gates) per direction; GRU: packed R of gates z, r
        self.rh = rh  # GRU: packed R of gate h per direction (LSTM: unused)
        self.extra = extra  # LSTM: peepholes [D, 3H] (zeros if none); GRU: R bias of gate h [D, H]


class _Layer:
    """One LSTM/GRU node, prepared (weights packed here when they are constants)."""

    def __init__(self, node: Node, constants: dict[int, Array]) -> None:
        a = node.attrs
        self.op = node.op_type
        self.gates = GATES[self.op]
        direction = _text(a.get("direction", "forward"))
        self.dirs, self.reverse = DIRECTIONS[direction], direction == "reverse"
        self.hidden_size = None if a.get("hidden_size") is None else int(a["hidden_size"])
        clip = a.get("clip")
        self.lo, self.hi = (-INF, INF) if clip is None else (-float(F32(clip)), float(F32(clip)))
        self.input_forget = int(a.get("input_forget", 0))
        self.lbr = int(a.get("linear_before_reset", 0))
        self.wants = [bool(o) for o in node.outputs] + [False] * 3
        names = list(node.inputs) + [""] * 8
        p_index = 7 if self.op == "LSTM" else None
        fixed = 1 in constants and 2 in constants and (not names[3] or 3 in constants)
        if p_index is not None and names[p_index]:
            fixed = fixed and p_index in constants
        self.fixed: _Weights | None = None
        # weights given as values: the last ones (copies) and their packed form, reused while a
        # run hands the same values again (a gate reorder Slice -> Concat of a weight that
        # constant folding kept: comparing costs a fraction of packing)
        self.last: tuple[tuple[Array | None, ...], _Weights] | None = None
        if fixed:
            try:
                self.fixed = self.weights(
                    constants[1], constants[2], constants.get(3),
                    constants.get(p_index) if p_index else None, const=True,
                )  # fmt: skip
            except RuntimeDecline:
                self.fixed = None  # every call declines, and the reference names the error

    def weights(
        self, w: Array, r: Array, b: Array | None, p: Array | None, const: bool = False
    ) -> _Weights:
        """The packed weights; `const`: w and r are the node's constants (pre-packed forms of
        them are used where a file has them)."""
        d, g = self.dirs, self.gates
        if any(v is not None and v.dtype != F32 for v in (w, r, b, p)):
            raise RuntimeDecline("weights other than float32")
        h = self.hidden_size if self.hidden_size is not None else (r.shape[-1] if r.ndim else 0)
        if w.ndim != 3 or w.shape[:2] != (d, g * h) or r.shape != (d, g * h, h) or h < 1:
            raise RuntimeDecline(f"W {list(w.shape)} / R {list(r.shape)} do not fit the node")
        if b is not None and b.shape != (d, 2 * g * h):
            raise RuntimeDecline(f"B {list(b.shape)} does not fit the node")
        if p is not None and p.shape != (d, 3 * h):
            raise RuntimeDecline(f"P {list(p.shape)} does not fit the node")
        n_in = w.shape[2]
        w_all = np.ascontiguousarray(w, F32).reshape(d * g * h, n_in)
        w_src, r_src = (w, r) if const else (None, None)
        packed_w = None
        if n_in:
            packed_w = packed_form(
                w_src, "rnn.pack_w", {"rows": d * g * h, "k": n_in},
                (ext().packed_b_size(n_in, d * g * h),), lambda: pack_weights(w_all.T),
            )  # fmt: skip
        bias = np.zeros((d, 2, g * h), F32) if b is None else np.asarray(b, F32).reshape(d, 2, -1)
        col = bias[:, 0] + bias[:, 1]
        r = np.ascontiguousarray(r, F32)
        if self.op == "LSTM":
            size = ext().rnn_packed_size(4, h)

            def pack_lstm() -> Array:
                out = aligned_empty(d * size)
                for k in range(d):
                    ext().rnn_pack(r[k], 4, h, out[k * size : (k + 1) * size])
                return out

            rp = packed_form(r_src, "rnn.pack_r", {"gates": 4, "d": d, "h": h}, (d * size,),
                             pack_lstm)  # fmt: skip
            rh = np.zeros(1, F32)
            extra = np.zeros((d, 3 * h), F32) if p is None else np.asarray(p, F32)
        else:
            size_zr, size_h = ext().rnn_packed_size(2, h), ext().rnn_packed_size(1, h)

            def pack_gru(gates: int, size: int, start: int) -> Array:
                out = aligned_empty(d * size)
                for k in range(d):
                    ext().rnn_pack(r[k, start:], gates, h, out[k * size : (k + 1) * size])
                return out

            rp = packed_form(r_src, "rnn.pack_r", {"gates": 2, "d": d, "h": h}, (d * size_zr,),
                             lambda: pack_gru(2, size_zr, 0))  # fmt: skip
            rh = packed_form(r_src, "rnn.pack_rh", {"gates": 1, "d": d, "h": h}, (d * size_h,),
                             lambda: pack_gru(1, size_h, 2 * h))  # fmt: skip
            extra = np.ascontiguousarray(bias[:, 1, 2 * h :])
            if self.lbr:  # R's h-gate bias is multiplied by r: it stays out of XW
                col[:, 2 * h :] = bias[:, 0, 2 * h :]
        # extra and the GEMM's bias in one buffer: the recorded recurrence call keeps it (a
        # segment replaying the GEMM needs its epilogue's bias to outlive the call)
        n_extra = extra.size
        store = np.empty(n_extra + col.size, F32)
        store[:n_extra] = np.asarray(extra, F32).reshape(-1)
        store[n_extra:] = col.reshape(-1)
        bias_col = store[n_extra:]
        return _Weights(h, n_in, packed_w, make_epilogue(bias_col=bias_col), bias_col, rp, rh,
                        store[:n_extra])  # fmt: skip

    def _weights_of(self, w: Array, r: Array, b: Array | None, p: Array | None) -> _Weights:
        """The packed weights of values w, r, b, p: the last call's when they are equal."""
        given, last = (w, r, b, p), self.last  # (one read: another thread may replace it)
        if last is not None and all(map(_same, given, last[0])):
            return last[1]
        wt = self.weights(w, r, b, p)
        self.last = (tuple(None if a is None else np.array(a) for a in given), wt)
        return wt

    def run(
        self, x: Array, w: Array, r: Array, b: Array | None, seq: Array | None,
        h0: Array | None, c0: Array | None, p: Array | None, layout: int,
    ) -> tuple[Array | None, ...]:  # fmt: skip
        if self.fixed is None:
            numpy_work()  # weights packed per call from values: nothing a replay would repeat
        wt = self.fixed or self._weights_of(w, r, b, p)
        if x.dtype != F32 or x.ndim != 3 or layout not in (0, 1):
            raise RuntimeDecline("X other than a float32 [T, B, I] / [B, T, I] tensor")
        steps, batch = (x.shape[1], x.shape[0]) if layout else x.shape[:2]
        d, h, n = self.dirs, wt.hidden, self.dirs * self.gates * wt.hidden
        if x.shape[2] != wt.inputs:
            raise RuntimeDecline(f"X has {x.shape[2]} features, W {wt.inputs}")
        state = (batch, d, h) if layout else (d, batch, h)
        for s in (h0, c0):
            if s is not None and (s.shape != state or s.dtype != F32):
                raise RuntimeDecline(f"an initial state of shape {list(s.shape)}, not {state}")
        if seq is not None or not _flat_ok(x, h0, c0):
            numpy_work()  # sequence_lens checked by Python, or an input copied
        lens = _lens(seq, batch, steps)
        xw = scratch(steps * batch * n).reshape(steps * batch, n)
        if steps * batch and wt.packed_w is not None:
            x2 = np.ascontiguousarray(x).reshape(-1, wt.inputs)
            # one thread while the recurrence backs off (the other cores are busy: a team would
            # wait at its join for threads the OS has not scheduled)
            ext().gemm_a(x2, wt.packed_w, n, xw, wt.ep, threads() if ext().rnn_team_ok() else 1)
        elif steps * batch:
            numpy_work()
            xw[:] = wt.bias_col
        y_shape = (batch, steps, d, h) if layout else (steps, d, batch, h)
        y = output_array(y_shape, F32, 0) if self.wants[0] else None
        yh = output_array(state, F32, 1) if self.wants[1] else None
        yc = output_array(state, F32, 2) if self.wants[2] and self.op == "LSTM" else None
        args = (xw, steps, batch, h, d, self.reverse, layout, lens, _flat(y), _flat(h0))
        if self.op == "LSTM":
            ext().lstm(*args, _flat(c0), _flat(yh), _flat(yc), wt.rp, wt.extra,
                       self.input_forget, self.lo, self.hi, threads())  # fmt: skip
            return y, yh, yc
        ext().gru(*args, _flat(yh), wt.rp, wt.rh, wt.extra, self.lbr, self.lo, self.hi, threads())
        return y, yh


def _flat(a: Array | None) -> Array | None:
    return None if a is None else np.ascontiguousarray(a, F32).reshape(-1)


def _same(a: Array | None, b: Array | None) -> bool:
    """Whether a and b are both absent or equal in dtype, shape and every value."""
    if a is None or b is None:
        return a is None and b is None
    return a.dtype == b.dtype and a.shape == b.shape and bool(np.array_equal(a, b))


def _flat_ok(*arrays: Array | None) -> bool:
    """Whether _flat / ascontiguousarray of each array is a view (no copy)."""
    return all(a is None or (a.dtype == F32 and a.flags.c_contiguous) for a in arrays)


def _lens(seq: Array | None, batch: int, steps: int) -> Array | None:
    """sequence_lens as int64 (None when every item runs all steps); RuntimeDecline if invalid."""
    if seq is None:
        return None
    if seq.dtype.kind not in "iu" or seq.shape != (batch,):
        raise RuntimeDecline(f"sequence_lens of shape {list(seq.shape)} and dtype {seq.dtype}")
    lens = np.ascontiguousarray(seq, np.int64)
    if (lens < 0).any() or (lens > steps).any():
        raise RuntimeDecline(f"sequence_lens {lens.tolist()} outside [0, {steps}]")
    return None if (lens == steps).all() else lens


def _prepare_lstm_14(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
    layer = _Layer(node, constants)

    def lstm_14(
        x: Array, w: Array, r: Array, b: Array | None = None, sequence_lens: Array | None = None,
        initial_h: Array | None = None, initial_c: Array | None = None, p: Array | None = None,
        *, activation_alpha: list[float] | None = None, activation_beta: list[float] | None = None,
        activations: list[str] | None = None, clip: float | None = None,
        direction: str = "forward", hidden_size: int | None = None, input_forget: int = 0,
        layout: int = 0,
    ) -> tuple[Array | None, ...]:  # fmt: skip
        return layer.run(x, w, r, b, sequence_lens, initial_h, initial_c, p, layout)

    return traceable(lstm_14)


def _prepare_lstm_7(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
    layer = _Layer(node, constants)

    def lstm_7(
        x: Array, w: Array, r: Array, b: Array | None = None, sequence_lens: Array | None = None,
        initial_h: Array | None = None, initial_c: Array | None = None, p: Array | None = None,
        *, activation_alpha: list[float] | None = None, activation_beta: list[float] | None = None,
        activations: list[str] | None = None, clip: float | None = None,
        direction: str = "forward", hidden_size: int | None = None, input_forget: int = 0,
    ) -> tuple[Array | None, ...]:  # fmt: skip
        return layer.run(x, w, r, b, sequence_lens, initial_h, initial_c, p, 0)

    return traceable(lstm_7)


def _prepare_gru_14(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
    layer = _Layer(node, constants)

    def gru_14(
        x: Array, w: Array, r: Array, b: Array | None = None, sequence_lens: Array | None = None,
        initial_h: Array | None = None, *, activation_alpha: list[float] | None = None,
        activation_beta: list[float] | None = None, activations: list[str] | None = None,
        clip: float | None = None, direction: str = "forward", hidden_size: int | None = None,
        layout: int = 0, linear_before_reset: int = 0,
    ) -> tuple[Array | None, ...]:  # fmt: skip
        return layer.run(x, w, r, b, sequence_lens, initial_h, None, None, layout)

    return traceable(gru_14)


def _prepare_gru_7(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
    layer = _Layer(node, constants)

    def gru_7(
        x: Array, w: Array, r: Array, b: Array | None = None, sequence_lens: Array | None = None,
        initial_h: Array | None = None, *, activation_alpha: list[float] | None = None,
        activation_beta: list[float] | None = None, activations: list[str] | None = None,
        clip: float | None = None, direction: str = "forward", hidden_size: int | None = None,
        linear_before_reset: int = 0,
    ) -> tuple[Array | None, ...]:  # fmt: skip
        return layer.run(x, w, r, b, sequence_lens, initial_h, None, None, 0)

    return traceable(gru_7)


def _declare(reference: Callable[..., Any], prepare: Callable[..., Any]) -> Any:
    """A kernel for `reference` (its signature, via __wrapped__) that runs through `prepare`."""

    def stub(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("this kernel runs only through its prepare() hook")

    stub.__wrapped__ = reference  # type: ignore[attr-defined]
    return kernel(reference, dtypes={"float32"}, supports=_rnn_refusal, prepare=prepare)(stub)


# ---- the tables: one per op, built on first access -------------------------------------------


def _lstm() -> dict[str, Kernel]:
    from ..refimpl.ops.op_lstm import lstm_7, lstm_14

    return {
        "lstm_7": _declare(lstm_7, _prepare_lstm_7),
        "lstm_14": _declare(lstm_14, _prepare_lstm_14),
    }


def _gru() -> dict[str, Kernel]:
    from ..refimpl.ops.op_gru import gru_7, gru_14

    return {"gru_7": _declare(gru_7, _prepare_gru_7), "gru_14": _declare(gru_14, _prepare_gru_14)}


__getattr__ = tables_on_access(__name__, {"LstmKernels": _lstm, "GruKernels": _gru})
