"""The ONNX training optimisers (ai.onnx.preview.training Adam and Momentum), float32: one C pass
per parameter group (src/train.c) instead of the reference's dozen numpy passes, with the
reference's float32 steps in its order, so the results are the reference's exactly (the C is
compiled without FMA contraction: train.c is baseline-ISA code). gossamer.train's optimisers run
these through the session's backends, and conformance checks them like any kernel.
"""

from __future__ import annotations

import numpy as np

from ..plugins import KernelBackend, RuntimeDecline, kernel
from ..refimpl.ops.op_adam import adam_1
from ..refimpl.ops.op_momentum import momentum_1
from ..refimpl.training_op_args import adam_rate, groups, momentum_beta, regroup, scalar
from ._common import F32, threads
from ._native import ext

Array = np.ndarray


def _flat(a: Array) -> Array:
    if a.dtype != F32:
        raise RuntimeDecline(f"a {a.dtype} tensor in a float32 group")
    return np.ascontiguousarray(a).reshape(-1)


def _same_shapes(group: tuple[Array, ...]) -> None:
    if any(t.shape != group[0].shape for t in group):  # the reference broadcasts: let it
        raise RuntimeDecline("a group's tensors differ in shape")


def _constants(*values: float) -> Array:
    """The reference's dt(...) scalars: each rounded to float32 once."""
    return np.array(values, np.float64).astype(F32)


def adam_kernel(
    r: Array, t: Array, *tensors: Array, alpha: float, beta: float, epsilon: float,
    norm_coefficient: float, norm_coefficient_post: float,
) -> tuple[Array, ...]:  # fmt: skip
    rate = adam_rate(r, t, alpha, beta)
    k = _constants(norm_coefficient, alpha, 1.0 - alpha, beta, 1.0 - beta, rate, epsilon,
                   1.0 - norm_coefficient_post)  # fmt: skip
    results = []
    for group in groups(tensors, 4, "X, G, V, H"):
        _same_shapes(group)
        x, g, v, h = (_flat(a) for a in group)
        xo, vo, ho = np.empty_like(x), np.empty_like(x), np.empty_like(x)
        ext().adam(x, g, v, h, xo, vo, ho, k, threads())
        shape = group[0].shape
        results.append((xo.reshape(shape), vo.reshape(shape), ho.reshape(shape)))
    return regroup(results)


def momentum_kernel(
    r: Array, t: Array, *tensors: Array, alpha: float, beta: float, mode: str,
    norm_coefficient: float,
) -> tuple[Array, ...]:  # fmt: skip
    if mode not in ("standard", "nesterov"):
        raise RuntimeDecline(f"mode {mode!r} (the reference reports it)")
    rate = scalar(r, "R")
    k = _constants(norm_coefficient, alpha, momentum_beta(t, beta), rate)
    results = []
    for group in groups(tensors, 3, "X, G, V"):
        _same_shapes(group)
        x, g, v = (_flat(a) for a in group)
        xo, vo = np.empty_like(x), np.empty_like(x)
        ext().momentum(x, g, v, xo, vo, k, mode == "nesterov", threads())
        results.append((xo.reshape(group[0].shape), vo.reshape(group[0].shape)))
    return regroup(results)


class OptimizerKernels(KernelBackend):
    """Adam and Momentum (mixed into CythonBackend)."""

    @kernel(adam_1, dtypes={"float32"})
    def adam(
        r: Array, t: Array, *tensors: Array, alpha: float = 0.9, beta: float = 0.999,
        epsilon: float = 1e-6, norm_coefficient: float = 0.0, norm_coefficient_post: float = 0.0,
    ) -> tuple[Array, ...]:  # fmt: skip
        return adam_kernel(r, t, *tensors, alpha=alpha, beta=beta, epsilon=epsilon,
                           norm_coefficient=norm_coefficient,
                           norm_coefficient_post=norm_coefficient_post)  # fmt: skip

    @kernel(momentum_1, dtypes={"float32"})
    def momentum(
        r: Array, t: Array, *tensors: Array, alpha: float, beta: float, mode: str,
        norm_coefficient: float,
    ) -> tuple[Array, ...]:  # fmt: skip
        return momentum_kernel(r, t, *tensors, alpha=alpha, beta=beta, mode=mode,
                               norm_coefficient=norm_coefficient)  # fmt: skip
