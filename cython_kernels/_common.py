"""Helpers shared by the kernel modules: thread count, scratch buffers, epilogues, predicates."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from ..plugins.run_context import current_threads
from ..refimpl.ir import Node, Value

F32 = np.float32
INF = float("inf")
# The activations the GEMM/conv epilogue computes, as (lo, hi) clip bounds; others are declined.
EPILOGUE_ACTIVATIONS = ("", "Relu", "Clip")

_scratch = threading.local()


def threads() -> int:
    """OpenMP threads for this run (the Session's `threads=`, else this process's cores)."""
    return current_threads()


def scratch(size: int) -> np.ndarray:
    """A float32 work buffer of `size` elements, reused by every kernel on this Python thread (so
    packing does not allocate and page-fault on each call). Valid until the next scratch() call."""
    buf = getattr(_scratch, "buf", None)
    if buf is None or buf.size < size:
        buf = np.empty(max(size, 1 << 16), F32)
        _scratch.buf = buf
    return buf[:size]


def epilogue_bounds(activation: str, params: Sequence[float] | None) -> tuple[float, float, bool]:
    """(lo, hi, clip) for a fused activation the epilogue supports (see EPILOGUE_ACTIVATIONS)."""
    if activation == "":
        return -INF, INF, False
    if activation == "Relu":
        return 0.0, INF, True
    lo, hi = (float(v) for v in params) if params else (-INF, INF)
    return float(F32(lo)), float(F32(hi)), True  # the reference rounds the bounds to float32


def fused_activation_refusal(node: Node) -> str | None:
    """Why a gossamer::Fused* node's activation cannot run in the epilogue, or None."""
    activation = str(node.attrs.get("activation", ""))
    if activation not in EPILOGUE_ACTIVATIONS:
        return f"fused activation {activation} not in the epilogue (Relu, Clip only)"
    params = node.attrs.get("activation_params")
    if activation == "Clip" and params and len(params) != 2:
        return "Clip activation_params must be [min, max]"
    if activation != "Clip" and params:
        return f"{activation} takes no activation_params"
    return None


def known_shape(value: Value | None) -> tuple[int, ...] | None:
    """The value's shape if every dim is a known int, else None."""
    if value is None or value.shape is None or any(not isinstance(d, int) for d in value.shape):
        return None
    return tuple(value.shape)


def all_float32(inputs: Sequence[Value | None]) -> str | None:
    """None if every present input is float32, else the reason."""
    for i, v in enumerate(inputs):
        if v is not None and v.dtype != "float32":
            return f"input {i} is {v.dtype} (float32 only)"
    return None


def contiguous(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x, dtype=F32)
