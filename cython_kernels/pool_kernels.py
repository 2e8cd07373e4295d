"""MaxPool (8, 10, 12), AveragePool (7, 10, 19) and GlobalAveragePool (float32, 2-D; MaxPool also
uint8/int8, exactly, through float32): the polyphase kernel of src/pool.c (row passes at the
generic SIMD level), with ceil_mode, pads, dilations and count_include_pad as the reference; the
Indices output is declined.

Three tables (MaxPoolKernels, AveragePoolKernels, GlobalAveragePoolKernels), each importing its
reference op when first accessed (lazy_tables.tables_on_access): a model with MaxPool alone
imports neither average pool's reference module.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..plugins import RuntimeDecline, output_array
from ..plugins.backend import Kernel
from ..refimpl.ir import Node, Value
from ..refimpl.op_geometry import window, window_tap_counts
from ._common import F32, all_float32, static_shape, threads, window_refusal
from ._native import ext
from .elementwise_kernels import _as_prepared, _declare
from .lazy_tables import tables_on_access
from .segments import numpy_work

Array = np.ndarray
EIGHT_BIT = ("uint8", "int8")  # MaxPool also takes these (on their bytes: ext.qmaxpool)


def _pool_refusal(node: Node, inputs: list[Value | None]) -> str | None:
    x = static_shape(inputs[0])
    if len([o for o in node.outputs if o]) > 1:
        return "the Indices output is not supported"
    if x is None or len(x) != 4:
        return "2-D pooling only (rank 4 known before running)"
    if node.op_type == "MaxPool" and inputs[0] is not None and inputs[0].dtype in EIGHT_BIT:
        return None  # exact through float32: every 8-bit value is a float32, max commutes
    return all_float32(inputs)


def _prepare_pool(reference: Callable[..., Any], is_max: bool) -> Callable[..., Any]:
    def prepare(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
        a = node.attrs
        geo = {k: a.get(k) for k in ("strides", "dilations", "pads")}
        kernel_shape = a.get("kernel_shape")
        auto_pad, ceil_mode = a.get("auto_pad") or "NOTSET", int(a.get("ceil_mode", 0))
        include_pad = int(a.get("count_include_pad", 0))

        # per input spatial shape: the window and (AveragePool) its divisor tables, built once
        # and kept (a recorded pool2d call points at the tables: segments.py)
        plans: dict[tuple[int, ...], tuple[Any, list[Array | None]]] = {}

        def plan(h: int, w: int) -> tuple[Any, list[Array | None]]:
            win = window((h, w), kernel_shape, **geo, auto_pad=auto_pad, ceil_mode=ceil_mode)
            refusal = window_refusal((h, w), win)
            if refusal is not None:
                raise RuntimeDecline(refusal)
            counts: list[Array | None] = [None, None]
            if not is_max:
                for axis, size in enumerate((h, w)):
                    b, e = win.pads_begin[axis], win.pads_end[axis]
                    lo, hi = (0, b + size + e) if include_pad else (b, b + size)
                    cnt = window_tap_counts(
                        size, win.out[axis], win.kernel[axis], win.strides[axis],
                        win.dilations[axis], lo, hi,
                    )  # fmt: skip
                    counts[axis] = np.ascontiguousarray(cnt, F32)
            if len(plans) >= 64:
                plans.clear()
            plans[(h, w)] = (win, counts)
            return win, counts

        def run(x: Array, **_: Any) -> Array:
            n, c, h, w = x.shape
            found = plans.get((h, w))
            win, counts = found if found is not None else plan(h, w)
            (oh, ow), (kh, kw) = win.out, win.kernel
            shape = (n, c, oh, ow)
            if x.dtype.name in EIGHT_BIT and hasattr(ext(), "qmaxpool"):
                # an 8-bit MaxPool on its bytes (src/qelementwise.h gk_qmaxpool)
                out = output_array(shape, x.dtype)
                if not x.flags.c_contiguous:
                    numpy_work()  # the copy below: a recorded call would read a stale one
                ext().qmaxpool(np.ascontiguousarray(x).reshape(n * c, h, w).view(np.uint8),
                               0 if x.dtype == np.uint8 else 1, kh, kw, *win.strides,
                               *win.dilations, *win.pads_begin,
                               out.reshape(n * c, oh, ow).view(np.uint8), threads())  # fmt: skip
                return out
            y = output_array(shape, F32) if x.dtype == F32 else np.empty(shape, F32)
            # polyphase planes, or row passes at the generic SIMD level (gk_pool2d, src/pool.h)
            ext().pool2d(is_max, np.ascontiguousarray(x, F32).reshape(n * c, h, w), kh, kw,
                         *win.strides, *win.dilations, *win.pads_begin, counts[0], counts[1],
                         y.reshape(n * c, oh, ow), threads())  # fmt: skip
            if x.dtype != F32:  # an 8-bit MaxPool: every maximum is one of its inputs, exactly
                out = output_array((n, c, oh, ow), x.dtype)
                numpy_work()
                np.copyto(out, y, casting="unsafe")
                return out
            return y

        return _as_prepared(reference, run)

    return prepare


def _prepare_gap(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
    from ..refimpl.ops.op_global_average_pool import global_average_pool_1  # its table's

    def run(x: Array) -> Array:
        n, c = x.shape[:2]
        if x.size == 0 or x.ndim < 3 or x.dtype != F32:  # a symbolic dim made it so this call
            raise RuntimeDecline(f"{x.dtype}{list(x.shape)}: empty, rank < 3 or not float32")
        y = output_array((n, c) + (1,) * (x.ndim - 2), F32)
        ext().global_avg(np.ascontiguousarray(x, F32).reshape(n * c, -1), y.reshape(-1), threads())
        return y

    return _as_prepared(global_average_pool_1, run)


def _gap_refusal(node: Node, inputs: list[Value | None]) -> str | None:
    x = static_shape(inputs[0])
    if x is None or len(x) < 3:
        return "rank < 3 or unknown"
    return None if 0 not in x[2:] else "empty spatial dims"


# ---- the tables: one per op, built on first access -------------------------------------------
# Every MaxPool/AveragePool version shares one kernel body (the reference function is its key).


def _max_pool() -> dict[str, Kernel]:
    from ..refimpl.ops.op_max_pool import max_pool_8, max_pool_10, max_pool_12

    types = frozenset({"float32", *EIGHT_BIT})
    return {
        f"max_pool_{since}": _declare(ref, _pool_refusal, _prepare_pool(ref, True), types)
        for since, ref in ((8, max_pool_8), (10, max_pool_10), (12, max_pool_12))
    }


def _average_pool() -> dict[str, Kernel]:
    from ..refimpl.ops.op_average_pool import average_pool_7, average_pool_10, average_pool_19

    types = frozenset({"float32"})
    return {
        f"average_pool_{since}": _declare(ref, _pool_refusal, _prepare_pool(ref, False), types)
        for since, ref in ((7, average_pool_7), (10, average_pool_10), (19, average_pool_19))
    }


def _global_average_pool() -> dict[str, Kernel]:
    from ..refimpl.ops.op_global_average_pool import global_average_pool_1

    return {"gap": _declare(global_average_pool_1, _gap_refusal, _prepare_gap)}


__getattr__ = tables_on_access(
    __name__,
    {
        "MaxPoolKernels": _max_pool,
        "AveragePoolKernels": _average_pool,
        "GlobalAveragePoolKernels": _global_average_pool,
    },
)
