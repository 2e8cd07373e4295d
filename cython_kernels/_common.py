"""Helpers shared by the kernel modules: thread count, scratch buffers, epilogues, predicates."""

from __future__ import annotations

import math
import threading
import weakref
from collections.abc import Sequence

import numpy as np

from ..plugins.run_context import check_allocation, current_threads
from ..refimpl.ir import Node, Value
from ..refimpl.op_geometry import Window

F32 = np.float32
INF = float("inf")
# The activations the GEMM/conv epilogue computes, as (lo, hi) clip bounds; others are declined.
EPILOGUE_ACTIVATIONS = ("", "Relu", "Clip")

_scratch = threading.local()
# every live scratch() buffer (by id): segments.py gives each plan its own copy of these
SCRATCH_BUFFERS: weakref.WeakValueDictionary[int, np.ndarray] = weakref.WeakValueDictionary()


_team = [1]  # the most threads the kernels' pool was started for so far


def threads() -> int:
    """Threads for this run's kernels (the Session's `threads=`, else this process's cores). The
    first time this many are asked for, the thread pool's workers are started (src/threads.c),
    so that the first run does not pay for creating them."""
    t = current_threads()
    if t > _team[0]:
        _team[0] = t
        from ._native import ext

        ext().threads_start(t)
    return t


def aligned_empty(size: int, dtype: type = F32) -> np.ndarray:
    """An uninitialised 1-D array of `size` elements starting on a 64-byte boundary. numpy
    aligns its buffers to 16 bytes only: a packed weight panel the kernels stream with 64-byte
    vector loads would then cross a cache line on every load (the LSTM's packed recurrent
    weights at a 16- or 48-byte offset: 1.45x the time per run)."""
    nbytes = size * np.dtype(dtype).itemsize
    raw = np.empty(nbytes + 64, np.uint8)
    start = (-raw.ctypes.data) % 64
    return raw[start : start + nbytes].view(dtype)


def scratch(size: int) -> np.ndarray:
    """A float32 work buffer of `size` elements, reused by every kernel on this Python thread (so
    packing does not allocate and page-fault on each call). Valid until the next scratch() call."""
    buf = getattr(_scratch, "buf", None)
    if buf is None or buf.size < size:
        check_allocation(4 * int(size), f"a cython kernel's work buffer of {size} floats")
        buf = np.empty(max(size, 1 << 16), F32)
        _scratch.buf = buf
        SCRATCH_BUFFERS[id(buf)] = buf
    return buf[:size]


# The C window kernels index planes with int64 arithmetic and size their work buffers from the
# geometry; beyond these bounds a window is declined (the reference runs it) long before any
# product of them could overflow or a buffer grow without bound.
MAX_WINDOW_TAPS = 1 << 16
MAX_WINDOW_STEP = 1 << 20


def window_refusal(spatial: Sequence[int], win: Window) -> str | None:
    """Why the C window kernels must not run this geometry (None: they may)."""
    if math.prod(win.kernel) > MAX_WINDOW_TAPS:
        return f"a window of {list(win.kernel)} taps (over {MAX_WINDOW_TAPS})"
    steps = (*win.strides, *win.dilations, *win.pads_begin, *win.pads_end)
    if max(steps) > MAX_WINDOW_STEP:
        return f"a stride, dilation or pad over {MAX_WINDOW_STEP}"
    return None


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


# Fused activations the conv kernels run: the epilogue ones in the GEMM, the rest as one in-place
# pass over the result (unary op codes of gk_unary in src/elementwise.h; PRelu through gk_binary).
UNARY_OPS = {"Relu": 0, "Clip": 1, "Sigmoid": 2, "Tanh": 3, "Erf": 4, "Gelu": 5, "GeluTanh": 6,
             "Swish": 7, "HardSigmoid": 8, "HardSwish": 9, "LeakyRelu": 10, "Sqrt": 11,
             "Log": 12, "Pow": 13}  # fmt: skip
PRELU = 4  # gk_binary op code
# activation run after the GEMM -> its number of activation_params
POST_ACTIVATIONS = {"HardSigmoid": 2, "HardSwish": 0, "Sigmoid": 0, "LeakyRelu": 1, "PRelu": 0,
                    "Swish": 1, "Gelu": 0}  # fmt: skip


def conv_activation_refusal(node: Node) -> str | None:
    """Why a gossamer::FusedConv node's activation cannot run here (epilogue or one pass), or
    None."""
    activation = str(node.attrs.get("activation", ""))
    if activation in EPILOGUE_ACTIVATIONS:
        return fused_activation_refusal(node)
    if activation not in POST_ACTIVATIONS:
        return f"fused activation {activation} not supported"
    params = node.attrs.get("activation_params")
    if params and len(params) != POST_ACTIVATIONS[activation]:
        return f"{activation} takes {POST_ACTIVATIONS[activation]} activation_params"
    return None


def post_activation(activation: str, params: Sequence[float] | None):  # type: ignore[no-untyped-def]
    """For an activation outside the epilogue: fn(y, slope) applying it to y in place (None for
    epilogue activations)."""
    from ._native import ext

    if activation in EPILOGUE_ACTIVATIONS:
        return None
    p = [float(v) for v in params] if params else []
    if activation == "PRelu":

        def prelu(y: np.ndarray, slope: np.ndarray | None) -> np.ndarray:
            return apply_prelu(y, slope, out=y)

        return prelu
    defaults = {"HardSigmoid": [0.20000000298023224, 0.5], "LeakyRelu": [0.01], "Swish": [1.0]}
    p = p or defaults.get(activation, [])
    lo, hi = (p + [0.0, 0.0])[:2]
    if activation == "Swish":
        lo = float(F32(lo))  # the reference multiplies by alpha as a float32 array
    op = UNARY_OPS[activation]

    def run(y: np.ndarray, slope: np.ndarray | None) -> np.ndarray:
        flat = y.reshape(-1)
        ext().unary(op, flat, flat, lo, hi, threads())
        return y

    return run


def broadcast_plan(a: tuple[int, ...], b: tuple[int, ...]) -> tuple | str:
    """(swap, outer, mid, inner, bo, bm, bi) running a (op) b as big (op) small[broadcast], or why
    not. The smaller operand's dims collapse into at most three full/broadcast groups."""
    try:
        out = tuple(np.broadcast_shapes(a, b))
    except ValueError:
        return "shapes do not broadcast"
    if tuple(a) == out:
        swap, small = False, b
    elif tuple(b) == out:
        swap, small = True, a
    else:
        return "both operands broadcast"
    s = (1,) * (len(out) - len(small)) + tuple(small)
    groups: list[list[int]] = []  # [is_full, size]
    for so, do in zip(s, out):
        if do == 1:
            continue
        full = int(so == do)
        if groups and groups[-1][0] == full:
            groups[-1][1] *= do
        else:
            groups.append([full, do])
    if len(groups) > 3:
        return "broadcast pattern with more than three alternating groups"
    groups = [[1, 1]] * (3 - len(groups)) + groups
    (fo, o), (fm, m), (fi, i) = groups
    return swap, o, m, i, fo, fm, fi


def apply_prelu(
    x: np.ndarray, slope: np.ndarray | None, out: np.ndarray | None = None
) -> np.ndarray:
    """x < 0 ? x * slope : x with slope broadcasting onto x; RuntimeDecline where the slope's
    shape or dtype is not one the broadcast loops take (the host then runs the reference)."""
    from ..plugins import RuntimeDecline, output_array
    from ._native import ext

    plan = broadcast_plan(x.shape, slope.shape) if slope is not None else "no slope"
    if isinstance(plan, str) or plan[0] or slope is None or slope.dtype != F32:
        why = plan if isinstance(plan, str) else "the slope is larger than the input"
        raise RuntimeDecline(f"PRelu slope {getattr(slope, 'shape', None)} on {x.shape}: {why}")
    _, o, m, i, fo, fm, fi = plan
    y = out if out is not None else output_array(x.shape, F32)
    ext().binary(PRELU, np.ascontiguousarray(x, F32).reshape(-1),
                 np.ascontiguousarray(slope, F32).reshape(-1), y.reshape(-1),
                 o, m, i, fo, fm, fi, False, threads())  # fmt: skip
    return y


def static_shape(value: Value | None) -> tuple[int | None, ...] | None:
    """The value's shape with None for each dim not known before running; None if the rank is
    unknown."""
    if value is None or value.shape is None:
        return None
    return tuple(d if isinstance(d, int) else None for d in value.shape)


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


def float32_or_half(inputs: Sequence[Value | None]) -> str | None:
    """None if every present input is float32, or every one is float16 (a float16 node computes
    in float32 here, from weights converted once, and rounds its output to float16), else the
    reason."""
    kinds = {v.dtype for v in inputs if v is not None}
    if kinds <= {"float32"} or kinds == {"float16"}:
        return None
    return f"inputs are {', '.join(sorted(str(k) for k in kinds))} (all float32 or all float16)"


def half_out(y: np.ndarray, like: np.ndarray) -> np.ndarray:
    """y (float32) rounded to float16 where the node's input `like` is float16."""
    return y.astype(np.float16) if like.dtype == np.float16 else y


def conv_rank_refusal(inputs: Sequence[Value | None], what: str) -> str | None:
    """Why a conv-like node (input 0 the data, input 1 the weight) is not a 1-D or 2-D one this
    backend runs, or None."""
    x, w = static_shape(inputs[0]), static_shape(inputs[1])
    ranks = {len(s) for s in (x, w) if s is not None}
    if not ranks:
        return "ranks of input and weight unknown before running"
    if len(ranks) > 1:
        return "input and weight ranks differ"
    (rank,) = ranks
    if rank not in (3, 4):
        return f"{rank - 2}-D {what} (1-D and 2-D only)"
    return None


def contiguous(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x, dtype=F32)
