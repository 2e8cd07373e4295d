"""Transpose for every fixed-size dtype as a strided copy in C (src/layout.c), its permutation
and output shape worked out once per input shape; a permutation the kernel cannot run raises
RuntimeDecline so the reference runs it and raises its own error. A module of its own: most
vision models have a Transpose or two and no other layout op (layout_common.py has the shared
helpers).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..plugins import RuntimeDecline, output_array
from ..plugins.backend import Kernel
from ..refimpl.ir import Node
from ._common import threads
from ._native import ext
from .layout_common import Array, _as_prepared, _declare, _raw, _remember
from .lazy_tables import tables_on_access


def _prepare_transpose(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
    from ..refimpl.ops.op_transpose import transpose_1  # imported by its table

    given = node.attrs.get("perm")
    plans: dict[tuple[int, ...], tuple[tuple[int, ...], tuple[int, ...]]] = {}

    def run(data: Array, **_: Any) -> Array:
        plan = plans.get(data.shape)
        if plan is None:
            perm = (
                tuple(int(p) for p in given)
                if given is not None
                else tuple(range(data.ndim - 1, -1, -1))
            )
            if sorted(perm) != list(range(data.ndim)):
                raise RuntimeDecline(f"perm {list(perm)} is not a permutation")
            shape = tuple(data.shape[p] for p in perm) if data.ndim else (1,)
            plan = _remember(plans, data.shape, (perm, shape))
        y = output_array(plan[1], data.dtype)
        if not data.ndim:  # the reference's ascontiguousarray makes a 0-d result 1-d
            np.copyto(y, data.reshape(1))
        elif ext().transpose_into(_raw(data), plan[0], _raw(y), threads()):
            raise RuntimeDecline(f"rank {data.ndim} is beyond the copy kernel")
        return y

    return _as_prepared(transpose_1, run)


def _transpose() -> dict[str, Kernel]:
    from ..refimpl.ops.op_transpose import transpose_1

    return {"transpose": _declare(transpose_1, _prepare_transpose)}



__getattr__ = tables_on_access(__name__, {"TransposeKernels": _transpose})
