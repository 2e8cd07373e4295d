"""Sum over float32 inputs of one shape (training's gradient accumulation: a tensor read by
several nodes gets a Sum of their cotangents): the C binary Add folded left to right, in place
after the first add, on the run's threads; each add is rounded to float32 as the reference's
numpy fold rounds it, so the result is the reference's exactly. Inputs that broadcast are
declined (at load when their shapes are known, else per call)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..plugins import KernelBackend, RuntimeDecline, output_array
from ..refimpl.ir import Node, Value
from ..refimpl.ops.op_sum import sum_6, sum_8
from ._common import F32, all_float32, known_shape, threads
from ._native import ext
from .elementwise_kernels import BINARY, _as_prepared, _declare, _flat

Array = np.ndarray


def _sum_refusal(node: Node, inputs: list[Value | None]) -> str | None:
    if len(inputs) < 2:
        return "fewer than two inputs (a copy: the reference's)"
    bad = all_float32(inputs)
    if bad:
        return bad
    shapes = {known_shape(v) for v in inputs}
    if None not in shapes and len(shapes) > 1:
        return "inputs of different shapes (the reference broadcasts them)"
    return None


def _prepare_sum(reference: Callable[..., Any]) -> Callable[..., Any]:
    def prepare(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
        def run(*data: Array) -> Array:
            if len(data) < 2:
                raise RuntimeDecline("fewer than two inputs")
            shape = data[0].shape
            if any(d.shape != shape or d.dtype != F32 for d in data):
                raise RuntimeDecline("inputs of different shapes or dtypes")
            y = output_array(shape, F32)
            n, t = y.size, threads()
            ext().binary(BINARY["Add"], _flat(data[0]), _flat(data[1]), y.reshape(-1),
                         1, 1, n, 1, 1, 1, False, t)  # fmt: skip
            for d in data[2:]:
                ext().binary(BINARY["Add"], y.reshape(-1), _flat(d), y.reshape(-1),
                             1, 1, n, 1, 1, 1, False, t)  # fmt: skip
            return y

        return _as_prepared(reference, run)

    return prepare


class VariadicKernels(KernelBackend):
    """Sum (mixed into CythonBackend)."""

    sum_6 = _declare(sum_6, _sum_refusal, _prepare_sum(sum_6))
    sum_8 = _declare(sum_8, _sum_refusal, _prepare_sum(sum_8))
