"""ReduceSum, ReduceMean, ReduceMax and ReduceMin on float32 (src/reduce.h), every version.

The kernel reduces x viewed as [outer, n, inner]: the reduced axes must form one run once the
size-1 axes are set aside (the last axes, the first ones, H and W of NCHW or NHWC, everything);
any other set of axes is declined per call (RuntimeDecline) and the reference runs it. Sums are
added in double and rounded once, so they differ from the reference's pairwise float32 sums by
at most the reference's own rounding error.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..plugins import KernelBackend, RuntimeDecline, output_array
from ..refimpl.ir import Node, Value
from ..refimpl.ops.op_reduce_max import reduce_max_1, reduce_max_18
from ..refimpl.ops.op_reduce_mean import reduce_mean_1, reduce_mean_18
from ..refimpl.ops.op_reduce_min import reduce_min_1, reduce_min_18
from ..refimpl.ops.op_reduce_sum import reduce_sum_1, reduce_sum_13
from ._common import F32, threads
from ._native import ext
from .elementwise_kernels import _as_prepared, _declare

Array = np.ndarray
OPS = {"ReduceSum": 0, "ReduceMean": 1, "ReduceMax": 2, "ReduceMin": 3}
_ATTRIBUTE_AXES = (reduce_max_1, reduce_mean_1, reduce_min_1, reduce_sum_1)
_PLANS_LIMIT = 64  # (shape, axes) pairs remembered per node


def reduce_plan(
    shape: tuple[int, ...], axes: tuple[int, ...], keepdims: bool
) -> tuple[int, int, int, tuple[int, ...]]:
    """(outer, n, inner, output shape) for reducing `axes` (normalised, sorted) of `shape`;
    RuntimeDecline when the reduced axes do not form one run past the size-1 axes."""
    if 0 in shape:
        raise RuntimeDecline(f"empty input {shape}")
    reduced = [a for a in axes if shape[a] != 1]
    kept = [a for a in range(len(shape)) if a not in axes and shape[a] != 1]
    if reduced and any(reduced[0] < a < reduced[-1] for a in kept):
        raise RuntimeDecline(f"axes {list(axes)} of {shape} are not one run")
    first = reduced[0] if reduced else len(shape)
    outer = math.prod(shape[a] for a in kept if a < first)
    n = math.prod(shape[a] for a in reduced)
    inner = math.prod(shape[a] for a in kept if a > first)
    out = tuple(1 if a in axes else d for a, d in enumerate(shape)) if keepdims else \
        tuple(d for a, d in enumerate(shape) if a not in axes)  # fmt: skip
    return outer, n, inner, out


def _axes(rank: int, given: Any, noop: bool) -> tuple[int, ...]:
    if given is None or len(given) == 0:
        return () if noop else tuple(range(rank))
    out = sorted({int(a) + rank if int(a) < 0 else int(a) for a in given})
    if len(out) != len(given) or not all(0 <= a < rank for a in out):
        raise RuntimeDecline(f"axes {list(given)} for rank {rank}")
    return tuple(out)


def _refusal(node: Node, inputs: list[Value | None]) -> str | None:
    x = inputs[0]
    if x is None or x.dtype != "float32":
        return f"input 0 is {None if x is None else x.dtype} (float32 only)"
    return None


def _prepare(reference: Callable[..., Any]) -> Callable[..., Any]:
    def prepare(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
        op = OPS[node.op_type]
        keepdims = bool(node.attrs.get("keepdims", 1))
        noop = bool(node.attrs.get("noop_with_empty_axes", 0))
        from_attr = reference in _ATTRIBUTE_AXES
        fixed = node.attrs.get("axes") if from_attr else None
        if not from_attr and 1 in constants:
            fixed = [int(a) for a in np.asarray(constants[1]).reshape(-1)]
        known = from_attr or 1 in constants or len(node.inputs) < 2 or not node.inputs[1]
        plans: dict[Any, tuple] = {}

        def run(data: Array, axes: Array | None = None, **_: Any) -> Array:
            given = fixed if known else (None if axes is None else tuple(np.asarray(axes).ravel()))
            key = (data.shape, None if given is None else tuple(given))
            plan = plans.get(key)
            if plan is None:
                if len(plans) >= _PLANS_LIMIT:
                    plans.clear()
                plan = reduce_plan(data.shape, _axes(data.ndim, given, noop), keepdims)
                plans[key] = plan
            if data.dtype != F32:
                raise RuntimeDecline(f"input is {data.dtype} (float32 only)")
            outer, n, inner, out = plan
            y = output_array(out, F32)
            ext().reduce(op, np.ascontiguousarray(data).reshape(-1), y.reshape(-1), outer, n,
                         inner, threads())  # fmt: skip
            return y

        if from_attr:
            return _as_prepared(reference, lambda data, **_: run(data))
        return _as_prepared(reference, run)

    return prepare


class ReduceKernels(KernelBackend):
    """ReduceSum/Mean/Max/Min (mixed into CythonBackend)."""

    reduce_max_1 = _declare(reduce_max_1, _refusal, _prepare(reduce_max_1))
    reduce_max_18 = _declare(reduce_max_18, _refusal, _prepare(reduce_max_18))
    reduce_min_1 = _declare(reduce_min_1, _refusal, _prepare(reduce_min_1))
    reduce_min_18 = _declare(reduce_min_18, _refusal, _prepare(reduce_min_18))
    reduce_mean_1 = _declare(reduce_mean_1, _refusal, _prepare(reduce_mean_1))
    reduce_mean_18 = _declare(reduce_mean_18, _refusal, _prepare(reduce_mean_18))
    reduce_sum_1 = _declare(reduce_sum_1, _refusal, _prepare(reduce_sum_1))
    reduce_sum_13 = _declare(reduce_sum_13, _refusal, _prepare(reduce_sum_13))
